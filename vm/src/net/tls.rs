//! TLS 1.3 with mutual authentication by pinned per-party certificates.
//!
//! Each party has a self-signed certificate (made by `mpcvm keygen`). The hosts
//! file lists every party's certificate; a connection is accepted only if the
//! peer presents exactly the certificate listed for the party it claims to be,
//! and proves it holds the key (the TLS 1.3 handshake signature, checked with
//! the ring provider). No certificate authority is involved.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS name a party's certificate is issued for.
pub fn party_name(party: usize) -> String {
    format!("party{party}.mpcc")
}

/// Makes a key and a self-signed certificate for `party` as PEM: `(key, certificate)`.
pub fn generate(party: usize) -> Result<(String, String), String> {
    let ck = rcgen::generate_simple_self_signed(vec![party_name(party)])
        .map_err(|e| format!("cannot make a certificate: {e}"))?;
    Ok((ck.key_pair.serialize_pem(), ck.cert.pem()))
}

/// Makes `party`'s key and certificate as `<dir>/party<P>.key` (readable by its
/// owner only) and `<dir>/party<P>.crt`, creating `dir`; returns both paths.
pub fn write_identity(dir: &Path, party: usize) -> Result<(PathBuf, PathBuf), String> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let (key, cert) = generate(party)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (k, c) = (
        dir.join(format!("party{party}.key")),
        dir.join(format!("party{party}.crt")),
    );
    let fail = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&k)
        .map_err(|e| fail(&k, e))?;
    // An existing file keeps its mode when opened: make it private before writing.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|_| file.write_all(key.as_bytes()))
        .map_err(|e| fail(&k, e))?;
    std::fs::write(&c, cert).map_err(|e| fail(&c, e))?;
    Ok((k, c))
}

pub fn load_certificate(path: &Path) -> Result<CertificateDer<'static>, String> {
    CertificateDer::from_pem_file(path)
        .map_err(|e| format!("cannot read the certificate {}: {e}", path.display()))
}

pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("cannot read the private key {}: {e}", path.display()))
}

/// Accepts exactly one of the listed certificates, and checks handshake signatures.
#[derive(Debug)]
struct Pinned {
    accepted: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl Pinned {
    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), Error> {
        if self
            .accepted
            .iter()
            .any(|c| c.as_ref() == presented.as_ref())
        {
            Ok(())
        } else {
            Err(Error::General(
                "the peer's certificate is not the one the hosts file lists for it".into(),
            ))
        }
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.check(end_entity)
            .map(|_| ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::General("TLS 1.2 is not accepted".into()))
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.check(end_entity)
            .map(|_| ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        Err(Error::General("TLS 1.2 is not accepted".into()))
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// This party's identity: its certificate and key.
pub struct Identity {
    pub certificate: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
}

/// Client side of a connection to a peer whose certificate must be `peer`.
pub fn client_config(
    me: &Identity,
    peer: CertificateDer<'static>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let p = provider();
    let verifier = Arc::new(Pinned {
        accepted: vec![peer],
        algorithms: p.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(vec![me.certificate.clone()], me.key.clone_key())
        .map_err(|e| format!("unusable key or certificate: {e}"))?;
    Ok(Arc::new(config))
}

/// Server side: accepts clients presenting one of the `peers` certificates.
pub fn server_config(
    me: &Identity,
    peers: Vec<CertificateDer<'static>>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let p = provider();
    let verifier = Arc::new(Pinned {
        accepted: peers,
        algorithms: p.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(p)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![me.certificate.clone()], me.key.clone_key())
        .map_err(|e| format!("unusable key or certificate: {e}"))?;
    // Connections carry data one way after the handshake: the client never reads tickets.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

//! The hosts file (TOML): every party's address and certificate.
//!
//! ```toml
//! [[party]]
//! id = 0
//! address = "10.0.0.1:7100"
//! certificate = "party0.crt"   # relative to the hosts file
//! ```

use rustls::pki_types::CertificateDer;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct File {
    party: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    id: usize,
    address: String,
    certificate: PathBuf,
}

pub struct Host {
    pub address: String,
    pub certificate: CertificateDer<'static>,
}

/// The parties of a run, indexed by id.
pub struct Hosts(pub Vec<Host>);

impl Hosts {
    pub fn load(path: &Path) -> Result<Hosts, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the hosts file {}: {e}", path.display()))?;
        let file: File = toml::from_str(&text)
            .map_err(|e| format!("invalid hosts file {}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let n = file.party.len();
        let mut hosts: Vec<Option<Host>> = (0..n).map(|_| None).collect();
        for e in file.party {
            if e.id >= n || hosts[e.id].is_some() {
                return Err(format!(
                    "hosts file {}: party ids must be 0 to {} and each listed once (found {})",
                    path.display(),
                    n.saturating_sub(1),
                    e.id
                ));
            }
            let certificate = super::tls::load_certificate(&dir.join(&e.certificate))?;
            hosts[e.id] = Some(Host {
                address: e.address,
                certificate,
            });
        }
        Ok(Hosts(
            hosts
                .into_iter()
                .map(|h| h.expect("every id is listed once"))
                .collect(),
        ))
    }

    /// Writes a hosts file for parties at `addresses` with certificates `party<i>.crt` beside it.
    pub fn write(path: &Path, addresses: &[String]) -> Result<(), String> {
        let mut text = String::new();
        for (i, a) in addresses.iter().enumerate() {
            text += &format!(
                "[[party]]\nid = {i}\naddress = \"{a}\"\ncertificate = \"party{i}.crt\"\n\n"
            );
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

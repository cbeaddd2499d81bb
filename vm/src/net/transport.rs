//! The network between the parties of a run.
//!
//! Every ordered pair of parties has its own TCP connection with TLS 1.3 and
//! mutual authentication, carrying data one way: party `i` writes to `j` over
//! the connection `i` opened, and reads from `j` over the one `j` opened. A
//! writer thread per outgoing connection sends; the caller's thread receives.
//! So a round in which everybody sends large messages at once cannot deadlock.
//!
//! A round is [`Network::exchange`]: exactly one framed message to every peer
//! (empty if there is nothing to say), then exactly one from every peer; it ends
//! when every message of the round is written and read. A round's messages are
//! 64-bit words, sent as they lie in memory (little-endian on the wire) and
//! received straight into the vector the protocol keeps, so a large share is
//! never copied or converted on its way. Bytes (payload) and rounds are
//! counted. A peer that is silent for the I/O timeout, or that disconnects, is
//! an error naming it. Latency and bandwidth can be
//! simulated in the writer threads, since kernel traffic shaping is unavailable.

use super::hosts::Hosts;
use super::tls::{self, Identity};
use crate::backend::CommFigures;
use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest frame a peer may announce until the protocol sets the limit that its
/// program needs (set-up messages are small).
const MAX_FRAME: u64 = 1 << 20;
/// Largest hello a connection may send before it is authenticated.
const MAX_HELLO: u64 = 1 << 10;
const HELLO_MAGIC: &[u8; 4] = b"MPCH";
const HELLO_VERSION: u16 = 1;

/// What two parties must agree on before computing together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub program_hash: [u8; 32],
    pub protocol: String,
    pub party: usize,
    pub parties: usize,
}

impl Hello {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(HELLO_MAGIC);
        b.extend_from_slice(&HELLO_VERSION.to_le_bytes());
        b.extend_from_slice(&self.program_hash);
        b.extend_from_slice(&(self.protocol.len() as u32).to_le_bytes());
        b.extend_from_slice(self.protocol.as_bytes());
        b.extend_from_slice(&(self.party as u32).to_le_bytes());
        b.extend_from_slice(&(self.parties as u32).to_le_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<Hello> {
        if b.get(..4)? != HELLO_MAGIC
            || u16::from_le_bytes(b.get(4..6)?.try_into().ok()?) != HELLO_VERSION
        {
            return None;
        }
        let program_hash = b.get(6..38)?.try_into().ok()?;
        let n = u32::from_le_bytes(b.get(38..42)?.try_into().ok()?) as usize;
        let protocol = String::from_utf8(b.get(42..42 + n)?.to_vec()).ok()?;
        let rest = b.get(42 + n..)?;
        let party = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let parties = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
        Some(Hello {
            program_hash,
            protocol,
            party,
            parties,
        })
    }

    /// Why a peer's hello does not match ours, naming the difference.
    fn mismatch(&self, theirs: &Hello, expected_party: usize) -> Option<String> {
        let hex = |h: &[u8; 32]| {
            h.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        if theirs.party != expected_party {
            return Some(format!(
                "the peer with party {expected_party}'s certificate says it is party {}",
                theirs.party
            ));
        }
        if theirs.program_hash != self.program_hash {
            return Some(format!(
                "party {expected_party} runs another program (hash {}...) than this party (hash {}...): compile the same source with the same mpcc",
                hex(&theirs.program_hash),
                hex(&self.program_hash)
            ));
        }
        if theirs.protocol != self.protocol {
            return Some(format!(
                "party {expected_party} runs protocol {} but this party runs {}",
                theirs.protocol, self.protocol
            ));
        }
        if theirs.parties != self.parties {
            return Some(format!(
                "party {expected_party} expects {} parties but this party expects {}",
                theirs.parties, self.parties
            ));
        }
        None
    }
}

/// How to reach the other parties.
pub struct NetConfig {
    pub party: usize,
    pub hosts: Hosts,
    pub identity: Identity,
    /// How long to keep trying to reach the peers at start.
    pub connect_timeout: Duration,
    /// A peer silent for this long during the run is an error.
    pub io_timeout: Duration,
    /// Simulated one-way latency added to every message.
    pub latency: Duration,
    /// Simulated bandwidth of every link, in bits per second.
    pub bandwidth_bits_per_second: Option<f64>,
    /// A socket already listening on this party's address (`run-local` binds
    /// them before starting the parties, so no port is free in between);
    /// otherwise the party binds its address itself.
    pub listener: Option<TcpListener>,
    /// Tests only: this party corrupts what it sends (see `tamper`).
    #[cfg(feature = "tamper")]
    pub tamper: Option<super::tamper::Tampering>,
}

/// A TCP stream whose reads and writes fail once `deadline` has passed. During
/// connection set-up every party has one deadline (`--connect-timeout`), and a
/// peer that trickles bytes or never answers cannot stretch it; once set up, the
/// deadline is lifted and the socket's own timeouts apply.
struct Timed {
    sock: TcpStream,
    deadline: Option<Instant>,
}

impl Timed {
    fn new(sock: TcpStream, deadline: Instant) -> Timed {
        Timed {
            sock,
            deadline: Some(deadline),
        }
    }
    /// The time left before the deadline, or a timeout error.
    fn left(&self) -> std::io::Result<Option<Duration>> {
        let Some(d) = self.deadline else {
            return Ok(None);
        };
        let left = d.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the connect timeout passed",
            ));
        }
        Ok(Some(left))
    }
    /// Lifts the deadline: from now on reads wait at most `read` and writes `write`.
    fn settle(&mut self, read: Option<Duration>, write: Option<Duration>) -> std::io::Result<()> {
        self.deadline = None;
        self.sock.set_read_timeout(read)?;
        self.sock.set_write_timeout(write)
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.left()? {
            Some(left) => {
                self.sock.set_read_timeout(Some(left))?;
                self.sock.read(buf).map_err(|e| match e.kind() {
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no answer before the connect timeout",
                        )
                    }
                    _ => e,
                })
            }
            None => self.sock.read(buf),
        }
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(left) = self.left()? {
            self.sock.set_write_timeout(Some(left))?;
        }
        self.sock.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.sock.flush()
    }
}

type Reader = StreamOwned<ServerConnection, Timed>;
type Writer = StreamOwned<ClientConnection, Timed>;

/// Most connections being authenticated at once; more are dropped at once, so a
/// flood of strangers cannot exhaust a party's threads.
const MAX_PENDING_HANDSHAKES: usize = 32;

/// What the handshake of one accepted connection gave.
type Accepted = Result<(usize, Reader, Hello), String>;

/// Authenticates one accepted connection: its TLS certificate must be one of
/// `certs` (by position, the party it names), and it must send a hello.
fn authenticate(
    sock: TcpStream,
    server: Arc<rustls::ServerConfig>,
    certs: &[rustls::pki_types::CertificateDer<'static>],
    deadline: Instant,
) -> Accepted {
    sock.set_nonblocking(false).map_err(|e| e.to_string())?;
    sock.set_nodelay(true).ok();
    let conn = ServerConnection::new(server).map_err(|e| e.to_string())?;
    let mut stream = StreamOwned::new(conn, Timed::new(sock, deadline));
    let hello_frame = read_frame(&mut stream, MAX_HELLO)
        .map_err(|e| format!("a connection failed authentication: {e}"))?;
    let peer_cert = stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("a connection presented no certificate")?;
    let peer = certs
        .iter()
        .position(|c| c.as_ref() == peer_cert.as_ref())
        .ok_or("a connection presented an unknown certificate")?;
    let theirs = Hello::decode(&hello_frame).ok_or_else(|| {
        format!("party {peer} sent a malformed handshake: is it an mpcvm of another version?")
    })?;
    Ok((peer, stream, theirs))
}

/// Distinct messages with how often each came, most frequent first.
fn tally(errors: &[String]) -> String {
    let mut counts: Vec<(&String, usize)> = Vec::new();
    for e in errors {
        match counts.iter_mut().find(|(m, _)| *m == e) {
            Some((_, n)) => *n += 1,
            None => counts.push((e, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
        .iter()
        .map(|(m, n)| {
            if *n == 1 {
                m.to_string()
            } else {
                format!("{m} ({n} times)")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A part of a round's message: 64-bit words, shared so that a protocol can
/// keep a value it sends without copying it (the writer lets go of it before
/// the round ends).
pub type Part = Arc<Vec<u64>>;

/// What a link's writer is handed: a round's message, or the run's abort.
enum Outgoing {
    Words(Vec<Part>),
    Abort(String),
}

/// The length word that announces an abort instead of a round's message; the
/// reason follows as a frame of at most [`MAX_ABORT_REASON`] bytes.
const ABORT: u64 = u64::MAX;
const MAX_ABORT_REASON: u64 = 1024;

/// A peer's abort, as the error reading its message gives.
#[derive(Debug)]
struct Aborted(String);

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Aborted {}

struct Link {
    sender: Sender<Outgoing>,
    /// One signal per round's message written (and its parts released).
    written: Receiver<()>,
    writer: JoinHandle<()>,
    reader: Reader,
    /// The outgoing connection's socket, to cut it when the run failed (a writer
    /// blocked on a peer that no longer reads would otherwise never be joined).
    outgoing: TcpStream,
}

pub struct Network {
    party: usize,
    links: Vec<Option<Link>>,
    /// The first error of any writer thread.
    writer_error: Arc<Mutex<Option<String>>>,
    io_timeout: Duration,
    /// Largest frame a peer may announce (see [`Network::limit_frames`]).
    max_frame: u64,
    /// Whether a round failed: then the connections are cut rather than drained.
    failed: bool,
    figures: CommFigures,
    #[cfg(feature = "tamper")]
    tamperer: Option<super::tamper::Tamperer>,
}

fn write_frame(w: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&(payload.len() as u64).to_le_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

fn read_frame(r: &mut impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes announced, but at most {max} are expected"),
        ));
    }
    let mut payload = Vec::new();
    r.take(len).read_to_end(&mut payload)?;
    if payload.len() as u64 != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(payload)
}

/// Writes a round's message: its length in bytes, then its words little-endian.
/// Small parts are gathered into one buffer (a TLS record each would cost more
/// than the data); large ones go to the stream directly.
fn write_words(w: &mut impl Write, parts: &[Part]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
    let len: u64 = parts.iter().map(|p| 8 * p.len() as u64).sum();
    w.write_all(&len.to_le_bytes())?;
    for part in parts {
        if cfg!(target_endian = "little") {
            w.write_all(bytemuck::cast_slice(part))?;
        } else {
            for chunk in part.chunks(1024) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|x| x.to_le_bytes()).collect();
                w.write_all(&bytes)?;
            }
        }
    }
    w.flush()
}

/// Reads a round's message of at most `max` bytes, refusing a larger announced
/// length before allocating for it.
fn read_words(r: &mut impl Read, max: u64) -> std::io::Result<Vec<u64>> {
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len == ABORT {
        let reason = read_frame(r, MAX_ABORT_REASON)?;
        // A peer's text, shown to a user: printable characters only.
        let reason: String = String::from_utf8_lossy(&reason)
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        return Err(std::io::Error::other(Aborted(reason)));
    }
    if len > max || len % 8 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes announced, but at most {max} bytes of whole 64-bit words are expected"),
        ));
    }
    let mut words = vec![0u64; (len / 8) as usize];
    r.read_exact(bytemuck::cast_slice_mut(&mut words))?;
    if cfg!(target_endian = "big") {
        for w in &mut words {
            *w = u64::from_le(*w);
        }
    }
    Ok(words)
}

/// Explains a failed read from `peer`.
fn read_error(peer: usize, e: &std::io::Error, timeout: Duration) -> String {
    if let Some(Aborted(why)) = e.get_ref().and_then(|e| e.downcast_ref::<Aborted>()) {
        return format!("party {peer} aborted the run: {why}");
    }
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("party {peer} sent nothing for {} s: it stopped, is overloaded, or the network failed", timeout.as_secs_f64())
        }
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted => {
            format!("party {peer} closed the connection: it exited or failed")
        }
        _ => format!("receiving from party {peer} failed: {e}"),
    }
}

impl Network {
    /// Connects to every other party, authenticates them and checks that they run
    /// the same program and protocol (`hello`).
    pub fn connect(config: NetConfig, hello: &Hello) -> Result<Network, String> {
        let n = config.hosts.0.len();
        let me = config.party;
        if me >= n {
            return Err(format!(
                "party {me} is not in the hosts file, which lists {n} parties"
            ));
        }
        if n != hello.parties {
            return Err(format!(
                "the hosts file lists {n} parties but protocol {} needs {}",
                hello.protocol, hello.parties
            ));
        }
        let deadline = Instant::now() + config.connect_timeout;
        #[cfg(feature = "tamper")]
        let tamper = config.tamper.clone();
        let own = &config.hosts.0[me].address;
        let listener = match config.listener {
            Some(l) => l,
            None => TcpListener::bind(own)
                .map_err(|e| format!("party {me} cannot listen on {own}: {e}"))?,
        };
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let peers: Vec<usize> = (0..n).filter(|&j| j != me).collect();
        let certs: Vec<_> = config
            .hosts
            .0
            .iter()
            .map(|h| h.certificate.clone())
            .collect();
        let server = tls::server_config(
            &config.identity,
            peers.iter().map(|&j| certs[j].clone()).collect(),
        )?;

        // Accept the peers' connections in the background while connecting to
        // them; each connection is authenticated in a thread of its own, so a
        // stranger that connects and stays silent delays nobody.
        let io_timeout = config.io_timeout;
        let accept_certs = Arc::new(certs.clone());
        let acceptor =
            std::thread::spawn(move || -> Result<Vec<(usize, Reader, Hello)>, String> {
                let (results, arrivals) = channel::<Accepted>();
                let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                let mut readers: Vec<(usize, Reader, Hello)> = Vec::new();
                let mut refused = Vec::new();
                while readers.len() < n - 1 {
                    while let Ok(arrival) = arrivals.try_recv() {
                        match arrival {
                            Ok((peer, _, _)) if readers.iter().any(|(p, _, _)| *p == peer) => {
                                return Err(format!("party {peer} connected twice"))
                            }
                            Ok(r) => readers.push(r),
                            Err(e) => refused.push(e),
                        }
                    }
                    if readers.len() == n - 1 {
                        break;
                    }
                    if Instant::now() > deadline {
                        let missing: Vec<String> = (0..n)
                            .filter(|j| *j != me && !readers.iter().any(|(p, _, _)| p == j))
                            .map(|j| j.to_string())
                            .collect();
                        let extra = if refused.is_empty() {
                            String::new()
                        } else {
                            format!(" (refused: {})", tally(&refused))
                        };
                        return Err(format!(
                            "party {me}: parties {} did not connect in time{extra}",
                            missing.join(", ")
                        ));
                    }
                    let sock = match listener.accept() {
                        Ok((s, _)) => s,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                            continue;
                        }
                        Err(e) => return Err(format!("accepting connections failed: {e}")),
                    };
                    use std::sync::atomic::Ordering::SeqCst;
                    if pending.load(SeqCst) >= MAX_PENDING_HANDSHAKES {
                        continue; // dropped: too many connections at once
                    }
                    pending.fetch_add(1, SeqCst);
                    let (results, pending, server, certs) = (
                        results.clone(),
                        pending.clone(),
                        server.clone(),
                        accept_certs.clone(),
                    );
                    std::thread::spawn(move || {
                        let _ = results.send(authenticate(sock, server, &certs, deadline));
                        pending.fetch_sub(1, SeqCst);
                    });
                }
                for (_, r, _) in &mut readers {
                    r.sock
                        .settle(Some(io_timeout), None)
                        .map_err(|e| e.to_string())?;
                }
                Ok(readers)
            });

        // Connect to every peer, retrying until the deadline.
        let mut writers: Vec<Option<Writer>> = (0..n).map(|_| None).collect();
        for &j in &peers {
            let addr = &config.hosts.0[j].address;
            let client = tls::client_config(&config.identity, certs[j].clone())?;
            let mut failures = Vec::new();
            let stream = loop {
                let attempt = (|| -> Result<Writer, String> {
                    let sa = addr
                        .to_socket_addrs()
                        .map_err(|e| format!("bad address {addr}: {e}"))?
                        .next()
                        .ok_or(format!("bad address {addr}"))?;
                    let left = deadline.saturating_duration_since(Instant::now());
                    let sock = TcpStream::connect_timeout(
                        &sa,
                        left.clamp(Duration::from_millis(1), Duration::from_secs(1)),
                    )
                    .map_err(|e| e.to_string())?;
                    sock.set_nodelay(true).ok();
                    let name =
                        ServerName::try_from(tls::party_name(j)).map_err(|e| e.to_string())?;
                    let conn =
                        ClientConnection::new(client.clone(), name).map_err(|e| e.to_string())?;
                    let mut s = StreamOwned::new(conn, Timed::new(sock, deadline));
                    write_frame(&mut s, &hello.encode())
                        .map_err(|e| format!("the TLS handshake failed: {e}"))?;
                    s.sock
                        .settle(None, Some(io_timeout))
                        .map_err(|e| e.to_string())?;
                    Ok(s)
                })();
                match attempt {
                    Ok(s) => break s,
                    Err(e) => {
                        failures.push(e);
                        if Instant::now() > deadline {
                            return Err(format!(
                                "party {me} cannot reach party {j} at {addr} within {} s: {}",
                                config.connect_timeout.as_secs_f64(),
                                tally(&failures)
                            ));
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            };
            writers[j] = Some(stream);
        }
        let accepted = acceptor
            .join()
            .map_err(|_| "the accepting thread failed".to_string())??;
        for (peer, _, theirs) in &accepted {
            if let Some(why) = hello.mismatch(theirs, *peer) {
                return Err(format!("handshake refused: {why}"));
            }
        }

        let writer_error = Arc::new(Mutex::new(None));
        let mut readers: Vec<Option<Reader>> = (0..n).map(|_| None).collect();
        for (p, r, _) in accepted {
            readers[p] = Some(r);
        }
        let mut links: Vec<Option<Link>> = (0..n).map(|_| None).collect();
        for (j, w) in writers.into_iter().enumerate() {
            let Some(mut stream) = w else { continue };
            let outgoing = stream.sock.sock.try_clone().map_err(|e| e.to_string())?;
            let (sender, frames) = channel::<Outgoing>();
            let (done, written) = channel::<()>();
            let errors = writer_error.clone();
            let (latency, bandwidth) = (config.latency, config.bandwidth_bits_per_second);
            let writer = std::thread::spawn(move || {
                for outgoing in frames {
                    let parts = match outgoing {
                        Outgoing::Words(parts) => parts,
                        Outgoing::Abort(why) => {
                            let _ = stream
                                .write_all(&ABORT.to_le_bytes())
                                .and_then(|_| write_frame(&mut stream, why.as_bytes()));
                            break;
                        }
                    };
                    let bytes: usize = parts.iter().map(|p| 8 * p.len()).sum();
                    let delay = latency
                        + bandwidth.map_or(Duration::ZERO, |b| {
                            Duration::from_secs_f64(bytes as f64 * 8.0 / b)
                        });
                    if !delay.is_zero() {
                        std::thread::sleep(delay);
                    }
                    if let Err(e) = write_words(&mut stream, &parts) {
                        errors
                            .lock()
                            .expect("not poisoned")
                            .get_or_insert(format!("sending to party {j} failed: {e}"));
                        return;
                    }
                    drop(parts);
                    if done.send(()).is_err() {
                        return;
                    }
                }
                stream.conn.send_close_notify();
                let _ = stream.flush();
            });
            let reader = readers[j].take().expect("every peer connected");
            links[j] = Some(Link {
                sender,
                written,
                writer,
                reader,
                outgoing,
            });
        }
        Ok(Network {
            party: me,
            links,
            writer_error,
            io_timeout,
            max_frame: MAX_FRAME,
            failed: false,
            figures: CommFigures::default(),
            #[cfg(feature = "tamper")]
            tamperer: tamper.map(super::tamper::Tamperer::new),
        })
    }

    pub fn party(&self) -> usize {
        self.party
    }

    /// From now on a peer's message may be at most `bytes` long: a protocol that
    /// knows its largest message (from the program) refuses a peer's frame that
    /// announces more before allocating for it.
    pub fn limit_frames(&mut self, bytes: u64) {
        self.max_frame = bytes;
    }

    /// The longest frame a peer may now announce (bytes).
    pub fn frame_limit(&self) -> u64 {
        self.max_frame
    }

    pub fn parties(&self) -> usize {
        self.links.len()
    }

    /// One round: `outgoing[j]` goes to party `j` (our own entry is ignored);
    /// returns what each peer sent (our own entry empty). When it returns, the
    /// writers hold none of `outgoing`'s parts any more.
    pub fn exchange(&mut self, outgoing: Vec<Vec<Part>>) -> Result<Vec<Vec<u64>>, String> {
        let result = self.try_exchange(outgoing);
        self.failed |= result.is_err();
        result
    }

    fn writer_failed(&self, j: usize) -> String {
        self.writer_error
            .lock()
            .expect("not poisoned")
            .clone()
            .unwrap_or(format!("sending to party {j} failed"))
    }

    fn try_exchange(&mut self, mut outgoing: Vec<Vec<Part>>) -> Result<Vec<Vec<u64>>, String> {
        if let Some(e) = self.writer_error.lock().expect("not poisoned").clone() {
            return Err(e);
        }
        outgoing.resize(self.links.len(), Vec::new());
        self.figures.rounds += 1;
        // Links whose message this round is withheld (tests only).
        #[cfg_attr(not(feature = "tamper"), allow(unused_mut))]
        let mut withheld = vec![false; self.links.len()];
        for (j, parts) in outgoing.into_iter().enumerate() {
            if let Some(link) = &self.links[j] {
                self.figures.bytes_sent += parts.iter().map(|p| 8 * p.len() as u64).sum::<u64>();
                #[cfg(feature = "tamper")]
                let parts = match self.tamperer.as_mut() {
                    None => parts,
                    Some(t) => match t.outgoing(self.figures.rounds, j, parts) {
                        Some(parts) => parts,
                        None => {
                            withheld[j] = true;
                            continue;
                        }
                    },
                };
                if link.sender.send(Outgoing::Words(parts)).is_err() {
                    return Err(self.writer_failed(j));
                }
            }
        }
        let mut incoming = vec![Vec::new(); self.links.len()];
        for (j, slot) in incoming.iter_mut().enumerate() {
            if let Some(link) = &mut self.links[j] {
                let words = read_words(&mut link.reader, self.max_frame)
                    .map_err(|e| read_error(j, &e, self.io_timeout))?;
                self.figures.bytes_received += 8 * words.len() as u64;
                *slot = words;
            }
        }
        // Every peer reads its message in this round, so the writers finish.
        for j in (0..self.links.len()).filter(|&j| !withheld[j]) {
            if let Some(link) = &self.links[j] {
                if link.written.recv().is_err() {
                    return Err(self.writer_failed(j));
                }
            }
        }
        Ok(incoming)
    }

    pub fn figures(&self) -> CommFigures {
        self.figures
    }
}

impl Network {
    /// Tells every peer that this party stops the run and why (they report
    /// it as the reason they stop), after the messages already handed over.
    /// For a protocol that found a peer cheating.
    pub fn abort(&mut self, why: &str) {
        let why: String = why.chars().take(MAX_ABORT_REASON as usize / 4).collect();
        for link in self.links.iter().flatten() {
            let _ = link.sender.send(Outgoing::Abort(why.clone()));
        }
    }

    /// Takes the connections with `peer` out of the rounds, as a stream of
    /// frames sent and read at each side's own pace (a dealer's material to a
    /// party): rounds no longer include `peer`.
    pub fn take_stream(&mut self, peer: usize) -> Stream {
        let link = self.links.get_mut(peer).and_then(Option::take);
        Stream {
            peer,
            link: Some(link.expect("a stream to a connected peer")),
            in_flight: 0,
            max_frame: self.max_frame,
            io_timeout: self.io_timeout,
            writer_error: self.writer_error.clone(),
            failed: false,
            figures: CommFigures::default(),
        }
    }
}

/// Frames written ahead of the reader at most: a sender blocks beyond them,
/// so a fast sender does not buffer a whole run's material in memory.
const STREAM_AHEAD: usize = 8;

/// One peer's connections outside the rounds (see [`Network::take_stream`]).
pub struct Stream {
    peer: usize,
    /// Present until the stream is dropped.
    link: Option<Link>,
    /// Frames handed to the writer and not yet written.
    in_flight: usize,
    max_frame: u64,
    io_timeout: Duration,
    writer_error: Arc<Mutex<Option<String>>>,
    failed: bool,
    figures: CommFigures,
}

impl Stream {
    /// Sends one frame of `parts`, after waiting until fewer than
    /// `STREAM_AHEAD` earlier frames are still unwritten.
    pub fn send(&mut self, parts: Vec<Part>) -> Result<(), String> {
        let result = self.try_send(parts);
        self.failed |= result.is_err();
        result
    }

    fn try_send(&mut self, parts: Vec<Part>) -> Result<(), String> {
        let failed = |s: &Stream| {
            s.writer_error
                .lock()
                .expect("not poisoned")
                .clone()
                .unwrap_or(format!("sending to party {} failed", s.peer))
        };
        let link = self.link.as_ref().expect("open until dropped");
        while self.in_flight >= STREAM_AHEAD {
            if link.written.recv().is_err() {
                return Err(failed(self));
            }
            self.in_flight -= 1;
        }
        self.figures.bytes_sent += parts.iter().map(|p| 8 * p.len() as u64).sum::<u64>();
        if link.sender.send(Outgoing::Words(parts)).is_err() {
            return Err(failed(self));
        }
        self.in_flight += 1;
        Ok(())
    }

    /// The next frame from the peer, of at most the frame limit.
    pub fn receive(&mut self) -> Result<Vec<u64>, String> {
        let link = self.link.as_mut().expect("open until dropped");
        let words = read_words(&mut link.reader, self.max_frame)
            .map_err(|e| read_error(self.peer, &e, self.io_timeout));
        self.failed |= words.is_err();
        let words = words?;
        self.figures.bytes_received += 8 * words.len() as u64;
        Ok(words)
    }

    /// Frames from the peer may be at most `bytes` long (as [`Network::limit_frames`]).
    pub fn limit_frames(&mut self, bytes: u64) {
        self.max_frame = bytes;
    }

    /// Bytes sent and received on this stream (rounds are not counted: it has none).
    pub fn figures(&self) -> CommFigures {
        self.figures
    }
}

impl Link {
    /// Ends the link: its writer finishes what it holds (or, after a failure,
    /// the connection is cut so a writer blocked on a vanished reader returns).
    fn close(self, failed: bool) {
        drop(self.sender);
        if failed {
            let _ = self.outgoing.shutdown(std::net::Shutdown::Both);
        }
        let _ = self.writer.join();
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            link.close(self.failed);
        }
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for link in self.links.iter_mut().filter_map(Option::take) {
            link.close(self.failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tally;

    #[test]
    fn retry_failures_are_reported_once_each_with_a_count_most_frequent_first() {
        let mut failures = vec!["connection refused".to_string(); 190];
        failures.insert(3, "the TLS handshake failed: timed out".to_string());
        assert_eq!(
            tally(&failures),
            "connection refused (190 times); the TLS handshake failed: timed out"
        );
    }
}

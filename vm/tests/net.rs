//! The transport: mutual TLS between three parties on loopback.

use mpcvm::net::hosts::Hosts;
use mpcvm::net::tls::{self, Identity};
use mpcvm::net::{Hello, NetConfig, Network, Part};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A round's messages: `words` to every party (in one part).
fn to_all(words: Vec<u64>) -> Vec<Vec<Part>> {
    vec![vec![Arc::new(words)]; 3]
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mpcvm-net-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Each test's parties' listening sockets, bound by `setup` and handed to
/// the parties by `config` (binding a free port later could race with
/// another test taking it in between).
static LISTENERS: std::sync::Mutex<Vec<(PathBuf, usize, std::net::TcpListener)>> =
    std::sync::Mutex::new(Vec::new());

/// Keys, certificates and a hosts file for `n` parties in `dir`, with their
/// listening sockets bound.
fn setup(dir: &Path, n: usize) {
    for p in 0..n {
        let (key, cert) = tls::generate(p).unwrap();
        std::fs::write(dir.join(format!("party{p}.key")), key).unwrap();
        std::fs::write(dir.join(format!("party{p}.crt")), cert).unwrap();
    }
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addresses: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    Hosts::write(&dir.join("hosts.toml"), &addresses).unwrap();
    let mut all = LISTENERS.lock().unwrap();
    for (p, l) in listeners.into_iter().enumerate() {
        all.push((dir.to_path_buf(), p, l));
    }
}

/// Party `party`'s listening socket in `dir`'s test, if `setup` bound it.
fn listener(dir: &Path, party: usize) -> Option<std::net::TcpListener> {
    let mut all = LISTENERS.lock().unwrap();
    let at = all.iter().position(|(d, p, _)| d == dir && *p == party)?;
    Some(all.swap_remove(at).2)
}

fn config(dir: &Path, party: usize, key_of: usize) -> NetConfig {
    NetConfig {
        party,
        hosts: Hosts::load(&dir.join("hosts.toml")).unwrap(),
        identity: Identity {
            certificate: tls::load_certificate(&dir.join(format!("party{key_of}.crt"))).unwrap(),
            key: tls::load_key(&dir.join(format!("party{key_of}.key"))).unwrap(),
        },
        connect_timeout: Duration::from_secs(5),
        io_timeout: Duration::from_secs(5),
        latency: Duration::ZERO,
        bandwidth_bits_per_second: None,
        listener: listener(dir, party),
        #[cfg(feature = "tamper")]
        tamper: None,
    }
}

fn hello(party: usize, hash: u8) -> Hello {
    Hello {
        program_hash: [hash; 32],
        protocol: "rep3".into(),
        party,
        parties: 3,
    }
}

/// Runs `party(p)` for `n` parties at once, each on its own thread (they must
/// all run for their connections to form); returns the results in party order.
fn each_party<T: Send>(n: usize, party: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|p| {
                let party = &party;
                s.spawn(move || party(p))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn three_parties_exchange_large_messages_and_count_them() {
    let dir = scratch("exchange");
    setup(&dir, 3);
    let figures = each_party(3, |p| {
        let mut net = Network::connect(config(&dir, p, p), &hello(p, 7)).unwrap();
        net.limit_frames(8 << 20);
        for round in 0..3u64 {
            // 8 MB to every peer at once (more than the kernel buffers), in a
            // small part and a large one that arrive as one message.
            let out: Vec<Vec<Part>> = (0..3)
                .map(|j| {
                    let word = (round << 8) ^ ((p as u64) << 4) ^ j as u64;
                    vec![
                        Arc::new(vec![word; 3]),
                        Arc::new(vec![!word; (1 << 20) - 3]),
                    ]
                })
                .collect();
            let kept = out[(p + 1) % 3][1].clone();
            let got = net.exchange(out).unwrap();
            assert_eq!(
                Arc::strong_count(&kept),
                1,
                "the writer let go of what it sent"
            );
            for (j, msg) in got.iter().enumerate() {
                if j != p {
                    let word = (round << 8) ^ ((j as u64) << 4) ^ p as u64;
                    assert_eq!(msg.len(), 1 << 20);
                    assert!(msg[..3].iter().all(|&w| w == word));
                    assert!(msg[3..].iter().all(|&w| w == !word));
                }
            }
        }
        net.figures()
    });
    for f in figures {
        assert_eq!(f.rounds, 3);
        assert_eq!(f.bytes_sent, 3 * 2 * (8 << 20));
        assert_eq!(f.bytes_received, 3 * 2 * (8 << 20));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_peer_running_another_program_is_refused_with_the_reason() {
    let dir = scratch("mismatch");
    setup(&dir, 3);
    let errors = each_party(3, |p| {
        Network::connect(config(&dir, p, p), &hello(p, if p == 2 { 9 } else { 7 })).err()
    });
    let e0 = errors[0].clone().expect("party 0 refuses");
    assert!(e0.contains("party 2 runs another program"), "{e0}");
    let e2 = errors[2].clone().expect("party 2 refuses");
    assert!(e2.contains("runs another program"), "{e2}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_certificate_not_in_the_hosts_file_is_refused() {
    let dir = scratch("impostor");
    setup(&dir, 3);
    // An impostor with its own key claims to be party 2.
    let (key, cert) = tls::generate(2).unwrap();
    std::fs::write(dir.join("impostor.key"), key).unwrap();
    std::fs::write(dir.join("impostor.crt"), cert).unwrap();
    let impostor = |dir: &Path| {
        let mut c = config(dir, 2, 2);
        c.identity = Identity {
            certificate: tls::load_certificate(&dir.join("impostor.crt")).unwrap(),
            key: tls::load_key(&dir.join("impostor.key")).unwrap(),
        };
        c.connect_timeout = Duration::from_secs(2);
        c
    };
    let mut errors = each_party(3, |p| {
        let c = if p == 2 {
            impostor(&dir)
        } else {
            let mut c = config(&dir, p, p);
            c.connect_timeout = Duration::from_secs(2);
            c
        };
        Network::connect(c, &hello(p, 7)).err()
    });
    let bad = errors.pop().unwrap().expect("the impostor is refused");
    assert!(
        bad.contains("refused") || bad.contains("cannot reach"),
        "{bad}"
    );
    for e in errors {
        let e = e.expect("the honest parties do not accept the impostor");
        assert!(
            e.contains("did not connect in time") || e.contains("cannot reach party 2"),
            "{e}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_vanished_peer_is_reported_quickly() {
    let dir = scratch("vanish");
    setup(&dir, 3);
    let outcomes = each_party(3, |p| {
        let mut net = Network::connect(config(&dir, p, p), &hello(p, 7)).unwrap();
        net.exchange(to_all(vec![1])).unwrap();
        if p == 1 {
            return None; // party 1 exits: its connections close
        }
        let start = Instant::now();
        let e = net.exchange(to_all(vec![2])).expect_err("the round fails");
        Some((e, start.elapsed()))
    });
    for (p, outcome) in outcomes.into_iter().enumerate() {
        if let Some((e, took)) = outcome {
            // The vanished party, or a party that stopped because of it first.
            assert!(
                e.contains("party 1") || e.contains("closed the connection"),
                "party {p}: {e}"
            );
            assert!(took < Duration::from_secs(4), "party {p} took {took:?}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn simulated_latency_delays_every_round() {
    let dir = scratch("latency");
    setup(&dir, 3);
    let times = each_party(3, |p| {
        let mut c = config(&dir, p, p);
        c.latency = Duration::from_millis(40);
        let mut net = Network::connect(c, &hello(p, 7)).unwrap();
        let start = Instant::now();
        for _ in 0..5 {
            net.exchange(to_all(vec![1])).unwrap();
        }
        start.elapsed()
    });
    for took in times {
        // Each round waits for messages that were each held back 40 ms.
        assert!(took >= Duration::from_millis(5 * 40));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_silent_peer_fails_the_round_after_the_timeout() {
    let dir = scratch("silent");
    setup(&dir, 3);
    let outcomes = each_party(3, |p| {
        let mut c = config(&dir, p, p);
        c.io_timeout = Duration::from_secs(1);
        let mut net = Network::connect(c, &hello(p, 7)).unwrap();
        if p == 1 {
            // Stays connected but never answers.
            std::thread::sleep(Duration::from_millis(2500));
            return None;
        }
        let start = Instant::now();
        let e = net.exchange(to_all(vec![1])).expect_err("the round fails");
        Some((e, start.elapsed()))
    });
    for (e, took) in outcomes.into_iter().flatten() {
        assert!(e.contains("party 1 sent nothing for 1 s"), "{e}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Strangers on party 0's port while the parties connect: `n` of each kind of
/// hostile client (silent, trickling a byte every 100 ms, sending garbage).
fn hostile_clients(addr: String, n: usize, stop: &std::sync::atomic::AtomicBool) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    std::thread::scope(|s| {
        for kind in 0..3 {
            for _ in 0..n {
                let addr = addr.clone();
                s.spawn(move || {
                    let started = Instant::now();
                    let mut sock = loop {
                        match std::net::TcpStream::connect(&addr) {
                            Ok(c) => break c,
                            Err(_) if started.elapsed() < Duration::from_secs(3) => {
                                std::thread::sleep(Duration::from_millis(5))
                            }
                            Err(_) => return,
                        }
                    };
                    while !stop.load(Ordering::SeqCst) {
                        let sent = match kind {
                            0 => Ok(()),
                            1 => sock.write_all(b"\x16"),
                            _ => sock.write_all(&[0xAB; 512]),
                        };
                        if sent.is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                });
            }
        }
    });
}

#[test]
fn silent_trickling_and_garbage_clients_do_not_delay_the_parties() {
    let dir = scratch("strangers");
    setup(&dir, 3);
    let addr = Hosts::load(&dir.join("hosts.toml")).unwrap().0[0]
        .address
        .clone();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| hostile_clients(addr, 4, &stop));
        std::thread::sleep(Duration::from_millis(100)); // the strangers come first
        let results = each_party(3, |p| {
            let mut net = Network::connect(config(&dir, p, p), &hello(p, 7))?;
            net.exchange(to_all(vec![p as u64]))
        });
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for (p, r) in results.iter().enumerate() {
            let got = r.as_ref().unwrap_or_else(|e| panic!("party {p}: {e}"));
            assert_eq!(got.iter().filter(|m| !m.is_empty()).count(), 2);
        }
    });
    // The connect timeout is 5 s; the real parties never waited on a stranger.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_server_that_accepts_and_never_answers_fails_within_the_connect_timeout() {
    let dir = scratch("silent-server");
    setup(&dir, 3);
    // Party 1's address is taken by a listener that accepts and never speaks.
    let mut hosts = std::fs::read_to_string(dir.join("hosts.toml")).unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let old = Hosts::load(&dir.join("hosts.toml")).unwrap().0[1]
        .address
        .clone();
    hosts = hosts.replace(&old, &silent.local_addr().unwrap().to_string());
    std::fs::write(dir.join("hosts.toml"), hosts).unwrap();
    let _held = std::thread::spawn(move || {
        let conns: Vec<_> = silent.incoming().take(50).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(conns);
    });
    let mut c = config(&dir, 0, 0);
    c.connect_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let e = Network::connect(c, &hello(0, 7)).err().expect("refused");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        e.contains("party 1") && e.contains("no answer before the connect timeout"),
        "{e}"
    );
}

#[test]
fn a_frame_longer_than_the_round_carries_is_refused() {
    let dir = scratch("frame-limit");
    setup(&dir, 3);
    let results = each_party(3, |p| {
        let mut net = Network::connect(config(&dir, p, p), &hello(p, 7)).unwrap();
        if p == 0 {
            net.limit_frames(100);
        }
        net.exchange(to_all(vec![1; 125]))
    });
    let e = results[0].as_ref().unwrap_err();
    assert!(e.contains("1000 bytes announced, but at most 100"), "{e}");
}

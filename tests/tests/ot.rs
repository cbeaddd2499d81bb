//! The OT layer of the preprocessing: base OTs, SoftSpokenOT extension and the
//! correlated OTs with chosen messages every triple is built from. Each
//! party's shares of every OT, with every peer, must combine to c·x, and of
//! every product (Gilboa's 64 OTs) to c x.

use mpc_tests::{on_local_network, TestRng};
use mpcvm::backend::ot::vole::Vole;
use mpcvm::backend::ot::{Lane, Pairwise, Stage};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

/// The OTs party `me` queues with `peer` in one stage, the same at both ends:
/// lane shapes, choices and messages from a seed of the pair.
fn plan(seed: u64, sender: usize, receiver: usize, count: usize) -> Vec<(Lane, bool, Vec<u64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (sender as u64) << 32 ^ (receiver as u64) << 40);
    (0..count)
        .map(|_| {
            let xor = rng.random_bool(0.3);
            let width = rng.random_range(1..=64);
            let len = if rng.random_bool(0.7) {
                1
            } else {
                rng.random_range(0..9)
            };
            let lane = Lane { len, width, xor };
            let x = (0..len).map(|_| rng.random()).collect();
            (lane, rng.random(), x)
        })
        .collect()
}

/// The products party `sender` queues with `receiver` in one stage (x, c),
/// one after every third lane of [`plan`].
fn products(seed: u64, sender: usize, receiver: usize, count: usize) -> Vec<(u64, u64)> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(!seed ^ (sender as u64) << 32 ^ (receiver as u64) << 40);
    (0..count / 3)
        .map(|_| (rng.random(), rng.random()))
        .collect()
}

fn mask(width: u8) -> u64 {
    if width == 64 {
        u64::MAX
    } else {
        (1 << width) - 1
    }
}

/// Runs `stages` stages of `count` OTs per ordered pair among `parties`
/// (with KOS's consistency check if `checked`) and checks every correlation.
fn check(parties: usize, count: usize, stages: usize, seed: u64, checked: bool) {
    let results = on_local_network(parties, "semi2k", |mut net| {
        let me = net.party();
        let mut ot = Pairwise::setup(&mut net, parties).unwrap();
        if checked {
            ot = ot.checked();
        }
        let mut outs = Vec::new();
        for s in 0..stages {
            let mut stage = Stage::new(parties);
            for p in (0..parties).filter(|&p| p != me) {
                // Products queued among the lanes: they run after them.
                let (mine, theirs) = (
                    products(seed + s as u64, me, p, count),
                    products(seed + s as u64, p, me, count),
                );
                for (k, (lane, _, x)) in plan(seed + s as u64, me, p, count).into_iter().enumerate()
                {
                    stage.send(p, lane, &x);
                    if k % 3 == 2 {
                        assert_eq!(stage.send_product(p, mine[k / 3].0), k / 3);
                    }
                }
                for (k, (lane, c, _)) in plan(seed + s as u64, p, me, count).into_iter().enumerate()
                {
                    stage.receive(p, lane, c);
                    if k % 3 == 2 {
                        assert_eq!(stage.receive_product(p, theirs[k / 3].1), k / 3);
                    }
                }
            }
            outs.push(ot.run(&mut net, stage).unwrap());
        }
        (outs, ot.ots)
    });
    for (s, seed) in (0..stages).map(|s| (s, seed + s as u64)) {
        for sender in 0..parties {
            for receiver in (0..parties).filter(|&r| r != sender) {
                let sent = &results[sender].0[s].send[receiver];
                let got = &results[receiver].0[s].receive[sender];
                let mut at = 0;
                for (lane, c, x) in plan(seed, sender, receiver, count) {
                    for (k, x) in x.iter().enumerate() {
                        let (a, b) = (sent[at + k], got[at + k]);
                        let want = if c { x & mask(lane.width) } else { 0 };
                        let combined = if lane.xor {
                            a ^ b
                        } else {
                            a.wrapping_add(b) & mask(lane.width)
                        };
                        assert_eq!(
                            combined, want,
                            "stage {s}, {sender} -> {receiver}, {lane:?}"
                        );
                    }
                    at += lane.len as usize;
                }
                assert_eq!(at, sent.len());
                assert_eq!(at, got.len());
                let pairs = products(seed, sender, receiver, count);
                let sent = &results[sender].0[s].send_products[receiver];
                let got = &results[receiver].0[s].receive_products[sender];
                assert_eq!((sent.len(), got.len()), (pairs.len(), pairs.len()));
                for (k, (x, c)) in pairs.iter().enumerate() {
                    assert_eq!(
                        sent[k].wrapping_add(got[k]),
                        c.wrapping_mul(*x),
                        "stage {s}, {sender} -> {receiver}, product {k}"
                    );
                }
            }
        }
    }
    for (ots, p) in results.iter().map(|r| r.1).zip(0..) {
        assert_eq!(
            ots,
            (2 * (parties - 1) * (count + 64 * (count / 3)) * stages) as u64,
            "party {p}"
        );
    }
}

#[test]
fn correlated_ots_hold_between_two_parties_over_stages() {
    check(2, 1000, 3, 1, false);
}

#[test]
fn correlated_ots_hold_among_three_parties() {
    check(3, 300, 2, 7, false);
}

#[test]
fn correlated_ots_hold_with_the_consistency_check() {
    check(2, 700, 2, 3, true);
    check(3, 200, 1, 5, true);
}

/// Runs `f` at each of `parties` nodes of a local network whose node
/// `cheater` applies `tampering` to what it sends; each node's result.
fn tampered<T: Send>(
    parties: usize,
    cheater: usize,
    tampering: &mpcvm::net::tamper::Tampering,
    f: impl Fn(&mut mpcvm::net::Network) -> Result<T, mpcvm::VmError> + Sync,
) -> Vec<Result<T, String>> {
    let network = mpc_tests::LocalNetwork::new(parties);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..parties)
            .map(|p| {
                let mut config = network.config(p);
                config.io_timeout = std::time::Duration::from_millis(500);
                if p == cheater {
                    config.tamper = Some(tampering.clone());
                }
                let f = &f;
                s.spawn(move || {
                    let hello = mpcvm::net::Hello {
                        program_hash: [0; 32],
                        protocol: "spdz2k".into(),
                        party: p,
                        parties,
                    };
                    let mut net =
                        mpcvm::net::Network::connect(config, &hello).map_err(|e| e.to_string())?;
                    f(&mut net).map_err(|e| e.to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A receiver that changes anything in its message of a checked extension
/// (its columns, or its proof X and T) is caught by the sender's
/// consistency check: the sender stops before it sends a correction.
#[test]
fn a_lying_receiver_fails_the_consistency_check() {
    use mpcvm::net::tamper::{Kind, Tampering};
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut caught = 0;
    for trial in 0..24u64 {
        let parties = 2 + (trial % 2) as usize;
        let mut rng = TestRng(trial + 100);
        let cheater = rng.next_u64() as usize % parties;
        let tampering = Tampering {
            // After the set-up's three rounds: the extension's message.
            round: 4,
            peer: None,
            kind: [Kind::FlipBit, Kind::Add][trial as usize / 2 % 2],
            word: rng.next_u64() as usize,
            value: rng.next_u64() | 1,
            applied: Arc::new(AtomicBool::new(false)),
        };
        let results = tampered(parties, cheater, &tampering, |net| {
            let me = net.party();
            let mut ot = Pairwise::setup(net, parties)?.checked();
            let mut stage = Stage::new(parties);
            for p in (0..parties).filter(|&p| p != me) {
                for k in 0..300u64 {
                    stage.send_product(p, k * 77 + 5);
                    stage.receive_product(p, k * 31 + 1);
                }
            }
            ot.run(net, stage).map(|_| ())
        });
        assert!(tampering.applied.load(Ordering::SeqCst), "{tampering:?}");
        for p in (0..parties).filter(|&p| p != cheater) {
            let error = results[p]
                .as_ref()
                .err()
                .unwrap_or_else(|| panic!("{tampering:?} by party {cheater}: party {p} went on"));
            assert!(
                error.contains(&format!(
                    "party {cheater}'s OT extension failed its consistency check"
                )),
                "{tampering:?} by party {cheater}: party {p}: {error}"
            );
        }
        caught += 1;
    }
    assert_eq!(caught, 24);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn correlated_ots_hold_for_any_lanes(count in 0usize..200, seed in any::<u64>()) {
        check(2, count, 1, seed, false);
    }
}

/// A receiver's shares do not depend on the messages when it chose 0, and the
/// sender's shares do not depend on the choices: the same OT run twice with
/// different secrets of the other side gives views that are equal where they
/// must be, and a receiver who chose 0 gets a pad that is never the message.
#[test]
fn unchosen_messages_stay_hidden() {
    let results = on_local_network(2, "semi2k", |mut net| {
        let me = net.party();
        let mut ot = Pairwise::setup(&mut net, 2).unwrap();
        let mut stage = Stage::new(2);
        let lane = Lane {
            len: 1,
            width: 64,
            xor: false,
        };
        for j in 0..4096u64 {
            if me == 0 {
                stage.send(1, lane, &[j]);
            } else {
                stage.receive(0, lane, false);
            }
        }
        ot.run(&mut net, stage).unwrap()
    });
    let got = &results[1].receive[0];
    // Chose 0: the receiver holds H(q), uniform, never related to x = j.
    assert!(got.iter().enumerate().all(|(j, r)| *r != j as u64));
    let ones: u32 = got.iter().map(|r| r.count_ones()).sum();
    let bits = 64.0 * got.len() as f64;
    assert!(
        (ones as f64 - bits / 2.0).abs() < 6.0 * (bits / 4.0).sqrt(),
        "{ones} ones in {bits} bits"
    );
}

/// Every kind of item semi2k takes, made by OT among 2 and 3 parties and
/// combined, has exactly the correlation a dealer would give it: triples for
/// elementwise (broadcast too), matrix and convolution products (depthwise
/// too), products of reused masks, probabilistic and exact truncation pairs,
/// and the edaBits, AND triples and daBits of comparisons, ReLU, max pooling
/// and argmax.
#[test]
fn every_kind_of_item_made_by_ot_has_its_correlation() {
    let text = "party a = 0; party b = 1;
        fn main() {
            let x: sfix<16>[3, 4] = input(a);
            let w: sfix<16>[4, 5] = input(b);
            let v: sfix<16>[4] = input(b);
            let img: sfix<16>[1, 6, 6, 2] = input(a);
            let k: sfix<16>[3, 3, 2, 3] = input(b);
            let d: sfix<16>[3, 3, 2, 1] = input(b);
            let y = x @ w;
            let s = x * v + x * x;
            let c = conv2d(img, k, padding = same);
            let e = depthwise_conv2d(img, d, stride = 2);
            let p = max_pool(relu(c), 2);
            let m = argmax(reshape(y, [15]));
            let less = x < s;
            reveal y to a;
            reveal s to b;
            reveal p to a;
            reveal e to b;
            reveal m to a;
            reveal less to b;
        }";
    for (mask_reuse, exact_fixed_point) in [(false, false), (true, false), (true, true)] {
        let c = mpc_tests::compile_text(
            text,
            mpcc::elaborate::Options {
                mask_reuse,
                exact_fixed_point,
            },
        );
        for parties in [2, 3] {
            let items = on_local_network(parties, "semi2k", |mut net| {
                mpcvm::backend::prep::ot::make(&c.program, &mut net, parties, &mut |_, _| {})
                    .unwrap()
                    .0
            });
            // What a run holds of them is what the memory check counts.
            let words: u64 = items[0]
                .iter()
                .flat_map(|i| i.random.iter().chain(&i.correlated))
                .map(|part| part.len() as u64)
                .sum();
            assert_eq!(words, mpcvm::backend::prep::material_words(&c.program));
            mpcvm::backend::prep::check::check(&c.program, items).unwrap_or_else(|e| {
                panic!("mask reuse {mask_reuse}, exact {exact_fixed_point}, {parties} parties: {e}")
            });
        }
    }
}

/// Runs spdz2k's VOLE among `parties`: each party's key share and vector
/// from `seed`, every party's MAC shares of the sum of the vectors.
fn vole(parties: usize, n: usize, seed: u64) -> (Vec<u64>, Vec<Vec<u128>>, Vec<Vec<u128>>) {
    let inputs: Vec<(u64, Vec<u128>)> = (0..parties)
        .map(|p| {
            let mut rng = TestRng(seed * 31 + p as u64);
            let x = (0..n)
                .map(|_| (rng.next_u64() as u128) << 64 | rng.next_u64() as u128)
                .collect();
            (rng.next_u64(), x)
        })
        .collect();
    let macs = on_local_network(parties, "spdz2k", |mut net| {
        let me = net.party();
        let (alpha, x) = &inputs[me];
        let mut vole = Vole::setup(&mut net, parties, *alpha).unwrap();
        let mut round = |out: Vec<Vec<u64>>| {
            let parts = out
                .into_iter()
                .map(std::sync::Arc::new)
                .map(|p| vec![p])
                .collect();
            net.exchange(parts).map_err(mpcvm::VmError::Network)
        };
        let mut rng = TestRng(seed * 7 + me as u64);
        let mut random = |k: usize| Ok((0..k).map(|_| rng.next_u64()).collect());
        // Vectors in turn (the keys' streams go on between them), the last
        // the last party's alone (the others' count as zeros, unsent).
        let first = vole
            .authenticate(me, None, x, &mut round, &mut random)
            .unwrap();
        let second = vole
            .authenticate(me, None, &x[..n / 2], &mut round, &mut random)
            .unwrap();
        let owner = Some(parties - 1);
        let third = vole
            .authenticate(me, owner, x, &mut round, &mut random)
            .unwrap();
        [first, second, third].concat()
    });
    let alphas = inputs.iter().map(|(a, _)| *a).collect();
    let xs = inputs
        .into_iter()
        .enumerate()
        .map(|(p, (_, x))| {
            let owned = if p == parties - 1 {
                x.clone()
            } else {
                vec![0; n]
            };
            [x.clone(), x[..n / 2].to_vec(), owned].concat()
        })
        .collect();
    (alphas, xs, macs)
}

#[test]
fn vole_gives_shares_of_the_mac_of_the_sum() {
    for parties in [2, 3] {
        let n = 37;
        let (alphas, xs, macs) = vole(parties, n, parties as u64);
        let alpha = alphas.iter().fold(0u128, |a, b| a.wrapping_add(*b as u128));
        for k in 0..xs[0].len() {
            let x = xs.iter().fold(0u128, |a, x| a.wrapping_add(x[k]));
            let m = macs.iter().fold(0u128, |a, m| a.wrapping_add(m[k]));
            assert_eq!(m, alpha.wrapping_mul(x), "{parties} parties, element {k}");
        }
    }
}

/// A party that tampers with any message of the VOLE (its base OTs, its
/// corrections, the coin toss, its combination, the MAC check) never makes
/// an honest party accept MACs that do not add up: each honest party stops
/// with an error, or all finish with MAC shares of alpha times the sum.
#[test]
fn a_tampered_vole_is_caught_or_harmless() {
    use mpcvm::net::tamper::{Kind, Tampering};
    use std::sync::atomic::AtomicBool;
    let (mut caught, mut harmless) = (0, 0);
    for trial in 0..60u64 {
        let parties = 2 + (trial % 2) as usize;
        let mut rng = TestRng(trial);
        let cheater = rng.next_u64() as usize % parties;
        let tampering = Tampering {
            // The base OTs' two rounds, the corrections, the coin toss's
            // two, the combinations, the MAC check's four.
            round: 1 + rng.next_u64() % 10,
            peer: None,
            kind: Kind::ALL[rng.next_u64() as usize % Kind::ALL.len()],
            word: rng.next_u64() as usize,
            value: rng.next_u64() | 1,
            applied: Arc::new(AtomicBool::new(false)),
        };
        let n = 9;
        let inputs: Vec<(u64, Vec<u128>)> = (0..parties)
            .map(|_| {
                (
                    rng.next_u64(),
                    (0..n).map(|_| rng.next_u64() as u128).collect(),
                )
            })
            .collect();
        let results = tampered(parties, cheater, &tampering, |net| {
            let p = net.party();
            let (alpha, x) = &inputs[p];
            let mut vole = Vole::setup(net, parties, *alpha)?;
            let mut round = |out: Vec<Vec<u64>>| {
                let parts = out.into_iter().map(Arc::new).map(|p| vec![p]).collect();
                net.exchange(parts).map_err(mpcvm::VmError::Network)
            };
            let mut rng = TestRng(trial * 13 + p as u64);
            let mut random = |k: usize| Ok((0..k).map(|_| rng.next_u64()).collect());
            vole.authenticate(p, None, x, &mut round, &mut random)
        });
        if !tampering.applied.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        let honest: Vec<usize> = (0..parties).filter(|&p| p != cheater).collect();
        if honest.iter().all(|&p| results[p].is_err()) {
            caught += 1;
            continue;
        }
        // Someone accepted: every party finished, and the MACs add up.
        assert!(
            results.iter().all(|r| r.is_ok()),
            "{tampering:?} by party {cheater}: {results:?}"
        );
        let alpha = inputs
            .iter()
            .fold(0u128, |a, (k, _)| a.wrapping_add(*k as u128));
        for k in 0..n {
            let x = inputs.iter().fold(0u128, |a, (_, x)| a.wrapping_add(x[k]));
            let m = results
                .iter()
                .fold(0u128, |a, r| a.wrapping_add(r.as_ref().unwrap()[k]));
            assert_eq!(m, alpha.wrapping_mul(x), "{tampering:?} by party {cheater}");
        }
        harmless += 1;
    }
    println!("VOLE tamperings: {caught} caught, {harmless} harmless");
    assert!(caught > 20, "{caught} caught, {harmless} harmless");
}

/// Queues [`plan`]'s OTs of stage `s` between this party `me` and `p`,
/// both ways.
fn queue_plans(stage: &mut Stage, s: u64, me: usize, p: usize, count: usize) {
    for (lane, _, x) in plan(s, me, p, count) {
        stage.send(p, lane, &x);
    }
    for (lane, c, _) in plan(s, p, me, count) {
        stage.receive(p, lane, c);
    }
}

/// Wide OTs (messages of Z_2^128 values, after a stage's lanes and
/// one-word products), in groups of any size and message length: the
/// sender's and the receiver's shares add to c x modulo 2^128, with 2 and 3
/// parties, over stages.
#[test]
fn wide_ots_share_a_bit_times_a_vector() {
    // Groups of (OTs, values per message), their messages and choice bits.
    let groups = |seed: u64, sender: usize, receiver: usize| {
        let mut rng = TestRng(seed * 1009 + (sender * 17 + receiver) as u64);
        let mut word = || (rng.next_u64() as u128) << 64 | rng.next_u64() as u128;
        [(384, 1), (5, 3), (70, 2), (1, 1), (130, 4)]
            .map(|(ots, len)| {
                let x: Vec<u128> = (0..len).map(|_| word()).collect();
                let choices: Vec<u64> = (0..(ots as usize).div_ceil(64))
                    .map(|_| word() as u64)
                    .collect();
                (ots as usize, x, choices)
            })
            .to_vec()
    };
    for parties in [2, 3] {
        let (count, stages) = (37, 2);
        let results = on_local_network(parties, "spdz2k", |mut net| {
            let me = net.party();
            let mut ot = Pairwise::setup(&mut net, parties).unwrap().checked();
            let mut outs = Vec::new();
            for s in 0..stages as u64 {
                let mut stage = Stage::new(parties);
                for p in (0..parties).filter(|&p| p != me) {
                    queue_plans(&mut stage, s, me, p, count);
                    for (x, _) in products(s, me, p, 5) {
                        stage.send_product(p, x);
                    }
                    for (_, c) in products(s, p, me, 5) {
                        stage.receive_product(p, c);
                    }
                    let mut at = 0;
                    for (ots, x, _) in groups(s, me, p) {
                        assert_eq!(stage.send_wide(p, &x, ots), at);
                        at += ots * x.len();
                    }
                    let mut at = 0;
                    for (ots, x, c) in groups(s, p, me) {
                        assert_eq!(stage.receive_wide(p, &c, ots, x.len()), at);
                        at += ots * x.len();
                    }
                }
                outs.push(ot.run(&mut net, stage).unwrap());
            }
            outs
        });
        for s in 0..stages {
            for sender in 0..parties {
                for receiver in (0..parties).filter(|&r| r != sender) {
                    let sent = &results[sender][s].send_wide[receiver];
                    let got = &results[receiver][s].receive_wide[sender];
                    let mut k = 0;
                    for (ots, x, c) in groups(s as u64, sender, receiver) {
                        for ot in 0..ots {
                            let bit = (c[ot / 64] >> (ot % 64) & 1) as u128;
                            for x in &x {
                                assert_eq!(
                                    sent[k].wrapping_add(got[k]),
                                    bit.wrapping_mul(*x),
                                    "{parties} parties, stage {s}, {sender} -> {receiver}, value {k}"
                                );
                                k += 1;
                            }
                        }
                    }
                    assert_eq!((sent.len(), got.len()), (k, k));
                    // The one-word products beside them still hold.
                    let pairs = products(s as u64, sender, receiver, 5);
                    let sent = &results[sender][s].send_products[receiver];
                    let got = &results[receiver][s].receive_products[sender];
                    for (k, (x, c)) in pairs.iter().enumerate() {
                        assert_eq!(sent[k].wrapping_add(got[k]), c.wrapping_mul(*x));
                    }
                }
            }
        }
    }
}

/// Correlated OTs over extensions set up with one Δ per party: the
/// receiver's rows are MACs of its choice bits under the sender's keys and
/// Δ, the same Δ towards every peer (authenticated bits), beside a stage's
/// other kinds of OT, over stages, with the consistency check.
#[test]
fn correlated_ots_authenticate_bits_under_each_senders_one_delta() {
    let delta = |p: usize| {
        0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834u128.rotate_left(p as u32 * 13) ^ p as u128
    };
    let choices = |s: u64, sender: usize, receiver: usize, n: usize| -> Vec<u64> {
        let mut rng = TestRng(s * 31 + (sender * 7 + receiver) as u64);
        (0..n.div_ceil(64)).map(|_| rng.next_u64()).collect()
    };
    for parties in [2, 3] {
        let (count, n, stages) = (37, 200, 2);
        let results = on_local_network(parties, "spdz2k", |mut net| {
            let me = net.party();
            let mut ot = Pairwise::setup_with_delta(&mut net, parties, delta(me))
                .unwrap()
                .checked();
            let mut outs = Vec::new();
            for s in 0..stages as u64 {
                let mut stage = Stage::new(parties);
                for p in (0..parties).filter(|&p| p != me) {
                    queue_plans(&mut stage, s, me, p, count);
                    // Two groups, the second starting mid-word.
                    assert_eq!(stage.send_correlated(p, 70), 0);
                    assert_eq!(stage.send_correlated(p, n - 70), 70);
                    let c = choices(s, p, me, n);
                    stage.receive_correlated(p, &c[..2], 70);
                    let rest: Vec<u64> = (0..(n - 70).div_ceil(64))
                        .map(|k| {
                            let at = 70 + 64 * k;
                            let (w, b) = (at / 64, at % 64);
                            c[w] >> b | c.get(w + 1).map_or(0, |x| x << (64 - b))
                        })
                        .collect();
                    assert_eq!(stage.receive_correlated(p, &rest, n - 70), 70);
                }
                outs.push(ot.run(&mut net, stage).unwrap());
            }
            outs
        });
        for s in 0..stages {
            for sender in 0..parties {
                for receiver in (0..parties).filter(|&r| r != sender) {
                    let keys = &results[sender][s].keys[receiver];
                    let macs = &results[receiver][s].macs[sender];
                    assert_eq!((keys.len(), macs.len()), (n, n));
                    let c = choices(s as u64, sender, receiver, n);
                    for k in 0..n {
                        let bit = (c[k / 64] >> (k % 64) & 1) as u128;
                        assert_eq!(
                            macs[k],
                            keys[k] ^ (bit * delta(sender)),
                            "{parties} parties, stage {s}, {sender} -> {receiver}, OT {k}"
                        );
                    }
                    // The lanes beside them still hold.
                    let sent = &results[sender][s].send[receiver];
                    let got = &results[receiver][s].receive[sender];
                    let mut at = 0;
                    for (lane, c, x) in plan(s as u64, sender, receiver, count) {
                        for x in x {
                            let (v, mask) = (if c { x } else { 0 }, (1u128 << lane.width) - 1);
                            let sum = if lane.xor {
                                sent[at] ^ got[at]
                            } else {
                                sent[at].wrapping_add(got[at])
                            };
                            assert_eq!(sum as u128 & mask, v as u128 & mask);
                            at += 1;
                        }
                    }
                }
            }
        }
    }
}

/// spdz2k's triples by OT among 2 and 3 parties: c = ab for every triple,
/// and a, b and c carry MACs under the parties' key.
#[test]
fn authenticated_triples_by_ot_multiply_and_verify() {
    for parties in [2, 3] {
        let n = 50;
        let results = on_local_network(parties, "spdz2k", |mut net| {
            use mpcvm::backend::spdz2k::{offline::Session, triples::TripleJob};
            let mut session = Session::setup(&mut net, parties).unwrap();
            let mut triples = session
                .triples(&[TripleJob::elementwise(n)], &mut |_, _| {})
                .unwrap();
            (session.keyed.alpha_i as u64, triples.remove(0))
        });
        let key = results
            .iter()
            .fold(0u128, |k, (a, _)| k.wrapping_add(*a as u128));
        let sum = |part: usize, k: usize, mac: bool| {
            results.iter().fold(0u128, |s, (_, t)| {
                let share = if mac { &t[part].m } else { &t[part].x };
                s.wrapping_add(share.data[k])
            })
        };
        for k in 0..n {
            let (a, b, c) = (sum(0, k, false), sum(1, k, false), sum(2, k, false));
            assert_eq!(c, a.wrapping_mul(b), "{parties} parties, triple {k}");
            for (part, v) in [a, b, c].into_iter().enumerate() {
                assert_eq!(
                    sum(part, k, true),
                    key.wrapping_mul(v),
                    "part {part} of {k}"
                );
            }
        }
    }
}

/// The bits of every party's view of binary shares: its shares, its MACs
/// under each peer's Δ and its keys of each peer's shares, which must agree
/// pairwise (M = K ⊕ x Δ) and, in SPDZ's form, add up to x Δ for Δ the XOR
/// of the parties' keys. Returns the shared bits.
fn check_binary(views: &[(u128, mpcvm::backend::spdz2k::binary::Bits)]) -> Vec<bool> {
    use mpcvm::backend::spdz2k::binary::bit;
    let n = views[0].1.n;
    let global = views.iter().fold(0u128, |d, (delta, _)| d ^ delta);
    let mut values = vec![false; n];
    for (i, (_, b)) in views.iter().enumerate() {
        assert_eq!(b.n, n);
        for (j, (delta_j, other)) in views.iter().enumerate().filter(|(j, _)| *j != i) {
            for k in 0..n {
                let x = bit(&b.x, k) as u128;
                assert_eq!(
                    b.macs[j][k],
                    other.keys[i][k] ^ (x * delta_j),
                    "MAC of {i}'s bit {k} under {j}'s key"
                );
            }
        }
        for (k, v) in values.iter_mut().enumerate() {
            *v ^= bit(&b.x, k);
        }
    }
    let shares: Vec<Vec<u128>> = views.iter().map(|(d, b)| b.mac_shares(*d)).collect();
    for (k, v) in values.iter().enumerate() {
        let m = shares.iter().fold(0u128, |m, s| m ^ s[k]);
        assert_eq!(m, (*v as u128) * global, "MAC of bit {k}");
    }
    values
}

/// Binary authenticated shares among 2 and 3 parties: random bits carry
/// MACs under each party's one Δ (checked for consistency), and AND triples
/// from leaky ANDs by buckets have z = x y with their MACs; opened bits pass
/// the MAC check.
#[test]
fn binary_shares_and_and_triples_by_ot_hold() {
    use mpcvm::backend::spdz2k::binary::bit;
    for parties in [2, 3] {
        let n = 300;
        let results = on_local_network(parties, "spdz2k", |mut net| {
            use mpcvm::backend::spdz2k::offline::Session;
            let mut session = Session::setup(&mut net, parties).unwrap();
            session.check_deltas().unwrap();
            let bits = session.random_bits(n).unwrap();
            use mpcvm::backend::spdz2k::binary::and::AndPool;
            let triples = session.take_ands(&mut AndPool::new(n), n).unwrap();
            let opened = session.open_bits(&triples[2]).unwrap();
            session.check_bits().unwrap();
            (session.keyed.delta_i, bits, triples, opened)
        });
        let bits: Vec<_> = results.iter().map(|r| (r.0, r.1.clone())).collect();
        let random = check_binary(&bits);
        assert!(random.iter().any(|b| *b) && random.iter().any(|b| !*b));
        let [x, y, z] = [0, 1, 2].map(|i| {
            check_binary(
                &results
                    .iter()
                    .map(|r| (r.0, r.2[i].clone()))
                    .collect::<Vec<_>>(),
            )
        });
        for k in 0..n {
            assert_eq!(z[k], x[k] & y[k], "{parties} parties, triple {k}");
            assert_eq!(bit(&results[0].3, k), z[k], "opened z {k}");
        }
    }
}

/// edaBits among 2 and 3 parties: the arithmetic values (with their MACs)
/// agree with their binary low bits; a loose one's bits above are not all
/// zero, a strict one is its bits (its carries brought back by daBits).
#[test]
fn eda_bits_by_ot_agree_in_both_domains() {
    for (parties, strict) in [(2, false), (3, false), (2, true), (3, true)] {
        let (n, w) = (40, 20);
        let results = on_local_network(parties, "spdz2k", |mut net| {
            use mpcvm::backend::spdz2k::binary::and::AndPool;
            use mpcvm::backend::spdz2k::binary::eda::{and_gates, carry_bits};
            use mpcvm::backend::spdz2k::offline::Session;
            let mut session = Session::setup(&mut net, parties).unwrap();
            session.check_deltas().unwrap();
            let gates = and_gates(n, w, strict, parties);
            let mut pool = AndPool::new(gates);
            let eda = if strict {
                let k = n * carry_bits(parties);
                let triples = elementwise_triples(&mut session, k, parties);
                let carries = session.da_bits(k, &triples).unwrap();
                session.strict_eda_bits(n, w, &mut pool, carries).unwrap()
            } else {
                session.eda_bits(n, w, &mut pool).unwrap()
            };
            session.check_macs().unwrap();
            (session.keyed.delta_i, session.keyed.alpha_i, eda)
        });
        let key = results.iter().fold(0u128, |k, r| k.wrapping_add(r.1));
        let bits: Vec<Vec<bool>> = (0..w)
            .map(|i| {
                check_binary(
                    &results
                        .iter()
                        .map(|r| (r.0, r.2.bits[i].clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let mut high = 0u128;
        for j in 0..n {
            let a = results
                .iter()
                .fold(0u128, |s, r| s.wrapping_add(r.2.arith.x.data[j]));
            let m = results
                .iter()
                .fold(0u128, |s, r| s.wrapping_add(r.2.arith.m.data[j]));
            assert_eq!(m, key.wrapping_mul(a), "MAC of value {j}");
            let low = bits
                .iter()
                .enumerate()
                .fold(0u128, |v, (i, b)| v | (b[j] as u128) << i);
            let what = format!("{parties} parties, strict {strict}, value {j}");
            assert_eq!(a & ((1 << w) - 1), low, "{what}");
            high |= a >> w;
        }
        assert_eq!(high != 0, !strict, "{parties} parties, strict {strict}");
    }
}

/// A party that inputs a strict edaBit out of its range (its arithmetic
/// value 2^w above its bits, which the check modulo 2^w alone would pass)
/// is caught by every party, whether the edaBit falls in the cut or in a
/// bucket.
#[test]
fn an_out_of_range_strict_eda_bit_is_caught() {
    use mpcvm::VmError;
    for parties in [2, 3] {
        let (n, w) = (40, 20);
        let results = on_local_network(parties, "spdz2k", |mut net| {
            use mpcvm::backend::spdz2k::binary::and::AndPool;
            use mpcvm::backend::spdz2k::binary::eda::{and_gates, carry_bits};
            use mpcvm::backend::spdz2k::offline::Session;
            let mut session = Session::setup(&mut net, parties).unwrap();
            session.out_of_range = session.me == parties - 1;
            session.check_deltas().unwrap();
            let mut pool = AndPool::new(and_gates(n, w, true, parties));
            let k = n * carry_bits(parties);
            let triples = elementwise_triples(&mut session, k, parties);
            let carries = session.da_bits(k, &triples).unwrap();
            session
                .strict_eda_bits(n, w, &mut pool, carries)
                .map(|_| ())
        });
        for (p, r) in results.iter().enumerate() {
            assert!(
                matches!(r, Err(VmError::Cheating(_))),
                "{parties} parties, party {p}: {r:?}"
            );
        }
    }
}

/// `n` elementwise triples per party, by OT: what daBits take.
fn elementwise_triples(
    session: &mut mpcvm::backend::spdz2k::offline::Session,
    n: usize,
    parties: usize,
) -> Vec<[mpcvm::backend::spdz2k::mac::Auth; 3]> {
    use mpcvm::backend::spdz2k::triples::TripleJob;
    let jobs = [TripleJob::elementwise(n * parties)];
    let [a, b, c] = session.triples(&jobs, &mut |_, _| {}).unwrap().remove(0);
    (0..parties)
        .map(|i| [&a, &b, &c].map(|t| t.range(i * n..(i + 1) * n)))
        .collect()
}

/// daBits among 2 and 3 parties: each arithmetic bit (with its MAC) is 0 or
/// 1 and equals its binary twin, and both values occur.
#[test]
fn da_bits_by_ot_agree_in_both_domains() {
    for parties in [2, 3] {
        let n = 100;
        let results = on_local_network(parties, "spdz2k", |mut net| {
            use mpcvm::backend::spdz2k::offline::Session;
            let mut session = Session::setup(&mut net, parties).unwrap();
            session.check_deltas().unwrap();
            let triples = elementwise_triples(&mut session, n, parties);
            let (arith, binary) = session.da_bits(n, &triples).unwrap();
            session.check_macs().unwrap();
            (session.keyed.delta_i, session.keyed.alpha_i, arith, binary)
        });
        let key = results.iter().fold(0u128, |k, r| k.wrapping_add(r.1));
        let binary = check_binary(
            &results
                .iter()
                .map(|r| (r.0, r.3.clone()))
                .collect::<Vec<_>>(),
        );
        for (j, b) in binary.iter().enumerate() {
            let a = results
                .iter()
                .fold(0u128, |s, r| s.wrapping_add(r.2.x.data[j]));
            let m = results
                .iter()
                .fold(0u128, |s, r| s.wrapping_add(r.2.m.data[j]));
            assert_eq!(m, key.wrapping_mul(a), "MAC of bit {j}");
            assert_eq!(a, *b as u128, "{parties} parties, bit {j}");
        }
        assert!(binary.iter().any(|b| *b) && binary.iter().any(|b| !*b));
    }
}

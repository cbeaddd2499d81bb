//! The tamper harness against rep4: random tamperings (every kind, every
//! party as the cheater, every round of the run, set-up included) over
//! two examples and programs that use every interactive operation rep4 runs (inputs,
//! products of each kind, probabilistic and exact truncation, comparisons
//! and what builds on them, outputs). Each honest party
//! must stop with an error or finish with the clear backend's outputs: never
//! a wrong output, never a hang (every peer gives up on a silent one after a
//! short timeout). The counts by kind are printed (`--nocapture`).
//! `TAMPER_TRIALS` sets the number of tamperings (default 1,000).

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::io::decode_f64;
use mpcvm::net::tamper::{Kind, Tampering};
use mpcvm::run::Protocol;
use mpcvm::types::Elem;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The small examples (`programs/`) among the programs tampered with.
const EXAMPLES: [&str; 2] = ["millionaires", "matmul"];

/// Each program, and whether its fixed-point products truncate exactly.
const PROGRAMS: [(&str, bool); 5] = [
    (
        "party a = 0; party b = 1; party c = 2; party d = 3;
    fn main() {
        let x: sint<20>[3, 4] = input(a);
        let w: sint<20>[4, 5] = input(b);
        let v: sint<20>[4] = input(c);
        let img: sint<16>[1, 4, 4, 2] = input(d);
        let k: sint<16>[3, 3, 2, 2] = input(a);
        let y = x @ w;
        let s = x * v + x * x;
        let conv = conv2d(img, k, padding = same);
        reveal y to all;
        reveal s to b;
        reveal conv to d;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1;
    fn main() {
        let x: sint<40>[6] = input(a);
        let y: sint<40>[6] = input(b);
        let mut acc = x;
        for i in 0..3 {
            acc = acc * y + x;
            reveal acc to a;
        }
        reveal acc * acc to b;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1; party c = 2;
    fn main() {
        let x: sfix<16>[5] = input(a);
        let y: sfix<16>[5] = input(b);
        reveal x * y to c;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1; party c = 2; party d = 3;
    fn main() {
        let x: sfix<16>[5] = input(a);
        let y: sfix<16>[5] = input(d);
        reveal x * y to all;
    }",
        true,
    ),
    (
        "party a = 0; party b = 1; party c = 2; party d = 3;
    fn main() {
        let x: sint<24>[6] = input(a);
        let y: sint<24>[6] = input(b);
        let img: sint<16>[1, 4, 4, 1] = input(c);
        reveal relu(x) to a;
        reveal x == y to b;
        reveal max(x) to c;
        reveal argmax(y) to d;
        reveal max_pool(img, 2) to all;
    }",
        false,
    ),
];

#[derive(Default, Debug)]
struct Counts {
    trials: u64,
    /// Every honest party stopped with an error.
    detected: u64,
    /// Every honest party finished, with the right outputs.
    correct: u64,
    /// Some stopped, the others finished with the right outputs.
    mixed: u64,
}

#[test]
fn every_tampering_is_detected_or_harmless() {
    let trials: u64 = std::env::var("TAMPER_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1000);
    let mut compiled: Vec<_> = PROGRAMS
        .iter()
        .map(|&(p, exact)| {
            let options = Options {
                exact_fixed_point: exact,
                ..Options::default()
            };
            (compile_text(p, options), exact)
        })
        .collect();
    for example in EXAMPLES {
        compiled.push((compile_example(example, Options::default()), false));
    }
    let mut rng = TestRng(2026_12_07);
    let mut counts: BTreeMap<Kind, Counts> = BTreeMap::new();
    let mut messages: BTreeMap<String, u64> = BTreeMap::new();
    let mut done = 0;
    let timeout = Duration::from_millis(500);
    while done < trials {
        let (c, exact) = &compiled[rng.next_u64() as usize % compiled.len()];
        let ins = random_inputs(c, rng.next_u64());
        let clear = run_clear(&c.program, &ins, 1);
        // The set-up's round, then the run's.
        let rounds = 1 + mpcvm::backend::rep4::rounds(&c.program);
        let cheater = rng.next_u64() as usize % 4;
        let kind = Kind::ALL[rng.next_u64() as usize % Kind::ALL.len()];
        let peer = match rng.next_u64() % 4 {
            p if p as usize == cheater => None,
            p => Some(p as usize),
        };
        let tampering = Tampering {
            round: 1 + rng.next_u64() % rounds,
            peer,
            kind,
            word: rng.next_u64() as usize,
            value: rng.next_u64(),
            applied: Arc::new(AtomicBool::new(false)),
        };
        let applied = tampering.applied.clone();
        let start = Instant::now();
        let runs = run_tampered(
            &c.program,
            Protocol::Rep4,
            4,
            &ins,
            cheater,
            tampering.clone(),
            timeout,
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "a hang: {tampering:?} by party {cheater}"
        );
        if !applied.load(Ordering::SeqCst) {
            continue; // Nothing to tamper with (an empty message): not a trial.
        }
        done += 1;
        let (mut stopped, mut finished) = (0, 0);
        for (p, run) in runs.iter().enumerate().filter(|(p, _)| *p != cheater) {
            match run {
                Ok(out) => {
                    for (i, decl) in c.program.outputs.iter().enumerate() {
                        let expected = decl
                            .to
                            .contains(p)
                            .then(|| clear.outputs[i].clone())
                            .flatten();
                        let wrong = || {
                            format!(
                                "a wrong output: party {p}, {}, after {tampering:?} by party {cheater}",
                                decl.name
                            )
                        };
                        match (decl.ty.elem, &out.outputs[i], &expected) {
                            // A probabilistic truncation rounds either way: one unit in the last place.
                            (Elem::Fix { frac, .. }, Some(got), Some(want)) if !exact => {
                                let got = decode_f64(got, decl.ty.elem);
                                let want = decode_f64(want, decl.ty.elem);
                                let ulp = 1.01 / (1u64 << frac) as f64;
                                let close =
                                    got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= ulp);
                                assert!(close, "{}", wrong());
                            }
                            _ => assert_eq!(out.outputs[i], expected, "{}", wrong()),
                        }
                    }
                    finished += 1;
                }
                Err(e) => {
                    stopped += 1;
                    let gist = if e.contains("aborted the run: cheating detected") {
                        "told by an honest party that it detected cheating"
                    } else if e.contains("cheating detected") {
                        "cheating detected"
                    } else if e.contains("aborted the run") {
                        "told by a party that it found a protocol violation"
                    } else if e.contains("protocol violation") {
                        "protocol violation"
                    } else {
                        "network error"
                    };
                    *messages.entry(gist.to_string()).or_default() += 1;
                }
            }
        }
        let k = counts.entry(kind).or_default();
        k.trials += 1;
        match (stopped, finished) {
            (_, 0) => k.detected += 1,
            (0, _) => k.correct += 1,
            _ => k.mixed += 1,
        }
    }
    println!("{trials} tamperings of rep4 (honest parties: all stopped / all correct / some stopped, the rest correct):");
    for (kind, k) in &counts {
        println!(
            "  {kind:?}: {} trials, {} detected, {} correct, {} mixed",
            k.trials, k.detected, k.correct, k.mixed
        );
    }
    println!("  honest parties' errors: {messages:?}; wrong outputs: 0; hangs: 0");
    assert_eq!(
        counts.len(),
        Kind::ALL.len(),
        "every kind of tampering was tried"
    );
}

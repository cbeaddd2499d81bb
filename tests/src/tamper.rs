//! The tamper harness's trials, for any actively secure protocol: random
//! tamperings (every kind, every party as the cheater, every round of the
//! run, set-up included) of runs of given programs. Each honest party must
//! stop with an error or finish with the clear backend's outputs: never a
//! wrong output (a panic here), never a hang (every peer gives up on a
//! silent one after a short timeout; a run over 30 s panics).

use crate::{random_inputs, run_clear, run_tampered, TestRng};
use mpcc::driver::Compiled;
use mpcvm::bytecode::Program;
use mpcvm::io::decode_f64;
use mpcvm::net::tamper::{Kind, Tampering};
use mpcvm::run::Protocol;
use mpcvm::types::Elem;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Outcomes of the trials of one kind of tampering.
#[derive(Default, Debug)]
pub struct Counts {
    pub trials: u64,
    /// Every honest party stopped with an error.
    pub detected: u64,
    /// Every honest party finished, with the right outputs.
    pub correct: u64,
    /// Some stopped, the others finished with the right outputs.
    pub mixed: u64,
}

/// What the trials found: counts by kind, and the honest parties' errors by
/// gist.
#[derive(Default, Debug)]
pub struct Report {
    pub by_kind: BTreeMap<Kind, Counts>,
    pub errors: BTreeMap<String, u64>,
}

impl Report {
    pub fn print(&self, what: &str) {
        let trials: u64 = self.by_kind.values().map(|k| k.trials).sum();
        println!("{trials} tamperings of {what} (honest parties: all stopped / all correct / some stopped, the rest correct):");
        for (kind, k) in &self.by_kind {
            println!(
                "  {kind:?}: {} trials, {} detected, {} correct, {} mixed",
                k.trials, k.detected, k.correct, k.mixed
            );
        }
        println!(
            "  honest parties' errors: {:?}; wrong outputs: 0; hangs: 0",
            self.errors
        );
    }
}

/// Runs `trials` random tamperings of `protocol` (with preprocessing
/// `prep`, for a Beaver protocol) among `parties` parties over `programs`
/// (each with whether its fixed-point products truncate exactly: then its
/// outputs must equal clear's, else be within one unit in the last place);
/// `rounds` gives the rounds to tamper with in a program's run after the
/// set-up's first.
pub fn trials(
    protocol: Protocol,
    prep: Option<mpcvm::run::Prep>,
    parties: usize,
    rounds: &dyn Fn(&Program) -> u64,
    programs: &[(Compiled, bool)],
    trials: u64,
) -> Report {
    let compiled = programs;
    let mut counts: BTreeMap<Kind, Counts> = BTreeMap::new();
    let mut messages: BTreeMap<String, u64> = BTreeMap::new();
    let mut rng = TestRng(2026_12_07);
    let mut done = 0;
    let timeout = Duration::from_millis(500);
    while done < trials {
        let (c, exact) = &compiled[rng.next_u64() as usize % compiled.len()];
        let ins = random_inputs(c, rng.next_u64());
        let clear = run_clear(&c.program, &ins, 1);
        // The set-up's round, then the run's.
        let rounds = 1 + rounds(&c.program);
        let cheater = rng.next_u64() as usize % parties;
        let kind = Kind::ALL[rng.next_u64() as usize % Kind::ALL.len()];
        let peer = match rng.next_u64() as usize % parties {
            p if p == cheater => None,
            p => Some(p),
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
            protocol,
            prep,
            parties,
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
    Report {
        by_kind: counts,
        errors: messages,
    }
}

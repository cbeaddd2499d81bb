//! The tamper harness against spdz2k (`mpc_tests::tamper::trials`): random
//! tamperings of every kind, every party as the cheater, over two examples
//! and programs that use every interactive operation (inputs, products of
//! each kind with and without mask reuse, probabilistic and exact
//! truncation, comparisons and what builds on them, openings, outputs),
//! with 2 and 3 parties, in the two phases:
//!
//! - the online phase, with a dealer's material (trusted, never the
//!   cheater): every round of the run, set-up included;
//! - the offline phase by OT: every round of it (base OTs, the extension
//!   and its consistency check, the Gilboa corrections, coin tosses, the
//!   VOLEs and their checks, the sacrifice, the bits' openings, the MAC
//!   check), the online phase following.
//!
//! Each honest party must stop with an error or finish with the clear
//! backend's outputs: never a wrong output, never a hang. The counts by
//! kind are printed (`--nocapture`). `TAMPER_TRIALS` sets the number of
//! tamperings per party count and phase (default 500 online, 250 offline).

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::bytecode::Program;
use mpcvm::net::tamper::Kind;
use mpcvm::run::{Prep, Protocol};

/// The small examples (`programs/`) among the programs tampered with.
const EXAMPLES: [&str; 2] = ["millionaires", "matmul"];

/// Each program (for 2 parties, or 3 where it names a third), and whether
/// its fixed-point products truncate exactly.
const PROGRAMS: [(&str, bool); 4] = [
    (
        "party a = 0; party b = 1;
    fn main() {
        let x: sint<20>[3, 4] = input(a);
        let w: sint<20>[4, 5] = input(b);
        let v: sint<20>[4] = input(a);
        let img: sint<16>[1, 4, 4, 2] = input(b);
        let k: sint<16>[3, 3, 2, 2] = input(a);
        let y = x @ w;
        let s = x * v + x * x;
        let conv = conv2d(img, k, padding = same);
        let total = open(sum(s));
        reveal y to all;
        reveal s to b;
        reveal conv to a;
        reveal total to b;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1;
    fn main() {
        let x: sfix<16>[5] = input(a);
        let y: sfix<16>[5] = input(b);
        let mut acc = x;
        for i in 0..2 {
            acc = acc * y + x;
            reveal acc to a;
        }
        reveal x * y to b;
    }",
        true,
    ),
    (
        "party a = 0; party b = 1;
    fn main() {
        let x: sfix<16>[5] = input(a);
        let y: sfix<16>[5] = input(b);
        reveal x * y to all;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1;
    fn main() {
        let x: sint<24>[6] = input(a);
        let y: sint<24>[6] = input(b);
        let img: sint<16>[1, 4, 4, 1] = input(a);
        reveal relu(x) to a;
        reveal x == y to b;
        reveal max(x) to all;
        reveal argmax(y) to b;
        reveal max_pool(img, 2) to all;
        reveal x < 3 to a;
    }",
        true,
    ),
];

/// The programs tampered with, compiled.
fn compiled() -> Vec<(mpcc::driver::Compiled, bool)> {
    let mut compiled = Vec::new();
    for (k, &(p, exact)) in PROGRAMS.iter().enumerate() {
        let options = Options {
            exact_fixed_point: exact,
            // Half the programs with mask reuse, half with fresh triples.
            mask_reuse: k % 2 == 0,
        };
        compiled.push((compile_text(p, options), exact));
    }
    for example in EXAMPLES {
        let options = Options {
            mask_reuse: true,
            ..Options::default()
        };
        compiled.push((compile_example(example, options), false));
    }
    compiled
}

/// Runs `TAMPER_TRIALS` (else `default`) tamperings of spdz2k with `prep`
/// among `parties` within `rounds_of` a program's rounds, prints the
/// counts under `phase`, and checks every kind was tried.
fn run_trials(
    compiled: &[(mpcc::driver::Compiled, bool)],
    prep: Prep,
    parties: usize,
    rounds_of: &dyn Fn(&Program) -> u64,
    default: u64,
    phase: &str,
) {
    let trials = std::env::var("TAMPER_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(default);
    let report = tamper::trials(
        Protocol::Spdz2k,
        Some(prep),
        parties,
        rounds_of,
        compiled,
        trials,
    );
    report.print(&format!("spdz2k {phase}, {parties} parties"));
    assert_eq!(
        report.by_kind.len(),
        Kind::ALL.len(),
        "every kind of tampering was tried"
    );
}

#[test]
fn every_tampering_of_spdz2k_online_is_detected_or_harmless() {
    let compiled = compiled();
    for parties in [2, 3] {
        // Each program's rounds, from an honest run (MAC checks included).
        let rounds: Vec<(Program, u64)> = compiled
            .iter()
            .map(|(c, _)| {
                let ins = random_inputs(c, 1);
                let runs = run_beaver(Protocol::Spdz2k, &c.program, &ins, parties, Prep::Dealer);
                let rounds = runs[0].as_ref().expect("an honest run").figures.rounds;
                (c.program.clone(), rounds)
            })
            .collect();
        let rounds_of = |p: &Program| -> u64 {
            rounds
                .iter()
                .find(|(q, _)| q == p)
                .map(|(_, r)| *r)
                .expect("a program of the trials")
        };
        run_trials(&compiled, Prep::Dealer, parties, &rounds_of, 500, "online");
    }
}

#[test]
fn every_tampering_of_spdz2k_offline_is_detected_or_harmless() {
    let compiled = compiled();
    for parties in [2, 3] {
        // The offline phase's rounds (its cost model, held to the wire).
        let rounds_of = |p: &Program| -> u64 {
            mpcvm::backend::spdz2k::offline::cost(p, parties).expect("a plan")[0].rounds
        };
        run_trials(&compiled, Prep::Ot, parties, &rounds_of, 250, "offline");
    }
}

//! spdz2k, with the dealer's preprocessing (INSECURE, for these tests of the
//! online phase), against the clear backend, bit for bit, with 2 and 3
//! parties: inputs, products in rounds (fresh triples) and under mask
//! reuse, matrix products and convolutions, openings, outputs, truncation,
//! comparisons (also of 64-bit values), equality, ReLU, and a run-time
//! branch whose untaken arm's material every party skips.

/// As the `mpcvm` binary: the runs allocate and free large tensors every
/// round, which the system allocator returns to the kernel each time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::backend::spdz2k;
use mpcvm::interp::RunOutcome;
use mpcvm::run::{Prep, Protocol};

/// Every party measured the rounds and bytes the spdz2k cost model predicts
/// (at most, for a program with a run-time branch: the model counts both
/// arms).
fn assert_predicted(program: &mpcvm::bytecode::Program, runs: &[RunOutcome], context: &str) {
    let branches = program
        .code
        .iter()
        .any(|i| matches!(i, mpcvm::bytecode::Instr::If { .. }));
    let sent = spdz2k::bytes_sent(program, runs.len());
    let rounds = spdz2k::rounds(program, runs.len());
    for (p, run) in runs.iter().enumerate() {
        let f = run.figures;
        if branches {
            assert!(
                f.rounds <= rounds && f.bytes_sent <= sent[p],
                "{context}, party {p}: {f:?}, model {rounds} rounds, {} bytes",
                sent[p]
            );
        } else {
            assert_eq!(f.rounds, rounds, "{context}, party {p}: rounds");
            assert_eq!(f.bytes_sent, sent[p], "{context}, party {p}: bytes sent");
        }
    }
}

/// Every party measured, in the offline phase by OT, the rounds, bytes and
/// OTs its cost model predicts.
fn assert_offline_predicted(
    program: &mpcvm::bytecode::Program,
    runs: &[RunOutcome],
    context: &str,
) {
    let cost = spdz2k::offline::cost(program, runs.len()).unwrap();
    for (p, run) in runs.iter().enumerate() {
        let f = run.offline.expect("an offline phase");
        assert_eq!(
            (f.comm.rounds, f.comm.bytes_sent, f.ots),
            (cost[p].rounds, cost[p].bytes_sent, cost[p].ots),
            "{context}, party {p}: offline rounds, bytes sent, OTs"
        );
    }
}

/// Runs `program` under spdz2k among `parties` with preprocessing `prep`,
/// every party succeeding.
fn run_spdz2k(
    program: &mpcvm::bytecode::Program,
    inputs: &[Option<mpcvm::ring::RingTensor>],
    parties: usize,
    prep: Prep,
) -> Vec<RunOutcome> {
    run_beaver(Protocol::Spdz2k, program, inputs, parties, prep)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn spdz2k_equals_clear_with_and_without_mask_reuse() {
    let values = every_beaver_operation_values();
    for mask_reuse in [false, true] {
        let c = compile_text(
            EVERY_BEAVER_OPERATION,
            Options {
                mask_reuse,
                ..Options::default()
            },
        );
        let inputs = inputs(&c.program, &values);
        let want = run_clear(&c.program, &inputs, 1);
        for (parties, prep) in [2, 3]
            .into_iter()
            .flat_map(|n| [(n, Prep::Dealer), (n, Prep::Ot)])
        {
            let runs = run_spdz2k(&c.program, &inputs, parties, prep);
            let context = format!("mask reuse {mask_reuse}, {parties} parties, {prep:?}");
            assert_predicted(&c.program, &runs, &context);
            if prep == Prep::Ot {
                assert_offline_predicted(&c.program, &runs, &context);
            }
            assert_outputs_as_clear(&c.program, &want, &runs);
        }
    }
}

/// Every example, compiled for mask reuse with exact truncation (the
/// training examples for one step of two images), runs under spdz2k (with
/// as many parties as it names, and one more) exactly as under the clear
/// backend.
#[test]
fn every_example_runs_under_spdz2k_as_under_clear() {
    for name in example_names() {
        let c = compile_example_sized(
            &name,
            Options {
                exact_fixed_point: true,
                mask_reuse: true,
            },
            TINY_SIZES,
        );
        if let Err(e) = Protocol::Spdz2k.check(&c.program) {
            eprintln!("{name}: {e}");
            assert!(c.program.shares.iter().any(|s| !s.kept), "{name}: {e}");
            continue;
        }
        let inputs = random_inputs(&c, 3);
        let (want, _) = run_clear_sharing(&c.program, &inputs, 7, zero_shares(&c.program, 1));
        let least = (c.program.parties as usize).max(2);
        for parties in [least, least + 1] {
            let runs = run_spdz2k(&c.program, &inputs, parties, Prep::Dealer);
            assert_predicted(&c.program, &runs, &name);
            assert_outputs_as_clear(&c.program, &want, &runs);
        }
    }
}

/// The examples whose offline phase is quick (not the networks: their
/// comparisons and exact truncations take millions of triples), with the
/// preprocessing by OT, 2 and 3 parties: as under clear, with the cost
/// model's offline and online figures.
#[test]
fn examples_run_under_spdz2k_with_preprocessing_by_ot() {
    for name in EXAMPLES_WITH_QUICK_PREPROCESSING {
        let c = compile_example_sized(
            name,
            Options {
                exact_fixed_point: true,
                mask_reuse: true,
            },
            TINY_SIZES,
        );
        let inputs = random_inputs(&c, 3);
        let (want, _) = run_clear_sharing(&c.program, &inputs, 7, zero_shares(&c.program, 1));
        for parties in [2, 3] {
            let t = std::time::Instant::now();
            let runs = run_spdz2k(&c.program, &inputs, parties, Prep::Ot);
            eprintln!(
                "{name}, {parties} parties: {:.1} s",
                t.elapsed().as_secs_f64()
            );
            let context = format!("{name}, {parties} parties");
            assert_predicted(&c.program, &runs, &context);
            assert_offline_predicted(&c.program, &runs, &context);
            assert_outputs_as_clear(&c.program, &want, &runs);
        }
    }
}

const EXAMPLES_WITH_QUICK_PREPROCESSING: [&str; 4] =
    ["millionaires", "matmul", "mnist_dense", "train_linear"];

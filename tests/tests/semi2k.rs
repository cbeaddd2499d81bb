//! semi2k, with preprocessing by OT and by a dealer, against the clear
//! backend, bit for bit, with 2 and 3 parties: inputs, products in rounds (fresh masks) and
//! compiled for mask reuse (masks opened once, products local), matrix
//! products and convolutions, openings, outputs, comparisons (also of 64-bit
//! values), equality, ReLU, and a run-time branch whose untaken arm's
//! material every party skips.

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::backend::prep::ot;
use mpcvm::backend::semi2k;
use mpcvm::bytecode::Program;
use mpcvm::run::Prep;

/// Each of `parties` with each preprocessing: by OT and by a dealer.
fn both_preps(parties: [usize; 2]) -> impl Iterator<Item = (usize, Prep)> {
    parties
        .into_iter()
        .flat_map(|n| [(n, Prep::Ot), (n, Prep::Dealer)])
}

/// Whether the cost model puts `program`'s preprocessing by OT among
/// `parties` under 2M OTs per party (about a second; LeNet's takes 10 s and
/// the training examples' minutes: their online phase is tested with the
/// dealer, and every kind of item by OT in the tests above).
fn cheap_by_ot(program: &Program, parties: usize) -> bool {
    ot::cost(program, parties).unwrap()[0].ots < 2_000_000
}

/// Every party measured the offline rounds, bytes and OTs the cost model
/// predicts (none with a dealer).
fn assert_offline_predicted(program: &Program, runs: &[mpcvm::interp::RunOutcome], prep: Prep) {
    if prep == Prep::Dealer {
        assert!(runs.iter().all(|r| r.offline.is_none()));
        return;
    }
    let cost = ot::cost(program, runs.len()).unwrap();
    for (p, (run, want)) in runs.iter().zip(&cost).enumerate() {
        let got = run.offline.expect("an offline phase");
        let got = ot::Cost {
            rounds: got.comm.rounds,
            bytes_sent: got.comm.bytes_sent,
            ots: got.ots,
        };
        assert_eq!(got, *want, "party {p}");
    }
}

/// Every party received exactly the outputs the clear run `want` gave its
/// receivers, and nothing else.
fn assert_outputs(
    program: &Program,
    runs: &[mpcvm::interp::RunOutcome],
    want: &mpcvm::interp::RunOutcome,
    context: &str,
) {
    for (p, run) in runs.iter().enumerate() {
        for (k, decl) in program.outputs.iter().enumerate() {
            let expected = decl
                .to
                .contains(p)
                .then(|| want.outputs[k].clone())
                .flatten();
            assert_eq!(
                run.outputs[k],
                expected,
                "{context}, {} parties: party {p}, {}",
                runs.len(),
                decl.name
            );
        }
    }
}

/// Every party measured the rounds and bytes the semi2k cost model predicts
/// (at most, with `branches`: the model counts both arms of a run-time `if`).
fn assert_predicted(program: &Program, runs: &[mpcvm::interp::RunOutcome], branches: bool) {
    let sent = semi2k::bytes_sent(program, runs.len());
    let rounds = semi2k::rounds(program);
    for (p, run) in runs.iter().enumerate() {
        let f = run.figures;
        if branches {
            assert!(
                f.rounds <= rounds && f.bytes_sent <= sent[p],
                "party {p}: {f:?}"
            );
        } else {
            assert_eq!(f.rounds, rounds, "party {p}: rounds");
            assert_eq!(f.bytes_sent, sent[p], "party {p}: bytes sent");
        }
    }
}

#[test]
fn semi2k_equals_clear_with_and_without_mask_reuse() {
    for mask_reuse in [false, true] {
        let c = compile_text(
            EVERY_BEAVER_OPERATION,
            Options {
                mask_reuse,
                ..Options::default()
            },
        );
        let inputs = inputs(&c.program, &every_beaver_operation_values());
        let want = run_clear(&c.program, &inputs, 1);
        for (parties, prep) in both_preps([2, 3]) {
            let runs = run_semi2k(&c.program, &inputs, parties, prep);
            assert_predicted(&c.program, &runs, true);
            assert_offline_predicted(&c.program, &runs, prep);
            assert_outputs(
                &c.program,
                &runs,
                &want,
                &format!("mask reuse {mask_reuse}, {prep:?}"),
            );
        }
    }
}

/// Fixed-point products truncate probabilistically: within one unit of the
/// clear backend's result, and unbiased (an odd raw value halved rounds up
/// half of the time).
#[test]
fn semi2k_truncates_products_probabilistically() {
    let c = compile_text(
        "party a = 0; party b = 1;
        fn main() {
            let x: sfix<16>[2048] = input(a);
            let w: sfix<16>[8, 8] = input(b);
            let m: sfix<16>[8, 8] = input(a);
            let half = x * 0.5;
            let p = m @ w;
            reveal half to a;
            reveal p to b;
        }",
        Options {
            mask_reuse: true,
            ..Options::default()
        },
    );
    let mut rng = TestRng(9);
    let unit = 2f64.powi(-16);
    let values = vec![
        ("x", vec![3.0 * unit; 2048]),
        ("w", rng.vec(64, -2.0, 2.0)),
        ("m", rng.vec(64, -2.0, 2.0)),
    ];
    let inputs = inputs(&c.program, &values);
    let want = run_clear(&c.program, &inputs, 1);
    for (parties, prep) in both_preps([2, 3]) {
        let runs = run_semi2k(&c.program, &inputs, parties, prep);
        assert_predicted(&c.program, &runs, false);
        assert_offline_predicted(&c.program, &runs, prep);
        let half = output(&c.program, &runs[0], "half");
        let ups = half.iter().filter(|&&h| h == 2.0 * unit).count();
        assert!(
            half.iter().all(|&h| h == unit || h == 2.0 * unit),
            "{parties} parties: {half:?}"
        );
        assert!(
            (900..1150).contains(&ups),
            "{parties} parties: {ups} of 2048 rounded up"
        );
        let got = output(&c.program, &runs[1], "p");
        let expected = output(&c.program, &want, "p");
        for (g, e) in got.iter().zip(&expected) {
            assert!(
                (g - e).abs() <= 1.5 * unit,
                "{parties} parties: {g} against {e}"
            );
        }
    }
}

/// With exact truncation, fixed-point products equal the clear backend's bit
/// for bit, negative values and odd raw values included.
#[test]
fn semi2k_truncates_exactly_when_asked() {
    let c = compile_text(
        "party a = 0; party b = 1;
        fn main() {
            let x: sfix<16>[300] = input(a);
            let y: sfix<16>[300] = input(b);
            let w: sfix<16>[6, 5] = input(b);
            let m: sfix<16>[4, 6] = input(a);
            let p = x * y;
            let q = m @ w;
            let third = x * 0.3;
            reveal p to a;
            reveal q to b;
            reveal third to all;
        }",
        Options {
            exact_fixed_point: true,
            mask_reuse: true,
        },
    );
    let mut rng = TestRng(21);
    let values = vec![
        ("x", rng.vec(300, -30.0, 30.0)),
        ("y", rng.vec(300, -30.0, 30.0)),
        ("w", rng.vec(30, -2.0, 2.0)),
        ("m", rng.vec(24, -2.0, 2.0)),
    ];
    let inputs = inputs(&c.program, &values);
    let want = run_clear(&c.program, &inputs, 1);
    for (parties, prep) in both_preps([2, 3]) {
        let runs = run_semi2k(&c.program, &inputs, parties, prep);
        assert_outputs(&c.program, &runs, &want, "");
    }
}

/// Comparisons of 1 to 64 bits, equality and ReLU equal the clear backend's,
/// with exactly the predicted rounds and bytes.
#[test]
fn semi2k_comparisons_cost_what_the_model_predicts() {
    let c = compile_text(
        "party a = 0; party b = 1;
        fn main() {
            let x: sint<20>[70] = input(a);
            let y: sint<20>[70] = input(b);
            let lt = x < y;
            let flipped = lt < (y < x);
            let eq = x == y;
            let r = relu(x - y);
            let wide = (x as sint<64>) * 1000000000000 > (y as sint<64>);
            reveal lt to a;
            reveal flipped to a;
            reveal eq to b;
            reveal r to all;
            reveal wide to b;
        }",
        Options::default(),
    );
    let mut rng = TestRng(33);
    let mut ints = |n| -> Vec<f64> { rng.vec(n, -6.0, 6.0).into_iter().map(f64::floor).collect() };
    let values = vec![("x", ints(70)), ("y", ints(70))];
    let inputs = inputs(&c.program, &values);
    let want = run_clear(&c.program, &inputs, 1);
    for (parties, prep) in both_preps([2, 3]) {
        let runs = run_semi2k(&c.program, &inputs, parties, prep);
        assert_predicted(&c.program, &runs, false);
        assert_offline_predicted(&c.program, &runs, prep);
        assert_outputs(&c.program, &runs, &want, "");
    }
}

/// Every example, compiled for mask reuse with exact truncation, runs under
/// semi2k (with as many parties as it names, and one more) exactly as under
/// the clear backend, within the rounds and bytes the cost model predicts.
#[test]
fn every_example_runs_under_semi2k_as_under_clear() {
    for name in example_names() {
        let c = compile_example_to_run(
            &name,
            Options {
                exact_fixed_point: true,
                mask_reuse: true,
            },
        );
        let inputs = random_inputs(&c, 3);
        let (want, _) = run_clear_sharing(&c.program, &inputs, 7, zero_shares(&c.program, 1));
        let least = (c.program.parties as usize).max(2);
        for (parties, prep) in both_preps([least, least + 1]) {
            if prep == Prep::Ot && !cheap_by_ot(&c.program, parties) {
                eprintln!("{name}, {parties} parties: preprocessing by OT left to the dealer runs (too slow for every test run)");
                continue;
            }
            let runs = run_semi2k(&c.program, &inputs, parties, prep);
            assert_predicted(&c.program, &runs, true);
            assert_offline_predicted(&c.program, &runs, prep);
            assert_outputs(&c.program, &runs, &want, &format!("{name}, {prep:?}"));
        }
    }
}

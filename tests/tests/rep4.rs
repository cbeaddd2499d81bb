//! rep4 against the clear backend and plain arithmetic: the same program, the
//! same inputs, the same outputs (bit for bit: these operations are exact),
//! delivered only to their receivers; the rounds and bytes the cost model
//! predicts are those measured; what rep4 cannot run yet is refused before
//! any connection.

use mpc_tests::*;
use mpcc::driver::Compiled;
use mpcc::elaborate::Options;
use mpcvm::interp::RunOutcome;
use mpcvm::ring::RingTensor;

/// Runs under clear and rep4 and checks every party's outputs and figures.
fn same_as_clear(c: &Compiled, ins: &[Option<RingTensor>]) -> Vec<RunOutcome> {
    let clear = run_clear(&c.program, ins, 1);
    let rep4 = run_rep4(&c.program, ins);
    let sent = mpcvm::backend::rep4::bytes_sent(&c.program);
    assert_outputs_as_clear(&c.program, &clear, &rep4);
    for (p, out) in rep4.iter().enumerate() {
        assert_eq!(
            out.figures.rounds,
            mpcvm::backend::rep4::rounds(&c.program),
            "party {p}: rounds"
        );
        assert_eq!(out.figures.bytes_sent, sent[p], "party {p}: bytes sent");
    }
    rep4
}

#[test]
fn matmul_example_under_rep4_is_the_product() {
    let c = compile_example("matmul", Options::default());
    let mut rng = TestRng(41);
    let (a, b) = (rng.ints(32, -1000, 1000), rng.ints(24, -1000, 1000));
    let runs = same_as_clear(
        &c,
        &inputs(&c.program, &[("a", a.clone()), ("b", b.clone())]),
    );
    // Plain arithmetic: [4, 8] @ [8, 3].
    let expected: Vec<f64> = (0..4)
        .flat_map(|i| {
            let (a, b) = (&a, &b);
            (0..3).map(move |j| (0..8).map(|k| a[8 * i + k] * b[3 * k + j]).sum())
        })
        .collect();
    // Parties 2 and 3 compute without receiving (the program names two).
    for run in &runs[..2] {
        assert_eq!(output(&c.program, run, "product"), expected);
    }
}

#[test]
fn every_product_and_reveal_under_rep4() {
    let c = compile_text(
        "party a = 0; party b = 1; party c = 2; party d = 3;
        fn main() {
            let x: sint<20>[3, 4] = input(a);
            let w: sint<20>[4, 5] = input(b);
            let v: sint<20>[4] = input(c);
            let img: sint<16>[1, 5, 5, 2] = input(d);
            let k: sint<16>[3, 3, 2, 3] = input(a);
            let dw: sint<16>[3, 3, 2, 1] = input(b);
            let y = x @ w;
            let s = x * v + x * x - 3 * x + 7;
            let conv = conv2d(img, k, padding = same);
            let depth = depthwise_conv2d(img, dw, stride = 2);
            reveal y to all;
            reveal s to b;
            reveal conv to d;
            reveal depth to c;
        }",
        Options::default(),
    );
    for seed in [1, 2] {
        same_as_clear(&c, &random_inputs(&c, seed));
    }
}

#[test]
fn rep4_refuses_what_it_cannot_run_yet_before_connecting() {
    for (source, why) in [
        (
            "party a = 0; fn main() { let x: sint<32> = input(a); reveal x < 3 to a; }",
            "a comparison",
        ),
        (
            "party a = 0; fn main() { let x: sfix<16> = input(a); reveal x * x to a; }",
            "a truncation",
        ),
    ] {
        let c = compile_text(source, Options::default());
        let e = mpcvm::run::Protocol::Rep4
            .check(&c.program)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rep4 cannot run this program") && e.contains(why),
            "{e}"
        );
    }
}

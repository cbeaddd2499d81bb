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
    let exact = Options {
        exact_fixed_point: true,
        ..Options::default()
    };
    for (source, options, why) in [
        (
            "party a = 0; fn main() { let x: sint<32> = input(a); reveal x < 3 to a; }",
            Options::default(),
            "a comparison",
        ),
        (
            "party a = 0; fn main() { let x: sfix<16> = input(a); reveal x * x to a; }",
            exact,
            "an exact truncation",
        ),
    ] {
        let c = compile_text(source, options);
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

/// Fixed-point products truncate (probabilistically: the last bit may round
/// either way): within one unit in the last place of plain arithmetic on
/// the decoded inputs, and of clear, with the predicted rounds and bytes.
#[test]
fn fixed_point_products_truncate_under_rep4() {
    let c = compile_text(
        "party a = 0; party b = 1; party c = 2;
        fn main() {
            let x: sfix<16>[4, 3] = input(a);
            let w: sfix<16>[3, 2] = input(b);
            let v: sfix<16>[3] = input(c);
            let y = x @ w;
            let s = x * v;
            reveal y to a;
            reveal s to all;
        }",
        Options::default(),
    );
    let mut rng = TestRng(7);
    let (x, w, v) = (
        rng.vec(12, -4.0, 4.0),
        rng.vec(6, -4.0, 4.0),
        rng.vec(3, -4.0, 4.0),
    );
    let ins = inputs(
        &c.program,
        &[("x", x.clone()), ("w", w.clone()), ("v", v.clone())],
    );
    let clear = run_clear(&c.program, &ins, 1);
    let runs = run_rep4(&c.program, &ins);
    // The inputs as the ring holds them (16 fractional bits).
    let fixed =
        |t: &[f64]| -> Vec<f64> { t.iter().map(|f| (f * 65536.0).round() / 65536.0).collect() };
    let (x, w, v) = (fixed(&x), fixed(&w), fixed(&v));
    let y: Vec<f64> = (0..4)
        .flat_map(|i| {
            let (x, w) = (&x, &w);
            (0..2).map(move |j| (0..3).map(|k| x[3 * i + k] * w[2 * k + j]).sum())
        })
        .collect();
    let s: Vec<f64> = (0..12).map(|e| x[e] * v[e % 3]).collect();
    let ulp = 1.0 / 65536.0;
    for (p, run) in runs.iter().enumerate() {
        for (name, expected, to) in [("y", &y, vec![0]), ("s", &s, vec![0, 1, 2])] {
            if !to.contains(&p) {
                continue;
            }
            let got = output(&c.program, run, name);
            let clear = output(&c.program, &clear, name);
            for ((g, e), cl) in got.iter().zip(expected).zip(&clear) {
                assert!((g - e).abs() <= 1.01 * ulp, "party {p}, {name}: {g} vs {e}");
                assert!(
                    (g - cl).abs() <= 1.01 * ulp,
                    "party {p}, {name}: {g} vs clear {cl}"
                );
            }
        }
        assert_eq!(
            run.figures.rounds,
            mpcvm::backend::rep4::rounds(&c.program),
            "party {p}"
        );
        assert_eq!(
            run.figures.bytes_sent,
            mpcvm::backend::rep4::bytes_sent(&c.program)[p],
            "party {p}"
        );
    }
}

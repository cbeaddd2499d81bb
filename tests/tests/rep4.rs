//! rep4 against the clear backend and plain arithmetic: the same program, the
//! same inputs, the same outputs (bit for bit: these operations are exact),
//! delivered only to their receivers; the rounds and bytes the cost model
//! predicts are those measured; what rep4 cannot run is refused before any
//! connection.

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
fn rep4_refuses_what_it_cannot_run_before_connecting() {
    let reuse = Options {
        mask_reuse: true,
        ..Options::default()
    };
    for (source, options, why) in [
        (
            "party a = 0; fn main() { let x: sint = input(a); reveal trunc(x, 8) to a; }",
            Options::default(),
            "rep4 truncates values of at most 63 bits",
        ),
        (
            "party a = 0; fn main() { let x: sint<20> = input(a); reveal x * x to a; }",
            reuse,
            "masks for reuse",
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

#[test]
fn comparisons_and_what_builds_on_them_under_rep4() {
    let c = compile_text(
        "party a = 0; party b = 1; party c = 2; party d = 3;
         fn main() {
             let x: sint<32>[3, 5] = input(a); let y: sint<32>[3, 5] = input(b);
             let lt = x < y; let eq = x == y; let ge = x >= y;
             let r = relu(x); let m = max(x, axis = 1); let am = argmax(x, axis = 1); let whole = max(y); let amc = argmax(y, axis = 0);
             let e = x >> 3; let t = trunc(y, 1);
             let cl = clamp(x, -10, 10); let s = select(x > 0, x, y);
             let img: sint<16>[1, 5, 5, 2] = input(c);
             let mp = max_pool(img, 2); let mps = max_pool(img, 3, stride = 2, padding = same);
             reveal lt to a; reveal eq to d; reveal ge to b; reveal r to c; reveal m to b; reveal am to b; reveal whole to a;
             reveal amc to a; reveal e to all; reveal t to b; reveal cl to b; reveal s to a; reveal mp to d; reveal mps to b;
         }",
        Options::default(),
    );
    let x = [
        0,
        -1,
        1,
        i32::MIN,
        i32::MAX,
        5,
        5,
        -7,
        100,
        3,
        -3,
        -3,
        -3,
        9,
        9,
    ];
    let y = [
        0,
        1,
        -1,
        i32::MAX,
        i32::MIN,
        5,
        6,
        -7,
        -100,
        3,
        2,
        -4,
        8,
        9,
        -9,
    ];
    let as_f64 = |v: &[i32]| v.iter().map(|&e| e as f64).collect::<Vec<f64>>();
    let mut rng = TestRng(35);
    let ins = inputs(
        &c.program,
        &[
            ("x", as_f64(&x)),
            ("y", as_f64(&y)),
            ("img", rng.ints(50, -1000, 1000)),
        ],
    );
    let runs = same_as_clear(&c, &ins);
    // Plain arithmetic for the elementwise ones.
    let pairs = || x.iter().zip(&y);
    let bit = |b: bool| b as i32 as f64;
    assert_eq!(
        output(&c.program, &runs[0], "lt"),
        pairs().map(|(a, b)| bit(a < b)).collect::<Vec<_>>()
    );
    assert_eq!(
        output(&c.program, &runs[3], "eq"),
        pairs().map(|(a, b)| bit(a == b)).collect::<Vec<_>>()
    );
    assert_eq!(
        output(&c.program, &runs[2], "r"),
        x.iter().map(|&a| a.max(0) as f64).collect::<Vec<_>>()
    );
    assert_eq!(
        output(&c.program, &runs[1], "cl"),
        x.iter()
            .map(|&a| a.clamp(-10, 10) as f64)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        output(&c.program, &runs[2], "e"),
        x.iter().map(|&a| (a >> 3) as f64).collect::<Vec<_>>()
    );
}

#[test]
fn comparisons_of_64_bit_integers_under_rep4_are_exact_at_the_extremes() {
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sint[8] = input(a); let y: sint[8] = input(b);
             let lt = x < y; let eq = x == y; let hi = max(x, y); let at = argmax(y);
             reveal lt to a; reveal eq to a; reveal hi to b; reveal at to b;
         }",
        Options::default(),
    );
    let x = [i64::MAX, i64::MIN, -2, i64::MAX, i64::MIN + 1, 0, -1, 7];
    let y = [-2, i64::MAX, i64::MAX, i64::MIN, i64::MIN, 0, i64::MAX, 7];
    let tensor = |v: &[i64]| {
        Some(RingTensor::new(
            vec![8],
            v.iter().map(|&e| e as u64).collect(),
        ))
    };
    let runs = same_as_clear(&c, &[tensor(&x), tensor(&y)]);
    let ints = |run: &RunOutcome, name: &str| -> Vec<i64> {
        let i = c
            .program
            .outputs
            .iter()
            .position(|d| d.name == name)
            .unwrap();
        runs_output(run, i).iter().map(|&w| w as i64).collect()
    };
    let pairs = || x.iter().zip(&y);
    assert_eq!(
        ints(&runs[0], "lt"),
        pairs().map(|(a, b)| (a < b) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        ints(&runs[0], "eq"),
        pairs().map(|(a, b)| (a == b) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        ints(&runs[1], "hi"),
        pairs().map(|(a, b)| *a.max(b)).collect::<Vec<_>>()
    );
    assert_eq!(ints(&runs[1], "at"), vec![1]);
}

fn runs_output(run: &RunOutcome, i: usize) -> Vec<u64> {
    run.outputs[i].as_ref().expect("received").data.clone()
}

/// Every example (at the small sizes of the tests), with exact fixed-point
/// truncation, computes under rep4 exactly what it computes under the clear
/// backend, in the rounds and bytes the cost model predicts.
#[test]
fn every_example_runs_under_rep4_as_under_clear() {
    let exact = Options {
        exact_fixed_point: true,
        ..Options::default()
    };
    for name in example_names() {
        let c = compile_example_to_run(&name, exact);
        let ins = random_inputs(&c, 3);
        let (clear, _) = run_clear_sharing(&c.program, &ins, 7, zero_shares(&c.program, 1));
        let runs: Vec<RunOutcome> = run_parties(
            &c.program,
            mpcvm::run::Protocol::Rep4,
            &ins,
            vec![zero_shares(&c.program, 3); 4],
        )
        .into_iter()
        .map(|r| r.outcome)
        .collect();
        assert_outputs_as_clear(&c.program, &clear, &runs);
        let sent = mpcvm::backend::rep4::bytes_sent(&c.program);
        for (p, out) in runs.iter().enumerate() {
            assert_eq!(
                out.figures.rounds,
                mpcvm::backend::rep4::rounds(&c.program),
                "{name}, party {p}: rounds"
            );
            assert_eq!(out.figures.bytes_sent, sent[p], "{name}, party {p}: bytes");
        }
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

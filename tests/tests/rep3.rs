//! rep3 against the clear backend: the same program, the same inputs, the
//! same outputs (bit for bit: these operations are exact), delivered only to
//! their receivers; and the rounds the compiler predicts are the rounds measured.

use mpc_tests::*;
use mpcc::driver::Compiled;
use mpcc::elaborate::Options;

/// Runs under both backends and checks every party's outputs.
fn same_as_clear(c: &Compiled, values: &[(&str, Vec<f64>)]) -> Vec<mpcvm::interp::RunOutcome> {
    same_as_clear_on(c, &inputs(&c.program, values))
}

/// [`same_as_clear`] on inputs given as ring tensors.
fn same_as_clear_on(
    c: &Compiled,
    ins: &[Option<mpcvm::ring::RingTensor>],
) -> Vec<mpcvm::interp::RunOutcome> {
    let ins = ins.to_vec();
    let clear = run_clear(&c.program, &ins, 1);
    let rep3 = run_rep3(&c.program, &ins);
    assert_outputs_as_clear(&c.program, &clear, &rep3);
    for (p, out) in rep3.iter().enumerate() {
        assert_predicted_costs(c, p, out);
    }
    rep3
}

#[test]
fn matmul_example_under_rep3() {
    let c = compile_example("matmul", Options::default());
    let mut rng = TestRng(31);
    same_as_clear(
        &c,
        &[
            ("a", rng.ints(32, -1000, 1000)),
            ("b", rng.ints(24, -1000, 1000)),
        ],
    );
}

#[test]
fn every_exact_operation_under_rep3() {
    let c = compile_text(
        "party a = 0; party b = 1; party c = 2;
         fn main() {
             let x: sint<32>[2, 6, 6, 3] = input(a);
             let w: sint<32>[3, 3, 3, 4] = input(b);
             let dw: sint<32>[2, 2, 3, 2] = input(c);
             let v: sint<32>[12] = input(c);
             let k: int<32>[3] = input(b);
             let y = conv2d(x, w, padding = same, stride = 2);
             let z = depthwise_conv2d(x, dw);
             let s = sum_pool(x, 2) + k;
             let m = reshape(transpose(x[0, .., .., 0]), [3, 12]) @ reshape(concat([v, v, v], axis = 0), [12, 3]);
             let p = v * v - 3 * v + 7;
             let mut acc: sint<32>[4] = fill(0, [4]);
             for i in 0..3 {
                 acc = acc * v[i * 4; 4] + v[i * 4; 4];
                 if i % 2 == 0 { acc = acc - 1; }
             }
             let opened = open(sum(p));
             reveal y to a; reveal z to b; reveal s to c; reveal m to all; reveal acc to b; reveal opened to c;
         }",
        Options::default(),
    );
    let mut rng = TestRng(32);
    let out = same_as_clear(
        &c,
        &[
            ("x", rng.ints(2 * 6 * 6 * 3, -50, 50)),
            ("w", rng.ints(3 * 3 * 3 * 4, -50, 50)),
            ("dw", rng.ints(2 * 2 * 3 * 2, -50, 50)),
            ("v", rng.ints(12, -50, 50)),
            ("k", rng.ints(3, -50, 50)),
        ],
    );
    // Each party sent something: nobody computed alone.
    assert!(out.iter().all(|o| o.figures.bytes_sent > 0));
}

#[test]
fn rep3_refuses_a_truncation_beyond_its_limit_before_connecting() {
    let c = compile_text(
        "party a = 0; fn main() { let x: sint<64> = input(a); let y = x >> 8; reveal y to a; }",
        Options::default(),
    );
    let e = mpcvm::run::Protocol::Rep3
        .check(&c.program)
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncation by 8 of a 64-bit value"), "{e}");
    assert!(e.contains("at most 63 bits"), "{e}");
}

#[test]
fn rep3_refuses_a_program_with_too_many_parties_before_connecting() {
    let c = compile_text(
        "party a = 0; party b = 3; fn main() { let x: sint<32> = input(b); reveal x to a; }",
        Options::default(),
    );
    let e = mpcvm::run::Protocol::Rep3
        .check(&c.program)
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 parties"), "{e}");
}

#[test]
fn millionaires_example_under_rep3() {
    let c = compile_example("millionaires", Options::default());
    for (a, b) in [
        (5.0, 3.0),
        (3.0, 5.0),
        (7.0, 7.0),
        (i32::MIN as f64, i32::MAX as f64),
        (i32::MAX as f64, i32::MIN as f64),
        (-1.0, 0.0),
    ] {
        same_as_clear(&c, &[("a", vec![a]), ("b", vec![b])]);
    }
}

#[test]
fn comparisons_and_what_builds_on_them_under_rep3() {
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sint<32>[3, 5] = input(a); let y: sint<32>[3, 5] = input(b);
             let lt = x < y; let eq = x == y; let ge = x >= y;
             let r = relu(x); let m = max(x, axis = 1); let am = argmax(x, axis = 1); let whole = max(y); let amc = argmax(y, axis = 0);
             let e = x >> 3; let t = trunc(y, 1);
             let c = clamp(x, -10, 10); let s = select(x > 0, x, y);
             let img: sint<16>[1, 5, 5, 2] = input(b);
             let mp = max_pool(img, 2); let mps = max_pool(img, 3, stride = 2, padding = same);
             reveal lt to a; reveal eq to a; reveal ge to b; reveal r to a; reveal m to b; reveal am to b; reveal whole to a;
             reveal amc to a; reveal e to a; reveal t to b; reveal c to b; reveal s to a; reveal mp to a; reveal mps to b;
         }",
        Options::default(),
    );
    let x = vec![
        0.0,
        -1.0,
        1.0,
        i32::MIN as f64,
        i32::MAX as f64,
        5.0,
        5.0,
        -7.0,
        100.0,
        3.0,
        -3.0,
        -3.0,
        -3.0,
        9.0,
        9.0,
    ];
    let y = vec![
        0.0,
        1.0,
        -1.0,
        i32::MAX as f64,
        i32::MIN as f64,
        5.0,
        6.0,
        -7.0,
        -100.0,
        3.0,
        2.0,
        -4.0,
        8.0,
        9.0,
        -9.0,
    ];
    let mut rng = TestRng(35);
    same_as_clear(
        &c,
        &[("x", x), ("y", y), ("img", rng.ints(50, -1000, 1000))],
    );
}

#[test]
fn mnist_dense_example_under_rep3() {
    let c = compile_example("mnist_dense", Options::default());
    let dir = repo_root().join("programs/mnist_dense/weights");
    let (_, pixels) = mnist::images("t10k");
    let labels = mnist::labels("t10k");
    let mut values: Vec<(&str, Vec<f64>)> = ["w1", "b1", "w2", "b2"]
        .iter()
        .map(|n| (*n, read_npy(&dir.join(format!("{n}.npy"))).1))
        .collect();
    values.push(("image", mnist::image(&pixels, 0)));
    let out = close_to_clear(&c, &values, |_| 0.0);
    assert_eq!(
        mpcvm::io::decode_f64(
            out[1].outputs[0].as_ref().unwrap(),
            c.program.outputs[0].ty.elem
        ),
        vec![labels[0] as f64]
    );
    assert!(
        out[0].outputs[0].is_none() && out[2].outputs[0].is_none(),
        "only the client learns the digit"
    );
}

#[test]
fn probabilistic_truncation_is_unbiased_and_off_by_at_most_one() {
    // 3 / 2 = 1.5 and -3 / 2 = -1.5, many times: each result is the floor or the ceiling,
    // the ceiling about half the time; and values near the ends of the 32-bit range.
    let n = 4000;
    let c = compile_text(&format!("party a = 0; fn main() {{ let x: sint<32>[{n}] = input(a); let y = trunc_pr(x, 1); reveal y to a; }}"), Options::default());
    let mut x = vec![3.0; n / 2];
    x.extend(vec![-3.0; n / 2]);
    let out = run_rep3(&c.program, &inputs(&c.program, &[("x", x)]));
    let y = mpcvm::io::decode_f64(
        out[0].outputs[0].as_ref().unwrap(),
        c.program.outputs[0].ty.elem,
    );
    assert!(y[..n / 2].iter().all(|&v| v == 1.0 || v == 2.0));
    assert!(y[n / 2..].iter().all(|&v| v == -2.0 || v == -1.0));
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    assert!(
        (mean(&y[..n / 2]) - 1.5).abs() < 0.05,
        "mean {}",
        mean(&y[..n / 2])
    );
    assert!(
        (mean(&y[n / 2..]) + 1.5).abs() < 0.05,
        "mean {}",
        mean(&y[n / 2..])
    );

    let c = compile_text("party a = 0; fn main() { let x: sint<32>[6] = input(a); let y = trunc_pr(x, 8); reveal y to a; }", Options::default());
    let edges = [i32::MAX as f64, i32::MIN as f64, -1.0, 0.0, 255.0, -256.0];
    let out = run_rep3(&c.program, &inputs(&c.program, &[("x", edges.to_vec())]));
    let y = mpcvm::io::decode_f64(
        out[0].outputs[0].as_ref().unwrap(),
        c.program.outputs[0].ty.elem,
    );
    for (g, e) in y.iter().zip(edges) {
        let exact = e / 256.0;
        assert!(*g == exact.floor() || *g == exact.ceil(), "{e} / 256: {g}");
    }
}

#[test]
fn fixed_point_products_under_rep3() {
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sfix<16>[64] = input(a); let w: sfix<16>[64, 8] = input(b);
             let y = x * x; let z = reshape(x, [1, 64]) @ w; let q = x / 3; let r = x / [0.3];
             reveal y to a; reveal z to b; reveal q to a; reveal r to b;
         }",
        Options::default(),
    );
    let mut rng = TestRng(33);
    close_to_clear(
        &c,
        &[
            ("x", rng.vec(64, -10.0, 10.0)),
            ("w", rng.vec(512, -1.0, 1.0)),
        ],
        |_| 2.0 / 65536.0,
    );
}

#[test]
fn train_linear_example_under_rep3() {
    let c = compile_example("train_linear", Options::default());
    let mut rng = TestRng(34);
    let truth = rng.vec(16, -1.0, 1.0);
    let x = rng.vec(512 * 16, -1.0, 1.0);
    let y: Vec<f64> = (0..512)
        .map(|i| (0..16).map(|j| x[i * 16 + j] * truth[j]).sum())
        .collect();
    // 64 SGD steps, each with three probabilistic truncations: allow a few units of drift.
    close_to_clear(&c, &[("x", x), ("y", y)], |_| 0.01);
}

#[test]
fn lenet_example_under_rep3() {
    let c = compile_example("lenet", Options::default());
    let mut rng = TestRng(36);
    let mut w = |n: usize, scale: f64| rng.vec(n, -scale, scale);
    let values = vec![
        ("k1", w(500, 0.3)),
        ("c1", w(20, 0.1)),
        ("k2", w(25000, 0.05)),
        ("c2", w(50, 0.1)),
        ("w3", w(400_000, 0.05)),
        ("b3", w(500, 0.1)),
        ("w4", w(5000, 0.1)),
        ("b4", w(10, 0.1)),
        ("image", mnist::image(&mnist::images("t10k").1, 1)),
    ];
    close_to_clear(&c, &values, |_| 0.0);
}

#[test]
fn every_example_under_rep3_measures_what_the_compiler_predicts() {
    for name in example_names() {
        let c = compile_example_to_run(&name, Options::default());
        let mut rng = TestRng(37);
        // Small values of every input's kind.
        let values: Vec<(&str, Vec<f64>)> = c
            .program
            .inputs
            .iter()
            .map(|d| {
                (
                    d.name.as_str(),
                    rng.ints(d.ty.len(), -3, 4)
                        .iter()
                        .map(|v| v / 4.0)
                        .collect(),
                )
            })
            .collect();
        let values: Vec<(&str, Vec<f64>)> = values
            .into_iter()
            .zip(&c.program.inputs)
            .map(|((n, v), d)| {
                (
                    n,
                    if matches!(d.ty.elem, mpcvm::types::Elem::Fix { .. }) {
                        v
                    } else {
                        v.iter().map(|x| (x * 4.0).round()).collect()
                    },
                )
            })
            .collect();
        let shares = vec![zero_shares(&c.program, 2); 3];
        let out: Vec<_> = run_rep3_parties(&c.program, &inputs(&c.program, &values), shares)
            .into_iter()
            .map(|r| r.outcome)
            .collect();
        for (p, o) in out.iter().enumerate() {
            assert_eq!(
                o.figures.rounds,
                mpcvm::backend::rep3::rounds(&c.program),
                "{name}, party {p}: rounds"
            );
            assert_eq!(
                o.figures.bytes_sent,
                mpcvm::backend::rep3::bytes_sent(&c.program)[p],
                "{name}, party {p}: bytes"
            );
        }
    }
}

/// A clamp to constant bounds compares with both bounds side by side: it takes
/// the rounds of one comparison and one product, and the bytes of two of each.
#[test]
fn a_clamp_to_constant_bounds_takes_the_rounds_of_one_comparison() {
    let program = |body: &str| {
        compile_text(
            &format!("party a = 0; fn main() {{ let x: sint<20>[100] = input(a); {body} reveal r to a; }}"),
            Options::default(),
        )
        .program
    };
    let clamp = program("let r = clamp(x, -10, 10);");
    let compare = program("let r = (x < 3) * x;");
    let base = program("let r = x;");
    let rounds = mpcvm::backend::rep3::rounds;
    assert_eq!(
        rounds(&clamp) - rounds(&base),
        rounds(&compare) - rounds(&base)
    );
    let bytes = |p| mpcvm::backend::rep3::bytes_sent(p)[0];
    assert_eq!(
        bytes(&clamp) - bytes(&base),
        2 * (bytes(&compare) - bytes(&base))
    );
}

/// The outputs of one run as signed integers, by name.
fn integers(
    c: &Compiled,
    out: &mpcvm::interp::RunOutcome,
) -> std::collections::HashMap<String, Vec<i64>> {
    c.program
        .outputs
        .iter()
        .zip(&out.outputs)
        .filter_map(|(d, t)| {
            Some((
                d.name.clone(),
                t.as_ref()?.data.iter().map(|&v| v as i64).collect(),
            ))
        })
        .collect()
}

#[test]
fn comparisons_of_64_bit_integers_are_exact_at_the_extremes() {
    // The difference of two 64-bit values needs 65 bits; these pairs overflow it.
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sint[8] = input(a); let y: sint[8] = input(b);
             let lt = x < y; let gt = x > y; let le = x <= y; let eq = x == y;
             let hi = max(x, y); let lo = min(x, y); let top = max(x); let at = argmax(y);
             let r = relu(x); let c = clamp(x, -5, 5);
             let img = reshape(concat([x, y]), [1, 4, 4, 1]); let mp = max_pool(img, 2);
             reveal lt to a; reveal gt to a; reveal le to a; reveal eq to a; reveal hi to b; reveal lo to b;
             reveal top to a; reveal at to b; reveal r to a; reveal c to b; reveal mp to a;
         }",
        Options::default(),
    );
    let x = [i64::MAX, i64::MIN, -2, i64::MAX, i64::MIN + 1, 0, -1, 7];
    let y = [-2, i64::MAX, i64::MAX, i64::MIN, i64::MIN, 0, i64::MAX, 7];
    let tensor = |v: &[i64]| {
        Some(mpcvm::ring::RingTensor::new(
            vec![8],
            v.iter().map(|&e| e as u64).collect(),
        ))
    };
    let rep3 = same_as_clear_on(&c, &[tensor(&x), tensor(&y)]);
    let got = integers(&c, &rep3[0]);
    let got_b = integers(&c, &rep3[1]);
    let pairs = || x.iter().zip(&y);
    assert_eq!(
        got["lt"],
        pairs().map(|(a, b)| (a < b) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        got["gt"],
        pairs().map(|(a, b)| (a > b) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        got["le"],
        pairs().map(|(a, b)| (a <= b) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        got["eq"],
        pairs().map(|(a, b)| (a == b) as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        got_b["hi"],
        pairs().map(|(a, b)| *a.max(b)).collect::<Vec<_>>()
    );
    assert_eq!(
        got_b["lo"],
        pairs().map(|(a, b)| *a.min(b)).collect::<Vec<_>>()
    );
    assert_eq!(got["top"], vec![i64::MAX]);
    assert_eq!(got_b["at"], vec![1]);
    assert_eq!(got["r"], x.iter().map(|&a| a.max(0)).collect::<Vec<_>>());
    assert_eq!(
        got_b["c"],
        x.iter().map(|&a| a.clamp(-5, 5)).collect::<Vec<_>>()
    );
    let all: Vec<i64> = x.iter().chain(&y).copied().collect();
    let window = |r: usize, col: usize| {
        [0, 1, 4, 5]
            .iter()
            .map(|o| all[r * 8 + col * 2 + o])
            .max()
            .unwrap()
    };
    assert_eq!(
        got["mp"],
        vec![window(0, 0), window(0, 1), window(1, 0), window(1, 1)]
    );
}

#[test]
fn sums_of_bits_count_them() {
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sint<32>[2, 3] = input(a); let y: sint<32>[2, 3] = input(b);
             let bits = x < y;
             let total = sum(bits); let rows = sum(bits, axis = 1);
             let img = reshape(bits, [1, 2, 3, 1]); let pooled = sum_pool(img, [2, 2], stride = 1);
             let pairs = transpose(bits) @ bits;
             reveal total to a; reveal rows to a; reveal pooled to b; reveal pairs to b;
         }",
        Options::default(),
    );
    let rep3 = same_as_clear(
        &c,
        &[
            ("x", vec![1.0, 2.0, 3.0, 0.0, 5.0, 6.0]),
            ("y", vec![4.0, 5.0, 6.0, 1.0, 0.0, 7.0]),
        ],
    );
    // bits = [[1, 1, 1], [1, 0, 1]]
    let (got, got_b) = (integers(&c, &rep3[0]), integers(&c, &rep3[1]));
    assert_eq!(got["total"], vec![5]);
    assert_eq!(got["rows"], vec![3, 2]);
    assert_eq!(got_b["pooled"], vec![3, 3]);
    assert_eq!(got_b["pairs"], vec![2, 1, 2, 1, 1, 1, 2, 1, 2]);
}

/// A data set read a batch per iteration (a streamed input) trains exactly as
/// the same data read whole and sliced, under rep3 as under clear; the
/// per-step losses revealed inside the loop are one row per step; the costs
/// are the compiler's prediction.
#[test]
fn streamed_inputs_and_outputs_inside_loops_under_rep3() {
    let program = |streamed: bool| {
        let (declare, batch) = if streamed {
            ("", "let xb: sfix<16>[4, 3] = input(data);")
        } else {
            (
                "let x: sfix<16>[24, 3] = input(data);",
                "let xb = x[step * 4; 4, ..];",
            )
        };
        format!(
            "party data = 0;
            party model = 1;
            fn main() {{
                let mut w: sfix<16>[3, 1] = input(model);
                {declare}
                for step in 0..6 {{
                    {batch}
                    let err = xb @ w - 1.0;
                    let loss = sum(err * err) / 4;
                    reveal loss to data;
                    w = w - transpose(xb) @ err * 0.05;
                }}
                reveal w to model;
            }}"
        )
    };
    let mut rng = TestRng(77);
    let values = vec![("w", rng.vec(3, -0.5, 0.5)), ("x", rng.vec(72, -1.0, 1.0))];
    let streamed = compile_text(&program(true), Options::default());
    let whole = compile_text(&program(false), Options::default());
    let streamed_values = vec![values[0].clone(), ("xb", values[1].1.clone())];
    assert_eq!(streamed.program.inputs[1].ty.shape, vec![6, 4, 3]);
    assert_eq!(streamed.program.outputs[0].ty.shape, vec![6]);
    let a = run_clear(
        &streamed.program,
        &inputs(&streamed.program, &streamed_values),
        5,
    );
    let b = run_clear(&whole.program, &inputs(&whole.program, &values), 5);
    assert_eq!(a.outputs, b.outputs);
    // Under rep3 (probabilistic truncation): each value within a few units of clear's.
    close_to_clear(&streamed, &streamed_values, |_| 1e-3);
}

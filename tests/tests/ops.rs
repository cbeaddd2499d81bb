//! Each operator of the language under the clear backend, against plain Rust.

use mpc_tests::reference;
use mpc_tests::*;
use mpcc::elaborate::Options;
use ndarray::Array4;
use std::collections::HashMap;

/// Compiles `body` as main of a two-party program, runs it, and returns every output.
fn run(body: &str, values: &[(&str, Vec<f64>)]) -> HashMap<String, Vec<f64>> {
    run_with(body, values, Options::default(), 1)
}

fn run_with(
    body: &str,
    values: &[(&str, Vec<f64>)],
    options: Options,
    seed: u64,
) -> HashMap<String, Vec<f64>> {
    let text = format!("party a = 0;\nparty b = 1;\n\nfn main() {{\n{body}\n}}\n");
    let c = compile_text(&text, options);
    let out = run_clear(&c.program, &inputs(&c.program, values), seed);
    c.program
        .outputs
        .iter()
        .map(|o| (o.name.clone(), output(&c.program, &out, &o.name)))
        .collect()
}

#[test]
fn elementwise_arithmetic_broadcasts_like_numpy() {
    let x = vec![1.0, -2.0, 3.0, 4.0, 5.0, -6.0];
    let y = vec![10.0, 20.0, -30.0];
    let out = run(
        "let x: sint<32>[2, 3] = input(a); let y: sint<32>[3] = input(b);
         let s = x + y; let d = x - y; let p = x * y; let q = y - 1; let n = -x;
         reveal s to all; reveal d to all; reveal p to all; reveal q to all; reveal n to all;",
        &[("x", x.clone()), ("y", y.clone())],
    );
    let at = |i: usize| (x[i], y[i % 3]);
    assert_eq!(
        out["s"],
        (0..6).map(|i| at(i).0 + at(i).1).collect::<Vec<_>>()
    );
    assert_eq!(
        out["d"],
        (0..6).map(|i| at(i).0 - at(i).1).collect::<Vec<_>>()
    );
    assert_eq!(
        out["p"],
        (0..6).map(|i| at(i).0 * at(i).1).collect::<Vec<_>>()
    );
    assert_eq!(out["q"], vec![9.0, 19.0, -31.0]);
    assert_eq!(out["n"], x.iter().map(|v| -v).collect::<Vec<_>>());
}

#[test]
fn ring_arithmetic_wraps_modulo_two_to_the_64() {
    let out = run(
        "let x: sint<64> = input(a); let y = x * x * x * x; reveal y to all;",
        &[("x", vec![65536.0])],
    );
    // 2^64 wraps to 0.
    assert_eq!(out["y"], vec![0.0]);
}

#[test]
fn fixed_point_products_are_within_one_unit() {
    let mut rng = TestRng(11);
    let x = rng.vec(200, -100.0, 100.0);
    let y = rng.vec(200, -100.0, 100.0);
    for (options, tolerance) in [
        (Options::default(), 2.0),
        (
            Options {
                exact_fixed_point: true,
                ..Options::default()
            },
            1.0,
        ),
    ] {
        let out = run_with("let x: sfix<16>[200] = input(a); let y: sfix<16>[200] = input(b); let p = x * y; reveal p to all;", &[("x", x.clone()), ("y", y.clone())], options, 3);
        for i in 0..200 {
            let (fx, fy) = (
                (x[i] * 65536.0).round() / 65536.0,
                (y[i] * 65536.0).round() / 65536.0,
            );
            assert!(
                (out["p"][i] - fx * fy).abs() <= tolerance / 65536.0,
                "{} vs {}",
                out["p"][i],
                fx * fy
            );
        }
    }
}

#[test]
fn division_by_a_constant_is_within_one_unit_of_the_true_quotient() {
    // Salaries of 50,000-90,000 averaged (a reciprocal in 16 bits was off by 1.02).
    let out = run(
        "let s: sfix<16, 40>[3] = input(a); let avg = (s[0] + s[1] + s[2]) / 3; reveal avg to all;",
        &[("s", vec![50_000.0, 90_000.0, 66_861.0])],
    );
    assert!(
        (out["avg"][0] - 206_861.0 / 3.0).abs() < 1.0 / 65536.0,
        "{}",
        out["avg"][0]
    );
    // Every divisor kind, over the whole range of each type, at both truncations.
    let mut rng = TestRng(13);
    for (ty, frac, bits) in [
        ("sfix<16>", 16, 32),
        ("sfix<16, 47>", 16, 47),
        ("sfix<8, 24>", 8, 24),
        ("sfix<20, 43>", 20, 43),
    ] {
        for c in [3.0f64, -7.0, 255.0, 1.5, 0.3, 1000.0, 0.75, 1e-3] {
            // Dividends whose quotients fit the type (the range check refuses others).
            let limit = 2f64.powi(bits - 1 - frac) * 0.999 * f64::min(1.0, c.abs());
            let mut x = rng.vec(300, -limit, limit);
            x.extend([limit, -limit, 0.0, 2f64.powi(-frac), -(2f64.powi(-frac))]);
            let n = x.len();
            for exact_fixed_point in [false, true] {
                let out = run_with(
                    &format!("let x: {ty}[{n}] = input(a); let q = x / {c:?}; reveal q to all;"),
                    &[("x", x.clone())],
                    Options {
                        exact_fixed_point,
                        ..Options::default()
                    },
                    5,
                );
                let unit = 2f64.powi(-frac);
                for (i, &v) in x.iter().enumerate() {
                    let fx = (v / unit).round() * unit;
                    let want = fx / c;
                    // 0.3 and 1e-3 are no multiples of a power of two within 40 bits: they
                    // are rounded to 40 significant bits (fewer for wide types).
                    let approximate = [0.3, 1e-3].contains(&c);
                    let digits = 40.min(60 - (2 * bits - 64).max(0)) - 2;
                    let bound = 1.0
                        + 1.0 / 1024.0
                        + if approximate {
                            want.abs() / unit * 2f64.powi(-digits)
                        } else {
                            0.0
                        };
                    let err = (out["q"][i] - want).abs() / unit;
                    assert!(
                        err < bound,
                        "{ty} {fx} / {c}: {} is {err} units off",
                        out["q"][i]
                    );
                }
            }
        }
    }
}

#[test]
fn the_clear_backend_stops_at_the_first_result_outside_its_type() {
    // A variance of salaries in sfix<16, 40> (which holds ±8388608): the squares overflow.
    let text = "party a = 0;\nfn main() {\n    let s: sfix<16, 40>[4] = input(a);\n    let mean = sum(s) / 4;\n    let d = s - mean;\n    let var = sum(d * d) / 4;\n    reveal var to a;\n}\n";
    let c = compile_text(text, Options::default());
    let ins = inputs(
        &c.program,
        &[("s", vec![50_000.0, 90_000.0, 66_000.0, 70_000.0])],
    );
    let e = run_clear_with(&c.program, &ins, 1, true, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("test.mpc:6:19: overflow: the result"), "{e}");
    assert!(
        e.contains("outside the range of fix<16, 40> (±8388608)") && e.contains("sfix<16, 46>"),
        "{e}"
    );
    // Without the check the run goes on (and its answer is wrong, as the check said).
    assert!(run_clear_with(&c.program, &ins, 1, false, &mut |_| {}).is_ok());
}

#[test]
fn comparisons_are_exact_at_the_edges() {
    let mut x = vec![0.0, 1.0, -1.0, i32::MAX as f64, i32::MIN as f64, 7.0, -7.0];
    let mut y = vec![0.0, -1.0, 1.0, i32::MIN as f64, i32::MAX as f64, 7.0, 8.0];
    let mut rng = TestRng(12);
    x.extend(rng.ints(50, i32::MIN as i64, i32::MAX as i64));
    y.extend(rng.ints(50, i32::MIN as i64, i32::MAX as i64));
    let n = x.len();
    let out = run(
        &format!(
            "let x: sint<32>[{n}] = input(a); let y: sint<32>[{n}] = input(b);
             let lt = x < y; let le = x <= y; let gt = x > y; let ge = x >= y; let eq = x == y; let ne = x != y;
             reveal lt to all; reveal le to all; reveal gt to all; reveal ge to all; reveal eq to all; reveal ne to all;"
        ),
        &[("x", x.clone()), ("y", y.clone())],
    );
    let check = |name: &str, f: fn(f64, f64) -> bool| {
        let expected: Vec<f64> = (0..n).map(|i| f(x[i], y[i]) as i32 as f64).collect();
        assert_eq!(out[name], expected, "{name}");
    };
    check("lt", |a, b| a < b);
    check("le", |a, b| a <= b);
    check("gt", |a, b| a > b);
    check("ge", |a, b| a >= b);
    check("eq", |a, b| a == b);
    check("ne", |a, b| a != b);
}

#[test]
fn select_relu_max_min_clamp_and_bit_logic() {
    let x = vec![-3.0, -1.0, 0.0, 2.0, 5.0];
    let y = vec![1.0, -2.0, 0.0, 3.0, 4.0];
    let out = run(
        "let x: sint<16>[5] = input(a); let y: sint<16>[5] = input(b);
         let s = select(x > y, x, y); let r = relu(x); let m = max(x, y); let n = min(x, y); let c = clamp(x, -1, 3);
         let both = (x > 0) & (y > 0); let either = (x > 0) | (y > 0); let one = (x > 0) ^ (y > 0); let neither = !either;
         reveal s to all; reveal r to all; reveal m to all; reveal n to all; reveal c to all;
         reveal both to all; reveal either to all; reveal one to all; reveal neither to all;",
        &[("x", x.clone()), ("y", y.clone())],
    );
    let zip = |f: fn(f64, f64) -> f64| (0..5).map(|i| f(x[i], y[i])).collect::<Vec<_>>();
    assert_eq!(out["s"], zip(f64::max));
    assert_eq!(out["m"], zip(f64::max));
    assert_eq!(out["n"], zip(f64::min));
    assert_eq!(out["r"], x.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
    assert_eq!(
        out["c"],
        x.iter().map(|v| v.clamp(-1.0, 3.0)).collect::<Vec<_>>()
    );
    assert_eq!(out["both"], zip(|a, b| (a > 0.0 && b > 0.0) as i32 as f64));
    assert_eq!(
        out["either"],
        zip(|a, b| (a > 0.0 || b > 0.0) as i32 as f64)
    );
    assert_eq!(
        out["one"],
        zip(|a, b| ((a > 0.0) != (b > 0.0)) as i32 as f64)
    );
    assert_eq!(
        out["neither"],
        zip(|a, b| !(a > 0.0 || b > 0.0) as i32 as f64)
    );
}

#[test]
fn reductions_sum_max_argmax() {
    let x = vec![3.0, -1.0, 7.0, 2.0, 9.0, -4.0];
    let out = run(
        "let x: sint<32>[2, 3] = input(a);
         let total = sum(x); let rows = sum(x, axis = 1); let cols = sum(x, axis = 0);
         let top = max(x); let row_max = max(x, axis = 1); let best = argmax(x); let best_col = argmax(x, axis = 0);
         reveal total to all; reveal rows to all; reveal cols to all; reveal top to all; reveal row_max to all;
         reveal best to all; reveal best_col to all;",
        &[("x", x)],
    );
    assert_eq!(out["total"], vec![16.0]);
    assert_eq!(out["rows"], vec![9.0, 7.0]);
    assert_eq!(out["cols"], vec![5.0, 8.0, 3.0]);
    assert_eq!(out["top"], vec![9.0]);
    assert_eq!(out["row_max"], vec![7.0, 9.0]);
    assert_eq!(out["best"], vec![2.0, 1.0]);
    assert_eq!(out["best_col"], vec![0.0, 1.0, 0.0]);
}

#[test]
fn reshape_transpose_slice_concat() {
    let x: Vec<f64> = (0..24).map(|v| v as f64).collect();
    let out = run(
        "let x: sint<32>[2, 3, 4] = input(a);
         let r = reshape(x, [6, 4]); let t = transpose(x, [2, 0, 1]); let s = x[1, 1..3, ..2];
         let row = x[0, 2]; let c = concat([x[0], x[1]], axis = 1); let rt = transpose(r);
         reveal r to all; reveal t to all; reveal s to all; reveal row to all; reveal c to all; reveal rt to all;",
        &[("x", x.clone())],
    );
    assert_eq!(out["r"], x);
    let t: Vec<f64> = (0..4)
        .flat_map(|k| (0..2).flat_map(move |i| (0..3).map(move |j| (i * 12 + j * 4 + k) as f64)))
        .collect();
    assert_eq!(out["t"], t);
    assert_eq!(out["s"], vec![16.0, 17.0, 20.0, 21.0]);
    assert_eq!(out["row"], vec![8.0, 9.0, 10.0, 11.0]);
    let c: Vec<f64> = (0..3)
        .flat_map(|j| {
            (0..4)
                .map(move |k| (j * 4 + k) as f64)
                .chain((0..4).map(move |k| (12 + j * 4 + k) as f64))
        })
        .collect();
    assert_eq!(out["c"], c);
    let rt: Vec<f64> = (0..4)
        .flat_map(|k| (0..6).map(move |i| (i * 4 + k) as f64))
        .collect();
    assert_eq!(out["rt"], rt);
}

fn a4(shape: [usize; 4], v: &[f64]) -> Array4<f64> {
    Array4::from_shape_vec(shape, v.to_vec()).unwrap()
}

#[test]
fn convolutions_match_the_reference() {
    let mut rng = TestRng(13);
    let x = rng.ints(2 * 7 * 6 * 3, -5, 5);
    let w = rng.ints(3 * 3 * 3 * 4, -5, 5);
    let dw = rng.ints(3 * 3 * 3 * 2, -5, 5);
    let out = run(
        "let x: sint<32>[2, 7, 6, 3] = input(a); let w: sint<32>[3, 3, 3, 4] = input(b); let dw: sint<32>[3, 3, 3, 2] = input(b);
         let valid = conv2d(x, w); let same2 = conv2d(x, w, stride = 2, padding = same);
         let depth = depthwise_conv2d(x, dw, padding = same); let depth2 = depthwise_conv2d(x, dw, stride = [2, 2]);
         reveal valid to all; reveal same2 to all; reveal depth to all; reveal depth2 to all;",
        &[("x", x.clone()), ("w", w.clone()), ("dw", dw.clone())],
    );
    let (xa, wa, dwa) = (
        a4([2, 7, 6, 3], &x),
        a4([3, 3, 3, 4], &w),
        a4([3, 3, 3, 2], &dw),
    );
    let flat = |a: Array4<f64>| a.iter().copied().collect::<Vec<_>>();
    assert_eq!(
        out["valid"],
        flat(reference::conv2d(&xa, &wa, 1, false, false))
    );
    assert_eq!(
        out["same2"],
        flat(reference::conv2d(&xa, &wa, 2, true, false))
    );
    assert_eq!(
        out["depth"],
        flat(reference::conv2d(&xa, &dwa, 1, true, true))
    );
    assert_eq!(
        out["depth2"],
        flat(reference::conv2d(&xa, &dwa, 2, false, true))
    );
}

#[test]
fn fixed_point_convolution_is_truncated_once() {
    let mut rng = TestRng(14);
    let x = rng.vec(5 * 5 * 2, -2.0, 2.0);
    let w = rng.vec(3 * 3 * 2 * 3, -1.0, 1.0);
    let out = run(
        "let x: sfix<16>[1, 5, 5, 2] = input(a); let w: sfix<16>[3, 3, 2, 3] = input(b); let y = conv2d(x, w, padding = same); reveal y to all;",
        &[("x", x.clone()), ("w", w.clone())],
    );
    let expected = reference::conv2d(&a4([1, 5, 5, 2], &x), &a4([3, 3, 2, 3], &w), 1, true, false);
    for (g, e) in out["y"].iter().zip(expected.iter()) {
        assert!((g - e).abs() < 20.0 / 65536.0, "{g} vs {e}");
    }
}

#[test]
fn pooling_matches_the_reference() {
    let mut rng = TestRng(15);
    let x = rng.ints(5 * 5 * 2, -50, 50);
    let out = run(
        "let x: sint<32>[1, 5, 5, 2] = input(a); let f = x as sfix<16>;
         let mx = max_pool(x, 2); let mxs = max_pool(x, 3, stride = 2, padding = same); let sm = sum_pool(x, 2, stride = 1);
         let av = avg_pool(f, 2); let avs = avg_pool(f, 3, stride = 2, padding = same);
         reveal mx to all; reveal mxs to all; reveal sm to all; reveal av to all; reveal avs to all;",
        &[("x", x.clone())],
    );
    let xa = a4([1, 5, 5, 2], &x);
    let flat = |a: Array4<f64>| a.iter().copied().collect::<Vec<_>>();
    assert_eq!(out["mx"], flat(reference::pool(&xa, 2, 2, false, true)));
    assert_eq!(out["mxs"], flat(reference::pool(&xa, 3, 2, true, true)));
    let sums = flat(reference::pool(&xa, 2, 1, false, false))
        .iter()
        .map(|v| v * 4.0)
        .collect::<Vec<_>>();
    assert_eq!(out["sm"], sums);
    for (name, window, same) in [("av", 2, false), ("avs", 3, true)] {
        let expected = reference::pool(&xa, window, if same { 2 } else { window }, same, false);
        for (g, e) in out[name].iter().zip(expected.iter()) {
            assert!((g - e).abs() < 2.0 / 65536.0 * 50.0, "{name}: {g} vs {e}");
        }
    }
}

#[test]
fn truncation_shifts_and_casts() {
    let x = vec![-7.0, -1.0, 0.0, 5.0, 1000.0];
    let out = run(
        "let x: sint<32>[5] = input(a);
         let floor4 = x >> 2; let times8 = x << 3; let t = trunc(x, 1);
         let f = x as sfix<16>; let half = f / 2; let back = half as sint<32>; let finer = f as sfix<20, 40>;
         reveal floor4 to all; reveal times8 to all; reveal t to all; reveal half to all; reveal back to all; reveal finer to all;",
        &[("x", x.clone())],
    );
    assert_eq!(
        out["floor4"],
        x.iter().map(|v| (v / 4.0).floor()).collect::<Vec<_>>()
    );
    assert_eq!(out["times8"], x.iter().map(|v| v * 8.0).collect::<Vec<_>>());
    assert_eq!(
        out["t"],
        x.iter().map(|v| (v / 2.0).floor()).collect::<Vec<_>>()
    );
    for (i, v) in x.iter().enumerate() {
        assert!((out["half"][i] - v / 2.0).abs() <= 1.0 / 65536.0);
        assert!(
            (out["back"][i] - (v / 2.0).floor()).abs() <= 1.0,
            "{} vs {}",
            out["back"][i],
            v / 2.0
        );
    }
    assert_eq!(out["finer"], x);
}

#[test]
fn probabilistic_truncation_is_unbiased_and_off_by_at_most_one() {
    // 3 / 2 = 1.5: each element becomes 1 or 2, each with probability one half.
    let n = 20000;
    let out = run_with(
        &format!("let x: sint<32>[{n}] = input(a); let y = trunc_pr(x, 1); reveal y to all;"),
        &[("x", vec![3.0; n])],
        Options::default(),
        21,
    );
    assert!(out["y"].iter().all(|&v| v == 1.0 || v == 2.0));
    let mean = out["y"].iter().sum::<f64>() / n as f64;
    assert!((mean - 1.5).abs() < 0.02, "mean {mean}");
    // Negative values round towards -infinity or up, never further.
    let out = run_with(
        "let x: sint<32>[4] = input(a); let y = trunc_pr(x, 4); reveal y to all;",
        &[("x", vec![-17.0, -16.0, 15.0, 0.0])],
        Options::default(),
        22,
    );
    for (g, e) in out["y"]
        .iter()
        .zip([-17.0f64 / 16.0, -1.0, 15.0 / 16.0, 0.0])
    {
        assert!(*g == e.floor() || *g == e.ceil(), "{g} vs {e}");
    }
}

#[test]
fn loops_carry_values_and_slice_at_run_time() {
    let x: Vec<f64> = (0..40).map(|v| v as f64).collect();
    let out = run(
        "let x: sint<32>[40] = input(a);
         let mut acc: sint<32>[4] = fill(0, [4]);
         let mut evens: sint<32> = 0;
         for i in 0..10 {
             acc = acc + x[i * 4; 4];
             if i % 2 == 0 { evens = evens + x[i]; }
         }
         reveal acc to all; reveal evens to all;",
        &[("x", x)],
    );
    let acc: Vec<f64> = (0..4)
        .map(|k| (0..10).map(|i| (i * 4 + k) as f64).sum())
        .collect();
    assert_eq!(out["acc"], acc);
    assert_eq!(out["evens"], vec![0.0 + 2.0 + 4.0 + 6.0 + 8.0]);
}

#[test]
fn open_makes_a_value_public_for_everyone() {
    let out = run(
        "let x: sint<32> = input(a); let y: sint<32> = input(b); let s = open(x + y); let twice = s * 2; reveal twice to a;",
        &[("x", vec![20.0]), ("y", vec![22.0])],
    );
    assert_eq!(out["twice"], vec![84.0]);
}

#[test]
fn generic_functions_instantiate_per_shape() {
    let text = "party a = 0;
        fn double<N>(x: sint<32>[N]) -> sint<32>[N] { return x + x; }
        fn scale(x, k) { return x * k; }
        fn main() {
            let x: sint<32>[3] = input(a);
            let y: sint<32>[5] = input(a);
            let p = double(x); let q = double(y); let r = scale(y, 3);
            reveal p to a; reveal q to a; reveal r to a;
        }";
    let c = compile_text(text, Options::default());
    // Two instances of double, one of scale.
    assert_eq!(
        c.module
            .functions
            .values()
            .filter(|f| f.name.starts_with("double["))
            .count(),
        2
    );
    let out = run_clear(
        &c.program,
        &inputs(
            &c.program,
            &[
                ("x", vec![1.0, 2.0, 3.0]),
                ("y", vec![1.0, 2.0, 3.0, 4.0, 5.0]),
            ],
        ),
        1,
    );
    assert_eq!(output(&c.program, &out, "p"), vec![2.0, 4.0, 6.0]);
    assert_eq!(
        output(&c.program, &out, "q"),
        vec![2.0, 4.0, 6.0, 8.0, 10.0]
    );
    assert_eq!(
        output(&c.program, &out, "r"),
        vec![3.0, 6.0, 9.0, 12.0, 15.0]
    );
}

/// Functions return several values; callers destructure them with `let (..)`
/// or assign them to `let mut` variables (also as a loop's carried values), and
/// `return f(x);` passes all of f's results on.
#[test]
fn functions_return_several_values_that_callers_destructure() {
    let out = run(
        "let x: sint<32>[3] = input(a);
         let (s, d, mut p) = sum_diff_product(x, x * 2);
         let mut acc: sint<32>[3] = fill(0, [3]);
         let mut steps: sint<32>[3] = fill(0, [3]);
         for i in 0..4 {
             (acc, steps) = step(acc, steps, x);
         }
         let (q, r) = forwarded(x);
         p = p + 1;
         reveal s to a; reveal d to a; reveal p to a; reveal acc to a; reveal steps to a; reveal q to a; reveal r to a;
     }
     fn sum_diff_product(a: sint<32>[3], b: sint<32>[3]) -> (sint<32>[3], sint<32>[3], sint<32>[3]) {
         return (a + b, a - b, a * b);
     }
     fn step(acc, steps, x) { return (acc + x, steps + 1); }
     fn forwarded(x) { return step(x, x, x);",
        &[("x", vec![1.0, -2.0, 5.0])],
    );
    assert_eq!(out["s"], vec![3.0, -6.0, 15.0]);
    assert_eq!(out["d"], vec![-1.0, 2.0, -5.0]);
    assert_eq!(out["p"], vec![3.0, 9.0, 51.0]);
    assert_eq!(out["acc"], vec![4.0, -8.0, 20.0]);
    assert_eq!(out["steps"], vec![4.0, 4.0, 4.0]);
    assert_eq!(out["q"], vec![2.0, -4.0, 10.0]);
    assert_eq!(out["r"], vec![2.0, -1.0, 6.0]);
}

/// Inside loops, `input` reads the next row of its file and `reveal` writes
/// the next row of its output: leading axes of the loops' trip counts, nested
/// loops giving several, a loop that never runs an empty output.
const STREAMED: &str = "party a = 0;
party b = 1;
fn main() {
    let w: sint<32>[3] = input(a);
    let mut acc: sint<32>[3] = fill(0, [3]);
    for i in 0..4 {
        let xs: sint<32>[3] = input(b);
        acc = acc + xs * w;
        reveal acc to a;
        for j in 0..2 {
            let scaled = acc * j + i;
            reveal scaled to b;
        }
    }
    for k in 0..0 {
        let never = acc;
        reveal never to all;
    }
    reveal acc to b;
}";

#[test]
fn inputs_and_outputs_inside_loops_are_read_and_written_a_row_per_iteration() {
    let c = compile_text(STREAMED, Options::default());
    let types: Vec<(&str, Vec<usize>)> = c
        .program
        .inputs
        .iter()
        .map(|d| (d.name.as_str(), d.ty.shape.clone()))
        .chain(
            c.program
                .outputs
                .iter()
                .map(|d| (d.name.as_str(), d.ty.shape.clone())),
        )
        .collect();
    assert_eq!(
        types,
        vec![
            ("w", vec![3]),
            ("xs", vec![4, 3]),
            ("acc", vec![4, 3]),
            ("scaled", vec![4, 2, 3]),
            ("never", vec![0, 3]),
            ("acc", vec![3]),
        ]
    );
    let (w, xs) = (
        vec![1.0, -2.0, 3.0],
        (0..12).map(|v| v as f64 - 5.0).collect::<Vec<_>>(),
    );
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("w", w.clone()), ("xs", xs.clone())]),
        1,
    );
    let mut acc = [0.0; 3];
    let (mut rows, mut scaled) = (Vec::new(), Vec::new());
    for i in 0..4 {
        for k in 0..3 {
            acc[k] += xs[i * 3 + k] * w[k];
        }
        rows.extend(acc);
        for j in 0..2 {
            scaled.extend(acc.iter().map(|a| a * j as f64 + i as f64));
        }
    }
    let got = |k: usize| output(&c.program, &out, &c.program.outputs[k].name);
    assert_eq!(output(&c.program, &out, "acc"), rows);
    assert_eq!(got(1), scaled);
    assert_eq!(got(2), Vec::<f64>::new());
    let last = mpcvm::io::decode_f64(
        out.outputs[3].as_ref().unwrap(),
        c.program.outputs[3].ty.elem,
    );
    assert_eq!(last, acc.to_vec());
}

/// A `let` bound to a constant (here computed from a function's constant
/// argument) serves as a dimension or a bit length.
#[test]
fn let_bound_constants_are_dimensions_and_bit_lengths() {
    let text = "party a = 0;
        fn widen(x, k) { let n = k + 1; let bits = 2 * k; let pad: sint<32>[n] = fill(7, [n]); return concat([x, pad], axis = 0) as sint<bits>; }
        fn main() { let x: sint<32>[2] = input(a); let y = widen(x, 20); reveal y to a; }";
    let c = compile_text(text, Options::default());
    let y = &c.program.outputs[0].ty;
    assert_eq!((y.shape.clone(), y.elem.bits()), (vec![23], 40));
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("x", vec![1.0, -2.0])]),
        1,
    );
    assert_eq!(output(&c.program, &out, "y")[..3], [1.0, -2.0, 7.0]);
}

/// `min`, `max` and `clamp` of constants fold at compile time (`min` once
/// folded to the larger constant).
#[test]
fn min_max_and_clamp_of_constants_fold_correctly() {
    let out = run(
        "let x: sint<32>[1] = input(a); let y = x + min(3, 5) * 1000 + max(3, 5) * 100 + clamp(300, 0, 255) + min(7, 2); reveal y to all;",
        &[("x", vec![0.0])],
    );
    assert_eq!(out["y"], vec![3000.0 + 500.0 + 255.0 + 2.0]);
}

#[test]
fn an_output_keeps_its_variables_name_at_every_party_that_receives_it() {
    let c = compile_text(
        "party a = 0;\nparty b = 1;\nfn main() {\n    let s: sint<32> = input(a);\n    reveal s to a;\n    reveal s to b;\n    reveal s + 1 to a;\n    reveal s + 2 to b;\n    reveal s + 3 to a;\n}\n",
        Options::default(),
    );
    let names: Vec<(&str, u64)> = c
        .program
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.to.0))
        .collect();
    assert_eq!(
        names,
        vec![("s", 1), ("s", 2), ("out", 1), ("out", 2), ("out_2", 1)]
    );
}

/// A product divided by a power of two truncates once, by both amounts: within
/// one unit of the true value, one truncation in the manifest.
#[test]
fn a_product_divided_by_a_power_of_two_truncates_once() {
    let c = compile_text(
        "party a = 0;\nfn main() {\n    let x: sfix<16>[64] = input(a);\n    let y: sfix<16>[64] = input(a);\n    let q = x * y / 8;\n    reveal q to a;\n}\n",
        Options::default(),
    );
    let truncations: Vec<_> = c
        .program
        .manifest
        .iter()
        .filter(|m| {
            matches!(
                m.primitive,
                mpcvm::bytecode::Primitive::TruncPr | mpcvm::bytecode::Primitive::TruncExact
            )
        })
        .collect();
    assert_eq!(truncations.len(), 1, "{:?}", c.program.manifest);
    assert_eq!(
        truncations[0].params[0], 19,
        "one truncation by 16 + 3 bits"
    );
    let mut rng = TestRng(44);
    let (x, y) = (rng.vec(64, -100.0, 100.0), rng.vec(64, -100.0, 100.0));
    let q = |v: f64| (v * 65536.0).round() / 65536.0;
    let (x, y): (Vec<f64>, Vec<f64>) = (
        x.into_iter().map(q).collect(),
        y.into_iter().map(q).collect(),
    );
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("x", x.clone()), ("y", y.clone())]),
        3,
    );
    for (i, g) in output(&c.program, &out, "q").iter().enumerate() {
        let want = x[i] * y[i] / 8.0;
        assert!((g - want).abs() < 1.0 / 65536.0, "{g} against {want}");
    }
}

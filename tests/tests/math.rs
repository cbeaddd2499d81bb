//! The elementary functions of the prelude (stdlib/math.mpc) against f64 over
//! their documented domains, under clear (a dense grid) and rep3 (a sample):
//! every result within the documented bound, `err <= E 2^-F max(1, |f(x)|)`,
//! with E per function as docs/LANGUAGE.md states it. With
//! `MATH_REPORT=1 cargo test --test math -- --nocapture` each test prints the
//! largest E it saw and the function's rep3 rounds, the figures in the docs.

use mpc_tests::*;
use mpcc::elaborate::Options;

const F: i32 = 16;

/// One function under test: its name in the language, the f64 reference, the
/// domain for sfix<16> (inputs are exact multiples of 2^-16), and the bound E.
struct Case {
    call: &'static str,
    reference: fn(f64, f64) -> f64,
    domain: (f64, f64),
    /// For `/`: the divisor's domain (the dividend is drawn from `domain`).
    divisor: Option<(f64, f64)>,
    bound: f64,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            call: "exp(x)",
            reference: |x, _| x.exp(),
            domain: (-16.0, 10.39),
            divisor: None,
            bound: 3.0,
        },
        Case {
            call: "log(x)",
            reference: |x, _| x.ln(),
            domain: (1.0 / 65536.0, 32767.0),
            divisor: None,
            bound: 3.0,
        },
        Case {
            call: "sqrt(x)",
            reference: |x, _| x.sqrt(),
            domain: (0.0, 32767.0),
            divisor: None,
            bound: 5.0,
        },
        Case {
            call: "rsqrt(x)",
            reference: |x, _| 1.0 / x.sqrt(),
            domain: (1.0 / 65536.0, 32767.0),
            divisor: None,
            bound: 5.0,
        },
        Case {
            call: "sigmoid(x)",
            reference: |x, _| 1.0 / (1.0 + (-x).exp()),
            domain: (-32767.0, 32767.0),
            divisor: None,
            bound: 3.0,
        },
        Case {
            call: "tanh(x)",
            reference: |x, _| x.tanh(),
            domain: (-16383.0, 16383.0),
            divisor: None,
            bound: 6.0,
        },
        Case {
            call: "x / y",
            reference: |x, y| x / y,
            domain: (-1000.0, 1000.0),
            divisor: Some((0.05, 1000.0)),
            bound: 4.0,
        },
    ]
}

/// Values over `(lo, hi)` as multiples of 2^-16: denser near zero (a
/// geometric spread of magnitudes, with both signs where the domain has them).
fn grid(lo: f64, hi: f64, n: usize, rng: &mut TestRng) -> Vec<f64> {
    let q = |v: f64| (v * 65536.0).round() / 65536.0;
    (0..n)
        .map(|i| {
            let v = match i % 3 {
                0 => rng.uniform(lo, hi),
                _ => {
                    let (a, b) = (lo.abs().max(1.0 / 65536.0), hi.abs().max(1.0 / 65536.0));
                    let magnitude =
                        (rng.uniform(-16.0 * std::f64::consts::LN_2, a.max(b).ln())).exp();
                    let negative = lo < 0.0 && (hi <= 0.0 || rng.next_u64().is_multiple_of(2));
                    if negative {
                        -magnitude
                    } else {
                        magnitude
                    }
                }
            };
            q(v.clamp(lo, hi))
        })
        .collect()
}

/// Compiles the case as a program of `n` values, runs it, and returns the
/// largest E and the rep3 rounds of the program (less those of its input and output).
fn measure(case: &Case, n: usize, rep3: bool, rng: &mut TestRng) -> (f64, u64) {
    let text = format!(
        "party a = 0;\nfn main() {{\n    let x: sfix<16>[{n}] = input(a);\n    let y: sfix<16>[{n}] = input(a);\n    let r = {};\n    reveal r to a;\n}}\n",
        case.call
    );
    let c = compile_text(&text, Options::default());
    let (lo, hi) = case.domain;
    let x = grid(lo, hi, n, rng);
    let y = match case.divisor {
        Some((a, b)) => grid(a, b, n, rng)
            .into_iter()
            .map(|v| {
                if rng.next_u64().is_multiple_of(2) {
                    -v
                } else {
                    v
                }
            })
            .collect(),
        None => vec![0.0; n],
    };
    let ins = inputs(&c.program, &[("x", x.clone()), ("y", y.clone())]);
    let got = if rep3 {
        let out = run_rep3(&c.program, &ins);
        mpcvm::io::decode_f64(
            out[0].outputs[0].as_ref().unwrap(),
            c.program.outputs[0].ty.elem,
        )
    } else {
        output(&c.program, &run_clear(&c.program, &ins, 3), "r")
    };
    let ulp = 2f64.powi(-F);
    let mut worst: f64 = 0.0;
    for i in 0..n {
        let want = (case.reference)(x[i], y[i]);
        if case.divisor.is_some() && want.abs() >= 32767.0 {
            continue; // outside the type
        }
        let e = (got[i] - want).abs() / (ulp * want.abs().max(1.0));
        assert!(
            e <= case.bound,
            "{}: x = {}, y = {}: {} against {want} ({e:.2} units, bound {})",
            case.call,
            x[i],
            y[i],
            got[i],
            case.bound
        );
        worst = worst.max(e);
    }
    let io = {
        let bare = compile_text(
            &format!("party a = 0;\nfn main() {{\n    let x: sfix<16>[{n}] = input(a);\n    let y: sfix<16>[{n}] = input(a);\n    let r = x + y;\n    reveal r to a;\n}}\n"),
            Options::default(),
        );
        mpcvm::backend::rep3::rounds(&bare.program)
    };
    (worst, mpcvm::backend::rep3::rounds(&c.program) - io)
}

fn report(what: &str, worst: f64, rounds: u64) {
    if std::env::var_os("MATH_REPORT").is_some() {
        println!("{what}: largest error {worst:.2} units, {rounds} rep3 rounds");
    }
}

#[test]
fn every_function_is_within_its_bound_over_its_domain_under_clear() {
    let mut rng = TestRng(91);
    for case in cases() {
        let (worst, rounds) = measure(&case, 20_000, false, &mut rng);
        report(case.call, worst, rounds);
    }
}

#[test]
fn every_function_is_within_its_bound_under_rep3() {
    let mut rng = TestRng(92);
    for case in cases() {
        let (worst, rounds) = measure(&case, 300, true, &mut rng);
        report(&format!("{} (rep3)", case.call), worst, rounds);
    }
}

/// softmax along an axis of any rank, against f64: each probability within
/// the bound, and rows of a constant sum.
#[test]
fn softmax_along_any_axis_matches_f64() {
    let mut rng = TestRng(93);
    let (a, b, c) = (3, 4, 10);
    let x: Vec<f64> = (0..a * b * c)
        .map(|_| (rng.uniform(-12.0, 12.0) * 65536.0).round() / 65536.0)
        .collect();
    for axis in 0..3 {
        let text = format!(
            "party a = 0;\nfn main() {{\n    let x: sfix<16>[{a}, {b}, {c}] = input(a);\n    let p = softmax(x, axis = {axis});\n    reveal p to a;\n}}\n"
        );
        let prog = compile_text(&text, Options::default());
        let got = output(
            &prog.program,
            &run_clear(
                &prog.program,
                &inputs(&prog.program, &[("x", x.clone())]),
                1,
            ),
            "p",
        );
        let dims = [a, b, c];
        let stride = |k: usize| dims[k + 1..].iter().product::<usize>();
        for (i, g) in got.iter().enumerate() {
            let at = (i / stride(axis)) % dims[axis];
            let base = i - at * stride(axis);
            let row: Vec<f64> = (0..dims[axis])
                .map(|k| x[base + k * stride(axis)])
                .collect();
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let total: f64 = row.iter().map(|v| (v - max).exp()).sum();
            let want = (x[i] - max).exp() / total;
            assert!(
                (g - want).abs() <= 6.0 * 2f64.powi(-F),
                "axis {axis}, element {i}: {g} against {want}"
            );
        }
    }
}

/// poly computes its powers in ceil(log2 d) rounds of products and sums the
/// terms before one truncation: within a unit of f64, in log depth.
#[test]
fn poly_is_exact_to_a_unit_in_logarithmic_depth() {
    let mut rng = TestRng(94);
    let coeffs = [
        0.5, -1.25, 0.75, 0.125, -0.0625, 0.03125, 0.01, -0.005, 0.001,
    ];
    let x: Vec<f64> = (0..1000)
        .map(|_| (rng.uniform(-2.0, 2.0) * 65536.0).round() / 65536.0)
        .collect();
    let mut depths = Vec::new();
    // Degree 0 is the constant, as a tensor of x's shape and kind.
    let c = compile_text("party a = 0;\nfn main() {\n    let x: sfix<16>[3] = input(a);\n    let p = poly(x, [2.5]);\n    reveal p to a;\n}\n", Options::default());
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("x", vec![1.0, 2.0, 3.0])]),
        2,
    );
    assert_eq!(output(&c.program, &out, "p"), vec![2.5; 3]);
    for degree in [1usize, 2, 3, 4, 5, 8] {
        let list = coeffs[..=degree]
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!("party a = 0;\nfn main() {{\n    let x: sfix<16>[1000] = input(a);\n    let p = poly(x, [{list}]);\n    reveal p to a;\n}}\n");
        let c = compile_text(&text, Options::default());
        let got = output(
            &c.program,
            &run_clear(&c.program, &inputs(&c.program, &[("x", x.clone())]), 2),
            "p",
        );
        for (g, v) in got.iter().zip(&x) {
            let want: f64 = coeffs[..=degree]
                .iter()
                .enumerate()
                .map(|(k, c)| c * v.powi(k as i32))
                .sum();
            // Each power is off by at most a unit per product before it.
            assert!(
                (g - want).abs() <= 2.0 * (degree as f64) * 2f64.powi(-F),
                "degree {degree}, x = {v}: {g} against {want}"
            );
        }
        depths.push(mpcvm::backend::rep3::rounds(&c.program));
    }
    // Beyond degree 1 (no product), each level of products costs the same rounds.
    let level = depths[1] - depths[0];
    let levels: Vec<u64> = depths.iter().map(|d| (d - depths[0]) / level).collect();
    assert_eq!(levels, vec![0, 1, 2, 2, 3, 3], "rounds: {depths:?}");
    assert!(
        depths.iter().all(|d| (d - depths[0]) % level == 0),
        "rounds: {depths:?}"
    );
}

/// On public values the functions compute publicly (locally, no rounds), with
/// the results of the secret computation.
#[test]
fn on_public_values_the_functions_cost_no_rounds_and_agree_with_the_secret_ones() {
    let mut rng = TestRng(95);
    let x = grid(0.01, 9.0, 300, &mut rng);
    let y = grid(-8.0, 8.0, 300, &mut rng);
    let body = |v: &str, w: &str| {
        format!("let e = exp({v}); let l = log({v}); let s = sqrt({v}); let r = rsqrt({v}); let g = sigmoid({w}); let t = tanh({w}); let q = {w} / {v}; let m = softmax(reshape({w}, [30, 10]));
        reveal e to a; reveal l to a; reveal s to a; reveal r to a; reveal g to a; reveal t to a; reveal q to a; reveal m to a;")
    };
    let program = |public: bool| {
        let (v, w) = if public { ("xp", "yp") } else { ("x", "y") };
        format!(
            "party a = 0;\nfn main() {{\n    let x: sfix<16>[300] = input(a);\n    let y: sfix<16>[300] = input(a);\n    let xp = open(x);\n    let yp = open(y);\n    {}\n}}\n",
            body(v, w)
        )
    };
    let secret = compile_text(&program(false), Options::default());
    let public = compile_text(&program(true), Options::default());
    // The public program's rounds: its inputs, the two openings and the outputs.
    let bare = compile_text(
        "party a = 0;\nfn main() {\n    let x: sfix<16>[300] = input(a);\n    let y: sfix<16>[300] = input(a);\n    let xp = open(x);\n    let yp = open(y);\n    reveal xp to a; reveal yp to a;\n}\n",
        Options::default(),
    );
    assert_eq!(
        mpcvm::backend::rep3::rounds(&public.program),
        mpcvm::backend::rep3::rounds(&bare.program)
    );
    assert!(public.program.manifest.iter().all(|m| !matches!(
        m.primitive,
        mpcvm::bytecode::Primitive::Mul
            | mpcvm::bytecode::Primitive::LtZ
            | mpcvm::bytecode::Primitive::TruncPr
    )));
    let values = [("x", x), ("y", y)];
    let a = run_clear(&secret.program, &inputs(&secret.program, &values), 4);
    let b = run_clear(&public.program, &inputs(&public.program, &values), 4);
    for (i, decl) in secret.program.outputs.iter().enumerate() {
        let (s, p) = (
            output(&secret.program, &a, &decl.name),
            output(&public.program, &b, &decl.name),
        );
        for (u, v) in s.iter().zip(&p) {
            assert!(
                (u - v).abs() <= 8.0 * 2f64.powi(-F) * u.abs().max(1.0),
                "{}: {u} secret, {v} public",
                decl.name
            );
        }
        assert!(!public.program.outputs[i].ty.secret, "{}", decl.name);
    }
}

//! Every example program under the clear backend, against plain Rust arithmetic.

use mpc_tests::reference::{self, argmax, margin};
use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::types::PartySet;
use ndarray::{Array1, Array2, Array4};

#[test]
fn millionaires_compares_fortunes() {
    let c = compile_example("millionaires", Options::default());
    let mut cases = vec![
        (0, 0),
        (5, 5),
        (-3, 2),
        (2, -3),
        (i32::MAX as i64, i32::MIN as i64),
        (i32::MIN as i64, i32::MAX as i64),
        (1, 0),
        (0, -1),
    ];
    let mut rng = TestRng(1);
    cases.extend((0..50).map(|_| {
        (
            rng.int(i32::MIN as i64, i32::MAX as i64),
            rng.int(i32::MIN as i64, i32::MAX as i64),
        )
    }));
    for (a, b) in cases {
        let out = run_clear(
            &c.program,
            &inputs(&c.program, &[("a", vec![a as f64]), ("b", vec![b as f64])]),
            1,
        );
        assert_eq!(
            output(&c.program, &out, "alice_richer"),
            vec![(a > b) as i64 as f64],
            "{a} > {b}"
        );
    }
    assert_eq!(c.program.outputs[0].to, PartySet::all(2));
}

#[test]
fn matmul_matches_ndarray() {
    let c = compile_example("matmul", Options::default());
    let mut rng = TestRng(2);
    let a = rng.ints(4 * 8, -1000, 1000);
    let b = rng.ints(8 * 3, -1000, 1000);
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("a", a.clone()), ("b", b.clone())]),
        1,
    );
    let ra = Array2::from_shape_vec((4, 8), a.iter().map(|&v| v as i64).collect()).unwrap();
    let rb = Array2::from_shape_vec((8, 3), b.iter().map(|&v| v as i64).collect()).unwrap();
    let expected: Vec<f64> = ra.dot(&rb).iter().map(|&v| v as f64).collect();
    assert_eq!(output(&c.program, &out, "product"), expected);
}

struct Dense {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

fn trained_dense() -> Dense {
    let dir = repo_root().join("programs/mnist_dense/weights");
    let load2 = |n: &str| {
        let (s, d) = read_npy(&dir.join(n));
        Array2::from_shape_vec((s[0], s[1]), d).unwrap()
    };
    let load1 = |n: &str| Array1::from(read_npy(&dir.join(n)).1);
    Dense {
        w1: load2("w1.npy"),
        b1: load1("b1.npy"),
        w2: load2("w2.npy"),
        b2: load1("b2.npy"),
    }
}

fn dense_inputs(d: &Dense, image: Vec<f64>) -> Vec<(&'static str, Vec<f64>)> {
    vec![
        ("w1", d.w1.iter().copied().collect()),
        ("b1", d.b1.to_vec()),
        ("w2", d.w2.iter().copied().collect()),
        ("b2", d.b2.to_vec()),
        ("image", image),
    ]
}

/// mnist_dense revealing its logits too.
fn dense_with_logits(options: Options) -> mpcc::driver::Compiled {
    let text = std::fs::read_to_string(program_path("mnist_dense")).unwrap();
    compile_text(
        &text.replace(
            "reveal digit to client;",
            "reveal digit to client;\n    reveal logits to client;",
        ),
        options,
    )
}

#[test]
fn mnist_dense_predicts_like_the_float_reference() {
    let c = compile_example("mnist_dense", Options::default());
    assert_eq!(c.program.outputs.len(), 1);
    assert_eq!(
        c.program.outputs[0].to,
        PartySet::single(1),
        "only the client learns the digit"
    );
    let d = trained_dense();
    let (_, pixels) = mnist::images("t10k");
    let labels = mnist::labels("t10k");
    let mut agree_with_label = 0;
    for (i, &label) in labels.iter().enumerate().take(30) {
        let image = mnist::image(&pixels, i);
        let x = Array2::from_shape_vec((1, 784), image.clone()).unwrap();
        let logits = reference::relu2(&(x.dot(&d.w1) + &d.b1)).dot(&d.w2) + &d.b2;
        let logits = logits.row(0).to_vec();
        let out = run_clear(
            &c.program,
            &inputs(&c.program, &dense_inputs(&d, image)),
            i as u64,
        );
        let digit = output(&c.program, &out, "digit")[0] as usize;
        if margin(&logits) > 0.01 {
            assert_eq!(digit, argmax(&logits), "image {i}");
        }
        agree_with_label += (digit == label as usize) as usize;
    }
    assert!(agree_with_label >= 28, "{agree_with_label}/30 correct");
}

/// Fixed-point encoding with 16 fractional bits.
fn fx(v: f64) -> i64 {
    (v * 65536.0).round() as i64
}

#[test]
fn mnist_dense_with_exact_truncation_is_bit_exact() {
    let c = dense_with_logits(Options {
        exact_fixed_point: true,
        ..Options::default()
    });
    let d = trained_dense();
    let (_, pixels) = mnist::images("t10k");
    for i in 0..5 {
        let image = mnist::image(&pixels, i);
        let out = run_clear(
            &c.program,
            &inputs(&c.program, &dense_inputs(&d, image.clone())),
            7,
        );
        // The same network in wrapping i64 fixed-point arithmetic.
        let hidden: Vec<i64> = (0..128)
            .map(|j| {
                let acc = (0..784).fold(0i64, |s, k| {
                    s.wrapping_add(fx(image[k]).wrapping_mul(fx(d.w1[[k, j]])))
                });
                ((acc >> 16) + fx(d.b1[j])).max(0)
            })
            .collect();
        let logits: Vec<f64> = (0..10)
            .map(|k| {
                let acc = (0..128).fold(0i64, |s, j| {
                    s.wrapping_add(hidden[j].wrapping_mul(fx(d.w2[[j, k]])))
                });
                ((acc >> 16) + fx(d.b2[k])) as f64 / 65536.0
            })
            .collect();
        assert_eq!(output(&c.program, &out, "logits"), logits, "image {i}");
    }
}

#[test]
fn mnist_dense_probabilistic_truncation_stays_within_its_bound() {
    let exact = dense_with_logits(Options {
        exact_fixed_point: true,
        ..Options::default()
    });
    let prob = dense_with_logits(Options::default());
    let d = trained_dense();
    let (_, pixels) = mnist::images("t10k");
    let ulp = 1.0 / 65536.0;
    for i in 0..5 {
        let image = mnist::image(&pixels, i);
        let e = output(
            &exact.program,
            &run_clear(
                &exact.program,
                &inputs(&exact.program, &dense_inputs(&d, image.clone())),
                1,
            ),
            "logits",
        );
        let p = output(
            &prob.program,
            &run_clear(
                &prob.program,
                &inputs(&prob.program, &dense_inputs(&d, image)),
                1 + i as u64,
            ),
            "logits",
        );
        for k in 0..10 {
            // One unit per truncation, carried through the second layer's weights.
            let bound = (d.w2.column(k).iter().map(|w| w.abs()).sum::<f64>() + 2.0) * ulp;
            assert!(
                (e[k] - p[k]).abs() <= bound,
                "image {i} logit {k}: {} vs {} (bound {bound})",
                e[k],
                p[k]
            );
        }
    }
}

#[test]
fn lenet_matches_the_float_reference() {
    let text = std::fs::read_to_string(program_path("lenet")).unwrap();
    let c = compile_text(
        &text.replace(
            "reveal digit to client;",
            "reveal digit to client;\n    reveal logits to client;",
        ),
        Options::default(),
    );
    let mut rng = TestRng(3);
    let mut w = |shape: &[usize], scale: f64| -> Vec<f64> {
        rng.vec(shape.iter().product(), -scale, scale)
    };
    let (k1, c1, k2, c2) = (
        w(&[5, 5, 1, 20], 0.3),
        w(&[20], 0.1),
        w(&[5, 5, 20, 50], 0.05),
        w(&[50], 0.1),
    );
    let (w3, b3, w4, b4) = (
        w(&[800, 500], 0.05),
        w(&[500], 0.1),
        w(&[500, 10], 0.1),
        w(&[10], 0.1),
    );
    let (_, pixels) = mnist::images("t10k");
    let image = mnist::image(&pixels, 0);
    let out = run_clear(
        &c.program,
        &inputs(
            &c.program,
            &[
                ("k1", k1.clone()),
                ("c1", c1.clone()),
                ("k2", k2.clone()),
                ("c2", c2.clone()),
                ("w3", w3.clone()),
                ("b3", b3.clone()),
                ("w4", w4.clone()),
                ("b4", b4.clone()),
                ("image", image.clone()),
            ],
        ),
        5,
    );
    let a4 = |s: [usize; 4], v: &Vec<f64>| Array4::from_shape_vec(s, v.clone()).unwrap();
    let x = a4([1, 28, 28, 1], &image);
    let h1 = reference::pool(
        &(reference::conv2d(&x, &a4([5, 5, 1, 20], &k1), 1, false, false) + &Array1::from(c1))
            .mapv(|v| v.max(0.0)),
        2,
        2,
        false,
        true,
    );
    let h2 = reference::pool(
        &(reference::conv2d(&h1, &a4([5, 5, 20, 50], &k2), 1, false, false) + &Array1::from(c2))
            .mapv(|v| v.max(0.0)),
        2,
        2,
        false,
        true,
    );
    let flat = Array2::from_shape_vec((1, 800), h2.iter().copied().collect()).unwrap();
    let h3 = reference::relu2(
        &(flat.dot(&Array2::from_shape_vec((800, 500), w3).unwrap()) + &Array1::from(b3)),
    );
    let logits = (h3.dot(&Array2::from_shape_vec((500, 10), w4).unwrap()) + &Array1::from(b4))
        .row(0)
        .to_vec();
    let got = output(&c.program, &out, "logits");
    for k in 0..10 {
        assert!(
            (got[k] - logits[k]).abs() < 0.01,
            "logit {k}: {} vs {}",
            got[k],
            logits[k]
        );
    }
    assert_eq!(
        output(&c.program, &out, "digit")[0] as usize,
        argmax(&logits)
    );
}

#[test]
fn train_linear_matches_float_sgd() {
    let c = compile_example("train_linear", Options::default());
    let (n, dims, batch, epochs, lr) = (512, 16, 32, 4, 0.1);
    let mut rng = TestRng(4);
    let truth = rng.vec(dims, -1.0, 1.0);
    let x = rng.vec(n * dims, -1.0, 1.0);
    let y: Vec<f64> = (0..n)
        .map(|i| {
            (0..dims).map(|j| x[i * dims + j] * truth[j]).sum::<f64>() + rng.uniform(-0.01, 0.01)
        })
        .collect();
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("x", x.clone()), ("y", y.clone())]),
        9,
    );
    let xa = Array2::from_shape_vec((n, dims), x).unwrap();
    let ya = Array2::from_shape_vec((n, 1), y).unwrap();
    let mut w = Array2::<f64>::zeros((dims, 1));
    for _ in 0..epochs {
        for s in 0..n / batch {
            let xb = xa.slice(ndarray::s![s * batch..(s + 1) * batch, ..]);
            let yb = ya.slice(ndarray::s![s * batch..(s + 1) * batch, ..]);
            let grad = xb.t().dot(&(xb.dot(&w) - yb));
            w = &w - grad * (lr / batch as f64);
        }
    }
    let got = output(&c.program, &out, "w");
    for j in 0..dims {
        assert!(
            (got[j] - w[[j, 0]]).abs() < 0.01,
            "w[{j}]: {} vs {}",
            got[j],
            w[[j, 0]]
        );
    }
    // And it learned: much closer to the weights that generated the data than the start (zero).
    let distance: f64 = (0..dims)
        .map(|j| (got[j] - truth[j]).powi(2))
        .sum::<f64>()
        .sqrt();
    let start: f64 = truth.iter().map(|t| t * t).sum::<f64>().sqrt();
    assert!(
        distance < 0.5 * start,
        "distance to the truth {distance}, from zero {start}"
    );
}

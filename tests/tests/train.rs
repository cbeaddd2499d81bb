//! The training layers of stdlib/train.mpc: every backward function against
//! an f64 reference gradient (the adjoint of the forward computation, written
//! independently in tests/src/reference.rs or here), under clear; and the
//! forward functions they pair with.

use mpc_tests::reference;
use mpc_tests::*;
use mpcc::elaborate::Options;
use ndarray::{Array2, Array4};
use std::collections::HashMap;

/// Compiles `body` as main (with `import train;`), runs it under clear, and
/// returns every output by name.
fn run(decls: &str, body: &str, values: &[(&str, Vec<f64>)]) -> HashMap<String, Vec<f64>> {
    let text = format!("import train;\nparty a = 0;\nfn main() {{\n{decls}\n{body}\n}}\n");
    let c = compile_text(&text, Options::default());
    let out = run_clear(&c.program, &inputs(&c.program, values), 7);
    c.program
        .outputs
        .iter()
        .map(|o| (o.name.clone(), output(&c.program, &out, &o.name)))
        .collect()
}

/// Values in [lo, hi) as multiples of 2^-16 (so the inputs are exact).
fn values(rng: &mut TestRng, n: usize, lo: f64, hi: f64) -> Vec<f64> {
    rng.vec(n, lo, hi)
        .into_iter()
        .map(|v| (v * 65536.0).round() / 65536.0)
        .collect()
}

/// Each element within `units` of 2^-16 times max(1, the number of terms' scale).
fn close(name: &str, got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance,
            "{name}[{i}]: {g} against {w} (tolerance {tolerance})"
        );
    }
}

const UNIT: f64 = 1.0 / 65536.0;

#[test]
fn dense_backward_gives_the_gradients_of_its_parameters_and_input() {
    let mut rng = TestRng(101);
    let (b, i, o) = (4, 3, 2);
    let (x, w, dy) = (
        values(&mut rng, b * i, -1.0, 1.0),
        values(&mut rng, i * o, -1.0, 1.0),
        values(&mut rng, b * o, -1.0, 1.0),
    );
    let out = run(
        "let x: sfix<16>[4, 3] = input(a); let w: sfix<16>[3, 2] = input(a); let dy: sfix<16>[4, 2] = input(a);",
        "let (dw, db, dx) = train::dense_backward(x, w, dy); reveal dw to a; reveal db to a; reveal dx to a;",
        &[("x", x.clone()), ("w", w.clone()), ("dy", dy.clone())],
    );
    let (xa, wa, ga) = (
        Array2::from_shape_vec((b, i), x).unwrap(),
        Array2::from_shape_vec((i, o), w).unwrap(),
        Array2::from_shape_vec((b, o), dy).unwrap(),
    );
    close(
        "dw",
        &out["dw"],
        &xa.t().dot(&ga).into_raw_vec_and_offset().0,
        2.0 * UNIT,
    );
    close(
        "db",
        &out["db"],
        &ga.sum_axis(ndarray::Axis(0)).into_raw_vec_and_offset().0,
        0.0,
    );
    close(
        "dx",
        &out["dx"],
        &ga.dot(&wa.t()).into_raw_vec_and_offset().0,
        2.0 * UNIT,
    );
}

#[test]
fn convolution_backward_gives_the_gradients_with_same_and_valid_padding() {
    let mut rng = TestRng(102);
    for same in [true, false] {
        let (n, h, w, c, k, o) = (2, 6, 5, 2, 3, 3);
        let (oh, ow) = if same { (h, w) } else { (h - k + 1, w - k + 1) };
        let x = values(&mut rng, n * h * w * c, -1.0, 1.0);
        let kernel = values(&mut rng, k * k * c * o, -0.5, 0.5);
        let g = values(&mut rng, n * oh * ow * o, -1.0, 1.0);
        let kind = if same { "same" } else { "valid" };
        let out = run(
            &format!(
                "let x: sfix<16>[{n}, {h}, {w}, {c}] = input(a); let k: sfix<16>[{k}, {k}, {c}, {o}] = input(a); let g: sfix<16>[{n}, {oh}, {ow}, {o}] = input(a);"
            ),
            &format!("let (dw, db, dx) = train::conv_{kind}_backward(x, k, g); reveal dw to a; reveal db to a; reveal dx to a;"),
            &[("x", x.clone()), ("k", kernel.clone()), ("g", g.clone())],
        );
        let xa = Array4::from_shape_vec((n, h, w, c), x).unwrap();
        let ka = Array4::from_shape_vec((k, k, c, o), kernel).unwrap();
        let ga = Array4::from_shape_vec((n, oh, ow, o), g.clone()).unwrap();
        let (dw, dx) = reference::conv2d_backward(&xa, &ka, &ga, same);
        close(
            &format!("{kind} dw"),
            &out["dw"],
            &dw.into_raw_vec_and_offset().0,
            2.0 * UNIT,
        );
        close(
            &format!("{kind} dx"),
            &out["dx"],
            &dx.into_raw_vec_and_offset().0,
            2.0 * UNIT,
        );
        let db: Vec<f64> = (0..o).map(|j| g.iter().skip(j).step_by(o).sum()).collect();
        close(&format!("{kind} db"), &out["db"], &db, 0.0);
    }
}

#[test]
fn pooling_backward_routes_each_gradient_to_its_window() {
    let mut rng = TestRng(103);
    let (n, h, w, c) = (2, 4, 6, 3);
    // Values on a coarse grid, so that windows have ties (the first position wins).
    let x: Vec<f64> = (0..n * h * w * c)
        .map(|_| rng.int(-3, 4) as f64 * 0.25)
        .collect();
    let g = values(&mut rng, n * (h / 2) * (w / 2) * c, -1.0, 1.0);
    let out = run(
        "let x: sfix<16>[2, 4, 6, 3] = input(a); let g: sfix<16>[2, 2, 3, 3] = input(a);",
        "let (m, bits) = train::max_pool2(x); let dmax = train::max_pool2_backward(g, bits); let davg = train::avg_pool_backward(g, 2);
         reveal m to a; reveal dmax to a; reveal davg to a;",
        &[("x", x.clone()), ("g", g.clone())],
    );
    let at = |b: usize, i: usize, j: usize, ch: usize| ((b * h + i) * w + j) * c + ch;
    let (mut m, mut dmax, mut davg) = (Vec::new(), vec![0.0; x.len()], vec![0.0; x.len()]);
    for b in 0..n {
        for i in 0..h / 2 {
            for j in 0..w / 2 {
                for ch in 0..c {
                    let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                        .map(|(di, dj)| at(b, 2 * i + di, 2 * j + dj, ch));
                    let vals: Vec<f64> = window.iter().map(|&p| x[p]).collect();
                    let first = reference::argmax(&vals);
                    let gv = g[((b * (h / 2) + i) * (w / 2) + j) * c + ch];
                    m.push(vals[first]);
                    dmax[window[first]] += gv;
                    for p in window {
                        davg[p] += gv / 4.0;
                    }
                }
            }
        }
    }
    close("max_pool2", &out["m"], &m, 0.0);
    close("max_pool2_backward", &out["dmax"], &dmax, 0.0);
    close("avg_pool_backward", &out["davg"], &davg, UNIT);
}

#[test]
fn relu_and_its_polynomial_with_their_gradients() {
    let mut rng = TestRng(104);
    let x = values(&mut rng, 64, -1.0, 1.0);
    let g = values(&mut rng, 64, -1.0, 1.0);
    let out = run(
        "let x: sfix<16>[64] = input(a); let g: sfix<16>[64] = input(a);",
        "let (y, on) = train::relu_forward(x); let dx = train::relu_backward(g, on);
         let p = train::relu_poly(x); let dp = train::relu_poly_backward(x, g);
         reveal y to a; reveal dx to a; reveal p to a; reveal dp to a;",
        &[("x", x.clone()), ("g", g.clone())],
    );
    close(
        "relu",
        &out["y"],
        &x.iter().map(|v| v.max(0.0)).collect::<Vec<_>>(),
        0.0,
    );
    close(
        "relu_backward",
        &out["dx"],
        &x.iter()
            .zip(&g)
            .map(|(v, d)| if *v > 0.0 { *d } else { 0.0 })
            .collect::<Vec<_>>(),
        0.0,
    );
    close(
        "relu_poly",
        &out["p"],
        &x.iter()
            .map(|v| 0.1875 + 0.5 * v + 0.46875 * v * v)
            .collect::<Vec<_>>(),
        2.0 * UNIT,
    );
    close(
        "relu_poly_backward",
        &out["dp"],
        &x.iter()
            .zip(&g)
            .map(|(v, d)| d * (0.5 + 0.9375 * v))
            .collect::<Vec<_>>(),
        2.0 * UNIT,
    );
}

#[test]
fn softmax_cross_entropy_gives_the_gradient_of_the_mean_loss() {
    let mut rng = TestRng(105);
    let (b, c) = (8, 10);
    let z = values(&mut rng, b * c, -4.0, 4.0);
    let labels: Vec<f64> = (0..b).map(|_| rng.int(0, c as i64) as f64).collect();
    let out = run(
        "let z: sfix<16>[8, 10] = input(a); let labels: sint<8>[8] = input(a);",
        "let y = train::one_hot(labels, 10); let (dz, loss) = train::softmax_cross_entropy(z, y);
         let hits = train::correct(z, labels);
         reveal dz to a; reveal loss to a; reveal hits to a;",
        &[("z", z.clone()), ("labels", labels.clone())],
    );
    let (mut dz, mut loss, mut hits) = (Vec::new(), 0.0, 0.0);
    for i in 0..b {
        let row = &z[i * c..(i + 1) * c];
        let max = row.iter().cloned().fold(f64::MIN, f64::max);
        let total: f64 = row.iter().map(|v| (v - max).exp()).sum();
        let label = labels[i] as usize;
        for (j, v) in row.iter().enumerate() {
            let p = (v - max).exp() / total;
            dz.push((p - if j == label { 1.0 } else { 0.0 }) / b as f64);
            if j == label {
                loss -= p.ln() / b as f64;
            }
        }
        hits += (reference::argmax(row) == label) as u8 as f64;
    }
    close("dz", &out["dz"], &dz, 2.0 * UNIT);
    close("loss", &out["loss"], &[loss], 16.0 * UNIT);
    close("correct", &out["hits"], &[hits], 0.0);
}

#[test]
fn sgd_with_and_without_momentum() {
    let out = run(
        "let w: sfix<16>[3] = input(a); let dw: sfix<16>[3] = input(a); let mut v: sfix<16>[3] = fill(0.5, [3]);",
        "let plain = train::sgd(w, dw, 0.25); let (moved, velocity) = train::sgd_momentum(w, v, dw, 0.25, 0.5);
         reveal plain to a; reveal moved to a; reveal velocity to a;",
        &[("w", vec![1.0, -2.0, 0.5]), ("dw", vec![4.0, -1.0, 0.0])],
    );
    close("sgd", &out["plain"], &[0.0, -1.75, 0.5], 0.0);
    close("velocity", &out["velocity"], &[4.25, -0.75, 0.25], 0.0);
    close(
        "sgd_momentum",
        &out["moved"],
        &[1.0 - 4.25 * 0.25, -2.0 + 0.75 * 0.25, 0.5 - 0.0625],
        0.0,
    );
}

/// The fused convolution and 2x2 average pooling equals the two layers, and
/// its backward equals their gradients.
#[test]
fn convolution_and_pooling_in_one_stride_two_convolution() {
    let mut rng = TestRng(106);
    let (n, h, w, c, k, o) = (2, 6, 8, 2, 3, 3);
    let x = values(&mut rng, n * h * w * c, -1.0, 1.0);
    let kernel = values(&mut rng, k * k * c * o, -0.5, 0.5);
    let bias = values(&mut rng, o, -0.5, 0.5);
    let g = values(&mut rng, n * (h / 2) * (w / 2) * o, -1.0, 1.0);
    let out = run(
        "let x: sfix<16>[2, 6, 8, 2] = input(a); let k: sfix<16>[3, 3, 2, 3] = input(a); let b: sfix<16>[3] = input(a); let g: sfix<16>[2, 3, 4, 3] = input(a);",
        "let y = train::conv_same_pool2(x, k, b); let (dw, db, dx) = train::conv_same_pool2_backward(x, k, g);
         reveal y to a; reveal dw to a; reveal db to a; reveal dx to a;",
        &[("x", x.clone()), ("k", kernel.clone()), ("b", bias.clone()), ("g", g.clone())],
    );
    let xa = Array4::from_shape_vec((n, h, w, c), x).unwrap();
    let ka = Array4::from_shape_vec((k, k, c, o), kernel).unwrap();
    let mut conv = reference::conv2d(&xa, &ka, 1, true, false);
    for ((_, _, _, ch), v) in conv.indexed_iter_mut() {
        *v += bias[ch];
    }
    let pooled = reference::pool(&conv, 2, 2, false, false);
    close(
        "conv_same_pool2",
        &out["y"],
        &pooled.into_raw_vec_and_offset().0,
        4.0 * UNIT,
    );
    let mut spread = Array4::zeros((n, h, w, o));
    for ((b, i, j, ch), v) in spread.indexed_iter_mut() {
        *v = g[((b * (h / 2) + i / 2) * (w / 2) + j / 2) * o + ch] / 4.0;
    }
    let (dw, dx) = reference::conv2d_backward(&xa, &ka, &spread, true);
    close(
        "dw",
        &out["dw"],
        &dw.into_raw_vec_and_offset().0,
        2.0 * UNIT,
    );
    close(
        "dx",
        &out["dx"],
        &dx.into_raw_vec_and_offset().0,
        4.0 * UNIT,
    );
    let db: Vec<f64> = (0..o).map(|j| g.iter().skip(j).step_by(o).sum()).collect();
    close("db", &out["db"], &db, 0.0);
}

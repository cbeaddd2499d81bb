//! Trains the weights of programs/mnist_dense.mpc (784-128-10, ReLU) in plain
//! floating point and writes them to programs/mnist_dense/weights/*.npy, the
//! model owner's input. Reproducible: fixed initialization and data order.
//!
//! cargo run --release -p mpc-tests --bin train_mnist_dense

use mpc_tests::{mnist, repo_root, write_npy, TestRng};
use ndarray::{Array1, Array2, Axis};

fn main() {
    let (n, pixels) = mnist::images("train");
    let labels = mnist::labels("train");
    let x = Array2::from_shape_vec((n, 784), pixels.iter().map(|&p| p as f32 / 255.0).collect())
        .unwrap();
    let mut rng = TestRng(2024);
    let mut init = |rows: usize, cols: usize| {
        let s = (2.0 / rows as f64).sqrt();
        Array2::from_shape_vec(
            (rows, cols),
            (0..rows * cols)
                .map(|_| (rng.uniform(-1.0, 1.0) * s) as f32)
                .collect(),
        )
        .unwrap()
    };
    let (mut w1, mut w2) = (init(784, 128), init(128, 10));
    let (mut b1, mut b2) = (Array1::<f32>::zeros(128), Array1::<f32>::zeros(10));
    let (batch, lr) = (64, 0.1f32);
    for epoch in 0..10 {
        for start in (0..n).step_by(batch) {
            let end = (start + batch).min(n);
            let xb = x.slice(ndarray::s![start..end, ..]);
            let h_pre = xb.dot(&w1) + &b1;
            let h = h_pre.mapv(|v| v.max(0.0));
            let logits = h.dot(&w2) + &b2;
            // Softmax cross-entropy gradient.
            let mut g = logits.clone();
            for (r, mut row) in g.axis_iter_mut(Axis(0)).enumerate() {
                let m = row.fold(f32::MIN, |a, &b| a.max(b));
                row.mapv_inplace(|v| (v - m).exp());
                let s = row.sum();
                row.mapv_inplace(|v| v / s);
                row[labels[start + r] as usize] -= 1.0;
            }
            g /= (end - start) as f32;
            let gw2 = h.t().dot(&g);
            let gb2 = g.sum_axis(Axis(0));
            let mut gh = g.dot(&w2.t());
            gh.zip_mut_with(&h_pre, |d, &p| {
                if p <= 0.0 {
                    *d = 0.0
                }
            });
            let gw1 = xb.t().dot(&gh);
            let gb1 = gh.sum_axis(Axis(0));
            w2.scaled_add(-lr, &gw2);
            b2.scaled_add(-lr, &gb2);
            w1.scaled_add(-lr, &gw1);
            b1.scaled_add(-lr, &gb1);
        }
        eprintln!("epoch {epoch} done");
    }
    let (tn, tpix) = mnist::images("t10k");
    let tl = mnist::labels("t10k");
    let tx = Array2::from_shape_vec((tn, 784), tpix.iter().map(|&p| p as f32 / 255.0).collect())
        .unwrap();
    let out = (tx.dot(&w1) + &b1).mapv(|v| v.max(0.0)).dot(&w2) + &b2;
    let correct = out
        .axis_iter(Axis(0))
        .zip(&tl)
        .filter(|(row, &l)| {
            let best = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a })
                .0;
            best == l as usize
        })
        .count();
    println!(
        "test accuracy (float): {:.2}%",
        100.0 * correct as f64 / tn as f64
    );
    let dir = repo_root().join("programs/mnist_dense/weights");
    std::fs::create_dir_all(&dir).unwrap();
    let f64s = |a: &[f32]| a.iter().map(|&v| v as f64).collect::<Vec<_>>();
    write_npy(
        &dir.join("w1.npy"),
        &[784, 128],
        &f64s(w1.as_slice().unwrap()),
    );
    write_npy(&dir.join("b1.npy"), &[128], &f64s(b1.as_slice().unwrap()));
    write_npy(
        &dir.join("w2.npy"),
        &[128, 10],
        &f64s(w2.as_slice().unwrap()),
    );
    write_npy(&dir.join("b2.npy"), &[10], &f64s(b2.as_slice().unwrap()));
    println!("wrote {}", dir.display());
}

//! Private training of Seggers and van der Veen's CNNs (programs/train_shallow.mpc
//! and train_deep.mpc): the files a run reads (MNIST in batches, the model
//! owner's initial weights) and a plain f64 training of the same networks from
//! the same weights in the same batch order, to compare accuracies with.

use crate::{mnist, reference, TestRng};
use ndarray::{Array2, Array4, Axis};
use npyz::WriterBuilder;
use std::path::Path;

/// The networks: Seggers and van der Veen's, conv 3x3 SAME (32 filters) ->
/// avg_pool 2 -> ReLU, once (shallow, 6,272 inputs to the dense layer) or
/// twice (deep, 1,568), then dense 10; and LeNet (programs/train_lenet.mpc),
/// which the f64 twin does not cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    Shallow,
    Deep,
    LeNet,
}

impl Net {
    pub fn blocks(self) -> usize {
        match self {
            Net::Shallow => 1,
            Net::Deep => 2,
            Net::LeNet => panic!("the f64 training covers the shallow and deep networks"),
        }
    }
    /// Inputs to the dense layer.
    pub fn features(self) -> usize {
        let side = 28 >> self.blocks();
        side * side * 32
    }
    /// The program's weight names and shapes, in order.
    pub fn parameters(self) -> Vec<(String, Vec<usize>)> {
        if self == Net::LeNet {
            let shapes: [(&str, &[usize]); 8] = [
                ("k1", &[5, 5, 1, 20]),
                ("c1", &[20]),
                ("k2", &[5, 5, 20, 50]),
                ("c2", &[50]),
                ("w3", &[800, 500]),
                ("b3", &[500]),
                ("w4", &[500, 10]),
                ("b4", &[10]),
            ];
            return shapes
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_vec()))
                .collect();
        }
        let mut p = Vec::new();
        for i in 1..=self.blocks() {
            let c = if i == 1 { 1 } else { 32 };
            p.push((format!("k{i}"), vec![3, 3, c, 32]));
            p.push((format!("c{i}"), vec![32]));
        }
        p.push(("w".into(), vec![self.features(), 10]));
        p.push(("b".into(), vec![10]));
        p
    }
}

/// The command-line options of the training tools: `--name value` pairs.
pub struct Options(pub Vec<String>);

impl Options {
    /// The number after `name`, or `default`.
    pub fn number(&self, name: &str, default: usize) -> usize {
        self.value(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v}"))
        })
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        let at = self.0.iter().position(|a| a == name)?;
        self.0.get(at + 1).map(String::as_str)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    /// `--net shallow` (the default), `deep` or `lenet`.
    pub fn net(&self) -> Net {
        match self.value("--net") {
            None | Some("shallow") => Net::Shallow,
            Some("deep") => Net::Deep,
            Some("lenet") => Net::LeNet,
            Some(other) => panic!("--net is shallow, deep or lenet, not {other}"),
        }
    }
}

/// Initial weights (He-uniform kernels, Glorot-uniform dense layer, zero
/// biases), as multiples of 2^-16 so that fixed point holds them exactly.
pub fn initial_weights(net: Net, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = TestRng(seed);
    net.parameters()
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let bound = match (name.as_str(), shape.as_slice()) {
                ("w" | "w4", [i, o]) => (6.0 / (i + o) as f64).sqrt(),
                (_, [i, _]) => (6.0 / *i as f64).sqrt(),
                (_, [kh, kw, c, _]) => (6.0 / (kh * kw * c) as f64).sqrt(),
                _ => 0.0,
            };
            rng.vec(n, -bound, bound)
                .into_iter()
                .map(|v| (v * 65536.0).round() / 65536.0)
                .collect()
        })
        .collect()
}

fn write_u8(path: &Path, shape: &[u64], data: &[u8]) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut w = npyz::WriteOptions::<u8>::new()
        .default_dtype()
        .shape(shape)
        .writer(file)
        .begin_nd()
        .expect("npy header");
    w.extend(data.iter().copied()).expect("npy data");
    w.finish().expect("npy finish");
}

/// Writes a run's files: `dir/data/{pixels,labels,test_pixels,test_labels}.npy`
/// (the data owner's: `steps` batches of `batch` training images in file order,
/// or for LeNet `epochs` such passes, each after the first in another order
/// drawn from `seed`; `test_steps` of `test_batch` test images, for LeNet once
/// per epoch; uint8) and
/// `dir/model/*.npy` (the model owner's initial weights).
pub fn write_run_files(
    dir: &Path,
    net: Net,
    (epochs, steps, batch): (usize, usize, usize),
    (test_steps, test_batch): (usize, usize),
    seed: u64,
) {
    let data = dir.join("data");
    let model = dir.join("model");
    std::fs::create_dir_all(&data).expect("create the data directory");
    std::fs::create_dir_all(&model).expect("create the model directory");
    for (set, count, per, name) in [
        ("train", steps, batch, ""),
        ("t10k", test_steps, test_batch, "test_"),
    ] {
        let (n, pixels) = mnist::images(set);
        let labels = mnist::labels(set);
        assert!(
            count * per <= n,
            "{set} has {n} images, not {}",
            count * per
        );
        let (passes, mut order): (usize, Vec<usize>) = match (set, net) {
            (_, Net::LeNet) => (epochs, (0..count * per).collect()),
            _ => (1, (0..count * per).collect()),
        };
        let (mut images, mut classes) = (Vec::new(), Vec::new());
        let mut rng = TestRng(seed ^ 0x5eed);
        for pass in 0..passes {
            if pass > 0 && set == "train" {
                for i in (1..order.len()).rev() {
                    order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
            }
            for &i in &order {
                images.extend_from_slice(&pixels[i * 784..(i + 1) * 784]);
                classes.push(labels[i]);
            }
        }
        let mut shape = vec![count as u64, per as u64];
        if net == Net::LeNet {
            shape.insert(0, passes as u64);
        }
        write_u8(&data.join(format!("{name}labels.npy")), &shape, &classes);
        shape.extend([28, 28, 1]);
        write_u8(&data.join(format!("{name}pixels.npy")), &shape, &images);
    }
    for ((name, shape), values) in net.parameters().iter().zip(initial_weights(net, seed)) {
        crate::write_npy(&model.join(format!("{name}.npy")), shape, &values);
    }
}

/// The f64 training: weights by name, and the loss of every step.
pub struct Reference {
    pub weights: Vec<Vec<f64>>,
    pub losses: Vec<f64>,
}

fn images(pixels: &[u8], from: usize, count: usize) -> Array4<f64> {
    Array4::from_shape_vec(
        (count, 28, 28, 1),
        pixels[from * 784..(from + count) * 784]
            .iter()
            .map(|&p| p as f64 / 255.0)
            .collect(),
    )
    .unwrap()
}

fn relu_poly(v: f64) -> f64 {
    0.1875 + 0.5 * v + 0.46875 * v * v
}

/// One block's forward: (pre-activation after pooling, output).
fn block(x: &Array4<f64>, k: &Array4<f64>, c: &[f64], exact: bool) -> (Array4<f64>, Array4<f64>) {
    let mut h = reference::conv2d(x, k, 1, true, false);
    for mut row in h.lanes_mut(Axis(3)) {
        for (v, b) in row.iter_mut().zip(c) {
            *v += b;
        }
    }
    let p = reference::pool(&h, 2, 2, false, false);
    let r = p.mapv(|v| if exact { v.max(0.0) } else { relu_poly(v) });
    (p, r)
}

/// What a block's forward keeps for the backward: its input, its pooled
/// pre-activation and its output.
struct Kept {
    input: Array4<f64>,
    pooled: Array4<f64>,
    output: Array4<f64>,
}

fn logits(
    net: Net,
    weights: &[Vec<f64>],
    x: &Array4<f64>,
    exact: bool,
) -> (Vec<Kept>, Array2<f64>) {
    let mut kept = Vec::new();
    let mut a = x.clone();
    for i in 0..net.blocks() {
        let c = if i == 0 { 1 } else { 32 };
        let k = Array4::from_shape_vec((3, 3, c, 32), weights[2 * i].clone()).unwrap();
        let (pooled, output) = block(&a, &k, &weights[2 * i + 1], exact);
        kept.push(Kept {
            input: a,
            pooled,
            output: output.clone(),
        });
        a = output;
    }
    let n = x.dim().0;
    let flat = a.into_shape_with_order((n, net.features())).unwrap();
    let w =
        Array2::from_shape_vec((net.features(), 10), weights[2 * net.blocks()].clone()).unwrap();
    let mut z = flat.dot(&w);
    for mut row in z.rows_mut() {
        for (v, b) in row.iter_mut().zip(&weights[2 * net.blocks() + 1]) {
            *v += b;
        }
    }
    (kept, z)
}

/// Trains `net` in f64 from `weights` on the first `steps * batch` training
/// images, in file order, with plain SGD at `lr`.
pub fn train(
    net: Net,
    mut weights: Vec<Vec<f64>>,
    steps: usize,
    batch: usize,
    lr: f64,
    exact: bool,
) -> Reference {
    let (_, pixels) = mnist::images("train");
    let labels = mnist::labels("train");
    let mut losses = Vec::new();
    for step in 0..steps {
        let x = images(&pixels, step * batch, batch);
        let (kept, z) = logits(net, &weights, &x, exact);
        // Softmax cross-entropy: gradient (p - y) / B.
        let mut dz = Array2::zeros((batch, 10));
        let mut loss = 0.0;
        for i in 0..batch {
            let row = z.row(i);
            let max = row.iter().cloned().fold(f64::MIN, f64::max);
            let total: f64 = row.iter().map(|v| (v - max).exp()).sum();
            let y = labels[step * batch + i] as usize;
            for j in 0..10 {
                let p = (row[j] - max).exp() / total;
                dz[[i, j]] = (p - (j == y) as u8 as f64) / batch as f64;
            }
            loss += total.ln() - (row[y] - max);
        }
        losses.push(loss / batch as f64);
        let top = kept.last().map(|k| k.output.clone()).unwrap();
        let flat = top.into_shape_with_order((batch, net.features())).unwrap();
        let dense = 2 * net.blocks();
        let w = Array2::from_shape_vec((net.features(), 10), weights[dense].clone()).unwrap();
        let dw = flat.t().dot(&dz);
        let db = dz.sum_axis(Axis(0));
        let mut da = dz
            .dot(&w.t())
            .into_shape_with_order((batch, 28 >> net.blocks(), 28 >> net.blocks(), 32))
            .unwrap();
        let mut grads = vec![Vec::new(); weights.len()];
        grads[dense] = dw.into_raw_vec_and_offset().0;
        grads[dense + 1] = db.to_vec();
        for i in (0..net.blocks()).rev() {
            let Kept {
                input, pooled: p, ..
            } = &kept[i];
            // Through the activation, then average pooling's backward, then the convolution.
            let dp = ndarray::Zip::from(&da).and(p).map_collect(|d, v| {
                if exact {
                    if *v > 0.0 {
                        *d
                    } else {
                        0.0
                    }
                } else {
                    d * (0.5 + 0.9375 * v)
                }
            });
            let (n, h, wd, ch) = dp.dim();
            let mut dh = Array4::zeros((n, 2 * h, 2 * wd, ch));
            for ((b, y, x, c), v) in dp.indexed_iter() {
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    dh[[b, 2 * y + dy, 2 * x + dx, c]] = v / 4.0;
                }
            }
            let c_in = if i == 0 { 1 } else { 32 };
            let k = Array4::from_shape_vec((3, 3, c_in, 32), weights[2 * i].clone()).unwrap();
            let (dk, dx) = reference::conv2d_backward(input, &k, &dh, true);
            grads[2 * i] = dk.into_raw_vec_and_offset().0;
            grads[2 * i + 1] = dh
                .sum_axis(Axis(0))
                .sum_axis(Axis(0))
                .sum_axis(Axis(0))
                .to_vec();
            da = dx;
        }
        for (w, g) in weights.iter_mut().zip(&grads) {
            for (v, d) in w.iter_mut().zip(g) {
                *v -= lr * d;
            }
        }
    }
    Reference { weights, losses }
}

/// Test accuracy of `weights` on the first `count` test images.
pub fn accuracy(net: Net, weights: &[Vec<f64>], count: usize, exact: bool) -> f64 {
    let (_, pixels) = mnist::images("t10k");
    let labels = mnist::labels("t10k");
    let mut hits = 0;
    for from in (0..count).step_by(100) {
        let n = 100.min(count - from);
        let (_, z) = logits(net, weights, &images(&pixels, from, n), exact);
        for i in 0..n {
            let row: Vec<f64> = z.row(i).to_vec();
            hits += (reference::argmax(&row) == labels[from + i] as usize) as usize;
        }
    }
    hits as f64 / count as f64
}

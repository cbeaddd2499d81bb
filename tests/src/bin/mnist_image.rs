//! Writes MNIST test image `INDEX` as a `[1, 784]` float64 `.npy` (pixels in
//! [0, 1]), the client's input to programs/mnist_dense.mpc, and prints its label.
//!
//! mnist_image INDEX OUT.npy

use mpc_tests::{mnist, write_npy};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(index), Some(out)) = (
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2),
    ) else {
        eprintln!("usage: mnist_image INDEX OUT.npy");
        std::process::exit(2);
    };
    let (n, pixels) = mnist::images("t10k");
    if index >= n {
        eprintln!("index {index} is out of range: the test set has {n} images");
        std::process::exit(2);
    }
    write_npy(
        std::path::Path::new(out),
        &[1, 784],
        &mnist::image(&pixels, index),
    );
    println!("{}", mnist::labels("t10k")[index]);
}

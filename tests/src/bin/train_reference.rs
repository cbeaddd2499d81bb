//! The f64 twin of a private training run: the same network, initial weights
//! and batch order as programs/train_shallow.mpc or train_deep.mpc with
//! `train_files`, trained in plain floating point; prints the loss of the
//! first and last steps and the test accuracy.
//!
//! train_reference [--net shallow|deep] [--steps 468] [--batch 128] [--poly] [--seed 1] [--test 10000]

use mpc_tests::training::{accuracy, initial_weights, train, Options};

fn main() {
    let o = Options(std::env::args().collect());
    let net = o.net();
    let exact = !o.flag("--poly");
    let (steps, batch) = (o.number("--steps", 468), o.number("--batch", 128));
    let started = std::time::Instant::now();
    let weights = initial_weights(net, o.number("--seed", 1) as u64);
    let trained = train(net, weights, steps, batch, 0.01, exact);
    let test = o.number("--test", 10_000);
    let acc = accuracy(net, &trained.weights, test, exact);
    println!(
        "{net:?}, {} ReLU, {steps} steps of {batch}: loss {:.4} -> {:.4}; test accuracy {:.2}% on {test} images ({:.1} s)",
        if exact { "exact" } else { "polynomial" },
        trained.losses.first().copied().unwrap_or(f64::NAN),
        trained.losses.last().copied().unwrap_or(f64::NAN),
        100.0 * acc,
        started.elapsed().as_secs_f64()
    );
}

//! Writes the files of a private training run of programs/train_shallow.mpc or
//! train_deep.mpc: DIR/data (the data owner's MNIST batches, uint8) and
//! DIR/model (the model owner's initial weights).
//!
//! train_files DIR [--net shallow|deep|lenet] [--epochs 1] [--steps 468] [--batch 128]
//!                 [--test-steps 100] [--test-batch 100] [--seed 1]
//!
//! For LeNet the training images are `--epochs` passes (train_lenet.mpc's EPOCHS).

use mpc_tests::training::{write_run_files, Options};

fn main() {
    let o = Options(std::env::args().collect());
    let Some(dir) = o.0.get(1).filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: train_files DIR [--net shallow|deep|lenet] [--epochs E] [--steps S] [--batch B] [--test-steps T] [--test-batch TB] [--seed N]");
        std::process::exit(2);
    };
    let net = o.net();
    let (steps, batch) = (o.number("--steps", 468), o.number("--batch", 128));
    let (test_steps, test_batch) = (o.number("--test-steps", 100), o.number("--test-batch", 100));
    let seed = o.number("--seed", 1) as u64;
    write_run_files(
        std::path::Path::new(dir),
        net,
        (o.number("--epochs", 1), steps, batch),
        (test_steps, test_batch),
        seed,
    );
    println!(
        "wrote {dir}/data ({steps} batches of {batch} training images, {test_steps} of {test_batch} test images) and {dir}/model ({net:?} network)"
    );
}

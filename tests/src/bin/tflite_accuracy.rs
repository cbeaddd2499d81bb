//! The imported MNIST model (../shared/models) under the clear backend over the
//! MNIST test set, against TFLite's reference-kernel logits: how many images
//! give bit-identical logits, how many logits are within one unit, and the
//! top-1 accuracy beside the reference's.
//!
//! With `--rep3`, each image runs under rep3 (three parties over TLS in this process).
//!
//! cargo run --release -p mpc-tests --bin tflite_accuracy -- [IMAGES] [--probabilistic] [--rep3]

use mpc_tests::*;
use mpcc::tflite::import::{import, Reveal};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let exact = !args.iter().any(|a| a == "--probabilistic");
    let rep3 = args.iter().any(|a| a == "--rep3");
    let bytes = std::fs::read(shared_dir().join("models/MNISTnet_uint8_quant.tflite"))
        .expect("the shared model");
    let model = mpcc::tflite::parse(&bytes).expect("a valid model");
    let im = import(&model, "MNISTnet_uint8_quant.tflite", Reveal::Logits).expect("importable");
    let c = compile_text(
        &im.program
            .replace("const EXACT = false;", &format!("const EXACT = {exact};")),
        Default::default(),
    );
    let reference = {
        let b = std::fs::read(shared_dir().join("models/MNISTnet_uint8_quant.t10k_ref_logits.npy"))
            .unwrap();
        npyz::NpyFile::new(&b[..])
            .unwrap()
            .into_vec::<u8>()
            .unwrap()
    };
    let (_, pixels) = mnist::images("t10k");
    let labels = mnist::labels("t10k");
    let weights = weight_values(&im);
    let (mut identical, mut within_one, mut correct, mut reference_correct) = (0, 0, 0, 0);
    for i in 0..count {
        let mut values = weights.clone();
        values.push(("image", mnist::raw_image(&pixels, i)));
        let ins = inputs(&c.program, &values);
        let got = if rep3 {
            // Party 1, the client, receives the logits.
            output(&c.program, &run_rep3(&c.program, &ins)[1], "logits")
        } else {
            output(&c.program, &run_clear(&c.program, &ins, i as u64), "logits")
        };
        let want: Vec<f64> = reference[i * 10..(i + 1) * 10]
            .iter()
            .map(|&v| v as f64)
            .collect();
        identical += (got == want) as usize;
        within_one += got
            .iter()
            .zip(&want)
            .filter(|(g, w)| (*g - *w).abs() <= 1.0)
            .count();
        correct += (reference::argmax(&got) == labels[i] as usize) as usize;
        reference_correct += (reference::argmax(&want) == labels[i] as usize) as usize;
    }
    println!(
        "backend: {}; rounding: {}",
        if rep3 { "rep3" } else { "clear" },
        if exact { "exact" } else { "probabilistic" }
    );
    println!(
        "images: {count}; logits bit-identical to the reference on {identical} ({:.2}%)",
        100.0 * identical as f64 / count as f64
    );
    println!(
        "logit values within one unit: {:.2}%",
        100.0 * within_one as f64 / (10 * count) as f64
    );
    println!(
        "top-1 accuracy: {:.2}% (reference {:.2}%)",
        100.0 * correct as f64 / count as f64,
        100.0 * reference_correct as f64 / count as f64
    );
}

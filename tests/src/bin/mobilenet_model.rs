//! Writes a MobileNet V1 quantized TFLite model with random weights (see
//! `mpc_tests::mobilenet`), to import with `mpcc import`: uint8 with per-tensor
//! filters, or with `--int8` int8 with per-channel filters.
//!
//! cargo run --release -p mpc-tests --bin mobilenet_model -- WIDTH RESOLUTION OUT.tflite [SEED] [--int8]

use mpc_tests::mobilenet::Quantized;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: mobilenet_model WIDTH RESOLUTION OUT.tflite [SEED] [--int8]";
    let (Some(width), Some(resolution), Some(out)) = (
        args.get(1).and_then(|s| s.parse::<f64>().ok()),
        args.get(2).and_then(|s| s.parse::<usize>().ok()),
        args.get(3),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    if !(0.25..=1.0).contains(&width) || !(32..=512).contains(&resolution) {
        eprintln!("WIDTH must be in [0.25, 1.0] and RESOLUTION in [32, 512]\n{usage}");
        std::process::exit(2);
    }
    let seed = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let quantized = if args.iter().any(|a| a == "--int8") {
        Quantized::Int8PerChannel
    } else {
        Quantized::UInt8PerTensor
    };
    let bytes = mpc_tests::mobilenet::mobilenet_v1(width, resolution, quantized, seed);
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(1);
    }
}

//! One secure inference of imported quantized TFLite models under rep3, beside
//! MP-SPDZ's figures from ../shared/peers/MP-SPDZ.md (a benchmark, not a test).
//!
//! cargo bench -p mpc-tests --bench tflite
//!
//! Models: MobileNet V1 0.25 at 128x128 (random uint8 weights, built by
//! `mpc_tests::mobilenet`) and the shared MNIST model. Each is imported with
//! `--reveal argmax` (MP-SPDZ's MobileNet run reveals the argmax too) and run
//! with the default probabilistic rounding and with exact rounding. The three
//! parties run as threads of one process over TLS on loopback, sharing the two
//! cores as MP-SPDZ's processes did. Time is the whole run of the slowest party
//! (input sharing included, as in MP-SPDZ's MobileNet figures), the best of 3.

use mpc_tests::mobilenet::Quantized;
use mpc_tests::*;
use mpcc::tflite::import::{import, Reveal};
use std::time::Instant;

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Measured {
    import_seconds: f64,
    compile_seconds: f64,
    run_seconds: f64,
    megabytes: Vec<f64>,
    rounds: u64,
}

fn measure(model_bytes: &[u8], image: Vec<f64>, exact: bool) -> Measured {
    let start = Instant::now();
    let model = mpcc::tflite::parse(model_bytes).expect("a valid model");
    let im = import(&model, "model.tflite", Reveal::Argmax).expect("importable");
    let import_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let c = compile_text(
        &im.program
            .replace("const EXACT = false;", &format!("const EXACT = {exact};")),
        Default::default(),
    );
    let compile_seconds = start.elapsed().as_secs_f64();
    let mut values = weight_values(&im);
    values.push(("image", image));
    let ins = inputs(&c.program, &values);
    let mut best = f64::MAX;
    let mut last = Vec::new();
    for _ in 0..3 {
        last = run_rep3(&c.program, &ins);
        best = best.min(last.iter().map(|o| o.seconds).fold(0.0, f64::max));
    }
    Measured {
        import_seconds,
        compile_seconds,
        run_seconds: best,
        megabytes: last
            .iter()
            .map(|o| o.figures.bytes_sent as f64 / 1e6)
            .collect(),
        rounds: last[0].figures.rounds,
    }
}

fn main() {
    mpcvm::memory::keep_freed_memory();
    let mut rng = TestRng(7);
    let mobilenet = mpc_tests::mobilenet::mobilenet_v1(0.25, 128, Quantized::UInt8PerTensor, 1);
    let mnist = std::fs::read(shared_dir().join("models/MNISTnet_uint8_quant.tflite"))
        .expect("the shared model");
    let (_, pixels) = mnist::images("t10k");
    let rows = [
        (
            "MobileNet V1 0.25_128",
            &mobilenet,
            rng.ints(128 * 128 * 3, 0, 256),
            Some(1.64),
        ),
        (
            "MNIST (shared model)",
            &mnist,
            mnist::raw_image(&pixels, 0),
            None,
        ),
    ];
    println!(
        "{:<22} {:<13} {:>9} {:>10} {:>9} {:>24} {:>7} | {:>9} {:>7}",
        "rep3, this machine",
        "rounding",
        "import s",
        "compile s",
        "run s",
        "MB sent by party 0/1/2",
        "rounds",
        "MP-SPDZ s",
        "ratio"
    );
    for (name, bytes, image, peer) in rows {
        for exact in [false, true] {
            let m = measure(bytes, image.clone(), exact);
            let megabytes: Vec<String> = m.megabytes.iter().map(|b| format!("{b:.2}")).collect();
            let (peer_text, ratio) = match peer {
                Some(p) => (format!("{p:.2}"), format!("{:.2}x", m.run_seconds / p)),
                None => ("-".into(), "-".into()),
            };
            println!(
                "{:<22} {:<13} {:>9.3} {:>10.3} {:>9.3} {:>24} {:>7} | {:>9} {:>7}",
                name,
                if exact { "exact" } else { "probabilistic" },
                m.import_seconds,
                m.compile_seconds,
                m.run_seconds,
                megabytes.join(" / "),
                m.rounds,
                peer_text,
                ratio
            );
        }
    }
    println!("MobileNet V1 0.25_128 elsewhere (../shared/peers/MP-SPDZ.md):");
    println!("  MP-SPDZ rep3 on this kind of machine, tuned (-Z 3, trunc_pr): 1.64-1.69 s, 38.0 MB sent by party 0, ~14,147 rounds, compile 4.4 s;");
    println!(
        "  MP-SPDZ rep3, default (-R 64): 6.53-6.69 s, 760 MB sent by party 0, ~23,103 rounds;"
    );
    println!("  MP-SPDZ issue #420: 3.58 s with preprocessing (rep3, probabilistic truncation);");
    println!("  Dalskov, Escudero, Keller (PETS 2020): 0.9-25.8 s passive honest majority over the 16 models from 0.25_128 to 1.0_224.");
}

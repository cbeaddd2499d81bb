//! rep4 on this machine: the rows of issue 11 beside MP-SPDZ's rep4 figures
//! from ../shared/peers/MP-SPDZ.md (tuned column), with our rep3 on the same
//! programs in the same process: what active security costs over passive
//! (a benchmark, not a test).
//!
//! cargo bench -p mpc-tests --bench rep4 [-- abcdm]   (rows to run; all by default)
//!
//! The parties run as threads of one process over TLS on loopback, sharing
//! the machine's two cores as MP-SPDZ's processes did. Rows a-d are the
//! difference of a program and its baseline (`peer_rows`), as in the rep3
//! bench; MobileNet V1 0.25_128 (random uint8 weights, argmax revealed) is the
//! whole run, input sharing included, as MP-SPDZ's figure. Time: the slowest
//! party, the median of 5 runs, rep3 and rep4 alternating; bytes: party 0;
//! rounds.

use mpc_tests::mobilenet::Quantized;
use mpc_tests::*;
use mpcc::driver::Compiled;
use mpcc::elaborate::Options;
use mpcc::tflite::import::{import, Reveal};
use mpcvm::run::Protocol;

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Seconds (median of the runs, slowest party), bytes sent by party 0, rounds.
#[derive(Clone, Copy)]
struct Figures {
    seconds: f64,
    bytes: u64,
    rounds: u64,
}

fn run(c: &Compiled, ins: &[Option<mpcvm::ring::RingTensor>], protocol: Protocol) -> Figures {
    let parties = if protocol == Protocol::Rep4 { 4 } else { 3 };
    let out: Vec<_> = run_parties(&c.program, protocol, ins, vec![Vec::new(); parties])
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    Figures {
        seconds: out.iter().map(|o| o.seconds).fold(0.0, f64::max),
        bytes: out[0].figures.bytes_sent,
        rounds: out[0].figures.rounds,
    }
}

/// Both protocols on one program, alternating, five runs each (four
/// threads on two cores make single runs of small rows noisy).
fn measure(c: &Compiled, ins: &[Option<mpcvm::ring::RingTensor>]) -> [Figures; 2] {
    let mut runs: [Vec<Figures>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..5 {
        for (i, protocol) in [Protocol::Rep4, Protocol::Rep3].into_iter().enumerate() {
            runs[i].push(run(c, ins, protocol));
        }
    }
    runs.map(|mut r| {
        r.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        r[2]
    })
}

fn minus(a: Figures, b: Figures) -> Figures {
    Figures {
        seconds: (a.seconds - b.seconds).max(0.0),
        bytes: a.bytes - b.bytes,
        rounds: a.rounds - b.rounds,
    }
}

fn print_row(name: &str, [rep4, rep3]: [Figures; 2], peer: (f64, f64, u64)) {
    println!(
        "{:<24} {:>8.4} {:>8.3} {:>7} | {:>8.3} {:>7.2} {:>7} | {:>6.2}x {:>6.2}x {:>6.2}x | {:>8.4} {:>8.3} {:>6.2}x {:>6.2}x",
        name,
        rep4.seconds,
        rep4.bytes as f64 / 1e6,
        rep4.rounds,
        peer.0,
        peer.1,
        peer.2,
        rep4.seconds / peer.0,
        rep4.bytes as f64 / 1e6 / peer.1,
        rep4.rounds as f64 / peer.2 as f64,
        rep3.seconds,
        rep3.bytes as f64 / 1e6,
        rep4.seconds / rep3.seconds,
        rep4.bytes as f64 / rep3.bytes as f64,
    );
}

fn main() {
    mpcvm::memory::keep_freed_memory();
    let chosen = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "abcdm".into());
    // MP-SPDZ's rep4, tuned: seconds, MB sent by party 0, rounds.
    let peers = [
        (0.366, 16.0, 8),
        (0.383, 10.1, 1141),
        (0.046, 0.92, 76),
        (0.423, 1.9, 1835),
    ];
    println!(
        "{:<24} {:>8} {:>8} {:>7} | {:>8} {:>7} {:>7} | {:>7} {:>7} {:>7} | {:>8} {:>8} {:>7} {:>7}",
        "rep4, this machine",
        "seconds",
        "MB (p0)",
        "rounds",
        "MP-SPDZ",
        "MB",
        "rounds",
        "time x",
        "bytes x",
        "rnds x",
        "rep3 s",
        "rep3 MB",
        "4/3 t",
        "4/3 B"
    );
    for ((row, peer), letter) in peer_rows::rows().iter().zip(peers).zip('a'..) {
        if !chosen.contains(letter) {
            continue;
        }
        let mut rng = TestRng(99);
        let values = (row.values)(&mut rng);
        let (with, without) = row.programs();
        let compiled = |text: &str| compile_text(text, Options::default());
        let (with, without) = (compiled(&with), compiled(&without));
        let [w4, w3] = measure(&with, &inputs(&with.program, &values));
        let [o4, o3] = measure(&without, &inputs(&without.program, &values));
        print_row(row.name, [minus(w4, o4), minus(w3, o3)], peer);
    }
    if chosen.contains('m') {
        let model = mpc_tests::mobilenet::mobilenet_v1(0.25, 128, Quantized::UInt8PerTensor, 1);
        let model = mpcc::tflite::parse(&model).expect("a valid model");
        let im = import(&model, "model.tflite", Reveal::Argmax).expect("importable");
        let c = compile_text(&im.program, Options::default());
        let mut values = weight_values(&im);
        values.push(("image", TestRng(7).ints(128 * 128 * 3, 0, 256)));
        let figures = measure(&c, &inputs(&c.program, &values));
        print_row("MobileNet V1 0.25_128", figures, (5.17, 98.5, 20934));
        let all = mpcvm::backend::rep4::bytes_sent(&c.program);
        println!(
            "MobileNet under rep4, MB sent by parties 0-3: {:?} (all: {:.1}; MP-SPDZ's all: 266)",
            all.map(|b| (b as f64 / 1e5).round() / 10.0),
            all.iter().sum::<u64>() as f64 / 1e6
        );
    }
}

//! rep3 on this machine: the rows of issue 3 beside MP-SPDZ's figures from
//! ../shared/peers/MP-SPDZ.md (a benchmark, not a test).
//!
//! cargo bench -p mpc-tests --bench rep3
//!
//! The three parties run as threads of one process over TLS on loopback,
//! sharing the machine's cores as MP-SPDZ's three processes did. Each row
//! (`peer_rows`) is the difference of a program and its baseline (time: the
//! best of 5 runs, of the slowest party, since the machine is shared and
//! noisy; bytes: party 0; rounds).

use mpc_tests::*;

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use mpcc::elaborate::Options;

fn measure(text: &str, values: &[(&str, Vec<f64>)]) -> (f64, u64, u64) {
    let c = compile_text(text, Options::default());
    let ins = inputs(&c.program, values);
    let mut best = f64::MAX;
    let mut figures = (0, 0);
    for _ in 0..5 {
        let out = run_rep3(&c.program, &ins);
        best = best.min(out.iter().map(|o| o.seconds).fold(0.0, f64::max));
        figures = (out[0].figures.bytes_sent, out[0].figures.rounds);
    }
    (best, figures.0, figures.1)
}

fn main() {
    mpcvm::memory::keep_freed_memory();
    // MP-SPDZ's best rep3 figures: seconds, MB sent by party 0, rounds.
    let peers = [
        (0.127, 8.0, 2),
        (0.083, 3.9, 821),
        (0.012, 0.26, 36),
        (0.132, 0.65, 1294),
    ];
    println!(
        "{:<24} {:>10} {:>10} {:>8} | {:>10} {:>10} {:>8} | {:>8}",
        "rep3, this machine",
        "seconds",
        "MB (p0)",
        "rounds",
        "MP-SPDZ s",
        "MB (p0)",
        "rounds",
        "time x"
    );
    for (row, peer) in peer_rows::rows().iter().zip(peers) {
        let mut rng = TestRng(99);
        let values = (row.values)(&mut rng);
        let (with, without) = row.programs();
        let (t1, b1, r1) = measure(&with, &values);
        let (t0, b0, r0) = measure(&without, &values);
        let (t, b, r) = ((t1 - t0).max(0.0), b1 - b0, r1 - r0);
        println!(
            "{:<24} {:>10.4} {:>10.3} {:>8} | {:>10.3} {:>10.2} {:>8} | {:>7.2}x",
            row.name,
            t,
            b as f64 / 1e6,
            r,
            peer.0,
            peer.1,
            peer.2,
            t / peer.0
        );
    }
}

//! semi2k on this machine, two parties: rows a to d of
//! ../shared/peers/MP-SPDZ.md beside MP-SPDZ's semi2k (whose times include its
//! OT preprocessing). A benchmark, not a test.
//!
//! cargo bench -p mpc-tests --bench semi2k [-- ROWS]
//!
//! ROWS picks rows by letter (e.g. `ab`); all rows without it.
//! The parties run as threads of one process over TLS on loopback, sharing
//! the machine's 2 cores as MP-SPDZ's two processes did. Each row
//! (`peer_rows`) is the difference of a program and its baseline. With
//! `--prep ot` a run's time is its offline phase (the parties making the
//! triples, bits and masks by OT) plus its online phase, each of the slowest
//! party, the best of 3 runs; bytes are party 0's, offline and online. The
//! dealer rows (INSECURE: a trusted third party) show the online phase with
//! preprocessing for free.

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::run::Prep;

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Seconds (offline, online) of the slowest party and bytes (offline, online)
/// sent by party 0, the best of `runs` runs.
fn measure(text: &str, values: &[(&str, Vec<f64>)], prep: Prep, runs: usize) -> [f64; 4] {
    let c = compile_text(
        text,
        Options {
            mask_reuse: true,
            ..Options::default()
        },
    );
    let ins = inputs(&c.program, values);
    let mut best = [f64::MAX, f64::MAX, 0.0, 0.0];
    for _ in 0..runs {
        let out = run_semi2k(&c.program, &ins, 2, prep);
        let offline = out
            .iter()
            .map(|o| o.offline.map_or(0.0, |f| f.seconds))
            .fold(0.0, f64::max);
        let online = out.iter().map(|o| o.seconds).fold(0.0, f64::max);
        if offline + online < best[0] + best[1] {
            best[0] = offline;
            best[1] = online;
        }
        best[2] = out[0].offline.map_or(0, |f| f.comm.bytes_sent) as f64;
        best[3] = out[0].figures.bytes_sent as f64;
    }
    best
}

fn main() {
    mpcvm::memory::keep_freed_memory();
    // MP-SPDZ's best semi2k figures: seconds, MB sent by party 0.
    let peers = [
        (6.85, 1046.0),
        (1.89, 154.0),
        (13.0, 2200.0),
        (14.8, 2426.0),
    ];
    println!(
        "{:<22} {:>9} {:>9} {:>9} {:>10} | {:>9} {:>9} | {:>7} {:>7} | {:>10}",
        "semi2k, 2 parties",
        "offline s",
        "online s",
        "total s",
        "MB (p0)",
        "MP-SPDZ s",
        "MB (p0)",
        "time x",
        "bytes x",
        "dealer s"
    );
    let picked = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "abcd".into());
    for (row, peer) in peer_rows::rows().iter().zip(peers) {
        if !picked.contains(&row.name[..1]) {
            continue;
        }
        let mut rng = TestRng(99);
        let values = (row.values)(&mut rng);
        let (with, without) = row.programs();
        let diff =
            |a: [f64; 4], b: [f64; 4]| -> [f64; 4] { [0, 1, 2, 3].map(|k| (a[k] - b[k]).max(0.0)) };
        let ot = diff(
            measure(&with, &values, Prep::Ot, 3),
            measure(&without, &values, Prep::Ot, 3),
        );
        let dealt = diff(
            measure(&with, &values, Prep::Dealer, 3),
            measure(&without, &values, Prep::Dealer, 3),
        );
        let (seconds, megabytes) = (ot[0] + ot[1], (ot[2] + ot[3]) / 1e6);
        println!(
            "{:<22} {:>9.3} {:>9.3} {:>9.3} {:>10.1} | {:>9.2} {:>9.0} | {:>6.2}x {:>6.2}x | {:>10.3}",
            row.name,
            ot[0],
            ot[1],
            seconds,
            megabytes,
            peer.0,
            peer.1,
            seconds / peer.0,
            megabytes / peer.1,
            dealt[1]
        );
    }
}

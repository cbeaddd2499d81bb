//! spdz2k on this machine, two parties: rows a to d of
//! ../shared/peers/MP-SPDZ.md (row b with 10k comparisons, as MP-SPDZ's
//! spdz2k row) beside MP-SPDZ's spdz2k, preprocessing by OT included as in
//! its figures; then the online phase alone (with a dealer's material,
//! INSECURE, a test mode) beside our semi2k's online phase (dealer too):
//! what active security costs over passive. A benchmark, not a test.
//!
//! cargo bench -p mpc-tests --bench spdz2k [-- ROWS]
//!
//! ROWS picks rows by letter (e.g. `ac`); all rows without it. The parties
//! (and the dealer) run as threads of one process over TLS on loopback,
//! sharing the machine's two cores as MP-SPDZ's processes did. Each row is
//! the difference of a program and its baseline (`peer_rows`): the time of
//! the slowest party (offline and online phases; with preprocessing by OT
//! one run, the online phase alone the median of 3), the bytes and rounds
//! of party 0.

use mpc_tests::peer_rows::{rows, Row};
use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::run::{Prep, Protocol};

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The seconds of the slowest party (median of `runs`), party 0's bytes and
/// rounds: of the offline and online phases together with preprocessing by
/// OT, of the online phase alone with a dealer's.
fn measure(
    protocol: Protocol,
    prep: Prep,
    text: &str,
    values: &[(&str, Vec<f64>)],
    runs: usize,
) -> [f64; 3] {
    let c = compile_text(
        text,
        Options {
            mask_reuse: true,
            ..Options::default()
        },
    );
    let ins = inputs(&c.program, values);
    let mut seconds = Vec::new();
    let mut figures = [0.0; 3];
    for _ in 0..runs {
        let out: Vec<_> = run_beaver(protocol, &c.program, &ins, 2, prep)
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let offline = |o: &mpcvm::interp::RunOutcome| o.offline.unwrap_or_default();
        seconds.push(
            out.iter()
                .map(|o| o.seconds + offline(o).seconds)
                .fold(0.0, f64::max),
        );
        figures[1] = (out[0].figures.bytes_sent + offline(&out[0]).comm.bytes_sent) as f64;
        figures[2] = (out[0].figures.rounds + offline(&out[0]).comm.rounds) as f64;
    }
    seconds.sort_by(f64::total_cmp);
    figures[0] = seconds[seconds.len() / 2];
    figures
}

/// Row b with 10k comparisons, as MP-SPDZ's spdz2k row.
fn ten_thousand_comparisons() -> Row {
    Row {
        name: "b. 10k comparisons",
        setup: "let x: sint<63>[10000] = input(a); let y: sint<63>[10000] = input(b);",
        operation: "let r = x < y;",
        result: "x - y",
        values: |r| {
            vec![
                ("x", r.ints(10_000, -(1 << 52), 1 << 52)),
                ("y", r.ints(10_000, -(1 << 52), 1 << 52)),
            ]
        },
    }
}

fn main() {
    mpcvm::memory::keep_freed_memory();
    println!(
        "{:<20} {:>8} {:>9} {:>7} | {:>7} {:>8} | {:>6} {:>6} | {:>8} {:>7} | {:>8} {:>7} | {:>6} {:>6}",
        "spdz2k, 2 parties",
        "total s",
        "MB (p0)",
        "rounds",
        "MP-SPDZ",
        "MB",
        "time x",
        "MB x",
        "online s",
        "MB",
        "semi2k s",
        "MB",
        "time x",
        "MB x"
    );
    let picked = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "abcd".into());
    let [a, _, c, d] = rows();
    // MP-SPDZ's spdz2k (preprocessing included): seconds, MB sent by party
    // 0; the best of its two columns (b and c tuned, d default).
    let peers = [
        (98.9, 19_171.0),
        (21.8, 2_185.0),
        (235.2, 43_746.0),
        (393.3, 73_524.0),
    ];
    for (row, peer) in [a, ten_thousand_comparisons(), c, d].into_iter().zip(peers) {
        if !picked.contains(&row.name[..1]) {
            continue;
        }
        let mut rng = TestRng(99);
        let values = (row.values)(&mut rng);
        let (with, without) = row.programs();
        let diff = |p: Protocol, prep: Prep, runs: usize| -> [f64; 3] {
            let (a, b) = (
                measure(p, prep, &with, &values, runs),
                measure(p, prep, &without, &values, runs),
            );
            [0, 1, 2].map(|k| (a[k] - b[k]).max(0.0))
        };
        let total = diff(Protocol::Spdz2k, Prep::Ot, 1);
        let online = diff(Protocol::Spdz2k, Prep::Dealer, 3);
        let semi = diff(Protocol::Semi2k, Prep::Dealer, 3);
        println!(
            "{:<20} {:>8.2} {:>9.1} {:>7} | {:>7.1} {:>8.0} | {:>5.2}x {:>5.2}x | {:>8.3} {:>7.1} | {:>8.3} {:>7.1} | {:>5.1}x {:>5.1}x",
            row.name,
            total[0],
            total[1] / 1e6,
            total[2],
            peer.0,
            peer.1,
            total[0] / peer.0,
            total[1] / 1e6 / peer.1,
            online[0],
            online[1] / 1e6,
            semi[0],
            semi[1] / 1e6,
            online[0] / semi[0],
            online[1] / semi[1]
        );
    }
}

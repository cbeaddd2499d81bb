//! spdz2k's online phase on this machine, two parties: rows a to d of
//! ../shared/peers/MP-SPDZ.md (row b with 10k comparisons, as MP-SPDZ's
//! spdz2k row), beside our semi2k's online phase on the same rows, both
//! with a dealer's preprocessing (INSECURE; spdz2k's preprocessing by OT is
//! not built yet, so no figure here compares with MP-SPDZ's, whose times
//! include its preprocessing). A benchmark, not a test.
//!
//! cargo bench -p mpc-tests --bench spdz2k [-- ROWS]
//!
//! ROWS picks rows by letter (e.g. `ab`); all rows without it. The parties
//! (and the dealer) run as threads of one process over TLS on loopback. Each
//! row is the difference of a program and its baseline (`peer_rows`): the
//! online time of the slowest party, the median of 3 runs, and the bytes
//! and rounds of party 0.

use mpc_tests::peer_rows::{rows, Row};
use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::run::{Prep, Protocol};

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The online seconds of the slowest party (median of `runs`), party 0's
/// bytes and rounds.
fn measure(protocol: Protocol, text: &str, values: &[(&str, Vec<f64>)], runs: usize) -> [f64; 3] {
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
        let out: Vec<_> = run_beaver(protocol, &c.program, &ins, 2, Prep::Dealer)
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        seconds.push(out.iter().map(|o| o.seconds).fold(0.0, f64::max));
        figures[1] = out[0].figures.bytes_sent as f64;
        figures[2] = out[0].figures.rounds as f64;
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
        "{:<24} {:>9} {:>10} {:>8} | {:>9} {:>10} {:>8} | {:>7} {:>7}",
        "online, 2 parties, dealer",
        "spdz2k s",
        "MB (p0)",
        "rounds",
        "semi2k s",
        "MB (p0)",
        "rounds",
        "time x",
        "bytes x"
    );
    let picked = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "abcd".into());
    let [a, _, c, d] = rows();
    for row in [a, ten_thousand_comparisons(), c, d] {
        if !picked.contains(&row.name[..1]) {
            continue;
        }
        let mut rng = TestRng(99);
        let values = (row.values)(&mut rng);
        let (with, without) = row.programs();
        let diff = |p: Protocol| -> [f64; 3] {
            let (a, b) = (
                measure(p, &with, &values, 3),
                measure(p, &without, &values, 3),
            );
            [0, 1, 2].map(|k| (a[k] - b[k]).max(0.0))
        };
        let (spdz, semi) = (diff(Protocol::Spdz2k), diff(Protocol::Semi2k));
        println!(
            "{:<24} {:>9.3} {:>10.1} {:>8} | {:>9.3} {:>10.1} {:>8} | {:>6.1}x {:>6.1}x",
            row.name,
            spdz[0],
            spdz[1] / 1e6,
            spdz[2],
            semi[0],
            semi[1] / 1e6,
            semi[2],
            spdz[0] / semi[0],
            spdz[1] / semi[1]
        );
    }
}

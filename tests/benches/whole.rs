//! Whole programs under rep3 as a user runs them, beside MP-SPDZ's side-by-side
//! figures of 2026-12-02 from ../shared/peers/MP-SPDZ.md (a benchmark, not a test).
//!
//! cargo build --release && cargo bench -p mpc-tests --bench whole
//!
//! Each row writes its inputs to `.npy` files, compiles its program and runs
//! `target/release/mpcvm run-local --protocol rep3` three times: three party
//! processes over TLS on loopback, reading their inputs from the files and
//! sharing them, as MP-SPDZ's processes did. "own" is the slowest party's
//! reported `seconds` (input sharing included, connection set-up not, as
//! MP-SPDZ's `Time =`; a party reads and checks its `.npy` files before it
//! connects, so their reading falls outside it), "wall" the whole `run-local`
//! command (file reading, certificates, processes, TLS and output files
//! included); each is the median of the three.
//! Ratios are against MP-SPDZ's figures measured on this kind of machine.

use mpc_tests::*;
use std::path::Path;
use std::time::Instant;

struct Row {
    name: &'static str,
    /// MP-SPDZ's side-by-side figures: own seconds, wall seconds.
    peer: (f64, f64),
    program: &'static str,
    /// Each input: its party, name, shape and values.
    inputs: fn(&mut TestRng) -> Vec<(usize, &'static str, Vec<usize>, Vec<f64>)>,
}

const RUNS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One `run-local` command: (slowest party's seconds, wall seconds, bytes sent by party 0).
fn run_once(program: &Path, dir: &Path) -> (f64, f64, u64) {
    let start = Instant::now();
    let inputs = [(0, dir.join("party0")), (1, dir.join("party1"))];
    let stdout = run_local_rep3(program, &inputs, &dir.join("out"));
    let wall = start.elapsed().as_secs_f64();
    let mut own: f64 = 0.0;
    let mut bytes = 0;
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let figures: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        own = own.max(figures["seconds"].as_f64().expect("seconds"));
        if figures["party"] == 0 {
            bytes = figures["bytes_sent"].as_u64().expect("bytes_sent");
        }
    }
    (own, wall, bytes)
}

fn main() {
    let rows = [
        Row {
            name: "a. 1M multiplications",
            peer: (0.165, 0.321),
            program: "party a = 0; party b = 1; fn main() {
                let x: sint<64>[1000000] = input(a); let y: sint<64>[1000000] = input(b);
                let r = sum(x * y); reveal r to a; }",
            inputs: |r| {
                vec![
                    (
                        0,
                        "x",
                        vec![1_000_000],
                        r.ints(1_000_000, -1 << 40, 1 << 40),
                    ),
                    (
                        1,
                        "y",
                        vec![1_000_000],
                        r.ints(1_000_000, -1 << 40, 1 << 40),
                    ),
                ]
            },
        },
        Row {
            // MP-SPDZ's sint in a 64-bit ring compares 63-bit values.
            name: "b. 100k comparisons",
            peer: (0.165, 0.273),
            program: "party a = 0; party b = 1; fn main() {
                let x: sint<63>[100000] = input(a); let y: sint<63>[100000] = input(b);
                let r = sum(x < y); reveal r to a; }",
            inputs: |r| {
                vec![
                    (0, "x", vec![100_000], r.ints(100_000, -(1 << 52), 1 << 52)),
                    (1, "y", vec![100_000], r.ints(100_000, -(1 << 52), 1 << 52)),
                ]
            },
        },
        Row {
            name: "c. 128^3 fixed matmul",
            peer: (0.018, 0.117),
            program: "party a = 0; party b = 1; fn main() {
                let x: sfix<16>[128, 128] = input(a); let y: sfix<16>[128, 128] = input(b);
                let r = sum(x @ y); reveal r to a; }",
            inputs: |r| {
                vec![
                    (0, "x", vec![128, 128], r.vec(16384, -1.0, 1.0)),
                    (1, "y", vec![128, 128], r.vec(16384, -1.0, 1.0)),
                ]
            },
        },
    ];
    let root = repo_root().join("target/bench-whole");
    println!(
        "{:<24} {:>9} {:>9} {:>9} | {:>9} {:>9} | {:>7} {:>7}",
        "rep3, whole program", "own s", "wall s", "MB (p0)", "MP-SPDZ", "wall s", "own x", "wall x"
    );
    for (i, row) in rows.iter().enumerate() {
        let dir = root.join(format!("row{i}"));
        std::fs::remove_dir_all(&dir).ok();
        for p in 0..2 {
            std::fs::create_dir_all(dir.join(format!("party{p}"))).unwrap();
        }
        let mut rng = TestRng(99);
        for (party, name, shape, values) in (row.inputs)(&mut rng) {
            write_npy(
                &dir.join(format!("party{party}/{name}.npy")),
                &shape,
                &values,
            );
        }
        let compiled = compile_text(row.program, Default::default());
        let program = dir.join("program.mpcb");
        std::fs::write(&program, compiled.program.encode()).unwrap();
        let runs: Vec<_> = (0..RUNS).map(|_| run_once(&program, &dir)).collect();
        let own = median(runs.iter().map(|r| r.0).collect());
        let wall = median(runs.iter().map(|r| r.1).collect());
        println!(
            "{:<24} {:>9.4} {:>9.4} {:>9.2} | {:>9.3} {:>9.3} | {:>6.2}x {:>6.2}x",
            row.name,
            own,
            wall,
            runs[0].2 as f64 / 1e6,
            row.peer.0,
            row.peer.1,
            own / row.peer.0,
            wall / row.peer.1
        );
    }
}

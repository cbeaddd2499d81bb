//! Compile time and bytecode size of every example (a benchmark, not a test).
//!
//! cargo bench -p mpc-tests --bench compile
//!
//! Times are medians of repeated compilations in this process; the last column
//! is each example's time as a ratio of the smallest example's, measured in the
//! same run, because absolute times on shared machines are noisy.

use mpc_tests::{example_names, program_path};
use mpcc::driver::compile_file;
use mpcc::elaborate::Options;
use std::time::Instant;

fn median_seconds(name: &str, runs: usize) -> f64 {
    let path = program_path(name);
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let c = compile_file(&path, Options::default())
                .unwrap_or_else(|f| panic!("{}", f.render()));
            std::hint::black_box(c.bytes.len());
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[runs / 2]
}

fn main() {
    let names = example_names();
    let rows: Vec<(String, f64, usize, usize, usize)> = names
        .iter()
        .map(|n| {
            let c = compile_file(&program_path(n), Options::default())
                .unwrap_or_else(|f| panic!("{}", f.render()));
            let source = std::fs::read_to_string(program_path(n)).unwrap().len();
            (
                n.clone(),
                median_seconds(n, 51),
                c.bytes.len(),
                c.program.code.len(),
                source,
            )
        })
        .collect();
    let baseline = rows.iter().map(|r| r.1).fold(f64::MAX, f64::min);
    println!(
        "{:<14} {:>12} {:>14} {:>13} {:>13} {:>10}",
        "example", "compile ms", "bytecode bytes", "instructions", "source bytes", "vs fastest"
    );
    for (name, secs, bytes, instrs, source) in &rows {
        println!(
            "{:<14} {:>12.3} {:>14} {:>13} {:>13} {:>9.2}x",
            name,
            secs * 1e3,
            bytes,
            instrs,
            source,
            secs / baseline
        );
    }
}

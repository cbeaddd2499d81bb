//! One SGD step of programs/train_shallow.mpc (and train_deep.mpc) under rep3
//! as three processes, beside MP-SPDZ's row e of ../shared/peers/MP-SPDZ.md
//! (a benchmark, not a test).
//!
//! cargo build --release && cargo bench -p mpc-tests --bench train
//!
//! Each network runs twice in one command each, with 2 and with 12 steps of
//! 128 images (no test batches): a step's time is the difference of the
//! slowest party's reported seconds over the 10 extra steps (so connection
//! set-up, input sharing of the weights and the output files cancel out),
//! median of three. Rounds and bytes per step are the cost model's (the tests
//! hold the measured figures to it).

use mpc_tests::training::{write_run_files, Net};
use mpc_tests::*;
use mpcc::elaborate::Options;
use std::path::{Path, PathBuf};

/// MP-SPDZ's best figures for one step of the shallow network (row e).
const PEER: (f64, f64, u64) = (13.1, 113.6, 123_037);

/// The program with `steps` steps and no test batches, compiled to `dir`.
fn compiled(net: Net, steps: usize, dir: &Path) -> (PathBuf, mpcc::driver::Compiled) {
    let name = if net == Net::Deep {
        "train_deep"
    } else {
        "train_shallow"
    };
    let text = std::fs::read_to_string(program_path(name))
        .unwrap()
        .replace("const STEPS = 468;", &format!("const STEPS = {steps};"))
        .replace("const TEST_STEPS = 100;", "const TEST_STEPS = 0;");
    let c = compile_text(&text, Options::default());
    let path = dir.join(format!("{name}_{steps}.mpcb"));
    std::fs::write(&path, &c.bytes).unwrap();
    (path, c)
}

/// The slowest party's seconds for one run-local command on the files in `dir`.
fn seconds(program: &Path, dir: &Path) -> f64 {
    let inputs = [(0, dir.join("data")), (1, dir.join("model"))];
    run_local_rep3(program, &inputs, &dir.join("out"))
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seconds"]
                .as_f64()
                .unwrap()
        })
        .fold(0.0, f64::max)
}

fn main() {
    let (few, many) = (2, 12);
    println!(
        "{:<28} {:>8} {:>8} {:>22} | {:>9} {:>9} {:>8} | {:>7}",
        "rep3, one step of 128",
        "s",
        "rounds",
        "MB sent p0 / p1 / p2",
        "MP-SPDZ s",
        "MB p0",
        "rounds",
        "time x"
    );
    for net in [Net::Shallow, Net::Deep] {
        let dir = repo_root().join(format!("target/bench-train-{net:?}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (short_files, long_files) = (dir.join("few"), dir.join("many"));
        write_run_files(&short_files, net, (1, few, 128), (0, 100), 1);
        write_run_files(&long_files, net, (1, many, 128), (0, 100), 1);
        let (short, a) = compiled(net, few, &dir);
        let (long, b) = compiled(net, many, &dir);
        let mut per_step = Vec::new();
        for _ in 0..3 {
            let t_long = seconds(&long, &long_files);
            let t_short = seconds(&short, &short_files);
            per_step.push((t_long - t_short) / (many - few) as f64);
        }
        per_step.sort_by(f64::total_cmp);
        let step = per_step[1];
        let steps = (many - few) as u64;
        let rounds = (mpcvm::backend::rep3::rounds(&b.program)
            - mpcvm::backend::rep3::rounds(&a.program))
            / steps;
        let (sb, sa) = (
            mpcvm::backend::rep3::bytes_sent(&b.program),
            mpcvm::backend::rep3::bytes_sent(&a.program),
        );
        let mb = |p: usize| (sb[p] - sa[p]) as f64 / steps as f64 / 1e6;
        let peer = if net == Net::Shallow {
            format!("{:>9.1} {:>9.1} {:>8}", PEER.0, PEER.1, PEER.2)
        } else {
            format!("{:>9} {:>9} {:>8}", "-", "-", "-")
        };
        let ratio = if net == Net::Shallow {
            format!("{:>6.3}x", step / PEER.0)
        } else {
            "-".into()
        };
        println!(
            "{:<28} {:>8.3} {:>8} {:>7.1} / {:>5.1} / {:>5.1} | {peer} | {ratio:>7}",
            format!("{net:?}"),
            step,
            rounds,
            mb(0),
            mb(1),
            mb(2)
        );
    }
}

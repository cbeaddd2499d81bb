//! rep3 on this machine: the rows of issue 3 beside MP-SPDZ's figures from
//! ../shared/peers/MP-SPDZ.md (a benchmark, not a test).
//!
//! cargo bench -p mpc-tests --bench rep3
//!
//! The three parties run as threads of one process over TLS on loopback,
//! sharing the machine's cores as MP-SPDZ's three processes did. Each row runs
//! two programs with the same inputs and the same one-element output: the
//! operation, and a baseline without it; the row is their difference (time:
//! the best of 5 runs, of the slowest party, since the machine is shared and
//! noisy; bytes: party 0; rounds), so input sharing, which MP-SPDZ's figures do
//! not include, is left out.

use mpc_tests::*;

/// The allocator mpcvm uses, so the figures are those of the real binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use mpcc::elaborate::Options;

struct Row {
    name: &'static str,
    /// MP-SPDZ's best rep3 figures: seconds, MB sent by party 0, rounds.
    peer: (f64, f64, u64),
    setup: &'static str,
    operation: &'static str,
    result: &'static str,
    values: fn(&mut TestRng) -> Vec<NamedValues>,
}

/// An input's name and values.
type NamedValues = (&'static str, Vec<f64>);

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
    let rows = [
        Row {
            name: "a. 1M multiplications",
            peer: (0.127, 8.0, 2),
            setup: "let x: sint<64>[1000000] = input(a); let y: sint<64>[1000000] = input(b);",
            operation: "let r = x * y;",
            result: "x + y",
            values: |r| {
                vec![
                    ("x", r.ints(1_000_000, -1 << 40, 1 << 40)),
                    ("y", r.ints(1_000_000, -1 << 40, 1 << 40)),
                ]
            },
        },
        Row {
            name: "b. 100k comparisons",
            peer: (0.083, 3.9, 821),
            setup: "let x: sint<63>[100000] = input(a); let y: sint<63>[100000] = input(b);",
            operation: "let r = x < y;",
            result: "x - y",
            values: |r| {
                vec![
                    ("x", r.ints(100_000, -(1 << 52), 1 << 52)),
                    ("y", r.ints(100_000, -(1 << 52), 1 << 52)),
                ]
            },
        },
        Row {
            name: "c. 128^3 fixed matmul",
            peer: (0.012, 0.26, 36),
            setup: "let x: sfix<16>[128, 128] = input(a); let y: sfix<16>[128, 128] = input(b);",
            operation: "let r = x @ y;",
            result: "x + y",
            values: |r| {
                vec![
                    ("x", r.vec(16384, -1.0, 1.0)),
                    ("y", r.vec(16384, -1.0, 1.0)),
                ]
            },
        },
        Row {
            name: "d. LeNet, one image",
            peer: (0.132, 0.65, 1294),
            setup: "let k1: sfix<16>[5, 5, 1, 20] = input(a); let c1: sfix<16>[20] = input(a);
                    let k2: sfix<16>[5, 5, 20, 50] = input(a); let c2: sfix<16>[50] = input(a);
                    let w3: sfix<16>[800, 500] = input(a); let b3: sfix<16>[500] = input(a);
                    let w4: sfix<16>[500, 10] = input(a); let b4: sfix<16>[10] = input(a);
                    let image: sfix<16>[1, 28, 28, 1] = input(b);",
            operation: "let h1 = max_pool(relu(conv2d(image, k1) + c1), 2);
                        let h2 = max_pool(relu(conv2d(h1, k2) + c2), 2);
                        let h3 = relu(reshape(h2, [1, 800]) @ w3 + b3);
                        let r = argmax(h3 @ w4 + b4);",
            result: "image",
            values: |r| {
                let sizes = [
                    ("k1", 500),
                    ("c1", 20),
                    ("k2", 25000),
                    ("c2", 50),
                    ("w3", 400_000),
                    ("b3", 500),
                    ("w4", 5000),
                    ("b4", 10),
                    ("image", 784),
                ];
                sizes
                    .iter()
                    .map(|(n, len)| (*n, r.vec(*len, -0.1, 0.1)))
                    .collect()
            },
        },
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
    for row in &rows {
        let mut rng = TestRng(99);
        let values = (row.values)(&mut rng);
        let with = format!("party a = 0; party b = 1; fn main() {{ {} {} let out = sum(r) + sum({}); reveal out to a; }}", row.setup, row.operation, row.result);
        let without = format!(
            "party a = 0; party b = 1; fn main() {{ {} let out = sum({}); reveal out to a; }}",
            row.setup, row.result
        );
        let (t1, b1, r1) = measure(&with, &values);
        let (t0, b0, r0) = measure(&without, &values);
        let (t, b, r) = ((t1 - t0).max(0.0), b1 - b0, r1 - r0);
        println!(
            "{:<24} {:>10.4} {:>10.3} {:>8} | {:>10.3} {:>10.2} {:>8} | {:>7.2}x",
            row.name,
            t,
            b as f64 / 1e6,
            r,
            row.peer.0,
            row.peer.1,
            row.peer.2,
            t / row.peer.0
        );
    }
}

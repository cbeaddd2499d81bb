//! The tamper harness against rep4 (`mpc_tests::tamper::trials`: random
//! tamperings of every kind, every party as the cheater, every round of the
//! run, set-up included) over two examples and programs that use every
//! interactive operation rep4 runs (inputs, products of each kind,
//! probabilistic and exact truncation, comparisons and what builds on them,
//! outputs). Each honest party must stop with an error or finish with the
//! clear backend's outputs: never a wrong output, never a hang. The counts by
//! kind are printed (`--nocapture`). `TAMPER_TRIALS` sets the number of
//! tamperings (default 1,000).

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::net::tamper::Kind;
use mpcvm::run::Protocol;

/// The small examples (`programs/`) among the programs tampered with.
const EXAMPLES: [&str; 2] = ["millionaires", "matmul"];

/// Each program, and whether its fixed-point products truncate exactly.
const PROGRAMS: [(&str, bool); 5] = [
    (
        "party a = 0; party b = 1; party c = 2; party d = 3;
    fn main() {
        let x: sint<20>[3, 4] = input(a);
        let w: sint<20>[4, 5] = input(b);
        let v: sint<20>[4] = input(c);
        let img: sint<16>[1, 4, 4, 2] = input(d);
        let k: sint<16>[3, 3, 2, 2] = input(a);
        let y = x @ w;
        let s = x * v + x * x;
        let conv = conv2d(img, k, padding = same);
        reveal y to all;
        reveal s to b;
        reveal conv to d;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1;
    fn main() {
        let x: sint<40>[6] = input(a);
        let y: sint<40>[6] = input(b);
        let mut acc = x;
        for i in 0..3 {
            acc = acc * y + x;
            reveal acc to a;
        }
        reveal acc * acc to b;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1; party c = 2;
    fn main() {
        let x: sfix<16>[5] = input(a);
        let y: sfix<16>[5] = input(b);
        reveal x * y to c;
    }",
        false,
    ),
    (
        "party a = 0; party b = 1; party c = 2; party d = 3;
    fn main() {
        let x: sfix<16>[5] = input(a);
        let y: sfix<16>[5] = input(d);
        reveal x * y to all;
    }",
        true,
    ),
    (
        "party a = 0; party b = 1; party c = 2; party d = 3;
    fn main() {
        let x: sint<24>[6] = input(a);
        let y: sint<24>[6] = input(b);
        let img: sint<16>[1, 4, 4, 1] = input(c);
        reveal relu(x) to a;
        reveal x == y to b;
        reveal max(x) to c;
        reveal argmax(y) to d;
        reveal max_pool(img, 2) to all;
    }",
        false,
    ),
];

#[test]
fn every_tampering_is_detected_or_harmless() {
    let trials: u64 = std::env::var("TAMPER_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1000);
    let mut compiled: Vec<_> = PROGRAMS
        .iter()
        .map(|&(p, exact)| {
            let options = Options {
                exact_fixed_point: exact,
                ..Options::default()
            };
            (compile_text(p, options), exact)
        })
        .collect();
    for example in EXAMPLES {
        compiled.push((compile_example(example, Options::default()), false));
    }
    let report = tamper::trials(
        Protocol::Rep4,
        None,
        4,
        &mpcvm::backend::rep4::rounds,
        &compiled,
        trials,
    );
    report.print("rep4");
    assert_eq!(
        report.by_kind.len(),
        Kind::ALL.len(),
        "every kind of tampering was tried"
    );
}

//! The programs of ../shared/peers/MP-SPDZ.md (rows a to d), as the benches
//! of each protocol run them beside MP-SPDZ's figures for that protocol.
//!
//! Each row is two programs with the same inputs and the same one-element
//! output: the operation, and a baseline without it; a bench reports their
//! difference, so input sharing, which MP-SPDZ's figures do not include, is
//! left out.

use crate::TestRng;

pub struct Row {
    pub name: &'static str,
    pub setup: &'static str,
    pub operation: &'static str,
    pub result: &'static str,
    pub values: fn(&mut TestRng) -> Vec<NamedValues>,
}

/// An input's name and values.
pub type NamedValues = (&'static str, Vec<f64>);

impl Row {
    /// The program with the operation, and the baseline without it.
    pub fn programs(&self) -> (String, String) {
        let with = format!(
            "party a = 0; party b = 1; fn main() {{ {} {} let out = sum(r) + sum({}); reveal out to a; }}",
            self.setup, self.operation, self.result
        );
        let without = format!(
            "party a = 0; party b = 1; fn main() {{ {} let out = sum({}); reveal out to a; }}",
            self.setup, self.result
        );
        (with, without)
    }
}

/// Rows a (1M multiplications), b (100k comparisons), c (128^3 fixed-point
/// matrix product) and d (LeNet on one image).
pub fn rows() -> [Row; 4] {
    [
        Row {
            name: "a. 1M multiplications",
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
    ]
}

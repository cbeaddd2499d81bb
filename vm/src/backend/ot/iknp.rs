//! OT extension: Ishai, Kilian, Nissim and Petrank, "Extending Oblivious
//! Transfers Efficiently" (CRYPTO 2003), semi-honest.
//!
//! The extension's receiver holds `KAPPA` pairs of base keys, the sender one
//! key of each pair, chosen by the bits of its secret Δ. For `n` OTs with
//! choice bits c the receiver expands each pair into columns t_l and t_l ^ u_l
//! ^ c (AES in counter mode) and sends the u_l; the sender's columns q_l =
//! G(k_l) ^ Δ_l u_l are then t_l ^ Δ_l c, so row j of the transposed matrix
//! is q_j = t_j ^ c_j Δ: a correlated OT, which [`super::cot`] hashes.
//! Columns are drawn from running streams, so consecutive extensions need no
//! new base OTs.

use super::base::BaseKeys;
use super::KAPPA;
use crate::backend::planes::transpose64;
use crate::backend::prf::Prf;

/// The extension's sender towards one peer.
pub struct Sender {
    pub delta: u128,
    columns: Vec<Prf>,
}

/// The extension's receiver from one peer.
pub struct Receiver {
    columns: Vec<[Prf; 2]>,
}

/// Splits `keys` into this party's sender state (its choices as Δ) and its
/// receiver state (the pairs).
pub fn from_base(keys: &BaseKeys) -> (Sender, Receiver) {
    let sender = Sender {
        delta: keys.choices,
        columns: keys.chosen.iter().map(|k| Prf::new(*k)).collect(),
    };
    let receiver = Receiver {
        columns: keys
            .pairs
            .iter()
            .map(|[k0, k1]| [Prf::new(*k0), Prf::new(*k1)])
            .collect(),
    };
    (sender, receiver)
}

/// The rows of `KAPPA` columns of `words` words each: row j's bit l is bit j
/// of column l.
fn rows(columns: &[Vec<u64>], words: usize) -> Vec<u128> {
    let mut rows = Vec::with_capacity(64 * words);
    let (mut low, mut high) = ([0u64; 64], [0u64; 64]);
    for w in 0..words {
        for r in 0..64 {
            low[r] = columns[r][w];
            high[r] = columns[64 + r][w];
        }
        transpose64(&mut low);
        transpose64(&mut high);
        rows.extend(
            low.iter()
                .zip(&high)
                .map(|(l, h)| (*h as u128) << 64 | *l as u128),
        );
    }
    rows
}

impl Receiver {
    /// Extends by `64 * choices.len()` OTs whose choice bits are `choices`
    /// (bit j of word w is OT 64w + j): the message u for the sender
    /// (`KAPPA` columns one after another) and the rows t_j.
    pub fn extend(&mut self, choices: &[u64]) -> (Vec<u64>, Vec<u128>) {
        let words = choices.len();
        let mut u = Vec::with_capacity(KAPPA * words);
        let mut t = Vec::with_capacity(KAPPA);
        for [g0, g1] in &mut self.columns {
            let column = g0.elements(words);
            let other = g1.elements(words);
            u.extend(
                column
                    .iter()
                    .zip(&other)
                    .zip(choices)
                    .map(|((a, b), c)| a ^ b ^ c),
            );
            t.push(column);
        }
        (u, rows(&t, words))
    }
}

impl Sender {
    /// The rows q_j = t_j ^ c_j Δ of the OTs the receiver extended by with `u`
    /// (`KAPPA` columns of `words` words).
    pub fn extend(&mut self, u: &[u64], words: usize) -> Vec<u128> {
        let mut q = Vec::with_capacity(KAPPA);
        for (l, g) in self.columns.iter_mut().enumerate() {
            let mut column = g.elements(words);
            if self.delta >> l & 1 == 1 {
                for (x, y) in column.iter_mut().zip(&u[l * words..(l + 1) * words]) {
                    *x ^= y;
                }
            }
            q.push(column);
        }
        rows(&q, words)
    }
}

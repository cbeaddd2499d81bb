//! OT extension: Roy, "SoftSpokenOT: Quieter OT Extension from Small-Field
//! Silent VOLE in the Minicrypt Model" (CRYPTO 2022), semi-honest, which is
//! IKNP when `K` = 1 and sends `K` times less.
//!
//! Δ's `KAPPA` bits are cut into `BLOCKS` blocks of `K` bits. For each block
//! the extension's receiver holds `LEAVES` seeds and the sender all but the
//! one at its block of Δ (a punctured GGM tree, set up from the base OTs).
//! Each seed x expands into a column G_x (AES in counter mode); for `n` OTs
//! with choice bits c the receiver sends d = Σ_x G_x ⊕ c for each block and
//! keeps the block's `K` columns t_b = ⊕_{x: bit b of x} G_x; the sender's
//! columns q_b = ⊕_{x: bit b of x ⊕ Δ} G_x ⊕ Δ_b d are then t_b ⊕ Δ_b c, so
//! row j of the transposed matrix is q_j = t_j ⊕ c_j Δ: a correlated OT,
//! which [`super::cot`] hashes. Columns are drawn from running streams, so
//! consecutive extensions need no new setup.

use super::base::{BaseKeys, Key};
use super::KAPPA;
use crate::backend::planes::{transpose64_lanes, LANES};
use crate::backend::prf::Prf;
use crate::VmError;

/// Bits of Δ per block: each OT costs the receiver `KAPPA / K` bits sent, and
/// both ends `2^K` seed expansions per block instead of IKNP's 2 and 1.
pub const K: usize = 2;
/// Blocks of Δ: the columns the receiver sends per 64 OTs.
pub const BLOCKS: usize = KAPPA / K;
const LEAVES: usize = 1 << K;

/// Words each party sends each peer to set up its GGM trees: both level sums
/// of every level of every block, 128 bits each, masked by the base OT keys.
pub const SETUP_WORDS: usize = BLOCKS * K * 2 * 2;

/// The extension's sender towards one peer.
pub struct Sender {
    pub delta: u128,
    /// Per block, the leaves' streams, `None` at the block of Δ.
    leaves: Vec<Vec<Option<Prf>>>,
}

/// The extension's receiver from one peer.
pub struct Receiver {
    leaves: Vec<Vec<Prf>>,
}

fn key(v: u128) -> Key {
    v.to_le_bytes()
}

fn value(k: &Key) -> u128 {
    u128::from_le_bytes(*k)
}

/// A node's two children (the GGM tree's length-doubling PRG).
fn children(node: u128) -> [u128; 2] {
    let w = Prf::new(key(node)).elements(4);
    [
        (w[1] as u128) << 64 | w[0] as u128,
        (w[3] as u128) << 64 | w[2] as u128,
    ]
}

/// Node n at depth j has children n and n | 1 << j: a leaf's bit j is the
/// branch taken at depth j, decided by base OT `K * block + j`.
fn grow(level: &[u128]) -> Vec<u128> {
    let mut next = vec![0; 2 * level.len()];
    for (n, node) in level.iter().enumerate() {
        let [left, right] = children(*node);
        next[n] = left;
        next[n | level.len()] = right;
    }
    next
}

impl Receiver {
    /// The receiver's trees from random roots, and the words to send the
    /// peer: at each depth of each block, the XOR of the left children and of
    /// the right ones, each masked by one key of that depth's base OT pair.
    pub fn from_pairs(pairs: &[[Key; 2]]) -> Result<(Receiver, Vec<u64>), VmError> {
        let mut leaves = Vec::with_capacity(BLOCKS);
        let mut sums = Vec::with_capacity(SETUP_WORDS);
        for block in pairs.chunks(K) {
            let mut level = vec![super::base::random_u128()?];
            for pair in block {
                level = grow(&level);
                let half = level.len() / 2;
                let left = level[..half].iter().fold(0, |a, x| a ^ x);
                let right = level[half..].iter().fold(0, |a, x| a ^ x);
                for (sum, k) in [left, right].iter().zip(pair) {
                    let masked = sum ^ value(k);
                    sums.extend([masked as u64, (masked >> 64) as u64]);
                }
            }
            leaves.push(level.iter().map(|x| Prf::new(key(*x))).collect());
        }
        Ok((Receiver { leaves }, sums))
    }

    /// Extends by `64 * choices.len()` OTs whose choice bits are `choices`
    /// (bit j of word w is OT 64w + j): returns the message for the sender
    /// (`BLOCKS` columns one after another) and hands `each` the rows t_j a
    /// chunk at a time, with the index of the chunk's first OT.
    pub fn extend(&mut self, choices: &[u64], mut each: impl FnMut(usize, &[u128])) -> Vec<u64> {
        let words = choices.len();
        let mut d = vec![0u64; BLOCKS * words];
        let mut chunk = Chunk::new();
        for start in (0..words).step_by(CHUNK_WORDS) {
            let cw = CHUNK_WORDS.min(words - start);
            for (i, leaves) in self.leaves.iter_mut().enumerate() {
                let sum = &mut d[i * words + start..i * words + start + cw];
                sum.copy_from_slice(&choices[start..start + cw]);
                for (x, g) in leaves.iter_mut().enumerate() {
                    let column = &mut chunk.scratch[..cw];
                    g.fill(column);
                    xor(sum, column);
                    for b in (0..K).filter(|b| x >> b & 1 == 1) {
                        // Leaf 1 << b is the first with bit b: it sets the column.
                        let plane = &mut chunk.columns[(K * i + b) * cw..][..cw];
                        if x == 1 << b {
                            plane.copy_from_slice(&chunk.scratch[..cw]);
                        } else {
                            xor(plane, &chunk.scratch[..cw]);
                        }
                    }
                }
            }
            each(64 * start, chunk.rows(cw));
        }
        d
    }
}

/// The columns and rows of one chunk of OTs, small enough to stay in cache.
struct Chunk {
    columns: Vec<u64>,
    scratch: Vec<u64>,
    rows: Vec<u128>,
}

/// Words of choice bits per chunk: 4,096 OTs.
const CHUNK_WORDS: usize = 64;

impl Chunk {
    fn new() -> Chunk {
        Chunk {
            columns: vec![0; KAPPA * CHUNK_WORDS],
            scratch: vec![0; CHUNK_WORDS],
            rows: vec![0; 64 * CHUNK_WORDS],
        }
    }

    /// The rows of the chunk's `KAPPA` columns of `cw` words: row j's bit l
    /// is bit j of column l.
    fn rows(&mut self, cw: usize) -> &[u128] {
        // Lanes 0..HALF: the low 64 columns of words w.., lanes HALF..: the high.
        const HALF: usize = LANES / 2;
        let mut a = [[0u64; LANES]; 64];
        for w in (0..cw).step_by(HALF) {
            let n = HALF.min(cw - w);
            for (r, lanes) in a.iter_mut().enumerate() {
                for k in 0..n {
                    lanes[k] = self.columns[r * cw + w + k];
                    lanes[HALF + k] = self.columns[(64 + r) * cw + w + k];
                }
            }
            transpose64_lanes(&mut a);
            for k in 0..n {
                for (r, lanes) in a.iter().enumerate() {
                    self.rows[64 * (w + k) + r] =
                        (lanes[HALF + k] as u128) << 64 | lanes[k] as u128;
                }
            }
        }
        &self.rows[..64 * cw]
    }
}

impl Sender {
    /// The sender's punctured trees, from its base OT choices and keys and the
    /// receiver's level sums (`from` names the peer in errors). Δ is the
    /// complement of the choices: at each depth the sender learns the sibling
    /// of its path, so it knows every leaf but Δ's block.
    pub fn from_chosen(keys: &BaseKeys, sums: &[u64], from: usize) -> Result<Sender, VmError> {
        if sums.len() != SETUP_WORDS {
            return Err(VmError::Network(format!(
                "party {from} sent {} words to set up its OT extension, not {SETUP_WORDS}: a \
                 protocol violation",
                sums.len()
            )));
        }
        let delta = !keys.choices;
        let mut leaves = Vec::with_capacity(BLOCKS);
        for i in 0..BLOCKS {
            // Known nodes at the current depth; `path` is the unknown one.
            let mut level: Vec<u128> = vec![0];
            let mut path = 0usize;
            for j in 0..K {
                let l = K * i + j;
                let bit = (delta >> l & 1) as usize;
                let at = 4 * l + 2 * (1 - bit);
                let sibling_sum =
                    (sums[at] as u128 | (sums[at + 1] as u128) << 64) ^ value(&keys.chosen[l]);
                let half = level.len();
                let mut next = vec![0u128; 2 * half];
                for (n, node) in level.iter().enumerate() {
                    if n != path {
                        let [left, right] = children(*node);
                        next[n] = left;
                        next[n | half] = right;
                    }
                }
                let sibling = path | ((1 - bit) * half);
                next[sibling] = (0..2 * half)
                    .filter(|n| (n & half != 0) == (bit == 0) && *n != sibling)
                    .fold(sibling_sum, |a, n| a ^ next[n]);
                path |= bit * half;
                level = next;
            }
            leaves.push(
                level
                    .iter()
                    .enumerate()
                    .map(|(x, s)| (x != path).then(|| Prf::new(key(*s))))
                    .collect(),
            );
        }
        Ok(Sender { delta, leaves })
    }

    /// The rows q_j = t_j ⊕ c_j Δ of the OTs the receiver extended by with
    /// `d` (`BLOCKS` columns of `words` words), handed to `each` a chunk at a
    /// time with the index of the chunk's first OT.
    pub fn extend(&mut self, d: &[u64], words: usize, mut each: impl FnMut(usize, &[u128])) {
        let mut chunk = Chunk::new();
        for start in (0..words).step_by(CHUNK_WORDS) {
            let cw = CHUNK_WORDS.min(words - start);
            for (i, leaves) in self.leaves.iter_mut().enumerate() {
                let delta = (self.delta >> (K * i)) as usize & (LEAVES - 1);
                // Planes of this block set so far (the first leaf sets, the
                // others XOR).
                let mut set = 0usize;
                for (x, g) in leaves.iter_mut().enumerate() {
                    let Some(g) = g else { continue };
                    let column = &mut chunk.scratch[..cw];
                    g.fill(column);
                    for b in (0..K).filter(|b| (x ^ delta) >> b & 1 == 1) {
                        let plane = &mut chunk.columns[(K * i + b) * cw..][..cw];
                        if set >> b & 1 == 0 {
                            plane.copy_from_slice(&chunk.scratch[..cw]);
                            set |= 1 << b;
                        } else {
                            xor(plane, &chunk.scratch[..cw]);
                        }
                    }
                }
                let d = &d[i * words + start..i * words + start + cw];
                for b in (0..K).filter(|b| delta >> b & 1 == 1) {
                    xor(&mut chunk.columns[(K * i + b) * cw..][..cw], d);
                }
            }
            each(64 * start, chunk.rows(cw));
        }
    }
}

fn xor(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a ^= b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base OTs as they come out of [`super::super::base`]: the receiver of
    /// the extension holds both keys, the sender the one its choice picked.
    fn base_keys(seed: u8) -> BaseKeys {
        let pairs: Vec<[Key; 2]> = (0..KAPPA)
            .map(|l| {
                [
                    [seed ^ l as u8; 16],
                    [seed.wrapping_add(l as u8) ^ 0x5a; 16],
                ]
            })
            .collect();
        let choices = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128 ^ seed as u128;
        let chosen = (0..KAPPA)
            .map(|l| pairs[l][(choices >> l & 1) as usize])
            .collect();
        BaseKeys {
            pairs,
            choices,
            chosen,
        }
    }

    #[test]
    fn the_sender_knows_every_leaf_but_the_one_at_its_block_of_delta() {
        let keys = base_keys(7);
        let (mut receiver, sums) = Receiver::from_pairs(&keys.pairs).unwrap();
        let mut sender = Sender::from_chosen(&keys, &sums, 1).unwrap();
        assert_eq!(sender.delta, !keys.choices);
        for (i, (theirs, mine)) in receiver
            .leaves
            .iter_mut()
            .zip(&mut sender.leaves)
            .enumerate()
        {
            let delta = (sender.delta >> (K * i)) as usize & (LEAVES - 1);
            for (x, (r, s)) in theirs.iter_mut().zip(mine.iter_mut()).enumerate() {
                match s {
                    None => assert_eq!(x, delta, "block {i}: leaf {x} missing"),
                    Some(s) => {
                        assert_ne!(x, delta, "block {i}: the sender knows Δ's leaf");
                        assert_eq!(r.elements(4), s.elements(4), "block {i}, leaf {x}");
                    }
                }
            }
        }
    }

    #[test]
    fn level_sums_of_the_wrong_length_are_refused() {
        let keys = base_keys(3);
        let (_, mut sums) = Receiver::from_pairs(&keys.pairs).unwrap();
        sums.pop();
        let error = Sender::from_chosen(&keys, &sums, 1).err().unwrap();
        assert!(error.to_string().contains("party 1"), "{error}");
    }
}

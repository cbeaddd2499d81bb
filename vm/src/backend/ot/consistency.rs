//! The OT extension's check against a malicious receiver: Keller, Orsini
//! and Scholl, "Actively Secure OT Extension with Optimal Overhead" (KOS,
//! CRYPTO 2015), which SoftSpokenOT keeps for its malicious variant. A
//! receiver that puts different choice bits into different columns of its
//! message could learn bits of the sender's Δ, and with them both messages
//! of OTs; the check makes it prove that its rows t_j and choices c_j fit
//! the sender's rows as q_j = t_j ⊕ c_j Δ, in a random linear combination
//! over GF(2^128): with χ_j = H^(n - j + 1) (a polynomial hash, POLYVAL),
//! it sends X = Σ c_j χ_j and T = Σ t_j χ_j, and the sender accepts only
//! if Σ q_j χ_j = T ⊕ X Δ. A lie passes with probability about n / 2^128.
//!
//! H is the hash of the receiver's message (Fiat-Shamir: it is fixed by
//! what the receiver sends, so it cannot be chosen first), so the check
//! costs no round: X and T go with the message. [`EXTRA_WORDS`] words of
//! OTs with random choices, used for nothing else, hide the choices in X.

use polyval::universal_hash::{KeyInit, UniversalHash};
use polyval::Polyval;

/// Words of extra OTs (64 each) with random choices per extension: 192 >
/// 128 + 64, as KOS's κ + s.
pub const EXTRA_WORDS: usize = 3;

/// Words the receiver appends to its message: X and T.
pub const PROOF_WORDS: usize = 4;

/// The multiplicative identity of POLYVAL's product (a·b·x^-128): x^128
/// modulo x^128 + x^127 + x^126 + x^121 + 1, bit i the coefficient of x^i.
const ONE: u128 = 1 << 127 | 1 << 126 | 1 << 121 | 1;

/// The hash key H for the extension of OTs `first..` with the receiver's
/// message `d`.
pub fn challenge(d: &[u64], first: u64) -> u128 {
    let mut hasher = blake3::Hasher::new_derive_key("mpcc OT extension consistency check");
    hasher.update(&first.to_le_bytes());
    hasher.update(bytemuck::cast_slice(d));
    let bytes = hasher.finalize();
    u128::from_le_bytes(bytes.as_bytes()[..16].try_into().expect("16 bytes"))
}

/// Σ_j blocks_j H^(n - j + 1), as it accumulates.
pub struct Fold(Polyval);

impl Fold {
    pub fn new(h: u128) -> Fold {
        Fold(Polyval::new(&h.to_le_bytes().into()))
    }
    pub fn absorb(&mut self, blocks: &[u128]) {
        self.0.update_padded(bytemuck::cast_slice(blocks));
    }
    pub fn value(self) -> u128 {
        u128::from_le_bytes(self.0.finalize().into())
    }
}

/// The product of a and b in POLYVAL's field (with [`ONE`] as its one).
fn product(a: u128, b: u128) -> u128 {
    let mut fold = Fold::new(b);
    fold.absorb(&[a]);
    fold.value()
}

/// The receiver's proof [X, T] for its `rows` t_j (a whole number of
/// words of OTs) and its `choices` (bit j of word w is OT 64w + j), under
/// the key `h`.
pub fn prove(h: u128, rows: &[u128], choices: &[u64]) -> Vec<u64> {
    let mut t = Fold::new(h);
    t.absorb(rows);
    let (x, t) = (fold_choices(h, &choices[..rows.len() / 64]), t.value());
    vec![x as u64, (x >> 64) as u64, t as u64, (t >> 64) as u64]
}

/// X = Σ_j c_j H^(n - j + 1), the fold of blocks c_j·[`ONE`], 64 at a time:
/// the rows of word g weigh H^(64 (G - 1 - g)) times Σ_i c_64g+i H^(64 - i),
/// a sum looked up byte by byte in tables of H's first 64 powers (one
/// product per 64 rows instead of one per row).
fn fold_choices(h: u128, words: &[u64]) -> u128 {
    let mut powers = vec![ONE; 65];
    for k in 1..=64 {
        powers[k] = product(powers[k - 1], h);
    }
    let tables: Vec<[u128; 256]> = (0..8)
        .map(|byte| {
            let mut table = [0u128; 256];
            for v in 1..256usize {
                let low = v.trailing_zeros() as usize;
                table[v] = table[v & (v - 1)] ^ powers[64 - (8 * byte + low)];
            }
            table
        })
        .collect();
    words.iter().fold(0u128, |x, w| {
        let sum = (0..8).fold(0u128, |a, b| a ^ tables[b][(w >> (8 * b)) as usize & 255]);
        product(x, powers[64]) ^ sum
    })
}

/// Whether the receiver's `proof` fits the sender's rows, folded in `q`,
/// under the sender's `delta`.
pub fn verify(q: Fold, delta: u128, proof: &[u64]) -> bool {
    let word = |k: usize| proof[k] as u128 | (proof[k + 1] as u128) << 64;
    let (x, t) = (word(0), word(2));
    q.value() == t ^ product(x, delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_the_identity_of_the_product() {
        for h in [1u128, 0xdead_beef << 70 | 12345, u128::MAX - 7] {
            assert_eq!(product(ONE, h), h);
            assert_eq!(product(h, ONE), h);
        }
    }

    #[test]
    fn the_fold_of_the_choices_is_the_hash_of_their_blocks() {
        let h = 0x5555_0123_4567_89ab_cdef_0011_2233_4455u128;
        let words = [0x8000_0000_0000_0001u64, 0, u64::MAX, 0x0f0f_1234_5678_9abc];
        let blocks: Vec<u128> = (0..64 * words.len())
            .map(|j| ONE * (words[j / 64] >> (j % 64) & 1) as u128)
            .collect();
        let mut fold = Fold::new(h);
        fold.absorb(&blocks);
        assert_eq!(fold_choices(h, &words), fold.value());
    }

    #[test]
    fn consistent_rows_pass_and_a_flipped_choice_fails() {
        let delta = 0x0123_4567_89ab_cdef_0f1e_2d3c_4b5a_6978u128;
        let choices = vec![0xa5a5_0f0f_3c3c_9999u64, 0x1234_5678_9abc_def0];
        let t: Vec<u128> = (0..128u128)
            .map(|j| j.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ j << 90)
            .collect();
        let q: Vec<u128> = (0..128)
            .map(|j| t[j] ^ (delta & 0u128.wrapping_sub((choices[j / 64] >> (j % 64) & 1) as u128)))
            .collect();
        let h = challenge(&choices, 0);
        let fold = |rows: &[u128]| {
            let mut f = Fold::new(h);
            f.absorb(rows);
            f
        };
        assert!(verify(fold(&q), delta, &prove(h, &t, &choices)));
        let mut lie = choices.clone();
        lie[1] ^= 1 << 9;
        assert!(!verify(fold(&q), delta, &prove(h, &t, &lie)));
    }
}

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

/// Σ_j blocks_j H^(n - j + 1), as it accumulates: POLYVAL, eight blocks
/// to a reduction where the CPU multiplies carry-less
/// ([`aggregated`]), else block by block (the `polyval` crate's).
pub enum Fold {
    Aggregated(aggregated::Fold),
    Horner(Polyval),
}

impl Fold {
    pub fn new(h: u128) -> Fold {
        match aggregated::Fold::new(h) {
            Some(fold) => Fold::Aggregated(fold),
            None => Fold::Horner(Polyval::new(&h.to_le_bytes().into())),
        }
    }
    pub fn absorb(&mut self, blocks: &[u128]) {
        match self {
            Fold::Aggregated(fold) => fold.absorb(blocks),
            Fold::Horner(p) => p.update_padded(bytemuck::cast_slice(blocks)),
        }
    }
    pub fn value(self) -> u128 {
        match self {
            Fold::Aggregated(fold) => fold.value(),
            Fold::Horner(p) => u128::from_le_bytes(p.finalize().into()),
        }
    }
}

/// POLYVAL with aggregated reduction (Gueron, Langley and Lindell's
/// AES-GCM-SIV, RFC 8452): y <- (y ⊕ x_1) H^8 ⊕ x_2 H^7 ⊕ ... ⊕ x_8 H, the
/// eight products left unreduced and summed, then reduced once (the
/// reduction is linear), instead of a reduction per block. x86-64 with
/// PCLMULQDQ only.
pub mod aggregated {
    #[cfg(target_arch = "x86_64")]
    use std::arch::x86_64::*;

    /// Blocks per reduction.
    const LANES: usize = 8;

    pub struct Fold {
        /// H^8, ..., H^1 (POLYVAL's products: a b x^-128).
        powers: [u128; LANES],
        y: u128,
        /// Blocks absorbed but not yet folded in (fewer than [`LANES`]).
        pending: Vec<u128>,
    }

    impl Fold {
        /// None without carry-less multiplication.
        pub fn new(h: u128) -> Option<Fold> {
            if !available() {
                return None;
            }
            let mut powers = [h; LANES];
            for k in (0..LANES - 1).rev() {
                // SAFETY: the CPU has PCLMULQDQ (checked above).
                powers[k] = unsafe { dot(powers[k + 1], h) };
            }
            Some(Fold {
                powers,
                y: 0,
                pending: Vec::with_capacity(LANES),
            })
        }

        pub fn absorb(&mut self, mut blocks: &[u128]) {
            if !self.pending.is_empty() {
                let take = (LANES - self.pending.len()).min(blocks.len());
                self.pending.extend_from_slice(&blocks[..take]);
                blocks = &blocks[take..];
                if self.pending.len() < LANES {
                    return;
                }
                let full: [u128; LANES] = self.pending[..].try_into().expect("eight");
                // SAFETY: a Fold exists only where the CPU has PCLMULQDQ.
                self.y = unsafe { fold8(self.y, &full, &self.powers) };
                self.pending.clear();
            }
            let mut chunks = blocks.chunks_exact(LANES);
            for chunk in &mut chunks {
                let chunk: &[u128; LANES] = chunk.try_into().expect("eight");
                // SAFETY: as above.
                self.y = unsafe { fold8(self.y, chunk, &self.powers) };
            }
            self.pending.extend_from_slice(chunks.remainder());
        }

        pub fn value(self) -> u128 {
            let h = self.powers[LANES - 1];
            self.pending.iter().fold(self.y, |y, x| {
                // SAFETY: as above.
                unsafe { dot(y ^ x, h) }
            })
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn available() -> bool {
        is_x86_feature_detected!("pclmulqdq") && is_x86_feature_detected!("sse2")
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn available() -> bool {
        false
    }

    #[cfg(target_arch = "x86_64")]
    fn vector(x: u128) -> __m128i {
        // SAFETY: u128 and __m128i have the same size; any bits are valid.
        unsafe { std::mem::transmute::<u128, __m128i>(x) }
    }

    #[cfg(target_arch = "x86_64")]
    fn scalar(x: __m128i) -> u128 {
        // SAFETY: as above.
        unsafe { std::mem::transmute::<__m128i, u128>(x) }
    }

    /// The unreduced carry-less product of a and b: (low, high) halves.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq,sse2")]
    unsafe fn product(a: __m128i, b: __m128i) -> (__m128i, __m128i) {
        let low = _mm_clmulepi64_si128(a, b, 0x00);
        let high = _mm_clmulepi64_si128(a, b, 0x11);
        let middle = _mm_xor_si128(
            _mm_clmulepi64_si128(a, b, 0x10),
            _mm_clmulepi64_si128(a, b, 0x01),
        );
        (
            _mm_xor_si128(low, _mm_slli_si128(middle, 8)),
            _mm_xor_si128(high, _mm_srli_si128(middle, 8)),
        )
    }

    /// (low, high) x^-128 modulo POLYVAL's polynomial.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq,sse2")]
    unsafe fn reduce(low: __m128i, high: __m128i) -> __m128i {
        let poly = _mm_set_epi64x(0xc200_0000_0000_0000u64 as i64, 1);
        let mut t = low;
        for _ in 0..2 {
            let folded = _mm_clmulepi64_si128(t, poly, 0x10);
            t = _mm_xor_si128(_mm_shuffle_epi32(t, 0x4e), folded);
        }
        _mm_xor_si128(high, t)
    }

    /// POLYVAL's product a b x^-128.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq,sse2")]
    unsafe fn dot(a: u128, b: u128) -> u128 {
        let (low, high) = product(vector(a), vector(b));
        scalar(reduce(low, high))
    }

    /// y folded with eight blocks under H^8, ..., H^1.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "pclmulqdq,sse2")]
    unsafe fn fold8(y: u128, x: &[u128; LANES], powers: &[u128; LANES]) -> u128 {
        let (mut low, mut high) = product(vector(y ^ x[0]), vector(powers[0]));
        for k in 1..LANES {
            let (l, h) = product(vector(x[k]), vector(powers[k]));
            low = _mm_xor_si128(low, l);
            high = _mm_xor_si128(high, h);
        }
        scalar(reduce(low, high))
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn dot(_: u128, _: u128) -> u128 {
        unreachable!("no aggregated fold without carry-less multiplication")
    }

    #[cfg(not(target_arch = "x86_64"))]
    unsafe fn fold8(_: u128, _: &[u128; LANES], _: &[u128; LANES]) -> u128 {
        unreachable!("no aggregated fold without carry-less multiplication")
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

    /// The aggregated fold equals the `polyval` crate's, for any number of
    /// blocks absorbed in any pieces.
    #[test]
    fn the_aggregated_fold_is_polyval() {
        let h = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321u128;
        let blocks: Vec<u128> = (0..100u128)
            .map(|j| j.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ j << 77)
            .collect();
        for n in [0, 1, 7, 8, 9, 16, 17, 100] {
            for piece in [1, 3, 8, 100] {
                let Some(mut fast) = aggregated::Fold::new(h) else {
                    return;
                };
                let mut slow = Polyval::new(&h.to_le_bytes().into());
                for part in blocks[..n].chunks(piece) {
                    fast.absorb(part);
                    slow.update_padded(bytemuck::cast_slice(part));
                }
                let slow = u128::from_le_bytes(slow.finalize().into());
                assert_eq!(fast.value(), slow, "{n} blocks in pieces of {piece}");
            }
        }
    }

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

//! The hash that turns correlated OTs into independent pads: fixed-key AES as
//! a tweakable correlation-robust hash (Guo, Katz, Wang and Yu, "Efficient and
//! Secure Multiparty Computation from Fixed-Key Block Ciphers", S&P 2020):
//! block k of the pad of x for OT i is π(σ(x) ⊕ (i, k)) ⊕ σ(x), with
//! σ(xL ‖ xR) = (xL ⊕ xR) ‖ xL and π AES-128 under a fixed public key.

use crate::backend::aes128::Aes128;

use super::Lane;

pub struct Hash {
    cipher: Aes128,
}

/// Blocks encrypted at once (AES-NI pipelines them).
const BATCH: usize = 256;

fn sigma(x: u128) -> u128 {
    let (hi, lo) = ((x >> 64) as u64, x as u64);
    ((hi ^ lo) as u128) << 64 | hi as u128
}

impl Hash {
    pub fn new() -> Hash {
        // Any fixed public key: the digits of pi.
        let key: [u8; 16] = 0x243F_6A88_85A3_08D3_1319_8A2E_0370_7344u128.to_le_bytes();
        Hash {
            cipher: Aes128::new(key),
        }
    }

    /// Appends to `out` the pads of OTs `first..` whose values are `rows`,
    /// each XORed with `flip`; OT i's pad has `lanes[i].len` words (one each
    /// if the caller knows them `one_word`: a fast path).
    pub fn pads(
        &self,
        rows: &[u128],
        flip: u128,
        first: u64,
        one_word: bool,
        lanes: &[Lane],
        out: &mut Vec<u64>,
    ) {
        if one_word {
            return self.word_pads(&rows[..lanes.len()], flip, first, out);
        }
        let mut blocks = [0u128; BATCH];
        let mut sigmas = [0u128; BATCH];
        // Words each block gives: 1 for the last block of an odd-length pad.
        let mut words = [0u8; BATCH];
        let mut filled = 0;
        let mut flush = |blocks: &mut [u128], sigmas: &[u128], words: &[u8]| {
            self.cipher.encrypt(blocks);
            for ((b, s), w) in blocks.iter().zip(sigmas).zip(words) {
                let h = b ^ s;
                out.push(h as u64);
                if *w == 2 {
                    out.push((h >> 64) as u64);
                }
            }
        };
        let flip = sigma(flip);
        for (i, (row, lane)) in rows.iter().zip(lanes).enumerate() {
            // σ is linear: σ(row ⊕ flip) = σ(row) ⊕ σ(flip).
            let s = sigma(*row) ^ flip;
            let len = lane.len as usize;
            let index = (first + i as u64) as u128;
            for k in 0..len.div_ceil(2) {
                blocks[filled] = s ^ (index << 64 | k as u128);
                sigmas[filled] = s;
                words[filled] = (len - 2 * k).min(2) as u8;
                filled += 1;
                if filled == BATCH {
                    flush(&mut blocks, &sigmas, &words);
                    filled = 0;
                }
            }
        }
        flush(&mut blocks[..filled], &sigmas[..filled], &words[..filled]);
    }

    /// [`Hash::pads`] when every pad is one word (a block each, half used):
    /// the products' OTs, most of all. With VAES the whole hash of four rows
    /// stays in one register from load to store.
    pub fn word_pads(&self, rows: &[u128], flip: u128, first: u64, out: &mut Vec<u64>) {
        // σ is linear: σ(row ⊕ flip) = σ(row) ⊕ σ(flip).
        let flip = sigma(flip);
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if let Some(keys) = self.cipher.wide_keys() {
            // SAFETY: the keys are there only when the CPU has VAES and AVX-512F.
            done = unsafe { wide::word_pads(keys, rows, flip, first, out) };
        }
        let mut blocks = [0u128; BATCH];
        let mut sigmas = [0u64; BATCH];
        let mut index = first + done as u64;
        for chunk in rows[done..].chunks(BATCH) {
            for ((row, block), low) in chunk.iter().zip(&mut blocks).zip(&mut sigmas) {
                let s = sigma(*row) ^ flip;
                *low = s as u64;
                *block = s ^ (index as u128) << 64;
                index += 1;
            }
            let blocks = &mut blocks[..chunk.len()];
            self.cipher.encrypt(blocks);
            out.extend(blocks.iter().zip(&sigmas).map(|(b, s)| *b as u64 ^ s));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use crate::backend::aes128::wide::{broadcast, rounds, Keys, WIDE};
    use std::arch::x86_64::*;

    /// [`super::Hash::word_pads`] of the rows in whole registers of four;
    /// returns how many it hashed (the rest are the caller's).
    #[target_feature(enable = "avx512f,vaes")]
    pub(super) unsafe fn word_pads(
        keys: &Keys,
        rows: &[u128],
        flip: u128,
        first: u64,
        out: &mut Vec<u64>,
    ) -> usize {
        let k = broadcast(keys);
        let quads = rows.len() / 4;
        out.reserve(4 * quads);
        let dst = out.as_mut_ptr().add(out.len()) as *mut __m256i;
        let src = rows.as_ptr() as *const __m512i;
        // σ(x) = (xL ⊕ xR) ‖ xL: the halves swapped, the high half XORed in.
        let high_words = _mm512_set_epi64(-1, 0, -1, 0, -1, 0, -1, 0);
        let flip = _mm512_broadcast_i32x4(std::mem::transmute::<u128, __m128i>(flip));
        let sigma = |x: __m512i| {
            let swapped = _mm512_shuffle_epi32::<0x4E>(x);
            _mm512_xor_si512(
                _mm512_xor_si512(swapped, _mm512_and_si512(x, high_words)),
                flip,
            )
        };
        // The OTs' indices in the high words, four on at each register.
        let first = first as i64;
        let mut index = _mm512_set_epi64(first + 3, 0, first + 2, 0, first + 1, 0, first, 0);
        let four = _mm512_set_epi64(4, 0, 4, 0, 4, 0, 4, 0);
        let mut tweak = |s: __m512i| {
            let t = _mm512_xor_si512(s, index);
            index = _mm512_add_epi64(index, four);
            t
        };
        // The low word of each block, to the low half of the register.
        let low_words = _mm512_set_epi64(0, 0, 0, 0, 6, 4, 2, 0);
        let store = |at: usize, h: __m512i| {
            let low = _mm512_permutexvar_epi64(low_words, h);
            _mm256_storeu_si256(dst.add(at), _mm512_castsi512_si256(low));
        };
        let mut q = 0;
        while q + WIDE <= quads {
            let s: [__m512i; WIDE] =
                std::array::from_fn(|i| sigma(_mm512_loadu_si512(src.add(q + i))));
            let mut x: [__m512i; WIDE] = std::array::from_fn(|i| tweak(s[i]));
            rounds(&k, &mut x);
            for i in 0..WIDE {
                store(q + i, _mm512_xor_si512(x[i], s[i]));
            }
            q += WIDE;
        }
        while q < quads {
            let s = sigma(_mm512_loadu_si512(src.add(q)));
            let mut x = [tweak(s)];
            rounds(&k, &mut x);
            store(q, _mm512_xor_si512(x[0], s));
            q += 1;
        }
        out.set_len(out.len() + 4 * quads);
        4 * quads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::{BlockEncrypt, KeyInit};

    /// The hash as its doc defines it, block `k` of OT `i`'s pad for row `x`,
    /// from the `aes` crate alone.
    fn reference(x: u128, i: u64, k: u64) -> u128 {
        let key = 0x243F_6A88_85A3_08D3_1319_8A2E_0370_7344u128.to_le_bytes();
        let s = sigma(x);
        let mut block = (s ^ ((i as u128) << 64 | k as u128)).to_le_bytes().into();
        aes::Aes128::new(&key.into()).encrypt_block(&mut block);
        u128::from_le_bytes(block.into()) ^ s
    }

    #[test]
    fn pads_are_the_tweaked_hash_of_each_row_on_every_path() {
        let rows: Vec<u128> = (0..71u128)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ 0xabc)
            .collect();
        let (flip, first) = (0x1234_5678_9abc_def0_0fed_cba9_8765_4321u128, 1_000u64);
        let word = Lane {
            len: 1,
            width: 64,
            xor: false,
        };
        // One-word pads (the vector path where the CPU has VAES, its tail
        // scalar), and the general path, which a longer last lane forces.
        let mut words = Vec::new();
        Hash::new().pads(
            &rows,
            flip,
            first,
            true,
            &vec![word; rows.len()],
            &mut words,
        );
        let mut lanes = vec![word; rows.len()];
        lanes[70].len = 3;
        let mut general = Vec::new();
        Hash::new().pads(&rows, flip, first, false, &lanes, &mut general);
        for (i, x) in rows.iter().enumerate() {
            let expected = reference(x ^ flip, first + i as u64, 0) as u64;
            assert_eq!(words[i], expected, "one-word path, row {i}");
            assert_eq!(general[i], expected, "general path, row {i}");
        }
        let last = [0, 1, 2]
            .map(|w| (reference(rows[70] ^ flip, first + 70, w / 2) >> (64 * (w % 2))) as u64);
        assert_eq!(general[70..], last);
    }
}

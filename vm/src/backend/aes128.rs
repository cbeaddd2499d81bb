//! AES-128 encryption of many blocks under one key: four blocks per
//! instruction with VAES and AVX-512 where the CPU has them (checked once, at
//! key setup), else the `aes` crate (AES-NI or its portable code). The OT
//! extension's seed expansions and hashes are a fifth of its work; on this
//! project's machines the crate's own VAES path (aes 0.9) ran no faster than
//! its AES-NI one (1.8-2.0 ns a block against 0.85 here: its loads and stores
//! go through generic arrays), so the vector loop is written here.

use aes::cipher::{BlockEncrypt, KeyInit};

pub struct Aes128 {
    portable: aes::Aes128,
    /// The expanded key, when the CPU has VAES and AVX-512F.
    #[cfg(target_arch = "x86_64")]
    wide: Option<wide::Keys>,
}

const ROUNDS: usize = 10;

impl Aes128 {
    pub fn new(key: [u8; 16]) -> Aes128 {
        Aes128 {
            portable: aes::Aes128::new(&key.into()),
            #[cfg(target_arch = "x86_64")]
            wide: (std::is_x86_feature_detected!("vaes")
                && std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("aes"))
            // SAFETY: the CPU has AES-NI, checked just above.
            .then(|| unsafe { wide::expand(key) }),
        }
    }

    /// Encrypts each block in place (a block's bytes are its little-endian
    /// bytes, as `u128::to_le_bytes`).
    pub fn encrypt(&self, blocks: &mut [u128]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(keys) = &self.wide {
            // SAFETY: `wide` is set only when the CPU has VAES and AVX-512F.
            return unsafe { wide::encrypt(keys, blocks) };
        }
        self.encrypt_portable(blocks)
    }

    /// Writes the counter-mode key stream from block `counter` to `out`:
    /// block i is the encryption of `counter + i`, low word first (an odd
    /// length ends with the low word of its last block). Straight into `out`,
    /// with no buffer to clear or copy from.
    pub fn keystream(&self, counter: u128, out: &mut [u64]) {
        // The vector path counts in the low word only: a stream whose low
        // word would wrap takes the portable one.
        #[cfg(target_arch = "x86_64")]
        if let (Some(keys), Some(_)) = (&self.wide, (counter as u64).checked_add(out.len() as u64))
        {
            // SAFETY: `wide` is set only when the CPU has VAES and AVX-512F.
            return unsafe { wide::keystream(keys, counter, out) };
        }
        self.keystream_portable(counter, out)
    }

    /// The expanded key for [`wide`]'s functions, when the CPU has VAES and
    /// AVX-512F (for kernels that do more than encrypt in one pass, as the
    /// OT hash).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn wide_keys(&self) -> Option<&wide::Keys> {
        self.wide.as_ref()
    }

    fn keystream_portable(&self, counter: u128, out: &mut [u64]) {
        let mut blocks = [0u128; 32];
        for (c, chunk) in out.chunks_mut(2 * blocks.len()).enumerate() {
            let blocks = &mut blocks[..chunk.len().div_ceil(2)];
            let first = counter + (c * 32) as u128;
            for (i, b) in blocks.iter_mut().enumerate() {
                *b = first + i as u128;
            }
            self.encrypt_portable(blocks);
            for (i, w) in chunk.iter_mut().enumerate() {
                *w = (blocks[i / 2] >> (64 * (i % 2))) as u64;
            }
        }
    }

    fn encrypt_portable(&self, blocks: &mut [u128]) {
        const BATCH: usize = 64;
        let mut buffer = [aes::Block::default(); BATCH];
        for chunk in blocks.chunks_mut(BATCH) {
            let buffer = &mut buffer[..chunk.len()];
            for (b, x) in buffer.iter_mut().zip(chunk.iter()) {
                *b = x.to_le_bytes().into();
            }
            self.portable.encrypt_blocks(buffer);
            for (b, x) in buffer.iter().zip(chunk.iter_mut()) {
                *x = u128::from_le_bytes((*b).into());
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod wide {
    use super::ROUNDS;
    use std::arch::x86_64::*;

    /// An expanded AES-128 key.
    pub(crate) type Keys = [u128; ROUNDS + 1];

    /// The AES-128 key schedule with AES-NI's key-generation assist.
    #[target_feature(enable = "aes")]
    pub(super) unsafe fn expand(key: [u8; 16]) -> Keys {
        #[target_feature(enable = "aes")]
        unsafe fn next<const RCON: i32>(k: __m128i) -> __m128i {
            let t = _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, RCON), 0xff);
            let k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
            let k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
            let k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
            _mm_xor_si128(k, t)
        }
        let mut k = [_mm_loadu_si128(key.as_ptr() as *const __m128i); ROUNDS + 1];
        k[1] = next::<0x01>(k[0]);
        k[2] = next::<0x02>(k[1]);
        k[3] = next::<0x04>(k[2]);
        k[4] = next::<0x08>(k[3]);
        k[5] = next::<0x10>(k[4]);
        k[6] = next::<0x20>(k[5]);
        k[7] = next::<0x40>(k[6]);
        k[8] = next::<0x80>(k[7]);
        k[9] = next::<0x1b>(k[8]);
        k[10] = next::<0x36>(k[9]);
        k.map(|r| std::mem::transmute::<__m128i, u128>(r))
    }

    /// Each round key in all four 128-bit lanes.
    #[target_feature(enable = "avx512f")]
    pub(crate) unsafe fn broadcast(keys: &Keys) -> [__m512i; ROUNDS + 1] {
        keys.map(|r| _mm512_broadcast_i32x4(std::mem::transmute::<u128, __m128i>(r)))
    }

    /// The rounds on `N` registers of four blocks (eight in flight hide the
    /// rounds' latency).
    #[inline(always)]
    pub(crate) unsafe fn rounds<const N: usize>(k: &[__m512i; ROUNDS + 1], x: &mut [__m512i; N]) {
        for v in x.iter_mut() {
            *v = _mm512_xor_si512(*v, k[0]);
        }
        for key in &k[1..ROUNDS] {
            for v in x.iter_mut() {
                *v = _mm512_aesenc_epi128(*v, *key);
            }
        }
        for v in x.iter_mut() {
            *v = _mm512_aesenclast_epi128(*v, k[ROUNDS]);
        }
    }

    /// Registers of four blocks per step of the main loops.
    pub(crate) const WIDE: usize = 8;

    /// Encrypts `blocks` in place: `WIDE` registers at a time, then one, then
    /// the last few blocks under a mask.
    #[target_feature(enable = "avx512f,vaes")]
    pub(super) unsafe fn encrypt(keys: &Keys, blocks: &mut [u128]) {
        let k = broadcast(keys);
        let p = blocks.as_mut_ptr() as *mut __m512i;
        let quads = blocks.len() / 4;
        let mut q = 0;
        while q + WIDE <= quads {
            let mut x: [__m512i; WIDE] = std::array::from_fn(|i| _mm512_loadu_si512(p.add(q + i)));
            rounds(&k, &mut x);
            for (i, v) in x.iter().enumerate() {
                _mm512_storeu_si512(p.add(q + i), *v);
            }
            q += WIDE;
        }
        while q < quads {
            let mut x = [_mm512_loadu_si512(p.add(q))];
            rounds(&k, &mut x);
            _mm512_storeu_si512(p.add(q), x[0]);
            q += 1;
        }
        let left = blocks.len() % 4;
        if left > 0 {
            // Two 64-bit elements per block.
            let mask: __mmask8 = (1u8 << (2 * left)).wrapping_sub(1);
            let at = p.add(quads) as *mut i64;
            let mut x = [_mm512_maskz_loadu_epi64(mask, at)];
            rounds(&k, &mut x);
            _mm512_mask_storeu_epi64(at, mask, x[0]);
        }
    }

    /// [`super::Aes128::keystream`] when the counter's low word does not
    /// wrap: the counters made in registers, the stream stored straight to
    /// `out` (the last few words under a mask).
    #[target_feature(enable = "avx512f,vaes")]
    pub(super) unsafe fn keystream(keys: &Keys, counter: u128, out: &mut [u64]) {
        let k = broadcast(keys);
        // Blocks 0..4 (element 2i the low word of block i), four on at each
        // register.
        let (low, high) = (counter as u64 as i64, (counter >> 64) as u64 as i64);
        let mut next = _mm512_set_epi64(
            high,
            low.wrapping_add(3),
            high,
            low.wrapping_add(2),
            high,
            low.wrapping_add(1),
            high,
            low,
        );
        let four = _mm512_set_epi64(0, 4, 0, 4, 0, 4, 0, 4);
        let mut counters = || {
            let c = next;
            next = _mm512_add_epi64(next, four);
            c
        };
        let p = out.as_mut_ptr() as *mut __m512i;
        let quads = out.len() / 8;
        let mut q = 0;
        while q + WIDE <= quads {
            let mut x: [__m512i; WIDE] = std::array::from_fn(|_| counters());
            rounds(&k, &mut x);
            for (i, v) in x.iter().enumerate() {
                _mm512_storeu_si512(p.add(q + i), *v);
            }
            q += WIDE;
        }
        while q < quads {
            let mut x = [counters()];
            rounds(&k, &mut x);
            _mm512_storeu_si512(p.add(q), x[0]);
            q += 1;
        }
        let left = out.len() % 8;
        if left > 0 {
            let mut x = [counters()];
            rounds(&k, &mut x);
            let mask: __mmask8 = (1u8 << left) - 1;
            _mm512_mask_storeu_epi64(p.add(quads) as *mut i64, mask, x[0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fips_197_example() {
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        let plain = u128::from_le_bytes(std::array::from_fn(|i| (i as u8) * 0x11));
        let mut blocks = [plain];
        Aes128::new(key).encrypt(&mut blocks);
        let expected = 0x69c4e0d86a7b0430d8cdb78070b4c55au128.to_be_bytes();
        assert_eq!(blocks[0].to_le_bytes(), expected);
    }

    #[test]
    fn the_vector_path_agrees_with_the_crate_at_every_length() {
        let aes = Aes128::new([0x5c; 16]);
        // Lengths around the 4- and 32-block steps, odd tails included.
        for n in [0, 1, 2, 3, 4, 5, 31, 32, 33, 35, 36, 67, 100] {
            let plain: Vec<u128> = (0..n as u128)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
                .collect();
            let (mut fast, mut slow) = (plain.clone(), plain.clone());
            aes.encrypt(&mut fast);
            aes.encrypt_portable(&mut slow);
            assert_eq!(fast, slow, "{n} blocks");
            assert!(n == 0 || fast != plain);
        }
    }

    #[test]
    fn the_key_stream_is_the_encrypted_counters_at_every_length() {
        let aes = Aes128::new([0xa7; 16]);
        // The vector path's counters, and a low word that wraps within the
        // stream (the portable path's).
        for (counter, n) in [(5u128 << 64) | 1000, (5u128 << 64) | (u64::MAX - 6) as u128]
            .into_iter()
            .flat_map(|c| [0usize, 1, 2, 7, 8, 9, 63, 64, 65, 71, 200].map(|n| (c, n)))
        {
            let mut blocks: Vec<u128> = (0..n.div_ceil(2) as u128).map(|i| counter + i).collect();
            aes.encrypt_portable(&mut blocks);
            let expected: Vec<u64> = (0..n)
                .map(|i| (blocks[i / 2] >> (64 * (i % 2))) as u64)
                .collect();
            let (mut fast, mut slow) = (vec![0; n], vec![0; n]);
            aes.keystream(counter, &mut fast);
            aes.keystream_portable(counter, &mut slow);
            assert_eq!(fast, expected, "{n} words");
            assert_eq!(slow, expected, "{n} words");
        }
    }
}

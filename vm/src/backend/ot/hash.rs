//! The hash that turns correlated OTs into independent pads: fixed-key AES as
//! a tweakable correlation-robust hash (Guo, Katz, Wang and Yu, "Efficient and
//! Secure Multiparty Computation from Fixed-Key Block Ciphers", S&P 2020):
//! block k of the pad of x for OT i is π(σ(x) ⊕ (i, k)) ⊕ σ(x), with
//! σ(xL ‖ xR) = (xL ⊕ xR) ‖ xL and π AES-128 under a fixed public key.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

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
            cipher: Aes128::new(&key.into()),
        }
    }

    /// Appends to `out` the pads of OTs `first..` whose values are `rows`,
    /// each XORed with `flip`; OT i's pad has `lanes[i].len` words.
    pub fn pads(&self, rows: &[u128], flip: u128, first: u64, lanes: &[Lane], out: &mut Vec<u64>) {
        if lanes.iter().all(|l| l.len == 1) {
            return self.word_pads(&rows[..lanes.len()], sigma(flip), first, out);
        }
        let mut blocks = [aes::Block::default(); BATCH];
        let mut sigmas = [0u128; BATCH];
        // Words each block gives: 1 for the last block of an odd-length pad.
        let mut words = [0u8; BATCH];
        let mut filled = 0;
        let mut flush = |blocks: &mut [aes::Block], sigmas: &[u128], words: &[u8]| {
            self.cipher.encrypt_blocks(blocks);
            for ((b, s), w) in blocks.iter().zip(sigmas).zip(words) {
                let h = u128::from_le_bytes((*b).into()) ^ s;
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
                blocks[filled] = (s ^ (index << 64 | k as u128)).to_le_bytes().into();
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
    /// the products' OTs, most of all.
    fn word_pads(&self, rows: &[u128], flip: u128, first: u64, out: &mut Vec<u64>) {
        let mut blocks = [aes::Block::default(); BATCH];
        let mut sigmas = [0u64; BATCH];
        let mut index = first;
        for chunk in rows.chunks(BATCH) {
            for ((row, block), low) in chunk.iter().zip(&mut blocks).zip(&mut sigmas) {
                let s = sigma(*row) ^ flip;
                *low = s as u64;
                *block = (s ^ (index as u128) << 64).to_le_bytes().into();
                index += 1;
            }
            let blocks = &mut blocks[..chunk.len()];
            self.cipher.encrypt_blocks(blocks);
            out.extend(
                blocks
                    .iter()
                    .zip(&sigmas)
                    .map(|(b, s)| u64::from_le_bytes(b[..8].try_into().expect("8 bytes")) ^ s),
            );
        }
    }
}

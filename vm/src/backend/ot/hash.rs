//! The hash that turns correlated OTs into independent pads: fixed-key AES as
//! a tweakable correlation-robust hash (Guo, Katz, Wang and Yu, "Efficient and
//! Secure Multiparty Computation from Fixed-Key Block Ciphers", S&P 2020):
//! block k of the pad of x for OT i is π(σ(x) ⊕ (i, k)) ⊕ σ(x), with
//! σ(xL ‖ xR) = (xL ⊕ xR) ‖ xL and π AES-128 under a fixed public key.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

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

    /// Appends to `out` the pads of `inputs` (a value, its OT's index, and the
    /// pad's length in words), one after another.
    pub fn pads(&self, inputs: impl Iterator<Item = (u128, u64, usize)>, out: &mut Vec<u64>) {
        let mut blocks = Vec::with_capacity(BATCH);
        let mut sigmas = Vec::with_capacity(BATCH);
        let mut words = Vec::with_capacity(BATCH);
        let flush = |blocks: &mut Vec<aes::Block>,
                     sigmas: &mut Vec<u128>,
                     words: &mut Vec<usize>,
                     out: &mut Vec<u64>| {
            self.cipher.encrypt_blocks(blocks);
            for ((b, s), w) in blocks.iter().zip(sigmas.iter()).zip(words.iter()) {
                let h = u128::from_le_bytes((*b).into()) ^ s;
                out.push(h as u64);
                if *w == 2 {
                    out.push((h >> 64) as u64);
                }
            }
            blocks.clear();
            sigmas.clear();
            words.clear();
        };
        for (x, index, len) in inputs {
            let s = sigma(x);
            for k in 0..len.div_ceil(2) {
                let tweak = (index as u128) << 64 | k as u128;
                blocks.push((s ^ tweak).to_le_bytes().into());
                sigmas.push(s);
                words.push((len - 2 * k).min(2));
                if blocks.len() == BATCH {
                    flush(&mut blocks, &mut sigmas, &mut words, out);
                }
            }
        }
        flush(&mut blocks, &mut sigmas, &mut words, out);
    }
}

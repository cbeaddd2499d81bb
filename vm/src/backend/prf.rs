//! A pseudo-random function from AES-128 in counter mode (AES-NI where the CPU
//! has it): the correlated randomness of the replicated protocols. Two parties
//! holding the same key draw the same stream, as long as they draw in the same
//! order, which they do because they run the same instructions.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;

pub struct Prf {
    cipher: Aes128,
    counter: u128,
}

impl Prf {
    pub fn new(key: [u8; 16]) -> Self {
        Prf {
            cipher: Aes128::new(&key.into()),
            counter: 0,
        }
    }

    /// The next `n` ring elements of the stream.
    pub fn elements(&mut self, n: usize) -> Vec<u64> {
        let mut blocks: Vec<aes::Block> = (0..n.div_ceil(2))
            .map(|i| (self.counter + i as u128).to_le_bytes().into())
            .collect();
        self.counter += blocks.len() as u128;
        self.cipher.encrypt_blocks(&mut blocks);
        let mut out = Vec::with_capacity(n);
        for b in &blocks {
            out.push(u64::from_le_bytes(b[..8].try_into().expect("8 bytes")));
            out.push(u64::from_le_bytes(b[8..].try_into().expect("8 bytes")));
        }
        out.truncate(n);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_give_equal_streams_and_the_stream_advances() {
        let (mut a, mut b) = (Prf::new([7; 16]), Prf::new([7; 16]));
        let x = a.elements(5);
        assert_eq!(x, b.elements(5));
        assert_ne!(x, a.elements(5));
        assert_ne!(Prf::new([8; 16]).elements(5), x);
    }
}

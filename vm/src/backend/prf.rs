//! A pseudo-random function from AES-128 in counter mode (AES-NI where the CPU
//! has it): the correlated randomness of the replicated protocols. Two parties
//! holding the same key draw the same stream, as long as they draw in the same
//! order, which they do because they run the same instructions.

use super::aes128::Aes128;

pub struct Prf {
    cipher: Aes128,
    counter: u128,
}

impl Prf {
    pub fn new(key: [u8; 16]) -> Self {
        Prf {
            cipher: Aes128::new(key),
            counter: 0,
        }
    }

    /// Moves to the start of stream `item`: 2^64 blocks of its own, so each
    /// item of a run's preprocessing is drawn the same wherever a party is in
    /// its draws (a party that skips a branch's items lands where the dealer
    /// does).
    pub fn seek(&mut self, item: u64) {
        self.counter = (item as u128) << 64;
    }

    /// Hands the next `n` elements of the stream to `f`, a chunk at a time with
    /// the chunk's offset, so no buffer of the whole stream is ever made. A draw
    /// of `n` elements always spends `ceil(n / 2)` blocks, whatever consumes it
    /// (chunks are of even length).
    pub fn draw(&mut self, n: usize, mut f: impl FnMut(usize, &[u64])) {
        let mut words = [0u64; 128];
        for at in (0..n).step_by(words.len()) {
            let chunk = &mut words[..(n - at).min(128)];
            self.fill(chunk);
            f(at, chunk);
        }
    }

    /// The next `n` ring elements of the stream.
    pub fn elements(&mut self, n: usize) -> Vec<u64> {
        let mut out = vec![0; n];
        self.fill(&mut out);
        out
    }

    /// Overwrites `v` with the next `v.len()` elements.
    pub fn fill(&mut self, v: &mut [u64]) {
        self.cipher.keystream(self.counter, v);
        self.counter += v.len().div_ceil(2) as u128;
    }

    /// Fills `v` with the stream's next elements of Z_2^128 (two words each).
    pub fn fill_wide(&mut self, v: &mut [u128]) {
        self.fill(bytemuck::cast_slice_mut(v));
    }

    /// Adds the next `v.len()` elements to `v`, elementwise in the ring.
    pub fn add_into(&mut self, v: &mut [u64]) {
        self.draw(v.len(), |at, chunk| {
            for (x, r) in v[at..].iter_mut().zip(chunk) {
                *x = x.wrapping_add(*r);
            }
        });
    }

    /// Subtracts the next `v.len()` elements from `v`, elementwise in the ring.
    pub fn sub_from(&mut self, v: &mut [u64]) {
        self.draw(v.len(), |at, chunk| {
            for (x, r) in v[at..].iter_mut().zip(chunk) {
                *x = x.wrapping_sub(*r);
            }
        });
    }

    /// XORs the next `v.len()` elements into `v`.
    pub fn xor_into(&mut self, v: &mut [u64]) {
        self.draw(v.len(), |at, chunk| {
            for (x, r) in v[at..].iter_mut().zip(chunk) {
                *x ^= *r;
            }
        });
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

    #[test]
    fn seeking_an_item_restarts_its_stream() {
        let mut a = Prf::new([5; 16]);
        a.seek(3);
        let x = a.elements(4);
        a.elements(9);
        a.seek(3);
        assert_eq!(a.elements(4), x);
        a.seek(4);
        assert_ne!(a.elements(4), x);
    }

    #[test]
    fn in_place_draws_combine_the_same_stream_as_elements() {
        // Lengths across the chunk size, odd and even (an odd draw spends a whole block).
        for n in [1, 2, 127, 128, 129, 1000] {
            let (mut a, mut b) = (Prf::new([3; 16]), Prf::new([3; 16]));
            let v: Vec<u64> = (0..n as u64).map(|i| i * 0x9e37_79b9).collect();
            let (mut added, mut subtracted, mut xored) = (v.clone(), v.clone(), v.clone());
            b.add_into(&mut added);
            b.sub_from(&mut subtracted);
            b.xor_into(&mut xored);
            for k in 0..3 {
                let r = a.elements(n);
                let expected: Vec<u64> = match k {
                    0 => v.iter().zip(&r).map(|(x, r)| x.wrapping_add(*r)).collect(),
                    1 => v.iter().zip(&r).map(|(x, r)| x.wrapping_sub(*r)).collect(),
                    _ => v.iter().zip(&r).map(|(x, r)| x ^ r).collect(),
                };
                assert_eq!(
                    [&added, &subtracted, &xored][k],
                    &expected,
                    "n = {n}, draw {k}"
                );
            }
        }
    }
}

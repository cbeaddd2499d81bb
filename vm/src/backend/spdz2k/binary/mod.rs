//! Binary authenticated shares for spdz2k's comparisons: bits shared by
//! XOR with MACs over GF(2^128), made by OT as in Wang, Ranellucci and Katz,
//! "Global-Scale Secure Multiparty Computation" (CCS 2017).
//!
//! Each party i has one key Δ_i (its OT extensions' Δ towards every peer,
//! [`crate::backend::ot::Pairwise::setup_with_delta`]). A shared bit x =
//! ⊕ x_i is held pairwise: for each peer j, party i holds the MAC M of x_i
//! under j's key, and j holds the key K, with M = K ⊕ x_i Δ_j. A correlated
//! OT (the extension's row, unhashed) is exactly that for the receiver's
//! choice bit, so random shared bits cost one OT per bit and peer
//! ([`Session::random_bits`]). XOR is local; opening sends the shares, and
//! the MACs are checked in a batch by comparing a hash of them with the one
//! the keys predict ([`Session::check_bits`]). Party i's share of the MAC of
//! x under Δ = ⊕ Δ_j (SPDZ's form) is x_i Δ_i ⊕ ⊕_j (M_j ⊕ K_j)
//! ([`Bits::mac_shares`]).
//!
//! A party that used different Δs towards different peers could learn the
//! others' bits from whether checks pass; before any binary material the
//! parties prove their Δs consistent ([`Session::check_deltas`], WRK17's
//! Π_aShare check over 64 bits).

pub mod and;
pub mod da;
pub mod eda;

use super::mac::{commitment, wide, words_of};
use super::offline::Session;
use crate::backend::ot::cot::append_bits;
use crate::backend::ot::Stage;
use crate::VmError;

/// Bits checked by [`Session::check_deltas`]: a party with two Δs passes
/// each with probability at most 1/2.
const DELTA_CHECK_BITS: usize = 64;

/// A batch of `n` bits shared by XOR with pairwise MACs, this party's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bits {
    pub n: usize,
    /// This party's shares, 64 to a word (bits past `n` zero).
    pub x: Vec<u64>,
    /// Per peer (none for this party): the MACs of this party's shares
    /// under the peer's Δ.
    pub macs: Vec<Vec<u128>>,
    /// Per peer: this party's keys of the peer's shares.
    pub keys: Vec<Vec<u128>>,
}

/// Bit `k` of packed `words`.
pub fn bit(words: &[u64], k: usize) -> bool {
    words[k / 64] >> (k % 64) & 1 == 1
}

/// All ones if `b`, else zero: a branch-free selection of Δ.
pub fn ones(b: bool) -> u128 {
    0u128.wrapping_sub(b as u128)
}

/// The words of `n` bits from `bits`.
pub fn pack(n: usize, bits: impl Fn(usize) -> bool) -> Vec<u64> {
    let mut words = vec![0u64; n.div_ceil(64)];
    for k in 0..n {
        words[k / 64] |= (bits(k) as u64) << (k % 64);
    }
    words
}

impl Bits {
    /// `n` public zeros among `parties` (every share, MAC and key zero).
    pub fn zeros(n: usize, me: usize, parties: usize) -> Bits {
        let none = |p: usize| if p == me { Vec::new() } else { vec![0; n] };
        Bits {
            n,
            x: vec![0; n.div_ceil(64)],
            macs: (0..parties).map(none).collect(),
            keys: (0..parties).map(none).collect(),
        }
    }

    /// This party's share of bit `k`.
    pub fn get(&self, k: usize) -> bool {
        bit(&self.x, k)
    }

    /// Elementwise XOR with `other` (local).
    pub fn xor(&self, other: &Bits) -> Bits {
        let mut out = self.clone();
        out.xor_in_place(other);
        out
    }

    /// XORs `other` into this batch (local, no copy: the binary material's
    /// adders and buckets run it millions of times).
    pub fn xor_in_place(&mut self, other: &Bits) {
        debug_assert_eq!(self.n, other.n);
        for (a, b) in self.x.iter_mut().zip(&other.x) {
            *a ^= b;
        }
        for (mine, theirs) in [(&mut self.macs, &other.macs), (&mut self.keys, &other.keys)] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                a.iter_mut().zip(b).for_each(|(a, b)| *a ^= b);
            }
        }
    }

    /// XORs `other` AND the public bits `c` into this batch.
    pub fn xor_and_public(&mut self, other: &Bits, c: &[u64]) {
        debug_assert_eq!(self.n, other.n);
        for ((a, b), c) in self.x.iter_mut().zip(&other.x).zip(c) {
            *a ^= b & c;
        }
        for (mine, theirs) in [(&mut self.macs, &other.macs), (&mut self.keys, &other.keys)] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                for (k, (a, b)) in a.iter_mut().zip(b).enumerate() {
                    *a ^= b & ones(bit(c, k));
                }
            }
        }
    }

    /// XOR with the public bits `c`: party 0 flips its shares, the others
    /// their keys of party 0's shares (by Δ, `delta` this party's).
    pub fn xor_public(&self, me: usize, delta: u128, c: &[u64]) -> Bits {
        let mut out = self.clone();
        out.xor_public_in_place(me, delta, c);
        out
    }

    /// [`Bits::xor_public`] in place.
    pub fn xor_public_in_place(&mut self, me: usize, delta: u128, c: &[u64]) {
        if me == 0 {
            for (x, c) in self.x.iter_mut().zip(c) {
                *x ^= c;
            }
        } else {
            for (k, key) in self.keys[0].iter_mut().enumerate() {
                *key ^= ones(bit(c, k)) & delta;
            }
        }
    }

    /// The bits at positions `at`, in that order.
    pub fn gather(&self, at: &[usize]) -> Bits {
        let pick = |v: &[u128]| -> Vec<u128> {
            if v.is_empty() {
                Vec::new()
            } else {
                at.iter().map(|k| v[*k]).collect()
            }
        };
        Bits {
            n: at.len(),
            x: pack(at.len(), |k| self.get(at[k])),
            macs: self.macs.iter().map(|m| pick(m)).collect(),
            keys: self.keys.iter().map(|k| pick(k)).collect(),
        }
    }

    /// Bits `range` of the batch.
    pub fn range(&self, range: std::ops::Range<usize>) -> Bits {
        let (start, n) = (range.start, range.len());
        let (word, shift) = (start / 64, start % 64);
        let mut x: Vec<u64> = (0..n.div_ceil(64))
            .map(|k| {
                let low = self.x[word + k] >> shift;
                let high = match (shift, self.x.get(word + k + 1)) {
                    (0, _) | (_, None) => 0,
                    (_, Some(next)) => next << (64 - shift),
                };
                low | high
            })
            .collect();
        if !n.is_multiple_of(64) {
            if let Some(last) = x.last_mut() {
                *last &= (1 << (n % 64)) - 1;
            }
        }
        let cut = |v: &[u128]| -> Vec<u128> {
            if v.is_empty() {
                Vec::new()
            } else {
                v[range.clone()].to_vec()
            }
        };
        Bits {
            n,
            x,
            macs: self.macs.iter().map(|m| cut(m)).collect(),
            keys: self.keys.iter().map(|k| cut(k)).collect(),
        }
    }

    /// The batches `parts` one after another.
    pub fn concat(parts: &[&Bits]) -> Bits {
        let n: usize = parts.iter().map(|b| b.n).sum();
        let peers = parts.first().map_or(0, |b| b.macs.len());
        let mut x = Vec::with_capacity(n.div_ceil(64));
        let mut at = 0;
        for b in parts {
            append_bits(&mut x, at, &b.x, b.n);
            at += b.n;
        }
        let join = |of: &dyn Fn(&Bits) -> &Vec<u128>| -> Vec<u128> {
            let mut all = Vec::with_capacity(n);
            for b in parts {
                all.extend_from_slice(of(b));
            }
            all
        };
        Bits {
            n,
            x,
            macs: (0..peers).map(|p| join(&|b: &Bits| &b.macs[p])).collect(),
            keys: (0..peers).map(|p| join(&|b: &Bits| &b.keys[p])).collect(),
        }
    }

    /// The batch in SPDZ's form, as an [`Auth`] whose values are this
    /// party's bits (0 or 1) and whose MACs are its shares of x Δ.
    pub fn to_auth(&self, delta: u128) -> super::mac::Auth {
        let n = self.n;
        let x = (0..n).map(|k| self.get(k) as u128).collect();
        super::mac::Auth {
            x: crate::ring::WideTensor::new(vec![n], x),
            m: crate::ring::WideTensor::new(vec![n], self.mac_shares(delta)),
        }
    }

    /// This party's shares of the MACs x Δ under the global key Δ = ⊕ Δ_j
    /// (`delta` this party's Δ_i): x_i Δ_i ⊕ ⊕_j (M_j ⊕ K_j).
    pub fn mac_shares(&self, delta: u128) -> Vec<u128> {
        (0..self.n)
            .map(|k| {
                let mut m = ones(self.get(k)) & delta;
                for (macs, keys) in self.macs.iter().zip(&self.keys) {
                    if !macs.is_empty() {
                        m ^= macs[k] ^ keys[k];
                    }
                }
                m
            })
            .collect()
    }
}

/// The bytes of a slice of MACs, for hashing.
fn bytes(v: &[u128]) -> &[u8] {
    bytemuck::cast_slice(v)
}

impl Session<'_> {
    /// `n` random bits shared among the parties, each party's share its own
    /// random choice bits in correlated OTs with every peer (one stage).
    pub fn random_bits(&mut self, n: usize) -> Result<Bits, VmError> {
        let (me, parties) = (self.me, self.parties);
        let x = self.rng.elements(n.div_ceil(64));
        let x = pack(n, |k| bit(&x, k));
        let mut stage = Stage::new(parties);
        for p in (0..parties).filter(|&p| p != me) {
            stage.send_correlated(p, n);
            stage.receive_correlated(p, &x, n);
        }
        let out = self.ot.run(self.net, stage)?;
        Ok(Bits {
            n,
            x,
            macs: out.macs,
            keys: out.keys,
        })
    }

    /// Bits `owner` knows (`bits`, `n` of them: this party's if it is the
    /// owner), authenticated: the owner's choice bits in correlated OTs with
    /// every peer, the others' shares zero (with zero MACs and keys).
    pub fn input_bits(&mut self, owner: usize, bits: &[u64], n: usize) -> Result<Bits, VmError> {
        let (me, parties) = (self.me, self.parties);
        let mut stage = Stage::new(parties);
        if me == owner {
            for p in (0..parties).filter(|&p| p != me) {
                stage.receive_correlated(p, bits, n);
            }
        } else {
            stage.send_correlated(owner, n);
        }
        let out = self.ot.run(self.net, stage)?;
        let mut b = Bits::zeros(n, me, parties);
        if me == owner {
            b.x = pack(n, |k| bit(bits, k));
            for p in (0..parties).filter(|&p| p != me) {
                b.macs[p] = out.macs[p].clone();
            }
        } else {
            b.keys[owner] = out.keys[owner].clone();
        }
        Ok(b)
    }

    /// Opens `b` to every party (one round): the XOR of all shares. The MACs
    /// are checked by the next [`Session::check_bits`].
    pub fn open_bits(&mut self, b: &Bits) -> Result<Vec<u64>, VmError> {
        let (me, parties) = (self.me, self.parties);
        let out = (0..parties)
            .map(|p| if p == me { Vec::new() } else { b.x.clone() })
            .collect();
        let got = self.exchange(out)?;
        let mut value = b.x.clone();
        for p in (0..parties).filter(|&p| p != me) {
            if got[p].len() != b.x.len() {
                return Err(VmError::Network(format!(
                    "party {p} opened {} words of bits, not {}: a protocol violation",
                    got[p].len(),
                    b.x.len()
                )));
            }
            // The last word's bits past n must be zero, as they are made.
            if !b.n.is_multiple_of(64) && got[p].last().is_some_and(|w| w >> (b.n % 64) != 0) {
                return Err(VmError::Network(format!(
                    "party {p} opened bits past the end of a batch: a protocol violation"
                )));
            }
            let expected: Vec<u128> = (0..b.n)
                .map(|k| b.keys[p][k] ^ (ones(bit(&got[p], k)) & self.keyed.delta_i))
                .collect();
            let (sent, predicted) = &mut self.bits_opened[p];
            sent.update(bytes(&b.macs[p]));
            predicted.update(bytes(&expected));
            for (v, w) in value.iter_mut().zip(&got[p]) {
                *v ^= w;
            }
        }
        Ok(value)
    }

    /// Checks the MACs of every share opened since the last check (one
    /// round): each party sends each peer a hash of its MACs under the
    /// peer's Δ, which the peer compares with the hash its keys predict.
    pub fn check_bits(&mut self) -> Result<(), VmError> {
        let (me, parties) = (self.me, self.parties);
        let mut out = vec![Vec::new(); parties];
        for p in (0..parties).filter(|&p| p != me) {
            let sent = std::mem::take(&mut self.bits_opened[p].0);
            out[p] = bytemuck::cast_slice(sent.finalize().as_bytes()).to_vec();
        }
        let got = self.exchange(out)?;
        for p in (0..parties).filter(|&p| p != me) {
            let predicted = std::mem::take(&mut self.bits_opened[p].1).finalize();
            if got[p] != bytemuck::cast_slice::<u8, u64>(predicted.as_bytes()) {
                return Err(VmError::Cheating(format!(
                    "cheating detected by party {me}: party {p} opened bits whose MACs do not \
                     match (it changed a share of an opened bit)"
                )));
            }
        }
        Ok(())
    }

    /// Proves every party's Δ the same towards all its peers (WRK17's check
    /// in Π_aShare): over [`DELTA_CHECK_BITS`] random shared bits, each party
    /// commits to its shares and MACs and, per bit, to D_0 = ⊕ of its keys of
    /// the others' shares and D_1 = D_0 ⊕ Δ; the shares and MACs are opened,
    /// then D_b for b the XOR of the others' shares, which must equal the
    /// XOR of their MACs under its Δ. Three rounds after the OTs.
    pub fn check_deltas(&mut self) -> Result<(), VmError> {
        const N: usize = DELTA_CHECK_BITS;
        let b = self.random_bits(N)?;
        let (me, parties, delta) = (self.me, self.parties, self.keyed.delta_i);
        let peers = move || (0..parties).filter(move |&p| p != me);
        let d0: Vec<u128> = (0..N)
            .map(|k| peers().fold(0, |d, p| d ^ b.keys[p][k]))
            .collect();
        let d = |k: usize, j: usize| d0[k] ^ (ones(j == 1) & delta);
        // Shown: the shares' word, then per party q the MACs under q's Δ
        // (zeros for this party).
        let mut shown = b.x.clone();
        for q in 0..parties {
            for k in 0..N {
                shown.extend(words_of(if q == me { 0 } else { b.macs[q][k] }));
            }
        }
        let nonces = self.rng.elements(4 + 4 * N);
        let nonce = |k: usize, j: usize| &nonces[4 + 2 * (2 * k + j)..][..2];
        let mut commitments = commitment(&nonces[..4], &shown);
        for k in 0..N {
            for j in 0..2 {
                commitments.extend(commitment(nonce(k, j), &words_of(d(k, j))));
            }
        }
        let committed = self.broadcast(commitments)?;
        let mut opening = nonces[..4].to_vec();
        opening.extend_from_slice(&shown);
        let opened = self.broadcast(opening)?;
        let wrong = |p: usize| {
            VmError::Cheating(format!(
                "cheating detected by party {me}: party {p} failed the check that its MAC key is \
                 the same towards every party"
            ))
        };
        let violation = |p: usize| {
            VmError::Network(format!(
                "party {p} sent a message of the wrong length in the check of the MAC keys: a \
                 protocol violation"
            ))
        };
        for p in peers() {
            let (c, o) = (&committed[p], &opened[p]);
            if c.len() != 4 * (1 + 2 * N) || o.len() != 4 + 1 + 2 * parties * N {
                return Err(violation(p));
            }
            if commitment(&o[..4], &o[4..]) != c[..4] {
                return Err(wrong(p));
            }
        }
        let share = |p: usize| if p == me { b.x[0] } else { opened[p][4] };
        let mac = |p: usize, q: usize, k: usize| -> u128 {
            if p == me {
                b.macs[q][k]
            } else {
                let at = 5 + 2 * (q * N + k);
                wide(&opened[p][at..])
            }
        };
        // The MACs shown under this party's Δ must be the ones its keys give.
        for p in peers() {
            for k in 0..N {
                if mac(p, me, k) != b.keys[p][k] ^ (ones(bit(&[share(p)], k)) & delta) {
                    return Err(wrong(p));
                }
            }
        }
        let others = |q: usize, k: usize| {
            (0..parties)
                .filter(|&p| p != q)
                .fold(0, |a, p| a ^ bit(&[share(p)], k) as usize)
        };
        let mut answer = Vec::with_capacity(4 * N);
        for k in 0..N {
            let j = others(me, k);
            answer.extend_from_slice(nonce(k, j));
            answer.extend(words_of(d(k, j)));
        }
        let answers = self.broadcast(answer)?;
        for q in peers() {
            let a = &answers[q];
            if a.len() != 4 * N {
                return Err(violation(q));
            }
            for k in 0..N {
                let j = others(q, k);
                let at = 4 + 4 * (2 * k + j);
                if commitment(&a[4 * k..4 * k + 2], &a[4 * k + 2..4 * k + 4])
                    != committed[q][at..at + 4]
                {
                    return Err(wrong(q));
                }
                let claimed = wide(&a[4 * k + 2..]);
                let macs = (0..parties)
                    .filter(|&p| p != q)
                    .fold(0u128, |m, p| m ^ mac(p, q, k));
                if claimed != macs {
                    return Err(wrong(q));
                }
            }
        }
        Ok(())
    }
}

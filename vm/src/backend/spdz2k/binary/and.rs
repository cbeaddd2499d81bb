//! AND triples ([x], [y], [z = x y]) of binary authenticated shares: WRK17's
//! Π_aAND (Wang, Ranellucci and Katz, CCS 2017).
//!
//! 1. *Leaky ANDs* ([`Session::leaky_and`]): random shared x, y, r; each
//!    cross term x_j y_i of an ordered pair costs two bits from party i,
//!    (H(K) ⊕ s, H(K ⊕ Δ_i) ⊕ s ⊕ y_i), K its key of x_j, of which party j
//!    can open the one its MAC hashes to (a half AND, Π_HaAND: no OT of its
//!    own). z's shares follow, and z is authenticated as r ⊕ e with e = z ⊕ r
//!    opened. The check: with Φ the MAC shares of y (Φ = y Δ in all), each
//!    pair shares x_j Φ_i by one more message (H(K) ⊕ H(K ⊕ Δ_i) ⊕ Φ_i), so
//!    the parties hold shares of x y Δ ⊕ z Δ, which must add to 0. They
//!    commit to a random combination of theirs (POLYVAL under coins) and open
//!    it. A cheater can make the check's outcome depend on one bit of an
//!    honest x_j it guesses (caught with probability 1/2): the leak.
//! 2. *Bucketing* ([`Session::take_ands`]): the leaky ANDs are permuted by
//!    coins and cut into buckets of B; a bucket's triples combine into one,
//!    (x, y, z) and (x', y', z') into (x ⊕ x', y, z ⊕ z' ⊕ d x') with
//!    d = y ⊕ y' opened, so x stays hidden if one of them leaked nothing. With
//!    B such that (B - 1) log2 ℓ ≥ 64 for a batch of ℓ, a cheater fills a
//!    whole bucket with leaky triples with probability below 2^-64 (WRK17's
//!    bucketing bound, as for TinyOT's).
//!
//! Batches are made as they are taken ([`AndPool`]): only one is held at a
//! time, not the millions of triples a program's edaBits take.
//!
//! Costs per leaky AND and peer: three correlated OTs (8 bytes of columns
//! each), two bits of half AND, one of e, 16 bytes of Φ's share.

use super::{bit, ones, pack, Bits};
use crate::backend::ot::consistency::Fold;
use crate::backend::ot::hash::Hash;
use crate::backend::ot::Lane;
use crate::backend::prf::Prf;
use crate::backend::spdz2k::mac::{self, words_of};
use crate::backend::spdz2k::offline::{self, Session};
use crate::VmError;
use std::collections::VecDeque;

/// Statistical security of the bucketing, in bits.
const SECURITY: usize = 64;

/// The smallest batch of AND triples made (smaller needs are rounded up:
/// the bucket size grows as the batch shrinks), and the largest.
pub const MIN_BATCH: usize = 1 << 12;
pub const MAX_BATCH: usize = 1 << 17;

/// Leaky ANDs per AND triple for a batch of `l`: (B - 1) log2 l ≥ 64.
pub fn bucket_size(l: usize) -> usize {
    1 + SECURITY.div_ceil(l.ilog2() as usize)
}

/// The batches that make `n` AND triples: sizes in [`MIN_BATCH`],
/// [`MAX_BATCH`].
pub fn batches(n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut left = n;
    while left > 0 {
        let l = left.clamp(MIN_BATCH, MAX_BATCH);
        out.push(l);
        left -= l.min(left);
    }
    out
}

/// H(rows ⊕ flip) under tweaks `first..`: one bit each (the low bit of the
/// hash), packed.
fn hash_bits(hash: &Hash, rows: &[u128], flip: u128, first: u64) -> Vec<u64> {
    let mut out = Vec::with_capacity(rows.len());
    hash.word_pads(rows, flip, first, &mut out);
    pack(rows.len(), |k| out[k] & 1 == 1)
}

/// H(rows ⊕ flip) under tweaks `first..`: 128 bits each.
fn hash_wide(hash: &Hash, rows: &[u128], flip: u128, first: u64) -> Vec<u128> {
    let lane = Lane {
        len: 2,
        width: 64,
        xor: false,
    };
    let mut out = Vec::with_capacity(2 * rows.len());
    hash.pads(rows, flip, first, false, &vec![lane; rows.len()], &mut out);
    out.chunks(2).map(mac::wide).collect()
}

/// A uniformly random permutation of 0..n from `coins` (Fisher and Yates).
pub(super) fn permutation(n: usize, coins: &mut Prf) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let draws = coins.elements(n);
    for i in (1..n).rev() {
        // A 64-bit draw scaled to 0..=i: bias below 2^-40 for n < 2^24.
        let j = ((draws[i] as u128 * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

/// AND triples to take in order, made batch by batch ([`batches`]) as
/// they are taken.
pub struct AndPool {
    /// The sizes of the batches still to make.
    planned: VecDeque<usize>,
    /// The batch being taken, and how far.
    batch: Option<[Bits; 3]>,
    next: usize,
}

impl AndPool {
    /// A pool of `n` AND triples.
    pub fn new(n: usize) -> AndPool {
        AndPool {
            planned: batches(n).into(),
            batch: None,
            next: 0,
        }
    }
}

impl Session<'_> {
    /// The next `n` AND triples of `pool`, making its batches as needed
    /// (their openings checked by the next [`Session::check_bits`]).
    pub fn take_ands(&mut self, pool: &mut AndPool, n: usize) -> Result<[Bits; 3], VmError> {
        let mut parts: Vec<[Bits; 3]> = Vec::new();
        let mut left = n;
        while left > 0 {
            let size = pool.batch.as_ref().map_or(0, |b| b[0].n);
            if pool.next == size {
                let l = pool.planned.pop_front().expect("AND triples planned");
                pool.batch = Some(self.and_batch(l)?);
                pool.next = 0;
                continue;
            }
            let take = left.min(size - pool.next);
            let range = pool.next..pool.next + take;
            let batch = pool.batch.as_ref().expect("a batch");
            parts.push(batch.each_ref().map(|b| b.range(range.clone())));
            pool.next += take;
            left -= take;
        }
        match parts.len() {
            0 => Ok([(); 3].map(|_| Bits::zeros(0, self.me, self.parties))),
            1 => Ok(parts.pop().expect("one part")),
            _ => {
                Ok([0, 1, 2]
                    .map(|i| Bits::concat(&parts.iter().map(|t| &t[i]).collect::<Vec<_>>())))
            }
        }
    }

    /// `l` AND triples from B l leaky ones, by buckets.
    fn and_batch(&mut self, l: usize) -> Result<[Bits; 3], VmError> {
        let b = bucket_size(l);
        let m = b * l;
        let all = self.random_bits(3 * m)?;
        let (x, y, r) = (
            all.range(0..m),
            all.range(m..2 * m),
            all.range(2 * m..3 * m),
        );
        let z = self.leaky_and(&x, &y, &r)?;
        let order = permutation(m, &mut self.coin_stream()?);
        let bucket = |k: usize| -> Vec<usize> { (0..l).map(|t| order[t * b + k]).collect() };
        let first = bucket(0);
        let y0 = y.gather(&first);
        let others: Vec<Vec<usize>> = (1..b).map(bucket).collect();
        let ds: Vec<Bits> = others.iter().map(|at| y0.xor(&y.gather(at))).collect();
        let d = self.open_bits(&Bits::concat(&ds.iter().collect::<Vec<_>>()))?;
        let (mut xs, mut zs) = (x.gather(&first), z.gather(&first));
        for (k, at) in others.iter().enumerate() {
            let (xk, zk) = (x.gather(at), z.gather(at));
            let dk = pack(l, |t| bit(&d, k * l + t));
            zs.xor_in_place(&zk);
            zs.xor_and_public(&xk, &dk);
            xs.xor_in_place(&xk);
        }
        Ok([xs, y0, zs])
    }

    /// z with z = x y unless a cheater made the check's outcome depend on
    /// a bit of x (see the module's docs); `r` authenticates z.
    pub fn leaky_and(&mut self, x: &Bits, y: &Bits, r: &Bits) -> Result<Bits, VmError> {
        let (me, parties, delta, m) = (self.me, self.parties, self.keyed.delta_i, x.n);
        let peers = move || (0..parties).filter(move |&p| p != me);
        let hash = Hash::new();
        let (half, check) = (self.tweaks, self.tweaks + m as u64);
        self.tweaks += 2 * m as u64;
        let words = m.div_ceil(64);
        // Half ANDs: to each peer j, (H(K) ⊕ s, H(K ⊕ Δ) ⊕ s ⊕ y) for K
        // this party's keys of x_j.
        let mut v = vec![0u64; words];
        let mut out = vec![Vec::new(); parties];
        for p in peers() {
            let s = self.rng.elements(words);
            let h0 = hash_bits(&hash, &x.keys[p], 0, half);
            let h1 = hash_bits(&hash, &x.keys[p], delta, half);
            let mut msg: Vec<u64> = h0.iter().zip(&s).map(|(h, s)| h ^ s).collect();
            msg.extend(h1.iter().zip(&s).zip(&y.x).map(|((h, s), y)| h ^ s ^ y));
            mask_tail(&mut msg[..words], m);
            mask_tail(&mut msg[words..], m);
            for (v, s) in v.iter_mut().zip(&s) {
                *v ^= s;
            }
            out[p] = msg;
        }
        let got = self.exchange(out)?;
        for p in peers() {
            if got[p].len() != 2 * words {
                return Err(length(p, "half ANDs"));
            }
            let (h0, h1) = got[p].split_at(words);
            let mine = hash_bits(&hash, &x.macs[p], 0, half);
            for k in 0..words {
                // The one its MAC opens: h0 where x's share is 0, h1 where 1.
                v[k] ^= mine[k] ^ h0[k] ^ (x.x[k] & (h0[k] ^ h1[k]));
            }
        }
        let mut z = v;
        for ((z, x), y) in z.iter_mut().zip(&x.x).zip(&y.x) {
            *z ^= x & y;
        }
        mask_tail(&mut z, m);
        // e = z ⊕ r to all; to each peer j, its share of x_j Φ: H(K) ⊕
        // H(K ⊕ Δ) ⊕ Φ for K this party's keys of x_j.
        let e_mine: Vec<u64> = z.iter().zip(&r.x).map(|(z, r)| z ^ r).collect();
        let phi = y.mac_shares(delta);
        let mut kept = vec![Vec::new(); parties];
        let mut out = vec![Vec::new(); parties];
        for p in peers() {
            let k0 = hash_wide(&hash, &x.keys[p], 0, check);
            let k1 = hash_wide(&hash, &x.keys[p], delta, check);
            let mut msg = e_mine.clone();
            for ((a, b), f) in k0.iter().zip(&k1).zip(&phi) {
                msg.extend(words_of(a ^ b ^ f));
            }
            kept[p] = k0;
            out[p] = msg;
        }
        let got = self.exchange(out)?;
        let mut e = e_mine;
        // This party's share of x Φ ⊕ z Δ, per triple.
        let mut share: Vec<u128> = (0..m).map(|k| ones(bit(&x.x, k)) & phi[k]).collect();
        for p in peers() {
            if got[p].len() != words + 2 * m {
                return Err(length(p, "leaky ANDs"));
            }
            for (e, w) in e.iter_mut().zip(&got[p][..words]) {
                *e ^= w;
            }
            let mine = hash_wide(&hash, &x.macs[p], 0, check);
            for k in 0..m {
                let u = mac::wide(&got[p][words + 2 * k..]);
                share[k] ^= kept[p][k] ^ mine[k] ^ (ones(bit(&x.x, k)) & u);
            }
        }
        mask_tail(&mut e, m);
        let z = r.xor_public(me, delta, &e);
        for (s, t) in share.iter_mut().zip(z.mac_shares(delta)) {
            *s ^= t;
        }
        let key = self.coins(2)?;
        let mut fold = Fold::new(mac::wide(&key));
        fold.absorb(&share);
        let (net, rng) = (&mut *self.net, &mut self.rng);
        let mut round = |w: Vec<u64>| offline::broadcast(net, me, parties, w);
        let mut random = |k: usize| Ok(rng.elements(k));
        let all = mac::commit_and_open(
            me,
            "the check of the AND triples",
            words_of(fold.value()),
            &mut round,
            &mut random,
        )?;
        if all.iter().fold(0u128, |a, w| a ^ mac::wide(w)) != 0 {
            return Err(VmError::Cheating(format!(
                "cheating detected by party {me}: the check of the AND triples failed (a party \
                 sent wrong half ANDs or shares)"
            )));
        }
        Ok(z)
    }
}

/// Clears the bits of the last word past `n` bits.
fn mask_tail(words: &mut [u64], n: usize) {
    if !n.is_multiple_of(64) {
        if let Some(last) = words.last_mut() {
            *last &= (1 << (n % 64)) - 1;
        }
    }
}

fn length(p: usize, what: &str) -> VmError {
    VmError::Network(format!(
        "party {p} sent a message of the wrong length in the {what}: a protocol violation"
    ))
}

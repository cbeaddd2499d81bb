//! edaBits (Escudero, Ghosh, Keller, Rachuri and Scholl, "Improved
//! Primitives for MPC over Mixed Arithmetic-Binary Circuits", CRYPTO 2020):
//! a random [A] of Z_2^128 with MACs and the binary shares of its low w bits,
//! the bits above uniform. What comparisons and truncations mask with.
//!
//! 1. *Private edaBits*: each party draws its own A^i and inputs it twice,
//!    arithmetically (VOLE, the owner alone contributing) and its low w
//!    bits in binary ([`Session::input_bits`]).
//! 2. *Check* (cut and choose with buckets, per owner): coins permute the
//!    owner's B N + C edaBits; the first C are opened whole and must agree;
//!    the others fall in buckets of B, whose first edaBit is kept and checked
//!    against each other one: D = A_1 - A_k is opened, and d = r_1 - r_k mod
//!    2^w by a binary subtraction, which must equal D mod 2^w. The other
//!    edaBit's uniform bits above w mask A_1's in D, so nothing of the kept
//!    one leaks. An owner that input inconsistent edaBits passes only if
//!    none is among the C opened and each bucket holds only edaBits with the
//!    same error: with B from [`shape`], below 2^-64.
//! 3. *Sum*: A = Σ A^i (local) and its low w bits by binary adders modulo
//!    2^w (w - 1 AND gates each, Beaver's with AND triples): the carries out
//!    of bit w - 1 land in A's uniform high part.

use super::{bit, pack, Bits};
use crate::backend::spdz2k::mac::Auth;
use crate::backend::spdz2k::offline::Session;
use crate::ring::WideTensor;
use crate::VmError;

/// AND triples taken in order.
pub struct AndPool {
    triples: [Bits; 3],
    next: usize,
}

impl AndPool {
    pub fn new(triples: [Bits; 3]) -> AndPool {
        AndPool { triples, next: 0 }
    }

    /// The next `n` triples.
    pub fn take(&mut self, n: usize) -> [Bits; 3] {
        let range = self.next..self.next + n;
        self.next += n;
        self.triples.each_ref().map(|b| b.range(range.clone()))
    }
}

/// `n` edaBits of `w` bits: the arithmetic values and their low bits,
/// bit-major (`bits[i]` holds bit i of every value).
pub struct EdaBits {
    pub arith: Auth,
    pub bits: Vec<Bits>,
}

/// AND gates the edaBits of `n` values of `w` bits take among `parties`
/// (checks and sums).
pub fn and_gates(n: usize, w: usize, parties: usize) -> usize {
    let (b, _) = shape(n);
    parties * n * (b - 1) * w.saturating_sub(1) + (parties - 1) * n * w.saturating_sub(1)
}

/// The bucket size B and the number opened C = B for a batch of `n` kept
/// edaBits (at least 2 are made). An owner that wants a bad edaBit kept
/// must make a whole bucket bad alike and keep every bad one out of the
/// cut: for t = B bad ones, probability at most n / C(n B, B) (any more are
/// likelier caught, all of them only if the cut misses them: 1 / C(n B +
/// B, B)); B is the least with n / C(n B, B) ≤ 2^-64.
pub fn shape(n: usize) -> (usize, usize) {
    let n = n.max(2);
    let log2_choose = |a: usize, b: usize| -> f64 {
        (0..b)
            .map(|i| ((a - i) as f64 / (i + 1) as f64).log2())
            .sum()
    };
    let b = (2..)
        .find(|&b| log2_choose(n * b, b) - (n as f64).log2() >= 64.0)
        .expect("a bucket size");
    (b, b)
}

impl Session<'_> {
    /// x AND y, elementwise, by Beaver's method with triples from `pool`
    /// (one round).
    pub fn and(&mut self, x: &Bits, y: &Bits, pool: &mut AndPool) -> Result<Bits, VmError> {
        let n = x.n;
        let [a, b, c] = pool.take(n);
        let opened = self.open_bits(&Bits::concat(&[&x.xor(&a), &y.xor(&b)]))?;
        let d = pack(n, |k| bit(&opened, k));
        let e = pack(n, |k| bit(&opened, n + k));
        let de: Vec<u64> = d.iter().zip(&e).map(|(d, e)| d & e).collect();
        Ok(c.xor(&b.and_public(&d)).xor(&a.and_public(&e)).xor_public(
            self.me,
            self.keyed.delta_i,
            &de,
        ))
    }

    /// a + b + carry_in modulo 2^w, for numbers given bit-major (w - 1
    /// rounds of AND gates, ripple carry).
    pub fn add_bits(
        &mut self,
        a: &[Bits],
        b: &[Bits],
        carry_in: bool,
        pool: &mut AndPool,
    ) -> Result<Vec<Bits>, VmError> {
        let (me, parties, w) = (self.me, self.parties, a.len());
        let n = a.first().map_or(0, |b| b.n);
        let mut carry = Bits::zeros(n, me, parties);
        if carry_in {
            carry = carry.xor_public(me, self.keyed.delta_i, &pack(n, |_| true));
        }
        let mut sum = Vec::with_capacity(w);
        for i in 0..w {
            sum.push(a[i].xor(&b[i]).xor(&carry));
            if i + 1 < w {
                let t = self.and(&a[i].xor(&carry), &b[i].xor(&carry), pool)?;
                carry = carry.xor(&t);
            }
        }
        Ok(sum)
    }

    /// a - b modulo 2^w: a + NOT b + 1.
    pub fn sub_bits(
        &mut self,
        a: &[Bits],
        b: &[Bits],
        pool: &mut AndPool,
    ) -> Result<Vec<Bits>, VmError> {
        let (me, delta) = (self.me, self.keyed.delta_i);
        let not_b: Vec<Bits> = b
            .iter()
            .map(|b| b.xor_public(me, delta, &pack(b.n, |_| true)))
            .collect();
        self.add_bits(a, &not_b, true, pool)
    }

    /// `n` edaBits of `w` ≤ 64 bits (see the module's docs), with
    /// [`and_gates`] AND triples from `pool`.
    pub fn eda_bits(&mut self, n: usize, w: usize, pool: &mut AndPool) -> Result<EdaBits, VmError> {
        let (me, parties) = (self.me, self.parties);
        let (b, c) = shape(n);
        let t = b * n + c;
        // Every owner's private edaBits.
        let mut private = Vec::with_capacity(parties);
        for owner in 0..parties {
            private.push(self.private_eda_bits(owner, t, w)?);
        }
        // The check: one permutation per owner, then all owners' opened
        // edaBits and buckets at once.
        let mut coins = self.coin_stream()?;
        let orders: Vec<Vec<usize>> = (0..parties)
            .map(|_| super::and::permutation(t, &mut coins))
            .collect();
        let cut: Vec<Vec<usize>> = orders.iter().map(|o| o[..c].to_vec()).collect();
        let kept: Vec<Vec<usize>> = orders
            .iter()
            .map(|o| (0..n).map(|j| o[c + j * b]).collect())
            .collect();
        let others: Vec<Vec<usize>> = orders
            .iter()
            .map(|o| {
                (1..b)
                    .flat_map(|k| (0..n).map(move |j| o[c + j * b + k]))
                    .collect()
            })
            .collect();
        let gather = |at: &[Vec<usize>]| -> (Auth, Vec<Bits>) {
            let arith: Vec<Auth> = private
                .iter()
                .zip(at)
                .map(|((a, _), at)| gather_auth(a, at))
                .collect();
            let bits = (0..w)
                .map(|i| {
                    let parts: Vec<Bits> = private
                        .iter()
                        .zip(at)
                        .map(|((_, bits), at)| bits[i].gather(at))
                        .collect();
                    Bits::concat(&parts.iter().collect::<Vec<_>>())
                })
                .collect();
            (Auth::concat(&arith.iter().collect::<Vec<_>>()), bits)
        };
        // Kept ones, repeated per other of their bucket, against the others.
        let repeated: Vec<Vec<usize>> = kept
            .iter()
            .map(|k| (1..b).flat_map(|_| k.iter().copied()).collect())
            .collect();
        let (cut_arith, cut_bits) = gather(&cut);
        let (first_arith, first_bits) = gather(&repeated);
        let (other_arith, other_bits) = gather(&others);
        let differences = self.sub_bits(&first_bits, &other_bits, pool)?;
        let mut shown = cut_bits.clone();
        shown.extend(differences);
        // Where each row of `shown` starts in the opened bits.
        let starts: Vec<usize> = shown
            .iter()
            .scan(0, |at, b| {
                *at += b.n;
                Some(*at - b.n)
            })
            .collect();
        let opened_bits = self.open_bits(&Bits::concat(&shown.iter().collect::<Vec<_>>()))?;
        let arith = Auth::concat(&[&cut_arith, &first_arith.sub(&other_arith)]);
        let opened_arith = self.open(&arith)?;
        // Value j of a bit-major group starting at row `first` of `shown`.
        let value = |first: usize, j: usize| -> u128 {
            (0..w).fold(0u128, |v, i| {
                v | (bit(&opened_bits, starts[first + i] + j) as u128) << i
            })
        };
        let low = |v: u128| if w >= 128 { v } else { v & ((1u128 << w) - 1) };
        for (j, a) in opened_arith.iter().enumerate() {
            let group = if j < cut_arith.x.len() { 0 } else { w };
            let at = if group == 0 { j } else { j - cut_arith.x.len() };
            if low(*a) != value(group, at) {
                return Err(VmError::Cheating(format!(
                    "cheating detected by party {me}: a party's edaBits failed their check (its \
                     arithmetic and binary inputs differ)"
                )));
            }
        }
        // The sum over the owners.
        let (mut arith, mut bits) = {
            let (a, bits) = &private[0];
            (
                gather_auth(a, &kept[0]),
                bits.iter().map(|b| b.gather(&kept[0])).collect::<Vec<_>>(),
            )
        };
        for (owner, (a, own)) in private.iter().enumerate().skip(1) {
            arith = arith.add(&gather_auth(a, &kept[owner]));
            let own: Vec<Bits> = own.iter().map(|b| b.gather(&kept[owner])).collect();
            bits = self.add_bits(&bits, &own, false, pool)?;
        }
        self.check_bits()?;
        Ok(EdaBits { arith, bits })
    }

    /// `t` private edaBits of `owner`: the arithmetic values and their low
    /// `w` bits, bit-major.
    fn private_eda_bits(
        &mut self,
        owner: usize,
        t: usize,
        w: usize,
    ) -> Result<(Auth, Vec<Bits>), VmError> {
        let values = if self.me == owner {
            self.draw_wide(t)
        } else {
            vec![0; t]
        };
        let macs = self.authenticate(Some(owner), &values)?;
        let packed = pack(w * t, |k| values[k % t] >> (k / t) & 1 == 1);
        let all = self.input_bits(owner, &packed, w * t)?;
        let bits = (0..w).map(|i| all.range(i * t..(i + 1) * t)).collect();
        let arith = Auth {
            x: WideTensor::new(vec![t], values),
            m: WideTensor::new(vec![t], macs),
        };
        Ok((arith, bits))
    }
}

/// The values of `a` at `at`, in order.
fn gather_auth(a: &Auth, at: &[usize]) -> Auth {
    let pick =
        |t: &WideTensor| WideTensor::new(vec![at.len()], at.iter().map(|k| t.data[*k]).collect());
    Auth {
        x: pick(&a.x),
        m: pick(&a.m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket size is the least that keeps a cheater's chance at 2^-64:
    /// 6 for 10k edaBits, larger for fewer (18 for 6, 35 for 1 or 2).
    #[test]
    fn buckets_grow_as_batches_shrink() {
        let chance = |n: usize, b: usize| -> f64 {
            let n = n.max(2);
            let log2_choose: f64 = (0..b)
                .map(|i| ((n * b - i) as f64 / (i + 1) as f64).log2())
                .sum();
            (n as f64).log2() - log2_choose
        };
        for (n, want) in [(10_000, 6), (6, 18), (4096, 6), (1, 35)] {
            assert_eq!(shape(n), (want, want), "{n}");
        }
        for n in [1, 2, 3, 40, 1000, 100_000] {
            let (b, c) = shape(n);
            assert_eq!(b, c);
            assert!(
                chance(n, b) <= -64.0 && chance(n, b - 1) > -64.0,
                "{n}: {b}"
            );
        }
    }
}

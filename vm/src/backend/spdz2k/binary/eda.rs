//! edaBits (Escudero, Ghosh, Keller, Rachuri and Scholl, "Improved
//! Primitives for MPC over Mixed Arithmetic-Binary Circuits", CRYPTO 2020):
//! an authenticated [A] of Z_2^128 and the binary shares of its low w bits.
//! Two kinds:
//!
//! - *loose* (what comparisons mask with): A uniform in the ring;
//! - *strict* (what truncations mask with, and any random value below
//!   2^w): A = Σ_i 2^i r_i below 2^w, modulo 2^64 (the part of the ring
//!   the MACs guarantee).
//!
//! 1. *Private edaBits*: each party draws its own and inputs each twice,
//!    arithmetically (VOLE, the owner alone contributing) and its low bits
//!    in binary ([`Session::input_bits`]); a strict one is below 2^w.
//! 2. *Check* (cut and choose with buckets, per owner): besides the n + C
//!    kept ones the owner inputs B' n + C *partners*, loose edaBits of W
//!    bits (W = w for loose kept ones, 64 for strict ones). Coins permute
//!    both; the first C of each are opened whole and must agree modulo 2^W;
//!    every kept edaBit is checked against B' partners: D = A - A' is
//!    opened, and d = r - r' mod 2^W by a binary subtraction (the kept
//!    bits extended by zeros) must equal D mod 2^W. The partner's uniform
//!    bits mask the kept one's in D: all 64 the ring guarantees for a
//!    strict one, whose bits from w to 63 the check thereby shows zero.
//!    An owner whose kept edaBit is bad (its two forms differ modulo 2^W)
//!    passes only if its B' partners are bad alike: with B' from [`shape`],
//!    below 2^-64.
//! 3. *Sum*: A = Σ A^i (local), and its bits by binary adders (Beaver's
//!    AND gates with AND triples): for loose edaBits modulo 2^w, the carries
//!    out of bit w - 1 landing in A's uniform high part; for strict ones
//!    over w + e bits (e = ⌈log2 parties⌉, the carries of the sum below
//!    parties 2^w), whose top e bits daBits bring back to subtract them
//!    from A.

use super::and::AndPool;
use super::{bit, pack, Bits};
use crate::backend::spdz2k::mac::Auth;
use crate::backend::spdz2k::offline::Session;
use crate::ring::WideTensor;
use crate::VmError;

/// The bits of a strict edaBit's check (the ring's part the MACs
/// guarantee, which its partners' uniform bits must mask).
const STRICT_CHECK_BITS: usize = 64;

/// `n` edaBits of `w` bits: the arithmetic values and their low bits,
/// bit-major (`bits[i]` holds bit i of every value).
pub struct EdaBits {
    pub arith: Auth,
    pub bits: Vec<Bits>,
}

/// The carries of a sum of one value below 2^w from each of `parties`:
/// ⌈log2 parties⌉ bits above w.
pub fn carry_bits(parties: usize) -> usize {
    (parties - 1).ilog2() as usize + 1
}

/// The width of an edaBit check (the partners' bits) and of the sum over
/// the owners, for edaBits of `w` bits.
pub fn widths(w: usize, strict: bool, parties: usize) -> (usize, usize) {
    if strict {
        (STRICT_CHECK_BITS, w + carry_bits(parties))
    } else {
        (w, w)
    }
}

/// AND gates the edaBits of `n` values of `w` bits take among `parties`
/// (checks and sums).
pub fn and_gates(n: usize, w: usize, strict: bool, parties: usize) -> usize {
    let (partners, _) = shape(n);
    let (checked, summed) = widths(w, strict, parties);
    parties * n * partners * checked.saturating_sub(1)
        + (parties - 1) * n * summed.saturating_sub(1)
}

/// The partners B' of each kept edaBit and the number C opened of each
/// pool, for a batch of `n` kept ones. With j of the n kept ones bad, the
/// uncut bad partners must fill exactly their buckets (the permutation
/// puts the other partners elsewhere): probability 1 / C(n B', j B') ≤ 1 /
/// C(n B', B') for j < n; for j = n, every uncut edaBit of both pools is
/// bad and both cuts missed the bad ones: 1 / (C(n + C, C) C(n B' + C,
/// C)). B' = C is the least keeping both below 2^-64.
pub fn shape(n: usize) -> (usize, usize) {
    let n = n.max(1);
    let log2_choose = |a: usize, b: usize| -> f64 {
        (0..b)
            .map(|i| ((a - i) as f64 / (i + 1) as f64).log2())
            .sum()
    };
    let safe = |b: usize| {
        let some_bad = n < 2 || log2_choose(n * b, b) >= 64.0;
        let all_bad = log2_choose(n + b, b) + log2_choose(n * b + b, b) >= 64.0;
        some_bad && all_bad
    };
    let b = (1..).find(|&b| safe(b)).expect("a bucket size");
    (b, b)
}

impl Session<'_> {
    /// x AND y, elementwise, by Beaver's method with triples from `pool`
    /// (one round).
    pub fn and(&mut self, x: &Bits, y: &Bits, pool: &mut AndPool) -> Result<Bits, VmError> {
        let n = x.n;
        let [a, b, mut z] = self.take_ands(pool, n)?;
        let mut masked = Bits::concat(&[x, y]);
        masked.xor_in_place(&Bits::concat(&[&a, &b]));
        let opened = self.open_bits(&masked)?;
        let d = pack(n, |k| bit(&opened, k));
        let e = pack(n, |k| bit(&opened, n + k));
        let de: Vec<u64> = d.iter().zip(&e).map(|(d, e)| d & e).collect();
        z.xor_and_public(&b, &d);
        z.xor_and_public(&a, &e);
        z.xor_public_in_place(self.me, self.keyed.delta_i, &de);
        Ok(z)
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
            carry.xor_public_in_place(me, self.keyed.delta_i, &pack(n, |_| true));
        }
        let mut sum = Vec::with_capacity(w);
        for i in 0..w {
            let mut sum_bit = a[i].xor(&carry);
            if i + 1 < w {
                // The next carry: carry ⊕ (a ⊕ carry)(b ⊕ carry).
                let t = self.and(&sum_bit, &b[i].xor(&carry), pool)?;
                carry.xor_in_place(&t);
            }
            sum_bit.xor_in_place(&b[i]);
            sum.push(sum_bit);
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

    /// `n` loose edaBits of `w` ≤ 64 bits (see the module's docs), with
    /// [`and_gates`] AND triples from `pool`.
    pub fn eda_bits(&mut self, n: usize, w: usize, pool: &mut AndPool) -> Result<EdaBits, VmError> {
        let owners = self.checked_private(n, w, false, pool)?;
        let sum = self.sum_bits(owners, w, pool)?;
        self.check_bits()?;
        Ok(sum)
    }

    /// `n` strict edaBits of `w` < 64 bits (see the module's docs), with
    /// [`and_gates`] AND triples from `pool` and `n` [`carry_bits`] daBits
    /// `(values, binary)`, carry-major.
    pub fn strict_eda_bits(
        &mut self,
        n: usize,
        w: usize,
        pool: &mut AndPool,
        (d, d_binary): (Auth, Bits),
    ) -> Result<EdaBits, VmError> {
        let (me, parties) = (self.me, self.parties);
        let (_, width) = widths(w, true, parties);
        let owners = self.checked_private(n, w, true, pool)?;
        let mut sum = self.sum_bits(owners, width, pool)?;
        // The carries κ: e = κ XOR d opened, κ = e + d (1 - 2e).
        let carries = Bits::concat(&sum.bits[w..].iter().collect::<Vec<_>>());
        let e = self.open_bits(&carries.xor(&d_binary))?;
        let e: Vec<bool> = (0..carries.n).map(|j| bit(&e, j)).collect();
        let kappa = d.from_dabit(&e, me, self.keyed.alpha_i);
        for j in 0..width - w {
            let carry = kappa.range(j * n..(j + 1) * n).shl((w + j) as u32);
            sum.arith = sum.arith.sub(&carry);
        }
        sum.bits.truncate(w);
        self.check_bits()?;
        Ok(sum)
    }

    /// The owners' kept edaBits added up, their bits over `width` rows
    /// (beyond their own, zeros).
    fn sum_bits(
        &mut self,
        owners: Vec<EdaBits>,
        width: usize,
        pool: &mut AndPool,
    ) -> Result<EdaBits, VmError> {
        let (me, parties) = (self.me, self.parties);
        let mut owners = owners.into_iter().map(|mut e| {
            let n = e.arith.x.len();
            e.bits.resize(width, Bits::zeros(n, me, parties));
            e
        });
        let mut sum = owners.next().expect("a party");
        for own in owners {
            sum.bits = self.add_bits(&sum.bits, &own.bits, false, pool)?;
            sum.arith = sum.arith.add(&own.arith);
        }
        Ok(sum)
    }

    /// Every owner's `n` kept private edaBits of `w` bits, checked (the
    /// module's steps 1 and 2).
    fn checked_private(
        &mut self,
        n: usize,
        w: usize,
        strict: bool,
        pool: &mut AndPool,
    ) -> Result<Vec<EdaBits>, VmError> {
        let (me, parties) = (self.me, self.parties);
        let (partners, cut) = shape(n);
        let (wide, _) = widths(w, strict, parties);
        let (mut kept, mut others) = (Vec::with_capacity(parties), Vec::with_capacity(parties));
        for owner in 0..parties {
            kept.push(self.private_eda_bits(owner, n + cut, w, strict)?);
            others.push(self.private_eda_bits(owner, partners * n + cut, wide, false)?);
        }
        // Per owner, a permutation of each pool; partner k of kept edaBit j
        // at k n + j after the cut.
        let mut coins = self.coin_stream()?;
        let mut orders = |t: usize| -> Vec<Vec<usize>> {
            (0..parties)
                .map(|_| super::and::permutation(t, &mut coins))
                .collect()
        };
        let (kept_order, other_order) = (orders(n + cut), orders(partners * n + cut));
        let cut_of = |orders: &[Vec<usize>]| -> Vec<Vec<usize>> {
            orders.iter().map(|o| o[..cut].to_vec()).collect()
        };
        let kept_at: Vec<Vec<usize>> = kept_order.iter().map(|o| o[cut..].to_vec()).collect();
        let checked_at: Vec<Vec<usize>> = kept_at
            .iter()
            .map(|at| (0..partners).flat_map(|_| at.iter().copied()).collect())
            .collect();
        let partner_at: Vec<Vec<usize>> = other_order.iter().map(|o| o[cut..].to_vec()).collect();
        let cut_kept = gather(&kept, &cut_of(&kept_order));
        let cut_others = gather(&others, &cut_of(&other_order));
        let mut first = gather(&kept, &checked_at);
        let second = gather(&others, &partner_at);
        let checked = first.arith.x.len();
        first.bits.resize(wide, Bits::zeros(checked, me, parties));
        let differences = self.sub_bits(&first.bits, &second.bits, pool)?;
        // Opened: the cuts whole, the differences both ways; each must
        // agree modulo 2^W.
        let groups = [&cut_kept.bits, &cut_others.bits, &differences];
        let rows: Vec<&Bits> = groups.iter().flat_map(|g| g.iter()).collect();
        let opened_bits = self.open_bits(&Bits::concat(&rows))?;
        let arith = [
            &cut_kept.arith,
            &cut_others.arith,
            &first.arith.sub(&second.arith),
        ];
        let opened = self.open(&Auth::concat(&arith))?;
        let modulus = (1u128 << wide) - 1;
        let (mut at, mut value) = (0, 0);
        for g in groups {
            let count = g[0].n;
            for j in 0..count {
                let bits = (0..g.len()).fold(0u128, |v, i| {
                    v | (bit(&opened_bits, at + i * count + j) as u128) << i
                });
                if opened[value + j] & modulus != bits {
                    return Err(VmError::Cheating(format!(
                        "cheating detected by party {me}: a party's edaBits failed their check \
                         (its arithmetic and binary inputs differ)"
                    )));
                }
            }
            at += g.len() * count;
            value += count;
        }
        Ok(kept
            .iter()
            .zip(&kept_at)
            .map(|(k, at)| EdaBits {
                arith: gather_auth(&k.arith, at),
                bits: k.bits.iter().map(|b| b.gather(at)).collect(),
            })
            .collect())
    }

    /// `t` private edaBits of `owner`: the arithmetic values (below 2^w if
    /// `strict`, else uniform) and their low `w` bits, bit-major.
    fn private_eda_bits(
        &mut self,
        owner: usize,
        t: usize,
        w: usize,
        strict: bool,
    ) -> Result<EdaBits, VmError> {
        let mut values = vec![0; t];
        if self.me == owner {
            values = self.draw_wide(t);
            if strict {
                values.iter_mut().for_each(|v| *v &= (1u128 << w) - 1);
                #[cfg(feature = "tamper")]
                if self.out_of_range {
                    values[0] += 1 << w;
                }
            }
        }
        let macs = self.authenticate(Some(owner), &values)?;
        let packed = pack(w * t, |k| values[k % t] >> (k / t) & 1 == 1);
        let all = self.input_bits(owner, &packed, w * t)?;
        let bits = (0..w).map(|i| all.range(i * t..(i + 1) * t)).collect();
        let arith = Auth {
            x: WideTensor::new(vec![t], values),
            m: WideTensor::new(vec![t], macs),
        };
        Ok(EdaBits { arith, bits })
    }
}

/// The edaBits of every owner at its positions, one owner after another.
fn gather(private: &[EdaBits], at: &[Vec<usize>]) -> EdaBits {
    let arith: Vec<Auth> = private
        .iter()
        .zip(at)
        .map(|(p, at)| gather_auth(&p.arith, at))
        .collect();
    let bits = (0..private[0].bits.len())
        .map(|i| {
            let parts: Vec<Bits> = private
                .iter()
                .zip(at)
                .map(|(p, at)| p.bits[i].gather(at))
                .collect();
            Bits::concat(&parts.iter().collect::<Vec<_>>())
        })
        .collect();
    EdaBits {
        arith: Auth::concat(&arith.iter().collect::<Vec<_>>()),
        bits,
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

    /// The partners per kept edaBit are the least that keep a cheater's
    /// chance at 2^-64: 5 for 10k edaBits, more for fewer (32 for one).
    #[test]
    fn partners_grow_as_batches_shrink() {
        let log2_choose = |a: usize, b: usize| -> f64 {
            (0..b)
                .map(|i| ((a - i) as f64 / (i + 1) as f64).log2())
                .sum()
        };
        // log2 of the cheater's best chance with b partners and cuts of b.
        let chance = |n: usize, b: usize| -> f64 {
            let all_bad = -(log2_choose(n + b, b) + log2_choose(n * b + b, b));
            if n < 2 {
                all_bad
            } else {
                all_bad.max(-log2_choose(n * b, b))
            }
        };
        for (n, want) in [(10_000, 5), (4096, 5), (6, 18), (1, 32)] {
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

//! Truncation and comparison on authenticated shares, from authenticated
//! random bits (each a value of Z_2^128 that is 0 or 1, with its MAC) and
//! Beaver products; no binary sharing, so every gate is checked by the same
//! MACs as the arithmetic.
//!
//! Both open c = y + r for a random r whose low bits are shared as bits and
//! whose high part is uniform in the ring, so c is uniform in Z_2^128 (one
//! round), then compare the public c with r's shared bits: [c mod 2^w <
//! r mod 2^w] by a tree over the bits (Catrina and de Hoogh's
//! less-than-with-a-public-operand): per bit, lt_i = (1 - c_i) r_i and eq_i =
//! 1 - (c_i XOR r_i) are linear in r_i; a merge of (hi, lo) gives lt = lt_hi
//! + eq_hi lt_lo and eq = eq_hi eq_lo, two products, all merges of a level
//! in one round: ceil(log2 w) rounds.

use super::material::{self, Taken};
use super::{auths, Share, Spdz2k, Task};
use crate::backend::beaver::OwnedProduct;
use crate::backend::Outcome;
use crate::net::Part;
use crate::ring::{WideTensor, Word};
use std::collections::VecDeque;

/// Bit `i` of each value, as a public tensor of 0s and 1s.
fn bit_of(c: &[u128], i: u32) -> WideTensor {
    WideTensor::new(vec![c.len()], c.iter().map(|v| (v >> i) & 1).collect())
}

/// 1 - t, elementwise, for public bits t.
fn flip(t: &WideTensor) -> WideTensor {
    t.map(|v| 1u128.wrapping_sub(v))
}

/// [c mod 2^w < b] of `n` values, for the public `c` and the shared bits
/// `bits` of b (bit-major: bit i of value j at i n + j), with the tree's
/// triples from `m`.
fn below(
    s: &mut Spdz2k,
    c: &[u128],
    bits: &super::Auth,
    w: usize,
    m: &mut VecDeque<Taken>,
    out: &mut [Vec<Part>],
) -> Task {
    let n = c.len();
    if w == 0 {
        let zero = s.constant(&crate::ring::RingTensor::zeros(&[n]));
        return Task::Done(Outcome::Secret(Share::plain(zero)));
    }
    let one = WideTensor::new(vec![n], vec![1; n]);
    let (mut lts, mut eqs) = (Vec::with_capacity(w), Vec::with_capacity(w));
    for i in 0..w {
        let ci = bit_of(c, i as u32);
        let ri = bits.range(i * n..(i + 1) * n);
        lts.push(ri.scale(&flip(&ci)));
        // 1 - (c_i XOR r_i) = (1 - c_i) + r_i (2 c_i - 1).
        let sign = ci.map(|v| v.wrapping_mul(2).wrapping_sub(1));
        eqs.push(s.plus_public(&ri.scale(&sign), &one.sub(&ci, &[n])));
    }
    let levels = material::tree_products(w).len();
    let triples: VecDeque<[super::Auth; 3]> =
        (0..levels).map(|_| auths(m.drain(..3).collect())).collect();
    merge(s, lts, eqs, triples, out)
}

/// One level of the tree, then the next: the less-than bit of the whole.
fn merge(
    s: &mut Spdz2k,
    lts: Vec<super::Auth>,
    eqs: Vec<super::Auth>,
    mut triples: VecDeque<[super::Auth; 3]>,
    out: &mut [Vec<Part>],
) -> Task {
    if lts.len() == 1 {
        let lt = lts.into_iter().next().expect("one");
        return Task::Done(Outcome::Secret(Share::plain(lt)));
    }
    let count = lts.len();
    let pairs = count / 2;
    let top = count.div_ceil(2) == 1;
    let n = lts[0].x.len();
    let mut left: Vec<&super::Auth> = (0..pairs).map(|j| &eqs[2 * j + 1]).collect();
    let mut right: Vec<&super::Auth> = (0..pairs).map(|j| &lts[2 * j]).collect();
    if !top {
        left.extend((0..pairs).map(|j| &eqs[2 * j + 1]));
        right.extend((0..pairs).map(|j| &eqs[2 * j]));
    }
    let (x, y) = (super::Auth::concat(&left), super::Auth::concat(&right));
    let triple = triples.pop_front().expect("a triple per level");
    let product = OwnedProduct::Mul(x.x.shape.clone());
    let task = s.multiply(product, &x, &y, triple, out);
    Task::All(
        vec![task],
        Box::new(move |s, products, out| {
            let p = super::secret(&products[0]);
            let mut next_lts = Vec::with_capacity(count.div_ceil(2));
            let mut next_eqs = Vec::with_capacity(count.div_ceil(2));
            for j in 0..pairs {
                next_lts.push(lts[2 * j + 1].add(&p.range(j * n..(j + 1) * n)));
                if !top {
                    next_eqs.push(p.range((pairs + j) * n..(pairs + j + 1) * n));
                }
            }
            if count % 2 == 1 {
                next_lts.push(lts[count - 1].clone());
                next_eqs.push(eqs[count - 1].clone());
            }
            Ok(merge(s, next_lts, next_eqs, triples, out))
        }),
    )
}

/// sum_i 2^i bits_i of `n` values from bit-major bits.
fn weighted(bits: &super::Auth, n: usize, w: usize) -> super::Auth {
    let mut sum = bits.range(0..n);
    for i in 1..w {
        sum = sum.add(&bits.range(i * n..(i + 1) * n).shl(i as u32));
    }
    sum
}

/// [x < 0] of `k`-bit values: y = x + 2^(k-1) is in [0, 2^k), c = y + r is
/// opened with r = sum_{i<k} 2^i r_i + 2^k r_up, and y's top bit is c_{k-1}
/// XOR r_{k-1} XOR [c mod 2^(k-1) < r mod 2^(k-1)]; x < 0 iff it is 0.
/// 1 + ceil(log2(k - 1)) + 1 rounds.
pub(super) fn ltz(
    s: &mut Spdz2k,
    x: &super::Auth,
    k: u32,
    mut m: VecDeque<Taken>,
    out: &mut [Vec<Part>],
) -> Task {
    let (shape, n, k) = (x.x.shape.clone(), x.x.len(), k as usize);
    let bits = m.pop_front().expect("r's bits").a;
    let up = m.pop_front().expect("r's high part").a;
    let r = weighted(&bits, n, k).add(&up.shl(k as u32));
    let offset = WideTensor::new(vec![n], vec![1u128 << (k - 1); n]);
    let y = s.plus_public(&x.reshape(&[n]), &offset);
    s.open(y.add(&r), out, move |s, c, out| {
        let borrow = below(s, &c, &bits, k - 1, &mut m, out);
        let top_r = bits.range((k - 1) * n..k * n);
        let xor_triple = auths(m.drain(..3).collect());
        Ok(Task::All(
            vec![borrow],
            Box::new(move |s, borrow, out| {
                let b = super::secret(&borrow[0]);
                // t = r_{k-1} XOR b = r + b - 2 r b.
                let product = OwnedProduct::Mul(vec![n]);
                let rb = s.multiply(product, &top_r, &b, xor_triple, out);
                Ok(Task::All(
                    vec![rb],
                    Box::new(move |s, rb, _| {
                        let rb = super::secret(&rb[0]);
                        let t = top_r.add(&b).sub(&rb.shl(1));
                        // msb = c_{k-1} XOR t = c + t (1 - 2c); [x < 0] = 1 - msb.
                        let ck = bit_of(&c, (k - 1) as u32);
                        let sign = ck.map(|v| 1u128.wrapping_sub(v.wrapping_mul(2)));
                        let msb = s.plus_public(&t.scale(&sign), &ck);
                        let ones = WideTensor::new(vec![n], vec![1; n]);
                        let neg = msb.map(|t| t.neg());
                        let lt = s.plus_public(&neg, &ones).reshape(&shape);
                        Ok(Task::Done(Outcome::Secret(Share::plain(lt))))
                    }),
                ))
            }),
        ))
    })
}

/// floor(x / 2^m) of `k`-bit values, k <= 63 (as semi2k's, over the larger
/// ring): with r = r_lo + 2^m r_mid + 2^63 r_63 + 2^64 r_up, c = x + 2^(k-1)
/// + r is opened (uniform); the carry out of c's low 63 bits is b = c_63
/// XOR r_63, and floor(c' / 2^m) - r_mid + 2^(63-m) b - 2^(k-1-m) (c' = c mod
/// 2^63) is the quotient plus [c' mod 2^m < r_lo], which the probabilistic
/// truncation keeps (the clear backend's distribution) and the exact one
/// subtracts, with r_lo as bits, by the comparison tree.
pub(super) fn trunc(
    s: &mut Spdz2k,
    x: &super::Auth,
    m: u32,
    k: u32,
    exact: bool,
    mut parts: VecDeque<Taken>,
    out: &mut [Vec<Part>],
) -> Task {
    let (shape, n) = (x.x.shape.clone(), x.x.len());
    let low = parts.pop_front().expect("r_lo").a;
    let mid = parts.pop_front().expect("r_mid").a;
    let top = parts.pop_front().expect("r_63").a;
    let up = parts.pop_front().expect("r_up").a;
    let r_lo = if exact {
        weighted(&low, n, m as usize)
    } else {
        low.clone()
    };
    let r = r_lo.add(&mid.shl(m)).add(&top.shl(63)).add(&up.shl(64));
    let offset = WideTensor::new(vec![n], vec![1u128 << (k - 1); n]);
    let opened = s.plus_public(&x.reshape(&[n]), &offset).add(&r);
    s.open(opened, out, move |s, c, out| {
        let c63 = bit_of(&c, 63);
        // b = c_63 XOR r_63 = c_63 + r_63 (1 - 2 c_63).
        let sign = c63.map(|v| 1u128.wrapping_sub(v.wrapping_mul(2)));
        let b = s.plus_public(&top.scale(&sign), &c63);
        let public = WideTensor::new(
            vec![n],
            c.iter()
                .map(|c| {
                    let low63 = c.low() & (u64::MAX >> 1);
                    ((low63 >> m) as u128).wrapping_sub(1u128 << (k - 1 - m))
                })
                .collect(),
        );
        let y = s.plus_public(&b.shl(63 - m).sub(&mid), &public);
        if !exact {
            return Ok(Task::Done(Outcome::Secret(Share::plain(y.reshape(&shape)))));
        }
        let borrow = below(s, &c, &low, m as usize, &mut parts, out);
        Ok(Task::All(
            vec![borrow],
            Box::new(move |_, borrow, _| {
                let borrow = super::secret(&borrow[0]);
                Ok(Task::Done(Outcome::Secret(Share::plain(
                    y.sub(&borrow).reshape(&shape),
                ))))
            }),
        ))
    })
}

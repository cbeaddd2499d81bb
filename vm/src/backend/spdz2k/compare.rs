//! Truncation and comparison on authenticated shares.
//!
//! Both open c = y + r for a random r whose low bits are also shared in
//! binary (an edaBit, [`super::binary`]) and whose high part is uniform in
//! the ring, so c is uniform in Z_2^128 (one round), then compare the
//! public c with r's binary bits: [c mod 2^w < r mod 2^w] by a tree over
//! the bits (Catrina and de Hoogh's less-than-with-a-public-operand): per
//! bit, lt_i = r_i AND NOT c_i and eq_i = NOT (c_i XOR r_i) are linear in
//! r_i; a merge of (hi, lo) gives lt = lt_hi XOR eq_hi lt_lo and eq = eq_hi
//! eq_lo, two AND gates (binary AND triples, an opening of two bits each,
//! 128 to a word), all merges of a level in one round: ceil(log2 w) rounds.
//! A daBit brings the result back: e = lt XOR d is opened and [lt] = e +
//! [d] (1 - 2e). Binary shares are held as [`super::Auth`]s whose values
//! are bits and whose MACs are of GF(2^128); the MAC check covers them.

use super::material::{self, Taken};
use super::{auths, Share, Spdz2k, Task};
use crate::backend::Outcome;
use crate::net::Part;
use crate::ring::{WideTensor, Word};
use std::collections::VecDeque;

/// Bit `i` of each value, as a public tensor of 0s and 1s.
fn bit_of(c: &[u128], i: u32) -> WideTensor {
    WideTensor::new(vec![c.len()], c.iter().map(|v| (v >> i) & 1).collect())
}

/// Elementwise XOR of two tensors.
fn xor(a: &WideTensor, b: &WideTensor) -> WideTensor {
    WideTensor::new(
        a.shape.clone(),
        a.data.iter().zip(&b.data).map(|(a, b)| a ^ b).collect(),
    )
}

/// Binary shares XOR binary shares.
fn bxor(a: &super::Auth, b: &super::Auth) -> super::Auth {
    a.zip(b, xor)
}

/// Binary shares XOR the public bits `c`: party 0 flips its shares, every
/// party adds c Δ_i to its MAC shares.
fn bxor_public(s: &Spdz2k, a: &super::Auth, c: &[bool]) -> super::Auth {
    let (me, delta) = (s.me, s.keyed.delta_i);
    let flip = |t: &WideTensor, by: u128| {
        let data = t
            .data
            .iter()
            .zip(c)
            .map(|(v, c)| v ^ (crate::backend::spdz2k::binary::ones(*c) & by));
        WideTensor::new(t.shape.clone(), data.collect())
    };
    super::Auth {
        x: if me == 0 { flip(&a.x, 1) } else { a.x.clone() },
        m: flip(&a.m, delta),
    }
}

/// Binary shares AND the public bits `c`.
fn band_public(a: &super::Auth, c: &[bool]) -> super::Auth {
    a.map(|t| {
        let data = t
            .data
            .iter()
            .zip(c)
            .map(|(v, c)| v & crate::backend::spdz2k::binary::ones(*c));
        WideTensor::new(t.shape.clone(), data.collect())
    })
}

/// x AND y of binary shares with the binary triple (a, b, c): d = x XOR a
/// and e = y XOR b are opened, then c XOR (b AND d) XOR (a AND e) XOR (d AND
/// e).
fn band(
    s: &Spdz2k,
    x: &super::Auth,
    y: &super::Auth,
    [a, b, c]: [super::Auth; 3],
    out: &mut [Vec<Part>],
) -> Task {
    let n = x.x.len();
    s.open_bits(
        super::Auth::concat(&[&bxor(x, &a), &bxor(y, &b)]),
        out,
        move |s, de, _| {
            let (d, e) = de.split_at(n);
            let both: Vec<bool> = d.iter().zip(e).map(|(d, e)| d & e).collect();
            let z = bxor(&bxor(&c, &band_public(&b, d)), &band_public(&a, e));
            Ok(Task::Done(Outcome::Secret(Share::plain(bxor_public(
                s, &z, &both,
            )))))
        },
    )
}

/// Bit `i` of each value.
fn bits_of(c: &[u128], i: usize) -> Vec<bool> {
    c.iter().map(|v| v >> i & 1 == 1).collect()
}

/// lt_i = r_i AND NOT c_i, eq_i = NOT (c_i XOR r_i) for the shared bit r_i
/// and the public c_i.
fn leaf(s: &Spdz2k, r: &super::Auth, c: &[bool]) -> (super::Auth, super::Auth) {
    let not_c: Vec<bool> = c.iter().map(|b| !b).collect();
    (band_public(r, &not_c), bxor_public(s, r, &not_c))
}

/// [c mod 2^w < r] of `n` values, for the public `c` and the binary bits
/// `bits` of r (bit-major: bit i of value j at i n + j), with the tree's
/// AND triples from `m`.
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
        let zero = super::Auth {
            x: WideTensor::zeros(&[n]),
            m: WideTensor::zeros(&[n]),
        };
        return Task::Done(Outcome::Secret(Share::plain(zero)));
    }
    let (mut lts, mut eqs) = (Vec::with_capacity(w), Vec::with_capacity(w));
    for i in 0..w {
        let (lt, eq) = leaf(s, &bits.range(i * n..(i + 1) * n), &bits_of(c, i));
        lts.push(lt);
        eqs.push(eq);
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
    let task = band(s, &x, &y, triple, out);
    Task::All(
        vec![task],
        Box::new(move |s, products, out| {
            let p = super::secret(&products[0]);
            let mut next_lts = Vec::with_capacity(count.div_ceil(2));
            let mut next_eqs = Vec::with_capacity(count.div_ceil(2));
            for j in 0..pairs {
                next_lts.push(bxor(&lts[2 * j + 1], &p.range(j * n..(j + 1) * n)));
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

/// The binary bits `b` of `n` values as values of Z_2^128, by the daBit
/// (`d`, `d_binary`): e = b XOR d is opened, b = e + d (1 - 2e); then `done`.
fn to_arithmetic(
    s: &Spdz2k,
    b: &super::Auth,
    d: super::Auth,
    d_binary: &super::Auth,
    out: &mut [Vec<Part>],
    done: impl FnOnce(super::Auth) -> super::Auth + 'static,
) -> Task {
    s.open_bits(bxor(b, d_binary), out, move |s, e, _| {
        let b = d.from_dabit(&e, s.me, s.keyed.alpha_i);
        Ok(Task::Done(Outcome::Secret(Share::plain(done(b)))))
    })
}

/// [x < 0] of `k`-bit values: y = x + 2^(k-1) is in [0, 2^k), c = y + r is
/// opened for r an edaBit of k bits, and y's top bit is c_{k-1} XOR r_{k-1}
/// XOR [c mod 2^(k-1) < r mod 2^(k-1)], in binary; x < 0 iff it is 0, which
/// a daBit brings back. 1 + ceil(log2(k - 1)) + 1 rounds.
pub(super) fn ltz(
    s: &mut Spdz2k,
    x: &super::Auth,
    k: u32,
    mut m: VecDeque<Taken>,
    out: &mut [Vec<Part>],
) -> Task {
    let (shape, n, k) = (x.x.shape.clone(), x.x.len(), k as usize);
    let r = m.pop_front().expect("the edaBit").a;
    let bits = m.pop_front().expect("its bits").a;
    let offset = WideTensor::new(vec![n], vec![1u128 << (k - 1); n]);
    let y = s.plus_public(&x.reshape(&[n]), &offset);
    s.open(y.add(&r), out, move |s, c, out| {
        let borrow = below(s, &c, &bits, k - 1, &mut m, out);
        let top_r = bits.range((k - 1) * n..k * n);
        let d = m.pop_front().expect("the daBit").a;
        let d_binary = m.pop_front().expect("its binary twin").a;
        Ok(Task::All(
            vec![borrow],
            Box::new(move |s, borrow, out| {
                let b = super::secret(&borrow[0]);
                // [x < 0] = NOT (c_{k-1} XOR r_{k-1} XOR borrow).
                let not_ck: Vec<bool> = bits_of(&c, k - 1).iter().map(|b| !b).collect();
                let lt = bxor_public(s, &bxor(&top_r, &b), &not_ck);
                Ok(to_arithmetic(s, &lt, d, &d_binary, out, move |lt| {
                    lt.reshape(&shape)
                }))
            }),
        ))
    })
}

/// floor(x / 2^m) of `k`-bit values, k <= 63 (as semi2k's, over the larger
/// ring): with r = r_lo + 2^m r_mid + 2^63 r_63 + 2^64 r_up (r_lo and r_mid
/// strict edaBits' values, r_63 a random bit, r_up uniform), c = x +
/// 2^(k-1) + r is opened (uniform); the carry out of c's low 63 bits is b =
/// c_63 XOR r_63, and floor(c' / 2^m) - r_mid + 2^(63-m) b - 2^(k-1-m) (c' =
/// c mod 2^63) is the quotient plus [c' mod 2^m < r_lo], which the
/// probabilistic truncation keeps (the clear backend's distribution) and
/// the exact one subtracts: the binary tree over r_lo's bits, and a daBit
/// to bring the borrow back.
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
    let low_bits = exact.then(|| parts.pop_front().expect("r_lo's bits").a);
    let mid = parts.pop_front().expect("r_mid").a;
    let top = parts.pop_front().expect("r_63").a;
    let up = parts.pop_front().expect("r_up").a;
    let r = low.add(&mid.shl(m)).add(&top.shl(63)).add(&up.shl(64));
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
        let Some(low_bits) = low_bits else {
            return Ok(Task::Done(Outcome::Secret(Share::plain(y.reshape(&shape)))));
        };
        let borrow = below(s, &c, &low_bits, m as usize, &mut parts, out);
        let d = parts.pop_front().expect("the daBit").a;
        let d_binary = parts.pop_front().expect("its binary twin").a;
        Ok(Task::All(
            vec![borrow],
            Box::new(move |s, borrow, out| {
                let borrow = super::secret(&borrow[0]);
                Ok(to_arithmetic(
                    s,
                    &borrow,
                    d,
                    &d_binary,
                    out,
                    move |borrow| y.sub(&borrow).reshape(&shape),
                ))
            }),
        ))
    })
}

//! Comparisons under semi2k.
//!
//! `ltz(x)` on K bits is bit K-1 of x mod 2^K. With r uniform in [0, 2^K),
//! its bits XOR-shared (as planes) and r itself additively shared (an
//! edaBit, from the preprocessing), c = x + r mod 2^K is opened (uniform, so
//! hiding). Then x = c - r mod 2^K, and its bit K-1 is c_{K-1} ^ r_{K-1} ^
//! borrow, where borrow = [c mod 2^(K-1) < r mod 2^(K-1)] compares a public
//! number with shared bits: per bit j, generate g_j = r_j & !c_j and propagate
//! p_j = !(r_j ^ c_j) are local (c is public), and a tree combines
//! neighbouring blocks, G = G_hi ^ P_hi G_lo and P = P_hi P_lo (the lowest
//! block never needs P), with Beaver AND triples on whole planes (the two
//! gates of a merge share P_hi, so one triple operand and one opening), one
//! round per level: ceil(log2(K - 1)) rounds. The sign bit, XOR-shared, becomes
//! arithmetic with a daBit d (shared both ways): v = s ^ d is opened and
//! s = v + d - 2 v d. So ltz takes ceil(log2(K - 1)) + 2 rounds.
//!
//! ReLU, equality, max, argmax and max pooling build on ltz and products as
//! for every protocol (`backend/compose.rs`).

use super::*;
use crate::backend::planes::Planes;

/// The AND gates (of whole planes) of the carry tree over `w` leaves: a level
/// of m blocks combines m / 2 pairs, two gates each but one for the lowest.
pub(super) fn tree_ands(w: usize) -> usize {
    let (mut blocks, mut total) = (w, 0);
    while blocks > 1 {
        let pairs = blocks / 2;
        total += 2 * pairs - 1;
        blocks = pairs + blocks % 2;
    }
    total
}

/// The carry tree's gates over `w` leaves, level by level, each as the merge
/// of two blocks (its *pair*, numbered across levels) it belongs to: a
/// merge's two gates, G_hi ^ P_hi G_lo and P_hi P_lo, share their first
/// operand, so one triple's `a` (and one opening of P_hi) serves both.
pub(crate) fn tree_gate_pairs(w: usize) -> Vec<usize> {
    let (mut blocks, mut gates, mut pair) = (w, Vec::new(), 0);
    while blocks > 1 {
        let pairs = blocks / 2;
        for i in 0..pairs {
            gates.push(pair);
            if i > 0 {
                gates.push(pair);
            }
            pair += 1;
        }
        blocks = pairs + blocks % 2;
    }
    gates
}

/// The merges of the carry tree over `w` leaves (see [`tree_gate_pairs`]).
pub(crate) fn tree_pairs(w: usize) -> usize {
    tree_gate_pairs(w).last().map_or(0, |p| p + 1)
}

/// The c of the carry tree's AND triples over `w` leaves: each gate's b
/// ANDed with its pair's a (planes of `stride` words).
pub(crate) fn and_correlated(a: &[u64], b: &[u64], w: usize, stride: usize) -> Vec<u64> {
    let mut c = Vec::with_capacity(b.len());
    for (g, pair) in tree_gate_pairs(w).into_iter().enumerate() {
        let (a, b) = (&a[pair * stride..][..stride], &b[g * stride..][..stride]);
        c.extend(a.iter().zip(b).map(|(x, y)| x & y));
    }
    c
}

/// The item of `ltz` of `n` values on `k` bits: r's bits (k planes), the AND
/// triples' a and b, the daBit's bit (random, XOR-shared); r, the triples' c
/// and the daBit as a ring element (correlated).
pub(crate) fn ltz_layout(n: usize, k: usize) -> Layout {
    let stride = n.div_ceil(64);
    let (pairs, ands) = (tree_pairs(k - 1) * stride, tree_ands(k - 1) * stride);
    Layout::new(
        &[
            (k * stride, Combine::Xor),
            (pairs, Combine::Xor),
            (ands, Combine::Xor),
            (stride, Combine::Xor),
        ],
        &[(n, Combine::Add), (ands, Combine::Xor), (n, Combine::Add)],
    )
}

/// The correlated parts of an `ltz` item from its random parts (the dealer's).
pub(crate) fn ltz_correlated(random: &[Vec<u64>], n: usize) -> Vec<Vec<u64>> {
    let stride = n.div_ceil(64);
    let r = Planes {
        n,
        stride,
        words: random[0].clone(),
    };
    let k = random[0].len() / stride;
    let and = and_correlated(&random[1], &random[2], k - 1, stride);
    let d = Planes {
        n,
        stride,
        words: random[3].clone(),
    };
    vec![r.to_values(), and, d.lanes(0)]
}

/// This party's shares of an `ltz` item.
pub(super) struct LtzMaterial {
    r_bits: Vec<u64>,
    and_a: Vec<u64>,
    and_b: Vec<u64>,
    d_bit: Vec<u64>,
    r: Vec<u64>,
    and_c: Vec<u64>,
    d: Vec<u64>,
}

impl LtzMaterial {
    /// The parts of the front of `item` (as `ltz_layout` lays them out).
    pub(super) fn from_front(item: &mut Item) -> LtzMaterial {
        let mut random = item.random.drain(..4);
        let mut correlated = item.correlated.drain(..3);
        let next =
            |parts: &mut std::vec::Drain<'_, Vec<u64>>| parts.next().expect("the layout's parts");
        LtzMaterial {
            r_bits: next(&mut random),
            and_a: next(&mut random),
            and_b: next(&mut random),
            d_bit: next(&mut random),
            r: next(&mut correlated),
            and_c: next(&mut correlated),
            d: next(&mut correlated),
        }
    }
}

/// A block of the carry tree: its generate plane and, but for the lowest
/// block, its propagate plane.
type Block = (Vec<u64>, Option<Vec<u64>>);

fn xor(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

impl Semi2k {
    /// [x < 0] as an arithmetic bit, reading the lower `k` bits of x.
    pub(super) fn ltz(
        &self,
        x: &RingTensor,
        k: usize,
        m: LtzMaterial,
        out: &mut [Vec<Part>],
    ) -> Task {
        let n = x.len();
        let stride = n.div_ceil(64);
        let low = if k == 64 { u64::MAX } else { (1u64 << k) - 1 };
        let own: Vec<u64> = x
            .data
            .iter()
            .zip(&m.r)
            .map(|(x, r)| x.wrapping_add(*r) & low)
            .collect();
        let first = self.me == 0;
        let shape = x.shape.clone();
        rounds::open(self, own, false, out, move |s, c, out| {
            let c: Vec<u64> = c.iter().map(|v| v & low).collect();
            let c = Planes::from_values(&c, k);
            let r = Planes {
                n,
                stride,
                words: m.r_bits,
            };
            let top = r
                .plane(k - 1)
                .iter()
                .zip(c.plane(k - 1))
                .map(|(r, c)| if first { r ^ c } else { *r })
                .collect();
            let triples = AndTriples::new(m.and_a, m.and_b, m.and_c, stride);
            Ok(s.below(&c, &r, k - 1, top, triples, (m.d_bit, m.d), shape, out))
        })
    }

    /// `top ^ [c mod 2^w < r mod 2^w]` as arithmetic bits, for public `c` and
    /// XOR-shared `r` (as planes): generate and propagate of each of the `w`
    /// low bits are local, their carry tree takes `triples`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn below(
        &self,
        c: &Planes,
        r: &Planes,
        w: usize,
        top: Vec<u64>,
        triples: AndTriples,
        dabit: (Vec<u64>, Vec<u64>),
        shape: Vec<usize>,
        out: &mut [Vec<Part>],
    ) -> Task {
        // Party 0 adds the public terms of XOR sharings.
        let first = self.me == 0;
        let public = |p: u64| if first { p } else { 0 };
        let leaves: Vec<Block> = (0..w)
            .map(|j| {
                let (cj, rj) = (c.plane(j), r.plane(j));
                let g = rj.iter().zip(cj).map(|(r, c)| r & !c).collect();
                let p = rj.iter().zip(cj).map(|(r, c)| r ^ public(!c)).collect();
                (g, (j > 0).then_some(p))
            })
            .collect();
        self.carry(leaves, top, triples, dabit, shape, out)
    }

    /// One level of the carry tree (or, with one block left, the sign bit
    /// `top ^ G` made arithmetic).
    fn carry(
        &self,
        mut blocks: Vec<Block>,
        top: Vec<u64>,
        mut triples: AndTriples,
        dabit: (Vec<u64>, Vec<u64>),
        shape: Vec<usize>,
        out: &mut [Vec<Part>],
    ) -> Task {
        if blocks.len() <= 1 {
            let sign = match blocks.pop() {
                Some((g, _)) => xor(&top, &g),
                None => top,
            };
            return self.bit_to_arith(sign, dabit, shape, out);
        }
        let pairs = blocks.len() / 2;
        // One plane of P_hi per merge, one plane of the other operand per
        // gate (G's, then P's above the lowest merge).
        let (mut xs, mut ys, mut gate_pair) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..pairs {
            let (lo, hi) = (&blocks[2 * i], &blocks[2 * i + 1]);
            let p_hi = hi.1.as_ref().expect("only the lowest block lacks P");
            xs.extend_from_slice(p_hi);
            ys.extend_from_slice(&lo.0);
            gate_pair.push(i);
            if i > 0 {
                ys.extend_from_slice(lo.1.as_ref().expect("above the lowest block"));
                gate_pair.push(i);
            }
        }
        let (a, b, c) = triples.next(pairs, gate_pair.len());
        let mut own = xor(&xs, &a);
        own.extend(xor(&ys, &b));
        let first = self.me == 0;
        let stride = triples.stride;
        rounds::open(self, own, true, out, move |s, ef, out| {
            let (e, f) = ef.split_at(xs.len());
            let mut z = Vec::with_capacity(ys.len());
            for (g, pair) in gate_pair.iter().enumerate() {
                for t in 0..stride {
                    let (x, y) = (pair * stride + t, g * stride + t);
                    let ef = if first { e[x] & f[y] } else { 0 };
                    z.push(ef ^ (e[x] & b[y]) ^ (a[x] & f[y]) ^ c[y]);
                }
            }
            let mut gates = z.chunks(stride);
            let odd = blocks.len() % 2 == 1;
            let mut rest = blocks.split_off(2 * pairs);
            let mut next: Vec<Block> = Vec::with_capacity(pairs + 1);
            for (i, pair) in blocks.chunks(2).enumerate() {
                let g = xor(&pair[1].0, gates.next().expect("a gate per pair"));
                let p = (i > 0).then(|| gates.next().expect("a gate per pair").to_vec());
                next.push((g, p));
            }
            if odd {
                next.push(rest.pop().expect("the odd block"));
            }
            Ok(s.carry(next, top, triples, dabit, shape, out))
        })
    }

    /// The XOR-shared bits of `plane` (one per element) as ring elements,
    /// with the daBit (d as a plane, d as ring elements): v = s ^ d is opened
    /// and s = v + d - 2 v d.
    fn bit_to_arith(
        &self,
        plane: Vec<u64>,
        (d_bit, d): (Vec<u64>, Vec<u64>),
        shape: Vec<usize>,
        out: &mut [Vec<Part>],
    ) -> Task {
        let first = self.me == 0;
        rounds::open(self, xor(&plane, &d_bit), true, out, move |_, v, _| {
            let s = d
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    let v = (v[i / 64] >> (i % 64)) & 1;
                    let public = if first { v } else { 0 };
                    public.wrapping_add(d).wrapping_sub((2 * v).wrapping_mul(d))
                })
                .collect();
            Ok(Task::Done(Outcome::Secret(Share::plain(RingTensor::new(
                shape, s,
            )))))
        })
    }
}

/// The AND triples of one comparison, used level by level.
pub(super) struct AndTriples {
    /// One plane per merge (its P_hi's mask), one per gate.
    a: Vec<u64>,
    b: Vec<u64>,
    c: Vec<u64>,
    used_pairs: usize,
    used_gates: usize,
    pub stride: usize,
}

impl AndTriples {
    pub fn new(a: Vec<u64>, b: Vec<u64>, c: Vec<u64>, stride: usize) -> AndTriples {
        AndTriples {
            a,
            b,
            c,
            used_pairs: 0,
            used_gates: 0,
            stride,
        }
    }

    /// The next level's a (`pairs` planes), b and c (`gates` planes).
    fn next(&mut self, pairs: usize, gates: usize) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
        let s = self.stride;
        let pr = s * self.used_pairs..s * (self.used_pairs + pairs);
        let gr = s * self.used_gates..s * (self.used_gates + gates);
        self.used_pairs += pairs;
        self.used_gates += gates;
        (
            self.a[pr].to_vec(),
            self.b[gr.clone()].to_vec(),
            self.c[gr].to_vec(),
        )
    }
}

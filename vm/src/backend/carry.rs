//! The sign of a sum, the core of the replicated protocols' comparisons
//! (`rep3/compare.rs`, `rep4/compare.rs`): given the K bits of a and of b as
//! XOR-shared bit planes, bit K-1 of a + b as an arithmetic sharing.
//!
//! The carry into bit K-1 comes from a tree: generate g = a & b and propagate
//! p = a ^ b of the K-1 lower bits (one round), then each level combines
//! neighbouring blocks, G = G_hi ^ P_hi G_lo and P = P_hi P_lo, halving the
//! blocks (ceil(log2(K - 1)) rounds; the last level needs G only). The bits
//! are held as bit planes (see `planes.rs`), so a level is a few word
//! operations per 64 elements, and sent densely, so a level costs its live
//! bits, about 2 K bits per element in all. The top bit a ^ b ^ carry becomes
//! arithmetic by the protocol's own conversion.
//!
//! A protocol supplies AND of shared words and the conversion of a shared bit
//! ([`BitCircuit`]); how a and b come to be shared is its own too.

use super::planes::Planes;
use crate::VmError;

/// XOR shares of bit planes: one [`Planes`] per share component a party
/// holds (bit operations act on every component alike, so they are local).
pub(super) struct SharedPlanes(Vec<Planes>);

/// Planes picked from a sharing: (which sharing, which of its planes).
type Pick<'a> = (&'a SharedPlanes, &'a [usize]);

impl SharedPlanes {
    /// `count` planes of `n` bits per component, from streams made by
    /// [`Planes::to_stream`] (one per component).
    pub fn from_streams(streams: &[Vec<u64>], n: usize, count: usize) -> SharedPlanes {
        SharedPlanes(
            streams
                .iter()
                .map(|s| Planes::from_stream(s, n, count))
                .collect(),
        )
    }

    /// Planes of every component, from each component's values (the low
    /// `count` bits of each).
    pub fn from_values(components: &[&[u64]], count: usize) -> SharedPlanes {
        SharedPlanes(
            components
                .iter()
                .map(|v| Planes::from_values(v, count))
                .collect(),
        )
    }

    fn n(&self) -> usize {
        self.0[0].n
    }

    fn count(&self) -> usize {
        self.0[0].count()
    }

    /// `combine` applied, component by component, to the picked planes in
    /// order.
    fn each_component<T>(
        sources: &[Pick<'_>],
        combine: impl Fn(usize, &mut dyn Iterator<Item = &[u64]>) -> T,
    ) -> Vec<T> {
        let first = sources.first().expect("planes to pick from").0;
        (0..first.0.len())
            .map(|c| {
                let mut planes = sources
                    .iter()
                    .flat_map(|(s, which)| which.iter().map(move |&j| s.0[c].plane(j)));
                combine(first.n(), &mut planes)
            })
            .collect()
    }

    /// The picked planes as streams, one per component.
    fn stream_of(sources: &[Pick<'_>]) -> Vec<Vec<u64>> {
        Self::each_component(sources, |n, planes| Planes::stream_of(n, planes))
    }

    /// The picked planes, gathered in order.
    fn gather(sources: &[Pick<'_>]) -> SharedPlanes {
        SharedPlanes(Self::each_component(sources, |n, planes| {
            Planes::gather(n, planes)
        }))
    }

    /// XORs the first `count` planes of `o` into the first `count` of these.
    fn xor_front(&mut self, o: &SharedPlanes, count: usize) {
        for (x, y) in self.0.iter_mut().zip(&o.0) {
            x.xor_front(y, count);
        }
    }

    fn xor(&self, o: &SharedPlanes) -> SharedPlanes {
        SharedPlanes(self.0.iter().zip(&o.0).map(|(x, y)| x.xor(y)).collect())
    }

    /// Plane `j` as one bit per element, in bit 0 of each word.
    fn lanes(&self, j: usize) -> Vec<Vec<u64>> {
        self.0.iter().map(|p| p.lanes(j)).collect()
    }
}

/// What follows an AND, given its result's share words.
pub(super) type AndThen<B> = Box<
    dyn FnOnce(
        &mut B,
        Vec<Vec<u64>>,
        &mut <B as BitCircuit>::Out,
    ) -> Result<<B as BitCircuit>::Task, VmError>,
>;

/// A protocol's primitives for the carry tree. Shared words are one vector
/// per share component.
pub(super) trait BitCircuit: Sized + 'static {
    /// An operation in progress in the protocol's round engine.
    type Task;
    /// The messages of the round being prepared.
    type Out: ?Sized;

    /// x & y of XOR-shared words, then `then` with the result.
    fn and(
        &mut self,
        x: Vec<Vec<u64>>,
        y: Vec<Vec<u64>>,
        then: AndThen<Self>,
        out: &mut Self::Out,
    ) -> Self::Task;
    /// A shared bit (bit 0 of each word, a word per element) as an
    /// arithmetic sharing of a tensor of `shape`.
    fn bit_to_arith(
        &mut self,
        bit: Vec<Vec<u64>>,
        shape: Vec<usize>,
        out: &mut Self::Out,
    ) -> Self::Task;
}

fn xor(a: &[Vec<u64>], b: &[Vec<u64>]) -> Vec<Vec<u64>> {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(x, y)| x ^ y).collect())
        .collect()
}

/// Bit `k - 1` of a + b as an arithmetic sharing of `shape`, a and b given
/// as their low `k` bits.
pub(super) fn sign_of_sum<B: BitCircuit>(
    c: &mut B,
    a: &SharedPlanes,
    b: &SharedPlanes,
    shape: Vec<usize>,
    out: &mut B::Out,
) -> B::Task {
    let (n, k) = (a.n(), a.count());
    let p = a.xor(b);
    let top = p.lanes(k - 1);
    if k == 1 {
        return c.bit_to_arith(top, shape, out);
    }
    // Generate and propagate of the k-1 bits below the top one.
    let w = k - 1;
    let low: Vec<usize> = (0..w).collect();
    let p = SharedPlanes::gather(&[(&p, &low)]);
    c.and(
        SharedPlanes::stream_of(&[(a, &low)]),
        SharedPlanes::stream_of(&[(b, &low)]),
        Box::new(move |c, g, out| {
            let g = SharedPlanes::from_streams(&g, n, w);
            Ok(carry_level(c, g, p, top, shape, out))
        }),
        out,
    )
}

/// One level of the carry tree over the `w` blocks of `g` and `p` (one plane
/// each): neighbouring blocks combine (G = G_hi ^ P_hi G_lo, P = P_hi P_lo),
/// an odd top block passing through; at one block, g is the carry into the
/// top bit. The last level needs G only.
fn carry_level<B: BitCircuit>(
    c: &mut B,
    g: SharedPlanes,
    p: SharedPlanes,
    top: Vec<Vec<u64>>,
    shape: Vec<usize>,
    out: &mut B::Out,
) -> B::Task {
    let (n, w) = (g.n(), g.count());
    if w == 1 {
        return c.bit_to_arith(xor(&top, &g.lanes(0)), shape, out);
    }
    let f = w / 2;
    let last = f + w % 2 == 1;
    let hi: Vec<usize> = (0..f).map(|j| 2 * j + 1).collect();
    let lo: Vec<usize> = (0..f).map(|j| 2 * j).collect();
    let (x, y) = if last {
        (
            SharedPlanes::stream_of(&[(&p, &hi)]),
            SharedPlanes::stream_of(&[(&g, &lo)]),
        )
    } else {
        (
            SharedPlanes::stream_of(&[(&p, &hi), (&p, &hi)]),
            SharedPlanes::stream_of(&[(&g, &lo), (&p, &lo)]),
        )
    };
    c.and(
        x,
        y,
        Box::new(move |c, t, out| {
            let t = SharedPlanes::from_streams(&t, n, if last { f } else { 2 * f });
            let passing: Vec<usize> = (w % 2 == 1).then_some(w - 1).into_iter().collect();
            // G = G_hi ^ (P_hi G_lo): the products are t's first f planes.
            let mut next_g = SharedPlanes::gather(&[(&g, &hi), (&g, &passing)]);
            next_g.xor_front(&t, f);
            let products: Vec<usize> = (f..2 * f).collect();
            let next_p = if last {
                SharedPlanes::gather(&[(&p, &[])])
            } else {
                SharedPlanes::gather(&[(&t, &products), (&p, &passing)])
            };
            Ok(carry_level(c, next_g, next_p, top, shape, out))
        }),
        out,
    )
}

/// Words of a stream of `count` fields of `f` bits.
pub(super) fn words(count: u64, f: u32) -> u64 {
    (count * f as u64).div_ceil(64)
}

/// The words each AND round of [`sign_of_sum`] on `k` bits multiplies, for
/// `n` elements, round by round (the cost models' view of the tree).
pub(super) fn and_rounds(k: u32, n: u64) -> Vec<u64> {
    if k == 1 {
        return Vec::new();
    }
    let mut w = k - 1;
    let mut rounds = vec![words(n, w)];
    while w > 1 {
        let f = w / 2;
        let next = f + w % 2;
        rounds.push(words(if next == 1 { n } else { 2 * n }, f));
        w = next;
    }
    rounds
}

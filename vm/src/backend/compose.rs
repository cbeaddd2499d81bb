//! Operations composed of comparisons and products, written once for every
//! protocol: ReLU, equality to zero, [a < b] (also of 64-bit values), max,
//! argmax and max pooling. A protocol supplies `ltz` and elementwise products
//! as tasks of its own round engine ([`Composer`]); these functions chain them.
//!
//! - ReLU: x - x ltz(x).
//! - Equality to zero: (1 - ltz(x)) (1 - ltz(-x)), the two tests side by side.
//! - [a < b] on K bits: the sign of a - b on K + 1 bits. At K = 64 the
//!   difference does not fit the ring, so where the signs sa, sb of a and b
//!   differ they decide, and elsewhere the sign sd of the wrapped difference
//!   does: sd + (sa ^ sb)(sa - sd), the three signs side by side, then two
//!   products (the compiler lowers 64-bit comparisons the same way).
//! - max, argmax, max pooling: a tournament, neighbours compared by [a < b] and
//!   the larger (and its index) kept by one product each; ties keep the earlier
//!   element. Max pooling compares the window positions, a padding position
//!   standing in for by the window's first real element.

use crate::ring::{RingTensor, Tensor, Word};
use crate::shape::{Padding, PoolGeometry};
use crate::VmError;

/// What follows tasks side by side, given their results.
pub(super) type Then<C> = Box<
    dyn FnOnce(
        &mut C,
        Vec<<C as Composer>::Share>,
        &mut <C as Composer>::Out,
    ) -> Result<<C as Composer>::Task, VmError>,
>;

/// A protocol's primitives for composed operations.
pub(super) trait Composer: Sized + 'static {
    /// An arithmetic sharing of a tensor.
    type Share: Clone + 'static;
    /// An operation in progress in the protocol's round engine.
    type Task;
    /// The messages of the round being prepared.
    type Out: ?Sized;
    /// The operation's preprocessed material, handed to each primitive in turn.
    type Material: Clone + 'static;

    /// [x < 0] as an arithmetic bit, reading the low `bits` bits of x.
    fn ltz(
        &mut self,
        m: &Self::Material,
        x: &Self::Share,
        bits: u32,
        out: &mut Self::Out,
    ) -> Result<Self::Task, VmError>;
    /// a * b elementwise (same shapes).
    fn mul(
        &mut self,
        m: &Self::Material,
        a: &Self::Share,
        b: &Self::Share,
        out: &mut Self::Out,
    ) -> Result<Self::Task, VmError>;
    /// `tasks` side by side, then `then` with their results.
    fn join(
        &mut self,
        tasks: Vec<Self::Task>,
        then: Then<Self>,
        out: &mut Self::Out,
    ) -> Result<Self::Task, VmError>;
    /// A finished task.
    fn done(s: Self::Share) -> Self::Task;
    /// A map applied to each component of a sharing.
    fn map(s: &Self::Share, f: &Map<'_>) -> Self::Share;
    /// A map of two sharings applied component by component.
    fn zip(a: &Self::Share, b: &Self::Share, f: Zip) -> Self::Share;
    /// A public tensor as a sharing.
    fn constant(&self, t: &RingTensor) -> Self::Share;
    /// The shape of a sharing's tensor.
    fn shape(s: &Self::Share) -> Vec<usize>;
}

/// The linear maps of one sharing that composed operations use, written
/// once for every ring a protocol's shares live in.
pub(super) enum Map<'a> {
    Neg,
    /// x * 2.
    Double,
    /// The same elements in another shape.
    Reshape(Vec<usize>),
    /// `count` slices along axis 1 from `from`, `step` apart.
    Strided {
        from: usize,
        step: usize,
        count: usize,
    },
    /// Element `source[i]` at position i, in `shape`.
    Gather {
        shape: Vec<usize>,
        source: &'a [usize],
    },
}

impl Map<'_> {
    pub(super) fn apply<W: Word>(&self, t: &Tensor<W>) -> Tensor<W> {
        match self {
            Map::Neg => t.neg(),
            Map::Double => t.shl(1),
            Map::Reshape(shape) => Tensor::new(shape.clone(), t.data.clone()),
            Map::Strided { from, step, count } => t.slice_strided(1, *from, *step, *count),
            Map::Gather { shape, source } => {
                Tensor::new(shape.clone(), source.iter().map(|&i| t.data[i]).collect())
            }
        }
    }
}

/// The linear maps of two sharings that composed operations use.
#[derive(Clone, Copy)]
pub(super) enum Zip {
    Add,
    Sub,
    /// Concatenated along axis 1.
    Concat,
}

impl Zip {
    pub(super) fn apply<W: Word>(self, a: &Tensor<W>, b: &Tensor<W>) -> Tensor<W> {
        match self {
            Zip::Add => a.add(b, &a.shape),
            Zip::Sub => a.sub(b, &a.shape),
            Zip::Concat => Tensor::concat(&[a, b], 1),
        }
    }
}

fn add<C: Composer>(a: &C::Share, b: &C::Share) -> C::Share {
    C::zip(a, b, Zip::Add)
}

fn sub<C: Composer>(a: &C::Share, b: &C::Share) -> C::Share {
    C::zip(a, b, Zip::Sub)
}

/// Runs `first`, then `then` with its result.
fn after<C: Composer>(
    c: &mut C,
    first: C::Task,
    then: impl FnOnce(&mut C, C::Share, &mut C::Out) -> Result<C::Task, VmError> + 'static,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    c.join(
        vec![first],
        Box::new(move |c, mut results, out| then(c, results.remove(0), out)),
        out,
    )
}

/// max(x, 0) of `k`-bit values.
pub(super) fn relu<C: Composer>(
    c: &mut C,
    m: &C::Material,
    x: &C::Share,
    k: u32,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    let sign = c.ltz(m, x, k, out)?;
    let (x, m) = (x.clone(), m.clone());
    after(
        c,
        sign,
        move |c, b, out| {
            let product = c.mul(&m, &x, &b, out)?;
            after(
                c,
                product,
                move |_, xb, _| Ok(C::done(sub::<C>(&x, &xb))),
                out,
            )
        },
        out,
    )
}

/// [x == 0] of `k`-bit values.
pub(super) fn eqz<C: Composer>(
    c: &mut C,
    m: &C::Material,
    x: &C::Share,
    k: u32,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    let neg = C::map(x, &Map::Neg);
    let both = vec![c.ltz(m, x, k, out)?, c.ltz(m, &neg, k, out)?];
    let one = c.constant(&ones_like::<C>(x));
    let m = m.clone();
    c.join(
        both,
        Box::new(move |c, bits, out| {
            c.mul(
                &m,
                &sub::<C>(&one, &bits[0]),
                &sub::<C>(&one, &bits[1]),
                out,
            )
        }),
        out,
    )
}

/// A tensor of ones of a sharing's shape.
fn ones_like<C: Composer>(x: &C::Share) -> RingTensor {
    let shape = C::shape(x);
    let n = shape.iter().product();
    RingTensor::new(shape, vec![1; n])
}

/// [a < b] for `bits`-bit a and b.
pub(super) fn less<C: Composer>(
    c: &mut C,
    m: &C::Material,
    a: &C::Share,
    b: &C::Share,
    bits: u32,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    let d = sub::<C>(a, b);
    if bits < 64 {
        return c.ltz(m, &d, bits + 1, out);
    }
    let signs = vec![
        c.ltz(m, a, 64, out)?,
        c.ltz(m, b, 64, out)?,
        c.ltz(m, &d, 64, out)?,
    ];
    let m = m.clone();
    c.join(
        signs,
        Box::new(move |c, signs, out| {
            let (sa, sb, sd) = (signs[0].clone(), signs[1].clone(), signs[2].clone());
            let both = c.mul(&m, &sa, &sb, out)?;
            after(
                c,
                both,
                move |c, both, out| {
                    let differ = sub::<C>(&add::<C>(&sa, &sb), &C::map(&both, &Map::Double));
                    let fix = c.mul(&m, &differ, &sub::<C>(&sa, &sd), out)?;
                    after(
                        c,
                        fix,
                        move |_, fix, _| Ok(C::done(add::<C>(&sd, &fix))),
                        out,
                    )
                },
                out,
            )
        }),
        out,
    )
}

/// Max (or argmax) of `k`-bit values along `axis` (all elements if `None`).
#[allow(clippy::too_many_arguments)]
pub(super) fn max<C: Composer>(
    c: &mut C,
    m: &C::Material,
    x: &C::Share,
    shape: &[usize],
    axis: Option<usize>,
    k: u32,
    want_index: bool,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    let (outer, len, inner, out_shape) = match axis {
        None => (1, shape.iter().product(), 1, vec![]),
        Some(a) => {
            let mut s = shape.to_vec();
            let len = s.remove(a);
            (
                shape[..a].iter().product(),
                len,
                shape[a + 1..].iter().product(),
                s,
            )
        }
    };
    let flat = C::map(x, &Map::Reshape(vec![outer, len, inner]));
    let index: Vec<u64> = (0..outer)
        .flat_map(|_| (0..len).flat_map(|j| std::iter::repeat_n(j as u64, inner)))
        .collect();
    let index = c.constant(&RingTensor::new(vec![outer, len, inner], index));
    tournament(c, m, flat, index, k, want_index, out_shape, out)
}

/// One round of matches between neighbours along axis 1 of `[outer, len,
/// inner]` values of `k` bits, then the next, until one is left.
#[allow(clippy::too_many_arguments)]
fn tournament<C: Composer>(
    c: &mut C,
    m: &C::Material,
    values: C::Share,
    index: C::Share,
    k: u32,
    want_index: bool,
    out_shape: Vec<usize>,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    let len = C::shape(&values)[1];
    if len == 1 {
        let won = if want_index { index } else { values };
        return Ok(C::done(C::map(&won, &Map::Reshape(out_shape))));
    }
    let half = len / 2;
    let pick = |s: &C::Share, from: usize, step: usize, count: usize| {
        C::map(s, &Map::Strided { from, step, count })
    };
    let (a, b) = (pick(&values, 0, 2, half), pick(&values, 1, 2, half));
    let (ia, ib) = (pick(&index, 0, 2, half), pick(&index, 1, 2, half));
    let rest = (len % 2 == 1).then(|| (pick(&values, len - 1, 1, 1), pick(&index, len - 1, 1, 1)));
    let lt = less(c, m, &a, &b, k, out)?;
    let m = m.clone();
    after(
        c,
        lt,
        move |c, lt, out| {
            let mut products = vec![c.mul(&m, &lt, &sub::<C>(&b, &a), out)?];
            if want_index {
                products.push(c.mul(&m, &lt, &sub::<C>(&ib, &ia), out)?);
            }
            c.join(
                products,
                Box::new(move |c, d, out| {
                    let mut next_v = add::<C>(&a, &d[0]);
                    let mut next_i = if want_index { add::<C>(&ia, &d[1]) } else { ia };
                    if let Some((rv, ri)) = rest {
                        next_v = C::zip(&next_v, &rv, Zip::Concat);
                        next_i = C::zip(&next_i, &ri, Zip::Concat);
                    }
                    tournament(c, &m, next_v, next_i, k, want_index, out_shape, out)
                }),
                out,
            )
        },
        out,
    )
}

/// Max pooling of NHWC `k`-bit values of `shape`.
#[allow(clippy::too_many_arguments)]
pub(super) fn max_pool<C: Composer>(
    c: &mut C,
    m: &C::Material,
    x: &C::Share,
    shape: &[usize],
    window: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
    k: u32,
    out: &mut C::Out,
) -> Result<C::Task, VmError> {
    let (n, h, w, ch) = (shape[0], shape[1], shape[2], shape[3]);
    let geo = PoolGeometry::new([h, w], window, stride, padding);
    let cells = window[0] * window[1];
    let out_len = n * geo.out[0] * geo.out[1] * ch;
    // For each window position, the input element each output compares there.
    let mut source = vec![0usize; cells * out_len];
    let mut o = 0;
    for b in 0..n {
        for oy in 0..geo.out[0] {
            for ox in 0..geo.out[1] {
                let position = |cell: usize| {
                    let iy = geo.input_index(0, oy, cell / window[1])?;
                    let ix = geo.input_index(1, ox, cell % window[1])?;
                    Some((b * h + iy) * w + ix)
                };
                let first = (0..cells)
                    .find_map(position)
                    .expect("a window has a real element");
                for cell in 0..cells {
                    let pos = position(cell).unwrap_or(first);
                    for c in 0..ch {
                        source[cell * out_len + o + c] = pos * ch + c;
                    }
                }
                o += ch;
            }
        }
    }
    let stacked = C::map(
        x,
        &Map::Gather {
            shape: vec![1, cells, out_len],
            source: &source,
        },
    );
    let index = c.constant(&RingTensor::zeros(&[1, cells, out_len]));
    tournament(
        c,
        m,
        stacked,
        index,
        k,
        false,
        vec![n, geo.out[0], geo.out[1], ch],
        out,
    )
}

/// A cost model's figures for some operations: composable in sequence and
/// side by side.
pub(super) trait Cost: Copy + Default {
    /// `self`, then `o`.
    fn then(self, o: Self) -> Self;
    /// `self` and `o` side by side.
    fn beside(self, o: Self) -> Self;
}

/// What a composed instruction costs, given what the protocol's primitives
/// cost: `ltz(k, n)` for n comparisons of k bits and `mul(n)` for n products
/// (None for other instructions). The same chains as the functions above.
pub(super) fn cost<C: Cost>(
    program: &crate::bytecode::Program,
    i: &crate::bytecode::Instr,
    ltz: impl Fn(u32, u64) -> C,
    mul: impl Fn(u64) -> C,
) -> Option<C> {
    use crate::bytecode::Instr;
    let reg = |r: &u32| &program.registers[*r as usize];
    let len = |r: &u32| reg(r).len() as u64;
    let bits = |r: &u32| reg(r).elem.bits() as u32;
    // [a < b] of `bits`-bit values (see `less`).
    let less = |bits: u32, n: u64| {
        if bits < 64 {
            return ltz(bits + 1, n);
        }
        let sign = ltz(64, n);
        sign.beside(sign).beside(sign).then(mul(n)).then(mul(n))
    };
    // A tournament over `len` candidates of `k` bits in each of `groups` groups.
    let tournament = |len: u64, groups: u64, k: u32, want_index: bool| {
        let (mut cost, mut cur) = (C::default(), len);
        while cur > 1 {
            let pairs = cur / 2 * groups;
            // The index's product is a product of its own, beside the value's.
            let products = if want_index {
                mul(pairs).beside(mul(pairs))
            } else {
                mul(pairs)
            };
            cost = cost.then(less(k, pairs)).then(products);
            cur -= cur / 2;
        }
        cost
    };
    Some(match i {
        Instr::LtZ { a, .. } => ltz(bits(a), len(a)),
        Instr::EqZ { a, .. } => ltz(bits(a), len(a))
            .beside(ltz(bits(a), len(a)))
            .then(mul(len(a))),
        Instr::Relu { a, .. } => ltz(bits(a), len(a)).then(mul(len(a))),
        Instr::Max { dst, a, .. } => tournament(len(a) / len(dst).max(1), len(dst), bits(a), false),
        Instr::Argmax { dst, a, .. } => {
            tournament(len(a) / len(dst).max(1), len(dst), bits(a), true)
        }
        Instr::MaxPool { dst, x, window, .. } => {
            tournament((window[0] * window[1]) as u64, len(dst), bits(x), false)
        }
        _ => return None,
    })
}

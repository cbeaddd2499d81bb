//! The Beaver product, written once for shares with and without MACs:
//! semi2k's additive shares over Z_2^64 and spdz2k's authenticated shares
//! over Z_2^128 (each with its MAC share) are two [`Sharing`]s of the same
//! engine.
//!
//! For secrets x = e + A and y = f + B, whose masks A and B are secret and
//! whose openings e and f are public, and C = op(A, B) preprocessed, any
//! bilinear op (an elementwise, matrix or convolution product) gives
//! op(x, y) = op(e, f) + op(e, B) + op(A, f) + C: linear maps of the shares
//! and one public term. Under mask reuse a secret keeps its opening and its
//! share of the mask ([`Masked`]), linear maps act on both, and a product of
//! masked secrets is local.

use super::{LinearMap, Product};
use crate::ring::{Tensor, Word};

/// A protocol's shares of tensors over Z_2^w, as the Beaver engine combines
/// them.
pub(crate) trait Sharing {
    type W: Word;
    type Share: Clone;
    /// This party's share of the public tensor `t()` of `shape` (`t` is
    /// called only where the party's share depends on it).
    fn public(&self, shape: &[usize], t: impl FnOnce() -> Tensor<Self::W>) -> Self::Share;
    /// A linear map of a share (of each of its components alike).
    fn map(s: &Self::Share, f: &dyn Fn(&Tensor<Self::W>) -> Tensor<Self::W>) -> Self::Share;
    fn add(a: &Self::Share, b: &Self::Share) -> Self::Share;
    fn shape(s: &Self::Share) -> Vec<usize>;
    /// A map linear in several shares.
    fn linear(args: &[&Self::Share], f: &dyn LinearMap) -> Self::Share;
    /// The same map of public tensors of the ring.
    fn linear_public(args: &[&Tensor<Self::W>], f: &dyn LinearMap) -> Tensor<Self::W>;
}

/// A secret masked for reuse: x = e + A, with the public opening e and this
/// party's share of the mask A.
#[derive(Clone, Debug)]
pub struct Masked<S, W: Word> {
    pub e: Tensor<W>,
    pub a: S,
}

/// A public tensor as a masked secret: the opening is the value, the mask
/// zero.
pub(crate) fn masked_public<C: Sharing>(sharing: &C, t: &Tensor<C::W>) -> Masked<C::Share, C::W> {
    Masked {
        e: t.clone(),
        a: sharing.public(&t.shape, || Tensor::zeros(&t.shape)),
    }
}

/// A linear map of masked secrets: of their openings and of their masks.
pub(crate) fn masked_linear<C: Sharing>(
    args: &[&Masked<C::Share, C::W>],
    f: &dyn LinearMap,
) -> Masked<C::Share, C::W> {
    let es: Vec<&Tensor<C::W>> = args.iter().map(|m| &m.e).collect();
    let as_: Vec<&C::Share> = args.iter().map(|m| &m.a).collect();
    Masked {
        e: C::linear_public(&es, f),
        a: C::linear(&as_, f),
    }
}

/// A masked secret plus the public `p`, broadcast to `out_shape`: the
/// opening moves, the mask only broadcasts.
pub(crate) fn masked_add_public<C: Sharing>(
    m: &Masked<C::Share, C::W>,
    p: &Tensor<C::W>,
    out_shape: &[usize],
) -> Masked<C::Share, C::W> {
    let zero = Tensor::<C::W>::zeros(&[]);
    Masked {
        e: m.e.add(p, out_shape),
        a: C::map(&m.a, &|a| a.add(&zero, out_shape)),
    }
}

/// op(x, y) of secrets x = e + A, y = f + B from the openings `(e, f)`,
/// this party's shares `(a, b)` of the masks, and its share of op(A, B)
/// (`c(shape)`: the preprocessed words as a share of that shape).
pub(crate) fn product<C: Sharing, S>(
    sharing: &C,
    op: &Product<'_, S>,
    (e, f): (&Tensor<C::W>, &Tensor<C::W>),
    (a, b): (&C::Share, &C::Share),
    c: impl FnOnce(&[usize]) -> C::Share,
) -> C::Share {
    let eb = C::map(b, &|b| op.of(e, b));
    let af = C::map(a, &|a| op.of(a, f));
    let z = C::add(&C::add(&eb, &af), &c(&C::shape(&eb)));
    let ef = sharing.public(&C::shape(&z), || op.of(e, f));
    C::add(&z, &ef)
}

/// A product's kind without its operands, to finish it after a round.
pub(crate) enum OwnedProduct {
    Mul(Vec<usize>),
    MatMul,
    Conv2d([usize; 2], crate::shape::Padding, bool),
}

impl OwnedProduct {
    pub(crate) fn of<S>(p: &Product<'_, S>) -> OwnedProduct {
        match *p {
            Product::Mul { out_shape, .. } => OwnedProduct::Mul(out_shape.to_vec()),
            Product::MatMul { .. } => OwnedProduct::MatMul,
            Product::Conv2d {
                stride,
                padding,
                depthwise,
                ..
            } => OwnedProduct::Conv2d(stride, padding, depthwise),
        }
    }

    pub(crate) fn borrow<'a, S>(&'a self, a: &'a S, b: &'a S) -> Product<'a, S> {
        match self {
            OwnedProduct::Mul(out_shape) => Product::Mul { a, b, out_shape },
            OwnedProduct::MatMul => Product::MatMul { a, b },
            &OwnedProduct::Conv2d(stride, padding, depthwise) => Product::Conv2d {
                x: a,
                w: b,
                stride,
                padding,
                depthwise,
            },
        }
    }
}

//! The Beaver product, written once for shares with and without MACs:
//! semi2k's additive shares over Z_2^64 and spdz2k's authenticated shares
//! over Z_2^128 (each with its MAC share) are two [`Sharing`]s of the same
//! engine.
//!
//! For secrets x = e + A and y = f + B, whose masks A and B are secret and
//! whose openings e and f are public, and C = op(A, B) preprocessed, any
//! bilinear op (an elementwise, matrix or convolution product) gives
//! op(x, y) = op(e, f) + op(e, B) + op(A, f) + C: linear maps of the shares
//! and one public term.

use super::Product;
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

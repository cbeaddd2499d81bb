//! Tensors over the ring Z_2^64 and the plaintext kernels every backend builds on.
//!
//! All arithmetic wraps modulo 2^64. Where an order is needed (max, comparisons),
//! elements are read as two's-complement signed integers. The linear kernels
//! are written once for any power-of-two ring ([`Word`]): Z_2^64, the
//! language's, and Z_2^128, where spdz2k keeps its shares and MACs (64 bits
//! of statistical security above the value).

use crate::shape::{Padding, PoolGeometry};

/// An element of the ring Z_2^w of w-bit words: arithmetic wraps.
pub trait Word:
    Copy + Default + PartialEq + Eq + std::hash::Hash + std::fmt::Debug + Send + Sync + 'static
{
    const ZERO: Self;
    const BITS: u32;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn neg(self) -> Self;
    /// x * 2^amount, for `amount` below the word's bits.
    fn shl(self, amount: u32) -> Self;
    /// The element x of Z_2^64 read as the integer 0..2^64 in this ring.
    fn lift(x: u64) -> Self;
    /// The low 64 bits: the element of Z_2^64 this one reduces to.
    fn low(self) -> u64;
    /// `row += a * b` elementwise: the inner loop of matrix products and
    /// convolutions.
    fn axpy(row: &mut [Self], a: Self, b: &[Self]);
    /// A tensor over Z_2^64 in this ring ([`Tensor::convert`]), borrowed
    /// where it already is.
    fn lift_tensor(t: &RingTensor) -> std::borrow::Cow<'_, Tensor<Self>>;
    fn xor(self, o: Self) -> Self;
    /// 64-bit words a value takes on the wire.
    const WORDS: usize;
    /// Values as wire words, low word first.
    fn to_words(values: &[Self]) -> Vec<u64>;
    /// Values from wire words (`words.len()` a multiple of `WORDS`).
    fn from_words(words: &[u64]) -> Vec<Self>;
}

impl Word for u64 {
    const ZERO: u64 = 0;
    const BITS: u32 = 64;
    fn add(self, o: u64) -> u64 {
        self.wrapping_add(o)
    }
    fn sub(self, o: u64) -> u64 {
        self.wrapping_sub(o)
    }
    fn mul(self, o: u64) -> u64 {
        self.wrapping_mul(o)
    }
    fn neg(self) -> u64 {
        self.wrapping_neg()
    }
    fn shl(self, amount: u32) -> u64 {
        self << amount
    }
    fn lift(x: u64) -> u64 {
        x
    }
    fn low(self) -> u64 {
        self
    }
    fn axpy(row: &mut [u64], a: u64, b: &[u64]) {
        axpy(row, a, b)
    }
    fn lift_tensor(t: &RingTensor) -> std::borrow::Cow<'_, RingTensor> {
        std::borrow::Cow::Borrowed(t)
    }
    fn xor(self, o: u64) -> u64 {
        self ^ o
    }
    const WORDS: usize = 1;
    fn to_words(values: &[u64]) -> Vec<u64> {
        values.to_vec()
    }
    fn from_words(words: &[u64]) -> Vec<u64> {
        words.to_vec()
    }
}

impl Word for u128 {
    const ZERO: u128 = 0;
    const BITS: u32 = 128;
    fn add(self, o: u128) -> u128 {
        self.wrapping_add(o)
    }
    fn sub(self, o: u128) -> u128 {
        self.wrapping_sub(o)
    }
    fn mul(self, o: u128) -> u128 {
        self.wrapping_mul(o)
    }
    fn neg(self) -> u128 {
        self.wrapping_neg()
    }
    fn shl(self, amount: u32) -> u128 {
        self << amount
    }
    fn lift(x: u64) -> u128 {
        x as u128
    }
    fn low(self) -> u64 {
        self as u64
    }
    fn axpy(row: &mut [u128], a: u128, b: &[u128]) {
        for (r, &b) in row.iter_mut().zip(b) {
            *r = r.wrapping_add(a.wrapping_mul(b));
        }
    }
    fn lift_tensor(t: &RingTensor) -> std::borrow::Cow<'_, WideTensor> {
        std::borrow::Cow::Owned(t.convert())
    }
    fn xor(self, o: u128) -> u128 {
        self ^ o
    }
    const WORDS: usize = 2;
    fn to_words(values: &[u128]) -> Vec<u64> {
        if cfg!(target_endian = "little") {
            return bytemuck::cast_slice(values).to_vec();
        }
        values
            .iter()
            .flat_map(|v| [*v as u64, (*v >> 64) as u64])
            .collect()
    }
    fn from_words(words: &[u64]) -> Vec<u128> {
        if cfg!(target_endian = "little") {
            let n = words.len() / 2;
            let mut values = vec![0u128; n];
            bytemuck::cast_slice_mut::<u128, u64>(&mut values).copy_from_slice(&words[..2 * n]);
            return values;
        }
        words
            .chunks_exact(2)
            .map(|w| w[0] as u128 | (w[1] as u128) << 64)
            .collect()
    }
}

/// A dense row-major tensor of ring elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tensor<W = u64> {
    pub shape: Vec<usize>,
    pub data: Vec<W>,
}

/// A tensor over Z_2^64, the ring programs compute in.
pub type RingTensor = Tensor<u64>;

/// A tensor over Z_2^128.
pub type WideTensor = Tensor<u128>;

impl<W: Word> Tensor<W> {
    /// The same tensor in another ring: each element lifted from, or reduced
    /// to, Z_2^64 through its low 64 bits.
    pub fn convert<V: Word>(&self) -> Tensor<V> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(|x| V::lift(x.low())).collect(),
        }
    }
}

/// Signed view of a ring element.
#[inline]
pub fn signed(x: u64) -> i64 {
    x as i64
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Strides of `shape` read as broadcast to `out` (0 on broadcast axes).
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let own = strides(shape);
    let offset = out.len() - shape.len();
    (0..out.len())
        .map(|i| {
            if i < offset || shape[i - offset] == 1 {
                0
            } else {
                own[i - offset]
            }
        })
        .collect()
}

impl<W: Word> Tensor<W> {
    pub fn new(shape: Vec<usize>, data: Vec<W>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data }
    }
    pub fn zeros(shape: &[usize]) -> Self {
        Tensor::new(shape.to_vec(), vec![W::ZERO; shape.iter().product()])
    }
    pub fn scalar(v: W) -> Self {
        Tensor::new(vec![], vec![v])
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn map(&self, f: impl Fn(W) -> W) -> Tensor<W> {
        Tensor::new(
            self.shape.clone(),
            self.data.iter().map(|&x| f(x)).collect(),
        )
    }

    /// Elementwise `f(a, b)` with numpy broadcasting to `out_shape`.
    pub fn zip(&self, other: &Tensor<W>, out_shape: &[usize], f: impl Fn(W, W) -> W) -> Tensor<W> {
        if self.shape == other.shape {
            let data = self
                .data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect();
            return Tensor::new(self.shape.clone(), data);
        }
        // One operand whole, the other repeated block by block (a bias or a
        // per-channel factor along the last axes, a scalar): no index walk.
        let repeats = |small: &[usize]| {
            let first = small.iter().position(|&d| d != 1).unwrap_or(small.len());
            out_shape.ends_with(&small[first..])
        };
        let n: usize = out_shape.iter().product();
        if n > 0 && self.shape == out_shape && repeats(&other.shape) {
            let data = self
                .data
                .chunks(other.data.len())
                .flat_map(|block| block.iter().zip(&other.data).map(|(&a, &b)| f(a, b)))
                .collect();
            return Tensor::new(out_shape.to_vec(), data);
        }
        if n > 0 && other.shape == out_shape && repeats(&self.shape) {
            let data = other
                .data
                .chunks(self.data.len())
                .flat_map(|block| self.data.iter().zip(block).map(|(&a, &b)| f(a, b)))
                .collect();
            return Tensor::new(out_shape.to_vec(), data);
        }
        let sa = broadcast_strides(&self.shape, out_shape);
        let sb = broadcast_strides(&other.shape, out_shape);
        let mut index = vec![0usize; out_shape.len()];
        let (mut ia, mut ib) = (0usize, 0usize);
        let mut data = Vec::with_capacity(n);
        for _ in 0..n {
            data.push(f(self.data[ia], other.data[ib]));
            // Advance the multi-index like an odometer, keeping both offsets in step.
            for axis in (0..out_shape.len()).rev() {
                index[axis] += 1;
                ia += sa[axis];
                ib += sb[axis];
                if index[axis] < out_shape[axis] {
                    break;
                }
                ia -= sa[axis] * out_shape[axis];
                ib -= sb[axis] * out_shape[axis];
                index[axis] = 0;
            }
        }
        Tensor::new(out_shape.to_vec(), data)
    }

    pub fn add(&self, o: &Tensor<W>, out: &[usize]) -> Tensor<W> {
        self.zip(o, out, W::add)
    }
    pub fn sub(&self, o: &Tensor<W>, out: &[usize]) -> Tensor<W> {
        self.zip(o, out, W::sub)
    }
    pub fn mul(&self, o: &Tensor<W>, out: &[usize]) -> Tensor<W> {
        self.zip(o, out, W::mul)
    }
    pub fn neg(&self) -> Tensor<W> {
        self.map(W::neg)
    }
    pub fn shl(&self, amount: u32) -> Tensor<W> {
        self.map(|x| {
            if amount >= W::BITS {
                W::ZERO
            } else {
                x.shl(amount)
            }
        })
    }

    /// `[m, k] @ [k, n]`.
    pub fn matmul(&self, o: &Tensor<W>) -> Tensor<W> {
        let (m, k, n) = (self.shape[0], self.shape[1], o.shape[1]);
        let mut out = vec![W::ZERO; m * n];
        for i in 0..m {
            let row = &mut out[i * n..(i + 1) * n];
            for p in 0..k {
                let a = self.data[i * k + p];
                if a == W::ZERO {
                    continue;
                }
                W::axpy(row, a, &o.data[p * n..(p + 1) * n]);
            }
        }
        Tensor::new(vec![m, n], out)
    }

    /// NHWC convolution with HWIO filters, or depthwise with `[KH, KW, C, M]` filters.
    pub fn conv2d(
        &self,
        w: &Tensor<W>,
        stride: [usize; 2],
        padding: Padding,
        depthwise: bool,
    ) -> Tensor<W> {
        let (n, h, wd, c) = (self.shape[0], self.shape[1], self.shape[2], self.shape[3]);
        let (kh, kw, wo) = (w.shape[0], w.shape[1], w.shape[3]);
        let geo = PoolGeometry::new([h, wd], [kh, kw], stride, padding);
        let oc = if depthwise { c * wo } else { wo };
        let mut out = vec![W::ZERO; n * geo.out[0] * geo.out[1] * oc];
        for b in 0..n {
            for oy in 0..geo.out[0] {
                for ox in 0..geo.out[1] {
                    let obase = ((b * geo.out[0] + oy) * geo.out[1] + ox) * oc;
                    let orow = &mut out[obase..obase + oc];
                    for dy in 0..kh {
                        let Some(iy) = geo.input_index(0, oy, dy) else {
                            continue;
                        };
                        for dx in 0..kw {
                            let Some(ix) = geo.input_index(1, ox, dx) else {
                                continue;
                            };
                            let ibase = ((b * h + iy) * wd + ix) * c;
                            let wbase = (dy * kw + dx) * c * wo;
                            for ci in 0..c {
                                let xv = self.data[ibase + ci];
                                let wrow = &w.data[wbase + ci * wo..wbase + (ci + 1) * wo];
                                let dst = if depthwise {
                                    &mut orow[ci * wo..(ci + 1) * wo]
                                } else {
                                    &mut orow[..]
                                };
                                W::axpy(dst, xv, wrow);
                            }
                        }
                    }
                }
            }
        }
        Tensor::new(vec![n, geo.out[0], geo.out[1], oc], out)
    }

    /// Folds each pooling window of an NHWC tensor with `f`, skipping padding.
    pub fn pool(
        &self,
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        f: impl Fn(W, W) -> W,
    ) -> Tensor<W> {
        let (n, h, wd, c) = (self.shape[0], self.shape[1], self.shape[2], self.shape[3]);
        let geo = PoolGeometry::new([h, wd], window, stride, padding);
        let mut out = Vec::with_capacity(n * geo.out[0] * geo.out[1] * c);
        for b in 0..n {
            for oy in 0..geo.out[0] {
                for ox in 0..geo.out[1] {
                    for ci in 0..c {
                        let mut acc: Option<W> = None;
                        for dy in 0..window[0] {
                            let Some(iy) = geo.input_index(0, oy, dy) else {
                                continue;
                            };
                            for dx in 0..window[1] {
                                let Some(ix) = geo.input_index(1, ox, dx) else {
                                    continue;
                                };
                                let v = self.data[((b * h + iy) * wd + ix) * c + ci];
                                acc = Some(acc.map_or(v, |a| f(a, v)));
                            }
                        }
                        out.push(acc.unwrap_or(W::ZERO));
                    }
                }
            }
        }
        Tensor::new(vec![n, geo.out[0], geo.out[1], c], out)
    }

    /// Reduces along `axis` (or over all elements) with `f`, which sees
    /// `(accumulated value, accumulated index, next value, next index)` and
    /// returns the new pair; the result keeps the value (or, with `want_index`, the index).
    pub fn reduce(
        &self,
        axis: Option<usize>,
        want_index: bool,
        f: impl Fn((W, usize), (W, usize)) -> (W, usize),
    ) -> Tensor<W> {
        let (outer, len, inner, out_shape) = match axis {
            None => (1, self.len(), 1, vec![]),
            Some(a) => {
                let mut s = self.shape.clone();
                let len = s.remove(a);
                (
                    self.shape[..a].iter().product(),
                    len,
                    self.shape[a + 1..].iter().product(),
                    s,
                )
            }
        };
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (self.data[(o * len + j) * inner + i], j);
                let mut acc = at(0);
                for j in 1..len {
                    acc = f(acc, at(j));
                }
                out.push(if want_index {
                    W::lift(acc.1 as u64)
                } else {
                    acc.0
                });
            }
        }
        Tensor::new(out_shape, out)
    }

    pub fn sum_pool(&self, window: [usize; 2], stride: [usize; 2], padding: Padding) -> Tensor<W> {
        self.pool(window, stride, padding, W::add)
    }

    pub fn sum(&self, axis: Option<usize>) -> Tensor<W> {
        if axis.is_none() {
            // The whole tensor: one pass the compiler vectorizes.
            let total = self.data.iter().fold(W::ZERO, |a, b| a.add(*b));
            return Tensor::new(vec![], vec![total]);
        }
        self.reduce(axis, false, |(a, i), (b, _)| (a.add(b), i))
    }

    pub fn transpose(&self, perm: &[usize]) -> Tensor<W> {
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let src_strides = strides(&self.shape);
        let perm_strides: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
        let n = self.len();
        let mut data = Vec::with_capacity(n);
        let mut index = vec![0usize; out_shape.len()];
        let mut at = 0usize;
        for _ in 0..n {
            data.push(self.data[at]);
            for axis in (0..out_shape.len()).rev() {
                index[axis] += 1;
                at += perm_strides[axis];
                if index[axis] < out_shape[axis] {
                    break;
                }
                at -= perm_strides[axis] * out_shape[axis];
                index[axis] = 0;
            }
        }
        Tensor::new(out_shape, data)
    }

    /// The block `starts .. starts + sizes`; the caller has checked the bounds.
    pub fn slice(&self, starts: &[usize], sizes: &[usize]) -> Tensor<W> {
        let src = strides(&self.shape);
        let n: usize = sizes.iter().product();
        let mut data = Vec::with_capacity(n);
        if n > 0 {
            let mut index = vec![0usize; sizes.len()];
            loop {
                let off: usize = index
                    .iter()
                    .zip(starts)
                    .zip(&src)
                    .map(|((i, s), st)| (i + s) * st)
                    .sum();
                data.push(self.data[off]);
                let mut axis = sizes.len();
                loop {
                    if axis == 0 {
                        return Tensor::new(sizes.to_vec(), data);
                    }
                    axis -= 1;
                    index[axis] += 1;
                    if index[axis] < sizes[axis] {
                        break;
                    }
                    index[axis] = 0;
                }
            }
        }
        Tensor::new(sizes.to_vec(), data)
    }

    /// `count` positions `from, from + step, ...` along `axis`.
    pub fn slice_strided(&self, axis: usize, from: usize, step: usize, count: usize) -> Tensor<W> {
        let outer: usize = self.shape[..axis].iter().product();
        let inner: usize = self.shape[axis + 1..].iter().product();
        let len = self.shape[axis];
        let mut data = Vec::with_capacity(outer * count * inner);
        for o in 0..outer {
            for j in 0..count {
                let at = (o * len + from + j * step) * inner;
                data.extend_from_slice(&self.data[at..at + inner]);
            }
        }
        let mut shape = self.shape.clone();
        shape[axis] = count;
        Tensor::new(shape, data)
    }

    pub fn concat(parts: &[&Tensor<W>], axis: usize) -> Tensor<W> {
        let mut shape = parts[0].shape.clone();
        shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
        let outer: usize = shape[..axis].iter().product();
        let mut data = Vec::with_capacity(shape.iter().product());
        for o in 0..outer {
            for p in parts {
                let chunk: usize = p.shape[axis..].iter().product();
                data.extend_from_slice(&p.data[o * chunk..(o + 1) * chunk]);
            }
        }
        Tensor::new(shape, data)
    }
}

/// The first element of `t` that kind `elem` does not hold: bits are 0 or 1,
/// other kinds fit their bit length as two's-complement integers.
pub fn first_outside(t: &RingTensor, elem: crate::types::Elem) -> Option<u64> {
    let bits = elem.bits();
    if elem == crate::types::Elem::Bit {
        return t.data.iter().copied().find(|&x| x > 1);
    }
    if bits >= 64 {
        return None;
    }
    t.data
        .iter()
        .copied()
        .find(|&x| signed_bits(x, bits) != signed(x))
}

/// Reads `x` as a `bits`-bit two's-complement integer (its lower bits only), as a
/// protocol that decomposes the lower `bits` bits would.
#[inline]
pub fn signed_bits(x: u64, bits: u8) -> i64 {
    let shift = 64 - bits.clamp(1, 64) as u32;
    ((x << shift) as i64) >> shift
}

/// `(value, index)` of the larger of two candidates; ties keep the first.
fn larger(bits: u8) -> impl Fn((u64, usize), (u64, usize)) -> (u64, usize) {
    move |a, b| {
        if signed_bits(b.0, bits) > signed_bits(a.0, bits) {
            b
        } else {
            a
        }
    }
}

/// The non-linear functions, in plaintext: the clear backend computes them on
/// secrets, and every backend's interpreter on public values.
impl RingTensor {
    /// Arithmetic shift right: floor division by 2^amount of the signed value.
    pub fn shr_signed(&self, amount: u32) -> RingTensor {
        self.map(|x| (signed(x) >> amount.min(63)) as u64)
    }
    pub fn ltz(&self, bits: u8) -> RingTensor {
        self.map(|x| (signed_bits(x, bits) < 0) as u64)
    }
    pub fn eqz(&self, bits: u8) -> RingTensor {
        self.map(|x| (signed_bits(x, bits) == 0) as u64)
    }
    pub fn relu(&self, bits: u8) -> RingTensor {
        self.map(|x| if signed_bits(x, bits) < 0 { 0 } else { x })
    }
    pub fn max_along(&self, axis: Option<usize>, bits: u8) -> RingTensor {
        self.reduce(axis, false, larger(bits))
    }
    pub fn argmax_along(&self, axis: usize, bits: u8) -> RingTensor {
        self.reduce(Some(axis), true, larger(bits))
    }
    pub fn max_pool(
        &self,
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        bits: u8,
    ) -> RingTensor {
        let pick = larger(bits);
        self.pool(window, stride, padding, |a, b| pick((a, 0), (b, 0)).0)
    }
}
/// `row += a * b` elementwise in the ring: the inner loop of matrix products
/// and convolutions.
/// With AVX-512DQ (checked at run time) it runs eight lanes at a time with
/// native 64-bit products; with AVX2, four, the products built from 32-bit ones.
fn axpy(row: &mut [u64], a: u64, b: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512dq") {
        // SAFETY: the CPU has AVX-512F and DQ (DQ implies F), checked just above.
        return unsafe { axpy_avx512(row, a, b) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { axpy_avx2(row, a, b) };
    }
    axpy_scalar(row, a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn axpy_avx2(row: &mut [u64], a: u64, b: &[u64]) {
    axpy_scalar(row, a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn axpy_avx512(row: &mut [u64], a: u64, b: &[u64]) {
    axpy_scalar(row, a, b)
}

#[inline(always)]
fn axpy_scalar(row: &mut [u64], a: u64, b: &[u64]) {
    for (r, &b) in row.iter_mut().zip(b) {
        *r = r.wrapping_add(a.wrapping_mul(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Broadcasting by repeated blocks (the fast path) gives what the index
    /// walk gives, for operands on either side, scalars and leading ones.
    #[test]
    fn repeated_blocks_broadcast_as_the_index_walk_does() {
        let mut v = 0u64;
        let mut tensor = |shape: &[usize]| {
            let n = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    v = v
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    v
                })
                .collect();
            RingTensor::new(shape.to_vec(), data)
        };
        // The index walk alone: every element from its own multi-index.
        let walk = |a: &RingTensor, b: &RingTensor, out: &[usize]| {
            let (sa, sb) = (
                broadcast_strides(&a.shape, out),
                broadcast_strides(&b.shape, out),
            );
            let n: usize = out.iter().product();
            let data = (0..n)
                .map(|mut i| {
                    let (mut ia, mut ib) = (0, 0);
                    for axis in (0..out.len()).rev() {
                        let k = i % out[axis];
                        i /= out[axis];
                        ia += k * sa[axis];
                        ib += k * sb[axis];
                    }
                    a.data[ia].wrapping_sub(b.data[ib])
                })
                .collect();
            RingTensor::new(out.to_vec(), data)
        };
        let out = [2, 3, 4];
        for small in [
            vec![4],
            vec![3, 4],
            vec![1, 4],
            vec![1, 3, 4],
            vec![],
            vec![1],
            vec![3, 1],
        ] {
            let (big, small) = (tensor(&out), tensor(&small));
            assert_eq!(
                big.sub(&small, &out),
                walk(&big, &small, &out),
                "{:?}",
                small.shape
            );
            assert_eq!(
                small.sub(&big, &out),
                walk(&small, &big, &out),
                "{:?}",
                small.shape
            );
        }
    }

    /// Every vector kernel this CPU runs gives the scalar loop's sums, on
    /// lengths that leave a remainder after the vector lanes.
    #[test]
    fn the_vector_axpy_kernels_agree_with_the_scalar_one() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut word = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state
        };
        for len in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 128, 131] {
            let a = word();
            let b: Vec<u64> = (0..len).map(|_| word()).collect();
            let start: Vec<u64> = (0..len).map(|_| word()).collect();
            let mut want = start.clone();
            axpy_scalar(&mut want, a, &b);
            let mut got = start.clone();
            axpy(&mut got, a, &b);
            assert_eq!(got, want, "dispatched kernel, length {len}");
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx512dq") {
                    let mut got = start.clone();
                    // SAFETY: the CPU has AVX-512DQ, checked just above.
                    unsafe { axpy_avx512(&mut got, a, &b) };
                    assert_eq!(got, want, "AVX-512, length {len}");
                }
                if std::is_x86_feature_detected!("avx2") {
                    let mut got = start.clone();
                    // SAFETY: the CPU has AVX2, checked just above.
                    unsafe { axpy_avx2(&mut got, a, &b) };
                    assert_eq!(got, want, "AVX2, length {len}");
                }
            }
            let naive: Vec<u64> = (0..len)
                .map(|i| start[i].wrapping_add(a.wrapping_mul(b[i])))
                .collect();
            assert_eq!(want, naive, "scalar, length {len}");
        }
    }
}

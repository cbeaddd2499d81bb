//! Tensors over the ring Z_2^64 and the plaintext kernels every backend builds on.
//!
//! All arithmetic wraps modulo 2^64. Where an order is needed (max, comparisons),
//! elements are read as two's-complement signed integers.

use crate::shape::{Padding, PoolGeometry};

/// A dense row-major tensor of ring elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RingTensor {
    pub shape: Vec<usize>,
    pub data: Vec<u64>,
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

impl RingTensor {
    pub fn new(shape: Vec<usize>, data: Vec<u64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        RingTensor { shape, data }
    }
    pub fn zeros(shape: &[usize]) -> Self {
        RingTensor::new(shape.to_vec(), vec![0; shape.iter().product()])
    }
    pub fn scalar(v: u64) -> Self {
        RingTensor::new(vec![], vec![v])
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn map(&self, f: impl Fn(u64) -> u64) -> RingTensor {
        RingTensor::new(
            self.shape.clone(),
            self.data.iter().map(|&x| f(x)).collect(),
        )
    }

    /// Elementwise `f(a, b)` with numpy broadcasting to `out_shape`.
    pub fn zip(
        &self,
        other: &RingTensor,
        out_shape: &[usize],
        f: impl Fn(u64, u64) -> u64,
    ) -> RingTensor {
        if self.shape == other.shape {
            let data = self
                .data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| f(a, b))
                .collect();
            return RingTensor::new(self.shape.clone(), data);
        }
        let n: usize = out_shape.iter().product();
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
        RingTensor::new(out_shape.to_vec(), data)
    }

    pub fn add(&self, o: &RingTensor, out: &[usize]) -> RingTensor {
        self.zip(o, out, u64::wrapping_add)
    }
    pub fn sub(&self, o: &RingTensor, out: &[usize]) -> RingTensor {
        self.zip(o, out, u64::wrapping_sub)
    }
    pub fn mul(&self, o: &RingTensor, out: &[usize]) -> RingTensor {
        self.zip(o, out, u64::wrapping_mul)
    }
    pub fn neg(&self) -> RingTensor {
        self.map(u64::wrapping_neg)
    }
    pub fn shl(&self, amount: u32) -> RingTensor {
        self.map(|x| if amount >= 64 { 0 } else { x << amount })
    }
    /// Arithmetic shift right: floor division by 2^amount of the signed value.
    pub fn shr_signed(&self, amount: u32) -> RingTensor {
        self.map(|x| (signed(x) >> amount.min(63)) as u64)
    }

    /// `[m, k] @ [k, n]`.
    pub fn matmul(&self, o: &RingTensor) -> RingTensor {
        let (m, k, n) = (self.shape[0], self.shape[1], o.shape[1]);
        let mut out = vec![0u64; m * n];
        for i in 0..m {
            let row = &mut out[i * n..(i + 1) * n];
            for p in 0..k {
                let a = self.data[i * k + p];
                if a == 0 {
                    continue;
                }
                axpy(row, a, &o.data[p * n..(p + 1) * n]);
            }
        }
        RingTensor::new(vec![m, n], out)
    }

    /// NHWC convolution with HWIO filters, or depthwise with `[KH, KW, C, M]` filters.
    pub fn conv2d(
        &self,
        w: &RingTensor,
        stride: [usize; 2],
        padding: Padding,
        depthwise: bool,
    ) -> RingTensor {
        let (n, h, wd, c) = (self.shape[0], self.shape[1], self.shape[2], self.shape[3]);
        let (kh, kw, wo) = (w.shape[0], w.shape[1], w.shape[3]);
        let geo = PoolGeometry::new([h, wd], [kh, kw], stride, padding);
        let oc = if depthwise { c * wo } else { wo };
        let mut out = vec![0u64; n * geo.out[0] * geo.out[1] * oc];
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
                                axpy(dst, xv, wrow);
                            }
                        }
                    }
                }
            }
        }
        RingTensor::new(vec![n, geo.out[0], geo.out[1], oc], out)
    }

    /// Folds each pooling window of an NHWC tensor with `f`, skipping padding.
    pub fn pool(
        &self,
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        f: impl Fn(u64, u64) -> u64,
    ) -> RingTensor {
        let (n, h, wd, c) = (self.shape[0], self.shape[1], self.shape[2], self.shape[3]);
        let geo = PoolGeometry::new([h, wd], window, stride, padding);
        let mut out = Vec::with_capacity(n * geo.out[0] * geo.out[1] * c);
        for b in 0..n {
            for oy in 0..geo.out[0] {
                for ox in 0..geo.out[1] {
                    for ci in 0..c {
                        let mut acc: Option<u64> = None;
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
                        out.push(acc.unwrap_or(0));
                    }
                }
            }
        }
        RingTensor::new(vec![n, geo.out[0], geo.out[1], c], out)
    }

    /// Reduces along `axis` (or over all elements) with `f`, which sees
    /// `(accumulated value, accumulated index, next value, next index)` and
    /// returns the new pair; the result keeps the value (or, with `want_index`, the index).
    pub fn reduce(
        &self,
        axis: Option<usize>,
        want_index: bool,
        f: impl Fn((u64, usize), (u64, usize)) -> (u64, usize),
    ) -> RingTensor {
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
                out.push(if want_index { acc.1 as u64 } else { acc.0 });
            }
        }
        RingTensor::new(out_shape, out)
    }

    pub fn sum(&self, axis: Option<usize>) -> RingTensor {
        if axis.is_none() {
            // The whole tensor: one pass the compiler vectorizes.
            let total = self.data.iter().fold(0u64, |a, b| a.wrapping_add(*b));
            return RingTensor::new(vec![], vec![total]);
        }
        self.reduce(axis, false, |(a, i), (b, _)| (a.wrapping_add(b), i))
    }

    pub fn transpose(&self, perm: &[usize]) -> RingTensor {
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
        RingTensor::new(out_shape, data)
    }

    /// The block `starts .. starts + sizes`; the caller has checked the bounds.
    pub fn slice(&self, starts: &[usize], sizes: &[usize]) -> RingTensor {
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
                        return RingTensor::new(sizes.to_vec(), data);
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
        RingTensor::new(sizes.to_vec(), data)
    }

    /// `count` positions `from, from + step, ...` along `axis`.
    pub fn slice_strided(&self, axis: usize, from: usize, step: usize, count: usize) -> RingTensor {
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
        RingTensor::new(shape, data)
    }

    pub fn concat(parts: &[&RingTensor], axis: usize) -> RingTensor {
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
        RingTensor::new(shape, data)
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
    pub fn sum_pool(&self, window: [usize; 2], stride: [usize; 2], padding: Padding) -> RingTensor {
        self.pool(window, stride, padding, u64::wrapping_add)
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

//! Bit planes: the bits of `n` values stored plane by plane (plane j holds bit
//! j of every value, 64 values to a word), so the carry tree of a comparison
//! acts on whole words. On the wire the planes are concatenated densely, `n`
//! bits each, so a message of `count` planes is `ceil(count * n / 64)` words.

/// `count` planes of `n` bits each, `stride` words per plane; bits past `n` in
/// a plane's last word are zero.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Planes {
    pub n: usize,
    pub stride: usize,
    pub words: Vec<u64>,
}

/// Transposes a 64x64 bit matrix in place: bit c of word r goes to bit r of word c.
pub(crate) fn transpose64(a: &mut [u64; 64]) {
    let mut lanes = a.map(|w| [w]);
    transpose64_each(&mut lanes);
    *a = lanes.map(|[w]| w);
}

/// [`transpose64`] of `LANES` matrices at once, lane l of word r being word
/// r of matrix l: with AVX2 or AVX-512 (checked at run time) each step is one
/// vector operation for all of them. The OT extension's transposes.
pub(crate) fn transpose64_lanes(a: &mut [[u64; LANES]; 64]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, checked just above.
        return unsafe { transpose64_lanes_avx512(a) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { transpose64_lanes_avx2(a) };
    }
    transpose64_each(a)
}

/// Matrices [`transpose64_lanes`] transposes at once.
pub(crate) const LANES: usize = 8;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose64_lanes_avx2(a: &mut [[u64; LANES]; 64]) {
    transpose64_each(a)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose64_lanes_avx512(a: &mut [[u64; LANES]; 64]) {
    transpose64_each(a)
}

/// The transpose of each of `L` matrices, lane by lane (swapping ever
/// smaller blocks: 32x32, then 16x16, ... 1x1).
#[inline(always)]
fn transpose64_each<const L: usize>(a: &mut [[u64; L]; 64]) {
    let mut j = 32;
    let mut m: u64 = 0x0000_0000_FFFF_FFFF;
    while j != 0 {
        let mut k = 0;
        while k < 64 {
            let (low, high) = a.split_at_mut(k + j);
            let (x, y) = (&mut low[k], &mut high[0]);
            for l in 0..L {
                let t = ((x[l] >> j) ^ y[l]) & m;
                y[l] ^= t;
                x[l] ^= t << j;
            }
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        m ^= m << j;
    }
}

impl Planes {
    pub fn zeros(n: usize, count: usize) -> Planes {
        let stride = n.div_ceil(64);
        Planes {
            n,
            stride,
            words: vec![0; stride * count],
        }
    }

    /// The low `count` bits of each value, as planes.
    pub fn from_values(values: &[u64], count: usize) -> Planes {
        let mut planes = Planes::zeros(values.len(), count);
        let mut block = [0u64; 64];
        for (w, chunk) in values.chunks(64).enumerate() {
            block[..chunk.len()].copy_from_slice(chunk);
            block[chunk.len()..].fill(0);
            transpose64(&mut block);
            for (j, &bits) in block.iter().take(count).enumerate() {
                planes.words[j * planes.stride + w] = bits;
            }
        }
        planes
    }

    /// The values whose low `count()` bits these planes hold (the inverse of
    /// [`Planes::from_values`]).
    pub fn to_values(&self) -> Vec<u64> {
        let mut values = vec![0u64; self.n];
        let mut block = [0u64; 64];
        for (w, chunk) in values.chunks_mut(64).enumerate() {
            block.fill(0);
            for (j, bits) in block.iter_mut().enumerate().take(self.count()) {
                *bits = self.words[j * self.stride + w];
            }
            transpose64(&mut block);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        values
    }

    pub fn count(&self) -> usize {
        self.words.len().checked_div(self.stride).unwrap_or(0)
    }

    pub fn plane(&self, j: usize) -> &[u64] {
        &self.words[j * self.stride..(j + 1) * self.stride]
    }

    /// Planes of `n` bits each, from wherever they lie, gathered in order.
    pub fn gather<'a>(n: usize, planes: impl Iterator<Item = &'a [u64]>) -> Planes {
        let planes: Vec<&[u64]> = planes.collect();
        let stride = n.div_ceil(64);
        let mut words = Vec::with_capacity(planes.len() * stride);
        for plane in planes {
            words.extend_from_slice(plane);
        }
        Planes { n, stride, words }
    }

    /// XORs the first `count` planes of `other` into the first `count` of these.
    pub fn xor_front(&mut self, other: &Planes, count: usize) {
        let words = count * self.stride;
        for (x, y) in self.words[..words].iter_mut().zip(&other.words[..words]) {
            *x ^= y;
        }
    }

    pub fn xor(&self, other: &Planes) -> Planes {
        Planes {
            n: self.n,
            stride: self.stride,
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(x, y)| x ^ y)
                .collect(),
        }
    }

    /// Plane `j` as one value per element (0 or 1).
    pub fn lanes(&self, j: usize) -> Vec<u64> {
        let plane = self.plane(j);
        (0..self.n)
            .map(|i| (plane[i / 64] >> (i % 64)) & 1)
            .collect()
    }

    /// The planes concatenated densely, `n` bits each.
    pub fn to_stream(&self) -> Vec<u64> {
        Planes::stream_of(self.n, (0..self.count()).map(|j| self.plane(j)))
    }

    /// Planes of `n` bits each, from wherever they lie, concatenated densely in
    /// one pass (what selecting them into one `Planes` and streaming it gives).
    pub fn stream_of<'a>(n: usize, planes: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
        let planes: Vec<&[u64]> = planes.collect();
        let mut stream = vec![0u64; (planes.len() * n).div_ceil(64)];
        for (j, plane) in planes.iter().enumerate() {
            let (at, shift) = ((j * n) / 64, (j * n) % 64);
            for (t, &w) in plane.iter().enumerate() {
                stream[at + t] |= w << shift;
                if shift > 0 && at + t + 1 < stream.len() {
                    stream[at + t + 1] |= w >> (64 - shift);
                }
            }
        }
        stream
    }

    /// `count` planes of `n` bits from a stream made by [`Planes::to_stream`].
    pub fn from_stream(stream: &[u64], n: usize, count: usize) -> Planes {
        let mut planes = Planes::zeros(n, count);
        let stride = planes.stride;
        let tail = if n.is_multiple_of(64) {
            u64::MAX
        } else {
            (1u64 << (n % 64)) - 1
        };
        for j in 0..count {
            let (at, shift) = ((j * n) / 64, (j * n) % 64);
            for t in 0..stride {
                let mut w = stream[at + t] >> shift;
                if shift > 0 && at + t + 1 < stream.len() {
                    w |= stream[at + t + 1] << (64 - shift);
                }
                if t + 1 == stride {
                    w &= tail;
                }
                planes.words[j * stride + t] = w;
            }
        }
        planes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<u64> {
        (0..n as u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
            .collect()
    }

    /// Every lane of the vector transposes (whichever kernel this CPU runs)
    /// moves bit c of word r to bit r of word c, as the one-matrix transpose.
    #[test]
    fn transposes_move_each_bit_across_the_diagonal() {
        let words = values(64 * LANES);
        let mut lanes = [[0u64; LANES]; 64];
        for (r, lane) in lanes.iter_mut().enumerate() {
            for (l, w) in lane.iter_mut().enumerate() {
                *w = words[l * 64 + r];
            }
        }
        transpose64_lanes(&mut lanes);
        for l in 0..LANES {
            let mut one: [u64; 64] = std::array::from_fn(|r| words[l * 64 + r]);
            transpose64(&mut one);
            for r in 0..64 {
                assert_eq!(lanes[r][l], one[r], "lane {l}, word {r}");
                for c in 0..64 {
                    assert_eq!(one[c] >> r & 1, words[l * 64 + r] >> c & 1);
                }
            }
        }
    }

    #[test]
    fn values_come_back_from_their_planes() {
        for n in [1, 63, 64, 65, 200] {
            let v: Vec<u64> = values(n).iter().map(|x| x & 0xFFFF_FFFF).collect();
            assert_eq!(Planes::from_values(&v, 32).to_values(), v, "n = {n}");
        }
    }

    #[test]
    fn planes_hold_each_bit_of_each_value() {
        for n in [1, 5, 63, 64, 65, 200] {
            let v = values(n);
            let p = Planes::from_values(&v, 37);
            assert_eq!(p.count(), 37);
            for j in 0..37 {
                let want: Vec<u64> = v.iter().map(|x| (x >> j) & 1).collect();
                assert_eq!(p.lanes(j), want, "n {n}, plane {j}");
            }
        }
    }

    #[test]
    fn chosen_planes_gather_and_stream_alike_and_xor_only_the_front() {
        for n in [1, 63, 64, 100] {
            let (p, q) = (
                Planes::from_values(&values(n), 9),
                Planes::from_values(&values(n).iter().map(|v| !v).collect::<Vec<_>>(), 9),
            );
            let (which, more) = ([7, 1, 1, 4], [0, 8]);
            let chosen = || {
                which
                    .iter()
                    .map(|&j| p.plane(j))
                    .chain(more.iter().map(|&j| q.plane(j)))
            };
            let mut gathered = Planes::gather(n, chosen());
            assert_eq!(gathered.count(), 6);
            for (k, plane) in chosen().enumerate() {
                assert_eq!(gathered.plane(k), plane, "n {n}, plane {k}");
            }
            assert_eq!(
                Planes::stream_of(n, chosen()),
                gathered.to_stream(),
                "n {n}"
            );
            gathered.xor_front(&q, 2);
            for k in 0..6 {
                let want: Vec<u64> = match k {
                    0 | 1 => p
                        .plane(which[k])
                        .iter()
                        .zip(q.plane(k))
                        .map(|(x, y)| x ^ y)
                        .collect(),
                    _ => chosen().nth(k).unwrap().to_vec(),
                };
                assert_eq!(gathered.plane(k), want, "n {n}, plane {k} after the xor");
            }
        }
    }

    #[test]
    fn streams_are_dense_and_round_trip() {
        for n in [1, 3, 63, 64, 65, 130] {
            for count in [1, 2, 7, 33] {
                let p = Planes::from_values(&values(n), count);
                let s = p.to_stream();
                assert_eq!(s.len(), (n * count).div_ceil(64));
                assert_eq!(Planes::from_stream(&s, n, count), p, "n {n}, count {count}");
            }
        }
    }
}

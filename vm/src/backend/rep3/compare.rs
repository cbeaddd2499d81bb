//! Comparisons and what builds on them.
//!
//! `ltz(x)` on a K-bit x is bit K-1 of x (the sign of its lower K bits, as the
//! clear backend reads it). Party 0 knows x0 + x1 and deals it as XOR-shared
//! 64-bit words; x2, known to parties 1 and 2, is a boolean sharing as it is. A
//! carry network adds the two: g = a & b (one round), then Kogge-Stone levels
//! g ^= p & (g << d), p &= p << d for d = 1, 2, 4, ... until the carry into bit
//! K-1 is known (ceil(log2(K - 1)) rounds, two ANDs per word, one on the last
//! level); the bit is (a ^ b ^ (g << 1)) at K-1. Every AND acts on all 64 lanes
//! of a word at once. The bit becomes arithmetic by b = t + s2 - 2 t s2, where
//! party 0 deals t = s0 ^ s1 and s2 is known to parties 1 and 2: two rounds.
//!
//! - ReLU: x - x ltz(x).
//! - Equality to zero: (1 - ltz(x)) (1 - ltz(-x)), the two tests side by side.
//! - max, argmax, max pooling: a tournament, pairs compared by ltz(a - b) on
//!   K + 1 bits and the larger (and its index) kept by one product; ties keep the
//!   earlier element. Max pooling compares the window positions, a padding
//!   position standing in for by the window's first real element.

use super::*;
use crate::shape::PoolGeometry;

impl Rep3 {
    /// [x < 0] as an arithmetic bit, reading the lower `k` bits of x.
    pub(super) fn ltz(&mut self, x: &Share, k: u32, out: &mut Msgs) -> Task {
        let n = x.a.len();
        let shape = x.a.shape.clone();
        let me = self.me;
        let sum = (me == 0).then(|| add(&x.a.data, &x.b.data));
        let dealt = self.deal_task(0, sum.as_deref(), &[n], true, out);
        // x2 sits at sharing position 2: party 1 holds it second, party 2 first.
        let zeros = vec![0u64; n];
        let b = match me {
            0 => Words {
                a: zeros.clone(),
                b: zeros,
            },
            1 => Words {
                a: zeros,
                b: x.b.data.clone(),
            },
            _ => Words {
                a: x.a.data.clone(),
                b: zeros,
            },
        };
        Task::Then(
            Box::new(dealt),
            Box::new(move |rep, a, out| {
                let a = a.words();
                let p = a.xor(&b);
                if k == 1 {
                    return Ok(rep.to_arith(p.map(|w| w & 1), shape, out));
                }
                let g = rep.and(&a, &b, out);
                Ok(Task::Then(
                    Box::new(g),
                    Box::new(move |rep, g, out| {
                        Ok(rep.carry_level(g.words(), p.clone(), p, 1, k, shape, out))
                    }),
                ))
            }),
        )
    }

    /// One level of the carry network with spans of `span` bits done; `sum` is a ^ b.
    fn carry_level(
        &mut self,
        g: Words,
        p: Words,
        sum: Words,
        span: u32,
        k: u32,
        shape: Vec<usize>,
        out: &mut Msgs,
    ) -> Task {
        if span >= k - 1 {
            // The carry into bit k-1 is g at bit k-2.
            let bit = sum
                .map(|w| w >> (k - 1))
                .xor(&g.map(|w| w >> (k - 2)))
                .map(|w| w & 1);
            return self.to_arith(bit, shape, out);
        }
        let shifted_g = g.map(|w| w << span);
        if 2 * span >= k - 1 {
            // Last level: only g is still needed.
            let t = self.and(&p, &shifted_g, out);
            return Task::Then(
                Box::new(t),
                Box::new(move |rep, t, out| {
                    Ok(rep.carry_level(g.xor(&t.words()), p, sum, 2 * span, k, shape, out))
                }),
            );
        }
        let n = g.a.len();
        let shifted_p = p.map(|w| w << span);
        let both = |x: &Words, y: &Words| Words {
            a: [x.a.clone(), y.a.clone()].concat(),
            b: [x.b.clone(), y.b.clone()].concat(),
        };
        let t = self.and(&both(&p, &p), &both(&shifted_g, &shifted_p), out);
        Task::Then(
            Box::new(t),
            Box::new(move |rep, t, out| {
                let t = t.words();
                let split = |from: usize| Words {
                    a: t.a[from..from + n].to_vec(),
                    b: t.b[from..from + n].to_vec(),
                };
                Ok(rep.carry_level(g.xor(&split(0)), split(n), sum, 2 * span, k, shape, out))
            }),
        )
    }

    /// A shared bit (word lanes 0) as an arithmetic sharing: t + s2 - 2 t s2.
    fn to_arith(&mut self, bit: Words, shape: Vec<usize>, out: &mut Msgs) -> Task {
        let me = self.me;
        // Party 0 holds (s0, s1); s2 sits at position 2 (party 1 second, party 2 first).
        let t = (me == 0).then(|| xor(&bit.a, &bit.b));
        let dealt = self.deal_task(0, t.as_deref(), &shape, false, out);
        let zeros = vec![0u64; bit.a.len()];
        let s2 = match me {
            0 => Share::pair(&shape, (zeros.clone(), zeros)),
            1 => Share::pair(&shape, (zeros, bit.b)),
            _ => Share::pair(&shape, (bit.a, zeros)),
        };
        Task::Then(
            Box::new(dealt),
            Box::new(move |rep, t, out| {
                let t = t.arith();
                let prod = rep.mul(&t, &s2, out);
                Ok(Task::Then(
                    Box::new(prod),
                    Box::new(move |_, ts, _| {
                        Ok(Task::Done(Val::Arith(
                            t.add(&s2).sub(&ts.arith().map(|x| x.shl(1))),
                        )))
                    }),
                ))
            }),
        )
    }

    pub(super) fn relu(&mut self, x: &Share, k: u32, out: &mut Msgs) -> Task {
        let x = x.clone();
        let lt = self.ltz(&x, k, out);
        Task::Then(
            Box::new(lt),
            Box::new(move |rep, b, out| {
                let prod = rep.mul(&x, &b.arith(), out);
                Ok(Task::Then(
                    Box::new(prod),
                    Box::new(move |_, xb, _| Ok(Task::Done(Val::Arith(x.sub(&xb.arith()))))),
                ))
            }),
        )
    }

    pub(super) fn eqz(&mut self, x: &Share, k: u32, out: &mut Msgs) -> Task {
        let neg = x.map(|t| t.neg());
        let both = Task::All(vec![self.ltz(x, k, out), self.ltz(&neg, k, out)]);
        let one = self.constant(&RingTensor::new(x.a.shape.clone(), vec![1; x.a.len()]));
        Task::Then(
            Box::new(both),
            Box::new(move |rep, bits, out| {
                let mut bits = bits.many().into_iter();
                let (p, q) = (
                    bits.next().expect("ltz(x)").arith(),
                    bits.next().expect("ltz(-x)").arith(),
                );
                Ok(rep.mul(&one.sub(&p), &one.sub(&q), out))
            }),
        )
    }

    /// Max (or argmax) along `axis` (all elements if `None`) by a tournament.
    pub(super) fn max(
        &mut self,
        x: &Share,
        axis: Option<usize>,
        k: u32,
        want_index: bool,
        out: &mut Msgs,
    ) -> Task {
        let shape = &x.a.shape;
        let (outer, len, inner, out_shape) = match axis {
            None => (1, x.a.len(), 1, vec![]),
            Some(a) => {
                let mut s = shape.clone();
                let len = s.remove(a);
                (
                    shape[..a].iter().product(),
                    len,
                    shape[a + 1..].iter().product(),
                    s,
                )
            }
        };
        let flat = x.map(|t| RingTensor::new(vec![outer, len, inner], t.data.clone()));
        let index: Vec<u64> = (0..outer)
            .flat_map(|_| (0..len).flat_map(|j| std::iter::repeat_n(j as u64, inner)))
            .collect();
        let index = self.constant(&RingTensor::new(vec![outer, len, inner], index));
        self.tournament(flat, index, (k + 1).min(64), want_index, out_shape, out)
    }

    /// One round of matches between neighbours along axis 1 of `[outer, len, inner]` values.
    fn tournament(
        &mut self,
        values: Share,
        index: Share,
        k: u32,
        want_index: bool,
        out_shape: Vec<usize>,
        out: &mut Msgs,
    ) -> Task {
        let len = values.a.shape[1];
        if len == 1 {
            let won = if want_index { index } else { values };
            return Task::Done(Val::Arith(
                won.map(|t| RingTensor::new(out_shape.clone(), t.data.clone())),
            ));
        }
        let half = len / 2;
        let pick = |s: &Share, from: usize, step: usize, count: usize| {
            s.map(|t| t.slice_strided(1, from, step, count))
        };
        let (a, b) = (pick(&values, 0, 2, half), pick(&values, 1, 2, half));
        let (ia, ib) = (pick(&index, 0, 2, half), pick(&index, 1, 2, half));
        let rest =
            (len % 2 == 1).then(|| (pick(&values, len - 1, 1, 1), pick(&index, len - 1, 1, 1)));
        let lt = self.ltz(&a.sub(&b), k, out);
        Task::Then(
            Box::new(lt),
            Box::new(move |rep, c, out| {
                let c = c.arith();
                let mut products = vec![rep.mul(&c, &b.sub(&a), out)];
                if want_index {
                    products.push(rep.mul(&c, &ib.sub(&ia), out));
                }
                Ok(Task::Then(
                    Box::new(Task::All(products)),
                    Box::new(move |rep, d, out| {
                        let mut d = d.many().into_iter();
                        let mut next_v = a.add(&d.next().expect("value").arith());
                        let mut next_i = if want_index {
                            ia.add(&d.next().expect("index").arith())
                        } else {
                            ia
                        };
                        if let Some((rv, ri)) = rest {
                            next_v = next_v.zip(&rv, |x, y| RingTensor::concat(&[x, y], 1));
                            next_i = next_i.zip(&ri, |x, y| RingTensor::concat(&[x, y], 1));
                        }
                        Ok(rep.tournament(next_v, next_i, k, want_index, out_shape, out))
                    }),
                ))
            }),
        )
    }

    pub(super) fn max_pool(
        &mut self,
        x: &Share,
        window: [usize; 2],
        stride: [usize; 2],
        padding: crate::shape::Padding,
        k: u32,
        out: &mut Msgs,
    ) -> Task {
        let (n, h, w, c) = (x.a.shape[0], x.a.shape[1], x.a.shape[2], x.a.shape[3]);
        let geo = PoolGeometry::new([h, w], window, stride, padding);
        let cells = window[0] * window[1];
        let out_len = n * geo.out[0] * geo.out[1] * c;
        // For each window position, the input element each output compares there.
        let mut source = vec![0usize; cells * out_len];
        let mut o = 0;
        for b in 0..n {
            for oy in 0..geo.out[0] {
                for ox in 0..geo.out[1] {
                    let valid: Vec<usize> = (0..cells)
                        .filter_map(|cell| {
                            let iy = geo.input_index(0, oy, cell / window[1])?;
                            let ix = geo.input_index(1, ox, cell % window[1])?;
                            Some((b * h + iy) * w + ix)
                        })
                        .collect();
                    for cell in 0..cells {
                        let pos = match (
                            geo.input_index(0, oy, cell / window[1]),
                            geo.input_index(1, ox, cell % window[1]),
                        ) {
                            (Some(iy), Some(ix)) => (b * h + iy) * w + ix,
                            _ => valid[0],
                        };
                        for ch in 0..c {
                            source[cell * out_len + o + ch] = pos * c + ch;
                        }
                    }
                    o += c;
                }
            }
        }
        let stacked = x.map(|t| {
            RingTensor::new(
                vec![1, cells, out_len],
                source.iter().map(|&i| t.data[i]).collect(),
            )
        });
        let index = self.constant(&RingTensor::zeros(&[1, cells, out_len]));
        self.tournament(
            stacked,
            index,
            (k + 1).min(64),
            false,
            vec![n, geo.out[0], geo.out[1], c],
            out,
        )
    }
}

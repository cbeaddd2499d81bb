//! Comparisons and what builds on them.
//!
//! `ltz(x)` on a K-bit x is bit K-1 of x (the sign of its lower K bits, as the
//! clear backend reads it). Party 0 knows x0 + x1 and deals its K bits as
//! XOR shares; x2, known to parties 1 and 2, is a boolean sharing as it is. The
//! carry into bit K-1 of their sum comes from a tree: generate g = a & b and
//! propagate p = a ^ b of the K-1 lower bits (one round), then each level
//! combines neighbouring blocks, G = G_hi ^ P_hi G_lo and P = P_hi P_lo, halving
//! the blocks (ceil(log2(K - 1)) rounds; the last level needs G only). The bits
//! are held as bit planes (see `planes.rs`), so a level is a few word operations
//! per 64 elements, and sent densely, so a level costs its live bits, about 2 K
//! bits per element in all. The top bit
//! a ^ b ^ carry becomes arithmetic as s2 + (1 - 2 s2) t with t = s0 ^ s1
//! known to party 0 and s2 to parties 1 and 2 (see `bit_to_arith`): two rounds, one
//! element from each party.
//!
//! - ReLU: x - x ltz(x).
//! - Equality to zero: (1 - ltz(x)) (1 - ltz(-x)), the two tests side by side.
//! - max, argmax, max pooling: a tournament, pairs compared by ltz(a - b) on
//!   K + 1 bits and the larger (and its index) kept by one product; ties keep the
//!   earlier element. Max pooling compares the window positions, a padding
//!   position standing in for by the window's first real element. At K = 64 the
//!   difference does not fit the ring: see [`Rep3::less`].

use super::*;
use crate::backend::compose::{Composer, Then};
use crate::backend::planes::Planes;

/// Bit planes of both share components (bit operations act on both alike, so they are local).
struct SharedPlanes {
    a: Planes,
    b: Planes,
}

impl SharedPlanes {
    fn from_streams(w: Words, n: usize, count: usize) -> SharedPlanes {
        SharedPlanes {
            a: Planes::from_stream(&w.a, n, count),
            b: Planes::from_stream(&w.b, n, count),
        }
    }
    /// `combine` applied to the planes `which` of each of `sources`, in that
    /// order, of each share component: (the first components', the second's).
    fn each_component<T>(
        sources: &[(&SharedPlanes, &[usize])],
        combine: impl Fn(usize, &mut dyn Iterator<Item = &[u64]>) -> T,
    ) -> (T, T) {
        let n = sources.first().map_or(0, |(s, _)| s.a.n);
        let component = |pick: fn(&SharedPlanes) -> &Planes| {
            let mut planes = sources
                .iter()
                .flat_map(move |(s, which)| which.iter().map(move |&j| pick(s).plane(j)));
            combine(n, &mut planes)
        };
        (component(|s| &s.a), component(|s| &s.b))
    }
    /// The planes `which` of each of `sources`, in that order, as streams.
    fn stream_of(sources: &[(&SharedPlanes, &[usize])]) -> Words {
        let (a, b) = Self::each_component(sources, |n, planes| Planes::stream_of(n, planes));
        Words { a, b }
    }
    /// The planes `which` of each of `sources`, in that order.
    fn gather(sources: &[(&SharedPlanes, &[usize])]) -> SharedPlanes {
        let (a, b) = Self::each_component(sources, |n, planes| Planes::gather(n, planes));
        SharedPlanes { a, b }
    }
    /// XORs the first `count` planes of `o` into the first `count` of these.
    fn xor_front(&mut self, o: &SharedPlanes, count: usize) {
        self.a.xor_front(&o.a, count);
        self.b.xor_front(&o.b, count);
    }
    fn xor(&self, o: &SharedPlanes) -> SharedPlanes {
        SharedPlanes {
            a: self.a.xor(&o.a),
            b: self.b.xor(&o.b),
        }
    }
    /// Plane `j` as one bit per element, in lane 0 of each word.
    fn lanes(&self, j: usize) -> Words {
        Words {
            a: self.a.lanes(j),
            b: self.b.lanes(j),
        }
    }
}

impl Rep3 {
    /// [x < 0] as an arithmetic bit, reading the lower `k` bits of x.
    pub(super) fn ltz(&mut self, x: &Share, k: u32, out: &mut Msgs) -> Task {
        let n = x.a.len();
        let k = k as usize;
        let shape = x.a.shape.clone();
        let me = self.me;
        let sum = (me == 0).then(|| Planes::from_values(&add(&x.a.data, &x.b.data), k).to_stream());
        let dealt = self.deal_task(0, sum, &[(n * k).div_ceil(64)], true, out);
        // x2 sits at sharing position 2: party 1 holds it second, party 2 first.
        let (zeros, x2) = (
            || Planes::zeros(n, k),
            |v: &[u64]| Planes::from_values(v, k),
        );
        let b = match me {
            0 => SharedPlanes {
                a: zeros(),
                b: zeros(),
            },
            1 => SharedPlanes {
                a: zeros(),
                b: x2(&x.b.data),
            },
            _ => SharedPlanes {
                a: x2(&x.a.data),
                b: zeros(),
            },
        };
        Task::Then(
            Box::new(dealt),
            Box::new(move |rep, a, out| {
                let a = SharedPlanes::from_streams(a.words(), n, k);
                let p = a.xor(&b);
                let top = p.lanes(k - 1);
                if k == 1 {
                    return Ok(rep.bit_to_arith(top, shape, out));
                }
                // Generate and propagate of the k-1 bits below the top one.
                let w = k - 1;
                let low: Vec<usize> = (0..w).collect();
                let g = rep.and(
                    &SharedPlanes::stream_of(&[(&a, &low)]),
                    &SharedPlanes::stream_of(&[(&b, &low)]),
                    out,
                );
                let p = SharedPlanes::gather(&[(&p, &low)]);
                Ok(Task::Then(
                    Box::new(g),
                    Box::new(move |rep, g, out| {
                        let g = SharedPlanes::from_streams(g.words(), n, w);
                        Ok(rep.carry_level(g, p, top, shape, out))
                    }),
                ))
            }),
        )
    }

    /// One level of the carry tree over the `w` blocks of `g` and `p` (one plane
    /// each): neighbouring blocks combine (G = G_hi ^ P_hi G_lo, P = P_hi P_lo),
    /// an odd top block passing through; at one block, g is the carry into the
    /// top bit. The last level needs G only.
    fn carry_level(
        &mut self,
        g: SharedPlanes,
        p: SharedPlanes,
        top: Words,
        shape: Vec<usize>,
        out: &mut Msgs,
    ) -> Task {
        let (n, w) = (g.a.n, g.a.count());
        if w == 1 {
            return self.bit_to_arith(top.xor(&g.lanes(0)), shape, out);
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
        let t = self.and(&x, &y, out);
        Task::Then(
            Box::new(t),
            Box::new(move |rep, t, out| {
                let t = SharedPlanes::from_streams(t.words(), n, if last { f } else { 2 * f });
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
                Ok(rep.carry_level(next_g, next_p, top, shape, out))
            }),
        )
    }

    /// A shared bit (in lane 0 of each word) as an arithmetic sharing. With
    /// t = s0 ^ s1 (known to party 0) and s2 (known to parties 1 and 2),
    /// b = s2 + (1 - 2 s2) t. Party 0 splits t = alpha + beta, alpha from the key
    /// it shares with party 2, and sends beta to party 1; then party 2 deals
    /// A = s2 + (1 - 2 s2) alpha and party 1 deals B = (1 - 2 s2) beta, and
    /// b = A + B. Two rounds; one element from each party.
    fn bit_to_arith(&mut self, bit: Words, shape: Vec<usize>, out: &mut Msgs) -> Task {
        let me = self.me;
        let n = bit.a.len();
        // Party 0 draws alpha from K0 (its own key), party 2 from the same key (its
        // next). Every party spends the round: those with nothing to receive wait
        // for it with a dealt value that is already complete.
        let zeros = || vec![0u64; n];
        let wait = |a: Vec<u64>| Task::Dealt {
            shape: vec![n],
            dealt: Dealt::known(a, vec![0; n]),
            words: false,
        };
        let beta_task = match me {
            0 => {
                let alpha = self.own.elements(n);
                let t: Vec<u64> = bit.a.iter().zip(&bit.b).map(|(x, y)| (x ^ y) & 1).collect();
                out.next(&sub(&t, &alpha));
                wait(zeros())
            }
            // Party 1 receives beta from party 0, its predecessor.
            1 => Task::Dealt {
                shape: vec![n],
                dealt: Dealt::FromPrev(zeros()),
                words: false,
            },
            _ => wait(self.next.elements(n)),
        };
        // s2 is party 1's second share and party 2's first.
        let s2: Vec<u64> = match me {
            1 => bit.b.iter().map(|x| x & 1).collect(),
            2 => bit.a.iter().map(|x| x & 1).collect(),
            _ => vec![],
        };
        Task::Then(
            Box::new(beta_task),
            Box::new(move |rep, got, out| {
                let scale = |s: u64, v: u64| v.wrapping_mul(1u64.wrapping_sub(2 * s));
                // Party 1 got beta, party 2 alpha, as the first share of `got`.
                let got = got.arith().a.data;
                let (a_val, b_val) = match me {
                    1 => (
                        None,
                        Some(
                            s2.iter()
                                .zip(&got)
                                .map(|(&s, &b)| scale(s, b))
                                .collect::<Vec<u64>>(),
                        ),
                    ),
                    2 => (
                        Some(
                            s2.iter()
                                .zip(&got)
                                .map(|(&s, &a)| s.wrapping_add(scale(s, a)))
                                .collect::<Vec<u64>>(),
                        ),
                        None,
                    ),
                    _ => (None, None),
                };
                let parts = vec![
                    rep.deal_task(2, a_val, &shape, false, out),
                    rep.deal_task(1, b_val, &shape, false, out),
                ];
                Ok(Task::Then(
                    Box::new(Task::All(parts)),
                    Box::new(|_, parts, _| {
                        let mut parts = parts.many().into_iter();
                        let (a, b) = (
                            parts.next().expect("A").arith(),
                            parts.next().expect("B").arith(),
                        );
                        Ok(Task::Done(Val::Arith(a.add(&b))))
                    }),
                ))
            }),
        )
    }
}

/// The composed operations (`backend/compose.rs`) on replicated shares; rep3
/// needs no preprocessed material.
impl Composer for Rep3 {
    type Share = Share;
    type Task = Task;
    type Out = Msgs;
    type Material = ();

    fn ltz(&mut self, _: &(), x: &Share, bits: u32, out: &mut Msgs) -> Result<Task, VmError> {
        Ok(Rep3::ltz(self, x, bits, out))
    }
    fn mul(&mut self, _: &(), a: &Share, b: &Share, out: &mut Msgs) -> Result<Task, VmError> {
        Ok(Rep3::mul(self, a, b, out))
    }
    fn join(&mut self, tasks: Vec<Task>, then: Then<Rep3>, _: &mut Msgs) -> Result<Task, VmError> {
        Ok(Task::Then(
            Box::new(Task::All(tasks)),
            Box::new(move |rep, results, out| {
                let shares = results.many().into_iter().map(Val::arith).collect();
                then(rep, shares, out)
            }),
        ))
    }
    fn done(s: Share) -> Task {
        Task::Done(Val::Arith(s))
    }
    fn map(s: &Share, f: &dyn Fn(&RingTensor) -> RingTensor) -> Share {
        s.map(f)
    }
    fn zip(a: &Share, b: &Share, f: &dyn Fn(&RingTensor, &RingTensor) -> RingTensor) -> Share {
        a.zip(b, f)
    }
    fn constant(&self, t: &RingTensor) -> Share {
        Rep3::constant(self, t)
    }
    fn shape(s: &Share) -> Vec<usize> {
        s.a.shape.clone()
    }
}

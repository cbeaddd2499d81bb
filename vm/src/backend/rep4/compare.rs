//! Comparisons and what builds on them, on rep4's sharing.
//!
//! `ltz(x)` on a K-bit x is bit K-1 of x. Parties 2 and 3 both know
//! a = x0 + x1 and parties 0 and 1 both know b = x2 + x3, so each pair shares
//! the K low bits of its value jointly as a boolean sharing (one round; the
//! same sharing as arithmetic values, with XOR for the sum), and the carry
//! tree of `carry.rs` gives the sign of a + b. Its AND gates are products
//! over bits ([`Rep4::and`]): the cross terms go by joint message passing,
//! so a cheating party is caught as in any product.
//!
//! The sign c = c0 ^ c1 ^ c2 ^ c3 becomes arithmetic as t + u - 2 t u, with
//! t = c0 ^ c1 known to {2, 3} and u = c2 ^ c3 to {0, 1}, each shared jointly
//! as 0 or 1 in the ring, then one product: two rounds.
//!
//! What builds on comparisons (ReLU, equality, max, argmax, max pooling) is
//! written once for every protocol in `compose.rs`.

use super::*;
use crate::backend::carry::{self, AndThen, BitCircuit, SharedPlanes};
use crate::backend::compose::{Composer, Map, Then, Zip};
use crate::backend::planes::Planes;

/// Who shares the comparison's two terms: a by {2, 3}, b by {0, 1}.
pub(crate) const SHARE_A: Jmp = BY_23;
pub(crate) const SHARE_B: Jmp = BY_01;

impl Rep4 {
    /// The sum of shares `a` and `b` of `x`, at the two parties holding both.
    fn pair_sum(&self, x: &Share, a: usize, b: usize) -> Option<Vec<u64>> {
        let me = self.me;
        (me != a && me != b).then(|| {
            let mut v = x.s[slot(me, a)].data.clone();
            add_into(&mut v, &x.s[slot(me, b)].data);
            v
        })
    }

    /// [x < 0] as an arithmetic bit, reading the lower `k` bits of x.
    pub(super) fn ltz(&mut self, x: &Share, k: u32, out: &mut Msgs) -> Task {
        let a = self.pair_sum(x, 0, 1);
        let b = self.pair_sum(x, 2, 3);
        self.sign_of_sum(a, b, k, x.s[0].shape.clone(), out)
    }

    /// Bit `k - 1` of a + b as an arithmetic sharing of `shape`, where a is
    /// known to {2, 3} and b to {0, 1} (`Some` there).
    pub(super) fn sign_of_sum(
        &mut self,
        a: Option<Vec<u64>>,
        b: Option<Vec<u64>>,
        k: u32,
        shape: Vec<usize>,
        out: &mut Msgs,
    ) -> Task {
        let n: usize = shape.iter().product();
        let k = k as usize;
        let stream = [(n * k).div_ceil(64)];
        let planes = |v: Option<Vec<u64>>| v.map(|v| Planes::from_values(&v, k).to_stream());
        let a = self.share_value(SHARE_A, &stream, Sum::Xor, planes(a), out);
        let b = self.share_value(SHARE_B, &stream, Sum::Xor, planes(b), out);
        Task::Then(
            Box::new(Task::All(vec![a, b])),
            Box::new(move |rep, got, out| {
                let mut got = got.many().into_iter().map(|v| {
                    let s = v.secret().s.map(|t| t.data);
                    SharedPlanes::from_streams(&s, n, k)
                });
                let (a, b) = (got.next().expect("a"), got.next().expect("b"));
                Ok(carry::sign_of_sum(rep, &a, &b, shape, out))
            }),
        )
    }

    /// A shared bit (bit 0 of each word) as an arithmetic sharing: see the
    /// module's doc.
    fn bit_to_arith(&mut self, bit: [Vec<u64>; 3], shape: Vec<usize>, out: &mut Msgs) -> Task {
        let me = self.me;
        let pair_xor = |a: usize, b: usize| -> Option<Vec<u64>> {
            (me != a && me != b).then(|| {
                let (x, y) = (&bit[slot(me, a)], &bit[slot(me, b)]);
                x.iter().zip(y).map(|(x, y)| (x ^ y) & 1).collect()
            })
        };
        let (t, u) = (pair_xor(0, 1), pair_xor(2, 3));
        let t = self.share_value(SHARE_A, &shape, Sum::Add, t, out);
        let u = self.share_value(SHARE_B, &shape, Sum::Add, u, out);
        Task::Then(
            Box::new(Task::All(vec![t, u])),
            Box::new(move |rep, got, out| {
                let mut got = got.many().into_iter().map(Val::secret);
                let (t, u) = (got.next().expect("t"), got.next().expect("u"));
                let tu = rep.product(
                    &Product::Mul {
                        a: &t,
                        b: &u,
                        out_shape: &shape,
                    },
                    out,
                );
                Ok(Task::Then(
                    Box::new(tu),
                    Box::new(move |_, tu, _| {
                        let tu = tu.secret();
                        Ok(Task::Done(Val::Secret(Share {
                            s: [0, 1, 2]
                                .map(|j| t.s[j].add(&u.s[j], &shape).sub(&tu.s[j].shl(1), &shape)),
                        })))
                    }),
                ))
            }),
        )
    }
}

fn components(v: Vec<Vec<u64>>) -> [Vec<u64>; 3] {
    v.try_into().expect("three components")
}

/// The carry tree's primitives on rep4's boolean sharing.
impl BitCircuit for Rep4 {
    type Task = Task;
    type Out = Msgs;

    fn and(
        &mut self,
        x: Vec<Vec<u64>>,
        y: Vec<Vec<u64>>,
        then: AndThen<Rep4>,
        out: &mut Msgs,
    ) -> Task {
        let t = Rep4::and(self, &components(x), &components(y), out);
        Task::Then(
            Box::new(t),
            Box::new(move |rep, z, out| then(rep, z.secret().s.map(|t| t.data).to_vec(), out)),
        )
    }
    fn bit_to_arith(&mut self, bit: Vec<Vec<u64>>, shape: Vec<usize>, out: &mut Msgs) -> Task {
        Rep4::bit_to_arith(self, components(bit), shape, out)
    }
}

/// The composed operations (`backend/compose.rs`) on rep4's sharing; rep4
/// needs no preprocessed material.
impl Composer for Rep4 {
    type Share = Share;
    type Task = Task;
    type Out = Msgs;
    type Material = ();

    fn ltz(&mut self, _: &(), x: &Share, bits: u32, out: &mut Msgs) -> Result<Task, VmError> {
        Ok(Rep4::ltz(self, x, bits, out))
    }
    fn mul(&mut self, _: &(), a: &Share, b: &Share, out: &mut Msgs) -> Result<Task, VmError> {
        Ok(self.product(
            &Product::Mul {
                a,
                b,
                out_shape: &a.s[0].shape,
            },
            out,
        ))
    }
    fn join(&mut self, tasks: Vec<Task>, then: Then<Rep4>, _: &mut Msgs) -> Result<Task, VmError> {
        Ok(Task::Then(
            Box::new(Task::All(tasks)),
            Box::new(move |rep, results, out| {
                let shares = results.many().into_iter().map(Val::secret).collect();
                then(rep, shares, out)
            }),
        ))
    }
    fn done(s: Share) -> Task {
        Task::Done(Val::Secret(s))
    }
    fn map(s: &Share, f: &Map<'_>) -> Share {
        s.map(|t| f.apply(t))
    }
    fn zip(a: &Share, b: &Share, f: Zip) -> Share {
        a.zip(b, |x, y| f.apply(x, y))
    }
    fn constant(&self, t: &RingTensor) -> Share {
        Rep4::constant(self, t)
    }
    fn shape(s: &Share) -> Vec<usize> {
        s.s[0].shape.clone()
    }
}

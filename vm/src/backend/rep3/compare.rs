//! Comparisons and what builds on them.
//!
//! `ltz(x)` on a K-bit x is bit K-1 of x (the sign of its lower K bits, as the
//! clear backend reads it). Party 0 knows x0 + x1 and deals its K bits as
//! XOR shares; x2, known to parties 1 and 2, is a boolean sharing as it is.
//! The sign of their sum comes from the carry tree of `carry.rs`; the top bit
//! becomes arithmetic as s2 + (1 - 2 s2) t with t = s0 ^ s1 known to party 0
//! and s2 to parties 1 and 2 (see `bit_to_arith`): two rounds, one element
//! from each party.
//!
//! What builds on comparisons (ReLU, equality, max, argmax, max pooling) is
//! written once for every protocol in `compose.rs`.

use super::*;
use crate::backend::carry::{self, AndThen, BitCircuit, SharedPlanes};
use crate::backend::compose::{Composer, Map, Then, Zip};
use crate::backend::planes::Planes;

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
        let zeros = vec![0u64; n];
        let b = match me {
            0 => SharedPlanes::from_values(&[&zeros, &zeros], k),
            1 => SharedPlanes::from_values(&[&zeros, &x.b.data], k),
            _ => SharedPlanes::from_values(&[&x.a.data, &zeros], k),
        };
        Task::Then(
            Box::new(dealt),
            Box::new(move |rep, a, out| {
                let a = a.words();
                let a = SharedPlanes::from_streams(&[a.a, a.b], n, k);
                Ok(carry::sign_of_sum(rep, &a, &b, shape, out))
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

/// The carry tree's primitives on rep3's boolean sharing.
impl BitCircuit for Rep3 {
    type Task = Task;
    type Out = Msgs;

    fn and(
        &mut self,
        x: Vec<Vec<u64>>,
        y: Vec<Vec<u64>>,
        then: AndThen<Rep3>,
        out: &mut Msgs,
    ) -> Task {
        let words = |mut v: Vec<Vec<u64>>| {
            let b = v.pop().expect("two components");
            let a = v.pop().expect("two components");
            Words { a, b }
        };
        let t = Rep3::and(self, &words(x), &words(y), out);
        Task::Then(
            Box::new(t),
            Box::new(move |rep, z, out| {
                let z = z.words();
                then(rep, vec![z.a, z.b], out)
            }),
        )
    }
    fn bit_to_arith(&mut self, mut bit: Vec<Vec<u64>>, shape: Vec<usize>, out: &mut Msgs) -> Task {
        let b = bit.pop().expect("two components");
        let a = bit.pop().expect("two components");
        Rep3::bit_to_arith(self, Words { a, b }, shape, out)
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
    fn map(s: &Share, f: &Map<'_>) -> Share {
        s.map(|t| f.apply(t))
    }
    fn zip(a: &Share, b: &Share, f: Zip) -> Share {
        a.zip(b, |x, y| f.apply(x, y))
    }
    fn constant(&self, t: &RingTensor) -> Share {
        Rep3::constant(self, t)
    }
    fn shape(s: &Share) -> Vec<usize> {
        s.a.shape.clone()
    }
}

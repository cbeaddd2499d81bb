//! Probabilistic truncation by m of a K-bit x: rep3's scheme (`rep3/trunc.rs`,
//! after Dalskov, Escudero and Keller, eprint 2019/131), made actively secure
//! by putting a pair of parties where rep3 has one. With k = K + 1 and
//! x' = x + 2^(K-1) in [0, 2^K):
//!
//! 1. The pair {0, 1} draws r from the key only they share and shares jointly
//!    v = -r_hi + r_msb 2^(k-1-m) and r_msb (y_hi: bits m..k-2 of y mod 2^k,
//!    y_msb: bit k-1); c = x + r is opened to the pair {2, 3}: party 2 gets
//!    x_2 + r from party 0, vouched for by party 1, and party 3 x_3 + r from
//!    party 1, vouched for by party 0. Uniform to them; {0, 1} never see c.
//! 2. The pair {2, 3} shares jointly u = c'_hi + c'_msb 2^(k-1-m) and c'_msb
//!    (c' = c + 2^(K-1)).
//! 3. One product w = c'_msb r_msb, and y = u + v - 2^(k-m) w - 2^(K-1-m) =
//!    floor(x / 2^m) + [c_lo < r_lo], 1 with probability frac(x / 2^m): the
//!    clear backend's distribution. Three rounds.
//!
//! Exact truncation also subtracts [c_lo < r_lo] (the low m bits of c and r),
//! the sign of c_lo + (2^(m+1) - r_lo) on m + 1 bits: {2, 3} know the first
//! term and {0, 1} the second, so it is a comparison's core
//! ([`Rep4::sign_of_sum`]) started in round 2, beside the rest.
//!
//! A party of either pair that lies about its values is caught by the other's
//! vouching; none learns anything about x.

use super::*;
use crate::backend::truncation;

/// How each value is shared jointly: r's parts by {0, 1}, c's by {2, 3}.
pub(crate) const V: Jmp = BY_01;
pub(crate) const R_MSB: Jmp = BY_10;
pub(crate) const U: Jmp = BY_23;
pub(crate) const C_MSB: Jmp = BY_32;
/// Who opens c = x + r to whom: (receiver, sender, checker).
pub(crate) const OPEN_C: [(usize, usize, usize); 2] = [(2, 0, 1), (3, 1, 0)];

impl Rep4 {
    /// Starts a truncation of `x`, a `value_bits`-bit value, by `m`.
    pub(super) fn trunc(
        &mut self,
        x: &Share,
        m: u32,
        exact: bool,
        value_bits: u8,
        out: &mut Msgs,
    ) -> Result<Task, VmError> {
        if m == 0 {
            return Ok(Task::Done(Val::Secret(x.clone())));
        }
        let k = truncation::ring_bits("rep4", value_bits, m)?;
        let shape = x.s[0].shape.clone();
        let n = x.s[0].data.len();
        let r = self.pair_key.as_mut().map(|key| key.elements(n));
        let (v, msb) = r.as_ref().map(|r| truncation::mask_parts(r, k, m)).unzip();
        let v = self.share_value(V, &shape, Sum::Add, v, out);
        let r_msb = self.share_value(R_MSB, &shape, Sum::Add, msb, out);
        let c = self.open_masked(x, r.as_deref(), out);
        // At {0, 1}: 2^(m+1) - r_lo, the comparison's second term.
        let minus_r_lo: Option<Vec<u64>> = r.filter(|_| exact).map(|r| {
            r.iter()
                .map(|&r| (1u64 << (m + 1)).wrapping_sub(bits(r, 0, m)))
                .collect()
        });
        Ok(Task::Then(
            Box::new(Task::All(vec![v, r_msb, c])),
            Box::new(move |rep, got, out| {
                let mut got = got.many().into_iter();
                let (v, r_msb) = (
                    got.next().expect("v").secret(),
                    got.next().expect("r_msb").secret(),
                );
                let Some(Val::Revealed(c)) = got.next() else {
                    unreachable!("c revealed or not")
                };
                // At {2, 3}: c' = c + 2^(K-1).
                let c = c.map(|c| {
                    let offset = 1u64 << (k - 2);
                    c.data
                        .iter()
                        .map(|c| c.wrapping_add(offset))
                        .collect::<Vec<u64>>()
                });
                let (u, msb) = c
                    .as_ref()
                    .map(|c| truncation::masked_parts(c, k, m))
                    .unzip();
                let u = rep.share_value(U, &shape, Sum::Add, u, out);
                let c_msb = rep.share_value(C_MSB, &shape, Sum::Add, msb, out);
                let y = Task::Then(
                    Box::new(Task::All(vec![u, c_msb])),
                    Box::new(move |rep, got, out| {
                        let mut got = got.many().into_iter();
                        let (u, c_msb) = (
                            got.next().expect("u").secret(),
                            got.next().expect("c_msb").secret(),
                        );
                        let w = rep.product(
                            &Product::Mul {
                                a: &c_msb,
                                b: &r_msb,
                                out_shape: &c_msb.s[0].shape,
                            },
                            out,
                        );
                        Ok(Task::Then(
                            Box::new(w),
                            Box::new(move |rep, w, _| {
                                let w = w.secret();
                                let shape = u.s[0].shape.clone();
                                let offset = rep.constant(&RingTensor::new(
                                    shape.clone(),
                                    vec![1u64 << (k - 2 - m); shape.iter().product()],
                                ));
                                let y = Share {
                                    s: [0, 1, 2].map(|j| {
                                        u.s[j]
                                            .add(&v.s[j], &shape)
                                            .sub(&w.s[j].shl(k - m), &shape)
                                            .sub(&offset.s[j], &shape)
                                    }),
                                };
                                Ok(Task::Done(Val::Secret(y)))
                            }),
                        ))
                    }),
                );
                if !exact {
                    return Ok(y);
                }
                let c_lo: Option<Vec<u64>> = c.map(|c| c.iter().map(|&c| bits(c, 0, m)).collect());
                let below = rep.sign_of_sum(c_lo, minus_r_lo, m + 1, shape.clone(), out);
                Ok(Task::Then(
                    Box::new(Task::All(vec![y, below])),
                    Box::new(|_, got, _| {
                        let mut got = got.many().into_iter();
                        let (y, below) = (
                            got.next().expect("y").secret(),
                            got.next().expect("below").secret(),
                        );
                        Ok(Task::Done(Val::Secret(y.sub(&below))))
                    }),
                ))
            }),
        ))
    }

    /// c = x + r revealed to {2, 3} ([`OPEN_C`]), r known to {0, 1}: party 2
    /// gets x_2 + r from party 0, vouched for by party 1, and adds the
    /// shares it holds; likewise party 3. Uniform to them.
    fn open_masked(&mut self, x: &Share, r: Option<&[u64]>, out: &mut Msgs) -> Task {
        let me = self.me;
        let mut open = None;
        for (to, sender, checker) in OPEN_C {
            if me == to {
                let mut partial = x.s[0].data.clone();
                add_into(&mut partial, &x.s[1].data);
                add_into(&mut partial, &x.s[2].data);
                open = Some((partial, sender, checker));
            } else if me == sender || me == checker {
                let mut masked = x.s[slot(me, to)].data.clone();
                add_into(&mut masked, r.expect("the pair {0, 1} knows r"));
                if me == sender {
                    self.send(to, masked, out);
                } else {
                    self.vouch(to, &masked);
                }
            }
        }
        Task::Output {
            shape: x.s[0].shape.clone(),
            open,
        }
    }
}

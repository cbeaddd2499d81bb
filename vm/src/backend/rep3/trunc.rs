//! Truncation by m of a K-bit x (after Dalskov, Escudero and Keller, eprint
//! 2019/131), with k = K + 1 and x' = x + 2^(K-1) in [0, 2^K):
//!
//! 1. Party 2 draws r alone and sends x0 + r to party 1, which holds x1 and x2
//!    and so learns c = x + r: uniform, independent of x. Party 2 deals
//!    v = -r_hi + r_msb 2^(k-1-m) and r_msb, where for a value y taken mod 2^k,
//!    y_hi is bits m..k-2 and y_msb bit k-1.
//! 2. Party 1 deals u = c_hi + c_msb 2^(k-1-m) and c_msb (of c' = c + 2^(K-1)).
//! 3. One product gives w = c_msb r_msb. Since x' < 2^(k-1), the sum x' + r wraps
//!    mod 2^k exactly when r_msb and not c_msb, and
//!    y = u + v - 2^(k-m) w - 2^(K-1-m) = floor(x / 2^m) + [c_lo < r_lo],
//!    where [c_lo < r_lo] is 1 with probability frac(x / 2^m): probabilistic
//!    truncation, with exactly the clear backend's distribution.
//!
//! Exact truncation also deals r_lo (party 2) and c_lo (party 1) and subtracts
//! [c_lo < r_lo] = ltz(c_lo - r_lo) on m + 1 bits, computed beside the product.
//! Perfectly hiding, with no condition on the headroom of x (K at most 63).

use super::*;
use crate::backend::truncation;
use rand::Rng;

pub(super) const DEALER: usize = 2;
pub(super) const MASKED: usize = 1;

/// A truncation between rounds: each state holds what the next round completes.
pub(in crate::backend) enum Trunc {
    /// After round 1: party 1 awaits the masked value; all await party 2's dealt values.
    Masked {
        x: Share,
        k: u32,
        m: u32,
        v: Dealt,
        r_msb: Dealt,
        r_lo: Option<Dealt>,
    },
    /// After round 2: all await party 1's dealt values.
    Revealed {
        k: u32,
        m: u32,
        shape: Vec<usize>,
        v: (Vec<u64>, Vec<u64>),
        r_msb: (Vec<u64>, Vec<u64>),
        r_lo: Option<(Vec<u64>, Vec<u64>)>,
        u: Dealt,
        c_msb: Dealt,
        c_lo: Option<Dealt>,
    },
}

impl Rep3 {
    /// Starts a truncation of `x`, a `bits`-bit value, by `m`.
    pub(super) fn trunc(
        &mut self,
        x: &Share,
        m: u32,
        exact: bool,
        value_bits: u8,
        out: &mut Msgs,
    ) -> Result<Task, VmError> {
        if m == 0 {
            return Ok(Task::Done(Val::Arith(x.clone())));
        }
        let k = truncation::ring_bits("rep3", value_bits, m)?;
        let n = x.a.len();
        let me = self.me;
        let (v, r_msb, r_lo) = if me == DEALER {
            let r: Vec<u64> = (0..n).map(|_| self.local.random()).collect();
            // Party 2 holds (x2, x0); party 1, its predecessor, lacks x0.
            out.prev(&add(&x.b.data, &r));
            let (v, msb) = truncation::mask_parts(&r, k, m);
            let lo: Vec<u64> = r.iter().map(|&r| bits(r, 0, m)).collect();
            (
                self.deal(DEALER, Some(v), n, false, out),
                self.deal(DEALER, Some(msb), n, false, out),
                exact.then(|| self.deal(DEALER, Some(lo), n, false, out)),
            )
        } else {
            (
                self.deal(DEALER, None, n, false, out),
                self.deal(DEALER, None, n, false, out),
                exact.then(|| self.deal(DEALER, None, n, false, out)),
            )
        };
        Ok(Task::Trunc(Box::new(Trunc::Masked {
            x: x.clone(),
            k,
            m,
            v,
            r_msb,
            r_lo,
        })))
    }

    /// Consumes a round's messages for one truncation and sends its next round's.
    pub(super) fn trunc_advance(
        &mut self,
        t: Trunc,
        inbox: &mut Inbox,
        out: &mut Msgs,
    ) -> Result<Task, VmError> {
        Ok(match t {
            Trunc::Masked {
                x,
                k,
                m,
                v,
                r_msb,
                r_lo,
            } => {
                let n = x.a.len();
                // Party 2 sent party 1 the masked value before its dealt shares.
                let masked = if self.me == MASKED {
                    Some(inbox.next(n)?)
                } else {
                    None
                };
                let (v, r_msb) = (inbox.dealt(v)?, inbox.dealt(r_msb)?);
                let r_lo = r_lo.map(|d| inbox.dealt(d)).transpose()?;
                // Party 1 holds (x1, x2): with the masked x0 it has c = x + r, shifted by 2^(K-1).
                let c: Option<Vec<u64>> = masked.map(|mk| {
                    let offset = 1u64 << (k - 2);
                    mk.iter()
                        .zip(&x.a.data)
                        .zip(&x.b.data)
                        .map(|((a, b), c)| a.wrapping_add(*b).wrapping_add(*c).wrapping_add(offset))
                        .collect()
                });
                let (u, msb) = match &c {
                    Some(c) => {
                        let (u, msb) = truncation::masked_parts(c, k, m);
                        (Some(u), Some(msb))
                    }
                    None => (None, None),
                };
                let lo: Option<Vec<u64>> = c
                    .as_ref()
                    .map(|c| c.iter().map(|&c| bits(c, 0, m)).collect());
                let u = self.deal(MASKED, u, n, false, out);
                let c_msb = self.deal(MASKED, msb, n, false, out);
                let c_lo = r_lo.is_some().then(|| self.deal(MASKED, lo, n, false, out));
                Task::Trunc(Box::new(Trunc::Revealed {
                    k,
                    m,
                    shape: x.a.shape.clone(),
                    v,
                    r_msb,
                    r_lo,
                    u,
                    c_msb,
                    c_lo,
                }))
            }
            Trunc::Revealed {
                k,
                m,
                shape,
                v,
                r_msb,
                r_lo,
                u,
                c_msb,
                c_lo,
            } => {
                let (u, c_msb) = (
                    Share::pair(&shape, inbox.dealt(u)?),
                    Share::pair(&shape, inbox.dealt(c_msb)?),
                );
                let c_lo = c_lo.map(|d| inbox.dealt(d)).transpose()?;
                let (v, r_msb) = (Share::pair(&shape, v), Share::pair(&shape, r_msb));
                let mut parts = vec![self.mul(&c_msb, &r_msb, out)];
                if let (Some(c_lo), Some(r_lo)) = (c_lo, r_lo) {
                    let borrow = Share::pair(&shape, c_lo).sub(&Share::pair(&shape, r_lo));
                    parts.push(self.ltz(&borrow, m + 1, out));
                }
                let offset = self.constant(&RingTensor::new(
                    shape.clone(),
                    vec![1u64 << (k - 2 - m); shape.iter().product()],
                ));
                Task::Then(
                    Box::new(Task::All(parts)),
                    Box::new(move |_, done, _| {
                        let mut done = done.many().into_iter();
                        let w = done.next().expect("the product").arith();
                        let scaled = w.map(|t| t.shl(k - m));
                        let mut y = u.add(&v).sub(&scaled).sub(&offset);
                        if let Some(borrow) = done.next() {
                            y = y.sub(&borrow.arith());
                        }
                        Ok(Task::Done(Val::Arith(y)))
                    }),
                )
            }
        })
    }
}

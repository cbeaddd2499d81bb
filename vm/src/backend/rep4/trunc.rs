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
//! A party of either pair that lies about its values is caught by the other's
//! vouching; none learns anything about x.

use super::*;
use crate::backend::truncation;

/// How each value is shared jointly: r's parts by {0, 1}, c's by {2, 3}.
pub(crate) const V: Jmp = Jmp {
    sender: 0,
    checker: 1,
    g: 2,
    h: 3,
};
pub(crate) const R_MSB: Jmp = Jmp {
    sender: 1,
    checker: 0,
    g: 3,
    h: 2,
};
pub(crate) const U: Jmp = Jmp {
    sender: 2,
    checker: 3,
    g: 0,
    h: 1,
};
pub(crate) const C_MSB: Jmp = Jmp {
    sender: 3,
    checker: 2,
    g: 1,
    h: 0,
};
/// Who opens c = x + r to whom: (receiver, sender, checker).
pub(crate) const OPEN_C: [(usize, usize, usize); 2] = [(2, 0, 1), (3, 1, 0)];

/// Shares in the making: this party's parts so far and what it receives.
pub(super) struct Pending {
    s: [Vec<u64>; 3],
    receive: Vec<(usize, usize, usize)>,
}

/// A truncation between its rounds.
pub(super) enum Trunc {
    /// After round 1: v and r_msb arriving; at {2, 3}, c from `c_from`.
    Masked {
        x: Share,
        k: u32,
        m: u32,
        v: Pending,
        r_msb: Pending,
        c_from: Option<(usize, usize)>,
    },
    /// After round 2: u and c_msb arriving.
    Revealed {
        k: u32,
        m: u32,
        shape: Vec<usize>,
        v: Share,
        r_msb: Share,
        u: Pending,
        c_msb: Pending,
    },
    /// After round 3: the product w arriving.
    Multiplied {
        k: u32,
        m: u32,
        u: Share,
        v: Share,
        w: Box<Task>,
    },
}

impl Rep4 {
    /// `f(part)` shared jointly by `jmp` (the value itself at its knowers).
    fn share_value(
        &mut self,
        jmp: Jmp,
        n: usize,
        value: Option<&[u64]>,
        out: &mut [Vec<Part>],
    ) -> Pending {
        let mut p = Pending {
            s: [vec![0; n], vec![0; n], vec![0; n]],
            receive: Vec::new(),
        };
        let rest = |r: &[u64]| {
            let value = value.expect("the knowers know the value");
            value
                .iter()
                .zip(r)
                .map(|(v, r)| v.wrapping_sub(*r))
                .collect()
        };
        self.share_jointly(jmp, n, rest, &mut p.s, &mut p.receive, out);
        p
    }

    /// Starts a truncation of `x`, a `value_bits`-bit value, by `m`.
    pub(super) fn trunc(
        &mut self,
        x: &Share,
        m: u32,
        value_bits: u8,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        if m == 0 {
            return Ok(Task::Done(Outcome::Secret(x.clone())));
        }
        let k = truncation::ring_bits("rep4", value_bits, m)?;
        let n = x.s[0].data.len();
        let me = self.me;
        let r = self.pair_key.as_mut().map(|key| key.elements(n));
        let (v, msb) = match &r {
            Some(r) => {
                let (v, msb) = truncation::mask_parts(r, k, m);
                (Some(v), Some(msb))
            }
            None => (None, None),
        };
        let v = self.share_value(V, n, v.as_deref(), out);
        let r_msb = self.share_value(R_MSB, n, msb.as_deref(), out);
        let mut c_from = None;
        for (to, sender, checker) in OPEN_C {
            if me == to {
                c_from = Some((sender, checker));
            } else if me == sender || me == checker {
                let r = r.as_ref().expect("the pair {0, 1} knows r");
                let mut masked = x.s[slot(me, to)].data.clone();
                add_into(&mut masked, r);
                if me == sender {
                    self.send(to, masked, out);
                } else {
                    self.vouch(to, &masked);
                }
            }
        }
        Ok(Task::Trunc(Box::new(Trunc::Masked {
            x: x.clone(),
            k,
            m,
            v,
            r_msb,
            c_from,
        })))
    }

    /// Consumes a round's messages for one truncation and sends its next
    /// round's.
    pub(super) fn trunc_advance(
        &mut self,
        t: Trunc,
        inbox: &mut Inbox,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        Ok(match t {
            Trunc::Masked {
                x,
                k,
                m,
                v,
                r_msb,
                c_from,
            } => {
                let shape = x.s[0].shape.clone();
                let n = x.s[0].data.len();
                let v = self.receive_shares(&shape, v.s, v.receive, inbox)?;
                let r_msb = self.receive_shares(&shape, r_msb.s, r_msb.receive, inbox)?;
                // At {2, 3}: c' = (x_me + r) + the other three shares + 2^(K-1).
                let c: Option<Vec<u64>> = match c_from {
                    Some((from, checker)) => {
                        let mut c = self.take(inbox, from, n, checker, None)?;
                        for j in 0..3 {
                            add_into(&mut c, &x.s[j].data);
                        }
                        let offset = 1u64 << (k - 2);
                        Some(c.iter().map(|c| c.wrapping_add(offset)).collect())
                    }
                    None => None,
                };
                let (u, msb) = match c {
                    Some(c) => {
                        let (u, msb) = truncation::masked_parts(&c, k, m);
                        (Some(u), Some(msb))
                    }
                    None => (None, None),
                };
                let u = self.share_value(U, n, u.as_deref(), out);
                let c_msb = self.share_value(C_MSB, n, msb.as_deref(), out);
                Task::Trunc(Box::new(Trunc::Revealed {
                    k,
                    m,
                    shape,
                    v,
                    r_msb,
                    u,
                    c_msb,
                }))
            }
            Trunc::Revealed {
                k,
                m,
                shape,
                v,
                r_msb,
                u,
                c_msb,
            } => {
                let u = self.receive_shares(&shape, u.s, u.receive, inbox)?;
                let c_msb = self.receive_shares(&shape, c_msb.s, c_msb.receive, inbox)?;
                let w = self.product(
                    &Product::Mul {
                        a: &c_msb,
                        b: &r_msb,
                        out_shape: &shape,
                    },
                    out,
                );
                Task::Trunc(Box::new(Trunc::Multiplied {
                    k,
                    m,
                    u,
                    v,
                    w: Box::new(w),
                }))
            }
            Trunc::Multiplied { k, m, u, v, w } => {
                let Task::Done(Outcome::Secret(w)) = self.advance(*w, inbox, out)? else {
                    unreachable!("a product takes one round")
                };
                let shape = u.s[0].shape.clone();
                let offset = self.constant(&RingTensor::new(
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
                Task::Done(Outcome::Secret(y))
            }
        })
    }
}

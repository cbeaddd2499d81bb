//! `rep3`: three parties, passive security with an honest majority, by
//! replicated secret sharing over Z_2^64 (Araki et al., CCS 2016; ABY3).
//!
//! A secret x = x0 + x1 + x2; party i holds (x_i, x_{i+1}) (indices mod 3), so
//! any two parties can reconstruct and any one sees only random values.
//!
//! Correlated randomness: at setup each party draws an AES key K_i and sends it
//! to party i-1, so party i holds K_i and K_{i+1}. AES-128 in counter mode
//! under a key gives both its holders the same stream ([`Prf`]). Every draw
//! happens while preparing a round's messages, in operation order, so the two
//! holders of a key always draw the same elements for the same purpose.
//!
//! - Products (elementwise, matrix, convolution): party i computes the cross
//!   terms x_i y_i + x_i y_{i+1} + x_{i+1} y_i plus a zero-sharing
//!   F(K_i) - F(K_{i+1}), and sends that one element per output to party i-1:
//!   one round, one ring element per output element per party.
//! - A value known to party p (an input, or a helper value of a protocol) is
//!   dealt: shares p and p+1 come from the keys p shares with its neighbours;
//!   p sends the third to both: two elements per value.
//! - Opening to all: each party sends its first share to the next; to one
//!   party p: party p-1 sends it its first share.
//! - Probabilistic truncation by m of a K-bit x (after Dalskov, Escudero and
//!   Keller, 2019/131), with k = K + 1 and x' = x + 2^(K-1): party 2 sends
//!   x0 + r (r its own random) to party 1, who so learns c = x + r, a uniform
//!   value. Party 2 deals v = -r_hi + r_msb 2^(k-1-m) and r_msb, party 1 deals
//!   u = c_hi + c_msb 2^(k-1-m) and c_msb (hi: bits m..k-2 of the value mod 2^k,
//!   msb: bit k-1), and one product gives w = c_msb r_msb. Then
//!   y = u + v - 2^(k-m) w - 2^(K-1-m) = floor(x / 2^m) + [c_lo < r_lo], where the
//!   last bit is 1 with probability frac(x / 2^m): the clear backend's distribution.
//!   Three rounds; perfectly hiding, with no condition on the headroom of x.
//!
//! The operations of a round batch advance in lockstep: in every round each
//! unfinished operation adds its part to the one message per peer.

use super::prf::Prf;
use super::*;
use crate::net::Network;
use rand::{Rng, SeedableRng, TryRngCore};
use rand_chacha::ChaCha20Rng;

/// This party's pair of shares.
#[derive(Clone, Debug)]
pub struct Share {
    /// x_i
    pub a: RingTensor,
    /// x_{i+1}
    pub b: RingTensor,
}

pub struct Rep3 {
    net: Network,
    me: usize,
    /// F(K_i): shared with party i-1.
    own: Prf,
    /// F(K_{i+1}): shared with party i+1.
    next: Prf,
    /// Randomness known to this party alone.
    local: ChaCha20Rng,
    setup: CommFigures,
}

fn next(i: usize) -> usize {
    (i + 1) % 3
}
fn prev(i: usize) -> usize {
    (i + 2) % 3
}

fn encode(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn decode(b: &[u8]) -> Vec<u64> {
    b.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_sub(*y)).collect()
}

fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect()
}

/// The primitives this backend runs; a program needing others is refused at start.
pub const SUPPORTED: &[crate::bytecode::Primitive] = {
    use crate::bytecode::Primitive::*;
    &[Input, Mul, MatMul, Conv2d, TruncPr, Open, Output]
};

/// The roles of probabilistic truncation.
const TRUNC_DEALER: usize = 2;
const TRUNC_MASKED: usize = 1;

/// Bytes each party sends in one run of `program` (the cost model that
/// `mpcc --stats` prints and the tests hold to the measured figures).
pub fn bytes_sent(program: &crate::bytecode::Program) -> [u64; 3] {
    use crate::bytecode::Instr;
    let mut sent = [0u64; 3];
    let reg = |r: &u32| &program.registers[*r as usize];
    crate::bytecode::for_each_weighted(program, |_, i, times| {
        let elements = |n: usize| 8 * n as u64 * times;
        match i {
            Instr::Input { input, .. } => {
                let d = &program.inputs[*input as usize];
                sent[d.party as usize % 3] += 2 * elements(d.ty.len());
            }
            Instr::Mul { dst, a, b, .. } | Instr::MatMul { dst, a, b, .. }
                if reg(a).secret && reg(b).secret =>
            {
                sent.iter_mut().for_each(|s| *s += elements(reg(dst).len()));
            }
            Instr::Conv2d { dst, x, w, .. } if reg(x).secret && reg(w).secret => {
                sent.iter_mut().for_each(|s| *s += elements(reg(dst).len()));
            }
            Instr::Trunc {
                a, exact: false, ..
            } if reg(a).secret => {
                let n = reg(a).len();
                // The masked value and two dealt values; two dealt values; one product.
                sent[TRUNC_DEALER] += elements(n) + 2 * 2 * elements(n) + elements(n);
                sent[TRUNC_MASKED] += 2 * 2 * elements(n) + elements(n);
                sent[3 - TRUNC_DEALER - TRUNC_MASKED] += elements(n);
            }
            Instr::Open { a, .. } => sent.iter_mut().for_each(|s| *s += elements(reg(a).len())),
            Instr::Output { output, a } if reg(a).secret => {
                for p in program.outputs[*output as usize].to.iter() {
                    sent[prev(p)] += elements(reg(a).len());
                }
            }
            _ => {}
        }
    });
    sent
}

/// A value being dealt by its owner: the shares known before the round, and
/// whether the third arrives from the previous or the next party.
struct Dealt {
    n: usize,
    local: Option<(Vec<u64>, Vec<u64>)>,
    from_prev: Option<Vec<u64>>,
    from_next: Option<Vec<u64>>,
}

/// Messages of one operation in one round.
#[derive(Default)]
struct Msgs {
    to_prev: Vec<u64>,
    to_next: Vec<u64>,
}

/// Incoming messages of a round, consumed operation by operation.
struct Inbox<'a> {
    from_prev: &'a [u64],
    from_next: &'a [u64],
    me: usize,
}

impl Inbox<'_> {
    fn take(part: &mut &[u64], n: usize, peer: usize) -> Result<Vec<u64>, VmError> {
        if part.len() < n {
            return Err(VmError::Network(format!(
                "party {peer} sent a short message: a protocol violation or a bug"
            )));
        }
        let (head, rest) = part.split_at(n);
        *part = rest;
        Ok(head.to_vec())
    }
    fn prev(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        Self::take(&mut self.from_prev, n, prev(self.me))
    }
    fn next(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        Self::take(&mut self.from_next, n, next(self.me))
    }
    fn dealt(&mut self, d: Dealt) -> Result<(Vec<u64>, Vec<u64>), VmError> {
        Ok(match (d.local, d.from_prev, d.from_next) {
            (Some(ab), _, _) => ab,
            (None, Some(a), _) => (a, self.prev(d.n)?),
            (None, None, Some(b)) => (self.next(d.n)?, b),
            _ => unreachable!("a dealt value knows where its shares come from"),
        })
    }
}

/// Probabilistic truncation between rounds: each state holds what the next
/// round's messages complete.
enum Trunc {
    /// After round 1: party 1 awaits the masked value; all await party 2's dealt helpers.
    Masked {
        x: Share,
        k: u32,
        m: u32,
        v: Dealt,
        r_msb: Dealt,
    },
    /// After round 2: all await party 1's dealt helpers.
    Revealed {
        k: u32,
        m: u32,
        shape: Vec<usize>,
        v: (Vec<u64>, Vec<u64>),
        r_msb: (Vec<u64>, Vec<u64>),
        u: Dealt,
        c_msb: Dealt,
    },
    /// After round 3: the product of the two most significant bits completes.
    Multiplied {
        k: u32,
        m: u32,
        shape: Vec<usize>,
        v: (Vec<u64>, Vec<u64>),
        u: (Vec<u64>, Vec<u64>),
        z: Vec<u64>,
    },
}

/// One operation of a round batch, between rounds.
enum Task {
    Input {
        shape: Vec<usize>,
        dealt: Dealt,
    },
    /// A product: this party's new first share; the second arrives from next.
    Product {
        shape: Vec<usize>,
        z: Vec<u64>,
    },
    /// An opening: the sum of own shares; the missing one arrives from prev.
    Open {
        shape: Vec<usize>,
        partial: Vec<u64>,
    },
    /// An output: the sum of own shares if this party receives it.
    Output {
        shape: Vec<usize>,
        partial: Option<Vec<u64>>,
    },
    Trunc(Box<Trunc>),
    Done(Outcome<Share>),
}

/// Bits `lo..hi` of `x` as an integer.
fn bits(x: u64, lo: u32, hi: u32) -> u64 {
    let width = hi - lo;
    (x >> lo)
        & if width >= 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        }
}

impl Rep3 {
    /// Agrees on the PRF keys with the other two parties (one round).
    pub fn setup(mut net: Network) -> Result<Rep3, VmError> {
        if net.parties() != 3 {
            return Err(VmError::Usage(format!(
                "rep3 needs exactly 3 parties, the hosts file lists {}",
                net.parties()
            )));
        }
        let me = net.party();
        let os = |e: rand::rand_core::OsError| {
            VmError::Usage(format!(
                "the operating system's random generator failed: {e}"
            ))
        };
        let mut key = [0u8; 16];
        rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(os)?;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut seed).map_err(os)?;
        let mut out = vec![Vec::new(); 3];
        out[prev(me)] = key.to_vec();
        let got = net.exchange(out).map_err(VmError::Network)?;
        let next_key: [u8; 16] = got[next(me)]
            .as_slice()
            .try_into()
            .map_err(|_| VmError::Network(format!("party {} sent a malformed key", next(me))))?;
        let setup = net.figures();
        Ok(Rep3 {
            net,
            me,
            own: Prf::new(key),
            next: Prf::new(next_key),
            local: ChaCha20Rng::from_seed(seed),
            setup,
        })
    }

    fn zero_share(&mut self, n: usize) -> Vec<u64> {
        let a = self.own.elements(n);
        sub(&a, &self.next.elements(n))
    }

    /// Deals `n` values known to `owner` (given at the owner only).
    fn deal(&mut self, owner: usize, values: Option<&[u64]>, n: usize, out: &mut Msgs) -> Dealt {
        let me = self.me;
        if owner == me {
            let x = values.expect("the owner knows the values");
            let first = self.own.elements(n);
            let second = self.next.elements(n);
            let third = sub(&sub(x, &first), &second);
            out.to_prev.extend_from_slice(&third);
            out.to_next.extend(third);
            Dealt {
                n,
                local: Some((first, second)),
                from_prev: None,
                from_next: None,
            }
        } else if owner == prev(me) {
            // The owner's second share is our first (our own key); the third arrives from prev.
            Dealt {
                n,
                local: None,
                from_prev: Some(self.own.elements(n)),
                from_next: None,
            }
        } else {
            // The owner's first share is our second (next's key); the third arrives from next.
            Dealt {
                n,
                local: None,
                from_prev: None,
                from_next: Some(self.next.elements(n)),
            }
        }
    }

    /// Starts a product whose local cross terms are `z`.
    fn product(&mut self, z: RingTensor, out: &mut Msgs) -> Task {
        let alpha = self.zero_share(z.len());
        let z_i = add(&z.data, &alpha);
        out.to_prev.extend_from_slice(&z_i);
        Task::Product {
            shape: z.shape,
            z: z_i,
        }
    }

    /// Prepares one operation and its first round's messages.
    fn start(&mut self, op: Interaction<'_, Share>, out: &mut Msgs) -> Result<Task, VmError> {
        let me = self.me;
        Ok(match op {
            Interaction::Input { party, ty, data } => {
                if party >= 3 {
                    return Err(VmError::Usage(format!(
                        "input of party {party}, but rep3 has parties 0, 1 and 2"
                    )));
                }
                if party == me && data.is_none() {
                    return Err(VmError::Input(format!(
                        "party {me} has no value for its input of type {ty}"
                    )));
                }
                let dealt = self.deal(
                    party,
                    data.as_ref().map(|d| d.data.as_slice()),
                    ty.len(),
                    out,
                );
                Task::Input {
                    shape: ty.shape.clone(),
                    dealt,
                }
            }
            Interaction::Mul {
                a, b, out_shape, ..
            } => {
                let z =
                    a.a.mul(&b.a, out_shape)
                        .add(&a.a.mul(&b.b, out_shape), out_shape)
                        .add(&a.b.mul(&b.a, out_shape), out_shape);
                self.product(z, out)
            }
            Interaction::MatMul { a, b, .. } => {
                let sum_b = b.a.add(&b.b, &b.a.shape);
                let z = a.a.matmul(&sum_b);
                let shape = z.shape.clone();
                self.product(z.add(&a.b.matmul(&b.a), &shape), out)
            }
            Interaction::Conv2d {
                x,
                w,
                stride,
                padding,
                depthwise,
                ..
            } => {
                let sum_w = w.a.add(&w.b, &w.a.shape);
                let z = x.a.conv2d(&sum_w, stride, padding, depthwise);
                let shape = z.shape.clone();
                self.product(
                    z.add(&x.b.conv2d(&w.a, stride, padding, depthwise), &shape),
                    out,
                )
            }
            Interaction::Open { a } => {
                out.to_next.extend_from_slice(&a.a.data);
                Task::Open {
                    shape: a.a.shape.clone(),
                    partial: add(&a.a.data, &a.b.data),
                }
            }
            Interaction::Output { a, to } => {
                if to.contains(next(me)) {
                    out.to_next.extend_from_slice(&a.a.data);
                }
                Task::Output {
                    shape: a.a.shape.clone(),
                    partial: to.contains(me).then(|| add(&a.a.data, &a.b.data)),
                }
            }
            Interaction::Trunc {
                a,
                amount,
                exact: false,
                bits,
            } => {
                // The value and the truncated part must fit with one bit to spare.
                let big_k = (bits as u32).max(amount + 1);
                if big_k > 63 {
                    return Err(VmError::Usage(format!("probabilistic truncation of a {big_k}-bit value: rep3 supports at most 63 bits")));
                }
                Task::Trunc(Box::new(self.trunc_start(a, big_k + 1, amount, out)))
            }
            other => {
                return Err(VmError::Usage(format!(
                    "rep3 does not support {} in this version",
                    interaction_name(&other)
                )))
            }
        })
    }

    /// Round 1 of a truncation: party 2 masks its x0 for party 1 and deals
    /// v = -r_hi + r_msb 2^(k-1-m) and r_msb.
    fn trunc_start(&mut self, x: &Share, k: u32, m: u32, out: &mut Msgs) -> Trunc {
        let n = x.a.len();
        if self.me != TRUNC_DEALER {
            let v = self.deal(TRUNC_DEALER, None, n, out);
            let r_msb = self.deal(TRUNC_DEALER, None, n, out);
            return Trunc::Masked {
                x: x.clone(),
                k,
                m,
                v,
                r_msb,
            };
        }
        let r: Vec<u64> = (0..n).map(|_| self.local.random()).collect();
        // Party 2 holds (x2, x0); party 1, its predecessor, lacks x0.
        out.to_prev.extend(add(&x.b.data, &r));
        let v: Vec<u64> = r
            .iter()
            .map(|&r| (bits(r, k - 1, k) << (k - 1 - m)).wrapping_sub(bits(r, m, k - 1)))
            .collect();
        let msb: Vec<u64> = r.iter().map(|&r| bits(r, k - 1, k)).collect();
        let v = self.deal(TRUNC_DEALER, Some(&v), n, out);
        let r_msb = self.deal(TRUNC_DEALER, Some(&msb), n, out);
        Trunc::Masked {
            x: x.clone(),
            k,
            m,
            v,
            r_msb,
        }
    }

    /// Consumes a round's messages for one truncation and sends its next round's.
    fn trunc_advance(
        &mut self,
        t: Trunc,
        inbox: &mut Inbox,
        out: &mut Msgs,
    ) -> Result<Task, VmError> {
        Ok(match t {
            Trunc::Masked { x, k, m, v, r_msb } => {
                let n = x.a.len();
                // Party 2 sent party 1 the masked value before its dealt shares.
                let masked = if self.me == TRUNC_MASKED {
                    Some(inbox.next(n)?)
                } else {
                    None
                };
                let (v, r_msb) = (inbox.dealt(v)?, inbox.dealt(r_msb)?);
                // Party 1 holds (x1, x2): with the masked x0 it has c = x + r, shifted by 2^(K-1).
                let helpers = masked.map(|mk| {
                    let offset = 1u64 << (k - 2);
                    let c: Vec<u64> = mk
                        .iter()
                        .zip(&x.a.data)
                        .zip(&x.b.data)
                        .map(|((a, b), c)| a.wrapping_add(*b).wrapping_add(*c).wrapping_add(offset))
                        .collect();
                    let u: Vec<u64> = c
                        .iter()
                        .map(|&c| bits(c, m, k - 1).wrapping_add(bits(c, k - 1, k) << (k - 1 - m)))
                        .collect();
                    let msb: Vec<u64> = c.iter().map(|&c| bits(c, k - 1, k)).collect();
                    (u, msb)
                });
                let u = self.deal(
                    TRUNC_MASKED,
                    helpers.as_ref().map(|h| h.0.as_slice()),
                    n,
                    out,
                );
                let c_msb = self.deal(
                    TRUNC_MASKED,
                    helpers.as_ref().map(|h| h.1.as_slice()),
                    n,
                    out,
                );
                Task::Trunc(Box::new(Trunc::Revealed {
                    k,
                    m,
                    shape: x.a.shape.clone(),
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
                let (u, c_msb) = (inbox.dealt(u)?, inbox.dealt(c_msb)?);
                let (c, d) = (
                    RingTensor::new(shape.clone(), c_msb.0),
                    RingTensor::new(shape.clone(), c_msb.1),
                );
                let (s, t) = (
                    RingTensor::new(shape.clone(), r_msb.0),
                    RingTensor::new(shape.clone(), r_msb.1),
                );
                let z = c
                    .mul(&s, &shape)
                    .add(&c.mul(&t, &shape), &shape)
                    .add(&d.mul(&s, &shape), &shape);
                let Task::Product { z, .. } = self.product(z, out) else {
                    unreachable!("product() starts a product")
                };
                Task::Trunc(Box::new(Trunc::Multiplied {
                    k,
                    m,
                    shape,
                    v,
                    u,
                    z,
                }))
            }
            Trunc::Multiplied {
                k,
                m,
                shape,
                v,
                u,
                z,
            } => {
                let z_next = inbox.next(z.len())?;
                // y = u + v - 2^(k-m) w - 2^(K-1-m), the constant on share x0.
                let combine = |u: &[u64], v: &[u64], w: &[u64]| -> Vec<u64> {
                    u.iter()
                        .zip(v)
                        .zip(w)
                        .map(|((u, v), w)| u.wrapping_add(*v).wrapping_sub(w << (k - m)))
                        .collect()
                };
                let mut a = combine(&u.0, &v.0, &z);
                let mut b = combine(&u.1, &v.1, &z_next);
                let offset = 1u64 << (k - 2 - m);
                match self.me {
                    0 => a.iter_mut().for_each(|x| *x = x.wrapping_sub(offset)),
                    2 => b.iter_mut().for_each(|x| *x = x.wrapping_sub(offset)),
                    _ => {}
                }
                Task::Done(Outcome::Secret(Share {
                    a: RingTensor::new(shape.clone(), a),
                    b: RingTensor::new(shape, b),
                }))
            }
        })
    }

    /// Consumes a round's messages for one task; returns the task for the next round
    /// (with its messages added to `out`), or its outcome.
    fn advance(&mut self, task: Task, inbox: &mut Inbox, out: &mut Msgs) -> Result<Task, VmError> {
        Ok(match task {
            Task::Input { shape, dealt } => {
                let (a, b) = inbox.dealt(dealt)?;
                Task::Done(Outcome::Secret(Share {
                    a: RingTensor::new(shape.clone(), a),
                    b: RingTensor::new(shape, b),
                }))
            }
            Task::Product { shape, z } => {
                let z_next = inbox.next(z.len())?;
                Task::Done(Outcome::Secret(Share {
                    a: RingTensor::new(shape.clone(), z),
                    b: RingTensor::new(shape, z_next),
                }))
            }
            Task::Open { shape, partial } => {
                let missing = inbox.prev(partial.len())?;
                Task::Done(Outcome::Public(RingTensor::new(
                    shape,
                    add(&partial, &missing),
                )))
            }
            Task::Output { shape, partial } => Task::Done(Outcome::Revealed(match partial {
                Some(p) => {
                    let missing = inbox.prev(p.len())?;
                    Some(RingTensor::new(shape, add(&p, &missing)))
                }
                None => None,
            })),
            Task::Trunc(t) => self.trunc_advance(*t, inbox, out)?,
            Task::Done(_) => unreachable!("finished tasks are not advanced"),
        })
    }
}

fn interaction_name<S>(i: &Interaction<'_, S>) -> &'static str {
    match i {
        Interaction::Trunc { exact: true, .. } => "exact truncation",
        Interaction::Trunc { .. } => "probabilistic truncation",
        Interaction::LtZ { .. } => "comparison",
        Interaction::EqZ { .. } => "equality test",
        Interaction::Relu { .. } => "ReLU",
        Interaction::Max { .. } => "max",
        Interaction::Argmax { .. } => "argmax",
        Interaction::MaxPool { .. } => "max pooling",
        _ => "this operation",
    }
}

/// Network rounds of one interactive instruction under rep3.
fn instr_rounds(program: &crate::bytecode::Program, i: &crate::bytecode::Instr) -> u64 {
    match i {
        crate::bytecode::Instr::Trunc {
            a, exact: false, ..
        } if program.registers[*a as usize].secret => 3,
        _ => 1,
    }
}

/// Network rounds of one run of `program` under rep3: each batch takes as many
/// rounds as its longest operation.
pub fn rounds(program: &crate::bytecode::Program) -> u64 {
    let mut total = 0u64;
    crate::bytecode::for_each_weighted(program, |pc, i, times| {
        if let crate::bytecode::Instr::Round { len } = i {
            let batch = &program.code[pc + 1..pc + 1 + *len as usize];
            let longest = batch
                .iter()
                .map(|b| instr_rounds(program, b))
                .max()
                .unwrap_or(0);
            total = total.saturating_add(longest.saturating_mul(times));
        }
    });
    total
}

impl Backend for Rep3 {
    type Share = Share;

    fn name(&self) -> &'static str {
        "rep3"
    }
    fn threat_model(&self) -> &'static str {
        "passive adversary, honest majority (1 of 3 parties corrupted): replicated secret sharing"
    }

    fn classify(&mut self, t: &RingTensor) -> Share {
        // x0 = t, x1 = x2 = 0.
        let zero = RingTensor::zeros(&t.shape);
        match self.me {
            0 => Share {
                a: t.clone(),
                b: zero,
            },
            1 => Share {
                a: zero.clone(),
                b: zero,
            },
            _ => Share {
                a: zero,
                b: t.clone(),
            },
        }
    }

    fn linear(&mut self, args: &[&Share], f: &dyn Fn(&[&RingTensor]) -> RingTensor) -> Share {
        let a: Vec<&RingTensor> = args.iter().map(|s| &s.a).collect();
        let b: Vec<&RingTensor> = args.iter().map(|s| &s.b).collect();
        Share { a: f(&a), b: f(&b) }
    }

    fn add_public(&mut self, s: &Share, p: &RingTensor, out_shape: &[usize]) -> Share {
        // The public value joins x0, held by parties 0 (first) and 2 (second).
        let zero = RingTensor::zeros(&[]);
        let (pa, pb) = match self.me {
            0 => (p, &zero),
            1 => (&zero, &zero),
            _ => (&zero, p),
        };
        Share {
            a: s.a.add(pa, out_shape),
            b: s.b.add(pb, out_shape),
        }
    }

    fn round(&mut self, ops: Vec<Interaction<'_, Share>>) -> Result<Vec<Outcome<Share>>, VmError> {
        let me = self.me;
        let mut out = Msgs::default();
        let mut tasks = Vec::with_capacity(ops.len());
        for op in ops {
            tasks.push(self.start(op, &mut out)?);
        }
        loop {
            let mut msgs = vec![Vec::new(); 3];
            msgs[prev(me)] = encode(&out.to_prev);
            msgs[next(me)] = encode(&out.to_next);
            let got = self.net.exchange(msgs).map_err(VmError::Network)?;
            let (from_prev, from_next) = (decode(&got[prev(me)]), decode(&got[next(me)]));
            let mut inbox = Inbox {
                from_prev: &from_prev,
                from_next: &from_next,
                me,
            };
            out = Msgs::default();
            let mut advanced = Vec::with_capacity(tasks.len());
            for t in tasks {
                advanced.push(match t {
                    Task::Done(o) => Task::Done(o),
                    t => self.advance(t, &mut inbox, &mut out)?,
                });
            }
            tasks = advanced;
            if !inbox.from_prev.is_empty() || !inbox.from_next.is_empty() {
                return Err(VmError::Network(
                    "a peer sent more than the round needs: a protocol violation or a bug".into(),
                ));
            }
            if tasks.iter().all(|t| matches!(t, Task::Done(_))) {
                break;
            }
        }
        Ok(tasks
            .into_iter()
            .map(|t| {
                if let Task::Done(o) = t {
                    o
                } else {
                    unreachable!("all tasks are done")
                }
            })
            .collect())
    }

    fn receives(&self, to: PartySet) -> bool {
        to.contains(self.me)
    }

    fn figures(&self) -> CommFigures {
        let f = self.net.figures();
        CommFigures {
            rounds: f.rounds - self.setup.rounds,
            bytes_sent: f.bytes_sent - self.setup.bytes_sent,
            bytes_received: f.bytes_received - self.setup.bytes_received,
        }
    }
}

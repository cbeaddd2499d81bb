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
//! - Input of party p: shares p and p+1 come from the keys p shares with its
//!   neighbours; p sends the third share to both: two elements per input element.
//! - Opening to all: each party sends its first share to the next; to one
//!   party p: party p-1 sends it its first share.

use super::prf::Prf;
use super::*;
use crate::net::Network;
use rand::TryRngCore;

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
    &[Input, Mul, MatMul, Conv2d, Open, Output]
};

/// Bytes each party sends in one run of `program` (the cost model that
/// `mpcc --stats` prints and the tests hold to the measured figures).
pub fn bytes_sent(program: &crate::bytecode::Program) -> [u64; 3] {
    use crate::bytecode::Instr;
    let mut sent = [0u64; 3];
    let reg = |r: &u32| &program.registers[*r as usize];
    crate::bytecode::for_each_weighted(program, |i, times| {
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

/// One operation of a round batch, between preparing and finishing.
enum Task {
    /// Shares of an input: those known locally, and whether the third arrives from prev or next.
    Input {
        shape: Vec<usize>,
        local: Option<(Vec<u64>, Vec<u64>)>,
        from_prev: Option<Vec<u64>>,
        from_next: Option<Vec<u64>>,
    },
    /// A product: this party's new first share; the second arrives from next.
    Product { shape: Vec<usize>, z: Vec<u64> },
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
        let mut key = [0u8; 16];
        rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|e| {
            VmError::Usage(format!(
                "the operating system's random generator failed: {e}"
            ))
        })?;
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
            setup,
        })
    }

    fn zero_share(&mut self, n: usize) -> Vec<u64> {
        let a = self.own.elements(n);
        sub(&a, &self.next.elements(n))
    }

    /// Prepares one operation: what it sends to (prev, next), and its task.
    fn prepare(
        &mut self,
        op: Interaction<'_, Share>,
    ) -> Result<(Vec<u64>, Vec<u64>, Task), VmError> {
        let me = self.me;
        Ok(match op {
            Interaction::Input { party, ty, data } => {
                let n = ty.len();
                let shape = ty.shape.clone();
                if party == me {
                    let x = data.ok_or_else(|| {
                        VmError::Input(format!(
                            "party {me} has no value for its input of type {ty}"
                        ))
                    })?;
                    let first = self.own.elements(n);
                    let second = self.next.elements(n);
                    let third = sub(&sub(&x.data, &first), &second);
                    (
                        third.clone(),
                        third,
                        Task::Input {
                            shape,
                            local: Some((first, second)),
                            from_prev: None,
                            from_next: None,
                        },
                    )
                } else if party == prev(me) {
                    // The owner's second share is our first (our own key); the third arrives from prev.
                    let first = self.own.elements(n);
                    (
                        vec![],
                        vec![],
                        Task::Input {
                            shape,
                            local: None,
                            from_prev: Some(first),
                            from_next: None,
                        },
                    )
                } else if party < 3 {
                    // The owner's first share is our second (next's key); the third arrives from next.
                    let second = self.next.elements(n);
                    (
                        vec![],
                        vec![],
                        Task::Input {
                            shape,
                            local: None,
                            from_prev: None,
                            from_next: Some(second),
                        },
                    )
                } else {
                    return Err(VmError::Usage(format!(
                        "input of party {party}, but rep3 has parties 0, 1 and 2"
                    )));
                }
            }
            Interaction::Mul {
                a, b, out_shape, ..
            } => {
                let z =
                    a.a.mul(&b.a, out_shape)
                        .add(&a.a.mul(&b.b, out_shape), out_shape)
                        .add(&a.b.mul(&b.a, out_shape), out_shape);
                self.product(z)
            }
            Interaction::MatMul { a, b, .. } => {
                let sum_b = b.a.add(&b.b, &b.a.shape);
                let z = a.a.matmul(&sum_b);
                let shape = z.shape.clone();
                self.product(z.add(&a.b.matmul(&b.a), &shape))
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
                self.product(z.add(&x.b.conv2d(&w.a, stride, padding, depthwise), &shape))
            }
            Interaction::Open { a } => {
                let partial = add(&a.a.data, &a.b.data);
                (
                    vec![],
                    a.a.data.clone(),
                    Task::Open {
                        shape: a.a.shape.clone(),
                        partial,
                    },
                )
            }
            Interaction::Output { a, to } => {
                let to_next = if to.contains(next(me)) {
                    a.a.data.clone()
                } else {
                    vec![]
                };
                let partial = to.contains(me).then(|| add(&a.a.data, &a.b.data));
                (
                    vec![],
                    to_next,
                    Task::Output {
                        shape: a.a.shape.clone(),
                        partial,
                    },
                )
            }
            other => {
                return Err(VmError::Usage(format!(
                    "rep3 does not support {} in this version",
                    interaction_name(&other)
                )))
            }
        })
    }

    fn product(&mut self, z: RingTensor) -> (Vec<u64>, Vec<u64>, Task) {
        let alpha = self.zero_share(z.len());
        let z_i = add(&z.data, &alpha);
        (
            z_i.clone(),
            vec![],
            Task::Product {
                shape: z.shape,
                z: z_i,
            },
        )
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

/// Takes `n` elements from the front of a peer's message.
fn take(msg: &mut &[u64], n: usize, peer: usize) -> Result<Vec<u64>, VmError> {
    if msg.len() < n {
        return Err(VmError::Network(format!(
            "party {peer} sent a short message: a protocol violation or a bug"
        )));
    }
    let (head, rest) = msg.split_at(n);
    *msg = rest;
    Ok(head.to_vec())
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
        let mut to_prev = Vec::new();
        let mut to_next = Vec::new();
        let mut tasks = Vec::with_capacity(ops.len());
        for op in ops {
            let (p, n, task) = self.prepare(op)?;
            to_prev.extend(p);
            to_next.extend(n);
            tasks.push(task);
        }
        let me = self.me;
        let mut out = vec![Vec::new(); 3];
        out[prev(me)] = encode(&to_prev);
        out[next(me)] = encode(&to_next);
        let got = self.net.exchange(out).map_err(VmError::Network)?;
        let (from_prev, from_next) = (decode(&got[prev(me)]), decode(&got[next(me)]));
        let (mut fp, mut fnx) = (from_prev.as_slice(), from_next.as_slice());
        let mut outcomes = Vec::with_capacity(tasks.len());
        for task in tasks {
            outcomes.push(match task {
                Task::Input {
                    shape,
                    local,
                    from_prev,
                    from_next,
                } => {
                    let n: usize = shape.iter().product();
                    let (a, b) = match (local, from_prev, from_next) {
                        (Some((a, b)), _, _) => (a, b),
                        (None, Some(a), _) => (a, take(&mut fp, n, prev(me))?),
                        (None, None, Some(b)) => (take(&mut fnx, n, next(me))?, b),
                        _ => unreachable!("an input task knows where its shares come from"),
                    };
                    Outcome::Secret(Share {
                        a: RingTensor::new(shape.clone(), a),
                        b: RingTensor::new(shape, b),
                    })
                }
                Task::Product { shape, z } => {
                    let z_next = take(&mut fnx, z.len(), next(me))?;
                    Outcome::Secret(Share {
                        a: RingTensor::new(shape.clone(), z),
                        b: RingTensor::new(shape, z_next),
                    })
                }
                Task::Open { shape, partial } => {
                    let missing = take(&mut fp, partial.len(), prev(me))?;
                    Outcome::Public(RingTensor::new(shape, add(&partial, &missing)))
                }
                Task::Output { shape, partial } => match partial {
                    Some(p) => {
                        let missing = take(&mut fp, p.len(), prev(me))?;
                        Outcome::Revealed(Some(RingTensor::new(shape, add(&p, &missing))))
                    }
                    None => Outcome::Revealed(None),
                },
            });
        }
        if !fp.is_empty() || !fnx.is_empty() {
            return Err(VmError::Network(
                "a peer sent more than the round needs: a protocol violation or a bug".into(),
            ));
        }
        Ok(outcomes)
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

//! `rep3`: three parties, passive security with an honest majority, by
//! replicated secret sharing over Z_2^64 (Araki et al., CCS 2016; ABY3).
//!
//! A secret x = x0 + x1 + x2; party i holds (x_i, x_{i+1}) (indices mod 3), so
//! any two parties can reconstruct and any one sees only random values. Bits of
//! the comparison circuits are shared the same way with XOR, 64 lanes to a word.
//!
//! Correlated randomness: at setup each party draws an AES key K_i and sends it
//! to party i-1, so party i holds K_i and K_{i+1}. AES-128 in counter mode
//! under a key gives both its holders the same stream ([`Prf`]). Every draw
//! happens while preparing a round's messages, in operation order, so the two
//! holders of a key always draw the same elements for the same purpose.
//!
//! - Products (elementwise, matrix, convolution; AND of words): party i computes
//!   the cross terms x_i y_i + x_i y_{i+1} + x_{i+1} y_i plus a zero-sharing
//!   F(K_i) - F(K_{i+1}) (XOR for words), and sends that one element per output
//!   to party i-1: one round, one element per output element per party.
//! - A value known to party p (an input, or a helper value of a protocol) is
//!   dealt: share p comes from the key p shares with party p-1, share p+2 (held
//!   by the other two) is zero, and p sends share p+1 to party p+1: one element
//!   per value, and each other party sees one share uniform to it and a zero.
//! - Opening to all: each party sends its first share to the next; to one
//!   party p: party p-1 sends it its first share.
//! - Truncation: see [`trunc`]; comparisons and what builds on them: [`compare`].
//!
//! Each operation of a round batch is a small state machine ([`Task`]); they
//! advance in lockstep, each adding its part to the one message per peer per
//! round. Composite operations chain tasks ([`Task::Then`]) or run several side
//! by side ([`Task::All`]).

mod compare;
mod cost;
mod trunc;

pub use cost::{by_location, bytes_sent, largest_message, rounds};

use super::compose;
use super::prf::Prf;
use super::*;
use crate::net::{Network, Part};
use rand::{SeedableRng, TryRngCore};
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;

/// This party's pair of arithmetic shares.
#[derive(Clone, Debug)]
pub struct Share {
    /// x_i
    pub a: RingTensor,
    /// x_{i+1}
    pub b: RingTensor,
}

impl Share {
    fn pair(shape: &[usize], (a, b): (Vec<u64>, Vec<u64>)) -> Share {
        Share {
            a: RingTensor::new(shape.to_vec(), a),
            b: RingTensor::new(shape.to_vec(), b),
        }
    }
    fn map(&self, f: impl Fn(&RingTensor) -> RingTensor) -> Share {
        Share {
            a: f(&self.a),
            b: f(&self.b),
        }
    }
    fn zip(&self, o: &Share, f: impl Fn(&RingTensor, &RingTensor) -> RingTensor) -> Share {
        Share {
            a: f(&self.a, &o.a),
            b: f(&self.b, &o.b),
        }
    }
    fn add(&self, o: &Share) -> Share {
        self.zip(o, |x, y| x.add(y, &x.shape))
    }
    fn sub(&self, o: &Share) -> Share {
        self.zip(o, |x, y| x.sub(y, &x.shape))
    }
}

/// This party's pair of XOR shares of 64-bit words.
#[derive(Clone, Debug)]
pub(in crate::backend) struct Words {
    a: Vec<u64>,
    b: Vec<u64>,
}

/// What a finished task yields.
pub(in crate::backend) enum Val {
    Arith(Share),
    Words(Words),
    Public(RingTensor),
    Revealed(Option<RingTensor>),
    Many(Vec<Val>),
}

impl Val {
    fn arith(self) -> Share {
        match self {
            Val::Arith(s) => s,
            _ => unreachable!("an arithmetic sharing was expected"),
        }
    }
    fn words(self) -> Words {
        match self {
            Val::Words(w) => w,
            _ => unreachable!("a boolean sharing was expected"),
        }
    }
    fn many(self) -> Vec<Val> {
        match self {
            Val::Many(v) => v,
            _ => unreachable!("several values were expected"),
        }
    }
}

/// What a task does once the task before it has finished.
type Continuation = Box<dyn FnOnce(&mut Rep3, Val, &mut Msgs) -> Result<Task, VmError>>;

/// One operation (or part of one) between rounds.
pub(in crate::backend) enum Task {
    /// A dealt value: its shares complete when the round's messages arrive.
    Dealt {
        shape: Vec<usize>,
        dealt: Dealt,
        words: bool,
    },
    /// A product: this party's new first share (also on its way to prev); the
    /// second arrives from next.
    Product {
        shape: Vec<usize>,
        z: Part,
        words: bool,
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
    Trunc(Box<trunc::Trunc>),
    Then(Box<Task>, Continuation),
    All(Vec<Task>),
    Done(Val),
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

fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_sub(*y)).collect()
}

fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect()
}

/// Why rep3 cannot run a program needing `entry`, if it cannot. It runs every
/// primitive but the masks of mask reuse (a Beaver backend's); a truncation
/// needs its value and the truncated part to fit the ring with one bit to spare
/// (see `trunc.rs`).
pub fn refuses(entry: &crate::bytecode::ManifestEntry) -> Option<String> {
    use crate::bytecode::Primitive::{TruncExact, TruncPr};
    if entry.primitive.needs_mask_reuse() {
        return Some(
            "masks for reuse (the program was compiled with --protocol semi2k; compile it for rep3)"
                .into(),
        );
    }
    match (entry.primitive, entry.params.as_slice()) {
        (TruncPr | TruncExact, &[amount, bits]) if bits.max(amount + 1) > 63 => Some(format!(
            "a truncation by {amount} of a {bits}-bit value (rep3 truncates values of at most 63 bits)"
        )),
        _ => None,
    }
}

/// A value being dealt by its owner: the shares known before the round (the
/// second perhaps also on its way to next), or the second share, with the
/// first still to arrive from the owner (prev).
pub(in crate::backend) enum Dealt {
    Known(Vec<u64>, Part),
    FromPrev(Vec<u64>),
}

impl Dealt {
    fn known(a: Vec<u64>, b: Vec<u64>) -> Dealt {
        Dealt::Known(a, Arc::new(b))
    }
}

/// A part this party sent, back in its hands once the round is over (the
/// network's writers have let go of it by then; a copy only if one has not).
fn reclaim(part: Part) -> Vec<u64> {
    Arc::try_unwrap(part).unwrap_or_else(|shared| shared.to_vec())
}

/// Messages of a round, as parts of 64-bit words sent without further copies.
#[derive(Default)]
pub(in crate::backend) struct Msgs {
    to_prev: Vec<Part>,
    to_next: Vec<Part>,
}

impl Msgs {
    fn prev(&mut self, v: &[u64]) {
        self.to_prev.push(Arc::new(v.to_vec()))
    }
    fn next(&mut self, v: &[u64]) {
        self.to_next.push(Arc::new(v.to_vec()))
    }
    /// Sends `v` to prev and keeps it, without a copy.
    fn prev_kept(&mut self, v: Vec<u64>) -> Part {
        let part = Arc::new(v);
        self.to_prev.push(part.clone());
        part
    }
    /// Sends `v` to next and keeps it, without a copy.
    fn next_kept(&mut self, v: Vec<u64>) -> Part {
        let part = Arc::new(v);
        self.to_next.push(part.clone());
        part
    }
    fn is_empty(&self) -> bool {
        self.to_prev.is_empty() && self.to_next.is_empty()
    }
}

/// A message received in a round, consumed operation by operation.
struct Incoming {
    words: Vec<u64>,
    at: usize,
    peer: usize,
}

impl Incoming {
    /// The next `n` words: the whole message itself when it is exactly that.
    fn take(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        if self.words.len() - self.at < n {
            return Err(VmError::Network(format!(
                "party {} sent a short message: a protocol violation or a bug",
                self.peer
            )));
        }
        if self.at == 0 && n == self.words.len() {
            return Ok(std::mem::take(&mut self.words));
        }
        self.at += n;
        Ok(self.words[self.at - n..self.at].to_vec())
    }
    fn is_consumed(&self) -> bool {
        self.at == self.words.len()
    }
}

/// Incoming messages of a round.
struct Inbox {
    from_prev: Incoming,
    from_next: Incoming,
}

impl Inbox {
    fn prev(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        self.from_prev.take(n)
    }
    fn next(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        self.from_next.take(n)
    }
    fn dealt(&mut self, d: Dealt) -> Result<(Vec<u64>, Vec<u64>), VmError> {
        Ok(match d {
            Dealt::Known(a, b) => (a, reclaim(b)),
            Dealt::FromPrev(b) => (self.prev(b.len())?, b),
        })
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
        out[prev(me)] = vec![Arc::new(bytemuck::cast_slice::<u8, u64>(&key).to_vec())];
        let got = net.exchange(out).map_err(VmError::Network)?;
        let next_key: [u8; 16] = bytemuck::cast_slice::<u64, u8>(&got[next(me)])
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

    /// Deals `n` values known to `owner` (given at the owner only), as ring
    /// elements or (with `words`) as XOR-shared words. Share `owner` comes from
    /// the key the owner shares with its predecessor, share `owner + 2` (held by
    /// the two others) is zero, and share `owner + 1` completes the value and goes
    /// to the successor: one element per value. Each other party sees one share
    /// that is uniform to it and a zero. The owner's values become its second
    /// share in place.
    fn deal(
        &mut self,
        owner: usize,
        values: Option<Vec<u64>>,
        n: usize,
        words: bool,
        out: &mut Msgs,
    ) -> Dealt {
        let me = self.me;
        if owner == me {
            let mut second = values.expect("the owner knows the values");
            let first = self.own.elements(n);
            for (x, f) in second.iter_mut().zip(&first) {
                *x = if words { *x ^ f } else { x.wrapping_sub(*f) };
            }
            Dealt::Known(first, out.next_kept(second))
        } else if owner == prev(me) {
            // We hold (share owner + 1, share owner + 2 = 0); the first arrives from the owner.
            Dealt::FromPrev(vec![0; n])
        } else {
            // We hold (share owner + 2 = 0, share owner), the latter from the owner's key.
            Dealt::known(vec![0; n], self.next.elements(n))
        }
    }

    fn deal_task(
        &mut self,
        owner: usize,
        values: Option<Vec<u64>>,
        shape: &[usize],
        words: bool,
        out: &mut Msgs,
    ) -> Task {
        let dealt = self.deal(owner, values, shape.iter().product(), words, out);
        Task::Dealt {
            shape: shape.to_vec(),
            dealt,
            words,
        }
    }

    /// Starts a product whose local cross terms are `z` (ring elements or words).
    /// Its zero-sharing F(K_i) - F(K_{i+1}) (XOR for words) is added in place.
    fn product_task(
        &mut self,
        shape: &[usize],
        mut z: Vec<u64>,
        words: bool,
        out: &mut Msgs,
    ) -> Task {
        if words {
            self.own.xor_into(&mut z);
            self.next.xor_into(&mut z);
        } else {
            self.own.add_into(&mut z);
            self.next.sub_from(&mut z);
        }
        Task::Product {
            shape: shape.to_vec(),
            z: out.prev_kept(z),
            words,
        }
    }

    /// `x * y` elementwise (same shapes): the cross terms x_i (y_i + y_{i+1}) + x_{i+1} y_i
    /// in one pass.
    fn mul(&mut self, x: &Share, y: &Share, out: &mut Msgs) -> Task {
        let (xa, xb, ya, yb) = (&x.a.data, &x.b.data, &y.a.data, &y.b.data);
        let z: Vec<u64> = (0..xa.len())
            .map(|i| {
                xa[i]
                    .wrapping_mul(ya[i].wrapping_add(yb[i]))
                    .wrapping_add(xb[i].wrapping_mul(ya[i]))
            })
            .collect();
        self.product_task(&x.a.shape, z, false, out)
    }

    /// `x & y` on words.
    fn and(&mut self, x: &Words, y: &Words, out: &mut Msgs) -> Task {
        let z: Vec<u64> = (0..x.a.len())
            .map(|i| (x.a[i] & y.a[i]) ^ (x.a[i] & y.b[i]) ^ (x.b[i] & y.a[i]))
            .collect();
        self.product_task(&[z.len()], z, true, out)
    }

    /// A public value as shares (x0 = t).
    fn constant(&self, t: &RingTensor) -> Share {
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

    /// Prepares one operation and its first round's messages.
    fn start(&mut self, op: Interaction<'_, Share>, out: &mut Msgs) -> Result<Task, VmError> {
        let me = self.me;
        Ok(match op {
            Interaction::Input { party, ty, data } => {
                let values = input_values("rep3", 3, me, party, ty, data)?;
                self.deal_task(party, values, &ty.shape, false, out)
            }
            Interaction::Product(Product::Mul { a, b, .. }) if a.a.shape == b.a.shape => {
                self.mul(a, b, out)
            }
            Interaction::Product(Product::Mul { a, b, out_shape }) => {
                // Broadcasting: x_i (y_i + y_{i+1}) + x_{i+1} y_i.
                let z =
                    a.a.mul(&b.a.add(&b.b, &b.a.shape), out_shape)
                        .add(&a.b.mul(&b.a, out_shape), out_shape);
                self.product_task(out_shape, z.data, false, out)
            }
            Interaction::Product(Product::MatMul { a, b }) => {
                let sum_b = b.a.add(&b.b, &b.a.shape);
                let z = a.a.matmul(&sum_b);
                let shape = z.shape.clone();
                let z = z.add(&a.b.matmul(&b.a), &shape);
                self.product_task(&shape, z.data, false, out)
            }
            Interaction::Product(Product::Conv2d {
                x,
                w,
                stride,
                padding,
                depthwise,
            }) => {
                let sum_w = w.a.add(&w.b, &w.a.shape);
                let z = x.a.conv2d(&sum_w, stride, padding, depthwise);
                let shape = z.shape.clone();
                let z = z.add(&x.b.conv2d(&w.a, stride, padding, depthwise), &shape);
                self.product_task(&shape, z.data, false, out)
            }
            // Programs compiled for mask reuse are refused before they run (`refuses`).
            Interaction::Mask { a } => Task::Done(Val::Arith(a.clone())),
            Interaction::Open { a } => {
                out.next(&a.a.data);
                Task::Open {
                    shape: a.a.shape.clone(),
                    partial: add(&a.a.data, &a.b.data),
                }
            }
            Interaction::Output { a, to } => {
                if to.contains(next(me)) {
                    out.next(&a.a.data);
                }
                Task::Output {
                    shape: a.a.shape.clone(),
                    partial: to.contains(me).then(|| add(&a.a.data, &a.b.data)),
                }
            }
            Interaction::Trunc {
                a,
                amount,
                exact,
                bits,
            } => self.trunc(a, amount, exact, bits, out)?,
            Interaction::LtZ { a, bits } => self.ltz(a, bits as u32, out),
            Interaction::EqZ { a, bits } => compose::eqz(self, &(), a, bits as u32, out)?,
            Interaction::Relu { a, bits } => compose::relu(self, &(), a, bits as u32, out)?,
            Interaction::Max { a, axis, bits } => {
                compose::max(self, &(), a, &a.a.shape, axis, bits as u32, false, out)?
            }
            Interaction::Argmax { a, axis, bits } => {
                compose::max(self, &(), a, &a.a.shape, Some(axis), bits as u32, true, out)?
            }
            Interaction::MaxPool {
                x,
                window,
                stride,
                padding,
                bits,
            } => compose::max_pool(
                self,
                &(),
                x,
                &x.a.shape,
                window,
                stride,
                padding,
                bits as u32,
                out,
            )?,
        })
    }

    /// Consumes a round's messages for one task; returns it for the next round
    /// (with that round's messages added to `out`), or finished.
    fn advance(&mut self, task: Task, inbox: &mut Inbox, out: &mut Msgs) -> Result<Task, VmError> {
        let task = match task {
            Task::Dealt {
                shape,
                dealt,
                words,
            } => {
                let (a, b) = inbox.dealt(dealt)?;
                Task::Done(if words {
                    Val::Words(Words { a, b })
                } else {
                    Val::Arith(Share::pair(&shape, (a, b)))
                })
            }
            Task::Product { shape, z, words } => {
                let z_next = inbox.next(z.len())?;
                let z = reclaim(z);
                Task::Done(if words {
                    Val::Words(Words { a: z, b: z_next })
                } else {
                    Val::Arith(Share::pair(&shape, (z, z_next)))
                })
            }
            Task::Open { shape, partial } => {
                let missing = inbox.prev(partial.len())?;
                Task::Done(Val::Public(RingTensor::new(shape, add(&partial, &missing))))
            }
            Task::Output { shape, partial } => Task::Done(Val::Revealed(match partial {
                Some(p) => {
                    let missing = inbox.prev(p.len())?;
                    Some(RingTensor::new(shape, add(&p, &missing)))
                }
                None => None,
            })),
            Task::Trunc(t) => self.trunc_advance(*t, inbox, out)?,
            Task::Then(first, then) => {
                Task::Then(Box::new(self.advance(*first, inbox, out)?), then)
            }
            Task::All(tasks) => {
                let mut next = Vec::with_capacity(tasks.len());
                for t in tasks {
                    next.push(match t {
                        Task::Done(v) => Task::Done(v),
                        t => self.advance(t, inbox, out)?,
                    });
                }
                Task::All(next)
            }
            Task::Done(_) => unreachable!("finished tasks are not advanced"),
        };
        self.settle(task, out)
    }

    /// Runs continuations whose first task has finished, and collects finished groups.
    fn settle(&mut self, task: Task, out: &mut Msgs) -> Result<Task, VmError> {
        match task {
            Task::Then(first, then) => match *first {
                Task::Done(v) => {
                    let next = then(self, v, out)?;
                    self.settle(next, out)
                }
                first => Ok(Task::Then(Box::new(first), then)),
            },
            Task::All(tasks) if tasks.iter().all(|t| matches!(t, Task::Done(_))) => {
                Ok(Task::Done(Val::Many(
                    tasks
                        .into_iter()
                        .map(|t| {
                            if let Task::Done(v) = t {
                                v
                            } else {
                                unreachable!()
                            }
                        })
                        .collect(),
                )))
            }
            other => Ok(other),
        }
    }
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
        self.constant(t)
    }

    fn linear(&mut self, args: &[&Share], f: &dyn LinearMap) -> Share {
        let a: Vec<&RingTensor> = args.iter().map(|s| &s.a).collect();
        let b: Vec<&RingTensor> = args.iter().map(|s| &s.b).collect();
        Share {
            a: f.apply(&a),
            b: f.apply(&b),
        }
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
            let t = self.start(op, &mut out)?;
            tasks.push(self.settle(t, &mut out)?);
        }
        while !tasks.iter().all(|t| matches!(t, Task::Done(_))) {
            let mut msgs = vec![Vec::new(); 3];
            let sent = std::mem::take(&mut out);
            msgs[prev(me)] = sent.to_prev;
            msgs[next(me)] = sent.to_next;
            let mut got = self.net.exchange(msgs).map_err(VmError::Network)?;
            let mut inbox = Inbox {
                from_prev: Incoming {
                    words: std::mem::take(&mut got[prev(me)]),
                    at: 0,
                    peer: prev(me),
                },
                from_next: Incoming {
                    words: std::mem::take(&mut got[next(me)]),
                    at: 0,
                    peer: next(me),
                },
            };
            let mut advanced = Vec::with_capacity(tasks.len());
            for t in tasks {
                advanced.push(match t {
                    Task::Done(v) => Task::Done(v),
                    t => self.advance(t, &mut inbox, &mut out)?,
                });
            }
            tasks = advanced;
            if !inbox.from_prev.is_consumed() || !inbox.from_next.is_consumed() {
                return Err(VmError::Network(
                    "a peer sent more than the round needs: a protocol violation or a bug".into(),
                ));
            }
        }
        if !out.is_empty() {
            unreachable!("finished operations send nothing");
        }
        Ok(tasks
            .into_iter()
            .map(|t| match t {
                Task::Done(Val::Arith(s)) => Outcome::Secret(s),
                Task::Done(Val::Public(p)) => Outcome::Public(p),
                Task::Done(Val::Revealed(r)) => Outcome::Revealed(r),
                _ => unreachable!("every operation yields a sharing, a public value or an output"),
            })
            .collect())
    }

    fn masked_product(&mut self, _: Product<'_, Share>) -> Result<Share, VmError> {
        Err(VmError::Usage(
            "rep3 multiplies in rounds: this program was compiled for mask reuse (semi2k)".into(),
        ))
    }

    fn receives(&self, to: PartySet) -> bool {
        to.contains(self.me)
    }

    fn share_words(&self, s: &Share) -> Vec<Vec<u64>> {
        vec![s.a.data.clone(), s.b.data.clone()]
    }

    fn share_from_words(
        &mut self,
        shape: &[usize],
        words: Vec<Vec<u64>>,
    ) -> Result<Share, VmError> {
        match <[Vec<u64>; 2]>::try_from(words) {
            Ok([a, b]) => Ok(Share::pair(shape, (a, b))),
            Err(w) => Err(VmError::Input(format!(
                "a rep3 share has two components, not {}",
                w.len()
            ))),
        }
    }

    fn figures(&self) -> CommFigures {
        self.net.figures().since(self.setup)
    }
}

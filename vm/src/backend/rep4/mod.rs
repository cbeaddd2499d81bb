//! `rep4`: four parties, security with abort against one actively corrupted
//! party (honest majority), by replicated secret sharing over Z_2^64 (Dalskov,
//! Escudero and Keller, "Fantastic Four", USENIX Security 2021).
//!
//! A secret x = x0 + x1 + x2 + x3; party i holds every share but x_i (slot j
//! of its share is x_(i+1+j)), so any two parties hold them all and share k is
//! held by the three parties other than k. Those three share a PRF key K_k
//! (set up by the first of them), which draws share k's random parts.
//!
//! Everything a party learns from another goes through *joint message
//! passing*: a value two parties both know is sent by them, half each, and
//! each half is vouched for by the other knower, who feeds it into a running
//! hash for the receiver; the receiver hashes what it got the same way. Before anything is revealed (an opening or
//! an output) and at the end of the run, every party sends each peer the
//! digest of what it vouched for, and each compares it with its own: a party
//! that sent a wrong value, or vouched falsely, makes the honest parties stop
//! before any output ("cheating detected"), never after.
//!
//! - Inputs: the owner o's share is zero; shares o+2 and o+3 are drawn from
//!   their keys (the owner holds both); the owner sends share o+1, the rest,
//!   to its two other holders, o+2 vouching for what o+3 got.
//! - Products (elementwise, matrix, convolution): of the terms f(x_a, y_b),
//!   f(x_a, y_a) goes into share a (its three holders compute it); for each
//!   pair {a, b} the two other parties both know t = f(x_a, y_b) + f(x_b, y_a)
//!   and share it jointly: a random r from K_g into share g (g one of a, b), t
//!   - r into share h (the other) held by g, which the two knowers send, half
//!   each ([`PAIRS`]). One round; six elements per output element in all, 1.5
//!   from each party.
//! - Openings: party p gets x_p from party p+1, vouched for by party p+2.
//! - Truncation, probabilistic and exact: see [`trunc`].
//! - Comparisons (and ReLU, equality, max, argmax, max pooling): see
//!   [`compare`]; AND gates are products over bits, by the same joint message
//!   passing.
//!
//! Each operation of a round batch is a small state machine ([`Task`]); they
//! advance in lockstep, each adding its part to the one message per peer per
//! round. Composite operations chain tasks or run several side by side.

mod compare;
mod cost;
mod trunc;

pub use cost::{by_location, bytes_sent, largest_message, rounds};

use super::compose;
use super::prf::Prf;
use super::*;
use crate::net::{Network, Part};
use std::sync::Arc;

pub const PARTIES: usize = 4;

/// This party's three shares: slot j holds x_(me+1+j).
#[derive(Clone, Debug)]
pub struct Share {
    pub s: [RingTensor; 3],
}

impl Share {
    fn map(&self, f: impl Fn(&RingTensor) -> RingTensor) -> Share {
        Share {
            s: [0, 1, 2].map(|j| f(&self.s[j])),
        }
    }
    fn zip(&self, o: &Share, f: impl Fn(&RingTensor, &RingTensor) -> RingTensor) -> Share {
        Share {
            s: [0, 1, 2].map(|j| f(&self.s[j], &o.s[j])),
        }
    }
    fn sub(&self, o: &Share) -> Share {
        self.zip(o, |x, y| x.sub(y, &x.shape))
    }
}

/// The share index slot `j` of party `me` holds.
fn index(me: usize, j: usize) -> usize {
    (me + 1 + j) % PARTIES
}

/// The slot of share `k` at party `me` (`k != me`).
fn slot(me: usize, k: usize) -> usize {
    debug_assert_ne!(me, k);
    (k + PARTIES - me - 1) % PARTIES
}

/// How the cross terms of a product are shared: for the pair of shares
/// {a, b}, the two other parties (`sender`, `checker`) know t; share `g` gets
/// a random r from K_g, share `h` gets t - r, which they send to `g` (the one
/// party holding share h that does not know t): `sender` the first half,
/// `checker` the second, each vouching for the other's half.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pair {
    pub a: usize,
    pub b: usize,
    pub sender: usize,
    pub checker: usize,
    pub g: usize,
    pub h: usize,
}

pub(crate) const PAIRS: [Pair; 6] = [
    Pair {
        a: 0,
        b: 1,
        sender: 2,
        checker: 3,
        g: 0,
        h: 1,
    },
    Pair {
        a: 0,
        b: 2,
        sender: 3,
        checker: 1,
        g: 2,
        h: 0,
    },
    Pair {
        a: 0,
        b: 3,
        sender: 1,
        checker: 2,
        g: 3,
        h: 0,
    },
    Pair {
        a: 1,
        b: 2,
        sender: 0,
        checker: 3,
        g: 1,
        h: 2,
    },
    Pair {
        a: 1,
        b: 3,
        sender: 0,
        checker: 2,
        g: 1,
        h: 3,
    },
    Pair {
        a: 2,
        b: 3,
        sender: 1,
        checker: 0,
        g: 2,
        h: 3,
    },
];

impl Pair {
    fn jmp(&self) -> Jmp {
        Jmp {
            sender: self.sender,
            checker: self.checker,
            g: self.g,
            h: self.h,
        }
    }
}

/// A value that two parties know (`sender`, `checker`), shared jointly: a
/// random r from K_g into share g and the rest into share h, which they send
/// to g (the one holder of share h that does not know the value), `sender`
/// the first half and `checker` the second, each vouching for the other's.
/// Here g and h are the two other parties.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jmp {
    pub sender: usize,
    pub checker: usize,
    pub g: usize,
    pub h: usize,
}

/// Values known to a pair of parties, shared jointly: by {0, 1} or by
/// {2, 3} (which of the two sends the first half, and which share takes r).
pub(crate) const BY_01: Jmp = Jmp {
    sender: 0,
    checker: 1,
    g: 2,
    h: 3,
};
pub(crate) const BY_10: Jmp = Jmp {
    sender: 1,
    checker: 0,
    g: 3,
    h: 2,
};
pub(crate) const BY_23: Jmp = Jmp {
    sender: 2,
    checker: 3,
    g: 0,
    h: 1,
};
pub(crate) const BY_32: Jmp = Jmp {
    sender: 3,
    checker: 2,
    g: 1,
    h: 0,
};

/// The parties an opening of share `p` to party `p` involves: the one that
/// sends it and the one that vouches for it.
pub(crate) fn opener(p: usize) -> (usize, usize) {
    ((p + 1) % PARTIES, (p + 2) % PARTIES)
}

/// An input's share sent by its owner `o` (the one neither drawn nor zero),
/// and its two receivers, the first vouching for the second.
pub(crate) fn input_parties(o: usize) -> (usize, usize, usize) {
    ((o + 1) % PARTIES, (o + 2) % PARTIES, (o + 3) % PARTIES)
}

/// Words of a digest (blake3's 32 bytes).
pub(crate) const DIGEST_WORDS: usize = 4;

/// Why rep4 cannot run a program needing `entry`, if it cannot: it runs
/// every primitive but the masks of mask reuse (a Beaver backend's); a
/// truncation needs its value and the truncated part to fit the ring with one
/// bit to spare (see `trunc.rs`).
pub fn refuses(entry: &crate::bytecode::ManifestEntry) -> Option<String> {
    use crate::bytecode::Primitive::*;
    match entry.primitive {
        p if p.needs_mask_reuse() => Some(
            "masks for reuse (the program was compiled with --protocol semi2k; compile it for rep4)"
                .into(),
        ),
        TruncPr | TruncExact => match entry.params[..] {
            [amount, bits] if bits.max(amount + 1) > 63 => Some(format!(
                "a truncation by {amount} of a {bits}-bit value (rep4 truncates values of at most 63 bits)"
            )),
            _ => None,
        },
        _ => None,
    }
}

/// What a finished task yields.
pub(in crate::backend) enum Val {
    Secret(Share),
    Public(RingTensor),
    Revealed(Option<RingTensor>),
    Many(Vec<Val>),
}

impl Val {
    fn secret(self) -> Share {
        match self {
            Val::Secret(s) => s,
            _ => unreachable!("a sharing was expected"),
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
type Continuation = Box<dyn FnOnce(&mut Rep4, Val, &mut Msgs) -> Result<Task, VmError>>;

/// The messages of the round being prepared, one list per peer.
type Msgs = [Vec<Part>];

/// How the parts of a sharing combine: arithmetic shares add in the ring;
/// boolean ones (bit planes, 64 to a word) XOR.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sum {
    Add,
    Xor,
}

impl Sum {
    /// into += from.
    fn into(self, into: &mut [u64], from: &[u64]) {
        match self {
            Sum::Add => add_into(into, from),
            Sum::Xor => into.iter_mut().zip(from).for_each(|(a, b)| *a ^= b),
        }
    }
    /// from -= what.
    fn remove(self, from: &mut [u64], what: &[u64]) {
        match self {
            Sum::Add => from
                .iter_mut()
                .zip(what)
                .for_each(|(a, b)| *a = a.wrapping_sub(*b)),
            Sum::Xor => from.iter_mut().zip(what).for_each(|(a, b)| *a ^= b),
        }
    }
}

/// A value to receive: it adds to elements `range` of slot `slot`; `from`
/// sends it and `checker` vouches for it (`usize::MAX` at an input's first
/// receiver, which vouches for the value to the second itself).
#[derive(Clone, Debug)]
pub(in crate::backend) struct Incoming {
    slot: usize,
    range: std::ops::Range<usize>,
    from: usize,
    checker: usize,
}

/// One operation (or part of one) between rounds. Composite operations chain
/// tasks ([`Task::Then`]) or run several side by side ([`Task::All`]).
pub(in crate::backend) enum Task {
    /// Products, inputs, jointly shared values: shares so far, and the
    /// values to receive.
    Shares {
        shape: Vec<usize>,
        s: [Vec<u64>; 3],
        receive: Vec<Incoming>,
        sum: Sum,
    },
    /// An opening: the sum of this party's shares; the missing one comes
    /// from `from`, vouched for by `checker`.
    Open {
        shape: Vec<usize>,
        partial: Vec<u64>,
        from: usize,
        checker: usize,
    },
    /// An output, at a party receiving it as [`Task::Open`], else nothing.
    Output {
        shape: Vec<usize>,
        open: Option<(Vec<u64>, usize, usize)>,
    },
    Then(Box<Task>, Continuation),
    All(Vec<Task>),
    Done(Val),
}

pub struct Rep4 {
    net: Network,
    me: usize,
    /// K_k for every share k this party holds (None at k = me).
    keys: [Option<Prf>; PARTIES],
    /// At parties 0 and 1, the key only they share (truncation's masks).
    pair_key: Option<Prf>,
    /// Per peer: the values this party vouched for to it, and the values
    /// it received that the peer vouches for.
    vouched: Vec<blake3::Hasher>,
    received: Vec<blake3::Hasher>,
    /// The last round whose digests were checked.
    checked: u64,
    setup: CommFigures,
}

fn hash_words(h: &mut blake3::Hasher, words: &[u64]) {
    h.update(bytemuck::cast_slice(words));
}

fn digest_words(h: &blake3::Hasher) -> Vec<u64> {
    bytemuck::cast_slice::<u8, u64>(h.finalize().as_bytes()).to_vec()
}

fn add_into(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a = a.wrapping_add(*b);
    }
}

impl Rep4 {
    /// Agrees on the keys: for each share k, the first of its three holders
    /// draws K_k and sends it to the other two (one round).
    pub fn setup(mut net: Network) -> Result<Rep4, VmError> {
        if net.parties() != PARTIES {
            return Err(VmError::Usage(format!(
                "rep4 needs exactly 4 parties, the hosts file lists {}",
                net.parties()
            )));
        }
        let me = net.party();
        let holders = |k: usize| (0..PARTIES).filter(move |&p| p != k);
        let mut drawn: [Option<[u8; 16]>; PARTIES] = [None; PARTIES];
        let mut out: Vec<Vec<Part>> = vec![Vec::new(); PARTIES];
        for k in (0..PARTIES).filter(|&k| k != me) {
            if holders(k).next() == Some(me) {
                let key = super::semi2k::fresh_key()?;
                for p in holders(k).filter(|&p| p != me) {
                    out[p].push(Arc::new(bytemuck::cast_slice::<u8, u64>(&key).to_vec()));
                }
                drawn[k] = Some(key);
            }
        }
        // The pair {0, 1}'s key, drawn by party 0, after the others.
        let mut pair_key = None;
        if me == 0 {
            let key = super::semi2k::fresh_key()?;
            out[1].push(Arc::new(bytemuck::cast_slice::<u8, u64>(&key).to_vec()));
            pair_key = Some(Prf::new(key));
        }
        let got = net.exchange(out).map_err(VmError::Network)?;
        let mut at = vec![0usize; PARTIES];
        let mut keys: [Option<Prf>; PARTIES] = [None, None, None, None];
        for k in (0..PARTIES).filter(|&k| k != me) {
            let first = holders(k).next().expect("three holders");
            let key = match drawn[k] {
                Some(key) => key,
                None => {
                    let words = got[first].get(at[first]..at[first] + 2).ok_or_else(|| {
                        VmError::Network(format!("party {first} sent a malformed key"))
                    })?;
                    at[first] += 2;
                    bytemuck::cast_slice::<u64, u8>(words)
                        .try_into()
                        .expect("16 bytes")
                }
            };
            keys[k] = Some(Prf::new(key));
        }
        if me == 1 {
            let words = got[0]
                .get(at[0]..at[0] + 2)
                .ok_or_else(|| VmError::Network("party 0 sent a malformed key".into()))?;
            at[0] += 2;
            pair_key = Some(Prf::new(
                bytemuck::cast_slice::<u64, u8>(words)
                    .try_into()
                    .expect("16 bytes"),
            ));
        }
        if (0..PARTIES).any(|p| at[p] != got[p].len()) {
            return Err(VmError::Network(
                "a peer sent more keys than rep4's set-up has: a protocol violation".into(),
            ));
        }
        let setup = net.figures();
        Ok(Rep4 {
            net,
            me,
            keys,
            pair_key,
            vouched: (0..PARTIES).map(|_| blake3::Hasher::new()).collect(),
            received: (0..PARTIES).map(|_| blake3::Hasher::new()).collect(),
            checked: setup.rounds,
            setup,
        })
    }

    /// K_k (this party holds share k).
    fn key(&mut self, k: usize) -> &mut Prf {
        self.keys[k].as_mut().expect("a key of a held share")
    }

    /// The next `n` elements of K_k.
    fn draw(&mut self, k: usize, n: usize) -> Vec<u64> {
        self.key(k).elements(n)
    }

    /// A public value as shares: it joins share 0.
    fn constant(&self, t: &RingTensor) -> Share {
        let zero = RingTensor::zeros(&t.shape);
        let mut s = [zero.clone(), zero.clone(), zero];
        if self.me != 0 {
            s[slot(self.me, 0)] = t.clone();
        }
        Share { s }
    }

    /// Sends `v` to `to` (joint message passing: the sender's half).
    fn send(&mut self, to: usize, v: Vec<u64>, out: &mut [Vec<Part>]) {
        out[to].push(Arc::new(v));
    }

    /// Vouches for `v` to `to` (the checker's half).
    fn vouch(&mut self, to: usize, v: &[u64]) {
        hash_words(&mut self.vouched[to], v);
    }

    /// Shares `owner`'s input (`values` at the owner only).
    fn input(
        &mut self,
        owner: usize,
        values: Option<Vec<u64>>,
        shape: &[usize],
        out: &mut [Vec<Part>],
    ) -> Task {
        let me = self.me;
        let n: usize = shape.iter().product();
        let (sent, first, second) = input_parties(owner);
        // Shares `first` and `second` from their keys (share `owner` is zero).
        let mut s = [0, 1, 2].map(|j| match index(me, j) {
            k if k == first || k == second => self.draw(k, n),
            _ => vec![0; n],
        });
        let mut receive = Vec::new();
        if me == owner {
            let mut rest = values.expect("the owner knows its values");
            for k in [first, second] {
                for (x, r) in rest.iter_mut().zip(&s[slot(me, k)]) {
                    *x = x.wrapping_sub(*r);
                }
            }
            s[slot(me, sent)] = rest.clone();
            let rest = Arc::new(rest);
            out[second].push(rest.clone());
            out[first].push(rest);
        } else if me == first {
            // Vouches for what `second` gets (hashed when it arrives).
            receive.push(Incoming {
                slot: slot(me, sent),
                range: 0..n,
                from: owner,
                checker: usize::MAX,
            });
        } else if me == second {
            receive.push(Incoming {
                slot: slot(me, sent),
                range: 0..n,
                from: owner,
                checker: first,
            });
        }
        Task::Shares {
            shape: shape.to_vec(),
            s,
            receive,
            sum: Sum::Add,
        }
    }

    /// Adds to `s` this party's shares of a value jointly shared by `jmp`'s
    /// two knowers (`value` there): a random r from K_g into share g, the
    /// rest into share h, sent to g; at g, notes what arrives in `receive`.
    /// The knowers split the sending: `jmp.sender` sends the first half of
    /// the elements and vouches for the rest, which `jmp.checker` sends, so
    /// each party sends its share of the traffic.
    fn share_jointly(
        &mut self,
        jmp: Jmp,
        sum: Sum,
        value: Option<Vec<u64>>,
        s: &mut [Vec<u64>; 3],
        receive: &mut Vec<Incoming>,
        out: &mut Msgs,
    ) {
        let me = self.me;
        let n = s[0].len();
        let half = n.div_ceil(2);
        if me == jmp.g {
            let slot = slot(me, jmp.h);
            for (range, from, checker) in [
                (0..half, jmp.sender, jmp.checker),
                (half..n, jmp.checker, jmp.sender),
            ] {
                receive.push(Incoming {
                    slot,
                    range,
                    from,
                    checker,
                });
            }
            return;
        }
        let knows = me == jmp.sender || me == jmp.checker;
        let mut rest = value.filter(|_| knows);
        debug_assert_eq!(rest.is_some(), knows, "the knowers know the value");
        let into_g = &mut s[slot(me, jmp.g)];
        let key = self.key(jmp.g);
        key.draw(into_g.len(), |at, r| {
            sum.into(&mut into_g[at..at + r.len()], r);
            if let Some(rest) = rest.as_mut() {
                sum.remove(&mut rest[at..at + r.len()], r);
            }
        });
        if let Some(mut rest) = rest {
            sum.into(&mut s[slot(me, jmp.h)], &rest);
            let second = rest.split_off(half);
            let (sent, vouched) = if me == jmp.sender {
                (rest, second)
            } else {
                (second, rest)
            };
            self.vouch(jmp.g, &vouched);
            self.send(jmp.g, sent, out);
        }
    }

    /// A value known to `jmp`'s two knowers (`value` there) shared jointly.
    fn share_value(
        &mut self,
        jmp: Jmp,
        shape: &[usize],
        sum: Sum,
        value: Option<Vec<u64>>,
        out: &mut Msgs,
    ) -> Task {
        let n = shape.iter().product();
        let mut s = [vec![0; n], vec![0; n], vec![0; n]];
        let mut receive = Vec::new();
        self.share_jointly(jmp, sum, value, &mut s, &mut receive, out);
        Task::Shares {
            shape: shape.to_vec(),
            s,
            receive,
            sum,
        }
    }

    /// Starts a product: the diagonal terms into their shares, each pair's
    /// cross term shared jointly. An elementwise product of equal shapes
    /// computes its cross terms x_a y_b + x_b y_a directly; the others as
    /// f(x_a + x_b, y_a + y_b) - f(x_a, y_a) - f(x_b, y_b), one matrix
    /// product or convolution instead of two.
    fn product(&mut self, p: &Product<'_, Share>, out: &mut Msgs) -> Task {
        let (x, y) = p.operands();
        if let Product::Mul { a, b, .. } = p {
            if a.s[0].shape == b.s[0].shape {
                let (x, y) = (&a.s, &b.s);
                let diagonal = [0, 1, 2].map(|j| {
                    x[j].data
                        .iter()
                        .zip(&y[j].data)
                        .map(|(a, b)| a.wrapping_mul(*b))
                        .collect()
                });
                let crosses = self.crosses(|ja, jb| {
                    let (xa, xb, ya, yb) = (&x[ja].data, &x[jb].data, &y[ja].data, &y[jb].data);
                    (0..xa.len())
                        .map(|e| {
                            xa[e]
                                .wrapping_mul(yb[e])
                                .wrapping_add(xb[e].wrapping_mul(ya[e]))
                        })
                        .collect()
                });
                return self.bilinear(a.s[0].shape.clone(), diagonal, crosses, Sum::Add, out);
            }
        }
        let diagonal: [RingTensor; 3] = [0, 1, 2].map(|j| p.of(&x.s[j], &y.s[j]));
        let crosses = self.crosses(|ja, jb| {
            let xs = x.s[ja].add(&x.s[jb], &x.s[ja].shape);
            let ys = y.s[ja].add(&y.s[jb], &y.s[ja].shape);
            let mut v = p.of(&xs, &ys).data;
            for (e, (da, db)) in v
                .iter_mut()
                .zip(diagonal[ja].data.iter().zip(&diagonal[jb].data))
            {
                *e = e.wrapping_sub(*da).wrapping_sub(*db);
            }
            v
        });
        let shape = diagonal[0].shape.clone();
        self.bilinear(shape, diagonal.map(|d| d.data), crosses, Sum::Add, out)
    }

    /// x & y of boolean sharings (words of bit planes).
    fn and(&mut self, x: &[Vec<u64>; 3], y: &[Vec<u64>; 3], out: &mut Msgs) -> Task {
        let diagonal = [0, 1, 2].map(|j| x[j].iter().zip(&y[j]).map(|(x, y)| x & y).collect());
        let crosses = self.crosses(|ja, jb| {
            (0..x[ja].len())
                .map(|e| (x[ja][e] & y[jb][e]) ^ (x[jb][e] & y[ja][e]))
                .collect()
        });
        self.bilinear(vec![x[0].len()], diagonal, crosses, Sum::Xor, out)
    }

    /// For each pair of [`PAIRS`] this party knows the cross term of (it is
    /// the pair's sender or checker), `cross(ja, jb)` of the slots of shares
    /// a and b.
    fn crosses(&self, cross: impl Fn(usize, usize) -> Vec<u64>) -> [Option<Vec<u64>>; 6] {
        let me = self.me;
        PAIRS.map(|pair| {
            (me == pair.sender || me == pair.checker)
                .then(|| cross(slot(me, pair.a), slot(me, pair.b)))
        })
    }

    /// A bilinear f of two sharings (a product, or AND of words), from the
    /// diagonal terms f(x_j, y_j) of this party's slots (f(x_a, y_a) goes
    /// into share a) and the cross terms f(x_a, y_b) + f(x_b, y_a) it knows,
    /// each shared jointly ([`PAIRS`]).
    fn bilinear(
        &mut self,
        shape: Vec<usize>,
        mut s: [Vec<u64>; 3],
        crosses: [Option<Vec<u64>>; 6],
        sum: Sum,
        out: &mut Msgs,
    ) -> Task {
        let mut receive = Vec::new();
        for (pair, cross) in PAIRS.iter().zip(crosses) {
            self.share_jointly(pair.jmp(), sum, cross, &mut s, &mut receive, out);
        }
        Task::Shares {
            shape,
            s,
            receive,
            sum,
        }
    }

    /// Starts revealing `a` to the parties `to`: party p gets share p.
    fn reveal(
        &mut self,
        a: &Share,
        to: impl Fn(usize) -> bool,
        out: &mut [Vec<Part>],
    ) -> Option<(Vec<u64>, usize, usize)> {
        let me = self.me;
        for p in (0..PARTIES).filter(|&p| p != me && to(p)) {
            let (sender, checker) = opener(p);
            let share = &a.s[slot(me, p)].data;
            if me == sender {
                self.send(p, share.clone(), out);
            } else if me == checker {
                self.vouch(p, share);
            }
        }
        to(me).then(|| {
            let mut partial = a.s[0].data.clone();
            add_into(&mut partial, &a.s[1].data);
            add_into(&mut partial, &a.s[2].data);
            let (sender, checker) = opener(me);
            (partial, sender, checker)
        })
    }

    /// Prepares one operation and its first round's messages.
    fn start(&mut self, op: Interaction<'_, Share>, out: &mut Msgs) -> Result<Task, VmError> {
        let me = self.me;
        Ok(match op {
            Interaction::Input { party, ty, data } => {
                let values = input_values("rep4", PARTIES, me, party, ty, data)?;
                self.input(party, values, &ty.shape, out)
            }
            Interaction::Product(p) => self.product(&p, out),
            Interaction::Open { a } => {
                let (partial, from, checker) = self.reveal(a, |_| true, out).expect("everyone");
                Task::Open {
                    shape: a.s[0].shape.clone(),
                    partial,
                    from,
                    checker,
                }
            }
            Interaction::Output { a, to } => Task::Output {
                shape: a.s[0].shape.clone(),
                open: self.reveal(a, |p| to.contains(p), out),
            },
            Interaction::Mask { .. } => {
                return Err(VmError::Usage(
                    "rep4 does not mask for reuse: this program was compiled for semi2k".into(),
                ))
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
                compose::max(self, &(), a, &a.s[0].shape, axis, bits as u32, false, out)?
            }
            Interaction::Argmax { a, axis, bits } => compose::max(
                self,
                &(),
                a,
                &a.s[0].shape,
                Some(axis),
                bits as u32,
                true,
                out,
            )?,
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
                &x.s[0].shape,
                window,
                stride,
                padding,
                bits as u32,
                out,
            )?,
        })
    }

    /// Takes `n` words from `from`'s message and records them as vouched
    /// for by `checker` (none for an input's first receiver, who vouches
    /// for them itself to the second).
    fn take<'a>(
        &mut self,
        inbox: &'a mut Inbox,
        from: usize,
        n: usize,
        checker: usize,
        vouch_to: Option<usize>,
    ) -> Result<&'a [u64], VmError> {
        let v = inbox.take(from, n)?;
        if checker < PARTIES {
            hash_words(&mut self.received[checker], v);
        }
        if let Some(to) = vouch_to {
            hash_words(&mut self.vouched[to], v);
        }
        Ok(v)
    }

    /// Completes shares `s` with the values `receive` lists, from the
    /// round's messages.
    fn receive_shares(
        &mut self,
        shape: &[usize],
        mut s: [Vec<u64>; 3],
        receive: Vec<Incoming>,
        sum: Sum,
        inbox: &mut Inbox,
    ) -> Result<Share, VmError> {
        let me = self.me;
        for Incoming {
            slot,
            range,
            from,
            checker,
        } in receive
        {
            // An input's first receiver vouches to the second.
            let vouch_to = (checker == usize::MAX).then(|| {
                let (_, first, second) = input_parties(from);
                debug_assert_eq!(first, me);
                second
            });
            let v = self.take(inbox, from, range.len(), checker, vouch_to)?;
            sum.into(&mut s[slot][range], v);
        }
        Ok(Share {
            s: s.map(|d| RingTensor::new(shape.to_vec(), d)),
        })
    }

    /// Advances `task` by one round's messages (queueing its next round's).
    fn advance(&mut self, task: Task, inbox: &mut Inbox, out: &mut Msgs) -> Result<Task, VmError> {
        let task = match task {
            Task::Shares {
                shape,
                s,
                receive,
                sum,
            } => Task::Done(Val::Secret(
                self.receive_shares(&shape, s, receive, sum, inbox)?,
            )),
            Task::Open {
                shape,
                mut partial,
                from,
                checker,
            } => {
                let v = self.take(inbox, from, partial.len(), checker, None)?;
                add_into(&mut partial, &v);
                Task::Done(Val::Public(RingTensor::new(shape, partial)))
            }
            Task::Output { shape, open } => Task::Done(Val::Revealed(match open {
                Some((mut partial, from, checker)) => {
                    let v = self.take(inbox, from, partial.len(), checker, None)?;
                    add_into(&mut partial, &v);
                    Some(RingTensor::new(shape, partial))
                }
                None => None,
            })),
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

    /// Runs continuations whose first task has finished, and collects
    /// finished groups.
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
                        .map(|t| match t {
                            Task::Done(v) => v,
                            _ => unreachable!("all done"),
                        })
                        .collect(),
                )))
            }
            other => Ok(other),
        }
    }

    /// Sends each peer the digest of what this party vouched for to it.
    fn send_digests(&self, out: &mut [Vec<Part>]) {
        for p in (0..PARTIES).filter(|&p| p != self.me) {
            out[p].push(Arc::new(digest_words(&self.vouched[p])));
        }
    }

    /// Compares each peer's digest with what this party received that the
    /// peer vouched for.
    fn check_digests(&mut self, inbox: &mut Inbox) -> Result<(), VmError> {
        let since = self.checked + 1;
        self.checked = inbox.round;
        for p in (0..PARTIES).filter(|&p| p != self.me) {
            let theirs = inbox.take(p, DIGEST_WORDS)?;
            if theirs != digest_words(&self.received[p]) {
                return Err(VmError::Cheating(format!(
                    "cheating detected by party {} in round {}: values it received in rounds {since} to {} do not match what party {p} vouched for; party {p} or a party that sent them deviated from the protocol (nothing was revealed)",
                    self.me, inbox.round, inbox.round
                )));
            }
        }
        Ok(())
    }

    /// Runs `tasks` to the end, a round at a time: the messages out, then
    /// each task advanced by the messages in (the digests sent and checked in
    /// the first round, with `check`, which takes a round even with nothing
    /// else to do). A party that finds cheating or a malformed message tells
    /// the others why it stops.
    fn run_tasks(
        &mut self,
        mut tasks: Vec<Task>,
        mut out: Vec<Vec<Part>>,
        mut check: bool,
    ) -> Result<Vec<Val>, VmError> {
        let done = |tasks: &[Task]| tasks.iter().all(|t| matches!(t, Task::Done(_)));
        while check || !done(&tasks) {
            if check {
                self.send_digests(&mut out);
            }
            let got = self.net.exchange(out).map_err(VmError::Network)?;
            let mut inbox = Inbox {
                words: got,
                at: vec![0; PARTIES],
                round: self.net.figures().rounds,
            };
            out = vec![Vec::new(); PARTIES];
            match self.absorb(tasks, &mut inbox, &mut out, check) {
                Ok(next) => tasks = next,
                Err(e) => {
                    let why = match &e {
                        VmError::Cheating(why) => why.clone(),
                        e => e.to_string(),
                    };
                    self.net.abort(&why);
                    return Err(e);
                }
            }
            check = false;
        }
        Ok(tasks
            .into_iter()
            .map(|t| match t {
                Task::Done(v) => v,
                _ => unreachable!("all done"),
            })
            .collect())
    }

    /// Advances every task by a round's messages, checks the digests with
    /// `check`, and holds the peers to sending exactly what the round needs.
    fn absorb(
        &mut self,
        tasks: Vec<Task>,
        inbox: &mut Inbox,
        out: &mut Msgs,
        check: bool,
    ) -> Result<Vec<Task>, VmError> {
        let mut next = Vec::with_capacity(tasks.len());
        for t in tasks {
            next.push(match t {
                Task::Done(v) => Task::Done(v),
                t => self.advance(t, inbox, out)?,
            });
        }
        if check {
            self.check_digests(inbox)?;
        }
        if let Some(p) = (0..PARTIES).find(|&p| inbox.at[p] != inbox.words[p].len()) {
            return Err(VmError::Cheating(format!(
                "party {p} sent more than round {} needs: a protocol violation",
                inbox.round
            )));
        }
        Ok(next)
    }
}

/// A round's incoming messages, consumed operation by operation.
struct Inbox {
    words: Vec<Vec<u64>>,
    at: Vec<usize>,
    /// The round's number (the set-up's is 1).
    round: u64,
}

impl Inbox {
    fn take(&mut self, from: usize, n: usize) -> Result<&[u64], VmError> {
        let at = self.at[from];
        let v = self.words[from].get(at..at + n).ok_or_else(|| {
            VmError::Cheating(format!(
                "party {from} sent a short message in round {}: a protocol violation",
                self.round
            ))
        })?;
        self.at[from] += n;
        Ok(v)
    }
}

impl Backend for Rep4 {
    type Share = Share;

    fn name(&self) -> &'static str {
        "rep4"
    }
    fn threat_model(&self) -> &'static str {
        THREAT_MODEL
    }

    fn classify(&mut self, t: &RingTensor) -> Share {
        self.constant(t)
    }

    fn linear(&mut self, args: &[&Share], f: &dyn LinearMap) -> Share {
        Share {
            s: [0, 1, 2].map(|j| {
                let slot: Vec<&RingTensor> = args.iter().map(|s| &s.s[j]).collect();
                f.apply(&slot)
            }),
        }
    }

    fn add_public(&mut self, s: &Share, p: &RingTensor, out_shape: &[usize]) -> Share {
        // The public value joins share 0 (held by parties 1, 2 and 3).
        let zero = RingTensor::zeros(&[]);
        Share {
            s: [0, 1, 2].map(|j| {
                let add = if index(self.me, j) == 0 { p } else { &zero };
                s.s[j].add(add, out_shape)
            }),
        }
    }

    fn masked_product(&mut self, _: Product<'_, Share>) -> Result<Share, VmError> {
        Err(VmError::Usage(
            "rep4 multiplies in rounds: this program was compiled for mask reuse (semi2k)".into(),
        ))
    }

    fn round(&mut self, ops: Vec<Interaction<'_, Share>>) -> Result<Vec<Outcome<Share>>, VmError> {
        // Anything revealed is checked first: the digests travel with it.
        let check = ops
            .iter()
            .any(|op| matches!(op, Interaction::Open { .. } | Interaction::Output { .. }));
        let mut out = vec![Vec::new(); PARTIES];
        let mut tasks = Vec::with_capacity(ops.len());
        for op in ops {
            let t = self.start(op, &mut out)?;
            tasks.push(self.settle(t, &mut out)?);
        }
        Ok(self
            .run_tasks(tasks, out, check)?
            .into_iter()
            .map(|v| match v {
                Val::Secret(s) => Outcome::Secret(s),
                Val::Public(t) => Outcome::Public(t),
                Val::Revealed(t) => Outcome::Revealed(t),
                Val::Many(_) => unreachable!("an operation yields one value"),
            })
            .collect())
    }

    fn receives(&self, to: PartySet) -> bool {
        to.contains(self.me)
    }

    fn share_words(&self, s: &Share) -> Vec<Vec<u64>> {
        s.s.iter().map(|t| t.data.clone()).collect()
    }

    fn share_from_words(
        &mut self,
        shape: &[usize],
        words: Vec<Vec<u64>>,
    ) -> Result<Share, VmError> {
        match <[Vec<u64>; 3]>::try_from(words) {
            Ok(s) => Ok(Share {
                s: s.map(|d| RingTensor::new(shape.to_vec(), d)),
            }),
            Err(w) => Err(VmError::Input(format!(
                "a rep4 share has three components, not {}",
                w.len()
            ))),
        }
    }

    fn figures(&self) -> CommFigures {
        self.net.figures().since(self.setup)
    }

    /// The last check: whatever was exchanged since the last opening is
    /// verified before the run reports success (one more round, always, so
    /// every party takes it).
    fn finish(&mut self) -> Result<(), VmError> {
        self.run_tasks(Vec::new(), vec![Vec::new(); PARTIES], true)?;
        Ok(())
    }
}

pub const THREAT_MODEL: &str = "active adversary, honest majority (1 of 4 parties corrupted, security with abort): replicated secret sharing with joint message passing";

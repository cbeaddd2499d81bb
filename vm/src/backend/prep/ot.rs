//! `--prep ot`: the parties make their own shares of every item, with each
//! other, by oblivious transfer ([`crate::backend::ot`]); no one else takes
//! part, and any n - 1 of them learn nothing of the last one's shares.
//!
//! - Products (triples, products of masks, matrix and convolution triples):
//!   for f(A, B) with A = ΣA_i, B = ΣB_j, party i adds f(A_i, B_i) and each
//!   ordered pair shares the cross term f(A_i, B_j) by Gilboa's method: 64
//!   OTs per element e of the receiving operand ([`Terms`]), bit t of B_j[e]
//!   choosing 2^t times A_i's values at e's terms (only 64 - t bits sent).
//! - Random bits (the bits of truncation pairs and of comparisons' masks,
//!   daBits): XOR shares drawn locally, made arithmetic one party at a time,
//!   y <- y + b - 2yb, the product y_i·b by one OT per pair (n - 1 stages).
//! - AND triples: one OT per bit and ordered pair, shared by the two gates
//!   of a carry-tree merge (they share an operand).
//!
//! Items are made in plan order; their OTs go out in stages of bounded size.

use super::replay::{replay, Producer};
use super::terms::Terms;
use super::Item;
use crate::backend::ot::{Lane, Pairwise, Stage, StageOut};
use crate::backend::prf::Prf;
use crate::backend::semi2k::{self, Call, Composed};
use crate::backend::OfflineFigures;
use crate::bytecode::{operands, Instr, Program};
use crate::interp::linear_map;
use crate::net::Network;
use crate::ring::RingTensor;
use crate::VmError;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Builds an item from its jobs' outputs.
type Finish = Box<dyn FnOnce(Vec<Vec<u64>>) -> Item>;

/// An item whose jobs are not all done.
struct Pending {
    outputs: Vec<Vec<u64>>,
    jobs: usize,
    finish: Option<Finish>,
}

type Slot = Rc<RefCell<Pending>>;

/// Work of one item with the peers, over one or more stages.
trait Job {
    /// Queues this job's OTs of stage `s`; false if it has no stage `s`
    /// (decided by public sizes only, so the same at every party).
    fn queue(&mut self, s: usize, stage: &mut Stage) -> bool;
    fn absorb(&mut self, s: usize, out: &StageOut);
    /// Hands the result to the item.
    fn deliver(self: Box<Self>);
}

/// Words (and OTs, at two words each) a flush may queue with each peer: about
/// 1,400 products, so a stage's vectors (messages, pads, shares) stay near
/// the cache. On loopback, 1M products took 3.9 s with it, 4.2 s with 2^20
/// and 4.5 s with 2^23 (at 2 rounds per stage: some 1,500 rounds against 100).
const BUDGET: usize = 1 << 19;

/// The parties' roles in a job.
#[derive(Clone)]
struct Parties {
    me: usize,
    n: usize,
}

impl Parties {
    fn peers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.n).filter(|&p| p != self.me)
    }
}

/// The cross terms of a product, for the receiver elements `range`.
struct ProductJob {
    who: Parties,
    terms: Rc<Terms>,
    range: std::ops::Range<usize>,
    /// This party's shares of the sending and the receiving operand.
    sender: Rc<Vec<u64>>,
    receiver: Rc<Vec<u64>>,
    /// Per peer: where this job's shares start, as sender and as receiver
    /// (its products', if `elementwise`).
    at: Vec<(usize, usize)>,
    /// Whether each element is one product (run as the stage's products).
    elementwise: bool,
    slot: Slot,
    output: usize,
}

impl Job for ProductJob {
    fn queue(&mut self, s: usize, stage: &mut Stage) -> bool {
        if s > 0 {
            return false;
        }
        if stage.counts_only() {
            // 64 lanes per receiver element, of 64 - t bits per word for bit t.
            let (ots, words) = (
                64 * self.range.len(),
                64 * self.terms.count(self.range.clone()),
            );
            let bits = 2080 * self.terms.count(self.range.clone());
            for p in self.who.peers() {
                stage.count(p, true, ots, words, bits);
                stage.count(p, false, ots, words, bits);
            }
            return true;
        }
        let terms = self.terms.count(self.range.clone());
        // One term per element (elementwise products): the stage's products,
        // whose shares it sums itself; else a lane per bit, of all the terms.
        self.elementwise = terms == self.range.len()
            && self
                .range
                .clone()
                .all(|e| self.terms.of_element(e).1.len() == 1);
        let mut messages = Vec::new();
        for p in self.who.peers() {
            let mut first = None;
            if self.elementwise {
                for e in self.range.clone() {
                    let (_, from) = self.terms.of_element(e);
                    let a = stage.send_product(p, self.sender[from[0] as usize]);
                    let b = stage.receive_product(p, self.receiver[e]);
                    first.get_or_insert((a, b));
                }
                self.at[p] = first.unwrap_or_default();
                continue;
            }
            stage.reserve(p, true, 64 * self.range.len(), 64 * terms);
            stage.reserve(p, false, 64 * self.range.len(), 64 * terms);
            for e in self.range.clone() {
                let (_, from) = self.terms.of_element(e);
                // The same message for each of the 64 OTs.
                messages.clear();
                for _ in 0..64 {
                    messages.extend(from.iter().map(|&k| self.sender[k as usize]));
                }
                let lanes = gilboa_lanes(from.len());
                let a = stage.send_many(p, &lanes, &messages);
                let b = stage.receive_many(p, &lanes, self.receiver[e]);
                first.get_or_insert((a, b));
            }
            self.at[p] = first.unwrap_or_default();
        }
        true
    }

    fn absorb(&mut self, _: usize, out: &StageOut) {
        let mut pending = self.slot.borrow_mut();
        let acc = &mut pending.outputs[self.output];
        for p in self.who.peers() {
            let (mut a, mut b) = self.at[p];
            if self.elementwise {
                let (sent, got) = (&out.send_products[p], &out.receive_products[p]);
                for e in self.range.clone() {
                    let (to, _) = self.terms.of_element(e);
                    let slot = &mut acc[to[0] as usize];
                    *slot = slot.wrapping_add(sent[a]).wrapping_add(got[b]);
                    a += 1;
                    b += 1;
                }
                continue;
            }
            let (sent, got) = (&out.send[p], &out.receive[p]);
            for e in self.range.clone() {
                let (to, _) = self.terms.of_element(e);
                for t in 0..64 {
                    for (k, o) in to.iter().enumerate() {
                        let share = sent[a + k].wrapping_add(got[b + k]) << t;
                        let slot = &mut acc[*o as usize];
                        *slot = slot.wrapping_add(share);
                    }
                    a += to.len();
                    b += to.len();
                }
            }
        }
    }

    fn deliver(self: Box<Self>) {
        self.slot.borrow_mut().jobs -= 1;
    }
}

/// Gilboa's 64 lanes of a product with a message of `len` words: the one
/// for bit t of the receiver's word needs only 64 - t bits.
fn gilboa_lanes(len: usize) -> [Lane; 64] {
    std::array::from_fn(|t| Lane {
        len: len as u32,
        width: 64 - t as u8,
        xor: false,
    })
}

/// Arithmetic shares of XOR-shared bits: `planes` planes of `n` bits, plane
/// p's modulo 2^widths[p] (all its uses weigh it by 2^(64 - widths[p]) or
/// more, see [`widths`]).
struct BitsJob {
    who: Parties,
    planes: Vec<u64>,
    widths: Vec<u8>,
    n: usize,
    stride: usize,
    /// This party's share of each bit (plane by plane), so far.
    y: Vec<u64>,
    at: Vec<usize>,
    slot: Slot,
    output: usize,
}

impl BitsJob {
    fn new(
        who: Parties,
        planes: Vec<u64>,
        widths: Vec<u8>,
        n: usize,
        slot: Slot,
        output: usize,
    ) -> BitsJob {
        let stride = n.div_ceil(64);
        let count = if n == 0 { 0 } else { planes.len() / stride };
        debug_assert_eq!(widths.len(), count);
        let mut job = BitsJob {
            at: vec![0; who.n],
            who,
            planes,
            widths,
            n,
            stride,
            y: vec![0; count * n],
            slot,
            output,
        };
        if job.who.me == 0 {
            job.y = (0..count * n).map(|j| job.bit(j)).collect();
        }
        job
    }

    /// This party's share of bit `j` (element j mod n of plane j / n).
    fn bit(&self, j: usize) -> u64 {
        let (plane, i) = (j / self.n, j % self.n);
        self.planes[plane * self.stride + i / 64] >> (i % 64) & 1
    }

    /// The lane of bit `j`'s OT.
    fn lane(&self, j: usize) -> Lane {
        Lane {
            len: 1,
            width: self.widths[j / self.n],
            xor: false,
        }
    }
}

/// Per plane of `planes`, the bits its arithmetic share needs when the
/// shares are only ever combined as `compose` over the ranges `uses`: 64 - w
/// for the least weight 2^w a use gives it (the bits above drop out of the
/// ring).
fn widths(planes: usize, uses: &[std::ops::Range<usize>]) -> Vec<u8> {
    (0..planes)
        .map(|p| {
            let least = uses
                .iter()
                .filter(|r| r.contains(&p))
                .map(|r| p - r.start)
                .min()
                .unwrap_or(0);
            64 - least.min(63) as u8
        })
        .collect()
}

impl Job for BitsJob {
    /// Stage s brings in party s + 1's bits.
    fn queue(&mut self, s: usize, stage: &mut Stage) -> bool {
        let k = s + 1;
        if k >= self.who.n {
            return false;
        }
        let me = self.who.me;
        if stage.counts_only() {
            let ots = self.y.len();
            let bits = self.n * self.widths.iter().map(|w| *w as usize).sum::<usize>();
            if me < k {
                stage.count(k, true, ots, ots, bits);
            } else if me == k {
                for i in 0..k {
                    stage.count(i, false, ots, ots, bits);
                }
            }
            return true;
        }
        if me < k {
            stage.reserve(k, true, self.y.len(), self.y.len());
            for (j, y) in self.y.iter().enumerate() {
                let at = stage.send(k, self.lane(j), &[*y]);
                if j == 0 {
                    self.at[k] = at;
                }
            }
        } else if me == k {
            for i in 0..k {
                stage.reserve(i, false, self.y.len(), 0);
                for j in 0..self.y.len() {
                    let at = stage.receive(i, self.lane(j), self.bit(j) == 1);
                    if j == 0 {
                        self.at[i] = at;
                    }
                }
            }
        }
        true
    }

    fn absorb(&mut self, s: usize, out: &StageOut) {
        let (k, me) = (s + 1, self.who.me);
        if me < k {
            let from = &out.send[k][self.at[k]..];
            for (y, share) in self.y.iter_mut().zip(from) {
                *y = y.wrapping_sub(share.wrapping_mul(2));
            }
        } else if me == k {
            for j in 0..self.y.len() {
                let products = (0..k).fold(0u64, |acc, i| {
                    acc.wrapping_add(out.receive[i][self.at[i] + j])
                });
                self.y[j] = self.bit(j).wrapping_sub(products.wrapping_mul(2));
            }
        }
    }

    fn deliver(self: Box<Self>) {
        let mut pending = self.slot.borrow_mut();
        pending.outputs[self.output] = self.y;
        pending.jobs -= 1;
    }
}

/// XOR shares of the AND triples of a carry tree (see
/// `semi2k::compare::tree_gate_pairs`): per merge a plane a, per gate a plane
/// b, and c = a & b for each gate with its merge's a. A merge's gates share
/// their OT: the receiver chooses by its bit of a, the sender's message is its
/// bits of b for the merge's one or two gates, packed in one lane of as many
/// bits (one pad word per OT).
struct AndJob {
    who: Parties,
    a: Vec<u64>,
    b: Vec<u64>,
    c: Vec<u64>,
    /// Each merge's gates.
    merges: Vec<Vec<usize>>,
    stride: usize,
    at: Vec<(usize, usize)>,
    slot: Slot,
    output: usize,
}

impl Job for AndJob {
    fn queue(&mut self, s: usize, stage: &mut Stage) -> bool {
        if s > 0 {
            return false;
        }
        let stride = self.stride;
        // One OT per merge bit, a word of pad, a bit of message per gate.
        let ots = 64 * stride * self.merges.len();
        if stage.counts_only() {
            for p in self.who.peers() {
                stage.count(p, true, ots, ots, 64 * self.b.len());
                stage.count(p, false, ots, ots, 64 * self.b.len());
            }
            return true;
        }
        let mut messages = [0u64; 64];
        for p in self.who.peers() {
            stage.reserve(p, true, ots, ots);
            stage.reserve(p, false, ots, ots);
            let mut first = None;
            for (q, gates) in self.merges.iter().enumerate() {
                let lanes = [Lane {
                    len: 1,
                    width: gates.len() as u8,
                    xor: true,
                }; 64];
                for t in 0..stride {
                    for (bit, m) in messages.iter_mut().enumerate() {
                        *m = gates
                            .iter()
                            .enumerate()
                            .fold(0, |m, (k, g)| m | (self.b[g * stride + t] >> bit & 1) << k);
                    }
                    let x = stage.send_many(p, &lanes, &messages);
                    let y = stage.receive_many(p, &lanes, self.a[q * stride + t]);
                    first.get_or_insert((x, y));
                }
            }
            self.at[p] = first.unwrap_or_default();
        }
        true
    }

    fn absorb(&mut self, _: usize, out: &StageOut) {
        let stride = self.stride;
        for p in self.who.peers() {
            let (mut x, mut y) = self.at[p];
            for gates in &self.merges {
                for t in 0..stride {
                    for bit in 0..64 {
                        let c = out.send[p][x] ^ out.receive[p][y];
                        for (k, g) in gates.iter().enumerate() {
                            self.c[g * stride + t] ^= (c >> k & 1) << bit;
                        }
                        x += 1;
                        y += 1;
                    }
                }
            }
        }
    }

    fn deliver(self: Box<Self>) {
        let mut pending = self.slot.borrow_mut();
        pending.outputs[self.output] = self.c;
        pending.jobs -= 1;
    }
}

/// Arithmetic values from shares of their bits, plane by plane:
/// Σ_t 2^t bit[plane_of(t)] for the planes `planes` (lowest first).
fn compose(bits: &[u64], n: usize, planes: std::ops::Range<usize>) -> Vec<u64> {
    let mut values = vec![0u64; n];
    for (t, plane) in planes.enumerate() {
        for (v, b) in values.iter_mut().zip(&bits[plane * n..(plane + 1) * n]) {
            *v = v.wrapping_add(b << t);
        }
    }
    values
}

/// What a party sends in the offline phase (the cost model, equal to what
/// it measures).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub rounds: u64,
    pub bytes_sent: u64,
    /// OTs this party takes part in, as sender or receiver.
    pub ots: u64,
}

/// Where a maker's stages go: to the peers (with the progress reported as
/// items made of `total`), or only counted.
enum Exchange<'a> {
    Live {
        net: &'a mut Network,
        ot: Pairwise,
        report: Progress<'a>,
        total: u64,
    },
    Counted(Cost),
}

/// Told the items made so far, and of how many.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Makes a program's items with the other parties.
struct OtMaker<'a> {
    program: &'a Program,
    exchange: Exchange<'a>,
    who: Parties,
    rng: Prf,
    terms: HashMap<usize, Rc<Terms>>,
    jobs: Vec<Box<dyn Job>>,
    queued: usize,
    items: Vec<Option<Item>>,
    open: Vec<(usize, Slot)>,
}

/// The items of `program`, made with the other parties of `net` (its first
/// `parties` nodes), telling `report` as they are made; returns them in plan
/// order, and the OTs run.
pub fn make(
    program: &Program,
    net: &mut Network,
    parties: usize,
    report: Progress<'_>,
) -> Result<(Vec<Item>, u64), VmError> {
    let ot = Pairwise::setup(net, parties)?;
    let who = Parties {
        me: net.party(),
        n: parties,
    };
    let total =
        super::plan::count_items(program, 0..program.code.len(), super::plan::Items::Beaver);
    let exchange = Exchange::Live {
        net,
        ot,
        report,
        total,
    };
    let mut maker = OtMaker::new(program, exchange, who)?;
    replay(program, &mut maker)?;
    maker.flush()?;
    let ots = match &maker.exchange {
        Exchange::Live { ot, .. } => ot.ots,
        Exchange::Counted(_) => unreachable!("live"),
    };
    let items = maker
        .items
        .into_iter()
        .map(|i| i.expect("every item finished after the last flush"))
        .collect();
    Ok((items, ots))
}

/// The offline phase: [`make`], timed and measured.
pub fn offline(
    program: &Program,
    net: &mut Network,
    parties: usize,
    report: Progress<'_>,
) -> Result<(Vec<Item>, OfflineFigures), VmError> {
    let before = net.figures();
    let start = std::time::Instant::now();
    let (items, ots) = make(program, net, parties, report)?;
    let figures = OfflineFigures {
        seconds: start.elapsed().as_secs_f64(),
        comm: net.figures().since(before),
        ots,
    };
    Ok((items, figures))
}

/// What each of `parties` parties sends in the offline phase of `program`
/// with `--prep ot`: the same walk and stages as [`make`], counted instead of
/// run (no data is kept).
pub fn cost(program: &Program, parties: usize) -> Result<Vec<Cost>, VmError> {
    (0..parties)
        .map(|me| {
            let base = Cost {
                rounds: crate::backend::ot::cot::SETUP_ROUNDS,
                bytes_sent: (parties as u64 - 1) * crate::backend::ot::cot::SETUP_BYTES_PER_PEER,
                ots: 0,
            };
            let who = Parties { me, n: parties };
            let mut maker = OtMaker::new(program, Exchange::Counted(base), who)?;
            replay(program, &mut maker)?;
            maker.flush()?;
            match maker.exchange {
                Exchange::Counted(c) => Ok(c),
                Exchange::Live { .. } => unreachable!("counted"),
            }
        })
        .collect()
}

impl<'a> OtMaker<'a> {
    fn new(
        program: &'a Program,
        exchange: Exchange<'a>,
        who: Parties,
    ) -> Result<OtMaker<'a>, VmError> {
        Ok(OtMaker {
            program,
            exchange,
            who,
            rng: Prf::new(semi2k::fresh_key()?),
            terms: HashMap::new(),
            jobs: Vec::new(),
            queued: 0,
            items: Vec::new(),
            open: Vec::new(),
        })
    }

    fn counting(&self) -> bool {
        matches!(self.exchange, Exchange::Counted(_))
    }

    /// Opens an item with `outputs` job outputs (initial values) to be
    /// finished by `finish`. It counts as a job of its own until
    /// [`OtMaker::close`]: a flush while its jobs are being added does not
    /// finish it.
    fn slot(&mut self, outputs: Vec<Vec<u64>>, finish: Finish) -> Slot {
        let slot = Rc::new(RefCell::new(Pending {
            outputs,
            jobs: 1,
            finish: Some(finish),
        }));
        self.items.push(None);
        self.open.push((self.items.len() - 1, slot.clone()));
        slot
    }

    /// All of the item's jobs are added.
    fn close(&mut self, slot: Slot) {
        slot.borrow_mut().jobs -= 1;
    }

    fn add(&mut self, slot: &Slot, job: Box<dyn Job>, size: usize) -> Result<(), VmError> {
        slot.borrow_mut().jobs += 1;
        self.jobs.push(job);
        self.queued += size;
        if self.queued >= BUDGET {
            self.flush()?;
        }
        Ok(())
    }

    /// Runs every queued job to its end, and finishes the items that are done.
    fn flush(&mut self) -> Result<(), VmError> {
        let mut jobs = std::mem::take(&mut self.jobs);
        self.queued = 0;
        let mut s = 0;
        loop {
            let mut stage = if self.counting() {
                Stage::counting(self.who.n)
            } else {
                Stage::new(self.who.n)
            };
            let active: Vec<bool> = jobs.iter_mut().map(|j| j.queue(s, &mut stage)).collect();
            if !active.contains(&true) {
                break;
            }
            match &mut self.exchange {
                Exchange::Live { net, ot, .. } => {
                    let out = ot.run(net, stage)?;
                    for (job, _) in jobs.iter_mut().zip(&active).filter(|(_, a)| **a) {
                        job.absorb(s, &out);
                    }
                }
                Exchange::Counted(cost) => {
                    cost.rounds += 2;
                    cost.bytes_sent += stage.bytes_sent();
                    cost.ots += stage.ots() as u64;
                }
            }
            s += 1;
        }
        for job in jobs {
            job.deliver();
        }
        let keep = !self.counting();
        let items = &mut self.items;
        self.open.retain(|(index, slot)| {
            let mut pending = slot.borrow_mut();
            if pending.jobs > 0 {
                return true;
            }
            let finish = pending.finish.take().expect("finished once");
            if keep {
                items[*index] = Some(finish(std::mem::take(&mut pending.outputs)));
            }
            false
        });
        let made = (self.items.len() - self.open.len()) as u64;
        if let Exchange::Live { report, total, .. } = &mut self.exchange {
            report(made, *total);
        }
        Ok(())
    }

    fn random_bits(&mut self, words: usize) -> Vec<u64> {
        self.rng.elements(words)
    }

    /// Queues the products f(A, B) of the shares `a`, `b` with the peers,
    /// into output `output` of `slot` (which holds f(a, b) already).
    fn cross_terms(
        &mut self,
        terms: Rc<Terms>,
        a: Vec<u64>,
        b: Vec<u64>,
        slot: &Slot,
        output: usize,
    ) -> Result<(), VmError> {
        let (sender, receiver) = if terms.receiver_is_a { (b, a) } else { (a, b) };
        let (sender, receiver) = (Rc::new(sender), Rc::new(receiver));
        let peers = self.who.n - 1;
        let mut start = 0;
        while start < terms.receivers() {
            let mut end = start;
            let mut size = 0;
            while end < terms.receivers() && (end == start || self.queued + size < BUDGET) {
                size += peers * 64 * (2 * terms.count(end..end + 1) + 4);
                end += 1;
            }
            let job = ProductJob {
                who: self.who.clone(),
                terms: terms.clone(),
                range: start..end,
                sender: sender.clone(),
                receiver: receiver.clone(),
                at: vec![(0, 0); self.who.n],
                elementwise: false,
                slot: slot.clone(),
                output,
            };
            self.add(slot, Box::new(job), size)?;
            start = end;
        }
        Ok(())
    }

    /// Arithmetic shares of the bits of `planes` (of `n` bits), to be
    /// combined only as `compose` over the ranges `uses`.
    fn bits_job(
        &mut self,
        planes: Vec<u64>,
        n: usize,
        uses: &[std::ops::Range<usize>],
        slot: &Slot,
        output: usize,
    ) -> Result<(), VmError> {
        let size = (self.who.n - 1) * 6 * planes.len() * 64;
        let count = planes.len().checked_div(n.div_ceil(64)).unwrap_or(0);
        let widths = widths(count, uses);
        let job = BitsJob::new(self.who.clone(), planes, widths, n, slot.clone(), output);
        self.add(slot, Box::new(job), size)
    }

    /// The AND triples of a carry tree over `w` leaves on planes of `stride`
    /// words: `a` per merge, `b` per gate.
    fn and_job(
        &mut self,
        (a, b): (Vec<u64>, Vec<u64>),
        w: usize,
        stride: usize,
        slot: &Slot,
        output: usize,
    ) -> Result<(), VmError> {
        let size = (self.who.n - 1) * 6 * b.len() * 64;
        let gate_pairs = semi2k::tree_gate_pairs(w);
        let mut merges = vec![Vec::new(); semi2k::tree_pairs(w)];
        for (g, pair) in gate_pairs.into_iter().enumerate() {
            merges[pair].push(g);
        }
        let c = semi2k::and_correlated(&a, &b, w, stride);
        let job = AndJob {
            who: self.who.clone(),
            a,
            b,
            c,
            merges,
            stride,
            at: vec![(0, 0); self.who.n],
            slot: slot.clone(),
            output,
        };
        self.add(slot, Box::new(job), size)
    }
}

impl Producer for OtMaker<'_> {
    type W = u64;
    fn mask(&mut self, shape: &[usize]) -> Result<RingTensor, VmError> {
        let share = self.rng.elements(shape.iter().product());
        self.items.push((!self.counting()).then(|| Item {
            random: vec![share.clone()],
            correlated: Vec::new(),
        }));
        Ok(RingTensor::new(shape.to_vec(), share))
    }

    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&RingTensor, &RingTensor)>,
    ) -> Result<(), VmError> {
        let p = self.program;
        let key = i as *const Instr as usize;
        let terms = self
            .terms
            .entry(key)
            .or_insert_with(|| Rc::new(Terms::of(p, i)))
            .clone();
        let (reads, _) = operands(i);
        let shape = |r: u32| p.registers[r as usize].shape.clone();
        let (a, b) = match masks {
            Some((a, b)) => (a.clone(), b.clone()),
            None => {
                let (sa, sb) = (shape(reads[0]), shape(reads[1]));
                let a = RingTensor::new(sa.clone(), self.rng.elements(sa.iter().product()));
                let b = RingTensor::new(sb.clone(), self.rng.elements(sb.iter().product()));
                (a, b)
            }
        };
        let own = if self.counting() {
            RingTensor::zeros(&shape(operands(i).1.expect("a product writes")))
        } else {
            linear_map(p, i)
                .expect("a product is bilinear")
                .apply(&[&a, &b])
        };
        let random = if masks.is_none() {
            vec![a.data.clone(), b.data.clone()]
        } else {
            Vec::new()
        };
        let slot = self.slot(
            vec![own.data],
            Box::new(move |outputs| Item {
                random,
                correlated: outputs,
            }),
        );
        self.cross_terms(terms, a.data, b.data, &slot, 0)?;
        self.close(slot);
        Ok(())
    }

    fn trunc(&mut self, n: usize, m: u32, exact: bool) -> Result<(), VmError> {
        let (stride, m) = (n.div_ceil(64), m as usize);
        let r_bits = self.random_bits(64 * stride);
        if !exact {
            let uses = [0..64, 63..64, m..63];
            let parts = uses.clone();
            let slot = self.slot(
                vec![Vec::new()],
                Box::new(move |mut outputs| {
                    let bits = std::mem::take(&mut outputs[0]);
                    let [r, top, middle] = parts.map(|u| compose(&bits, n, u));
                    Item {
                        random: vec![r],
                        correlated: vec![top, middle],
                    }
                }),
            );
            self.bits_job(r_bits, n, &uses, &slot, 0)?;
            self.close(slot);
            return Ok(());
        }
        let layout = semi2k::trunc_layout(n, m, true);
        let (and_a, and_b, d_bit) = (
            self.random_bits(layout.random[2].0),
            self.random_bits(layout.random[3].0),
            self.random_bits(stride),
        );
        let mut planes = r_bits.clone();
        planes.extend_from_slice(&d_bit);
        let low = r_bits[..m * stride].to_vec();
        let random_and = (and_a.clone(), and_b.clone());
        let uses = [m..64, 0..m, 63..64, m..63, 64..65];
        let parts = uses.clone();
        let slot = self.slot(
            vec![Vec::new(), Vec::new()],
            Box::new(move |mut outputs| {
                let bits = std::mem::take(&mut outputs[0]);
                let [high, low_bits, top, middle, d] = parts.map(|u| compose(&bits, n, u));
                Item {
                    random: vec![low, high, random_and.0, random_and.1, d_bit],
                    correlated: vec![low_bits, top, middle, std::mem::take(&mut outputs[1]), d],
                }
            }),
        );
        self.bits_job(planes, n, &uses, &slot, 0)?;
        self.and_job((and_a, and_b), m, stride, &slot, 1)?;
        self.close(slot);
        Ok(())
    }

    fn composed(&mut self, c: &Composed) -> Result<(), VmError> {
        let recording = c.recording();
        // Per call: its random parts, its jobs, and how its correlated parts
        // come from the jobs' outputs.
        enum Work {
            Ltz {
                n: usize,
                k: usize,
                planes: Vec<u64>,
                and: (Vec<u64>, Vec<u64>),
            },
            Mul {
                a: Vec<u64>,
                b: Vec<u64>,
            },
        }
        let mut random: Vec<Vec<u64>> = Vec::new();
        let mut work = Vec::new();
        let mut outputs = Vec::new();
        let mut at = 0;
        for call in &recording.calls {
            match *call {
                Call::Ltz { n, bits } => {
                    let stride = n.div_ceil(64);
                    let r_bits = self.random_bits(bits * stride);
                    let and_a = self.random_bits(recording.layout.random[at + 1].0);
                    let and_b = self.random_bits(recording.layout.random[at + 2].0);
                    let d_bit = self.random_bits(stride);
                    let mut planes = r_bits.clone();
                    planes.extend_from_slice(&d_bit);
                    outputs.extend([Vec::new(), Vec::new()]);
                    random.extend([r_bits, and_a.clone(), and_b.clone(), d_bit]);
                    work.push(Work::Ltz {
                        n,
                        k: bits,
                        planes,
                        and: (and_a, and_b),
                    });
                    at += 4;
                }
                Call::Mul { n } => {
                    let (a, b) = (self.rng.elements(n), self.rng.elements(n));
                    outputs.push(a.iter().zip(&b).map(|(x, y)| x.wrapping_mul(*y)).collect());
                    random.extend([a.clone(), b.clone()]);
                    work.push(Work::Mul { a, b });
                    at += 2;
                }
            }
        }
        let shapes: Vec<(usize, usize)> = work
            .iter()
            .map(|w| match w {
                Work::Ltz { n, k, .. } => (*n, *k),
                Work::Mul { .. } => (0, 0),
            })
            .collect();
        let slot = self.slot(
            outputs,
            Box::new(move |mut outputs| {
                let mut correlated = Vec::new();
                let mut o = 0;
                for (n, k) in shapes {
                    if k == 0 {
                        correlated.push(std::mem::take(&mut outputs[o]));
                        o += 1;
                    } else {
                        let bits = std::mem::take(&mut outputs[o]);
                        correlated.push(compose(&bits, n, 0..k));
                        correlated.push(std::mem::take(&mut outputs[o + 1]));
                        correlated.push(compose(&bits, n, k..k + 1));
                        o += 2;
                    }
                }
                Item { random, correlated }
            }),
        );
        let mut o = 0;
        for w in work {
            match w {
                Work::Ltz { n, k, planes, and } => {
                    // As the item's closure composes them.
                    self.bits_job(planes, n, &[0..k, k..k + 1], &slot, o)?;
                    self.and_job(and, k - 1, n.div_ceil(64), &slot, o + 1)?;
                    o += 2;
                }
                Work::Mul { a, b } => {
                    let terms = Rc::new(Terms::elementwise(a.len()));
                    self.cross_terms(terms, a, b, &slot, o)?;
                    o += 1;
                }
            }
        }
        self.close(slot);
        Ok(())
    }
}

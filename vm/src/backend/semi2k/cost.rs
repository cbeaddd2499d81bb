//! The cost model of semi2k's online phase: the rounds and the bytes each
//! party sends for a whole program, derived from the code as the protocols run
//! (the tests hold these figures to the measured ones). Products of masked
//! secrets are local and cost nothing here; the dealer's traffic is the
//! preprocessing's, not counted.

use super::compare::{tree_ands, tree_pairs};
use super::recorder::Composed;
use crate::bytecode::{for_each_batch, Instr, Program};
use crate::types::PartySet;

/// One execution of an operation: its rounds, the words a party sends every
/// other party (openings go to all), and outputs (`n` words to each receiver).
#[derive(Clone, Default)]
pub(super) struct Cost {
    rounds: u64,
    to_each: u64,
    outputs: Vec<(u64, PartySet)>,
}

impl Cost {
    pub(super) fn open(words: u64) -> Cost {
        Cost {
            rounds: 1,
            to_each: words,
            outputs: Vec::new(),
        }
    }
    /// `self`, then `o`.
    pub(super) fn then(mut self, o: Cost) -> Cost {
        self.rounds += o.rounds;
        self.to_each += o.to_each;
        self.outputs.extend(o.outputs);
        self
    }
    /// `self` and `o` side by side.
    pub(super) fn beside(mut self, o: Cost) -> Cost {
        self.rounds = self.rounds.max(o.rounds);
        self.to_each += o.to_each;
        self.outputs.extend(o.outputs);
        self
    }
    /// Words party `p` of `parties` sends in all.
    fn sent(&self, p: usize, parties: usize) -> u64 {
        let outputs: u64 = self
            .outputs
            .iter()
            .map(|(n, to)| n * to.iter().filter(|&q| q != p && q < parties).count() as u64)
            .sum();
        self.to_each * (parties as u64 - 1) + outputs
    }
}

/// [c mod 2^w < r] for `n` values, and the result made arithmetic: a level of
/// the carry tree opens a plane per merge and per AND gate, the daBit one plane.
fn below(w: usize, n: u64) -> Cost {
    let stride = n.div_ceil(64);
    let mut cost = Cost::default();
    let mut blocks = w;
    while blocks > 1 {
        let pairs = blocks / 2;
        // A plane of P_hi per merge, and a plane per gate.
        cost = cost.then(Cost::open((pairs as u64 + 2 * pairs as u64 - 1) * stride));
        blocks = pairs + blocks % 2;
    }
    debug_assert_eq!((tree_pairs(w) + tree_ands(w)) as u64 * stride, cost.to_each);
    cost.then(Cost::open(stride))
}

pub(super) fn ltz(k: usize, n: u64) -> Cost {
    Cost::open(n).then(below(k - 1, n))
}

/// One execution of an interactive instruction.
fn instr_cost(program: &Program, i: &Instr) -> Cost {
    let reg = |r: &u32| &program.registers[*r as usize];
    let len = |r: &u32| reg(r).len() as u64;
    match i {
        Instr::Mask { a, .. } | Instr::Open { a, .. } => Cost::open(len(a)),
        Instr::Mul { a, b, .. } | Instr::MatMul { a, b, .. } => Cost::open(len(a) + len(b)),
        Instr::Conv2d { x, w, .. } => Cost::open(len(x) + len(w)),
        Instr::Trunc {
            a, amount, exact, ..
        } => {
            let opening = Cost::open(len(a));
            if *exact {
                opening.then(below(*amount as usize, len(a)))
            } else {
                opening
            }
        }
        Instr::LtZ { .. }
        | Instr::EqZ { .. }
        | Instr::Relu { .. }
        | Instr::Max { .. }
        | Instr::Argmax { .. }
        | Instr::MaxPool { .. } => {
            Composed::of(program, i).map_or(Cost::default(), |c| c.recording().cost)
        }
        Instr::Output { output, a } => Cost {
            rounds: 1,
            to_each: 0,
            outputs: vec![(len(a), program.outputs[*output as usize].to)],
        },
        _ => Cost::default(),
    }
}

/// The cost of every round batch of one run, with its multiplicity.
fn batches(program: &Program, mut visit: impl FnMut(Cost, u64)) {
    for_each_batch(program, |batch, times| {
        let cost = batch
            .iter()
            .fold(Cost::default(), |c, b| c.beside(instr_cost(program, b)));
        visit(cost, times);
    });
}

/// Network rounds of one run of `program` under semi2k (a batch takes as many
/// rounds as its longest operation; a batch of local products none).
pub fn rounds(program: &Program) -> u64 {
    let mut total = 0u64;
    batches(program, |c, times| {
        total = total.saturating_add(c.rounds.saturating_mul(times))
    });
    total
}

/// Bytes each of `parties` parties sends in one run of `program`.
pub fn bytes_sent(program: &Program, parties: usize) -> Vec<u64> {
    let mut sent = vec![0u64; parties];
    batches(program, |c, times| {
        for (p, total) in sent.iter_mut().enumerate() {
            *total = total.saturating_add((8 * c.sent(p, parties)).saturating_mul(times));
        }
    });
    sent
}

/// The longest message a party sends a peer in one round of `program`, in
/// bytes: at most all it sends that peer in one batch. A peer's frame may not
/// announce more.
pub fn largest_message(program: &Program) -> u64 {
    let mut largest = 0;
    batches(program, |c, _| {
        let outputs: u64 = c.outputs.iter().map(|(n, _)| n).sum();
        largest = largest.max(8 * (c.to_each + outputs));
    });
    largest
}

/// What the operations of each source location cost in a run of `program`
/// among `parties` parties: rounds, bytes sent by parties 0 and 1, and the
/// elements party 0 opens masked for products (Seggers and van der Veen's
/// count: a `Mask`'s value, both operands of a product with fresh masks).
pub fn by_location(program: &Program, parties: usize) -> Vec<(String, u64, [u64; 3])> {
    let len = |r: &u32| program.registers[*r as usize].len() as u64;
    crate::bytecode::by_location(program, |i| {
        let c = instr_cost(program, i);
        let masked = match i {
            Instr::Mask { a, .. } => len(a),
            Instr::Mul { a, b, .. } | Instr::MatMul { a, b, .. } => len(a) + len(b),
            Instr::Conv2d { x, w, .. } => len(x) + len(w),
            _ => 0,
        };
        (
            c.rounds,
            [8 * c.sent(0, parties), 8 * c.sent(1, parties), masked],
        )
    })
}

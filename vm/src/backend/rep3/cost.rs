//! The cost model of rep3: the rounds and the bytes each party sends for a
//! whole program, derived from the code exactly as the protocols run (the tests
//! hold these figures to the measured ones). `mpcc --stats` prints them.

use super::prev;
use super::trunc::{DEALER, MASKED};
use crate::backend::carry::{and_rounds, words};
use crate::backend::compose::{self, Cost as _};
use crate::backend::totals::{totals, Totals};
use crate::bytecode::{for_each_batch, Instr, Program};

/// One execution of an operation: rounds, and ring elements (or words) each party sends.
#[derive(Clone, Copy, Default)]
struct Cost {
    rounds: u64,
    sent: [u64; 3],
}

impl Cost {
    fn each(rounds: u64, n: u64) -> Cost {
        Cost {
            rounds,
            sent: [n; 3],
        }
    }
}

impl compose::Cost for Cost {
    fn then(self, o: Cost) -> Cost {
        Cost {
            rounds: self.rounds + o.rounds,
            sent: [0, 1, 2].map(|p| self.sent[p] + o.sent[p]),
        }
    }
    fn beside(self, o: Cost) -> Cost {
        Cost {
            rounds: self.rounds.max(o.rounds),
            sent: [0, 1, 2].map(|p| self.sent[p] + o.sent[p]),
        }
    }
}

/// A value of `n` elements dealt by `owner`.
fn deal(owner: usize, n: u64) -> Cost {
    let mut sent = [0; 3];
    sent[owner] = n;
    Cost { rounds: 1, sent }
}

fn ltz(k: u32, n: u64) -> Cost {
    // beta from party 0, then A and B dealt by parties 2 and 1.
    let to_arith = deal(0, n).then(deal(2, n).beside(deal(1, n)));
    let operand = deal(0, words(n, k));
    and_rounds(k, n)
        .into_iter()
        .fold(operand, |cost, w| cost.then(Cost::each(1, w)))
        .then(to_arith)
}

fn trunc(n: u64, m: u32, exact: bool) -> Cost {
    if m == 0 {
        return Cost::default();
    }
    let values = if exact { 3 } else { 2 };
    let mut round1 = deal(DEALER, values * n);
    round1.sent[DEALER] += n;
    let round2 = deal(MASKED, values * n);
    let last = if exact {
        Cost::each(1, n).beside(ltz(m + 1, n))
    } else {
        Cost::each(1, n)
    };
    round1.then(round2).then(last)
}

/// One execution of an interactive instruction.
fn instr_cost(program: &Program, i: &Instr) -> Cost {
    if let Some(c) = compose::cost(program, i, ltz, |n| Cost::each(1, n)) {
        return c;
    }
    let len = |r: &u32| program.registers[*r as usize].len() as u64;
    match i {
        Instr::Input { input, dst } => {
            let d = &program.inputs[*input as usize];
            deal(d.party as usize % 3, len(dst))
        }
        Instr::Mul { dst, .. } | Instr::MatMul { dst, .. } | Instr::Conv2d { dst, .. } => {
            Cost::each(1, len(dst))
        }
        Instr::Trunc {
            a, amount, exact, ..
        } => trunc(len(a), *amount as u32, *exact),
        Instr::Open { a, .. } => Cost::each(1, len(a)),
        Instr::Output { output, a } => {
            let mut sent = [0; 3];
            for p in program.outputs[*output as usize].to.iter() {
                sent[prev(p)] += len(a);
            }
            Cost { rounds: 1, sent }
        }
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

/// The totals of one run of `program`.
fn run_totals(program: &Program) -> Totals<3> {
    totals(|visit| batches(program, |c, times| visit(c.rounds, c.sent, times)))
}

/// Network rounds of one run of `program` under rep3: each batch takes as many
/// rounds as its longest operation.
pub fn rounds(program: &Program) -> u64 {
    run_totals(program).rounds
}

/// Bytes each party sends in one run of `program`.
pub fn bytes_sent(program: &Program) -> [u64; 3] {
    run_totals(program).bytes
}

/// The longest message any party sends in one round of `program`, in bytes:
/// at most all that the party sends in one batch. A peer's frame may not
/// announce more.
pub fn largest_message(program: &Program) -> u64 {
    run_totals(program).largest
}

/// What the operations of one source location cost in a run of `program`:
/// network rounds (a batch's rounds go to its longest operation) and bytes each
/// party sends. Locations in order of first appearance.
pub fn by_location(program: &Program) -> Vec<(String, u64, [u64; 3])> {
    crate::bytecode::by_location(program, |i| {
        let c = instr_cost(program, i);
        (c.rounds, c.sent.map(|words| 8 * words))
    })
}

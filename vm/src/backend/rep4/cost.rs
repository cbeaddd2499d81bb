//! The cost model of rep4: the rounds and the bytes each party sends for a
//! whole program, derived from the code exactly as the protocol runs (the
//! tests hold these figures to the measured ones). `mpcc --stats` prints them.

use super::compare::{SHARE_A, SHARE_B};
use super::trunc::{C_MSB, OPEN_C, R_MSB, U, V};
use super::{input_parties, opener, Jmp, DIGEST_WORDS, PAIRS, PARTIES};
use crate::backend::carry::{and_rounds, words};
use crate::backend::compose::{self, Cost as _};
use crate::backend::totals::{totals, Totals};
use crate::bytecode::{for_each_batch, Instr, Program};

/// One execution of an operation: rounds, and ring elements (or words) each
/// party sends, and whether the round checks the digests (it reveals).
#[derive(Clone, Copy, Default)]
struct Cost {
    rounds: u64,
    sent: [u64; PARTIES],
    checks: bool,
}

impl compose::Cost for Cost {
    fn then(self, o: Cost) -> Cost {
        Cost {
            rounds: self.rounds + o.rounds,
            sent: [0, 1, 2, 3].map(|p| self.sent[p] + o.sent[p]),
            checks: self.checks || o.checks,
        }
    }
    fn beside(self, o: Cost) -> Cost {
        Cost {
            rounds: self.rounds.max(o.rounds),
            sent: [0, 1, 2, 3].map(|p| self.sent[p] + o.sent[p]),
            checks: self.checks || o.checks,
        }
    }
}

/// A value of `n` elements (or words) shared jointly by `jmp`, each knower
/// sending half: one round.
fn shared_by(jmp: Jmp, n: u64) -> Cost {
    let mut sent = [0; PARTIES];
    sent[jmp.sender] = n.div_ceil(2);
    sent[jmp.checker] = n / 2;
    Cost {
        rounds: 1,
        sent,
        checks: false,
    }
}

/// `n` products (or AND words): each pair's cross terms shared jointly.
fn products(n: u64) -> Cost {
    PAIRS.iter().fold(Cost::default(), |c, pair| {
        c.beside(shared_by(pair.jmp(), n))
    })
}

/// [a + b < 0] on `k` bits for `n` elements, a and b known to the pairs
/// (see `compare.rs`).
fn sign_of_sum(k: u32, n: u64) -> Cost {
    let operands = shared_by(SHARE_A, words(n, k)).beside(shared_by(SHARE_B, words(n, k)));
    let to_arith = shared_by(SHARE_A, n)
        .beside(shared_by(SHARE_B, n))
        .then(products(n));
    and_rounds(k, n)
        .into_iter()
        .fold(operands, |c, w| c.then(products(w)))
        .then(to_arith)
}

/// Truncation of `n` values by `m` (see `trunc.rs`).
fn trunc(n: u64, m: u32, exact: bool) -> Cost {
    if m == 0 {
        return Cost::default();
    }
    let mut round1 = shared_by(V, n).beside(shared_by(R_MSB, n));
    for (_, sender, _) in OPEN_C {
        round1.sent[sender] += n;
    }
    let mut rest = shared_by(U, n)
        .beside(shared_by(C_MSB, n))
        .then(products(n));
    if exact {
        rest = rest.beside(sign_of_sum(m + 1, n));
    }
    round1.then(rest)
}

/// Words each party sends its peers with a check: a digest to each.
const CHECK_WORDS: u64 = ((PARTIES - 1) * DIGEST_WORDS) as u64;

/// One execution of an interactive instruction.
fn instr_cost(program: &Program, i: &Instr) -> Cost {
    if let Some(c) = compose::cost(program, i, sign_of_sum, products) {
        return c;
    }
    let len = |r: &u32| program.registers[*r as usize].len() as u64;
    let mut sent = [0; PARTIES];
    let mut checks = false;
    match i {
        Instr::Input { input, dst } => {
            let owner = program.inputs[*input as usize].party as usize % PARTIES;
            debug_assert_eq!(input_parties(owner).0, (owner + 1) % PARTIES);
            sent[owner] = 2 * len(dst);
        }
        Instr::Mul { dst, .. } | Instr::MatMul { dst, .. } | Instr::Conv2d { dst, .. } => {
            return products(len(dst))
        }
        Instr::Trunc {
            a, amount, exact, ..
        } => return trunc(len(a), *amount as u32, *exact),
        Instr::Open { a, .. } => {
            for p in 0..PARTIES {
                sent[opener(p).0] += len(a);
            }
            checks = true;
        }
        Instr::Output { output, a } => {
            for p in program.outputs[*output as usize].to.iter() {
                sent[opener(p).0] += len(a);
            }
            checks = true;
        }
        _ => return Cost::default(),
    }
    Cost {
        rounds: 1,
        sent,
        checks,
    }
}

/// The cost of every round batch of one run, with its multiplicity, then
/// the final check (once).
fn batches(program: &Program, mut visit: impl FnMut(Cost, u64)) {
    for_each_batch(program, |batch, times| {
        let mut cost = batch
            .iter()
            .fold(Cost::default(), |c, b| c.beside(instr_cost(program, b)));
        if cost.checks {
            cost.sent = cost.sent.map(|s| s + CHECK_WORDS);
        }
        visit(cost, times);
    });
    visit(
        Cost {
            rounds: 1,
            sent: [CHECK_WORDS; PARTIES],
            checks: true,
        },
        1,
    );
}

/// The totals of one run of `program`.
fn run_totals(program: &Program) -> Totals<PARTIES> {
    totals(|visit| batches(program, |c, times| visit(c.rounds, c.sent, times)))
}

/// Network rounds of one run of `program` under rep4: one per batch, and
/// the final check.
pub fn rounds(program: &Program) -> u64 {
    run_totals(program).rounds
}

/// Bytes each party sends in one run of `program`.
pub fn bytes_sent(program: &Program) -> [u64; PARTIES] {
    run_totals(program).bytes
}

/// The longest message any party sends in one round of `program`, in bytes:
/// at most all that the party sends in one batch. A peer's frame may not
/// announce more.
pub fn largest_message(program: &Program) -> u64 {
    run_totals(program).largest
}

/// What the operations of one source location cost in a run of `program`:
/// network rounds (a batch's rounds go to its longest operation) and bytes
/// each party sends. The checks' digests (32 bytes to each peer per batch
/// that reveals, and at the end) belong to no location.
pub fn by_location(program: &Program) -> Vec<(String, u64, [u64; PARTIES])> {
    crate::bytecode::by_location(program, |i| {
        let c = instr_cost(program, i);
        (c.rounds, c.sent.map(|words| 8 * words))
    })
}

//! The cost model of spdz2k's online phase: the rounds and the bytes each
//! party sends for a whole program, derived from the code as the protocol
//! runs (the tests hold these figures to the measured ones), MAC checks
//! included. The dealer's traffic is the preprocessing's, not counted. A
//! run-time branch counts both arms (an upper bound).

use super::mac::{CHECK_ROUNDS, CHECK_WORDS};
use super::material::tree_products;
use super::CHECK_EVERY;
use crate::backend::compose::{self, Cost as _};
use crate::bytecode::{Instr, Program};

/// One execution of an operation: its rounds, the words every party sends
/// every other (openings go to all), the words input owners send each other
/// party, the values opened (which await the MAC check), and whether it
/// reveals (the batch then runs the check).
#[derive(Clone, Copy)]
struct Cost {
    rounds: u64,
    to_each: u64,
    by_owner: [u64; 64],
    opened: u64,
    reveals: bool,
}

impl Default for Cost {
    fn default() -> Cost {
        Cost {
            rounds: 0,
            to_each: 0,
            by_owner: [0; 64],
            opened: 0,
            reveals: false,
        }
    }
}

impl compose::Cost for Cost {
    fn then(self, o: Cost) -> Cost {
        Cost {
            rounds: self.rounds + o.rounds,
            ..self.beside(o)
        }
    }
    fn beside(self, o: Cost) -> Cost {
        let mut by_owner = self.by_owner;
        for (b, o) in by_owner.iter_mut().zip(o.by_owner) {
            *b += o;
        }
        Cost {
            rounds: self.rounds.max(o.rounds),
            to_each: self.to_each + o.to_each,
            by_owner,
            opened: self.opened + o.opened,
            reveals: self.reveals || o.reveals,
        }
    }
}

/// An opening of `n` values of Z_2^128 to every party: one round.
fn open(n: u64) -> Cost {
    Cost {
        rounds: 1,
        to_each: 2 * n,
        opened: n,
        ..Cost::default()
    }
}

/// `n` elementwise Beaver products: e and f opened.
fn mul(n: u64) -> Cost {
    open(2 * n)
}

/// An opening of `n` binary shares to every party: one round, 128 bits to
/// a value of Z_2^128.
fn open_bits(n: u64) -> Cost {
    Cost {
        rounds: 1,
        to_each: 2 * n.div_ceil(128),
        opened: n,
        ..Cost::default()
    }
}

/// [c mod 2^w < b] of `n` values in binary: a round of AND gates per level.
fn below_in_binary(w: usize, n: u64) -> Cost {
    tree_products(w)
        .into_iter()
        .fold(Cost::default(), |c, p| c.then(open_bits(2 * p as u64 * n)))
}

/// c opened, the binary tree, the daBit's opening.
fn ltz(k: u32, n: u64) -> Cost {
    open(n)
        .then(below_in_binary(k as usize - 1, n))
        .then(open_bits(n))
}

/// One execution of an interactive instruction.
fn instr_cost(program: &Program, i: &Instr) -> Cost {
    let reg = |r: &u32| &program.registers[*r as usize];
    let len = |r: &u32| reg(r).len() as u64;
    match i {
        Instr::Input { dst, input } => {
            let mut by_owner = [0; 64];
            by_owner[program.inputs[*input as usize].party as usize] = 2 * len(dst);
            Cost {
                rounds: 1,
                by_owner,
                ..Cost::default()
            }
        }
        Instr::Mask { a, .. } => open(len(a)),
        Instr::Mul { a, b, .. } | Instr::MatMul { a, b, .. } => open(len(a) + len(b)),
        Instr::Conv2d { x, w, .. } => open(len(x) + len(w)),
        Instr::Trunc {
            a, amount, exact, ..
        } => {
            let opening = open(len(a));
            if *exact {
                let borrow = below_in_binary(*amount as usize, len(a));
                opening.then(borrow).then(open_bits(len(a)))
            } else {
                opening
            }
        }
        Instr::Open { a, .. } => Cost {
            reveals: true,
            ..open(len(a))
        },
        // Opened once per receiver, under its own mask.
        Instr::Output { a, output } => Cost {
            reveals: true,
            ..open(len(a) * program.outputs[*output as usize].to.iter().count() as u64)
        },
        i => compose::cost(program, i, ltz, mul).unwrap_or_default(),
    }
}

/// Rounds and words each party sends (to all its peers together) in one
/// run: every batch in execution order (loops unrolled, both arms of a
/// branch), each followed by the MAC check where the protocol runs one, and
/// the last check at the end.
fn totals(program: &Program, parties: usize) -> (u64, Vec<u64>) {
    let peers = parties as u64 - 1;
    let mut rounds = 0u64;
    let mut words = vec![0u64; parties];
    let mut pending = 0u64;
    let check = |rounds: &mut u64, words: &mut [u64]| {
        *rounds += CHECK_ROUNDS;
        for w in words.iter_mut() {
            *w += CHECK_WORDS * peers;
        }
    };
    walk(program, 0..program.code.len(), &mut |batch: Cost| {
        rounds += batch.rounds;
        for (p, w) in words.iter_mut().enumerate() {
            *w += (batch.to_each + batch.by_owner[p]) * peers;
        }
        pending += batch.opened;
        if batch.reveals || pending > CHECK_EVERY as u64 {
            if pending > 0 {
                check(&mut rounds, &mut words);
            }
            pending = 0;
        }
    });
    if pending > 0 {
        check(&mut rounds, &mut words);
    }
    (rounds, words)
}

/// Visits the cost of every round batch of `range` in execution order.
fn walk(program: &Program, range: std::ops::Range<usize>, visit: &mut dyn FnMut(Cost)) {
    let mut pc = range.start;
    while pc < range.end {
        match &program.code[pc] {
            Instr::Loop { lo, hi, end, .. } => {
                for _ in *lo..*hi {
                    walk(program, pc + 1..*end as usize, visit);
                }
                pc = *end as usize + 1;
            }
            Instr::Round { len } => {
                let batch = &program.code[pc + 1..pc + 1 + *len as usize];
                visit(
                    batch
                        .iter()
                        .fold(Cost::default(), |c, i| c.beside(instr_cost(program, i))),
                );
                pc += 1 + *len as usize;
            }
            _ => pc += 1,
        }
    }
}

/// Network rounds of one run of `program` under spdz2k among `parties`.
pub fn rounds(program: &Program, parties: usize) -> u64 {
    totals(program, parties).0
}

/// Bytes each of `parties` parties sends in one run of `program`.
pub fn bytes_sent(program: &Program, parties: usize) -> Vec<u64> {
    totals(program, parties)
        .1
        .into_iter()
        .map(|w| 8 * w)
        .collect()
}

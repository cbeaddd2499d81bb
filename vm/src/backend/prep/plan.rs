//! The order in which a run consumes its preprocessed material: one *item* per
//! execution of an instruction that needs correlated randomness (a mask, a
//! product's triple or mask product; not inputs and openings), in execution
//! order. Loops are static, so the order is known before the run except for
//! run-time branches: a dealer produces the items of both arms, and a party
//! skips those of the arm it does not run ([`count_items`]).

use crate::bytecode::{consumption, Instr, Primitive, Program};
use crate::VmError;
use std::ops::Range;

/// Which instructions take items: under every Beaver backend masks,
/// products, truncations and comparisons; under spdz2k inputs, openings and
/// outputs too (each takes an authenticated mask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Items {
    Beaver,
    Authenticated,
}

/// Whether one execution of `i` (inside a round batch if `batched`) takes an item.
pub fn takes_item(p: &Program, i: &Instr, batched: bool, items: Items) -> bool {
    consumption(p, i, batched).is_some_and(|(primitive, ..)| {
        items == Items::Authenticated
            || !matches!(
                primitive,
                Primitive::Input | Primitive::Open | Primitive::Output
            )
    })
}

/// The `Else` of the `If` at `pc` and the `EndIf` after it (a verified program).
fn arms(p: &Program, pc: usize) -> (usize, usize) {
    let Instr::If { else_at, .. } = p.code[pc] else {
        unreachable!("an if")
    };
    let Instr::Else { end } = p.code[else_at as usize] else {
        unreachable!("verified: an if has its else")
    };
    (else_at as usize, end as usize)
}

/// Visits the instructions of `range` (a properly nested region of a verified
/// program) in the order a run executes them: loop bodies once per iteration,
/// both arms of every branch; `visit` gets the position, the instruction and
/// whether it is in a round batch. Control-flow instructions are not visited.
pub fn walk(
    p: &Program,
    range: Range<usize>,
    visit: &mut dyn FnMut(usize, &Instr, bool) -> Result<(), VmError>,
) -> Result<(), VmError> {
    let mut pc = range.start;
    let mut batch_left = 0;
    while pc < range.end {
        match &p.code[pc] {
            Instr::Loop { lo, hi, end, .. } => {
                for _ in *lo..*hi {
                    walk(p, pc + 1..*end as usize, visit)?;
                }
                pc = *end as usize + 1;
            }
            Instr::If { .. } => {
                let (else_at, end) = arms(p, pc);
                walk(p, pc + 1..else_at, visit)?;
                walk(p, else_at + 1..end, visit)?;
                pc = end + 1;
            }
            Instr::Round { len } => {
                batch_left = *len;
                pc += 1;
            }
            i => {
                visit(pc, i, batch_left > 0)?;
                batch_left = batch_left.saturating_sub(1);
                pc += 1;
            }
        }
    }
    Ok(())
}

/// The items [`walk`] meets in `range`, counted without unrolling loops.
pub fn count_items(p: &Program, range: Range<usize>, kinds: Items) -> u64 {
    let mut pc = range.start;
    let mut batch_left = 0;
    let mut items = 0u64;
    while pc < range.end {
        match &p.code[pc] {
            Instr::Loop { lo, hi, end, .. } => {
                let trips = hi.saturating_sub(*lo).max(0) as u64;
                let body = count_items(p, pc + 1..*end as usize, kinds);
                items = items.saturating_add(trips.saturating_mul(body));
                pc = *end as usize + 1;
            }
            Instr::If { .. } => {
                let (else_at, end) = arms(p, pc);
                items = items
                    .saturating_add(count_items(p, pc + 1..else_at, kinds))
                    .saturating_add(count_items(p, else_at + 1..end, kinds));
                pc = end + 1;
            }
            Instr::Round { len } => {
                batch_left = *len;
                pc += 1;
            }
            i => {
                items += takes_item(p, i, batch_left > 0, kinds) as u64;
                batch_left = batch_left.saturating_sub(1);
                pc += 1;
            }
        }
    }
    items
}

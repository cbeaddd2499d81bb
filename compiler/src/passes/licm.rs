//! Loop-invariant code motion: an operation in a loop body whose operands are
//! all defined outside the loop is computed once, before it. This includes
//! interactive operations on loop-invariant secrets (one round instead of one
//! per iteration). Division and remainder stay put: hoisted out of a loop that
//! runs zero times they could fail where the program would not.

use crate::ir::*;
use std::collections::HashSet;

pub fn hoist_invariants(f: &mut Function) {
    let entry = f.entry;
    hoist_in(f, entry);
}

/// Pure operations except divisions (see the module comment).
fn movable(op: &Op) -> bool {
    op.is_pure() && !matches!(op, Op::Div | Op::Rem)
}

/// Values defined in `b` and the blocks nested in it.
fn defined_in(f: &Function, b: Block, out: &mut HashSet<Value>) {
    out.extend(f.blocks[b].params.iter().copied());
    for &i in &f.blocks[b].insts {
        out.extend(f.insts[i].results.iter().copied());
        for nb in f.nested_blocks(i) {
            defined_in(f, nb, out);
        }
    }
}

fn hoist_in(f: &mut Function, b: Block) {
    let insts = std::mem::take(&mut f.blocks[b].insts);
    let mut out = Vec::with_capacity(insts.len());
    for i in insts {
        for nb in f.nested_blocks(i) {
            hoist_in(f, nb);
        }
        if let Op::For { body, .. } = f.insts[i].op {
            let mut inside = HashSet::new();
            defined_in(f, body, &mut inside);
            let body_insts = std::mem::take(&mut f.blocks[body].insts);
            let mut kept = Vec::with_capacity(body_insts.len());
            for j in body_insts {
                let d = &f.insts[j];
                if movable(&d.op) && d.args.iter().all(|a| !inside.contains(a)) {
                    for r in d.results.clone() {
                        inside.remove(&r);
                    }
                    out.push(j);
                } else {
                    kept.push(j);
                }
            }
            f.blocks[body].insts = kept;
        }
        out.push(i);
    }
    f.blocks[b].insts = out;
}

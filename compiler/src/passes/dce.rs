//! Dead-code elimination: operations without effects whose results are unused
//! are removed, repeatedly, including loops and branches that compute nothing
//! used and print nothing.

use crate::ir::*;
use std::collections::HashMap;

pub fn dce(f: &mut Function) {
    loop {
        let mut uses: HashMap<Value, usize> = HashMap::new();
        count_uses(f, f.entry, &mut uses);
        let mut changed = false;
        for b in f.blocks.keys().collect::<Vec<_>>() {
            let before = f.blocks[b].insts.len();
            let insts = std::mem::take(&mut f.blocks[b].insts);
            let kept: Vec<Inst> = insts
                .into_iter()
                .filter(|&i| {
                    let d = &f.insts[i];
                    has_effect(f, i)
                        || d.results
                            .iter()
                            .any(|r| uses.get(r).copied().unwrap_or(0) > 0)
                })
                .collect();
            changed |= kept.len() != before;
            f.blocks[b].insts = kept;
        }
        if !changed {
            break;
        }
    }
}

/// Whether `i`, or anything in the blocks it holds, has an effect.
fn has_effect(f: &Function, i: Inst) -> bool {
    f.insts[i].op.has_effect()
        || f.nested_blocks(i)
            .iter()
            .any(|&b| f.blocks[b].insts.iter().any(|&j| has_effect(f, j)))
}

/// Counts uses by the instructions reachable from `b`.
fn count_uses(f: &Function, b: Block, uses: &mut HashMap<Value, usize>) {
    for &i in &f.blocks[b].insts {
        for a in &f.insts[i].args {
            *uses.entry(*a).or_default() += 1;
        }
        for nb in f.nested_blocks(i) {
            count_uses(f, nb, uses);
        }
    }
}

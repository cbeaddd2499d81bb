//! Rewrites that keep results and save interaction.
//!
//! ReLU and max pooling commute (max(relu(a), relu(b)) = relu(max(a, b)), and
//! padding takes part in neither), so `max_pool(relu(x))` becomes
//! `relu(max_pool(x))`: the same values, with the ReLU's comparisons on the
//! pooled tensor (a quarter as many for 2x2 pooling).

use crate::ir::*;
use std::collections::HashMap;

pub fn pool_before_relu(f: &mut Function) {
    let mut uses: HashMap<Value, usize> = HashMap::new();
    for d in f.insts.values() {
        for a in &d.args {
            *uses.entry(*a).or_default() += 1;
        }
    }
    for b in f.blocks.keys().collect::<Vec<_>>() {
        for pool in f.blocks[b].insts.clone() {
            if !matches!(f.insts[pool].op, Op::MaxPool { .. }) {
                continue;
            }
            let r = f.insts[pool].args[0];
            let ValueDef::Result(relu, _) = f.values[r].def else {
                continue;
            };
            if f.insts[relu].op != Op::Relu
                || uses.get(&r) != Some(&1)
                || !f.blocks[b].insts.contains(&relu)
            {
                continue;
            }
            // relu: r = relu(x) -> r = max_pool(x); pool: y = max_pool(r) -> y = relu(r).
            let pool_op = std::mem::replace(&mut f.insts[pool].op, Op::Relu);
            f.insts[relu].op = pool_op;
            f.values[r].ty = f.values[f.insts[pool].results[0]].ty.clone();
        }
    }
}

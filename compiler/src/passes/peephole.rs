//! Rewrites that keep results and save interaction.
//!
//! A truncation of a truncation (a product divided by a power of two, say)
//! is one truncation by both amounts: floor(floor(x / 2^a) / 2^b) =
//! floor(x / 2^(a+b)), and probabilistically one rounding instead of two.
//!
//! ReLU and max pooling commute (max(relu(a), relu(b)) = relu(max(a, b)), and
//! padding takes part in neither), so `max_pool(relu(x))` becomes
//! `relu(max_pool(x))`: the same values, with the ReLU's comparisons on the
//! pooled tensor (a quarter as many for 2x2 pooling).

use crate::ir::*;
use std::collections::HashMap;

fn uses(f: &Function) -> HashMap<Value, usize> {
    let mut uses: HashMap<Value, usize> = HashMap::new();
    for d in f.insts.values() {
        for a in &d.args {
            *uses.entry(*a).or_default() += 1;
        }
    }
    uses
}

/// `trunc(trunc(x, a), b)` -> `trunc(x, a + b)` where the inner result has no
/// other use and both round alike (the inner one is then dead).
pub fn merge_truncations(f: &mut Function) {
    let uses = uses(f);
    for b in f.blocks.keys().collect::<Vec<_>>() {
        for outer in f.blocks[b].insts.clone() {
            let Op::Trunc {
                amount: second,
                exact,
            } = f.insts[outer].op
            else {
                continue;
            };
            let r = f.insts[outer].args[0];
            let ValueDef::Result(inner, _) = f.values[r].def else {
                continue;
            };
            let Op::Trunc {
                amount: first,
                exact: inner_exact,
            } = f.insts[inner].op
            else {
                continue;
            };
            if inner_exact != exact || uses.get(&r) != Some(&1) || first as u32 + second as u32 > 63
            {
                continue;
            }
            f.insts[outer].args[0] = f.insts[inner].args[0];
            f.insts[outer].op = Op::Trunc {
                amount: first + second,
                exact,
            };
        }
    }
}

pub fn pool_before_relu(f: &mut Function) {
    let uses = uses(f);
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

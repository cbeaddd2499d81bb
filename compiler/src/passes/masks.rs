//! Mask ids: each secret operand of a multiplicative operation (product, matrix
//! product, convolution) is named by the value it is, so a value feeding several
//! products carries one id everywhere. A Beaver-style backend masks and opens it
//! once per id (and `x * x` becomes a square pair); replicated backends ignore ids.

use crate::ir::*;
use std::collections::HashMap;

pub fn assign_masks(f: &mut Function) {
    let mut ids: HashMap<Value, u32> = HashMap::new();
    for b in f.blocks.keys().collect::<Vec<_>>() {
        for i in f.blocks[b].insts.clone() {
            if !matches!(f.insts[i].op, Op::Mul | Op::MatMul | Op::Conv2d { .. })
                || !f.is_interactive(i)
            {
                continue;
            }
            let args = f.insts[i].args.clone();
            for (k, a) in args.iter().take(2).enumerate() {
                let next = ids.len() as u32 + 1;
                f.insts[i].masks[k] = *ids.entry(*a).or_insert(next);
            }
        }
    }
}

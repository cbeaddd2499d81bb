//! Constant folding: local operations on public constants are computed at
//! compile time with the VM's own ring kernels, so folding cannot disagree with
//! running. (Equal constants are merged by common-subexpression elimination.)

use crate::ir::*;
use mpcvm::ring::RingTensor;
use std::collections::HashMap;

pub fn fold(f: &mut Function) {
    let mut constant: HashMap<Value, RingTensor> = HashMap::new();
    for b in f.blocks.keys().collect::<Vec<_>>() {
        for i in f.blocks[b].insts.clone() {
            let d = &f.insts[i];
            let out_shape = d.results.first().map(|r| f.ty(*r).shape.clone());
            let inputs: Option<Vec<&RingTensor>> = d.args.iter().map(|a| constant.get(a)).collect();
            let folded = match (&d.op, inputs.as_deref(), &out_shape) {
                (Op::Const(data), _, Some(s)) => Some(RingTensor::new(s.clone(), data.clone())),
                (Op::Add, Some([a, b]), Some(s)) => Some(a.add(b, s)),
                (Op::Sub, Some([a, b]), Some(s)) => Some(a.sub(b, s)),
                (Op::Mul, Some([a, b]), Some(s)) => Some(a.mul(b, s)),
                (Op::Neg, Some([a]), _) => Some(a.neg()),
                (Op::Shl(k), Some([a]), _) => Some(a.shl(*k as u32)),
                (Op::Reshape, Some([a]), Some(s)) => {
                    Some(RingTensor::new(s.clone(), a.data.clone()))
                }
                _ => None,
            };
            let Some(t) = folded else { continue };
            let r = f.insts[i].results[0];
            f.insts[i].op = Op::Const(t.data.clone());
            f.insts[i].args.clear();
            constant.insert(r, t);
        }
    }
}

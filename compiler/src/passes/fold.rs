//! Constant folding: local operations on public constants are computed at
//! compile time with the VM's own ring kernels, so folding cannot disagree with
//! running. Identical constants are merged.

use crate::ir::*;
use mpcvm::ring::RingTensor;
use std::collections::HashMap;

pub fn fold(f: &mut Function) {
    let mut constant: HashMap<Value, RingTensor> = HashMap::new();
    let mut canonical: HashMap<(Vec<usize>, mpcvm::types::Elem, Vec<u64>), Value> = HashMap::new();
    let mut alias: HashMap<Value, Value> = HashMap::new();
    for b in f.blocks.keys().collect::<Vec<_>>() {
        for i in f.blocks[b].insts.clone() {
            let d = &f.insts[i];
            let args: Vec<Value> = d.args.iter().map(|a| *alias.get(a).unwrap_or(a)).collect();
            f.insts[i].args = args.clone().into();
            let d = &f.insts[i];
            let out_shape = d.results.first().map(|r| f.ty(*r).shape.clone());
            let inputs: Option<Vec<&RingTensor>> = args.iter().map(|a| constant.get(a)).collect();
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
            let key = (t.shape.clone(), f.ty(r).elem, t.data.clone());
            // Merge equal constants of the entry block (each is defined before the next).
            if b == f.entry {
                match canonical.get(&key) {
                    Some(&v) => {
                        alias.insert(r, v);
                    }
                    None => {
                        canonical.insert(key, r);
                    }
                }
            }
            f.insts[i].op = Op::Const(t.data.clone());
            f.insts[i].args.clear();
            constant.insert(r, t);
        }
    }
    // Rewrite the uses of merged constants.
    for b in f.blocks.keys().collect::<Vec<_>>() {
        for i in f.blocks[b].insts.clone() {
            for a in f.insts[i].args.iter_mut() {
                if let Some(n) = alias.get(a) {
                    *a = *n;
                }
            }
        }
    }
}

//! Mask reuse for Beaver-style backends (semi2k, spdz2k), after Seggers and
//! van der Veen (2018), section 3.4, without annotations in programs.
//!
//! A Beaver product of secrets x = e + A and y = f + B, whose masks A and B are
//! random and whose openings e and f are public, is local given the
//! preprocessed product C = op(A, B): z = op(e, f) + op(e, B) + op(A, f) + C.
//! So a secret needs its mask opened once, however many products use it, and a
//! value computed *linearly* from masked values (a transpose, a reshape, a
//! slice, a padding with zeros, a sum, a difference) is masked already: the
//! same linear map applied to the openings and to the masks. This pass decides
//! which values are opened (`Op::Mask`, placed right after the value's
//! definition, so a weight defined before a loop is opened once for every
//! iteration) and which derive their masks (`InstData::masked`), and turns
//! every product of two secrets into a product of masked operands, which is
//! then local.
//!
//! Products are visited in program order. An operand already masked costs
//! nothing; otherwise it is either opened itself (its size) or derived through
//! its linear definition from its operands, whichever opens fewer elements
//! (ties derive), counting operands masked already as free. So a layer's
//! input opened for the forward product is reused, transposed or padded, by the
//! backward products. A derivation must be one a dealer can replay from the
//! masks alone: linear in the secrets, and multiplying only by compile-time
//! constants (a public value computed at run time, such as an opened logit, is
//! not known to the preprocessing).

use crate::ir::*;
use crate::source::Span;
use std::collections::HashMap;

pub fn reuse_masks(f: &mut Function) {
    let mut home = HashMap::new();
    for (b, data) in f.blocks.iter() {
        for &i in &data.insts {
            home.insert(i, b);
        }
    }
    let mut pass = MaskReuse {
        masked_of: HashMap::new(),
        home,
    };
    pass.block(f, f.entry);
}

struct MaskReuse {
    /// A value's masked version: itself if it derives its mask, else its `Mask`.
    masked_of: HashMap<Value, Value>,
    /// The block of every instruction.
    home: HashMap<Inst, Block>,
}

impl MaskReuse {
    fn block(&mut self, f: &mut Function, b: Block) {
        for i in f.blocks[b].insts.clone() {
            for nested in f.nested_blocks(i) {
                self.block(f, nested);
            }
            let d = &f.insts[i];
            let product = matches!(d.op, Op::Mul | Op::MatMul | Op::Conv2d { .. });
            if product && d.args.iter().take(2).all(|a| f.ty(*a).secret) {
                let span = d.span;
                for k in 0..2 {
                    let masked = self.commit(f, f.insts[i].args[k], span);
                    f.insts[i].args[k] = masked;
                }
            }
        }
    }

    /// How many elements making the secret `v` masked would open, given what is masked already.
    fn cost(&self, f: &Function, v: Value, memo: &mut HashMap<Value, u64>) -> u64 {
        if !f.ty(v).secret || self.masked_of.contains_key(&v) {
            return 0;
        }
        if let Some(&c) = memo.get(&v) {
            return c;
        }
        let own = f.ty(v).len() as u64;
        let c = match derivation(f, v) {
            Some(args) => own.min(args.iter().map(|a| self.cost(f, *a, memo)).sum()),
            None => own,
        };
        memo.insert(v, c);
        c
    }

    /// Makes the secret `v` masked the cheapest way; returns its masked version.
    fn commit(&mut self, f: &mut Function, v: Value, span: Span) -> Value {
        if let Some(&m) = self.masked_of.get(&v) {
            return m;
        }
        if let Some(args) = derivation(f, v) {
            let mut memo = HashMap::new();
            let through: u64 = args.iter().map(|a| self.cost(f, *a, &mut memo)).sum();
            if through <= f.ty(v).len() as u64 {
                let ValueDef::Result(inst, _) = f.values[v].def else {
                    unreachable!("derived values are results")
                };
                for (k, a) in args.into_iter().enumerate() {
                    if f.ty(a).secret {
                        let masked = self.commit(f, a, span);
                        f.insts[inst].args[k] = masked;
                    }
                }
                f.insts[inst].masked = true;
                self.masked_of.insert(v, v);
                return v;
            }
        }
        let masked = self.open(f, v, span);
        self.masked_of.insert(v, masked);
        masked
    }

    /// Inserts `Mask(v)` right after `v`'s definition.
    fn open(&mut self, f: &mut Function, v: Value, span: Span) -> Value {
        let (block, at) = match f.values[v].def {
            ValueDef::Param(b, _) => (b, 0),
            ValueDef::Result(i, _) => {
                let b = self.home[&i];
                let k = f.blocks[b].insts.iter().position(|&x| x == i);
                (b, k.expect("an instruction is in its block") + 1)
            }
        };
        let ty = f.ty(v).clone();
        let result = f.insert(block, at, Op::Mask, &[v], &[ty], span)[0];
        let ValueDef::Result(inst, _) = f.values[result].def else {
            unreachable!("an instruction's result")
        };
        self.home.insert(inst, block);
        result
    }
}

/// The operands of `v`'s definition if its mask can be derived from theirs: a
/// local operation linear in its secret operands, whose public operands a
/// dealer knows or does not need (it adds public values, which leave masks
/// alone, and multiplies only by constants).
fn derivation(f: &Function, v: Value) -> Option<Vec<Value>> {
    let ValueDef::Result(inst, _) = f.values[v].def else {
        return None;
    };
    let d = &f.insts[inst];
    let secrets = d.args.iter().filter(|a| f.ty(**a).secret).count();
    let constant = |a: &Value| match f.values[*a].def {
        ValueDef::Result(i, _) => matches!(f.insts[i].op, Op::Const(_)),
        ValueDef::Param(..) => false,
    };
    let linear = match &d.op {
        Op::Add
        | Op::Sub
        | Op::Neg
        | Op::Classify
        | Op::Shl(_)
        | Op::Sum(_)
        | Op::SumPool { .. }
        | Op::Reshape
        | Op::Transpose(_)
        | Op::Concat(_) => true,
        Op::Slice { dynamic_axis, .. } => dynamic_axis.is_none(),
        Op::Mul | Op::MatMul | Op::Conv2d { .. } => {
            secrets == 1 && d.args.iter().all(|a| f.ty(*a).secret || constant(a))
        }
        _ => false,
    };
    linear.then(|| d.args.to_vec())
}

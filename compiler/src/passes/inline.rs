//! Inlining: every call is replaced by a copy of its callee's body. Instances
//! are created callee-first, so a single pass in order leaves no calls behind.

use crate::ir::*;
use std::collections::HashMap;

pub fn inline_all(m: &mut Module) {
    for f in m.functions.keys().collect::<Vec<_>>() {
        let mut func = std::mem::replace(&mut m.functions[f], Function::new("", &[], Vec::new()));
        inline_calls(&mut func, m);
        m.functions[f] = func;
    }
}

fn inline_calls(caller: &mut Function, m: &Module) {
    let mut alias: HashMap<Value, Value> = HashMap::new();
    for b in caller.blocks.keys().collect::<Vec<_>>() {
        let old = std::mem::take(&mut caller.blocks[b].insts);
        for i in old {
            let Op::Call(g) = caller.insts[i].op else {
                caller.blocks[b].insts.push(i);
                continue;
            };
            let callee = &m.functions[g];
            let mut map: HashMap<Value, Value> = HashMap::new();
            for (p, a) in callee.blocks[callee.entry]
                .params
                .iter()
                .zip(caller.insts[i].args.clone())
            {
                map.insert(*p, *alias.get(&a).unwrap_or(&a));
            }
            let returned = copy_block(callee, callee.entry, caller, b, &mut map);
            for (r, v) in caller.insts[i].results.clone().into_iter().zip(returned) {
                alias.insert(r, v);
            }
        }
    }
    let resolve = |v: Value| {
        let mut v = v;
        while let Some(n) = alias.get(&v) {
            v = *n;
        }
        v
    };
    for b in caller.blocks.keys().collect::<Vec<_>>() {
        for &i in caller.blocks[b].insts.clone().iter() {
            for a in caller.insts[i].args.iter_mut() {
                *a = resolve(*a);
            }
        }
    }
}

/// Copies the instructions of `src_block` of `callee` to the end of `dst` in
/// `caller`; returns the mapped values of its `Return`, if it has one.
fn copy_block(
    callee: &Function,
    src_block: Block,
    caller: &mut Function,
    dst: Block,
    map: &mut HashMap<Value, Value>,
) -> Vec<Value> {
    for &i in &callee.blocks[src_block].insts {
        let d = &callee.insts[i];
        let args: Vec<Value> = d.args.iter().map(|a| map[a]).collect();
        if d.op == Op::Return {
            return args;
        }
        let op = match &d.op {
            Op::For { lo, hi, body } => Op::For {
                lo: *lo,
                hi: *hi,
                body: copy_nested(callee, *body, caller, map),
            },
            Op::If {
                then_block,
                else_block,
            } => Op::If {
                then_block: copy_nested(callee, *then_block, caller, map),
                else_block: copy_nested(callee, *else_block, caller, map),
            },
            other => other.clone(),
        };
        let tys: Vec<_> = d.results.iter().map(|r| callee.ty(*r).clone()).collect();
        let results = caller.push(dst, op, &args, &tys, d.span);
        for (r, n) in d.results.iter().zip(results) {
            map.insert(*r, n);
        }
    }
    vec![]
}

fn copy_nested(
    callee: &Function,
    b: Block,
    caller: &mut Function,
    map: &mut HashMap<Value, Value>,
) -> Block {
    let tys: Vec<_> = callee.blocks[b]
        .params
        .iter()
        .map(|p| callee.ty(*p).clone())
        .collect();
    let nb = caller.new_block(&tys);
    for (p, n) in callee.blocks[b]
        .params
        .iter()
        .zip(caller.blocks[nb].params.clone())
    {
        map.insert(*p, n);
    }
    copy_block(callee, b, caller, nb, map);
    nb
}

//! Common-subexpression elimination: an operation equal to an earlier one that
//! dominates it (same operation, operands and result type) is replaced by the
//! earlier result. In structured IR an instruction dominates the rest of its
//! block and every block nested after it, so a scoped table suffices. This also
//! merges equal constants and repeated products of the same secrets (one opening
//! instead of two). Two probabilistic truncations of one value become one, which
//! is one valid sample of the same distribution.

use crate::ir::*;
use std::collections::HashMap;

pub fn eliminate_common_subexpressions(f: &mut Function) {
    let mut alias: HashMap<Value, Value> = HashMap::new();
    let mut scopes: Vec<HashMap<String, Value>> = Vec::new();
    let entry = f.entry;
    walk(f, entry, &mut scopes, &mut alias);
}

fn walk(
    f: &mut Function,
    b: Block,
    scopes: &mut Vec<HashMap<String, Value>>,
    alias: &mut HashMap<Value, Value>,
) {
    scopes.push(HashMap::new());
    let insts = std::mem::take(&mut f.blocks[b].insts);
    let mut kept = Vec::with_capacity(insts.len());
    for i in insts {
        let args: Vec<Value> = f.insts[i]
            .args
            .iter()
            .map(|a| *alias.get(a).unwrap_or(a))
            .collect();
        f.insts[i].args = args.clone().into();
        let d = &f.insts[i];
        if d.op.is_pure() && d.results.len() == 1 {
            let r = d.results[0];
            let key = format!("{:?} {:?} {}", d.op, args, f.ty(r));
            if let Some(&earlier) = scopes.iter().rev().find_map(|s| s.get(&key)) {
                alias.insert(r, earlier);
                continue;
            }
            scopes.last_mut().expect("a scope is open").insert(key, r);
        }
        for nb in f.nested_blocks(i) {
            walk(f, nb, scopes, alias);
        }
        kept.push(i);
    }
    f.blocks[b].insts = kept;
    scopes.pop();
}

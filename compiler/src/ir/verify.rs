//! The IR verifier: run after every pass in debug builds and by the tests.
//! It checks that every use is dominated by its definition (in structured
//! form: defined earlier in the same block or in an enclosing one), that blocks
//! end in the right terminator, that loop and branch values agree in type, and
//! that masks are derived only from masked operands.

use super::*;
use std::collections::HashSet;

pub fn verify_function(f: &Function) -> Result<(), String> {
    let mut visible = HashSet::new();
    let mut seen_blocks = HashSet::new();
    check_block(f, f.entry, &mut visible, &mut seen_blocks, None)
}

fn check_block(
    f: &Function,
    b: Block,
    visible: &mut HashSet<Value>,
    seen: &mut HashSet<Block>,
    yields: Option<Vec<TensorType>>,
) -> Result<(), String> {
    if !seen.insert(b) {
        return Err(format!("{b} is nested twice"));
    }
    let mut defined_here = Vec::new();
    for &p in &f.blocks[b].params {
        visible.insert(p);
        defined_here.push(p);
    }
    let insts = &f.blocks[b].insts;
    for (k, &i) in insts.iter().enumerate() {
        let d = &f.insts[i];
        for a in &d.args {
            if !visible.contains(a) {
                return Err(format!("{i} uses {a}, which is not defined before it"));
            }
        }
        if d.masked && d.args.iter().any(|a| f.ty(*a).secret && !f.is_masked(*a)) {
            return Err(format!("{i} derives a mask from an operand without one"));
        }
        if d.op == Op::Mask
            && (d.args.len() != 1
                || d.results.len() != 1
                || !f.ty(d.args[0]).secret
                || f.ty(d.args[0]) != f.ty(d.results[0]))
        {
            return Err(format!("{i} must mask one secret into its own type"));
        }
        if d.op.is_terminator() != (k + 1 == insts.len()) {
            return Err(format!("{b} must end in exactly one terminator ({i})"));
        }
        match &d.op {
            Op::For { body, .. } => {
                let params = &f.blocks[*body].params;
                let carried: Vec<TensorType> = d.args.iter().map(|a| f.ty(*a).clone()).collect();
                let results: Vec<TensorType> = d.results.iter().map(|r| f.ty(*r).clone()).collect();
                let param_tys: Vec<TensorType> =
                    params.iter().skip(1).map(|p| f.ty(*p).clone()).collect();
                if params.first().map(|p| f.ty(*p)) != Some(&TensorType::public_index()) {
                    return Err(format!(
                        "loop {i}: the body's first parameter must be the int<64> counter"
                    ));
                }
                if carried != results || carried != param_tys {
                    return Err(format!(
                        "loop {i}: carried values, body parameters and results differ in type"
                    ));
                }
                check_block(f, *body, visible, seen, Some(results))?;
            }
            Op::If {
                then_block,
                else_block,
            } => {
                let results: Vec<TensorType> = d.results.iter().map(|r| f.ty(*r).clone()).collect();
                check_block(f, *then_block, visible, seen, Some(results.clone()))?;
                check_block(f, *else_block, visible, seen, Some(results))?;
            }
            Op::Yield => {
                let got: Vec<TensorType> = d.args.iter().map(|a| f.ty(*a).clone()).collect();
                if Some(&got) != yields.as_ref() {
                    return Err(format!(
                        "{i} yields values whose types differ from what its block must produce"
                    ));
                }
            }
            Op::Return => {
                if yields.is_some() {
                    return Err(format!("{i}: return inside a nested block"));
                }
                let got: Vec<TensorType> = d.args.iter().map(|a| f.ty(*a).clone()).collect();
                if got != f.ret {
                    return Err(format!(
                        "{i} returns values of other types than the function's"
                    ));
                }
            }
            _ => {}
        }
        for &r in &d.results {
            visible.insert(r);
            defined_here.push(r);
        }
    }
    if insts.is_empty() {
        return Err(format!("{b} is empty: it must end in a terminator"));
    }
    // Values of this block are not visible after it.
    for v in defined_here {
        visible.remove(&v);
    }
    Ok(())
}

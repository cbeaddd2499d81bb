//! The cost report of `mpcc --stats`: per function instance, the interactive
//! operations and rounds one call executes (loops multiplied by their trip
//! counts; for a run-time `if`, the costlier branch), and the registers it needs.

use crate::codegen::allocate;
use crate::ir::*;
use crate::passes::block_batches;
use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnStats {
    pub name: String,
    /// Interactive operations in the code.
    pub interactive_static: u64,
    /// Interactive operations executed by one call.
    pub interactive_executed: u64,
    /// Round batches (the compiler's groups of independent communication)
    /// executed by one call; a protocol takes one or more network rounds for each.
    pub rounds: u64,
    pub registers: usize,
}

fn walk(f: &Function, b: Block) -> (u64, u64, u64) {
    let (mut stat, mut exec, mut rounds): (u64, u64, u64) = (0, 0, block_batches(f, b));
    for &i in &f.blocks[b].insts {
        if f.is_interactive(i) {
            stat += 1;
            exec += 1;
        }
        match f.insts[i].op {
            Op::For { lo, hi, body } => {
                let trips = hi.saturating_sub(lo).max(0) as u64;
                let (s, e, r) = walk(f, body);
                stat += s;
                exec = exec.saturating_add(e.saturating_mul(trips));
                rounds = rounds.saturating_add(r.saturating_mul(trips));
            }
            Op::If {
                then_block,
                else_block,
            } => {
                let (s1, e1, r1) = walk(f, then_block);
                let (s2, e2, r2) = walk(f, else_block);
                stat += s1 + s2;
                exec += e1.max(e2);
                rounds += r1.max(r2);
            }
            _ => {}
        }
    }
    (stat, exec, rounds)
}

pub fn function_stats(f: &Function) -> FnStats {
    let (interactive_static, interactive_executed, rounds) = walk(f, f.entry);
    FnStats {
        name: f.name.clone(),
        interactive_static,
        interactive_executed,
        rounds,
        registers: allocate(f).registers.len(),
    }
}

/// The table printed by `mpcc --stats`; `main` last.
pub fn render(m: &Module) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>12} {:>12} {:>8} {:>9}  function",
        "interactive", "executed", "batches", "registers"
    );
    for f in m.functions.values() {
        let st = function_stats(f);
        let _ = writeln!(
            s,
            "{:>12} {:>12} {:>8} {:>9}  {}",
            st.interactive_static, st.interactive_executed, st.rounds, st.registers, st.name
        );
    }
    s
}

//! The cost report of `mpcc --stats`: per function instance, the interactive
//! operations and rounds one call executes (loops multiplied by their trip
//! counts; for a run-time `if`, the costlier branch), and the registers it needs;
//! and a protocol's costs by source location summed by the function whose
//! definition holds the location.

use crate::ast::Item;
use crate::codegen::allocate;
use crate::ir::*;
use crate::passes::block_batches;
use crate::source::SourceMap;
use std::fmt::Write;
use std::path::Path;

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

/// A function definition's place: file base name, and first and last
/// `(line, column)` of its text.
struct Definition {
    file: String,
    name: String,
    from: (usize, usize),
    to: (usize, usize),
}

/// Every function definition of `sources` (the main file's, then each module's,
/// named `module::function`).
fn definitions(sources: &SourceMap) -> Vec<Definition> {
    let mut defs = Vec::new();
    for (id, file) in sources.files.iter().enumerate() {
        let id = id as crate::source::FileId;
        let Ok(items) = crate::driver::parse(sources, id) else {
            continue;
        };
        let path = Path::new(&file.name);
        let base = path
            .file_name()
            .map_or(file.name.clone(), |f| f.to_string_lossy().into_owned());
        let module = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        for item in items {
            if let Item::Fn(f) = item {
                let name = match (&module, id) {
                    (Some(m), 1..) => format!("{m}::{}", f.name.name),
                    _ => f.name.name.clone(),
                };
                defs.push(Definition {
                    file: base.clone(),
                    name,
                    from: sources.line_col(id, f.span.start),
                    to: sources.line_col(id, f.span.end),
                });
            }
        }
    }
    defs
}

/// Sums costs given per source location (`file:line:col`, in order) by the
/// function whose definition holds the location; rows in order of first appearance.
pub fn by_function<const N: usize>(
    sources: &SourceMap,
    rows: &[(String, u64, [u64; N])],
) -> Vec<(String, u64, [u64; N])> {
    let defs = definitions(sources);
    let function = |place: &str| -> String {
        let mut parts = place.rsplitn(3, ':');
        let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            return place.to_string();
        };
        let (Ok(line), Ok(col)) = (line.parse::<usize>(), col.parse::<usize>()) else {
            return place.to_string();
        };
        defs.iter()
            .find(|d| d.file == file && d.from <= (line, col) && (line, col) <= d.to)
            .map_or(place.to_string(), |d| d.name.clone())
    };
    let mut out: Vec<(String, u64, [u64; N])> = Vec::new();
    for (place, rounds, bytes) in rows {
        let name = function(place);
        let at = match out.iter().position(|r| r.0 == name) {
            Some(i) => i,
            None => {
                out.push((name, 0, [0; N]));
                out.len() - 1
            }
        };
        out[at].1 = out[at].1.saturating_add(*rounds);
        for (sum, b) in out[at].2.iter_mut().zip(bytes) {
            *sum = sum.saturating_add(*b);
        }
    }
    out
}

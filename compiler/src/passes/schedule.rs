//! Round scheduling. Within a block, every interactive operation is placed in
//! the earliest round batch after the batches that produce its operands; local
//! work runs between batches. Loops and branches split a block into segments
//! scheduled one after the other. The number of batches of a block is therefore
//! its interactive depth, and a backend sends one message per peer per round of a batch.

use crate::ir::*;
use std::collections::{HashMap, HashSet};

pub fn schedule(f: &mut Function) {
    for b in f.blocks.keys().collect::<Vec<_>>() {
        let insts = std::mem::take(&mut f.blocks[b].insts);
        let mut order = Vec::with_capacity(insts.len());
        let mut segment = Vec::new();
        let mut next_batch = 1;
        for i in insts {
            if matches!(f.insts[i].op, Op::For { .. } | Op::If { .. })
                || f.insts[i].op.is_terminator()
            {
                next_batch =
                    schedule_segment(f, &std::mem::take(&mut segment), next_batch, &mut order);
                order.push(i);
            } else {
                segment.push(i);
            }
        }
        schedule_segment(f, &segment, next_batch, &mut order);
        f.blocks[b].insts = order;
    }
}

/// Orders one straight-line segment; returns the next free batch id.
fn schedule_segment(
    f: &mut Function,
    segment: &[Inst],
    first_batch: u32,
    order: &mut Vec<Inst>,
) -> u32 {
    let mut ready: HashMap<Value, u32> = HashMap::new();
    let mut level = Vec::with_capacity(segment.len());
    let mut depth = 0;
    // Prints keep their order: none is placed before an earlier one.
    let mut last_print = 0;
    for &i in segment {
        let mut r_in = f.insts[i]
            .args
            .iter()
            .map(|a| ready.get(a).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        if matches!(f.insts[i].op, Op::Print(_)) {
            r_in = r_in.max(last_print);
            last_print = r_in;
        }
        let interactive = f.is_interactive(i);
        let r_out = if interactive { r_in + 1 } else { r_in };
        depth = depth.max(r_out);
        for &r in &f.insts[i].results {
            ready.insert(r, r_out);
        }
        level.push((r_out, interactive));
    }
    for k in 0..=depth {
        // Batch k's interactive operations, then the local work that becomes ready after it.
        for (n, &i) in segment.iter().enumerate() {
            if level[n] == (k, true) {
                f.insts[i].batch = first_batch + k - 1;
                order.push(i);
            }
        }
        for (n, &i) in segment.iter().enumerate() {
            if level[n] == (k, false) {
                f.insts[i].batch = 0;
                order.push(i);
            }
        }
    }
    first_batch + depth
}

/// The number of round batches in a block (not counting nested blocks).
pub fn block_batches(f: &Function, b: Block) -> u64 {
    let batches: HashSet<u32> = f.blocks[b]
        .insts
        .iter()
        .map(|&i| f.insts[i].batch)
        .filter(|&x| x != 0)
        .collect();
    batches.len() as u64
}

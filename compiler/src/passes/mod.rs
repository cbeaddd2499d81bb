//! IR passes, run in this order by [`run_all`]: inlining (calls to the
//! monomorphized instances disappear), constant folding, loop-invariant code
//! motion, common-subexpression elimination, merged truncations, dead-code
//! elimination, peephole rewrites (max pooling before ReLU), mask reuse (for
//! Beaver-style backends), and round scheduling.

mod cse;
mod dce;
mod fold;
mod inline;
mod licm;
mod masks;
mod peephole;
mod schedule;

pub use schedule::block_batches;

use crate::ir::{verify_function, Module};

/// Runs every pass; `mask_reuse` opens each product operand's mask once for
/// all its products (compiling for semi2k or spdz2k).
pub fn run_all(m: &mut Module, mask_reuse: bool) -> Result<(), String> {
    inline::inline_all(m);
    for f in m.functions.values_mut() {
        fold::fold(f);
        licm::hoist_invariants(f);
        cse::eliminate_common_subexpressions(f);
        peephole::merge_truncations(f);
        dce::dce(f);
        peephole::pool_before_relu(f);
        if mask_reuse {
            masks::reuse_masks(f);
        }
        schedule::schedule(f);
        verify_function(f).map_err(|e| format!("internal compiler error in {}: {e}", f.name))?;
    }
    Ok(())
}

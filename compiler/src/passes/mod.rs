//! IR passes, run in this order by [`run_all`]: inlining (calls to the
//! monomorphized instances disappear), constant folding, loop-invariant code
//! motion, common-subexpression elimination, merged truncations, dead-code
//! elimination, peephole rewrites (max pooling before ReLU), mask ids, and
//! round scheduling.

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

pub fn run_all(m: &mut Module) -> Result<(), String> {
    inline::inline_all(m);
    for f in m.functions.values_mut() {
        fold::fold(f);
        licm::hoist_invariants(f);
        cse::eliminate_common_subexpressions(f);
        peephole::merge_truncations(f);
        dce::dce(f);
        peephole::pool_before_relu(f);
        masks::assign_masks(f);
        schedule::schedule(f);
        verify_function(f).map_err(|e| format!("internal compiler error in {}: {e}", f.name))?;
    }
    Ok(())
}

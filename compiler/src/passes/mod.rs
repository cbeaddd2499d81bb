//! IR passes, run in this order by [`run_all`]: inlining (calls to the
//! monomorphized instances disappear), constant folding, dead-code elimination,
//! mask ids, and round scheduling.

mod dce;
mod fold;
mod inline;
mod masks;
mod schedule;

pub use schedule::block_batches;

use crate::ir::{verify_function, Module};

pub fn run_all(m: &mut Module) -> Result<(), String> {
    inline::inline_all(m);
    for f in m.functions.values_mut() {
        fold::fold(f);
        dce::dce(f);
        masks::assign_masks(f);
        schedule::schedule(f);
        verify_function(f).map_err(|e| format!("internal compiler error in {}: {e}", f.name))?;
    }
    Ok(())
}

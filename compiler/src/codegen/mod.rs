//! From scheduled IR to bytecode: register allocation and emission.

mod emit;
mod regalloc;

pub use emit::emit;
pub use regalloc::{allocate, Allocation, Point};

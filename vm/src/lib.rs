//! `mpcvm`: the per-party virtual machine of mpcc.
//!
//! It owns the bytecode format ([`bytecode`]) that the compiler emits, the
//! shape rules both sides check ([`shape`]), the interpreter ([`interp`]) and the
//! protocol backends ([`backend`]).

pub mod backend;
pub mod bytecode;
mod error;
pub mod interp;
pub mod io;
pub mod memory;
pub mod net;
pub mod party_files;
pub mod progress;
pub mod ring;
pub mod run;
pub mod shape;
pub mod shares;
pub mod types;

pub use error::VmError;

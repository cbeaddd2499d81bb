//! `mpcc`: the compiler of the mpcc tensor language for secure multi-party
//! computation. The pipeline is in [`driver`]: lexer ([`lexer`], logos) and
//! parser (lalrpop) to the [`ast`]; [`elaborate`] checks types, shapes and
//! secrecy, monomorphizes generic functions and lowers to the [`ir`]; [`passes`]
//! inline, fold, remove dead code, name masks and schedule rounds; [`codegen`]
//! allocates registers and emits the bytecode that `mpcvm` runs.

pub mod ast;
pub mod codegen;
pub mod diag;
pub mod driver;
pub mod elaborate;
pub mod ir;
pub mod lexer;
pub mod passes;
pub mod source;
pub mod stats;
pub mod suggest;
pub mod tflite;

#[allow(clippy::all, unused)]
mod grammar {
    include!(concat!(env!("OUT_DIR"), "/grammar.rs"));
}

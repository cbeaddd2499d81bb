//! Oblivious transfer among the parties of a Beaver backend, pairwise: base
//! OTs by Chou and Orlandi's "simplest OT" over Ristretto255 ([`base`]),
//! extended by SoftSpokenOT into as many correlated OTs as the preprocessing
//! needs ([`softspoken`]), and turned into additive or XOR shares of products of one
//! party's bits with another party's words ([`cot`]), which is all the
//! preprocessing of semi2k needs (triples, square pairs, matrix and
//! convolution triples, random bits, AND triples).
//!
//! Security: passive (semi-honest), against any coalition: every pair of
//! parties runs its own OTs in both directions, each with its own secrets.

pub mod base;
pub mod cot;
mod hash;
pub mod softspoken;
pub mod vole;

pub use cot::{Lane, Pairwise, Stage, StageOut};

/// The computational security parameter: base OTs per direction, bits of the
/// extension's correlation.
pub const KAPPA: usize = 128;

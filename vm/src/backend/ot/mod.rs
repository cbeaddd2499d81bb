//! Oblivious transfer among the parties of a Beaver backend, pairwise: base
//! OTs by Chou and Orlandi's "simplest OT" over Ristretto255 ([`base`]),
//! extended by SoftSpokenOT into as many correlated OTs as the preprocessing
//! needs ([`softspoken`]), and turned into additive or XOR shares of products of one
//! party's bits with another party's words ([`cot`]), which is all the
//! preprocessing of semi2k needs (triples, square pairs, matrix and
//! convolution triples, random bits, AND triples).
//!
//! Security: every pair of parties runs its own OTs in both directions, each
//! with its own secrets. Passive (semi-honest) as semi2k runs it; against an
//! active receiver with [`Pairwise::checked`] (KOS's consistency check,
//! [`consistency`]), as spdz2k runs it. A sender's wrong corrections are
//! not caught here: they are an additive error in a product, which spdz2k's
//! sacrifice catches (and whose selective failure its triples absorb).

pub mod base;
pub(crate) mod consistency;
pub mod cot;
pub(crate) mod hash;
pub mod softspoken;
pub mod vole;

pub use cot::{Lane, Pairwise, Stage, StageOut};

/// The computational security parameter: base OTs per direction, bits of the
/// extension's correlation.
pub const KAPPA: usize = 128;

//! Preprocessing: the correlated randomness of the Beaver backends (masks,
//! triples, products of masks), produced before or beside the online phase and
//! consumed item by item in the order [`plan`] fixes.
//!
//! `--prep dealer` (INSECURE: a trusted third party): the dealer gives each
//! party a seed at setup; every party draws its shares of an item from its own
//! seed, positioned at the item ([`Prf::seek`]), so the dealer, which holds
//! every seed, knows every share. Only the last party's shares of the values
//! that must be *correlated* (a product of masks) cannot come from its seed:
//! the dealer sends them, the value minus the others' shares, one frame per
//! item, on a stream outside the rounds. The dealer sees no opened value and
//! no input; it could reconstruct every secret from what the parties open, so
//! it must be trusted not to collude with any of them.
//!
//! `--prep ot` (the default): the parties make every item together before the
//! online phase ([`ot`]), or ahead of time into files ([`file`], `mpcvm prep`);
//! [`check`] holds any source's items to the correlation they need.

pub mod check;
pub mod dealer;
pub mod file;
pub mod ot;
pub mod plan;
pub(crate) mod replay;
pub(crate) mod terms;

pub use replay::material_words;

use super::prf::Prf;
use crate::net::Stream;
use crate::VmError;
use std::collections::VecDeque;

/// Refuses a run that ends with `left` preprocessed items not taken.
pub fn all_used(left: u64) -> Result<(), VmError> {
    match left {
        0 => Ok(()),
        left => Err(VmError::Usage(format!(
            "{left} preprocessed items were left unused: the material made for this run does not match what it consumed (a bug)"
        ))),
    }
}

/// How the parties' shares of a part of an item make its value: a sum in the
/// ring, or an XOR (bits, as planes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    Add,
    Xor,
}

/// The parts of an item: random ones (each party's share drawn from its seed)
/// and correlated ones (functions of the random ones, or of masks of earlier
/// items), by their sizes in words and how shares combine.
pub struct Layout {
    pub random: Vec<(usize, Combine)>,
    pub correlated: Vec<(usize, Combine)>,
}

impl Layout {
    pub fn new(random: &[(usize, Combine)], correlated: &[(usize, Combine)]) -> Layout {
        Layout {
            random: random.to_vec(),
            correlated: correlated.to_vec(),
        }
    }
    /// This item's parts followed by `next`'s (an operation built of several).
    pub fn then(mut self, next: Layout) -> Layout {
        self.random.extend(next.random);
        self.correlated.extend(next.correlated);
        self
    }
}

/// This party's shares of an item's parts, in the order of its layout.
pub struct Item {
    pub random: Vec<Vec<u64>>,
    pub correlated: Vec<Vec<u64>>,
}

/// This party's source of preprocessed items, in plan order.
pub enum Material {
    /// From a dealer.
    Dealt {
        /// Draws of this party's shares, from the seed the dealer gave it.
        prf: Prf,
        /// The next item.
        item: u64,
        /// At the last party: the dealer's corrections, a frame per item.
        corrections: Option<Stream>,
    },
    /// Made beforehand (by OT), the next first.
    Made(VecDeque<Item>),
    /// Made ahead of time by `mpcvm prep`, read as the run goes.
    File(file::Reader),
}

impl Material {
    pub fn dealt(seed: [u8; 16], corrections: Option<Stream>) -> Material {
        Material::Dealt {
            prf: Prf::new(seed),
            item: 0,
            corrections,
        }
    }

    pub fn made(items: Vec<Item>) -> Material {
        Material::Made(items.into())
    }

    /// The shares of the next item of `layout`. Dealt: its random parts, then
    /// its correlated parts, each drawn from the seed in that order, except
    /// that the last party receives all its correlated parts from the dealer
    /// in one frame. Made: the next item, which must have the layout's sizes.
    pub fn take(&mut self, layout: &Layout) -> Result<Item, VmError> {
        let sizes = |parts: &[(usize, Combine)]| parts.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let (random_sizes, correlated_sizes) = (sizes(&layout.random), sizes(&layout.correlated));
        let (prf, item, corrections) = match self {
            Material::File(reader) => return reader.take(layout),
            Material::Made(items) => {
                let item = items.pop_front().ok_or_else(|| {
                    VmError::Usage(
                        "the preprocessed material ran out before the program's end".into(),
                    )
                })?;
                let lens = |parts: &[Vec<u64>]| parts.iter().map(Vec::len).collect::<Vec<_>>();
                if lens(&item.random) != random_sizes || lens(&item.correlated) != correlated_sizes
                {
                    return Err(VmError::Usage(
                        "the preprocessed material does not match the program at this item".into(),
                    ));
                }
                return Ok(item);
            }
            Material::Dealt {
                prf,
                item,
                corrections,
            } => (prf, item, corrections),
        };
        let number = *item;
        prf.seek(number);
        *item += 1;
        let random = random_sizes.iter().map(|n| prf.elements(*n)).collect();
        let correlated = match corrections {
            Some(stream) => {
                let frame = stream.receive().map_err(VmError::Network)?;
                let total: usize = correlated_sizes.iter().sum();
                if frame.len() != total {
                    return Err(VmError::Network(format!(
                        "the dealer sent {} elements for item {number}, which needs {total}: a protocol violation or a bug",
                        frame.len()
                    )));
                }
                let mut at = 0;
                correlated_sizes
                    .iter()
                    .map(|n| {
                        at += n;
                        frame[at - n..at].to_vec()
                    })
                    .collect()
            }
            None => correlated_sizes.iter().map(|n| prf.elements(*n)).collect(),
        };
        Ok(Item { random, correlated })
    }

    /// Random shares of `n` elements (a mask), independent of everything.
    pub fn mask(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        let mut item = self.take(&Layout::new(&[(n, Combine::Add)], &[]))?;
        Ok(item.random.remove(0))
    }

    /// Items made for the run and not taken or skipped (none for a dealer,
    /// whose items are made as they are taken).
    pub fn left(&self) -> u64 {
        match self {
            Material::Made(queue) => queue.len() as u64,
            Material::File(reader) => reader.left(),
            Material::Dealt { .. } => 0,
        }
    }

    /// Passes over `items` items (those of a branch not taken; the last
    /// party reads and drops their frames: the dealer sends one per item).
    pub fn skip(&mut self, items: u64) -> Result<(), VmError> {
        match self {
            Material::File(reader) => reader.skip(items)?,
            Material::Made(queue) => {
                if (queue.len() as u64) < items {
                    return Err(VmError::Usage(
                        "the preprocessed material ran out before the program's end".into(),
                    ));
                }
                queue.drain(..items as usize);
            }
            Material::Dealt {
                item, corrections, ..
            } => {
                *item += items;
                if let Some(stream) = corrections {
                    for _ in 0..items {
                        stream.receive().map_err(VmError::Network)?;
                    }
                }
            }
        }
        Ok(())
    }
}

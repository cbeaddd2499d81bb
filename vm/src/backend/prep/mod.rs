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

pub mod dealer;
pub mod plan;

use super::prf::Prf;
use crate::net::Stream;
use crate::VmError;

/// This party's source of preprocessed items, in plan order.
pub struct Material {
    /// Draws of this party's shares, from the seed the dealer gave it.
    prf: Prf,
    /// The next item.
    item: u64,
    /// At the last party: the dealer's corrections, a frame per correlated item.
    corrections: Option<Stream>,
}

impl Material {
    pub fn dealt(seed: [u8; 16], corrections: Option<Stream>) -> Material {
        Material {
            prf: Prf::new(seed),
            item: 0,
            corrections,
        }
    }

    /// Starts the next item; returns its number.
    fn next(&mut self) -> u64 {
        let item = self.item;
        self.prf.seek(item);
        self.item += 1;
        item
    }

    /// Random shares of `n` elements (a mask), independent of everything.
    pub fn mask(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        let (mut parts, _) = self.correlated(&[n], 0)?;
        Ok(parts.remove(0))
    }

    /// The shares of one item, drawn in a fixed order: random parts of the
    /// sizes `random` (a triple's `a` and `b`), then shares of the correlated
    /// part of `nc` elements (a product of `a` and `b`, or of masks earlier
    /// items drew), which the last party receives from the dealer instead.
    pub fn correlated(
        &mut self,
        random: &[usize],
        nc: usize,
    ) -> Result<(Vec<Vec<u64>>, Vec<u64>), VmError> {
        let item = self.next();
        let parts = random.iter().map(|&n| self.prf.elements(n)).collect();
        let c = match &mut self.corrections {
            Some(stream) => {
                let c = stream.receive().map_err(VmError::Network)?;
                if c.len() != nc {
                    return Err(VmError::Network(format!(
                        "the dealer sent {} elements for item {item}, which needs {nc}: a protocol violation or a bug",
                        c.len()
                    )));
                }
                c
            }
            None => self.prf.elements(nc),
        };
        Ok((parts, c))
    }

    /// Passes over `items` items (those of a branch not taken; the last
    /// party reads and drops their frames: the dealer sends one per item).
    pub fn skip(&mut self, items: u64) -> Result<(), VmError> {
        self.item += items;
        if let Some(stream) = &mut self.corrections {
            for _ in 0..items {
                stream.receive().map_err(VmError::Network)?;
            }
        }
        Ok(())
    }
}

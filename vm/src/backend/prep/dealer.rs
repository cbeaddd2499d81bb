//! The dealer of `--prep dealer`: replays the program's items (see
//! [`super::replay`]) with every party's seed, so it knows each mask and
//! random share, and sends the last party its shares of the correlated
//! values, one frame per item. It runs no other part of the program and never
//! learns an opened value.

use super::replay::{product_layout, product_value, replay, Producer};
use super::{Combine, Layout};
use crate::backend::prf::Prf;
use crate::backend::semi2k::{self, Composed};
use crate::bytecode::{Instr, Program};
use crate::net::Stream;
use crate::ring::RingTensor;
use crate::VmError;
use std::sync::Arc;

struct Dealer<'p> {
    program: &'p Program,
    /// Each party's draws.
    parties: Vec<Prf>,
    item: u64,
    to_last: &'p mut Stream,
}

/// Deals every item of `program` to its parties (whose seeds are `seeds`, in
/// party order), sending the last party its corrections on `to_last`.
pub fn deal(program: &Program, seeds: &[[u8; 16]], to_last: &mut Stream) -> Result<(), VmError> {
    let mut d = Dealer {
        program,
        parties: seeds.iter().map(|s| Prf::new(*s)).collect(),
        item: 0,
        to_last,
    };
    replay(program, &mut d)
}

impl Dealer<'_> {
    /// Draws item `self.item` of `layout` as every party does: its random
    /// parts combined over all parties, and its correlated parts combined over
    /// every party but the last (whose shares the dealer sends).
    fn draw(&mut self, layout: &Layout) -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
        let combine = |into: &mut Vec<u64>, from: Vec<u64>, how: Combine| {
            for (x, y) in into.iter_mut().zip(from) {
                *x = match how {
                    Combine::Add => x.wrapping_add(y),
                    Combine::Xor => *x ^ y,
                };
            }
        };
        let mut random: Vec<Vec<u64>> = layout.random.iter().map(|(n, _)| vec![0; *n]).collect();
        let mut others: Vec<Vec<u64>> =
            layout.correlated.iter().map(|(n, _)| vec![0; *n]).collect();
        let last = self.parties.len() - 1;
        for (p, prf) in self.parties.iter_mut().enumerate() {
            prf.seek(self.item);
            for (sum, (n, how)) in random.iter_mut().zip(&layout.random) {
                combine(sum, prf.elements(*n), *how);
            }
            if p != last {
                for (sum, (n, how)) in others.iter_mut().zip(&layout.correlated) {
                    combine(sum, prf.elements(*n), *how);
                }
            }
        }
        self.item += 1;
        (random, others)
    }

    /// Sends the last party its shares of the correlated parts `values`: each
    /// value minus (or XOR) the other parties' shares, in one frame.
    fn send(
        &mut self,
        layout: &Layout,
        values: &[Vec<u64>],
        others: Vec<Vec<u64>>,
    ) -> Result<(), VmError> {
        let mut frame = Vec::new();
        for ((value, other), (_, how)) in values.iter().zip(others).zip(&layout.correlated) {
            frame.extend(value.iter().zip(other).map(|(v, o)| match how {
                Combine::Add => v.wrapping_sub(o),
                Combine::Xor => v ^ o,
            }));
        }
        self.to_last
            .send(vec![Arc::new(frame)])
            .map_err(VmError::Network)
    }
}

impl Producer for Dealer<'_> {
    type W = u64;
    fn mask(&mut self, shape: &[usize]) -> Result<RingTensor, VmError> {
        let n = shape.iter().product();
        let layout = Layout::new(&[(n, Combine::Add)], &[]);
        let (mut random, others) = self.draw(&layout);
        self.send(&layout, &[], others)?;
        Ok(RingTensor::new(shape.to_vec(), random.remove(0)))
    }

    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&RingTensor, &RingTensor)>,
    ) -> Result<(), VmError> {
        let layout = product_layout(self.program, i, masks.is_none());
        let (random, others) = self.draw(&layout);
        let c = product_value(self.program, i, masks, random);
        self.send(&layout, &[c.data], others)
    }

    fn trunc(&mut self, n: usize, m: u32, exact: bool) -> Result<(), VmError> {
        let layout = semi2k::trunc_layout(n, m as usize, exact);
        let (random, others) = self.draw(&layout);
        let parts = semi2k::trunc_correlated(&random, n, m, exact);
        self.send(&layout, &parts, others)
    }

    fn composed(&mut self, c: &Composed) -> Result<(), VmError> {
        let recording = c.recording();
        let (random, others) = self.draw(&recording.layout);
        self.send(&recording.layout, &recording.correlated(&random), others)
    }
}

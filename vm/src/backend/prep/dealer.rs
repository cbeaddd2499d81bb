//! The dealer of `--prep dealer`: replays the program's items (see [`plan`])
//! with every party's seed, so it knows each mask and random share, and sends
//! the last party its shares of the correlated values, one frame per item.
//!
//! Masks derived by linear instructions (mask reuse) are replayed on the masks
//! themselves: the instruction's own map applied to its operands' masks, with
//! public operands as zeros when they are added and as the pool constant when
//! they multiply (the verifier admits no other). The dealer runs no other part
//! of the program and never learns an opened value.

use super::plan::{self, takes_item};
use super::{Combine, Layout};
use crate::backend::prf::Prf;
use crate::backend::semi2k;
use crate::bytecode::{operands, Instr, Program, Reg};
use crate::interp::linear_map;
use crate::net::Stream;
use crate::ring::RingTensor;
use crate::VmError;
use std::sync::Arc;

/// What the dealer knows of a register.
#[derive(Clone)]
enum Shadow {
    /// The whole mask of a masked secret.
    Mask(RingTensor),
    /// A value of the constant pool.
    Constant(u32),
}

struct Dealer<'p> {
    program: &'p Program,
    /// Each party's draws.
    parties: Vec<Prf>,
    shadow: Vec<Option<Shadow>>,
    derives_mask: Vec<bool>,
    item: u64,
    to_last: &'p mut Stream,
}

/// Deals every item of `program` to its parties (whose seeds are `seeds`, in
/// party order), sending the last party its corrections on `to_last`.
pub fn deal(program: &Program, seeds: &[[u8; 16]], to_last: &mut Stream) -> Result<(), VmError> {
    let mut derives_mask = vec![false; program.code.len()];
    for &pc in &program.masked {
        derives_mask[pc as usize] = true;
    }
    let mut d = Dealer {
        program,
        parties: seeds.iter().map(|s| Prf::new(*s)).collect(),
        shadow: vec![None; program.registers.len()],
        derives_mask,
        item: 0,
        to_last,
    };
    plan::walk(program, 0..program.code.len(), &mut |pc, i, batched| {
        d.visit(pc, i, batched)
    })
}

impl Dealer<'_> {
    fn len(&self, r: Reg) -> usize {
        self.program.registers[r as usize].len()
    }

    fn mask(&self, r: Reg) -> Result<&RingTensor, VmError> {
        match &self.shadow[r as usize] {
            Some(Shadow::Mask(m)) => Ok(m),
            _ => Err(VmError::Usage(format!(
                "the dealer has no mask for r{r}: the program is not one the verifier admits"
            ))),
        }
    }

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

    fn visit(&mut self, pc: usize, i: &Instr, batched: bool) -> Result<(), VmError> {
        let p = self.program;
        let secret = |r: &Reg| p.registers[*r as usize].secret;
        let shape = |r: &Reg| p.registers[*r as usize].shape.clone();
        let (reads, dst) = operands(i);
        let value = match i {
            Instr::Const { index, .. } => Some(Shadow::Constant(*index)),
            Instr::Free { regs } => {
                for r in regs {
                    self.shadow[*r as usize] = None;
                }
                None
            }
            Instr::Mask { a, .. } => {
                let layout = Layout::new(&[(self.len(*a), Combine::Add)], &[]);
                let (mut random, others) = self.draw(&layout);
                self.send(&layout, &[], others)?;
                Some(Shadow::Mask(RingTensor::new(shape(a), random.remove(0))))
            }
            Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
                if reads.iter().all(secret) =>
            {
                let product = linear_map(p, i).expect("a product is bilinear");
                let nc = self.len(dst.expect("a product writes"));
                let (a, b) = (reads[0], reads[1]);
                let layout = semi2k::product_layout(batched, self.len(a), self.len(b), nc);
                let (c, others) = if batched {
                    let (mut random, others) = self.draw(&layout);
                    let y = RingTensor::new(shape(&b), random.remove(1));
                    let x = RingTensor::new(shape(&a), random.remove(0));
                    (product(&[&x, &y]), others)
                } else {
                    let c = product(&[self.mask(a)?, self.mask(b)?]);
                    (c, self.draw(&layout).1)
                };
                self.send(&layout, &[c.data], others)?;
                None
            }
            Instr::Trunc {
                a, amount, exact, ..
            } if secret(a) => {
                let n = self.len(*a);
                let layout = semi2k::trunc_layout(n, *amount as usize, *exact);
                let (random, others) = self.draw(&layout);
                let parts = semi2k::trunc_correlated(&random, n, *amount as u32, *exact);
                self.send(&layout, &parts, others)?;
                None
            }
            i if semi2k::Composed::of(p, i).is_some() => {
                let recording = semi2k::Composed::of(p, i)
                    .expect("just checked")
                    .recording();
                let (random, others) = self.draw(&recording.layout);
                self.send(&recording.layout, &recording.correlated(&random), others)?;
                None
            }
            _ if self.derives_mask[pc] => Some(Shadow::Mask(self.derived(i)?)),
            _ if takes_item(p, i, batched) => {
                return Err(VmError::Usage(format!(
                    "the dealer has no preparation for {}: a bug",
                    crate::bytecode::instr_text(i)
                )))
            }
            _ => None,
        };
        if let Some(d) = dst {
            self.shadow[d as usize] = value;
        }
        Ok(())
    }

    /// The mask of a linear instruction's result, from its operands' masks.
    fn derived(&self, i: &Instr) -> Result<RingTensor, VmError> {
        let p = self.program;
        let (reads, dst) = operands(i);
        let dst = dst.expect("a masked instruction writes");
        let Some(map) = linear_map(p, i) else {
            // A public value made secret: its mask is zero.
            return Ok(RingTensor::zeros(&p.registers[dst as usize].shape));
        };
        let multiplies = matches!(
            i,
            Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
        );
        let mut args = Vec::with_capacity(reads.len());
        for r in &reads {
            let t = &p.registers[*r as usize];
            args.push(if t.secret {
                self.mask(*r)?.clone()
            } else if multiplies {
                match &self.shadow[*r as usize] {
                    Some(Shadow::Constant(index)) => p.constants[*index as usize].clone(),
                    _ => {
                        return Err(VmError::Usage(format!(
                            "the dealer does not know the factor r{r}"
                        )))
                    }
                }
            } else {
                RingTensor::zeros(&t.shape)
            });
        }
        let refs: Vec<&RingTensor> = args.iter().collect();
        Ok(map(&refs))
    }
}

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
use crate::backend::prf::Prf;
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

    /// Draws item `self.item`: per party, the random parts of sizes `random`,
    /// summed over the parties, and the shares of a correlated part of `nc`
    /// elements of every party but the last, summed.
    fn draw(&mut self, random: &[usize], nc: usize) -> (Vec<RingTensor>, Vec<u64>) {
        let mut sums: Vec<Vec<u64>> = random.iter().map(|&n| vec![0; n]).collect();
        let mut others = vec![0u64; nc];
        let last = self.parties.len() - 1;
        for (p, prf) in self.parties.iter_mut().enumerate() {
            prf.seek(self.item);
            for sum in sums.iter_mut() {
                prf.add_into(sum);
            }
            if p != last {
                prf.add_into(&mut others);
            }
        }
        self.item += 1;
        let tensors = sums
            .into_iter()
            .map(|s| RingTensor::new(vec![s.len()], s))
            .collect();
        (tensors, others)
    }

    /// Sends the last party `value - others` (its share of the correlated part).
    fn send(&mut self, value: &[u64], others: Vec<u64>) -> Result<(), VmError> {
        let correction: Vec<u64> = value
            .iter()
            .zip(&others)
            .map(|(v, o)| v.wrapping_sub(*o))
            .collect();
        self.to_last
            .send(vec![Arc::new(correction)])
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
                let (mut random, _) = self.draw(&[self.len(*a)], 0);
                self.send(&[], vec![])?;
                let mask = random.remove(0);
                Some(Shadow::Mask(RingTensor::new(shape(a), mask.data)))
            }
            Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
                if reads.iter().all(secret) =>
            {
                let product = linear_map(p, i).expect("a product is bilinear");
                let nc = self.len(dst.expect("a product writes"));
                let (a, b) = (reads[0], reads[1]);
                let (c, others) = if batched {
                    let (random, others) = self.draw(&[self.len(a), self.len(b)], nc);
                    let x = RingTensor::new(shape(&a), random[0].data.clone());
                    let y = RingTensor::new(shape(&b), random[1].data.clone());
                    (product(&[&x, &y]), others)
                } else {
                    let c = product(&[self.mask(a)?, self.mask(b)?]);
                    (c, self.draw(&[], nc).1)
                };
                self.send(&c.data, others)?;
                None
            }
            Instr::Trunc {
                a,
                amount,
                exact: false,
                ..
            } if secret(a) => {
                let n = self.len(*a);
                let (random, others) = self.draw(&[n], 2 * n);
                let pair = crate::backend::semi2k::trunc_pair(&random[0].data, *amount as u32);
                self.send(&pair, others)?;
                None
            }
            _ if self.derives_mask[pc] => Some(Shadow::Mask(self.derived(i)?)),
            _ if takes_item(p, i, batched) => {
                return Err(VmError::Usage(format!(
                    "the dealer cannot yet prepare {}",
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

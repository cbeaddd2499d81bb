//! A walk over a program's items in plan order (see [`super::plan`]) that
//! follows the masks: each `Mask` item's tensor (what a producer knows of the
//! mask: the whole of it for a dealer, this party's share for a party making
//! its own material), and the masks of values derived from masked ones by
//! linear instructions, replayed by the instruction's own map on the masks,
//! with public operands as zeros when they are added and as the pool constant
//! when they multiply (the verifier admits no other). A product of masked
//! values then hands its operands' masks to the producer.

use super::plan;
use crate::backend::semi2k::Composed;
use crate::bytecode::{operands, Instr, Program, Reg};
use crate::interp::linear_map;
use crate::ring::{Tensor, Word};
use crate::VmError;

/// What makes the items of a walk.
pub trait Producer {
    /// The ring of the masks.
    type W: Word;
    /// Which instructions take items.
    const ITEMS: plan::Items = plan::Items::Beaver;
    /// A mask of `shape`: returns the producer's tensor of it.
    fn mask(&mut self, shape: &[usize]) -> Result<Tensor<Self::W>, VmError>;
    /// The product instruction `i`: inside a round batch (a fresh triple,
    /// `masks` is `None`), or of the masks `masks` of its operands.
    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&Tensor<Self::W>, &Tensor<Self::W>)>,
    ) -> Result<(), VmError>;
    /// A truncation of `n` values by `m` bits.
    fn trunc(&mut self, n: usize, m: u32, exact: bool) -> Result<(), VmError>;
    /// A composed operation (comparisons and what builds on them).
    fn composed(&mut self, c: &Composed) -> Result<(), VmError>;
    /// An input, opening or output (items of `Items::Authenticated` only).
    fn io(&mut self, _: &Instr) -> Result<(), VmError> {
        Ok(())
    }
}

/// The layout of product instruction `i`'s item: a triple inside a round
/// batch (without `masks`), else the product of the operands' masks.
pub fn product_layout(p: &Program, i: &Instr, batched: bool) -> super::Layout {
    let (reads, dst) = operands(i);
    let len = |r: u32| p.registers[r as usize].len();
    let nc = len(dst.expect("a product writes"));
    crate::backend::semi2k::product_layout(batched, len(reads[0]), len(reads[1]), nc)
}

/// The layout of the item one execution of `i` takes (inside a round batch
/// if `batched`), if it takes one.
pub fn item_layout(p: &Program, i: &Instr, batched: bool) -> Option<super::Layout> {
    use super::{Combine, Layout};
    if !plan::takes_item(p, i, batched, plan::Items::Beaver) {
        return None;
    }
    let len = |r: &u32| p.registers[*r as usize].len();
    Some(match i {
        Instr::Mask { a, .. } => Layout::new(&[(len(a), Combine::Add)], &[]),
        Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. } => {
            product_layout(p, i, batched)
        }
        Instr::Trunc {
            a, amount, exact, ..
        } => crate::backend::semi2k::trunc_layout(len(a), *amount as usize, *exact),
        i => Composed::of(p, i)?.recording().layout,
    })
}

/// The words of material a run of `p` takes in all (both arms of a run-time
/// branch counted): what preprocessing made beforehand holds.
pub fn material_words(p: &Program) -> u64 {
    let mut layouts = std::collections::HashMap::new();
    let mut words = 0u64;
    let mut batch_left = 0;
    crate::bytecode::for_each_weighted(p, |pc, i, times| {
        let batched = batch_left > 0;
        batch_left = match i {
            Instr::Round { len } => *len,
            _ => batch_left.saturating_sub(1),
        };
        let size = *layouts.entry(pc).or_insert_with(|| {
            item_layout(p, i, batched).map_or(0, |l| {
                l.random
                    .iter()
                    .chain(&l.correlated)
                    .map(|(n, _)| *n as u64)
                    .sum()
            })
        });
        words = words.saturating_add(size.saturating_mul(times));
    });
    words
}

/// The value C = op(A, B) of product instruction `i`'s item: of the masks
/// `masks`, or of the triple's A and B (its random parts, combined).
pub fn product_value<W: Word>(
    p: &Program,
    i: &Instr,
    masks: Option<(&Tensor<W>, &Tensor<W>)>,
    mut random: Vec<Vec<W>>,
) -> Tensor<W> {
    let product = linear_map(p, i).expect("a product is bilinear");
    match masks {
        Some((x, y)) => product.apply(&[x, y]),
        None => {
            let (reads, _) = operands(i);
            let shape = |r: u32| p.registers[r as usize].shape.clone();
            let y = Tensor::new(shape(reads[1]), random.remove(1));
            let x = Tensor::new(shape(reads[0]), random.remove(0));
            product.apply(&[&x, &y])
        }
    }
}

/// What the walk knows of a register.
#[derive(Clone)]
enum Shadow<W> {
    Mask(Tensor<W>),
    Constant(u32),
}

struct Replay<'p, P: Producer> {
    program: &'p Program,
    producer: &'p mut P,
    shadow: Vec<Option<Shadow<P::W>>>,
    derives_mask: Vec<bool>,
}

/// Walks every item of `program` in plan order, handing each to `producer`.
pub fn replay<P: Producer>(program: &Program, producer: &mut P) -> Result<(), VmError> {
    let mut derives_mask = vec![false; program.code.len()];
    for &pc in &program.masked {
        derives_mask[pc as usize] = true;
    }
    let mut r = Replay {
        program,
        producer,
        shadow: vec![None; program.registers.len()],
        derives_mask,
    };
    plan::walk(program, 0..program.code.len(), &mut |pc, i, batched| {
        r.visit(pc, i, batched)
    })
}

/// The mask `shadow` knows for register `r`.
fn mask_of<W>(shadow: &[Option<Shadow<W>>], r: Reg) -> Result<&Tensor<W>, VmError> {
    match &shadow[r as usize] {
        Some(Shadow::Mask(m)) => Ok(m),
        _ => Err(VmError::Usage(format!(
            "no mask for r{r}: the program is not one the verifier admits"
        ))),
    }
}

impl<P: Producer> Replay<'_, P> {
    fn visit(&mut self, pc: usize, i: &Instr, batched: bool) -> Result<(), VmError> {
        let p = self.program;
        let secret = |r: &Reg| p.registers[*r as usize].secret;
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
                let shape = p.registers[*a as usize].shape.clone();
                Some(Shadow::Mask(self.producer.mask(&shape)?))
            }
            Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
                if reads.iter().all(secret) =>
            {
                if batched {
                    self.producer.product(i, None)?;
                } else {
                    let (a, b) = (
                        mask_of(&self.shadow, reads[0])?,
                        mask_of(&self.shadow, reads[1])?,
                    );
                    self.producer.product(i, Some((a, b)))?;
                }
                None
            }
            Instr::Trunc {
                a, amount, exact, ..
            } if secret(a) => {
                let n = p.registers[*a as usize].len();
                self.producer.trunc(n, *amount as u32, *exact)?;
                None
            }
            i if Composed::of(p, i).is_some() => {
                self.producer
                    .composed(&Composed::of(p, i).expect("just checked"))?;
                None
            }
            _ if self.derives_mask[pc] => Some(Shadow::Mask(self.derived(i)?)),
            Instr::Input { .. } | Instr::Open { .. } | Instr::Output { .. }
                if plan::takes_item(p, i, batched, P::ITEMS) =>
            {
                self.producer.io(i)?;
                None
            }
            _ if plan::takes_item(p, i, batched, P::ITEMS) => {
                return Err(VmError::Usage(format!(
                    "no preprocessing for {}: a bug",
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
    fn derived(&self, i: &Instr) -> Result<Tensor<P::W>, VmError> {
        let p = self.program;
        let (reads, dst) = operands(i);
        let dst = dst.expect("a masked instruction writes");
        let Some(map) = linear_map(p, i) else {
            // A public value made secret: its mask is zero.
            return Ok(Tensor::zeros(&p.registers[dst as usize].shape));
        };
        let multiplies = matches!(
            i,
            Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
        );
        let mut args = Vec::with_capacity(reads.len());
        for r in &reads {
            let t = &p.registers[*r as usize];
            args.push(if t.secret {
                mask_of(&self.shadow, *r)?.clone()
            } else if multiplies {
                match &self.shadow[*r as usize] {
                    Some(Shadow::Constant(index)) => {
                        P::W::lift_tensor(&p.constants[*index as usize]).into_owned()
                    }
                    _ => {
                        return Err(VmError::Usage(format!(
                            "the factor r{r} of a mask is not a constant"
                        )))
                    }
                }
            } else {
                Tensor::zeros(&t.shape)
            });
        }
        let refs: Vec<&Tensor<P::W>> = args.iter().collect();
        Ok(map.apply(&refs))
    }
}

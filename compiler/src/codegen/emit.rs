//! Emission of the bytecode of a scheduled, register-allocated function.

use super::regalloc::{Allocation, Point};
use crate::ir::*;
use mpcvm::bytecode::{derive_manifest, InputDecl, Instr, OutputDecl, Program, Reg, ShareDecl};
use mpcvm::ring::RingTensor;
use mpcvm::types::TensorType;
use std::collections::HashMap;

struct Emitter<'f> {
    f: &'f Function,
    alloc: Allocation,
    code: Vec<Instr>,
    constants: Vec<RingTensor>,
    constant_index: HashMap<RingTensor, u32>,
    inputs: Vec<InputDecl>,
    outputs: Vec<OutputDecl>,
    shares: Vec<ShareDecl>,
    texts: Vec<String>,
    /// Where the `Yield` of the innermost loop body or branch writes.
    yield_targets: Vec<Vec<Reg>>,
    /// Names a span as `file:line:col`.
    locate: &'f dyn Fn(crate::source::Span) -> String,
    sources: Vec<String>,
    source_index: HashMap<String, u32>,
    /// Per emitted instruction, its source.
    locations: Vec<u32>,
    /// The emitted instructions that derive their result's mask.
    masked: Vec<u32>,
    /// The source of the IR instruction being emitted.
    current: u32,
}

/// Emits `f`; `locate` names a span as `file:line:col` for the location table.
pub fn emit(
    f: &Function,
    alloc: Allocation,
    parties: u8,
    locate: &dyn Fn(crate::source::Span) -> String,
) -> Program {
    let mut e = Emitter {
        locate,
        sources: vec![],
        source_index: HashMap::new(),
        locations: vec![],
        masked: vec![],
        current: mpcvm::bytecode::NO_SOURCE,
        f,
        alloc,
        code: vec![],
        constants: vec![],
        constant_index: HashMap::new(),
        inputs: vec![],
        outputs: vec![],
        shares: vec![],
        texts: vec![],
        yield_targets: vec![],
    };
    e.block(f.entry);
    let mut p = Program {
        parties,
        manifest: vec![],
        registers: e.alloc.registers,
        constants: e.constants,
        inputs: e.inputs,
        outputs: e.outputs,
        shares: e.shares,
        code: e.code,
        texts: e.texts,
        sources: e.sources,
        locations: e.locations,
        masked: e.masked,
    };
    p.manifest = derive_manifest(&p);
    p
}

impl Emitter<'_> {
    /// Appends an instruction of the current source.
    fn push(&mut self, i: Instr) {
        self.code.push(i);
        self.locations.push(self.current);
    }

    fn r(&self, v: Value) -> Reg {
        self.alloc.reg[&v]
    }

    /// Frees the registers whose values die at `point`.
    fn free(&mut self, points: &[Point]) {
        let mut regs: Vec<Reg> = points
            .iter()
            .filter_map(|p| self.alloc.frees.get(p))
            .flatten()
            .copied()
            .collect();
        if !regs.is_empty() {
            regs.sort_unstable();
            self.push(Instr::Free { regs });
        }
    }

    /// Copies `srcs` into `dsts` as one parallel assignment.
    fn parallel_move(&mut self, dsts: &[Reg], srcs: &[Reg]) {
        let mut moves: Vec<(Reg, Reg)> = dsts
            .iter()
            .copied()
            .zip(srcs.iter().copied())
            .filter(|(d, s)| d != s)
            .collect();
        // A source that is also a destination is saved first, so no move reads an overwritten register.
        for m in moves.iter_mut() {
            if dsts.contains(&m.1) {
                let ty: TensorType = self.alloc.registers[m.1 as usize].clone();
                self.alloc.registers.push(ty);
                let tmp = (self.alloc.registers.len() - 1) as Reg;
                self.push(Instr::Move { dst: tmp, src: m.1 });
                m.1 = tmp;
            }
        }
        for (dst, src) in moves {
            self.push(Instr::Move { dst, src });
        }
    }

    fn block(&mut self, b: Block) {
        let insts = self.f.blocks[b].insts.clone();
        self.block_range(&insts);
    }

    fn inst(&mut self, i: Inst) {
        let d = &self.f.insts[i];
        let here = (self.locate)(d.span);
        let next = self.sources.len() as u32;
        self.current = *self.source_index.entry(here.clone()).or_insert(next);
        if self.current == next {
            self.sources.push(here);
        }
        let a: Vec<Reg> = d.args.iter().map(|v| self.r(*v)).collect();
        let dst = d.results.first().map(|v| self.r(*v)).unwrap_or(0);
        let instr = match &d.op {
            Op::Const(data) => {
                let t = RingTensor::new(self.f.ty(d.results[0]).shape.clone(), data.clone());
                let next = self.constants.len() as u32;
                let index = *self.constant_index.entry(t.clone()).or_insert_with(|| {
                    self.constants.push(t);
                    next
                });
                Instr::Const { dst, index }
            }
            Op::Input { party, name, rows } => {
                self.inputs.push(InputDecl {
                    party: *party,
                    name: name.clone(),
                    ty: file_type(self.f.ty(d.results[0]), rows),
                });
                Instr::Input {
                    dst,
                    input: self.inputs.len() as u32 - 1,
                }
            }
            Op::Output { name, to, rows } => {
                self.outputs.push(OutputDecl {
                    to: *to,
                    name: name.clone(),
                    ty: file_type(self.f.ty(d.args[0]), rows),
                });
                Instr::Output {
                    output: self.outputs.len() as u32 - 1,
                    a: a[0],
                }
            }
            Op::Keep { name } => {
                self.shares.push(ShareDecl {
                    name: name.clone(),
                    ty: self.f.ty(d.args[0]).clone(),
                    kept: true,
                });
                Instr::Keep {
                    share: self.shares.len() as u32 - 1,
                    a: a[0],
                }
            }
            Op::Load { name } => {
                self.shares.push(ShareDecl {
                    name: name.clone(),
                    ty: self.f.ty(d.results[0]).clone(),
                    kept: false,
                });
                Instr::Load {
                    dst,
                    share: self.shares.len() as u32 - 1,
                }
            }
            Op::Print(text) => {
                let index = match self.texts.iter().position(|t| t == text) {
                    Some(i) => i,
                    None => {
                        self.texts.push(text.clone());
                        self.texts.len() - 1
                    }
                };
                Instr::Print {
                    text: index as u32,
                    args: a.to_vec(),
                }
            }
            Op::Classify => Instr::Classify { dst, src: a[0] },
            Op::Add => Instr::Add {
                dst,
                a: a[0],
                b: a[1],
            },
            Op::Sub => Instr::Sub {
                dst,
                a: a[0],
                b: a[1],
            },
            Op::Neg => Instr::Neg { dst, a: a[0] },
            Op::Mul => Instr::Mul {
                dst,
                a: a[0],
                b: a[1],
            },
            Op::MatMul => Instr::MatMul {
                dst,
                a: a[0],
                b: a[1],
            },
            Op::Conv2d {
                stride,
                padding,
                depthwise,
            } => Instr::Conv2d {
                dst,
                x: a[0],
                w: a[1],
                stride: *stride,
                padding: *padding,
                depthwise: *depthwise,
            },
            Op::Div => Instr::Div {
                dst,
                a: a[0],
                b: a[1],
            },
            Op::Rem => Instr::Rem {
                dst,
                a: a[0],
                b: a[1],
            },
            Op::Shl(k) => Instr::Shl {
                dst,
                a: a[0],
                amount: *k,
            },
            Op::Trunc { amount, exact } => Instr::Trunc {
                dst,
                a: a[0],
                amount: *amount,
                exact: *exact,
            },
            Op::LtZ => Instr::LtZ { dst, a: a[0] },
            Op::EqZ => Instr::EqZ { dst, a: a[0] },
            Op::Relu => Instr::Relu { dst, a: a[0] },
            Op::Sum(axis) => Instr::Sum {
                dst,
                a: a[0],
                axis: *axis,
            },
            Op::Max(axis) => Instr::Max {
                dst,
                a: a[0],
                axis: *axis,
            },
            Op::Argmax(axis) => Instr::Argmax {
                dst,
                a: a[0],
                axis: *axis,
            },
            Op::SumPool {
                window,
                stride,
                padding,
            } => Instr::SumPool {
                dst,
                x: a[0],
                window: *window,
                stride: *stride,
                padding: *padding,
            },
            Op::MaxPool {
                window,
                stride,
                padding,
            } => Instr::MaxPool {
                dst,
                x: a[0],
                window: *window,
                stride: *stride,
                padding: *padding,
            },
            Op::Reshape => Instr::Reshape { dst, a: a[0] },
            Op::Transpose(perm) => Instr::Transpose {
                dst,
                a: a[0],
                perm: perm.clone(),
            },
            Op::Slice {
                starts,
                dynamic_axis,
            } => Instr::Slice {
                dst,
                a: a[0],
                starts: starts.clone(),
                dynamic: dynamic_axis.map(|ax| (ax, a[1])),
            },
            Op::Concat(axis) => Instr::Concat {
                dst,
                axis: *axis,
                parts: a,
            },
            Op::Open => Instr::Open { dst, a: a[0] },
            Op::Mask => Instr::Mask { dst, a: a[0] },
            Op::For { lo, hi, body } => {
                let params: Vec<Reg> = self.f.blocks[*body]
                    .params
                    .iter()
                    .map(|v| self.r(*v))
                    .collect();
                self.parallel_move(&params[1..], &a);
                self.free(&[Point::BeforeLoop(i)]);
                let begin = self.code.len();
                self.push(Instr::Loop {
                    counter: params[0],
                    lo: *lo,
                    hi: *hi,
                    end: 0,
                });
                self.yield_targets.push(params[1..].to_vec());
                self.block(*body);
                self.yield_targets.pop();
                let end = self.code.len();
                self.push(Instr::EndLoop {
                    begin: begin as u32,
                });
                if let Instr::Loop { end: e, .. } = &mut self.code[begin] {
                    *e = end as u32;
                }
                self.free(&[Point::AfterEnd(i)]);
                return;
            }
            Op::If {
                then_block,
                else_block,
            } => {
                let results: Vec<Reg> = d.results.iter().map(|v| self.r(*v)).collect();
                let start = self.code.len();
                self.push(Instr::If {
                    cond: a[0],
                    else_at: 0,
                });
                self.yield_targets.push(results);
                self.block(*then_block);
                let else_at = self.code.len();
                self.push(Instr::Else { end: 0 });
                self.block(*else_block);
                self.yield_targets.pop();
                let end = self.code.len();
                self.push(Instr::EndIf);
                if let Instr::If { else_at: e, .. } = &mut self.code[start] {
                    *e = else_at as u32;
                }
                if let Instr::Else { end: e } = &mut self.code[else_at] {
                    *e = end as u32;
                }
                self.free(&[Point::AfterEnd(i)]);
                return;
            }
            Op::Yield => {
                // Loop bodies pass the carried values to the next iteration; branches to the results.
                let targets = self
                    .yield_targets
                    .last()
                    .cloned()
                    .expect("a yield ends a loop body or a branch");
                self.parallel_move(&targets, &a);
                return;
            }
            Op::Return => return,
            Op::Call(_) => unreachable!("calls are inlined before emission"),
        };
        self.push(instr);
        if d.masked {
            self.masked.push(self.code.len() as u32 - 1);
        }
    }

    fn block_range(&mut self, insts: &[Inst]) {
        let mut k = 0;
        while k < insts.len() {
            let batch = self.f.insts[insts[k]].batch;
            let n = if batch != 0 {
                insts[k..]
                    .iter()
                    .take_while(|&&i| self.f.insts[i].batch == batch)
                    .count()
            } else {
                1
            };
            if batch != 0 {
                self.push(Instr::Round { len: n as u32 });
            }
            for &i in &insts[k..k + n] {
                self.inst(i);
            }
            let after: Vec<Point> = insts[k..k + n].iter().map(|&i| Point::After(i)).collect();
            self.free(&after);
            k += n;
        }
    }
}

/// The type of the file an input or output inside loops reads or writes: one
/// `row` per iteration, the loops' trip counts as leading axes.
fn file_type(row: &TensorType, rows: &[usize]) -> TensorType {
    let mut shape = rows.to_vec();
    shape.extend_from_slice(&row.shape);
    TensorType::new(row.secret, row.elem, shape)
}

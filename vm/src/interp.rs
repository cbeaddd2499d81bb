//! The interpreter: runs verified bytecode against a backend.
//!
//! It walks the code with a program counter (loops and branches are bytecode
//! instructions, so a loop of 10,000 iterations is not unrolled anywhere), keeps
//! tensor registers, does the local algebra itself (through the backend's
//! `linear` for shares) and hands each round batch to the backend in one call.

use crate::backend::{
    Backend, CommFigures, Interaction, LinearMap, OfflineFigures, Outcome, Product, Value,
};
use crate::bytecode::{Instr, Program, Reg};
use crate::ring::{signed, RingTensor, Tensor, WideTensor, Word};
use crate::shape::Padding;
use crate::types::TensorType;
use crate::VmError;
use std::time::Instant;

/// What one party's run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// Per output of the program: the value, if this party receives it.
    pub outputs: Vec<Option<RingTensor>>,
    pub figures: CommFigures,
    pub seconds: f64,
    /// The preprocessing made before the run, where the backend made it.
    pub offline: Option<OfflineFigures>,
    /// Most tensor elements held in registers at once.
    pub peak_register_elements: usize,
    /// Bytes this party sent to its peers per instruction (by `pc`), over
    /// the whole run: zero throughout where the backend does not attribute
    /// its messages ([`Backend::sent_by_operation`]).
    pub sent_by_pc: Vec<u64>,
}

struct Machine<'p, B: Backend> {
    program: &'p Program,
    backend: &'p mut B,
    regs: Vec<Option<Value<B::Share>>>,
    live_elements: usize,
    peak_elements: usize,
    range_check: bool,
    /// Per instruction: whether it derives its result's mask (`Program::masked`).
    derives_mask: Vec<bool>,
    /// Per instruction: the bytes sent for it so far ([`RunOutcome::sent_by_pc`]).
    sent_by_pc: Vec<u64>,
}

fn usize2(p: [u32; 2]) -> [usize; 2] {
    [p[0] as usize, p[1] as usize]
}

/// Where a run's inputs come from and where its outputs and printed lines go,
/// as the program runs. An input or output inside loops is a file of rows, one
/// per iteration: each execution of its instruction reads or writes the next.
pub trait Io {
    /// The next row (of type `row`) of input `index`, where this party holds it;
    /// the whole input for one read outside loops.
    fn input(&mut self, index: usize, row: &TensorType) -> Result<Option<RingTensor>, VmError>;
    /// The next row of output `index`, revealed to this party.
    fn output(&mut self, index: usize, row: &RingTensor) -> Result<(), VmError>;
    /// A line the program prints.
    fn print(&mut self, line: &str);
    /// Keeps this party's share of `shares[index]`: its words, component by component.
    fn keep(&mut self, index: usize, words: Vec<Vec<u64>>) -> Result<(), VmError>;
    /// The words of this party's share of `shares[index]`, as a run kept them.
    fn load(&mut self, index: usize) -> Result<Vec<Vec<u64>>, VmError>;
    /// Iteration `done` of `total` of an outermost loop has finished (for a
    /// progress bar).
    fn iteration(&mut self, _done: u64, _total: u64) {}
    /// `done` of `total` items of the offline phase are made (for a progress
    /// bar).
    fn offline(&mut self, _done: u64, _total: u64) {}
}

/// Inputs held in memory, whole (`inputs[i]` is input `i`'s tensor where this
/// process holds it); outputs only collected into the [`RunOutcome`]; printed
/// lines handed to a callback.
pub struct MemoryIo<'a> {
    inputs: Vec<Option<RingTensor>>,
    rows_read: Vec<usize>,
    print: &'a mut dyn FnMut(&str),
    /// Per share of the program: the words kept, or to be loaded.
    pub shares: Vec<Option<Vec<Vec<u64>>>>,
}

impl<'a> MemoryIo<'a> {
    pub fn new(inputs: Vec<Option<RingTensor>>, print: &'a mut dyn FnMut(&str)) -> Self {
        MemoryIo {
            rows_read: vec![0; inputs.len()],
            inputs,
            print,
            shares: Vec::new(),
        }
    }
}

impl Io for MemoryIo<'_> {
    fn input(&mut self, index: usize, row: &TensorType) -> Result<Option<RingTensor>, VmError> {
        let Some(whole) = self.inputs.get_mut(index).and_then(Option::as_mut) else {
            return Ok(None);
        };
        if whole.shape == row.shape {
            // Read once: the run consumes it (a protocol may share it in place).
            return Ok(self.inputs[index].take());
        }
        let n = row.len();
        let at = self.rows_read[index] * n;
        let data = whole.data.get(at..at + n).ok_or_else(|| {
            VmError::Input(format!(
                "input {index} has no row {} of shape {:?}",
                self.rows_read[index], row.shape
            ))
        })?;
        self.rows_read[index] += 1;
        Ok(Some(RingTensor::new(row.shape.clone(), data.to_vec())))
    }

    fn output(&mut self, _: usize, _: &RingTensor) -> Result<(), VmError> {
        Ok(())
    }

    fn print(&mut self, line: &str) {
        (self.print)(line)
    }

    fn keep(&mut self, index: usize, words: Vec<Vec<u64>>) -> Result<(), VmError> {
        if self.shares.len() <= index {
            self.shares.resize(index + 1, None);
        }
        self.shares[index] = Some(words);
        Ok(())
    }

    fn load(&mut self, index: usize) -> Result<Vec<Vec<u64>>, VmError> {
        self.shares
            .get_mut(index)
            .and_then(Option::take)
            .ok_or_else(|| VmError::Input(format!("no share {index} was given")))
    }
}

/// Runs `program` with its inputs in memory (see [`MemoryIo`]); each line the
/// program prints goes to `print` as it is printed.
pub fn run<B: Backend>(
    program: &Program,
    backend: &mut B,
    inputs: Vec<Option<RingTensor>>,
    print: &mut dyn FnMut(&str),
) -> Result<RunOutcome, VmError> {
    run_with(program, backend, &mut MemoryIo::new(inputs, print), false)
}

/// Runs `program` reading and writing through `io`; with `range_check` every
/// result the backend holds in the clear (public values, and the reference
/// backend's secrets) is held to its declared bit length: the first that leaves
/// it stops the run, naming the operation. The outcome holds every output this
/// party receives, whole (rows written inside loops joined).
pub fn run_with<B: Backend>(
    program: &Program,
    backend: &mut B,
    io: &mut dyn Io,
    range_check: bool,
) -> Result<RunOutcome, VmError> {
    let start = Instant::now();
    let mut m = Machine {
        program,
        backend,
        regs: vec![None; program.registers.len()],
        live_elements: 0,
        peak_elements: 0,
        range_check,
        derives_mask: {
            let mut flags = vec![false; program.code.len()];
            for &pc in &program.masked {
                flags[pc as usize] = true;
            }
            flags
        },
        sent_by_pc: vec![0; program.code.len()],
    };
    let mut outputs = Outputs::new(program, &*m.backend);
    let code = &program.code;
    let mut pc = 0;
    // Loops entered and not yet left: progress is reported for the outermost.
    let mut depth = 0usize;
    while pc < code.len() {
        match &code[pc] {
            Instr::Loop {
                counter,
                lo,
                hi,
                end,
            } => {
                if lo >= hi {
                    pc = *end as usize + 1;
                } else {
                    m.set(*counter, Value::Public(RingTensor::scalar(*lo as u64)));
                    depth += 1;
                    if depth == 1 {
                        io.iteration(0, hi.abs_diff(*lo));
                    }
                    pc += 1;
                }
            }
            Instr::EndLoop { begin } => {
                let Instr::Loop {
                    counter, lo, hi, ..
                } = &code[*begin as usize]
                else {
                    unreachable!("verified")
                };
                let next = signed(m.public(*counter)?.data[0]) + 1;
                if depth == 1 {
                    io.iteration(next.abs_diff(*lo), hi.abs_diff(*lo));
                }
                if next < *hi {
                    m.set(*counter, Value::Public(RingTensor::scalar(next as u64)));
                    pc = *begin as usize + 1;
                } else {
                    depth -= 1;
                    pc += 1;
                }
            }
            Instr::If { cond, else_at } => {
                pc = if m.public(*cond)?.data[0] != 0 {
                    pc + 1
                } else {
                    m.backend.skip(pc + 1..*else_at as usize)?;
                    *else_at as usize + 1
                };
            }
            Instr::Else { end } => {
                m.backend.skip(pc + 1..*end as usize)?;
                pc = *end as usize + 1
            }
            Instr::Free { regs } => {
                for r in regs {
                    m.clear(*r);
                }
                pc += 1;
            }
            Instr::EndIf => pc += 1,
            Instr::Print { text, args } => {
                let mut line = String::new();
                let mut pieces = program.texts[*text as usize].split("{}");
                line.push_str(pieces.next().unwrap_or_default());
                for (a, piece) in args.iter().zip(pieces) {
                    let ty = &program.registers[*a as usize];
                    line.push_str(&crate::io::render(m.public(*a)?, ty));
                    line.push_str(piece);
                }
                io.print(&line);
                pc += 1;
            }
            Instr::Keep { share, a } => {
                let Value::Secret(s) = m.get(*a) else {
                    unreachable!("the verifier keeps secrets only")
                };
                io.keep(*share as usize, m.backend.share_words(s))?;
                pc += 1;
            }
            Instr::Load { dst, share } => {
                let shape = &program.registers[*dst as usize].shape;
                let words = io.load(*share as usize)?;
                let s = m.backend.share_from_words(shape, words)?;
                m.set(*dst, Value::Secret(s));
                pc += 1;
            }
            Instr::Output { output, a } => {
                // A public output needs no interaction: its receivers already know it.
                let to = program.outputs[*output as usize].to;
                if m.backend.receives(to) {
                    outputs.row(*output as usize, m.public(*a)?.clone(), io)?;
                }
                pc += 1;
            }
            Instr::Round { len } => {
                let batch = &code[pc + 1..pc + 1 + *len as usize];
                m.round(pc, batch, io, &mut outputs)?;
                for (k, i) in batch.iter().enumerate() {
                    m.check_range(pc + 1 + k, i)?;
                }
                pc += 1 + *len as usize;
            }
            i => {
                m.local(pc, i)?;
                m.check_range(pc, i)?;
                pc += 1;
            }
        }
    }
    m.backend.finish()?;
    Ok(RunOutcome {
        outputs: outputs.finish()?,
        figures: m.backend.figures(),
        seconds: start.elapsed().as_secs_f64(),
        offline: m.backend.offline(),
        peak_register_elements: m.peak_elements,
        sent_by_pc: m.sent_by_pc,
    })
}

impl<B: Backend> Machine<'_, B> {
    fn get(&self, r: Reg) -> &Value<B::Share> {
        self.regs[r as usize]
            .as_ref()
            .expect("the verifier checks that registers are written before they are read")
    }
    fn set(&mut self, r: Reg, v: Value<B::Share>) {
        if self.regs[r as usize].replace(v).is_none() {
            self.live_elements += self.program.registers[r as usize].len();
            self.peak_elements = self.peak_elements.max(self.live_elements);
        }
    }
    fn clear(&mut self, r: Reg) {
        if self.regs[r as usize].take().is_some() {
            self.live_elements -= self.program.registers[r as usize].len();
        }
    }
    fn public(&self, r: Reg) -> Result<&RingTensor, VmError> {
        match self.get(r) {
            Value::Public(t) => Ok(t),
            Value::Secret(_) => unreachable!("the verifier checks that r{r} is public"),
        }
    }
    fn shape(&self, r: Reg) -> &[usize] {
        &self.program.registers[r as usize].shape
    }
    fn bits(&self, r: Reg) -> u8 {
        self.program.registers[r as usize].elem.bits()
    }

    /// With the range check on, refuses a result of instruction `pc` that its
    /// register's type does not hold.
    fn check_range(&self, pc: usize, i: &Instr) -> Result<(), VmError> {
        if !self.range_check {
            return Ok(());
        }
        let Some(dst) = crate::bytecode::operands(i).1 else {
            return Ok(());
        };
        let t = match self.get(dst) {
            Value::Public(t) => t,
            Value::Secret(s) => match self.backend.plaintext(s) {
                Some(t) => t,
                None => return Ok(()),
            },
        };
        let ty = &self.program.registers[dst as usize];
        let Some(x) = crate::ring::first_outside(t, ty.elem) else {
            return Ok(());
        };
        // A product of fixed-point values holds its factors' fractional bits
        // until it is truncated: speak of it as of the truncated result.
        let elem = |r: &Reg| self.program.registers[*r as usize].elem;
        let (x, shown) = match (i, ty.elem) {
            (
                Instr::Mul { a, b, .. }
                | Instr::MatMul { a, b, .. }
                | Instr::Conv2d { x: a, w: b, .. },
                crate::types::Elem::Fix { frac, bits },
            ) if elem(a).frac() > 0 && elem(b).frac() > 0 => {
                let extra = elem(b).frac();
                (
                    (signed(x) >> extra) as u64,
                    crate::types::Elem::Fix {
                        frac,
                        bits: bits - extra,
                    },
                )
            }
            _ => (x, ty.elem),
        };
        Err(VmError::Range(range_message(
            self.program
                .location(pc)
                .unwrap_or("an operation of the program"),
            x,
            shown,
        )))
    }

    /// Applies `f`, linear in every operand that is secret, to public values or
    /// shares (and masks, if instruction `pc` derives its result's).
    fn apply(&mut self, pc: usize, args: &[Reg], f: Linear) -> Value<B::Share> {
        let values: Vec<&Value<B::Share>> = args
            .iter()
            .map(|r| self.regs[*r as usize].as_ref().expect("verified"))
            .collect();
        if values.iter().all(|v| matches!(v, Value::Public(_))) {
            let ts: Vec<&RingTensor> = values
                .iter()
                .map(|v| {
                    if let Value::Public(t) = v {
                        t
                    } else {
                        unreachable!()
                    }
                })
                .collect();
            return Value::Public(f.apply(&ts));
        }
        // Public operands become constants of the map applied to the shares. Callers
        // pass a product here only when at most one factor is secret (the verifier
        // puts products of two secrets in round batches), so the map is linear.
        let secret_positions: Vec<usize> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| matches!(v, Value::Secret(_)))
            .map(|(i, _)| i)
            .collect();
        let shares: Vec<&B::Share> = secret_positions
            .iter()
            .map(|&i| {
                if let Value::Secret(s) = values[i] {
                    s
                } else {
                    unreachable!()
                }
            })
            .collect();
        let publics: Vec<Option<&RingTensor>> = values
            .iter()
            .map(|v| {
                if let Value::Public(t) = v {
                    Some(t)
                } else {
                    None
                }
            })
            .collect();
        let map = WithPublics {
            map: &f,
            publics: &publics,
        };
        Value::Secret(if self.derives_mask[pc] {
            self.backend.linear_masked(&shares, &map)
        } else {
            self.backend.linear(&shares, &map)
        })
    }

    /// The product instruction `i` of the secrets in its operand registers.
    fn product<'a>(
        program: &'a Program,
        regs: &'a [Option<Value<B::Share>>],
        i: &Instr,
    ) -> Product<'a, B::Share> {
        let s = |r: &Reg| match regs[*r as usize].as_ref().expect("verified") {
            Value::Secret(s) => s,
            Value::Public(_) => unreachable!("the verifier checks products of secrets"),
        };
        match i {
            Instr::Mul { dst, a, b } => Product::Mul {
                a: s(a),
                b: s(b),
                out_shape: &program.registers[*dst as usize].shape,
            },
            Instr::MatMul { a, b, .. } => Product::MatMul { a: s(a), b: s(b) },
            Instr::Conv2d {
                x,
                w,
                stride,
                padding,
                depthwise,
                ..
            } => Product::Conv2d {
                x: s(x),
                w: s(w),
                stride: usize2(*stride),
                padding: *padding,
                depthwise: *depthwise,
            },
            other => unreachable!("not a product: {other:?}"),
        }
    }

    fn local(&mut self, pc: usize, i: &Instr) -> Result<(), VmError> {
        use Instr::*;
        let masked = self.derives_mask[pc];
        let value = match i {
            Const { index, .. } => Value::Public(self.program.constants[*index as usize].clone()),
            Classify { src, .. } => {
                let t = self.public(*src)?.clone();
                Value::Secret(if masked {
                    self.backend.classify_masked(&t)
                } else {
                    self.backend.classify(&t)
                })
            }
            Mul { a, b, .. } | MatMul { a, b, .. } | Conv2d { x: a, w: b, .. }
                if self.program.registers[*a as usize].secret
                    && self.program.registers[*b as usize].secret =>
            {
                let p = Self::product(self.program, &self.regs, i);
                Value::Secret(self.backend.masked_product(p)?)
            }
            Move { src, .. } => self.get(*src).clone(),
            Add { dst, a, b } | Sub { dst, a, b } => {
                let out = self.shape(*dst).to_vec();
                let is_sub = matches!(i, Sub { .. });
                let regs = &self.regs;
                let get = |r: &Reg| regs[*r as usize].as_ref().expect("verified");
                let backend = &mut *self.backend;
                let add_public = |backend: &mut B, s: &B::Share, p: &RingTensor| {
                    if masked {
                        backend.add_public_masked(s, p, &out)
                    } else {
                        backend.add_public(s, p, &out)
                    }
                };
                match (get(a), get(b)) {
                    (Value::Secret(s), Value::Public(p)) => {
                        let negated;
                        let p = if is_sub {
                            negated = p.neg();
                            &negated
                        } else {
                            p
                        };
                        Value::Secret(add_public(backend, s, p))
                    }
                    (Value::Public(p), Value::Secret(s)) if is_sub => {
                        let neg = WithPublics {
                            map: &Linear::Neg,
                            publics: &[None],
                        };
                        let negated = if masked {
                            backend.linear_masked(&[s], &neg)
                        } else {
                            backend.linear(&[s], &neg)
                        };
                        Value::Secret(add_public(backend, &negated, p))
                    }
                    (Value::Public(p), Value::Secret(s)) => {
                        Value::Secret(add_public(backend, s, p))
                    }
                    _ => {
                        let map = linear_map(self.program, i).expect("a linear operation");
                        self.apply(pc, &[*a, *b], map)
                    }
                }
            }
            Div { dst, a, b } | Rem { dst, a, b } => {
                let out = self.shape(*dst).to_vec();
                let (x, y) = (self.public(*a)?, self.public(*b)?);
                if y.data.contains(&0) {
                    return Err(VmError::Runtime {
                        pc,
                        message: "division by zero".into(),
                    });
                }
                let rem = matches!(i, Rem { .. });
                Value::Public(x.zip(y, &out, |p, q| {
                    let (p, q) = (signed(p), signed(q));
                    (if rem {
                        p.wrapping_sub(p.div_euclid(q).wrapping_mul(q))
                    } else {
                        p.div_euclid(q)
                    }) as u64
                }))
            }
            Trunc { a, amount, .. } => Value::Public(self.public(*a)?.shr_signed(*amount as u32)),
            LtZ { a, .. } => Value::Public(self.public(*a)?.ltz(self.bits(*a))),
            EqZ { a, .. } => Value::Public(self.public(*a)?.eqz(self.bits(*a))),
            Relu { a, .. } => Value::Public(self.public(*a)?.relu(self.bits(*a))),
            Max { a, axis, .. } => Value::Public(
                self.public(*a)?
                    .max_along(axis.map(|x| x as usize), self.bits(*a)),
            ),
            Argmax { a, axis, .. } => {
                Value::Public(self.public(*a)?.argmax_along(*axis as usize, self.bits(*a)))
            }
            MaxPool {
                x,
                window,
                stride,
                padding,
                ..
            } => Value::Public(self.public(*x)?.max_pool(
                usize2(*window),
                usize2(*stride),
                *padding,
                self.bits(*x),
            )),
            Slice {
                dst,
                a,
                starts,
                dynamic: Some((axis, r)),
            } => {
                let mut starts: Vec<usize> = starts.iter().map(|&s| s as usize).collect();
                let sizes = self.shape(*dst).to_vec();
                let axis = *axis as usize;
                let offset = signed(self.public(*r)?.data[0]);
                let limit = self.shape(*a)[axis];
                let start = usize::try_from(offset)
                    .ok()
                    .and_then(|o| o.checked_add(starts[axis]));
                match start {
                    Some(s) if s + sizes[axis] <= limit => starts[axis] = s,
                    _ => {
                        return Err(VmError::Runtime {
                            pc,
                            message: format!(
                                "slice start {} + {offset} on axis {axis} with length {} exceeds the size {limit}",
                                starts[axis], sizes[axis]
                            ),
                        })
                    }
                }
                self.apply(pc, &[*a], Linear::Slice { starts, sizes })
            }
            Neg { .. }
            | Mul { .. }
            | MatMul { .. }
            | Conv2d { .. }
            | Shl { .. }
            | Sum { .. }
            | SumPool { .. }
            | Reshape { .. }
            | Transpose { .. }
            | Slice { dynamic: None, .. }
            | Concat { .. } => {
                let map = linear_map(self.program, i).expect("a linear operation");
                let (reads, _) = crate::bytecode::operands(i);
                self.apply(pc, &reads, map)
            }
            Output { .. }
            | Keep { .. }
            | Load { .. }
            | Print { .. }
            | Input { .. }
            | Open { .. }
            | Mask { .. }
            | Round { .. }
            | Loop { .. }
            | EndLoop { .. }
            | If { .. }
            | Else { .. }
            | EndIf
            | Free { .. } => {
                unreachable!("not a local instruction")
            }
        };
        let (_, dst) = crate::bytecode::operands(i);
        self.set(dst.expect("local instructions write a register"), value);
        Ok(())
    }

    fn round(
        &mut self,
        pc: usize,
        batch: &[Instr],
        io: &mut dyn Io,
        outputs: &mut Outputs,
    ) -> Result<(), VmError> {
        use Instr::*;
        let program = self.program;
        // Each input's next row, read before the batch borrows the registers.
        let mut rows = Vec::new();
        for i in batch {
            if let Input { input, dst } = i {
                rows.push(io.input(*input as usize, &program.registers[*dst as usize])?);
            }
        }
        let mut rows = rows.into_iter();
        let results = {
            let regs = &self.regs;
            let s = |r: &Reg| match regs[*r as usize].as_ref().expect("verified") {
                Value::Secret(s) => s,
                Value::Public(_) => {
                    unreachable!("the verifier checks interactive operands are secret")
                }
            };
            let bits = |r: &Reg| program.registers[*r as usize].elem.bits();
            let ops: Vec<Interaction<'_, B::Share>> = batch
                .iter()
                .map(|i| match i {
                    Input { input, dst } => {
                        let decl = &program.inputs[*input as usize];
                        Interaction::Input { party: decl.party as usize, ty: &program.registers[*dst as usize], data: rows.next().expect("a row per input") }
                    }
                    Mul { .. } | MatMul { .. } | Conv2d { .. } => Interaction::Product(Self::product(program, regs, i)),
                    Mask { a, .. } => Interaction::Mask { a: s(a) },
                    Trunc { a, amount, exact, .. } => Interaction::Trunc { a: s(a), amount: *amount as u32, exact: *exact, bits: bits(a) },
                    LtZ { a, .. } => Interaction::LtZ { a: s(a), bits: bits(a) },
                    EqZ { a, .. } => Interaction::EqZ { a: s(a), bits: bits(a) },
                    Relu { a, .. } => Interaction::Relu { a: s(a), bits: bits(a) },
                    Max { a, axis, .. } => Interaction::Max { a: s(a), axis: axis.map(|x| x as usize), bits: bits(a) },
                    Argmax { a, axis, .. } => Interaction::Argmax { a: s(a), axis: *axis as usize, bits: bits(a) },
                    MaxPool { x, window, stride, padding, .. } => Interaction::MaxPool {
                        x: s(x),
                        window: usize2(*window),
                        stride: usize2(*stride),
                        padding: *padding,
                        bits: bits(x),
                    },
                    Open { a, .. } => Interaction::Open { a: s(a) },
                    Output { output, a } => Interaction::Output { a: s(a), to: program.outputs[*output as usize].to },
                    other => unreachable!("the verifier admits only interactive instructions in a batch, not {other:?}"),
                })
                .collect();
            self.backend.round(ops)?
        };
        for (k, words) in self.backend.sent_by_operation().iter().enumerate() {
            self.sent_by_pc[pc + 1 + k] += 8 * words;
        }
        if results.len() != batch.len() {
            return Err(VmError::Runtime {
                pc,
                message: format!(
                    "backend answered {} of {} operations",
                    results.len(),
                    batch.len()
                ),
            });
        }
        for (i, r) in batch.iter().zip(results) {
            let (_, dst) = crate::bytecode::operands(i);
            match (r, dst, i) {
                (Outcome::Secret(s), Some(d), _) => self.set(d, Value::Secret(s)),
                (Outcome::Public(t), Some(d), _) => self.set(d, Value::Public(t)),
                (Outcome::Revealed(t), None, Output { output, .. }) => {
                    if let Some(t) = t {
                        outputs.row(*output as usize, t, io)?;
                    }
                }
                _ => {
                    return Err(VmError::Runtime {
                        pc,
                        message: "backend answered with the wrong kind of value".into(),
                    })
                }
            }
        }
        Ok(())
    }
}

/// The map of a local instruction linear in its operands (public ones are
/// constants of it), as the interpreter applies it to public values, shares,
/// and openings and masks; a dealer replaying masks applies it to masks.
/// It applies in any power-of-two ring ([`Word`]).
#[derive(Clone, Debug)]
pub(crate) enum Linear {
    Add(Vec<usize>),
    Sub(Vec<usize>),
    Neg,
    Mul(Vec<usize>),
    MatMul,
    Conv2d {
        stride: [usize; 2],
        padding: Padding,
        depthwise: bool,
    },
    Shl(u32),
    Sum(Option<usize>),
    SumPool {
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
    },
    Reshape(Vec<usize>),
    Transpose(Vec<usize>),
    Slice {
        starts: Vec<usize>,
        sizes: Vec<usize>,
    },
    Concat(usize),
}

impl Linear {
    /// The map of `x` (every operand, public ones included).
    pub(crate) fn apply<W: Word>(&self, x: &[&Tensor<W>]) -> Tensor<W> {
        match self {
            Linear::Add(out) => x[0].add(x[1], out),
            Linear::Sub(out) => x[0].sub(x[1], out),
            Linear::Neg => x[0].neg(),
            Linear::Mul(out) => x[0].mul(x[1], out),
            Linear::MatMul => x[0].matmul(x[1]),
            Linear::Conv2d {
                stride,
                padding,
                depthwise,
            } => x[0].conv2d(x[1], *stride, *padding, *depthwise),
            Linear::Shl(amount) => x[0].shl(*amount),
            Linear::Sum(axis) => x[0].sum(*axis),
            Linear::SumPool {
                window,
                stride,
                padding,
            } => x[0].sum_pool(*window, *stride, *padding),
            Linear::Reshape(out) => Tensor::new(out.clone(), x[0].data.clone()),
            Linear::Transpose(perm) => x[0].transpose(perm),
            Linear::Slice { starts, sizes } => x[0].slice(starts, sizes),
            Linear::Concat(axis) => Tensor::concat(x, *axis),
        }
    }
}

/// A [`Linear`] map of some operands, the public ones given: linear in the
/// others, the secrets whose shares a backend maps.
struct WithPublics<'a> {
    map: &'a Linear,
    /// Per operand: its value if public, `None` for the secrets in order.
    publics: &'a [Option<&'a RingTensor>],
}

impl WithPublics<'_> {
    fn apply_to<W: Word>(&self, secrets: &[&Tensor<W>]) -> Tensor<W> {
        let lifted: Vec<Option<std::borrow::Cow<'_, Tensor<W>>>> =
            self.publics.iter().map(|p| p.map(W::lift_tensor)).collect();
        let mut next = secrets.iter();
        let all: Vec<&Tensor<W>> = lifted
            .iter()
            .map(|p| match p {
                Some(p) => p.as_ref(),
                None => next.next().expect("a share per secret operand"),
            })
            .collect();
        self.map.apply(&all)
    }
}

impl LinearMap for WithPublics<'_> {
    fn apply(&self, secrets: &[&RingTensor]) -> RingTensor {
        self.apply_to(secrets)
    }
    fn apply_wide(&self, secrets: &[&WideTensor]) -> WideTensor {
        self.apply_to(secrets)
    }
}

/// Instruction `i`'s [`Linear`] map; `None` for other instructions (and
/// slices with a run-time start).
pub(crate) fn linear_map(program: &Program, i: &Instr) -> Option<Linear> {
    use Instr::*;
    let shape = |r: &Reg| program.registers[*r as usize].shape.clone();
    Some(match i.clone() {
        Add { dst, .. } => Linear::Add(shape(&dst)),
        Sub { dst, .. } => Linear::Sub(shape(&dst)),
        Neg { .. } => Linear::Neg,
        Mul { dst, .. } => Linear::Mul(shape(&dst)),
        MatMul { .. } => Linear::MatMul,
        Conv2d {
            stride,
            padding,
            depthwise,
            ..
        } => Linear::Conv2d {
            stride: usize2(stride),
            padding,
            depthwise,
        },
        Shl { amount, .. } => Linear::Shl(amount as u32),
        Sum { axis, .. } => Linear::Sum(axis.map(|a| a as usize)),
        SumPool {
            window,
            stride,
            padding,
            ..
        } => Linear::SumPool {
            window: usize2(window),
            stride: usize2(stride),
            padding,
        },
        Reshape { dst, .. } => Linear::Reshape(shape(&dst)),
        Transpose { perm, .. } => Linear::Transpose(perm.iter().map(|&p| p as usize).collect()),
        Slice {
            dst,
            starts,
            dynamic: None,
            ..
        } => Linear::Slice {
            starts: starts.iter().map(|&s| s as usize).collect(),
            sizes: shape(&dst),
        },
        Concat { axis, .. } => Linear::Concat(axis as usize),
        _ => return None,
    })
}

/// The outputs a party receives, assembled row by row as the run writes them.
struct Outputs<'p> {
    program: &'p Program,
    /// Per output: its rows so far, where this party receives it.
    data: Vec<Option<Vec<u64>>>,
}

impl<'p> Outputs<'p> {
    fn new<B: Backend>(program: &'p Program, backend: &B) -> Self {
        let data = program
            .outputs
            .iter()
            .map(|d| backend.receives(d.to).then(Vec::new))
            .collect();
        Outputs { program, data }
    }

    /// Output `index`'s next row: kept, and handed to `io` to be written now.
    fn row(&mut self, index: usize, row: RingTensor, io: &mut dyn Io) -> Result<(), VmError> {
        io.output(index, &row)?;
        let data = self.data[index].get_or_insert_with(Vec::new);
        if data.is_empty() {
            *data = row.data; // an output written once is moved, not copied
        } else {
            data.extend_from_slice(&row.data);
        }
        Ok(())
    }

    /// Every received output, whole; an output a loop wrote fewer rows of than
    /// its file declares is an error.
    fn finish(self) -> Result<Vec<Option<RingTensor>>, VmError> {
        self.data
            .into_iter()
            .zip(&self.program.outputs)
            .map(|(data, decl)| {
                data.map(|data| {
                    if data.len() == decl.ty.len() {
                        Ok(RingTensor::new(decl.ty.shape.clone(), data))
                    } else {
                        Err(VmError::Io(format!(
                            "output '{}' got {} of its {} elements",
                            decl.name,
                            data.len(),
                            decl.ty.len()
                        )))
                    }
                })
                .transpose()
            })
            .collect()
    }
}

/// What a range error says: where, the value as the program sees it, the range
/// of its type, and a type that would hold it.
fn range_message(location: &str, x: u64, elem: crate::types::Elem) -> String {
    use crate::types::Elem;
    let value = signed(x) as f64 / 2f64.powi(elem.frac() as i32);
    let needed = 65 - (signed(x) ^ (signed(x) >> 63)).leading_zeros() as u8;
    let fix = match elem {
        Elem::Fix { frac, .. } if needed as usize + frac as usize <= 63 => {
            format!(
                "declare it sfix<{frac}, {needed}> ({})",
                Elem::Fix { frac, bits: needed }.range_text()
            )
        }
        Elem::Fix { frac, .. } => format!(
            "no fixed-point type with {frac} fractional bits holds it: use fewer fractional bits"
        ),
        Elem::Int { .. } => format!("declare it sint<{needed}>"),
        Elem::Bit => "a bit is 0 or 1: check the arithmetic on bits".into(),
    };
    format!(
        "{location}: overflow: the result {value} is outside the range of {elem} ({}); {fix}, or keep the values smaller (the clear backend checks every result; --no-range-check skips this)",
        elem.range_text()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every linear map over Z_2^128 reduces to the map over Z_2^64: applied
    /// to the same values lifted, its result's low 64 bits are the 64-bit
    /// result (what spdz2k's shares rely on); and the wide ring does carry
    /// past bit 64.
    #[test]
    fn linear_maps_over_the_wide_ring_reduce_to_the_ring() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut tensor = |shape: &[usize]| {
            let n = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    state
                })
                .collect();
            RingTensor::new(shape.to_vec(), data)
        };
        let (a, b, row, c) = (
            tensor(&[3, 4]),
            tensor(&[4, 5]),
            tensor(&[4]),
            tensor(&[3, 2]),
        );
        let (img, w, dw) = (
            tensor(&[1, 5, 5, 2]),
            tensor(&[3, 3, 2, 3]),
            tensor(&[3, 3, 2, 2]),
        );
        let cases = [
            (Linear::Add(vec![3, 4]), vec![&a, &row]),
            (Linear::Sub(vec![3, 4]), vec![&a, &a]),
            (Linear::Mul(vec![3, 4]), vec![&a, &row]),
            (Linear::Neg, vec![&a]),
            (Linear::Shl(17), vec![&a]),
            (Linear::MatMul, vec![&a, &b]),
            (
                Linear::Conv2d {
                    stride: [1, 1],
                    padding: Padding::Same,
                    depthwise: false,
                },
                vec![&img, &w],
            ),
            (
                Linear::Conv2d {
                    stride: [2, 2],
                    padding: Padding::Valid,
                    depthwise: true,
                },
                vec![&img, &dw],
            ),
            (Linear::Sum(None), vec![&a]),
            (Linear::Sum(Some(1)), vec![&a]),
            (
                Linear::SumPool {
                    window: [2, 2],
                    stride: [2, 2],
                    padding: Padding::Same,
                },
                vec![&img],
            ),
            (Linear::Reshape(vec![2, 6]), vec![&a]),
            (Linear::Transpose(vec![1, 0]), vec![&a]),
            (
                Linear::Slice {
                    starts: vec![1, 1],
                    sizes: vec![2, 2],
                },
                vec![&a],
            ),
            (Linear::Concat(1), vec![&a, &c]),
        ];
        for (map, args) in cases {
            let lifted: Vec<WideTensor> = args.iter().map(|t| t.convert()).collect();
            let wide: Vec<&WideTensor> = lifted.iter().collect();
            assert_eq!(
                map.apply(&wide).convert::<u64>(),
                map.apply(&args),
                "{map:?}"
            );
        }
        let lifted: Vec<WideTensor> = [&a, &b].iter().map(|t| t.convert()).collect();
        let product = Linear::MatMul.apply(&[&lifted[0], &lifted[1]]);
        assert!(product.data.iter().any(|x| x >> 64 != 0));
    }
}

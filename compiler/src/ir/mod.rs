//! The SSA intermediate representation.
//!
//! Values are whole tensors with static types. Control flow is structured: a
//! `For` instruction owns its body block (whose parameters are the loop counter
//! and the loop-carried values) and an `If` owns two blocks; nested blocks end in
//! `Yield`, a function's entry block in `Return`. Loops therefore stay loops all
//! the way to the bytecode. Entities live in cranelift-entity arenas.

mod print;
mod verify;

pub use print::print_module;
pub use verify::verify_function;

use crate::source::Span;
use cranelift_entity::{entity_impl, PrimaryMap};
use mpcvm::shape::Padding;
use mpcvm::types::{PartySet, TensorType};
use smallvec::SmallVec;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(u32);
entity_impl!(Value, "v");

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Inst(u32);
entity_impl!(Inst, "i");

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Block(u32);
entity_impl!(Block, "b");

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncRef(u32);
entity_impl!(FuncRef, "f");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueDef {
    Param(Block, usize),
    Result(Inst, usize),
}

#[derive(Clone, Debug)]
pub struct ValueData {
    pub ty: TensorType,
    pub def: ValueDef,
}

/// An operation. Operands are the instruction's `args`; the static types of
/// args and results (in the value table) carry secrecy, element kind and shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A public constant; the data are ring elements in row-major order.
    Const(Vec<u64>),
    /// A party's input; inside loops (`rows`: their trip counts, outermost
    /// first) each execution reads the next row of the file.
    Input {
        party: u8,
        name: String,
        rows: Vec<usize>,
    },
    Classify,
    Add,
    Sub,
    Neg,
    Mul,
    MatMul,
    Conv2d {
        stride: [u32; 2],
        padding: Padding,
        depthwise: bool,
    },
    Div,
    Rem,
    Shl(u8),
    Trunc {
        amount: u8,
        exact: bool,
    },
    LtZ,
    EqZ,
    Relu,
    Sum(Option<u32>),
    Max(Option<u32>),
    Argmax(u32),
    SumPool {
        window: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    },
    MaxPool {
        window: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    },
    Reshape,
    Transpose(Vec<u32>),
    /// Static starts; with `dynamic_axis`, the second arg (a public scalar) is added on that axis.
    Slice {
        starts: Vec<u32>,
        dynamic_axis: Option<u32>,
    },
    Concat(u32),
    /// The argument with a fresh random mask opened (Beaver backends): products
    /// whose operands are masked, or derived linearly from masked values, reuse
    /// the opening instead of masking their operands again.
    Mask,
    Open,
    /// An output; inside loops each execution writes the next row of the file.
    Output {
        name: String,
        to: PartySet,
        rows: Vec<usize>,
    },
    /// Shows the text at run time, each `{}` replaced by the next (public) arg.
    Print(String),
    /// Each party writes its share of the arg to the share file `name`.
    Keep {
        name: String,
    },
    /// This party's share read from the share file `name` an earlier run kept.
    Load {
        name: String,
    },
    Call(FuncRef),
    /// `for counter in lo..hi`; args are the initial loop-carried values, results the final ones.
    For {
        lo: i64,
        hi: i64,
        body: Block,
    },
    /// args[0] is a public condition; results are yielded by both blocks.
    If {
        then_block: Block,
        else_block: Block,
    },
    Yield,
    Return,
}

impl Op {
    pub fn is_terminator(&self) -> bool {
        matches!(self, Op::Yield | Op::Return)
    }
    /// Operations kept even when their results are unused.
    pub fn has_effect(&self) -> bool {
        matches!(
            self,
            Op::Input { .. }
                | Op::Output { .. }
                | Op::Keep { .. }
                | Op::Load { .. }
                | Op::Print(_)
                | Op::Yield
                | Op::Return
                | Op::Call(_)
        )
    }
    /// Operations whose result depends only on their arguments: no effect and no
    /// nested blocks, so two with equal arguments compute the same value.
    pub fn is_pure(&self) -> bool {
        !self.has_effect() && !matches!(self, Op::For { .. } | Op::If { .. })
    }
}

#[derive(Clone, Debug)]
pub struct InstData {
    pub op: Op,
    pub args: SmallVec<[Value; 4]>,
    pub results: SmallVec<[Value; 2]>,
    /// The result carries a mask derived from its (masked) operands': a linear
    /// operation applied to the openings and the masks too (see passes/masks.rs).
    pub masked: bool,
    /// The round batch of an interactive operation within its block (from 1), 0 if local.
    pub batch: u32,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct BlockData {
    pub params: Vec<Value>,
    pub insts: Vec<Inst>,
}

#[derive(Clone, Debug)]
pub struct Function {
    /// Name with its instantiation, e.g. `nn::dense[sfix<16, 32>[1, 784], ...]`.
    pub name: String,
    pub entry: Block,
    pub blocks: PrimaryMap<Block, BlockData>,
    pub insts: PrimaryMap<Inst, InstData>,
    pub values: PrimaryMap<Value, ValueData>,
    /// The result types: none, one, or several (a tuple).
    pub ret: Vec<TensorType>,
}

impl Function {
    pub fn new(name: impl Into<String>, params: &[TensorType], ret: Vec<TensorType>) -> Self {
        let mut f = Function {
            name: name.into(),
            entry: Block::from_u32(0),
            blocks: PrimaryMap::new(),
            insts: PrimaryMap::new(),
            values: PrimaryMap::new(),
            ret,
        };
        f.entry = f.new_block(params);
        f
    }

    pub fn new_block(&mut self, params: &[TensorType]) -> Block {
        let b = self.blocks.push(BlockData::default());
        for (i, t) in params.iter().enumerate() {
            let v = self.values.push(ValueData {
                ty: t.clone(),
                def: ValueDef::Param(b, i),
            });
            self.blocks[b].params.push(v);
        }
        b
    }

    /// Appends an instruction to `block` and returns its results.
    pub fn push(
        &mut self,
        block: Block,
        op: Op,
        args: &[Value],
        results: &[TensorType],
        span: Span,
    ) -> SmallVec<[Value; 2]> {
        let at = self.blocks[block].insts.len();
        self.insert(block, at, op, args, results, span)
    }

    /// Inserts an instruction at position `at` of `block` and returns its results.
    pub fn insert(
        &mut self,
        block: Block,
        at: usize,
        op: Op,
        args: &[Value],
        results: &[TensorType],
        span: Span,
    ) -> SmallVec<[Value; 2]> {
        let inst = self.insts.push(InstData {
            op,
            args: args.into(),
            results: SmallVec::new(),
            masked: false,
            batch: 0,
            span,
        });
        for (i, t) in results.iter().enumerate() {
            let v = self.values.push(ValueData {
                ty: t.clone(),
                def: ValueDef::Result(inst, i),
            });
            self.insts[inst].results.push(v);
        }
        self.blocks[block].insts.insert(at, inst);
        self.insts[inst].results.clone()
    }

    pub fn ty(&self, v: Value) -> &TensorType {
        &self.values[v].ty
    }

    /// Whether `v` is masked: the result of a `Mask` or of an operation that
    /// derives its mask from its operands'.
    pub fn is_masked(&self, v: Value) -> bool {
        match self.values[v].def {
            ValueDef::Result(i, _) => self.insts[i].op == Op::Mask || self.insts[i].masked,
            ValueDef::Param(..) => false,
        }
    }

    /// Whether `inst` needs communication: decided by its operation and the
    /// secrecy of its operands. A product of two masked secrets is local (the
    /// openings are known; the correlated mask product is preprocessed).
    pub fn is_interactive(&self, inst: Inst) -> bool {
        let d = &self.insts[inst];
        let secret = |i: usize| d.args.get(i).is_some_and(|v| self.ty(*v).secret);
        match d.op {
            Op::Input { .. } | Op::Open | Op::Mask => true,
            Op::Mul | Op::MatMul | Op::Conv2d { .. } => {
                secret(0) && secret(1) && !(self.is_masked(d.args[0]) && self.is_masked(d.args[1]))
            }
            Op::Trunc { .. }
            | Op::LtZ
            | Op::EqZ
            | Op::Relu
            | Op::Max(_)
            | Op::Argmax(_)
            | Op::MaxPool { .. }
            | Op::Output { .. } => secret(0),
            _ => false,
        }
    }

    /// The blocks nested in an instruction (loop body, branches).
    pub fn nested_blocks(&self, inst: Inst) -> SmallVec<[Block; 2]> {
        match self.insts[inst].op {
            Op::For { body, .. } => SmallVec::from_slice(&[body]),
            Op::If {
                then_block,
                else_block,
            } => SmallVec::from_slice(&[then_block, else_block]),
            _ => SmallVec::new(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Module {
    pub functions: PrimaryMap<FuncRef, Function>,
    pub main: Option<FuncRef>,
    pub parties: u8,
}

//! The `.mpcb` bytecode: a versioned binary format of register-based tensor
//! instructions. The compiler emits it; the VM loads, verifies and runs it.
//!
//! Layout (little-endian): magic `MPCB`, format version (u16), ring bit length
//! (u8), number of parties (u8), blake3 hash of the body (32 bytes), body. The
//! body holds the preprocessing manifest, the register table (every register has
//! one static type), the constant pool, the input, output and share tables, the code,
//! the texts of `print` instructions, and the source locations.

mod codec;
mod disasm;
mod manifest;
mod verify;

pub use codec::{content_hash, DecodeError, HEADER_LEN};
pub use disasm::{disassemble, instr_text};
pub(crate) use manifest::consumption;
pub use manifest::{
    by_location, derive_manifest, for_each_batch, for_each_weighted, ManifestEntry, Primitive,
};
pub use verify::{check_name, check_text, operands, verify, VerifyError};

use crate::ring::RingTensor;
use crate::shape::Padding;
use crate::types::{PartySet, TensorType};

pub const MAGIC: &[u8; 4] = b"MPCB";
pub const FORMAT_VERSION: u16 = 6;

/// A register number; its type is `Program::registers[r]`.
pub type Reg = u32;

/// One input a party provides: read from that party's input file named `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputDecl {
    pub party: u8,
    pub name: String,
    pub ty: TensorType,
}

/// One output: the value is revealed to `to` and written under `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDecl {
    pub to: PartySet,
    pub name: String,
    pub ty: TensorType,
}

/// A secret value kept as shares (`keep x as "name";`: each party writes its
/// own share) or loaded from shares a run kept (`load("name")`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareDecl {
    pub name: String,
    pub ty: TensorType,
    /// Kept by this program (written), else loaded (read).
    pub kept: bool,
}

/// A whole compiled program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub parties: u8,
    pub manifest: Vec<ManifestEntry>,
    pub registers: Vec<TensorType>,
    pub constants: Vec<RingTensor>,
    pub inputs: Vec<InputDecl>,
    pub outputs: Vec<OutputDecl>,
    /// Values kept as shares or loaded from them.
    pub shares: Vec<ShareDecl>,
    pub code: Vec<Instr>,
    /// The texts `Print` shows, each with one `{}` per value.
    pub texts: Vec<String>,
    /// Source locations (`file:line:col`), for messages about a run.
    pub sources: Vec<String>,
    /// Per instruction of `code`: an index into `sources`, or [`NO_SOURCE`].
    pub locations: Vec<u32>,
    /// The instructions (indices into `code`, increasing) whose results derive
    /// their masks from their operands' (mask reuse; see `Instr::Mask`).
    pub masked: Vec<u32>,
}

/// The location of an instruction the compiler made up (moves, frees).
pub const NO_SOURCE: u32 = u32::MAX;

impl Program {
    /// The most tensor elements its registers hold at once in any run: written
    /// registers count from their first write to their `Free` (a loop body and
    /// both arms of a branch are walked once, in order, so this bounds what the
    /// interpreter reports as `peak_register_elements`). Known before a run
    /// starts, so a party can refuse a program too large for it.
    pub fn peak_register_elements(&self) -> u64 {
        let mut live = vec![false; self.registers.len()];
        let (mut now, mut peak) = (0u64, 0u64);
        for i in &self.code {
            let written = match i {
                Instr::Loop { counter, .. } => Some(*counter),
                Instr::Free { regs } => {
                    for &r in regs {
                        if std::mem::take(&mut live[r as usize]) {
                            now -= self.registers[r as usize].len() as u64;
                        }
                    }
                    None
                }
                i => operands(i).1,
            };
            if let Some(r) = written {
                if !std::mem::replace(&mut live[r as usize], true) {
                    now += self.registers[r as usize].len() as u64;
                    peak = peak.max(now);
                }
            }
        }
        peak
    }

    /// Where instruction `pc` came from, if the compiler said.
    pub fn location(&self, pc: usize) -> Option<&str> {
        let i = *self.locations.get(pc)?;
        self.sources.get(i as usize).map(String::as_str)
    }
}

/// One instruction. Each acts on whole tensors held in registers; the secrecy
/// and element kind of every operand come from the register table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instr {
    /// `dst = constants[index]`.
    Const {
        dst: Reg,
        index: u32,
    },
    /// `dst = ` the input `inputs[input]`, shared by its party.
    Input {
        dst: Reg,
        input: u32,
    },
    /// A public value as a secret one (no communication).
    Classify {
        dst: Reg,
        src: Reg,
    },
    Move {
        dst: Reg,
        src: Reg,
    },
    Add {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    Sub {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    Neg {
        dst: Reg,
        a: Reg,
    },
    Mul {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    MatMul {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    Conv2d {
        dst: Reg,
        x: Reg,
        w: Reg,
        stride: [u32; 2],
        padding: Padding,
        depthwise: bool,
    },
    /// Floor division of public integers.
    Div {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    /// Remainder of floor division of public integers (sign of the divisor).
    Rem {
        dst: Reg,
        a: Reg,
        b: Reg,
    },
    Shl {
        dst: Reg,
        a: Reg,
        amount: u8,
    },
    /// Division by 2^amount: exact (floor), or probabilistic (rounds up with
    /// probability equal to the discarded fraction).
    Trunc {
        dst: Reg,
        a: Reg,
        amount: u8,
        exact: bool,
    },
    /// The bit `a < 0`, reading `a` with the bit length of its type.
    LtZ {
        dst: Reg,
        a: Reg,
    },
    /// The bit `a == 0`.
    EqZ {
        dst: Reg,
        a: Reg,
    },
    Relu {
        dst: Reg,
        a: Reg,
    },
    Sum {
        dst: Reg,
        a: Reg,
        axis: Option<u32>,
    },
    Max {
        dst: Reg,
        a: Reg,
        axis: Option<u32>,
    },
    Argmax {
        dst: Reg,
        a: Reg,
        axis: u32,
    },
    SumPool {
        dst: Reg,
        x: Reg,
        window: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    },
    MaxPool {
        dst: Reg,
        x: Reg,
        window: [u32; 2],
        stride: [u32; 2],
        padding: Padding,
    },
    /// Same elements, the shape of `dst`'s type.
    Reshape {
        dst: Reg,
        a: Reg,
    },
    Transpose {
        dst: Reg,
        a: Reg,
        perm: Vec<u32>,
    },
    /// `dst = a[starts .. starts + shape(dst)]`; with `dynamic = Some((axis, r))`
    /// the public scalar in `r` is added to the start on `axis` (checked at run time).
    Slice {
        dst: Reg,
        a: Reg,
        starts: Vec<u32>,
        dynamic: Option<(u32, Reg)>,
    },
    Concat {
        dst: Reg,
        axis: u32,
        parts: Vec<Reg>,
    },
    /// `dst` is the secret `a` with a fresh random mask whose opening every
    /// party learns (Beaver backends; elsewhere a copy): a product of two
    /// masked secrets, or of secrets whose masks are derived from masked ones
    /// by the instructions `Program::masked` lists, is then local.
    Mask {
        dst: Reg,
        a: Reg,
    },
    /// Reveals a secret to every party: `dst` is public.
    Open {
        dst: Reg,
        a: Reg,
    },
    /// Reveals `a` to the receivers of `outputs[output]` only and writes it there.
    Output {
        output: u32,
        a: Reg,
    },
    /// Writes this party's share of `a` as `shares[share]` (no communication).
    Keep {
        share: u32,
        a: Reg,
    },
    /// `dst = ` this party's share read from `shares[share]` (no communication).
    Load {
        dst: Reg,
        share: u32,
    },
    /// Shows `texts[text]` at run time with each `{}` replaced by the public value
    /// of the next of `args`.
    Print {
        text: u32,
        args: Vec<Reg>,
    },
    /// The registers' values are dead: the VM drops them (so memory follows the
    /// live tensors) and reading them again before a write is an error.
    Free {
        regs: Vec<Reg>,
    },
    /// The next `len` instructions are independent interactive operations that
    /// run together: their messages share the rounds of this batch.
    Round {
        len: u32,
    },
    /// `for counter in lo..hi`: the body runs up to the `EndLoop` at `end`.
    Loop {
        counter: Reg,
        lo: i64,
        hi: i64,
        end: u32,
    },
    /// Closes the loop whose `Loop` is at `begin`.
    EndLoop {
        begin: u32,
    },
    /// Runs the next instructions if the public bit `cond` is 1, else jumps past the `Else` at `else_at`.
    If {
        cond: Reg,
        else_at: u32,
    },
    /// Ends the then-branch; jumps to the `EndIf` at `end`.
    Else {
        end: u32,
    },
    EndIf,
}

impl Program {
    /// Serializes to the `.mpcb` format.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
    /// Parses and verifies a `.mpcb` file; the result is safe to run.
    pub fn load(bytes: &[u8]) -> Result<Program, crate::VmError> {
        let program = codec::decode(bytes)?;
        verify(&program)?;
        Ok(program)
    }
    /// The blake3 hash of the program's body, as in the header (hex).
    pub fn hash_hex(bytes: &[u8]) -> String {
        bytes
            .get(HEADER_LEN - 32..HEADER_LEN)
            .map(|h| h.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default()
    }
}

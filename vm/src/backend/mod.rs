//! The protocol-backend interface.
//!
//! The interpreter owns control flow, registers and the local (linear) algebra on
//! shares; a backend owns the share representation and everything interactive.
//! Interactive instructions reach the backend a whole round batch at a time, so a
//! networked backend sends one message per peer per round for the whole batch,
//! and a multi-round operation (a comparison) advances all its batch-mates in lockstep.

mod aes128;
mod beaver;
mod carry;
pub mod clear;
mod compose;
pub mod ot;
pub(crate) mod planes;
pub mod prep;
pub(crate) mod prf;
pub mod rep3;
pub mod rep4;
mod rounds;
pub mod semi2k;
pub mod spdz2k;
mod totals;
mod truncation;

use crate::ring::{RingTensor, WideTensor};
use crate::shape::Padding;
use crate::types::{PartySet, TensorType};
use crate::VmError;

/// A register's content: a public tensor every party knows, or this party's share of a secret.
#[derive(Clone, Debug)]
pub enum Value<S> {
    Public(RingTensor),
    Secret(S),
}

/// One interactive operation of a round batch. Operands are shares; the static
/// types the verifier checked travel along (bit lengths for comparisons).
pub enum Interaction<'a, S> {
    /// Shares `party`'s input; `data` is present at that party only.
    Input {
        party: usize,
        ty: &'a TensorType,
        data: Option<RingTensor>,
    },
    /// A product of two secrets (a Beaver backend masks both operands afresh).
    Product(Product<'a, S>),
    /// The secret with a fresh random mask opened, for products to reuse
    /// (backends without masks: the same sharing).
    Mask {
        a: &'a S,
    },
    Trunc {
        a: &'a S,
        amount: u32,
        exact: bool,
        bits: u8,
    },
    LtZ {
        a: &'a S,
        bits: u8,
    },
    EqZ {
        a: &'a S,
        bits: u8,
    },
    Relu {
        a: &'a S,
        bits: u8,
    },
    Max {
        a: &'a S,
        axis: Option<usize>,
        bits: u8,
    },
    Argmax {
        a: &'a S,
        axis: usize,
        bits: u8,
    },
    MaxPool {
        x: &'a S,
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        bits: u8,
    },
    /// Reveals to every party.
    Open {
        a: &'a S,
    },
    /// Reveals to `to` only.
    Output {
        a: &'a S,
        to: PartySet,
    },
}

impl<'a, S> Interaction<'a, S> {
    /// The operand of a composed operation (a comparison, ReLU, equality,
    /// max, argmax, max pooling), which a protocol runs through `compose`.
    pub(crate) fn composed_operand(&self) -> Option<&'a S> {
        match *self {
            Interaction::LtZ { a, .. }
            | Interaction::EqZ { a, .. }
            | Interaction::Relu { a, .. }
            | Interaction::Max { a, .. }
            | Interaction::Argmax { a, .. }
            | Interaction::MaxPool { x: a, .. } => Some(a),
            _ => None,
        }
    }
}

/// Bits `lo..hi` of `x` as an integer.
pub(crate) fn bits(x: u64, lo: u32, hi: u32) -> u64 {
    let width = hi - lo;
    (x >> lo)
        & if width >= 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        }
}

/// Refuses an input of a party outside the run's `parties`, or one this
/// party (`me`) owns but has no value for; the owner's values, if `me` is it.
pub(crate) fn input_values(
    protocol: &str,
    parties: usize,
    me: usize,
    party: usize,
    ty: &TensorType,
    data: Option<RingTensor>,
) -> Result<Option<Vec<u64>>, VmError> {
    if party >= parties {
        return Err(VmError::Usage(format!(
            "input of party {party}, but this {protocol} run has {parties} parties"
        )));
    }
    match (party == me, data) {
        (true, None) => Err(VmError::Input(format!(
            "party {me} has no value for its input of type {ty}"
        ))),
        (true, Some(d)) => Ok(Some(d.data)),
        (false, _) => Ok(None),
    }
}

/// A product of two secrets: elementwise (broadcasting to `out_shape`), of
/// matrices, or a convolution of `x` by the kernel `w`.
pub enum Product<'a, S> {
    Mul {
        a: &'a S,
        b: &'a S,
        out_shape: &'a [usize],
    },
    MatMul {
        a: &'a S,
        b: &'a S,
    },
    Conv2d {
        x: &'a S,
        w: &'a S,
        stride: [usize; 2],
        padding: Padding,
        depthwise: bool,
    },
}

impl<'a, S> Product<'a, S> {
    /// The two factors.
    pub fn operands(&self) -> (&'a S, &'a S) {
        match *self {
            Product::Mul { a, b, .. } | Product::MatMul { a, b } => (a, b),
            Product::Conv2d { x, w, .. } => (x, w),
        }
    }
    /// The same product of plain tensors (bilinear: a protocol applies it to
    /// shares, openings and masks).
    pub fn of<W: crate::ring::Word>(
        &self,
        a: &crate::ring::Tensor<W>,
        b: &crate::ring::Tensor<W>,
    ) -> crate::ring::Tensor<W> {
        match *self {
            Product::Mul { out_shape, .. } => a.mul(b, out_shape),
            Product::MatMul { .. } => a.matmul(b),
            Product::Conv2d {
                stride,
                padding,
                depthwise,
                ..
            } => a.conv2d(b, stride, padding, depthwise),
        }
    }
}

/// What an interaction yields at this party.
pub enum Outcome<S> {
    Secret(S),
    Public(RingTensor),
    /// An output this party receives (`None` at parties that do not).
    Revealed(Option<RingTensor>),
}

/// Communication figures of a run, per party.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommFigures {
    pub rounds: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// The figures of an offline phase: the preprocessing a backend made with
/// the other parties before the online run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OfflineFigures {
    pub seconds: f64,
    pub comm: CommFigures,
    /// Oblivious transfers this party took part in (as sender or receiver).
    pub ots: u64,
}

impl CommFigures {
    /// What was added after `start` (a protocol's set-up is not its run).
    pub fn since(self, start: CommFigures) -> CommFigures {
        CommFigures {
            rounds: self.rounds - start.rounds,
            bytes_sent: self.bytes_sent - start.bytes_sent,
            bytes_received: self.bytes_received - start.bytes_received,
        }
    }
}

/// A map linear in some secrets (what the interpreter's local instructions
/// do to shares): over Z_2^64, and over Z_2^128 for a backend whose shares
/// live in the larger ring (its public constants lifted).
pub trait LinearMap {
    fn apply(&self, secrets: &[&RingTensor]) -> RingTensor;
    fn apply_wide(&self, secrets: &[&WideTensor]) -> WideTensor;
}

pub trait Backend {
    type Share: Clone;

    /// The protocol's name, as on the command line.
    fn name(&self) -> &'static str;
    /// The threat model, printed at start so nobody mistakes a reference for a protocol.
    fn threat_model(&self) -> &'static str;

    /// A public tensor as a sharing (no communication).
    fn classify(&mut self, t: &RingTensor) -> Self::Share;
    /// Applies a map that is linear in the secret arguments to their shares.
    fn linear(&mut self, args: &[&Self::Share], f: &dyn LinearMap) -> Self::Share;
    /// `s + p` for a public `p`, broadcast to `out_shape`.
    fn add_public(&mut self, s: &Self::Share, p: &RingTensor, out_shape: &[usize]) -> Self::Share;

    /// `classify`, `linear` and `add_public` for an instruction whose result
    /// derives its mask from its operands' (`Program::masked`): a Beaver
    /// backend applies the map to the openings and the masks as well. Backends
    /// without masks compute the value alone.
    fn classify_masked(&mut self, t: &RingTensor) -> Self::Share {
        self.classify(t)
    }
    fn linear_masked(&mut self, args: &[&Self::Share], f: &dyn LinearMap) -> Self::Share {
        self.linear(args, f)
    }
    fn add_public_masked(
        &mut self,
        s: &Self::Share,
        p: &RingTensor,
        out_shape: &[usize],
    ) -> Self::Share {
        self.add_public(s, p, out_shape)
    }
    /// A product of two masked secrets (after `Interaction::Mask` or derived
    /// masks), local to a Beaver backend given the preprocessed product of the
    /// masks; a backend without masks refuses it or computes it in the clear.
    fn masked_product(&mut self, p: Product<'_, Self::Share>) -> Result<Self::Share, VmError>;

    /// Runs one round batch; the outcomes come in the order of `ops`.
    fn round(
        &mut self,
        ops: Vec<Interaction<'_, Self::Share>>,
    ) -> Result<Vec<Outcome<Self::Share>>, VmError>;

    /// The words this party queued to its peers in the last round, per
    /// operation of it (in the order of `ops`): the wire attributed to the
    /// operations that put it there. Empty where the backend does not count.
    fn sent_by_operation(&self) -> &[u64] {
        &[]
    }

    /// Passes over the preprocessed material of the instructions in `range`,
    /// an arm of a branch this run does not take (a dealer prepared both arms).
    fn skip(&mut self, _range: std::ops::Range<usize>) -> Result<(), VmError> {
        Ok(())
    }

    /// Whether this process receives outputs revealed to `to`.
    fn receives(&self, to: PartySet) -> bool;

    /// This party's share as the words a share file keeps: one vector per
    /// component (a replicated share has two). Alone they reveal nothing
    /// (except under the clear backend, whose "share" is the value).
    fn share_words(&self, s: &Self::Share) -> Vec<Vec<u64>>;
    /// A share of shape `shape` from the words `share_words` gave.
    fn share_from_words(
        &mut self,
        shape: &[usize],
        words: Vec<Vec<u64>>,
    ) -> Result<Self::Share, VmError>;

    /// The value a share stands for, where this backend holds it in the clear
    /// (the reference backend): what the range check reads.
    fn plaintext<'s>(&self, _share: &'s Self::Share) -> Option<&'s RingTensor> {
        None
    }

    fn figures(&self) -> CommFigures;
    /// Checks, at the end of a run, that it used all the backend prepared for
    /// it (a Beaver backend's material: what was made is what the program
    /// consumes).
    fn finish(&mut self) -> Result<(), VmError> {
        Ok(())
    }
    /// The offline phase's figures, for a backend that has one.
    fn offline(&self) -> Option<OfflineFigures> {
        None
    }
}

//! What a composed operation (`backend/compose.rs`: ReLU, equality, max,
//! argmax, max pooling, and `ltz` itself) needs under semi2k, found by running
//! it on a recorder instead of the protocol: the primitives it calls, in order
//! (its item's layout, which the dealer fills), and its rounds and bytes (the
//! cost model), both from the same code the parties run.

use super::compare::{ltz_correlated, ltz_layout};
use super::cost::{self, Cost};
use super::product_layout;
use crate::backend::compose::{self, Composer, Map, Then, Zip};
use crate::backend::prep::Layout;
use crate::bytecode::{Instr, Program};
use crate::ring::RingTensor;
use crate::shape::Padding;
use crate::VmError;

/// A composed operation of a program, on values of `shape` and `bits` bits.
#[derive(Clone, Debug)]
pub(crate) struct Composed {
    kind: Kind,
    pub shape: Vec<usize>,
    bits: u32,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    LtZ,
    EqZ,
    Relu,
    Max(Option<usize>),
    Argmax(usize),
    MaxPool([usize; 2], [usize; 2], Padding),
}

impl Composed {
    /// The composed operation instruction `i` of `program` is, if it is one.
    pub(crate) fn of(program: &Program, i: &Instr) -> Option<Composed> {
        let usize2 = |p: [u32; 2]| [p[0] as usize, p[1] as usize];
        let (kind, a) = match i {
            Instr::LtZ { a, .. } => (Kind::LtZ, a),
            Instr::EqZ { a, .. } => (Kind::EqZ, a),
            Instr::Relu { a, .. } => (Kind::Relu, a),
            Instr::Max { a, axis, .. } => (Kind::Max(axis.map(|x| x as usize)), a),
            Instr::Argmax { a, axis, .. } => (Kind::Argmax(*axis as usize), a),
            Instr::MaxPool {
                x,
                window,
                stride,
                padding,
                ..
            } => (Kind::MaxPool(usize2(*window), usize2(*stride), *padding), x),
            _ => return None,
        };
        let t = &program.registers[*a as usize];
        t.secret.then(|| Composed {
            kind,
            shape: t.shape.clone(),
            bits: t.elem.bits() as u32,
        })
    }

    /// The operation's interaction as the interpreter hands it over.
    pub(crate) fn of_interaction<S>(
        op: &crate::backend::Interaction<'_, S>,
        shape: &[usize],
    ) -> Option<Composed> {
        use crate::backend::Interaction as I;
        let (kind, bits) = match *op {
            I::LtZ { bits, .. } => (Kind::LtZ, bits),
            I::EqZ { bits, .. } => (Kind::EqZ, bits),
            I::Relu { bits, .. } => (Kind::Relu, bits),
            I::Max { axis, bits, .. } => (Kind::Max(axis), bits),
            I::Argmax { axis, bits, .. } => (Kind::Argmax(axis), bits),
            I::MaxPool {
                window,
                stride,
                padding,
                bits,
                ..
            } => (Kind::MaxPool(window, stride, padding), bits),
            _ => return None,
        };
        Some(Composed {
            kind,
            shape: shape.to_vec(),
            bits: bits as u32,
        })
    }

    /// Runs the operation on `x` with the protocol `c`.
    pub(in crate::backend) fn run<C: Composer>(
        &self,
        c: &mut C,
        m: &C::Material,
        x: &C::Share,
        out: &mut C::Out,
    ) -> Result<C::Task, VmError> {
        let (s, k) = (&self.shape, self.bits);
        match self.kind {
            Kind::LtZ => c.ltz(m, x, k, out),
            Kind::EqZ => compose::eqz(c, m, x, k, out),
            Kind::Relu => compose::relu(c, m, x, k, out),
            Kind::Max(axis) => compose::max(c, m, x, s, axis, k, false, out),
            Kind::Argmax(axis) => compose::max(c, m, x, s, Some(axis), k, true, out),
            Kind::MaxPool(window, stride, padding) => {
                compose::max_pool(c, m, x, s, window, stride, padding, k, out)
            }
        }
    }

    /// What the operation needs under semi2k.
    pub(crate) fn recording(&self) -> Recording {
        let mut r = Recorder {
            calls: Vec::new(),
            layout: Layout::new(&[], &[]),
        };
        let x = (RingTensor::zeros(&self.shape), Cost::default());
        let (_, cost) = self
            .run(&mut r, &(), &x.0, &mut ())
            .expect("recording cannot fail");
        Recording {
            calls: r.calls,
            layout: r.layout,
            cost,
        }
    }
}

/// A primitive a composed operation calls: `ltz` of `n` values of `bits`
/// bits, or an elementwise product (a triple) of `n` values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Call {
    Ltz { n: usize, bits: usize },
    Mul { n: usize },
}

/// A composed operation's primitives, item layout and cost.
pub(crate) struct Recording {
    pub calls: Vec<Call>,
    pub layout: Layout,
    pub(super) cost: Cost,
}

impl Recording {
    /// The correlated parts of the item from its random ones (the dealer's).
    pub(crate) fn correlated(&self, random: &[Vec<u64>]) -> Vec<Vec<u64>> {
        let mut at = 0;
        let mut parts = Vec::new();
        for call in &self.calls {
            match *call {
                Call::Ltz { n, .. } => {
                    parts.extend(ltz_correlated(&random[at..at + 4], n));
                    at += 4;
                }
                Call::Mul { .. } => {
                    let (a, b) = (&random[at], &random[at + 1]);
                    parts.push(a.iter().zip(b).map(|(a, b)| a.wrapping_mul(*b)).collect());
                    at += 2;
                }
            }
        }
        parts
    }
}

/// Runs a composed operation without a protocol: every primitive finishes at
/// once on zeros, and is recorded with its cost.
struct Recorder {
    calls: Vec<Call>,
    layout: Layout,
}

impl Composer for Recorder {
    type Share = RingTensor;
    /// A finished value and what it cost from the start of its task.
    type Task = (RingTensor, Cost);
    type Out = ();
    type Material = ();

    fn ltz(
        &mut self,
        _: &(),
        x: &RingTensor,
        bits: u32,
        _: &mut (),
    ) -> Result<Self::Task, VmError> {
        let n = x.len();
        self.calls.push(Call::Ltz {
            n,
            bits: bits as usize,
        });
        let layout = std::mem::replace(&mut self.layout, Layout::new(&[], &[]));
        self.layout = layout.then(ltz_layout(n, bits as usize));
        Ok((
            RingTensor::zeros(&x.shape),
            cost::ltz(bits as usize, n as u64),
        ))
    }
    fn mul(
        &mut self,
        _: &(),
        a: &RingTensor,
        _: &RingTensor,
        _: &mut (),
    ) -> Result<Self::Task, VmError> {
        let n = a.len();
        self.calls.push(Call::Mul { n });
        let layout = std::mem::replace(&mut self.layout, Layout::new(&[], &[]));
        self.layout = layout.then(product_layout(true, n, n, n));
        Ok((RingTensor::zeros(&a.shape), Cost::open(2 * n as u64)))
    }
    fn join(
        &mut self,
        tasks: Vec<Self::Task>,
        then: Then<Self>,
        out: &mut (),
    ) -> Result<Self::Task, VmError> {
        let (values, costs): (Vec<RingTensor>, Vec<Cost>) = tasks.into_iter().unzip();
        let before = costs.into_iter().fold(Cost::default(), Cost::beside);
        let (value, after) = then(self, values, out)?;
        Ok((value, before.then(after)))
    }
    fn done(s: RingTensor) -> Self::Task {
        (s, Cost::default())
    }
    fn map(s: &RingTensor, f: &Map<'_>) -> RingTensor {
        f.apply(s)
    }
    fn zip(a: &RingTensor, b: &RingTensor, f: Zip) -> RingTensor {
        f.apply(a, b)
    }
    fn constant(&self, t: &RingTensor) -> RingTensor {
        t.clone()
    }
    fn shape(s: &RingTensor) -> Vec<usize> {
        s.shape.clone()
    }
}

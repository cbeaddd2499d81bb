//! The preprocessing manifest: the correlated randomness a run consumes, by
//! primitive and parameters. It is derived from the code (loops multiply by their
//! trip counts; both branches of a public `if` are counted, an upper bound), so
//! an offline phase can produce exactly this material before the online phase.

use super::{Instr, Program};
use crate::types::TensorType;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Primitive {
    /// Sharing of inputs; params `[party]`, count = elements.
    Input = 1,
    /// Elementwise products of secrets; count = output elements.
    Mul = 2,
    /// Matrix products `[m, k] @ [k, n]`; params `[m, k, n]`, count = products.
    MatMul = 3,
    /// Convolutions; params `[n, h, w, c, kh, kw, o, stride_h, stride_w, same, depthwise]`, count = convolutions.
    Conv2d = 4,
    /// Probabilistic truncations; params `[amount, bits]`, count = elements.
    TruncPr = 5,
    /// Exact truncations; params `[amount, bits]`, count = elements.
    TruncExact = 6,
    /// Less-than-zero; params `[bits]`, count = elements.
    LtZ = 7,
    /// Equality to zero; params `[bits]`, count = elements.
    EqZ = 8,
    /// ReLU; params `[bits]`, count = elements.
    Relu = 9,
    /// Max reductions; params `[bits, length of the reduced axis]`, count = results.
    Max = 10,
    /// Argmax reductions; params `[bits, length of the reduced axis]`, count = results.
    Argmax = 11,
    /// Max pooling; params `[bits, window elements]`, count = results.
    MaxPool = 12,
    /// Openings to all parties; count = elements.
    Open = 13,
    /// Openings to some parties (outputs); count = elements.
    Output = 14,
    /// Masks opened for reuse (`Mask`); count = elements.
    Mask = 15,
    /// Elementwise products of masked secrets (local given the product of
    /// their masks); count = output elements.
    MaskedMul = 16,
    /// Squares of masked secrets (one mask: its square); count = elements.
    MaskedSquare = 17,
    /// Matrix products of masked secrets; params `[m, k, n]`, count = products.
    MaskedMatMul = 18,
    /// Convolutions of masked secrets; params as `Conv2d`, count = convolutions.
    MaskedConv2d = 19,
}

impl Primitive {
    pub fn from_code(c: u8) -> Option<Primitive> {
        use Primitive::*;
        [
            Input,
            Mul,
            MatMul,
            Conv2d,
            TruncPr,
            TruncExact,
            LtZ,
            EqZ,
            Relu,
            Max,
            Argmax,
            MaxPool,
            Open,
            Output,
            Mask,
            MaskedMul,
            MaskedSquare,
            MaskedMatMul,
            MaskedConv2d,
        ]
        .into_iter()
        .find(|p| *p as u8 == c)
    }
    pub fn name(self) -> &'static str {
        use Primitive::*;
        match self {
            Input => "input",
            Mul => "mul",
            MatMul => "matmul",
            Conv2d => "conv2d",
            TruncPr => "trunc_pr",
            TruncExact => "trunc_exact",
            LtZ => "ltz",
            EqZ => "eqz",
            Relu => "relu",
            Max => "max",
            Argmax => "argmax",
            MaxPool => "maxpool",
            Open => "open",
            Output => "output",
            Mask => "mask",
            MaskedMul => "masked_mul",
            MaskedSquare => "masked_square",
            MaskedMatMul => "masked_matmul",
            MaskedConv2d => "masked_conv2d",
        }
    }
    /// A product of masked secrets: local, consuming the product of the masks.
    pub fn is_masked_product(self) -> bool {
        use Primitive::*;
        matches!(self, MaskedMul | MaskedSquare | MaskedMatMul | MaskedConv2d)
    }
    /// Material only a Beaver backend with mask reuse provides.
    pub fn needs_mask_reuse(self) -> bool {
        self == Primitive::Mask || self.is_masked_product()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub primitive: Primitive,
    pub params: Vec<u64>,
    pub count: u64,
}

/// The primitive and parameters an instruction consumes, and how many units
/// one execution of it takes; `None` for local instructions. A product of two
/// secrets in a round batch (`batched`) masks its operands; outside one, its
/// operands are masked already (the verifier checks) and it is local.
pub(crate) fn consumption(
    p: &Program,
    i: &Instr,
    batched: bool,
) -> Option<(Primitive, Vec<u64>, u64)> {
    use Instr::*;
    use Primitive as P;
    let reg = |r: &u32| -> &TensorType { &p.registers[*r as usize] };
    let secret = |r: &u32| reg(r).secret;
    let n = |r: &u32| reg(r).len() as u64;
    let bits = |r: &u32| reg(r).elem.bits() as u64;
    let kind = |fresh: Primitive, masked: Primitive| if batched { fresh } else { masked };
    Some(match i {
        Input { dst, input } => (
            Primitive::Input,
            vec![p.inputs[*input as usize].party as u64],
            n(dst),
        ),
        Mul { dst, a, b } if secret(a) && secret(b) => {
            let masked = if a == b {
                P::MaskedSquare
            } else {
                P::MaskedMul
            };
            (kind(P::Mul, masked), vec![], n(dst))
        }
        MatMul { a, b, .. } if secret(a) && secret(b) => {
            let (sa, sb) = (&reg(a).shape, &reg(b).shape);
            (
                kind(P::MatMul, P::MaskedMatMul),
                vec![sa[0] as u64, sa[1] as u64, sb[1] as u64],
                1,
            )
        }
        Conv2d {
            x,
            w,
            stride,
            padding,
            depthwise,
            ..
        } if secret(x) && secret(w) => {
            let mut params: Vec<u64> = reg(x)
                .shape
                .iter()
                .chain(&reg(w).shape)
                .map(|&d| d as u64)
                .collect();
            params.extend([
                stride[0] as u64,
                stride[1] as u64,
                (*padding == crate::shape::Padding::Same) as u64,
                *depthwise as u64,
            ]);
            (kind(P::Conv2d, P::MaskedConv2d), params, 1)
        }
        Trunc {
            a, amount, exact, ..
        } if secret(a) => {
            let prim = if *exact {
                Primitive::TruncExact
            } else {
                Primitive::TruncPr
            };
            (prim, vec![*amount as u64, bits(a)], n(a))
        }
        LtZ { a, .. } if secret(a) => (Primitive::LtZ, vec![bits(a)], n(a)),
        EqZ { a, .. } if secret(a) => (Primitive::EqZ, vec![bits(a)], n(a)),
        Relu { a, .. } if secret(a) => (Primitive::Relu, vec![bits(a)], n(a)),
        Max { dst, a, axis } if secret(a) => {
            let len = axis.map_or(n(a), |ax| reg(a).shape[ax as usize] as u64);
            (Primitive::Max, vec![bits(a), len], n(dst))
        }
        Argmax { dst, a, axis } if secret(a) => (
            Primitive::Argmax,
            vec![bits(a), reg(a).shape[*axis as usize] as u64],
            n(dst),
        ),
        MaxPool { dst, x, window, .. } if secret(x) => (
            Primitive::MaxPool,
            vec![bits(x), (window[0] * window[1]) as u64],
            n(dst),
        ),
        Mask { a, .. } => (Primitive::Mask, vec![], n(a)),
        Open { a, .. } => (Primitive::Open, vec![], n(a)),
        Output { a, .. } if secret(a) => (Primitive::Output, vec![], n(a)),
        _ => return None,
    })
}

/// Visits every instruction with the number of times one run executes it
/// (loops multiply by their trip counts; both branches of an `if` count fully).
pub fn for_each_weighted(p: &Program, mut visit: impl FnMut(usize, &Instr, u64)) {
    let mut multipliers = vec![1u64];
    for (pc, i) in p.code.iter().enumerate() {
        let mult = *multipliers.last().unwrap_or(&1);
        match i {
            Instr::Loop { lo, hi, .. } => {
                let trips = hi.saturating_sub(*lo).max(0) as u64;
                multipliers.push(mult.saturating_mul(trips));
            }
            Instr::EndLoop { .. } => {
                multipliers.pop();
            }
            _ => visit(pc, i, mult),
        }
    }
}

/// Visits every round batch (its instructions, after the `Round`) with the
/// number of times one run executes it.
pub fn for_each_batch(p: &Program, mut visit: impl FnMut(&[Instr], u64)) {
    for_each_weighted(p, |pc, i, times| {
        if let Instr::Round { len } = i {
            visit(&p.code[pc + 1..pc + 1 + *len as usize], times);
        }
    });
}

/// What the operations of each source location cost in a run of `program`,
/// given an operation's rounds and `N` figures (`cost`): a batch's rounds go
/// to its longest operation, the figures add up. Locations in order of first
/// appearance; code the compiler made is "(compiler)".
pub fn by_location<const N: usize>(
    program: &Program,
    cost: impl Fn(&Instr) -> (u64, [u64; N]),
) -> Vec<(String, u64, [u64; N])> {
    let mut rows: Vec<(String, u64, [u64; N])> = Vec::new();
    let row = |rows: &mut Vec<(String, u64, [u64; N])>, pc: usize| {
        let place = program.location(pc).unwrap_or("(compiler)").to_string();
        match rows.iter().position(|r| r.0 == place) {
            Some(i) => i,
            None => {
                rows.push((place, 0, [0; N]));
                rows.len() - 1
            }
        }
    };
    for_each_weighted(program, |pc, i, times| {
        let Instr::Round { len } = i else { return };
        let costs: Vec<(usize, (u64, [u64; N]))> = (pc + 1..pc + 1 + *len as usize)
            .map(|k| (k, cost(&program.code[k])))
            .collect();
        let longest = costs.iter().max_by_key(|(_, c)| c.0).map(|(k, _)| *k);
        for (k, (rounds, figures)) in &costs {
            let r = row(&mut rows, *k);
            if Some(*k) == longest {
                rows[r].1 = rows[r].1.saturating_add(rounds.saturating_mul(times));
            }
            for (sum, f) in rows[r].2.iter_mut().zip(figures) {
                *sum = sum.saturating_add(f.saturating_mul(times));
            }
        }
    });
    rows
}

/// Derives the manifest of a program whose structure has been verified.
pub fn derive_manifest(p: &Program) -> Vec<ManifestEntry> {
    let mut totals: BTreeMap<(Primitive, Vec<u64>), u64> = BTreeMap::new();
    let mut batch_left = 0;
    for_each_weighted(p, |_, i, mult| {
        let batched = batch_left > 0;
        batch_left = match i {
            Instr::Round { len } => *len,
            _ => batch_left.saturating_sub(1),
        };
        if let Some((prim, params, count)) = consumption(p, i, batched) {
            let e = totals.entry((prim, params)).or_default();
            *e = e.saturating_add(count.saturating_mul(mult));
        }
    });
    totals
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|((primitive, params), count)| ManifestEntry {
            primitive,
            params,
            count,
        })
        .collect()
}

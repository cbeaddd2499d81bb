//! Compile-time constants: literals, `const` items, generic dimensions and
//! arithmetic on them. They have no element type until they meet a tensor (or a
//! declared type), where they are encoded in that tensor's kind.

use crate::ast::BinOp;
use mpcvm::shape;
use mpcvm::types::Elem;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// A compile-time tensor of numbers (a scalar has shape `[]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstT {
    pub shape: Vec<usize>,
    pub data: Vec<Num>,
    pub boolean: bool,
}

impl std::fmt::Display for ConstT {
    /// As a literal: `3`, `0.5`, `true`, nested brackets for arrays.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn nested(
            c: &ConstT,
            f: &mut std::fmt::Formatter<'_>,
            axis: usize,
            at: usize,
        ) -> std::fmt::Result {
            if axis == c.shape.len() {
                return match (c.data[at], c.boolean) {
                    (n, true) => write!(f, "{}", n.as_f64() != 0.0),
                    (Num::Int(i), _) => write!(f, "{i}"),
                    (Num::Float(x), _) => write!(f, "{x}"),
                };
            }
            let stride: usize = c.shape[axis + 1..].iter().product();
            write!(f, "[")?;
            for k in 0..c.shape[axis] {
                if k > 0 {
                    write!(f, ", ")?;
                }
                nested(c, f, axis + 1, at + k * stride)?;
            }
            write!(f, "]")
        }
        nested(self, f, 0, 0)
    }
}

impl ConstT {
    pub fn scalar(n: Num) -> Self {
        ConstT {
            shape: vec![],
            data: vec![n],
            boolean: false,
        }
    }
    pub fn int(i: i128) -> Self {
        ConstT::scalar(Num::Int(i))
    }
    pub fn bool(b: bool) -> Self {
        ConstT {
            shape: vec![],
            data: vec![Num::Int(b as i128)],
            boolean: true,
        }
    }
    /// The value as one integer, if it is an integer scalar.
    pub fn as_int(&self) -> Option<i128> {
        match (self.shape.is_empty(), self.data.first()) {
            (true, Some(Num::Int(i))) => Some(*i),
            _ => None,
        }
    }
    /// The value as a list of integers (a scalar or a vector of integers).
    pub fn as_ints(&self) -> Option<Vec<i128>> {
        if self.shape.len() > 1 {
            return None;
        }
        self.data
            .iter()
            .map(|n| if let Num::Int(i) = n { Some(*i) } else { None })
            .collect()
    }

    /// Ring elements of this constant in kind `elem`.
    pub fn encode(&self, elem: Elem) -> Result<Vec<u64>, String> {
        let scale = 2f64.powi(elem.frac() as i32);
        // A fixed-point constant must hold in its kind's bits, as a value of that
        // type would: a product's truncation relies on it.
        let half = 2f64.powi(elem.bits() as i32 - 1);
        let too_big =
            |v: f64| format!("{v} is outside the range of {elem} ({})", elem.range_text());
        self.data
            .iter()
            .map(|n| match (elem, n) {
                (Elem::Bit, Num::Int(i @ (0 | 1))) => Ok(*i as u64),
                (Elem::Bit, _) => Err(format!("{} is not a bit (0 or 1)", n.as_f64())),
                // Integer constants wrap in the ring as integer arithmetic does.
                (Elem::Int { .. }, Num::Int(i)) if (-(1i128 << 63)..(1i128 << 64)).contains(i) => {
                    Ok(*i as u64)
                }
                (Elem::Int { .. }, Num::Int(i)) => Err(format!("{i} does not fit in 64 bits")),
                (Elem::Int { .. }, Num::Float(f)) => Err(format!("{f} is not an integer")),
                (Elem::Fix { .. }, Num::Int(i)) if ((*i as f64) * scale).abs() < half => {
                    Ok(((*i) << elem.frac()) as u64)
                }
                (Elem::Fix { .. }, Num::Int(i)) => Err(too_big(*i as f64)),
                (Elem::Fix { .. }, Num::Float(f)) => {
                    let v = (f * scale).round();
                    if !v.is_finite() || v.abs() >= half {
                        Err(too_big(*f))
                    } else {
                        Ok(v as i64 as u64)
                    }
                }
            })
            .collect()
    }
}

/// Evaluates `a op b` on constants, elementwise with broadcasting.
pub fn fold_binary(op: BinOp, a: &ConstT, b: &ConstT) -> Result<ConstT, String> {
    use BinOp::*;
    if op == MatMul {
        return Err("matrix product of two constants is not supported".into());
    }
    let out_shape = shape::broadcast(&a.shape, &b.shape)?;
    let n = shape::elements(&out_shape)
        .filter(|&n| n <= super::MAX_CONST_ELEMENTS)
        .ok_or("constant too large")?;
    let at = |t: &ConstT, i: usize| -> Num {
        // Index into a broadcast operand by its row-major position in the output.
        let mut idx = 0usize;
        let mut rem = i;
        let mut stride_out = n;
        let offset = out_shape.len() - t.shape.len();
        let mut stride_t: usize = t.shape.iter().product();
        for (axis, &d) in out_shape.iter().enumerate() {
            stride_out /= d.max(1);
            let coord = rem / stride_out.max(1);
            rem %= stride_out.max(1);
            if axis >= offset {
                let td = t.shape[axis - offset];
                stride_t /= td.max(1);
                if td != 1 {
                    idx += coord * stride_t;
                }
            }
        }
        t.data[idx]
    };
    let comparison = matches!(op, Lt | Le | Gt | Ge | Eq | Ne);
    let logical = matches!(op, And | Or | Xor);
    if logical && !(a.boolean && b.boolean) {
        return Err(format!("`{}` needs two booleans or bits", op.symbol()));
    }
    let mut data = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y) = (at(a, i), at(b, i));
        let v = match (x, y) {
            (Num::Int(p), Num::Int(q)) => Num::Int(match op {
                Add => p.checked_add(q).ok_or("constant overflow")?,
                Sub => p.checked_sub(q).ok_or("constant overflow")?,
                Mul => p.checked_mul(q).ok_or("constant overflow")?,
                Div | Rem if q == 0 => return Err("division by zero in a constant".into()),
                Div => p.div_euclid(q),
                Rem => p.rem_euclid(q),
                Shl if (0..64).contains(&q) => p << q,
                Shr if (0..64).contains(&q) => p >> q,
                Shl | Shr => return Err(format!("shift by {q}: must be in 0..64")),
                Lt => (p < q) as i128,
                Le => (p <= q) as i128,
                Gt => (p > q) as i128,
                Ge => (p >= q) as i128,
                Eq => (p == q) as i128,
                Ne => (p != q) as i128,
                And => p & q,
                Or => p | q,
                Xor => p ^ q,
                MatMul => unreachable!(),
            }),
            _ => {
                let (p, q) = (x.as_f64(), y.as_f64());
                match op {
                    Add => Num::Float(p + q),
                    Sub => Num::Float(p - q),
                    Mul => Num::Float(p * q),
                    Div if q == 0.0 => return Err("division by zero in a constant".into()),
                    Div => Num::Float(p / q),
                    Lt => Num::Int((p < q) as i128),
                    Le => Num::Int((p <= q) as i128),
                    Gt => Num::Int((p > q) as i128),
                    Ge => Num::Int((p >= q) as i128),
                    Eq => Num::Int((p == q) as i128),
                    Ne => Num::Int((p != q) as i128),
                    _ => {
                        return Err(format!(
                            "`{}` is not defined on fractional constants",
                            op.symbol()
                        ))
                    }
                }
            }
        };
        data.push(v);
    }
    Ok(ConstT {
        shape: out_shape,
        data,
        boolean: comparison || logical,
    })
}

//! The elementary functions: `exp`, `log`, `sigmoid`, `tanh`, `sqrt`, `rsqrt`,
//! `softmax` and `/` between fixed-point tensors are written in the language, in the
//! prelude module `math` (stdlib/math.mpc), over the primitive operations, so
//! every backend gets them (on public arguments they compute publicly,
//! locally: see `Cx::public_only`); here are the calls into it (a tensor of any shape
//! is flattened for the elementwise functions, and `softmax` works on rows),
//! and the builtins the module stands on: `poly` (a public polynomial with its
//! powers in logarithmic depth) and the constant helpers `range` and `pow`.

use super::consts::{ConstT, Num};
use super::*;

/// The prelude module, loaded with every program.
pub const PRELUDE: &str = "math";

/// Builtin names that call the prelude's function of that name.
pub const PRELUDE_FUNCTIONS: &[&str] =
    &["exp", "log", "sigmoid", "tanh", "sqrt", "rsqrt", "softmax"];

impl Elaborator<'_> {
    /// `exp(x)` and the other elementwise prelude functions on a fixed-point
    /// tensor of any shape; `softmax(x, axis = k)` (default: the last axis).
    pub(crate) fn call_prelude(
        &mut self,
        cx: &mut Cx,
        name: &Ident,
        x: Val,
        xspan: Span,
        axis: Option<u32>,
        span: Span,
    ) -> Result<Val> {
        let x = match x {
            Val::T(v) => v,
            Val::Const(_) => return Err(Diagnostic::new(
                xspan,
                format!("{} of a constant", name.name),
            )
            .help(
                "compute it with a calculator, or give the constant a type: `(0.5 as sfix<16>)`",
            )),
            Val::Tuple(vs) => return Err(not_one_value(xspan, &vs)),
        };
        let t = self.ty(cx, x);
        if !matches!(t.elem, Elem::Fix { .. }) {
            return Err(Diagnostic::new(
                xspan,
                format!("{} of {t}: it takes fixed point", name.name),
            )
            .help(format!(
                "convert it first, e.g. `{}(x as sfix<16>)`",
                name.name
            )));
        }
        let reshaped = |this: &mut Self, cx: &mut Cx, v: Value, shape: Vec<usize>| {
            let vt = this.ty(cx, v);
            this.push(
                cx,
                Op::Reshape,
                &[v],
                TensorType::new(vt.secret, vt.elem, shape),
                span,
            )
        };
        let transposed = |this: &mut Self, cx: &mut Cx, v: Value, perm: &[usize]| {
            let vt = this.ty(cx, v);
            let shape = perm.iter().map(|&p| vt.shape[p]).collect();
            let perm = perm.iter().map(|&p| p as u32).collect();
            this.push(
                cx,
                Op::Transpose(perm),
                &[v],
                TensorType::new(vt.secret, vt.elem, shape),
                span,
            )
        };
        let decl = self.modules[PRELUDE].fns[&name.name].clone();
        let call = |this: &mut Self, cx: &mut Cx, v: Value| -> Result<Value> {
            match this.call_user(cx, PRELUDE, &decl, vec![(Val::T(v), xspan)], span)? {
                Val::T(r) => Ok(r),
                _ => unreachable!("the prelude's functions return one tensor"),
            }
        };
        if name.name != "softmax" {
            let flat = reshaped(self, cx, x, vec![t.len()]);
            let r = call(self, cx, flat)?;
            return Ok(Val::T(reshaped(self, cx, r, t.shape)));
        }
        let rank = t.shape.len();
        if rank == 0 {
            return Err(
                Diagnostic::new(xspan, "softmax of a scalar").help("pass a vector or a tensor")
            );
        }
        let axis = axis.map_or(rank - 1, |a| a as usize);
        // The axis last, the others flattened into rows.
        let mut perm: Vec<usize> = (0..rank).filter(|&a| a != axis).collect();
        perm.push(axis);
        let moved = transposed(self, cx, x, &perm);
        let n = t.shape[axis];
        let rows = reshaped(self, cx, moved, vec![t.len() / n.max(1), n]);
        let r = call(self, cx, rows)?;
        let moved_shape: Vec<usize> = perm.iter().map(|&p| t.shape[p]).collect();
        let r = reshaped(self, cx, r, moved_shape);
        let mut back = vec![0; rank];
        for (k, &p) in perm.iter().enumerate() {
            back[p] = k;
        }
        Ok(Val::T(transposed(self, cx, r, &back)))
    }

    /// `a / b` for fixed-point tensors: both broadcast to the result's shape,
    /// flattened, and divided by the prelude's `div` (secret if either is).
    pub(crate) fn divide_tensors(
        &mut self,
        cx: &mut Cx,
        a: Value,
        b: Value,
        span: Span,
    ) -> Result<Val> {
        let (ta, tb) = (self.ty(cx, a), self.ty(cx, b));
        let secret = ta.secret || tb.secret;
        let (Elem::Fix { frac: fa, bits: ka }, Elem::Fix { frac: fb, bits: kb }) =
            (ta.elem, tb.elem)
        else {
            unreachable!("called for fixed point")
        };
        if fa != fb {
            return Err(Diagnostic::new(
                span,
                format!("`/` of {ta} and {tb}: the fractional bits differ"),
            )
            .help("convert one side with `as`"));
        }
        let out = mpcvm::shape::broadcast(&ta.shape, &tb.shape).map_err(|m| {
            Diagnostic::new(span, m)
                .help("see the broadcasting rules in docs/LANGUAGE.md; reshape one operand")
        })?;
        let elem = Elem::Fix {
            frac: fa,
            bits: ka.max(kb),
        };
        let n = out.iter().product();
        let mut flat = Vec::new();
        for v in [a, b] {
            let vt = self.ty(cx, v);
            let v = self.retag(cx, v, elem, span);
            let v = if vt.shape == out {
                v
            } else {
                // Broadcast by adding public zeros of the result's shape (local).
                let zeros = self.coerce(
                    cx,
                    Val::Const(ConstT::int(0)),
                    &TensorType::new(false, elem, out.clone()),
                    span,
                    "`/`",
                )?;
                self.push(
                    cx,
                    Op::Add,
                    &[v, zeros],
                    TensorType::new(vt.secret, elem, out.clone()),
                    span,
                )
            };
            let flat_type = TensorType::new(secret, elem, vec![n]);
            let v = self.push(
                cx,
                Op::Reshape,
                &[v],
                TensorType::new(vt.secret, elem, vec![n]),
                span,
            );
            flat.push((
                Val::T(self.coerce(cx, Val::T(v), &flat_type, span, "`/`")?),
                span,
            ));
        }
        let decl = self.modules[PRELUDE].fns["div"].clone();
        let Val::T(q) = self.call_user(cx, PRELUDE, &decl, flat, span)? else {
            unreachable!("div returns one tensor")
        };
        Ok(Val::T(self.push(
            cx,
            Op::Reshape,
            &[q],
            TensorType::new(secret, elem, out),
            span,
        )))
    }

    /// `poly(x, [c0, c1, ..., cd])`: `c0 + c1 x + ... + cd x^d` for fixed-point
    /// `x`. The powers take ceil(log2 d) rounds of products (x^(m+1..2m) from
    /// x^(1..m) times x^m, all at once); the terms are summed before one
    /// truncation, with the coefficients encoded in all the fractional bits the
    /// ring leaves, so rounding the coefficients costs almost nothing.
    pub(crate) fn poly(
        &mut self,
        cx: &mut Cx,
        x: Value,
        coeffs: &ConstT,
        span: Span,
    ) -> Result<Value> {
        let t = self.ty(cx, x);
        let Elem::Fix { frac, bits } = t.elem else {
            return Err(
                Diagnostic::new(span, format!("poly of {t}: it takes fixed point"))
                    .help("convert the value first, e.g. `poly(x as sfix<16>, [...])`"),
            );
        };
        if coeffs.shape.len() != 1 || coeffs.data.is_empty() || coeffs.boolean {
            return Err(
                Diagnostic::new(span, "poly takes a list of constant coefficients")
                    .help("e.g. poly(x, [1.0, 0.5, 0.25]) for 1 + x/2 + x^2/4"),
            );
        }
        let degree = coeffs.data.len() - 1;
        let mut powers = if degree == 0 { Vec::new() } else { vec![x] };
        while powers.len() < degree {
            let m = powers.len();
            let top = powers[m - 1];
            for i in 0..m.min(degree - m) {
                let p = self.binary(
                    cx,
                    BinOp::Mul,
                    (Val::T(powers[i]), span),
                    (Val::T(top), span),
                    span,
                )?;
                let Val::T(p) = p else {
                    unreachable!("a product of tensors")
                };
                powers.push(self.retag(cx, p, t.elem, span));
            }
        }
        // Terms of raw products with coefficients of frac + guard fractional bits,
        // in 63-bit integers; the guard bits leave each term room for four times
        // the type's range (partial sums of a series may exceed what the sum holds).
        let guard = 63u32.saturating_sub(bits as u32 + frac as u32 + 2);
        let wide = Elem::Int { bits: 63 };
        let scale = 2f64.powi((frac as u32 + guard) as i32);
        let coefficient = |c: Num| -> Result<i128> {
            let v = (c.as_f64() * scale).round();
            if v.abs() < 2f64.powi(62) {
                Ok(v as i128)
            } else {
                Err(Diagnostic::new(
                    span,
                    format!("coefficient {} is too large for {}", c.as_f64(), t.elem),
                )
                .help("scale the polynomial down"))
            }
        };
        let c0 = coefficient(coeffs.data[0])? << frac;
        let mut sum = Val::Const(ConstT::int(c0));
        for (k, p) in powers.iter().enumerate() {
            let c = coefficient(coeffs.data[k + 1])?;
            if c == 0 {
                continue;
            }
            let raw = Val::T(self.retag(cx, *p, wide, span));
            let term = self.binary(
                cx,
                BinOp::Mul,
                (raw, span),
                (Val::Const(ConstT::int(c)), span),
                span,
            )?;
            sum = self.binary(cx, BinOp::Add, (sum, span), (term, span), span)?;
        }
        let sum = match sum {
            Val::T(v) => v,
            constant => self.coerce(
                cx,
                constant,
                &TensorType::new(t.secret, wide, t.shape.clone()),
                span,
                "poly",
            )?,
        };
        let truncated = self.push(
            cx,
            Op::Trunc {
                amount: (frac as u32 + guard) as u8,
                exact: self.options.exact_fixed_point,
            },
            &[sum],
            TensorType::new(t.secret, wide, t.shape.clone()),
            span,
        );
        Ok(self.retag(cx, truncated, t.elem, span))
    }

    /// `v` with element kind `elem`: the same ring values, read as another kind.
    pub(crate) fn retag(&mut self, cx: &mut Cx, v: Value, elem: Elem, span: Span) -> Value {
        let t = self.ty(cx, v);
        if t.elem == elem {
            return v;
        }
        self.push(
            cx,
            Op::Reshape,
            &[v],
            TensorType::new(t.secret, elem, t.shape),
            span,
        )
    }

    /// `reverse(x, axis = k)`: the positions along axis k in the opposite
    /// order, as slices of one position joined back (local).
    pub(crate) fn reverse(&mut self, cx: &mut Cx, x: Value, axis: usize, span: Span) -> Value {
        let t = self.ty(cx, x);
        let n = t.shape.get(axis).copied().unwrap_or(0);
        if n <= 1 {
            return x;
        }
        let mut one = t.shape.clone();
        one[axis] = 1;
        let parts: Vec<Value> = (0..n)
            .rev()
            .map(|k| {
                let mut starts = vec![0u32; t.shape.len()];
                starts[axis] = k as u32;
                self.push(
                    cx,
                    Op::Slice {
                        starts,
                        dynamic_axis: None,
                    },
                    &[x],
                    TensorType::new(t.secret, t.elem, one.clone()),
                    span,
                )
            })
            .collect();
        self.push(cx, Op::Concat(axis as u32), &parts, t, span)
    }

    /// `range(lo, hi)`: the integers `lo, lo + 1, ..., hi - 1` as a constant.
    pub(crate) fn range(&mut self, lo: i128, hi: i128, span: Span) -> Result<Val> {
        if hi < lo || hi - lo > MAX_CONST_ELEMENTS as i128 {
            return Err(Diagnostic::new(
                span,
                format!("range({lo}, {hi}) is not a list of at most {MAX_CONST_ELEMENTS} integers"),
            )
            .help("give lo <= hi"));
        }
        Ok(Val::Const(ConstT {
            shape: vec![(hi - lo) as usize],
            data: (lo..hi).map(Num::Int).collect(),
            boolean: false,
        }))
    }

    /// `pow(a, b)` of constants, elementwise with broadcasting: exact for
    /// integers with a non-negative integer exponent, else in floating point.
    pub(crate) fn pow(&mut self, a: &ConstT, b: &ConstT, span: Span) -> Result<Val> {
        let out = mpcvm::shape::broadcast(&a.shape, &b.shape).map_err(|m| {
            Diagnostic::new(span, format!("pow: {m}")).help("give operands that broadcast")
        })?;
        let n: usize = out.iter().product();
        let at = |c: &ConstT, i: usize| {
            if c.data.len() == 1 {
                c.data[0]
            } else {
                c.data[i % c.data.len()]
            }
        };
        if a.data.len() != 1 && a.data.len() != n || b.data.len() != 1 && b.data.len() != n {
            return Err(
                Diagnostic::new(span, "pow takes scalars, or lists of one length")
                    .help("e.g. pow(2, range(0, 8))"),
            );
        }
        let mut data = Vec::with_capacity(n);
        for i in 0..n {
            data.push(match (at(a, i), at(b, i)) {
                (Num::Int(x), Num::Int(e)) if e >= 0 => Num::Int(
                    u32::try_from(e)
                        .ok()
                        .and_then(|e| x.checked_pow(e))
                        .filter(|v| v.abs() < 1i128 << 100)
                        .ok_or_else(|| {
                            Diagnostic::new(span, "constant overflow in pow")
                                .help("use smaller values")
                        })?,
                ),
                (x, e) => {
                    let v = x.as_f64().powf(e.as_f64());
                    if !v.is_finite() {
                        return Err(
                            Diagnostic::new(span, "pow gives a value that is not finite")
                                .help("use other values"),
                        );
                    }
                    Num::Float(v)
                }
            });
        }
        Ok(Val::Const(ConstT {
            shape: out,
            data,
            boolean: false,
        }))
    }
}

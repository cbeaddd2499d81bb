//! Expressions: names, constants, arithmetic with the fixed-point rules,
//! comparisons, casts and indexing.

use super::consts::{fold_binary, ConstT, Num};
use super::*;
use mpcvm::shape;

/// `elem` with `more` extra bits, as far as the ring holds.
pub(crate) fn widened(elem: Elem, more: u8) -> Elem {
    match elem {
        Elem::Int { bits } => Elem::Int {
            bits: (bits + more).min(64),
        },
        Elem::Fix { frac, bits } => Elem::Fix {
            frac,
            bits: (bits + more).min(64),
        },
        Elem::Bit => Elem::Int { bits: 1 + more },
    }
}

/// How two element kinds combine in `+`, `-`, `*`: the result kind, and by how
/// many bits each operand must first be shifted left to align binary points.
fn combine(op: BinOp, a: Elem, b: Elem) -> std::result::Result<(Elem, u8, u8), String> {
    use Elem::*;
    let additive = matches!(op, BinOp::Add | BinOp::Sub);
    Ok(match (a, b) {
        (Fix { frac: f1, bits: b1 }, Fix { frac: f2, bits: b2 }) => {
            if f1 != f2 {
                return Err(format!(
                    "fixed-point values with {f1} and {f2} fractional bits"
                ));
            }
            (
                Fix {
                    frac: f1,
                    bits: b1.max(b2),
                },
                0,
                0,
            )
        }
        (Fix { frac, bits }, Int { .. } | Bit) => {
            (Fix { frac, bits }, 0, if additive { frac } else { 0 })
        }
        (Int { .. } | Bit, Fix { frac, bits }) => {
            (Fix { frac, bits }, if additive { frac } else { 0 }, 0)
        }
        (Int { bits: x }, Int { bits: y }) => (Int { bits: x.max(y) }, 0, 0),
        (Int { bits }, Bit) | (Bit, Int { bits }) => (Int { bits }, 0, 0),
        (Bit, Bit) if op == BinOp::Mul => (Bit, 0, 0),
        (Bit, Bit) => (Int { bits: 2 }, 0, 0),
    })
}

impl Elaborator<'_> {
    pub(crate) fn expr(
        &mut self,
        cx: &mut Cx,
        e: &Expr,
        expected: Option<&TensorType>,
    ) -> Result<Val> {
        match &e.kind {
            ExprKind::Load(name) => self.load(cx, name, expected, e.span),
            ExprKind::Int(v) => Ok(Val::Const(ConstT::int(*v as i128))),
            ExprKind::Float(v) => Ok(Val::Const(ConstT::scalar(Num::Float(*v)))),
            ExprKind::Bool(b) => Ok(Val::Const(ConstT::bool(*b))),
            ExprKind::Path(p) => self.name(cx, p, e.span),
            ExprKind::Array(items) => {
                let mut consts = Vec::new();
                for it in items {
                    match self.expr(cx, it, None)? {
                        Val::Const(c) => consts.push((c, it.span)),
                        _ => {
                            return Err(Diagnostic::new(
                                it.span,
                                "array literals hold compile-time constants only",
                            )
                            .help("join tensors with concat([a, b], axis = 0)"))
                        }
                    }
                }
                let Some((first, _)) = consts.first() else {
                    return Err(Diagnostic::new(e.span, "empty array literal")
                        .help("give at least one element"));
                };
                let inner = first.shape.clone();
                let mut data = Vec::new();
                for (c, span) in &consts {
                    if c.shape != inner {
                        return Err(
                            Diagnostic::new(*span, "array elements have different shapes")
                                .help("make every row the same length"),
                        );
                    }
                    data.extend(c.data.iter().copied());
                }
                let mut shape = vec![consts.len()];
                shape.extend(inner);
                if data.len() > MAX_CONST_ELEMENTS {
                    return Err(
                        Diagnostic::new(e.span, "array literal too large").help(format!(
                            "constants hold at most {MAX_CONST_ELEMENTS} elements"
                        )),
                    );
                }
                Ok(Val::Const(ConstT {
                    shape,
                    data,
                    boolean: consts.iter().all(|(c, _)| c.boolean),
                }))
            }
            ExprKind::Call { callee, args } => self.call(cx, callee, args, e.span, expected),
            ExprKind::Unary(op, x) => {
                let v = self.expr(cx, x, None)?;
                match (op, v) {
                    (UnOp::Neg, Val::Const(c)) => Ok(Val::Const(
                        fold_binary(BinOp::Sub, &ConstT::int(0), &c)
                            .map_err(|m| Diagnostic::new(e.span, m))?,
                    )),
                    (UnOp::Not, Val::Const(c)) if c.boolean => Ok(Val::Const(
                        fold_binary(BinOp::Xor, &ConstT::bool(true), &c)
                            .map_err(|m| Diagnostic::new(e.span, m))?,
                    )),
                    (UnOp::Neg, Val::T(v)) => {
                        let t = self.ty(cx, v);
                        if t.elem == Elem::Bit {
                            return Err(Diagnostic::new(e.span, "negation of a bit").help(
                                "use !b for the complement of a bit, or convert with `as sint<8>`",
                            ));
                        }
                        Ok(Val::T(self.push(cx, Op::Neg, &[v], t, e.span)))
                    }
                    (UnOp::Not, Val::T(v)) => {
                        let t = self.ty(cx, v);
                        if t.elem != Elem::Bit {
                            return Err(Diagnostic::new(
                                x.span,
                                format!("`!` needs bits, found {t}"),
                            )
                            .help("compare values to get bits"));
                        }
                        Ok(Val::T(self.not(cx, v, e.span)))
                    }
                    (UnOp::Not, _) => Err(Diagnostic::new(x.span, "`!` needs a boolean or bits")
                        .help("compare values to get bits")),
                    (_, Val::Tuple(vs)) => Err(not_one_value(x.span, &vs)),
                }
            }
            ExprKind::Binary(op, a, b) => {
                let va = self.expr(cx, a, None)?;
                let vb = self.expr(cx, b, None)?;
                self.binary(cx, *op, (va, a.span), (vb, b.span), e.span)
            }
            ExprKind::Cast(x, t) => {
                let target = self.resolve_type(cx, t)?;
                let v = self.expr(cx, x, None)?;
                self.cast(cx, v, &target, x.span, t.span)
            }
            ExprKind::Index(x, items) => {
                let v = self.expr(cx, x, None)?;
                self.index(cx, v, items, x.span, e.span)
            }
        }
    }

    fn name(&mut self, cx: &mut Cx, p: &[Ident], span: Span) -> Result<Val> {
        if let [n] = p {
            if let Some(v) = self.lookup(cx, &n.name) {
                return Ok(v.val.clone());
            }
            if let Some(d) = cx.dims.get(&n.name) {
                return Ok(Val::Const(ConstT::int(*d)));
            }
            if self.parties.contains_key(&n.name) {
                return Err(
                    Diagnostic::new(span, format!("`{}` is a party, not a value", n.name))
                        .help("parties appear in input(party) and `reveal x to party`"),
                );
            }
        }
        if let Some(c) = self.const_item(cx, p)? {
            return Ok(Val::Const(c));
        }
        let name = p
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("::");
        let hint = "declare it with `let` or `const` before using it";
        let module = &self.modules[&cx.module];
        let help = match p {
            [n] => crate::suggest::or_hint(
                &n.name,
                cx.names().chain(module.consts.keys().map(String::as_str)),
                hint,
            ),
            _ => hint.to_string(),
        };
        Err(Diagnostic::new(span, format!("unknown name `{name}`")).help(help))
    }

    /// `1 - b` for bits `b`.
    pub(crate) fn not(&mut self, cx: &mut Cx, b: Value, span: Span) -> Value {
        let t = self.ty(cx, b);
        let one = self.push(
            cx,
            Op::Const(vec![1]),
            &[],
            TensorType::new(false, Elem::Bit, vec![]),
            span,
        );
        self.push(cx, Op::Sub, &[one, b], t, span)
    }

    /// A value as a tensor; constants take the kind of `like`.
    fn operand(&mut self, cx: &mut Cx, v: Val, span: Span, like: Option<Elem>) -> Result<Value> {
        match v {
            Val::T(v) => Ok(v),
            Val::Const(c) => {
                let elem = match like {
                    Some(e) => e,
                    None if c.boolean => Elem::Bit,
                    None if c.data.iter().all(|n| matches!(n, Num::Int(_))) => Elem::Int { bits: 64 },
                    None => return Err(Diagnostic::new(span, "a fractional constant needs a type here").help("write it with a type, e.g. `(0.5 as fix<16>)`, or combine it with a fixed-point tensor")),
                };
                let elem = match (elem, &c) {
                    (Elem::Bit, c) if !c.boolean => Elem::Int { bits: 64 },
                    (e, _) => e,
                };
                self.materialize(cx, &c, elem, span)
            }
            Val::Tuple(vs) => Err(not_one_value(span, &vs)),
        }
    }

    pub(crate) fn binary(
        &mut self,
        cx: &mut Cx,
        op: BinOp,
        (va, sa): (Val, Span),
        (vb, sb): (Val, Span),
        span: Span,
    ) -> Result<Val> {
        if let (Val::Const(a), Val::Const(b)) = (&va, &vb) {
            return fold_binary(op, a, b)
                .map(Val::Const)
                .map_err(|m| Diagnostic::new(span, m).help("check the constant expression"));
        }
        // Shifts take a constant amount.
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let amount = match &vb {
                Val::Const(c) => c.as_int().filter(|k| (0..64).contains(k)),
                _ => None,
            }
            .ok_or_else(|| {
                Diagnostic::new(sb, "shift amount must be an integer constant in 0..64")
                    .help("shift by a constant; for other scaling multiply by a constant")
            })?;
            let x = self.operand(cx, va, sa, None)?;
            let t = self.ty(cx, x);
            let op = if op == BinOp::Shl {
                Op::Shl(amount as u8)
            } else {
                Op::Trunc {
                    amount: amount as u8,
                    exact: true,
                }
            };
            return Ok(Val::T(self.push(cx, op, &[x], t, span)));
        }
        // Division by a constant: fixed point multiplies by the reciprocal.
        if op == BinOp::Div {
            if let (Val::T(x), Val::Const(c)) = (&va, &vb) {
                let t = self.ty(cx, *x);
                if matches!(t.elem, Elem::Fix { .. }) {
                    return Ok(Val::T(self.divide(cx, *x, c, t.elem.bits(), sb, span)?));
                }
            }
        }
        let like_a = if let Val::T(v) = &va {
            Some(self.ty(cx, *v).elem)
        } else {
            None
        };
        let like_b = if let Val::T(v) = &vb {
            Some(self.ty(cx, *v).elem)
        } else {
            None
        };
        let a = self.operand(cx, va, sa, like_b)?;
        let b = self.operand(cx, vb, sb, like_a)?;
        let (ta, tb) = (self.ty(cx, a), self.ty(cx, b));
        let secret = ta.secret || tb.secret;
        // Division of fixed point by a tensor: the prelude's `div`.
        if op == BinOp::Div && matches!((ta.elem, tb.elem), (Elem::Fix { .. }, Elem::Fix { .. })) {
            return self.divide_tensors(cx, a, b, span);
        }
        let shape_err = |m: String| {
            Diagnostic::new(span, m)
                .label(format!("{ta} {} {tb}", op.symbol()))
                .help("see the broadcasting rules in docs/LANGUAGE.md; reshape one operand")
        };
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::MatMul => {
                let (elem, sh_a, sh_b) = combine(op, ta.elem, tb.elem).map_err(|m| {
                    Diagnostic::new(span, format!("`{}` of {ta} and {tb}: {m}", op.symbol()))
                        .help("convert one side with `as`")
                })?;
                let out_shape = if op == BinOp::MatMul {
                    shape::matmul(&ta.shape, &tb.shape)
                } else {
                    shape::broadcast(&ta.shape, &tb.shape)
                }
                .map_err(shape_err)?;
                let a = self.align(cx, a, sh_a, span);
                let b = self.align(cx, b, sh_b, span);
                // A matrix product of bits counts the pairs that are both set.
                let elem = if op == BinOp::MatMul && (ta.elem, tb.elem) == (Elem::Bit, Elem::Bit) {
                    super::builtins::counted(Elem::Bit, ta.shape[1])
                } else {
                    elem
                };
                let ir_op = match op {
                    BinOp::Add => Op::Add,
                    BinOp::Sub => Op::Sub,
                    BinOp::Mul => Op::Mul,
                    _ => Op::MatMul,
                };
                let raw = self.push(
                    cx,
                    ir_op,
                    &[a, b],
                    TensorType::new(secret, elem, out_shape),
                    span,
                );
                Ok(Val::T(
                    self.rescale_product(cx, op, raw, ta.elem, tb.elem, span),
                ))
            }
            BinOp::Div | BinOp::Rem => {
                if secret
                    || matches!(ta.elem, Elem::Fix { .. })
                    || matches!(tb.elem, Elem::Fix { .. })
                {
                    return Err(Diagnostic::new(span, format!("`{}` of {ta} and {tb}", op.symbol()))
                        .help("division and remainder work on public integers; divide fixed-point values by a constant, and secret integers by powers of two with >>"));
                }
                let (elem, _, _) =
                    combine(BinOp::Add, ta.elem, tb.elem).map_err(|m| Diagnostic::new(span, m))?;
                let out = shape::broadcast(&ta.shape, &tb.shape).map_err(shape_err)?;
                let ir_op = if op == BinOp::Div { Op::Div } else { Op::Rem };
                Ok(Val::T(self.push(
                    cx,
                    ir_op,
                    &[a, b],
                    TensorType::new(false, elem, out),
                    span,
                )))
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => {
                let (elem, sh_a, sh_b) = combine(BinOp::Sub, ta.elem, tb.elem).map_err(|m| {
                    Diagnostic::new(span, format!("comparison of {ta} and {tb}: {m}"))
                        .help("convert one side with `as`")
                })?;
                let out = shape::broadcast(&ta.shape, &tb.shape).map_err(shape_err)?;
                let a = self.align(cx, a, sh_a, span);
                let b = self.align(cx, b, sh_b, span);
                let bit_t = TensorType::new(secret, Elem::Bit, out.clone());
                let (x, y) = if matches!(op, BinOp::Gt | BinOp::Le) {
                    (b, a)
                } else {
                    (a, b)
                };
                let bit = if matches!(op, BinOp::Eq | BinOp::Ne) {
                    // x - y wraps to zero only if x = y, so the wrapped difference
                    // decides equality even at 64 bits.
                    let d_elem = widened(elem, 1);
                    let d = self.push(
                        cx,
                        Op::Sub,
                        &[x, y],
                        TensorType::new(secret, d_elem, out),
                        span,
                    );
                    self.push(cx, Op::EqZ, &[d], bit_t, span)
                } else {
                    self.less(cx, x, y, elem, bit_t, span)
                };
                Ok(Val::T(if matches!(op, BinOp::Le | BinOp::Ge | BinOp::Ne) {
                    self.not(cx, bit, span)
                } else {
                    bit
                }))
            }
            BinOp::And | BinOp::Or | BinOp::Xor => {
                if ta.elem != Elem::Bit || tb.elem != Elem::Bit {
                    return Err(Diagnostic::new(
                        span,
                        format!("`{}` needs bits, found {ta} and {tb}", op.symbol()),
                    )
                    .help("compare values to get bits"));
                }
                let out = shape::broadcast(&ta.shape, &tb.shape).map_err(shape_err)?;
                let t = TensorType::new(secret, Elem::Bit, out);
                Ok(Val::T(self.logic(cx, op, a, b, t, span)))
            }
            BinOp::Shl | BinOp::Shr => unreachable!("handled above"),
        }
    }

    /// [x < y] for values of kind `elem`: the sign of x - y, which needs one more
    /// bit than the operands. At 64 bits that bit is outside the ring, so the signs
    /// sx, sy of x and y decide where they differ, and the sign sd of the wrapped
    /// difference elsewhere: [x < y] = sd + (sx ^ sy)(sx - sd), the three
    /// comparisons in one batch, then two products.
    fn less(
        &mut self,
        cx: &mut Cx,
        x: Value,
        y: Value,
        elem: Elem,
        bit_t: TensorType,
        span: Span,
    ) -> Value {
        let diff_t = TensorType {
            elem: widened(elem, 1),
            ..bit_t.clone()
        };
        let d = self.push(cx, Op::Sub, &[x, y], diff_t, span);
        if elem.bits() < 64 {
            return self.push(cx, Op::LtZ, &[d], bit_t, span);
        }
        let sign_t = |v: TensorType| TensorType::new(v.secret, Elem::Bit, v.shape);
        let (tx, ty) = (sign_t(self.ty(cx, x)), sign_t(self.ty(cx, y)));
        let sx = self.push(cx, Op::LtZ, &[x], tx, span);
        let sy = self.push(cx, Op::LtZ, &[y], ty, span);
        let sd = self.push(cx, Op::LtZ, &[d], bit_t.clone(), span);
        let differ = self.logic(cx, BinOp::Xor, sx, sy, bit_t.clone(), span);
        let step_t = TensorType {
            elem: Elem::Int { bits: 2 },
            ..bit_t.clone()
        };
        let step = self.push(cx, Op::Sub, &[sx, sd], step_t.clone(), span);
        let fix = self.push(cx, Op::Mul, &[differ, step], step_t, span);
        self.push(cx, Op::Add, &[sd, fix], bit_t, span)
    }

    /// `a & b`, `a | b` or `a ^ b` of bits, typed `t`: a product, and for `|` and
    /// `^` the sum less one or two products.
    fn logic(
        &mut self,
        cx: &mut Cx,
        op: BinOp,
        a: Value,
        b: Value,
        t: TensorType,
        span: Span,
    ) -> Value {
        let prod = self.push(cx, Op::Mul, &[a, b], t.clone(), span);
        match op {
            BinOp::And => prod,
            _ => {
                // a | b = a + b - ab ; a ^ b = a + b - 2ab, with sums of up to 2.
                let small = TensorType {
                    elem: Elem::Int { bits: 3 },
                    ..t.clone()
                };
                let sum = self.push(cx, Op::Add, &[a, b], small.clone(), span);
                let twice = if op == BinOp::Xor {
                    self.push(cx, Op::Shl(1), &[prod], small, span)
                } else {
                    prod
                };
                self.push(cx, Op::Sub, &[sum, twice], t, span)
            }
        }
    }

    /// `x / c` for fixed-point `x` and a constant `c` (a scalar or a tensor that
    /// broadcasts with `x`), typed with `quotient_bits`, within one unit in the last place of the true quotient
    /// (the bound is in LANGUAGE.md). A reciprocal in `f` bits would be off by up
    /// to |x| 2^-f relative; instead:
    /// 1. q = trunc_pr(x R, E) with R = round(2^E / c) as precise as the product's
    ///    63 bits allow, so |q - x/c| <= g = 1 + 2^(k-2-E) units;
    /// 2. with d = c 2^t an integer (|d| <= 2^40 and |d| g < 2^60; when no such t
    ///    exists, d approximates c 2^t in as many bits), the residual r = x 2^t - d q is exact in
    ///    the ring (its true value is small), and x/c = q + r / d;
    /// 3. q += trunc(r R', E') with R' = round(2^E' / d), E' as large as r R'
    ///    allows, which leaves |q - x/c| <= 1 + |d| g 2^-(E'+1); repeated (with
    ///    probabilistic truncation) while that bound is above 1 + 2^-10 and still
    ///    shrinks, so a wide type (large k, a coarse first step) takes one more step.
    pub(crate) fn divide(
        &mut self,
        cx: &mut Cx,
        x: Value,
        c: &ConstT,
        quotient_bits: u8,
        c_span: Span,
        span: Span,
    ) -> Result<Value> {
        let t = self.ty(cx, x);
        let Elem::Fix { frac, bits: k } = t.elem else {
            unreachable!("division of fixed point")
        };
        let kq = quotient_bits;
        let shape = shape::broadcast(&t.shape, &c.shape).map_err(|m| {
            Diagnostic::new(span, m).help("the divisor must broadcast with the dividend")
        })?;
        let divisors: Vec<f64> = c.data.iter().map(|n| n.as_f64()).collect();
        let smallest = divisors
            .iter()
            .map(|v| v.abs())
            .fold(f64::INFINITY, f64::min);
        let largest = divisors.iter().map(|v| v.abs()).fold(0.0, f64::max);
        if smallest.is_nan() || smallest <= 0.0 || !largest.is_finite() {
            return Err(
                Diagnostic::new(c_span, "division by zero or by a non-finite constant")
                    .help("divide by a nonzero constant"),
            );
        }
        // A power of two (the same for all elements) is one truncation: below a unit.
        if let Some(&d) = divisors
            .first()
            .filter(|&&d| divisors.iter().all(|&e| e == d))
        {
            let k = d.log2();
            if d > 1.0 && k.fract() == 0.0 && k < 63.0 {
                let exact = self.options.exact_fixed_point;
                let out = TensorType::new(t.secret, Elem::Fix { frac, bits: kq }, shape);
                return Ok(self.push(
                    cx,
                    Op::Trunc {
                        amount: k as u8,
                        exact,
                    },
                    &[x],
                    out,
                    span,
                ));
            }
        }
        let too_small = || {
            Diagnostic::new(c_span, format!("divisor {smallest} is too small for {}", t.elem))
                .help("every quotient would leave the type's range: multiply instead, or use a wider type")
        };
        // A quotient must fit the type, so a divisor below one bounds the dividend
        // by |c| 2^(k-1); above one, the dividend's own range bounds x R.
        let e1 = (62 - k as i32 + smallest.max(1.0).log2().floor() as i32).clamp(0, 62) as u32;
        let mut g = 1.0 + 2f64.powi(k as i32 - 2 - e1 as i32);
        // |d| g must stay below 2^61 for the residual to be exact.
        let t_max = ((60.0 - g.log2()).min(40.0) - largest.log2())
            .floor()
            .clamp(0.0, 62.0) as i32;
        let shift = (0..=t_max)
            .find(|&s| divisors.iter().all(|v| (v * 2f64.powi(s)).fract() == 0.0))
            .unwrap_or(t_max);
        let d: Vec<i64> = divisors
            .iter()
            .map(|v| (v * 2f64.powi(shift)).round() as i64)
            .collect();
        let d_max = d.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0) as f64;
        if d.contains(&0) {
            return Err(too_small());
        }
        let recip = |e: u32, v: f64| (2f64.powi(e as i32) / v).round() as i64 as u64;
        let constant = |el: &mut Self, cx: &mut Cx, data: Vec<u64>| {
            el.push(
                cx,
                Op::Const(data),
                &[],
                TensorType::new(false, Elem::Int { bits: 64 }, c.shape.clone()),
                c_span,
            )
        };
        let fix = |bits: u8| TensorType::new(t.secret, Elem::Fix { frac, bits }, shape.clone());
        let r = constant(self, cx, divisors.iter().map(|&v| recip(e1, v)).collect());
        let p = self.push(cx, Op::Mul, &[x, r], fix(63), span);
        let mut q = self.push(
            cx,
            Op::Trunc {
                amount: e1 as u8,
                exact: false,
            },
            &[p],
            fix(kq),
            span,
        );
        let dc = constant(self, cx, d.iter().map(|&v| v as u64).collect());
        let scaled = self.push(cx, Op::Shl(shift as u8), &[x], fix(64), span);
        loop {
            let e = ((61.0 - g.log2()).floor() as u32).min(62);
            let next_g = 1.0 + d_max * g / 2f64.powi(e as i32 + 1);
            let last = next_g <= 1.0 + 1.0 / 1024.0 || next_g >= g;
            let dq = self.push(cx, Op::Mul, &[dc, q], fix(64), span);
            let residual_bits = ((d_max * g).log2().ceil() as u8 + 2).clamp(frac + 1, 64);
            let residual = self.push(cx, Op::Sub, &[scaled, dq], fix(residual_bits), span);
            let r = constant(self, cx, d.iter().map(|&v| recip(e, v as f64)).collect());
            let p = self.push(cx, Op::Mul, &[residual, r], fix(63), span);
            let exact = last && self.options.exact_fixed_point;
            let step = self.push(
                cx,
                Op::Trunc {
                    amount: e as u8,
                    exact,
                },
                &[p],
                fix(kq),
                span,
            );
            q = self.push(cx, Op::Add, &[q, step], fix(kq), span);
            if last {
                return Ok(q);
            }
            g = next_g;
        }
    }

    /// Shifts a value left to align binary points (local).
    fn align(&mut self, cx: &mut Cx, v: Value, shift: u8, span: Span) -> Value {
        if shift == 0 {
            return v;
        }
        let t = self.ty(cx, v);
        let frac = shift;
        let elem = Elem::Fix {
            frac,
            bits: (t.elem.bits().max(frac + 1) + frac).min(64),
        };
        self.push(
            cx,
            Op::Shl(shift),
            &[v],
            TensorType::new(t.secret, elem, t.shape),
            span,
        )
    }

    /// A product of two fixed-point values has twice the fractional bits: truncate back.
    pub(crate) fn rescale_product(
        &mut self,
        cx: &mut Cx,
        op: BinOp,
        raw: Value,
        a: Elem,
        b: Elem,
        span: Span,
    ) -> Value {
        let (Elem::Fix { frac, .. }, Elem::Fix { .. }) = (a, b) else {
            return raw;
        };
        if !matches!(op, BinOp::Mul | BinOp::MatMul) {
            return raw;
        }
        // Before truncation the product has `frac` more bits than the result: say so
        // in its type, since a truncation protocol's correctness depends on it.
        let t = self.ty(cx, raw);
        let Elem::Fix { bits, .. } = t.elem else {
            unreachable!("a product of fixed-point values")
        };
        cx.func.values[raw].ty.elem = Elem::Fix {
            frac,
            bits: (bits + frac).min(64),
        };
        self.push(
            cx,
            Op::Trunc {
                amount: frac,
                exact: self.options.exact_fixed_point,
            },
            &[raw],
            t,
            span,
        )
    }

    fn cast(
        &mut self,
        cx: &mut Cx,
        v: Val,
        target: &TensorType,
        vspan: Span,
        tspan: Span,
    ) -> Result<Val> {
        let x = match v {
            Val::Const(c) => {
                return Ok(Val::T(self.coerce(
                    cx,
                    Val::Const(c),
                    target,
                    vspan,
                    "cast",
                )?))
            }
            Val::T(x) => x,
            Val::Tuple(vs) => return Err(not_one_value(vspan, &vs)),
        };
        let t = self.ty(cx, x);
        if !target.shape.is_empty() && target.shape != t.shape {
            return Err(Diagnostic::new(
                tspan,
                format!(
                    "cast changes the shape from {:?} to {:?}",
                    t.shape, target.shape
                ),
            )
            .help("casts change the element type only; use reshape(x, [...]) for shapes"));
        }
        if t.secret && !target.secret {
            return Err(
                Diagnostic::new(tspan, format!("cast of secret {t} to a public type"))
                    .help("reveal it to every party with open(x) instead"),
            );
        }
        let out = |elem| TensorType::new(t.secret, elem, t.shape.clone());
        let converted = match (t.elem, target.elem) {
            (a, b) if a == b => x,
            (Elem::Int { .. } | Elem::Bit, Elem::Int { .. }) => {
                self.push(cx, Op::Reshape, &[x], out(target.elem), vspan)
            }
            (Elem::Int { .. } | Elem::Bit, Elem::Fix { frac, .. }) => {
                self.push(cx, Op::Shl(frac), &[x], out(target.elem), vspan)
            }
            (Elem::Fix { frac: f1, .. }, Elem::Fix { frac: f2, .. }) if f2 >= f1 => {
                self.push(cx, Op::Shl(f2 - f1), &[x], out(target.elem), vspan)
            }
            (Elem::Fix { frac: f1, .. }, Elem::Fix { frac: f2, .. }) => {
                let exact = self.options.exact_fixed_point;
                self.push(
                    cx,
                    Op::Trunc {
                        amount: f1 - f2,
                        exact,
                    },
                    &[x],
                    out(target.elem),
                    vspan,
                )
            }
            (Elem::Fix { frac, .. }, Elem::Int { .. }) => self.push(
                cx,
                Op::Trunc {
                    amount: frac,
                    exact: true,
                },
                &[x],
                out(target.elem),
                vspan,
            ),
            (_, Elem::Bit) => {
                return Err(Diagnostic::new(tspan, format!("cast of {t} to bits"))
                    .help("compare instead, e.g. `x != 0` or `x > 0`"))
            }
        };
        let now = self.ty(cx, converted);
        Ok(Val::T(if target.secret && !now.secret {
            self.push(
                cx,
                Op::Classify,
                &[converted],
                TensorType::new(true, now.elem, now.shape),
                vspan,
            )
        } else {
            converted
        }))
    }

    fn index(
        &mut self,
        cx: &mut Cx,
        v: Val,
        items: &[IndexItem],
        xspan: Span,
        span: Span,
    ) -> Result<Val> {
        let x = match v {
            Val::T(x) => x,
            _ => {
                return Err(Diagnostic::new(xspan, "only tensors can be indexed")
                    .help("index a tensor value"))
            }
        };
        let t = self.ty(cx, x);
        if items.len() > t.shape.len() {
            return Err(Diagnostic::new(
                span,
                format!(
                    "{} indices for a tensor of rank {}",
                    items.len(),
                    t.shape.len()
                ),
            )
            .help("give at most one index per axis"));
        }
        let mut starts = vec![0u32; t.shape.len()];
        let mut sizes = t.shape.clone();
        let mut dropped = Vec::new();
        let mut dynamic: Option<(u32, Value)> = None;
        let konst =
            |this: &mut Self, cx: &mut Cx, e: &Expr| -> Result<Val> { this.expr(cx, e, None) };
        for (axis, item) in items.iter().enumerate() {
            let size = t.shape[axis];
            let in_range = |v: i128, limit: usize, s: Span| -> Result<usize> {
                if v < 0 || v as usize > limit {
                    Err(Diagnostic::new(
                        s,
                        format!("index {v} is out of bounds for axis {axis} of size {size}"),
                    )
                    .help("indices start at 0"))
                } else {
                    Ok(v as usize)
                }
            };
            let (start, len, s) = match item {
                IndexItem::Single(e) => {
                    dropped.push(axis);
                    (konst(self, cx, e)?, Val::Const(ConstT::int(1)), e.span)
                }
                IndexItem::Range(a, b, s) => {
                    let a = match a {
                        Some(a) => konst(self, cx, a)?,
                        None => Val::Const(ConstT::int(0)),
                    };
                    let b = match b {
                        Some(b) => konst(self, cx, b)?,
                        None => Val::Const(ConstT::int(size as i128)),
                    };
                    let (Val::Const(ca), Val::Const(cb)) = (&a, &b) else {
                        return Err(Diagnostic::new(*s, "range bounds must be constants")
                            .help("for a range that starts at a run-time position use `x[start; length]` with a constant length"));
                    };
                    let len =
                        fold_binary(BinOp::Sub, cb, ca).map_err(|m| Diagnostic::new(*s, m))?;
                    (a, Val::Const(len), *s)
                }
                IndexItem::Window(a, n, s) => (konst(self, cx, a)?, konst(self, cx, n)?, *s),
            };
            let Val::Const(len) = len else {
                return Err(Diagnostic::new(s, "slice length must be a constant")
                    .help("shapes are static: use a constant length"));
            };
            let len = len.as_int().ok_or_else(|| {
                Diagnostic::new(s, "slice length must be an integer").help("use an integer")
            })?;
            match start {
                Val::Const(c) => {
                    let st = c.as_int().ok_or_else(|| {
                        Diagnostic::new(s, "index must be an integer").help("use an integer")
                    })?;
                    let st = in_range(st, size, s)?;
                    if len < 0 || len > (size - st) as i128 {
                        return Err(Diagnostic::new(
                            s,
                            format!(
                                "range {st}..{} is out of bounds for axis {axis} of size {size}",
                                st as i128 + len
                            ),
                        )
                        .help("stay within the axis"));
                    }
                    starts[axis] = st as u32;
                }
                Val::T(offset) => {
                    let ot = self.ty(cx, offset);
                    if ot.secret {
                        return Err(Diagnostic::new(s, "index is secret").help("secret indices are not supported: select with a one-hot vector and a dot product instead"));
                    }
                    if !ot.shape.is_empty() || !matches!(ot.elem, Elem::Int { .. }) {
                        return Err(Diagnostic::new(
                            s,
                            format!("index must be an integer scalar, not {ot}"),
                        )
                        .help("use an integer"));
                    }
                    if dynamic.is_some() {
                        return Err(Diagnostic::new(s, "more than one run-time index")
                            .help("only one axis may have a run-time start; slice in two steps"));
                    }
                    if len < 0 || len > size as i128 {
                        return Err(Diagnostic::new(
                            s,
                            format!("length {len} exceeds axis {axis} of size {size}"),
                        )
                        .help("stay within the axis"));
                    }
                    dynamic = Some((axis as u32, offset));
                }
                Val::Tuple(vs) => return Err(not_one_value(s, &vs)),
            }
            sizes[axis] = len as usize;
        }
        let sliced_t = TensorType::new(t.secret, t.elem, sizes.clone());
        let mut args = vec![x];
        args.extend(dynamic.map(|d| d.1));
        let sliced = if dynamic.is_none() && sizes == t.shape {
            x
        } else {
            self.push(
                cx,
                Op::Slice {
                    starts,
                    dynamic_axis: dynamic.map(|d| d.0),
                },
                &args,
                sliced_t,
                span,
            )
        };
        if dropped.is_empty() {
            return Ok(Val::T(sliced));
        }
        let kept: Vec<usize> = sizes
            .iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i))
            .map(|(_, d)| *d)
            .collect();
        Ok(Val::T(self.push(
            cx,
            Op::Reshape,
            &[sliced],
            TensorType::new(t.secret, t.elem, kept),
            span,
        )))
    }
}

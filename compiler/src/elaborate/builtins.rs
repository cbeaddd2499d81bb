//! Calls: the built-in operations, and dispatch to user functions.

use super::consts::{ConstT, Num};
use super::*;
use mpcvm::shape::{self, Padding, PoolGeometry};

/// The arguments of a builtin call, checked against what it accepts.
struct Args<'e> {
    positional: Vec<&'e Expr>,
    named: Vec<(&'e Ident, &'e Expr)>,
}

impl<'e> Args<'e> {
    fn new(
        name: &str,
        args: &'e [Arg],
        min: usize,
        max: usize,
        named: &[&str],
        span: Span,
    ) -> Result<Self> {
        let positional: Vec<&Expr> = args
            .iter()
            .filter(|a| a.name.is_none())
            .map(|a| &a.value)
            .collect();
        let named_args: Vec<(&Ident, &Expr)> = args
            .iter()
            .filter_map(|a| a.name.as_ref().map(|n| (n, &a.value)))
            .collect();
        if positional.len() < min || positional.len() > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(Diagnostic::new(
                span,
                format!(
                    "`{name}` takes {want} positional arguments, {} given",
                    positional.len()
                ),
            )
            .help(format!("see `{name}` in docs/LANGUAGE.md")));
        }
        for (n, _) in &named_args {
            if !named.contains(&n.name.as_str()) {
                let allowed = if named.is_empty() {
                    "none".to_string()
                } else {
                    named.join(", ")
                };
                return Err(Diagnostic::new(
                    n.span,
                    format!("`{name}` has no argument `{}`", n.name),
                )
                .help(format!(
                    "its named arguments are: {allowed}.{}",
                    crate::suggest::did_you_mean(&n.name, named.iter().copied())
                )));
            }
        }
        Ok(Args {
            positional,
            named: named_args,
        })
    }
    fn get(&self, name: &str) -> Option<&'e Expr> {
        self.named
            .iter()
            .find(|(n, _)| n.name == name)
            .map(|(_, e)| *e)
    }
}

impl Elaborator<'_> {
    pub(crate) fn call(
        &mut self,
        cx: &mut Cx,
        callee: &[Ident],
        args: &[Arg],
        span: Span,
        expected: Option<&TensorType>,
    ) -> Result<Val> {
        if let [name] = callee {
            if BUILTINS.contains(&name.name.as_str()) {
                return self.builtin(cx, name, args, span, expected);
            }
        }
        let (module, fname) = match callee {
            [f] => (cx.module.clone(), f),
            [m, f] => (self.module_name(cx, m)?, f),
            _ => {
                return Err(
                    Diagnostic::new(span, "function paths have at most one module")
                        .help("call `module::function(...)`"),
                )
            }
        };
        let Some(decl) = self.modules[&module].fns.get(&fname.name) else {
            let hint = if callee.len() == 1 {
                "define it with `fn`, or call it through its module: `nn::dense(...)`"
            } else {
                "check the module's functions"
            };
            let mut known: Vec<&str> = self.modules[&module]
                .fns
                .keys()
                .map(String::as_str)
                .collect();
            if callee.len() == 1 {
                known.extend(BUILTINS);
            }
            return Err(
                Diagnostic::new(fname.span, format!("unknown function `{}`", fname.name))
                    .help(crate::suggest::or_hint(&fname.name, known, hint)),
            );
        };
        if fname.name == "main" {
            return Err(Diagnostic::new(fname.span, "`main` cannot be called")
                .help("move the shared code into its own function"));
        }
        let mut values = Vec::new();
        for a in args {
            if let Some(n) = &a.name {
                return Err(
                    Diagnostic::new(n.span, "named arguments are for builtins only")
                        .help("pass arguments by position"),
                );
            }
            values.push((self.expr(cx, &a.value, None)?, a.value.span));
        }
        let decl = decl.clone();
        self.call_user(cx, &module, &decl, values, span)
    }

    fn tensor(&mut self, cx: &mut Cx, e: &Expr) -> Result<Value> {
        match self.expr(cx, e, None)? {
            Val::T(v) => Ok(v),
            Val::Const(_) => Err(Diagnostic::new(e.span, "a tensor is needed here, not a constant").help("constants get a type when combined with a tensor; declare one with `let c: int<32>[3] = [1, 2, 3];`")),
            Val::Tuple(vs) => Err(not_one_value(e.span, &vs)),
        }
    }

    fn const_ints(&mut self, cx: &mut Cx, e: &Expr, what: &str) -> Result<Vec<usize>> {
        match self.expr(cx, e, None)? {
            Val::Const(c) => c
                .as_ints()
                .filter(|v| v.iter().all(|x| *x >= 0))
                .map(|v| v.into_iter().map(|x| x as usize).collect())
                .ok_or_else(|| {
                    Diagnostic::new(
                        e.span,
                        format!("{what} must be non-negative integer constants"),
                    )
                    .help("e.g. [2, 2]")
                }),
            _ => Err(
                Diagnostic::new(e.span, format!("{what} must be compile-time constants"))
                    .help("use literals, consts or generic dimensions"),
            ),
        }
    }

    fn axis(&mut self, cx: &mut Cx, e: Option<&Expr>, rank: usize) -> Result<Option<u32>> {
        let Some(e) = e else { return Ok(None) };
        let v = self.const_ints(cx, e, "the axis")?;
        match v.as_slice() {
            [a] if *a < rank => Ok(Some(*a as u32)),
            _ => Err(Diagnostic::new(
                e.span,
                format!("axis out of range for a tensor of rank {rank}"),
            )
            .help(format!("axes are 0 to {}", rank.saturating_sub(1)))),
        }
    }

    /// A pair like a window or stride: `2` or `[2, 3]`.
    fn pair(
        &mut self,
        cx: &mut Cx,
        e: Option<&Expr>,
        default: [usize; 2],
        what: &str,
    ) -> Result<[u32; 2]> {
        let Some(e) = e else {
            return Ok([default[0] as u32, default[1] as u32]);
        };
        match self.const_ints(cx, e, what)?.as_slice() {
            [a] => Ok([*a as u32, *a as u32]),
            [a, b] => Ok([*a as u32, *b as u32]),
            _ => Err(
                Diagnostic::new(e.span, format!("{what} is one number or two"))
                    .help("e.g. 2 or [2, 2]"),
            ),
        }
    }

    fn padding(&mut self, e: Option<&Expr>) -> Result<Padding> {
        match e.map(|e| &e.kind) {
            None => Ok(Padding::Valid),
            Some(ExprKind::Path(p)) if p.len() == 1 && p[0].name == "same" => Ok(Padding::Same),
            Some(ExprKind::Path(p)) if p.len() == 1 && p[0].name == "valid" => Ok(Padding::Valid),
            Some(_) => Err(
                Diagnostic::new(e.expect("some").span, "padding is `same` or `valid`")
                    .help("write padding = same"),
            ),
        }
    }

    fn builtin(
        &mut self,
        cx: &mut Cx,
        name: &Ident,
        args: &[Arg],
        span: Span,
        expected: Option<&TensorType>,
    ) -> Result<Val> {
        let n = name.name.as_str();
        let shape_err = |m: String| {
            Diagnostic::new(span, format!("`{n}`: {m}"))
                .help(format!("see `{n}` in docs/LANGUAGE.md"))
        };
        match n {
            "input" => {
                let a = Args::new(n, args, 1, 1, &[], span)?;
                let ExprKind::Path(p) = &a.positional[0].kind else {
                    return Err(
                        Diagnostic::new(a.positional[0].span, "input needs a party name")
                            .help("e.g. input(alice)"),
                    );
                };
                let party = self.party(&p[0])?;
                let Some(t) = expected else {
                    return Err(Diagnostic::new(span, "input needs a declared type")
                        .help("declare it: `let x: sfix<16>[10] = input(alice);`"));
                };
                let rows = self.io_rows(cx, span, "input", t)?;
                let Some(var) = cx.binding.clone() else {
                    return Err(
                        Diagnostic::new(span, "input must be bound directly with `let`")
                            .help("write `let x: T = input(party);`"),
                    );
                };
                if !self.input_names.insert((party, var.clone())) {
                    return Err(Diagnostic::new(span, format!("party `{}` already has an input named `{var}`", p[0].name)).help("inputs are read from files named after their variables: use distinct names"));
                }
                Ok(Val::T(self.push(
                    cx,
                    Op::Input {
                        party,
                        name: var,
                        rows,
                    },
                    &[],
                    t.clone(),
                    span,
                )))
            }
            "open" => {
                let a = Args::new(n, args, 1, 1, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                if !t.secret {
                    return Err(Diagnostic::new(
                        a.positional[0].span,
                        "this value is already public",
                    )
                    .help("open(x) reveals a secret to every party; drop it"));
                }
                Ok(Val::T(self.push(
                    cx,
                    Op::Open,
                    &[x],
                    TensorType::new(false, t.elem, t.shape),
                    span,
                )))
            }
            "select" => {
                let a = Args::new(n, args, 3, 3, &[], span)?;
                let c = self.tensor(cx, a.positional[0])?;
                if self.ty(cx, c).elem != Elem::Bit {
                    return Err(Diagnostic::new(
                        a.positional[0].span,
                        "the condition of select must be bits",
                    )
                    .help("compare values to get bits, e.g. select(x > 0, x, 0)"));
                }
                let va = self.expr(cx, a.positional[1], None)?;
                let vb = self.expr(cx, a.positional[2], None)?;
                self.select(
                    cx,
                    c,
                    (va, a.positional[1].span),
                    (vb, a.positional[2].span),
                    span,
                )
            }
            "relu" => {
                let a = Args::new(n, args, 1, 1, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                if t.elem == Elem::Bit {
                    return Err(Diagnostic::new(a.positional[0].span, "relu of bits")
                        .help("relu needs numbers"));
                }
                Ok(Val::T(self.push(cx, Op::Relu, &[x], t, span)))
            }
            "max" | "min" if args.iter().filter(|a| a.name.is_none()).count() == 2 => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let va = self.expr(cx, a.positional[0], None)?;
                let vb = self.expr(cx, a.positional[1], None)?;
                self.elementwise_max(
                    cx,
                    n == "max",
                    (va, a.positional[0].span),
                    (vb, a.positional[1].span),
                    span,
                )
            }
            "clamp" => {
                let a = Args::new(n, args, 3, 3, &[], span)?;
                let x = self.expr(cx, a.positional[0], None)?;
                let lo = self.expr(cx, a.positional[1], None)?;
                let hi = self.expr(cx, a.positional[2], None)?;
                let ordered_bounds = matches!((&lo, &hi), (Val::Const(l), Val::Const(h))
                    if l.shape.is_empty() && h.shape.is_empty() && l.data[0].as_f64() <= h.data[0].as_f64());
                if ordered_bounds && matches!(x, Val::T(_)) {
                    // Constant bounds lo <= hi: at most one of x < lo and x > hi holds, so
                    // x + (x < lo) (lo - x) + (x > hi) (hi - x) is the clamp, and its two
                    // comparisons (and then its two products) run side by side.
                    let (sx, sl, sh) = (
                        a.positional[0].span,
                        a.positional[1].span,
                        a.positional[2].span,
                    );
                    let mut result = x.clone();
                    let mut kind = None;
                    for (op, bound, sb) in [(BinOp::Lt, lo, sl), (BinOp::Gt, hi, sh)] {
                        let Val::T(c) =
                            self.binary(cx, op, (x.clone(), sx), (bound.clone(), sb), span)?
                        else {
                            unreachable!("a comparison with a tensor is a tensor")
                        };
                        let (gap, k) = self.difference(cx, (bound, sb), (x.clone(), sx), span)?;
                        kind = k;
                        let moved =
                            self.binary(cx, BinOp::Mul, (Val::T(c), span), (gap, span), span)?;
                        result =
                            self.binary(cx, BinOp::Add, (result, span), (moved, span), span)?;
                    }
                    return Ok(self.retyped(cx, result, kind));
                }
                let lower = self.elementwise_max(
                    cx,
                    true,
                    (x, a.positional[0].span),
                    (lo, a.positional[1].span),
                    span,
                )?;
                self.elementwise_max(cx, false, (lower, span), (hi, a.positional[2].span), span)
            }
            "max" | "sum" => {
                let a = Args::new(n, args, 1, 1, &["axis"], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                let axis = self.axis(cx, a.get("axis"), t.shape.len())?;
                let out = shape::reduce(&t.shape, axis.map(|a| a as usize)).map_err(shape_err)?;
                let (op, elem) = if n == "max" {
                    (Op::Max(axis), t.elem)
                } else {
                    // A sum of bits counts them.
                    let terms =
                        t.shape.iter().product::<usize>() / out.iter().product::<usize>().max(1);
                    (Op::Sum(axis), counted(t.elem, terms))
                };
                Ok(Val::T(self.push(
                    cx,
                    op,
                    &[x],
                    TensorType::new(t.secret, elem, out),
                    span,
                )))
            }
            "min" => Err(Diagnostic::new(span, "`min` takes two values")
                .help("min(a, b) is elementwise; for a reduction use -max(-x)")),
            "argmax" => {
                let a = Args::new(n, args, 1, 1, &["axis"], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                if t.shape.is_empty() {
                    return Err(Diagnostic::new(a.positional[0].span, "argmax of a scalar")
                        .help("argmax needs a tensor of rank 1 or more"));
                }
                let axis = self
                    .axis(cx, a.get("axis"), t.shape.len())?
                    .unwrap_or(t.shape.len() as u32 - 1);
                let out = shape::reduce(&t.shape, Some(axis as usize)).map_err(shape_err)?;
                Ok(Val::T(self.push(
                    cx,
                    Op::Argmax(axis),
                    &[x],
                    TensorType::new(t.secret, Elem::Int { bits: 32 }, out),
                    span,
                )))
            }
            "reshape" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                let to = self.const_ints(cx, a.positional[1], "the new shape")?;
                let out = shape::reshape(&t.shape, &to).map_err(shape_err)?;
                Ok(Val::T(self.push(
                    cx,
                    Op::Reshape,
                    &[x],
                    TensorType::new(t.secret, t.elem, out),
                    span,
                )))
            }
            "transpose" => {
                let a = Args::new(n, args, 1, 2, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                let perm = match a.positional.get(1) {
                    Some(p) => self.const_ints(cx, p, "the permutation")?,
                    None => (0..t.shape.len()).rev().collect(),
                };
                let out = shape::transpose(&t.shape, &perm).map_err(shape_err)?;
                let perm = perm.iter().map(|&p| p as u32).collect();
                Ok(Val::T(self.push(
                    cx,
                    Op::Transpose(perm),
                    &[x],
                    TensorType::new(t.secret, t.elem, out),
                    span,
                )))
            }
            "concat" => {
                let a = Args::new(n, args, 1, 1, &["axis"], span)?;
                let ExprKind::Array(items) = &a.positional[0].kind else {
                    return Err(Diagnostic::new(
                        a.positional[0].span,
                        "concat takes a list of tensors",
                    )
                    .help("write concat([a, b], axis = 0)"));
                };
                let mut parts = Vec::new();
                for it in items {
                    parts.push(self.tensor(cx, it)?);
                }
                let Some(&first) = parts.first() else {
                    return Err(Diagnostic::new(a.positional[0].span, "concat of nothing")
                        .help("give at least one tensor"));
                };
                let t0 = self.ty(cx, first);
                let axis = self.axis(cx, a.get("axis"), t0.shape.len())?.unwrap_or(0);
                let secret = parts.iter().any(|p| self.ty(cx, *p).secret);
                let mut shapes = Vec::new();
                for p in parts.iter_mut() {
                    let t = self.ty(cx, *p);
                    if t.elem != t0.elem {
                        return Err(Diagnostic::new(span, format!("concat of {t0} and {t}"))
                            .help("convert the parts to one element type with `as`"));
                    }
                    if secret && !t.secret {
                        *p = self.push(
                            cx,
                            Op::Classify,
                            &[*p],
                            TensorType::new(true, t.elem, t.shape.clone()),
                            span,
                        );
                    }
                    shapes.push(t.shape);
                }
                let refs: Vec<&[usize]> = shapes.iter().map(|s| s.as_slice()).collect();
                let out = shape::concat(&refs, axis as usize).map_err(shape_err)?;
                Ok(Val::T(self.push(
                    cx,
                    Op::Concat(axis),
                    &parts,
                    TensorType::new(secret, t0.elem, out),
                    span,
                )))
            }
            "conv2d" | "depthwise_conv2d" => {
                let a = Args::new(n, args, 2, 2, &["stride", "padding"], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let w = self.tensor(cx, a.positional[1])?;
                let (tx, tw) = (self.ty(cx, x), self.ty(cx, w));
                let stride = self.pair(cx, a.get("stride"), [1, 1], "the stride")?;
                let padding = self.padding(a.get("padding"))?;
                let depthwise = n == "depthwise_conv2d";
                let s = [stride[0] as usize, stride[1] as usize];
                let out = shape::conv2d(&tx.shape, &tw.shape, s, padding, depthwise)
                    .map_err(shape_err)?;
                let elem = match (tx.elem, tw.elem) {
                    (Elem::Fix { frac: f1, bits: b1 }, Elem::Fix { frac: f2, bits: b2 }) if f1 == f2 => Elem::Fix { frac: f1, bits: b1.max(b2) },
                    (Elem::Int { bits: b1 }, Elem::Int { bits: b2 }) => Elem::Int { bits: b1.max(b2) },
                    _ => {
                        return Err(Diagnostic::new(span, format!("`{n}` of {tx} and {tw}")).help("input and filter must both be integers or both fixed point with equal fractional bits"))
                    }
                };
                let raw = self.push(
                    cx,
                    Op::Conv2d {
                        stride,
                        padding,
                        depthwise,
                    },
                    &[x, w],
                    TensorType::new(tx.secret || tw.secret, elem, out),
                    span,
                );
                Ok(Val::T(self.rescale_product(
                    cx,
                    BinOp::MatMul,
                    raw,
                    tx.elem,
                    tw.elem,
                    span,
                )))
            }
            "avg_pool" | "sum_pool" | "max_pool" => {
                let a = Args::new(n, args, 2, 2, &["stride", "padding"], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                let window = self.pair(cx, Some(a.positional[1]), [1, 1], "the window")?;
                let stride = self.pair(
                    cx,
                    a.get("stride"),
                    [window[0] as usize, window[1] as usize],
                    "the stride",
                )?;
                let padding = self.padding(a.get("padding"))?;
                let (w, s) = (
                    [window[0] as usize, window[1] as usize],
                    [stride[0] as usize, stride[1] as usize],
                );
                let out = shape::pool(&t.shape, w, s, padding).map_err(shape_err)?;
                let out_t = TensorType::new(t.secret, t.elem, out);
                if n == "max_pool" {
                    return Ok(Val::T(self.push(
                        cx,
                        Op::MaxPool {
                            window,
                            stride,
                            padding,
                        },
                        &[x],
                        out_t,
                        span,
                    )));
                }
                // An average's window sum has more bits than its terms.
                let sum_elem = match counted(t.elem, w[0] * w[1]) {
                    Elem::Fix { frac, bits } if n == "avg_pool" => Elem::Fix {
                        frac,
                        bits: (bits + growth(w[0] * w[1])).min(62),
                    },
                    e => e,
                };
                let sum_t = TensorType::new(t.secret, sum_elem, out_t.shape.clone());
                let sums = self.push(
                    cx,
                    Op::SumPool {
                        window,
                        stride,
                        padding,
                    },
                    &[x],
                    sum_t,
                    span,
                );
                if n == "sum_pool" {
                    return Ok(Val::T(sums));
                }
                if !matches!(t.elem, Elem::Fix { .. }) {
                    return Err(
                        Diagnostic::new(a.positional[0].span, format!("avg_pool of {t}"))
                            .help("average fixed-point values, or use sum_pool for integers"),
                    );
                }
                // Divide each window sum by the number of real (non-padding) inputs it
                // covers, as precisely as `x / c`.
                let geo = PoolGeometry::new([t.shape[1], t.shape[2]], w, s, padding);
                let mut counts = Vec::new();
                for oy in 0..geo.out[0] {
                    for ox in 0..geo.out[1] {
                        counts.push(Num::Int(geo.window_count(oy, ox) as i128));
                    }
                }
                let c = ConstT {
                    shape: vec![1, geo.out[0], geo.out[1], 1],
                    data: counts,
                    boolean: false,
                };
                Ok(Val::T(self.divide(
                    cx,
                    sums,
                    &c,
                    t.elem.bits(),
                    span,
                    span,
                )?))
            }
            "trunc" | "trunc_pr" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let amount = self.const_ints(cx, a.positional[1], "the truncation amount")?;
                let [m] = amount.as_slice() else {
                    return Err(
                        Diagnostic::new(a.positional[1].span, "truncate by one amount")
                            .help("e.g. trunc(x, 16)"),
                    );
                };
                if *m >= 64 {
                    return Err(Diagnostic::new(
                        a.positional[1].span,
                        "truncation by 64 bits or more",
                    )
                    .help("use 0 to 63"));
                }
                let t = self.ty(cx, x);
                Ok(Val::T(self.push(
                    cx,
                    Op::Trunc {
                        amount: *m as u8,
                        exact: n == "trunc",
                    },
                    &[x],
                    t,
                    span,
                )))
            }
            "fill" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let v = match self.expr(cx, a.positional[0], None)? {
                    Val::Const(c) if c.shape.is_empty() => c,
                    _ => {
                        return Err(Diagnostic::new(
                            a.positional[0].span,
                            "fill takes a constant scalar",
                        )
                        .help("e.g. fill(0, [3, 4])"))
                    }
                };
                let shape = self.const_ints(cx, a.positional[1], "the shape")?;
                let Some(len) = shape::elements(&shape).filter(|&n| n <= MAX_CONST_ELEMENTS) else {
                    return Err(Diagnostic::new(a.positional[1].span, "constant too large")
                        .help(format!("constants hold at most {MAX_CONST_ELEMENTS} elements; give the variable a type and initialize it from a smaller constant")));
                };
                Ok(Val::Const(ConstT {
                    shape,
                    data: vec![v.data[0]; len],
                    boolean: v.boolean,
                }))
            }
            "dim" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                let axis = self
                    .axis(cx, Some(a.positional[1]), t.shape.len())?
                    .expect("given");
                Ok(Val::Const(ConstT::int(t.shape[axis as usize] as i128)))
            }
            "size" => {
                let a = Args::new(n, args, 1, 1, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                Ok(Val::Const(ConstT::int(self.ty(cx, x).len() as i128)))
            }
            "reverse" => {
                let a = Args::new(n, args, 1, 1, &["axis"], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let t = self.ty(cx, x);
                let axis = self.axis(cx, a.get("axis"), t.shape.len())?.unwrap_or(0) as usize;
                Ok(Val::T(self.reverse(cx, x, axis, span)))
            }
            "poly" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let x = self.tensor(cx, a.positional[0])?;
                let Val::Const(c) = self.expr(cx, a.positional[1], None)? else {
                    return Err(Diagnostic::new(
                        a.positional[1].span,
                        "poly takes constant coefficients",
                    )
                    .help("e.g. poly(x, [1.0, 0.5, 0.25]) for 1 + x/2 + x^2/4"));
                };
                Ok(Val::T(self.poly(cx, x, &c, span)?))
            }
            "range" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let mut ends = [0i128; 2];
                for (end, e) in ends.iter_mut().zip(&a.positional) {
                    *end = match self.expr(cx, e, None)? {
                        Val::Const(c) => c.as_int(),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        Diagnostic::new(e.span, "range takes two integer constants")
                            .help("e.g. range(0, 8)")
                    })?;
                }
                self.range(ends[0], ends[1], span)
            }
            "pow" => {
                let a = Args::new(n, args, 2, 2, &[], span)?;
                let (Val::Const(x), Val::Const(e)) = (
                    self.expr(cx, a.positional[0], None)?,
                    self.expr(cx, a.positional[1], None)?,
                ) else {
                    return Err(Diagnostic::new(span, "pow takes constants")
                        .help("it computes tables at compile time, e.g. pow(2.0, range(-4, 4))"));
                };
                self.pow(&x, &e, span)
            }
            f if super::math::PRELUDE_FUNCTIONS.contains(&f) => {
                let named: &[&str] = if f == "softmax" { &["axis"] } else { &[] };
                let a = Args::new(n, args, 1, 1, named, span)?;
                let x = self.expr(cx, a.positional[0], None)?;
                let rank = match &x {
                    Val::T(v) => self.ty(cx, *v).shape.len(),
                    _ => 0,
                };
                let axis = self.axis(cx, a.get("axis"), rank)?;
                self.call_prelude(cx, name, x, a.positional[0].span, axis, span)
            }
            _ => unreachable!("every builtin is handled"),
        }
    }

    /// `select(c, a, b) = b + c * (a - b)`.
    fn select(
        &mut self,
        cx: &mut Cx,
        c: Value,
        a: (Val, Span),
        b: (Val, Span),
        span: Span,
    ) -> Result<Val> {
        let cspan = span;
        let (diff, kind) = self.difference(cx, a, b.clone(), span)?;
        let scaled = self.binary(cx, BinOp::Mul, (Val::T(c), cspan), (diff, span), span)?;
        let chosen = self.binary(cx, BinOp::Add, b, (scaled, span), span)?;
        Ok(self.retyped(cx, chosen, kind))
    }

    /// `a - b` typed with one more bit than its operands (the difference of two
    /// k-bit values needs k + 1), and the kind it would have had: a result that is
    /// one of `a` and `b` again (a select, a clamp) gets that kind back.
    fn difference(
        &mut self,
        cx: &mut Cx,
        a: (Val, Span),
        b: (Val, Span),
        span: Span,
    ) -> Result<(Val, Option<Elem>)> {
        let diff = self.binary(cx, BinOp::Sub, a, b, span)?;
        let Val::T(d) = diff else {
            return Ok((diff, None));
        };
        let kind = self.ty(cx, d).elem;
        cx.func.values[d].ty.elem = super::expr::widened(kind, 1);
        Ok((diff, Some(kind)))
    }

    /// `v` with element kind `kind`, if one is given.
    fn retyped(&mut self, cx: &mut Cx, v: Val, kind: Option<Elem>) -> Val {
        if let (Val::T(t), Some(kind)) = (&v, kind) {
            cx.func.values[*t].ty.elem = kind;
        }
        v
    }

    /// Elementwise `max(a, b) = a + (a < b) * (b - a)`, or min.
    fn elementwise_max(
        &mut self,
        cx: &mut Cx,
        is_max: bool,
        a: (Val, Span),
        b: (Val, Span),
        span: Span,
    ) -> Result<Val> {
        let lt = self.binary(
            cx,
            if is_max { BinOp::Lt } else { BinOp::Gt },
            a.clone(),
            b.clone(),
            span,
        )?;
        let Val::T(c) = lt else {
            return extreme_const(a.0, b.0, is_max).ok_or_else(|| {
                Diagnostic::new(span, "max or min of two constant tensors")
                    .help("compare constant scalars, or give one side a tensor type")
            });
        };
        self.select(cx, c, b, a, span)
    }
}

/// `max` (or `min`) of two scalar constants, compared at compile time.
fn extreme_const(a: Val, b: Val, is_max: bool) -> Option<Val> {
    match (&a, &b) {
        (Val::Const(x), Val::Const(y)) if x.shape.is_empty() && y.shape.is_empty() => {
            let (x, y) = (x.data[0].as_f64(), y.data[0].as_f64());
            Some(if (is_max && y > x) || (!is_max && y < x) {
                b
            } else {
                a
            })
        }
        _ => None,
    }
}

/// The kind of a sum of `terms` values of kind `elem`: bits are counted, so their
/// sum is an integer wide enough for the count; integers grow by the bits the
/// count needs; fixed point keeps its declared bit length (its type is the
/// program's promise, which the clear backend checks).
pub(crate) fn counted(elem: Elem, terms: usize) -> Elem {
    let growth = growth(terms);
    match elem {
        Elem::Bit => Elem::Int {
            bits: (usize::BITS - terms.leading_zeros()) as u8 + 1,
        },
        Elem::Int { bits } => Elem::Int {
            bits: (bits + growth).min(64),
        },
        e => e,
    }
}

/// ceil(log2(terms)): the bits a sum of `terms` values needs beyond theirs.
fn growth(terms: usize) -> u8 {
    (usize::BITS - terms.saturating_sub(1).leading_zeros()) as u8
}

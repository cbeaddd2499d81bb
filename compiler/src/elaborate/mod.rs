//! Elaboration: type, shape and secrecy checking of the AST, and its lowering
//! to IR in the same walk. Generic functions are monomorphized here: each call
//! instantiates the callee for the argument types (and compile-time constant
//! arguments) it is given, once per distinct signature, as its own IR function
//! that the inlining pass later folds into its callers.

mod builtins;
mod consts;
mod expr;
pub mod math;

pub use consts::{ConstT, Num};

use crate::ast::*;
use crate::diag::{Diagnostic, Result};
use crate::ir::{self, Block, FuncRef, Function, Op, Value};
use crate::source::{FileId, Span};
use mpcvm::types::{Elem, PartySet, TensorType};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Names the language reserves for its built-in operations.
pub const BUILTINS: &[&str] = &[
    "input",
    "open",
    "select",
    "relu",
    "max",
    "min",
    "clamp",
    "sum",
    "argmax",
    "reshape",
    "transpose",
    "concat",
    "conv2d",
    "depthwise_conv2d",
    "avg_pool",
    "sum_pool",
    "max_pool",
    "trunc",
    "trunc_pr",
    "fill",
    "dim",
    "size",
    "poly",
    "reverse",
    "range",
    "pow",
    "exp",
    "log",
    "sigmoid",
    "tanh",
    "sqrt",
    "rsqrt",
    "softmax",
];

/// Largest bit length of a raw fixed-point product (`k + f`): truncation needs a
/// bit to spare in the 64-bit ring.
pub const MAX_PRODUCT_BITS: usize = 63;
/// Largest tensor a type may describe (the bytecode's limit).
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 32;
/// Largest compile-time constant tensor (constants are stored in the bytecode).
pub const MAX_CONST_ELEMENTS: usize = 1 << 24;

/// Compilation choices that change the program's semantics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Fixed-point products truncate exactly instead of probabilistically.
    pub exact_fixed_point: bool,
    /// Compile for a Beaver-style backend (semi2k) with mask reuse: every
    /// product operand's mask is opened once for all its products
    /// (`passes/masks.rs`). Such a program runs under semi2k and clear only.
    pub mask_reuse: bool,
}

/// One parsed source file with its declarations.
pub struct ModuleInfo {
    pub name: String,
    pub file: FileId,
    pub fns: HashMap<String, FnDecl>,
    pub consts: HashMap<String, (Option<TypeExpr>, Expr)>,
    pub imports: HashSet<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum Val {
    Const(ConstT),
    T(Value),
    /// The results of a call that returns none or several: usable only by a
    /// statement (`f(x);`) or a destructuring `let (a, b) = f(x);`.
    Tuple(Vec<Value>),
}

/// The diagnostic for a call's results used where one value is needed.
pub(crate) fn not_one_value(span: Span, results: &[Value]) -> Diagnostic {
    if results.is_empty() {
        Diagnostic::new(span, "this call returns nothing")
            .help("use a value, or a function that `return`s one")
    } else {
        Diagnostic::new(
            span,
            format!(
                "this call returns {} values where one is needed",
                results.len()
            ),
        )
        .help("bind them first, `let (a, b) = f(...);`, and use them one by one")
    }
}

#[derive(Clone)]
struct Var {
    val: Val,
    mutable: bool,
}

/// The function instantiation being built.
impl Cx {
    /// The variables and dimensions in scope, for suggestions.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.scopes
            .iter()
            .flat_map(|s| s.keys())
            .chain(self.dims.keys())
            .map(String::as_str)
    }
}

pub(crate) struct Cx {
    func: Function,
    block: Block,
    scopes: Vec<HashMap<String, Var>>,
    dims: HashMap<String, i128>,
    module: String,
    is_main: bool,
    /// The trip counts of the loops around the current statement, outermost first.
    loops: Vec<usize>,
    /// The run-time branches around the current statement.
    branches: usize,
    /// The variable a `let` is binding, for naming inputs.
    binding: Option<String>,
    /// An instance of a prelude function for public arguments: its secret
    /// types are public (it computes on public values locally).
    public_only: bool,
}

pub struct Elaborator<'m> {
    modules: &'m HashMap<String, ModuleInfo>,
    pub module: ir::Module,
    instances: HashMap<String, FuncRef>,
    in_progress: HashSet<String>,
    parties: BTreeMap<String, u8>,
    input_names: HashSet<(u8, String)>,
    /// Outputs so far, with their receivers.
    output_names: Vec<(String, PartySet)>,
    /// Share names kept (true) and loaded (false) so far.
    share_names: HashSet<(bool, String)>,
    options: Options,
}

fn type_error(span: Span, expected: &TensorType, found: &TensorType, what: &str) -> Diagnostic {
    let help = if expected.secret && !found.secret {
        "public values become secret on their own; check the element type and shape".to_string()
    } else if !expected.secret && found.secret {
        "a secret value cannot become public implicitly: use open(x) to reveal it to every party"
            .to_string()
    } else if expected.elem != found.elem {
        format!(
            "convert it explicitly, e.g. `(...) as {}`",
            TensorType::new(expected.secret, expected.elem, vec![])
        )
    } else {
        "reshape or slice it to the expected shape".to_string()
    };
    Diagnostic::new(span, format!("{what}: expected {expected}, found {found}"))
        .label(format!("this is {found}"))
        .help(help)
}

impl<'m> Elaborator<'m> {
    pub fn new(modules: &'m HashMap<String, ModuleInfo>, options: Options) -> Self {
        Elaborator {
            modules,
            module: ir::Module::default(),
            instances: HashMap::new(),
            in_progress: HashSet::new(),
            parties: BTreeMap::new(),
            input_names: HashSet::new(),
            output_names: Vec::new(),
            share_names: HashSet::new(),
            options,
        }
    }

    /// Elaborates `main` of module `main_module`, whose `party` items are `parties`.
    pub fn run(
        &mut self,
        main_module: &str,
        parties: Vec<(Ident, u64)>,
        file_span: Span,
    ) -> Result<()> {
        let mut ids = HashMap::new();
        for (name, id) in &parties {
            if *id >= 64 {
                return Err(
                    Diagnostic::new(name.span, format!("party id {id} is too large"))
                        .help("party ids are 0 to 63"),
                );
            }
            if self.parties.insert(name.name.clone(), *id as u8).is_some() {
                return Err(Diagnostic::new(
                    name.span,
                    format!("party `{}` is declared twice", name.name),
                )
                .help("give each party one declaration"));
            }
            if let Some(other) = ids.insert(*id, name.name.clone()) {
                return Err(Diagnostic::new(
                    name.span,
                    format!("party id {id} is already used by `{other}`"),
                )
                .help("give each party its own id"));
            }
        }
        if self.parties.is_empty() {
            return Err(
                Diagnostic::new(file_span, "the program declares no parties")
                    .help("declare them before main, e.g. `party alice = 0;`"),
            );
        }
        self.module.parties = self.parties.values().max().map_or(0, |m| m + 1);
        let info = &self.modules[main_module];
        let Some(main) = info.fns.get("main") else {
            return Err(
                Diagnostic::new(file_span, "the program has no `main` function")
                    .help("add `fn main() { ... }`"),
            );
        };
        if !main.params.is_empty() || !main.generics.is_empty() {
            return Err(
                Diagnostic::new(main.name.span, "`main` takes no parameters")
                    .help("read data with input(party) inside main"),
            );
        }
        let mut cx = Cx {
            func: Function::new("main", &[], Vec::new()),
            block: Block::from_u32(0),
            scopes: vec![HashMap::new()],
            dims: HashMap::new(),
            module: main_module.to_string(),
            is_main: true,
            loops: Vec::new(),
            branches: 0,
            binding: None,
            public_only: false,
        };
        cx.block = cx.func.entry;
        let ret = self.body(&mut cx, &main.body)?;
        if ret.is_some() {
            return Err(Diagnostic::new(main.name.span, "`main` returns a value")
                .help("reveal results with `reveal x to party;` instead"));
        }
        cx.func.push(cx.block, Op::Return, &[], &[], main.body.span);
        self.check_unused(main_module)?;
        let f = self.module.functions.push(cx.func);
        self.module.main = Some(f);
        Ok(())
    }

    /// Elaborates the program's functions whose parameter types are fully given
    /// (no generics), so their errors surface even when nothing calls them.
    fn check_unused(&mut self, main_module: &str) -> Result<()> {
        let info = &self.modules[main_module];
        let mut concrete: Vec<&FnDecl> = info
            .fns
            .values()
            .filter(|f| {
                f.name.name != "main"
                    && f.generics.is_empty()
                    && f.params.iter().all(|p| p.ty.is_some())
            })
            .collect();
        concrete.sort_by_key(|f| f.span.start);
        for decl in concrete {
            let mut caller = Cx {
                func: Function::new("check", &[], Vec::new()),
                block: Block::from_u32(0),
                scopes: vec![HashMap::new()],
                dims: HashMap::new(),
                module: main_module.to_string(),
                is_main: false,
                loops: Vec::new(),
                branches: 0,
                binding: None,
                public_only: false,
            };
            let mut tys = Vec::new();
            for p in &decl.params {
                tys.push(self.resolve_type(&mut caller, p.ty.as_ref().expect("typed"))?);
            }
            caller.func = Function::new("check", &tys, Vec::new());
            caller.block = caller.func.entry;
            let args = caller.func.blocks[caller.block]
                .params
                .iter()
                .map(|v| (Val::T(*v), decl.name.span))
                .collect();
            self.call_user(&mut caller, main_module, decl, args, decl.name.span)?;
        }
        Ok(())
    }

    fn lookup<'c>(&self, cx: &'c Cx, name: &str) -> Option<&'c Var> {
        cx.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind(&self, cx: &mut Cx, name: &str, val: Val, mutable: bool) {
        cx.scopes
            .last_mut()
            .expect("a scope is open")
            .insert(name.to_string(), Var { val, mutable });
    }

    /// Updates an existing variable where it was declared.
    fn assign(&self, cx: &mut Cx, name: &str, val: Val) {
        if let Some(v) = cx.scopes.iter_mut().rev().find_map(|s| s.get_mut(name)) {
            v.val = val;
        }
    }

    pub(crate) fn push(
        &self,
        cx: &mut Cx,
        op: Op,
        args: &[Value],
        ty: TensorType,
        span: Span,
    ) -> Value {
        cx.func.push(cx.block, op, args, &[ty], span)[0]
    }

    pub(crate) fn ty(&self, cx: &Cx, v: Value) -> TensorType {
        cx.func.ty(v).clone()
    }

    /// Resolves a dimension (a literal, a generic parameter, an integer
    /// constant, or a `let` bound to one, such as a function's constant argument).
    fn dim(&mut self, cx: &mut Cx, d: &Dim) -> Result<usize> {
        match d {
            Dim::Lit(v, _) => Ok(*v as usize),
            Dim::Name(id) => {
                if let Some(v) = cx.dims.get(&id.name) {
                    return Ok(*v as usize);
                }
                let local = match self.lookup(cx, &id.name) {
                    Some(Var {
                        val: Val::Const(c),
                        mutable: false,
                    }) => Some(c.clone()),
                    _ => None,
                };
                let constant = match local {
                    Some(c) => Some(c),
                    None => self.const_item(cx, std::slice::from_ref(id))?,
                };
                match constant {
                    Some(c) => c.as_int().filter(|v| *v >= 0).map(|v| v as usize).ok_or_else(|| {
                        Diagnostic::new(id.span, format!("`{}` is not a non-negative integer constant", id.name)).help("dimensions are integer constants")
                    }),
                    None => Err(Diagnostic::new(id.span, format!("unknown dimension `{}`", id.name))
                        .help("declare it as a generic parameter of the function (`fn f<N>(...)`) or as a `const`")),
                }
            }
        }
    }

    pub(crate) fn resolve_type(&mut self, cx: &mut Cx, t: &TypeExpr) -> Result<TensorType> {
        let small = |v: usize, span: Span| -> Result<u8> {
            if (1..=64).contains(&v) {
                Ok(v as u8)
            } else {
                Err(
                    Diagnostic::new(span, format!("bit length {v} is out of range"))
                        .help("bit lengths are 1 to 64"),
                )
            }
        };
        let elem = match &t.elem {
            ElemExpr::Bit => Elem::Bit,
            ElemExpr::Int(None) => Elem::Int { bits: 64 },
            ElemExpr::Int(Some(b)) => Elem::Int {
                bits: small(self.dim(cx, b)?, t.span)?,
            },
            ElemExpr::Fix(f, b) => {
                let frac = self.dim(cx, f)?;
                let bits = match b {
                    Some(b) => self.dim(cx, b)?,
                    None => frac + 16,
                };
                let bits = small(bits, t.span)?;
                if frac == 0 || frac as u8 >= bits || 2 * frac > 60 {
                    return Err(Diagnostic::new(
                        t.span,
                        format!("fixed point with {frac} fractional bits in {bits} bits"),
                    )
                    .help("use 1 to 30 fractional bits, fewer than the total bit length"));
                }
                if frac + bits as usize > MAX_PRODUCT_BITS {
                    let largest = MAX_PRODUCT_BITS - frac;
                    let default = if b.is_none() {
                        " (k defaults to f + 16)"
                    } else {
                        ""
                    };
                    return Err(Diagnostic::new(
                        t.span,
                        format!(
                            "{s}fix<{frac}, {bits}>{default} does not fit the ring: a product of two such values has k + f = {} bits before it is truncated back, and truncation works on at most {MAX_PRODUCT_BITS}",
                            frac + bits as usize,
                            s = if t.secret { "s" } else { "" },
                        ),
                    )
                    .help(format!(
                        "with {frac} fractional bits the largest k is {largest} (values within {}): declare {s}fix<{frac}, {largest}>, or use fewer fractional bits",
                        Elem::Fix { frac: frac as u8, bits: largest as u8 }.range_text(),
                        s = if t.secret { "s" } else { "" },
                    )));
                }
                Elem::Fix {
                    frac: frac as u8,
                    bits,
                }
            }
        };
        let shape = t
            .shape
            .iter()
            .map(|d| self.dim(cx, d))
            .collect::<Result<Vec<_>>>()?;
        if shape.len() > 8 || mpcvm::shape::elements(&shape).is_none_or(|n| n > MAX_TENSOR_ELEMENTS)
        {
            return Err(
                Diagnostic::new(t.span, "tensor type too large").help(format!(
                    "tensors have rank at most 8 and at most {MAX_TENSOR_ELEMENTS} elements"
                )),
            );
        }
        Ok(TensorType::new(t.secret && !cx.public_only, elem, shape))
    }

    /// The value of a `const` item, if `path` names one.
    fn const_item(&mut self, cx: &mut Cx, path: &[Ident]) -> Result<Option<ConstT>> {
        let (module, name) = match path {
            [n] => (cx.module.clone(), n),
            [m, n] => (self.module_name(cx, m)?, n),
            _ => return Ok(None),
        };
        let Some((ty, value)) = self.modules[&module].consts.get(&name.name) else {
            return Ok(None);
        };
        let mut ccx = Cx {
            func: Function::new("const", &[], Vec::new()),
            block: Block::from_u32(0),
            scopes: vec![HashMap::new()],
            dims: HashMap::new(),
            module: module.clone(),
            is_main: false,
            loops: Vec::new(),
            branches: 0,
            binding: None,
            public_only: false,
        };
        if self
            .in_progress
            .contains(&format!("const {module}::{}", name.name))
        {
            return Err(Diagnostic::new(
                name.span,
                format!("constant `{}` is defined in terms of itself", name.name),
            )
            .help("break the cycle"));
        }
        self.in_progress
            .insert(format!("const {module}::{}", name.name));
        let v = self.expr(&mut ccx, value, None);
        self.in_progress
            .remove(&format!("const {module}::{}", name.name));
        match v? {
            Val::Const(c) => {
                if let Some(t) = ty {
                    let t = self.resolve_type(&mut ccx, t)?;
                    c.encode(t.elem).map_err(|m| Diagnostic::new(value.span, format!("constant `{}`: {m}", name.name)))?;
                }
                Ok(Some(c))
            }
            _ => Err(Diagnostic::new(value.span, format!("`{}` is not a compile-time constant", name.name))
                .help("constants are numbers, booleans or arrays of them; compute tensors inside functions")),
        }
    }

    fn module_name(&self, cx: &Cx, m: &Ident) -> Result<String> {
        if self.modules[&cx.module].imports.contains(&m.name) {
            Ok(m.name.clone())
        } else {
            Err(
                Diagnostic::new(m.span, format!("module `{}` is not imported here", m.name))
                    .help(format!("add `import {};` at the top of the file", m.name)),
            )
        }
    }

    /// Elaborates a function body or a nested block's statements; returns the
    /// values of a final `return`, each with its span.
    fn body(&mut self, cx: &mut Cx, block: &crate::ast::Block) -> Result<Option<Vec<(Val, Span)>>> {
        let n = block.stmts.len();
        for (k, s) in block.stmts.iter().enumerate() {
            if let Stmt::Return { values, span } = s {
                if k + 1 != n || cx.is_main || cx.scopes.len() != 1 {
                    return Err(Diagnostic::new(*span, "`return` must be the last statement of a function body")
                        .help("compute the result in a variable and return it at the end; select between values with select(c, a, b)"));
                }
                let mut returned = Vec::with_capacity(values.len());
                for v in values {
                    returned.push((self.expr(cx, v, None)?, v.span));
                }
                return Ok(Some(returned));
            }
            self.stmt(cx, s)?;
        }
        Ok(None)
    }

    fn nested(&mut self, cx: &mut Cx, block: &crate::ast::Block) -> Result<()> {
        cx.scopes.push(HashMap::new());
        let r = self.body(cx, block);
        cx.scopes.pop();
        r.map(|_| ())
    }

    fn stmt(&mut self, cx: &mut Cx, s: &Stmt) -> Result<()> {
        match s {
            Stmt::Let {
                mutable,
                name,
                ty,
                value,
                ..
            } => {
                let expected = ty.as_ref().map(|t| self.resolve_type(cx, t)).transpose()?;
                cx.binding = Some(name.name.clone());
                let v = self.expr(cx, value, expected.as_ref());
                cx.binding = None;
                let v = v?;
                let v = match (&expected, v) {
                    (_, Val::Tuple(vs)) => return Err(not_one_value(value.span, &vs)),
                    (Some(t), v) => {
                        Val::T(self.coerce(cx, v, t, value.span, &format!("`{}`", name.name))?)
                    }
                    (None, v) => v,
                };
                self.bind(cx, &name.name, v, *mutable);
            }
            Stmt::LetTuple { names, value, .. } => {
                let values = self.tuple(cx, value, names.len())?;
                for ((mutable, name), v) in names.iter().zip(values) {
                    self.bind(cx, &name.name, Val::T(v), *mutable);
                }
            }
            Stmt::Assign { name, value, span } => {
                let var = self.assignable(cx, name)?;
                let v = self.expr(cx, value, None)?;
                self.assign_to(cx, name, var, v, *span)?;
            }
            Stmt::AssignTuple { names, value, span } => {
                let vars = names
                    .iter()
                    .map(|n| self.assignable(cx, n))
                    .collect::<Result<Vec<_>>>()?;
                let values = self.tuple(cx, value, names.len())?;
                for ((name, var), v) in names.iter().zip(vars).zip(values) {
                    self.assign_to(cx, name, var, Val::T(v), *span)?;
                }
            }
            Stmt::For {
                var,
                lo,
                hi,
                body,
                span,
            } => self.for_loop(cx, var, lo, hi, body, *span)?,
            Stmt::If {
                cond,
                then,
                otherwise,
                span,
            } => self.if_stmt(cx, cond, then, otherwise.as_ref(), *span)?,
            Stmt::Reveal { value, to, span } => self.reveal(cx, value, to, *span)?,
            Stmt::Print { text, args, span } => self.print(cx, text, args, *span)?,
            Stmt::Keep { var, name, span } => self.keep(cx, var, name, *span)?,
            Stmt::Return { span, .. } => {
                return Err(Diagnostic::new(
                    *span,
                    "`return` must be the last statement of a function body",
                )
                .help("move it to the end of the function"))
            }
            Stmt::Expr(e) => {
                self.expr(cx, e, None)?;
            }
        }
        Ok(())
    }

    /// The variable `name` if an assignment may change it.
    fn assignable(&self, cx: &Cx, name: &Ident) -> Result<Var> {
        let Some(var) = self.lookup(cx, &name.name).cloned() else {
            let hint = format!("declare it first: `let mut {} = ...;`", name.name);
            return Err(
                Diagnostic::new(name.span, format!("unknown variable `{}`", name.name))
                    .help(crate::suggest::or_hint(&name.name, cx.names(), &hint)),
            );
        };
        if !var.mutable {
            return Err(
                Diagnostic::new(name.span, format!("`{}` is not mutable", name.name))
                    .help(format!("declare it with `let mut {}`", name.name)),
            );
        }
        Ok(var)
    }

    /// Assigns `v` to the variable `var` named `name`; the value keeps the variable's type.
    fn assign_to(&mut self, cx: &mut Cx, name: &Ident, var: Var, v: Val, span: Span) -> Result<()> {
        let v = match var.val {
            Val::T(old) => {
                let t = self.ty(cx, old);
                Val::T(self.coerce(cx, v, &t, span, &format!("assignment to `{}`", name.name))?)
            }
            _ => v,
        };
        self.assign(cx, &name.name, v);
        Ok(())
    }

    /// The `n` values of the call `e`, for a destructuring `let` or assignment.
    fn tuple(&mut self, cx: &mut Cx, e: &Expr, n: usize) -> Result<Vec<Value>> {
        match self.expr(cx, e, None)? {
            Val::Tuple(vs) if vs.len() == n => Ok(vs),
            Val::Tuple(vs) if vs.is_empty() => Err(not_one_value(e.span, &vs)),
            Val::Tuple(vs) => Err(Diagnostic::new(
                e.span,
                format!("this call returns {} values, not {n}", vs.len()),
            )
            .help("name one variable per returned value")),
            _ => Err(Diagnostic::new(e.span, format!("{n} names, but this is one value"))
                .help("destructure only calls of functions that return several values, `return (a, b);`")),
        }
    }

    /// Names assigned (not declared) anywhere in `block`.
    fn assigned_names(block: &crate::ast::Block, out: &mut Vec<Ident>) {
        for s in &block.stmts {
            match s {
                Stmt::Assign { name, .. } if !out.iter().any(|n| n.name == name.name) => {
                    out.push(name.clone())
                }
                Stmt::AssignTuple { names, .. } => {
                    for name in names {
                        if !out.iter().any(|n| n.name == name.name) {
                            out.push(name.clone())
                        }
                    }
                }
                Stmt::For { body, .. } => Self::assigned_names(body, out),
                Stmt::If {
                    then, otherwise, ..
                } => {
                    Self::assigned_names(then, out);
                    if let Some(o) = otherwise {
                        Self::assigned_names(o, out);
                    }
                }
                _ => {}
            }
        }
    }

    /// The variables of the enclosing scopes that `blocks` assign: they are carried
    /// through a loop or out of a branch, so they must hold tensors.
    fn carried(&self, cx: &Cx, blocks: &[&crate::ast::Block]) -> Result<Vec<(String, Value)>> {
        let mut names = Vec::new();
        for b in blocks {
            Self::assigned_names(b, &mut names);
        }
        let mut out = Vec::new();
        for n in names {
            match self.lookup(cx, &n.name) {
                Some(Var { val: Val::T(v), mutable: true }) => out.push((n.name.clone(), *v)),
                Some(Var { val: Val::Const(_), mutable: true }) => {
                    return Err(Diagnostic::new(n.span, format!("`{}` is assigned in a loop or run-time branch but holds an untyped constant", n.name))
                        .help(format!("declare it with a type, e.g. `let mut {}: sfix<16> = 0;`", n.name)))
                }
                // Unknown or immutable names get their diagnostic at the assignment itself.
                _ => {}
            }
        }
        Ok(out)
    }

    fn for_loop(
        &mut self,
        cx: &mut Cx,
        var: &Ident,
        lo: &Expr,
        hi: &Expr,
        body: &crate::ast::Block,
        span: Span,
    ) -> Result<()> {
        let bound = |this: &mut Self, cx: &mut Cx, e: &Expr| -> Result<i64> {
            match this.expr(cx, e, None)? {
                Val::Const(c) => c.as_int().and_then(|v| i64::try_from(v).ok()).ok_or_else(|| {
                    Diagnostic::new(e.span, "loop bound is not an integer").help("loop bounds are integer constants")
                }),
                _ => Err(Diagnostic::new(e.span, "loop bound is not a compile-time constant")
                    .help("loops run over public ranges known at compile time; use a const or a generic dimension")),
            }
        };
        let (lo, hi) = (bound(self, cx, lo)?, bound(self, cx, hi)?);
        let carried = self.carried(cx, &[body])?;
        let mut param_tys = vec![TensorType::public_index()];
        param_tys.extend(carried.iter().map(|(_, v)| self.ty(cx, *v)));
        let body_block = cx.func.new_block(&param_tys);
        let params = cx.func.blocks[body_block].params.clone();
        let outer = cx.block;
        cx.block = body_block;
        cx.loops.push(hi.saturating_sub(lo).max(0) as usize);
        for ((name, _), p) in carried.iter().zip(&params[1..]) {
            self.assign(cx, name, Val::T(*p));
        }
        cx.scopes.push(HashMap::new());
        self.bind(cx, &var.name, Val::T(params[0]), false);
        let r = self.body(cx, body);
        cx.scopes.pop();
        r?;
        let yields: Vec<Value> = carried
            .iter()
            .map(|(name, _)| match self.lookup(cx, name) {
                Some(Var { val: Val::T(v), .. }) => *v,
                _ => unreachable!("carried variables hold tensors"),
            })
            .collect();
        cx.func.push(body_block, Op::Yield, &yields, &[], span);
        cx.loops.pop();
        cx.block = outer;
        let inits: Vec<Value> = carried.iter().map(|(_, v)| *v).collect();
        let tys: Vec<TensorType> = param_tys[1..].to_vec();
        let results = cx.func.push(
            outer,
            Op::For {
                lo,
                hi,
                body: body_block,
            },
            &inits,
            &tys,
            span,
        );
        for ((name, _), r) in carried.iter().zip(results) {
            self.assign(cx, name, Val::T(r));
        }
        Ok(())
    }

    fn if_stmt(
        &mut self,
        cx: &mut Cx,
        cond: &Expr,
        then: &crate::ast::Block,
        otherwise: Option<&crate::ast::Block>,
        span: Span,
    ) -> Result<()> {
        let c = self.expr(cx, cond, None)?;
        let c = match c {
            Val::Const(k) => {
                let taken = k.as_int().ok_or_else(|| {
                    Diagnostic::new(cond.span, "condition is not a boolean")
                        .help("compare values to get a condition")
                })?;
                if taken != 0 {
                    return self.nested(cx, then);
                }
                return otherwise.map_or(Ok(()), |o| self.nested(cx, o));
            }
            Val::T(v) => v,
            Val::Tuple(vs) => return Err(not_one_value(cond.span, &vs)),
        };
        let ct = self.ty(cx, c);
        if ct.secret {
            return Err(Diagnostic::new(cond.span, "branching on a secret condition")
                .label("this condition is secret")
                .help("both branches must run on secret data: compute both values and use select(c, a, b)"));
        }
        if !ct.shape.is_empty() || matches!(ct.elem, Elem::Fix { .. }) {
            return Err(Diagnostic::new(
                cond.span,
                format!("condition must be a public bit or integer scalar, not {ct}"),
            )
            .help("reduce it to one value first"));
        }
        let empty = crate::ast::Block {
            stmts: vec![],
            span,
        };
        let otherwise = otherwise.unwrap_or(&empty);
        let carried = self.carried(cx, &[then, otherwise])?;
        let tys: Vec<TensorType> = carried.iter().map(|(_, v)| self.ty(cx, *v)).collect();
        let outer = cx.block;
        let branch = |this: &mut Self, cx: &mut Cx, b: &crate::ast::Block| -> Result<Block> {
            let blk = cx.func.new_block(&[]);
            cx.block = blk;
            for (name, v) in &carried {
                this.assign(cx, name, Val::T(*v));
            }
            cx.branches += 1;
            let r = this.nested(cx, b);
            cx.branches -= 1;
            r?;
            let yields: Vec<Value> = carried
                .iter()
                .map(|(name, _)| match this.lookup(cx, name) {
                    Some(Var { val: Val::T(v), .. }) => *v,
                    _ => unreachable!("carried variables hold tensors"),
                })
                .collect();
            cx.func.push(blk, Op::Yield, &yields, &[], b.span);
            Ok(blk)
        };
        let then_block = branch(self, cx, then)?;
        let else_block = branch(self, cx, otherwise)?;
        cx.block = outer;
        let results = cx.func.push(
            outer,
            Op::If {
                then_block,
                else_block,
            },
            &[c],
            &tys,
            span,
        );
        for ((name, _), r) in carried.iter().zip(results) {
            self.assign(cx, name, Val::T(r));
        }
        Ok(())
    }

    /// Checks that an input or output statement is at the top level of main.
    /// Where `input` and `reveal` may appear: in `main`, outside run-time
    /// branches; inside loops they read or write one row per iteration.
    /// Returns the trip counts of the loops around (the file's leading axes).
    fn io_rows(&self, cx: &Cx, span: Span, what: &str, row: &TensorType) -> Result<Vec<usize>> {
        if !cx.is_main {
            return Err(Diagnostic::new(span, format!("{what} inside a function other than main"))
                .help("read inputs and reveal outputs in main, and pass values to functions as arguments"));
        }
        if cx.branches > 0 {
            return Err(Diagnostic::new(span, format!("{what} inside a run-time branch"))
                .help("a file is read or written the same way in every run: move it out of the `if`, and select values with select(c, a, b)"));
        }
        let rank = cx.loops.len() + row.shape.len();
        let elements = cx
            .loops
            .iter()
            .try_fold(row.len(), |n, &t| n.checked_mul(t));
        if rank > 8 || elements.is_none_or(|n| n > MAX_TENSOR_ELEMENTS) {
            let shape: Vec<usize> = cx.loops.iter().chain(&row.shape).copied().collect();
            return Err(Diagnostic::new(span, format!("{what} inside loops makes a file too large"))
                .help(format!("one row per iteration makes a file of shape {shape:?}; files have rank at most 8 and at most {MAX_TENSOR_ELEMENTS} elements")));
        }
        Ok(cx.loops.clone())
    }

    pub(crate) fn party(&self, id: &Ident) -> Result<u8> {
        self.parties.get(&id.name).copied().ok_or_else(|| {
            let mut known: Vec<&str> = self.parties.keys().map(|s| s.as_str()).collect();
            known.sort_unstable();
            Diagnostic::new(id.span, format!("unknown party `{}`", id.name)).help(format!(
                "the declared parties are: {}.{}",
                known.join(", "),
                crate::suggest::did_you_mean(&id.name, known.iter().copied())
            ))
        })
    }

    fn reveal(&mut self, cx: &mut Cx, value: &Expr, to: &Target, span: Span) -> Result<()> {
        let parties = match to {
            Target::All(_) => PartySet::all(self.module.parties as usize),
            Target::Party(p) => PartySet::single(self.party(p)? as usize),
        };
        let v = match self.expr(cx, value, None)? {
            Val::T(v) => v,
            _ => {
                return Err(Diagnostic::new(
                    value.span,
                    "nothing to reveal: this is a compile-time constant",
                )
                .help("reveal values computed from inputs"))
            }
        };
        let rows = self.io_rows(cx, span, "reveal", &self.ty(cx, v))?;
        // An output is named after its variable at every party that receives it;
        // only a party that would receive two of one name gets a suffix.
        let base = match &value.kind {
            ExprKind::Path(p) if p.len() == 1 => p[0].name.clone(),
            _ => "out".to_string(),
        };
        let taken = |names: &Vec<(String, PartySet)>, n: &str| {
            names.iter().any(|(m, to)| m == n && to.0 & parties.0 != 0)
        };
        let mut name = base.clone();
        let mut k = 2;
        while taken(&self.output_names, &name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.output_names.push((name.clone(), parties));
        cx.func.push(
            cx.block,
            Op::Output {
                name,
                to: parties,
                rows,
            },
            &[v],
            &[],
            span,
        );
        Ok(())
    }

    /// Where `keep` and `load` may appear: at the top level of `main` (each
    /// share file is written or read once), under an identifier not used
    /// before for the same direction.
    fn share_name(
        &mut self,
        cx: &Cx,
        what: &str,
        name: &str,
        kept: bool,
        span: Span,
    ) -> Result<()> {
        if !cx.is_main || !cx.loops.is_empty() || cx.branches > 0 {
            return Err(
                Diagnostic::new(span, format!("`{what}` outside the top level of main"))
                    .help("keep and load shares once, in main, outside loops and branches"),
            );
        }
        mpcvm::bytecode::check_name(name).map_err(|m| {
            Diagnostic::new(span, format!("share name \"{name}\": {m}"))
                .help("name shares like variables, e.g. \"model\"")
        })?;
        if !self.share_names.insert((kept, name.to_string())) {
            let twice = if kept { "kept" } else { "loaded" };
            return Err(Diagnostic::new(
                span,
                format!("a share named \"{name}\" is {twice} twice"),
            )
            .help("give each share its own name"));
        }
        Ok(())
    }

    /// `keep w as "name";`: every party writes its own share of the secret `w`.
    fn keep(&mut self, cx: &mut Cx, var: &Ident, name: &str, span: Span) -> Result<()> {
        self.share_name(cx, "keep", name, true, span)?;
        let v = match self.lookup(cx, &var.name).map(|v| v.val.clone()) {
            Some(Val::T(v)) if self.ty(cx, v).secret => v,
            Some(_) => {
                return Err(Diagnostic::new(
                    var.span,
                    format!("`{}` is not a secret tensor", var.name),
                )
                .help("keep secrets as shares; reveal public values instead"))
            }
            None => {
                return Err(
                    Diagnostic::new(var.span, format!("unknown variable `{}`", var.name)).help(
                        crate::suggest::or_hint(&var.name, cx.names(), "keep a variable of main"),
                    ),
                )
            }
        };
        cx.func.push(
            cx.block,
            Op::Keep {
                name: name.to_string(),
            },
            &[v],
            &[],
            span,
        );
        Ok(())
    }

    /// `load("name")` as the value of a `let` of a secret type: this party's share.
    pub(crate) fn load(
        &mut self,
        cx: &mut Cx,
        name: &str,
        expected: Option<&TensorType>,
        span: Span,
    ) -> Result<Val> {
        self.share_name(cx, "load", name, false, span)?;
        let Some(t) = expected.filter(|t| t.secret) else {
            return Err(Diagnostic::new(span, "load needs a declared secret type")
                .help("declare it: `let w: sfix<16>[784, 10] = load(\"model\");`"));
        };
        Ok(Val::T(self.push(
            cx,
            Op::Load {
                name: name.to_string(),
            },
            &[],
            t.clone(),
            span,
        )))
    }

    /// `print(text, args...)`: constants are written into the text now; run-time
    /// values must be public, and the VM shows them with their type's precision.
    fn print(&mut self, cx: &mut Cx, text: &str, args: &[Expr], span: Span) -> Result<()> {
        let places = text.matches("{}").count();
        if places != args.len() {
            return Err(Diagnostic::new(
                span,
                format!(
                    "the text has {places} places `{{}}` for {} values",
                    args.len()
                ),
            )
            .help("write one `{}` per value, e.g. `print(\"step {}: loss {}\", i, loss);`"));
        }
        mpcvm::bytecode::check_text(text)
            .map_err(|m| Diagnostic::new(span, m).help("print a shorter text"))?;
        let mut pieces = text.split("{}");
        let mut shown = pieces.next().unwrap_or_default().to_string();
        let mut values = Vec::new();
        for (arg, piece) in args.iter().zip(pieces) {
            match self.expr(cx, arg, None)? {
                Val::Const(c) => shown.push_str(&c.to_string()),
                Val::T(v) if cx.func.ty(v).secret => {
                    return Err(Diagnostic::new(arg.span, "print shows public values, and this is secret")
                        .label("secret")
                        .help("`open(x)` reveals a secret to every party first, if that is intended: `print(\"{}\", open(x));`"))
                }
                Val::T(v) => {
                    shown.push_str("{}");
                    values.push(v);
                }
                Val::Tuple(vs) => return Err(not_one_value(arg.span, &vs)),
            }
            shown.push_str(piece);
        }
        cx.func.push(cx.block, Op::Print(shown), &values, &[], span);
        Ok(())
    }

    /// `v` as a tensor of type `t`: constants are encoded, public values classified.
    pub(crate) fn coerce(
        &mut self,
        cx: &mut Cx,
        v: Val,
        t: &TensorType,
        span: Span,
        what: &str,
    ) -> Result<Value> {
        match v {
            Val::Const(c) => {
                let public = TensorType::new(false, t.elem, t.shape.clone());
                let c = if c.shape == t.shape {
                    c
                } else if c.shape.is_empty() && t.len() > MAX_CONST_ELEMENTS {
                    return Err(Diagnostic::new(span, format!("{what}: a constant of {} elements is too large", t.len()))
                        .help(format!("constants hold at most {MAX_CONST_ELEMENTS} elements; compute large tensors from inputs")));
                } else if c.shape.is_empty() {
                    ConstT {
                        shape: t.shape.clone(),
                        data: vec![c.data[0]; t.len()],
                        boolean: c.boolean,
                    }
                } else {
                    return Err(Diagnostic::new(
                        span,
                        format!(
                            "{what}: constant of shape {:?} where {t} is expected",
                            c.shape
                        ),
                    )
                    .help("give the constant the expected shape"));
                };
                let v = self.materialize(cx, &c, public.elem, span)?;
                if t.secret {
                    Ok(self.push(cx, Op::Classify, &[v], t.clone(), span))
                } else {
                    Ok(v)
                }
            }
            Val::T(v) => {
                let vt = self.ty(cx, v);
                if vt == *t {
                    Ok(v)
                } else if t.secret && !vt.secret && vt.elem == t.elem && vt.shape == t.shape {
                    Ok(self.push(cx, Op::Classify, &[v], t.clone(), span))
                } else {
                    Err(type_error(span, t, &vt, what))
                }
            }
            Val::Tuple(vs) => Err(not_one_value(span, &vs)),
        }
    }

    /// A public constant tensor of kind `elem`.
    pub(crate) fn materialize(
        &mut self,
        cx: &mut Cx,
        c: &ConstT,
        elem: Elem,
        span: Span,
    ) -> Result<Value> {
        let data = c.encode(elem).map_err(|m| {
            let d = Diagnostic::new(span, format!("constant does not fit {elem}: {m}"));
            let Elem::Fix { frac, .. } = elem else {
                return d.help("use a constant of the right kind");
            };
            // The bit length that would hold the largest constant, if any does.
            let largest = c.data.iter().map(|n| n.as_f64().abs()).fold(0.0, f64::max);
            let needed = (largest * 2f64.powi(frac as i32)).log2().floor() as usize + 2;
            if needed + frac as usize <= MAX_PRODUCT_BITS {
                d.help(format!(
                    "declare the other operand with more integer bits, e.g. sfix<{frac}, {needed}> ({}), or scale the constant down",
                    Elem::Fix { frac, bits: needed as u8 }.range_text()
                ))
            } else {
                d.help("no fixed-point type with these fractional bits holds it: use fewer fractional bits, or scale the constant down")
            }
        })?;
        Ok(self.push(
            cx,
            Op::Const(data),
            &[],
            TensorType::new(false, elem, c.shape.clone()),
            span,
        ))
    }

    /// Instantiates user function `decl` of `module` for `args` and calls it.
    pub(crate) fn call_user(
        &mut self,
        cx: &mut Cx,
        module: &str,
        decl: &FnDecl,
        args: Vec<(Val, Span)>,
        span: Span,
    ) -> Result<Val> {
        let qualified = if self.modules[module].file == 0 {
            decl.name.name.clone()
        } else {
            format!("{module}::{}", decl.name.name)
        };
        if args.len() != decl.params.len() {
            return Err(Diagnostic::new(
                span,
                format!(
                    "`{qualified}` takes {} arguments but {} were given",
                    decl.params.len(),
                    args.len()
                ),
            )
            .note(decl.name.span, "defined here")
            .help("pass one argument per parameter"));
        }
        let generics: HashSet<&str> = decl.generics.iter().map(|g| g.name.as_str()).collect();
        // The prelude's functions are secrecy-generic: on public arguments they
        // compute publicly.
        let public_only = module == math::PRELUDE
            && args.iter().all(|(a, _)| match a {
                Val::T(v) => !self.ty(cx, *v).secret,
                _ => true,
            });
        let mut callee = Cx {
            func: Function::new(qualified.clone(), &[], Vec::new()),
            block: Block::from_u32(0),
            scopes: vec![HashMap::new()],
            dims: HashMap::new(),
            module: module.to_string(),
            is_main: false,
            loops: Vec::new(),
            branches: 0,
            binding: None,
            public_only,
        };
        // Bind generic dimensions from the argument types.
        for (p, (a, aspan)) in decl.params.iter().zip(&args) {
            let (Some(te), Val::T(v)) = (&p.ty, a) else {
                continue;
            };
            let at = self.ty(cx, *v);
            self.unify(&mut callee, te, &at, &generics, *aspan, &p.name.name)?;
        }
        for g in &decl.generics {
            if !callee.dims.contains_key(&g.name) {
                return Err(Diagnostic::new(
                    span,
                    format!("cannot infer `{}` of `{qualified}`", g.name),
                )
                .note(g.span, "this generic parameter")
                .help("pass a tensor whose type mentions it"));
            }
        }
        let mut key = qualified.clone();
        let mut tensor_args = Vec::new();
        let mut param_tys = Vec::new();
        let mut bindings = Vec::new();
        for (p, (a, aspan)) in decl.params.iter().zip(args) {
            match (&p.ty, a) {
                (Some(te), a) => {
                    let mut t = self.resolve_type(&mut callee, te)?;
                    // A parameter that leaves the bit length open takes the argument's.
                    if let Val::T(v) = &a {
                        let at = self.ty(cx, *v);
                        match (&te.elem, at.elem) {
                            (ElemExpr::Int(None), Elem::Int { .. })
                            | (ElemExpr::Fix(_, None), Elem::Fix { .. }) => t.elem = at.elem,
                            _ => {}
                        }
                    }
                    let v =
                        self.coerce(cx, a, &t, aspan, &format!("argument `{}`", p.name.name))?;
                    key.push_str(&format!("|{t}"));
                    bindings.push((p.name.name.clone(), None));
                    tensor_args.push(v);
                    param_tys.push(t);
                }
                (None, Val::T(v)) => {
                    let t = self.ty(cx, v);
                    key.push_str(&format!("|{t}"));
                    bindings.push((p.name.name.clone(), None));
                    tensor_args.push(v);
                    param_tys.push(t);
                }
                (None, Val::Const(c)) => {
                    key.push_str(&format!("|{c:?}"));
                    bindings.push((p.name.name.clone(), Some(c)));
                }
                (None, Val::Tuple(vs)) => return Err(not_one_value(aspan, &vs)),
            }
        }
        let f = match self.instances.get(&key) {
            Some(f) => *f,
            None => {
                if !self.in_progress.insert(key.clone()) {
                    return Err(Diagnostic::new(span, format!("`{qualified}` calls itself"))
                        .help("recursion is not supported: functions are inlined; write a loop instead"));
                }
                let name = format!(
                    "{qualified}[{}]",
                    param_tys
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                callee.func = Function::new(name, &param_tys, Vec::new());
                callee.block = callee.func.entry;
                let params = callee.func.blocks[callee.func.entry].params.clone();
                let mut next = params.into_iter();
                for (name, c) in bindings {
                    let val = match c {
                        Some(c) => Val::Const(c),
                        None => Val::T(next.next().expect("one parameter per tensor argument")),
                    };
                    self.bind(&mut callee, &name, val, false);
                }
                let result = self.instantiate(&mut callee, decl);
                self.in_progress.remove(&key);
                let ret =
                    result.map_err(|d| d.note(span, format!("in this call of `{qualified}`")))?;
                let f = self.module.functions.push(callee.func);
                self.module.functions[f].ret = ret;
                self.instances.insert(key, f);
                f
            }
        };
        let ret = self.module.functions[f].ret.clone();
        let results = cx
            .func
            .push(cx.block, Op::Call(f), &tensor_args, ret.as_slice(), span);
        Ok(match results.as_slice() {
            [one] => Val::T(*one),
            _ => Val::Tuple(results.to_vec()),
        })
    }

    /// Elaborates a callee's body; returns its result type.
    fn instantiate(&mut self, callee: &mut Cx, decl: &FnDecl) -> Result<Vec<TensorType>> {
        let declared = decl
            .ret
            .iter()
            .map(|t| self.resolve_type(callee, t))
            .collect::<Result<Vec<_>>>()?;
        let returned = match self.body(callee, &decl.body)? {
            None if declared.is_empty() => Vec::new(),
            None => {
                return Err(Diagnostic::new(
                    decl.name.span,
                    format!(
                        "`{}` declares a result but does not return one",
                        decl.name.name
                    ),
                )
                .help("end the body with `return value;`"))
            }
            // `return f(x);` passes on all of f's results.
            Some(r) => match r.as_slice() {
                [(Val::Tuple(vs), span)] if vs.len() > 1 => {
                    vs.iter().map(|v| (Val::T(*v), *span)).collect()
                }
                _ => r,
            },
        };
        if !declared.is_empty() && declared.len() != returned.len() {
            return Err(Diagnostic::new(
                returned.first().map_or(decl.body.span, |r| r.1),
                format!(
                    "`{}` declares {} results but returns {}",
                    decl.name.name,
                    declared.len(),
                    returned.len()
                ),
            )
            .help("return one value per declared result type"));
        }
        let mut values = Vec::with_capacity(returned.len());
        for (k, (v, span)) in returned.into_iter().enumerate() {
            values.push(match (v, declared.get(k)) {
                (Val::Tuple(vs), _) => return Err(not_one_value(span, &vs)),
                (v, Some(t)) => self.coerce(callee, v, t, span, "returned value")?,
                (Val::T(v), None) => v,
                (Val::Const(_), None) => {
                    return Err(Diagnostic::new(span, "returning an untyped constant")
                        .help("declare the result type, e.g. `-> int<32>`"))
                }
            });
        }
        let tys: Vec<TensorType> = values.iter().map(|v| self.ty(callee, *v)).collect();
        callee.func.ret = tys.clone();
        callee
            .func
            .push(callee.block, Op::Return, &values, &[], decl.body.span);
        Ok(tys)
    }

    /// Binds the generic dimensions in `te` to the corresponding parts of `actual`.
    fn unify(
        &mut self,
        callee: &mut Cx,
        te: &TypeExpr,
        actual: &TensorType,
        generics: &HashSet<&str>,
        span: Span,
        param: &str,
    ) -> Result<()> {
        let mismatch = |detail: String| {
            Diagnostic::new(
                span,
                format!("argument `{param}` does not fit its parameter type: {detail}"),
            )
            .note(te.span, "parameter type declared here")
            .help("pass a value of the declared kind and rank, or convert it with `as`")
        };
        if !te.secret && actual.secret {
            return Err(mismatch(format!(
                "the parameter is public but the argument is secret ({actual})"
            )));
        }
        if te.shape.len() != actual.shape.len() {
            return Err(mismatch(format!(
                "rank {} expected, the argument {actual} has rank {}",
                te.shape.len(),
                actual.shape.len()
            )));
        }
        let mut pairs: Vec<(&Dim, usize)> =
            te.shape.iter().zip(actual.shape.iter().copied()).collect();
        match (&te.elem, actual.elem) {
            (ElemExpr::Fix(f, b), Elem::Fix { frac, bits }) => {
                pairs.push((f, frac as usize));
                if let Some(b) = b {
                    pairs.push((b, bits as usize));
                }
            }
            (ElemExpr::Int(Some(b)), Elem::Int { bits }) => pairs.push((b, bits as usize)),
            (ElemExpr::Int(None), Elem::Int { .. }) | (ElemExpr::Bit, Elem::Bit) => {}
            _ => return Err(mismatch(format!("the argument is {actual}"))),
        }
        for (d, got) in pairs {
            match d {
                Dim::Name(n) if generics.contains(n.name.as_str()) => {
                    match callee.dims.get(&n.name) {
                        Some(&v) if v as usize != got => {
                            return Err(mismatch(format!(
                            "`{}` is already {v} from an earlier argument, here it would be {got}",
                            n.name
                        )))
                        }
                        _ => {
                            callee.dims.insert(n.name.clone(), got as i128);
                        }
                    }
                }
                other => {
                    let want = self.dim(callee, other)?;
                    if want != got {
                        return Err(mismatch(format!(
                            "{want} expected where the argument has {got}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}

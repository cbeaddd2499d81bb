//! The abstract syntax tree, as parsed; every node has its span.

use crate::source::Span;

#[derive(Clone, Debug)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Item {
    Import(Ident),
    Party {
        name: Ident,
        id: u64,
        span: Span,
    },
    Const {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
        span: Span,
    },
    Fn(FnDecl),
}

#[derive(Clone, Debug)]
pub struct FnDecl {
    pub name: Ident,
    pub generics: Vec<Ident>,
    pub params: Vec<Param>,
    /// The declared result types: none (taken from the returned values), one, or a tuple.
    pub ret: Vec<TypeExpr>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    /// Absent: the parameter takes any type (and compile-time constants stay constants).
    pub ty: Option<TypeExpr>,
}

/// A dimension or bit count in a type: a number, or a generic parameter or constant.
#[derive(Clone, Debug)]
pub enum Dim {
    Lit(u64, Span),
    Name(Ident),
}

#[derive(Clone, Debug)]
pub enum ElemExpr {
    /// `int<bits>`
    Int(Option<Dim>),
    /// `fix<frac, bits>`
    Fix(Dim, Option<Dim>),
    Bit,
}

#[derive(Clone, Debug)]
pub struct TypeExpr {
    pub secret: bool,
    pub elem: ElemExpr,
    pub shape: Vec<Dim>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Target {
    All(Span),
    Party(Ident),
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let {
        mutable: bool,
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
        span: Span,
    },
    /// `let (a, mut b) = f(...);`: binds each value of a call that returns several.
    LetTuple {
        names: Vec<(bool, Ident)>,
        value: Expr,
        span: Span,
    },
    Assign {
        name: Ident,
        value: Expr,
        span: Span,
    },
    /// `(a, b) = f(...);`: assigns each value of a call to a `let mut` variable.
    AssignTuple {
        names: Vec<Ident>,
        value: Expr,
        span: Span,
    },
    For {
        var: Ident,
        lo: Expr,
        hi: Expr,
        body: Block,
        span: Span,
    },
    If {
        cond: Expr,
        then: Block,
        otherwise: Option<Block>,
        span: Span,
    },
    Reveal {
        value: Expr,
        to: Target,
        span: Span,
    },
    /// `print("text {}", x, ...)`: shows public values at run time.
    Print {
        text: String,
        args: Vec<Expr>,
        span: Span,
    },
    /// `keep w as "name";`: each party writes its own share of `w`.
    Keep {
        var: Ident,
        name: String,
        span: Span,
    },
    /// `return x;` or `return (a, b, ...);`.
    Return {
        values: Vec<Expr>,
        span: Span,
    },
    Expr(Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    MatMul,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Xor,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Rem => "%",
            MatMul => "@",
            Shl => "<<",
            Shr => ">>",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Eq => "==",
            Ne => "!=",
            And => "&",
            Or => "|",
            Xor => "^",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(u64),
    Float(f64),
    Bool(bool),
    /// A name, possibly qualified by a module: `x`, `nn::relu`.
    Path(Vec<Ident>),
    Call {
        callee: Vec<Ident>,
        args: Vec<Arg>,
    },
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Unary(UnOp, Box<Expr>),
    Cast(Box<Expr>, TypeExpr),
    Index(Box<Expr>, Vec<IndexItem>),
    Array(Vec<Expr>),
    /// `load("name")`: this party's share that an earlier run kept.
    Load(String),
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub enum IndexItem {
    /// `i`: one position; the axis is dropped.
    Single(Expr),
    /// `a..b`, `a..`, `..b`, `..`: a static range.
    Range(Option<Expr>, Option<Expr>, Span),
    /// `s; n`: `n` (a constant) positions from `s` (possibly a public run-time value).
    Window(Expr, Expr, Span),
}

//! The lexer (logos). Keywords include the element types so that `sint<32>` in a
//! type position never reads as a comparison.

use logos::Logos;
use std::fmt;

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip r"//[^\n]*")]
pub enum Tok {
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("mut")]
    Mut,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("return")]
    Return,
    #[token("reveal")]
    Reveal,
    #[token("print")]
    Print,
    #[token("keep")]
    Keep,
    #[token("load")]
    Load,
    #[token("to")]
    To,
    #[token("all")]
    All,
    #[token("party")]
    Party,
    #[token("const")]
    Const,
    #[token("import")]
    Import,
    #[token("as")]
    As,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("sint")]
    Sint,
    #[token("int")]
    Int,
    #[token("sfix")]
    Sfix,
    #[token("fix")]
    Fix,
    #[token("sbit")]
    Sbit,
    #[token("bit")]
    Bit,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    /// A text in double quotes: `\"` and `\\` escape a quote and a backslash;
    /// control characters are not part of a text.
    #[regex(r#""([^"\\]|\\["\\])*""#, |lex| text(lex.slice()))]
    Str(String),
    #[regex(r"[0-9][0-9_]*", |lex| lex.slice().replace('_', "").parse::<u64>().ok())]
    IntLit(u64),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?", |lex| lex.slice().replace('_', "").parse::<f64>().ok())]
    FloatLit(f64),
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    PathSep,
    #[token("->")]
    Arrow,
    #[token("..")]
    DotDot,
    #[token("=")]
    Assign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("@")]
    At,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("!")]
    Bang,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "identifier `{s}`"),
            Tok::IntLit(v) => write!(f, "integer `{v}`"),
            Tok::FloatLit(v) => write!(f, "number `{v}`"),
            Tok::Str(s) => write!(f, "text {s:?}"),
            other => write!(f, "`{}`", token_text(other)),
        }
    }
}

fn token_text(t: &Tok) -> &'static str {
    use Tok::*;
    match t {
        Fn => "fn",
        Let => "let",
        Mut => "mut",
        For => "for",
        In => "in",
        If => "if",
        Else => "else",
        Return => "return",
        Reveal => "reveal",
        Print => "print",
        Keep => "keep",
        Load => "load",
        To => "to",
        All => "all",
        Party => "party",
        Const => "const",
        Import => "import",
        As => "as",
        True => "true",
        False => "false",
        Sint => "sint",
        Int => "int",
        Sfix => "sfix",
        Fix => "fix",
        Sbit => "sbit",
        Bit => "bit",
        LParen => "(",
        RParen => ")",
        LBracket => "[",
        RBracket => "]",
        LBrace => "{",
        RBrace => "}",
        Comma => ",",
        Semi => ";",
        Colon => ":",
        PathSep => "::",
        Arrow => "->",
        DotDot => "..",
        Assign => "=",
        Plus => "+",
        Minus => "-",
        Star => "*",
        Slash => "/",
        Percent => "%",
        At => "@",
        Shl => "<<",
        Shr => ">>",
        Lt => "<",
        Le => "<=",
        Gt => ">",
        Ge => ">=",
        EqEq => "==",
        Ne => "!=",
        Amp => "&",
        Pipe => "|",
        Caret => "^",
        Bang => "!",
        AndAnd => "&&",
        OrOr => "||",
        Ident(_) | IntLit(_) | FloatLit(_) | Str(_) => "",
    }
}

/// A lexing error at a byte range.
#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    pub start: usize,
    pub end: usize,
}

/// The text between the quotes of a string literal, unescaped; none if it
/// holds a control character.
fn text(quoted: &str) -> Option<String> {
    let inner = &quoted[1..quoted.len() - 1];
    if inner.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        // The pattern lets only `"` and `\` follow a backslash.
        out.extend(if c == '\\' { chars.next() } else { Some(c) });
    }
    Some(out)
}

/// The token stream in the form lalrpop expects.
pub fn tokens(src: &str) -> impl Iterator<Item = Result<(usize, Tok, usize), LexError>> + '_ {
    Tok::lexer(src).spanned().map(|(t, r)| match t {
        Ok(t) => Ok((r.start, t, r.end)),
        Err(()) => Err(LexError {
            start: r.start,
            end: r.end,
        }),
    })
}

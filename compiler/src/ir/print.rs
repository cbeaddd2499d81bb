//! The textual form of the IR (`mpcc --emit ir`).

use super::*;
use std::fmt::Write;

fn padding(p: &Padding) -> &'static str {
    match p {
        Padding::Same => "same",
        Padding::Valid => "valid",
    }
}

fn axis(a: &Option<u32>) -> String {
    a.map_or("all".into(), |a| a.to_string())
}

fn op_text(m: &Module, op: &Op) -> String {
    match op {
        Op::Const(data) => {
            let shown: Vec<String> = data
                .iter()
                .take(4)
                .map(|&x| (x as i64).to_string())
                .collect();
            format!(
                "const [{}{}]",
                shown.join(", "),
                if data.len() > 4 { ", ..." } else { "" }
            )
        }
        Op::Input { party, name, rows } => {
            format!("input party {party} \"{name}\"{}", per_row(rows))
        }
        Op::Classify => "classify".into(),
        Op::Add => "add".into(),
        Op::Sub => "sub".into(),
        Op::Neg => "neg".into(),
        Op::Mul => "mul".into(),
        Op::Mask => "mask".into(),
        Op::MatMul => "matmul".into(),
        Op::Conv2d {
            stride,
            padding: p,
            depthwise,
        } => {
            format!(
                "{} stride {stride:?} {}",
                if *depthwise { "dwconv2d" } else { "conv2d" },
                padding(p)
            )
        }
        Op::Div => "div".into(),
        Op::Rem => "rem".into(),
        Op::Shl(k) => format!("shl {k}"),
        Op::Trunc { amount, exact } => {
            format!("{} {amount}", if *exact { "trunc" } else { "trunc_pr" })
        }
        Op::LtZ => "ltz".into(),
        Op::EqZ => "eqz".into(),
        Op::Relu => "relu".into(),
        Op::Sum(a) => format!("sum axis {}", axis(a)),
        Op::Max(a) => format!("max axis {}", axis(a)),
        Op::Argmax(a) => format!("argmax axis {a}"),
        Op::SumPool {
            window,
            stride,
            padding: p,
        } => format!("sumpool window {window:?} stride {stride:?} {}", padding(p)),
        Op::MaxPool {
            window,
            stride,
            padding: p,
        } => format!("maxpool window {window:?} stride {stride:?} {}", padding(p)),
        Op::Reshape => "reshape".into(),
        Op::Transpose(p) => format!("transpose {p:?}"),
        Op::Slice {
            starts,
            dynamic_axis,
        } => match dynamic_axis {
            None => format!("slice at {starts:?}"),
            Some(a) => format!("slice at {starts:?} + dynamic on axis {a}"),
        },
        Op::Concat(a) => format!("concat axis {a}"),
        Op::Open => "open".into(),
        Op::Print(text) => format!("print {text:?}"),
        Op::Keep { name } => format!("keep \"{name}\""),
        Op::Load { name } => format!("load \"{name}\""),
        Op::Output { name, to, rows } => format!(
            "output \"{name}\" to {{{}}}{}",
            to.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            per_row(rows)
        ),
        Op::Call(callee) => format!(
            "call {callee} ({})",
            m.functions.get(*callee).map_or("?", |c| c.name.as_str())
        ),
        Op::For { lo, hi, body } => format!("for {lo}..{hi} {body}"),
        Op::If {
            then_block,
            else_block,
        } => format!("if then {then_block} else {else_block}"),
        Op::Yield => "yield".into(),
        Op::Return => "return".into(),
    }
}

fn print_block(f: &Function, m: &Module, b: Block, depth: usize, s: &mut String) {
    let pad = "  ".repeat(depth);
    let params: Vec<String> = f.blocks[b]
        .params
        .iter()
        .map(|v| format!("{v}: {}", f.ty(*v)))
        .collect();
    let _ = writeln!(s, "{pad}{b}({}):", params.join(", "));
    let mut batch = 0;
    for &i in &f.blocks[b].insts {
        let d = &f.insts[i];
        if d.batch != 0 && d.batch != batch {
            batch = d.batch;
            let _ = writeln!(s, "{pad}  ; round {batch}");
        }
        let results: Vec<String> = d
            .results
            .iter()
            .map(|v| format!("{v}: {}", f.ty(*v)))
            .collect();
        let lhs = if results.is_empty() {
            String::new()
        } else {
            format!("{} = ", results.join(", "))
        };
        let args: Vec<String> = d.args.iter().map(|v| v.to_string()).collect();
        let masks = if d.masked { " masked" } else { "" };
        let operands = if args.is_empty() {
            String::new()
        } else {
            format!(" {}", args.join(", "))
        };
        let _ = writeln!(s, "{pad}  {lhs}{}{operands}{masks}", op_text(m, &d.op));
        for nb in f.nested_blocks(i) {
            print_block(f, m, nb, depth + 2, s);
        }
    }
}

pub fn print_function(f: &Function, m: &Module) -> String {
    let mut s = String::new();
    let ret = match f.ret.as_slice() {
        [] => String::new(),
        [t] => format!(" -> {t}"),
        ts => format!(
            " -> ({})",
            ts.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let _ = writeln!(s, "fn {}{ret} {{", f.name);
    print_block(f, m, f.entry, 1, &mut s);
    let _ = writeln!(s, "}}");
    s
}

/// Every function of the module, callees first.
pub fn print_module(m: &Module) -> String {
    m.functions
        .values()
        .map(|f| print_function(f, m))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How an input or output inside loops is shown: the file's leading axes.
fn per_row(rows: &[usize]) -> String {
    if rows.is_empty() {
        String::new()
    } else {
        format!(" rows {rows:?}")
    }
}

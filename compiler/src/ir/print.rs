//! The textual form of the IR (`mpcc --emit ir`).

use super::*;
use std::fmt::Write;

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
        Op::Input { party, name } => format!("input party {party} \"{name}\""),
        Op::Output { name, to } => format!(
            "output \"{name}\" to {{{}}}",
            to.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
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
        Op::Shl(k) => format!("shl {k}"),
        Op::Trunc { amount, exact } => {
            format!("{} {amount}", if *exact { "trunc" } else { "trunc_pr" })
        }
        Op::Sum(a) | Op::Max(a) => format!(
            "{} axis {}",
            if matches!(op, Op::Sum(_)) {
                "sum"
            } else {
                "max"
            },
            a.map_or("all".into(), |a| a.to_string())
        ),
        Op::Argmax(a) => format!("argmax axis {a}"),
        Op::Transpose(p) => format!("transpose {p:?}"),
        Op::Slice {
            starts,
            dynamic_axis,
        } => match dynamic_axis {
            None => format!("slice at {starts:?}"),
            Some(a) => format!("slice at {starts:?} + dynamic on axis {a}"),
        },
        Op::Concat(a) => format!("concat axis {a}"),
        other => {
            let s = format!("{other:?}");
            let s = s.split([' ', '{', '(']).next().unwrap_or("").to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            }
            match other {
                Op::Conv2d {
                    stride,
                    padding,
                    depthwise,
                } => format!(
                    "{} stride {stride:?} {padding:?}",
                    if *depthwise { "dwconv2d" } else { "conv2d" }
                )
                .to_lowercase(),
                Op::SumPool {
                    window,
                    stride,
                    padding,
                }
                | Op::MaxPool {
                    window,
                    stride,
                    padding,
                } => {
                    format!("{out} window {window:?} stride {stride:?} {padding:?}").to_lowercase()
                }
                _ => out,
            }
        }
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
        let masks = if d.masks != [0, 0] {
            format!(" masks {:?}", d.masks)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "{pad}  {lhs}{} {}{masks}",
            op_text(m, &d.op),
            args.join(", ")
        );
        for nb in f.nested_blocks(i) {
            print_block(f, m, nb, depth + 2, s);
        }
    }
}

pub fn print_function(f: &Function, m: &Module) -> String {
    let mut s = String::new();
    let ret = f.ret.as_ref().map_or(String::new(), |t| format!(" -> {t}"));
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

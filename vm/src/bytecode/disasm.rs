//! The textual listing of a program (`mpcc --emit asm`, `mpcvm disasm`).

use super::*;
use std::fmt::Write;

fn regs(rs: &[u32]) -> String {
    rs.iter()
        .map(|r| format!("r{r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pad(p: Padding) -> &'static str {
    match p {
        Padding::Same => "same",
        Padding::Valid => "valid",
    }
}

fn axis(a: &Option<u32>) -> String {
    a.map_or("all".to_string(), |a| a.to_string())
}

fn parties(s: PartySet) -> String {
    s.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn preview(c: &RingTensor) -> String {
    let shown: Vec<String> = c
        .data
        .iter()
        .take(6)
        .map(|&x| (x as i64).to_string())
        .collect();
    let more = if c.data.len() > 6 { ", ..." } else { "" };
    format!("{:?} [{}{}]", c.shape, shown.join(", "), more)
}

/// One instruction as text (without indentation).
pub fn instr_text(i: &Instr) -> String {
    use Instr::*;
    match i {
        Const { dst, index } => format!("const r{dst}, c{index}"),
        Input { dst, input } => format!("input r{dst}, in{input}"),
        Classify { dst, src } => format!("classify r{dst}, r{src}"),
        Move { dst, src } => format!("mov r{dst}, r{src}"),
        Add { dst, a, b } => format!("add r{dst}, r{a}, r{b}"),
        Sub { dst, a, b } => format!("sub r{dst}, r{a}, r{b}"),
        Neg { dst, a } => format!("neg r{dst}, r{a}"),
        Mul { dst, a, b } => format!("mul r{dst}, r{a}, r{b}"),
        MatMul { dst, a, b } => format!("matmul r{dst}, r{a}, r{b}"),
        Mask { dst, a } => format!("mask r{dst}, r{a}"),
        Conv2d {
            dst,
            x,
            w,
            stride,
            padding,
            depthwise,
        } => format!(
            "{} r{dst}, r{x}, r{w} stride({}, {}) {}",
            if *depthwise { "dwconv2d" } else { "conv2d" },
            stride[0],
            stride[1],
            pad(*padding),
        ),
        Div { dst, a, b } => format!("div r{dst}, r{a}, r{b}"),
        Rem { dst, a, b } => format!("rem r{dst}, r{a}, r{b}"),
        Shl { dst, a, amount } => format!("shl r{dst}, r{a}, {amount}"),
        Trunc {
            dst,
            a,
            amount,
            exact,
        } => {
            format!(
                "{} r{dst}, r{a}, {amount}",
                if *exact { "trunc" } else { "trunc_pr" }
            )
        }
        LtZ { dst, a } => format!("ltz r{dst}, r{a}"),
        EqZ { dst, a } => format!("eqz r{dst}, r{a}"),
        Relu { dst, a } => format!("relu r{dst}, r{a}"),
        Sum { dst, a, axis: x } => format!("sum r{dst}, r{a} axis {}", axis(x)),
        Max { dst, a, axis: x } => format!("max r{dst}, r{a} axis {}", axis(x)),
        Argmax { dst, a, axis } => format!("argmax r{dst}, r{a} axis {axis}"),
        SumPool {
            dst,
            x,
            window,
            stride,
            padding,
        } => format!(
            "sumpool r{dst}, r{x} window({}, {}) stride({}, {}) {}",
            window[0],
            window[1],
            stride[0],
            stride[1],
            pad(*padding)
        ),
        MaxPool {
            dst,
            x,
            window,
            stride,
            padding,
        } => format!(
            "maxpool r{dst}, r{x} window({}, {}) stride({}, {}) {}",
            window[0],
            window[1],
            stride[0],
            stride[1],
            pad(*padding)
        ),
        Reshape { dst, a } => format!("reshape r{dst}, r{a}"),
        Transpose { dst, a, perm } => format!("transpose r{dst}, r{a} {perm:?}"),
        Slice {
            dst,
            a,
            starts,
            dynamic,
        } => match dynamic {
            None => format!("slice r{dst}, r{a} at {starts:?}"),
            Some((ax, r)) => format!("slice r{dst}, r{a} at {starts:?} + r{r} on axis {ax}"),
        },
        Concat { dst, axis, parts } => format!("concat r{dst}, [{}] axis {axis}", regs(parts)),
        Open { dst, a } => format!("open r{dst}, r{a}"),
        Output { output, a } => format!("output out{output}, r{a}"),
        Keep { share, a } => format!("keep share{share}, r{a}"),
        Load { dst, share } => format!("r{dst} = load share{share}"),
        Print { text, args } => format!("print text{text}, [{}]", regs(args)),
        Round { len } => format!("round {len} {{"),
        Loop {
            counter,
            lo,
            hi,
            end,
        } => format!("loop r{counter} in {lo}..{hi} (end @{end}) {{"),
        EndLoop { begin } => format!("}} endloop (@{begin})"),
        If { cond, else_at } => format!("if r{cond} (else @{else_at}) {{"),
        Else { end } => format!("}} else (end @{end}) {{"),
        EndIf => "} endif".to_string(),
        Free { regs: rs } => format!("free {}", regs(rs)),
    }
}

/// The whole listing: header, tables and indented code.
pub fn disassemble(p: &Program, bytes: &[u8]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "; mpcb format {FORMAT_VERSION}, ring Z_2^64, {} parties, hash {}",
        p.parties,
        &Program::hash_hex(bytes)[..16.min(Program::hash_hex(bytes).len())]
    );
    let _ = writeln!(s, "; preprocessing manifest:");
    for m in &p.manifest {
        let _ = writeln!(s, ";   {} {:?} x {}", m.primitive.name(), m.params, m.count);
    }
    for (i, d) in p.inputs.iter().enumerate() {
        let _ = writeln!(s, "in{i}: {} from party {} as {}", d.name, d.party, d.ty);
    }
    for (i, d) in p.outputs.iter().enumerate() {
        let _ = writeln!(
            s,
            "out{i}: {} to parties {} as {}",
            d.name,
            parties(d.to),
            d.ty
        );
    }
    for (i, c) in p.constants.iter().enumerate() {
        let _ = writeln!(s, "c{i}: {}", preview(c));
    }
    for (i, t) in p.registers.iter().enumerate() {
        let _ = writeln!(s, "r{i}: {t}");
    }
    let mut depth = 0usize;
    let mut batch_left = 0u32;
    let mut masked = p.masked.iter().peekable();
    for (pc, i) in p.code.iter().enumerate() {
        if matches!(i, Instr::EndLoop { .. } | Instr::Else { .. } | Instr::EndIf) {
            depth = depth.saturating_sub(1);
        }
        let derives = masked.next_if(|&&m| m as usize == pc).is_some();
        let _ = writeln!(
            s,
            "{pc:5}  {}{}{}",
            "  ".repeat(depth),
            instr_text(i),
            if derives { " ; masked" } else { "" }
        );
        match i {
            Instr::Loop { .. } | Instr::If { .. } | Instr::Else { .. } | Instr::Round { .. } => {
                depth += 1
            }
            _ => {}
        }
        if let Instr::Round { len } = i {
            batch_left = *len;
        } else if batch_left > 0 {
            batch_left -= 1;
            if batch_left == 0 {
                depth = depth.saturating_sub(1);
                let _ = writeln!(s, "       {}}}", "  ".repeat(depth));
            }
        }
    }
    s
}

//! The bytecode verifier. A program that passes can be interpreted without any
//! further checks except the run-time bound of dynamic slices: every register
//! index is in range, every operand has the type its instruction needs, every
//! register is written before it is read on every path, control flow is properly
//! nested, each round batch holds independent interactive instructions only,
//! masks are derived only from masked operands (and multiplied only by
//! constants, which a dealer knows), and the header's manifest is exactly what
//! the code consumes.

use super::manifest::consumption;
use super::*;
use crate::shape;
use crate::types::Elem;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// Index of the offending instruction, if the error is in the code.
    pub pc: Option<usize>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pc {
            Some(pc) => write!(f, "invalid bytecode at instruction {pc}: {}", self.message),
            None => write!(f, "invalid bytecode: {}", self.message),
        }
    }
}

type V<T> = Result<T, VerifyError>;

fn fail<T>(pc: Option<usize>, message: impl Into<String>) -> V<T> {
    Err(VerifyError {
        pc,
        message: message.into(),
    })
}

pub fn verify(p: &Program) -> V<()> {
    if p.parties as usize > 64 {
        return fail(
            None,
            format!("{} parties; at most 64 are supported", p.parties),
        );
    }
    for (i, t) in p.registers.iter().enumerate() {
        check_type(t).map_err(|m| VerifyError {
            pc: None,
            message: format!("register r{i}: {m}"),
        })?;
    }
    for (i, d) in p.inputs.iter().enumerate() {
        if d.party >= p.parties {
            return fail(
                None,
                format!(
                    "input {i} belongs to party {}, but the program has {} parties",
                    d.party, p.parties
                ),
            );
        }
        check_type(&d.ty).map_err(|m| VerifyError {
            pc: None,
            message: format!("input {i}: {m}"),
        })?;
    }
    for (i, d) in p.outputs.iter().enumerate() {
        if d.to.0 == 0 || d.to.0 & !PartySet::all(p.parties as usize).0 != 0 {
            return fail(
                None,
                format!("output {i} is revealed to parties outside 0..{}", p.parties),
            );
        }
        check_type(&d.ty).map_err(|m| VerifyError {
            pc: None,
            message: format!("output {i}: {m}"),
        })?;
    }
    for (i, d) in p.shares.iter().enumerate() {
        check_type(&d.ty).map_err(|m| VerifyError {
            pc: None,
            message: format!("share {i}: {m}"),
        })?;
        if !d.ty.secret {
            return fail(None, format!("share {i} is of a public type"));
        }
    }
    // Names become file names (`<dir>/<name>.npy`): only identifiers, and no two
    // files of one party alike, so a program can neither reach outside its
    // directories nor overwrite one of its own files.
    let files = p
        .inputs
        .iter()
        .enumerate()
        .map(|(i, d)| ("input", i, &d.name, 1u64 << d.party))
        .chain(
            p.outputs
                .iter()
                .enumerate()
                .map(|(i, d)| ("output", i, &d.name, d.to.0)),
        )
        .chain(p.shares.iter().enumerate().map(|(i, d)| {
            (
                if d.kept { "kept share" } else { "loaded share" },
                i,
                &d.name,
                u64::MAX,
            )
        }))
        .collect::<Vec<_>>();
    for (k, &(what, i, name, parties)) in files.iter().enumerate() {
        check_name(name).map_err(|m| VerifyError {
            pc: None,
            message: format!("{what} {i}: {m}"),
        })?;
        if files[..k]
            .iter()
            .any(|&(w, _, n, ps)| w == what && n == name && ps & parties != 0)
        {
            return fail(
                None,
                format!("{what} {i}: a party has two {what}s named '{name}'"),
            );
        }
    }
    for (i, t) in p.texts.iter().enumerate() {
        check_text(t).map_err(|m| VerifyError {
            pc: None,
            message: format!("text {i}: {m}"),
        })?;
    }
    let mut v = Verifier {
        p,
        state: vec![Written::Unset; p.registers.len()],
        masked: masked_flags(p)?,
        input_read_at: vec![None; p.inputs.len()],
        output_written_at: vec![None; p.outputs.len()],
        share_used_at: vec![None; p.shares.len()],
        around: Vec::new(),
    };
    v.block(0, p.code.len())?;
    if let Some(i) = v.input_read_at.iter().position(Option::is_none) {
        return fail(None, format!("input {i} is never read"));
    }
    if let Some(i) = v.output_written_at.iter().position(Option::is_none) {
        return fail(None, format!("output {i} is never written"));
    }
    if let Some(i) = v.share_used_at.iter().position(Option::is_none) {
        return fail(None, format!("share {i} is never kept or loaded"));
    }
    if derive_manifest(p) != p.manifest {
        return fail(
            None,
            "the header's preprocessing manifest does not match the code",
        );
    }
    Ok(())
}

fn check_type(t: &TensorType) -> Result<(), String> {
    match t.elem {
        Elem::Int { bits } if (1..=64).contains(&bits) => {}
        Elem::Fix { frac, bits } if (1..=64).contains(&bits) && frac < bits => {}
        Elem::Bit => {}
        e => return Err(format!("invalid element kind {e:?}")),
    }
    if t.shape.len() > 8 {
        return Err("rank above 8".into());
    }
    Ok(())
}

struct Verifier<'a> {
    p: &'a Program,
    /// What each register holds at the instruction being verified.
    state: Vec<Written>,
    /// Per instruction: whether it derives its result's mask (`Program::masked`).
    masked: Vec<bool>,
    /// The one instruction that reads each input (a loop body is verified
    /// more than once, so the same instruction may come again).
    input_read_at: Vec<Option<usize>>,
    output_written_at: Vec<Option<usize>>,
    share_used_at: Vec<Option<usize>>,
    /// The loops (their trip counts) and branches (`None`) around the instruction being verified.
    around: Vec<Option<usize>>,
}

impl Verifier<'_> {
    /// The shape of the file that `what` (an input or output declared `declared`)
    /// reads or writes, checked: one row of the register's shape per iteration
    /// of each loop around it, outermost first; never inside a run-time branch;
    /// and only this instruction uses it.
    fn file_rows(
        &mut self,
        pc: usize,
        what: &str,
        declared: &TensorType,
        row: &TensorType,
        used_at: impl Fn(&mut Self) -> &mut Option<usize>,
    ) -> V<()> {
        let Some(trips) = self.around.iter().copied().collect::<Option<Vec<usize>>>() else {
            return fail(Some(pc), format!("{what} inside a run-time branch"));
        };
        let mut shape = trips;
        shape.extend_from_slice(&row.shape);
        if declared.shape != shape || declared.elem != row.elem || declared.secret != row.secret {
            return fail(
                Some(pc),
                format!(
                    "{what} is declared {declared} but is {row} per iteration of the loops around it (expected shape {shape:?})"
                ),
            );
        }
        self.used_once(pc, what, used_at)
    }

    /// A share is kept or loaded once, outside loops and branches.
    fn share_used(&mut self, pc: usize, share: u32) -> V<()> {
        if !self.around.is_empty() {
            return fail(Some(pc), format!("share {share} inside a loop or branch"));
        }
        let n = share as usize;
        self.used_once(pc, &format!("share {share}"), |v| &mut v.share_used_at[n])
    }

    /// Marks `what` used by instruction `pc`, and by no other.
    fn used_once(
        &mut self,
        pc: usize,
        what: &str,
        used_at: impl Fn(&mut Self) -> &mut Option<usize>,
    ) -> V<()> {
        match used_at(self) {
            Some(at) if *at != pc => fail(
                Some(pc),
                format!("{what} is also used at instruction {at}; each is used by one instruction"),
            ),
            slot => {
                *slot = Some(pc);
                Ok(())
            }
        }
    }
}

/// What a register holds at a point of the program (the meet of every path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    Unset,
    Set,
    /// A secret with a mask (`Mask`, or derived from masked operands).
    Masked,
    /// A public value from the constant pool.
    Constant,
}

impl Written {
    fn meet(self, other: Written) -> Written {
        match (self, other) {
            (a, b) if a == b => a,
            (Written::Unset, _) | (_, Written::Unset) => Written::Unset,
            _ => Written::Set,
        }
    }
}

/// `Program::masked` as a flag per instruction, checked: increasing, in range.
fn masked_flags(p: &Program) -> V<Vec<bool>> {
    let mut flags = vec![false; p.code.len()];
    let mut last = None;
    for &m in &p.masked {
        if m as usize >= p.code.len() || last.is_some_and(|l| m <= l) {
            return fail(
                None,
                format!("masked instruction {m}: not increasing or not in the code"),
            );
        }
        flags[m as usize] = true;
        last = Some(m);
    }
    Ok(flags)
}

impl Verifier<'_> {
    /// Marks instruction `pc`'s result written; one that derives a mask must be
    /// linear in its secret operands, all masked, and multiply only by constants.
    fn written(&mut self, pc: usize) -> V<()> {
        use Instr::*;
        let i = &self.p.code[pc];
        let (reads, dst) = operands(i);
        let Some(dst) = dst else {
            if self.masked[pc] {
                return fail(Some(pc), "an instruction without a result derives a mask");
            }
            return Ok(());
        };
        let secret = |r: &Reg| self.p.registers[*r as usize].secret;
        let state = |r: &Reg| self.state[*r as usize];
        self.state[dst as usize] = if matches!(i, Mask { .. }) {
            Written::Masked
        } else if self.masked[pc] {
            let linear = match i {
                Add { .. } | Sub { .. } | Neg { .. } | Classify { .. } | Shl { .. } => true,
                Sum { .. } | SumPool { .. } | Reshape { .. } | Transpose { .. } | Concat { .. } => {
                    true
                }
                Slice { dynamic, .. } => dynamic.is_none(),
                Mul { .. } | MatMul { .. } | Conv2d { .. } => {
                    reads.iter().filter(|r| secret(r)).count() == 1
                        && reads
                            .iter()
                            .all(|r| secret(r) || state(r) == Written::Constant)
                }
                _ => false,
            };
            if !linear || !self.p.registers[dst as usize].secret {
                return fail(
                    Some(pc),
                    "only a local operation linear in its secrets, multiplying by constants only, derives a mask",
                );
            }
            if reads
                .iter()
                .any(|r| secret(r) && state(r) != Written::Masked)
            {
                return fail(Some(pc), "a mask derived from an operand without one");
            }
            Written::Masked
        } else if matches!(i, Const { .. }) {
            Written::Constant
        } else {
            Written::Set
        };
        Ok(())
    }

    fn reg(&self, pc: usize, r: Reg) -> V<&TensorType> {
        match self.p.registers.get(r as usize) {
            Some(t) => Ok(t),
            None => fail(
                Some(pc),
                format!(
                    "register r{r} does not exist ({} registers)",
                    self.p.registers.len()
                ),
            ),
        }
    }

    fn read(&self, pc: usize, r: Reg) -> V<&TensorType> {
        let t = self.reg(pc, r)?;
        if self.state[r as usize] == Written::Unset {
            return fail(
                Some(pc),
                format!("register r{r} is read before it is written"),
            );
        }
        Ok(t)
    }

    fn public_scalar(&self, pc: usize, r: Reg, what: &str) -> V<()> {
        let t = self.read(pc, r)?;
        if t.secret || !t.shape.is_empty() || matches!(t.elem, Elem::Fix { .. }) {
            return fail(
                Some(pc),
                format!("{what} r{r} must be a public integer scalar, not {t}"),
            );
        }
        Ok(())
    }

    /// Verifies the instructions in `pc..end` (a properly nested region).
    fn block(&mut self, mut pc: usize, end: usize) -> V<()> {
        while pc < end {
            match &self.p.code[pc] {
                Instr::Loop {
                    counter,
                    lo,
                    hi,
                    end: loop_end,
                } => {
                    let le = *loop_end as usize;
                    if le <= pc
                        || le >= end
                        || self.p.code[le] != (Instr::EndLoop { begin: pc as u32 })
                    {
                        return fail(
                            Some(pc),
                            "loop is not closed by a matching end-loop inside its region",
                        );
                    }
                    let t = self.reg(pc, *counter)?;
                    if *t != TensorType::public_index() {
                        return fail(
                            Some(pc),
                            format!("loop counter r{counter} must have type int<64>, not {t}"),
                        );
                    }
                    self.state[*counter as usize] = Written::Set;
                    // An iteration starts with what is defined before the loop and at the
                    // end of the previous iteration (a body may free registers): verify
                    // the body until that state is stable. What the body writes survives
                    // the loop only if the loop runs at all.
                    let before = self.state.clone();
                    let mut entry = before.clone();
                    self.around
                        .push(Some(hi.saturating_sub(*lo).max(0) as usize));
                    loop {
                        self.state = entry.clone();
                        self.block(pc + 1, le)?;
                        let next: Vec<Written> = entry
                            .iter()
                            .zip(&self.state)
                            .map(|(a, b)| a.meet(*b))
                            .collect();
                        if next == entry {
                            break;
                        }
                        entry = next;
                    }
                    self.around.pop();
                    if hi <= lo {
                        self.state = before;
                    }
                    pc = le + 1;
                }
                Instr::If { cond, else_at } => {
                    let ea = *else_at as usize;
                    let Some(Instr::Else { end: if_end }) =
                        self.p.code.get(ea).filter(|_| ea > pc && ea < end)
                    else {
                        return fail(Some(pc), "if has no matching else inside its region");
                    };
                    let ie = *if_end as usize;
                    if ie <= ea || ie >= end || self.p.code[ie] != Instr::EndIf {
                        return fail(Some(ea), "else has no matching end-if inside its region");
                    }
                    self.public_scalar(pc, *cond, "condition")?;
                    let before = self.state.clone();
                    self.around.push(None);
                    self.block(pc + 1, ea)?;
                    let then_state = std::mem::replace(&mut self.state, before);
                    self.block(ea + 1, ie)?;
                    self.around.pop();
                    for (d, t) in self.state.iter_mut().zip(then_state) {
                        *d = d.meet(t);
                    }
                    // Which arm ran is not known to a dealer replaying the masks:
                    // a register either arm writes holds no mask it could know.
                    for i in &self.p.code[pc + 1..ie] {
                        if let (_, Some(d)) = operands(i) {
                            if self.state[d as usize] == Written::Masked {
                                self.state[d as usize] = Written::Set;
                            }
                        }
                    }
                    pc = ie + 1;
                }
                Instr::EndLoop { .. } | Instr::Else { .. } | Instr::EndIf => {
                    return fail(Some(pc), "unbalanced end of a loop or branch");
                }
                Instr::Free { regs } => {
                    for r in regs {
                        self.reg(pc, *r)?;
                        self.state[*r as usize] = Written::Unset;
                    }
                    pc += 1;
                }
                Instr::Round { len } => {
                    let len = *len as usize;
                    if len == 0 || len > end - pc - 1 {
                        return fail(
                            Some(pc),
                            format!("round batch of {len} instructions does not fit in its region"),
                        );
                    }
                    let batch = pc + 1..pc + 1 + len;
                    for at in batch.clone() {
                        let i = &self.p.code[at];
                        if matches!(
                            i,
                            Instr::Round { .. }
                                | Instr::Loop { .. }
                                | Instr::EndLoop { .. }
                                | Instr::If { .. }
                                | Instr::Else { .. }
                                | Instr::EndIf
                                | Instr::Free { .. }
                        ) {
                            return fail(Some(at), "control flow inside a round batch");
                        }
                        self.instr(at, i)?;
                        if consumption(self.p, i, true).is_none() {
                            return fail(Some(at), "local instruction inside a round batch");
                        }
                    }
                    // Operations of one batch run together: none may read another's result.
                    let mut written = std::collections::HashSet::new();
                    for at in batch.clone() {
                        let (reads, dst) = operands(&self.p.code[at]);
                        if reads.iter().any(|r| written.contains(r)) {
                            return fail(Some(at), "round batch operation depends on another operation of the same batch");
                        }
                        if let Some(d) = dst {
                            if !written.insert(d) {
                                return fail(
                                    Some(at),
                                    format!("two operations of one round batch write r{d}"),
                                );
                            }
                        }
                    }
                    for at in batch {
                        self.written(at)?;
                    }
                    pc += len + 1;
                }
                i => {
                    self.instr(pc, i)?;
                    if let Some((primitive, ..)) = consumption(self.p, i, false) {
                        if !primitive.is_masked_product() {
                            return fail(Some(pc), "interactive instruction outside a round batch");
                        }
                        let (reads, _) = operands(i);
                        if reads
                            .iter()
                            .any(|r| self.state[*r as usize] != Written::Masked)
                        {
                            return fail(Some(pc), "product of secrets outside a round batch with an operand that is not masked");
                        }
                    }
                    self.written(pc)?;
                    pc += 1;
                }
            }
        }
        Ok(())
    }

    /// Type-checks one data instruction (its reads must be defined; its result is not yet marked).
    fn instr(&mut self, pc: usize, i: &Instr) -> V<()> {
        use Instr::*;
        let (reads, dst) = operands(i);
        for r in &reads {
            self.read(pc, *r)?;
        }
        let Some(dst) = dst.map(|d| self.reg(pc, d)).transpose()? else {
            // Output and Print: the data instructions without a destination.
            if let Print { text, args } = i {
                let Some(t) = self.p.texts.get(*text as usize) else {
                    return fail(Some(pc), format!("text {text} does not exist"));
                };
                if t.matches("{}").count() != args.len() {
                    return fail(
                        Some(pc),
                        format!(
                            "text {text} has {} places for {} values",
                            t.matches("{}").count(),
                            args.len()
                        ),
                    );
                }
                if let Some(a) = args.iter().find(|a| self.p.registers[**a as usize].secret) {
                    return fail(Some(pc), format!("print of r{a}, a secret"));
                }
            }
            if let Keep { share, a } = i {
                let Some(decl) = self.p.shares.get(*share as usize) else {
                    return fail(Some(pc), format!("share {share} does not exist"));
                };
                let t = self.read(pc, *a)?;
                if !decl.kept || decl.ty != *t || !t.secret {
                    return fail(
                        Some(pc),
                        format!("keep of r{a} ({t}) as share {share} ({})", decl.ty),
                    );
                }
                self.share_used(pc, *share)?;
            }
            if let Output { output, a } = i {
                let Some(decl) = self.p.outputs.get(*output as usize) else {
                    return fail(Some(pc), format!("output {output} does not exist"));
                };
                let t = self.read(pc, *a)?.clone();
                let o = *output as usize;
                self.file_rows(pc, &format!("output {output}"), &decl.ty, &t, |v| {
                    &mut v.output_written_at[o]
                })?;
            }
            return Ok(());
        };
        let ty = |r: &Reg| &self.p.registers[*r as usize];
        let err = |m: String| VerifyError {
            pc: Some(pc),
            message: m,
        };
        let same_secrecy = |expected: bool| -> V<()> {
            if dst.secret != expected {
                return fail(
                    Some(pc),
                    format!(
                        "result register is {} but the operation yields a {} value",
                        secrecy(dst.secret),
                        secrecy(expected)
                    ),
                );
            }
            Ok(())
        };
        let shape_is = |s: Vec<usize>| -> V<()> {
            if s != dst.shape {
                return fail(
                    Some(pc),
                    format!(
                        "result register has shape {:?} but the operation yields {:?}",
                        dst.shape, s
                    ),
                );
            }
            Ok(())
        };
        match i {
            Const { index, .. } => {
                let Some(c) = self.p.constants.get(*index as usize) else {
                    return fail(Some(pc), format!("constant {index} does not exist"));
                };
                same_secrecy(false)?;
                shape_is(c.shape.clone())?;
            }
            Input { input, .. } => {
                let Some(decl) = self.p.inputs.get(*input as usize) else {
                    return fail(Some(pc), format!("input {input} does not exist"));
                };
                let (dst, n) = (dst.clone(), *input as usize);
                self.file_rows(pc, &format!("input {input}"), &decl.ty, &dst, |v| {
                    &mut v.input_read_at[n]
                })?;
            }
            Classify { src, .. } => {
                if ty(src).secret {
                    return fail(Some(pc), "classify of a value that is already secret");
                }
                same_secrecy(true)?;
                shape_is(ty(src).shape.clone())?;
            }
            Move { src, .. } => {
                if ty(src) != dst {
                    return fail(Some(pc), format!("move from {} to {dst}", ty(src)));
                }
            }
            Add { a, b, .. } | Sub { a, b, .. } | Mul { a, b, .. } => {
                same_secrecy(ty(a).secret || ty(b).secret)?;
                shape_is(shape::broadcast(&ty(a).shape, &ty(b).shape).map_err(err)?)?;
            }
            Div { a, b, .. } | Rem { a, b, .. } => {
                if ty(a).secret || ty(b).secret || dst.secret {
                    return fail(
                        Some(pc),
                        "division and remainder are defined on public integers only",
                    );
                }
                shape_is(shape::broadcast(&ty(a).shape, &ty(b).shape).map_err(err)?)?;
            }
            MatMul { a, b, .. } => {
                same_secrecy(ty(a).secret || ty(b).secret)?;
                shape_is(shape::matmul(&ty(a).shape, &ty(b).shape).map_err(err)?)?;
            }
            Conv2d {
                x,
                w,
                stride,
                padding,
                depthwise,
                ..
            } => {
                same_secrecy(ty(x).secret || ty(w).secret)?;
                let s = [stride[0] as usize, stride[1] as usize];
                shape_is(
                    shape::conv2d(&ty(x).shape, &ty(w).shape, s, *padding, *depthwise)
                        .map_err(err)?,
                )?;
            }
            Neg { a, .. } | Shl { a, .. } | Trunc { a, .. } | Relu { a, .. } => {
                same_secrecy(ty(a).secret)?;
                shape_is(ty(a).shape.clone())?;
                if let Trunc { amount, .. } = i {
                    if *amount >= 64 {
                        return fail(Some(pc), format!("truncation by {amount} bits"));
                    }
                }
            }
            LtZ { a, .. } | EqZ { a, .. } => {
                same_secrecy(ty(a).secret)?;
                shape_is(ty(a).shape.clone())?;
                if dst.elem != Elem::Bit {
                    return fail(Some(pc), "comparison result register must hold bits");
                }
            }
            Sum { a, axis, .. } | Max { a, axis, .. } => {
                same_secrecy(ty(a).secret)?;
                shape_is(shape::reduce(&ty(a).shape, axis.map(|x| x as usize)).map_err(err)?)?;
            }
            Argmax { a, axis, .. } => {
                same_secrecy(ty(a).secret)?;
                shape_is(shape::reduce(&ty(a).shape, Some(*axis as usize)).map_err(err)?)?;
            }
            SumPool {
                x,
                window,
                stride,
                padding,
                ..
            }
            | MaxPool {
                x,
                window,
                stride,
                padding,
                ..
            } => {
                same_secrecy(ty(x).secret)?;
                let w = [window[0] as usize, window[1] as usize];
                let s = [stride[0] as usize, stride[1] as usize];
                shape_is(shape::pool(&ty(x).shape, w, s, *padding).map_err(err)?)?;
            }
            Reshape { a, .. } => {
                same_secrecy(ty(a).secret)?;
                shape::reshape(&ty(a).shape, &dst.shape).map_err(err)?;
            }
            Transpose { a, perm, .. } => {
                same_secrecy(ty(a).secret)?;
                let perm: Vec<usize> = perm.iter().map(|&x| x as usize).collect();
                shape_is(shape::transpose(&ty(a).shape, &perm).map_err(err)?)?;
            }
            Slice {
                a, starts, dynamic, ..
            } => {
                same_secrecy(ty(a).secret)?;
                if let Some((_, r)) = dynamic {
                    self.public_scalar(pc, *r, "dynamic slice offset")?;
                }
                let starts: Vec<usize> = starts.iter().map(|&x| x as usize).collect();
                shape::slice(
                    &ty(a).shape,
                    &starts,
                    &dst.shape,
                    dynamic.map(|d| d.0 as usize),
                )
                .map_err(err)?;
            }
            Concat { axis, parts, .. } => {
                if parts.iter().any(|r| ty(r).secret != dst.secret) {
                    return fail(
                        Some(pc),
                        "concatenated parts must all have the result's secrecy",
                    );
                }
                let shapes: Vec<&[usize]> = parts.iter().map(|r| ty(r).shape.as_slice()).collect();
                shape_is(shape::concat(&shapes, *axis as usize).map_err(err)?)?;
            }
            Mask { a, .. } => {
                if !ty(a).secret || ty(a) != dst {
                    return fail(Some(pc), format!("mask of {} into {dst}", ty(a)));
                }
            }
            Open { a, .. } => {
                if !ty(a).secret {
                    return fail(Some(pc), "open of a public value");
                }
                same_secrecy(false)?;
                shape_is(ty(a).shape.clone())?;
            }
            Load { share, .. } => {
                let Some(decl) = self.p.shares.get(*share as usize) else {
                    return fail(Some(pc), format!("share {share} does not exist"));
                };
                if decl.kept || decl.ty != *dst {
                    return fail(
                        Some(pc),
                        format!("load of share {share} ({}) into {dst}", decl.ty),
                    );
                }
                self.share_used(pc, *share)?;
            }
            Output { .. }
            | Keep { .. }
            | Print { .. }
            | Round { .. }
            | Loop { .. }
            | EndLoop { .. }
            | If { .. }
            | Else { .. }
            | EndIf
            | Free { .. } => {
                unreachable!("handled by the caller")
            }
        }
        Ok(())
    }
}

fn secrecy(secret: bool) -> &'static str {
    if secret {
        "secret"
    } else {
        "public"
    }
}

/// Registers an instruction reads, and the one it writes.
pub fn operands(i: &Instr) -> (Vec<Reg>, Option<Reg>) {
    use Instr::*;
    match i {
        Const { dst, .. } | Input { dst, .. } => (vec![], Some(*dst)),
        Classify { dst, src } | Move { dst, src } => (vec![*src], Some(*dst)),
        Add { dst, a, b } | Sub { dst, a, b } | Div { dst, a, b } | Rem { dst, a, b } => {
            (vec![*a, *b], Some(*dst))
        }
        Mul { dst, a, b, .. } | MatMul { dst, a, b, .. } => (vec![*a, *b], Some(*dst)),
        Conv2d { dst, x, w, .. } => (vec![*x, *w], Some(*dst)),
        Neg { dst, a }
        | Shl { dst, a, .. }
        | Trunc { dst, a, .. }
        | LtZ { dst, a }
        | EqZ { dst, a }
        | Relu { dst, a }
        | Sum { dst, a, .. }
        | Max { dst, a, .. }
        | Argmax { dst, a, .. }
        | Reshape { dst, a }
        | Transpose { dst, a, .. }
        | Mask { dst, a }
        | Open { dst, a } => (vec![*a], Some(*dst)),
        SumPool { dst, x, .. } | MaxPool { dst, x, .. } => (vec![*x], Some(*dst)),
        Slice {
            dst, a, dynamic, ..
        } => {
            let mut r = vec![*a];
            r.extend(dynamic.map(|d| d.1));
            (r, Some(*dst))
        }
        Concat { dst, parts, .. } => (parts.clone(), Some(*dst)),
        Output { a, .. } | Keep { a, .. } => (vec![*a], None),
        Load { dst, .. } => (vec![], Some(*dst)),
        Print { args, .. } => (args.clone(), None),
        If { cond, .. } => (vec![*cond], None),
        Loop { counter, .. } => (vec![], Some(*counter)),
        Round { .. } | EndLoop { .. } | Else { .. } | EndIf | Free { .. } => (vec![], None),
    }
}

/// Refuses a text to print that could do more than show itself on a terminal:
/// control characters (escape sequences, newlines), or more than 1000 characters.
pub fn check_text(text: &str) -> Result<(), String> {
    if text.chars().count() > 1000 {
        return Err("a text to print is longer than 1000 characters".into());
    }
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("a text to print holds the control character {c:?}")),
        None => Ok(()),
    }
}

/// Refuses a name that is not an identifier of at most 200 characters.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() <= 200
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "name {name:?} is not an identifier of at most 200 characters"
        ))
    }
}

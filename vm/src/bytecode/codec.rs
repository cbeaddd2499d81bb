//! Binary encoding and decoding of `.mpcb` files. Decoding never trusts a length
//! field: every count is checked against the bytes that remain before anything
//! is allocated, so a hostile file gets an error, never a panic or a huge allocation.

use super::*;
use crate::types::Elem;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed bytecode at byte {}: {}",
            self.offset, self.message
        )
    }
}

/// Bytes before the body: magic, version, ring, parties, hash (the last 32).
pub const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 32;

/// The content hash stored in the header: it covers every byte of the file
/// except itself (the header's first fields and the body).
pub fn content_hash(file: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&file[..HEADER_LEN - 32]);
    h.update(&file[HEADER_LEN..]);
    *h.finalize().as_bytes()
}
/// Largest tensor the format accepts (elements); keeps a corrupted shape from
/// requesting terabytes.
pub const MAX_ELEMENTS: usize = 1 << 32;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(n as u32);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn ty(&mut self, t: &TensorType) {
        self.u8(t.secret as u8);
        match t.elem {
            Elem::Int { bits } => {
                self.u8(0);
                self.u8(bits);
                self.u8(0)
            }
            Elem::Fix { frac, bits } => {
                self.u8(1);
                self.u8(bits);
                self.u8(frac)
            }
            Elem::Bit => {
                self.u8(2);
                self.u8(1);
                self.u8(0)
            }
        }
        self.shape(&t.shape);
    }
    fn shape(&mut self, s: &[usize]) {
        self.len(s.len());
        for &d in s {
            self.u64(d as u64);
        }
    }
    fn regs(&mut self, rs: &[u32]) {
        self.len(rs.len());
        for &r in rs {
            self.u32(r);
        }
    }
    fn pair(&mut self, p: [u32; 2]) {
        self.u32(p[0]);
        self.u32(p[1]);
    }
    fn padding(&mut self, p: Padding) {
        self.u8(match p {
            Padding::Same => 0,
            Padding::Valid => 1,
        });
    }
    fn axis(&mut self, a: Option<u32>) {
        self.u32(a.unwrap_or(u32::MAX));
    }
}

pub fn encode(p: &Program) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.len(p.manifest.len());
    for m in &p.manifest {
        w.u8(m.primitive as u8);
        w.len(m.params.len());
        for &x in &m.params {
            w.u64(x);
        }
        w.u64(m.count);
    }
    w.len(p.registers.len());
    for t in &p.registers {
        w.ty(t);
    }
    w.len(p.constants.len());
    for c in &p.constants {
        w.shape(&c.shape);
        for &x in &c.data {
            w.u64(x);
        }
    }
    w.len(p.inputs.len());
    for i in &p.inputs {
        w.u8(i.party);
        w.str(&i.name);
        w.ty(&i.ty);
    }
    w.len(p.outputs.len());
    for o in &p.outputs {
        w.u64(o.to.0);
        w.str(&o.name);
        w.ty(&o.ty);
    }
    w.len(p.shares.len());
    for s in &p.shares {
        w.u8(s.kept as u8);
        w.str(&s.name);
        w.ty(&s.ty);
    }
    w.len(p.code.len());
    for i in &p.code {
        encode_instr(&mut w, i);
    }
    w.len(p.texts.len());
    for t in &p.texts {
        w.str(t);
    }
    w.len(p.sources.len());
    for s in &p.sources {
        w.str(s);
    }
    w.len(p.locations.len());
    for &l in &p.locations {
        w.u32(l);
    }
    w.len(p.masked.len());
    for &m in &p.masked {
        w.u32(m);
    }
    let body = w.0;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(crate::types::RING_BITS);
    out.push(p.parties);
    out.extend_from_slice(&[0; 32]);
    out.extend_from_slice(&body);
    let hash = content_hash(&out);
    out[HEADER_LEN - 32..HEADER_LEN].copy_from_slice(&hash);
    out
}

fn encode_instr(w: &mut Writer, i: &Instr) {
    use Instr::*;
    w.u8(opcode(i));
    match i {
        Const { dst, index } => w.regs(&[*dst, *index]),
        Input { dst, input } => w.regs(&[*dst, *input]),
        Classify { dst, src } | Move { dst, src } => w.regs(&[*dst, *src]),
        Add { dst, a, b } | Sub { dst, a, b } | Div { dst, a, b } | Rem { dst, a, b } => {
            w.regs(&[*dst, *a, *b])
        }
        Neg { dst, a }
        | LtZ { dst, a }
        | EqZ { dst, a }
        | Relu { dst, a }
        | Reshape { dst, a }
        | Mask { dst, a }
        | Open { dst, a } => w.regs(&[*dst, *a]),
        Mul { dst, a, b } | MatMul { dst, a, b } => w.regs(&[*dst, *a, *b]),
        Conv2d {
            dst,
            x,
            w: f,
            stride,
            padding,
            depthwise,
        } => {
            w.regs(&[*dst, *x, *f]);
            w.pair(*stride);
            w.padding(*padding);
            w.u8(*depthwise as u8);
        }
        Shl { dst, a, amount } => {
            w.regs(&[*dst, *a]);
            w.u8(*amount);
        }
        Trunc {
            dst,
            a,
            amount,
            exact,
        } => {
            w.regs(&[*dst, *a]);
            w.u8(*amount);
            w.u8(*exact as u8);
        }
        Sum { dst, a, axis } | Max { dst, a, axis } => {
            w.regs(&[*dst, *a]);
            w.axis(*axis);
        }
        Argmax { dst, a, axis } => {
            w.regs(&[*dst, *a]);
            w.u32(*axis);
        }
        SumPool {
            dst,
            x,
            window,
            stride,
            padding,
        }
        | MaxPool {
            dst,
            x,
            window,
            stride,
            padding,
        } => {
            w.regs(&[*dst, *x]);
            w.pair(*window);
            w.pair(*stride);
            w.padding(*padding);
        }
        Transpose { dst, a, perm } => {
            w.regs(&[*dst, *a]);
            w.regs(perm);
        }
        Slice {
            dst,
            a,
            starts,
            dynamic,
        } => {
            w.regs(&[*dst, *a]);
            w.regs(starts);
            match dynamic {
                None => w.u8(0),
                Some((axis, r)) => {
                    w.u8(1);
                    w.pair([*axis, *r]);
                }
            }
        }
        Concat { dst, axis, parts } => {
            w.regs(&[*dst, *axis]);
            w.regs(parts);
        }
        Output { output, a } => w.regs(&[*output, *a]),
        Keep { share, a } => w.regs(&[*share, *a]),
        Load { dst, share } => w.regs(&[*dst, *share]),
        Print { text, args } => {
            w.u32(*text);
            w.regs(args);
        }
        Round { len } => w.u32(*len),
        Loop {
            counter,
            lo,
            hi,
            end,
        } => {
            w.u32(*counter);
            w.u64(*lo as u64);
            w.u64(*hi as u64);
            w.u32(*end);
        }
        EndLoop { begin } => w.u32(*begin),
        If { cond, else_at } => w.pair([*cond, *else_at]),
        Else { end } => w.u32(*end),
        EndIf => {}
        Free { regs } => w.regs(regs),
    }
}

fn opcode(i: &Instr) -> u8 {
    use Instr::*;
    match i {
        Const { .. } => 1,
        Input { .. } => 2,
        Classify { .. } => 3,
        Move { .. } => 4,
        Add { .. } => 5,
        Sub { .. } => 6,
        Neg { .. } => 7,
        Mul { .. } => 8,
        MatMul { .. } => 9,
        Conv2d { .. } => 10,
        Div { .. } => 11,
        Rem { .. } => 12,
        Shl { .. } => 13,
        Trunc { .. } => 14,
        LtZ { .. } => 15,
        EqZ { .. } => 16,
        Relu { .. } => 17,
        Sum { .. } => 18,
        Max { .. } => 19,
        Argmax { .. } => 20,
        SumPool { .. } => 21,
        MaxPool { .. } => 22,
        Reshape { .. } => 23,
        Transpose { .. } => 24,
        Slice { .. } => 25,
        Concat { .. } => 26,
        Open { .. } => 27,
        Output { .. } => 28,
        Round { .. } => 29,
        Loop { .. } => 30,
        EndLoop { .. } => 31,
        If { .. } => 32,
        Else { .. } => 33,
        EndIf => 34,
        Free { .. } => 35,
        Print { .. } => 36,
        Keep { .. } => 37,
        Load { .. } => 38,
        Mask { .. } => 39,
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

type R<T> = Result<T, DecodeError>;

impl<'a> Reader<'a> {
    fn err<T>(&self, message: impl Into<String>) -> R<T> {
        Err(DecodeError {
            offset: self.at,
            message: message.into(),
        })
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if self.bytes.len() - self.at < n {
            return self.err(format!(
                "file ends early: {} more bytes expected, {} left",
                n,
                self.bytes.len() - self.at
            ));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    /// A count of items that each take at least `min_item_bytes`.
    fn len(&mut self, min_item_bytes: usize) -> R<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes.max(1)) > self.bytes.len() - self.at {
            return self.err(format!("count {n} exceeds the rest of the file"));
        }
        Ok(n)
    }
    fn bool(&mut self) -> R<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => self.err(format!("flag must be 0 or 1, found {b}")),
        }
    }
    fn str(&mut self) -> R<String> {
        let n = self.len(1)?;
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err("a name is not UTF-8"),
        }
    }
    fn shape(&mut self) -> R<Vec<usize>> {
        let n = self.len(8)?;
        if n > 8 {
            return self.err(format!("rank {n} exceeds the maximum of 8"));
        }
        let mut s = Vec::with_capacity(n);
        let mut total: usize = 1;
        for _ in 0..n {
            let d = self.u64()?;
            total = match usize::try_from(d).ok().and_then(|d| total.checked_mul(d)) {
                Some(t) if t <= MAX_ELEMENTS => t,
                _ => return self.err(format!("tensor larger than {MAX_ELEMENTS} elements")),
            };
            s.push(d as usize);
        }
        Ok(s)
    }
    fn ty(&mut self) -> R<TensorType> {
        let secret = self.bool()?;
        let (kind, bits, frac) = (self.u8()?, self.u8()?, self.u8()?);
        if bits == 0 || bits > 64 || frac >= bits.max(1) && kind == 1 {
            return self.err(format!(
                "invalid bit length {bits} / fractional bits {frac}"
            ));
        }
        let elem = match kind {
            0 => Elem::Int { bits },
            1 => Elem::Fix { frac, bits },
            2 => Elem::Bit,
            k => return self.err(format!("unknown element kind {k}")),
        };
        Ok(TensorType {
            secret,
            elem,
            shape: self.shape()?,
        })
    }
    fn regs(&mut self) -> R<Vec<u32>> {
        let n = self.len(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
    fn fixed_regs<const N: usize>(&mut self) -> R<[u32; N]> {
        let v = self.regs()?;
        match v.try_into() {
            Ok(a) => Ok(a),
            Err(v) => self.err(format!(
                "instruction has {} operands, expected {N}",
                v.len()
            )),
        }
    }
    fn pair(&mut self) -> R<[u32; 2]> {
        Ok([self.u32()?, self.u32()?])
    }
    fn padding(&mut self) -> R<Padding> {
        match self.u8()? {
            0 => Ok(Padding::Same),
            1 => Ok(Padding::Valid),
            p => self.err(format!("unknown padding {p}")),
        }
    }
    fn axis(&mut self) -> R<Option<u32>> {
        Ok(match self.u32()? {
            u32::MAX => None,
            a => Some(a),
        })
    }
}

pub fn decode(bytes: &[u8]) -> R<Program> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4.min(bytes.len()))? != MAGIC {
        return Err(DecodeError {
            offset: 0,
            message: "not an mpcc bytecode file (bad magic; expected MPCB)".into(),
        });
    }
    let version = u16::from_le_bytes(r.take(2)?.try_into().unwrap());
    if version != FORMAT_VERSION {
        return r.err(format!("format version {version}; this mpcvm reads version {FORMAT_VERSION}: recompile with a matching mpcc"));
    }
    let ring = r.u8()?;
    if ring != crate::types::RING_BITS {
        return r.err(format!(
            "ring Z_2^{ring} is not supported; this mpcvm computes in Z_2^64"
        ));
    }
    let parties = r.u8()?;
    if parties == 0 {
        return r.err("program declares no parties");
    }
    let hash = r.take(32)?;
    if content_hash(bytes) != hash {
        return r
            .err("content hash mismatch: the file is corrupted or was modified after compilation");
    }
    let mut manifest = Vec::new();
    for _ in 0..r.len(13)? {
        let code = r.u8()?;
        let Some(primitive) = Primitive::from_code(code) else {
            return r.err(format!("unknown preprocessing primitive {code}"));
        };
        let params = (0..r.len(8)?).map(|_| r.u64()).collect::<R<Vec<_>>>()?;
        manifest.push(ManifestEntry {
            primitive,
            params,
            count: r.u64()?,
        });
    }
    let registers = (0..r.len(12)?).map(|_| r.ty()).collect::<R<Vec<_>>>()?;
    let mut constants = Vec::new();
    for _ in 0..r.len(4)? {
        let shape = r.shape()?;
        let n: usize = shape.iter().product();
        if n.saturating_mul(8) > bytes.len() - r.at {
            return r.err("constant larger than the rest of the file");
        }
        let data = (0..n).map(|_| r.u64()).collect::<R<Vec<_>>>()?;
        constants.push(RingTensor::new(shape, data));
    }
    let mut inputs = Vec::new();
    for _ in 0..r.len(10)? {
        inputs.push(InputDecl {
            party: r.u8()?,
            name: r.str()?,
            ty: r.ty()?,
        });
    }
    let mut outputs = Vec::new();
    for _ in 0..r.len(16)? {
        outputs.push(OutputDecl {
            to: PartySet(r.u64()?),
            name: r.str()?,
            ty: r.ty()?,
        });
    }
    let mut shares = Vec::new();
    for _ in 0..r.len(10)? {
        let kept = match r.u8()? {
            0 => false,
            1 => true,
            k => return r.err(format!("share kind {k}")),
        };
        shares.push(ShareDecl {
            kept,
            name: r.str()?,
            ty: r.ty()?,
        });
    }
    let mut code = Vec::new();
    for _ in 0..r.len(1)? {
        code.push(decode_instr(&mut r)?);
    }
    let texts = (0..r.len(4)?).map(|_| r.str()).collect::<R<Vec<_>>>()?;
    let sources = (0..r.len(4)?).map(|_| r.str()).collect::<R<Vec<_>>>()?;
    let n = r.len(4)?;
    if n != 0 && n != code.len() {
        return r.err(format!(
            "{n} source locations for {} instructions",
            code.len()
        ));
    }
    let mut locations = Vec::with_capacity(n);
    for _ in 0..n {
        let l = r.u32()?;
        if l != NO_SOURCE && l as usize >= sources.len() {
            return r.err(format!("source location {l} of {}", sources.len()));
        }
        locations.push(l);
    }
    let mut masked: Vec<u32> = Vec::new();
    for _ in 0..r.len(4)? {
        let m = r.u32()?;
        if m as usize >= code.len() || masked.last().is_some_and(|&before| m <= before) {
            return r.err(format!(
                "masked instruction {m}: not increasing or not among {} instructions",
                code.len()
            ));
        }
        masked.push(m);
    }
    if r.at != bytes.len() {
        return r.err(format!("{} bytes of trailing garbage", bytes.len() - r.at));
    }
    Ok(Program {
        parties,
        manifest,
        registers,
        constants,
        inputs,
        outputs,
        shares,
        code,
        texts,
        sources,
        locations,
        masked,
    })
}

fn decode_instr(r: &mut Reader) -> R<Instr> {
    use Instr::*;
    let op = r.u8()?;
    Ok(match op {
        1 => {
            let [dst, index] = r.fixed_regs()?;
            Const { dst, index }
        }
        2 => {
            let [dst, input] = r.fixed_regs()?;
            Input { dst, input }
        }
        3 | 4 | 7 | 15 | 16 | 17 | 23 | 27 | 39 => {
            let [dst, a] = r.fixed_regs()?;
            match op {
                3 => Classify { dst, src: a },
                4 => Move { dst, src: a },
                7 => Neg { dst, a },
                15 => LtZ { dst, a },
                16 => EqZ { dst, a },
                17 => Relu { dst, a },
                23 => Reshape { dst, a },
                39 => Mask { dst, a },
                _ => Open { dst, a },
            }
        }
        5 | 6 | 11 | 12 => {
            let [dst, a, b] = r.fixed_regs()?;
            match op {
                5 => Add { dst, a, b },
                6 => Sub { dst, a, b },
                11 => Div { dst, a, b },
                _ => Rem { dst, a, b },
            }
        }
        8 | 9 => {
            let [dst, a, b] = r.fixed_regs()?;
            if op == 8 {
                Mul { dst, a, b }
            } else {
                MatMul { dst, a, b }
            }
        }
        10 => {
            let [dst, x, w] = r.fixed_regs()?;
            Conv2d {
                dst,
                x,
                w,
                stride: r.pair()?,
                padding: r.padding()?,
                depthwise: r.bool()?,
            }
        }
        13 => {
            let [dst, a] = r.fixed_regs()?;
            Shl {
                dst,
                a,
                amount: r.u8()?,
            }
        }
        14 => {
            let [dst, a] = r.fixed_regs()?;
            Trunc {
                dst,
                a,
                amount: r.u8()?,
                exact: r.bool()?,
            }
        }
        18 | 19 => {
            let [dst, a] = r.fixed_regs()?;
            let axis = r.axis()?;
            if op == 18 {
                Sum { dst, a, axis }
            } else {
                Max { dst, a, axis }
            }
        }
        20 => {
            let [dst, a] = r.fixed_regs()?;
            Argmax {
                dst,
                a,
                axis: r.u32()?,
            }
        }
        21 | 22 => {
            let [dst, x] = r.fixed_regs()?;
            let (window, stride, padding) = (r.pair()?, r.pair()?, r.padding()?);
            if op == 21 {
                SumPool {
                    dst,
                    x,
                    window,
                    stride,
                    padding,
                }
            } else {
                MaxPool {
                    dst,
                    x,
                    window,
                    stride,
                    padding,
                }
            }
        }
        24 => {
            let [dst, a] = r.fixed_regs()?;
            Transpose {
                dst,
                a,
                perm: r.regs()?,
            }
        }
        25 => {
            let [dst, a] = r.fixed_regs()?;
            let starts = r.regs()?;
            let dynamic = if r.bool()? {
                let [axis, reg] = r.pair()?;
                Some((axis, reg))
            } else {
                None
            };
            Slice {
                dst,
                a,
                starts,
                dynamic,
            }
        }
        26 => {
            let [dst, axis] = r.fixed_regs()?;
            Concat {
                dst,
                axis,
                parts: r.regs()?,
            }
        }
        28 => {
            let [output, a] = r.fixed_regs()?;
            Output { output, a }
        }
        29 => Round { len: r.u32()? },
        30 => Loop {
            counter: r.u32()?,
            lo: r.u64()? as i64,
            hi: r.u64()? as i64,
            end: r.u32()?,
        },
        31 => EndLoop { begin: r.u32()? },
        32 => {
            let [cond, else_at] = r.pair()?;
            If { cond, else_at }
        }
        33 => Else { end: r.u32()? },
        34 => EndIf,
        35 => Free { regs: r.regs()? },
        36 => Print {
            text: r.u32()?,
            args: r.regs()?,
        },
        37 => {
            let [share, a] = r.fixed_regs()?;
            Keep { share, a }
        }
        38 => {
            let [dst, share] = r.fixed_regs()?;
            Load { dst, share }
        }
        _ => return r.err(format!("unknown opcode {op}")),
    })
}

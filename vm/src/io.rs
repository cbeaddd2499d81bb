//! Input and output files: `.npy` tensors (and raw-byte inputs) converted to and
//! from ring elements, with every mismatch (shape, dtype, range, missing file)
//! reported by name.

use crate::bytecode::Program;
use crate::ring::{signed_bits, RingTensor};
use crate::types::{Elem, TensorType};
use crate::VmError;
use npyz::{DType, TypeChar};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

/// A number as a file stores it, before conversion to the ring.
#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

/// Decodes a chunk of whole stored elements of one dtype, appending them to
/// `out` as ring elements.
type Decode = fn(&[u8], &Encoder, &mut Vec<u64>) -> Result<(), String>;

/// [`Decode`] for elements of `W` bytes read by `number` (inlined per dtype).
fn decode_chunk<const W: usize>(
    bytes: &[u8],
    encoder: &Encoder,
    out: &mut Vec<u64>,
    number: impl Fn([u8; W]) -> Result<Number, String>,
) -> Result<(), String> {
    for element in bytes.chunks_exact(W) {
        let n = number(element.try_into().expect("W bytes"))?;
        let e = encoder.encode(out.len(), n)?;
        out.push(e);
    }
    Ok(())
}

/// The decoder of a plain dtype, if the VM reads it.
fn decoder(ts: &npyz::TypeStr) -> Option<Decode> {
    use npyz::Endianness::Big;
    macro_rules! plain {
        ($t:ty, $kind:ident, $as:ty) => {
            if ts.endianness() == Big {
                |b, e, o| {
                    decode_chunk(b, e, o, |c| {
                        Ok(Number::$kind(<$t>::from_be_bytes(c) as $as))
                    })
                }
            } else {
                |b, e, o| {
                    decode_chunk(b, e, o, |c| {
                        Ok(Number::$kind(<$t>::from_le_bytes(c) as $as))
                    })
                }
            }
        };
    }
    Some(match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 8) => plain!(f64, Float, f64),
        (TypeChar::Float, 4) => plain!(f32, Float, f64),
        (TypeChar::Int, 1) => plain!(i8, Int, i128),
        (TypeChar::Int, 2) => plain!(i16, Int, i128),
        (TypeChar::Int, 4) => plain!(i32, Int, i128),
        (TypeChar::Int, 8) => plain!(i64, Int, i128),
        (TypeChar::Uint, 1) => plain!(u8, Int, i128),
        (TypeChar::Uint, 2) => plain!(u16, Int, i128),
        (TypeChar::Uint, 4) => plain!(u32, Int, i128),
        (TypeChar::Uint, 8) => plain!(u64, Int, i128),
        (TypeChar::Bool, 1) => |b, e, o| {
            decode_chunk(b, e, o, |[c]: [u8; 1]| match c {
                0 | 1 => Ok(Number::Int(c as i128)),
                c => Err(format!("a boolean is stored as {c}, not 0 or 1")),
            })
        },
        _ => return None,
    })
}

/// An input file, read as ring elements of its declared type a row at a time:
/// all of it for an input read once, the next row on each iteration for one
/// read inside loops. Opening checks the header (or a raw file's length)
/// against the whole declared type before anything is allocated; the data is
/// decoded as it streams in, a chunk at a time.
pub struct InputReader {
    reader: std::io::BufReader<std::fs::File>,
    decode: Decode,
    /// Bytes per stored element.
    size: usize,
    encoder: Encoder,
    path: PathBuf,
    rows_read: usize,
}

impl InputReader {
    pub fn open(path: &Path, ty: &TensorType) -> Result<InputReader, String> {
        let (reader, decode, size) = if is_raw_bytes(path) {
            open_raw_bytes(path, ty)?
        } else {
            open_npy(path, ty)?
        };
        Ok(InputReader {
            reader,
            decode,
            size,
            encoder: Encoder::new(ty.elem),
            path: path.to_path_buf(),
            rows_read: 0,
        })
    }

    /// The next row of `n` elements.
    pub fn next_row(&mut self, n: usize) -> Result<Vec<u64>, String> {
        const CHUNK: usize = 8192;
        let path = self.path.display();
        let row = match self.rows_read {
            0 => String::new(),
            r => format!(" (row {r})"),
        };
        let mut buf = vec![0u8; CHUNK.min(n) * self.size];
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let bytes = &mut buf[..(n - out.len()).min(CHUNK) * self.size];
            self.reader
                .read_exact(bytes)
                .map_err(|e| format!("cannot read the data of {path}{row}: {e}"))?;
            (self.decode)(bytes, &self.encoder, &mut out)
                .map_err(|e| format!("{path}{row}: {e}"))?;
        }
        self.rows_read += 1;
        Ok(out)
    }
}

/// Opens a `.npy` file whose header announces the shape of `ty`, a dtype the VM
/// reads and no more data than the file holds after it: the reader at the data,
/// its decoder and element size.
fn open_npy(
    path: &Path,
    ty: &TensorType,
) -> Result<(std::io::BufReader<std::fs::File>, Decode, usize), String> {
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let file_len = file.metadata().map_err(cannot)?.len();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let header = npyz::NpyHeader::from_reader(&mut reader)
        .map_err(|e| format!("{} is not a valid .npy file: {e}", path.display()))?;
    if header.order() == npyz::Order::Fortran {
        return Err(format!(
            "{} is stored in Fortran order; save it in C order (numpy.ascontiguousarray)",
            path.display()
        ));
    }
    let shape: Vec<usize> = header.shape().iter().map(|&d| d as usize).collect();
    if shape != ty.shape {
        return Err(format!(
            "{} has shape {shape:?}, but the program declares {ty}",
            path.display()
        ));
    }
    let DType::Plain(ts) = header.dtype() else {
        return Err(format!(
            "{} holds a structured array; expected plain numbers",
            path.display()
        ));
    };
    let Some(decode) = decoder(&ts) else {
        return Err(format!(
            "{} has dtype {ts}; expected integers, floats or booleans",
            path.display()
        ));
    };
    let size = ts.size_field() as usize;
    let announced = (ty.len() as u64).saturating_mul(size as u64);
    let held = file_len.saturating_sub(reader.stream_position().map_err(cannot)?);
    if announced > held {
        return Err(format!(
            "{} announces {announced} bytes of data but holds {held} after its header: it is truncated or corrupt",
            path.display()
        ));
    }
    Ok((reader, decode, size))
}

/// `x` rounded to the nearest integer, halves away from zero (as `f64::round`,
/// without its library call), and whether `x` is an integer; `x` is finite.
fn nearest(x: f64) -> (i128, bool) {
    if x.abs() < 4611686018427387904.0 {
        // 2^62: the truncation below is exact
        let t = x as i64;
        let rest = x - t as f64;
        let rounded = t + (rest >= 0.5) as i64 - (rest <= -0.5) as i64;
        (rounded as i128, rest == 0.0)
    } else {
        (x as i128, true) // an integer already
    }
}

/// Converts numbers to ring elements of one kind, checking each against its range.
struct Encoder {
    elem: Elem,
    lo: i128,
    hi: i128,
    scale: f64,
}

impl Encoder {
    fn new(elem: Elem) -> Encoder {
        let bits = elem.bits();
        let (lo, hi) = match elem {
            Elem::Bit => (0i128, 2i128),
            // 64-bit integers also accept unsigned values: they are ring elements as they are.
            Elem::Int { bits: 64 } => (-(1i128 << 63), 1i128 << 64),
            _ => (-(1i128 << (bits - 1)), 1i128 << (bits - 1)),
        };
        Encoder {
            elem,
            lo,
            hi,
            scale: (1u64 << elem.frac()) as f64,
        }
    }

    /// Element `i`, `number`, as a ring element.
    #[inline]
    fn encode(&self, i: usize, number: Number) -> Result<u64, String> {
        /// Magnitude from which a scaled value cannot be in any type's range.
        const HUGE: f64 = 1.2676506002282294e30; // 2^100
        let v = match number {
            Number::Int(x) => x << self.elem.frac(),
            Number::Float(x) => {
                let scaled = x * self.scale;
                // One test for infinities, NaN and huge values (NaN compares false).
                if !(scaled.abs() < HUGE) {
                    return Err(self.refuse(i, number));
                }
                let (v, integral) = nearest(scaled);
                if self.elem.frac() == 0 && !integral {
                    return Err(self.refuse(i, number));
                }
                v
            }
        };
        if v < self.lo || v >= self.hi {
            return Err(format!(
                "element {i} is {v} in the ring encoding, outside the range [{}, {}) of {}",
                self.lo, self.hi, self.elem
            ));
        }
        Ok(v as u64)
    }

    /// Why float element `i` is refused before its range is checked.
    #[cold]
    fn refuse(&self, i: usize, number: Number) -> String {
        let elem = self.elem;
        match number {
            Number::Float(x)
                if x.is_finite()
                    && (x * self.scale).is_finite()
                    && elem.frac() == 0
                    && x.fract() != 0.0 =>
            {
                format!("element {i} is {x}, not a value of {elem}")
            }
            Number::Float(x) if x.is_finite() => {
                format!("element {i} is {x}, outside the range of {elem}")
            }
            Number::Float(x) => format!("element {i} is {x}, not a value of {elem}"),
            Number::Int(x) => format!("element {i} is {x}, outside the range of {elem}"),
        }
    }
}

/// Encodes numbers as a tensor of type `ty`, with the same checks as for input files.
pub fn encode_f64(data: &[f64], ty: &TensorType) -> Result<RingTensor, VmError> {
    if data.len() != ty.len() {
        return Err(VmError::Input(format!(
            "{} values given for {ty}",
            data.len()
        )));
    }
    let encoder = Encoder::new(ty.elem);
    let ring = data
        .iter()
        .enumerate()
        .map(|(i, &x)| encoder.encode(i, Number::Float(x)))
        .collect::<Result<_, _>>()
        .map_err(VmError::Input)?;
    Ok(RingTensor::new(ty.shape.clone(), ring))
}

/// Whether `path` names a raw-bytes input (`.bin` or `.raw`): one byte per
/// element in row-major order, as images and other 8-bit data are often kept.
fn is_raw_bytes(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("bin" | "raw")
    )
}

/// Opens raw bytes as the values of a tensor of type `ty`: two's complement
/// bytes (-128 to 127) for an 8-bit integer type, which holds no larger value,
/// unsigned bytes (0 to 255) otherwise.
fn open_raw_bytes(
    path: &Path,
    ty: &TensorType,
) -> Result<(std::io::BufReader<std::fs::File>, Decode, usize), String> {
    check_raw_length(path, ty)?;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let decode: Decode = if ty.elem == (Elem::Int { bits: 8 }) {
        |b, e, o| decode_chunk(b, e, o, |[c]: [u8; 1]| Ok(Number::Int(c as i8 as i128)))
    } else {
        |b, e, o| decode_chunk(b, e, o, |[c]: [u8; 1]| Ok(Number::Int(c as i128)))
    };
    Ok((std::io::BufReader::with_capacity(1 << 16, file), decode, 1))
}

/// Refuses a raw-bytes file that does not hold one byte per element of `ty`.
fn check_raw_length(path: &Path, ty: &TensorType) -> Result<(), String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    let shape = &ty.shape;
    if len != ty.len() as u64 {
        return Err(format!(
            "{} holds {len} bytes, but the program declares {} elements of shape {shape:?} (raw inputs are one byte per element)",
            path.display(),
            ty.len()
        ));
    }
    Ok(())
}

/// Reads one input of type `ty` from a `.npy` file or a raw-bytes file.
pub fn read_input(path: &Path, ty: &TensorType, name: &str) -> Result<RingTensor, VmError> {
    let data = InputReader::open(path, ty)
        .and_then(|mut r| r.next_row(ty.len()))
        .map_err(|e| VmError::Input(format!("input '{name}': {e}")))?;
    Ok(RingTensor::new(ty.shape.clone(), data))
}

/// Where one party's inputs come from: a single `.npy` file (for a party with
/// one input) or a directory with `<name>.npy` for each of its inputs.
pub fn party_input_paths(
    program: &Program,
    party: usize,
    path: &Path,
) -> Result<Vec<(usize, PathBuf)>, VmError> {
    let mine: Vec<usize> = (0..program.inputs.len())
        .filter(|&i| program.inputs[i].party as usize == party)
        .collect();
    if path.is_dir() {
        let files: Vec<(usize, PathBuf)> = mine
            .iter()
            .map(|&i| Ok((i, npy_file(path, &program.inputs[i].name)?)))
            .collect::<Result<_, VmError>>()?;
        // A stale file (of another model, say) is not silently ignored.
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "npy") && !files.iter().any(|(_, f)| *f == p)
                {
                    eprintln!(
                        "warning: {} is not an input of party {party} in this program; it is not read",
                        p.display()
                    );
                }
            }
        }
        return Ok(files);
    }
    match mine.as_slice() {
        [one] => Ok(vec![(*one, path.to_path_buf())]),
        [] => Err(VmError::Input(format!(
            "party {party} has no inputs in this program, but {} was given",
            path.display()
        ))),
        many => {
            let names: Vec<&str> = many
                .iter()
                .map(|&i| program.inputs[i].name.as_str())
                .collect();
            Err(VmError::Input(format!(
                "party {party} has {} inputs ({}); pass a directory holding {}",
                many.len(),
                names.join(", "),
                names
                    .iter()
                    .map(|n| format!("{n}.npy"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// Checks the inputs in `given` (`--input P=PATH`), which must hold every input of
/// the parties in `needed`, without reading the data: every file exists and its header
/// (or a raw file's length) fits its declared type. Values are checked as a
/// party reads them.
pub fn check_inputs(
    program: &Program,
    given: &[(usize, PathBuf)],
    needed: &[usize],
) -> Result<(), VmError> {
    each_input(program, given, needed, &mut |i, file| {
        let decl = &program.inputs[i];
        InputReader::open(file, &decl.ty)
            .map(|_| ())
            .map_err(|e| VmError::Input(format!("input '{}': {e}", decl.name)))
    })
}

/// Calls `visit` with each input given for a party (its index and file), after
/// checking the `--input` flags, and refuses an input of a party in `needed`
/// that is missing.
pub(crate) fn each_input(
    program: &Program,
    given: &[(usize, PathBuf)],
    needed: &[usize],
    visit: &mut dyn FnMut(usize, &Path) -> Result<(), VmError>,
) -> Result<(), VmError> {
    let mut found = vec![false; program.inputs.len()];
    for (i, (party, path)) in given.iter().enumerate() {
        if *party >= program.parties as usize {
            return Err(VmError::Usage(format!(
                "--input {party}={}: the program has parties 0 to {} only",
                path.display(),
                program.parties - 1
            )));
        }
        if given[..i].iter().any(|(q, _)| q == party) {
            return Err(VmError::Usage(format!(
                "--input for party {party} is given twice: pass one file, or one directory holding all of its inputs"
            )));
        }
        for (i, file) in party_input_paths(program, *party, path)? {
            visit(i, &file)?;
            found[i] = true;
        }
    }
    if let Some(decl) = program
        .inputs
        .iter()
        .zip(&found)
        .find_map(|(d, &f)| (!f && needed.contains(&(d.party as usize))).then_some(d))
    {
        let p = decl.party;
        return Err(VmError::Usage(format!(
            "party {p}'s input '{}' ({}) is missing: add --input {p}={}.npy (or --input {p}=DIR, a directory holding {}.npy)",
            decl.name,
            decl.ty,
            decl.name,
            decl.name
        )));
    }
    Ok(())
}

/// The integer a ring element of kind `elem` stands for (bits are 0 or 1, not signed).
fn integer(x: u64, elem: Elem) -> i64 {
    match elem {
        Elem::Bit => (x & 1) as i64,
        _ => signed_bits(x, elem.bits()),
    }
}

/// Ring elements of kind `elem` as the numbers they stand for.
pub fn decode_f64(t: &RingTensor, elem: Elem) -> Vec<f64> {
    let scale = (1u64 << elem.frac()) as f64;
    t.data
        .iter()
        .map(|&x| integer(x, elem) as f64 / scale)
        .collect()
}

/// Writes an output: fixed-point values as float64, integers and bits as int64.
pub fn write_output(path: &Path, t: &RingTensor, ty: &TensorType) -> Result<(), VmError> {
    let mut w = OutputWriter::create(path, ty, 0)?;
    w.write_row(t)?;
    Ok(())
}

/// An output file written as its rows come: fixed-point values as float64,
/// integers and bits as int64. After each row the header is rewritten in place
/// (it keeps one length), so the file is a valid `.npy` of the rows so far at
/// every moment: while a loop runs its first axis counts them, and once every
/// row is in it has the declared shape.
pub struct OutputWriter {
    file: std::fs::File,
    path: PathBuf,
    ty: TensorType,
    /// The row shape, and how many rows the declared shape holds.
    row_shape: Vec<usize>,
    rows: usize,
    written: usize,
    header_len: usize,
}

impl OutputWriter {
    /// Creates the file of an output of type `ty` whose first `leading` axes
    /// count rows (the loops around its `reveal`); it starts with no rows.
    pub fn create(path: &Path, ty: &TensorType, leading: usize) -> Result<OutputWriter, VmError> {
        let file = std::fs::File::create(path)
            .map_err(|e| VmError::Io(format!("cannot write {}: {e}", path.display())))?;
        let rows = ty.shape[..leading].iter().product();
        let row_shape = ty.shape[leading..].to_vec();
        let mut counted = vec![rows];
        counted.extend_from_slice(&row_shape);
        let header_len = npy_header(ty.elem, &ty.shape, 0)
            .len()
            .max(npy_header(ty.elem, &counted, 0).len());
        let mut w = OutputWriter {
            file,
            path: path.to_path_buf(),
            ty: ty.clone(),
            row_shape,
            rows,
            written: 0,
            header_len,
        };
        if leading > 0 {
            w.write_header()?;
        }
        Ok(w)
    }

    fn io(&self, e: std::io::Error) -> VmError {
        VmError::Io(format!("cannot write {}: {e}", self.path.display()))
    }

    fn write_header(&mut self) -> Result<(), VmError> {
        use std::io::{SeekFrom, Write};
        let shape = if self.written == self.rows {
            self.ty.shape.clone()
        } else {
            let mut s = vec![self.written];
            s.extend_from_slice(&self.row_shape);
            s
        };
        let header = npy_header(self.ty.elem, &shape, self.header_len);
        let at = self.file.stream_position().map_err(|e| self.io(e))?;
        self.file
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.file.write_all(&header))
            .map_err(|e| self.io(e))?;
        if at > header.len() as u64 {
            self.file
                .seek(SeekFrom::Start(at))
                .map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Appends the next row and makes it visible in the header.
    pub fn write_row(&mut self, row: &RingTensor) -> Result<(), VmError> {
        use std::io::Write;
        if self.written == self.rows || row.shape != self.row_shape {
            return Err(VmError::Io(format!(
                "{}: row {} of shape {:?} does not fit {}",
                self.path.display(),
                self.written,
                row.shape,
                self.ty
            )));
        }
        let bytes: Vec<u8> = match self.ty.elem {
            Elem::Fix { .. } => decode_f64(row, self.ty.elem)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            elem => row
                .data
                .iter()
                .flat_map(|&x| integer(x, elem).to_le_bytes())
                .collect(),
        };
        if self.written == 0 && self.file.stream_position().map_err(|e| self.io(e))? == 0 {
            self.write_header()?;
        }
        self.file.write_all(&bytes).map_err(|e| self.io(e))?;
        self.written += 1;
        self.write_header()
    }

    /// Rows still to come.
    pub fn missing(&self) -> usize {
        self.rows - self.written
    }
}

/// A `.npy` version 1.0 header for little-endian float64 (fixed point) or
/// int64 values of `shape`, padded with spaces to `len` bytes (at least its
/// own length, rounded up to a multiple of 64).
fn npy_header(elem: Elem, shape: &[usize], len: usize) -> Vec<u8> {
    let descr = if matches!(elem, Elem::Fix { .. }) {
        "<f8"
    } else {
        "<i8"
    };
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let own = (10 + dict.len() + 1).div_ceil(64) * 64;
    let total = own.max(len);
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// A short human-readable rendering of an output value: its first 16 elements
/// in row-major order, and the shape when the tensor has more than one axis.
pub fn render(t: &RingTensor, ty: &TensorType) -> String {
    let items: Vec<String> = match ty.elem {
        // As many decimals as the type resolves: f bits are f log10(2) digits.
        Elem::Fix { frac, .. } => {
            let digits = (frac as f64 * std::f64::consts::LOG10_2).ceil() as usize;
            decode_f64(t, ty.elem)
                .iter()
                .take(16)
                .map(|v| format!("{v:.digits$}"))
                .collect()
        }
        _ => t
            .data
            .iter()
            .take(16)
            .map(|&x| integer(x, ty.elem).to_string())
            .collect(),
    };
    let more = if t.len() > 16 { ", ..." } else { "" };
    match ty.shape.len() {
        0 => items.join(""),
        1 => format!("[{}{more}]", items.join(", ")),
        _ => format!("[{}{more}] of shape {:?}", items.join(", "), ty.shape),
    }
}

/// `<dir>/<name>.npy`, for a name that is an identifier (the verifier admits no
/// other), so the file is always inside `dir`.
pub fn npy_file(dir: &Path, name: &str) -> Result<PathBuf, VmError> {
    crate::bytecode::check_name(name).map_err(VmError::Usage)?;
    Ok(dir.join(format!("{name}.npy")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file's shape and values, as numpy would read them.
    fn read_back(path: &Path) -> (Vec<u64>, Vec<f64>) {
        let bytes = std::fs::read(path).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        let shape = npy.shape().to_vec();
        let values = match npy.dtype() {
            DType::Plain(t) if t.type_char() == TypeChar::Float => npy.into_vec::<f64>().unwrap(),
            _ => npy
                .into_vec::<i64>()
                .unwrap()
                .into_iter()
                .map(|v| v as f64)
                .collect(),
        };
        (shape, values)
    }

    #[test]
    fn an_output_written_row_by_row_is_a_valid_npy_of_the_rows_so_far_at_every_moment() {
        let dir = std::env::temp_dir().join(format!("mpcvm-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("loss.npy");
        // Two nested loops of 3 and 2 iterations around a reveal of a [2] fixed-point value.
        let ty = TensorType::new(false, Elem::Fix { frac: 2, bits: 20 }, vec![3, 2, 2]);
        let mut w = OutputWriter::create(&path, &ty, 2).unwrap();
        assert_eq!(read_back(&path), (vec![0, 2], vec![]));
        let mut want = Vec::new();
        for k in 0..6u64 {
            let row = RingTensor::new(vec![2], vec![4 * k + 1, (-(k as i64) as u64) << 1]);
            w.write_row(&row).unwrap();
            want.extend([k as f64 + 0.25, -(k as f64) / 2.0]);
            let shape = if k == 5 {
                vec![3, 2, 2]
            } else {
                vec![k + 1, 2]
            };
            assert_eq!(read_back(&path), (shape, want.clone()), "after row {k}");
        }
        assert_eq!(w.missing(), 0);
        assert!(w.write_row(&RingTensor::new(vec![2], vec![0, 0])).is_err());
        // An integer output written once, as outside loops.
        let ints = TensorType::new(false, Elem::Int { bits: 8 }, vec![2, 2]);
        write_output(
            &path,
            &RingTensor::new(vec![2, 2], vec![1, 2, 3, u64::MAX]),
            &ints,
        )
        .unwrap();
        assert_eq!(read_back(&path), (vec![2, 2], vec![1.0, 2.0, 3.0, -1.0]));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn outputs_render_their_values_and_only_a_useful_shape() {
        let ty = |shape: Vec<usize>| TensorType::new(true, Elem::Int { bits: 32 }, shape);
        let t = |shape: Vec<usize>, data: Vec<u64>| RingTensor::new(shape, data);
        assert_eq!(render(&t(vec![], vec![7]), &ty(vec![])), "7");
        assert_eq!(render(&t(vec![1], vec![7]), &ty(vec![1])), "[7]");
        assert_eq!(
            render(&t(vec![2, 2], vec![1, 2, 3, u64::MAX]), &ty(vec![2, 2])),
            "[1, 2, 3, -1] of shape [2, 2]"
        );
        let fix = |frac| TensorType::new(true, Elem::Fix { frac, bits: 32 }, vec![]);
        assert_eq!(render(&t(vec![], vec![98304]), &fix(16)), "1.50000");
        assert_eq!(render(&t(vec![], vec![3]), &fix(2)), "0.8");
        let long = render(&t(vec![20], (0..20).collect()), &ty(vec![20]));
        assert!(long.ends_with("14, 15, ...]"), "{long}");
    }

    #[test]
    fn a_npy_header_announcing_more_than_its_file_is_refused_before_allocating() {
        // Version 2.0 header for 2^29 float64 values (4 GiB), and no data.
        let mut header =
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (536870912,), }".to_vec();
        while !(12 + header.len() + 1).is_multiple_of(64) {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut file = b"\x93NUMPY\x02\x00".to_vec();
        file.extend_from_slice(&(header.len() as u32).to_le_bytes());
        file.extend_from_slice(&header);
        let path = std::env::temp_dir().join(format!("mpcvm-huge-{}.npy", std::process::id()));
        std::fs::write(&path, &file).unwrap();
        let ty = TensorType::new(true, Elem::Int { bits: 32 }, vec![1 << 29]);
        let e = read_input(&path, &ty, "x").unwrap_err().to_string();
        assert!(e.contains("announces 4294967296 bytes"), "{e}");
        // A header with another shape than the program's is refused before its data too.
        let e = read_input(
            &path,
            &TensorType::new(true, Elem::Int { bits: 32 }, vec![3]),
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("has shape [536870912]"), "{e}");
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn nearest_rounds_as_f64_round_does() {
        let edges = [
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            4503599627370495.5,
            2f64.powi(52),
            2f64.powi(62) - 512.0,
            2f64.powi(62),
            2f64.powi(63),
            1e20,
            0.0,
            1e-300,
        ];
        let mut x = 0.1f64;
        for v in edges.iter().copied().chain((0..2000).map(|_| {
            x = (x * 1.618_034 + 0.37) % 1e6;
            x
        })) {
            for v in [v, -v] {
                assert_eq!(nearest(v), (v.round() as i128, v.fract() == 0.0), "{v}");
            }
        }
    }

    #[test]
    fn every_plain_dtype_is_decoded_in_either_byte_order() {
        let path = std::env::temp_dir().join(format!("mpcvm-dtypes-{}.npy", std::process::id()));
        let int = |bits| TensorType::new(true, Elem::Int { bits }, vec![3]);
        let fix = TensorType::new(true, Elem::Fix { frac: 2, bits: 32 }, vec![3]);
        let floats = [1.25f64, -2.0, 0.5];
        // (descr, data bytes, type, expected ring elements)
        let cases: Vec<(&str, Vec<u8>, TensorType, Vec<i64>)> = vec![
            (
                "<f8",
                floats.iter().flat_map(|x| x.to_le_bytes()).collect(),
                fix.clone(),
                vec![5, -8, 2],
            ),
            (
                ">f8",
                floats.iter().flat_map(|x| x.to_be_bytes()).collect(),
                fix.clone(),
                vec![5, -8, 2],
            ),
            (
                "<f4",
                floats
                    .iter()
                    .flat_map(|&x| (x as f32).to_le_bytes())
                    .collect(),
                fix,
                vec![5, -8, 2],
            ),
            ("|i1", vec![0xff, 0, 0x7f], int(8), vec![-1, 0, 127]),
            ("|u1", vec![0xff, 0, 0x7f], int(16), vec![255, 0, 127]),
            (
                ">i2",
                [-300i16, 2, 3]
                    .iter()
                    .flat_map(|x| x.to_be_bytes())
                    .collect(),
                int(16),
                vec![-300, 2, 3],
            ),
            (
                "<u4",
                [7u32, 0, 1 << 31]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
                int(64),
                vec![7, 0, 1 << 31],
            ),
            (
                "<i8",
                [-5i64, i64::MIN, i64::MAX]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
                int(64),
                vec![-5, i64::MIN, i64::MAX],
            ),
            (
                "<u8",
                [u64::MAX, 1, 2]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
                int(64),
                vec![-1, 1, 2],
            ),
            ("|b1", vec![1, 0, 1], int(8), vec![1, 0, 1]),
        ];
        for (descr, data, ty, expected) in cases {
            let mut header =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}")
                    .into_bytes();
            while !(10 + header.len() + 1).is_multiple_of(64) {
                header.push(b' ');
            }
            header.push(b'\n');
            let mut file = b"\x93NUMPY\x01\x00".to_vec();
            file.extend_from_slice(&(header.len() as u16).to_le_bytes());
            file.extend_from_slice(&header);
            file.extend_from_slice(&data);
            std::fs::write(&path, &file).unwrap();
            let got = read_input(&path, &ty, "x").unwrap_or_else(|e| panic!("{descr}: {e}"));
            let got: Vec<i64> = got.data.iter().map(|&v| v as i64).collect();
            assert_eq!(got, expected, "{descr}");
        }
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn raw_bytes_are_signed_for_8_bit_integers_and_unsigned_otherwise() {
        let path = std::env::temp_dir().join(format!("mpcvm-raw-{}.bin", std::process::id()));
        std::fs::write(&path, [0u8, 1, 127, 128, 255]).unwrap();
        let read = |bits: u8| {
            let ty = TensorType::new(true, Elem::Int { bits }, vec![5]);
            let t = read_input(&path, &ty, "x").unwrap();
            t.data.iter().map(|&v| v as i64).collect::<Vec<_>>()
        };
        assert_eq!(read(8), [0, 1, 127, -128, -1]);
        assert_eq!(read(16), [0, 1, 127, 128, 255]);
        std::fs::remove_file(&path).ok();
    }
}

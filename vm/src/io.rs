//! Input and output files: `.npy` tensors (and raw-byte inputs) converted to and
//! from ring elements, with every mismatch (shape, dtype, range, missing file)
//! reported by name.

use crate::bytecode::Program;
use crate::ring::{signed_bits, RingTensor};
use crate::types::{Elem, TensorType};
use crate::VmError;
use npyz::{DType, TypeChar, WriterBuilder};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Numbers as read from a file, before conversion to the ring.
enum Numbers {
    Int(Vec<i128>),
    Float(Vec<f64>),
}

/// Reads a `.npy` file's numbers; its header must announce the shape of `ty`
/// and no more data than the file holds, before anything is allocated for it.
fn read_numbers(path: &Path, ty: &TensorType) -> Result<(Vec<usize>, Numbers), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| format!("{} is not a valid .npy file: {e}", path.display()))?;
    if npy.order() == npyz::Order::Fortran {
        return Err(format!(
            "{} is stored in Fortran order; save it in C order (numpy.ascontiguousarray)",
            path.display()
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if shape != ty.shape {
        return Err(format!(
            "{} has shape {shape:?}, but the program declares {ty}",
            path.display()
        ));
    }
    let DType::Plain(ts) = npy.dtype() else {
        return Err(format!(
            "{} holds a structured array; expected plain numbers",
            path.display()
        ));
    };
    let announced = (ty.len() as u64).saturating_mul(ts.size_field());
    if announced > bytes.len() as u64 {
        return Err(format!(
            "{} announces {announced} bytes of data but holds {}: it is truncated or corrupt",
            path.display(),
            bytes.len()
        ));
    }
    let bad = |e: std::io::Error| format!("cannot read the data of {}: {e}", path.display());
    let ints = |v: Vec<i128>| Numbers::Int(v);
    let numbers = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 8) => Numbers::Float(npy.into_vec::<f64>().map_err(bad)?),
        (TypeChar::Float, 4) => Numbers::Float(
            npy.into_vec::<f32>()
                .map_err(bad)?
                .into_iter()
                .map(f64::from)
                .collect(),
        ),
        (TypeChar::Int, 1) => ints(
            npy.into_vec::<i8>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Int, 2) => ints(
            npy.into_vec::<i16>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Int, 4) => ints(
            npy.into_vec::<i32>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Int, 8) => ints(
            npy.into_vec::<i64>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Uint, 1) => ints(
            npy.into_vec::<u8>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Uint, 2) => ints(
            npy.into_vec::<u16>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Uint, 4) => ints(
            npy.into_vec::<u32>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Uint, 8) => ints(
            npy.into_vec::<u64>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        (TypeChar::Bool, 1) => ints(
            npy.into_vec::<bool>()
                .map_err(bad)?
                .into_iter()
                .map(i128::from)
                .collect(),
        ),
        _ => {
            return Err(format!(
                "{} has dtype {ts}; expected integers, floats or booleans",
                path.display()
            ))
        }
    };
    Ok((shape, numbers))
}

/// Converts numbers to ring elements of kind `elem`, checking each against its range.
fn to_ring(numbers: Numbers, elem: Elem, what: &str) -> Result<Vec<u64>, String> {
    let bits = elem.bits();
    let (lo, hi) = match elem {
        Elem::Bit => (0i128, 2i128),
        // 64-bit integers also accept unsigned values: they are ring elements as they are.
        Elem::Int { bits: 64 } => (-(1i128 << 63), 1i128 << 64),
        _ => (-(1i128 << (bits - 1)), 1i128 << (bits - 1)),
    };
    let scale = (1u64 << elem.frac()) as f64;
    let check = |i: usize, v: i128| -> Result<u64, String> {
        if v < lo || v >= hi {
            return Err(format!("{what}: element {i} is {v} in the ring encoding, outside the range [{lo}, {hi}) of {elem}"));
        }
        Ok(v as u64)
    };
    match numbers {
        Numbers::Int(v) => v
            .into_iter()
            .enumerate()
            .map(|(i, x)| check(i, x << elem.frac()))
            .collect(),
        Numbers::Float(v) => v
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let scaled = x * scale;
                if !scaled.is_finite() || (elem.frac() == 0 && x.fract() != 0.0) {
                    return Err(format!("{what}: element {i} is {x}, not a value of {elem}"));
                }
                if scaled.abs() >= 2f64.powi(100) {
                    return Err(format!(
                        "{what}: element {i} is {x}, outside the range of {elem}"
                    ));
                }
                check(i, scaled.round() as i128)
            })
            .collect(),
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
    let ring = to_ring(Numbers::Float(data.to_vec()), ty.elem, "value").map_err(VmError::Input)?;
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

/// Reads raw bytes as the values of a tensor of type `ty`: two's complement
/// bytes (-128 to 127) for an 8-bit integer type, which holds no larger value,
/// unsigned bytes (0 to 255) otherwise.
fn read_raw_bytes(path: &Path, ty: &TensorType) -> Result<Numbers, String> {
    let shape = &ty.shape;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let want: usize = shape.iter().product();
    if bytes.len() != want {
        return Err(format!(
            "{} holds {} bytes, but the program declares {want} elements of shape {shape:?} (raw inputs are one byte per element)",
            path.display(),
            bytes.len()
        ));
    }
    let signed = ty.elem == Elem::Int { bits: 8 };
    Ok(Numbers::Int(
        bytes
            .into_iter()
            .map(|b| if signed { b as i8 as i128 } else { b as i128 })
            .collect(),
    ))
}

/// Reads one input of type `ty` from a `.npy` file or a raw-bytes file.
pub fn read_input(path: &Path, ty: &TensorType, name: &str) -> Result<RingTensor, VmError> {
    let what = format!("input '{name}' ({})", path.display());
    let (shape, numbers) = if is_raw_bytes(path) {
        read_raw_bytes(path, ty).map(|n| (ty.shape.clone(), n))
    } else {
        read_numbers(path, ty)
    }
    .map_err(|e| VmError::Input(format!("input '{name}': {e}")))?;
    let data = to_ring(numbers, ty.elem, &what).map_err(VmError::Input)?;
    Ok(RingTensor::new(shape, data))
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

/// Loads the inputs in `given` (`--input P=PATH`), which must hold every input of
/// the parties in `needed`; inputs of other parties stay `None`.
pub fn load_inputs(
    program: &Program,
    given: &[(usize, PathBuf)],
    needed: &[usize],
) -> Result<Vec<Option<RingTensor>>, VmError> {
    let mut inputs = vec![None; program.inputs.len()];
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
            let decl = &program.inputs[i];
            inputs[i] = Some(read_input(&file, &decl.ty, &decl.name)?);
        }
    }
    if let Some(decl) = program
        .inputs
        .iter()
        .zip(&inputs)
        .find_map(|(d, v)| (v.is_none() && needed.contains(&(d.party as usize))).then_some(d))
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
    Ok(inputs)
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
    let io = |e: std::io::Error| VmError::Io(format!("cannot write {}: {e}", path.display()));
    let file = BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    match ty.elem {
        Elem::Fix { .. } => {
            let mut w = npyz::WriteOptions::<f64>::new()
                .default_dtype()
                .shape(&shape)
                .writer(file)
                .begin_nd()
                .map_err(io)?;
            w.extend(decode_f64(t, ty.elem)).map_err(io)?;
            w.finish().map_err(io)
        }
        _ => {
            let mut w = npyz::WriteOptions::<i64>::new()
                .default_dtype()
                .shape(&shape)
                .writer(file)
                .begin_nd()
                .map_err(io)?;
            w.extend(t.data.iter().map(|&x| integer(x, ty.elem)))
                .map_err(io)?;
            w.finish().map_err(io)
        }
    }
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

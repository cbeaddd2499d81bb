//! Shape rules of every tensor operation. The compiler's type checker and the
//! bytecode verifier both call these, so a program that compiles is exactly a
//! program whose bytecode verifies.

/// Spatial padding of convolutions and pooling, with TensorFlow's semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Output size `ceil(in / stride)`; the input is padded as evenly as possible, extra at the end.
    Same,
    /// No padding: output size `ceil((in - window + 1) / stride)`.
    Valid,
}

/// Geometry of a sliding window over two spatial axes.
#[derive(Clone, Copy, Debug)]
pub struct PoolGeometry {
    pub input: [usize; 2],
    pub window: [usize; 2],
    pub stride: [usize; 2],
    pub pad_before: [usize; 2],
    pub out: [usize; 2],
}

impl PoolGeometry {
    /// The caller has checked the geometry with [`window_output`].
    pub fn new(
        input: [usize; 2],
        window: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
    ) -> Self {
        let mut out = [0; 2];
        let mut pad_before = [0; 2];
        for a in 0..2 {
            match padding {
                Padding::Same => {
                    out[a] = input[a].div_ceil(stride[a]);
                    let total = ((out[a] - 1) * stride[a] + window[a]).saturating_sub(input[a]);
                    pad_before[a] = total / 2;
                }
                Padding::Valid => out[a] = (input[a] + 1 - window[a]).div_ceil(stride[a]),
            }
        }
        PoolGeometry {
            input,
            window,
            stride,
            pad_before,
            out,
        }
    }

    /// Input coordinate on `axis` read by output position `o` at window offset `d`, if not padding.
    #[inline]
    pub fn input_index(&self, axis: usize, o: usize, d: usize) -> Option<usize> {
        let i = (o * self.stride[axis] + d).checked_sub(self.pad_before[axis])?;
        (i < self.input[axis]).then_some(i)
    }

    /// Number of non-padding input elements in the window of output `(oy, ox)`.
    pub fn window_count(&self, oy: usize, ox: usize) -> usize {
        let rows = (0..self.window[0])
            .filter(|&d| self.input_index(0, oy, d).is_some())
            .count();
        let cols = (0..self.window[1])
            .filter(|&d| self.input_index(1, ox, d).is_some())
            .count();
        rows * cols
    }
}

/// Number of elements, if it does not overflow.
pub fn elements(s: &[usize]) -> Option<usize> {
    s.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

fn dims(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Numpy broadcasting: shapes are aligned at the end; each pair of dimensions
/// must be equal or one of them 1.
pub fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(format!(
                    "shapes {} and {} do not broadcast: dimension {} is {da} against {db}",
                    dims(a),
                    dims(b),
                    i
                ))
            }
        };
    }
    Ok(out)
}

pub fn matmul(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    match (a, b) {
        ([m, k1], [k2, n]) if k1 == k2 => Ok(vec![*m, *n]),
        ([_, _], [_, _]) => Err(format!(
            "matrix product of {} and {}: inner dimensions differ",
            dims(a),
            dims(b)
        )),
        _ => Err(format!(
            "matrix product needs two matrices (rank 2), got {} and {}",
            dims(a),
            dims(b)
        )),
    }
}

fn check_window(
    input: [usize; 2],
    window: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
) -> Result<[usize; 2], String> {
    if stride.contains(&0) {
        return Err("stride must be at least 1".into());
    }
    if window.contains(&0) {
        return Err("window must be at least 1x1".into());
    }
    if padding == Padding::Valid && (window[0] > input[0] || window[1] > input[1]) {
        return Err(format!(
            "window {}x{} is larger than the input {}x{} with VALID padding",
            window[0], window[1], input[0], input[1]
        ));
    }
    if input.contains(&0) {
        return Err("input has an empty spatial dimension".into());
    }
    Ok(PoolGeometry::new(input, window, stride, padding).out)
}

/// Output shape of a convolution: input `[N, H, W, C]`, filter `[KH, KW, C, O]`
/// (or `[KH, KW, C, M]` depthwise, giving `C * M` channels).
pub fn conv2d(
    x: &[usize],
    w: &[usize],
    stride: [usize; 2],
    padding: Padding,
    depthwise: bool,
) -> Result<Vec<usize>, String> {
    let ([n, h, wd, c], [kh, kw, wc, o]) = (x, w) else {
        return Err(format!(
            "convolution needs an NHWC input (rank 4) and a filter of rank 4, got {} and {}",
            dims(x),
            dims(w)
        ));
    };
    if c != wc {
        return Err(format!(
            "input has {c} channels but the filter expects {wc} (filter {})",
            dims(w)
        ));
    }
    let out = check_window([*h, *wd], [*kh, *kw], stride, padding)?;
    Ok(vec![*n, out[0], out[1], if depthwise { c * o } else { *o }])
}

/// Output shape of pooling over an NHWC input.
pub fn pool(
    x: &[usize],
    window: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
) -> Result<Vec<usize>, String> {
    let [n, h, w, c] = x else {
        return Err(format!(
            "pooling needs an NHWC input (rank 4), got {}",
            dims(x)
        ));
    };
    let out = check_window([*h, *w], window, stride, padding)?;
    Ok(vec![*n, out[0], out[1], *c])
}

/// Output shape of a reduction over `axis` (or all elements).
pub fn reduce(x: &[usize], axis: Option<usize>) -> Result<Vec<usize>, String> {
    match axis {
        None if elements(x) == Some(0) => Err("reduction of an empty tensor".into()),
        None => Ok(vec![]),
        Some(a) if a >= x.len() => Err(format!(
            "axis {a} is out of range for a tensor of rank {}",
            x.len()
        )),
        Some(a) if x[a] == 0 => Err(format!("reduction over axis {a}, which is empty")),
        Some(a) => {
            let mut s = x.to_vec();
            s.remove(a);
            Ok(s)
        }
    }
}

pub fn reshape(x: &[usize], to: &[usize]) -> Result<Vec<usize>, String> {
    let (a, b) = (
        elements(x).unwrap_or(usize::MAX),
        elements(to).ok_or("the new shape has too many elements")?,
    );
    if a != b {
        return Err(format!(
            "cannot reshape {} ({a} elements) to {} ({b} elements)",
            dims(x),
            dims(to)
        ));
    }
    Ok(to.to_vec())
}

pub fn transpose(x: &[usize], perm: &[usize]) -> Result<Vec<usize>, String> {
    let mut seen = vec![false; x.len()];
    if perm.len() != x.len()
        || perm
            .iter()
            .any(|&p| p >= x.len() || std::mem::replace(&mut seen[p], true))
    {
        return Err(format!(
            "{} is not a permutation of the {} axes of {}",
            dims(perm),
            x.len(),
            dims(x)
        ));
    }
    Ok(perm.iter().map(|&p| x[p]).collect())
}

/// Shape of `x[starts .. starts + sizes]`; `dynamic_axis` has a start only known at run time,
/// which the VM checks against the bound.
pub fn slice(
    x: &[usize],
    starts: &[usize],
    sizes: &[usize],
    dynamic_axis: Option<usize>,
) -> Result<Vec<usize>, String> {
    if starts.len() != x.len() || sizes.len() != x.len() {
        return Err(format!(
            "slice of a tensor of rank {} needs {} ranges",
            x.len(),
            x.len()
        ));
    }
    if let Some(a) = dynamic_axis {
        if a >= x.len() {
            return Err(format!("dynamic slice axis {a} is out of range"));
        }
    }
    for i in 0..x.len() {
        let end = starts[i]
            .checked_add(sizes[i])
            .ok_or("slice bound overflows")?;
        if end > x[i] {
            return Err(format!(
                "slice {}..{} on axis {i} exceeds its size {}",
                starts[i], end, x[i]
            ));
        }
    }
    Ok(sizes.to_vec())
}

pub fn concat(parts: &[&[usize]], axis: usize) -> Result<Vec<usize>, String> {
    let first = parts.first().ok_or("concatenation of nothing")?;
    if axis >= first.len() {
        return Err(format!(
            "axis {axis} is out of range for a tensor of rank {}",
            first.len()
        ));
    }
    let mut out = first.to_vec();
    for p in &parts[1..] {
        if p.len() != first.len() || (0..first.len()).any(|i| i != axis && p[i] != first[i]) {
            return Err(format!(
                "cannot concatenate {} and {} along axis {axis}",
                dims(first),
                dims(p)
            ));
        }
        out[axis] += p[axis];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_tensorflow() {
        let g = PoolGeometry::new([5, 5], [3, 3], [2, 2], Padding::Same);
        assert_eq!(g.out, [3, 3]);
        assert_eq!(g.pad_before, [1, 1]);
        let g = PoolGeometry::new([4, 4], [2, 2], [2, 2], Padding::Same);
        assert_eq!((g.out, g.pad_before), ([2, 2], [0, 0]));
        assert_eq!(g.window_count(1, 1), 4);
    }

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast(&[2, 1, 3], &[4, 1]).unwrap(), vec![2, 4, 3]);
        assert!(broadcast(&[2, 3], &[3, 2]).is_err());
        assert_eq!(broadcast(&[], &[5]).unwrap(), vec![5]);
    }
}

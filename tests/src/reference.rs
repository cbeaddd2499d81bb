//! Plain-Rust references for the tests, written independently of the VM's ring
//! kernels: floating-point (ndarray) versions of the layers, and TensorFlow's
//! padding rule derived again here.

use ndarray::{Array2, Array4};

/// Output size and padding before, for one spatial axis (TensorFlow's rule).
pub fn window_axis(input: usize, window: usize, stride: usize, same: bool) -> (usize, usize) {
    if same {
        let out = input.div_ceil(stride);
        let total = ((out - 1) * stride + window).saturating_sub(input);
        (out, total / 2)
    } else {
        ((input - window) / stride + 1, 0)
    }
}

/// NHWC input, HWIO filter (or `[KH, KW, C, M]` depthwise, output channel `c * M + m`).
pub fn conv2d(
    x: &Array4<f64>,
    w: &Array4<f64>,
    stride: usize,
    same: bool,
    depthwise: bool,
) -> Array4<f64> {
    let (n, h, wd, c) = x.dim();
    let (kh, kw, _, o) = w.dim();
    let (oh, ph) = window_axis(h, kh, stride, same);
    let (ow, pw) = window_axis(wd, kw, stride, same);
    let oc = if depthwise { c * o } else { o };
    let mut out = Array4::zeros((n, oh, ow, oc));
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for dy in 0..kh {
                    for dx in 0..kw {
                        let iy = (y * stride + dy) as isize - ph as isize;
                        let ix = (xx * stride + dx) as isize - pw as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                            continue;
                        }
                        for ci in 0..c {
                            let v = x[[b, iy as usize, ix as usize, ci]];
                            for k in 0..o {
                                let oc_index = if depthwise { ci * o + k } else { k };
                                out[[b, y, xx, oc_index]] += v * w[[dy, dx, ci, k]];
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Max or average pooling; padding never takes part (averages divide by the real count).
pub fn pool(x: &Array4<f64>, window: usize, stride: usize, same: bool, max: bool) -> Array4<f64> {
    let (n, h, wd, c) = x.dim();
    let (oh, ph) = window_axis(h, window, stride, same);
    let (ow, pw) = window_axis(wd, window, stride, same);
    let mut out = Array4::zeros((n, oh, ow, c));
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for ci in 0..c {
                    let mut vals = Vec::new();
                    for dy in 0..window {
                        for dx in 0..window {
                            let iy = (y * stride + dy) as isize - ph as isize;
                            let ix = (xx * stride + dx) as isize - pw as isize;
                            if iy >= 0 && ix >= 0 && iy < h as isize && ix < wd as isize {
                                vals.push(x[[b, iy as usize, ix as usize, ci]]);
                            }
                        }
                    }
                    out[[b, y, xx, ci]] = if max {
                        vals.iter().cloned().fold(f64::MIN, f64::max)
                    } else {
                        vals.iter().sum::<f64>() / vals.len() as f64
                    };
                }
            }
        }
    }
    out
}

pub fn relu2(x: &Array2<f64>) -> Array2<f64> {
    x.mapv(|v| v.max(0.0))
}

/// Index of the largest value (first on ties).
pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::MIN), |a, (i, &x)| if x > a.1 { (i, x) } else { a })
        .0
}

/// Difference between the largest and the second largest value.
pub fn margin(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| b.partial_cmp(a).unwrap());
    s[0] - s.get(1).copied().unwrap_or(f64::MIN)
}

/// The gradients `(dw, dx)` of a stride-1 `conv2d` (not depthwise) for the
/// gradient `g` of its output: the adjoint of the forward loop above, term by term.
pub fn conv2d_backward(
    x: &Array4<f64>,
    w: &Array4<f64>,
    g: &Array4<f64>,
    same: bool,
) -> (Array4<f64>, Array4<f64>) {
    let (n, h, wd, c) = x.dim();
    let (kh, kw, _, o) = w.dim();
    let (oh, ph) = window_axis(h, kh, 1, same);
    let (ow, pw) = window_axis(wd, kw, 1, same);
    let mut dw = Array4::zeros(w.dim());
    let mut dx = Array4::zeros(x.dim());
    for b in 0..n {
        for y in 0..oh {
            for xx in 0..ow {
                for dy in 0..kh {
                    for dxx in 0..kw {
                        let iy = (y + dy) as isize - ph as isize;
                        let ix = (xx + dxx) as isize - pw as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                            continue;
                        }
                        let (iy, ix) = (iy as usize, ix as usize);
                        for ci in 0..c {
                            for k in 0..o {
                                dw[[dy, dxx, ci, k]] += x[[b, iy, ix, ci]] * g[[b, y, xx, k]];
                                dx[[b, iy, ix, ci]] += w[[dy, dxx, ci, k]] * g[[b, y, xx, k]];
                            }
                        }
                    }
                }
            }
        }
    }
    (dw, dx)
}

//! A plain-Rust interpreter of quantized TFLite models with the integer
//! semantics of TFLite's reference kernels (uint8 and int8, per-tensor and
//! per-channel filters), written from TFLite's C++ independently of the
//! importer: it works on TFLite's own layouts (OHWI filters, `[1, KH, KW, C*M]`
//! depthwise filters, `[O, D]` dense weights) and integer arithmetic. The
//! tests hold imported programs to it, layer by layer and on whole networks.

use crate::reference::window_axis;
use mpcc::tflite::import::quantize_multiplier;
use mpcc::tflite::model::{code, Activation, ElementType, Model, Operator, Options, Padding};

/// TFLite's reference integer arithmetic (gemmlowp; C++ `/` truncates like Rust's).
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let (left, right) = (shift.max(0), (-shift).max(0));
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// A tensor's values and shape.
#[derive(Clone, Debug)]
struct Value {
    shape: Vec<usize>,
    data: Vec<i64>,
}

struct Interpreter<'m> {
    model: &'m Model,
    values: Vec<Option<Value>>,
}

impl Interpreter<'_> {
    fn shape(&self, id: i32) -> Vec<usize> {
        let t = &self.model.tensors[id as usize];
        t.shape.iter().map(|&d| d as usize).collect()
    }

    /// A computed tensor, or a constant from its buffer.
    fn get(&self, id: i32) -> Value {
        if let Some(v) = &self.values[id as usize] {
            return v.clone();
        }
        let t = &self.model.tensors[id as usize];
        let bytes = &self.model.buffers[t.buffer as usize];
        let data = match t.ty {
            ElementType::UInt8 => bytes.iter().map(|&b| b as i64).collect(),
            ElementType::Int8 => bytes.iter().map(|&b| b as i8 as i64).collect(),
            ElementType::Int32 => bytes
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64)
                .collect(),
            other => panic!("constant tensor of type {other:?}"),
        };
        Value {
            shape: self.shape(id),
            data,
        }
    }

    /// Scales (one, or one per channel) and zero point.
    fn quantization(&self, id: i32) -> (Vec<f64>, i64) {
        let q = self.model.tensors[id as usize]
            .quantization
            .as_ref()
            .expect("quantized");
        (
            q.scale.iter().map(|&s| s as f64).collect(),
            q.zero_point.first().copied().unwrap_or(0),
        )
    }

    /// The output clamp: the type's range narrowed by the fused activation.
    fn clamp(&self, y: i32, activation: Activation) -> (i64, i64) {
        let (lo, hi) = match self.model.tensors[y as usize].ty {
            ElementType::Int8 => (-128, 127),
            _ => (0, 255),
        };
        let (scales, zp) = self.quantization(y);
        let q = |x: f64| zp + (x / scales[0]).round() as i64;
        match activation {
            Activation::None => (lo, hi),
            Activation::Relu => (lo.max(zp), hi),
            Activation::Relu6 => (lo.max(zp), hi.min(q(6.0))),
            Activation::ReluN1To1 => (lo.max(q(-1.0)), hi.min(q(1.0))),
            Activation::Other(a) => panic!("activation {a}"),
        }
    }

    /// Requantizes an accumulator of output channel `channel`.
    fn requantize(&self, acc: i64, [x, w, y]: [i32; 3], channel: usize, range: (i64, i64)) -> i64 {
        let (sx, _) = self.quantization(x);
        let (sw, _) = self.quantization(w);
        let (sy, zy) = self.quantization(y);
        let s = if sw.len() > 1 { sw[channel] } else { sw[0] };
        let (m, shift) = quantize_multiplier(sx[0] * s / sy[0]).expect("the model's scales");
        let v = multiply_by_quantized_multiplier(acc as i32, m as i32, shift) as i64 + zy;
        v.clamp(range.0, range.1)
    }

    fn convolution(&self, op: &Operator) -> Value {
        let (x, w, b, y) = (op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]);
        let (padding, stride, activation, depthwise) = match &op.options {
            Options::Conv2d {
                padding,
                stride,
                activation,
                ..
            } => (*padding, *stride, *activation, false),
            Options::DepthwiseConv2d {
                padding,
                stride,
                activation,
                ..
            } => (*padding, *stride, *activation, true),
            other => panic!("options {other:?}"),
        };
        let (input, filter, bias) = (self.get(x), self.get(w), self.get(b));
        let (zx, zw) = (self.quantization(x).1, self.quantization(w).1);
        let [_, h, wd, c] = input.shape[..] else {
            panic!("NHWC input")
        };
        let fs = &filter.shape;
        let (kh, kw, oc) = if depthwise {
            (fs[1], fs[2], fs[3])
        } else {
            (fs[1], fs[2], fs[0])
        };
        let same = padding == Padding::Same;
        let (oh, ph) = window_axis(h, kh, stride[0] as usize, same);
        let (ow, pw) = window_axis(wd, kw, stride[1] as usize, same);
        let range = self.clamp(y, activation);
        let mut data = Vec::with_capacity(oh * ow * oc);
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..oc {
                    let mut acc = bias.data[o];
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * stride[0] as usize + ky) as i64 - ph as i64;
                            let ix = (ox * stride[1] as usize + kx) as i64 - pw as i64;
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                continue;
                            }
                            let at = (iy as usize * wd + ix as usize) * c;
                            if depthwise {
                                let multiplier = oc / c;
                                acc += (input.data[at + o / multiplier] - zx)
                                    * (filter.data[(ky * kw + kx) * oc + o] - zw);
                            } else {
                                for ic in 0..c {
                                    acc += (input.data[at + ic] - zx)
                                        * (filter.data[((o * kh + ky) * kw + kx) * c + ic] - zw);
                                }
                            }
                        }
                    }
                    data.push(self.requantize(acc, [x, w, y], o, range));
                }
            }
        }
        Value {
            shape: vec![1, oh, ow, oc],
            data,
        }
    }

    fn fully_connected(&self, op: &Operator) -> Value {
        let (x, w, b, y) = (op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]);
        let Options::FullyConnected { activation, .. } = &op.options else {
            panic!("options")
        };
        let (input, filter, bias) = (self.get(x), self.get(w), self.get(b));
        let (zx, zw) = (self.quantization(x).1, self.quantization(w).1);
        let (outs, depth) = (filter.shape[0], filter.shape[1]);
        let range = self.clamp(y, *activation);
        let mut data = Vec::new();
        for row in input.data.chunks(depth) {
            for o in 0..outs {
                let acc: i64 = (0..depth)
                    .map(|d| (row[d] - zx) * (filter.data[o * depth + d] - zw))
                    .sum::<i64>()
                    + bias.data[o];
                data.push(self.requantize(acc, [x, w, y], o, range));
            }
        }
        Value {
            shape: self.shape(y),
            data,
        }
    }

    /// ADD with numpy broadcasting: each input rescaled to twice the larger
    /// input scale with 20 bits of headroom, summed, requantized.
    fn add(&self, op: &Operator) -> Value {
        let (a, b, y) = (op.inputs[0], op.inputs[1], op.outputs[0]);
        let Options::Add { activation } = &op.options else {
            panic!("options")
        };
        let (va, vb) = (self.get(a), self.get(b));
        let ((sa, za), (sb, zb), (sy, zy)) = (
            self.quantization(a),
            self.quantization(b),
            self.quantization(y),
        );
        let twice_max = 2.0 * sa[0].max(sb[0]);
        let (ma, sha) = quantize_multiplier(sa[0] / twice_max).expect("the model's scales");
        let (mb, shb) = quantize_multiplier(sb[0] / twice_max).expect("the model's scales");
        let (my, shy) = quantize_multiplier(twice_max / ((1u64 << 20) as f64 * sy[0]))
            .expect("the model's scales");
        let range = self.clamp(y, *activation);
        let shape = self.shape(y);
        let at = |v: &Value, i: usize| -> i64 {
            // Index of output element i in a (right-aligned) broadcast input.
            let offset = shape.len() - v.shape.len();
            let (mut rest, mut index, mut stride) = (i, 0, 1);
            for axis in (0..shape.len()).rev() {
                let coordinate = rest % shape[axis];
                rest /= shape[axis];
                if axis >= offset {
                    let d = v.shape[axis - offset];
                    index += (coordinate % d) * stride;
                    stride *= d;
                }
            }
            v.data[index]
        };
        let n: usize = shape.iter().product();
        let data = (0..n)
            .map(|i| {
                let left = multiply_by_quantized_multiplier(
                    ((at(&va, i) - za) as i32) << 20,
                    ma as i32,
                    sha,
                );
                let right = multiply_by_quantized_multiplier(
                    ((at(&vb, i) - zb) as i32) << 20,
                    mb as i32,
                    shb,
                );
                let sum = multiply_by_quantized_multiplier(left + right, my as i32, shy) as i64;
                (sum + zy).clamp(range.0, range.1)
            })
            .collect();
        Value { shape, data }
    }

    /// AVERAGE_POOL_2D (rounded half away from zero over the real elements) or MAX_POOL_2D.
    fn pool(&self, op: &Operator) -> Value {
        let (x, y) = (op.inputs[0], op.outputs[0]);
        let Options::Pool2d {
            padding,
            stride,
            filter,
            activation,
        } = &op.options
        else {
            panic!("options")
        };
        let input = self.get(x);
        let [_, h, w, c] = input.shape[..] else {
            panic!("NHWC input")
        };
        let same = *padding == Padding::Same;
        let (oh, ph) = window_axis(h, filter[0] as usize, stride[0] as usize, same);
        let (ow, pw) = window_axis(w, filter[1] as usize, stride[1] as usize, same);
        let range = self.clamp(y, *activation);
        let mut data = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let mut window = Vec::new();
                    for ky in 0..filter[0] as usize {
                        for kx in 0..filter[1] as usize {
                            let iy = (oy * stride[0] as usize + ky) as i64 - ph as i64;
                            let ix = (ox * stride[1] as usize + kx) as i64 - pw as i64;
                            if iy >= 0 && ix >= 0 && iy < h as i64 && ix < w as i64 {
                                window.push(input.data[(iy as usize * w + ix as usize) * c + ch]);
                            }
                        }
                    }
                    let v = if op.code == code::MAX_POOL_2D {
                        *window.iter().max().unwrap()
                    } else {
                        let (count, sum) = (window.len() as i64, window.iter().sum::<i64>());
                        if sum > 0 {
                            (sum + count / 2) / count
                        } else {
                            (sum - count / 2) / count
                        }
                    };
                    data.push(v.clamp(range.0, range.1));
                }
            }
        }
        Value {
            shape: vec![1, oh, ow, c],
            data,
        }
    }
}

/// Runs `model` on `image` (its input tensor's quantized values) and returns
/// the values of tensor `wanted`: the model's output if `None`. A SOFTMAX is not
/// evaluated (ask for its input, the logits).
pub fn evaluate(model: &Model, image: &[i64], wanted: Option<i32>) -> Vec<i64> {
    let mut it = Interpreter {
        model,
        values: vec![None; model.tensors.len()],
    };
    let input = model.inputs[0];
    it.values[input as usize] = Some(Value {
        shape: it.shape(input),
        data: image.to_vec(),
    });
    let wanted = wanted.unwrap_or(model.outputs[0]);
    for op in &model.operators {
        let y = op.outputs[0];
        let value = match op.code {
            code::CONV_2D | code::DEPTHWISE_CONV_2D => it.convolution(op),
            code::FULLY_CONNECTED => it.fully_connected(op),
            code::ADD => it.add(op),
            code::AVERAGE_POOL_2D | code::MAX_POOL_2D => it.pool(op),
            code::RESHAPE => Value {
                shape: it.shape(y),
                data: it.get(op.inputs[0]).data,
            },
            code::SOFTMAX => break,
            other => panic!("operator {other}"),
        };
        it.values[y as usize] = Some(value);
        if y == wanted {
            break;
        }
    }
    it.values[wanted as usize]
        .take()
        .unwrap_or_else(|| panic!("tensor {wanted} is not computed"))
        .data
}

//! `mpcc import`: a quantized TFLite model as an mpcc program.
//!
//! The architecture and the quantization parameters become public constants of
//! a readable `.mpc` program; weights and biases become the model owner's
//! (party 0) input, written as `.npy` files in our layouts (HWIO filters,
//! `[KH, KW, C, M]` depthwise filters, `[in, out]` dense weights); the image is
//! the client's (party 1) input, and the client alone receives the result:
//! the logits (the input of a final SOFTMAX) or their argmax. Each layer has
//! TFLite's integer semantics (see `stdlib/tflite.mpc`): zero points subtracted,
//! int32 accumulation with the int32 bias, rescaling by the fixed-point
//! multiplier and shift that TFLite's QuantizeMultiplier makes, the output zero
//! point added, and the clamp to the output type's range narrowed by a fused
//! activation. This version takes uint8 models with per-tensor quantization and
//! refuses anything else naming the operator, its index and what is missing.

use super::model::{
    code, operator_name, Activation, ElementType, Model, Operator, Options, Padding, Tensor,
};
use mpcvm::shape::{Padding as OurPadding, PoolGeometry};
use std::collections::HashMap;
use std::fmt::Write;

/// What the client receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reveal {
    /// The quantized logits (the input of the final SOFTMAX, or the model's output).
    Logits,
    /// The index of the largest logit.
    Argmax,
}

/// A weight tensor for the model owner: file name (without `.npy`), shape, values.
pub struct Weight {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<i64>,
}

pub struct Imported {
    pub program: String,
    pub weights: Vec<Weight>,
    /// A short description of the inputs and the output.
    pub description: String,
}

/// TFLite's QuantizeMultiplier: `m = M0 * 2^(shift - 31)`, M0 in [2^30, 2^31).
pub fn quantize_multiplier(m: f64) -> (i64, i32) {
    if m == 0.0 {
        return (0, 0);
    }
    let mut shift = m.abs().log2().floor() as i32 + 1;
    let mut q = m / 2f64.powi(shift);
    // frexp: q in [0.5, 1).
    while q.abs() >= 1.0 {
        q /= 2.0;
        shift += 1;
    }
    while q.abs() < 0.5 {
        q *= 2.0;
        shift -= 1;
    }
    let mut fixed = (q * 2f64.powi(31)).round() as i64;
    if fixed == 1i64 << 31 {
        fixed /= 2;
        shift += 1;
    }
    (fixed, shift)
}

fn refuse(op: &Operator, what: &str) -> String {
    format!(
        "operator {} ({}) is not supported: {what}",
        op.index,
        operator_name(op.code)
    )
}

fn scale_zp(t: &Tensor, op: &Operator, role: &str) -> Result<(f64, i64), String> {
    let q = t.quantization.as_ref().ok_or_else(|| {
        refuse(
            op,
            &format!("its {role} tensor '{}' is not quantized", t.name),
        )
    })?;
    if q.scale.len() != 1 {
        return Err(refuse(op, &format!("its {role} tensor '{}' is quantized per channel ({} scales); this version takes per-tensor quantization", t.name, q.scale.len())));
    }
    Ok((
        q.scale[0] as f64,
        q.zero_point.first().copied().unwrap_or(0),
    ))
}

/// The clamp of an output: the uint8 range, narrowed by a fused activation.
fn clamp_range(
    activation: Activation,
    scale: f64,
    zp: i64,
    op: &Operator,
) -> Result<(i64, i64), String> {
    let q = |x: f64| zp + (x / scale).round() as i64;
    Ok(match activation {
        Activation::None => (0, 255),
        Activation::Relu => (zp.max(0), 255),
        Activation::Relu6 => (zp.max(0), q(6.0).min(255)),
        Activation::ReluN1To1 => (q(-1.0).max(0), q(1.0).min(255)),
        Activation::Other(a) => {
            return Err(refuse(
                op,
                &format!("fused activation {a} (only NONE, RELU, RELU6 and RELU_N1_TO_1 are)"),
            ))
        }
    })
}

fn pad(p: Padding) -> &'static str {
    match p {
        Padding::Same => "same",
        Padding::Valid => "valid",
    }
}

fn dims(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A tensor's scale and zero point.
type Quantization = (f64, i64);

struct Importer<'m> {
    model: &'m Model,
    /// Tensor id -> expression naming it in the program.
    names: HashMap<i32, String>,
    weights: Vec<Weight>,
    decls: String,
    body: String,
}

impl<'m> Importer<'m> {
    fn tensor(&self, id: i32) -> &'m Tensor {
        &self.model.tensors[id as usize]
    }

    fn shape(&self, id: i32) -> Vec<usize> {
        self.tensor(id)
            .shape
            .iter()
            .map(|&d| d.max(0) as usize)
            .collect()
    }

    /// The raw values of a constant tensor.
    fn constant(&self, id: i32, op: &Operator) -> Result<Vec<i64>, String> {
        let t = self.tensor(id);
        let data = &self.model.buffers[t.buffer as usize];
        let n: usize = self.shape(id).iter().product();
        let values: Vec<i64> = match t.ty {
            ElementType::UInt8 => data.iter().map(|&b| b as i64).collect(),
            ElementType::Int32 => data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as i64)
                .collect(),
            other => {
                return Err(refuse(
                    op,
                    &format!("constant tensor '{}' has type {other:?}", t.name),
                ))
            }
        };
        if values.len() != n {
            return Err(refuse(
                op,
                &format!(
                    "constant tensor '{}' has {} values for shape {:?}",
                    t.name,
                    values.len(),
                    t.shape
                ),
            ));
        }
        Ok(values)
    }

    /// Declares a weight input of the model owner and returns its name.
    fn weight(&mut self, id: i32, shape: Vec<usize>, values: Vec<i64>, ty: &str) -> String {
        let name = format!("w{id}");
        let _ = writeln!(
            self.decls,
            "    let {name}: {ty}[{}] = input(model);  // {}",
            dims(&shape),
            self.tensor(id).name
        );
        self.weights.push(Weight {
            name: name.clone(),
            shape,
            values,
        });
        name
    }

    fn input(&self, id: i32, op: &Operator) -> Result<String, String> {
        self.names.get(&id).cloned().ok_or_else(|| {
            refuse(
                op,
                &format!("input tensor {id} is neither computed before nor a constant"),
            )
        })
    }

    /// Refuses `op` unless each of its named tensors is uint8.
    fn check_uint8(&self, op: &Operator, tensors: &[(i32, &str)]) -> Result<(), String> {
        for &(id, role) in tensors {
            if self.tensor(id).ty != ElementType::UInt8 {
                return Err(refuse(
                    op,
                    &format!(
                        "its {role} is {:?}; this version takes uint8",
                        self.tensor(id).ty
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The tensors (input, filter, bias, output) of a layer with weights, and the
    /// scales and zero points of its uint8 input, filter and output.
    fn weighted_layer(&self, op: &Operator) -> Result<([i32; 4], [Quantization; 3]), String> {
        let ([x, w, b], [y]) = (op.inputs.as_slice(), op.outputs.as_slice()) else {
            return Err(refuse(
                op,
                "it must have an input, a filter, a bias and one output",
            ));
        };
        if *b < 0 {
            return Err(refuse(op, "it has no bias"));
        }
        let roles = [(*x, "input"), (*w, "filter"), (*y, "output")];
        self.check_uint8(op, &roles)?;
        let mut quantization = [(0.0, 0); 3];
        for (q, (id, role)) in quantization.iter_mut().zip(roles) {
            *q = scale_zp(self.tensor(id), op, role)?;
        }
        Ok(([*x, *w, *b, *y], quantization))
    }

    /// FULLY_CONNECTED: the input flattened to [batches, depth] times the
    /// transposed [outputs, depth] filter, plus bias, requantized like a convolution.
    fn fully_connected(&mut self, op: &Operator) -> Result<(), String> {
        let ([x, w, b, y], [(sx, zx), (sw, zw), (sy, zy)]) = self.weighted_layer(op)?;
        let Options::FullyConnected {
            activation,
            weights_format,
            ..
        } = &op.options
        else {
            return Err(refuse(op, "its options are missing"));
        };
        if *weights_format != 0 {
            return Err(refuse(op, "shuffled weights"));
        }
        let ws = self.shape(w);
        let [outputs, depth] = ws[..] else {
            return Err(refuse(
                op,
                &format!("filter of shape {ws:?}, not [outputs, depth]"),
            ));
        };
        let elements: usize = self.shape(x).iter().product();
        if depth == 0 || !elements.is_multiple_of(depth) {
            return Err(refuse(
                op,
                &format!("an input of {elements} elements for filters of depth {depth}"),
            ));
        }
        let batches = elements / depth;
        // [O, D] -> [D, O], so the product is input @ filter.
        let filter = self.constant(w, op)?;
        let mut transposed = vec![0; filter.len()];
        for o in 0..outputs {
            for d in 0..depth {
                transposed[d * outputs + o] = filter[o * depth + d];
            }
        }
        let wname = self.weight(w, vec![depth, outputs], transposed, "sint<16>");
        let bias = self.constant(b, op)?;
        let bname = self.weight(b, vec![bias.len()], bias, "sint<32>");
        let (m0, shift) = quantize_multiplier(sx * sw / sy);
        let (lo, hi) = clamp_range(*activation, sy, zy, op)?;
        let xin = self.input(x, op)?;
        let name = format!("t{y}");
        let _ = writeln!(
            self.body,
            "    // op {} FULLY_CONNECTED: scale {sx} * {sw} / {sy}\n    let {name} = reshape(tflite::requantize((reshape({xin}, [{batches}, {depth}]) - {zx}) as sint<32> @ ({wname} - {zw}) as sint<32> + {bname}, {m0}, {shift}, {zy}, {lo}, {hi}, EXACT), [{}]);",
            op.index,
            dims(&self.shape(y))
        );
        self.names.insert(y, name);
        Ok(())
    }

    /// ADD of two uint8 tensors of the same shape, as TFLite's reference kernel:
    /// both inputs are brought to a common scale (twice the larger input scale)
    /// with 20 bits of headroom, added, and the sum requantized to the output.
    fn add(&mut self, op: &Operator) -> Result<(), String> {
        let ([a, b], [y]) = (op.inputs.as_slice(), op.outputs.as_slice()) else {
            return Err(refuse(op, "it must have two inputs and one output"));
        };
        let Options::Add { activation } = &op.options else {
            return Err(refuse(op, "its options are missing"));
        };
        self.check_uint8(
            op,
            &[(*a, "first input"), (*b, "second input"), (*y, "output")],
        )?;
        if self.shape(*a) != self.shape(*b) {
            return Err(refuse(
                op,
                &format!(
                    "inputs of shapes {:?} and {:?} (broadcasting is not imported)",
                    self.shape(*a),
                    self.shape(*b)
                ),
            ));
        }
        let ((sa, za), (sb, zb), (sy, zy)) = (
            scale_zp(self.tensor(*a), op, "first input")?,
            scale_zp(self.tensor(*b), op, "second input")?,
            scale_zp(self.tensor(*y), op, "output")?,
        );
        const LEFT_SHIFT: i32 = 20;
        let twice_max = 2.0 * sa.max(sb);
        let (ma, sha) = quantize_multiplier(sa / twice_max);
        let (mb, shb) = quantize_multiplier(sb / twice_max);
        let (my, shy) = quantize_multiplier(twice_max / ((1u64 << LEFT_SHIFT) as f64 * sy));
        let (lo, hi) = clamp_range(*activation, sy, zy, op)?;
        let (ain, bin) = (self.input(*a, op)?, self.input(*b, op)?);
        let name = format!("t{y}");
        let _ = writeln!(
            self.body,
            "    // op {} ADD: scales {sa} + {sb} -> {sy}\n    let {name} = tflite::requantize(tflite::multiply_by_quantized_multiplier(({ain} - {za}) as sint<32> << {LEFT_SHIFT}, {ma}, {sha}, EXACT) + tflite::multiply_by_quantized_multiplier(({bin} - {zb}) as sint<32> << {LEFT_SHIFT}, {mb}, {shb}, EXACT), {my}, {shy}, {zy}, {lo}, {hi}, EXACT);",
            op.index
        );
        self.names.insert(*y, name);
        Ok(())
    }

    fn convolution(&mut self, op: &Operator) -> Result<(), String> {
        let ([x, w, b, y], [(sx, zx), (sw, zw), (sy, zy)]) = self.weighted_layer(op)?;
        let depthwise = op.code == code::DEPTHWISE_CONV_2D;
        let (padding, stride, dilation, activation, multiplier) = match &op.options {
            Options::Conv2d {
                padding,
                stride,
                dilation,
                activation,
            } => (*padding, *stride, *dilation, *activation, 1),
            Options::DepthwiseConv2d {
                padding,
                stride,
                dilation,
                depth_multiplier,
                activation,
            } => (*padding, *stride, *dilation, *activation, *depth_multiplier),
            _ => return Err(refuse(op, "its options are missing")),
        };
        if dilation != [1, 1] {
            return Err(refuse(op, &format!("dilation {dilation:?}")));
        }
        let ws = self.shape(w);
        let filter = self.constant(w, op)?;
        let (our_shape, values) = if depthwise {
            // [1, KH, KW, C*M] is [KH, KW, C, M] in row-major order.
            let c = self.shape(x)[3];
            let m = multiplier.max(1) as usize;
            if ws[3] != c * m {
                return Err(refuse(
                    op,
                    &format!(
                        "filter of {} channels for {c} input channels and depth multiplier {m}",
                        ws[3]
                    ),
                ));
            }
            (vec![ws[1], ws[2], c, m], filter)
        } else {
            // [O, KH, KW, C] -> [KH, KW, C, O].
            let (o, kh, kw, c) = (ws[0], ws[1], ws[2], ws[3]);
            let mut t = vec![0; filter.len()];
            for oi in 0..o {
                for i in 0..kh * kw * c {
                    t[i * o + oi] = filter[oi * kh * kw * c + i];
                }
            }
            (vec![kh, kw, c, o], t)
        };
        let wname = self.weight(w, our_shape, values, "sint<16>");
        let bias = self.constant(b, op)?;
        let bname = self.weight(b, vec![bias.len()], bias, "sint<32>");
        let (m0, shift) = quantize_multiplier(sx * sw / sy);
        let (lo, hi) = clamp_range(activation, sy, zy, op)?;
        let xin = self.input(x, op)?;
        let f = if depthwise {
            "depthwise_conv2d"
        } else {
            "conv2d"
        };
        let name = format!("t{y}");
        let _ = writeln!(
            self.body,
            "    // op {} {}: scale {sx} * {sw} / {sy}\n    let {name} = tflite::requantize({f}(({xin} - {zx}) as sint<32>, ({wname} - {zw}) as sint<32>, stride = [{}, {}], padding = {}) + {bname}, {m0}, {shift}, {zy}, {lo}, {hi}, EXACT);",
            op.index,
            operator_name(op.code),
            stride[0],
            stride[1],
            pad(padding)
        );
        self.names.insert(y, name);
        Ok(())
    }

    fn pool(&mut self, op: &Operator) -> Result<(), String> {
        let ([x], [y]) = (op.inputs.as_slice(), op.outputs.as_slice()) else {
            return Err(refuse(op, "it must have one input and one output"));
        };
        let Options::Pool2d {
            padding,
            stride,
            filter,
            activation,
        } = &op.options
        else {
            return Err(refuse(op, "its options are missing"));
        };
        let ((sx, zx), (sy, zy)) = (
            scale_zp(self.tensor(*x), op, "input")?,
            scale_zp(self.tensor(*y), op, "output")?,
        );
        if (sx, zx) != (sy, zy) || self.tensor(*x).ty != ElementType::UInt8 {
            return Err(refuse(
                op,
                "its input and output must be uint8 with equal scale and zero point",
            ));
        }
        let (lo, hi) = clamp_range(*activation, sy, zy, op)?;
        let xin = self.input(*x, op)?;
        let window = format!("[{}, {}]", filter[0], filter[1]);
        let strides = format!("[{}, {}]", stride[0], stride[1]);
        let name = format!("t{y}");
        if op.code == code::MAX_POOL_2D {
            let _ = writeln!(self.body, "    // op {} MAX_POOL_2D\n    let {name} = clamp(max_pool({xin}, {window}, stride = {strides}, padding = {}), {lo}, {hi});", op.index, pad(*padding));
        } else {
            // TFLite: (sum + count / 2) / count over the real elements of each window.
            // The division is a product with a magic reciprocal and an exact shift,
            // checked here for every sum the window can have.
            let xs = self.shape(*x);
            let our = if *padding == Padding::Same {
                OurPadding::Same
            } else {
                OurPadding::Valid
            };
            let geo = PoolGeometry::new(
                [xs[1], xs[2]],
                [filter[0] as usize, filter[1] as usize],
                [stride[0] as usize, stride[1] as usize],
                our,
            );
            const SHIFT: u32 = 32;
            let mut halves = Vec::new();
            let mut magics = Vec::new();
            for oy in 0..geo.out[0] {
                for ox in 0..geo.out[1] {
                    let count = geo.window_count(oy, ox) as u64;
                    let magic = (1u64 << SHIFT).div_ceil(count);
                    let top = count * 255 + count / 2;
                    if (0..=top).any(|n| (n * magic) >> SHIFT != n / count) {
                        return Err(refuse(
                            op,
                            &format!("no exact reciprocal for a window of {count} elements"),
                        ));
                    }
                    halves.push((count / 2).to_string());
                    magics.push(magic.to_string());
                }
            }
            // A scalar when every window has the same count, else a [1, OH, OW, 1] literal.
            let table = |v: &[String]| {
                if v.iter().all(|x| *x == v[0]) {
                    return v[0].clone();
                }
                let rows: Vec<String> = v
                    .chunks(geo.out[1])
                    .map(|r| {
                        format!(
                            "[{}]",
                            r.iter()
                                .map(|x| format!("[{x}]"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                    .collect();
                format!("[[{}]]", rows.join(", "))
            };
            let _ = writeln!(
                self.body,
                "    // op {} AVERAGE_POOL_2D\n    let {name} = clamp(((sum_pool({xin}, {window}, stride = {strides}, padding = {}) + {}) as sint<63> * {}) >> {SHIFT}, {lo}, {hi});",
                op.index,
                pad(*padding),
                table(&halves),
                table(&magics)
            );
        }
        self.names.insert(*y, name);
        Ok(())
    }
}

/// Imports `model`; `source` names the file in the program's header comment.
pub fn import(model: &Model, source: &str, reveal: Reveal) -> Result<Imported, String> {
    let [input] = model.inputs.as_slice() else {
        return Err(format!(
            "the model has {} inputs; this version takes one (the image)",
            model.inputs.len()
        ));
    };
    let mut im = Importer {
        model,
        names: HashMap::new(),
        weights: Vec::new(),
        decls: String::new(),
        body: String::new(),
    };
    let image = im.tensor(*input);
    if image.ty != ElementType::UInt8 {
        return Err(format!(
            "the model's input '{}' is {:?}; this version takes uint8",
            image.name, image.ty
        ));
    }
    let image_shape = im.shape(*input);
    im.names.insert(*input, "image".into());
    let mut result = None;
    for (k, op) in model.operators.iter().enumerate() {
        match op.code {
            code::CONV_2D | code::DEPTHWISE_CONV_2D => im.convolution(op)?,
            code::AVERAGE_POOL_2D | code::MAX_POOL_2D => im.pool(op)?,
            code::FULLY_CONNECTED => im.fully_connected(op)?,
            code::ADD => im.add(op)?,
            code::RESHAPE => {
                let (x, y) = (op.inputs[0], op.outputs[0]);
                let xin = im.input(x, op)?;
                let _ = writeln!(im.body, "    // op {} RESHAPE\n    let t{y} = reshape({xin}, [{}]);", op.index, dims(&im.shape(y)));
                im.names.insert(y, format!("t{y}"));
            }
            code::SOFTMAX if k + 1 == model.operators.len() => {
                // The client receives the logits or their argmax: the softmax is not computed.
                result = Some(op.inputs[0]);
            }
            code::SOFTMAX => return Err(refuse(op, "a SOFTMAX before the last operator")),
            _ => return Err(refuse(op, "this version imports CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE and a final SOFTMAX")),
        }
    }
    let logits = result.unwrap_or(model.outputs[0]);
    let logits_name = im
        .names
        .get(&logits)
        .cloned()
        .ok_or("the model's output is not computed by its operators")?;
    let (out_scale, out_zp) = im
        .tensor(logits)
        .quantization
        .as_ref()
        .map_or((1.0, 0), |q| {
            (
                q.scale[0] as f64,
                q.zero_point.first().copied().unwrap_or(0),
            )
        });
    let mut program = String::new();
    let _ = writeln!(
        program,
        "// Imported from {source} by `mpcc import`: the architecture and the quantization"
    );
    let _ = writeln!(
        program,
        "// parameters are public; the weights are the model owner's input; the image is the"
    );
    let _ = writeln!(
        program,
        "// client's input, and only the client learns the result."
    );
    let _ = writeln!(program, "import tflite;\n\nparty model = 0;\nparty client = 1;\n\n// true: TFLite's rounding exactly; false: probabilistic rounding (at most one unit off, cheaper).\nconst EXACT = false;\n\nfn main() {{");
    program += &im.decls;
    let _ = writeln!(
        program,
        "    let image: sint<16>[{}] = input(client);  // {} (uint8)",
        dims(&image_shape),
        image.name
    );
    program += &im.body;
    let (reveal_line, described) = match reveal {
        Reveal::Logits => (
            format!("    let logits = {logits_name};\n    reveal logits to client;"),
            format!(
                "logits: int64 {:?}, quantized with scale {out_scale} and zero point {out_zp}",
                im.shape(logits)
            ),
        ),
        Reveal::Argmax => (
            format!(
                "    let prediction = argmax({logits_name});\n    reveal prediction to client;"
            ),
            "prediction: int64, the index of the largest logit".to_string(),
        ),
    };
    let _ = writeln!(program, "{reveal_line}\n}}");
    let description = format!(
        "Model owner (party 0): weights/<name>.npy for {} weight tensors (int64 values of uint8 weights and int32 biases).\nClient (party 1): image.npy, shape {:?}, uint8 values, or image.bin, its {} bytes in row-major order (the model's input '{}', scale {}, zero point {}).\nClient receives: {described}.\n",
        im.weights.len(),
        image_shape,
        image_shape.iter().product::<usize>(),
        image.name,
        image.quantization.as_ref().map_or(1.0, |q| q.scale[0]),
        image.quantization.as_ref().and_then(|q| q.zero_point.first().copied()).unwrap_or(0)
    );
    Ok(Imported {
        program,
        weights: im.weights,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tflite::model::{Operator, Options};

    #[test]
    fn an_unsupported_operator_is_refused_by_name_and_index() {
        let image = Tensor {
            name: "input".into(),
            shape: vec![1, 4],
            ty: ElementType::UInt8,
            buffer: 0,
            quantization: None,
        };
        let model = Model {
            version: 3,
            tensors: vec![
                image.clone(),
                Tensor {
                    name: "out".into(),
                    ..image
                },
            ],
            operators: vec![Operator {
                index: 0,
                code: 18,
                version: 1,
                inputs: vec![0, 0],
                outputs: vec![1],
                options: Options::None,
            }],
            inputs: vec![0],
            outputs: vec![1],
            buffers: vec![vec![]],
        };
        let e = import(&model, "m.tflite", Reveal::Logits)
            .err()
            .expect("refused");
        assert!(e.starts_with("operator 0 (MUL) is not supported"), "{e}");
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        // M0 in [2^30, 2^31) and m = M0 * 2^(shift - 31).
        for m in [0.5, 0.75, 0.001_234, 1.0, 3.7, 1.0 / 3.0] {
            let (q, shift) = quantize_multiplier(m);
            assert!((1 << 30..1 << 31).contains(&q), "{m}: {q}");
            assert!(
                (q as f64 * 2f64.powi(shift - 31) - m).abs() <= m * 1e-9,
                "{m}"
            );
        }
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
    }
}

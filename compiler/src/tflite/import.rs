//! `mpcc import`: a quantized TFLite model as an mpcc program.
//!
//! The architecture and the quantization parameters become public constants of
//! a readable `.mpc` program; weights and biases become the model owner's
//! (party 0) input, written as `.npy` files in our layouts (HWIO filters,
//! `[KH, KW, C, M]` depthwise filters, `[in, out]` dense weights); the image is
//! the client's (party 1) input, and the client alone receives the result:
//! the logits (the input of a final SOFTMAX), their argmax, or the model's
//! output (a final SOFTMAX then computed securely, as any other). Each layer has
//! TFLite's integer semantics (see `stdlib/tflite.mpc`): zero points subtracted,
//! int32 accumulation with the int32 bias, rescaling by the fixed-point
//! multiplier and shift that TFLite's QuantizeMultiplier makes, the output zero
//! point added, and the clamp to the output type's range narrowed by a fused
//! activation. Activations are uint8 or int8; filters are quantized per tensor
//! or (symmetrically) per output channel, each channel then having its own
//! multiplier and shift. Anything else is refused naming the operator, its
//! index and what is missing.

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
    /// The model's output: with a final SOFTMAX, computed securely.
    Output,
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
pub fn quantize_multiplier(m: f64) -> Result<(i64, i32), String> {
    // A corrupted model's scales can make anything of the ratio: refused,
    // rather than looped over forever (an infinite ratio never halves) or
    // shifted past the word.
    if !m.is_finite() || m < 0.0 {
        return Err(format!("a scale ratio of {m}"));
    }
    if m == 0.0 {
        return Ok((0, 0));
    }
    let mut shift = m.log2().floor() as i32 + 1;
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
    if shift < -31 {
        // As TFLite: a multiplier below 2^-32 is zero.
        return Ok((0, 0));
    }
    if shift > 30 {
        return Err(format!("a scale ratio of {m} (at most 2^30)"));
    }
    Ok((fixed, shift))
}

/// The operators the importer translates.
const SUPPORTED: &[i32] = &[
    code::CONV_2D,
    code::DEPTHWISE_CONV_2D,
    code::FULLY_CONNECTED,
    code::ADD,
    code::AVERAGE_POOL_2D,
    code::MAX_POOL_2D,
    code::RESHAPE,
    code::SOFTMAX,
];
const SUPPORTED_NAMES: &str =
    "CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE and SOFTMAX";

fn refuse(op: &Operator, what: &str) -> String {
    format!(
        "operator {} ({}) is not supported: {what}",
        op.index,
        operator_name(op.code)
    )
}

/// A tensor's scale and zero point.
type Quantization = (f64, i64);

/// A tensor's per-tensor scale and zero point.
fn scale_zp(t: &Tensor, op: &Operator, role: &str) -> Result<Quantization, String> {
    let q = t.quantization.as_ref().ok_or_else(|| {
        refuse(
            op,
            &format!("its {role} tensor '{}' is not quantized", t.name),
        )
    })?;
    if q.scale.len() != 1 {
        return Err(refuse(
            op,
            &format!(
                "its {role} tensor '{}' is quantized per channel ({} scales); only filters may be",
                t.name,
                q.scale.len()
            ),
        ));
    }
    Ok((
        q.scale[0] as f64,
        q.zero_point.first().copied().unwrap_or(0),
    ))
}

/// The range of a quantized activation type (uint8 or int8).
fn type_range(ty: ElementType) -> (i64, i64) {
    if ty == ElementType::Int8 {
        (-128, 127)
    } else {
        (0, 255)
    }
}

/// The clamp of an output: its type's range, narrowed by a fused activation.
fn clamp_range(
    activation: Activation,
    (scale, zp): Quantization,
    ty: ElementType,
    op: &Operator,
) -> Result<(i64, i64), String> {
    let q = |x: f64| zp + (x / scale).round() as i64;
    let (lo, hi) = type_range(ty);
    Ok(match activation {
        Activation::None => (lo, hi),
        Activation::Relu => (zp.max(lo), hi),
        Activation::Relu6 => (zp.max(lo), q(6.0).min(hi)),
        Activation::ReluN1To1 => (q(-1.0).max(lo), q(1.0).min(hi)),
        Activation::Other(a) => {
            return Err(refuse(
                op,
                &format!("fused activation {a} (only NONE, RELU, RELU6 and RELU_N1_TO_1 are)"),
            ))
        }
    })
}

/// `expr` as a 32-bit integer (TFLite's accumulator) less the zero point `zp`,
/// in the program's syntax: widened first, since an 8-bit value less its zero
/// point needs 9 bits.
fn less_zero_point(expr: &str, zp: i64) -> String {
    match zp {
        0 => format!("{expr} as sint<32>"),
        z if z > 0 => format!("({expr} as sint<32> - {z})"),
        z => format!("({expr} as sint<32> + {})", -z),
    }
}

/// TFLite's padding as the shape rules name it.
fn our_padding(p: Padding) -> OurPadding {
    match p {
        Padding::Same => OurPadding::Same,
        Padding::Valid => OurPadding::Valid,
    }
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

/// A public tensor of the program: a scalar when all values are equal, else
/// `values` in `shape` as a nested list.
fn table(values: &[i64], shape: &[usize]) -> String {
    if values.iter().all(|v| *v == values[0]) {
        return values[0].to_string();
    }
    fn nest(values: &[i64], shape: &[usize]) -> String {
        let Some((&first, rest)) = shape.split_first() else {
            return values[0].to_string();
        };
        let size = values.len() / first.max(1);
        let items: Vec<String> = values.chunks(size.max(1)).map(|c| nest(c, rest)).collect();
        format!("[{}]", items.join(", "))
    }
    nest(values, shape)
}

/// The filter of a layer with weights: its scales (one, or one per output
/// channel) and its zero point.
struct FilterQuantization {
    scales: Vec<f64>,
    zero_point: i64,
}

/// What a layer with weights is made of.
struct WeightedLayer {
    /// Input, filter, bias and output tensors.
    tensors: [i32; 4],
    /// uint8 or int8.
    ty: ElementType,
    input: Quantization,
    filter: FilterQuantization,
    output: Quantization,
}

struct Importer<'m> {
    model: &'m Model,
    /// Tensor id -> expression naming it in the program.
    names: HashMap<i32, String>,
    weights: Vec<Weight>,
    /// Public per-channel constants, declared before `main`.
    consts: String,
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

    /// Refuses `op` unless its operands are tensors of the model with positive
    /// dimensions, and the ranks and geometry its kind needs hold (so that what
    /// follows can index shapes and divide by strides).
    fn check_operands(&self, op: &Operator) -> Result<(), String> {
        for &id in op.inputs.iter().chain(&op.outputs) {
            if id == -1 && op.inputs.len() == 3 && op.inputs[2] == id {
                continue; // no bias: refused, with a message, by the layer
            }
            let Some(t) = usize::try_from(id)
                .ok()
                .and_then(|i| self.model.tensors.get(i))
            else {
                return Err(refuse(
                    op,
                    &format!("it refers to tensor {id}, which the model does not have"),
                ));
            };
            if t.shape.iter().any(|&d| d < 1) {
                return Err(refuse(
                    op,
                    &format!("tensor '{}' has shape {:?}", t.name, t.shape),
                ));
            }
        }
        // Convolutions and pooling: NHWC tensors, and the output the window geometry gives.
        let (window, stride, padding) = match &op.options {
            Options::Conv2d {
                stride, padding, ..
            }
            | Options::DepthwiseConv2d {
                stride, padding, ..
            } => {
                let filter = op.inputs.get(1).map(|&w| self.shape(w)).unwrap_or_default();
                if filter.len() != 4 {
                    return Err(refuse(
                        op,
                        &format!("a filter of shape {filter:?}, not of rank 4"),
                    ));
                }
                ([filter[1] as i32, filter[2] as i32], *stride, *padding)
            }
            Options::Pool2d {
                stride,
                filter,
                padding,
                ..
            } => (*filter, *stride, *padding),
            _ => return Ok(()),
        };
        let positive = |v: [i32; 2]| [v[0].max(0) as usize, v[1].max(0) as usize];
        let our = our_padding(padding);
        let (x, y) = (self.shape(op.inputs[0]), self.shape(op.outputs[0]));
        let out = mpcvm::shape::pool(&x, positive(window), positive(stride), our)
            .map_err(|e| refuse(op, &e))?;
        if y.len() != 4 || y[..3] != out[..3] {
            return Err(refuse(
                op,
                &format!(
                    "an output of shape {y:?} where its geometry gives [{}, {}, {}, _]",
                    out[0], out[1], out[2]
                ),
            ));
        }
        Ok(())
    }

    /// The raw values of a constant tensor.
    fn constant(&self, id: i32, op: &Operator) -> Result<Vec<i64>, String> {
        let t = self.tensor(id);
        let Some(data) = self.model.buffers.get(t.buffer as usize) else {
            return Err(refuse(
                op,
                &format!(
                    "tensor '{}' refers to buffer {}, which the model does not have",
                    t.name, t.buffer
                ),
            ));
        };
        let n: usize = self.shape(id).iter().product();
        let values: Vec<i64> = match t.ty {
            ElementType::UInt8 => data.iter().map(|&b| b as i64).collect(),
            ElementType::Int8 => data.iter().map(|&b| b as i8 as i64).collect(),
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

    /// The activation type of `op`: its named tensors must be all uint8 or all int8.
    fn activation_type(
        &self,
        op: &Operator,
        tensors: &[(i32, &str)],
    ) -> Result<ElementType, String> {
        let ty = self.tensor(tensors[0].0).ty;
        for &(id, role) in tensors {
            let t = self.tensor(id).ty;
            if !matches!(t, ElementType::UInt8 | ElementType::Int8) || t != ty {
                return Err(refuse(
                    op,
                    &format!("its {role} is {t:?}; its tensors must be all uint8 or all int8"),
                ));
            }
        }
        Ok(ty)
    }

    /// The filter's quantization: per tensor, or per output channel along `axis`
    /// with zero points 0 (TFLite's per-channel quantization is symmetric).
    fn filter_quantization(
        &self,
        w: i32,
        axis: usize,
        op: &Operator,
    ) -> Result<FilterQuantization, String> {
        let t = self.tensor(w);
        let Some(q) = t.quantization.as_ref().filter(|q| q.scale.len() > 1) else {
            let (scale, zero_point) = scale_zp(t, op, "filter")?;
            return Ok(FilterQuantization {
                scales: vec![scale],
                zero_point,
            });
        };
        let channels = self.shape(w)[axis];
        if q.dimension as usize != axis || q.scale.len() != channels {
            return Err(refuse(op, &format!("its filter '{}' has {} scales along axis {}; a per-channel filter has one per output channel along axis {axis} ({channels})", t.name, q.scale.len(), q.dimension)));
        }
        if q.zero_point.iter().any(|&z| z != 0) {
            return Err(refuse(
                op,
                &format!(
                    "its per-channel filter '{}' has nonzero zero points",
                    t.name
                ),
            ));
        }
        Ok(FilterQuantization {
            scales: q.scale.iter().map(|&s| s as f64).collect(),
            zero_point: 0,
        })
    }

    /// The tensors and quantization of a layer with weights whose filter has its
    /// output channels along `channel_axis`.
    fn weighted_layer(&self, op: &Operator, channel_axis: usize) -> Result<WeightedLayer, String> {
        let ([x, w, b], [y]) = (op.inputs.as_slice(), op.outputs.as_slice()) else {
            return Err(refuse(
                op,
                "it must have an input, a filter, a bias and one output",
            ));
        };
        if *b < 0 {
            return Err(refuse(op, "it has no bias"));
        }
        Ok(WeightedLayer {
            tensors: [*x, *w, *b, *y],
            ty: self.activation_type(op, &[(*x, "input"), (*w, "filter"), (*y, "output")])?,
            input: scale_zp(self.tensor(*x), op, "input")?,
            filter: self.filter_quantization(*w, channel_axis, op)?,
            output: scale_zp(self.tensor(*y), op, "output")?,
        })
    }

    /// The expression requantizing the int32 accumulator `acc` of `layer` to its
    /// output, clamped to `range`: with one multiplier, or one per channel (the
    /// public tensors of `tflite::multiply_by_quantized_multiplier_per_channel`,
    /// declared as constants named after the output tensor).
    fn requantize(
        &mut self,
        acc: &str,
        layer: &WeightedLayer,
        (lo, hi): (i64, i64),
    ) -> Result<String, String> {
        let ((sx, _), (sy, zy)) = (layer.input, layer.output);
        let y = layer.tensors[3];
        if let [sw] = layer.filter.scales[..] {
            let (m0, shift) = quantize_multiplier(sx * sw / sy)?;
            return Ok(format!(
                "tflite::requantize({acc}, {m0}, {shift}, {zy}, {lo}, {hi}, EXACT)"
            ));
        }
        let multipliers: Vec<(i64, u32, u32)> = layer
            .filter
            .scales
            .iter()
            .map(|sw| {
                let (m0, shift) = quantize_multiplier(sx * sw / sy)?;
                Ok((m0, shift.max(0) as u32, (-shift).max(0) as u32))
            })
            .collect::<Result<_, String>>()?;
        let max_right = multipliers.iter().map(|m| m.2).max().unwrap_or(0);
        let channels = [multipliers.len()];
        let per_channel = |f: &dyn Fn(i64, u32, u32) -> i64| {
            let values: Vec<i64> = multipliers.iter().map(|&(m, l, r)| f(m, l, r)).collect();
            table(&values, &channels)
        };
        let aligned = |r: u32| 1i64 << (max_right - r);
        let tables = [
            ("SCALES", per_channel(&|m, left, _| m << left)),
            ("ALIGNS", per_channel(&|_, _, r| aligned(r))),
            (
                "HALVES",
                per_channel(&|_, _, r| if r > 0 { 1 << (max_right - 1) } else { 0 }),
            ),
            (
                "DOWNS",
                per_channel(&|_, _, r| if r > 0 { aligned(r) } else { 0 }),
            ),
        ];
        let mut names = Vec::new();
        for (what, values) in tables {
            let name = format!("{what}_{y}");
            let _ = writeln!(self.consts, "const {name} = {values};");
            names.push(name);
        }
        Ok(format!(
            "tflite::requantize_per_channel({acc}, {}, {max_right}, {zy}, {lo}, {hi}, EXACT)",
            names.join(", ")
        ))
    }

    /// A description of a layer's scales for the program's comment.
    fn scales_comment(layer: &WeightedLayer) -> String {
        let filter = match &layer.filter.scales[..] {
            [s] => s.to_string(),
            many => format!("per channel ({} scales)", many.len()),
        };
        format!("scale {} * {filter} / {}", layer.input.0, layer.output.0)
    }

    /// FULLY_CONNECTED: the input flattened to [batches, depth] times the
    /// transposed [outputs, depth] filter, plus bias, requantized like a convolution.
    fn fully_connected(&mut self, op: &Operator) -> Result<(), String> {
        let layer = self.weighted_layer(op, 0)?;
        let [x, w, b, y] = layer.tensors;
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
        let range = clamp_range(*activation, layer.output, layer.ty, op)?;
        let xin = self.input(x, op)?;
        let acc = format!(
            "{} @ {} + {bname}",
            less_zero_point(
                &format!("reshape({xin}, [{batches}, {depth}])"),
                layer.input.1
            ),
            less_zero_point(&wname, layer.filter.zero_point)
        );
        let requantized = self
            .requantize(&acc, &layer, range)
            .map_err(|why| refuse(op, &why))?;
        let _ = writeln!(
            self.body,
            "    // op {} FULLY_CONNECTED: {}\n    let t{y} = reshape({requantized}, [{}]);",
            op.index,
            Self::scales_comment(&layer),
            dims(&self.shape(y))
        );
        self.names.insert(y, format!("t{y}"));
        Ok(())
    }

    /// ADD of two tensors of the same type, broadcasting, as TFLite's reference
    /// kernels (uint8 and int8 alike): both inputs are brought to a common scale
    /// (twice the larger input scale) with 20 bits of headroom, added, and the
    /// sum requantized to the output.
    fn add(&mut self, op: &Operator) -> Result<(), String> {
        let ([a, b], [y]) = (op.inputs.as_slice(), op.outputs.as_slice()) else {
            return Err(refuse(op, "it must have two inputs and one output"));
        };
        let Options::Add { activation } = &op.options else {
            return Err(refuse(op, "its options are missing"));
        };
        let ty = self.activation_type(
            op,
            &[(*a, "first input"), (*b, "second input"), (*y, "output")],
        )?;
        // Each input is rescaled on its own shape; the sum broadcasts as numpy does.
        match mpcvm::shape::broadcast(&self.shape(*a), &self.shape(*b)) {
            Ok(shape) if shape == self.shape(*y) => {}
            _ => {
                return Err(refuse(
                    op,
                    &format!(
                        "inputs of shapes {:?} and {:?} do not broadcast to its output's {:?}",
                        self.shape(*a),
                        self.shape(*b),
                        self.shape(*y)
                    ),
                ))
            }
        }
        let ((sa, za), (sb, zb), (sy, zy)) = (
            scale_zp(self.tensor(*a), op, "first input")?,
            scale_zp(self.tensor(*b), op, "second input")?,
            scale_zp(self.tensor(*y), op, "output")?,
        );
        const LEFT_SHIFT: i32 = 20;
        let twice_max = 2.0 * sa.max(sb);
        let multiplier = |m: f64| quantize_multiplier(m).map_err(|why| refuse(op, &why));
        let (ma, sha) = multiplier(sa / twice_max)?;
        let (mb, shb) = multiplier(sb / twice_max)?;
        let (my, shy) = multiplier(twice_max / ((1u64 << LEFT_SHIFT) as f64 * sy))?;
        let (lo, hi) = clamp_range(*activation, (sy, zy), ty, op)?;
        let (ain, bin) = (self.input(*a, op)?, self.input(*b, op)?);
        let name = format!("t{y}");
        let _ = writeln!(
            self.body,
            "    // op {} ADD: scales {sa} + {sb} -> {sy}\n    let {name} = tflite::requantize(tflite::multiply_by_quantized_multiplier({} << {LEFT_SHIFT}, {ma}, {sha}, EXACT) + tflite::multiply_by_quantized_multiplier({} << {LEFT_SHIFT}, {mb}, {shb}, EXACT), {my}, {shy}, {zy}, {lo}, {hi}, EXACT);",
            op.index,
            less_zero_point(&ain, za),
            less_zero_point(&bin, zb)
        );
        self.names.insert(*y, name);
        Ok(())
    }

    fn convolution(&mut self, op: &Operator) -> Result<(), String> {
        let depthwise = op.code == code::DEPTHWISE_CONV_2D;
        let layer = self.weighted_layer(op, if depthwise { 3 } else { 0 })?;
        let [x, w, b, y] = layer.tensors;
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
        let range = clamp_range(activation, layer.output, layer.ty, op)?;
        let xin = self.input(x, op)?;
        let f = if depthwise {
            "depthwise_conv2d"
        } else {
            "conv2d"
        };
        let acc = format!(
            "{f}({}, {}, stride = [{}, {}], padding = {}) + {bname}",
            less_zero_point(&xin, layer.input.1),
            less_zero_point(&wname, layer.filter.zero_point),
            stride[0],
            stride[1],
            pad(padding)
        );
        let requantized = self
            .requantize(&acc, &layer, range)
            .map_err(|why| refuse(op, &why))?;
        let _ = writeln!(
            self.body,
            "    // op {} {}: {}\n    let t{y} = {requantized};",
            op.index,
            operator_name(op.code),
            Self::scales_comment(&layer)
        );
        self.names.insert(y, format!("t{y}"));
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
        let ty = self.activation_type(op, &[(*x, "input"), (*y, "output")])?;
        let (qx, qy) = (
            scale_zp(self.tensor(*x), op, "input")?,
            scale_zp(self.tensor(*y), op, "output")?,
        );
        if qx != qy {
            return Err(refuse(
                op,
                "its input and output must have equal scale and zero point",
            ));
        }
        let (lo, hi) = clamp_range(*activation, qy, ty, op)?;
        let xin = self.input(*x, op)?;
        let window = format!("[{}, {}]", filter[0], filter[1]);
        let strides = format!("[{}, {}]", stride[0], stride[1]);
        let name = format!("t{y}");
        if op.code == code::MAX_POOL_2D {
            let _ = writeln!(self.body, "    // op {} MAX_POOL_2D\n    let {name} = clamp(max_pool({xin}, {window}, stride = {strides}, padding = {}), {lo}, {hi});", op.index, pad(*padding));
        } else {
            self.average_pool(op, (*x, *y), ty, [*filter, *stride], *padding)?;
        }
        self.names.insert(*y, name);
        Ok(())
    }

    /// AVERAGE_POOL_2D as TFLite rounds it: the sum of each window's real
    /// elements divided by their count, rounded half away from zero (for uint8,
    /// whose sums are never negative, half up). The division is a product with a
    /// magic reciprocal and an exact shift on a sum made nonnegative (int8 sums
    /// are offset by 128 per element), checked here for every sum the window can
    /// have; an int8 window of even count takes one comparison for the sign.
    fn average_pool(
        &mut self,
        op: &Operator,
        (x, y): (i32, i32),
        ty: ElementType,
        [filter, stride]: [[i32; 2]; 2],
        padding: Padding,
    ) -> Result<(), String> {
        let xs = self.shape(x);
        let our = our_padding(padding);
        let geo = PoolGeometry::new(
            [xs[1], xs[2]],
            [filter[0] as usize, filter[1] as usize],
            [stride[0] as usize, stride[1] as usize],
            our,
        );
        const SHIFT: u32 = 32;
        let signed = ty == ElementType::Int8;
        let offset = if signed { 128 } else { 0 };
        let (mut adds, mut magics, mut evens) = (Vec::new(), Vec::new(), Vec::new());
        for oy in 0..geo.out[0] {
            for ox in 0..geo.out[1] {
                let count = geo.window_count(oy, ox) as u64;
                if count == 0 {
                    return Err(refuse(op, "a window that covers no input element"));
                }
                let magic = (1u64 << SHIFT).div_ceil(count);
                let top = count * 255 + count / 2;
                if (0..=top).any(|n| (n * magic) >> SHIFT != n / count) {
                    return Err(refuse(
                        op,
                        &format!("no exact reciprocal for a window of {count} elements"),
                    ));
                }
                adds.push((count / 2 + offset * count) as i64);
                magics.push(magic as i64);
                // Half away from zero differs from half up only for negative
                // sums of windows of even count: ties there round down.
                evens.push((signed && count.is_multiple_of(2)) as i64);
            }
        }
        let positions = [1, geo.out[0], geo.out[1], 1];
        let xin = self.input(x, op)?;
        let (lo, hi) = type_range(ty);
        let sum = format!(
            "sum_pool({xin}, [{}, {}], stride = [{}, {}], padding = {})",
            filter[0],
            filter[1],
            stride[0],
            stride[1],
            pad(padding)
        );
        let mut numerator = format!("s{y} as sint<63> + {}", table(&adds, &positions));
        if evens.contains(&1) {
            // The sum's sign, compared on the bits its largest magnitude needs.
            let largest = 128 * geo.window[0] as u64 * geo.window[1] as u64;
            let bits = 65 - largest.leading_zeros();
            numerator += &format!(
                " - (s{y} as sint<{bits}> < 0) as sint<16> * {}",
                table(&evens, &positions)
            );
        }
        let _ = writeln!(
            self.body,
            "    // op {} AVERAGE_POOL_2D\n    let s{y} = {sum};\n    let t{y} = clamp(((({numerator}) * {}) >> {SHIFT}){}, {lo}, {hi});",
            op.index,
            table(&magics, &positions),
            if signed { " - 128" } else { "" }
        );
        Ok(())
    }

    /// SOFTMAX, computed securely by `tflite::quantized_softmax` along the last axis.
    fn softmax(&mut self, op: &Operator) -> Result<(), String> {
        let ([x], [y]) = (op.inputs.as_slice(), op.outputs.as_slice()) else {
            return Err(refuse(op, "it must have one input and one output"));
        };
        let Options::Softmax { beta } = &op.options else {
            return Err(refuse(op, "its options are missing"));
        };
        let ty = self.activation_type(op, &[(*x, "input"), (*y, "output")])?;
        let ((sx, _), (sy, zy)) = (
            scale_zp(self.tensor(*x), op, "input")?,
            scale_zp(self.tensor(*y), op, "output")?,
        );
        let shape = self.shape(*x);
        let n = shape.last().copied().unwrap_or(1);
        let rows = shape.iter().product::<usize>() / n.max(1);
        let beta_scale = *beta as f64 * sx;
        // The fixed-point arithmetic holds magnitudes below 2^10 (see stdlib/tflite.mpc).
        if n >= 1024 || beta_scale * 255.0 >= 1024.0 {
            return Err(refuse(op, &format!("a softmax over {n} values with beta * scale {beta_scale} (the secure softmax takes fewer than 1024 values and beta * scale * 255 below 1024)")));
        }
        // Newton's iterations for 1 / s: (1 - 1/N)^(2^k) below 2^-20.
        let iterations = (n as f64 * 20.0 * 2f64.ln()).log2().ceil().max(0.0) as u32;
        let (lo, hi) = type_range(ty);
        let xin = self.input(*x, op)?;
        let _ = writeln!(
            self.body,
            "    // op {} SOFTMAX: beta {beta}, scale {sx} -> {sy}\n    let t{y} = reshape(tflite::quantized_softmax(reshape({xin}, [{rows}, {n}]), {beta_scale}, {sy}, {zy}, {lo}, {hi}, {iterations}), [{}]);",
            op.index,
            dims(&self.shape(*y))
        );
        self.names.insert(*y, format!("t{y}"));
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
    let tensors = model.tensors.len();
    if let Some(id) = model
        .inputs
        .iter()
        .chain(&model.outputs)
        .find(|&&id| usize::try_from(id).map_or(true, |i| i >= tensors))
    {
        return Err(format!(
            "the model's inputs or outputs refer to tensor {id}, which it does not have"
        ));
    }
    if model.outputs.is_empty() {
        return Err("the model has no outputs".into());
    }
    let mut im = Importer {
        model,
        names: HashMap::new(),
        weights: Vec::new(),
        consts: String::new(),
        decls: String::new(),
        body: String::new(),
    };
    let image = im.tensor(*input);
    if !matches!(image.ty, ElementType::UInt8 | ElementType::Int8) {
        return Err(format!(
            "the model's input '{}' is {:?}; this version takes uint8 or int8",
            image.name, image.ty
        ));
    }
    let image_shape = im.shape(*input);
    im.names.insert(*input, "image".into());
    // Every operator this version cannot import, named at once, before any other check.
    let unsupported: Vec<String> = model
        .operators
        .iter()
        .filter(|op| !SUPPORTED.contains(&op.code))
        .map(|op| format!("{} ({})", op.index, operator_name(op.code)))
        .collect();
    if !unsupported.is_empty() {
        return Err(format!(
            "the model has operators this version does not import: {}; it imports {SUPPORTED_NAMES}",
            unsupported.join(", ")
        ));
    }
    let mut result = None;
    for (k, op) in model.operators.iter().enumerate() {
        if op.inputs.is_empty() || op.outputs.is_empty() {
            return Err(refuse(op, "it has no inputs or no outputs"));
        }
        im.check_operands(op)?;
        match op.code {
            code::CONV_2D | code::DEPTHWISE_CONV_2D => im.convolution(op)?,
            code::AVERAGE_POOL_2D | code::MAX_POOL_2D => im.pool(op)?,
            code::FULLY_CONNECTED => im.fully_connected(op)?,
            code::ADD => im.add(op)?,
            code::RESHAPE => {
                let (x, y) = (op.inputs[0], op.outputs[0]);
                let (from, to) = (im.shape(x), im.shape(y));
                if from.iter().product::<usize>() != to.iter().product::<usize>() {
                    return Err(refuse(
                        op,
                        &format!(
                            "it reshapes {from:?} to {to:?}, which has another number of elements"
                        ),
                    ));
                }
                let xin = im.input(x, op)?;
                let _ = writeln!(
                    im.body,
                    "    // op {} RESHAPE\n    let t{y} = reshape({xin}, [{}]);",
                    op.index,
                    dims(&im.shape(y))
                );
                im.names.insert(y, format!("t{y}"));
            }
            code::SOFTMAX if k + 1 == model.operators.len() && reveal != Reveal::Output => {
                // The client receives the logits or their argmax: the softmax is not computed.
                result = Some(op.inputs[0]);
            }
            code::SOFTMAX => im.softmax(op)?,
            _ => unreachable!("unsupported operators are refused above"),
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
    let _ = writeln!(program, "import tflite;\n\nparty model = 0;\nparty client = 1;\n\n// true: TFLite's rounding exactly; false: probabilistic rounding (at most one unit off, cheaper).\nconst EXACT = false;");
    if !im.consts.is_empty() {
        let _ = writeln!(program, "\n// Per-channel requantization (tflite::multiply_by_quantized_multiplier_per_channel).\n{}", im.consts.trim_end());
    }
    let _ = writeln!(program, "\nfn main() {{");
    program += &im.decls;
    // An int8 image is declared with 8 bits, so that mpcvm reads raw bytes as two's complement.
    let (image_type, image_bits) = if image.ty == ElementType::Int8 {
        ("int8", 8)
    } else {
        ("uint8", 16)
    };
    let _ = writeln!(
        program,
        "    let image: sint<{image_bits}>[{}] = input(client);  // {} ({image_type})",
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
        Reveal::Output => (
            format!("    let output = {logits_name};\n    reveal output to client;"),
            format!(
                "output: int64 {:?}, quantized with scale {out_scale} and zero point {out_zp}",
                im.shape(logits)
            ),
        ),
    };
    let _ = writeln!(program, "{reveal_line}\n}}");
    let raw = format!(
        ", or image.bin, its {} bytes in row-major order{}",
        image_shape.iter().product::<usize>(),
        if image.ty == ElementType::Int8 {
            " (two's complement)"
        } else {
            ""
        }
    );
    let description = format!(
        "Model owner (party 0): weights/<name>.npy for {} weight tensors (int64 values of the {image_type} weights and int32 biases).\nClient (party 1): image.npy, shape {:?}, {image_type} values{raw} (the model's input '{}', scale {}, zero point {}).\nClient receives: {described}.\n",
        im.weights.len(),
        image_shape,
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
    fn every_unsupported_operator_is_named_at_once_before_other_checks() {
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
            operators: vec![
                Operator {
                    index: 0,
                    code: 18,
                    version: 1,
                    inputs: vec![0, 0],
                    outputs: vec![1],
                    options: Options::None,
                },
                Operator {
                    index: 1,
                    code: 99,
                    version: 1,
                    // Malformed too: the operator check comes first.
                    inputs: vec![],
                    outputs: vec![],
                    options: Options::None,
                },
            ],
            inputs: vec![0],
            outputs: vec![1],
            buffers: vec![vec![]],
        };
        let e = import(&model, "m.tflite", Reveal::Logits)
            .err()
            .expect("refused");
        assert!(
            e.starts_with("the model has operators this version does not import: 0 (MUL), 1 (SQUARED_DIFFERENCE); it imports CONV_2D"),
            "{e}"
        );
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        // M0 in [2^30, 2^31) and m = M0 * 2^(shift - 31).
        for m in [0.5, 0.75, 0.001_234, 1.0, 3.7, 1.0 / 3.0] {
            let (q, shift) = quantize_multiplier(m).unwrap();
            assert!((1 << 30..1 << 31).contains(&q), "{m}: {q}");
            assert!(
                (q as f64 * 2f64.powi(shift - 31) - m).abs() <= m * 1e-9,
                "{m}"
            );
        }
        assert_eq!(quantize_multiplier(0.5), Ok((1 << 30, 0)));
        // As TFLite: below 2^-32, zero; not finite, or above 2^30, refused.
        assert_eq!(quantize_multiplier(1e-12), Ok((0, 0)));
        for m in [f64::INFINITY, f64::NAN, 1e10, -0.5] {
            assert!(quantize_multiplier(m).is_err(), "{m}");
        }
    }
}

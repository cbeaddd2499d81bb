//! MobileNet V1 (Howard et al. 2017) as a quantized TFLite model with random
//! weights, in the layout of the hosted `mobilenet_v1_*_quant` models that
//! Dalskov et al. evaluate: a 3x3 stride-2 convolution, 13 depthwise separable
//! blocks (3x3 depthwise and 1x1 pointwise, each with ReLU6), a global average
//! pooling, a 1x1 convolution to 1001 logits, RESHAPE and SOFTMAX. Either uint8
//! with per-tensor filters (as the hosted models) or int8 with per-channel
//! filters (as TFLite's current converter makes them). Scales are chosen so
//! that activations neither vanish nor saturate.

use crate::tflite_builder::{model, Field, OperatorSpec, TensorSpec};
use crate::TestRng;

/// Activations after ReLU6 use the whole 8-bit range, as in the hosted models.
const ACTIVATION_SCALE: f32 = 6.0 / 255.0;

/// How the model is quantized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantized {
    /// uint8 activations and filters, one scale per filter.
    UInt8PerTensor,
    /// int8 activations and filters, one scale per output channel (zero points 0).
    Int8PerChannel,
}

struct Builder {
    tensors: Vec<TensorSpec>,
    ops: Vec<OperatorSpec>,
    rng: TestRng,
    quantized: Quantized,
}

impl Builder {
    fn tensor(
        &mut self,
        shape: Vec<usize>,
        ty: i8,
        scale: f32,
        zero_point: i64,
        data: Vec<u8>,
    ) -> i32 {
        self.tensors.push(TensorSpec {
            shape: shape.iter().map(|&d| d as i32).collect(),
            ty,
            scale,
            zero_point,
            per_channel: None,
            data,
        });
        self.tensors.len() as i32 - 1
    }

    /// A computed 8-bit tensor; `uint8_zero_point` is its zero point as uint8
    /// (an int8 tensor holding the same real values has it less 128).
    fn activation(&mut self, shape: Vec<usize>, scale: f32, uint8_zero_point: i64) -> i32 {
        match self.quantized {
            Quantized::UInt8PerTensor => self.tensor(shape, 3, scale, uint8_zero_point, vec![]),
            Quantized::Int8PerChannel => {
                self.tensor(shape, 9, scale, uint8_zero_point - 128, vec![])
            }
        }
    }

    /// A convolution (depthwise if `depthwise`) of `x` with a `k`x`k` filter,
    /// SAME padding; returns the output tensor. The filter scale makes the
    /// accumulator's spread about 60 output units before the clamp.
    #[allow(clippy::too_many_arguments)]
    fn convolution(
        &mut self,
        x: i32,
        [h, w, c]: [usize; 3],
        outs: usize,
        k: usize,
        stride: usize,
        depthwise: bool,
        relu6: bool,
        input_rms: f32,
    ) -> (i32, [usize; 3]) {
        let sx = self.tensors[x as usize].scale;
        let fan_in = if depthwise { k * k } else { k * k * c };
        // Uniform 8-bit weights around their zero point have an rms of about 74.
        let sy = if relu6 { ACTIVATION_SCALE } else { 0.1 };
        let sw = 60.0 * sy / (sx * 74.0 * input_rms * (fan_in as f32).sqrt());
        let filter_shape = if depthwise {
            vec![1, k, k, outs]
        } else {
            vec![outs, k, k, c]
        };
        let n = filter_shape.iter().product::<usize>();
        let per_channel = self.quantized == Quantized::Int8PerChannel;
        let filter: Vec<u8> = (0..n)
            .map(|_| {
                if per_channel {
                    self.rng.int(-127, 128) as i8 as u8
                } else {
                    self.rng.int(0, 256) as u8
                }
            })
            .collect();
        let bias: Vec<u8> = (0..outs)
            .flat_map(|_| (self.rng.int(-2000, 2000) as i32).to_le_bytes())
            .collect();
        let out = [h.div_ceil(stride), w.div_ceil(stride), outs];
        let wt = if per_channel {
            let scales = (0..outs)
                .map(|_| sw * self.rng.uniform(0.5, 2.0) as f32)
                .collect();
            let axis = if depthwise { 3 } else { 0 };
            let t = self.tensor(filter_shape, 9, sw, 0, filter);
            self.tensors[t as usize].per_channel = Some((scales, axis));
            t
        } else {
            self.tensor(filter_shape, 3, sw, 128, filter)
        };
        let bt = self.tensor(vec![outs], 2, sx * sw, 0, bias);
        let (zy, activation) = if relu6 { (0, 3) } else { (128, 0) };
        let y = self.activation(vec![1, out[0], out[1], outs], sy, zy);
        let strides = [
            (1, Field::I32(stride as i32)),
            (2, Field::I32(stride as i32)),
        ];
        let [s1, s2] = strides;
        let (code, kind, options) = if depthwise {
            let multiplier = (3, Field::I32((outs / c) as i32));
            (
                4,
                2,
                vec![
                    (0, Field::I8(0)),
                    s1,
                    s2,
                    multiplier,
                    (4, Field::I8(activation)),
                ],
            )
        } else {
            (
                3,
                1,
                vec![(0, Field::I8(0)), s1, s2, (3, Field::I8(activation))],
            )
        };
        self.ops
            .push((code, vec![x, wt, bt], vec![y], kind, options));
        (y, out)
    }
}

/// MobileNet V1 with width multiplier `width` (0.25 to 1.0) on a `resolution`²
/// RGB image (96 to 224), quantized as `quantized`, its weights drawn from `seed`.
pub fn mobilenet_v1(width: f64, resolution: usize, quantized: Quantized, seed: u64) -> Vec<u8> {
    let channels = |c: usize| ((c as f64 * width) as usize).max(8);
    let mut b = Builder {
        tensors: Vec::new(),
        ops: Vec::new(),
        rng: TestRng(seed),
        quantized,
    };
    // The image in [-1, 1]: scale 1/128, zero point 128, as the hosted models take it.
    let image = b.activation(vec![1, resolution, resolution, 3], 1.0 / 128.0, 128);
    // A uniform image around its zero point has an rms of about 74 units; ReLU6 outputs about 50.
    let (mut x, mut shape) = b.convolution(
        image,
        [resolution, resolution, 3],
        channels(32),
        3,
        2,
        false,
        true,
        74.0,
    );
    let blocks = [
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    ];
    for (outs, stride) in blocks {
        let c = shape[2];
        (x, shape) = b.convolution(x, shape, c, 3, stride, true, true, 50.0);
        (x, shape) = b.convolution(x, shape, channels(outs), 1, 1, false, true, 50.0);
    }
    // Global average pooling over the last feature map (VALID, one window).
    let [h, w, c] = shape;
    let pooled = b.activation(vec![1, 1, 1, c], ACTIVATION_SCALE, 0);
    let window = vec![
        (0, Field::I8(1)),
        (1, Field::I32(1)),
        (2, Field::I32(1)),
        (3, Field::I32(w as i32)),
        (4, Field::I32(h as i32)),
    ];
    b.ops.push((1, vec![x], vec![pooled], 5, window));
    let (logits, _) = b.convolution(pooled, [1, 1, c], 1001, 1, 1, false, false, 50.0);
    let shape_tensor = b.tensor(
        vec![2],
        2,
        1.0,
        0,
        [1i32, 1001].iter().flat_map(|v| v.to_le_bytes()).collect(),
    );
    let flat = b.activation(vec![1, 1001], 0.1, 128);
    b.ops
        .push((22, vec![logits, shape_tensor], vec![flat], 0, vec![]));
    let probabilities = b.activation(vec![1, 1001], 1.0 / 256.0, 0);
    b.ops.push((
        25,
        vec![flat],
        vec![probabilities],
        9,
        vec![(0, Field::F32(1.0))],
    ));
    model(&b.tensors, b.ops, vec![image], vec![probabilities])
}

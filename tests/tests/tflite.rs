//! Our TFLite reader on the shared quantized MNIST model (its layout is given in
//! ../shared/models/README.md), and on corrupted copies of it.

use mpc_tests::shared_dir;
use mpcc::tflite::model::{code, operator_name, Activation, ElementType, Options, Padding};
use proptest::prelude::*;

fn model_bytes() -> Vec<u8> {
    std::fs::read(shared_dir().join("models/MNISTnet_uint8_quant.tflite")).unwrap()
}

#[test]
fn reads_the_shared_mnist_model() {
    let m = mpcc::tflite::parse(&model_bytes()).unwrap();
    // Operators in order, with their input and output tensors (README of the model).
    let expected: &[(i32, &[i32], i32, &[i32])] = &[
        (code::DEPTHWISE_CONV_2D, &[22, 8, 6], 7, &[1, 14, 14, 32]),
        (code::DEPTHWISE_CONV_2D, &[7, 11, 10], 9, &[1, 14, 14, 32]),
        (code::CONV_2D, &[9, 14, 12], 13, &[1, 14, 14, 64]),
        (code::DEPTHWISE_CONV_2D, &[13, 17, 16], 15, &[1, 7, 7, 64]),
        (code::CONV_2D, &[15, 20, 18], 19, &[1, 7, 7, 128]),
        (code::AVERAGE_POOL_2D, &[19], 0, &[1, 1, 1, 128]),
        (code::CONV_2D, &[0, 3, 2], 1, &[1, 1, 1, 10]),
        (code::RESHAPE, &[1, 5], 4, &[1, 10]),
        (code::SOFTMAX, &[4], 21, &[1, 10]),
    ];
    assert_eq!(m.operators.len(), expected.len());
    for (op, (c, ins, out, shape)) in m.operators.iter().zip(expected) {
        assert_eq!(
            op.code,
            *c,
            "operator {} is {}",
            op.index,
            operator_name(op.code)
        );
        assert_eq!(&op.inputs, ins);
        assert_eq!(op.outputs, vec![*out]);
        assert_eq!(m.tensors[*out as usize].shape, *shape);
    }
    let input = &m.tensors[m.inputs[0] as usize];
    assert_eq!(
        (input.name.as_str(), input.ty, input.shape.as_slice()),
        ("input", ElementType::UInt8, &[1, 28, 28, 1][..])
    );
    let q = input.quantization.as_ref().unwrap();
    assert!((q.scale[0] - 1.0 / 127.0).abs() < 1e-9 && q.zero_point == vec![128]);
    let logits = m.tensors[4].quantization.as_ref().unwrap();
    assert!((logits.scale[0] - 0.146_070_15).abs() < 1e-7 && logits.zero_point == vec![108]);
    // Weights are uint8 with their bytes in a buffer; biases int32.
    let weights = &m.tensors[m.operators[2].inputs[1] as usize];
    assert_eq!(weights.ty, ElementType::UInt8);
    assert_eq!(
        m.buffers[weights.buffer as usize].len(),
        weights.shape.iter().product::<i32>() as usize
    );
    assert_eq!(
        m.tensors[m.operators[2].inputs[2] as usize].ty,
        ElementType::Int32
    );
    // Options: strides, depth multiplier, the pooling window. This converter left
    // the fused activation NONE and expressed ReLU6 by the output's quantization:
    // zero point 0 and scale about 6/255, so the uint8 clamp is the ReLU6.
    match &m.operators[0].options {
        Options::DepthwiseConv2d {
            stride,
            activation,
            padding,
            depth_multiplier,
            ..
        } => {
            assert_eq!(
                (*stride, *activation, *padding, *depth_multiplier),
                ([2, 2], Activation::None, Padding::Same, 32)
            );
        }
        other => panic!("{other:?}"),
    }
    let relu6 = &m.tensors[7];
    assert!(relu6.name.ends_with("Relu6"));
    assert_eq!(relu6.quantization.as_ref().unwrap().zero_point, vec![0]);
    match &m.operators[5].options {
        Options::Pool2d { filter, .. } => assert_eq!(*filter, [7, 7]),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mpc_tests::proptest_cases(500), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_models_are_refused_or_read_without_panicking(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let mut b = model_bytes();
        for (at, x) in flips {
            let n = b.len();
            b[at % n] ^= x;
        }
        let _ = mpcc::tflite::parse(&b);
        let keep = cut % b.len();
        let _ = mpcc::tflite::parse(&b[..keep]);
    }
}

/// TFLite's reference integer arithmetic, transcribed (gemmlowp; C++ `/` truncates like Rust's).
mod reference_arith {
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
}

#[test]
fn requantization_matches_tflite_bit_for_bit() {
    use mpc_tests::*;
    let mut rng = TestRng(51);
    let mut acc: Vec<f64> = [0i64, 1, -1, 2, -2, 1 << 20, -(1 << 20)]
        .iter()
        .map(|&v| v as f64)
        .collect();
    acc.extend(rng.ints(300, -(1 << 24), 1 << 24));
    acc.extend(rng.ints(100, -1000, 1000));
    let n = acc.len();
    let multipliers = [
        1 << 30,
        1_518_500_250,
        i32::MAX,
        1_234_567_890,
        1_900_000_123,
    ];
    for (k, &m) in multipliers.iter().enumerate() {
        for shift in [-12, -7, -1, 0, 1, 3] {
            let text = format!(
                "import tflite; party a = 0;
                 fn main() {{
                     let acc: sint<32>[{n}] = input(a);
                     let exact = tflite::multiply_by_quantized_multiplier(acc, {m}, {shift}, true);
                     let rounded = tflite::multiply_by_quantized_multiplier(acc, {m}, {shift}, false);
                     reveal exact to a; reveal rounded to a;
                 }}"
            );
            let c = compile_text(&text, mpcc::elaborate::Options::default());
            let ins = inputs(&c.program, &[("acc", acc.clone())]);
            let out = run_clear(&c.program, &ins, 5);
            let want: Vec<f64> = acc
                .iter()
                .map(|&x| {
                    reference_arith::multiply_by_quantized_multiplier(x as i32, m, shift) as f64
                })
                .collect();
            assert_eq!(
                output(&c.program, &out, "exact"),
                want,
                "M0 {m}, shift {shift}"
            );
            for (g, w) in output(&c.program, &out, "rounded").iter().zip(&want) {
                assert!((g - w).abs() <= 1.0, "M0 {m}, shift {shift}: {g} vs {w}");
            }
            // The same under rep3, for one multiplier.
            if k == 1 && shift == -7 {
                let rep3 = run_rep3(&c.program, &ins);
                let i = c
                    .program
                    .outputs
                    .iter()
                    .position(|o| o.name == "exact")
                    .unwrap();
                assert_eq!(rep3[0].outputs[i], out.outputs[i]);
            }
        }
    }
}

fn reference_logits() -> Vec<u8> {
    let bytes = std::fs::read(shared_dir().join("models/MNISTnet_uint8_quant.t10k_ref_logits.npy"))
        .unwrap();
    npyz::NpyFile::new(&bytes[..])
        .unwrap()
        .into_vec::<u8>()
        .unwrap()
}

/// The imported MNIST model with every weight and `image` as inputs.
fn imported(exact: bool) -> (mpcc::driver::Compiled, Vec<(String, Vec<f64>)>) {
    use mpcc::tflite::import::{import, Reveal};
    let m = mpcc::tflite::parse(&model_bytes()).unwrap();
    let im =
        import(&m, "MNISTnet_uint8_quant.tflite", Reveal::Logits).unwrap_or_else(|e| panic!("{e}"));
    let text = im
        .program
        .replace("const EXACT = false;", &format!("const EXACT = {exact};"));
    let c = mpc_tests::compile_text(&text, mpcc::elaborate::Options::default());
    let weights = im
        .weights
        .iter()
        .map(|w| (w.name.clone(), w.values.iter().map(|&v| v as f64).collect()))
        .collect();
    (c, weights)
}

fn run_image(
    c: &mpcc::driver::Compiled,
    weights: &[(String, Vec<f64>)],
    pixels: &[u8],
    i: usize,
) -> Vec<f64> {
    use mpc_tests::*;
    let mut values: Vec<(&str, Vec<f64>)> = weights
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    values.push((
        "image",
        pixels[i * 784..(i + 1) * 784]
            .iter()
            .map(|&p| p as f64)
            .collect(),
    ));
    let out = run_clear(&c.program, &inputs(&c.program, &values), i as u64);
    output(&c.program, &out, "logits")
}

#[test]
fn imported_mnist_model_is_bit_exact_with_exact_rounding() {
    let (c, weights) = imported(true);
    let (_, pixels) = mpc_tests::mnist::images("t10k");
    let reference = reference_logits();
    for i in 0..200 {
        let got = run_image(&c, &weights, &pixels, i);
        let want: Vec<f64> = reference[i * 10..(i + 1) * 10]
            .iter()
            .map(|&v| v as f64)
            .collect();
        assert_eq!(got, want, "image {i}");
    }
}

#[test]
fn imported_mnist_model_with_probabilistic_rounding_stays_within_one_unit() {
    let (c, weights) = imported(false);
    let (_, pixels) = mpc_tests::mnist::images("t10k");
    let labels = mpc_tests::mnist::labels("t10k");
    let reference = reference_logits();
    let (mut close, mut total, mut correct, mut reference_correct) = (0, 0, 0, 0);
    let n = 200;
    for i in 0..n {
        let got = run_image(&c, &weights, &pixels, i);
        let want: Vec<f64> = reference[i * 10..(i + 1) * 10]
            .iter()
            .map(|&v| v as f64)
            .collect();
        close += got
            .iter()
            .zip(&want)
            .filter(|(g, w)| (*g - *w).abs() <= 1.0)
            .count();
        total += 10;
        correct += (mpc_tests::reference::argmax(&got) == labels[i] as usize) as usize;
        reference_correct += (mpc_tests::reference::argmax(&want) == labels[i] as usize) as usize;
    }
    // The target: at least 99% of the logits within one unit.
    assert!(
        close as f64 >= 0.99 * total as f64,
        "{close} of {total} logits within one unit"
    );
    // Top-1 as the reference's, allowing one image of the 200 to flip.
    assert!(
        (correct as i64 - reference_correct as i64).abs() <= 1,
        "{correct} vs the reference's {reference_correct} of {n}"
    );
}

#[test]
fn imported_mnist_model_under_rep3() {
    let (_, pixels) = mpc_tests::mnist::images("t10k");
    let reference = reference_logits();
    for exact in [true, false] {
        let (c, weights) = imported(exact);
        for i in 0..3 {
            let mut values: Vec<(&str, Vec<f64>)> = weights
                .iter()
                .map(|(n, v)| (n.as_str(), v.clone()))
                .collect();
            values.push((
                "image",
                pixels[i * 784..(i + 1) * 784]
                    .iter()
                    .map(|&p| p as f64)
                    .collect(),
            ));
            let out = mpc_tests::run_rep3(&c.program, &mpc_tests::inputs(&c.program, &values));
            let at = c
                .program
                .outputs
                .iter()
                .position(|o| o.name == "logits")
                .unwrap();
            let got = mpcvm::io::decode_f64(
                out[1].outputs[at].as_ref().unwrap(),
                c.program.outputs[at].ty.elem,
            );
            let want: Vec<f64> = reference[i * 10..(i + 1) * 10]
                .iter()
                .map(|&v| v as f64)
                .collect();
            if exact {
                assert_eq!(got, want, "image {i}");
            } else {
                assert_eq!(
                    mpc_tests::reference::argmax(&got),
                    mpc_tests::reference::argmax(&want),
                    "image {i}: {got:?} vs {want:?}"
                );
            }
            assert!(
                out[0].outputs[at].is_none() && out[2].outputs[at].is_none(),
                "only the client learns the logits"
            );
            assert_eq!(
                out[0].figures.bytes_sent,
                mpcvm::backend::rep3::bytes_sent(&c.program)[0]
            );
        }
    }
}

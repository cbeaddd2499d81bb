//! Our TFLite reader on the shared quantized MNIST model (its layout is given in
//! ../shared/models/README.md), and on corrupted copies of it.

use mpc_tests::mobilenet::{mobilenet_v1, Quantized};
use mpc_tests::shared_dir;
use mpc_tests::tflite_reference::evaluate;
use mpcc::tflite::import::{import, Reveal};
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
        import_and_compile_without_panicking(&b);
        let keep = cut % b.len();
        let _ = mpcc::tflite::parse(&b[..keep]);
    }

    /// Tensor shapes, operator operands and options edited in a parsed model:
    /// the importer refuses or imports, and what it imports compiles or is
    /// refused with a diagnostic.
    #[test]
    fn edited_models_are_refused_or_imported_without_panicking(
        edits in prop::collection::vec((0usize..4, any::<usize>(), any::<usize>(), -3i32..40), 1..4),
    ) {
        let mut m = mpcc::tflite::parse(&model_bytes()).unwrap();
        for (what, a, b, v) in edits {
            let t = a % m.tensors.len();
            let op = a % m.operators.len();
            match what {
                0 => {
                    let shape = &mut m.tensors[t].shape;
                    if !shape.is_empty() {
                        let i = b % shape.len();
                        shape[i] = v;
                    }
                }
                1 => {
                    let rank = b % 6;
                    m.tensors[t].shape = (0..rank as i32).map(|i| (v + i).max(1)).collect();
                }
                2 => {
                    let ins = &mut m.operators[op].inputs;
                    let i = b % ins.len();
                    ins[i] = v % m.tensors.len() as i32;
                }
                _ => {
                    if let Options::Conv2d { stride, .. }
                    | Options::DepthwiseConv2d { stride, .. }
                    | Options::Pool2d { stride, .. } = &mut m.operators[op].options
                    {
                        stride[b % 2] = v;
                    }
                }
            }
        }
        import_model_and_compile(&m);
    }
}

/// Imports and compiles `bytes` if they parse; panics only if a stage panics.
fn import_and_compile_without_panicking(bytes: &[u8]) {
    if let Ok(m) = mpcc::tflite::parse(bytes) {
        import_model_and_compile(&m);
    }
}

fn import_model_and_compile(m: &mpcc::tflite::model::Model) {
    if let Ok(im) = import(m, "edited.tflite", Reveal::Logits) {
        let _ = mpcc::driver::compile_source(
            "edited.mpc",
            &im.program,
            None,
            mpcc::elaborate::Options::default(),
        );
    }
}

#[test]
fn tensor_names_never_become_code_or_control_bytes() {
    // Overwrite a weight's name in the file with one that ends its comment,
    // reveals the weights to the client and clears the terminal.
    let mut bytes = model_bytes();
    let m = mpcc::tflite::parse(&bytes).unwrap();
    let name = m
        .tensors
        .iter()
        .map(|t| t.name.clone())
        .max_by_key(|n| n.len())
        .unwrap();
    let mut payload = b"\nreveal w8 to client;\x1b[2J\n//".to_vec();
    assert!(payload.len() <= name.len());
    payload.resize(name.len(), b' ');
    let at = bytes
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .unwrap();
    bytes[at..at + name.len()].copy_from_slice(&payload);
    let patched = mpcc::tflite::parse(&bytes).unwrap();
    assert!(patched
        .tensors
        .iter()
        .all(|t| !t.name.chars().any(|c| c.is_control())));
    let im = import(&patched, "named.tflite", Reveal::Logits).unwrap();
    assert!(
        im.program.contains("_reveal w8 to client;_"),
        "the name is kept, made harmless"
    );
    assert!(
        !im.program
            .lines()
            .any(|l| l.trim_start().starts_with("reveal w")),
        "{}",
        im.program
    );
    assert!(!im.program.chars().any(|c| c.is_control() && c != '\n'));
    let c = mpc_tests::compile_text(&im.program, Default::default());
    assert_eq!(c.program.outputs.len(), 1);
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
                    mpc_tests::tflite_reference::multiply_by_quantized_multiplier(
                        x as i32, m, shift,
                    ) as f64
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

/// Per-channel requantization: each channel has its own multiplier and shift,
/// left or right; exact mode is bit-identical to TFLite, probabilistic within one.
#[test]
fn per_channel_requantization_matches_tflite_bit_for_bit() {
    use mpc_tests::*;
    let mut rng = TestRng(52);
    let multipliers: [i32; 6] = [
        1 << 30,
        1_518_500_250,
        i32::MAX,
        1_234_567_890,
        1_900_000_123,
        1_300_000_001,
    ];
    let shifts = [0, -1, -7, -12, 2, -3];
    let c = multipliers.len();
    let max_right = shifts.iter().map(|&s: &i32| (-s).max(0)).max().unwrap();
    let per_channel = |f: &dyn Fn(i32, i32) -> i64| {
        let v: Vec<String> = multipliers
            .iter()
            .zip(shifts)
            .map(|(&m, s)| f(m, s).to_string())
            .collect();
        format!("[{}]", v.join(", "))
    };
    let scales = per_channel(&|m, s| (m as i64) << s.max(0));
    let aligns = per_channel(&|_, s| 1 << (max_right - (-s).max(0)));
    let halves = per_channel(&|_, s| if s < 0 { 1 << (max_right - 1) } else { 0 });
    let downs = per_channel(&|_, s| if s < 0 { 1 << (max_right + s) } else { 0 });
    let rows = 80;
    let mut acc: Vec<f64> = rng.ints(rows * c / 2, -(1 << 22), 1 << 22);
    acc.extend(rng.ints(rows * c / 2, -1000, 1000));
    let text = format!(
        "import tflite; party a = 0;
         fn main() {{
             let acc: sint<32>[{rows}, {c}] = input(a);
             let exact = tflite::multiply_by_quantized_multiplier_per_channel(acc, {scales}, {aligns}, {halves}, {downs}, {max_right}, true);
             let rounded = tflite::multiply_by_quantized_multiplier_per_channel(acc, {scales}, {aligns}, {halves}, {downs}, {max_right}, false);
             reveal exact to a; reveal rounded to a;
         }}"
    );
    let compiled = compile_text(&text, mpcc::elaborate::Options::default());
    let ins = inputs(&compiled.program, &[("acc", acc.clone())]);
    let out = run_clear(&compiled.program, &ins, 5);
    let want: Vec<f64> = acc
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            mpc_tests::tflite_reference::multiply_by_quantized_multiplier(
                x as i32,
                multipliers[i % c],
                shifts[i % c],
            ) as f64
        })
        .collect();
    assert_eq!(output(&compiled.program, &out, "exact"), want);
    for (g, w) in output(&compiled.program, &out, "rounded").iter().zip(&want) {
        assert!((g - w).abs() <= 1.0, "{g} vs {w}");
    }
    // The exact output under rep3 too (the probabilistic one draws other randomness).
    let rep3 = run_rep3(&compiled.program, &ins);
    let exact = compiled
        .program
        .outputs
        .iter()
        .position(|o| o.name == "exact")
        .unwrap();
    assert_eq!(rep3[0].outputs[exact], out.outputs[exact]);
}

/// TFLite's reference outputs for the test images: `logits` or `outputs` (the softmax).
fn reference(what: &str) -> Vec<u8> {
    let bytes = std::fs::read(
        shared_dir().join(format!("models/MNISTnet_uint8_quant.t10k_ref_{what}.npy")),
    )
    .unwrap();
    npyz::NpyFile::new(&bytes[..])
        .unwrap()
        .into_vec::<u8>()
        .unwrap()
}

/// The imported MNIST model revealing the logits, with every weight as input.
fn imported(exact: bool) -> (mpcc::driver::Compiled, Vec<(String, Vec<f64>)>) {
    imported_revealing(exact, mpcc::tflite::import::Reveal::Logits)
}

fn imported_revealing(
    exact: bool,
    reveal: mpcc::tflite::import::Reveal,
) -> (mpcc::driver::Compiled, Vec<(String, Vec<f64>)>) {
    let m = mpcc::tflite::parse(&model_bytes()).unwrap();
    let im = mpcc::tflite::import::import(&m, "MNISTnet_uint8_quant.tflite", reveal)
        .unwrap_or_else(|e| panic!("{e}"));
    let text = im
        .program
        .replace("const EXACT = false;", &format!("const EXACT = {exact};"));
    let c = mpc_tests::compile_text(&text, mpcc::elaborate::Options::default());
    let weights = mpc_tests::weight_values(&im)
        .into_iter()
        .map(|(name, values)| (name.to_string(), values))
        .collect();
    (c, weights)
}

/// The logits (or the output named `name`) for test image `i`.
fn run_image(
    c: &mpcc::driver::Compiled,
    weights: &[(String, Vec<f64>)],
    pixels: &[u8],
    i: usize,
) -> Vec<f64> {
    run_image_output(c, weights, pixels, i, "logits")
}

/// The model's inputs: the weights and test image `i`.
fn with_image<'w>(
    weights: &'w [(String, Vec<f64>)],
    pixels: &[u8],
    i: usize,
) -> Vec<(&'w str, Vec<f64>)> {
    let mut values: Vec<(&str, Vec<f64>)> = weights
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    values.push(("image", mpc_tests::mnist::raw_image(pixels, i)));
    values
}

fn run_image_output(
    c: &mpcc::driver::Compiled,
    weights: &[(String, Vec<f64>)],
    pixels: &[u8],
    i: usize,
    name: &str,
) -> Vec<f64> {
    use mpc_tests::*;
    let values = with_image(weights, pixels, i);
    let out = run_clear(&c.program, &inputs(&c.program, &values), i as u64);
    output(&c.program, &out, name)
}

/// With `--reveal output` the final SOFTMAX is computed securely: on exact
/// logits, its uint8 probabilities are within one unit of TFLite's reference
/// outputs, and nearly all equal to them (clear on 100 images, rep3 on 2).
#[test]
fn imported_mnist_model_computes_the_softmax_securely() {
    let (c, weights) = imported_revealing(true, mpcc::tflite::import::Reveal::Output);
    let (_, pixels) = mpc_tests::mnist::images("t10k");
    let outputs = (0..102).map(|i| {
        if i < 100 {
            run_image_output(&c, &weights, &pixels, i, "output")
        } else {
            let values = with_image(&weights, &pixels, i);
            let out = mpc_tests::run_rep3(&c.program, &mpc_tests::inputs(&c.program, &values));
            mpc_tests::output(&c.program, &out[1], "output")
        }
    });
    assert_close_to_tflite_outputs(outputs, 1.0);
}

/// Each image's output (test images in order) is within `units` of TFLite's
/// reference output, and 99% of the values equal it.
fn assert_close_to_tflite_outputs(outputs: impl Iterator<Item = Vec<f64>>, units: f64) {
    let reference = reference("outputs");
    let (mut equal, mut total) = (0, 0);
    for (i, got) in outputs.enumerate() {
        for (g, &w) in got.iter().zip(&reference[i * 10..(i + 1) * 10]) {
            assert!((*g - w as f64).abs() <= units, "image {i}: {got:?}");
            equal += (*g == w as f64) as usize;
            total += 1;
        }
    }
    assert!(equal * 100 >= total * 99, "{equal} of {total} equal");
}

/// With probabilistic rounding (the default), the guard bits of
/// `tflite::multiply_by_quantized_multiplier` keep the logits nearly always
/// TFLite's, so the securely computed softmax stays within two units of TFLite's
/// reference outputs (it was off by up to 9 without them; 300 images).
#[test]
fn imported_mnist_model_with_probabilistic_rounding_gives_the_softmax_within_two_units() {
    let (c, weights) = imported_revealing(false, mpcc::tflite::import::Reveal::Output);
    let (_, pixels) = mpc_tests::mnist::images("t10k");
    let outputs = (0..300).map(|i| run_image_output(&c, &weights, &pixels, i, "output"));
    assert_close_to_tflite_outputs(outputs, 2.0);
}

#[test]
fn imported_mnist_model_is_bit_exact_with_exact_rounding() {
    let (c, weights) = imported(true);
    let (_, pixels) = mpc_tests::mnist::images("t10k");
    let reference = reference("logits");
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
    let reference = reference("logits");
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
    let reference = reference("logits");
    for exact in [true, false] {
        let (c, weights) = imported(exact);
        for i in 0..3 {
            let values = with_image(&weights, &pixels, i);
            let out = mpc_tests::run_rep3(&c.program, &mpc_tests::inputs(&c.program, &values));
            let at = c
                .program
                .outputs
                .iter()
                .position(|o| o.name == "logits")
                .unwrap();
            let got = mpc_tests::output(&c.program, &out[1], "logits");
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

/// Layer by layer: one-operator models built by hand (uint8 and int8), imported,
/// run under the clear backend with exact rounding, against the reference
/// interpreter of TFLite's kernels (`mpc_tests::tflite_reference`).
mod layers {
    use mpc_tests::reference::window_axis;
    use mpc_tests::tflite_builder::{model, Field, TensorSpec};
    use mpc_tests::tflite_reference::evaluate;
    use mpc_tests::*;
    use mpcc::tflite::import::{import, Reveal};

    struct Geometry {
        h: usize,
        w: usize,
        c: usize,
        k: usize,
        stride: usize,
        same: bool,
    }

    /// Runs the single-operator model on `image`; returns the output's values.
    fn run(bytes: &[u8], image: &[i64]) -> Vec<i64> {
        let m = mpcc::tflite::parse(bytes).unwrap();
        let im = import(&m, "layer.tflite", Reveal::Logits).unwrap_or_else(|e| panic!("{e}"));
        let c = compile_text(
            &im.program
                .replace("const EXACT = false;", "const EXACT = true;"),
            Default::default(),
        );
        let mut values = weight_values(&im);
        values.push(("image", image.iter().map(|&p| p as f64).collect()));
        let out = run_clear(&c.program, &inputs(&c.program, &values), 1);
        output(&c.program, &out, "logits")
            .iter()
            .map(|&v| v as i64)
            .collect()
    }

    /// Imports and runs `bytes` and compares its output with the reference interpreter's.
    fn check(bytes: &[u8], image: &[i64], case: &str) {
        let want = evaluate(&mpcc::tflite::parse(bytes).unwrap(), image, None);
        assert_eq!(run(bytes, image), want, "{case}");
    }

    /// A quantized activation type: uint8 or int8.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Activations {
        UInt8,
        Int8,
    }

    impl Activations {
        fn code(self) -> i8 {
            match self {
                Activations::UInt8 => 3,
                Activations::Int8 => 9,
            }
        }
        fn range(self) -> (i64, i64) {
            match self {
                Activations::UInt8 => (0, 256),
                Activations::Int8 => (-128, 128),
            }
        }
        fn draw(self, rng: &mut TestRng, n: usize) -> Vec<i64> {
            let (lo, hi) = self.range();
            (0..n).map(|_| rng.int(lo, hi)).collect()
        }
        fn bytes(values: &[i64]) -> Vec<u8> {
            values.iter().map(|&v| v as u8).collect()
        }
    }

    /// A convolution test case; `mult` and `outs` are the depth multiplier of a
    /// depthwise convolution and the output channels of a plain one.
    struct Convolution {
        depthwise: bool,
        mult: usize,
        outs: usize,
        relu6: bool,
        ty: Activations,
        per_channel: bool,
    }

    /// A convolution in TFLite's integer semantics.
    fn check_convolution(rng: &mut TestRng, g: Geometry, case: Convolution) {
        let Convolution {
            depthwise,
            mult,
            outs,
            relu6,
            ty,
            per_channel,
        } = case;
        let (sx, sy) = (
            rng.uniform(0.01, 0.05) as f32,
            rng.uniform(0.02, 0.1) as f32,
        );
        let (lo, hi) = ty.range();
        let (zx, zy) = (rng.int(lo, hi), rng.int(lo, hi));
        let oc = if depthwise { g.c * mult } else { outs };
        // Per channel: a scale per output channel spanning several shifts, zero points 0.
        let (sw, zw): (Vec<f32>, i64) = if per_channel {
            (
                (0..oc).map(|_| rng.uniform(0.0005, 0.08) as f32).collect(),
                0,
            )
        } else {
            (vec![rng.uniform(0.005, 0.02) as f32], rng.int(lo, hi))
        };
        let (oh, _) = window_axis(g.h, g.k, g.stride, g.same);
        let (ow, _) = window_axis(g.w, g.k, g.stride, g.same);
        let filter_shape: Vec<i32> = if depthwise {
            vec![1, g.k as i32, g.k as i32, oc as i32]
        } else {
            vec![oc as i32, g.k as i32, g.k as i32, g.c as i32]
        };
        let filter = ty.draw(rng, filter_shape.iter().product::<i32>() as usize);
        let bias: Vec<i32> = (0..oc).map(|_| rng.int(-3000, 3000) as i32).collect();
        let image = ty.draw(rng, g.h * g.w * g.c);
        let mut filter_tensor = tensor(ty, filter_shape, sw[0], zw, Activations::bytes(&filter));
        if per_channel {
            filter_tensor.per_channel = Some((sw.clone(), if depthwise { 3 } else { 0 }));
        }
        let tensors = [
            tensor(
                ty,
                vec![1, g.h as i32, g.w as i32, g.c as i32],
                sx,
                zx,
                vec![],
            ),
            filter_tensor,
            bias_tensor(&bias, sx * sw[0]),
            tensor(ty, vec![1, oh as i32, ow as i32, oc as i32], sy, zy, vec![]),
        ];
        let padding = Field::I8(if g.same { 0 } else { 1 });
        let (code, kind, options) = if depthwise {
            (
                4,
                2,
                vec![
                    (0, padding),
                    (1, Field::I32(g.stride as i32)),
                    (2, Field::I32(g.stride as i32)),
                    (3, Field::I32(mult as i32)),
                    (4, Field::I8(if relu6 { 3 } else { 0 })),
                ],
            )
        } else {
            (
                3,
                1,
                vec![
                    (0, padding),
                    (1, Field::I32(g.stride as i32)),
                    (2, Field::I32(g.stride as i32)),
                    (3, Field::I8(if relu6 { 3 } else { 0 })),
                ],
            )
        };
        let bytes = model(
            &tensors,
            vec![(code, vec![0, 1, 2], vec![3], kind, options)],
            vec![0],
            vec![3],
        );
        check(
            &bytes,
            &image,
            &format!(
                "{ty:?}, per channel {per_channel}, depthwise {depthwise}, stride {}, same {}, relu6 {relu6}",
                g.stride, g.same
            ),
        );
    }

    #[test]
    fn conv_2d_with_tflite_semantics() {
        let mut rng = TestRng(61);
        for (stride, same, relu6, ty, per_channel) in [
            (1, true, false, Activations::UInt8, false),
            (2, true, true, Activations::UInt8, false),
            (1, false, true, Activations::UInt8, false),
            (2, false, false, Activations::UInt8, false),
            (1, true, true, Activations::Int8, true),
            (2, false, false, Activations::Int8, true),
            (2, true, false, Activations::Int8, false),
        ] {
            check_convolution(
                &mut rng,
                Geometry {
                    h: 7,
                    w: 6,
                    c: 3,
                    k: 3,
                    stride,
                    same,
                },
                Convolution {
                    depthwise: false,
                    mult: 1,
                    outs: 6,
                    relu6,
                    ty,
                    per_channel,
                },
            );
        }
    }

    #[test]
    fn depthwise_conv_2d_with_tflite_semantics() {
        let mut rng = TestRng(62);
        for (stride, same, mult, relu6, ty, per_channel) in [
            (1, true, 1, false, Activations::UInt8, false),
            (2, true, 2, true, Activations::UInt8, false),
            (1, false, 3, false, Activations::UInt8, false),
            (2, false, 1, true, Activations::UInt8, false),
            (1, true, 2, true, Activations::Int8, true),
            (2, false, 3, false, Activations::Int8, true),
        ] {
            check_convolution(
                &mut rng,
                Geometry {
                    h: 6,
                    w: 7,
                    c: 2,
                    k: 3,
                    stride,
                    same,
                },
                Convolution {
                    depthwise: true,
                    mult,
                    outs: 0,
                    relu6,
                    ty,
                    per_channel,
                },
            );
        }
    }

    #[test]
    fn pooling_with_tflite_semantics() {
        let mut rng = TestRng(63);
        for (code, window, stride, same, ty) in [
            (1, 3, 2, true, Activations::UInt8),
            (1, 2, 2, false, Activations::UInt8),
            (1, 3, 1, true, Activations::UInt8),
            (17, 2, 2, false, Activations::UInt8),
            (17, 3, 2, true, Activations::UInt8),
            (1, 2, 1, true, Activations::Int8),
            (1, 3, 2, true, Activations::Int8),
            (17, 3, 2, true, Activations::Int8),
        ] {
            let (h, w, c) = (5usize, 6usize, 2usize);
            let (oh, _) = window_axis(h, window, stride, same);
            let (ow, _) = window_axis(w, window, stride, same);
            let (lo, hi) = ty.range();
            let (scale, zp) = (rng.uniform(0.01, 0.1) as f32, rng.int(lo, hi));
            let tensors = [
                tensor(ty, vec![1, h as i32, w as i32, c as i32], scale, zp, vec![]),
                tensor(
                    ty,
                    vec![1, oh as i32, ow as i32, c as i32],
                    scale,
                    zp,
                    vec![],
                ),
            ];
            let options = vec![
                (0, Field::I8(if same { 0 } else { 1 })),
                (1, Field::I32(stride as i32)),
                (2, Field::I32(stride as i32)),
                (3, Field::I32(window as i32)),
                (4, Field::I32(window as i32)),
            ];
            let bytes = model(
                &tensors,
                vec![(code, vec![0], vec![1], 5, options)],
                vec![0],
                vec![1],
            );
            // Small values, so that int8 window sums are often negative ties.
            let image: Vec<i64> = if ty == Activations::Int8 {
                (0..h * w * c).map(|_| rng.int(-3, 3)).collect()
            } else {
                ty.draw(&mut rng, h * w * c)
            };
            check(
                &bytes,
                &image,
                &format!("code {code}, window {window}, stride {stride}, same {same}, {ty:?}"),
            );
        }
    }

    fn tensor(
        ty: Activations,
        shape: Vec<i32>,
        scale: f32,
        zero_point: i64,
        data: Vec<u8>,
    ) -> TensorSpec {
        TensorSpec {
            shape,
            ty: ty.code(),
            scale,
            zero_point,
            per_channel: None,
            data,
        }
    }

    /// An int32 bias, quantized at the product of input and filter scales.
    fn bias_tensor(bias: &[i32], scale: f32) -> TensorSpec {
        TensorSpec {
            shape: vec![bias.len() as i32],
            ty: 2,
            scale,
            zero_point: 0,
            per_channel: None,
            data: bias.iter().flat_map(|b| b.to_le_bytes()).collect(),
        }
    }

    /// A FULLY_CONNECTED layer on a [1, 2, 3, 2] input (flattened to depth 12), and a
    /// residual block: FULLY_CONNECTED to the input's width, then ADD of the input;
    /// uint8 with a per-tensor filter, and int8 with a per-channel one.
    #[test]
    fn fully_connected_and_add_with_tflite_semantics() {
        let mut rng = TestRng(64);
        for (residual, relu6, ty) in [
            (false, false, Activations::UInt8),
            (false, true, Activations::UInt8),
            (true, false, Activations::UInt8),
            (true, true, Activations::UInt8),
            (false, true, Activations::Int8),
            (true, false, Activations::Int8),
        ] {
            let per_channel = ty == Activations::Int8;
            let (input_shape, depth, outs) = if residual {
                (vec![1, 8], 8usize, 8usize)
            } else {
                (vec![1, 2, 3, 2], 12, 5)
            };
            let (sx, sh, sy) = (
                rng.uniform(0.01, 0.05) as f32,
                rng.uniform(0.02, 0.1) as f32,
                rng.uniform(0.02, 0.1) as f32,
            );
            let (lo, hi) = ty.range();
            let (zx, zh, zy) = (rng.int(lo, hi), rng.int(lo, hi), rng.int(lo, hi));
            let (sw, zw): (Vec<f32>, i64) = if per_channel {
                (
                    (0..outs)
                        .map(|_| rng.uniform(0.0005, 0.08) as f32)
                        .collect(),
                    0,
                )
            } else {
                (vec![rng.uniform(0.005, 0.02) as f32], rng.int(lo, hi))
            };
            let filter = ty.draw(&mut rng, outs * depth);
            let bias: Vec<i32> = (0..outs).map(|_| rng.int(-3000, 3000) as i32).collect();
            let image = ty.draw(&mut rng, depth);
            let activation = || Field::I8(if relu6 { 3 } else { 0 });
            let mut filter_tensor = tensor(
                ty,
                vec![outs as i32, depth as i32],
                sw[0],
                zw,
                Activations::bytes(&filter),
            );
            if per_channel {
                filter_tensor.per_channel = Some((sw.clone(), 0));
            }
            let mut tensors = vec![
                tensor(ty, input_shape, sx, zx, vec![]),
                filter_tensor,
                bias_tensor(&bias, sx * sw[0]),
                tensor(ty, vec![1, outs as i32], sh, zh, vec![]),
            ];
            let mut ops = vec![(9, vec![0, 1, 2], vec![3], 8, vec![(0, activation())])];
            if residual {
                tensors.push(tensor(ty, vec![1, outs as i32], sy, zy, vec![]));
                ops.push((0, vec![3, 0], vec![4], 11, vec![(0, activation())]));
            }
            let last = tensors.len() as i32 - 1;
            let bytes = model(&tensors, ops, vec![0], vec![last]);

            check(
                &bytes,
                &image,
                &format!("residual {residual}, relu6 {relu6}, {ty:?}"),
            );
        }
    }

    /// Why importing `bytes` is refused (it must be).
    fn refusal(bytes: &[u8]) -> String {
        import(
            &mpcc::tflite::parse(bytes).unwrap(),
            "m.tflite",
            Reveal::Logits,
        )
        .err()
        .expect("refused")
    }

    /// A RESHAPE to another number of elements is refused at import.
    #[test]
    fn a_reshape_that_changes_the_element_count_is_refused_at_import() {
        let bytes = model(
            &[
                tensor(Activations::UInt8, vec![1, 4], 0.1, 0, vec![]),
                tensor(Activations::UInt8, vec![1, 241], 0.1, 0, vec![]),
            ],
            vec![(22, vec![0], vec![1], 0, vec![])],
            vec![0],
            vec![1],
        );
        let e = refusal(&bytes);
        assert!(e.contains("reshapes [1, 4] to [1, 241]"), "{e}");
    }

    /// An operator code above 127 lives only in the 32-bit field (the 8-bit one
    /// holds 127): the refusal names the code read from there.
    #[test]
    fn operator_codes_above_127_are_read_from_the_32_bit_field() {
        let t = || tensor(Activations::UInt8, vec![1, 4], 0.1, 0, vec![]);
        let bytes = model(
            &[t(), t()],
            vec![(150, vec![0], vec![1], 0, vec![])],
            vec![0],
            vec![1],
        );
        let e = refusal(&bytes);
        assert!(e.contains("does not import: 0 (GELU)"), "{e}");
    }

    /// ADD broadcasting a [1, 1, 1, C] tensor over a [1, H, W, C] one: a feature
    /// map plus its per-channel maximum (MAX_POOL_2D over the whole map).
    #[test]
    fn broadcasting_add_with_tflite_semantics() {
        let mut rng = TestRng(65);
        for ty in [Activations::UInt8, Activations::Int8] {
            let (h, w, c) = (2usize, 3usize, 4usize);
            let (lo, hi) = ty.range();
            let (sx, sy) = (
                rng.uniform(0.01, 0.05) as f32,
                rng.uniform(0.02, 0.1) as f32,
            );
            let (zx, zy) = (rng.int(lo, hi), rng.int(lo, hi));
            let tensors = [
                tensor(ty, vec![1, h as i32, w as i32, c as i32], sx, zx, vec![]),
                tensor(ty, vec![1, 1, 1, c as i32], sx, zx, vec![]),
                tensor(ty, vec![1, h as i32, w as i32, c as i32], sy, zy, vec![]),
            ];
            let pool = vec![
                (0, Field::I8(1)),
                (1, Field::I32(1)),
                (2, Field::I32(1)),
                (3, Field::I32(w as i32)),
                (4, Field::I32(h as i32)),
            ];
            let ops = vec![
                (17, vec![0], vec![1], 5, pool),
                (0, vec![0, 1], vec![2], 11, vec![(0, Field::I8(0))]),
            ];
            let bytes = model(&tensors, ops, vec![0], vec![2]);
            let image = ty.draw(&mut rng, h * w * c);
            check(&bytes, &image, &format!("{ty:?}"));
        }
    }
}

/// MobileNet V1 builds from the imported layers across its range of widths and
/// resolutions: 28 convolutions (weights and bias each), average pooling, argmax.
#[test]
fn mobilenet_v1_imports_and_compiles_at_every_width_and_resolution() {
    for (width, resolution, quantized) in [
        (0.25, 96, Quantized::UInt8PerTensor),
        (0.5, 128, Quantized::Int8PerChannel),
        (0.75, 160, Quantized::UInt8PerTensor),
        (1.0, 224, Quantized::Int8PerChannel),
    ] {
        let m = mpcc::tflite::parse(&mobilenet_v1(width, resolution, quantized, 1)).unwrap();
        let im = import(&m, "mobilenet.tflite", Reveal::Argmax).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(im.weights.len(), 56);
        // Parameters: the first convolution, 13 depthwise and pointwise pairs, the classifier.
        let c = |n: usize| (n as f64 * width) as usize;
        let mut expected = 27 * c(32) + c(32);
        let mut channels = c(32);
        for outs in [
            64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024,
        ] {
            expected += 10 * channels + channels * c(outs) + c(outs);
            channels = c(outs);
        }
        expected += channels * 1001 + 1001;
        let total: usize = im.weights.iter().map(|w| w.values.len()).sum();
        assert_eq!(total, expected, "{width} {resolution}");
        let compiled = mpc_tests::compile_text(&im.program, Default::default());
        let image = &compiled.program.inputs.last().unwrap();
        assert_eq!(image.ty.shape, vec![1, resolution, resolution, 3]);
    }
}

/// A whole MobileNet V1 0.25_96, uint8 per-tensor and int8 per-channel: the
/// imported program's logits with exact rounding equal the reference
/// interpreter's bit for bit, and they are not degenerate.
#[test]
fn imported_mobilenet_v1_matches_the_reference_interpreter() {
    for quantized in [Quantized::UInt8PerTensor, Quantized::Int8PerChannel] {
        let bytes = mobilenet_v1(0.25, 96, quantized, 3);
        let m = mpcc::tflite::parse(&bytes).unwrap();
        let im = import(&m, "mobilenet.tflite", Reveal::Logits).unwrap_or_else(|e| panic!("{e}"));
        let c = mpc_tests::compile_text(
            &im.program
                .replace("const EXACT = false;", "const EXACT = true;"),
            Default::default(),
        );
        let mut rng = mpc_tests::TestRng(5);
        let offset = if quantized == Quantized::Int8PerChannel {
            128
        } else {
            0
        };
        let image: Vec<i64> = (0..96 * 96 * 3).map(|_| rng.int(0, 256) - offset).collect();
        let mut values = mpc_tests::weight_values(&im);
        values.push(("image", image.iter().map(|&v| v as f64).collect()));
        let out = mpc_tests::run_clear(&c.program, &mpc_tests::inputs(&c.program, &values), 1);
        let got: Vec<i64> = mpc_tests::output(&c.program, &out, "logits")
            .iter()
            .map(|&v| v as i64)
            .collect();
        let softmax = m.operators.last().unwrap();
        let want = evaluate(&m, &image, Some(softmax.inputs[0]));
        assert_eq!(got, want, "{quantized:?}");
        let distinct: std::collections::HashSet<_> = want.iter().collect();
        assert!(
            distinct.len() > 20,
            "{quantized:?}: {} distinct logits",
            distinct.len()
        );
    }
}

/// A scale that makes a layer's ratio infinite, huge or not a number is
/// refused with the layer named (an infinite ratio once looped forever in the
/// multiplier's normalization: a corrupted model hung the importer).
#[test]
fn absurd_scales_are_refused_not_looped_over() {
    let m = mpcc::tflite::parse(&model_bytes()).unwrap();
    for bad in [f32::INFINITY, f32::NAN, 1e38, -1.0] {
        let mut edited = m.clone();
        // Every quantized tensor's scale: some layer's ratio goes wrong.
        for t in &mut edited.tensors {
            if let Some(q) = &mut t.quantization {
                for s in &mut q.scale {
                    *s = if *s > 1e-3 { bad } else { *s };
                }
            }
        }
        let start = std::time::Instant::now();
        let e = import(&edited, "edited.tflite", Reveal::Logits).err();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{bad}"
        );
        let e = e.unwrap_or_else(|| panic!("a scale of {bad} was imported"));
        assert!(e.contains("scale"), "{bad}: {e}");
    }
}

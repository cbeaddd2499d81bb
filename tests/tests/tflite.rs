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

//! The parts of a TFLite model (schema.fbs, "TFL3") that secure inference
//! needs: tensors with their quantization, constant buffers, and operators
//! with their options. Operator codes are the larger of `builtin_code` and
//! `deprecated_builtin_code` (old files set only the latter).

use super::flatbuf::{root, Table, R};

/// Element types of tensors (TensorType in schema.fbs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementType {
    Float32,
    Int32,
    UInt8,
    Int64,
    Int16,
    Int8,
    Other(i8),
}

impl ElementType {
    fn from_code(c: i8) -> ElementType {
        match c {
            0 => ElementType::Float32,
            2 => ElementType::Int32,
            3 => ElementType::UInt8,
            4 => ElementType::Int64,
            7 => ElementType::Int16,
            9 => ElementType::Int8,
            other => ElementType::Other(other),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Quantization {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    /// The axis that per-channel scales run along.
    pub dimension: i32,
}

/// A name from a model file as it may appear in a program or on a terminal:
/// every character outside letters, digits and `_ - . / : ; ( ) , + = #` and
/// space becomes `_`, and it is cut at 80 characters, so a name can never end a
/// comment, write code or send control bytes to a terminal.
pub fn printable(name: &str) -> String {
    name.chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _-./:;(),+=#".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The tensor's name, made [`printable`] when read.
    pub name: String,
    pub shape: Vec<i32>,
    pub ty: ElementType,
    /// Index into the model's buffers; 0 (empty) for computed tensors.
    pub buffer: u32,
    pub quantization: Option<Quantization>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

/// Fused activations (ActivationFunctionType).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Other(i8),
}

impl Activation {
    fn from_code(c: i8) -> Activation {
        match c {
            0 => Activation::None,
            1 => Activation::Relu,
            2 => Activation::ReluN1To1,
            3 => Activation::Relu6,
            other => Activation::Other(other),
        }
    }
}

/// The options of the operators secure inference supports; others keep none.
#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    Conv2d {
        padding: Padding,
        stride: [i32; 2],
        dilation: [i32; 2],
        activation: Activation,
    },
    DepthwiseConv2d {
        padding: Padding,
        stride: [i32; 2],
        dilation: [i32; 2],
        depth_multiplier: i32,
        activation: Activation,
    },
    Pool2d {
        padding: Padding,
        stride: [i32; 2],
        filter: [i32; 2],
        activation: Activation,
    },
    FullyConnected {
        activation: Activation,
        weights_format: i8,
        keep_num_dims: bool,
    },
    Add {
        activation: Activation,
    },
    Reshape {
        new_shape: Vec<i32>,
    },
    Softmax {
        beta: f32,
    },
    None,
}

/// Builtin operator codes (BuiltinOperator in schema.fbs) that inference uses.
pub mod code {
    pub const ADD: i32 = 0;
    pub const AVERAGE_POOL_2D: i32 = 1;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const FULLY_CONNECTED: i32 = 9;
    pub const MAX_POOL_2D: i32 = 17;
    pub const RESHAPE: i32 = 22;
    pub const SOFTMAX: i32 = 25;
}

/// The name of a builtin operator code (schema.fbs, codes 0 to 157), for messages.
pub fn operator_name(c: i32) -> String {
    const NAMES: &[&str] = &[
        "ADD",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE",
        "DEQUANTIZE",
        "EMBEDDING_LOOKUP",
        "FLOOR",
        "FULLY_CONNECTED",
        "HASHTABLE_LOOKUP",
        "L2_NORMALIZATION",
        "L2_POOL_2D",
        "LOCAL_RESPONSE_NORMALIZATION",
        "LOGISTIC",
        "LSH_PROJECTION",
        "LSTM",
        "MAX_POOL_2D",
        "MUL",
        "RELU",
        "RELU_N1_TO_1",
        "RELU6",
        "RESHAPE",
        "RESIZE_BILINEAR",
        "RNN",
        "SOFTMAX",
        "SPACE_TO_DEPTH",
        "SVDF",
        "TANH",
        "CONCAT_EMBEDDINGS",
        "SKIP_GRAM",
        "CALL",
        "CUSTOM",
        "EMBEDDING_LOOKUP_SPARSE",
        "PAD",
        "UNIDIRECTIONAL_SEQUENCE_RNN",
        "GATHER",
        "BATCH_TO_SPACE_ND",
        "SPACE_TO_BATCH_ND",
        "TRANSPOSE",
        "MEAN",
        "SUB",
        "DIV",
        "SQUEEZE",
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "STRIDED_SLICE",
        "BIDIRECTIONAL_SEQUENCE_RNN",
        "EXP",
        "TOPK_V2",
        "SPLIT",
        "LOG_SOFTMAX",
        "DELEGATE",
        "BIDIRECTIONAL_SEQUENCE_LSTM",
        "CAST",
        "PRELU",
        "MAXIMUM",
        "ARG_MAX",
        "MINIMUM",
        "LESS",
        "NEG",
        "PADV2",
        "GREATER",
        "GREATER_EQUAL",
        "LESS_EQUAL",
        "SELECT",
        "SLICE",
        "SIN",
        "TRANSPOSE_CONV",
        "SPARSE_TO_DENSE",
        "TILE",
        "EXPAND_DIMS",
        "EQUAL",
        "NOT_EQUAL",
        "LOG",
        "SUM",
        "SQRT",
        "RSQRT",
        "SHAPE",
        "POW",
        "ARG_MIN",
        "FAKE_QUANT",
        "REDUCE_PROD",
        "REDUCE_MAX",
        "PACK",
        "LOGICAL_OR",
        "ONE_HOT",
        "LOGICAL_AND",
        "LOGICAL_NOT",
        "UNPACK",
        "REDUCE_MIN",
        "FLOOR_DIV",
        "REDUCE_ANY",
        "SQUARE",
        "ZEROS_LIKE",
        "FILL",
        "FLOOR_MOD",
        "RANGE",
        "RESIZE_NEAREST_NEIGHBOR",
        "LEAKY_RELU",
        "SQUARED_DIFFERENCE",
        "MIRROR_PAD",
        "ABS",
        "SPLIT_V",
        "UNIQUE",
        "CEIL",
        "REVERSE_V2",
        "ADD_N",
        "GATHER_ND",
        "COS",
        "WHERE",
        "RANK",
        "ELU",
        "REVERSE_SEQUENCE",
        "MATRIX_DIAG",
        "QUANTIZE",
        "MATRIX_SET_DIAG",
        "ROUND",
        "HARD_SWISH",
        "IF",
        "WHILE",
        "NON_MAX_SUPPRESSION_V4",
        "NON_MAX_SUPPRESSION_V5",
        "SCATTER_ND",
        "SELECT_V2",
        "DENSIFY",
        "SEGMENT_SUM",
        "BATCH_MATMUL",
        "PLACEHOLDER_FOR_GREATER_OP_CODES",
        "CUMSUM",
        "CALL_ONCE",
        "BROADCAST_TO",
        "RFFT2D",
        "CONV_3D",
        "IMAG",
        "REAL",
        "COMPLEX_ABS",
        "HASHTABLE",
        "HASHTABLE_FIND",
        "HASHTABLE_IMPORT",
        "HASHTABLE_SIZE",
        "REDUCE_ALL",
        "CONV_3D_TRANSPOSE",
        "VAR_HANDLE",
        "READ_VARIABLE",
        "ASSIGN_VARIABLE",
        "BROADCAST_ARGS",
        "RANDOM_STANDARD_NORMAL",
        "BUCKETIZE",
        "RANDOM_UNIFORM",
        "MULTINOMIAL",
        "GELU",
        "DYNAMIC_UPDATE_SLICE",
        "RELU_0_TO_1",
        "UNSORTED_SEGMENT_PROD",
        "UNSORTED_SEGMENT_MAX",
        "UNSORTED_SEGMENT_SUM",
        "ATAN2",
        "UNSORTED_SEGMENT_MIN",
    ];
    usize::try_from(c)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or(format!("builtin operator {c}"), |n| n.to_string())
}

#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// Position in the subgraph's execution order.
    pub index: usize,
    pub code: i32,
    pub version: i32,
    /// Tensor ids; -1 marks an absent optional input.
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: Options,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub version: u32,
    pub tensors: Vec<Tensor>,
    pub operators: Vec<Operator>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub buffers: Vec<Vec<u8>>,
}

fn padding(c: i8) -> Padding {
    if c == 0 {
        Padding::Same
    } else {
        Padding::Valid
    }
}

fn options(op: &Table, code: i32) -> R<Options> {
    // The union BuiltinOptions: its type at slot 3, its table at slot 4.
    let Some(t) = op.table(4)? else {
        return Ok(Options::None);
    };
    let kind = op.u8(3, 0)?;
    Ok(match (code, kind) {
        (code::CONV_2D, 1) => Options::Conv2d {
            padding: padding(t.i8(0, 0)?),
            stride: [t.i32(2, 0)?, t.i32(1, 0)?],
            activation: Activation::from_code(t.i8(3, 0)?),
            dilation: [t.i32(5, 1)?, t.i32(4, 1)?],
        },
        (code::DEPTHWISE_CONV_2D, 2) => Options::DepthwiseConv2d {
            padding: padding(t.i8(0, 0)?),
            stride: [t.i32(2, 0)?, t.i32(1, 0)?],
            depth_multiplier: t.i32(3, 0)?,
            activation: Activation::from_code(t.i8(4, 0)?),
            dilation: [t.i32(6, 1)?, t.i32(5, 1)?],
        },
        (code::AVERAGE_POOL_2D | code::MAX_POOL_2D, 5) => Options::Pool2d {
            padding: padding(t.i8(0, 0)?),
            stride: [t.i32(2, 0)?, t.i32(1, 0)?],
            filter: [t.i32(4, 0)?, t.i32(3, 0)?],
            activation: Activation::from_code(t.i8(5, 0)?),
        },
        (code::FULLY_CONNECTED, 8) => Options::FullyConnected {
            activation: Activation::from_code(t.i8(0, 0)?),
            weights_format: t.i8(1, 0)?,
            keep_num_dims: t.u8(2, 0)? != 0,
        },
        (code::SOFTMAX, 9) => Options::Softmax {
            beta: t.f32(0, 0.0)?,
        },
        (code::ADD, 11) => Options::Add {
            activation: Activation::from_code(t.i8(0, 0)?),
        },
        (code::RESHAPE, 17) => Options::Reshape {
            new_shape: t.i32s(0)?,
        },
        _ => Options::None,
    })
}

/// Reads a `.tflite` file (its first subgraph).
pub fn parse(bytes: &[u8]) -> R<Model> {
    let model = root(bytes, b"TFL3")?;
    let codes: Vec<(i32, i32)> = model
        .tables(1)?
        .iter()
        .map(|c| {
            let deprecated = c.i8(0, 0)? as i32;
            let extended = c.i32(3, 0)?;
            Ok((deprecated.max(extended), c.i32(2, 1)?))
        })
        .collect::<R<_>>()?;
    let subgraphs = model.tables(2)?;
    let graph = subgraphs.first().ok_or("the model has no subgraph")?;
    let tensors = graph
        .tables(0)?
        .iter()
        .map(|t| {
            // A tensor without scales is not quantized (e.g. a float tensor).
            let quantization = match t.table(4)? {
                Some(q) => {
                    let scale = q.f32s(2)?;
                    if scale.is_empty() {
                        None
                    } else {
                        Some(Quantization {
                            scale,
                            zero_point: q.i64s(3)?,
                            dimension: q.i32(6, 0)?,
                        })
                    }
                }
                None => None,
            };
            Ok(Tensor {
                name: printable(&t.string(3)?.unwrap_or_default()),
                shape: t.i32s(0)?,
                ty: ElementType::from_code(t.i8(1, 0)?),
                buffer: t.u32(2, 0)?,
                quantization,
            })
        })
        .collect::<R<Vec<_>>>()?;
    let operators = graph
        .tables(3)?
        .iter()
        .enumerate()
        .map(|(index, op)| {
            let opcode = op.u32(0, 0)? as usize;
            let &(code, version) = codes.get(opcode).ok_or_else(|| {
                format!("operator {index} refers to operator code {opcode}, which does not exist")
            })?;
            Ok(Operator {
                index,
                code,
                version,
                inputs: op.i32s(1)?,
                outputs: op.i32s(2)?,
                options: options(op, code)?,
            })
        })
        .collect::<R<Vec<_>>>()?;
    let buffers = model
        .tables(4)?
        .iter()
        .map(|b| b.bytes(0).map(<[u8]>::to_vec))
        .collect::<R<Vec<_>>>()?;
    for (i, t) in tensors.iter().enumerate() {
        if t.buffer as usize >= buffers.len().max(1) {
            return Err(format!(
                "tensor {i} ({}) refers to buffer {}, which does not exist",
                t.name, t.buffer
            ));
        }
    }
    let n = tensors.len() as i32;
    for op in &operators {
        if let Some(bad) = op
            .inputs
            .iter()
            .chain(&op.outputs)
            .find(|&&t| t < -1 || t >= n)
        {
            return Err(format!(
                "operator {} ({}) refers to tensor {bad}, which does not exist",
                op.index,
                operator_name(op.code)
            ));
        }
    }
    Ok(Model {
        version: model.u32(0, 0)?,
        tensors,
        operators,
        inputs: graph.i32s(1)?,
        outputs: graph.i32s(2)?,
        buffers,
    })
}

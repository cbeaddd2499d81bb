//! A minimal FlatBuffers writer for the tests: small hand-built TFLite models,
//! one operator each, to check the importer layer by layer. Objects are written
//! parents first, so every offset points forward as the format requires.

/// A value in a table field, or an object.
pub enum Node {
    /// Fields by slot.
    Table(Vec<(usize, Field)>),
    Bytes(Vec<u8>),
    I32s(Vec<i32>),
    F32s(Vec<f32>),
    I64s(Vec<i64>),
    Str(String),
    Tables(Vec<Node>),
}

pub enum Field {
    I8(i8),
    I32(i32),
    U32(u32),
    F32(f32),
    Object(Node),
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes `node` at the end of `buf`; returns its position (of a table: the table, not its vtable).
fn write(buf: &mut Vec<u8>, node: &Node) -> usize {
    match node {
        Node::Table(fields) => {
            let slots = fields.iter().map(|(s, _)| s + 1).max().unwrap_or(0);
            let vtable = buf.len();
            // vtable: its length, the table's length, one offset per slot.
            let mut offsets = vec![0u16; slots];
            let mut at = 4usize;
            for (slot, _) in fields {
                offsets[*slot] = at as u16;
                at += 4;
            }
            buf.extend_from_slice(&((4 + 2 * slots) as u16).to_le_bytes());
            buf.extend_from_slice(&(at as u16).to_le_bytes());
            for o in &offsets {
                buf.extend_from_slice(&o.to_le_bytes());
            }
            let table = buf.len();
            buf.extend_from_slice(&((table - vtable) as i32).to_le_bytes());
            let mut children = Vec::new();
            for (_, f) in fields {
                let pos = buf.len();
                match f {
                    Field::I8(v) => buf.extend_from_slice(&[*v as u8, 0, 0, 0]),
                    Field::I32(v) => buf.extend_from_slice(&v.to_le_bytes()),
                    Field::U32(v) => buf.extend_from_slice(&v.to_le_bytes()),
                    Field::F32(v) => buf.extend_from_slice(&v.to_le_bytes()),
                    Field::Object(n) => {
                        buf.extend_from_slice(&[0; 4]);
                        children.push((pos, n));
                    }
                }
            }
            for (pos, child) in children {
                let target = write(buf, child);
                put_u32(buf, pos, (target - pos) as u32);
            }
            table
        }
        Node::Bytes(b) => vector(buf, b.len(), |buf| buf.extend_from_slice(b)),
        Node::I32s(v) => vector(buf, v.len(), |buf| {
            v.iter()
                .for_each(|x| buf.extend_from_slice(&x.to_le_bytes()))
        }),
        Node::F32s(v) => vector(buf, v.len(), |buf| {
            v.iter()
                .for_each(|x| buf.extend_from_slice(&x.to_le_bytes()))
        }),
        Node::I64s(v) => vector(buf, v.len(), |buf| {
            v.iter()
                .for_each(|x| buf.extend_from_slice(&x.to_le_bytes()))
        }),
        Node::Str(s) => vector(buf, s.len(), |buf| buf.extend_from_slice(s.as_bytes())),
        Node::Tables(items) => {
            let at = buf.len();
            buf.extend_from_slice(&(items.len() as u32).to_le_bytes());
            let slots: Vec<usize> = items
                .iter()
                .map(|_| {
                    let p = buf.len();
                    buf.extend_from_slice(&[0; 4]);
                    p
                })
                .collect();
            for (slot, item) in slots.into_iter().zip(items) {
                let target = write(buf, item);
                put_u32(buf, slot, (target - slot) as u32);
            }
            at
        }
    }
}

fn vector(buf: &mut Vec<u8>, n: usize, elements: impl FnOnce(&mut Vec<u8>)) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&(n as u32).to_le_bytes());
    elements(buf);
    at
}

/// A whole file with identifier `TFL3` and root table `root`.
pub fn finish(root: &Node) -> Vec<u8> {
    let mut buf = vec![0, 0, 0, 0, b'T', b'F', b'L', b'3'];
    let at = write(&mut buf, root);
    put_u32(&mut buf, 0, at as u32);
    buf
}

/// One tensor of a test model.
pub struct TensorSpec {
    pub shape: Vec<i32>,
    /// TensorType code: 3 uint8, 9 int8, 2 int32.
    pub ty: i8,
    pub scale: f32,
    pub zero_point: i64,
    /// Per-channel scales (zero points 0) along an axis, instead of `scale` and `zero_point`.
    pub per_channel: Option<(Vec<f32>, i32)>,
    /// Constant data (little-endian), or empty for computed tensors.
    pub data: Vec<u8>,
}

/// An operator: builtin code, input tensors, output tensors, options type, options fields.
pub type OperatorSpec = (i32, Vec<i32>, Vec<i32>, u8, Vec<(usize, Field)>);

/// A model with one subgraph: `tensors`, operators, graph inputs and outputs.
pub fn model(
    tensors: &[TensorSpec],
    ops: Vec<OperatorSpec>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
) -> Vec<u8> {
    let mut buffers = vec![Node::Table(vec![])];
    let mut tensor_nodes = Vec::new();
    for t in tensors {
        let buffer = if t.data.is_empty() {
            0
        } else {
            buffers.push(Node::Table(vec![(
                0,
                Field::Object(Node::Bytes(t.data.clone())),
            )]));
            buffers.len() - 1
        };
        let quant = match &t.per_channel {
            None => Node::Table(vec![
                (2, Field::Object(Node::F32s(vec![t.scale]))),
                (3, Field::Object(Node::I64s(vec![t.zero_point]))),
            ]),
            Some((scales, axis)) => Node::Table(vec![
                (2, Field::Object(Node::F32s(scales.clone()))),
                (3, Field::Object(Node::I64s(vec![0; scales.len()]))),
                (6, Field::I32(*axis)),
            ]),
        };
        tensor_nodes.push(Node::Table(vec![
            (0, Field::Object(Node::I32s(t.shape.clone()))),
            (1, Field::I8(t.ty)),
            (2, Field::U32(buffer as u32)),
            (
                3,
                Field::Object(Node::Str(format!("t{}", tensor_nodes.len()))),
            ),
            (4, Field::Object(quant)),
        ]));
    }
    let mut codes = Vec::new();
    let mut op_nodes = Vec::new();
    for (code, ins, outs, options_type, options) in ops {
        // Operator codes as TFLite's current converter writes them: the 32-bit field
        // and the deprecated 8-bit one (capped at 127). The shared model has only the latter.
        codes.push(Node::Table(vec![
            (0, Field::I8(code.min(127) as i8)),
            (2, Field::I32(1)),
            (3, Field::I32(code)),
        ]));
        op_nodes.push(Node::Table(vec![
            (0, Field::U32((codes.len() - 1) as u32)),
            (1, Field::Object(Node::I32s(ins))),
            (2, Field::Object(Node::I32s(outs))),
            (3, Field::I8(options_type as i8)),
            (4, Field::Object(Node::Table(options))),
        ]));
    }
    let graph = Node::Table(vec![
        (0, Field::Object(Node::Tables(tensor_nodes))),
        (1, Field::Object(Node::I32s(inputs))),
        (2, Field::Object(Node::I32s(outputs))),
        (3, Field::Object(Node::Tables(op_nodes))),
    ]);
    finish(&Node::Table(vec![
        (0, Field::U32(3)),
        (1, Field::Object(Node::Tables(codes))),
        (2, Field::Object(Node::Tables(vec![graph]))),
        (4, Field::Object(Node::Tables(buffers))),
    ]))
}

//! Reading TFLite models, with our own FlatBuffers reader (no TensorFlow
//! dependency), for `mpcc import`.

pub mod flatbuf;
pub mod import;
pub mod model;

pub use model::{parse, Model};

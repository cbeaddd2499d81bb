use crate::bytecode::{DecodeError, VerifyError};
use std::fmt;

/// Everything that can stop a run; each variant reads as a message to the user.
#[derive(Debug)]
pub enum VmError {
    Decode(DecodeError),
    Verify(VerifyError),
    /// A problem with an input file: which input, and what is wrong.
    Input(String),
    /// A failure while running instruction `pc`.
    Runtime {
        pc: usize,
        message: String,
    },
    Io(String),
    Usage(String),
    /// A failure of the network or of a peer.
    Network(String),
    /// A peer deviated from the protocol, as an actively secure protocol
    /// found (the message says by whom, where it knows, and in which round).
    Cheating(String),
    /// A value outside its declared type, found by the range check.
    Range(String),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::Decode(e) => write!(f, "{e}"),
            VmError::Verify(e) => write!(f, "{e}"),
            VmError::Input(m) => write!(f, "input error: {m}"),
            VmError::Runtime { pc, message } => {
                write!(f, "run-time error at instruction {pc}: {message}")
            }
            VmError::Io(m) => write!(f, "{m}"),
            VmError::Usage(m) => write!(f, "{m}"),
            VmError::Network(m) => write!(f, "network error: {m}"),
            VmError::Cheating(m) => write!(f, "run aborted: {m}"),
            VmError::Range(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for VmError {}

impl From<DecodeError> for VmError {
    fn from(e: DecodeError) -> Self {
        VmError::Decode(e)
    }
}

impl From<VerifyError> for VmError {
    fn from(e: VerifyError) -> Self {
        VmError::Verify(e)
    }
}

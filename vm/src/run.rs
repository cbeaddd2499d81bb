//! Running a whole program: choosing the backend, delivering outputs to the
//! parties they are revealed to, and the JSON line of run figures.

use crate::backend::clear::Clear;
use crate::bytecode::Program;
use crate::interp::{self, RunOutcome};
use crate::ring::RingTensor;
use crate::VmError;
use std::path::{Path, PathBuf};

/// The protocols this VM can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Plaintext reference emulating every party in one process (no security).
    Clear,
}

/// Runs `program` under `protocol` with every party emulated in this process.
/// `seed` fixes the backend's randomness (tests and reproducible experiments only).
pub fn run_local(
    program: &Program,
    protocol: Protocol,
    inputs: &[Option<RingTensor>],
    seed: Option<u64>,
) -> Result<RunOutcome, VmError> {
    match protocol {
        Protocol::Clear => {
            let mut backend = Clear::new(seed);
            interp::run(program, &mut backend, inputs)
        }
    }
}

/// The threat model line every run prints at start.
pub fn banner(protocol: Protocol, seed: Option<u64>) -> String {
    let model = match protocol {
        Protocol::Clear => {
            "none: plaintext reference, all parties emulated in one process, NO SECURITY"
        }
    };
    let seeded = match seed {
        Some(s) => format!("; randomness FIXED by --seed {s} (reproducible, not for real use)"),
        None => String::new(),
    };
    format!("protocol {protocol:?} (threat model: {model}){seeded}").replace("Clear", "clear")
}

/// Writes each output into `<out>/party<P>/<name>.npy` for every receiver `P`
/// among `parties`; returns `(party, output index, path)` for each file.
pub fn write_outputs(
    program: &Program,
    outcome: &RunOutcome,
    out: &Path,
    parties: &[usize],
) -> Result<Vec<(usize, usize, PathBuf)>, VmError> {
    let mut written = Vec::new();
    for (i, decl) in program.outputs.iter().enumerate() {
        let Some(value) = &outcome.outputs[i] else {
            continue;
        };
        for &p in parties.iter().filter(|&&p| decl.to.contains(p)) {
            let dir = out.join(format!("party{p}"));
            std::fs::create_dir_all(&dir)
                .map_err(|e| VmError::Io(format!("cannot create {}: {e}", dir.display())))?;
            let path = dir.join(format!("{}.npy", decl.name));
            crate::io::write_output(&path, value, &decl.ty)?;
            written.push((p, i, path));
        }
    }
    Ok(written)
}

/// One line of JSON with the figures of a run.
pub fn figures_json(protocol: Protocol, party: Option<usize>, outcome: &RunOutcome) -> String {
    serde_json::json!({
        "protocol": format!("{protocol:?}").to_lowercase(),
        "party": party,
        "seconds": outcome.seconds,
        "preprocessing_seconds": 0.0,
        "rounds": outcome.figures.rounds,
        "bytes_sent": outcome.figures.bytes_sent,
        "bytes_received": outcome.figures.bytes_received,
        "peak_register_elements": outcome.peak_register_elements,
    })
    .to_string()
}

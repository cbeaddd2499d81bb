//! The files of the parties one process plays in a run (one party, or every
//! party under the clear backend): their inputs, read whole before the run or
//! a row per iteration for an input read inside loops, and the outputs they
//! receive, written to `<out>/party<P>/<name>.npy` as their rows come.

use crate::bytecode::{Instr, Program};
use crate::interp::Io;
use crate::io::{InputReader, OutputWriter};
use crate::progress::Progress;
use crate::ring::RingTensor;
use crate::types::TensorType;
use crate::VmError;
use std::path::{Path, PathBuf};

enum Source {
    /// Not this process's input.
    Absent,
    /// Read before the run; taken by its one read.
    Whole(Option<RingTensor>),
    /// Read a row at a time as the program runs.
    Rows(InputReader, String),
}

/// One output file of one receiving party.
struct Sink {
    party: usize,
    path: PathBuf,
    /// Created at the output's first row.
    writer: Option<OutputWriter>,
}

/// Where a run keeps and loads shares (`<dir>/party<P>/<name>.share`).
pub struct ShareFiles<'a> {
    /// The protocol's name and the program's party count and hash.
    pub protocol: &'a str,
    pub parties: usize,
    pub program_hash: [u8; 32],
    /// The directory of an earlier run's kept shares (`--shares`).
    pub from: Option<&'a Path>,
}

pub struct PartyFiles<'a> {
    program: &'a Program,
    sources: Vec<Source>,
    /// Per output: a file for each of its receivers among the parties played here.
    sinks: Vec<Vec<Sink>>,
    /// Whether the lines the program prints are shown (on standard output).
    show_prints: bool,
    out: PathBuf,
    /// The parties played here whose shares are kept (and loaded: the first).
    players: Vec<usize>,
    shares: ShareFiles<'a>,
    kept: Vec<(usize, PathBuf)>,
    progress: Progress,
    /// The latest scalar received inside a loop, shown beside the progress.
    news: String,
}

/// The register type of each input's instruction: one row of its file (all
/// of it, outside loops).
fn input_rows(program: &Program) -> Vec<Option<&TensorType>> {
    let mut rows = vec![None; program.inputs.len()];
    for i in &program.code {
        if let Instr::Input { input, dst } = i {
            rows[*input as usize] = Some(&program.registers[*dst as usize]);
        }
    }
    rows
}

/// What a run's files are: see [`PartyFiles::open`] (`'s`: what is only read
/// while opening).
pub struct Setup<'a, 's> {
    /// The `--input P=PATH` flags.
    pub given: &'s [(usize, PathBuf)],
    /// The parties whose inputs this process reads.
    pub inputs_of: &'s [usize],
    /// The parties whose outputs and kept shares this process writes.
    pub outputs_of: &'s [usize],
    pub out: &'s Path,
    pub shares: ShareFiles<'a>,
    /// Whether the lines the program prints are shown.
    pub show_prints: bool,
    pub progress: Progress,
}

impl<'a> PartyFiles<'a> {
    /// Opens the inputs in `given`, which must hold every input of the
    /// parties in `inputs_of`: inputs read once are read now, whole; those
    /// read inside loops are checked now (header and length against the whole
    /// declared type) and read as the program goes. Outputs received by the
    /// parties in `outputs_of` will be written under `out`.
    pub fn open(program: &'a Program, setup: Setup<'a, '_>) -> Result<Self, VmError> {
        let Setup {
            given,
            inputs_of,
            outputs_of,
            out,
            shares,
            show_prints,
            progress,
        } = setup;
        let rows = input_rows(program);
        let mut sources: Vec<Source> = program.inputs.iter().map(|_| Source::Absent).collect();
        crate::io::each_input(program, given, inputs_of, &mut |i, file| {
            let decl = &program.inputs[i];
            let whole = rows[i].is_none_or(|row| row.shape == decl.ty.shape);
            sources[i] = if whole {
                Source::Whole(Some(crate::io::read_input(file, &decl.ty, &decl.name)?))
            } else {
                let reader = InputReader::open(file, &decl.ty)
                    .map_err(|e| VmError::Input(format!("input '{}': {e}", decl.name)))?;
                Source::Rows(reader, decl.name.clone())
            };
            Ok(())
        })?;
        let mut sinks = Vec::new();
        for decl in &program.outputs {
            let mut files = Vec::new();
            for &p in outputs_of.iter().filter(|&&p| decl.to.contains(p)) {
                let dir = out.join(format!("party{p}"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| VmError::Io(format!("cannot create {}: {e}", dir.display())))?;
                files.push(Sink {
                    party: p,
                    path: crate::io::npy_file(&dir, &decl.name)?,
                    writer: None,
                });
            }
            sinks.push(files);
        }
        if program.shares.iter().any(|s| !s.kept) && shares.from.is_none() {
            return Err(VmError::Usage(
                "the program loads kept shares: pass --shares DIR, the --out directory of the run that kept them".into(),
            ));
        }
        Ok(PartyFiles {
            program,
            sources,
            sinks,
            show_prints,
            out: out.to_path_buf(),
            players: outputs_of.to_vec(),
            shares,
            kept: Vec::new(),
            progress,
            news: String::new(),
        })
    }

    fn leading_axes(&self, output: usize, row: &RingTensor) -> usize {
        self.program.outputs[output].ty.shape.len() - row.shape.len()
    }

    fn origin(&self, party: usize) -> crate::shares::Origin {
        crate::shares::Origin {
            protocol: self.shares.protocol.to_string(),
            party,
            parties: self.shares.parties,
            program_hash: self.shares.program_hash,
        }
    }

    /// The share files kept: `(party, path)`.
    pub fn kept(&self) -> &[(usize, PathBuf)] {
        &self.kept
    }

    /// Ends the run's files: an output inside a loop that ran no iteration gets
    /// its empty file. Returns `(party, output index, path)` of every file written.
    pub fn finish(self) -> Result<Vec<(usize, usize, PathBuf)>, VmError> {
        self.progress.finish();
        let mut written = Vec::new();
        for (i, files) in self.sinks.into_iter().enumerate() {
            let ty = &self.program.outputs[i].ty;
            for s in files {
                let w = match s.writer {
                    Some(w) => w,
                    None if ty.is_empty() => OutputWriter::create(&s.path, ty, 1)?,
                    None => continue,
                };
                if w.missing() > 0 {
                    return Err(VmError::Io(format!(
                        "{}: {} rows are missing",
                        s.path.display(),
                        w.missing()
                    )));
                }
                written.push((s.party, i, s.path));
            }
        }
        Ok(written)
    }
}

impl Io for PartyFiles<'_> {
    fn input(&mut self, index: usize, row: &TensorType) -> Result<Option<RingTensor>, VmError> {
        match &mut self.sources[index] {
            Source::Absent => Ok(None),
            Source::Whole(t) => Ok(t.take()),
            Source::Rows(reader, name) => {
                let data = reader
                    .next_row(row.len())
                    .map_err(|e| VmError::Input(format!("input '{name}': {e}")))?;
                Ok(Some(RingTensor::new(row.shape.clone(), data)))
            }
        }
    }

    fn output(&mut self, index: usize, row: &RingTensor) -> Result<(), VmError> {
        let leading = self.leading_axes(index, row);
        let decl = &self.program.outputs[index];
        let ty = &decl.ty;
        if leading > 0 && row.len() == 1 {
            let row_type = TensorType::new(ty.secret, ty.elem, vec![]);
            self.news = format!("{} = {}", decl.name, crate::io::render(row, &row_type));
        }
        for s in &mut self.sinks[index] {
            let w = match &mut s.writer {
                Some(w) => w,
                None => s.writer.insert(OutputWriter::create(&s.path, ty, leading)?),
            };
            w.write_row(row)?;
        }
        Ok(())
    }

    fn print(&mut self, line: &str) {
        if self.show_prints {
            self.progress.println(line);
        }
    }

    fn iteration(&mut self, done: u64, total: u64) {
        self.progress.update(done, total, &self.news);
    }

    fn offline(&mut self, done: u64, total: u64) {
        self.progress
            .update(done, total, "offline phase: preprocessing by OT");
    }

    fn keep(&mut self, index: usize, words: Vec<Vec<u64>>) -> Result<(), VmError> {
        let decl = &self.program.shares[index];
        for &p in &self.players.clone() {
            let dir = self.out.join(format!("party{p}"));
            std::fs::create_dir_all(&dir)
                .map_err(|e| VmError::Io(format!("cannot create {}: {e}", dir.display())))?;
            crate::bytecode::check_name(&decl.name).map_err(VmError::Usage)?;
            let path = dir.join(format!("{}.share", decl.name));
            crate::shares::write(&path, &self.origin(p), &decl.ty, &words)?;
            self.kept.push((p, path));
        }
        Ok(())
    }

    fn load(&mut self, index: usize) -> Result<Vec<Vec<u64>>, VmError> {
        let decl = &self.program.shares[index];
        let (Some(from), Some(&p)) = (self.shares.from, self.players.first()) else {
            return Err(VmError::Usage("no --shares directory to load from".into()));
        };
        crate::bytecode::check_name(&decl.name).map_err(VmError::Usage)?;
        let path = from
            .join(format!("party{p}"))
            .join(format!("{}.share", decl.name));
        let reader = crate::shares::Reader {
            protocol: self.shares.protocol,
            party: p,
            parties: self.shares.parties,
        };
        crate::shares::read(&path, &reader, &decl.ty)
    }
}

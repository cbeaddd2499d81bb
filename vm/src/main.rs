//! `mpcvm`: runs compiled mpcc programs.

use clap::{Parser, Subcommand};
use mpcvm::bytecode::{disassemble, Program};
use mpcvm::run::{self, Protocol};
use mpcvm::VmError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mpcvm",
    version,
    about = "Runs compiled mpcc bytecode (.mpcb), one process per party"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The compiled program.
    program: PathBuf,
    /// The protocol backend.
    #[arg(long, value_enum, default_value = "clear")]
    protocol: Protocol,
    /// A party's inputs: `P=FILE.npy` (a party with one input) or `P=DIR` (holding `<name>.npy` per input).
    #[arg(long = "input", value_parser = parse_input)]
    inputs: Vec<(usize, PathBuf)>,
    /// Directory for outputs: `<out>/party<P>/<name>.npy`.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Fixes the backend's randomness. INSECURE: for tests and reproducible experiments only.
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one party. The clear backend has no network: it recomputes the whole
    /// plaintext run, so it needs every party's inputs, and writes this party's outputs only.
    Run {
        /// This party's id.
        #[arg(long)]
        party: usize,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Runs every party of a run on this machine and gathers their outputs and figures.
    RunLocal {
        #[command(flatten)]
        args: RunArgs,
    },
    /// Prints the listing of a compiled program.
    Disasm { program: PathBuf },
}

fn parse_input(s: &str) -> Result<(usize, PathBuf), String> {
    let (p, path) = s
        .split_once('=')
        .ok_or("expected PARTY=PATH, e.g. 0=weights/")?;
    let p = p
        .trim()
        .parse()
        .map_err(|_| format!("'{p}' is not a party number"))?;
    Ok((p, PathBuf::from(path)))
}

fn load(path: &Path) -> Result<Program, VmError> {
    let bytes = std::fs::read(path)
        .map_err(|e| VmError::Io(format!("cannot read {}: {e}", path.display())))?;
    Program::load(&bytes)
}

fn execute(args: &RunArgs, party: Option<usize>) -> Result<(), VmError> {
    let program = load(&args.program)?;
    if let Some(p) = party {
        if p >= program.parties as usize {
            return Err(VmError::Usage(format!(
                "party {p} does not exist: the program has {} parties",
                program.parties
            )));
        }
    }
    eprintln!("{}", run::banner(args.protocol, args.seed));
    let inputs = mpcvm::io::load_inputs(&program, &args.inputs)?;
    let outcome = run::run_local(&program, args.protocol, &inputs, args.seed)?;
    let parties: Vec<usize> = match party {
        Some(p) => vec![p],
        None => (0..program.parties as usize).collect(),
    };
    for (p, i, path) in run::write_outputs(&program, &outcome, &args.out, &parties)? {
        let decl = &program.outputs[i];
        let value = outcome.outputs[i].as_ref().expect("written outputs exist");
        println!(
            "party {p}: {} = {}  ({})",
            decl.name,
            mpcvm::io::render(value, &decl.ty),
            path.display()
        );
    }
    println!("{}", run::figures_json(args.protocol, party, &outcome));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run { party, args } => execute(args, Some(*party)),
        Command::RunLocal { args } => execute(args, None),
        Command::Disasm { program } => std::fs::read(program)
            .map_err(|e| VmError::Io(format!("cannot read {}: {e}", program.display())))
            .and_then(|bytes| Ok(print!("{}", disassemble(&Program::load(&bytes)?, &bytes)))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

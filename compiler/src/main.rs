//! `mpcc`: compiles `.mpc` programs to `.mpcb` bytecode.

use clap::{Parser, ValueEnum};
use mpcc::driver::compile_file;
use mpcc::elaborate::Options;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// The bytecode file (default).
    Bytecode,
    /// The IR after all passes, to stdout.
    Ir,
    /// The bytecode listing, to stdout.
    Asm,
}

#[derive(Parser)]
#[command(
    name = "mpcc",
    version,
    about = "Compiles mpcc programs (.mpc) to bytecode (.mpcb) for mpcvm"
)]
struct Cli {
    /// The program to compile.
    input: PathBuf,
    /// Where to write the bytecode (default: the input's name with .mpcb, in the current directory).
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "bytecode")]
    emit: Emit,
    /// Print, per function, interactive operations, rounds and registers.
    #[arg(long)]
    stats: bool,
    /// Truncate fixed-point products exactly instead of probabilistically.
    #[arg(long)]
    exact_truncation: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let options = Options {
        exact_fixed_point: cli.exact_truncation,
    };
    let compiled = match compile_file(&cli.input, options) {
        Ok(c) => c,
        Err(f) => {
            eprint!("{}", f.render());
            return ExitCode::FAILURE;
        }
    };
    match cli.emit {
        Emit::Ir => print!("{}", mpcc::ir::print_module(&compiled.module)),
        Emit::Asm => print!(
            "{}",
            mpcvm::bytecode::disassemble(&compiled.program, &compiled.bytes)
        ),
        Emit::Bytecode => {
            let out = cli.output.clone().unwrap_or_else(|| {
                PathBuf::from(cli.input.file_stem().unwrap_or_default()).with_extension("mpcb")
            });
            if let Err(e) = std::fs::write(&out, &compiled.bytes) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return ExitCode::FAILURE;
            }
            if !cli.stats {
                eprintln!("wrote {} ({} bytes)", out.display(), compiled.bytes.len());
            }
        }
    }
    if cli.stats {
        print!("{}", mpcc::stats::render(&compiled.module));
        match mpcvm::run::Protocol::Rep3.check(&compiled.program) {
            Ok(()) => {
                let b = mpcvm::backend::rep3::bytes_sent(&compiled.program);
                let r = mpcvm::backend::rep3::rounds(&compiled.program);
                println!("rep3: {r} rounds, bytes sent per party {b:?}");
            }
            Err(e) => println!("rep3: {e}"),
        }
    }
    ExitCode::SUCCESS
}

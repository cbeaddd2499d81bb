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

/// The protocol a program is compiled for (it decides how products are made).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProtocolArg {
    /// Replicated sharing (also runs under clear and rep4).
    Rep3,
    /// Replicated sharing among four parties, active security: products as
    /// for rep3 (the same bytecode).
    Rep4,
    /// Additive sharing with Beaver products: each product operand's mask is
    /// opened once for all its products (also runs under clear).
    Semi2k,
    /// Additive sharing with MACs, active security: the same bytecode as
    /// semi2k.
    Spdz2k,
}

#[derive(Parser)]
#[command(
    name = "mpcc",
    version,
    about = "Compiles mpcc programs (.mpc) to bytecode (.mpcb) for mpcvm",
    override_usage = "mpcc [OPTIONS] <INPUT>\n       mpcc import [OPTIONS] --output <DIR> <MODEL>",
    after_help = "Commands:\n  import  Imports a quantized TFLite model as an mpcc program and the model owner's weights (mpcc import --help)"
)]
struct Cli {
    /// The program to compile.
    input: PathBuf,
    /// Where to write the bytecode (default: the input's name with .mpcb, in the current directory).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// What to produce.
    #[arg(long, value_enum, default_value = "bytecode")]
    emit: Emit,
    /// Print, per function, interactive operations, rounds and registers.
    #[arg(long)]
    stats: bool,
    /// Truncate fixed-point products exactly instead of probabilistically.
    #[arg(long)]
    exact_truncation: bool,
    /// The protocol to compile for.
    #[arg(long, value_enum, default_value = "rep3")]
    protocol: ProtocolArg,
    /// With --protocol semi2k: mask every product's operands afresh instead
    /// of opening each value's mask once (for comparison).
    #[arg(long)]
    no_mask_reuse: bool,
    /// With --stats: the one-way network latency, in milliseconds, of the run-time estimate.
    #[arg(long, default_value_t = 0.1)]
    latency_ms: f64,
    /// With --stats: the bandwidth of every link, in megabits per second, of the run-time estimate.
    #[arg(long, default_value_t = 10000.0)]
    bandwidth_mbps: f64,
}

#[derive(Clone, Copy, ValueEnum)]
enum RevealArg {
    /// The quantized logits (the input of a final SOFTMAX).
    Logits,
    /// The index of the largest logit.
    Argmax,
    /// The model's output (with a final SOFTMAX, computed securely).
    Output,
}

#[derive(Parser)]
#[command(
    name = "mpcc import",
    about = "Imports a quantized TFLite model as an mpcc program and the model owner's weights"
)]
struct ImportCli {
    /// The .tflite model.
    model: PathBuf,
    /// The directory to write: model.mpc, weights/<name>.npy (party 0's input), README.txt.
    #[arg(short, long)]
    output: PathBuf,
    /// What the client receives.
    #[arg(long, value_enum, default_value = "logits")]
    reveal: RevealArg,
    /// Round exactly as TFLite's reference kernels (more comparisons) instead of probabilistically.
    #[arg(long)]
    exact: bool,
}

fn import(cli: ImportCli) -> Result<String, String> {
    use mpcc::tflite::import::{import, Reveal};
    let bytes = std::fs::read(&cli.model)
        .map_err(|e| format!("cannot read {}: {e}", cli.model.display()))?;
    let model = mpcc::tflite::parse(&bytes).map_err(|e| format!("{}: {e}", cli.model.display()))?;
    let reveal = match cli.reveal {
        RevealArg::Logits => Reveal::Logits,
        RevealArg::Argmax => Reveal::Argmax,
        RevealArg::Output => Reveal::Output,
    };
    let name = cli
        .model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let im = import(&model, &name, reveal).map_err(|e| format!("{}: {e}", cli.model.display()))?;
    // Stale weight files of another model would be read as this one's inputs.
    if std::fs::read_dir(&cli.output).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!(
            "{} is not empty: import into a new directory, or remove it first",
            cli.output.display()
        ));
    }
    let weights = cli.output.join("weights");
    std::fs::create_dir_all(&weights)
        .map_err(|e| format!("cannot create {}: {e}", weights.display()))?;
    let program = im.program.replace(
        "const EXACT = false;",
        &format!("const EXACT = {};", cli.exact),
    );
    let write = |path: PathBuf, text: &str| {
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(cli.output.join("model.mpc"), &program)?;
    write(cli.output.join("README.txt"), &im.description)?;
    for w in &im.weights {
        let int64 = mpcvm::types::TensorType::new(
            false,
            mpcvm::types::Elem::Int { bits: 64 },
            w.shape.clone(),
        );
        let t = mpcvm::ring::RingTensor::new(
            w.shape.clone(),
            w.values.iter().map(|&v| v as u64).collect(),
        );
        mpcvm::io::write_output(&weights.join(format!("{}.npy", w.name)), &t, &int64)
            .map_err(|e| e.to_string())?;
    }
    Ok(format!(
        "wrote {}/model.mpc, {} weight files and README.txt\n{}",
        cli.output.display(),
        im.weights.len(),
        im.description
    ))
}

const STATS_LEGEND: &str =
    "Per function instance: interactive = operations that communicate, in the code;
executed = those one call runs (loops times their trip counts); batches = groups
of independent communication the compiler formed, one after another (each takes
one or more network rounds, depending on the protocol); registers = tensor
registers of its code.
";

/// A cost table by function (all its calls), then by source line: rounds
/// and `N` figures under `headers`.
fn print_cost_tables<const N: usize>(
    compiled: &mpcc::driver::Compiled,
    by_line: &[(String, u64, [u64; N])],
    headers: [&str; N],
) {
    for (title, rows) in [
        (
            "function (all its calls)",
            mpcc::stats::by_function(&compiled.sources, by_line),
        ),
        ("source", by_line.to_vec()),
    ] {
        let heads: String = headers.iter().map(|h| format!(" {h:>14}")).collect();
        println!("{:>8}{heads}  {title}", "rounds");
        for (place, rounds, f) in rows {
            let figures: String = f.iter().map(|x| format!(" {x:>14}")).collect();
            println!("{rounds:>8}{figures}  {place}");
        }
    }
}

/// The network time `rounds` and the busiest party's `bytes` imply at the
/// given latency and bandwidth.
fn print_estimate(rounds: u64, bytes: &[u64], latency_ms: f64, bandwidth_mbps: f64) {
    let busiest = *bytes.iter().max().unwrap_or(&0) as f64;
    let seconds = rounds as f64 * latency_ms / 1e3 + busiest * 8.0 / (bandwidth_mbps * 1e6);
    println!(
        "estimated network time at {latency_ms} ms latency and {bandwidth_mbps} Mbit/s: {seconds:.3} s (rounds x latency + the busiest party's bytes / bandwidth; computation not included)"
    );
}

/// rep3's network rounds and bytes per party, in all, by function and by source
/// line, and the run time they imply on a network of the given latency and bandwidth.
fn print_rep3_costs(compiled: &mpcc::driver::Compiled, latency_ms: f64, bandwidth_mbps: f64) {
    let program = &compiled.program;
    let b = mpcvm::backend::rep3::bytes_sent(program);
    let r = mpcvm::backend::rep3::rounds(program);
    println!("\nrep3: {r} network rounds (messages one after another), bytes sent per party {b:?}");
    let by_line = mpcvm::backend::rep3::by_location(program);
    print_cost_tables(compiled, &by_line, ["bytes p0", "bytes p1", "bytes p2"]);
    print_estimate(r, &b, latency_ms, bandwidth_mbps);
}

/// rep4's, likewise (the checks' digests are in the totals, not the tables).
fn print_rep4_costs(compiled: &mpcc::driver::Compiled, latency_ms: f64, bandwidth_mbps: f64) {
    let program = &compiled.program;
    let b = mpcvm::backend::rep4::bytes_sent(program);
    let r = mpcvm::backend::rep4::rounds(program);
    println!("\nrep4: {r} network rounds (messages one after another), bytes sent per party {b:?}");
    let by_line = mpcvm::backend::rep4::by_location(program);
    print_cost_tables(
        compiled,
        &by_line,
        ["bytes p0", "bytes p1", "bytes p2", "bytes p3"],
    );
    print_estimate(r, &b, latency_ms, bandwidth_mbps);
}

/// The most items a program may take for `--stats` to model its offline phase.
const OFFLINE_MODEL_ITEMS: u64 = 10_000;

/// semi2k's offline phase with preprocessing by OT, from its cost model.
fn offline_line(program: &mpcvm::bytecode::Program, parties: usize) -> String {
    // The model walks every item: it takes a while for long runs.
    let items = mpcvm::backend::prep::plan::count_items(
        program,
        0..program.code.len(),
        mpcvm::backend::prep::plan::Items::Beaver,
    );
    if items > OFFLINE_MODEL_ITEMS {
        return format!("offline phase (preprocessing by OT): not modelled here for a run of {items} items (more than {OFFLINE_MODEL_ITEMS}); the run's JSON line reports it");
    }
    match mpcvm::backend::prep::ot::cost(program, parties) {
        Ok(costs) => format!(
            "offline phase (preprocessing by OT): {} network rounds, bytes sent per party {:?}, OTs per party {:?}",
            costs[0].rounds,
            costs.iter().map(|c| c.bytes_sent).collect::<Vec<_>>(),
            costs.iter().map(|c| c.ots).collect::<Vec<_>>()
        ),
        Err(e) => format!("offline phase: {e}"),
    }
}

/// semi2k's online rounds and bytes per party, and the values party 0 opens
/// masked for products (with mask reuse, each value's mask once), in all, by
/// function and by source line.
fn print_semi2k_costs(compiled: &mpcc::driver::Compiled) {
    let program = &compiled.program;
    let parties = mpcvm::run::Protocol::Semi2k
        .parties(program)
        .expect("networked");
    let b = mpcvm::backend::semi2k::bytes_sent(program, parties);
    let r = mpcvm::backend::semi2k::rounds(program);
    println!(
        "\nsemi2k, {parties} parties, online phase: {r} network rounds, bytes sent per party {b:?}"
    );
    let by_line = mpcvm::backend::semi2k::by_location(program, parties);
    let masked: u64 = by_line.iter().map(|row| row.2[2]).sum();
    println!("values party 0 opens masked for products: {masked}");
    println!("{}", offline_line(program, parties));
    print_cost_tables(compiled, &by_line, ["bytes p0", "bytes p1", "masked p0"]);
}

/// spdz2k's online rounds and bytes per party, MAC checks included.
fn print_spdz2k_costs(compiled: &mpcc::driver::Compiled) {
    let program = &compiled.program;
    let parties = mpcvm::run::Protocol::Spdz2k
        .parties(program)
        .expect("networked");
    let b = mpcvm::backend::spdz2k::bytes_sent(program, parties);
    let r = mpcvm::backend::spdz2k::rounds(program, parties);
    println!(
        "\nspdz2k, {parties} parties, online phase (MAC checks included): {r} network rounds, bytes sent per party {b:?}"
    );
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("import") {
        let cli = ImportCli::parse_from(std::env::args().skip(1));
        return match import(cli) {
            Ok(report) => {
                print!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let cli = Cli::parse();
    let beaver = matches!(cli.protocol, ProtocolArg::Semi2k | ProtocolArg::Spdz2k);
    if cli.no_mask_reuse && !beaver {
        eprintln!("error: --no-mask-reuse is a choice of --protocol semi2k or spdz2k");
        return ExitCode::FAILURE;
    }
    let options = Options {
        exact_fixed_point: cli.exact_truncation,
        mask_reuse: beaver && !cli.no_mask_reuse,
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
        print!("{STATS_LEGEND}{}", mpcc::stats::render(&compiled.module));
        let protocol = match cli.protocol {
            ProtocolArg::Semi2k => mpcvm::run::Protocol::Semi2k,
            ProtocolArg::Spdz2k => mpcvm::run::Protocol::Spdz2k,
            ProtocolArg::Rep3 => mpcvm::run::Protocol::Rep3,
            ProtocolArg::Rep4 => mpcvm::run::Protocol::Rep4,
        };
        match (protocol.check(&compiled.program), protocol) {
            (Ok(()), mpcvm::run::Protocol::Semi2k) => print_semi2k_costs(&compiled),
            (Ok(()), mpcvm::run::Protocol::Spdz2k) => print_spdz2k_costs(&compiled),
            (Ok(()), mpcvm::run::Protocol::Rep4) => {
                print_rep4_costs(&compiled, cli.latency_ms, cli.bandwidth_mbps)
            }
            (Ok(()), _) => print_rep3_costs(&compiled, cli.latency_ms, cli.bandwidth_mbps),
            (Err(e), _) => println!("{}: {e}", protocol.name()),
        }
    }
    ExitCode::SUCCESS
}

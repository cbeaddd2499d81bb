//! `mpcvm`: runs compiled mpcc programs, one process per party.

use clap::{Parser, Subcommand};
use mpcvm::bytecode::{disassemble, Program};
use mpcvm::net::hosts::Hosts;
use mpcvm::net::tls::{self, Identity};
use mpcvm::net::NetConfig;
use mpcvm::run::{self, Protocol};
use mpcvm::VmError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Protocols allocate large vectors every round: see [`mpcvm::memory`].
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

#[derive(clap::Args, Clone)]
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
    /// Fixes the clear backend's randomness. INSECURE: for tests and reproducible experiments only.
    #[arg(long)]
    seed: Option<u64>,
    /// Seconds to keep trying to reach the other parties at start.
    #[arg(long, default_value_t = 30.0)]
    connect_timeout: f64,
    /// Seconds a peer may stay silent during the run before this party gives up.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Simulated one-way latency added to every message, in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    sim_latency_ms: f64,
    /// Simulated bandwidth of every link, in megabits per second.
    #[arg(long)]
    sim_bandwidth_mbps: Option<f64>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one party. With a networked protocol it connects to the others listed
    /// in the hosts file. The clear backend has no network: it recomputes the whole
    /// plaintext run, so it needs every party's inputs, and writes this party's outputs only.
    Run {
        /// This party's id.
        #[arg(long)]
        party: usize,
        /// The hosts file: every party's address and certificate (networked protocols).
        #[arg(long)]
        hosts: Option<PathBuf>,
        /// This party's private key (default: party<P>.key beside the hosts file).
        #[arg(long)]
        key: Option<PathBuf>,
        /// This party's certificate (default: party<P>.crt beside the hosts file).
        #[arg(long)]
        cert: Option<PathBuf>,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Runs every party of a run on this machine: with a networked protocol, one
    /// process per party on loopback with freshly made certificates.
    RunLocal {
        #[command(flatten)]
        args: RunArgs,
    },
    /// Makes a party's private key and self-signed certificate: <dir>/party<P>.key and .crt.
    Keygen {
        #[arg(long)]
        party: usize,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
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

fn io_error(what: &str, path: &Path, e: std::io::Error) -> VmError {
    VmError::Io(format!("cannot {what} {}: {e}", path.display()))
}

fn load(path: &Path) -> Result<Program, VmError> {
    let bytes = std::fs::read(path).map_err(|e| io_error("read", path, e))?;
    Program::load(&bytes)
}

/// Prints the outputs a party received and the JSON line of figures.
fn report(
    program: &Program,
    args: &RunArgs,
    outcome: &mpcvm::interp::RunOutcome,
    parties: &[usize],
    party: Option<usize>,
) -> Result<(), VmError> {
    for (p, i, path) in run::write_outputs(program, outcome, &args.out, parties)? {
        let decl = &program.outputs[i];
        let value = outcome.outputs[i].as_ref().expect("written outputs exist");
        println!(
            "party {p}: {} = {}  ({})",
            decl.name,
            mpcvm::io::render(value, &decl.ty),
            path.display()
        );
    }
    println!("{}", run::figures_json(args.protocol, party, outcome));
    Ok(())
}

fn run_one(
    party: usize,
    hosts: Option<&Path>,
    key: Option<&Path>,
    cert: Option<&Path>,
    args: &RunArgs,
) -> Result<(), VmError> {
    let program = load(&args.program)?;
    eprintln!("{}", run::banner(args.protocol, args.seed));
    if args.protocol == Protocol::Clear {
        if party >= program.parties as usize {
            return Err(VmError::Usage(format!(
                "party {party} does not exist: the program has {} parties",
                program.parties
            )));
        }
        let inputs = mpcvm::io::load_inputs(&program, &args.inputs)?;
        let outcome = run::run_local(&program, &inputs, args.seed)?;
        return report(&program, args, &outcome, &[party], Some(party));
    }
    if args.seed.is_some() {
        return Err(VmError::Usage(format!("--seed applies to the clear backend only; {} draws its randomness from the operating system", args.protocol.name())));
    }
    let hosts = hosts.ok_or_else(|| {
        VmError::Usage(format!(
            "{} needs --hosts: the file with every party's address and certificate",
            args.protocol.name()
        ))
    })?;
    let dir = hosts.parent().unwrap_or(Path::new("."));
    let key = key
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(format!("party{party}.key")));
    let cert = cert
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(format!("party{party}.crt")));
    if let Some((p, _)) = args.inputs.iter().find(|(p, _)| *p != party) {
        return Err(VmError::Usage(format!(
            "party {party} was given party {p}'s input: each party passes only its own"
        )));
    }
    let inputs = mpcvm::io::load_inputs(&program, &args.inputs)?;
    let config = NetConfig {
        party,
        hosts: Hosts::load(hosts).map_err(VmError::Usage)?,
        identity: Identity {
            certificate: tls::load_certificate(&cert).map_err(VmError::Usage)?,
            key: tls::load_key(&key).map_err(VmError::Usage)?,
        },
        connect_timeout: Duration::from_secs_f64(args.connect_timeout),
        io_timeout: Duration::from_secs_f64(args.timeout),
        latency: Duration::from_secs_f64(args.sim_latency_ms / 1e3),
        bandwidth_bits_per_second: args.sim_bandwidth_mbps.map(|m| m * 1e6),
    };
    let outcome = run::run_party(&program, args.protocol, config, &inputs)?;
    report(&program, args, &outcome, &[party], Some(party))
}

/// Starts every party as its own process on loopback and waits for all of them.
fn run_local(args: &RunArgs) -> Result<(), VmError> {
    let program = load(&args.program)?;
    let Some(n) = args.protocol.parties() else {
        eprintln!("{}", run::banner(args.protocol, args.seed));
        let inputs = mpcvm::io::load_inputs(&program, &args.inputs)?;
        let outcome = run::run_local(&program, &inputs, args.seed)?;
        let parties: Vec<usize> = (0..program.parties as usize).collect();
        return report(&program, args, &outcome, &parties, None);
    };
    args.protocol.check(&program)?;
    let dir = std::env::temp_dir().join(format!("mpcvm-run-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
    let addresses: Vec<String> = (0..n)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.to_string())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| VmError::Network(format!("no free port on loopback: {e}")))?;
    for p in 0..n {
        let (key, cert) = tls::generate(p).map_err(VmError::Usage)?;
        std::fs::write(dir.join(format!("party{p}.key")), key)
            .map_err(|e| io_error("write", &dir, e))?;
        std::fs::write(dir.join(format!("party{p}.crt")), cert)
            .map_err(|e| io_error("write", &dir, e))?;
    }
    let hosts = dir.join("hosts.toml");
    Hosts::write(&hosts, &addresses).map_err(VmError::Usage)?;
    let exe = std::env::current_exe()
        .map_err(|e| VmError::Io(format!("cannot find mpcvm itself: {e}")))?;
    let children: Vec<_> = (0..n)
        .map(|p| {
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg("run")
                .arg("--party")
                .arg(p.to_string())
                .arg("--hosts")
                .arg(&hosts);
            cmd.arg(&args.program)
                .arg("--protocol")
                .arg(args.protocol.name())
                .arg("--out")
                .arg(&args.out);
            cmd.arg("--connect-timeout")
                .arg(args.connect_timeout.to_string())
                .arg("--timeout")
                .arg(args.timeout.to_string());
            cmd.arg("--sim-latency-ms")
                .arg(args.sim_latency_ms.to_string());
            if let Some(b) = args.sim_bandwidth_mbps {
                cmd.arg("--sim-bandwidth-mbps").arg(b.to_string());
            }
            for (q, path) in args.inputs.iter().filter(|(q, _)| *q == p) {
                cmd.arg("--input").arg(format!("{q}={}", path.display()));
            }
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn()
                .map_err(|e| VmError::Io(format!("cannot start party {p}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let mut failed = Vec::new();
    for (p, child) in children.into_iter().enumerate() {
        let out = child
            .wait_with_output()
            .map_err(|e| VmError::Io(format!("party {p}: {e}")))?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            if p == 0 {
                eprint!("{err}");
            }
        } else {
            eprint!("party {p}: {err}");
            failed.push(p);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(VmError::Usage(format!("parties {failed:?} failed")))
    }
}

fn main() -> ExitCode {
    mpcvm::memory::keep_freed_memory();
    let cli = Cli::parse();
    let result =
        match &cli.command {
            Command::Run {
                party,
                hosts,
                key,
                cert,
                args,
            } => run_one(
                *party,
                hosts.as_deref(),
                key.as_deref(),
                cert.as_deref(),
                args,
            ),
            Command::RunLocal { args } => run_local(args),
            Command::Keygen { party, dir } => tls::generate(*party)
                .map_err(VmError::Usage)
                .and_then(|(key, cert)| {
                    let (k, c) = (
                        dir.join(format!("party{party}.key")),
                        dir.join(format!("party{party}.crt")),
                    );
                    std::fs::write(&k, key).map_err(|e| io_error("write", &k, e))?;
                    std::fs::write(&c, cert).map_err(|e| io_error("write", &c, e))?;
                    println!("wrote {} and {}", k.display(), c.display());
                    Ok(())
                }),
            Command::Disasm { program } => std::fs::read(program)
                .map_err(|e| io_error("read", program, e))
                .and_then(|bytes| {
                    print!("{}", disassemble(&Program::load(&bytes)?, &bytes));
                    Ok(())
                }),
        };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `mpcvm`: runs compiled mpcc programs, one process per party.

use clap::{Parser, Subcommand};
use mpcvm::bytecode::{disassemble, Program};
use mpcvm::net::hosts::Hosts;
use mpcvm::net::tls::{self, Identity};
use mpcvm::net::NetConfig;
use mpcvm::party_files::{PartyFiles, Setup, ShareFiles};
use mpcvm::progress::Progress;
use mpcvm::run::{self, Prep, Protocol};
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

/// Who one party of a networked run is.
#[derive(clap::Args, Clone)]
struct PartyArgs {
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
    /// A listening socket inherited from `run-local` or `prep-local` (internal).
    #[arg(long, hide = true)]
    listen_fd: Option<i32>,
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// The compiled program.
    program: PathBuf,
    /// The protocol backend.
    #[arg(long, value_enum, default_value = "clear")]
    protocol: Protocol,
    /// Where semi2k's and spdz2k's correlated randomness comes from: `ot` (the
    /// default: the parties make it by oblivious transfer, in an offline phase
    /// before the online one) or `dealer` (INSECURE: a trusted third party, run
    /// as the last entry of the hosts file, or by run-local as an extra process).
    #[arg(long, value_enum)]
    prep: Option<Prep>,
    /// semi2k or spdz2k with `--prep ot`: the directory of the material `mpcvm prep` made
    /// ahead of time (party<P>.prep for each party), used instead of an
    /// offline phase; with `mpcvm prep`, where to write it.
    #[arg(long)]
    prep_dir: Option<PathBuf>,
    /// semi2k and spdz2k: the number of computing parties (default: the program's, at
    /// least 2); parties the program names no input or output for only compute.
    #[arg(long)]
    parties: Option<usize>,
    /// A party's inputs: `P=FILE.npy` (a party with one input) or `P=DIR` (holding `<name>.npy` per input).
    #[arg(long = "input", value_parser = parse_input)]
    inputs: Vec<(usize, PathBuf)>,
    /// Directory for outputs: `<out>/party<P>/<name>.npy`, and kept shares: `<out>/party<P>/<name>.share`.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// The --out directory of the run that kept the shares this program loads (each party reads its own).
    #[arg(long)]
    shares: Option<PathBuf>,
    /// Fixes the clear backend's randomness. INSECURE: for tests and reproducible experiments only.
    #[arg(long)]
    seed: Option<u64>,
    /// Under the clear backend, skip checking every result against its declared type.
    #[arg(long)]
    no_range_check: bool,
    /// Do not show the lines the program prints (run-local shows party 0's only).
    #[arg(long, hide = true)]
    no_print: bool,
    /// No progress bar (it shows only when standard output is a terminal).
    #[arg(long)]
    quiet: bool,
    /// Report progress as lines for run-local, which draws the bar.
    #[arg(long, hide = true)]
    progress_lines: bool,
    /// Most memory a party may need for its tensors (bytes, or with K, M, G or T;
    /// default: half of this machine's memory, shared by run-local's parties).
    #[arg(long, value_parser = parse_bytes)]
    max_memory: Option<u64>,
    /// Seconds to keep trying to reach the other parties at start.
    #[arg(long, default_value_t = 30.0, value_parser = positive_seconds)]
    connect_timeout: f64,
    /// Seconds a peer may stay silent during the run before this party gives up.
    #[arg(long, default_value_t = 60.0, value_parser = positive_seconds)]
    timeout: f64,
    /// Simulated one-way latency added to every message, in milliseconds.
    #[arg(long, default_value_t = 0.0, value_parser = latency_ms)]
    sim_latency_ms: f64,
    /// Simulated bandwidth of every link, in megabits per second.
    #[arg(long, value_parser = bandwidth_mbps)]
    sim_bandwidth_mbps: Option<f64>,
    /// semi2k: after the run, print the bytes this party sent by source
    /// location, measured on its messages (each attributed to the operation
    /// that queued it), and the values its masking operations opened: what
    /// `mpcc --stats --protocol semi2k` predicts by source line. run-local:
    /// party 0's.
    #[arg(long)]
    sent_by_location: bool,
}

/// A number within `lo..=hi` (`lo` itself only if `lo_ok`), for the CLI.
fn number_in(s: &str, lo: f64, lo_ok: bool, hi: f64, what: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && (v > lo || (lo_ok && v == lo)) && v <= hi {
        Ok(v)
    } else {
        Err(format!("{what}, not {s}"))
    }
}

/// A size in bytes: `1073741824`, `512M`, `16G`.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let scale = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1u64,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "'{s}' is not a size: use bytes, or a number with K, M, G or T"
            ))
        }
    };
    let v: f64 = digits.parse().map_err(|_| format!("'{s}' is not a size"))?;
    if !(v.is_finite() && v > 0.0) {
        return Err(format!("'{s}' is not a positive size"));
    }
    Ok((v * scale as f64) as u64)
}

/// The number of parties of a networked run of `program` (`None` for clear).
fn party_count(args: &RunArgs, program: &Program) -> Result<Option<usize>, VmError> {
    let least = args.protocol.parties(program);
    match (args.protocol, args.parties, least) {
        (_, None, n) => Ok(n),
        (Protocol::Semi2k | Protocol::Spdz2k, Some(n), Some(least)) if n >= least && n <= 64 => {
            Ok(Some(n))
        }
        (p @ (Protocol::Semi2k | Protocol::Spdz2k), Some(n), Some(least)) => {
            Err(VmError::Usage(format!(
                "--parties {n}: {} runs this program with {least} to 64 parties",
                p.name()
            )))
        }
        (p, Some(_), _) => Err(VmError::Usage(format!(
            "--parties applies to semi2k and spdz2k only; {} has a fixed number of parties",
            p.name()
        ))),
    }
}

/// The memory limit of one of `parties` parties on this machine.
fn memory_limit(args: &RunArgs, parties: u64) -> u64 {
    args.max_memory
        .unwrap_or(run::physical_memory() / 2 / parties)
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    number_in(
        s,
        0.0,
        false,
        1e6,
        "expected seconds above 0 and at most 1000000",
    )
}

fn latency_ms(s: &str) -> Result<f64, String> {
    number_in(s, 0.0, true, 1e6, "expected milliseconds from 0 to 1000000")
}

fn bandwidth_mbps(s: &str) -> Result<f64, String> {
    number_in(s, 0.0, false, 1e9, "expected megabits per second above 0")
}

#[derive(Subcommand)]
enum Command {
    /// Runs one party. With a networked protocol it connects to the others listed
    /// in the hosts file. The clear backend has no network: it recomputes the whole
    /// plaintext run, so it needs every party's inputs, and writes this party's outputs only.
    Run {
        #[command(flatten)]
        party: PartyArgs,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Runs every party of a run on this machine: with a networked protocol, one
    /// process per party on loopback with freshly made certificates.
    RunLocal {
        #[command(flatten)]
        args: RunArgs,
    },
    /// Runs one party's offline phase alone (semi2k or spdz2k, by OT),
    /// ahead of the run, writing its material to <prep-dir>/party<P>.prep,
    /// bound to the program, the protocol and the party; `run --prep-dir`
    /// then consumes it.
    Prep {
        #[command(flatten)]
        party: PartyArgs,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Runs every party's offline phase on this machine (as run-local does
    /// the run), writing each party's material to --prep-dir.
    PrepLocal {
        #[command(flatten)]
        args: RunArgs,
    },
    /// Makes a party's private key and self-signed certificate: <dir>/party<P>.key
    /// (readable by its owner only) and .crt.
    Keygen {
        /// The party's id.
        #[arg(long)]
        party: usize,
        /// Where to write them (created if missing).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Prints the listing of a compiled program.
    Disasm {
        /// The compiled program.
        program: PathBuf,
    },
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
    if path.extension().is_some_and(|e| e == "mpc") && !bytes.starts_with(mpcvm::bytecode::MAGIC) {
        return Err(VmError::Usage(format!(
            "{} is mpcc source: compile it first, `mpcc {} -o {}`, and run the .mpcb",
            path.display(),
            path.display(),
            path.with_extension("mpcb").display()
        )));
    }
    Program::load(&bytes)
}

/// The files of this run: the inputs of the parties `inputs_of`, the outputs
/// and kept shares of the parties `outputs_of`, printed lines shown unless
/// `quiet`, and progress on a bar when standard output is a terminal (or as
/// lines for run-local).
fn files<'p>(
    program: &'p Program,
    args: &'p RunArgs,
    (inputs_of, outputs_of): (&[usize], &[usize]),
    quiet: bool,
) -> Result<PartyFiles<'p>, VmError> {
    let shares = ShareFiles {
        protocol: args.protocol.name(),
        parties: party_count(args, program)?.unwrap_or(program.parties as usize),
        program_hash: mpcvm::bytecode::content_hash(&program.encode()),
        from: args.shares.as_deref(),
    };
    let progress = if args.progress_lines {
        Progress::Lines
    } else {
        Progress::for_terminal(args.quiet)
    };
    PartyFiles::open(
        program,
        Setup {
            given: &args.inputs,
            inputs_of,
            outputs_of,
            out: &args.out,
            shares,
            show_prints: !quiet,
            progress,
        },
    )
}

/// Closes the run's output files and prints what each party received and the
/// JSON line of figures.
fn report(
    program: &Program,
    args: &RunArgs,
    outcome: &mpcvm::interp::RunOutcome,
    files: PartyFiles,
    party: Option<usize>,
) -> Result<(), VmError> {
    for (p, path) in files.kept() {
        println!("party {p}: kept its share ({})", path.display());
    }
    for (p, i, path) in files.finish()? {
        let decl = &program.outputs[i];
        let value = outcome.outputs[i].as_ref().expect("written outputs exist");
        println!(
            "party {p}: {} = {}  ({})",
            decl.name,
            mpcvm::io::render(value, &decl.ty),
            path.display()
        );
    }
    if args.sent_by_location {
        let parties = party_count(args, program)?.unwrap_or(1);
        let rows = run::sent_by_location(program, outcome, parties);
        print!(
            "{}",
            run::render_sent_by_location(&rows, party.unwrap_or(0))
        );
    }
    println!(
        "{}",
        run::figures_json(
            args.protocol,
            args.protocol.prep(args.prep)?,
            party,
            outcome
        )
    );
    Ok(())
}

/// Whether a command runs the program, or only its offline phase (`prep`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    Prep,
}

impl Mode {
    /// Refuses what the offline phase alone cannot do; its directory.
    fn check<'a>(self, args: &'a RunArgs, prep: Option<Prep>) -> Result<Option<&'a Path>, VmError> {
        if args.sent_by_location && (self == Mode::Prep || args.protocol != Protocol::Semi2k) {
            return Err(VmError::Usage(
                "--sent-by-location measures the online phase of semi2k runs only".into(),
            ));
        }
        if self == Mode::Run {
            return Ok(args.prep_dir.as_deref());
        }
        if prep != Some(Prep::Ot) {
            return Err(VmError::Usage(
                "mpcvm prep makes semi2k's or spdz2k's preprocessing by OT: use --protocol semi2k or spdz2k (and no --prep dealer)".into(),
            ));
        }
        if !args.inputs.is_empty() {
            return Err(VmError::Usage("the offline phase takes no inputs".into()));
        }
        args.prep_dir.as_deref().map(Some).ok_or_else(|| {
            VmError::Usage("mpcvm prep needs --prep-dir, where to write the material".into())
        })
    }
}

fn run_one(mode: Mode, who: &PartyArgs, args: &RunArgs) -> Result<(), VmError> {
    let (party, hosts, key, cert) = (
        who.party,
        who.hosts.as_deref(),
        who.key.as_deref(),
        who.cert.as_deref(),
    );
    let program = load(&args.program)?;
    let prep = args.protocol.prep(args.prep)?;
    let prep_dir = mode.check(args, prep)?;
    eprintln!("{}", run::banner(args.protocol, args.seed, prep));
    run::check_memory(&program, args.protocol, memory_limit(args, 1))?;
    if prep == Some(Prep::Ot) && (mode == Mode::Prep || prep_dir.is_none()) {
        run::check_material(&program, args.protocol, memory_limit(args, 1))?;
    }
    if args.protocol == Protocol::Clear {
        if party >= program.parties as usize {
            return Err(VmError::Usage(format!(
                "party {party} does not exist: the program has {} parties",
                program.parties
            )));
        }
        let everyone: Vec<usize> = (0..program.parties as usize).collect();
        let mut io = files(&program, args, (&everyone, &[party]), false)?;
        let outcome = run::run_local(&program, &mut io, args.seed, !args.no_range_check)?;
        return report(&program, args, &outcome, io, Some(party));
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
    let dealer = prep == Some(Prep::Dealer) && Some(party) == party_count(args, &program)?;
    let hosts = Hosts::load(hosts).map_err(VmError::Usage)?;
    if let (Some(Prep::Dealer), Some(n)) = (prep, party_count(args, &program)?) {
        if hosts.0.len() != n + 1 {
            return Err(VmError::Usage(format!(
                "the hosts file lists {} nodes, but a run of {n} parties with a dealer has {}",
                hosts.0.len(),
                n + 1
            )));
        }
    }
    let listener = who
        .listen_fd
        .map(|fd| inherited_listener(fd, &hosts, party))
        .transpose()?;
    let config = NetConfig {
        party,
        hosts,
        identity: Identity {
            certificate: tls::load_certificate(&cert).map_err(VmError::Usage)?,
            key: tls::load_key(&key).map_err(VmError::Usage)?,
        },
        connect_timeout: Duration::from_secs_f64(args.connect_timeout),
        io_timeout: Duration::from_secs_f64(args.timeout),
        latency: Duration::from_secs_f64(args.sim_latency_ms / 1e3),
        bandwidth_bits_per_second: args.sim_bandwidth_mbps.map(|m| m * 1e6),
        listener,
        // The tamper harness is the tests' own: never on the command line.
        #[cfg(feature = "tamper")]
        tamper: None,
    };
    if mode == Mode::Prep {
        let dir = prep_dir.expect("checked");
        let progress = if args.progress_lines {
            Progress::Lines
        } else {
            Progress::for_terminal(args.quiet)
        };
        let figures = run::prep_party(&program, args.protocol, config, dir, &mut |done, total| {
            progress.update(done, total, "offline phase: preprocessing by OT")
        })?;
        progress.finish();
        println!(
            "{}",
            serde_json::json!({
                "party": party,
                "preprocessing": "ot",
                "wrote": mpcvm::backend::prep::file::path(dir, party),
                "preprocessing_seconds": figures.seconds,
                "preprocessing_rounds": figures.comm.rounds,
                "preprocessing_bytes_sent": figures.comm.bytes_sent,
                "preprocessing_bytes_received": figures.comm.bytes_received,
                "ots": figures.ots,
            })
        );
        return Ok(());
    }
    if dealer {
        if !args.inputs.is_empty() {
            return Err(VmError::Usage("the dealer has no inputs".into()));
        }
        let figures = run::run_dealer(&program, args.protocol, config)?;
        println!(
            "{}",
            serde_json::json!({"dealer": party, "bytes_sent": figures.bytes_sent, "preprocessing": "dealer (INSECURE)"})
        );
        return Ok(());
    }
    let mut io = files(&program, args, (&[party], &[party]), args.no_print)?;
    let outcome = match args.protocol {
        p @ (Protocol::Semi2k | Protocol::Spdz2k) => {
            let prep = prep.expect("a Beaver protocol has one");
            run::run_beaver_party(&program, p, config, &mut io, prep, prep_dir)?
        }
        p => run::run_party(&program, p, config, &mut io)?,
    };
    report(&program, args, &outcome, io, Some(party))
}

/// The listening socket `run-local` handed down as file descriptor `fd`: it must
/// be a TCP listener on this party's address in the hosts file.
fn inherited_listener(
    fd: i32,
    hosts: &Hosts,
    party: usize,
) -> Result<std::net::TcpListener, VmError> {
    use std::os::fd::FromRawFd;
    let mut accepting: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `accepting`.
    let listening = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&mut accepting as *mut libc::c_int).cast(),
            &mut len,
        )
    } == 0
        && accepting == 1;
    let wrong = || {
        VmError::Usage(format!(
            "--listen-fd {fd} is not a socket listening on party {party}'s address"
        ))
    };
    if !listening {
        return Err(wrong());
    }
    // SAFETY: `fd` is an open listening socket (checked above) that nothing else owns.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    let bound = listener.local_addr().map_err(|_| wrong())?.to_string();
    match hosts.0.get(party) {
        Some(h) if h.address == bound => Ok(listener),
        _ => Err(wrong()),
    }
}

/// A directory of this process's own, fresh and readable by its owner only.
fn private_dir() -> Result<PathBuf, VmError> {
    use std::os::unix::fs::DirBuilderExt;
    loop {
        let dir =
            std::env::temp_dir().join(format!("mpcvm-run-local-{:016x}", rand::random::<u64>()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_error("create", &dir, e)),
        }
    }
}

/// The file descriptor a party process finds its listening socket on.
const CHILD_LISTEN_FD: i32 = 3;

/// Starts every party as its own process on loopback and waits for all of them.
/// Every input file and header is checked before any party starts; the listening sockets are
/// bound here and handed to the parties, so no port is ever free for another
/// process to take; a party that fails stops the others at once, and the parties
/// die with this process whatever ends it.
fn run_local(mode: Mode, args: &RunArgs) -> Result<(), VmError> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let program = load(&args.program)?;
    let prep = args.protocol.prep(args.prep)?;
    mode.check(args, prep)?;
    let everyone: Vec<usize> = (0..program.parties as usize).collect();
    let Some(n) = party_count(args, &program)? else {
        eprintln!("{}", run::banner(args.protocol, args.seed, prep));
        run::check_memory(&program, args.protocol, memory_limit(args, 1))?;
        let mut io = files(&program, args, (&everyone, &everyone), false)?;
        let outcome = run::run_local(&program, &mut io, args.seed, !args.no_range_check)?;
        return report(&program, args, &outcome, io, None);
    };
    if args.seed.is_some() {
        return Err(VmError::Usage(format!("--seed applies to the clear backend only; {} draws its randomness from the operating system", args.protocol.name())));
    }
    args.protocol.check(&program)?;
    let per_party = memory_limit(args, n as u64);
    run::check_memory(&program, args.protocol, per_party)?;
    if prep == Some(Prep::Ot) && (mode == Mode::Prep || args.prep_dir.is_none()) {
        run::check_material(&program, args.protocol, per_party)?;
    }
    // Every party's files and headers now, before any party starts; each party
    // checks its values as it reads them, and the first to fail stops the others.
    if mode == Mode::Run {
        mpcvm::io::check_inputs(&program, &args.inputs, &everyone)?;
    }
    // And every party's share files, so a mix-up is reported once, as it is.
    if let Some(from) = &args.shares {
        for p in 0..n {
            for decl in program.shares.iter().filter(|s| !s.kept) {
                let reader = mpcvm::shares::Reader {
                    protocol: args.protocol.name(),
                    party: p,
                    parties: n,
                };
                let path = from
                    .join(format!("party{p}"))
                    .join(format!("{}.share", decl.name));
                mpcvm::shares::read(&path, &reader, &decl.ty)?;
            }
        }
    }
    // A dealer is one more process, the last node of the network.
    let nodes = n + (prep == Some(Prep::Dealer)) as usize;
    let dir = private_dir()?;
    let result = (|| {
        let listeners: Vec<std::net::TcpListener> = (0..nodes)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<_, _>>()
            .map_err(|e| VmError::Network(format!("cannot listen on loopback: {e}")))?;
        let addresses: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().map(|a| a.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| VmError::Network(e.to_string()))?;
        for p in 0..nodes {
            tls::write_identity(&dir, p).map_err(VmError::Usage)?;
        }
        let hosts = dir.join("hosts.toml");
        Hosts::write(&hosts, &addresses).map_err(VmError::Usage)?;
        let exe = std::env::current_exe()
            .map_err(|e| VmError::Io(format!("cannot find mpcvm itself: {e}")))?;
        let mut children = Vec::new();
        for (p, listener) in listeners.iter().enumerate() {
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg(if mode == Mode::Prep { "prep" } else { "run" })
                .arg("--party")
                .arg(p.to_string())
                .arg("--hosts")
                .arg(&hosts);
            cmd.arg("--listen-fd").arg(CHILD_LISTEN_FD.to_string());
            cmd.arg(&args.program)
                .arg("--protocol")
                .arg(args.protocol.name());
            if let Some(prep) = prep {
                cmd.arg("--prep").arg(prep.name());
            }
            if let Some(dir) = &args.prep_dir {
                cmd.arg("--prep-dir").arg(dir);
            }
            if let Some(n) = args.parties {
                cmd.arg("--parties").arg(n.to_string());
            }
            cmd.arg("--out").arg(&args.out);
            if let Some(s) = &args.shares {
                cmd.arg("--shares").arg(s);
            }
            cmd.arg("--connect-timeout")
                .arg(args.connect_timeout.to_string());
            cmd.arg("--timeout").arg(args.timeout.to_string());
            cmd.arg("--sim-latency-ms")
                .arg(args.sim_latency_ms.to_string());
            cmd.arg("--max-memory").arg(per_party.to_string());
            if p != 0 {
                cmd.arg("--no-print");
            } else if args.sent_by_location {
                cmd.arg("--sent-by-location");
            }
            // Party 0 reports its progress for the one bar of the run, drawn here.
            let bar = p == 0 && matches!(Progress::for_terminal(args.quiet), Progress::Bar(_));
            cmd.arg(if bar { "--progress-lines" } else { "--quiet" });
            if let Some(b) = args.sim_bandwidth_mbps {
                cmd.arg("--sim-bandwidth-mbps").arg(b.to_string());
            }
            for (q, path) in args.inputs.iter().filter(|(q, _)| *q == p) {
                cmd.arg("--input").arg(format!("{q}={}", path.display()));
            }
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let fd = listener.as_raw_fd();
            // SAFETY: between fork and exec the closure calls only dup2 and prctl,
            // which are async-signal-safe, and touches no memory of the parent.
            unsafe {
                cmd.pre_exec(move || {
                    // The party's listening socket as fd 3, open across exec (dup2
                    // clears close-on-exec, but does nothing if it is fd 3 already).
                    let moved = if fd == CHILD_LISTEN_FD {
                        libc::fcntl(fd, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(fd, CHILD_LISTEN_FD)
                    };
                    if moved < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // The party dies with run-local, whatever ends it.
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = cmd
                .spawn()
                .map_err(|e| VmError::Io(format!("cannot start {}: {e}", node_name(p, n))))?;
            children.push(PartyProcess::watch(child, p == 0, args.quiet));
        }
        drop(listeners);
        supervise(children, n)
    })();
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// Node `p` of a run of `n` parties: a party, or the dealer after them.
fn node_name(p: usize, n: usize) -> String {
    if p == n {
        "the dealer".into()
    } else {
        format!("party {p}")
    }
}

/// A party's process, with its output collected as it comes.
struct PartyProcess {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

impl PartyProcess {
    /// Collects the party's output; with `live`, its standard output is passed
    /// on line by line as it comes (the lines the program prints), not
    /// collected, and its progress lines drawn as the run's bar.
    fn watch(mut child: std::process::Child, live: bool, quiet: bool) -> PartyProcess {
        use std::io::{BufRead, Read};
        let collect = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut b = Vec::new();
                let _ = r.read_to_end(&mut b);
                b
            })
        };
        let out = child.stdout.take().expect("piped");
        let stdout = if live {
            std::thread::spawn(move || {
                let progress = Progress::for_terminal(quiet);
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    match (mpcvm::progress::parse_line(&line), &progress) {
                        (Some((done, total, news)), p) => p.update(done, total, &news),
                        (None, p) => p.println(&line),
                    }
                }
                progress.finish();
                Vec::new()
            })
        } else {
            collect(Box::new(out))
        };
        let stderr = collect(Box::new(child.stderr.take().expect("piped")));
        PartyProcess {
            child,
            stdout,
            stderr,
        }
    }
}

/// Waits for every party; the first to fail stops the others, and its error is
/// printed first.
fn supervise(mut parties: Vec<PartyProcess>, n: usize) -> Result<(), VmError> {
    let mut status = vec![None; parties.len()];
    let mut first_failure = None;
    while status.iter().any(Option::is_none) {
        for (p, party) in parties.iter_mut().enumerate() {
            if status[p].is_none() {
                if let Some(s) = party
                    .child
                    .try_wait()
                    .map_err(|e| VmError::Io(format!("{}: {e}", node_name(p, n))))?
                {
                    if !s.success() && first_failure.is_none() {
                        first_failure = Some(p);
                    }
                    status[p] = Some(s);
                }
            }
        }
        if first_failure.is_some() {
            for party in parties.iter_mut() {
                let _ = party.child.kill();
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let outputs: Vec<(Vec<u8>, Vec<u8>)> = parties
        .into_iter()
        .map(|p| {
            (
                p.stdout.join().unwrap_or_default(),
                p.stderr.join().unwrap_or_default(),
            )
        })
        .collect();
    for (out, _) in &outputs {
        print!("{}", String::from_utf8_lossy(out));
    }
    match first_failure {
        None => {
            eprint!("{}", String::from_utf8_lossy(&outputs[0].1));
            Ok(())
        }
        Some(f) => {
            let last_line = |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .lines()
                    .filter(|l| !l.starts_with("protocol "))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            eprintln!("{} failed: {}", node_name(f, n), last_line(&outputs[f].1));
            for (p, (_, err)) in outputs.iter().enumerate() {
                let err = last_line(err);
                if p != f && !err.is_empty() {
                    eprintln!("  (then {}: {err})", node_name(p, n));
                }
            }
            Err(VmError::Usage(format!(
                "{} failed; the other parties were stopped",
                node_name(f, n)
            )))
        }
    }
}

fn main() -> ExitCode {
    mpcvm::memory::keep_freed_memory();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run { party, args } => run_one(Mode::Run, party, args),
        Command::RunLocal { args } => run_local(Mode::Run, args),
        Command::Prep { party, args } => run_one(Mode::Prep, party, args),
        Command::PrepLocal { args } => run_local(Mode::Prep, args),
        Command::Keygen { party, dir } => tls::write_identity(dir, *party)
            .map_err(VmError::Usage)
            .map(|(k, c)| println!("wrote {} and {}", k.display(), c.display())),
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

#[cfg(test)]
mod tests {
    use super::private_dir;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn run_local_directories_are_fresh_and_private() {
        let a = private_dir().unwrap();
        let b = private_dir().unwrap();
        assert_ne!(a, b);
        for d in [&a, &b] {
            let mode = std::fs::metadata(d).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", d.display());
            assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
            std::fs::remove_dir(d).unwrap();
        }
    }
}

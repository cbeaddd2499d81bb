//! Shared helpers of the end-to-end tests, benchmarks and example tools:
//! locating the repository and `../shared`, reading MNIST, writing `.npy` files,
//! and compiling and running programs in-process.

pub mod mobilenet;
pub mod peer_rows;
pub mod reference;
pub mod tamper;
pub mod tflite_builder;
pub mod tflite_reference;
pub mod training;

use mpcc::driver::{compile_file, compile_source, Compiled};
use mpcc::elaborate::Options;
use mpcvm::bytecode::Program;
use mpcvm::interp::RunOutcome;
use mpcvm::ring::RingTensor;
use mpcvm::run::run_local;
use std::io::Read;
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// `../shared` beside the repository (override with `MPCC_SHARED`).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("MPCC_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("..").join("shared"))
}

pub fn program_path(name: &str) -> PathBuf {
    repo_root().join("programs").join(format!("{name}.mpc"))
}

/// Every example program's name, from `programs/*.mpc`.
pub fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("programs"))
        .expect("programs/ exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "mpc").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// Compiles an example, panicking with the rendered diagnostic on failure.
pub fn compile_example(name: &str, options: Options) -> Compiled {
    compile_file(&program_path(name), options)
        .unwrap_or_else(|f| panic!("{name} does not compile:\n{}", f.render()))
}

/// The size constants of the examples whose full runs are documented commands
/// (the training programs: an epoch of MNIST), with the values that make them
/// quick enough to run in every test.
const FULL_SIZES: &[(&str, &str)] = &[
    ("const STEPS = 468;", "const STEPS = 2;"),
    ("const B = 128;", "const B = 8;"),
    ("const TEST_STEPS = 100;", "const TEST_STEPS = 1;"),
    ("const TB = 100;", "const TB = 10;"),
    ("const EPOCHS = 4;", "const EPOCHS = 1;"),
];

/// The size constants of the training examples cut further, for protocols
/// whose runs cost more (spdz2k's arithmetic comparisons): one step of two
/// images, two test images.
pub const TINY_SIZES: &[(&str, &str)] = &[
    ("const STEPS = 468;", "const STEPS = 1;"),
    ("const B = 128;", "const B = 2;"),
    ("const TEST_STEPS = 100;", "const TEST_STEPS = 1;"),
    ("const TB = 100;", "const TB = 2;"),
    ("const EPOCHS = 4;", "const EPOCHS = 1;"),
];

/// Compiles an example to run in a test: as shipped, or with the size
/// constants of a long run reduced (the program is otherwise the same).
pub fn compile_example_to_run(name: &str, options: Options) -> Compiled {
    compile_example_sized(name, options, FULL_SIZES)
}

/// [`compile_example_to_run`] with the size constants replaced by `sizes`.
pub fn compile_example_sized(name: &str, options: Options, sizes: &[(&str, &str)]) -> Compiled {
    let mut text = std::fs::read_to_string(program_path(name)).expect("the example exists");
    for (full, small) in sizes {
        text = text.replace(full, small);
    }
    compile_text(&text, options)
}

/// Compiles program text (imports resolve against `programs/` and the stdlib).
pub fn compile_text(text: &str, options: Options) -> Compiled {
    compile_source(
        "test.mpc",
        text,
        Some(&repo_root().join("programs")),
        options,
    )
    .unwrap_or_else(|f| panic!("does not compile:\n{}", f.render()))
}

/// Inputs by name: each entry is `(input name, values)`, encoded with the declared type.
pub fn inputs(program: &Program, values: &[(&str, Vec<f64>)]) -> Vec<Option<RingTensor>> {
    program
        .inputs
        .iter()
        .map(|decl| {
            let (_, v) = values
                .iter()
                .find(|(n, _)| *n == decl.name)
                .unwrap_or_else(|| panic!("no value for input {}", decl.name));
            Some(mpcvm::io::encode_f64(v, &decl.ty).unwrap_or_else(|e| panic!("{e}")))
        })
        .collect()
}

/// The model owner's inputs of an imported TFLite model, by name.
pub fn weight_values(im: &mpcc::tflite::import::Imported) -> Vec<(&str, Vec<f64>)> {
    im.weights
        .iter()
        .map(|w| {
            (
                w.name.as_str(),
                w.values.iter().map(|&v| v as f64).collect(),
            )
        })
        .collect()
}

/// Runs under the clear backend with a fixed seed and the range check on.
pub fn run_clear(program: &Program, inputs: &[Option<RingTensor>], seed: u64) -> RunOutcome {
    run_clear_with(program, inputs, seed, true, &mut |_| {})
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Zeros for every share `program` loads, as `components` words each (clear
/// has one, rep3 two), so an example that loads a model runs in a test.
pub fn zero_shares(program: &Program, components: usize) -> Shares {
    program
        .shares
        .iter()
        .map(|s| (!s.kept).then(|| vec![vec![0; s.ty.len()]; components]))
        .collect()
}

/// Runs under the clear backend, given the values of the shares it loads;
/// returns the outcome and the values it kept.
pub fn run_clear_sharing(
    program: &Program,
    inputs: &[Option<RingTensor>],
    seed: u64,
    shares: Shares,
) -> (RunOutcome, Shares) {
    let mut print = |_: &str| {};
    let mut io = mpcvm::interp::MemoryIo::new(inputs.to_vec(), &mut print);
    io.shares = shares;
    let outcome =
        run_local(program, &mut io, Some(seed), true).unwrap_or_else(|e| panic!("run failed: {e}"));
    (outcome, std::mem::take(&mut io.shares))
}

/// Runs under the clear backend with inputs in memory, printed lines to `print`.
pub fn run_clear_with(
    program: &Program,
    inputs: &[Option<RingTensor>],
    seed: u64,
    range_check: bool,
    print: &mut dyn FnMut(&str),
) -> Result<RunOutcome, mpcvm::VmError> {
    let mut io = mpcvm::interp::MemoryIo::new(inputs.to_vec(), print);
    run_local(program, &mut io, Some(seed), range_check)
}

/// The output called `name`, decoded to numbers.
pub fn output(program: &Program, outcome: &RunOutcome, name: &str) -> Vec<f64> {
    let i = program
        .outputs
        .iter()
        .position(|o| o.name == name)
        .unwrap_or_else(|| panic!("no output {name}"));
    let t = outcome.outputs[i].as_ref().expect("output delivered");
    mpcvm::io::decode_f64(t, program.outputs[i].ty.elem)
}

/// A deterministic pseudo-random generator for test data (SplitMix64).
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
    pub fn ints(&mut self, n: usize, lo: i64, hi: i64) -> Vec<f64> {
        (0..n).map(|_| self.int(lo, hi) as f64).collect()
    }
}

/// MNIST in the original IDX format (gzip-compressed).
pub mod mnist {
    use super::*;

    fn read_gz(path: &Path) -> Vec<u8> {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .unwrap_or_else(|e| panic!("cannot decompress {}: {e}", path.display()));
        bytes
    }

    fn be32(b: &[u8], at: usize) -> usize {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize
    }

    /// `(count, pixels)`: each image 28x28 bytes, row-major.
    pub fn images(set: &str) -> (usize, Vec<u8>) {
        let b = read_gz(
            &shared_dir()
                .join("data/mnist")
                .join(format!("{set}-images-idx3-ubyte.gz")),
        );
        assert_eq!(be32(&b, 0), 0x803, "not an IDX image file");
        let n = be32(&b, 4);
        (n, b[16..16 + n * 784].to_vec())
    }

    pub fn labels(set: &str) -> Vec<u8> {
        let b = read_gz(
            &shared_dir()
                .join("data/mnist")
                .join(format!("{set}-labels-idx1-ubyte.gz")),
        );
        assert_eq!(be32(&b, 0), 0x801, "not an IDX label file");
        let n = be32(&b, 4);
        b[8..8 + n].to_vec()
    }

    /// Image `i` scaled to [0, 1].
    pub fn image(pixels: &[u8], i: usize) -> Vec<f64> {
        raw_image(pixels, i).iter().map(|&p| p / 255.0).collect()
    }
    /// Image `i`'s pixels as they are stored, 0 to 255 (a quantized model's input).
    pub fn raw_image(pixels: &[u8], i: usize) -> Vec<f64> {
        pixels[i * 784..(i + 1) * 784]
            .iter()
            .map(|&p| p as f64)
            .collect()
    }
}

/// Writes float64 data with a shape to a `.npy` file.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f64]) {
    use npyz::WriterBuilder;
    let file = std::io::BufWriter::new(
        std::fs::File::create(path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display())),
    );
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut w = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(&shape)
        .writer(file)
        .begin_nd()
        .expect("npy header");
    w.extend(data.iter().copied()).expect("npy data");
    w.finish().expect("npy finish");
}

/// Reads a float64 `.npy` file: `(shape, data)`.
pub fn read_npy(path: &Path) -> (Vec<usize>, Vec<f64>) {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy");
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (shape, npy.into_vec::<f64>().expect("float64 data"))
}

/// Cases per property test: `default`, or `PROPTEST_CASES` for longer hunts.
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `program` under rep3 with the three parties as threads of this process,
/// over TLS on loopback; `inputs` as for [`run_clear`] (each party gets only its own).
pub fn run_rep3(program: &Program, inputs: &[Option<RingTensor>]) -> Vec<RunOutcome> {
    run_rep3_printing(program, inputs)
        .into_iter()
        .map(|(outcome, _)| outcome)
        .collect()
}

/// [`run_rep3`], with the lines each party printed.
pub fn run_rep3_printing(
    program: &Program,
    inputs: &[Option<RingTensor>],
) -> Vec<(RunOutcome, Vec<String>)> {
    run_rep3_parties(program, inputs, vec![Vec::new(); 3])
        .into_iter()
        .map(|r| (r.outcome, r.printed))
        .collect()
}

/// Each share's words, by the share's index in the program (see `MemoryIo::shares`).
pub type Shares = Vec<Option<Vec<Vec<u64>>>>;

/// What one party of an in-process rep3 run produced.
pub struct PartyRun {
    pub outcome: RunOutcome,
    pub printed: Vec<String>,
    /// The shares it kept (and those it was given, minus the ones it loaded).
    pub shares: Shares,
}

/// [`run_rep3`], each party given its own shares to load (`shares[p]`) and
/// returning what it printed and kept.
pub fn run_rep3_parties(
    program: &Program,
    inputs: &[Option<RingTensor>],
    shares: Vec<Shares>,
) -> Vec<PartyRun> {
    run_parties(program, mpcvm::run::Protocol::Rep3, inputs, shares)
}

/// Runs `program` under rep4 with the four parties as threads of this
/// process, as [`run_rep3`].
pub fn run_rep4(program: &Program, inputs: &[Option<RingTensor>]) -> Vec<RunOutcome> {
    run_parties(
        program,
        mpcvm::run::Protocol::Rep4,
        inputs,
        vec![Vec::new(); 4],
    )
    .into_iter()
    .map(|r| r.outcome)
    .collect()
}

/// Runs `program` under a networked `protocol` with `parties` parties as
/// threads of this process, party `cheater` tampering with what it sends as
/// `tampering` says, every party giving up on a peer silent for `timeout`:
/// what each party's run returned (an error as its message).
pub fn run_tampered(
    program: &Program,
    protocol: mpcvm::run::Protocol,
    prep: Option<mpcvm::run::Prep>,
    parties: usize,
    inputs: &[Option<RingTensor>],
    cheater: usize,
    tampering: mpcvm::net::tamper::Tampering,
    timeout: std::time::Duration,
) -> Vec<Result<RunOutcome, String>> {
    // A dealer's material comes from one more node (trusted: never the
    // cheater).
    let dealer = prep == Some(mpcvm::run::Prep::Dealer);
    let network = LocalNetwork::new(parties + dealer as usize);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..parties)
            .map(|p| {
                let mut config = network.config(p);
                config.io_timeout = timeout;
                if p == cheater {
                    config.tamper = Some(tampering.clone());
                }
                s.spawn(move || {
                    let own = own_inputs(program, inputs, p);
                    let mut print = |_: &str| {};
                    let mut io = mpcvm::interp::MemoryIo::new(own, &mut print);
                    let run = match prep {
                        Some(prep) => mpcvm::run::run_beaver_party(
                            program, protocol, config, &mut io, prep, None,
                        ),
                        None => mpcvm::run::run_party(program, protocol, config, &mut io),
                    };
                    run.map_err(|e| e.to_string())
                })
            })
            .collect();
        if dealer {
            let mut config = network.config(parties);
            config.io_timeout = timeout;
            // The dealer stops when a party does; its error is theirs.
            let _ = mpcvm::run::run_dealer(program, protocol, config);
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Runs `program` under a networked `protocol` with one party per entry of
/// `shares` (the shares it is given to load), as threads of this process.
pub fn run_parties(
    program: &Program,
    protocol: mpcvm::run::Protocol,
    inputs: &[Option<RingTensor>],
    shares: Vec<Shares>,
) -> Vec<PartyRun> {
    let network = LocalNetwork::new(shares.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .into_iter()
            .enumerate()
            .map(|(p, given)| {
                let config = network.config(p);
                s.spawn(move || {
                    run_party_thread(program, inputs, p, given, |io| {
                        mpcvm::run::run_party(program, protocol, config, io)
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Runs `program` under semi2k with `parties` parties as threads of this
/// process, over TLS on loopback, with preprocessing `prep` (a dealer is one
/// more thread).
pub fn run_semi2k(
    program: &Program,
    inputs: &[Option<RingTensor>],
    parties: usize,
    prep: mpcvm::run::Prep,
) -> Vec<RunOutcome> {
    run_beaver(mpcvm::run::Protocol::Semi2k, program, inputs, parties, prep)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Runs `program` under a Beaver `protocol` (semi2k or spdz2k) with
/// `parties` parties as threads of this process, over TLS on loopback, with
/// preprocessing `prep` (a dealer is one more thread); each party's outcome
/// or error.
pub fn run_beaver(
    protocol: mpcvm::run::Protocol,
    program: &Program,
    inputs: &[Option<RingTensor>],
    parties: usize,
    prep: mpcvm::run::Prep,
) -> Vec<Result<RunOutcome, String>> {
    let dealer = prep == mpcvm::run::Prep::Dealer;
    let network = LocalNetwork::new(parties + dealer as usize);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..parties)
            .map(|p| {
                let config = network.config(p);
                s.spawn(move || {
                    let own = own_inputs(program, inputs, p);
                    let mut print = |_: &str| {};
                    let mut io = mpcvm::interp::MemoryIo::new(own, &mut print);
                    io.shares = zero_shares(program, 1);
                    mpcvm::run::run_beaver_party(program, protocol, config, &mut io, prep, None)
                        .map_err(|e| format!("party {p}: {e}"))
                })
            })
            .collect();
        let dealt = dealer.then(|| {
            mpcvm::run::run_dealer(program, protocol, network.config(parties))
                .map_err(|e| format!("dealer: {e}"))
        });
        let mut runs: Vec<Result<RunOutcome, String>> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        // A dealer that failed fails every party (their own errors first).
        if let Some(Err(e)) = dealt {
            for r in runs.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(e.clone());
            }
        }
        runs
    })
}

/// Party `p` of an in-process run: its own inputs only, the shares it is given,
/// and what it printed and kept.
fn run_party_thread(
    program: &Program,
    inputs: &[Option<RingTensor>],
    p: usize,
    given: Shares,
    run: impl FnOnce(&mut mpcvm::interp::MemoryIo) -> Result<RunOutcome, mpcvm::VmError>,
) -> PartyRun {
    let own = own_inputs(program, inputs, p);
    let mut printed = Vec::new();
    let mut print = |line: &str| printed.push(line.to_string());
    let mut io = mpcvm::interp::MemoryIo::new(own, &mut print);
    io.shares = given;
    let outcome = run(&mut io).unwrap_or_else(|e| panic!("party {p}: {e}"));
    let shares = std::mem::take(&mut io.shares);
    drop(io);
    PartyRun {
        outcome,
        printed,
        shares,
    }
}

/// Party `p`'s own inputs of `inputs` (the others' left out).
fn own_inputs(
    program: &Program,
    inputs: &[Option<RingTensor>],
    p: usize,
) -> Vec<Option<RingTensor>> {
    program
        .inputs
        .iter()
        .zip(inputs)
        .map(|(d, v)| {
            if d.party as usize == p {
                v.clone()
            } else {
                None
            }
        })
        .collect()
}

/// Certificates, keys and a hosts file for `nodes` nodes on loopback, in a
/// fresh directory removed when this is dropped.
pub struct LocalNetwork {
    dir: PathBuf,
    identities: Vec<(PathBuf, PathBuf)>,
    /// Each party's listening socket, bound when the network is made and
    /// handed to the party (binding a free port later could race with
    /// another test taking it in between).
    listeners: std::sync::Mutex<Vec<Option<std::net::TcpListener>>>,
}

impl LocalNetwork {
    pub fn new(nodes: usize) -> LocalNetwork {
        use mpcvm::net::hosts::Hosts;
        use mpcvm::net::tls;
        static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mpc-tests-net-{}-{}",
            std::process::id(),
            RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let listeners: Vec<_> = (0..nodes)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let addresses: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        let mut identities = Vec::new();
        for p in 0..nodes {
            let (key, cert) = tls::generate(p).unwrap();
            std::fs::write(dir.join(format!("party{p}.crt")), &cert).unwrap();
            std::fs::write(dir.join(format!("party{p}.key")), &key).unwrap();
            identities.push((
                dir.join(format!("party{p}.crt")),
                dir.join(format!("party{p}.key")),
            ));
        }
        Hosts::write(&dir.join("hosts.toml"), &addresses).unwrap();
        LocalNetwork {
            dir,
            identities,
            listeners: std::sync::Mutex::new(listeners.into_iter().map(Some).collect()),
        }
    }

    pub fn config(&self, p: usize) -> mpcvm::net::NetConfig {
        use mpcvm::net::hosts::Hosts;
        use mpcvm::net::tls::{self, Identity};
        use std::time::Duration;
        let (cert, key) = &self.identities[p];
        mpcvm::net::NetConfig {
            party: p,
            hosts: Hosts::load(&self.dir.join("hosts.toml")).unwrap(),
            identity: Identity {
                certificate: tls::load_certificate(cert).unwrap(),
                key: tls::load_key(key).unwrap(),
            },
            connect_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(20),
            latency: Duration::ZERO,
            bandwidth_bits_per_second: None,
            listener: self.listeners.lock().unwrap()[p].take(),
            tamper: None,
        }
    }
}

impl Drop for LocalNetwork {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// Every party of `runs` received exactly the outputs revealed to it, each
/// equal to the clear run's, and nothing else.
pub fn assert_outputs_as_clear(program: &Program, clear: &RunOutcome, runs: &[RunOutcome]) {
    for (p, out) in runs.iter().enumerate() {
        for (i, decl) in program.outputs.iter().enumerate() {
            if decl.to.contains(p) {
                assert_eq!(
                    out.outputs[i].as_ref(),
                    clear.outputs[i].as_ref(),
                    "party {p}, output {}",
                    decl.name
                );
            } else {
                assert!(
                    out.outputs[i].is_none(),
                    "party {p} must not learn {}",
                    decl.name
                );
            }
        }
    }
}

/// The rounds and bytes party `p` measured are those the rep3 cost model predicts.
pub fn assert_predicted_costs(c: &Compiled, p: usize, out: &RunOutcome) {
    assert_eq!(
        out.figures.rounds,
        mpcvm::backend::rep3::rounds(&c.program),
        "party {p}: rounds"
    );
    assert_eq!(
        out.figures.bytes_sent,
        mpcvm::backend::rep3::bytes_sent(&c.program)[p],
        "party {p}: bytes sent"
    );
}

/// Runs `c` under clear and rep3: every output a party receives (and only
/// those) within `tolerance(name)` of the clear backend's, with the predicted
/// rounds and bytes.
pub fn close_to_clear(
    c: &Compiled,
    values: &[(&str, Vec<f64>)],
    tolerance: impl Fn(&str) -> f64,
) -> Vec<RunOutcome> {
    let ins = inputs(&c.program, values);
    let clear = run_clear(&c.program, &ins, 1);
    let rep3 = run_rep3(&c.program, &ins);
    for (p, out) in rep3.iter().enumerate() {
        for (i, decl) in c.program.outputs.iter().enumerate() {
            let Some(got) = &out.outputs[i] else {
                assert!(!decl.to.contains(p));
                continue;
            };
            let got = mpcvm::io::decode_f64(got, decl.ty.elem);
            let want = mpcvm::io::decode_f64(clear.outputs[i].as_ref().unwrap(), decl.ty.elem);
            let allowed = tolerance(&decl.name);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= allowed,
                    "party {p}, {}: {g} vs {w}",
                    decl.name
                );
            }
        }
        assert_predicted_costs(c, p, out);
    }
    rep3
}

/// Runs `target/release/mpcvm run-local --protocol rep3` (built first: the
/// benchmarks measure the release binary) on `program` with `--input` for
/// each `(party, path)`, and returns what it printed; panics if it fails.
pub fn run_local_rep3(program: &Path, inputs: &[(usize, PathBuf)], out: &Path) -> String {
    let exe = repo_root().join("target/release/mpcvm");
    assert!(
        exe.exists(),
        "{} is missing: run `cargo build --release` first",
        exe.display()
    );
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["run-local", "--protocol", "rep3", "--quiet"])
        .arg(program);
    for (p, path) in inputs {
        cmd.arg("--input").arg(format!("{p}={}", path.display()));
    }
    let done = cmd.arg("--out").arg(out).output().expect("mpcvm runs");
    let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
    assert!(
        done.status.success(),
        "run-local failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    stdout
}

/// Random inputs of the declared types, small enough for any example: integers
/// in [0, 10), fixed point in [-0.5, 0.5), bits.
pub fn random_inputs(c: &Compiled, seed: u64) -> Vec<Option<RingTensor>> {
    use mpcvm::types::Elem;
    let mut rng = TestRng(seed);
    let values: Vec<(String, Vec<f64>)> = c
        .program
        .inputs
        .iter()
        .map(|d| {
            let n = d.ty.len();
            let v = match d.ty.elem {
                Elem::Fix { .. } => rng.vec(n, -0.5, 0.5),
                Elem::Int { .. } => rng.vec(n, 0.0, 10.0).into_iter().map(f64::floor).collect(),
                Elem::Bit => rng.vec(n, 0.0, 2.0).into_iter().map(f64::floor).collect(),
            };
            (d.name.clone(), v)
        })
        .collect();
    let named: Vec<(&str, Vec<f64>)> = values
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    inputs(&c.program, &named)
}

/// Runs `f` as each of `nodes` parties connected on loopback (threads of this
/// process), with the hello of `protocol`; returns what each returned.
pub fn on_local_network<T: Send>(
    nodes: usize,
    protocol: &str,
    f: impl Fn(mpcvm::net::Network) -> T + Sync,
) -> Vec<T> {
    let network = LocalNetwork::new(nodes);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..nodes)
            .map(|p| {
                let config = network.config(p);
                let f = &f;
                s.spawn(move || {
                    let hello = mpcvm::net::Hello {
                        program_hash: [0; 32],
                        protocol: protocol.into(),
                        party: p,
                        parties: nodes,
                    };
                    f(mpcvm::net::Network::connect(config, &hello).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A program with every kind of interactive operation of the Beaver
/// backends (semi2k, spdz2k): inputs, products of each kind, openings,
/// outputs to one party and to all, comparisons (also of 64-bit values),
/// equality, ReLU, and a run-time branch on an opened value; its inputs are
/// [`every_beaver_operation_values`].
pub const EVERY_BEAVER_OPERATION: &str = "
party a = 0;
party b = 1;
fn main() {
    let x: sint<24>[4, 6] = input(a);
    let w: sint<24>[6, 3] = input(b);
    let v: sint<24>[4, 6] = input(b);
    let img: sint<24>[2, 5, 5, 2] = input(a);
    let k: sint<24>[3, 3, 2, 4] = input(b);
    let y = x @ w;
    let g = transpose(x) @ y;
    let s = x * v + x * x;
    let c = conv2d(img, k, padding = same);
    let d = conv2d(img, k, stride = 2);
    let mut acc = x;
    for i in 0..4 {
        if i % 2 == 0 {
            acc = acc * v;
        } else {
            acc = acc + x;
        }
    }
    let total = open(sum(s));
    let less = x < v;
    let same = x == v;
    let positive = relu(x - v);
    let wide = (x as sint<64>) * 1000000000000;
    let far = wide > v;
    if total > 0 {
        acc = acc * x;
    }
    reveal y to a;
    reveal g to b;
    reveal s to all;
    reveal c to a;
    reveal d to b;
    reveal acc to a;
    reveal total to a;
    reveal less to b;
    reveal same to a;
    reveal positive to b;
    reveal far to a;
}";

/// Small integer inputs of [`EVERY_BEAVER_OPERATION`].
pub fn every_beaver_operation_values() -> Vec<(&'static str, Vec<f64>)> {
    let mut rng = TestRng(5);
    let mut small =
        |n: usize| -> Vec<f64> { rng.vec(n, -3.0, 4.0).into_iter().map(f64::floor).collect() };
    vec![
        ("x", small(24)),
        ("w", small(18)),
        ("v", small(24)),
        ("img", small(100)),
        ("k", small(72)),
    ]
}

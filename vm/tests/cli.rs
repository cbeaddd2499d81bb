//! The `mpcvm` command line end to end: run-local and run with .npy and raw-byte inputs,
//! outputs only at their receivers, the JSON figures line, disassembly, and
//! clear errors for bad bytecode and bad inputs.

use npyz::WriterBuilder;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn mpcvm(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mpcvm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("mpcvm runs")
}

/// Runs `mpcvm args` in `dir`, which must fail; returns what it printed on stderr.
fn failure(args: &[&str], dir: &Path) -> String {
    let out = mpcvm(args, dir);
    assert!(!out.status.success(), "{args:?} must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_npy(path: &Path, shape: &[u64], data: &[i64]) {
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = npyz::WriteOptions::<i64>::new()
        .default_dtype()
        .shape(shape)
        .writer(f)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

fn read_npy(path: &Path) -> Vec<i64> {
    npyz::NpyFile::new(&std::fs::read(path).unwrap()[..])
        .unwrap()
        .into_vec::<i64>()
        .unwrap()
}

/// A scratch directory with the compiled millionaires program and two inputs.
fn setup(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpcvm-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = mpcc::driver::compile_file(&repo().join("programs/matmul.mpc"), Default::default())
        .unwrap_or_else(|f| panic!("{}", f.render()));
    std::fs::write(dir.join("matmul.mpcb"), &c.bytes).unwrap();
    write_npy(&dir.join("a.npy"), &[4, 8], &(0..32).collect::<Vec<_>>());
    write_npy(
        &dir.join("b.npy"),
        &[8, 3],
        &(0..24).map(|v| v - 12).collect::<Vec<_>>(),
    );
    dir
}

fn expected_product() -> Vec<i64> {
    let mut out = vec![0i64; 12];
    for i in 0..4 {
        for j in 0..3 {
            out[i * 3 + j] = (0..8)
                .map(|k| (i * 8 + k) as i64 * ((k * 3 + j) as i64 - 12))
                .sum();
        }
    }
    out
}

#[test]
fn run_local_writes_outputs_to_their_receivers_and_a_json_line() {
    let dir = setup("local");
    let out = mpcvm(
        &[
            "run-local",
            "matmul.mpcb",
            "--input",
            "0=a.npy",
            "--input",
            "1=b.npy",
            "--out",
            "out",
            "--seed",
            "5",
        ],
        &dir,
    );
    assert_succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NO SECURITY") && stderr.contains("FIXED by --seed"),
        "{stderr}"
    );
    for p in 0..2 {
        assert_eq!(
            read_npy(&dir.join(format!("out/party{p}/product.npy"))),
            expected_product()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout.lines().last().unwrap();
    assert!(
        json.starts_with('{') && json.contains("\"rounds\":") && json.contains("\"bytes_sent\":"),
        "{json}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_one_party_writes_only_its_outputs() {
    let dir = setup("party");
    let out = mpcvm(
        &[
            "run",
            "--party",
            "1",
            "matmul.mpcb",
            "--input",
            "0=a.npy",
            "--input",
            "1=b.npy",
            "--out",
            "out",
        ],
        &dir,
    );
    assert_succeeded(&out);
    assert!(dir.join("out/party1/product.npy").exists());
    assert!(!dir.join("out/party0").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn disasm_prints_the_listing() {
    let dir = setup("disasm");
    let out = mpcvm(&["disasm", "matmul.mpcb"], &dir);
    assert_succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("matmul r"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_bytecode_and_bad_inputs_get_clear_errors() {
    let dir = setup("errors");
    let mut bytes = std::fs::read(dir.join("matmul.mpcb")).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    std::fs::write(dir.join("corrupt.mpcb"), &bytes).unwrap();
    let out = mpcvm(&["run-local", "corrupt.mpcb"], &dir);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("content hash mismatch"));

    write_npy(&dir.join("wrong.npy"), &[3, 8], &[0; 24]);
    let out = mpcvm(
        &[
            "run-local",
            "matmul.mpcb",
            "--input",
            "0=wrong.npy",
            "--input",
            "1=b.npy",
        ],
        &dir,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("input 'a'") && err.contains("[3, 8]") && err.contains("sint<32>[4, 8]"),
        "{err}"
    );

    let out = mpcvm(&["run-local", "matmul.mpcb", "--input", "0=a.npy"], &dir);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("party 1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    write_npy(&dir.join("big.npy"), &[4, 8], &[1 << 40; 32]);
    let out = mpcvm(
        &[
            "run-local",
            "matmul.mpcb",
            "--input",
            "0=big.npy",
            "--input",
            "1=b.npy",
        ],
        &dir,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the range"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn raw_byte_inputs_are_one_unsigned_byte_per_element() {
    let dir = setup("raw");
    // a = 8 * (0..32): bytes up to 248 must read as unsigned values.
    let bytes: Vec<u8> = (0..32u8).map(|v| v * 8).collect();
    std::fs::write(dir.join("a.bin"), &bytes).unwrap();
    let run = |a: &str| {
        mpcvm(
            &[
                "run-local",
                "matmul.mpcb",
                "--input",
                &format!("0={a}"),
                "--input",
                "1=b.npy",
                "--out",
                "out",
            ],
            &dir,
        )
    };
    let out = run("a.bin");
    assert_succeeded(&out);
    let want: Vec<i64> = expected_product().iter().map(|v| v * 8).collect();
    assert_eq!(read_npy(&dir.join("out/party1/product.npy")), want);

    std::fs::write(dir.join("short.raw"), &bytes[..31]).unwrap();
    let out = run("short.raw");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("input 'a'") && err.contains("31 bytes") && err.contains("32 elements"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Keys, certificates and a hosts file in `dir` for `n` parties on loopback
/// ports that were free a moment ago (found last, so that the parties,
/// started next, bind them soon after: another test could take one in
/// between, as a process cannot be handed the bound socket).
fn write_hosts(dir: &Path, n: usize) {
    for p in 0..n {
        assert!(
            mpcvm(&["keygen", "--party", &p.to_string(), "--dir", "."], dir)
                .status
                .success()
        );
    }
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    mpcvm::net::hosts::Hosts::write(&dir.join("hosts.toml"), &ports).unwrap();
}

/// `mpcvm run` of `program` under `protocol` as party `p` of the hosts file
/// in `dir`, its output piped; the caller adds its arguments and spawns it.
fn party_run(dir: &Path, p: usize, protocol: &str, program: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpcvm"));
    cmd.args(["run", "--party", &p.to_string(), "--hosts", "hosts.toml"])
        .args(["--protocol", protocol, program])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// Compiles `text` (default options) to `<dir>/<stem>.mpcb`.
fn compile_to(dir: &Path, stem: &str, text: &str) {
    let c = mpcc::driver::compile_source(&format!("{stem}.mpc"), text, None, Default::default())
        .unwrap_or_else(|f| panic!("{}", f.render()));
    std::fs::write(dir.join(format!("{stem}.mpcb")), &c.bytes).unwrap();
}

/// A program that runs for a while under rep3: many rounds, each delayed by the simulated latency.
fn long_program(dir: &Path) -> PathBuf {
    let text = "party a = 0; party b = 1;
        fn main() {
            let x: sint<32>[4] = input(a);
            let mut acc: sint<32>[4] = x;
            for i in 0..100000 { acc = acc * x; }
            reveal acc to b;
        }";
    compile_to(dir, "long", text);
    write_npy(&dir.join("x.npy"), &[4], &[1, 2, 3, 4]);
    dir.join("long.mpcb")
}

#[test]
fn a_party_killed_mid_run_makes_the_others_fail_quickly() {
    // spdz2k with a dealer (the last node): killed in the online phase; by
    // OT: in the offline phase (its 100,000 triples take longer than 1.5 s).
    for (protocol, parties, prep) in [
        ("rep3", 3, None),
        ("rep4", 4, None),
        ("spdz2k", 3, Some("dealer")),
        ("spdz2k", 2, Some("ot")),
    ] {
        let dir = setup(&format!("kill-{protocol}-{parties}"));
        long_program(&dir);
        write_hosts(&dir, parties);
        let spawn = |p: usize| {
            let mut cmd = party_run(&dir, p, protocol, "long.mpcb");
            cmd.args(["--sim-latency-ms", "1", "--timeout", "30"]);
            if let Some(prep) = prep {
                cmd.args(["--prep", prep]);
            }
            if p == 0 {
                cmd.args(["--input", "0=x.npy"]);
            }
            cmd.spawn().unwrap()
        };
        let mut children: Vec<_> = (0..parties).map(spawn).collect();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let mut killed = children.remove(1);
        killed.kill().unwrap();
        killed.wait().unwrap();
        let killed_at = std::time::Instant::now();
        // Each survivor reports the peer it lost: party 1, or another survivor
        // that stopped first. The first to stop can only have lost party 1.
        let mut errors = Vec::new();
        let survivors: Vec<usize> = (0..parties).filter(|&p| p != 1).collect();
        for (p, child) in survivors.iter().zip(children.drain(..)) {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(!out.status.success(), "{protocol}: party {p} must fail");
            let lost_one = (0..parties)
                .filter(|q| q != p)
                .any(|q| err.contains(&format!("party {q}")));
            assert!(
                err.contains("network error") && lost_one,
                "{protocol}: party {p}: {err}"
            );
            errors.push(err);
        }
        assert!(
            errors.iter().any(|e| e.contains("party 1")),
            "{protocol}: {errors:?}"
        );
        // Not the 30 s I/O timeout: a closed connection is noticed at once.
        assert!(
            killed_at.elapsed() < std::time::Duration::from_secs(10),
            "{protocol}: took {:?}",
            killed_at.elapsed()
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn run_local_runs_a_process_per_party_under_rep3_and_rep4() {
    for (protocol, parties, threat) in [
        ("rep3", 3, "honest majority"),
        ("rep4", 4, "active adversary"),
    ] {
        let dir = setup(protocol);
        let out = mpcvm(
            &[
                "run-local",
                "--protocol",
                protocol,
                "matmul.mpcb",
                "--input",
                "0=a.npy",
                "--input",
                "1=b.npy",
                "--out",
                "out",
            ],
            &dir,
        );
        assert_succeeded(&out);
        assert!(String::from_utf8_lossy(&out.stderr).contains(threat));
        for p in 0..2 {
            assert_eq!(
                read_npy(&dir.join(format!("out/party{p}/product.npy"))),
                expected_product()
            );
        }
        for p in 2..parties {
            assert!(
                !dir.join(format!("out/party{p}")).exists(),
                "party {p} receives nothing"
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
        assert_eq!(lines.len(), parties, "{stdout}");
        let name = format!("\"protocol\":\"{protocol}\"");
        assert!(lines.iter().all(|l| l.contains(&name)));
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn keygen_makes_its_directory_and_a_private_key_only_its_owner_reads() {
    use std::os::unix::fs::PermissionsExt;
    let dir = setup("keygen");
    let out = mpcvm(&["keygen", "--party", "2", "--dir", "keys/new"], &dir);
    assert_succeeded(&out);
    let mode = |f: &str| {
        std::fs::metadata(dir.join("keys/new").join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("party2.key"), 0o600);
    assert_eq!(
        mode("party2.crt") & 0o077 & 0o022,
        0,
        "the certificate is not writable by others"
    );
    // Over an existing world-readable key, the new key is private too.
    std::fs::set_permissions(
        dir.join("keys/new/party2.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert_succeeded(&mpcvm(
        &["keygen", "--party", "2", "--dir", "keys/new"],
        &dir,
    ));
    assert_eq!(mode("party2.key"), 0o600);
    std::fs::remove_dir_all(&dir).ok();
}

/// `run-local --protocol rep3` of matmul with party 1's input `b_file`, which
/// must fail within 5 s (the connect timeout is 30 s); returns its stderr.
fn rep3_run_failing_quickly(dir: &Path, b_file: &str) -> String {
    let started = std::time::Instant::now();
    let b = format!("1={b_file}");
    let err = failure(
        &[
            "run-local",
            "--protocol",
            "rep3",
            "matmul.mpcb",
            "--input",
            "0=a.npy",
            "--input",
            &b,
            "--connect-timeout",
            "30",
        ],
        dir,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    err
}

#[test]
fn a_bad_input_stops_run_local_before_any_party_starts() {
    let dir = setup("bad-input");
    write_npy(&dir.join("wrong.npy"), &[3, 3], &[0; 9]);
    let err = rep3_run_failing_quickly(&dir, "wrong.npy");
    assert!(
        err.starts_with("error: input error: input 'b'") && err.contains("shape"),
        "{err}"
    );
    assert!(!err.contains("refused"), "{err}");
    // A value out of its type's range is found by its party as it reads it,
    // which stops the others at once and is reported first.
    let mut values = vec![0i64; 24];
    values[5] = 1 << 40;
    write_npy(&dir.join("huge.npy"), &[8, 3], &values);
    let err = rep3_run_failing_quickly(&dir, "huge.npy");
    assert!(
        err.starts_with("party 1 failed: ") && err.contains("element 5 is 1099511627776"),
        "{err}"
    );
    // A missing input names the variable and the flag to add.
    let err = failure(
        &[
            "run-local",
            "--protocol",
            "rep3",
            "matmul.mpcb",
            "--input",
            "0=a.npy",
        ],
        &dir,
    );
    assert!(
        err.contains("input 'b'") && err.contains("--input 1=b.npy"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_failing_party_stops_the_others_and_is_named_first() {
    let dir = setup("fail-first");
    long_program(&dir);
    // Party 0's output directory cannot be made: a file stands in its way. Party 1
    // receives the output, and fails when it writes it, after the computation;
    // until then the parties compute for seconds.
    std::fs::write(dir.join("blocked"), b"").unwrap();
    let started = std::time::Instant::now();
    let err = failure(
        &[
            "run-local",
            "--protocol",
            "rep3",
            "long.mpcb",
            "--input",
            "0=x.npy",
            "--out",
            "blocked/out",
        ],
        &dir,
    );
    assert!(
        err.starts_with("party 1 failed: error: cannot create"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn killing_run_local_stops_its_parties() {
    let dir = setup("kill-parent");
    long_program(&dir);
    let mut parent = Command::new(env!("CARGO_BIN_EXE_mpcvm"))
        .args([
            "run-local",
            "--protocol",
            "rep3",
            "long.mpcb",
            "--input",
            "0=x.npy",
            "--sim-latency-ms",
            "1",
        ])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let children = |pid: u32| -> Vec<u32> {
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(|c| c.parse().unwrap())
            .collect()
    };
    let parties = children(parent.id());
    assert_eq!(parties.len(), 3, "three party processes");
    // SIGTERM to the parent alone.
    unsafe { libc::kill(parent.id() as i32, libc::SIGTERM) };
    parent.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for p in parties {
        let state = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "party process {p} still runs: {state}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_command_line_values_are_refused_with_a_message() {
    let dir = setup("cli-values");
    for bad in [
        &["--timeout=-1"][..],
        &["--timeout=nan"],
        &["--timeout=1e30"],
        &["--connect-timeout=0"],
        &["--sim-latency-ms=-5"],
        &["--sim-latency-ms=inf"],
        &["--sim-bandwidth-mbps", "0"],
        &["--seed", "3"],
        &["--input", "7=a.npy"],
        &["--input", "0=a.npy", "--input", "0=b.npy"],
    ] {
        let mut args = vec![
            "run-local",
            "--protocol",
            "rep3",
            "matmul.mpcb",
            "--input",
            "1=b.npy",
        ];
        args.extend_from_slice(bad);
        if !bad.iter().any(|a| a.starts_with("0=")) {
            args.extend(["--input", "0=a.npy"]);
        }
        let out = mpcvm(&args, &dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(
                if bad[0].starts_with("--") && !matches!(bad[0], "--seed" | "--input") {
                    2
                } else {
                    1
                }
            ),
            "{bad:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{bad:?}: {err}");
        assert!(err.contains("error"), "{bad:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_program_too_large_for_the_memory_limit_is_refused_before_it_runs() {
    let dir = setup("memory");
    compile_to(
        &dir,
        "huge",
        "party a = 0; fn main() { let x: sint[65536, 65536] = input(a); let y = x + x; reveal y to a; }",
    );
    for protocol in ["clear", "rep3"] {
        let err = failure(
            &[
                "run-local",
                "--protocol",
                protocol,
                "huge.mpcb",
                "--input",
                "0=a.npy",
            ],
            &dir,
        );
        assert!(
            err.contains("holds up to 8589934592 tensor elements") && err.contains("--max-memory"),
            "{protocol}: {err}"
        );
    }
    let err = failure(
        &[
            "run-local",
            "huge.mpcb",
            "--max-memory",
            "1T",
            "--input",
            "0=a.npy",
        ],
        &dir,
    );
    assert!(
        err.contains("shape"),
        "past the memory check, the input is refused: {err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_source_file_is_refused_with_the_command_that_compiles_it() {
    let dir = setup("source");
    std::fs::write(dir.join("prog.mpc"), "party a = 0; fn main() {}").unwrap();
    let err = failure(&["run-local", "prog.mpc"], &dir);
    assert!(
        err.contains("is mpcc source") && err.contains("mpcc prog.mpc -o prog.mpcb"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_the_program_does_not_read_is_warned_about() {
    let dir = setup("stale");
    std::fs::create_dir_all(dir.join("p0")).unwrap();
    std::fs::copy(dir.join("a.npy"), dir.join("p0/a.npy")).unwrap();
    std::fs::copy(dir.join("a.npy"), dir.join("p0/stale.npy")).unwrap();
    let out = mpcvm(
        &[
            "run-local",
            "matmul.mpcb",
            "--input",
            "0=p0",
            "--input",
            "1=b.npy",
        ],
        &dir,
    );
    assert_succeeded(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stale.npy is not an input of party 0"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_local_shows_what_the_program_prints_once() {
    let dir = std::env::temp_dir().join(format!("mpcvm-cli-print-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = "party a = 0; party b = 1; fn main() { let x: sint<32> = input(a);
        for i in 0..3 { print(\"step {} of 3: {}\", i, open(x + i)); } reveal x to b; }";
    compile_to(&dir, "print", source);
    write_npy(&dir.join("x.npy"), &[], &[40]);
    for protocol in ["clear", "rep3"] {
        let out = mpcvm(
            &[
                "run-local",
                "--protocol",
                protocol,
                "print.mpcb",
                "--input",
                "0=x.npy",
            ],
            &dir,
        );
        assert_succeeded(&out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let printed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("step")).collect();
        assert_eq!(
            printed,
            ["step 0 of 3: 40", "step 1 of 3: 41", "step 2 of 3: 42"],
            "{protocol}: {stdout}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A program that reads its data a row per iteration and reveals a running
/// sum per iteration: both files have a leading axis of the trip count, the
/// input file's length is checked before any party starts, and the output
/// files hold every row, under clear and under rep3.
#[test]
fn inputs_and_outputs_inside_loops_are_files_of_rows() {
    let dir = setup("rows");
    let c = mpcc::driver::compile_source(
        "rows.mpc",
        "party a = 0;
        party b = 1;
        fn main() {
            let mut total: sint<32>[2] = fill(0, [2]);
            for step in 0..5 {
                let x: sint<32>[2] = input(a);
                total = total + x;
                reveal total to b;
            }
        }",
        None,
        Default::default(),
    )
    .unwrap_or_else(|f| panic!("{}", f.render()));
    std::fs::write(dir.join("rows.mpcb"), &c.bytes).unwrap();
    write_npy(&dir.join("x.npy"), &[5, 2], &(0..10).collect::<Vec<_>>());
    write_npy(&dir.join("short.npy"), &[4, 2], &(0..8).collect::<Vec<_>>());
    let sums = vec![0, 1, 2, 4, 6, 9, 12, 16, 20, 25];
    for protocol in ["clear", "rep3"] {
        let out = mpcvm(
            &[
                "run-local",
                "--protocol",
                protocol,
                "rows.mpcb",
                "--input",
                "0=x.npy",
                "--out",
                protocol,
            ],
            &dir,
        );
        assert_succeeded(&out);
        // Not a terminal: no progress bar, and no progress lines from the parties.
        let shown = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !shown.contains('\u{1e}') && !shown.contains("eta"),
            "{shown}"
        );
        let file = dir.join(format!("{protocol}/party1/total.npy"));
        let bytes = std::fs::read(&file).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[5, 2], "{protocol}");
        assert_eq!(read_npy(&file), sums, "{protocol}");
        let e = failure(
            &[
                "run-local",
                "--protocol",
                protocol,
                "rows.mpcb",
                "--input",
                "0=short.npy",
            ],
            &dir,
        );
        assert!(
            e.contains("has shape [4, 2], but the program declares sint<32>[5, 2]"),
            "{e}"
        );
        assert!(
            !e.contains("party 1"),
            "refused before any party starts: {e}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A value kept as shares by one run is loaded by a later one (under clear and
/// rep3, with the same results); a party's share file alone does not hold the
/// value; shares of another protocol, of another party or of another type are
/// refused.
#[test]
fn kept_shares_are_loaded_by_a_later_run_and_refused_when_mixed_up() {
    let dir = setup("shares");
    let compile = |name: &str, text: &str| {
        let c = mpcc::driver::compile_source(name, text, None, Default::default())
            .unwrap_or_else(|f| panic!("{}", f.render()));
        std::fs::write(dir.join(name).with_extension("mpcb"), &c.bytes).unwrap();
    };
    compile(
        "keep.mpc",
        "party a = 0;\nparty b = 1;\nfn main() {\n    let x: sint<32>[4] = input(a);\n    let w = x * 1000 + 77;\n    keep w as \"model\";\n}\n",
    );
    compile(
        "use.mpc",
        "party a = 0;\nparty b = 1;\nfn main() {\n    let w: sint<32>[4] = load(\"model\");\n    let y: sint<32>[4] = input(b);\n    let z = w * y;\n    reveal z to b;\n}\n",
    );
    compile(
        "other.mpc",
        "party a = 0;\nparty b = 1;\nfn main() {\n    let w: sint<32>[5] = load(\"model\");\n    reveal w to b;\n}\n",
    );
    write_npy(&dir.join("x.npy"), &[4], &[1, -2, 3, 4]);
    write_npy(&dir.join("y.npy"), &[4], &[5, 6, -7, 8]);
    let want: Vec<i64> = [1i64, -2, 3, 4]
        .iter()
        .zip([5i64, 6, -7, 8])
        .map(|(x, y)| (x * 1000 + 77) * y)
        .collect();
    for protocol in ["clear", "rep3"] {
        let kept = format!("kept_{protocol}");
        let out = mpcvm(
            &[
                "run-local",
                "--protocol",
                protocol,
                "keep.mpcb",
                "--input",
                "0=x.npy",
                "--out",
                &kept,
            ],
            &dir,
        );
        assert_succeeded(&out);
        let used = format!("used_{protocol}");
        let out = mpcvm(
            &[
                "run-local",
                "--protocol",
                protocol,
                "use.mpcb",
                "--input",
                "1=y.npy",
                "--shares",
                &kept,
                "--out",
                &used,
            ],
            &dir,
        );
        assert_succeeded(&out);
        assert_eq!(
            read_npy(&dir.join(format!("{used}/party1/z.npy"))),
            want,
            "{protocol}"
        );
        let e = failure(
            &[
                "run-local",
                "--protocol",
                protocol,
                "other.mpcb",
                "--shares",
                &kept,
            ],
            &dir,
        );
        assert!(
            e.contains("the share is of a sint<32>[4]; the program loads a sint<32>[5]"),
            "{e}"
        );
    }
    // A rep3 party's file holds two random-looking components, not the value.
    let file = std::fs::read(dir.join("kept_rep3/party0/model.share")).unwrap();
    for v in [1077i64, -1923, 3077, 4077] {
        assert!(
            !file.windows(8).any(|w| w == v.to_le_bytes()),
            "{v} appears in party 0's share file"
        );
    }
    // Another protocol's shares, and another party's, and none.
    let use_shares = |from: &str| {
        let mut args = vec![
            "run-local",
            "--protocol",
            "rep3",
            "use.mpcb",
            "--input",
            "1=y.npy",
        ];
        if !from.is_empty() {
            args.extend(["--shares", from]);
        }
        failure(&args, &dir)
    };
    let e = use_shares("kept_clear");
    assert!(
        e.contains("these are clear shares; this run is rep3"),
        "{e}"
    );
    for (from, to) in [(0, 1), (1, 0), (2, 2)] {
        std::fs::create_dir_all(dir.join(format!("swapped/party{to}"))).unwrap();
        std::fs::copy(
            dir.join(format!("kept_rep3/party{from}/model.share")),
            dir.join(format!("swapped/party{to}/model.share")),
        )
        .unwrap();
    }
    let e = use_shares("swapped");
    assert!(e.contains("share of 3 parties; this is party"), "{e}");
    let e = use_shares("");
    assert!(e.contains("pass --shares DIR"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `--sent-by-location` prints party 0's measured bytes by source location
/// once, adding up to what its JSON line says it sent; it is refused where
/// nothing attributes the messages.
#[test]
fn sent_by_location_prints_party_0s_measured_table() {
    let dir = setup("sent-by-location");
    let args = [
        "run-local",
        "--protocol",
        "semi2k",
        "matmul.mpcb",
        "--input",
        "0=a.npy",
        "--input",
        "1=b.npy",
        "--prep",
        "dealer",
        "--sent-by-location",
    ];
    let out = mpcvm(&args, &dir);
    assert_succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (_, table) = stdout
        .split_once("party 0: sent, measured, by source location\n")
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        !table.contains("by source location"),
        "party 0's only: {stdout}"
    );
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('{'))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.iter().all(|r| r[2].starts_with("matmul.mpc:")),
        "{stdout}"
    );
    let total: u64 = rows.iter().map(|r| r[0].parse::<u64>().unwrap()).sum();
    let json: serde_json::Value = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|j| j["party"] == 0)
        .unwrap();
    assert!(total > 0);
    assert_eq!(total, json["bytes_sent"].as_u64().unwrap(), "{stdout}");
    let mut rep3 = args[..8].to_vec();
    rep3[2] = "rep3";
    rep3.push("--sent-by-location");
    let e = failure(&rep3, &dir);
    assert!(e.contains("semi2k runs only"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// semi2k and spdz2k make their preprocessing by OT unless a dealer is asked
/// for by name; then they run the two parties and the dealer as three
/// processes, and say it is insecure in the banner and the JSON lines;
/// compiled with mask reuse or without, the product is exact.
#[test]
fn run_local_runs_semi2k_and_spdz2k_by_ot_or_with_a_dealer_when_asked() {
    let dir = setup("semi2k");
    let source = repo().join("programs/matmul.mpc");
    let masked = mpcc::driver::compile_file(
        &source,
        mpcc::elaborate::Options {
            mask_reuse: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|f| panic!("{}", f.render()));
    std::fs::write(dir.join("masked.mpcb"), &masked.bytes).unwrap();
    for (protocol, program) in ["semi2k", "spdz2k"]
        .into_iter()
        .flat_map(|p| [(p, "matmul.mpcb"), (p, "masked.mpcb")])
    {
        let args = [
            "run-local",
            "--protocol",
            protocol,
            program,
            "--input",
            "0=a.npy",
            "--input",
            "1=b.npy",
            "--out",
            "out",
        ];
        let out = mpcvm(&args, &dir);
        assert_succeeded(&out);
        assert!(String::from_utf8_lossy(&out.stderr).contains("by oblivious transfer"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        for line in lines {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(json["preprocessing"], "ot", "{line}");
            assert!(json["ots"].as_u64().unwrap() > 0, "{line}");
            assert!(
                json["preprocessing_bytes_sent"].as_u64().unwrap() > 0,
                "{line}"
            );
        }
        for p in 0..2 {
            assert_eq!(
                read_npy(&dir.join(format!("out/party{p}/product.npy"))),
                expected_product(),
                "{program}"
            );
        }
        let mut dealt = args.to_vec();
        dealt.extend(["--prep", "dealer"]);
        let out = mpcvm(&dealt, &dir);
        assert_succeeded(&out);
        assert!(String::from_utf8_lossy(&out.stderr).contains("trusted dealer: INSECURE"));
        for p in 0..2 {
            assert_eq!(
                read_npy(&dir.join(format!("out/party{p}/product.npy"))),
                expected_product(),
                "{program}"
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with('{')).collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        assert!(
            lines.iter().all(|l| l.contains("dealer (INSECURE)")),
            "{stdout}"
        );
    }
    let e = failure(
        &[
            "run-local",
            "--protocol",
            "rep3",
            "masked.mpcb",
            "--prep",
            "dealer",
        ],
        &dir,
    );
    assert!(
        e.contains("--prep applies to semi2k and spdz2k only"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `mpcvm prep-local` makes each party's material ahead of time; a run with
/// `--prep-dir` consumes it without an offline phase (the files are gone
/// after it: a second run is refused), and a file made for another program
/// or protocol, or a missing one, is refused with a clear error.
#[test]
fn material_made_ahead_by_prep_is_consumed_by_the_run_and_bound_to_its_program() {
    for protocol in ["semi2k", "spdz2k"] {
        material_made_ahead_by_prep(protocol);
    }
}

fn material_made_ahead_by_prep(protocol: &str) {
    let dir = setup(&format!("prep-dir-{protocol}"));
    let args = [
        "--protocol",
        protocol,
        "matmul.mpcb",
        "--prep-dir",
        "material",
    ];
    let mut prep = vec!["prep-local"];
    prep.extend(args);
    let out = mpcvm(&prep, &dir);
    assert_succeeded(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"wrote\"") && stdout.contains("\"ots\""),
        "{stdout}"
    );
    let mut run = vec!["run-local"];
    run.extend(args);
    run.extend(["--input", "0=a.npy", "--input", "1=b.npy", "--out", "out"]);
    // Another program's run refuses the material.
    compile_to(
        &dir,
        "other",
        "party a = 0; party b = 1; fn main() { let x: sint<32>[2] = input(a); let y: sint<32>[2] = input(b); reveal x * y to a; }",
    );
    write_npy(&dir.join("x.npy"), &[2], &[1, 2]);
    let e = failure(
        &[
            "run-local",
            "--protocol",
            protocol,
            "other.mpcb",
            "--prep-dir",
            "material",
            "--input",
            "0=x.npy",
            "--input",
            "1=x.npy",
        ],
        &dir,
    );
    assert!(
        e.contains("not this run's preprocessed material: made for another program"),
        "{e}"
    );
    let e = failure(
        &[
            "run-local",
            "--protocol",
            protocol,
            "matmul.mpcb",
            "--prep-dir",
            "nowhere",
            "--input",
            "0=a.npy",
            "--input",
            "1=b.npy",
        ],
        &dir,
    );
    assert!(
        e.contains("cannot open the preprocessed material") && e.contains("mpcvm prep"),
        "{e}"
    );
    // The other Beaver protocol's run refuses it.
    let other = if protocol == "semi2k" {
        "spdz2k"
    } else {
        "semi2k"
    };
    let mut theirs = run.clone();
    theirs[2] = other;
    let e = failure(&theirs, &dir);
    // Whichever party reports first.
    let named = (0..2).any(|p| {
        e.contains(&format!(
            "made for {protocol} party {p} of 2, not {other} party {p} of 2"
        ))
    });
    assert!(named, "{e}");
    // The run consumes it: a second run finds no material.
    let out = mpcvm(&run, &dir);
    assert_succeeded(&out);
    for p in 0..2 {
        assert_eq!(
            read_npy(&dir.join(format!("out/party{p}/product.npy"))),
            expected_product()
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(json["ots"], 0, "no offline phase: {line}");
    }
    for p in 0..2 {
        assert!(!dir.join(format!("material/party{p}.prep")).exists());
    }
    let e = failure(&run, &dir);
    assert!(
        e.contains("cannot open the preprocessed material") && e.contains("consumes"),
        "{e}"
    );
    // A file with one item more than the run takes (an empty one appended,
    // the count raised) is caught at the run's end.
    assert_succeeded(&mpcvm(&prep, &dir));
    let path = dir.join("material/party0.prep");
    let mut bytes = std::fs::read(&path).unwrap();
    let count_at = 8 + 32 + 4 + protocol.len() + 4 + 4;
    let count = u64::from_le_bytes(bytes[count_at..count_at + 8].try_into().unwrap());
    bytes[count_at..count_at + 8].copy_from_slice(&(count + 1).to_le_bytes());
    bytes.extend([0u8; 8]);
    std::fs::write(&path, bytes).unwrap();
    let e = failure(&run, &dir);
    assert!(e.contains("1 preprocessed items were left unused"), "{e}");
    let e = failure(&["prep-local", "--protocol", protocol, "matmul.mpcb"], &dir);
    assert!(e.contains("needs --prep-dir"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A party killed during semi2k's offline phase (OT extension) makes the
/// other fail at once with an error that names it.
#[test]
fn a_party_killed_during_the_offline_phase_makes_the_other_fail_quickly() {
    let dir = setup("kill-offline");
    let text = "party a = 0; party b = 1;
        fn main() {
            let x: sint<64>[3000000] = input(a);
            let y: sint<64>[3000000] = input(b);
            reveal sum(x * y) to b;
        }";
    // Large enough that the offline phase takes many stages.
    compile_to(&dir, "big", text);
    write_hosts(&dir, 2);
    let spawn = |p: usize| {
        Command::new(env!("CARGO_BIN_EXE_mpcvm"))
            .args([
                "prep",
                "--progress-lines",
                "--party",
                &p.to_string(),
                "--hosts",
                "hosts.toml",
                "--protocol",
                "semi2k",
                "big.mpcb",
                "--prep-dir",
                "material",
                "--timeout",
                "30",
            ])
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let survivor = spawn(0);
    let mut killed = spawn(1);
    // Killed once it reports its first stage made: past the connection and
    // the base OTs, inside the offline phase's stages.
    let mut lines = std::io::BufReader::new(killed.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with(mpcvm::progress::LINE_PREFIX) {
        line.clear();
        use std::io::BufRead;
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "party 1 ended before its offline phase"
        );
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let killed_at = std::time::Instant::now();
    let out = survivor.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "party 0 must fail: {err}");
    assert!(
        err.contains("network error") && err.contains("party 1"),
        "{err}"
    );
    assert!(
        !dir.join("material/party0.prep").exists(),
        "no material from a failed phase"
    );
    assert!(
        killed_at.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        killed_at.elapsed()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A run whose preprocessing by OT would not fit in memory (it is made in
/// full before the online phase) is refused before any party starts, with
/// the size and the way out; its tensors alone would fit.
#[test]
fn preprocessing_by_ot_too_large_for_memory_is_refused_before_the_run() {
    let dir = setup("prep-memory");
    let text = "party a = 0; party b = 1;
        fn main() {
            let x: sint<32>[1000] = input(a);
            let mut acc: sint<32>[1000] = x;
            for i in 0..100000 { acc = acc * x; }
            reveal acc to b;
        }";
    compile_to(&dir, "loop", text);
    write_npy(&dir.join("x.npy"), &[1000], &[1; 1000]);
    for command in ["run-local", "prep-local"] {
        let mut args = vec![
            command,
            "--protocol",
            "semi2k",
            "loop.mpcb",
            "--max-memory",
            "1G",
        ];
        if command == "run-local" {
            args.extend(["--input", "0=x.npy"]);
        } else {
            args.extend(["--prep-dir", "material"]);
        }
        let e = failure(&args, &dir);
        assert!(
            e.contains("preprocessing by OT for this program is about 2.2 GiB per party")
                && e.contains("--prep dealer"),
            "{command}: {e}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Under rep4, a party presenting a certificate the hosts file does not list
/// (its own key, claiming party 3's place) is refused by every honest party
/// before any input moves, and the run stops with a clear error everywhere.
#[test]
fn a_rep4_peer_whose_certificate_is_not_in_the_hosts_file_is_refused() {
    let dir = setup("rep4-impostor");
    compile_to(
        &dir,
        "sum",
        "party a = 0; party b = 1; fn main() { let x: sint<32>[4] = input(a); reveal x + x to b; }",
    );
    write_npy(&dir.join("x.npy"), &[4], &[1, 2, 3, 4]);
    write_hosts(&dir, 4);
    let impostor = dir.join("impostor");
    std::fs::create_dir_all(&impostor).unwrap();
    assert!(
        mpcvm(&["keygen", "--party", "3", "--dir", "impostor"], &dir)
            .status
            .success()
    );
    let spawn = |p: usize| {
        let mut cmd = party_run(&dir, p, "rep4", "sum.mpcb");
        cmd.args(["--connect-timeout", "3"]);
        match p {
            0 => {
                cmd.args(["--input", "0=x.npy"]);
            }
            3 => {
                cmd.args([
                    "--key",
                    "impostor/party3.key",
                    "--cert",
                    "impostor/party3.crt",
                ]);
            }
            _ => {}
        }
        cmd.spawn().unwrap()
    };
    let children: Vec<_> = (0..4).map(spawn).collect();
    for (p, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "party {p} must fail: {err}");
        assert!(
            String::from_utf8_lossy(&out.stdout).trim().is_empty(),
            "party {p} wrote an output"
        );
        if p == 3 {
            assert!(
                err.contains("refused") || err.contains("cannot reach"),
                "impostor: {err}"
            );
        } else {
            assert!(
                err.contains("party 3") || err.contains("did not connect"),
                "party {p}: {err}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

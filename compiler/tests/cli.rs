//! The `mpcc` command line: every example compiles and prints IR, assembly and
//! stats; a bad program exits non-zero with a located diagnostic on stderr.

use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn mpcc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mpcc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("mpcc runs")
}

fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("programs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mpc"))
        .map(|p| p.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_emits_ir_asm_and_stats() {
    let dir = std::env::temp_dir().join(format!("mpcc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for p in examples() {
        let ir = mpcc(&[&p, "--emit", "ir"]);
        assert!(
            ir.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&ir.stderr)
        );
        assert!(String::from_utf8_lossy(&ir.stdout).contains("fn main"));
        let asm = mpcc(&[&p, "--emit", "asm"]);
        assert!(asm.status.success());
        assert!(String::from_utf8_lossy(&asm.stdout).starts_with(&format!(
            "; mpcb format {}",
            mpcvm::bytecode::FORMAT_VERSION
        )));
        let out = dir.join("x.mpcb");
        let stats = mpcc(&[&p, "--stats", "-o", out.to_str().unwrap()]);
        assert!(stats.status.success());
        let text = String::from_utf8_lossy(&stats.stdout);
        assert!(text.lines().any(|l| l.ends_with("  main")), "{text}");
        assert!(
            text.starts_with("Per function instance: interactive ="),
            "{text}"
        );
        assert!(text.lines().any(|l| l.starts_with("rep3: ")), "{text}");
        assert!(text.lines().any(|l| l.ends_with("  source")), "{text}");
        assert!(
            text.lines()
                .last()
                .unwrap()
                .starts_with("estimated network time at 0.1 ms"),
            "{text}"
        );
        assert!(std::fs::read(&out).unwrap().starts_with(b"MPCB"));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_program_fails_with_a_located_diagnostic() {
    let out = mpcc(&[
        "tests/invalid/secrecy_branch_on_secret.mpc",
        "--emit",
        "asm",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "tests/invalid/secrecy_branch_on_secret.mpc:5:8: branching on a secret condition"
        ),
        "{err}"
    );
    assert!(err.contains("use select"));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_file_is_an_error_not_a_panic() {
    let out = mpcc(&["programs/does_not_exist.mpc"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn help_lists_the_import_command() {
    let out = mpcc(&["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("mpcc import") && text.contains("TFLite"),
        "{text}"
    );
    assert!(
        text.contains("What to produce"),
        "every flag has a help line: {text}"
    );
}

#[test]
fn import_refuses_a_directory_that_is_not_empty() {
    let model = repo().join("../shared/models/MNISTnet_uint8_quant.tflite");
    let dir = std::env::temp_dir().join(format!("mpcc-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (model, out) = (model.display().to_string(), dir.display().to_string());
    let first = mpcc(&["import", &model, "-o", &out]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let again = mpcc(&["import", &model, "-o", &out]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && err.contains("is not empty"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

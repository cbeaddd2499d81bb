//! No input makes mpcc panic: random token sequences and random edits of the
//! example programs are either compiled or answered with a diagnostic.

use mpc_tests::*;
use mpcc::driver::compile_source;
use mpcc::elaborate::Options;
use proptest::prelude::*;

const VOCABULARY: &[&str] = &[
    "party",
    "a",
    "=",
    "0",
    ";",
    "fn",
    "main",
    "(",
    ")",
    "{",
    "}",
    "let",
    "mut",
    "x",
    "y",
    ":",
    "sint",
    "<",
    "32",
    ">",
    "[",
    "]",
    ",",
    "sfix",
    "16",
    "input",
    "reveal",
    "to",
    "all",
    "for",
    "i",
    "in",
    "..",
    "if",
    "else",
    "return",
    "+",
    "-",
    "*",
    "@",
    "/",
    "%",
    ">>",
    "<<",
    "==",
    "!=",
    "<=",
    ">=",
    "&",
    "|",
    "^",
    "!",
    "as",
    "import",
    "nn",
    "::",
    "const",
    "N",
    "3",
    "0.5",
    "relu",
    "select",
    "sum",
    "max",
    "argmax",
    "reshape",
    "conv2d",
    "max_pool",
    "avg_pool",
    "concat",
    "transpose",
    "open",
    "fill",
    "axis",
    "padding",
    "same",
    "bit",
    "sbit",
    "int",
    "fix",
    "true",
    "false",
    "trunc_pr",
    "dim",
    "size",
    "b",
    "1",
    "2",
    "99999999999",
    "1e9",
];

fn compiles_or_diagnoses(text: &str) {
    match compile_source(
        "fuzz.mpc",
        text,
        Some(&repo_root().join("programs")),
        Options::default(),
    ) {
        Ok(_) => {}
        Err(f) => {
            let rendered = f.render();
            assert!(
                rendered.contains("fuzz.mpc:") || rendered.contains("nn.mpc:"),
                "diagnostic without a location:\n{rendered}"
            );
        }
    }
}

fn examples() -> Vec<String> {
    example_names()
        .iter()
        .map(|n| std::fs::read_to_string(program_path(n)).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mpc_tests::proptest_cases(300), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_token_sequences(tokens in prop::collection::vec(0usize..VOCABULARY.len(), 0..80)) {
        let text: Vec<&str> = tokens.iter().map(|&t| VOCABULARY[t]).collect();
        compiles_or_diagnoses(&text.join(" "));
    }

    #[test]
    fn token_edits_of_valid_programs(which in 0usize..16, edits in prop::collection::vec((any::<usize>(), 0usize..VOCABULARY.len(), 0u8..3), 1..5)) {
        let all = examples();
        let mut words: Vec<String> = all[which % all.len()].split_inclusive(|c: char| c.is_whitespace() || "();,[]{}".contains(c)).map(String::from).collect();
        for (at, token, kind) in edits {
            let at = at % words.len().max(1);
            match kind {
                0 if !words.is_empty() => { words.remove(at); }
                1 => words.insert(at, format!(" {} ", VOCABULARY[token])),
                _ if !words.is_empty() => words[at] = format!(" {} ", VOCABULARY[token]),
                _ => {}
            }
        }
        compiles_or_diagnoses(&words.concat());
    }

    #[test]
    fn byte_edits_of_valid_programs(which in 0usize..16, edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let all = examples();
        let mut bytes = all[which % all.len()].clone().into_bytes();
        for (at, b) in edits {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        compiles_or_diagnoses(&String::from_utf8_lossy(&bytes));
    }
}

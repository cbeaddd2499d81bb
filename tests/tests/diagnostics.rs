//! The corpus of invalid programs in tests/invalid: each must be refused with a
//! diagnostic that names file:line:col, marks the span and says what to do.

use mpc_tests::repo_root;
use mpcc::driver::compile_source;
use mpcc::elaborate::Options;

#[test]
fn every_invalid_program_gets_a_located_diagnostic() {
    let dir = repo_root().join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mpc"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} programs", files.len());
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = format!("{name}.mpc");
        let failure = match compile_source(&file, &text, Some(&dir), Options::default()) {
            Ok(_) => panic!("{name} compiled but must be refused"),
            Err(f) => f,
        };
        let rendered = failure.render();
        let (line, col) = failure
            .sources
            .line_col(failure.diagnostic.span.file, failure.diagnostic.span.start);
        let location = format!(
            "{}:{line}:{col}",
            failure.sources.name(failure.diagnostic.span.file)
        );
        assert!(
            rendered.contains(&location),
            "{name}: the diagnostic does not name {location}:\n{rendered}"
        );
        assert!(
            rendered.contains("Help:"),
            "{name}: the diagnostic says nothing about what to do:\n{rendered}"
        );
        insta::assert_snapshot!(name, rendered);
    }
}

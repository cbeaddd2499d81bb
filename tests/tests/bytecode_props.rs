//! Property tests of the bytecode loader and verifier: random byte flips and
//! truncations of every example's bytecode are refused with an error, never a
//! panic; and programs altered but re-hashed (so the verifier itself is tested,
//! not just the hash) either fail verification or run without panicking.

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::bytecode::{content_hash, Program, HEADER_LEN};
use mpcvm::ring::RingTensor;
use proptest::prelude::*;
use std::sync::OnceLock;

fn examples() -> &'static Vec<Vec<u8>> {
    static BYTES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mask_reuse = Options {
            mask_reuse: true,
            ..Options::default()
        };
        example_names()
            .iter()
            .flat_map(|n| {
                [
                    compile_example(n, Options::default()).bytes,
                    compile_example(n, mask_reuse).bytes,
                ]
            })
            .collect()
    })
}

/// Recomputes the header hash so the body is judged by the verifier.
fn rehash(bytes: &mut [u8]) {
    let h = content_hash(bytes);
    bytes[HEADER_LEN - 32..HEADER_LEN].copy_from_slice(&h);
}

fn small_enough(p: &Program) -> bool {
    p.registers.iter().all(|t| t.len() <= 1 << 20)
}

/// Runs a program that verified; an error is fine, a panic fails the test.
fn run_if_verified(bytes: &[u8]) -> bool {
    match Program::load(bytes) {
        Ok(p) => {
            if small_enough(&p) {
                let inputs: Vec<Option<RingTensor>> = p
                    .inputs
                    .iter()
                    .map(|d| Some(RingTensor::zeros(&d.ty.shape)))
                    .collect();
                let _ = run_clear_with(&p, &inputs, 1, true, &mut |_| {});
            }
            true
        }
        Err(_) => false,
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    /// Gives register `r` the type of register `s`.
    Retype(usize, usize),
    /// Changes one dimension of register `r`.
    Reshape(usize, usize, usize),
}

fn apply(p: &mut Program, e: &Edit) {
    let n = p.code.len();
    let m = p.registers.len();
    // Edited code has no location table (which the decoder would hold to the
    // code's length); its masked instructions are left where they were.
    p.locations.clear();
    match *e {
        Edit::Delete(i) => {
            p.code.remove(i % n);
        }
        Edit::Duplicate(i) => {
            let x = p.code[i % n].clone();
            p.code.insert(i % n, x);
        }
        Edit::Swap(i, j) => p.code.swap(i % n, j % n),
        Edit::Retype(r, s) => p.registers[r % m] = p.registers[s % m].clone(),
        Edit::Reshape(r, axis, d) => {
            let t = &mut p.registers[r % m];
            if !t.shape.is_empty() {
                let a = axis % t.shape.len();
                t.shape[a] = d % 9;
            }
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Duplicate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Retype(a, b)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(a, b, c)| Edit::Reshape(a, b, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mpc_tests::proptest_cases(400), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_are_refused_without_panicking(which in 0usize..64, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let all = examples();
        let mut b = all[which % all.len()].clone();
        for (at, x) in flips {
            let n = b.len();
            b[at % n] ^= x.max(1);
        }
        // Two flips of one byte can cancel out.
        prop_assume!(b != all[which % all.len()]);
        // The hash covers the whole file (a flip of the party count once slipped through).
        prop_assert!(Program::load(&b).is_err());
    }

    #[test]
    fn truncated_files_are_refused_without_panicking(which in 0usize..64, cut in any::<usize>()) {
        let all = examples();
        let b = &all[which % all.len()];
        let keep = cut % b.len();
        prop_assert!(Program::load(&b[..keep]).is_err());
    }

    #[test]
    fn rehashed_mutations_fail_verification_or_run_cleanly(which in 0usize..64, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
        let all = examples();
        let mut b = all[which % all.len()].clone();
        for (at, x) in flips {
            let n = b.len();
            let at = HEADER_LEN + at % (n - HEADER_LEN);
            b[at] ^= x.max(1);
        }
        rehash(&mut b);
        run_if_verified(&b);
    }

    #[test]
    fn structurally_edited_programs_fail_verification_or_run_cleanly(which in 0usize..64, edits in prop::collection::vec(edit(), 1..4)) {
        let all = examples();
        let mut p = Program::load(&all[which % all.len()]).unwrap();
        for e in &edits {
            apply(&mut p, e);
        }
        // encode() computes a valid hash: only the verifier stands between the edit and the VM.
        run_if_verified(&p.encode());
    }
}

#[test]
fn names_that_are_not_identifiers_are_refused_so_no_path_leaves_its_directory() {
    let c = compile_example("millionaires", Options::default());
    let hostile = [
        "../x",
        "/etc/passwd",
        "a/b",
        "..",
        "",
        "x.npy",
        "C:\\x",
        "x\0y",
    ];
    for name in hostile {
        for output in [false, true] {
            let mut p = c.program.clone();
            if output {
                p.outputs[0].name = name.into();
            } else {
                p.inputs[0].name = name.into();
            }
            let e = Program::load(&p.encode()).expect_err(name).to_string();
            assert!(e.contains("is not an identifier"), "{name}: {e}");
        }
    }
    let mut p = c.program.clone();
    p.outputs.push(p.outputs[0].clone());
    let e = Program::load(&p.encode())
        .expect_err("duplicate")
        .to_string();
    assert!(e.contains("two outputs named"), "{e}");
    let e = mpcvm::io::npy_file(std::path::Path::new("out"), "../x").unwrap_err();
    assert!(e.to_string().contains("not an identifier"));
}

/// An input or output inside a loop is a file of one row per iteration: a
/// declared shape that does not say so, or an input read by two instructions,
/// is refused before anything runs; so is an input no instruction reads.
#[test]
fn files_read_or_written_inside_loops_must_declare_a_row_per_iteration() {
    let c = compile_text(
        "party a = 0;
        fn main() {
            for i in 0..3 {
                let x: sint<32>[2] = input(a);
                reveal x to a;
            }
        }",
        Options::default(),
    );
    assert_eq!(c.program.inputs[0].ty.shape, vec![3, 2]);
    for (input, shape) in [
        (true, vec![2]),
        (true, vec![4, 2]),
        (false, vec![2, 3]),
        (false, vec![1, 3, 2]),
    ] {
        let mut p = c.program.clone();
        let ty = if input {
            &mut p.inputs[0].ty
        } else {
            &mut p.outputs[0].ty
        };
        ty.shape = shape.clone();
        let e = Program::load(&p.encode()).expect_err("refused").to_string();
        assert!(
            e.contains("per iteration of the loops around it"),
            "{shape:?}: {e}"
        );
    }
    let mut p = c.program.clone();
    p.inputs.push(p.inputs[0].clone());
    p.inputs[1].name = "y".into();
    let e = Program::load(&p.encode()).expect_err("refused").to_string();
    assert!(e.contains("input 1 is never read"), "{e}");
}

/// Masks are derived only from masked operands by linear operations that
/// multiply by constants, and a product outside a round batch needs both
/// operands masked: edits that break this are refused.
#[test]
fn masks_are_derived_only_as_a_dealer_could_replay_them() {
    use mpcvm::bytecode::Instr;
    let c = compile_text(
        "party a = 0; party b = 1;
        fn main() {
            let x: sint<16>[4, 4] = input(a);
            let y: sint<16>[4, 4] = input(b);
            let two: int<16>[4, 4] = fill(2, [4, 4]);
            let p = x @ y;
            let q = transpose(x * two) @ y;
            reveal p to a;
            reveal q to a;
        }",
        Options {
            mask_reuse: true,
            ..Options::default()
        },
    );
    let p = &c.program;
    let at = |f: &dyn Fn(&Instr) -> bool| p.code.iter().position(f).unwrap();
    let transpose = at(&|i| matches!(i, Instr::Transpose { .. }));
    let scaled = at(&|i| matches!(i, Instr::Mul { .. }));
    assert!(p.masked.contains(&(transpose as u32)) && p.masked.contains(&(scaled as u32)));
    let refused = |edit: &dyn Fn(&mut Program)| {
        let mut q = p.clone();
        q.locations.clear();
        edit(&mut q);
        Program::load(&q.encode()).expect_err("refused").to_string()
    };
    // The transpose no longer derives its mask: the product's operand has none.
    let e = refused(&|q| q.masked.retain(|&m| m as usize != transpose));
    assert!(e.contains("operand that is not masked"), "{e}");
    // A mask replaced by a copy.
    let e = refused(&|q| {
        for i in q.code.iter_mut() {
            if let Instr::Mask { dst, a } = *i {
                *i = Instr::Move { dst, src: a };
            }
        }
    });
    assert!(e.contains("round batch") || e.contains("not masked"), "{e}");
    // An input does not derive a mask.
    let input = at(&|i| matches!(i, Instr::Input { .. }));
    let e = refused(&|q| {
        q.masked.insert(0, input as u32);
        q.masked.sort_unstable();
    });
    assert!(e.contains("derives a mask"), "{e}");
    // The scaling factor is no longer known to be a constant (copied onto itself first).
    let Instr::Mul { a, b, .. } = p.code[scaled] else {
        unreachable!()
    };
    let public = if p.registers[a as usize].secret { b } else { a };
    let e = refused(&|q| {
        q.code.insert(
            scaled,
            Instr::Move {
                dst: public,
                src: public,
            },
        );
        for m in q.masked.iter_mut() {
            if *m as usize >= scaled {
                *m += 1;
            }
        }
        fix_jumps(q, scaled);
    });
    assert!(e.contains("multiplying by constants only"), "{e}");
}

/// After inserting an instruction at `at`, moves the jump targets behind it.
fn fix_jumps(p: &mut Program, at: usize) {
    use mpcvm::bytecode::Instr;
    let shift = |x: &mut u32| {
        if *x as usize >= at {
            *x += 1
        }
    };
    for i in p.code.iter_mut() {
        match i {
            Instr::Loop { end, .. } => shift(end),
            Instr::EndLoop { begin } => shift(begin),
            Instr::If { else_at, .. } => shift(else_at),
            Instr::Else { end } => shift(end),
            _ => {}
        }
    }
}

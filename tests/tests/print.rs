//! `print`: public values shown at run time, in program order, the same under
//! the clear backend and at every rep3 party; and the verifier's refusal of
//! texts that could do more than show themselves.

use mpc_tests::*;
use mpcvm::bytecode::verify;

const PROGRAM: &str = r#"
party a = 0; party b = 1;
const STEPS = 3;
fn main() {
    let x: sfix<16>[2] = input(a);
    let y: sint<32> = input(b);
    print("start: {} steps, rate {}", STEPS, [0.5, 2]);
    let mut acc: sfix<16>[2] = fill(0, [2]);
    for i in 0..STEPS {
        acc = acc + x;
        // The opened value is ready a round after the counter: still printed first.
        print("step {}: acc = {}", i, open(acc));
        print("after step {}", i);
        if i % 2 == 0 {
            print("even \"{}\" \\", i);
        }
    }
    print("y + 1 = {}", open(y + 1));
    reveal y to a;
}
"#;

fn expected() -> Vec<String> {
    let mut lines = vec!["start: 3 steps, rate [0.5, 2]".to_string()];
    for i in 0..3 {
        let acc = 0.25 * (i + 1) as f64;
        lines.push(format!("step {i}: acc = [{:.5}, {:.5}]", acc, -6.0 * acc));
        lines.push(format!("after step {i}"));
        if i % 2 == 0 {
            lines.push(format!("even \"{i}\" \\"));
        }
    }
    lines.push("y + 1 = 42".into());
    lines
}

#[test]
fn printed_lines_come_in_program_order_under_clear_and_at_every_rep3_party() {
    let c = compile_text(PROGRAM, Default::default());
    let ins = inputs(&c.program, &[("x", vec![0.25, -1.5]), ("y", vec![41.0])]);
    let mut printed = Vec::new();
    run_clear_with(&c.program, &ins, 1, true, &mut |l| {
        printed.push(l.to_string())
    })
    .unwrap();
    assert_eq!(printed, expected());
    for (p, (_, lines)) in run_rep3_printing(&c.program, &ins).into_iter().enumerate() {
        assert_eq!(lines, expected(), "party {p}");
    }
}

#[test]
fn the_verifier_refuses_control_characters_miscounted_places_and_secrets() {
    let c = compile_text(PROGRAM, Default::default());
    verify(&c.program).unwrap();
    let print_at = c
        .program
        .code
        .iter()
        .position(|i| matches!(i, mpcvm::bytecode::Instr::Print { args, .. } if !args.is_empty()))
        .unwrap();
    let mutated = |f: &dyn Fn(&mut mpcvm::bytecode::Program)| {
        let mut p = c.program.clone();
        f(&mut p);
        verify(&p).unwrap_err().to_string()
    };
    // An escape sequence that would clear the screen of whoever runs the program.
    let e = mutated(&|p| p.texts[0].push_str("\x1b[2J"));
    assert!(e.contains("control character"), "{e}");
    let e = mutated(&|p| p.texts[0] = "x".repeat(1001));
    assert!(e.contains("longer than 1000"), "{e}");
    let e = mutated(&|p| {
        if let mpcvm::bytecode::Instr::Print { args, .. } = &mut p.code[print_at] {
            args.push(args[0]);
        }
    });
    assert!(e.contains("places for"), "{e}");
    // x, read at the start, is secret and defined by then.
    let secret = c
        .program
        .code
        .iter()
        .find_map(|i| match i {
            mpcvm::bytecode::Instr::Input { dst, .. } => Some(*dst),
            _ => None,
        })
        .unwrap();
    let e = mutated(&|p| {
        if let mpcvm::bytecode::Instr::Print { args, .. } = &mut p.code[print_at] {
            args[0] = secret;
        }
    });
    assert!(e.contains("a secret"), "{e}");
}

//! Every example: snapshots of its IR, assembly and cost report, and the
//! rounds the VM measures equal to what the compiler predicts.

use mpc_tests::*;
use mpcc::elaborate::Options;
use mpcvm::bytecode::disassemble;

#[test]
fn ir_assembly_and_stats_of_every_example() {
    let names = example_names();
    assert!(names.len() >= 5);
    for name in names {
        let c = compile_example(&name, Options::default());
        insta::assert_snapshot!(format!("{name}_ir"), mpcc::ir::print_module(&c.module));
        insta::assert_snapshot!(format!("{name}_asm"), disassemble(&c.program, &c.bytes));
        insta::assert_snapshot!(format!("{name}_stats"), mpcc::stats::render(&c.module));
    }
}

/// Zero inputs of the declared types: enough to run any program.
fn zero_inputs(c: &mpcc::driver::Compiled) -> Vec<Option<mpcvm::ring::RingTensor>> {
    c.program
        .inputs
        .iter()
        .map(|d| Some(mpcvm::ring::RingTensor::zeros(&d.ty.shape)))
        .collect()
}

#[test]
fn measured_rounds_equal_the_compilers_prediction() {
    for name in example_names() {
        let c = compile_example_to_run(&name, Options::default());
        let main = c.module.main.unwrap();
        let predicted = mpcc::stats::function_stats(&c.module.functions[main]);
        let (out, _) =
            run_clear_sharing(&c.program, &zero_inputs(&c), 1, zero_shares(&c.program, 1));
        assert_eq!(out.figures.rounds, predicted.rounds, "{name}");
    }
}

#[test]
fn independent_interactive_operations_share_a_round() {
    // Three independent products and a comparison depending on one of them: two rounds after the inputs.
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sint<32>[4] = input(a); let y: sint<32>[4] = input(b);
             let p = x * y; let q = x * x; let r = y * y;
             let c = p > q;
             reveal r to a; reveal c to b;
         }",
        Options::default(),
    );
    let main = &c.module.functions[c.module.main.unwrap()];
    // inputs | three products | comparison, output of r | output of c
    assert_eq!(mpcc::stats::function_stats(main).rounds, 4);
    assert_eq!(run_clear(&c.program, &zero_inputs(&c), 1).figures.rounds, 4);
}

#[test]
fn a_loops_bytecode_does_not_grow_with_its_iteration_count() {
    let program = |n: u64| {
        format!(
            "party a = 0;
             fn main() {{
                 let x: sfix<16>[8] = input(a);
                 let mut acc: sfix<16>[8] = fill(0, [8]);
                 for i in 0..{n} {{
                     acc = relu(acc * x + x);
                 }}
                 reveal acc to a;
             }}"
        )
    };
    let small = compile_text(&program(10), Options::default());
    let large = compile_text(&program(10_000), Options::default());
    assert_eq!(small.bytes.len(), large.bytes.len());
    assert_eq!(small.program.code.len(), large.program.code.len());
    let ir_size = |c: &mpcc::driver::Compiled| {
        c.module
            .functions
            .values()
            .map(|f| f.insts.len() + f.values.len())
            .sum::<usize>()
    };
    assert_eq!(ir_size(&small), ir_size(&large));
    // ... and the VM runs every iteration: 3 rounds per iteration, plus input and output.
    let out = run_clear(&large.program, &zero_inputs(&large), 1);
    assert_eq!(out.figures.rounds, 3 * 10_000 + 2);
}

#[test]
fn unused_results_of_one_batch_get_distinct_registers() {
    // Found by the compiler fuzzer: the unused input's register was reused by the
    // other input of the same batch.
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() { let x: sint<32> = input(a); let y: sint<32> = input(b); reveal y to all; }",
        Options::default(),
    );
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("x", vec![1.0]), ("y", vec![2.0])]),
        1,
    );
    assert_eq!(output(&c.program, &out, "y"), vec![2.0]);
}

#[test]
fn peak_register_memory_follows_live_tensors() {
    // A chain of values of ever smaller shapes: each needs its own (typed)
    // register, but only two are live at a time.
    let mut body = String::from("let x0: sint<32>[1000] = input(a);\n");
    for k in 1..40 {
        body += &format!("let x{k} = x{}[1..] * x{}[..{}];\n", k - 1, k - 1, 1000 - k);
    }
    let c = compile_text(
        &format!("party a = 0;\nfn main() {{\n{body} reveal x39 to a;\n}}"),
        Options::default(),
    );
    let all: usize = c.program.registers.iter().map(|t| t.len()).sum();
    let out = run_clear(&c.program, &zero_inputs(&c), 1);
    assert!(all > 20 * 1000, "the registers hold {all} elements in all");
    assert!(
        out.peak_register_elements <= 4 * 1000,
        "peak {} elements",
        out.peak_register_elements
    );
}

#[test]
fn repeated_products_are_computed_once_and_invariants_leave_loops() {
    let c = compile_text(
        "party a = 0; party b = 1;
         fn main() {
             let x: sint<32>[4] = input(a); let y: sint<32>[4] = input(b);
             let p = x * y; let q = x * y;
             let mut acc: sint<32>[4] = fill(0, [4]);
             for i in 0..10 { acc = acc + x * y * 2; }
             let total = p + q + acc;
             reveal total to a;
         }",
        Options::default(),
    );
    let main = &c.module.functions[c.module.main.unwrap()];
    let stats = mpcc::stats::function_stats(main);
    // Two inputs, one product, one output: the loop body has no interactive operation left.
    assert_eq!((stats.interactive_executed, stats.rounds), (4, 3));
    let out = run_clear(
        &c.program,
        &inputs(
            &c.program,
            &[
                ("x", vec![1.0, 2.0, 3.0, 4.0]),
                ("y", vec![5.0, 6.0, 7.0, 8.0]),
            ],
        ),
        1,
    );
    assert_eq!(
        output(&c.program, &out, "total"),
        vec![110.0, 264.0, 462.0, 704.0]
    );
}

#[test]
fn max_pooling_moves_before_relu_with_the_same_results() {
    let text = "party a = 0;
        fn main() {
            let x: sint<32>[1, 6, 6, 2] = input(a);
            let w: sint<32>[1, 6, 6, 2] = input(a);
            let y = max_pool(relu(x), 2);
            let z = max_pool(relu(w), 3, padding = same);
            reveal y to a; reveal z to a;
        }";
    let c = compile_text(text, Options::default());
    // ReLU runs on the pooled elements: 3*3*2 + 2*2*2, not 2 * 6*6*2.
    let relu = c
        .program
        .manifest
        .iter()
        .find(|m| m.primitive == mpcvm::bytecode::Primitive::Relu)
        .unwrap();
    assert_eq!(relu.count, 18 + 8);
    // The same values as pooling after ReLU, computed by hand.
    let mut rng = TestRng(41);
    let (x, w) = (rng.ints(72, -50, 50), rng.ints(72, -50, 50));
    let out = run_clear(
        &c.program,
        &inputs(&c.program, &[("x", x.clone()), ("w", w.clone())]),
        1,
    );
    let relu = |v: &[f64]| {
        ndarray::Array4::from_shape_vec((1, 6, 6, 2), v.iter().map(|v| v.max(0.0)).collect())
            .unwrap()
    };
    assert_eq!(
        output(&c.program, &out, "y"),
        mpc_tests::reference::pool(&relu(&x), 2, 2, false, true)
            .iter()
            .copied()
            .collect::<Vec<_>>()
    );
    assert_eq!(
        output(&c.program, &out, "z"),
        mpc_tests::reference::pool(&relu(&w), 3, 3, true, true)
            .iter()
            .copied()
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_static_peak_of_registers_bounds_every_run() {
    for name in example_names() {
        let c = compile_example_to_run(&name, Options::default());
        let zeros: Vec<Option<mpcvm::ring::RingTensor>> = c
            .program
            .inputs
            .iter()
            .map(|d| Some(mpcvm::ring::RingTensor::zeros(&d.ty.shape)))
            .collect();
        let (out, _) = run_clear_sharing(&c.program, &zeros, 1, zero_shares(&c.program, 1));
        let bound = c.program.peak_register_elements();
        assert!(
            bound >= out.peak_register_elements as u64,
            "{name}: {bound} < {}",
            out.peak_register_elements
        );
        assert!(
            bound <= 2 * out.peak_register_elements as u64,
            "{name}: {bound} is far above {}",
            out.peak_register_elements
        );
    }
}

#[test]
fn the_rep3_cost_by_source_line_and_by_function_adds_up_to_the_whole() {
    for name in example_names() {
        let c = compile_example(&name, Options::default());
        let rows = mpcvm::backend::rep3::by_location(&c.program);
        let rounds: u64 = rows.iter().map(|r| r.1).sum();
        assert_eq!(rounds, mpcvm::backend::rep3::rounds(&c.program), "{name}");
        let bytes = [0, 1, 2].map(|p| rows.iter().map(|r| r.2[p]).sum::<u64>());
        assert_eq!(
            bytes,
            mpcvm::backend::rep3::bytes_sent(&c.program),
            "{name}"
        );
        assert!(
            rows.iter().all(|r| r.0.contains(".mpc:")),
            "{name}: {rows:?}"
        );
        // By function: the same totals, every location inside a definition.
        let functions = mpcc::stats::by_function(&c.sources, &rows);
        let rounds: u64 = functions.iter().map(|r| r.1).sum();
        assert_eq!(rounds, mpcvm::backend::rep3::rounds(&c.program), "{name}");
        let sum = [0, 1, 2].map(|p| functions.iter().map(|r| r.2[p]).sum::<u64>());
        assert_eq!(sum, bytes, "{name}");
        assert!(
            functions.iter().all(|r| !r.0.contains(".mpc:")),
            "{name}: {functions:?}"
        );
    }
    let c = compile_example("lenet", Options::default());
    let functions =
        mpcc::stats::by_function(&c.sources, &mpcvm::backend::rep3::by_location(&c.program));
    let names: Vec<&str> = functions.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "main",
            "nn::conv",
            "nn::dense",
            "nn::dense_relu",
            "nn::predict"
        ]
    );
}

#[test]
fn the_bytecode_does_not_depend_on_where_the_source_was_compiled() {
    let text = std::fs::read_to_string(program_path("lenet")).unwrap();
    let dirs = [
        std::env::temp_dir().join("mpcc-here"),
        std::env::temp_dir().join("mpcc-there/deeper"),
    ];
    let bytes: Vec<Vec<u8>> = dirs
        .iter()
        .map(|d| {
            std::fs::create_dir_all(d).unwrap();
            let path = d.join("lenet.mpc");
            std::fs::write(&path, &text).unwrap();
            mpcc::driver::compile_file(&path, Options::default())
                .unwrap_or_else(|f| panic!("{}", f.render()))
                .bytes
        })
        .collect();
    assert_eq!(bytes[0], bytes[1]);
}

/// Compiled for mask reuse (`--protocol semi2k`), every example computes
/// exactly what it computes compiled for rep3, under the clear backend, and
/// its products of secrets are all local (their operands masked).
#[test]
fn mask_reuse_changes_no_result() {
    use mpcvm::bytecode::Primitive;
    for name in example_names() {
        let exact = Options {
            exact_fixed_point: true,
            ..Options::default()
        };
        let plain = compile_example_to_run(&name, exact);
        let masked = compile_example_to_run(
            &name,
            Options {
                mask_reuse: true,
                ..exact
            },
        );
        let inputs = random_inputs(&plain, 3);
        let shares = |c: &mpcc::driver::Compiled| zero_shares(&c.program, 1);
        let (want, _) = run_clear_sharing(&plain.program, &inputs, 7, shares(&plain));
        let (got, _) = run_clear_sharing(&masked.program, &inputs, 7, shares(&masked));
        assert_eq!(got.outputs, want.outputs, "{name}");
        let fresh =
            |p: Primitive| matches!(p, Primitive::Mul | Primitive::MatMul | Primitive::Conv2d);
        assert!(
            !masked.program.manifest.iter().any(|e| fresh(e.primitive)),
            "{name}: a product masks its operands afresh"
        );
        let any_product = plain.program.manifest.iter().any(|e| fresh(e.primitive));
        let any_mask = masked
            .program
            .manifest
            .iter()
            .any(|e| e.primitive == Primitive::Mask);
        assert_eq!(any_product, any_mask, "{name}");
    }
}

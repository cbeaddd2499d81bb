//! Property tests of rep3: sharing then reconstruction gives the value back,
//! and comparisons agree with the clear backend, for random values and values
//! at the edges of their bit length.

use mpc_tests::*;
use mpcc::elaborate::Options;
use proptest::prelude::*;

fn edge_or_random() -> impl Strategy<Value = i64> {
    let k = 31;
    prop_oneof![
        Just(0i64),
        Just(-1),
        Just(1),
        Just((1i64 << k) - 1),
        Just(-(1i64 << k)),
        Just((1i64 << k) - 2),
        Just(-(1i64 << k) + 1),
        -(1i64 << k)..(1i64 << k),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mpc_tests::proptest_cases(12), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sharing_and_reconstruction_round_trip(values in prop::collection::vec(any::<i64>(), 1..40), owner in 0usize..3) {
        let n = values.len();
        let text = format!("party p0 = 0; party p1 = 1; party p2 = 2;
            fn main() {{ let x: sint<64>[{n}] = input(p{owner}); let y = open(x); reveal y to all; reveal x to p{}; }}", (owner + 1) % 3);
        let c = compile_text(&text, Options::default());
        let ins = inputs(&c.program, &[("x", values.iter().map(|&v| v as f64).collect())]);
        // f64 cannot carry every i64: build the ring elements directly.
        let ins: Vec<_> = ins.into_iter().map(|_| Some(mpcvm::ring::RingTensor::new(vec![n], values.iter().map(|&v| v as u64).collect()))).collect();
        let out = run_rep3(&c.program, &ins);
        let at = |name: &str| c.program.outputs.iter().position(|o| o.name == name).unwrap();
        let expected: Vec<u64> = values.iter().map(|&v| v as u64).collect();
        for o in &out {
            prop_assert_eq!(&o.outputs[at("y")].as_ref().unwrap().data, &expected);
        }
        prop_assert_eq!(&out[(owner + 1) % 3].outputs[at("x")].as_ref().unwrap().data, &expected);
        prop_assert!(out[owner].outputs[at("x")].is_none() || owner == (owner + 1) % 3);
    }

    #[test]
    fn comparisons_agree_with_the_clear_backend(pairs in prop::collection::vec((edge_or_random(), edge_or_random()), 1..30)) {
        let n = pairs.len();
        let text = format!("party a = 0; party b = 1;
            fn main() {{
                let x: sint<32>[{n}] = input(a); let y: sint<32>[{n}] = input(b);
                let lt = x < y; let eq = x == y; let r = relu(x); let m = max(x); let i = argmax(y); let f = x >> 5;
                reveal lt to a; reveal eq to a; reveal r to a; reveal m to a; reveal i to a; reveal f to a;
            }}");
        let c = compile_text(&text, Options::default());
        let ins = inputs(&c.program, &[("x", pairs.iter().map(|p| p.0 as f64).collect()), ("y", pairs.iter().map(|p| p.1 as f64).collect())]);
        let clear = run_clear(&c.program, &ins, 1);
        let rep3 = run_rep3(&c.program, &ins);
        for (i, decl) in c.program.outputs.iter().enumerate() {
            prop_assert_eq!(rep3[0].outputs[i].as_ref(), clear.outputs[i].as_ref(), "{}", decl.name);
        }
    }
}

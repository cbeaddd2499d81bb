//! Private training end to end (programs/train_shallow.mpc and train_deep.mpc)
//! on a few small batches of MNIST: the clear backend against the f64 training
//! of tests/src/training.rs from the same weights in the same batch order; rep3
//! against clear, with the rounds and bytes the compiler predicts; the
//! polynomial ReLU and the public-softmax variants.

use mpc_tests::training::{initial_weights, train, Net};
use mpc_tests::*;
use mpcc::driver::Compiled;
use mpcc::elaborate::Options;

const TEST_STEPS: usize = 1;
const TB: usize = 50;

/// Steps and batch size of a run: the deep network's second convolution is
/// 32 times the first's work, and LeNet's larger still, so their runs are smaller.
fn size(net: Net) -> (usize, usize) {
    match net {
        Net::Shallow => (3, 32),
        Net::Deep | Net::LeNet => (2, 8),
    }
}

/// The program with small constants (and `changes`, pairs of text to replace).
fn program(net: Net, changes: &[(&str, &str)]) -> Compiled {
    let name = match net {
        Net::Shallow => "train_shallow",
        Net::Deep => "train_deep",
        Net::LeNet => "train_lenet",
    };
    let mut text = std::fs::read_to_string(program_path(name)).unwrap();
    let (steps, batch) = size(net);
    for (from, to) in [
        ("const STEPS = 468;", format!("const STEPS = {steps};")),
        ("const B = 128;", format!("const B = {batch};")),
        (
            "const TEST_STEPS = 100;",
            format!("const TEST_STEPS = {TEST_STEPS};"),
        ),
        ("const TB = 100;", format!("const TB = {TB};")),
    ]
    .into_iter()
    .chain(changes.iter().map(|(a, b)| (*a, b.to_string())))
    {
        assert!(text.contains(from), "{name}.mpc has no `{from}`");
        text = text.replace(from, &to);
    }
    compile_text(&text, Options::default())
}

/// Every input: the model owner's initial weights and the data owner's batches.
fn values(net: Net) -> Vec<(String, Vec<f64>)> {
    let (_, pixels) = mnist::images("train");
    let labels = mnist::labels("train");
    let (_, test_pixels) = mnist::images("t10k");
    let test_labels = mnist::labels("t10k");
    let (steps, batch) = size(net);
    let bytes = |b: &[u8]| b.iter().map(|&v| v as f64).collect::<Vec<_>>();
    let mut v: Vec<(String, Vec<f64>)> = net
        .parameters()
        .into_iter()
        .map(|(n, _)| n)
        .zip(initial_weights(net, 1))
        .collect();
    v.push(("pixels".into(), bytes(&pixels[..steps * batch * 784])));
    v.push(("labels".into(), bytes(&labels[..steps * batch])));
    v.push((
        "test_pixels".into(),
        bytes(&test_pixels[..TEST_STEPS * TB * 784]),
    ));
    v.push(("test_labels".into(), bytes(&test_labels[..TEST_STEPS * TB])));
    v
}

fn run(c: &Compiled, net: Net) -> mpcvm::interp::RunOutcome {
    let v = values(net);
    let named: Vec<(&str, Vec<f64>)> = v.iter().map(|(n, x)| (n.as_str(), x.clone())).collect();
    run_clear(&c.program, &inputs(&c.program, &named), 11)
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{what}");
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= tolerance,
        "{what}: off by up to {worst} (tolerance {tolerance})"
    );
}

/// The clear run of `net` against the f64 training: every step's loss and every
/// trained weight close (fixed point with 16 fractional bits and probabilistic
/// truncation drift a little), and the test count computed securely.
fn matches_f64(net: Net, exact: bool) {
    let c = program(
        net,
        if exact {
            &[]
        } else {
            &[("const EXACT_RELU = true;", "const EXACT_RELU = false;")]
        },
    );
    let out = run(&c, net);
    let (steps, batch) = size(net);
    let reference = train(net, initial_weights(net, 1), steps, batch, 0.01, exact);
    assert_close(
        "loss",
        &output(&c.program, &out, "loss"),
        &reference.losses,
        2e-3,
    );
    for ((name, _), want) in net.parameters().iter().zip(&reference.weights) {
        assert_close(name, &output(&c.program, &out, name), want, 2e-3);
    }
    let hits = output(&c.program, &out, "hits")[0];
    let f64_hits = mpc_tests::training::accuracy(net, &reference.weights, TEST_STEPS * TB, exact)
        * (TEST_STEPS * TB) as f64;
    assert!(
        (hits - f64_hits).abs() <= 2.0,
        "{hits} test images right, f64: {f64_hits}"
    );
}

#[test]
fn the_shallow_network_trains_as_in_f64_with_exact_and_polynomial_relu() {
    matches_f64(Net::Shallow, true);
    matches_f64(Net::Shallow, false);
}

#[test]
fn the_deep_network_trains_as_in_f64() {
    matches_f64(Net::Deep, true);
}

/// Opening the logits (the paper's public softmax) trains the same network.
#[test]
fn the_public_softmax_variant_trains_alike_and_says_it_is_insecure() {
    let secure = program(Net::Shallow, &[]);
    let public = program(
        Net::Shallow,
        &[(
            "const PUBLIC_SOFTMAX = false;",
            "const PUBLIC_SOFTMAX = true;",
        )],
    );
    let (a, b) = (run(&secure, Net::Shallow), run(&public, Net::Shallow));
    assert_close(
        "loss",
        &output(&public.program, &b, "loss"),
        &output(&secure.program, &a, "loss"),
        1e-3,
    );
    assert_close(
        "w",
        &output(&public.program, &b, "w"),
        &output(&secure.program, &a, "w"),
        1e-3,
    );
    assert!(public
        .program
        .texts
        .iter()
        .any(|t| t.starts_with("INSECURE")));
    assert!(
        mpcvm::backend::rep3::rounds(&public.program)
            < mpcvm::backend::rep3::rounds(&secure.program)
    );
}

/// rep3 (three parties over TLS) equals clear within the truncation drift,
/// with the rounds and bytes the cost model predicts.
#[test]
fn a_training_run_under_rep3_equals_clear() {
    let c = program(Net::Shallow, &[]);
    let v = values(Net::Shallow);
    let named: Vec<(&str, Vec<f64>)> = v.iter().map(|(n, x)| (n.as_str(), x.clone())).collect();
    close_to_clear(&c, &named, |name| if name == "hits" { 2.0 } else { 1e-3 });
}

/// A model trained privately and kept secret-shared serves private
/// predictions: under rep3, each party keeps its own shares of the trained
/// weights and a later run loads them; the predicted digits equal the clear
/// backend's (train, keep, load, predict), and nobody receives the weights.
#[test]
fn a_privately_trained_model_kept_as_shares_serves_private_predictions() {
    let trainer = program(
        Net::Shallow,
        &[("const KEEP_MODEL = false;", "const KEEP_MODEL = true;")],
    );
    assert!(trainer
        .program
        .outputs
        .iter()
        .all(|o| o.name == "loss" || o.name == "hits"));
    let v = values(Net::Shallow);
    let named: Vec<(&str, Vec<f64>)> = v.iter().map(|(n, x)| (n.as_str(), x.clone())).collect();
    let ins = inputs(&trainer.program, &named);
    let parties = run_rep3_parties(&trainer.program, &ins, vec![Vec::new(); 3]);
    let (_, clear_kept) = run_clear_sharing(&trainer.program, &ins, 11, Vec::new());

    let text = std::fs::read_to_string(program_path("predict_shallow"))
        .unwrap()
        .replace("const N = 100;", "const N = 20;");
    let predictor = compile_text(&text, Options::default());
    let (_, test_pixels) = mnist::images("t10k");
    let pixels: Vec<f64> = test_pixels[..20 * 784].iter().map(|&p| p as f64).collect();
    let ins = inputs(&predictor.program, &[("pixels", pixels)]);
    // The predictor loads in its own order: map the trainer's kept shares by name.
    let by_name = |kept: &Shares| -> Shares {
        predictor
            .program
            .shares
            .iter()
            .map(|s| {
                let i = trainer
                    .program
                    .shares
                    .iter()
                    .position(|t| t.name == s.name)
                    .expect("kept");
                kept[i].clone()
            })
            .collect()
    };
    let served = run_rep3_parties(
        &predictor.program,
        &ins,
        parties.iter().map(|p| by_name(&p.shares)).collect(),
    );
    let (clear, _) = run_clear_sharing(&predictor.program, &ins, 11, by_name(&clear_kept));
    let want = output(&predictor.program, &clear, "digits");
    let got = mpcvm::io::decode_f64(
        served[0].outcome.outputs[0].as_ref().unwrap(),
        predictor.program.outputs[0].ty.elem,
    );
    let differ = got.iter().zip(&want).filter(|(g, w)| g != w).count();
    assert!(differ <= 1, "{got:?} against clear's {want:?}");
    assert!(served[1].outcome.outputs[0].is_none() && served[2].outcome.outputs[0].is_none());
    // And the predictions are mostly right after three small steps of training.
    let labels = mnist::labels("t10k");
    let right = want
        .iter()
        .zip(&labels)
        .filter(|(d, l)| **d as u8 == **l)
        .count();
    assert!(right >= 8, "{right} of 20 right");
}

/// LeNet (SGD with momentum, max pooling) trains under rep3 as under clear,
/// with the predicted rounds and bytes.
#[test]
fn lenet_trains_under_rep3_as_under_clear() {
    let c = program(Net::LeNet, &[("const EPOCHS = 4;", "const EPOCHS = 1;")]);
    let v = values(Net::LeNet);
    let named: Vec<(&str, Vec<f64>)> = v.iter().map(|(n, x)| (n.as_str(), x.clone())).collect();
    close_to_clear(&c, &named, |name| if name == "hits" { 2.0 } else { 2e-3 });
}

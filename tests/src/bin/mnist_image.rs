//! Writes MNIST test image `INDEX` as a `.npy` file and prints its label:
//! `[1, 784]` float64 pixels in [0, 1] (the client's input to
//! programs/mnist_dense.mpc), or with `--raw` `[1, 28, 28, 1]` uint8 pixels
//! (the input of an imported quantized model), as `.npy` or, when OUT ends in
//! `.bin`, as the 784 bytes themselves (mpcvm reads `.bin` inputs as raw bytes).
//!
//! mnist_image INDEX OUT.npy|OUT.bin [--raw]

use mpc_tests::{mnist, write_npy};
use npyz::WriterBuilder;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(index), Some(out)) = (
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2),
    ) else {
        eprintln!("usage: mnist_image INDEX OUT.npy|OUT.bin [--raw]");
        std::process::exit(2);
    };
    let (n, pixels) = mnist::images("t10k");
    if index >= n {
        eprintln!("index {index} is out of range: the test set has {n} images");
        std::process::exit(2);
    }
    let path = std::path::Path::new(out);
    let raw = &pixels[index * 784..(index + 1) * 784];
    let uint8 = args.get(3).map(String::as_str) == Some("--raw");
    if uint8 && out.ends_with(".bin") {
        std::fs::write(path, raw).expect("write the output");
    } else if uint8 {
        let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create the output"));
        let mut w = npyz::WriteOptions::<u8>::new()
            .default_dtype()
            .shape(&[1, 28, 28, 1])
            .writer(file)
            .begin_nd()
            .expect("npy");
        w.extend(raw.iter().copied()).expect("npy");
        w.finish().expect("npy");
    } else {
        write_npy(path, &[1, 784], &mnist::image(&pixels, index));
    }
    println!("{}", mnist::labels("t10k")[index]);
}

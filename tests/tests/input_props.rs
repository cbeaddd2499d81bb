//! Property tests of input files: `.npy` files with flipped bytes, cut short, or
//! with an edited header (shape, dtype, version, header length) are read or
//! refused with an error naming the input, never a panic or an allocation the
//! file cannot back; what is read has the declared shape and lies in the
//! declared range.

use mpc_tests::*;
use mpcvm::io::read_input;
use mpcvm::types::{Elem, TensorType};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A valid float64 `.npy` of shape [4, 8] (values 0..32) and the types it may be read as.
fn valid_file() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let path = scratch("valid.npy");
        let data: Vec<f64> = (0..32).map(|v| v as f64 - 16.0).collect();
        write_npy(&path, &[4, 8], &data);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        bytes
    })
}

fn types() -> [TensorType; 3] {
    [
        TensorType::new(true, Elem::Int { bits: 32 }, vec![4, 8]),
        TensorType::new(true, Elem::Fix { frac: 16, bits: 32 }, vec![32]),
        TensorType::new(true, Elem::Int { bits: 8 }, vec![4, 8]),
    ]
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mpcc-input-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    dir.join(format!(
        "{}-{name}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

/// Reads `bytes` as an input of every type: an error names the input; a success
/// has the declared element count and every value within the declared bits.
fn read_or_refuse(bytes: &[u8], ext: &str) {
    let path = scratch(&format!("x.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    for ty in types() {
        match read_input(&path, &ty, "x") {
            Ok(t) => {
                assert_eq!(t.data.len(), ty.len());
                let bits = u32::from(ty.elem.bits());
                for &v in &t.data {
                    let v = v as i64;
                    assert!(
                        bits >= 64 || (v >= -(1i64 << (bits - 1)) && v < 1i64 << (bits - 1)),
                        "{v} read into {ty}"
                    );
                }
            }
            Err(e) => assert!(e.to_string().contains("input 'x'"), "{e}"),
        }
    }
    std::fs::remove_file(&path).ok();
}

/// Header fields worth lying about, each with a replacement.
const HEADER_EDITS: &[(&str, &str)] = &[
    ("(4, 8)", "(8, 4)"),
    ("(4, 8)", "(4, 8, 1)"),
    ("(4, 8)", "(536870912, 8)"),
    ("(4, 8)", "(-4, 8)"),
    ("(4, 8)", "()"),
    ("'<f8'", "'<i8'"),
    ("'<f8'", "'>f8'"),
    ("'<f8'", "'|u1'"),
    ("'<f8'", "'<c16'"),
    ("'<f8'", "'|O'"),
    ("False", "True"),
    ("'descr'", "'desc'"),
    ("}", ""),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(300), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes_are_read_in_range_or_refused(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6), raw in any::<bool>()) {
        let mut b = valid_file().to_vec();
        for (at, x) in flips {
            let n = b.len();
            b[at % n] ^= x;
        }
        read_or_refuse(&b, if raw { "bin" } else { "npy" });
    }

    #[test]
    fn truncated_files_are_refused(cut in any::<usize>()) {
        let b = valid_file();
        let keep = cut % b.len();
        let path = scratch("cut.npy");
        std::fs::write(&path, &b[..keep]).unwrap();
        for ty in types() {
            let e = read_input(&path, &ty, "x").expect_err("a file cut short must be refused");
            prop_assert!(e.to_string().contains("input 'x'"), "{}", e);
        }
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn edited_headers_are_read_in_range_or_refused(edits in prop::collection::vec(0..HEADER_EDITS.len(), 1..3), length in prop::option::of(any::<u16>()), version in prop::option::of(any::<u8>())) {
        let b = valid_file();
        let header_len = u16::from_le_bytes([b[8], b[9]]) as usize;
        let mut header = String::from_utf8(b[10..10 + header_len].to_vec()).unwrap();
        for e in edits {
            let (from, to) = HEADER_EDITS[e];
            header = header.replacen(from, to, 1);
        }
        let mut file = b[..8].to_vec();
        if let Some(v) = version {
            file[6] = v;
        }
        file.extend_from_slice(&length.unwrap_or(header.len() as u16).to_le_bytes());
        file.extend_from_slice(header.as_bytes());
        file.extend_from_slice(&b[10 + header_len..]);
        read_or_refuse(&file, "npy");
    }
}

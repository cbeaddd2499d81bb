//! Share files: a secret kept after a run (`keep w as "model";`), one file per
//! party holding only that party's share, so a trained model can stay secret
//! and serve later runs (`load("model")`). The header records the protocol,
//! the party, the number of parties, the writing program's hash and the value's
//! type; loading refuses a file of another protocol, party, party count or
//! type. Layout (little-endian): magic `MPCS`, version (u16), the protocol's
//! name, the type (as text, each a u16 length and bytes), party (u8), parties
//! (u8), program hash (32 bytes), components (u8), elements (u64), then the
//! components' words one after another.

use crate::types::TensorType;
use crate::VmError;
use std::path::Path;

const MAGIC: &[u8; 4] = b"MPCS";
const VERSION: u16 = 1;

/// Who kept a share and how: what a later run must match to use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub protocol: String,
    pub party: usize,
    pub parties: usize,
    pub program_hash: [u8; 32],
}

fn text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Writes one party's share of a value of type `ty`.
pub fn write(
    path: &Path,
    origin: &Origin,
    ty: &TensorType,
    words: &[Vec<u64>],
) -> Result<(), VmError> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&VERSION.to_le_bytes());
    text(&mut out, &origin.protocol);
    text(&mut out, &ty.to_string());
    out.push(origin.party as u8);
    out.push(origin.parties as u8);
    out.extend_from_slice(&origin.program_hash);
    out.push(words.len() as u8);
    out.extend_from_slice(&(ty.len() as u64).to_le_bytes());
    for component in words {
        for w in component {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    std::fs::write(path, out)
        .map_err(|e| VmError::Io(format!("cannot write {}: {e}", path.display())))
}

struct Bytes<'a> {
    bytes: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl Bytes<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], VmError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                VmError::Input(format!(
                    "{} is not a share file: it ends too early",
                    self.path.display()
                ))
            })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn text(&mut self) -> Result<String, VmError> {
        let n = u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")) as usize;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| VmError::Input(format!("{} is not a share file", self.path.display())))
    }
}

/// The party a share is read for: this run's protocol, party and party count.
pub struct Reader<'a> {
    pub protocol: &'a str,
    pub party: usize,
    pub parties: usize,
}

/// Reads the share of a value of type `ty` that `expected` may use: its
/// words, component by component.
pub fn read(path: &Path, expected: &Reader, ty: &TensorType) -> Result<Vec<Vec<u64>>, VmError> {
    let bytes = std::fs::read(path).map_err(|e| {
        VmError::Input(format!(
            "cannot read the share file {}: {e}",
            path.display()
        ))
    })?;
    let mut r = Bytes {
        bytes: &bytes,
        at: 0,
        path,
    };
    if r.take(4)? != MAGIC || u16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes")) != VERSION
    {
        return Err(VmError::Input(format!(
            "{} is not a share file of this version",
            path.display()
        )));
    }
    let protocol = r.text()?;
    let kept_type = r.text()?;
    let head = r.take(2 + 32 + 1 + 8)?;
    let (party, parties) = (head[0] as usize, head[1] as usize);
    let components = head[34] as usize;
    let n = u64::from_le_bytes(head[35..43].try_into().expect("8 bytes"));
    let refuse = |why: String| Err(VmError::Input(format!("{}: {why}", path.display())));
    if protocol != expected.protocol {
        return refuse(format!(
            "these are {protocol} shares; this run is {}",
            expected.protocol
        ));
    }
    if (party, parties) != (expected.party, expected.parties) {
        return refuse(format!(
            "this is party {party}'s share of {parties} parties; this is party {} of {}: each party loads its own",
            expected.party, expected.parties
        ));
    }
    if kept_type != ty.to_string() {
        return refuse(format!(
            "the share is of a {kept_type}; the program loads a {ty}"
        ));
    }
    let left = (bytes.len() - r.at) as u64;
    if n != ty.len() as u64 || left != (components as u64).saturating_mul(n).saturating_mul(8) {
        return refuse(format!(
            "it announces {components} x {n} words but holds {left} bytes"
        ));
    }
    Ok((0..components)
        .map(|_| {
            let chunk = r.take(n as usize * 8).expect("length checked");
            chunk
                .chunks_exact(8)
                .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Elem;

    /// Every truncation and every single-byte change of a share file is refused
    /// or read as a share of the declared size, never a panic or an allocation
    /// the file cannot back.
    #[test]
    fn damaged_share_files_are_refused_or_read_whole() {
        let dir = std::env::temp_dir().join(format!("mpcvm-shares-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.share");
        let ty = TensorType::new(true, Elem::Fix { frac: 16, bits: 32 }, vec![2, 3]);
        let origin = Origin {
            protocol: "rep3".into(),
            party: 1,
            parties: 3,
            program_hash: [7; 32],
        };
        let words = vec![(0..6).collect::<Vec<u64>>(), (10..16).collect()];
        write(&path, &origin, &ty, &words).unwrap();
        let good = std::fs::read(&path).unwrap();
        let reader = Reader {
            protocol: "rep3",
            party: 1,
            parties: 3,
        };
        assert_eq!(read(&path, &reader, &ty).unwrap(), words);
        for cut in 0..good.len() {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert!(read(&path, &reader, &ty).is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            for x in [1u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[at] ^= x;
                std::fs::write(&path, &bad).unwrap();
                if let Ok(w) = read(&path, &reader, &ty) {
                    assert!(w.iter().all(|c| c.len() == 6), "byte {at}");
                }
            }
        }
        let other = Reader {
            protocol: "rep3",
            party: 2,
            parties: 3,
        };
        std::fs::write(&path, &good).unwrap();
        assert!(read(&path, &other, &ty)
            .unwrap_err()
            .to_string()
            .contains("each party loads its own"));
        std::fs::remove_dir_all(&dir).ok();
    }
}

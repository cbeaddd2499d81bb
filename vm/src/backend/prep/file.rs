//! Preprocessed material in a file (`mpcvm prep` writes one per party,
//! `--prep-dir` reads it back): the offline/online split. A file is bound to
//! the program (its content hash), the protocol, the party and the number of
//! parties; its items follow in plan order, each as its parts' lengths and
//! words. A reader checks every part's length against the layout the program
//! expects before reading it, so a file decides no allocation.
//!
//! Format: `MPCPREP1`, the header (program hash, 32 bytes; protocol name as a
//! u32 length and bytes; party and parties as u32), the item count (u64),
//! then per item its random and correlated part counts (u32 each), and per
//! part its length (u64) and words (little-endian u64).

use super::{Combine, Item, Layout};
use crate::VmError;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"MPCPREP1";

/// What a file is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub program_hash: [u8; 32],
    pub protocol: String,
    pub party: usize,
    pub parties: usize,
}

/// Party `party`'s file in `dir`.
pub fn path(dir: &Path, party: usize) -> PathBuf {
    dir.join(format!("party{party}.prep"))
}

fn io_error(path: &Path, e: std::io::Error) -> VmError {
    VmError::Io(format!("{}: {e}", path.display()))
}

/// Writes `items` for `binding` to `path`.
pub fn write(path: &Path, binding: &Binding, items: &[Item]) -> Result<(), VmError> {
    let file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    let mut w = BufWriter::new(file);
    let mut put = |bytes: &[u8]| w.write_all(bytes).map_err(|e| io_error(path, e));
    put(MAGIC)?;
    put(&binding.program_hash)?;
    put(&(binding.protocol.len() as u32).to_le_bytes())?;
    put(binding.protocol.as_bytes())?;
    put(&(binding.party as u32).to_le_bytes())?;
    put(&(binding.parties as u32).to_le_bytes())?;
    put(&(items.len() as u64).to_le_bytes())?;
    for item in items {
        put(&(item.random.len() as u32).to_le_bytes())?;
        put(&(item.correlated.len() as u32).to_le_bytes())?;
        for part in item.random.iter().chain(&item.correlated) {
            put(&(part.len() as u64).to_le_bytes())?;
            put(bytemuck::cast_slice(part))?;
        }
    }
    w.flush().map_err(|e| io_error(path, e))
}

/// Reads a file's items one at a time.
pub struct Reader {
    path: PathBuf,
    input: BufReader<std::fs::File>,
    /// Items not yet read.
    left: u64,
}

impl Reader {
    /// Opens `path`, refusing a file not made for `binding`.
    pub fn open(path: &Path, binding: &Binding) -> Result<Reader, VmError> {
        let file = std::fs::File::open(path).map_err(|e| {
            VmError::Io(format!(
                "cannot open the preprocessed material {}: {e} (make it with `mpcvm prep`; a \
                 run consumes its material)",
                path.display()
            ))
        })?;
        let mut r = Reader {
            path: path.to_path_buf(),
            input: BufReader::new(file),
            left: 0,
        };
        let mut magic = [0u8; 8];
        r.bytes(&mut magic)?;
        if &magic != MAGIC {
            return Err(r.bad("not a file of preprocessed material"));
        }
        let mut hash = [0u8; 32];
        r.bytes(&mut hash)?;
        let name_len = r.u32()? as usize;
        if name_len > 64 {
            return Err(r.bad("a malformed header"));
        }
        let mut name = vec![0u8; name_len];
        r.bytes(&mut name)?;
        let found = Binding {
            program_hash: hash,
            protocol: String::from_utf8_lossy(&name).into_owned(),
            party: r.u32()? as usize,
            parties: r.u32()? as usize,
        };
        if found.program_hash != binding.program_hash {
            return Err(r.bad("made for another program"));
        }
        if (found.protocol.as_str(), found.party, found.parties)
            != (binding.protocol.as_str(), binding.party, binding.parties)
        {
            return Err(r.bad(&format!(
                "made for {} party {} of {}, not {} party {} of {}",
                found.protocol,
                found.party,
                found.parties,
                binding.protocol,
                binding.party,
                binding.parties
            )));
        }
        r.left = r.u64()?;
        Ok(r)
    }

    /// Removes the file (its items stay readable through the open handle):
    /// material is single-use, since a second run would open values under
    /// the same masks. A run calls it once its parties have connected.
    pub fn consume(&self) -> Result<(), VmError> {
        std::fs::remove_file(&self.path).map_err(|e| io_error(&self.path, e))
    }

    fn bad(&self, what: &str) -> VmError {
        VmError::Usage(format!(
            "{} is not this run's preprocessed material: {what}",
            self.path.display()
        ))
    }

    fn bytes(&mut self, into: &mut [u8]) -> Result<(), VmError> {
        self.input.read_exact(into).map_err(|e| {
            VmError::Io(format!(
                "{}: the preprocessed material is cut short or unreadable: {e}",
                self.path.display()
            ))
        })
    }

    fn u32(&mut self) -> Result<u32, VmError> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, VmError> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Items not yet read.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// The next item, which must have `layout`'s parts.
    pub fn take(&mut self, layout: &Layout) -> Result<Item, VmError> {
        if self.left == 0 {
            return Err(self.bad("it ends before the program does"));
        }
        self.left -= 1;
        let (nr, nc) = (self.u32()? as usize, self.u32()? as usize);
        if (nr, nc) != (layout.random.len(), layout.correlated.len()) {
            return Err(self.bad("an item does not match the program"));
        }
        let mut part = |want: &(usize, Combine)| -> Result<Vec<u64>, VmError> {
            if self.u64()? != want.0 as u64 {
                return Err(self.bad("an item does not match the program"));
            }
            let mut words = vec![0u64; want.0];
            self.bytes(bytemuck::cast_slice_mut(&mut words))?;
            Ok(words)
        };
        let random = layout
            .random
            .iter()
            .map(&mut part)
            .collect::<Result<_, _>>()?;
        let correlated = layout
            .correlated
            .iter()
            .map(&mut part)
            .collect::<Result<_, _>>()?;
        Ok(Item { random, correlated })
    }

    /// Passes over the next `items` items, whatever their layout.
    pub fn skip(&mut self, items: u64) -> Result<(), VmError> {
        for _ in 0..items {
            if self.left == 0 {
                return Err(self.bad("it ends before the program does"));
            }
            self.left -= 1;
            let parts = self.u32()? as u64 + self.u32()? as u64;
            for _ in 0..parts {
                let len = self.u64()?;
                let bytes = len
                    .checked_mul(8)
                    .ok_or_else(|| self.bad("a malformed item"))?;
                let copied =
                    std::io::copy(&mut (&mut self.input).take(bytes), &mut std::io::sink())
                        .map_err(|e| io_error(&self.path, e))?;
                if copied != bytes {
                    return Err(self.bad("it ends before the program does"));
                }
            }
        }
        Ok(())
    }
}

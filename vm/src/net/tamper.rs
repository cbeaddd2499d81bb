//! The tamper harness (tests only): a party that corrupts what it sends.
//! Compiled only with the `tamper` feature, which only the test crate turns
//! on; nothing on the command line or in a file can set it, so a release run
//! never reaches it. The actively secure backends' tests run every kind of
//! tampering at chosen rounds and hold the honest parties to an abort or a
//! correct output.

use super::Part;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a cheating party does to one message (its words to one peer in one
/// round).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Flips one bit of one word.
    FlipBit,
    /// Adds a value to one word.
    Add,
    /// Sends the message it sent that peer in an earlier round instead.
    Replay,
    /// Sends nothing at all.
    Drop,
    /// Sends the message twice over.
    Duplicate,
    /// Leaves out the last word.
    Truncate,
    /// Flips a bit of the last word: in a round that checks, a digest.
    LieInDigest,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::FlipBit,
        Kind::Add,
        Kind::Replay,
        Kind::Drop,
        Kind::Duplicate,
        Kind::Truncate,
        Kind::LieInDigest,
    ];
}

/// One tampering: at network round `round` (the set-up's rounds counted),
/// to `peer` (or to every peer: the same lie to all, where one peer only is
/// telling different parties different things), do `kind`, at word `word`
/// (modulo the message's length) with `value`.
#[derive(Clone, Debug)]
pub struct Tampering {
    pub round: u64,
    pub peer: Option<usize>,
    pub kind: Kind,
    pub word: usize,
    pub value: u64,
    /// Set once the tampering changed a message (an empty message or a first
    /// round has nothing to flip or replay).
    pub applied: Arc<AtomicBool>,
}

/// A cheating party's side of the transport: the tampering, and each peer's
/// previous message (for replays).
pub struct Tamperer {
    tampering: Tampering,
    previous: Vec<Vec<u64>>,
}

impl Tamperer {
    pub fn new(tampering: Tampering) -> Tamperer {
        Tamperer {
            tampering,
            previous: Vec::new(),
        }
    }

    /// The message to `peer` in round `round` as it goes out, or `None` to
    /// send nothing.
    pub fn outgoing(&mut self, round: u64, peer: usize, parts: Vec<Part>) -> Option<Vec<Part>> {
        let words: Vec<u64> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        if self.previous.len() <= peer {
            self.previous.resize(peer + 1, Vec::new());
        }
        let earlier = std::mem::replace(&mut self.previous[peer], words.clone());
        let t = &self.tampering;
        if round != t.round || t.peer.is_some_and(|p| p != peer) {
            return Some(parts);
        }
        let mut words = words;
        let at = if words.is_empty() {
            0
        } else {
            t.word % words.len()
        };
        let changed = match t.kind {
            Kind::FlipBit if !words.is_empty() => {
                words[at] ^= 1 << (t.value % 64);
                true
            }
            Kind::Add if !words.is_empty() => {
                words[at] = words[at].wrapping_add(t.value | 1);
                true
            }
            Kind::Replay if earlier != words => {
                words = earlier;
                true
            }
            Kind::Drop => {
                t.applied.store(true, Ordering::SeqCst);
                return None;
            }
            Kind::Duplicate if !words.is_empty() => {
                words.extend_from_within(..);
                true
            }
            Kind::Truncate if !words.is_empty() => {
                words.pop();
                true
            }
            Kind::LieInDigest if !words.is_empty() => {
                let last = words.len() - 1;
                words[last] ^= 1 << (t.value % 64);
                true
            }
            _ => false,
        };
        if changed {
            t.applied.store(true, Ordering::SeqCst);
        }
        Some(vec![Arc::new(words)])
    }
}

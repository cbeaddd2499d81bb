//! Base OTs: Chou and Orlandi, "The Simplest Protocol for Oblivious
//! Transfer" (LATINCRYPT 2015), over the Ristretto255 group.
//!
//! The sender draws y and sends S = yG; for each choice bit c the receiver
//! draws x and sends R = cS + xG; the sender's keys are H(yR) and H(y(R - S)),
//! the receiver's H(xS), which equals the one it chose. The hash binds both
//! points, the OT's index and the direction, so keys of different OTs are
//! independent. Every party runs them with every peer in both directions at
//! once: two rounds in all.

use super::KAPPA;
use crate::net::{Network, Part};
use crate::VmError;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand::TryRngCore;
use std::sync::Arc;

/// Bytes each party sends each peer in the base OTs' two rounds: a point,
/// then `KAPPA` points.
pub const BYTES_PER_PEER: u64 = bytes_per_peer(KAPPA);

/// Rounds of the base OTs.
pub const ROUNDS: u64 = 2;

/// Bytes each party sends each peer in [`run_choosing`] of `count` OTs.
pub const fn bytes_per_peer(count: usize) -> u64 {
    32 * (1 + count as u64)
}

/// A key of a base OT (the seed of one column of the extension).
pub type Key = [u8; 16];

/// What one party holds after the base OTs with one peer.
pub struct BaseKeys {
    /// As the sender of `KAPPA` OTs (the extension's receiver): both keys of each.
    pub pairs: Vec<[Key; 2]>,
    /// As their receiver (the extension's sender): its choices and the keys it chose.
    pub choices: u128,
    pub chosen: Vec<Key>,
}

fn random_scalar() -> Result<Scalar, VmError> {
    let mut wide = [0u8; 64];
    rand::rngs::OsRng.try_fill_bytes(&mut wide).map_err(|e| {
        VmError::Usage(format!(
            "the operating system's random generator failed: {e}"
        ))
    })?;
    Ok(Scalar::from_bytes_mod_order_wide(&wide))
}

pub(crate) fn random_u128() -> Result<u128, VmError> {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| {
        VmError::Usage(format!(
            "the operating system's random generator failed: {e}"
        ))
    })?;
    Ok(u128::from_le_bytes(bytes))
}

fn to_words(p: &RistrettoPoint) -> Vec<u64> {
    bytemuck::cast_slice::<u8, u64>(p.compress().as_bytes()).to_vec()
}

fn from_words(words: &[u64], from: usize) -> Result<RistrettoPoint, VmError> {
    let bad = || {
        VmError::Network(format!(
            "party {from} sent an invalid group element in its base OTs"
        ))
    };
    let bytes: [u8; 32] = bytemuck::cast_slice::<u64, u8>(words)
        .try_into()
        .map_err(|_| bad())?;
    CompressedRistretto(bytes).decompress().ok_or_else(bad)
}

/// The key of OT `index` from `sender` to `receiver`, with sender point `s`,
/// receiver point `r` and the shared point `k`.
fn key(
    sender: usize,
    receiver: usize,
    index: usize,
    s: &RistrettoPoint,
    r: &RistrettoPoint,
    k: &RistrettoPoint,
) -> Key {
    let mut h = blake3::Hasher::new_derive_key("mpcc base OT v1");
    h.update(&(sender as u64).to_le_bytes());
    h.update(&(receiver as u64).to_le_bytes());
    h.update(&(index as u64).to_le_bytes());
    h.update(s.compress().as_bytes());
    h.update(r.compress().as_bytes());
    h.update(k.compress().as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// `KAPPA` base OTs with every other party of `net` (among its first
/// `parties` nodes) in both directions; this party's choices towards each peer
/// are fresh random bits. Returns each peer's keys (none for ourselves).
pub fn run(net: &mut Network, parties: usize) -> Result<Vec<Option<BaseKeys>>, VmError> {
    run_choosing(net, parties, KAPPA, &mut random_u128)
}

/// `count` (at most 128) base OTs with every other party in both
/// directions, this party choosing by the low `count` bits of `choose()`
/// towards each peer (called once per peer).
pub fn run_choosing(
    net: &mut Network,
    parties: usize,
    count: usize,
    choose: &mut dyn FnMut() -> Result<u128, VmError>,
) -> Result<Vec<Option<BaseKeys>>, VmError> {
    let me = net.party();
    let nodes = net.parties();
    let limit = net.frame_limit();
    net.limit_frames(limit.max(8 * 4 * count as u64));
    let keys = exchange_keys(net, me, nodes, parties, count, choose);
    net.limit_frames(limit);
    keys
}

fn exchange_keys(
    net: &mut Network,
    me: usize,
    nodes: usize,
    parties: usize,
    count: usize,
    choose: &mut dyn FnMut() -> Result<u128, VmError>,
) -> Result<Vec<Option<BaseKeys>>, VmError> {
    let peers = || (0..parties).filter(move |&p| p != me);
    // Round 1: our sender point to each peer.
    let mut ys = vec![None; parties];
    let mut out: Vec<Vec<Part>> = vec![Vec::new(); nodes];
    for p in peers() {
        let y = random_scalar()?;
        out[p].push(Arc::new(to_words(&(&y * RISTRETTO_BASEPOINT_TABLE))));
        ys[p] = Some(y);
    }
    let got = net.exchange(out).map_err(VmError::Network)?;
    // Round 2: our receiver points, choosing by random bits.
    let mut theirs = vec![None; parties];
    let mut xs = vec![Vec::new(); parties];
    let mut choices = vec![0u128; parties];
    let mut out: Vec<Vec<Part>> = vec![Vec::new(); nodes];
    for p in peers() {
        let s = from_words(&got[p], p)?;
        let c = choose()?;
        let mut words = Vec::with_capacity(4 * count);
        for l in 0..count {
            let x = random_scalar()?;
            let mut r = &x * RISTRETTO_BASEPOINT_TABLE;
            if c >> l & 1 == 1 {
                r += s;
            }
            words.extend(to_words(&r));
            xs[p].push((x, r));
        }
        out[p].push(Arc::new(words));
        theirs[p] = Some(s);
        choices[p] = c;
    }
    let got = net.exchange(out).map_err(VmError::Network)?;
    let mut keys: Vec<Option<BaseKeys>> = (0..parties).map(|_| None).collect();
    for p in peers() {
        if got[p].len() != 4 * count {
            return Err(VmError::Network(format!(
                "party {p} sent {} words in its base OTs, not {}",
                got[p].len(),
                4 * count
            )));
        }
        let y = ys[p].expect("a scalar per peer");
        let s = &y * RISTRETTO_BASEPOINT_TABLE;
        let mut pairs = Vec::with_capacity(count);
        for (l, words) in got[p].chunks(4).enumerate() {
            let r = from_words(words, p)?;
            pairs.push([
                key(me, p, l, &s, &r, &(y * r)),
                key(me, p, l, &s, &r, &(y * (r - s))),
            ]);
        }
        let s_peer = theirs[p].expect("a point per peer");
        let chosen = xs[p]
            .iter()
            .enumerate()
            .map(|(l, (x, r))| key(p, me, l, &s_peer, r, &(x * s_peer)))
            .collect();
        keys[p] = Some(BaseKeys {
            pairs,
            choices: choices[p],
            chosen,
        });
    }
    Ok(keys)
}

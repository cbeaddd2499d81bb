//! Authenticated multiplication triples by OT, checked by sacrifice (the
//! SPDZ2k paper's triple generation): each party draws its shares of a, b
//! and â; the cross terms a_i b_j and â_i b_j are Gilboa products in
//! Z_2^128 (`ot::Stage::send_wide_product`); a, b, â, c = ab and ĉ = âb are
//! authenticated by the VOLE ([`Vole::authenticate`], checked); then a
//! coin-tossed t in Z_2^64 per triple, ρ = t a - â is opened, σ = t c - ĉ -
//! ρ b must open to 0, and the MAC check of ρ and σ runs. A party that put
//! an error e into c passes only if t e equals its error in ĉ modulo 2^128
//! for a t it could not predict.
//!
//! Not yet used by the backend, and not yet actively secure as a whole: the
//! OT extension under it lacks its malicious consistency check (KOS /
//! SoftSpokenOT's), and a sender's selective failure in the Gilboa OTs can
//! leak bits of the receiver's b, which SPDZ2k and MASCOT remove by
//! combining several products with random coefficients. Both come before
//! the offline phase uses this.

use super::mac::{self, Auth, Opened};
use crate::backend::ot::vole::Vole;
use crate::backend::ot::{Pairwise, Stage};
use crate::backend::prf::Prf;
use crate::net::{Network, Part};
use crate::ring::{WideTensor, Word};
use crate::VmError;
use std::sync::Arc;

/// One message to each peer (this party's own entry empty), each peer's back.
fn exchange(net: &mut Network, out: Vec<Vec<u64>>) -> Result<Vec<Vec<u64>>, VmError> {
    let nodes = net.parties();
    let mut parts: Vec<Vec<Part>> = vec![Vec::new(); nodes];
    for (p, words) in out.into_iter().enumerate() {
        if !words.is_empty() {
            parts[p].push(Arc::new(words));
        }
    }
    net.exchange(parts).map_err(VmError::Network)
}

/// The same words to every other of the first `parties` nodes.
fn broadcast(
    net: &mut Network,
    me: usize,
    parties: usize,
    words: Vec<u64>,
) -> Result<Vec<Vec<u64>>, VmError> {
    let out = (0..parties)
        .map(|p| if p == me { Vec::new() } else { words.clone() })
        .collect();
    let mut got = exchange(net, out)?;
    got.truncate(parties);
    Ok(got)
}

/// `n` authenticated triples (a, b, c = ab) among the first `parties` nodes
/// of `net`, this party `me` with MAC key share in `vole`; `random` gives
/// fresh random words.
pub fn triples(
    n: usize,
    me: usize,
    parties: usize,
    net: &mut Network,
    ot: &mut Pairwise,
    vole: &mut Vole,
    random: &mut dyn FnMut(usize) -> Result<Vec<u64>, VmError>,
) -> Result<[Auth; 3], VmError> {
    let key: [u8; 16] = bytemuck::cast::<[u64; 2], [u8; 16]>([random(1)?[0], random(1)?[0]]);
    let mut draw = Prf::new(key);
    let mut wide = |n: usize| u128::from_words(&draw.elements(2 * n));
    let (a, b, a2) = (wide(n), wide(n), wide(n));
    // The cross terms: a_i b_j and â_i b_j with every peer j, both ways.
    let mut stage = Stage::new(parties);
    for p in (0..parties).filter(|&p| p != me) {
        for x in a.iter().chain(&a2) {
            stage.send_wide_product(p, *x);
        }
        for c in b.iter().chain(&b) {
            stage.receive_wide_product(p, *c);
        }
    }
    let out = ot.run(net, stage)?;
    let mut c: Vec<u128> = a.iter().zip(&b).map(|(a, b)| a.wrapping_mul(*b)).collect();
    let mut c2: Vec<u128> = a2.iter().zip(&b).map(|(a, b)| a.wrapping_mul(*b)).collect();
    for p in (0..parties).filter(|&p| p != me) {
        let terms = out.send_wide[p].iter().zip(&out.receive_wide[p]);
        for (k, (s, r)) in terms.enumerate() {
            let target = if k < n { &mut c[k] } else { &mut c2[k - n] };
            *target = target.wrapping_add(s.wrapping_add(*r));
        }
    }
    // Authenticate all five at once (one VOLE and its check).
    let values: Vec<u128> = [&a, &b, &a2, &c, &c2]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    let mut round = |out: Vec<Vec<u64>>| {
        exchange(net, out).map(|mut g| {
            g.truncate(parties);
            g
        })
    };
    let macs = vole.authenticate(me, &values, &mut round, random)?;
    let part = |k: usize| Auth {
        x: WideTensor::new(vec![n], values[k * n..(k + 1) * n].to_vec()),
        m: WideTensor::new(vec![n], macs[k * n..(k + 1) * n].to_vec()),
    };
    let [a, b, a2, c, c2] = [0, 1, 2, 3, 4].map(part);
    // The sacrifice.
    let mut toss = |words: Vec<u64>| broadcast(net, me, parties, words);
    let t = WideTensor::new(
        vec![n],
        mac::coins(me, n, &mut toss, random)?
            .into_iter()
            .map(u128::from)
            .collect(),
    );
    let rho = a.scale(&t).sub(&a2);
    let rho_open = open(net, me, parties, &rho)?;
    let mut opened = Opened::default();
    opened.add(&rho_open, &rho.m.data);
    let rho_public = WideTensor::new(vec![n], rho_open);
    let sigma = c.scale(&t).sub(&c2).sub(&b.scale(&rho_public));
    let sigma_open = open(net, me, parties, &sigma)?;
    opened.add(&sigma_open, &sigma.m.data);
    if let Some(k) = sigma_open.iter().position(|s| *s != 0) {
        return Err(VmError::Cheating(format!(
            "cheating detected by party {me}: triple {k} of {n} failed its sacrifice (a party put a wrong product into the preprocessing)"
        )));
    }
    let mut check = |words: Vec<u64>| broadcast(net, me, parties, words);
    mac::check(me, vole.alpha() as u128, &mut opened, &mut check, random)?;
    Ok([a, b, c])
}

/// Opens an authenticated value to every party (its MAC checked later).
fn open(net: &mut Network, me: usize, parties: usize, s: &Auth) -> Result<Vec<u128>, VmError> {
    let got = broadcast(net, me, parties, u128::to_words(&s.x.data))?;
    let mut sum = s.x.data.clone();
    for (p, words) in got.iter().enumerate().filter(|(p, _)| *p != me) {
        if words.len() != 2 * sum.len() {
            return Err(VmError::Cheating(format!(
                "party {p} opened {} words in the sacrifice, not {}: a protocol violation",
                words.len(),
                2 * sum.len()
            )));
        }
        for (s, v) in sum.iter_mut().zip(u128::from_words(words)) {
            *s = s.wrapping_add(v);
        }
    }
    Ok(sum)
}

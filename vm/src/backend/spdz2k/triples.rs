//! Authenticated triples by OT, checked by sacrifice (the SPDZ2k paper's
//! triple generation, after MASCOT's), for any bilinear product f: an
//! elementwise product, a matrix product, a convolution. For f(A, B) one
//! operand *sends* (S) and the other *receives* (R, whose bits choose in
//! the OTs), as [`Terms`] groups the product's scalar terms.
//!
//! 1. Each party draws its shares of S and of [`TAU`] candidates R_1..R_τ;
//!    every cross term S_i[s]·R_k,j[e] of every ordered pair of parties is
//!    a Gilboa product in Z_2^128 (`ot::Stage::send_wide_product`, over the
//!    checked OT extension).
//! 2. Coins r_k, r̂_k (per receiver element, for the candidates k ≥ 3)
//!    are tossed, and R = R_1 + Σ r_k R_k, R̂ = R_2 + Σ r̂_k R_k,
//!    C = f(S, R), Ĉ = f(S, R̂) follow by linearity. R_1 and R_2 keep R and
//!    R̂ uniform and independent whatever the coins (a coefficient of Z_2^128
//!    may be even: combinations with coins alone would leave R's low bits
//!    to the other parties' shares once in 2^τ). A sender that corrupts a
//!    correction of the OT for bit t makes the product wrong only if the
//!    receiver's bit t is 1, so the outcome of the check below leaks that
//!    bit of one candidate; the combination with coins the cheater cannot
//!    predict hides the high bits of R and R̂ as MASCOT's hides a field
//!    element, but in Z_2^128 bit j of R depends only on bits 0..j of the
//!    candidates: a cheater that is not caught by guessing bit 0 of R_1, R_3
//!    and R_4 (probability 2^-3) learns bit 0 of R. This is the open gap of
//!    this construction (see ARCHITECTURE.md).
//! 3. S, R, R̂, C and Ĉ are authenticated by the VOLE
//!    ([`crate::backend::ot::vole`], checked).
//! 4. The sacrifice: a coin t per triple, ρ = t R - R̂ is opened, then
//!    σ = t C - Ĉ - f(S, ρ) = t (C - f(S, R)) - (Ĉ - f(S, R̂)) must open to
//!    0; the MAC check of ρ and σ follows. A cheater's error E in C passes
//!    only if t E equals its error in Ĉ, for a t drawn after both: with
//!    probability at most 2^-64 where E is not 0 modulo 2^64.

use super::mac::Auth;
use super::offline::Session;
use crate::backend::ot::Stage;
use crate::backend::prep::terms::Terms;
use crate::ring::WideTensor;
use crate::VmError;
use std::rc::Rc;

/// Candidates per receiver element (τ).
pub const TAU: usize = 4;

/// Products in Z_2^128 a stage may queue with each peer in each direction:
/// 256 words of pads each, so a stage holds some 16 MB.
const STAGE_PRODUCTS: usize = 1 << 13;

/// A triple of a product's shape: its terms and its operands' sizes.
#[derive(Clone)]
pub struct TripleJob {
    pub terms: Rc<Terms>,
    /// Elements of the first operand (A), the second (B) and the product.
    pub na: usize,
    pub nb: usize,
    pub nc: usize,
}

impl TripleJob {
    /// `n` elementwise triples.
    pub fn elementwise(n: usize) -> TripleJob {
        TripleJob {
            terms: Rc::new(Terms::elementwise(n)),
            na: n,
            nb: n,
            nc: n,
        }
    }

    pub fn senders(&self) -> usize {
        if self.terms.receiver_is_a {
            self.nb
        } else {
            self.na
        }
    }
}

/// The receiver elements of one stage: per job, a range.
pub type Chunk = Vec<(usize, std::ops::Range<usize>)>;

/// The stages that make `jobs`: their receiver elements in order, cut where
/// a stage reaches [`STAGE_PRODUCTS`] products per peer and direction.
pub fn stages(jobs: &[TripleJob]) -> Vec<Chunk> {
    let mut all = Vec::new();
    let mut chunk: Chunk = Vec::new();
    let mut products = 0usize;
    for (j, job) in jobs.iter().enumerate() {
        let terms = &job.terms;
        let mut start = 0;
        for e in 0..terms.receivers() {
            products += TAU * terms.count(e..e + 1);
            if products >= STAGE_PRODUCTS {
                chunk.push((j, start..e + 1));
                all.push(std::mem::take(&mut chunk));
                (start, products) = (e + 1, 0);
            }
        }
        if start < terms.receivers() {
            chunk.push((j, start..terms.receivers()));
        }
    }
    if !chunk.is_empty() {
        all.push(chunk);
    }
    all
}

/// Products in Z_2^128 a stage of `chunk` runs with each peer in each
/// direction.
pub fn stage_products(jobs: &[TripleJob], chunk: &Chunk) -> usize {
    chunk
        .iter()
        .map(|(j, range)| TAU * jobs[*j].terms.count(range.clone()))
        .sum()
}

/// This party's unauthenticated shares of a triple and its sacrificed twin
/// while they are made: S, R, R̂, C, Ĉ.
struct Raw {
    s: Vec<u128>,
    r: Vec<u128>,
    r_hat: Vec<u128>,
    c: Vec<u128>,
    c_hat: Vec<u128>,
}

/// The weights of R and R̂ over the candidates: R = R_1 + Σ_k≥3 r_k R_k,
/// R̂ = R_2 + Σ_k≥3 r̂_k R_k, the r_k and r̂_k from `coins`.
fn weights(coins: &mut impl Iterator<Item = u128>) -> ([u128; TAU], [u128; TAU]) {
    let mut draw = |first: usize| {
        let mut w = [0u128; TAU];
        w[first] = 1;
        for c in &mut w[2..] {
            *c = coins.next().expect("coins");
        }
        w
    };
    (draw(0), draw(1))
}

/// f(S, v) for public v of the receiver's size, on x and MAC shares.
fn times_public(terms: &Terms, s: &Auth, v: &[u128], nc: usize) -> Auth {
    let apply = |shares: &[u128]| {
        let mut out = vec![0u128; nc];
        for (e, v) in v.iter().enumerate() {
            let (outs, senders) = terms.of_element(e);
            for (o, k) in outs.iter().zip(senders) {
                out[*o as usize] =
                    out[*o as usize].wrapping_add(shares[*k as usize].wrapping_mul(*v));
            }
        }
        WideTensor::new(vec![nc], out)
    };
    Auth {
        x: apply(&s.x.data),
        m: apply(&s.m.data),
    }
}

impl Session<'_> {
    /// Authenticated triples (A, B, C = f(A, B)) of `jobs`, flat, in
    /// operand order; `report` is told the receiver elements done of all.
    pub fn triples(
        &mut self,
        jobs: &[TripleJob],
        report: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<[Auth; 3]>, VmError> {
        if jobs.iter().all(|j| j.terms.receivers() == 0) {
            let empty = || Auth::concat(&[]);
            return Ok(jobs.iter().map(|_| [empty(), empty(), empty()]).collect());
        }
        let mut raws: Vec<Raw> = Vec::with_capacity(jobs.len());
        for job in jobs {
            let nr = job.terms.receivers();
            raws.push(Raw {
                s: self.draw_wide(job.senders()),
                r: Vec::with_capacity(nr),
                r_hat: Vec::with_capacity(nr),
                c: vec![0; job.nc],
                c_hat: vec![0; job.nc],
            });
        }
        let total: u64 = jobs.iter().map(|j| j.terms.receivers() as u64).sum();
        let mut done = 0u64;
        for chunk in stages(jobs) {
            self.stage(jobs, &mut raws, &chunk)?;
            done += chunk.iter().map(|(_, r)| r.len() as u64).sum::<u64>();
            report(done, total);
        }
        // Authenticate everything at once, then sacrifice.
        let mut values = Vec::new();
        for raw in &raws {
            for part in [&raw.s, &raw.r, &raw.r_hat, &raw.c, &raw.c_hat] {
                values.extend_from_slice(part);
            }
        }
        let macs = self.authenticate(None, &values)?;
        let mut at = 0;
        let mut take = |n: usize| {
            at += n;
            Auth {
                x: WideTensor::new(vec![n], values[at - n..at].to_vec()),
                m: WideTensor::new(vec![n], macs[at - n..at].to_vec()),
            }
        };
        let parts: Vec<[Auth; 5]> = raws
            .iter()
            .map(|raw| {
                [
                    raw.s.len(),
                    raw.r.len(),
                    raw.r.len(),
                    raw.c.len(),
                    raw.c.len(),
                ]
                .map(&mut take)
            })
            .collect();
        self.sacrifice(jobs, &parts)?;
        Ok(jobs
            .iter()
            .zip(parts)
            .map(|(job, [s, r, _, c, _])| {
                if job.terms.receiver_is_a {
                    [r, s, c]
                } else {
                    [s, r, c]
                }
            })
            .collect())
    }

    /// One stage: the cross terms of the receiver elements `chunk` (per
    /// job, a range), then their coins and combinations.
    fn stage(
        &mut self,
        jobs: &[TripleJob],
        raws: &mut [Raw],
        chunk: &Chunk,
    ) -> Result<(), VmError> {
        let (me, parties) = (self.me, self.parties);
        // This party's candidates for the chunk's receiver elements.
        let candidates: Vec<Vec<u128>> = chunk
            .iter()
            .map(|(_, range)| self.draw_wide(TAU * range.len()))
            .collect();
        let mut stage = Stage::new(parties);
        for p in (0..parties).filter(|&p| p != me) {
            for ((j, range), cands) in chunk.iter().zip(&candidates) {
                let (terms, s) = (&jobs[*j].terms, &raws[*j].s);
                for (i, e) in range.clone().enumerate() {
                    let (_, senders) = terms.of_element(e);
                    for k in 0..TAU {
                        let r = cands[TAU * i + k];
                        for from in senders {
                            stage.send_wide_product(p, s[*from as usize]);
                            stage.receive_wide_product(p, r);
                        }
                    }
                }
            }
        }
        let out = self.ot.run(self.net, stage)?;
        let coins =
            self.coins(2 * (TAU - 2) * chunk.iter().map(|(_, r)| r.len()).sum::<usize>())?;
        let mut coin = coins.into_iter().map(u128::from);
        // Per peer, where its shares of the next term are.
        let mut at = vec![0usize; parties];
        for ((j, range), cands) in chunk.iter().zip(&candidates) {
            let (terms, raw) = (&jobs[*j].terms, &mut raws[*j]);
            for (i, e) in range.clone().enumerate() {
                let (outs, senders) = terms.of_element(e);
                let (r, r_hat) = weights(&mut coin);
                let cands = &cands[TAU * i..TAU * (i + 1)];
                let combine = |w: &[u128; TAU]| {
                    (0..TAU).fold(0u128, |a, k| a.wrapping_add(w[k].wrapping_mul(cands[k])))
                };
                raw.r.push(combine(&r));
                raw.r_hat.push(combine(&r_hat));
                for k in 0..TAU {
                    for (o, from) in outs.iter().zip(senders) {
                        // Own term, then each peer's shares both ways.
                        let mut term = raw.s[*from as usize].wrapping_mul(cands[k]);
                        for p in (0..parties).filter(|&p| p != me) {
                            let q = at[p];
                            term = term
                                .wrapping_add(out.send_wide[p][q])
                                .wrapping_add(out.receive_wide[p][q]);
                            at[p] += 1;
                        }
                        let o = *o as usize;
                        raw.c[o] = raw.c[o].wrapping_add(r[k].wrapping_mul(term));
                        raw.c_hat[o] = raw.c_hat[o].wrapping_add(r_hat[k].wrapping_mul(term));
                    }
                }
            }
        }
        Ok(())
    }

    /// The sacrifice of every job's twin ([S, R, R̂, C, Ĉ] authenticated):
    /// two openings, the MAC check of both.
    fn sacrifice(&mut self, jobs: &[TripleJob], parts: &[[Auth; 5]]) -> Result<(), VmError> {
        let t: Vec<WideTensor> = self
            .coins(jobs.len())?
            .into_iter()
            .map(|t| WideTensor::new(vec![1], vec![t as u128]))
            .collect();
        let rhos: Vec<Auth> = parts
            .iter()
            .zip(&t)
            .map(|([_, r, r_hat, _, _], t)| r.scale(t).sub(r_hat))
            .collect();
        let rho = self.open(&Auth::concat(&rhos.iter().collect::<Vec<_>>()))?;
        let mut at = 0;
        let mut sigmas = Vec::with_capacity(jobs.len());
        for ((job, [s, r, _, c, c_hat]), t) in jobs.iter().zip(parts).zip(&t) {
            let rho = &rho[at..at + r.x.len()];
            at += r.x.len();
            sigmas.push(
                c.scale(t)
                    .sub(c_hat)
                    .sub(&times_public(&job.terms, s, rho, job.nc)),
            );
        }
        let sigma = self.open(&Auth::concat(&sigmas.iter().collect::<Vec<_>>()))?;
        if let Some(k) = sigma.iter().position(|s| *s != 0) {
            return Err(VmError::Cheating(format!(
                "cheating detected by party {}: value {k} of {} failed the sacrifice of the triples (a party put a wrong product into the preprocessing)",
                self.me,
                sigma.len()
            )));
        }
        self.check_macs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R and R̂ are uniform and independent when the candidates are,
    /// whatever the coins: their weights are independent modulo 2 (so the
    /// map from the candidates onto (R, R̂) is onto). Weights that were the
    /// coins alone lost this whenever all of R's coins were even, which left
    /// R's low bit to the other parties' shares.
    #[test]
    fn the_combinations_stay_uniform_whatever_the_coins() {
        for coins in [[0u128; 4], [2, 4, 6, 8], [1, 1, 1, 1], [u128::MAX, 3, 2, 0]] {
            let (r, r_hat) = weights(&mut coins.into_iter());
            let odd = |w: &[u128; TAU]| w.map(|c| c & 1);
            let (a, b) = (odd(&r), odd(&r_hat));
            // Rank 2 over GF(2): neither row zero, the rows different.
            assert!(a.contains(&1) && b.contains(&1) && a != b, "{coins:?}");
        }
    }
}

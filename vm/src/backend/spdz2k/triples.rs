//! Authenticated triples by OT, checked by sacrifice (the SPDZ2k paper's
//! triple generation, after MASCOT's), for any bilinear product f: an
//! elementwise product, a matrix product, a convolution. For f(A, B) one
//! operand *sends* (S) and the other *receives* (R), as [`Terms`] groups
//! the product's scalar terms.
//!
//! 1. Each party draws its shares of S and [`TAU`] random choice bits
//!    b_1..b_τ per receiver element; for every ordered pair of parties and
//!    every bit, a wide OT (`ot::Stage::send_wide`, over the checked
//!    extension) shares b_t times the sender's shares of the element's
//!    sender operands (one value per term).
//! 2. Weights w_t, ŵ_t of Z_2^128 per element and bit are drawn from coins
//!    tossed after the OTs, and R = Σ w_t b_t, R̂ = Σ ŵ_t b_t, C = f(S, R),
//!    Ĉ = f(S, R̂) follow by linearity (b_t summed over the parties).
//! 3. S, R, R̂, C and Ĉ are authenticated by the VOLE
//!    ([`crate::backend::ot::vole`], checked).
//! 4. The sacrifice: a coin t per triple, ρ = t R - R̂ is opened, then
//!    σ = t C - Ĉ - f(S, ρ) = t (C - f(S, R)) - (Ĉ - f(S, R̂)) must open to
//!    0; the MAC check of ρ and σ follows. A cheater's error E in C passes
//!    only if t E equals its error in Ĉ, for a t drawn after both: with
//!    probability at most 2^-64 where E is not 0 modulo 2^64.
//!
//! Why τ = 384 (= 2(k + s) + 2s, MP-SPDZ's value for k = s = 64): a sender
//! that corrupts the correction of OT t makes the product wrong exactly when
//! the receiver's b_t is 1, so the sacrifice's outcome tells it that bit (a
//! *selective failure*). Learning ℓ bits this way goes unnoticed with
//! probability 2^-ℓ. The map b ↦ (R, R̂) with weights drawn after the OTs is
//! a universal hash onto Z_2^256 (two choice vectors differ in some b_t,
//! whose coefficient ±1 is a unit of the ring, so they collide with
//! probability 2^-256), and by the leftover hash lemma the τ - ℓ bits the
//! cheater does not know leave (R, R̂) within 2^-(τ - ℓ - 256)/2 of uniform.
//! Whatever ℓ the cheater aims for, its advantage is at most
//! 2^-ℓ · 2^-(τ - ℓ - 256)/2 ≤ 2^-(τ - 256)/2 = 2^-64. (Combining a few
//! whole candidates of Z_2^128 with coins, as MASCOT does in a field, does
//! not do this in the ring: bit j of such a combination depends only on
//! bits 0..j of the candidates, so guessing the few low bits reveals it.)

use super::mac::Auth;
use super::offline::Session;
use crate::backend::ot::Stage;
use crate::backend::prep::terms::Terms;
use crate::ring::WideTensor;
use crate::VmError;
use std::rc::Rc;

/// Random choice bits per receiver element (τ): see the module's docs.
pub const TAU: usize = 384;

/// Words of τ bits.
const TAU_WORDS: usize = TAU / 64;

/// Values of Z_2^128 a stage's wide OTs may carry with each peer in each
/// direction (τ per term of the stage's receiver elements): two words of
/// pads each, so a stage holds some 32 MB of them.
const STAGE_VALUES: usize = 1 << 21;

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
/// a stage reaches [`STAGE_VALUES`] values per peer and direction.
pub fn stages(jobs: &[TripleJob]) -> Vec<Chunk> {
    let mut all = Vec::new();
    let mut chunk: Chunk = Vec::new();
    let mut values = 0usize;
    for (j, job) in jobs.iter().enumerate() {
        let terms = &job.terms;
        let mut start = 0;
        for e in 0..terms.receivers() {
            values += TAU * terms.count(e..e + 1);
            if values >= STAGE_VALUES {
                chunk.push((j, start..e + 1));
                all.push(std::mem::take(&mut chunk));
                (start, values) = (e + 1, 0);
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

/// A stage of `chunk`'s wide OTs and their values of Z_2^128, with each
/// peer in each direction.
pub fn stage_size(jobs: &[TripleJob], chunk: &Chunk) -> (usize, usize) {
    let (mut ots, mut values) = (0, 0);
    for (j, range) in chunk {
        ots += TAU * range.len();
        values += TAU * jobs[*j].terms.count(range.clone());
    }
    (ots, values)
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

/// Σ_t w_t b_t: the weights of the set bits of `bits` (τ of them) summed.
fn combine(weights: &[u128], bits: &[u64]) -> u128 {
    weights.iter().enumerate().fold(0u128, |sum, (t, w)| {
        let chosen = 0u128.wrapping_sub((bits[t / 64] >> (t % 64) & 1) as u128);
        sum.wrapping_add(w & chosen)
    })
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

    /// One stage: the wide OTs of the receiver elements `chunk` (per job, a
    /// range), then their weights and combinations.
    fn stage(
        &mut self,
        jobs: &[TripleJob],
        raws: &mut [Raw],
        chunk: &Chunk,
    ) -> Result<(), VmError> {
        let (me, parties) = (self.me, self.parties);
        // This party's choice bits for the chunk's receiver elements.
        let bits: Vec<Vec<u64>> = chunk
            .iter()
            .map(|(_, range)| self.rng.elements(TAU_WORDS * range.len()))
            .collect();
        let mut stage = Stage::new(parties);
        let mut message = Vec::new();
        for p in (0..parties).filter(|&p| p != me) {
            for ((j, range), bits) in chunk.iter().zip(&bits) {
                let (terms, s) = (&jobs[*j].terms, &raws[*j].s);
                for (i, e) in range.clone().enumerate() {
                    let (_, senders) = terms.of_element(e);
                    message.clear();
                    message.extend(senders.iter().map(|from| s[*from as usize]));
                    stage.send_wide(p, &message, TAU);
                    let bits = &bits[TAU_WORDS * i..TAU_WORDS * (i + 1)];
                    stage.receive_wide(p, bits, TAU, senders.len());
                }
            }
        }
        let out = self.ot.run(self.net, stage)?;
        let mut weights = self.coin_stream()?;
        let (mut w, mut w_hat) = (vec![0u128; TAU], vec![0u128; TAU]);
        // Per peer, where its shares of the next OT are.
        let mut at = vec![0usize; parties];
        // Per term of an element, per bit: the peers' shares summed.
        let mut cross = Vec::new();
        for ((j, range), bits) in chunk.iter().zip(&bits) {
            let (terms, raw) = (&jobs[*j].terms, &mut raws[*j]);
            for (i, e) in range.clone().enumerate() {
                let (outs, senders) = terms.of_element(e);
                let bits = &bits[TAU_WORDS * i..TAU_WORDS * (i + 1)];
                weights.fill_wide(&mut w);
                weights.fill_wide(&mut w_hat);
                let (r, r_hat) = (combine(&w, bits), combine(&w_hat, bits));
                raw.r.push(r);
                raw.r_hat.push(r_hat);
                let n = senders.len();
                cross.clear();
                cross.resize(TAU * n, 0u128);
                for p in (0..parties).filter(|&p| p != me) {
                    let q = at[p];
                    let (sent, got) = (
                        &out.send_wide[p][q..q + TAU * n],
                        &out.receive_wide[p][q..q + TAU * n],
                    );
                    for ((c, s), g) in cross.iter_mut().zip(sent).zip(got) {
                        *c = c.wrapping_add(s.wrapping_add(*g));
                    }
                    at[p] += TAU * n;
                }
                for (k, (o, from)) in outs.iter().zip(senders).enumerate() {
                    // Own term: this party's S times its R (and R̂).
                    let s = raw.s[*from as usize];
                    let (mut c, mut c_hat) = (s.wrapping_mul(r), s.wrapping_mul(r_hat));
                    for t in 0..TAU {
                        let x = cross[t * n + k];
                        c = c.wrapping_add(w[t].wrapping_mul(x));
                        c_hat = c_hat.wrapping_add(w_hat[t].wrapping_mul(x));
                    }
                    let o = *o as usize;
                    raw.c[o] = raw.c[o].wrapping_add(c);
                    raw.c_hat[o] = raw.c_hat[o].wrapping_add(c_hat);
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
    use crate::backend::prf::Prf;

    /// What a sender's selective failure may reveal stays hidden: knowing
    /// 64 of a receiver's τ choice bits (the most a cheater learns and goes
    /// unnoticed with probability 2^-64) leaves the low bits of R and R̂ to
    /// the others, whose coefficients modulo 2 form a matrix of full rank
    /// (modulo 2 the combination is linear). The four candidates of the
    /// earlier construction failed this: R's bit 0 depended on three bits.
    #[test]
    fn the_unknown_choice_bits_decide_the_low_bits_of_both_masks() {
        let mut prf = Prf::new([7; 16]);
        let (mut w, mut w_hat) = (vec![0u128; TAU], vec![0u128; TAU]);
        for trial in 0..100 {
            prf.fill_wide(&mut w);
            prf.fill_wide(&mut w_hat);
            // The cheater knows bits trial.., trial + 64 (any 64 would do).
            let unknown = (0..TAU).filter(|t| !(trial..trial + 64).contains(t));
            let rows: Vec<u8> = unknown
                .map(|t| (w[t] & 1) as u8 | ((w_hat[t] & 1) as u8) << 1)
                .collect();
            // Rank 2 over GF(2): two different nonzero rows.
            let nonzero: std::collections::BTreeSet<u8> =
                rows.into_iter().filter(|r| *r != 0).collect();
            assert!(nonzero.len() >= 2, "trial {trial}");
            // And the combination is what the OTs' shares add up to.
            let bits = prf.elements(TAU_WORDS);
            let direct = (0..TAU).fold(0u128, |a, t| {
                a.wrapping_add(w[t].wrapping_mul((bits[t / 64] >> (t % 64) & 1) as u128))
            });
            assert_eq!(combine(&w, &bits), direct);
        }
    }
}

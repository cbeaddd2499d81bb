//! Vector OLE over Z_2^128 with the MAC key shares: how spdz2k's
//! preprocessing authenticates shares (the SPDZ2k paper's Π_Auth, after
//! MASCOT's). Each party j holds alpha_j in Z_2^64 and receives 64 base OTs
//! from every peer i with alpha_j's bits as its choices (`setup`); i keeps
//! both keys of each, j the chosen ones. Afterwards, for a vector x of i's,
//! i sends d_t = G(k_t0) - G(k_t1) + x for each bit t (G: the key's stream
//! of Z_2^128), and j computes G(k_{t,alpha_t}) + alpha_t d_t =
//! G(k_t0) + alpha_t x; weighted by 2^t and summed, i holds
//! -sum_t 2^t G(k_t0) and j that plus alpha_j x: shares of alpha_j x.
//!
//! [`Vole::authenticate`] does this for every pair at once: every party
//! contributes a vector x_i (its share of a value, or zeros), and each gets
//! its share of alpha * sum_i x_i (its own alpha_i x_i included). 64
//! corrections of 16 bytes per element to each peer, one round.
//!
//! A party may send corrections of different x per bit t; the MAC its peer
//! computes is then wrong by an amount that depends on the peer's key bits.
//! The check of SPDZ2k's Π_Auth catches it: a MAC check of a random
//! combination of each party's vector, masked by one more random element,
//! which passes only where the cheater guessed the key bits its lie bets on
//! (a wrong guess is an abort).

use super::base::{self, Key};
use crate::backend::prf::Prf;
use crate::backend::spdz2k::mac;
use crate::net::Network;
use crate::ring::Word;
use crate::VmError;

/// Bits of a MAC key share (s).
pub const KEY_BITS: usize = 64;

/// One party's ends of the VOLEs with every peer.
pub struct Vole {
    alpha: u64,
    /// Per peer, as the holder of values: both keys' streams, per key bit.
    holder: Vec<Option<Vec<[Prf; 2]>>>,
    /// Per peer, as the holder of the MAC key: the chosen key's stream, per
    /// key bit.
    keyed: Vec<Option<Vec<Prf>>>,
}

fn stream(key: &Key) -> Prf {
    Prf::new(*key)
}

/// The next `n` elements of Z_2^128 of a key's stream.
fn draw(prf: &mut Prf, n: usize) -> Vec<u128> {
    u128::from_words(&prf.elements(2 * n))
}

impl Vole {
    /// Base OTs with every other party of `net`'s first `parties` in both
    /// directions, choosing by the bits of `alpha` (two rounds).
    pub fn setup(net: &mut Network, parties: usize, alpha: u64) -> Result<Vole, VmError> {
        let keys = base::run_choosing(net, parties, KEY_BITS, &mut || Ok(alpha as u128))?;
        let mut holder = Vec::with_capacity(parties);
        let mut keyed = Vec::with_capacity(parties);
        for k in keys {
            match k {
                Some(k) => {
                    holder.push(Some(
                        k.pairs
                            .iter()
                            .map(|[k0, k1]| [stream(k0), stream(k1)])
                            .collect(),
                    ));
                    keyed.push(Some(k.chosen.iter().map(stream).collect()));
                }
                None => {
                    holder.push(None);
                    keyed.push(None);
                }
            }
        }
        Ok(Vole {
            alpha,
            holder,
            keyed,
        })
    }

    /// Rounds and words to each peer of [`Vole::authenticate`] of `n`
    /// values by a party that contributes (or not): the corrections (64 of
    /// two words per value, and the mask element's), a coin toss, the
    /// combination, a MAC check.
    pub fn authenticate_cost(n: usize, contributes: bool) -> (u64, u64) {
        let own = if contributes {
            (KEY_BITS * 2 * (n + 1)) as u64 + 2
        } else {
            0
        };
        (
            1 + mac::COINS_ROUNDS + 1 + mac::CHECK_ROUNDS,
            own + mac::COINS_WORDS + mac::CHECK_WORDS,
        )
    }

    pub fn alpha(&self) -> u64 {
        self.alpha
    }

    /// This party's MAC shares of sum_i x_i, elementwise, where `x` is
    /// this party's vector and every peer contributes one of the same
    /// length (with `owner`, only that party contributes: the others' x
    /// are zeros and they send nothing), checked: each contributing party
    /// adds a random element to its vector, and after the corrections (one
    /// round through `round`: a message to each peer, each peer's back,
    /// this party's own entries empty) coefficients chi are tossed, each
    /// contributing party announces y_i = its mask + sum_l chi_l x_il, and
    /// the MACs of the y_i are checked ([`mac::check`]): 1 + 2 + 1 + 4
    /// rounds. `random` gives fresh random words.
    pub fn authenticate(
        &mut self,
        me: usize,
        owner: Option<usize>,
        x: &[u128],
        round: &mut dyn FnMut(Vec<Vec<u64>>) -> Result<Vec<Vec<u64>>, VmError>,
        random: &mut dyn FnMut(usize) -> Result<Vec<u64>, VmError>,
    ) -> Result<Vec<u128>, VmError> {
        let n = x.len();
        let mut masked = x.to_vec();
        masked.push(u128::from_words(&random(2)?)[0]);
        let each = self.macs_of_each(me, &masked, owner, round)?;
        let contributes = |p: usize| owner.is_none_or(|o| o == p);
        let parties = each.len();
        let mut broadcast = |words: Vec<u64>| -> Result<Vec<Vec<u64>>, VmError> {
            let out = (0..parties)
                .map(|p| if p == me { Vec::new() } else { words.clone() })
                .collect();
            round(out)
        };
        let chi = mac::coins(me, n, &mut broadcast, random)?;
        let combine = |v: &[u128]| -> u128 {
            chi.iter().zip(v).fold(v[n], |acc, (c, v)| {
                acc.wrapping_add((*c as u128).wrapping_mul(*v))
            })
        };
        let announced = if contributes(me) {
            u128::to_words(&[combine(&masked)])
        } else {
            Vec::new()
        };
        let got = broadcast(announced)?;
        let mut opened = mac::Opened::default();
        for (p, macs) in each.iter().enumerate().filter(|(p, _)| contributes(*p)) {
            let y = if p == me {
                combine(&masked)
            } else {
                match got[p].as_slice() {
                    [lo, hi] => u128::from_words(&[*lo, *hi])[0],
                    _ => {
                        return Err(VmError::Cheating(format!(
                            "party {p} announced a combination of the wrong length in the check of its authenticated values: a protocol violation"
                        )))
                    }
                }
            };
            opened.add(&[y], &[combine(macs)]);
        }
        // (No bits: the binary key plays no part.)
        let keyed = mac::Keyed {
            me,
            alpha_i: self.alpha as u128,
            delta_i: 0,
        };
        mac::check(&keyed, &mut opened, &mut broadcast, random)?;
        let mut sum = vec![0u128; n];
        for macs in &each {
            for (s, m) in sum.iter_mut().zip(macs) {
                *s = s.wrapping_add(*m);
            }
        }
        Ok(sum)
    }

    /// This party's shares of alpha x_i for each party i's vector x_i (its
    /// own `x`), in one round: the corrections of `x` to each peer, and the
    /// peers' corrections of theirs (with `owner`, the owner's only: the
    /// others' shares are zeros).
    fn macs_of_each(
        &mut self,
        me: usize,
        x: &[u128],
        owner: Option<usize>,
        round: &mut dyn FnMut(Vec<Vec<u64>>) -> Result<Vec<Vec<u64>>, VmError>,
    ) -> Result<Vec<Vec<u128>>, VmError> {
        let n = x.len();
        let alpha = self.alpha as u128;
        let parties = self.holder.len();
        let contributes = |p: usize| owner.is_none_or(|o| o == p);
        let mut each = vec![vec![0u128; n]; parties];
        let mut own: Vec<u128> = x.iter().map(|v| v.wrapping_mul(alpha)).collect();
        let mut out = vec![Vec::new(); parties];
        for (peer, streams) in self.holder.iter_mut().enumerate() {
            let Some(streams) = streams else { continue };
            if !contributes(me) {
                continue;
            }
            let mut words = Vec::with_capacity(KEY_BITS * 2 * n);
            for (t, [s0, s1]) in streams.iter_mut().enumerate() {
                let (g0, g1) = (draw(s0, n), draw(s1, n));
                let d: Vec<u128> = g0
                    .iter()
                    .zip(&g1)
                    .zip(x)
                    .map(|((a, b), x)| a.wrapping_sub(*b).wrapping_add(*x))
                    .collect();
                words.extend(u128::to_words(&d));
                for (m, g) in own.iter_mut().zip(&g0) {
                    *m = m.wrapping_sub(g.wrapping_shl(t as u32));
                }
            }
            out[peer] = words;
        }
        let got = round(out)?;
        for (peer, streams) in self.keyed.iter_mut().enumerate() {
            let Some(streams) = streams else {
                if contributes(me) {
                    each[peer] = std::mem::take(&mut own);
                }
                continue;
            };
            if !contributes(peer) {
                continue;
            }
            let words = got.get(peer).map(Vec::as_slice).unwrap_or(&[]);
            if words.len() != KEY_BITS * 2 * n {
                return Err(VmError::Cheating(format!(
                    "party {peer} sent {} words of corrections for {n} values, not {}: a protocol violation",
                    words.len(),
                    KEY_BITS * 2 * n
                )));
            }
            let mut macs = vec![0u128; n];
            for (t, (s, d)) in streams.iter_mut().zip(words.chunks(2 * n)).enumerate() {
                let g = draw(s, n);
                let d = u128::from_words(d);
                let chose = self.alpha >> t & 1 == 1;
                for ((m, g), d) in macs.iter_mut().zip(&g).zip(&d) {
                    let w = if chose { g.wrapping_add(*d) } else { *g };
                    *m = m.wrapping_add(w.wrapping_shl(t as u32));
                }
            }
            each[peer] = macs;
        }
        Ok(each)
    }
}

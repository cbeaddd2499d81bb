//! daBits: random bits held both ways, as an authenticated value of
//! Z_2^128 that is 0 or 1 and as a binary share; what turns a binary result
//! (a comparison's) into an arithmetic one.
//!
//! Each party inputs random bits in both domains: arithmetically (VOLE, the
//! owner alone contributing) and in binary ([`Session::input_bits`]). The
//! arithmetic ones are XORed by Beaver products and checked to be bits
//! ([`Session::bits`]: y^2 - y opened to 0); the binary ones XOR for free.
//! That each owner input the same bits both ways is checked modulo 2 by 64
//! random subsets: for subset c, S_c = Σ_j χ_cj a_j + λ_c + 2 ρ_c is opened
//! and must agree modulo 2 with s_c = ⊕_j χ_cj b_j ⊕ λ_c opened in binary
//! (λ_c one more bit of the owner's, input both ways and discarded, hides
//! the subset's parity; ρ_c, uniform, hides S_c's higher bits). An owner
//! whose inputs differ anywhere fails each subset with probability 1/2.

use super::{bit, pack, Bits};
use crate::backend::spdz2k::mac::Auth;
use crate::backend::spdz2k::offline::Session;
use crate::ring::WideTensor;
use crate::VmError;

/// Random subsets per owner in the consistency check.
pub const SUBSETS: usize = 64;

impl Session<'_> {
    /// `n` daBits: the arithmetic bits and the same bits in binary, with
    /// `parties` elementwise triples of `n` for the XORs and the check.
    pub fn da_bits(&mut self, n: usize, triples: &[[Auth; 3]]) -> Result<(Auth, Bits), VmError> {
        let (me, parties) = (self.me, self.parties);
        let total = n + SUBSETS;
        // Every owner's bits (its λs last), both ways.
        let mut arith = Vec::with_capacity(parties);
        let mut binary = Vec::with_capacity(parties);
        for owner in 0..parties {
            let mine = self.rng.elements(total.div_ceil(64));
            let values: Vec<u128> = (0..total)
                .map(|k| {
                    if me == owner {
                        bit(&mine, k) as u128
                    } else {
                        0
                    }
                })
                .collect();
            let macs = self.authenticate(Some(owner), &values)?;
            arith.push(Auth {
                x: WideTensor::new(vec![total], values),
                m: WideTensor::new(vec![total], macs),
            });
            binary.push(self.input_bits(owner, &pack(total, |k| bit(&mine, k)), total)?);
        }
        let rho_shares = self.draw_wide(parties * SUBSETS);
        let rho_macs = self.authenticate(None, &rho_shares)?;
        let rho = Auth {
            x: WideTensor::new(vec![parties * SUBSETS], rho_shares),
            m: WideTensor::new(vec![parties * SUBSETS], rho_macs),
        };
        // The subsets, per owner and check.
        let mut coins = self.coin_stream()?;
        let (mut sums, mut parities) = (Vec::new(), Vec::new());
        for owner in 0..parties {
            for c in 0..SUBSETS {
                let chi = coins.elements(n.div_ceil(64));
                let chi = pack(n, |j| bit(&chi, j));
                let (a, b) = (&arith[owner], &binary[owner]);
                let chosen: Vec<usize> = (0..n).filter(|&j| bit(&chi, j)).chain([n + c]).collect();
                let sum = |t: &WideTensor| {
                    let s = chosen.iter().fold(0u128, |s, j| s.wrapping_add(t.data[*j]));
                    WideTensor::new(vec![1], vec![s])
                };
                let sum = Auth {
                    x: sum(&a.x),
                    m: sum(&a.m),
                };
                let xor = |v: &[u128]| -> Vec<u128> {
                    if v.is_empty() {
                        Vec::new()
                    } else {
                        vec![chosen.iter().fold(0u128, |s, j| s ^ v[*j])]
                    }
                };
                let parity = Bits {
                    n: 1,
                    x: vec![chosen.iter().fold(0u64, |s, j| s ^ bit(&b.x, *j) as u64)],
                    macs: b.macs.iter().map(|m| xor(m)).collect(),
                    keys: b.keys.iter().map(|k| xor(k)).collect(),
                };
                let k = owner * SUBSETS + c;
                sums.push(sum.add(&rho.range(k..k + 1).shl(1)));
                parities.push(parity);
            }
        }
        let opened = self.open(&Auth::concat(&sums.iter().collect::<Vec<_>>()))?;
        let shown = self.open_bits(&Bits::concat(&parities.iter().collect::<Vec<_>>()))?;
        for (k, s) in opened.iter().enumerate() {
            if (s & 1 == 1) != bit(&shown, k) {
                return Err(VmError::Cheating(format!(
                    "cheating detected by party {me}: party {} input different bits \
                     arithmetically and in binary into the daBits",
                    k / SUBSETS
                )));
            }
        }
        // The XORs.
        let inputs: Vec<Auth> = arith.iter().map(|a| a.range(0..n)).collect();
        let y = self.bits(&Auth::concat(&inputs.iter().collect::<Vec<_>>()), triples)?;
        let mut x = binary[0].range(0..n);
        for b in &binary[1..] {
            x = x.xor(&b.range(0..n));
        }
        self.check_bits()?;
        Ok((y, x))
    }
}

//! The `clear` backend: the plaintext reference every protocol is tested against.
//!
//! It emulates all parties in one process and keeps values in the clear, with
//! the exact semantics of the ring: wrap-around modulo 2^64, and probabilistic
//! truncation with real randomness (from a ChaCha20 generator, seedable so a run
//! can be repeated). It offers no security at all and says so at start.

use super::*;
use crate::ring::signed;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

pub struct Clear {
    rng: ChaCha20Rng,
    rounds: u64,
}

impl Clear {
    /// `seed`: fixes the randomness of probabilistic truncation; `None` draws it from the OS.
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => ChaCha20Rng::seed_from_u64(s),
            None => ChaCha20Rng::from_os_rng(),
        };
        Clear { rng, rounds: 0 }
    }

    /// `floor(x / 2^m)`, plus one with probability `(x mod 2^m) / 2^m`: unbiased, off by at most one.
    fn trunc_pr(&mut self, x: &RingTensor, m: u32) -> RingTensor {
        if m == 0 {
            return x.clone();
        }
        let mask = (1u64 << m) - 1;
        let data = x
            .data
            .iter()
            .map(|&v| {
                let floor = (signed(v) >> m) as u64;
                let r: u64 = self.rng.random::<u64>() & mask;
                floor.wrapping_add(((v & mask) > r) as u64)
            })
            .collect();
        RingTensor::new(x.shape.clone(), data)
    }
}

impl Backend for Clear {
    type Share = RingTensor;

    fn name(&self) -> &'static str {
        "clear"
    }
    fn threat_model(&self) -> &'static str {
        "none: plaintext reference, all parties emulated in one process, NO SECURITY"
    }
    fn classify(&mut self, t: &RingTensor) -> RingTensor {
        t.clone()
    }
    fn linear(&mut self, args: &[&RingTensor], f: &dyn LinearMap) -> RingTensor {
        f.apply(args)
    }
    fn add_public(&mut self, s: &RingTensor, p: &RingTensor, out_shape: &[usize]) -> RingTensor {
        s.add(p, out_shape)
    }

    fn masked_product(&mut self, p: Product<'_, RingTensor>) -> Result<RingTensor, VmError> {
        let (a, b) = p.operands();
        Ok(p.of(a, b))
    }

    fn round(
        &mut self,
        ops: Vec<Interaction<'_, RingTensor>>,
    ) -> Result<Vec<Outcome<RingTensor>>, VmError> {
        self.rounds += 1;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(match op {
                Interaction::Input { data, ty, party } => {
                    Outcome::Secret(data.ok_or_else(|| {
                        VmError::Input(format!(
                            "the clear backend needs party {party}'s input of type {ty}"
                        ))
                    })?)
                }
                Interaction::Product(p) => Outcome::Secret(self.masked_product(p)?),
                Interaction::Mask { a } => Outcome::Secret(a.clone()),
                Interaction::Trunc {
                    a,
                    amount,
                    exact: true,
                    ..
                } => Outcome::Secret(a.shr_signed(amount)),
                Interaction::Trunc {
                    a,
                    amount,
                    exact: false,
                    ..
                } => Outcome::Secret(self.trunc_pr(a, amount)),
                Interaction::LtZ { a, bits } => Outcome::Secret(a.ltz(bits)),
                Interaction::EqZ { a, bits } => Outcome::Secret(a.eqz(bits)),
                Interaction::Relu { a, bits } => Outcome::Secret(a.relu(bits)),
                Interaction::Max { a, axis, bits } => Outcome::Secret(a.max_along(axis, bits)),
                Interaction::Argmax { a, axis, bits } => {
                    Outcome::Secret(a.argmax_along(axis, bits))
                }
                Interaction::MaxPool {
                    x,
                    window,
                    stride,
                    padding,
                    bits,
                } => Outcome::Secret(x.max_pool(window, stride, padding, bits)),
                Interaction::Open { a } => Outcome::Public(a.clone()),
                Interaction::Output { a, .. } => Outcome::Revealed(Some(a.clone())),
            });
        }
        Ok(out)
    }

    fn receives(&self, _to: PartySet) -> bool {
        true
    }

    fn share_words(&self, s: &RingTensor) -> Vec<Vec<u64>> {
        vec![s.data.clone()]
    }

    fn share_from_words(
        &mut self,
        shape: &[usize],
        mut words: Vec<Vec<u64>>,
    ) -> Result<RingTensor, VmError> {
        match words.as_mut_slice() {
            [value] => Ok(RingTensor::new(shape.to_vec(), std::mem::take(value))),
            _ => Err(VmError::Input(format!(
                "a clear share has one component, not {}",
                words.len()
            ))),
        }
    }

    fn plaintext<'s>(&self, share: &'s RingTensor) -> Option<&'s RingTensor> {
        Some(share)
    }

    fn figures(&self) -> CommFigures {
        CommFigures {
            rounds: self.rounds,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }
}

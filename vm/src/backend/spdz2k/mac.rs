//! SPDZ2k's authenticated shares and the batched MAC check.
//!
//! The check of the values v_1 .. v_t opened since the last one (each
//! opened in full, 128 bits: a Beaver opening is uniform there, and an
//! output is opened with 2^64 r added, r random, so its upper bits are too):
//!
//! 1. Coin toss: each party commits to a random seed part (blake3 of a random
//!    nonce and the part), then opens it; a party whose opening does not
//!    match its commitment is named. The seed is the XOR of the parts, and
//!    chi_1 .. chi_t in Z_2^64 are drawn from it.
//! 2. Each party computes y = sum chi_j v_j and z_i = sum chi_j m_ij -
//!    alpha_i y, commits to z_i, then opens it.
//! 3. The check passes iff sum z_i = 0 mod 2^128.
//!
//! Four rounds, each a broadcast of a few words. The rounds go through
//! `exchange`, which sends one message to every peer and returns each
//! peer's (the backend's network; the tests' channels).

use crate::backend::beaver::Sharing;
use crate::backend::ot::consistency::Fold;
use crate::backend::prf::Prf;
use crate::backend::LinearMap;
use crate::ring::WideTensor;
use crate::VmError;

/// This party's share of an authenticated secret: x_i and its MAC share m_i,
/// elementwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Auth {
    pub x: WideTensor,
    pub m: WideTensor,
}

impl Auth {
    /// A map linear in the secrets `args`, applied to values and MACs alike
    /// (the MAC of a linear function of values is the function of their
    /// MACs).
    pub fn linear(args: &[&Auth], f: &dyn LinearMap) -> Auth {
        let xs: Vec<&WideTensor> = args.iter().map(|a| &a.x).collect();
        let ms: Vec<&WideTensor> = args.iter().map(|a| &a.m).collect();
        Auth {
            x: f.apply_wide(&xs),
            m: f.apply_wide(&ms),
        }
    }

    /// A public tensor as party `me`'s share: it joins party 0's x_0, and
    /// every party's MAC share as alpha_i c.
    pub fn public(me: usize, alpha_i: u128, c: &WideTensor) -> Auth {
        let m = c.map(|v| v.wrapping_mul(alpha_i));
        let x = if me == 0 {
            c.clone()
        } else {
            WideTensor::zeros(&c.shape)
        };
        Auth { x, m }
    }
}

impl Auth {
    /// The same map of values and MACs.
    pub fn map(&self, f: impl Fn(&WideTensor) -> WideTensor) -> Auth {
        Auth {
            x: f(&self.x),
            m: f(&self.m),
        }
    }
    pub fn zip(&self, o: &Auth, f: impl Fn(&WideTensor, &WideTensor) -> WideTensor) -> Auth {
        Auth {
            x: f(&self.x, &o.x),
            m: f(&self.m, &o.m),
        }
    }
    pub fn add(&self, o: &Auth) -> Auth {
        self.zip(o, |a, b| a.add(b, &a.shape))
    }
    pub fn sub(&self, o: &Auth) -> Auth {
        self.zip(o, |a, b| a.sub(b, &a.shape))
    }
    /// Times a public tensor of the same shape, elementwise.
    pub fn scale(&self, p: &WideTensor) -> Auth {
        self.map(|a| a.mul(p, &a.shape))
    }
    /// x * 2^amount.
    pub fn shl(&self, amount: u32) -> Auth {
        self.map(|a| a.shl(amount))
    }
    /// The same elements in another shape.
    pub fn reshape(&self, shape: &[usize]) -> Auth {
        self.map(|a| WideTensor::new(shape.to_vec(), a.data.clone()))
    }
    /// Elements `range` of the flat tensor.
    pub fn range(&self, range: std::ops::Range<usize>) -> Auth {
        self.map(|a| WideTensor::new(vec![range.len()], a.data[range.clone()].to_vec()))
    }
    /// Flat tensors one after the other.
    pub fn concat(parts: &[&Auth]) -> Auth {
        let flat = |f: &dyn Fn(&Auth) -> &WideTensor| {
            let data: Vec<u128> = parts
                .iter()
                .flat_map(|p| f(p).data.iter().copied())
                .collect();
            WideTensor::new(vec![data.len()], data)
        };
        Auth {
            x: flat(&|a| &a.x),
            m: flat(&|a| &a.m),
        }
    }
    /// Bits b as values of Z_2^128 from this daBit d (values 0 or 1) and the
    /// opened e = b XOR d: b = e + d (1 - 2e), as party `me` with MAC key
    /// share `alpha_i`.
    pub fn from_dabit(&self, e: &[bool], me: usize, alpha_i: u128) -> Auth {
        let n = e.len();
        let sign = e.iter().map(|e| if *e { u128::MAX } else { 1 });
        let e = WideTensor::new(vec![n], e.iter().map(|e| *e as u128).collect());
        self.scale(&WideTensor::new(vec![n], sign.collect()))
            .add_public(me, alpha_i, &e, &[n])
    }

    /// Plus the public `p` (broadcast to `out_shape`), as party `me` with
    /// MAC key share `alpha_i`.
    pub fn add_public(
        &self,
        me: usize,
        alpha_i: u128,
        p: &WideTensor,
        out_shape: &[usize],
    ) -> Auth {
        let p = Auth::public(me, alpha_i, p);
        Auth {
            x: self.x.add(&p.x, out_shape),
            m: self.m.add(&p.m, out_shape),
        }
    }
}

/// Party `me`'s view of the authenticated sharing: its MAC key share. The
/// Beaver engine's products of [`Auth`] shares go through it.
#[derive(Clone, Debug)]
pub struct Keyed {
    pub me: usize,
    pub alpha_i: u128,
    /// This party's share of the binary MAC key Δ (of GF(2^128), the XOR
    /// of the parties'), for binary shares ([`super::binary`]).
    pub delta_i: u128,
}

impl Sharing for Keyed {
    type W = u128;
    type Share = Auth;

    fn public(&self, _: &[usize], t: impl FnOnce() -> WideTensor) -> Auth {
        Auth::public(self.me, self.alpha_i, &t())
    }
    fn map(s: &Auth, f: &dyn Fn(&WideTensor) -> WideTensor) -> Auth {
        Auth {
            x: f(&s.x),
            m: f(&s.m),
        }
    }
    fn add(a: &Auth, b: &Auth) -> Auth {
        Auth {
            x: a.x.add(&b.x, &a.x.shape),
            m: a.m.add(&b.m, &a.m.shape),
        }
    }
    fn shape(s: &Auth) -> Vec<usize> {
        s.x.shape.clone()
    }
    fn linear(args: &[&Auth], f: &dyn LinearMap) -> Auth {
        Auth::linear(args, f)
    }
    fn linear_public(args: &[&WideTensor], f: &dyn LinearMap) -> WideTensor {
        f.apply_wide(args)
    }
}

/// Values opened since the last check, with this party's MAC shares of them:
/// values of Z_2^128, and bits (binary shares, MACs of GF(2^128)).
#[derive(Default, Debug)]
pub struct Opened {
    values: Vec<u128>,
    macs: Vec<u128>,
    bits: Vec<bool>,
    bit_macs: Vec<u128>,
}

impl Opened {
    /// Records opened values and this party's MAC shares of them.
    pub fn add(&mut self, values: &[u128], macs: &[u128]) {
        debug_assert_eq!(values.len(), macs.len());
        self.values.extend_from_slice(values);
        self.macs.extend_from_slice(macs);
    }

    /// Records opened bits and this party's binary MAC shares of them.
    pub fn add_bits(&mut self, bits: impl IntoIterator<Item = bool>, macs: &[u128]) {
        self.bits.extend(bits);
        self.bit_macs.extend_from_slice(macs);
        debug_assert_eq!(self.bits.len(), self.bit_macs.len());
    }

    pub fn len(&self) -> usize {
        self.values.len() + self.bits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Words of a commitment (blake3's 32 bytes) and of its nonce.
pub const DIGEST_WORDS: usize = 4;
pub const NONCE_WORDS: usize = 4;

/// Rounds and words to each peer of a coin toss ([`coins`]): a commitment,
/// then its nonce and a seed part.
pub const COINS_ROUNDS: u64 = 2;
pub const COINS_WORDS: u64 = (DIGEST_WORDS + NONCE_WORDS + 2) as u64;

/// Rounds and words to each peer of a MAC check ([`check`]): a coin toss,
/// then a commitment to z_i and the binary check's z'_i, and its opening.
pub const CHECK_ROUNDS: u64 = COINS_ROUNDS + 2;
pub const CHECK_WORDS: u64 = 2 * COINS_WORDS + 2;

/// A commitment to `words` under the random `nonce`.
pub(super) fn commitment(nonce: &[u64], words: &[u64]) -> Vec<u64> {
    let mut h = blake3::Hasher::new();
    h.update(bytemuck::cast_slice(nonce));
    h.update(bytemuck::cast_slice(words));
    bytemuck::cast_slice::<u8, u64>(h.finalize().as_bytes()).to_vec()
}

/// Commits to `words` and opens them, one round each, returning every
/// party's words (this party's own at `me`); `what` names the step in
/// errors. A peer whose opening does not match its commitment is named.
pub(super) fn commit_and_open(
    me: usize,
    what: &str,
    words: Vec<u64>,
    round: &mut dyn FnMut(Vec<u64>) -> Result<Vec<Vec<u64>>, VmError>,
    random: &mut dyn FnMut(usize) -> Result<Vec<u64>, VmError>,
) -> Result<Vec<Vec<u64>>, VmError> {
    let nonce = random(NONCE_WORDS)?;
    let committed = round(commitment(&nonce, &words))?;
    let mut opening = nonce;
    opening.extend_from_slice(&words);
    let opened = round(opening)?;
    let n = committed.len();
    let mut all = Vec::with_capacity(n);
    for p in 0..n {
        if p == me {
            all.push(words.clone());
            continue;
        }
        let (c, o) = (&committed[p], &opened[p]);
        if c.len() != DIGEST_WORDS || o.len() != NONCE_WORDS + words.len() {
            return Err(VmError::Cheating(format!(
                "party {p} sent a commitment or an opening of the wrong length in {what}: a protocol violation"
            )));
        }
        if commitment(&o[..NONCE_WORDS], &o[NONCE_WORDS..]) != *c {
            return Err(VmError::Cheating(format!(
                "cheating detected by party {me}: party {p} opened, in {what}, a value other than the one it committed to"
            )));
        }
        all.push(o[NONCE_WORDS..].to_vec());
    }
    Ok(all)
}

pub(super) fn wide(words: &[u64]) -> u128 {
    words[0] as u128 | (words[1] as u128) << 64
}

pub(super) fn words_of(x: u128) -> Vec<u64> {
    vec![x as u64, (x >> 64) as u64]
}

/// `n` random coefficients of Z_2^64 no party could choose: a coin toss
/// by commitments (two rounds through `round`, as in [`check`]), whose seed
/// is the XOR of every party's part.
pub fn coins(
    me: usize,
    n: usize,
    round: &mut dyn FnMut(Vec<u64>) -> Result<Vec<Vec<u64>>, VmError>,
    random: &mut dyn FnMut(usize) -> Result<Vec<u64>, VmError>,
) -> Result<Vec<u64>, VmError> {
    let part = random(2)?;
    let parts = commit_and_open(me, "a coin toss", part, round, random)?;
    let mut seed = [0u64; 2];
    for p in &parts {
        seed[0] ^= p[0];
        seed[1] ^= p[1];
    }
    Ok(Prf::new(bytemuck::cast(seed)).elements(n))
}

/// Checks every value in `opened` against the MACs (party `me`, MAC key
/// share `alpha_i`), in four rounds through `round` (one message to every
/// peer, each peer's back, this party's own entry ignored); `random` gives
/// fresh random words (the operating system's). On success the values are
/// cleared; on failure the error says cheating was detected.
pub fn check(
    keyed: &Keyed,
    opened: &mut Opened,
    round: &mut dyn FnMut(Vec<u64>) -> Result<Vec<Vec<u64>>, VmError>,
    random: &mut dyn FnMut(usize) -> Result<Vec<u64>, VmError>,
) -> Result<(), VmError> {
    let me = keyed.me;
    let n = opened.values.len();
    let chi = coins(me, n + 2, round, random)?;
    let (mut y, mut mac) = (0u128, 0u128);
    for ((c, v), m) in chi.iter().zip(&opened.values).zip(&opened.macs) {
        let c = *c as u128;
        y = y.wrapping_add(c.wrapping_mul(*v));
        mac = mac.wrapping_add(c.wrapping_mul(*m));
    }
    let z = mac.wrapping_sub(keyed.alpha_i.wrapping_mul(y));
    // The bits: a POLYVAL hash under a coin of m ⊕ b Δ_i, whose XOR over
    // the parties is the hash of the errors.
    let mut fold = Fold::new(wide(&chi[n..]));
    let terms: Vec<u128> = opened
        .bits
        .iter()
        .zip(&opened.bit_macs)
        .map(|(b, m)| m ^ (super::binary::ones(*b) & keyed.delta_i))
        .collect();
    fold.absorb(&terms);
    let mut words = words_of(z);
    words.extend(words_of(fold.value()));
    let zs = commit_and_open(me, "the MAC check", words, round, random)?;
    let total = zs.iter().fold(0u128, |t, z| t.wrapping_add(wide(z)));
    let binary = zs.iter().fold(0u128, |t, z| t ^ wide(&z[2..]));
    let count = opened.len();
    *opened = Opened::default();
    if total != 0 || binary != 0 {
        return Err(VmError::Cheating(format!(
            "cheating detected by party {me}: the MAC check of the {count} values opened since the last check failed (a party changed a share or a MAC share; the check cannot tell which)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::RingTensor;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use std::sync::mpsc::{channel, Receiver, Sender};

    /// MAC key shares for `n` parties (each from Z_2^64), and the key they
    /// sum to.
    fn mac_keys(n: usize, rng: &mut ChaCha20Rng) -> (Vec<u128>, u128) {
        let alpha: Vec<u128> = (0..n).map(|_| rng.random::<u64>() as u128).collect();
        let key = alpha.iter().fold(0u128, |a, b| a.wrapping_add(*b));
        (alpha, key)
    }

    /// A tensor of random elements of Z_2^128.
    fn random_wide(shape: &[usize], rng: &mut ChaCha20Rng) -> WideTensor {
        let len: usize = shape.iter().product();
        WideTensor::new(shape.to_vec(), (0..len).map(|_| rng.random()).collect())
    }

    /// MAC key shares for `n` parties, and each party's MAC shares of
    /// `values` (what preprocessing provides).
    fn deal(n: usize, values: &[u128], rng: &mut ChaCha20Rng) -> (Vec<u128>, Vec<Vec<u128>>) {
        let (alpha, key) = mac_keys(n, rng);
        let mut macs = vec![Vec::new(); n];
        for &v in values {
            let mut rest = key.wrapping_mul(v);
            for (p, m) in macs.iter_mut().enumerate() {
                let share = if p + 1 == n { rest } else { rng.random() };
                rest = rest.wrapping_sub(share);
                m.push(share);
            }
        }
        (alpha, macs)
    }

    /// What the cheating party does to its message of a round (1 to 4) to
    /// one peer.
    type Tamper = Box<dyn FnMut(u32, usize, &mut Vec<u64>) + Send>;

    /// The parties' binary key shares Δ_p, and per party the opened bits it
    /// saw with its MAC shares of them.
    type Binary = (Vec<u128>, Vec<Vec<(bool, u128)>>);

    /// No bits opened among `n` parties.
    fn no_bits(n: usize) -> Binary {
        (vec![0; n], vec![Vec::new(); n])
    }

    /// Binary key shares for `n` parties and their MAC shares of `bits`
    /// (their XOR is b Δ for Δ the XOR of the key shares).
    fn deal_bits(n: usize, bits: &[bool], rng: &mut ChaCha20Rng) -> Binary {
        let delta: Vec<u128> = (0..n).map(|_| rng.random()).collect();
        let key = delta.iter().fold(0u128, |d, s| d ^ s);
        let mut seen = vec![Vec::new(); n];
        for &b in bits {
            let mut rest = if b { key } else { 0 };
            for (p, s) in seen.iter_mut().enumerate() {
                let share = if p + 1 == n { rest } else { rng.random() };
                rest ^= share;
                s.push((b, share));
            }
        }
        (delta, seen)
    }

    /// Runs the check among the parties as threads over channels: party p
    /// believes `seen[p]` was opened and holds MAC shares `macs[p]`; party
    /// `cheater` (if any) tampers with what it sends.
    fn run(
        alpha: Vec<u128>,
        seen: Vec<Vec<u128>>,
        macs: Vec<Vec<u128>>,
        (delta, bits): Binary,
        mut cheater: Option<(usize, Tamper)>,
        seed: u64,
    ) -> Vec<Result<(), String>> {
        let n = alpha.len();
        let mut to: Vec<Vec<Sender<Vec<u64>>>> = (0..n).map(|_| Vec::new()).collect();
        let mut from: Vec<Vec<Receiver<Vec<u64>>>> = (0..n).map(|_| Vec::new()).collect();
        for sender in to.iter_mut() {
            for inbox in from.iter_mut() {
                let (tx, rx) = channel();
                sender.push(tx);
                inbox.push(rx);
            }
        }
        let mut handles = Vec::new();
        for (p, (((to, from), (seen, macs)), bits)) in to
            .into_iter()
            .zip(from)
            .zip(seen.into_iter().zip(macs))
            .zip(bits)
            .enumerate()
        {
            let mut tamper = match cheater.take() {
                Some((c, t)) if c == p => Some(t),
                other => {
                    cheater = other;
                    None
                }
            };
            let (alpha_i, delta_i) = (alpha[p], delta[p]);
            let mut rng = ChaCha20Rng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(p as u64));
            handles.push(std::thread::spawn(move || {
                let mut opened = Opened::default();
                opened.add(&seen, &macs);
                let mut r = 0;
                let mut round = |msg: Vec<u64>| -> Result<Vec<Vec<u64>>, VmError> {
                    r += 1;
                    for (q, tx) in to.iter().enumerate() {
                        let mut m = msg.clone();
                        if let (Some(t), true) = (tamper.as_mut(), q != p) {
                            t(r, q, &mut m);
                        }
                        tx.send(m)
                            .map_err(|_| VmError::Network("a peer stopped".into()))?;
                    }
                    from.iter()
                        .map(|rx| {
                            rx.recv()
                                .map_err(|_| VmError::Network("a peer stopped".into()))
                        })
                        .collect()
                };
                let mut random = |k: usize| Ok((0..k).map(|_| rng.random()).collect());
                let keyed = Keyed {
                    me: p,
                    alpha_i,
                    delta_i,
                };
                for (b, m) in &bits {
                    opened.add_bits([*b], &[*m]);
                }
                check(&keyed, &mut opened, &mut round, &mut random).map_err(|e| e.to_string())
            }));
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    }

    /// A linear map of the interpreter's, with a public last operand or none.
    struct Map(crate::interp::Linear, Option<RingTensor>);

    impl LinearMap for Map {
        fn apply(&self, x: &[&RingTensor]) -> RingTensor {
            let mut all = x.to_vec();
            all.extend(self.1.as_ref());
            self.0.apply(&all)
        }
        fn apply_wide(&self, x: &[&WideTensor]) -> WideTensor {
            let public = self.1.as_ref().map(|p| p.convert());
            let mut all = x.to_vec();
            all.extend(public.as_ref());
            self.0.apply(&all)
        }
    }

    /// Shares of public constants and linear maps of shares stay
    /// authenticated: the MAC shares sum to alpha times the values, and the
    /// values reduce to the map over Z_2^64.
    #[test]
    fn public_constants_and_linear_maps_keep_the_macs() {
        use crate::interp::Linear;
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let n = 3;
        let (alpha, key) = mac_keys(n, &mut rng);
        let mut tensor = |shape: &[usize]| {
            let len = shape.iter().product();
            RingTensor::new(shape.to_vec(), (0..len).map(|_| rng.random()).collect())
        };
        let (a, c, w) = (tensor(&[3, 4]), tensor(&[3, 4]), tensor(&[4, 2]));
        let share = |t: &RingTensor| -> Vec<Auth> {
            (0..n)
                .map(|p| Auth::public(p, alpha[p], &t.convert()))
                .collect()
        };
        let (sa, sc) = (share(&a), share(&c));
        let sum = |shares: &[Auth]| {
            let total = |pick: fn(&Auth) -> &WideTensor| {
                let mut t = pick(&shares[0]).clone();
                for s in &shares[1..] {
                    t = t.add(pick(s), &t.shape.clone());
                }
                t
            };
            (total(|s| &s.x), total(|s| &s.m))
        };
        for (map, args, public) in [
            (Linear::MatMul, vec![(&sa, &a)], Some(w.clone())),
            (Linear::Add(vec![3, 4]), vec![(&sa, &a), (&sc, &c)], None),
            (Linear::Transpose(vec![1, 0]), vec![(&sa, &a)], None),
            (Linear::Sum(Some(0)), vec![(&sa, &a)], None),
            (Linear::Shl(40), vec![(&sa, &a)], None),
        ] {
            let f = Map(map.clone(), public);
            let mapped: Vec<Auth> = (0..n)
                .map(|p| {
                    let refs: Vec<&Auth> = args.iter().map(|(s, _)| &s[p]).collect();
                    Auth::linear(&refs, &f)
                })
                .collect();
            let (x, m) = sum(&mapped);
            assert_eq!(m, x.map(|v| v.wrapping_mul(key)), "{map:?}: MACs");
            let plain: Vec<&RingTensor> = args.iter().map(|(_, t)| *t).collect();
            assert_eq!(x.convert::<u64>(), f.apply(&plain), "{map:?}: values");
        }
    }

    /// Authenticated shares of `t` among the parties keyed by `alpha`.
    fn auth_shares(t: &WideTensor, alpha: &[u128], rng: &mut ChaCha20Rng) -> Vec<Auth> {
        let key = alpha.iter().fold(0u128, |a, b| a.wrapping_add(*b));
        let n = alpha.len();
        let mut rest = Auth {
            x: t.clone(),
            m: t.map(|v| v.wrapping_mul(key)),
        };
        let mut shares = Vec::with_capacity(n);
        for _ in 1..n {
            let random = |rng: &mut ChaCha20Rng| {
                WideTensor::new(
                    t.shape.clone(),
                    (0..t.len()).map(|_| rng.random()).collect(),
                )
            };
            let s = Auth {
                x: random(rng),
                m: random(rng),
            };
            rest = Auth {
                x: rest.x.sub(&s.x, &t.shape),
                m: rest.m.sub(&s.m, &t.shape),
            };
            shares.push(s);
        }
        shares.push(rest);
        shares
    }

    /// The Beaver engine's product on authenticated shares (elementwise,
    /// matrix and convolution, three parties, a dealt triple): the values sum
    /// to op(x, y) in Z_2^128, hence mod 2^64 too, and the MAC shares to
    /// alpha times them.
    #[test]
    fn beaver_products_of_authenticated_shares_are_authenticated() {
        use crate::backend::beaver;
        use crate::backend::Product;
        use crate::shape::Padding;
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let n = 3;
        let (alpha, key) = mac_keys(n, &mut rng);
        let mut wide = |shape: &[usize]| random_wide(shape, &mut rng);
        let shapes = [
            (vec![3, 4], vec![3, 4]),
            (vec![3, 4], vec![4, 5]),
            (vec![1, 5, 5, 2], vec![3, 3, 2, 3]),
        ];
        let tensors: Vec<[WideTensor; 4]> = shapes
            .iter()
            .map(|(sx, sy)| [wide(sx), wide(sy), wide(sx), wide(sy)])
            .collect();
        for (k, [x, y, a, b]) in tensors.iter().enumerate() {
            let mul_shape = x.shape.clone();
            let op: Product<'_, ()> = match k {
                0 => Product::Mul {
                    a: &(),
                    b: &(),
                    out_shape: &mul_shape,
                },
                1 => Product::MatMul { a: &(), b: &() },
                _ => Product::Conv2d {
                    x: &(),
                    w: &(),
                    stride: [1, 1],
                    padding: Padding::Same,
                    depthwise: false,
                },
            };
            let c = op.of(a, b);
            let mut deal = |t: &WideTensor| auth_shares(t, &alpha, &mut rng);
            let (sx, sy, sa, sb, sc) = (deal(x), deal(y), deal(a), deal(b), deal(&c));
            // The openings e = x - A and f = y - B: the sums of the parties'
            // differences.
            let opening = |s: &[Auth], m: &[Auth]| {
                let d: Vec<WideTensor> = s
                    .iter()
                    .zip(m)
                    .map(|(s, m)| s.x.sub(&m.x, &s.x.shape))
                    .collect();
                d[1..]
                    .iter()
                    .fold(d[0].clone(), |t, d| t.add(d, &t.shape.clone()))
            };
            let (e, f) = (opening(&sx, &sa), opening(&sy, &sb));
            let z: Vec<Auth> = (0..n)
                .map(|p| {
                    let keyed = Keyed {
                        me: p,
                        alpha_i: alpha[p],
                        delta_i: 0,
                    };
                    beaver::product(&keyed, &op, (&e, &f), (&sa[p], &sb[p]), |_| sc[p].clone())
                })
                .collect();
            let total = z[1..].iter().fold(z[0].clone(), |t, s| Keyed::add(&t, s));
            assert_eq!(total.x, op.of(x, y), "product {k}: values");
            assert_eq!(
                total.m,
                total.x.map(|v| v.wrapping_mul(key)),
                "product {k}: MACs"
            );
            let (x64, y64): (RingTensor, RingTensor) = (x.convert(), y.convert());
            assert_eq!(
                total.x.convert::<u64>(),
                op.of(&x64, &y64),
                "product {k}: mod 2^64"
            );
        }
    }

    /// Mask reuse on authenticated shares: a masked secret's opening and
    /// mask go through a linear map (a transpose, then a public offset), and
    /// the product of the result with another masked secret, local given
    /// the masks' product, is op(L(x) + c, y), authenticated.
    #[test]
    fn mask_reuse_keeps_authenticated_products_right() {
        use crate::backend::{beaver, Product};
        use crate::interp::Linear;
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let n = 2;
        let (alpha, key) = mac_keys(n, &mut rng);
        let mut wide = |shape: &[usize]| random_wide(shape, &mut rng);
        let (x, a, y, b, offset) = (
            wide(&[4, 3]),
            wide(&[4, 3]),
            wide(&[4, 2]),
            wide(&[4, 2]),
            wide(&[3, 4]),
        );
        let transpose = Map(Linear::Transpose(vec![1, 0]), None);
        let t = |v: &WideTensor| v.transpose(&[1, 0]);
        // The masks' product as preprocessing would give it: op(L(A), B).
        let op: Product<'_, ()> = Product::MatMul { a: &(), b: &() };
        let c = op.of(&t(&a), &b);
        let mut deal = |v: &WideTensor| auth_shares(v, &alpha, &mut rng);
        let (sa, sb, sc) = (deal(&a), deal(&b), deal(&c));
        let (e, f) = (x.sub(&a, &x.shape), y.sub(&b, &y.shape));
        let z: Vec<Auth> = (0..n)
            .map(|p| {
                let keyed = Keyed {
                    me: p,
                    alpha_i: alpha[p],
                    delta_i: 0,
                };
                let mx = beaver::Masked {
                    e: e.clone(),
                    a: sa[p].clone(),
                };
                let my = beaver::Masked {
                    e: f.clone(),
                    a: sb[p].clone(),
                };
                let lx = beaver::masked_linear::<Keyed>(&[&mx], &transpose);
                let lx = beaver::masked_add_public::<Keyed>(&lx, &offset, &[3, 4]);
                beaver::product(&keyed, &op, (&lx.e, &my.e), (&lx.a, &my.a), |_| {
                    sc[p].clone()
                })
            })
            .collect();
        let total = z[1..].iter().fold(z[0].clone(), |t, s| Keyed::add(&t, s));
        let want = op.of(&t(&x).add(&offset, &[3, 4]), &y);
        assert_eq!(total.x, want);
        assert_eq!(total.m, total.x.map(|v| v.wrapping_mul(key)));
    }

    fn random_values(count: usize, rng: &mut ChaCha20Rng) -> Vec<u128> {
        (0..count).map(|_| rng.random()).collect()
    }

    #[test]
    fn honest_openings_pass_the_check() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for n in [2, 3, 4] {
            for seed in 0..10 {
                let values = random_values(50, &mut rng);
                let (alpha, macs) = deal(n, &values, &mut rng);
                let bits: Vec<bool> = (0..40).map(|_| rng.random()).collect();
                let binary = deal_bits(n, &bits, &mut rng);
                let out = run(alpha, vec![values; n], macs, binary, None, seed);
                assert!(out.iter().all(|o| o.is_ok()), "{n} parties: {out:?}");
            }
        }
    }

    /// A value opened wrong (every party saw the same wrong value: the
    /// cheater's share was off), or a party's MAC share off, fails the check
    /// at every party, over many random errors: the error is nonzero in the
    /// low 64 bits, anywhere above.
    #[test]
    fn a_wrong_value_or_mac_fails_the_check_everywhere() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        for trial in 0..400u64 {
            let n = 2 + (trial % 3) as usize;
            let values = random_values(30, &mut rng);
            let (alpha, mut macs) = deal(n, &values, &mut rng);
            let at = rng.random_range(0..values.len());
            let low = rng.random::<u64>() >> rng.random_range(0..64) | 1 << rng.random_range(0..64);
            let error = low as u128 | (rng.random::<u64>() as u128) << 64;
            let mut seen = vec![values; n];
            if trial % 2 == 0 {
                for s in seen.iter_mut() {
                    s[at] = s[at].wrapping_add(error);
                }
            } else {
                let p = rng.random_range(0..n);
                macs[p][at] = macs[p][at].wrapping_add(error);
            }
            for (p, o) in run(alpha, seen, macs, no_bits(n), None, trial)
                .iter()
                .enumerate()
            {
                let e = o.as_ref().expect_err("the check fails");
                assert!(
                    e.contains("cheating detected") && e.contains("MAC check of the 30 values"),
                    "trial {trial}, party {p}: {e}"
                );
            }
        }
    }

    /// A cheater that opens a seed part or a z other than it committed to
    /// is named by every honest party (rounds 2 and 4); one that commits to
    /// a false z and opens it consistently (as if its MAC key share were
    /// another) fails the MAC check.
    #[test]
    fn a_lie_in_the_check_itself_is_caught() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for n in [2, 3] {
            let cheater = n - 1;
            for lie in ["seed", "z", "consistent z"] {
                let values = random_values(20, &mut rng);
                let (mut alpha, macs) = deal(n, &values, &mut rng);
                let delta = rng.random::<u64>() | 1;
                let tamper: Option<(usize, Tamper)> = match lie {
                    "consistent z" => {
                        alpha[cheater] = alpha[cheater].wrapping_add(delta as u128);
                        None
                    }
                    _ => {
                        let round = if lie == "seed" { 2 } else { 4 };
                        Some((
                            cheater,
                            Box::new(move |r, _, m: &mut Vec<u64>| {
                                if r == round {
                                    let last = m.len() - 1;
                                    m[last] ^= delta;
                                }
                            }),
                        ))
                    }
                };
                let out = run(
                    alpha,
                    vec![values; n],
                    macs,
                    no_bits(n),
                    tamper,
                    20 + n as u64,
                );
                for (p, o) in out.iter().enumerate().filter(|(p, _)| *p != cheater) {
                    let e = o.as_ref().expect_err("an honest party stops");
                    let named = format!("party {cheater} opened");
                    let want = if lie == "consistent z" {
                        "MAC check of the 20"
                    } else {
                        named.as_str()
                    };
                    assert!(e.contains(want), "{lie}, {n} parties, party {p}: {e}");
                }
            }
        }
    }

    /// An opened bit that is wrong (flipped for every party) or a party's
    /// binary MAC share off in any bit fails the check at every party.
    #[test]
    fn a_wrong_bit_or_binary_mac_fails_the_check_everywhere() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        for trial in 0..200u64 {
            let n = 2 + (trial % 3) as usize;
            let values = random_values(5, &mut rng);
            let (alpha, macs) = deal(n, &values, &mut rng);
            let bits: Vec<bool> = (0..30).map(|_| rng.random()).collect();
            let (delta, mut seen) = deal_bits(n, &bits, &mut rng);
            let at = rng.random_range(0..bits.len());
            if trial % 2 == 0 {
                for s in seen.iter_mut() {
                    s[at].0 = !s[at].0;
                }
            } else {
                let p = rng.random_range(0..n);
                seen[p][at].1 ^= 1u128 << rng.random_range(0..128);
            }
            let out = run(alpha, vec![values; n], macs, (delta, seen), None, trial);
            for (p, o) in out.iter().enumerate() {
                let e = o.as_ref().expect_err("the check fails");
                assert!(
                    e.contains("cheating detected"),
                    "trial {trial}, party {p}: {e}"
                );
            }
        }
    }
}

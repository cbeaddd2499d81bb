//! `semi2k`: n >= 2 parties, passive security against any n - 1 of them, by
//! additive secret sharing over Z_2^64 and Beaver products (as MP-SPDZ's
//! semi2k; the Beaver engine an actively secure spdz2k adds MACs to).
//!
//! A secret x = x_0 + ... + x_{n-1}; party i holds x_i.
//!
//! - Inputs: each pair of parties shares a key (set-up); the owner's peers take
//!   their shares from the key they share with the owner, and the owner's share
//!   completes the value. No messages.
//! - Products: a secret is *masked* by a random A from the preprocessing, and
//!   e = x - A is opened (each party sends its share to every other). With
//!   x = e + A, y = f + B and C = op(A, B) preprocessed, the product
//!   op(e, f) + op(e, B) + op(A, f) + C is local (op(e, f) added by party 0). Inside a round batch a
//!   product masks both operands afresh (a triple); a program compiled for mask
//!   reuse masks each value once (`Mask`) and its products are local, with the
//!   masks of linear results derived by the same linear maps.
//! - Openings: every party sends its share to every other (to the receivers,
//!   for an output).
//!
//! The preprocessing ([`super::prep`]) gives each item's shares in plan order.

mod compare;
mod cost;
mod recorder;

pub use cost::{by_location, bytes_sent, largest_message, rounds};

use super::prep::{plan, Combine, Item, Layout, Material};
use super::prf::Prf;
use super::*;
use crate::backend::beaver::{self, OwnedProduct, Sharing};
use crate::backend::compose::{Composer, Map, Then, Zip};
use crate::backend::planes::Planes;
use crate::backend::rounds::{self, Engine};
use crate::bytecode::Program;
use crate::net::{Network, Part};
use compare::LtzMaterial;
pub(crate) use compare::{and_correlated, tree_gate_pairs, tree_pairs};
use rand::TryRngCore;
pub(crate) use recorder::{Call, Composed};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

/// This party's additive share, with the opening and this party's share of
/// the mask where the value is masked.
#[derive(Clone, Debug)]
pub struct Share {
    pub x: RingTensor,
    pub mask: Option<Box<Masked>>,
}

/// A masked secret x = e + A: the public opening e and this party's share of A.
pub type Masked = beaver::Masked<RingTensor, u64>;

impl Share {
    fn plain(x: RingTensor) -> Share {
        Share { x, mask: None }
    }
}

/// Why semi2k cannot run a program needing `entry`, if it cannot: it runs
/// every primitive, but truncates values of at most 63 bits.
pub fn refuses(entry: &crate::bytecode::ManifestEntry) -> Option<String> {
    use crate::bytecode::Primitive::*;
    match (entry.primitive, entry.params.as_slice()) {
        (TruncPr | TruncExact, &[amount, bits]) if bits.max(amount + 1) > 63 => Some(format!(
            "a truncation by {amount} of a {bits}-bit value (semi2k truncates values of at most 63 bits)"
        )),
        _ => None,
    }
}

/// A product's item: in a round batch a triple (masks `a`, `b` of `na`, `nb`
/// elements and their product of `nc`), else the product of masks drawn by
/// earlier items.
pub(crate) fn product_layout(batched: bool, na: usize, nb: usize, nc: usize) -> Layout {
    let random: &[(usize, Combine)] = if batched {
        &[(na, Combine::Add), (nb, Combine::Add)]
    } else {
        &[]
    };
    Layout::new(random, &[(nc, Combine::Add)])
}

/// A truncation's item for `n` values by `m` bits. Probabilistic: r uniform
/// in the ring (random), its top bit and its high part (correlated).
/// Exact: r's low m bits as planes and r_high with r = r_lo + 2^m r_high,
/// the AND triples and daBit of the borrow's comparison (random); r_lo as
/// ring elements, r's top bit and high part, the triples' c, the daBit as
/// ring elements (correlated).
pub(crate) fn trunc_layout(n: usize, m: usize, exact: bool) -> Layout {
    if !exact {
        return Layout::new(
            &[(n, Combine::Add)],
            &[(n, Combine::Add), (n, Combine::Add)],
        );
    }
    let stride = n.div_ceil(64);
    let (pairs, ands) = (
        compare::tree_pairs(m) * stride,
        compare::tree_ands(m) * stride,
    );
    Layout::new(
        &[
            (m * stride, Combine::Xor),
            (n, Combine::Add),
            (pairs, Combine::Xor),
            (ands, Combine::Xor),
            (stride, Combine::Xor),
        ],
        &[
            (n, Combine::Add),
            (n, Combine::Add),
            (n, Combine::Add),
            (ands, Combine::Xor),
            (n, Combine::Add),
        ],
    )
}

/// The correlated parts of a truncation's item by `m` bits from its random
/// parts (the dealer's; see [`trunc_layout`]): for r, its top bit and
/// floor((r mod 2^63) / 2^m).
pub(crate) fn trunc_correlated(
    random: &[Vec<u64>],
    n: usize,
    m: u32,
    exact: bool,
) -> Vec<Vec<u64>> {
    let pair = |r: &[u64]| -> [Vec<u64>; 2] {
        [
            r.iter().map(|x| x >> 63).collect(),
            r.iter().map(|x| (x & (u64::MAX >> 1)) >> m).collect(),
        ]
    };
    if !exact {
        return pair(&random[0]).to_vec();
    }
    let stride = n.div_ceil(64);
    let low = Planes {
        n,
        stride,
        words: random[0].clone(),
    }
    .to_values();
    let r: Vec<u64> = low
        .iter()
        .zip(&random[1])
        .map(|(l, h)| l.wrapping_add(h << m))
        .collect();
    let [msb, hi] = pair(&r);
    let and = compare::and_correlated(&random[2], &random[3], m as usize, stride);
    let d = Planes {
        n,
        stride,
        words: random[4].clone(),
    }
    .lanes(0);
    vec![low, msb, hi, and, d]
}

/// The longest frame (bytes) the dealer sends the last party: the largest
/// product of masks or truncation pair.
pub fn largest_item(program: &Program) -> u64 {
    use crate::bytecode::Instr;
    let len = |r: &u32| program.registers[*r as usize].len() as u64;
    program
        .code
        .iter()
        .filter_map(|i| match i {
            Instr::Mul { dst, .. } | Instr::MatMul { dst, .. } | Instr::Conv2d { dst, .. } => {
                Some(8 * len(dst))
            }
            Instr::Trunc {
                a, amount, exact, ..
            } => {
                let layout = trunc_layout(len(a) as usize, *amount as usize, *exact);
                Some(
                    8 * layout
                        .correlated
                        .iter()
                        .map(|(n, _)| *n as u64)
                        .sum::<u64>(),
                )
            }
            i => Composed::of(program, i).map(|c| {
                let layout = c.recording().layout;
                8 * layout
                    .correlated
                    .iter()
                    .map(|(n, _)| *n as u64)
                    .sum::<u64>()
            }),
        })
        .max()
        .unwrap_or(0)
}

/// An operation (or part of one) between rounds.
pub(super) type Task = rounds::Task<Semi2k>;

pub struct Semi2k {
    net: Network,
    me: usize,
    parties: usize,
    /// Per other party: the key this party shares with it (inputs).
    pairs: Vec<Option<Prf>>,
    material: Material,
    program: Arc<Program>,
    /// Items in each branch arm, by its code range (counted once).
    arm_items: HashMap<(usize, usize), u64>,
    /// The network's figures when the online phase began.
    setup: CommFigures,
    offline: Option<OfflineFigures>,
    /// Words each operation of the last round queued to the peers.
    sent_by_op: Vec<u64>,
}

fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_sub(*y)).collect()
}

/// 16 bytes from the operating system.
pub(crate) fn fresh_key() -> Result<[u8; 16], VmError> {
    let mut key = [0u8; 16];
    rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|e| {
        VmError::Usage(format!(
            "the operating system's random generator failed: {e}"
        ))
    })?;
    Ok(key)
}

fn key_from(words: &[u64], from: usize) -> Result<[u8; 16], VmError> {
    bytemuck::cast_slice::<u64, u8>(words)
        .try_into()
        .map_err(|_| VmError::Network(format!("party {from} sent a malformed key")))
}

/// Puts into `out` a fresh key for each party after `me` (of `parties`);
/// returns them.
fn offer_pair_keys(
    me: usize,
    parties: usize,
    out: &mut [Vec<Part>],
) -> Result<Vec<Option<[u8; 16]>>, VmError> {
    let mut own_keys = vec![None; parties];
    for (j, slot) in out.iter_mut().enumerate().take(parties).skip(me + 1) {
        let key = fresh_key()?;
        own_keys[j] = Some(key);
        slot.push(Arc::new(bytemuck::cast_slice::<u8, u64>(&key).to_vec()));
    }
    Ok(own_keys)
}

/// The key shared with each other party: ours for later parties, theirs
/// (in `got`) for earlier ones.
fn pair_prfs(
    me: usize,
    own_keys: Vec<Option<[u8; 16]>>,
    got: &[Vec<u64>],
) -> Result<Vec<Option<Prf>>, VmError> {
    let mut pairs = Vec::with_capacity(own_keys.len());
    for (j, own) in own_keys.into_iter().enumerate() {
        pairs.push(match j {
            j if j == me => None,
            j if j < me => Some(Prf::new(key_from(&got[j], j)?)),
            _ => Some(Prf::new(own.expect("a key for each later party"))),
        });
    }
    Ok(pairs)
}

impl Semi2k {
    /// Set-up with a dealer (`--prep dealer`), the network's last node: one
    /// round in which every party sends each later party a pair key and the
    /// dealer sends each party its seed; then the dealer leaves the rounds
    /// (the last party keeps a stream from it for its corrections).
    pub fn setup_with_dealer(mut net: Network, program: Arc<Program>) -> Result<Semi2k, VmError> {
        let nodes = net.parties();
        let (me, parties) = (net.party(), nodes - 1);
        if parties < 2 {
            return Err(VmError::Usage("semi2k needs at least 2 parties".into()));
        }
        let mut out = vec![Vec::new(); nodes];
        let own_keys = offer_pair_keys(me, parties, &mut out)?;
        let got = net.exchange(out).map_err(VmError::Network)?;
        let pairs = pair_prfs(me, own_keys, &got)?;
        let seed = key_from(&got[parties], parties)?;
        let setup = net.figures();
        let mut stream = net.take_stream(parties);
        stream.limit_frames(largest_item(&program));
        let corrections = (me == parties - 1).then_some(stream);
        Ok(Semi2k {
            net,
            me,
            parties,
            pairs,
            material: Material::dealt(seed, corrections),
            program,
            arm_items: HashMap::new(),
            setup,
            offline: None,
            sent_by_op: Vec::new(),
        })
    }

    /// Set-up with preprocessing by OT (`--prep ot`): a round of pair keys,
    /// then the offline phase, which makes every item the program will take
    /// with the other parties ([`prep::ot`](super::prep::ot)), unless `made`
    /// holds them already (`mpcvm prep`'s file, opened).
    pub fn setup_with_ot(
        mut net: Network,
        program: Arc<Program>,
        made: Option<super::prep::file::Reader>,
        report: super::prep::ot::Progress<'_>,
    ) -> Result<Semi2k, VmError> {
        let (me, parties) = (net.party(), net.parties());
        if parties < 2 {
            return Err(VmError::Usage("semi2k needs at least 2 parties".into()));
        }
        let mut out = vec![Vec::new(); parties];
        let own_keys = offer_pair_keys(me, parties, &mut out)?;
        let got = net.exchange(out).map_err(VmError::Network)?;
        let pairs = pair_prfs(me, own_keys, &got)?;
        let (material, offline) = match made {
            Some(reader) => (Material::File(reader), None),
            None => {
                let (items, offline) =
                    super::prep::ot::offline(&program, &mut net, parties, report)?;
                (Material::made(items), Some(offline))
            }
        };
        Ok(Semi2k {
            setup: net.figures(),
            net,
            me,
            parties,
            pairs,
            material,
            program,
            arm_items: HashMap::new(),
            offline,
            sent_by_op: Vec::new(),
        })
    }

    /// A public value as shares (party 0 holds it).
    fn constant(&self, t: &RingTensor) -> RingTensor {
        if self.me == 0 {
            t.clone()
        } else {
            RingTensor::zeros(&t.shape)
        }
    }

    /// The product of the secrets `x` and `y` (this party's shares) with the
    /// triple `item` (random masks a, b; correlated c): e = x - a and f = y - b
    /// are opened, then the Beaver product.
    fn multiply(
        &self,
        product: OwnedProduct,
        x: RingTensor,
        y: RingTensor,
        mut item: Item,
        out: &mut [Vec<Part>],
    ) -> Task {
        let c = item.correlated.remove(0);
        let b = RingTensor::new(y.shape.clone(), item.random.remove(1));
        let a = RingTensor::new(x.shape.clone(), item.random.remove(0));
        let mut own = sub(&x.data, &a.data);
        own.extend(sub(&y.data, &b.data));
        let split = x.len();
        rounds::open(self, own, false, out, move |s, ef, _| {
            let e = RingTensor::new(a.shape.clone(), ef[..split].to_vec());
            let f = RingTensor::new(b.shape.clone(), ef[split..].to_vec());
            let p = product.borrow(&a, &b);
            let z = s.beaver(&p, (&e, &f), (&a, &b), c);
            Ok(Task::Done(Outcome::Secret(Share::plain(z))))
        })
    }

    /// A product of the secrets `x = e + A`, `y = f + B` whose masks'
    /// product `c` is this party's share (see `backend/beaver.rs`).
    fn beaver<S>(
        &self,
        p: &Product<'_, S>,
        ef: (&RingTensor, &RingTensor),
        ab: (&RingTensor, &RingTensor),
        c: Vec<u64>,
    ) -> RingTensor {
        beaver::product(self, p, ef, ab, |shape| RingTensor::new(shape.to_vec(), c))
    }

    fn start(
        &mut self,
        op: Interaction<'_, Share>,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let me = self.me;
        Ok(match op {
            Interaction::Input { party, ty, data } => {
                let values = input_values("semi2k", self.parties, me, party, ty, data)?;
                let n = ty.len();
                let x = if let Some(mut x) = values {
                    for prf in self.pairs.iter_mut().flatten() {
                        prf.sub_from(&mut x);
                    }
                    x
                } else {
                    self.pairs[party]
                        .as_mut()
                        .expect("a key with every other party")
                        .elements(n)
                };
                Task::Done(Outcome::Secret(Share::plain(RingTensor::new(
                    ty.shape.clone(),
                    x,
                ))))
            }
            Interaction::Mask { a } => {
                let shape = a.x.shape.clone();
                let mask = RingTensor::new(shape.clone(), self.material.mask(a.x.len())?);
                let x = a.x.clone();
                let own = sub(&x.data, &mask.data);
                rounds::open(self, own, false, out, move |_, e, _| {
                    Ok(Task::Done(Outcome::Secret(Share {
                        x,
                        mask: Some(Box::new(Masked {
                            e: RingTensor::new(shape, e),
                            a: mask,
                        })),
                    })))
                })
            }
            Interaction::Product(p) => {
                let (x, y) = p.operands();
                let nc = p.of(&x.x, &y.x).len();
                let item = self
                    .material
                    .take(&product_layout(true, x.x.len(), y.x.len(), nc))?;
                self.multiply(OwnedProduct::of(&p), x.x.clone(), y.x.clone(), item, out)
            }
            op @ (Interaction::LtZ { .. }
            | Interaction::EqZ { .. }
            | Interaction::Relu { .. }
            | Interaction::Max { .. }
            | Interaction::Argmax { .. }
            | Interaction::MaxPool { .. }) => {
                let a = op.composed_operand().expect("a composed operation");
                let x = a.x.clone();
                let composed = Composed::of_interaction(&op, &x.shape).expect("composed");
                let item = self.material.take(&composed.recording().layout)?;
                composed.run(self, &Rc::new(RefCell::new(item)), &x, out)?
            }
            Interaction::Trunc {
                a,
                amount,
                exact,
                bits,
            } => self.trunc(a, amount, bits as u32, exact, out)?,
            Interaction::Open { a } => {
                let shape = a.x.shape.clone();
                rounds::open(self, a.x.data.clone(), false, out, move |_, v, _| {
                    Ok(Task::Done(Outcome::Public(RingTensor::new(shape, v))))
                })
            }
            Interaction::Output { a, to } => {
                let part = Arc::new(a.x.data.clone());
                for (j, o) in out.iter_mut().enumerate() {
                    if j != me && to.contains(j) {
                        o.push(part.clone());
                    }
                }
                Task::Output {
                    shape: a.x.shape.clone(),
                    own: to.contains(me).then(|| a.x.data.clone()),
                }
            }
        })
    }
}

impl Semi2k {
    /// floor(x / 2^m) or one more, with probability the discarded fraction
    /// (Dalskov, Escudero and Keller, eprint 2019/131), for a K-bit x, K <= 63.
    /// With r uniform in the ring and its top bit and r_hi = floor((r mod
    /// 2^63) / 2^m) preprocessed, c = x + 2^(K-1) + r is opened (uniform, so
    /// hiding); b = c_msb ^ r_msb is the carry out of the lower 63 bits, and
    /// floor(c' / 2^m) - r_hi + b 2^(63-m) - 2^(K-1-m) (c' = c mod 2^63) is the
    /// quotient plus [c' mod 2^m < r mod 2^m], whose probability is the
    /// discarded fraction: the clear backend's distribution. One round.
    ///
    /// Exact truncation also subtracts that borrow: r's low m bits come as
    /// XOR-shared planes (r = r_lo + 2^m r_high, r_lo's ring value
    /// preprocessed too), and [c mod 2^m < r_lo] is a comparison of a public
    /// number with shared bits (see `compare.rs`): ceil(log2 m) + 2 rounds.
    fn trunc(
        &mut self,
        x: &Share,
        m: u32,
        k: u32,
        exact: bool,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let n = x.x.len();
        let mut item = self.material.take(&trunc_layout(n, m as usize, exact))?;
        let part = |parts: &mut Vec<Vec<u64>>, k: usize| std::mem::take(&mut parts[k]);
        let (r, r_msb, r_hi) = if exact {
            let (low, high) = (part(&mut item.correlated, 0), part(&mut item.random, 1));
            let r = low
                .iter()
                .zip(&high)
                .map(|(l, h)| l.wrapping_add(h << m))
                .collect();
            (
                r,
                part(&mut item.correlated, 1),
                part(&mut item.correlated, 2),
            )
        } else {
            (
                part(&mut item.random, 0),
                part(&mut item.correlated, 0),
                part(&mut item.correlated, 1),
            )
        };
        let offset = if self.me == 0 { 1u64 << (k - 1) } else { 0 };
        let own: Vec<u64> =
            x.x.data
                .iter()
                .zip(&r)
                .map(|(v, r)| v.wrapping_add(*r).wrapping_add(offset))
                .collect();
        let (shape, first) = (x.x.shape.clone(), self.me == 0);
        let mut rest = item;
        Ok(rounds::open(self, own, false, out, move |s, c, out| {
            let y: Vec<u64> = c
                .iter()
                .zip(r_msb.iter().zip(&r_hi))
                .map(|(&c, (&r_msb, &r_hi))| {
                    let c_msb = c >> 63;
                    // b = c_msb ^ r_msb = c_msb + r_msb - 2 c_msb r_msb, shared.
                    let b = r_msb
                        .wrapping_sub(2u64.wrapping_mul(c_msb).wrapping_mul(r_msb))
                        .wrapping_add(if first { c_msb } else { 0 });
                    let public = if first {
                        ((c & (u64::MAX >> 1)) >> m).wrapping_sub(1u64 << (k - 1 - m))
                    } else {
                        0
                    };
                    public
                        .wrapping_sub(r_hi)
                        .wrapping_add(b.wrapping_mul(1u64 << (63 - m)))
                })
                .collect();
            let y = RingTensor::new(shape.clone(), y);
            if !exact {
                return Ok(Task::Done(Outcome::Secret(Share::plain(y))));
            }
            let (w, stride) = (m as usize, n.div_ceil(64));
            let low = Planes::from_values(&c, w);
            let bits = Planes {
                n,
                stride,
                words: std::mem::take(&mut rest.random[0]),
            };
            let triples = compare::AndTriples::new(
                std::mem::take(&mut rest.random[2]),
                std::mem::take(&mut rest.random[3]),
                std::mem::take(&mut rest.correlated[3]),
                stride,
            );
            let dabit = (
                std::mem::take(&mut rest.random[4]),
                std::mem::take(&mut rest.correlated[4]),
            );
            let borrow = s.below(&low, &bits, w, vec![0; stride], triples, dabit, shape, out);
            Ok(Task::All(
                vec![borrow],
                Box::new(move |_, borrow, _| {
                    let borrow = secret(&borrow, 0);
                    Ok(Task::Done(Outcome::Secret(Share::plain(
                        y.sub(&borrow, &y.shape),
                    ))))
                }),
            ))
        }))
    }
}

/// The composed operations (`backend/compose.rs`) on additive shares, each
/// primitive taking its parts of the operation's item in turn.
impl Composer for Semi2k {
    type Share = RingTensor;
    type Task = Task;
    type Out = [Vec<Part>];
    type Material = Rc<RefCell<Item>>;

    fn ltz(
        &mut self,
        m: &Self::Material,
        x: &RingTensor,
        bits: u32,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let material = LtzMaterial::from_front(&mut m.borrow_mut());
        Ok(Semi2k::ltz(self, x, bits as usize, material, out))
    }
    fn mul(
        &mut self,
        m: &Self::Material,
        a: &RingTensor,
        b: &RingTensor,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let triple = {
            let mut item = m.borrow_mut();
            Item {
                random: item.random.drain(..2).collect(),
                correlated: item.correlated.drain(..1).collect(),
            }
        };
        let product = OwnedProduct::Mul(a.shape.clone());
        Ok(self.multiply(product, a.clone(), b.clone(), triple, out))
    }
    fn join(
        &mut self,
        tasks: Vec<Task>,
        then: Then<Semi2k>,
        _: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        Ok(Task::All(
            tasks,
            Box::new(move |s, outcomes, out| {
                let shares = (0..outcomes.len()).map(|k| secret(&outcomes, k)).collect();
                then(s, shares, out)
            }),
        ))
    }
    fn done(s: RingTensor) -> Task {
        Task::Done(Outcome::Secret(Share::plain(s)))
    }
    fn map(s: &RingTensor, f: &Map<'_>) -> RingTensor {
        f.apply(s)
    }
    fn zip(a: &RingTensor, b: &RingTensor, f: Zip) -> RingTensor {
        f.apply(a, b)
    }
    fn constant(&self, t: &RingTensor) -> RingTensor {
        Semi2k::constant(self, t)
    }
    fn shape(s: &RingTensor) -> Vec<usize> {
        s.shape.clone()
    }
}

/// Additive shares over Z_2^64, with no MAC: a public value is party 0's.
impl Sharing for Semi2k {
    type W = u64;
    type Share = RingTensor;

    fn public(&self, shape: &[usize], t: impl FnOnce() -> RingTensor) -> RingTensor {
        if self.me == 0 {
            t()
        } else {
            RingTensor::zeros(shape)
        }
    }
    fn map(s: &RingTensor, f: &dyn Fn(&RingTensor) -> RingTensor) -> RingTensor {
        f(s)
    }
    fn add(a: &RingTensor, b: &RingTensor) -> RingTensor {
        a.add(b, &a.shape)
    }
    fn shape(s: &RingTensor) -> Vec<usize> {
        s.shape.clone()
    }
    fn linear(args: &[&RingTensor], f: &dyn LinearMap) -> RingTensor {
        f.apply(args)
    }
    fn linear_public(args: &[&RingTensor], f: &dyn LinearMap) -> RingTensor {
        f.apply(args)
    }
}

impl Engine for Semi2k {
    type W = u64;
    type Share = Share;
    fn me(&self) -> usize {
        self.me
    }
    fn parties(&self) -> usize {
        self.parties
    }
    fn net(&mut self) -> &mut Network {
        &mut self.net
    }
    fn start(
        &mut self,
        op: Interaction<'_, Share>,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        Semi2k::start(self, op, out)
    }
}

impl Backend for Semi2k {
    type Share = Share;

    fn name(&self) -> &'static str {
        "semi2k"
    }
    fn threat_model(&self) -> &'static str {
        "passive adversary, dishonest majority (up to n-1 of n parties corrupted): additive secret sharing with Beaver products"
    }

    fn classify(&mut self, t: &RingTensor) -> Share {
        Share::plain(self.constant(t))
    }

    fn linear(&mut self, args: &[&Share], f: &dyn LinearMap) -> Share {
        let xs: Vec<&RingTensor> = args.iter().map(|s| &s.x).collect();
        Share::plain(f.apply(&xs))
    }

    fn add_public(&mut self, s: &Share, p: &RingTensor, out_shape: &[usize]) -> Share {
        let p = self.constant(p);
        Share::plain(s.x.add(&p, out_shape))
    }

    fn classify_masked(&mut self, t: &RingTensor) -> Share {
        Share {
            x: self.constant(t),
            mask: Some(Box::new(beaver::masked_public(self, t))),
        }
    }

    fn linear_masked(&mut self, args: &[&Share], f: &dyn LinearMap) -> Share {
        let masked: Vec<&Masked> = args
            .iter()
            .map(|s| {
                s.mask
                    .as_deref()
                    .expect("the verifier checks the operands are masked")
            })
            .collect();
        let xs: Vec<&RingTensor> = args.iter().map(|s| &s.x).collect();
        Share {
            x: f.apply(&xs),
            mask: Some(Box::new(beaver::masked_linear::<Semi2k>(&masked, f))),
        }
    }

    fn add_public_masked(&mut self, s: &Share, p: &RingTensor, out_shape: &[usize]) -> Share {
        let m = s
            .mask
            .as_deref()
            .expect("the verifier checks the operand is masked");
        Share {
            x: s.x.add(&self.constant(p), out_shape),
            mask: Some(Box::new(beaver::masked_add_public::<Semi2k>(
                m, p, out_shape,
            ))),
        }
    }

    fn masked_product(&mut self, p: Product<'_, Share>) -> Result<Share, VmError> {
        let (x, y) = p.operands();
        let (Some(mx), Some(my)) = (x.mask.as_deref(), y.mask.as_deref()) else {
            unreachable!("the verifier checks a product outside a round has masked operands")
        };
        let nc = p.of(&x.x, &y.x).len();
        let layout = product_layout(false, x.x.len(), y.x.len(), nc);
        let c = self.material.take(&layout)?.correlated.remove(0);
        Ok(Share::plain(self.beaver(
            &p,
            (&mx.e, &my.e),
            (&mx.a, &my.a),
            c,
        )))
    }

    fn skip(&mut self, range: Range<usize>) -> Result<(), VmError> {
        let program = self.program.clone();
        let items = *self
            .arm_items
            .entry((range.start, range.end))
            .or_insert_with(|| plan::count_items(&program, range, plan::Items::Beaver));
        self.material.skip(items)
    }

    fn round(&mut self, ops: Vec<Interaction<'_, Share>>) -> Result<Vec<Outcome<Share>>, VmError> {
        let (outcomes, sent_by_op) = rounds::run(self, ops)?;
        self.sent_by_op = sent_by_op;
        Ok(outcomes)
    }

    fn receives(&self, to: PartySet) -> bool {
        to.contains(self.me)
    }

    fn sent_by_operation(&self) -> &[u64] {
        &self.sent_by_op
    }

    fn share_words(&self, s: &Share) -> Vec<Vec<u64>> {
        vec![s.x.data.clone()]
    }

    fn share_from_words(
        &mut self,
        shape: &[usize],
        words: Vec<Vec<u64>>,
    ) -> Result<Share, VmError> {
        match <[Vec<u64>; 1]>::try_from(words) {
            Ok([x]) => Ok(Share::plain(RingTensor::new(shape.to_vec(), x))),
            Err(w) => Err(VmError::Input(format!(
                "a semi2k share has one component, not {}",
                w.len()
            ))),
        }
    }

    fn figures(&self) -> CommFigures {
        self.net.figures().since(self.setup)
    }

    fn offline(&self) -> Option<OfflineFigures> {
        self.offline
    }

    fn finish(&mut self) -> Result<(), VmError> {
        super::prep::all_used(self.material.left())
    }
}

/// The share of the `k`-th outcome, a secret.
fn secret(outcomes: &[Outcome<Share>], k: usize) -> RingTensor {
    match &outcomes[k] {
        Outcome::Secret(s) => s.x.clone(),
        _ => unreachable!("a comparison yields a secret"),
    }
}

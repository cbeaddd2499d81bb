//! `spdz2k`: n >= 2 parties, security with abort against an active adversary
//! corrupting any n - 1 of them (dishonest majority), by additive sharing
//! with information-theoretic MACs over Z_2^(k+s) (Cramer, Damgård,
//! Escudero, Scholl and Xing, "SPDZ2k: Efficient MPC mod 2^k for Dishonest
//! Majority", CRYPTO 2018), k = 64 (the language's ring) and s = 64.
//!
//! A secret x of Z_2^64 is held as x̃ in Z_2^128 with x̃ = x mod 2^64: party i
//! holds x_i and m_i with sum x_i = x̃ and sum m_i = alpha x̃, where the MAC
//! key alpha = sum alpha_i is shared too (each alpha_i from Z_2^64). Linear
//! maps act on x and m alike (`ring::WideTensor`); a public c joins party
//! 0's x_0 and every party's m_i as alpha_i c.
//!
//! Why s = 64: a party that changes an opened value (mod 2^64) passes the
//! batched check with probability at most 2^(-s + log2(s + 1)), about
//! 2^-57, per check (SPDZ2k's analysis of the random linear combination with
//! coefficients from Z_2^s); 128-bit words keep the arithmetic native.
//!
//! - Inputs: the owner knows the value r of an authenticated mask [r] and
//!   sends every party x - r; [x] = [r] + (x - r). A value sent
//!   inconsistently gives MACs that fail the check of any opening it enters.
//! - Products: Beaver's, with authenticated triples, on the round engine and
//!   the Beaver formula semi2k uses (`backend/rounds.rs`, `backend/beaver.rs`),
//!   including mask reuse; every opening is 128 bits, uniform because the
//!   mask is, and recorded for the MAC check.
//! - Openings: x + 2^64 t with t random is opened, hiding the bits above
//!   2^64 that products leave; outputs: x + r_q for each receiver q, r_q a
//!   mask q alone knows, who subtracts it. The MAC check ([`mac`]) of everything opened so
//!   far runs in every round batch that reveals, after its openings and
//!   before anything is returned, and at the end of the run.
//! - Truncation and comparisons from authenticated random bits (`compare`).
//!
//! The material ([`material`]) comes from the offline phase by OT
//! ([`offline`], the default), from its file (`mpcvm prep`), or from a
//! dealer (`--prep dealer`, INSECURE).

pub mod binary;
mod compare;
mod cost;
pub mod mac;
pub mod material;
pub mod offline;
pub mod triples;

pub use cost::{bytes_sent, rounds};

use super::beaver::{self, OwnedProduct};
use super::compose::{Composer, Map, Then, Zip};
use super::rounds::{self, Engine};
use super::semi2k::Composed;
use super::*;
use crate::bytecode::Program;
use crate::net::{Network, Part};
use crate::ring::Word;
use mac::{Auth, Keyed, Opened};
use material::{Material, Taken};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

pub const THREAT_MODEL: &str = "active adversary, dishonest majority (up to n-1 of n parties corrupted), security with abort: additive secret sharing with MACs over Z_2^128, checked before any output";

/// This party's authenticated share, with the opening and this party's share
/// of the mask where the value is masked.
#[derive(Clone, Debug)]
pub struct Share {
    pub a: Auth,
    pub mask: Option<Box<Masked>>,
}

/// A masked secret x = e + A: the public opening e and this party's
/// authenticated share of A.
pub type Masked = beaver::Masked<Auth, u128>;

impl Share {
    fn plain(a: Auth) -> Share {
        Share { a, mask: None }
    }
}

/// An operation (or part of one) between rounds.
pub(super) type Task = rounds::Task<Spdz2k>;

/// Values opened since the last check beyond which a round batch runs the
/// check even if it reveals nothing (the record's memory: 32 bytes each).
const CHECK_EVERY: usize = 1 << 22;

/// Why spdz2k cannot run a program needing `entry`, if it cannot: as
/// semi2k, it truncates values of at most 63 bits.
pub fn refuses(entry: &crate::bytecode::ManifestEntry) -> Option<String> {
    super::semi2k::refuses(entry).map(|why| why.replace("semi2k", "spdz2k"))
}

pub struct Spdz2k {
    net: Network,
    me: usize,
    parties: usize,
    keyed: Keyed,
    opened: Opened,
    material: Material,
    program: Arc<Program>,
    /// What the items of each branch arm take of the material (the
    /// dealer's frames, or items), by its code range (counted once).
    arm_units: HashMap<(usize, usize), u64>,
    /// The network's figures when the online phase began.
    setup: CommFigures,
    /// Words each operation of the last round queued to the peers.
    sent_by_op: Vec<u64>,
    /// Whether the round batch under way reveals (an opening or an output).
    reveals: bool,
    /// The offline phase's figures, if it ran in this run.
    offline: Option<OfflineFigures>,
}

impl Spdz2k {
    /// The backend of party `keyed.me` of `parties` over `net`, with its
    /// MAC key share and `material`; its online phase starts now.
    fn new(
        net: Network,
        parties: usize,
        program: Arc<Program>,
        keyed: Keyed,
        material: Material,
        offline: Option<OfflineFigures>,
    ) -> Spdz2k {
        Spdz2k {
            setup: net.figures(),
            net,
            me: keyed.me,
            parties,
            keyed,
            opened: Opened::default(),
            material,
            program,
            arm_units: HashMap::new(),
            sent_by_op: Vec::new(),
            reveals: false,
            offline,
        }
    }

    /// Set-up with a dealer (`--prep dealer`), the network's last node: one
    /// round in which the dealer sends each party its MAC key share; then
    /// each party reads its items from the dealer's stream.
    pub fn setup_with_dealer(mut net: Network, program: Arc<Program>) -> Result<Spdz2k, VmError> {
        let nodes = net.parties();
        let (me, parties) = (net.party(), nodes - 1);
        if parties < 2 {
            return Err(VmError::Usage("spdz2k needs at least 2 parties".into()));
        }
        let got = net
            .exchange(vec![Vec::new(); nodes])
            .map_err(VmError::Network)?;
        let (alpha_i, delta_i) = match u128::from_words(&got[parties]).as_slice() {
            [alpha_i, delta_i] if got[parties].len() == 4 => (*alpha_i, *delta_i),
            _ => {
                return Err(VmError::Network(
                    "the dealer sent malformed MAC key shares".into(),
                ))
            }
        };
        let mut from_dealer = net.take_stream(parties);
        from_dealer.limit_frames(material::LARGEST_FRAME);
        let material = Material::Dealt { me, from_dealer };
        let keyed = Keyed {
            me,
            alpha_i,
            delta_i,
        };
        Ok(Spdz2k::new(net, parties, program, keyed, material, None))
    }

    /// Set-up with preprocessing by OT (`--prep ot`): the offline phase
    /// ([`offline`]) makes every item and the MAC key shares with the other
    /// parties, telling `report` its progress.
    pub fn setup_with_ot(
        mut net: Network,
        program: Arc<Program>,
        report: &mut dyn FnMut(u64, u64),
    ) -> Result<Spdz2k, VmError> {
        let (me, parties) = (net.party(), net.parties());
        if parties < 2 {
            return Err(VmError::Usage("spdz2k needs at least 2 parties".into()));
        }
        let made = offline::offline(&program, &mut net, parties, report);
        if let Err(VmError::Cheating(why)) = &made {
            net.abort(why);
        }
        let (items, keyed, figures) = made?;
        let items = items.into();
        let material = Material::Made { me, items };
        Ok(Spdz2k::new(
            net,
            parties,
            program,
            keyed,
            material,
            Some(figures),
        ))
    }

    /// Set-up with material made ahead of time by OT (`mpcvm prep`, read
    /// with `--prep-dir`): the MAC key share, then the items.
    pub fn setup_with_file(
        net: Network,
        program: Arc<Program>,
        mut reader: super::prep::file::Reader,
    ) -> Result<Spdz2k, VmError> {
        let (me, parties) = (net.party(), net.parties());
        let (alpha_i, delta_i) = material::read_key(&mut reader)?;
        let keyed = Keyed {
            me,
            alpha_i,
            delta_i,
        };
        let material = Material::File { me, reader };
        Ok(Spdz2k::new(net, parties, program, keyed, material, None))
    }

    /// A public tensor of Z_2^64 as this party's authenticated share.
    fn constant(&self, t: &RingTensor) -> Auth {
        Auth::public(self.me, self.keyed.alpha_i, &t.convert())
    }

    /// Plus a public tensor of its shape.
    fn plus_public(&self, s: &Auth, p: &WideTensor) -> Auth {
        s.add_public(self.me, self.keyed.alpha_i, p, &s.x.shape)
    }

    /// Opens `own` (an authenticated share), records the opened values for
    /// the MAC check, then goes on with `then`.
    fn open(
        &self,
        own: Auth,
        out: &mut [Vec<Part>],
        then: impl FnOnce(&mut Spdz2k, Vec<u128>, &mut [Vec<Part>]) -> Result<Task, VmError> + 'static,
    ) -> Task {
        let Auth { x, m } = own;
        rounds::open(self, x.data, false, out, move |s, opened, out| {
            s.opened.add(&opened, &m.data);
            then(s, opened, out)
        })
    }

    /// Opens the binary shares `own` (bits 0 or 1 with binary MAC shares,
    /// [`binary`]), packed 128 to a word and XORed; records them for the MAC
    /// check, then goes on with `then`.
    fn open_bits(
        &self,
        own: Auth,
        out: &mut [Vec<Part>],
        then: impl FnOnce(&mut Spdz2k, Vec<bool>, &mut [Vec<Part>]) -> Result<Task, VmError> + 'static,
    ) -> Task {
        let n = own.x.len();
        let mut words = vec![0u128; n.div_ceil(128)];
        for (k, v) in own.x.data.iter().enumerate() {
            words[k / 128] |= (v & 1) << (k % 128);
        }
        let macs = own.m.data;
        rounds::open(self, words, true, out, move |s, opened, out| {
            // Bits past the end are zero at every honest party.
            if !n.is_multiple_of(128) && opened.last().is_some_and(|w| w >> (n % 128) != 0) {
                return Err(VmError::Network(
                    "a party opened bits past the end of a batch: a protocol violation".into(),
                ));
            }
            let bits: Vec<bool> = (0..n)
                .map(|k| opened[k / 128] >> (k % 128) & 1 == 1)
                .collect();
            s.opened.add_bits(bits.iter().copied(), &macs);
            then(s, bits, out)
        })
    }

    /// The product of the secrets `x` and `y` with the triple `(a, b, c)`:
    /// e = x - a and f = y - b are opened, then the Beaver product.
    fn multiply(
        &self,
        product: OwnedProduct,
        x: &Auth,
        y: &Auth,
        [a, b, c]: [Auth; 3],
        out: &mut [Vec<Part>],
    ) -> Task {
        let (a, b) = (a.reshape(&x.x.shape), b.reshape(&y.x.shape));
        let split = x.x.len();
        let ef = Auth::concat(&[&x.sub(&a), &y.sub(&b)]);
        self.open(ef, out, move |s, ef, _| {
            let e = WideTensor::new(a.x.shape.clone(), ef[..split].to_vec());
            let f = WideTensor::new(b.x.shape.clone(), ef[split..].to_vec());
            let p = product.borrow(&a, &b);
            let z = beaver::product(&s.keyed, &p, (&e, &f), (&a, &b), |shape| c.reshape(shape));
            Ok(Task::Done(Outcome::Secret(Share::plain(z))))
        })
    }

    /// Runs the MAC check of every value opened since the last one; on a
    /// failure tells the peers the run is aborted.
    fn check(&mut self) -> Result<(), VmError> {
        if self.opened.is_empty() {
            return Ok(());
        }
        let (me, parties, nodes) = (self.me, self.parties, self.net.parties());
        let net = &mut self.net;
        let mut round = |msg: Vec<u64>| -> Result<Vec<Vec<u64>>, VmError> {
            let part: Part = Arc::new(msg);
            let mut out = vec![Vec::new(); nodes];
            for (j, o) in out.iter_mut().enumerate().take(parties) {
                if j != me {
                    o.push(part.clone());
                }
            }
            let mut got = net.exchange(out).map_err(VmError::Network)?;
            got.truncate(parties);
            Ok(got)
        };
        let mut random = |n: usize| -> Result<Vec<u64>, VmError> {
            let key = super::semi2k::fresh_key()?;
            Ok(super::prf::Prf::new(key).elements(n))
        };
        let result = mac::check(&self.keyed, &mut self.opened, &mut round, &mut random);
        if let Err(VmError::Cheating(why)) = &result {
            self.net.abort(why);
        }
        result
    }

    fn take(&mut self, parts: &[material::Part]) -> Result<Vec<Taken>, VmError> {
        self.material.take(parts)
    }

    fn start(
        &mut self,
        op: Interaction<'_, Share>,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let me = self.me;
        Ok(match op {
            Interaction::Input { party, ty, data } => {
                let values = input_values("spdz2k", self.parties, me, party, ty, data)?;
                let n = ty.len();
                let mask = self
                    .take(&[material::Part::known(n, PartySet::single(party))])?
                    .remove(0);
                let shape = ty.shape.clone();
                let r = mask.a.reshape(&shape);
                match values {
                    Some(x) => {
                        let r_value = mask.value.expect("the owner knows its mask");
                        let d: Vec<u128> = x
                            .iter()
                            .zip(&r_value)
                            .map(|(x, r)| (*x as u128).wrapping_sub(*r))
                            .collect();
                        let part: Part = Arc::new(u128::to_words(&d));
                        for (j, o) in out.iter_mut().enumerate().take(self.parties) {
                            if j != me {
                                o.push(part.clone());
                            }
                        }
                        let d = WideTensor::new(shape, d);
                        Task::Done(Outcome::Secret(Share::plain(self.plus_public(&r, &d))))
                    }
                    None => Task::From {
                        from: party,
                        n,
                        then: Box::new(move |s, d, _| {
                            let d = WideTensor::new(shape, d);
                            Ok(Task::Done(Outcome::Secret(Share::plain(
                                s.plus_public(&r, &d),
                            ))))
                        }),
                    },
                }
            }
            Interaction::Mask { a } => {
                let r = self
                    .take(&[material::Part::uniform(a.a.x.len())])?
                    .remove(0)
                    .a
                    .reshape(&a.a.x.shape);
                let x = a.a.clone();
                self.open(x.sub(&r), out, move |_, e, _| {
                    let e = WideTensor::new(x.x.shape.clone(), e);
                    Ok(Task::Done(Outcome::Secret(Share {
                        a: x,
                        mask: Some(Box::new(Masked { e, a: r })),
                    })))
                })
            }
            Interaction::Product(p) => {
                let (x, y) = p.operands();
                let nc = p.of(&x.a.x, &y.a.x).len();
                let parts = [
                    material::Part::uniform(x.a.x.len()),
                    material::Part::uniform(y.a.x.len()),
                    material::Part::given(nc),
                ];
                let triple = self.take(&parts)?;
                self.multiply(OwnedProduct::of(&p), &x.a, &y.a, auths(triple), out)
            }
            op @ (Interaction::LtZ { .. }
            | Interaction::EqZ { .. }
            | Interaction::Relu { .. }
            | Interaction::Max { .. }
            | Interaction::Argmax { .. }
            | Interaction::MaxPool { .. }) => {
                let a = op.composed_operand().expect("a composed operation");
                let x = a.a.clone();
                let composed = Composed::of_interaction(&op, &x.x.shape).expect("composed");
                let parts = self.take(&material::composed_parts(&composed))?;
                let m = Rc::new(RefCell::new(parts.into_iter().collect::<VecDeque<_>>()));
                composed.run(self, &m, &x, out)?
            }
            Interaction::Trunc {
                a,
                amount,
                exact,
                bits,
            } => {
                let parts = material::trunc_parts(a.a.x.len(), amount as usize, exact);
                let taken = self.take(&parts)?;
                compare::trunc(self, &a.a, amount, bits as u32, exact, taken.into(), out)
            }
            Interaction::Open { a } => {
                self.reveals = true;
                let t = self
                    .take(&[material::Part::uniform(a.a.x.len())])?
                    .remove(0)
                    .a;
                let y = a.a.add(&t.shl(64).reshape(&a.a.x.shape));
                let shape = y.x.shape.clone();
                self.open(y, out, move |_, v, _| {
                    let low = v.iter().map(|v| v.low()).collect();
                    Ok(Task::Done(Outcome::Public(RingTensor::new(shape, low))))
                })
            }
            Interaction::Output { a, to } => {
                // x + r_q opened for each receiver q, r_q known to q alone.
                self.reveals = true;
                let n = a.a.x.len();
                let parts: Vec<_> = to
                    .iter()
                    .map(|q| material::Part::known(n, PartySet::single(q)))
                    .collect();
                let masks = self.take(&parts)?;
                let flat = a.a.reshape(&[n]);
                let mine = to.iter().position(|q| q == self.me);
                let ys: Vec<Auth> = masks.iter().map(|m| flat.add(&m.a)).collect();
                let r = mine.map(|k| {
                    (
                        k,
                        masks[k].value.clone().expect("a receiver knows its mask"),
                    )
                });
                let shape = a.a.x.shape.clone();
                self.open(
                    Auth::concat(&ys.iter().collect::<Vec<_>>()),
                    out,
                    move |_, v, _| {
                        let revealed = r.map(|(k, r)| {
                            let x = v[k * n..(k + 1) * n].iter().zip(&r);
                            RingTensor::new(
                                shape,
                                x.map(|(v, r)| v.wrapping_sub(*r).low()).collect(),
                            )
                        });
                        Ok(Task::Done(Outcome::Revealed(revealed)))
                    },
                )
            }
        })
    }
}

/// The authenticated shares of taken parts, in order.
fn auths<const N: usize>(taken: Vec<Taken>) -> [Auth; N] {
    let v: Vec<Auth> = taken.into_iter().map(|t| t.a).collect();
    v.try_into()
        .unwrap_or_else(|v: Vec<Auth>| unreachable!("{} parts where {N} were laid out", v.len()))
}

impl Engine for Spdz2k {
    type W = u128;
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
        Spdz2k::start(self, op, out)
    }
}

/// The composed operations (`backend/compose.rs`) on authenticated shares,
/// each primitive taking its parts of the operation's item in turn.
impl Composer for Spdz2k {
    type Share = Auth;
    type Task = Task;
    type Out = [Vec<Part>];
    type Material = Rc<RefCell<VecDeque<Taken>>>;

    fn ltz(
        &mut self,
        m: &Self::Material,
        x: &Auth,
        bits: u32,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let parts = material::ltz_parts(x.x.len(), bits as usize).len();
        let taken: VecDeque<Taken> = m.borrow_mut().drain(..parts).collect();
        Ok(compare::ltz(self, x, bits, taken, out))
    }
    fn mul(
        &mut self,
        m: &Self::Material,
        a: &Auth,
        b: &Auth,
        out: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        let triple = auths(m.borrow_mut().drain(..3).collect());
        let product = OwnedProduct::Mul(a.x.shape.clone());
        Ok(self.multiply(product, a, b, triple, out))
    }
    fn join(
        &mut self,
        tasks: Vec<Task>,
        then: Then<Spdz2k>,
        _: &mut [Vec<Part>],
    ) -> Result<Task, VmError> {
        Ok(Task::All(
            tasks,
            Box::new(move |s, outcomes, out| {
                let shares = outcomes.iter().map(secret).collect();
                then(s, shares, out)
            }),
        ))
    }
    fn done(s: Auth) -> Task {
        Task::Done(Outcome::Secret(Share::plain(s)))
    }
    fn map(s: &Auth, f: &Map<'_>) -> Auth {
        s.map(|t| f.apply(t))
    }
    fn zip(a: &Auth, b: &Auth, f: Zip) -> Auth {
        a.zip(b, |x, y| f.apply(x, y))
    }
    fn constant(&self, t: &RingTensor) -> Auth {
        Spdz2k::constant(self, t)
    }
    fn shape(s: &Auth) -> Vec<usize> {
        s.x.shape.clone()
    }
}

/// The authenticated share of an outcome that is a secret.
fn secret(o: &Outcome<Share>) -> Auth {
    match o {
        Outcome::Secret(s) => s.a.clone(),
        _ => unreachable!("a primitive yields a secret"),
    }
}

impl Backend for Spdz2k {
    type Share = Share;

    fn name(&self) -> &'static str {
        "spdz2k"
    }
    fn threat_model(&self) -> &'static str {
        THREAT_MODEL
    }

    fn classify(&mut self, t: &RingTensor) -> Share {
        Share::plain(self.constant(t))
    }

    fn linear(&mut self, args: &[&Share], f: &dyn LinearMap) -> Share {
        let xs: Vec<&Auth> = args.iter().map(|s| &s.a).collect();
        Share::plain(Auth::linear(&xs, f))
    }

    fn add_public(&mut self, s: &Share, p: &RingTensor, out_shape: &[usize]) -> Share {
        Share::plain(s.a.add_public(self.me, self.keyed.alpha_i, &p.convert(), out_shape))
    }

    fn classify_masked(&mut self, t: &RingTensor) -> Share {
        let wide = t.convert();
        Share {
            a: self.constant(t),
            mask: Some(Box::new(beaver::masked_public(&self.keyed, &wide))),
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
        let xs: Vec<&Auth> = args.iter().map(|s| &s.a).collect();
        Share {
            a: Auth::linear(&xs, f),
            mask: Some(Box::new(beaver::masked_linear::<Keyed>(&masked, f))),
        }
    }

    fn add_public_masked(&mut self, s: &Share, p: &RingTensor, out_shape: &[usize]) -> Share {
        let m = s
            .mask
            .as_deref()
            .expect("the verifier checks the operand is masked");
        let wide = p.convert();
        Share {
            a: s.a
                .add_public(self.me, self.keyed.alpha_i, &wide, out_shape),
            mask: Some(Box::new(beaver::masked_add_public::<Keyed>(
                m, &wide, out_shape,
            ))),
        }
    }

    fn masked_product(&mut self, p: Product<'_, Share>) -> Result<Share, VmError> {
        let (x, y) = p.operands();
        let (Some(mx), Some(my)) = (x.mask.as_deref(), y.mask.as_deref()) else {
            unreachable!("the verifier checks a product outside a round has masked operands")
        };
        let nc = p.of(&x.a.x, &y.a.x).len();
        let c = self.take(&[material::Part::given(nc)])?.remove(0).a;
        Ok(Share::plain(beaver::product(
            &self.keyed,
            &p,
            (&mx.e, &my.e),
            (&mx.a, &my.a),
            |shape| c.reshape(shape),
        )))
    }

    fn skip(&mut self, range: Range<usize>) -> Result<(), VmError> {
        let program = self.program.clone();
        let units = match self.arm_units.get(&(range.start, range.end)) {
            Some(u) => *u,
            None => {
                let u = self.material.units_in(&program, range.clone())?;
                self.arm_units.insert((range.start, range.end), u);
                u
            }
        };
        self.material.skip(units)
    }

    fn round(&mut self, ops: Vec<Interaction<'_, Share>>) -> Result<Vec<Outcome<Share>>, VmError> {
        self.reveals = false;
        let (outcomes, sent_by_op) = rounds::run(self, ops)?;
        self.sent_by_op = sent_by_op;
        if self.reveals || self.opened.len() > CHECK_EVERY {
            self.check()?;
        }
        Ok(outcomes)
    }

    fn receives(&self, to: PartySet) -> bool {
        to.contains(self.me)
    }

    fn sent_by_operation(&self) -> &[u64] {
        &self.sent_by_op
    }

    fn share_words(&self, s: &Share) -> Vec<Vec<u64>> {
        vec![u128::to_words(&s.a.x.data), u128::to_words(&s.a.m.data)]
    }

    fn share_from_words(&mut self, _: &[usize], _: Vec<Vec<u64>>) -> Result<Share, VmError> {
        Err(VmError::Usage(
            "spdz2k cannot load kept shares: its MAC key is made afresh for each run, so shares from another run do not verify".into(),
        ))
    }

    fn figures(&self) -> CommFigures {
        self.net.figures().since(self.setup)
    }

    fn finish(&mut self) -> Result<(), VmError> {
        self.check()?;
        super::prep::all_used(self.material.left())
    }

    fn offline(&self) -> Option<OfflineFigures> {
        self.offline
    }
}

//! spdz2k's offline phase (`--prep ot`): the parties make every item of
//! the program together, secure against any n - 1 of them deviating, from
//! three kinds of checked material:
//!
//! - authenticated values by the VOLE ([`crate::backend::ot::vole`]): a
//!   uniform value (every party contributes its random share), a value one
//!   party knows (an input's or an output receiver's mask: the others
//!   contribute zeros);
//! - triples of any product's shape by OT, checked by sacrifice
//!   ([`super::triples`]): a batched product's triple, the elementwise
//!   triples of comparisons and truncations;
//! - authenticated random bits: each party inputs a bit b_i as a known
//!   value, the bits are XORed arithmetically (y <- y + b_i - 2 y b_i, a
//!   Beaver product with a triple, n - 1 rounds), and y² - y is opened and
//!   must be 0 (a Beaver square): it is only if y is 0 or 1 modulo 2^64,
//!   which holds for both values of an honest party's bit only if the
//!   others' XOR was a bit too; a value below 2^m is m such bits weighted.
//!
//! Products of masks (mask reuse) are Beaver products of the masks with a
//! triple of the product's shape. Every opening joins one MAC check at the
//! end of the phase, before any item is used.
//!
//! The items are planned by walking the program ([`replay`]) three times:
//! to count what each needs (`Collector`), to hand them out in plan order
//! (`Assembler`), and for the MAC shares of the masks whose products the
//! second walk met (`MacWalk`: a mask's shares and MAC shares derive by the
//! same linear maps).

use super::binary::and::AndPool;
use super::binary::eda;
use super::binary::{and, da, Bits};
use super::mac::{self, Auth, Keyed, Opened};
use super::mac::{CHECK_ROUNDS, CHECK_WORDS, COINS_ROUNDS, COINS_WORDS};
use super::material::{composed_parts, io_parts, trunc_parts, Part, Taken, Value};
use super::triples::{self, TripleJob};
use crate::backend::ot::base;
use crate::backend::ot::cot::{CHECK_BYTES, SETUP_BYTES_PER_PEER, SETUP_ROUNDS};
use crate::backend::ot::softspoken::BLOCKS;
use crate::backend::ot::vole::Vole;
use crate::backend::ot::vole::KEY_BITS;
use crate::backend::ot::Pairwise;
use crate::backend::prep::ot::Cost;
use crate::backend::prep::plan::Items;
use crate::backend::prep::replay::{replay, Producer};
use crate::backend::prep::terms::Terms;
use crate::backend::prf::Prf;
use crate::backend::semi2k::Composed;
use crate::backend::OfflineFigures;
use crate::bytecode::{operands, Instr, Program};
use crate::interp::linear_map;
use crate::net::Network;
use crate::ring::{WideTensor, Word};
use crate::VmError;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// Values authenticated per VOLE: 1 KiB of corrections each per peer, so a
/// message of 16 MiB.
const AUTH_CHUNK: usize = 1 << 14;

/// Values opened per round: 16 MiB to each peer.
const OPEN_CHUNK: usize = 1 << 20;

/// The largest frame of the offline phase: a VOLE's corrections.
const LARGEST_FRAME: u64 = 16 * 64 * (AUTH_CHUNK as u64 + 1) + 64;

/// One party's end of the offline phase: the network, the checked OT
/// extensions and VOLEs with every peer, its MAC key share, and the values
/// opened since the last MAC check.
pub struct Session<'n> {
    pub me: usize,
    pub parties: usize,
    pub(super) net: &'n mut Network,
    pub(super) ot: Pairwise,
    vole: Vole,
    pub keyed: Keyed,
    pub(super) rng: Prf,
    opened: Opened,
    /// Per peer, since the last [`Session::check_bits`]: a hash of the MACs
    /// of the bits this party opened to it, and of the MACs its keys
    /// predict for the bits the peer opened.
    pub(super) bits_opened: Vec<(blake3::Hasher, blake3::Hasher)>,
    /// Tweaks of the binary hash used so far (each use takes fresh ones).
    pub(super) tweaks: u64,
    /// The tamper harness's liar (tests only): this party inputs the first
    /// strict edaBit of each batch with its value 2^w above its bits, a lie
    /// the edaBits' check must catch.
    #[cfg(feature = "tamper")]
    pub out_of_range: bool,
}

impl<'n> Session<'n> {
    /// The base OTs and extensions (checked) with every other of the first
    /// `parties` nodes, and the VOLEs under a fresh MAC key share.
    pub fn setup(net: &'n mut Network, parties: usize) -> Result<Session<'n>, VmError> {
        let me = net.party();
        let mut rng = Prf::new(crate::backend::semi2k::fresh_key()?);
        let alpha = rng.elements(1)[0];
        let delta = u128::from_words(&rng.elements(2))[0];
        net.limit_frames(net.frame_limit().max(LARGEST_FRAME));
        let ot = Pairwise::setup_with_delta(net, parties, delta)?.checked();
        let vole = Vole::setup(net, parties, alpha)?;
        Ok(Session {
            me,
            parties,
            net,
            ot,
            vole,
            keyed: Keyed {
                me,
                alpha_i: alpha as u128,
                delta_i: delta,
            },
            rng,
            opened: Opened::default(),
            bits_opened: vec![Default::default(); parties],
            tweaks: 0,
            #[cfg(feature = "tamper")]
            out_of_range: false,
        })
    }

    pub fn draw_wide(&mut self, n: usize) -> Vec<u128> {
        u128::from_words(&self.rng.elements(2 * n))
    }

    /// One message to each peer (this party's own entry empty), each
    /// peer's back.
    pub(super) fn exchange(&mut self, out: Vec<Vec<u64>>) -> Result<Vec<Vec<u64>>, VmError> {
        exchange(self.net, self.parties, out)
    }

    /// The same message to every peer, each peer's back.
    pub(super) fn broadcast(&mut self, words: Vec<u64>) -> Result<Vec<Vec<u64>>, VmError> {
        broadcast(self.net, self.me, self.parties, words)
    }

    /// `n` coefficients of Z_2^64 no party could choose (two rounds).
    pub fn coins(&mut self, n: usize) -> Result<Vec<u64>, VmError> {
        let (me, parties, net, rng) = (self.me, self.parties, &mut *self.net, &mut self.rng);
        let mut round = |words: Vec<u64>| broadcast(net, me, parties, words);
        let mut random = |k: usize| Ok(rng.elements(k));
        mac::coins(me, n, &mut round, &mut random)
    }

    /// A stream of coins no party could choose: a PRF under a key from
    /// [`Session::coins`].
    pub fn coin_stream(&mut self) -> Result<Prf, VmError> {
        let key = self.coins(2)?;
        Ok(Prf::new(bytemuck::cast([key[0], key[1]])))
    }

    /// This party's MAC shares of Σ_i values_i (every party's vector of the
    /// same length; with `owner`, that party's alone, the others' zeros),
    /// [`AUTH_CHUNK`] at a time.
    pub fn authenticate(
        &mut self,
        owner: Option<usize>,
        values: &[u128],
    ) -> Result<Vec<u128>, VmError> {
        let (me, parties) = (self.me, self.parties);
        let mut macs = Vec::with_capacity(values.len());
        for chunk in values.chunks(AUTH_CHUNK) {
            let (net, rng) = (&mut *self.net, &mut self.rng);
            let mut round = |out: Vec<Vec<u64>>| exchange(net, parties, out);
            let mut random = |k: usize| Ok(rng.elements(k));
            macs.extend(
                self.vole
                    .authenticate(me, owner, chunk, &mut round, &mut random)?,
            );
        }
        Ok(macs)
    }

    /// Opens `s` to every party (one round per [`OPEN_CHUNK`] values) and
    /// records it for the next MAC check.
    pub fn open(&mut self, s: &Auth) -> Result<Vec<u128>, VmError> {
        let mut values = Vec::with_capacity(s.x.len());
        for (x, m) in s.x.data.chunks(OPEN_CHUNK).zip(s.m.data.chunks(OPEN_CHUNK)) {
            let words = u128::to_words(x);
            let out = (0..self.parties)
                .map(|p| {
                    if p == self.me {
                        Vec::new()
                    } else {
                        words.clone()
                    }
                })
                .collect();
            let got = self.exchange(out)?;
            let mut sum = x.to_vec();
            for (p, words) in got.iter().enumerate().filter(|(p, _)| *p != self.me) {
                if words.len() != 2 * sum.len() {
                    return Err(VmError::Cheating(format!(
                        "party {p} opened {} words in the preprocessing, not {}: a protocol violation",
                        words.len(),
                        2 * sum.len()
                    )));
                }
                for (s, v) in sum.iter_mut().zip(u128::from_words(words)) {
                    *s = s.wrapping_add(v);
                }
            }
            self.opened.add(&sum, m);
            values.extend(sum);
        }
        Ok(values)
    }

    /// The MAC check of every value opened since the last (four rounds).
    pub fn check_macs(&mut self) -> Result<(), VmError> {
        let (me, parties, net, rng) = (self.me, self.parties, &mut *self.net, &mut self.rng);
        let mut round = |words: Vec<u64>| broadcast(net, me, parties, words);
        let mut random = |k: usize| Ok(rng.elements(k));
        mac::check(&self.keyed, &mut self.opened, &mut round, &mut random)
    }

    /// Elementwise Beaver products x_k y_k with the triples `(a, b, c)`
    /// (one round).
    fn multiply(&mut self, x: &Auth, y: &Auth, [a, b, c]: &[Auth; 3]) -> Result<Auth, VmError> {
        let n = x.x.len();
        let ef = self.open(&Auth::concat(&[&x.sub(a), &y.sub(b)]))?;
        let (e, f) = (
            WideTensor::new(vec![n], ef[..n].to_vec()),
            WideTensor::new(vec![n], ef[n..].to_vec()),
        );
        let ef_public = e.mul(&f, &[n]);
        Ok(c.add(&b.scale(&e)).add(&a.scale(&f)).add_public(
            self.me,
            self.keyed.alpha_i,
            &ef_public,
            &[n],
        ))
    }

    /// `n` authenticated random bits from the parties' `inputs` (party i's
    /// bits at `i * n..`), with `parties` elementwise triples of `n` each.
    pub(super) fn bits(&mut self, inputs: &Auth, triples: &[[Auth; 3]]) -> Result<Auth, VmError> {
        let n = inputs.x.len() / self.parties;
        let mut y = inputs.range(0..n);
        for i in 1..self.parties {
            let b = inputs.range(i * n..(i + 1) * n);
            let yb = self.multiply(&y, &b, &triples[i - 1])?;
            y = y.add(&b).sub(&yb.shl(1));
        }
        let square = self.multiply(&y, &y, &triples[self.parties - 1])?;
        let zero = self.open(&square.sub(&y))?;
        if let Some(k) = zero.iter().position(|z| *z != 0) {
            return Err(VmError::Cheating(format!(
                "cheating detected by party {}: random bit {k} of {n} is not a bit (a party input a value other than 0 or 1 into the preprocessing)",
                self.me
            )));
        }
        Ok(y)
    }
}

fn exchange(
    net: &mut Network,
    parties: usize,
    out: Vec<Vec<u64>>,
) -> Result<Vec<Vec<u64>>, VmError> {
    let mut parts: Vec<Vec<crate::net::Part>> = vec![Vec::new(); net.parties()];
    for (p, words) in out.into_iter().enumerate() {
        if !words.is_empty() {
            parts[p].push(Arc::new(words));
        }
    }
    let mut got = net.exchange(parts).map_err(VmError::Network)?;
    got.truncate(parties);
    Ok(got)
}

pub(super) fn broadcast(
    net: &mut Network,
    me: usize,
    parties: usize,
    words: Vec<u64>,
) -> Result<Vec<Vec<u64>>, VmError> {
    let out = (0..parties)
        .map(|p| if p == me { Vec::new() } else { words.clone() })
        .collect();
    exchange(net, parties, out)
}

/// How a part, or a run of parts, of an item is made.
#[derive(Clone, Copy, Debug)]
enum Draw {
    Uniform(usize),
    Below {
        n: usize,
        bits: u32,
    },
    Known {
        n: usize,
        owner: usize,
    },
    /// An elementwise triple of `n`: three parts.
    Triple(usize),
    /// The next triple of a product's shape: three parts (a product of
    /// masks turns its triple into the product).
    Shaped,
    /// `n` edaBits: two parts.
    Eda {
        n: usize,
        kind: EdaKind,
    },
    /// `n` daBits: two parts.
    Da(usize),
    /// `n` binary AND triples: three parts.
    And(usize),
}

/// edaBits of `bits` bits, loose or strict ([`eda`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct EdaKind {
    bits: u32,
    strict: bool,
}

/// How the parts of a (non-product) item are made.
fn draws(parts: &[Part]) -> Vec<Draw> {
    let mut out: Vec<Draw> = Vec::with_capacity(parts.len());
    let mut parts = parts.iter().peekable();
    while let Some(p) = parts.next() {
        let draw = match (p.value, parts.peek().map(|q| q.value)) {
            (Value::Random { bits: 1 }, Some(Value::BitsOf { bits: 1 })) => {
                parts.next();
                Draw::Da(p.n)
            }
            (Value::Random { bits: range }, Some(Value::BitsOf { bits })) => {
                parts.next();
                let strict = range < 128;
                debug_assert!(!strict || range == bits, "a strict edaBit's bits are all");
                Draw::Eda {
                    n: p.n,
                    kind: EdaKind { bits, strict },
                }
            }
            (Value::Binary, _) => {
                // a, b, then a AND b.
                parts.next();
                parts.next();
                Draw::And(p.n)
            }
            (Value::And | Value::BitsOf { .. }, _) => {
                unreachable!("binary parts come in AND triples, edaBits and daBits")
            }
            (Value::Random { bits: 128 }, _) => Draw::Uniform(p.n),
            (Value::Random { bits }, _) => Draw::Below { n: p.n, bits },
            (Value::Known(to), _) => Draw::Known {
                n: p.n,
                owner: to.iter().next().expect("a mask known to one party"),
            },
            (Value::Product, _) => {
                out.truncate(out.len() - 2);
                Draw::Triple(p.n)
            }
            (Value::Given, _) => unreachable!("only a product's item has a given part"),
        };
        out.push(draw);
    }
    out
}

/// The first walk: what every item needs, and the shapes of the triples.
struct Collector<'p> {
    program: &'p Program,
    items: Vec<Vec<Draw>>,
    /// The product instructions of the triples of a shape, in plan order:
    /// batched products' and products of masks' alike.
    shaped: Vec<Instr>,
    /// Elements of the operands of the products of masks.
    mask_operands: usize,
}

impl Producer for Collector<'_> {
    type W = u128;
    const ITEMS: Items = Items::Authenticated;

    fn mask(&mut self, shape: &[usize]) -> Result<WideTensor, VmError> {
        self.items.push(vec![Draw::Uniform(shape.iter().product())]);
        Ok(WideTensor::zeros(shape))
    }
    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&WideTensor, &WideTensor)>,
    ) -> Result<(), VmError> {
        if let Some((x, y)) = masks {
            self.mask_operands += x.len() + y.len();
        }
        self.shaped.push(i.clone());
        self.items.push(vec![Draw::Shaped]);
        Ok(())
    }
    fn trunc(&mut self, n: usize, m: u32, exact: bool) -> Result<(), VmError> {
        self.items.push(draws(&trunc_parts(n, m as usize, exact)));
        Ok(())
    }
    fn composed(&mut self, c: &Composed) -> Result<(), VmError> {
        self.items.push(draws(&composed_parts(c)));
        Ok(())
    }
    fn io(&mut self, i: &Instr) -> Result<(), VmError> {
        self.items.push(draws(&io_parts(self.program, i)));
        Ok(())
    }
}

/// Made material handed out in order.
struct Pool {
    a: Auth,
    values: Option<Vec<u128>>,
    at: usize,
}

impl Pool {
    fn new(a: Auth, values: Option<Vec<u128>>) -> Pool {
        Pool { a, values, at: 0 }
    }
    fn take(&mut self, n: usize) -> Taken {
        let range = self.at..self.at + n;
        self.at += n;
        Taken {
            value: self.values.as_ref().map(|v| v[range.clone()].to_vec()),
            a: self.a.range(range),
        }
    }
}

/// Everything the items are cut from.
struct Pools {
    uniform: Pool,
    bits: Pool,
    /// Per party, values it knows.
    known: Vec<Pool>,
    triples: [Pool; 3],
    shaped: VecDeque<[Auth; 3]>,
    /// Per kind, edaBits: their values and each bit's row (binary).
    eda: BTreeMap<EdaKind, (Pool, Vec<Pool>)>,
    /// daBits: as values and in binary.
    da: [Pool; 2],
    /// Binary AND triples.
    ands: [Pool; 3],
}

impl Pools {
    /// The parts of a need.
    fn parts(&mut self, draws: &[Draw]) -> Vec<Taken> {
        let mut parts = Vec::new();
        for d in draws {
            match *d {
                Draw::Uniform(n) => parts.push(self.uniform.take(n)),
                Draw::Below { n, bits: 1 } => parts.push(self.bits.take(n)),
                Draw::Below { n, bits } => {
                    // A strict edaBit's value, its bits left unused.
                    let kind = EdaKind { bits, strict: true };
                    parts.push(self.eda(n, kind).remove(0));
                }
                Draw::Known { n, owner } => parts.push(self.known[owner].take(n)),
                Draw::Triple(n) => parts.extend(self.triples.iter_mut().map(|p| p.take(n))),
                Draw::Shaped => {
                    let t = self.shaped.pop_front().expect("a triple per product");
                    parts.extend(t.into_iter().map(|a| Taken { a, value: None }));
                }
                Draw::Eda { n, kind } => parts.extend(self.eda(n, kind)),
                Draw::Da(n) => parts.extend(self.da.iter_mut().map(|p| p.take(n))),
                Draw::And(n) => parts.extend(self.ands.iter_mut().map(|p| p.take(n))),
            }
        }
        parts
    }

    /// `n` edaBits of `kind`: their values, and their bits bit-major.
    fn eda(&mut self, n: usize, kind: EdaKind) -> Vec<Taken> {
        let (values, rows) = self.eda.get_mut(&kind).expect("edaBits of each kind");
        let rows: Vec<Auth> = rows.iter_mut().map(|r| r.take(n).a).collect();
        vec![
            values.take(n),
            Taken {
                a: Auth::concat(&rows.iter().collect::<Vec<_>>()),
                value: None,
            },
        ]
    }
}

/// The second walk: the items in plan order, with the masks of products of
/// masks set aside (their x shares; their MAC shares on a third walk).
struct Assembler<'a> {
    pools: &'a mut Pools,
    needs: std::vec::IntoIter<Vec<Draw>>,
    items: Vec<Vec<Taken>>,
    masks: Vec<Auth>,
    /// Each product of masks: its instruction, its operands' masks (x
    /// shares) and its item (which holds its triple until the product).
    mask_products: Vec<(Instr, WideTensor, WideTensor, usize)>,
}

impl Producer for Assembler<'_> {
    type W = u128;
    const ITEMS: Items = Items::Authenticated;

    fn mask(&mut self, shape: &[usize]) -> Result<WideTensor, VmError> {
        let need = self.needs.next().expect("the walks agree");
        let part = self.pools.parts(&need).remove(0);
        self.masks.push(part.a.reshape(shape));
        self.items.push(vec![part]);
        Ok(self.masks.last().expect("just pushed").x.clone())
    }
    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&WideTensor, &WideTensor)>,
    ) -> Result<(), VmError> {
        let need = self.needs.next().expect("the walks agree");
        if let Some((x, y)) = masks {
            self.mask_products
                .push((i.clone(), x.clone(), y.clone(), self.items.len()));
        }
        self.items.push(self.pools.parts(&need));
        Ok(())
    }
    fn trunc(&mut self, _: usize, _: u32, _: bool) -> Result<(), VmError> {
        self.next_item();
        Ok(())
    }
    fn composed(&mut self, _: &Composed) -> Result<(), VmError> {
        self.next_item();
        Ok(())
    }
    fn io(&mut self, _: &Instr) -> Result<(), VmError> {
        self.next_item();
        Ok(())
    }
}

impl Assembler<'_> {
    fn next_item(&mut self) {
        let need = self.needs.next().expect("the walks agree");
        self.items.push(self.pools.parts(&need));
    }
}

/// The third walk: the MAC shares of the same masks, derived alike.
struct MacWalk {
    masks: std::vec::IntoIter<Auth>,
    operands: Vec<(WideTensor, WideTensor)>,
}

impl Producer for MacWalk {
    type W = u128;
    const ITEMS: Items = Items::Authenticated;

    fn mask(&mut self, _: &[usize]) -> Result<WideTensor, VmError> {
        Ok(self.masks.next().expect("the walks agree").m)
    }
    fn product(
        &mut self,
        _: &Instr,
        masks: Option<(&WideTensor, &WideTensor)>,
    ) -> Result<(), VmError> {
        if let Some((x, y)) = masks {
            self.operands.push((x.clone(), y.clone()));
        }
        Ok(())
    }
    fn trunc(&mut self, _: usize, _: u32, _: bool) -> Result<(), VmError> {
        Ok(())
    }
    fn composed(&mut self, _: &Composed) -> Result<(), VmError> {
        Ok(())
    }
}

/// The triple of product instruction `i`'s shape.
fn shaped_job(p: &Program, i: &Instr) -> TripleJob {
    let (reads, dst) = operands(i);
    let len = |r: u32| p.registers[r as usize].len();
    TripleJob {
        terms: Rc::new(Terms::of(p, i)),
        na: len(reads[0]),
        nb: len(reads[1]),
        nc: len(dst.expect("a product writes")),
    }
}

/// What the offline phase of a program makes: each item's needs, the
/// triples of every product's shape and the elementwise ones, the uniform
/// values, the random bits, the values each party knows, and the binary
/// material: edaBits per kind (strict ones also for the values below 2^w,
/// w > 1), daBits and AND triples.
struct Plan {
    needs: Vec<Vec<Draw>>,
    jobs: Vec<TripleJob>,
    /// Elements of the operands of the products of masks (opened once).
    mask_operands: usize,
    uniform: usize,
    bits: usize,
    elementwise: usize,
    known: Vec<usize>,
    eda: BTreeMap<EdaKind, usize>,
    /// daBits of the items.
    da: usize,
    ands: usize,
}

impl Plan {
    /// Whether the program takes binary material.
    fn binary(&self) -> bool {
        !self.eda.is_empty() || self.da > 0 || self.ands > 0
    }

    /// AND triples made: the items' and the edaBits'.
    fn and_triples(&self, parties: usize) -> usize {
        self.ands
            + self
                .eda
                .iter()
                .map(|(k, n)| eda::and_gates(*n, k.bits as usize, k.strict, parties))
                .sum::<usize>()
    }

    /// daBits made: the items' and those bringing back the strict edaBits'
    /// carries.
    fn da_bits(&self, parties: usize) -> usize {
        self.da + self.carries(parties)
    }

    /// The strict edaBits' carries.
    fn carries(&self, parties: usize) -> usize {
        let strict = self.eda.iter().filter(|(k, _)| k.strict);
        strict.map(|(_, n)| n).sum::<usize>() * eda::carry_bits(parties)
    }
}

impl Plan {
    fn of(program: &Program, parties: usize) -> Result<Plan, VmError> {
        let mut collector = Collector {
            program,
            items: Vec::new(),
            shaped: Vec::new(),
            mask_operands: 0,
        };
        replay(program, &mut collector)?;
        let (mut uniform, mut bits, mut elementwise) = (0usize, 0usize, 0usize);
        let mut known = vec![0usize; parties];
        let (mut eda, mut da, mut ands) = (BTreeMap::new(), 0usize, 0usize);
        for d in collector.items.iter().flatten() {
            match *d {
                Draw::Uniform(n) => uniform += n,
                Draw::Below { n, bits: 1 } => bits += n,
                Draw::Below { n, bits } => {
                    *eda.entry(EdaKind { bits, strict: true }).or_insert(0) += n
                }
                Draw::Known { n, owner } => known[owner] += n,
                Draw::Triple(n) => elementwise += n,
                Draw::Shaped => {}
                Draw::Eda { n, kind } => *eda.entry(kind).or_insert(0) += n,
                Draw::Da(n) => da += n,
                Draw::And(n) => ands += n,
            }
        }
        let mut plan = Plan {
            needs: collector.items,
            jobs: Vec::new(),
            mask_operands: collector.mask_operands,
            uniform,
            bits,
            elementwise,
            known,
            eda,
            da,
            ands,
        };
        // The elementwise triples (the bits' and daBits' too: n - 1 XORs
        // and a square each), then each product's.
        let bit_like = plan.bits + plan.da_bits(parties);
        plan.jobs = vec![TripleJob::elementwise(elementwise + parties * bit_like)];
        plan.jobs
            .extend(collector.shaped.iter().map(|i| shaped_job(program, i)));
        Ok(plan)
    }
}

/// What each party sends in the offline phase of `program` among
/// `parties`: the steps of [`make`], counted.
pub fn cost(program: &Program, parties: usize) -> Result<Vec<Cost>, VmError> {
    let plan = Plan::of(program, parties)?;
    Ok((0..parties).map(|me| plan.cost(me, parties)).collect())
}

impl Plan {
    /// What party `me` sends in the offline phase.
    fn cost(&self, me: usize, parties: usize) -> Cost {
        let peers = parties as u64 - 1;
        let mut c = Cost::default();
        let step = |c: &mut Cost, rounds: u64, words: u64| {
            c.rounds += rounds;
            c.bytes_sent += 8 * words * peers;
        };
        let authenticate = |c: &mut Cost, n: usize, contributes: bool| {
            for k in (0..n).step_by(AUTH_CHUNK) {
                let (rounds, words) = Vole::authenticate_cost(AUTH_CHUNK.min(n - k), contributes);
                step(c, rounds, words);
            }
        };
        let open = |c: &mut Cost, n: usize| step(c, n.div_ceil(OPEN_CHUNK) as u64, 2 * n as u64);
        // Set-up: the extension's, the VOLEs' base OTs.
        c.rounds += SETUP_ROUNDS + base::ROUNDS;
        c.bytes_sent += peers * (SETUP_BYTES_PER_PEER + base::bytes_per_peer(KEY_BITS));
        // The triples: each stage's OTs and coins, the VOLE, the sacrifice.
        let jobs = &self.jobs;
        if jobs.iter().any(|j| j.terms.receivers() > 0) {
            for chunk in triples::stages(jobs) {
                let (ots, values) = triples::stage_size(jobs, &chunk);
                // A word of columns per block per 64 OTs; two words of
                // corrections per value.
                let columns = (BLOCKS * ots.div_ceil(64)) as u64 + CHECK_BYTES / 8;
                step(&mut c, 2, columns + 2 * values as u64);
                step(&mut c, COINS_ROUNDS, COINS_WORDS);
                c.ots += 2 * (ots as u64) * peers;
            }
            let values: usize = jobs
                .iter()
                .map(|j| j.senders() + 2 * j.terms.receivers() + 2 * j.nc)
                .sum();
            authenticate(&mut c, values, true);
            step(&mut c, COINS_ROUNDS, COINS_WORDS);
            open(&mut c, jobs.iter().map(|j| j.terms.receivers()).sum());
            open(&mut c, jobs.iter().map(|j| j.nc).sum());
            step(&mut c, CHECK_ROUNDS, CHECK_WORDS);
        }
        authenticate(&mut c, self.uniform, true);
        for (owner, n) in self.known.iter().enumerate() {
            authenticate(&mut c, n + self.bits, owner == me);
        }
        if self.bits > 0 {
            // n - 1 XORs and a square, each a Beaver product; y² - y opened.
            for _ in 0..parties {
                open(&mut c, 2 * self.bits);
            }
            open(&mut c, self.bits);
        }
        if self.binary() {
            self.binary_cost(&mut c, me, parties);
        }
        if self.mask_operands > 0 {
            open(&mut c, self.mask_operands);
        }
        step(&mut c, CHECK_ROUNDS, CHECK_WORDS);
        c
    }

    /// What party `me` sends making the binary material: the check of the
    /// keys, the AND triples, the edaBits, the daBits (each step of
    /// [`super::binary`] counted).
    fn binary_cost(&self, c: &mut Cost, me: usize, parties: usize) {
        let peers = parties as u64 - 1;
        let step = |c: &mut Cost, rounds: u64, words: u64| {
            c.rounds += rounds;
            c.bytes_sent += 8 * words * peers;
        };
        let words = |bits: usize| bits.div_ceil(64) as u64;
        let columns = |ots: usize| (BLOCKS * ots.div_ceil(64)) as u64 + CHECK_BYTES / 8;
        let random_bits = |c: &mut Cost, n: usize| {
            step(c, 2, columns(n));
            c.ots += 2 * n as u64 * peers;
        };
        let input_bits = |c: &mut Cost, n: usize, owner: bool| {
            step(c, 2, if owner { columns(n) } else { 0 });
            c.ots += if owner { n as u64 * peers } else { n as u64 };
        };
        let authenticate = |c: &mut Cost, n: usize, contributes: bool| {
            for k in (0..n).step_by(AUTH_CHUNK) {
                let (rounds, words) = Vole::authenticate_cost(AUTH_CHUNK.min(n - k), contributes);
                step(c, rounds, words);
            }
        };
        let open = |c: &mut Cost, n: usize| step(c, n.div_ceil(OPEN_CHUNK) as u64, 2 * n as u64);
        let coins = |c: &mut Cost| step(c, COINS_ROUNDS, COINS_WORDS);
        let check_bits = |c: &mut Cost| step(c, 1, 4);
        // The keys' check: 64 random bits, then commitments, the shares and
        // MACs, the chosen D_b.
        let n = 64;
        random_bits(c, n);
        step(c, 1, 4 * (1 + 2 * n as u64));
        step(c, 1, 4 + 1 + 2 * (parties * n) as u64);
        step(c, 1, 4 * n as u64);
        // The AND triples, batch by batch: leaky ANDs and their buckets.
        for l in and::batches(self.and_triples(parties)) {
            let b = and::bucket_size(l);
            let m = b * l;
            random_bits(c, 3 * m);
            step(c, 1, 2 * words(m));
            step(c, 1, words(m) + 2 * m as u64);
            coins(c);
            step(c, 1, mac::DIGEST_WORDS as u64);
            step(c, 1, mac::NONCE_WORDS as u64 + 2);
            coins(c);
            step(c, 1, words((b - 1) * l));
        }
        check_bits(c);
        // The daBits (the strict edaBits' too).
        if self.da_bits(parties) > 0 {
            let n = self.da_bits(parties);
            for owner in 0..parties {
                authenticate(c, n + da::SUBSETS, owner == me);
                input_bits(c, n + da::SUBSETS, owner == me);
            }
            authenticate(c, parties * da::SUBSETS, true);
            coins(c);
            open(c, parties * da::SUBSETS);
            step(c, 1, words(parties * da::SUBSETS));
            for _ in 0..parties {
                open(c, 2 * n);
            }
            open(c, n);
            check_bits(c);
        }
        // The edaBits of each kind: private ones and partners, the cuts and
        // the checks' subtractions, the sums, a strict one's carries.
        for (kind, &n) in &self.eda {
            let w = kind.bits as usize;
            let (partners, cut) = eda::shape(n);
            let (wide, summed) = eda::widths(w, kind.strict, parties);
            for owner in 0..parties {
                authenticate(c, n + cut, owner == me);
                input_bits(c, w * (n + cut), owner == me);
                authenticate(c, partners * n + cut, owner == me);
                input_bits(c, wide * (partners * n + cut), owner == me);
            }
            coins(c);
            let checked = parties * partners * n;
            for _ in 1..wide {
                step(c, 1, words(2 * checked));
            }
            step(c, 1, words(parties * cut * (w + wide) + wide * checked));
            open(c, 2 * parties * cut + checked);
            for _ in 0..(parties - 1) * (summed - 1) {
                step(c, 1, words(2 * n));
            }
            if kind.strict {
                step(c, 1, words(n * (summed - w)));
            }
            check_bits(c);
        }
    }
}

/// Every item of `program`, made with the other parties of `session`, in
/// plan order; `report` is told the progress (of the triples, most of the
/// work).
pub fn make(
    program: &Program,
    session: &mut Session<'_>,
    report: &mut dyn FnMut(u64, u64),
) -> Result<Vec<Vec<Taken>>, VmError> {
    let (me, parties) = (session.me, session.parties);
    let plan = Plan::of(program, parties)?;
    let binary = plan.binary();
    let and_count = plan.and_triples(parties);
    let da_count = plan.da_bits(parties);
    let Plan {
        needs,
        jobs,
        uniform,
        bits,
        elementwise,
        known,
        eda,
        da,
        ands,
        ..
    } = plan;
    // The daBits' triples follow the elementwise and the bits' ones.
    let da_first = elementwise + parties * bits;
    let mut made = session.triples(&jobs, report)?.into_iter();
    let pool = made.next().expect("the elementwise triples");
    let shaped: Vec<[Auth; 3]> = made.collect();
    // Uniform values (every party contributes), then per party the values
    // it knows and its input bits (it alone contributes).
    let authenticated = |values: Vec<u128>, macs: Vec<u128>| Auth {
        x: WideTensor::new(vec![values.len()], values),
        m: WideTensor::new(vec![macs.len()], macs),
    };
    let values = session.draw_wide(uniform);
    let macs = session.authenticate(None, &values)?;
    let uniform = Pool::new(authenticated(values, macs), None);
    let mut known_pools = Vec::with_capacity(parties);
    let mut bit_inputs = Vec::with_capacity(parties);
    for (owner, n) in known.iter().enumerate() {
        let mut values = vec![0u128; *n + bits];
        if owner == me {
            values = session.draw_wide(*n);
            values.extend(session.draw_wide(bits).iter().map(|b| b & 1));
        }
        let macs = session.authenticate(Some(owner), &values)?;
        let all = authenticated(values, macs);
        let mine = (owner == me).then(|| all.x.data[..*n].to_vec());
        known_pools.push(Pool::new(all.range(0..*n), mine));
        bit_inputs.push(all.range(*n..n + bits));
    }
    let known = known_pools;
    let bit_inputs = Auth::concat(&bit_inputs.iter().collect::<Vec<_>>());
    // The bits, with the last triples of the pool.
    let bit_triples: Vec<[Auth; 3]> = (0..parties)
        .map(|k| {
            let range = elementwise + k * bits..elementwise + (k + 1) * bits;
            [&pool[0], &pool[1], &pool[2]].map(|a| a.range(range.clone()))
        })
        .collect();
    let bits = if bits > 0 {
        session.bits(&bit_inputs, &bit_triples)?
    } else {
        bit_inputs
    };
    // The binary material: AND triples (the edaBits' first), daBits (with
    // the last triples of the pool; the items' first, then the strict
    // edaBits' carries), edaBits per kind.
    let delta = session.keyed.delta_i;
    let binary_pool = |b: &Bits| Pool::new(b.to_auth(delta), None);
    let empty = || Pool::new(Auth::concat(&[]), None);
    let (mut eda_pools, mut da_pools, mut and_pools) = (
        BTreeMap::new(),
        [empty(), empty()],
        [empty(), empty(), empty()],
    );
    if binary {
        session.check_deltas()?;
        let mut and_pool = AndPool::new(and_count);
        let (mut da_values, mut da_twins) = (Auth::concat(&[]), Bits::zeros(0, me, parties));
        if da_count > 0 {
            let da_triples: Vec<[Auth; 3]> = (0..parties)
                .map(|k| {
                    let range = da_first + k * da_count..da_first + (k + 1) * da_count;
                    [&pool[0], &pool[1], &pool[2]].map(|a| a.range(range.clone()))
                })
                .collect();
            (da_values, da_twins) = session.da_bits(da_count, &da_triples)?;
            da_pools = [
                Pool::new(da_values.range(0..da), None),
                binary_pool(&da_twins.range(0..da)),
            ];
        }
        let mut carries = da..da;
        for (kind, n) in &eda {
            let w = kind.bits as usize;
            let e = if kind.strict {
                carries = carries.end..carries.end + n * eda::carry_bits(parties);
                let d = (
                    da_values.range(carries.clone()),
                    da_twins.range(carries.clone()),
                );
                session.strict_eda_bits(*n, w, &mut and_pool, d)?
            } else {
                session.eda_bits(*n, w, &mut and_pool)?
            };
            let rows = e.bits.iter().map(binary_pool).collect();
            eda_pools.insert(*kind, (Pool::new(e.arith, None), rows));
        }
        let item_ands = session.take_ands(&mut and_pool, ands)?;
        session.check_bits()?;
        and_pools = item_ands.each_ref().map(binary_pool);
    }
    let mut pools = Pools {
        uniform,
        bits: Pool::new(bits, None),
        known,
        triples: pool.map(|a| Pool::new(a, None)),
        shaped: shaped.into(),
        eda: eda_pools,
        da: da_pools,
        ands: and_pools,
    };
    // The items, in plan order.
    let mut assembler = Assembler {
        pools: &mut pools,
        needs: needs.into_iter(),
        items: Vec::new(),
        masks: Vec::new(),
        mask_products: Vec::new(),
    };
    replay(program, &mut assembler)?;
    let Assembler {
        mut items,
        masks,
        mask_products,
        ..
    } = assembler;
    if !mask_products.is_empty() {
        let mut pending = Vec::with_capacity(mask_products.len());
        let mut macs = MacWalk {
            masks: masks.into_iter(),
            operands: Vec::new(),
        };
        replay(program, &mut macs)?;
        for ((i, x, y, item), (mx, my)) in mask_products.into_iter().zip(macs.operands) {
            let x = Auth { x, m: mx };
            let y = Auth { x: y, m: my };
            let triple = std::mem::take(&mut items[item]);
            pending.push((i, x, y, item, triple));
        }
        let products = products_of_masks(program, session, &pending)?;
        for ((_, _, _, item, _), c) in pending.iter().zip(products) {
            items[*item] = vec![Taken { a: c, value: None }];
        }
    }
    session.check_macs()?;
    Ok(items)
}

/// A product of masks under way: its instruction, its operands' masks, its
/// item, and the triple of its shape.
type MaskProduct = (Instr, Auth, Auth, usize, Vec<Taken>);

/// The products of masks, each a Beaver product of its operands' masks x, y
/// with the triple (a, b, c) of its shape: x y = c + e b + a f + e f with
/// e = x - a and f = y - b opened (one round for all).
fn products_of_masks(
    program: &Program,
    session: &mut Session<'_>,
    pending: &[MaskProduct],
) -> Result<Vec<Auth>, VmError> {
    let mut opened = Vec::with_capacity(2 * pending.len());
    for (_, x, y, _, t) in pending {
        opened.push(x.reshape(&[x.x.len()]).sub(&t[0].a));
        opened.push(y.reshape(&[y.x.len()]).sub(&t[1].a));
    }
    let ef = session.open(&Auth::concat(&opened.iter().collect::<Vec<_>>()))?;
    let mut at = 0;
    let mut products = Vec::with_capacity(pending.len());
    for (i, x, y, _, t) in pending {
        let mut public = |like: &Auth| {
            at += like.x.len();
            WideTensor::new(like.x.shape.clone(), ef[at - like.x.len()..at].to_vec())
        };
        let (e, f) = (public(x), public(y));
        let f_map = linear_map(program, i).expect("a product is bilinear");
        let op = |u: &WideTensor, v: &WideTensor| f_map.apply(&[u, v]);
        let (a, b) = (t[0].a.reshape(&x.x.shape), t[1].a.reshape(&y.x.shape));
        let eb = b.map(|b| op(&e, b));
        let af = a.map(|a| op(a, &f));
        let ef = op(&e, &f);
        let c = t[2].a.reshape(&ef.shape);
        products.push(c.add(&eb).add(&af).add_public(
            session.me,
            session.keyed.alpha_i,
            &ef,
            &ef.shape,
        ));
    }
    Ok(products)
}

/// The offline phase: a session, [`make`], timed and measured; returns the
/// items, the MAC key share and the figures.
pub fn offline(
    program: &Program,
    net: &mut Network,
    parties: usize,
    report: &mut dyn FnMut(u64, u64),
) -> Result<(Vec<Vec<Taken>>, Keyed, OfflineFigures), VmError> {
    let before = net.figures();
    let start = std::time::Instant::now();
    let limit = net.frame_limit();
    let mut session = Session::setup(net, parties)?;
    let items = make(program, &mut session, report)?;
    let keyed = session.keyed.clone();
    let ots = session.ot.ots;
    net.limit_frames(limit);
    let figures = OfflineFigures {
        seconds: start.elapsed().as_secs_f64(),
        comm: net.figures().since(before),
        ots,
    };
    Ok((items, keyed, figures))
}

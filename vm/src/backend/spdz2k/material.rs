//! spdz2k's preprocessed material: every item is a list of authenticated
//! parts (values of Z_2^128 shared with their MACs, or bits shared in
//! binary with MACs of GF(2^128)), taken in the order of
//! [`plan`](crate::backend::prep::plan) with `Items::Authenticated`: masks,
//! products, truncations and comparisons as under semi2k, and inputs,
//! openings and outputs, whose masks are authenticated too. Everything is
//! built from authenticated random values of a given range (a bit, a value
//! below 2^m, the whole ring), random values a party knows (input and output
//! masks), products of earlier parts (triples), and binary parts: random
//! bits, their ANDs (binary triples), and the low bits of an earlier part
//! (edaBits, daBits).
//!
//! The items come from the offline phase by OT ([`super::offline`]), from
//! a file it wrote ahead of time (`mpcvm prep`), or, with `--prep dealer`
//! (INSECURE: a trusted third party), from the dealer, the network's last
//! node, which draws the MAC key shares and every item and sends each party
//! its shares of each item on a stream outside the rounds.

use super::mac::Auth;
use crate::backend::prep::file;
use crate::backend::prep::plan::{self, Items};
use crate::backend::prep::replay::{product_value, replay, Producer};
use crate::backend::prep::{Combine, Item, Layout};
use crate::backend::prf::Prf;
use crate::backend::semi2k::{Call, Composed};
use crate::bytecode::{operands, Instr, Program};
use crate::net::Stream;
use crate::ring::{WideTensor, Word};
use crate::types::PartySet;
use crate::VmError;
use std::collections::VecDeque;
use std::sync::Arc;

/// How a part's values are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// Uniform below 2^bits (128: the whole ring), known to nobody.
    Random { bits: u32 },
    /// Uniform in the ring, and told to these parties.
    Known(PartySet),
    /// The elementwise product of the two parts before it (a triple's c).
    Product,
    /// Given by the item's maker (a product of masks, a matrix triple's c).
    Given,
    /// A random bit shared in binary: XOR shares, MAC shares of GF(2^128)
    /// under the binary key Δ ([`super::binary`]).
    Binary,
    /// In binary, the AND of the two binary parts before it (an AND
    /// triple's c).
    And,
    /// In binary, the low `bits` bits of the values of the arithmetic part
    /// before it, bit-major (with it: an edaBit, or a daBit for one bit).
    BitsOf { bits: u32 },
}

impl Value {
    /// Whether the part is shared in binary.
    pub fn binary(&self) -> bool {
        matches!(self, Value::Binary | Value::And | Value::BitsOf { .. })
    }
}

/// One authenticated part of an item: `n` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    pub n: usize,
    pub value: Value,
}

impl Part {
    pub fn uniform(n: usize) -> Part {
        Part::below(n, 128)
    }
    pub fn below(n: usize, bits: u32) -> Part {
        Part {
            n,
            value: Value::Random { bits },
        }
    }
    pub fn bits(n: usize) -> Part {
        Part::below(n, 1)
    }
    /// A random value `to` learn: an input's or an output's mask.
    pub fn known(n: usize, to: PartySet) -> Part {
        Part {
            n,
            value: Value::Known(to),
        }
    }
    pub fn given(n: usize) -> Part {
        Part {
            n,
            value: Value::Given,
        }
    }
    pub fn binary(n: usize) -> Part {
        Part {
            n,
            value: Value::Binary,
        }
    }
}

/// `n` binary AND triples: a, b, c = a AND b.
pub(crate) fn and_triple(n: usize) -> [Part; 3] {
    [
        Part::binary(n),
        Part::binary(n),
        Part {
            n,
            value: Value::And,
        },
    ]
}

/// `n` edaBits of `bits` bits: a uniform value of Z_2^128 and its low bits
/// in binary, bit-major.
pub(crate) fn eda_bits(n: usize, bits: u32) -> [Part; 2] {
    [
        Part::uniform(n),
        Part {
            n: n * bits as usize,
            value: Value::BitsOf { bits },
        },
    ]
}

/// `n` strict edaBits of `bits` bits: a value below 2^bits and its bits in
/// binary, bit-major.
pub(crate) fn strict_eda_bits(n: usize, bits: u32) -> [Part; 2] {
    [
        Part::below(n, bits),
        Part {
            n: n * bits as usize,
            value: Value::BitsOf { bits },
        },
    ]
}

/// `n` daBits: random bits as values of Z_2^128 and in binary.
pub(crate) fn da_bits(n: usize) -> [Part; 2] {
    [
        Part::bits(n),
        Part {
            n,
            value: Value::BitsOf { bits: 1 },
        },
    ]
}

/// An elementwise triple of `n` values: a, b, c = ab.
pub(crate) fn triple(n: usize) -> [Part; 3] {
    [
        Part::uniform(n),
        Part::uniform(n),
        Part {
            n,
            value: Value::Product,
        },
    ]
}

/// The products (in units of the compared elements) each level of the
/// comparison tree over `w` bits takes (see `compare.rs`): two per merged
/// pair, one at the top, where only the less-than bit is needed.
pub(crate) fn tree_products(w: usize) -> Vec<usize> {
    let mut levels = Vec::new();
    let mut count = w;
    while count > 1 {
        let pairs = count / 2;
        let next = count.div_ceil(2);
        levels.push(if next == 1 { pairs } else { 2 * pairs });
        count = next;
    }
    levels
}

/// The binary comparison tree's AND triples for `n` values of `w` bits.
fn tree_and_triples(n: usize, w: usize) -> Vec<Part> {
    tree_products(w)
        .into_iter()
        .flat_map(|p| and_triple(n * p))
        .collect()
}

/// [x < 0] of `n` values of `k` bits: an edaBit of k bits (r, and its low
/// bits in binary), the binary tree's AND triples over the k - 1 low bits,
/// and the daBit that brings the result back from binary.
pub(crate) fn ltz_parts(n: usize, k: usize) -> Vec<Part> {
    let mut parts = eda_bits(n, k as u32).to_vec();
    parts.extend(tree_and_triples(n, k - 1));
    parts.extend(da_bits(n));
    parts
}

/// A truncation of `n` values by `m` bits: r = r_lo + 2^m r_mid +
/// 2^63 r_63 + 2^64 r_up with r_lo below 2^m (exact: with its bits, the
/// borrow's tree and the daBit that brings it back), r_mid below 2^(63-m),
/// r_63 a bit, r_up uniform.
pub(crate) fn trunc_parts(n: usize, m: usize, exact: bool) -> Vec<Part> {
    let mut parts = if exact {
        strict_eda_bits(n, m as u32).to_vec()
    } else {
        vec![Part::below(n, m as u32)]
    };
    parts.extend([
        Part::below(n, 63 - m as u32),
        Part::bits(n),
        Part::uniform(n),
    ]);
    if exact {
        parts.extend(tree_and_triples(n, m));
        parts.extend(da_bits(n));
    }
    parts
}

/// A composed operation's parts: each primitive's in call order.
pub(crate) fn composed_parts(c: &Composed) -> Vec<Part> {
    c.recording()
        .calls
        .iter()
        .flat_map(|call| match *call {
            Call::Ltz { n, bits } => ltz_parts(n, bits),
            Call::Mul { n } => triple(n).to_vec(),
        })
        .collect()
}

/// The parts of a product instruction's item: a triple of its operands'
/// shapes inside a round batch, else the product of their masks.
pub(crate) fn product_parts(p: &Program, i: &Instr, batched: bool) -> Vec<Part> {
    let (reads, dst) = operands(i);
    let len = |r: u32| p.registers[r as usize].len();
    let nc = len(dst.expect("a product writes"));
    if batched {
        vec![
            Part::uniform(len(reads[0])),
            Part::uniform(len(reads[1])),
            Part::given(nc),
        ]
    } else {
        vec![Part::given(nc)]
    }
}

/// The parts of an input's, opening's or output's item: the input mask its
/// owner knows, the mask of the bits above 2^64 of an opening, a mask per
/// receiver of an output that it alone knows (a mask known to several could
/// come only from one of them, who could lie to the others about it).
pub(crate) fn io_parts(p: &Program, i: &Instr) -> Vec<Part> {
    let len = |r: u32| p.registers[r as usize].len();
    match *i {
        Instr::Input { dst, input } => vec![Part::known(
            len(dst),
            PartySet::single(p.inputs[input as usize].party as usize),
        )],
        Instr::Open { a, .. } => vec![Part::uniform(len(a))],
        Instr::Output { output, a } => p.outputs[output as usize]
            .to
            .iter()
            .map(|q| Part::known(len(a), PartySet::single(q)))
            .collect(),
        _ => unreachable!("an input, opening or output"),
    }
}

/// The parts of the item one execution of `i` takes (inside a round batch
/// if `batched`); none if it takes none.
pub(crate) fn item_parts(p: &Program, i: &Instr, batched: bool) -> Vec<Part> {
    let secret = |r: &u32| p.registers[*r as usize].secret;
    if !plan::takes_item(p, i, batched, Items::Authenticated) {
        return Vec::new();
    }
    match i {
        Instr::Mask { a, .. } => vec![Part::uniform(p.registers[*a as usize].len())],
        Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
            if operands(i).0.iter().all(secret) =>
        {
            product_parts(p, i, batched)
        }
        Instr::Trunc {
            a, amount, exact, ..
        } if secret(a) => trunc_parts(p.registers[*a as usize].len(), *amount as usize, *exact),
        Instr::Input { .. } => io_parts(p, i),
        Instr::Open { a, .. } | Instr::Output { a, .. } if secret(a) => io_parts(p, i),
        i => Composed::of(p, i).map_or_else(Vec::new, |c| composed_parts(&c)),
    }
}

/// The longest frame (bytes) the dealer sends: a chunk of a part with its
/// MAC shares and values.
pub(crate) const LARGEST_FRAME: u64 = 8 * 2 * 3 * CHUNK as u64;

/// The longest message (bytes) a party sends a peer in one round: at most,
/// per operation of a round batch, 16 bytes per element of its item and of
/// its operand (what it opens is never more), or a MAC check's.
pub fn largest_message(p: &Program) -> u64 {
    let elements = |i: &Instr| -> u64 {
        let (reads, _) = operands(i);
        let operand: usize = reads.iter().map(|r| p.registers[*r as usize].len()).sum();
        // A product's triple rather than its product of masks: the larger.
        let item: usize = item_parts(p, i, true).iter().map(|part| part.n).sum();
        16 * (operand + item) as u64
    };
    let (mut largest, mut batch, mut left) = (0u64, 0u64, 0usize);
    for i in &p.code {
        if let Instr::Round { len } = i {
            (batch, left) = (0, *len as usize);
            continue;
        }
        batch = if left > 0 {
            batch + elements(i)
        } else {
            elements(i)
        };
        left = left.saturating_sub(1);
        largest = largest.max(batch);
    }
    largest.max(128)
}

/// Values of a part in one of the dealer's frames at most: big items
/// stream, and a party never waits for a whole one.
pub const CHUNK: usize = 1 << 16;

/// The frames an item of `parts` takes.
fn frames(parts: &[Part]) -> u64 {
    parts.iter().map(|p| p.n.div_ceil(CHUNK) as u64).sum()
}

/// The words of material a run of `program` takes at one party (both arms
/// of a branch, loops unrolled): per value, its share and MAC share (four
/// words), and its value where the party knows it (two more, counted for
/// every known part: an upper bound).
pub fn material_words(p: &Program) -> Result<u64, VmError> {
    let mut words = 0u64;
    plan::walk(p, 0..p.code.len(), &mut |_, i, batched| {
        for part in item_parts(p, i, batched) {
            let known = matches!(part.value, Value::Known(_)) as u64;
            words = words.saturating_add((4 + 2 * known) * part.n as u64);
        }
        Ok(())
    })?;
    Ok(words)
}

/// The dealer's frames for the items of the instructions in `range` (an arm
/// of a branch), loops unrolled.
pub(crate) fn frames_in(p: &Program, range: std::ops::Range<usize>) -> Result<u64, VmError> {
    let mut total = 0;
    plan::walk(p, range, &mut |_, i, batched| {
        total += frames(&item_parts(p, i, batched));
        Ok(())
    })?;
    Ok(total)
}

/// This party's share of one part, and its value where the party knows it.
pub struct Taken {
    pub a: Auth,
    pub value: Option<Vec<u128>>,
}

/// This party's source of items: the dealer's stream, the items the
/// offline phase made (the next first), or a file of them (`mpcvm prep`).
pub(crate) enum Material {
    Dealt {
        me: usize,
        from_dealer: Stream,
    },
    Made {
        me: usize,
        items: VecDeque<Vec<Taken>>,
    },
    File {
        me: usize,
        reader: file::Reader,
    },
}

/// How an item of `parts` is laid out in a file of material (see
/// [`file`]): per part, its shares and MAC shares as one random part (4
/// words per value), and its values where party `me` knows them as a
/// correlated part (2 words per value).
fn file_layout(me: usize, parts: &[Part]) -> Layout {
    let random: Vec<(usize, Combine)> = parts.iter().map(|p| (4 * p.n, Combine::Add)).collect();
    let correlated: Vec<(usize, Combine)> = parts
        .iter()
        .filter(|p| matches!(p.value, Value::Known(to) if to.contains(me)))
        .map(|p| (2 * p.n, Combine::Add))
        .collect();
    Layout::new(&random, &correlated)
}

/// An item's parts as a file holds them ([`file_layout`]).
pub(crate) fn to_file_item(item: &[Taken]) -> Item {
    Item {
        random: item
            .iter()
            .map(|t| [u128::to_words(&t.a.x.data), u128::to_words(&t.a.m.data)].concat())
            .collect(),
        correlated: item
            .iter()
            .filter_map(|t| t.value.as_ref().map(|v| u128::to_words(v)))
            .collect(),
    }
}

/// The MAC key shares (arithmetic α_i, binary Δ_i) as the first item of a
/// file.
pub(crate) fn key_item(keyed: &super::mac::Keyed) -> Item {
    Item {
        random: vec![u128::to_words(&[keyed.alpha_i, keyed.delta_i])],
        correlated: Vec::new(),
    }
}

/// Reads the MAC key shares (α_i, Δ_i), the first item of a file.
pub(crate) fn read_key(reader: &mut file::Reader) -> Result<(u128, u128), VmError> {
    let item = reader.take(&Layout::new(&[(4, Combine::Add)], &[]))?;
    let keys = u128::from_words(&item.random[0]);
    Ok((keys[0], keys[1]))
}

impl Material {
    /// This party's shares of the next item, of `parts`.
    pub fn take(&mut self, parts: &[Part]) -> Result<Vec<Taken>, VmError> {
        match self {
            Material::Dealt { me, from_dealer } => receive(*me, from_dealer, parts),
            Material::File { me, reader } => {
                let item = reader.take(&file_layout(*me, parts))?;
                let mut values = item.correlated.into_iter();
                Ok(parts
                    .iter()
                    .zip(item.random)
                    .map(|(p, words)| {
                        let knows = matches!(p.value, Value::Known(to) if to.contains(*me));
                        let wide = |w: &[u64]| WideTensor::new(vec![p.n], u128::from_words(w));
                        Taken {
                            a: Auth {
                                x: wide(&words[..2 * p.n]),
                                m: wide(&words[2 * p.n..]),
                            },
                            value: knows
                                .then(|| u128::from_words(&values.next().expect("laid out"))),
                        }
                    })
                    .collect())
            }
            Material::Made { me, items } => {
                let item = items.pop_front().ok_or_else(|| {
                    VmError::Usage(
                        "the preprocessed material ran out before the program's end".into(),
                    )
                })?;
                let fits = item.len() == parts.len()
                    && item.iter().zip(parts).all(|(t, p)| {
                        let knows = matches!(p.value, Value::Known(to) if to.contains(*me));
                        t.a.x.len() == p.n && t.value.is_some() == knows
                    });
                if !fits {
                    return Err(VmError::Usage(
                        "the preprocessed material does not match the program at this item".into(),
                    ));
                }
                Ok(item)
            }
        }
    }

    /// Items made beforehand and not taken (none known of a dealer's).
    pub fn left(&self) -> u64 {
        match self {
            Material::Dealt { .. } => 0,
            Material::Made { items, .. } => items.len() as u64,
            Material::File { reader, .. } => reader.left(),
        }
    }

    /// What the items of the instructions `range` of `p` (an arm of a
    /// branch) take of this source: frames of the dealer's, or items.
    pub fn units_in(&self, p: &Program, range: std::ops::Range<usize>) -> Result<u64, VmError> {
        match self {
            Material::Dealt { .. } => frames_in(p, range),
            Material::Made { .. } | Material::File { .. } => {
                Ok(plan::count_items(p, range, Items::Authenticated))
            }
        }
    }

    /// Passes over `units` of [`Material::units_in`] (a branch not taken).
    pub fn skip(&mut self, units: u64) -> Result<(), VmError> {
        match self {
            Material::Dealt { from_dealer, .. } => {
                for _ in 0..units {
                    from_dealer.receive().map_err(VmError::Network)?;
                }
            }
            Material::Made { items, .. } => {
                items.drain(..(units as usize).min(items.len()));
            }
            Material::File { reader, .. } => reader.skip(units)?,
        }
        Ok(())
    }
}

/// Party `me`'s shares of the dealer's next item, of `parts`: per part,
/// frames of at most [`CHUNK`] values each, holding the shares, the MAC
/// shares and (where this party knows it) the values.
fn receive(me: usize, from_dealer: &mut Stream, parts: &[Part]) -> Result<Vec<Taken>, VmError> {
    let mut taken = Vec::with_capacity(parts.len());
    for p in parts {
        let knows = matches!(p.value, Value::Known(to) if to.contains(me));
        let (mut x, mut m) = (Vec::with_capacity(p.n), Vec::with_capacity(p.n));
        let mut value = knows.then(|| Vec::with_capacity(p.n));
        for start in (0..p.n).step_by(CHUNK) {
            let n = CHUNK.min(p.n - start);
            let frame = from_dealer.receive().map_err(VmError::Network)?;
            let words = 2 * n * (2 + knows as usize);
            if frame.len() != words {
                return Err(VmError::Network(format!(
                    "the dealer sent {} words for a frame of {words}: a protocol violation or a bug",
                    frame.len()
                )));
            }
            x.extend(u128::from_words(&frame[..2 * n]));
            m.extend(u128::from_words(&frame[2 * n..4 * n]));
            if let Some(v) = value.as_mut() {
                v.extend(u128::from_words(&frame[4 * n..]));
            }
        }
        taken.push(Taken {
            a: Auth {
                x: WideTensor::new(vec![p.n], x),
                m: WideTensor::new(vec![p.n], m),
            },
            value,
        });
    }
    Ok(taken)
}

/// The dealer of a spdz2k run: the MAC key `alpha` (the sum of the parties'
/// shares), the binary MAC key `delta` (their XOR) and a stream to each
/// party.
struct Dealer<'p> {
    program: &'p Program,
    alpha: u128,
    delta: u128,
    rng: Prf,
    to: &'p mut [Stream],
}

/// Deals every item of `program` to its parties (a stream to each), under
/// the MAC keys `alpha` and `delta`, drawing from `rng`.
pub fn deal(
    program: &Program,
    alpha: u128,
    delta: u128,
    rng: Prf,
    to: &mut [Stream],
) -> Result<(), VmError> {
    replay(
        program,
        &mut Dealer {
            program,
            alpha,
            delta,
            rng,
            to,
        },
    )
}

impl Dealer<'_> {
    fn wide(&mut self, n: usize) -> Vec<u128> {
        u128::from_words(&self.rng.elements(2 * n))
    }

    /// The values of `parts`, the given ones from `given` in order.
    fn values(&mut self, parts: &[Part], given: Vec<Vec<u128>>) -> Vec<Vec<u128>> {
        let mut given = given.into_iter();
        let mut values: Vec<Vec<u128>> = Vec::with_capacity(parts.len());
        for p in parts {
            let v = match p.value {
                Value::Random { bits } => {
                    let keep = if bits >= 128 {
                        u128::MAX
                    } else {
                        (1u128 << bits) - 1
                    };
                    self.wide(p.n).into_iter().map(|v| v & keep).collect()
                }
                Value::Known(_) => self.wide(p.n),
                Value::Product => {
                    let k = values.len();
                    values[k - 2]
                        .iter()
                        .zip(&values[k - 1])
                        .map(|(a, b)| a.wrapping_mul(*b))
                        .collect()
                }
                Value::Given => given.next().expect("a value for each given part"),
                Value::Binary => self.wide(p.n).into_iter().map(|v| v & 1).collect(),
                Value::And => {
                    let k = values.len();
                    values[k - 2]
                        .iter()
                        .zip(&values[k - 1])
                        .map(|(a, b)| a & b)
                        .collect()
                }
                Value::BitsOf { bits } => {
                    let of = &values[values.len() - 1];
                    (0..bits)
                        .flat_map(|i| of.iter().map(move |v| v >> i & 1))
                        .collect()
                }
            };
            values.push(v);
        }
        values
    }

    /// Shares `values` (of `parts`) and their MACs among the parties and
    /// sends each its frames: per part, a frame per [`CHUNK`] values. A
    /// binary part's shares are bits XORing to the value, its MACs XOR to
    /// the value times Δ.
    fn send(&mut self, parts: &[Part], values: &[Vec<u128>]) -> Result<(), VmError> {
        let n = self.to.len();
        for (p, v) in parts.iter().zip(values) {
            let binary = p.value.binary();
            for chunk in v.chunks(CHUNK) {
                let macs: Vec<u128> = if binary {
                    chunk
                        .iter()
                        .map(|v| super::binary::ones(*v == 1) & self.delta)
                        .collect()
                } else {
                    chunk.iter().map(|v| v.wrapping_mul(self.alpha)).collect()
                };
                let mut frames = vec![Vec::new(); n];
                for (whole, mask) in [
                    (chunk, if binary { 1 } else { u128::MAX }),
                    (&macs[..], u128::MAX),
                ] {
                    let mut rest = whole.to_vec();
                    for (party, frame) in frames.iter_mut().enumerate() {
                        let share = if party + 1 == n {
                            std::mem::take(&mut rest)
                        } else {
                            let share: Vec<u128> = self
                                .wide(chunk.len())
                                .into_iter()
                                .map(|s| s & mask)
                                .collect();
                            for (r, s) in rest.iter_mut().zip(&share) {
                                *r = if binary { *r ^ s } else { r.wrapping_sub(*s) };
                            }
                            share
                        };
                        frame.extend(u128::to_words(&share));
                    }
                }
                if let Value::Known(to) = p.value {
                    for party in to.iter().filter(|&q| q < n) {
                        frames[party].extend(u128::to_words(chunk));
                    }
                }
                for (stream, frame) in self.to.iter_mut().zip(frames) {
                    stream
                        .send(vec![Arc::new(frame)])
                        .map_err(VmError::Network)?;
                }
            }
        }
        Ok(())
    }

    fn deal(&mut self, parts: &[Part], given: Vec<Vec<u128>>) -> Result<Vec<Vec<u128>>, VmError> {
        let values = self.values(parts, given);
        self.send(parts, &values)?;
        Ok(values)
    }
}

impl Producer for Dealer<'_> {
    type W = u128;
    const ITEMS: Items = Items::Authenticated;

    fn mask(&mut self, shape: &[usize]) -> Result<WideTensor, VmError> {
        let n = shape.iter().product();
        let mut values = self.deal(&[Part::uniform(n)], vec![])?;
        Ok(WideTensor::new(shape.to_vec(), values.remove(0)))
    }

    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&WideTensor, &WideTensor)>,
    ) -> Result<(), VmError> {
        let parts = product_parts(self.program, i, masks.is_none());
        match masks {
            Some(_) => {
                let c = product_value(self.program, i, masks, vec![]);
                self.deal(&parts, vec![c.data])?;
            }
            None => {
                let ab = self.values(&parts[..2], vec![]);
                let c = product_value(self.program, i, None, ab.clone());
                let mut values = ab;
                values.push(c.data);
                self.send(&parts, &values)?;
            }
        }
        Ok(())
    }

    fn trunc(&mut self, n: usize, m: u32, exact: bool) -> Result<(), VmError> {
        self.deal(&trunc_parts(n, m as usize, exact), vec![])?;
        Ok(())
    }

    fn composed(&mut self, c: &Composed) -> Result<(), VmError> {
        self.deal(&composed_parts(c), vec![])?;
        Ok(())
    }

    fn io(&mut self, i: &Instr) -> Result<(), VmError> {
        self.deal(&io_parts(self.program, i), vec![])?;
        Ok(())
    }
}

//! Correlated OTs with chosen messages, the unit of all OT-based
//! preprocessing: a receiver's choice bit c and a sender's message x (a lane
//! of `len` words of `width` bits) leave the sender s and the receiver r with
//! s + r = c·x modulo 2^width, or s ⊕ r = c·x. (Gilboa's product of a bit of b
//! with a word a, the cross terms of every triple, is one such OT.)
//!
//! From an extended OT q_j = t_j ⊕ c_j Δ the sender sends d = H(q_j) −
//! H(q_j ⊕ Δ) + x (only `width` bits of it), keeps −H(q_j); the receiver's
//! H(t_j) + c·d is then H(q_j) + c·x. The work is grouped in *stages*: one
//! round for the extension, one for the corrections, with every peer at once.
//!
//! Four kinds of OT share a stage, in this order on the wire: lanes (any
//! widths up to 64 bits, additive or XOR), Gilboa products of words (64 OTs
//! each), *wide* OTs, whose messages are vectors of Z_2^128 (spdz2k's
//! triples: a choice bit times a vector of a sender's shares), and
//! *correlated* OTs, the extension's rows themselves, unhashed: t = q ⊕ cΔ
//! is a MAC of the receiver's bit c under the sender's key q and Δ (an
//! authenticated bit, when Δ is the sender's one key for all its peers:
//! [`Pairwise::setup_with_delta`]).

use super::base;
use super::consistency::{self, Fold, EXTRA_WORDS, PROOF_WORDS};
use super::hash::Hash;
use super::softspoken::{Receiver, Sender, BLOCKS, SETUP_WORDS};
use super::KAPPA;
use crate::net::{Network, Part};
use crate::VmError;
use std::sync::Arc;

/// The shape of one OT's message: `len` words of `width` bits, combined by
/// addition modulo 2^width, or by XOR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane {
    pub len: u32,
    pub width: u8,
    pub xor: bool,
}

impl Lane {
    fn mask(&self) -> u64 {
        mask(self.width as u32)
    }
}

/// One side's OTs with one peer in a stage.
#[derive(Default)]
struct Side {
    /// The lanes (unless the stage only counts).
    lanes: Vec<Lane>,
    /// As the sender: the messages, one after another; as the receiver: the
    /// choice bits, 64 to a word (unless the stage only counts).
    words: Vec<u64>,
    /// Gilboa products of one-word messages, run after the lanes, 64 OTs
    /// each: as the sender each product's message, as the receiver its 64
    /// choice bits (unless the stage only counts).
    products: Vec<u64>,
    /// OTs, words of output and bits of corrections so far.
    ots: usize,
    len: usize,
    bits: usize,
    /// OTs of more than one word so far.
    long: usize,
    /// Products so far.
    product_count: usize,
    /// Wide OTs, run after the products, in groups of OTs with one message
    /// (unless the stage only counts): each group's OTs and values.
    wide_groups: Vec<(usize, usize)>,
    /// As the sender each group's message, one after another; as the
    /// receiver nothing.
    wide: Vec<u128>,
    /// As the receiver the wide OTs' choice bits, 64 to a word.
    wide_choices: Vec<u64>,
    /// Wide OTs so far, and values of their messages in all.
    wide_count: usize,
    wide_values: usize,
    /// As the receiver the correlated OTs' choice bits, 64 to a word.
    correlated_choices: Vec<u64>,
    /// Correlated OTs so far.
    correlated_count: usize,
}

impl Side {
    /// Whether every OT is of one word: the common case (products, bits),
    /// which has its own fast paths.
    fn one_word(&self) -> bool {
        self.long == 0
    }

    /// Counts a product's 64 OTs ([`PRODUCT_BITS`] bits of corrections);
    /// returns the product's index.
    fn add_product(&mut self) -> usize {
        self.ots += 64;
        self.bits += PRODUCT_BITS;
        self.product_count += 1;
        self.product_count - 1
    }

    /// Counts `ots` wide OTs of `len` values each (128 bits of correction
    /// per value); returns where their shares start.
    fn add_wide(&mut self, ots: usize, len: usize) -> usize {
        self.ots += ots;
        self.bits += 128 * ots * len;
        self.wide_count += ots;
        self.wide_values += ots * len;
        self.wide_values - ots * len
    }

    /// The choice bits of all its OTs as the receiver: the lanes', then the
    /// products' (64 each), then the wide OTs', then the correlated ones',
    /// packed from wherever the lanes' end.
    fn choices(&self) -> std::borrow::Cow<'_, [u64]> {
        if self.products.is_empty() && self.wide_count == 0 && self.correlated_count == 0 {
            return std::borrow::Cow::Borrowed(&self.words);
        }
        let mut words = self.words.clone();
        let mut len = self.lanes.len();
        for (bits, n) in [
            (&self.products, 64 * self.products.len()),
            (&self.wide_choices, self.wide_count),
            (&self.correlated_choices, self.correlated_count),
        ] {
            append_bits(&mut words, len, bits, n);
            len += n;
        }
        std::borrow::Cow::Owned(words)
    }

    /// Where the wide OTs end and the correlated ones start.
    fn wide_end(&self) -> usize {
        self.lanes.len() + 64 * self.product_count + self.wide_count
    }

    /// The hash's lanes of the wide OTs: two words of pad per value.
    fn wide_lanes(&self) -> Vec<Lane> {
        let mut lanes = Vec::with_capacity(self.wide_count);
        for &(ots, len) in &self.wide_groups {
            let lane = Lane {
                len: 2 * len as u32,
                width: 64,
                xor: false,
            };
            lanes.extend(std::iter::repeat_n(lane, ots));
        }
        lanes
    }

    /// As the sender, each wide OT's message in order.
    fn wide_messages(&self) -> impl Iterator<Item = &[u128]> {
        let mut at = 0;
        self.wide_groups.iter().flat_map(move |&(ots, len)| {
            at += len;
            std::iter::repeat_n(&self.wide[at - len..at], ots)
        })
    }

    fn add(&mut self, lane: Lane) -> usize {
        self.ots += 1;
        self.long += (lane.len != 1) as usize;
        self.len += lane.len as usize;
        self.bits += lane.len as usize * lane.width as usize;
        self.len - lane.len as usize
    }
}

/// The OTs this party runs with each peer in one stage (built the same way
/// at both ends of every pair, so each side knows the other's lanes).
pub struct Stage {
    send: Vec<Side>,
    receive: Vec<Side>,
    /// Whether the stage keeps its lanes to run them, or only counts them.
    keeps: bool,
}

/// A stage's results, per peer: this party's shares as the sender, and as
/// the receiver, each lane's words one after another in the order queued;
/// its share of each product, as the sender and as the receiver; and its
/// shares of the wide OTs, each OT's values one after another.
pub struct StageOut {
    pub send: Vec<Vec<u64>>,
    pub receive: Vec<Vec<u64>>,
    pub send_products: Vec<Vec<u64>>,
    pub receive_products: Vec<Vec<u64>>,
    pub send_wide: Vec<Vec<u128>>,
    pub receive_wide: Vec<Vec<u128>>,
    /// The correlated OTs: as the sender the keys q, as the receiver the
    /// MACs t = q ⊕ cΔ.
    pub keys: Vec<Vec<u128>>,
    pub macs: Vec<Vec<u128>>,
}

/// Bits of corrections of a product's 64 OTs: 64 - t for bit t.
pub const PRODUCT_BITS: usize = 64 * 65 / 2;

impl Stage {
    /// A stage to run.
    pub fn new(parties: usize) -> Stage {
        Stage {
            send: (0..parties).map(|_| Side::default()).collect(),
            receive: (0..parties).map(|_| Side::default()).collect(),
            keeps: true,
        }
    }

    /// A stage that only counts its OTs and their sizes (the cost model).
    pub fn counting(parties: usize) -> Stage {
        Stage {
            keeps: false,
            ..Stage::new(parties)
        }
    }

    /// Queues an OT to `peer` with message `x` (`lane.len` words); returns
    /// where this party's share starts in [`StageOut::send`]`[peer]`.
    pub fn send(&mut self, peer: usize, lane: Lane, x: &[u64]) -> usize {
        self.send_many(peer, &[lane], x)
    }

    /// Queues an OT from `peer` with choice `c`; returns where this party's
    /// share starts in [`StageOut::receive`]`[peer]`.
    pub fn receive(&mut self, peer: usize, lane: Lane, c: bool) -> usize {
        self.receive_many(peer, &[lane], c as u64)
    }

    /// Queues an OT to `peer` per lane of `lanes`, their messages one after
    /// another in `x`; returns where this party's shares start.
    pub fn send_many(&mut self, peer: usize, lanes: &[Lane], x: &[u64]) -> usize {
        let side = &mut self.send[peer];
        let first = side.len;
        if self.keeps {
            side.lanes.extend_from_slice(lanes);
            side.words.extend_from_slice(x);
        }
        for lane in lanes {
            side.add(*lane);
        }
        debug_assert_eq!(side.len - first, x.len());
        first
    }

    /// Queues an OT from `peer` per lane of `lanes` (at most 64), the k-th
    /// with choice bit k of `choices`; returns where this party's shares
    /// start.
    pub fn receive_many(&mut self, peer: usize, lanes: &[Lane], choices: u64) -> usize {
        debug_assert!(lanes.len() <= 64);
        let side = &mut self.receive[peer];
        let first = side.len;
        if self.keeps {
            let j = side.lanes.len();
            let (shift, n) = (j % 64, lanes.len());
            let choices = if n == 64 {
                choices
            } else {
                choices & ((1 << n) - 1)
            };
            if shift == 0 {
                side.words.push(choices);
            } else {
                *side.words.last_mut().expect("a partial word") |= choices << shift;
                if shift + n > 64 {
                    side.words.push(choices >> (64 - shift));
                }
            }
            side.lanes.extend_from_slice(lanes);
        }
        for lane in lanes {
            side.add(*lane);
        }
        first
    }

    /// Queues Gilboa's product of the peer's word c (its choice bits) with
    /// `x`: 64 OTs, the t-th with message x modulo 2^(64 - t), their shares
    /// weighed by 2^t and summed, so the two parties' shares of the product
    /// add to c x. Returns where this party's share is in
    /// [`StageOut::send_products`]`[peer]`.
    pub fn send_product(&mut self, peer: usize, x: u64) -> usize {
        let side = &mut self.send[peer];
        if self.keeps {
            side.products.push(x);
        }
        side.add_product()
    }

    /// The other end of [`Stage::send_product`], with this party's word `c`
    /// as the choice bits; returns where this party's share is in
    /// [`StageOut::receive_products`]`[peer]`.
    pub fn receive_product(&mut self, peer: usize, c: u64) -> usize {
        let side = &mut self.receive[peer];
        if self.keeps {
            side.products.push(c);
        }
        side.add_product()
    }

    /// Queues `ots` wide OTs to `peer`, each with message `x` (values of
    /// Z_2^128): the shares of OT k add to c_k x, c_k the peer's choice bit.
    /// Returns where this party's shares start in
    /// [`StageOut::send_wide`]`[peer]` (OT by OT, `x.len()` values each).
    pub fn send_wide(&mut self, peer: usize, x: &[u128], ots: usize) -> usize {
        let side = &mut self.send[peer];
        if self.keeps {
            side.wide_groups.push((ots, x.len()));
            side.wide.extend_from_slice(x);
        }
        side.add_wide(ots, x.len())
    }

    /// The other end of [`Stage::send_wide`]: `ots` OTs of `len` values, the
    /// k-th with bit k of `choices` as its choice bit. Returns where this
    /// party's shares start in [`StageOut::receive_wide`]`[peer]`.
    pub fn receive_wide(&mut self, peer: usize, choices: &[u64], ots: usize, len: usize) -> usize {
        debug_assert!(choices.len() * 64 >= ots);
        let side = &mut self.receive[peer];
        if self.keeps {
            side.wide_groups.push((ots, len));
            append_bits(&mut side.wide_choices, side.wide_count, choices, ots);
        }
        side.add_wide(ots, len)
    }

    /// Queues `n` correlated OTs to `peer`: this party's keys q (of the
    /// peer's bits under this party's Δ) land in [`StageOut::keys`]`[peer]`
    /// from the returned index.
    pub fn send_correlated(&mut self, peer: usize, n: usize) -> usize {
        let side = &mut self.send[peer];
        side.ots += n;
        side.correlated_count += n;
        side.correlated_count - n
    }

    /// The other end of [`Stage::send_correlated`]: `n` OTs, the k-th with
    /// bit k of `choices` as its choice bit c; the MACs q ⊕ cΔ land in
    /// [`StageOut::macs`]`[peer]` from the returned index.
    pub fn receive_correlated(&mut self, peer: usize, choices: &[u64], n: usize) -> usize {
        let side = &mut self.receive[peer];
        if self.keeps {
            append_bits(
                &mut side.correlated_choices,
                side.correlated_count,
                choices,
                n,
            );
        }
        side.ots += n;
        side.correlated_count += n;
        side.correlated_count - n
    }

    /// Makes room for `ots` more OTs of `words` words in all with `peer`, as
    /// the sender or the receiver.
    pub fn reserve(&mut self, peer: usize, sender: bool, ots: usize, words: usize) {
        if self.keeps {
            let side = if sender {
                &mut self.send[peer]
            } else {
                &mut self.receive[peer]
            };
            side.lanes.reserve(ots);
            side.words
                .reserve(if sender { words } else { ots.div_ceil(64) + 1 });
        }
    }

    /// Whether the stage only counts (then [`Stage::count`] may stand for
    /// many [`Stage::send`] or [`Stage::receive`] calls).
    pub fn counts_only(&self) -> bool {
        !self.keeps
    }

    /// Counts `ots` OTs with `peer` whose lanes hold `words` words of `bits`
    /// bits in all, as the sender or the receiver (a counting stage's bulk
    /// form of `send` and `receive`).
    pub fn count(&mut self, peer: usize, sender: bool, ots: usize, words: usize, bits: usize) {
        debug_assert!(!self.keeps);
        let side = if sender {
            &mut self.send[peer]
        } else {
            &mut self.receive[peer]
        };
        side.ots += ots;
        side.len += words;
        side.bits += bits;
    }

    /// OTs queued, over all peers and both sides.
    pub fn ots(&self) -> usize {
        self.send.iter().chain(&self.receive).map(|s| s.ots).sum()
    }

    /// What this party sends in the stage's two rounds, in bytes: the
    /// extension's columns to each sender, the corrections to each receiver.
    pub fn bytes_sent(&self) -> u64 {
        let columns: usize = self
            .receive
            .iter()
            .map(|s| BLOCKS * s.ots.div_ceil(64))
            .sum();
        let corrections: usize = self.send.iter().map(|s| s.bits.div_ceil(64)).sum();
        8 * (columns + corrections) as u64
    }
}

/// Appends the first `n` bits of `src` to the `len` bits packed in `dst`
/// (whose last word's bits above them are zero).
pub(crate) fn append_bits(dst: &mut Vec<u64>, len: usize, src: &[u64], n: usize) {
    let shift = len % 64;
    let words = n.div_ceil(64);
    for (k, &w) in src[..words].iter().enumerate() {
        let w = if k + 1 == words && !n.is_multiple_of(64) {
            w & ((1 << (n % 64)) - 1)
        } else {
            w
        };
        if shift == 0 {
            dst.push(w);
        } else {
            *dst.last_mut().expect("a partial word") |= w << shift;
            dst.push(w >> (64 - shift));
        }
    }
    dst.truncate((len + n).div_ceil(64));
}

/// Packs values of given widths densely into words.
#[derive(Default)]
struct BitWriter {
    words: Vec<u64>,
    /// Bits not yet in `words`, and how many.
    pending: u128,
    used: u32,
}

impl BitWriter {
    fn with_capacity(bits: usize) -> BitWriter {
        BitWriter {
            words: Vec::with_capacity(bits.div_ceil(64)),
            pending: 0,
            used: 0,
        }
    }

    /// Appends the low `width` bits of `v` (the others zero).
    fn push(&mut self, v: u64, width: u32) {
        self.pending |= (v as u128) << self.used;
        self.used += width;
        if self.used >= 64 {
            self.words.push(self.pending as u64);
            self.pending >>= 64;
            self.used -= 64;
        }
    }

    /// Appends the low `width` bits of `v`, for widths up to 128.
    fn push_wide(&mut self, v: u128, width: u32) {
        self.push(v as u64 & mask(width), width.min(64));
        if width > 64 {
            self.push((v >> 64) as u64 & mask(width - 64), width - 64);
        }
    }

    fn finish(mut self) -> Vec<u64> {
        if self.used > 0 {
            self.words.push(self.pending as u64);
        }
        self.words
    }
}

/// The sender's side of `lanes` (one after another, from their start): for
/// each OT with pads p0 = H(q) and p1 = H(q ⊕ Δ) and message x, the
/// correction p0 - p1 + x (or p0 ⊕ p1 ⊕ x) to `writer` and the share -p0 (or
/// p0) to `shares`, each to the lane's width (`one_word` if every lane is of
/// one word). Returns the message words used.
fn correct(
    lanes: &[Lane],
    one_word: bool,
    pad0: &[u64],
    pad1: &[u64],
    messages: &[u64],
    writer: &mut BitWriter,
    shares: &mut Vec<u64>,
) -> usize {
    let corrected = |lane: &Lane, p0: u64, p1: u64, x: u64| {
        let d = if lane.xor {
            p0 ^ p1 ^ x
        } else {
            p0.wrapping_sub(p1).wrapping_add(x)
        };
        d & lane.mask()
    };
    let share = |lane: &Lane, p0: u64| if lane.xor { p0 } else { p0.wrapping_neg() } & lane.mask();
    // The writer moved to a local, so its state stays in registers.
    let mut local = std::mem::take(writer);
    let mut k = 0;
    if one_word {
        // One word per OT (products, bits): two plain passes.
        shares.extend(lanes.iter().zip(pad0).map(|(l, p0)| share(l, *p0)));
        for (((lane, p0), p1), x) in lanes.iter().zip(pad0).zip(pad1).zip(messages) {
            local.push(corrected(lane, *p0, *p1, *x), lane.width as u32);
        }
        k = lanes.len();
    } else {
        for lane in lanes {
            for _ in 0..lane.len {
                let (p0, p1, x) = (pad0[k], pad1[k], messages[k]);
                local.push(corrected(lane, p0, p1, x), lane.width as u32);
                shares.push(share(lane, p0));
                k += 1;
            }
        }
    }
    *writer = local;
    k
}

struct BitReader<'a> {
    words: std::slice::Iter<'a, u64>,
    /// Bits read from `words` but not yet handed out, and how many.
    pending: u128,
    left: u32,
}

impl BitReader<'_> {
    fn new(words: &[u64]) -> BitReader<'_> {
        BitReader {
            words: words.iter(),
            pending: 0,
            left: 0,
        }
    }

    /// The next `width` bits, for widths up to 128.
    fn read_wide(&mut self, width: u32) -> u128 {
        let low = self.read(width.min(64)) as u128;
        if width > 64 {
            low | (self.read(width - 64) as u128) << 64
        } else {
            low
        }
    }

    /// The next `width` bits (the caller checked the words suffice).
    fn read(&mut self, width: u32) -> u64 {
        if self.left < width {
            let next = self.words.next().copied().unwrap_or(0);
            self.pending |= (next as u128) << self.left;
            self.left += 64;
        }
        let v = self.pending as u64 & mask(width);
        self.pending >>= width;
        self.left -= width;
        v
    }
}

/// The low `width` bits set.
fn mask(width: u32) -> u64 {
    if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// Both directions of the OTs with one peer.
struct Peer {
    sender: Sender,
    receiver: Receiver,
    /// OTs run so far in each direction: the next one's index for the hash.
    sent: u64,
    received: u64,
}

/// Rounds of [`Pairwise::setup`]: the base OTs' two, then the trees' level sums.
pub const SETUP_ROUNDS: u64 = 3;
/// Bytes each party sends each peer in [`Pairwise::setup`].
pub const SETUP_BYTES_PER_PEER: u64 = base::BYTES_PER_PEER + 8 * SETUP_WORDS as u64;

/// Bytes a receiver sends a peer for the consistency check of one extension
/// (with [`Pairwise::checked`]): the extra OTs' columns, and X and T.
pub const CHECK_BYTES: u64 = 8 * (BLOCKS * EXTRA_WORDS + PROOF_WORDS) as u64;

/// This party's OT extensions with every peer.
pub struct Pairwise {
    peers: Vec<Option<Peer>>,
    hash: Hash,
    /// OTs this party has taken part in, as sender or receiver.
    pub ots: u64,
    /// Whether each extension carries KOS's consistency check
    /// ([`consistency`]): needed against active adversaries.
    checked: bool,
}

impl Pairwise {
    /// Runs the base OTs with every other of the first `parties` nodes of
    /// `net`, then sets up the extension's trees: [`SETUP_ROUNDS`] rounds.
    /// As the sender, this party's Δ is fresh for each peer.
    pub fn setup(net: &mut Network, parties: usize) -> Result<Pairwise, VmError> {
        let keys = base::run(net, parties)?;
        Pairwise::from_base(net, parties, keys)
    }

    /// [`Pairwise::setup`] with `delta` as this party's Δ towards every peer
    /// (the sender's Δ is the complement of its base OT choices), so the
    /// correlated OTs it sends authenticate its peers' bits under one key.
    pub fn setup_with_delta(
        net: &mut Network,
        parties: usize,
        delta: u128,
    ) -> Result<Pairwise, VmError> {
        let keys = base::run_choosing(net, parties, KAPPA, &mut || Ok(!delta))?;
        Pairwise::from_base(net, parties, keys)
    }

    fn from_base(
        net: &mut Network,
        parties: usize,
        keys: Vec<Option<base::BaseKeys>>,
    ) -> Result<Pairwise, VmError> {
        let mut receivers: Vec<Option<Receiver>> = (0..parties).map(|_| None).collect();
        let mut out: Vec<Vec<Part>> = vec![Vec::new(); net.parties()];
        for (p, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                let (receiver, sums) = Receiver::from_pairs(&k.pairs)?;
                receivers[p] = Some(receiver);
                out[p].push(Arc::new(sums));
            }
        }
        let limit = net.frame_limit();
        net.limit_frames(limit.max(8 * SETUP_WORDS as u64));
        let got = net.exchange(out);
        net.limit_frames(limit);
        let got = got.map_err(VmError::Network)?;
        let mut peers = Vec::with_capacity(parties);
        for (p, (k, receiver)) in keys.iter().zip(receivers).enumerate() {
            peers.push(match (k, receiver) {
                (Some(k), Some(receiver)) => Some(Peer {
                    sender: Sender::from_chosen(k, &got[p], p)?,
                    receiver,
                    sent: 0,
                    received: 0,
                }),
                _ => None,
            });
        }
        Ok(Pairwise {
            peers,
            hash: Hash::new(),
            ots: 0,
            checked: false,
        })
    }

    /// These extensions with KOS's consistency check: every extension a
    /// receiver runs proves its choices consistent ([`consistency`]), at
    /// [`CHECK_BYTES`] more per peer and extension.
    pub fn checked(self) -> Pairwise {
        Pairwise {
            checked: true,
            ..self
        }
    }

    /// Runs `stage` (one that keeps its lanes) with every peer: two rounds.
    /// Each side's OTs are its lanes', then its products' (64 each).
    pub fn run(&mut self, net: &mut Network, stage: Stage) -> Result<StageOut, VmError> {
        debug_assert!(stage.keeps);
        let nodes = net.parties();
        let parties = self.peers.len();
        let limit = net.frame_limit();
        let largest = |words: usize| 8 * words as u64;
        // Round 1: the extension's columns to each sender; the receiver's
        // pads H(t_j), hashed chunk by chunk as the rows come.
        let hash = &self.hash;
        let mut out: Vec<Vec<Part>> = vec![Vec::new(); nodes];
        let mut pads = vec![Vec::new(); parties];
        let mut wide_pads = vec![Vec::new(); parties];
        let mut macs = vec![Vec::new(); parties];
        let mut expect = 0;
        let checked = self.checked;
        let extra = if checked { EXTRA_WORDS } else { 0 };
        for (p, peer) in self.peers.iter_mut().enumerate() {
            let Some(peer) = peer else { continue };
            let side = &stage.receive[p];
            if side.ots > 0 {
                let mut mine = Vec::with_capacity(side.len + 64 * side.product_count);
                let mut wide = Vec::with_capacity(2 * side.wide_values);
                let mut correlated = Vec::with_capacity(side.correlated_count);
                let wide_lanes = side.wide_lanes();
                let wide_end = side.wide_end();
                let first = peer.received;
                let lanes = side.lanes.len();
                let products_end = lanes + 64 * side.product_count;
                let mut choices = side.choices().into_owned();
                for _ in 0..extra {
                    choices.push(base::random_u128()? as u64);
                }
                let mut kept = Vec::with_capacity(if checked { 64 * choices.len() } else { 0 });
                let mut d = peer.receiver.extend(&choices, |at, rows| {
                    if checked {
                        kept.extend_from_slice(rows);
                    }
                    // The rows past the last OT (to a multiple of 64, and the
                    // check's extra ones) are not used.
                    let rows = &rows[..rows.len().min(side.ots.saturating_sub(at))];
                    if rows.is_empty() {
                        return;
                    }
                    let (rows, rest) = rows.split_at(lanes.saturating_sub(at).min(rows.len()));
                    if !rows.is_empty() {
                        let one_word = side.one_word();
                        let lanes = &side.lanes[at..at + rows.len()];
                        hash.pads(rows, 0, first + at as u64, one_word, lanes, &mut mine);
                    }
                    let at = at.max(lanes);
                    let (products, rest) =
                        rest.split_at(products_end.saturating_sub(at).min(rest.len()));
                    hash.word_pads(products, 0, first + at as u64, &mut mine);
                    let at = at.max(products_end);
                    let (rest, raw) = rest.split_at(wide_end.saturating_sub(at).min(rest.len()));
                    if !rest.is_empty() {
                        let lanes = &wide_lanes[at - products_end..][..rest.len()];
                        hash.pads(rest, 0, first + at as u64, false, lanes, &mut wide);
                    }
                    correlated.extend_from_slice(raw);
                });
                if checked {
                    let h = consistency::challenge(&d, first);
                    d.extend(consistency::prove(h, &kept, &choices));
                }
                out[p].push(Arc::new(d));
                pads[p] = mine;
                macs[p] = correlated;
                wide_pads[p] = wide;
            }
            let proof = if checked { PROOF_WORDS } else { 0 };
            let sent = stage.send[p].ots;
            expect = expect.max(BLOCKS * (sent.div_ceil(64) + extra) + proof);
        }
        net.limit_frames(limit.max(largest(expect)));
        let got = net.exchange(out);
        net.limit_frames(limit);
        let got = got.map_err(VmError::Network)?;
        // Round 2: the corrections to each receiver, chunk by chunk as the
        // sender's rows come.
        let mut out: Vec<Vec<Part>> = vec![Vec::new(); nodes];
        let mut send_shares = vec![Vec::new(); parties];
        let mut send_products = vec![Vec::new(); parties];
        let mut send_wide = vec![Vec::new(); parties];
        let mut keys = vec![Vec::new(); parties];
        let mut expect = 0;
        for (p, peer) in self.peers.iter_mut().enumerate() {
            let Some(peer) = peer else { continue };
            let side = &stage.send[p];
            expect = expect.max(stage.receive[p].bits.div_ceil(64));
            if side.ots == 0 {
                continue;
            }
            let words = side.ots.div_ceil(64) + extra;
            let proof_words = if checked { PROOF_WORDS } else { 0 };
            if got[p].len() != BLOCKS * words + proof_words {
                return Err(VmError::Network(format!(
                    "party {p} sent {} words of OT extension, not {}: a protocol violation",
                    got[p].len(),
                    BLOCKS * words + proof_words
                )));
            }
            let (d, proof) = got[p].split_at(BLOCKS * words);
            let delta = peer.sender.delta;
            let first = peer.sent;
            let mut fold = checked.then(|| Fold::new(consistency::challenge(d, first)));
            let lanes = side.lanes.len();
            let mut writer = BitWriter::with_capacity(side.bits);
            let mut shares = Vec::with_capacity(side.len);
            let mut products = vec![0u64; side.product_count];
            let mut wide = Vec::with_capacity(side.wide_values);
            let mut correlated = Vec::with_capacity(side.correlated_count);
            let wide_lanes = side.wide_lanes();
            let wide_end = side.wide_end();
            let mut wide_messages = side.wide_messages();
            let (mut pad0, mut pad1) = (Vec::new(), Vec::new());
            // The next OT's message, in side.words.
            let mut message = 0;
            let products_end = lanes + 64 * side.product_count;
            peer.sender.extend(d, words, |at, rows| {
                if let Some(fold) = fold.as_mut() {
                    fold.absorb(rows);
                }
                let rows = &rows[..rows.len().min(side.ots.saturating_sub(at))];
                if rows.is_empty() {
                    return;
                }
                let (rows, rest) = rows.split_at(lanes.saturating_sub(at).min(rows.len()));
                let at_products = at.max(lanes);
                let (rest, wide_rows) =
                    rest.split_at(products_end.saturating_sub(at_products).min(rest.len()));
                let one_word = side.one_word();
                for (rows, at, of_products) in [(rows, at, false), (rest, at.max(lanes), true)] {
                    if rows.is_empty() {
                        continue;
                    }
                    let index = first + at as u64;
                    pad0.clear();
                    pad1.clear();
                    if of_products {
                        hash.word_pads(rows, 0, index, &mut pad0);
                        hash.word_pads(rows, delta, index, &mut pad1);
                        let start = at - lanes;
                        correct_products(
                            start,
                            &pad0,
                            &pad1,
                            &side.products,
                            &mut writer,
                            &mut products,
                        );
                    } else {
                        let lanes = &side.lanes[at..at + rows.len()];
                        hash.pads(rows, 0, index, one_word, lanes, &mut pad0);
                        hash.pads(rows, delta, index, one_word, lanes, &mut pad1);
                        message += correct(
                            lanes,
                            one_word,
                            &pad0,
                            &pad1,
                            &side.words[message..],
                            &mut writer,
                            &mut shares,
                        );
                    }
                }
                let at = at_products.max(products_end);
                let (wide_rows, raw) =
                    wide_rows.split_at(wide_end.saturating_sub(at).min(wide_rows.len()));
                correlated.extend_from_slice(raw);
                if !wide_rows.is_empty() {
                    let lanes = &wide_lanes[at - products_end..][..wide_rows.len()];
                    pad0.clear();
                    pad1.clear();
                    hash.pads(wide_rows, 0, first + at as u64, false, lanes, &mut pad0);
                    hash.pads(wide_rows, delta, first + at as u64, false, lanes, &mut pad1);
                    correct_wide(
                        &mut wide_messages,
                        wide_rows.len(),
                        &pad0,
                        &pad1,
                        &mut writer,
                        &mut wide,
                    );
                }
            });
            if let Some(fold) = fold {
                if !consistency::verify(fold, delta, proof) {
                    return Err(VmError::Cheating(format!(
                        "cheating detected by party {}: party {p}'s OT extension failed its \
                         consistency check (choice bits that differ between its columns)",
                        net.party()
                    )));
                }
            }
            peer.sent += side.ots as u64;
            self.ots += side.ots as u64;
            out[p].push(Arc::new(writer.finish()));
            send_shares[p] = shares;
            send_products[p] = products;
            send_wide[p] = wide;
            keys[p] = correlated;
        }
        net.limit_frames(limit.max(largest(expect)));
        let got = net.exchange(out);
        net.limit_frames(limit);
        let got = got.map_err(VmError::Network)?;
        let mut receive_shares = vec![Vec::new(); parties];
        let mut receive_products = vec![Vec::new(); parties];
        let mut receive_wide = vec![Vec::new(); parties];
        for (p, peer) in self.peers.iter_mut().enumerate() {
            let Some(peer) = peer else { continue };
            let side = &stage.receive[p];
            if side.ots == 0 {
                continue;
            }
            if got[p].len() != side.bits.div_ceil(64) {
                return Err(VmError::Network(format!(
                    "party {p} sent {} words of OT corrections, not {}: a protocol violation",
                    got[p].len(),
                    side.bits.div_ceil(64)
                )));
            }
            let mut reader = BitReader::new(&got[p]);
            let mut shares = Vec::with_capacity(side.len);
            let pads = &pads[p];
            for (lanes, choices) in side.lanes.chunks(64).zip(&side.words) {
                for (j, lane) in lanes.iter().enumerate() {
                    // All ones if the choice bit is set, else zero: no branch
                    // on a random bit. (One-word lanes, the most, take no
                    // inner loop, which the compiler would split on it.)
                    let chosen = 0u64.wrapping_sub(choices >> j & 1);
                    let (mask, width) = (lane.mask(), lane.width as u32);
                    let combine = |pad: u64, d: u64| {
                        if lane.xor {
                            (pad ^ d) & mask
                        } else {
                            pad.wrapping_add(d) & mask
                        }
                    };
                    let at = shares.len();
                    if lane.len == 1 {
                        shares.push(combine(pads[at], reader.read(width) & chosen));
                        continue;
                    }
                    for pad in &pads[at..at + lane.len as usize] {
                        shares.push(combine(*pad, reader.read(width) & chosen));
                    }
                }
            }
            // The products: OT t of each adds (pad + c_t d) 2^t to its share
            // (the pad and correction are modulo 2^(64 - t), which the weight
            // makes whole).
            let mut products = Vec::with_capacity(side.product_count);
            for (pads, c) in pads[shares.len()..].chunks(64).zip(&side.products) {
                let mut sum = 0u64;
                for (t, pad) in pads.iter().enumerate() {
                    let chosen = 0u64.wrapping_sub(c >> t & 1);
                    let d = reader.read(64 - t as u32) & chosen;
                    sum = sum.wrapping_add(pad.wrapping_add(d) << t);
                }
                products.push(sum);
            }
            // The wide OTs: each value's pad (two words) plus c d.
            let mut wide = Vec::with_capacity(side.wide_values);
            let mut pads = wide_pads[p].chunks_exact(2);
            let mut ot = 0;
            for &(ots, len) in &side.wide_groups {
                for k in ot..ot + ots {
                    let chosen =
                        0u128.wrapping_sub((side.wide_choices[k / 64] >> (k % 64) & 1) as u128);
                    for pad in pads.by_ref().take(len) {
                        let pad = pad[0] as u128 | (pad[1] as u128) << 64;
                        wide.push(pad.wrapping_add(reader.read_wide(128) & chosen));
                    }
                }
                ot += ots;
            }
            peer.received += side.ots as u64;
            self.ots += side.ots as u64;
            receive_shares[p] = shares;
            receive_products[p] = products;
            receive_wide[p] = wide;
        }
        Ok(StageOut {
            send: send_shares,
            receive: receive_shares,
            send_products,
            receive_products,
            send_wide,
            receive_wide,
            keys,
            macs,
        })
    }
}

/// The sender's side of products' OTs from the `start`-th (of all the
/// side's products' OTs, 64 per product), with pads p0 = H(q) and p1 = H(q ⊕
/// Δ): OT t of product b sends p0 - p1 + x_b modulo 2^(64 - t) to `writer`
/// and adds -p0 2^t to the product's share.
fn correct_products(
    start: usize,
    pad0: &[u64],
    pad1: &[u64],
    messages: &[u64],
    writer: &mut BitWriter,
    products: &mut [u64],
) {
    let mut local = std::mem::take(writer);
    for (k, (p0, p1)) in pad0.iter().zip(pad1).enumerate() {
        let (b, t) = ((start + k) / 64, (start + k) % 64);
        let width = 64 - t as u32;
        local.push(
            p0.wrapping_sub(*p1).wrapping_add(messages[b]) & mask(width),
            width,
        );
        products[b] = products[b].wrapping_add(p0.wrapping_neg() << t);
    }
    *writer = local;
}

/// The sender's side of the next `ots` wide OTs, whose messages `messages`
/// yields, with two-word pads p0 = H(q) and p1 = H(q ⊕ Δ) per value: each
/// value x sends p0 - p1 + x to `writer` and leaves -p0 in `shares`.
fn correct_wide<'a>(
    messages: &mut impl Iterator<Item = &'a [u128]>,
    ots: usize,
    pad0: &[u64],
    pad1: &[u64],
    writer: &mut BitWriter,
    shares: &mut Vec<u128>,
) {
    let wide = |p: &[u64]| p[0] as u128 | (p[1] as u128) << 64;
    let mut local = std::mem::take(writer);
    let mut pads = pad0.chunks_exact(2).zip(pad1.chunks_exact(2));
    for x in messages.take(ots) {
        for (x, (p0, p1)) in x.iter().zip(pads.by_ref()) {
            let (p0, p1) = (wide(p0), wide(p1));
            local.push_wide(p0.wrapping_sub(p1).wrapping_add(*x), 128);
            shares.push(p0.wrapping_neg());
        }
    }
    *writer = local;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_values_of_any_widths_read_back() {
        // Widths as Gilboa's lanes run (64 down to 1), then irregular ones.
        let widths: Vec<u32> = (1..=64)
            .rev()
            .chain((0..300).map(|i| 1 + (i * 37 % 64)))
            .collect();
        let values: Vec<u64> = (0..widths.len() as u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i << 7))
            .collect();
        let bits: usize = widths.iter().map(|w| *w as usize).sum();
        for mut writer in [BitWriter::with_capacity(bits), BitWriter::default()] {
            for (v, w) in values.iter().zip(&widths) {
                writer.push(v & mask(*w), *w);
            }
            let words = writer.finish();
            assert_eq!(words.len(), bits.div_ceil(64));
            let mut reader = BitReader::new(&words);
            for (v, w) in values.iter().zip(&widths) {
                assert_eq!(reader.read(*w), v & mask(*w), "width {w}");
            }
        }
    }
}

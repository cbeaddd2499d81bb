//! Running a program: choosing the backend, connecting the parties, delivering
//! outputs to the parties they are revealed to, and the JSON line of figures.

use crate::backend::clear::Clear;
use crate::backend::prep;
use crate::backend::rep3::{self, Rep3};
use crate::backend::rep4::{self, Rep4};
use crate::backend::semi2k::{self, Semi2k};
use crate::backend::spdz2k::{self, Spdz2k};
use crate::backend::CommFigures;
use crate::bytecode::{content_hash, Program};
use crate::interp::{self, Io, RunOutcome};
use crate::net::{Hello, NetConfig, Network};
use crate::VmError;
use std::path::Path;

/// The protocols this VM can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Plaintext reference emulating every party in one process (no security).
    Clear,
    /// Three parties, passive adversary, honest majority (replicated secret sharing).
    Rep3,
    /// Four parties, active adversary (one party), honest majority: replicated
    /// secret sharing with joint message passing, cheating detected before
    /// any output.
    Rep4,
    /// Two or more parties (as many as the program's), passive adversary,
    /// dishonest majority (additive sharing, Beaver products), its
    /// preprocessing by OT (or --prep dealer).
    Semi2k,
    /// Two or more parties, active adversary, dishonest majority: additive
    /// sharing with MACs over Z_2^128 (SPDZ2k), security with abort; its
    /// preprocessing by OT in an offline phase (or --prep dealer, INSECURE).
    Spdz2k,
}

/// Where a Beaver protocol's correlated randomness comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Prep {
    /// The parties make it themselves by oblivious transfer, before the
    /// online phase (secure: the default).
    Ot,
    /// INSECURE: a trusted third party, an extra process, deals it (as
    /// CrypTen's TTP mode); it must not collude with any party.
    Dealer,
}

impl Prep {
    pub fn name(self) -> &'static str {
        match self {
            Prep::Ot => "ot",
            Prep::Dealer => "dealer",
        }
    }
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Clear => "clear",
            Protocol::Rep3 => "rep3",
            Protocol::Rep4 => "rep4",
            Protocol::Semi2k => "semi2k",
            Protocol::Spdz2k => "spdz2k",
        }
    }

    pub fn threat_model(self) -> &'static str {
        match self {
            Protocol::Clear => "none: plaintext reference, all parties emulated in one process, NO SECURITY",
            Protocol::Rep3 => "passive adversary, honest majority (1 of 3 parties corrupted): replicated secret sharing",
            Protocol::Rep4 => rep4::THREAT_MODEL,
            Protocol::Semi2k => "passive adversary, dishonest majority (all parties but one corrupted): additive secret sharing with Beaver products",
            Protocol::Spdz2k => spdz2k::THREAT_MODEL,
        }
    }

    /// The number of parties of a networked protocol running `program`
    /// (semi2k: the program's, at least 2, unless more are asked for).
    pub fn parties(self, program: &Program) -> Option<usize> {
        match self {
            Protocol::Clear => None,
            Protocol::Rep3 => Some(3),
            Protocol::Rep4 => Some(rep4::PARTIES),
            Protocol::Semi2k | Protocol::Spdz2k => Some((program.parties as usize).max(2)),
        }
    }

    /// The preprocessing of a run of this protocol: semi2k's and spdz2k's
    /// is `asked`, by default OT (the dealer, insecure, only when named);
    /// other protocols take none.
    pub fn prep(self, asked: Option<Prep>) -> Result<Option<Prep>, VmError> {
        match (self, asked) {
            (Protocol::Semi2k | Protocol::Spdz2k, None) => Ok(Some(Prep::Ot)),
            (Protocol::Semi2k | Protocol::Spdz2k, asked) => Ok(asked),
            (_, None) => Ok(None),
            (p, Some(_)) => Err(VmError::Usage(format!(
                "--prep applies to semi2k and spdz2k only; {} needs no preprocessing",
                p.name()
            ))),
        }
    }

    /// Refuses, before any connection, a program this protocol cannot run.
    pub fn check(self, program: &Program) -> Result<(), VmError> {
        let Some(n) = self.parties(program) else {
            return Ok(());
        };
        if program.parties as usize > n {
            return Err(VmError::Usage(format!(
                "the program has {} parties but {} runs with {n}",
                program.parties,
                self.name()
            )));
        }
        if self == Protocol::Spdz2k && program.shares.iter().any(|s| !s.kept) {
            return Err(VmError::Usage(
                "spdz2k cannot run this program: it loads kept shares, whose MACs would need a MAC key kept from another run (spdz2k's is made afresh for each run)".into(),
            ));
        }
        let refuses = match self {
            Protocol::Rep3 => rep3::refuses,
            Protocol::Rep4 => rep4::refuses,
            Protocol::Semi2k => semi2k::refuses,
            Protocol::Spdz2k => spdz2k::refuses,
            Protocol::Clear => return Ok(()),
        };
        if let Some((why, m)) = program.manifest.iter().find_map(|m| Some((refuses(m)?, m))) {
            return Err(VmError::Usage(format!(
                "{} cannot run this program: it needs {why}, {} times",
                self.name(),
                m.count
            )));
        }
        Ok(())
    }
}

/// Physical memory of this machine, in bytes.
pub fn physical_memory() -> u64 {
    // SAFETY: sysconf only reads system configuration.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages.max(0) as u64).saturating_mul(size.max(0) as u64)
}

/// Refuses, before any input is read or any peer reached, a program whose
/// registers would hold more than `max_bytes` in this party (each element is
/// one word in the clear, two as a rep3 share, three as a rep4 share; the
/// protocols' working memory doubles it).
pub fn check_memory(program: &Program, protocol: Protocol, max_bytes: u64) -> Result<(), VmError> {
    let words = match protocol {
        Protocol::Clear => 1,
        Protocol::Rep3 => 2,
        Protocol::Rep4 => 3,
        // A share, and for a masked value its opening and mask share.
        Protocol::Semi2k => 3,
        // Values and MACs of 128 bits, and for a masked value its opening
        // and mask share.
        Protocol::Spdz2k => 10,
    };
    let elements = program.peak_register_elements();
    let bytes = elements.saturating_mul(8 * words * 2);
    if bytes > max_bytes {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        return Err(VmError::Usage(format!(
            "the program holds up to {elements} tensor elements at once, about {:.1} GiB under {}, above the limit of {:.1} GiB: raise --max-memory if this machine has the memory, or use smaller tensors",
            gib(bytes),
            protocol.name(),
            gib(max_bytes)
        )));
    }
    Ok(())
}

/// Refuses, before any connection, a semi2k or spdz2k run whose preprocessing
/// by OT, made in full before the online phase and held in memory, would not
/// fit in `max_bytes` beside the program's tensors.
pub fn check_material(
    program: &Program,
    protocol: Protocol,
    max_bytes: u64,
) -> Result<(), VmError> {
    let words = match protocol {
        Protocol::Spdz2k => spdz2k::material::material_words(program)?,
        _ => prep::replay::material_words(program),
    };
    let bytes = words.saturating_mul(8);
    if bytes > max_bytes {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        return Err(VmError::Usage(format!(
            "{}'s preprocessing by OT for this program is about {:.1} GiB per party, made before the online phase and held in memory, above the limit of {:.1} GiB: raise --max-memory if this machine has the memory, or run it with --prep dealer (INSECURE: a trusted dealer)",
            protocol.name(),
            gib(bytes),
            gib(max_bytes)
        )));
    }
    Ok(())
}

/// Runs `program` under the clear backend, every party emulated in this process.
/// `seed` fixes the randomness (tests and reproducible experiments only); with
/// `range_check`, every result is held to its declared type.
pub fn run_local(
    program: &Program,
    io: &mut dyn Io,
    seed: Option<u64>,
    range_check: bool,
) -> Result<RunOutcome, VmError> {
    interp::run_with(program, &mut Clear::new(seed), io, range_check)
}

/// Runs party `config.party` of a networked protocol; `io` holds this party's own inputs.
pub fn run_party(
    program: &Program,
    protocol: Protocol,
    config: NetConfig,
    io: &mut dyn Io,
) -> Result<RunOutcome, VmError> {
    protocol.check(program)?;
    let hello = Hello {
        program_hash: content_hash(&program.encode()),
        protocol: protocol.name().to_string(),
        party: config.party,
        parties: protocol.parties(program).expect("a networked protocol"),
    };
    let mut net = Network::connect(config, &hello).map_err(VmError::Network)?;
    match protocol {
        Protocol::Rep3 => {
            // Set-up sends keys of 16 bytes; then no message exceeds the program's largest.
            net.limit_frames(rep3::largest_message(program).max(64));
            interp::run_with(program, &mut Rep3::setup(net)?, io, false)
        }
        Protocol::Rep4 => {
            // Set-up sends keys of 16 bytes and checks digests of 32.
            net.limit_frames(rep4::largest_message(program).max(128));
            interp::run_with(program, &mut Rep4::setup(net)?, io, false)
        }
        Protocol::Semi2k | Protocol::Spdz2k => Err(VmError::Usage(format!(
            "{} runs with its preprocessing: see run_beaver_party",
            protocol.name()
        ))),
        Protocol::Clear => unreachable!("clear runs in one process"),
    }
}

/// Runs party `config.party` of semi2k or spdz2k with preprocessing `prep`:
/// by OT among the parties (`config.hosts` lists them), or with a dealer as
/// the network's last node (`config.hosts` lists the parties, then the
/// dealer). With `--prep ot` and `prep_dir`, the material comes from the
/// party's file there (`mpcvm prep`'s) instead of an offline phase, and the
/// file is removed once the parties have connected (single-use).
pub fn run_beaver_party(
    program: &Program,
    protocol: Protocol,
    config: NetConfig,
    io: &mut dyn Io,
    prep: Prep,
    prep_dir: Option<&Path>,
) -> Result<RunOutcome, VmError> {
    let nodes = config.hosts.0.len();
    check_beaver(protocol, program, nodes, prep)?;
    let party = config.party;
    let made = match (prep, prep_dir) {
        (Prep::Ot, Some(dir)) => Some(prep::file::Reader::open(
            &prep::file::path(dir, party),
            &prep_binding(program, protocol, party, nodes),
        )?),
        (Prep::Dealer, Some(_)) => {
            return Err(VmError::Usage(
                "--prep-dir holds material made by OT (`mpcvm prep`), not a dealer's".into(),
            ))
        }
        _ => None,
    };
    let hello = beaver_hello(protocol, program, party, nodes);
    let mut net = Network::connect(config, &hello).map_err(VmError::Network)?;
    if let Some(reader) = &made {
        reader.consume()?;
    }
    let program_arc = std::sync::Arc::new(program.clone());
    let mut report = |d, t| io.offline(d, t);
    if protocol == Protocol::Spdz2k {
        net.limit_frames(spdz2k::material::largest_message(program));
        let mut backend = match (prep, made) {
            (Prep::Dealer, _) => Spdz2k::setup_with_dealer(net, program_arc)?,
            (Prep::Ot, None) => Spdz2k::setup_with_ot(net, program_arc, &mut report)?,
            (Prep::Ot, Some(reader)) => Spdz2k::setup_with_file(net, program_arc, reader)?,
        };
        return interp::run_with(program, &mut backend, io, false);
    }
    net.limit_frames(semi2k::largest_message(program).max(64));
    let mut backend = match prep {
        Prep::Dealer => Semi2k::setup_with_dealer(net, program_arc)?,
        Prep::Ot => Semi2k::setup_with_ot(net, program_arc, made, &mut report)?,
    };
    interp::run_with(program, &mut backend, io, false)
}

/// What party `party` of `parties`' material of `protocol` for `program`
/// is bound to.
fn prep_binding(
    program: &Program,
    protocol: Protocol,
    party: usize,
    parties: usize,
) -> prep::file::Binding {
    prep::file::Binding {
        program_hash: content_hash(&program.encode()),
        protocol: protocol.name().into(),
        party,
        parties,
    }
}

/// `mpcvm prep`: the offline phase of party `config.party` of semi2k or
/// spdz2k alone, ahead of the run, writing its material to its file in
/// `dir` (spdz2k's: its MAC key share first); returns the phase's figures.
pub fn prep_party(
    program: &Program,
    protocol: Protocol,
    config: NetConfig,
    dir: &Path,
    report: prep::ot::Progress<'_>,
) -> Result<crate::backend::OfflineFigures, VmError> {
    let nodes = config.hosts.0.len();
    check_beaver(protocol, program, nodes, Prep::Ot)?;
    let party = config.party;
    let path = prep::file::path(dir, party);
    std::fs::create_dir_all(dir)
        .map_err(|e| VmError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let hello = beaver_hello(protocol, program, party, nodes);
    let mut net = Network::connect(config, &hello).map_err(VmError::Network)?;
    let binding = prep_binding(program, protocol, party, nodes);
    if protocol == Protocol::Spdz2k {
        let made = spdz2k::offline::offline(program, &mut net, nodes, report);
        if let Err(VmError::Cheating(why)) = &made {
            net.abort(why);
        }
        let (items, keyed, figures) = made?;
        let mut file_items = vec![spdz2k::material::key_item(&keyed)];
        file_items.extend(items.iter().map(|i| spdz2k::material::to_file_item(i)));
        prep::file::write(&path, &binding, &file_items)?;
        return Ok(figures);
    }
    net.limit_frames(semi2k::largest_message(program).max(64));
    let (items, figures) = prep::ot::offline(program, &mut net, nodes, report)?;
    prep::file::write(&path, &binding, &items)?;
    Ok(figures)
}

/// Runs the dealer of a semi2k or spdz2k run (`--prep dealer`: INSECURE, a
/// trusted third party), the network's last node; returns its
/// communication. semi2k's parties draw most of their material from seeds
/// it sends them; spdz2k's receive every item on a stream, with their MAC
/// key shares first.
pub fn run_dealer(
    program: &Program,
    protocol: Protocol,
    config: NetConfig,
) -> Result<CommFigures, VmError> {
    let nodes = config.hosts.0.len();
    check_beaver(protocol, program, nodes, Prep::Dealer)?;
    let hello = beaver_hello(protocol, program, config.party, nodes);
    let mut net = Network::connect(config, &hello).map_err(VmError::Network)?;
    let parties = nodes - 1;
    let mut out = vec![Vec::new(); nodes];
    if protocol == Protocol::Spdz2k {
        // Each party's MAC key share, from Z_2^64 as SPDZ2k's, sent as an
        // element of Z_2^128 (two words), and its binary key share Δ_i of
        // GF(2^128) (two more).
        let mut keys = super::backend::prf::Prf::new(semi2k::fresh_key()?);
        let (mut alpha, mut delta) = (0u128, 0u128);
        for o in out.iter_mut().take(parties) {
            let share = keys.elements(3);
            alpha = alpha.wrapping_add(share[0] as u128);
            delta ^= share[1] as u128 | (share[2] as u128) << 64;
            o.push(std::sync::Arc::new(vec![share[0], 0, share[1], share[2]]));
        }
        net.exchange(out).map_err(VmError::Network)?;
        let mut streams: Vec<_> = (0..parties).map(|p| net.take_stream(p)).collect();
        let rng = super::backend::prf::Prf::new(semi2k::fresh_key()?);
        spdz2k::material::deal(program, alpha, delta, rng, &mut streams)?;
        let mut figures = net.figures();
        figures.bytes_sent += streams.iter().map(|s| s.figures().bytes_sent).sum::<u64>();
        return Ok(figures);
    }
    let mut seeds = Vec::with_capacity(parties);
    for o in out.iter_mut().take(parties) {
        let seed = semi2k::fresh_key()?;
        o.push(std::sync::Arc::new(
            bytemuck::cast_slice::<u8, u64>(&seed).to_vec(),
        ));
        seeds.push(seed);
    }
    net.exchange(out).map_err(VmError::Network)?;
    let mut to_last = net.take_stream(parties - 1);
    prep::dealer::deal(program, &seeds, &mut to_last)?;
    let mut figures = net.figures();
    figures.bytes_sent += to_last.figures().bytes_sent;
    Ok(figures)
}

/// The hello of a Beaver protocol's node: every party and the dealer.
fn beaver_hello(protocol: Protocol, program: &Program, party: usize, nodes: usize) -> Hello {
    Hello {
        program_hash: content_hash(&program.encode()),
        protocol: protocol.name().to_string(),
        party,
        parties: nodes,
    }
}

/// Refuses a program `protocol` (semi2k or spdz2k) cannot run, or a hosts
/// file without room for its parties (and the dealer, the last node, with
/// `--prep dealer`).
fn check_beaver(
    protocol: Protocol,
    program: &Program,
    nodes: usize,
    prep: Prep,
) -> Result<(), VmError> {
    protocol.check(program)?;
    let least = protocol.parties(program).expect("networked");
    let name = protocol.name();
    match prep {
        Prep::Dealer if nodes < least + 1 => Err(VmError::Usage(format!(
            "{name} with a dealer runs this program with at least {least} parties and the dealer, but the hosts file lists {nodes} nodes"
        ))),
        Prep::Ot if nodes < least => Err(VmError::Usage(format!(
            "{name} runs this program with at least {least} parties, but the hosts file lists {nodes} nodes"
        ))),
        _ => Ok(()),
    }
}

/// The threat model line every run prints at start.
pub fn banner(protocol: Protocol, seed: Option<u64>, prep: Option<Prep>) -> String {
    let seeded = match seed {
        Some(s) => format!("; randomness FIXED by --seed {s} (reproducible, not for real use)"),
        None => String::new(),
    };
    let dealt = match prep {
        Some(Prep::Dealer) => "; preprocessing by a trusted dealer: INSECURE (the dealer must not collude with any party)",
        Some(Prep::Ot) => "; preprocessing by oblivious transfer among the parties, before the online phase",
        None => "",
    };
    format!(
        "protocol {} (threat model: {}){seeded}{dealt}",
        protocol.name(),
        protocol.threat_model()
    )
}

/// The bytes a party of a run of `parties` sent by source location, measured
/// ([`RunOutcome::sent_by_pc`]), and the values its masking operations opened
/// (a mask or a product's operands, sent once to each other party): rows as
/// the cost models' `by_location` gives them (rounds left zero).
pub fn sent_by_location(
    program: &Program,
    outcome: &RunOutcome,
    parties: usize,
) -> Vec<(String, u64, [u64; 2])> {
    use crate::bytecode::Instr;
    let peers = parties.saturating_sub(1).max(1) as u64;
    let mut rows: Vec<(String, u64, [u64; 2])> = Vec::new();
    for (pc, bytes) in outcome.sent_by_pc.iter().enumerate() {
        if *bytes == 0 {
            continue;
        }
        let place = program.location(pc).unwrap_or("(compiler)");
        let masking = matches!(
            program.code[pc],
            Instr::Mask { .. } | Instr::Mul { .. } | Instr::MatMul { .. } | Instr::Conv2d { .. }
        );
        let figures = [*bytes, if masking { bytes / 8 / peers } else { 0 }];
        match rows.iter_mut().find(|r| r.0 == place) {
            Some(r) => (0..2).for_each(|k| r.2[k] += figures[k]),
            None => rows.push((place.to_string(), 0, figures)),
        }
    }
    rows
}

/// [`sent_by_location`] as a table.
pub fn render_sent_by_location(rows: &[(String, u64, [u64; 2])], party: usize) -> String {
    let mut text = format!(
        "party {party}: sent, measured, by source location\n{:>14} {:>12}  source\n",
        "bytes", "masked"
    );
    for (place, _, [bytes, masked]) in rows {
        text += &format!("{bytes:>14} {masked:>12}  {place}\n");
    }
    text
}

/// One line of JSON with the figures of a run.
pub fn figures_json(
    protocol: Protocol,
    prep: Option<Prep>,
    party: Option<usize>,
    outcome: &RunOutcome,
) -> String {
    let offline = outcome.offline.unwrap_or_default();
    serde_json::json!({
        "protocol": protocol.name(),
        "preprocessing": match prep {
            Some(Prep::Dealer) => "dealer (INSECURE)",
            Some(Prep::Ot) => "ot",
            None => "none",
        },
        "party": party,
        "seconds": outcome.seconds,
        "preprocessing_seconds": offline.seconds,
        "preprocessing_rounds": offline.comm.rounds,
        "preprocessing_bytes_sent": offline.comm.bytes_sent,
        "preprocessing_bytes_received": offline.comm.bytes_received,
        "ots": offline.ots,
        "rounds": outcome.figures.rounds,
        "bytes_sent": outcome.figures.bytes_sent,
        "bytes_received": outcome.figures.bytes_received,
        "peak_register_elements": outcome.peak_register_elements,
    })
    .to_string()
}

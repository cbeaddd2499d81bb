//! The round engine of the Beaver backends (semi2k, spdz2k): an operation is
//! a [`Task`] that opens values and goes on with what was opened, tasks of
//! one round batch advance side by side, and every round sends each peer one
//! message holding all the batch's openings.

use super::{Interaction, Outcome};
use crate::net::{Network, Part};
use crate::ring::Word;
use crate::VmError;
use std::sync::Arc;

/// A Beaver backend as the engine drives it.
pub(crate) trait Engine: Sized + 'static {
    /// The ring's word: what an opening sends.
    type W: Word;
    /// The backend's share of a secret.
    type Share;
    fn me(&self) -> usize;
    fn parties(&self) -> usize;
    fn net(&mut self) -> &mut Network;
    /// Starts `op`, queueing its first messages in `out`.
    fn start(
        &mut self,
        op: Interaction<'_, Self::Share>,
        out: &mut [Vec<Part>],
    ) -> Result<Task<Self>, VmError>;
}

/// What follows an opening, given the opened values: the next task (which
/// may open more, adding its messages to the next round's).
pub(crate) type Next<B> =
    Box<dyn FnOnce(&mut B, Vec<<B as Engine>::W>, &mut [Vec<Part>]) -> Result<Task<B>, VmError>>;

/// What follows a group of tasks, given their outcomes.
pub(crate) type Joined<B> = Box<
    dyn FnOnce(
        &mut B,
        Vec<Outcome<<B as Engine>::Share>>,
        &mut [Vec<Part>],
    ) -> Result<Task<B>, VmError>,
>;

/// An operation (or part of one) between rounds.
pub(crate) enum Task<B: Engine> {
    /// Waits for every peer's share of an opening of `own.len()` values
    /// (added in the ring, or XORed for bits), then goes on with the opened
    /// values.
    Opening {
        own: Vec<B::W>,
        xor: bool,
        then: Next<B>,
    },
    /// Waits for `n` values from party `from` alone (an input's masked
    /// value), then goes on with them.
    From {
        from: usize,
        n: usize,
        then: Next<B>,
    },
    /// An output this party receives (with its own share) or not; the
    /// senders' shares are added.
    Output {
        shape: Vec<usize>,
        own: Option<Vec<B::W>>,
    },
    /// Tasks side by side, then what follows them all.
    All(Vec<Task<B>>, Joined<B>),
    Done(Outcome<B::Share>),
}

/// Opens `own` (this party's shares; XORed if `xor`) to every party, then
/// goes on with `then` and the opened values.
pub(crate) fn open<B: Engine>(
    b: &B,
    own: Vec<B::W>,
    xor: bool,
    out: &mut [Vec<Part>],
    then: impl FnOnce(&mut B, Vec<B::W>, &mut [Vec<Part>]) -> Result<Task<B>, VmError> + 'static,
) -> Task<B> {
    let part = Arc::new(B::W::to_words(&own));
    for (j, o) in out.iter_mut().enumerate().take(b.parties()) {
        if j != b.me() {
            o.push(part.clone());
        }
    }
    Task::Opening {
        own,
        xor,
        then: Box::new(then),
    }
}

/// Advances `task` by one round's messages (`take(peer, words)` reads them).
fn advance<B: Engine>(
    b: &mut B,
    task: Task<B>,
    take: &mut dyn FnMut(usize, usize) -> Result<Vec<u64>, VmError>,
    out: &mut [Vec<Part>],
) -> Result<Task<B>, VmError> {
    let (me, parties) = (b.me(), b.parties());
    let mut gather = |own: Vec<B::W>, xor: bool| -> Result<Vec<B::W>, VmError> {
        let mut sum = own;
        for j in (0..parties).filter(|&j| j != me) {
            let theirs = B::W::from_words(&take(j, sum.len() * B::W::WORDS)?);
            for (s, t) in sum.iter_mut().zip(theirs) {
                *s = if xor { s.xor(t) } else { s.add(t) };
            }
        }
        Ok(sum)
    };
    let task = match task {
        Task::Opening { own, xor, then } => {
            let opened = gather(own, xor)?;
            then(b, opened, out)?
        }
        Task::From { from, n, then } => {
            let values = B::W::from_words(&take(from, n * B::W::WORDS)?);
            then(b, values, out)?
        }
        Task::Output { shape, own } => Task::Done(Outcome::Revealed(match own {
            Some(own) => Some(crate::ring::RingTensor::new(
                shape,
                gather(own, false)?.iter().map(|v| v.low()).collect(),
            )),
            None => None,
        })),
        Task::All(tasks, then) => {
            let mut next = Vec::with_capacity(tasks.len());
            for t in tasks {
                next.push(match t {
                    Task::Done(o) => Task::Done(o),
                    t => advance(b, t, take, out)?,
                });
            }
            Task::All(next, then)
        }
        Task::Done(o) => Task::Done(o),
    };
    settle(b, task, out)
}

/// Runs what follows a group whose tasks have all finished.
pub(crate) fn settle<B: Engine>(
    b: &mut B,
    task: Task<B>,
    out: &mut [Vec<Part>],
) -> Result<Task<B>, VmError> {
    match task {
        Task::All(tasks, then) if tasks.iter().all(|t| matches!(t, Task::Done(_))) => {
            let outcomes = tasks.into_iter().map(finished).collect();
            let next = then(b, outcomes, out)?;
            settle(b, next, out)
        }
        other => Ok(other),
    }
}

/// The outcome of a finished task.
pub(crate) fn finished<B: Engine>(t: Task<B>) -> Outcome<B::Share> {
    match t {
        Task::Done(o) => o,
        _ => unreachable!("only finished tasks"),
    }
}

/// Counts the words queued to the peers since the last count, as parts are
/// only ever appended: what one operation's step put on the wire.
struct Tally(Vec<usize>);

impl Tally {
    fn new(out: &[Vec<Part>]) -> Tally {
        Tally(out.iter().map(Vec::len).collect())
    }

    fn take(&mut self, out: &[Vec<Part>]) -> u64 {
        let mut words = 0;
        for (counted, parts) in self.0.iter_mut().zip(out) {
            words += parts[*counted..]
                .iter()
                .map(|p| p.len() as u64)
                .sum::<u64>();
            *counted = parts.len();
        }
        words
    }
}

/// Runs one round batch to its end: starts every operation, then exchanges
/// a message with every peer per round until all have finished. Returns the
/// outcomes in the order of `ops` and the words each operation sent.
pub(crate) fn run<B: Engine>(
    b: &mut B,
    ops: Vec<Interaction<'_, B::Share>>,
) -> Result<(Vec<Outcome<B::Share>>, Vec<u64>), VmError> {
    let nodes = b.net().parties();
    let mut out = vec![Vec::new(); nodes];
    let mut tasks = Vec::with_capacity(ops.len());
    let mut sent_by_op = vec![0; ops.len()];
    let mut tally = Tally::new(&out);
    for (k, op) in ops.into_iter().enumerate() {
        let task = b.start(op, &mut out)?;
        tasks.push(settle(b, task, &mut out)?);
        sent_by_op[k] += tally.take(&out);
    }
    // A party whose tasks all finished may still owe its peers messages (an
    // input's owner): the round happens for them.
    while !tasks.iter().all(|t| matches!(t, Task::Done(_))) || out.iter().any(|o| !o.is_empty()) {
        let sent = std::mem::replace(&mut out, vec![Vec::new(); nodes]);
        let mut tally = Tally::new(&out);
        let got = b.net().exchange(sent).map_err(VmError::Network)?;
        let mut at = vec![0usize; got.len()];
        let mut take = |j: usize, n: usize| -> Result<Vec<u64>, VmError> {
            if got[j].len() - at[j] < n {
                return Err(VmError::Network(format!(
                    "party {j} sent a short message: a protocol violation or a bug"
                )));
            }
            at[j] += n;
            Ok(got[j][at[j] - n..at[j]].to_vec())
        };
        let mut next = Vec::with_capacity(tasks.len());
        for (k, t) in tasks.into_iter().enumerate() {
            next.push(match t {
                Task::Done(o) => Task::Done(o),
                t => advance(b, t, &mut take, &mut out)?,
            });
            sent_by_op[k] += tally.take(&out);
        }
        tasks = next;
        if (0..got.len()).any(|j| at[j] != got[j].len()) {
            return Err(VmError::Network(
                "a peer sent more than the round needs: a protocol violation or a bug".into(),
            ));
        }
    }
    Ok((tasks.into_iter().map(finished).collect(), sent_by_op))
}

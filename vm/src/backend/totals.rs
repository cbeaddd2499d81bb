//! What the cost models share: a program's totals from its batches' costs.

/// Over one run: network rounds, bytes each of `N` parties sends, and the
/// longest message any party sends in one batch (a peer's frame may not
/// announce more).
pub(crate) struct Totals<const N: usize> {
    pub rounds: u64,
    pub bytes: [u64; N],
    pub largest: u64,
}

/// The totals of the batches `each` visits, given as (rounds, words each
/// party sends, times the batch runs).
pub(crate) fn totals<const N: usize>(
    each: impl FnOnce(&mut dyn FnMut(u64, [u64; N], u64)),
) -> Totals<N> {
    let mut t = Totals {
        rounds: 0,
        bytes: [0; N],
        largest: 0,
    };
    each(&mut |rounds, words, times| {
        t.rounds = t.rounds.saturating_add(rounds.saturating_mul(times));
        for (total, w) in t.bytes.iter_mut().zip(words) {
            *total = total.saturating_add((8 * w).saturating_mul(times));
        }
        t.largest = words.iter().fold(t.largest, |m, &w| m.max(8 * w));
    });
    t
}

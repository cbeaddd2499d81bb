//! The arithmetic of the replicated protocols' truncation by m of a K-bit
//! value (`rep3/trunc.rs`, `rep4/trunc.rs`, after Dalskov, Escudero and
//! Keller, eprint 2019/131), in the ring's low k = K + 1 bits: for y mod 2^k,
//! y_hi is bits m..k-2 and y_msb bit k-1.

use super::bits;
use crate::VmError;

/// k for a `value_bits`-bit value truncated by `m`: the value and the
/// truncated part must fit with one bit to spare.
pub(crate) fn ring_bits(protocol: &str, value_bits: u8, m: u32) -> Result<u32, VmError> {
    let big_k = (value_bits as u32).max(m + 1);
    if big_k > 63 {
        return Err(VmError::Usage(format!(
            "truncation of a {big_k}-bit value: {protocol} supports at most 63 bits"
        )));
    }
    Ok(big_k + 1)
}

/// The mask's parts: v = -r_hi + r_msb 2^(k-1-m), and r_msb.
pub(crate) fn mask_parts(r: &[u64], k: u32, m: u32) -> (Vec<u64>, Vec<u64>) {
    let v = r
        .iter()
        .map(|&r| (bits(r, k - 1, k) << (k - 1 - m)).wrapping_sub(bits(r, m, k - 1)))
        .collect();
    (v, r.iter().map(|&r| bits(r, k - 1, k)).collect())
}

/// The masked value's parts, of c' = c + 2^(K-1) (given): u = c'_hi +
/// c'_msb 2^(k-1-m), and c'_msb.
pub(crate) fn masked_parts(c: &[u64], k: u32, m: u32) -> (Vec<u64>, Vec<u64>) {
    let u = c
        .iter()
        .map(|&c| bits(c, m, k - 1).wrapping_add(bits(c, k - 1, k) << (k - 1 - m)))
        .collect();
    (u, c.iter().map(|&c| bits(c, k - 1, k)).collect())
}

//! `spdz2k`: n >= 2 parties, security with abort against an active adversary
//! corrupting any n - 1 of them (dishonest majority), by additive sharing
//! with information-theoretic MACs over Z_2^(k+s) (Cramer, Damgård,
//! Escudero, Scholl and Xing, "SPDZ2k: Efficient MPC mod 2^k for Dishonest
//! Majority", CRYPTO 2018), k = 64 (the language's ring) and s = 64.
//!
//! A secret x of Z_2^64 is held as x̃ in Z_2^128 with x̃ = x mod 2^64: party i
//! holds x_i and m_i with sum x_i = x̃ and sum m_i = alpha x̃, where the MAC
//! key alpha = sum alpha_i is shared too (each alpha_i drawn by party i from
//! Z_2^64). Linear maps act on x and m alike (`ring::WideTensor`); a public
//! c joins party 0's x_0 and every party's m_i as alpha_i c. Every opened
//! value is checked in batches before anything is revealed ([`mac`]).
//!
//! Why s = 64: a party that changes an opened value (mod 2^64) passes the
//! batched check with probability at most 2^(-s + log2(s + 1)), about
//! 2^-57, per check (SPDZ2k's analysis of the random linear combination with
//! coefficients from Z_2^s); 128-bit words keep the arithmetic native.
//!
//! Built so far: the authenticated shares, their Beaver products and mask
//! reuse through the code semi2k uses (`backend/beaver.rs`, with
//! [`mac::Keyed`]), and
//! the MAC check with its coin toss and commitments ([`mac`]). The rest of
//! the online engine, the authenticated preprocessing by OT and the backend
//! itself are to come.

pub mod mac;

//! Static types of tensor values, shared by the compiler (type checking) and the
//! bytecode verifier (every register has one of these types).

use std::fmt;

/// Bit length of the ring Z_2^k that every backend computes in.
pub const RING_BITS: u8 = 64;

/// The kind of the elements of a tensor; all are stored as elements of Z_2^64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem {
    /// An integer known to fit in `bits` bits (two's complement); comparisons use it.
    Int { bits: u8 },
    /// A fixed-point number: the integer `round(x * 2^frac)`, known to fit in `bits` bits.
    Fix { frac: u8, bits: u8 },
    /// A bit, stored as the ring element 0 or 1.
    Bit,
}

impl Elem {
    /// Bit length that comparisons of this kind may rely on.
    pub fn bits(self) -> u8 {
        match self {
            Elem::Int { bits } | Elem::Fix { bits, .. } => bits,
            Elem::Bit => 1,
        }
    }
    /// Fractional bits (0 for integers and bits).
    pub fn frac(self) -> u8 {
        match self {
            Elem::Fix { frac, .. } => frac,
            _ => 0,
        }
    }
    /// The real values this kind holds, as readers think of them: `±32768` for
    /// `sfix<16, 32>`, `-128..127` for `int<8>`, `0..1` for bits.
    pub fn range_text(self) -> String {
        match self {
            Elem::Bit => "0..1".into(),
            Elem::Int { bits } => {
                let half = 1i128 << (bits - 1);
                format!("{}..{}", -half, half - 1)
            }
            Elem::Fix { frac, bits } => {
                let e = bits - 1 - frac;
                if e <= 52 {
                    format!("±{}", 1u64 << e)
                } else {
                    format!("±2^{e}")
                }
            }
        }
    }
}

/// The type of a tensor value: secrecy, element kind and static shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub secret: bool,
    pub elem: Elem,
    pub shape: Vec<usize>,
}

impl TensorType {
    pub fn new(secret: bool, elem: Elem, shape: Vec<usize>) -> Self {
        TensorType {
            secret,
            elem,
            shape,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A public 64-bit integer scalar, the type of loop counters.
    pub fn public_index() -> Self {
        TensorType::new(false, Elem::Int { bits: 64 }, vec![])
    }
}

impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Elem::Int { bits } => write!(f, "int<{bits}>"),
            Elem::Fix { frac, bits } => write!(f, "fix<{frac}, {bits}>"),
            Elem::Bit => write!(f, "bit"),
        }
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            write!(f, "s")?;
        }
        write!(f, "{}", self.elem)?;
        if !self.shape.is_empty() {
            write!(f, "[")?;
            for (i, d) in self.shape.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{d}")?;
            }
            write!(f, "]")?;
        }
        Ok(())
    }
}

/// A set of parties (at most 64), the receivers of an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartySet(pub u64);

impl PartySet {
    pub fn all(n: usize) -> Self {
        PartySet(if n >= 64 { u64::MAX } else { (1u64 << n) - 1 })
    }
    pub fn single(p: usize) -> Self {
        PartySet(1u64 << p)
    }
    pub fn contains(self, p: usize) -> bool {
        p < 64 && self.0 & (1u64 << p) != 0
    }
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..64).filter(move |p| self.contains(*p))
    }
}

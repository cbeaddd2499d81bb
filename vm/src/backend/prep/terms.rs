//! A bilinear product's scalar terms, out[o] += a[i]·b[j], grouped by one
//! operand's elements: the OT-based triples run 64 OTs per element of that
//! operand (the *receiver*, whose bits choose), each carrying the other
//! operand's values at that element's terms (the *sender*'s message).

use crate::bytecode::{Instr, Program};
use crate::ring::RingTensor;
use crate::shape::{Padding, PoolGeometry};

pub struct Terms {
    /// Whether the receiver is the product's first operand.
    pub receiver_is_a: bool,
    /// Receiver element e's terms are `start[e]..start[e + 1]`.
    start: Vec<usize>,
    /// Each term's output position and sender element.
    out: Vec<u32>,
    sender: Vec<u32>,
}

impl Terms {
    /// The terms of product instruction `i` of `p` (elementwise with
    /// broadcasting, matrix product, or convolution); the smaller operand
    /// receives, so there are fewer OTs.
    pub fn of(p: &Program, i: &Instr) -> Terms {
        let shape = |r: &u32| p.registers[*r as usize].shape.clone();
        let mut all: Vec<(u32, u32, u32)> = Vec::new();
        let (na, nb) = match i {
            Instr::Mul { a, b, dst } => {
                let (sa, sb) = (shape(a), shape(b));
                let index = |s: &[usize]| {
                    RingTensor::new(
                        s.to_vec(),
                        (0..s.iter().product::<usize>() as u64).collect(),
                    )
                };
                let pairs = index(&sa).zip(&index(&sb), &shape(dst), |x, y| x << 32 | y);
                all.extend(
                    pairs
                        .data
                        .iter()
                        .enumerate()
                        .map(|(o, ab)| (o as u32, (ab >> 32) as u32, *ab as u32)),
                );
                (sa.iter().product(), sb.iter().product())
            }
            Instr::MatMul { a, b, .. } => {
                let (sa, sb) = (shape(a), shape(b));
                let (m, k, n) = (sa[0], sa[1], sb[1]);
                for r in 0..m {
                    for l in 0..k {
                        for c in 0..n {
                            all.push(((r * n + c) as u32, (r * k + l) as u32, (l * n + c) as u32));
                        }
                    }
                }
                (m * k, k * n)
            }
            Instr::Conv2d {
                x,
                w,
                stride,
                padding,
                depthwise,
                ..
            } => {
                let (sx, sw) = (shape(x), shape(w));
                conv_terms(
                    &sx,
                    &sw,
                    [stride[0] as usize, stride[1] as usize],
                    *padding,
                    *depthwise,
                    &mut all,
                );
                (sx.iter().product(), sw.iter().product())
            }
            _ => unreachable!("a product instruction"),
        };
        let receiver_is_a = na < nb;
        let receivers = if receiver_is_a { na } else { nb };
        let mut start = vec![0usize; receivers + 1];
        for t in &all {
            start[1 + if receiver_is_a { t.1 } else { t.2 } as usize] += 1;
        }
        for e in 0..receivers {
            start[e + 1] += start[e];
        }
        let mut next = start.clone();
        let (mut out, mut sender) = (vec![0u32; all.len()], vec![0u32; all.len()]);
        for (o, a, b) in all {
            let (e, s) = if receiver_is_a { (a, b) } else { (b, a) };
            let at = &mut next[e as usize];
            out[*at] = o;
            sender[*at] = s;
            *at += 1;
        }
        Terms {
            receiver_is_a,
            start,
            out,
            sender,
        }
    }

    /// The terms of an elementwise product of `n` values by `n` values.
    pub fn elementwise(n: usize) -> Terms {
        Terms {
            receiver_is_a: false,
            start: (0..=n).collect(),
            out: (0..n as u32).collect(),
            sender: (0..n as u32).collect(),
        }
    }

    /// Elements of the receiving operand.
    pub fn receivers(&self) -> usize {
        self.start.len() - 1
    }

    /// Receiver element `e`'s terms: output positions and sender elements.
    pub fn of_element(&self, e: usize) -> (&[u32], &[u32]) {
        let r = self.start[e]..self.start[e + 1];
        (&self.out[r.clone()], &self.sender[r])
    }

    /// Terms of the receiver elements `range`.
    pub fn count(&self, range: std::ops::Range<usize>) -> usize {
        self.start[range.end] - self.start[range.start]
    }
}

/// The terms of an NHWC convolution with HWIO filters (or depthwise with
/// `[KH, KW, C, M]` filters), as `RingTensor::conv2d` sums them.
fn conv_terms(
    sx: &[usize],
    sw: &[usize],
    stride: [usize; 2],
    padding: Padding,
    depthwise: bool,
    all: &mut Vec<(u32, u32, u32)>,
) {
    let (n, h, wd, c) = (sx[0], sx[1], sx[2], sx[3]);
    let (kh, kw, wo) = (sw[0], sw[1], sw[3]);
    let geo = PoolGeometry::new([h, wd], [kh, kw], stride, padding);
    let oc = if depthwise { c * wo } else { wo };
    for b in 0..n {
        for oy in 0..geo.out[0] {
            for ox in 0..geo.out[1] {
                let obase = ((b * geo.out[0] + oy) * geo.out[1] + ox) * oc;
                for dy in 0..kh {
                    let Some(iy) = geo.input_index(0, oy, dy) else {
                        continue;
                    };
                    for dx in 0..kw {
                        let Some(ix) = geo.input_index(1, ox, dx) else {
                            continue;
                        };
                        let ibase = ((b * h + iy) * wd + ix) * c;
                        let wbase = (dy * kw + dx) * c * wo;
                        for ci in 0..c {
                            let first = if depthwise { obase + ci * wo } else { obase };
                            for co in 0..wo {
                                all.push((
                                    (first + co) as u32,
                                    (ibase + ci) as u32,
                                    (wbase + ci * wo + co) as u32,
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
}

//! The correlation every item must have, checked on items made by the
//! parties (whatever made them), combined: random parts summed (or XORed)
//! over the parties, and the correlated parts equal to what a dealer would
//! compute from them. The tests hold preprocessing by OT to it.

use super::replay::{product_layout, product_value, replay, Producer};
use super::{Combine, Item, Layout};
use crate::backend::semi2k::{self, Composed};
use crate::bytecode::{Instr, Program};
use crate::ring::RingTensor;
use crate::VmError;

struct Checker<'a> {
    program: &'a Program,
    /// Each party's items, in plan order.
    parties: Vec<std::vec::IntoIter<Item>>,
    item: usize,
}

/// Checks that `items` (each party's, in plan order) are exactly the items of
/// `program`, each with the correlation it needs.
pub fn check(program: &Program, items: Vec<Vec<Item>>) -> Result<(), String> {
    let mut c = Checker {
        program,
        parties: items.into_iter().map(Vec::into_iter).collect(),
        item: 0,
    };
    replay(program, &mut c).map_err(|e| e.to_string())?;
    if c.parties.iter_mut().any(|p| p.next().is_some()) {
        return Err(format!("items left after the program's {}", c.item));
    }
    Ok(())
}

fn fail(item: usize, what: &str) -> VmError {
    VmError::Usage(format!("item {item}: {what}"))
}

fn combine(
    parts: Vec<Vec<Vec<u64>>>,
    how: &[(usize, Combine)],
    item: usize,
) -> Result<Vec<Vec<u64>>, VmError> {
    let mut sum: Vec<Vec<u64>> = how.iter().map(|(n, _)| vec![0; *n]).collect();
    for party in parts {
        if party.len() != how.len() || party.iter().zip(how).any(|(p, (n, _))| p.len() != *n) {
            return Err(fail(item, "a party's parts do not have the layout's sizes"));
        }
        for ((s, p), (_, c)) in sum.iter_mut().zip(party).zip(how) {
            for (x, y) in s.iter_mut().zip(p) {
                *x = match c {
                    Combine::Add => x.wrapping_add(y),
                    Combine::Xor => *x ^ y,
                };
            }
        }
    }
    Ok(sum)
}

impl Checker<'_> {
    /// The next item of `layout`, combined over the parties.
    fn next(&mut self, layout: &Layout) -> Result<(Vec<Vec<u64>>, Vec<Vec<u64>>), VmError> {
        let item = self.item;
        self.item += 1;
        let (mut random, mut correlated) = (Vec::new(), Vec::new());
        for p in &mut self.parties {
            let i = p
                .next()
                .ok_or_else(|| fail(item, "a party has no such item"))?;
            random.push(i.random);
            correlated.push(i.correlated);
        }
        Ok((
            combine(random, &layout.random, item)?,
            combine(correlated, &layout.correlated, item)?,
        ))
    }

    fn expect(&self, got: &[Vec<u64>], want: &[Vec<u64>]) -> Result<(), VmError> {
        if got != want {
            return Err(fail(
                self.item - 1,
                "its correlated parts are not what its random parts need",
            ));
        }
        Ok(())
    }
}

impl Producer for Checker<'_> {
    type W = u64;
    fn mask(&mut self, shape: &[usize]) -> Result<RingTensor, VmError> {
        let n = shape.iter().product();
        let (mut random, _) = self.next(&Layout::new(&[(n, Combine::Add)], &[]))?;
        Ok(RingTensor::new(shape.to_vec(), random.remove(0)))
    }

    fn product(
        &mut self,
        i: &Instr,
        masks: Option<(&RingTensor, &RingTensor)>,
    ) -> Result<(), VmError> {
        let (random, correlated) = self.next(&product_layout(self.program, i, masks.is_none()))?;
        self.expect(
            &correlated,
            &[product_value(self.program, i, masks, random).data],
        )
    }

    fn trunc(&mut self, n: usize, m: u32, exact: bool) -> Result<(), VmError> {
        let (random, correlated) = self.next(&semi2k::trunc_layout(n, m as usize, exact))?;
        self.expect(&correlated, &semi2k::trunc_correlated(&random, n, m, exact))
    }

    fn composed(&mut self, c: &Composed) -> Result<(), VmError> {
        let recording = c.recording();
        let (random, correlated) = self.next(&recording.layout)?;
        self.expect(&correlated, &recording.correlated(&random))
    }
}

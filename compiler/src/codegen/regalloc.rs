//! Liveness and register allocation.
//!
//! The function is numbered in emission order. A value lives from its
//! definition to its last use; a use inside a loop of a value defined outside
//! extends it to the end of that loop. A loop's carried values, its body
//! parameters and its results share one register, as do the loop counter's uses
//! up to the end of the loop. Registers are typed (the bytecode verifier checks
//! every instruction against the register table), so linear scan reuses a
//! register only for a value of the same type: peak register memory follows the
//! live tensors, not the program's length.

use crate::ir::*;
use mpcvm::bytecode::Reg;
use mpcvm::types::TensorType;
use std::collections::HashMap;

pub struct Allocation {
    pub reg: HashMap<Value, Reg>,
    pub registers: Vec<TensorType>,
    /// Registers whose values die at a point, for the emitter to free there.
    pub frees: HashMap<Point, Vec<Reg>>,
}

/// A place in the emitted code where live ranges can end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// After an instruction (for a round batch: after the whole batch).
    After(Inst),
    /// After a loop's initial moves, before the loop starts.
    BeforeLoop(Inst),
    /// After the end of a loop or branch.
    AfterEnd(Inst),
}

struct Walk {
    pos: u32,
    def: HashMap<Value, u32>,
    uses: Vec<(Value, u32, Vec<usize>)>,
    loops: Vec<(u32, u32)>,
    stack: Vec<usize>,
    /// Loop results and body parameters that share a register with their representative.
    group: HashMap<Value, Value>,
    /// Where the code stands at each position.
    points: HashMap<u32, Point>,
}

impl Walk {
    fn define(&mut self, v: Value, at: u32) {
        self.def.insert(v, at);
    }
    fn use_at(&mut self, v: Value, at: u32) {
        self.uses.push((v, at, self.stack.clone()));
    }
    fn block(&mut self, f: &Function, b: Block) {
        let mut batch = 0;
        for &i in &f.blocks[b].insts {
            let d = &f.insts[i];
            // The operations of one round batch run together: they share a position,
            // so none of their results can take another's register.
            if d.batch == 0 || d.batch != batch {
                self.pos += 1;
            }
            batch = d.batch;
            let p = self.pos;
            match &d.op {
                Op::For { body, .. } => {
                    self.points.insert(p, Point::BeforeLoop(i));
                    for &a in &d.args {
                        self.use_at(a, p);
                    }
                    let id = self.loops.len();
                    self.loops.push((p, 0));
                    let params = f.blocks[*body].params.clone();
                    for &q in &params {
                        self.define(q, p);
                    }
                    for (r, q) in d.results.iter().zip(&params[1..]) {
                        self.group.insert(*r, *q);
                    }
                    self.stack.push(id);
                    self.block(f, *body);
                    self.stack.pop();
                    self.pos += 1;
                    self.loops[id].1 = self.pos;
                    self.points.insert(self.pos, Point::AfterEnd(i));
                    // Every iteration rewrites the carried values and steps the counter,
                    // up to the end of the loop.
                    for &q in &params {
                        self.use_at(q, self.pos);
                    }
                    for &r in &d.results {
                        self.define(r, self.pos);
                    }
                }
                Op::If {
                    then_block,
                    else_block,
                } => {
                    self.use_at(d.args[0], p);
                    for &r in &d.results {
                        self.define(r, p);
                    }
                    self.block(f, *then_block);
                    self.block(f, *else_block);
                    self.pos += 1;
                    for &r in &d.results {
                        self.use_at(r, self.pos);
                    }
                }
                _ => {
                    self.points.insert(p, Point::After(i));
                    for &a in &d.args {
                        self.use_at(a, p);
                    }
                    for &r in &d.results {
                        self.define(r, p);
                    }
                }
            }
        }
    }
}

pub fn allocate(f: &Function) -> Allocation {
    let mut w = Walk {
        pos: 0,
        def: HashMap::new(),
        uses: Vec::new(),
        loops: Vec::new(),
        stack: Vec::new(),
        group: HashMap::new(),
        points: HashMap::new(),
    };
    for &p in &f.blocks[f.entry].params {
        w.define(p, 0);
    }
    w.block(f, f.entry);
    let rep = |v: Value| *w.group.get(&v).unwrap_or(&v);
    // Interval of each register group.
    let mut interval: HashMap<Value, (u32, u32)> = HashMap::new();
    for (&v, &d) in &w.def {
        let e = interval.entry(rep(v)).or_insert((d, d));
        e.0 = e.0.min(d);
        e.1 = e.1.max(d);
    }
    for (v, at, loops) in &w.uses {
        let d = w.def.get(v).copied().unwrap_or(0);
        // The outermost enclosing loop that the definition is outside of keeps the value alive to its end.
        let end = loops
            .iter()
            .map(|&l| w.loops[l])
            .find(|&(start, _)| d < start)
            .map_or(*at, |(_, end)| end.max(*at));
        let e = interval.entry(rep(*v)).or_insert((d, end));
        e.1 = e.1.max(end);
    }
    let mut groups: Vec<(Value, (u32, u32))> = interval.into_iter().collect();
    groups.sort_by_key(|(v, (s, _))| (*s, *v));
    let mut registers: Vec<TensorType> = Vec::new();
    let mut free: HashMap<TensorType, Vec<Reg>> = HashMap::new();
    let mut active: Vec<(u32, Reg)> = Vec::new();
    let mut reg_of_group: HashMap<Value, Reg> = HashMap::new();
    let mut frees: HashMap<Point, Vec<Reg>> = HashMap::new();
    for &(v, (_, end)) in &groups {
        // Function parameters (position 0) and the results of a function's last
        // instruction need no freeing.
        if let Some(point) = w
            .points
            .get(&end)
            .filter(|p| !matches!(p, Point::After(i) if f.insts[*i].op == Op::Return))
        {
            frees.entry(*point).or_default().push(v.as_u32());
        }
    }
    for (v, (start, end)) in groups {
        active.retain(|&(e, r)| {
            if e < start {
                free.entry(registers[r as usize].clone())
                    .or_default()
                    .push(r);
                false
            } else {
                true
            }
        });
        let ty = f.ty(v).clone();
        let r = match free.get_mut(&ty).and_then(|l| l.pop()) {
            Some(r) => r,
            None => {
                registers.push(ty);
                (registers.len() - 1) as Reg
            }
        };
        active.push((end, r));
        reg_of_group.insert(v, r);
    }
    let reg = w.def.keys().map(|&v| (v, reg_of_group[&rep(v)])).collect();
    // The groups to free, by their registers (sorted for a stable listing).
    let frees = frees
        .into_iter()
        .map(|(point, groups)| {
            let mut regs: Vec<Reg> = groups
                .into_iter()
                .map(|g| reg_of_group[&Value::from_u32(g)])
                .collect();
            regs.sort_unstable();
            (point, regs)
        })
        .collect();
    Allocation {
        reg,
        registers,
        frees,
    }
}

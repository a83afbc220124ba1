//! A tiny label-based assembler that resolves jumps and inserts trampolines for far targets.
//!
//! Conditional jumps in classic BPF have 8-bit forward offsets, `ja` a 32-bit one. Code is
//! written with symbolic labels; [`Asm::finish`] lays it out and, while some conditional jump
//! has a target more than 255 instructions ahead, redirects that branch to a trampoline placed
//! right after the jump: a copy of the target when it is a `ret` (one step cheaper), else a
//! `ja`. Trampolines only add instructions, so offsets only grow and the loop ends once no
//! jump is far. All jumps are forward, so every program is a DAG and terminates.

use sandlock_sys::structs::SockFilter;

use crate::Error;
use crate::insn::{self, BPF_MAXINSNS};

/// A jump target, bound to a position with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label(usize);

#[derive(Debug, Clone, Copy)]
enum Item {
    /// An instruction that is not a jump.
    Stmt(SockFilter),
    /// A conditional jump (`code` includes class, op and source).
    Jump {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    /// An unconditional jump.
    Ja(Label),
    /// The position of a label; takes no space.
    Bind(Label),
}

/// Largest offset of a conditional jump.
const MAX_SHORT: usize = u8::MAX as usize;

/// What the accumulator holds: the `seccomp_data` offset of the word loaded, or `None` when
/// unknown (after an ALU operation, or where paths holding different words meet).
type Acc = Option<u32>;

/// Where paths meet, the accumulator is known only if every path agrees.
fn merge(x: Option<Acc>, y: Acc) -> Option<Acc> {
    match x {
        None => Some(y),
        Some(x) if x == y => Some(x),
        Some(_) => Some(None),
    }
}

#[derive(Debug)]
pub(crate) struct Asm {
    items: Vec<Item>,
    /// For each label, the accumulator state merged over the jumps to it so far (`None`: no
    /// jump yet). All jumps are forward, so this is complete when the label is bound.
    at_label: Vec<Option<Acc>>,
    acc: Acc,
    /// Whether control can run from the last instruction into the next one.
    falls_through: bool,
}

impl Default for Asm {
    fn default() -> Asm {
        Asm {
            items: Vec::new(),
            at_label: Vec::new(),
            acc: None,
            falls_through: true,
        }
    }
}

impl Asm {
    pub(crate) fn label(&mut self) -> Label {
        self.at_label.push(None);
        Label(self.at_label.len() - 1)
    }

    /// Binds `l` here. The accumulator is known afterwards if every way here agrees on it,
    /// which lets [`Asm::load`] skip reloading a word.
    pub(crate) fn bind(&mut self, l: Label) {
        self.items.push(Item::Bind(l));
        let mut state = self.at_label[l.0];
        if self.falls_through {
            state = merge(state, self.acc);
        }
        // Unreachable code (no way in) may assume nothing.
        self.acc = state.flatten();
        self.falls_through = true;
    }

    /// `ld [off]` from `seccomp_data`, skipped when the accumulator already holds that word.
    pub(crate) fn load(&mut self, off: u32) {
        if self.acc != Some(off) {
            self.items
                .push(Item::Stmt(insn::stmt(insn::LD | insn::W | insn::ABS, off)));
            self.acc = Some(off);
        }
    }

    /// `and #mask`.
    pub(crate) fn and(&mut self, mask: u32) {
        self.items.push(Item::Stmt(insn::stmt(
            insn::ALU | insn::AND | insn::K,
            mask,
        )));
        self.acc = None;
    }

    /// `ret #value`.
    pub(crate) fn ret(&mut self, value: u32) {
        self.items
            .push(Item::Stmt(insn::stmt(insn::RET | insn::K, value)));
        self.falls_through = false;
    }

    /// A conditional jump comparing the accumulator with `k`; `op` is `JEQ`, `JGT`, `JGE` or
    /// `JSET`.
    pub(crate) fn jump(&mut self, op: u16, k: u32, jt: Label, jf: Label) {
        self.items.push(Item::Jump {
            code: insn::JMP | op | insn::K,
            k,
            jt,
            jf,
        });
        for l in [jt, jf] {
            self.at_label[l.0] = merge(self.at_label[l.0], self.acc);
        }
        self.falls_through = false;
    }

    /// Number of instructions so far, before trampolines.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items
            .iter()
            .filter(|i| !matches!(i, Item::Bind(_)))
            .count()
    }

    /// Resolves labels, inserts trampolines and checks the program length.
    pub(crate) fn finish(self) -> Result<Vec<SockFilter>, Error> {
        let mut items = self.items;
        let mut labels = self.at_label.len();
        loop {
            let (pos, at) = layout(&items, labels)?;
            let too_far = |from: usize, to: Label| pos[to.0] - from - 1 > MAX_SHORT;
            let mut expanded = Vec::with_capacity(items.len());
            let mut changed = false;
            let mut index = 0;
            for item in &items {
                let Item::Jump { code, k, jt, jf } = *item else {
                    if !matches!(item, Item::Bind(_)) {
                        index += 1;
                    }
                    expanded.push(*item);
                    continue;
                };
                let mut tramps = Vec::new();
                let mut redirect = |target: Label, labels: &mut usize| {
                    if !too_far(index, target) {
                        return target;
                    }
                    let near = Label(*labels);
                    *labels += 1;
                    let body = match at.get(pos[target.0]) {
                        Some(&ret) if ret.code == insn::RET | insn::K => Item::Stmt(ret),
                        _ => Item::Ja(target),
                    };
                    tramps.push(Item::Bind(near));
                    tramps.push(body);
                    near
                };
                let jt2 = redirect(jt, &mut labels);
                let jf2 = if jf == jt {
                    jt2
                } else {
                    redirect(jf, &mut labels)
                };
                changed |= !tramps.is_empty();
                expanded.push(Item::Jump {
                    code,
                    k,
                    jt: jt2,
                    jf: jf2,
                });
                expanded.extend(tramps);
                index += 1;
            }
            items = expanded;
            if !changed {
                return emit(&items, &pos);
            }
        }
    }
}

/// Computes every label's position, and the instructions that are not jumps by position.
fn layout(items: &[Item], labels: usize) -> Result<(Vec<usize>, Vec<SockFilter>), Error> {
    let mut pos = vec![usize::MAX; labels];
    let mut at = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Bind(l) => pos[l.0] = at.len(),
            // Jumps are never trampoline targets' bodies; a placeholder keeps indices aligned.
            Item::Jump { .. } | Item::Ja(_) => at.push(insn::stmt(insn::JMP | insn::JA, 0)),
            Item::Stmt(s) => at.push(*s),
        }
    }
    if at.len() > BPF_MAXINSNS {
        return Err(Error::ProgramTooLong(at.len()));
    }
    // Every label that is jumped to must be bound, and ahead of the jump.
    let mut index = 0;
    for item in items {
        let targets = match *item {
            Item::Jump { jt, jf, .. } => [Some(jt), Some(jf)],
            Item::Ja(t) => [Some(t), None],
            Item::Stmt(_) => [None, None],
            Item::Bind(_) => continue,
        };
        for t in targets.into_iter().flatten() {
            if pos[t.0] == usize::MAX || pos[t.0] <= index {
                return Err(Error::Internal("jump to an unbound or earlier label"));
            }
        }
        index += 1;
    }
    Ok((pos, at))
}

fn emit(items: &[Item], pos: &[usize]) -> Result<Vec<SockFilter>, Error> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let here = out.len();
        let off = |l: Label| pos[l.0] - here - 1;
        match *item {
            Item::Bind(_) => {}
            Item::Stmt(s) => out.push(s),
            Item::Ja(t) => {
                let k = u32::try_from(off(t)).map_err(|_| Error::Internal("ja offset"))?;
                out.push(insn::stmt(insn::JMP | insn::JA, k));
            }
            Item::Jump { code, k, jt, jf } => {
                let short = |o: usize| u8::try_from(o).map_err(|_| Error::Internal("far jump"));
                out.push(insn::jump(code, k, short(off(jt))?, short(off(jf))?));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{JEQ, RET};

    #[test]
    fn near_jumps_resolve() {
        let mut a = Asm::default();
        let (t, f) = (a.label(), a.label());
        a.load(0);
        a.jump(JEQ, 1, t, f);
        a.bind(f);
        a.ret(1);
        a.bind(t);
        a.ret(2);
        let p = a.finish().unwrap();
        assert_eq!(p[1], insn::jump(insn::JMP | JEQ, 1, 1, 0));
    }

    #[test]
    fn far_jumps_get_trampolines() {
        let mut a = Asm::default();
        let (far_ret, far_code, near) = (a.label(), a.label(), a.label());
        a.load(0);
        a.jump(JEQ, 1, far_ret, near);
        a.bind(near);
        a.jump(JEQ, 2, far_code, far_ret);
        for _ in 0..300 {
            a.ret(7);
        }
        a.bind(far_ret);
        a.ret(9);
        a.bind(far_code);
        a.load(4);
        a.ret(10);
        assert_eq!(a.len(), 306);
        let p = a.finish().unwrap();
        // jeq 1 → a copied `ret 9` right after it.
        assert_eq!(p[1], insn::jump(insn::JMP | JEQ, 1, 0, 1));
        assert_eq!(p[2], insn::stmt(RET | insn::K, 9));
        // jeq 2 → `ja` to the far code, copied `ret 9` for the false branch.
        assert_eq!(p[3], insn::jump(insn::JMP | JEQ, 2, 0, 1));
        assert_eq!(p[4], insn::stmt(insn::JMP | insn::JA, 302));
        assert_eq!(p[5], insn::stmt(RET | insn::K, 9));
        assert_eq!(p[4 + 1 + 302], insn::stmt(insn::LD | insn::ABS, 4));
    }

    #[test]
    fn too_long_is_an_error() {
        let mut a = Asm::default();
        for _ in 0..=BPF_MAXINSNS {
            a.ret(0);
        }
        assert_eq!(a.finish(), Err(Error::ProgramTooLong(BPF_MAXINSNS + 1)));
    }
}

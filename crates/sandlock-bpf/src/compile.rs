//! Lowering a [`Filter`] to classic BPF.

use sandlock_sys::structs::SockFilter;

use crate::asm::{Asm, Label};
use crate::filter::{ArgWidth, CmpOp, Cond, Filter, Rule};
use crate::insn::{self, JEQ, JGE, JGT, JSET};
use crate::{Action, Error};

/// How the compiled program finds a syscall's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Layout {
    /// A binary search over syscall-number ranges: `O(log n)` comparisons per call. Adjacent
    /// numbers with the same unconditional action (the default action included) share a range.
    #[default]
    BinarySearch,
    /// One `jeq` per syscall with rules, in ascending order: what most seccomp compilers emit.
    /// Kept as the baseline for measurements and as a second subject for the tests.
    Linear,
}

/// What the filter decides for a range of syscall numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The same action for every call in the range.
    Ret(Action),
    /// The rules of one syscall (the range holds only that number).
    Rules(u32),
}

#[derive(Debug, Clone, Copy)]
struct Range {
    /// First number.
    lo: u32,
    /// One past the last number (`u64` so that `2^32` fits).
    hi: u64,
    outcome: Outcome,
}

impl Range {
    fn is_single(&self) -> bool {
        self.hi == u64::from(self.lo) + 1
    }
}

impl Filter {
    /// Compiles the filter with the default [`Layout::BinarySearch`].
    ///
    /// # Errors
    /// [`Error::ProgramTooLong`] when the program exceeds 4096 instructions.
    pub fn compile(&self) -> Result<Vec<SockFilter>, Error> {
        self.compile_with(Layout::BinarySearch)
    }

    /// Compiles the filter with the given dispatch layout.
    ///
    /// # Errors
    /// [`Error::ProgramTooLong`] when the program exceeds 4096 instructions.
    pub fn compile_with(&self, layout: Layout) -> Result<Vec<SockFilter>, Error> {
        let mut a = Asm::default();
        self.prologue(&mut a);
        match layout {
            Layout::BinarySearch => {
                let ranges = self.ranges();
                self.tree(&mut a, &ranges);
            }
            Layout::Linear => self.linear(&mut a),
        }
        a.finish()
    }

    /// Checks the arch, then loads the number and rejects x32 numbers. Leaves `nr` in A.
    fn prologue(&self, a: &mut Asm) {
        let (native, foreign) = (a.label(), a.label());
        a.load(insn::OFF_ARCH);
        a.jump(JEQ, self.arch().audit_arch(), native, foreign);
        a.bind(foreign);
        a.ret(self.foreign_arch_action().to_ret());
        a.bind(native);
        a.load(insn::OFF_NR);
        if let (Some(bit), Some(action)) = (self.arch().x32_bit(), self.x32_action()) {
            let (x32, dispatch) = (a.label(), a.label());
            a.jump(JGE, bit, x32, dispatch);
            a.bind(x32);
            a.ret(action.to_ret());
            a.bind(dispatch);
        }
    }

    /// Partitions the syscall numbers the dispatch can see into ranges with one outcome each,
    /// merging neighbours with the same unconditional action.
    fn ranges(&self) -> Vec<Range> {
        let end = self.arch().x32_bit().map_or(1 << 32, u64::from);
        let default = Outcome::Ret(self.default_action());
        let mut ranges: Vec<Range> = Vec::new();
        let mut push = |r: Range| match ranges.last_mut() {
            Some(last) if last.outcome == r.outcome && matches!(r.outcome, Outcome::Ret(_)) => {
                last.hi = r.hi;
            }
            _ => ranges.push(r),
        };
        let mut next: u64 = 0;
        for (nr, rules) in self.syscalls() {
            if u64::from(nr) > next {
                push(Range {
                    lo: next as u32,
                    hi: nr.into(),
                    outcome: default,
                });
            }
            let outcome = match rules.first() {
                // A first rule without conditions always decides; later rules are dead.
                Some(r) if r.conds().is_empty() => Outcome::Ret(r.action()),
                Some(_) => Outcome::Rules(nr),
                None => default,
            };
            push(Range {
                lo: nr,
                hi: u64::from(nr) + 1,
                outcome,
            });
            next = u64::from(nr) + 1;
        }
        if next < end {
            push(Range {
                lo: next as u32,
                hi: end,
                outcome: default,
            });
        }
        ranges
    }

    /// Emits a balanced binary search over `ranges`, which are sorted and contiguous.
    fn tree(&self, a: &mut Asm, ranges: &[Range]) {
        if let [only] = ranges {
            return self.leaf(a, only.outcome);
        }
        // A lone number between two ranges with the same outcome is one `jeq`, not two `jge`s.
        if let [x, y, z] = ranges
            && x.outcome == z.outcome
            && y.is_single()
        {
            let (hit, miss) = (a.label(), a.label());
            a.jump(JEQ, y.lo, hit, miss);
            a.bind(miss);
            self.leaf(a, x.outcome);
            a.bind(hit);
            return self.leaf(a, y.outcome);
        }
        let mid = ranges.len() / 2;
        let (left, right) = (a.label(), a.label());
        a.jump(JGE, ranges[mid].lo, right, left);
        a.bind(left);
        self.tree(a, &ranges[..mid]);
        a.bind(right);
        self.tree(a, &ranges[mid..]);
    }

    fn leaf(&self, a: &mut Asm, outcome: Outcome) {
        match outcome {
            Outcome::Ret(action) => a.ret(action.to_ret()),
            Outcome::Rules(nr) => self.rule_chain(a, self.rules(nr).unwrap_or_default()),
        }
    }

    fn linear(&self, a: &mut Asm) {
        for (nr, rules) in self.syscalls() {
            let (hit, next) = (a.label(), a.label());
            a.jump(JEQ, nr, hit, next);
            a.bind(hit);
            self.rule_chain(a, rules);
            a.bind(next);
        }
        a.ret(self.default_action().to_ret());
    }

    /// Tries each rule in turn; the first whose conditions all hold returns its action.
    fn rule_chain(&self, a: &mut Asm, rules: &[Rule]) {
        for rule in rules {
            let next_rule = a.label();
            for cond in rule.conds() {
                let holds = a.label();
                lower_cond(a, cond, holds, next_rule);
                a.bind(holds);
            }
            a.ret(rule.action().to_ret());
            a.bind(next_rule);
            if rule.conds().is_empty() {
                // Always decides: the following rules are dead code.
                return;
            }
        }
        a.ret(self.default_action().to_ret());
    }
}

/// Emits the test of one condition: control goes to `holds` when it does, else to `fails`.
/// The caller binds `holds` right after, so falling off the end also means `holds`.
fn lower_cond(a: &mut Asm, cond: &Cond, holds: Label, fails: Label) {
    let (lo_off, hi_off) = (insn::arg_lo(cond.arg()), insn::arg_hi(cond.arg()));
    let v = cond.value();
    let (v_lo, v_hi) = (v as u32, (v >> 32) as u32);
    let cmp = |a: &mut Asm, off: u32, op: u16, k: u32, jt: Label, jf: Label| {
        a.load(off);
        a.jump(op, k, jt, jf);
    };
    match (cond.width(), cond.op()) {
        (ArgWidth::Dword, op) => match op {
            CmpOp::Eq => cmp(a, lo_off, JEQ, v_lo, holds, fails),
            CmpOp::Ne => cmp(a, lo_off, JEQ, v_lo, fails, holds),
            CmpOp::Gt => cmp(a, lo_off, JGT, v_lo, holds, fails),
            CmpOp::Ge => cmp(a, lo_off, JGE, v_lo, holds, fails),
            CmpOp::Lt => cmp(a, lo_off, JGE, v_lo, fails, holds),
            CmpOp::Le => cmp(a, lo_off, JGT, v_lo, fails, holds),
            CmpOp::MaskedEq(m) => {
                a.load(lo_off);
                a.and(m as u32);
                a.jump(JEQ, v_lo, holds, fails);
            }
            CmpOp::AnyBits(m) => cmp(a, lo_off, JSET, m as u32, holds, fails),
        },
        (ArgWidth::Qword, op) => {
            // Compare the high dwords first; only on equality do the low dwords decide.
            let lo = a.label();
            match op {
                CmpOp::Eq => {
                    cmp(a, hi_off, JEQ, v_hi, lo, fails);
                    a.bind(lo);
                    cmp(a, lo_off, JEQ, v_lo, holds, fails);
                }
                CmpOp::Ne => {
                    cmp(a, hi_off, JEQ, v_hi, lo, holds);
                    a.bind(lo);
                    cmp(a, lo_off, JEQ, v_lo, fails, holds);
                }
                CmpOp::Gt | CmpOp::Ge => {
                    // a > v  ⇔  hi > v_hi, or hi == v_hi and lo > v_lo (>= for Ge).
                    let eq = a.label();
                    cmp(a, hi_off, JGT, v_hi, holds, eq);
                    a.bind(eq);
                    a.jump(JEQ, v_hi, lo, fails);
                    a.bind(lo);
                    let op = if op == CmpOp::Gt { JGT } else { JGE };
                    cmp(a, lo_off, op, v_lo, holds, fails);
                }
                CmpOp::Lt | CmpOp::Le => {
                    // a < v  ⇔  !(a >= v); a <= v  ⇔  !(a > v).
                    let eq = a.label();
                    cmp(a, hi_off, JGT, v_hi, fails, eq);
                    a.bind(eq);
                    a.jump(JEQ, v_hi, lo, holds);
                    a.bind(lo);
                    let op = if op == CmpOp::Lt { JGE } else { JGT };
                    cmp(a, lo_off, op, v_lo, fails, holds);
                }
                CmpOp::MaskedEq(m) => {
                    let (m_lo, m_hi) = (m as u32, (m >> 32) as u32);
                    // Validation guarantees v ⊆ m, so an empty half always matches.
                    if m_hi != 0 {
                        a.load(hi_off);
                        a.and(m_hi);
                        a.jump(JEQ, v_hi, lo, fails);
                    }
                    a.bind(lo);
                    // With an empty low half, control falls through to `holds`, which the
                    // caller binds right after this condition.
                    if m_lo != 0 {
                        a.load(lo_off);
                        a.and(m_lo);
                        a.jump(JEQ, v_lo, holds, fails);
                    }
                }
                CmpOp::AnyBits(m) => {
                    let (m_lo, m_hi) = (m as u32, (m >> 32) as u32);
                    if m_hi != 0 {
                        let miss = if m_lo != 0 { lo } else { fails };
                        cmp(a, hi_off, JSET, m_hi, holds, miss);
                    }
                    a.bind(lo);
                    if m_lo != 0 {
                        cmp(a, lo_off, JSET, m_lo, holds, fails);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use sandlock_sys::Arch;

    use super::*;
    use crate::Disasm;
    use crate::insn::{ABS, JMP, K, LD, RET, W, jump, stmt};

    fn disasm(f: &Filter, layout: Layout) -> String {
        Disasm(&f.compile_with(layout).unwrap()).to_string()
    }

    #[test]
    fn golden_empty_x86_64() {
        let f = Filter::new(Arch::X86_64, Action::Allow).unwrap();
        let want = [
            stmt(LD | W | ABS, 4),
            jump(JMP | JEQ | K, 0xc000_003e, 1, 0),
            stmt(RET | K, 0x8000_0000),
            stmt(LD | W | ABS, 0),
            jump(JMP | JGE | K, 0x4000_0000, 0, 1),
            stmt(RET | K, 0x0005_0026),
            stmt(RET | K, 0x7fff_0000),
        ];
        assert_eq!(f.compile().unwrap(), want);
    }

    #[test]
    fn golden_x86_64() {
        let mut f = Filter::new(Arch::X86_64, Action::Allow).unwrap();
        f.deny("read", 1).unwrap();
        f.add_rule(
            "ioctl",
            Rule::new(Action::Errno(1), vec![Cond::eq32(1, 0x5412).unwrap()]).unwrap(),
        )
        .unwrap();
        f.notify("getppid").unwrap();
        let want = concat!(
            "   0: ld arch\n",
            "   1: jeq #0xc000003e, 3, 2\n",
            "   2: ret KILL_PROCESS\n",
            "   3: ld nr\n",
            "   4: jge #0x40000000, 5, 6\n",
            "   5: ret ERRNO(38)\n",
            "   6: jge #0x11, 15, 7\n",
            "   7: jge #0x1, 9, 8\n",
            "   8: ret ERRNO(1)\n",
            "   9: jge #0x10, 11, 10\n",
            "  10: ret ALLOW\n",
            "  11: ld arg1.lo\n",
            "  12: jeq #0x5412, 13, 14\n",
            "  13: ret ERRNO(1)\n",
            "  14: ret ALLOW\n",
            "  15: jeq #0x6e, 17, 16\n",
            "  16: ret ALLOW\n",
            "  17: ret USER_NOTIF\n",
        );
        assert_eq!(disasm(&f, Layout::BinarySearch), want);
        let want = concat!(
            "   0: ld arch\n",
            "   1: jeq #0xc000003e, 3, 2\n",
            "   2: ret KILL_PROCESS\n",
            "   3: ld nr\n",
            "   4: jge #0x40000000, 5, 6\n",
            "   5: ret ERRNO(38)\n",
            "   6: jeq #0x0, 7, 8\n",
            "   7: ret ERRNO(1)\n",
            "   8: jeq #0x10, 9, 13\n",
            "   9: ld arg1.lo\n",
            "  10: jeq #0x5412, 11, 12\n",
            "  11: ret ERRNO(1)\n",
            "  12: ret ALLOW\n",
            "  13: jeq #0x6e, 14, 15\n",
            "  14: ret USER_NOTIF\n",
            "  15: ret ALLOW\n",
        );
        assert_eq!(disasm(&f, Layout::Linear), want);
    }

    #[test]
    fn golden_aarch64_qword() {
        let mut f = Filter::new(Arch::Aarch64, Action::Errno(1)).unwrap();
        f.set_action("getpid", Action::Allow).unwrap();
        let gt = Cond::new(2, ArgWidth::Qword, CmpOp::Gt, 0x1_0000_0002).unwrap();
        let masked = Cond::new(
            0,
            ArgWidth::Qword,
            CmpOp::MaskedEq(0xf_0000_00f0),
            0x1_0000_0010,
        )
        .unwrap();
        f.add_rule("mmap", Rule::new(Action::Log, vec![gt, masked]).unwrap())
            .unwrap();
        let want = concat!(
            "   0: ld arch\n",
            "   1: jeq #0xc00000b7, 3, 2\n",
            "   2: ret KILL_PROCESS\n",
            "   3: ld nr\n",
            "   4: jge #0xad, 8, 5\n",
            "   5: jge #0xac, 7, 6\n",
            "   6: ret ERRNO(1)\n",
            "   7: ret ALLOW\n",
            "   8: jeq #0xde, 10, 9\n",
            "   9: ret ERRNO(1)\n",
            "  10: ld arg2.hi\n",
            "  11: jgt #0x1, 15, 12\n",
            "  12: jeq #0x1, 13, 22\n",
            "  13: ld arg2.lo\n",
            "  14: jgt #0x2, 15, 22\n",
            "  15: ld arg0.hi\n",
            "  16: and #0xf\n",
            "  17: jeq #0x1, 18, 22\n",
            "  18: ld arg0.lo\n",
            "  19: and #0xf0\n",
            "  20: jeq #0x10, 21, 22\n",
            "  21: ret LOG\n",
            "  22: ret ERRNO(1)\n",
        );
        assert_eq!(disasm(&f, Layout::BinarySearch), want);
    }
}

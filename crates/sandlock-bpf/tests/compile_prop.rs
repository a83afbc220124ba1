//! Property tests: the compiled program, run by the interpreter, decides exactly what the
//! filter's reference semantics ([`Filter::evaluate`]) decides, for random filters and random
//! `seccomp_data`; and our condition semantics agree with seccompiler's independent lowering.
#![forbid(unsafe_code)]

use proptest::prelude::*;
use sandlock_bpf::{
    Action, ArgWidth, BPF_MAXINSNS, CmpOp, Cond, Disasm, Error, Filter, Layout, Rule, SeccompData,
    SockFilter, check, eval, eval_with_steps, longest_path,
};
use sandlock_sys::Arch;

/// Values that sit on the edges of 32- and 64-bit comparisons, plus random ones.
fn value(width: ArgWidth) -> impl Strategy<Value = u64> {
    let edges = prop_oneof![
        Just(0u64),
        Just(1),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(0xffff_ffff),
        Just(0x1_0000_0000),
        Just(0xffff_ffff_0000_0000),
        Just(u64::MAX),
        0u64..16,
        any::<u64>(),
    ];
    edges.prop_map(move |v| match width {
        ArgWidth::Dword => v & 0xffff_ffff,
        _ => v,
    })
}

fn cond() -> impl Strategy<Value = Cond> {
    (
        0u8..6,
        prop_oneof![Just(ArgWidth::Dword), Just(ArgWidth::Qword)],
        0u8..8,
    )
        .prop_flat_map(|(arg, width, op)| {
            (Just(arg), Just(width), Just(op), value(width), value(width))
        })
        .prop_map(|(arg, width, op, v, m)| {
            let (op, v) = match op {
                0 => (CmpOp::Eq, v),
                1 => (CmpOp::Ne, v),
                2 => (CmpOp::Lt, v),
                3 => (CmpOp::Le, v),
                4 => (CmpOp::Gt, v),
                5 => (CmpOp::Ge, v),
                6 => (CmpOp::MaskedEq(m), v & m),
                _ => (CmpOp::AnyBits(m | 1), 0),
            };
            Cond::new(arg, width, op, v).expect("generated conditions are valid")
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Allow),
        3 => (0u16..=4095).prop_map(Action::Errno),
        2 => Just(Action::UserNotif),
        1 => Just(Action::KillProcess),
        1 => Just(Action::KillThread),
        1 => Just(Action::Trap),
        1 => Just(Action::Log),
        1 => any::<u16>().prop_map(Action::Trace),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (action(), prop::collection::vec(cond(), 0..=3))
        .prop_map(|(a, c)| Rule::new(a, c).expect("valid rule"))
}

/// Mostly unconditional entries (which ranges merge), some with rule chains.
fn rules() -> impl Strategy<Value = Vec<Rule>> {
    prop_oneof![
        3 => action().prop_map(|a| vec![Rule::always(a).unwrap()]),
        1 => prop::collection::vec(rule(), 1..=3),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    (
        prop_oneof![Just(Arch::X86_64), Just(Arch::Aarch64)],
        action(),
        action(),
        action(),
        // Sizes up to a few hundred syscalls, numbers clustered so that neighbours merge.
        prop::collection::vec((0u32..520, rules()), 0..300),
    )
        .prop_map(|(arch, default, foreign, x32, entries)| {
            let mut f = Filter::new(arch, default).unwrap();
            f.set_foreign_arch_action(foreign)
                .unwrap()
                .set_x32_action(x32)
                .unwrap();
            for (nr, rules) in entries {
                for r in rules {
                    f.add_rule_nr(nr, r).unwrap();
                }
            }
            f
        })
}

/// A small deterministic generator, so one proptest case can try many data points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Data biased toward what the filter tests: its syscall numbers, its condition values and
/// their neighbours, and foreign arches and x32 numbers.
fn data_for(f: &Filter, rng: &mut Rng) -> SeccompData {
    let nrs: Vec<u32> = f.syscalls().map(|(nr, _)| nr).collect();
    let arch = match rng.next() % 10 {
        0 => f.arch().compat_audit_arch(),
        1 => rng.next() as u32,
        _ => f.arch().audit_arch(),
    };
    let nr = match rng.next() % 10 {
        0 => (rng.next() as u32 % 600) | 0x4000_0000,
        1 => rng.pick(&[u32::MAX, 0x3fff_ffff, 0x4000_0000, 0x8000_0000, 0]),
        2 | 3 => rng.next() as u32 % 600,
        _ if !nrs.is_empty() => rng.pick(&nrs),
        _ => rng.next() as u32 % 600,
    };
    let mut values: Vec<u64> = vec![0, u64::MAX, 0xffff_ffff, 0x1_0000_0000];
    for r in f.rules(nr).unwrap_or_default() {
        for c in r.conds() {
            let v = c.value();
            values.extend([
                v,
                v.wrapping_add(1),
                v.wrapping_sub(1),
                v ^ 1 << 32,
                v | 1 << 63,
            ]);
            if let CmpOp::MaskedEq(m) | CmpOp::AnyBits(m) = c.op() {
                values.extend([m, !m, v | !m]);
            }
        }
    }
    let mut args = [0u64; 6];
    for a in &mut args {
        *a = if rng.next().is_multiple_of(8) {
            rng.next()
        } else {
            rng.pick(&values)
        };
    }
    SeccompData {
        nr: nr as i32,
        arch,
        instruction_pointer: rng.next(),
        args,
    }
}

fn count_ja(p: &[SockFilter]) -> usize {
    p.iter().filter(|i| i.code == 0x05).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn compiled_program_matches_reference(f in filter(), seed in any::<u64>()) {
        let mut rng = Rng(seed | 1);
        for layout in [Layout::BinarySearch, Layout::Linear] {
            let prog = match f.compile_with(layout) {
                Ok(p) => p,
                Err(Error::ProgramTooLong(n)) => {
                    prop_assert!(n > BPF_MAXINSNS);
                    continue;
                }
                Err(e) => return Err(TestCaseError::fail(format!("compile: {e}"))),
            };
            prop_assert_eq!(check(&prog), Ok(()));
            for _ in 0..150 {
                let d = data_for(&f, &mut rng);
                let got = eval(&prog, &d).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(
                    got, f.evaluate(&d),
                    "{:?} nr {:#x} arch {:#x} args {:x?}\n{}", layout, d.nr, d.arch, d.args,
                    Disasm(&prog)
                );
            }
        }
    }

    /// Our `Cond` semantics against seccompiler's lowering of the same rule (evaluated by our
    /// interpreter): an independent implementation of the same comparisons.
    #[test]
    fn conditions_agree_with_seccompiler(
        conds in prop::collection::vec(cond(), 1..=3),
        seed in any::<u64>(),
    ) {
        let Some(theirs) = conds.iter().map(to_seccompiler).collect::<Option<Vec<_>>>() else {
            return Ok(()); // AnyBits has no seccompiler counterpart.
        };
        let block: seccompiler::BpfProgram =
            seccompiler::SeccompRule::new(theirs).unwrap().into();
        let mut prog: Vec<SockFilter> = block
            .iter()
            .map(|i| SockFilter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
            .collect();
        // The block falls through on a match and skips one instruction on a mismatch.
        prog.push(SockFilter { code: 0x06, jt: 0, jf: 0, k: 1 });
        prog.push(SockFilter { code: 0x06, jt: 0, jf: 0, k: 0 });
        // The block's dead "exit" `ja` (skipped on entry) targets one further; keep it in range.
        prog.push(SockFilter { code: 0x06, jt: 0, jf: 0, k: 2 });
        let rule = Rule::new(Action::Allow, conds.clone()).unwrap();
        let mut rng = Rng(seed | 1);
        for _ in 0..64 {
            let mut values = vec![0u64, u64::MAX];
            for c in &conds {
                values.extend([c.value(), c.value().wrapping_add(1), c.value().wrapping_sub(1)]);
            }
            let mut args = [0u64; 6];
            for a in &mut args {
                *a = if rng.next().is_multiple_of(4) { rng.next() } else { rng.pick(&values) };
            }
            let d = SeccompData { nr: 0, arch: 0, instruction_pointer: 0, args };
            prop_assert_eq!(eval(&prog, &d), Ok(u32::from(rule.matches(&args))), "{:x?}", args);
        }
    }
}

/// Opcodes seccomp accepts.
const CODES: &[u16] = &[
    0x20, 0x00, 0x80, 0x60, 0x01, 0x81, 0x61, 0x02, 0x03, // loads and stores
    0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c,
    0x84, 0x94, 0x9c, 0xa4, 0xac, // ALU
    0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, // jumps
    0x06, 0x16, 0x07, 0x87, // ret, tax/txa
];

/// Opcodes seccomp rejects: other packet loads, `ldx msh`, `neg x`, garbage.
const BAD_CODES: &[u16] = &[0x28, 0x30, 0x50, 0xb1, 0x8c, 0xffff];

fn insn() -> impl Strategy<Value = SockFilter> {
    (
        prop_oneof![20 => prop::sample::select(CODES), 1 => prop::sample::select(BAD_CODES)],
        0u8..3,
        0u8..3,
        prop_oneof![
            6 => (0u32..16).prop_map(|w| w * 4),
            1 => 0u32..72,
            1 => Just(u32::MAX),
            1 => any::<u32>(),
        ],
    )
        .prop_map(|(code, jt, jf, k)| SockFilter { code, jt, jf, k })
}

proptest! {
    // About one random program in seven passes the checks, so run many (they are tiny).
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// The interpreter never panics; a program that passes the kernel's checks always runs to
    /// a `ret`, within its longest path.
    #[test]
    fn interpreter_is_total(
        mut prog in prop::collection::vec(insn(), 0..12),
        end_with_ret in any::<bool>(),
        nr in any::<i32>(),
        args in any::<[u64; 6]>(),
    ) {
        if end_with_ret {
            // Most random programs fail the checks; this makes many pass them.
            prog.push(SockFilter { code: 0x06, jt: 0, jf: 0, k: 7 });
        }
        let d = SeccompData { nr, arch: 0xc000_003e, instruction_pointer: 0, args };
        let run = eval_with_steps(&prog, &d);
        match check(&prog) {
            Ok(()) => {
                let out = run.map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(out.steps <= longest_path(&prog).unwrap());
            }
            Err(e) => prop_assert_eq!(run, Err(e)),
        }
    }
}

fn to_seccompiler(c: &Cond) -> Option<seccompiler::SeccompCondition> {
    use seccompiler::{SeccompCmpArgLen as Len, SeccompCmpOp as Op};
    let len = match c.width() {
        ArgWidth::Dword => Len::Dword,
        _ => Len::Qword,
    };
    let op = match c.op() {
        CmpOp::Eq => Op::Eq,
        CmpOp::Ne => Op::Ne,
        CmpOp::Lt => Op::Lt,
        CmpOp::Le => Op::Le,
        CmpOp::Gt => Op::Gt,
        CmpOp::Ge => Op::Ge,
        CmpOp::MaskedEq(m) => Op::MaskedEq(m),
        _ => return None,
    };
    seccompiler::SeccompCondition::new(c.arg(), len, op, c.value()).ok()
}

/// Many syscalls with 64-bit conditions: the top of the search tree is more than 255
/// instructions away from its right half, so trampolines are needed and must be correct.
#[test]
fn long_jumps_use_trampolines() {
    let mut f = Filter::new(Arch::X86_64, Action::Allow).unwrap();
    for nr in 0..300 {
        let c = Cond::new(1, ArgWidth::Qword, CmpOp::Gt, 0x1_0000_0000 + u64::from(nr)).unwrap();
        f.add_rule_nr(
            nr,
            Rule::new(Action::Errno((nr % 4000) as u16), vec![c]).unwrap(),
        )
        .unwrap();
    }
    for layout in [Layout::BinarySearch, Layout::Linear] {
        let prog = f.compile_with(layout).unwrap();
        assert!(prog.len() > 1000, "{layout:?}: {}", prog.len());
        assert_eq!(check(&prog), Ok(()));
        if layout == Layout::BinarySearch {
            assert!(count_ja(&prog) > 0, "expected trampolines");
        }
        for nr in 0..320u32 {
            for arg in [
                0,
                0x1_0000_0000 + u64::from(nr),
                0x1_0000_0001 + u64::from(nr),
                u64::MAX,
            ] {
                let d = SeccompData {
                    nr: nr as i32,
                    arch: Arch::X86_64.audit_arch(),
                    instruction_pointer: 0,
                    args: [0, arg, 0, 0, 0, 0],
                };
                assert_eq!(
                    eval(&prog, &d),
                    Ok(f.evaluate(&d)),
                    "{layout:?} nr {nr} arg {arg:#x}"
                );
            }
        }
    }
}

#[test]
fn too_long_is_an_error() {
    let mut f = Filter::new(Arch::X86_64, Action::Allow).unwrap();
    for nr in 0..1000 {
        let c = Cond::new(1, ArgWidth::Qword, CmpOp::Lt, 5 << 32).unwrap();
        f.add_rule_nr(nr, Rule::new(Action::Errno(1), vec![c]).unwrap())
            .unwrap();
    }
    assert!(matches!(f.compile(), Err(Error::ProgramTooLong(n)) if n > BPF_MAXINSNS));
}

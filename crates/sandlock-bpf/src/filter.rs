//! The declarative filter: argument conditions, rules and per-syscall rule lists.

use std::collections::BTreeMap;

use sandlock_sys::Arch;
use sandlock_sys::structs::SeccompData;

use crate::{Action, Error};

/// Number of syscall arguments in `seccomp_data`.
pub const ARG_COUNT: u8 = 6;

/// How much of an argument a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgWidth {
    /// The low 32 bits only, for `int`, `unsigned int` and `mode_t` parameters: the kernel
    /// ignores the upper half of those, so a filter must too, or a caller could dodge an
    /// equality test by setting high bits.
    Dword,
    /// All 64 bits, for `long`, pointer-sized and `u64` parameters.
    Qword,
}

/// A comparison of an argument `a` with the condition's value `v`. Comparisons are unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CmpOp {
    /// `a == v`.
    Eq,
    /// `a != v`.
    Ne,
    /// `a < v`.
    Lt,
    /// `a <= v`.
    Le,
    /// `a > v`.
    Gt,
    /// `a >= v`.
    Ge,
    /// `(a & mask) == v`; `v` must have no bit outside `mask` (it could never match).
    MaskedEq(u64),
    /// `(a & mask) != 0`: any bit of the mask is set. `v` must be 0. One BPF `jset` per dword,
    /// where `MaskedEq` would need one rule per bit.
    AnyBits(u64),
}

/// One argument condition of a [`Rule`]. Built with [`Cond::new`], which validates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cond {
    arg: u8,
    width: ArgWidth,
    op: CmpOp,
    value: u64,
}

impl Cond {
    /// A condition on argument `arg` (0..=5).
    ///
    /// # Errors
    /// [`Error::ArgIndex`] for `arg >= 6`; [`Error::ValueTooWide`] when a [`ArgWidth::Dword`]
    /// value or mask does not fit in 32 bits; [`Error::ValueOutsideMask`] for a masked
    /// comparison whose value has bits outside the mask (it could never match) or an
    /// [`CmpOp::AnyBits`] with a nonzero value or an empty mask.
    pub fn new(arg: u8, width: ArgWidth, op: CmpOp, value: u64) -> Result<Cond, Error> {
        if arg >= ARG_COUNT {
            return Err(Error::ArgIndex(arg));
        }
        let mask = match op {
            CmpOp::MaskedEq(m) | CmpOp::AnyBits(m) => Some(m),
            _ => None,
        };
        if width == ArgWidth::Dword {
            for v in [Some(value), mask].into_iter().flatten() {
                if v > u64::from(u32::MAX) {
                    return Err(Error::ValueTooWide(v));
                }
            }
        }
        match op {
            CmpOp::MaskedEq(m) if value & !m != 0 => {
                return Err(Error::ValueOutsideMask { value, mask: m });
            }
            CmpOp::AnyBits(m) if value != 0 || m == 0 => {
                return Err(Error::ValueOutsideMask { value, mask: m });
            }
            _ => {}
        }
        Ok(Cond {
            arg,
            width,
            op,
            value,
        })
    }

    /// `arg == value` on the low 32 bits.
    pub fn eq32(arg: u8, value: u32) -> Result<Cond, Error> {
        Cond::new(arg, ArgWidth::Dword, CmpOp::Eq, value.into())
    }

    /// `arg != value` on the low 32 bits.
    pub fn ne32(arg: u8, value: u32) -> Result<Cond, Error> {
        Cond::new(arg, ArgWidth::Dword, CmpOp::Ne, value.into())
    }

    /// `(arg & mask) == value` on the low 32 bits.
    pub fn masked_eq32(arg: u8, mask: u32, value: u32) -> Result<Cond, Error> {
        Cond::new(
            arg,
            ArgWidth::Dword,
            CmpOp::MaskedEq(mask.into()),
            value.into(),
        )
    }

    /// `(arg & mask) != 0` on the low 32 bits.
    pub fn any_bits32(arg: u8, mask: u32) -> Result<Cond, Error> {
        Cond::new(arg, ArgWidth::Dword, CmpOp::AnyBits(mask.into()), 0)
    }

    /// The argument index, 0..=5.
    pub fn arg(&self) -> u8 {
        self.arg
    }

    /// How much of the argument is compared.
    pub fn width(&self) -> ArgWidth {
        self.width
    }

    /// The comparison.
    pub fn op(&self) -> CmpOp {
        self.op
    }

    /// The value compared with.
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The reference semantics: whether the condition holds for these arguments.
    pub fn matches(&self, args: &[u64; 6]) -> bool {
        let raw = args[usize::from(self.arg)];
        let a = match self.width {
            ArgWidth::Dword => raw & u64::from(u32::MAX),
            ArgWidth::Qword => raw,
        };
        let v = self.value;
        match self.op {
            CmpOp::Eq => a == v,
            CmpOp::Ne => a != v,
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Gt => a > v,
            CmpOp::Ge => a >= v,
            CmpOp::MaskedEq(m) => a & m == v,
            CmpOp::AnyBits(m) => a & m != 0,
        }
    }
}

/// An action guarded by conditions that must all hold (no conditions: always applies).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    action: Action,
    conds: Vec<Cond>,
}

impl Rule {
    /// A rule that applies when every condition holds.
    ///
    /// # Errors
    /// [`Error::ErrnoOutOfRange`] for an errno above 4095.
    pub fn new(action: Action, conds: Vec<Cond>) -> Result<Rule, Error> {
        Ok(Rule {
            action: action.validate()?,
            conds,
        })
    }

    /// A rule without conditions.
    ///
    /// # Errors
    /// As [`Rule::new`].
    pub fn always(action: Action) -> Result<Rule, Error> {
        Rule::new(action, Vec::new())
    }

    /// The action taken when the rule matches.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The conditions, all of which must hold.
    pub fn conds(&self) -> &[Cond] {
        &self.conds
    }

    /// The reference semantics: whether every condition holds.
    pub fn matches(&self, args: &[u64; 6]) -> bool {
        self.conds.iter().all(|c| c.matches(args))
    }
}

/// A seccomp filter for one architecture, before compilation.
///
/// The semantics, which [`Filter::evaluate`] implements directly and the compiled program
/// reproduces:
/// 1. a call from another ABI (`seccomp_data.arch` is not the filter's arch, e.g. i386
///    `int 0x80` on x86_64) gets the foreign-arch action (default [`Action::KillProcess`]);
/// 2. on x86_64, a number at or above the x32 bit (`0x4000_0000`; negative numbers included)
///    gets the x32 action (default `Errno(ENOSYS)`, which is what a kernel without x32
///    support answers, so programs see the same result whatever the kernel config);
/// 3. otherwise the first rule of the call's list whose conditions all hold decides;
/// 4. if none does, or the call has no rules, the default action applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    arch: Arch,
    default_action: Action,
    foreign_arch_action: Action,
    x32_action: Action,
    syscalls: BTreeMap<u32, Vec<Rule>>,
}

impl Filter {
    /// An empty filter: every native call gets `default_action`.
    ///
    /// # Errors
    /// [`Error::ErrnoOutOfRange`] for an errno above 4095.
    pub fn new(arch: Arch, default_action: Action) -> Result<Filter, Error> {
        Ok(Filter {
            arch,
            default_action: default_action.validate()?,
            foreign_arch_action: Action::KillProcess,
            x32_action: Action::Errno(libc::ENOSYS as u16),
            syscalls: BTreeMap::new(),
        })
    }

    /// Sets the action for calls from a foreign ABI (default [`Action::KillProcess`]).
    ///
    /// # Errors
    /// [`Error::ErrnoOutOfRange`] for an errno above 4095.
    pub fn set_foreign_arch_action(&mut self, action: Action) -> Result<&mut Filter, Error> {
        self.foreign_arch_action = action.validate()?;
        Ok(self)
    }

    /// Sets the action for x32 syscall numbers (default `Errno(ENOSYS)`; ignored on
    /// architectures without an x32 ABI).
    ///
    /// # Errors
    /// [`Error::ErrnoOutOfRange`] for an errno above 4095.
    pub fn set_x32_action(&mut self, action: Action) -> Result<&mut Filter, Error> {
        self.x32_action = action.validate()?;
        Ok(self)
    }

    /// Sets the action for calls that no rule decides.
    ///
    /// # Errors
    /// [`Error::ErrnoOutOfRange`] for an errno above 4095.
    pub fn set_default_action(&mut self, action: Action) -> Result<&mut Filter, Error> {
        self.default_action = action.validate()?;
        Ok(self)
    }

    /// The target architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The action for calls that no rule decides.
    pub fn default_action(&self) -> Action {
        self.default_action
    }

    /// The action for calls from a foreign ABI.
    pub fn foreign_arch_action(&self) -> Action {
        self.foreign_arch_action
    }

    /// The action for x32 syscall numbers, on architectures that have them.
    pub fn x32_action(&self) -> Option<Action> {
        self.arch.x32_bit().map(|_| self.x32_action)
    }

    /// The syscall number of `name` on this filter's architecture.
    ///
    /// # Errors
    /// [`Error::UnknownSyscall`]: names are never silently skipped.
    pub fn nr(&self, name: &str) -> Result<u32, Error> {
        Ok(self.arch.syscall_nr(name)?)
    }

    fn check_nr(&self, nr: u32) -> Result<u32, Error> {
        match self.arch.x32_bit() {
            // The prologue rejects these before dispatch, so a rule there could never apply.
            Some(bit) if nr >= bit => Err(Error::SyscallNrOutOfRange(nr)),
            _ => Ok(nr),
        }
    }

    /// Appends a rule to the list of syscall `name` (it applies after the existing rules).
    ///
    /// # Errors
    /// [`Error::UnknownSyscall`].
    pub fn add_rule(&mut self, name: &str, rule: Rule) -> Result<&mut Filter, Error> {
        let nr = self.nr(name)?;
        self.add_rule_nr(nr, rule)
    }

    /// Appends a rule to the list of syscall number `nr`.
    ///
    /// # Errors
    /// [`Error::SyscallNrOutOfRange`] for an x32 number on x86_64.
    pub fn add_rule_nr(&mut self, nr: u32, rule: Rule) -> Result<&mut Filter, Error> {
        let nr = self.check_nr(nr)?;
        self.syscalls.entry(nr).or_default().push(rule);
        Ok(self)
    }

    /// Replaces every rule of syscall `name` with one unconditional `action`.
    ///
    /// # Errors
    /// [`Error::UnknownSyscall`], [`Error::ErrnoOutOfRange`].
    pub fn set_action(&mut self, name: &str, action: Action) -> Result<&mut Filter, Error> {
        let nr = self.nr(name)?;
        self.set_action_nr(nr, action)
    }

    /// Replaces every rule of syscall number `nr` with one unconditional `action`.
    ///
    /// # Errors
    /// [`Error::SyscallNrOutOfRange`], [`Error::ErrnoOutOfRange`].
    pub fn set_action_nr(&mut self, nr: u32, action: Action) -> Result<&mut Filter, Error> {
        let nr = self.check_nr(nr)?;
        self.syscalls.insert(nr, vec![Rule::always(action)?]);
        Ok(self)
    }

    /// Makes syscall `name` fail with `errno`, replacing its rules.
    ///
    /// # Errors
    /// As [`Filter::set_action`].
    pub fn deny(&mut self, name: &str, errno: u16) -> Result<&mut Filter, Error> {
        self.set_action(name, Action::Errno(errno))
    }

    /// Hands syscall `name` to the user-notification listener, replacing its rules.
    ///
    /// # Errors
    /// As [`Filter::set_action`].
    pub fn notify(&mut self, name: &str) -> Result<&mut Filter, Error> {
        self.set_action(name, Action::UserNotif)
    }

    /// Removes every rule of syscall `name`, which then gets the default action. Returns the
    /// removed rules.
    ///
    /// # Errors
    /// [`Error::UnknownSyscall`].
    pub fn remove(&mut self, name: &str) -> Result<Vec<Rule>, Error> {
        let nr = self.nr(name)?;
        Ok(self.syscalls.remove(&nr).unwrap_or_default())
    }

    /// The rules of syscall number `nr`, if it has any.
    pub fn rules(&self, nr: u32) -> Option<&[Rule]> {
        self.syscalls.get(&nr).map(Vec::as_slice)
    }

    /// Every syscall number with rules, in ascending order, with its rules.
    pub fn syscalls(&self) -> impl Iterator<Item = (u32, &[Rule])> {
        self.syscalls
            .iter()
            .map(|(&nr, rules)| (nr, rules.as_slice()))
    }

    /// The reference semantics of the filter: the `SECCOMP_RET_*` value the compiled program
    /// must return for `data`. Used as the oracle of the compiler's tests.
    pub fn evaluate(&self, data: &SeccompData) -> u32 {
        self.decide(data).to_ret()
    }

    /// Like [`Filter::evaluate`], as an [`Action`].
    pub fn decide(&self, data: &SeccompData) -> Action {
        if data.arch != self.arch.audit_arch() {
            return self.foreign_arch_action;
        }
        let nr = data.nr as u32;
        if let Some(bit) = self.arch.x32_bit()
            && nr >= bit
        {
            return self.x32_action;
        }
        self.syscalls
            .get(&nr)
            .and_then(|rules| rules.iter().find(|r| r.matches(&data.args)))
            .map_or(self.default_action, Rule::action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(arch: Arch, nr: i32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch: arch.audit_arch(),
            instruction_pointer: 0,
            args,
        }
    }

    #[test]
    fn cond_validation() {
        assert_eq!(Cond::eq32(6, 0), Err(Error::ArgIndex(6)));
        assert_eq!(
            Cond::new(0, ArgWidth::Dword, CmpOp::Eq, 1 << 32),
            Err(Error::ValueTooWide(1 << 32))
        );
        assert_eq!(
            Cond::new(0, ArgWidth::Dword, CmpOp::MaskedEq(1 << 40), 0),
            Err(Error::ValueTooWide(1 << 40))
        );
        assert!(Cond::new(0, ArgWidth::Qword, CmpOp::Eq, 1 << 32).is_ok());
        assert_eq!(
            Cond::masked_eq32(1, 0xf0, 0x01),
            Err(Error::ValueOutsideMask {
                value: 1,
                mask: 0xf0
            })
        );
        assert!(Cond::any_bits32(1, 0).is_err());
        assert!(Cond::new(1, ArgWidth::Qword, CmpOp::AnyBits(1), 1).is_err());
    }

    #[test]
    fn dword_ignores_high_half() {
        let c = Cond::eq32(0, 5).unwrap();
        assert!(c.matches(&[0xdead_beef_0000_0005, 0, 0, 0, 0, 0]));
        let q = Cond::new(0, ArgWidth::Qword, CmpOp::Eq, 5).unwrap();
        assert!(!q.matches(&[0xdead_beef_0000_0005, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn first_matching_rule_wins() {
        let mut f = Filter::new(Arch::X86_64, Action::Allow).unwrap();
        f.add_rule(
            "ioctl",
            Rule::new(Action::Errno(1), vec![Cond::eq32(1, 7).unwrap()]).unwrap(),
        )
        .unwrap()
        .add_rule("ioctl", Rule::always(Action::Errno(2)).unwrap())
        .unwrap();
        let ioctl = 16;
        assert_eq!(
            f.decide(&data(Arch::X86_64, ioctl, [0, 7, 0, 0, 0, 0])),
            Action::Errno(1)
        );
        assert_eq!(
            f.decide(&data(Arch::X86_64, ioctl, [0, 8, 0, 0, 0, 0])),
            Action::Errno(2)
        );
        assert_eq!(f.decide(&data(Arch::X86_64, 0, [0; 6])), Action::Allow);
        assert_eq!(
            f.decide(&data(Arch::X86_64, 0x4000_0027, [0; 6])),
            Action::Errno(38)
        );
        assert_eq!(f.decide(&data(Arch::X86_64, -1, [0; 6])), Action::Errno(38));
        let mut i386 = data(Arch::X86_64, 20, [0; 6]);
        i386.arch = Arch::X86_64.compat_audit_arch();
        assert_eq!(f.decide(&i386), Action::KillProcess);
    }

    #[test]
    fn names_are_checked() {
        let mut f = Filter::new(Arch::Aarch64, Action::Allow).unwrap();
        assert!(matches!(f.deny("open", 1), Err(Error::UnknownSyscall(_))));
        assert!(f.deny("openat", 1).is_ok());
        let mut x = Filter::new(Arch::X86_64, Action::Allow).unwrap();
        assert_eq!(
            x.set_action_nr(0x4000_0000, Action::Allow).unwrap_err(),
            Error::SyscallNrOutOfRange(0x4000_0000)
        );
        assert!(matches!(
            x.deny("read", 4096),
            Err(Error::ErrnoOutOfRange(4096))
        ));
    }
}

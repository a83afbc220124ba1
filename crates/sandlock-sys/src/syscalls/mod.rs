//! System call tables: name ↔ number for each supported architecture.
//!
//! The tables are plain data so that the filter compiler (which makes no system calls) can
//! translate names for an architecture other than the one it runs on.

mod aarch64;
mod x86_64;

use std::fmt;

/// `AUDIT_ARCH_X86_64` from `<linux/audit.h>`: EM_X86_64 | 64-bit | little endian.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` from `<linux/audit.h>`: the arch seen for `int 0x80` on x86_64.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64` from `<linux/audit.h>`: EM_AARCH64 | 64-bit | little endian.
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// `AUDIT_ARCH_ARM` from `<linux/audit.h>`: 32-bit compat tasks on aarch64.
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;

/// `__X32_SYSCALL_BIT`: x32 tasks on x86_64 report the x86_64 audit arch with this bit set in the
/// syscall number, so a filter that only checks the arch must also reject numbers with this bit.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A CPU architecture whose syscall ABI sandlock knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Arch {
    /// x86_64 (the 64-bit ABI; x32 and i386 are foreign to it).
    X86_64,
    /// aarch64 (the 64-bit ABI; 32-bit arm is foreign to it).
    Aarch64,
}

/// A syscall name that the architecture's table does not contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSyscall {
    /// The name that was looked up.
    pub name: String,
    /// The architecture whose table was searched.
    pub arch: Arch,
}

impl fmt::Display for UnknownSyscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown system call `{}` on {}", self.name, self.arch)
    }
}

impl std::error::Error for UnknownSyscall {}

impl Arch {
    /// The architecture this crate was compiled for.
    #[cfg(target_arch = "x86_64")]
    pub const NATIVE: Arch = Arch::X86_64;
    /// The architecture this crate was compiled for.
    #[cfg(target_arch = "aarch64")]
    pub const NATIVE: Arch = Arch::Aarch64;

    /// Every architecture with a table.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The `AUDIT_ARCH_*` value that `seccomp_data.arch` holds for this ABI.
    pub const fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => AUDIT_ARCH_X86_64,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
        }
    }

    /// The bit that marks an x32 syscall number, where the architecture has one.
    pub const fn x32_bit(self) -> Option<u32> {
        match self {
            Arch::X86_64 => Some(X32_SYSCALL_BIT),
            Arch::Aarch64 => None,
        }
    }

    /// The audit arch of this machine's 32-bit compat ABI (i386 or arm).
    pub const fn compat_audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => AUDIT_ARCH_I386,
            Arch::Aarch64 => AUDIT_ARCH_ARM,
        }
    }

    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Arch::X86_64 => x86_64::TABLE,
            Arch::Aarch64 => aarch64::TABLE,
        }
    }

    /// Looks up a syscall number by name.
    ///
    /// # Errors
    /// [`UnknownSyscall`] when the architecture has no call of that name (for example `open` on
    /// aarch64). An unknown name is never silently skipped.
    pub fn syscall_nr(self, name: &str) -> Result<u32, UnknownSyscall> {
        self.table()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, nr)| nr)
            .ok_or_else(|| UnknownSyscall {
                name: name.to_owned(),
                arch: self,
            })
    }

    /// The name of a syscall number, if the architecture has one.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        let table = self.table();
        table
            .binary_search_by_key(&nr, |&(_, n)| n)
            .ok()
            .map(|i| table[i].0)
    }

    /// All `(name, number)` pairs, sorted by number.
    pub fn syscalls(self) -> impl Iterator<Item = (&'static str, u32)> {
        self.table().iter().copied()
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for arch in Arch::ALL {
            let t = arch.table();
            assert!(
                t.windows(2).all(|w| w[0].1 < w[1].1),
                "{arch}: numbers sorted and unique"
            );
            let mut names: Vec<_> = t.iter().map(|e| e.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.len(), "{arch}: names unique");
        }
    }

    #[test]
    fn known_numbers() {
        let check = |arch: Arch, name: &str, nr: u32| {
            assert_eq!(arch.syscall_nr(name), Ok(nr), "{arch} {name}");
            assert_eq!(arch.syscall_name(nr), Some(name), "{arch} {nr}");
        };
        check(Arch::X86_64, "read", 0);
        check(Arch::X86_64, "open", 2);
        check(Arch::X86_64, "getppid", 110);
        check(Arch::X86_64, "clone3", 435);
        check(Arch::X86_64, "fchmodat2", 452);
        check(Arch::Aarch64, "io_setup", 0);
        check(Arch::Aarch64, "openat", 56);
        check(Arch::Aarch64, "getppid", 173);
        check(Arch::Aarch64, "clone3", 435);
    }

    #[test]
    fn unknown_name_is_an_error() {
        let e = Arch::Aarch64.syscall_nr("open").unwrap_err();
        assert_eq!(e.to_string(), "unknown system call `open` on aarch64");
        assert!(Arch::X86_64.syscall_nr("no_such_call").is_err());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn native_table_matches_libc() {
        let pairs: &[(&str, libc::c_long)] = &[
            ("read", libc::SYS_read),
            ("openat", libc::SYS_openat),
            ("connect", libc::SYS_connect),
            ("sendmmsg", libc::SYS_sendmmsg),
            ("pidfd_getfd", libc::SYS_pidfd_getfd),
            ("landlock_restrict_self", libc::SYS_landlock_restrict_self),
            ("io_uring_setup", libc::SYS_io_uring_setup),
        ];
        for &(name, nr) in pairs {
            assert_eq!(Arch::NATIVE.syscall_nr(name), Ok(nr as u32), "{name}");
        }
    }
}

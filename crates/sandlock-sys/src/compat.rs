//! Raw calls into foreign syscall ABIs (i386 `int 0x80`, x32), for probes and attack tests.
//!
//! A 64-bit process on x86_64 can still enter the kernel through the i386 ABI (`int 0x80`,
//! audit arch `AUDIT_ARCH_I386`, i386 syscall numbers) and, on kernels built with x32 support,
//! through the x32 ABI (the x86_64 audit arch with bit 30 set in the number). A seccomp filter
//! must handle both; these wrappers let tests check that it does.
//!
//! The functions are safe because they only make calls from a fixed list, [`NoArgCall`]:
//! calls without arguments that read or write no user memory. A raw number would let a caller
//! make any call through a side door (`munmap`, `exit`, `brk`…) that Rust's memory model
//! cannot see.
//!
//! x86_64 only: on other architectures this module is empty.

/// A system call that takes no arguments and touches no user memory, so making it through any
/// ABI cannot break Rust's guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoArgCall {
    /// `getpid()`.
    Getpid,
    /// `getppid()`.
    Getppid,
}

impl NoArgCall {
    /// The number in the i386 syscall table (`arch/x86/entry/syscalls/syscall_32.tbl`).
    pub const fn i386_nr(self) -> u32 {
        match self {
            NoArgCall::Getpid => 20,
            NoArgCall::Getppid => 64,
        }
    }

    /// The number in the x86_64 table, which x32 shares for these calls (`syscall_64.tbl`,
    /// ABI `common`).
    pub const fn x86_64_nr(self) -> u32 {
        match self {
            NoArgCall::Getpid => 39,
            NoArgCall::Getppid => 110,
        }
    }
}

/// Makes `call` through the i386 ABI with `int 0x80` and returns the raw result: the value,
/// or a negative errno (`-ENOSYS` when the kernel lacks ia32 emulation support for the
/// number). Under a seccomp filter that kills foreign arches, the process dies of `SIGSYS`.
#[cfg(target_arch = "x86_64")]
#[doc(alias = "int 0x80")]
pub fn i386_syscall0(call: NoArgCall) -> i64 {
    let ret: i32;
    // SAFETY: `call` is one of `NoArgCall`'s calls, which take no arguments and read or write
    // no user memory (ebx, ecx, … hold garbage arguments that those calls ignore). `int 0x80`
    // returns in eax and does not touch the user stack. The 64-bit kernel entry for `int 0x80`
    // may zero r8-r11, so they are declared clobbered.
    unsafe {
        core::arch::asm!(
            "int 0x80",
            inlateout("eax") call.i386_nr() as i32 => ret,
            lateout("r8") _,
            lateout("r9") _,
            lateout("r10") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    i64::from(ret)
}

/// Makes `call` through the x32 ABI (`syscall` with `0x4000_0000 | nr` in rax) and returns
/// the raw result: the value, or a negative errno (`-ENOSYS` on kernels built without x32,
/// or when a seccomp filter rejects x32 numbers that way).
#[cfg(target_arch = "x86_64")]
#[doc(alias = "__X32_SYSCALL_BIT")]
pub fn x32_syscall0(call: NoArgCall) -> i64 {
    let nr = u64::from(crate::syscalls::X32_SYSCALL_BIT | call.x86_64_nr());
    let ret: i64;
    // SAFETY: `call` is one of `NoArgCall`'s calls, which take no arguments and read or write
    // no user memory. `syscall` returns in rax and clobbers rcx and r11 (declared); it does
    // not touch the user stack.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_libc() {
        assert_eq!(i64::from(NoArgCall::Getpid.x86_64_nr()), libc::SYS_getpid);
        assert_eq!(i64::from(NoArgCall::Getppid.x86_64_nr()), libc::SYS_getppid);
    }

    #[test]
    fn i386_getpid_is_our_pid() {
        assert_eq!(
            i386_syscall0(NoArgCall::Getpid),
            i64::from(std::process::id())
        );
        assert_eq!(
            i386_syscall0(NoArgCall::Getppid),
            i64::from(std::os::unix::process::parent_id())
        );
    }

    #[test]
    fn x32_getpid() {
        let r = x32_syscall0(NoArgCall::Getpid);
        if r == -i64::from(libc::ENOSYS) {
            println!("x32 disabled in this kernel: getpid gave -ENOSYS");
        } else {
            // A kernel built with CONFIG_X86_X32_ABI runs the call.
            assert_eq!(r, i64::from(std::process::id()));
            println!("x32 enabled in this kernel");
        }
    }
}

//! A seccomp filter compiler: a declarative [`Filter`] in, a classic BPF program out.
//!
//! # What it does
//! - [`Filter`]: per-syscall lists of [`Rule`]s, each an [`Action`] guarded by argument
//!   [`Cond`]itions (`==`, `!=`, `<`, `<=`, `>`, `>=`, masked `==`, any-bit-set, on the low
//!   32 bits or all 64 bits of an argument). Syscalls are named and looked up in
//!   `sandlock_sys`'s table for the filter's [`Arch`](sandlock_sys::Arch); an unknown name is an
//!   error, never skipped. [`Filter::evaluate`] is the reference semantics.
//! - [`Filter::compile`]: lowering to `Vec<SockFilter>`, ready for
//!   `sandlock_sys::seccomp::install_filter`.
//! - [`eval`] / [`eval_with_steps`]: an interpreter of the BPF subset seccomp accepts, with the
//!   kernel's load-time checks. The tests compare it against [`Filter::evaluate`].
//! - [`Disasm`]: a disassembler.
//! - [`default_policy`]: the sandbox's default deny list as data.
//!
//! # What it does not do
//! It makes **no system calls** (Architecture Invariant): it does not install filters, probe
//! the kernel or read `/proc`. It can compile for any supported architecture on any host.
//! Whether the running kernel supports an action (e.g. `USER_NOTIF`, 5.0) is the caller's
//! concern (`sandlock_sys::features`).
//!
//! # Kernel features used by the programs
//! Seccomp filters (3.5), `SECCOMP_RET_KILL_PROCESS` and `SECCOMP_RET_LOG` (4.14),
//! `SECCOMP_RET_USER_NOTIF` (5.0, and a listener from `SECCOMP_FILTER_FLAG_NEW_LISTENER`).
//! The compiler emits whatever actions the filter names; the kernel refuses an action it does
//! not know at attach time, so callers probe first.
//!
//! # Program layout
//! ```text
//!       ld arch
//!       jeq #AUDIT_ARCH, native, foreign
//! foreign: ret <foreign-arch action>        (default KILL_PROCESS: i386 int 0x80 etc.)
//! native:  ld nr
//!       jge #0x40000000, x32, dispatch       (x86_64 only)
//! x32:  ret <x32 action>                     (default ERRNO(ENOSYS))
//! dispatch:
//!       binary search over syscall-number ranges (jge), with jeq for a lone number;
//!       leaf: ret <action> for a range with one unconditional action (the default included),
//!             or the syscall's rule chain:
//!             [conditions → ret <rule action>]* ret <default action>
//! ```
//! The x32 check exists because x32 calls carry the x86_64 audit arch: without it a deny list
//! could be bypassed by setting bit 30 of the number on kernels built with x32 support.
//! The default x32 action is `ERRNO(ENOSYS)` rather than a kill: it is exactly what a kernel
//! without x32 answers, so behaviour does not depend on the kernel's configuration, and a
//! probing program fails softly while the bypass stays closed.
//!
//! Conditional jumps in classic BPF reach at most 255 instructions ahead. The assembler
//! inserts trampolines (`ja`, whose offset is 32-bit, or a copy of a target `ret`) for
//! farther targets, and a program over 4096 instructions is [`Error::ProgramTooLong`].
//!
//! Argument words are loaded at little-endian offsets (low dword first), which holds for
//! every supported architecture.
//!
//! # Example
//! ```
//! use sandlock_bpf::{Action, Cond, Filter, Rule, eval};
//! use sandlock_sys::{Arch, structs::SeccompData};
//!
//! let mut f = Filter::new(Arch::X86_64, Action::Allow)?;
//! f.deny("ptrace", 1)?
//!     .add_rule("ioctl", Rule::new(Action::Errno(1), vec![Cond::eq32(1, 0x5412)?])?)?;
//! let prog = f.compile()?;
//! let d = SeccompData { nr: 16, arch: Arch::X86_64.audit_arch(), instruction_pointer: 0,
//!                       args: [0, 0x5412, 0, 0, 0, 0] };
//! assert_eq!(eval(&prog, &d)?, Action::Errno(1).to_ret());
//! println!("{}", sandlock_bpf::Disasm(&prog));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod action;
mod asm;
mod compile;
mod disasm;
mod eval;
mod filter;
mod insn;
mod policy;

pub use action::{Action, MAX_ERRNO};
pub use compile::Layout;
pub use disasm::Disasm;
pub use eval::{EvalError, Outcome, check, eval, eval_with_steps, longest_path};
pub use filter::{ARG_COUNT, ArgWidth, CmpOp, Cond, Filter, Rule};
pub use insn::BPF_MAXINSNS;
pub use policy::{DEFAULT_DENY, Deny, default_policy};

pub use sandlock_sys::structs::{SeccompData, SockFilter};

/// Why a filter could not be built or compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A syscall name the architecture's table does not have.
    #[error(transparent)]
    UnknownSyscall(#[from] sandlock_sys::UnknownSyscall),
    /// A syscall number the filter can never see (an x32 number on x86_64).
    #[error("syscall number {0:#x} is rejected by the filter's prologue")]
    SyscallNrOutOfRange(u32),
    /// An argument index of 6 or more.
    #[error("argument index {0} out of range (syscalls have 6 arguments)")]
    ArgIndex(u8),
    /// A 32-bit condition whose value or mask does not fit in 32 bits.
    #[error("value {0:#x} does not fit a 32-bit argument comparison")]
    ValueTooWide(u64),
    /// A masked comparison that can never match.
    #[error("value {value:#x} has bits outside mask {mask:#x}")]
    ValueOutsideMask {
        /// The value.
        value: u64,
        /// The mask.
        mask: u64,
    },
    /// An errno above 4095, which the kernel would clamp.
    #[error("errno {0} out of range (at most 4095)")]
    ErrnoOutOfRange(u16),
    /// The program exceeds the kernel's 4096 instructions.
    #[error("program of {0} instructions exceeds the kernel's limit of 4096")]
    ProgramTooLong(usize),
    /// A bug in the compiler; please report it.
    #[error("internal compiler error: {0}")]
    Internal(&'static str),
}

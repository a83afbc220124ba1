//! Low-level Linux bindings for the sandlock sandbox.
//!
//! This crate is the floor of the sandlock workspace and the **only** crate in it that contains
//! `unsafe` code. It provides:
//!
//! - [`syscalls`]: syscall name ↔ number tables for x86_64 and aarch64, the audit arch values
//!   and the x32 bit;
//! - [`structs`]: the kernel's ABI structs (`seccomp_data`, `seccomp_notif`, `sockaddr_*`,
//!   `msghdr`, `open_how`, `clone_args`, …) as `#[repr(C)]` zerocopy types, so bytes read from a
//!   sandboxed process can be parsed without `unsafe` and without panics;
//! - [`flags`]: seccomp filter, response, addfd and clone flag sets;
//! - safe wrappers that return [`OwnedFd`](std::os::fd::OwnedFd) and `Result<_, Errno>`:
//!   [`seccomp`] (filters and the user-notification ioctls), [`pidfd`], [`process`]
//!   (`prctl`, `close_range`, `process_vm_readv`/`writev`) and [`scm`] (fd passing);
//! - [`features`]: [`KernelFeatures`](features::KernelFeatures), probed once and cached.
//!
//! It does **not** decide anything: no policy, no filter compilation, no event loop. Those live
//! in `sandlock-bpf`, `sandlock-notif` and `sandlock`.
//!
//! # Kernel requirements
//! Seccomp user notification needs Linux 5.0; `NOTIF_ADDFD` 5.9; `ADDFD_FLAG_SEND` 5.14;
//! `WAIT_KILLABLE_RECV` 5.19; `pidfd_open` 5.3; `pidfd_getfd` 5.6; `close_range` 5.9. Callers
//! check [`features::KernelFeatures`] instead of kernel versions.
//!
//! Only 64-bit architectures (x86_64, aarch64) are supported.

#[cfg(not(target_pointer_width = "64"))]
compile_error!("sandlock supports 64-bit architectures only");

pub mod compat;
pub mod determinism;
mod errno;
pub mod features;
pub mod flags;
pub mod net;
pub mod pidfd;
pub mod poll;
pub mod process;
mod raw;
pub mod sched;
pub mod scm;
pub mod seccomp;
pub mod signal;
pub mod spawn;
pub mod structs;
pub mod supervise;
pub mod syscalls;
pub mod thread;
pub mod views;

pub use errno::Errno;
pub use syscalls::{Arch, UnknownSyscall};

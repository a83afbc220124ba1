//! sandlock: a lightweight, unprivileged Linux process sandbox.
//!
//! This crate is the facade of the sandlock workspace. It turns a [`Policy`] into what the
//! kernel enforces and supervises the confined process tree:
//!
//! - **Landlock** (through the `landlock` crate): filesystem read and write paths, TCP bind and
//!   connect ports (ABI 4, Linux 6.7), and IPC scoping of abstract unix sockets and signals
//!   (ABI 6, Linux 6.12). Best effort by default: on an older kernel sandlock enforces what the
//!   kernel has and reports the rest in [`EnforcementStatus`]; [`CompatLevel::HardRequirement`]
//!   refuses to run instead. Without Landlock at all, sandlock refuses to run unless the policy
//!   allows a degraded run.
//! - **seccomp-bpf**: the default filter of `sandlock-bpf` (mount, ptrace, bpf, io_uring,
//!   namespaces, x32 and foreign-arch calls, setuid bits, device nodes, …) plus the policy's
//!   extra denials.
//! - **The supervisor**: it holds the seccomp user-notification listener of each sandbox.
//!
//! It does not parse untrusted bytes itself, contain `unsafe`, or compile BPF by hand: those live
//! in `sandlock-sys`, `sandlock-bpf`, `sandlock-notif` and `sandlock-net`.
//!
//! ```no_run
//! use sandlock::{Command, Policy, Sandbox};
//!
//! let policy = Policy::builder().fs_read("/usr").fs_read("/lib").fs_write("/tmp").build()?;
//! let sandbox = Sandbox::new(policy)?;
//! let out = sandbox.run(&Command::new("/usr/bin/id"), None)?;
//! assert_eq!(out.exit.code, Some(0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod agent;
mod confine;
mod determinism;
mod features;
mod network;
mod notify;
mod policy;
mod resources;
mod sandbox;
mod status;
mod supervisor;
mod tree;
mod views;

pub use confine::PrepareError;
pub use determinism::parse_time_start;
pub use notify::{PortMapping, RuntimeReport};
pub use policy::{
    CLEAN_ENV_KEEP, CompatLevel, DEVICES_READ, DEVICES_READ_WRITE, Limits, Policy, PolicyBuilder,
    PolicyError, PortRange, parse_cpu_list,
};
pub use resources::MIN_MAX_MEMORY;
pub use sandbox::{Command, ExitReport, Output, Running, Sandbox, SandboxError, Stdio};
pub use sandlock_sys::features::{Availability, KernelFeatures};
pub use status::{
    EnforcementStatus, LandlockLevel, LandlockStatus, SeccompStatus, SupervisorStatus,
};
pub use supervisor::SuperviseError;

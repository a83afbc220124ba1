//! The seccomp user-notification reactor of sandlock.
//!
//! A sandboxed process whose filter returns `SECCOMP_RET_USER_NOTIF` for a system call is
//! suspended in that call until a supervisor answers through the filter's *listener* fd. This
//! crate is that supervisor's engine:
//!
//! - a [`Reactor`] serves the listeners of many sandboxes on one thread, with a mio `Poll`
//!   (epoll), and also watches the sandboxes' processes through pidfds and can be woken from
//!   other threads ([`Waker`]);
//! - each sandbox has a [`HandlerTable`] from system call number to handler closure; a handler
//!   gets a [`NotifCtx`] (the call, the caller's memory) and returns a [`Verdict`] (an errno, a
//!   return value, an injected fd, a kill request, or, when provably safe, "continue");
//! - everything fails closed: a missing handler, a handler error, a panic, a failed fd
//!   injection or a `Continue` after a memory read is answered `EPERM`, and the reactor keeps
//!   serving everyone else.
//!
//! The reactor is not `Send` (handlers may capture `Rc`s): create it, and its handler tables,
//! on the thread that runs it. Panics are caught with `catch_unwind`, so this needs the default
//! `panic = "unwind"`; under `panic = "abort"` a panicking handler takes the supervisor down.
//! One listener is drained at most [`ReactorConfig::drain_budget`] notifications at a time, so
//! a busy sandbox cannot starve the others.
//!
//! It does **not** compile or install filters (that is `sandlock-bpf` and the spawner), and it
//! knows nothing of policy: which calls are notified, and what the handlers decide, is the
//! caller's business. It spawns no threads and uses no async runtime.
//!
//! # Kernel features
//! | feature | since | used for |
//! |---|---|---|
//! | `SECCOMP_RET_USER_NOTIF`, `NOTIF_RECV`/`SEND`/`ID_VALID`, `GET_NOTIF_SIZES` | 5.0 | everything |
//! | `SECCOMP_USER_NOTIF_FLAG_CONTINUE` | 5.5 | [`Verdict::Continue`] |
//! | `SECCOMP_IOCTL_NOTIF_ADDFD` | 5.9 | [`Verdict::InjectFd`] |
//! | `SECCOMP_ADDFD_FLAG_SEND` | 5.14 | atomic injection, when [`ReactorConfig::addfd_send`] |
//! | pidfd poll (`pidfd_open`) | 5.3 | [`Reactor::watch_process`] |
//! | `process_vm_readv`/`writev`, else `/proc/PID/mem` | 3.2 | [`NotifCtx::read_mem`] and friends |
//!
//! # Receiving correctly
//! `NOTIF_RECV` ignores `O_NONBLOCK` and epoll here is edge-triggered, so the reactor receives
//! only while a zero-timeout `poll` says the listener is readable, and receives into a zeroed
//! buffer sized by `GET_NOTIF_SIZES`. `ENOENT` from RECV or SEND means the caller died or was
//! interrupted: normal, counted in [`SandboxStats`], never an error.
//!
//! # Example
//! ```no_run
//! use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, ReactorEvent, Verdict};
//! use sandlock_sys::{Arch, Errno, seccomp::NotifFd};
//!
//! # fn listener_from_child() -> NotifFd { unimplemented!() }
//! let mut reactor = Reactor::new(ReactorConfig::default())?;
//! let openat = Arch::NATIVE.syscall_nr("openat")?;
//! let handlers = HandlerTable::new().on(openat, |ctx| {
//!     let path = ctx.read_cstr(ctx.args()[1], 4096)?;
//!     Ok(if path == b"/etc/shadow" { Verdict::Errno(Errno::EACCES) } else { Verdict::Errno(Errno::ENOENT) })
//! });
//! let sandbox = reactor.add_sandbox(listener_from_child(), handlers)?;
//! loop {
//!     for event in reactor.run_once(None)? {
//!         match event {
//!             ReactorEvent::ListenerClosed { sandbox: s } if s == sandbox => return Ok(()),
//!             _ => {}
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod answer;
mod ctx;
mod handlers;
mod mem;
mod reactor;
mod verdict;

pub use answer::Responder;
pub use ctx::NotifCtx;
pub use handlers::{Handler, HandlerResult, HandlerTable};
pub use mem::{MemAccess, MemError};
pub use reactor::{
    NewReactorError, PollError, Reactor, ReactorConfig, ReactorEvent, RegisterError,
    RemovedSandbox, SandboxId, SandboxStats, Waker,
};
pub use verdict::{HandlerError, Verdict};

//! What a handler decides: [`Verdict`], or a [`HandlerError`].

use std::os::fd::OwnedFd;

use sandlock_sys::Errno;

use crate::mem::MemError;

/// A handler's answer to one notification.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Fail the call with this errno. A value outside `1..=4095` is refused and answered `EPERM`.
    Errno(Errno),
    /// Complete the call with this return value, without running it. Values in `-4095..=-1`
    /// look like errors to the caller's libc; use [`Verdict::Errno`] for those.
    Return(i64),
    /// Install `fd` in the caller and complete the call with the new fd number, as `open`
    /// would. With `ADDFD_FLAG_SEND` (5.14, see
    /// [`ReactorConfig::addfd_send`](crate::ReactorConfig::addfd_send)) this is one atomic
    /// ioctl; otherwise ADDFD then SEND. A failed installation is answered `EPERM`. The
    /// supervisor's copy of `fd` is closed afterwards.
    InjectFd {
        /// The fd to install (the supervisor keeps nothing).
        fd: OwnedFd,
        /// Whether the new fd is close-on-exec in the caller.
        cloexec: bool,
    },
    /// Ask the caller of the reactor to kill the whole sandbox: the reactor reports
    /// [`ReactorEvent::KillRequested`](crate::ReactorEvent::KillRequested) and answers `EPERM`
    /// meanwhile. The reactor itself kills nothing.
    Kill,
    /// Let the kernel run the call as made (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`, 5.5).
    ///
    /// Only sound when the decision does not rest on the caller's memory, which another thread
    /// can change after the check (TOCTOU). The reactor enforces that: `Continue` from a handler
    /// that read or wrote memory during this notification is answered `EPERM` and counted in
    /// [`SandboxStats::continue_refused`](crate::SandboxStats::continue_refused).
    Continue,
    /// The answer comes later, through the [`Responder`](crate::Responder) the handler took
    /// with [`NotifCtx::responder`](crate::NotifCtx::responder). Returned without a responder
    /// taken, it is answered `EPERM`.
    Deferred,
}

/// Why a handler could not decide. Every error is answered `EPERM` (fail closed), except
/// [`MemError::Gone`], which means the caller is gone and nothing is answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// Reading or writing the caller's memory failed.
    #[error("access to the caller's memory failed")]
    Mem(#[from] MemError),
    /// A system call made by the handler failed.
    #[error("a system call made by the handler failed")]
    Sys(#[from] Errno),
    /// An I/O operation made by the handler failed.
    #[error("an i/o operation made by the handler failed")]
    Io(#[from] std::io::Error),
    /// Anything else.
    #[error("handler failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

//! Sending a verdict to the kernel, from the reactor or later from any thread: [`Responder`].

use std::os::fd::AsRawFd;
use std::sync::Arc;

use sandlock_sys::Errno;
use sandlock_sys::flags::{AddfdFlags, NotifRespFlags};
use sandlock_sys::seccomp::NotifFd;
use sandlock_sys::structs::{SeccompNotifAddfd, SeccompNotifResp};

use crate::verdict::Verdict;

/// Largest errno a response may carry (`MAX_ERRNO` in the kernel).
const MAX_ERRNO: i32 = 4095;

/// How one answer went, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The kernel took the answer.
    Answered,
    /// The caller left the call first (`ENOENT`).
    Gone,
    /// The kernel refused the answer for another reason.
    SendFailed(Errno),
    /// The fd could not be installed; `EPERM` was answered instead (with this outcome).
    InjectFailed,
    /// The verdict was invalid (an errno out of range); `EPERM` was answered instead.
    Invalid,
}

/// Sends `verdict` for notification `id`. `Continue` and `Kill` are the reactor's business
/// (the first needs a check only it can make, the second an event only it can report); here
/// they are answered `EPERM`, failing closed.
pub(crate) fn send_verdict(
    listener: &NotifFd,
    id: u64,
    verdict: Verdict,
    addfd_send: bool,
) -> Outcome {
    let errno = |e: Errno| SeccompNotifResp {
        id,
        val: 0,
        error: -e.raw(),
        flags: 0,
    };
    let mut fallback = None;
    let resp = match verdict {
        Verdict::Errno(e) if (1..=MAX_ERRNO).contains(&e.raw()) => errno(e),
        Verdict::Errno(_) | Verdict::Deferred | Verdict::Kill => {
            fallback = Some(Outcome::Invalid);
            errno(Errno::EPERM)
        }
        Verdict::Return(val) => SeccompNotifResp {
            id,
            val,
            error: 0,
            flags: 0,
        },
        Verdict::Continue => SeccompNotifResp {
            id,
            val: 0,
            error: 0,
            flags: NotifRespFlags::CONTINUE.bits(),
        },
        Verdict::InjectFd { fd, cloexec } => {
            let flags = if addfd_send {
                AddfdFlags::SEND
            } else {
                AddfdFlags::empty()
            };
            let addfd = SeccompNotifAddfd {
                id,
                flags: flags.bits(),
                srcfd: fd.as_raw_fd() as u32,
                newfd: 0,
                newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
            };
            match retry_eintr(|| listener.addfd(&addfd)) {
                Ok(_) if addfd_send => return Outcome::Answered,
                Ok(newfd) => SeccompNotifResp {
                    id,
                    val: i64::from(newfd),
                    error: 0,
                    flags: 0,
                },
                Err(Errno::ENOENT) => return Outcome::Gone,
                Err(_) => {
                    fallback = Some(Outcome::InjectFailed);
                    errno(Errno::EPERM)
                }
            }
        }
    };
    match retry_eintr(|| listener.send(&resp)) {
        Ok(()) => fallback.unwrap_or(Outcome::Answered),
        Err(Errno::ENOENT) => Outcome::Gone,
        Err(e) => Outcome::SendFailed(e),
    }
}

pub(crate) fn retry_eintr<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// The right to answer one notification later, from any thread.
///
/// A handler that must wait (a blocking `connect` made on the caller's behalf, work done in
/// another thread) takes a responder with [`NotifCtx::responder`](crate::NotifCtx::responder),
/// hands it to whoever finishes the work, and returns [`Verdict::Deferred`]. The reactor then
/// goes on serving everyone else; the caller stays suspended in its system call until
/// [`answer`](Self::answer).
///
/// It fails closed: a responder dropped without an answer answers `EPERM`. It cannot answer
/// [`Verdict::Continue`] (the decision was deferred, so it rests on state the reactor can no
/// longer vouch for) nor [`Verdict::Kill`] (there is no reactor to report it to); both are
/// answered `EPERM`, and whoever holds the responder kills the sandbox by its own means.
#[derive(Debug)]
pub struct Responder {
    listener: Arc<NotifFd>,
    id: u64,
    addfd_send: bool,
    answered: bool,
}

impl Responder {
    pub(crate) fn new(listener: Arc<NotifFd>, id: u64, addfd_send: bool) -> Responder {
        Responder {
            listener,
            id,
            addfd_send,
            answered: false,
        }
    }

    /// The notification's cookie.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the caller is still waiting for this answer (`SECCOMP_IOCTL_NOTIF_ID_VALID`).
    pub fn is_pending(&self) -> bool {
        self.listener.id_valid(self.id)
    }

    /// Sends the answer.
    ///
    /// # Errors
    /// `ENOENT` when the caller left the call (died, or was interrupted without
    /// `WAIT_KILLABLE_RECV`); `EPERM` when the verdict could not be delivered as given
    /// (`Continue`, `Kill`, an invalid errno, a failed fd injection), in which case the caller
    /// got `EPERM`; any other error of the kernel.
    pub fn answer(mut self, verdict: Verdict) -> Result<(), Errno> {
        self.answered = true;
        let verdict = match verdict {
            Verdict::Continue => Verdict::Kill,
            v => v,
        };
        match send_verdict(&self.listener, self.id, verdict, self.addfd_send) {
            Outcome::Answered => Ok(()),
            Outcome::Gone => Err(Errno::ENOENT),
            Outcome::InjectFailed | Outcome::Invalid => Err(Errno::EPERM),
            Outcome::SendFailed(e) => Err(e),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let _ = send_verdict(
                &self.listener,
                self.id,
                Verdict::Errno(Errno::EPERM),
                self.addfd_send,
            );
        }
    }
}

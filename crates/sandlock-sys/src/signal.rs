//! Signals and reaping by pid: `kill`, `killpg`, `waitpid`, and ignoring job-control signals.

use crate::Errno;

/// Sends `sig` to process `pid`.
///
/// Calls `kill(pid, sig)`. `pid` must be positive: a process group or "every process" (`-1`)
/// are not what this is for, so they are refused with `EINVAL` here.
#[doc(alias = "kill")]
pub fn kill_process(pid: libc::pid_t, sig: i32) -> Result<(), Errno> {
    if pid <= 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: kill takes integers.
    Errno::result(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// Sends `sig` to process group `pgid`.
///
/// Calls `killpg(pgid, sig)`; `pgid` must be positive.
#[doc(alias = "killpg")]
pub fn kill_process_group(pgid: libc::pid_t, sig: i32) -> Result<(), Errno> {
    if pgid <= 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: killpg takes integers.
    Errno::result(unsafe { libc::killpg(pgid, sig) }).map(drop)
}

/// Reaps child `pid` if it has exited, without blocking.
///
/// Calls `waitpid(pid, &status, WNOHANG)`. Returns the raw wait status, or `Ok(None)` while the
/// child runs; `Err(ECHILD)` when `pid` is not (or no longer) our child.
#[doc(alias = "waitpid")]
pub fn reap_child(pid: libc::pid_t) -> Result<Option<i32>, Errno> {
    if pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let mut status = 0;
    // SAFETY: waitpid writes one int into `status`.
    let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    match ret {
        -1 => Err(Errno::last()),
        0 => Ok(None),
        _ => Ok(Some(status)),
    }
}

/// Whether the calling process has any child, running or exited but not yet reaped.
///
/// Calls `waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT)`, which
/// reaps nothing and fails with `ECHILD` exactly when there is no child.
pub fn has_children() -> bool {
    // SAFETY: siginfo_t is plain old data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: waitid writes one siginfo_t into `info`.
    let ret = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) };
    !(ret == -1 && Errno::last() == Errno::ECHILD)
}

/// Ignores (`true`) or restores (`false`) the terminal job-control signals `SIGTTOU`,
/// `SIGTTIN` and `SIGTSTP` in the calling process, so a supervisor that hands its terminal to a
/// child and takes it back is never stopped by it.
pub fn ignore_job_control_signals(ignore: bool) {
    let action = if ignore { libc::SIG_IGN } else { libc::SIG_DFL };
    for sig in [libc::SIGTTOU, libc::SIGTTIN, libc::SIGTSTP] {
        // SAFETY: setting a disposition to SIG_IGN or SIG_DFL installs no handler code.
        unsafe { libc::signal(sig, action) };
    }
}

/// Makes `pgrp` the foreground process group of the terminal `tty`.
///
/// Calls `tcsetpgrp(tty, pgrp)`.
#[doc(alias = "tcsetpgrp")]
pub fn set_foreground(tty: std::os::fd::BorrowedFd<'_>, pgrp: libc::pid_t) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: tcsetpgrp takes integers.
    Errno::result(unsafe { libc::tcsetpgrp(tty.as_raw_fd(), pgrp) }).map(drop)
}

/// The calling process's process group.
pub fn process_group() -> libc::pid_t {
    // SAFETY: getpgrp takes no arguments and cannot fail.
    unsafe { libc::getpgrp() }
}

/// Termination signals delivered as readable data instead of killing the process.
///
/// [`SignalFd::new`] blocks the signals in the calling thread (so a single-threaded program,
/// like the CLI, receives them nowhere else) and opens a `signalfd` for them; the fd becomes
/// readable when one is pending. Dropping it unblocks them again.
#[derive(Debug)]
pub struct SignalFd {
    fd: std::os::fd::OwnedFd,
    old_mask: libc::sigset_t,
}

impl SignalFd {
    /// Blocks `signals` in the calling thread and opens a close-on-exec signalfd for them.
    ///
    /// Calls `pthread_sigmask(SIG_BLOCK, …)` and `signalfd(-1, mask, SFD_CLOEXEC)`.
    #[doc(alias = "signalfd")]
    pub fn new(signals: &[i32]) -> Result<SignalFd, Errno> {
        use std::os::fd::FromRawFd;
        // SAFETY: sigset_t is plain old data; the set functions write into locals.
        let (mut set, mut old_mask): (libc::sigset_t, libc::sigset_t) =
            unsafe { std::mem::zeroed() };
        // SAFETY: as above; signal numbers out of range make sigaddset fail, which we report.
        unsafe {
            libc::sigemptyset(&mut set);
            for &sig in signals {
                if libc::sigaddset(&mut set, sig) != 0 {
                    return Err(Errno::EINVAL);
                }
            }
        }
        // SAFETY: pthread_sigmask reads `set` and writes the old mask into a local.
        let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old_mask) };
        if r != 0 {
            return Err(Errno::from_raw(r));
        }
        // SAFETY: signalfd reads `set`; -1 asks for a new fd.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
        if fd < 0 {
            let e = Errno::last();
            // SAFETY: restores the mask read above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old_mask, std::ptr::null_mut()) };
            return Err(e);
        }
        // SAFETY: signalfd returned a new fd that we now own.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        Ok(SignalFd { fd, old_mask })
    }

    /// Reads one pending signal's number, if any is pending (the fd is blocking: call it
    /// after `poll` says readable).
    pub fn read(&self) -> Result<i32, Errno> {
        use std::os::fd::AsRawFd;
        // SAFETY: signalfd_siginfo is plain old data.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let size = size_of::<libc::signalfd_siginfo>();
        // SAFETY: read writes at most `size` bytes into `info`.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut info as *mut libc::signalfd_siginfo).cast(),
                size,
            )
        };
        if n as usize != size {
            return Err(if n < 0 { Errno::last() } else { Errno::EIO });
        }
        Ok(info.ssi_signo as i32)
    }
}

impl std::os::fd::AsFd for SignalFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for SignalFd {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signalfd_receives_a_blocked_signal() {
        // Run in a thread of our own: the mask is per thread, and the harness has others.
        std::thread::spawn(|| {
            let sfd = SignalFd::new(&[libc::SIGUSR2]).unwrap();
            // SAFETY: raise sends a signal to the calling thread; it is blocked there.
            unsafe { libc::raise(libc::SIGUSR2) };
            assert_eq!(sfd.read(), Ok(libc::SIGUSR2));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn sees_a_child() {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        assert!(has_children());
        c.wait().unwrap();
    }

    #[test]
    fn refuses_group_and_broadcast_pids() {
        assert_eq!(kill_process(0, 0), Err(Errno::EINVAL));
        assert_eq!(kill_process(-1, 0), Err(Errno::EINVAL));
        assert_eq!(kill_process(std::process::id() as i32, 0), Ok(()));
    }
}

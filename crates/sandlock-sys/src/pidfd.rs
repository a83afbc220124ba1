//! Process file descriptors: `pidfd_open`, `pidfd_getfd`, `pidfd_send_signal`, `waitid(P_PIDFD)`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use crate::Errno;

/// A file descriptor that refers to a process, immune to pid reuse.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

/// How a process ended, or changed state, as reported by [`PidFd::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitStatus {
    /// It called `exit` with this code.
    Exited(i32),
    /// It was killed by this signal.
    Signaled {
        /// The signal number.
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// It was stopped by this signal (with `WUNTRACED`/`WSTOPPED`).
    Stopped(i32),
    /// It was continued (with `WCONTINUED`).
    Continued,
    /// `WNOHANG` was given and nothing has happened yet.
    StillAlive,
}

impl PidFd {
    /// Opens a pidfd for `pid`.
    ///
    /// Calls `pidfd_open(pid, flags)` (5.3). `flags` may be 0, `PIDFD_NONBLOCK` (5.10) or
    /// `PIDFD_THREAD` (6.9). The fd is close-on-exec.
    ///
    /// # Errors
    /// `ESRCH` when there is no such process, `EINVAL` when `pid` is not a thread-group leader.
    #[doc(alias = "pidfd_open")]
    pub fn open(pid: libc::pid_t, flags: u32) -> Result<PidFd, Errno> {
        // SAFETY: pidfd_open takes two integers and returns a new fd or -1.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) };
        let fd = Errno::result(ret)?;
        // SAFETY: on success pidfd_open returns a new fd that we now own.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }))
    }

    /// Duplicates fd `target_fd` of the process into ours.
    ///
    /// Calls `pidfd_getfd(pidfd, target_fd, 0)` (5.6). It needs `PTRACE_MODE_ATTACH_REALCREDS`
    /// over the process (so Yama's `ptrace_scope` ≥ 2 forbids it for non-root).
    ///
    /// # Errors
    /// `EBADF` when the target has no such fd, `EPERM` without ptrace rights, `ESRCH` when the
    /// process is gone.
    #[doc(alias = "pidfd_getfd")]
    pub fn get_fd(&self, target_fd: RawFd) -> Result<OwnedFd, Errno> {
        // SAFETY: pidfd_getfd takes two fds and a flags integer and returns a new fd or -1.
        let ret = unsafe { libc::syscall(libc::SYS_pidfd_getfd, self.0.as_raw_fd(), target_fd, 0) };
        let fd = Errno::result(ret)?;
        // SAFETY: on success pidfd_getfd returns a new fd (close-on-exec) that we now own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }

    /// Sends signal `sig` to the process.
    ///
    /// Calls `pidfd_send_signal(pidfd, sig, NULL, 0)` (5.1). This function does not allocate
    /// and is async-signal-safe.
    #[doc(alias = "pidfd_send_signal")]
    pub fn send_signal(&self, sig: i32) -> Result<(), Errno> {
        // SAFETY: a NULL siginfo is allowed; no memory is passed.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        Errno::result(ret).map(drop)
    }

    /// Waits for a state change of the process (which must be our child).
    ///
    /// Calls `waitid(P_PIDFD, pidfd, &info, options)` (5.4). `options` is a combination of
    /// `WEXITED`, `WSTOPPED`, `WCONTINUED`, `WNOHANG` and `WNOWAIT`; without `WNOWAIT`, an exited
    /// child is reaped.
    ///
    /// # Errors
    /// `ECHILD` when the process is not our child (or was reaped already), `EINTR`.
    #[doc(alias = "waitid")]
    pub fn wait(&self, options: i32) -> Result<WaitStatus, Errno> {
        // SAFETY: siginfo_t is plain old data; all-zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: the kernel writes one siginfo_t into `info`.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                self.0.as_raw_fd() as libc::id_t,
                &mut info,
                options,
            )
        };
        Errno::result(ret)?;
        // SAFETY: waitid filled `info` (or left it zeroed under WNOHANG); si_pid and si_status
        // are valid to read for SIGCHLD infos and zero otherwise.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(WaitStatus::StillAlive);
        }
        Ok(match info.si_code {
            libc::CLD_EXITED => WaitStatus::Exited(status),
            libc::CLD_KILLED => WaitStatus::Signaled {
                signal: status,
                core_dumped: false,
            },
            libc::CLD_DUMPED => WaitStatus::Signaled {
                signal: status,
                core_dumped: true,
            },
            libc::CLD_STOPPED | libc::CLD_TRAPPED => WaitStatus::Stopped(status),
            libc::CLD_CONTINUED => WaitStatus::Continued,
            _ => return Err(Errno::EINVAL),
        })
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl From<OwnedFd> for PidFd {
    /// Wraps an fd known to be a pidfd (for example from `clone3(CLONE_PIDFD)`).
    fn from(fd: OwnedFd) -> PidFd {
        PidFd(fd)
    }
}

impl From<PidFd> for OwnedFd {
    fn from(p: PidFd) -> OwnedFd {
        p.0
    }
}

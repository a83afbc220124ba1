//! `poll(2)` on a single fd, for readiness checks outside an event loop.
//!
//! The seccomp listener ignores `O_NONBLOCK` (`SECCOMP_IOCTL_NOTIF_RECV` blocks regardless), so a
//! supervisor draining an edge-triggered epoll event must ask, between receives, whether another
//! notification is pending; [`poll_readable`] answers that without blocking.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use crate::Errno;

/// Whether `fd` is readable right now (`POLLIN` set), without blocking.
///
/// Calls `poll([{fd, POLLIN}], 1, 0)`, retrying on `EINTR`. A hang-up without `POLLIN` (for a
/// seccomp listener: every task using the filter is gone) is reported as `false`.
///
/// # Errors
/// `ENOMEM` when the kernel cannot allocate its poll table. An invalid fd is not an error of
/// `poll` itself: it is reported as `EBADF` here (from `POLLNVAL`).
#[doc(alias = "poll")]
pub fn poll_readable(fd: impl AsFd) -> Result<bool, Errno> {
    wait_readable(fd, Some(Duration::ZERO))
}

/// Waits until `fd` is readable or `timeout` passes (`None`: no timeout).
///
/// Calls `poll([{fd, POLLIN}], 1, timeout_ms)`, retrying on `EINTR` with the full timeout again
/// (so a signal storm can stretch the wait; callers needing a deadline should loop themselves).
/// Timeouts are rounded up to whole milliseconds and capped at `i32::MAX` ms. Returns `false`
/// on timeout or on a hang-up without `POLLIN`.
///
/// # Errors
/// `ENOMEM`; `EBADF` when `fd` is not open (`POLLNVAL`).
#[doc(alias = "poll")]
pub fn wait_readable(fd: impl AsFd, timeout: Option<Duration>) -> Result<bool, Errno> {
    let timeout_ms: libc::c_int = match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    };
    let mut pfd = libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one valid, writable pollfd and nfds is 1.
        let ret = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match Errno::result(ret) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(0) => return Ok(false),
            Ok(_) => break,
        }
    }
    if pfd.revents & libc::POLLNVAL != 0 {
        return Err(Errno::EBADF);
    }
    Ok(pfd.revents & libc::POLLIN != 0)
}

/// Waits until one of `fds` is readable or hung up, or `timeout` passes (`None`: no timeout).
///
/// Calls `poll(fds…, POLLIN, timeout_ms)`, retrying on `EINTR`. Returns the index of the first
/// ready fd, or `None` on timeout. At most 8 fds.
///
/// # Errors
/// `EINVAL` for more than 8 fds; `ENOMEM`; `EBADF` when an fd is not open (`POLLNVAL`).
#[doc(alias = "poll")]
pub fn wait_any(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Result<Option<usize>, Errno> {
    const MAX: usize = 8;
    if fds.len() > MAX {
        return Err(Errno::EINVAL);
    }
    let timeout_ms: libc::c_int = match timeout {
        None => -1,
        Some(t) => {
            libc::c_int::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(libc::c_int::MAX)
        }
    };
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX];
    for (p, fd) in pfds.iter_mut().zip(fds) {
        *p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
    }
    loop {
        // SAFETY: `pfds` holds `fds.len()` valid, writable pollfds.
        let ret = unsafe { libc::poll(pfds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        match Errno::result(ret) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(0) => return Ok(None),
            Ok(_) => break,
        }
    }
    for (i, p) in pfds[..fds.len()].iter().enumerate() {
        if p.revents & libc::POLLNVAL != 0 {
            return Err(Errno::EBADF);
        }
        if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn wait_any_names_the_ready_one() {
        let (r1, _w1) = std::io::pipe().unwrap();
        let (r2, mut w2) = std::io::pipe().unwrap();
        let fds = [r1.as_fd(), r2.as_fd()];
        assert_eq!(wait_any(&fds, Some(Duration::ZERO)), Ok(None));
        w2.write_all(b"x").unwrap();
        assert_eq!(wait_any(&fds, None), Ok(Some(1)));
    }

    #[test]
    fn pipe_readiness() {
        let (r, mut w) = std::io::pipe().unwrap();
        assert_eq!(poll_readable(&r), Ok(false));
        w.write_all(b"x").unwrap();
        assert_eq!(poll_readable(&r), Ok(true));
        assert_eq!(wait_readable(&r, None), Ok(true));
        assert_eq!(wait_readable(&r, Some(Duration::from_millis(1))), Ok(true));
    }

    #[test]
    fn timeout_and_hangup() {
        let (r, w) = std::io::pipe().unwrap();
        assert_eq!(wait_readable(&r, Some(Duration::from_millis(1))), Ok(false));
        drop(w);
        // A pipe whose writer is gone reports POLLHUP only.
        assert_eq!(poll_readable(&r), Ok(false));
    }
}

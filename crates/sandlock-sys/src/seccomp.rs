//! `seccomp(2)` and the user-notification ioctls.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use zerocopy::{FromBytes, FromZeros, IntoBytes};

use crate::Errno;
use crate::flags::{FilterFlags, NotifFdFlags};
use crate::structs::{
    SeccompNotif, SeccompNotifAddfd, SeccompNotifResp, SeccompNotifSizes, SockFilter, SockFprog,
};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_ulong = 2;
const SECCOMP_GET_NOTIF_SIZES: libc::c_ulong = 3;

// `_IOWR('!', 0, struct seccomp_notif)` and friends, from <linux/seccomp.h>.
const SECCOMP_IOCTL_NOTIF_RECV: libc::c_ulong = 0xc050_2100;
const SECCOMP_IOCTL_NOTIF_SEND: libc::c_ulong = 0xc018_2101;
const SECCOMP_IOCTL_NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;
const SECCOMP_IOCTL_NOTIF_ADDFD: libc::c_ulong = 0x4018_2103;
const SECCOMP_IOCTL_NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;

/// Installs a seccomp filter on the calling thread.
///
/// Calls `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`. The caller must have set
/// `PR_SET_NO_NEW_PRIVS` (or hold `CAP_SYS_ADMIN`). With [`FilterFlags::NEW_LISTENER`] the kernel
/// returns a listener fd, which is returned here; otherwise `None`.
///
/// This function does not allocate and is async-signal-safe, so it may run between fork and exec.
///
/// # Errors
/// `EINVAL` for a program the kernel rejects or unknown flags, `EACCES` without no_new_privs,
/// `EBUSY` when `NEW_LISTENER` is asked for and the filter chain already has a listener,
/// `EFAULT` for a bad program, `ENOMEM` when the chain is too long.
#[doc(alias = "seccomp")]
pub fn install_filter(prog: &[SockFilter], flags: FilterFlags) -> Result<Option<OwnedFd>, Errno> {
    let len = u16::try_from(prog.len()).map_err(|_| Errno::EINVAL)?;
    let fprog = SockFprog {
        len,
        _pad: [0; 6],
        filter: prog.as_ptr() as u64,
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the program.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags.bits()),
            &fprog as *const SockFprog,
        )
    };
    let ret = Errno::result(ret)?;
    if flags.contains(FilterFlags::NEW_LISTENER) {
        // SAFETY: with NEW_LISTENER, a successful seccomp() returns a new fd that we now own.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
    } else {
        Ok(None)
    }
}

/// Asks the kernel which sizes it uses for the notification structs.
///
/// Calls `seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes)` (5.0).
#[doc(alias = "SECCOMP_GET_NOTIF_SIZES")]
pub fn notif_sizes() -> Result<SeccompNotifSizes, Errno> {
    let mut sizes = SeccompNotifSizes::new_zeroed();
    // SAFETY: the kernel writes a `struct seccomp_notif_sizes` into `sizes`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut SeccompNotifSizes,
        )
    };
    Errno::result(ret)?;
    Ok(sizes)
}

/// Whether the kernel supports a filter return action (a `SECCOMP_RET_*` value).
///
/// Calls `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)` (4.14).
///
/// # Errors
/// `EOPNOTSUPP` when the action is unknown to the kernel; `EINVAL` or `ENOSYS` on kernels without
/// the operation.
#[doc(alias = "SECCOMP_GET_ACTION_AVAIL")]
pub fn action_avail(action: u32) -> Result<(), Errno> {
    // SAFETY: the kernel reads one u32 from `&action`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    Errno::result(ret).map(drop)
}

/// A receive buffer for [`NotifFd::recv`], sized for the running kernel's notification struct.
#[derive(Debug, Clone)]
pub struct NotifBuf {
    words: Vec<u64>,
}

impl NotifBuf {
    /// A buffer large enough for both our [`SeccompNotif`] and the kernel's, whose size comes
    /// from [`notif_sizes`].
    pub fn new(sizes: &SeccompNotifSizes) -> NotifBuf {
        let bytes = usize::from(sizes.seccomp_notif).max(size_of::<SeccompNotif>());
        NotifBuf {
            words: vec![0; bytes.div_ceil(8)],
        }
    }
}

/// A seccomp user-notification listener, as returned by [`install_filter`] with `NEW_LISTENER`.
#[derive(Debug)]
pub struct NotifFd(OwnedFd);

impl NotifFd {
    /// Wraps a listener fd.
    pub fn new(fd: OwnedFd) -> NotifFd {
        NotifFd(fd)
    }

    /// Receives one notification.
    ///
    /// Calls `ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)` on a zeroed buffer (the kernel insists)
    /// that is as large as the kernel's `struct seccomp_notif`, then parses our prefix of it.
    /// **This blocks even when the fd is `O_NONBLOCK`**: call it only after `poll` reports the
    /// fd readable.
    ///
    /// # Errors
    /// `ENOENT` when the notifying task died or was interrupted before it could be received
    /// (normal), `EINTR` on a signal.
    #[doc(alias = "SECCOMP_IOCTL_NOTIF_RECV")]
    pub fn recv(&self, buf: &mut NotifBuf) -> Result<SeccompNotif, Errno> {
        buf.words.fill(0);
        // SAFETY: `buf` holds at least the kernel's `sizeof(struct seccomp_notif)` bytes, as
        // reported by SECCOMP_GET_NOTIF_SIZES, and is 8-byte aligned.
        let ret = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                SECCOMP_IOCTL_NOTIF_RECV,
                buf.words.as_mut_ptr(),
            )
        };
        Errno::result(ret)?;
        let bytes = buf.words.as_bytes();
        SeccompNotif::read_from_prefix(bytes)
            .map(|(n, _)| n)
            .map_err(|_| Errno::EINVAL)
    }

    /// Answers a notification.
    ///
    /// Calls `ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)`.
    ///
    /// # Errors
    /// `ENOENT` when the task died or the call was interrupted meanwhile (normal); `EINPROGRESS`
    /// when an `ADDFD_FLAG_SEND` already answered it; `EINVAL` for a malformed response.
    #[doc(alias = "SECCOMP_IOCTL_NOTIF_SEND")]
    pub fn send(&self, resp: &SeccompNotifResp) -> Result<(), Errno> {
        // SAFETY: the kernel reads one `struct seccomp_notif_resp` from `resp`.
        let ret = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                SECCOMP_IOCTL_NOTIF_SEND,
                resp as *const SeccompNotifResp,
            )
        };
        Errno::result(ret).map(drop)
    }

    /// Whether notification `id` is still pending: its task is alive and still in the call.
    ///
    /// Calls `ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id)`. Check it after reading the task's
    /// memory and before acting on what was read: the pid may have been reused meanwhile.
    #[doc(alias = "SECCOMP_IOCTL_NOTIF_ID_VALID")]
    pub fn id_valid(&self, id: u64) -> bool {
        // SAFETY: the kernel reads one u64 from `&id`.
        let ret = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                SECCOMP_IOCTL_NOTIF_ID_VALID,
                &id as *const u64,
            )
        };
        ret == 0
    }

    /// Installs one of our fds into the notifying task and returns its number there.
    ///
    /// Calls `ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, addfd)` (5.9). With `AddfdFlags::SEND` (5.14)
    /// this also answers the notification with the new fd number, atomically.
    ///
    /// # Errors
    /// `ENOENT` when the task is gone, `EMFILE` when its fd table is full, `EINPROGRESS` when
    /// the notification was already answered, `EBADF` for a bad `srcfd`.
    #[doc(alias = "SECCOMP_IOCTL_NOTIF_ADDFD")]
    pub fn addfd(&self, addfd: &SeccompNotifAddfd) -> Result<i32, Errno> {
        // SAFETY: the kernel reads one `struct seccomp_notif_addfd` from `addfd`.
        let ret = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                SECCOMP_IOCTL_NOTIF_ADDFD,
                addfd as *const SeccompNotifAddfd,
            )
        };
        Errno::result(ret)
    }

    /// Sets flags on the listener.
    ///
    /// Calls `ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags)` (6.6). The flags are passed by
    /// value, not by pointer.
    #[doc(alias = "SECCOMP_IOCTL_NOTIF_SET_FLAGS")]
    pub fn set_flags(&self, flags: NotifFdFlags) -> Result<(), Errno> {
        // SAFETY: SET_FLAGS takes its argument by value; no memory is passed.
        let ret = unsafe {
            libc::ioctl(
                self.0.as_raw_fd(),
                SECCOMP_IOCTL_NOTIF_SET_FLAGS,
                flags.bits(),
            )
        };
        Errno::result(ret).map(drop)
    }
}

impl AsFd for NotifFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for NotifFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

impl From<NotifFd> for OwnedFd {
    fn from(n: NotifFd) -> OwnedFd {
        n.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_libc() {
        assert_eq!(
            SECCOMP_IOCTL_NOTIF_RECV,
            libc::SECCOMP_IOCTL_NOTIF_RECV as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_IOCTL_NOTIF_SEND,
            libc::SECCOMP_IOCTL_NOTIF_SEND as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_IOCTL_NOTIF_ID_VALID,
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_IOCTL_NOTIF_ADDFD,
            libc::SECCOMP_IOCTL_NOTIF_ADDFD as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_GET_ACTION_AVAIL,
            libc::SECCOMP_GET_ACTION_AVAIL as libc::c_ulong
        );
        assert_eq!(
            SECCOMP_GET_NOTIF_SIZES,
            libc::SECCOMP_GET_NOTIF_SIZES as libc::c_ulong
        );
    }

    #[test]
    fn sizes_match_ours() {
        let s = notif_sizes().expect("GET_NOTIF_SIZES");
        assert_eq!(usize::from(s.seccomp_notif), size_of::<SeccompNotif>());
        assert_eq!(
            usize::from(s.seccomp_notif_resp),
            size_of::<SeccompNotifResp>()
        );
    }

    #[test]
    fn user_notif_action_available() {
        assert_eq!(action_avail(crate::flags::ret::USER_NOTIF), Ok(()));
        assert_eq!(action_avail(0x1234_0000), Err(Errno::EOPNOTSUPP));
    }
}

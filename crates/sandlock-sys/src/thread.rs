//! Per-thread confinement, for supervisor threads that act on behalf of a sandbox:
//! `landlock_restrict_self`, `unshare(CLONE_FS)` and `fchdir`.
//!
//! Landlock domains, `no_new_privs` and (after `unshare(CLONE_FS)`) the working directory are
//! attributes of one thread, so a thread of the supervisor can take on a sandbox's filesystem
//! and network rules, and its working directory, without the rest of the process.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::Errno;

/// Enforces the Landlock ruleset `ruleset` on the calling thread (and threads it creates
/// later). `no_new_privs` must be set on the thread first (or the thread have `CAP_SYS_ADMIN`).
///
/// Calls `landlock_restrict_self(ruleset, 0)` (5.13).
///
/// # Errors
/// `ENOSYS`/`EOPNOTSUPP` without Landlock, `EPERM` without `no_new_privs`, `E2BIG` when the
/// thread is already in 16 nested domains.
pub fn landlock_restrict_self(ruleset: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: landlock_restrict_self takes an fd and a flags integer.
    let ret = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0) };
    Errno::result(ret).map(drop)
}

/// Gives the calling thread its own working directory, root and umask, no longer shared with
/// the other threads of the process.
///
/// Calls `unshare(CLONE_FS)`, which needs no privilege and is allowed in a multi-threaded
/// process.
#[doc(alias = "unshare")]
pub fn unshare_fs() -> Result<(), Errno> {
    // SAFETY: unshare takes a flags integer.
    let ret = unsafe { libc::unshare(libc::CLONE_FS) };
    Errno::result(ret).map(drop)
}

/// Changes the working directory to the directory `dir` (of the thread, after
/// [`unshare_fs`]; else of the process).
///
/// Calls `fchdir(dir)`.
pub fn fchdir(dir: BorrowedFd<'_>) -> Result<(), Errno> {
    // SAFETY: fchdir takes an fd.
    let ret = unsafe { libc::fchdir(dir.as_raw_fd()) };
    Errno::result(ret).map(drop)
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn a_thread_gets_its_own_working_directory() {
        let before = std::env::current_dir().unwrap();
        let tmp = std::fs::File::open("/").unwrap();
        std::thread::spawn(move || {
            unshare_fs().unwrap();
            fchdir(tmp.as_fd()).unwrap();
            assert_eq!(std::env::current_dir().unwrap(), std::path::Path::new("/"));
        })
        .join()
        .unwrap();
        assert_eq!(std::env::current_dir().unwrap(), before);
    }
}

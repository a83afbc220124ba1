//! Process attributes and memory: `prctl`, `close_range`, `process_vm_readv`/`writev`.
//!
//! Every function here except the memory accessors is async-signal-safe and allocation-free, so
//! it can run between fork and exec.

use crate::Errno;

/// Sets `no_new_privs`: execve can no longer grant privileges (setuid bits, file capabilities).
///
/// Calls `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)` (3.5). Required before an unprivileged
/// `seccomp(SET_MODE_FILTER)` or `landlock_restrict_self`.
#[doc(alias = "PR_SET_NO_NEW_PRIVS")]
pub fn set_no_new_privs() -> Result<(), Errno> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1)
}

/// Whether `no_new_privs` is set on the calling thread.
///
/// Calls `prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)`.
#[doc(alias = "PR_GET_NO_NEW_PRIVS")]
pub fn no_new_privs() -> Result<bool, Errno> {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers.
    let ret = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    Errno::result(ret).map(|v| v == 1)
}

/// Asks for signal `sig` when the parent thread dies (0 clears it).
///
/// Calls `prctl(PR_SET_PDEATHSIG, sig)`. The signal fires when the *thread* that forked us
/// exits, not the whole parent process.
#[doc(alias = "PR_SET_PDEATHSIG")]
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong)
}

/// Makes the calling process a child subreaper: orphaned descendants are reparented to it
/// instead of to init, so they stay visible (and killable) after their parent exits.
///
/// Calls `prctl(PR_SET_CHILD_SUBREAPER, 1)` (3.4).
#[doc(alias = "PR_SET_CHILD_SUBREAPER")]
pub fn set_child_subreaper(on: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_CHILD_SUBREAPER, libc::c_ulong::from(on))
}

/// Sets the "dumpable" attribute (0 or 1): a non-dumpable process cannot be ptrace-attached
/// or have its memory read by processes of the same user, and dumps no core.
///
/// Calls `prctl(PR_SET_DUMPABLE, value)`.
#[doc(alias = "PR_SET_DUMPABLE")]
pub fn set_dumpable(dumpable: bool) -> Result<(), Errno> {
    prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(dumpable))
}

/// `SECBIT_*` from `<linux/securebits.h>`: `NOROOT` (root gets no capabilities from exec),
/// `NO_SETUID_FIXUP` (nor from uid changes), `NO_CAP_AMBIENT_RAISE`, each with its lock, and
/// `KEEP_CAPS` locked off. Bits 0-3 and 5-7; bit 8 and above are newer (6.14) and rejected by
/// older kernels.
const SECURE_NOROOT_LOCKED_ALL: libc::c_ulong = 0b1110_1111;

/// Drops every capability for good: the bounding set, ambient, inheritable, permitted and
/// effective sets are emptied, and the securebits make sure exec (of a setuid-root binary, or
/// as uid 0) can never give any back.
///
/// A process without capabilities (any ordinary user) has nothing to drop: then it only clears
/// the ambient set, which needs no privilege. Makes only `capget`, `capset` and `prctl` calls:
/// async-signal-safe, no allocation.
pub fn drop_all_capabilities() -> Result<(), Errno> {
    // _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set.
    let mut header = [0x2008_0522u32, 0];
    let mut data = [0u32; 6];
    // SAFETY: capget writes two `__user_cap_data_struct`s (6 u32s) into `data`.
    let r = unsafe { libc::syscall(libc::SYS_capget, header.as_mut_ptr(), data.as_mut_ptr()) };
    Errno::result(r)?;
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
    )?;
    if data.iter().all(|&w| w == 0) {
        return Ok(());
    }
    // The bounding set: drop every capability the kernel knows (EINVAL past the last one).
    for cap in 0..64 {
        match prctl(libc::PR_CAPBSET_DROP, cap) {
            Ok(()) | Err(Errno::EPERM) => {}
            Err(_) => break,
        }
    }
    prctl(libc::PR_SET_SECUREBITS, SECURE_NOROOT_LOCKED_ALL)?;
    let mut header = [0x2008_0522u32, 0];
    let zero = [0u32; 6];
    // SAFETY: capset reads two `__user_cap_data_struct`s from `zero`.
    let r = unsafe { libc::syscall(libc::SYS_capset, header.as_mut_ptr(), zero.as_ptr()) };
    Errno::result(r).map(drop)
}

fn prctl(option: i32, arg: libc::c_ulong) -> Result<(), Errno> {
    // SAFETY: the options used here take an integer, not a pointer.
    let ret = unsafe {
        libc::prctl(
            option,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    Errno::result(ret).map(drop)
}

/// Closes every fd from `first` to `last` inclusive.
///
/// Calls `close_range(first, last, flags)` (5.9); `flags` may be `CLOSE_RANGE_CLOEXEC` to mark
/// them close-on-exec instead. Async-signal-safe.
///
/// # Errors
/// `ENOSYS` on kernels before 5.9, `EINVAL` for bad flags or `first > last`.
pub fn close_range(first: u32, last: u32, flags: u32) -> Result<(), Errno> {
    // SAFETY: close_range takes three integers. Closing fds that other code holds as OwnedFd
    // is the caller's concern: this is meant for a fork child about to exec.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    Errno::result(ret).map(drop)
}

/// Reads `buf.len()` bytes at `remote_addr` in process `pid` into `buf`.
///
/// Calls `process_vm_readv(pid, [buf], 1, [remote], 1, 0)` (3.2). Needs ptrace-attach rights over
/// `pid`. A read that crosses into an unmapped page stops there: the returned count may be
/// short. Read page by page when the extent is unknown.
///
/// # Errors
/// `EFAULT` when `remote_addr` itself is unmapped, `ESRCH` when the process is gone, `EPERM`
/// without ptrace rights.
#[doc(alias = "process_vm_readv")]
pub fn process_vm_read(pid: libc::pid_t, remote_addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: remote_addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, which is valid for writes of its length; the remote
    // iovec is only interpreted in the other process's address space.
    let ret = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    Errno::result(ret).map(|n| n as usize)
}

/// Writes `buf` at `remote_addr` in process `pid`.
///
/// Calls `process_vm_writev(pid, [buf], 1, [remote], 1, 0)` (3.2). Needs ptrace-attach rights.
/// Writes stop at the first unwritable page; the returned count may be short.
#[doc(alias = "process_vm_writev")]
pub fn process_vm_write(pid: libc::pid_t, remote_addr: u64, buf: &[u8]) -> Result<usize, Errno> {
    let local = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: remote_addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, valid for reads of its length; the kernel only reads it.
    let ret = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    Errno::result(ret).map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_and_write_own_memory() {
        let src = *b"hello, sandlock";
        let mut dst = [0u8; 15];
        let me = std::process::id() as libc::pid_t;
        assert_eq!(process_vm_read(me, src.as_ptr() as u64, &mut dst), Ok(15));
        assert_eq!(&dst, &src);
        let mut target = [0u8; 5];
        assert_eq!(
            process_vm_write(me, target.as_mut_ptr() as u64, b"abcde"),
            Ok(5)
        );
        assert_eq!(&target, b"abcde");
        assert_eq!(process_vm_read(me, 0, &mut dst), Err(Errno::EFAULT));
    }
}

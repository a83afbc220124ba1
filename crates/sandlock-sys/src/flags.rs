//! Flag sets and constants of the seccomp, addfd and clone interfaces.

use bitflags::bitflags;

bitflags! {
    /// `SECCOMP_FILTER_FLAG_*`: flags of `seccomp(SECCOMP_SET_MODE_FILTER, ...)`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct FilterFlags: u32 {
        /// Synchronise all threads of the process onto this filter.
        const TSYNC = 1 << 0;
        /// Log every action but `ALLOW`.
        const LOG = 1 << 1;
        /// Do not enable speculative store bypass mitigation.
        const SPEC_ALLOW = 1 << 2;
        /// Return a user-notification listener fd (5.0).
        const NEW_LISTENER = 1 << 3;
        /// With `TSYNC`, report failure as `-ESRCH` so it can be combined with `NEW_LISTENER` (5.7).
        const TSYNC_ESRCH = 1 << 4;
        /// A notified task waits killably once the supervisor has received the notification (5.19).
        const WAIT_KILLABLE_RECV = 1 << 5;
    }
}

bitflags! {
    /// `SECCOMP_USER_NOTIF_FLAG_*`: flags of a notification response.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NotifRespFlags: u32 {
        /// Let the system call run as if it had not been intercepted (5.5).
        const CONTINUE = 1 << 0;
    }
}

bitflags! {
    /// `SECCOMP_ADDFD_FLAG_*`: flags of `SECCOMP_IOCTL_NOTIF_ADDFD`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct AddfdFlags: u32 {
        /// Install at `newfd` exactly, like `dup2` (5.9).
        const SETFD = 1 << 0;
        /// Install the fd and answer the notification with its number, atomically (5.14).
        const SEND = 1 << 1;
    }
}

bitflags! {
    /// `SECCOMP_USER_NOTIF_FD_*`: flags of `SECCOMP_IOCTL_NOTIF_SET_FLAGS`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NotifFdFlags: u64 {
        /// Wake the supervisor synchronously, hinting the scheduler to keep both on one CPU (6.6).
        const SYNC_WAKE_UP = 1 << 0;
    }
}

bitflags! {
    /// `CLONE_*` flags of `clone(2)`, `clone3(2)` and `unshare(2)`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct CloneFlags: u64 {
        /// Share the address space.
        const VM = 0x0000_0100;
        /// Share filesystem information.
        const FS = 0x0000_0200;
        /// Share the file descriptor table.
        const FILES = 0x0000_0400;
        /// Share signal handlers.
        const SIGHAND = 0x0000_0800;
        /// Return a pidfd for the child.
        const PIDFD = 0x0000_1000;
        /// Let tracing continue on the child.
        const PTRACE = 0x0000_2000;
        /// Suspend the parent until the child execs or exits.
        const VFORK = 0x0000_4000;
        /// The child's parent is the caller's parent.
        const PARENT = 0x0000_8000;
        /// Create a thread in the same thread group.
        const THREAD = 0x0001_0000;
        /// New mount namespace.
        const NEWNS = 0x0002_0000;
        /// Share System V semaphore undo values.
        const SYSVSEM = 0x0004_0000;
        /// Set the TLS descriptor.
        const SETTLS = 0x0008_0000;
        /// Store the child tid in the parent.
        const PARENT_SETTID = 0x0010_0000;
        /// Clear the child tid in the child at exit.
        const CHILD_CLEARTID = 0x0020_0000;
        /// Unused, ignored.
        const DETACHED = 0x0040_0000;
        /// Tracing cannot force `CLONE_PTRACE` on the child.
        const UNTRACED = 0x0080_0000;
        /// Store the child tid in the child.
        const CHILD_SETTID = 0x0100_0000;
        /// New cgroup namespace.
        const NEWCGROUP = 0x0200_0000;
        /// New UTS namespace.
        const NEWUTS = 0x0400_0000;
        /// New IPC namespace.
        const NEWIPC = 0x0800_0000;
        /// New user namespace.
        const NEWUSER = 0x1000_0000;
        /// New pid namespace.
        const NEWPID = 0x2000_0000;
        /// New network namespace.
        const NEWNET = 0x4000_0000;
        /// Share the I/O context.
        const IO = 0x8000_0000;
        /// `clone3` only: clear signal handlers in the child.
        const CLEAR_SIGHAND = 0x1_0000_0000;
        /// `clone3` only: start the child in the cgroup given by `cgroup`.
        const INTO_CGROUP = 0x2_0000_0000;
        /// New time namespace (shares its bit with `CSIGNAL`'s neighbour, 0x80).
        const NEWTIME = 0x0000_0080;
    }
}

impl CloneFlags {
    /// Every flag that creates a namespace.
    pub const NAMESPACES: CloneFlags = CloneFlags::NEWNS
        .union(CloneFlags::NEWCGROUP)
        .union(CloneFlags::NEWUTS)
        .union(CloneFlags::NEWIPC)
        .union(CloneFlags::NEWUSER)
        .union(CloneFlags::NEWPID)
        .union(CloneFlags::NEWNET)
        .union(CloneFlags::NEWTIME);
}

/// Seccomp filter return actions (`SECCOMP_RET_*`), highest precedence first.
pub mod ret {
    /// Kill the whole process.
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// Kill the calling thread.
    pub const KILL_THREAD: u32 = 0x0000_0000;
    /// Send `SIGSYS`.
    pub const TRAP: u32 = 0x0003_0000;
    /// Fail with the errno in the low 16 bits.
    pub const ERRNO: u32 = 0x0005_0000;
    /// Hand the call to the user-notification listener.
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// Notify a ptrace tracer, with the low 16 bits as message.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// Allow after logging.
    pub const LOG: u32 = 0x7ffc_0000;
    /// Allow.
    pub const ALLOW: u32 = 0x7fff_0000;
    /// Mask of the action part.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// Mask of the data part.
    pub const DATA: u32 = 0x0000_ffff;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_libc() {
        assert_eq!(
            FilterFlags::TSYNC.bits(),
            libc::SECCOMP_FILTER_FLAG_TSYNC as u32
        );
        assert_eq!(
            FilterFlags::LOG.bits(),
            libc::SECCOMP_FILTER_FLAG_LOG as u32
        );
        assert_eq!(
            FilterFlags::SPEC_ALLOW.bits(),
            libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32
        );
        assert_eq!(
            FilterFlags::NEW_LISTENER.bits(),
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32
        );
        assert_eq!(
            FilterFlags::TSYNC_ESRCH.bits(),
            libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as u32
        );
        assert_eq!(
            FilterFlags::WAIT_KILLABLE_RECV.bits(),
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32
        );
        assert_eq!(
            NotifRespFlags::CONTINUE.bits(),
            libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32
        );
        assert_eq!(
            AddfdFlags::SETFD.bits(),
            libc::SECCOMP_ADDFD_FLAG_SETFD as u32
        );
        assert_eq!(
            AddfdFlags::SEND.bits(),
            libc::SECCOMP_ADDFD_FLAG_SEND as u32
        );
        assert_eq!(ret::KILL_PROCESS, libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(ret::KILL_THREAD, libc::SECCOMP_RET_KILL_THREAD);
        assert_eq!(ret::TRAP, libc::SECCOMP_RET_TRAP);
        assert_eq!(ret::ERRNO, libc::SECCOMP_RET_ERRNO);
        assert_eq!(ret::USER_NOTIF, libc::SECCOMP_RET_USER_NOTIF);
        assert_eq!(ret::TRACE, libc::SECCOMP_RET_TRACE);
        assert_eq!(ret::LOG, libc::SECCOMP_RET_LOG);
        assert_eq!(ret::ALLOW, libc::SECCOMP_RET_ALLOW);
        for (ours, theirs) in [
            (CloneFlags::VM, libc::CLONE_VM),
            (CloneFlags::VFORK, libc::CLONE_VFORK),
            (CloneFlags::THREAD, libc::CLONE_THREAD),
            (CloneFlags::NEWNS, libc::CLONE_NEWNS),
            (CloneFlags::NEWCGROUP, libc::CLONE_NEWCGROUP),
            (CloneFlags::NEWUTS, libc::CLONE_NEWUTS),
            (CloneFlags::NEWIPC, libc::CLONE_NEWIPC),
            (CloneFlags::NEWUSER, libc::CLONE_NEWUSER),
            (CloneFlags::NEWPID, libc::CLONE_NEWPID),
            (CloneFlags::NEWNET, libc::CLONE_NEWNET),
            (CloneFlags::NEWTIME, libc::CLONE_NEWTIME),
            (CloneFlags::PIDFD, libc::CLONE_PIDFD),
            (CloneFlags::IO, libc::CLONE_IO),
        ] {
            assert_eq!(ours.bits(), theirs as u32 as u64, "{ours:?}");
        }
    }
}

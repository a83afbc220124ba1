//! What was actually opened: the check made on the object (after the open, before the fd
//! reaches the sandbox), and which processes are in the sandbox.

use std::os::fd::{AsRawFd, BorrowedFd};

use sandlock_sys::Errno;
use sandlock_sys::views::{PROC_SUPER_MAGIC, SECURITYFS_MAGIC, SYSFS_MAGIC, file_id, fs_type};

use super::path::{DENIED_PROC, DENIED_SYS, is_at_or_below, is_denied, proc_pid};

/// The denied objects of /proc, found once: their inode numbers (the same in every procfs
/// mount, as they come from the kernel's table of /proc entries).
#[derive(Debug, Default)]
pub(crate) struct DeniedObjects {
    proc_inos: Vec<u64>,
}

impl DeniedObjects {
    /// Looks the denied /proc entries up (those this kernel has).
    pub(crate) fn probe() -> DeniedObjects {
        use std::os::unix::fs::MetadataExt;
        let proc_inos = DENIED_PROC
            .iter()
            .filter_map(|name| std::fs::symlink_metadata(format!("/proc/{name}")).ok())
            .map(|m| m.ino())
            .collect();
        DeniedObjects { proc_inos }
    }
}

/// Checks the object `fd` refers to, opened on behalf of the sandbox whose init is
/// `init_pid`: `EACCES` for a denied object of /proc or /sys (by inode and by the kernel's own
/// name of it, not by the string the sandbox gave), `ENOENT` for /proc of a process outside
/// the sandbox.
pub(crate) fn check(
    fd: BorrowedFd<'_>,
    denied: &DeniedObjects,
    init_pid: i32,
) -> Result<(), Errno> {
    let kind = fs_type(fd)?;
    if kind == SECURITYFS_MAGIC {
        return Err(Errno::EACCES);
    }
    if kind != PROC_SUPER_MAGIC && kind != SYSFS_MAGIC {
        return Ok(());
    }
    if kind == PROC_SUPER_MAGIC && denied.proc_inos.contains(&file_id(fd)?.ino) {
        return Err(Errno::EACCES);
    }
    // The kernel's name of the object (d_path), not the caller's spelling. Unknown: deny.
    let name = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| Errno::EACCES)?;
    let name = name.as_os_str().as_encoded_bytes();
    if kind == SYSFS_MAGIC {
        return if DENIED_SYS
            .iter()
            .any(|d| is_at_or_below(name, d.as_bytes()))
        {
            Err(Errno::EACCES)
        } else {
            Ok(())
        };
    }
    // procfs mounted elsewhere than /proc: nothing to compare with, fail closed.
    if !is_at_or_below(name, b"/proc") || is_denied(name) {
        return Err(Errno::EACCES);
    }
    match proc_pid(name) {
        Some((pid, _)) if !in_sandbox(pid, init_pid) => Err(Errno::ENOENT),
        _ => Ok(()),
    }
}

/// What /proc/PID/status says of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskInfo {
    /// Its process (thread group).
    pub(crate) tgid: u32,
    /// Its process's parent.
    pub(crate) ppid: u32,
    /// Its file mode creation mask.
    pub(crate) umask: u32,
}

/// Reads /proc/PID/status of task `pid` (a thread or a process).
pub(crate) fn task_info(pid: u32) -> Option<TaskInfo> {
    let status = std::fs::read(format!("/proc/{pid}/status")).ok()?;
    parse_status(&status)
}

fn parse_status(status: &[u8]) -> Option<TaskInfo> {
    let field = |name: &[u8]| {
        status
            .split(|&b| b == b'\n')
            .find_map(|line| line.strip_prefix(name))
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
    };
    Some(TaskInfo {
        tgid: field(b"Tgid:")?.parse().ok()?,
        ppid: field(b"PPid:")?.parse().ok()?,
        umask: field(b"Umask:")
            .and_then(|u| u32::from_str_radix(u, 8).ok())
            .unwrap_or(0o022),
    })
}

/// Whether task `pid` belongs to the sandbox: its process descends from the sandbox's init
/// (the init itself shares the supervisor's memory, so it is not "in").
pub(crate) fn in_sandbox(pid: u32, init_pid: i32) -> bool {
    let Ok(init) = u32::try_from(init_pid) else {
        return false;
    };
    let mut task = task_info(pid);
    // A chain longer than this is not a process tree (or is changing under us): deny.
    for _ in 0..4096 {
        let Some(t) = task else {
            return false;
        };
        if t.tgid == init {
            return false;
        }
        if t.ppid == init {
            return true;
        }
        if t.ppid <= 1 {
            return false;
        }
        task = task_info(t.ppid);
    }
    false
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn status_fields() {
        let s = b"Name:\tsh\nUmask:\t0027\nState:\tS\nTgid:\t42\nNgid:\t0\nPid:\t43\nPPid:\t7\n";
        assert_eq!(
            parse_status(s),
            Some(TaskInfo {
                tgid: 42,
                ppid: 7,
                umask: 0o027
            })
        );
        assert_eq!(parse_status(b"garbage"), None);
        let me = task_info(std::process::id()).unwrap();
        assert_eq!(me.tgid, std::process::id());
    }

    #[test]
    fn membership_follows_the_tree() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        assert!(in_sandbox(child.id(), me));
        assert!(!in_sandbox(me as u32, me));
        assert!(!in_sandbox(1, me));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn objects_are_judged_by_what_they_are() {
        let denied = DeniedObjects::probe();
        let me = std::process::id() as i32;
        let own = std::fs::File::open("/proc/self/status").unwrap();
        // This process is not below itself: its /proc is "outside".
        assert_eq!(check(own.as_fd(), &denied, me), Err(Errno::ENOENT));
        let cpuinfo = std::fs::File::open("/proc/cpuinfo").unwrap();
        assert_eq!(check(cpuinfo.as_fd(), &denied, me), Ok(()));
        if let Ok(k) = std::fs::File::open("/proc/kallsyms") {
            assert_eq!(check(k.as_fd(), &denied, me), Err(Errno::EACCES));
        }
        let etc = std::fs::File::open("/etc").unwrap();
        assert_eq!(check(etc.as_fd(), &denied, me), Ok(()));
        if let Ok(fw) = std::fs::File::open("/sys/firmware") {
            assert_eq!(check(fw.as_fd(), &denied, me), Err(Errno::EACCES));
        }
    }
}

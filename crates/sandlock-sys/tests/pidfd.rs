//! Kernel tests of `PidFd`: open, signal, wait and `pidfd_getfd`.

mod util;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::{Child, Command};

use sandlock_sys::Errno;
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::pidfd::{PidFd, WaitStatus};

fn have_pidfd() -> bool {
    util::have(KernelFeatures::get().pidfd_open, "pidfd_open")
}

/// Spawns `argv`. The caller reaps it through a pidfd, never through `Child::wait`.
fn spawn(argv: &[&str]) -> (Child, PidFd) {
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .spawn()
        .expect("spawn");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    let pidfd = PidFd::open(pid, 0).expect("pidfd_open of our child");
    (child, pidfd)
}

#[test]
fn kill_and_reap_a_child() {
    if !have_pidfd() {
        return;
    }
    let (_child, pidfd) = spawn(&["sleep", "1000"]);
    assert_eq!(
        pidfd.wait(libc::WEXITED | libc::WNOHANG),
        Ok(WaitStatus::StillAlive)
    );
    pidfd.send_signal(libc::SIGKILL).expect("pidfd_send_signal");
    assert_eq!(
        pidfd.wait(libc::WEXITED),
        Ok(WaitStatus::Signaled {
            signal: libc::SIGKILL,
            core_dumped: false
        })
    );
    // Reaped: a second wait finds no child, and the process can no longer be signalled.
    assert_eq!(pidfd.wait(libc::WEXITED), Err(Errno::ECHILD));
    assert_eq!(pidfd.send_signal(libc::SIGKILL), Err(Errno::ESRCH));
}

#[test]
fn wait_reports_the_exit_code() {
    if !have_pidfd() {
        return;
    }
    let (_child, pidfd) = spawn(&["sh", "-c", "exit 3"]);
    assert_eq!(pidfd.wait(libc::WEXITED), Ok(WaitStatus::Exited(3)));
}

#[test]
fn wait_nowait_leaves_the_child_unreaped() {
    if !have_pidfd() {
        return;
    }
    let (_child, pidfd) = spawn(&["true"]);
    assert_eq!(
        pidfd.wait(libc::WEXITED | libc::WNOWAIT),
        Ok(WaitStatus::Exited(0))
    );
    assert_eq!(pidfd.wait(libc::WEXITED), Ok(WaitStatus::Exited(0)));
}

#[test]
fn open_errors() {
    if !have_pidfd() {
        return;
    }
    assert_eq!(PidFd::open(-1, 0).err(), Some(Errno::EINVAL));
    // Above any pid_max (at most 2^22), so no such process.
    assert_eq!(PidFd::open(libc::pid_t::MAX, 0).err(), Some(Errno::ESRCH));
    let me = PidFd::open(std::process::id() as libc::pid_t, 0).expect("pidfd_open(self)");
    // We are not our own child.
    assert_eq!(me.wait(libc::WEXITED | libc::WNOHANG), Err(Errno::ECHILD));
}

#[test]
fn get_fd_of_self() {
    if !have_pidfd() || !util::have(KernelFeatures::get().pidfd_getfd, "pidfd_getfd") {
        return;
    }
    let me = PidFd::open(std::process::id() as libc::pid_t, 0).expect("pidfd_open(self)");
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let copy = me.get_fd(writer.as_raw_fd()).expect("pidfd_getfd");
    assert_ne!(copy.as_raw_fd(), writer.as_raw_fd());
    drop(writer);
    let mut copy = std::fs::File::from(copy);
    copy.write_all(b"through the copy").expect("write");
    drop(copy);
    let mut got = String::new();
    reader.read_to_string(&mut got).expect("read");
    assert_eq!(got, "through the copy");
    // Far above any fd this process has open.
    assert_eq!(me.get_fd(1 << 20).err(), Some(Errno::EBADF));
}

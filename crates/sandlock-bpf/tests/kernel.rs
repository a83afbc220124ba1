//! Compiled filters in the kernel: denials, user notification and foreign-ABI calls.
//!
//! Each test re-executes this test binary as a child (`--exact <name>`, with [`CASE_ENV`] set)
//! and the child installs the filter, so the test harness itself is never filtered.
#![forbid(unsafe_code)]

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use sandlock_bpf::{Action, Filter, default_policy};
use sandlock_sys::flags::{FilterFlags, ret};
use sandlock_sys::seccomp::{self, NotifBuf, NotifFd};
use sandlock_sys::structs::SeccompNotifResp;
use sandlock_sys::{Arch, process, scm};

/// Tells a re-executed test binary which child case to run.
const CASE_ENV: &str = "SANDLOCK_BPF_KERNEL_CASE";

/// What the notified `getppid` returns.
const ANSWER: i64 = 4242;

/// Runs `body` if this process is the child of test `name`, then exits with its code.
fn child_case(name: &str, body: fn() -> Result<(), String>) {
    if std::env::var(CASE_ENV).as_deref() == Ok(name) {
        let code = match body() {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("child {name}: {e}");
                1
            }
        };
        std::process::exit(code);
    }
}

/// Re-executes this binary to run child case `name`, with `stdin` as its standard input.
fn spawn_child(name: &str, stdin: Option<OwnedFd>) -> Child {
    let exe = std::env::current_exe().expect("current_exe");
    Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CASE_ENV, name)
        .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child test")
}

fn finish(child: Child) -> (ExitStatus, String) {
    let out = child.wait_with_output().expect("wait for the child");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    (out.status, text.into_owned())
}

fn skip(reason: &str) {
    if std::env::var("SANDLOCK_TEST_REQUIRE").as_deref() == Ok("all") {
        panic!("skipped: needs {reason}, but SANDLOCK_TEST_REQUIRE=all");
    }
    println!("skipped: needs {reason}");
}

fn install(filter: &Filter, flags: FilterFlags) -> Result<Option<OwnedFd>, String> {
    let prog = filter.compile().map_err(|e| format!("compile: {e}"))?;
    process::set_no_new_privs().map_err(|e| format!("no_new_privs: {e}"))?;
    seccomp::install_filter(&prog, flags).map_err(|e| format!("install: {e}"))
}

fn expect_errno(what: &str, r: std::io::Result<()>, errno: i32) -> Result<(), String> {
    match r {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        other => Err(format!("{what}: expected errno {errno}, got {other:?}")),
    }
}

// (1) Denied calls fail with their errno; the rest still work.

fn denied_child() -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("sandlock-bpf-kernel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir: {e}"))?;
    let file = dir.join("f");
    let handle = std::fs::File::create(&file).map_err(|e| format!("create: {e}"))?;

    let mut f = default_policy(Arch::NATIVE).map_err(|e| e.to_string())?;
    // An extra denial, as the facade adds them: mkdir with an unusual errno.
    let erofs = libc::EROFS as u16;
    f.deny("mkdirat", erofs).map_err(|e| e.to_string())?;
    if Arch::NATIVE == Arch::X86_64 {
        f.deny("mkdir", erofs).map_err(|e| e.to_string())?;
    }
    install(&f, FilterFlags::empty())?;

    let perms = std::fs::Permissions::from_mode;
    let result = (|| {
        // chmod/fchmodat (path) and fchmod (fd) with set-id bits are denied, without are not.
        expect_errno(
            "chmod u+s",
            std::fs::set_permissions(&file, perms(0o4755)),
            libc::EPERM,
        )?;
        expect_errno(
            "fchmod g+s",
            handle.set_permissions(perms(0o2755)),
            libc::EPERM,
        )?;
        std::fs::set_permissions(&file, perms(0o700)).map_err(|e| format!("chmod 700: {e}"))?;
        handle
            .set_permissions(perms(0o600))
            .map_err(|e| format!("fchmod 600: {e}"))?;
        expect_errno("mkdir", std::fs::create_dir(dir.join("d")), libc::EROFS)?;
        // Allowed calls still work, sockets of the allowed families included.
        std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp socket: {e}"))?;
        // clone3 fails with ENOSYS, so libc's spawn falls back to clone, whose flags the
        // filter can see: spawning must still work.
        let status = Command::new("/bin/true")
            .status()
            .map_err(|e| format!("spawn: {e}"))?;
        if !status.success() {
            return Err(format!("/bin/true: {status}"));
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir(&dir);
    result
}

#[test]
fn denied_syscalls_return_errno() {
    child_case("denied_syscalls_return_errno", denied_child);
    let (status, out) = finish(spawn_child("denied_syscalls_return_errno", None));
    assert!(status.success(), "{status}\n{out}");
}

// (2) A notified call blocks until the supervisor (here the parent test) answers it.

fn notify_child() -> Result<(), String> {
    let mut f = Filter::new(Arch::NATIVE, Action::Allow).map_err(|e| e.to_string())?;
    f.notify("getppid").map_err(|e| e.to_string())?;
    let listener = install(&f, FilterFlags::NEW_LISTENER)?.ok_or("no listener fd")?;
    // sendmsg is not intercepted, so handing over the listener cannot deadlock.
    scm::send_with_fd(std::io::stdin().as_fd(), b"L", Some(&listener))
        .map_err(|e| format!("send listener: {e}"))?;
    // The sandboxee must not keep its own listener: it could answer itself.
    drop(listener);
    let ppid = std::os::unix::process::parent_id();
    if i64::from(ppid) != ANSWER {
        return Err(format!("getppid returned {ppid}, expected {ANSWER}"));
    }
    Ok(())
}

#[test]
fn notified_syscall_waits_for_the_supervisor() {
    child_case("notified_syscall_waits_for_the_supervisor", notify_child);
    if seccomp::action_avail(ret::USER_NOTIF).is_err() {
        return skip("seccomp user notification (Linux 5.0)");
    }
    let (ours, theirs) = scm::seqpacket_pair().expect("socketpair");
    let child = spawn_child("notified_syscall_waits_for_the_supervisor", Some(theirs));
    let mut buf = [0u8; 8];
    let (n, fd) = scm::recv_with_fd(&ours, &mut buf).expect("recv listener");
    let Some(fd) = fd else {
        let (status, out) = finish(child);
        panic!("no listener received ({n} bytes); child {status}\n{out}");
    };
    let listener = NotifFd::new(fd);
    // A generous bound only so that a broken child cannot hang the suite.
    let ready = sandlock_sys::poll::wait_readable(&listener, Some(Duration::from_secs(60)))
        .expect("poll listener");
    assert!(ready, "listener never became readable");
    let sizes = seccomp::notif_sizes().expect("notif sizes");
    let mut nbuf = NotifBuf::new(&sizes);
    let notif = listener.recv(&mut nbuf).expect("recv notification");
    let getppid = Arch::NATIVE.syscall_nr("getppid").unwrap();
    assert_eq!(notif.data.nr as u32, getppid);
    assert_eq!(notif.data.arch, Arch::NATIVE.audit_arch());
    let resp = SeccompNotifResp {
        id: notif.id,
        val: ANSWER,
        error: 0,
        flags: 0,
    };
    listener.send(&resp).expect("send response");
    let (status, out) = finish(child);
    assert!(status.success(), "{status}\n{out}");
}

// (3) Foreign ABIs: i386 `int 0x80` is killed, x32 numbers get the x32 action.

#[cfg(target_arch = "x86_64")]
fn i386_child() -> Result<(), String> {
    use sandlock_sys::compat::{NoArgCall, i386_syscall0};
    install(
        &default_policy(Arch::X86_64).map_err(|e| e.to_string())?,
        FilterFlags::empty(),
    )?;
    let r = i386_syscall0(NoArgCall::Getpid);
    Err(format!(
        "i386 getpid returned {r} instead of killing the process"
    ))
}

#[cfg(target_arch = "x86_64")]
#[test]
fn i386_call_is_killed() {
    use sandlock_sys::compat::{NoArgCall, i386_syscall0};
    child_case("i386_call_is_killed", i386_child);
    // Probed in the unfiltered harness: a kernel without ia32 emulation cannot run the test.
    if i386_syscall0(NoArgCall::Getpid) != i64::from(std::process::id()) {
        return skip("ia32 emulation");
    }
    let (status, out) = finish(spawn_child("i386_call_is_killed", None));
    assert_eq!(status.signal(), Some(libc::SIGSYS), "{status}\n{out}");
}

#[cfg(target_arch = "x86_64")]
fn x32_child() -> Result<(), String> {
    use sandlock_sys::compat::{NoArgCall, x32_syscall0};
    let mut f = default_policy(Arch::X86_64).map_err(|e| e.to_string())?;
    // An errno that the kernel itself never gives for getpid, to see the filter decide.
    f.set_x32_action(Action::Errno(libc::EXDEV as u16))
        .map_err(|e| e.to_string())?;
    install(&f, FilterFlags::empty())?;
    let r = x32_syscall0(NoArgCall::Getpid);
    if r != -i64::from(libc::EXDEV) {
        return Err(format!("x32 getpid returned {r}, expected -EXDEV"));
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_call_gets_the_x32_action() {
    child_case("x32_call_gets_the_x32_action", x32_child);
    let (status, out) = finish(spawn_child("x32_call_gets_the_x32_action", None));
    assert!(status.success(), "{status}\n{out}");
}

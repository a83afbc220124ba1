//! Attack battery, escape-from-supervision group: stopping, tracing or outliving the processes
//! that hold the sandbox together (the supervisor and its init), injecting input into the
//! caller's terminal, and reaching the seccomp listener.
//!
//! Not repeated here: cli.rs already shows that SIGKILL of the supervisor and `--timeout` end a
//! `setsid` grandchild (`supervisor_death_kills_the_whole_tree`, `timeout_*`). The daemon test
//! below is the attacker's fuller version (double fork, setsid, signals ignored).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sandlock::KernelFeatures;
use sandlock_tests::{run, sandlock_bin, text};

mod common;
use common::{
    DEFAULT_PROFILE, PY, assert_healthy, assert_status_reports_missing, bare, bare_command, expect,
    program, refused_without_landlock, sandboxed, sandboxed_command, sandboxed_with_proc,
};

/// Landlock IPC scoping (ABI 6) is what keeps signals inside the sandbox. Without it (asserted
/// by the tests below) the sandbox can signal the init and the supervisor, which ends only
/// itself, and its own user's processes outside; the status says scoping is missing.
fn ipc_scoping() -> bool {
    let scoped = KernelFeatures::get().effective_landlock_abi() >= 6;
    if !scoped {
        assert_status_reports_missing(IPC_SCOPING);
    }
    scoped
}

const IPC_SCOPING: &str = "IPC scoping of abstract unix sockets and signals (ABI 6)";

/// Bare: a process SIGKILLs its parent (a sacrificial middle process of the same user). In the
/// sandbox: SIGKILL, SIGTERM, SIGSTOP and the probe signal 0 to the init and to the supervisor
/// are EPERM, and both carry on (sandlock reports the command's exit code as usual).
#[test]
fn escape_signal_the_init_and_the_supervisor() {
    let scoped = ipc_scoping();
    // The killer reports through a pipe in one write, so that the lines come in order.
    let bare_body = "import signal\n\
        r, w = os.pipe()\n\
        middle = os.fork()\n\
        if middle == 0:\n    \
            if os.fork() == 0:\n        \
                try:\n            os.kill(os.getppid(), signal.SIGKILL)\n            res = 'ok'\n        \
                except OSError as e:\n            res = name(e.errno)\n        \
                os.write(w, ('kill(parent, SIGKILL): ' + res).encode())\n        \
                os._exit(0)\n    \
            os.wait()\n    \
            os._exit(0)\n\
        os.close(w)\n\
        _, status = os.waitpid(middle, 0)\n\
        print(os.read(r, 100).decode())\n\
        print('parent killed by signal %d' % os.WTERMSIG(status))\n";
    expect(
        &bare(bare_body),
        0,
        &["kill(parent, SIGKILL): ok", "parent killed by signal 9"],
    );
    if !scoped {
        // Unscoped, the probe signal reaches both (a SIGKILL would end this sandbox).
        let body = "init = os.getppid()\n\
            sup = ppid_of(init)\n\
            print('supervisor: ' + comm(sup))\n\
            for who, pid in (('init', init), ('supervisor', sup)):\n    \
                attempt('kill(%s, 0)' % who, lambda: os.kill(pid, 0))\n\
            sys.exit(5)\n";
        expect(
            &sandboxed_with_proc(&[], body),
            5,
            &[
                "supervisor: hidden",
                "kill(init, 0): ok",
                "kill(supervisor, 0): ok",
            ],
        );
        assert_healthy();
        return;
    }
    let body = "import signal\n\
        init = os.getppid()\n\
        sup = ppid_of(init)\n\
        print('supervisor: ' + comm(sup))\n\
        for who, pid in (('init', init), ('supervisor', sup)):\n    \
            for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, 0):\n        \
                attempt('kill(%s, %d)' % (who, sig), lambda: os.kill(pid, sig))\n\
        print('still here')\n\
        sys.exit(5)\n";
    let out = sandboxed_with_proc(&[], body);
    expect(
        &out,
        5,
        &[
            "supervisor: hidden",
            "kill(init, 9): EPERM",
            "kill(init, 15): EPERM",
            "kill(init, 19): EPERM",
            "kill(init, 0): EPERM",
            "kill(supervisor, 9): EPERM",
            "kill(supervisor, 15): EPERM",
            "kill(supervisor, 19): EPERM",
            "kill(supervisor, 0): EPERM",
            "still here",
        ],
    );
    assert_healthy();
}

/// The shell spelling, with the default profile: `kill -9 $PPID` targets the init.
#[test]
fn escape_shell_kill_9_ppid() {
    let scoped = ipc_scoping();
    // Bare, the inner shell kills the outer one: 128 + SIGKILL.
    let bare = Command::new("sh")
        .args(["-c", "sh -c 'kill -9 $PPID'; echo survived"])
        .output()
        .unwrap();
    assert_eq!(bare.status.code(), None, "{}", text(&bare));
    assert!(bare.stdout.is_empty(), "{}", text(&bare));
    let out = run(&["run", "-e", "kill -9 $PPID; echo rc=$?; exit 4"]);
    if !scoped {
        // Unscoped, the shell kills its init, and the whole sandbox ends with it: sandlock
        // reports the kill, not the shell's exit 4 (the shell may still print before the
        // tree is killed).
        assert_eq!(
            out.status.code(),
            Some(128 + libc::SIGKILL),
            "{}",
            text(&out)
        );
        assert_healthy();
        return;
    }
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "rc=1\n",
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
    assert_healthy();
}

/// `kill -9 -1` signals every process the caller may signal. Inside the sandbox that is the
/// sandbox's own processes only: a bystander of the same user outside it, the supervisor and
/// this test runner survive. Not run bare: it would kill every process of this user.
///
/// For safety the program first checks that it cannot signal the bystander (signal 0); only
/// then does it send SIGKILL to -1.
#[test]
fn escape_kill_minus_one() {
    let scoped = ipc_scoping();
    let mut bystander = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let body = format!(
        "import signal\n\
         BYSTANDER = {}\n\
         r, w = os.pipe()\n\
         sibling = os.fork()\n\
         if sibling == 0:\n    os.read(r, 1)\n    os._exit(0)\n\
         attempt('kill(bystander, 0)', lambda: os.kill(BYSTANDER, 0))\n\
         try:\n    os.kill(BYSTANDER, 0)\n    print('unsafe: the bystander is reachable, not trying -1')\n    \
             os.kill(sibling, signal.SIGKILL)\n    os.waitpid(sibling, 0)\n    sys.exit(1)\n\
         except PermissionError:\n    pass\n\
         attempt('kill(-1, SIGKILL)', lambda: os.kill(-1, signal.SIGKILL))\n\
         _, status = os.waitpid(sibling, 0)\n\
         print('sandbox sibling killed by signal %d' % os.WTERMSIG(status))\n",
        bystander.id()
    );
    let out = sandboxed(DEFAULT_PROFILE, &body);
    let alive = bystander.try_wait().unwrap().is_none();
    bystander.kill().unwrap();
    bystander.wait().unwrap();
    if !scoped {
        // Unscoped, the bystander is reachable, so the program stops before kill(-1).
        expect(
            &out,
            1,
            &[
                "kill(bystander, 0): ok",
                "unsafe: the bystander is reachable, not trying -1",
            ],
        );
        assert!(alive);
        assert_healthy();
        return;
    }
    expect(
        &out,
        0,
        &[
            "kill(bystander, 0): EPERM",
            "kill(-1, SIGKILL): ok",
            "sandbox sibling killed by signal 9",
        ],
    );
    assert!(alive, "the bystander outside the sandbox survived");
    assert_healthy();
}

/// ptrace of the supervisor (or the init, which shares its memory) would let the sandbox run
/// code in the supervisor. Bare, a process attaches to its own child.
#[test]
fn escape_ptrace_the_supervisor() {
    // PTRACE_ATTACH 16, PTRACE_DETACH 17, PTRACE_SEIZE 0x4206.
    let nr = format!("SYS_ptrace = {}\n", libc::SYS_ptrace);
    let bare_body = format!(
        "{nr}child = os.fork()\n\
         if child == 0:\n    import time\n    time.sleep(60)\n    os._exit(0)\n\
         e = sc(SYS_ptrace, 16, child, 0, 0)[1]\n\
         say('ptrace(PTRACE_ATTACH, child)', e)\n\
         if e == 0:\n    os.waitpid(child, 0)\n    sc(SYS_ptrace, 17, child, 0, 0)\n\
         os.kill(child, 9)\n\
         os.waitpid(child, 0)\n"
    );
    let bare_line = if common::may_trace_child() {
        "ptrace(PTRACE_ATTACH, child): ok"
    } else {
        "ptrace(PTRACE_ATTACH, child): EPERM"
    };
    expect(&bare(&bare_body), 0, &[bare_line]);
    let body = format!(
        "{nr}init = os.getppid()\n\
         sup = ppid_of(init)\n\
         print('supervisor: ' + comm(sup))\n\
         for who, pid in (('init', init), ('supervisor', sup)):\n    \
             say('ptrace(PTRACE_ATTACH, %s)' % who, sc(SYS_ptrace, 16, pid, 0, 0)[1])\n    \
             say('ptrace(PTRACE_SEIZE, %s)' % who, sc(SYS_ptrace, 0x4206, pid, 0, 0)[1])\n"
    );
    expect(
        &sandboxed_with_proc(&[], &body),
        0,
        &[
            "supervisor: hidden",
            "ptrace(PTRACE_ATTACH, init): EPERM",
            "ptrace(PTRACE_SEIZE, init): EPERM",
            "ptrace(PTRACE_ATTACH, supervisor): EPERM",
            "ptrace(PTRACE_SEIZE, supervisor): EPERM",
        ],
    );
    assert_healthy();
}

/// A proper daemon: fork, setsid, fork again, the middle exits, SIGTERM/SIGHUP/SIGINT
/// ignored, stdio on /dev/null, then `sleep MARKER`. It prints its pid first.
fn daemon(marker: &str) -> String {
    format!(
        "import signal\n\
         if os.fork() == 0:\n    \
             os.setsid()\n    \
             if os.fork() == 0:\n        \
                 for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n            \
                     signal.signal(s, signal.SIG_IGN)\n        \
                 print('daemon %d' % os.getpid())\n        \
                 sys.stdout.flush()\n        \
                 null = os.open('/dev/null', os.O_RDWR)\n        \
                 for fd in (0, 1, 2):\n            os.dup2(null, fd)\n        \
                 os.execv('/bin/sleep', ['sleep', '{marker}'])\n    \
             os._exit(0)\n\
         os.wait()\n"
    )
}

/// The daemon's pid from the first line of `reader`.
fn daemon_pid(reader: impl std::io::Read) -> u32 {
    let mut line = String::new();
    BufReader::new(reader).read_line(&mut line).unwrap();
    line.trim()
        .strip_prefix("daemon ")
        .unwrap_or_else(|| panic!("no daemon pid in {line:?}"))
        .parse()
        .unwrap()
}

/// Whether `pid` is a live (not zombie) process running `sleep MARKER`.
fn running(pid: u32, marker: &str) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = state
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    String::from_utf8_lossy(&cmdline).contains(marker) && !zombie
}

/// Waits up to 5 s for `pid` to stop running `sleep MARKER`.
fn ends(pid: u32, marker: &str) -> bool {
    wait_for(|| !running(pid, marker))
}

/// Waits up to 5 s for `pid` to run `sleep MARKER` (it prints its pid before the exec).
fn starts(pid: u32, marker: &str) -> bool {
    wait_for(|| running(pid, marker))
}

/// Polls `cond` every 10 ms for up to 5 s.
fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// A sandlock run that is SIGKILLed (taking its sandbox with it) if the test fails before
/// reaping it, so that a failure leaves no processes behind.
struct Reaped(Option<std::process::Child>);

impl Reaped {
    fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("not reaped yet")
    }

    fn wait(&mut self) -> std::process::Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Bare, the daemon outlives the program that started it. Under sandlock it does not outlive
/// a SIGTERM to the supervisor (which stops the sandbox, says so and exits 128 + 15), nor
/// `--timeout`.
#[test]
fn escape_daemon_outlives_neither_a_kill_nor_a_timeout() {
    let marker = |n: u32| format!("{}.{n}", 4000 + std::process::id() % 1000);
    // Bare.
    let m = marker(1);
    let out = bare_command(&daemon(&m)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let pid = daemon_pid(&out.stdout[..]);
    let outlived = starts(pid, &m);
    // Our own daemon, ended by its pid.
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(outlived, "bare, the daemon outlives its starter");
    assert!(ends(pid, &m));

    let spawn = |args: &[&str], m: &str| {
        let body = format!("{}import time\ntime.sleep(60)\n", daemon(m));
        let mut run = Reaped(Some(
            sandboxed_command(args, &body)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ));
        let pid = daemon_pid(run.child().stdout.take().unwrap());
        assert!(starts(pid, m), "the daemon started in the sandbox");
        (run, pid)
    };

    // A SIGTERM to the supervisor.
    let m = marker(2);
    let (mut run, pid) = spawn(DEFAULT_PROFILE, &m);
    let killed = Command::new("kill")
        .args(["-TERM", &run.child().id().to_string()])
        .status();
    assert!(
        killed.is_ok_and(|s| s.success()),
        "SIGTERM sent to the supervisor"
    );
    let out = run.wait();
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("stopped by signal 15; the sandbox was killed"),
        "{}",
        text(&out)
    );
    assert!(ends(pid, &m), "the daemon died with the sandbox");

    // --timeout: long enough for python to start and print the pid first, even under TCG
    // on a loaded machine (1 s and 3 s were not).
    let m = marker(3);
    let (mut run, pid) = spawn(&["-t", "10"], &m);
    let out = run.wait();
    assert_eq!(out.status.code(), Some(124), "{}", text(&out));
    assert!(ends(pid, &m), "the daemon died at the timeout");
    assert_healthy();
}

/// TIOCSTI pushes bytes into a terminal's input queue: commands typed into the caller's shell
/// once the sandbox ends. The driver runs the injector on a fresh pty as its controlling
/// terminal (where the kernel allows TIOCSTI to any user while dev.tty.legacy_tiocsti is 1),
/// bare or under sandlock, and reports the ioctl's result and the bytes then pending on the
/// terminal (FIONREAD, no waiting). It injects a newline: in canonical mode FIONREAD counts
/// only complete lines.
#[test]
fn escape_tiocsti_into_the_terminal() {
    const INJECT: &str = "import fcntl, termios\n\
        attempt('ioctl(0, TIOCSTI)', lambda: fcntl.ioctl(0, termios.TIOCSTI, b'\\n'))\n\
        n = struct.unpack('i', fcntl.ioctl(0, termios.FIONREAD, b'\\0\\0\\0\\0'))[0]\n\
        print('pending input: %d' % n)\n";
    const DRIVER: &str = r#"
import os, pty, sys
argv = sys.argv[1:]
pid, master = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
# The terminal echoes the injected byte into the output, so find each line's start.
for line in out.decode(errors="replace").replace("\r", "").split("\n"):
    for start in ("ioctl", "pending"):
        if start in line:
            print(line[line.index(start):])
print("exit %d" % os.waitstatus_to_exitcode(status))
"#;
    let legacy = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti")
        .map_or(true, |s| s.trim() == "1");
    let inject = program(INJECT);
    let out = Command::new(PY)
        .args(["-c", DRIVER, PY, "-c", &inject])
        .output()
        .unwrap();
    if legacy {
        expect(
            &out,
            0,
            &["ioctl(0, TIOCSTI): ok", "pending input: 1", "exit 0"],
        );
    } else {
        // Without legacy TIOCSTI only CAP_SYS_ADMIN may; the sandboxed half still holds.
        println!("bare half skipped: dev.tty.legacy_tiocsti is 0");
    }
    let bin = sandlock_bin();
    let out = Command::new(PY)
        .args(["-c", DRIVER, bin.to_str().unwrap(), "run"])
        .args(common::degraded())
        .args(["--", PY, "-c", &inject])
        .output()
        .unwrap();
    expect(
        &out,
        0,
        &["ioctl(0, TIOCSTI): EPERM", "pending input: 0", "exit 0"],
    );
    assert_healthy();
}

/// The seccomp listener lives in the supervisor only. The sandbox cannot find it among its own
/// fds, see what the init's or the supervisor's fds are (their numbers are listable by the same
/// user; the links are not), or copy one with pidfd_getfd, which works bare on one's own child.
#[test]
fn escape_reach_the_seccomp_listener() {
    if refused_without_landlock() {
        return;
    }
    let nr = format!(
        "SYS_pidfd_open = {}\nSYS_pidfd_getfd = {}\n",
        libc::SYS_pidfd_open,
        libc::SYS_pidfd_getfd
    );
    let bare_body = format!(
        "{nr}r, w = os.pipe()\n\
         child = os.fork()\n\
         if child == 0:\n    os.read(r, 1)\n    os._exit(0)\n\
         pidfd, _ = sc(SYS_pidfd_open, child, 0)\n\
         say('pidfd_getfd(child, its pipe)', sc(SYS_pidfd_getfd, pidfd, w, 0)[1])\n\
         os.write(w, b'x')\n\
         os.waitpid(child, 0)\n"
    );
    let bare_line = if common::may_trace_child() {
        "pidfd_getfd(child, its pipe): ok"
    } else {
        "pidfd_getfd(child, its pipe): EPERM"
    };
    expect(&bare(&bare_body), 0, &[bare_line]);
    let body = format!(
        "{nr}import fcntl\n\
         links = []\n\
         for fd in os.listdir('/proc/self/fd'):\n    \
             try:\n        links.append(os.readlink('/proc/self/fd/' + fd))\n    \
             except OSError:\n        pass\n\
         print('seccomp fds: %d' % sum('seccomp' in l for l in links))\n\
         def is_open(fd):\n    \
             try:\n        fcntl.fcntl(fd, fcntl.F_GETFD)\n        return True\n    \
             except OSError:\n        return False\n\
         print('open fds: %s' % [fd for fd in range(4096) if is_open(fd)])\n\
         init = os.getppid()\n\
         sup = ppid_of(init)\n\
         print('supervisor: ' + comm(sup))\n\
         for who, pid in (('init', init), ('supervisor', sup)):\n    \
             seen = set()\n    \
             try:\n        fds = os.listdir('/proc/%d/fd' % pid)\n    \
             except OSError as e:\n        fds = []\n        seen.add(name(e.errno))\n    \
             for fd in fds:\n        \
                 try:\n            os.readlink('/proc/%d/fd/%s' % (pid, fd))\n            seen.add('ok')\n        \
                 except OSError as e:\n            seen.add(name(e.errno))\n    \
             print('readlink(/proc/%s/fd/*): %s' % (who, ' '.join(sorted(seen)) or 'none listed'))\n    \
             pidfd, e = sc(SYS_pidfd_open, pid, 0)\n    \
             say('pidfd_open(%s)' % who, e)\n    \
             got = sorted(set(name(sc(SYS_pidfd_getfd, pidfd, fd, 0)[1]) for fd in range(256)))\n    \
             print('pidfd_getfd(%s, 0..255): %s' % (who, ' '.join(got)))\n"
    );
    expect(
        &sandboxed_with_proc(&[], &body),
        0,
        &[
            "seccomp fds: 0",
            "open fds: [0, 1, 2]",
            "supervisor: hidden",
            "readlink(/proc/init/fd/*): ENOENT",
            "pidfd_open(init): ok",
            "pidfd_getfd(init, 0..255): EPERM",
            "readlink(/proc/supervisor/fd/*): ENOENT",
            "pidfd_open(supervisor): ok",
            "pidfd_getfd(supervisor, 0..255): EPERM",
        ],
    );
    assert_healthy();
}

/// Host-wide settings that a capability guards: run as root, the sandbox keeps root's
/// capabilities, so the kernel lets it change the host. Probed with sethostname to the current
/// name, which changes nothing. Bare, root succeeds; others get the kernel's EPERM (so for them
/// this test cannot tell the filter's answer from the kernel's).
///
/// Found by this test, since fixed: the sandboxed sethostname succeeded, because a root
/// sandbox kept its capabilities (so it could also set the clock, or reconfigure the network
/// over NETLINK_ROUTE with CAP_NET_ADMIN). Now the command drops every capability, and the
/// filter denies sethostname, setdomainname, settimeofday and clock_settime as well.
#[test]
fn escape_host_wide_settings_as_root() {
    let body = "import socket\n\
        h = socket.gethostname().encode()\n\
        say('sethostname(same name)', sc(SYS_sethostname, ctypes.c_char_p(h), len(h))[1])\n";
    let body = format!("SYS_sethostname = {}\n{body}", libc::SYS_sethostname);
    let bare_line = if sandlock_tests::is_root() {
        "sethostname(same name): ok"
    } else {
        "sethostname(same name): EPERM"
    };
    expect(&bare(&body), 0, &[bare_line]);
    let out = sandboxed(DEFAULT_PROFILE, &body);
    assert_healthy();
    expect(&out, 0, &["sethostname(same name): EPERM"]);
}

/// Without Landlock (`--allow-degraded` on a kernel that lacks it; here Landlock is turned off
/// with `SANDLOCK_FAKE_FEATURES`, which debug builds honour) the README says seccomp and the
/// supervisor still apply. The filter denies ptrace, process_vm_writev and kcmp, but the same
/// ptrace-mode access is reachable another way: /proc/PID/mem of the supervisor (the init
/// shares its memory) and pidfd_getfd of its fds. Bare, both work on one's own child.
///
/// Found by this test, since fixed (the supervisor is non-dumpable and pidfd_getfd is
/// filtered): in the degraded sandbox both succeeded, as root and as an unprivileged
/// user: the command opened /proc/SUPERVISOR/mem for writing (so it could rewrite the
/// supervisor's memory, its verdicts included) and copied any of the supervisor's fds.
#[test]
fn escape_degraded_sandbox_reaches_into_the_supervisor() {
    // Without Landlock the supervisor enforces the network default, which needs pidfd_getfd:
    // without both, even a degraded run is refused.
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let nr = format!(
        "SYS_pidfd_open = {}\nSYS_pidfd_getfd = {}\n",
        libc::SYS_pidfd_open,
        libc::SYS_pidfd_getfd
    );
    let bare_body = format!(
        "{nr}r, w = os.pipe()\n\
         child = os.fork()\n\
         if child == 0:\n    os.read(r, 1)\n    os._exit(0)\n\
         attempt('/proc/CHILD/mem rw', lambda: open('/proc/%d/mem' % child, 'r+b', buffering=0))\n\
         pidfd, _ = sc(SYS_pidfd_open, child, 0)\n\
         say('pidfd_getfd(child, 0)', sc(SYS_pidfd_getfd, pidfd, 0, 0)[1])\n\
         os.write(w, b'x')\n\
         os.waitpid(child, 0)\n"
    );
    let (mem, getfd) = if common::may_trace_child() {
        ("/proc/CHILD/mem rw: ok", "pidfd_getfd(child, 0): ok")
    } else {
        ("/proc/CHILD/mem rw: EACCES", "pidfd_getfd(child, 0): EPERM")
    };
    expect(&bare(&bare_body), 0, &[mem, getfd]);
    let body = format!(
        "{nr}init = os.getppid()\n\
         sup = ppid_of(init)\n\
         print('supervisor: ' + comm(sup))\n\
         attempt('/proc/SUPERVISOR/mem rw', lambda: open('/proc/%d/mem' % sup, 'r+b', buffering=0))\n\
         pidfd, e = sc(SYS_pidfd_open, sup, 0)\n\
         say('pidfd_getfd(supervisor, 0)', sc(SYS_pidfd_getfd, pidfd, 0, 0)[1])\n"
    );
    let fake = match std::env::var("SANDLOCK_FAKE_FEATURES") {
        Ok(f) if !f.is_empty() => format!("{f},landlock=0"),
        _ => "landlock=0".to_owned(),
    };
    let out = sandlock_tests::sandlock()
        .env("SANDLOCK_FAKE_FEATURES", fake)
        .args(["run", "--allow-degraded", "--", PY, "-c", &program(&body)])
        .output()
        .unwrap();
    assert_healthy();
    expect(
        &out,
        0,
        &[
            "supervisor: sandlock",
            "/proc/SUPERVISOR/mem rw: EACCES",
            "pidfd_getfd(supervisor, 0): EPERM",
        ],
    );
}

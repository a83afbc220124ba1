//! End-to-end tests of `sandlock run -i` on a pseudo-terminal.
//!
//! With `-i` the CLI hands its terminal to the command (the command's process group becomes
//! the foreground one) and takes it back when the command ends. Getting that wrong stops the
//! caller by job control (`SIGTTOU`/`SIGTTIN`; sandlock #164) or leaves the shell without its
//! terminal. Tests cannot use `unsafe`, so a small python3 script drives the pty: it runs
//! sandlock as the session leader of a fresh pty (`pty.fork()`), types into the master side,
//! and reaps sandlock with `WUNTRACED` so that a stop is seen. Every wait is bounded (a
//! timeout is a hang, reported with the transcript, not a speed check).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use sandlock_tests::{degraded, sandlock_bin, text};

/// Drives `sandlock run -i -- …` on a pty. argv: SANDLOCK CASE [RUN-OPTION…] (the options go
/// after `run`: `--allow-degraded` without Landlock). Exits 0 on success, else prints
/// `FAIL: why` and the transcript and exits 1.
const DRIVER: &str = r#"
import os, pty, select, signal, sys, time

SANDLOCK, CASE, OPTIONS = sys.argv[1], sys.argv[2], sys.argv[3:]
STEP_TIMEOUT = 20.0
SANDBOXED = [SANDLOCK, "run"] + OPTIONS + ["-i", "--"]
# The pty's session leader, which this script waits for.
ARGV = {
    "shell": SANDBOXED + ["sh"],
    "cat": SANDBOXED + ["sh", "-c", "cat"],
    # A caller that reads the terminal after sandlock: it can only if sandlock gave the
    # terminal back to the caller's process group.
    "handback": ["/bin/sh", "-c",
                 '"$0" run "$@" -i -- sh -c "exit 5"; echo status-$?; read x; echo got-$x',
                 SANDLOCK] + OPTIONS,
}
transcript = bytearray()
status = None

env = {k: v for k, v in os.environ.items() if k != "ENV"}
env["PS1"] = "sbx$ "
pid, master = pty.fork()
if pid == 0:
    try:
        os.execve(ARGV[CASE][0], ARGV[CASE], env)
    finally:
        os._exit(127)

def fail(why):
    print("FAIL: " + why)
    print("transcript: " + repr(bytes(transcript)))
    sys.stdout.flush()
    if status is None:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    sys.exit(1)

def reap():
    """Notes the session leader's exit; a stop is the bug this test guards against."""
    global status
    if status is not None:
        return
    got, st = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
    if got == 0:
        return
    if os.WIFSTOPPED(st):
        fail("%s was stopped by signal %d: job control stopped the caller (sandlock #164)"
             % (ARGV[CASE][0], os.WSTOPSIG(st)))
    status = st

def pump(wait):
    """Reads what the terminal has within `wait` seconds; False once it is closed."""
    ready, _, _ = select.select([master], [], [], wait)
    if not ready:
        return True
    try:
        data = os.read(master, 4096)
    except OSError:  # EIO: every slave side is closed
        data = b""
    transcript.extend(data)
    return bool(data)

def read_until(needle, count=1):
    deadline = time.monotonic() + STEP_TIMEOUT
    while transcript.count(needle) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("no %r on the terminal within %d s" % (needle, STEP_TIMEOUT))
        open_ = pump(min(left, 0.1))
        reap()
        if not open_ and transcript.count(needle) < count:
            fail("the terminal closed before %r appeared (exit status %r)" % (needle, status))

def send(data):
    os.write(master, data)

def expect_exit(code):
    deadline = time.monotonic() + STEP_TIMEOUT
    while status is None:
        if time.monotonic() > deadline:
            fail("%s did not exit within %d s" % (ARGV[CASE][0], STEP_TIMEOUT))
        if not pump(0.05):
            time.sleep(0.01)
        reap()
    if not os.WIFEXITED(status):
        fail("%s did not exit normally: wait status %#x" % (ARGV[CASE][0], status))
    if os.WEXITSTATUS(status) != code:
        fail("%s exited with %d, expected %d" % (ARGV[CASE][0], os.WEXITSTATUS(status), code))

if CASE == "shell":
    read_until(b"sbx$ ")
    send(b"echo hello-$((6*7))\n")
    read_until(b"hello-42")
    send(b"exit 3\n")
    expect_exit(3)
elif CASE == "cat":
    send(b"abc\n")
    # Once echoed by the terminal, once written back by cat.
    read_until(b"abc", 2)
    send(b"\x04")
    expect_exit(0)
elif CASE == "handback":
    read_until(b"status-5")
    send(b"back\n")
    read_until(b"got-back")
    expect_exit(0)
"#;

/// python3 from `PATH`; entries this user cannot reach (a root-only pyenv when the suite runs
/// as `nobody`) are skipped.
fn python3() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .unwrap_or_else(|| {
            panic!(
                "python3 is not in PATH: the interactive tests drive a pseudo-terminal with \
                 it (apt-get install python3)"
            )
        })
}

/// Runs the driver for `case` and fails the test with its transcript unless it passed.
fn drive(case: &str) {
    let out = Command::new(python3())
        .arg("-c")
        .arg(DRIVER)
        .arg(sandlock_bin())
        .arg(case)
        .args(degraded())
        .stdin(Stdio::null())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "`sandlock run -i` on a pty, case {case}:\n{}",
        text(&out)
    );
}

#[test]
fn interactive_shell_runs_a_command_and_exits_with_its_status() {
    drive("shell");
}

#[test]
fn interactive_cat_echoes_and_ends_at_ctrl_d() {
    drive("cat");
}

#[test]
fn the_caller_gets_the_terminal_back() {
    drive("handback");
}

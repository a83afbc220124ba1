//! Shared by the attack files: running a python3 attack program bare and under sandlock, and
//! the health check every attack ends with.
//!
//! The attack programs are python3 with ctypes (the tests cannot use `unsafe`). Each prints
//! one line per attempt, `LABEL: RESULT`, where RESULT is `ok` (the call did what the attacker
//! wanted) or the symbolic errno (`EPERM`). Tests compare whole lines, so a different errno
//! (the kernel's own answer instead of the filter's, say) fails them with both outputs shown.

// Each attack file uses a different subset of these helpers.
#![allow(dead_code)]

use std::process::{Command, Output};

use sandlock_tests::{run, sandlock, system_read_args, text};

/// The interpreter of the attack programs. sandlock's default profile grants /usr.
pub(crate) const PY: &str = "/usr/bin/python3";

/// Prepended to every attack program: raw syscalls through libc's `syscall(2)`, and `say`,
/// which prints one result line.
pub(crate) const PRELUDE: &str = r#"
import ctypes, errno, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def sc(nr, *args):
    """A raw syscall; returns (result, errno). Integers and ctypes objects as arguments."""
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *conv)
    return r, (ctypes.get_errno() if r == -1 else 0)

def name(e):
    return "ok" if e == 0 else errno.errorcode.get(e, str(e))

def say(label, e):
    """Prints `label: ok` or `label: ERRNO`."""
    print(label + ": " + name(e))
    sys.stdout.flush()

def attempt(label, fn):
    """Runs fn(); prints `label: ok` and returns its result, or prints the OSError's errno."""
    try:
        r = fn()
    except OSError as e:
        say(label, e.errno)
        return None
    say(label, 0)
    return r

def in_child(fn):
    """Runs fn() in a forked child, so that a call that changes the process (unshare,
    personality) does not affect the next one; fn prints its own line."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            sys.stdout.flush()
            os._exit(0)
    os.waitpid(pid, 0)

def addr(buf):
    return ctypes.addressof(buf)

_supervisor = []

def ppid_of(pid):
    """The parent of pid, from /proc. Under sandlock the init (the command's parent) is hidden
    from /proc, since it shares the supervisor's memory: its parent, the supervisor, is then
    the pid the test harness wrote on stdin (which a real attacker could guess)."""
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except FileNotFoundError:
        if not _supervisor:
            _supervisor.append(int(sys.stdin.readline()))
        return _supervisor[0]

def comm(pid):
    """The command name of pid, or `hidden` when /proc does not show it to the sandbox."""
    try:
        return open("/proc/%d/comm" % pid).read().strip()
    except FileNotFoundError:
        return "hidden"
"#;

/// No policy arguments: `sandlock run`'s default profile.
pub(crate) const DEFAULT_PROFILE: &[&str] = &[];

/// The full attack program: the prelude and `body`.
pub(crate) fn program(body: &str) -> String {
    format!("{PRELUDE}\n{body}")
}

/// The attack program run bare (no sandbox), with the test's own credentials.
pub(crate) fn bare_command(body: &str) -> Command {
    let mut c = Command::new(PY);
    c.args(["-c", &program(body)]);
    c
}

/// Runs the attack program bare.
pub(crate) fn bare(body: &str) -> Output {
    bare_command(body).output().expect("run python3")
}

pub(crate) use sandlock_tests::{degraded, landlock_abi};

/// Whether sandlock has no Landlock here, after checking what that means for an attack that
/// only Landlock stops: `sandlock run` refuses to start (exit 125, naming `--allow-degraded`),
/// and a run the user opts into reports that Landlock enforces nothing. The caller then
/// returns (returns `true`): the attack itself would go through a degraded run.
pub(crate) fn refused_without_landlock() -> bool {
    if landlock_abi() > 0 {
        return false;
    }
    let out = sandlock()
        .args(["run", "--", "true"])
        .output()
        .expect("run sandlock");
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--allow-degraded"),
        "{}",
        text(&out)
    );
    assert_status_reports_missing("filesystem rules (ABI 1)");
    println!("without Landlock: sandlock refuses to run (checked)");
    true
}

/// Skips the calling test (returns `true`) unless Landlock is there at all: without it sandlock
/// refuses to run, and these attacks are Landlock's to stop. Prefer
/// [`refused_without_landlock`], which checks that refusal instead of skipping.
pub(crate) fn skip_without_landlock() -> bool {
    sandlock_tests::skip_unless(landlock_abi() >= 1, "Landlock")
}

/// Asserts that `sandlock run --status-fd` names `missing` among the protections Landlock does
/// not enforce on this kernel.
pub(crate) fn assert_status_reports_missing(missing: &str) {
    let out = run_sandboxed(&["--status-fd", "1", "--", "true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = stdout(&out);
    let listed = status
        .split_once("\"missing\":[")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list);
    assert!(
        listed.is_some_and(|l| l.contains(&format!("\"{missing}\""))),
        "{missing:?} not reported missing: {status}"
    );
}

/// Yama's `kernel.yama.ptrace_scope` (0 without Yama).
fn yama_scope() -> i64 {
    sysctl("kernel.yama.ptrace_scope").unwrap_or(0)
}

/// Whether this user may ptrace (attach to, or read and write the memory of) its own child
/// bare: Yama 0 or 1, or 2 with CAP_SYS_PTRACE.
pub(crate) fn may_trace_child() -> bool {
    match yama_scope() {
        0 | 1 => true,
        2 => sandlock_tests::is_root(),
        _ => false,
    }
}

/// Whether this user may ptrace a process of its own that is not its descendant bare: Yama 0,
/// or 1 and 2 with CAP_SYS_PTRACE.
pub(crate) fn may_trace_sibling() -> bool {
    match yama_scope() {
        0 => true,
        1 | 2 => sandlock_tests::is_root(),
        _ => false,
    }
}

/// Whether PTRACE_TRACEME works bare (all but Yama 3).
pub(crate) fn may_traceme() -> bool {
    yama_scope() < 3
}

/// A sysctl's value (`kernel.perf_event_paranoid`), or `None` when the kernel lacks it.
pub(crate) fn sysctl(name: &str) -> Option<i64> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `sandlock run ARGS… -- python3 -c PROGRAM` (with `--allow-degraded` on a kernel without
/// Landlock).
pub(crate) fn sandboxed_command<S: AsRef<str>>(args: &[S], body: &str) -> Command {
    let mut c = sandlock();
    c.arg("run")
        .args(degraded())
        .args(args.iter().map(AsRef::as_ref))
        .args(["--", PY, "-c", &program(body)]);
    c
}

/// Runs the attack program under `sandlock run ARGS…`, with the supervisor's pid (the
/// `sandlock` process) on its stdin for the attacks that target it (see `ppid_of`).
pub(crate) fn sandboxed<S: AsRef<str>>(args: &[S], body: &str) -> Output {
    use std::io::Write;
    let mut child = sandboxed_command(args, body)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sandlock");
    if let Some(mut stdin) = child.stdin.take() {
        // The program may exit without reading it: a broken pipe is fine.
        let _ = writeln!(stdin, "{}", child.id());
    }
    child.wait_with_output().expect("wait for sandlock")
}

/// The read-only system paths and /proc: an explicit policy (no default profile, so no
/// writable TMPDIR) for attacks that need to look at /proc.
pub(crate) fn proc_policy() -> Vec<String> {
    let mut args = system_read_args();
    args.extend(["-r".to_owned(), "/proc".to_owned()]);
    args
}

/// Runs the attack program under the [`proc_policy`] plus `extra` arguments.
pub(crate) fn sandboxed_with_proc(extra: &[&str], body: &str) -> Output {
    let mut args = proc_policy();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    sandboxed(&args, body)
}

/// stdout as text.
pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts the program exited with `code` and printed exactly `lines` (one per attempt).
pub(crate) fn expect(out: &Output, code: i32, lines: &[&str]) {
    let want: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(stdout(out), want, "{}", text(out));
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
}

/// Runs `sandlock run ARGS…` (with `--allow-degraded` on a kernel without Landlock).
pub(crate) fn run_sandboxed(args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    run(&all)
}

/// The sandbox is still healthy after an attack: the next sandbox starts and its exit code
/// comes back. (The attacked sandlock's own exit code, checked by each test, shows that its
/// supervisor ended normally.)
pub(crate) fn assert_healthy() {
    let out = run_sandboxed(&["--", "true"]);
    assert_eq!(out.status.code(), Some(0), "next sandbox: {}", text(&out));
    let out = run_sandboxed(&["-e", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "next sandbox: {}", text(&out));
}

/// A process of the same user outside the sandbox, with a secret in its environment
/// (`SANDLOCK_ATTACK_SECRET=hunter2`), for attacks that read other processes. Kill it after.
pub(crate) fn bystander() -> std::process::Child {
    Command::new("sleep")
        .arg("60")
        .env("SANDLOCK_ATTACK_SECRET", "hunter2")
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("start the bystander")
}

//! End-to-end tests of reproducible runs: `--time-start`, `--random-seed`, `--hostname`. Each
//! shows first what the program sees without sandlock, where that is meaningful.

use std::process::{Command, Output};

use sandlock::{Command as SandboxCommand, Policy, Sandbox};
use sandlock_tests::{landlock_abi, run_system, skip_unless, text};

const PY: &str = "/usr/bin/python3";
/// 2000-01-01T00:00:00Z.
const Y2K: i64 = 946_684_800;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bare(cmd: &[&str]) -> Output {
    Command::new(cmd[0]).args(&cmd[1..]).output().unwrap()
}

fn have_python() -> bool {
    !skip_unless(std::path::Path::new(PY).exists(), PY)
}

/// Runs `cmd` sandboxed with `opts`, asserting success; returns stdout.
fn sandboxed(opts: &[&str], cmd: &[&str]) -> String {
    let out = run_system(opts, cmd);
    assert!(out.status.success(), "{}", text(&out));
    stdout(&out)
}

#[test]
fn date_sees_the_start_year() {
    if sandlock_tests::time_start_refused() {
        return;
    }
    let real = stdout(&bare(&["date", "-u", "+%Y"]));
    assert_ne!(real.trim(), "2000");
    let out = sandboxed(
        &["--time-start", "2000-01-01T00:00:00Z"],
        &["date", "-u", "+%Y"],
    );
    assert_eq!(out.trim(), "2000");
}

/// Wall clock through the vDSO (`time.time()`, libc's `time()` and `gettimeofday`), then the
/// same clocks as raw system calls; then that monotonic time is not shifted.
const CLOCKS: &str = r#"
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.time.restype = ctypes.c_long
NR = {'x86_64': {'clock_gettime': 228, 'gettimeofday': 96, 'time': 201},
      'aarch64': {'clock_gettime': 113, 'gettimeofday': 169}}[os.uname().machine]
ts = (ctypes.c_long * 2)()
tv = (ctypes.c_long * 2)()
print('vdso_clock_gettime', int(time.time()))
print('vdso_time', libc.time(None))
libc.gettimeofday(tv, None)
print('vdso_gettimeofday', tv[0])
assert libc.syscall(NR['clock_gettime'], 0, ts) == 0
print('raw_clock_gettime', ts[0])
assert libc.syscall(NR['gettimeofday'], tv, None) == 0
print('raw_gettimeofday', tv[0])
if 'time' in NR:
    print('raw_time', libc.syscall(NR['time'], None))
assert libc.syscall(NR['clock_gettime'], 1, ts) == 0
print('monotonic', ts[0])
"#;

fn clock_lines(out: &str) -> Vec<(String, i64)> {
    out.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn wall_clock_is_shifted_through_the_vdso_and_raw_system_calls() {
    if sandlock_tests::time_start_refused() {
        return;
    }
    if !have_python() {
        return;
    }
    let real_monotonic = {
        let out = bare(&[PY, "-c", CLOCKS]);
        assert!(out.status.success(), "{}", text(&out));
        let lines = clock_lines(&stdout(&out));
        for (k, v) in &lines {
            if k != "monotonic" {
                assert!(*v > Y2K + 20 * 365 * 86_400, "bare {k} = {v}");
            }
        }
        lines.iter().find(|l| l.0 == "monotonic").unwrap().1
    };
    let out = sandboxed(
        &["--time-start", "2000-01-01T00:00:00Z"],
        &[PY, "-c", CLOCKS],
    );
    let lines = clock_lines(&out);
    assert!(lines.len() >= 6, "{out}");
    for (k, v) in &lines {
        if k == "monotonic" {
            // Not shifted: within an hour of the bare run's.
            assert!((v - real_monotonic).abs() < 3600, "{out}");
        } else {
            assert!((Y2K..Y2K + 600).contains(v), "{k} = {v}\n{out}");
        }
    }
}

/// Absolute sleeps of one second: on CLOCK_MONOTONIC (not shifted, so it must not wait for
/// the years between the start time and now) and on CLOCK_REALTIME (the sandbox's clock); a
/// timerfd armed at an absolute wall-clock time.
const ABS_SLEEPS: &str = r#"
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
ts = (ctypes.c_long * 2)()
for name, clock in (('monotonic', 1), ('realtime', 0)):
    libc.clock_gettime(clock, ts)
    deadline = (ctypes.c_long * 2)(ts[0] + 1, ts[1])
    t0 = time.monotonic()
    r = libc.clock_nanosleep(clock, 1, deadline, None)
    print(name, r, round(time.monotonic() - t0, 3))
# A timerfd armed one second ahead on the (shifted) wall clock.
fd = libc.timerfd_create(0, 0)
libc.clock_gettime(0, ts)
its = (ctypes.c_long * 4)(0, 0, ts[0] + 1, ts[1])
t0 = time.monotonic()
r = libc.timerfd_settime(fd, 1, its, None)
if r == 0:  # a failed settime leaves the timer unarmed: reading would block for good
    os.read(fd, 8)
print('timerfd', r, round(time.monotonic() - t0, 3))
"#;

#[test]
fn absolute_sleeps_end_on_time() {
    if sandlock_tests::time_start_refused() {
        return;
    }
    if !have_python() {
        return;
    }
    for start in ["2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"] {
        let out = sandboxed(&["--time-start", start], &[PY, "-c", ABS_SLEEPS]);
        let mut n = 0;
        for line in out.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f[1], "0", "{out}");
            let waited: f64 = f[2].parse().unwrap();
            // A generous bound: the point is that it neither returns at once nor sleeps
            // until the unshifted deadline (decades away).
            assert!((0.9..10.0).contains(&waited), "{start}: {out}");
            n += 1;
        }
        assert_eq!(n, 3, "{out}");
    }
}

/// What cannot be shifted is refused rather than left at the host's time: an absolute POSIX
/// timer on the wall clock (EINVAL; a relative one is armed) and `adjtimex` (EPERM).
const REFUSED: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(f, *args):
    ctypes.set_errno(0)
    r = f(*args)
    return 0 if r == 0 else ctypes.get_errno()
timer = ctypes.c_void_p()
assert libc.timer_create(0, None, ctypes.byref(timer)) == 0
ts = (ctypes.c_long * 2)()
libc.clock_gettime(0, ts)
absolute = (ctypes.c_long * 4)(0, 0, ts[0] + 100, 0)
relative = (ctypes.c_long * 4)(0, 0, 100, 0)
print('timer_abs', call(libc.timer_settime, timer, 1, absolute, None))
print('timer_rel', call(libc.timer_settime, timer, 0, relative, None))
tx = ctypes.create_string_buffer(512)
print('adjtimex', 0 if libc.adjtimex(tx) >= 0 else ctypes.get_errno())
"#;

#[test]
fn unshiftable_calls_are_refused() {
    if sandlock_tests::time_start_refused() {
        return;
    }
    if !have_python() {
        return;
    }
    let bare_out = bare(&[PY, "-c", REFUSED]);
    assert_eq!(
        stdout(&bare_out),
        "timer_abs 0\ntimer_rel 0\nadjtimex 0\n",
        "{}",
        text(&bare_out)
    );
    let out = sandboxed(&["--time-start", "2000-01-01"], &[PY, "-c", REFUSED]);
    assert_eq!(
        out,
        format!(
            "timer_abs {}\ntimer_rel 0\nadjtimex {}\n",
            libc::EINVAL,
            libc::EPERM
        )
    );
}

/// A forked child (which inherits the patched vDSO) and a program it runs (a fresh vDSO).
const DESCENDANTS: &str = r#"
import os, subprocess, time
if os.fork() == 0:
    print('child', int(time.time()), flush=True)
    os._exit(0)
os.wait()
print('grandchild', subprocess.run(['date', '-u', '+%s'], capture_output=True, text=True).stdout.strip())
"#;

#[test]
fn descendants_see_the_shifted_clock() {
    if sandlock_tests::time_start_refused() {
        return;
    }
    if !have_python() {
        return;
    }
    let out = sandboxed(
        &["--time-start", "2000-01-01T00:00:00Z"],
        &[PY, "-c", DESCENDANTS],
    );
    let lines = clock_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    for (k, v) in &lines {
        assert!((Y2K..Y2K + 600).contains(v), "{k} = {v}\n{out}");
    }
}

/// Four children, each printing 16 bytes from getrandom (os.urandom) and 16 from /dev/urandom,
/// then the parent's own.
const FORK4: &str = r#"
import os
for i in range(4):
    if os.fork() == 0:
        a = os.urandom(16).hex()
        with open('/dev/urandom', 'rb') as f:
            b = f.read(16).hex()
        # One write per line (print may split it when stdout is unbuffered).
        os.write(1, ('%d %s %s\n' % (i, a, b)).encode())
        os._exit(0)
for _ in range(4):
    os.wait()
with open('/dev/random', 'rb') as f:
    os.write(1, ('parent %s %s\n' % (os.urandom(16).hex(), f.read(16).hex())).encode())
"#;

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_owned).collect();
    v.sort();
    v
}

#[test]
fn same_seed_same_bytes_in_every_process() {
    if !have_python() {
        return;
    }
    let bare1 = stdout(&bare(&[PY, "-c", FORK4]));
    let bare2 = stdout(&bare(&[PY, "-c", FORK4]));
    assert_ne!(sorted_lines(&bare1), sorted_lines(&bare2));

    let run = |seed: &str| sorted_lines(&sandboxed(&["--random-seed", seed], &[PY, "-c", FORK4]));
    let a = run("42");
    assert_eq!(a.len(), 5, "{a:?}");
    // Children finish in any order; each line names its child.
    assert_eq!(a, run("42"));
    assert_eq!(a, run("42"));
    // Every process, and every open of a device, has its own stream.
    let mut words: Vec<&str> = a.iter().flat_map(|l| l.split(' ').skip(1)).collect();
    words.sort();
    words.dedup();
    assert_eq!(words.len(), 10, "{a:?}");
    assert_ne!(a, run("43"));
}

/// Four threads started one after the other, each taking 16 bytes as soon as it runs, in
/// whatever order the scheduler picks.
const THREADS: &str = r#"
import os, threading
out = [None] * 4
def take(i):
    out[i] = os.urandom(16).hex()
threads = [threading.Thread(target=take, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(' '.join(out), os.urandom(4).hex())
"#;

#[test]
fn same_seed_same_bytes_in_every_thread() {
    if !have_python() {
        return;
    }
    let run = |seed: &str| sandboxed(&["--random-seed", seed], &[PY, "-c", THREADS]);
    let a = run("9");
    assert_eq!(a.split_whitespace().count(), 5, "{a}");
    for _ in 0..3 {
        assert_eq!(a, run("9"));
    }
    assert_ne!(a, run("10"));
}

#[test]
fn hostname_in_uname_and_etc_hostname() {
    let real = stdout(&bare(&["uname", "-n"]));
    assert_ne!(real.trim(), "sandlock-test");
    let out = sandboxed(
        &["--hostname", "sandlock-test"],
        &["sh", "-c", "uname -n; cat /etc/hostname; uname -s"],
    );
    assert_eq!(out, "sandlock-test\nsandlock-test\nLinux\n");
}

#[test]
fn bad_values_are_refused() {
    for opts in [
        ["--time-start", "1969-12-31T23:59:59Z"],
        ["--time-start", "2000-02-30"],
        ["--hostname", ""],
        ["--random-seed", "-1"],
    ] {
        let out = run_system(&opts, &["true"]);
        assert!(!out.status.success(), "{opts:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(opts[0]),
            "{opts:?}: {}",
            text(&out)
        );
    }
}

/// Through the library: one prepared sandbox, two runs at the same time; each has its own
/// streams, which repeat.
#[test]
fn concurrent_sandboxes_of_one_policy_repeat() {
    if sandlock_tests::time_start_refused() {
        return;
    }
    if !have_python() {
        return;
    }
    let mut b = Policy::builder()
        .allow_degraded(landlock_abi() == 0)
        .random_seed(7)
        .hostname("lib-host")
        .time_start(sandlock::parse_time_start("2000-01-01").unwrap());
    for p in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"] {
        if std::path::Path::new(p).exists() {
            b = b.fs_read(p);
        }
    }
    let policy = b.build().unwrap();
    assert_eq!(policy.random_seed(), Some(7));
    assert_eq!(policy.hostname(), Some("lib-host"));
    let sandbox = Sandbox::new(policy).unwrap();
    let script =
        format!("{FORK4}\nimport socket, time\nprint(socket.gethostname(), time.gmtime().tm_year)");
    let cmd = SandboxCommand::new(PY).args(["-c", script.as_str()]);
    let run = || {
        let out = sandbox
            .run(&cmd, Some(std::time::Duration::from_secs(60)))
            .unwrap();
        assert_eq!(
            out.exit.code,
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        sorted_lines(&String::from_utf8_lossy(&out.stdout))
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(run);
        let b = s.spawn(run);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.len(), 6, "{a:?}");
    assert!(a.contains(&"lib-host 2000".to_owned()), "{a:?}");
    assert_eq!(a, b);
    assert_eq!(a, run());
}

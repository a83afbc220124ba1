//! /proc and /sys views: `--num-cpus`, /proc/meminfo under `--max-memory`, the flags and seals
//! of injected files, nothing left open in the supervisor, `--deterministic-dirs` with fd
//! reuse. (That the default profile notifies none of the open family is a unit test of
//! `views::plan`: the filter's size does not show it, as a notify rule replaces the `ALLOW`
//! that ends the existing rules of `open`.)
//!
//! The attacks on /proc (spellings of denied files, foreign processes) are in
//! `attacks/proc.rs`.

use std::time::Duration;

use sandlock::{Command, Policy, Sandbox};
use sandlock_tests::{Scratch, landlock_abi, run_system, sandlock, text};

const PY: &str = "/usr/bin/python3";

fn system_policy() -> sandlock::PolicyBuilder {
    let mut b = Policy::builder().allow_degraded(landlock_abi() == 0);
    for p in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"] {
        if std::path::Path::new(p).exists() {
            b = b.fs_read(p);
        }
    }
    b
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Bare, the machine's own count; in the sandbox, N everywhere a program looks: coreutils'
/// nproc (sched_getaffinity), Python (sysconf, which reads /sys/devices/system/cpu/online),
/// /proc/cpuinfo. With and without /proc granted (the synthetic files are served either way).
#[test]
fn num_cpus_is_what_every_tool_sees() {
    let script = "nproc; python3 -c 'import os; print(os.cpu_count())'; \
                  grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online";
    let bare = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .unwrap();
    println!("bare: {}", stdout(&bare).replace('\n', " "));
    for extra in [&[][..], &["-r", "/proc", "-r", "/sys"][..]] {
        let mut opts = vec!["--num-cpus", "3"];
        opts.extend_from_slice(extra);
        let out = run_system(&opts, &["sh", "-c", script]);
        assert_eq!(stdout(&out), "3\n3\n3\n0-2\n", "{opts:?}: {}", text(&out));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    // More CPUs than the machine has, too.
    let out = run_system(&["--num-cpus", "70"], &["sh", "-c", script]);
    assert_eq!(stdout(&out), "70\n70\n70\n0-69\n", "{}", text(&out));
    let out = run_system(&["--num-cpus", "0"], &["true"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
}

/// With `-m 256M`: MemTotal is the cap, MemAvailable below it and above zero, and sysinfo (what
/// `free` and `sysconf(_SC_PHYS_PAGES)` use) agrees.
#[test]
fn meminfo_and_sysinfo_say_the_cap() {
    let py = "import os\n\
              m = dict(l.split(':', 1) for l in open('/proc/meminfo').read().splitlines())\n\
              kb = lambda k: int(m[k].split()[0])\n\
              print('MemTotal', kb('MemTotal'))\n\
              print('available in range', 0 < kb('MemAvailable') <= kb('MemTotal'))\n\
              print('free in range', 0 < kb('MemFree') <= kb('MemTotal'))\n\
              print('phys', os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') // 1024)\n";
    let out = run_system(&["-m", "256M"], &[PY, "-c", py]);
    assert_eq!(
        stdout(&out),
        "MemTotal 262144\navailable in range True\nfree in range True\nphys 262144\n",
        "{}",
        text(&out)
    );
    // Bare, the machine's.
    let bare = std::fs::read_to_string("/proc/meminfo").unwrap();
    assert!(!bare.starts_with("MemTotal:         262144 kB"));
}

/// Injected files carry the flags asked for: close-on-exec only when asked, read-only,
/// O_NONBLOCK; synthetic ones are sealed memfds. Opened with libc's open(), as Python's
/// os.open always adds O_CLOEXEC.
#[test]
fn injected_fds_carry_the_callers_flags() {
    let py = "import ctypes, fcntl, os\n\
              libc = ctypes.CDLL(None, use_errno=True)\n\
              def show(path, flags):\n\
              \x20   fd = libc.open(path.encode(), flags)\n\
              \x20   assert fd >= 0, (path, ctypes.get_errno())\n\
              \x20   cloexec = fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC\n\
              \x20   fl = fcntl.fcntl(fd, fcntl.F_GETFL)\n\
              \x20   try:\n\
              \x20       seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)\n\
              \x20   except OSError:\n\
              \x20       seals = None\n\
              \x20   try:\n\
              \x20       os.write(fd, b'x'); wrote = 'yes'\n\
              \x20   except OSError as e:\n\
              \x20       wrote = 'no'\n\
              \x20   print(path, 'cloexec' if cloexec else 'inherit', fl & os.O_ACCMODE, \
                         'nonblock' if fl & os.O_NONBLOCK else 'block', seals, wrote)\n\
              \x20   os.close(fd)\n\
              for path in ['/proc/cpuinfo', '/etc/hostname']:\n\
              \x20   show(path, os.O_RDONLY)\n\
              \x20   show(path, os.O_RDONLY | os.O_CLOEXEC)\n\
              \x20   show(path, os.O_RDONLY | os.O_NONBLOCK)\n";
    // /proc granted: /etc/hostname is opened on behalf too (every open is notified), and must
    // look exactly as it does bare (its seals depend on the filesystem: none on ext4, the
    // tmpfs default in a test VM's initramfs).
    let bare = std::process::Command::new(PY)
        .args(["-c", py])
        .output()
        .unwrap();
    let real_file: String = String::from_utf8_lossy(&bare.stdout)
        .lines()
        .filter(|l| l.starts_with("/etc/hostname"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(real_file.lines().count(), 3, "bare: {}", text(&bare));
    let out = run_system(&["--num-cpus", "2", "-r", "/proc"], &[PY, "-c", py]);
    assert_eq!(
        stdout(&out),
        format!(
            "/proc/cpuinfo inherit 0 block 15 no\n\
             /proc/cpuinfo cloexec 0 block 15 no\n\
             /proc/cpuinfo inherit 0 nonblock 15 no\n\
             {real_file}"
        ),
        "{}",
        text(&out)
    );
    // Asking to write a synthetic file is refused.
    let out = run_system(
        &["--num-cpus", "2"],
        &["sh", "-c", "echo x >> /proc/cpuinfo"],
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out)
    );
}

/// Fds of this process whose target contains `what`.
fn open_fds_to(what: &str) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|t| t.to_string_lossy().contains(what))
        .count()
}

/// The supervisor (here, this process) keeps nothing of what it injected: 300 synthetic and
/// 300 real opens later, no fd of either is left in it.
#[test]
fn nothing_injected_stays_open_in_the_supervisor() {
    let policy = system_policy()
        .fs_read("/proc")
        .num_cpus(2)
        .build()
        .unwrap();
    let sandbox = Sandbox::new(policy).unwrap();
    let cmd = Command::new(PY).args([
        "-c",
        "import os\n\
         for _ in range(300):\n\
         \x20   os.close(os.open('/proc/cpuinfo', os.O_RDONLY))\n\
         \x20   os.close(os.open('/etc/hostname', os.O_RDONLY))\n\
         print('done')\n",
    ]);
    let out = sandbox.run(&cmd, Some(Duration::from_secs(60))).unwrap();
    assert_eq!(
        out.exit.code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"done\n");
    assert_eq!(open_fds_to("sandlock-view"), 0);
    assert_eq!(open_fds_to("/etc/hostname"), 0);
}

/// Whether this sandlock has the determinism helper's `--deterministic-dirs`.
fn has_deterministic_dirs() -> bool {
    let out = sandlock().args(["run", "--help"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).contains("--deterministic-dirs")
}

/// `--deterministic-dirs`: listings come sorted by name, and stay right when one process lists
/// two directories in turn (the second gets the first's fd number back: a listing keyed by fd
/// number would serve the first directory again). Python must start under it.
#[test]
fn deterministic_dirs_sorted_across_fd_reuse() {
    if !sandlock_tests::skip_unless(has_deterministic_dirs(), "--deterministic-dirs") {
        let dir = Scratch::new("sorted");
        let names_a = ["delta", "alpha", "charlie", "echo", "bravo"];
        let names_b = ["zulu", "yankee", "x-ray", "whiskey"];
        for (sub, names) in [("a", &names_a[..]), ("b", &names_b[..])] {
            std::fs::create_dir(dir.join(sub)).unwrap();
            for n in names {
                std::fs::write(dir.join(sub).join(n), n).unwrap();
            }
        }
        // Many entries too, over several getdents calls.
        std::fs::create_dir(dir.join("c")).unwrap();
        for i in (0..2000).rev() {
            std::fs::write(dir.join("c").join(format!("f{:05}", i * 7919 % 2000)), "").unwrap();
        }
        let py = format!(
            "import os\n\
             d = '{}'\n\
             for sub in ['a', 'b', 'a', 'c']:\n\
             \x20   fd = os.open(os.path.join(d, sub), os.O_RDONLY | os.O_DIRECTORY)\n\
             \x20   names = os.listdir(fd)\n\
             \x20   print(fd, sub, names == sorted(names), ','.join(names[:5]))\n\
             \x20   os.close(fd)\n",
            dir.path()
        );
        let bare = std::process::Command::new(PY)
            .args(["-c", &py])
            .output()
            .unwrap();
        println!("bare:\n{}", stdout(&bare));
        let out = run_system(
            &["--deterministic-dirs", "-r", dir.path()],
            &[PY, "-c", &py],
        );
        let lines: Vec<String> = stdout(&out)
            .lines()
            .map(|l| l.split_once(' ').map_or(l, |x| x.1).to_owned())
            .collect();
        assert_eq!(
            lines,
            [
                "a True alpha,bravo,charlie,delta,echo",
                "b True whiskey,x-ray,yankee,zulu",
                "a True alpha,bravo,charlie,delta,echo",
                "c True f00000,f00001,f00002,f00003,f00004",
            ],
            "{}",
            text(&out)
        );
        let printed = stdout(&out);
        let fds: Vec<&str> = printed
            .lines()
            .filter_map(|l| l.split(' ').next())
            .collect::<Vec<_>>();
        assert!(
            fds.windows(2).all(|w| w[0] == w[1]),
            "fd numbers reused: {fds:?}"
        );
        let out = run_system(
            &["--deterministic-dirs"],
            &[PY, "-c", "import json, email; print('started')"],
        );
        assert_eq!(stdout(&out), "started\n", "{}", text(&out));
    }
}

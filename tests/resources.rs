//! End-to-end tests of the whole-sandbox limits (`--max-memory`, `--max-processes`, `--cpu`)
//! through the CLI and the library: options, the status JSON, what counts. The evasions are in
//! `attacks/limits.rs`.

use sandlock_tests::{run, run_system, text};

const PY: &str = "/usr/bin/python3";

/// Forks once and prints whether the fork was refused with EAGAIN.
const FORK_ONCE: &str = "import errno, os\ntry:\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n    print('forked')\nexcept OSError as e:\n    print('refused' if e.errno == errno.EAGAIN else e)\n";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `sandlock run --status-fd 2 …` with the system paths and `opts`, and returns the
/// output and the status line (the JSON line sandlock wrote to its stderr).
fn run_with_status(opts: &[&str], cmd: &[&str]) -> (std::process::Output, String) {
    let mut all = opts.to_vec();
    all.extend(["--status-fd", "2"]);
    let out = run_system(&all, cmd);
    let status = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.starts_with("{\"exit_code\":"))
        .unwrap_or_else(|| panic!("no status line: {}", text(&out)))
        .to_owned();
    (out, status)
}

#[test]
fn bad_values_are_refused() {
    for (opts, message) in [
        (&["-m", "0"][..], "the size must be more than 0"),
        (&["-m", "12X"][..], "unknown unit"),
        (
            &["-m", "1000"][..],
            "--max-memory 1000: must be at least 1 MiB",
        ),
        (&["-P", "0"][..], "--max-processes 0: must be at least 1"),
        (&["--cpu", "0"][..], "--cpu 0: must be 1 to"),
        (&["--cpu", "100000"][..], "--cpu 100000: must be 1 to"),
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(opts);
        args.extend(["--", "true"]);
        let out = run(&args);
        assert_ne!(out.status.code(), Some(0), "{opts:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{opts:?}: {}",
            text(&out)
        );
    }
}

#[test]
fn help_documents_what_counts() {
    let out = run(&["run", "--help"]);
    let help = stdout(&out);
    for needle in [
        "-m, --max-memory <SIZE>",
        "copy-on-write",
        "-P, --max-processes <N>",
        "threads do not",
        "-c, --cpu <PCT>",
        "setsid",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn limits_that_do_not_fire_are_not_reported() {
    let (out, status) = run_with_status(&["-m", "256M", "-P", "20", "--cpu", "100"], &["true"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        status.contains(r#""report":{"limits_fired":{},"#),
        "{status}"
    );
}

#[test]
fn fired_limits_show_in_the_status_json() {
    let script =
        "try:\n    b = bytearray(b'x') * (300 << 20)\nexcept MemoryError:\n    print('ENOMEM')\n";
    let (out, status) = run_with_status(&["-m", "64M"], &[PY, "-c", script]);
    assert_eq!(stdout(&out), "ENOMEM\n", "{}", text(&out));
    assert!(
        status.contains(r#""limits_fired":{"max-memory":"#),
        "{status}"
    );
    assert!(status.contains(r#""kill_reason":null"#), "{status}");

    // The kill comes from the 50 ms measurement: the sleep only has to outlast it on a loaded
    // machine, and a passing run never waits it out.
    let script = "import os\nfd = os.memfd_create('x')\nfor _ in range(300):\n    os.write(fd, b'w' * (1 << 20))\nimport time\ntime.sleep(30)\nprint('held')\n";
    let (out, status) = run_with_status(&["-m", "64M"], &[PY, "-c", script]);
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGKILL),
        "{}",
        text(&out)
    );
    assert!(
        status.contains(r#""kill_reason":"memory limit 64 MiB exceeded ("#),
        "{status}"
    );

    let (out, status) = run_with_status(&["-P", "1"], &[PY, "-c", FORK_ONCE]);
    assert_eq!(stdout(&out), "refused\n", "{}", text(&out));
    assert!(status.contains(r#""max-processes":"#), "{status}");

    // 5 %, not more: the half second of spinning must outrun the budget even when the test
    // gets a small share of a loaded machine (at 20 % a share under a quarter never fired).
    let script = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 0.5:\n    pass\n";
    let (out, status) = run_with_status(&["--cpu", "5"], &[PY, "-c", script]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(status.contains(r#""cpu":"#), "{status}");
}

#[test]
fn threads_do_not_count_as_processes() {
    let script = "import threading, time\n\
        ts = [threading.Thread(target=time.sleep, args=(0.3,)) for _ in range(10)]\n\
        [t.start() for t in ts]\n[t.join() for t in ts]\nprint('10 threads')\n";
    let out = run_system(&["-P", "1"], &[PY, "-c", script]);
    assert_eq!(stdout(&out), "10 threads\n", "{}", text(&out));
    // And -P 1 means the command alone: its first fork is refused; -P 2 allows it.
    let out = run_system(&["-P", "1"], &[PY, "-c", FORK_ONCE]);
    assert_eq!(stdout(&out), "refused\n", "{}", text(&out));
    let out = run_system(&["-P", "2"], &[PY, "-c", FORK_ONCE]);
    assert_eq!(stdout(&out), "forked\n", "{}", text(&out));
}

#[test]
fn a_program_under_its_memory_cap_runs_normally() {
    // Memory shared after fork (copy-on-write) counts once: 4 children of a parent holding
    // 40 MiB stay under 100 MiB.
    let script = "import os\nb = bytearray(b'x') * (40 << 20)\nkids = []\n\
        for i in range(4):\n    pid = os.fork()\n    if pid == 0:\n        import time\n        time.sleep(0.5)\n        os._exit(b[i] == 120)\n    kids.append(pid)\n\
        print(sum(os.WEXITSTATUS(os.waitpid(k, 0)[1]) for k in kids))\n";
    let out = run_system(&["-m", "100M"], &[PY, "-c", script]);
    assert_eq!(stdout(&out), "4\n", "{}", text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn library_builder_and_getters() {
    let policy = sandlock::Policy::builder()
        .max_memory(64 << 20)
        .max_processes(3)
        .cpu_percent(50)
        .build()
        .unwrap();
    assert_eq!(policy.max_memory(), Some(64 << 20));
    assert_eq!(policy.max_processes(), Some(3));
    assert_eq!(policy.cpu_percent(), Some(50));
    let err = sandlock::Policy::builder()
        .max_memory(sandlock::MIN_MAX_MEMORY - 1)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("--max-memory"), "{err}");

    let mut b = sandlock::Policy::builder().max_processes(1);
    for p in ["/usr", "/lib", "/lib64", "/bin", "/etc"] {
        if std::path::Path::new(p).exists() {
            b = b.fs_read(p);
        }
    }
    if sandlock_tests::landlock_abi() == 0 {
        b = b.allow_degraded(true);
    }
    let sandbox = sandlock::Sandbox::new(b.build().unwrap()).unwrap();
    let out = sandbox
        .run(&sandlock::Command::new(PY).args(["-c", FORK_ONCE]), None)
        .unwrap();
    assert_eq!(out.stdout, b"refused\n");
    assert_eq!(out.exit.report.limits_fired.get("max-processes"), Some(&1));
}

//! End-to-end tests of `sandlock run` and `sandlock check` through the real binary.

use std::process::Stdio;
use std::time::Duration;

use sandlock_tests::{
    Scratch, degraded, landlock_abi, run, run_system, sandlock, sandlock_run, text,
};

#[test]
fn echo_with_the_default_profile() {
    let out = run(&["run", "--", "echo", "hello"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(out.stdout, b"hello\n");
}

#[test]
fn exit_codes_pass_through() {
    for code in [0, 1, 7, 100] {
        let out = run(&["run", "-e", &format!("exit {code}")]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    }
}

#[test]
fn killed_by_a_signal_is_128_plus_n() {
    let out = run(&["run", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        text(&out)
    );
    let out = run(&["run", "--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGKILL),
        "{}",
        text(&out)
    );
}

/// Whether any process's command line contains `marker`.
fn process_with_marker(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .contains(marker)
        })
    })
}

/// Whether the setsid grandchild of [`setsid_script`] runs its command: a process whose
/// command line is exactly `<marker>`. Its shell may exec the command or fork it (dash in
/// the matrix's guests forks it); either way the tree is complete once this process exists,
/// and the shell forks nothing more (a shell seen before its fork could start a process after
/// a cleanup).
fn grandchild_alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
            let line = String::from_utf8_lossy(&c).replace('\0', " ");
            line.trim_end() == marker
        })
    })
}

/// A shell that starts a setsid grandchild running `marker` and then waits in a command of
/// its own (`marker` with a digit appended, so exact matches tell them apart).
fn setsid_script(marker: &str) -> String {
    format!("setsid sh -c '{marker}' & {marker}1")
}

/// Starts `sh -c SCRIPT` bare, shows its setsid grandchild (marked by `marker`) outlives the
/// shell's death, and cleans up: the attack the sandbox must stop.
fn setsid_grandchild_outlives_its_parent_without_sandlock(script: &str, marker: &str) {
    let mut bare = std::process::Command::new("sh")
        .args(["-c", script])
        .spawn()
        .unwrap();
    let mut seen = false;
    for _ in 0..500 {
        if grandchild_alive(marker) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "the grandchild started");
    bare.kill().unwrap();
    bare.wait().unwrap();
    assert!(grandchild_alive(marker), "without sandlock it survives");
    // Every process of the bare run must be gone before the sandboxed run, which looks for
    // the same marker.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", marker])
        .status();
    assert!(
        killed.is_ok_and(|s| s.success()),
        "pkill cleans up the bare run"
    );
    assert!(gone(marker), "the bare run is cleaned up");
}

/// Waits up to 5 s for no process to carry `marker` any more.
fn gone(marker: &str) -> bool {
    for _ in 0..500 {
        if !process_with_marker(marker) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn supervisor_death_kills_the_whole_tree() {
    for fake in [None, Some("landlock=5")] {
        // A unique sleep length marks the grandchild.
        let marker = format!(
            "sleep {}.{}",
            3100 + std::process::id() % 1000,
            fake.map_or(1, |_| 2)
        );
        let script = setsid_script(&marker);
        setsid_grandchild_outlives_its_parent_without_sandlock(&script, &marker);
        let mut cmd = sandlock();
        // landlock=5 (no IPC scoping) makes the init walk /proc instead of kill(-1).
        if let Some(f) = fake {
            cmd.env("SANDLOCK_FAKE_FEATURES", f);
        }
        let mut child = cmd
            .arg("run")
            .args(degraded())
            .args(["--", "sh", "-c", &script])
            .spawn()
            .unwrap();
        let mut seen = false;
        for _ in 0..500 {
            if grandchild_alive(&marker) {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            seen,
            "the setsid grandchild started under sandlock ({fake:?})"
        );
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        assert!(
            gone(&marker),
            "the sandbox died with its supervisor ({fake:?})"
        );
    }
}

#[test]
fn timeout_without_ipc_scoping_still_kills_a_setsid_grandchild() {
    let marker = format!("sleep {}.{}", 3200 + std::process::id() % 1000, 3);
    let script = setsid_script(&marker);
    let out = sandlock_run()
        .env("SANDLOCK_FAKE_FEATURES", "landlock=5")
        .args(["-t", "1", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", text(&out));
    assert!(gone(&marker), "the setsid grandchild is gone");
}

#[test]
fn timeout_is_124_and_kills_a_setsid_grandchild() {
    let marker = format!("sleep {}.{}", 3000 + std::process::id() % 1000, 7);
    let script = setsid_script(&marker);
    setsid_grandchild_outlives_its_parent_without_sandlock(&script, &marker);

    let out = run(&["run", "-t", "1", "--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(124), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("timed out after 1 s"), "{stderr}");
    assert!(gone(&marker), "the setsid grandchild is gone");
}

#[test]
fn the_sandbox_waits_for_its_whole_tree() {
    let dir = Scratch::new("tree");
    let flag = dir.join("flag");
    let script = format!("setsid sh -c 'sleep 0.3; echo done > {}' &", flag.display());
    let out = run_system(&["-w", dir.path()], &["sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&flag).unwrap(),
        "done\n",
        "sandlock returned only after it"
    );
}

#[test]
fn reading_outside_the_granted_paths_fails() {
    let dir = Scratch::new("secret");
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, "top secret\n").unwrap();
    let secret = secret.to_str().unwrap();
    // Without the sandbox the file is readable.
    let bare = std::process::Command::new("cat")
        .arg(secret)
        .output()
        .unwrap();
    assert_eq!(bare.stdout, b"top secret\n");

    let out = run_system(&[], &["cat", secret]);
    if landlock_abi() == 0 {
        // A degraded run: nothing confines the filesystem, as the status says.
        assert_eq!(out.stdout, b"top secret\n", "{}", text(&out));
        assert_landlock_off();
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cat: {secret}: Permission denied")),
        "{stderr}"
    );
}

#[test]
fn writing_under_a_read_only_path_fails() {
    let dir = Scratch::new("ro");
    let target = dir.join("new.txt");
    let target_s = target.to_str().unwrap();
    let write = format!("echo x > {target_s}");
    let out = run_system(&["-r", dir.path()], &["sh", "-c", &write]);
    if landlock_abi() == 0 {
        // A degraded run: the read-only grant is not enforced, as the status says.
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(target.exists());
        assert_landlock_off();
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(!target.exists());
    // The same command with -w works: the denial came from the policy, not from the file mode.
    let out = run_system(&["-w", dir.path()], &["sh", "-c", &write]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(target.exists());
}

#[test]
fn devices_are_usable_under_a_minimal_policy() {
    let script =
        "echo gone > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c";
    let out = run_system(&[], &["sh", "-c", script]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "4\n3\n");
}

#[test]
fn a_missing_read_path_is_125_and_named() {
    let out = run(&["run", "-r", "/nonexistent/sandlock-path", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "sandlock: read path /nonexistent/sandlock-path does not exist\n"
    );
}

#[test]
fn command_not_found_and_not_executable() {
    let out = run(&["run", "--", "no-such-command-sandlock"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no-such-command-sandlock: command not found")
    );
    let out = run(&["run", "--", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out));
}

#[test]
fn bad_options_are_125() {
    let out = run(&["run", "--deny-syscall", "no_such_syscall", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no_such_syscall"),
        "{}",
        text(&out)
    );
    let out = run(&["run", "--net-allow-bind", "80-70", "--", "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
}

#[test]
fn deny_syscall_denies_it() {
    // `mkdir` works in the private TMPDIR unless mkdir/mkdirat are denied.
    let out = run(&["run", "-e", "mkdir \"$TMPDIR/d\" && echo made"]);
    assert_eq!(out.stdout, b"made\n", "{}", text(&out));
    let out = run(&[
        "run",
        "--deny-syscall",
        "mkdirat",
        "--deny-syscall",
        "mkdir",
        "-e",
        "mkdir \"$TMPDIR/d\"",
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
}

#[test]
fn status_fd_reports_json() {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut child = sandlock_run()
        .args(["--status-fd", "1", "--", "sh", "-c", "exit 3"])
        .stdout(Stdio::from(writer))
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let mut s = String::new();
    std::io::Read::read_to_string(&mut reader, &mut s).unwrap();
    assert!(
        s.starts_with("{\"exit_code\":3,\"signal\":null,\"timed_out\":false,\"limits\":{"),
        "{s}"
    );
    assert!(s.contains("\"enforcement\":{\"landlock\":"), "{s}");
    assert!(s.contains("\"supervisor\":{\"listener\":true}"), "{s}");
}

#[test]
fn clean_env_and_env() {
    let out = sandlock_run()
        .args(["--clean-env", "--env", "EXTRA=1", "--", "env"])
        .env("SANDLOCK_SECRET_VAR", "x")
        .output()
        .unwrap();
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(!env.contains("SANDLOCK_SECRET_VAR"), "{env}");
    assert!(env.contains("EXTRA=1"), "{env}");
    assert!(
        env.lines().all(|l| [
            "PATH=", "HOME=", "USER=", "LANG=", "TERM=", "EXTRA=", "TMPDIR="
        ]
        .iter()
        .any(|k| l.starts_with(k))),
        "{env}"
    );
}

#[test]
fn cwd_is_applied() {
    let out = run(&["run", "--cwd", "/usr", "--", "pwd"]);
    assert_eq!(out.stdout, b"/usr\n", "{}", text(&out));
}

#[test]
fn print_policy_shows_the_default_profile() {
    let out = run(&["run", "--print-policy", "--", "true"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("read:     /usr"), "{s}");
    assert!(s.contains("/dev/null"), "{s}");
    assert!(s.contains("write:    ") && s.contains("sandlock-"), "{s}");
}

#[test]
fn inherited_fds_are_closed() {
    let dir = Scratch::new("fds");
    let bin = sandlock_tests::sandlock_bin();
    // The shell opens fd 9 without close-on-exec; a plain child inherits it (the attack).
    let script = |cmd: &str| format!("exec 9>{}; {cmd}", dir.join("f").display());
    let bare = std::process::Command::new("sh")
        .args(["-c", &script("ls /proc/self/fd")])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bare.stdout)
            .lines()
            .any(|l| l == "9"),
        "{}",
        text(&bare)
    );
    // /proc is not in the default profile; grant it to list the fds.
    let inner = format!(
        "{} run {} -r /proc -r /usr -r /lib -r /lib64 -r /bin -- ls /proc/self/fd",
        bin.display(),
        degraded().join(" ")
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script(&inner)])
        .output()
        .unwrap();
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    // 0-2 and the directory ls itself is reading.
    assert_eq!(fds, ["0", "1", "2", "3"], "{}", text(&out));
}

#[test]
fn a_nested_sandlock_keeps_the_outer_protections() {
    let bin = sandlock_tests::sandlock_bin();
    let bin = bin.to_str().unwrap();
    // `sandlock run OUTER… -- sandlock run INNER…`, both degraded where Landlock is missing.
    let nested = |outer: &[&str], inner: &[&str]| {
        let mut args = vec!["run"];
        args.extend_from_slice(outer);
        args.extend_from_slice(&["--", bin, "run"]);
        args.extend_from_slice(degraded());
        args.extend_from_slice(inner);
        run(&args)
    };
    // Without Landlock neither sandbox confines the filesystem: every access below goes
    // through, and both say so; seccomp still keeps the inner one from a second listener.
    let landlock = landlock_abi() > 0;
    let dir = Scratch::new("nested");
    let secret = dir.join("secret");
    std::fs::write(&secret, "s").unwrap();
    // Outer: everything readable (including the secret), /tmp writable for the inner TMPDIR.
    let inner_cmd = format!("cat {}; echo rc=$?", secret.display());
    let out = nested(
        &["-r", "/", "-w", "/tmp"],
        &["--status-fd", "2", "--", "sh", "-c", &inner_cmd],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if landlock {
        // The inner default profile does not grant the scratch dir: denied inside.
        assert!(stdout.contains("rc=1"), "{}", text(&out));
        assert!(stderr.contains("Permission denied"), "{stderr}");
    } else {
        assert!(stdout.contains("rc=0"), "{}", text(&out));
        assert!(stderr.contains("\"level\":\"none\""), "{stderr}");
    }
    // The inner sandbox could not get a second listener and says so.
    assert!(stderr.contains("\"listener\":false"), "{stderr}");
    assert!(
        stderr.contains("an outer seccomp listener exists"),
        "{stderr}"
    );
    // The outer one still confines the inner: granting a write inside does not escape the
    // outer read-only path.
    let probe = dir.join("probe");
    let write = format!("echo x > {}", probe.display());
    let out = nested(
        &["-r", "/", "-w", "/tmp"],
        &["-r", "/", "-w", dir.path(), "--", "sh", "-c", &write],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "inside /tmp, allowed by both: {}",
        text(&out)
    );
    std::fs::remove_file(&probe).unwrap();
    let ro = Scratch::new("nested-ro");
    let ro_probe = ro.join("probe");
    let ro_write = format!("echo x > {}", ro_probe.display());
    let out = nested(
        &["-r", "/", "-w", dir.path()],
        &["-r", "/", "-w", ro.path(), "--", "sh", "-c", &ro_write],
    );
    assert_eq!(
        out.status.code(),
        Some(if landlock { 2 } else { 0 }),
        "the outer read-only grant wins (with Landlock): {}",
        text(&out)
    );
    assert_eq!(ro_probe.exists(), !landlock);
}

/// Asserts that `sandlock run --status-fd` and `sandlock check` both say Landlock is off.
fn assert_landlock_off() {
    let out = run(&["run", "--status-fd", "1", "--", "true"]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("\"landlock\":{\"kernel_abi\":0,\"level\":\"none\""),
        "{}",
        text(&out)
    );
    assert!(status.contains("\"unavailable\":"), "{}", text(&out));
    let out = run(&["check"]);
    let check = String::from_utf8_lossy(&out.stdout);
    assert!(check.contains("\nLandlock: no ("), "{check}");
    assert!(check.contains("  landlock: none (kernel ABI 0)"), "{check}");
}

/// Without Landlock `sandlock run` refuses to start, naming `--allow-degraded`; with it, the
/// command runs and seccomp and the supervisor still enforce. On a kernel with Landlock the
/// same is checked with Landlock turned off by `SANDLOCK_FAKE_FEATURES` (debug builds only).
#[test]
fn without_landlock_run_refuses_unless_degraded_is_allowed() {
    let fake = landlock_abi() > 0;
    if fake && !cfg!(debug_assertions) {
        println!("no check: release builds ignore SANDLOCK_FAKE_FEATURES");
        return;
    }
    let off = || {
        let mut c = sandlock();
        if fake {
            c.env("SANDLOCK_FAKE_FEATURES", "landlock=0");
        }
        c
    };
    let out = off().args(["run", "--", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Landlock is unavailable") && stderr.contains("--allow-degraded"),
        "{stderr}"
    );
    let check = off().arg("check").output().unwrap();
    let check_out = String::from_utf8_lossy(&check.stdout);
    assert!(check_out.contains("\nLandlock: no ("), "{check_out}");
    assert!(
        check_out.contains("refuses to start unless --allow-degraded is given"),
        "{check_out}"
    );

    // Degraded: the command runs and the status says Landlock enforced nothing.
    let out = off()
        .args([
            "run",
            "--allow-degraded",
            "--status-fd",
            "1",
            "-e",
            "exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains("\"landlock\":{\"kernel_abi\":0,\"level\":\"none\""),
        "{status}"
    );
    assert!(status.contains("\"unavailable\":"), "{status}");
    // The seccomp filter still denies: a --deny-syscall, and namespace creation outright.
    let out = off()
        .args([
            "run",
            "--allow-degraded",
            "--deny-syscall",
            "mkdirat",
            "--deny-syscall",
            "mkdir",
            "-e",
            "mkdir \"$TMPDIR/d\"",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
    let out = off()
        .args([
            "run",
            "--allow-degraded",
            "-r",
            "/",
            "--",
            "unshare",
            "--user",
            "true",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    // The supervisor still holds its listener and the timeout still kills.
    let out = off()
        .args([
            "run",
            "--allow-degraded",
            "--status-fd",
            "1",
            "-t",
            "1",
            "--",
            "sleep",
            "30",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"supervisor\":{\"listener\":true}"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_reports_each_protection() {
    let out = run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Landlock:",
        "ABI 4: TCP bind and connect ports",
        "user-notif:",
        "addfd-send:",
        "wait-killable:",
        "pidfd-getfd:",
        "x32:",
        "ia32:",
        "what `sandlock run` would enforce",
        "seccomp:",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in:\n{s}");
    }
}

#[test]
fn help_and_version() {
    let out = run(&["--version"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("sandlock "));
    let out = run(&["run", "--help"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("Examples:") && s.contains("--fs-read"), "{s}");
}

#[test]
fn the_command_starts_with_default_signal_handling() {
    // sandlock itself ignores SIGPIPE (as every Rust program does) and blocks every signal
    // while it starts the child; none of that may leak into the command.
    let out = run_system(
        &["-r", "/proc"],
        &["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
        "{}",
        text(&out)
    );
}

const PY: &str = "/usr/bin/python3";

/// What `sandlock run` does where the kernel lacks what a test needs: without Landlock it
/// refuses (exit 125, naming the cause), checked here, and the answer is `None`; with an ABI
/// below `abi` it runs and reports `missing` in its status, and the answer is `Some(false)`;
/// `Some(true)` when the full protection is there for the test to check.
fn landlock_at_least(abi: u32, missing: &str) -> Option<bool> {
    let have = sandlock::KernelFeatures::get().effective_landlock_abi();
    if have == 0 {
        let out = sandlock().args(["run", "--", "true"]).output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Landlock is unavailable"),
            "{}",
            text(&out)
        );
        return None;
    }
    if have < abi {
        let out = run(&["run", "--status-fd", "1", "--", "true"]);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(missing),
            "{}",
            text(&out)
        );
    }
    Some(have >= abi)
}

const TCP_RULES: &str = "TCP bind and connect ports (ABI 4)";

#[test]
fn tcp_connect_to_a_listening_port_is_denied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n    print('connected')\nexcept OSError as e:\n    print('denied', e.errno)"
    );
    // Without the sandbox the connect succeeds: the port really listens.
    let bare = std::process::Command::new(PY)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bare.stdout),
        "connected\n",
        "{}",
        text(&bare)
    );
    // Below ABI 4 the kernel has no TCP rules (reported by landlock_at_least), and without
    // Landlock sandlock runs only when degraded: either way the supervisor decides connects
    // instead, and still denies this one.
    let _ = landlock_at_least(4, TCP_RULES);
    let out = run(&["run", "--", PY, "-c", &script]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("denied {}\n", libc::EACCES),
        "{}",
        text(&out)
    );
}

#[test]
fn net_allow_bind_allows_exactly_its_ports() {
    // Two free ports, found by binding and releasing them.
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (allowed, other) = (free(), free());
    let script = |port: u16| {
        format!(
            "import socket\ns = socket.socket()\ntry:\n    s.bind(('127.0.0.1', {port}))\n    print('bound')\nexcept OSError as e:\n    print('denied', e.errno)"
        )
    };
    // The other port is free too (a bare bind works), but not allowed.
    let bare = std::process::Command::new(PY)
        .args(["-c", &script(other)])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bare.stdout),
        "bound\n",
        "{}",
        text(&bare)
    );
    let Some(full) = landlock_at_least(4, TCP_RULES) else {
        return;
    };
    let spec = allowed.to_string();
    let out = run(&[
        "run",
        "--net-allow-bind",
        &spec,
        "--",
        PY,
        "-c",
        &script(allowed),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "bound\n",
        "{}",
        text(&out)
    );
    let out = run(&[
        "run",
        "--net-allow-bind",
        &spec,
        "--",
        PY,
        "-c",
        &script(other),
    ]);
    // Below ABI 4 every bind goes through (reported by landlock_at_least).
    let expected = if full {
        format!("denied {}\n", libc::EACCES)
    } else {
        "bound\n".to_owned()
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected,
        "{}",
        text(&out)
    );
}

#[test]
fn sigterm_to_sandlock_kills_the_tree_and_cleans_up() {
    let marker = format!("sleep {}.{}", 3300 + std::process::id() % 1000, 4);
    let script = format!("setsid sh -c '{marker}' & echo \"$TMPDIR\"; {marker}1");
    let mut child = sandlock_run()
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut tmpdir = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut tmpdir).unwrap();
    let tmpdir = tmpdir.trim().to_owned();
    assert!(
        std::path::Path::new(&tmpdir).is_dir(),
        "the private TMPDIR {tmpdir} exists"
    );
    assert!(
        (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            grandchild_alive(&marker)
        }),
        "the grandchild started"
    );
    let pid = child.id() as i32;
    send_signal(pid, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("stopped by signal 15; the sandbox was killed")
    );
    assert!(gone(&marker), "the setsid grandchild is gone");
    assert!(
        !std::path::Path::new(&tmpdir).exists(),
        "the private TMPDIR was removed"
    );
}

/// `kill(pid, sig)` without unsafe: through the kill(1) command.
fn send_signal(pid: i32, sig: i32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_root_command_has_no_capabilities_and_locked_securebits() {
    // PR_GET_SECUREBITS is 27; 0xef is NOROOT, NO_SETUID_FIXUP and NO_CAP_AMBIENT_RAISE with
    // their locks, and KEEP_CAPS locked off. An ordinary user has no capability to drop and
    // gets the default 0.
    // The bounding set can only be emptied with CAP_SETPCAP, that is by root.
    let script = "import ctypes\nprint(ctypes.CDLL(None).prctl(27, 0, 0, 0, 0))\n\
        print([l.split()[1] for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd'))])";
    let out = run_system(&["-r", "/proc"], &["/usr/bin/python3", "-c", script]);
    let zero = "0000000000000000";
    let expected = if sandlock_tests::is_root() {
        format!("239\n['{zero}', '{zero}']\n")
    } else {
        let bnd = std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_owned()))
            .unwrap();
        format!("0\n['{zero}', '{bnd}']\n")
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected,
        "{}",
        text(&out)
    );
}

//! End-to-end tests of the library: `Policy`, `Sandbox`, `Running`.

use std::time::Duration;

use sandlock::{Command, Policy, Sandbox, SandboxError, Stdio};
use sandlock_tests::{Scratch, landlock_abi};

/// Read access to the system paths; a degraded run where sandlock has no Landlock (without
/// one, `Sandbox::new` refuses: `spawn_reports_the_enforcement` checks that).
fn system_policy() -> sandlock::PolicyBuilder {
    let mut b = Policy::builder().allow_degraded(landlock_abi() == 0);
    for p in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"] {
        if std::path::Path::new(p).exists() {
            b = b.fs_read(p);
        }
    }
    b
}

#[test]
fn captures_a_mebibyte_of_output_on_both_streams() {
    let sandbox = Sandbox::new(system_policy().build().unwrap()).unwrap();
    // 1 MiB on stdout and 1 MiB on stderr, interleaved: a supervisor that reads one pipe to
    // the end before the other deadlocks once a pipe buffer (64 KiB) fills.
    let cmd = Command::new("sh").args([
        "-c",
        "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; echo end",
    ]);
    let out = sandbox.run(&cmd, Some(Duration::from_secs(60))).unwrap();
    assert_eq!(out.exit.code, Some(0));
    assert!(!out.exit.timed_out);
    assert_eq!(out.stdout.len(), 1048576 + 4);
    assert_eq!(out.stderr.len(), 1048576);
}

#[test]
fn a_hundred_sandboxes_at_once() {
    let dir = Scratch::new("hundred");
    let sandbox = Sandbox::new(system_policy().fs_write(&dir.0).build().unwrap()).unwrap();
    let running: Vec<_> = (0..100)
        .map(|i| {
            let cmd = Command::new("sh")
                .args(["-c", &format!("sleep 0.2; echo {i} > {}/{i}", dir.path())])
                .stdout(Stdio::Null);
            sandbox.spawn(&cmd).unwrap()
        })
        .collect();
    for r in running {
        let exit = r.wait().unwrap();
        assert_eq!(exit.code, Some(0));
    }
    for i in 0..100 {
        assert_eq!(
            std::fs::read_to_string(dir.join(&i.to_string())).unwrap(),
            format!("{i}\n")
        );
    }
}

#[test]
fn kill_pause_and_resume_reach_the_tree() {
    let dir = Scratch::new("pause");
    let counter = dir.join("count");
    let sandbox = Sandbox::new(system_policy().fs_write(&dir.0).build().unwrap()).unwrap();
    // The writer is a grandchild, below a shell.
    let script = format!(
        "sh -c 'i=0; while :; do i=$((i+1)); echo $i > {}; sleep 0.01; done' ; :",
        counter.display()
    );
    let running = sandbox
        .spawn(&Command::new("sh").args(["-c", &script]))
        .unwrap();
    let read = || std::fs::read_to_string(&counter).unwrap_or_default();
    for _ in 0..500 {
        if !read().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    running.pause();
    std::thread::sleep(Duration::from_millis(100));
    let frozen = read();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read(), frozen, "paused: the grandchild no longer writes");
    running.resume();
    let mut moved = false;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        if read() != frozen {
            moved = true;
            break;
        }
    }
    assert!(moved, "resumed: it writes again");
    running.kill();
    let exit = running.wait().unwrap();
    assert_eq!(exit.signal, Some(libc::SIGKILL));
}

#[test]
fn spawn_reports_the_enforcement() {
    let sandbox = Sandbox::new(system_policy().build().unwrap()).unwrap();
    let s = sandbox.status();
    assert!(s.seccomp.instructions > 0);
    let kf = sandlock::KernelFeatures::get();
    let abi = kf.effective_landlock_abi();
    assert_eq!(s.landlock.kernel_abi, abi);
    match abi {
        0 => {
            // No Landlock: refused unless the policy allows a degraded run, which reports it.
            let refused = Sandbox::new(system_policy().allow_degraded(false).build().unwrap());
            assert!(
                matches!(
                    refused,
                    Err(SandboxError::Prepare(
                        sandlock::PrepareError::LandlockUnavailable(_)
                    ))
                ),
                "{refused:?}"
            );
            assert_eq!(s.landlock.level, sandlock::LandlockLevel::None);
            assert!(s.landlock.unavailable.is_some(), "{s:?}");
        }
        // The default profile asks for everything up to IPC scoping (ABI 6).
        1..=5 => {
            assert_eq!(s.landlock.level, sandlock::LandlockLevel::Partial);
            assert!(
                s.landlock
                    .missing
                    .contains(&"IPC scoping of abstract unix sockets and signals (ABI 6)"),
                "{s:?}"
            );
            if abi < 4 {
                assert!(
                    s.landlock
                        .missing
                        .contains(&"TCP bind and connect ports (ABI 4)"),
                    "{s:?}"
                );
            }
        }
        _ => {
            assert_eq!(s.landlock.level, sandlock::LandlockLevel::Full);
            assert!(s.landlock.missing.is_empty(), "{s:?}");
        }
    }
    let r = sandbox.spawn(&Command::new("true")).unwrap();
    assert_eq!(r.supervised(), kf.new_listener.is_available());
    assert_eq!(r.wait().unwrap().code, Some(0));
}

#[test]
fn not_found_is_an_error_before_fork() {
    let sandbox = Sandbox::new(system_policy().build().unwrap()).unwrap();
    let e = sandbox
        .spawn(&Command::new("definitely-not-a-command"))
        .unwrap_err();
    assert!(matches!(e, SandboxError::NotFound(_)), "{e}");
}

#[test]
fn timeout_kills_and_reports() {
    let sandbox = Sandbox::new(system_policy().build().unwrap()).unwrap();
    let out = sandbox
        .run(
            &Command::new("sleep").args(["30"]),
            Some(Duration::from_millis(300)),
        )
        .unwrap();
    assert!(out.exit.timed_out);
    assert_eq!(out.exit.signal, Some(libc::SIGKILL));
}

//! The sandbox's init process: it waits for the whole tree, reports the command's status, and
//! kills, stops and continues every descendant (here without Landlock, so through the
//! `/proc/PID/task/TID/children` walk).

use std::ffi::{CStr, CString};
use std::time::Duration;

use sandlock_sys::pidfd::WaitStatus;
use sandlock_sys::spawn::{CStringArray, ChildSetup, SpawnStep};
use sandlock_sys::supervise::spawn_supervised;

fn cstrs(v: &[&str]) -> CStringArray {
    CStringArray::new(v.iter().map(|s| CString::new(*s).unwrap()).collect())
}

fn setup<'a>(argv: &'a CStringArray, envp: &'a CStringArray) -> ChildSetup<'a> {
    ChildSetup {
        new_process_group: true,
        parent_death_signal: Some(libc::SIGKILL),
        ..ChildSetup::new(c"/bin/sh", argv, envp)
    }
}

fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .contains(marker)
        })
    })
}

fn wait_until(cond: impl Fn() -> bool) -> bool {
    (0..500).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        cond()
    })
}

#[test]
fn the_tree_ends_when_its_last_process_does() {
    // The command exits at once with 4; its setsid grandchild lives 300 ms more.
    let argv = cstrs(&["sh", "-c", "setsid sleep 0.3 & exit 4"]);
    let envp = cstrs(&["PATH=/usr/bin:/bin"]);
    let mut sup = spawn_supervised(&setup(&argv, &envp), false).expect("spawn");
    assert!(sup.pid > 0 && sup.pid != sup.init_pid());
    // Not over while the grandchild runs, although the command itself has exited.
    assert_eq!(sup.wait(Some(Duration::from_millis(100))), Ok(None));
    assert_eq!(sup.wait(None), Ok(Some(WaitStatus::Exited(4))));
}

#[test]
fn kill_reaches_a_setsid_grandchild() {
    let marker = format!("sleep {}.5", 4000 + std::process::id() % 1000);
    let script = format!("setsid sh -c '{marker}' & {marker}");
    let argv = cstrs(&["sh", "-c", &script]);
    let envp = cstrs(&["PATH=/usr/bin:/bin"]);
    let mut sup = spawn_supervised(&setup(&argv, &envp), false).expect("spawn");
    assert!(
        wait_until(|| alive(&format!("sh -c {marker}"))),
        "grandchild started"
    );
    sup.kill().unwrap();
    assert_eq!(
        sup.wait(Some(Duration::from_secs(10))),
        Ok(Some(WaitStatus::Signaled {
            signal: libc::SIGKILL,
            core_dumped: false
        }))
    );
    assert!(!alive(&marker), "every process is gone");
}

#[test]
fn pause_and_resume_reach_a_setsid_grandchild() {
    let dir = std::env::temp_dir().join(format!("sandlock-supervise-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let counter = dir.join("count");
    let script = format!(
        "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > {}; sleep 0.01; done' & wait",
        counter.display()
    );
    let argv = cstrs(&["sh", "-c", &script]);
    let envp = cstrs(&["PATH=/usr/bin:/bin"]);
    let mut sup = spawn_supervised(&setup(&argv, &envp), false).expect("spawn");
    let read = || std::fs::read_to_string(&counter).unwrap_or_default();
    assert!(wait_until(|| !read().is_empty()), "the loop runs");
    sup.pause().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let frozen = read();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read(), frozen, "stopped");
    sup.resume().unwrap();
    assert!(wait_until(|| read() != frozen), "continued");
    sup.kill().unwrap();
    assert!(sup.wait(Some(Duration::from_secs(10))).unwrap().is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_exec_is_reported() {
    let argv = cstrs(&["nope"]);
    let envp = cstrs(&[]);
    let mut s = setup(&argv, &envp);
    let path: &CStr = c"/nonexistent/nope";
    s.path = path;
    let err = spawn_supervised(&s, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot execute the command: No such file or directory"
    );
}

#[test]
fn a_failed_step_is_named() {
    let argv = cstrs(&["true"]);
    let envp = cstrs(&[]);
    let s = ChildSetup {
        cwd: Some(c"/nonexistent"),
        ..setup(&argv, &envp)
    };
    let err = spawn_supervised(&s, false).unwrap_err();
    assert_eq!(
        (err.step, err.errno),
        (SpawnStep::Chdir, sandlock_sys::Errno::ENOENT)
    );
}

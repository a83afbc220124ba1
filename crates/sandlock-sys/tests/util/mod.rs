//! Helpers shared by the kernel tests of sandlock-sys.
//!
//! Tests that change process state run in a child: the test binary re-executes itself with
//! `--exact <test> --nocapture --test-threads=1` and [`CASE_ENV`] naming the case, so the harness
//! process itself is never altered and the child runs nothing else concurrently.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};

use sandlock_sys::features::Availability;

/// Tells a re-executed test binary which child case to run.
pub(crate) const CASE_ENV: &str = "SANDLOCK_SYS_TEST_CASE";

/// Whether `SANDLOCK_TEST_REQUIRE=all` turns skips into failures.
pub(crate) fn require_all() -> bool {
    std::env::var("SANDLOCK_TEST_REQUIRE").is_ok_and(|v| v == "all")
}

/// Whether a test needing `feature` can run. Prints `skipped: needs …` when not, and fails
/// instead under `SANDLOCK_TEST_REQUIRE=all`.
pub(crate) fn have(feature: Availability, what: &str) -> bool {
    if feature.is_available() {
        return true;
    }
    assert!(
        !require_all(),
        "SANDLOCK_TEST_REQUIRE=all: {what} is {feature}"
    );
    eprintln!("skipped: needs {what} ({feature})");
    false
}

/// Whether this process is the re-executed child for `case`.
pub(crate) fn is_child(case: &str) -> bool {
    std::env::var(CASE_ENV).is_ok_and(|v| v == case)
}

/// A command that re-runs test `test` of this binary as the child for `case`, with stdin from
/// /dev/null and output captured.
pub(crate) fn child_command(test: &str, case: &str) -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CASE_ENV, case)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the child for `case` and returns its output; fails the test if the child failed.
pub(crate) fn run_child(test: &str, case: &str, configure: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = child_command(test, case);
    configure(&mut cmd);
    let out = cmd.output().expect("spawn the test child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "child case {case} failed: {}",
        out.status
    );
    // Make sure the child really ran the test rather than filtering it out.
    assert!(stdout.contains("1 passed"), "child case {case} ran no test");
    out
}

/// The value of `key:` in /proc/self/status.
pub(crate) fn proc_status(key: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key} in /proc/self/status"))
}

/// The fds open in this process (without the one used to list them).
pub(crate) fn open_fds() -> Vec<i32> {
    let listed: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .map(|e| {
            e.expect("fd entry")
                .file_name()
                .to_string_lossy()
                .parse()
                .expect("fd number")
        })
        .collect();
    // The directory's own fd was closed when the listing ended.
    let mut fds: Vec<i32> = listed
        .into_iter()
        .filter(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok())
        .collect();
    fds.sort_unstable();
    fds
}

//! `cargo xtask attacks`: runs the attack battery (`tests/attacks/`, one test binary per
//! group) and prints one line per group and the total, e.g.
//!
//! ```text
//! attacks syscall_abi    17 passed, 0 failed  (x32 numbers, i386 int 0x80, clone3 ...)
//! ...
//! attacks: 84 passed, 0 failed
//! ```
//!
//! Each group runs as its own `cargo test --test attacks_<group>` so that a failing group does
//! not hide the others. The test binaries are the same ones `cargo xtask ci` runs; this task
//! is the battery's report, not another copy of its checks.

use std::process::Command;

/// The groups, in the order of the issue that lists them.
const GROUPS: &[(&str, &str)] = &[
    (
        "syscall_abi",
        "x32, i386, clone3 and namespaces, io_uring, bpf, ptrace, ...",
    ),
    (
        "filesystem",
        "paths outside the policy, links, renames, /proc tricks, setuid",
    ),
    (
        "races",
        "rename and symlink swaps, a path flipped after the supervisor read it",
    ),
    (
        "network",
        "connects, UDP sends, v4-mapped, address-flip race, binds, ping",
    ),
    ("escape", "signals, ptrace, daemons, TIOCSTI, the listener"),
    (
        "limits",
        "memory bypasses, raw fork, fork bomb, CPU of setsid children",
    ),
    (
        "proc",
        "/proc/kcore and its spellings, foreign pids, nested rules",
    ),
    (
        "information",
        "kcore, foreign cmdline and environ, kernel logs",
    ),
];

/// Runs the task.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!(
            "attacks takes no arguments (got {a}); it runs every group of tests/attacks/"
        ));
    }
    let (mut passed, mut failed) = (0u32, 0u32);
    for (group, what) in GROUPS {
        let out = Command::new(env!("CARGO"))
            .args(["test", "-p", "sandlock-tests", "--test"])
            .arg(format!("attacks_{group}"))
            .args(["--", "--test-threads=1"])
            .output()
            .map_err(|e| format!("cannot run cargo test: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (p, f) = counts(&stdout);
        // A binary that did not build or crashed reports nothing: count it as one failure.
        let f = if out.status.success() { f } else { f.max(1) };
        passed += p;
        failed += f;
        println!("attacks {group:<12} {p:>3} passed, {f} failed  ({what})");
        if f > 0 {
            for l in stdout.lines().filter(|l| l.ends_with("FAILED")) {
                println!("    {l}");
            }
        }
    }
    println!("attacks: {passed} passed, {failed} failed");
    if failed > 0 {
        return Err(format!("{failed} attack tests failed"));
    }
    Ok(())
}

/// Passed and failed counts from libtest's `test result:` lines.
fn counts(stdout: &str) -> (u32, u32) {
    let mut total = (0, 0);
    for line in stdout.lines().filter(|l| l.starts_with("test result:")) {
        let number_before = |word: &str| {
            line.split(';')
                .find(|part| part.trim_end().ends_with(word))
                .and_then(|part| part.split_whitespace().rev().nth(1))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        };
        total.0 += number_before("passed");
        total.1 += number_before("failed");
    }
    total
}

#[cfg(test)]
mod tests {
    use super::counts;

    #[test]
    fn counts_from_libtest_output() {
        let out = "running 3 tests\n\
            test a ... ok\n\
            test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(counts(out), (2, 1));
        assert_eq!(
            counts("test result: ok. 17 passed; 0 failed; 0 ignored;"),
            (17, 0)
        );
        assert_eq!(counts("no result"), (0, 0));
    }
}

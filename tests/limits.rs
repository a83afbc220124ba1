//! End-to-end tests of the per-process limits: each evasion first works without sandlock,
//! then the limit holds inside it.

use sandlock_tests::{Scratch, run_system, text};

fn bare(script: &str, cwd: &std::path::Path) -> std::process::Output {
    std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn max_open_files_holds_and_cannot_be_raised() {
    // Open /dev/null 100 times, then try to raise the limit.
    let script = r#"
import resource
fs = []
try:
    for _ in range(100):
        fs.append(open('/dev/null'))
    print('opened 100')
except OSError as e:
    print('stopped', e.errno)
try:
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    print('raised')
except (OSError, ValueError):
    print('kept')
"#;
    let py = "/usr/bin/python3";
    let out = std::process::Command::new(py)
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        stdout(&out).starts_with("opened 100\n"),
        "bare: {}",
        text(&out)
    );
    let out = run_system(&["--max-open-files", "16"], &[py, "-c", script]);
    assert_eq!(
        stdout(&out),
        format!("stopped {}\nkept\n", libc::EMFILE),
        "{}",
        text(&out)
    );
}

#[test]
fn no_coredump_leaves_no_core_and_cannot_be_undone() {
    let dir = Scratch::new("core");
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let script = "ulimit -c unlimited 2>/dev/null || echo cannot-raise; sh -c 'kill -SEGV $$'; ls";
    // Bare, with the limit raised, the kernel writes a core (when core_pattern is a plain
    // file name, as on this machine; a pipe helper would take it elsewhere).
    if core_pattern.trim() == "core" {
        let out = bare(script, &dir.0);
        assert!(
            stdout(&out).lines().any(|l| l.starts_with("core")),
            "bare run dumps core: {}",
            text(&out)
        );
        for e in std::fs::read_dir(&dir.0).unwrap().flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    } else {
        println!("bare half skipped: core_pattern is {core_pattern:?}, not a file in the cwd");
    }
    let out = run_system(
        &["-w", dir.path(), "--cwd", dir.path(), "--no-coredump"],
        &["sh", "-c", script],
    );
    assert_eq!(
        stdout(&out),
        "cannot-raise\n",
        "no core, and the limit stays: {}",
        text(&out)
    );
}

#[test]
fn no_randomize_memory_sets_the_persona_for_good() {
    let read = "cat /proc/self/personality";
    assert_eq!(stdout(&bare(read, std::path::Path::new("/"))), "00000000\n");
    let out = run_system(
        &["-r", "/proc", "--no-randomize-memory"],
        &["sh", "-c", read],
    );
    assert_eq!(
        stdout(&out),
        format!("{:08x}\n", libc::ADDR_NO_RANDOMIZE),
        "{}",
        text(&out)
    );
    // setarch -R would flip it back bare; inside, personality() is filtered.
    let out = run_system(&["-r", "/proc"], &["setarch", "x86_64", "-R", "true"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "persona changes are denied: {}",
        text(&out)
    );
}

#[test]
fn no_huge_pages_disables_thp() {
    let read = "grep THP_enabled /proc/self/status";
    assert_eq!(
        stdout(&bare(read, std::path::Path::new("/"))),
        "THP_enabled:\t1\n"
    );
    let out = run_system(&["-r", "/proc", "--no-huge-pages"], &["sh", "-c", read]);
    assert_eq!(stdout(&out), "THP_enabled:\t0\n", "{}", text(&out));
}

#[test]
fn cpu_cores_cannot_be_widened() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        println!("skipped: needs 2 CPUs to narrow and widen");
        return;
    }
    let widen = "grep Cpus_allowed_list /proc/self/status; taskset -p 3 $$ >/dev/null && echo widened || echo denied";
    let out = bare(
        &format!("taskset -p 1 $$ >/dev/null; {widen}"),
        std::path::Path::new("/"),
    );
    assert_eq!(
        stdout(&out),
        "Cpus_allowed_list:\t0\nwidened\n",
        "{}",
        text(&out)
    );
    let out = run_system(&["-r", "/proc", "--cpu-cores", "1"], &["sh", "-c", widen]);
    assert_eq!(
        stdout(&out),
        "Cpus_allowed_list:\t1\ndenied\n",
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
}

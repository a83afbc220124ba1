//! Shared helpers for the end-to-end tests: locating the `sandlock` binary, running it,
//! scratch directories, and the skip policy for missing kernel features.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `sandlock` binary next to the test executable (`target/<profile>/sandlock`).
pub fn sandlock_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("sandlock");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p sandlock`; `cargo xtask ci` does)",
        bin.display()
    );
    bin
}

/// A `sandlock` command.
pub fn sandlock() -> Command {
    let mut c = Command::new(sandlock_bin());
    c.stdin(Stdio::null());
    c
}

/// The Landlock ABI sandlock can use here: 0 when the kernel has none, or when
/// `SANDLOCK_FAKE_FEATURES` (which the `sandlock` binary the tests run also honours) turned it
/// off or down.
pub fn landlock_abi() -> u32 {
    sandlock::KernelFeatures::get().effective_landlock_abi()
}

/// `--allow-degraded` where sandlock has no Landlock to use, nothing elsewhere. Without
/// Landlock `sandlock run` refuses to start unless it is given (`cli.rs` checks that refusal),
/// so the tests of what seccomp and the supervisor enforce pass it there and still run.
pub fn degraded() -> &'static [&'static str] {
    if landlock_abi() == 0 {
        &["--allow-degraded"]
    } else {
        &[]
    }
}

/// `sandlock run` followed by [`degraded`]: add the options and the command.
pub fn sandlock_run() -> Command {
    let mut c = sandlock();
    c.arg("run").args(degraded());
    c
}

/// Runs `sandlock ARGS…` and returns its output. When `ARGS` start with `run`, [`degraded`]
/// follows it; use [`sandlock()`] to see the refusal.
pub fn run(args: &[&str]) -> Output {
    let mut c = sandlock();
    match args.split_first() {
        Some((&"run", rest)) => c.arg("run").args(degraded()).args(rest),
        _ => c.args(args),
    };
    c.output().expect("run sandlock")
}

/// The read-only system paths a command needs to start.
pub fn system_read_args() -> Vec<String> {
    ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"]
        .iter()
        .filter(|p| Path::new(p).exists())
        .flat_map(|p| ["-r".to_owned(), (*p).to_owned()])
        .collect()
}

/// Runs `sandlock run` ([`degraded`] where needed) with read access to the system paths only,
/// plus `opts`, on `cmd`.
pub fn run_system(opts: &[&str], cmd: &[&str]) -> Output {
    let mut args = vec!["run".to_owned()];
    args.extend(degraded().iter().map(|s| (*s).to_owned()));
    args.extend(system_read_args());
    args.extend(opts.iter().map(|s| (*s).to_owned()));
    args.push("--".to_owned());
    args.extend(cmd.iter().map(|s| (*s).to_owned()));
    sandlock().args(&args).output().expect("run sandlock")
}

/// A fresh directory under the system temp dir, world-readable so tests work for any user,
/// removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates the directory; `name` makes it recognisable.
    pub fn new(name: &str) -> Scratch {
        use std::os::unix::fs::PermissionsExt;
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sandlock-test-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Scratch(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }

    /// The directory as a string.
    pub fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether missing kernel features must fail tests instead of skipping them
/// (`SANDLOCK_TEST_REQUIRE=all`, set by CI on a kernel that has them all).
pub fn require_all() -> bool {
    std::env::var("SANDLOCK_TEST_REQUIRE").is_ok_and(|v| v == "all")
}

/// Skips the calling test (returns `true`) when `available` is false, printing why; fails it
/// instead when every feature is required.
pub fn skip_unless(available: bool, feature: &str) -> bool {
    if available {
        return false;
    }
    assert!(
        !require_all(),
        "needs {feature}, and SANDLOCK_TEST_REQUIRE=all"
    );
    println!("skipped: needs {feature}");
    true
}

/// Whether sandlock refuses network rules here: they act on the sandbox's sockets through
/// `pidfd_getfd` (Linux 5.6), which this kernel lacks or `SANDLOCK_FAKE_FEATURES` took away.
/// When it does, the refusal is asserted (exit 125, naming what is missing), so that a test of
/// the rules can return: there is no sandbox to attack. Under `SANDLOCK_TEST_REQUIRE=all` a
/// missing `pidfd_getfd` fails instead.
pub fn network_rules_refused() -> bool {
    if sandlock::KernelFeatures::get().pidfd_getfd.is_available() {
        return false;
    }
    assert_refused(
        "pidfd_getfd",
        &["run", "--net-allow", "*", "--", "true"],
        "need pidfd_getfd",
    );
    true
}

/// Whether sandlock refuses `--time-start` here: it redirects the vDSO's clock functions by
/// writing each process's vDSO, which this kernel refuses (Linux 7.x) or
/// `SANDLOCK_FAKE_FEATURES` turned off (`no-vdso-write`). When it does, the refusal is asserted
/// (exit 125, naming the reason), so that a test of shifted clocks can return. Under
/// `SANDLOCK_TEST_REQUIRE=all` the missing feature fails instead.
pub fn time_start_refused() -> bool {
    use sandlock::Availability;
    if !matches!(
        sandlock::KernelFeatures::get().vdso_write,
        Availability::Missing | Availability::FakedOff
    ) {
        return false;
    }
    assert_refused(
        "vdso-write",
        &["run", "--time-start", "2000-01-01T00:00:00Z", "--", "true"],
        "--time-start: this kernel does not let",
    );
    true
}

/// Asserts that `sandlock ARGS` is refused (exit 125) with `reason` in its message because
/// `feature` is missing; under `SANDLOCK_TEST_REQUIRE=all` the missing feature fails instead.
fn assert_refused(feature: &str, args: &[&str], reason: &str) {
    assert!(
        !require_all(),
        "needs {feature}, and SANDLOCK_TEST_REQUIRE=all"
    );
    let out = run(args);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(reason),
        "{}",
        text(&out)
    );
    println!(
        "asserted instead: `sandlock {}` is refused without {feature}",
        args.join(" ")
    );
}

/// stdout and stderr as text, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

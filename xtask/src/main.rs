//! `cargo xtask`: the workspace's only task runner (see `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: everything CI checks: `cargo fmt --check`, clippy with `-D warnings`,
//!   the test suite (as the invoking user and, when that is root, again as an unprivileged
//!   user), and `cargo doc` with warnings denied; then the quick kernel matrix (6.1 with and
//!   without Landlock, in qemu), unless given `--no-kernel-matrix`.
//! - `cargo xtask bench`: the benchmarks (see `bench.rs`).
//! - `cargo xtask attacks`: the attack battery's report, a line per group (see `attacks.rs`).
//! - `cargo xtask dist`: the static release binary (see `dist.rs`).
//! - `cargo xtask kernel-matrix`: the tests under several kernels (see `kernel_matrix.rs`).
//! - `cargo xtask fuzz`: the cargo-fuzz targets in `fuzz/`, a minute each (see `fuzz.rs`).
#![forbid(unsafe_code)]

use std::env;
use std::process::{Command, ExitCode};

mod attacks;
mod bench;
mod dist;
mod fuzz;
mod kernel_matrix;
mod unprivileged;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci      fmt --check, clippy -D warnings, tests, doc, then the quick kernel matrix
          (what .ci/run runs); --no-kernel-matrix leaves the matrix out
  bench   benchmarks: startup, spawn, opens, tar, stat, fork+exec, getppid,
          notification round trip, supervisor RSS, redis (bench --help)
  attacks the attack battery, one summary line per group and the total
  dist    the static release binary: target/dist/sandlock
  kernel-matrix  the tests under several kernels in qemu (kernel-matrix --help)
  fuzz    the cargo-fuzz targets, 60 s each; not in CI (fuzz --help)
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("attacks") => attacks::run(&args[1..]),
        Some("dist") => dist::run(&args[1..]),
        Some("kernel-matrix") => kernel_matrix::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An error of a task: what failed, in words.
pub(crate) type TaskResult = Result<(), String>;

/// Runs `cargo ARGS…` in the workspace root, failing on a non-zero exit.
pub(crate) fn cargo(args: &[&str], envs: &[(&str, &str)]) -> TaskResult {
    eprintln!("$ cargo {}", args.join(" "));
    let status = cargo_command()
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed: {status}", args.join(" ")))
    }
}

/// A `cargo` command: the one that runs xtask, so the toolchain is the same.
pub(crate) fn cargo_command() -> Command {
    Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

pub(crate) fn workspace_root() -> std::path::PathBuf {
    // xtask lives in <root>/xtask.
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_owned()
}

fn ci(args: &[String]) -> TaskResult {
    // The quick matrix needs qemu-system-x86 and busybox-static and, on a first run, the 6.1
    // kernel from Debian's archive; `--no-kernel-matrix` is for machines without them.
    let mut matrix = true;
    for a in args {
        match a.as_str() {
            "--no-kernel-matrix" => matrix = false,
            other => return Err(format!("ci: unknown argument {other}\n{USAGE}")),
        }
    }
    if matrix {
        kernel_matrix::check_host_tools()?;
    }
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The end-to-end tests drive target/debug/sandlock, which `cargo test` does not build for
    // another package's tests.
    cargo(&["build", "--workspace", "--bins"], &[])?;
    cargo(&["test", "--workspace"], &[])?;
    unprivileged::run_tests()?;
    cargo(
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    if matrix {
        eprintln!("$ cargo xtask kernel-matrix --quick");
        kernel_matrix::run(&["--quick".to_owned()])?;
    }
    Ok(())
}

//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs the cargo-fuzz targets in `fuzz/` (not in
//! CI), each for `N` seconds (60 by default).
//!
//! cargo-fuzz needs nightly compiler flags (`-Zsanitizer`, `-Cpasses=sancov-module`). On a
//! stable toolchain this task sets `RUSTC_BOOTSTRAP=1`, which unlocks them; that works because
//! the stable `rust-std` ships the sanitizer runtimes for x86_64 Linux. Findings land in
//! `fuzz/artifacts/<target>/` and the corpus grows in `fuzz/corpus/<target>/` (both ignored
//! by git).

use std::process::Command;

use crate::{TaskResult, cargo_command, workspace_root};

const TARGETS: &[&str] = &["sockaddr", "msghdr"];
const DEFAULT_SECONDS: u64 = 60;

const USAGE: &str = "\
usage: cargo xtask fuzz [--seconds N] [TARGET...]

Runs each cargo-fuzz target in fuzz/ for N seconds (default 60). Targets: sockaddr, msghdr
(default: all). Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain
RUSTC_BOOTSTRAP=1 is set for its nightly flags.
";

/// Runs the task with the arguments after `fuzz`.
pub(crate) fn run(args: &[String]) -> TaskResult {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets: Vec<&str> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--seconds" => {
                let value = args.next().ok_or("--seconds needs a value")?;
                seconds = value
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or_else(|| format!("--seconds: not a positive number: {value}"))?;
            }
            name => match TARGETS.iter().find(|&&t| t == name) {
                Some(target) => targets.push(target),
                None => return Err(format!("unknown fuzz target {name:?}\n{USAGE}")),
            },
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }

    let installed = cargo_command()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        return Err("cargo-fuzz is missing: install it with `cargo install cargo-fuzz`".into());
    }
    let bootstrap = !is_nightly();
    if bootstrap {
        eprintln!("xtask fuzz: stable toolchain, setting RUSTC_BOOTSTRAP=1 for cargo-fuzz");
    }

    for target in targets {
        let max_time = format!("-max_total_time={seconds}");
        let args = ["fuzz", "run", target, "--", &max_time];
        eprintln!("$ cargo {}", args.join(" "));
        let mut command = cargo_command();
        command.args(args).current_dir(workspace_root());
        if bootstrap {
            command.env("RUSTC_BOOTSTRAP", "1");
        }
        let status = command
            .status()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        if !status.success() {
            return Err(format!(
                "fuzz target {target} failed ({status}): see fuzz/artifacts/{target}/"
            ));
        }
    }
    Ok(())
}

/// Whether the `rustc` cargo will use is a nightly (or locally built) compiler.
fn is_nightly() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    Command::new(rustc)
        .arg("--version")
        .output()
        .is_ok_and(|out| {
            let version = String::from_utf8_lossy(&out.stdout);
            version.contains("nightly") || version.contains("-dev")
        })
}

//! Cost of starting a sandboxed command from the library, against a plain one.
//!
//! Run with `cargo run --release -p sandlock --example spawn_bench -- [--rounds N] [--machine]`
//! (`cargo xtask bench spawn` does). One process times, interleaved for N rounds (default
//! 300), `std::process::Command::new("/bin/true").status()` and `Sandbox::spawn` of
//! `/bin/true` followed by `wait`. The `Sandbox` is built once before the loop, as a library
//! caller that starts many commands under one policy would: what is timed is the per-command
//! cost (fork, Landlock, seccomp, exec, reaping), not preparing the policy.
//!
//! Prints medians, p10 and p90 and the ratio; with `--machine`, one
//! `result MEDIAN_NS P10_NS P90_NS NAME` line per variant instead, the reference first.
#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Instant;

use sandlock::{Command, Policy, Sandbox};

const DEFAULT_ROUNDS: usize = 300;
/// Uncounted runs of each variant before measuring.
const WARMUP_ROUNDS: usize = 10;
const PROGRAM: &str = "/bin/true";

type Error = Box<dyn std::error::Error>;

/// Median, p10 and p90 of `samples` (ns).
fn summary(samples: &[f64]) -> [f64; 3] {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    [at(0.5), at(0.1), at(0.9)]
}

fn time_std() -> Result<f64, Error> {
    let start = Instant::now();
    let status = std::process::Command::new(PROGRAM).status()?;
    let ns = start.elapsed().as_nanos() as f64;
    if !status.success() {
        return Err(format!("{PROGRAM} failed: {status}").into());
    }
    Ok(ns)
}

fn time_sandbox(sandbox: &Sandbox, cmd: &Command) -> Result<f64, Error> {
    let start = Instant::now();
    let exit = sandbox.spawn(cmd)?.wait()?;
    let ns = start.elapsed().as_nanos() as f64;
    if exit.code != Some(0) {
        return Err(format!("{PROGRAM} in the sandbox failed: {exit:?}").into());
    }
    Ok(ns)
}

fn main() -> Result<(), Error> {
    let mut rounds = DEFAULT_ROUNDS;
    let mut machine = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            "--machine" => machine = true,
            _ => return Err(format!("unexpected argument {arg:?}").into()),
        }
    }
    if rounds == 0 {
        return Err("--rounds must be positive".into());
    }

    let mut policy = Policy::builder();
    for dir in ["/usr", "/lib", "/lib64", "/bin"] {
        if Path::new(dir).exists() {
            policy = policy.fs_read(dir);
        }
    }
    let sandbox = Sandbox::new(policy.build()?)?;
    let cmd = Command::new(PROGRAM);

    for _ in 0..WARMUP_ROUNDS {
        time_std()?;
        time_sandbox(&sandbox, &cmd)?;
    }
    let mut plain = Vec::with_capacity(rounds);
    let mut sandboxed = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs in the other's wake.
        if round % 2 == 0 {
            plain.push(time_std()?);
            sandboxed.push(time_sandbox(&sandbox, &cmd)?);
        } else {
            sandboxed.push(time_sandbox(&sandbox, &cmd)?);
            plain.push(time_std()?);
        }
    }

    let results = [
        ("std::process::Command::status", summary(&plain)),
        ("Sandbox::spawn + wait", summary(&sandboxed)),
    ];
    if machine {
        for (name, [median, p10, p90]) in results {
            println!("result {median:.0} {p10:.0} {p90:.0} {name}");
        }
        return Ok(());
    }
    println!("{PROGRAM}, {rounds} rounds interleaved, one process:");
    for (name, [median, p10, p90]) in results {
        println!(
            "  {:<30} median {:>8.1} µs  p10 {:>8.1} µs  p90 {:>8.1} µs",
            name,
            median / 1e3,
            p10 / 1e3,
            p90 / 1e3
        );
    }
    println!(
        "  ratio: {:.2}× (target ≤ 1.30×)",
        results[1].1[0] / results[0].1[0]
    );
    Ok(())
}

//! The filesystem and process workloads: file opens, tar, stat and fork+exec, each bare, in
//! `sandlock run` (default profile and explicit policy) and under the kernel mechanisms alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{
    BARE, Measure, Report, SANDLOCK_DEFAULT, Target, TaskResult, Unit, Variant, compile_c,
    measure_rows, sandboxed_variants, sandlock_and_floor, system_dirs,
};

pub(super) const OPENS_ROUNDS: usize = 21;
pub(super) const TAR_ROUNDS: usize = 15;
pub(super) const STAT_ROUNDS: usize = 15;
pub(super) const FORKEXEC_ROUNDS: usize = 9;

/// Target for opens, tar and stat with the default profile, as a ratio to bare.
const FILES_TARGET: f64 = 1.03;
/// Target for fork+exec with the default profile, as a ratio to bare.
const FORKEXEC_TARGET: f64 = 1.10;

const OPENS: usize = 20_000;
const STATS: usize = 200_000;
const FORKEXECS: usize = 500;

/// The system's python (not one from a user's PATH, which the default profile may not be able
/// to read) and its stdlib directory; `None` when there is none.
fn python() -> Result<Option<(PathBuf, PathBuf)>, String> {
    let python = PathBuf::from("/usr/bin/python3");
    if !python.exists() {
        return Ok(None);
    }
    let out = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let stdlib = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !stdlib.is_dir() {
        return Err(format!(
            "{} does not say where its stdlib is",
            python.display()
        ));
    }
    Ok(Some((python, stdlib)))
}

/// Prints the table of a workload run through [`sandboxed_variants`], with its target.
fn sandboxed_table(report: &mut Report, title: &str, rows: Vec<super::Row>, limit: f64) {
    report.table(
        title,
        Unit::Nanos,
        rows,
        &[("×bare", BARE)],
        &[Target {
            variant: SANDLOCK_DEFAULT,
            reference: BARE,
            limit,
        }],
    );
}

/// Opens a file and closes it, `OPENS` times, cycling over the stdlib's `.py` files in one
/// directory, and prints the CPU time of the loop alone (not python's start) in nanoseconds. Symbolic links
/// are left out: Debian's `sitecustomize.py` points into /etc, outside the explicit policy.
const OPENS_SCRIPT: &str = "\
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
names = sorted(os.path.join(d, f) for f in os.listdir(d)
         if f.endswith('.py') and not os.path.islink(os.path.join(d, f)))
paths = (names * (n // len(names) + 1))[:n]
start = time.process_time_ns()
for p in paths:
    os.close(os.open(p, os.O_RDONLY))
print(time.process_time_ns() - start)
";

pub(super) fn opens(rounds: usize, report: &mut Report) -> TaskResult {
    let Some((python, stdlib)) = python()? else {
        report.note("skipped: no /usr/bin/python3 (apt-get install python3)");
        return Ok(());
    };
    let (sandlock, floor) = sandlock_and_floor()?;
    let stdlib = stdlib.to_string_lossy().into_owned();
    let n = OPENS.to_string();
    let args = ["-c", OPENS_SCRIPT, &stdlib, &n];
    let mut variants = sandboxed_variants(&sandlock, &floor, &python, &args, &[], Measure::Printed);
    let mut writes_args = vec!["landlock-writes".to_owned()];
    for d in system_dirs() {
        writes_args.extend(["-r".to_owned(), d.to_owned()]);
    }
    writes_args.push("--".to_owned());
    writes_args.push(python.to_string_lossy().into_owned());
    writes_args.extend(args.iter().map(|a| (*a).to_owned()));
    let writes_args: Vec<&str> = writes_args.iter().map(String::as_str).collect();
    variants.push(
        Variant::new(
            "diagnostic: Landlock only, reads, truncate and device ioctls not confined",
            &floor,
            &writes_args,
        )
        .measured(Measure::Printed),
    );
    let rows = measure_rows(&variants, rounds, 1)?;
    sandboxed_table(
        report,
        &format!("{OPENS} open + close in python, CPU time of the loop"),
        rows,
        FILES_TARGET,
    );
    Ok(())
}

pub(super) fn tar(rounds: usize, report: &mut Report) -> TaskResult {
    let Some((_, stdlib)) = python()? else {
        report.note("skipped: no /usr/bin/python3, whose stdlib this archives");
        return Ok(());
    };
    let tar = ["/usr/bin/tar", "/bin/tar"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists());
    let Some(tar) = tar else {
        report.note("skipped: no /usr/bin/tar");
        return Ok(());
    };
    let (sandlock, floor) = sandlock_and_floor()?;
    let cputime = compile_c("xtask/src/bench/cputime.c", "cputime")?;
    let dir = cputime.parent().ok_or("no parent")?.to_owned();
    let tar = tar.to_string_lossy().into_owned();
    // GNU tar writing to /dev/null notices and then reads no file contents, so the archive
    // goes to a pipe that the benchmark drains instead. `-C PARENT` with a relative member
    // spares the "removing leading /" warning (and `-C /` could not open / under Landlock).
    let parent = stdlib
        .parent()
        .ok_or_else(|| format!("{}: no parent", stdlib.display()))?
        .to_string_lossy()
        .into_owned();
    let member = stdlib
        .file_name()
        .ok_or_else(|| format!("{}: no file name", stdlib.display()))?
        .to_string_lossy()
        .into_owned();
    // tar runs under `cputime` inside the sandbox: what is measured is tar's CPU time, not
    // sandlock's start (see `startup` for that).
    let variants = sandboxed_variants(
        &sandlock,
        &floor,
        &cputime,
        &[&tar, "-C", &parent, "-cf", "-", &member],
        // tar looks up every file's owner and group: without /etc each lookup is three
        // denied opens (nsswitch.conf, passwd, group), and denials are slow.
        &[Path::new("/etc"), &dir],
        Measure::PrintedOnStderr,
    );
    let rows = measure_rows(&variants, rounds, 1)?;
    sandboxed_table(
        report,
        &format!(
            "tar -cf - {} into a pipe that is drained, CPU time of tar",
            stdlib.display()
        ),
        rows,
        FILES_TARGET,
    );
    Ok(())
}

pub(super) fn stat(rounds: usize, report: &mut Report) -> TaskResult {
    let program = compile_c("xtask/src/bench/stat.c", "stat")?;
    let (sandlock, floor) = sandlock_and_floor()?;
    let dir = program.parent().ok_or("no parent")?.to_owned();
    // Files at a few depths, all inside the explicit policy's paths (stat needs no Landlock
    // right, but a path outside could still differ in cost).
    let mut paths = vec!["/usr/bin/true".to_owned()];
    if let Some((_, stdlib)) = python()? {
        paths.push(stdlib.join("os.py").to_string_lossy().into_owned());
        paths.push(
            stdlib
                .join("json/decoder.py")
                .to_string_lossy()
                .into_owned(),
        );
    }
    let n = STATS.to_string();
    let mut args = vec![n.as_str()];
    args.extend(paths.iter().map(String::as_str));
    let variants = sandboxed_variants(
        &sandlock,
        &floor,
        &program,
        &args,
        &[&dir],
        Measure::Printed,
    );
    let rows = measure_rows(&variants, rounds, 1)?;
    sandboxed_table(
        report,
        &format!(
            "{STATS} stat() calls in C over {}, CPU time of the loop",
            paths.join(" ")
        ),
        rows,
        FILES_TARGET,
    );
    Ok(())
}

pub(super) fn forkexec(rounds: usize, report: &mut Report) -> TaskResult {
    let program = compile_c("xtask/src/bench/forkexec.c", "forkexec")?;
    let (sandlock, floor) = sandlock_and_floor()?;
    let dir = program.parent().ok_or("no parent")?.to_owned();
    let n = FORKEXECS.to_string();
    let variants = sandboxed_variants(
        &sandlock,
        &floor,
        &program,
        &[&n, "/bin/true"],
        &[&dir],
        Measure::Printed,
    );
    let rows = measure_rows(&variants, rounds, 1)?;
    sandboxed_table(
        report,
        &format!("{FORKEXECS} × fork, exec /bin/true, wait, in C, CPU time with the children"),
        rows,
        FORKEXEC_TARGET,
    );
    Ok(())
}

//! `cargo xtask bench [NAMES…] [--rounds N]`: benchmarks, side by side.
//!
//! The machine this runs on is small and shared, so every workload compares its variants
//! *interleaved* (A B C A B C …, the first variant rotating each round) rather than one after
//! the other: a burst of background load then hits every variant alike instead of skewing one.
//! A few warm-up rounds page in the binaries and are not counted. Each table shows the median
//! with p10 and p90, and ratios of medians to the reference variants; targets are printed next
//! to the numbers, never asserted.
//!
//! Adding a workload: write a `fn(&Options) -> TaskResult` and list it in [`WORKLOADS`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{TaskResult, cargo, cargo_command, dist, workspace_root};

/// Rounds when `--rounds` is not given.
const DEFAULT_ROUNDS: usize = 300;
/// Uncounted rounds before measuring.
const WARMUP_ROUNDS: usize = 10;

/// The source of the minimal wrapper of the `startup` workload.
const WRAPPER_SOURCE: &str = "xtask/src/bench/wrapper.c";

/// Settings shared by the workloads.
struct Options {
    /// How many times each variant runs (for workloads that run whole commands).
    rounds: usize,
}

/// One benchmark.
struct Workload {
    name: &'static str,
    about: &'static str,
    run: fn(&Options) -> TaskResult,
}

/// Every workload, in the order `cargo xtask bench` runs them.
const WORKLOADS: &[Workload] = &[
    Workload {
        name: "startup",
        about: "`sandlock run -- /bin/true` against bare /bin/true, a minimal C wrapper, \
                the dynamic binary and bwrap",
        run: startup,
    },
    Workload {
        name: "spawn",
        about: "library Sandbox::spawn + wait against std::process::Command, in one process",
        run: spawn,
    },
    Workload {
        name: "notif",
        about: "round trip of one seccomp notification through the reactor",
        run: notif,
    },
    Workload {
        name: "getppid",
        about: "a loop of 2,000,000 raw getppid calls (the filter's cost on a call it does not \
                notify), bare and in sandlock",
        run: getppid,
    },
    Workload {
        name: "rss",
        about: "supervisor resident memory with 1, 100 and 1,000 sandboxes running at once",
        run: rss,
    },
];

fn usage() -> String {
    let mut s = format!(
        "usage: cargo xtask bench [NAMES…] [--rounds N]\n\n\
         Runs the named benchmarks (all when none is named).\n\n\
         options:\n  \
         --rounds N  runs per variant for startup and spawn (default {DEFAULT_ROUNDS})\n\n\
         benchmarks:\n"
    );
    for w in WORKLOADS {
        s.push_str(&format!("  {:<8} {}\n", w.name, w.about));
    }
    s
}

/// Runs the benchmarks named in `args` (all when none is named).
pub(crate) fn run(args: &[String]) -> TaskResult {
    let mut opts = Options {
        rounds: DEFAULT_ROUNDS,
    };
    let mut selected: Vec<&Workload> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let rounds = match arg.as_str() {
            "-h" | "--help" => {
                print!("{}", usage());
                return Ok(());
            }
            "--rounds" => Some(
                args.next()
                    .ok_or_else(|| "--rounds needs a value".to_owned())?
                    .as_str(),
            ),
            a => a.strip_prefix("--rounds="),
        };
        if let Some(n) = rounds {
            opts.rounds = n
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("--rounds {n}: expected a positive integer"))?;
            continue;
        }
        let Some(w) = WORKLOADS.iter().find(|w| w.name == arg) else {
            return Err(format!("unknown benchmark or option {arg:?}\n{}", usage()));
        };
        if !selected.iter().any(|s| s.name == w.name) {
            selected.push(w);
        }
    }
    if selected.is_empty() {
        selected = WORKLOADS.iter().collect();
    }
    for w in selected {
        println!("\n== {}: {}", w.name, w.about);
        (w.run)(&opts)?;
    }
    Ok(())
}

/// Median and spread of one variant's samples, in nanoseconds.
#[derive(Clone, Copy)]
struct Summary {
    median: f64,
    p10: f64,
    p90: f64,
}

impl Summary {
    fn of(samples: &[f64]) -> Summary {
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Summary {
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
        }
    }
}

/// One line of a table.
struct Row {
    name: String,
    summary: Summary,
}

/// A target printed under a table: `rows[variant]` within `max_ratio` of `rows[reference]`.
struct Target {
    variant: usize,
    reference: usize,
    max_ratio: f64,
}

/// Nanoseconds in a readable unit.
fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

/// Prints the rows with a ratio column per reference row (`(column title, row index)`), then
/// the targets.
fn print_table(rows: &[Row], references: &[(&str, usize)], targets: &[Target]) {
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut header = format!(
        "  {:<width$}  {:>11}  {:>11}  {:>11}",
        "variant", "median", "p10", "p90"
    );
    for (title, _) in references {
        header.push_str(&format!("  {title:>9}"));
    }
    println!("{header}");
    for row in rows {
        let s = row.summary;
        let mut line = format!(
            "  {:<width$}  {:>11}  {:>11}  {:>11}",
            row.name,
            human(s.median),
            human(s.p10),
            human(s.p90)
        );
        for &(_, r) in references {
            line.push_str(&format!("  {:>8.2}×", s.median / rows[r].summary.median));
        }
        println!("{line}");
    }
    for t in targets {
        let ratio = rows[t.variant].summary.median / rows[t.reference].summary.median;
        println!(
            "  target: {} ≤ {:.2}× {}: {:.2}×, {}",
            rows[t.variant].name,
            t.max_ratio,
            rows[t.reference].name,
            ratio,
            if ratio <= t.max_ratio {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}

// --- startup ---------------------------------------------------------------------------------

/// A command line measured by the `startup` workload.
struct Variant {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
}

impl Variant {
    fn new(name: &str, program: impl Into<PathBuf>, args: &[&str]) -> Variant {
        Variant {
            name: name.to_owned(),
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    /// Runs the command once (stdout to /dev/null) and returns the wall time of spawn + wait
    /// in nanoseconds; a failing command fails the benchmark.
    fn time_once(&self) -> Result<f64, String> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let start = Instant::now();
        let status = cmd.status();
        let elapsed = start.elapsed().as_nanos() as f64;
        let status = status.map_err(|e| format!("{}: {e}", self.program.display()))?;
        if !status.success() {
            return Err(format!("{} failed: {status}", self.name));
        }
        Ok(elapsed)
    }
}

/// Runs every variant `rounds` times, interleaved, and returns their samples.
fn interleave(variants: &[Variant], rounds: usize) -> Result<Vec<Vec<f64>>, String> {
    for v in variants {
        for _ in 0..WARMUP_ROUNDS {
            v.time_once()?;
        }
    }
    let n = variants.len();
    let mut samples = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            samples[i].push(variants[i].time_once()?);
        }
    }
    Ok(samples)
}

/// Compiles the minimal wrapper into `target/bench/wrapper`.
fn build_wrapper() -> Result<PathBuf, String> {
    compile_c(WRAPPER_SOURCE, "wrapper")
}

/// Compiles the C program `source` (relative to the workspace) into `target/bench/NAME`.
fn compile_c(source: &str, name: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    eprintln!("$ {cc} -O2 -o {} {source}", out.display());
    let status = Command::new(&cc)
        .arg("-O2")
        .arg("-o")
        .arg(&out)
        .arg(root.join(source))
        .status()
        .map_err(|e| {
            format!(
                "cannot run the C compiler `{cc}` ({e}); the benchmarks compile their C \
                 programs with it (apt-get install gcc)"
            )
        })?;
    if !status.success() {
        return Err(format!("compiling {source} failed: {status}"));
    }
    Ok(out)
}

/// `name` in `PATH`, if it is there.
fn find_in_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Rows of the `startup` table that the ratios and targets refer to.
const BARE: usize = 0;
const WRAPPER: usize = 1;
const STATIC_DEFAULT: usize = 2;
const DYNAMIC_DEFAULT: usize = 4;

fn startup(opts: &Options) -> TaskResult {
    let wrapper = build_wrapper()?;
    let static_bin = dist::build()?;
    cargo(
        &["build", "--release", "-p", "sandlock", "--bin", "sandlock"],
        &[],
    )?;
    let dynamic_bin = dist::target_dir().join("release").join("sandlock");

    let mut explicit: Vec<&str> = vec!["run"];
    for dir in ["/usr", "/lib", "/lib64", "/bin"] {
        if Path::new(dir).exists() {
            explicit.extend(["-r", dir]);
        }
    }
    explicit.extend(["--", "/bin/true"]);
    let wrapper_name = "minimal C wrapper (fork, exec, wait)";
    let default_name = "sandlock run (static, default profile)";
    let mut variants = vec![
        Variant::new("bare /bin/true", "/bin/true", &[]),
        Variant::new(wrapper_name, &wrapper, &["/bin/true"]),
        Variant::new(default_name, &static_bin, &["run", "--", "/bin/true"]),
        Variant::new(
            "sandlock run (static, -r /usr /lib /lib64 /bin)",
            &static_bin,
            &explicit,
        ),
        Variant::new(
            "sandlock run (dynamic, default profile)",
            &dynamic_bin,
            &["run", "--", "/bin/true"],
        ),
        // Diagnostic: exec, argument parsing and the default profile's private TMPDIR, but
        // no Sandbox and no child, to tell the CLI's own start from the sandbox's.
        Variant::new(
            "sandlock run --print-policy (static, no spawn)",
            &static_bin,
            &["run", "--print-policy", "--", "/bin/true"],
        ),
    ];
    let bwrap_args = [
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-all",
        "--die-with-parent",
        "/bin/true",
    ];
    match find_in_path("bwrap") {
        Some(bwrap) => variants.push(Variant::new(
            "bwrap --unshare-all (ro /, dev, proc)",
            bwrap,
            &bwrap_args,
        )),
        None => println!("  skipped: bwrap not installed (apt-get install bubblewrap)"),
    }
    println!(
        "  {} rounds, interleaved, after {WARMUP_ROUNDS} warm-up runs of each",
        opts.rounds
    );
    let samples = interleave(&variants, opts.rounds)?;
    let rows: Vec<Row> = variants
        .iter()
        .zip(&samples)
        .map(|(v, s)| Row {
            name: v.name.clone(),
            summary: Summary::of(s),
        })
        .collect();
    print_table(
        &rows,
        &[("×bare", BARE), ("×wrapper", WRAPPER)],
        &[Target {
            variant: STATIC_DEFAULT,
            reference: WRAPPER,
            max_ratio: 1.2,
        }],
    );
    println!(
        "  dynamic minus static binary (default profile, medians): {}",
        human(rows[DYNAMIC_DEFAULT].summary.median - rows[STATIC_DEFAULT].summary.median)
    );
    Ok(())
}

// --- spawn -----------------------------------------------------------------------------------

/// Runs `cargo ARGS…` with stdout captured (cargo's own messages still go to the terminal) and
/// returns that stdout.
fn cargo_stdout(args: &[&str]) -> Result<String, String> {
    eprintln!("$ cargo {}", args.join(" "));
    let out = cargo_command()
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        print!("{stdout}");
        return Err(format!("`cargo {}` failed: {}", args.join(" "), out.status));
    }
    Ok(stdout)
}

fn spawn(opts: &Options) -> TaskResult {
    let rounds = opts.rounds.to_string();
    let out = cargo_stdout(&[
        "run",
        "--release",
        "-p",
        "sandlock",
        "--example",
        "spawn_bench",
        "--",
        "--rounds",
        &rounds,
        "--machine",
    ])?;
    // The example prints `result MEDIAN_NS P10_NS P90_NS NAME` lines, reference first, and
    // any other line as a note.
    let mut rows = Vec::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix("result ") else {
            println!("  {line}");
            continue;
        };
        let mut fields = rest.splitn(4, ' ');
        let mut num = || {
            fields
                .next()
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| format!("spawn_bench printed a bad result line: {line}"))
        };
        let summary = Summary {
            median: num()?,
            p10: num()?,
            p90: num()?,
        };
        rows.push(Row {
            name: fields.next().unwrap_or("?").to_owned(),
            summary,
        });
    }
    if rows.len() < 2 {
        return Err("spawn_bench printed fewer than two results".to_owned());
    }
    print_table(
        &rows,
        &[("×std", 0)],
        &[Target {
            variant: 1,
            reference: 0,
            max_ratio: 1.3,
        }],
    );
    Ok(())
}

// --- getppid ---------------------------------------------------------------------------------

/// Target for the getppid loop in sandlock, as a ratio to bare.
const GETPPID_TARGET: f64 = 1.2;
/// Runs of each variant, interleaved; each run makes two million calls.
const GETPPID_ROUNDS: usize = 9;

fn getppid(_: &Options) -> TaskResult {
    let program = compile_c("xtask/src/bench/getppid.c", "getppid")?;
    let sandlock = dist::build()?;
    let dir = program.parent().ok_or("no parent")?.to_owned();
    let per_call = |cmd: &mut Command| -> Result<f64, String> {
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run the getppid loop: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .map_err(|_| {
                format!(
                    "the getppid loop printed {:?}",
                    String::from_utf8_lossy(&out.stdout)
                )
            })
    };
    let (mut bare, mut floor, mut sandboxed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..GETPPID_ROUNDS {
        bare.push(per_call(&mut Command::new(&program))?);
        floor.push(per_call(Command::new(&program).arg("floor"))?);
        let mut cmd = Command::new(&sandlock);
        cmd.arg("run").arg("-r").arg(&dir);
        for p in ["/usr", "/lib", "/lib64"]
            .iter()
            .filter(|p| Path::new(p).exists())
        {
            cmd.args(["-r", p]);
        }
        cmd.arg("--").arg(&program);
        sandboxed.push(per_call(&mut cmd)?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (b, f, s) = (
        median(&mut bare),
        median(&mut floor),
        median(&mut sandboxed),
    );
    println!("  bare:     {b:.1} ns per getppid");
    println!(
        "  any seccomp filter (one RET_ALLOW instruction): {f:.1} ns ({:.2}× bare)",
        f / b
    );
    println!("  sandlock: {s:.1} ns per getppid ({:.2}× bare)", s / b);
    println!(
        "  target: ≤ {GETPPID_TARGET:.2}× bare: {:.2}×, {}",
        s / b,
        if s / b <= GETPPID_TARGET {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

// --- rss -------------------------------------------------------------------------------------

/// Target for the supervisor's resident memory with 1,000 sandboxes, in KiB.
const RSS_TARGET_KIB: u64 = 16 * 1024;

fn rss(_: &Options) -> TaskResult {
    let out = cargo_stdout(&[
        "run",
        "--release",
        "-p",
        "sandlock",
        "--example",
        "supervisor_rss",
        "--",
        "1",
        "100",
        "1000",
    ])?;
    let mut at_1000 = None;
    for line in out.lines() {
        // "rss N KIB"
        let mut words = line.split_whitespace().skip(1);
        if let (Some(n), Some(kib)) = (
            words.next(),
            words.next().and_then(|k| k.parse::<u64>().ok()),
        ) {
            println!(
                "  {n:>5} sandboxes: supervisor RSS {:.1} MiB",
                kib as f64 / 1024.0
            );
            if n == "1000" {
                at_1000 = Some(kib);
            }
        }
    }
    let kib = at_1000.ok_or("supervisor_rss printed no result for 1000")?;
    println!(
        "  target: ≤ {} MiB at 1,000 sandboxes: {:.1} MiB, {}",
        RSS_TARGET_KIB / 1024,
        kib as f64 / 1024.0,
        if kib <= RSS_TARGET_KIB {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

// --- notif -----------------------------------------------------------------------------------

/// Target for one notification round trip, in nanoseconds.
const NOTIF_TARGET_NS: f64 = 5000.0;

fn notif(_: &Options) -> TaskResult {
    let out = cargo_stdout(&[
        "run",
        "--release",
        "-p",
        "sandlock-notif",
        "--example",
        "notif_roundtrip",
    ])?;
    for line in out.lines() {
        println!("  {line}");
    }
    // "notification round trip: median N ns (…)"
    let median = out
        .split_once("median ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or("notif_roundtrip printed no median")?;
    println!(
        "  target: round trip ≤ {}: {}, {}",
        human(NOTIF_TARGET_NS),
        human(median),
        if median <= NOTIF_TARGET_NS {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

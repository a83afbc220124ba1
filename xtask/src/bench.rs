//! `cargo xtask bench [NAMES…] [--rounds N]`: benchmarks, side by side.
//!
//! The machine this runs on is small and shared, so every workload compares its variants
//! *interleaved* (A B C A B C …, the first variant rotating each round) rather than one after
//! the other: a burst of background load then hits every variant alike instead of skewing one.
//! A few warm-up rounds page in the binaries and are not counted. Each table shows the median
//! with p10 and p90, and ratios of medians to the reference variants; targets are printed next
//! to the numbers, never asserted.
//!
//! Startup and spawn are wall times: latency is what they are about. The workloads that do
//! work in a loop (opens, tar, stat, fork+exec, getppid) report CPU time (user + system) of
//! the work alone, without the sandbox's start: on a shared machine, time spent waiting for a
//! CPU is noise, and what Landlock and seccomp add is CPU time in the sandboxed process.
//!
//! Output: markdown tables on stdout, a summary of every target at the end, and one JSON file
//! per workload, `target/bench/NAME.json` (so re-running one workload replaces only its file).
//!
//! Adding a workload: write a `fn(usize, &mut Report) -> TaskResult` (it gets its number of
//! rounds) and list it in [`WORKLOADS`].

mod files;
mod redis;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{TaskResult, cargo, cargo_command, dist, workspace_root};

/// Uncounted rounds before measuring, for workloads of many short runs.
const WARMUP_ROUNDS: usize = 10;

/// The source of the minimal wrapper of the `startup` workload.
const WRAPPER_SOURCE: &str = "xtask/src/bench/wrapper.c";

/// One benchmark.
struct Workload {
    name: &'static str,
    about: &'static str,
    /// Runs of each variant unless `--rounds` says otherwise; 0 for a workload that runs a
    /// fixed measurement of its own.
    rounds: usize,
    run: fn(usize, &mut Report) -> TaskResult,
}

/// Every workload, in the order `cargo xtask bench` runs them.
const WORKLOADS: &[Workload] = &[
    Workload {
        name: "startup",
        about: "`sandlock run -- /bin/true` against bare /bin/true, a minimal C wrapper, \
                the dynamic binary and bwrap",
        rounds: 300,
        run: startup,
    },
    Workload {
        name: "spawn",
        about: "library Sandbox::spawn + wait against std::process::Command, in one process",
        rounds: 300,
        run: spawn,
    },
    Workload {
        name: "opens",
        about: "python3 opening (and closing) 20,000 files of its stdlib, CPU time of the loop",
        rounds: files::OPENS_ROUNDS,
        run: files::opens,
    },
    Workload {
        name: "tar",
        about: "tar of the python stdlib into a pipe that is drained and discarded, CPU time",
        rounds: files::TAR_ROUNDS,
        run: files::tar,
    },
    Workload {
        name: "stat",
        about: "200,000 stat() calls from C, CPU time of the loop",
        rounds: files::STAT_ROUNDS,
        run: files::stat,
    },
    Workload {
        name: "forkexec",
        about: "500 × fork, exec /bin/true, wait, from C, CPU time with the children",
        rounds: files::FORKEXEC_ROUNDS,
        run: files::forkexec,
    },
    Workload {
        name: "getppid",
        about: "a loop of 2,000,000 raw getppid calls (the filter's cost on a call it does not \
                notify), CPU time of the loop",
        rounds: GETPPID_ROUNDS,
        run: getppid,
    },
    Workload {
        name: "notif",
        about: "round trip of one seccomp notification through the reactor",
        rounds: 0,
        run: notif,
    },
    Workload {
        name: "rss",
        about: "supervisor resident memory with 1, 100 and 1,000 sandboxes running at once",
        rounds: 0,
        run: rss,
    },
    Workload {
        name: "redis",
        about: "redis-benchmark SET/GET on loopback against redis-server bare and in sandlock",
        rounds: redis::ROUNDS,
        run: redis::redis,
    },
];

fn usage() -> String {
    let mut s = "usage: cargo xtask bench [NAMES…] [--rounds N]\n\n\
         Runs the named benchmarks (all when none is named), prints markdown tables and writes\n\
         target/bench/NAME.json for each.\n\n\
         options:\n  \
         --rounds N  runs per variant, for every selected benchmark that has rounds\n\n\
         benchmarks (default rounds):\n"
        .to_owned();
    for w in WORKLOADS {
        let rounds = if w.rounds == 0 {
            "-".to_owned()
        } else {
            w.rounds.to_string()
        };
        let _ = writeln!(s, "  {:<9} {rounds:>4}  {}", w.name, w.about);
    }
    s
}

/// Runs the benchmarks named in `args` (all when none is named).
pub(crate) fn run(args: &[String]) -> TaskResult {
    let mut rounds_override = None;
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
            rounds_override = Some(
                n.parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--rounds {n}: expected a positive integer"))?,
            );
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
    let machine = Machine::probe();
    println!("# sandlock benchmarks\n\n{}", machine.markdown());
    let mut checks = Vec::new();
    for w in selected {
        let mut report = Report::new(w.name);
        println!(
            "\n## {}\n\n{} (load average {})\n",
            w.name, w.about, report.load_at_start
        );
        let rounds = if w.rounds == 0 {
            0
        } else {
            rounds_override.unwrap_or(w.rounds)
        };
        (w.run)(rounds, &mut report)?;
        report.write_json(&machine)?;
        checks.extend(report.checks.into_iter().map(|c| (w.name, c)));
    }
    print_summary(&checks);
    println!(
        "\nload average at the end: {}",
        Machine::load_average().unwrap_or_else(|| "?".to_owned())
    );
    Ok(())
}

// --- machine ---------------------------------------------------------------------------------

/// What the numbers were measured on.
struct Machine {
    cpus: usize,
    cpu_model: String,
    kernel: String,
    load_average: String,
    /// `git describe --always --dirty` of the workspace, when it is a git checkout.
    commit: Option<String>,
}

impl Machine {
    fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map_or_else(|| "?".to_owned(), |(_, m)| m.trim().to_owned());
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "?".to_owned(), |s| s.trim().to_owned()),
            load_average: Machine::load_average().unwrap_or_else(|| "?".to_owned()),
            commit: Command::new("git")
                .args(["describe", "--always", "--dirty"])
                .current_dir(workspace_root())
                .stderr(Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()),
        }
    }

    /// The 1, 5 and 15 minute load averages.
    fn load_average() -> Option<String> {
        let s = std::fs::read_to_string("/proc/loadavg").ok()?;
        Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    }

    fn markdown(&self) -> String {
        let commit = self
            .commit
            .as_ref()
            .map(|c| format!("; commit {c}"))
            .unwrap_or_default();
        format!(
            "machine: {} CPUs ({}), Linux {}, load average {} at the start{commit}",
            self.cpus, self.cpu_model, self.kernel, self.load_average
        )
    }

    fn json(&self) -> String {
        format!(
            "{{\"cpus\": {}, \"cpu_model\": {}, \"kernel\": {}, \"load_average_at_run_start\": {}, \
             \"commit\": {}}}",
            self.cpus,
            json_str(&self.cpu_model),
            json_str(&self.kernel),
            json_str(&self.load_average),
            self.commit
                .as_deref()
                .map_or_else(|| "null".to_owned(), json_str)
        )
    }
}

// --- results ---------------------------------------------------------------------------------

/// Median and spread of one variant's samples.
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

/// What a table's numbers are.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    /// Nanoseconds: lower is better.
    Nanos,
    /// Requests per second: higher is better.
    PerSecond,
}

impl Unit {
    fn format(self, v: f64) -> String {
        match self {
            Unit::Nanos => human(v),
            Unit::PerSecond => format!("{v:.0}/s"),
        }
    }

    fn json_name(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::PerSecond => "per_second",
        }
    }
}

/// A target on a table: the ratio of medians `rows[variant] / rows[reference]` at most (for
/// times) or at least (for rates) `limit`.
struct Target {
    variant: usize,
    reference: usize,
    limit: f64,
}

/// A measured number against its target, for the summary and the JSON file.
struct Check {
    what: String,
    value: f64,
    unit: CheckUnit,
    limit: f64,
    /// The value must be at least (rather than at most) the limit.
    at_least: bool,
    /// For a ratio: the two medians it divides.
    medians: Option<String>,
}

#[derive(Clone, Copy)]
enum CheckUnit {
    Ratio,
    Nanos,
    Mib,
}

impl CheckUnit {
    fn format(self, v: f64) -> String {
        match self {
            CheckUnit::Ratio => format!("{v:.3}×"),
            CheckUnit::Nanos => human(v),
            CheckUnit::Mib => format!("{v:.1} MiB"),
        }
    }

    fn json_name(self) -> &'static str {
        match self {
            CheckUnit::Ratio => "ratio",
            CheckUnit::Nanos => "ns",
            CheckUnit::Mib => "MiB",
        }
    }
}

impl Check {
    fn met(&self) -> bool {
        if self.at_least {
            self.value >= self.limit
        } else {
            self.value <= self.limit
        }
    }

    fn target(&self) -> String {
        format!(
            "{} {}",
            if self.at_least { "≥" } else { "≤" },
            self.unit.format(self.limit)
        )
    }

    fn verdict(&self) -> &'static str {
        if self.met() { "met" } else { "**missed**" }
    }
}

/// One table as measured.
struct Table {
    title: String,
    unit: Unit,
    rows: Vec<Row>,
}

/// What one workload measured: printed as it goes, kept for the summary and the JSON file.
struct Report {
    workload: &'static str,
    /// The load average when the workload started: the machine is shared.
    load_at_start: String,
    tables: Vec<Table>,
    checks: Vec<Check>,
    notes: Vec<String>,
}

impl Report {
    fn new(workload: &'static str) -> Report {
        Report {
            workload,
            load_at_start: Machine::load_average().unwrap_or_default(),
            tables: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Prints a line of prose under the workload and keeps it for the JSON file.
    fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("{note}\n");
        self.notes.push(note);
    }

    /// Prints `check` and keeps it for the summary.
    fn check(&mut self, check: Check) {
        println!(
            "- target: {} {}: {}, {}",
            check.what,
            check.target(),
            check.unit.format(check.value),
            check.verdict()
        );
        self.checks.push(check);
    }

    /// Prints a markdown table of `rows` with a ratio column per reference row
    /// (`(column title, row index)`), then its targets.
    fn table(
        &mut self,
        title: &str,
        unit: Unit,
        rows: Vec<Row>,
        references: &[(&str, usize)],
        targets: &[Target],
    ) {
        let mut header = "| variant | median | p10 | p90 |".to_owned();
        let mut rule = "|---|--:|--:|--:|".to_owned();
        for (title, _) in references {
            let _ = write!(header, " {title} |");
            rule.push_str("--:|");
        }
        if !title.is_empty() {
            println!("{title}\n");
        }
        println!("{header}\n{rule}");
        for row in &rows {
            let s = row.summary;
            let mut line = format!(
                "| {} | {} | {} | {} |",
                row.name,
                unit.format(s.median),
                unit.format(s.p10),
                unit.format(s.p90)
            );
            for &(_, r) in references {
                let _ = write!(line, " {:.3}× |", s.median / rows[r].summary.median);
            }
            println!("{line}");
        }
        println!();
        for t in targets {
            self.check(Check {
                what: format!("{} / {}", rows[t.variant].name, rows[t.reference].name),
                value: rows[t.variant].summary.median / rows[t.reference].summary.median,
                unit: CheckUnit::Ratio,
                limit: t.limit,
                at_least: unit == Unit::PerSecond,
                medians: Some(format!(
                    "{} vs {}",
                    unit.format(rows[t.variant].summary.median),
                    unit.format(rows[t.reference].summary.median)
                )),
            });
        }
        if !targets.is_empty() {
            println!();
        }
        self.tables.push(Table {
            title: title.to_owned(),
            unit,
            rows,
        });
    }

    /// Writes `target/bench/WORKLOAD.json`.
    fn write_json(&self, machine: &Machine) -> TaskResult {
        let mut j = String::new();
        let unix_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let _ = write!(
            j,
            "{{\n  \"workload\": {},\n  \"unix_time\": {unix_time},\n  \"machine\": {},\n  \
             \"load_average\": {{\"start\": {}, \"end\": {}}},\n  \"tables\": [",
            json_str(self.workload),
            machine.json(),
            json_str(&self.load_at_start),
            json_str(&Machine::load_average().unwrap_or_default()),
        );
        for (i, t) in self.tables.iter().enumerate() {
            let _ = write!(
                j,
                "{}\n    {{\"title\": {}, \"unit\": \"{}\", \"rows\": [",
                if i == 0 { "" } else { "," },
                json_str(&t.title),
                t.unit.json_name()
            );
            for (k, r) in t.rows.iter().enumerate() {
                let _ = write!(
                    j,
                    "{}\n      {{\"variant\": {}, \"median\": {}, \"p10\": {}, \"p90\": {}}}",
                    if k == 0 { "" } else { "," },
                    json_str(&r.name),
                    json_num(r.summary.median),
                    json_num(r.summary.p10),
                    json_num(r.summary.p90)
                );
            }
            j.push_str("\n    ]}");
        }
        j.push_str("\n  ],\n  \"checks\": [");
        for (i, c) in self.checks.iter().enumerate() {
            let _ = write!(
                j,
                "{}\n    {{\"what\": {}, \"value\": {}, \"unit\": \"{}\", \"limit\": {}, \
                 \"at_least\": {}, \"met\": {}}}",
                if i == 0 { "" } else { "," },
                json_str(&c.what),
                json_num(c.value),
                c.unit.json_name(),
                json_num(c.limit),
                c.at_least,
                c.met()
            );
        }
        j.push_str("\n  ],\n  \"notes\": [");
        for (i, n) in self.notes.iter().enumerate() {
            let _ = write!(j, "{}\n    {}", if i == 0 { "" } else { "," }, json_str(n));
        }
        j.push_str("\n  ]\n}\n");
        let dir = bench_dir()?;
        let path = dir.join(format!("{}.json", self.workload));
        std::fs::write(&path, j).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("(written to {})", path.display());
        Ok(())
    }
}

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `v` as a JSON number (`null` when it is not finite).
fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "null".to_owned()
    }
}

/// Every target of the run in one markdown table.
fn print_summary(checks: &[(&str, Check)]) {
    if checks.is_empty() {
        return;
    }
    println!(
        "\n## Summary\n\n| workload | measured | medians | result | target | |\n\
         |---|---|--:|--:|--:|---|"
    );
    for (workload, c) in checks {
        println!(
            "| {workload} | {} | {} | {} | {} | {} |",
            c.what,
            c.medians.as_deref().unwrap_or(""),
            c.unit.format(c.value),
            c.target(),
            c.verdict()
        );
    }
}

/// Nanoseconds in a readable unit.
fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// `target/bench` in the workspace, created if needed.
fn bench_dir() -> Result<PathBuf, String> {
    let dir = workspace_root().join("target").join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

// --- commands, interleaved -------------------------------------------------------------------

/// How a [`Variant`]'s run is measured.
#[derive(Clone, Copy)]
enum Measure {
    /// Wall time of spawn + wait, stdout to /dev/null.
    Wall,
    /// The program times itself and prints nanoseconds as the last line of its stdout.
    Printed,
    /// Like `Printed`, but the number is the last line of stderr, and stdout is read to its
    /// end and discarded: for a program whose output is its work (tar run by the `cputime`
    /// helper, which would take a shortcut if it saw /dev/null).
    PrintedOnStderr,
}

/// A command line measured by an interleaved workload.
struct Variant {
    name: String,
    program: PathBuf,
    args: Vec<OsString>,
    measure: Measure,
    /// A file to give the command as its stdin (else /dev/null).
    stdin: Option<PathBuf>,
}

impl Variant {
    fn new(name: &str, program: impl Into<PathBuf>, args: &[&str]) -> Variant {
        Variant {
            name: name.to_owned(),
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            measure: Measure::Wall,
            stdin: None,
        }
    }

    fn measured(mut self, measure: Measure) -> Variant {
        self.measure = measure;
        self
    }

    /// Runs the command once and returns its measurement in nanoseconds; a failing command
    /// fails the benchmark.
    fn time_once(&self) -> Result<f64, String> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).stdin(match &self.stdin {
            Some(path) => std::fs::File::open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .into(),
            None => Stdio::null(),
        });
        let failed = |e: std::io::Error| format!("{}: {e}", self.program.display());
        let not_a_number = |text: &str| {
            format!(
                "{} measured {text:?}, not a number of nanoseconds",
                self.name
            )
        };
        let parse = |text: &str| {
            text.lines()
                .last()
                .and_then(|l| l.trim().parse::<f64>().ok())
                .ok_or_else(|| not_a_number(text))
        };
        match &self.measure {
            Measure::Wall => {
                cmd.stdout(Stdio::null());
                let start = Instant::now();
                let status = cmd.status().map_err(failed)?;
                let elapsed = start.elapsed().as_nanos() as f64;
                self.check_status(status)?;
                Ok(elapsed)
            }
            Measure::Printed => {
                let out = cmd.stderr(Stdio::inherit()).output().map_err(failed)?;
                self.check_status(out.status)?;
                parse(&String::from_utf8_lossy(&out.stdout))
            }
            Measure::PrintedOnStderr => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
                let mut child = cmd.spawn().map_err(failed)?;
                let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
                std::io::copy(&mut stdout, &mut std::io::sink()).map_err(failed)?;
                // A few bytes: stderr's pipe cannot have filled while stdout was drained.
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .ok_or("no stderr pipe")?
                    .read_to_string(&mut stderr)
                    .map_err(failed)?;
                let status = child.wait().map_err(failed)?;
                if !status.success() {
                    eprint!("{stderr}");
                }
                self.check_status(status)?;
                parse(&stderr)
            }
        }
    }

    fn check_status(&self, status: std::process::ExitStatus) -> TaskResult {
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} failed: {status}", self.name))
        }
    }
}

/// Runs every variant `warmup` times, then `rounds` times interleaved, and returns their
/// samples.
fn interleave(variants: &[Variant], rounds: usize, warmup: usize) -> Result<Vec<Vec<f64>>, String> {
    for v in variants {
        for _ in 0..warmup {
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

/// Runs `variants` interleaved and returns their rows.
fn measure_rows(variants: &[Variant], rounds: usize, warmup: usize) -> Result<Vec<Row>, String> {
    println!("{rounds} rounds, interleaved, after {warmup} warm-up runs of each\n");
    let samples = interleave(variants, rounds, warmup)?;
    Ok(variants
        .iter()
        .zip(&samples)
        .map(|(v, s)| Row {
            name: v.name.clone(),
            summary: Summary::of(s),
        })
        .collect())
}

/// Compiles the C program `source` (relative to the workspace) into `target/bench/NAME`.
fn compile_c(source: &str, name: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let out = bench_dir()?.join(name);
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

/// The system directories an explicit policy grants read-only, where they exist.
fn system_dirs() -> Vec<&'static str> {
    ["/usr", "/lib", "/lib64", "/bin"]
        .into_iter()
        .filter(|d| Path::new(d).exists())
        .collect()
}

/// The ways a workload's command runs, in the order of [`sandboxed_variants`]'s rows.
const BARE: usize = 0;
const SANDLOCK_DEFAULT: usize = 1;

/// The variants of a workload that runs `program args`: bare; in `sandlock run` with the
/// default profile and with an explicit policy (the system directories plus `extra_read`,
/// read-only); and, as diagnostics, under the kernel mechanisms alone (`floor`, a
/// one-instruction seccomp filter, a Landlock ruleset of the same paths), to tell what the
/// kernel costs from what sandlock adds.
///
/// A `program` outside the default profile's paths (one of ours in target/bench) runs there
/// through a copy: a shell in the sandbox copies it from stdin into the sandbox's private
/// TMPDIR and execs it, so the default profile needs no extra path. Such programs time
/// themselves, so the copy is not measured.
fn sandboxed_variants(
    sandlock: &Path,
    floor: &Path,
    program: &Path,
    args: &[&str],
    extra_read: &[&Path],
    measure: Measure,
) -> Vec<Variant> {
    let program_str = program.to_string_lossy().into_owned();
    let mut reads: Vec<String> = system_dirs().iter().map(|d| (*d).to_owned()).collect();
    reads.extend(extra_read.iter().map(|p| p.to_string_lossy().into_owned()));
    let in_default_profile = ["/usr/", "/bin/", "/lib/", "/lib64/", "/etc/", "/sbin/"]
        .iter()
        .any(|d| program_str.starts_with(d));

    let mut default_args: Vec<&str> = vec!["run", "--"];
    let mut stdin = None;
    if in_default_profile {
        default_args.push(&program_str);
    } else {
        default_args.extend([
            "/bin/sh",
            "-c",
            "cat >\"$TMPDIR/prog\" && chmod 700 \"$TMPDIR/prog\" && exec \"$TMPDIR/prog\" \"$@\"",
            "prog",
        ]);
        stdin = Some(program.to_owned());
    }
    default_args.extend(args);
    let mut default =
        Variant::new("sandlock run, default profile", sandlock, &default_args).measured(measure);
    default.stdin = stdin;

    let mut explicit_args: Vec<&str> = vec!["run"];
    let mut floor_ll_args: Vec<&str> = vec!["landlock"];
    for r in &reads {
        explicit_args.extend(["-r", r]);
        floor_ll_args.extend(["-r", r]);
    }
    for a in [&mut explicit_args, &mut floor_ll_args] {
        a.extend(["--", &program_str]);
        a.extend(args);
    }
    let mut floor_sc_args: Vec<&str> = vec!["seccomp", "--", &program_str];
    floor_sc_args.extend(args);
    let explicit_name = format!("sandlock run -r {}", reads.join(" -r "));
    vec![
        Variant::new("bare", program, args).measured(measure),
        default,
        Variant::new(&explicit_name, sandlock, &explicit_args).measured(measure),
        Variant::new(
            "diagnostic: seccomp only, 1-instruction RET_ALLOW filter",
            floor,
            &floor_sc_args,
        )
        .measured(measure),
        Variant::new(
            "diagnostic: Landlock only, same paths as -r",
            floor,
            &floor_ll_args,
        )
        .measured(measure),
    ]
}

/// The static `sandlock` binary that the command workloads run, and the `floor` helper.
fn sandlock_and_floor() -> Result<(PathBuf, PathBuf), String> {
    let floor = compile_c("xtask/src/bench/floor.c", "floor")?;
    Ok((dist::build()?, floor))
}

// --- startup ---------------------------------------------------------------------------------

/// Rows of the `startup` table that the ratios and targets refer to.
const STARTUP_BARE: usize = 0;
const WRAPPER: usize = 1;
const STATIC_DEFAULT: usize = 2;
const DYNAMIC_DEFAULT: usize = 4;

fn startup(rounds: usize, report: &mut Report) -> TaskResult {
    let wrapper = compile_c(WRAPPER_SOURCE, "wrapper")?;
    let static_bin = dist::build()?;
    cargo(
        &["build", "--release", "-p", "sandlock", "--bin", "sandlock"],
        &[],
    )?;
    let dynamic_bin = dist::target_dir().join("release").join("sandlock");

    let mut explicit: Vec<&str> = vec!["run"];
    for dir in system_dirs() {
        explicit.extend(["-r", dir]);
    }
    explicit.extend(["--", "/bin/true"]);
    let mut variants = vec![
        Variant::new("bare /bin/true", "/bin/true", &[]),
        Variant::new(
            "minimal C wrapper (fork, exec, wait)",
            &wrapper,
            &["/bin/true"],
        ),
        Variant::new(
            "sandlock run (static, default profile)",
            &static_bin,
            &["run", "--", "/bin/true"],
        ),
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
        None => report.note("skipped bwrap: not installed (apt-get install bubblewrap)"),
    }
    let rows = measure_rows(&variants, rounds, WARMUP_ROUNDS)?;
    let dynamic_minus_static =
        rows[DYNAMIC_DEFAULT].summary.median - rows[STATIC_DEFAULT].summary.median;
    report.table(
        "",
        Unit::Nanos,
        rows,
        &[("×bare", STARTUP_BARE), ("×wrapper", WRAPPER)],
        &[Target {
            variant: STATIC_DEFAULT,
            reference: WRAPPER,
            limit: 1.2,
        }],
    );
    report.note(format!(
        "dynamic minus static binary (default profile, medians): {}",
        human(dynamic_minus_static)
    ));
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

fn spawn(rounds: usize, report: &mut Report) -> TaskResult {
    let rounds = rounds.to_string();
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
            report.note(line);
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
    println!("{rounds} rounds, interleaved, in one process\n");
    report.table(
        "",
        Unit::Nanos,
        rows,
        &[("×std", 0)],
        &[Target {
            variant: 1,
            reference: 0,
            limit: 1.3,
        }],
    );
    Ok(())
}

// --- getppid ---------------------------------------------------------------------------------

/// Target for the getppid loop in sandlock, as a ratio to bare.
const GETPPID_TARGET: f64 = 1.2;
/// Runs of each variant, interleaved; each run makes two million calls.
const GETPPID_ROUNDS: usize = 9;

fn getppid(rounds: usize, report: &mut Report) -> TaskResult {
    let program = compile_c("xtask/src/bench/getppid.c", "getppid")?;
    let (sandlock, floor) = sandlock_and_floor()?;
    let dir = program.parent().ok_or("no parent")?.to_owned();
    let mut variants =
        sandboxed_variants(&sandlock, &floor, &program, &[], &[&dir], Measure::Printed);
    // getppid.c installs the one-instruction filter itself with "floor"; Landlock does not
    // govern getppid, so that diagnostic would say nothing.
    variants.truncate(3);
    variants.push(
        Variant::new(
            "diagnostic: seccomp only, 1-instruction RET_ALLOW filter",
            &program,
            &["floor"],
        )
        .measured(Measure::Printed),
    );
    let rows = measure_rows(&variants, rounds, 1)?;
    report.table(
        "nanoseconds per getppid call",
        Unit::Nanos,
        rows,
        &[("×bare", BARE)],
        &[Target {
            variant: SANDLOCK_DEFAULT,
            reference: BARE,
            limit: GETPPID_TARGET,
        }],
    );
    Ok(())
}

// --- rss -------------------------------------------------------------------------------------

/// Target for the supervisor's resident memory with 1,000 sandboxes, in KiB.
const RSS_TARGET_KIB: u64 = 16 * 1024;

fn rss(_: usize, report: &mut Report) -> TaskResult {
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
    println!("| sandboxes | supervisor RSS |\n|--:|--:|");
    for line in out.lines() {
        // "rss N KIB"
        let mut words = line.split_whitespace().skip(1);
        if let (Some(n), Some(kib)) = (
            words.next(),
            words.next().and_then(|k| k.parse::<u64>().ok()),
        ) {
            println!("| {n} | {:.1} MiB |", kib as f64 / 1024.0);
            report.notes.push(format!("{n} sandboxes: {kib} KiB"));
            if n == "1000" {
                at_1000 = Some(kib);
            }
        }
    }
    println!();
    let kib = at_1000.ok_or("supervisor_rss printed no result for 1000")?;
    report.check(Check {
        what: "supervisor RSS with 1,000 sandboxes".to_owned(),
        value: kib as f64 / 1024.0,
        unit: CheckUnit::Mib,
        limit: (RSS_TARGET_KIB / 1024) as f64,
        at_least: false,
        medians: None,
    });
    Ok(())
}

// --- notif -----------------------------------------------------------------------------------

/// Target for one notification round trip, in nanoseconds.
const NOTIF_TARGET_NS: f64 = 5000.0;

fn notif(_: usize, report: &mut Report) -> TaskResult {
    let out = cargo_stdout(&[
        "run",
        "--release",
        "-p",
        "sandlock-notif",
        "--example",
        "notif_roundtrip",
    ])?;
    for line in out.lines() {
        report.note(line.trim());
    }
    // "notification round trip: median N ns (…)"
    let median = out
        .split_once("median ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or("notif_roundtrip printed no median")?;
    report.check(Check {
        what: "notification round trip (median)".to_owned(),
        value: median,
        unit: CheckUnit::Nanos,
        limit: NOTIF_TARGET_NS,
        at_least: false,
        medians: None,
    });
    Ok(())
}

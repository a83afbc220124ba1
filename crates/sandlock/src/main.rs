//! The `sandlock` command line.
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use sandlock::{
    Command, CompatLevel, KernelFeatures, Policy, PolicyBuilder, PortRange, Sandbox, SandboxError,
};
use sandlock_sys::signal::SignalFd;

mod cli;

/// Exit code when sandlock itself failed (bad option, setup failure).
const EXIT_SANDLOCK: u8 = 125;
/// Exit code when the command exists but cannot be executed.
const EXIT_NOT_EXECUTABLE: u8 = 126;
/// Exit code when the command is not found.
const EXIT_NOT_FOUND: u8 = 127;
/// Exit code on timeout.
const EXIT_TIMEOUT: u8 = 124;

/// Read-only paths of the default profile (used when no -r/-w is given), where they exist.
const DEFAULT_READ: &[&str] = &["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc"];

const AFTER_HELP: &str = "\
Examples:
  sandlock run -- echo hello
      the default profile: read-only /usr, /lib, /lib64, /bin, /sbin, /etc, the usual
      devices, and a fresh private writable TMPDIR
  sandlock run -r /usr -r /lib -w /tmp -- python3 untrusted.py
      only what is given (plus /dev/null, /dev/zero, /dev/full, /dev/tty and
      read-only /dev/random, /dev/urandom)
  sandlock run -t 10 --net-allow-bind 8080 -e 'python3 -m http.server 8080'
  sandlock run -i -- sh
      an interactive shell on this terminal
  sandlock check
      what this kernel lets sandlock enforce

Exit status: the command's own; 128+N if it was killed by signal N; 124 on timeout;
125 if sandlock failed; 126 if the command cannot be executed; 127 if it is not found.";

#[derive(Parser, Debug)]
#[command(name = "sandlock", version, about = "A lightweight, unprivileged Linux process sandbox: Landlock, seccomp-bpf and seccomp user notification", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

// Parsed once per process: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a command in a sandbox.
    Run(RunArgs),
    /// Report what this kernel lets sandlock enforce.
    Check,
    /// Show the port mappings (`--port-remap`) of running sandboxes.
    Ports(cli::network::PortsArgs),
}

#[derive(Args, Debug)]
#[command(after_help = AFTER_HELP)]
struct RunArgs {
    /// Allow reading (and executing) below PATH. Repeatable.
    #[arg(short = 'r', long = "fs-read", value_name = "PATH")]
    fs_read: Vec<PathBuf>,
    /// Allow reading and writing below PATH. Repeatable.
    #[arg(short = 'w', long = "fs-write", value_name = "PATH")]
    fs_write: Vec<PathBuf>,
    /// Allow binding these TCP ports, e.g. 8080 or 8080,9000-9005 (Landlock ABI 4). Without
    /// it, every TCP bind is denied. TCP connects are denied too (outbound rules come with
    /// --net-allow).
    #[arg(long = "net-allow-bind", value_name = "PORTS")]
    net_allow_bind: Vec<String>,
    /// Start with only PATH, HOME, USER, LANG and TERM of this environment.
    #[arg(long)]
    clean_env: bool,
    /// Set an environment variable for the command. Repeatable.
    #[arg(long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// Working directory of the command.
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Deny one more syscall (with EPERM). Repeatable.
    #[arg(long = "deny-syscall", value_name = "NAME")]
    deny_syscall: Vec<String>,
    /// Cap each process's open files (RLIMIT_NOFILE, soft and hard).
    #[arg(long, value_name = "N")]
    max_open_files: Option<u64>,
    /// No core dumps, not even to a core_pattern pipe helper.
    #[arg(long)]
    no_coredump: bool,
    /// Turn address-space layout randomisation off (ADDR_NO_RANDOMIZE).
    #[arg(long)]
    no_randomize_memory: bool,
    /// Turn transparent huge pages off.
    #[arg(long)]
    no_huge_pages: bool,
    /// Run only on these CPUs, e.g. 0 or 0-1,3; the sandbox cannot widen the set
    /// (sched_setaffinity is denied).
    #[arg(long, value_name = "LIST")]
    cpu_cores: Option<String>,
    /// Kill the whole sandbox after SECS seconds (exit status 124).
    #[arg(short = 't', long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Write one JSON line to this fd at exit: exit code or signal, timed_out, enforcement.
    #[arg(long = "status-fd", value_name = "FD")]
    status_fd: Option<u32>,
    /// Give the command this terminal (for shells and other interactive programs).
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Run `/bin/sh -c CMD`.
    #[arg(
        short = 'e',
        long = "exec-shell",
        value_name = "CMD",
        conflicts_with = "command"
    )]
    exec_shell: Option<String>,
    /// Refuse to run unless every Landlock protection is enforced by this kernel.
    #[arg(long)]
    landlock_require: bool,
    /// Run even when the kernel has no Landlock (seccomp and the supervisor still enforce
    /// their part; the filesystem is then not confined).
    #[arg(long)]
    allow_degraded: bool,
    /// Print the policy that would apply, and exit.
    #[arg(long)]
    print_policy: bool,
    #[command(flatten)]
    network: cli::network::NetArgs,
    #[command(flatten)]
    resources: cli::resources::ResourceArgs,
    #[command(flatten)]
    views: cli::views::ViewArgs,
    #[command(flatten)]
    determinism: cli::determinism::DeterminismArgs,
    /// The command and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<std::ffi::OsString>,
}

/// A fatal error of sandlock itself (exit 125, or 126/127 for exec problems).
struct Fatal {
    code: u8,
    message: String,
}

impl<E: std::error::Error> From<E> for Fatal {
    fn from(e: E) -> Fatal {
        Fatal {
            code: EXIT_SANDLOCK,
            message: chain(&e),
        }
    }
}

/// An error with its sources: "a: b: c".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(args) => run(args),
        Cmd::Check => check(),
        Cmd::Ports(args) => cli::network::ports(&args).map_err(|message| Fatal {
            code: EXIT_SANDLOCK,
            message,
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("sandlock: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// A private writable directory for the default profile, removed when dropped.
struct PrivateTmp(PathBuf);

impl PrivateTmp {
    fn create() -> std::io::Result<PrivateTmp> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut seed = [0u8; 8];
        std::fs::File::open("/dev/urandom").and_then(|mut f| {
            use std::io::Read;
            f.read_exact(&mut seed)
        })?;
        let dir = base.join(format!(
            "sandlock-{}-{:016x}",
            std::process::id(),
            u64::from_ne_bytes(seed)
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(PrivateTmp(dir))
    }
}

impl Drop for PrivateTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build_policy(args: &RunArgs, tmp: Option<&Path>) -> Result<Policy, Fatal> {
    let mut b: PolicyBuilder = Policy::builder();
    if let Some(tmp) = tmp {
        for p in DEFAULT_READ.iter().filter(|p| Path::new(p).exists()) {
            b = b.fs_read(*p);
        }
        b = b.fs_write(tmp).env("TMPDIR", tmp);
    }
    for p in &args.fs_read {
        b = b.fs_read(p);
    }
    for p in &args.fs_write {
        b = b.fs_write(p);
    }
    for spec in &args.net_allow_bind {
        for r in PortRange::parse_list(spec)? {
            b = b.tcp_bind(r);
        }
    }
    b = b.clean_env(args.clean_env);
    for kv in &args.env {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(Fatal {
                code: EXIT_SANDLOCK,
                message: format!("--env {kv}: expected K=V"),
            });
        };
        b = b.env(k, v);
    }
    if let Some(cwd) = &args.cwd {
        b = b.cwd(cwd);
    }
    for name in &args.deny_syscall {
        b = b.deny_syscall(name);
    }
    if let Some(n) = args.max_open_files {
        b = b.max_open_files(n);
    }
    if let Some(list) = &args.cpu_cores {
        b = b.cpu_cores(sandlock::parse_cpu_list(list)?);
    }
    b = b
        .no_coredump(args.no_coredump)
        .no_randomize_memory(args.no_randomize_memory)
        .no_huge_pages(args.no_huge_pages);
    if args.landlock_require {
        b = b.compat(CompatLevel::HardRequirement);
    }
    b = args.network.apply(b)?;
    b = args.resources.apply(b)?;
    b = args.views.apply(b)?;
    b = args.determinism.apply(b)?;
    b = b.allow_degraded(args.allow_degraded);
    Ok(b.build()?)
}

fn print_policy(p: &Policy) {
    let list = |v: &[PathBuf]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    println!("read:     {}", list(p.fs_read()));
    println!("write:    {}", list(p.fs_write()));
    println!(
        "devices:  read-write {}; read-only {}",
        sandlock::DEVICES_READ_WRITE.join(" "),
        sandlock::DEVICES_READ.join(" ")
    );
    let ports = |v: &[PortRange]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.iter()
                .map(|r| {
                    if r.first == r.last {
                        r.first.to_string()
                    } else {
                        format!("{}-{}", r.first, r.last)
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        }
    };
    println!("tcp bind: {}", ports(p.tcp_bind()));
    println!("tcp connect: {}", ports(p.tcp_connect()));
    println!(
        "ipc scoping: {}",
        if p.ipc_scoping() { "on" } else { "off" }
    );
    if let Some(cwd) = p.cwd() {
        println!("cwd:      {}", cwd.display());
    }
    let l = p.limits();
    if let Some(n) = l.max_open_files {
        println!("max open files: {n}");
    }
    if let Some(cpus) = &l.cpu_cores {
        println!("cpu cores: {cpus:?}");
    }
    for (on, what) in [
        (l.no_coredump, "no core dumps"),
        (l.no_randomize_memory, "no address-space randomisation"),
        (l.no_huge_pages, "no transparent huge pages"),
    ] {
        if on {
            println!("{what}");
        }
    }
    if !p.deny_syscalls().is_empty() {
        println!("extra denied syscalls: {}", p.deny_syscalls().join(" "));
    }
}

fn run(args: RunArgs) -> Result<u8, Fatal> {
    // Landlock keeps the sandbox from ptrace and /proc/PID/mem of this process; where it is
    // missing, `Sandbox::spawn` makes this process non-dumpable instead. Not before: a
    // non-dumpable process's memory is closed to an unprivileged outer supervisor, so a
    // nested sandlock could not have its own opens served.
    let default_profile = args.fs_read.is_empty() && args.fs_write.is_empty();
    let tmp = if default_profile {
        Some(PrivateTmp::create().map_err(|e| Fatal {
            code: EXIT_SANDLOCK,
            message: format!(
                "cannot create the default profile's private TMPDIR in {}: {e}",
                std::env::temp_dir().display()
            ),
        })?)
    } else {
        None
    };
    let policy = build_policy(&args, tmp.as_ref().map(|t| t.0.as_path()))?;
    if args.print_policy {
        print_policy(&policy);
        return Ok(0);
    }
    let argv: Vec<std::ffi::OsString> = match &args.exec_shell {
        Some(cmd) => vec!["/bin/sh".into(), "-c".into(), cmd.into()],
        None => args.command.clone(),
    };
    let Some((program, rest)) = argv.split_first() else {
        return Err(Fatal {
            code: EXIT_SANDLOCK,
            message: "no command given (sandlock run [OPTIONS] -- CMD [ARGS…])".into(),
        });
    };
    let mut status_out = match args.status_fd {
        // Opening /proc/self/fd/N gives a new description of the same file or pipe.
        Some(fd) => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .open(format!("/proc/self/fd/{fd}"))
                .map_err(|e| Fatal {
                    code: EXIT_SANDLOCK,
                    message: format!("--status-fd {fd}: {e}"),
                })?,
        ),
        None => None,
    };
    let limits = policy.limits().clone();
    let mut sandbox = Sandbox::new(policy)?;
    sandbox.adopt_orphans()?;
    // SIGINT, SIGTERM and SIGHUP to sandlock itself stop the sandbox and still clean up (the
    // private TMPDIR); the command starts with them unblocked.
    let stop_signals = SignalFd::new(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP])?;
    let cmd = Command::new(program)
        .args(rest.iter().cloned())
        .interactive(args.interactive);
    let running = sandbox.spawn(&cmd).map_err(|e| match e {
        SandboxError::NotFound(_) => Fatal {
            code: EXIT_NOT_FOUND,
            message: e.to_string(),
        },
        SandboxError::NotExecutable(_) => Fatal {
            code: EXIT_NOT_EXECUTABLE,
            message: e.to_string(),
        },
        SandboxError::Spawn(s) if s.step == sandlock_sys::spawn::SpawnStep::Exec => Fatal {
            code: if s.errno == sandlock_sys::Errno::ENOENT {
                EXIT_NOT_FOUND
            } else {
                EXIT_NOT_EXECUTABLE
            },
            message: format!("{}: {}", program.display(), s),
        },
        other => Fatal::from(other),
    })?;
    let enforcement = running.status().clone();
    let timeout = args.timeout.map(Duration::from_secs_f64);
    let exit = running.wait_interruptible(timeout, stop_signals.as_fd())?;
    if let Some(out) = status_out.as_mut() {
        let field = |v: Option<i32>| v.map_or("null".to_owned(), |c| c.to_string());
        let l = &limits;
        let max_open = l
            .max_open_files
            .map_or("null".to_owned(), |n| n.to_string());
        let cpus = l.cpu_cores.as_ref().map_or("null".to_owned(), |c| {
            format!(
                "[{}]",
                c.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
            )
        });
        let line = format!(
            "{{\"exit_code\":{},\"signal\":{},\"timed_out\":{},\"limits\":{{\"max_open_files\":{max_open},\"no_coredump\":{},\"no_randomize_memory\":{},\"no_huge_pages\":{},\"cpu_cores\":{cpus}}},\"enforcement\":{},\"report\":{}}}\n",
            field(exit.code),
            field(exit.signal),
            exit.timed_out,
            l.no_coredump,
            l.no_randomize_memory,
            l.no_huge_pages,
            enforcement.to_json(),
            exit.report.to_json()
        );
        let _ = out.write_all(line.as_bytes());
    }
    drop(tmp);
    if let Some(reason) = &exit.report.kill_reason {
        eprintln!("sandlock: the sandbox was killed: {reason}");
    }
    if exit.interrupted {
        let sig = stop_signals.read().unwrap_or(libc::SIGTERM);
        eprintln!("sandlock: stopped by signal {sig}; the sandbox was killed");
        return Ok(u8::try_from(128 + sig).unwrap_or(EXIT_SANDLOCK));
    }
    if exit.timed_out {
        eprintln!(
            "sandlock: timed out after {} s; the sandbox was killed",
            args.timeout.unwrap_or_default()
        );
        return Ok(EXIT_TIMEOUT);
    }
    Ok(u8::try_from(exit.shell_code() & 0xff).unwrap_or(1))
}

fn check() -> Result<u8, Fatal> {
    let f = KernelFeatures::get();
    println!(
        "kernel: {}",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    println!();
    let abi = f.effective_landlock_abi();
    println!("Landlock: {} (ABI {abi})", f.landlock);
    for (min, what) in [
        (1, "filesystem read/write/execute rules"),
        (2, "rename and link across directories (refer)"),
        (3, "truncate"),
        (4, "TCP bind and connect ports"),
        (5, "ioctl on devices"),
        (6, "IPC scoping: abstract unix sockets and signals"),
        (7, "audit logging flags"),
    ] {
        println!(
            "  ABI {min}: {what}: {}",
            if abi >= min { "yes" } else { "no" }
        );
    }
    println!();
    println!("seccomp and the supervisor:");
    for (name, avail) in f.entries() {
        if name != "landlock" {
            println!(
                "  {name}: {}",
                sandlock_sys::features::describe(name, avail)
            );
        }
    }
    println!();
    println!("what `sandlock run` would enforce (default profile):");
    let tmp = std::env::temp_dir();
    let mut b = Policy::builder().fs_write(&tmp).allow_degraded(true);
    for p in DEFAULT_READ.iter().filter(|p| Path::new(p).exists()) {
        b = b.fs_read(*p);
    }
    match Sandbox::new(b.build()?) {
        Ok(s) => {
            for line in s.status().to_string().lines() {
                println!("  {line}");
            }
            if abi == 0 {
                println!(
                    "  (without Landlock, `sandlock run` refuses to start unless --allow-degraded is given)"
                );
            }
        }
        Err(e) => println!("  cannot prepare the default policy: {}", chain(&e)),
    }
    Ok(0)
}

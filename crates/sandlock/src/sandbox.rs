//! `Sandbox`: prepares a policy once, spawns confined commands, supervises their process tree.

use std::ffi::{CString, OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sandlock_sys::pidfd::{PidFd, WaitStatus};
use sandlock_sys::signal;
use sandlock_sys::spawn::{self as sys_spawn, CStringArray, ChildSetup};
use sandlock_sys::supervise::{Supervised, Waited, spawn_supervised};

use crate::agent::Agent;
use crate::confine::{self, PrepareError, Prepared};
use crate::notify::{DoneGuard, Instance, Plan, RuntimeReport};
use crate::policy::Policy;
use crate::status::EnforcementStatus;
use crate::supervisor::{self, SuperviseError};
use crate::tree;

/// Where a standard stream of the command goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Stdio {
    /// The supervisor's own stream.
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// A pipe the supervisor reads ([`Sandbox::run`] captures it).
    Piped,
}

/// A command to run in a sandbox.
#[derive(Debug, Clone)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    stdio: [Stdio; 3],
    interactive: bool,
}

impl Command {
    /// A command running `program` (a path, or a name looked up in the sandbox's `PATH`).
    pub fn new(program: impl Into<OsString>) -> Command {
        Command {
            program: program.into(),
            args: Vec::new(),
            stdio: [Stdio::Inherit; 3],
            interactive: false,
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets stdin.
    pub fn stdin(mut self, s: Stdio) -> Command {
        self.stdio[0] = s;
        self
    }

    /// Sets stdout.
    pub fn stdout(mut self, s: Stdio) -> Command {
        self.stdio[1] = s;
        self
    }

    /// Sets stderr.
    pub fn stderr(mut self, s: Stdio) -> Command {
        self.stdio[2] = s;
        self
    }

    /// Hands the controlling terminal (stdin's) to the command while it runs, for shells and
    /// other interactive programs. The supervisor is never stopped by job control meanwhile.
    pub fn interactive(mut self, on: bool) -> Command {
        self.interactive = on;
        self
    }
}

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The policy could not be turned into kernel rules.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// The command was not found.
    #[error("{0}: command not found")]
    NotFound(String),
    /// The command exists but cannot be executed.
    #[error("{0}: permission denied (not an executable file)")]
    NotExecutable(String),
    /// A string holds a NUL byte.
    #[error("argument or environment entry contains a NUL byte")]
    Nul,
    /// Setting up the child failed at a named step.
    #[error("{0}")]
    Spawn(#[from] sys_spawn::SpawnError),
    /// A system call of the supervisor failed.
    #[error("{what}")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The errno.
        #[source]
        source: sandlock_sys::Errno,
    },
    /// The supervisor thread could not take the sandbox.
    #[error(transparent)]
    Supervise(#[from] SuperviseError),
    /// Reading captured output failed.
    #[error("cannot read the command's output")]
    Io(#[from] std::io::Error),
}

/// How a sandbox ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExitReport {
    /// The first process's exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    /// Whether the timeout fired (the tree was then killed).
    pub timed_out: bool,
    /// Whether the wait was interrupted (the tree was then killed).
    pub interrupted: bool,
    /// What the policy's features reported: limits that fired, port mappings, why sandlock
    /// killed the sandbox.
    pub report: RuntimeReport,
}

impl ExitReport {
    /// The shell convention: the code, or 128 + the signal.
    pub fn shell_code(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => 1,
        }
    }
}

/// A command's captured output and how it ended.
#[derive(Debug, Clone)]
pub struct Output {
    /// How it ended.
    pub exit: ExitReport,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// A prepared policy: the Landlock ruleset and the seccomp program are built once here and
/// reused by every [`spawn`](Sandbox::spawn).
pub struct Sandbox {
    policy: Policy,
    prepared: Prepared,
    adopt_orphans: bool,
    /// What the policy's features need from the supervisor.
    plan: Plan,
    /// Workers confined like the sandbox, shared by every spawn of it; `None` when no feature
    /// acts on the sandbox's behalf.
    agent: Option<Agent>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("policy", &self.policy)
            .field("prepared", &self.prepared)
            .field("adopt_orphans", &self.adopt_orphans)
            .field("plan", &self.plan)
            .finish()
    }
}

impl Sandbox {
    /// Prepares `policy` for this kernel.
    ///
    /// # Errors
    /// When Landlock is unavailable and the policy does not allow a degraded run, when
    /// `HardRequirement` is set and the kernel lacks part of the policy, or when a rule cannot
    /// be built.
    pub fn new(policy: Policy) -> Result<Sandbox, SandboxError> {
        let plan = crate::features::plan(
            &policy,
            sandlock_sys::features::KernelFeatures::get_without_child(),
        )?;
        Sandbox::with_plan(policy, plan)
    }

    /// Prepares `policy` with what `plan` asks of the supervisor. This is how features that
    /// decide on behalf of the sandbox plug in (see [`crate::notify`]).
    pub(crate) fn with_plan(policy: Policy, plan: Plan) -> Result<Sandbox, SandboxError> {
        let prepared = confine::prepare(&policy, &plan)?;
        let agent = if plan.is_empty() {
            None
        } else {
            let ruleset = prepared
                .ruleset
                .as_ref()
                .map(|r| r.try_clone())
                .transpose()
                .map_err(SandboxError::Io)?;
            Some(Agent::new(ruleset))
        };
        Ok(Sandbox {
            policy,
            prepared,
            adopt_orphans: false,
            plan,
            agent,
        })
    }

    /// What will be enforced.
    pub fn status(&self) -> &EnforcementStatus {
        &self.prepared.status
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Makes the calling process a child subreaper, so that descendants of a sandbox whose
    /// first process has exited are adopted by it and still belong to the sandbox (waited for,
    /// killed on timeout). Use it when the process runs no children of its own besides
    /// sandboxes, as the `sandlock` CLI does: every adopted orphan is then counted as the
    /// sandbox's.
    pub fn adopt_orphans(&mut self) -> Result<(), SandboxError> {
        sandlock_sys::process::set_child_subreaper(true).map_err(|source| SandboxError::Sys {
            what: "cannot become a child subreaper",
            source,
        })?;
        self.adopt_orphans = true;
        Ok(())
    }

    /// Starts `cmd` confined by the policy.
    ///
    /// The sandbox's init process gets `SIGTERM` (and kills the tree) when the *thread* that
    /// called `spawn` exits: call it from a thread that outlives the sandbox. Without Landlock
    /// (a degraded run), this also makes the calling process non-dumpable, since nothing else
    /// would keep the sandbox out of its memory (`/proc/PID/mem`).
    pub fn spawn(&self, cmd: &Command) -> Result<Running, SandboxError> {
        if self.prepared.ruleset.is_none() {
            sandlock_sys::process::set_dumpable(false).map_err(|source| SandboxError::Sys {
                what: "cannot make the supervisor non-dumpable",
                source,
            })?;
        }
        let env = self.policy.environment(std::env::vars_os());
        let path = resolve(&cmd.program, &env)?;
        let cstr = |s: &OsStr| CString::new(s.as_bytes()).map_err(|_| SandboxError::Nul);
        let mut argv = vec![cstr(&cmd.program)?];
        for a in &cmd.args {
            argv.push(cstr(a)?);
        }
        let envp: Vec<CString> = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone().into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).map_err(|_| SandboxError::Nul)
            })
            .collect::<Result<_, _>>()?;
        let (argv, envp) = (CStringArray::new(argv), CStringArray::new(envp));
        let path = cstr(path.as_os_str())?;
        let cwd = self.policy.cwd().map(|c| cstr(c.as_os_str())).transpose()?;

        // /dev/null is opened only for a stream that uses it: not on the common path.
        let null = || -> std::io::Result<OwnedFd> {
            Ok(std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")?
                .into())
        };
        let mut ours: [Option<std::io::PipeReader>; 3] = [None, None, None];
        let mut theirs: [Option<OwnedFd>; 3] = [None, None, None];
        for (i, s) in cmd.stdio.iter().enumerate() {
            match s {
                Stdio::Inherit => {}
                Stdio::Null => theirs[i] = Some(null()?),
                Stdio::Piped if i == 0 => theirs[i] = Some(null()?),
                Stdio::Piped => {
                    let (r, w) = std::io::pipe()?;
                    ours[i] = Some(r);
                    theirs[i] = Some(w.into());
                }
            }
        }
        let stdio: [Option<BorrowedFd<'_>>; 3] = [
            theirs[0].as_ref().map(|f| f.as_fd()),
            theirs[1].as_ref().map(|f| f.as_fd()),
            theirs[2].as_ref().map(|f| f.as_fd()),
        ];
        let stdin = std::io::stdin();
        let tty = cmd.interactive.then(|| stdin.as_fd());
        if tty.is_some() {
            // The supervisor takes the terminal back after the command; it must not be stopped
            // for touching it from the background meanwhile.
            signal::ignore_job_control_signals(true);
        }
        let limits = self.policy.limits();
        let mut rlimits = Vec::new();
        if let Some(n) = limits.max_open_files {
            rlimits.push((libc::RLIMIT_NOFILE, n));
        }
        if limits.no_coredump {
            // 1 byte, not 0: see PolicyBuilder::no_coredump.
            rlimits.push((libc::RLIMIT_CORE, 1));
        }
        let personality_add = if limits.no_randomize_memory {
            libc::ADDR_NO_RANDOMIZE as u32
        } else {
            0
        };
        let wants_listener = self.prepared.status.supervisor.listener;
        let setup = ChildSetup {
            path: &path,
            argv: &argv,
            envp: &envp,
            cwd: cwd.as_deref(),
            stdio,
            new_process_group: true,
            foreground_terminal: tty,
            parent_death_signal: Some(libc::SIGKILL),
            child_subreaper: true,
            landlock_ruleset: self.prepared.ruleset.as_ref().map(|f| f.as_fd()),
            filter: Some(&self.prepared.filter),
            filter_flags: self.prepared.filter_flags,
            rlimits: &rlimits,
            personality_add,
            thp_disable: limits.no_huge_pages,
            cpu_affinity: limits.cpu_cores.as_deref(),
            listener_optional: true,
        };
        let spawned_at = Instant::now();
        let mut spawned = spawn_supervised(&setup, self.prepared.scoped_kill)?;
        drop(theirs);
        let mut served = false;
        let mut instance = None;
        if let Some(agent) = &self.agent {
            // A pidfd of the init lets the supervisor end the sandbox (a handler's request, a
            // limit). Anything failing here ends the sandbox: its notified calls would
            // otherwise wait forever.
            let init = spawned
                .init_pidfd()
                .map(|p| p.as_fd().try_clone_to_owned())
                .transpose()
                .map_err(SandboxError::Io)?
                .ok_or(SandboxError::Sys {
                    what: "the sandbox's init is gone",
                    source: sandlock_sys::Errno::ESRCH,
                })?;
            let inst = Instance {
                init_pid: spawned.init_pid(),
                command_pid: spawned.pid,
                init: Arc::new(PidFd::from(init)),
                agent: agent.clone(),
                report: Arc::new(Mutex::new(RuntimeReport::default())),
                done: Arc::new(AtomicBool::new(false)),
                spawned_at,
            };
            if let Some(listener) = spawned.listener.take() {
                let plan = self.plan.clone();
                let for_supervisor = inst.clone();
                let init = inst
                    .init
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(SandboxError::Io)?;
                supervisor::register(
                    listener,
                    Box::new(move || plan.install(&for_supervisor)),
                    PidFd::from(init),
                )?;
                served = true;
            }
            self.plan.started(&inst);
            instance = Some(inst);
        }
        let mut status = self.prepared.status.clone();
        if wants_listener && spawned.listener.is_none() && !served {
            status.supervisor.listener = false;
            status.supervisor.reason = Some(
                "nested: an outer seccomp listener exists, so this sandbox's notified calls fail \
                 with ENOSYS and the outer supervisor keeps its own"
                    .to_owned(),
            );
        }
        let [_, stdout, stderr] = ours;
        Ok(Running {
            served,
            report: instance.as_ref().map(|i| Arc::clone(&i.report)),
            _done: instance.map(|i| DoneGuard(i.done)),
            sup: spawned,
            status,
            adopt_orphans: self.adopt_orphans,
            interactive: cmd.interactive,
            stdout,
            stderr,
        })
    }

    /// Runs `cmd` to completion, capturing stdout and stderr (at any size), with an optional
    /// timeout after which the whole tree is killed.
    pub fn run(&self, cmd: &Command, timeout: Option<Duration>) -> Result<Output, SandboxError> {
        let cmd = cmd.clone().stdout(Stdio::Piped).stderr(Stdio::Piped);
        let mut running = self.spawn(&cmd)?;
        let (out, err) = (running.stdout.take(), running.stderr.take());
        // Drain both pipes at once so that neither can fill up and block the command.
        std::thread::scope(|s| {
            let readers = [out, err].map(|pipe| {
                s.spawn(move || -> std::io::Result<Vec<u8>> {
                    let mut buf = Vec::new();
                    if let Some(mut p) = pipe {
                        p.read_to_end(&mut buf)?;
                    }
                    Ok(buf)
                })
            });
            let exit = running.wait_timeout(timeout)?;
            let [o, e] = readers.map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())));
            Ok(Output {
                exit,
                stdout: o?,
                stderr: e?,
            })
        })
    }
}

/// Finds the executable: a name with a slash is a path; otherwise search the sandbox's PATH.
fn resolve(program: &OsStr, env: &[(OsString, OsString)]) -> Result<PathBuf, SandboxError> {
    let name = program.to_string_lossy().into_owned();
    let check = |p: &Path| -> Option<Result<PathBuf, SandboxError>> {
        let meta = std::fs::metadata(p).ok()?;
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            Some(Ok(p.to_owned()))
        } else {
            Some(Err(SandboxError::NotExecutable(p.display().to_string())))
        }
    };
    if program.as_bytes().contains(&b'/') {
        return check(Path::new(program)).unwrap_or(Err(SandboxError::NotFound(name)));
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    let mut denied = None;
    for dir in std::env::split_paths(&path) {
        match check(&dir.join(program)) {
            Some(Ok(p)) => return Ok(p),
            Some(Err(e)) => denied = denied.or(Some(e)),
            None => {}
        }
    }
    Err(denied.unwrap_or(SandboxError::NotFound(name)))
}

/// A running sandbox: its first process and everything below it.
///
/// The tree is owned by a small init process between the supervisor and the command (see
/// `sandlock_sys::supervise`): kill, pause, resume and timeout reach every descendant, and if
/// the supervisor dies the init kills the tree. Dropping a `Running` kills the sandbox.
#[derive(Debug)]
pub struct Running {
    /// Whether the supervisor thread serves this sandbox's listener.
    served: bool,
    /// What the policy's features report while it runs.
    report: Option<Arc<Mutex<RuntimeReport>>>,
    /// Tells the features' background work that the sandbox is over, when dropped.
    _done: Option<DoneGuard>,
    sup: Supervised,
    status: EnforcementStatus,
    adopt_orphans: bool,
    interactive: bool,
    stdout: Option<std::io::PipeReader>,
    stderr: Option<std::io::PipeReader>,
}

impl Running {
    /// The command's pid.
    pub fn pid(&self) -> i32 {
        self.sup.pid
    }

    /// What is enforced for this sandbox.
    pub fn status(&self) -> &EnforcementStatus {
        &self.status
    }

    /// Whether the supervisor holds this sandbox's seccomp listener.
    pub fn supervised(&self) -> bool {
        self.served || self.sup.listener.is_some()
    }

    /// What the policy's features report so far: limits that fired, port mappings.
    pub fn runtime_report(&self) -> RuntimeReport {
        self.report
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .unwrap_or_default()
    }

    /// The command's stdout pipe, when it was [`Stdio::Piped`].
    pub fn take_stdout(&mut self) -> Option<std::io::PipeReader> {
        self.stdout.take()
    }

    /// The command's stderr pipe, when it was [`Stdio::Piped`].
    pub fn take_stderr(&mut self) -> Option<std::io::PipeReader> {
        self.stderr.take()
    }

    /// Kills every process of the sandbox with `SIGKILL`.
    pub fn kill(&self) {
        let _ = self.sup.kill();
    }

    /// Stops every process of the sandbox (`SIGSTOP`).
    pub fn pause(&self) {
        let _ = self.sup.pause();
    }

    /// Continues every process of the sandbox (`SIGCONT`).
    pub fn resume(&self) {
        let _ = self.sup.resume();
    }

    /// Waits until the whole tree has exited.
    pub fn wait(self) -> Result<ExitReport, SandboxError> {
        self.wait_timeout(None)
    }

    /// Waits until the whole tree has exited, or kills it when `timeout` passes first.
    pub fn wait_timeout(self, timeout: Option<Duration>) -> Result<ExitReport, SandboxError> {
        self.wait_inner(timeout, None)
    }

    /// Like [`wait_timeout`](Self::wait_timeout), but kills the sandbox as soon as
    /// `interrupt` becomes readable (for example a signalfd for SIGINT and SIGTERM, so that a
    /// supervisor being asked to stop takes its sandbox with it and can still clean up).
    pub fn wait_interruptible(
        self,
        timeout: Option<Duration>,
        interrupt: BorrowedFd<'_>,
    ) -> Result<ExitReport, SandboxError> {
        self.wait_inner(timeout, Some(interrupt))
    }

    fn wait_inner(
        mut self,
        timeout: Option<Duration>,
        interrupt: Option<BorrowedFd<'_>>,
    ) -> Result<ExitReport, SandboxError> {
        let sys = |what| move |source| SandboxError::Sys { what, source };
        let (mut timed_out, mut interrupted) = (false, false);
        let waited = self
            .sup
            .wait_or(timeout, interrupt)
            .map_err(sys("cannot wait for the sandbox"))?;
        let status = match waited {
            Waited::Ended(status) => status,
            other => {
                timed_out = other == Waited::TimedOut;
                interrupted = other == Waited::Interrupted;
                let _ = self.sup.kill();
                self.sup
                    .wait(None)
                    .map_err(sys("cannot wait for the sandbox"))?
                    .unwrap_or(WaitStatus::Exited(-1))
            }
        };
        if self.adopt_orphans && signal::has_children() {
            // The init was killed before its tree ended (possible without Landlock IPC
            // scoping): what was below it was adopted by us. Kill it all.
            self.kill_adopted();
        }
        Ok(self.report(status, timed_out, interrupted))
    }

    /// Kills and reaps every descendant of the supervisor (only with `adopt_orphans`, where
    /// every child of the supervisor belongs to a sandbox).
    fn kill_adopted(&self) {
        let me = std::process::id() as i32;
        for _ in 0..10_000 {
            let left = tree::descendants(me, true);
            if left.is_empty() {
                break;
            }
            for pid in &left {
                let _ = signal::kill_process(*pid, libc::SIGKILL);
                let _ = signal::reap_child(*pid);
            }
        }
    }

    fn report(&self, status: WaitStatus, timed_out: bool, interrupted: bool) -> ExitReport {
        if self.interactive {
            // Take the terminal back for the supervisor's own process group.
            let _ = signal::set_foreground(std::io::stdin().as_fd(), signal::process_group());
        }
        let (code, signal) = match status {
            WaitStatus::Exited(c) => (Some(c), None),
            WaitStatus::Signaled { signal, .. } => (None, Some(signal)),
            _ => (None, None),
        };
        ExitReport {
            code,
            signal,
            timed_out,
            interrupted,
            report: self.runtime_report(),
        }
    }
}

#[cfg(test)]
mod tests {
    use sandlock_notif::Verdict;

    use super::*;

    fn system_policy() -> Policy {
        let mut b = Policy::builder();
        for p in ["/usr", "/lib", "/lib64", "/bin", "/etc"] {
            if std::path::Path::new(p).exists() {
                b = b.fs_read(p);
            }
        }
        b.build().unwrap()
    }

    #[test]
    fn notified_calls_are_answered_by_the_supervisor_thread() {
        let mut plan = Plan::default();
        plan.notify(&["getppid"]);
        plan.installer("test", |_, t| {
            t.on("getppid", |_| Ok(Verdict::Return(4242)))
        });
        let sandbox = Sandbox::with_plan(system_policy(), plan).unwrap();
        // Two sandboxes at once, served by the one thread.
        let cmd = Command::new("sh").args(["-c", "echo $PPID"]);
        let (a, b) = (
            sandbox.run(&cmd, None).unwrap(),
            sandbox.run(&cmd, None).unwrap(),
        );
        for out in [a, b] {
            assert_eq!(String::from_utf8_lossy(&out.stdout), "4242\n");
            assert_eq!(out.exit.code, Some(0));
        }
    }

    #[test]
    fn deferred_answers_come_from_confined_agent_workers() {
        let mut plan = Plan::default();
        plan.notify(&["getppid", "uname"]);
        plan.installer("test", |inst, t| {
            let agent = inst.agent.clone();
            t.on("getppid", move |ctx| {
                let responder = ctx.responder();
                agent.spawn(move |w| {
                    let v = match w.confined() {
                        Ok(()) => Verdict::Return(4343),
                        Err(e) => Verdict::Errno(e),
                    };
                    let _ = responder.answer(v);
                });
                Ok(Verdict::Deferred)
            });
            // A responder dropped unanswered fails the call closed.
            t.on("uname", |ctx| {
                drop(ctx.responder());
                Ok(Verdict::Deferred)
            });
        });
        let sandbox = Sandbox::with_plan(system_policy(), plan).unwrap();
        let out = sandbox
            .run(&Command::new("sh").args(["-c", "echo $PPID; uname"]), None)
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "4343\n");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"));
        assert_eq!(out.exit.code, Some(1));
    }

    #[test]
    fn a_failing_handler_answers_eperm_and_kill_ends_the_sandbox() {
        let mut plan = Plan::default();
        plan.notify(&["uname", "getppid"]);
        plan.installer("test", |_, t| {
            t.on("uname", |_| {
                Err(sandlock_notif::HandlerError::Sys(sandlock_sys::Errno::EIO))
            });
            t.on("getppid", |_| Ok(Verdict::Kill));
        });
        let sandbox = Sandbox::with_plan(system_policy(), plan).unwrap();
        let out = sandbox.run(&Command::new("uname"), None).unwrap();
        assert_eq!(out.exit.code, Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"));
        // $PPID makes sh call getppid first thing: the handler asks for a kill.
        let cmd = Command::new("sh").args(["-c", "echo $PPID; sleep 30"]);
        let out = sandbox.run(&cmd, Some(Duration::from_secs(20))).unwrap();
        assert!(
            !out.exit.timed_out,
            "killed by the handler's request, not by the timeout"
        );
        assert_eq!(out.exit.signal, Some(libc::SIGKILL));
    }
}

//! Start, confine and exec a child: the only code that runs between clone and exec.
//!
//! Everything the child needs is prepared by the caller in a [`ChildSetup`] before the clone:
//! the executable's path, argv and environment as C strings ([`CStringArray`]), the Landlock
//! ruleset fd and the compiled seccomp program. The child is made by the sandbox's init (see
//! [`crate::supervise::spawn_supervised`]) with `clone(CLONE_VM | CLONE_VFORK)`, like
//! `posix_spawn`: it shares the memory, runs on its own stack, and its parent waits until it
//! has exec'd.
//! In the child, this module makes only async-signal-safe system
//! calls and **never allocates**, so it is safe even when the parent has other threads (a
//! lock held by another thread at fork time, such as malloc's, is never touched).
//!
//! The child reports back over a `SOCK_SEQPACKET` socket pair: the seccomp listener fd (sent with
//! `SCM_RIGHTS`) once the filter is installed, or the step that failed with its errno. The
//! child's end is close-on-exec, so end-of-file after the listener means the exec succeeded.

use std::ffi::{CStr, CString, c_char};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use crate::Errno;
use crate::flags::FilterFlags;
use crate::structs::SockFilter;

/// A NULL-terminated array of C strings, as `execve` wants for argv and envp.
#[derive(Debug)]
pub struct CStringArray {
    strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStringArray {
    /// Builds the array (allocates: do it before fork).
    pub fn new(strings: Vec<CString>) -> CStringArray {
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        CStringArray { strings, ptrs }
    }

    /// The strings, without the terminating NULL.
    pub fn strings(&self) -> &[CString] {
        &self.strings
    }

    fn as_ptr(&self) -> *const *const c_char {
        self.ptrs.as_ptr()
    }
}

/// A step of the child's set-up, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[repr(u8)]
pub enum SpawnStep {
    /// `fork()` itself (in the parent).
    Fork = 1,
    /// `setpgid(0, 0)`: a process group of its own.
    ProcessGroup,
    /// `tcsetpgrp`: taking the terminal's foreground.
    Terminal,
    /// Resetting signal dispositions and the signal mask.
    Signals,
    /// `prctl(PR_SET_PDEATHSIG)`.
    ParentDeathSignal,
    /// `prctl(PR_SET_CHILD_SUBREAPER)`.
    Subreaper,
    /// `dup2` of stdin, stdout and stderr.
    Stdio,
    /// `chdir` to the working directory.
    Chdir,
    /// Resource limits, persona, transparent huge pages and CPU affinity.
    Limits,
    /// Dropping every capability.
    Capabilities,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`.
    NoNewPrivs,
    /// `landlock_restrict_self`.
    Landlock,
    /// `seccomp(SECCOMP_SET_MODE_FILTER)`.
    Seccomp,
    /// Sending the listener to the parent.
    SendListener,
    /// `close_range` of inherited fds.
    CloseFds,
    /// `execve`.
    Exec,
}

impl SpawnStep {
    const ALL: [SpawnStep; 16] = [
        SpawnStep::Fork,
        SpawnStep::ProcessGroup,
        SpawnStep::Terminal,
        SpawnStep::Signals,
        SpawnStep::ParentDeathSignal,
        SpawnStep::Subreaper,
        SpawnStep::Stdio,
        SpawnStep::Chdir,
        SpawnStep::Limits,
        SpawnStep::Capabilities,
        SpawnStep::NoNewPrivs,
        SpawnStep::Landlock,
        SpawnStep::Seccomp,
        SpawnStep::SendListener,
        SpawnStep::CloseFds,
        SpawnStep::Exec,
    ];

    pub(crate) fn from_u8(v: u8) -> Option<SpawnStep> {
        SpawnStep::ALL.into_iter().find(|s| *s as u8 == v)
    }

    /// What the step does, in words, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            SpawnStep::Fork => "fork",
            SpawnStep::ProcessGroup => "create a process group",
            SpawnStep::Terminal => "take the terminal's foreground",
            SpawnStep::Signals => "reset signal handling",
            SpawnStep::ParentDeathSignal => "set the parent-death signal",
            SpawnStep::Subreaper => "become a child subreaper",
            SpawnStep::Stdio => "set up stdin, stdout and stderr",
            SpawnStep::Chdir => "change to the working directory",
            SpawnStep::Limits => "apply the resource limits",
            SpawnStep::Capabilities => "drop capabilities",
            SpawnStep::NoNewPrivs => "set no_new_privs",
            SpawnStep::Landlock => "enforce the Landlock ruleset",
            SpawnStep::Seccomp => "install the seccomp filter",
            SpawnStep::SendListener => "send the seccomp listener to the supervisor",
            SpawnStep::CloseFds => "close inherited file descriptors",
            SpawnStep::Exec => "execute the command",
        }
    }
}

/// A failed step of the child's set-up and its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpawnError {
    /// The step that failed.
    pub step: SpawnStep,
    /// Its errno.
    pub errno: Errno,
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {}: {}", self.step.describe(), self.errno)
    }
}

impl std::error::Error for SpawnError {}

/// Everything the child does between fork and exec, prepared by the caller.
#[derive(Debug)]
pub struct ChildSetup<'a> {
    /// The executable, already resolved to a path.
    pub path: &'a CStr,
    /// argv, including argv\[0\].
    pub argv: &'a CStringArray,
    /// The complete environment.
    pub envp: &'a CStringArray,
    /// Working directory to change to, if any.
    pub cwd: Option<&'a CStr>,
    /// Fds to install as stdin, stdout and stderr (`None` keeps the inherited one).
    pub stdio: [Option<BorrowedFd<'a>>; 3],
    /// Put the child in a process group of its own.
    pub new_process_group: bool,
    /// Make the child's process group the foreground of this terminal (needs
    /// `new_process_group`).
    pub foreground_terminal: Option<BorrowedFd<'a>>,
    /// Signal to receive when the parent thread dies.
    pub parent_death_signal: Option<i32>,
    /// Make the child a subreaper, so its orphaned descendants stay below it.
    pub child_subreaper: bool,
    /// Landlock ruleset to enforce with `landlock_restrict_self`.
    pub landlock_ruleset: Option<BorrowedFd<'a>>,
    /// The seccomp program to install, if any.
    pub filter: Option<&'a [SockFilter]>,
    /// Flags for the filter. With [`FilterFlags::NEW_LISTENER`] the listener is sent to the
    /// parent.
    pub filter_flags: FilterFlags,
    /// Resource limits to set, soft and hard alike: `(RLIMIT_*, value)`.
    pub rlimits: &'a [(libc::__rlimit_resource_t, u64)],
    /// Persona flags to add to the current persona (such as `ADDR_NO_RANDOMIZE`).
    pub personality_add: u32,
    /// Disable transparent huge pages for the command and its descendants
    /// (`PR_SET_THP_DISABLE`, kept across fork and exec).
    pub thp_disable: bool,
    /// CPUs the command may run on (inherited by its descendants).
    pub cpu_affinity: Option<&'a [usize]>,
    /// When the kernel refuses a second listener in the filter chain (`EBUSY`, as when
    /// sandlock runs inside another supervised sandbox), install the filter without one:
    /// notified calls then fail with `ENOSYS` rather than run unchecked.
    pub listener_optional: bool,
}

impl<'a> ChildSetup<'a> {
    /// A set-up that execs `path` with `argv` and `envp` and changes nothing else: no process
    /// group, Landlock, filter or limits. Set the other fields with struct update syntax.
    pub fn new(path: &'a CStr, argv: &'a CStringArray, envp: &'a CStringArray) -> ChildSetup<'a> {
        ChildSetup {
            path,
            argv,
            envp,
            cwd: None,
            stdio: [None, None, None],
            new_process_group: false,
            foreground_terminal: None,
            parent_death_signal: None,
            child_subreaper: false,
            landlock_ruleset: None,
            filter: None,
            filter_flags: FilterFlags::empty(),
            rlimits: &[],
            personality_add: 0,
            thp_disable: false,
            cpu_affinity: None,
            listener_optional: false,
        }
    }
}

/// Message kinds on the report socket.
pub(crate) const MSG_LISTENER: u8 = 1;
pub(crate) const MSG_NO_LISTENER: u8 = 2;
pub(crate) const MSG_FAILED: u8 = 3;

const LANDLOCK_RESTRICT_SELF: libc::c_long = libc::SYS_landlock_restrict_self;

/// `struct sigaction` as the kernel's `rt_sigaction` takes it on x86_64 and aarch64.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: libc::c_ulong,
    mask: u64,
}

/// What `child_entry` needs, passed through `clone`'s argument pointer.
pub(crate) struct ChildArgs<'s, 'a> {
    pub(crate) setup: &'s ChildSetup<'a>,
    pub(crate) sock: BorrowedFd<'s>,
    pub(crate) parent_pid: libc::pid_t,
}

pub(crate) extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` that `spawn` passed to clone; it outlives the child's
    // use of it (CLONE_VFORK).
    let args = unsafe { &*arg.cast::<ChildArgs<'_, '_>>() };
    child_main(args.setup, args.sock, args.parent_pid)
}

/// Reports a failed step to the parent and exits. Async-signal-safe.
fn child_fail(sock: BorrowedFd<'_>, step: SpawnStep, errno: Errno) -> ! {
    let e = errno.raw().to_ne_bytes();
    let msg = [MSG_FAILED, step as u8, 0, 0, e[0], e[1], e[2], e[3]];
    let _ = crate::scm::send_with_fd(sock, &msg, None::<BorrowedFd<'_>>);
    // SAFETY: _exit is async-signal-safe and does not run atexit handlers.
    unsafe { libc::_exit(127) }
}

fn check(ret: libc::c_int) -> Result<(), Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// The child's side. Only async-signal-safe calls; no allocation; never returns.
fn child_main(setup: &ChildSetup<'_>, sock: BorrowedFd<'_>, parent_pid: libc::pid_t) -> ! {
    let run = |step: SpawnStep, r: Result<(), Errno>| {
        if let Err(e) = r {
            child_fail(sock, step, e);
        }
    };

    if setup.new_process_group {
        // SAFETY: setpgid takes integers.
        run(
            SpawnStep::ProcessGroup,
            check(unsafe { libc::setpgid(0, 0) }),
        );
    }
    // Every signal is blocked on entry (see `spawn`). Handlers of the supervisor must never run
    // here, on its memory, and ignored signals would stay ignored across exec (Rust ignores
    // SIGPIPE; an interactive supervisor ignores the job-control signals): the command starts
    // with every disposition at its default. The raw system call is used because glibc's
    // wrappers refuse its internal real-time signals.
    let default_action = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads one kernel sigaction (SIG_DFL: no handler code) of the
        // size given; the old action is not asked for.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &default_action as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                size_of::<u64>(),
            )
        };
    }
    if let Some(tty) = setup.foreground_terminal {
        // A background process group that calls tcsetpgrp gets SIGTTOU, which is blocked here.
        // SAFETY: tcsetpgrp and getpid take integers.
        run(
            SpawnStep::Terminal,
            check(unsafe { libc::tcsetpgrp(tty.as_raw_fd(), libc::getpid()) }),
        );
    }
    if let Some(sig) = setup.parent_death_signal {
        run(
            SpawnStep::ParentDeathSignal,
            crate::process::set_parent_death_signal(sig),
        );
        // The parent may have died before PDEATHSIG was armed.
        // SAFETY: getppid takes no arguments.
        if unsafe { libc::getppid() } != parent_pid {
            child_fail(sock, SpawnStep::ParentDeathSignal, Errno::ESRCH);
        }
    }
    if setup.child_subreaper {
        run(
            SpawnStep::Subreaper,
            crate::process::set_child_subreaper(true),
        );
    }
    for (target, fd) in setup.stdio.iter().enumerate() {
        if let Some(fd) = fd {
            let (src, dst) = (fd.as_raw_fd(), target as RawFd);
            // SAFETY: dup2/fcntl take integers. dup2 onto itself would keep FD_CLOEXEC, so
            // clear it explicitly in that case.
            let r = unsafe {
                if src == dst {
                    libc::fcntl(dst, libc::F_SETFD, 0)
                } else {
                    libc::dup2(src, dst)
                }
            };
            run(SpawnStep::Stdio, check(r));
        }
    }
    if let Some(cwd) = setup.cwd {
        // SAFETY: `cwd` is a valid C string prepared before fork.
        run(
            SpawnStep::Chdir,
            check(unsafe { libc::chdir(cwd.as_ptr()) }),
        );
    }
    if setup.personality_add != 0 {
        // personality(0xffffffff) only reads the current persona. Both calls happen before the
        // filter, which allows nothing but the query and PER_LINUX.
        // SAFETY: personality takes an integer.
        let current = unsafe { libc::personality(0xffff_ffff) };
        // SAFETY: as above.
        let r =
            unsafe { libc::personality((current as u32 | setup.personality_add) as libc::c_ulong) };
        run(SpawnStep::Limits, check(r));
    }
    if setup.thp_disable {
        // SAFETY: PR_SET_THP_DISABLE takes integers.
        run(
            SpawnStep::Limits,
            check(unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) }),
        );
    }
    if let Some(cpus) = setup.cpu_affinity {
        run(SpawnStep::Limits, crate::sched::set_affinity(cpus));
    }
    run(SpawnStep::NoNewPrivs, crate::process::set_no_new_privs());
    if let Some(ruleset) = setup.landlock_ruleset {
        // SAFETY: landlock_restrict_self takes an fd and flags.
        let r = unsafe { libc::syscall(LANDLOCK_RESTRICT_SELF, ruleset.as_raw_fd(), 0) };
        run(
            SpawnStep::Landlock,
            if r < 0 { Err(Errno::last()) } else { Ok(()) },
        );
    }
    if let Some(prog) = setup.filter {
        let wants_listener = setup.filter_flags.contains(FilterFlags::NEW_LISTENER);
        let listener = match crate::seccomp::install_filter(prog, setup.filter_flags) {
            Ok(l) => l,
            Err(Errno::EBUSY) if wants_listener && setup.listener_optional => {
                // WAIT_KILLABLE_RECV is only valid with a listener.
                let flags = setup.filter_flags
                    - FilterFlags::NEW_LISTENER
                    - FilterFlags::WAIT_KILLABLE_RECV;
                match crate::seccomp::install_filter(prog, flags) {
                    Ok(l) => l,
                    Err(e) => child_fail(sock, SpawnStep::Seccomp, e),
                }
            }
            Err(e) => child_fail(sock, SpawnStep::Seccomp, e),
        };
        let sent = match &listener {
            Some(l) => crate::scm::send_with_fd(sock, &[MSG_LISTENER; 8], Some(l)),
            None => crate::scm::send_with_fd(sock, &[MSG_NO_LISTENER; 8], None::<BorrowedFd<'_>>),
        };
        run(SpawnStep::SendListener, sent.map(drop));
        // The command must never hold its own listener: it could answer its own notifications.
        drop(listener);
    }
    // `sock` stays open (close-on-exec) to report an exec failure; close the rest.
    let s = sock.as_raw_fd() as u32;
    let mut closed = Ok(());
    if s > 3 {
        closed = crate::process::close_range(3, s - 1, 0);
    }
    if closed.is_ok() {
        closed = crate::process::close_range(s + 1, u32::MAX, 0);
    }
    if closed == Err(Errno::ENOSYS) {
        closed = close_each_fd(s);
    }
    run(SpawnStep::CloseFds, closed);
    // Last, once only the command's own fds are left: a low RLIMIT_NOFILE must not stop the
    // set-up itself (the listener needs an fd of its own).
    for &(resource, value) in setup.rlimits {
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit reads one local rlimit.
        run(
            SpawnStep::Limits,
            check(unsafe { libc::setrlimit(resource, &limit) }),
        );
    }
    // A root command keeps uid 0 but no capability: no CAP_SYS_ADMIN, CAP_NET_ADMIN,
    // CAP_SYS_TIME, CAP_SYS_PTRACE, CAP_DAC_OVERRIDE… Last, because raising a hard resource
    // limit above needs CAP_SYS_RESOURCE.
    run(
        SpawnStep::Capabilities,
        crate::process::drop_all_capabilities(),
    );
    // The signal mask survives exec: unblock everything for the command.
    // SAFETY: sigprocmask reads a local, initialised empty set.
    let unblocked = unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut())
    };
    run(SpawnStep::Signals, check(unblocked));
    // SAFETY: path, argv and envp are valid NULL-terminated arrays of C strings.
    unsafe {
        libc::execve(
            setup.path.as_ptr(),
            setup.argv.as_ptr(),
            setup.envp.as_ptr(),
        )
    };
    child_fail(sock, SpawnStep::Exec, Errno::last());
}

/// Fallback for kernels before 5.9 (no `close_range`): close fds one by one up to the limit.
fn close_each_fd(keep: u32) -> Result<(), Errno> {
    // SAFETY: getrlimit writes into a local struct; close takes an integer.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        let max = lim.rlim_cur.min(1 << 20) as u32;
        for fd in 3..max {
            if fd != keep {
                libc::close(fd as RawFd);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_their_byte() {
        for step in SpawnStep::ALL {
            assert_eq!(SpawnStep::from_u8(step as u8), Some(step));
        }
        assert_eq!(SpawnStep::from_u8(0), None);
    }
}

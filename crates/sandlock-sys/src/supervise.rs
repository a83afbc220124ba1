//! A sandbox's init process: it owns the process tree, so kill, pause, timeout and the
//! supervisor's death reach every descendant, `setsid` ones included.
//!
//! [`spawn_supervised`] starts a small *init* process between the supervisor and the command:
//!
//! ```text
//! supervisor ──clone(CLONE_VM)──▶ init (subreaper) ──clone(CLONE_VM|CLONE_VFORK)──▶ command ─▶ …
//! ```
//!
//! - The init is a **child subreaper**: a descendant whose parent exits is reparented to it,
//!   never to the system's init, so the whole tree stays below it for as long as it runs.
//! - It reaps everything and exits only when it has no child left, reporting the command's wait
//!   status first: the sandbox ends exactly when its whole tree has ended.
//! - On `SIGTERM` (from [`Supervised::kill`], or as its parent-death signal when the supervisor
//!   dies) it kills the tree; `SIGUSR1` and `SIGUSR2` stop and continue it.
//! - With Landlock IPC scoping (ABI 6), the init enforces the sandbox's ruleset on itself and
//!   the command enforces it again: the command's tree lives in a domain *nested* in the init's,
//!   so it cannot signal the init (scoping forbids signals to a parent domain), while the init's
//!   `kill(-1, sig)` reaches exactly the processes of its own domain and those nested in it:
//!   the sandbox, whatever sessions or process groups it made. Without scoping it walks
//!   `/proc/PID/task/TID/children` from itself instead.
//!
//! The init shares the supervisor's memory (`CLONE_VM`, as a thread would) but is a process of
//! its own, so creating it costs no page-table copy. It therefore runs only on its own stack,
//! never allocates, and makes its system calls through `raw.rs` (inline-asm system calls) so that it never writes
//! the supervisor's `errno`. Its stack belongs to [`Supervised`], whose drop kills and reaps the
//! init before freeing it.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::Errno;
use crate::pidfd::{PidFd, WaitStatus};
use crate::raw::syscall6;
use crate::seccomp::NotifFd;
use crate::spawn::{ChildSetup, SpawnError, SpawnStep};

/// Bytes of stack for the init process, and separately for the command until it execs.
const STACK_BYTES: usize = 64 * 1024;

/// A stack for a `CLONE_VM` child: fresh anonymous pages, so only the pages the child
/// touches count towards the supervisor's memory (a heap block may be a reused one that
/// `calloc` must clear, touching all of it).
#[derive(Debug)]
struct Stack {
    base: *mut libc::c_void,
}

impl Stack {
    fn new() -> Result<Stack, Errno> {
        // SAFETY: an anonymous private mapping of STACK_BYTES at an address of the kernel's
        // choosing; nothing else is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                STACK_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        Ok(Stack { base })
    }

    /// The highest address: stacks grow down.
    fn top(&self) -> *mut libc::c_void {
        self.base.wrapping_byte_add(STACK_BYTES)
    }

    /// Never unmaps: for a stack a process may still be running on.
    fn leak(&mut self) {
        self.base = std::ptr::null_mut();
    }
}

// SAFETY: a Stack is only the address of a mapping that no Rust code reads or writes; moving
// it to, or sharing it with, another thread cannot race.
unsafe impl Send for Stack {}
// SAFETY: as above.
unsafe impl Sync for Stack {}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.base.is_null() {
            // SAFETY: `base` is our mapping of STACK_BYTES; its users are gone (see `leak`).
            unsafe { libc::munmap(self.base, STACK_BYTES) };
        }
    }
}

/// Messages from the init to the supervisor: `[kind, value]` as two native-endian `i32`s.
const INIT_STARTED: i32 = 1;
const INIT_EXITED: i32 = 2;
const INIT_FAILED: i32 = 3;

/// What the init process needs; lives on the supervisor's stack until the command has exec'd.
struct InitArgs<'s, 'a> {
    setup: &'s ChildSetup<'a>,
    report_sock: RawFd,
    status_sock: RawFd,
    supervisor_pid: libc::pid_t,
    scoped_kill: bool,
    child_stack_top: *mut libc::c_void,
    /// Where the kernel stores the command's pid as it clones it (`CLONE_PARENT_SETTID`; the
    /// init shares our memory). The command may kill the init right after its exec, before the
    /// init has reported the pid; this is how we still know it.
    command_pid: std::sync::atomic::AtomicI32,
}

/// A running command below its init process.
#[derive(Debug)]
pub struct Supervised {
    /// The command's pid.
    pub pid: libc::pid_t,
    /// The seccomp listener, when one was asked for and granted.
    pub listener: Option<NotifFd>,
    init_pid: libc::pid_t,
    init: Option<PidFd>,
    status: OwnedFd,
    exit: Option<WaitStatus>,
    /// The init's stack: it must outlive the init (see `Drop`).
    init_stack: Stack,
}

/// How the command ended, as the init saw it.
fn decode_wait_status(raw: i32) -> WaitStatus {
    if libc::WIFEXITED(raw) {
        WaitStatus::Exited(libc::WEXITSTATUS(raw))
    } else if libc::WIFSIGNALED(raw) {
        WaitStatus::Signaled {
            signal: libc::WTERMSIG(raw),
            core_dumped: libc::WCOREDUMP(raw),
        }
    } else {
        WaitStatus::Exited(-1)
    }
}

impl Supervised {
    /// The init process's pidfd: readable when the whole tree has ended and the init exited.
    pub fn init_pidfd(&self) -> Option<&PidFd> {
        self.init.as_ref()
    }

    /// The init process's pid (the command's parent).
    pub fn init_pid(&self) -> libc::pid_t {
        self.init_pid
    }

    fn signal_init(&self, sig: i32) -> Result<(), Errno> {
        match &self.init {
            Some(init) => init.send_signal(sig),
            None => Err(Errno::ESRCH),
        }
    }

    /// Kills every process of the sandbox (asks the init, which then exits).
    pub fn kill(&self) -> Result<(), Errno> {
        self.signal_init(libc::SIGTERM)
    }

    /// Stops every process of the sandbox.
    pub fn pause(&self) -> Result<(), Errno> {
        self.signal_init(libc::SIGUSR1)
    }

    /// Continues every process of the sandbox.
    pub fn resume(&self) -> Result<(), Errno> {
        self.signal_init(libc::SIGUSR2)
    }

    /// Waits until the whole tree has ended, or `timeout` passes (`Ok(None)`). Returns the
    /// command's own status. When the init died without reporting one (it was killed), the
    /// status is `Signaled` with the init's signal, and what was below it is no longer tracked.
    pub fn wait(
        &mut self,
        timeout: Option<std::time::Duration>,
    ) -> Result<Option<WaitStatus>, Errno> {
        match self.wait_or(timeout, None)? {
            Waited::Ended(status) => Ok(Some(status)),
            Waited::TimedOut | Waited::Interrupted => Ok(None),
        }
    }

    /// Like [`wait`](Self::wait), but also returns [`Waited::Interrupted`] as soon as
    /// `interrupt` (a signalfd, say) becomes readable.
    pub fn wait_or(
        &mut self,
        timeout: Option<std::time::Duration>,
        interrupt: Option<BorrowedFd<'_>>,
    ) -> Result<Waited, Errno> {
        if let Some(exit) = self.exit {
            return Ok(Waited::Ended(exit));
        }
        let Some(init) = &self.init else {
            return Err(Errno::ECHILD);
        };
        let mut fds = vec![init.as_fd()];
        fds.extend(interrupt);
        match crate::poll::wait_any(&fds, timeout)? {
            None => return Ok(Waited::TimedOut),
            Some(1) => return Ok(Waited::Interrupted),
            Some(_) => {}
        }
        let init_status = init.wait(libc::WEXITED)?;
        self.init = None;
        let mut msg = [0u8; 8];
        let mut reported = None;
        // The init writes its report before it exits, so it is queued by now.
        while recv_now(&self.status, &mut msg) == Some(8) {
            let kind = i32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]);
            let value = i32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
            if kind == INIT_EXITED {
                reported = Some(decode_wait_status(value));
            }
        }
        let exit = reported.unwrap_or(match init_status {
            WaitStatus::Signaled { .. } => init_status,
            _ => WaitStatus::Exited(-1),
        });
        self.exit = Some(exit);
        Ok(Waited::Ended(exit))
    }
}

/// What [`Supervised::wait_or`] saw first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Waited {
    /// The whole tree ended; the command's status.
    Ended(WaitStatus),
    /// The timeout passed.
    TimedOut,
    /// The interrupt fd became readable.
    Interrupted,
}

impl Drop for Supervised {
    fn drop(&mut self) {
        // The init runs on `init_stack`: it must be gone before the stack is freed.
        if let Some(init) = self.init.take() {
            let _ = init.send_signal(libc::SIGTERM);
            if init.wait(libc::WEXITED).is_err() {
                // Not reapable (it is not our child any more?): never free a live stack.
                self.init_stack.leak();
            }
        }
    }
}

/// Starts `setup`'s command below an init process that owns its tree (see the module docs).
///
/// `scoped_kill` says that `setup.landlock_ruleset` enforces IPC scoping of signals (Landlock
/// ABI 6): the init then restricts itself with it and kills with `kill(-1, …)`. Never set it
/// otherwise: unscoped, `kill(-1)` would reach every process of the user.
///
/// Returns once the command has exec'd (or failed to, with the step and errno).
pub fn spawn_supervised(
    setup: &ChildSetup<'_>,
    scoped_kill: bool,
) -> Result<Supervised, SpawnError> {
    let fail = |step, errno| SpawnError { step, errno };
    let (report_parent, report_child) =
        crate::scm::seqpacket_pair().map_err(|e| fail(SpawnStep::Fork, e))?;
    let (status_parent, status_init) =
        crate::scm::seqpacket_pair().map_err(|e| fail(SpawnStep::Fork, e))?;
    // The command's stack is needed only until it execs, which we wait for below: it is freed
    // when this function returns. The init's lives as long as the init (in `Supervised`).
    let init_stack = Stack::new().map_err(|e| fail(SpawnStep::Fork, e))?;
    let mut child_stack = Stack::new().map_err(|e| fail(SpawnStep::Fork, e))?;
    let args = InitArgs {
        setup,
        report_sock: report_child.as_raw_fd(),
        status_sock: status_init.as_raw_fd(),
        supervisor_pid: std::process::id() as libc::pid_t,
        scoped_kill,
        child_stack_top: child_stack.top(),
        command_pid: std::sync::atomic::AtomicI32::new(0),
    };
    let init_stack_top = init_stack.top();

    // SAFETY: sigset_t is plain old data.
    let (mut all, mut saved): (libc::sigset_t, libc::sigset_t) = unsafe { std::mem::zeroed() };
    // SAFETY: every signal is blocked across the clone so that no handler of ours runs in the
    // init on our memory; the init keeps them blocked for good and waits for them with
    // rt_sigtimedwait.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut saved);
    }
    // SAFETY: `init_entry` runs `init_main`, which uses only its own stack (`init_stack`,
    // kept alive by `Supervised` until the init is reaped), raw system calls, and `args` until
    // the command has exec'd — which we wait for below, before `args` goes out of scope.
    // Without CLONE_FILES, CLONE_FS and CLONE_SIGHAND, its fds, cwd and signal dispositions
    // are its own.
    let init_pid = unsafe {
        libc::clone(
            init_entry,
            init_stack_top,
            libc::CLONE_VM | libc::SIGCHLD,
            (&args as *const InitArgs<'_, '_>).cast_mut().cast(),
        )
    };
    let clone_errno = Errno::last();
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &saved, std::ptr::null_mut()) };
    if init_pid < 0 {
        return Err(fail(SpawnStep::Fork, clone_errno));
    }
    drop(report_child);
    drop(status_init);
    let init = PidFd::open(init_pid, 0);
    let mut sup = Supervised {
        pid: 0,
        listener: None,
        init_pid,
        init: None,
        status: status_parent,
        exit: None,
        init_stack,
    };
    match init {
        Ok(p) => sup.init = Some(p),
        Err(e) => {
            // Without a pidfd we cannot supervise: kill it (it is our child) and wait for it.
            // SAFETY: kill and waitpid take integers; `init_pid` is our unreaped child.
            unsafe {
                libc::kill(init_pid, libc::SIGKILL);
                libc::waitpid(init_pid, std::ptr::null_mut(), libc::__WALL);
            }
            // The command may still be running on its stack (it dies of its parent-death
            // signal, but not synchronously): never free memory it may use.
            child_stack.leak();
            return Err(fail(SpawnStep::Fork, e));
        }
    }

    // The command reports its listener, or a failed step; end-of-file means both its copy of
    // the socket (closed by exec) and the init's (closed once the command has exec'd) are gone,
    // so neither uses `args` any more.
    let mut failure = None;
    loop {
        let mut msg = [0u8; 8];
        match crate::scm::recv_with_fd(&report_parent, &mut msg) {
            Ok((0, _)) => break,
            Ok((_, fd)) => match (msg[0], fd) {
                (crate::spawn::MSG_LISTENER, Some(fd)) => sup.listener = Some(NotifFd::new(fd)),
                (crate::spawn::MSG_NO_LISTENER, None) => {}
                (crate::spawn::MSG_FAILED, _) => {
                    let step = SpawnStep::from_u8(msg[1]).unwrap_or(SpawnStep::Exec);
                    let errno =
                        Errno::from_raw(i32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]));
                    failure = Some(fail(step, errno));
                }
                _ => failure = Some(fail(SpawnStep::SendListener, Errno::from_raw(libc::EPROTO))),
            },
            Err(e) => {
                failure = Some(fail(SpawnStep::SendListener, e));
                break;
            }
        }
    }
    // The init says which pid the command got, or why it could not start it.
    let mut msg = [0u8; 8];
    match crate::scm::recv_with_fd(&sup.status, &mut msg) {
        Ok((8, _)) => {
            let kind = i32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]);
            let value = i32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
            match kind {
                INIT_STARTED => sup.pid = value,
                INIT_FAILED => {
                    failure = failure.or(Some(fail(SpawnStep::Fork, Errno::from_raw(value))));
                }
                _ => {
                    failure = failure.or(Some(fail(SpawnStep::Fork, Errno::from_raw(libc::EPROTO))))
                }
            }
        }
        // End of file: the init died before it reported. When the command had exec'd by then
        // (the report socket ended without a failure), it killed its own init (`kill -9
        // $PPID`): that is the sandbox's outcome, which `wait` reports, not a failed start.
        Ok((0, _)) if failure.is_none() => {
            match args.command_pid.load(std::sync::atomic::Ordering::Acquire) {
                pid if pid > 0 => sup.pid = pid,
                _ => failure = Some(fail(SpawnStep::Fork, Errno::from_raw(libc::EPROTO))),
            }
        }
        Ok(_) => failure = failure.or(Some(fail(SpawnStep::Fork, Errno::from_raw(libc::EPROTO)))),
        Err(e) => failure = failure.or(Some(fail(SpawnStep::Fork, e))),
    }
    match failure {
        // Dropping `sup` kills and reaps the init (and with it anything it started).
        Some(f) => Err(f),
        None => Ok(sup),
    }
}

/// Receives one message without waiting.
fn recv_now(sock: &OwnedFd, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: recv writes at most `buf.len()` bytes into `buf`.
    let n = unsafe {
        libc::recv(
            sock.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).ok()
}

extern "C" fn init_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `InitArgs` that `spawn_supervised` passed to clone; it stays alive
    // until the command has exec'd, and `init_main` stops using it then.
    let args = unsafe { &*arg.cast::<InitArgs<'_, '_>>() };
    init_main(args)
}

/// A raw system call that ignores its result.
fn sys(nr: libc::c_long, a: [usize; 6]) -> isize {
    // SAFETY: every call made through here by the init takes integers or pointers to its own
    // stack, which are valid for the call.
    unsafe { syscall6(nr, a) }
}

fn exit_now(code: i32) -> ! {
    loop {
        sys(libc::SYS_exit_group, [code as usize, 0, 0, 0, 0, 0]);
    }
}

fn send_status(sock: RawFd, kind: i32, value: i32) {
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&kind.to_ne_bytes());
    msg[4..].copy_from_slice(&value.to_ne_bytes());
    sys(
        libc::SYS_sendto,
        [
            sock as usize,
            msg.as_ptr() as usize,
            8,
            libc::MSG_NOSIGNAL as usize,
            0,
            0,
        ],
    );
}

/// `sigset_t` as the kernel's rt_sig* calls take it (64 signals).
fn sigbit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// The init process. Raw system calls only; never returns.
fn init_main(args: &InitArgs<'_, '_>) -> ! {
    let status = args.status_sock;
    let scoped = args.scoped_kill;
    let me = sys(libc::SYS_getpid, [0; 6]) as i32;

    // Default dispositions (SIGCHLD in particular: an inherited SIG_IGN would auto-reap and
    // drop the signal). Everything stays blocked: signals are taken with rt_sigtimedwait.
    let default_action = [0usize; 4];
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            sys(
                libc::SYS_rt_sigaction,
                [sig as usize, default_action.as_ptr() as usize, 0, 8, 0, 0],
            );
        }
    }
    sys(
        libc::SYS_prctl,
        [
            libc::PR_SET_PDEATHSIG as usize,
            libc::SIGTERM as usize,
            0,
            0,
            0,
            0,
        ],
    );
    if sys(libc::SYS_getppid, [0; 6]) as i32 != args.supervisor_pid {
        // The supervisor is already gone: start nothing.
        exit_now(1);
    }
    sys(
        libc::SYS_prctl,
        [libc::PR_SET_CHILD_SUBREAPER as usize, 1, 0, 0, 0, 0],
    );
    if scoped {
        let ruleset = args.setup.landlock_ruleset.map(|f| f.as_raw_fd());
        let ok = ruleset.is_some_and(|fd| {
            sys(
                libc::SYS_prctl,
                [libc::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0, 0, 0],
            ) == 0
                && sys(
                    libc::SYS_landlock_restrict_self,
                    [fd as usize, 0, 0, 0, 0, 0],
                ) == 0
        });
        if !ok {
            send_status(status, INIT_FAILED, libc::EPERM);
            exit_now(1);
        }
    }

    // The command. `args.setup` is used only until it has exec'd (CLONE_VFORK).
    // SAFETY: the report socket is open in our fd table (a copy of the supervisor's) until we
    // close it below, after the command has exec'd or exited.
    let report = unsafe { BorrowedFd::borrow_raw(args.report_sock) };
    let child_args = crate::spawn::ChildArgs {
        setup: args.setup,
        sock: report,
        parent_pid: me,
    };
    // SAFETY: as in `spawn`: `child_entry` runs `child_main` on its own stack, async-signal-safe,
    // and never returns; we are suspended until it has exec'd or exited. The kernel writes the
    // new pid to `command_pid` (alive on the supervisor's stack until it has seen the exec).
    let pid = unsafe {
        libc::clone(
            crate::spawn::child_entry,
            args.child_stack_top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PARENT_SETTID | libc::SIGCHLD,
            (&child_args as *const crate::spawn::ChildArgs<'_, '_>)
                .cast_mut()
                .cast(),
            args.command_pid.as_ptr(),
        )
    };
    // From here on, nothing of the supervisor's memory is used: only our own stack.
    if pid < 0 {
        send_status(status, INIT_FAILED, libc::EAGAIN);
        exit_now(1);
    }
    send_status(status, INIT_STARTED, pid);
    // Keep only the status socket: the report socket's end-of-file tells the supervisor the
    // command has exec'd, and nothing else of the supervisor's may stay open here.
    let s = status as usize;
    if s > 0 {
        sys(libc::SYS_close_range, [0, s - 1, 0, 0, 0, 0]);
    }
    sys(
        libc::SYS_close_range,
        [s + 1, u32::MAX as usize, 0, 0, 0, 0],
    );

    let wanted: u64 = sigbit(libc::SIGCHLD)
        | sigbit(libc::SIGTERM)
        | sigbit(libc::SIGUSR1)
        | sigbit(libc::SIGUSR2);
    let mut command_status: i32 = -1;
    let mut killing = false;
    loop {
        // Reap whatever has exited; with no child left, the sandbox is over.
        loop {
            let mut st: i32 = 0;
            let r = sys(
                libc::SYS_wait4,
                [
                    usize::MAX,
                    &mut st as *mut i32 as usize,
                    (libc::WNOHANG | libc::__WALL) as usize,
                    0,
                    0,
                    0,
                ],
            );
            if r > 0 {
                if r as i32 == pid {
                    command_status = st;
                }
                continue;
            }
            if r == -(libc::ECHILD as isize) {
                send_status(status, INIT_EXITED, command_status);
                exit_now(0);
            }
            break;
        }
        if killing {
            signal_tree(me, scoped, libc::SIGKILL);
        }
        // While killing, look again every 10 ms: without scoping, an orphan of a killed
        // process is reparented to us and must be killed in turn.
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        let timeout_ptr = if killing {
            &timeout as *const libc::timespec as usize
        } else {
            0
        };
        let mut info = [0u64; 16];
        let sig = sys(
            libc::SYS_rt_sigtimedwait,
            [
                &wanted as *const u64 as usize,
                info.as_mut_ptr() as usize,
                timeout_ptr,
                8,
                0,
                0,
            ],
        ) as i32;
        match sig {
            libc::SIGTERM => {
                killing = true;
                signal_tree(me, scoped, libc::SIGKILL);
            }
            libc::SIGUSR1 => signal_tree(me, scoped, libc::SIGSTOP),
            libc::SIGUSR2 => signal_tree(me, scoped, libc::SIGCONT),
            _ => {}
        }
    }
}

/// Sends `sig` to every process below the init.
fn signal_tree(me: i32, scoped: bool, sig: i32) {
    if scoped {
        // Our Landlock domain scopes signals: this reaches our domain and the domains nested in
        // it, which is the sandbox, and nothing else.
        sys(libc::SYS_kill, [-1isize as usize, sig as usize, 0, 0, 0, 0]);
        return;
    }
    // Walk /proc/PID/task/TID/children from ourselves, depth first, with a fixed stack.
    let mut stack = [0i32; 1024];
    let mut depth = 1;
    stack[0] = me;
    while depth > 0 {
        depth -= 1;
        let pid = stack[depth];
        for_each_child(pid, |child| {
            sys(libc::SYS_kill, [child as usize, sig as usize, 0, 0, 0, 0]);
            if depth < stack.len() {
                stack[depth] = child;
                depth += 1;
            }
        });
    }
}

/// Appends the decimal digits of `n` to `buf` at `at`; returns the new end.
fn put_num(buf: &mut [u8], mut at: usize, n: u32) -> usize {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut v = n;
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    while len > 0 && at < buf.len() {
        len -= 1;
        buf[at] = digits[len];
        at += 1;
    }
    at
}

fn put_str(buf: &mut [u8], at: usize, s: &[u8]) -> usize {
    let end = (at + s.len()).min(buf.len());
    buf[at..end].copy_from_slice(&s[..end - at]);
    end
}

/// Calls `f` for every child of every thread of `pid`, from `/proc/PID/task/TID/children`.
fn for_each_child(pid: i32, mut f: impl FnMut(i32)) {
    let mut path = [0u8; 64];
    let mut end = put_str(&mut path, 0, b"/proc/");
    end = put_num(&mut path, end, pid as u32);
    end = put_str(&mut path, end, b"/task\0");
    let _ = end;
    let dir = sys(
        libc::SYS_openat,
        [
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as usize,
            0,
            0,
            0,
        ],
    );
    if dir < 0 {
        return;
    }
    let mut dents = [0u8; 2048];
    loop {
        let n = sys(
            libc::SYS_getdents64,
            [
                dir as usize,
                dents.as_mut_ptr() as usize,
                dents.len(),
                0,
                0,
                0,
            ],
        );
        if n <= 0 {
            break;
        }
        let mut off = 0usize;
        while off + 19 < n as usize {
            // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
            let reclen = u16::from_ne_bytes([dents[off + 16], dents[off + 17]]) as usize;
            if reclen == 0 || off + reclen > n as usize {
                break;
            }
            let name = &dents[off + 19..off + reclen];
            let tid = name
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u32, |acc, b| {
                    acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
                });
            if tid > 0 {
                read_children(pid, tid, &mut f);
            }
            off += reclen;
        }
    }
    sys(libc::SYS_close, [dir as usize, 0, 0, 0, 0, 0]);
}

fn read_children(pid: i32, tid: u32, f: &mut impl FnMut(i32)) {
    let mut path = [0u8; 80];
    let mut end = put_str(&mut path, 0, b"/proc/");
    end = put_num(&mut path, end, pid as u32);
    end = put_str(&mut path, end, b"/task/");
    end = put_num(&mut path, end, tid);
    let _ = put_str(&mut path, end, b"/children\0");
    let fd = sys(
        libc::SYS_openat,
        [
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            (libc::O_RDONLY | libc::O_CLOEXEC) as usize,
            0,
            0,
            0,
        ],
    );
    if fd < 0 {
        return;
    }
    let mut buf = [0u8; 4096];
    let n = sys(
        libc::SYS_read,
        [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
    );
    sys(libc::SYS_close, [fd as usize, 0, 0, 0, 0, 0]);
    if n <= 0 {
        return;
    }
    let mut cur: u32 = 0;
    let mut in_num = false;
    for &b in &buf[..n as usize] {
        if b.is_ascii_digit() {
            cur = cur.saturating_mul(10).saturating_add(u32::from(b - b'0'));
            in_num = true;
        } else if in_num {
            f(cur as i32);
            cur = 0;
            in_num = false;
        }
    }
    if in_num {
        f(cur as i32);
    }
}

impl AsFd for Supervised {
    /// The status socket: readable once the init has reported how the command ended.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.status.as_fd()
    }
}

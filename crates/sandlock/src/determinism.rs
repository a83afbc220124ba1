//! Reproducible runs: shifted wall-clock time, seeded randomness, sorted directories, host name.
//!
//! # `--time-start`
//! The sandbox's wall clock (`CLOCK_REALTIME`, `_COARSE`, `_ALARM`, `CLOCK_TAI`) reads the
//! given instant when the sandbox starts (to the second: the offset is whole seconds, so that
//! `time()` and `clock_gettime` agree) and runs on from there; monotonic, boot-time and CPU
//! clocks are not shifted, nor their deadlines, nor `/proc/uptime`.
//!
//! - *System calls.* `clock_gettime`, `gettimeofday` and `time` are notified. A wall-clock read
//!   is answered by the supervisor (its own clock plus the offset, written into the caller);
//!   any other clock is let through (the clock id is a register, so that decision does not rest
//!   on the caller's memory), and so is a call made by the vDSO's own fallback code, whose
//!   result the stub below shifts.
//! - *The vDSO.* libc reads clocks through the vDSO without a system call. Only `execve` maps
//!   a fresh vDSO (`fork` copies the parent's), and every libc, as a freshly exec'd program
//!   starts and before any of its code runs, sets its thread pointer with
//!   `arch_prctl(ARCH_SET_FS)` (x86_64) and registers `set_tid_address`. Both are notified:
//!   the supervisor then rewrites the vDSO (through `/proc/PID/mem`, copy-on-write) and lets
//!   the call through. On x86_64 the entries of `clock_gettime`, `gettimeofday` and `time`
//!   jump to stubs, written in the free tail of the vDSO's last page, that call the original
//!   and add the offset for wall clocks, so every clock read stays a vDSO call (measured: 84 to
//!   116 ns for `time.time()` and `time.monotonic()` in Python, as without the option); where a
//!   function's first instructions cannot be moved safely, and on aarch64, it becomes a plain
//!   system call answered by the supervisor (a notification each: tens of microseconds on a
//!   loaded host). See `vdso.rs`; patching twice is harmless. (`execve` itself is not the hook:
//!   the new image does not exist yet when it is notified, and the sandbox's first `execve`
//!   happens before the supervisor holds the listener.)
//! - *Absolute sleeps and timers.* `clock_nanosleep(TIMER_ABSTIME)` on a wall clock is served by
//!   a sleeper thread that answers when the host clock reaches the deadline minus the offset
//!   (or `EINTR` once the caller has an unblocked signal pending, looked at every 100 ms: the
//!   listener waits killable only, so the signal itself cannot interrupt the call). One thread
//!   per sandbox serves every such sleep: agent workers would each be held for the whole
//!   sleep, and they are bounded and shared with the features that act on the sandbox's behalf;
//!   `timerfd_settime(TFD_TIMER_ABSTIME)` on a wall-clock timerfd is made on the caller's timerfd
//!   (a `pidfd_getfd` duplicate) with the deadline shifted. POSIX `timer_settime(TIMER_ABSTIME)`
//!   on a wall-clock timer cannot be made on behalf (the timer belongs to the caller) and is
//!   refused with `EINVAL`. `adjtimex` and `clock_adjtime`, which report the kernel's time, are
//!   refused with `EPERM`. Relative sleeps and every monotonic deadline go through as made.
//!
//! Limits:
//! - a program that reads the vDSO clock without calling `arch_prctl(ARCH_SET_FS)` or
//!   `set_tid_address` first (a static binary with no libc; on aarch64, which has no
//!   `arch_prctl`, a Go program) sees the host's time through the vDSO;
//! - absolute wall-clock deadlines given to `futex` (`pthread_cond_timedwait`,
//!   `sem_timedwait`) and `mq_timedsend`/`mq_timedreceive` are not shifted
//!   (notifying `futex` would cost every lock a notification): with a start in the past they
//!   expire at once, in the future they wait for the difference;
//! - time that reaches the sandbox by other ways is not shifted: file timestamps (`stat` of a
//!   file it just wrote), `/proc/stat`'s `btime`, RTC devices, socket timestamps;
//! - the vDSO stubs have no unwind information (a profiler's backtrace through them stops);
//! - when the vDSO of a process cannot be patched (its memory is not accessible to the
//!   supervisor: a program exec'd from an unreadable file by an unprivileged supervisor) the
//!   sandbox is killed, with that reason, rather than left with the host's time.
//!
//! # `--random-seed`
//! `getrandom` is answered from a ChaCha20 stream per process, and per thread (see `random.rs`
//! for how each key is derived from the seed and the place in the process tree); opening
//! `/dev/urandom` or `/dev/random` gives the read end of a pipe that a supervisor thread keeps
//! filled with a stream of its own. The pipe is endless like the device (a sealed file would
//! end), costs one small thread while open, and its bytes do not depend on when they are read.
//! A `getrandom` of more than 1 MiB returns 1 MiB, as the kernel may return less than asked.
//! The vDSO `getrandom` (6.11) needs state that libc allocates with a special `getrandom` call,
//! which is refused with `EINVAL`, so libc falls back to the system call.
//!
//! # `--deterministic-dirs`
//! Only the option: the `views` feature owns `getdents64` and sorts the entries.
//!
//! # `--hostname`
//! `uname` is answered with the host's `struct utsname` but the given node name; opening
//! `/etc/hostname` or `/proc/sys/kernel/hostname` reads the name.

mod chacha;
mod iso8601;
mod random;
mod time;
mod vdso;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sandlock_notif::{HandlerError, HandlerResult, MemError, NotifCtx, Verdict};
use sandlock_sys::Errno;
use sandlock_sys::features::{Availability, KernelFeatures};

use crate::confine::PrepareError;
use crate::notify::{Instance, OpenAnswer, Plan};
use crate::policy::{Policy, PolicyBuilder, PolicyError};

use random::{DeviceAnswer, Tree};
use time::{Shift, Sleep};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DeterminismConfig {
    /// `--time-start`: the wall-clock time the sandbox starts at.
    pub(crate) time_start: Option<std::time::SystemTime>,
    /// `--random-seed`.
    pub(crate) random_seed: Option<u64>,
    /// `--deterministic-dirs`: directory entries sorted by name.
    pub(crate) sorted_dirs: bool,
    /// `--hostname`.
    pub(crate) hostname: Option<String>,
}

/// The longest host name the kernel keeps (`__NEW_UTS_LEN`).
const MAX_HOSTNAME: usize = 64;

/// `arch_prctl`'s code for setting the thread pointer.
#[cfg(target_arch = "x86_64")]
const ARCH_SET_FS: u64 = 0x1002;

/// The most bytes one `getrandom` returns.
const MAX_GETRANDOM: usize = 1 << 20;

/// Parses a `--time-start` value: `YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|±HH:MM]` (UTC when no
/// offset is given) or `@SECONDS` since the epoch. Instants before 1970 are refused.
///
/// # Errors
/// [`PolicyError::BadOption`] naming `--time-start`.
pub fn parse_time_start(value: &str) -> Result<SystemTime, PolicyError> {
    iso8601::parse(value).map_err(|reason| PolicyError::BadOption {
        option: "--time-start",
        value: value.to_owned(),
        reason,
    })
}

impl PolicyBuilder {
    /// The sandbox's wall clock starts at `start` and runs forward from there
    /// (`--time-start`): `clock_gettime`, `gettimeofday` and `time`, through the vDSO or as
    /// system calls, and absolute wall-clock sleeps and timerfds. Monotonic clocks are not
    /// shifted. The shift is a whole number of seconds: the sandbox starts within the second
    /// `start` names. `start` must not be before 1970.
    pub fn time_start(mut self, start: SystemTime) -> Self {
        self.policy.determinism.time_start = Some(start);
        self
    }

    /// `getrandom`, `/dev/urandom` and `/dev/random` give reproducible bytes derived from
    /// `seed` (`--random-seed`): one stream per process, keyed by its place in the process
    /// tree, so that runs with several processes repeat too.
    pub fn random_seed(mut self, seed: u64) -> Self {
        self.policy.determinism.random_seed = Some(seed);
        self
    }

    /// Directory listings (`getdents64`) come sorted by name (`--deterministic-dirs`).
    pub fn deterministic_dirs(mut self, on: bool) -> Self {
        self.policy.determinism.sorted_dirs = on;
        self
    }

    /// The sandbox sees `name` as the host name (`--hostname`): `uname`'s node name,
    /// `/etc/hostname` and `/proc/sys/kernel/hostname`. At most 64 bytes, no NUL or newline.
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.policy.determinism.hostname = Some(name.into());
        self
    }
}

impl Policy {
    /// The instant the sandbox's wall clock starts at, if shifted.
    pub fn time_start(&self) -> Option<SystemTime> {
        self.determinism.time_start
    }

    /// The seed of the sandbox's randomness, if seeded.
    pub fn random_seed(&self) -> Option<u64> {
        self.determinism.random_seed
    }

    /// Whether directory listings are sorted.
    pub fn deterministic_dirs(&self) -> bool {
        self.determinism.sorted_dirs
    }

    /// The host name the sandbox sees, if set.
    pub fn hostname(&self) -> Option<&str> {
        self.determinism.hostname.as_deref()
    }
}

/// Checks this feature's part of `policy`.
pub(crate) fn validate(policy: &Policy) -> Result<(), PolicyError> {
    let d = &policy.determinism;
    if let Some(start) = d.time_start {
        let secs = start
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| bad("--time-start", format!("{start:?}"), "before 1970"))?
            .as_secs();
        if secs > 253_402_300_799 {
            return Err(bad(
                "--time-start",
                format!("{start:?}"),
                "after the year 9999",
            ));
        }
    }
    if let Some(name) = &d.hostname {
        if name.is_empty() || name.len() > MAX_HOSTNAME {
            return Err(bad("--hostname", name.clone(), "must be 1 to 64 bytes"));
        }
        if name.bytes().any(|b| b == 0 || b == b'\n') {
            return Err(bad("--hostname", name.clone(), "contains a NUL or newline"));
        }
    }
    Ok(())
}

fn bad(option: &'static str, value: String, reason: &str) -> PolicyError {
    PolicyError::BadOption {
        option,
        value,
        reason: reason.to_owned(),
    }
}

/// Random streams of the running sandboxes, for the open hooks (which are shared by every
/// sandbox of a prepared policy): the instance's `done` flag and its tree.
type Trees = Arc<Mutex<Vec<(Arc<AtomicBool>, Arc<Mutex<Tree>>)>>>;

/// Adds what this feature needs from the supervisor to `plan`.
pub(crate) fn plan(
    policy: &Policy,
    kernel: &KernelFeatures,
    plan: &mut Plan,
) -> Result<(), PrepareError> {
    let d = policy.determinism.clone();
    if d.time_start.is_none() && d.random_seed.is_none() && d.hostname.is_none() {
        return Ok(());
    }
    if d.time_start.is_some() {
        // Without the vDSO redirected, a clock read through it would see the host's time.
        // The spawn path's features leave it unprobed (errno 0): ask the full, cached probe.
        // (Unknown is tried: a failed write at run time kills the sandbox.)
        let vdso_write = match kernel.vdso_write {
            Availability::Unknown(e) if e == Errno::from_raw(0) => KernelFeatures::get().vdso_write,
            a => a,
        };
        if matches!(vdso_write, Availability::Missing | Availability::FakedOff) {
            return Err(PrepareError::Feature {
                feature: "--time-start",
                message: format!(
                    "this kernel does not let the supervisor write a process's vDSO through \
                     /proc/PID/mem (vdso-write: {}), so clock reads through the vDSO could \
                     not be shifted",
                    vdso_write
                ),
            });
        }
        plan.notify(&[
            "clock_gettime",
            "gettimeofday",
            "time",
            "clock_nanosleep",
            "timerfd_settime",
            "timer_settime",
            "adjtimex",
            "clock_adjtime",
        ]);
    }
    if d.time_start.is_some() || d.random_seed.is_some() {
        plan.notify(&["arch_prctl", "set_tid_address"]);
    }
    if d.random_seed.is_some() {
        plan.notify(&["getrandom"]);
    }
    if d.hostname.is_some() {
        plan.notify(&["uname"]);
    }

    let trees: Trees = Arc::default();
    if d.random_seed.is_some() {
        for path in ["/dev/urandom", "/dev/random"] {
            let trees = Arc::clone(&trees);
            plan.open_hook(path, move |inst, req| {
                if req.flags & libc::O_ACCMODE == libc::O_WRONLY {
                    // Adding entropy changes nothing the sandbox reads back.
                    return None;
                }
                let tree = {
                    let trees = trees.lock().unwrap_or_else(|p| p.into_inner());
                    trees
                        .iter()
                        .find(|(done, _)| Arc::ptr_eq(done, &inst.done))
                        .map(|(_, t)| Arc::clone(t))
                };
                let Some(tree) = tree else {
                    return Some(OpenAnswer::Deny(Errno::EIO));
                };
                let mut tree = tree.lock().unwrap_or_else(|p| p.into_inner());
                let stream = tree.device(req.tgid);
                Some(match tree.serve(stream) {
                    Ok(DeviceAnswer::Fd(fd)) => OpenAnswer::Fd(fd),
                    Ok(DeviceAnswer::Content(bytes)) => OpenAnswer::Content(bytes),
                    Err(_) => OpenAnswer::Deny(Errno::ENFILE),
                })
            });
        }
    }
    if let Some(name) = &d.hostname {
        let content = format!("{name}\n").into_bytes();
        for path in ["/etc/hostname", "/proc/sys/kernel/hostname"] {
            let content = content.clone();
            plan.open_hook(path, move |_, _| Some(OpenAnswer::Content(content.clone())));
        }
    }

    plan.installer("determinism", move |inst, t| {
        let state = Rc::new(RefCell::new(State::new(&d, inst, &trees)));
        let on = |t: &mut crate::notify::Installing,
                  name: &'static str,
                  f: fn(&mut State, &mut NotifCtx<'_>) -> HandlerResult| {
            let state = Rc::clone(&state);
            t.on(name, move |ctx| f(&mut state.borrow_mut(), ctx));
        };
        if d.time_start.is_some() {
            on(t, "clock_gettime", State::clock_gettime);
            on(t, "gettimeofday", State::gettimeofday);
            on(t, "time", State::time);
            on(t, "clock_nanosleep", State::clock_nanosleep);
            on(t, "timerfd_settime", State::timerfd_settime);
            on(t, "timer_settime", State::timer_settime);
            on(t, "adjtimex", |_, _| Ok(Verdict::Errno(Errno::EPERM)));
            on(t, "clock_adjtime", |_, _| Ok(Verdict::Errno(Errno::EPERM)));
        }
        if d.time_start.is_some() || d.random_seed.is_some() {
            on(t, "arch_prctl", State::image_start);
            on(t, "set_tid_address", State::image_start);
        }
        if d.random_seed.is_some() {
            on(t, "getrandom", State::getrandom);
        }
        if d.hostname.is_some() {
            on(t, "uname", State::uname);
        }
    });
    Ok(())
}

/// One sandbox's state, owned by its handlers on the supervisor thread.
struct State {
    inst: Instance,
    shift: Option<Shift>,
    sleeper: Option<Sender<Sleep>>,
    /// The patched vDSO's layout (the same in every process of the sandbox).
    layout: Option<vdso::Layout>,
    tree: Option<Arc<Mutex<Tree>>>,
    hostname: Option<String>,
}

impl State {
    fn new(d: &DeterminismConfig, inst: &Instance, trees: &Trees) -> State {
        let tree = d.random_seed.map(|seed| {
            let init = u32::try_from(inst.init_pid).unwrap_or(0);
            let tree = Arc::new(Mutex::new(Tree::new(seed, init)));
            let mut trees = trees.lock().unwrap_or_else(|p| p.into_inner());
            trees.retain(|(done, _)| !done.load(std::sync::atomic::Ordering::Acquire));
            trees.push((Arc::clone(&inst.done), Arc::clone(&tree)));
            tree
        });
        State {
            inst: inst.clone(),
            shift: d.time_start.map(Shift::starting_at),
            sleeper: None,
            layout: None,
            tree,
            hostname: d.hostname.clone(),
        }
    }

    /// `arch_prctl(ARCH_SET_FS)` and `set_tid_address`: made by every libc as a freshly
    /// exec'd program starts, before any of its code runs. Patches the vDSO of the new image
    /// (again, harmlessly, if it already is) and records the process in the random tree.
    fn image_start(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [code, ..] = ctx.args();
        let nr = i64::from(ctx.nr());
        #[cfg(target_arch = "x86_64")]
        if nr == libc::SYS_arch_prctl && code != ARCH_SET_FS {
            return Ok(Verdict::Continue);
        }
        let _ = (nr, code);
        let pid = ctx.pid();
        if let Some(shift) = self.shift {
            let patched = vdso::open_mem(pid).and_then(|mem| {
                // The file is bound to the process it was opened for: if the caller is still
                // in its call, that is the caller.
                ctx.check_valid().map_err(|e| e.to_string())?;
                vdso::patch(pid, &mem, shift.offset())
            });
            if let Ok(vdso::Patched::Now(layout)) = &patched {
                self.layout = Some(layout.clone());
            }
            if let Err(e) = patched {
                if ctx.check_valid().is_err() {
                    return Err(MemError::Gone { id: ctx.id() }.into());
                }
                self.inst.kill(format!(
                    "--time-start: cannot redirect the vDSO clock of pid {pid}: {e}"
                ));
                return Ok(Verdict::Errno(Errno::EPERM));
            }
        }
        if let Some(tree) = &self.tree {
            let tgid = random::tgid_of(pid).unwrap_or(pid);
            tree.lock().unwrap_or_else(|p| p.into_inner()).see(tgid);
        }
        Ok(Verdict::Continue)
    }

    /// Whether this wall-clock call is the vDSO's own fallback to the system call, made from
    /// inside a patched vDSO whose stub shifts the result: then it must get the host's time.
    fn is_vdso_fallback(&self, ctx: &NotifCtx<'_>) -> bool {
        let Some(layout) = &self.layout else {
            return false;
        };
        match vdso::vdso_base(ctx.pid()) {
            Ok(Some((base, _))) => layout.is_unshifted(base, ctx.instruction_pointer()),
            _ => false,
        }
    }

    fn shift(&self) -> Result<Shift, HandlerError> {
        self.shift.ok_or(HandlerError::Sys(Errno::ENOSYS))
    }

    fn clock_gettime(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [clock, ts, ..] = ctx.args();
        let clock = clock as i32;
        if !time::is_wall_clock(clock) || self.is_vdso_fallback(ctx) {
            return Ok(Verdict::Continue);
        }
        let now = match self.shift()?.now(clock) {
            Ok(now) => now,
            // As the kernel would answer (CLOCK_REALTIME_ALARM without an RTC: EINVAL).
            Err(e) => return Ok(Verdict::Errno(e)),
        };
        write(ctx, ts, &time::timespec_bytes(now), Verdict::Return(0))
    }

    fn gettimeofday(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [tv, tz, ..] = ctx.args();
        if tv == 0 || self.is_vdso_fallback(ctx) {
            return Ok(Verdict::Continue);
        }
        let (s, ns) = self.shift()?.now(libc::CLOCK_REALTIME)?;
        if tz != 0 {
            let [west, dst] = sandlock_sys::determinism::timezone()?;
            let mut b = [0u8; 8];
            b[..4].copy_from_slice(&west.to_ne_bytes());
            b[4..].copy_from_slice(&dst.to_ne_bytes());
            if let Verdict::Errno(e) = write(ctx, tz, &b, Verdict::Return(0))? {
                return Ok(Verdict::Errno(e));
            }
        }
        write(
            ctx,
            tv,
            &time::timespec_bytes((s, ns / 1000)),
            Verdict::Return(0),
        )
    }

    fn time(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [tloc, ..] = ctx.args();
        if self.is_vdso_fallback(ctx) {
            return Ok(Verdict::Continue);
        }
        let (s, _) = self.shift()?.now(libc::CLOCK_REALTIME)?;
        if tloc == 0 {
            return Ok(Verdict::Return(s));
        }
        write(ctx, tloc, &s.to_ne_bytes(), Verdict::Return(s))
    }

    fn clock_nanosleep(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [clock, flags, req, ..] = ctx.args();
        let clock = clock as i32;
        let abs = flags as i32 & libc::TIMER_ABSTIME != 0;
        // CLOCK_REALTIME_COARSE cannot be slept on: the kernel refuses it as made.
        if !abs || !time::is_wall_clock(clock) || clock == libc::CLOCK_REALTIME_COARSE {
            return Ok(Verdict::Continue);
        }
        let mut b = [0u8; 16];
        if let Err(e) = ctx.read_mem(req, &mut b) {
            return mem_errno(e);
        }
        let Some(deadline) = time::parse_timespec(&b) else {
            return Ok(Verdict::Errno(Errno::EINVAL));
        };
        let deadline = self.shift()?.to_host(deadline);
        if self.sleeper.is_none() {
            self.sleeper = Some(time::start_sleeper(Arc::clone(&self.inst.done))?);
        }
        ctx.check_valid()?;
        let sleep = Sleep {
            clock,
            deadline,
            tid: ctx.pid(),
            responder: ctx.responder(),
        };
        if let Some(tx) = &self.sleeper
            && let Err(back) = tx.send(sleep)
        {
            // The sleeper is gone: answer at once (dropping the responder would answer EPERM).
            self.sleeper = None;
            let _ = back.0.responder.answer(Verdict::Errno(Errno::EINTR));
        }
        Ok(Verdict::Deferred)
    }

    fn timerfd_settime(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [fd, flags, new, old, ..] = ctx.args();
        let flags = flags as i32;
        if flags & libc::TFD_TIMER_ABSTIME == 0 {
            return Ok(Verdict::Continue);
        }
        let timer = match ctx.caller_fd(fd) {
            Ok(t) => t,
            Err(HandlerError::Sys(e)) => return Ok(Verdict::Errno(e)),
            Err(e) => return Err(e),
        };
        let Some(clock) = timerfd_clock_of(ctx, fd, &timer)? else {
            return Ok(Verdict::Errno(Errno::EINVAL));
        };
        // Made on the caller's timer either way (never Continued after looking at its file);
        // only a wall-clock deadline is shifted.
        let shifted = time::is_wall_clock(clock);
        let mut b = [0u8; 32];
        if let Err(e) = ctx.read_mem(new, &mut b) {
            return mem_errno(e);
        }
        let (Some(interval), Some(value)) = (
            time::parse_timespec(b[..16].try_into().unwrap_or(&[0xff; 16])),
            time::parse_timespec(b[16..].try_into().unwrap_or(&[0xff; 16])),
        ) else {
            return Ok(Verdict::Errno(Errno::EINVAL));
        };
        // A zero expiry disarms the timer; any other is a deadline on the sandbox's clock.
        let value = if value == (0, 0) || !shifted {
            value
        } else {
            match self.shift()?.to_host(value) {
                (0, 0) => (0, 1),
                v => v,
            }
        };
        ctx.check_valid()?;
        let previous =
            match sandlock_sys::determinism::timerfd_settime(&timer, flags, [interval, value]) {
                Ok(p) => p,
                Err(e) => return Ok(Verdict::Errno(e)),
            };
        if old == 0 {
            return Ok(Verdict::Return(0));
        }
        // The previous setting is time left (relative): not shifted.
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&time::timespec_bytes(previous[0]));
        out[16..].copy_from_slice(&time::timespec_bytes(previous[1]));
        write(ctx, old, &out, Verdict::Return(0))
    }

    fn timer_settime(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [timer, flags, ..] = ctx.args();
        if flags as i32 & libc::TIMER_ABSTIME == 0 {
            return Ok(Verdict::Continue);
        }
        let tgid = random::tgid_of(ctx.pid()).unwrap_or(ctx.pid());
        let timers = std::fs::read_to_string(format!("/proc/{tgid}/timers")).unwrap_or_default();
        match time::timer_clock(&timers, timer as i32) {
            // A deadline on the sandbox's clock that only the caller's timer could hold.
            Some(clock) if time::is_wall_clock(clock) => Ok(Verdict::Errno(Errno::EINVAL)),
            _ => Ok(Verdict::Continue),
        }
    }

    fn getrandom(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [buf, len, flags, ..] = ctx.args();
        let known = (libc::GRND_NONBLOCK | libc::GRND_RANDOM | libc::GRND_INSECURE) as u64;
        let both = (libc::GRND_RANDOM | libc::GRND_INSECURE) as u64;
        // `len` beyond isize::MAX includes the vDSO state request (`~0`): refused, so libc
        // uses the system call.
        if flags & !known != 0 || flags & both == both || len > isize::MAX as u64 {
            return Ok(Verdict::Errno(Errno::EINVAL));
        }
        let n = usize::try_from(len)
            .unwrap_or(MAX_GETRANDOM)
            .min(MAX_GETRANDOM);
        if n == 0 {
            return Ok(Verdict::Return(0));
        }
        let Some(tree) = self.tree.clone() else {
            return Err(Errno::ENOSYS.into());
        };
        let tgid = random::tgid_of(ctx.pid()).unwrap_or(ctx.pid());
        let mut tree = tree.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = tree.peek(ctx.pid(), tgid, n);
        let verdict = write(ctx, buf, &bytes, Verdict::Return(n as i64))?;
        if let Verdict::Return(_) = verdict {
            tree.consume(ctx.pid(), tgid, n);
        }
        Ok(verdict)
    }

    fn uname(&mut self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [buf, ..] = ctx.args();
        let mut uts = sandlock_sys::determinism::uname()?;
        if let Some(name) = &self.hostname {
            let node = &mut uts[1];
            node.fill(0);
            let n = name.len().min(node.len() - 1);
            node[..n].copy_from_slice(&name.as_bytes()[..n]);
        }
        write(ctx, buf, uts.as_flattened(), Verdict::Return(0))
    }
}

/// The clock of `timer`, the supervisor's duplicate of the caller's timerfd `fd` (`None` when
/// its fdinfo names none, or the caller's `fd` changed under us).
fn timerfd_clock_of(
    ctx: &mut NotifCtx<'_>,
    fd: u64,
    timer: &std::os::fd::OwnedFd,
) -> Result<Option<i32>, HandlerError> {
    use std::os::fd::{AsFd as _, AsRawFd as _};
    match std::fs::read_to_string(format!("/proc/self/fdinfo/{}", timer.as_raw_fd())) {
        Ok(info) => return Ok(time::timerfd_clock(&info)),
        // Before Linux 5.14 a process's fdinfo files belong to root while it is not dumpable,
        // which the supervisor is without Landlock: an unprivileged one cannot read its own.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
        Err(e) => return Err(e.into()),
    }
    // Then the caller's fdinfo, trusted only if its `fd` is still our timer afterwards.
    let info = std::fs::read_to_string(format!("/proc/{}/fdinfo/{}", ctx.pid(), fd as u32))?;
    let again = ctx.caller_fd(fd)?;
    if !sandlock_sys::views::same_open_file(timer.as_fd(), again.as_fd())? {
        return Ok(None);
    }
    Ok(time::timerfd_clock(&info))
}

/// Writes `bytes` at `addr` in the caller and answers `ok`, or `EFAULT` when the memory is not
/// writable; a caller that is gone gets nothing.
fn write(ctx: &mut NotifCtx<'_>, addr: u64, bytes: &[u8], ok: Verdict) -> HandlerResult {
    match ctx.write_mem(addr, bytes) {
        Ok(()) => Ok(ok),
        Err(e) => mem_errno(e),
    }
}

fn mem_errno(e: MemError) -> HandlerResult {
    match e {
        MemError::Gone { .. } => Err(e.into()),
        _ => Ok(Verdict::Errno(Errno::EFAULT)),
    }
}

//! Views of /proc and /sys: what the sandbox may open there, synthetic files, and the open
//! family for every feature.
//!
//! This feature owns `open`, `openat` and `creat` (`openat2` stays `ENOSYS` from the default
//! filter: its `open_how` sits behind a pointer, and libc falls back to `openat`), `getdents64`
//! and `getdents`, `sched_getaffinity` and `sysinfo`. It notifies them only when the policy
//! needs it: /proc or /sys readable (or a directory above them, such as `-r /`), `--num-cpus`,
//! `--max-memory`, `--deterministic-dirs`, or an open hook registered by another feature. The
//! default profile (no /proc) notifies none of them.
//!
//! # Opening on behalf
//! A notified open is never let through with `Continue` (the path lives in memory the sandbox
//! can change after the check). The supervisor opens the file itself and installs the result
//! in the caller (`SECCOMP_IOCTL_NOTIF_ADDFD`), with close-on-exec only when the caller asked
//! for it:
//!
//! 1. The path is read once, made absolute against the caller's directory fd or working
//!    directory (their names as the kernel gives them), resolved lexically, and the caller's
//!    links (`/proc/self`, `/proc/thread-self`, `/dev/fd`, `/dev/stdin`, `/proc/net`) written
//!    out for the caller. That canonical path routes the request: denied names answer
//!    `EACCES` at once, open hooks are matched on it, and /proc/PID of a process outside the
//!    sandbox answers `ENOENT`.
//! 2. Ordinary paths are opened by an agent worker (confined by the sandbox's own Landlock
//!    ruleset, so what the sandbox may not read stays unreadable), relative to a duplicate of
//!    the caller's directory fd or an `O_PATH` fd of its working directory, with `openat2`
//!    and `RESOLVE_NO_MAGICLINKS`, and the caller's umask. The answer is deferred: a FIFO
//!    that blocks holds a worker, not the supervisor.
//! 3. /proc/PID of a sandbox process is opened on the supervisor thread (a worker, in a sibling
//!    Landlock domain, fails the kernel's ptrace check on most of those files), beneath an
//!    fd of /proc with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV`; only when
//!    the policy grants /proc itself, writing only when it grants writing there, and the
//!    ptrace-guarded entries (`mem`, `environ`, `fd`, `maps`, …) only of the caller's own
//!    process. `/proc/PID/fd/N` of the caller is reopened from a duplicate of its fd N, in a
//!    worker.
//! 4. Whatever was opened is then checked as an object, not a string: procfs inode numbers of
//!    the denied entries, the kernel's own name of the object (`/proc/self/fd/N`) against the
//!    denied names and against /proc/PID of processes outside the sandbox, and securityfs as a
//!    whole. Only then is the fd installed.
//!
//! # Synthetic files
//! Open hooks (`Plan::open_hook`) answer with contents, served as a sealed memfd reopened with
//! the caller's flags (read-only: asking to write is `EACCES`), with an fd, or with an errno.
//! They are served whether or not Landlock lets the sandbox read the real path. This feature
//! registers its own: /proc/cpuinfo and the /sys CPU lists under `--num-cpus`, /proc/meminfo
//! under `--max-memory`.
//!
//! # Limits
//! Symbolic links other than the caller's own are followed by the kernel, not by the routing:
//! a link into /proc/PID of a sandbox process takes the worker road (and the ptrace-guarded
//! entries then fail with `EACCES`), a link into /proc/self/fd fails with `ELOOP`. A
//! sorted listing hands out records with the kernel's `d_off` values, so `seekdir` to a
//! `telldir` position of a sorted listing lands in the kernel's order.

mod dirs;
mod object;
mod path;
mod synth;

use std::cell::RefCell;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use sandlock_notif::{HandlerError, HandlerResult, MemError, NotifCtx, Verdict};
use sandlock_sys::Errno;
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::structs::OpenHow;
use sandlock_sys::views::{
    RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV, openat2, sealed_memfd,
};

use crate::confine::PrepareError;
use crate::notify::{Instance, OpenAnswer, OpenHook, OpenRequest, Plan};
use crate::policy::{Policy, PolicyBuilder, PolicyError};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ViewConfig {
    /// `--num-cpus`: the number of CPUs the sandbox sees.
    pub(crate) num_cpus: Option<u32>,
}

/// Most CPUs `--num-cpus` accepts (the kernel's `NR_CPUS` ceiling).
const MAX_NUM_CPUS: u32 = 8192;

impl PolicyBuilder {
    /// The sandbox sees `n` CPUs: /proc/cpuinfo lists `n` processors, the /sys CPU lists and
    /// `sched_getaffinity` say `n` (so `nproc`, `sysconf(_SC_NPROCESSORS_ONLN)` and Python's
    /// `os.cpu_count()` do). It does not change how many CPUs the sandbox runs on (see
    /// [`cpu_cores`](Self::cpu_cores)).
    pub fn num_cpus(mut self, n: u32) -> Self {
        self.policy.views.num_cpus = Some(n);
        self
    }
}

impl Policy {
    /// The number of CPUs the sandbox sees, when set.
    pub fn num_cpus(&self) -> Option<u32> {
        self.views.num_cpus
    }
}

/// Checks this feature's part of `policy`.
pub(crate) fn validate(policy: &Policy) -> Result<(), PolicyError> {
    if let Some(n) = policy.views.num_cpus
        && !(1..=MAX_NUM_CPUS).contains(&n)
    {
        return Err(PolicyError::BadOption {
            option: "--num-cpus",
            value: n.to_string(),
            reason: format!("must be between 1 and {MAX_NUM_CPUS}"),
        });
    }
    Ok(())
}

/// How the policy's paths meet one pseudo filesystem (`/proc`, `/sys`).
#[derive(Debug, Clone, Copy, Default)]
struct Reach {
    /// Some path at, above or below it is readable (or writable).
    any: bool,
    /// It is readable as a whole (the path or a directory above it).
    whole: bool,
    /// It is writable as a whole.
    writable: bool,
}

fn reach(policy: &Policy, root: &str) -> Reach {
    let root = Path::new(root);
    let covers = |p: &Path| root.starts_with(p);
    let meets = |p: &Path| root.starts_with(p) || p.starts_with(root);
    let all = || policy.fs_read.iter().chain(&policy.fs_write);
    Reach {
        any: all().any(|p| meets(p)),
        whole: all().any(|p| covers(p)),
        writable: policy.fs_write.iter().any(|p| covers(p)),
    }
}

/// What the handlers of one policy need, shared by every sandbox it spawns.
#[derive(Clone)]
struct Settings {
    proc: Reach,
    num_cpus: Option<u32>,
    max_memory: Option<u64>,
    sorted_dirs: bool,
    hooks: Vec<(&'static str, OpenHook)>,
}

/// Adds what this feature needs from the supervisor to `plan`.
pub(crate) fn plan(
    policy: &Policy,
    _kernel: &KernelFeatures,
    plan: &mut Plan,
) -> Result<(), PrepareError> {
    let proc = reach(policy, "/proc");
    let sys = reach(policy, "/sys");
    let num_cpus = policy.views.num_cpus;
    let max_memory = policy.resources.max_memory;
    let sorted_dirs = policy.determinism.sorted_dirs;
    if let Some(n) = num_cpus {
        plan.open_hook("/proc/cpuinfo", move |_, _| {
            let real = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            Some(OpenAnswer::Content(synth::cpuinfo(&real, n).into_bytes()))
        });
        for list in ["online", "possible", "present"] {
            let key: &'static str = match list {
                "online" => "/sys/devices/system/cpu/online",
                "possible" => "/sys/devices/system/cpu/possible",
                _ => "/sys/devices/system/cpu/present",
            };
            plan.open_hook(key, move |_, _| {
                Some(OpenAnswer::Content(synth::cpu_list(n).into_bytes()))
            });
        }
    }
    if let Some(cap) = max_memory {
        plan.open_hook("/proc/meminfo", move |inst, _| {
            let real = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
            let used = sandbox_rss(inst.init_pid);
            Some(OpenAnswer::Content(
                synth::meminfo(&real, cap, used).into_bytes(),
            ))
        });
    }
    let hooks = plan.open_hooks().to_vec();
    let opens = proc.any || sys.any || !hooks.is_empty();
    let listings = proc.any || sorted_dirs;
    if opens {
        // landlock_restrict_self: a process that confines itself further (a nested sandbox)
        // must stay confined in the opens made on its behalf.
        plan.notify(&["open", "openat", "creat", "landlock_restrict_self"]);
    }
    if listings {
        plan.notify(&["getdents64", "getdents"]);
    }
    if num_cpus.is_some() {
        plan.notify(&["sched_getaffinity"]);
    }
    if max_memory.is_some() {
        plan.notify(&["sysinfo"]);
    }
    if !(opens || listings || num_cpus.is_some() || max_memory.is_some()) {
        return Ok(());
    }
    let settings = Arc::new(Settings {
        proc,
        num_cpus,
        max_memory,
        sorted_dirs,
        hooks,
    });
    plan.installer("views", move |inst, t| {
        let served = Rc::new(Served::new(inst, Arc::clone(&settings)));
        if opens {
            for (name, kind) in [
                ("open", OpenKind::Open),
                ("openat", OpenKind::Openat),
                ("creat", OpenKind::Creat),
            ] {
                let s = Rc::clone(&served);
                t.on(name, move |ctx| answer(open(&s, ctx, kind)));
            }
            let s = Rc::clone(&served);
            t.on("landlock_restrict_self", move |ctx| {
                answer(restrict_self(&s, ctx))
            });
        }
        if listings {
            for (name, format) in [
                ("getdents64", dirs::Format::Dirent64),
                ("getdents", dirs::Format::Legacy),
            ] {
                let s = Rc::clone(&served);
                t.on(name, move |ctx| answer(getdents(&s, ctx, format)));
            }
        }
        if num_cpus.is_some() {
            let s = Rc::clone(&served);
            t.on("sched_getaffinity", move |ctx| answer(affinity(&s, ctx)));
        }
        if max_memory.is_some() {
            let s = Rc::clone(&served);
            t.on("sysinfo", move |ctx| answer(sysinfo(&s, ctx)));
        }
    });
    Ok(())
}

/// Resident memory of the sandbox's processes, in bytes (`VmRSS`).
fn sandbox_rss(init_pid: i32) -> u64 {
    crate::tree::descendants(init_pid, false)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum::<u64>()
        * 1024
}

/// One sandbox's view state, on the supervisor thread.
struct Served {
    inst: Instance,
    settings: Arc<Settings>,
    /// Shared with workers.
    denied: Arc<object::DeniedObjects>,
    /// `/` and `/proc`, `O_PATH`, opened by the supervisor.
    root: Option<Arc<OwnedFd>>,
    proc_dir: Option<OwnedFd>,
    dirs: RefCell<dirs::Dirs>,
    /// Landlock rulesets sandbox threads enforced on themselves (tid, ruleset), in order.
    nested: RefCell<Vec<(u32, Arc<OwnedFd>)>>,
}

impl Served {
    fn new(inst: &Instance, settings: Arc<Settings>) -> Served {
        let how = OpenHow {
            flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: 0,
        };
        let open = |p: &std::ffi::CStr| {
            std::fs::File::open("/")
                .ok()
                .and_then(|root| openat2(root.as_fd(), p, &how).ok())
        };
        Served {
            inst: inst.clone(),
            settings,
            denied: Arc::new(object::DeniedObjects::probe()),
            root: open(c"/").map(Arc::new),
            proc_dir: open(c"/proc"),
            dirs: RefCell::new(dirs::Dirs::default()),
            nested: RefCell::new(Vec::new()),
        }
    }
}

/// A handler's outcome: a verdict, an errno for the caller, or the caller gone.
enum Fail {
    Errno(Errno),
    Handler(HandlerError),
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Fail {
        Fail::Errno(e)
    }
}

impl From<MemError> for Fail {
    fn from(e: MemError) -> Fail {
        match e {
            MemError::Gone { .. } => Fail::Handler(e.into()),
            other => Fail::Errno(other.errno()),
        }
    }
}

impl From<HandlerError> for Fail {
    fn from(e: HandlerError) -> Fail {
        match e {
            HandlerError::Mem(m) => m.into(),
            HandlerError::Sys(e) => Fail::Errno(e),
            other => Fail::Handler(other),
        }
    }
}

/// Errnos go to the caller; a caller that left is dropped; anything else is `EPERM`.
fn answer(r: Result<Verdict, Fail>) -> HandlerResult {
    match r {
        Ok(v) => Ok(v),
        Err(Fail::Errno(e)) => Ok(Verdict::Errno(e)),
        Err(Fail::Handler(e)) => Err(e),
    }
}

#[derive(Debug, Clone, Copy)]
enum OpenKind {
    Open,
    Openat,
    Creat,
}

/// Longest path read from the caller (`PATH_MAX`, NUL included).
const PATH_MAX: usize = 4096;

/// Flags `openat2` accepts (it refuses unknown bits, where `openat` ignores them).
const VALID_OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE
    | libc::O_SYNC;

/// The flags of an open made on behalf of a caller that asked for `flags`: close-on-exec in
/// the supervisor (the caller's copy gets its own flag), `O_NOCTTY` (a terminal opened here
/// must not become the supervisor's), and with `O_PATH` only the flags `O_PATH` keeps, as
/// `open` strips the others where `openat2` refuses them.
fn on_behalf_flags(flags: i32) -> u64 {
    /// `O_PATH_FLAGS` of the kernel.
    const O_PATH_FLAGS: i32 = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC;
    let flags = if flags & libc::O_PATH != 0 {
        flags & O_PATH_FLAGS
    } else {
        flags | libc::O_NOCTTY
    };
    (flags | libc::O_CLOEXEC) as u64
}

fn wants_write(flags: i32) -> bool {
    flags & libc::O_ACCMODE != libc::O_RDONLY
        || flags & (libc::O_CREAT | libc::O_TRUNC) != 0
        || flags & libc::O_TMPFILE == libc::O_TMPFILE
}

fn open(s: &Served, ctx: &mut NotifCtx<'_>, kind: OpenKind) -> Result<Verdict, Fail> {
    let a = ctx.args();
    let (dirfd, addr, flags, mode) = match kind {
        OpenKind::Open => (libc::AT_FDCWD, a[0], a[1] as i32, a[2] as u32),
        OpenKind::Openat => (a[0] as u32 as i32, a[1], a[2] as i32, a[3] as u32),
        OpenKind::Creat => (
            libc::AT_FDCWD,
            a[0],
            libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
            a[1] as u32,
        ),
    };
    // open(2) and creat(2) imply O_LARGEFILE on 64-bit, openat(2) too.
    let flags = (flags & VALID_OPEN_FLAGS) | libc::O_LARGEFILE;
    let mode = if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        u64::from(mode & 0o7777)
    } else {
        0
    };
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let raw = ctx.read_cstr(addr, PATH_MAX - 1)?;
    if raw.is_empty() {
        return Err(Errno::ENOENT.into());
    }
    let tid = ctx.pid();
    // The directory the path starts at, and its name.
    let (base_fd, base_name): (Option<OwnedFd>, Vec<u8>) = if raw[0] == b'/' {
        (None, b"/".to_vec())
    } else if dirfd == libc::AT_FDCWD {
        let cwd = format!("/proc/{tid}/cwd");
        let how = OpenHow {
            flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: 0,
        };
        let root = s.root.as_ref().ok_or(Errno::EACCES)?;
        let c = CString::new(cwd.clone()).map_err(|_| Errno::EINVAL)?;
        let fd = openat2(root.as_fd(), &c, &how)?;
        let name = std::fs::read_link(&cwd).map_err(|_| Errno::ENOENT)?;
        (Some(fd), name.into_os_string().into_encoded_bytes())
    } else {
        let fd = ctx.caller_fd(u64::from(dirfd as u32))?;
        let name = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|_| Errno::ENOTDIR)?;
        (Some(fd), name.into_os_string().into_encoded_bytes())
    };
    // From here on the path and the directory are the caller's as of this call.
    ctx.check_valid()?;
    let canon = path::lexical(&base_name, &raw);
    // The caller's process and umask, read from /proc only when they matter: for the
    // caller's own links (under /proc and /dev), a file created, or a caller under rules of
    // its own. Most opens need neither, and reading /proc/TID/status costs.
    let needs_task = flags & (libc::O_CREAT | libc::O_TMPFILE) != 0
        || !s.nested.borrow().is_empty()
        || path::is_at_or_below(&canon, b"/proc")
        || path::is_at_or_below(&canon, b"/dev");
    let task = if needs_task {
        object::task_info(tid).ok_or(Errno::ESRCH)?
    } else {
        // Not used: no /proc or /dev path to rewrite, nothing created, no nested rules.
        object::TaskInfo {
            tgid: tid,
            ppid: 0,
            umask: 0o022,
        }
    };
    let tgid = task.tgid;
    let resolved = through_own_links(path::for_caller(&canon, tgid, tid), tgid, tid);
    let rewritten = resolved != canon;
    if path::is_denied(&resolved) {
        return Err(Errno::EACCES.into());
    }
    let key = path::hook_key(&resolved, tgid, tid);
    for (hook_path, hook) in &s.settings.hooks {
        if !path::hook_matches(hook_path, &key) {
            continue;
        }
        // Hooks get the true process (e.g. per-process streams), read now if not yet.
        let tgid = if needs_task {
            tgid
        } else {
            object::task_info(tid).ok_or(Errno::ESRCH)?.tgid
        };
        let req = OpenRequest { flags, tgid };
        if let Some(ans) = hook(&s.inst, &req) {
            return serve(s, ans, flags, cloexec);
        }
    }
    let init_pid = s.inst.init_pid;
    let nested = nested_rulesets(s, tid, tgid);
    if let Some((pid, tail)) = path::proc_pid(&resolved) {
        let Some(owner) = object::task_info(pid).filter(|_| object::in_sandbox(pid, init_pid))
        else {
            return Err(Errno::ENOENT.into());
        };
        // Without /proc granted as a whole, or for a caller under rules of its own, the
        // supervisor thread (which enforces neither) does not open: a worker does.
        if !s.settings.proc.whole || !nested.is_empty() {
            // Landlock decides (a worker opening the explicit path).
            let path = CString::new(resolved.clone()).map_err(|_| Errno::EINVAL)?;
            let job = Job {
                dir: None,
                path,
                flags,
                mode,
                umask: task.umask,
                cloexec,
                resolve: RESOLVE_NO_MAGICLINKS,
                nested,
            };
            return on_worker(s, ctx, job);
        }
        let own = owner.tgid == tgid;
        if path::is_private_entry(tail) && !own {
            return Err(Errno::EACCES.into());
        }
        // The caller's own magic links (fd/N, exe, ns/*): reopened, in a worker, from what
        // they lead to, so that Landlock judges the target (a pipe, the executable), not
        // /proc.
        let target = match path::fd_entry(tail) {
            Some(n) if own => {
                let pidfd = sandlock_sys::pidfd::PidFd::open(tgid as i32, 0)?;
                Some(pidfd.get_fd(n).map_err(|_| Errno::ENOENT)?)
            }
            _ if own && path::is_own_link(tail) => {
                let proc_dir = s.proc_dir.as_ref().ok_or(Errno::EACCES)?;
                let mut rel = pid.to_string().into_bytes();
                rel.extend_from_slice(tail);
                let rel = CString::new(rel).map_err(|_| Errno::EINVAL)?;
                // The link is followed on purpose (RESOLVE_BENEATH and RESOLVE_NO_XDEV would
                // refuse the jump); `rel` is the checked shape PID/exe or PID/ns/NAME.
                let how = OpenHow {
                    flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
                    mode: 0,
                    resolve: 0,
                };
                Some(openat2(proc_dir.as_fd(), &rel, &how)?)
            }
            _ => None,
        };
        if let Some(dup) = target {
            let path = CString::new(format!("/proc/self/fd/{}", dup.as_raw_fd()))
                .map_err(|_| Errno::EINVAL)?;
            // Through our duplicate's magic link on purpose; the duplicate lives in the job
            // until the open is done.
            let job = Job {
                dir: Some(dup),
                path,
                flags,
                mode,
                umask: task.umask,
                cloexec,
                resolve: 0,
                nested,
            };
            return on_worker(s, ctx, job);
        }
        if wants_write(flags) && !s.settings.proc.writable {
            return Err(Errno::EACCES.into());
        }
        let proc_dir = s.proc_dir.as_ref().ok_or(Errno::EACCES)?;
        let mut rel = pid.to_string().into_bytes();
        rel.extend_from_slice(tail);
        let rel = CString::new(rel).map_err(|_| Errno::EINVAL)?;
        let how = OpenHow {
            flags: on_behalf_flags(flags),
            mode,
            resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        let fd = openat2(proc_dir.as_fd(), &rel, &how)?;
        object::check(fd.as_fd(), &s.denied, init_pid)?;
        return Ok(Verdict::InjectFd { fd, cloexec });
    }
    // A path that named the caller's own links is opened as what they meant for the caller.
    let (path, base_fd) = if rewritten {
        (resolved, None)
    } else {
        (raw, base_fd)
    };
    let path = CString::new(path).map_err(|_| Errno::EINVAL)?;
    let job = Job {
        dir: base_fd,
        path,
        flags,
        mode,
        umask: task.umask,
        cloexec,
        resolve: RESOLVE_NO_MAGICLINKS,
        nested,
    };
    on_worker(s, ctx, job)
}

/// `/proc/TGID/root/…` and `/proc/TGID/cwd/…` of the caller (magic links, which the opens on
/// behalf refuse to follow) written as the paths they lead to for the caller.
fn through_own_links(resolved: Vec<u8>, tgid: u32, tid: u32) -> Vec<u8> {
    for base in [format!("/proc/{tgid}/task/{tid}"), format!("/proc/{tgid}")] {
        for link in ["root", "cwd"] {
            let prefix = format!("{base}/{link}");
            if !path::is_at_or_below(&resolved, prefix.as_bytes()) {
                continue;
            }
            let Ok(target) = std::fs::read_link(format!("/proc/{tid}/{link}")) else {
                return resolved;
            };
            let target = target.into_os_string().into_encoded_bytes();
            let rest = resolved[prefix.len()..]
                .strip_prefix(b"/")
                .unwrap_or_default();
            return path::lexical(&target, rest);
        }
    }
    resolved
}

/// A sandbox thread confines itself further: its ruleset is kept, so that opens made on its
/// behalf (and its descendants') enforce it too, then the call goes on as made. It reads no
/// memory (the arguments are an fd and flags), so `Continue` is sound; a ruleset swapped
/// under the same fd number in between would only loosen what the process imposed on itself,
/// never the sandbox's own rules, which the workers enforce regardless.
fn restrict_self(s: &Served, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
    let ruleset = ctx.caller_fd(ctx.args()[0])?;
    let mut nested = s.nested.borrow_mut();
    // Records of threads that are gone would only make opens stricter; keep them bounded.
    if nested.len() >= 1024 {
        nested.remove(0);
    }
    nested.push((ctx.pid(), Arc::new(ruleset)));
    Ok(Verdict::Continue)
}

/// The rulesets that apply to thread `tid` of process `tgid` beyond the sandbox's: those
/// enforced by the thread itself, by its process's main thread (which the other threads
/// created afterwards inherit) or by the main thread of an ancestor process. A domain is per
/// thread, so a ruleset another thread of the process enforced does not count; a child forked
/// by such a thread is not seen as confined (the usual confining program is single-threaded:
/// it restricts itself and execs).
fn nested_rulesets(s: &Served, tid: u32, tgid: u32) -> Vec<Arc<OwnedFd>> {
    let nested = s.nested.borrow();
    if nested.is_empty() {
        return Vec::new();
    }
    let mut line = vec![tid, tgid];
    let mut p = tgid;
    for _ in 0..4096 {
        match object::task_info(p) {
            Some(t) if t.ppid > 1 && t.ppid as i32 != s.inst.init_pid => {
                line.push(t.ppid);
                p = t.ppid;
            }
            _ => break,
        }
    }
    nested
        .iter()
        .filter(|(r, _)| line.contains(r))
        .map(|(_, fd)| Arc::clone(fd))
        .collect()
}

/// An open to make in an agent worker.
struct Job {
    /// Where a relative `path` starts (`/` when `None`).
    dir: Option<OwnedFd>,
    path: CString,
    flags: i32,
    mode: u64,
    /// The caller's umask, for a file created.
    umask: u32,
    cloexec: bool,
    /// `RESOLVE_*` flags.
    resolve: u64,
    /// Rulesets the caller enforced on itself, applied on top of the sandbox's.
    nested: Vec<Arc<OwnedFd>>,
}

/// Opens in an agent worker, under the sandbox's Landlock rules, checks the object and
/// answers the caller from there.
fn on_worker(s: &Served, ctx: &mut NotifCtx<'_>, job: Job) -> Result<Verdict, Fail> {
    let Job {
        dir,
        path,
        flags,
        mode,
        umask,
        cloexec,
        resolve,
        nested,
    } = job;
    let dir = match dir {
        Some(d) => d,
        None => s
            .root
            .as_ref()
            .ok_or(Errno::EACCES)?
            .as_fd()
            .try_clone_to_owned()
            .map_err(|_| Errno::EMFILE)?,
    };
    let denied = Arc::clone(&s.denied);
    let init_pid = s.inst.init_pid;
    let responder = ctx.responder();
    s.inst.agent.spawn(move |w| {
        let verdict = (|| -> Result<Verdict, Errno> {
            w.confined()?;
            sandlock_sys::views::set_umask(umask);
            let how = OpenHow {
                flags: on_behalf_flags(flags),
                mode,
                resolve,
            };
            let fd = if nested.is_empty() {
                openat2(dir.as_fd(), &path, &how)?
            } else {
                // A thread of its own, which inherits this worker's domain and adds the
                // caller's: a pooled worker cannot shed rules once taken.
                std::thread::scope(|sc| {
                    sc.spawn(|| {
                        for ruleset in &nested {
                            sandlock_sys::thread::landlock_restrict_self(ruleset.as_fd())?;
                        }
                        openat2(dir.as_fd(), &path, &how)
                    })
                    .join()
                    .unwrap_or(Err(Errno::EPERM))
                })?
            };
            object::check(fd.as_fd(), &denied, init_pid)?;
            let fd = if flags & libc::O_PATH != 0 {
                readable_for_o_path(fd, flags)?
            } else {
                fd
            };
            Ok(Verdict::InjectFd { fd, cloexec })
        })()
        .unwrap_or_else(Verdict::Errno);
        let _ = responder.answer(verdict);
    });
    Ok(Verdict::Deferred)
}

/// What replaces an `O_PATH` fd, which `SECCOMP_IOCTL_NOTIF_ADDFD` cannot install (the kernel
/// takes the source fd with `fget`, which refuses `O_PATH` files): the same object reopened
/// read-only through its magic link, in this worker, so Landlock must let the sandbox read
/// it. Only directories and regular files: opening anything else for reading can block or
/// act (FIFOs, devices), so those answer `EACCES`, as does an object the sandbox may reach
/// but not read.
fn readable_for_o_path(fd: OwnedFd, flags: i32) -> Result<OwnedFd, Errno> {
    let kind = sandlock_sys::views::file_id(fd.as_fd())?.mode & libc::S_IFMT;
    let extra = match kind {
        libc::S_IFDIR => libc::O_DIRECTORY,
        libc::S_IFREG => 0,
        _ => return Err(Errno::EACCES),
    };
    let path =
        CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|_| Errno::EINVAL)?;
    let how = OpenHow {
        flags: on_behalf_flags(libc::O_RDONLY | extra | (flags & libc::O_NOATIME)),
        mode: 0,
        resolve: 0,
    };
    // An absolute path: the directory fd is not used.
    openat2(fd.as_fd(), &path, &how)
}

/// Serves an open hook's answer.
fn serve(s: &Served, ans: OpenAnswer, flags: i32, cloexec: bool) -> Result<Verdict, Fail> {
    match ans {
        OpenAnswer::Deny(e) => Err(e.into()),
        OpenAnswer::Fd(fd) => Ok(Verdict::InjectFd { fd, cloexec }),
        OpenAnswer::Content(bytes) => {
            if flags & libc::O_DIRECTORY != 0 {
                return Err(Errno::ENOTDIR.into());
            }
            if flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL {
                return Err(Errno::EEXIST.into());
            }
            if wants_write(flags) {
                return Err(Errno::EACCES.into());
            }
            let memfd = sealed_memfd(c"sandlock-view", &bytes)?;
            // A new description with the caller's flags (read-only, O_NONBLOCK, O_PATH…)
            // rather than the memfd's own O_RDWR one.
            let keep = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_LARGEFILE | libc::O_PATH;
            let how = OpenHow {
                flags: on_behalf_flags(libc::O_RDONLY | (flags & keep)),
                mode: 0,
                resolve: 0,
            };
            let fd = match (
                &s.root,
                CString::new(format!("/proc/self/fd/{}", memfd.as_raw_fd())),
            ) {
                (Some(root), Ok(p)) => openat2(root.as_fd(), &p, &how).unwrap_or(memfd),
                _ => memfd,
            };
            Ok(Verdict::InjectFd { fd, cloexec })
        }
    }
}

fn getdents(s: &Served, ctx: &mut NotifCtx<'_>, format: dirs::Format) -> Result<Verdict, Fail> {
    let [fd, buf, count, ..] = ctx.args();
    let count = count as u32 as usize;
    let dir = ctx.caller_fd(fd)?;
    let init_pid = s.inst.init_pid;
    let visible = move || {
        crate::tree::descendants(init_pid, true)
            .into_iter()
            .filter_map(|p| u32::try_from(p).ok())
            .collect()
    };
    let out = s.dirs.borrow_mut().serve(dirs::Request {
        dir,
        format,
        count,
        sorted: s.settings.sorted_dirs,
        visible: &visible,
    })?;
    if !out.is_empty() {
        ctx.write_mem(buf, &out)?;
    }
    Ok(Verdict::Return(out.len() as i64))
}

fn affinity(s: &Served, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
    let [pid, len, addr, ..] = ctx.args();
    let pid = pid as u32 as i32;
    let target = if pid == 0 {
        ctx.pid()
    } else if pid > 0 && object::in_sandbox(pid as u32, s.inst.init_pid) {
        pid as u32
    } else {
        return Err(Errno::ESRCH.into());
    };
    let n = s.settings.num_cpus.unwrap_or(1);
    // Room for the kernel's mask and for n CPUs, no more than the caller's buffer.
    let want = (n as usize).div_ceil(64) * 8;
    let mut mask = vec![0u8; (len as usize).min(8192)];
    let written = sandlock_sys::views::affinity_of(target as i32, &mut mask)?;
    let size = written.max(want).min(mask.len());
    synth::affinity(&mut mask[..size], n);
    ctx.write_mem(addr, &mask[..size])?;
    Ok(Verdict::Return(size as i64))
}

fn sysinfo(s: &Served, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
    let addr = ctx.args()[0];
    let info = sandlock_sys::views::sysinfo()?;
    let info = match s.settings.max_memory {
        Some(cap) => synth::sysinfo(info, cap, sandbox_rss(s.inst.init_pid)),
        None => info,
    };
    ctx.write_mem(addr, info.bytes())?;
    Ok(Verdict::Return(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notified(b: PolicyBuilder) -> Vec<&'static str> {
        let policy = b.allow_degraded(true).build().unwrap();
        let mut p = Plan::default();
        plan(&policy, KernelFeatures::get_without_child(), &mut p).unwrap();
        let mut n = p.notify.clone();
        n.sort_unstable();
        n
    }

    fn system() -> PolicyBuilder {
        ["/usr", "/lib", "/bin", "/etc", "/tmp", "/dev/null"]
            .iter()
            .fold(Policy::builder(), |b, p| b.fs_read(p))
    }

    #[test]
    fn only_what_the_policy_needs_is_notified() {
        let opens = ["creat", "landlock_restrict_self", "open", "openat"];
        assert!(notified(system()).is_empty());
        assert!(notified(system().fs_write("/home")).is_empty());
        let proc = [
            "creat",
            "getdents",
            "getdents64",
            "landlock_restrict_self",
            "open",
            "openat",
        ];
        assert_eq!(notified(system().fs_read("/proc")), proc);
        assert_eq!(notified(Policy::builder().fs_read("/")), proc);
        assert_eq!(notified(system().fs_write("/proc/self")), proc);
        assert_eq!(notified(system().fs_read("/sys")), opens);
        assert_eq!(
            notified(system().num_cpus(2)),
            [
                "creat",
                "landlock_restrict_self",
                "open",
                "openat",
                "sched_getaffinity"
            ]
        );
        let mut p = Plan::default();
        p.open_hook("/etc/hosts", |_, _| None);
        let policy = system().build().unwrap();
        plan(&policy, KernelFeatures::get_without_child(), &mut p).unwrap();
        p.notify.sort_unstable();
        assert_eq!(p.notify, opens);
    }

    #[test]
    fn policy_paths_meet_proc() {
        let r = |b: PolicyBuilder| reach(&b.build().unwrap(), "/proc");
        let none = r(system());
        assert!(!none.any && !none.whole && !none.writable);
        let all = r(Policy::builder().fs_write("/"));
        assert!(all.any && all.whole && all.writable);
        let part = r(system().fs_read("/proc/sys"));
        assert!(part.any && !part.whole);
        let read = r(system().fs_read("/proc"));
        assert!(read.whole && !read.writable);
    }

    #[test]
    fn num_cpus_is_validated() {
        assert!(Policy::builder().num_cpus(0).build().is_err());
        assert!(
            Policy::builder()
                .num_cpus(MAX_NUM_CPUS + 1)
                .build()
                .is_err()
        );
        assert_eq!(
            Policy::builder().num_cpus(3).build().unwrap().num_cpus(),
            Some(3)
        );
    }
}

//! Kernel features, probed once and cached.
//!
//! [`KernelFeatures::get`] probes the running kernel the first time it is called and returns the
//! same answer afterwards. Callers test a field such as
//! [`addfd_send`](KernelFeatures::addfd_send) instead of comparing kernel versions, and tests build
//! a [`KernelFeatures`] by hand ([`KernelFeatures::all`], [`KernelFeatures::none`], then assign
//! fields) to exercise every fallback path on any kernel.
//!
//! # What each field means and how it is probed
//!
//! Every feature is an [`Availability`]. Probes never install anything on the calling process and
//! never leave an fd behind.
//!
//! | field | kernel | probe |
//! |---|---|---|
//! | `landlock`, `landlock_abi` | 5.13, if built and enabled | `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)` returns the ABI; `ENOSYS` = not built ([`Missing`]), `EOPNOTSUPP` = built but disabled at boot ([`Disabled`]) |
//! | `user_notif` | 5.0 | `seccomp(SECCOMP_GET_ACTION_AVAIL, SECCOMP_RET_USER_NOTIF)` |
//! | `new_listener` | 5.0 | `seccomp(SET_MODE_FILTER, NEW_LISTENER, NULL)`: the kernel checks the flags before it copies the program, so known flags give `EFAULT` and unknown ones `EINVAL`; then a real listener is made in a child (below) |
//! | `wait_killable_recv` | 5.19 | as above with `NEW_LISTENER \| WAIT_KILLABLE_RECV` |
//! | `addfd` | 5.9 | `SECCOMP_IOCTL_NOTIF_ADDFD` with id 0 on a real listener: `ENOENT` (no such notification) when known, `EINVAL` (unknown ioctl) when not |
//! | `addfd_send` | 5.14 | the same with `SECCOMP_ADDFD_FLAG_SEND`: `ENOENT`, or `EINVAL` for the unknown flag |
//! | `sync_wake_up` | 6.6 | `SECCOMP_IOCTL_NOTIF_SET_FLAGS(SYNC_WAKE_UP)` on the listener: 0 or `EINVAL` |
//! | `pidfd_open` | 5.3 | `pidfd_open(getpid(), 0)` |
//! | `pidfd_getfd` | 5.6 | `pidfd_getfd` of our own pidfd on itself (or `pidfd_getfd(-1, -1, 0)` = `EBADF`) |
//! | `close_range` | 5.9 | `close_range(~0U, ~0U, 0)` = 0 (closes nothing) |
//! | `clone3` | 5.3 | `clone3(NULL, 0)` = `EINVAL` (too small), `ENOSYS` when absent |
//! | `x32` | `CONFIG_X86_X32_ABI` | getpid with the x32 bit set, in a child: the pid, or `ENOSYS` |
//! | `ia32` | `CONFIG_IA32_EMULATION`, `ia32_emulation=` | `int 0x80` getpid in a child: the pid; `ENOSYS`, or death by `SIGSEGV` when the kernel has no i386 entry |
//! | `vdso_write` | up to 6.x; 7.x refuses | the first byte of our own vDSO written back through `/proc/self/mem`: `EIO` = refused ([`Missing`]) |
//!
//! **The probe child.** To get a real listener without touching the calling process, the probe
//! forks one short-lived child. It sets `no_new_privs`, installs a one-instruction `RET ALLOW`
//! filter with `NEW_LISTENER`, sends the listener back over a socket pair, tries the x32 and i386
//! getpid, reports each result and exits. The parent reaps it and runs the ioctl probes on the
//! now orphaned listener. No thread is spawned. The foreign-ABI calls run in the child because a
//! filter of an ancestor may kill on them.
//!
//! The listener fields (`new_listener`, `wait_killable_recv`, `addfd`, `addfd_send`,
//! `sync_wake_up`) are only [`Available`] when `user_notif` is; otherwise they repeat its reason.
//! Likewise the last four repeat `new_listener`'s reason when no listener could be made (for
//! example [`Blocked`]`(EBUSY)`: the filter chain this process inherited already has a listener,
//! as under a nested sandlock or another supervisor).
//!
//! On architectures other than x86_64, `x32` and `ia32` are not probed and are [`Missing`].
//!
//! # A seccomp filter can lie
//!
//! An `ENOSYS` or `EPERM` may come from a seccomp filter of an ancestor (Docker's default profile
//! answers `clone3` with `ENOSYS`, for example), not from the kernel. So an error is only taken as
//! proof of absence ([`Missing`]) when this process runs under no seccomp filter
//! (`prctl(PR_GET_SECCOMP)` = 0; recorded in
//! [`under_seccomp_filter`](KernelFeatures::under_seccomp_filter)), or when a second signal agrees:
//! the kernel release (older than the feature) or, for Landlock, `/sys/kernel/security/lsm`. When
//! the second signal says the kernel has it, the result is [`Blocked`]; when there is none, it is
//! [`Unknown`]. `EPERM` and `EACCES` are never a kernel's "absent" answer to these probes, so they
//! are always [`Blocked`]. Either way the feature is not usable from this process (filters are
//! inherited), which is all [`Availability::is_available`] says.
//!
//! # Faking an older kernel in tests
//!
//! In builds with `debug_assertions` (not in release builds), if the environment variable
//! `SANDLOCK_FAKE_FEATURES` ([`FAKE_FEATURES_ENV`]) is set when [`KernelFeatures::get`] first
//! runs, its comma-separated tokens downgrade the probed features, so fallback paths can be run
//! end to end on a new kernel:
//!
//! - `no-<feature>` turns a feature off ([`FakedOff`]), with `<feature>` one of the names in
//!   [`KernelFeatures::entries`] (`landlock`, `user-notif`, `new-listener`, `wait-killable`,
//!   `addfd`, `addfd-send`, `sync-wake-up`, `pidfd-open`, `pidfd-getfd`, `close-range`, `clone3`,
//!   `x32`, `ia32`);
//! - `landlock=<abi>` lowers the Landlock ABI (`landlock=0` turns Landlock off).
//!
//! For example `SANDLOCK_FAKE_FEATURES=no-wait-killable,no-addfd-send,landlock=3`. Tokens only
//! ever downgrade: a missing feature stays missing. An unknown or malformed token makes
//! [`KernelFeatures::get`] panic with a message naming it, so a typo cannot silently test the
//! wrong thing. [`KernelFeatures::downgraded`] applies the same syntax to any value.
//!
//! [`Missing`]: Availability::Missing
//! [`Disabled`]: Availability::Disabled
//! [`Blocked`]: Availability::Blocked
//! [`Unknown`]: Availability::Unknown
//! [`Available`]: Availability::Available
//! [`FakedOff`]: Availability::FakedOff

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use crate::Errno;
use crate::flags::{AddfdFlags, FilterFlags, NotifFdFlags, ret};
use crate::pidfd::PidFd;
use crate::seccomp::{self, NotifFd};
use crate::structs::{SeccompNotifAddfd, SockFilter};
use crate::{process, scm};

/// The environment variable read by [`KernelFeatures::get`] in debug builds to fake an older
/// kernel; see the [module documentation](self).
pub const FAKE_FEATURES_ENV: &str = "SANDLOCK_FAKE_FEATURES";

/// The Landlock ABI that [`KernelFeatures::all`] reports: the newest one this crate knows of.
pub const LANDLOCK_ABI_ALL: u32 = 10;

/// Whether a kernel feature can be used from this process, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Availability {
    /// The feature works.
    Available,
    /// The kernel does not have it: too old, or not built in. Only reported when nothing else
    /// (such as a seccomp filter) could explain the probe's answer.
    Missing,
    /// The kernel has it built in but it was turned off at boot (Landlock missing from `lsm=`).
    Disabled,
    /// The kernel (probably) has it, but this process may not use it: a seccomp filter it
    /// inherited, an LSM, or for listeners an existing listener in its filter chain (`EBUSY`)
    /// answered the probe with this error.
    Blocked(Errno),
    /// The probe child was killed by this signal (`SIGSYS`: a seccomp filter's kill action).
    Killed(i32),
    /// The probe's answer proves neither presence nor absence, for example `ENOSYS` under a
    /// seccomp filter with no second signal, or a failed `fork`. An errno of 0 means the probe
    /// unexpectedly succeeded (a filter that returns `ERRNO(0)` can cause that).
    Unknown(Errno),
    /// Turned off by [`FAKE_FEATURES_ENV`] (tests only).
    FakedOff,
}

impl Availability {
    /// Whether the feature can be used.
    pub const fn is_available(self) -> bool {
        matches!(self, Availability::Available)
    }
}

/// Applies [`FAKE_FEATURES_ENV`] in debug builds.
fn with_fakes(probed: KernelFeatures) -> KernelFeatures {
    if !cfg!(debug_assertions) {
        return probed;
    }
    match std::env::var(FAKE_FEATURES_ENV) {
        Err(std::env::VarError::NotPresent) => probed,
        Err(std::env::VarError::NotUnicode(_)) => panic!("{FAKE_FEATURES_ENV} is not valid UTF-8"),
        Ok(spec) => probed.downgraded(&spec).unwrap_or_else(|e| panic!("{e}")),
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Availability::Available => f.write_str("yes"),
            Availability::Missing => f.write_str("no (not in this kernel)"),
            Availability::Disabled => f.write_str("no (built in, disabled at boot)"),
            Availability::Blocked(Errno::EBUSY) => {
                f.write_str("no (the inherited seccomp filters already have a listener)")
            }
            Availability::Blocked(e) => write!(
                f,
                "no (denied with {e}, errno {}, likely by a seccomp filter or an LSM)",
                e.raw()
            ),
            Availability::Killed(sig) => {
                write!(
                    f,
                    "no (the probe was killed by signal {sig}, likely by a seccomp filter)"
                )
            }
            Availability::Unknown(e) if e.raw() == 0 => {
                f.write_str("unknown (the probe unexpectedly succeeded)")
            }
            Availability::Unknown(e) => write!(f, "unknown ({e}, errno {})", e.raw()),
            Availability::FakedOff => write!(f, "no (turned off by {FAKE_FEATURES_ENV})"),
        }
    }
}

/// What the running kernel offers this process. See the [module documentation](self) for what
/// each field means and how it is probed.
///
/// Get the cached probe with [`KernelFeatures::get`]. To test a fallback, start from
/// [`KernelFeatures::all`] or [`KernelFeatures::none`] and assign fields:
///
/// ```
/// use sandlock_sys::features::{Availability, KernelFeatures};
///
/// let mut old_kernel = KernelFeatures::all();
/// old_kernel.addfd_send = Availability::Missing;
/// old_kernel.landlock_abi = 3;
/// assert!(!old_kernel.addfd_send.is_available());
/// assert_eq!(old_kernel.effective_landlock_abi(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KernelFeatures {
    /// Landlock. [`Missing`](Availability::Missing) means not built in (`ENOSYS`),
    /// [`Disabled`](Availability::Disabled) built in but disabled at boot (`EOPNOTSUPP`).
    pub landlock: Availability,
    /// The Landlock ABI version (1 = 5.13, 4 = TCP, 6 = scopes, …); 0 unless `landlock` is
    /// available. Use [`effective_landlock_abi`](Self::effective_landlock_abi), which checks both.
    pub landlock_abi: u32,
    /// The `SECCOMP_RET_USER_NOTIF` filter action (5.0).
    pub user_notif: Availability,
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER` (5.0), and a listener can actually be created from this
    /// process.
    pub new_listener: Availability,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (5.19).
    pub wait_killable_recv: Availability,
    /// `SECCOMP_IOCTL_NOTIF_ADDFD` (5.9).
    pub addfd: Availability,
    /// `SECCOMP_ADDFD_FLAG_SEND` (5.14).
    pub addfd_send: Availability,
    /// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` via `SECCOMP_IOCTL_NOTIF_SET_FLAGS` (6.6).
    pub sync_wake_up: Availability,
    /// `pidfd_open(2)` (5.3).
    pub pidfd_open: Availability,
    /// `pidfd_getfd(2)` (5.6).
    pub pidfd_getfd: Availability,
    /// `close_range(2)` (5.9).
    pub close_range: Availability,
    /// `clone3(2)` (5.3).
    pub clone3: Availability,
    /// The x32 syscall ABI (syscall numbers with bit 30 set) is enabled. Available means a
    /// filter must reject those numbers explicitly.
    pub x32: Availability,
    /// The i386 syscall ABI (`int 0x80`) is enabled.
    pub ia32: Availability,
    /// A process's vDSO can be written through `/proc/PID/mem`, which `--time-start` needs to
    /// redirect the vDSO clock functions. [`Unknown`](Availability::Unknown) when this process
    /// could not open its own memory (unprivileged and not dumpable).
    pub vdso_write: Availability,
    /// The probing process already ran under a seccomp filter, so `ENOSYS`/`EPERM` answers may
    /// have come from that filter rather than from the kernel.
    pub under_seccomp_filter: bool,
}

/// The names of the features, in report order; also the `<feature>` of `no-<feature>` in
/// [`FAKE_FEATURES_ENV`].
const NAMES: [&str; 14] = [
    "landlock",
    "user-notif",
    "new-listener",
    "wait-killable",
    "addfd",
    "addfd-send",
    "sync-wake-up",
    "pidfd-open",
    "pidfd-getfd",
    "close-range",
    "clone3",
    "x32",
    "ia32",
    "vdso-write",
];

impl KernelFeatures {
    /// A kernel with none of the features (and no seccomp filter on the caller).
    pub const fn none() -> KernelFeatures {
        KernelFeatures::uniform(Availability::Missing, 0)
    }

    /// A kernel with every feature, including x32 and ia32, and Landlock ABI
    /// [`LANDLOCK_ABI_ALL`].
    pub const fn all() -> KernelFeatures {
        KernelFeatures::uniform(Availability::Available, LANDLOCK_ABI_ALL)
    }

    const fn uniform(a: Availability, landlock_abi: u32) -> KernelFeatures {
        KernelFeatures {
            landlock: a,
            landlock_abi,
            user_notif: a,
            new_listener: a,
            wait_killable_recv: a,
            addfd: a,
            addfd_send: a,
            sync_wake_up: a,
            pidfd_open: a,
            pidfd_getfd: a,
            close_range: a,
            clone3: a,
            x32: a,
            ia32: a,
            vdso_write: a,
            under_seccomp_filter: false,
        }
    }

    /// The features of the running kernel, probed on the first call and cached.
    ///
    /// In debug builds, [`FAKE_FEATURES_ENV`] downgrades the result (see the
    /// [module documentation](self)).
    ///
    /// Do not call this for the first time between fork and exec: the probe allocates and forks.
    ///
    /// # Panics
    /// In debug builds only, when [`FAKE_FEATURES_ENV`] is set but not valid.
    pub fn get() -> &'static KernelFeatures {
        static CACHE: OnceLock<KernelFeatures> = OnceLock::new();
        CACHE.get_or_init(|| with_fakes(KernelFeatures::probe()))
    }

    /// The features that can be probed without the probe child, cached: everything but
    /// `addfd`, `addfd_send`, `sync_wake_up`, `x32`, `ia32` and `vdso_write`, which read
    /// [`Unknown`](Availability::Unknown)`(0)`; `new_listener` says only whether the kernel
    /// knows the flag.
    ///
    /// This is for the spawn path, where a fork costs a noticeable share of the start-up time
    /// and where installing the child's own filter is the real test of `NEW_LISTENER` (the
    /// child falls back when it is refused).
    ///
    /// # Panics
    /// In debug builds only, when [`FAKE_FEATURES_ENV`] is set but not valid.
    pub fn get_without_child() -> &'static KernelFeatures {
        static CACHE: OnceLock<KernelFeatures> = OnceLock::new();
        CACHE.get_or_init(|| with_fakes(KernelFeatures::probe_with(false)))
    }

    /// Probes the running kernel now, without caching and without [`FAKE_FEATURES_ENV`].
    ///
    /// Forks one short-lived child (see the [module documentation](self)); the calling process
    /// gets no filter and keeps no new fd. Prefer [`get`](Self::get).
    ///
    /// The child is reaped with `waitpid(pid)`. If another thread reaps any child
    /// (`waitpid(-1)`) at the same moment, or `SIGCHLD` is ignored, the child's death signal is
    /// lost and a foreign ABI whose probe killed the child reads [`Availability::Unknown`].
    pub fn probe() -> KernelFeatures {
        KernelFeatures::probe_with(true)
    }

    fn probe_with(with_child: bool) -> KernelFeatures {
        let ctx = ProbeContext::current();
        let mut f = KernelFeatures::none();
        f.under_seccomp_filter = ctx.filtered;
        (f.landlock, f.landlock_abi) = probe_landlock(&ctx);

        f.user_notif = ctx.classify(
            seccomp::action_avail(ret::USER_NOTIF),
            // EINVAL: kernels before 4.14 lack SECCOMP_GET_ACTION_AVAIL itself.
            &[Errno::EOPNOTSUPP, Errno::EINVAL, Errno::ENOSYS],
            Some((5, 0)),
        );
        let listener_flag = ctx.classify(
            filter_flags_known(FilterFlags::NEW_LISTENER),
            &[Errno::EINVAL, Errno::ENOSYS],
            Some((5, 0)),
        );
        let wait_killable = ctx.classify(
            filter_flags_known(FilterFlags::NEW_LISTENER | FilterFlags::WAIT_KILLABLE_RECV),
            &[Errno::EINVAL, Errno::ENOSYS],
            Some((5, 19)),
        );

        let mut child = if with_child {
            run_probe_child()
        } else {
            Err(Errno::from_raw(0))
        };
        let listener = match &mut child {
            Ok(c) => c.take_listener(),
            Err(e) if with_child => Err(Availability::Unknown(*e)),
            // Without the child, a known flag is all there is to go by.
            Err(e) => match listener_flag {
                Availability::Available => Err(Availability::Unknown(*e)),
                other => Err(other),
            },
        };
        f.new_listener = match (listener_flag, &listener) {
            (Availability::Available, Ok(_)) => Availability::Available,
            (Availability::Available, Err(_)) if !with_child => Availability::Available,
            (Availability::Available, Err(reason)) => *reason,
            (other, _) => other,
        };
        f.wait_killable_recv = wait_killable;
        if let Ok(listener) = &listener {
            (f.addfd, f.addfd_send, f.sync_wake_up) = probe_listener_ioctls(&ctx, listener);
        }
        drop(listener);
        if !with_child {
            let unknown = Availability::Unknown(Errno::from_raw(0));
            (f.addfd, f.addfd_send, f.sync_wake_up) = (unknown, unknown, unknown);
        }
        f.cascade_listener_reasons();

        match &child {
            Ok(c) => {
                f.x32 = c.foreign_abi(&ctx, Step::X32);
                f.ia32 = c.foreign_abi(&ctx, Step::Ia32);
            }
            Err(e) => (f.x32, f.ia32) = (Availability::Unknown(*e), Availability::Unknown(*e)),
        }

        let pidfd = PidFd::open(std::process::id() as libc::pid_t, 0);
        f.pidfd_open = ctx.classify(
            pidfd.as_ref().map(drop).map_err(|e| *e),
            &[Errno::ENOSYS],
            Some((5, 3)),
        );
        let getfd = match &pidfd {
            // Our own process: ptrace rights over it are implied, so only the kernel can refuse.
            Ok(pidfd) => pidfd.get_fd(pidfd.as_raw_fd()).map(drop),
            Err(_) => expect_err(
                raw_syscall(libc::SYS_pidfd_getfd, [-1, -1, 0]),
                Errno::EBADF,
            ),
        };
        f.pidfd_getfd = ctx.classify(getfd, &[Errno::ENOSYS], Some((5, 6)));
        drop(pidfd);

        f.close_range = ctx.classify(
            process::close_range(u32::MAX, u32::MAX, 0),
            &[Errno::ENOSYS],
            Some((5, 9)),
        );
        f.clone3 = ctx.classify(
            expect_err(raw_syscall(libc::SYS_clone3, [0, 0, 0]), Errno::EINVAL),
            &[Errno::ENOSYS],
            Some((5, 3)),
        );
        // About 40 µs (an open of /proc/self/mem): not on the spawn path, where only
        // `--time-start` needs it (it asks `get`).
        f.vdso_write = if with_child {
            match crate::determinism::vdso_writable() {
                Ok(()) => Availability::Available,
                Err(Errno::EIO | Errno::ENOENT) => Availability::Missing,
                Err(e) => Availability::Unknown(e),
            }
        } else {
            Availability::Unknown(Errno::from_raw(0))
        };
        f
    }

    /// The Landlock ABI to use: [`landlock_abi`](Self::landlock_abi) when Landlock is
    /// available, else 0.
    pub const fn effective_landlock_abi(&self) -> u32 {
        if self.landlock.is_available() {
            self.landlock_abi
        } else {
            0
        }
    }

    /// Every feature with its name, in report order. The names are those of
    /// [`FAKE_FEATURES_ENV`]'s `no-<feature>` tokens.
    pub fn entries(&self) -> [(&'static str, Availability); 14] {
        let mut copy = *self;
        NAMES.map(|name| {
            let slot = copy.slot(name).copied();
            // Every name in NAMES has a slot; the unit tests check it.
            (name, slot.unwrap_or(Availability::Unknown(Errno::EINVAL)))
        })
    }

    /// Applies a [`FAKE_FEATURES_ENV`] specification: turns features off and lowers the
    /// Landlock ABI, never the reverse.
    ///
    /// # Errors
    /// [`FakeFeaturesError`] for a token that is neither `no-<feature>` with a known feature
    /// name nor `landlock=<number>`.
    pub fn downgraded(mut self, spec: &str) -> Result<KernelFeatures, FakeFeaturesError> {
        for token in spec.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let error = |reason| FakeFeaturesError {
                token: token.to_owned(),
                reason,
            };
            if let Some(abi) = token.strip_prefix("landlock=") {
                let abi: u32 = abi.parse().map_err(|_| error(FakeReason::BadAbi))?;
                self.landlock_abi = self.landlock_abi.min(abi);
                if abi == 0 {
                    self.landlock.fake_off();
                }
            } else if let Some(name) = token.strip_prefix("no-") {
                self.slot(name)
                    .ok_or_else(|| error(FakeReason::UnknownFeature))?
                    .fake_off();
                if name == "landlock" {
                    self.landlock_abi = 0;
                }
            } else {
                return Err(error(FakeReason::BadToken));
            }
        }
        Ok(self)
    }

    fn slot(&mut self, name: &str) -> Option<&mut Availability> {
        Some(match name {
            "landlock" => &mut self.landlock,
            "user-notif" => &mut self.user_notif,
            "new-listener" => &mut self.new_listener,
            "wait-killable" => &mut self.wait_killable_recv,
            "addfd" => &mut self.addfd,
            "addfd-send" => &mut self.addfd_send,
            "sync-wake-up" => &mut self.sync_wake_up,
            "pidfd-open" => &mut self.pidfd_open,
            "pidfd-getfd" => &mut self.pidfd_getfd,
            "close-range" => &mut self.close_range,
            "clone3" => &mut self.clone3,
            "x32" => &mut self.x32,
            "ia32" => &mut self.ia32,
            "vdso-write" => &mut self.vdso_write,
            _ => return None,
        })
    }

    /// Makes the listener fields repeat the reason of the feature they depend on.
    fn cascade_listener_reasons(&mut self) {
        if !self.user_notif.is_available() {
            self.new_listener = self.user_notif;
        }
        if !self.new_listener.is_available() {
            for dependent in [
                &mut self.wait_killable_recv,
                &mut self.addfd,
                &mut self.addfd_send,
                &mut self.sync_wake_up,
            ] {
                *dependent = self.new_listener;
            }
        }
        if !self.addfd.is_available() {
            self.addfd_send = self.addfd;
        }
    }
}

impl Availability {
    fn fake_off(&mut self) {
        if self.is_available() {
            *self = Availability::FakedOff;
        }
    }
}

/// How `availability` of the feature `name` (as [`KernelFeatures::entries`] names it) reads in
/// a report: [`Availability`]'s own text, except where the feature has a more exact one.
pub fn describe(name: &str, availability: Availability) -> String {
    match (name, availability) {
        // The vDSO is there; the kernel refuses to let it be written.
        ("vdso-write", Availability::Missing) => "no (refused by this kernel)".to_owned(),
        _ => availability.to_string(),
    }
}

/// One line per feature: `name  yes` or `name  no (reason)`, then whether the probe ran under a
/// seccomp filter. This is what `sandlock check` prints.
impl fmt::Display for KernelFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, availability) in self.entries() {
            write!(f, "{name:<14} {}", describe(name, availability))?;
            if name == "landlock" && availability.is_available() {
                write!(f, " (ABI {})", self.landlock_abi)?;
            }
            writeln!(f)?;
        }
        let filtered = if self.under_seccomp_filter {
            "yes"
        } else {
            "no"
        };
        writeln!(f, "{:<14} {filtered}", "under-filter")
    }
}

/// A [`FAKE_FEATURES_ENV`] token that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeFeaturesError {
    /// The offending token.
    pub token: String,
    reason: FakeReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FakeReason {
    UnknownFeature,
    BadAbi,
    BadToken,
}

impl fmt::Display for FakeFeaturesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = &self.token;
        match self.reason {
            FakeReason::UnknownFeature => write!(
                f,
                "{FAKE_FEATURES_ENV}: unknown feature in `{token}`; known: {}",
                NAMES.join(", ")
            ),
            FakeReason::BadAbi => {
                write!(
                    f,
                    "{FAKE_FEATURES_ENV}: `{token}` needs a number, as in `landlock=3`"
                )
            }
            FakeReason::BadToken => write!(
                f,
                "{FAKE_FEATURES_ENV}: `{token}` is neither `no-<feature>` nor `landlock=<abi>`"
            ),
        }
    }
}

impl std::error::Error for FakeFeaturesError {}

/// What the probe knows about the calling process, to interpret errors.
struct ProbeContext {
    /// The process runs under a seccomp filter (or we could not tell).
    filtered: bool,
    /// The kernel release, `(major, minor)`.
    release: Option<(u32, u32)>,
}

impl ProbeContext {
    fn current() -> ProbeContext {
        // SAFETY: PR_GET_SECCOMP takes no pointer and returns the seccomp mode.
        let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
        // A failed prctl can only be a filter's doing: count it as filtered.
        ProbeContext {
            filtered: mode != 0,
            release: kernel_release(),
        }
    }

    /// Interprets a probe whose expected outcome was mapped to `Ok(())`. `absent` lists the
    /// errors by which the kernel itself says "not here"; `since` is the release that added it.
    fn classify(
        &self,
        result: Result<(), Errno>,
        absent: &[Errno],
        since: Option<(u32, u32)>,
    ) -> Availability {
        match result {
            Ok(()) => Availability::Available,
            // ENOSYS is what filters fake most; believe it only with a second signal.
            Err(Errno::ENOSYS) if absent.contains(&Errno::ENOSYS) && self.filtered => {
                match (since, self.release) {
                    (Some(since), Some(release)) if release < since => Availability::Missing,
                    (Some(_), Some(_)) => Availability::Blocked(Errno::ENOSYS),
                    _ => Availability::Unknown(Errno::ENOSYS),
                }
            }
            Err(e) if absent.contains(&e) => Availability::Missing,
            Err(e @ (Errno::EPERM | Errno::EACCES)) => Availability::Blocked(e),
            Err(e) => Availability::Unknown(e),
        }
    }
}

/// Parses the `(major, minor)` of `uname -r`.
fn kernel_release() -> Option<(u32, u32)> {
    // SAFETY: utsname is plain old data; all-zero is valid.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes one utsname into `uts`.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return None;
    }
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    parse_release(std::str::from_utf8(&bytes).ok()?)
}

fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// A probe that succeeds when the call fails with `expected`. A success is unexpected
/// (errno 0, see [`Availability::Unknown`]).
fn expect_err(result: Result<libc::c_long, Errno>, expected: Errno) -> Result<(), Errno> {
    match result {
        Err(e) if e == expected => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Err(Errno::from_raw(0)),
    }
}

/// A syscall whose three arguments are integers or NULL, so it touches no memory of ours.
fn raw_syscall(nr: libc::c_long, args: [libc::c_long; 3]) -> Result<libc::c_long, Errno> {
    // SAFETY: callers only pass calls for which these integer arguments (and NULL pointers) are
    // harmless: clone3(NULL, 0) fails before doing anything, pidfd_getfd(-1, -1, 0) too.
    let ret = unsafe { libc::syscall(nr, args[0], args[1], args[2]) };
    Errno::result(ret)
}

/// `LANDLOCK_CREATE_RULESET_VERSION` from `<linux/landlock.h>` (not in libc).
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;

fn probe_landlock(ctx: &ProbeContext) -> (Availability, u32) {
    // SAFETY: with a NULL attr, size 0 and the VERSION flag, the kernel reads no memory and
    // returns the ABI version; no fd is created.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    match Errno::result(ret) {
        Ok(abi) if abi > 0 => (
            Availability::Available,
            u32::try_from(abi).unwrap_or(u32::MAX),
        ),
        Ok(_) => (Availability::Unknown(Errno::from_raw(0)), 0),
        Err(Errno::EOPNOTSUPP) => (Availability::Disabled, 0),
        Err(Errno::ENOSYS) if ctx.filtered => {
            // Second signal: the list of active LSMs, when securityfs is mounted.
            let lsm = std::fs::read_to_string("/sys/kernel/security/lsm").ok();
            (landlock_enosys_under_filter(ctx, lsm.as_deref()), 0)
        }
        Err(e) => (ctx.classify(Err(e), &[Errno::ENOSYS], None), 0),
    }
}

/// What an ENOSYS from `landlock_create_ruleset` under a filter means, given the active LSM
/// list (`None` when securityfs is not readable).
fn landlock_enosys_under_filter(ctx: &ProbeContext, lsm: Option<&str>) -> Availability {
    match lsm {
        Some(lsm) if lsm.split(',').any(|m| m.trim() == "landlock") => {
            Availability::Blocked(Errno::ENOSYS)
        }
        Some(_) => Availability::Missing,
        // Without securityfs, the release is the second signal: Landlock came in 5.13.
        None => ctx.classify(Err(Errno::ENOSYS), &[Errno::ENOSYS], Some((5, 13))),
    }
}

/// Whether `seccomp(SET_MODE_FILTER)` accepts `flags`, without installing anything.
fn filter_flags_known(flags: FilterFlags) -> Result<(), Errno> {
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    // SAFETY: the program pointer is NULL. The kernel validates the flags first (EINVAL), then
    // fails to copy the program (EFAULT); nothing is installed and no memory of ours is read.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            libc::c_ulong::from(flags.bits()),
            std::ptr::null::<libc::c_void>(),
        )
    };
    expect_err(Errno::result(ret), Errno::EFAULT)
}

/// The ADDFD, ADDFD_FLAG_SEND and SET_FLAGS(SYNC_WAKE_UP) probes on a listener with no
/// notification pending.
fn probe_listener_ioctls(
    ctx: &ProbeContext,
    listener: &NotifFd,
) -> (Availability, Availability, Availability) {
    let addfd = |flags: AddfdFlags| {
        let request = SeccompNotifAddfd {
            // No notification ever had id 0 on this listener, so a known request gets ENOENT
            // after its flags and srcfd were accepted.
            id: 0,
            flags: flags.bits(),
            srcfd: listener.as_raw_fd() as u32,
            newfd: 0,
            newfd_flags: 0,
        };
        let result = match listener.addfd(&request) {
            Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(Errno::from_raw(0)),
        };
        // An unknown ioctl and an unknown flag are both EINVAL.
        ctx.classify(result, &[Errno::EINVAL], None)
    };
    let plain = addfd(AddfdFlags::empty());
    let send = addfd(AddfdFlags::SEND);
    let sync = ctx.classify(
        listener.set_flags(NotifFdFlags::SYNC_WAKE_UP),
        &[Errno::EINVAL],
        None,
    );
    (plain, send, sync)
}

/// The messages of the probe child: one step byte and an `i64` in native byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
    /// 0 and the listener fd, or a negative errno.
    Listener = 1,
    /// The raw result of the x32 getpid: the pid, a negative errno, or [`NOT_PROBED`].
    X32 = 2,
    /// The raw result of the i386 getpid, as for `X32`.
    Ia32 = 3,
}

const MSG_LEN: usize = 9;
/// The value of an x32/i386 step on architectures without those ABIs.
const NOT_PROBED: i64 = i64::MIN;

/// What the probe child reported.
struct ChildReport {
    pid: libc::pid_t,
    /// Taken by [`ChildReport::take_listener`]; `listener_reported` remembers it came.
    listener: Option<Result<OwnedFd, Errno>>,
    listener_reported: bool,
    x32: Option<i64>,
    ia32: Option<i64>,
    /// The signal that killed the child, if one did.
    signal: Option<i32>,
    /// Why the child's status could not be read (for example SIGCHLD is ignored).
    wait_error: Option<Errno>,
}

impl ChildReport {
    /// The first step the child did not report: the one it died in, if it died.
    fn first_missing_step(&self) -> Option<Step> {
        if !self.listener_reported {
            Some(Step::Listener)
        } else if self.x32.is_none() {
            Some(Step::X32)
        } else if self.ia32.is_none() {
            Some(Step::Ia32)
        } else {
            None
        }
    }

    /// Why `step` was not reported: killed by a signal in it, or an unknown reason.
    fn silent_reason(&self, step: Step) -> Availability {
        match self.signal {
            // No i386 entry: `int 0x80` raises #GP, delivered as SIGSEGV.
            Some(libc::SIGSEGV)
                if step == Step::Ia32 && self.first_missing_step() == Some(step) =>
            {
                Availability::Missing
            }
            Some(sig) if self.first_missing_step() == Some(step) => Availability::Killed(sig),
            // EIO: the child stopped reporting before this step, for no known reason.
            _ => Availability::Unknown(self.wait_error.unwrap_or(Errno::EIO)),
        }
    }

    /// Takes the listener the child sent, or says why there is none.
    fn take_listener(&mut self) -> Result<NotifFd, Availability> {
        match self.listener.take() {
            Some(Ok(fd)) => Ok(NotifFd::new(fd)),
            Some(Err(e @ (Errno::EBUSY | Errno::EPERM | Errno::EACCES))) => {
                Err(Availability::Blocked(e))
            }
            Some(Err(e)) => Err(Availability::Unknown(e)),
            None => Err(self.silent_reason(Step::Listener)),
        }
    }

    fn foreign_abi(&self, ctx: &ProbeContext, step: Step) -> Availability {
        let value = if step == Step::X32 {
            self.x32
        } else {
            self.ia32
        };
        match value {
            Some(NOT_PROBED) => Availability::Missing,
            Some(v) if v == i64::from(self.pid) => Availability::Available,
            Some(v) if v < 0 => {
                let e = Errno::from_raw(i32::try_from(-v).unwrap_or(libc::EIO));
                ctx.classify(Err(e), &[Errno::ENOSYS], None)
            }
            Some(_) => Availability::Unknown(Errno::EIO),
            None => self.silent_reason(step),
        }
    }
}

/// Forks the probe child, collects its messages and reaps it.
fn run_probe_child() -> Result<ChildReport, Errno> {
    let (parent_end, child_end) = scm::seqpacket_pair()?;
    // `BPF_RET | BPF_K` with k = ALLOW: allow everything, so the child's filter changes nothing
    // but gives it a listener. Built before fork: the child must not allocate.
    let allow_all = [SockFilter {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: ret::ALLOW,
    }];
    // SAFETY: the child runs only `probe_child`, which makes async-signal-safe calls, does not
    // allocate or take locks, and leaves with `_exit`; it never returns into code that could
    // touch state (allocator, locks) copied from other threads of the parent.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        probe_child(child_end.as_fd(), &allow_all);
    }
    let fork_error = Errno::last();
    drop(child_end);
    if pid < 0 {
        return Err(fork_error);
    }
    let mut report = ChildReport {
        pid,
        listener: None,
        listener_reported: false,
        x32: None,
        ia32: None,
        signal: None,
        wait_error: None,
    };
    loop {
        let mut msg = [0u8; MSG_LEN];
        match scm::recv_with_fd(&parent_end, &mut msg) {
            Ok((MSG_LEN, fd)) => {
                let mut value = [0u8; 8];
                value.copy_from_slice(&msg[1..]);
                let value = i64::from_ne_bytes(value);
                match msg[0] {
                    s if s == Step::Listener as u8 => {
                        report.listener_reported = true;
                        report.listener = Some(match (value, fd) {
                            (0, Some(fd)) => Ok(fd),
                            (v, _) if v < 0 => {
                                Err(Errno::from_raw(i32::try_from(-v).unwrap_or(libc::EIO)))
                            }
                            _ => Err(Errno::EIO),
                        });
                    }
                    s if s == Step::X32 as u8 => report.x32 = Some(value),
                    s if s == Step::Ia32 as u8 => report.ia32 = Some(value),
                    _ => {}
                }
            }
            // End of file (the child exited), a malformed message, or an error: stop listening.
            _ => break,
        }
    }
    drop(parent_end);
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes one int into `status`.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        match Errno::result(ret) {
            Err(Errno::EINTR) => continue,
            Err(e) => report.wait_error = Some(e),
            Ok(_) if libc::WIFSIGNALED(status) => report.signal = Some(libc::WTERMSIG(status)),
            Ok(_) => {}
        }
        break;
    }
    Ok(report)
}

/// The body of the probe child. Async-signal-safe and allocation-free; never returns.
fn probe_child(sock: BorrowedFd<'_>, allow_all: &[SockFilter]) -> ! {
    let listener = process::set_no_new_privs()
        .and_then(|()| seccomp::install_filter(allow_all, FilterFlags::NEW_LISTENER));
    // Send failures are ignored: the parent treats a missing step as unknown.
    match &listener {
        Ok(Some(fd)) => report(sock, Step::Listener, 0, Some(fd.as_fd())),
        Ok(None) => report(sock, Step::Listener, -i64::from(libc::EIO), None),
        Err(e) => report(sock, Step::Listener, -i64::from(e.raw()), None),
    }
    report(sock, Step::X32, x32_getpid(), None);
    // The i386 call faults on kernels without an i386 entry. Make that a plain SIGSEGV death
    // rather than whatever handler the parent installed, and dump no core.
    let _ = process::set_dumpable(false);
    // SAFETY: resetting dispositions to SIG_DFL installs no handler code.
    unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGSYS, libc::SIG_DFL) };
    report(sock, Step::Ia32, ia32_getpid(), None);
    // SAFETY: _exit ends the process without running atexit handlers or destructors.
    unsafe { libc::_exit(0) }
}

fn report(sock: BorrowedFd<'_>, step: Step, value: i64, fd: Option<BorrowedFd<'_>>) {
    let mut msg = [0u8; MSG_LEN];
    msg[0] = step as u8;
    msg[1..].copy_from_slice(&value.to_ne_bytes());
    let _ = scm::send_with_fd(sock, &msg, fd);
}

/// getpid through the x32 ABI: the pid, or a negative errno. Async-signal-safe.
#[cfg(target_arch = "x86_64")]
fn x32_getpid() -> i64 {
    crate::compat::x32_syscall0(crate::compat::NoArgCall::Getpid)
}

/// getpid through the i386 ABI (`int 0x80`): the pid, or a negative errno. Faults with SIGSEGV
/// when the kernel has no i386 entry. Async-signal-safe.
#[cfg(target_arch = "x86_64")]
fn ia32_getpid() -> i64 {
    crate::compat::i386_syscall0(crate::compat::NoArgCall::Getpid)
}

#[cfg(not(target_arch = "x86_64"))]
fn x32_getpid() -> i64 {
    NOT_PROBED
}

#[cfg(not(target_arch = "x86_64"))]
fn ia32_getpid() -> i64 {
    NOT_PROBED
}

#[cfg(test)]
mod tests {
    use super::*;
    use Availability::*;

    #[test]
    fn every_name_has_a_slot() {
        let mut f = KernelFeatures::all();
        for name in NAMES {
            assert_eq!(f.slot(name).copied(), Some(Available), "{name}");
        }
        assert_eq!(f.slot("nonsense"), None);
        assert!(
            KernelFeatures::none()
                .entries()
                .iter()
                .all(|&(_, a)| a == Missing)
        );
    }

    #[test]
    fn built_by_hand() {
        let mut f = KernelFeatures::all();
        assert_eq!(f.effective_landlock_abi(), LANDLOCK_ABI_ALL);
        f.landlock = Disabled;
        assert_eq!(f.effective_landlock_abi(), 0);
        f.addfd_send = Blocked(Errno::EPERM);
        assert!(!f.addfd_send.is_available());
        assert!(f.addfd.is_available());
        assert_eq!(KernelFeatures::none().effective_landlock_abi(), 0);
    }

    fn fake(base: KernelFeatures, spec: &str) -> KernelFeatures {
        base.downgraded(spec)
            .unwrap_or_else(|e| panic!("{spec:?}: {e}"))
    }

    #[test]
    fn fake_features_downgrade() {
        let f = fake(
            KernelFeatures::all(),
            "no-wait-killable,no-addfd-send, no-pidfd-getfd ,landlock=3,",
        );
        assert_eq!(f.wait_killable_recv, FakedOff);
        assert_eq!(f.addfd_send, FakedOff);
        assert_eq!(f.pidfd_getfd, FakedOff);
        assert_eq!((f.landlock, f.landlock_abi), (Available, 3));
        assert_eq!(f.addfd, Available);
        assert_eq!(fake(KernelFeatures::all(), ""), KernelFeatures::all());
    }

    #[test]
    fn fake_features_never_upgrade() {
        let mut base = KernelFeatures::all();
        base.landlock_abi = 2;
        base.clone3 = Blocked(Errno::ENOSYS);
        let f = fake(base, "landlock=5,no-clone3");
        assert_eq!(f.landlock_abi, 2);
        assert_eq!(f.clone3, Blocked(Errno::ENOSYS));
        let f = fake(KernelFeatures::none(), "landlock=4,no-addfd");
        assert_eq!(f, KernelFeatures::none());
    }

    #[test]
    fn fake_features_turn_landlock_off() {
        for spec in ["landlock=0", "no-landlock"] {
            let f = fake(KernelFeatures::all(), spec);
            assert_eq!((f.landlock, f.landlock_abi), (FakedOff, 0), "{spec}");
            assert_eq!(f.effective_landlock_abi(), 0);
        }
    }

    #[test]
    fn fake_features_reject_bad_tokens() {
        let check = |spec: &str, token: &str, message: &str| {
            let e = KernelFeatures::all().downgraded(spec).expect_err(spec);
            assert_eq!(e.token, token);
            assert!(e.to_string().contains(message), "{e}");
        };
        check(
            "no-addfd,no-wait-killabel",
            "no-wait-killabel",
            "unknown feature",
        );
        check("landlock=three", "landlock=three", "needs a number");
        check("landlock=-1", "landlock=-1", "needs a number");
        check("addfd", "addfd", "neither");
        check("yes-addfd", "yes-addfd", "neither");
    }

    #[test]
    fn classify_without_filter() {
        let ctx = ProbeContext {
            filtered: false,
            release: Some((6, 18)),
        };
        let absent = &[Errno::ENOSYS];
        assert_eq!(ctx.classify(Ok(()), absent, Some((5, 3))), Available);
        assert_eq!(
            ctx.classify(Err(Errno::ENOSYS), absent, Some((5, 3))),
            Missing
        );
        assert_eq!(
            ctx.classify(Err(Errno::EPERM), absent, None),
            Blocked(Errno::EPERM)
        );
        assert_eq!(
            ctx.classify(Err(Errno::EACCES), absent, None),
            Blocked(Errno::EACCES)
        );
        assert_eq!(
            ctx.classify(Err(Errno::EBADF), absent, None),
            Unknown(Errno::EBADF)
        );
        assert_eq!(
            ctx.classify(Err(Errno::EINVAL), &[Errno::EINVAL], None),
            Missing
        );
    }

    #[test]
    fn landlock_enosys_under_filter_uses_the_lsm_list_then_the_release() {
        let ctx = |release| ProbeContext {
            filtered: true,
            release,
        };
        let on = Some("lockdown,capability,landlock,yama");
        let off = Some("lockdown,capability,yama");
        assert_eq!(
            landlock_enosys_under_filter(&ctx(Some((6, 1))), on),
            Blocked(Errno::ENOSYS)
        );
        assert_eq!(
            landlock_enosys_under_filter(&ctx(Some((6, 1))), off),
            Missing
        );
        assert_eq!(
            landlock_enosys_under_filter(&ctx(Some((5, 10))), None),
            Missing
        );
        assert_eq!(
            landlock_enosys_under_filter(&ctx(Some((6, 1))), None),
            Blocked(Errno::ENOSYS)
        );
        assert_eq!(
            landlock_enosys_under_filter(&ctx(None), None),
            Unknown(Errno::ENOSYS)
        );
    }

    #[test]
    fn classify_under_filter_needs_a_second_signal() {
        let new = ProbeContext {
            filtered: true,
            release: Some((6, 18)),
        };
        let old = ProbeContext {
            filtered: true,
            release: Some((5, 2)),
        };
        let unknown = ProbeContext {
            filtered: true,
            release: None,
        };
        let absent = &[Errno::ENOSYS];
        let enosys = Err(Errno::ENOSYS);
        assert_eq!(
            new.classify(enosys, absent, Some((5, 3))),
            Blocked(Errno::ENOSYS)
        );
        assert_eq!(
            new.classify(enosys, absent, Some((6, 18))),
            Blocked(Errno::ENOSYS)
        );
        assert_eq!(old.classify(enosys, absent, Some((5, 3))), Missing);
        assert_eq!(
            unknown.classify(enosys, absent, Some((5, 3))),
            Unknown(Errno::ENOSYS)
        );
        assert_eq!(new.classify(enosys, absent, None), Unknown(Errno::ENOSYS));
        // ENOSYS where the kernel never answers it is just unexpected.
        assert_eq!(
            new.classify(enosys, &[Errno::EINVAL], None),
            Unknown(Errno::ENOSYS)
        );
        assert_eq!(
            new.classify(Err(Errno::EINVAL), &[Errno::EINVAL], None),
            Missing
        );
    }

    #[test]
    fn parses_releases() {
        assert_eq!(parse_release("6.18.44-cloud-amd64"), Some((6, 18)));
        assert_eq!(parse_release("5.4.0"), Some((5, 4)));
        assert_eq!(parse_release("6.6"), Some((6, 6)));
        assert_eq!(parse_release("6.1-rc3"), Some((6, 1)));
        assert_eq!(parse_release("garbage"), None);
        assert_eq!(parse_release(""), None);
        assert!((5, 19) < (6, 6) && (6, 6) < (6, 18) && (5, 9) < (5, 14));
    }

    #[test]
    fn report_has_one_line_per_feature() {
        let mut f = KernelFeatures::all();
        f.landlock_abi = 7;
        f.x32 = Missing;
        f.clone3 = Blocked(Errno::ENOSYS);
        f.addfd_send = FakedOff;
        f.ia32 = Killed(libc::SIGSYS);
        f.sync_wake_up = Unknown(Errno::from_raw(0));
        let text = f.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), NAMES.len() + 1, "{text}");
        assert_eq!(lines[0], "landlock       yes (ABI 7)");
        assert_eq!(lines[1], "user-notif     yes");
        assert!(lines[5].starts_with("addfd-send     no (turned off by SANDLOCK_FAKE_FEATURES"));
        assert!(lines[6].contains("unexpectedly succeeded"), "{}", lines[6]);
        assert!(
            lines[10].starts_with("clone3         no (denied with"),
            "{}",
            lines[10]
        );
        assert!(lines[10].contains("errno 38"), "{}", lines[10]);
        assert_eq!(lines[11], "x32            no (not in this kernel)");
        assert!(lines[12].contains("killed by signal 31"), "{}", lines[12]);
        assert_eq!(lines[13], "vdso-write     yes");
        assert_eq!(lines[14], "under-filter   no");
    }

    #[test]
    fn report_says_a_refused_vdso_write_is_refused() {
        let mut f = KernelFeatures::all();
        f.vdso_write = Missing;
        let text = f.to_string();
        assert!(
            text.lines()
                .any(|l| l == "vdso-write     no (refused by this kernel)"),
            "{text}"
        );
    }

    #[test]
    fn listener_fields_repeat_their_dependency() {
        let mut f = KernelFeatures::all();
        f.new_listener = Blocked(Errno::EBUSY);
        f.cascade_listener_reasons();
        for a in [f.wait_killable_recv, f.addfd, f.addfd_send, f.sync_wake_up] {
            assert_eq!(a, Blocked(Errno::EBUSY));
        }
        let mut f = KernelFeatures::all();
        f.user_notif = Missing;
        f.cascade_listener_reasons();
        assert_eq!(f.new_listener, Missing);
        assert_eq!(f.sync_wake_up, Missing);
        let mut f = KernelFeatures::all();
        f.addfd = Missing;
        f.cascade_listener_reasons();
        assert_eq!((f.addfd_send, f.sync_wake_up), (Missing, Available));
    }
}

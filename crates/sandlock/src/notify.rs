//! How features served by the supervisor plug in: a [`Plan`] per prepared sandbox, an
//! [`Instance`] per spawned one, and the [`RuntimeReport`] they fill while it runs.
//!
//! A feature (network rules, resource limits, /proc views, determinism) looks at the policy in
//! its `plan` function and, when it has work to do, adds to the [`Plan`]:
//!
//! - the system calls the filter must hand to the supervisor (`notify`);
//! - an installer, run on the supervisor thread for each spawned sandbox, that puts the
//!   feature's handlers in the sandbox's [`HandlerTable`] (handlers capture per-sandbox state,
//!   built there);
//! - a start hook, run on the spawning thread right after the sandbox started, for work that
//!   is not a notification (sampling memory, throttling the CPU).
//!
//! Each system call has one owner: two installers claiming the same number is a bug, caught by
//! [`Plan::install`]. Features share what they must through the [`Instance`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sandlock_notif::HandlerTable;
use sandlock_sys::Arch;
use sandlock_sys::pidfd::PidFd;

use crate::agent::Agent;

/// Puts a feature's handlers in one sandbox's table. Runs on the supervisor thread.
pub(crate) type Installer = Arc<dyn Fn(&Instance, &mut Installing) + Send + Sync>;

/// Runs when a sandbox has started, on the thread that spawned it.
pub(crate) type StartHook = Arc<dyn Fn(&Instance) + Send + Sync>;

/// Answers the opening of a path that a feature serves itself (a synthetic file). Runs on the
/// supervisor thread; `None` lets the open go on as usual.
pub(crate) type OpenHook = Arc<dyn Fn(&Instance, &OpenRequest) -> Option<OpenAnswer> + Send + Sync>;

/// An `open`, `openat` or `creat` of the sandbox, as an [`OpenHook`] sees it. Which path it
/// opens is the hook's key: the canonical absolute path, `.` and `..` resolved, symbolic links
/// resolved where the file exists, and the caller's own `/proc/PID` written `/proc/self` (so
/// `/proc/net/tcp` is served by the key `/proc/self/net/tcp`).
#[derive(Debug)]
pub(crate) struct OpenRequest {
    /// The open flags (`O_ACCMODE`, `O_CLOEXEC`, …) as the caller gave them.
    pub(crate) flags: i32,
    /// The calling process (tgid).
    pub(crate) tgid: u32,
}

/// What an [`OpenHook`] answers.
#[derive(Debug)]
pub(crate) enum OpenAnswer {
    /// A read-only file with these bytes (served as a sealed memfd).
    Content(Vec<u8>),
    /// This fd, installed in the caller as is.
    Fd(std::os::fd::OwnedFd),
    /// The open fails with this errno.
    Deny(sandlock_sys::Errno),
}

/// What the features of one prepared policy need from the supervisor.
#[derive(Default, Clone)]
pub(crate) struct Plan {
    /// System calls the filter hands to the supervisor, by name.
    pub(crate) notify: Vec<&'static str>,
    /// System calls handed to the supervisor only when their arguments match: each entry
    /// is one rule (its conditions all hold); several entries of one call are alternatives.
    pub(crate) notify_rules: Vec<(&'static str, Vec<sandlock_bpf::Cond>)>,
    installers: Vec<(&'static str, Installer)>,
    start_hooks: Vec<StartHook>,
    open_hooks: Vec<(&'static str, OpenHook)>,
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("notify", &self.notify)
            .field(
                "notify_when",
                &self.notify_rules.iter().map(|r| r.0).collect::<Vec<_>>(),
            )
            .field(
                "features",
                &self.installers.iter().map(|i| i.0).collect::<Vec<_>>(),
            )
            .field("start_hooks", &self.start_hooks.len())
            .field(
                "open_hooks",
                &self.open_hooks.iter().map(|h| h.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Plan {
    /// Asks for `syscalls` to be notified. A name unknown on this architecture is skipped
    /// (e.g. `open` on aarch64), so features can list every spelling.
    pub(crate) fn notify(&mut self, syscalls: &[&'static str]) {
        for name in syscalls {
            if Arch::NATIVE.syscall_nr(name).is_ok() && !self.notify.contains(name) {
                self.notify.push(name);
            }
        }
    }

    /// Asks for `syscall` to be notified when all of `conds` hold (on its register
    /// arguments); otherwise the filter lets it through. Several calls for one name are
    /// alternatives. For hot calls where only some argument values need the supervisor (an
    /// `mmap` that maps writable memory), so the others cost nothing. Unknown names are
    /// skipped, as in [`notify`](Self::notify).
    pub(crate) fn notify_when(&mut self, syscall: &'static str, conds: Vec<sandlock_bpf::Cond>) {
        if Arch::NATIVE.syscall_nr(syscall).is_ok() {
            self.notify_rules.push((syscall, conds));
        }
    }

    /// Adds feature `feature`'s installer.
    pub(crate) fn installer(
        &mut self,
        feature: &'static str,
        installer: impl Fn(&Instance, &mut Installing) + Send + Sync + 'static,
    ) {
        self.installers.push((feature, Arc::new(installer)));
    }

    /// Adds a hook run when each sandbox has started.
    pub(crate) fn on_start(&mut self, hook: impl Fn(&Instance) + Send + Sync + 'static) {
        self.start_hooks.push(Arc::new(hook));
    }

    /// Serves the opening of `path` (an exact absolute path as in [`OpenRequest::path`], or a
    /// prefix ending in `/` for everything below it) with `hook`. The feature that owns the
    /// open family (`views`) calls the hooks; registering one makes it notify opens.
    pub(crate) fn open_hook(
        &mut self,
        path: &'static str,
        hook: impl Fn(&Instance, &OpenRequest) -> Option<OpenAnswer> + Send + Sync + 'static,
    ) {
        self.open_hooks.push((path, Arc::new(hook)));
    }

    /// The open hooks, in the order registered.
    pub(crate) fn open_hooks(&self) -> &[(&'static str, OpenHook)] {
        &self.open_hooks
    }

    /// Whether the plan needs the sandbox's seccomp listener (notified calls, or opens to
    /// serve).
    pub(crate) fn needs_listener(&self) -> bool {
        !self.notify.is_empty() || !self.notify_rules.is_empty() || !self.open_hooks.is_empty()
    }

    /// Whether the supervisor has anything to serve.
    pub(crate) fn is_empty(&self) -> bool {
        self.notify.is_empty()
            && self.notify_rules.is_empty()
            && self.installers.is_empty()
            && self.start_hooks.is_empty()
            && self.open_hooks.is_empty()
    }

    /// Builds one sandbox's handler table from every installer.
    pub(crate) fn install(&self, instance: &Instance) -> HandlerTable {
        let mut installing = Installing {
            table: HandlerTable::new(),
            owners: BTreeMap::new(),
            feature: "",
        };
        for (feature, installer) in &self.installers {
            installing.feature = feature;
            installer(instance, &mut installing);
        }
        installing.table
    }

    /// Runs the start hooks.
    pub(crate) fn started(&self, instance: &Instance) {
        for hook in &self.start_hooks {
            hook(instance);
        }
    }
}

/// A handler table being filled by the installers of one sandbox.
pub(crate) struct Installing {
    table: HandlerTable,
    owners: BTreeMap<u32, &'static str>,
    feature: &'static str,
}

impl Installing {
    /// Sets the handler of system call `name` (skipped when the architecture has no such
    /// call).
    ///
    /// # Panics
    /// When another feature already handles it: each call has one owner, and silently
    /// replacing a handler would drop a protection.
    pub(crate) fn on(
        &mut self,
        name: &'static str,
        handler: impl FnMut(&mut sandlock_notif::NotifCtx<'_>) -> sandlock_notif::HandlerResult
        + 'static,
    ) {
        let Ok(nr) = Arch::NATIVE.syscall_nr(name) else {
            return;
        };
        if let Some(owner) = self.owners.insert(nr, self.feature) {
            panic!("{name} is handled by both {owner} and {}", self.feature);
        }
        self.table.insert(nr, handler);
    }
}

/// One spawned sandbox, as the features see it.
#[derive(Clone)]
pub(crate) struct Instance {
    /// Pid of the sandbox's init process (the parent of the command).
    pub(crate) init_pid: i32,
    /// Pid of the command (the first process inside).
    pub(crate) command_pid: i32,
    /// The init's pidfd: signalling it with `SIGTERM` kills the whole sandbox.
    pub(crate) init: Arc<PidFd>,
    /// Worker threads under the sandbox's own Landlock rules, for actions on its behalf.
    pub(crate) agent: Agent,
    /// What the features report while it runs.
    pub(crate) report: Arc<Mutex<RuntimeReport>>,
    /// Set when the sandbox is over: background work of the features stops.
    pub(crate) done: Arc<AtomicBool>,
    /// Taken just before the init was forked: what the sandbox did before a feature's
    /// background work started still happened after this.
    pub(crate) spawned_at: Instant,
}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("init_pid", &self.init_pid)
            .field("command_pid", &self.command_pid)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Whether the sandbox is over.
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Kills the whole sandbox because of `reason` (e.g. a limit), which is recorded in the
    /// report and shown to the user.
    pub(crate) fn kill(&self, reason: impl Into<String>) {
        {
            let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner());
            report.kill_reason.get_or_insert_with(|| reason.into());
        }
        let _ = self.init.send_signal(libc::SIGTERM);
    }

    /// Updates the report.
    pub(crate) fn with_report<T>(&self, f: impl FnOnce(&mut RuntimeReport) -> T) -> T {
        let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut report)
    }
}

/// A port of the sandbox's own port space and the host port behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct PortMapping {
    /// `"tcp"` or `"udp"`.
    pub protocol: &'static str,
    /// The port the sandbox bound and sees.
    pub virtual_port: u16,
    /// The host port it really has.
    pub real_port: u16,
}

/// What happened in a sandbox that the policy's features report: limits that fired, port
/// mappings, why it was killed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeReport {
    /// Limits that fired at least once: name (as the CLI spells the option, e.g.
    /// `max-memory`) and how many times.
    pub limits_fired: BTreeMap<&'static str, u64>,
    /// Current port mappings (port virtualisation).
    pub ports: Vec<PortMapping>,
    /// Why sandlock killed the sandbox, when it did.
    pub kill_reason: Option<String>,
}

impl RuntimeReport {
    /// Counts one firing of limit `name`.
    pub(crate) fn fired(&mut self, name: &'static str) {
        *self.limits_fired.entry(name).or_insert(0) += 1;
    }

    /// The report as a JSON object.
    pub fn to_json(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::from("{\"limits_fired\":{");
        for (i, (name, n)) in self.limits_fired.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            crate::status::json_str(&mut o, name);
            let _ = write!(o, ":{n}");
        }
        o.push_str("},\"ports\":[");
        for (i, p) in self.ports.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(
                o,
                "{{\"protocol\":\"{}\",\"virtual\":{},\"real\":{}}}",
                p.protocol, p.virtual_port, p.real_port
            );
        }
        o.push_str("],\"kill_reason\":");
        match &self.kill_reason {
            Some(r) => crate::status::json_str(&mut o, r),
            None => o.push_str("null"),
        }
        o.push('}');
        o
    }
}

/// Marks an instance done when dropped (held by [`Running`](crate::Running)).
#[derive(Debug)]
pub(crate) struct DoneGuard(pub(crate) Arc<AtomicBool>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_json() {
        let mut r = RuntimeReport::default();
        assert_eq!(
            r.to_json(),
            r#"{"limits_fired":{},"ports":[],"kill_reason":null}"#
        );
        r.fired("max-processes");
        r.fired("max-processes");
        r.ports.push(PortMapping {
            protocol: "tcp",
            virtual_port: 8000,
            real_port: 40001,
        });
        r.kill_reason = Some("memory \"cap\"".into());
        assert_eq!(
            r.to_json(),
            r#"{"limits_fired":{"max-processes":2},"ports":[{"protocol":"tcp","virtual":8000,"real":40001}],"kill_reason":"memory \"cap\""}"#
        );
    }

    #[test]
    fn notify_skips_unknown_names_and_duplicates() {
        let mut p = Plan::default();
        p.notify(&["connect", "connect", "no_such_call"]);
        assert_eq!(p.notify, ["connect"]);
    }
}

//! Limits that hold for the whole sandbox: memory, concurrent processes, CPU share.
//!
//! Each limit is enforced by the supervisor, for every process of the sandbox together
//! (everything below its init, whatever the process group or session), and in a way the
//! sandbox cannot opt out of:
//!
//! | option | enforced by | over the limit |
//! |---|---|---|
//! | `--max-memory` | `mremap`, `shmget`, a growing `brk` and the `mmap`s that map writable anonymous or shared memory, notified and checked before they run, and a measurement of every process every 50 ms (which also catches memory made writable later) | `ENOMEM`, or the sandbox is killed with a message naming the limit |
//! | `--max-processes` | notified `fork`, `vfork`, `clone` (not threads) | `EAGAIN` |
//! | `--cpu` | a thread measuring the tree's CPU time every 10 ms | the tree is stopped (`SIGSTOP`) until its share has refilled |
//!
//! What counts, and why, is documented with each: [`memory`], [`processes`], [`cpu`]. A limit
//! that fired shows in the runtime report (`max-memory`, `max-processes`, `cpu`) and so in the
//! CLI's `--status-fd` JSON.
//!
//! The notified calls are only notified when the policy sets the limit: a policy without
//! `--max-memory` pays nothing on `mmap`.

mod cpu;
mod memory;
mod processes;
mod tree;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use sandlock_bpf::{ArgWidth, CmpOp, Cond};
use sandlock_sys::features::KernelFeatures;

use crate::confine::PrepareError;
use crate::notify::{Instance, Plan};
use crate::policy::{Policy, PolicyBuilder, PolicyError};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResourceConfig {
    /// `--max-memory`: bytes for the whole sandbox.
    pub(crate) max_memory: Option<u64>,
    /// `--max-processes`: concurrent processes in the sandbox.
    pub(crate) max_processes: Option<u32>,
    /// `--cpu`: percent of one CPU for the whole tree (1..=100 × CPUs).
    pub(crate) cpu_percent: Option<u32>,
}

/// The smallest `--max-memory`: below it not even a shell starts.
pub const MIN_MAX_MEMORY: u64 = 1 << 20;

/// Checks this feature's part of `policy`.
pub(crate) fn validate(policy: &Policy) -> Result<(), PolicyError> {
    let r = &policy.resources;
    if let Some(bytes) = r.max_memory
        && bytes < MIN_MAX_MEMORY
    {
        return Err(PolicyError::BadOption {
            option: "--max-memory",
            value: bytes.to_string(),
            reason: "must be at least 1 MiB".to_owned(),
        });
    }
    if r.max_processes == Some(0) {
        return Err(PolicyError::BadOption {
            option: "--max-processes",
            value: "0".to_owned(),
            reason: "must be at least 1 (the command itself)".to_owned(),
        });
    }
    if let Some(pct) = r.cpu_percent {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        if pct == 0 || pct > 100 * cpus {
            return Err(PolicyError::BadOption {
                option: "--cpu",
                value: pct.to_string(),
                reason: format!("must be 1 to {} (100 per CPU, {cpus} CPUs)", 100 * cpus),
            });
        }
    }
    Ok(())
}

/// Per-sandbox state that the supervisor thread (the allocation checks) and the monitor
/// thread share, found by the init's pid. The instance's `done` flag, kept with it, tells a
/// sandbox from a later one with a reused pid.
type Shared = Arc<Mutex<HashMap<i32, (Arc<AtomicBool>, Arc<memory::Budget>)>>>;

fn budget_of(shared: &Shared, inst: &Instance, cap: u64) -> Arc<memory::Budget> {
    let mut map = shared.lock().unwrap_or_else(|p| p.into_inner());
    map.retain(|_, (done, _)| !done.load(std::sync::atomic::Ordering::Acquire));
    let entry = map
        .entry(inst.init_pid)
        .or_insert_with(|| (Arc::clone(&inst.done), Arc::new(memory::Budget::new(cap))));
    if !Arc::ptr_eq(&entry.0, &inst.done) {
        *entry = (Arc::clone(&inst.done), Arc::new(memory::Budget::new(cap)));
    }
    Arc::clone(&entry.1)
}

fn forget(shared: &Shared, inst: &Instance) {
    let mut map = shared.lock().unwrap_or_else(|p| p.into_inner());
    if map
        .get(&inst.init_pid)
        .is_some_and(|(done, _)| Arc::ptr_eq(done, &inst.done))
    {
        map.remove(&inst.init_pid);
    }
}

/// Starts `f` on a named thread of its own; if no thread can be started, the sandbox is
/// killed: a limit that cannot be enforced must not be dropped silently.
fn spawn_monitor(name: &str, inst: &Instance, f: impl FnOnce(Instance) + Send + 'static) {
    let for_thread = inst.clone();
    if let Err(e) = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || f(for_thread))
    {
        inst.kill(format!("cannot start the {name} thread: {e}"));
    }
}

/// Adds what this feature needs from the supervisor to `plan`.
pub(crate) fn plan(
    policy: &Policy,
    kernel: &KernelFeatures,
    plan: &mut Plan,
) -> Result<(), PrepareError> {
    let r = policy.resources.clone();
    let notifying = r.max_memory.is_some() || r.max_processes.is_some();
    if notifying && !kernel.user_notif.is_available() {
        return Err(PrepareError::Feature {
            feature: if r.max_memory.is_some() {
                "--max-memory"
            } else {
                "--max-processes"
            },
            message: format!(
                "needs seccomp user notification, which is {}",
                kernel.user_notif
            ),
        });
    }
    if let Some(cap) = r.max_memory {
        plan.notify(&["mremap", "shmget"]);
        // Only the mappings that can take memory of their own are checked: writable and
        // anonymous or shared. A private writable file mapping (a library's data) or a
        // read-only one costs nothing until written, and then shows in the measurement, like
        // memory made writable later with mprotect. brk(0) only asks for the break.
        let writable = || Cond::any_bits32(2, libc::PROT_WRITE as u32);
        for kind in [libc::MAP_ANONYMOUS, libc::MAP_SHARED] {
            plan.notify_when("mmap", vec![writable()?, Cond::any_bits32(3, kind as u32)?]);
        }
        plan.notify_when("brk", vec![Cond::new(0, ArgWidth::Qword, CmpOp::Ne, 0)?]);
        let shared: Shared = Arc::default();
        let for_install = Arc::clone(&shared);
        plan.installer("resources", move |inst, t| {
            let budget = budget_of(&for_install, inst, cap);
            memory::install(inst, &budget, t);
        });
        plan.on_start(move |inst| {
            let budget = budget_of(&shared, inst, cap);
            let shared = Arc::clone(&shared);
            spawn_monitor("sandlock-memory", inst, move |inst| {
                memory::monitor(&inst, &budget);
                forget(&shared, &inst);
            });
        });
    }
    if let Some(max) = r.max_processes {
        plan.notify(&["fork", "vfork", "clone"]);
        plan.installer("resources", move |inst, t| {
            processes::install(inst, max, t);
        });
    }
    if let Some(percent) = r.cpu_percent {
        plan.on_start(move |inst| {
            spawn_monitor("sandlock-cpu", inst, move |inst| {
                cpu::throttle(&inst, percent)
            });
        });
    }
    Ok(())
}

impl PolicyBuilder {
    /// Caps the memory of the whole sandbox at `bytes` (`--max-memory`; at least
    /// [`MIN_MAX_MEMORY`]).
    ///
    /// Counted: private and copy-on-write memory and shared memory (anonymous `MAP_SHARED`,
    /// memfds, `/dev/shm` files, SysV segments), each page once however many processes of the
    /// sandbox map it, so several processes each under the cap add up; not counted: file
    /// pages that can be reread (program text, the page cache) and kernel memory. An
    /// allocation (`mmap`, `mremap`, `brk`, `shmget`) that would go over fails with `ENOMEM`;
    /// memory obtained any other way is caught by a measurement every 50 ms that kills the
    /// sandbox, with a message naming the limit. The limit also sets `MemTotal` of the
    /// sandbox's `/proc/meminfo` view. Needs seccomp user notification.
    pub fn max_memory(mut self, bytes: u64) -> PolicyBuilder {
        self.policy.resources.max_memory = Some(bytes);
        self
    }

    /// Lets the sandbox have at most `n` processes at once (`--max-processes`), the command
    /// included; `fork`, `vfork` and `clone` over the limit fail with `EAGAIN`.
    ///
    /// A process counts from its creation until it is reaped (a zombie holds a pid). Threads do
    /// not count. Needs seccomp user notification.
    pub fn max_processes(mut self, n: u32) -> PolicyBuilder {
        self.policy.resources.max_processes = Some(n);
        self
    }

    /// Limits the whole process tree to `percent` % of one CPU (`--cpu`; up to 100 per CPU),
    /// `setsid` descendants included: when the tree has used its share, the supervisor stops
    /// it (`SIGSTOP`) until the share has refilled, measured every 10 ms over 100 ms.
    pub fn cpu_percent(mut self, percent: u32) -> PolicyBuilder {
        self.policy.resources.cpu_percent = Some(percent);
        self
    }
}

impl Policy {
    /// The memory cap of the whole sandbox in bytes, if any ([`PolicyBuilder::max_memory`]).
    pub fn max_memory(&self) -> Option<u64> {
        self.resources.max_memory
    }

    /// The maximum number of concurrent processes, if any
    /// ([`PolicyBuilder::max_processes`]).
    pub fn max_processes(&self) -> Option<u32> {
        self.resources.max_processes
    }

    /// The CPU share of the whole tree in percent of one CPU, if any
    /// ([`PolicyBuilder::cpu_percent`]).
    pub fn cpu_percent(&self) -> Option<u32> {
        self.resources.cpu_percent
    }
}

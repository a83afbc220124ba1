//! `--max-processes`: how many processes the sandbox may have at once.
//!
//! `fork`, `vfork` and `clone` are notified (their arguments are registers: the decision reads
//! no memory of the caller, so an allowed call goes on as made; `clone3` is refused with
//! `ENOSYS` by the default filter, and libc falls back to `clone`). A call that would create a
//! process is answered `EAGAIN`, as the kernel answers over `RLIMIT_NPROC`, when the sandbox
//! already has the maximum.
//!
//! # What counts
//!
//! Every process below the sandbox's init, from the moment `fork` returns until it is reaped:
//! a zombie still holds a pid, so a program that never waits for its children cannot pile them
//! up. The init itself does not count; the command does. Threads (`clone` with
//! `CLONE_THREAD`) do not count: they are not processes, and each needs a stack, which
//! `--max-memory` counts.
//!
//! # Two forks at once
//!
//! The supervisor answers one notification at a time, but a fork it allowed shows in `/proc`
//! only once the kernel has made the child, so a second fork decided in between would not see
//! the first. Each allowed fork therefore stays *in flight*, and counts, until the calling
//! thread has a child it did not have before, the thread is gone, it makes its next call
//! (its fork is over, however it ended), or a deadline passes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sandlock_notif::{HandlerResult, NotifCtx, Verdict};
use sandlock_sys::Errno;

use super::tree;
use crate::notify::Instance;

/// The name of the limit in the runtime report.
pub(crate) const LIMIT: &str = "max-processes";

/// How long an allowed fork counts when its child never shows (`CLONE_PARENT`: the child
/// belongs to the caller's parent; or the fork failed in the kernel).
const IN_FLIGHT_DEADLINE: Duration = Duration::from_secs(2);

/// A fork allowed whose child may not show yet.
#[derive(Debug)]
struct InFlight {
    /// The caller's children when it was allowed.
    children_before: Vec<i32>,
    deadline: Instant,
}

/// The children of thread `tid` (`None` when it is gone).
fn thread_children(tid: u32) -> Option<Vec<i32>> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/task/{tid}/children")).ok()?;
    Some(
        text.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
    )
}

/// The counting of one sandbox.
#[derive(Debug)]
pub(crate) struct Counter {
    max: u32,
    in_flight: HashMap<u32, InFlight>,
}

impl Counter {
    pub(crate) fn new(max: u32) -> Counter {
        Counter {
            max,
            in_flight: HashMap::new(),
        }
    }

    /// Decides a process creation by thread `tid`, given the number of live processes of the
    /// sandbox: `true` to allow it.
    fn allow(&mut self, tid: u32, live: impl FnOnce() -> usize) -> bool {
        self.in_flight.remove(&tid);
        let now = Instant::now();
        // In-flight forks first, the tree after: a child that shows in between is then counted
        // twice (refusing one fork too many, for an instant) rather than not at all.
        self.in_flight.retain(|&t, f| {
            now < f.deadline
                && thread_children(t)
                    .is_some_and(|c| c.iter().all(|p| f.children_before.contains(p)))
        });
        let count = live().saturating_add(self.in_flight.len());
        if count >= self.max as usize {
            return false;
        }
        self.in_flight.insert(
            tid,
            InFlight {
                children_before: thread_children(tid).unwrap_or_default(),
                deadline: now + IN_FLIGHT_DEADLINE,
            },
        );
        true
    }
}

/// Whether a `clone` with these flags makes a process (not a thread).
fn clone_makes_process(flags: u64) -> bool {
    flags & libc::CLONE_THREAD as u64 == 0
}

/// Installs the counting of one sandbox: `fork`, `vfork` and `clone` share one counter.
pub(crate) fn install(inst: &Instance, max: u32, t: &mut crate::notify::Installing) {
    let counter = std::rc::Rc::new(std::cell::RefCell::new(Counter::new(max)));
    for name in ["fork", "vfork", "clone"] {
        let (inst, counter) = (inst.clone(), std::rc::Rc::clone(&counter));
        t.on(name, move |ctx: &mut NotifCtx<'_>| -> HandlerResult {
            if name == "clone" && !clone_makes_process(ctx.args()[0]) {
                return Ok(Verdict::Continue);
            }
            if counter
                .borrow_mut()
                .allow(ctx.pid(), || tree::below(inst.init_pid).len())
            {
                Ok(Verdict::Continue)
            } else {
                inst.with_report(|r| r.fired(LIMIT));
                Ok(Verdict::Errno(Errno::EAGAIN))
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_not_processes() {
        let thread = (libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM) as u64;
        assert!(!clone_makes_process(thread));
        assert!(clone_makes_process(libc::SIGCHLD as u64));
        assert!(clone_makes_process(
            (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64
        ));
    }

    #[test]
    fn a_fork_in_flight_counts_until_its_child_shows() {
        // The harness's main thread (tid = pid) never forks: its in-flight fork lasts until
        // the deadline. The other caller is a thread that does not exist.
        let main = std::process::id();
        let other = u32::MAX - 1;
        let mut c = Counter::new(1);
        assert!(c.allow(main, || 0));
        assert!(!c.allow(other, || 0), "the first is still in flight");
        c.in_flight.get_mut(&main).unwrap().deadline = Instant::now();
        assert!(c.allow(other, || 0), "in flight until its deadline");
        assert!(!c.allow(main, || 1), "one live process is the maximum");
        assert!(
            c.allow(other, || 0),
            "a thread that is gone has nothing in flight"
        );
    }
}

//! Threads of the supervisor that act on behalf of a sandbox, under the sandbox's own rules:
//! [`Agent`].
//!
//! When the supervisor performs a call for a sandboxed process (a `connect` or `bind` whose
//! address it checked, an `open` it resolved), it must not be able to do more than the process
//! could: the supervisor itself is not confined, so a naive on-behalf `bind` would create a
//! socket file in a read-only directory, and a naive `connect` would ignore the sandbox's
//! Landlock port rules. Landlock domains are per thread, so an agent's worker threads take on
//! the sandbox's ruleset (`no_new_privs`, then `landlock_restrict_self`) and their own working
//! directory (`unshare(CLONE_FS)`); whatever they do, the kernel checks against the sandbox's
//! rules.
//!
//! Workers are started on demand (a blocking `connect` holds one until it completes) up to a
//! bound, and leave after a few idle seconds, so an idle sandbox costs no threads.

use std::collections::VecDeque;
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use sandlock_sys::Errno;

/// At most this many workers per agent; further jobs wait for one to be free.
const MAX_WORKERS: usize = 64;
/// A worker with nothing to do for this long leaves.
const IDLE_EXIT: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// A pool of worker threads confined like one sandbox. Cheap to clone (shared).
#[derive(Clone)]
pub(crate) struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    /// The sandbox's Landlock ruleset; `None` in a degraded run (no Landlock).
    ruleset: Option<OwnedFd>,
    state: Mutex<State>,
    ready: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    workers: usize,
    idle: usize,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Agent")
            .field("landlock", &self.inner.ruleset.is_some())
            .field("workers", &state.workers)
            .field("queued", &state.jobs.len())
            .finish()
    }
}

/// What a job runs in: a worker thread, confined like the sandbox.
#[derive(Debug)]
pub(crate) struct Worker {
    confined: Result<(), Errno>,
}

impl Worker {
    /// Whether the thread took on the sandbox's rules. A job must fail closed (answer an
    /// errno) when it did not.
    pub(crate) fn confined(&self) -> Result<(), Errno> {
        self.confined
    }

    /// Sets the worker's working directory (its own: see the module documentation), e.g. to
    /// the caller's, for a relative path.
    pub(crate) fn chdir(&mut self, dir: BorrowedFd<'_>) -> Result<(), Errno> {
        self.confined?;
        sandlock_sys::thread::fchdir(dir)
    }
}

impl Agent {
    /// An agent whose workers enforce `ruleset` (a dup of the sandbox's) on themselves.
    pub(crate) fn new(ruleset: Option<OwnedFd>) -> Agent {
        Agent {
            inner: Arc::new(Inner {
                ruleset,
                state: Mutex::new(State::default()),
                ready: Condvar::new(),
            }),
        }
    }

    /// Runs `job` on a worker and returns at once.
    pub(crate) fn spawn(&self, job: impl FnOnce(&mut Worker) + Send + 'static) {
        let mut state = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        state.jobs.push_back(Box::new(job));
        // Idle workers take queued jobs; one that was woken but has not taken its job yet
        // still counts as idle, so compare the queue with them rather than "any idle".
        if state.jobs.len() <= state.idle {
            self.inner.ready.notify_one();
            return;
        }
        if state.workers < MAX_WORKERS {
            let inner = Arc::clone(&self.inner);
            let started = std::thread::Builder::new()
                .name("sandlock-agent".to_owned())
                .stack_size(256 * 1024)
                .spawn(move || work(&inner));
            if started.is_ok() {
                state.workers += 1;
                return;
            }
        }
        if state.workers == 0 {
            // No worker at all and none can be started: the job runs here, told that it is not
            // confined, so that it fails closed (answers an errno) rather than waiting forever.
            let Some(job) = state.jobs.pop_back() else {
                return;
            };
            drop(state);
            job(&mut Worker {
                confined: Err(Errno::EAGAIN),
            });
        }
        // Otherwise the job waits for a busy worker.
    }
}

/// A worker's life: confine itself, then run jobs until idle for too long.
fn work(inner: &Inner) {
    let mut worker = Worker {
        confined: confine(inner.ruleset.as_ref().map(|r| r.as_fd())),
    };
    let mut state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state);
            // A panicking job must not take the worker's count with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut worker)));
            state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
            continue;
        }
        state.idle += 1;
        let (next, timeout) = inner
            .ready
            .wait_timeout(state, IDLE_EXIT)
            .unwrap_or_else(|p| p.into_inner());
        state = next;
        state.idle -= 1;
        if timeout.timed_out() && state.jobs.is_empty() {
            state.workers -= 1;
            return;
        }
    }
}

/// Gives the calling thread the sandbox's rules and a working directory of its own.
fn confine(ruleset: Option<BorrowedFd<'_>>) -> Result<(), Errno> {
    sandlock_sys::process::set_no_new_privs()?;
    sandlock_sys::thread::unshare_fs()?;
    if let Some(ruleset) = ruleset {
        sandlock_sys::thread::landlock_restrict_self(ruleset)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_confined_workers_with_their_own_cwd() {
        let agent = Agent::new(None);
        let before = std::env::current_dir().unwrap();
        let root = std::fs::File::open("/").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        agent.spawn(move |w| {
            w.confined().unwrap();
            w.chdir(root.as_fd()).unwrap();
            tx.send(std::env::current_dir().unwrap()).unwrap();
        });
        let cwd = rx.recv().unwrap();
        assert_eq!(cwd, std::path::Path::new("/"));
        assert_eq!(std::env::current_dir().unwrap(), before);
        // Many at once: each gets a worker (a blocking job does not hold up the others).
        let (tx, rx) = std::sync::mpsc::channel();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        for _ in 0..4 {
            let (tx, gate) = (tx.clone(), Arc::clone(&gate));
            agent.spawn(move |_| {
                let (open, cv) = &*gate;
                let mut o = open.lock().unwrap();
                while !*o {
                    o = cv.wait(o).unwrap();
                }
                tx.send(()).unwrap();
            });
        }
        let (tx7, rx7) = std::sync::mpsc::channel();
        agent.spawn(move |_| tx7.send(7).unwrap());
        assert_eq!(rx7.recv().unwrap(), 7);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        for _ in 0..4 {
            rx.recv().unwrap();
        }
    }
}

//! The event loop: [`Reactor`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::os::fd::{AsFd, AsRawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::pidfd::PidFd;
use sandlock_sys::seccomp::{NotifBuf, NotifFd};
use sandlock_sys::structs::SeccompNotif;
use sandlock_sys::{Arch, Errno};

use crate::answer::{Outcome, send_verdict};
use crate::ctx::NotifCtx;
use crate::handlers::HandlerTable;
use crate::mem::{MemAccess, MemError};
use crate::verdict::{HandlerError, Verdict};

/// Token of the [`Waker`]; sources get tokens from 1 up, never reused.
const WAKE_TOKEN: Token = Token(0);

/// Identifies a sandbox registered with a [`Reactor`]. Never reused within one reactor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SandboxId(u64);

impl SandboxId {
    /// The number behind the id (for logs).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SandboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sandbox#{}", self.0)
    }
}

/// Tunables and kernel capabilities the reactor relies on.
///
/// Build it with [`ReactorConfig::from_features`] (or [`ReactorConfig::default`]) and the
/// `with_*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReactorConfig {
    /// The kernel supports `SECCOMP_ADDFD_FLAG_SEND` (5.14): fd injection answers atomically.
    /// Without it, injection is ADDFD followed by SEND. Default `false`, which works on 5.9+.
    pub addfd_send: bool,
    /// How to reach the callers' memory. Default [`MemAccess::Auto`].
    pub mem_access: MemAccess,
    /// At most this many notifications of one listener are handled before the others get a
    /// turn (the rest wait for the next [`Reactor::run_once`], which then does not block).
    /// Default 64; at least 1.
    pub drain_budget: usize,
}

impl Default for ReactorConfig {
    fn default() -> ReactorConfig {
        ReactorConfig {
            addfd_send: false,
            mem_access: MemAccess::Auto,
            drain_budget: 64,
        }
    }
}

impl ReactorConfig {
    /// The configuration the probed kernel allows: [`addfd_send`](Self::addfd_send) from
    /// `features.addfd_send`, the rest default.
    pub fn from_features(features: &KernelFeatures) -> ReactorConfig {
        ReactorConfig::default().with_addfd_send(features.addfd_send.is_available())
    }

    /// Sets [`addfd_send`](Self::addfd_send).
    #[must_use]
    pub fn with_addfd_send(mut self, addfd_send: bool) -> ReactorConfig {
        self.addfd_send = addfd_send;
        self
    }

    /// Sets [`mem_access`](Self::mem_access).
    #[must_use]
    pub fn with_mem_access(mut self, mem_access: MemAccess) -> ReactorConfig {
        self.mem_access = mem_access;
        self
    }

    /// Sets [`drain_budget`](Self::drain_budget) (0 is taken as 1).
    #[must_use]
    pub fn with_drain_budget(mut self, drain_budget: usize) -> ReactorConfig {
        self.drain_budget = drain_budget.max(1);
        self
    }
}

/// Per-sandbox counters, for tests and status reports.
///
/// Every received notification ends in exactly one of `answered`, `died_before_answer`,
/// `send_errors` or `deferred`; the other counters say *why* an answer was what it was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxStats {
    /// Notifications received (`NOTIF_RECV` succeeded).
    pub received: u64,
    /// Notifications answered (`NOTIF_SEND` or `ADDFD_FLAG_SEND` succeeded).
    pub answered: u64,
    /// Received, but the caller died or left the call before the answer (`ENOENT` from SEND or
    /// ADDFD, or `ID_VALID` false after a memory read).
    pub died_before_answer: u64,
    /// Answers the kernel refused for another reason than `ENOENT` (should stay 0).
    pub send_errors: u64,
    /// Pending notifications whose caller vanished before `NOTIF_RECV` (`ENOENT` from RECV).
    pub vanished_before_recv: u64,
    /// Handlers that returned an error (answered `EPERM`), including invalid errno verdicts.
    pub handler_errors: u64,
    /// Handlers that panicked (answered `EPERM`).
    pub panics: u64,
    /// Notifications without a handler (answered `EPERM`).
    pub unhandled: u64,
    /// Notifications of a foreign architecture (answered `EPERM`; a correct filter kills those).
    pub foreign_arch: u64,
    /// `Continue` verdicts refused because the handler touched memory (answered `EPERM`).
    pub continue_refused: u64,
    /// Fd injections that failed (answered `EPERM`).
    pub inject_failed: u64,
    /// [`Verdict::Kill`] verdicts.
    pub kill_requested: u64,
    /// Notifications handed to a [`Responder`](crate::Responder) ([`Verdict::Deferred`]);
    /// their answers are not counted here.
    pub deferred: u64,
}

/// Something the caller of [`Reactor::run_once`] must know about. Notifications themselves are
/// handled inside the reactor and do not appear here.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReactorEvent {
    /// A process watched with [`Reactor::watch_process`] exited. The reactor stops watching it
    /// and hands its pidfd back, e.g. to reap it with `waitid(P_PIDFD)`.
    ProcessExited {
        /// The sandbox it was watched for.
        sandbox: SandboxId,
        /// The token given to `watch_process`.
        token: u64,
        /// The process's pidfd.
        pidfd: PidFd,
    },
    /// Every task using the sandbox's filter is gone (the listener hung up). The reactor has
    /// closed the listener; the sandbox stays registered (its counters and watched processes)
    /// until [`Reactor::remove_sandbox`].
    ListenerClosed {
        /// The sandbox.
        sandbox: SandboxId,
    },
    /// The sandbox's listener failed (e.g. `EBADF`). The reactor has closed it, so the sandbox's
    /// notified calls now fail with `ENOSYS`; the sandbox stays registered as for
    /// [`ListenerClosed`](Self::ListenerClosed).
    ListenerFailed {
        /// The sandbox.
        sandbox: SandboxId,
        /// The error of `NOTIF_RECV` or `poll`.
        error: Errno,
    },
    /// A handler returned [`Verdict::Kill`]: kill the sandbox. Its call was answered `EPERM`.
    KillRequested {
        /// The sandbox.
        sandbox: SandboxId,
        /// Thread id of the task whose call asked for it.
        pid: u32,
    },
    /// The [`Waker`] was rung.
    Woken,
}

/// Interrupts a [`Reactor::run_once`] from any thread. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Waker(Arc<mio::Waker>);

impl Waker {
    /// Makes the reactor's current or next `run_once` return [`ReactorEvent::Woken`].
    ///
    /// # Errors
    /// The error of the underlying `eventfd` write (practically never).
    pub fn wake(&self) -> std::io::Result<()> {
        self.0.wake()
    }
}

/// Why [`Reactor::new`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NewReactorError {
    /// `epoll_create1` or the waker's `eventfd` failed.
    #[error("cannot create the event loop")]
    Poll(#[source] std::io::Error),
    /// `seccomp(SECCOMP_GET_NOTIF_SIZES)` failed: no user notification in this kernel (< 5.0),
    /// or a seccomp profile around the supervisor forbids `seccomp`.
    #[error("cannot query the kernel's notification sizes")]
    NotifSizes(#[source] Errno),
}

/// Why registering a listener or a process failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// No sandbox with this id (never added, or removed).
    #[error("no such sandbox: {0}")]
    UnknownSandbox(SandboxId),
    /// `epoll_ctl(EPOLL_CTL_ADD)` failed.
    #[error("cannot register the fd with the event loop")]
    Register(#[source] std::io::Error),
}

/// Why [`Reactor::run_once`] failed. The reactor stays usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// `epoll_wait` failed (other than `EINTR`, which is an empty round).
    #[error("waiting for events failed")]
    Wait(#[source] std::io::Error),
}

/// What a sandbox's registration is made of.
struct Sandbox {
    /// `None` once closed (hang-up or failure).
    listener: Option<Arc<NotifFd>>,
    listener_token: Token,
    handlers: HandlerTable,
    watched: Vec<Watched>,
    stats: SandboxStats,
}

struct Watched {
    mio_token: Token,
    token: u64,
    pidfd: PidFd,
}

/// What a mio token stands for.
#[derive(Debug, Clone, Copy)]
enum Source {
    Listener(SandboxId),
    Process(SandboxId),
}

/// A sandbox taken out of the reactor by [`Reactor::remove_sandbox`].
#[derive(Debug)]
#[non_exhaustive]
pub struct RemovedSandbox {
    /// Its final counters.
    pub stats: SandboxStats,
    /// Processes still watched (token, pidfd), handed back to the caller.
    pub watched: Vec<(u64, PidFd)>,
}

/// Serves the seccomp listeners of many sandboxes on the calling thread.
///
/// The reactor owns a mio [`Poll`] on which it registers each sandbox's listener and the
/// pidfds of processes it is asked to watch. The caller drives it with
/// [`run_once`](Self::run_once): notifications are received, dispatched through the sandbox's
/// [`HandlerTable`] and answered inside; everything else comes back as [`ReactorEvent`]s.
///
/// It spawns no threads and is not `Send` (handlers may hold `Rc`s): build it and its handlers
/// on the thread that runs it. Other threads interrupt it with a [`Waker`].
///
/// One failing request never stops the reactor: handler errors, panics and failed injections
/// are answered `EPERM`; a failing listener is closed and reported.
pub struct Reactor {
    poll: Poll,
    events: Events,
    /// (token, readable, hung up) copied out of `events`, which `poll` borrows.
    ready: Vec<(Token, bool, bool)>,
    waker: Waker,
    sandboxes: HashMap<SandboxId, Sandbox>,
    sources: HashMap<Token, Source>,
    /// (sandbox, hung up) of listeners left readable when their drain budget ran out.
    backlog: VecDeque<(SandboxId, bool)>,
    next_token: usize,
    next_sandbox: u64,
    buf: NotifBuf,
    config: ReactorConfig,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sandboxes", &self.sandboxes.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Reactor {
    /// Creates a reactor with no sandboxes.
    ///
    /// # Errors
    /// See [`NewReactorError`].
    pub fn new(config: ReactorConfig) -> Result<Reactor, NewReactorError> {
        let sizes = sandlock_sys::seccomp::notif_sizes().map_err(NewReactorError::NotifSizes)?;
        let poll = Poll::new().map_err(NewReactorError::Poll)?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN).map_err(NewReactorError::Poll)?;
        Ok(Reactor {
            poll,
            events: Events::with_capacity(256),
            ready: Vec::with_capacity(256),
            waker: Waker(Arc::new(waker)),
            sandboxes: HashMap::new(),
            sources: HashMap::new(),
            backlog: VecDeque::new(),
            next_token: WAKE_TOKEN.0 + 1,
            next_sandbox: 1,
            buf: NotifBuf::new(&sizes),
            config: ReactorConfig {
                drain_budget: config.drain_budget.max(1),
                ..config
            },
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ReactorConfig {
        &self.config
    }

    /// A handle that interrupts [`run_once`](Self::run_once) from any thread.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    fn new_token(&mut self) -> Token {
        let token = Token(self.next_token);
        self.next_token += 1;
        token
    }

    /// Registers a sandbox: its listener and the handlers of its notified calls.
    ///
    /// # Errors
    /// [`RegisterError::Register`] when epoll refuses the fd; the listener is then closed, so
    /// the sandbox's notified calls fail with `ENOSYS`.
    pub fn add_sandbox(
        &mut self,
        listener: NotifFd,
        handlers: HandlerTable,
    ) -> Result<SandboxId, RegisterError> {
        let id = SandboxId(self.next_sandbox);
        let token = self.new_token();
        self.poll
            .registry()
            .register(
                &mut SourceFd(&listener.as_raw_fd()),
                token,
                Interest::READABLE,
            )
            .map_err(RegisterError::Register)?;
        self.next_sandbox += 1;
        self.sources.insert(token, Source::Listener(id));
        self.sandboxes.insert(
            id,
            Sandbox {
                listener: Some(Arc::new(listener)),
                listener_token: token,
                handlers,
                watched: Vec::new(),
                stats: SandboxStats::default(),
            },
        );
        Ok(id)
    }

    /// Watches a process of `sandbox`: when it exits, [`run_once`](Self::run_once) reports
    /// [`ReactorEvent::ProcessExited`] with `token` and gives the pidfd back.
    ///
    /// # Errors
    /// [`RegisterError`]; the pidfd is closed.
    pub fn watch_process(
        &mut self,
        sandbox: SandboxId,
        pidfd: PidFd,
        token: u64,
    ) -> Result<(), RegisterError> {
        if !self.sandboxes.contains_key(&sandbox) {
            return Err(RegisterError::UnknownSandbox(sandbox));
        }
        let mio_token = self.new_token();
        self.poll
            .registry()
            .register(
                &mut SourceFd(&pidfd.as_raw_fd()),
                mio_token,
                Interest::READABLE,
            )
            .map_err(RegisterError::Register)?;
        self.sources.insert(mio_token, Source::Process(sandbox));
        if let Some(sb) = self.sandboxes.get_mut(&sandbox) {
            sb.watched.push(Watched {
                mio_token,
                token,
                pidfd,
            });
        }
        Ok(())
    }

    /// Unregisters a sandbox and closes its listener: the kernel then fails its pending and
    /// future notified calls with `ENOSYS`. Returns its counters and still-watched pidfds, or
    /// `None` for an unknown id.
    pub fn remove_sandbox(&mut self, sandbox: SandboxId) -> Option<RemovedSandbox> {
        let mut sb = self.sandboxes.remove(&sandbox)?;
        self.close_listener(&mut sb);
        self.backlog.retain(|&(id, _)| id != sandbox);
        let watched = sb
            .watched
            .drain(..)
            .map(|w| {
                deregister(&self.poll, &mut self.sources, w.mio_token, &w.pidfd);
                (w.token, w.pidfd)
            })
            .collect();
        Some(RemovedSandbox {
            stats: sb.stats,
            watched,
        })
    }

    /// The counters of a sandbox.
    pub fn stats(&self, sandbox: SandboxId) -> Option<SandboxStats> {
        self.sandboxes.get(&sandbox).map(|sb| sb.stats)
    }

    /// Whether the sandbox's listener is still open (no hang-up, no failure, not removed).
    pub fn listener_open(&self, sandbox: SandboxId) -> bool {
        self.sandboxes
            .get(&sandbox)
            .is_some_and(|sb| sb.listener.is_some())
    }

    /// Number of registered sandboxes.
    pub fn len(&self) -> usize {
        self.sandboxes.len()
    }

    /// Whether no sandbox is registered.
    pub fn is_empty(&self) -> bool {
        self.sandboxes.is_empty()
    }

    fn close_listener(&mut self, sb: &mut Sandbox) {
        if let Some(listener) = sb.listener.take() {
            deregister(&self.poll, &mut self.sources, sb.listener_token, &listener);
        }
    }

    /// Waits up to `timeout` (`None`: no limit) for events, handles every pending
    /// notification, and returns the events for the caller.
    ///
    /// It returns early with an empty list when interrupted by a signal, and does not wait at
    /// all when listeners were left readable by the drain budget.
    ///
    /// # Errors
    /// [`PollError`] when `epoll_wait` fails; the reactor stays usable.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> Result<Vec<ReactorEvent>, PollError> {
        let mut out = Vec::new();
        let timeout = if self.backlog.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(PollError::Wait(e)),
        }
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(self.events.iter().map(|e| {
            (
                e.token(),
                e.is_readable(),
                e.is_read_closed() || e.is_error(),
            )
        }));
        for _ in 0..self.backlog.len() {
            if let Some((id, hung_up)) = self.backlog.pop_front() {
                self.serve_listener(id, hung_up, &mut out);
            }
        }
        for &(token, readable, closed) in &ready {
            if token == WAKE_TOKEN {
                out.push(ReactorEvent::Woken);
                continue;
            }
            match self.sources.get(&token).copied() {
                Some(Source::Listener(id)) if readable || closed => {
                    self.serve_listener(id, closed, &mut out);
                }
                Some(Source::Listener(_)) => {}
                Some(Source::Process(id)) => self.process_exited(id, token, &mut out),
                // A source removed earlier in this round.
                None => {}
            }
        }
        self.ready = ready;
        Ok(out)
    }

    fn process_exited(&mut self, id: SandboxId, mio_token: Token, out: &mut Vec<ReactorEvent>) {
        let Some(sb) = self.sandboxes.get_mut(&id) else {
            return;
        };
        let Some(pos) = sb.watched.iter().position(|w| w.mio_token == mio_token) else {
            return;
        };
        let w = sb.watched.swap_remove(pos);
        deregister(&self.poll, &mut self.sources, mio_token, &w.pidfd);
        out.push(ReactorEvent::ProcessExited {
            sandbox: id,
            token: w.token,
            pidfd: w.pidfd,
        });
    }

    /// Receives and answers notifications of one listener while it stays readable, up to the
    /// drain budget; then reports a hang-up if there was one.
    fn serve_listener(&mut self, id: SandboxId, hung_up: bool, out: &mut Vec<ReactorEvent>) {
        let config = self.config;
        let Some(sb) = self.sandboxes.get_mut(&id) else {
            return;
        };
        let Some(listener) = sb.listener.as_ref() else {
            return;
        };
        let mut budget = config.drain_budget;
        let mut failure = None;
        loop {
            // Check before every RECV, including the first: the epoll event may be stale (its
            // notification was drained in an earlier round) and RECV would then block, since it
            // ignores O_NONBLOCK.
            match sandlock_sys::poll::poll_readable(listener) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            if budget == 0 {
                match self.backlog.iter_mut().find(|(b, _)| *b == id) {
                    Some((_, h)) => *h |= hung_up,
                    None => self.backlog.push_back((id, hung_up)),
                }
                // Still readable: the hang-up, if any, comes after the rest is served.
                return;
            }
            budget -= 1;
            match listener.recv(&mut self.buf) {
                Ok(notif) => {
                    sb.stats.received += 1;
                    dispatch(
                        id,
                        listener,
                        &mut sb.handlers,
                        &mut sb.stats,
                        notif,
                        &config,
                        out,
                    );
                }
                Err(Errno::ENOENT) => sb.stats.vanished_before_recv += 1,
                Err(Errno::EINTR) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let event = match failure {
            Some(error) => ReactorEvent::ListenerFailed { sandbox: id, error },
            None if hung_up => ReactorEvent::ListenerClosed { sandbox: id },
            None => return,
        };
        if let Some(listener) = sb.listener.take() {
            deregister(&self.poll, &mut self.sources, sb.listener_token, &listener);
        }
        out.push(event);
    }
}

/// Removes an fd from the epoll set and forgets its token.
fn deregister(poll: &Poll, sources: &mut HashMap<Token, Source>, token: Token, fd: &impl AsFd) {
    // Closing the fd would also remove it from the epoll set, unless it was duplicated
    // somewhere; deregistering first rules out stale events in that case. An error here means
    // it was not registered, which leaves nothing to undo.
    let _ = poll
        .registry()
        .deregister(&mut SourceFd(&fd.as_fd().as_raw_fd()));
    sources.remove(&token);
}

/// Runs the handler of one notification and answers it.
fn dispatch(
    sandbox: SandboxId,
    listener: &Arc<NotifFd>,
    handlers: &mut HandlerTable,
    stats: &mut SandboxStats,
    notif: SeccompNotif,
    config: &ReactorConfig,
    out: &mut Vec<ReactorEvent>,
) {
    let deny = Verdict::Errno(Errno::EPERM);
    let verdict = if notif.data.arch != Arch::NATIVE.audit_arch() {
        stats.foreign_arch += 1;
        deny
    } else if let Some(handler) = handlers.get_mut(notif.data.nr) {
        let mut ctx = NotifCtx::new(notif, sandbox, listener, config);
        let verdict = match catch_unwind(AssertUnwindSafe(|| handler(&mut ctx))) {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(HandlerError::Mem(MemError::Gone { .. }))) => {
                stats.died_before_answer += 1;
                return;
            }
            Ok(Err(_)) => {
                stats.handler_errors += 1;
                deny
            }
            Err(_) => {
                stats.panics += 1;
                Verdict::Errno(Errno::EPERM)
            }
        };
        let verdict = match verdict {
            // The responder answers; the reactor's part is done.
            Verdict::Deferred if ctx.deferred() => {
                stats.deferred += 1;
                return;
            }
            Verdict::Deferred => {
                stats.handler_errors += 1;
                Verdict::Errno(Errno::EPERM)
            }
            Verdict::Continue if ctx.memory_touched() => {
                stats.continue_refused += 1;
                Verdict::Errno(Errno::EPERM)
            }
            v => v,
        };
        // What was read may have come from a process that reused the pid: answer only if the
        // caller is provably still the one that made the call.
        if ctx.has_unchecked_reads() && ctx.check_valid().is_err() {
            stats.died_before_answer += 1;
            return;
        }
        verdict
    } else {
        stats.unhandled += 1;
        deny
    };
    respond(sandbox, listener, stats, notif, verdict, config, out);
}

fn respond(
    sandbox: SandboxId,
    listener: &NotifFd,
    stats: &mut SandboxStats,
    notif: SeccompNotif,
    verdict: Verdict,
    config: &ReactorConfig,
    out: &mut Vec<ReactorEvent>,
) {
    let verdict = match verdict {
        Verdict::Kill => {
            stats.kill_requested += 1;
            out.push(ReactorEvent::KillRequested {
                sandbox,
                pid: notif.pid,
            });
            Verdict::Errno(Errno::EPERM)
        }
        v => v,
    };
    match send_verdict(listener, notif.id, verdict, config.addfd_send) {
        Outcome::Answered => stats.answered += 1,
        Outcome::Gone => stats.died_before_answer += 1,
        Outcome::SendFailed(_) => stats.send_errors += 1,
        Outcome::InjectFailed => {
            stats.inject_failed += 1;
            stats.answered += 1;
        }
        Outcome::Invalid => {
            stats.handler_errors += 1;
            stats.answered += 1;
        }
    }
}

//! The supervisor thread: one [`Reactor`] that serves the seccomp listeners of every sandbox
//! of this process whose policy notifies system calls.
//!
//! It starts with the first such sandbox and serves all later ones; a sandbox is registered
//! with its listener, a factory for its [`HandlerTable`] (handlers capture per-sandbox state
//! and need not be `Send`, so they are built on the supervisor thread), and a pidfd of its
//! init process, used when a handler asks for the sandbox to be killed. A sandbox leaves when
//! its listener hangs up (every process using the filter is gone). Sandboxes whose policy
//! notifies nothing never start the thread.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, ReactorEvent, SandboxId, Waker};
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::pidfd::PidFd;
use sandlock_sys::seccomp::NotifFd;

/// Builds a sandbox's handler table on the supervisor thread.
pub(crate) type HandlerFactory = Box<dyn FnOnce() -> HandlerTable + Send>;

struct Registration {
    listener: NotifFd,
    handlers: HandlerFactory,
    init: PidFd,
}

struct SupervisorThread {
    requests: Sender<Registration>,
    waker: Waker,
}

static SUPERVISOR: Mutex<Option<SupervisorThread>> = Mutex::new(None);

/// Why a sandbox could not be handed to the supervisor thread.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuperviseError {
    /// The thread or its reactor could not be started.
    #[error("cannot start the supervisor thread: {0}")]
    Start(String),
    /// The thread is gone.
    #[error("the supervisor thread has stopped")]
    Stopped,
}

/// Hands a sandbox's listener to the supervisor thread, starting it if needed.
pub(crate) fn register(
    listener: NotifFd,
    handlers: HandlerFactory,
    init: PidFd,
) -> Result<(), SuperviseError> {
    let mut guard = SUPERVISOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard.is_none() {
        *guard = Some(start()?);
    }
    let sup = guard.as_ref().ok_or(SuperviseError::Stopped)?;
    let registration = Registration {
        listener,
        handlers,
        init,
    };
    if sup.requests.send(registration).is_err() || sup.waker.wake().is_err() {
        *guard = None;
        return Err(SuperviseError::Stopped);
    }
    Ok(())
}

fn start() -> Result<SupervisorThread, SuperviseError> {
    let (requests, incoming) = channel();
    let (ready_tx, ready_rx) = channel();
    std::thread::Builder::new()
        .name("sandlock-supervisor".to_owned())
        .spawn(move || {
            // The reactor is not Send: it is made here, on its own thread.
            let config = ReactorConfig::from_features(KernelFeatures::get_without_child());
            match Reactor::new(config) {
                Ok(reactor) => {
                    let _ = ready_tx.send(Ok(reactor.waker()));
                    serve(reactor, &incoming);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        })
        .map_err(|e| SuperviseError::Start(e.to_string()))?;
    let waker = ready_rx
        .recv()
        .map_err(|_| SuperviseError::Start("the thread exited".to_owned()))?
        .map_err(SuperviseError::Start)?;
    Ok(SupervisorThread { requests, waker })
}

/// The supervisor thread's loop. It only ends when the process does.
fn serve(mut reactor: Reactor, incoming: &Receiver<Registration>) {
    let mut inits: HashMap<SandboxId, PidFd> = HashMap::new();
    loop {
        let events = match reactor.run_once(None) {
            Ok(events) => events,
            // A failing epoll wait would spin; the notified processes then wait, which is
            // closed, not open. Nothing better can be done from here.
            Err(_) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        for event in events {
            match event {
                ReactorEvent::Woken => {
                    while let Ok(r) = incoming.try_recv() {
                        match reactor.add_sandbox(r.listener, (r.handlers)()) {
                            Ok(id) => {
                                inits.insert(id, r.init);
                            }
                            // Unservable: its notified calls would wait forever. Kill it.
                            Err(_) => {
                                let _ = r.init.send_signal(libc::SIGTERM);
                            }
                        }
                    }
                }
                // Every process using the filter is gone: the sandbox is over.
                ReactorEvent::ListenerClosed { sandbox } => {
                    reactor.remove_sandbox(sandbox);
                    inits.remove(&sandbox);
                }
                // A failed listener would leave its callers unanswered: end the sandbox.
                ReactorEvent::ListenerFailed { sandbox, .. } => {
                    reactor.remove_sandbox(sandbox);
                    if let Some(init) = inits.remove(&sandbox) {
                        let _ = init.send_signal(libc::SIGTERM);
                    }
                }
                ReactorEvent::KillRequested { sandbox, .. } => {
                    if let Some(init) = inits.get(&sandbox) {
                        let _ = init.send_signal(libc::SIGTERM);
                    }
                }
                _ => {}
            }
        }
    }
}

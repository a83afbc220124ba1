//! Events other than notifications: process exit, listener hang-up, the waker, and removal of
//! a sandbox with a call pending.
#![forbid(unsafe_code)]

mod util;

use std::fs::File;
use std::io::Write;
use std::os::unix::process::parent_id;

use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, ReactorEvent, RegisterError, Verdict};
use sandlock_sys::Errno;
use sandlock_sys::pidfd::{PidFd, WaitStatus};
use sandlock_sys::seccomp::NotifFd;
use util::nr;

#[test]
fn process_exit_and_listener_hangup() {
    const TEST: &str = "process_exit_and_listener_hangup";
    if util::in_child(TEST) {
        util::child_install_filter(&[nr("getppid")]);
        assert_eq!(parent_id(), 5);
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let spawned = util::spawn_child(TEST, &[]);
    let handlers = HandlerTable::new().on(nr("getppid"), |_| Ok(Verdict::Return(5)));
    let id = reactor.add_sandbox(spawned.listener, handlers).unwrap();
    reactor.watch_process(id, spawned.pidfd, 7).unwrap();
    let (mut closed, mut exited): (bool, Option<PidFd>) = (false, None);
    while !closed || exited.is_none() {
        for event in reactor.run_once(None).unwrap() {
            match event {
                ReactorEvent::ListenerClosed { sandbox } => {
                    assert_eq!(sandbox, id);
                    closed = true;
                }
                ReactorEvent::ProcessExited {
                    sandbox,
                    token,
                    pidfd,
                } => {
                    assert_eq!((sandbox, token), (id, 7));
                    exited = Some(pidfd);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    // The pidfd came back; reap through it.
    assert_eq!(
        exited.unwrap().wait(libc::WEXITED).unwrap(),
        WaitStatus::Exited(0)
    );
    assert!(!reactor.listener_open(id));
    let removed = reactor.remove_sandbox(id).unwrap();
    assert!(removed.watched.is_empty());
    assert_eq!(removed.stats.answered, 1);
    assert!(reactor.remove_sandbox(id).is_none());
    let mut child = spawned.child;
    drop(child.wait());
}

#[test]
fn removed_sandbox_keeps_its_watched_pidfds() {
    const TEST: &str = "removed_sandbox_keeps_its_watched_pidfds";
    if util::in_child(TEST) {
        util::child_install_filter(&[nr("openat")]);
        // The parent removes the sandbox while this call is pending: the kernel fails it.
        let e = File::open("/dev/null").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSYS), "{e}");
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let spawned = util::spawn_child(TEST, &[]);
    // Wait until the child's openat is pending, then register and remove without serving it.
    assert_eq!(
        sandlock_sys::poll::wait_readable(&spawned.listener, None),
        Ok(true)
    );
    let id = reactor
        .add_sandbox(spawned.listener, HandlerTable::new())
        .unwrap();
    reactor.watch_process(id, spawned.pidfd, 1).unwrap();
    let removed = reactor.remove_sandbox(id).unwrap();
    assert_eq!(removed.stats.received, 0);
    let [(token, pidfd)] = <[_; 1]>::try_from(removed.watched).unwrap();
    assert_eq!(token, 1);
    assert_eq!(pidfd.wait(libc::WEXITED).unwrap(), WaitStatus::Exited(0));
    assert!(reactor.is_empty());
    let mut child = spawned.child;
    drop(child.wait());
}

#[test]
fn a_failing_listener_is_closed_and_contained() {
    const TEST: &str = "a_failing_listener_is_closed_and_contained";
    if util::in_child(TEST) {
        util::child_install_filter(&[nr("getppid")]);
        assert_eq!(parent_id(), 9);
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    // Not a listener: a readable pipe, on which NOTIF_RECV fails with ENOTTY.
    let (r, mut w) = std::io::pipe().unwrap();
    w.write_all(b"x").unwrap();
    let bogus = reactor
        .add_sandbox(NotifFd::new(r.into()), HandlerTable::new())
        .unwrap();
    let spawned = util::spawn_child(TEST, &[]);
    let handlers = HandlerTable::new().on(nr("getppid"), |_| Ok(Verdict::Return(9)));
    let good = reactor.add_sandbox(spawned.listener, handlers).unwrap();
    let events = util::run_until_closed(&mut reactor, &[good]);
    assert!(
        matches!(events.as_slice(),
            [ReactorEvent::ListenerFailed { sandbox, error }]
                if *sandbox == bogus && *error == Errno::ENOTTY),
        "{events:?}"
    );
    assert!(!reactor.listener_open(bogus));
    assert_eq!(reactor.stats(good).unwrap().answered, 1);
    let mut child = spawned.child;
    util::assert_success(child.wait().unwrap(), TEST);
}

#[test]
fn waker_interrupts_from_another_thread() {
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let waker = reactor.waker();
    std::thread::spawn(move || waker.wake().unwrap())
        .join()
        .unwrap();
    let events = reactor.run_once(None).unwrap();
    assert!(
        matches!(events.as_slice(), [ReactorEvent::Woken]),
        "{events:?}"
    );
    // Nothing else is pending now.
    let events = reactor.run_once(Some(std::time::Duration::ZERO)).unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn watching_for_an_unknown_sandbox_fails() {
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();
    let me = PidFd::open(std::process::id() as libc::pid_t, 0).unwrap();
    // Get an id that existed once: add and remove a sandbox with a throwaway listener.
    let spawned = util::spawn_child("process_exit_and_listener_hangup", &[]);
    let handlers = HandlerTable::new().on(nr("getppid"), |_| Ok(Verdict::Return(5)));
    let id = reactor.add_sandbox(spawned.listener, handlers).unwrap();
    util::run_until_closed(&mut reactor, &[id]);
    reactor.remove_sandbox(id).unwrap();
    let e = reactor.watch_process(id, me, 0).unwrap_err();
    assert!(
        matches!(e, RegisterError::UnknownSandbox(s) if s == id),
        "{e}"
    );
    let mut child = spawned.child;
    util::assert_success(child.wait().unwrap(), "helper child");
}

//! A caller killed while its notification is pending: the answer finds nobody, which is
//! counted, and the reactor goes on serving others.
#![forbid(unsafe_code)]

mod util;

use std::fs::File;
use std::os::unix::process::{ExitStatusExt, parent_id};
use std::rc::Rc;

use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, Verdict};
use sandlock_sys::pidfd::PidFd;
use util::nr;

/// Kills the child and waits until it is gone (without reaping it), so that the kernel has
/// dropped its notification before the handler returns.
fn kill_and_wait(pidfd: &PidFd) {
    pidfd.send_signal(libc::SIGKILL).unwrap();
    pidfd.wait(libc::WEXITED | libc::WNOWAIT).unwrap();
}

#[test]
fn caller_killed_while_pending() {
    const TEST: &str = "caller_killed_while_pending";
    if util::in_child(TEST) {
        let role = util::param("ROLE");
        util::child_install_filter(&[nr("getppid"), nr("openat")]);
        match role.as_str() {
            // Both victims are killed inside the call; reaching the exit is a failure.
            "victim-getppid" => {
                let _ = parent_id();
                std::process::exit(3);
            }
            "victim-openat" => {
                let _ = File::open("/dev/null");
                std::process::exit(3);
            }
            _ => assert_eq!(parent_id(), 77),
        }
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let mut reactor = Reactor::new(ReactorConfig::default()).unwrap();

    // Victim 1: killed in getppid, with no memory read: SEND gets ENOENT.
    let v1 = util::spawn_child(TEST, &[("ROLE", "victim-getppid".into())]);
    let pidfd = Rc::new(v1.pidfd);
    let handler_pidfd = Rc::clone(&pidfd);
    let handlers = HandlerTable::new().on(nr("getppid"), move |_| {
        kill_and_wait(&handler_pidfd);
        Ok(Verdict::Return(1))
    });
    let id1 = reactor.add_sandbox(v1.listener, handlers).unwrap();

    // Victim 2: killed in openat after its path was read: ID_VALID fails, nothing is sent.
    let v2 = util::spawn_child(TEST, &[("ROLE", "victim-openat".into())]);
    let pidfd2 = v2.pidfd;
    let handlers = HandlerTable::new().on(nr("openat"), move |ctx| {
        let path = ctx.read_cstr(ctx.args()[1], 4096)?;
        assert_eq!(path, b"/dev/null");
        kill_and_wait(&pidfd2);
        Ok(Verdict::Return(1))
    });
    let id2 = reactor.add_sandbox(v2.listener, handlers).unwrap();

    util::run_until_closed(&mut reactor, &[id1, id2]);
    for (mut child, id) in [(v1.child, id1), (v2.child, id2)] {
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{id}: {status}");
        let stats = reactor.stats(id).unwrap();
        assert_eq!(
            (stats.received, stats.answered, stats.died_before_answer),
            (1, 0, 1),
            "{id}"
        );
        assert_eq!(
            stats.send_errors + stats.handler_errors + stats.panics,
            0,
            "{stats:?}"
        );
    }
    drop(pidfd);

    // The reactor still serves a new sandbox.
    let survivor = util::spawn_child(TEST, &[("ROLE", "survivor".into())]);
    let handlers = HandlerTable::new().on(nr("getppid"), |_| Ok(Verdict::Return(77)));
    let id3 = reactor.add_sandbox(survivor.listener, handlers).unwrap();
    util::run_until_closed(&mut reactor, &[id3]);
    let mut child = survivor.child;
    util::assert_success(child.wait().unwrap(), "survivor");
    assert_eq!(reactor.stats(id3).unwrap().answered, 1);
}

//! Each kind of verdict, as the sandboxed child sees it.
#![forbid(unsafe_code)]

mod util;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use sandlock_notif::{HandlerTable, ReactorConfig, ReactorEvent, Verdict};
use sandlock_sys::Errno;
use util::nr;

const MAX_PATH: usize = 4096;

#[test]
fn getppid_answered_with_a_return_value() {
    const TEST: &str = "getppid_answered_with_a_return_value";
    if util::in_child(TEST) {
        util::child_install_filter(&[nr("getppid")]);
        assert_eq!(std::os::unix::process::parent_id(), 4242);
        assert_eq!(std::os::unix::process::parent_id(), 4242);
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let handlers = HandlerTable::new().on(nr("getppid"), |ctx| {
        assert_eq!(ctx.nr() as u32, nr("getppid"));
        assert_eq!(ctx.arch(), sandlock_sys::Arch::NATIVE.audit_arch());
        Ok(Verdict::Return(4242))
    });
    let (stats, events) = util::serve_child(TEST, &[], ReactorConfig::default(), handlers);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(
        (stats.received, stats.answered, stats.died_before_answer),
        (2, 2, 0)
    );
}

/// The child opens three paths; the parent reads each path from the child's memory and denies
/// one, injects /dev/null for another, and says ENOENT to the rest.
fn openat_paths(test: &str, addfd_send: bool) {
    if util::in_child(test) {
        util::child_install_filter(&[nr("openat")]);
        let denied = File::open("/etc/hostname").unwrap_err();
        assert_eq!(denied.raw_os_error(), Some(libc::EACCES), "{denied}");
        let missing = File::open("/no/such/file").unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ENOENT), "{missing}");
        let mut injected = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/sandlock/injected")
            .unwrap();
        let meta = injected.metadata().unwrap();
        let null = std::fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device());
        assert_eq!(meta.rdev(), null.rdev(), "the injected fd is /dev/null");
        injected
            .write_all(b"written through the injected fd")
            .unwrap();
        let mut rest = Vec::new();
        assert_eq!(injected.read_to_end(&mut rest).unwrap(), 0);
        return;
    }
    if !util::user_notif_available() || (addfd_send && !util::addfd_send_available()) {
        return;
    }
    let handlers = HandlerTable::new().on(nr("openat"), |ctx| {
        let path = ctx.read_cstr(ctx.args()[1], MAX_PATH)?;
        Ok(match path.as_slice() {
            b"/etc/hostname" => Verdict::Errno(Errno::EACCES),
            b"/sandlock/injected" => {
                ctx.check_valid()?;
                let null = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")?;
                Verdict::InjectFd {
                    fd: null.into(),
                    cloexec: true,
                }
            }
            _ => Verdict::Errno(Errno::ENOENT),
        })
    });
    let config = ReactorConfig::default().with_addfd_send(addfd_send);
    let (stats, events) = util::serve_child(test, &[], config, handlers);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((stats.received, stats.answered), (3, 3), "{stats:?}");
    assert_eq!(
        stats.inject_failed + stats.handler_errors + stats.died_before_answer,
        0
    );
}

#[test]
fn openat_deny_and_inject_with_addfd_send() {
    openat_paths("openat_deny_and_inject_with_addfd_send", true);
}

#[test]
fn openat_deny_and_inject_with_addfd_then_send() {
    openat_paths("openat_deny_and_inject_with_addfd_then_send", false);
}

#[test]
fn continue_without_memory_access_runs_the_call() {
    const TEST: &str = "continue_without_memory_access_runs_the_call";
    if util::in_child(TEST) {
        util::child_install_filter(&[nr("openat")]);
        let meta = File::open("/dev/null").unwrap().metadata().unwrap();
        assert!(meta.file_type().is_char_device());
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let handlers = HandlerTable::new().on(nr("openat"), |_| Ok(Verdict::Continue));
    let (stats, _) = util::serve_child(TEST, &[], ReactorConfig::default(), handlers);
    assert_eq!(
        (stats.answered, stats.continue_refused),
        (1, 0),
        "{stats:?}"
    );
}

#[test]
fn kill_verdict_is_reported_and_answered_eperm() {
    const TEST: &str = "kill_verdict_is_reported_and_answered_eperm";
    if util::in_child(TEST) {
        util::child_install_filter(&[nr("openat")]);
        let e = File::open("/dev/null").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let handlers = HandlerTable::new().on(nr("openat"), |_| Ok(Verdict::Kill));
    let (stats, events) = util::serve_child(TEST, &[], ReactorConfig::default(), handlers);
    assert_eq!((stats.answered, stats.kill_requested), (1, 1), "{stats:?}");
    assert!(
        matches!(events.as_slice(), [ReactorEvent::KillRequested { .. }]),
        "{events:?}"
    );
}

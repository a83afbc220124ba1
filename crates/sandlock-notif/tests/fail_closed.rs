//! Whatever goes wrong in a handler, the child gets EPERM and the reactor carries on.
#![forbid(unsafe_code)]

mod util;

use std::fs::File;

use sandlock_notif::{HandlerError, HandlerTable, ReactorConfig, SandboxStats, Verdict};
use sandlock_sys::Errno;
use util::nr;

/// Child: every openat must fail with EPERM. Parent: serve with `handlers`, return counters.
fn openat_gets_eperm(test: &str, handlers: impl FnOnce() -> HandlerTable) -> Option<SandboxStats> {
    if util::in_child(test) {
        util::child_install_filter(&[nr("openat"), nr("getppid")]);
        for path in ["/dev/null", "/etc/hostname"] {
            let e = File::open(path).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{path}: {e}");
        }
        return None;
    }
    if !util::user_notif_available() {
        return None;
    }
    let (stats, events) = util::serve_child(test, &[], ReactorConfig::default(), handlers());
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((stats.received, stats.answered), (2, 2), "{stats:?}");
    Some(stats)
}

#[test]
fn panicking_handler() {
    let stats = openat_gets_eperm("panicking_handler", || {
        HandlerTable::new().on(nr("openat"), |_| panic!("handler panics on purpose"))
    });
    if let Some(stats) = stats {
        assert_eq!(stats.panics, 2, "{stats:?}");
    }
}

#[test]
fn failing_handler() {
    let stats = openat_gets_eperm("failing_handler", || {
        HandlerTable::new().on(nr("openat"), |_| Err(HandlerError::Sys(Errno::EIO)))
    });
    if let Some(stats) = stats {
        assert_eq!(stats.handler_errors, 2, "{stats:?}");
    }
}

#[test]
fn continue_after_a_memory_read() {
    let stats = openat_gets_eperm("continue_after_a_memory_read", || {
        HandlerTable::new().on(nr("openat"), |ctx| {
            let path = ctx.read_cstr(ctx.args()[1], 4096)?;
            assert!(path.starts_with(b"/"));
            Ok(Verdict::Continue)
        })
    });
    if let Some(stats) = stats {
        assert_eq!(stats.continue_refused, 2, "{stats:?}");
    }
}

#[test]
fn unhandled_call() {
    let stats = openat_gets_eperm("unhandled_call", || {
        HandlerTable::new().on(nr("getppid"), |_| Ok(Verdict::Return(1)))
    });
    if let Some(stats) = stats {
        assert_eq!(stats.unhandled, 2, "{stats:?}");
    }
}

#[test]
fn out_of_range_errno() {
    let stats = openat_gets_eperm("out_of_range_errno", || {
        let mut calls = 0;
        HandlerTable::new().on(nr("openat"), move |_| {
            calls += 1;
            Ok(Verdict::Errno(Errno::from_raw(if calls == 1 {
                0
            } else {
                5000
            })))
        })
    });
    if let Some(stats) = stats {
        assert_eq!(stats.handler_errors, 2, "{stats:?}");
    }
}

#[test]
fn unreadable_memory() {
    // The child passes a valid path; the handler reads from address 0 instead.
    let stats = openat_gets_eperm("unreadable_memory", || {
        HandlerTable::new().on(nr("openat"), |ctx| {
            let e = ctx.read_cstr(0, 4096).unwrap_err();
            assert_eq!(e.errno(), Errno::EFAULT, "{e}");
            Err(e.into())
        })
    });
    if let Some(stats) = stats {
        assert_eq!(stats.handler_errors, 2, "{stats:?}");
    }
}

//! Shared helpers of the kernel tests: re-exec'd children that install a notifying filter and
//! hand their listener back, and a loop that drives the reactor.
#![allow(dead_code, unreachable_pub)]

pub mod filter;

use std::os::fd::AsFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sandlock_notif::{Reactor, ReactorEvent, SandboxId};
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::flags::FilterFlags;
use sandlock_sys::pidfd::PidFd;
use sandlock_sys::seccomp::{self, NotifFd};
use sandlock_sys::{Arch, process, scm};

/// Set in a re-exec'd child to the name of the test whose child part it runs.
const CHILD_ENV: &str = "SANDLOCK_NOTIF_TEST_CHILD";

/// Not a time limit on the test's speed: a guard that turns a hang into a failure.
const HANG_GUARD: Duration = Duration::from_secs(600);

/// Native number of a system call.
pub fn nr(name: &str) -> u32 {
    Arch::NATIVE.syscall_nr(name).expect("known syscall")
}

/// Whether this process is the child of test `test`.
pub fn in_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == test)
}

/// A parameter passed to the child.
pub fn param(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("child parameter {name} missing"))
}

/// Whether the kernel supports what the test needs; prints `skipped: needs X` when not, and
/// fails instead when `SANDLOCK_TEST_REQUIRE=all`.
pub fn require(what: &str, available: bool) -> bool {
    if !available {
        if std::env::var("SANDLOCK_TEST_REQUIRE").is_ok_and(|v| v == "all") {
            panic!("required kernel feature missing: {what}");
        }
        println!("skipped: needs {what}");
    }
    available
}

/// Seccomp user notification (5.0) is usable.
pub fn user_notif_available() -> bool {
    require(
        "seccomp user notification",
        KernelFeatures::get().user_notif.is_available(),
    )
}

/// `SECCOMP_ADDFD_FLAG_SEND` (5.14) is usable.
pub fn addfd_send_available() -> bool {
    require(
        "SECCOMP_ADDFD_FLAG_SEND",
        KernelFeatures::get().addfd_send.is_available(),
    )
}

/// Child side: installs a filter notifying `notified`, sends the listener to the parent over
/// stdin and closes it. Every call in `notified` blocks from here on until the parent answers.
pub fn child_install_filter(notified: &[u32]) {
    process::set_no_new_privs().expect("no_new_privs");
    let prog = filter::notify(notified);
    let listener = seccomp::install_filter(&prog, FilterFlags::NEW_LISTENER)
        .expect("install filter")
        .expect("a listener");
    scm::send_with_fd(std::io::stdin().as_fd(), b"L", Some(&listener)).expect("send listener");
}

/// A running child and the listener of its filter.
pub struct Spawned {
    pub child: Child,
    pub listener: NotifFd,
    pub pidfd: PidFd,
}

impl Spawned {
    /// Waits for the child and returns how it ended.
    pub fn wait(mut self) -> ExitStatus {
        self.child.wait().expect("wait for child")
    }
}

/// Re-executes this test binary to run the child part of `test`, with extra environment
/// `env`, and receives its listener.
pub fn spawn_child(test: &str, env: &[(&str, String)]) -> Spawned {
    let (parent_end, child_end) = scm::seqpacket_pair().expect("socketpair");
    let child = Command::new(std::env::current_exe().expect("current_exe"))
        .args([
            test,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_ENV, test)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::from(child_end))
        .spawn()
        .expect("spawn child");
    let pidfd = PidFd::open(child.id() as libc::pid_t, 0).expect("pidfd_open");
    let mut buf = [0u8; 8];
    let (n, fd) = scm::recv_with_fd(&parent_end, &mut buf).expect("recv listener");
    let fd = fd.unwrap_or_else(|| {
        panic!(
            "child sent no listener ({n} bytes: {:?})",
            String::from_utf8_lossy(&buf[..n])
        )
    });
    Spawned {
        child,
        listener: NotifFd::new(fd),
        pidfd,
    }
}

/// Runs the reactor until every sandbox in `ids` reported `ListenerClosed`; returns the other
/// events in order.
pub fn run_until_closed(reactor: &mut Reactor, ids: &[SandboxId]) -> Vec<ReactorEvent> {
    let mut open: Vec<SandboxId> = ids.to_vec();
    let mut other = Vec::new();
    let start = Instant::now();
    while !open.is_empty() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "hang: listeners {open:?} still open"
        );
        for event in reactor
            .run_once(Some(Duration::from_secs(1)))
            .expect("run_once")
        {
            match event {
                ReactorEvent::ListenerClosed { sandbox } if open.contains(&sandbox) => {
                    open.retain(|&s| s != sandbox);
                }
                e => other.push(e),
            }
        }
    }
    other
}

/// Asserts that a child exited with status 0.
pub fn assert_success(status: ExitStatus, what: &str) {
    assert!(status.success(), "{what}: child ended with {status}");
}

/// Spawns the child of `test`, serves it with `handlers` until its listener closes, checks that
/// it exited 0, and returns its counters and the other events.
pub fn serve_child(
    test: &str,
    env: &[(&str, String)],
    config: sandlock_notif::ReactorConfig,
    handlers: sandlock_notif::HandlerTable,
) -> (sandlock_notif::SandboxStats, Vec<ReactorEvent>) {
    let mut reactor = Reactor::new(config).expect("reactor");
    let Spawned {
        mut child,
        listener,
        pidfd: _,
    } = spawn_child(test, env);
    let id = reactor
        .add_sandbox(listener, handlers)
        .expect("add_sandbox");
    let events = run_until_closed(&mut reactor, &[id]);
    assert_success(child.wait().expect("wait"), test);
    (reactor.stats(id).expect("stats"), events)
}

//! Kernel tests of `KernelFeatures`: the probe on this kernel, caching, side effects and the
//! `SANDLOCK_FAKE_FEATURES` override.

mod util;

use sandlock_sys::features::{Availability, FAKE_FEATURES_ENV, KernelFeatures};
#[cfg(target_arch = "x86_64")]
use sandlock_sys::structs::SockFilter;

#[test]
fn probe_reports_this_kernel() {
    let f = KernelFeatures::probe();
    println!("probed features:\n{f}");

    // Consistency that holds on any kernel.
    assert_eq!(f.landlock.is_available(), f.landlock_abi > 0, "{f}");
    for (name, dependent) in [
        ("new-listener", f.new_listener),
        ("wait-killable", f.wait_killable_recv),
        ("addfd", f.addfd),
        ("sync-wake-up", f.sync_wake_up),
    ] {
        assert!(
            !dependent.is_available() || f.user_notif.is_available(),
            "{name}: {f}"
        );
    }
    assert!(
        !f.addfd_send.is_available() || f.addfd.is_available(),
        "{f}"
    );
    for (name, a) in f.entries() {
        assert_ne!(
            a,
            Availability::FakedOff,
            "{name}: probe() ignores {FAKE_FEATURES_ENV}"
        );
    }

    // Without a filter on this process, the kernel's own lists must agree with the probe.
    if !f.under_seccomp_filter {
        if let Ok(actions) = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
            let listed = actions.split_whitespace().any(|a| a == "user_notif");
            assert_eq!(
                f.user_notif.is_available(),
                listed,
                "actions_avail: {actions}"
            );
        }
        if let Ok(lsm) = std::fs::read_to_string("/sys/kernel/security/lsm") {
            let listed = lsm.split(',').any(|m| m.trim() == "landlock");
            assert_eq!(f.landlock.is_available(), listed, "lsm: {lsm}");
        }
    }

    if util::require_all() {
        for (name, a) in f.entries() {
            match name {
                // Foreign ABIs are risks, not requirements: only ask for a definite answer.
                "x32" | "ia32" => assert!(!matches!(a, Availability::Unknown(_)), "{name}: {a}"),
                _ => assert!(a.is_available(), "SANDLOCK_TEST_REQUIRE=all: {name} is {a}"),
            }
        }
    }
}

#[test]
fn get_probes_once() {
    let first = KernelFeatures::get();
    assert!(std::ptr::eq(first, KernelFeatures::get()));
    if std::env::var_os(FAKE_FEATURES_ENV).is_none() {
        assert_eq!(*first, KernelFeatures::probe());
    }
}

const NO_TRACE: &str = "probe-leaves-no-trace";

/// The probe installs nothing on the caller, keeps no fd and leaves no child behind. It runs in
/// a child so no other test opens fds meanwhile.
#[test]
fn probe_leaves_no_trace() {
    if !util::is_child(NO_TRACE) {
        util::run_child("probe_leaves_no_trace", NO_TRACE, |_| {});
        return;
    }
    let seccomp = util::proc_status("Seccomp");
    let filters = util::proc_status("Seccomp_filters");
    let nnp = sandlock_sys::process::no_new_privs().expect("PR_GET_NO_NEW_PRIVS");
    let fds = util::open_fds();

    let f = KernelFeatures::probe();
    println!("{f}");

    assert_eq!(util::open_fds(), fds, "the probe leaked an fd");
    assert_eq!(
        util::proc_status("Seccomp"),
        seccomp,
        "the probe filtered the caller"
    );
    assert_eq!(util::proc_status("Seccomp_filters"), filters);
    assert_eq!(
        sandlock_sys::process::no_new_privs(),
        Ok(nnp),
        "the probe set no_new_privs"
    );
    assert_eq!(f.under_seccomp_filter, seccomp != "0");
    // The probe child was reaped: this process has no children left.
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    for task in tasks {
        let children = task.expect("task").path().join("children");
        if let Ok(children) = std::fs::read_to_string(&children) {
            assert_eq!(children.trim(), "", "{}", children);
        }
    }
}

const FAKED: &str = "fake-features-env";

#[test]
fn fake_features_env_downgrades() {
    if !util::is_child(FAKED) {
        util::run_child("fake_features_env_downgrades", FAKED, |cmd| {
            cmd.env(
                FAKE_FEATURES_ENV,
                "no-wait-killable,no-addfd-send,no-pidfd-getfd,landlock=3",
            );
        });
        return;
    }
    let real = KernelFeatures::probe();
    let got = KernelFeatures::get();
    if !cfg!(debug_assertions) {
        assert_eq!(*got, real, "release builds ignore {FAKE_FEATURES_ENV}");
        return;
    }
    let faked = |real: Availability| {
        if real.is_available() {
            Availability::FakedOff
        } else {
            real
        }
    };
    assert_eq!(got.wait_killable_recv, faked(real.wait_killable_recv));
    assert_eq!(got.addfd_send, faked(real.addfd_send));
    assert_eq!(got.pidfd_getfd, faked(real.pidfd_getfd));
    assert_eq!(got.landlock_abi, real.landlock_abi.min(3));
    assert_eq!(got.landlock, real.landlock);
    assert_eq!(
        (got.addfd, got.pidfd_open, got.clone3),
        (real.addfd, real.pidfd_open, real.clone3)
    );
}

const FAKED_BADLY: &str = "fake-features-env-typo";

/// A typo in the override fails loudly instead of testing the wrong thing.
#[test]
fn fake_features_env_rejects_typos() {
    if util::is_child(FAKED_BADLY) {
        let _ = KernelFeatures::get();
        return;
    }
    if !cfg!(debug_assertions) {
        println!("skipped: {FAKE_FEATURES_ENV} is ignored in release builds");
        return;
    }
    let out = util::child_command("fake_features_env_rejects_typos", FAKED_BADLY)
        .env(FAKE_FEATURES_ENV, "no-addfd,no-wait-killabel")
        .output()
        .expect("spawn the test child");
    // The panic message goes to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a bad {FAKE_FEATURES_ENV} was accepted"
    );
    assert!(stderr.contains("no-wait-killabel"), "{stderr}");
    assert!(stderr.contains("unknown feature"), "{stderr}");
}

const UNDER_FILTER: &str = "probe-under-a-filter";

/// A filter that kills i386 calls, fakes `ENOSYS` for clone3 and pidfd_open and `EPERM` for
/// close_range; installed with a listener of its own so the chain cannot take another.
#[cfg(target_arch = "x86_64")]
fn lying_filter() -> Vec<SockFilter> {
    use sandlock_sys::flags::ret;
    use sandlock_sys::syscalls::AUDIT_ARCH_X86_64;
    let insn = |code: u16, jt: u8, jf: u8, k: u32| SockFilter { code, jt, jf, k };
    const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    const NR: u32 = 0; // offsetof(struct seccomp_data, nr)
    const ARCH: u32 = 4; // offsetof(struct seccomp_data, arch)
    vec![
        insn(LD, 0, 0, ARCH),
        insn(JEQ, 1, 0, AUDIT_ARCH_X86_64),
        insn(RET, 0, 0, ret::KILL_PROCESS),
        insn(LD, 0, 0, NR),
        insn(JEQ, 3, 0, libc::SYS_clone3 as u32),
        insn(JEQ, 2, 0, libc::SYS_pidfd_open as u32),
        insn(JEQ, 2, 0, libc::SYS_close_range as u32),
        insn(RET, 0, 0, ret::ALLOW),
        insn(RET, 0, 0, ret::ERRNO | libc::ENOSYS as u32),
        insn(RET, 0, 0, ret::ERRNO | libc::EPERM as u32),
    ]
}

/// Under a filter that lies, the probe reports "blocked", not "missing", and the listener
/// features are blocked by the chain's existing listener.
#[cfg(target_arch = "x86_64")]
#[test]
fn probe_under_a_filter() {
    use sandlock_sys::flags::FilterFlags;
    use sandlock_sys::{Errno, process, seccomp};

    if !util::is_child(UNDER_FILTER) {
        if util::have(KernelFeatures::get().new_listener, "seccomp NEW_LISTENER") {
            util::run_child("probe_under_a_filter", UNDER_FILTER, |_| {});
        }
        return;
    }
    let real = KernelFeatures::probe();
    process::set_no_new_privs().expect("no_new_privs");
    // This re-executed child runs this test alone, on this thread, which the probe forks from.
    let _listener = seccomp::install_filter(&lying_filter(), FilterFlags::NEW_LISTENER)
        .expect("install the lying filter");
    let f = KernelFeatures::probe();
    println!("under a lying filter:\n{f}");

    assert!(f.under_seccomp_filter);
    let blocked = |real: Availability, errno| {
        if real.is_available() {
            Availability::Blocked(errno)
        } else {
            real
        }
    };
    assert_eq!(f.clone3, blocked(real.clone3, Errno::ENOSYS));
    assert_eq!(f.pidfd_open, blocked(real.pidfd_open, Errno::ENOSYS));
    assert_eq!(f.close_range, blocked(real.close_range, Errno::EPERM));
    for a in [
        f.new_listener,
        f.wait_killable_recv,
        f.addfd,
        f.addfd_send,
        f.sync_wake_up,
    ] {
        assert_eq!(a, Availability::Blocked(Errno::EBUSY));
    }
    // Not filtered: still found, pidfd_getfd through its pidfd-less probe.
    assert_eq!(f.user_notif, real.user_notif);
    assert_eq!(
        (f.landlock, f.landlock_abi),
        (real.landlock, real.landlock_abi)
    );
    assert_eq!(f.pidfd_getfd, real.pidfd_getfd);
    // The probe child dies in `int 0x80`, by the filter's hand.
    if real.ia32.is_available() {
        assert_eq!(f.ia32, Availability::Killed(libc::SIGSYS));
    }
    // ENOSYS for x32 under a filter has no second signal.
    if !real.x32.is_available() {
        assert_eq!(f.x32, Availability::Unknown(Errno::ENOSYS));
    }
}

#[test]
fn without_the_child_agrees_with_the_full_probe() {
    let full = KernelFeatures::get();
    let quick = KernelFeatures::get_without_child();
    assert_eq!(quick.landlock, full.landlock);
    assert_eq!(quick.landlock_abi, full.landlock_abi);
    assert_eq!(quick.user_notif, full.user_notif);
    // Without the child, a listener refused with EBUSY (nesting) cannot be seen; otherwise
    // both agree.
    if full.new_listener.is_available() {
        assert_eq!(quick.new_listener, full.new_listener);
        assert_eq!(quick.wait_killable_recv, full.wait_killable_recv);
    }
    assert_eq!(quick.pidfd_getfd, full.pidfd_getfd);
    assert_eq!(quick.close_range, full.close_range);
    for unknown in [
        quick.addfd,
        quick.addfd_send,
        quick.sync_wake_up,
        quick.x32,
        quick.ia32,
    ] {
        assert!(!unknown.is_available(), "{quick:?}");
    }
}

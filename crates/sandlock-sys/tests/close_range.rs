//! Kernel tests of `process::close_range`.

mod util;

use std::os::fd::IntoRawFd;

use sandlock_sys::Errno;
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::process::close_range;

fn have_close_range() -> bool {
    util::have(KernelFeatures::get().close_range, "close_range")
}

/// These calls close nothing, so they may run in the harness.
#[test]
fn argument_checks() {
    if !have_close_range() {
        return;
    }
    assert_eq!(close_range(u32::MAX, u32::MAX, 0), Ok(()));
    assert_eq!(close_range(5, 3, 0), Err(Errno::EINVAL));
    assert_eq!(close_range(u32::MAX, u32::MAX, 1 << 31), Err(Errno::EINVAL));
}

/// The `O_CLOEXEC` bit in the octal `flags:` line of /proc/self/fdinfo.
fn cloexec(fd: i32) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).expect("fdinfo");
    let flags = info
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("flags line");
    let flags = u32::from_str_radix(flags.trim(), 8).expect("octal flags");
    flags & libc::O_CLOEXEC as u32 != 0
}

/// Whether the kernel knows `CLOSE_RANGE_CLOEXEC` (5.11; sandlock does not use it).
fn cloexec_flag_known() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (5, 11)
}

const CHILD: &str = "close-range";

/// Closing fds changes the process, so this runs in a child that runs nothing else.
#[test]
fn closes_and_marks_cloexec() {
    if !have_close_range() {
        return;
    }
    if !util::is_child(CHILD) {
        util::run_child("closes_and_marks_cloexec", CHILD, |_| {});
        return;
    }
    // stdin is /dev/null without O_CLOEXEC (std's own fds always have it).
    assert!(!cloexec(0));
    if cloexec_flag_known() {
        assert_eq!(close_range(0, 0, libc::CLOSE_RANGE_CLOEXEC), Ok(()));
        assert!(cloexec(0));
    } else {
        // CLOSE_RANGE_CLOEXEC came in 5.11: before, the flag is unknown and nothing changes.
        assert_eq!(
            close_range(0, 0, libc::CLOSE_RANGE_CLOEXEC),
            Err(Errno::EINVAL)
        );
        assert!(!cloexec(0));
    }

    let keep = std::fs::File::open("/dev/null").expect("open");
    let doomed: Vec<i32> = (0..3)
        .map(|_| {
            std::fs::File::open("/dev/null")
                .expect("open")
                .into_raw_fd()
        })
        .collect();
    let (first, last) = (doomed[0], doomed[2]);
    assert_eq!(
        last - first,
        2,
        "single-threaded child: fds are allocated consecutively"
    );
    let before = util::open_fds();
    assert_eq!(close_range(first as u32, last as u32, 0), Ok(()));
    let after = util::open_fds();
    let expected: Vec<i32> = before
        .into_iter()
        .filter(|fd| !doomed.contains(fd))
        .collect();
    assert_eq!(after, expected);
    drop(keep);
}

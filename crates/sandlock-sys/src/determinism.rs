//! What the supervisor calls to serve reproducible runs (`--time-start`, `--random-seed`,
//! `--hostname`): clocks (`clock_gettime`, the kernel's timezone, `timerfd_settime`), `uname`,
//! and blocking `SIGPIPE` in a thread that writes into pipes the sandbox reads.

use std::os::fd::{AsFd, AsRawFd};

use crate::Errno;

/// A `struct timespec` as two integers: seconds and nanoseconds.
pub type Timespec = (i64, i64);

/// The current value of clock `clock` (`CLOCK_REALTIME`, `CLOCK_TAI`, …).
///
/// Calls `clock_gettime(2)`.
///
/// # Errors
/// `EINVAL` for a clock the kernel does not know.
pub fn clock_gettime(clock: libc::clockid_t) -> Result<Timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`, a valid, writable local.
    let ret = unsafe { libc::clock_gettime(clock, &mut ts) };
    Errno::result(ret)?;
    Ok((ts.tv_sec, ts.tv_nsec))
}

/// The kernel's timezone (`sys_tz`): minutes west of Greenwich and the DST type, what
/// `gettimeofday(2)` writes to its second argument.
///
/// Calls the raw `gettimeofday(NULL, &tz)` system call (libc's wrapper may not fill `tz`).
#[doc(alias = "gettimeofday")]
pub fn timezone() -> Result<[i32; 2], Errno> {
    let mut tz = [0i32; 2];
    // SAFETY: gettimeofday with a NULL timeval writes only the 8-byte `struct timezone`
    // (two ints) into `tz`, which is valid and writable.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_gettimeofday,
            std::ptr::null_mut::<libc::timeval>(),
            tz.as_mut_ptr(),
        )
    };
    Errno::result(ret)?;
    Ok(tz)
}

/// An `itimerspec`: interval then first expiry, each as a [`Timespec`].
pub type Itimerspec = [Timespec; 2];

/// Arms or disarms the timerfd `fd` (`TFD_TIMER_ABSTIME`, `TFD_TIMER_CANCEL_ON_SET` in
/// `flags`) and returns its previous setting (time left until the next expiry, relative).
///
/// Calls `timerfd_settime(2)`.
///
/// # Errors
/// `EBADF`, `EINVAL` (not a timerfd, bad flags, nanoseconds out of range), `ECANCELED`.
pub fn timerfd_settime(fd: impl AsFd, flags: i32, value: Itimerspec) -> Result<Itimerspec, Errno> {
    let ts = |(s, ns): Timespec| libc::timespec {
        tv_sec: s,
        tv_nsec: ns,
    };
    let new = libc::itimerspec {
        it_interval: ts(value[0]),
        it_value: ts(value[1]),
    };
    let mut old = libc::itimerspec {
        it_interval: ts((0, 0)),
        it_value: ts((0, 0)),
    };
    // SAFETY: `new` is a valid itimerspec to read and `old` a valid one to write; the fd is
    // borrowed for the call.
    let ret = unsafe { libc::timerfd_settime(fd.as_fd().as_raw_fd(), flags, &new, &mut old) };
    Errno::result(ret)?;
    Ok([
        (old.it_interval.tv_sec, old.it_interval.tv_nsec),
        (old.it_value.tv_sec, old.it_value.tv_nsec),
    ])
}

/// Length of each field of `struct utsname` on Linux (`__NEW_UTS_LEN + 1`).
pub const UTS_FIELD_LEN: usize = 65;

/// `struct utsname` as the kernel lays it out: `sysname`, `nodename`, `release`, `version`,
/// `machine`, `domainname`, each [`UTS_FIELD_LEN`] NUL-padded bytes.
pub type Utsname = [[u8; UTS_FIELD_LEN]; 6];

/// The host's `uname`.
///
/// Calls `uname(2)`.
pub fn uname() -> Result<Utsname, Errno> {
    const _: () = assert!(size_of::<libc::utsname>() == size_of::<Utsname>());
    // SAFETY: utsname is plain bytes; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes one utsname into `uts`, a valid, writable local.
    let ret = unsafe { libc::uname(&mut uts) };
    Errno::result(ret)?;
    let mut out = [[0u8; UTS_FIELD_LEN]; 6];
    let fields = [
        &uts.sysname,
        &uts.nodename,
        &uts.release,
        &uts.version,
        &uts.machine,
        &uts.domainname,
    ];
    for (o, f) in out.iter_mut().zip(fields) {
        for (b, c) in o.iter_mut().zip(f.iter()) {
            *b = *c as u8;
        }
    }
    Ok(out)
}

/// Blocks `SIGPIPE` in the calling thread, so that writing into a pipe whose readers are gone
/// fails with `EPIPE` instead of killing the process (a program embedding the library may not
/// ignore `SIGPIPE` as Rust programs do). The signal, sent to the writing thread only, stays
/// pending there and is dropped when the thread ends.
///
/// Calls `pthread_sigmask(SIG_BLOCK, {SIGPIPE})`.
pub fn block_sigpipe() -> Result<(), Errno> {
    // SAFETY: sigemptyset/sigaddset initialise `set`, a valid local; pthread_sigmask reads it and
    // writes no old mask (NULL).
    let ret = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(ret))
    }
}

/// Whether this process can write its own vDSO through `/proc/self/mem`, as the supervisor
/// writes a sandboxed process's to redirect its clock functions (`--time-start`). It reads the
/// first byte of the vDSO and writes the same byte back, so nothing changes but that the page
/// becomes this process's private copy.
///
/// # Errors
/// `EIO` when the kernel refuses the forced write (Linux 7.x does for the vDSO); `ENOENT`
/// without a vDSO; `EACCES` when `/proc/self/mem` cannot be opened (an unprivileged process
/// that is not dumpable).
pub fn vdso_writable() -> Result<(), Errno> {
    use std::os::unix::fs::FileExt as _;
    // SAFETY: getauxval only reads this process's auxiliary vector.
    let base = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
    if base == 0 {
        return Err(Errno::ENOENT);
    }
    let errno = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    let mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")
        .map_err(errno)?;
    let mut byte = [0u8; 1];
    mem.read_exact_at(&mut byte, base).map_err(errno)?;
    mem.write_all_at(&byte, base).map_err(errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realtime_is_after_2020_and_monotonic_runs() {
        let (s, ns) = clock_gettime(libc::CLOCK_REALTIME).unwrap();
        assert!(s > 1_577_836_800 && (0..1_000_000_000).contains(&ns));
        let a = clock_gettime(libc::CLOCK_MONOTONIC).unwrap();
        let b = clock_gettime(libc::CLOCK_MONOTONIC).unwrap();
        assert!(b >= a);
        assert_eq!(clock_gettime(12345), Err(Errno::EINVAL));
    }

    #[test]
    fn a_closed_pipe_is_epipe_not_a_signal() {
        use std::io::Write;
        std::thread::spawn(|| {
            block_sigpipe().unwrap();
            let (reader, mut writer) = std::io::pipe().unwrap();
            drop(reader);
            let e = writer.write(b"x").unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn uname_says_linux() {
        let u = uname().unwrap();
        assert!(u[0].starts_with(b"Linux\0"));
        timezone().unwrap();
    }
}

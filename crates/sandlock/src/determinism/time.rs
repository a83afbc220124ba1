//! `--time-start`: the arithmetic of the shifted wall clock and the sleeper that serves
//! absolute sleeps on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sandlock_notif::{Responder, Verdict};
use sandlock_sys::Errno;
use sandlock_sys::determinism::{self as clock, Timespec};

const NANOS: i128 = 1_000_000_000;

/// How often a sleeper looks again at a long sleep: whether its caller is still waiting, has a
/// signal to take, and where the clock is (the host's clock can be set meanwhile).
const RECHECK: Duration = Duration::from_millis(100);

/// Whether clock `clock` reads wall-clock time, which the sandbox sees shifted.
pub(crate) fn is_wall_clock(clock: i32) -> bool {
    matches!(
        clock,
        libc::CLOCK_REALTIME
            | libc::CLOCK_REALTIME_COARSE
            | libc::CLOCK_REALTIME_ALARM
            | libc::CLOCK_TAI
    )
}

/// The sandbox's wall clock: the host's plus a fixed offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shift {
    /// Sandbox time minus host time, in nanoseconds.
    offset: i128,
}

impl Shift {
    /// The shift that makes the host's clock read `start` now, to the second: the offset is a
    /// whole number of seconds (the sandbox starts within the second `start` names, at the
    /// host's fraction of a second), so that the seconds of `time()` and of `clock_gettime`
    /// turn over together, in the vDSO stubs as in the supervisor.
    pub(crate) fn starting_at(start: SystemTime) -> Shift {
        let secs = |t: SystemTime| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i128,
            Err(e) => -(e.duration().as_secs_f64().ceil() as i128),
        };
        Shift {
            offset: (secs(start) - secs(SystemTime::now())) * NANOS,
        }
    }

    /// The offset as seconds and nanoseconds (`0..1e9`).
    pub(crate) fn offset(self) -> Timespec {
        split(self.offset)
    }

    /// What the sandbox sees for clock `clock` now.
    pub(crate) fn now(&self, clock: i32) -> Result<Timespec, Errno> {
        let host = clock::clock_gettime(clock)?;
        Ok(split(join(host) + self.offset))
    }

    /// The host time of sandbox time `t`; times before the epoch become the epoch (already
    /// past either way).
    pub(crate) fn to_host(self, t: Timespec) -> Timespec {
        split((join(t) - self.offset).max(0))
    }
}

/// The clock a sleep or read of `clock` is made on in the supervisor (`CLOCK_REALTIME_ALARM`
/// needs a capability to sleep on, and reads the same as `CLOCK_REALTIME`).
fn host_clock(clock: i32) -> i32 {
    if clock == libc::CLOCK_REALTIME_ALARM {
        libc::CLOCK_REALTIME
    } else {
        clock
    }
}

fn join((s, ns): Timespec) -> i128 {
    i128::from(s) * NANOS + i128::from(ns)
}

fn split(t: i128) -> Timespec {
    let s = t.div_euclid(NANOS);
    let s = i64::try_from(s).unwrap_or(if s < 0 { i64::MIN } else { i64::MAX });
    (s, t.rem_euclid(NANOS) as i64)
}

/// A timespec in the caller's memory layout.
pub(crate) fn timespec_bytes((s, ns): Timespec) -> [u8; 16] {
    let mut b = [0; 16];
    b[..8].copy_from_slice(&s.to_ne_bytes());
    b[8..].copy_from_slice(&ns.to_ne_bytes());
    b
}

/// A timespec read from the caller; `None` when the nanoseconds are out of range or the
/// seconds negative (the kernel's `EINVAL`).
pub(crate) fn parse_timespec(b: &[u8; 16]) -> Option<Timespec> {
    let s = i64::from_ne_bytes(b[..8].try_into().ok()?);
    let ns = i64::from_ne_bytes(b[8..].try_into().ok()?);
    (s >= 0 && (0..1_000_000_000).contains(&ns)).then_some((s, ns))
}

/// An absolute sleep served on behalf of a caller.
#[derive(Debug)]
pub(crate) struct Sleep {
    /// The clock and the deadline on it, in host time.
    pub(crate) clock: i32,
    pub(crate) deadline: Timespec,
    /// The sleeping thread.
    pub(crate) tid: u32,
    pub(crate) responder: Responder,
}

/// Starts the thread that answers a sandbox's absolute sleeps when they are due, and returns
/// where to send them. It stops when the sender is dropped (the sandbox's handlers are gone)
/// or the sandbox is done.
pub(crate) fn start_sleeper(done: Arc<AtomicBool>) -> std::io::Result<Sender<Sleep>> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("sandlock-sleeper".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || sleeper(&rx, &done))?;
    Ok(tx)
}

fn sleeper(rx: &Receiver<Sleep>, done: &AtomicBool) {
    let mut sleeps: Vec<Sleep> = Vec::new();
    let mut open = true;
    while !done.load(Ordering::Acquire) && (open || !sleeps.is_empty()) {
        let mut wait = RECHECK;
        let mut i = 0;
        while i < sleeps.len() {
            let s = &sleeps[i];
            let left = clock::clock_gettime(host_clock(s.clock))
                .map(|now| join(s.deadline) - join(now))
                .unwrap_or(0);
            if left <= 0 {
                let _ = sleeps.swap_remove(i).responder.answer(Verdict::Return(0));
            } else if !s.responder.is_pending() {
                // The caller died: nothing to answer.
                drop(sleeps.swap_remove(i));
            } else if signal_pending(s.tid) {
                // The sandbox's listener waits killable only, so a signal with a handler
                // cannot interrupt the call itself: end the sleep as the kernel would.
                let _ = sleeps
                    .swap_remove(i)
                    .responder
                    .answer(Verdict::Errno(Errno::EINTR));
            } else {
                wait = wait.min(Duration::from_nanos(left as u64));
                i += 1;
            }
        }
        if open {
            match rx.recv_timeout(wait) {
                Ok(s) => sleeps.push(s),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        } else {
            std::thread::sleep(wait);
        }
    }
}

/// Whether thread `tid` has a signal pending that it does not block (ignored signals are
/// discarded when sent, so such a signal will run a handler or end the process).
fn signal_pending(tid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{tid}/status")).is_ok_and(|s| pending_in_status(&s))
}

fn pending_in_status(status: &str) -> bool {
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    (mask("SigPnd:") | mask("ShdPnd:")) & !mask("SigBlk:") != 0
}

/// The clock of POSIX timer `id` from the text of `/proc/PID/timers`.
pub(crate) fn timer_clock(timers: &str, id: i32) -> Option<i32> {
    let mut current = None;
    for line in timers.lines() {
        if let Some(v) = line.strip_prefix("ID:") {
            current = v.trim().parse::<i32>().ok();
        } else if let Some(v) = line.strip_prefix("ClockID:")
            && current == Some(id)
        {
            return v.trim().parse().ok();
        }
    }
    None
}

/// The clock of a timerfd from the text of its `/proc/self/fdinfo/FD`.
pub(crate) fn timerfd_clock(fdinfo: &str) -> Option<i32> {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("clockid:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_round_trips() {
        let start = UNIX_EPOCH + Duration::from_secs(946_684_800);
        let shift = Shift::starting_at(start);
        let now = shift.now(libc::CLOCK_REALTIME).unwrap();
        assert!((946_684_800..946_684_860).contains(&now.0), "{now:?}");
        let host = shift.to_host(now);
        let real = clock::clock_gettime(libc::CLOCK_REALTIME).unwrap();
        assert!((real.0 - host.0).abs() < 60);
        // A sandbox deadline before the host's epoch is already past: the epoch.
        let ahead = Shift::starting_at(UNIX_EPOCH + Duration::from_secs(4_102_444_800));
        assert_eq!(ahead.to_host((0, 5)), (0, 0));
    }

    #[test]
    fn split_and_join() {
        assert_eq!(split(-1), (-1, 999_999_999));
        assert_eq!(join(split(123_456_789_012)), 123_456_789_012);
        assert_eq!(parse_timespec(&timespec_bytes((5, 7))), Some((5, 7)));
        assert_eq!(parse_timespec(&timespec_bytes((5, 1_000_000_000))), None);
        assert_eq!(parse_timespec(&timespec_bytes((-1, 0))), None);
    }

    #[test]
    fn proc_timer_texts() {
        let timers = "ID: 0\nsignal: 14/0000000000000000\nnotify: signal/pid.5\nClockID: 1\n\
                      ID: 3\nsignal: 14/0000000000000000\nnotify: signal/pid.5\nClockID: 0\n";
        assert_eq!(timer_clock(timers, 3), Some(0));
        assert_eq!(timer_clock(timers, 0), Some(1));
        assert_eq!(timer_clock(timers, 9), None);
        assert_eq!(
            timerfd_clock("pos:\t0\nflags:\t02\nmnt_id:\t15\nclockid: 0\n"),
            Some(0)
        );
        assert!(is_wall_clock(libc::CLOCK_REALTIME) && !is_wall_clock(libc::CLOCK_MONOTONIC));
        let status = "SigQ:\t0/1\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000002000\n\
                      SigBlk:\t0000000000000000\n";
        assert!(pending_in_status(status));
        assert!(!pending_in_status(&status.replace(
            "SigBlk:\t0000000000000000",
            "SigBlk:\t0000000000002000"
        )));
        assert!(!pending_in_status(""));
    }
}

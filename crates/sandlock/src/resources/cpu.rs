//! `--cpu`: a share of the CPU for the whole process tree.
//!
//! There are no cgroups to ask, so a thread of the supervisor does it with signals: every
//! [`TICK`] it reads the CPU time of every process below the sandbox's init
//! (`/proc/PID/stat`), and runs a token bucket filled at the allowed rate (`PCT` % of one
//! CPU, up to one [`PERIOD`]'s worth). When the bucket is empty it stops every process of the
//! tree with `SIGSTOP`, and continues them with `SIGCONT` once it has refilled. The tree is
//! walked by parentage, not by process group or session, so `setsid` descendants are
//! throttled like the rest.
//!
//! # What counts
//!
//! `utime + stime` of each process (all its threads), and `cutime + cstime`: the time of the
//! children a process reaped. A child that exits is thus counted even if it ran between two
//! ticks, once its parent (or the init) has reaped it; the part of it already seen is not
//! counted twice. What is not seen: a child that starts and exits within one tick and is
//! reaped automatically (its parent ignores `SIGCHLD`), as the kernel keeps that time nowhere.
//!
//! # Side effects the program can see
//!
//! A parent waiting with `WUNTRACED` sees its children stop and continue; a process the
//! program stopped itself is left alone (only processes this thread stopped are continued).

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use sandlock_sys::pidfd::PidFd;

use super::tree;
use crate::notify::Instance;

/// How often the tree is measured.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// The bucket holds at most this much of allowed time: an idle sandbox cannot save up more.
pub(crate) const PERIOD: Duration = Duration::from_millis(100);

/// The name of the limit in the runtime report.
pub(crate) const LIMIT: &str = "cpu";

/// Clock ticks per second of `/proc/PID/stat` (`USER_HZ`, part of the kernel ABI).
const USER_HZ: u64 = 100;

/// Nanoseconds of one clock tick.
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;

/// CPU time seen so far, per process.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// `(pid, start time)` → `(cpu, children_cpu)` in clock ticks at the last reading.
    seen: HashMap<(i32, u64), (u64, u64)>,
    /// Time of processes that disappeared (reaped), as last seen: when it shows again in a
    /// parent's `cutime`, it was counted already.
    reaped_seen: u64,
}

impl Meter {
    /// Clock ticks used since the last reading by the processes `stats` (the init included,
    /// whose `cutime` holds the orphans it reaped).
    pub(crate) fn used(&mut self, stats: &[tree::ProcStat]) -> u64 {
        let mut used = 0u64;
        let mut children_growth = 0u64;
        let mut now = HashMap::with_capacity(stats.len());
        for s in stats {
            let key = (s.pid, s.start);
            let (cpu, children) = self.seen.get(&key).copied().unwrap_or((0, 0));
            used = used.saturating_add(s.cpu.saturating_sub(cpu));
            children_growth =
                children_growth.saturating_add(s.children_cpu.saturating_sub(children));
            now.insert(key, (s.cpu, s.children_cpu));
        }
        for (key, (cpu, children)) in &self.seen {
            if !now.contains_key(key) {
                self.reaped_seen = self
                    .reaped_seen
                    .saturating_add(cpu.saturating_add(*children));
            }
        }
        let already = children_growth.min(self.reaped_seen);
        self.reaped_seen -= already;
        self.seen = now;
        used.saturating_add(children_growth - already)
    }
}

/// The bucket of allowed CPU time, in nanoseconds; negative when overdrawn.
#[derive(Debug)]
pub(crate) struct Bucket {
    tokens: i128,
    /// Allowed nanoseconds per nanosecond of wall time, times 100.
    percent: u32,
    capacity: i128,
}

impl Bucket {
    pub(crate) fn new(percent: u32) -> Bucket {
        let capacity = PERIOD.as_nanos() as i128 * i128::from(percent) / 100;
        Bucket {
            tokens: capacity,
            percent,
            capacity,
        }
    }

    /// Adds what `wall` earns, takes `used` nanoseconds used within it; returns whether the
    /// tree may run. The cap applies after both: what an interval earns pays for what was
    /// used in it, however long it was (the first one spans the sandbox's start-up).
    pub(crate) fn update(&mut self, wall: Duration, used_ns: u64) -> bool {
        let earned = wall.as_nanos() as i128 * i128::from(self.percent) / 100;
        self.tokens = (self.tokens + earned - i128::from(used_ns)).min(self.capacity);
        self.tokens >= 0
    }
}

/// The processes this thread stopped, by pidfd (no pid reuse can redirect a `SIGCONT`).
#[derive(Debug, Default)]
struct Stopped(HashMap<(i32, u64), PidFd>);

impl Stopped {
    /// Stops every running process in `stats` not stopped yet.
    fn stop(&mut self, stats: &[tree::ProcStat]) {
        for s in stats {
            let key = (s.pid, s.start);
            if s.zombie || self.0.contains_key(&key) {
                continue;
            }
            let Ok(fd) = PidFd::open(s.pid, 0) else {
                continue;
            };
            // The pidfd names whatever had the pid when it was opened: it is this process
            // only if it still has the start time read before.
            if tree::stat(s.pid).is_some_and(|now| now.start == s.start)
                && fd.send_signal(libc::SIGSTOP).is_ok()
            {
                self.0.insert(key, fd);
            }
        }
    }

    /// Continues every process this thread stopped.
    fn resume(&mut self) {
        for (_, fd) in self.0.drain() {
            let _ = fd.send_signal(libc::SIGCONT);
        }
    }
}

/// The tree below `init_pid` and the init itself, as stat lines.
fn read_tree(init_pid: i32) -> (Vec<tree::ProcStat>, Option<tree::ProcStat>) {
    let stats = tree::below(init_pid)
        .into_iter()
        .filter_map(tree::stat)
        .collect();
    (stats, tree::stat(init_pid))
}

/// The throttle: runs until the sandbox ends, on its own thread.
pub(crate) fn throttle(inst: &Instance, percent: u32) {
    let mut meter = Meter::default();
    let mut bucket = Bucket::new(percent);
    let mut stopped = Stopped::default();
    // The first reading counts all the CPU time of the tree since it was spawned, so the
    // time since then earns: on a slow or loaded machine the thread starts late, and a
    // `true` under `--cpu 100` was seen to "exceed" its share in the gap.
    let mut last = inst.spawned_at;
    let mut fired = false;
    loop {
        let (mut stats, init) = read_tree(inst.init_pid);
        let mut all = stats.clone();
        all.extend(init);
        let used = meter.used(&all).saturating_mul(NS_PER_TICK);
        let now = Instant::now();
        let may_run = bucket.update(now - last, used);
        last = now;
        if may_run {
            stopped.resume();
        } else {
            if !fired {
                inst.with_report(|r| r.fired(LIMIT));
                fired = true;
            }
            stats.retain(|s| !s.stopped);
            stopped.stop(&stats);
        }
        if inst.is_done() {
            break;
        }
        match sandlock_sys::poll::wait_readable(inst.init.as_fd(), Some(TICK)) {
            Ok(false) => {}
            Ok(true) | Err(_) => break,
        }
    }
    stopped.resume();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(pid: i32, cpu: u64, children_cpu: u64) -> tree::ProcStat {
        tree::ProcStat {
            pid,
            zombie: false,
            stopped: false,
            cpu,
            children_cpu,
            start: 1,
        }
    }

    #[test]
    fn a_reaped_child_counts_once() {
        let mut m = Meter::default();
        assert_eq!(m.used(&[st(1, 0, 0), st(2, 5, 0)]), 5);
        assert_eq!(m.used(&[st(1, 0, 0), st(2, 8, 0)]), 3);
        // 2 ran 2 more ticks unseen, and was reaped by 1: 10 in 1's cutime, 8 of it seen.
        assert_eq!(m.used(&[st(1, 0, 10)]), 2);
        // A child never seen, reaped: all of it counts.
        assert_eq!(m.used(&[st(1, 1, 14)]), 5);
    }

    #[test]
    fn the_bucket_allows_the_rate() {
        let mut b = Bucket::new(20);
        let tick = Duration::from_millis(10);
        // A busy process uses the whole tick when it runs.
        let mut ran = 0u32;
        let mut running = true;
        for _ in 0..1000 {
            let used = if running { 10_000_000 } else { 0 };
            ran += u32::from(running);
            running = b.update(tick, used);
        }
        assert!((180..=220).contains(&ran), "ran {ran} of 1000 ticks");
    }

    #[test]
    fn a_late_first_reading_is_paid_by_its_own_interval() {
        // 150 ms of CPU in the 160 ms before the first reading: under 100 %, not under 50 %.
        let mut b = Bucket::new(100);
        assert!(b.update(Duration::from_millis(160), 150_000_000));
        let mut b = Bucket::new(50);
        assert!(!b.update(Duration::from_millis(160), 150_000_000));
    }
}

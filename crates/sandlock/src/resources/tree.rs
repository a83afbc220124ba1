//! The processes of one sandbox: everything below its init, read from
//! `/proc/PID/task/TID/children`, which costs a walk of the sandbox rather than of all of
//! `/proc`.

use std::collections::HashSet;

/// One process of the sandbox as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) pid: i32,
    /// Exited, not yet reaped.
    pub(crate) zombie: bool,
    /// Stopped by a signal (`T`).
    pub(crate) stopped: bool,
    /// `utime + stime` of the live threads and the threads that exited, in clock ticks.
    pub(crate) cpu: u64,
    /// `cutime + cstime`: the time of the children it reaped, in clock ticks.
    pub(crate) children_cpu: u64,
    /// Start time after boot, in clock ticks: with the pid, it names the process.
    pub(crate) start: u64,
}

/// Every child of every thread of `pid`, in order, from `/proc/PID/task/*/children`.
pub(crate) fn children(pid: i32, out: &mut Vec<i32>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let mut path = task.path();
        path.push("children");
        if let Ok(text) = std::fs::read_to_string(&path) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
}

/// Every process below `root` (not `root` itself), zombies included: each holds a pid until
/// it is reaped. A process that moves while the walk runs can be missed once; callers sample
/// again.
pub(crate) fn below(root: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    let mut kids = Vec::new();
    while let Some(p) = stack.pop() {
        kids.clear();
        children(p, &mut kids);
        for &c in &kids {
            if c != root && seen.insert(c) {
                out.push(c);
                stack.push(c);
            }
        }
    }
    out
}

/// Reads `/proc/PID/stat`; `None` when the process is gone or the line is malformed.
pub(crate) fn stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

/// Parses a `/proc/PID/stat` line. The command name (field 2) is in parentheses and may hold
/// anything, so the fields are counted after the last `)`.
pub(crate) fn parse_stat(pid: i32, text: &str) -> Option<ProcStat> {
    let (_, rest) = text.rsplit_once(')')?;
    // After ')': field 3 (state) is index 0, so field N is index N - 3.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |field: usize| -> Option<u64> { f.get(field - 3)?.parse().ok() };
    let state = *f.first()?;
    Some(ProcStat {
        pid,
        zombie: state == "Z" || state == "X",
        stopped: state == "T",
        cpu: num(14)?.saturating_add(num(15)?),
        children_cpu: num(16)?.saturating_add(num(17)?),
        start: num(22)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_a_hostile_name() {
        let line = "42 (a) b (c) Z) R 1 42 42 0 -1 4194560 100 0 0 0 7 3 11 13 20 0 1 0 \
                    12345 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let s = parse_stat(42, line).unwrap();
        assert_eq!(
            s,
            ProcStat {
                pid: 42,
                zombie: false,
                stopped: false,
                cpu: 10,
                children_cpu: 24,
                start: 12345,
            }
        );
        assert_eq!(parse_stat(1, "1 (x"), None);
        assert_eq!(parse_stat(1, "1 (x) R 1"), None);
        assert_eq!(parse_stat(1, ""), None);
    }

    #[test]
    fn finds_a_grandchild_after_setsid() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 5 & wait"])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let mut found = Vec::new();
        for _ in 0..200 {
            found = below(pid);
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(found.len(), 1, "the sleep below sh: {found:?}");
        let me = below(std::process::id() as i32);
        assert!(me.contains(&pid) && me.contains(&found[0]), "{me:?}");
        assert!(stat(found[0]).is_some_and(|s| !s.zombie));
        let _ = sandlock_sys::signal::kill_process(found[0], libc::SIGKILL);
        child.wait().unwrap();
    }
}

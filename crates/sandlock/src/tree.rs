//! The supervisor's own descendants, read from `/proc`: the backstop of a supervisor that
//! adopts orphans (the CLI) for when a sandbox's init was killed before its tree ended, and
//! the tree was reparented to the supervisor. Normally the init owns the tree (see
//! `sandlock_sys::supervise`) and nothing here runs.

use std::collections::HashMap;

/// `pid → (ppid, is_zombie)` for every process visible in `/proc`.
fn parents() -> HashMap<i32, (i32, bool)> {
    let mut map = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain anything, so parse after the
        // last ')': "state ppid …".
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let zombie = fields.next() == Some("Z");
        if let Some(ppid) = fields.next().and_then(|p| p.parse().ok()) {
            map.insert(pid, (ppid, zombie));
        }
    }
    map
}

/// Every descendant of `root` (not `root` itself). Zombies (exited, waiting to be reaped) are
/// left out unless `zombies` is set.
pub(crate) fn descendants(root: i32, zombies: bool) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (pid, (ppid, zombie)) in parents() {
        if zombies || !zombie {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or_default() {
            if !out.contains(&c) {
                out.push(c);
                stack.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_grandchild() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & wait"])
            .spawn()
            .unwrap();
        let me = std::process::id() as i32;
        let pid = child.id() as i32;
        let mut found = Vec::new();
        for _ in 0..100 {
            found = descendants(pid, false);
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(found.len(), 1, "the sleep below sh");
        let mine = descendants(me, true);
        assert!(mine.contains(&pid) && mine.contains(&found[0]), "{mine:?}");
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = sandlock_sys::signal::kill_process(found[0], libc::SIGKILL);
    }
}

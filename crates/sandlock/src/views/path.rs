//! Paths as the sandbox spells them, turned into one canonical spelling for routing: which
//! handler serves an open, which open hook matches. Purely lexical (no system calls): the
//! decision that matters for security is taken again on the object actually opened (see
//! `views::object`), so a spelling this module does not see through (a symbolic link) can
//! only make an open take the slower, checked road, never reach a denied object.

/// Joins `path` to the absolute directory `base` (ignored when `path` is absolute) and
/// resolves `.`, `..` and repeated slashes lexically. The result is absolute, without a
/// trailing slash (but `/`).
pub(crate) fn lexical(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    let whole: Vec<&[u8]> = if path.first() == Some(&b'/') {
        vec![path]
    } else {
        vec![base, path]
    };
    for piece in whole {
        for c in piece.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
    }
    let mut out = Vec::with_capacity(path.len() + base.len() + 1);
    for p in &parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Whether `path` is `prefix` or below it (`prefix` without a trailing slash).
pub(crate) fn is_at_or_below(path: &[u8], prefix: &[u8]) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.first() == Some(&b'/'))
}

/// Symbolic links of /proc and /dev whose targets depend on the caller, written out for the
/// caller: `/proc/self` and `/proc/thread-self`, and the links to them (`/dev/fd`,
/// `/dev/stdin`, `/proc/net`, `/proc/mounts`). The result names the caller's
/// `/proc/TGID[/task/TID]` explicitly.
pub(crate) fn for_caller(canon: &[u8], tgid: u32, tid: u32) -> Vec<u8> {
    let me = format!("/proc/{tgid}").into_bytes();
    let mut thread = me.clone();
    thread.extend_from_slice(format!("/task/{tid}").as_bytes());
    let fd = |n: &str| {
        let mut v = me.clone();
        v.extend_from_slice(b"/fd");
        v.extend_from_slice(n.as_bytes());
        v
    };
    let mut net = me.clone();
    net.extend_from_slice(b"/net");
    let mut mounts = me.clone();
    mounts.extend_from_slice(b"/mounts");
    let aliases: [(&[u8], Vec<u8>); 8] = [
        (b"/proc/self", me.clone()),
        (b"/proc/thread-self", thread),
        (b"/dev/fd", fd("")),
        (b"/dev/stdin", fd("/0")),
        (b"/dev/stdout", fd("/1")),
        (b"/dev/stderr", fd("/2")),
        (b"/proc/net", net),
        (b"/proc/mounts", mounts),
    ];
    for (link, target) in aliases {
        if is_at_or_below(canon, link) {
            let mut out = target;
            out.extend_from_slice(&canon[link.len()..]);
            return out;
        }
    }
    canon.to_vec()
}

/// The caller's own `/proc/TGID/task/TID` or `/proc/TGID` written `/proc/self`: the spelling
/// of open hook keys.
pub(crate) fn hook_key(resolved: &[u8], tgid: u32, tid: u32) -> Vec<u8> {
    let me = format!("/proc/{tgid}");
    let thread = format!("/proc/{tgid}/task/{tid}");
    for prefix in [thread.as_bytes(), me.as_bytes()] {
        if is_at_or_below(resolved, prefix) {
            let mut out = b"/proc/self".to_vec();
            out.extend_from_slice(&resolved[prefix.len()..]);
            return out;
        }
    }
    resolved.to_vec()
}

/// Whether hook key `key` (exact, or a prefix when it ends in `/`) matches `path`.
pub(crate) fn hook_matches(key: &str, path: &[u8]) -> bool {
    let key = key.as_bytes();
    if key.last() == Some(&b'/') {
        path.starts_with(key)
    } else {
        path == key
    }
}

/// Entries of /proc and /sys the sandbox never opens, however spelled.
pub(crate) const DENIED_PROC: &[&str] = &[
    "kcore",
    "kmsg",
    "kallsyms",
    "keys",
    "key-users",
    "sysrq-trigger",
];

/// Directories of /sys the sandbox never opens anything in.
pub(crate) const DENIED_SYS: &[&str] = &["/sys/firmware", "/sys/kernel/security"];

/// Whether the canonical path names a denied object (or something below one).
pub(crate) fn is_denied(canon: &[u8]) -> bool {
    DENIED_PROC.iter().any(|name| {
        let mut p = b"/proc/".to_vec();
        p.extend_from_slice(name.as_bytes());
        is_at_or_below(canon, &p)
    }) || DENIED_SYS
        .iter()
        .any(|d| is_at_or_below(canon, d.as_bytes()))
}

/// A path in a process's /proc directory: `/proc/PID` and what follows (`""`, `"/status"`).
pub(crate) fn proc_pid(resolved: &[u8]) -> Option<(u32, &[u8])> {
    let rest = resolved.strip_prefix(b"/proc/")?;
    let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pid = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((pid, tail))
}

/// Entries of /proc/PID that only the process itself may open from the handler thread (the
/// kernel guards them with a ptrace check, which the handler thread would pass for any
/// process of the supervisor's user).
pub(crate) fn is_private_entry(tail: &[u8]) -> bool {
    let tail = tail.strip_prefix(b"/").unwrap_or(tail);
    // Through task/TID/… the same entries exist per thread.
    let tail = match tail.strip_prefix(b"task/") {
        Some(t) => t
            .iter()
            .position(|&b| b == b'/')
            .map_or(&b""[..], |i| &t[i + 1..]),
        None => tail,
    };
    let first = tail.split(|&b| b == b'/').next().unwrap_or_default();
    matches!(
        first,
        b"mem"
            | b"environ"
            | b"auxv"
            | b"pagemap"
            | b"stack"
            | b"syscall"
            | b"fd"
            | b"fdinfo"
            | b"map_files"
            | b"maps"
            | b"smaps"
            | b"smaps_rollup"
            | b"numa_maps"
            | b"personality"
            | b"timers"
            | b"io"
            | b"cwd"
            | b"root"
            | b"exe"
            | b"ns"
    )
}

/// Whether a /proc/PID tail is one of the process's magic links other than `fd/N`, `cwd` and
/// `root` (which are handled by their own means): `exe`, `ns/NAME`.
pub(crate) fn is_own_link(tail: &[u8]) -> bool {
    let Some(tail) = tail.strip_prefix(b"/") else {
        return false;
    };
    let tail = match tail.strip_prefix(b"task/") {
        Some(t) => match t.iter().position(|&b| b == b'/') {
            Some(i) => &t[i + 1..],
            None => return false,
        },
        None => tail,
    };
    tail == b"exe"
        || tail
            .strip_prefix(b"ns/")
            .is_some_and(|n| !matches!(n, b"" | b"." | b"..") && !n.contains(&b'/'))
}

/// `fd/N` (or `task/TID/fd/N`) of a /proc/PID tail: the fd number.
pub(crate) fn fd_entry(tail: &[u8]) -> Option<i32> {
    let tail = tail.strip_prefix(b"/")?;
    let tail = match tail.strip_prefix(b"task/") {
        Some(t) => &t[t.iter().position(|&b| b == b'/')? + 1..],
        None => tail,
    };
    let n = tail.strip_prefix(b"fd/")?;
    if n.is_empty() || n.len() > 10 || !n.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(n).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(base: &str, path: &str, want: &str) {
        let got = lexical(base.as_bytes(), path.as_bytes());
        assert_eq!(String::from_utf8_lossy(&got), want, "{base} + {path}");
    }

    #[test]
    fn lexical_spellings() {
        check("/", "/proc/kcore", "/proc/kcore");
        check("/", "//proc/kcore", "/proc/kcore");
        check("/", "/proc/./kcore", "/proc/kcore");
        check("/", "/proc/../proc/kcore", "/proc/kcore");
        check("/", "/../../proc//kcore/", "/proc/kcore");
        check("/proc", "kcore", "/proc/kcore");
        check("/usr", "../proc/kcore", "/proc/kcore");
        check("/proc/12", "../kcore", "/proc/kcore");
        check("/tmp", "/etc/hosts", "/etc/hosts");
        check("/", "", "/");
        check("/", "..", "/");
    }

    #[test]
    fn caller_links_and_hook_keys() {
        let r = |p: &str| String::from_utf8(for_caller(p.as_bytes(), 10, 11)).unwrap();
        assert_eq!(r("/proc/self/status"), "/proc/10/status");
        assert_eq!(r("/proc/self"), "/proc/10");
        assert_eq!(r("/proc/selfish"), "/proc/selfish");
        assert_eq!(r("/proc/thread-self/comm"), "/proc/10/task/11/comm");
        assert_eq!(r("/dev/stdin"), "/proc/10/fd/0");
        assert_eq!(r("/dev/fd/63"), "/proc/10/fd/63");
        assert_eq!(r("/proc/net/tcp"), "/proc/10/net/tcp");
        assert_eq!(r("/proc/kcore"), "/proc/kcore");
        let k = |p: &str| String::from_utf8(hook_key(p.as_bytes(), 10, 11)).unwrap();
        assert_eq!(k("/proc/10/net/tcp6"), "/proc/self/net/tcp6");
        assert_eq!(k("/proc/10/task/11/net/tcp"), "/proc/self/net/tcp");
        assert_eq!(k("/proc/100/net/tcp"), "/proc/100/net/tcp");
        assert!(hook_matches("/proc/self/net/", b"/proc/self/net/udp"));
        assert!(!hook_matches("/etc/hosts", b"/etc/hosts.allow"));
    }

    /// Paths come from the sandbox: no byte string makes routing panic, and the canonical
    /// spelling never keeps `.`, `..` or empty components.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let alphabet: &[&[u8]] = &[
            b"/",
            b".",
            b"..",
            b"proc",
            b"self",
            b"thread-self",
            b"12",
            b"task",
            b"fd",
            b"3",
            b"root",
            b"cwd",
            b"dev",
            b"stdin",
            b"\xff",
            b"kcore",
            b"",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut p = Vec::new();
            for _ in 0..(seed % 9) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                p.extend_from_slice(alphabet[(seed % alphabet.len() as u64) as usize]);
                if seed & 0x100 != 0 {
                    p.push(b'/');
                }
            }
            let canon = lexical(b"/proc/12", &p);
            assert_eq!(canon[0], b'/');
            assert!(
                !canon
                    .split(|&b| b == b'/')
                    .skip(1)
                    .any(|c| c == b"." || c == b".." || (c.is_empty() && canon.len() > 1)),
                "{:?}",
                String::from_utf8_lossy(&canon)
            );
            let r = for_caller(&canon, 12, 13);
            let _ = hook_key(&r, 12, 13);
            let _ = is_denied(&r);
            if let Some((_, tail)) = proc_pid(&r) {
                let _ = is_private_entry(tail);
                let _ = fd_entry(tail);
            }
        }
    }

    #[test]
    fn denied_and_pid_paths() {
        assert!(is_denied(b"/proc/kcore"));
        assert!(is_denied(b"/proc/kcore/x"));
        assert!(!is_denied(b"/proc/kcorex"));
        assert!(is_denied(b"/sys/firmware"));
        assert!(is_denied(b"/sys/kernel/security/lsm"));
        assert!(!is_denied(b"/sys/kernel/mm"));
        assert_eq!(proc_pid(b"/proc/12/status"), Some((12, &b"/status"[..])));
        assert_eq!(proc_pid(b"/proc/12"), Some((12, &b""[..])));
        assert_eq!(proc_pid(b"/proc/cpuinfo"), None);
        assert_eq!(proc_pid(b"/proc/99999999999"), None);
        assert!(is_private_entry(b"/environ"));
        assert!(is_private_entry(b"/task/3/mem"));
        assert!(!is_private_entry(b"/status"));
        assert_eq!(fd_entry(b"/fd/3"), Some(3));
        assert_eq!(fd_entry(b"/task/4/fd/0"), Some(0));
        assert_eq!(fd_entry(b"/fdinfo/3"), None);
        assert!(is_own_link(b"/exe"));
        assert!(is_own_link(b"/ns/uts"));
        assert!(is_own_link(b"/task/5/ns/net"));
        assert!(!is_own_link(b"/ns"));
        assert!(!is_own_link(b"/ns/uts/x"));
        assert!(!is_own_link(b"/status"));
    }
}

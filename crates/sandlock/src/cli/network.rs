//! Options of `sandlock run`: Network rules and port virtualisation, and `sandlock ports`.

use std::path::PathBuf;

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// Network rules and port virtualisation.
#[derive(Args, Debug, Default)]
pub(crate) struct NetArgs {
    /// Allow connects and sends to SPEC, [tcp://|udp://|icmp://]TARGET[:PORTS], e.g.
    /// 127.0.0.1:6379, api.example.com:443, udp://10.0.0.0/8:53 or '*' (anything goes).
    /// Repeatable. Without any network option no outbound IP traffic is allowed, loopback
    /// included.
    #[arg(long = "net-allow", value_name = "SPEC", long_help = net_allow_help())]
    net_allow: Vec<String>,
    /// Deny connects and sends to SPEC and allow everything else (not a boundary against a
    /// hostile program). Repeatable; cannot be combined with --net-allow.
    #[arg(long = "net-deny", value_name = "SPEC", conflicts_with = "net_allow")]
    net_deny: Vec<String>,
    /// Give the sandbox its own port space: a bind to a port taken on the host gets a free
    /// port, which the sandbox still sees as the port it asked for (getsockname,
    /// /proc/net/tcp); see the mapping with `sandlock ports` or --status-fd.
    #[arg(long = "port-remap")]
    port_remap: bool,
}

fn net_allow_help() -> String {
    format!(
        "Allow connects and sends to SPEC. Repeatable.\n\n{}",
        sandlock_net::rules::HELP
    )
}

impl NetArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, mut b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        for spec in &self.net_allow {
            b = b.net_allow(spec)?;
        }
        for spec in &self.net_deny {
            b = b.net_deny(spec)?;
        }
        if self.port_remap {
            b = b.port_remap(true);
            // Without a state directory `sandlock ports` cannot list this sandbox; the run
            // itself does not depend on it.
            if let Ok(dir) = state_dir(true) {
                b = b.port_state_dir(dir);
            }
        }
        Ok(b)
    }
}

/// `$XDG_RUNTIME_DIR/sandlock`, else `/tmp/sandlock-UID`: where running sandboxes write their
/// port mappings. Created (mode 0700) when `create`.
fn state_dir(create: bool) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    // Our uid, without libc: /proc/self belongs to it.
    let uid = std::fs::metadata("/proc/self")?.uid();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("sandlock"),
        _ => PathBuf::from(format!("/tmp/sandlock-{uid}")),
    };
    if create {
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    // In a shared /tmp, only a directory of our own is trusted.
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != uid {
        return Err(std::io::Error::other(format!(
            "{} is not a directory of uid {uid}",
            dir.display()
        )));
    }
    Ok(dir)
}

/// Arguments of `sandlock ports`.
#[derive(Args, Debug)]
pub(crate) struct PortsArgs {
    /// Only the sandbox of this pid (the sandlock process or the command); default: all.
    #[arg(value_name = "PID")]
    pid: Option<u32>,
}

/// One sandbox's state file, parsed.
struct SandboxPorts {
    sandlock_pid: u32,
    command_pid: u32,
    lines: Vec<String>,
}

fn parse_state(text: &str) -> Option<SandboxPorts> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split_whitespace().collect();
    let [_, "sandlock", spid, "command", cpid] = header.as_slice() else {
        return None;
    };
    Some(SandboxPorts {
        sandlock_pid: spid.parse().ok()?,
        command_pid: cpid.parse().ok()?,
        lines: lines.map(str::to_owned).collect(),
    })
}

/// `sandlock ports`: prints the port mappings of running sandboxes, one line each:
/// `PID PROTO VIRTUAL REAL` (PID is the command's).
pub(crate) fn ports(args: &PortsArgs) -> Result<u8, String> {
    let dir = match state_dir(false) {
        Ok(d) => d,
        Err(_) if args.pid.is_none() => return Ok(0),
        Err(e) => return Err(format!("no sandbox with port mappings ({e})")),
    };
    let mut found = false;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "ports"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Some(state) = parse_state(&text) else {
            continue;
        };
        // A file left by a sandlock that was killed (SIGKILL leaves no time to remove it):
        // not a running sandbox. Tidy it away.
        if !std::path::Path::new(&format!("/proc/{}", state.sandlock_pid)).exists() {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        if let Some(pid) = args.pid
            && pid != state.sandlock_pid
            && pid != state.command_pid
        {
            continue;
        }
        found = true;
        for line in &state.lines {
            println!("{} {line}", state.command_pid);
        }
    }
    match (found, args.pid) {
        (false, Some(pid)) => Err(format!("no sandbox with port remapping has pid {pid}")),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_format() {
        let s = parse_state("# sandlock 10 command 12\ntcp 8000 40001\n").unwrap();
        assert_eq!((s.sandlock_pid, s.command_pid), (10, 12));
        assert_eq!(s.lines, vec!["tcp 8000 40001"]);
        assert!(parse_state("garbage").is_none());
    }
}

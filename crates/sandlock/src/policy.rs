//! `Policy`: what a sandbox may do, validated once and then immutable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use sandlock_sys::Arch;

/// How to treat protections that the running kernel lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CompatLevel {
    /// Enforce what the kernel has and report what was left out (the default).
    #[default]
    BestEffort,
    /// Refuse to run unless every requested Landlock protection is enforced.
    HardRequirement,
}

/// An inclusive range of TCP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port (≥ `first`).
    pub last: u16,
}

impl PortRange {
    /// Parses a list such as `8080`, `80,443` or `9000-9005,8080`.
    ///
    /// # Errors
    /// A message naming the part that is not a port or a range.
    pub fn parse_list(spec: &str) -> Result<Vec<PortRange>, PolicyError> {
        let bad = || PolicyError::BadPorts(spec.to_owned());
        let mut out = Vec::new();
        for part in spec.split(',') {
            let part = part.trim();
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let first: u16 = a.trim().parse().map_err(|_| bad())?;
            let last: u16 = b.trim().parse().map_err(|_| bad())?;
            if first > last {
                return Err(bad());
            }
            out.push(PortRange { first, last });
        }
        Ok(out)
    }

    /// The ports in the range.
    pub fn ports(self) -> impl Iterator<Item = u16> {
        self.first..=self.last
    }
}

/// An invalid policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A filesystem path that does not exist.
    #[error("{kind} path {} does not exist", path.display())]
    MissingPath {
        /// `read` or `write`.
        kind: &'static str,
        /// The path as given.
        path: PathBuf,
    },
    /// A filesystem path that could not be inspected.
    #[error("{kind} path {}", path.display())]
    BadPath {
        /// `read` or `write`.
        kind: &'static str,
        /// The path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A syscall name the architecture does not know.
    #[error("cannot deny it")]
    UnknownSyscall(#[source] sandlock_sys::UnknownSyscall),
    /// A malformed port list.
    #[error("invalid port list `{0}` (expected e.g. 8080, 80,443 or 9000-9005)")]
    BadPorts(String),
    /// The working directory does not exist or is not a directory.
    #[error("working directory {} is not a directory", .0.display())]
    BadCwd(PathBuf),
    /// An environment entry with `=` or NUL in its name, or NUL in its value.
    #[error("invalid environment entry `{0}`")]
    BadEnv(String),
}

/// What a sandbox may do. Build it with [`Policy::builder`].
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) fs_read: Vec<PathBuf>,
    pub(crate) fs_write: Vec<PathBuf>,
    pub(crate) tcp_bind: Vec<PortRange>,
    pub(crate) tcp_connect: Vec<PortRange>,
    pub(crate) ipc_scoping: bool,
    pub(crate) clean_env: bool,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) deny_syscalls: Vec<String>,
    pub(crate) compat: CompatLevel,
    pub(crate) allow_degraded: bool,
}

/// Devices every sandbox may read and write: programs expect them, and a read-only `/dev/null`
/// turns `2>/dev/null` into a failure that hides the real one.
pub const DEVICES_READ_WRITE: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"];
/// Devices every sandbox may read.
pub const DEVICES_READ: &[&str] = &["/dev/random", "/dev/urandom"];

/// The variables `clean_env` keeps.
pub const CLEAN_ENV_KEEP: &[&str] = &["PATH", "HOME", "USER", "LANG", "TERM"];

impl Policy {
    /// Starts a policy that grants nothing but the devices above.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Policy {
                fs_read: Vec::new(),
                fs_write: Vec::new(),
                tcp_bind: Vec::new(),
                tcp_connect: Vec::new(),
                ipc_scoping: true,
                clean_env: false,
                env: Vec::new(),
                cwd: None,
                deny_syscalls: Vec::new(),
                compat: CompatLevel::BestEffort,
                allow_degraded: false,
            },
        }
    }

    /// Paths readable (and executable) below.
    pub fn fs_read(&self) -> &[PathBuf] {
        &self.fs_read
    }

    /// Paths readable and writable below.
    pub fn fs_write(&self) -> &[PathBuf] {
        &self.fs_write
    }

    /// TCP ports the sandbox may bind.
    pub fn tcp_bind(&self) -> &[PortRange] {
        &self.tcp_bind
    }

    /// TCP ports the sandbox may connect to.
    pub fn tcp_connect(&self) -> &[PortRange] {
        &self.tcp_connect
    }

    /// Whether abstract unix sockets and signals to processes outside the sandbox are blocked.
    pub fn ipc_scoping(&self) -> bool {
        self.ipc_scoping
    }

    /// The working directory, if set.
    pub fn cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// Extra denied syscalls.
    pub fn deny_syscalls(&self) -> &[String] {
        &self.deny_syscalls
    }

    /// The compat level.
    pub fn compat(&self) -> CompatLevel {
        self.compat
    }

    /// Whether a run without Landlock is accepted.
    pub fn allow_degraded(&self) -> bool {
        self.allow_degraded
    }

    /// The environment the command gets, given the supervisor's own.
    pub fn environment(
        &self,
        inherited: impl Iterator<Item = (OsString, OsString)>,
    ) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = if self.clean_env {
            inherited
                .filter(|(k, _)| CLEAN_ENV_KEEP.iter().any(|keep| k == keep))
                .collect()
        } else {
            inherited.collect()
        };
        for (k, v) in &self.env {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }
}

/// Builds a [`Policy`]; [`build`](PolicyBuilder::build) validates it.
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    policy: Policy,
}

impl PolicyBuilder {
    /// Grants read and execute below `path` (a file or a directory).
    pub fn fs_read(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy.fs_read.push(path.into());
        self
    }

    /// Grants read, write, create and delete below `path` (a file or a directory).
    pub fn fs_write(mut self, path: impl Into<PathBuf>) -> Self {
        self.policy.fs_write.push(path.into());
        self
    }

    /// Allows binding these TCP ports (Landlock ABI 4; all other binds are denied).
    pub fn tcp_bind(mut self, ports: PortRange) -> Self {
        self.policy.tcp_bind.push(ports);
        self
    }

    /// Allows connecting to these TCP ports (Landlock ABI 4; all other TCP connects are
    /// denied).
    pub fn tcp_connect(mut self, ports: PortRange) -> Self {
        self.policy.tcp_connect.push(ports);
        self
    }

    /// Blocks abstract unix sockets and signals to processes outside the sandbox (Landlock
    /// ABI 6). On by default.
    pub fn ipc_scoping(mut self, on: bool) -> Self {
        self.policy.ipc_scoping = on;
        self
    }

    /// Starts the command with only PATH, HOME, USER, LANG and TERM of the caller's
    /// environment (plus [`env`](Self::env) entries).
    pub fn clean_env(mut self, on: bool) -> Self {
        self.policy.clean_env = on;
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.policy.env.push((key.into(), value.into()));
        self
    }

    /// Sets the command's working directory.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.policy.cwd = Some(dir.into());
        self
    }

    /// Denies one more syscall by name (with `EPERM`).
    pub fn deny_syscall(mut self, name: impl Into<String>) -> Self {
        self.policy.deny_syscalls.push(name.into());
        self
    }

    /// Sets how to treat Landlock features the kernel lacks.
    pub fn compat(mut self, level: CompatLevel) -> Self {
        self.policy.compat = level;
        self
    }

    /// Accepts running without Landlock when the kernel has none (seccomp and the supervisor
    /// still enforce their part). Off by default: sandlock then refuses to start.
    pub fn allow_degraded(mut self, on: bool) -> Self {
        self.policy.allow_degraded = on;
        self
    }

    /// Validates the policy: every path exists, every syscall name is known, the environment
    /// is well-formed.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let p = self.policy;
        for (kind, paths) in [("read", &p.fs_read), ("write", &p.fs_write)] {
            for path in paths {
                match std::fs::metadata(path) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(PolicyError::MissingPath {
                            kind,
                            path: path.clone(),
                        });
                    }
                    Err(source) => {
                        return Err(PolicyError::BadPath {
                            kind,
                            path: path.clone(),
                            source,
                        });
                    }
                }
            }
        }
        for name in &p.deny_syscalls {
            Arch::NATIVE
                .syscall_nr(name)
                .map_err(PolicyError::UnknownSyscall)?;
        }
        if let Some(cwd) = &p.cwd
            && !cwd.is_dir()
        {
            return Err(PolicyError::BadCwd(cwd.clone()));
        }
        use std::os::unix::ffi::OsStrExt;
        for (k, v) in &p.env {
            let (kb, vb) = (k.as_bytes(), v.as_bytes());
            if kb.is_empty() || kb.contains(&b'=') || kb.contains(&0) || vb.contains(&0) {
                return Err(PolicyError::BadEnv(k.to_string_lossy().into_owned()));
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists() {
        let r = PortRange::parse_list("8080,9000-9002").unwrap();
        assert_eq!(
            r,
            [
                PortRange {
                    first: 8080,
                    last: 8080
                },
                PortRange {
                    first: 9000,
                    last: 9002
                }
            ]
        );
        assert_eq!(r[1].ports().collect::<Vec<_>>(), [9000, 9001, 9002]);
        for bad in ["", "x", "5-3", "70000", "1,"] {
            assert!(PortRange::parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_path_is_named() {
        let e = Policy::builder()
            .fs_read("/nonexistent/sandlock")
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "read path /nonexistent/sandlock does not exist"
        );
    }

    #[test]
    fn unknown_syscall_is_an_error() {
        let e = Policy::builder()
            .deny_syscall("no_such_call")
            .build()
            .unwrap_err();
        assert!(matches!(e, PolicyError::UnknownSyscall(_)));
    }

    #[test]
    fn clean_env_keeps_five() {
        let p = Policy::builder()
            .clean_env(true)
            .env("A", "1")
            .env("PATH", "/x")
            .build()
            .unwrap();
        let inherited = [
            ("PATH", "/usr/bin"),
            ("SECRET", "s"),
            ("HOME", "/h"),
            ("A", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = p.environment(inherited);
        let env: Vec<_> = env
            .iter()
            .map(|(k, v)| format!("{}={}", k.display(), v.display()))
            .collect();
        assert_eq!(env, ["HOME=/h", "A=1", "PATH=/x"]);
    }
}

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

/// Parses a CPU list such as `0`, `0,2` or `0-3,6`.
pub fn parse_cpu_list(spec: &str) -> Result<Vec<usize>, PolicyError> {
    let bad = || PolicyError::BadCpus(spec.to_owned());
    let mut cpus = Vec::new();
    for part in spec.split(',') {
        let (a, b) = part
            .trim()
            .split_once('-')
            .unwrap_or((part.trim(), part.trim()));
        let first: usize = a.parse().map_err(|_| bad())?;
        let last: usize = b.parse().map_err(|_| bad())?;
        if first > last || last >= sandlock_sys::sched::MAX_CPUS {
            return Err(bad());
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
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
    /// An empty or out-of-range CPU list.
    #[error("invalid CPU list {0}")]
    BadCpus(String),
    /// A limit out of range.
    #[error("{0}")]
    BadLimit(String),
    /// An environment entry with `=` or NUL in its name, or NUL in its value.
    #[error("invalid environment entry `{0}`")]
    BadEnv(String),
    /// An invalid value of an option of a supervised feature.
    #[error("{option} {value}: {reason}")]
    BadOption {
        /// The option as the CLI spells it, e.g. `--net-allow`.
        option: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
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
    pub(crate) limits: Limits,
    pub(crate) net: crate::network::NetConfig,
    pub(crate) resources: crate::resources::ResourceConfig,
    pub(crate) views: crate::views::ViewConfig,
    pub(crate) determinism: crate::determinism::DeterminismConfig,
}

/// Per-process limits that the kernel enforces by itself once they are set before exec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// `RLIMIT_NOFILE`, soft and hard: the highest fd number plus one.
    pub max_open_files: Option<u64>,
    /// No core dumps at all (see [`PolicyBuilder::no_coredump`]).
    pub no_coredump: bool,
    /// `ADDR_NO_RANDOMIZE` added to the persona: no address-space layout randomisation.
    pub no_randomize_memory: bool,
    /// Transparent huge pages disabled.
    pub no_huge_pages: bool,
    /// The CPUs the sandbox may run on; it cannot widen the set.
    pub cpu_cores: Option<Vec<usize>>,
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
                limits: Limits::default(),
                net: Default::default(),
                resources: Default::default(),
                views: Default::default(),
                determinism: Default::default(),
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

    /// The per-process limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
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
    pub(crate) policy: Policy,
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

    /// Caps the number of open files of each process (`RLIMIT_NOFILE`, soft and hard, so the
    /// sandbox cannot raise it).
    pub fn max_open_files(mut self, n: u64) -> Self {
        self.policy.limits.max_open_files = Some(n);
        self
    }

    /// No core dumps: `RLIMIT_CORE` is set to 1 byte, soft and hard. A core file needs at
    /// least a page, so none is written; and 1 (unlike 0) also stops the kernel from piping the
    /// core to a `core_pattern` helper such as systemd-coredump.
    pub fn no_coredump(mut self, on: bool) -> Self {
        self.policy.limits.no_coredump = on;
        self
    }

    /// Turns address-space layout randomisation off (`ADDR_NO_RANDOMIZE`), keeping the other
    /// persona flags. The filter forbids changing the persona afterwards.
    pub fn no_randomize_memory(mut self, on: bool) -> Self {
        self.policy.limits.no_randomize_memory = on;
        self
    }

    /// Turns transparent huge pages off (`PR_SET_THP_DISABLE`, inherited by every descendant).
    pub fn no_huge_pages(mut self, on: bool) -> Self {
        self.policy.limits.no_huge_pages = on;
        self
    }

    /// Restricts the sandbox to these CPUs. `sched_setaffinity` is then denied (`EPERM`), so it
    /// cannot widen the set.
    pub fn cpu_cores(mut self, cpus: Vec<usize>) -> Self {
        self.policy.limits.cpu_cores = Some(cpus);
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
        if let Some(cpus) = &p.limits.cpu_cores
            && (cpus.is_empty() || cpus.iter().any(|&c| c >= sandlock_sys::sched::MAX_CPUS))
        {
            return Err(PolicyError::BadCpus(format!("{cpus:?}")));
        }
        if p.limits.max_open_files == Some(0) {
            return Err(PolicyError::BadLimit(
                "--max-open-files must be at least 1".to_owned(),
            ));
        }
        use std::os::unix::ffi::OsStrExt;
        for (k, v) in &p.env {
            let (kb, vb) = (k.as_bytes(), v.as_bytes());
            if kb.is_empty() || kb.contains(&b'=') || kb.contains(&0) || vb.contains(&0) {
                return Err(PolicyError::BadEnv(k.to_string_lossy().into_owned()));
            }
        }
        crate::features::validate(&p)?;
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
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0").unwrap(), [0]);
        assert_eq!(parse_cpu_list("3,0-1,1").unwrap(), [0, 1, 3]);
        for bad in ["", "x", "2-1", "0,", "5000"] {
            assert!(parse_cpu_list(bad).is_err(), "{bad}");
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

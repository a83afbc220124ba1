//! Options of `sandlock run`: Reproducible runs.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// Reproducible runs.
#[derive(Args, Debug, Default)]
pub(crate) struct DeterminismArgs {
    /// Start the sandbox's wall clock at this instant and let it run on from there
    /// (clock_gettime, gettimeofday, time, through the vDSO too; absolute wall-clock sleeps and
    /// timerfds). Monotonic clocks are not shifted. YYYY-MM-DD[THH:MM[:SS[.frac]]][Z|±HH:MM]
    /// (UTC without an offset) or @SECONDS, e.g. 2000-01-01T00:00:00Z.
    #[arg(long, value_name = "ISO8601")]
    time_start: Option<String>,

    /// Make getrandom, /dev/urandom and /dev/random reproducible: streams derived from N, one
    /// per process by its place in the process tree, so runs with the same seed repeat.
    #[arg(long, value_name = "N")]
    random_seed: Option<u64>,

    /// List directory entries (getdents64) sorted by name.
    #[arg(long)]
    deterministic_dirs: bool,

    /// The host name the sandbox sees: uname's node name, /etc/hostname and
    /// /proc/sys/kernel/hostname (at most 64 bytes).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
}

impl DeterminismArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, mut b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        if let Some(t) = &self.time_start {
            b = b.time_start(sandlock::parse_time_start(t)?);
        }
        if let Some(seed) = self.random_seed {
            b = b.random_seed(seed);
        }
        if self.deterministic_dirs {
            b = b.deterministic_dirs(true);
        }
        if let Some(name) = &self.hostname {
            b = b.hostname(name.clone());
        }
        Ok(b)
    }
}

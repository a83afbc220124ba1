//! Options of `sandlock run`: /proc and /sys views.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// /proc and /sys views.
#[derive(Args, Debug, Default)]
pub(crate) struct ViewArgs {
    /// The number of CPUs the sandbox sees: /proc/cpuinfo, the /sys CPU lists,
    /// sched_getaffinity (so nproc and os.cpu_count()); it still runs on the host's CPUs
    #[arg(long, value_name = "N")]
    num_cpus: Option<u32>,
}

impl ViewArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        Ok(match self.num_cpus {
            Some(n) => b.num_cpus(n),
            None => b,
        })
    }
}

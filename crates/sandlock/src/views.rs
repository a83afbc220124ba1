//! Views of /proc and /sys: what the sandbox may open there, and synthetic files.

use sandlock_sys::features::KernelFeatures;

use crate::confine::PrepareError;
use crate::notify::Plan;
use crate::policy::{Policy, PolicyError};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ViewConfig {
    /// `--num-cpus`: the number of CPUs the sandbox sees.
    pub(crate) num_cpus: Option<u32>,
}

/// Checks this feature's part of `policy`.
pub(crate) fn validate(_policy: &Policy) -> Result<(), PolicyError> {
    Ok(())
}

/// Adds what this feature needs from the supervisor to `plan`.
pub(crate) fn plan(
    _policy: &Policy,
    _kernel: &KernelFeatures,
    _plan: &mut Plan,
) -> Result<(), PrepareError> {
    Ok(())
}

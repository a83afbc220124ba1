//! Reproducible runs: shifted wall-clock time, seeded randomness, sorted directories, host name.

use sandlock_sys::features::KernelFeatures;

use crate::confine::PrepareError;
use crate::notify::Plan;
use crate::policy::{Policy, PolicyError};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DeterminismConfig {
    /// `--time-start`: the wall-clock time the sandbox starts at.
    pub(crate) time_start: Option<std::time::SystemTime>,
    /// `--random-seed`.
    pub(crate) random_seed: Option<u64>,
    /// `--deterministic-dirs`: directory entries sorted by name.
    pub(crate) sorted_dirs: bool,
    /// `--hostname`.
    pub(crate) hostname: Option<String>,
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

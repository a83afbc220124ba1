//! Limits that hold for the whole sandbox: memory, concurrent processes, CPU share.

use sandlock_sys::features::KernelFeatures;

use crate::confine::PrepareError;
use crate::notify::Plan;
use crate::policy::{Policy, PolicyError};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ResourceConfig {
    /// `--max-memory`: bytes for the whole sandbox.
    pub(crate) max_memory: Option<u64>,
    /// `--max-processes`: concurrent processes in the sandbox.
    pub(crate) max_processes: Option<u32>,
    /// `--cpu`: percent of one CPU for the whole tree (1..=100 × CPUs).
    pub(crate) cpu_percent: Option<u32>,
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

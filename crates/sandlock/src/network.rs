//! Network rules on outbound connections and datagrams, and port virtualisation.

use sandlock_sys::features::KernelFeatures;

use crate::confine::PrepareError;
use crate::notify::Plan;
use crate::policy::{Policy, PolicyError};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NetConfig {}

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

//! Options of `sandlock run`: /proc and /sys views.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// /proc and /sys views.
#[derive(Args, Debug, Default)]
pub(crate) struct ViewArgs {}

impl ViewArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        Ok(b)
    }
}

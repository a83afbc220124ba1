//! Options of `sandlock run`: Reproducible runs.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// Reproducible runs.
#[derive(Args, Debug, Default)]
pub(crate) struct DeterminismArgs {}

impl DeterminismArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        Ok(b)
    }
}

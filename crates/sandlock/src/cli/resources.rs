//! Options of `sandlock run`: Whole-sandbox limits: memory, processes, CPU.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// Whole-sandbox limits: memory, processes, CPU.
#[derive(Args, Debug, Default)]
pub(crate) struct ResourceArgs {}

impl ResourceArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        Ok(b)
    }
}

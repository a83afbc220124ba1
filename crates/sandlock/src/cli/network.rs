//! Options of `sandlock run`: Network rules and port virtualisation.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// Network rules and port virtualisation.
#[derive(Args, Debug, Default)]
pub(crate) struct NetArgs {}

impl NetArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        Ok(b)
    }
}

/// Arguments of `sandlock ports`.
#[derive(Args, Debug)]
pub(crate) struct PortsArgs {}

/// `sandlock ports`: prints the port mappings of running sandboxes.
pub(crate) fn ports(_args: &PortsArgs) -> Result<u8, String> {
    Err("not built yet".to_owned())
}

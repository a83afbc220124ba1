//! The features served by the supervisor, each in its own module, gathered into one [`Plan`].
//!
//! | module | options |
//! |---|---|
//! | [`network`](crate::network) | `--net-allow`, `--net-deny`, `--port-remap` |
//! | [`resources`](crate::resources) | `--max-memory`, `--max-processes`, `--cpu` |
//! | [`views`](crate::views) | /proc and /sys views, `--num-cpus` |
//! | [`determinism`](crate::determinism) | `--time-start`, `--random-seed`, `--deterministic-dirs`, `--hostname` |

use sandlock_sys::features::KernelFeatures;

use crate::confine::PrepareError;
use crate::notify::Plan;
use crate::policy::{Policy, PolicyError};

/// What every feature of `policy` needs from the supervisor on this kernel.
pub(crate) fn plan(policy: &Policy, kernel: &KernelFeatures) -> Result<Plan, PrepareError> {
    let mut plan = Plan::default();
    crate::network::plan(policy, kernel, &mut plan)?;
    crate::resources::plan(policy, kernel, &mut plan)?;
    crate::determinism::plan(policy, kernel, &mut plan)?;
    // Last: it owns the open family and serves the open hooks the others registered.
    crate::views::plan(policy, kernel, &mut plan)?;
    Ok(plan)
}

/// Checks every feature's part of `policy` (called by [`PolicyBuilder::build`]).
///
/// [`PolicyBuilder::build`]: crate::PolicyBuilder::build
pub(crate) fn validate(policy: &Policy) -> Result<(), PolicyError> {
    crate::network::validate(policy)?;
    crate::resources::validate(policy)?;
    crate::views::validate(policy)?;
    crate::determinism::validate(policy)?;
    Ok(())
}

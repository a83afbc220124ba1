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
///
/// Under a nested sandbox (an inherited filter already has a listener, so this one cannot get
/// its own), a feature that needs notified calls is refused with an error naming it: its
/// calls would fail with `ENOSYS`, so the command could not work and the user must know why.
/// The /proc views alone are the exception: the outer sandbox already decides what its
/// processes may open, so they are left to it.
pub(crate) fn plan(policy: &Policy, kernel: &KernelFeatures) -> Result<Plan, PrepareError> {
    let mut plan = Plan::default();
    crate::network::plan(policy, kernel, &mut plan)?;
    crate::resources::plan(policy, kernel, &mut plan)?;
    crate::determinism::plan(policy, kernel, &mut plan)?;
    let nested = |plan: &Plan| {
        let options = plan
            .notify
            .iter()
            .chain(plan.notify_rules.iter().map(|r| &r.0))
            .copied()
            .collect::<Vec<_>>();
        PrepareError::Feature {
            feature: "nested sandbox",
            message: format!(
                "this process is already under a seccomp listener (an outer sandbox), so the \
                 supervisor cannot serve the options that need it (notified calls: {}); give \
                 them to the outer sandbox instead",
                options.join(", ")
            ),
        }
    };
    if plan.needs_listener() && listener_blocked() {
        return Err(nested(&plan));
    }
    // Last: it owns the open family and serves the open hooks the others registered.
    let mut with_views = plan.clone();
    crate::views::plan(policy, kernel, &mut with_views)?;
    if !plan.needs_listener() && with_views.needs_listener() && listener_blocked() {
        if policy.views.num_cpus.is_some() || policy.determinism.sorted_dirs {
            return Err(nested(&with_views));
        }
        // Only the /proc views: what the outer sandbox lets its processes open already holds.
        return Ok(plan);
    }
    Ok(with_views)
}

/// Whether an inherited seccomp filter already has a listener, so that no sandbox started
/// from here can have one (`EBUSY`). Checked only when it matters, and cheaply first: a
/// process without inherited filters cannot be in that case, and otherwise the probe child
/// of [`KernelFeatures::get`] finds out (once per process).
pub(crate) fn listener_blocked() -> bool {
    let filters = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Seccomp_filters:"))
                .and_then(|v| v.trim().parse::<u32>().ok())
        })
        .unwrap_or(0);
    filters > 0
        && matches!(
            KernelFeatures::get().new_listener,
            sandlock_sys::features::Availability::Blocked(sandlock_sys::Errno::EBUSY)
        )
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

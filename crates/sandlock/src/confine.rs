//! Turns a [`Policy`] into what the child enforces: a Landlock ruleset fd and a seccomp
//! program, both prepared before fork, plus the [`EnforcementStatus`] they amount to.

use std::os::fd::OwnedFd;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel as LlCompat, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope,
};
use sandlock_bpf::{Filter, SockFilter};
use sandlock_sys::Arch;
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::flags::FilterFlags;

use crate::notify::Plan;
use crate::policy::{CompatLevel, DEVICES_READ, DEVICES_READ_WRITE, Policy};
use crate::status::{
    EnforcementStatus, LandlockLevel, LandlockStatus, SeccompStatus, SupervisorStatus,
};

/// The Landlock ABI sandlock's rules are written for. Fixed in code, as the landlock crate
/// advises: the kernel's own ABI only decides how much of it is enforced.
const TARGET_ABI: ABI = ABI::V6;

/// Why a policy could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    /// The kernel lacks Landlock and no degraded run was asked for.
    #[error(
        "Landlock is unavailable ({0}); refusing to run without filesystem confinement \
         (pass --allow-degraded to run with seccomp and the supervisor only)"
    )]
    LandlockUnavailable(String),
    /// `HardRequirement` and the kernel lacks part of the policy.
    #[error("Landlock on this kernel (ABI {abi}) cannot enforce: {}", missing.join(", "))]
    LandlockIncomplete {
        /// The kernel's ABI.
        abi: u32,
        /// What is missing.
        missing: Vec<&'static str>,
    },
    /// The landlock crate refused a rule or the ruleset.
    #[error("cannot build the Landlock ruleset")]
    Landlock(#[from] landlock::RulesetError),
    /// A path could not be opened for a Landlock rule.
    #[error("cannot open {path} for a Landlock rule")]
    LandlockPath {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: landlock::PathFdError,
    },
    /// The seccomp filter could not be compiled.
    #[error("cannot compile the seccomp filter")]
    Filter(#[from] sandlock_bpf::Error),
    /// A feature served by the supervisor cannot be set up (e.g. a host name that does not
    /// resolve).
    #[error("{feature}: {message}")]
    Feature {
        /// The feature, as the CLI spells its option (e.g. `--net-allow`).
        feature: &'static str,
        /// What is wrong, naming the offending value.
        message: String,
    },
}

/// What the child enforces, prepared before fork.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) ruleset: Option<OwnedFd>,
    pub(crate) filter: Vec<SockFilter>,
    /// `NEW_LISTENER`, with `WAIT_KILLABLE_RECV` where the kernel has it (5.19): a notified
    /// task then cannot be interrupted by a non-fatal signal once the supervisor holds its
    /// notification, so a handler acting on its behalf never races a restarted call. Without
    /// it, a signal makes the pending notification invalid and the supervisor's answer fails
    /// with `ENOENT`, which the reactor already treats as normal.
    pub(crate) filter_flags: FilterFlags,
    /// The ruleset scopes signals (IPC scoping on, Landlock ABI 6): the sandbox's init may kill
    /// its tree with `kill(-1, …)`, which the scope confines to the sandbox.
    pub(crate) scoped_kill: bool,
    pub(crate) status: EnforcementStatus,
}

/// Protections the target ABI has that an older kernel lacks: (minimum ABI, what).
fn missing_for(abi: u32, policy: &Policy) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let mut need = |min: u32, what: &'static str| {
        if abi < min {
            missing.push(what);
        }
    };
    need(1, "filesystem rules (ABI 1)");
    need(2, "rename and link across directories (ABI 2)");
    need(3, "truncate (ABI 3)");
    need(4, "TCP bind and connect ports (ABI 4)");
    need(5, "ioctl on devices (ABI 5)");
    if policy.ipc_scoping {
        need(
            6,
            "IPC scoping of abstract unix sockets and signals (ABI 6)",
        );
    }
    missing
}

/// Builds the Landlock ruleset for `policy`.
fn landlock(policy: &Policy, kernel_abi: u32) -> Result<Option<OwnedFd>, PrepareError> {
    let compat = match policy.compat {
        CompatLevel::BestEffort => LlCompat::BestEffort,
        CompatLevel::HardRequirement => LlCompat::HardRequirement,
    };
    // The kernel's ABI only lowers the target, never raises it; it is below the kernel's own
    // only when a test fakes an older kernel (SANDLOCK_FAKE_FEATURES), which this honours.
    let abi = TARGET_ABI.min(ABI::from(kernel_abi as i32));
    let mut ruleset = Ruleset::default()
        .set_compatibility(compat)
        .handle_access(AccessFs::from_all(abi))?;
    // The network feature says which TCP rights Landlock handles: connects it leaves to the
    // supervisor (deny lists, any-port rules, port virtualisation) stay unhandled.
    let tcp = crate::network::landlock_tcp(policy);
    if kernel_abi >= 4 {
        let mut net = landlock::BitFlags::<AccessNet>::empty();
        if tcp.bind {
            net |= AccessNet::BindTcp;
        }
        if tcp.connect {
            net |= AccessNet::ConnectTcp;
        }
        if !net.is_empty() {
            ruleset = ruleset.handle_access(net)?;
        }
    }
    if policy.ipc_scoping && kernel_abi >= 6 {
        ruleset = ruleset.scope(Scope::AbstractUnixSocket | Scope::Signal)?;
    }
    let mut created = ruleset.create()?;
    let read = AccessFs::from_read(abi);
    let all = AccessFs::from_all(abi);
    let mut rules: Vec<(&std::path::Path, _)> = Vec::new();
    rules.extend(policy.fs_read.iter().map(|p| (p.as_path(), read)));
    rules.extend(policy.fs_write.iter().map(|p| (p.as_path(), all)));
    for path in rules {
        let (path, access) = path;
        let fd = PathFd::new(path).map_err(|source| PrepareError::LandlockPath {
            path: path.display().to_string(),
            source,
        })?;
        created = created.add_rule(PathBeneath::new(fd, restrict_to_file(path, access, abi)))?;
    }
    // Devices: granted when present (a machine without /dev/tty, say, simply lacks it).
    let devices = DEVICES_READ_WRITE
        .iter()
        .map(|d| (d, AccessFs::from_file(abi)))
        .chain(DEVICES_READ.iter().map(|d| (d, AccessFs::ReadFile.into())));
    for (dev, access) in devices {
        if let Ok(fd) = PathFd::new(dev) {
            created = created.add_rule(PathBeneath::new(fd, access))?;
        }
    }
    if kernel_abi >= 4 && tcp.bind {
        for range in &policy.tcp_bind {
            for port in range.ports() {
                created = created.add_rule(NetPort::new(port, AccessNet::BindTcp))?;
            }
        }
    }
    if kernel_abi >= 4 && tcp.connect {
        // policy.tcp_connect plus the TCP ports of the network allow rules.
        for range in &tcp.connect_ports {
            for port in range.ports() {
                created = created.add_rule(NetPort::new(port, AccessNet::ConnectTcp))?;
            }
        }
    }
    // The child restricts itself with this fd (and sets no_new_privs itself first).
    Ok(created.into())
}

/// A rule on a regular file or device may only carry file rights.
fn restrict_to_file(
    path: &std::path::Path,
    access: landlock::BitFlags<AccessFs>,
    abi: ABI,
) -> landlock::BitFlags<AccessFs> {
    if path.is_dir() {
        access
    } else {
        access & AccessFs::from_file(abi)
    }
}

/// The seccomp program for `policy`: the default filter, the policy's extra denials, and the
/// calls handed to the supervisor (`notify`; what the default filter denies stays denied).
fn seccomp(policy: &Policy, plan: &Plan) -> Result<(Vec<SockFilter>, SeccompStatus), PrepareError> {
    let mut filter: Filter = sandlock_bpf::default_policy(Arch::NATIVE)?;
    for name in &policy.deny_syscalls {
        filter.deny(name, libc::EPERM as u16)?;
    }
    if policy.limits.cpu_cores.is_some() {
        // The CPU set is fixed before exec; the sandbox may not widen it.
        filter.deny("sched_setaffinity", libc::EPERM as u16)?;
    }
    // The network feature's static socket() rules (ping sockets, non-TCP IP sockets).
    crate::network::filter_rules(policy, &mut filter)?;
    for name in &plan.notify {
        filter.add_rule(
            name,
            sandlock_bpf::Rule::always(sandlock_bpf::Action::UserNotif)?,
        )?;
    }
    for (name, conds) in &plan.notify_rules {
        filter.add_rule(
            name,
            sandlock_bpf::Rule::new(sandlock_bpf::Action::UserNotif, conds.clone())?,
        )?;
    }
    let program = filter.compile()?;
    let status = SeccompStatus {
        instructions: program.len(),
        syscalls_with_rules: filter.syscalls().count(),
    };
    Ok((program, status))
}

/// Prepares everything the child enforces for `policy` on this kernel.
pub(crate) fn prepare(policy: &Policy, plan: &Plan) -> Result<Prepared, PrepareError> {
    let features = KernelFeatures::get_without_child();
    let kernel_abi = features.effective_landlock_abi();
    let missing = missing_for(kernel_abi, policy);
    let unavailable = (kernel_abi == 0).then(|| {
        // Availability reads "no (why)": keep the why.
        let text = features.landlock.to_string();
        let why = text.strip_prefix("no (").and_then(|w| w.strip_suffix(')'));
        why.map_or(text.clone(), str::to_owned)
    });
    if let Some(why) = &unavailable
        && !policy.allow_degraded
    {
        return Err(PrepareError::LandlockUnavailable(why.clone()));
    }
    if policy.compat == CompatLevel::HardRequirement && !missing.is_empty() {
        return Err(PrepareError::LandlockIncomplete {
            abi: kernel_abi,
            missing,
        });
    }
    let ruleset = if kernel_abi == 0 {
        None
    } else {
        landlock(policy, kernel_abi)?
    };
    let level = match (kernel_abi, missing.is_empty()) {
        (0, _) => LandlockLevel::None,
        (_, true) => LandlockLevel::Full,
        (_, false) => LandlockLevel::Partial,
    };
    let (filter, seccomp) = seccomp(policy, plan)?;
    let reason = if !features.user_notif.is_available() {
        Some(format!(
            "seccomp user notification: {}",
            features.user_notif
        ))
    } else if !features.new_listener.is_available() {
        Some(format!("seccomp listener: {}", features.new_listener))
    } else {
        None
    };
    let status = EnforcementStatus {
        landlock: LandlockStatus {
            kernel_abi,
            unavailable,
            level,
            missing,
        },
        seccomp,
        supervisor: SupervisorStatus {
            listener: reason.is_none(),
            reason,
        },
    };
    let mut filter_flags = FilterFlags::empty();
    if status.supervisor.listener {
        filter_flags |= FilterFlags::NEW_LISTENER;
        if features.wait_killable_recv.is_available() {
            filter_flags |= FilterFlags::WAIT_KILLABLE_RECV;
        }
    }
    let scoped_kill = ruleset.is_some() && policy.ipc_scoping && kernel_abi >= 6;
    Ok(Prepared {
        ruleset,
        filter,
        filter_flags,
        scoped_kill,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_by_abi() {
        let p = Policy::builder().build().unwrap();
        assert!(missing_for(6, &p).is_empty());
        assert_eq!(
            missing_for(2, &p),
            [
                "truncate (ABI 3)",
                "TCP bind and connect ports (ABI 4)",
                "ioctl on devices (ABI 5)",
                "IPC scoping of abstract unix sockets and signals (ABI 6)"
            ]
        );
        let no_scope = Policy::builder().ipc_scoping(false).build().unwrap();
        assert_eq!(missing_for(5, &no_scope), Vec::<&str>::new());
    }
}

//! Network rules on outbound connections and datagrams, and port virtualisation.
//!
//! # Layers
//!
//! | what | default (no option) | `--net-allow` / `--net-deny` | `--port-remap` |
//! |---|---|---|---|
//! | TCP connect | Landlock: no port allowed | supervisor decides each destination; Landlock allows the TCP ports the allow rules name (every port for a deny list or a rule with any port) | + connect to a virtual port goes to its real port; Landlock leaves connects to the supervisor |
//! | UDP, SCTP, MPTCP | no such socket (`socket()` is `EACCES` in the BPF filter) | supervisor decides each destination | the same |
//! | ping sockets | `EACCES` at `socket()` unless `icmp://` rules | `EACCES` unless an `icmp://` rule | the same |
//! | TCP bind | Landlock: `--net-allow-bind` ports | the same | supervisor: `--net-allow-bind` names virtual ports; a taken port gets a free real one |
//!
//! With no network option the supervisor is not involved at all (nothing is notified), so the
//! default profile pays nothing; on a kernel without Landlock TCP rules (ABI < 4) the
//! supervisor takes over and enforces the same "no outbound IP" default itself.
//!
//! The handlers are `sandlock_net::handlers`; this module wires them to the sandbox's agent
//! (confined workers), report and open hooks.

use std::collections::HashSet;
use std::io::Write as _;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use sandlock_bpf::{Action, Cond, Filter, Rule as BpfRule};
use sandlock_net::handlers::{
    AbstractUnix, Job, NetHandlers, NetOptions, Spawner, Worker as NetWorker,
};
use sandlock_net::portmap::{PortMap, Transport};
use sandlock_net::rules::{self, Mode, NetPolicy, ResolvedRule, Rule};
use sandlock_sys::Errno;
use sandlock_sys::features::KernelFeatures;

use crate::agent::{Agent, Worker};
use crate::confine::PrepareError;
use crate::notify::{Instance, OpenAnswer, Plan, PortMapping};
use crate::policy::{Policy, PolicyBuilder, PolicyError, PortRange};

/// This feature's part of a [`Policy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NetConfig {
    /// `--net-allow` rules, resolved.
    pub(crate) allow: Vec<ResolvedRule>,
    /// `--net-deny` rules, resolved.
    pub(crate) deny: Vec<ResolvedRule>,
    /// `--port-remap`.
    pub(crate) port_remap: bool,
    /// Where the port mappings of each sandbox are written while it runs (`sandlock ports`).
    pub(crate) port_state_dir: Option<PathBuf>,
}

impl NetConfig {
    fn has_rules(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }
}

fn rule_error(option: &'static str, spec: &str, e: rules::RuleError) -> PolicyError {
    PolicyError::BadOption {
        option,
        value: spec.to_owned(),
        reason: error_chain(&e),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

impl PolicyBuilder {
    /// Allows connects and sends to what `spec` names (`[tcp://|udp://|icmp://]TARGET[:PORTS]`,
    /// see [`sandlock_net::rules`]); everything else is denied. Repeatable. A hostname is
    /// resolved now and the rule pinned to its addresses.
    ///
    /// # Errors
    /// A malformed rule, or a hostname that does not resolve (the error names it).
    pub fn net_allow(mut self, spec: &str) -> Result<Self, PolicyError> {
        let rule = Rule::parse(spec)
            .and_then(|r| r.resolve(rules::resolve_host))
            .map_err(|e| rule_error("--net-allow", spec, e))?;
        self.policy.net.allow.push(rule);
        Ok(self)
    }

    /// Denies connects and sends to what `spec` names, and allows everything else (a
    /// convenience, not a boundary: see [`sandlock_net::rules`]). Cannot be combined with
    /// [`net_allow`](Self::net_allow).
    ///
    /// # Errors
    /// As for [`net_allow`](Self::net_allow).
    pub fn net_deny(mut self, spec: &str) -> Result<Self, PolicyError> {
        let rule = Rule::parse(spec)
            .and_then(|r| r.resolve(rules::resolve_host))
            .map_err(|e| rule_error("--net-deny", spec, e))?;
        self.policy.net.deny.push(rule);
        Ok(self)
    }

    /// Gives the sandbox its own port space: a bind to a port taken on the host gets a free
    /// port instead, which the sandbox still sees as the port it asked for.
    pub fn port_remap(mut self, on: bool) -> Self {
        self.policy.net.port_remap = on;
        self
    }

    /// Writes each running sandbox's port mappings to `DIR/<command pid>.ports` (removed when
    /// the sandbox ends), for `sandlock ports`.
    pub fn port_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.policy.net.port_state_dir = Some(dir.into());
        self
    }
}

impl Policy {
    /// The outbound network rules (an allow list, empty by default: nothing is allowed).
    pub fn net_policy(&self) -> NetPolicy {
        if self.net.deny.is_empty() {
            NetPolicy::allow_list(self.net.allow.clone())
        } else {
            NetPolicy::deny_list(self.net.deny.clone())
        }
    }

    /// Whether ports are virtualised.
    pub fn port_remap(&self) -> bool {
        self.net.port_remap
    }
}

/// Checks this feature's part of `policy`.
pub(crate) fn validate(policy: &Policy) -> Result<(), PolicyError> {
    if !policy.net.allow.is_empty()
        && let Some(first) = policy.net.deny.first()
    {
        return Err(PolicyError::BadOption {
            option: "--net-deny",
            value: first.to_string(),
            reason: "cannot be combined with --net-allow".to_owned(),
        });
    }
    Ok(())
}

/// The TCP rights the sandbox's Landlock ruleset handles, and the connect ports it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LandlockTcp {
    /// Whether Landlock restricts TCP binds (to `policy.tcp_bind`).
    pub(crate) bind: bool,
    /// Whether Landlock restricts TCP connects (to `connect_ports`).
    pub(crate) connect: bool,
    /// The ports connects are allowed to: `policy.tcp_connect` and the allow rules' TCP
    /// ports.
    pub(crate) connect_ports: Vec<PortRange>,
}

/// What Landlock enforces of the network policy (used by `confine.rs`).
///
/// The on-behalf connect runs under the same ruleset, so the rules' ports must be allowed
/// here or the allowed connect would fail; a deny list, an allow rule with every port, or
/// port virtualisation (real ports are not known in advance) leaves connects to the
/// supervisor alone. Under port virtualisation binds are the supervisor's too: it checks the
/// virtual port against `tcp_bind`.
pub(crate) fn landlock_tcp(policy: &Policy) -> LandlockTcp {
    let net = &policy.net;
    let mut connect_ports = policy.tcp_connect.clone();
    let mut connect = !net.port_remap;
    if net.has_rules() {
        match policy.net_policy().landlock_tcp_connect_ports() {
            None => connect = false,
            Some(ranges) => connect_ports.extend(ranges.into_iter().map(|r| PortRange {
                first: r.first(),
                last: r.last(),
            })),
        }
    }
    LandlockTcp {
        bind: !net.port_remap,
        connect,
        connect_ports,
    }
}

/// Whether the supervisor must decide connects and sends: rules given, ports virtualised, or
/// no Landlock TCP rules to keep the default (no outbound TCP) and a listener to be had.
fn supervised(policy: &Policy, kernel: &KernelFeatures) -> bool {
    policy.net.has_rules()
        || policy.net.port_remap
        || (kernel.effective_landlock_abi() < 4 && !crate::features::listener_blocked())
}

/// Adds this feature's static rules to the seccomp filter (used by `confine.rs`): `socket()`
/// of ping sockets is `EACCES` unless an `icmp://` rule may allow one, and, when nothing but
/// Landlock's TCP rules governs the network (the default), every IP socket but a TCP stream.
pub(crate) fn filter_rules(policy: &Policy, filter: &mut Filter) -> Result<(), PrepareError> {
    const SOCK_TYPE_MASK: u32 = 0xf;
    let deny = |conds: Vec<Cond>| BpfRule::new(Action::Errno(libc::EACCES as u16), conds);
    let kernel = KernelFeatures::get_without_child();
    let supervised = supervised(policy, kernel);
    // Not supervised below ABI 4 means the default can be kept neither by Landlock nor by the
    // supervisor (a nested sandbox gets no listener): then the filter denies every IP socket,
    // which is stricter than the default, never looser.
    let ip_sockets_denied = !supervised && kernel.effective_landlock_abi() < 4;
    let icmp_may_be_allowed = policy.net_policy().may_allow_icmp();
    let mut rules = Vec::new();
    for (domain, icmp) in [
        (libc::AF_INET, libc::IPPROTO_ICMP),
        (libc::AF_INET6, libc::IPPROTO_ICMPV6),
    ] {
        let domain = Cond::eq32(0, domain as u32)?;
        if !icmp_may_be_allowed {
            rules.push(deny(vec![
                domain,
                Cond::masked_eq32(1, SOCK_TYPE_MASK, libc::SOCK_DGRAM as u32)?,
                Cond::eq32(2, icmp as u32)?,
            ])?);
        }
        if ip_sockets_denied {
            rules.push(deny(vec![domain])?);
        }
        // SCTP and MPTCP always: supervised, they would send to a sendmsg address the
        // supervisor lets through below; unsupervised, nothing but Landlock's TCP rules
        // governs the network, so UDP goes too.
        let mut types = vec![libc::SOCK_SEQPACKET, libc::SOCK_RDM];
        if !supervised {
            types.push(libc::SOCK_DGRAM);
        }
        for ty in types {
            rules.push(deny(vec![
                domain,
                Cond::masked_eq32(1, SOCK_TYPE_MASK, ty as u32)?,
            ])?);
        }
        rules.push(deny(vec![
            domain,
            Cond::masked_eq32(1, SOCK_TYPE_MASK, libc::SOCK_STREAM as u32)?,
            Cond::ne32(2, 0)?,
            Cond::ne32(2, libc::IPPROTO_TCP as u32)?,
        ])?);
    }
    if supervised {
        // The spawned command sends its seccomp listener with sendmsg after its filter is in
        // place, before the supervisor can answer anything: that exact call must not be
        // notified. Its flags include MSG_PROBE, which makes a UDP or ICMP send a no-op, and a
        // TCP send with an address but no MSG_FASTOPEN goes to the connected peer only, so
        // these flags reach no destination the rules have not seen (see
        // sandlock_sys::scm::SEND_WITH_FD_FLAGS). Added before the notify rule: first match.
        filter.add_rule(
            "sendmsg",
            BpfRule::new(
                Action::Allow,
                vec![Cond::eq32(2, sandlock_sys::scm::SEND_WITH_FD_FLAGS as u32)?],
            )?,
        )?;
    }
    for rule in rules {
        filter.add_rule("socket", rule)?;
    }
    Ok(())
}

/// The agent as the handlers see it.
struct AgentSpawner(Agent);

impl NetWorker for Worker {
    fn confined(&self) -> Result<(), Errno> {
        Worker::confined(self)
    }

    fn chdir(&mut self, dir: BorrowedFd<'_>) -> Result<(), Errno> {
        Worker::chdir(self, dir)
    }
}

impl Spawner for AgentSpawner {
    fn spawn(&self, job: Job) {
        self.0.spawn(move |w| job(w));
    }
}

/// The synthetic `/etc/hosts`: localhost, then every address each named host of the rules
/// resolved to at start.
pub(crate) fn hosts_file(rules: &[ResolvedRule]) -> Vec<u8> {
    let mut out = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (ip, host) in rules::hosts_entries(rules) {
        out.push_str(&format!("{ip}\t{host}\n"));
    }
    out.into_bytes()
}

/// The `/proc/net` tables served to a sandbox under port virtualisation.
const PROC_NET: [(&str, &str, Transport); 4] = [
    ("/proc/self/net/tcp", "/proc/net/tcp", Transport::Tcp),
    ("/proc/self/net/tcp6", "/proc/net/tcp6", Transport::Tcp),
    ("/proc/self/net/udp", "/proc/net/udp", Transport::Udp),
    ("/proc/self/net/udp6", "/proc/net/udp6", Transport::Udp),
];

/// The socket inodes held by the sandbox's processes (the init's descendants).
fn sandbox_socket_inodes(init_pid: i32) -> HashSet<u64> {
    let mut out = HashSet::new();
    for pid in crate::tree::descendants(init_pid, false) {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for entry in dir.flatten() {
            if let Ok(link) = std::fs::read_link(entry.path())
                && let Some(ino) =
                    sandlock_net::procnet::socket_inode(link.as_os_str().as_encoded_bytes())
            {
                out.insert(ino);
            }
        }
    }
    out
}

/// The sandbox's port map as [`PortMapping`]s.
fn mappings(map: &PortMap) -> Vec<PortMapping> {
    map.remapped()
        .into_iter()
        .map(|(t, v, r)| PortMapping {
            protocol: t.name(),
            virtual_port: v,
            real_port: r,
        })
        .collect()
}

/// The state file: a header line with the pids, then `PROTO VIRTUAL REAL` per mapping.
fn write_state(path: &Path, command_pid: i32, mappings: &[PortMapping]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "# sandlock {} command {command_pid}", std::process::id())?;
    for m in mappings {
        writeln!(f, "{} {} {}", m.protocol, m.virtual_port, m.real_port)?;
    }
    std::fs::rename(tmp, path)
}

/// Keeps a sandbox's state file up to date on a thread of its own: the port map changes in a
/// worker, which is confined like the sandbox and may not write there. Started from the
/// supervisor thread (unconfined); it removes the file and ends when the sender is dropped
/// with the sandbox's handlers.
fn state_writer(path: PathBuf, command_pid: i32) -> Option<Sender<Vec<PortMapping>>> {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<PortMapping>>();
    let _ = write_state(&path, command_pid, &[]);
    let started = std::thread::Builder::new()
        .name("sandlock-ports".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || {
            while let Ok(m) = rx.recv() {
                let _ = write_state(&path, command_pid, &m);
            }
            let _ = std::fs::remove_file(&path);
        });
    started.ok().map(|_| tx)
}

/// Adds what this feature needs from the supervisor to `plan`.
pub(crate) fn plan(
    policy: &Policy,
    kernel: &KernelFeatures,
    plan: &mut Plan,
) -> Result<(), PrepareError> {
    let net = &policy.net;
    if !supervised(policy, kernel) {
        return Ok(());
    }
    if !kernel.pidfd_getfd.is_available() {
        return Err(PrepareError::Feature {
            feature: "network",
            message: "network rules need pidfd_getfd (Linux 5.6) to act on the sandbox's sockets"
                .to_owned(),
        });
    }
    plan.notify(&["connect", "sendto", "sendmsg", "sendmmsg"]);
    if net.port_remap {
        plan.notify(&["bind", "getsockname", "getpeername"]);
    }
    let mut opts = NetOptions::new(policy.net_policy());
    opts.port_remap = net.port_remap;
    opts.bind_ports = Some(
        policy
            .tcp_bind
            .iter()
            .filter_map(|r| sandlock_net::rules::PortRange::new(r.first.max(1), r.last))
            .collect(),
    );
    opts.abstract_unix = if policy.ipc_scoping && kernel.effective_landlock_abi() >= 6 {
        AbstractUnix::Deny
    } else {
        AbstractUnix::Direct
    };
    let state_dir = net.port_state_dir.clone();
    let remap = net.port_remap;
    plan.installer("network", move |inst, t| {
        let writer = state_dir.as_ref().and_then(|d| {
            state_writer(
                d.join(format!("{}.ports", inst.command_pid)),
                inst.command_pid,
            )
        });
        let writer = std::sync::Mutex::new(writer);
        let for_ports = inst.clone();
        let on_ports: sandlock_net::handlers::PortsChanged = Arc::new(move |map: &PortMap| {
            let m = mappings(map);
            if let Some(tx) = writer.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                let _ = tx.send(m.clone());
            }
            for_ports.with_report(|r| r.ports = m);
        });
        let spawner = Rc::new(AgentSpawner(inst.agent.clone()));
        let init_pid = inst.init_pid;
        let abstract_check: sandlock_net::handlers::AbstractCheck =
            Rc::new(move |name: &[u8]| {
                let Ok(table) = std::fs::read_to_string("/proc/net/unix") else {
                    return false;
                };
                let bound = sandlock_net::procnet::abstract_inodes(&table, name);
                !bound.is_empty() && {
                    let ours = sandbox_socket_inodes(init_pid);
                    bound.iter().any(|ino| ours.contains(ino))
                }
            });
        let h = Rc::new(
            NetHandlers::new(opts.clone(), spawner, on_ports).with_abstract_check(abstract_check),
        );
        let a = Rc::clone(&h);
        t.on("connect", move |ctx| a.connect(ctx));
        let a = Rc::clone(&h);
        t.on("sendto", move |ctx| a.sendto(ctx));
        let a = Rc::clone(&h);
        t.on("sendmsg", move |ctx| a.sendmsg(ctx));
        let a = Rc::clone(&h);
        t.on("sendmmsg", move |ctx| a.sendmmsg(ctx));
        if remap {
            let a = Rc::clone(&h);
            t.on("bind", move |ctx| a.bind(ctx));
            let a = Rc::clone(&h);
            t.on("getsockname", move |ctx| a.getsockname(ctx));
            let a = Rc::clone(&h);
            t.on("getpeername", move |ctx| a.getpeername(ctx));
        }
    });
    if net.port_remap {
        for (key, table, transport) in PROC_NET {
            plan.open_hook(key, move |inst, _req| {
                let content = std::fs::read_to_string(table).ok()?;
                let inodes = sandbox_socket_inodes(inst.init_pid);
                let map = port_map_of(inst);
                Some(OpenAnswer::Content(
                    sandlock_net::procnet::filter_table(&content, transport, &inodes, &map)
                        .into_bytes(),
                ))
            });
        }
    }
    let entries = rules::hosts_entries(policy.net_policy().rules());
    if policy.net_policy().mode() == Mode::AllowList && !entries.is_empty() {
        let hosts = hosts_file(policy.net_policy().rules());
        plan.open_hook("/etc/hosts", move |_inst, _req| {
            Some(OpenAnswer::Content(hosts.clone()))
        });
    }
    Ok(())
}

/// The sandbox's port map, as last published in its report.
fn port_map_of(inst: &Instance) -> PortMap {
    let mut map = PortMap::new();
    inst.with_report(|r| {
        for p in &r.ports {
            let t = if p.protocol == "udp" {
                Transport::Udp
            } else {
                Transport::Tcp
            };
            map.insert(t, p.virtual_port, p.real_port);
        }
    });
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_file_lists_localhost_and_the_named_hosts() {
        let rule = Rule::parse("tcp://api.example:443")
            .unwrap()
            .resolve(|_| {
                Ok(vec![
                    "192.0.2.7".parse().unwrap(),
                    "2001:db8::7".parse().unwrap(),
                ])
            })
            .unwrap();
        let text = String::from_utf8(hosts_file(&[rule])).unwrap();
        assert_eq!(
            text,
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
             192.0.2.7\tapi.example\n2001:db8::7\tapi.example\n"
        );
    }

    #[test]
    fn landlock_ports_follow_the_rules() {
        let p = Policy::builder().build().unwrap();
        let ll = landlock_tcp(&p);
        assert!(ll.bind && ll.connect && ll.connect_ports.is_empty());
        let p = Policy::builder()
            .net_allow("127.0.0.1:8080,9000-9001")
            .unwrap()
            .net_allow("udp://*:53")
            .unwrap()
            .build()
            .unwrap();
        let ll = landlock_tcp(&p);
        assert!(ll.connect);
        assert_eq!(
            ll.connect_ports,
            vec![
                PortRange {
                    first: 8080,
                    last: 8080
                },
                PortRange {
                    first: 9000,
                    last: 9001
                }
            ]
        );
        let p = Policy::builder().net_allow("*").unwrap().build().unwrap();
        assert!(!landlock_tcp(&p).connect);
        let p = Policy::builder().port_remap(true).build().unwrap();
        let ll = landlock_tcp(&p);
        assert!(!ll.bind && !ll.connect);
    }

    #[test]
    fn allow_and_deny_do_not_combine() {
        let err = Policy::builder()
            .net_allow("10.0.0.1")
            .unwrap()
            .net_deny("10.0.0.2")
            .unwrap()
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("cannot be combined"), "{err}");
        let err = Policy::builder()
            .net_allow("no-such-host.invalid:80")
            .unwrap_err();
        assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
    }
}

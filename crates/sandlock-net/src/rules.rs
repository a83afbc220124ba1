//! The `--net-allow` / `--net-deny` rule grammar and its matching.
//!
//! # Grammar
//!
//! A rule is `[tcp://|udp://|icmp://]TARGET[:PORTS]`:
//!
//! - no scheme means TCP and UDP; `icmp://TARGET` allows ping sockets to TARGET and takes no
//!   ports;
//! - TARGET is `*` (any address), an IPv4 address (`10.1.2.3`), an IPv4 network
//!   (`10.0.0.0/8`), an IPv6 address or network in brackets (`[::1]`, `[2001:db8::/32]`: the
//!   prefix length goes *inside* the brackets), or a hostname (`example.com`);
//! - `:PORTS` is `80`, `80,443`, `8000-8100` or `*`; without it every port matches;
//! - `:PORTS` alone (`:443`) means any host, like `*:443`.
//!
//! Decisions on the corner cases, each tested in `tests/rules.rs`:
//!
//! - a network with host bits set (`10.1.2.3/8`) is rejected, with the network it probably
//!   meant in the message: widening a typo silently is not what a sandbox should do;
//! - IPv6 zone ids (`[fe80::1%eth0]`) are rejected: the destination check ignores the scope;
//! - port 0 is rejected (use `*` for any port); nobody can reach a peer on port 0;
//! - an IPv6 address without brackets is rejected, since `2001:db8::1:80` is ambiguous;
//! - an IPv4-mapped IPv6 target (`[::ffff:10.0.0.0/104]`) is stored as the IPv4 it carries
//!   (`10.0.0.0/8`); any other IPv6 network, even `[::/0]`, matches only IPv6 destinations;
//! - duplicate rules are accepted and have no effect.
//!
//! # Matching
//!
//! A [`NetPolicy`] is an allow list (default deny, from `--net-allow`) or a deny list (default
//! allow, from `--net-deny`); the two cannot be combined. [`NetPolicy::decide`] takes the
//! destination of a connect or send. Before matching, the destination is put into the form the
//! kernel will actually use: an IPv4-mapped IPv6 address becomes the IPv4 it carries, and an
//! unspecified address (`0.0.0.0`, `::`), which Linux sends to loopback, becomes `127.0.0.1` or
//! `::1`.
//!
//! With no rules at all, every destination is denied, loopback included: a rule must name
//! loopback (`127.0.0.1:8080`, `localhost:*`, `*`) to reach it.
//!
//! # Hostnames
//!
//! A hostname is resolved once, before the sandbox starts ([`Rule::resolve`] with
//! [`resolve_host`] or a test resolver), and the rule is pinned to those addresses. The name
//! stays with the [`ResolvedRule`] so that the supervisor can give the child a synthetic
//! `/etc/hosts` ([`hosts_entries`]): a sandbox without DNS access still finds its allowed hosts.
//!
//! In deny-list mode a hostname denies the addresses it resolved to at start, and the child's
//! `/etc/hosts` points the name at them; a program that finds another address of the same
//! service (its own DNS, a hard-coded IP) is not stopped. A deny list is a convenience, not a
//! boundary against a hostile program: use an allow list for that.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// Text for the CLI's `--help`: the grammar, the default and how the options combine.
pub const HELP: &str = "\
Network rules (--net-allow SPEC, --net-deny SPEC; repeatable):
  SPEC is [tcp://|udp://|icmp://]TARGET[:PORTS]
    TARGET  *, 10.1.2.3, 10.0.0.0/8, [::1], [2001:db8::/32] or a hostname
    PORTS   80, 80,443, 8000-8100 or * (the default: every port)
    :443 alone means any host; no scheme means TCP and UDP;
    icmp://TARGET allows ping sockets to TARGET (no ports).
  With no network option, no outbound IP traffic is allowed, loopback included.
  --net-allow allows only what its rules name; to reach loopback, name it
    (--net-allow 127.0.0.1:8080, --net-allow localhost:*).
  --net-deny allows everything except what its rules name; it cannot be combined with
    --net-allow, and it is no protection against a program that looks for another address.
  Anything goes: --net-allow '*' (every TCP and UDP destination; add
    --net-allow 'icmp://*' for ping).
  Hostnames are resolved before start and pinned: the sandbox sees them in a synthetic
    /etc/hosts, so it needs no DNS access to reach them.
  --net-allow and --net-deny govern destinations (connect, sendto, sendmsg). Binding a
    listening port is governed by --net-allow-bind PORTS alone (Landlock); an on-behalf
    connect or bind still honours the Landlock port rules.";

/// A transport protocol of a destination to decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Proto {
    /// A TCP connect (or a TCP Fast Open send).
    Tcp,
    /// A UDP connect or send.
    Udp,
    /// A ping socket (`SOCK_DGRAM`, `IPPROTO_ICMP` or `IPPROTO_ICMPV6`) connect or send.
    Icmp,
}

/// The protocols a rule applies to: its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// No scheme: TCP and UDP.
    TcpUdp,
    /// `tcp://`.
    Tcp,
    /// `udp://`.
    Udp,
    /// `icmp://`: ping sockets.
    Icmp,
}

impl Scheme {
    /// Whether a rule with this scheme applies to `proto`.
    pub fn covers(self, proto: Proto) -> bool {
        matches!(
            (self, proto),
            (Scheme::TcpUdp, Proto::Tcp | Proto::Udp)
                | (Scheme::Tcp, Proto::Tcp)
                | (Scheme::Udp, Proto::Udp)
                | (Scheme::Icmp, Proto::Icmp)
        )
    }

    fn prefix(self) -> &'static str {
        match self {
            Scheme::TcpUdp => "",
            Scheme::Tcp => "tcp://",
            Scheme::Udp => "udp://",
            Scheme::Icmp => "icmp://",
        }
    }
}

/// An inclusive range of ports, never containing port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    /// The range `first..=last`, or `None` if it is empty or contains port 0.
    pub fn new(first: u16, last: u16) -> Option<Self> {
        (first != 0 && first <= last).then_some(PortRange { first, last })
    }

    /// First port.
    pub fn first(self) -> u16 {
        self.first
    }

    /// Last port (≥ [`first`](Self::first)).
    pub fn last(self) -> u16 {
        self.last
    }

    /// Whether `port` is in the range.
    pub fn contains(self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// The ports a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ports {
    /// Every port (`*`, or no `:PORTS`).
    Any,
    /// These ranges, in the order given (never empty).
    List(Vec<PortRange>),
}

impl Ports {
    /// Whether `port` is one of these ports.
    pub fn contains(&self, port: u16) -> bool {
        match self {
            Ports::Any => true,
            Ports::List(ranges) => ranges.iter().any(|r| r.contains(port)),
        }
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ports::Any => f.write_str("*"),
            Ports::List(ranges) => {
                for (i, r) in ranges.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

/// An IP network: an address with no bits set past its prefix length.
///
/// An IPv4-mapped IPv6 network is stored as the IPv4 network it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network `addr/prefix`, or `None` if the prefix is too long for the family or `addr`
    /// has bits set past it.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        if prefix > max_prefix(addr) || network_of(addr, prefix) != addr {
            return None;
        }
        if let IpAddr::V6(v6) = addr
            && prefix >= 96
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Some(IpNet {
                addr: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Some(IpNet { addr, prefix })
    }

    /// The network holding exactly `addr` (a v4-mapped address becomes its IPv4).
    pub fn host(addr: IpAddr) -> Self {
        let addr = unmap(addr);
        IpNet {
            addr,
            prefix: max_prefix(addr),
        }
    }

    /// The network address.
    pub fn addr(self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in the network. A v4-mapped `ip` is taken as the IPv4 it carries.
    pub fn contains(self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                network_of(ip, self.prefix) == self.addr
            }
            _ => false,
        }
    }
}

/// Shown as in a rule: `10.0.0.0/8`, `10.1.2.3`, `[2001:db8::/32]`, `[::1]`.
impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.prefix == max_prefix(self.addr);
        match (self.addr, full) {
            (IpAddr::V4(a), true) => write!(f, "{a}"),
            (IpAddr::V4(a), false) => write!(f, "{a}/{}", self.prefix),
            (IpAddr::V6(a), true) => write!(f, "[{a}]"),
            (IpAddr::V6(a), false) => write!(f, "[{a}/{}]", self.prefix),
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `addr` with the bits past `prefix` cleared (`prefix` at most the family's width).
fn network_of(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

/// A v4-mapped IPv6 address as the IPv4 it carries; any other address unchanged.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The address the kernel will really send to: unmapped, and loopback for an unspecified
/// address (Linux routes a connect or send to `0.0.0.0` or `::` to the local host).
fn effective_destination(ip: IpAddr) -> IpAddr {
    match unmap(ip) {
        IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(a) if a.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// What a rule names, as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// `*` or an empty target before `:PORTS`: every address.
    Any,
    /// A hostname, resolved before start by [`Rule::resolve`].
    Host(String),
    /// An address or network.
    Net(IpNet),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Any => f.write_str("*"),
            Target::Host(h) => f.write_str(h),
            Target::Net(n) => write!(f, "{n}"),
        }
    }
}

/// An invalid rule, or a hostname that did not resolve. Each message names the offending
/// part and the whole rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// An empty rule.
    #[error("empty network rule")]
    Empty,
    /// A scheme other than `tcp://`, `udp://` or `icmp://`.
    #[error("unknown scheme {scheme} in {spec:?} (expected tcp://, udp:// or icmp://)")]
    UnknownScheme {
        /// The scheme, with `://`.
        scheme: String,
        /// The whole rule.
        spec: String,
    },
    /// Nothing after the scheme.
    #[error("missing target in {spec:?} (use * for any host)")]
    MissingTarget {
        /// The whole rule.
        spec: String,
    },
    /// An empty port: `host:`, `80,`, `80,,443`.
    #[error("empty port in {spec:?}")]
    EmptyPort {
        /// The whole rule.
        spec: String,
    },
    /// A port or range bound that is not a number from 1 to 65535.
    #[error("invalid port {part} in {spec:?}")]
    InvalidPort {
        /// The list element.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A range whose first port is above its last.
    #[error("invalid port range {part} in {spec:?}")]
    InvalidPortRange {
        /// The range.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// Port 0, alone or starting a range.
    #[error("port 0 in {spec:?} (use * for any port)")]
    PortZero {
        /// The whole rule.
        spec: String,
    },
    /// `*` inside a list of ports.
    #[error("* cannot be combined with other ports in {spec:?}")]
    WildcardInList {
        /// The whole rule.
        spec: String,
    },
    /// Ports on an `icmp://` rule.
    #[error("icmp rules take no ports, in {spec:?}")]
    IcmpPorts {
        /// The whole rule.
        spec: String,
    },
    /// A target that looks like IPv4 but is not an IPv4 address.
    #[error("invalid ipv4 address {part} in {spec:?}")]
    InvalidIpv4 {
        /// The address.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// Bracket contents that are not an IPv6 address.
    #[error("invalid ipv6 address {part} in {spec:?}")]
    InvalidIpv6 {
        /// The text inside the brackets, without the prefix length.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A number alone as the target, probably meant as a port.
    #[error("{part} is not a host (for a port on any host write :{part}), in {spec:?}")]
    BarePort {
        /// The number.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A prefix length that is not a number or too long for the family.
    #[error("invalid prefix length /{part} in {spec:?}")]
    InvalidPrefix {
        /// The prefix length, without `/`.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A network address with bits set past its prefix length.
    #[error("{part} has host bits set (did you mean {network}?) in {spec:?}")]
    HostBits {
        /// The network as written.
        part: String,
        /// The network with the host bits cleared, as a rule would write it.
        network: String,
        /// The whole rule.
        spec: String,
    },
    /// An IPv6 zone id such as `%eth0`.
    #[error("ipv6 zone id in {part} is not supported, in {spec:?}")]
    ZoneId {
        /// The bracket contents.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// An IPv6 address without brackets.
    #[error("ipv6 addresses need brackets, e.g. [::1]:443 or [2001:db8::/32], in {spec:?}")]
    UnbracketedIpv6 {
        /// The whole rule.
        spec: String,
    },
    /// `[2001:db8::]/32`: the prefix length outside the brackets.
    #[error("prefix length {part} goes inside the brackets, e.g. [2001:db8::/32]:443, in {spec:?}")]
    PrefixOutsideBrackets {
        /// The prefix, with `/`.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A `[` without `]`.
    #[error("missing ] in {spec:?}")]
    UnclosedBracket {
        /// The whole rule.
        spec: String,
    },
    /// Text after `]` other than `:PORTS`.
    #[error("unexpected {part:?} after ] in {spec:?}")]
    TrailingText {
        /// The text after `]`.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A target that is neither `*`, an address, a network nor a valid hostname.
    #[error("invalid hostname {part:?} in {spec:?}")]
    InvalidHostname {
        /// The target.
        part: String,
        /// The whole rule.
        spec: String,
    },
    /// A hostname the resolver failed on.
    #[error("cannot resolve host {host}")]
    Unresolved {
        /// The hostname.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// A hostname that resolved to no address.
    #[error("host {host} resolved to no address")]
    NoAddress {
        /// The hostname.
        host: String,
    },
    /// Both allow and deny rules.
    #[error("--net-allow and --net-deny cannot be combined")]
    AllowAndDeny,
}

/// A parsed rule, before hostname resolution. Parse with [`Rule::parse`] or `str::parse`;
/// [`Display`](fmt::Display) writes it back in a form that parses to the same rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    scheme: Scheme,
    target: Target,
    ports: Ports,
}

impl Rule {
    /// Parses `[tcp://|udp://|icmp://]TARGET[:PORTS]` (see the [module docs](self)).
    ///
    /// # Errors
    /// A [`RuleError`] naming the offending part.
    pub fn parse(spec: &str) -> Result<Rule, RuleError> {
        let owned = || spec.to_owned();
        if spec.is_empty() {
            return Err(RuleError::Empty);
        }
        let (scheme, rest) = match spec.split_once("://") {
            Some(("tcp", rest)) => (Scheme::Tcp, rest),
            Some(("udp", rest)) => (Scheme::Udp, rest),
            Some(("icmp", rest)) => (Scheme::Icmp, rest),
            Some((other, _)) => {
                return Err(RuleError::UnknownScheme {
                    scheme: format!("{other}://"),
                    spec: owned(),
                });
            }
            None => (Scheme::TcpUdp, spec),
        };
        if rest.is_empty() {
            return Err(RuleError::MissingTarget { spec: owned() });
        }
        let (target, ports) = if let Some(inside) = rest.strip_prefix('[') {
            let (inside, after) = inside
                .split_once(']')
                .ok_or_else(|| RuleError::UnclosedBracket { spec: owned() })?;
            let target = parse_ipv6_target(inside, spec)?;
            let ports = if after.is_empty() {
                None
            } else if let Some(ports) = after.strip_prefix(':') {
                Some(ports)
            } else if after.starts_with('/') {
                let part = after.split(':').next().unwrap_or(after);
                return Err(RuleError::PrefixOutsideBrackets {
                    part: part.to_owned(),
                    spec: owned(),
                });
            } else {
                return Err(RuleError::TrailingText {
                    part: after.to_owned(),
                    spec: owned(),
                });
            };
            (target, ports)
        } else {
            let (target, ports) = match rest.split_once(':') {
                Some((_, ports)) if ports.contains(':') => {
                    return Err(RuleError::UnbracketedIpv6 { spec: owned() });
                }
                Some(("", ports)) => ("*", Some(ports)),
                Some((target, ports)) => (target, Some(ports)),
                None => (rest, None),
            };
            (parse_plain_target(target, spec)?, ports)
        };
        let ports = match ports {
            None => Ports::Any,
            Some(_) if scheme == Scheme::Icmp => {
                return Err(RuleError::IcmpPorts { spec: owned() });
            }
            Some(ports) => parse_ports(ports, spec)?,
        };
        Ok(Rule {
            scheme,
            target,
            ports,
        })
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The target as written.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The ports ([`Ports::Any`] for `icmp://`).
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// Pins the rule to addresses: a hostname is looked up with `resolver` (normally
    /// [`resolve_host`]); other targets are kept and `resolver` is not called.
    ///
    /// # Errors
    /// [`RuleError::Unresolved`] or [`RuleError::NoAddress`], naming the host.
    pub fn resolve(
        self,
        resolver: impl Fn(&str) -> io::Result<Vec<IpAddr>>,
    ) -> Result<ResolvedRule, RuleError> {
        let (target, host) = match self.target {
            Target::Any => (ResolvedTarget::Any, None),
            Target::Net(net) => (ResolvedTarget::Nets(vec![net]), None),
            Target::Host(host) => {
                let addrs = match resolver(&host) {
                    Ok(addrs) => addrs,
                    Err(source) => return Err(RuleError::Unresolved { host, source }),
                };
                let mut nets: Vec<IpNet> = Vec::with_capacity(addrs.len());
                for net in addrs.into_iter().map(IpNet::host) {
                    if !nets.contains(&net) {
                        nets.push(net);
                    }
                }
                if nets.is_empty() {
                    return Err(RuleError::NoAddress { host });
                }
                (ResolvedTarget::Nets(nets), Some(host))
            }
        };
        Ok(ResolvedRule {
            scheme: self.scheme,
            target,
            ports: self.ports,
            host,
        })
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::parse(s)
    }
}

/// Writes the canonical form: `:443` becomes `*:443`, `host:*` becomes `host`, `80-80`
/// becomes `80`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.scheme.prefix(), self.target)?;
        match &self.ports {
            Ports::Any => Ok(()),
            ports => write!(f, ":{ports}"),
        }
    }
}

/// Bracket contents: `::1`, `2001:db8::/32`.
fn parse_ipv6_target(inside: &str, spec: &str) -> Result<Target, RuleError> {
    if inside.contains('%') {
        return Err(RuleError::ZoneId {
            part: inside.to_owned(),
            spec: spec.to_owned(),
        });
    }
    let (addr_text, prefix_text) = match inside.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (inside, None),
    };
    let addr: Ipv6Addr = addr_text.parse().map_err(|_| RuleError::InvalidIpv6 {
        part: addr_text.to_owned(),
        spec: spec.to_owned(),
    })?;
    net_target(IpAddr::V6(addr), inside, prefix_text, spec)
}

/// A target outside brackets: `*`, an IPv4 address or network, or a hostname.
fn parse_plain_target(target: &str, spec: &str) -> Result<Target, RuleError> {
    if target == "*" {
        return Ok(Target::Any);
    }
    if let Some((addr_text, prefix_text)) = target.split_once('/') {
        let addr: Ipv4Addr = addr_text.parse().map_err(|_| RuleError::InvalidIpv4 {
            part: addr_text.to_owned(),
            spec: spec.to_owned(),
        })?;
        return net_target(IpAddr::V4(addr), target, Some(prefix_text), spec);
    }
    if let Ok(addr) = target.parse::<Ipv4Addr>() {
        return Ok(Target::Net(IpNet::host(IpAddr::V4(addr))));
    }
    if !target.is_empty() && target.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RuleError::BarePort {
            part: target.to_owned(),
            spec: spec.to_owned(),
        });
    }
    // Digits and dots that are not an address (`10.0.0.256`, `2130706433`, `010.0.0.1`) would
    // be taken by the resolver as some address in a form nobody meant; refuse them.
    if target.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(RuleError::InvalidIpv4 {
            part: target.to_owned(),
            spec: spec.to_owned(),
        });
    }
    if is_hostname(target) {
        return Ok(Target::Host(target.to_owned()));
    }
    Err(RuleError::InvalidHostname {
        part: target.to_owned(),
        spec: spec.to_owned(),
    })
}

fn net_target(
    addr: IpAddr,
    written: &str,
    prefix_text: Option<&str>,
    spec: &str,
) -> Result<Target, RuleError> {
    let Some(prefix_text) = prefix_text else {
        return Ok(Target::Net(IpNet::host(addr)));
    };
    let bad_prefix = || RuleError::InvalidPrefix {
        part: prefix_text.to_owned(),
        spec: spec.to_owned(),
    };
    if prefix_text.is_empty() || !prefix_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_prefix());
    }
    let prefix: u8 = prefix_text.parse().map_err(|_| bad_prefix())?;
    if prefix > max_prefix(addr) {
        return Err(bad_prefix());
    }
    match IpNet::new(addr, prefix) {
        Some(net) => Ok(Target::Net(net)),
        None => {
            let network = network_of(addr, prefix);
            let network = match network {
                IpAddr::V4(_) => format!("{network}/{prefix}"),
                IpAddr::V6(_) => format!("[{network}/{prefix}]"),
            };
            let part = match addr {
                IpAddr::V4(_) => written.to_owned(),
                IpAddr::V6(_) => format!("[{written}]"),
            };
            Err(RuleError::HostBits {
                part,
                network,
                spec: spec.to_owned(),
            })
        }
    }
}

/// A DNS name: labels of letters, digits, `-` and `_` (seen in real names), at most 63 bytes
/// each, not starting or ending with `-`; at most 253 bytes; one trailing dot allowed.
fn is_hostname(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn parse_ports(text: &str, spec: &str) -> Result<Ports, RuleError> {
    if text == "*" {
        return Ok(Ports::Any);
    }
    let mut ranges = Vec::new();
    for part in text.split(',') {
        if part.is_empty() {
            return Err(RuleError::EmptyPort {
                spec: spec.to_owned(),
            });
        }
        if part == "*" {
            return Err(RuleError::WildcardInList {
                spec: spec.to_owned(),
            });
        }
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let port = |t: &str| {
            // u16::from_str accepts a leading `+`; a port is digits only.
            t.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| t.parse::<u16>().ok())
                .flatten()
                .ok_or_else(|| RuleError::InvalidPort {
                    part: part.to_owned(),
                    spec: spec.to_owned(),
                })
        };
        let (first, last) = (port(a)?, port(b)?);
        if first == 0 {
            return Err(RuleError::PortZero {
                spec: spec.to_owned(),
            });
        }
        if first > last {
            return Err(RuleError::InvalidPortRange {
                part: part.to_owned(),
                spec: spec.to_owned(),
            });
        }
        ranges.push(PortRange { first, last });
    }
    Ok(Ports::List(ranges))
}

/// The system resolver (`getaddrinfo` through [`ToSocketAddrs`]): the default for
/// [`Rule::resolve`].
///
/// # Errors
/// The resolver's error.
pub fn resolve_host(host: &str) -> io::Result<Vec<IpAddr>> {
    Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).collect())
}

/// The addresses a resolved rule matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResolvedTarget {
    /// Every address.
    Any,
    /// These networks (never empty; a hostname gives one host network per address).
    Nets(Vec<IpNet>),
}

/// A rule pinned to addresses, ready for matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolvedRule {
    scheme: Scheme,
    target: ResolvedTarget,
    ports: Ports,
    host: Option<String>,
}

impl ResolvedRule {
    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The addresses.
    pub fn target(&self) -> &ResolvedTarget {
        &self.target
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The hostname the addresses came from, if the rule named one.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Whether the rule matches a destination. `addr` is taken as the kernel will use it
    /// (v4-mapped as IPv4, unspecified as loopback); the port is ignored for
    /// [`Proto::Icmp`].
    pub fn matches(&self, proto: Proto, addr: SocketAddr) -> bool {
        self.matches_ip(proto, effective_destination(addr.ip()), addr.port())
    }

    fn matches_ip(&self, proto: Proto, ip: IpAddr, port: u16) -> bool {
        self.scheme.covers(proto)
            && (proto == Proto::Icmp || self.ports.contains(port))
            && match &self.target {
                ResolvedTarget::Any => true,
                ResolvedTarget::Nets(nets) => nets.iter().any(|n| n.contains(ip)),
            }
    }
}

/// For `--print-policy`: the rule, then the addresses a hostname resolved to, e.g.
/// `tcp://example.com:443 (93.184.215.14, [2606:2800:21f:cb07:6820:80da:af6b:8b2c])`.
impl fmt::Display for ResolvedRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme.prefix())?;
        match (&self.host, &self.target) {
            (Some(host), _) => f.write_str(host)?,
            (None, ResolvedTarget::Any) => f.write_str("*")?,
            (None, ResolvedTarget::Nets(nets)) => {
                for (i, n) in nets.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{n}")?;
                }
            }
        }
        if self.ports != Ports::Any {
            write!(f, ":{}", self.ports)?;
        }
        if let (Some(_), ResolvedTarget::Nets(nets)) = (&self.host, &self.target) {
            f.write_str(" (")?;
            for (i, n) in nets.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{n}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Lines for the synthetic `/etc/hosts`: each address each named host resolved to, in rule
/// order, without repeats.
pub fn hosts_entries(rules: &[ResolvedRule]) -> Vec<(IpAddr, String)> {
    let mut out: Vec<(IpAddr, String)> = Vec::new();
    for rule in rules {
        let (Some(host), ResolvedTarget::Nets(nets)) = (&rule.host, &rule.target) else {
            continue;
        };
        for net in nets {
            let entry = (net.addr, host.clone());
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

/// Whether rules allow or deny what they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// `--net-allow`: a destination is allowed only if a rule matches it.
    AllowList,
    /// `--net-deny`: a destination is allowed unless a rule matches it.
    DenyList,
}

/// The verdict on a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// Perform the call.
    Allow,
    /// Refuse the call.
    Deny,
}

/// The outbound network policy of a sandbox: a mode and resolved rules.
///
/// The default denies every destination, loopback included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPolicy {
    mode: Mode,
    rules: Vec<ResolvedRule>,
}

impl Default for NetPolicy {
    fn default() -> Self {
        NetPolicy::allow_list(Vec::new())
    }
}

impl NetPolicy {
    /// Allows only what `rules` match (none: deny everything). Duplicates are dropped.
    pub fn allow_list(rules: Vec<ResolvedRule>) -> Self {
        NetPolicy::new(Mode::AllowList, rules)
    }

    /// Allows everything but what `rules` match. Duplicates are dropped.
    pub fn deny_list(rules: Vec<ResolvedRule>) -> Self {
        NetPolicy::new(Mode::DenyList, rules)
    }

    /// The policy of the CLI options: `--net-allow` rules, `--net-deny` rules, or neither
    /// (deny everything).
    ///
    /// # Errors
    /// [`RuleError::AllowAndDeny`] if both lists are non-empty.
    pub fn from_options(
        allow: Vec<ResolvedRule>,
        deny: Vec<ResolvedRule>,
    ) -> Result<Self, RuleError> {
        match (allow.is_empty(), deny.is_empty()) {
            (false, false) => Err(RuleError::AllowAndDeny),
            (true, false) => Ok(NetPolicy::deny_list(deny)),
            _ => Ok(NetPolicy::allow_list(allow)),
        }
    }

    fn new(mode: Mode, rules: Vec<ResolvedRule>) -> Self {
        let mut unique: Vec<ResolvedRule> = Vec::with_capacity(rules.len());
        for rule in rules {
            if !unique.contains(&rule) {
                unique.push(rule);
            }
        }
        NetPolicy {
            mode,
            rules: unique,
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The rules, without duplicates.
    pub fn rules(&self) -> &[ResolvedRule] {
        &self.rules
    }

    /// Decides on a connect or send to `addr`. A v4-mapped address is decided as the IPv4 it
    /// carries, and an unspecified one as loopback, since that is where the kernel sends it.
    pub fn decide(&self, proto: Proto, addr: SocketAddr) -> Decision {
        let ip = effective_destination(addr.ip());
        let hit = self
            .rules
            .iter()
            .any(|r| r.matches_ip(proto, ip, addr.port()));
        match (self.mode, hit) {
            (Mode::AllowList, true) | (Mode::DenyList, false) => Decision::Allow,
            (Mode::AllowList, false) | (Mode::DenyList, true) => Decision::Deny,
        }
    }

    /// Whether some ICMP destination may be allowed, i.e. whether ping sockets need to be
    /// creatable at all.
    pub fn may_allow_icmp(&self) -> bool {
        let icmp = |r: &&ResolvedRule| r.scheme == Scheme::Icmp;
        match self.mode {
            Mode::AllowList => self.rules.iter().any(|r| icmp(&r)),
            Mode::DenyList => !self
                .rules
                .iter()
                .filter(icmp)
                .any(|r| r.target == ResolvedTarget::Any),
        }
    }

    /// The TCP ports Landlock may restrict connects to, as a second layer under the
    /// supervisor's address check: `None` if some TCP connect to any port may be allowed
    /// (a deny list, or an allow rule with every port), else the union of the TCP rules'
    /// ports (empty: no TCP connect at all).
    pub fn landlock_tcp_connect_ports(&self) -> Option<Vec<PortRange>> {
        if self.mode == Mode::DenyList {
            return None;
        }
        let mut out: Vec<PortRange> = Vec::new();
        for rule in self.rules.iter().filter(|r| r.scheme.covers(Proto::Tcp)) {
            match &rule.ports {
                Ports::Any => return None,
                Ports::List(ranges) => {
                    for r in ranges {
                        if !out.contains(r) {
                            out.push(*r);
                        }
                    }
                }
            }
        }
        Some(out)
    }
}

//! The `--net-allow` / `--net-deny` grammar and matching, table-driven.

use std::io;
use std::net::{IpAddr, SocketAddr};

use sandlock_net::rules::{
    Decision, IpNet, Mode, NetPolicy, PortRange, Ports, Proto, ResolvedRule, ResolvedTarget, Rule,
    RuleError, Scheme, Target, hosts_entries,
};

/// A resolver with fixed answers, so tests need no DNS.
fn fake_resolver(host: &str) -> io::Result<Vec<IpAddr>> {
    let ips: &[&str] = match host {
        "localhost" => &["127.0.0.1", "::1"],
        "example.com" => &["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "mapped.test" => &["::ffff:10.9.9.9", "10.9.9.9"],
        "empty.test" => &[],
        _ => return Err(io::Error::new(io::ErrorKind::NotFound, "no such host")),
    };
    Ok(ips.iter().map(|s| s.parse().unwrap()).collect())
}

fn resolved(spec: &str) -> ResolvedRule {
    Rule::parse(spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
        .resolve(fake_resolver)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn allow(specs: &[&str]) -> NetPolicy {
    NetPolicy::allow_list(specs.iter().map(|s| resolved(s)).collect())
}

fn deny(specs: &[&str]) -> NetPolicy {
    NetPolicy::deny_list(specs.iter().map(|s| resolved(s)).collect())
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn net(s: &str, prefix: u8) -> IpNet {
    IpNet::new(s.parse().unwrap(), prefix).unwrap()
}

fn ports(ranges: &[(u16, u16)]) -> Ports {
    Ports::List(
        ranges
            .iter()
            .map(|&(a, b)| PortRange::new(a, b).unwrap())
            .collect(),
    )
}

#[test]
fn valid_specs_parse_to_the_expected_rule_and_canonical_text() {
    use Scheme::*;
    let host = |h: &str| Target::Host(h.to_owned());
    let cases: Vec<(&str, Scheme, Target, Ports, &str)> = vec![
        ("*", TcpUdp, Target::Any, Ports::Any, "*"),
        ("*:*", TcpUdp, Target::Any, Ports::Any, "*"),
        (":443", TcpUdp, Target::Any, ports(&[(443, 443)]), "*:443"),
        ("*:443", TcpUdp, Target::Any, ports(&[(443, 443)]), "*:443"),
        (
            "tcp://:80,443",
            Tcp,
            Target::Any,
            ports(&[(80, 80), (443, 443)]),
            "tcp://*:80,443",
        ),
        (
            "udp://*:53",
            Udp,
            Target::Any,
            ports(&[(53, 53)]),
            "udp://*:53",
        ),
        (
            "example.com",
            TcpUdp,
            host("example.com"),
            Ports::Any,
            "example.com",
        ),
        (
            "example.com:*",
            TcpUdp,
            host("example.com"),
            Ports::Any,
            "example.com",
        ),
        (
            "tcp://example.com:443",
            Tcp,
            host("example.com"),
            ports(&[(443, 443)]),
            "tcp://example.com:443",
        ),
        (
            "Example.COM.:443",
            TcpUdp,
            host("Example.COM."),
            ports(&[(443, 443)]),
            "Example.COM.:443",
        ),
        (
            "_srv.x-y.test:1",
            TcpUdp,
            host("_srv.x-y.test"),
            ports(&[(1, 1)]),
            "_srv.x-y.test:1",
        ),
        (
            "localhost:*",
            TcpUdp,
            host("localhost"),
            Ports::Any,
            "localhost",
        ),
        (
            "127.0.0.1:8080",
            TcpUdp,
            Target::Net(net("127.0.0.1", 32)),
            ports(&[(8080, 8080)]),
            "127.0.0.1:8080",
        ),
        (
            "10.0.0.0/8",
            TcpUdp,
            Target::Net(net("10.0.0.0", 8)),
            Ports::Any,
            "10.0.0.0/8",
        ),
        (
            "10.0.0.0/8:8000-8100,22",
            TcpUdp,
            Target::Net(net("10.0.0.0", 8)),
            ports(&[(8000, 8100), (22, 22)]),
            "10.0.0.0/8:8000-8100,22",
        ),
        (
            "0.0.0.0/0",
            TcpUdp,
            Target::Net(net("0.0.0.0", 0)),
            Ports::Any,
            "0.0.0.0/0",
        ),
        (
            "1.2.3.4/32",
            TcpUdp,
            Target::Net(net("1.2.3.4", 32)),
            Ports::Any,
            "1.2.3.4",
        ),
        (
            "udp://8.8.8.8:53",
            Udp,
            Target::Net(net("8.8.8.8", 32)),
            ports(&[(53, 53)]),
            "udp://8.8.8.8:53",
        ),
        (
            "[::1]:443",
            TcpUdp,
            Target::Net(net("::1", 128)),
            ports(&[(443, 443)]),
            "[::1]:443",
        ),
        (
            "[::1]",
            TcpUdp,
            Target::Net(net("::1", 128)),
            Ports::Any,
            "[::1]",
        ),
        (
            "[2001:db8::/32]:80",
            TcpUdp,
            Target::Net(net("2001:db8::", 32)),
            ports(&[(80, 80)]),
            "[2001:db8::/32]:80",
        ),
        (
            "[::/0]",
            TcpUdp,
            Target::Net(net("::", 0)),
            Ports::Any,
            "[::/0]",
        ),
        (
            "tcp://[2001:DB8::1]:1-65535",
            Tcp,
            Target::Net(net("2001:db8::1", 128)),
            ports(&[(1, 65535)]),
            "tcp://[2001:db8::1]:1-65535",
        ),
        // A v4-mapped target is the IPv4 it carries.
        (
            "[::ffff:10.0.0.1]:22",
            TcpUdp,
            Target::Net(net("10.0.0.1", 32)),
            ports(&[(22, 22)]),
            "10.0.0.1:22",
        ),
        (
            "[::ffff:10.0.0.0/104]",
            TcpUdp,
            Target::Net(net("10.0.0.0", 8)),
            Ports::Any,
            "10.0.0.0/8",
        ),
        ("80-80", TcpUdp, host("80-80"), Ports::Any, "80-80"),
        ("x:80-80", TcpUdp, host("x"), ports(&[(80, 80)]), "x:80"),
        ("icmp://*", Icmp, Target::Any, Ports::Any, "icmp://*"),
        (
            "icmp://8.8.8.8",
            Icmp,
            Target::Net(net("8.8.8.8", 32)),
            Ports::Any,
            "icmp://8.8.8.8",
        ),
        (
            "icmp://[::1]",
            Icmp,
            Target::Net(net("::1", 128)),
            Ports::Any,
            "icmp://[::1]",
        ),
    ];
    for (spec, scheme, target, ports, canonical) in cases {
        let rule = Rule::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(rule.scheme(), scheme, "{spec}");
        assert_eq!(rule.target(), &target, "{spec}");
        assert_eq!(rule.ports(), &ports, "{spec}");
        assert_eq!(rule.to_string(), canonical, "{spec}");
        assert_eq!(canonical.parse::<Rule>().unwrap(), rule, "{spec}");
    }
}

#[test]
fn invalid_specs_fail_with_a_message_naming_the_part() {
    let cases = [
        ("", "empty network rule"),
        (
            "tcp://",
            "missing target in \"tcp://\" (use * for any host)",
        ),
        (
            "http://example.com",
            "unknown scheme http:// in \"http://example.com\" (expected tcp://, udp:// or icmp://)",
        ),
        (
            "TCP://x",
            "unknown scheme TCP:// in \"TCP://x\" (expected tcp://, udp:// or icmp://)",
        ),
        (
            "tcp://host:9000-80",
            "invalid port range 9000-80 in \"tcp://host:9000-80\"",
        ),
        ("host:", "empty port in \"host:\""),
        (":", "empty port in \":\""),
        ("host:80,", "empty port in \"host:80,\""),
        ("host:80,,443", "empty port in \"host:80,,443\""),
        ("host:http", "invalid port http in \"host:http\""),
        ("host:65536", "invalid port 65536 in \"host:65536\""),
        ("host:+80", "invalid port +80 in \"host:+80\""),
        ("host:80-", "invalid port 80- in \"host:80-\""),
        ("host:1-2-3", "invalid port 1-2-3 in \"host:1-2-3\""),
        ("host: 80", "invalid port  80 in \"host: 80\""),
        ("host:0", "port 0 in \"host:0\" (use * for any port)"),
        (
            "host:0-100",
            "port 0 in \"host:0-100\" (use * for any port)",
        ),
        (
            "host:80,*",
            "* cannot be combined with other ports in \"host:80,*\"",
        ),
        (
            "icmp://8.8.8.8:80",
            "icmp rules take no ports, in \"icmp://8.8.8.8:80\"",
        ),
        ("icmp://:80", "icmp rules take no ports, in \"icmp://:80\""),
        ("icmp://*:*", "icmp rules take no ports, in \"icmp://*:*\""),
        (
            "10.0.0.256:80",
            "invalid ipv4 address 10.0.0.256 in \"10.0.0.256:80\"",
        ),
        (
            "2130706433",
            "2130706433 is not a host (for a port on any host write :2130706433), in \"2130706433\"",
        ),
        (
            "443",
            "443 is not a host (for a port on any host write :443), in \"443\"",
        ),
        ("1.2.3", "invalid ipv4 address 1.2.3 in \"1.2.3\""),
        (
            "010.0.0.1",
            "invalid ipv4 address 010.0.0.1 in \"010.0.0.1\"",
        ),
        (
            "example.com/24",
            "invalid ipv4 address example.com in \"example.com/24\"",
        ),
        (
            "10.0.0.0/33",
            "invalid prefix length /33 in \"10.0.0.0/33\"",
        ),
        ("10.0.0.0/", "invalid prefix length / in \"10.0.0.0/\""),
        (
            "10.0.0.0/+8",
            "invalid prefix length /+8 in \"10.0.0.0/+8\"",
        ),
        ("[::/129]", "invalid prefix length /129 in \"[::/129]\""),
        (
            "10.1.2.3/8:443",
            "10.1.2.3/8 has host bits set (did you mean 10.0.0.0/8?) in \"10.1.2.3/8:443\"",
        ),
        (
            "[2001:db8::1/32]",
            "[2001:db8::1/32] has host bits set (did you mean [2001:db8::/32]?) in \"[2001:db8::1/32]\"",
        ),
        (
            "[fe80::1%eth0]:80",
            "ipv6 zone id in fe80::1%eth0 is not supported, in \"[fe80::1%eth0]:80\"",
        ),
        (
            "::1",
            "ipv6 addresses need brackets, e.g. [::1]:443 or [2001:db8::/32], in \"::1\"",
        ),
        (
            "2001:db8::1:80",
            "ipv6 addresses need brackets, e.g. [::1]:443 or [2001:db8::/32], in \"2001:db8::1:80\"",
        ),
        (
            "[2001:db8::]/32:80",
            "prefix length /32 goes inside the brackets, e.g. [2001:db8::/32]:443, in \"[2001:db8::]/32:80\"",
        ),
        (
            "[2001:db8::]/32",
            "prefix length /32 goes inside the brackets, e.g. [2001:db8::/32]:443, in \"[2001:db8::]/32\"",
        ),
        ("[::1", "missing ] in \"[::1\""),
        ("[::1]80", "unexpected \"80\" after ] in \"[::1]80\""),
        (
            "[10.0.0.1]:80",
            "invalid ipv6 address 10.0.0.1 in \"[10.0.0.1]:80\"",
        ),
        (
            "[example.com]",
            "invalid ipv6 address example.com in \"[example.com]\"",
        ),
        (
            "-bad.example",
            "invalid hostname \"-bad.example\" in \"-bad.example\"",
        ),
        ("a..b", "invalid hostname \"a..b\" in \"a..b\""),
        (
            "exa mple.com",
            "invalid hostname \"exa mple.com\" in \"exa mple.com\"",
        ),
        (
            "host/path:80",
            "invalid ipv4 address host in \"host/path:80\"",
        ),
        ("**", "invalid hostname \"**\" in \"**\""),
    ];
    for (spec, message) in cases {
        match Rule::parse(spec) {
            Ok(rule) => panic!("{spec:?} parsed as {rule:?}"),
            Err(e) => assert_eq!(e.to_string(), message, "{spec:?}"),
        }
    }
    let long_label = format!("{}.test", "a".repeat(64));
    assert!(matches!(
        Rule::parse(&long_label),
        Err(RuleError::InvalidHostname { .. })
    ));
}

#[test]
fn hostnames_resolve_and_keep_their_name() {
    let rule = resolved("tcp://example.com:443");
    assert_eq!(rule.host(), Some("example.com"));
    assert_eq!(
        rule.target(),
        &ResolvedTarget::Nets(vec![
            net("93.184.215.14", 32),
            net("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 128)
        ])
    );
    assert_eq!(
        rule.to_string(),
        "tcp://example.com:443 (93.184.215.14, [2606:2800:21f:cb07:6820:80da:af6b:8b2c])"
    );
    // A v4-mapped answer and its IPv4 are one address.
    let mapped = resolved("mapped.test");
    assert_eq!(
        mapped.target(),
        &ResolvedTarget::Nets(vec![net("10.9.9.9", 32)])
    );
}

#[test]
fn only_hostnames_call_the_resolver() {
    for spec in ["*", "10.0.0.0/8:1", "[::1]", "icmp://*"] {
        let rule = Rule::parse(spec).unwrap();
        let resolved = rule.resolve(|h| panic!("resolver called for {h}")).unwrap();
        assert_eq!(resolved.host(), None);
        assert_eq!(resolved.to_string(), Rule::parse(spec).unwrap().to_string());
    }
}

#[test]
fn unresolvable_hosts_are_named() {
    let e = Rule::parse("tcp://nope.invalid:443")
        .unwrap()
        .resolve(fake_resolver)
        .unwrap_err();
    assert_eq!(e.to_string(), "cannot resolve host nope.invalid");
    assert!(std::error::Error::source(&e).is_some());
    let e = Rule::parse("empty.test")
        .unwrap()
        .resolve(fake_resolver)
        .unwrap_err();
    assert_eq!(e.to_string(), "host empty.test resolved to no address");
}

#[test]
fn the_system_resolver_resolves_literals() {
    // Numeric hosts need no DNS, so this works offline.
    let ips = sandlock_net::rules::resolve_host("127.0.0.1").unwrap();
    assert_eq!(ips, ["127.0.0.1".parse::<IpAddr>().unwrap()]);
}

#[test]
fn hosts_entries_list_each_named_address_once() {
    let rules = [
        resolved("tcp://example.com:443"),
        resolved("udp://example.com:53"),
        resolved("10.0.0.0/8"),
        resolved("localhost:8080"),
    ];
    let entries: Vec<(String, String)> = hosts_entries(&rules)
        .into_iter()
        .map(|(ip, h)| (ip.to_string(), h))
        .collect();
    let expect = [
        ("93.184.215.14", "example.com"),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "example.com"),
        ("127.0.0.1", "localhost"),
        ("::1", "localhost"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(entries, expect);
}

/// `check(policy, [(proto, addr, expected)])`.
fn check(policy: &NetPolicy, cases: &[(Proto, &str, Decision)]) {
    for &(proto, addr, expected) in cases {
        assert_eq!(
            policy.decide(proto, sa(addr)),
            expected,
            "{proto:?} {addr} under {:?}",
            policy
        );
    }
}

use Decision::{Allow, Deny};
use Proto::{Icmp, Tcp, Udp};

#[test]
fn no_options_deny_everything_including_loopback() {
    let p = NetPolicy::default();
    assert_eq!(p.mode(), Mode::AllowList);
    check(
        &p,
        &[
            (Tcp, "127.0.0.1:80", Deny),
            (Tcp, "[::1]:80", Deny),
            (Udp, "0.0.0.0:53", Deny),
            (Tcp, "93.184.215.14:443", Deny),
            (Icmp, "8.8.8.8:0", Deny),
        ],
    );
    assert_eq!(
        NetPolicy::from_options(vec![], vec![]).unwrap(),
        NetPolicy::default()
    );
}

#[test]
fn star_allows_every_tcp_and_udp_destination_but_not_ping() {
    let p = allow(&["*"]);
    check(
        &p,
        &[
            (Tcp, "127.0.0.1:80", Allow),
            (Udp, "[::1]:53", Allow),
            (Tcp, "93.184.215.14:1", Allow),
            (Tcp, "[2001:db8::1]:65535", Allow),
            (Icmp, "8.8.8.8:0", Deny),
        ],
    );
    assert!(!p.may_allow_icmp());
    assert_eq!(p.landlock_tcp_connect_ports(), None);
    check(&allow(&["*", "icmp://*"]), &[(Icmp, "8.8.8.8:0", Allow)]);
}

#[test]
fn loopback_must_be_named() {
    let p = allow(&["127.0.0.1:8080"]);
    check(
        &p,
        &[
            (Tcp, "127.0.0.1:8080", Allow),
            (Udp, "127.0.0.1:8080", Allow),
            (Tcp, "127.0.0.1:8081", Deny),
            (Tcp, "127.0.0.2:8080", Deny),
            (Tcp, "[::1]:8080", Deny),
            // Linux sends a connect to 0.0.0.0 to loopback, so it is decided as loopback.
            (Tcp, "0.0.0.0:8080", Allow),
            (Tcp, "0.0.0.0:8081", Deny),
            (Tcp, "[::ffff:127.0.0.1]:8080", Allow),
            (Tcp, "[::ffff:0.0.0.0]:8080", Allow),
        ],
    );
    let p = allow(&["localhost:*"]);
    check(
        &p,
        &[
            (Tcp, "127.0.0.1:1", Allow),
            (Tcp, "[::1]:1", Allow),
            (Tcp, "[::]:1", Allow),
            (Tcp, "10.0.0.1:1", Deny),
        ],
    );
}

#[test]
fn schemes_ports_and_networks() {
    let p = allow(&[
        "tcp://example.com:443",
        "udp://8.8.8.8:53",
        "10.0.0.0/8:8000-8100,22",
        "[2001:db8::/32]:80",
        ":9999",
        "icmp://1.1.1.1",
    ]);
    check(
        &p,
        &[
            (Tcp, "93.184.215.14:443", Allow),
            (Udp, "93.184.215.14:443", Deny),
            (Tcp, "93.184.215.14:80", Deny),
            (Tcp, "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", Allow),
            (Udp, "8.8.8.8:53", Allow),
            (Tcp, "8.8.8.8:53", Deny),
            (Tcp, "10.255.255.255:8000", Allow),
            (Udp, "10.1.2.3:8100", Allow),
            (Tcp, "10.1.2.3:8101", Deny),
            (Tcp, "10.1.2.3:22", Allow),
            (Tcp, "11.0.0.0:22", Deny),
            (Tcp, "[2001:db8:ffff::1]:80", Allow),
            (Tcp, "[2001:db9::1]:80", Deny),
            (Tcp, "203.0.113.7:9999", Allow),
            (Udp, "[2001:db8:1::]:9999", Allow),
            (Tcp, "203.0.113.7:9998", Deny),
            // A ping socket's port is its identifier: ignored.
            (Icmp, "1.1.1.1:0", Allow),
            (Icmp, "1.1.1.1:4242", Allow),
            (Icmp, "1.1.1.2:0", Deny),
            (Tcp, "1.1.1.1:443", Deny),
        ],
    );
    assert!(p.may_allow_icmp());
    let mut ports = p.landlock_tcp_connect_ports().unwrap();
    ports.sort_by_key(|r| r.first());
    let ports: Vec<String> = ports.iter().map(|r| r.to_string()).collect();
    assert_eq!(ports, ["22", "80", "443", "8000-8100", "9999"]);
    assert_eq!(
        allow(&["udp://*"]).landlock_tcp_connect_ports(),
        Some(vec![])
    );
}

#[test]
fn ipv6_networks_do_not_match_ipv4_destinations() {
    check(
        &allow(&["[::/0]"]),
        &[
            (Tcp, "[2001:db8::1]:1", Allow),
            (Tcp, "10.0.0.1:1", Deny),
            (Tcp, "[::ffff:10.0.0.1]:1", Deny),
        ],
    );
    check(
        &allow(&["[::ffff:10.0.0.0/104]"]),
        &[
            (Tcp, "10.0.0.1:1", Allow),
            (Tcp, "[::ffff:10.0.0.1]:1", Allow),
        ],
    );
}

#[test]
fn a_v4_mapped_destination_is_its_ipv4() {
    let p = deny(&["10.0.0.0/8"]);
    check(
        &p,
        &[
            (Tcp, "10.1.1.1:80", Deny),
            (Tcp, "[::ffff:10.1.1.1]:80", Deny),
            (Tcp, "[::ffff:11.1.1.1]:80", Allow),
            // The deprecated v4-compatible form is a plain IPv6 address to Linux.
            (Tcp, "[::10.1.1.1]:80", Allow),
        ],
    );
}

#[test]
fn deny_list_allows_everything_else() {
    let p = deny(&["tcp://example.com:443", "udp://*:53", "icmp://*"]);
    assert_eq!(p.mode(), Mode::DenyList);
    check(
        &p,
        &[
            (Tcp, "93.184.215.14:443", Deny),
            (Tcp, "93.184.215.14:80", Allow),
            (Udp, "93.184.215.14:443", Allow),
            (Udp, "8.8.8.8:53", Deny),
            (Tcp, "8.8.8.8:53", Allow),
            (Tcp, "127.0.0.1:1", Allow),
            (Icmp, "8.8.8.8:0", Deny),
        ],
    );
    assert!(!p.may_allow_icmp());
    assert!(deny(&["icmp://8.8.8.8"]).may_allow_icmp());
    assert_eq!(p.landlock_tcp_connect_ports(), None);
    // The hostname is pinned to the addresses it had at start, and the synthetic /etc/hosts
    // points the child at them.
    assert_eq!(hosts_entries(p.rules()).len(), 2);
}

#[test]
fn allow_and_deny_cannot_be_combined() {
    let e = NetPolicy::from_options(vec![resolved("*")], vec![resolved("10.0.0.1")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--net-allow and --net-deny cannot be combined"
    );
    let p = NetPolicy::from_options(vec![], vec![resolved("10.0.0.1")]).unwrap();
    assert_eq!(p.mode(), Mode::DenyList);
    let p = NetPolicy::from_options(vec![resolved("10.0.0.1")], vec![]).unwrap();
    assert_eq!(p.mode(), Mode::AllowList);
}

#[test]
fn duplicate_rules_are_dropped_and_change_nothing() {
    let once = allow(&["10.0.0.1:80"]);
    let twice = allow(&["10.0.0.1:80", "10.0.0.1:80-80", "[::ffff:10.0.0.1]:80"]);
    assert_eq!(twice.rules().len(), 1);
    assert_eq!(once, twice);
}

#[test]
fn port_ranges_and_networks_validate() {
    assert_eq!(PortRange::new(0, 1), None);
    assert_eq!(PortRange::new(9, 8), None);
    assert!(PortRange::new(1, 65535).unwrap().contains(65535));
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(IpNet::new(ip("10.0.0.1"), 8), None);
    assert_eq!(IpNet::new(ip("10.0.0.0"), 33), None);
    assert_eq!(IpNet::new(ip("::"), 129), None);
    assert_eq!(
        IpNet::new(ip("::ffff:10.0.0.0"), 104),
        Some(net("10.0.0.0", 8))
    );
    assert_eq!(IpNet::host(ip("::ffff:1.2.3.4")), net("1.2.3.4", 32));
    assert!(net("0.0.0.0", 0).contains(ip("255.255.255.255")));
    assert!(!net("0.0.0.0", 0).contains(ip("::1")));
}

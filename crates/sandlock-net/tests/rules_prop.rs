//! Properties of the rule grammar and matching: Display round-trips, decide never panics,
//! and a v4-mapped destination is decided as its IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use sandlock_net::rules::{NetPolicy, Proto, ResolvedRule, Rule};

fn scheme() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just("tcp://"), Just("udp://"), Just("icmp://")]
}

/// An IPv4 target: an address, or a network with its host bits cleared.
fn ipv4_target() -> impl Strategy<Value = String> {
    (any::<u32>(), 0u8..=33).prop_map(|(a, prefix)| {
        if prefix == 33 {
            return Ipv4Addr::from(a).to_string();
        }
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        format!("{}/{prefix}", Ipv4Addr::from(a & mask))
    })
}

/// An IPv6 target in brackets, including v4-mapped ones.
fn ipv6_target() -> impl Strategy<Value = String> {
    let addr = prop_oneof![
        any::<u128>(),
        any::<u32>().prop_map(|a| u128::from(Ipv4Addr::from(a).to_ipv6_mapped())),
        Just(0u128),
        Just(1u128),
    ];
    (addr, 0u8..=129).prop_map(|(a, prefix)| {
        if prefix == 129 {
            return format!("[{}]", Ipv6Addr::from(a));
        }
        let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        format!("[{}/{prefix}]", Ipv6Addr::from(a & mask))
    })
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        Just(String::new()),
        "[a-z]([a-z0-9-]{0,7}[a-z0-9])?(\\.[a-z0-9_]{1,6}){0,3}\\.?",
        ipv4_target(),
        ipv6_target(),
    ]
}

fn port_list() -> impl Strategy<Value = String> {
    let range = (1u16.., any::<u16>()).prop_map(|(a, len)| {
        let b = a.saturating_add(len % 100);
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    });
    prop_oneof![
        Just("*".to_owned()),
        prop::collection::vec(range, 1..4).prop_map(|v| v.join(",")),
    ]
}

/// Specs that are valid by construction.
fn valid_spec() -> impl Strategy<Value = String> {
    (scheme(), target(), prop::option::of(port_list())).prop_map(|(scheme, target, ports)| {
        match (scheme, ports) {
            // icmp takes no ports, and an empty target needs ports.
            ("icmp://", _) | (_, None) if target.is_empty() => format!("{scheme}*"),
            ("icmp://", _) | (_, None) => format!("{scheme}{target}"),
            (_, Some(ports)) => format!("{scheme}{target}:{ports}"),
        }
    })
}

fn resolve(rule: Rule) -> ResolvedRule {
    rule.resolve(|_| {
        Ok(vec![
            "192.0.2.1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        ])
    })
    .unwrap()
}

fn policy() -> impl Strategy<Value = NetPolicy> {
    (prop::collection::vec(valid_spec(), 0..5), any::<bool>()).prop_map(|(specs, deny)| {
        let rules = specs
            .iter()
            .map(|s| resolve(Rule::parse(s).unwrap()))
            .collect();
        if deny {
            NetPolicy::deny_list(rules)
        } else {
            NetPolicy::allow_list(rules)
        }
    })
}

fn proto() -> impl Strategy<Value = Proto> {
    prop_oneof![Just(Proto::Tcp), Just(Proto::Udp), Just(Proto::Icmp)]
}

/// IPv4 addresses biased towards the ones rules name.
fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        Just(Ipv4Addr::UNSPECIFIED),
        Just(Ipv4Addr::LOCALHOST),
        Just(Ipv4Addr::new(192, 0, 2, 1)),
    ]
}

proptest! {
    #[test]
    fn display_round_trips(spec in valid_spec()) {
        let rule = Rule::parse(&spec).map_err(|e| TestCaseError::fail(format!("{spec}: {e}")))?;
        let shown = rule.to_string();
        prop_assert_eq!(Rule::parse(&shown).ok(), Some(rule), "{} shown as {}", spec, shown);
    }

    #[test]
    fn parse_never_panics(spec in "\\PC{0,40}") {
        let _ = Rule::parse(&spec);
    }

    #[test]
    fn parse_never_panics_on_rule_like_text(spec in "(tcp://|udp://|icmp://|x://)?[\\[\\]0-9a-f:./%*,-]{0,30}") {
        if let Ok(rule) = Rule::parse(&spec) {
            prop_assert_eq!(Rule::parse(&rule.to_string()).ok(), Some(rule));
        }
    }

    #[test]
    fn decide_never_panics(p in policy(), proto in proto(), ip in any::<IpAddr>(), port in any::<u16>()) {
        let _ = p.decide(proto, SocketAddr::new(ip, port));
    }

    #[test]
    fn v4_mapped_is_decided_as_ipv4(p in policy(), proto in proto(), a in ipv4(), port in any::<u16>()) {
        let v4 = SocketAddr::new(IpAddr::V4(a), port);
        let v6 = SocketAddr::new(IpAddr::V6(a.to_ipv6_mapped()), port);
        prop_assert_eq!(p.decide(proto, v4), p.decide(proto, v6));
    }
}

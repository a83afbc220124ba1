//! Property tests of the sockaddr parser: arbitrary bytes never panic, and every address the
//! parser returns survives [`encode`] unchanged.

use std::net::{Ipv6Addr, SocketAddrV4, SocketAddrV6};

use proptest::prelude::*;
use sandlock_net::sockaddr::{
    MAX_SOCKADDR_LEN, SockAddr, UNIX_PATH_MAX, UnixAddr, encode, parse_sockaddr, sockaddr_len,
};

const FAMILIES: [u16; 5] = [
    libc::AF_UNSPEC as u16,
    libc::AF_UNIX as u16,
    libc::AF_INET as u16,
    libc::AF_INET6 as u16,
    libc::AF_PACKET as u16,
];

/// Bytes that start with a family the parser knows, so that the interesting paths are hit.
fn family_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(&FAMILIES[..]),
        prop::collection::vec(any::<u8>(), 0..140),
    )
        .prop_map(|(family, rest)| {
            let mut bytes = family.to_ne_bytes().to_vec();
            bytes.extend(rest);
            bytes
        })
}

fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..200), family_bytes()]
}

fn v4() -> impl Strategy<Value = SocketAddrV4> {
    (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddrV4::new(ip.into(), port))
}

fn valid_addr() -> impl Strategy<Value = SockAddr> {
    let v6 = (any::<[u8; 16]>(), any::<u16>(), any::<u32>(), any::<u32>()).prop_filter_map(
        "v4-mapped addresses parse as V4Mapped",
        |(ip, port, flow, scope)| {
            let ip = Ipv6Addr::from(ip);
            ip.to_ipv4_mapped()
                .is_none()
                .then(|| SockAddr::V6(SocketAddrV6::new(ip, port, flow, scope)))
        },
    );
    let mapped = (v4(), any::<u32>(), any::<u32>()).prop_map(|(addr, flowinfo, scope_id)| {
        SockAddr::V4Mapped {
            addr,
            flowinfo,
            scope_id,
        }
    });
    let path = prop::collection::vec(1u8..=255, 1..=UNIX_PATH_MAX)
        .prop_map(|p| SockAddr::Unix(UnixAddr::Pathname(p)));
    let abstract_name = prop::collection::vec(any::<u8>(), 0..UNIX_PATH_MAX)
        .prop_map(|n| SockAddr::Unix(UnixAddr::Abstract(n)));
    let other = any::<u16>()
        .prop_filter("known families", |f| {
            ![
                libc::AF_UNSPEC,
                libc::AF_UNIX,
                libc::AF_INET,
                libc::AF_INET6,
            ]
            .contains(&i32::from(*f))
        })
        .prop_map(|family| SockAddr::Other { family });
    prop_oneof![
        v4().prop_map(SockAddr::V4),
        v6,
        mapped,
        path,
        abstract_name,
        Just(SockAddr::Unix(UnixAddr::Unnamed)),
        prop::option::of(v4()).prop_map(|as_v4| SockAddr::Unspec { as_v4 }),
        other,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in any_bytes()) {
        let Ok(addr) = parse_sockaddr(&bytes) else { return Ok(()); };
        prop_assert!(bytes.len() <= MAX_SOCKADDR_LEN);
        match &addr {
            SockAddr::V6(a) => prop_assert!(a.ip().to_ipv4_mapped().is_none()),
            SockAddr::Unix(UnixAddr::Pathname(p)) => {
                prop_assert!(!p.is_empty() && p.len() <= UNIX_PATH_MAX);
                prop_assert!(!p.contains(&0));
            }
            SockAddr::Unix(UnixAddr::Abstract(n)) => prop_assert_eq!(n.len(), bytes.len() - 3),
            _ => {}
        }
        // Whatever parsed re-encodes to bytes that parse the same (Other keeps its family only).
        prop_assert_eq!(parse_sockaddr(&encode(&addr)), Ok(addr.clone()));
        // The policy view of a v4-mapped address is always IPv4.
        if let SockAddr::V4Mapped { addr: v4, .. } = &addr {
            prop_assert_eq!(addr.ip_for_policy(), Some(std::net::IpAddr::V4(*v4.ip())));
        }
    }

    #[test]
    fn encode_then_parse_is_identity(addr in valid_addr()) {
        let bytes = encode(&addr);
        prop_assert!(bytes.len() <= MAX_SOCKADDR_LEN);
        prop_assert_eq!(parse_sockaddr(&bytes), Ok(addr));
    }

    #[test]
    fn addrlen_argument_is_bounded(arg in any::<u64>()) {
        match sockaddr_len(arg) {
            Ok(len) => {
                prop_assert!(len <= MAX_SOCKADDR_LEN);
                prop_assert_eq!(len as u64, arg & 0xffff_ffff);
            }
            Err(e) => prop_assert_eq!(e.errno(), sandlock_sys::Errno::EINVAL),
        }
    }

    #[test]
    fn destination_differs_from_inet_only_for_unspecified(addr in valid_addr()) {
        let (Some(inet), Some(dest)) = (addr.inet(), addr.destination()) else { return Ok(()); };
        if inet.ip().is_unspecified() {
            prop_assert!(dest.ip().is_loopback());
        } else {
            prop_assert_eq!(inet, dest);
        }
        prop_assert_eq!(inet.port(), dest.port());
    }
}

//! Socket addresses read from a sandboxed process, parsed the way the kernel will read them.
//!
//! The supervisor decides on its own copy of the address bytes, then performs the call on behalf
//! of the child with exactly those bytes (or with [`encode`]d ones). For that decision to be
//! about what the kernel actually does, [`parse_sockaddr`] accepts and rejects lengths as the
//! kernel does and reads the same fields. Every rule below names the kernel code it mirrors
//! (Linux 6.x, `net/socket.c`, `net/ipv4`, `net/ipv6`, `net/unix/af_unix.c`); the behaviours
//! marked *measured* were checked on this project's kernel (6.18) with a small C program.
//!
//! # Length rules
//!
//! | input | result | kernel behaviour mirrored |
//! |---|---|---|
//! | syscall `addrlen` argument | [`sockaddr_len`]: low 32 bits as `int`; negative or > 128 is `EINVAL` | `move_addr_to_kernel` (*measured*: `1 << 32 \| 16` acts as 16) |
//! | fewer than 2 bytes | [`ParseError::TooShort`] (`EINVAL`) | `inet_stream_connect`, `unix_validate_addr`: no family, no address |
//! | more than [`MAX_SOCKADDR_LEN`] bytes | [`ParseError::TooLong`] (`EINVAL`) | `move_addr_to_kernel` |
//! | `AF_INET`, under 16 bytes | `EINVAL` | `tcp_v4_connect`, `inet_bind`, `udp_sendmsg` need `sizeof(sockaddr_in)` |
//! | `AF_INET`, 16 to 128 bytes | [`SockAddr::V4`]; `sin_zero` and the tail are ignored | the same |
//! | `AF_INET6`, under 24 bytes | `EINVAL` | `SIN6_LEN_RFC2133` in `tcp_v6_connect`, `inet6_bind`, `udpv6_sendmsg` |
//! | `AF_INET6`, 24 to 27 bytes | scope id taken as 0 | the kernel reads `sin6_scope_id` only when `addrlen >= sizeof(sockaddr_in6)` |
//! | `AF_INET6`, `::ffff:a.b.c.d` | [`SockAddr::V4Mapped`] | `tcp_v6_connect`, `udpv6_sendmsg` and `inet6_bind` act on the IPv4 |
//! | `AF_UNIX`, exactly 2 bytes | [`UnixAddr::Unnamed`] | `unix_bind` autobinds; connect and sendto give `EINVAL` |
//! | `AF_UNIX`, over 110 bytes | `EINVAL` | `unix_validate_addr` |
//! | `AF_UNIX`, `sun_path[0] == 0` | [`UnixAddr::Abstract`]: every byte after the NUL, NULs included | `unix_bind_abstract`, `unix_find_abstract` |
//! | `AF_UNIX`, otherwise | [`UnixAddr::Pathname`]: up to the first NUL or the end, at most 108 bytes | `unix_mkname_bsd` NUL-terminates at `addrlen` (*measured*: 110 bytes, no NUL, is a path) |
//! | `AF_UNSPEC` | [`SockAddr::Unspec`] | see below |
//! | any other family | [`SockAddr::Other`] | the family's own code decides |
//!
//! # Pitfalls for the handlers
//!
//! - **`AF_UNSPEC` is not "no address".** On an IPv4 UDP (or raw) socket, `udp_sendmsg` sends
//!   to the `sin_addr` and `sin_port` of an `AF_UNSPEC` address of at least 16 bytes
//!   (*measured*), and `inet_bind` binds an `AF_UNSPEC` address whose `sin_addr` is
//!   `INADDR_ANY` to its port (*measured*). [`SockAddr::Unspec`] therefore carries that IPv4
//!   view. On `connect` it disconnects; on an IPv6 UDP socket's `sendmsg` it means "no address".
//! - **The address family need not be the socket's.** An IPv6 UDP socket accepts an `AF_INET`
//!   destination (*measured*); a TCP socket of the other family answers `EAFNOSUPPORT`. The
//!   parser goes by the family field only; the policy should check what it returns whatever the
//!   socket's domain.
//! - **An unspecified destination is this host.** `connect` or `sendto` to `0.0.0.0` reaches
//!   the loopback (or the socket's bound local) address (*measured*), and `::` reaches `::1`.
//!   [`SockAddr::destination`] applies this; [`SockAddr::inet`] does not (it is right for bind).
//! - **IPv4-compatible addresses** (`::a.b.c.d`, deprecated) and other IPv6 forms that embed an
//!   IPv4 (NAT64, `::ffff:0:a.b.c.d`) stay [`SockAddr::V6`]: the socket layer does not
//!   translate them, only v4-mapped addresses.
//! - `sendmsg`'s `msg_namelen` is clamped to 128 rather than rejected (see
//!   [`crate::msg::msg_name`]), unlike the `addrlen` of `connect`, `bind` and `sendto`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use sandlock_sys::Errno;
use sandlock_sys::structs::{SockaddrIn, SockaddrIn6, SockaddrUn};
use zerocopy::{FromBytes, IntoBytes};

/// `sizeof(struct sockaddr_storage)`: the most address bytes the kernel copies from a process.
pub const MAX_SOCKADDR_LEN: usize = 128;

/// `sizeof(sa_family_t)`: the family field every address starts with.
const FAMILY_LEN: usize = size_of::<u16>();
/// `sizeof(struct sockaddr_in)`.
const SOCKADDR_IN_LEN: usize = size_of::<SockaddrIn>();
/// `SIN6_LEN_RFC2133`: a `sockaddr_in6` without `sin6_scope_id`, which the kernel accepts.
const SOCKADDR_IN6_MIN_LEN: usize = 24;
/// `sizeof(struct sockaddr_in6)`.
const SOCKADDR_IN6_LEN: usize = size_of::<SockaddrIn6>();
/// `sizeof(struct sockaddr_un)`.
const SOCKADDR_UN_LEN: usize = size_of::<SockaddrUn>();
/// `sizeof(sun_path)`: the longest pathname or abstract name (with its leading NUL).
pub const UNIX_PATH_MAX: usize = SOCKADDR_UN_LEN - FAMILY_LEN;

const AF_UNSPEC: u16 = libc::AF_UNSPEC as u16;
const AF_UNIX: u16 = libc::AF_UNIX as u16;
const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

/// Why address bytes are not an address the kernel would accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The `addrlen` syscall argument is negative as an `int`.
    #[error("address length {len:#x} is negative")]
    NegativeLength {
        /// The raw argument.
        len: u64,
    },
    /// More than [`MAX_SOCKADDR_LEN`] bytes.
    #[error("address length {len} exceeds {MAX_SOCKADDR_LEN}")]
    TooLong {
        /// The length given.
        len: usize,
    },
    /// Fewer bytes than the family needs (or than the family field itself).
    #[error("address of family {family} has {len} bytes, fewer than {min}")]
    TooShort {
        /// The family, or 0 when not even the family field is there.
        family: u16,
        /// The length given.
        len: usize,
        /// The least the kernel accepts for this family.
        min: usize,
    },
    /// An `AF_UNIX` address longer than `sizeof(struct sockaddr_un)`.
    #[error("unix address has {len} bytes, more than {SOCKADDR_UN_LEN}")]
    UnixTooLong {
        /// The length given.
        len: usize,
    },
}

impl ParseError {
    /// The errno the kernel returns for the same bytes: always `EINVAL`.
    pub fn errno(&self) -> Errno {
        match self {
            ParseError::NegativeLength { .. }
            | ParseError::TooLong { .. }
            | ParseError::TooShort { .. }
            | ParseError::UnixTooLong { .. } => Errno::EINVAL,
        }
    }
}

/// An `AF_UNIX` address, following unix(7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnixAddr {
    /// A filesystem path: 1 to 108 bytes, none of them NUL.
    Pathname(Vec<u8>),
    /// An abstract name: the bytes after the leading NUL (0 to 107 bytes, NULs allowed).
    /// Two names are the same socket only if they have the same length.
    Abstract(Vec<u8>),
    /// No name (`addrlen == sizeof(sa_family_t)`): autobind for `bind`, `EINVAL` elsewhere.
    Unnamed,
}

/// A socket address as the kernel will act on it.
///
/// Build one with [`parse_sockaddr`]; turn it back into bytes with [`encode`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SockAddr {
    /// `AF_INET`.
    V4(SocketAddrV4),
    /// `AF_INET6` carrying a v4-mapped address (`::ffff:a.b.c.d`): the kernel talks IPv4 to
    /// `addr`. The IPv6-only fields are kept so that [`encode`] gives the same bytes back.
    V4Mapped {
        /// The IPv4 address and the port.
        addr: SocketAddrV4,
        /// `sin6_flowinfo`, in host byte order.
        flowinfo: u32,
        /// `sin6_scope_id` (0 when the address had fewer than 28 bytes).
        scope_id: u32,
    },
    /// `AF_INET6` with an address that is not v4-mapped. The scope id is 0 when the address
    /// had fewer than 28 bytes.
    V6(SocketAddrV6),
    /// `AF_UNIX`.
    Unix(UnixAddr),
    /// `AF_UNSPEC`. `as_v4` is what an IPv4 socket reads from the same bytes when there are at
    /// least 16 of them: `udp_sendmsg` sends there and `inet_bind` binds it if the IP is
    /// `0.0.0.0`. See the module docs.
    Unspec {
        /// The bytes read as a `sockaddr_in`, if long enough.
        as_v4: Option<SocketAddrV4>,
    },
    /// Any other family. The kernel's code for that family decides (the sandbox's BPF filter
    /// allows sockets of `AF_UNIX`, `AF_INET` and `AF_INET6` only).
    Other {
        /// The `sa_family` value.
        family: u16,
    },
}

impl SockAddr {
    /// The `sa_family` field this address has in memory (`AF_INET6` for [`SockAddr::V4Mapped`]).
    pub fn family(&self) -> u16 {
        match self {
            SockAddr::V4(_) => AF_INET,
            SockAddr::V4Mapped { .. } | SockAddr::V6(_) => AF_INET6,
            SockAddr::Unix(_) => AF_UNIX,
            SockAddr::Unspec { .. } => AF_UNSPEC,
            SockAddr::Other { family } => *family,
        }
    }

    /// The IP address and port the kernel uses, with v4-mapped addresses unmapped: the view
    /// the policy must see. `None` for non-IP families and for `AF_UNSPEC` (whose meaning
    /// depends on the call; see [`SockAddr::Unspec`]).
    pub fn inet(&self) -> Option<SocketAddr> {
        match self {
            SockAddr::V4(a) | SockAddr::V4Mapped { addr: a, .. } => Some(SocketAddr::V4(*a)),
            SockAddr::V6(a) => Some(SocketAddr::V6(*a)),
            SockAddr::Unix(_) | SockAddr::Unspec { .. } | SockAddr::Other { .. } => None,
        }
    }

    /// The IP of [`SockAddr::inet`]: always the IPv4 for a v4-mapped address.
    pub fn ip_for_policy(&self) -> Option<IpAddr> {
        self.inet().map(|a| a.ip())
    }

    /// Where a `connect` or `sendto` to this address goes: [`SockAddr::inet`], except that an
    /// unspecified IP (`0.0.0.0`, `::`, `::ffff:0.0.0.0`) becomes the loopback address of the
    /// same family, as the kernel routes it (`ip_route_output_key_hash_rcu`, `tcp_v6_connect`,
    /// `udpv6_sendmsg`). An IPv4 socket bound to a local address sends to that address instead,
    /// which is this host all the same.
    pub fn destination(&self) -> Option<SocketAddr> {
        let mut addr = self.inet()?;
        match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
            IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
            _ => {}
        }
        Some(addr)
    }

    /// The port of an IP address (`None` for other families and `AF_UNSPEC`).
    pub fn port(&self) -> Option<u16> {
        self.inet().map(|a| a.port())
    }

    /// Replaces the port of an IP address (for port virtualisation); returns whether this is
    /// one. `AF_UNSPEC` with an IPv4 view has its port replaced too.
    pub fn set_port(&mut self, port: u16) -> bool {
        match self {
            SockAddr::V4(a)
            | SockAddr::V4Mapped { addr: a, .. }
            | SockAddr::Unspec { as_v4: Some(a) } => a.set_port(port),
            SockAddr::V6(a) => a.set_port(port),
            SockAddr::Unix(_) | SockAddr::Unspec { as_v4: None } | SockAddr::Other { .. } => {
                return false;
            }
        }
        true
    }
}

/// The address length a process passed as the `addrlen` argument of `connect`, `bind` or
/// `sendto`, as the kernel reads it: the low 32 bits as an `int`, which must be between 0 and
/// [`MAX_SOCKADDR_LEN`] (`move_addr_to_kernel`). Read exactly this many bytes.
pub fn sockaddr_len(arg: u64) -> Result<usize, ParseError> {
    // Truncation is the point: the syscall's parameter is an `int`.
    let len = arg as u32 as i32;
    let len = usize::try_from(len).map_err(|_| ParseError::NegativeLength { len: arg })?;
    if len > MAX_SOCKADDR_LEN {
        return Err(ParseError::TooLong { len });
    }
    Ok(len)
}

/// Parses the `addrlen` bytes a process passed as a socket address.
///
/// `bytes` must be exactly what the process passed: its length is the address length. Never
/// panics; see the module docs for the rules.
pub fn parse_sockaddr(bytes: &[u8]) -> Result<SockAddr, ParseError> {
    let len = bytes.len();
    if len > MAX_SOCKADDR_LEN {
        return Err(ParseError::TooLong { len });
    }
    let Some((family, _)) = u16::read_from_prefix(bytes).ok() else {
        return Err(ParseError::TooShort {
            family: 0,
            len,
            min: FAMILY_LEN,
        });
    };
    let too_short = |min| ParseError::TooShort { family, len, min };
    match family {
        AF_INET => {
            let (sin, _) =
                SockaddrIn::read_from_prefix(bytes).map_err(|_| too_short(SOCKADDR_IN_LEN))?;
            Ok(SockAddr::V4(v4_of(&sin)))
        }
        AF_INET6 => {
            if len < SOCKADDR_IN6_MIN_LEN {
                return Err(too_short(SOCKADDR_IN6_MIN_LEN));
            }
            // Under 28 bytes the kernel does not read the scope id, not even in part: zero.
            let mut full = [0u8; SOCKADDR_IN6_LEN];
            let n = if len >= SOCKADDR_IN6_LEN {
                SOCKADDR_IN6_LEN
            } else {
                SOCKADDR_IN6_MIN_LEN
            };
            full[..n].copy_from_slice(&bytes[..n]);
            let sin6 = SockaddrIn6::read_from_bytes(&full[..])
                .map_err(|_| too_short(SOCKADDR_IN6_MIN_LEN))?;
            Ok(v6_of(&sin6))
        }
        AF_UNIX => parse_unix(bytes).map(SockAddr::Unix),
        AF_UNSPEC => {
            let as_v4 = SockaddrIn::read_from_prefix(bytes)
                .ok()
                .map(|(sin, _)| v4_of(&sin));
            Ok(SockAddr::Unspec { as_v4 })
        }
        family => Ok(SockAddr::Other { family }),
    }
}

fn v4_of(sin: &SockaddrIn) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(sin.sin_addr),
        u16::from_be_bytes(sin.sin_port),
    )
}

fn v6_of(sin6: &SockaddrIn6) -> SockAddr {
    let ip = Ipv6Addr::from(sin6.sin6_addr);
    let port = u16::from_be_bytes(sin6.sin6_port);
    // The kernel keeps sin6_flowinfo in network byte order; the std type wants host order.
    let flowinfo = u32::from_be(sin6.sin6_flowinfo);
    match ip.to_ipv4_mapped() {
        Some(v4) => SockAddr::V4Mapped {
            addr: SocketAddrV4::new(v4, port),
            flowinfo,
            scope_id: sin6.sin6_scope_id,
        },
        None => SockAddr::V6(SocketAddrV6::new(ip, port, flowinfo, sin6.sin6_scope_id)),
    }
}

fn parse_unix(bytes: &[u8]) -> Result<UnixAddr, ParseError> {
    let len = bytes.len();
    if len > SOCKADDR_UN_LEN {
        return Err(ParseError::UnixTooLong { len });
    }
    let path = bytes.get(FAMILY_LEN..).unwrap_or_default();
    Ok(match path.split_first() {
        None => UnixAddr::Unnamed,
        Some((0, name)) => UnixAddr::Abstract(name.to_vec()),
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            UnixAddr::Pathname(path[..end].to_vec())
        }
    })
}

/// The bytes of an address, ready to pass to the kernel (its length is the `addrlen`).
///
/// `parse_sockaddr(&encode(a)) == Ok(a)` for every address [`parse_sockaddr`] returns, except
/// [`SockAddr::Other`], which encodes as its family field alone. Values no parse returns are
/// cut down to what fits: a pathname stops at its first NUL and at 108 bytes, an abstract name
/// at 107 bytes, and a [`SockAddr::V6`] holding a v4-mapped address comes back as
/// [`SockAddr::V4Mapped`].
pub fn encode(addr: &SockAddr) -> Vec<u8> {
    match addr {
        SockAddr::V4(a) | SockAddr::Unspec { as_v4: Some(a) } => SockaddrIn {
            sin_family: addr.family(),
            sin_port: a.port().to_be_bytes(),
            sin_addr: a.ip().octets(),
            sin_zero: [0; 8],
        }
        .as_bytes()
        .to_vec(),
        SockAddr::V4Mapped {
            addr,
            flowinfo,
            scope_id,
        } => encode_v6(
            &addr.ip().to_ipv6_mapped(),
            addr.port(),
            *flowinfo,
            *scope_id,
        ),
        SockAddr::V6(a) => encode_v6(a.ip(), a.port(), a.flowinfo(), a.scope_id()),
        SockAddr::Unix(u) => encode_unix(u),
        SockAddr::Unspec { as_v4: None } | SockAddr::Other { .. } => {
            addr.family().to_ne_bytes().to_vec()
        }
    }
}

fn encode_v6(ip: &Ipv6Addr, port: u16, flowinfo: u32, scope_id: u32) -> Vec<u8> {
    SockaddrIn6 {
        sin6_family: AF_INET6,
        sin6_port: port.to_be_bytes(),
        sin6_flowinfo: flowinfo.to_be(),
        sin6_addr: ip.octets(),
        sin6_scope_id: scope_id,
    }
    .as_bytes()
    .to_vec()
}

fn encode_unix(addr: &UnixAddr) -> Vec<u8> {
    let mut out = AF_UNIX.to_ne_bytes().to_vec();
    match addr {
        UnixAddr::Unnamed => {}
        UnixAddr::Abstract(name) => {
            out.push(0);
            out.extend(name.iter().take(UNIX_PATH_MAX - 1));
        }
        UnixAddr::Pathname(path) => {
            let path = path.split(|&b| b == 0).next().unwrap_or_default();
            let path = &path[..path.len().min(UNIX_PATH_MAX)];
            out.extend_from_slice(path);
            // A path of 108 bytes fills sun_path and has no room for a NUL; the kernel
            // terminates it itself.
            if path.len() < UNIX_PATH_MAX {
                out.push(0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = AF_INET.to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(ip);
        b.extend([0; 8]);
        b
    }

    fn v6(ip: Ipv6Addr, port: u16, flow: u32, scope: u32) -> Vec<u8> {
        let mut b = AF_INET6.to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(flow.to_be_bytes());
        b.extend(ip.octets());
        b.extend(scope.to_ne_bytes());
        b
    }

    fn unix(path: &[u8]) -> Vec<u8> {
        let mut b = AF_UNIX.to_ne_bytes().to_vec();
        b.extend(path);
        b
    }

    fn with_len(mut b: Vec<u8>, len: usize) -> Vec<u8> {
        b.resize(len, 0xAA);
        b
    }

    fn check(bytes: &[u8], expected: Result<SockAddr, ParseError>) {
        assert_eq!(parse_sockaddr(bytes), expected, "bytes {bytes:02x?}");
    }

    fn sa4(ip: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(ip.into(), port)
    }

    #[test]
    fn inet() {
        let lo = v4([127, 0, 0, 1], 80);
        check(&lo, Ok(SockAddr::V4(sa4([127, 0, 0, 1], 80))));
        // Extra bytes up to sockaddr_storage are ignored, and so is sin_zero.
        check(
            &with_len(lo.clone(), 128),
            Ok(SockAddr::V4(sa4([127, 0, 0, 1], 80))),
        );
        let mut zero = lo.clone();
        zero[8..].fill(0xff);
        check(&zero, Ok(SockAddr::V4(sa4([127, 0, 0, 1], 80))));
        check(
            &lo[..15],
            Err(ParseError::TooShort {
                family: AF_INET,
                len: 15,
                min: 16,
            }),
        );
        check(
            &lo[..2],
            Err(ParseError::TooShort {
                family: AF_INET,
                len: 2,
                min: 16,
            }),
        );
        check(&with_len(lo, 129), Err(ParseError::TooLong { len: 129 }));
    }

    #[test]
    fn inet6() {
        let ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let full = v6(ip, 443, 0x12345, 7);
        check(
            &full,
            Ok(SockAddr::V6(SocketAddrV6::new(ip, 443, 0x12345, 7))),
        );
        // SIN6_LEN_RFC2133: no scope id, read as 0.
        check(
            &full[..24],
            Ok(SockAddr::V6(SocketAddrV6::new(ip, 443, 0x12345, 0))),
        );
        check(
            &full[..27],
            Ok(SockAddr::V6(SocketAddrV6::new(ip, 443, 0x12345, 0))),
        );
        check(
            &full[..23],
            Err(ParseError::TooShort {
                family: AF_INET6,
                len: 23,
                min: 24,
            }),
        );
        check(
            &with_len(full, 128),
            Ok(SockAddr::V6(SocketAddrV6::new(ip, 443, 0x12345, 7))),
        );
    }

    #[test]
    fn v4_mapped_is_ipv4() {
        let mapped = v6("::ffff:10.1.2.3".parse().unwrap(), 53, 0, 0);
        let expected = SockAddr::V4Mapped {
            addr: sa4([10, 1, 2, 3], 53),
            flowinfo: 0,
            scope_id: 0,
        };
        check(&mapped, Ok(expected.clone()));
        check(&mapped[..24], Ok(expected.clone()));
        assert_eq!(
            expected.ip_for_policy(),
            Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)))
        );
        assert_eq!(
            expected.inet(),
            Some(SocketAddr::V4(sa4([10, 1, 2, 3], 53)))
        );
        assert_eq!(expected.family(), AF_INET6);
        // IPv4-compatible and IPv4-translated addresses stay IPv6: the kernel does not unmap them.
        for s in ["::10.1.2.3", "::ffff:0:10.1.2.3", "64:ff9b::10.1.2.3"] {
            let ip: Ipv6Addr = s.parse().unwrap();
            check(
                &v6(ip, 53, 0, 0),
                Ok(SockAddr::V6(SocketAddrV6::new(ip, 53, 0, 0))),
            );
        }
    }

    #[test]
    fn unix_addresses() {
        check(&unix(b""), Ok(SockAddr::Unix(UnixAddr::Unnamed)));
        check(
            &unix(b"/tmp/s\0"),
            Ok(SockAddr::Unix(UnixAddr::Pathname(b"/tmp/s".to_vec()))),
        );
        // Without a NUL: the kernel terminates the path at addrlen.
        check(
            &unix(b"/tmp/s"),
            Ok(SockAddr::Unix(UnixAddr::Pathname(b"/tmp/s".to_vec()))),
        );
        // Bytes after the NUL are ignored.
        check(
            &unix(b"/a\0/b"),
            Ok(SockAddr::Unix(UnixAddr::Pathname(b"/a".to_vec()))),
        );
        // 108 bytes, no NUL, addrlen 110: a valid path.
        let long = vec![b'a'; 108];
        check(
            &unix(&long),
            Ok(SockAddr::Unix(UnixAddr::Pathname(long.clone()))),
        );
        check(
            &with_len(unix(&long), 111),
            Err(ParseError::UnixTooLong { len: 111 }),
        );
        // Abstract: everything after the first NUL, embedded NULs and trailing NULs included.
        check(&unix(b"\0"), Ok(SockAddr::Unix(UnixAddr::Abstract(vec![]))));
        check(
            &unix(b"\0a\0b\0"),
            Ok(SockAddr::Unix(UnixAddr::Abstract(b"a\0b\0".to_vec()))),
        );
        let name = vec![0u8; 108];
        check(
            &unix(&name),
            Ok(SockAddr::Unix(UnixAddr::Abstract(vec![0; 107]))),
        );
    }

    #[test]
    fn short_unspec_and_other() {
        check(
            &[],
            Err(ParseError::TooShort {
                family: 0,
                len: 0,
                min: 2,
            }),
        );
        check(
            &[1],
            Err(ParseError::TooShort {
                family: 0,
                len: 1,
                min: 2,
            }),
        );
        check(&[0, 0], Ok(SockAddr::Unspec { as_v4: None }));
        let mut unspec = v4([192, 0, 2, 1], 9);
        unspec[..2].copy_from_slice(&AF_UNSPEC.to_ne_bytes());
        check(
            &unspec,
            Ok(SockAddr::Unspec {
                as_v4: Some(sa4([192, 0, 2, 1], 9)),
            }),
        );
        check(&unspec[..15], Ok(SockAddr::Unspec { as_v4: None }));
        let packet = (libc::AF_PACKET as u16).to_ne_bytes();
        check(
            &packet,
            Ok(SockAddr::Other {
                family: libc::AF_PACKET as u16,
            }),
        );
        check(
            &with_len(packet.to_vec(), 128),
            Ok(SockAddr::Other {
                family: libc::AF_PACKET as u16,
            }),
        );
        check(
            &with_len(packet.to_vec(), 129),
            Err(ParseError::TooLong { len: 129 }),
        );
    }

    #[test]
    fn addrlen_argument() {
        assert_eq!(sockaddr_len(16), Ok(16));
        assert_eq!(sockaddr_len(0), Ok(0));
        assert_eq!(sockaddr_len(128), Ok(128));
        assert_eq!(sockaddr_len(129), Err(ParseError::TooLong { len: 129 }));
        // The kernel sees an int: high bits are dropped, and the sign bit is negative.
        assert_eq!(sockaddr_len((1 << 32) | 16), Ok(16));
        assert_eq!(
            sockaddr_len(0x8000_0000),
            Err(ParseError::NegativeLength { len: 0x8000_0000 })
        );
        assert_eq!(
            sockaddr_len(u64::MAX),
            Err(ParseError::NegativeLength { len: u64::MAX })
        );
        assert_eq!(sockaddr_len(u64::MAX).unwrap_err().errno(), Errno::EINVAL);
    }

    #[test]
    fn destination_of_unspecified_is_loopback() {
        let any4 = SockAddr::V4(sa4([0, 0, 0, 0], 80));
        assert_eq!(
            any4.destination(),
            Some(SocketAddr::V4(sa4([127, 0, 0, 1], 80)))
        );
        assert_eq!(any4.inet(), Some(SocketAddr::V4(sa4([0, 0, 0, 0], 80))));
        let any6 = SockAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 80, 0, 0));
        assert_eq!(
            any6.destination(),
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::LOCALHOST,
                80,
                0,
                0
            )))
        );
        let mapped_any = SockAddr::V4Mapped {
            addr: sa4([0, 0, 0, 0], 80),
            flowinfo: 0,
            scope_id: 0,
        };
        assert_eq!(
            mapped_any.destination(),
            Some(SocketAddr::V4(sa4([127, 0, 0, 1], 80)))
        );
        assert_eq!(SockAddr::Unix(UnixAddr::Unnamed).destination(), None);
    }

    #[test]
    fn set_port() {
        let mut a = SockAddr::V4Mapped {
            addr: sa4([1, 2, 3, 4], 80),
            flowinfo: 0,
            scope_id: 0,
        };
        assert!(a.set_port(8080));
        assert_eq!(a.port(), Some(8080));
        let mut u = SockAddr::Unix(UnixAddr::Unnamed);
        assert!(!u.set_port(1));
    }

    #[test]
    fn encode_examples() {
        assert_eq!(
            encode(&SockAddr::V4(sa4([127, 0, 0, 1], 80))),
            v4([127, 0, 0, 1], 80)
        );
        let mapped = SockAddr::V4Mapped {
            addr: sa4([10, 0, 0, 1], 53),
            flowinfo: 5,
            scope_id: 2,
        };
        assert_eq!(
            encode(&mapped),
            v6("::ffff:10.0.0.1".parse().unwrap(), 53, 5, 2)
        );
        assert_eq!(encode(&SockAddr::Unix(UnixAddr::Unnamed)), unix(b""));
        assert_eq!(
            encode(&SockAddr::Unix(UnixAddr::Pathname(b"/s".to_vec()))),
            unix(b"/s\0")
        );
        assert_eq!(
            encode(&SockAddr::Unix(UnixAddr::Abstract(b"x".to_vec()))),
            unix(b"\0x")
        );
        let long = vec![b'p'; 200];
        assert_eq!(
            encode(&SockAddr::Unix(UnixAddr::Pathname(long))).len(),
            SOCKADDR_UN_LEN
        );
    }
}

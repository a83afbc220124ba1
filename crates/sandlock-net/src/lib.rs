//! Network policy for sandlock: sockaddr parsing, address rules, port virtualisation.
//!
//! This crate will own (issue "Network policy and port virtualisation"):
//! - parsers for `sockaddr_in`, `sockaddr_in6` (v4-mapped addresses as IPv4), `sockaddr_un`,
//!   `msghdr` and `mmsghdr` read from a sandboxed process, which never panic;
//! - address rules (`--net-allow`, `--net-deny`) and their matching;
//! - `PortMap`, the per-sandbox virtual-to-real port map;
//! - the notification handlers for `connect`, `sendto`, `sendmsg`, `sendmmsg` and `bind`, which
//!   act on behalf of the caller.
//!
//! It does not compile filters or run the event loop; it plugs handlers into `sandlock-notif`.
#![forbid(unsafe_code)]

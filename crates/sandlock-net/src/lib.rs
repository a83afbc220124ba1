//! Network policy for sandlock: sockaddr parsing, address rules, port virtualisation.
//!
//! This crate owns (issue "Network policy and port virtualisation"):
//! - [`sockaddr`]: parsers for `sockaddr_in`, `sockaddr_in6` (a v4-mapped address is the IPv4 it
//!   carries) and `sockaddr_un` read from a sandboxed process, which never panic;
//! - [`msg`]: walking `msghdr` and `mmsghdr` arrays with bounded counts and sizes;
//! - [`rules`]: the `--net-allow`/`--net-deny` rule grammar and its matching.
//!
//! It does not compile filters or run the event loop; its handlers plug into `sandlock-notif`.
#![forbid(unsafe_code)]

pub mod msg;
pub mod rules;
pub mod sockaddr;

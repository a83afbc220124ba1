//! Network policy for sandlock: sockaddr parsing, address rules, port virtualisation.
//!
//! This crate owns (issue "Network policy and port virtualisation"):
//! - [`sockaddr`]: parsers for `sockaddr_in`, `sockaddr_in6` (a v4-mapped address is the IPv4 it
//!   carries) and `sockaddr_un` read from a sandboxed process, which never panic;
//! - [`msg`]: walking `msghdr` and `mmsghdr` arrays with bounded counts and sizes;
//! - [`rules`]: the `--net-allow`/`--net-deny` rule grammar and its matching;
//! - [`cmsg`]: control messages of `sendmsg`, parsed and laid out again;
//! - [`handlers`]: the notification handlers that decide on the supervisor's own copy of a
//!   call and then perform it on behalf of the caller;
//! - [`portmap`]: port virtualisation (virtual → real ports of one sandbox);
//! - [`procnet`]: `/proc/net/{tcp,udp}[6]` filtered to one sandbox's sockets, with virtual
//!   ports.
//!
//! It does not compile filters or run the event loop; its handlers plug into `sandlock-notif`,
//! and act through a [`handlers::Spawner`] of confined worker threads that the caller provides.
//!
//! # Kernel features
//! | feature | since | used for |
//! |---|---|---|
//! | `pidfd_getfd` | 5.6 | acting on the caller's socket |
//! | `SECCOMP_USER_NOTIF_FLAG_CONTINUE` | 5.5 | `socket()` and address-less `sendto` |
//! | Landlock TCP ports (ABI 4) | 6.7 | the on-behalf connect and bind honour the port rules |
#![forbid(unsafe_code)]

pub mod cmsg;
pub mod handlers;
pub mod msg;
pub mod portmap;
pub mod procnet;
pub mod rules;
pub mod sockaddr;

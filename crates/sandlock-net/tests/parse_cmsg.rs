//! Properties of the parsers added for the handlers: control messages from a sandboxed
//! process and `/proc/net` tables never panic, and control messages round-trip.

use std::collections::HashSet;

use proptest::prelude::*;
use sandlock_net::cmsg::{Cmsg, encode_cmsgs, parse_cmsgs, rights_data, rights_fds};
use sandlock_net::portmap::{PortMap, Transport};
use sandlock_net::procnet::{filter_table, socket_inode};

proptest! {
    #[test]
    fn cmsg_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_cmsgs(&bytes);
    }

    #[test]
    fn cmsg_round_trip(msgs in proptest::collection::vec(
        (any::<i32>(), any::<i32>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..6)) {
        let msgs: Vec<Cmsg> = msgs
            .into_iter()
            .map(|(level, kind, data)| Cmsg { level, kind, data })
            .collect();
        prop_assert_eq!(parse_cmsgs(&encode_cmsgs(&msgs)).unwrap(), msgs);
    }

    #[test]
    fn rights_round_trip(fds in proptest::collection::vec(any::<i32>(), 0..16)) {
        prop_assert_eq!(rights_fds(&rights_data(&fds)), fds);
    }

    #[test]
    fn proc_net_filter_never_panics(table in "\\PC{0,400}", inode in any::<u64>()) {
        let inodes: HashSet<u64> = [inode].into_iter().collect();
        let mut map = PortMap::new();
        map.insert(Transport::Tcp, 80, 8080);
        let _ = filter_table(&table, Transport::Tcp, &inodes, &map);
        let _ = socket_inode(table.as_bytes());
    }
}

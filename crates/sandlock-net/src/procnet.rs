//! `/proc/net/{tcp,tcp6,udp,udp6}` as one sandbox should see them: only the sockets its
//! processes hold, with virtual ports.
//!
//! The supervisor reads the host's table, collects the socket inodes of the sandbox's
//! processes (`/proc/PID/fd/*` links `socket:[INODE]`), and [`filter_table`] keeps the rows with
//! those inodes, rewrites real ports to virtual ones, and renumbers the `sl` column.
//!
//! Row format (`net/ipv4/tcp_ipv4.c`, `udp.c`; the IPv6 files have 32 hex digits per address):
//! `   0: 0100007F:1F40 00000000:0000 0A ... uid timeout INODE ...`; the address is the kernel's
//! `__be32` printed as a host-order hex word, the port is big-endian hex.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::portmap::{PortMap, Transport};

/// Index of the inode column.
const INODE_FIELD: usize = 9;

/// Keeps the rows of a `/proc/net/{tcp,udp}[6]` table whose socket inode is in `inodes`,
/// with ports translated by `map` (the local port always; the remote port when the remote
/// address is a loopback one). Malformed rows are dropped. Never panics.
pub fn filter_table(
    table: &str,
    transport: Transport,
    inodes: &HashSet<u64>,
    map: &PortMap,
) -> String {
    let mut lines = table.lines();
    let mut out = String::with_capacity(table.len());
    if let Some(header) = lines.next() {
        out.push_str(header);
        out.push('\n');
    }
    let mut sl = 0usize;
    for line in lines {
        let Some(row) = filter_row(line, transport, inodes, map) else {
            continue;
        };
        let _ = writeln!(out, "{sl:4}: {row}");
        sl += 1;
    }
    out
}

fn filter_row(
    line: &str,
    transport: Transport,
    inodes: &HashSet<u64>,
    map: &PortMap,
) -> Option<String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let inode: u64 = fields.get(INODE_FIELD)?.parse().ok()?;
    if !inodes.contains(&inode) {
        return None;
    }
    let local = translate(fields.get(1)?, transport, map, false)?;
    let remote = translate(fields.get(2)?, transport, map, true)?;
    let mut row = format!("{local} {remote}");
    for f in &fields[3..] {
        row.push(' ');
        row.push_str(f);
    }
    Some(row)
}

/// `ADDR:PORT` with the port made virtual (`remote`: only for a loopback address).
fn translate(field: &str, transport: Transport, map: &PortMap, remote: bool) -> Option<String> {
    let (addr, port) = field.rsplit_once(':')?;
    let real = u16::from_str_radix(port, 16).ok()?;
    if port.len() != 4 || !addr.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let virt = if remote && !is_loopback_hex(addr) {
        real
    } else {
        map.virtual_of(transport, real)
    };
    Some(format!("{addr}:{virt:04X}"))
}

/// Whether a kernel-printed address (8 or 32 hex digits, host-order words) is loopback:
/// `127.0.0.0/8`, `::1` or `::ffff:127.0.0.0/104`.
fn is_loopback_hex(addr: &str) -> bool {
    let words: Option<Vec<[u8; 4]>> = (0..addr.len() / 8)
        .map(|i| {
            addr.get(i * 8..i * 8 + 8)
                .and_then(|w| u32::from_str_radix(w, 16).ok())
                .map(|w| w.to_ne_bytes())
        })
        .collect();
    let Some(words) = words else {
        return false;
    };
    match words.as_slice() {
        [v4] => v4[0] == 127,
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w[..]);
            }
            let ip = std::net::Ipv6Addr::from(bytes);
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        _ => false,
    }
}

/// The inodes of the sockets bound to abstract name `name` in a `/proc/net/unix` table
/// (`Num RefCount Protocol Flags Type St Inode Path`; an abstract path is printed `@name`,
/// with each NUL of the name as `@`). Never panics.
pub fn abstract_inodes(table: &str, name: &[u8]) -> Vec<u64> {
    let mut want = vec![b'@'];
    want.extend(name.iter().map(|&b| if b == 0 { b'@' } else { b }));
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            // The inode is padded (`%5lu`); a name with runs of spaces does not compare
            // equal after this split, and is then not found (the connect is refused).
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = fields.get(6)?.parse().ok()?;
            let path = fields.get(7..)?.join(" ");
            (path.as_bytes() == want.as_slice()).then_some(inode)
        })
        .collect()
}

/// The socket inodes among `/proc/PID/fd` link targets (`socket:[12345]`).
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    let inner = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(inner).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9C41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:D2F0 0100007F:9C41 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
   3: broken
";

    #[test]
    fn keeps_own_rows_with_virtual_ports() {
        let mut map = PortMap::new();
        map.insert(Transport::Tcp, 8000, 40001); // 0x9C41
        let inodes: HashSet<u64> = [111, 333].into_iter().collect();
        let out = filter_table(TCP, Transport::Tcp, &inodes, &map);
        let rows: Vec<&str> = out.lines().collect();
        assert_eq!(rows.len(), 3, "{out}");
        assert!(rows[0].starts_with("  sl"));
        assert!(
            rows[1].starts_with("   0: 0100007F:1F40 00000000:0000 0A"),
            "{}",
            rows[1]
        );
        assert!(rows[1].contains(" 111 "));
        assert!(
            rows[2].starts_with("   1: 0100007F:D2F0 0100007F:1F40 01"),
            "{}",
            rows[2]
        );
        assert!(!out.contains(" 222 "));
    }

    #[test]
    fn loopback_and_inodes() {
        assert!(is_loopback_hex("0100007F"));
        assert!(!is_loopback_hex("0100000A"));
        assert!(is_loopback_hex("00000000000000000000000001000000"));
        assert!(is_loopback_hex("0000000000000000FFFF00000100007F"));
        assert!(!is_loopback_hex("xyz"));
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[1]"), None);
        assert_eq!(socket_inode(b"socket:[x]"), None);
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01   42 @my-sock
0000000000000000: 00000002 00000000 00010000 0001 01 4343 /run/x.sock
0000000000000000: 00000003 00000000 00000000 0001 03 4444
";
        assert_eq!(abstract_inodes(unix, b"my-sock"), vec![42]);
        assert_eq!(abstract_inodes(unix, b"other"), Vec::<u64>::new());
    }
}

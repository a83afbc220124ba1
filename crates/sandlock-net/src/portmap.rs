//! Port virtualisation (`--port-remap`): each sandbox sees its own port space.
//!
//! A sandbox binds *virtual* ports. When the virtual port is free on the host, the socket gets
//! it for real; when it is taken (by the host or another sandbox), the supervisor binds the
//! socket to port 0, so the kernel picks a free *real* port atomically (no probe socket, no
//! race), and records virtual → real here. `getsockname`, `getpeername`, `connect` and
//! `/proc/net/*` then translate between the two so the sandbox only ever sees virtual ports.

use std::collections::BTreeMap;

/// The transport of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// TCP (stream sockets).
    Tcp,
    /// UDP (datagram sockets).
    Udp,
}

impl Transport {
    /// `"tcp"` or `"udp"`.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// One sandbox's virtual → real port mappings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortMap {
    to_real: BTreeMap<(Transport, u16), u16>,
    to_virtual: BTreeMap<(Transport, u16), u16>,
}

impl PortMap {
    /// An empty map: every port is itself.
    pub fn new() -> PortMap {
        PortMap::default()
    }

    /// Records that virtual port `virt` is really `real`. A previous mapping of either port is
    /// replaced (its socket is gone: the kernel gave the port out again).
    pub fn insert(&mut self, transport: Transport, virt: u16, real: u16) {
        if let Some(old_real) = self.to_real.remove(&(transport, virt)) {
            self.to_virtual.remove(&(transport, old_real));
        }
        if let Some(old_virt) = self.to_virtual.remove(&(transport, real)) {
            self.to_real.remove(&(transport, old_virt));
        }
        self.to_real.insert((transport, virt), real);
        self.to_virtual.insert((transport, real), virt);
    }

    /// The real port behind virtual port `virt`, if it is mapped.
    pub fn real(&self, transport: Transport, virt: u16) -> Option<u16> {
        self.to_real.get(&(transport, virt)).copied()
    }

    /// The virtual port the sandbox knows real port `real` by: the mapped one, else `real`
    /// itself unless that number is a virtual port of another mapping (then the sandbox
    /// cannot tell it apart, and sees it as it is anyway).
    pub fn virtual_of(&self, transport: Transport, real: u16) -> u16 {
        self.to_virtual
            .get(&(transport, real))
            .copied()
            .unwrap_or(real)
    }

    /// The mappings whose virtual and real ports differ, as `(transport, virtual, real)`, in
    /// order.
    pub fn remapped(&self) -> Vec<(Transport, u16, u16)> {
        self.to_real
            .iter()
            .filter(|((_, v), r)| v != *r)
            .map(|(&(t, v), &r)| (t, v, r))
            .collect()
    }

    /// Whether nothing is remapped.
    pub fn is_empty(&self) -> bool {
        self.remapped().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_both_ways_and_replaces_stale_entries() {
        let mut m = PortMap::new();
        assert_eq!(m.virtual_of(Transport::Tcp, 8000), 8000);
        m.insert(Transport::Tcp, 8000, 40001);
        assert_eq!(m.real(Transport::Tcp, 8000), Some(40001));
        assert_eq!(m.real(Transport::Udp, 8000), None);
        assert_eq!(m.virtual_of(Transport::Tcp, 40001), 8000);
        assert_eq!(m.virtual_of(Transport::Udp, 40001), 40001);
        m.insert(Transport::Tcp, 8000, 40002);
        assert_eq!(m.virtual_of(Transport::Tcp, 40001), 40001);
        m.insert(Transport::Tcp, 9000, 40002);
        assert_eq!(m.real(Transport::Tcp, 8000), None);
        assert_eq!(m.remapped(), vec![(Transport::Tcp, 9000, 40002)]);
        m.insert(Transport::Udp, 53, 53);
        assert_eq!(m.remapped().len(), 1);
        assert!(!m.is_empty());
    }
}

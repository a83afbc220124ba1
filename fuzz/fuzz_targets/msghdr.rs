//! Fuzz target: walking a `msghdr` and an `mmsghdr` array in memory made of the input never
//! panics and never reads more than the walkers' bounds allow.
//!
//! The input is the child's memory, mapped at `BASE`; the `msghdr` and the `mmsghdr` array
//! both start there, and the first 4 bytes double as `sendmmsg`'s `vlen`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sandlock_net::msg::{
    ChildMemory, MemFault, UIO_MAXIOV, iov_total, mmsg_count, msg_name, read_iov_bytes,
    read_mmsghdrs, read_msghdr,
};
use sandlock_net::sockaddr::{MAX_SOCKADDR_LEN, parse_sockaddr};
use sandlock_sys::structs::{Iovec, Mmsghdr};

const BASE: u64 = 0x1000;
const MAX_PAYLOAD: usize = 4096;
const IOVEC_ARRAY_MAX: usize = UIO_MAXIOV * size_of::<Iovec>();

struct Memory<'a> {
    bytes: &'a [u8],
    bytes_read: usize,
}

impl ChildMemory for Memory<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.bytes_read += buf.len();
        let fault = MemFault::new(addr, buf.len());
        let offset = usize::try_from(addr.checked_sub(BASE).ok_or(fault)?).map_err(|_| fault)?;
        let end = offset.checked_add(buf.len()).ok_or(fault)?;
        buf.copy_from_slice(self.bytes.get(offset..end).ok_or(fault)?);
        Ok(())
    }
}

fn walk_one(mem: &mut Memory<'_>, hdr: &sandlock_sys::structs::Msghdr) {
    mem.bytes_read = 0;
    if let Ok(Some(name)) = msg_name(mem, hdr) {
        assert!(name.len() <= MAX_SOCKADDR_LEN);
        let _ = parse_sockaddr(&name);
    }
    assert!(mem.bytes_read <= MAX_SOCKADDR_LEN);

    mem.bytes_read = 0;
    let total = iov_total(mem, hdr);
    assert!(mem.bytes_read <= IOVEC_ARRAY_MAX);

    mem.bytes_read = 0;
    let payload = read_iov_bytes(mem, hdr, MAX_PAYLOAD);
    assert!(mem.bytes_read <= IOVEC_ARRAY_MAX + MAX_PAYLOAD);
    if let (Ok(total), Ok(payload)) = (total, payload) {
        assert_eq!(payload.len(), total.min(MAX_PAYLOAD));
    }
}

fuzz_target!(|data: &[u8]| {
    let mut mem = Memory {
        bytes: data,
        bytes_read: 0,
    };
    if let Ok(hdr) = read_msghdr(&mut mem, BASE) {
        walk_one(&mut mem, &hdr);
    }

    let vlen = data
        .first_chunk::<4>()
        .map_or(0, |b| u32::from_le_bytes(*b));
    mem.bytes_read = 0;
    let hdrs = read_mmsghdrs(&mut mem, BASE, u64::from(vlen));
    assert!(mem.bytes_read <= 2 * mmsg_count(u64::from(vlen)) * size_of::<Mmsghdr>());
    if let Ok(hdrs) = hdrs {
        assert!(hdrs.len() <= mmsg_count(u64::from(vlen)));
        for hdr in hdrs.iter().take(4) {
            walk_one(&mut mem, &hdr.msg_hdr);
        }
    }
});

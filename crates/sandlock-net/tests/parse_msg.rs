//! Property tests of the msghdr walkers: arbitrary memory contents never panic, and no walker
//! reads more of the child's memory than its bounds allow.

use proptest::prelude::*;
use sandlock_net::msg::{
    ChildMemory, MemFault, UIO_MAXIOV, iov_total, mmsg_count, msg_name, read_iov_bytes,
    read_iovecs, read_mmsghdrs, read_msghdr,
};
use sandlock_net::sockaddr::MAX_SOCKADDR_LEN;
use sandlock_sys::structs::{Iovec, Mmsghdr, Msghdr};

/// Where the fake memory starts: pointers are drawn near it so that reads often succeed.
const BASE: u64 = 0x10_0000;

/// One mapped region of arbitrary bytes; counts every byte asked for.
struct FakeMemory {
    bytes: Vec<u8>,
    bytes_read: usize,
}

impl ChildMemory for FakeMemory {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self.bytes_read += buf.len();
        let fault = MemFault::new(addr, buf.len());
        let offset = addr.checked_sub(BASE).ok_or(fault)?;
        let offset = usize::try_from(offset).map_err(|_| fault)?;
        let end = offset.checked_add(buf.len()).ok_or(fault)?;
        buf.copy_from_slice(self.bytes.get(offset..end).ok_or(fault)?);
        Ok(())
    }
}

/// A pointer: mostly inside the fake memory, sometimes anywhere.
fn pointer() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (0u64..8192).prop_map(|off| BASE + off),
        1 => any::<u64>(),
        1 => Just(0u64),
    ]
}

/// A length or count: mostly small, sometimes at the bounds, sometimes anything.
fn length() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..64,
        1 => 1000u64..1100,
        1 => Just(i64::MAX as u64),
        1 => any::<u64>(),
    ]
}

/// Memory filled with little-endian words that are mostly valid pointers and small lengths,
/// so that iovec arrays inside it lead back into it.
fn memory() -> impl Strategy<Value = Vec<u8>> {
    // One `u64` per word keeps generation cheap; its low bits pick what the word becomes.
    let word = |w: u64| match w % 8 {
        0..=3 => BASE + (w >> 8) % 8192,
        4..=6 => (w >> 8) % 64,
        _ => w,
    };
    prop::collection::vec(any::<u64>(), 0..1024).prop_map(move |words| {
        words
            .into_iter()
            .flat_map(|w| word(w).to_le_bytes())
            .collect()
    })
}

fn msghdr() -> impl Strategy<Value = Msghdr> {
    (pointer(), any::<u32>(), 0u32..200, pointer(), length()).prop_map(
        |(name, wild_len, small_len, iov, iovlen)| Msghdr {
            msg_name: name,
            msg_namelen: if wild_len % 4 == 0 {
                wild_len
            } else {
                small_len
            },
            _pad1: 0,
            msg_iov: iov,
            msg_iovlen: iovlen,
            msg_control: 0,
            msg_controllen: 0,
            msg_flags: 0,
            _pad2: 0,
        },
    )
}

const IOVEC_ARRAY_MAX: usize = UIO_MAXIOV * size_of::<Iovec>();

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn read_msghdr_reads_one_header(bytes in memory(), addr in pointer()) {
        let mut mem = FakeMemory { bytes, bytes_read: 0 };
        let _ = read_msghdr(&mut mem, addr);
        prop_assert_eq!(mem.bytes_read, size_of::<Msghdr>());
    }

    #[test]
    fn msg_name_is_bounded(bytes in memory(), hdr in msghdr()) {
        let mut mem = FakeMemory { bytes, bytes_read: 0 };
        if let Ok(Some(name)) = msg_name(&mut mem, &hdr) {
            prop_assert!(!name.is_empty() && name.len() <= MAX_SOCKADDR_LEN);
            prop_assert!(name.len() <= hdr.msg_namelen as usize);
        }
        prop_assert!(mem.bytes_read <= MAX_SOCKADDR_LEN);
    }

    #[test]
    fn iovec_walk_is_bounded(bytes in memory(), hdr in msghdr(), max in 0usize..4096) {
        let mut mem = FakeMemory { bytes, bytes_read: 0 };
        let iovs = read_iovecs(&mut mem, &hdr);
        prop_assert!(mem.bytes_read <= IOVEC_ARRAY_MAX);
        if let Ok(iovs) = &iovs {
            prop_assert_eq!(iovs.len() as u64, hdr.msg_iovlen);
        }

        mem.bytes_read = 0;
        let total = iov_total(&mut mem, &hdr);
        prop_assert!(mem.bytes_read <= IOVEC_ARRAY_MAX);
        prop_assert_eq!(total.is_ok(), iovs.is_ok());

        mem.bytes_read = 0;
        let payload = read_iov_bytes(&mut mem, &hdr, max);
        prop_assert!(mem.bytes_read <= IOVEC_ARRAY_MAX + max);
        if let (Ok(payload), Ok(total)) = (payload, total) {
            prop_assert_eq!(payload.len(), total.min(max));
        }
    }

    #[test]
    fn mmsghdr_walk_is_bounded(bytes in memory(), addr in pointer(), vlen in length()) {
        let mut mem = FakeMemory { bytes, bytes_read: 0 };
        let hdrs = read_mmsghdrs(&mut mem, addr, vlen);
        // One bulk read, then at worst one read per entry to find the readable prefix.
        prop_assert!(mem.bytes_read <= 2 * mmsg_count(vlen) * size_of::<Mmsghdr>());
        if let Ok(hdrs) = hdrs {
            prop_assert!(hdrs.len() <= mmsg_count(vlen));
            prop_assert!(hdrs.len() <= UIO_MAXIOV);
            for hdr in hdrs.iter().take(8) {
                mem.bytes_read = 0;
                let _ = read_iov_bytes(&mut mem, &hdr.msg_hdr, 64);
                prop_assert!(mem.bytes_read <= IOVEC_ARRAY_MAX + 64);
            }
        }
    }
}

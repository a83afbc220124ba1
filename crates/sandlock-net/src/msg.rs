//! Walking the `msghdr` and `mmsghdr` arrays of `sendmsg(2)` and `sendmmsg(2)` in a sandboxed
//! process's memory, with the kernel's bounds.
//!
//! The functions here read the child's memory only through [`ChildMemory`], so this module knows
//! nothing of the reactor; a handler passes a closure over its memory accessor. Every count and
//! length comes from the child, so every read is bounded before it is made: at most
//! [`UIO_MAXIOV`] `iovec`s or `mmsghdr`s, at most [`MAX_SOCKADDR_LEN`] address bytes, and at most
//! the caller's `max` payload bytes.
//!
//! # Kernel behaviour mirrored (Linux 6.x, `net/socket.c`, `lib/iov_iter.c`)
//!
//! | input | result | kernel code |
//! |---|---|---|
//! | `msg_name == 0` | no address, whatever `msg_namelen` says | `__copy_msghdr` |
//! | `msg_namelen` negative as an `int` | [`MsgError::NegativeNameLen`] (`EINVAL`) | `__copy_msghdr` |
//! | `msg_namelen > 128` | clamped to 128, **not** an error (*measured*: `sendmsg` with 200 works) | `__copy_msghdr` |
//! | `msg_iovlen > UIO_MAXIOV` | [`MsgError::TooManyIovecs`] (`EMSGSIZE`) | `__copy_msghdr` |
//! | an `iov_len` negative as `ssize_t` | [`MsgError::NegativeIovLen`] (`EINVAL`) | `copy_iovec_from_user` |
//! | `iov_base + iov_len` wraps | [`MsgError::IovWraps`] (`EFAULT`) | `access_ok` in `__import_iovec` |
//! | total length over [`MAX_RW_COUNT`] | clamped, not an error | `__import_iovec` |
//! | `sendmmsg` `vlen` argument | low 32 bits, capped at [`UIO_MAXIOV`] (*measured*) | `__sys_sendmmsg` |
//!
//! `access_ok` also rejects ranges beyond the user address space; that bound depends on the
//! machine (4- or 5-level page tables), so it is not mirrored: such a range fails when read,
//! with [`MsgError::Fault`].
//!
//! [`MAX_SOCKADDR_LEN`]: crate::sockaddr::MAX_SOCKADDR_LEN

use sandlock_sys::Errno;
use sandlock_sys::structs::{Iovec, Mmsghdr, Msghdr};
use zerocopy::{FromZeros, IntoBytes};

use crate::sockaddr::MAX_SOCKADDR_LEN;

/// `UIO_MAXIOV`: the most `iovec`s in one call, and the most messages `sendmmsg` sends.
pub const UIO_MAXIOV: usize = 1024;

/// `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK` with 4 KiB pages): the most bytes one call transfers.
pub const MAX_RW_COUNT: usize = 0x7fff_f000;

const MMSGHDR_LEN: usize = size_of::<Mmsghdr>();

/// A read of the child's memory that failed (unmapped, or the process is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot read {len} bytes at {addr:#x} in the child")]
pub struct MemFault {
    /// Start of the range.
    pub addr: u64,
    /// Length of the range.
    pub len: usize,
}

impl MemFault {
    /// A failed read of `len` bytes at `addr`.
    pub fn new(addr: u64, len: usize) -> MemFault {
        MemFault { addr, len }
    }
}

/// Read access to the memory of the process that made the call.
///
/// Implemented for every `FnMut(u64, &mut [u8]) -> Result<(), MemFault>` closure.
pub trait ChildMemory {
    /// Fills `buf` with the bytes at `addr`, all of them or none: a partial read is a fault.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault>;
}

impl<F> ChildMemory for F
where
    F: FnMut(u64, &mut [u8]) -> Result<(), MemFault>,
{
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
        self(addr, buf)
    }
}

/// Why a message header cannot be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MsgError {
    /// The child's memory could not be read.
    #[error("reading the message")]
    Fault(#[from] MemFault),
    /// `msg_namelen` is negative as an `int`.
    #[error("msg_namelen {namelen:#x} is negative")]
    NegativeNameLen {
        /// The raw field.
        namelen: u32,
    },
    /// `msg_iovlen` exceeds [`UIO_MAXIOV`].
    #[error("msg_iovlen {iovlen} exceeds {UIO_MAXIOV}")]
    TooManyIovecs {
        /// The raw field.
        iovlen: u64,
    },
    /// An `iov_len` is negative as `ssize_t`.
    #[error("iovec {index} has a negative length {len:#x}")]
    NegativeIovLen {
        /// Index of the `iovec`.
        index: usize,
        /// The raw field.
        len: u64,
    },
    /// An `iovec`'s range wraps around the address space.
    #[error("iovec {index} at {base:#x} with length {len:#x} wraps around")]
    IovWraps {
        /// Index of the `iovec`.
        index: usize,
        /// `iov_base`.
        base: u64,
        /// `iov_len`.
        len: u64,
    },
}

impl MsgError {
    /// The errno the kernel returns for the same message.
    pub fn errno(&self) -> Errno {
        match self {
            MsgError::Fault(_) | MsgError::IovWraps { .. } => Errno::EFAULT,
            MsgError::NegativeNameLen { .. } | MsgError::NegativeIovLen { .. } => Errno::EINVAL,
            MsgError::TooManyIovecs { .. } => Errno::EMSGSIZE,
        }
    }
}

/// Reads the `msghdr` at `addr` (the second argument of `sendmsg`).
pub fn read_msghdr(mem: &mut (impl ChildMemory + ?Sized), addr: u64) -> Result<Msghdr, MsgError> {
    let mut hdr = Msghdr::new_zeroed();
    mem.read(addr, hdr.as_mut_bytes())?;
    Ok(hdr)
}

/// The destination address bytes of a message, as the kernel copies them: `None` when
/// `msg_name` is 0 or `msg_namelen` is 0, else `min(msg_namelen, 128)` bytes, ready for
/// [`crate::sockaddr::parse_sockaddr`].
pub fn msg_name(
    mem: &mut (impl ChildMemory + ?Sized),
    hdr: &Msghdr,
) -> Result<Option<Vec<u8>>, MsgError> {
    if hdr.msg_name == 0 {
        return Ok(None);
    }
    // The kernel's field is an `int`.
    let namelen =
        usize::try_from(hdr.msg_namelen as i32).map_err(|_| MsgError::NegativeNameLen {
            namelen: hdr.msg_namelen,
        })?;
    let len = namelen.min(MAX_SOCKADDR_LEN);
    if len == 0 {
        return Ok(None);
    }
    let mut name = vec![0; len];
    mem.read(hdr.msg_name, &mut name)?;
    Ok(Some(name))
}

/// The number of messages `sendmmsg` handles for its `vlen` argument: the low 32 bits (the
/// parameter is an `unsigned int`), capped at [`UIO_MAXIOV`].
pub fn mmsg_count(vlen_arg: u64) -> usize {
    usize::try_from(vlen_arg as u32)
        .unwrap_or(UIO_MAXIOV)
        .min(UIO_MAXIOV)
}

/// Reads the `mmsghdr` array of `sendmmsg` at `addr`; `vlen_arg` is the raw syscall argument
/// (see [`mmsg_count`]).
///
/// The kernel copies and sends the messages one at a time and, when one fails after others
/// were sent, returns how many were. In the same way, if only a prefix of the array is
/// readable, this returns that prefix; it fails only when the first entry cannot be read. An
/// empty array (`vlen` 0) reads nothing.
pub fn read_mmsghdrs(
    mem: &mut (impl ChildMemory + ?Sized),
    addr: u64,
    vlen_arg: u64,
) -> Result<Vec<Mmsghdr>, MsgError> {
    let count = mmsg_count(vlen_arg);
    let mut hdrs = vec![Mmsghdr::new_zeroed(); count];
    if count == 0 || mem.read(addr, hdrs.as_mut_bytes()).is_ok() {
        return Ok(hdrs);
    }
    // Some entry is unreadable (or the array wraps): find the readable prefix.
    let mut readable = 0;
    for (index, hdr) in hdrs.iter_mut().enumerate() {
        let entry_addr = (index as u64)
            .checked_mul(MMSGHDR_LEN as u64)
            .and_then(|offset| addr.checked_add(offset));
        let result = match entry_addr {
            Some(a) => mem.read(a, hdr.as_mut_bytes()),
            None => Err(MemFault::new(addr, count * MMSGHDR_LEN)),
        };
        match result {
            Ok(()) => readable += 1,
            Err(fault) if readable == 0 => return Err(fault.into()),
            Err(_) => break,
        }
    }
    hdrs.truncate(readable);
    Ok(hdrs)
}

/// Reads and checks the `iovec` array of a message: at most [`UIO_MAXIOV`] entries (else
/// `EMSGSIZE`), no length negative as `ssize_t` (else `EINVAL`), no range that wraps (else
/// `EFAULT`).
pub fn read_iovecs(
    mem: &mut (impl ChildMemory + ?Sized),
    hdr: &Msghdr,
) -> Result<Vec<Iovec>, MsgError> {
    let iovlen = hdr.msg_iovlen;
    let count = usize::try_from(iovlen)
        .ok()
        .filter(|&n| n <= UIO_MAXIOV)
        .ok_or(MsgError::TooManyIovecs { iovlen })?;
    let mut iovs = vec![Iovec::new_zeroed(); count];
    if count == 0 {
        return Ok(iovs);
    }
    mem.read(hdr.msg_iov, iovs.as_mut_bytes())?;
    // copy_iovec_from_user checks every length before __import_iovec checks any range.
    if let Some((index, iov)) = iovs
        .iter()
        .enumerate()
        .find(|(_, iov)| i64::try_from(iov.iov_len).is_err())
    {
        return Err(MsgError::NegativeIovLen {
            index,
            len: iov.iov_len,
        });
    }
    if let Some((index, iov)) = iovs
        .iter()
        .enumerate()
        .find(|(_, iov)| iov.iov_base.checked_add(iov.iov_len).is_none())
    {
        return Err(MsgError::IovWraps {
            index,
            base: iov.iov_base,
            len: iov.iov_len,
        });
    }
    Ok(iovs)
}

/// The lengths of the `iovec`s as the kernel uses them: each clamped so that the running total
/// stays within [`MAX_RW_COUNT`].
fn clamped_lens(iovs: &[Iovec]) -> impl Iterator<Item = (u64, usize)> + '_ {
    let mut total = 0usize;
    iovs.iter().map(move |iov| {
        let room = MAX_RW_COUNT - total;
        let len = usize::try_from(iov.iov_len).unwrap_or(usize::MAX).min(room);
        total += len;
        (iov.iov_base, len)
    })
}

/// The number of payload bytes a `sendmsg` of this message would transfer at most: the sum of
/// the `iov_len`s, clamped to [`MAX_RW_COUNT`], after the checks of [`read_iovecs`]. Reads
/// the `iovec` array but no payload.
pub fn iov_total(mem: &mut (impl ChildMemory + ?Sized), hdr: &Msghdr) -> Result<usize, MsgError> {
    let iovs = read_iovecs(mem, hdr)?;
    Ok(clamped_lens(&iovs).map(|(_, len)| len).sum())
}

/// Gathers the first `min(max, iov_total)` payload bytes of a message, in `iovec` order.
///
/// Reads the `iovec` array and then at most `max` bytes of payload, one read per `iovec` that
/// contributes; empty `iovec`s are not read.
pub fn read_iov_bytes(
    mem: &mut (impl ChildMemory + ?Sized),
    hdr: &Msghdr,
    max: usize,
) -> Result<Vec<u8>, MsgError> {
    let iovs = read_iovecs(mem, hdr)?;
    let mut out = Vec::new();
    for (base, len) in clamped_lens(&iovs) {
        let take = len.min(max - out.len());
        if take == 0 {
            if out.len() == max {
                break;
            }
            continue;
        }
        let start = out.len();
        out.resize(start + take, 0);
        mem.read(base, &mut out[start..])?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory made of byte ranges at given addresses; everything else faults.
    struct FakeMemory {
        regions: Vec<(u64, Vec<u8>)>,
        bytes_read: usize,
    }

    impl FakeMemory {
        fn new() -> FakeMemory {
            FakeMemory {
                regions: Vec::new(),
                bytes_read: 0,
            }
        }

        fn put(&mut self, addr: u64, bytes: &[u8]) -> &mut FakeMemory {
            self.regions.push((addr, bytes.to_vec()));
            self
        }
    }

    impl ChildMemory for FakeMemory {
        fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemFault> {
            self.bytes_read += buf.len();
            let fault = MemFault::new(addr, buf.len());
            let (start, bytes) = self
                .regions
                .iter()
                .find(|(start, bytes)| addr >= *start && addr - start < bytes.len() as u64)
                .ok_or(fault)?;
            let offset = usize::try_from(addr - start).map_err(|_| fault)?;
            let src = bytes.get(offset..offset + buf.len()).ok_or(fault)?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    fn hdr(name: u64, namelen: u32, iov: u64, iovlen: u64) -> Msghdr {
        Msghdr {
            msg_name: name,
            msg_namelen: namelen,
            msg_iov: iov,
            msg_iovlen: iovlen,
            ..Msghdr::new_zeroed()
        }
    }

    fn iovecs(list: &[(u64, u64)]) -> Vec<u8> {
        list.iter()
            .flat_map(|&(iov_base, iov_len)| Iovec { iov_base, iov_len }.as_bytes().to_vec())
            .collect()
    }

    #[test]
    fn msghdr_roundtrip_through_memory() {
        let h = hdr(0x1000, 16, 0x2000, 2);
        let mut mem = FakeMemory::new();
        mem.put(0x500, h.as_bytes());
        assert_eq!(read_msghdr(&mut mem, 0x500), Ok(h));
        assert_eq!(
            read_msghdr(&mut mem, 0x501),
            Err(MsgError::Fault(MemFault::new(0x501, size_of::<Msghdr>())))
        );
    }

    #[test]
    fn names() {
        let mut mem = FakeMemory::new();
        mem.put(0x1000, &[7; 200]);
        let check = |mem: &mut FakeMemory, h: Msghdr, expected: Result<Option<usize>, MsgError>| {
            let got = msg_name(mem, &h).map(|n| n.map(|n| n.len()));
            assert_eq!(got, expected, "{h:?}");
        };
        check(&mut mem, hdr(0, 16, 0, 0), Ok(None));
        check(&mut mem, hdr(0x1000, 0, 0, 0), Ok(None));
        check(&mut mem, hdr(0x1000, 16, 0, 0), Ok(Some(16)));
        check(&mut mem, hdr(0x1000, 200, 0, 0), Ok(Some(128)));
        check(&mut mem, hdr(0, 0x8000_0000, 0, 0), Ok(None));
        check(
            &mut mem,
            hdr(0x1000, 0x8000_0000, 0, 0),
            Err(MsgError::NegativeNameLen {
                namelen: 0x8000_0000,
            }),
        );
        check(
            &mut mem,
            hdr(0x9000, 16, 0, 0),
            Err(MsgError::Fault(MemFault::new(0x9000, 16))),
        );
    }

    #[test]
    fn iovec_rules() {
        let mut mem = FakeMemory::new();
        mem.put(0x100, b"hello world");
        mem.put(0x2000, &iovecs(&[(0x100, 5), (0, 0), (0x105, 6)]));
        mem.put(0x3000, &iovecs(&[(0x100, 1), (0x100, u64::MAX)]));
        mem.put(0x4000, &iovecs(&[(u64::MAX - 1, 2)]));
        mem.put(
            0x5000,
            &iovecs(&[(0x100, i64::MAX as u64), (0x100, i64::MAX as u64)]),
        );

        let ok = hdr(0, 0, 0x2000, 3);
        assert_eq!(iov_total(&mut mem, &ok), Ok(11));
        assert_eq!(
            read_iov_bytes(&mut mem, &ok, 100),
            Ok(b"hello world".to_vec())
        );
        assert_eq!(read_iov_bytes(&mut mem, &ok, 7), Ok(b"hello w".to_vec()));
        assert_eq!(read_iov_bytes(&mut mem, &ok, 0), Ok(vec![]));
        assert_eq!(iov_total(&mut mem, &hdr(0, 0, 0, 0)), Ok(0));

        let negative = hdr(0, 0, 0x3000, 2);
        let err = iov_total(&mut mem, &negative).unwrap_err();
        assert_eq!(
            err,
            MsgError::NegativeIovLen {
                index: 1,
                len: u64::MAX
            }
        );
        assert_eq!(err.errno(), Errno::EINVAL);

        let wraps = iov_total(&mut mem, &hdr(0, 0, 0x4000, 1)).unwrap_err();
        assert_eq!(
            wraps,
            MsgError::IovWraps {
                index: 0,
                base: u64::MAX - 1,
                len: 2
            }
        );
        assert_eq!(wraps.errno(), Errno::EFAULT);

        // The total is clamped, as __import_iovec does, not an overflow.
        assert_eq!(iov_total(&mut mem, &hdr(0, 0, 0x5000, 2)), Ok(MAX_RW_COUNT));

        let many = iov_total(&mut mem, &hdr(0, 0, 0x2000, 1025)).unwrap_err();
        assert_eq!(many, MsgError::TooManyIovecs { iovlen: 1025 });
        assert_eq!(many.errno(), Errno::EMSGSIZE);
        let huge = iov_total(&mut mem, &hdr(0, 0, 0x2000, u64::MAX)).unwrap_err();
        assert_eq!(huge, MsgError::TooManyIovecs { iovlen: u64::MAX });
    }

    #[test]
    fn payload_fault_is_reported() {
        let mut mem = FakeMemory::new();
        mem.put(0x2000, &iovecs(&[(0x7000, 4)]));
        assert_eq!(
            read_iov_bytes(&mut mem, &hdr(0, 0, 0x2000, 1), 10),
            Err(MsgError::Fault(MemFault::new(0x7000, 4)))
        );
    }

    #[test]
    fn mmsg_counts() {
        assert_eq!(mmsg_count(0), 0);
        assert_eq!(mmsg_count(3), 3);
        assert_eq!(mmsg_count(1100), UIO_MAXIOV);
        assert_eq!(mmsg_count((1 << 32) | 2), 2);
        assert_eq!(mmsg_count(u64::MAX), UIO_MAXIOV);
    }

    #[test]
    fn mmsghdr_prefix() {
        let entry = |i: u64| Mmsghdr {
            msg_hdr: hdr(i, 16, 0, 0),
            ..Mmsghdr::new_zeroed()
        };
        let three: Vec<u8> = (0..3).flat_map(|i| entry(i).as_bytes().to_vec()).collect();
        let mut mem = FakeMemory::new();
        mem.put(0x10_000, &three);
        let got = read_mmsghdrs(&mut mem, 0x10_000, 3).unwrap();
        assert_eq!(got, vec![entry(0), entry(1), entry(2)]);
        // Asking for more than is mapped gives the readable prefix, like sendmmsg's count.
        let got = read_mmsghdrs(&mut mem, 0x10_000, 5).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(read_mmsghdrs(&mut mem, 0x10_000, 0), Ok(vec![]));
        assert_eq!(
            read_mmsghdrs(&mut mem, 0x20_000, 2),
            Err(MsgError::Fault(MemFault::new(0x20_000, MMSGHDR_LEN)))
        );
    }

    #[test]
    fn closures_are_memory() {
        let h = hdr(1, 2, 3, 4);
        let mut reader = |_addr: u64, buf: &mut [u8]| -> Result<(), MemFault> {
            buf.copy_from_slice(h.as_bytes());
            Ok(())
        };
        assert_eq!(read_msghdr(&mut reader, 0), Ok(h));
        let dynamic: &mut dyn ChildMemory = &mut reader;
        assert_eq!(read_msghdr(dynamic, 0), Ok(h));
    }
}

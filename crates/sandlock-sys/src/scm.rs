//! Passing file descriptors over a unix socket pair with `SCM_RIGHTS`.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::Errno;

/// Creates a connected `AF_UNIX`, `SOCK_SEQPACKET` socket pair, both ends close-on-exec.
///
/// Calls `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds)`. Sequenced packets keep
/// message boundaries, so a short message can never be mistaken for the start of a longer one.
#[doc(alias = "socketpair")]
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: the kernel writes two fds into `fds`.
    let ret = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    Errno::result(ret)?;
    // SAFETY: on success both fds are new and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Control-message space for exactly one fd: `CMSG_SPACE(sizeof(int))` on 64-bit Linux.
const CMSG_SPACE_ONE_FD: usize = 24;

#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_SPACE_ONE_FD]);

/// The flags of [`send_with_fd`]'s `sendmsg`: `MSG_NOSIGNAL | MSG_PROBE`.
///
/// `MSG_PROBE` changes nothing on a unix socket, but makes a UDP, ICMP or raw IP send a no-op
/// (`ip_make_skb`, `ip_append_data`). The spawned command sends its seccomp listener with
/// these flags *after* its filter is installed, so a filter that hands `sendmsg` to the
/// supervisor must let this exact call through (the supervisor does not hold the listener yet);
/// letting every `sendmsg` with exactly these flags through is then harmless for the network
/// rules, since such a call cannot put an IP datagram on the wire.
pub const SEND_WITH_FD_FLAGS: i32 = libc::MSG_NOSIGNAL | MSG_PROBE;

/// `MSG_PROBE` (`linux/socket.h`): "do not send, only probe the path"; libc lacks it.
const MSG_PROBE: i32 = 0x10;

/// Sends `data` and, if given, one fd over `sock`.
///
/// Calls `sendmsg(sock, {data, SCM_RIGHTS [fd]}, SEND_WITH_FD_FLAGS)`. It does not allocate and is
/// async-signal-safe, so a fork child can send its seccomp listener to the parent.
#[doc(alias = "sendmsg")]
pub fn send_with_fd(sock: impl AsFd, data: &[u8], fd: Option<impl AsFd>) -> Result<usize, Errno> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cmsg = CmsgBuf([0; CMSG_SPACE_ONE_FD]);
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = &fd {
        msg.msg_control = cmsg.0.as_mut_ptr().cast();
        msg.msg_controllen = CMSG_SPACE_ONE_FD;
        // SAFETY: msg_control points at a buffer of CMSG_SPACE(sizeof(int)) bytes, aligned for
        // cmsghdr, so CMSG_FIRSTHDR is non-null and CMSG_DATA has room for one int.
        unsafe {
            let hdr = libc::CMSG_FIRSTHDR(&msg);
            (*hdr).cmsg_level = libc::SOL_SOCKET;
            (*hdr).cmsg_type = libc::SCM_RIGHTS;
            (*hdr).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
            libc::CMSG_DATA(hdr)
                .cast::<RawFd>()
                .write_unaligned(fd.as_fd().as_raw_fd());
        }
    }
    // SAFETY: `msg` and everything it points to is valid for the duration of the call.
    let ret = unsafe { libc::sendmsg(sock.as_fd().as_raw_fd(), &msg, SEND_WITH_FD_FLAGS) };
    Errno::result(ret).map(|n| n as usize)
}

/// Receives data into `buf` and at most one fd from `sock`.
///
/// Calls `recvmsg(sock, …, MSG_CMSG_CLOEXEC)`. Returns the byte count and the fd, if one came.
/// An fd beyond the first, or a truncated control message, is an `EPROTO` error (any received
/// fds are closed).
#[doc(alias = "recvmsg")]
pub fn recv_with_fd(sock: impl AsFd, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>), Errno> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cmsg = CmsgBuf([0; CMSG_SPACE_ONE_FD]);
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_SPACE_ONE_FD;
    let ret = loop {
        // SAFETY: `msg` and its buffers are valid for writes for the duration of the call.
        let ret =
            unsafe { libc::recvmsg(sock.as_fd().as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        match Errno::result(ret) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    let mut received = None;
    let mut extra_fds = false;
    // SAFETY: the kernel filled `msg_control` with `msg_controllen` bytes of cmsgs; the CMSG
    // macros walk within that length.
    unsafe {
        let mut hdr = libc::CMSG_FIRSTHDR(&msg);
        while !hdr.is_null() {
            if (*hdr).cmsg_level == libc::SOL_SOCKET && (*hdr).cmsg_type == libc::SCM_RIGHTS {
                let data_len = (*hdr).cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
                let count = data_len / size_of::<RawFd>();
                let data = libc::CMSG_DATA(hdr).cast::<RawFd>();
                for i in 0..count {
                    let fd = OwnedFd::from_raw_fd(data.add(i).read_unaligned());
                    if received.is_none() {
                        received = Some(fd);
                    } else {
                        extra_fds = true; // `fd` is closed here.
                    }
                }
            }
            hdr = libc::CMSG_NXTHDR(&msg, hdr);
        }
    }
    // The buffer has room for two fds, so a second one arrives without MSG_CTRUNC. Returning
    // drops `received`, closing the first fd too.
    if msg.msg_flags & libc::MSG_CTRUNC != 0 || extra_fds {
        return Err(Errno::from_raw(libc::EPROTO));
    }
    Ok((ret as usize, received))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn pass_a_pipe_end() {
        let (a, b) = seqpacket_pair().unwrap();
        let (mut r, w) = std::io::pipe().unwrap();
        assert_eq!(send_with_fd(&a, b"x", Some(&w)), Ok(1));
        drop(w);
        let mut buf = [0u8; 8];
        let (n, fd) = recv_with_fd(&b, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"x");
        let mut w2 = std::fs::File::from(fd.expect("an fd"));
        w2.write_all(b"hi").unwrap();
        drop(w2);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hi");
    }

    /// Sends one byte with two fds in one SCM_RIGHTS message, which `send_with_fd` cannot do.
    fn send_two_fds(sock: &OwnedFd, fds: [RawFd; 2]) {
        #[repr(C, align(8))]
        struct Buf([u8; 24]);
        let mut cbuf = Buf([0; 24]);
        let mut data = *b"2";
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: msghdr is plain old data; all-zero is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = 24;
        // SAFETY: the 24-byte, 8-aligned buffer holds a cmsghdr (16 bytes) and two ints.
        let hdr = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        // SAFETY: `hdr` points into `cbuf`, which is large enough (above).
        unsafe {
            hdr.write(libc::cmsghdr {
                cmsg_len: libc::CMSG_LEN(8) as usize,
                cmsg_level: libc::SOL_SOCKET,
                cmsg_type: libc::SCM_RIGHTS,
            })
        };
        // SAFETY: CMSG_DATA(hdr) has room for the two ints (above).
        unsafe {
            libc::CMSG_DATA(hdr)
                .cast::<[RawFd; 2]>()
                .write_unaligned(fds)
        };
        // SAFETY: `msg` and everything it points to lives across the call.
        let sent = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, 0) };
        assert_eq!(sent, 1);
    }

    #[test]
    fn two_fds_are_a_protocol_error() {
        let (a, b) = seqpacket_pair().unwrap();
        let (r, w) = std::io::pipe().unwrap();
        send_two_fds(&a, [r.as_raw_fd(), w.as_raw_fd()]);
        let mut buf = [0u8; 8];
        assert_eq!(
            recv_with_fd(&b, &mut buf).err(),
            Some(Errno::from_raw(libc::EPROTO))
        );
    }

    #[test]
    fn data_without_fd() {
        let (a, b) = seqpacket_pair().unwrap();
        send_with_fd(&a, b"abc", None::<&OwnedFd>).unwrap();
        let mut buf = [0u8; 8];
        let (n, fd) = recv_with_fd(&b, &mut buf).unwrap();
        assert_eq!((n, fd.is_none()), (3, true));
    }
}

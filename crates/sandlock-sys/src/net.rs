//! Socket calls on raw address bytes, for acting on behalf of a sandboxed process.
//!
//! The supervisor copies a socket address (and a message) out of a sandboxed process, decides
//! on its own copy, and then makes the call itself on a duplicate of the caller's socket. These
//! wrappers take the address as the exact bytes to pass (`addrlen` is the slice's length), so
//! what the kernel acts on is what was decided on.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use crate::Errno;

/// Creates a socket (`socket(2)`), close-on-exec.
pub fn socket(domain: i32, ty: i32, protocol: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: socket takes no pointers.
    let fd = Errno::result(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: on success the fd is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn addr_len(addr: &[u8]) -> Result<libc::socklen_t, Errno> {
    libc::socklen_t::try_from(addr.len()).map_err(|_| Errno::EINVAL)
}

/// `connect(2)` to the address in `addr`. Blocks on a blocking socket.
pub fn connect(sock: impl AsFd, addr: &[u8]) -> Result<(), Errno> {
    let len = addr_len(addr)?;
    // SAFETY: `addr` is valid for `len` bytes; the kernel only reads it.
    let ret = unsafe { libc::connect(sock.as_fd().as_raw_fd(), addr.as_ptr().cast(), len) };
    Errno::result(ret).map(drop)
}

/// `bind(2)` to the address in `addr`.
pub fn bind(sock: impl AsFd, addr: &[u8]) -> Result<(), Errno> {
    let len = addr_len(addr)?;
    // SAFETY: `addr` is valid for `len` bytes; the kernel only reads it.
    let ret = unsafe { libc::bind(sock.as_fd().as_raw_fd(), addr.as_ptr().cast(), len) };
    Errno::result(ret).map(drop)
}

/// `listen(2)`.
pub fn listen(sock: impl AsFd, backlog: i32) -> Result<(), Errno> {
    // SAFETY: listen takes no pointers.
    Errno::result(unsafe { libc::listen(sock.as_fd().as_raw_fd(), backlog) }).map(drop)
}

/// `sendmsg(2)` of the buffers `iov` with destination `name` (none: the connected peer) and
/// the raw control bytes `control` (already laid out as `cmsghdr`s, or empty). Returns the
/// number of bytes sent.
pub fn sendmsg(
    sock: impl AsFd,
    name: Option<&[u8]>,
    iov: &[&[u8]],
    control: &[u8],
    flags: i32,
) -> Result<usize, Errno> {
    let iovecs: Vec<libc::iovec> = iov
        .iter()
        .map(|b| libc::iovec {
            iov_base: b.as_ptr() as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    // The control buffer must be aligned for cmsghdr: copy it into u64s.
    let mut aligned = vec![0u64; control.len().div_ceil(8)];
    for (i, b) in control.iter().enumerate() {
        let word = &mut aligned[i / 8];
        let mut bytes = word.to_ne_bytes();
        bytes[i % 8] = *b;
        *word = u64::from_ne_bytes(bytes);
    }
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(name) = name {
        msg.msg_name = name.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = addr_len(name)?;
    }
    msg.msg_iov = iovecs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = iovecs.len();
    if !control.is_empty() {
        msg.msg_control = aligned.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
    }
    // SAFETY: every pointer in `msg` refers to a live buffer of the stated length (the iovecs
    // borrow `iov`, the name borrows `name`, the control bytes live in `aligned`); the kernel
    // only reads them.
    let ret = unsafe { libc::sendmsg(sock.as_fd().as_raw_fd(), &msg, flags) };
    Errno::result(ret).map(|n| n as usize)
}

fn get_name(
    sock: impl AsFd,
    f: unsafe extern "C" fn(i32, *mut libc::sockaddr, *mut libc::socklen_t) -> i32,
) -> Result<Vec<u8>, Errno> {
    let mut buf = [0u8; 128];
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: `buf` has room for `len` bytes; the kernel writes at most that many and stores
    // the full length of the address in `len`.
    let ret = unsafe { f(sock.as_fd().as_raw_fd(), buf.as_mut_ptr().cast(), &mut len) };
    Errno::result(ret)?;
    let len = (len as usize).min(buf.len());
    Ok(buf[..len].to_vec())
}

/// `getsockname(2)`: the socket's local address bytes.
pub fn getsockname(sock: impl AsFd) -> Result<Vec<u8>, Errno> {
    get_name(sock, libc::getsockname)
}

/// `getpeername(2)`: the connected peer's address bytes (`ENOTCONN` if not connected).
pub fn getpeername(sock: impl AsFd) -> Result<Vec<u8>, Errno> {
    get_name(sock, libc::getpeername)
}

/// `getsockopt(2)` of an `int` option, e.g. `SOL_SOCKET`/`SO_TYPE`.
#[doc(alias = "getsockopt")]
pub fn getsockopt_int(sock: impl AsFd, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value: i32 = 0;
    let mut len = size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` has room for `len` bytes.
    let ret = unsafe {
        libc::getsockopt(
            sock.as_fd().as_raw_fd(),
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    };
    Errno::result(ret)?;
    Ok(value)
}

/// `setsockopt(2)` of an `int` option, e.g. `SOL_SOCKET`/`SO_REUSEADDR`.
#[doc(alias = "setsockopt")]
pub fn setsockopt_int(sock: impl AsFd, level: i32, name: i32, value: i32) -> Result<(), Errno> {
    // SAFETY: `value` is valid for size_of::<i32>() bytes; the kernel only reads it.
    let ret = unsafe {
        libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    Errno::result(ret).map(drop)
}

/// The file status flags of the open file description (`fcntl(F_GETFL)`), e.g. to see
/// whether a socket is `O_NONBLOCK`.
#[doc(alias = "fcntl")]
pub fn status_flags(fd: impl AsFd) -> Result<i32, Errno> {
    // SAFETY: F_GETFL takes no pointer.
    Errno::result(unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETFL) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_udp_round_trip() {
        let rx = socket(libc::AF_INET, libc::SOCK_DGRAM, 0).unwrap();
        let any = [2u8, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        bind(&rx, &any).unwrap();
        let local = getsockname(&rx).unwrap();
        assert_eq!(local.len(), 16);
        let tx = socket(libc::AF_INET, libc::SOCK_DGRAM, 0).unwrap();
        assert_eq!(getpeername(&tx), Err(Errno::ENOTCONN));
        let n = sendmsg(&tx, Some(&local), &[b"he", b"llo"], &[], 0).unwrap();
        assert_eq!(n, 5);
        connect(&tx, &local).unwrap();
        assert_eq!(getpeername(&tx).unwrap(), local);
        assert_eq!(
            getsockopt_int(&tx, libc::SOL_SOCKET, libc::SO_TYPE).unwrap(),
            libc::SOCK_DGRAM
        );
        assert_eq!(status_flags(&tx).unwrap() & libc::O_NONBLOCK, 0);
        setsockopt_int(&tx, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).unwrap();
    }
}

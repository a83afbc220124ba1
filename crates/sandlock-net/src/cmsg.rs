//! Control messages (`msg_control` of `sendmsg`): parsed from a sandboxed process's bytes the
//! way the kernel walks them, and laid out again for the supervisor's own `sendmsg`.
//!
//! # Kernel behaviour mirrored (`__sys_sendmsg`, `__scm_send`, `cmsghdr_from_user_compat`)
//!
//! | input | result |
//! |---|---|
//! | fewer than 16 bytes left | the walk ends (`CMSG_NXTHDR`/`for_each_cmsghdr`) |
//! | `cmsg_len < 16` or beyond the buffer | [`CmsgError::BadLength`] (`EINVAL`, `CMSG_OK`) |
//! | next header | at `CMSG_ALIGN(cmsg_len)` (8-byte alignment on 64-bit) |
//! | `msg_controllen > INT_MAX` | `ENOBUFS`; sandlock caps it lower, at [`MAX_CONTROL_LEN`] |

use sandlock_sys::Errno;

/// `sizeof(struct cmsghdr)` on 64-bit Linux: `cmsg_len` (8), `cmsg_level`, `cmsg_type`.
pub const CMSG_HDR_LEN: usize = 16;

/// The most control bytes sandlock copies (the kernel's default `optmem_max` is 20 KiB, so a
/// longer buffer fails with `ENOBUFS` there too).
pub const MAX_CONTROL_LEN: usize = 64 * 1024;

/// One control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmsg {
    /// `cmsg_level`, e.g. `SOL_SOCKET`.
    pub level: i32,
    /// `cmsg_type`, e.g. `SCM_RIGHTS`.
    pub kind: i32,
    /// The payload: `cmsg_len - 16` bytes.
    pub data: Vec<u8>,
}

/// Why control bytes are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmsgError {
    /// A header's `cmsg_len` is under 16 or runs past the buffer.
    #[error("control message at offset {offset} has a bad length {len}")]
    BadLength {
        /// Offset of the header.
        offset: usize,
        /// Its `cmsg_len`.
        len: u64,
    },
    /// More control bytes than [`MAX_CONTROL_LEN`].
    #[error("{len} control bytes are too many")]
    TooLong {
        /// `msg_controllen`.
        len: u64,
    },
}

impl CmsgError {
    /// The errno the kernel gives.
    pub fn errno(&self) -> Errno {
        match self {
            CmsgError::BadLength { .. } => Errno::EINVAL,
            CmsgError::TooLong { .. } => Errno::from_raw(libc::ENOBUFS),
        }
    }
}

fn align(len: usize) -> usize {
    len.div_ceil(8).saturating_mul(8)
}

/// Walks the control bytes as the kernel does. Never panics.
pub fn parse_cmsgs(control: &[u8]) -> Result<Vec<Cmsg>, CmsgError> {
    if control.len() > MAX_CONTROL_LEN {
        return Err(CmsgError::TooLong {
            len: control.len() as u64,
        });
    }
    let mut out = Vec::new();
    let mut offset = 0usize;
    while let Some(hdr) = control
        .get(offset..)
        .and_then(|rest| rest.get(..CMSG_HDR_LEN))
    {
        // `hdr` is exactly 16 bytes, so these conversions cannot fail.
        let len = u64::from_ne_bytes(hdr[0..8].try_into().unwrap_or([0; 8]));
        let level = i32::from_ne_bytes(hdr[8..12].try_into().unwrap_or([0; 4]));
        let kind = i32::from_ne_bytes(hdr[12..16].try_into().unwrap_or([0; 4]));
        let room = control.len() - offset;
        let ulen = usize::try_from(len).unwrap_or(usize::MAX);
        if ulen < CMSG_HDR_LEN || ulen > room {
            return Err(CmsgError::BadLength { offset, len });
        }
        out.push(Cmsg {
            level,
            kind,
            data: control[offset + CMSG_HDR_LEN..offset + ulen].to_vec(),
        });
        offset = offset.saturating_add(align(ulen));
    }
    Ok(out)
}

/// Lays control messages out as `sendmsg` wants them (each header 8-byte aligned).
pub fn encode_cmsgs(cmsgs: &[Cmsg]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cmsgs {
        let len = CMSG_HDR_LEN + c.data.len();
        out.extend_from_slice(&(len as u64).to_ne_bytes());
        out.extend_from_slice(&c.level.to_ne_bytes());
        out.extend_from_slice(&c.kind.to_ne_bytes());
        out.extend_from_slice(&c.data);
        out.resize(align(out.len()), 0);
    }
    out
}

/// The fd numbers of an `SCM_RIGHTS` payload (whole `int`s; a trailing partial one is
/// ignored, as the kernel's `(cmsg_len - 16) / sizeof(int)` does).
pub fn rights_fds(data: &[u8]) -> Vec<i32> {
    data.chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// An `SCM_RIGHTS` payload of these fd numbers.
pub fn rights_data(fds: &[i32]) -> Vec<u8> {
    fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_kernel_rules() {
        let msgs = vec![
            Cmsg {
                level: libc::SOL_SOCKET,
                kind: libc::SCM_RIGHTS,
                data: rights_data(&[3, 4, 5]),
            },
            Cmsg {
                level: libc::SOL_IP,
                kind: libc::IP_TTL,
                data: 7i32.to_ne_bytes().to_vec(),
            },
        ];
        let bytes = encode_cmsgs(&msgs);
        assert_eq!(bytes.len(), 32 + 24);
        assert_eq!(parse_cmsgs(&bytes).unwrap(), msgs);
        assert_eq!(rights_fds(&msgs[0].data), vec![3, 4, 5]);
        // Fewer than 16 bytes left: the walk ends.
        assert_eq!(parse_cmsgs(&bytes[..15]).unwrap(), vec![]);
        // A length past the buffer.
        assert_eq!(
            parse_cmsgs(&bytes[..20]),
            Err(CmsgError::BadLength { offset: 0, len: 28 })
        );
        let mut short = bytes.clone();
        short[..8].copy_from_slice(&8u64.to_ne_bytes());
        assert_eq!(parse_cmsgs(&short).unwrap_err().errno(), Errno::EINVAL);
        assert_eq!(
            parse_cmsgs(&vec![0; MAX_CONTROL_LEN + 1])
                .unwrap_err()
                .errno(),
            Errno::from_raw(libc::ENOBUFS)
        );
    }
}

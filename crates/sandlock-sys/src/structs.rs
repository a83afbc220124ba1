//! Kernel ABI structs as `#[repr(C)]` types with zerocopy derives.
//!
//! Pointers inside these structs are addresses in *some* process's memory, usually the sandboxed
//! child's, so they are stored as `u64` rather than as Rust pointers. That keeps every struct
//! `FromBytes` (any bytes are a valid value) and `IntoBytes` (no hidden padding: padding is an
//! explicit field), which is what lets the supervisor parse bytes it read from an untrusted
//! process without any `unsafe` and without panicking. Only 64-bit architectures are supported,
//! so every pointer and `size_t` is 8 bytes.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

macro_rules! kernel_struct {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
        pub struct $name { $($(#[$fm])* pub $f: $t),* }
    };
}

kernel_struct! {
    /// `struct seccomp_data`: what a seccomp filter sees of a system call.
    pub struct SeccompData {
        /// The syscall number.
        pub nr: i32,
        /// The `AUDIT_ARCH_*` value of the calling convention.
        pub arch: u32,
        /// The instruction pointer at the time of the call.
        pub instruction_pointer: u64,
        /// The six syscall arguments, zero-extended to 64 bits.
        pub args: [u64; 6],
    }
}

kernel_struct! {
    /// `struct sock_filter`: one classic BPF instruction.
    pub struct SockFilter {
        /// Opcode.
        pub code: u16,
        /// Jump offset when the condition is true.
        pub jt: u8,
        /// Jump offset when the condition is false.
        pub jf: u8,
        /// Generic multi-use field (constant, offset, return value).
        pub k: u32,
    }
}

kernel_struct! {
    /// `struct sock_fprog`: a BPF program handed to the kernel.
    pub struct SockFprog {
        /// Number of instructions.
        pub len: u16,
        /// Padding to the pointer's alignment.
        pub _pad: [u8; 6],
        /// Address of the first [`SockFilter`].
        pub filter: u64,
    }
}

kernel_struct! {
    /// `struct seccomp_notif`: one notification received from a listener.
    pub struct SeccompNotif {
        /// Cookie that identifies this notification in the response.
        pub id: u64,
        /// Thread id (in the supervisor's pid namespace) of the calling task.
        pub pid: u32,
        /// Currently unused, zero.
        pub flags: u32,
        /// The system call.
        pub data: SeccompData,
    }
}

kernel_struct! {
    /// `struct seccomp_notif_resp`: the answer to a notification.
    pub struct SeccompNotifResp {
        /// The notification's cookie.
        pub id: u64,
        /// Return value of the call when `error` is 0.
        pub val: i64,
        /// Negative errno, or 0.
        pub error: i32,
        /// [`crate::flags::NotifRespFlags`].
        pub flags: u32,
    }
}

kernel_struct! {
    /// `struct seccomp_notif_addfd`: install a supervisor fd into the notifying task.
    pub struct SeccompNotifAddfd {
        /// The notification's cookie.
        pub id: u64,
        /// [`crate::flags::AddfdFlags`].
        pub flags: u32,
        /// The fd in the supervisor to install.
        pub srcfd: u32,
        /// The fd number to use in the target with `SETFD`, else 0.
        pub newfd: u32,
        /// `O_CLOEXEC` or 0: flags of the new fd.
        pub newfd_flags: u32,
    }
}

kernel_struct! {
    /// `struct seccomp_notif_sizes`: the kernel's idea of the notification struct sizes.
    pub struct SeccompNotifSizes {
        /// `sizeof(struct seccomp_notif)`.
        pub seccomp_notif: u16,
        /// `sizeof(struct seccomp_notif_resp)`.
        pub seccomp_notif_resp: u16,
        /// `sizeof(struct seccomp_data)`.
        pub seccomp_data: u16,
    }
}

kernel_struct! {
    /// `struct sockaddr_in`. Port and address are in network byte order.
    pub struct SockaddrIn {
        /// `AF_INET`.
        pub sin_family: u16,
        /// Port, big endian.
        pub sin_port: [u8; 2],
        /// Address, big endian.
        pub sin_addr: [u8; 4],
        /// Unused.
        pub sin_zero: [u8; 8],
    }
}

kernel_struct! {
    /// `struct sockaddr_in6`. Port and address are in network byte order.
    pub struct SockaddrIn6 {
        /// `AF_INET6`.
        pub sin6_family: u16,
        /// Port, big endian.
        pub sin6_port: [u8; 2],
        /// Flow information, big endian.
        pub sin6_flowinfo: u32,
        /// Address.
        pub sin6_addr: [u8; 16],
        /// Scope id (interface index for link-local addresses).
        pub sin6_scope_id: u32,
    }
}

kernel_struct! {
    /// `struct sockaddr_un`.
    pub struct SockaddrUn {
        /// `AF_UNIX`.
        pub sun_family: u16,
        /// Path; abstract names start with a NUL byte.
        pub sun_path: [u8; 108],
    }
}

kernel_struct! {
    /// `struct iovec` as laid out in another process's memory.
    pub struct Iovec {
        /// Address of the buffer.
        pub iov_base: u64,
        /// Length of the buffer.
        pub iov_len: u64,
    }
}

kernel_struct! {
    /// `struct msghdr` (user ABI) as laid out in another process's memory.
    pub struct Msghdr {
        /// Address of the destination or source address, or 0.
        pub msg_name: u64,
        /// Length of the address.
        pub msg_namelen: u32,
        /// Padding.
        pub _pad1: u32,
        /// Address of the `iovec` array.
        pub msg_iov: u64,
        /// Number of `iovec`s.
        pub msg_iovlen: u64,
        /// Address of the ancillary data.
        pub msg_control: u64,
        /// Length of the ancillary data.
        pub msg_controllen: u64,
        /// Flags on the received message.
        pub msg_flags: i32,
        /// Padding.
        pub _pad2: u32,
    }
}

kernel_struct! {
    /// `struct mmsghdr` as laid out in another process's memory.
    pub struct Mmsghdr {
        /// The message.
        pub msg_hdr: Msghdr,
        /// Bytes transmitted for this message.
        pub msg_len: u32,
        /// Padding.
        pub _pad: u32,
    }
}

kernel_struct! {
    /// `struct open_how` for `openat2(2)`.
    pub struct OpenHow {
        /// `O_*` flags.
        pub flags: u64,
        /// Mode for created files.
        pub mode: u64,
        /// `RESOLVE_*` flags.
        pub resolve: u64,
    }
}

kernel_struct! {
    /// `struct clone_args` for `clone3(2)` (version 2, 88 bytes).
    pub struct CloneArgs {
        /// `CLONE_*` flags.
        pub flags: u64,
        /// Where to store the pidfd (`CLONE_PIDFD`).
        pub pidfd: u64,
        /// Where to store the child tid in the child.
        pub child_tid: u64,
        /// Where to store the child tid in the parent.
        pub parent_tid: u64,
        /// Signal sent to the parent when the child exits.
        pub exit_signal: u64,
        /// Lowest address of the stack.
        pub stack: u64,
        /// Size of the stack.
        pub stack_size: u64,
        /// TLS descriptor.
        pub tls: u64,
        /// Address of an array of tids to use.
        pub set_tid: u64,
        /// Length of that array.
        pub set_tid_size: u64,
        /// Cgroup fd to start in (`CLONE_INTO_CGROUP`).
        pub cgroup: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    macro_rules! same_layout {
        ($ours:ty, $theirs:ty, [$($f:ident => $g:ident),* $(,)?]) => {{
            assert_eq!(size_of::<$ours>(), size_of::<$theirs>(), "size of {}", stringify!($ours));
            $(assert_eq!(
                offset_of!($ours, $f),
                offset_of!($theirs, $g),
                "offset of {}.{}", stringify!($ours), stringify!($f)
            );)*
        }};
    }

    #[test]
    fn layouts_match_libc() {
        same_layout!(SeccompData, libc::seccomp_data,
            [nr => nr, arch => arch, instruction_pointer => instruction_pointer, args => args]);
        same_layout!(SockFilter, libc::sock_filter, [code => code, jt => jt, jf => jf, k => k]);
        same_layout!(SockFprog, libc::sock_fprog, [len => len, filter => filter]);
        same_layout!(SeccompNotif, libc::seccomp_notif,
            [id => id, pid => pid, flags => flags, data => data]);
        same_layout!(SeccompNotifResp, libc::seccomp_notif_resp,
            [id => id, val => val, error => error, flags => flags]);
        same_layout!(SeccompNotifAddfd, libc::seccomp_notif_addfd,
            [id => id, flags => flags, srcfd => srcfd, newfd => newfd, newfd_flags => newfd_flags]);
        same_layout!(SeccompNotifSizes, libc::seccomp_notif_sizes,
            [seccomp_notif => seccomp_notif, seccomp_notif_resp => seccomp_notif_resp,
             seccomp_data => seccomp_data]);
        same_layout!(SockaddrIn, libc::sockaddr_in,
            [sin_family => sin_family, sin_port => sin_port, sin_addr => sin_addr, sin_zero => sin_zero]);
        same_layout!(SockaddrIn6, libc::sockaddr_in6,
            [sin6_family => sin6_family, sin6_port => sin6_port, sin6_flowinfo => sin6_flowinfo,
             sin6_addr => sin6_addr, sin6_scope_id => sin6_scope_id]);
        same_layout!(SockaddrUn, libc::sockaddr_un, [sun_family => sun_family, sun_path => sun_path]);
        same_layout!(Iovec, libc::iovec, [iov_base => iov_base, iov_len => iov_len]);
        same_layout!(Msghdr, libc::msghdr,
            [msg_name => msg_name, msg_namelen => msg_namelen, msg_iov => msg_iov,
             msg_iovlen => msg_iovlen, msg_control => msg_control,
             msg_controllen => msg_controllen, msg_flags => msg_flags]);
        same_layout!(Mmsghdr, libc::mmsghdr, [msg_hdr => msg_hdr, msg_len => msg_len]);
        same_layout!(OpenHow, libc::open_how, [flags => flags, mode => mode, resolve => resolve]);
        same_layout!(CloneArgs, libc::clone_args,
            [flags => flags, pidfd => pidfd, child_tid => child_tid, parent_tid => parent_tid,
             exit_signal => exit_signal, stack => stack, stack_size => stack_size, tls => tls,
             set_tid => set_tid, set_tid_size => set_tid_size, cgroup => cgroup]);
    }

    #[test]
    fn kernel_sizes() {
        assert_eq!(size_of::<SeccompNotif>(), 80);
        assert_eq!(size_of::<SeccompNotifResp>(), 24);
        assert_eq!(size_of::<SeccompData>(), 64);
        assert_eq!(size_of::<CloneArgs>(), 88);
    }
}

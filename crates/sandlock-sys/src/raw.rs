//! System calls without libc: no `errno`, no thread-local storage.
//!
//! The sandbox's init process (see [`crate::supervise`]) shares the supervisor's memory and
//! thread pointer, so anything that writes `errno` there would write the supervisor's. These
//! helpers return the kernel's `-errno` directly instead.

use std::arch::asm;

/// Makes system call `nr` with six arguments and returns the kernel's raw result: a
/// non-negative value, or `-errno`.
///
/// # Safety
/// The call and its arguments must be valid for the call: pointers must point at memory of the
/// right size and lifetime, and the call must not break Rust's invariants (no unmapping of live
/// memory, no closing of fds owned elsewhere).
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn syscall6(nr: libc::c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9;
    // the kernel clobbers rcx and r11 and returns in rax. The caller vouches for the call.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Makes system call `nr` with six arguments and returns the kernel's raw result: a
/// non-negative value, or `-errno`.
///
/// # Safety
/// As for the x86_64 version.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn syscall6(nr: libc::c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 syscall ABI: number in x8, arguments in x0..x5, result in x0.
    unsafe {
        asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getpid_and_an_error() {
        // SAFETY: getpid takes no arguments.
        let pid = unsafe { syscall6(libc::SYS_getpid, [0; 6]) };
        assert_eq!(pid, std::process::id() as isize);
        // SAFETY: close of an fd that cannot be open.
        let r = unsafe { syscall6(libc::SYS_close, [usize::MAX >> 2, 0, 0, 0, 0, 0]) };
        assert_eq!(r, -(libc::EBADF as isize));
    }
}

//! A tiny hand-assembled seccomp filter for the tests and the benchmark: kill foreign
//! architectures and x32, notify the listed calls, allow everything else.
//!
//! Deliberately independent of sandlock-bpf, so that these tests exercise the reactor alone.

use std::mem::offset_of;

use sandlock_sys::flags::ret;
use sandlock_sys::structs::{SeccompData, SockFilter};
use sandlock_sys::{Arch, syscalls::X32_SYSCALL_BIT};

fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// `arch == native` else kill; `nr & X32` → kill; `nr ∈ notified` → USER_NOTIF; else ALLOW.
pub(crate) fn notify(notified: &[u32]) -> Vec<SockFilter> {
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let jset = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    let ret_k = (libc::BPF_RET | libc::BPF_K) as u16;
    let n = u8::try_from(notified.len()).expect("at most 255 notified calls");
    let mut prog = vec![
        stmt(ld, offset_of!(SeccompData, arch) as u32),
        // jf: over ld nr, jset, the n jeqs, ret allow, ret notif → ret kill.
        jump(jeq, Arch::NATIVE.audit_arch(), 0, n + 4),
        stmt(ld, offset_of!(SeccompData, nr) as u32),
        jump(jset, X32_SYSCALL_BIT, n + 2, 0),
    ];
    for (i, &nr) in notified.iter().enumerate() {
        // jt: over the remaining jeqs and ret allow → ret notif.
        prog.push(jump(jeq, nr, n - i as u8, 0));
    }
    prog.push(stmt(ret_k, ret::ALLOW));
    prog.push(stmt(ret_k, ret::USER_NOTIF));
    prog.push(stmt(ret_k, ret::KILL_PROCESS));
    prog
}

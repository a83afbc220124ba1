//! Classic BPF opcodes (`<linux/filter.h>`, `<linux/bpf_common.h>`) and instruction helpers.

use std::mem::offset_of;

use sandlock_sys::structs::{SeccompData, SockFilter};

/// The kernel's limit on the number of instructions in one filter (`BPF_MAXINSNS`).
pub const BPF_MAXINSNS: usize = 4096;

// Instruction classes.
pub(crate) const LD: u16 = 0x00;
pub(crate) const LDX: u16 = 0x01;
pub(crate) const ST: u16 = 0x02;
pub(crate) const STX: u16 = 0x03;
pub(crate) const ALU: u16 = 0x04;
pub(crate) const JMP: u16 = 0x05;
pub(crate) const RET: u16 = 0x06;
pub(crate) const MISC: u16 = 0x07;

// Load sizes and modes.
pub(crate) const W: u16 = 0x00;
pub(crate) const IMM: u16 = 0x00;
pub(crate) const ABS: u16 = 0x20;
pub(crate) const MEM: u16 = 0x60;
pub(crate) const LEN: u16 = 0x80;

// ALU operations.
pub(crate) const ADD: u16 = 0x00;
pub(crate) const SUB: u16 = 0x10;
pub(crate) const MUL: u16 = 0x20;
pub(crate) const DIV: u16 = 0x30;
pub(crate) const OR: u16 = 0x40;
pub(crate) const AND: u16 = 0x50;
pub(crate) const LSH: u16 = 0x60;
pub(crate) const RSH: u16 = 0x70;
pub(crate) const NEG: u16 = 0x80;
pub(crate) const MOD: u16 = 0x90;
pub(crate) const XOR: u16 = 0xa0;

// Jump operations.
pub(crate) const JA: u16 = 0x00;
pub(crate) const JEQ: u16 = 0x10;
pub(crate) const JGT: u16 = 0x20;
pub(crate) const JGE: u16 = 0x30;
pub(crate) const JSET: u16 = 0x40;

// Operand sources.
pub(crate) const K: u16 = 0x00;
pub(crate) const X: u16 = 0x08;
/// `BPF_A` as the source of `BPF_RET`.
pub(crate) const RET_A: u16 = 0x10;

// Register transfers.
pub(crate) const TAX: u16 = 0x00;
pub(crate) const TXA: u16 = 0x80;

/// Scratch memory words (`BPF_MEMWORDS`).
pub(crate) const MEMWORDS: u32 = 16;

/// Size of `struct seccomp_data`, the only packet a seccomp filter can load from.
pub(crate) const DATA_LEN: u32 = size_of::<SeccompData>() as u32;

pub(crate) const OFF_NR: u32 = offset_of!(SeccompData, nr) as u32;
pub(crate) const OFF_ARCH: u32 = offset_of!(SeccompData, arch) as u32;
pub(crate) const OFF_IP: u32 = offset_of!(SeccompData, instruction_pointer) as u32;
pub(crate) const OFF_ARGS: u32 = offset_of!(SeccompData, args) as u32;

/// Offset of the low 32 bits of argument `i`. Every supported architecture is little endian,
/// so the low dword comes first; a big-endian port would swap `arg_lo` and `arg_hi`.
pub(crate) const fn arg_lo(i: u8) -> u32 {
    OFF_ARGS + 8 * i as u32
}

/// Offset of the high 32 bits of argument `i` (see [`arg_lo`]).
pub(crate) const fn arg_hi(i: u8) -> u32 {
    arg_lo(i) + 4
}

/// A non-jump instruction.
pub(crate) const fn stmt(code: u16, k: u32) -> SockFilter {
    SockFilter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump with relative offsets.
pub(crate) const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

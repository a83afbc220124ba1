//! An interpreter for the classic BPF subset that seccomp accepts.
//!
//! It follows the kernel's load-time checks (`bpf_check_classic` and `seccomp_check_filter`):
//! a program has 1..=4096 instructions and ends with `ret`, every jump lands inside it, loads
//! read aligned words of `seccomp_data`, scratch memory is written before it is read and no
//! division is by a constant zero. A program that fails a check is an [`EvalError`], never a
//! panic, whatever its bytes.

use sandlock_sys::structs::{SeccompData, SockFilter};
use zerocopy::IntoBytes;

use crate::insn::*;

/// Why a program cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The program is empty or longer than 4096 instructions.
    #[error("program length {0} is not within 1..=4096")]
    Length(usize),
    /// The last instruction is not a `ret`, so control could run off the end.
    #[error("the last instruction is not a ret")]
    NoFinalRet,
    /// An opcode seccomp does not accept.
    #[error("instruction {pc}: opcode {code:#06x} is not allowed in seccomp filters")]
    BadOpcode {
        /// Index of the instruction.
        pc: usize,
        /// Its opcode.
        code: u16,
    },
    /// A jump whose target is past the end of the program.
    #[error("instruction {pc}: jump target out of range")]
    JumpOutOfRange {
        /// Index of the jump.
        pc: usize,
    },
    /// A load from `seccomp_data` that is unaligned or past its 64 bytes.
    #[error("instruction {pc}: load from offset {offset} is outside seccomp_data or unaligned")]
    BadLoad {
        /// Index of the load.
        pc: usize,
        /// The offset.
        offset: u32,
    },
    /// A scratch memory index of 16 or more.
    #[error("instruction {pc}: scratch memory index {index} out of range")]
    BadMemIndex {
        /// Index of the instruction.
        pc: usize,
        /// The index.
        index: u32,
    },
    /// A read of scratch memory that may not have been written (the kernel rejects these).
    #[error("instruction {pc}: scratch memory {index} read before it is written")]
    UninitializedMem {
        /// Index of the instruction.
        pc: usize,
        /// The index.
        index: u32,
    },
    /// Division or modulo by the constant 0, or a constant shift of 32 or more.
    #[error("instruction {pc}: invalid constant operand {k}")]
    BadConstant {
        /// Index of the instruction.
        pc: usize,
        /// The constant.
        k: u32,
    },
}

/// The result of a run: the filter's return value and the number of instructions executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The `SECCOMP_RET_*` value.
    pub ret: u32,
    /// Instructions executed, the final `ret` included.
    pub steps: usize,
}

/// Runs `program` on `data` and returns the filter's `SECCOMP_RET_*` value.
///
/// # Errors
/// [`EvalError`] when the kernel would refuse the program.
pub fn eval(program: &[SockFilter], data: &SeccompData) -> Result<u32, EvalError> {
    eval_with_steps(program, data).map(|o| o.ret)
}

/// Like [`eval`], also counting the instructions executed (the path length through the
/// program, which is what the kernel's cost per call and per attach scales with).
///
/// # Errors
/// As [`eval`].
pub fn eval_with_steps(program: &[SockFilter], data: &SeccompData) -> Result<Outcome, EvalError> {
    check(program)?;
    let bytes = data.as_bytes();
    let word = |off: u32| -> u32 {
        // `check` proved `off` aligned and inside `seccomp_data`; fall back to 0 regardless.
        let at = off as usize;
        bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
            .unwrap_or(0)
    };
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEMWORDS as usize];
    let mut written = 0u16;
    let mut pc = 0usize;
    let mut steps = 0usize;
    loop {
        let ins = *program.get(pc).ok_or(EvalError::JumpOutOfRange { pc })?;
        steps += 1;
        let k = ins.k;
        let mut next = pc + 1;
        let mem_read = |written: u16, index: u32| {
            if written & (1 << index) == 0 {
                Err(EvalError::UninitializedMem { pc, index })
            } else {
                Ok(mem[index as usize])
            }
        };
        match ins.code {
            c if c == LD | W | ABS => a = word(k),
            c if c == LD | IMM => a = k,
            c if c == LD | W | LEN => a = DATA_LEN,
            c if c == LD | MEM => a = mem_read(written, k)?,
            c if c == LDX | IMM => x = k,
            c if c == LDX | W | LEN => x = DATA_LEN,
            c if c == LDX | MEM => x = mem_read(written, k)?,
            c if c == ST => {
                mem[k as usize] = a;
                written |= 1 << k;
            }
            c if c == STX => {
                mem[k as usize] = x;
                written |= 1 << k;
            }
            c if c & 0x07 == ALU => {
                let operand = if c & X != 0 { x } else { k };
                a = match c & 0xf0 {
                    ADD => a.wrapping_add(operand),
                    SUB => a.wrapping_sub(operand),
                    MUL => a.wrapping_mul(operand),
                    // Classic BPF ends the program with 0 on a division by zero in X.
                    DIV => match a.checked_div(operand) {
                        Some(q) => q,
                        None => return Ok(Outcome { ret: 0, steps }),
                    },
                    MOD => match a.checked_rem(operand) {
                        Some(r) => r,
                        None => return Ok(Outcome { ret: 0, steps }),
                    },
                    OR => a | operand,
                    AND => a & operand,
                    XOR => a ^ operand,
                    // The kernel masks a shift count from X to 5 bits, as `wrapping_sh*` do.
                    LSH => a.wrapping_shl(operand),
                    RSH => a.wrapping_shr(operand),
                    NEG => a.wrapping_neg(),
                    _ => return Err(EvalError::BadOpcode { pc, code: c }),
                };
            }
            c if c == JMP | JA => next = pc + 1 + k as usize,
            c if c & 0x07 == JMP => {
                let operand = if c & X != 0 { x } else { k };
                let taken = match c & 0xf0 {
                    JEQ => a == operand,
                    JGT => a > operand,
                    JGE => a >= operand,
                    JSET => a & operand != 0,
                    _ => return Err(EvalError::BadOpcode { pc, code: c }),
                };
                next = pc + 1 + usize::from(if taken { ins.jt } else { ins.jf });
            }
            c if c == RET | K => return Ok(Outcome { ret: k, steps }),
            c if c == RET | RET_A => return Ok(Outcome { ret: a, steps }),
            c if c == MISC | TAX => x = a,
            c if c == MISC | TXA => a = x,
            c => return Err(EvalError::BadOpcode { pc, code: c }),
        }
        pc = next;
    }
}

/// The most instructions any run of `program` can execute: the longest path from the first
/// instruction to a `ret`. Jumps only go forward, so the program is a DAG and one backward pass
/// finds it. It is an upper bound: the path may need data no call can produce.
///
/// # Errors
/// As [`check`].
pub fn longest_path(program: &[SockFilter]) -> Result<usize, EvalError> {
    check(program)?;
    let mut longest = vec![0usize; program.len()];
    for pc in (0..program.len()).rev() {
        let ins = program[pc];
        let after = |off: usize| longest.get(pc + 1 + off).copied().unwrap_or(0);
        longest[pc] = 1 + match ins.code {
            c if c & 0x07 == RET => 0,
            c if c == JMP | JA => after(ins.k as usize),
            c if c & 0x07 == JMP => after(ins.jt.into()).max(after(ins.jf.into())),
            _ => after(0),
        };
    }
    Ok(longest[0])
}

/// Checks a program the way the kernel does when it is attached.
///
/// # Errors
/// The first problem found.
pub fn check(program: &[SockFilter]) -> Result<(), EvalError> {
    if program.is_empty() || program.len() > BPF_MAXINSNS {
        return Err(EvalError::Length(program.len()));
    }
    for (pc, ins) in program.iter().enumerate() {
        let (code, k) = (ins.code, ins.k);
        let in_range = |off: u64| (pc as u64 + 1 + off) < program.len() as u64;
        let ok = match code {
            c if c == LD | W | ABS => {
                if k >= DATA_LEN || !k.is_multiple_of(4) {
                    return Err(EvalError::BadLoad { pc, offset: k });
                }
                true
            }
            c if c == LD | IMM || c == LD | W | LEN || c == LDX | IMM || c == LDX | W | LEN => true,
            c if c == LD | MEM || c == LDX | MEM || c == ST || c == STX => {
                if k >= MEMWORDS {
                    return Err(EvalError::BadMemIndex { pc, index: k });
                }
                true
            }
            c if c & 0x07 == ALU => {
                let op = c & 0xf0;
                let from_k = c & X == 0;
                if from_k && (op == DIV || op == MOD) && k == 0
                    || from_k && (op == LSH || op == RSH) && k >= 32
                {
                    return Err(EvalError::BadConstant { pc, k });
                }
                c & !(0xf0 | X) == ALU
                    && c != ALU | NEG | X
                    && matches!(
                        op,
                        ADD | SUB | MUL | DIV | OR | AND | LSH | RSH | NEG | MOD | XOR
                    )
            }
            c if c == JMP | JA => {
                if !in_range(u64::from(k)) {
                    return Err(EvalError::JumpOutOfRange { pc });
                }
                true
            }
            c if c & 0x07 == JMP => {
                if !in_range(ins.jt.into()) || !in_range(ins.jf.into()) {
                    return Err(EvalError::JumpOutOfRange { pc });
                }
                c & !(0xf0 | X) == JMP && matches!(c & 0xf0, JEQ | JGT | JGE | JSET)
            }
            c => c == RET | K || c == RET | RET_A || c == MISC | TAX || c == MISC | TXA,
        };
        if !ok {
            return Err(EvalError::BadOpcode { pc, code });
        }
    }
    let last = program[program.len() - 1].code;
    if last != RET | K && last != RET | RET_A {
        return Err(EvalError::NoFinalRet);
    }
    check_mem(program)
}

/// The kernel's `check_load_and_stores`: along every path, a scratch word is stored before it
/// is loaded. Jumps are forward only, so one pass in order computes, for each instruction, the
/// set of words stored on every path to it.
fn check_mem(program: &[SockFilter]) -> Result<(), EvalError> {
    const ALL: u16 = u16::MAX;
    let mut known = vec![ALL; program.len()];
    known[0] = 0;
    for (pc, ins) in program.iter().enumerate() {
        let mut here = known[pc];
        let code = ins.code;
        if code == LD | MEM || code == LDX | MEM {
            if here & (1 << ins.k) == 0 {
                return Err(EvalError::UninitializedMem { pc, index: ins.k });
            }
        } else if code == ST || code == STX {
            here |= 1 << ins.k;
        }
        let mut flow = |to: usize| {
            if let Some(slot) = known.get_mut(to) {
                *slot &= here;
            }
        };
        match code {
            c if c == JMP | JA => flow(pc + 1 + ins.k as usize),
            c if c & 0x07 == JMP => {
                flow(pc + 1 + usize::from(ins.jt));
                flow(pc + 1 + usize::from(ins.jf));
            }
            c if c & 0x07 == RET => {}
            _ => flow(pc + 1),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(nr: i32) -> SeccompData {
        SeccompData {
            nr,
            arch: 0xc000_003e,
            instruction_pointer: 0,
            args: [1, 2, 3, 4, 5, 6],
        }
    }

    #[test]
    fn loads_and_ret_a() {
        let p = [stmt(LD | W | ABS, OFF_ARGS + 8), stmt(RET | RET_A, 0)];
        assert_eq!(eval(&p, &data(0)), Ok(2));
        let p = [stmt(LD | W | ABS, OFF_ARCH), stmt(RET | RET_A, 0)];
        assert_eq!(eval(&p, &data(0)), Ok(0xc000_003e));
    }

    #[test]
    fn scratch_memory_and_alu() {
        let p = [
            stmt(LD | IMM, 7),
            stmt(ST, 3),
            stmt(LDX | MEM, 3),
            stmt(ALU | MUL | X, 0),
            stmt(ALU | ADD | K, 1),
            stmt(MISC | TAX, 0),
            stmt(LD | IMM, 100),
            stmt(ALU | SUB | X, 0),
            stmt(RET | RET_A, 0),
        ];
        assert_eq!(
            eval_with_steps(&p, &data(0)),
            Ok(Outcome { ret: 50, steps: 9 })
        );
    }

    #[test]
    fn jumps() {
        let p = [
            stmt(LD | W | ABS, OFF_NR),
            jump(JMP | JGE | K, 10, 1, 0),
            stmt(RET | K, 1),
            jump(JMP | JSET | K, 0x4, 0, 1),
            stmt(JMP | JA, 1),
            stmt(RET | K, 2),
            stmt(RET | K, 3),
        ];
        assert_eq!(eval(&p, &data(3)), Ok(1));
        assert_eq!(eval(&p, &data(12)), Ok(3));
        assert_eq!(eval(&p, &data(11)), Ok(2));
    }

    #[test]
    fn longest_path_takes_the_longer_branch() {
        let p = [
            stmt(LD | W | ABS, OFF_NR),
            jump(JMP | JEQ | K, 0, 0, 2),
            stmt(LD | IMM, 1),
            stmt(RET | RET_A, 0),
            stmt(RET | K, 2),
        ];
        assert_eq!(longest_path(&p), Ok(4));
        assert_eq!(longest_path(&[stmt(RET | K, 0)]), Ok(1));
    }

    #[test]
    fn division_by_x_zero_returns_zero() {
        let p = [stmt(LD | IMM, 5), stmt(ALU | DIV | X, 0), stmt(RET | K, 9)];
        assert_eq!(eval(&p, &data(0)), Ok(0));
    }

    #[test]
    fn rejects_bad_programs() {
        let d = data(0);
        assert_eq!(eval(&[], &d), Err(EvalError::Length(0)));
        assert_eq!(eval(&[stmt(LD | IMM, 0)], &d), Err(EvalError::NoFinalRet));
        assert_eq!(
            eval(&[stmt(LD | W | ABS, 64), stmt(RET | K, 0)], &d),
            Err(EvalError::BadLoad { pc: 0, offset: 64 })
        );
        assert_eq!(
            eval(&[stmt(LD | W | ABS, 2), stmt(RET | K, 0)], &d),
            Err(EvalError::BadLoad { pc: 0, offset: 2 })
        );
        assert_eq!(
            eval(&[jump(JMP | JEQ | K, 0, 1, 0), stmt(RET | K, 0)], &d),
            Err(EvalError::JumpOutOfRange { pc: 0 })
        );
        assert_eq!(
            eval(&[stmt(JMP | JA, u32::MAX), stmt(RET | K, 0)], &d),
            Err(EvalError::JumpOutOfRange { pc: 0 })
        );
        assert_eq!(
            eval(&[stmt(LD | MEM, 16), stmt(RET | K, 0)], &d),
            Err(EvalError::BadMemIndex { pc: 0, index: 16 })
        );
        assert_eq!(
            eval(&[stmt(ALU | DIV | K, 0), stmt(RET | K, 0)], &d),
            Err(EvalError::BadConstant { pc: 0, k: 0 })
        );
        // Packet loads other than W|ABS (e.g. B|IND) are not seccomp instructions.
        assert_eq!(
            eval(&[stmt(0x50, 0), stmt(RET | K, 0)], &d),
            Err(EvalError::BadOpcode { pc: 0, code: 0x50 })
        );
        // M[1] is stored on one path only.
        let p = [
            stmt(LD | W | ABS, OFF_NR),
            jump(JMP | JEQ | K, 0, 0, 1),
            stmt(ST, 1),
            stmt(LD | MEM, 1),
            stmt(RET | RET_A, 0),
        ];
        assert_eq!(
            eval(&p, &d),
            Err(EvalError::UninitializedMem { pc: 3, index: 1 })
        );
    }

    #[test]
    fn arbitrary_programs_never_panic() {
        // A cheap deterministic fuzz: a linear congruential generator over opcodes and fields.
        let mut s: u64 = 0x1234_5678;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        for _ in 0..20_000 {
            let len = (next() % 8 + 1) as usize;
            let p: Vec<SockFilter> = (0..len)
                .map(|_| SockFilter {
                    code: (next() & 0xff) as u16,
                    jt: (next() % 4) as u8,
                    jf: (next() % 4) as u8,
                    k: next() % 80,
                })
                .collect();
            let _ = eval(&p, &data(next() as i32));
        }
    }
}

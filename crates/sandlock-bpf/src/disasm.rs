//! A disassembler for seccomp programs, through [`Display`](fmt::Display).

use std::fmt;

use sandlock_sys::structs::SockFilter;

use crate::Action;
use crate::insn::*;

/// Formats a program one instruction per line: index, mnemonic, operands. Jump targets are
/// absolute indices, loads from `seccomp_data` are named and `ret` shows the action:
///
/// ```text
///    0: ld arch
///    1: jeq #0xc000003e, 3, 2
///    2: ret KILL_PROCESS
///    3: ld nr
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Disasm<'a>(pub &'a [SockFilter]);

fn field(k: u32) -> Option<String> {
    Some(match k {
        OFF_NR => "nr".to_owned(),
        OFF_ARCH => "arch".to_owned(),
        OFF_IP => "ip.lo".to_owned(),
        k if k == OFF_IP + 4 => "ip.hi".to_owned(),
        k if (OFF_ARGS..DATA_LEN).contains(&k) && k.is_multiple_of(4) => {
            let i = (k - OFF_ARGS) / 8;
            let half = if (k - OFF_ARGS).is_multiple_of(8) {
                "lo"
            } else {
                "hi"
            };
            format!("arg{i}.{half}")
        }
        _ => return None,
    })
}

fn ret_name(k: u32) -> String {
    Action::from_ret(k).map_or_else(|| format!("#{k:#x}"), |a| a.to_string())
}

/// One instruction at index `pc`.
fn insn(f: &mut fmt::Formatter<'_>, pc: usize, ins: &SockFilter) -> fmt::Result {
    let SockFilter { code, jt, jf, k } = *ins;
    let target = |off: u64| pc as u64 + 1 + off;
    let src = |c: u16| {
        if c & X != 0 {
            "x".to_owned()
        } else {
            format!("#{k:#x}")
        }
    };
    match code {
        c if c == LD | W | ABS => match field(k) {
            Some(name) => write!(f, "ld {name}"),
            None => write!(f, "ld [{k}]"),
        },
        c if c == LD | IMM => write!(f, "ld #{k:#x}"),
        c if c == LD | W | LEN => write!(f, "ld #len"),
        c if c == LD | MEM => write!(f, "ld M[{k}]"),
        c if c == LDX | IMM => write!(f, "ldx #{k:#x}"),
        c if c == LDX | W | LEN => write!(f, "ldx #len"),
        c if c == LDX | MEM => write!(f, "ldx M[{k}]"),
        c if c == ST => write!(f, "st M[{k}]"),
        c if c == STX => write!(f, "stx M[{k}]"),
        c if c == ALU | NEG => write!(f, "neg"),
        c if c & 0x07 == ALU => {
            let name = match c & 0xf0 {
                ADD => "add",
                SUB => "sub",
                MUL => "mul",
                DIV => "div",
                OR => "or",
                AND => "and",
                LSH => "lsh",
                RSH => "rsh",
                MOD => "mod",
                XOR => "xor",
                _ => return write!(f, ".word {c:#06x}, {jt}, {jf}, {k:#x}"),
            };
            write!(f, "{name} {}", src(c))
        }
        c if c == JMP | JA => write!(f, "ja {}", target(k.into())),
        c if c & 0x07 == JMP => {
            let name = match c & 0xf0 {
                JEQ => "jeq",
                JGT => "jgt",
                JGE => "jge",
                JSET => "jset",
                _ => return write!(f, ".word {c:#06x}, {jt}, {jf}, {k:#x}"),
            };
            write!(
                f,
                "{name} {}, {}, {}",
                src(c),
                target(jt.into()),
                target(jf.into())
            )
        }
        c if c == RET | K => write!(f, "ret {}", ret_name(k)),
        c if c == RET | RET_A => write!(f, "ret a"),
        c if c == MISC | TAX => write!(f, "tax"),
        c if c == MISC | TXA => write!(f, "txa"),
        c => write!(f, ".word {c:#06x}, {jt}, {jf}, {k:#x}"),
    }
}

impl fmt::Display for Disasm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (pc, ins) in self.0.iter().enumerate() {
            write!(f, "{pc:4}: ")?;
            insn(f, pc, ins)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let p = [
            stmt(LD | W | ABS, OFF_ARGS + 12),
            stmt(ALU | AND | K, 0xf),
            jump(JMP | JEQ | K, 3, 1, 0),
            stmt(RET | K, 0x7fff_0000),
            stmt(RET | K, 0x0005_0001),
            stmt(JMP | JA, 0),
            stmt(RET | K, 0x1234_5678),
            stmt(0xffff, 0),
        ];
        let text = Disasm(&p).to_string();
        let want = "   0: ld arg1.hi\n   1: and #0xf\n   2: jeq #0x3, 4, 3\n   3: ret ALLOW\n   4: ret ERRNO(1)\n   5: ja 6\n   6: ret #0x12345678\n   7: .word 0xffff, 0, 0, 0x0\n";
        assert_eq!(text, want);
    }
}

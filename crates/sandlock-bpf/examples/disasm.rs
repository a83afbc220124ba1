//! Prints the default filter for x86_64, disassembled.
#![forbid(unsafe_code)]

fn main() -> Result<(), sandlock_bpf::Error> {
    let prog = sandlock_bpf::default_policy(sandlock_sys::Arch::X86_64)?.compile()?;
    print!("{}", sandlock_bpf::Disasm(&prog));
    Ok(())
}

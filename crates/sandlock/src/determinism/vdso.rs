//! Making a process's vDSO clock functions return the sandbox's wall-clock time.
//!
//! The vDSO is a small ELF library the kernel maps into every process (`[vdso]` in
//! `/proc/PID/maps`); libc calls its `clock_gettime`, `gettimeofday` and `time` without a
//! system call, so seccomp never sees them. After each `execve` (the only thing that maps a
//! fresh vDSO; `fork` copies the patched one) the supervisor finds those functions through the
//! vDSO's dynamic symbol table and redirects them. Writing goes through `/proc/PID/mem`, which
//! may write read-only text (`FOLL_FORCE`) and does so copy-on-write: only this process's copy
//! of the page changes, not the vDSO of the rest of the system.
//!
//! On x86_64 each function's entry jumps to a stub written in the unused tail of the vDSO's
//! last page (the *cave*). The stub calls the original function — its first instructions moved
//! into the stub, then a jump back past them — and adds the sandbox's offset to what it returns,
//! for wall clocks only: `clock_gettime` of a monotonic or CPU clock goes straight to the
//! original. So reading any clock stays a vDSO call, with no system call. Only a few known,
//! position-independent prologue forms are moved (`push`, `mov rbp, rsp`, `and`/`sub rsp`, and
//! `lea`/`cmp` relative to `rip`, rebased); a function whose prologue has another form, and every
//! function on other architectures, becomes a plain system call instead, which the supervisor
//! answers shifted. When the original function itself falls back to the system call (a clock
//! the vDSO cannot read, or a clock source without vDSO support), the supervisor sees a call
//! made from inside the vDSO and lets it through unshifted, as the stub shifts the result.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

/// The vDSO functions to redirect and the system call each stands for.
#[cfg(target_arch = "x86_64")]
const TARGETS: &[(&[u8], Func)] = &[
    (b"__vdso_clock_gettime", Func::ClockGettime),
    (b"__vdso_gettimeofday", Func::Gettimeofday),
    (b"__vdso_time", Func::Time),
];
#[cfg(target_arch = "aarch64")]
const TARGETS: &[(&[u8], Func)] = &[
    (b"__kernel_clock_gettime", Func::ClockGettime),
    (b"__kernel_gettimeofday", Func::Gettimeofday),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    ClockGettime,
    Gettimeofday,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Time,
}

impl Func {
    fn nr(self) -> u32 {
        match self {
            Func::ClockGettime => libc::SYS_clock_gettime as u32,
            Func::Gettimeofday => libc::SYS_gettimeofday as u32,
            #[cfg(target_arch = "x86_64")]
            Func::Time => libc::SYS_time as u32,
            #[cfg(not(target_arch = "x86_64"))]
            Func::Time => u32::MAX,
        }
    }
}

/// `endbr64`: kept at the entry when present, for indirect-branch tracking.
#[cfg(target_arch = "x86_64")]
const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// A stub that makes system call `nr` with the arguments as they are.
#[cfg(target_arch = "x86_64")]
fn syscall_code(nr: u32) -> Vec<u8> {
    // mov eax, nr; syscall; ret
    let mut s = vec![0xb8];
    s.extend_from_slice(&nr.to_le_bytes());
    s.extend_from_slice(&[0x0f, 0x05, 0xc3]);
    s
}

#[cfg(target_arch = "aarch64")]
fn syscall_code(nr: u32) -> Vec<u8> {
    // mov x8, #nr; svc #0; ret
    let mov = 0xd280_0008u32 | ((nr & 0xffff) << 5);
    [mov, 0xd400_0001, 0xd65f_03c0]
        .iter()
        .flat_map(|i| i.to_le_bytes())
        .collect()
}

/// What the supervisor must know of a patched vDSO: its length, and where (offsets from its
/// start) the system calls that must be answered shifted are made. Any other system call made
/// from inside the vDSO is the original code's own fallback, whose result a stub shifts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) len: u64,
    pub(crate) shifted_sites: Vec<std::ops::Range<u64>>,
}

impl Layout {
    /// Whether a system call whose instruction pointer is `ip`, in a process whose vDSO starts
    /// at `base`, is a vDSO fallback that must not be shifted.
    pub(crate) fn is_unshifted(&self, base: u64, ip: u64) -> bool {
        let Some(off) = ip.checked_sub(base) else {
            return false;
        };
        off < self.len && !self.shifted_sites.iter().any(|r| r.contains(&off))
    }
}

/// What [`patch`] did.
#[derive(Debug)]
pub(crate) enum Patched {
    /// The process has no vDSO.
    NoVdso,
    /// It was patched before (the layout is the one of that time).
    Already,
    /// Patched now.
    Now(Layout),
}

/// Patches the vDSO of process `pid` through `mem` (its `/proc/PID/mem`, opened by the caller
/// before it checked that `pid` is still the process it means), for a wall clock `offset`
/// (seconds, nanoseconds in `0..1e9`) ahead of the host's.
pub(crate) fn patch(pid: u32, mem: &File, offset: (i64, i64)) -> Result<Patched, String> {
    let Some((start, end)) = vdso_base(pid)? else {
        return Ok(Patched::NoVdso);
    };
    let len = usize::try_from(end - start).map_err(|_| "vdso too large".to_owned())?;
    if len > 1 << 20 {
        return Err(format!("vdso of {len} bytes"));
    }
    let mut image = vec![0u8; len];
    mem.read_exact_at(&mut image, start)
        .map_err(|e| format!("cannot read the vdso of {pid}: {e}"))?;
    let Some((writes, layout)) = plan(&image, offset)? else {
        return Ok(Patched::Already);
    };
    // The cave first: entries jump there once written.
    for (at, code) in writes {
        let at_end = (at as usize).saturating_add(code.len());
        if image.get(at as usize..at_end) == Some(&code[..]) {
            continue;
        }
        mem.write_all_at(&code, start + at)
            .map_err(|e| format!("cannot write the vdso of {pid}: {e}"))?;
    }
    Ok(Patched::Now(layout))
}

/// The start and end of the vDSO of process (or thread) `pid`, from `/proc/PID/maps`.
pub(crate) fn vdso_base(pid: u32) -> Result<Option<(u64, u64)>, String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| format!("cannot read /proc/{pid}/maps: {e}"))?;
    Ok(vdso_range(&maps))
}

/// The writes that patch `image` (cave first, then entries), and the resulting layout; `None`
/// when an entry already jumps into the cave: patched before (a program start notifies both
/// `arch_prctl` and `set_tid_address`).
type Plan = (Vec<(u64, Vec<u8>)>, Layout);

fn plan(image: &[u8], offset: (i64, i64)) -> Result<Option<Plan>, String> {
    let syms = symbols(image).ok_or("cannot parse the vdso")?;
    let cave_at = cave_start(image);
    if let Some(cave) = cave_at {
        for (name, _) in TARGETS {
            if let Some(&(_, off, _)) = syms.iter().find(|s| s.0 == *name)
                && jumps_into(image, entry(image, off), cave)
            {
                return Ok(None);
            }
        }
    }
    // The stubs take about 250 bytes; a cave that is short or not all zeros is not used.
    let cave = cave_at.filter(|&c| {
        image
            .get(c as usize..)
            .is_some_and(|free| free.len() >= 512 && free.iter().all(|&b| b == 0))
    });
    let mut asm = cave.map(|c| Asm {
        base: c,
        code: Vec::new(),
    });
    let mut entries = Vec::new();
    let mut layout = Layout {
        len: image.len() as u64,
        shifted_sites: Vec::new(),
    };
    for (name, func) in TARGETS {
        let Some(&(_, off, size)) = syms.iter().find(|s| s.0 == *name) else {
            continue;
        };
        if entries.iter().any(|(o, _)| *o == off) {
            continue;
        }
        let at = entry(image, off);
        if let Some(a) = asm.as_mut() {
            let mark = a.code.len();
            if let Some(jmp) = stub(image, at, off + size, *func, offset, a) {
                entries.push((off, (at, jmp)));
                continue;
            }
            a.code.truncate(mark);
        }
        let code = syscall_code(func.nr());
        let end = at.saturating_add(code.len() as u64);
        if end > off.saturating_add(size) || end > image.len() as u64 {
            return Err(format!(
                "{} too small to patch",
                String::from_utf8_lossy(name)
            ));
        }
        layout.shifted_sites.push(at..end);
        entries.push((off, (at, code)));
    }
    let mut writes = Vec::new();
    if let (Some(cave), Some(a)) = (cave, asm)
        && !a.code.is_empty()
    {
        if a.code.len() > 512 {
            return Err("the clock stubs do not fit in the vdso".to_owned());
        }
        writes.push((cave, a.code));
    }
    writes.extend(entries.into_iter().map(|(_, w)| w));
    Ok(Some((writes, layout)))
}

/// Whether the code at `at` is a `jmp rel32` to `cave` or past it.
fn jumps_into(image: &[u8], at: u64, cave: u64) -> bool {
    let Some([0xe9, d @ ..]) = image.get(at as usize..(at as usize).saturating_add(5)) else {
        return false;
    };
    let Ok(d) = <[u8; 4]>::try_from(d) else {
        return false;
    };
    let target = at as i64 + 5 + i64::from(i32::from_le_bytes(d));
    target >= cave as i64 && target < image.len() as i64
}

/// Offset of the entry of a function at `off`, past an `endbr64`.
fn entry(image: &[u8], off: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if image.get(off as usize..(off as usize).saturating_add(4)) == Some(&ENDBR64[..]) {
        return off + 4;
    }
    let _ = image;
    off
}

/// Where free space starts in the vDSO mapping: past every byte the ELF image uses (headers,
/// sections, section table), 64-byte aligned. The rest of the last page is zeros the vDSO never
/// reads.
fn cave_start(img: &[u8]) -> Option<u64> {
    const SHT_NOBITS: u64 = 8;
    let (phoff, phentsize, phnum) = (
        u64_at(img, 0x20, 0)?,
        u16_at(img, 0x36, 0)?,
        u16_at(img, 0x38, 0)?,
    );
    let (shoff, shentsize, shnum) = (
        u64_at(img, 0x28, 0)?,
        u16_at(img, 0x3a, 0)?,
        u16_at(img, 0x3c, 0)?,
    );
    let mut end = phoff
        .checked_add(phentsize * phnum)?
        .max(shoff.checked_add(shentsize * shnum)?);
    for i in 0..shnum {
        let sh = shoff.checked_add(i * shentsize)?;
        if u32_at(img, sh, 4)? != SHT_NOBITS {
            end = end.max(u64_at(img, sh, 0x18)?.checked_add(u64_at(img, sh, 0x20)?)?);
        }
    }
    for i in 0..phnum {
        let ph = phoff.checked_add(i * phentsize)?;
        end = end.max(u64_at(img, ph, 8)?.checked_add(u64_at(img, ph, 0x20)?)?);
    }
    let start = end.checked_add(63)? & !63;
    (start < img.len() as u64).then_some(start)
}

/// Machine code being laid out at offset `base` of the vDSO.
struct Asm {
    base: u64,
    code: Vec<u8>,
}

impl Asm {
    fn here(&self) -> u64 {
        self.base + self.code.len() as u64
    }

    fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }

    /// A 5-byte `jmp`/`call` (`op` 0xe9/0xe8) from here to `target`.
    fn rel32(&mut self, op: u8, target: u64) -> Option<()> {
        let rel = i32::try_from(target as i64 - (self.here() as i64 + 5)).ok()?;
        self.code.push(op);
        self.code.extend_from_slice(&rel.to_le_bytes());
        Some(())
    }

    /// A short conditional jump (`op`), its target set later by [`fix`](Self::fix).
    fn jcc(&mut self, op: u8) -> usize {
        self.code.extend_from_slice(&[op, 0]);
        self.code.len() - 1
    }

    /// Points the short jump whose displacement is at `at` to here.
    fn fix(&mut self, at: usize) -> Option<()> {
        self.code[at] = i8::try_from(self.code.len() - (at + 1)).ok()? as u8;
        Some(())
    }

    /// `mov rcx, imm64`.
    fn mov_rcx(&mut self, v: i64) {
        self.bytes(&[0x48, 0xb9]);
        self.bytes(&v.to_le_bytes());
    }
}

/// Moves the first instructions of the function entered at `at` (ending at `end`) to the
/// assembler's position, followed by a jump back past them; returns how many bytes were moved.
#[cfg(target_arch = "x86_64")]
fn moved_prologue(image: &[u8], at: u64, end: u64, a: &mut Asm) -> Option<u64> {
    const JMP_LEN: u64 = 5;
    let mut moved = 0u64;
    while moved < JMP_LEN {
        let from = at + moved;
        let code = image.get(from as usize..end.min(from + 16) as usize)?;
        let insn = movable(code, from, a.here())?;
        moved += insn.len() as u64;
        a.bytes(&insn);
    }
    if at + moved > end {
        return None;
    }
    a.rel32(0xe9, at + moved)?;
    Some(moved)
}

/// The instruction at the start of `code`, as it must read at `to` instead of `from`; `None`
/// for anything not known to be safe to move.
#[cfg(target_arch = "x86_64")]
fn movable(code: &[u8], from: u64, to: u64) -> Option<Vec<u8>> {
    // An instruction of `len` bytes whose 32-bit rip-relative displacement is at `disp_at`.
    let rebased = |len: usize, disp_at: usize| -> Option<Vec<u8>> {
        let d = code.get(disp_at..disp_at + 4)?;
        let disp = i64::from(i32::from_le_bytes(d.try_into().ok()?));
        let target = (from as i64 + len as i64).checked_add(disp)?;
        let disp = i32::try_from(target.checked_sub(to as i64 + len as i64)?).ok()?;
        let mut out = code.get(..len)?.to_vec();
        out[disp_at..disp_at + 4].copy_from_slice(&disp.to_le_bytes());
        Some(out)
    };
    match *code {
        // push r64
        [0x50..=0x57, ..] => Some(code[..1].to_vec()),
        // push r8..r15
        [0x41, 0x50..=0x57, ..] => Some(code[..2].to_vec()),
        // mov rbp, rsp
        [0x48, 0x89, 0xe5, ..] => Some(code[..3].to_vec()),
        // and rsp, imm8; sub rsp, imm8
        [0x48, 0x83, 0xe4 | 0xec, _, ..] => Some(code[..4].to_vec()),
        // lea r64, [rip + disp32]
        [0x48 | 0x4c, 0x8d, modrm, ..] if modrm & 0xc7 == 0x05 => rebased(7, 3),
        // cmp dword [rip + disp32], imm32
        [0x81, 0x3d, ..] => rebased(10, 2),
        _ => None,
    }
}

/// Lays out the stub of `func`, entered at `at`, in the cave, and returns the jump to write at
/// the entry; `None` when its prologue cannot be moved.
#[cfg(target_arch = "x86_64")]
fn stub(
    image: &[u8],
    at: u64,
    end: u64,
    func: Func,
    offset: (i64, i64),
    a: &mut Asm,
) -> Option<Vec<u8>> {
    const NS: [u8; 4] = 1_000_000_000u32.to_le_bytes();
    const US: [u8; 4] = 1_000_000u32.to_le_bytes();
    let start = a.here();
    match func {
        Func::ClockGettime => {
            // Wall clocks go to `wall`, any other to the original.
            let mut to_wall = Vec::new();
            for clock in [
                libc::CLOCK_REALTIME,
                libc::CLOCK_REALTIME_COARSE,
                libc::CLOCK_REALTIME_ALARM,
                libc::CLOCK_TAI,
            ] {
                a.bytes(&[0x83, 0xff, u8::try_from(clock).ok()?]); // cmp edi, clock
                to_wall.push(a.jcc(0x74)); // je wall
            }
            let original = a.here();
            moved_prologue(image, at, end, a)?;
            for j in to_wall {
                a.fix(j)?;
            }
            a.bytes(&[0x56]); // push rsi (the timespec; also aligns the stack)
            a.rel32(0xe8, original)?; // call original
            a.bytes(&[0x5e]); // pop rsi
            a.bytes(&[0x85, 0xc0]); // test eax, eax
            let failed = a.jcc(0x75); // jnz done
            a.mov_rcx(offset.0);
            a.bytes(&[0x48, 0x01, 0x0e]); // add [rsi], rcx
            a.mov_rcx(offset.1);
            a.bytes(&[0x48, 0x03, 0x4e, 0x08]); // add rcx, [rsi + 8]
            a.bytes(&[0x48, 0x81, 0xf9]); // cmp rcx, 1e9
            a.bytes(&NS);
            let no_carry = a.jcc(0x7c); // jl store
            a.bytes(&[0x48, 0x81, 0xe9]); // sub rcx, 1e9
            a.bytes(&NS);
            a.bytes(&[0x48, 0xff, 0x06]); // inc qword [rsi]
            a.fix(no_carry)?;
            a.bytes(&[0x48, 0x89, 0x4e, 0x08]); // mov [rsi + 8], rcx
            a.fix(failed)?;
            a.bytes(&[0xc3]); // ret
        }
        Func::Gettimeofday => {
            a.bytes(&[0x48, 0x85, 0xff]); // test rdi, rdi
            let no_tv = a.jcc(0x74); // jz original (only the timezone)
            a.bytes(&[0x57]); // push rdi
            let call_at = a.code.len();
            a.rel32(0xe8, 0)?; // call original (target set below)
            a.bytes(&[0x5f]); // pop rdi
            a.bytes(&[0x85, 0xc0]); // test eax, eax
            let failed = a.jcc(0x75); // jnz done
            a.mov_rcx(offset.0);
            a.bytes(&[0x48, 0x01, 0x0f]); // add [rdi], rcx
            a.mov_rcx(offset.1 / 1000);
            a.bytes(&[0x48, 0x03, 0x4f, 0x08]); // add rcx, [rdi + 8]
            a.bytes(&[0x48, 0x81, 0xf9]); // cmp rcx, 1e6
            a.bytes(&US);
            let no_carry = a.jcc(0x7c); // jl store
            a.bytes(&[0x48, 0x81, 0xe9]); // sub rcx, 1e6
            a.bytes(&US);
            a.bytes(&[0x48, 0xff, 0x07]); // inc qword [rdi]
            a.fix(no_carry)?;
            a.bytes(&[0x48, 0x89, 0x4f, 0x08]); // mov [rdi + 8], rcx
            a.fix(failed)?;
            a.bytes(&[0xc3]); // ret
            a.fix(no_tv)?;
            let original = a.here();
            let rel = i32::try_from(original as i64 - (a.base as i64 + call_at as i64 + 5)).ok()?;
            a.code[call_at + 1..call_at + 5].copy_from_slice(&rel.to_le_bytes());
            moved_prologue(image, at, end, a)?;
        }
        Func::Time => {
            a.bytes(&[0x57]); // push rdi (tloc)
            a.bytes(&[0x31, 0xff]); // xor edi, edi
            let call_at = a.code.len();
            a.rel32(0xe8, 0)?; // call original (target set below)
            a.bytes(&[0x5f]); // pop rdi
            a.mov_rcx(offset.0);
            a.bytes(&[0x48, 0x01, 0xc8]); // add rax, rcx
            a.bytes(&[0x48, 0x85, 0xff]); // test rdi, rdi
            let no_tloc = a.jcc(0x74); // jz done
            a.bytes(&[0x48, 0x89, 0x07]); // mov [rdi], rax
            a.fix(no_tloc)?;
            a.bytes(&[0xc3]); // ret
            let original = a.here();
            let rel = i32::try_from(original as i64 - (a.base as i64 + call_at as i64 + 5)).ok()?;
            a.code[call_at + 1..call_at + 5].copy_from_slice(&rel.to_le_bytes());
            moved_prologue(image, at, end, a)?;
        }
    }
    // The entry: a jump to the stub; the rest of the moved bytes are never run.
    let mut j = vec![0xe9];
    j.extend_from_slice(
        &i32::try_from(start as i64 - (at as i64 + 5))
            .ok()?
            .to_le_bytes(),
    );
    Some(j)
}

#[cfg(not(target_arch = "x86_64"))]
fn stub(_: &[u8], _: u64, _: u64, _: Func, _: (i64, i64), _: &mut Asm) -> Option<Vec<u8>> {
    None
}

/// Opens `/proc/PID/mem` for writing.
pub(crate) fn open_mem(pid: u32) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|e| format!("cannot open /proc/{pid}/mem: {e}"))
}

/// The address range of the `[vdso]` mapping in a `/proc/PID/maps` text.
fn vdso_range(maps: &str) -> Option<(u64, u64)> {
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let range = line.split_whitespace().next()?;
    let (a, b) = range.split_once('-')?;
    let (a, b) = (
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    );
    (b > a).then_some((a, b))
}

fn u16_at(b: &[u8], base: u64, off: u64) -> Option<u64> {
    let at = usize::try_from(base.checked_add(off)?).ok()?;
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?).into())
}

fn u32_at(b: &[u8], base: u64, off: u64) -> Option<u64> {
    let at = usize::try_from(base.checked_add(off)?).ok()?;
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?).into())
}

fn u64_at(b: &[u8], base: u64, off: u64) -> Option<u64> {
    let at = usize::try_from(base.checked_add(off)?).ok()?;
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The functions in the dynamic symbol table of an in-memory ELF64 image: name, offset in
/// the image and size. `None` for anything malformed (checked slicing throughout).
fn symbols(img: &[u8]) -> Option<Vec<(&[u8], u64, u64)>> {
    const PT_LOAD: u64 = 1;
    const SHT_DYNSYM: u64 = 11;
    const STT_FUNC: u8 = 2;
    if img.get(..4)? != b"\x7fELF" || *img.get(4)? != 2 {
        return None;
    }
    // The load bias: symbol values are link-time addresses, the image starts at the first
    // PT_LOAD's address.
    let (phoff, phentsize, phnum) = (
        u64_at(img, 0x20, 0)?,
        u16_at(img, 0x36, 0)?,
        u16_at(img, 0x38, 0)?,
    );
    let base = (0..phnum)
        .map(|i| phoff.saturating_add(i * phentsize))
        .find(|&ph| u32_at(img, ph, 0) == Some(PT_LOAD))
        .and_then(|ph| u64_at(img, ph, 0x10)?.checked_sub(u64_at(img, ph, 8)?))?;
    let (shoff, shentsize, shnum) = (
        u64_at(img, 0x28, 0)?,
        u16_at(img, 0x3a, 0)?,
        u16_at(img, 0x3c, 0)?,
    );
    let sh = |i: u64| shoff.checked_add(i.checked_mul(shentsize)?);
    let dynsym = (0..shnum).find_map(|i| {
        let s = sh(i)?;
        (u32_at(img, s, 4)? == SHT_DYNSYM).then_some(s)
    })?;
    let (sym_off, sym_size, link, entsize) = (
        u64_at(img, dynsym, 0x18)?,
        u64_at(img, dynsym, 0x20)?,
        u32_at(img, dynsym, 0x28)?,
        u64_at(img, dynsym, 0x38)?,
    );
    let strtab = sh(link)?;
    let (str_off, str_size) = (u64_at(img, strtab, 0x18)?, u64_at(img, strtab, 0x20)?);
    let strs = img.get(usize::try_from(str_off).ok()?..)?;
    let strs = strs.get(..usize::try_from(str_size).ok()?)?;
    if entsize < 24 {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..sym_size / entsize {
        let s = sym_off.checked_add(i * entsize)?;
        let name_off = usize::try_from(u32_at(img, s, 0)?).ok()?;
        let info = *img.get(usize::try_from(s.checked_add(4)?).ok()?)?;
        if info & 0xf != STT_FUNC {
            continue;
        }
        let value = u64_at(img, s, 8)?;
        let size = u64_at(img, s, 16)?;
        let name = strs.get(name_off..)?;
        let name = &name[..name.iter().position(|&c| c == 0)?];
        let off = value.checked_sub(base)?;
        // Only functions that lie inside the image: every offset used later stays small.
        if off
            .checked_add(size)
            .is_some_and(|end| end <= img.len() as u64)
        {
            out.push((name, off, size));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_vdso() -> Option<Vec<u8>> {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let (a, b) = vdso_range(&maps)?;
        let mem = File::open("/proc/self/mem").ok()?;
        let mut img = vec![0; (b - a) as usize];
        mem.read_exact_at(&mut img, a).ok()?;
        Some(img)
    }

    #[test]
    fn finds_the_clock_functions_of_this_process() {
        let Some(img) = own_vdso() else {
            println!("skipped: needs a vdso");
            return;
        };
        let syms = symbols(&img).expect("parse");
        for (name, _) in TARGETS {
            let s = syms.iter().find(|s| s.0 == *name).expect("symbol");
            assert!(s.1 > 0 && s.1 < img.len() as u64 && s.2 >= 8);
        }
    }

    #[test]
    fn malformed_images_are_refused_not_panics() {
        assert!(symbols(b"").is_none());
        assert!(symbols(b"\x7fELF\x02").is_none());
        if let Some(img) = own_vdso() {
            for cut in [16, 64, 0x40, 200, img.len() / 2] {
                let _ = symbols(&img[..cut.min(img.len())]);
            }
            let mut bad = img.clone();
            bad[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
            assert!(symbols(&bad).is_none());
        }
    }

    #[test]
    fn plan_patches_once_and_jumps_into_the_cave() {
        let Some(img) = own_vdso() else {
            println!("skipped: needs a vdso");
            return;
        };
        let Some((writes, layout)) = plan(&img, (-800_000_000, 5)).unwrap() else {
            panic!("our own vdso is not patched");
        };
        assert_eq!(layout.len, img.len() as u64);
        let mut patched = img.clone();
        for (at, code) in &writes {
            patched[*at as usize..*at as usize + code.len()].copy_from_slice(code);
        }
        // Patching again writes nothing.
        assert!(plan(&patched, (-800_000_000, 5)).unwrap().is_none());
        #[cfg(target_arch = "x86_64")]
        {
            let cave = cave_start(&img).unwrap();
            let syms = symbols(&img).unwrap();
            for (name, _) in TARGETS {
                let off = syms.iter().find(|s| s.0 == *name).unwrap().1;
                let at = entry(&img, off);
                let stubbed = layout.shifted_sites.iter().any(|r| r.start == at);
                assert!(stubbed || jumps_into(&patched, at, cave), "{name:?}");
            }
            // A call from inside the vdso is its fallback, unless made by a syscall stub.
            assert!(layout.is_unshifted(0x1000, 0x1000 + 16));
            assert!(!layout.is_unshifted(0x1000, 0x1000 + img.len() as u64));
            assert!(!layout.is_unshifted(0x1000, 0x10));
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn moved_instructions() {
        // lea r10, [rip - 0x6818] at 0x811, moved to 0x1a00: same target.
        let lea = [0x4c, 0x8d, 0x15, 0xe8, 0x97, 0xff, 0xff];
        let moved = movable(&lea, 0x811, 0x1a00).unwrap();
        let disp = |b: &[u8]| i64::from(i32::from_le_bytes(b[3..7].try_into().unwrap()));
        assert_eq!(0x811 + 7 + disp(&lea), 0x1a00 + 7 + disp(&moved));
        assert_eq!(movable(&[0x55, 0x90], 0, 100).unwrap(), [0x55]);
        assert_eq!(movable(&[0x41, 0x56], 0, 100).unwrap(), [0x41, 0x56]);
        // A relative jump, a call: not moved.
        assert!(movable(&[0xe9, 0, 0, 0, 0], 0, 100).is_none());
        assert!(movable(&[0xe8, 0, 0, 0, 0], 0, 100).is_none());
        assert!(movable(&[0x4c, 0x8d], 0, 100).is_none());
    }

    #[test]
    fn mutated_images_never_panic() {
        let Some(img) = own_vdso() else {
            println!("skipped: needs a vdso");
            return;
        };
        let key = crate::determinism::chacha::root(1);
        let mut noise = vec![0u8; 4 * 2000];
        crate::determinism::chacha::fill(
            &key,
            crate::determinism::chacha::Domain::Lost,
            0,
            0,
            &mut noise,
        );
        let patched = match plan(&img, (0, 0)).unwrap() {
            Some((writes, _)) => {
                let mut p = img.clone();
                for (at, code) in writes {
                    p[at as usize..at as usize + code.len()].copy_from_slice(&code);
                }
                p
            }
            None => img.clone(),
        };
        for (i, r) in noise.chunks_exact(4).enumerate() {
            let mut m = if i % 2 == 0 {
                img.clone()
            } else {
                patched.clone()
            };
            // Change one byte: in the headers and symbol table mostly, anywhere sometimes.
            let span = if r[3] & 1 == 0 { 0x400 } else { m.len() };
            let at = usize::from(u16::from_le_bytes([r[0], r[1]])) % span;
            m[at] = r[2];
            let _ = plan(&m, (i as i64 - 1000, 999_999_999));
            let _ = cave_start(&m);
        }
    }

    #[test]
    fn maps_line_parsing() {
        let maps = "7ffd1000-7ffd3000 r--p 00000000 00:00 0 [vvar]\n\
                    7ffd3000-7ffd5000 r-xp 00000000 00:00 0                          [vdso]\n";
        assert_eq!(vdso_range(maps), Some((0x7ffd3000, 0x7ffd5000)));
        assert_eq!(vdso_range("nothing"), None);
    }
}

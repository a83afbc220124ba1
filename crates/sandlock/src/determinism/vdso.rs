//! Making a process's vDSO clock functions enter the kernel, so that the supervisor sees (and
//! shifts) every wall-clock read.
//!
//! The vDSO is a small ELF library the kernel maps into every process (`[vdso]` in
//! `/proc/PID/maps`); libc calls its `clock_gettime`, `gettimeofday` and `time` without a
//! system call, so seccomp never sees them. After each `execve` (the only thing that maps a
//! fresh vDSO; `fork` copies the patched one) the supervisor finds those functions through the
//! vDSO's dynamic symbol table and overwrites each entry with a stub that makes the real system
//! call and returns. Writing goes through `/proc/PID/mem`, which may write read-only text
//! (`FOLL_FORCE`) and does so copy-on-write: only this process's copy of the page changes, not
//! the vDSO of the rest of the system.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;

/// The vDSO functions to redirect and the system call each stub makes.
#[cfg(target_arch = "x86_64")]
const TARGETS: &[(&[u8], u32)] = &[
    (b"__vdso_clock_gettime", libc::SYS_clock_gettime as u32),
    (b"__vdso_gettimeofday", libc::SYS_gettimeofday as u32),
    (b"__vdso_time", libc::SYS_time as u32),
];
#[cfg(target_arch = "aarch64")]
const TARGETS: &[(&[u8], u32)] = &[
    (b"__kernel_clock_gettime", libc::SYS_clock_gettime as u32),
    (b"__kernel_gettimeofday", libc::SYS_gettimeofday as u32),
];

/// `endbr64`: kept at the entry when present, for indirect-branch tracking.
#[cfg(target_arch = "x86_64")]
const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];

/// The stub for system call `nr`: the arguments are already in the registers the system call
/// takes them in.
#[cfg(target_arch = "x86_64")]
fn stub(nr: u32) -> Vec<u8> {
    // mov eax, nr; syscall; ret
    let mut s = vec![0xb8];
    s.extend_from_slice(&nr.to_le_bytes());
    s.extend_from_slice(&[0x0f, 0x05, 0xc3]);
    s
}

#[cfg(target_arch = "aarch64")]
fn stub(nr: u32) -> Vec<u8> {
    // mov x8, #nr; svc #0; ret
    let mov = 0xd280_0008u32 | ((nr & 0xffff) << 5);
    [mov, 0xd400_0001, 0xd65f_03c0]
        .iter()
        .flat_map(|i| i.to_le_bytes())
        .collect()
}

/// Patches the vDSO of process `pid` through `mem` (its `/proc/PID/mem`, opened by the caller
/// before it checked that `pid` is still the process it means). Returns how many functions were
/// patched; 0 when the process has no vDSO.
pub(crate) fn patch(pid: u32, mem: &File) -> Result<usize, String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map_err(|e| format!("cannot read /proc/{pid}/maps: {e}"))?;
    let Some((start, end)) = vdso_range(&maps) else {
        return Ok(0);
    };
    let len = usize::try_from(end - start).map_err(|_| "vdso too large".to_owned())?;
    if len > 1 << 20 {
        return Err(format!("vdso of {len} bytes"));
    }
    let mut image = vec![0u8; len];
    mem.read_exact_at(&mut image, start)
        .map_err(|e| format!("cannot read the vdso of {pid}: {e}"))?;
    let syms = symbols(&image).ok_or("cannot parse the vdso")?;
    let mut patched = 0;
    let mut done = Vec::new();
    for (name, nr) in TARGETS {
        let Some(&(_, off, size)) = syms.iter().find(|s| s.0 == *name) else {
            continue;
        };
        if done.contains(&off) {
            continue;
        }
        let mut at = off;
        #[cfg(target_arch = "x86_64")]
        if image.get(off as usize..(off as usize).saturating_add(4)) == Some(&ENDBR64[..]) {
            at += 4;
        }
        let code = stub(*nr);
        let stub_end = at.saturating_add(code.len() as u64);
        if stub_end > off.saturating_add(size) || stub_end > len as u64 {
            return Err(format!(
                "{} too small to patch",
                String::from_utf8_lossy(name)
            ));
        }
        mem.write_all_at(&code, start + at)
            .map_err(|e| format!("cannot write the vdso of {pid}: {e}"))?;
        done.push(off);
        patched += 1;
    }
    Ok(patched)
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
        out.push((name, value.checked_sub(base)?, size));
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
    fn maps_line_parsing() {
        let maps = "7ffd1000-7ffd3000 r--p 00000000 00:00 0 [vvar]\n\
                    7ffd3000-7ffd5000 r-xp 00000000 00:00 0                          [vdso]\n";
        assert_eq!(vdso_range(maps), Some((0x7ffd3000, 0x7ffd5000)));
        assert_eq!(vdso_range("nothing"), None);
    }
}

//! `cargo xtask dist`: the release `sandlock` binary, statically linked (static-pie).
//!
//! A static binary starts faster than a dynamic one because the dynamic loader has nothing to
//! map, relocate or resolve, and startup is what a sandbox launcher is judged on.
//! `-C target-feature=+crt-static` cannot go in `.cargo/config.toml`: applied to every crate,
//! it breaks the proc-macro crates, which must be dynamic libraries. `cargo rustc` passes it to
//! the final binary only.
//!
//! The build names the host target explicitly (`--target`), so cargo keeps it in
//! `<target dir>/<triple>/release/` and it never overwrites (nor invalidates) the dynamic
//! `<target dir>/release/sandlock` that `cargo build --release` makes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TaskResult, cargo, workspace_root};

const USAGE: &str = "\
usage: cargo xtask dist

Builds the release sandlock binary statically linked (static-pie) and copies it to
target/dist/sandlock.
";

/// ELF program header type of the dynamic loader's path: a static binary has none.
const PT_INTERP: u32 = 3;

/// Builds the static binary and prints where it is.
pub(crate) fn run(args: &[String]) -> TaskResult {
    match args.first().map(String::as_str) {
        None => {}
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return Ok(());
        }
        Some(arg) => return Err(format!("dist: unexpected argument {arg:?}\n{USAGE}")),
    }
    let path = build()?;
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    println!(
        "{} ({size} bytes, {:.1} MiB, static-pie)",
        path.display(),
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// Builds the static release binary, copies it to `target/dist/sandlock` in the workspace and
/// returns that path.
pub(crate) fn build() -> Result<PathBuf, String> {
    let triple = host_triple()?;
    cargo(
        &[
            "rustc",
            "--release",
            "-p",
            "sandlock",
            "--bin",
            "sandlock",
            "--target",
            &triple,
            "--",
            "-C",
            "target-feature=+crt-static",
        ],
        &[],
    )?;
    let built = target_dir().join(&triple).join("release").join("sandlock");
    check_static(&built)?;
    let dist = workspace_root().join("target").join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let dest = dist.join("sandlock");
    // Copy beside and rename, so a running copy of the old binary is never overwritten.
    let tmp = dist.join(".sandlock.tmp");
    std::fs::copy(&built, &tmp)
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), tmp.display()))?;
    std::fs::rename(&tmp, &dest)
        .map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), dest.display()))?;
    Ok(dest)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (cargo passes it through to us),
/// else `target/` in the workspace.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| format!("`{rustc} -vV` printed no host triple"))
}

/// Fails unless `path` is a 64-bit little-endian ELF file without a `PT_INTERP` header, which
/// is what a static(-pie) binary is: if the flag did not reach the linker, say so here rather
/// than benchmark the wrong binary.
fn check_static(path: &Path) -> TaskResult {
    let elf = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = || format!("{}: not a 64-bit little-endian ELF file", path.display());
    let u16_at =
        |o: usize| -> Option<u16> { Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?)) };
    let u32_at =
        |o: usize| -> Option<u32> { Some(u32::from_le_bytes(elf.get(o..o + 4)?.try_into().ok()?)) };
    let u64_at =
        |o: usize| -> Option<u64> { Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?)) };
    // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1).
    if elf.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        return Err(bad());
    }
    let phoff = u64_at(0x20).ok_or_else(bad)?;
    let phentsize = u16_at(0x36).ok_or_else(bad)?;
    let phnum = u16_at(0x38).ok_or_else(bad)?;
    let phoff = usize::try_from(phoff).map_err(|_| bad())?;
    for i in 0..usize::from(phnum) {
        let p_type = u32_at(phoff + i * usize::from(phentsize)).ok_or_else(bad)?;
        if p_type == PT_INTERP {
            return Err(format!(
                "{} is dynamically linked (it has a PT_INTERP header): \
                 -C target-feature=+crt-static did not take effect",
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_executable_is_refused() {
        // Test executables are built without crt-static, so this one has an interpreter.
        let me = std::env::current_exe().unwrap();
        let err = check_static(&me).unwrap_err();
        assert!(err.contains("PT_INTERP"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_elf_is_refused() {
        let err = check_static(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Cargo.toml"
        )))
        .unwrap_err();
        assert!(err.contains("not a 64-bit"), "{err}");
    }
}

//! A minimal initramfs: a tree of entries written as a `newc` cpio archive.
//!
//! The kernel unpacks an uncompressed `newc` archive itself, so no cpio tool and no
//! compression are needed. Entries are kept in a map keyed by path, which both removes
//! duplicates (a later real file replaces an earlier busybox applet link) and orders every
//! directory before its contents.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

/// What one path in the archive is.
pub(crate) enum Entry {
    Dir,
    /// Contents copied from a host file; `mode` holds the permission bits.
    HostFile {
        source: PathBuf,
        mode: u32,
    },
    /// Contents given inline.
    Data {
        bytes: Vec<u8>,
        mode: u32,
    },
    Symlink(PathBuf),
}

/// An initramfs under construction.
#[derive(Default)]
pub(crate) struct Tree {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Tree {
    /// Adds `path` (absolute) and every missing parent directory.
    pub(crate) fn insert(&mut self, path: &Path, entry: Entry) {
        let mut dir = PathBuf::from("/");
        if let Some(parent) = path.parent() {
            for c in parent.components() {
                if let Component::Normal(name) = c {
                    dir.push(name);
                    self.entries.entry(dir.clone()).or_insert(Entry::Dir);
                }
            }
        }
        self.entries.insert(path.to_owned(), entry);
    }

    /// Whether `path` is already in the archive.
    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.entries.contains_key(path)
    }

    /// The archive's total size of file contents, for the log.
    pub(crate) fn payload_bytes(&self) -> u64 {
        self.entries
            .values()
            .map(|e| match e {
                Entry::HostFile { source, .. } => std::fs::metadata(source).map_or(0, |m| m.len()),
                Entry::Data { bytes, .. } => bytes.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// Writes the archive to `out`.
    pub(crate) fn write(&self, out: &Path) -> io::Result<()> {
        let mut w = BufWriter::new(File::create(out)?);
        // The root must be searchable by everyone, or an unprivileged user cannot run `/init`'s
        // children.
        write_header(&mut w, 1, ".", 0o040755, 0)?;
        for (ino, (path, entry)) in (2..).zip(&self.entries) {
            let name = path.strip_prefix("/").unwrap_or(path);
            let name = name.to_str().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "non-UTF-8 path in initramfs")
            })?;
            match entry {
                Entry::Dir => write_header(&mut w, ino, name, 0o040755, 0)?,
                Entry::Data { bytes, mode } => {
                    write_header(&mut w, ino, name, 0o100000 | mode, bytes.len() as u64)?;
                    w.write_all(bytes)?;
                    pad(&mut w, bytes.len() as u64)?;
                }
                Entry::Symlink(target) => {
                    let t = target.as_os_str().as_encoded_bytes();
                    write_header(&mut w, ino, name, 0o120777, t.len() as u64)?;
                    w.write_all(t)?;
                    pad(&mut w, t.len() as u64)?;
                }
                Entry::HostFile { source, mode } => {
                    let mut f = File::open(source).map_err(|e| {
                        io::Error::new(e.kind(), format!("{}: {e}", source.display()))
                    })?;
                    let len = f.metadata()?.len();
                    write_header(&mut w, ino, name, 0o100000 | mode, len)?;
                    let copied = io::copy(&mut f, &mut w)?;
                    if copied != len {
                        return Err(io::Error::other(format!(
                            "{} changed size while being archived",
                            source.display()
                        )));
                    }
                    pad(&mut w, len)?;
                }
            }
        }
        write_header(&mut w, 0, "TRAILER!!!", 0, 0)?;
        w.flush()
    }
}

/// One `newc` header and the NUL-terminated, padded name.
fn write_header(w: &mut impl Write, ino: u32, name: &str, mode: u32, size: u64) -> io::Result<()> {
    let size = u32::try_from(size)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large for newc"))?;
    let name_size = name.len() + 1;
    let nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 };
    // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
    // rdevminor, namesize, check
    write!(
        w,
        "070701{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{name_size:08x}{:08x}",
        0, 0, 0, 0, 0, 0, 0, 0
    )?;
    w.write_all(name.as_bytes())?;
    w.write_all(&[0])?;
    // The 110-byte header plus the name is padded to a multiple of four.
    pad(w, 110 + name_size as u64)
}

fn pad(w: &mut impl Write, len: u64) -> io::Result<()> {
    let n = (4 - len % 4) % 4;
    w.write_all(&[0; 3][..n as usize])
}

//! Directory listings served on behalf of the sandbox (`getdents64`, `getdents`): /proc
//! without the processes outside the sandbox, and, with `--deterministic-dirs`, every
//! directory sorted by name.
//!
//! The listing is read through a duplicate of the caller's fd (`pidfd_getfd`), which shares
//! the open file description and so its offset: reading moves the caller's offset as its own
//! call would have. A sorted listing is read whole on the first call (offset 0), kept with the
//! duplicate, and handed out in order. It is found again by the open file description
//! (`kcmp(KCMP_FILE)` against the kept duplicate), never by the fd number: a number closed and
//! reused for another directory is another description, so it gets its own listing.

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use sandlock_sys::Errno;
use sandlock_sys::views::{PROC_SUPER_MAGIC, file_id, fs_type, getdents64, lseek, same_open_file};

/// Record layout of a `getdents` flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `struct linux_dirent64`: ino u64, off i64, reclen u16, type u8, name.
    Dirent64,
    /// `struct linux_dirent` (x86_64's `getdents`): ino u64, off u64, reclen u16, name, …,
    /// type in the last byte.
    Legacy,
}

impl Format {
    fn name_offset(self) -> usize {
        match self {
            Format::Dirent64 => 19,
            Format::Legacy => 18,
        }
    }

    fn read(self, dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            Format::Dirent64 => getdents64(dir, buf),
            #[cfg(target_arch = "x86_64")]
            Format::Legacy => sandlock_sys::views::getdents_legacy(dir, buf),
            #[cfg(not(target_arch = "x86_64"))]
            Format::Legacy => Err(Errno::ENOSYS),
        }
    }
}

/// The records of a filled `getdents` buffer, each with its name. Stops at the first record
/// that does not fit (which the kernel never writes).
pub(crate) fn records(buf: &[u8], format: Format) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(head) = buf.get(at..at + format.name_offset()) {
        let reclen = usize::from(u16::from_ne_bytes([head[16], head[17]]));
        let Some(record) = buf.get(at..at + reclen) else {
            break;
        };
        if reclen <= format.name_offset() {
            break;
        }
        let name = &record[format.name_offset()..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        out.push((record, name));
        at += reclen;
    }
    out
}

/// Whether a /proc entry is kept: everything but the processes outside `visible`.
fn keep_proc_entry(name: &[u8], visible: &HashSet<u32>) -> bool {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return true;
    }
    std::str::from_utf8(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .is_some_and(|pid| visible.contains(&pid))
}

/// A sorted listing being handed out.
#[derive(Debug)]
struct Listing {
    /// Our duplicate of the caller's fd: it identifies the open file description (and keeps
    /// it alive, so its identity cannot be reused while the listing exists).
    dir: OwnedFd,
    format: Format,
    records: Vec<Vec<u8>>,
    next: usize,
    /// The offset after reading the whole directory: the caller has not moved since.
    end: i64,
}

/// At most this many sorted listings are kept per sandbox (oldest dropped first).
const MAX_LISTINGS: usize = 64;
/// Largest buffer the supervisor reads into per call.
const MAX_CHUNK: usize = 64 * 1024;

/// Per-sandbox directory state.
#[derive(Debug, Default)]
pub(crate) struct Dirs {
    listings: Vec<Listing>,
}

/// What a listing request needs to know.
pub(crate) struct Request<'a> {
    /// The caller's directory (our duplicate).
    pub(crate) dir: OwnedFd,
    pub(crate) format: Format,
    /// The caller's buffer size.
    pub(crate) count: usize,
    /// Sort by name.
    pub(crate) sorted: bool,
    /// Processes listed in /proc (computed only when the directory is /proc's root).
    pub(crate) visible: &'a dyn Fn() -> HashSet<u32>,
}

/// `PROC_ROOT_INO`.
const PROC_ROOT_INO: u64 = 1;

impl Dirs {
    /// Answers one `getdents` call: the bytes to write to the caller's buffer (empty at the
    /// end of the directory).
    pub(crate) fn serve(&mut self, req: Request<'_>) -> Result<Vec<u8>, Errno> {
        let is_proc_root = fs_type(req.dir.as_fd()) == Ok(PROC_SUPER_MAGIC)
            && file_id(req.dir.as_fd())?.ino == PROC_ROOT_INO;
        let visible = is_proc_root.then(req.visible);
        let keep = |name: &[u8]| visible.as_ref().is_none_or(|v| keep_proc_entry(name, v));
        if !req.sorted {
            return pass_through(req.dir.as_fd(), req.format, req.count, &keep);
        }
        let offset = lseek(req.dir.as_fd(), 0, libc::SEEK_CUR)?;
        if let Some(i) = self.find(req.dir.as_fd()) {
            if self.listings[i].end == offset && self.listings[i].format == req.format {
                return self.hand_out(i, req.count);
            }
            // The caller moved (rewinddir, seekdir): start again below.
            self.listings.remove(i);
        }
        if offset != 0 {
            // Somewhere in the middle of a listing we never saw: the kernel's order.
            return pass_through(req.dir.as_fd(), req.format, req.count, &keep);
        }
        let mut records = Vec::new();
        let mut buf = vec![0u8; MAX_CHUNK];
        loop {
            let n = req.format.read(req.dir.as_fd(), &mut buf)?;
            if n == 0 {
                break;
            }
            for (record, name) in records_of(&buf[..n], req.format) {
                if keep(name) {
                    records.push(record.to_vec());
                }
            }
        }
        let off = req.format.name_offset();
        records.sort_by(|a, b| name_of(a, off).cmp(name_of(b, off)));
        let end = lseek(req.dir.as_fd(), 0, libc::SEEK_CUR)?;
        if self.listings.len() >= MAX_LISTINGS {
            self.listings.remove(0);
        }
        self.listings.push(Listing {
            dir: req.dir,
            format: req.format,
            records,
            next: 0,
            end,
        });
        self.hand_out(self.listings.len() - 1, req.count)
    }

    fn find(&self, dir: BorrowedFd<'_>) -> Option<usize> {
        let id = file_id(dir).ok();
        self.listings
            .iter()
            .position(|l| match same_open_file(l.dir.as_fd(), dir) {
                Ok(same) => same,
                // Without kcmp: the same directory, at the offset where the listing left it.
                Err(_) => file_id(l.dir.as_fd()).ok() == id,
            })
    }

    fn hand_out(&mut self, i: usize, count: usize) -> Result<Vec<u8>, Errno> {
        let listing = &mut self.listings[i];
        let mut out = Vec::new();
        while let Some(r) = listing.records.get(listing.next) {
            if out.len() + r.len() > count {
                break;
            }
            out.extend_from_slice(r);
            listing.next += 1;
        }
        if out.is_empty() && listing.next < listing.records.len() {
            return Err(Errno::EINVAL);
        }
        if out.is_empty() {
            // Done: the caller's offset stays at the end, as the kernel's would.
            self.listings.remove(i);
        }
        Ok(out)
    }
}

fn records_of(buf: &[u8], format: Format) -> Vec<(&[u8], &[u8])> {
    records(buf, format)
}

fn name_of(record: &[u8], off: usize) -> &[u8] {
    let name = record.get(off..).unwrap_or_default();
    &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())]
}

/// The kernel's listing, filtered: reads again when a whole chunk was filtered out, so that
/// an empty answer still means the end.
fn pass_through(
    dir: BorrowedFd<'_>,
    format: Format,
    count: usize,
    keep: &dyn Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; count.min(MAX_CHUNK)];
    loop {
        let n = format.read(dir, &mut buf)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(n);
        for (record, name) in records(&buf[..n], format) {
            if keep(name) {
                out.extend_from_slice(record);
            }
        }
        if !out.is_empty() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record64(name: &str) -> Vec<u8> {
        let len = (19 + name.len() + 1).next_multiple_of(8);
        let mut r = vec![0u8; len];
        r[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
        r[19..19 + name.len()].copy_from_slice(name.as_bytes());
        r
    }

    #[test]
    fn parses_records_and_never_panics_on_garbage() {
        let mut buf = record64("b");
        buf.extend(record64("a-longer-name"));
        let names: Vec<_> = records(&buf, Format::Dirent64)
            .into_iter()
            .map(|(_, n)| n.to_vec())
            .collect();
        assert_eq!(names, [b"b".to_vec(), b"a-longer-name".to_vec()]);
        for len in 0..buf.len() {
            let _ = records(&buf[..len], Format::Dirent64);
            let _ = records(&buf[..len], Format::Legacy);
        }
        let mut bad = record64("x");
        bad[16] = 0;
        bad[17] = 0;
        assert!(records(&bad, Format::Dirent64).is_empty());
    }

    #[test]
    fn proc_filter_keeps_names_and_visible_pids() {
        let visible = HashSet::from([12]);
        assert!(keep_proc_entry(b"self", &visible));
        assert!(keep_proc_entry(b"12", &visible));
        assert!(!keep_proc_entry(b"13", &visible));
    }

    #[test]
    fn sorted_listing_survives_fd_reuse() {
        let tmp = std::env::temp_dir().join(format!("sandlock-dirs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for d in ["one", "two"] {
            std::fs::create_dir_all(tmp.join(d)).unwrap();
        }
        for f in ["c", "a", "b"] {
            std::fs::write(tmp.join("one").join(f), "").unwrap();
        }
        for f in ["z", "y"] {
            std::fs::write(tmp.join("two").join(f), "").unwrap();
        }
        let mut dirs = Dirs::default();
        let list = |dirs: &mut Dirs, dir: &std::fs::File, count: usize| {
            let mut names = Vec::new();
            loop {
                let out = dirs
                    .serve(Request {
                        dir: dir.as_fd().try_clone_to_owned().unwrap(),
                        format: Format::Dirent64,
                        count,
                        sorted: true,
                        visible: &HashSet::new,
                    })
                    .unwrap();
                if out.is_empty() {
                    return names;
                }
                names.extend(
                    records(&out, Format::Dirent64)
                        .into_iter()
                        .map(|(_, n)| String::from_utf8(n.to_vec()).unwrap()),
                );
            }
        };
        let one = std::fs::File::open(tmp.join("one")).unwrap();
        // One record per call: the listing is handed out over several calls.
        assert_eq!(list(&mut dirs, &one, 32), [".", "..", "a", "b", "c"]);
        drop(one);
        // Likely the same fd number, another open file description.
        let two = std::fs::File::open(tmp.join("two")).unwrap();
        assert_eq!(list(&mut dirs, &two, 4096), [".", "..", "y", "z"]);
        assert!(
            dirs.serve(Request {
                dir: two.as_fd().try_clone_to_owned().unwrap(),
                format: Format::Dirent64,
                count: 8,
                sorted: true,
                visible: &HashSet::new,
            })
            .is_ok()
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

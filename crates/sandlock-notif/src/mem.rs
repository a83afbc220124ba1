//! Access to a notifying task's memory: `process_vm_readv`/`writev`, with `/proc/PID/mem` as
//! the fallback.

use std::fs::File;
use std::os::unix::fs::FileExt;

use sandlock_sys::{Errno, process};

/// The smallest page size of any supported architecture. Reads of unknown extent are split at
/// multiples of it so that they never run from a mapped page into an unmapped one; a boundary of
/// a larger page (16 KiB, 64 KiB on aarch64) is always also a 4 KiB boundary.
const MIN_PAGE_SIZE: u64 = 4096;

/// First chunk of a string read: most paths and names are short, so reading up to the end of the
/// page at once would copy kilobytes for nothing.
const FIRST_STRING_CHUNK: usize = 256;

/// How the reactor reaches into a notifying task's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MemAccess {
    /// `process_vm_readv`/`process_vm_writev`; on `EPERM` or `ENOSYS` (no cross-memory attach,
    /// or a seccomp profile around the supervisor) fall back to `/proc/PID/mem`.
    #[default]
    Auto,
    /// Always `/proc/PID/mem`. Slower (an `open` per notification that touches memory); meant
    /// for tests of the fallback and for hosts where `process_vm_*` is known to be unusable.
    ProcMem,
}

/// A failed access to a notifying task's memory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MemError {
    /// The range could not be read (unmapped, no ptrace rights, task gone).
    #[error("cannot read {len} bytes at {addr:#x} in task {pid}")]
    Read {
        /// The task (thread id).
        pid: u32,
        /// Start of the range in the task.
        addr: u64,
        /// Length of the range.
        len: usize,
        /// Why.
        #[source]
        source: Errno,
    },
    /// The range could not be written.
    #[error("cannot write {len} bytes at {addr:#x} in task {pid}")]
    Write {
        /// The task (thread id).
        pid: u32,
        /// Start of the range in the task.
        addr: u64,
        /// Length of the range.
        len: usize,
        /// Why.
        #[source]
        source: Errno,
    },
    /// No NUL byte within the allowed length.
    #[error("no NUL within {max_len} bytes of the string at {addr:#x} in task {pid}")]
    Unterminated {
        /// The task (thread id).
        pid: u32,
        /// Start of the string in the task.
        addr: u64,
        /// The limit that was reached.
        max_len: usize,
    },
    /// The notification is no longer pending (the task died or left the call), so its memory
    /// may now belong to another process.
    #[error("notification {id:#x} is no longer pending")]
    Gone {
        /// The notification's cookie.
        id: u64,
    },
}

impl MemError {
    /// The errno a handler would naturally answer with: the source errno of a read or write
    /// (`EFAULT` for unmapped memory), `ENAMETOOLONG` for an unterminated string, `ENOENT` when
    /// the notification is gone.
    pub fn errno(&self) -> Errno {
        match self {
            MemError::Read { source, .. } | MemError::Write { source, .. } => *source,
            MemError::Unterminated { .. } => Errno::ENAMETOOLONG,
            MemError::Gone { .. } => Errno::ENOENT,
        }
    }
}

/// One task's memory, for the duration of one notification.
#[derive(Debug)]
pub(crate) struct RemoteMem {
    pid: u32,
    access: MemAccess,
    /// `/proc/PID/mem`, opened on first use and kept until the notification is answered (not
    /// longer: a cached file would outlive the task and could meet a reused pid).
    proc_mem: Option<ProcMem>,
}

#[derive(Debug)]
struct ProcMem {
    file: File,
    writable: bool,
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// `/proc/PID/mem` says `EIO` where `process_vm_*` says `EFAULT` (nothing mapped there); report
/// `EFAULT` for both so that handlers see one errno whatever the backend.
fn proc_mem_errno(e: &std::io::Error) -> Errno {
    match errno_of(e) {
        Errno::EIO => Errno::EFAULT,
        other => other,
    }
}

/// Whether a `process_vm_*` failure means "this mechanism is unusable here" rather than "this
/// range is bad".
fn vm_unusable(e: Errno) -> bool {
    e == Errno::EPERM || e == Errno::ENOSYS
}

impl RemoteMem {
    pub(crate) fn new(pid: u32, access: MemAccess) -> RemoteMem {
        RemoteMem {
            pid,
            access,
            proc_mem: None,
        }
    }

    fn read_err(&self, addr: u64, len: usize, source: Errno) -> MemError {
        MemError::Read {
            pid: self.pid,
            addr,
            len,
            source,
        }
    }

    fn write_err(&self, addr: u64, len: usize, source: Errno) -> MemError {
        MemError::Write {
            pid: self.pid,
            addr,
            len,
            source,
        }
    }

    fn use_proc_mem(&self) -> bool {
        self.access == MemAccess::ProcMem || self.proc_mem.is_some()
    }

    fn proc_file(&mut self, writable: bool) -> Result<&File, Errno> {
        let reopen = match &self.proc_mem {
            None => true,
            Some(p) => writable && !p.writable,
        };
        if reopen {
            let file = File::options()
                .read(true)
                .write(writable)
                .open(format!("/proc/{}/mem", self.pid))
                .map_err(|e| errno_of(&e))?;
            self.proc_mem = Some(ProcMem { file, writable });
        }
        match &self.proc_mem {
            Some(p) => Ok(&p.file),
            None => Err(Errno::EIO),
        }
    }

    /// Reads as much of `buf` as the kernel gives in one call: `Ok(0)` means nothing readable.
    fn read_some(&mut self, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.use_proc_mem() {
            match process::process_vm_read(self.pid as libc::pid_t, addr, buf) {
                Err(e) if vm_unusable(e) => {}
                other => return other,
            }
        }
        let file = self.proc_file(false)?;
        file.read_at(buf, addr).map_err(|e| proc_mem_errno(&e))
    }

    fn write_some(&mut self, addr: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.use_proc_mem() {
            match process::process_vm_write(self.pid as libc::pid_t, addr, data) {
                Err(e) if vm_unusable(e) => {}
                other => return other,
            }
        }
        let file = self.proc_file(true)?;
        file.write_at(data, addr).map_err(|e| proc_mem_errno(&e))
    }

    /// Fills `buf` from `addr`, or fails: a short read is an error.
    pub(crate) fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let len = buf.len();
        let mut done = 0;
        while done < len {
            let at =
                addr.checked_add(done as u64)
                    .ok_or(self.read_err(addr, len, Errno::EFAULT))?;
            match self.read_some(at, &mut buf[done..]) {
                Ok(0) => return Err(self.read_err(addr, len, Errno::EFAULT)),
                Ok(n) => done += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(self.read_err(addr, len, e)),
            }
        }
        Ok(())
    }

    /// Reads a NUL-terminated string of at most `max_len` bytes (NUL excluded) at `addr`.
    ///
    /// Reads chunk by chunk, never across a page boundary within one chunk, so a string that
    /// ends just before an unmapped page is read correctly.
    pub(crate) fn read_cstr(&mut self, addr: u64, max_len: usize) -> Result<Vec<u8>, MemError> {
        let mut out = Vec::new();
        let mut chunk = [0u8; MIN_PAGE_SIZE as usize];
        let mut want = FIRST_STRING_CHUNK;
        // The NUL may sit at index `max_len`, so one byte more than `max_len` is looked at.
        let limit = max_len.saturating_add(1);
        while out.len() < limit {
            let at =
                addr.checked_add(out.len() as u64)
                    .ok_or(self.read_err(addr, 1, Errno::EFAULT))?;
            let to_page_end = (MIN_PAGE_SIZE - at % MIN_PAGE_SIZE) as usize;
            let n = want.min(to_page_end).min(limit - out.len());
            self.read(at, &mut chunk[..n])?;
            if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..n]);
            want = (want * 2).min(MIN_PAGE_SIZE as usize);
        }
        Err(MemError::Unterminated {
            pid: self.pid,
            addr,
            max_len,
        })
    }

    /// Writes all of `data` at `addr`. `validate` runs after any `/proc/PID/mem` open and before
    /// the first byte is written, so that the write cannot land in a process that reused the pid.
    pub(crate) fn write(
        &mut self,
        addr: u64,
        data: &[u8],
        validate: &mut dyn FnMut() -> Result<(), MemError>,
    ) -> Result<(), MemError> {
        let len = data.len();
        if self.access == MemAccess::ProcMem
            && let Err(e) = self.proc_file(true)
        {
            return Err(self.write_err(addr, len, e));
        }
        validate()?;
        let mut done = 0;
        let mut validated_file = self.proc_mem.as_ref().is_some_and(|p| p.writable);
        while done < len {
            let at =
                addr.checked_add(done as u64)
                    .ok_or(self.write_err(addr, len, Errno::EFAULT))?;
            let had_file = self.proc_mem.as_ref().is_some_and(|p| p.writable);
            let result = self.write_some(at, &data[done..]);
            let has_file = self.proc_mem.as_ref().is_some_and(|p| p.writable);
            if has_file && !had_file && !validated_file {
                // The fallback opened /proc/PID/mem just now. It failed before writing or did
                // write; either way check that the file is the notifying task's.
                validate()?;
                validated_file = true;
            }
            match result {
                Ok(0) => return Err(self.write_err(addr, len, Errno::EFAULT)),
                Ok(n) => done += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(self.write_err(addr, len, e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> u32 {
        std::process::id()
    }

    /// The end address of our `[stack]` mapping, from /proc/self/maps.
    fn stack_end() -> u64 {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let line = maps
            .lines()
            .find(|l| l.ends_with("[stack]"))
            .expect("a [stack] mapping");
        let range = line.split(' ').next().unwrap();
        let end = range.split('-').nth(1).unwrap();
        u64::from_str_radix(end, 16).unwrap()
    }

    const MODES: [MemAccess; 2] = [MemAccess::Auto, MemAccess::ProcMem];

    #[test]
    fn read_exact_and_fault() {
        for mode in MODES {
            let src = *b"hello, reactor";
            let mut m = RemoteMem::new(me(), mode);
            let mut dst = [0u8; 14];
            m.read(src.as_ptr() as u64, &mut dst).unwrap();
            assert_eq!(&dst, &src, "{mode:?}");
            let err = m.read(0, &mut dst).unwrap_err();
            assert_eq!(err.errno(), Errno::EFAULT, "{mode:?}: {err}");
            let mut empty = [0u8; 0];
            m.read(0, &mut empty).unwrap();
        }
    }

    #[test]
    fn string_across_a_page_boundary() {
        for mode in MODES {
            let buf = vec![b'a'; 3 * MIN_PAGE_SIZE as usize];
            let base = buf.as_ptr() as u64;
            let boundary = (base / MIN_PAGE_SIZE + 2) * MIN_PAGE_SIZE;
            let start = (boundary - 10 - base) as usize;
            let mut buf = buf;
            buf[start + 20] = 0;
            let mut m = RemoteMem::new(me(), mode);
            let s = m.read_cstr(base + start as u64, 100).unwrap();
            assert_eq!(s, vec![b'a'; 20], "{mode:?}");
            assert_eq!(m.read_cstr(base + start as u64, 20).unwrap().len(), 20);
            let err = m.read_cstr(base + start as u64, 19).unwrap_err();
            assert!(
                matches!(err, MemError::Unterminated { max_len: 19, .. }),
                "{err}"
            );
            assert_eq!(err.errno(), Errno::ENAMETOOLONG);
            drop(buf);
        }
    }

    #[test]
    fn string_at_the_end_of_a_mapping() {
        // The stack ends with the executable's name and a zero word, followed by unmapped
        // memory: a read that does not stop at the page end fails there.
        let end = stack_end();
        for mode in MODES {
            let mut m = RemoteMem::new(me(), mode);
            assert_eq!(m.read_cstr(end - 8, 4096).unwrap(), b"", "{mode:?}");
            let mut past = [0u8; 16];
            assert_eq!(
                m.read(end - 8, &mut past).unwrap_err().errno(),
                Errno::EFAULT
            );
        }
    }

    #[test]
    fn write_then_read() {
        for mode in MODES {
            let mut target = [0u8; 6];
            let addr = target.as_mut_ptr() as u64;
            let mut m = RemoteMem::new(me(), mode);
            let mut validations = 0;
            m.write(addr, b"abcdef", &mut || {
                validations += 1;
                Ok(())
            })
            .unwrap();
            assert_eq!(validations, 1, "{mode:?}");
            let mut back = [0u8; 6];
            m.read(addr, &mut back).unwrap();
            assert_eq!(&back, b"abcdef");
            let gone = m
                .write(addr, b"x", &mut || Err(MemError::Gone { id: 7 }))
                .unwrap_err();
            assert!(matches!(gone, MemError::Gone { id: 7 }));
            // `target` is read through a raw address above; keep it alive and observed.
            assert_eq!(std::hint::black_box(&target).len(), 6);
        }
    }
}

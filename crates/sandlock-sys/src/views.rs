//! Calls the supervisor makes to serve the sandbox's view of /proc and /sys: opening on behalf
//! (`openat2`), synthetic files (sealed `memfd`), directory listings (`getdents64`), comparing
//! open file descriptions (`kcmp`), and the system facts it rewrites (`sysinfo`,
//! `sched_getaffinity`).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::Errno;
use crate::structs::OpenHow;

/// `RESOLVE_NO_MAGICLINKS`: fail with `ELOOP` on `/proc/PID/fd/N`-style links.
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_NO_XDEV`: fail with `EXDEV` when the walk crosses a mount point.
pub const RESOLVE_NO_XDEV: u64 = 0x01;
/// `RESOLVE_BENEATH`: fail with `EXDEV` when the walk leaves the directory it starts at.
pub const RESOLVE_BENEATH: u64 = 0x08;

/// `PROC_SUPER_MAGIC`: `f_type` of procfs.
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// `SYSFS_MAGIC`: `f_type` of sysfs.
pub const SYSFS_MAGIC: i64 = 0x6265_6572;
/// `SECURITYFS_MAGIC`: `f_type` of securityfs (`/sys/kernel/security`).
pub const SECURITYFS_MAGIC: i64 = 0x7365_6375;

/// Opens `path` relative to `dir` with `how` (flags, mode and `RESOLVE_*` flags).
///
/// Calls `openat2(dir, path, how, sizeof how)` (5.6).
///
/// # Errors
/// The errors of `open(2)`; `ELOOP` for a magic link under [`RESOLVE_NO_MAGICLINKS`]; `EXDEV`
/// for a walk refused by [`RESOLVE_BENEATH`] or [`RESOLVE_NO_XDEV`]; `ENOSYS` before 5.6.
/// See <https://man7.org/linux/man-pages/man2/openat2.2.html>.
pub fn openat2(dir: BorrowedFd<'_>, path: &CStr, how: &OpenHow) -> Result<OwnedFd, Errno> {
    // SAFETY: `path` is NUL-terminated and `how` a valid `open_how` of the size passed; the
    // kernel only reads both.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            std::ptr::from_ref(how),
            size_of::<OpenHow>(),
        )
    };
    let fd = Errno::result(ret)?;
    // SAFETY: openat2 returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A read-only in-memory file holding `content`: a memfd (close-on-exec) written, rewound and
/// sealed with `F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL`, so nobody holding
/// it (the sandbox) can change it.
///
/// Calls `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)` (3.17), `write`, `lseek` and
/// `fcntl(F_ADD_SEALS)`.
#[doc(alias = "memfd_create")]
pub fn sealed_memfd(name: &CStr, content: &[u8]) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is NUL-terminated.
    let ret =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    let raw = Errno::result(ret)?;
    // SAFETY: memfd_create returned a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut done = 0;
    while done < content.len() {
        let rest = &content[done..];
        // SAFETY: `rest` is valid for reads of `rest.len()` bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        match Errno::result(n) {
            Ok(n) => done += n as usize,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    lseek(borrow(&fd), 0, libc::SEEK_SET)?;
    let seals = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
    // SAFETY: F_ADD_SEALS takes an int argument.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) };
    Errno::result(ret)?;
    Ok(fd)
}

fn borrow(fd: &OwnedFd) -> BorrowedFd<'_> {
    std::os::fd::AsFd::as_fd(fd)
}

/// The seals of a memfd (`F_SEAL_*`).
///
/// Calls `fcntl(fd, F_GET_SEALS)`.
pub fn seals(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    // SAFETY: F_GET_SEALS takes no argument.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })
}

/// The fd's flags (`FD_CLOEXEC`).
///
/// Calls `fcntl(fd, F_GETFD)`.
pub fn fd_flags(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    // SAFETY: F_GETFD takes no argument.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) })
}

/// The open file description's status flags and access mode (`O_*`).
///
/// Calls `fcntl(fd, F_GETFL)`.
pub fn status_flags(fd: BorrowedFd<'_>) -> Result<i32, Errno> {
    // SAFETY: F_GETFL takes no argument.
    Errno::result(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// Moves the file offset of `fd`'s open file description; returns the new offset.
///
/// Calls `lseek(fd, offset, whence)`.
pub fn lseek(fd: BorrowedFd<'_>, offset: i64, whence: i32) -> Result<i64, Errno> {
    // SAFETY: lseek takes integers.
    Errno::result(unsafe { libc::lseek(fd.as_raw_fd(), offset, whence) })
}

/// Reads directory entries of `dir` into `buf` as `struct linux_dirent64` records; returns the
/// number of bytes filled (0 at the end).
///
/// Calls `getdents64(dir, buf, len)`.
///
/// # Errors
/// `EINVAL` when `buf` is too small for the next entry; `ENOTDIR`; `EBADF`.
pub fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    getdents_nr(libc::SYS_getdents64, dir, buf)
}

/// Like [`getdents64`] with the old `struct linux_dirent` records (`d_type` in the last byte
/// of each record). x86_64 only: newer architectures have no `getdents`.
#[cfg(target_arch = "x86_64")]
#[doc(alias = "getdents")]
pub fn getdents_legacy(dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    getdents_nr(libc::SYS_getdents, dir, buf)
}

fn getdents_nr(nr: libc::c_long, dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    let len = buf.len().min(i32::MAX as usize);
    // SAFETY: the kernel writes at most `len` bytes into `buf`.
    let ret = unsafe { libc::syscall(nr, dir.as_raw_fd(), buf.as_mut_ptr(), len) };
    Errno::result(ret).map(|n| n as usize)
}

/// Whether `a` and `b` (fds of this process) refer to the same open file description (one
/// `open`, shared by `dup` or fd passing), not merely to the same file.
///
/// Calls `kcmp(getpid(), getpid(), KCMP_FILE, a, b)` (3.5, `CONFIG_KCMP`).
///
/// # Errors
/// `ENOSYS` without `CONFIG_KCMP`; `EBADF`.
#[doc(alias = "kcmp")]
pub fn same_open_file(a: BorrowedFd<'_>, b: BorrowedFd<'_>) -> Result<bool, Errno> {
    /// `KCMP_FILE` from `linux/kcmp.h`.
    const KCMP_FILE: libc::c_long = 0;
    let pid = std::process::id() as libc::c_long;
    // SAFETY: kcmp takes integers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            pid,
            pid,
            KCMP_FILE,
            a.as_raw_fd() as libc::c_long,
            b.as_raw_fd() as libc::c_long,
        )
    };
    Errno::result(ret).map(|r| r == 0)
}

/// Device, inode and mode of an open file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
}

/// What `fd` refers to.
///
/// Calls `fstat(fd)`.
#[doc(alias = "fstat")]
pub fn file_id(fd: BorrowedFd<'_>) -> Result<FileId, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: the kernel fills `st` on success.
    let ret = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    Errno::result(ret)?;
    // SAFETY: fstat succeeded, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    Ok(FileId {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
    })
}

/// The type of the filesystem `fd` is on (`f_type`: [`PROC_SUPER_MAGIC`], …).
///
/// Calls `fstatfs(fd)`.
#[doc(alias = "fstatfs")]
pub fn fs_type(fd: BorrowedFd<'_>) -> Result<i64, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: the kernel fills `st` on success.
    let ret = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    Errno::result(ret)?;
    // SAFETY: fstatfs succeeded, so `st` is initialised.
    Ok(unsafe { st.assume_init() }.f_type)
}

/// The CPU mask of thread `tid` as the kernel writes it for `sched_getaffinity`: returns the
/// number of bytes written to `mask` (the kernel's mask size, a multiple of 8).
///
/// Calls `sched_getaffinity(tid, mask.len(), mask)` as a raw system call (libc's wrapper
/// returns 0 instead of the size).
///
/// # Errors
/// `EINVAL` when `mask` is smaller than the kernel's mask or not a multiple of 8; `ESRCH`.
#[doc(alias = "sched_getaffinity")]
pub fn affinity_of(tid: libc::pid_t, mask: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `mask.len()` bytes into `mask`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_getaffinity,
            tid,
            mask.len(),
            mask.as_mut_ptr(),
        )
    };
    Errno::result(ret).map(|n| n as usize)
}

/// `struct sysinfo` (64-bit layout, 112 bytes), as the `sysinfo` system call fills it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
pub struct SysInfo {
    /// Seconds since boot.
    pub uptime: i64,
    /// 1, 5 and 15 minute load averages (fixed point, 16 fraction bits).
    pub loads: [u64; 3],
    /// Total usable memory, in `mem_unit`s.
    pub totalram: u64,
    /// Free memory, in `mem_unit`s.
    pub freeram: u64,
    /// Shared memory, in `mem_unit`s.
    pub sharedram: u64,
    /// Buffer memory, in `mem_unit`s.
    pub bufferram: u64,
    /// Total swap, in `mem_unit`s.
    pub totalswap: u64,
    /// Free swap, in `mem_unit`s.
    pub freeswap: u64,
    /// Number of processes.
    pub procs: u16,
    /// Padding.
    pub pad: u16,
    /// Padding (alignment of the next field).
    pub pad2: u32,
    /// Total high memory, in `mem_unit`s.
    pub totalhigh: u64,
    /// Free high memory, in `mem_unit`s.
    pub freehigh: u64,
    /// The unit of the memory fields, in bytes.
    pub mem_unit: u32,
    /// Padding (`_f` and alignment).
    pub pad3: u32,
}

impl SysInfo {
    /// The struct's bytes, as the kernel writes them to a caller's buffer.
    pub fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The system's memory and load figures.
///
/// Calls `sysinfo(2)`.
pub fn sysinfo() -> Result<SysInfo, Errno> {
    let mut info = SysInfo::new_zeroed();
    // SAFETY: `SysInfo` has the layout and size of `struct sysinfo` (checked in the tests);
    // the kernel fills it.
    let ret = unsafe { libc::sysinfo(std::ptr::from_mut(&mut info).cast()) };
    Errno::result(ret)?;
    Ok(info)
}

/// Sets the calling thread's file mode creation mask (per thread after `unshare(CLONE_FS)`);
/// returns the previous one.
///
/// Calls `umask(mask)`.
#[doc(alias = "umask")]
pub fn set_umask(mask: u32) -> u32 {
    // SAFETY: umask takes an integer and cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn sysinfo_layout() {
        assert_eq!(size_of::<SysInfo>(), size_of::<libc::sysinfo>());
        assert_eq!(
            std::mem::offset_of!(SysInfo, procs),
            std::mem::offset_of!(libc::sysinfo, procs)
        );
        assert_eq!(
            std::mem::offset_of!(SysInfo, totalhigh),
            std::mem::offset_of!(libc::sysinfo, totalhigh)
        );
        assert_eq!(
            std::mem::offset_of!(SysInfo, mem_unit),
            std::mem::offset_of!(libc::sysinfo, mem_unit)
        );
        let info = sysinfo().unwrap();
        assert!(info.totalram > 0 && info.mem_unit > 0);
    }

    #[test]
    fn sealed_memfd_reads_back_and_refuses_writes() {
        let fd = sealed_memfd(c"test", b"hello").unwrap();
        let s = seals(fd.as_fd()).unwrap();
        let want = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
        assert_eq!(s & want, want);
        assert_eq!(
            fd_flags(fd.as_fd()).unwrap() & libc::FD_CLOEXEC,
            libc::FD_CLOEXEC
        );
        let mut f = std::fs::File::from(fd);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        assert_eq!(text, "hello");
        assert!(std::io::Write::write_all(&mut f, b"x").is_err());
    }

    #[test]
    fn openat2_refuses_magic_links_and_lists_a_directory() {
        let root = std::fs::File::open("/").unwrap();
        let how = OpenHow {
            flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: RESOLVE_NO_MAGICLINKS,
        };
        match openat2(root.as_fd(), c"proc/self/cwd", &how) {
            Err(Errno::ENOSYS) => {
                println!("skipped: needs openat2");
                return;
            }
            other => assert_eq!(other.err(), Some(Errno::ELOOP)),
        }
        let proc = openat2(root.as_fd(), c"proc", &how).unwrap();
        assert_eq!(fs_type(proc.as_fd()).unwrap(), PROC_SUPER_MAGIC);
        let mut buf = vec![0u8; 4096];
        let n = getdents64(proc.as_fd(), &mut buf).unwrap();
        assert!(n > 0);
        let again = proc.try_clone().unwrap();
        assert!(same_open_file(proc.as_fd(), again.as_fd()).unwrap());
        let other = openat2(root.as_fd(), c"proc", &how).unwrap();
        assert!(!same_open_file(proc.as_fd(), other.as_fd()).unwrap());
        assert!(lseek(proc.as_fd(), 0, libc::SEEK_CUR).unwrap() > 0);
        let id = file_id(proc.as_fd()).unwrap();
        assert_eq!(id.mode & libc::S_IFMT, libc::S_IFDIR);
    }

    #[test]
    fn affinity_size_is_the_kernels() {
        let mut mask = [0u8; 128];
        let n = affinity_of(0, &mut mask).unwrap();
        assert!(n > 0 && n.is_multiple_of(8) && n <= 128);
        assert!(mask.iter().any(|&b| b != 0));
    }
}

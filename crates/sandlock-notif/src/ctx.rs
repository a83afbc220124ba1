//! What a handler sees of one notification: [`NotifCtx`].

use std::os::fd::OwnedFd;
use std::sync::Arc;

use sandlock_sys::Errno;
use sandlock_sys::pidfd::PidFd;
use sandlock_sys::seccomp::NotifFd;
use sandlock_sys::structs::SeccompNotif;
use zerocopy::{FromBytes, IntoBytes};

use crate::answer::Responder;
use crate::mem::{MemError, RemoteMem};
use crate::reactor::ReactorConfig;
use crate::{HandlerError, SandboxId};

/// One pending notification, handed to a handler.
///
/// It gives the call (number, arguments, caller) and access to the caller's memory. Memory of
/// a sandboxed task is *untrusted and racy*: another thread of the sandbox can change it at any
/// time, and the task can die so that its pid is reused. Hence two rules, enforced by the
/// reactor rather than left to handlers:
///
/// - after any read, the reactor checks `SECCOMP_IOCTL_NOTIF_ID_VALID` before it answers, and
///   drops the answer if the notification is gone (a handler may also call
///   [`check_valid`](Self::check_valid) itself before acting on what it read, for example before
///   opening a file);
/// - a [`Verdict::Continue`](crate::Verdict::Continue) after any memory access is refused
///   (answered `EPERM`): the kernel would run the call on memory the handler cannot vouch for.
pub struct NotifCtx<'a> {
    notif: SeccompNotif,
    sandbox: SandboxId,
    listener: &'a Arc<NotifFd>,
    mem: RemoteMem,
    touched_memory: bool,
    unchecked_reads: bool,
    addfd_send: bool,
    deferred: bool,
}

impl std::fmt::Debug for NotifCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifCtx")
            .field("sandbox", &self.sandbox)
            .field("notif", &self.notif)
            .field("touched_memory", &self.touched_memory)
            .finish_non_exhaustive()
    }
}

impl<'a> NotifCtx<'a> {
    pub(crate) fn new(
        notif: SeccompNotif,
        sandbox: SandboxId,
        listener: &'a Arc<NotifFd>,
        config: &ReactorConfig,
    ) -> NotifCtx<'a> {
        NotifCtx {
            notif,
            sandbox,
            listener,
            mem: RemoteMem::new(notif.pid, config.mem_access),
            touched_memory: false,
            unchecked_reads: false,
            addfd_send: config.addfd_send,
            deferred: false,
        }
    }

    /// The raw notification as the kernel delivered it.
    pub fn notif(&self) -> &SeccompNotif {
        &self.notif
    }

    /// The sandbox whose listener delivered it.
    pub fn sandbox(&self) -> SandboxId {
        self.sandbox
    }

    /// The notification's cookie.
    pub fn id(&self) -> u64 {
        self.notif.id
    }

    /// Thread id of the calling task, in the supervisor's pid namespace.
    pub fn pid(&self) -> u32 {
        self.notif.pid
    }

    /// The system call number (`seccomp_data.nr`).
    pub fn nr(&self) -> i32 {
        self.notif.data.nr
    }

    /// The `AUDIT_ARCH_*` value of the call. The reactor only dispatches native-arch calls.
    pub fn arch(&self) -> u32 {
        self.notif.data.arch
    }

    /// The six raw arguments.
    pub fn args(&self) -> [u64; 6] {
        self.notif.data.args
    }

    /// The caller's instruction pointer at the call.
    pub fn instruction_pointer(&self) -> u64 {
        self.notif.data.instruction_pointer
    }

    /// Whether this handler has read or written the caller's memory so far.
    pub fn memory_touched(&self) -> bool {
        self.touched_memory
    }

    /// Reads exactly `buf.len()` bytes at `addr` in the caller.
    ///
    /// Uses `process_vm_readv` (falling back to `/proc/PID/mem`, see [`MemAccess`](crate::MemAccess)). A range
    /// that is not entirely mapped is an error. What was read may be stale by the time it is
    /// used; see the type's documentation.
    pub fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.touched_memory = true;
        self.unchecked_reads = true;
        self.mem.read(addr, buf)
    }

    /// Reads a value of a plain-data type (any bytes valid, e.g. a kernel struct from
    /// `sandlock_sys::structs`) at `addr` in the caller.
    pub fn read_value<T: FromBytes + IntoBytes>(&mut self, addr: u64) -> Result<T, MemError> {
        let mut value = T::new_zeroed();
        self.read_mem(addr, value.as_mut_bytes())?;
        Ok(value)
    }

    /// Reads a NUL-terminated string at `addr` of at most `max_len` bytes, NUL excluded.
    ///
    /// Reads in chunks that never cross a page boundary, so a string right before an unmapped
    /// page is read correctly.
    ///
    /// # Errors
    /// [`MemError::Unterminated`] (errno `ENAMETOOLONG`) when no NUL comes within `max_len`
    /// bytes; [`MemError::Read`] when memory up to the NUL is not readable.
    pub fn read_cstr(&mut self, addr: u64, max_len: usize) -> Result<Vec<u8>, MemError> {
        self.touched_memory = true;
        self.unchecked_reads = true;
        self.mem.read_cstr(addr, max_len)
    }

    /// Writes `data` at `addr` in the caller (for calls that return data through a pointer).
    ///
    /// The notification's validity is checked first, so the bytes cannot land in a process that
    /// reused the pid (a task dying between that check and the write leaves a window of a few
    /// instructions, inherent to `process_vm_writev`; with `/proc/PID/mem` there is none, as
    /// the file is checked after it is opened).
    pub fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.touched_memory = true;
        let listener = self.listener;
        let id = self.notif.id;
        self.mem.write(addr, data, &mut || check(listener, id))
    }

    /// Checks that the notification is still pending (`SECCOMP_IOCTL_NOTIF_ID_VALID`): the
    /// caller is alive and still in the call, so what was read came from it.
    ///
    /// # Errors
    /// [`MemError::Gone`] otherwise. Returning that error from the handler (through `?`) makes
    /// the reactor drop the notification silently, counted as died-before-answer.
    pub fn check_valid(&mut self) -> Result<(), MemError> {
        check(self.listener, self.notif.id)?;
        self.unchecked_reads = false;
        Ok(())
    }

    /// Takes the right to answer this notification later, from any thread; the handler then
    /// returns [`Verdict::Deferred`](crate::Verdict::Deferred). See [`Responder`].
    ///
    /// Call it once: every responder of one notification answers the same cookie, and only the
    /// first answer reaches the caller.
    pub fn responder(&mut self) -> Responder {
        self.deferred = true;
        Responder::new(Arc::clone(self.listener), self.notif.id, self.addfd_send)
    }

    /// Whether [`responder`](Self::responder) was called.
    pub(crate) fn deferred(&self) -> bool {
        self.deferred
    }

    /// A pidfd of the calling task, checked to be the caller (not a process that reused its
    /// pid): the task's own with `PIDFD_THREAD` (6.9), else its thread group leader's, whose fd
    /// table the caller shares unless it was cloned without `CLONE_FILES`.
    ///
    /// # Errors
    /// [`MemError::Gone`] when the caller left its call; the error of `pidfd_open`.
    pub fn caller_pidfd(&mut self) -> Result<PidFd, HandlerError> {
        /// `PIDFD_THREAD` (6.9): a pidfd for a thread, not only a thread group leader.
        const PIDFD_THREAD: u32 = libc::O_EXCL as u32;
        let tid = libc::pid_t::try_from(self.notif.pid).map_err(|_| Errno::ESRCH)?;
        let pidfd = match PidFd::open(tid, PIDFD_THREAD) {
            Ok(fd) => fd,
            Err(Errno::EINVAL) => PidFd::open(thread_group_of(tid)?, 0)?,
            Err(e) => return Err(e.into()),
        };
        // The pid may have been reused between the notification and pidfd_open: if the caller
        // is still in its call, the pid still names it.
        check(self.listener, self.notif.id)?;
        Ok(pidfd)
    }

    /// Duplicates the caller's fd `fd` into the supervisor (`pidfd_getfd`, 5.6), to act on
    /// it on the caller's behalf. Sockets, pipes and files alike: the duplicate shares the
    /// open file description, so what the supervisor does with it is what the caller would.
    ///
    /// # Errors
    /// `EBADF` for a negative or closed fd; [`MemError::Gone`]; the errors of
    /// [`caller_pidfd`](Self::caller_pidfd) and `pidfd_getfd` (`ENOSYS` before 5.6).
    pub fn caller_fd(&mut self, fd: u64) -> Result<OwnedFd, HandlerError> {
        // The kernel reads fd arguments as `int`: only the low 32 bits count.
        let fd = fd as u32 as i32;
        if fd < 0 {
            return Err(Errno::EBADF.into());
        }
        let pidfd = self.caller_pidfd()?;
        Ok(pidfd.get_fd(fd)?)
    }

    /// Whether memory was read since the last successful [`check_valid`](Self::check_valid).
    pub(crate) fn has_unchecked_reads(&self) -> bool {
        self.unchecked_reads
    }
}

fn check(listener: &NotifFd, id: u64) -> Result<(), MemError> {
    if listener.id_valid(id) {
        Ok(())
    } else {
        Err(MemError::Gone { id })
    }
}

/// The thread group (process) id of task `tid`, from `/proc/TID/status`.
fn thread_group_of(tid: libc::pid_t) -> Result<libc::pid_t, Errno> {
    let status = std::fs::read(format!("/proc/{tid}/status")).map_err(|_| Errno::ESRCH)?;
    status
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"Tgid:"))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or(Errno::ESRCH)
}

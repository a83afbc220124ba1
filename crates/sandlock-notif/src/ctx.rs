//! What a handler sees of one notification: [`NotifCtx`].

use sandlock_sys::seccomp::NotifFd;
use sandlock_sys::structs::SeccompNotif;
use zerocopy::{FromBytes, IntoBytes};

use crate::SandboxId;
use crate::mem::{MemAccess, MemError, RemoteMem};

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
    listener: &'a NotifFd,
    mem: RemoteMem,
    touched_memory: bool,
    unchecked_reads: bool,
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
        listener: &'a NotifFd,
        access: MemAccess,
    ) -> NotifCtx<'a> {
        NotifCtx {
            notif,
            sandbox,
            listener,
            mem: RemoteMem::new(notif.pid, access),
            touched_memory: false,
            unchecked_reads: false,
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
    /// Uses `process_vm_readv` (falling back to `/proc/PID/mem`, see [`MemAccess`]). A range
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

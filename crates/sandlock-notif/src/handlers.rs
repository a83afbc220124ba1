//! The dispatch table from system call number to handler: [`HandlerTable`].

use std::fmt;

use crate::ctx::NotifCtx;
use crate::verdict::{HandlerError, Verdict};

/// What a handler returns.
pub type HandlerResult = Result<Verdict, HandlerError>;

/// A notification handler. It is a closure so that it can capture per-sandbox state (for
/// example an `Rc<RefCell<_>>` shared by several handlers); it runs on the reactor's thread.
pub type Handler = Box<dyn FnMut(&mut NotifCtx<'_>) -> HandlerResult>;

/// Handlers of one sandbox, keyed by native system call number.
///
/// A notification for a number without a handler (and no fallback) is answered `EPERM`: the
/// filter and the table disagree, and failing closed is the only safe reading of that. It is
/// counted in [`SandboxStats::unhandled`](crate::SandboxStats::unhandled).
#[derive(Default)]
pub struct HandlerTable {
    /// Sorted by number; sandboxes have few handlers, so a binary search beats hashing.
    entries: Vec<(u32, Handler)>,
    fallback: Option<Handler>,
}

impl fmt::Debug for HandlerTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerTable")
            .field(
                "syscalls",
                &self.entries.iter().map(|e| e.0).collect::<Vec<_>>(),
            )
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl HandlerTable {
    /// An empty table: every notification is answered `EPERM`.
    pub fn new() -> HandlerTable {
        HandlerTable::default()
    }

    /// Adds (or replaces) the handler of system call `nr` and returns the table, for chaining.
    ///
    /// `nr` is a native number, e.g. from `sandlock_sys::Arch::NATIVE.syscall_nr("openat")`.
    #[must_use]
    pub fn on(
        mut self,
        nr: u32,
        handler: impl FnMut(&mut NotifCtx<'_>) -> HandlerResult + 'static,
    ) -> HandlerTable {
        self.insert(nr, handler);
        self
    }

    /// Adds the handler of system call `nr`, returning the one it replaces.
    pub fn insert(
        &mut self,
        nr: u32,
        handler: impl FnMut(&mut NotifCtx<'_>) -> HandlerResult + 'static,
    ) -> Option<Handler> {
        let boxed: Handler = Box::new(handler);
        match self.entries.binary_search_by_key(&nr, |e| e.0) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, boxed)),
            Err(i) => {
                self.entries.insert(i, (nr, boxed));
                None
            }
        }
    }

    /// Sets a handler for every number that has none.
    pub fn set_fallback(
        &mut self,
        handler: impl FnMut(&mut NotifCtx<'_>) -> HandlerResult + 'static,
    ) {
        self.fallback = Some(Box::new(handler));
    }

    /// Whether system call `nr` has its own handler.
    pub fn contains(&self, nr: u32) -> bool {
        self.entries.binary_search_by_key(&nr, |e| e.0).is_ok()
    }

    /// Number of system calls with their own handler.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no system call has its own handler.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The handler for `seccomp_data.nr`, or the fallback. A negative number has none.
    pub(crate) fn get_mut(&mut self, nr: i32) -> Option<&mut Handler> {
        let found = u32::try_from(nr)
            .ok()
            .and_then(|nr| self.entries.binary_search_by_key(&nr, |e| e.0).ok());
        match found {
            Some(i) => Some(&mut self.entries[i].1),
            None => self.fallback.as_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sandlock_sys::Errno;

    /// Whether a handler is found for `nr` (calling one needs a listener, so it is not called).
    fn found(table: &mut HandlerTable, nr: i32) -> bool {
        table.get_mut(nr).is_some()
    }

    #[test]
    fn lookup_sorted_replace_and_fallback() {
        let mut t = HandlerTable::new()
            .on(257, |_| Ok(Verdict::Return(1)))
            .on(39, |_| Ok(Verdict::Return(2)))
            .on(110, |_| Ok(Verdict::Errno(Errno::EPERM)));
        assert_eq!(t.len(), 3);
        assert!(t.contains(39) && t.contains(110) && t.contains(257) && !t.contains(0));
        assert_eq!(
            t.entries.iter().map(|e| e.0).collect::<Vec<_>>(),
            [39, 110, 257]
        );
        assert!(t.insert(110, |_| Ok(Verdict::Continue)).is_some());
        assert_eq!(t.len(), 3);
        assert!(found(&mut t, 110));
        assert!(!found(&mut t, 1));
        assert!(!found(&mut t, -1));
        t.set_fallback(|_| Ok(Verdict::Errno(Errno::ENOSYS)));
        assert!(found(&mut t, 1));
        assert!(found(&mut t, -1));
        assert_eq!(
            format!("{t:?}"),
            "HandlerTable { syscalls: [39, 110, 257], fallback: true }"
        );
    }
}

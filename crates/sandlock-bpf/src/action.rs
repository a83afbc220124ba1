//! Filter return actions and their `SECCOMP_RET_*` encoding.

use std::fmt;

use sandlock_sys::flags::ret;

use crate::Error;

/// The largest errno the kernel passes through unchanged (`MAX_ERRNO`); larger values are
/// clamped by the kernel, so the compiler rejects them instead of silently changing them.
pub const MAX_ERRNO: u16 = 4095;

/// What the kernel does with a system call, as chosen by a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Run the call.
    Allow,
    /// Fail the call with this errno (1..=4095; 0 makes the call return 0 without running).
    Errno(u16),
    /// Hand the call to the user-notification listener (`SECCOMP_RET_USER_NOTIF`, 5.0).
    UserNotif,
    /// Kill the whole process, as if by an uncatchable `SIGSYS` (4.14).
    KillProcess,
    /// Kill the calling thread only.
    KillThread,
    /// Send a catchable `SIGSYS` to the calling thread.
    Trap,
    /// Run the call and log it (4.14).
    Log,
    /// Notify a ptrace tracer with this message; without a tracer the call fails with `ENOSYS`.
    Trace(u16),
}

impl Action {
    /// Checks the action's data: an errno must be at most [`MAX_ERRNO`]. (`Trace` data is a
    /// `u16`, so any value fits the 16-bit data field.)
    ///
    /// # Errors
    /// [`Error::ErrnoOutOfRange`].
    pub fn validate(self) -> Result<Action, Error> {
        match self {
            Action::Errno(e) if e > MAX_ERRNO => Err(Error::ErrnoOutOfRange(e)),
            a => Ok(a),
        }
    }

    /// The `SECCOMP_RET_*` value a filter returns for this action.
    pub const fn to_ret(self) -> u32 {
        match self {
            Action::Allow => ret::ALLOW,
            Action::Errno(e) => ret::ERRNO | e as u32,
            Action::UserNotif => ret::USER_NOTIF,
            Action::KillProcess => ret::KILL_PROCESS,
            Action::KillThread => ret::KILL_THREAD,
            Action::Trap => ret::TRAP,
            Action::Log => ret::LOG,
            Action::Trace(m) => ret::TRACE | m as u32,
        }
    }

    /// The action a `SECCOMP_RET_*` value stands for, if it is one this type can express.
    pub const fn from_ret(value: u32) -> Option<Action> {
        let data = (value & ret::DATA) as u16;
        Some(match value & ret::ACTION_FULL {
            ret::ALLOW if data == 0 => Action::Allow,
            ret::ERRNO => Action::Errno(data),
            ret::USER_NOTIF if data == 0 => Action::UserNotif,
            ret::KILL_PROCESS if data == 0 => Action::KillProcess,
            ret::KILL_THREAD if data == 0 => Action::KillThread,
            ret::TRAP if data == 0 => Action::Trap,
            ret::LOG if data == 0 => Action::Log,
            ret::TRACE => Action::Trace(data),
            _ => return None,
        })
    }
}

/// Formats like the disassembler: `ALLOW`, `ERRNO(1)`, `TRACE(7)`, `USER_NOTIF`.
impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Allow => f.write_str("ALLOW"),
            Action::Errno(e) => write!(f, "ERRNO({e})"),
            Action::UserNotif => f.write_str("USER_NOTIF"),
            Action::KillProcess => f.write_str("KILL_PROCESS"),
            Action::KillThread => f.write_str("KILL_THREAD"),
            Action::Trap => f.write_str("TRAP"),
            Action::Log => f.write_str("LOG"),
            Action::Trace(m) => write!(f, "TRACE({m})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for a in [
            Action::Allow,
            Action::Errno(0),
            Action::Errno(1),
            Action::Errno(MAX_ERRNO),
            Action::UserNotif,
            Action::KillProcess,
            Action::KillThread,
            Action::Trap,
            Action::Log,
            Action::Trace(0),
            Action::Trace(0xffff),
        ] {
            assert_eq!(Action::from_ret(a.to_ret()), Some(a), "{a}");
        }
        assert_eq!(Action::from_ret(0x1234_0000), None);
        assert_eq!(Action::from_ret(ret::ALLOW | 1), None);
    }

    #[test]
    fn values() {
        assert_eq!(Action::Errno(1).to_ret(), 0x0005_0001);
        assert_eq!(Action::UserNotif.to_ret(), 0x7fc0_0000);
        assert_eq!(Action::KillProcess.to_ret(), 0x8000_0000);
        assert_eq!(Action::Errno(13).to_string(), "ERRNO(13)");
    }

    #[test]
    fn errno_range() {
        assert_eq!(
            Action::Errno(MAX_ERRNO).validate(),
            Ok(Action::Errno(MAX_ERRNO))
        );
        assert_eq!(
            Action::Errno(4096).validate(),
            Err(Error::ErrnoOutOfRange(4096))
        );
    }
}

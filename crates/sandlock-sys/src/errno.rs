//! A copyable errno value.

use std::fmt;

/// An error number as returned by a failed system call.
///
/// It is `Copy` and carries no allocation, so it can be produced between fork and exec.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

macro_rules! errno_consts {
    ($($name:ident),* $(,)?) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Errno = Errno(libc::$name);
            )*
        }
    };
}

errno_consts!(
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    ERANGE,
    ENAMETOOLONG,
    ENOSYS,
    ELOOP,
    ENOTSUP,
    EOPNOTSUPP,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETUNREACH,
    ECONNREFUSED,
    EHOSTUNREACH,
    EINPROGRESS,
    EALREADY,
    EISCONN,
    ENOTCONN,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTONOSUPPORT,
    ETIMEDOUT,
    ECANCELED,
);

impl Errno {
    /// Wraps a raw positive errno value.
    pub const fn from_raw(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The raw positive errno value.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The calling thread's current `errno`.
    pub fn last() -> Errno {
        // SAFETY: `__errno_location` returns a valid pointer to the calling thread's errno.
        Errno(unsafe { *libc::__errno_location() })
    }

    /// Turns a `-1`-on-error return value into a `Result`, reading `errno` on failure.
    pub(crate) fn result<T: From<i8> + PartialEq>(ret: T) -> Result<T, Errno> {
        if ret == T::from(-1) {
            Err(Errno::last())
        } else {
            Ok(ret)
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({}: {})", self.0, self)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `io::Error` formats with `strerror_r`, which is thread-safe.
        let text = std::io::Error::from_raw_os_error(self.0).to_string();
        // Drop the " (os error N)" suffix that `io::Error` appends.
        let text = text.split(" (os error").next().unwrap_or(&text);
        f.write_str(text)
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_no_os_error_suffix() {
        assert_eq!(Errno::ENOENT.to_string(), "No such file or directory");
        assert_eq!(
            format!("{:?}", Errno::EPERM),
            "Errno(1: Operation not permitted)"
        );
    }

    #[test]
    fn result_maps_minus_one() {
        assert_eq!(Errno::result(5i32), Ok(5));
        assert!(Errno::result(-1i64).is_err());
    }
}

//! The seccomp user-notification reactor (to be completed).
#![forbid(unsafe_code)]

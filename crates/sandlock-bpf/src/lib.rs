//! A seccomp cBPF filter compiler (to be completed).
#![forbid(unsafe_code)]

//! `cargo xtask`: the workspace's task runner (to be completed).
#![forbid(unsafe_code)]

fn main() {}

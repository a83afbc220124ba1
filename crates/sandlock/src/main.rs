//! The `sandlock` command line (to be completed).
#![forbid(unsafe_code)]

fn main() {}

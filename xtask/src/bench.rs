//! `cargo xtask bench`: benchmarks, interleaved, with medians (filled by later issues).

use crate::TaskResult;

/// Runs the benchmarks named in `args` (all when empty).
pub(crate) fn run(args: &[String]) -> TaskResult {
    let _ = args;
    Err("no benchmarks yet".to_owned())
}

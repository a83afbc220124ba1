//! Options of `sandlock run`: Whole-sandbox limits: memory, processes, CPU.

use clap::Args;
use sandlock::{PolicyBuilder, PolicyError};

/// Whole-sandbox limits: memory, processes, CPU.
#[derive(Args, Debug, Default)]
pub(crate) struct ResourceArgs {
    /// Cap the memory of the whole sandbox, e.g. 512M or 2G (K, M, G, T: powers of 1024).
    /// Counted: private and copy-on-write memory, and shared memory (MAP_SHARED, memfd,
    /// /dev/shm, SysV), each page once however many processes map it, so processes add up.
    /// Not counted: file pages that can be reread (programs, libraries, page cache) and kernel
    /// memory. An mmap, mremap, brk or shmget that would go over fails with ENOMEM; memory
    /// obtained otherwise is measured every 50 ms, and the sandbox is killed when over.
    #[arg(short = 'm', long = "max-memory", value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Allow at most N processes at once in the sandbox, the command included: fork, vfork
    /// and clone over it fail with EAGAIN. A process counts until it is reaped; threads do not
    /// count.
    #[arg(short = 'P', long = "max-processes", value_name = "N")]
    max_processes: Option<u32>,
    /// Limit the whole process tree (setsid descendants too) to PCT percent of one CPU (up to
    /// 100 per CPU): when it has used its share, it is stopped (SIGSTOP) until the share
    /// refills.
    #[arg(short = 'c', long = "cpu", value_name = "PCT")]
    cpu: Option<u32>,
}

impl ResourceArgs {
    /// Adds these options to the policy.
    pub(crate) fn apply(&self, mut b: PolicyBuilder) -> Result<PolicyBuilder, PolicyError> {
        if let Some(bytes) = self.max_memory {
            b = b.max_memory(bytes);
        }
        if let Some(n) = self.max_processes {
            b = b.max_processes(n);
        }
        if let Some(pct) = self.cpu {
            b = b.cpu_percent(pct);
        }
        Ok(b)
    }
}

/// Parses a size: a number of bytes, or a number followed by `K`, `M`, `G` or `T` (powers of
/// 1024; `KiB`, `MB`, `m` are accepted too). Fractions are allowed with a unit (`1.5G`).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let unit = unit.trim().to_ascii_lowercase();
    let shift = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("unknown unit in `{s}`: use K, M, G or T")),
    };
    if number.is_empty() {
        return Err(format!("`{s}` is not a size, e.g. 512M or 2G"));
    }
    let bytes = if number.contains('.') {
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{s}` is not a size, e.g. 512M or 2G"))?;
        let bytes = value * (1u64 << shift) as f64;
        if !(bytes.is_finite() && bytes < u64::MAX as f64) {
            return Err(format!("`{s}` is too large"));
        }
        bytes as u64
    } else {
        let value: u64 = number
            .parse()
            .map_err(|_| format!("`{s}` is not a size, e.g. 512M or 2G"))?;
        value
            .checked_mul(1 << shift)
            .ok_or_else(|| format!("`{s}` is too large"))?
    };
    if bytes == 0 {
        return Err("the size must be more than 0".to_owned());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (text, bytes) in [
            ("512M", 512 << 20),
            ("2G", 2 << 30),
            ("64m", 64 << 20),
            ("1.5G", 3 << 29),
            ("100MiB", 100 << 20),
            ("100MB", 100 << 20),
            ("4096", 4096),
            ("10K", 10 << 10),
            ("1T", 1 << 40),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        for bad in [
            "",
            "M",
            "12X",
            "-1M",
            "0",
            "1.2.3G",
            "99999999999999999999T",
            "1e3M",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}

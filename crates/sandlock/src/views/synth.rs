//! Synthetic contents: what /proc/cpuinfo, /proc/meminfo and the CPU lists of /sys say under
//! `--num-cpus` and `--max-memory`, and the matching `sched_getaffinity` and `sysinfo`
//! answers. Pure functions of the host's real text, so they are tested on fixed input.

use sandlock_sys::views::SysInfo;

/// /proc/cpuinfo with `n` processors: the host's first `n` blocks (the last one repeated
/// when the host has fewer), numbered `0..n`, with `siblings` and `cpu cores` saying `n`.
pub(crate) fn cpuinfo(real: &str, n: u32) -> String {
    let blocks: Vec<&str> = real
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    let mut out = String::new();
    for i in 0..n {
        let Some(block) = blocks
            .get(i as usize)
            .or(blocks.last())
            .map(|b| b.trim_matches('\n'))
        else {
            out.push_str(&format!("processor\t: {i}\n\n"));
            continue;
        };
        for line in block.lines() {
            let key = line.split(':').next().unwrap_or_default().trim();
            match key {
                "processor" => out.push_str(&format!("processor\t: {i}")),
                "siblings" => out.push_str(&format!("siblings\t: {n}")),
                "cpu cores" => out.push_str(&format!("cpu cores\t: {n}")),
                "core id" => out.push_str(&format!("core id\t\t: {i}")),
                "apicid" | "initial apicid" => out.push_str(&format!("{key}\t: {i}")),
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// A CPU list of /sys (`online`, `possible`, `present`) for `n` CPUs: `0-3`.
pub(crate) fn cpu_list(n: u32) -> String {
    if n <= 1 {
        "0\n".to_owned()
    } else {
        format!("0-{}\n", n - 1)
    }
}

/// /proc/meminfo for a sandbox capped at `cap` bytes that uses `used` bytes: `MemTotal` is the
/// cap, `MemAvailable` and `MemFree` what is left of it, the host's caches (which the sandbox
/// cannot count on) zero, so that `free` adds up (used = total - free), and no other memory
/// figure above the cap.
pub(crate) fn meminfo(real: &str, cap: u64, used: u64) -> String {
    let cap_kb = cap / 1024;
    let avail_kb = cap.saturating_sub(used) / 1024;
    let mut out = String::with_capacity(real.len());
    for line in real.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let value: Option<u64> = rest
            .trim()
            .strip_suffix("kB")
            .and_then(|v| v.trim().parse().ok());
        let keep_as_is = ["Swap", "Vmalloc", "Commit", "DirectMap", "Huge", "Hugetlb"]
            .iter()
            .any(|p| key.starts_with(p));
        let new = match (key, value) {
            ("MemTotal", _) => Some(cap_kb),
            ("MemAvailable", _) => Some(avail_kb),
            ("MemFree", _) => Some(avail_kb),
            ("Buffers" | "Cached" | "SwapCached" | "SReclaimable" | "Shmem", Some(_)) => Some(0),
            (_, Some(v)) if !keep_as_is => Some(v.min(cap_kb)),
            _ => None,
        };
        match new {
            Some(v) => out.push_str(&format!("{:<16}{v:>8} kB\n", format!("{key}:"))),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `sysinfo` for a sandbox capped at `cap` bytes that uses `used` bytes.
pub(crate) fn sysinfo(mut info: SysInfo, cap: u64, used: u64) -> SysInfo {
    let unit = u64::from(info.mem_unit.max(1));
    let total = cap / unit;
    let avail = cap.saturating_sub(used) / unit;
    info.totalram = total;
    info.freeram = info.freeram.min(avail);
    info.sharedram = info.sharedram.min(total);
    info.bufferram = info.bufferram.min(total);
    info.totalhigh = 0;
    info.freehigh = 0;
    info
}

/// A `sched_getaffinity` mask (`bytes` long, as the kernel wrote it) reduced to `n` CPUs: the
/// first `n` allowed ones, completed with the lowest others when fewer are allowed.
pub(crate) fn affinity(mask: &mut [u8], n: u32) {
    let bits = mask.len() * 8;
    let mut wanted = n as usize;
    let mut out = vec![0u8; mask.len()];
    for cpu in 0..bits {
        if wanted > 0 && mask[cpu / 8] & (1 << (cpu % 8)) != 0 {
            out[cpu / 8] |= 1 << (cpu % 8);
            wanted -= 1;
        }
    }
    for cpu in 0..bits {
        if wanted > 0 && out[cpu / 8] & (1 << (cpu % 8)) == 0 {
            out[cpu / 8] |= 1 << (cpu % 8);
            wanted -= 1;
        }
    }
    mask.copy_from_slice(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO: &str = "processor\t: 0\nvendor_id\t: X\nsiblings\t: 2\ncpu cores\t: 2\n\n\
                           processor\t: 1\nvendor_id\t: X\nsiblings\t: 2\ncpu cores\t: 2\n\n";

    #[test]
    fn cpuinfo_lists_n_processors() {
        let count = |s: &str| s.lines().filter(|l| l.starts_with("processor")).count();
        assert_eq!(count(&cpuinfo(CPUINFO, 1)), 1);
        let four = cpuinfo(CPUINFO, 4);
        assert_eq!(count(&four), 4);
        assert!(four.contains("processor\t: 3\n"));
        assert!(four.contains("siblings\t: 4\n"));
        assert_eq!(count(&cpuinfo("", 2)), 2);
        assert_eq!(cpu_list(1), "0\n");
        assert_eq!(cpu_list(3), "0-2\n");
    }

    #[test]
    fn meminfo_says_the_cap() {
        let real = "MemTotal:       16000000 kB\nMemFree:         9000000 kB\n\
                    MemAvailable:   12000000 kB\nCached:          3000000 kB\n\
                    SwapTotal:       2000000 kB\nHugePages_Total:       0\n";
        let m = meminfo(real, 64 << 20, 16 << 20);
        assert!(m.contains("MemTotal:          65536 kB\n"), "{m}");
        assert!(m.contains("MemFree:           49152 kB\n"), "{m}");
        assert!(m.contains("MemAvailable:      49152 kB\n"), "{m}");
        assert!(m.contains("Cached:                0 kB\n"), "{m}");
        assert!(m.contains("SwapTotal:       2000000 kB\n"), "{m}");
        assert!(m.contains("HugePages_Total:       0\n"), "{m}");
        assert!(meminfo(real, 1 << 20, 2 << 20).contains("MemAvailable:          0 kB"));
    }

    #[test]
    fn affinity_keeps_n_cpus() {
        let mut m = [0b1010_1010u8, 0, 0, 0, 0, 0, 0, 0];
        affinity(&mut m, 2);
        assert_eq!(m[0], 0b0000_1010);
        let mut m = [0b0000_0100u8, 0, 0, 0, 0, 0, 0, 0];
        affinity(&mut m, 3);
        assert_eq!(m[0], 0b0000_0111);
        let mut m = [0xffu8; 8];
        affinity(&mut m, 1);
        assert_eq!(m, [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn sysinfo_says_the_cap() {
        let info = sandlock_sys::views::sysinfo().unwrap();
        let s = sysinfo(info, 64 << 20, 1 << 20);
        let unit = u64::from(s.mem_unit);
        assert_eq!(s.totalram * unit, 64 << 20);
        assert!(s.freeram * unit <= 63 << 20);
    }
}

//! Resident memory of a supervisor process holding many sandboxes at once.
//!
//! Run with `cargo run --release -p sandlock --example supervisor_rss -- N…` (`cargo xtask bench
//! rss` does). For each N, one process starts N sandboxes of `sleep`, reads its own `VmRSS`
//! while they all run, then waits for them; prints `rss N KIB` per line.
#![forbid(unsafe_code)]

use sandlock::{Command, Policy, Sandbox, Stdio};

type Error = Box<dyn std::error::Error>;

fn vm_rss_kib() -> Result<u64, Error> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

fn main() -> Result<(), Error> {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let mut policy = Policy::builder();
    for p in ["/usr", "/lib", "/lib64", "/bin"] {
        if std::path::Path::new(p).exists() {
            policy = policy.fs_read(p);
        }
    }
    let sandbox = Sandbox::new(policy.build()?)?;
    // Long enough to outlast starting a thousand sandboxes on a slow machine.
    let cmd = Command::new("sleep").args(["20"]).stdout(Stdio::Null);
    for n in counts {
        let running: Vec<_> = (0..n)
            .map(|_| sandbox.spawn(&cmd))
            .collect::<Result<_, _>>()?;
        println!("rss {n} {}", vm_rss_kib()?);
        for r in running {
            r.kill();
            r.wait()?;
        }
    }
    Ok(())
}

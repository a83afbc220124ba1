//! Round-trip cost of one seccomp notification served by the [`Reactor`].
//!
//! Run with `cargo run --release -p sandlock-notif --example notif_roundtrip`. A child (this
//! binary re-executed with `child N`) makes N intercepted `getppid` calls; the parent serves
//! them with a trivial `Return` handler. Both are pinned to the CPU the parent starts on:
//! handing a notification to another CPU costs ten times more on small VMs. A plain `getppid`
//! loop without a filter is measured for reference. Prints the median over the repetitions.
#![forbid(unsafe_code)]

#[path = "../tests/util/filter.rs"]
mod filter;

use std::io::Read;
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use sandlock_notif::{HandlerTable, Reactor, ReactorConfig, ReactorEvent, Verdict};
use sandlock_sys::features::KernelFeatures;
use sandlock_sys::flags::FilterFlags;
use sandlock_sys::seccomp::{self, NotifBuf, NotifFd};
use sandlock_sys::structs::SeccompNotifResp;
use sandlock_sys::{Arch, Errno, process, sched, scm};

const CALLS: u32 = 200_000;
const REPS: usize = 5;

type Error = Box<dyn std::error::Error>;

fn getppid_nr() -> Result<u32, Error> {
    Ok(Arch::NATIVE.syscall_nr("getppid")?)
}

/// The child: filter, hand over the listener, time `calls` notified getppid calls, print ns.
fn child(calls: u32) -> Result<(), Error> {
    process::set_no_new_privs()?;
    let listener =
        seccomp::install_filter(&filter::notify(&[getppid_nr()?]), FilterFlags::NEW_LISTENER)?
            .ok_or("no listener")?;
    scm::send_with_fd(std::io::stdin().as_fd(), b"L", Some(&listener))?;
    drop(listener);
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(std::os::unix::process::parent_id());
    }
    println!("{}", start.elapsed().as_nanos());
    Ok(())
}

/// Spawns the child and receives its listener.
fn spawn_child(calls: u32) -> Result<(Child, NotifFd), Error> {
    let (parent_end, child_end) = scm::seqpacket_pair()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["child", &calls.to_string()])
        .stdin(Stdio::from(child_end))
        .stdout(Stdio::piped())
        .spawn()?;
    let mut buf = [0u8; 8];
    let (_, fd) = scm::recv_with_fd(&parent_end, &mut buf)?;
    Ok((child, NotifFd::new(fd.ok_or("the child sent no listener")?)))
}

/// Reads the child's timing and checks how it ended; returns ns per call.
fn finish_child(mut child: Child, calls: u32, answered: u64) -> Result<f64, Error> {
    let mut out = String::new();
    child
        .stdout
        .take()
        .ok_or("no stdout")?
        .read_to_string(&mut out)?;
    let status = child.wait()?;
    if !status.success() || answered != u64::from(calls) {
        return Err(format!("child {status}, {answered} answered").into());
    }
    Ok(out.trim().parse::<f64>()? / f64::from(calls))
}

/// Reference: the minimal supervisor, a blocking RECV/SEND loop on a dedicated thread, with
/// no epoll, no readiness check and no dispatch.
fn blocking_rep(calls: u32) -> Result<f64, Error> {
    let (child, listener) = spawn_child(calls)?;
    let mut buf = NotifBuf::new(&seccomp::notif_sizes()?);
    let mut answered = 0u64;
    loop {
        match listener.recv(&mut buf) {
            Ok(n) => {
                listener.send(&SeccompNotifResp {
                    id: n.id,
                    val: 1,
                    error: 0,
                    flags: 0,
                })?;
                answered += 1;
            }
            // With the child gone, RECV fails with ENOENT at once.
            Err(Errno::ENOENT) => break,
            Err(e) => return Err(e.into()),
        }
    }
    finish_child(child, calls, answered)
}

/// One repetition: spawn the child, serve it until its listener closes, return ns per call.
fn notified_rep(reactor: &mut Reactor, calls: u32) -> Result<f64, Error> {
    let (child, listener) = spawn_child(calls)?;
    let handlers = HandlerTable::new().on(getppid_nr()?, |_| Ok(Verdict::Return(1)));
    let id = reactor.add_sandbox(listener, handlers)?;
    'serve: loop {
        for event in reactor.run_once(None)? {
            if let ReactorEvent::ListenerClosed { sandbox } = event
                && sandbox == id
            {
                break 'serve;
            }
        }
    }
    let stats = reactor.remove_sandbox(id).ok_or("sandbox vanished")?.stats;
    finish_child(child, calls, stats.answered)
}

fn bare_rep(calls: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(std::os::unix::process::parent_id());
    }
    start.elapsed().as_nanos() as f64 / f64::from(calls)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        return child(args.get(2).ok_or("child N")?.parse()?);
    }
    let cpu = sched::current_cpu()?;
    sched::set_affinity(&[cpu])?;
    let mut reactor = Reactor::new(ReactorConfig::from_features(KernelFeatures::get()))?;
    // Warm up: page in the binary and the kernel paths.
    notified_rep(&mut reactor, CALLS / 10)?;
    bare_rep(CALLS);
    let mut notified = Vec::new();
    let mut bare = Vec::new();
    let mut blocking = Vec::new();
    for _ in 0..REPS {
        notified.push(notified_rep(&mut reactor, CALLS)?);
        bare.push(bare_rep(CALLS));
        blocking.push(blocking_rep(CALLS)?);
    }
    let spread = |v: &[f64]| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        format!("{lo:.0}..{hi:.0}")
    };
    println!(
        "notification round trip: median {:.0} ns (bare getppid {:.0} ns)",
        median(notified.clone()),
        median(bare.clone()),
    );
    println!(
        "  reactor range {} ns; blocking RECV/SEND loop without epoll: median {:.0} ns; \
         {REPS} reps of {CALLS} calls, all on cpu {cpu}",
        spread(&notified),
        median(blocking),
    );
    Ok(())
}

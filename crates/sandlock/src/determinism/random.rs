//! `--random-seed`: one reproducible random stream per process, keyed by the process's place
//! in the sandbox's process tree.
//!
//! # The tree of keys
//! The seed gives the root key, which belongs to the sandbox's init. A process's key is derived
//! from its parent's key and its *index* among the parent's children: the rank of its pid among
//! every child of that parent the supervisor has recorded. Pids grow in fork order, so for a
//! parent that forks from one thread the index is the fork order, whatever order the children
//! run in. The supervisor records a process (and takes a snapshot of its parent's current
//! children, zombies included, from `/proc/PPID/task/*/children`) the first time it sees it:
//! at its first `getrandom`, open of `/dev/urandom`, or start of a program (`arch_prctl`,
//! `set_tid_address` after an `execve`).
//!
//! Each process draws `getrandom` bytes from its own stream in call order; each open of
//! `/dev/urandom` or `/dev/random` gets a stream of its own (the process's key, the open's
//! number), so bytes read through a device never depend on how far a feeder thread ran ahead.
//!
//! # Limits
//! - Each thread other than a process's main one has a stream keyed by the rank of its tid
//!   among the process's threads, recorded like children (so threads started in a fixed order
//!   repeat); threads of one process share its device opens, numbered in call order.
//! - A sibling that exited and was reaped before the supervisor ever saw it, and before any
//!   later sibling was seen, is not counted: a fork-only child that never execs nor reads
//!   randomness, reaped while its next sibling is starting, can shift that sibling's index.
//!   A process orphaned before it was first seen is indexed among the init's children.
//! - Pid wrap-around between siblings breaks the pid order.
//! - A process whose ancestry cannot be read gets a stream of its own that is not reproducible.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::chacha::{self, Domain, Key};

/// Above this many recorded processes, those that are gone are forgotten.
const PRUNE_ABOVE: usize = 4096;
/// At most this many device feeder threads per sandbox; further opens get a finite file.
const MAX_FEEDERS: usize = 64;
/// Bytes of a device stream served as a plain file when no feeder can be started.
const FALLBACK_DEVICE_BYTES: usize = 1 << 20;

#[derive(Debug)]
struct Proc {
    /// `starttime` from `/proc/PID/stat`: tells a process from a later one with its pid.
    start: u64,
    key: Key,
    /// Bytes of the `getrandom` stream used so far.
    pos: u64,
    /// Device opens so far.
    opens: u64,
    /// Pids of the children recorded so far.
    children: BTreeSet<u32>,
    /// Streams of the threads other than the main one, by tid.
    threads: HashMap<u32, ThreadStream>,
    /// Tids of the threads recorded so far.
    tids: BTreeSet<u32>,
}

#[derive(Debug)]
struct ThreadStream {
    start: u64,
    key: Key,
    pos: u64,
}

/// The per-process streams of one sandbox.
#[derive(Debug)]
pub(crate) struct Tree {
    root: Key,
    init_pid: u32,
    procs: HashMap<u32, Proc>,
    feeders: Arc<AtomicUsize>,
}

impl Tree {
    /// The streams of a sandbox whose init is `init_pid`, from `seed`.
    pub(crate) fn new(seed: u64, init_pid: u32) -> Tree {
        let root = chacha::root(seed);
        let mut procs = HashMap::new();
        let start = stat(init_pid).map_or(0, |s| s.1);
        procs.insert(init_pid, Proc::new(start, root));
        Tree {
            root,
            init_pid,
            procs,
            feeders: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Records process `tgid` if it is new (see the module documentation).
    pub(crate) fn see(&mut self, tgid: u32) {
        if self.find(tgid, 0).is_none() {
            // Its place in the tree is unknown: a stream of its own, not reproducible.
            let key = chacha::derive(&self.root, Domain::Lost, tgid.into());
            let start = stat(tgid).map_or(0, |s| s.1);
            self.procs.insert(tgid, Proc::new(start, key));
        }
    }

    /// Makes sure `tgid` is recorded with a key derived from its parent's; `None` when its
    /// ancestry cannot be read.
    fn find(&mut self, tgid: u32, depth: u32) -> Option<()> {
        if tgid == self.init_pid {
            return Some(());
        }
        let (ppid, start) = stat(tgid)?;
        if self.procs.get(&tgid).is_some_and(|p| p.start == start) {
            return Some(());
        }
        if depth > 256 || ppid == 0 {
            return None;
        }
        self.find(ppid, depth + 1)?;
        if self.procs.len() > PRUNE_ABOVE {
            let init = self.init_pid;
            self.procs.retain(|&pid, p| {
                pid == init || pid == ppid || stat(pid).is_some_and(|s| s.1 == p.start)
            });
        }
        let parent = self.procs.get_mut(&ppid)?;
        parent.children.extend(children_of(ppid));
        parent.children.insert(tgid);
        let index = parent.children.range(..tgid).count() as u64;
        let key = chacha::derive(&parent.key, Domain::Child, index);
        self.procs.insert(tgid, Proc::new(start, key));
        Some(())
    }

    fn proc(&mut self, tgid: u32) -> &mut Proc {
        self.see(tgid);
        let root = self.root;
        // see() records every process it is given; this default is never used.
        self.procs
            .entry(tgid)
            .or_insert_with(|| Proc::new(0, chacha::derive(&root, Domain::Lost, tgid.into())))
    }

    /// The key and position of the `getrandom` stream of thread `tid` of process `tgid`: the
    /// process's own for its main thread; for another thread, one keyed by the rank of its tid
    /// among the process's threads (creation order, as for children).
    fn stream(&mut self, tid: u32, tgid: u32) -> (Key, &mut u64) {
        let p = self.proc(tgid);
        if tid == tgid {
            return (p.key, &mut p.pos);
        }
        let start = std::fs::read(format!("/proc/{tgid}/task/{tid}/stat"))
            .ok()
            .and_then(|s| parse_stat(&s))
            .map_or(0, |s| s.1);
        if p.threads.get(&tid).is_none_or(|t| t.start != start) {
            if let Ok(tasks) = std::fs::read_dir(format!("/proc/{tgid}/task")) {
                p.tids.extend(
                    tasks
                        .flatten()
                        .filter_map(|t| t.file_name().to_str()?.parse::<u32>().ok()),
                );
            }
            p.tids.insert(tid);
            let index = p.tids.range(..tid).count() as u64;
            let key = chacha::derive(&p.key, Domain::Thread, index);
            p.threads.insert(tid, ThreadStream { start, key, pos: 0 });
        }
        let fallback = chacha::derive(&p.key, Domain::Lost, tid.into());
        // Just made if it was missing; the default is never used.
        let t = p.threads.entry(tid).or_insert(ThreadStream {
            start,
            key: fallback,
            pos: 0,
        });
        (t.key, &mut t.pos)
    }

    /// The next `len` bytes of thread `tid`'s `getrandom` stream, without using them up.
    pub(crate) fn peek(&mut self, tid: u32, tgid: u32, len: usize) -> Vec<u8> {
        let (key, pos) = self.stream(tid, tgid);
        let mut out = vec![0; len];
        chacha::fill(&key, Domain::Getrandom, 0, *pos, &mut out);
        out
    }

    /// Uses up `len` bytes of thread `tid`'s `getrandom` stream (after [`peek`](Self::peek)).
    pub(crate) fn consume(&mut self, tid: u32, tgid: u32, len: usize) {
        let (_, pos) = self.stream(tid, tgid);
        *pos += len as u64;
    }

    /// A new device stream for an open by `tgid`.
    pub(crate) fn device(&mut self, tgid: u32) -> DeviceStream {
        let p = self.proc(tgid);
        let key = chacha::derive(&p.key, Domain::Device, p.opens);
        p.opens += 1;
        DeviceStream { key, pos: 0 }
    }

    /// Serves a device stream as an fd to install: the read end of a pipe that a feeder thread
    /// keeps full (an endless stream, like the device) or, when too many feeders run, a file
    /// of the stream's first MiB.
    pub(crate) fn serve(&self, mut stream: DeviceStream) -> std::io::Result<DeviceAnswer> {
        if self.feeders.fetch_add(1, Ordering::AcqRel) >= MAX_FEEDERS {
            self.feeders.fetch_sub(1, Ordering::AcqRel);
            let mut bytes = vec![0; FALLBACK_DEVICE_BYTES];
            stream.read(&mut bytes);
            return Ok(DeviceAnswer::Content(bytes));
        }
        let feeders = Arc::clone(&self.feeders);
        let started = std::io::pipe().and_then(|(reader, mut writer)| {
            std::thread::Builder::new()
                .name("sandlock-random".to_owned())
                .stack_size(64 * 1024)
                .spawn(move || {
                    // Ends when the last reader closes its end: EPIPE, with SIGPIPE blocked
                    // (else nothing is written: the reader sees the end of the file).
                    let mut buf = [0u8; 4096];
                    if sandlock_sys::determinism::block_sigpipe().is_ok() {
                        loop {
                            stream.read(&mut buf);
                            if writer.write_all(&buf).is_err() {
                                break;
                            }
                        }
                    }
                    feeders.fetch_sub(1, Ordering::AcqRel);
                })?;
            Ok(reader)
        });
        match started {
            Ok(reader) => Ok(DeviceAnswer::Fd(reader.into())),
            Err(e) => {
                self.feeders.fetch_sub(1, Ordering::AcqRel);
                Err(e)
            }
        }
    }
}

impl Proc {
    fn new(start: u64, key: Key) -> Proc {
        Proc {
            start,
            key,
            pos: 0,
            opens: 0,
            children: BTreeSet::new(),
            threads: HashMap::new(),
            tids: BTreeSet::new(),
        }
    }
}

/// The bytes behind one open of a random device.
#[derive(Debug)]
pub(crate) struct DeviceStream {
    key: Key,
    pos: u64,
}

impl DeviceStream {
    fn read(&mut self, out: &mut [u8]) {
        chacha::fill(&self.key, Domain::Device, 0, self.pos, out);
        self.pos += out.len() as u64;
    }
}

/// How a device open is answered.
#[derive(Debug)]
pub(crate) enum DeviceAnswer {
    /// The read end of a fed pipe.
    Fd(std::os::fd::OwnedFd),
    /// A finite file.
    Content(Vec<u8>),
}

/// `(ppid, starttime)` of process `pid`, from `/proc/PID/stat`.
pub(crate) fn stat(pid: u32) -> Option<(u32, u64)> {
    let s = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&s)
}

/// `(ppid, starttime)` from the text of `/proc/PID/stat` (the command name, in parentheses,
/// may contain anything, so fields are counted after its last `)`).
fn parse_stat(s: &[u8]) -> Option<(u32, u64)> {
    let close = s.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(s.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    // Fields 3 (state), 4 (ppid), …, 22 (starttime).
    let ppid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(17)?.parse().ok()?;
    Some((ppid, start))
}

/// The children of every thread of `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                list.split_ascii_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// The process (thread group) of thread `tid`, from `/proc/TID/status`.
pub(crate) fn tgid_of(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_the_command_name() {
        let line = b"42 (a) b (c)) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 1000 \
                     100 18446744073709551615";
        assert_eq!(parse_stat(line), Some((7, 12345)));
        assert_eq!(parse_stat(b"42 (x"), None);
        assert_eq!(parse_stat(b"42 (x) S"), None);
        let own = stat(std::process::id()).unwrap();
        assert_eq!(own.0, std::os::unix::process::parent_id());
    }

    #[test]
    fn streams_are_per_process_and_reproducible() {
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        // Our parent stands in for the init: we are its child.
        let mut a = Tree::new(7, parent);
        let mut b = Tree::new(7, parent);
        let x = a.peek(me, me, 40);
        assert_eq!(x, b.peek(me, me, 40));
        a.consume(me, me, 16);
        assert_eq!(a.peek(me, me, 24), x[16..]);
        let mut c = Tree::new(8, parent);
        assert_ne!(c.peek(me, me, 40), x);
        // Another thread of ours: a stream of its own, the same in both trees.
        let tid = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter_map(|t| t.file_name().to_str()?.parse::<u32>().ok())
            .find(|&t| t != me);
        if let Some(tid) = tid {
            let y = a.peek(tid, me, 40);
            assert_ne!(y, x);
            assert_eq!(y, b.peek(tid, me, 40));
        }
        let mut d1 = a.device(me);
        let mut d2 = a.device(me);
        let (mut o1, mut o2) = ([0u8; 32], [0u8; 32]);
        d1.read(&mut o1);
        d2.read(&mut o2);
        assert_ne!(o1, o2);
    }
}

//! `--max-memory`: what the sandbox uses, measured from `/proc`, and the check made before an
//! allocation.
//!
//! # What counts
//!
//! The usage of a sandbox is the sum of
//!
//! - for each of its processes, `Pss_Anon + Pss_Shmem + SwapPss` from
//!   `/proc/PID/smaps_rollup`: private and copy-on-write memory, and shared memory mappings
//!   (`MAP_SHARED` anonymous memory, memfd and SysV segments that are mapped). *Proportional*
//!   set size divides each page among the processes that map it, so memory shared between
//!   processes of the sandbox (after `fork`, or a segment mapped by four processes) counts
//!   once, and several processes each under the cap add up;
//! - shared-memory objects the sandbox holds whole, mapped or not: memfds and files in
//!   `/dev/shm` it has open (their allocated blocks), and SysV segments its processes created
//!   (`/proc/sysvipc/shm`: resident and swapped bytes). Their mapped part is taken out of the
//!   first sum, so they count once. Without this, `write(2)` into a memfd, or a segment that
//!   is detached but not removed, would hold memory that no process maps.
//!
//! File-backed pages (program text, libraries, the page cache of regular files) do not count:
//! they can be dropped and reread, and the files are governed by the filesystem rules. Nor
//! does kernel memory (page tables, socket buffers, pipes).
//!
//! A process that makes itself non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`) hides its memory
//! map and its open files from a supervisor that is not root. Its memory could then still be
//! estimated (`RssAnon + RssShmem` of `/proc/PID/status`), but not a memfd it holds and maps
//! nowhere, so the limit would not hold: the sandbox is killed, with a message saying why.
//! (A root supervisor sees every process; `--no-coredump` does not make processes
//! non-dumpable.)
//!
//! # Enforcement
//!
//! Two parts, because neither alone is enough:
//!
//! - **Before an allocation** (`mmap`, `mremap`, `brk` and `shmget` are notified; their
//!   arguments are registers, so no memory of the caller is read and the call can go on as
//!   made): when the last measured usage, plus what was granted since the measurement before
//!   it (pages granted are usually touched at once, but the measurement may run in between),
//!   plus this request, exceeds the cap, the call fails with `ENOMEM`. A request counts its full length: a
//!   writable anonymous or private mapping, a writable shared mapping of a memfd, `/dev/shm`
//!   or `/dev/zero`, the growth of a `brk` or `mremap`, a new SysV segment. Read-only
//!   mappings, `PROT_NONE` reservations and `MAP_NORESERVE` mappings count nothing here: they
//!   take no memory until touched, and then the measurement sees them.
//! - **The measurement** runs every 50 ms on a thread of the supervisor. When the usage is
//!   over the cap, the whole sandbox is killed with a message naming the limit. This holds
//!   whatever way the memory was obtained (`mprotect` of a reservation, writes into a memfd,
//!   touching pages granted earlier), at the price of a kill instead of an error, and up to
//!   one period late.
//!
//! Either way the limit shows as `max-memory` in the runtime report.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sandlock_notif::{HandlerResult, NotifCtx, Verdict};
use sandlock_sys::Errno;

use super::tree;
use crate::notify::Instance;

/// How often the measurement runs.
pub(crate) const PERIOD: Duration = Duration::from_millis(50);

/// The name of the limit in the runtime report.
pub(crate) const LIMIT: &str = "max-memory";

/// What the measurement and the allocation checks of one sandbox share.
#[derive(Debug)]
pub(crate) struct Budget {
    /// The cap, in bytes.
    pub(crate) cap: u64,
    /// The usage at the last measurement.
    usage: AtomicU64,
    /// Bytes granted to allocations since the last measurement (which may not show them yet).
    granted: AtomicU64,
    /// Bytes granted in the period before: the last measurement may have run between an
    /// allocation and the first touch of its pages, so they count one period more.
    granted_before: AtomicU64,
    /// Processes seen in the sandbox, or that created a SysV segment there: the segments
    /// whose creator is one of them count.
    members: Mutex<HashSet<i32>>,
}

impl Budget {
    pub(crate) fn new(cap: u64) -> Budget {
        Budget {
            cap,
            usage: AtomicU64::new(0),
            granted: AtomicU64::new(0),
            granted_before: AtomicU64::new(0),
            members: Mutex::new(HashSet::new()),
        }
    }

    /// Grants `request` bytes if they fit; otherwise the caller answers `ENOMEM`.
    fn try_grant(&self, request: u64) -> bool {
        if request == 0 {
            return true;
        }
        let usage = self.usage.load(Ordering::Acquire);
        let granted = self
            .granted
            .load(Ordering::Acquire)
            .saturating_add(self.granted_before.load(Ordering::Acquire));
        if usage.saturating_add(granted).saturating_add(request) > self.cap {
            return false;
        }
        // The handlers of one sandbox run on one thread, so this does not race another grant.
        self.granted.fetch_add(request, Ordering::AcqRel);
        true
    }

    fn members(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One measurement of a sandbox.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    /// Private, copy-on-write and mapped shared memory of the processes, in bytes.
    pub(crate) mapped: u64,
    /// Shared-memory objects held whole (memfds, /dev/shm files, SysV segments), in bytes.
    pub(crate) objects: u64,
    /// Processes measured.
    pub(crate) processes: usize,
    /// A process whose open files the supervisor may not see: a memfd it holds and maps
    /// nowhere would not count.
    pub(crate) hidden: Option<i32>,
}

impl Usage {
    /// The total that is compared with the cap.
    pub(crate) fn total(&self) -> u64 {
        self.mapped.saturating_add(self.objects)
    }
}

/// A shared-memory object counted whole: its kind and inode (a SysV segment's inode is its id).
type ObjectKey = (ObjectKind, u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ObjectKind {
    /// A memfd or a file on a tmpfs such as /dev/shm.
    File,
    /// A SysV segment.
    Sysv,
}

/// What smaps_rollup (or the fallback) gives for one process, in bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct ProcMemory {
    anon_shmem: u64,
    shmem: u64,
}

/// Parses the `Key:   N kB` lines of smaps_rollup (or status, with other keys) that `want`
/// names, adding up their values in bytes.
fn sum_kb_fields(text: &str, want: &[&str]) -> Option<u64> {
    let mut sum = 0u64;
    let mut found = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        if want.contains(&key) {
            let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            sum = sum.saturating_add(kb.saturating_mul(1024));
            found = true;
        }
    }
    found.then_some(sum)
}

fn proc_memory(pid: i32) -> Option<ProcMemory> {
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
        // Pss_Anon and Pss_Shmem are there since Linux 5.6; before, Pss (which also counts
        // file pages, so more than we mean) is what there is.
        let anon_shmem = sum_kb_fields(&text, &["Pss_Anon", "Pss_Shmem", "SwapPss"])
            .or_else(|| sum_kb_fields(&text, &["Pss", "SwapPss"]))?;
        let shmem = sum_kb_fields(&text, &["Pss_Shmem"]).unwrap_or(0);
        return Some(ProcMemory { anon_shmem, shmem });
    }
    // Not ours to read (a non-dumpable process and a supervisor that is not root), or gone.
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let anon_shmem = sum_kb_fields(&text, &["RssAnon", "RssShmem", "VmSwap"])?;
    Some(ProcMemory {
        anon_shmem,
        shmem: 0,
    })
}

/// Whether an fd's or a mapping's target is a shared-memory object that can hold memory with
/// no process mapping it.
fn is_shmem_path(path: &[u8]) -> bool {
    path.starts_with(b"/memfd:") || path.starts_with(b"/dev/shm/")
}

/// The memfds and /dev/shm files `pid` has open: inode → allocated bytes. Returns `false` when
/// the supervisor may not look (the process made itself non-dumpable and the supervisor is
/// not root); a process that is gone has none.
fn open_objects(pid: i32, out: &mut HashMap<ObjectKey, u64>) -> bool {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let fds = match std::fs::read_dir(format!("/proc/{pid}/fd")) {
        Ok(fds) => fds,
        // /proc files of a process without a memory map (exiting, or a zombie) belong to
        // root too: only a process that still has one (`VmSize` in its status) hides.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return !std::fs::read_to_string(format!("/proc/{pid}/status"))
                .is_ok_and(|s| s.contains("\nVmSize:"));
        }
        Err(_) => return true,
    };
    for fd in fds.flatten() {
        let path = fd.path();
        let Ok(target) = std::fs::read_link(&path) else {
            continue;
        };
        if !is_shmem_path(target.as_os_str().as_bytes()) {
            continue;
        }
        if let Ok(meta) = std::fs::metadata(&path) {
            out.insert(
                (ObjectKind::File, meta.ino()),
                meta.blocks().saturating_mul(512),
            );
        }
    }
    true
}

/// SysV segments whose creator is in `members`: id → resident plus swapped bytes.
fn sysv_objects(members: &HashSet<i32>, out: &mut HashMap<ObjectKey, u64>) {
    let Ok(text) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return;
    };
    out.extend(parse_sysvipc(&text, members));
}

/// Parses `/proc/sysvipc/shm`: a header, then "key shmid perms size cpid lpid nattch uid gid
/// cuid cgid atime dtime ctime rss swap".
fn parse_sysvipc(text: &str, members: &HashSet<i32>) -> Vec<(ObjectKey, u64)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        let (Some(id), Some(cpid), Some(rss), Some(swap)) = (num(1), num(4), num(14), num(15))
        else {
            continue;
        };
        if i32::try_from(cpid).is_ok_and(|c| members.contains(&c)) {
            out.push(((ObjectKind::Sysv, id), rss.saturating_add(swap)));
        }
    }
    out
}

/// The proportional size of `pid`'s mappings of the objects in `objects`, in bytes: that part
/// of its `Pss_Shmem` is already counted with the object.
fn mapped_object_pss(pid: i32, objects: &HashMap<ObjectKey, u64>) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return 0;
    };
    parse_smaps_object_pss(&text, objects)
}

fn parse_smaps_object_pss(text: &str, objects: &HashMap<ObjectKey, u64>) -> u64 {
    let mut sum = 0u64;
    let mut current: Option<ObjectKey> = None;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            // A mapping header: "start-end perms offset dev inode [path]".
            let inode = f.nth(3).and_then(|i| i.parse::<u64>().ok());
            let path = f.next().unwrap_or("");
            let kind = if path.starts_with("/SYSV") {
                Some(ObjectKind::Sysv)
            } else if is_shmem_path(path.as_bytes()) {
                Some(ObjectKind::File)
            } else {
                None
            };
            current = kind.zip(inode).filter(|key| objects.contains_key(key));
        } else if first == "Pss:" && current.is_some() {
            let kb: u64 = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            sum = sum.saturating_add(kb.saturating_mul(1024));
        }
    }
    sum
}

/// Measures the sandbox below `init_pid` (see the module documentation).
pub(crate) fn measure(init_pid: i32, budget: &Budget) -> Usage {
    let pids = tree::below(init_pid);
    let mut per_process = Vec::with_capacity(pids.len());
    let mut objects = HashMap::new();
    let mut hidden = None;
    for &pid in &pids {
        if let Some(m) = proc_memory(pid) {
            per_process.push((pid, m));
        }
        if !open_objects(pid, &mut objects) {
            hidden = hidden.or(Some(pid));
        }
    }
    {
        let mut members = budget.members();
        members.extend(pids.iter().copied());
        sysv_objects(&members, &mut objects);
    }
    let mut mapped = 0u64;
    for (pid, m) in per_process {
        let mut own = m.anon_shmem;
        if m.shmem > 0 && !objects.is_empty() {
            own = own.saturating_sub(mapped_object_pss(pid, &objects));
        }
        mapped = mapped.saturating_add(own);
    }
    Usage {
        mapped,
        objects: objects.values().copied().fold(0, u64::saturating_add),
        processes: pids.len(),
        hidden,
    }
}

/// "64 MiB", "1.5 GiB", "300 KiB", "17 bytes".
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The monitor: measures every [`PERIOD`] until the sandbox ends, and kills it when it is over
/// the cap. Runs on its own thread.
pub(crate) fn monitor(inst: &Instance, budget: &Budget) {
    let mut hidden_before = None;
    loop {
        let usage = measure(inst.init_pid, budget);
        budget.usage.store(usage.total(), Ordering::Release);
        let granted = budget.granted.swap(0, Ordering::AcqRel);
        budget.granted_before.store(granted, Ordering::Release);
        if usage.total() > budget.cap {
            inst.with_report(|r| r.fired(LIMIT));
            inst.kill(format!(
                "memory limit {} exceeded ({} in use by {} process{})",
                human(budget.cap),
                human(usage.total()),
                usage.processes,
                if usage.processes == 1 { "" } else { "es" }
            ));
            return;
        }
        // Twice in a row, in case the process was between two states (exec) at one look.
        if let Some(pid) = usage.hidden.filter(|&p| hidden_before == Some(p)) {
            // Fail closed: memory the measurement cannot see would escape the cap.
            inst.with_report(|r| r.fired(LIMIT));
            inst.kill(format!(
                "memory limit {} cannot be enforced: process {pid} made itself non-dumpable, \
                 which hides its memory from the supervisor",
                human(budget.cap)
            ));
            return;
        }
        hidden_before = usage.hidden;
        if inst.is_done() {
            return;
        }
        // Readable when the init has exited: the sandbox is over.
        match sandlock_sys::poll::wait_readable(&*inst.init, Some(PERIOD)) {
            Ok(false) => {}
            Ok(true) | Err(_) => return,
        }
    }
}

/// Bytes an `mmap(addr, len, prot, flags, fd, off)` of `caller` (a tid) asks for.
fn mmap_request(caller: u32, args: [u64; 6]) -> u64 {
    let (len, prot, flags, fd) = (args[1], args[2] as i32, args[3] as i32, args[4] as i32);
    if prot & libc::PROT_WRITE == 0 || flags & libc::MAP_NORESERVE != 0 {
        return 0;
    }
    if flags & libc::MAP_ANONYMOUS != 0 {
        return len;
    }
    // MAP_SHARED_VALIDATE includes the MAP_SHARED bit.
    if flags & libc::MAP_SHARED == 0 {
        // Private and writable: every page written becomes the process's own.
        return len;
    }
    // A shared mapping of a file holds memory only when the file is memory.
    let Ok(target) = std::fs::read_link(format!("/proc/{caller}/fd/{fd}")) else {
        return 0;
    };
    use std::os::unix::ffi::OsStrExt;
    let target = target.as_os_str().as_bytes();
    if is_shmem_path(target) || target.starts_with(b"/dev/zero") || target.starts_with(b"/SYSV") {
        len
    } else {
        0
    }
}

/// A `brk(addr)` of `caller`: the current break of its process, if known.
///
/// `start_brk` (field 47 of stat) changes when the process execs: it tells a cached break from
/// another program's. It reads 0 when the supervisor may not see the process's memory map;
/// then the break is unknown and the measurement alone enforces.
fn current_break(caller: u32, breaks: &HashMap<u32, (u64, u64)>) -> Option<(u64, u64)> {
    let start_brk = std::fs::read_to_string(format!("/proc/{caller}/stat"))
        .ok()
        .and_then(|s| {
            let (_, rest) = s.rsplit_once(')')?;
            rest.split_whitespace().nth(47 - 3)?.parse::<u64>().ok()
        })
        .filter(|&b| b != 0)?;
    let current = match breaks.get(&caller) {
        Some(&(start, last)) if start == start_brk => last,
        _ => heap_end(caller).unwrap_or(start_brk),
    };
    Some((start_brk, current))
}

/// The end of the `[heap]` mapping of `pid`, from its maps.
fn heap_end(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let line = text.lines().find(|l| l.ends_with("[heap]"))?;
    let range = line.split_whitespace().next()?;
    u64::from_str_radix(range.split_once('-')?.1, 16).ok()
}

/// The pid of the process `tid` belongs to (its `Tgid`).
fn tgid_of(tid: u32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Answers one allocation of `request` bytes: on as made when it fits, `ENOMEM` when not.
fn decide(inst: &Instance, budget: &Budget, request: u64) -> HandlerResult {
    if budget.try_grant(request) {
        Ok(Verdict::Continue)
    } else {
        inst.with_report(|r| r.fired(LIMIT));
        Ok(Verdict::Errno(Errno::ENOMEM))
    }
}

/// Installs the allocation checks of one sandbox.
pub(crate) fn install(inst: &Instance, budget: &Arc<Budget>, t: &mut crate::notify::Installing) {
    {
        let (inst, budget) = (inst.clone(), Arc::clone(budget));
        t.on("mmap", move |ctx: &mut NotifCtx<'_>| {
            decide(&inst, &budget, mmap_request(ctx.pid(), ctx.args()))
        });
    }
    {
        let (inst, budget) = (inst.clone(), Arc::clone(budget));
        t.on("mremap", move |ctx: &mut NotifCtx<'_>| {
            let [_, old_len, new_len, ..] = ctx.args();
            decide(&inst, &budget, new_len.saturating_sub(old_len))
        });
    }
    {
        let (inst, budget) = (inst.clone(), Arc::clone(budget));
        // tid → (start_brk, the break after the last brk allowed).
        let mut breaks: HashMap<u32, (u64, u64)> = HashMap::new();
        t.on("brk", move |ctx: &mut NotifCtx<'_>| {
            let (caller, addr) = (ctx.pid(), ctx.args()[0]);
            if addr == 0 {
                return Ok(Verdict::Continue);
            }
            let Some((start_brk, current)) = current_break(caller, &breaks) else {
                return Ok(Verdict::Continue);
            };
            if breaks.len() > 4096 {
                // Exited threads: start again rather than grow.
                breaks.clear();
            }
            if budget.try_grant(addr.saturating_sub(current)) {
                breaks.insert(caller, (start_brk, addr.max(start_brk)));
                Ok(Verdict::Continue)
            } else {
                // brk does not fail with an errno: it answers the unchanged break, and libc
                // turns a break short of the request into ENOMEM.
                inst.with_report(|r| r.fired(LIMIT));
                Ok(Verdict::Return(current as i64))
            }
        });
    }
    {
        let (inst, budget) = (inst.clone(), Arc::clone(budget));
        t.on("shmget", move |ctx: &mut NotifCtx<'_>| {
            let [key, size, flags, ..] = ctx.args();
            let creates = key as i32 == libc::IPC_PRIVATE || (flags as i32) & libc::IPC_CREAT != 0;
            if !creates {
                return Ok(Verdict::Continue);
            }
            // The segment counts by its creator: make sure it is known even if it exits
            // before the next measurement.
            if let Some(tgid) = tgid_of(ctx.pid()) {
                budget.members().insert(tgid);
            }
            decide(&inst, &budget, size)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_rollup_fields() {
        let text = "55d0-7ffd ---p 00000000 00:00 0  [rollup]\n\
                    Rss:                5000 kB\n\
                    Pss:                3000 kB\n\
                    Pss_Anon:           1000 kB\n\
                    Pss_File:           1500 kB\n\
                    Pss_Shmem:           500 kB\n\
                    SwapPss:              10 kB\n";
        assert_eq!(
            sum_kb_fields(text, &["Pss_Anon", "Pss_Shmem", "SwapPss"]),
            Some(1510 * 1024)
        );
        assert_eq!(sum_kb_fields(text, &["Nope"]), None);
        assert_eq!(sum_kb_fields("Pss_Anon: x kB", &["Pss_Anon"]), None);
    }

    #[test]
    fn sysv_segments_count_by_creator() {
        let text = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                    0 32768   600   16777216   100   100      0  1000  1000  1000  1000          0          0 1700000000   16777216   0\n\
                    0 32769   600   16777216   200   200      0  1000  1000  1000  1000          0          0 1700000000   4096   8192\n";
        let members = HashSet::from([200]);
        assert_eq!(
            parse_sysvipc(text, &members),
            vec![((ObjectKind::Sysv, 32769), 12288)]
        );
    }

    #[test]
    fn mapped_objects_are_taken_out_once() {
        let smaps = "7f00-7f10 rw-s 00000000 00:01 77  /memfd:x (deleted)\n\
                     Size:  64 kB\n\
                     Pss:  16 kB\n\
                     7f10-7f20 rw-s 00000000 00:01 32769  /SYSV00000000 (deleted)\n\
                     Pss:  8 kB\n\
                     7f20-7f30 rw-s 00000000 00:01 99  /memfd:other (deleted)\n\
                     Pss:  4 kB\n\
                     7f30-7f40 rw-p 00000000 00:00 0 \n\
                     Pss:  2 kB\n";
        let objects = HashMap::from([((ObjectKind::File, 77), 0), ((ObjectKind::Sysv, 32769), 0)]);
        assert_eq!(parse_smaps_object_pss(smaps, &objects), 24 * 1024);
    }

    #[test]
    fn grants_until_the_cap() {
        let b = Budget::new(100);
        b.usage.store(50, Ordering::Release);
        assert!(b.try_grant(30));
        assert!(b.try_grant(0));
        assert!(!b.try_grant(21));
        assert!(b.try_grant(20));
        assert!(!b.try_grant(1));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(64 << 20), "64 MiB");
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(17), "17 bytes");
        assert_eq!(human(2048), "2 KiB");
    }

    #[test]
    fn mmap_requests() {
        let me = std::process::id();
        let anon = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as u64;
        let rw = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        assert_eq!(mmap_request(me, [0, 4096, rw, anon, u64::MAX, 0]), 4096);
        assert_eq!(mmap_request(me, [0, 4096, 0, anon, u64::MAX, 0]), 0);
        let noreserve = anon | libc::MAP_NORESERVE as u64;
        assert_eq!(mmap_request(me, [0, 4096, rw, noreserve, u64::MAX, 0]), 0);
        // A shared mapping of a regular file (our stdin may be anything: use a file we open).
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        use std::os::fd::AsRawFd;
        let shared = libc::MAP_SHARED as u64;
        assert_eq!(
            mmap_request(me, [0, 4096, rw, shared, f.as_raw_fd() as u64, 0]),
            0
        );
    }
}

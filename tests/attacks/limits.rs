//! Attack battery, limits group: getting more memory, processes or CPU than `--max-memory`,
//! `--max-processes` and `--cpu` allow, by the routes a per-process or per-call limit misses:
//! memory that no single call asks for (memfd written, SysV segments detached, several
//! processes), raw `fork(2)`, a fork bomb, and CPU burnt in `setsid` descendants.
//!
//! Each attack first runs bare (and succeeds), then under the limit (and is stopped: an
//! `ENOMEM`/`EAGAIN`, or the sandbox killed with a message naming the limit, never silently),
//! then the next sandbox is checked healthy.

use std::process::Output;

use sandlock_tests::text;

mod common;
use common::{assert_healthy, bare, expect, sandboxed, stdout};

/// Allocation helpers added to the prelude: `mem(label, fn)` prints `label: ok` or the errno
/// (`MemoryError` is `ENOMEM`).
const MEM: &str = r#"
import mmap
MiB = 1 << 20
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mremap.restype = ctypes.c_void_p
libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.sbrk.restype = ctypes.c_void_p
libc.sbrk.argtypes = [ctypes.c_long]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
FAILED = ctypes.c_void_p(-1).value

def mem(label, fn):
    try:
        fn()
    except MemoryError:
        say(label, errno.ENOMEM)
        return
    except OSError as e:
        say(label, e.errno)
        return
    say(label, 0)

def check(ptr):
    if ptr is None or ptr == FAILED:
        raise OSError(ctypes.get_errno(), "failed")
    return ptr
"#;

fn body(code: &str) -> String {
    format!("{MEM}\n{code}")
}

/// Prints one summary line of an attack of this group.
fn summary(attack: &str, outcome: &str) {
    println!("attack limits/{attack}: {outcome}");
}

/// Asserts the sandbox was killed by the memory limit `limit` (as the CLI prints it).
fn assert_killed_by_memory(out: &Output, limit: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "sandlock: the sandbox was killed: memory limit {limit} exceeded"
        )),
        "{}",
        text(out)
    );
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGKILL),
        "{}",
        text(out)
    );
}

/// Anonymous memory by every call that makes it: malloc (mmap), brk, mremap growth.
#[test]
fn memory_anonymous_mmap_brk_mremap() {
    let attack = body(
        r#"
def big_malloc():
    b = bytearray(b'x') * (300 * MiB)
    del b
mem("malloc 300 MiB", big_malloc)

def brk():
    start = check(libc.sbrk(0))
    got = 0
    try:
        while got < 300 * MiB:
            p = libc.sbrk(MiB)
            check(p)
            ctypes.memset(p, 1, MiB)
            got += MiB
    finally:
        libc.sbrk(-got)
mem("brk 300 MiB", brk)

def mremap():
    a = check(libc.mmap(None, MiB, 3, 0x22, -1, 0))
    b = libc.mremap(a, MiB, 300 * MiB, 1)
    if b == FAILED:
        e = ctypes.get_errno()
        libc.munmap(a, MiB)
        raise OSError(e, "mremap")
    ctypes.memset(b, 1, 300 * MiB)
    libc.munmap(b, 300 * MiB)
mem("mremap to 300 MiB", mremap)
"#,
    );
    expect(
        &bare(&attack),
        0,
        &[
            "malloc 300 MiB: ok",
            "brk 300 MiB: ok",
            "mremap to 300 MiB: ok",
        ],
    );
    expect(
        &sandboxed(&["-m", "64M"], &attack),
        0,
        &[
            "malloc 300 MiB: ENOMEM",
            "brk 300 MiB: ENOMEM",
            "mremap to 300 MiB: ENOMEM",
        ],
    );
    summary("anonymous (malloc, brk, mremap)", "ENOMEM");
    assert_healthy();
}

/// Memory no checked call asks for: a `PROT_NONE` reservation (and a `MAP_NORESERVE`
/// mapping) made writable with `mprotect` and touched. The measurement kills the sandbox.
#[test]
fn memory_reservation_made_writable() {
    let code = r#"
import time
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
def reserved():
    a = check(libc.mmap(None, 300 * MiB, 0, 0x22 | FLAGS, -1, 0))
    if libc.mprotect(a, 300 * MiB, 3) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    ctypes.memset(a, 1, 300 * MiB)
    time.sleep(1)
    libc.munmap(a, 300 * MiB)
mem("PROT_NONE 300 MiB, mprotect, touch", reserved)
"#;
    for (flags, what) in [("0", "PROT_NONE"), ("0x4000", "MAP_NORESERVE")] {
        let attack = body(&code.replace("FLAGS", flags));
        expect(
            &bare(&attack),
            0,
            &["PROT_NONE 300 MiB, mprotect, touch: ok"],
        );
        let out = sandboxed(&["-m", "64M"], &attack);
        assert_eq!(stdout(&out), "", "{what}: {}", text(&out));
        assert_killed_by_memory(&out, "64 MiB");
    }
    summary("PROT_NONE and MAP_NORESERVE made writable", "killed");
    assert_healthy();
}

/// A memfd: mapped whole (the upstream bypass: 300 MiB under `-m 64M`), and written with
/// write(2), which maps nothing at all.
#[test]
fn memory_memfd_mapped_and_written() {
    let mapped = body(
        r#"
def mapped():
    fd = os.memfd_create("m")
    os.ftruncate(fd, 300 * MiB)
    m = mmap.mmap(fd, 300 * MiB)
    m.write(b"z" * (300 * MiB))
    m.close()
    os.close(fd)
mem("memfd mmap 300 MiB", mapped)
"#,
    );
    expect(&bare(&mapped), 0, &["memfd mmap 300 MiB: ok"]);
    expect(
        &sandboxed(&["-m", "64M"], &mapped),
        0,
        &["memfd mmap 300 MiB: ENOMEM"],
    );
    // HIDE is replaced by a call that makes the process non-dumpable, in the variant below
    // (after the imports: a non-dumpable process of an unprivileged user may not load
    // extension modules).
    let written_code = r#"
import time
HIDE
def written():
    fd = os.memfd_create("w")
    chunk = b"w" * MiB
    for _ in range(300):
        os.write(fd, chunk)
    time.sleep(1)
    os.close(fd)
mem("memfd write 300 MiB", written)
"#;
    let written = body(&written_code.replace("HIDE", ""));
    expect(&bare(&written), 0, &["memfd write 300 MiB: ok"]);
    let out = sandboxed(&["-m", "64M"], &written);
    assert_eq!(stdout(&out), "", "{}", text(&out));
    assert_killed_by_memory(&out, "64 MiB");
    // The same from a process that made itself non-dumpable, which hides its open files
    // from a supervisor that is not root: killed all the same (by the measurement, or as a
    // process that cannot be measured).
    let hiding = body(&written_code.replace("HIDE", "libc.prctl(4, 0, 0, 0, 0)"));
    expect(&bare(&hiding), 0, &["memfd write 300 MiB: ok"]);
    let out = sandboxed(&["-m", "64M"], &hiding);
    assert_eq!(stdout(&out), "", "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("sandlock: the sandbox was killed: memory limit 64 MiB "),
        "{}",
        text(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGKILL),
        "{}",
        text(&out)
    );
    summary("memfd (mmap, write, non-dumpable)", "ENOMEM, killed");
    assert_healthy();
}

/// Asserts that the attack printed exactly `line` and ended normally (the allocation failed),
/// or that the sandbox was killed by the memory limit `limit` (the measurement saw the memory
/// before a check refused it).
fn assert_enomem_or_killed(out: &Output, line: &str, limit: &str) {
    if String::from_utf8_lossy(&out.stderr).contains("the sandbox was killed") {
        assert_killed_by_memory(out, limit);
    } else {
        expect(out, 0, &[line]);
    }
}

/// MAP_SHARED anonymous memory: one big mapping, and many small ones touched one by one.
#[test]
fn memory_map_shared() {
    let big = body(
        r#"
def big():
    m = mmap.mmap(-1, 300 * MiB, flags=mmap.MAP_SHARED)
    m.write(b"s" * (300 * MiB))
    m.close()
mem("MAP_SHARED 300 MiB", big)
"#,
    );
    expect(&bare(&big), 0, &["MAP_SHARED 300 MiB: ok"]);
    expect(
        &sandboxed(&["-m", "64M"], &big),
        0,
        &["MAP_SHARED 300 MiB: ENOMEM"],
    );
    let chunks = body(
        r#"
held = []
def chunks():
    for _ in range(40):
        m = mmap.mmap(-1, 8 * MiB, flags=mmap.MAP_SHARED)
        m.write(b"c" * (8 * MiB))
        held.append(m)
mem("MAP_SHARED 40 x 8 MiB", chunks)
"#,
    );
    expect(&bare(&chunks), 0, &["MAP_SHARED 40 x 8 MiB: ok"]);
    assert_enomem_or_killed(
        &sandboxed(&["-m", "64M"], &chunks),
        "MAP_SHARED 40 x 8 MiB: ENOMEM",
        "64 MiB",
    );
    summary("MAP_SHARED", "ENOMEM");
    assert_healthy();
}

/// Removes the SysV segments whose ids the attack printed (`segment ID` lines), whatever
/// became of it, and returns its other lines.
fn remove_segments(out: &Output) -> String {
    let mut rest = String::new();
    let mut ids = Vec::new();
    for line in stdout(out).lines() {
        match line.strip_prefix("segment ") {
            Some(id) => ids.push(id.to_owned()),
            None => rest.push_str(&format!("{line}\n")),
        }
    }
    if !ids.is_empty() {
        let cleanup = format!(
            "import ctypes\nlibc = ctypes.CDLL(None)\nfor i in [{}]:\n    libc.shmctl(i, 0, None)\n",
            ids.join(",")
        );
        let _ = std::process::Command::new(common::PY)
            .args(["-c", &cleanup])
            .status();
    }
    rest
}

/// SysV shared memory: one big segment, and 16 MiB segments filled and detached (mapped by
/// no process). The segments outlive a killed sandbox, so the test removes them afterwards.
#[test]
fn memory_sysv_segments_detached() {
    let attack = body(
        r#"
IPC_CREAT, IPC_RMID = 0o1000, 0
def big():
    i = libc.shmget(0, 300 * MiB, IPC_CREAT | 0o600)
    if i < 0:
        raise OSError(ctypes.get_errno(), "shmget")
    libc.shmctl(i, IPC_RMID, None)
mem("shmget 300 MiB", big)

ids = []
def detached():
    import time
    for _ in range(10):
        i = libc.shmget(0, 16 * MiB, IPC_CREAT | 0o600)
        if i < 0:
            raise OSError(ctypes.get_errno(), "shmget")
        print("segment %d" % i, flush=True)
        ids.append(i)
        a = check(libc.shmat(i, None, 0))
        ctypes.memset(a, 1, 16 * MiB)
        libc.shmdt(a)
        time.sleep(0.1)
mem("shmget 10 x 16 MiB, detached", detached)
"#,
    );
    let out = bare(&attack);
    assert_eq!(
        remove_segments(&out),
        "shmget 300 MiB: ok\nshmget 10 x 16 MiB, detached: ok\n",
        "{}",
        text(&out)
    );
    let out = sandboxed(&["-m", "64M"], &attack);
    let rest = remove_segments(&out);
    if String::from_utf8_lossy(&out.stderr).contains("the sandbox was killed") {
        assert_killed_by_memory(&out, "64 MiB");
    } else {
        assert_eq!(
            rest,
            "shmget 300 MiB: ENOMEM\nshmget 10 x 16 MiB, detached: ENOMEM\n",
            "{}",
            text(&out)
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    summary("SysV shm", "ENOMEM");
    assert_healthy();
}

/// Four processes, each under the cap (40 MiB under `-m 100M`) but together over it.
#[test]
fn memory_four_processes_add_up() {
    let attack = body(
        r#"
import time
r, w = os.pipe()
kids = []
for i in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            b = bytearray(b"x") * (40 * MiB)
            os.write(w, b"held\n")
            time.sleep(1.5)
        except MemoryError:
            os.write(w, b"ENOMEM\n")
        os._exit(0)
    kids.append(pid)
os.close(w)
for k in kids:
    os.waitpid(k, 0)
lines = sorted(os.read(r, 1000).decode().split())
print("children: " + " ".join(lines))
"#,
    );
    expect(&bare(&attack), 0, &["children: held held held held"]);
    let out = sandboxed(&["-m", "100M"], &attack);
    let got = stdout(&out);
    let held = got.matches("held").count();
    // Either allocations failed (the check before them) or the measurement killed the
    // sandbox; never four held.
    if got.contains("ENOMEM") {
        assert!(held < 4, "{}", text(&out));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    } else {
        assert_killed_by_memory(&out, "100 MiB");
    }
    summary(
        "4 processes x 40 MiB under 100 MiB",
        &format!("{held} of 4 held"),
    );
    assert_healthy();
}

/// A raw `fork(2)` (and `clone(SIGCHLD)`) loop under `-P 5`: the fifth process is refused,
/// and the limit frees up once children have exited and been reaped.
#[test]
fn processes_raw_fork_loop() {
    let attack = r#"
import time, signal
NR = {"x86_64": (57, 56), "aarch64": (None, 220)}[os.uname().machine]
def raw_fork(i):
    if NR[0] is not None and i % 2 == 0:
        return sc(NR[0])
    return sc(NR[1], signal.SIGCHLD, 0, 0, 0, 0)
kids = []
err = 0
for i in range(8):
    r, err = raw_fork(i)
    if r == 0:
        time.sleep(30)
        os._exit(0)
    if r < 0:
        break
    kids.append(r)
print("forked %d" % len(kids))
if err:
    say("next fork", err)
for k in kids:
    os.kill(k, signal.SIGKILL)
    os.waitpid(k, 0)
r, err = raw_fork(0)
if r == 0:
    os._exit(0)
say("fork after exits", err)
if r > 0:
    os.waitpid(r, 0)
"#;
    expect(&bare(attack), 0, &["forked 8", "fork after exits: ok"]);
    let out = sandboxed(&["-P", "5"], attack);
    expect(
        &out,
        0,
        &["forked 4", "next fork: EAGAIN", "fork after exits: ok"],
    );
    summary(
        "raw fork/clone loop under -P 5",
        "EAGAIN, freed after exits",
    );
    assert_healthy();
}

/// Forks raced from eight threads released at once under `-P 3`: two may succeed, however
/// the supervisor's answers and the kernel's creation of the children interleave.
#[test]
fn processes_concurrent_forks() {
    let attack = r#"
import threading, time
r, w = os.pipe()
go = threading.Event()
def forker():
    go.wait()
    try:
        pid = os.fork()
    except OSError as e:
        os.write(w, b"-")
        return
    if pid == 0:
        time.sleep(1)
        os._exit(0)
    os.write(w, b"+")
    os.waitpid(pid, 0)
ts = [threading.Thread(target=forker) for _ in range(8)]
for t in ts:
    t.start()
time.sleep(0.2)
go.set()
for t in ts:
    t.join()
os.close(w)
data = os.read(r, 100)
print("forks ok: %d" % data.count(b"+"))
"#;
    expect(&bare(attack), 0, &["forks ok: 8"]);
    for _ in 0..5 {
        let out = sandboxed(&["-P", "3"], attack);
        expect(&out, 0, &["forks ok: 2"]);
    }
    summary("8 concurrent forks under -P 3", "2 ok, 5 runs");
    assert_healthy();
}

/// A (bounded) fork bomb: every process forks two children down to depth 6, 126 forks in
/// all, each holding its pid for a while. Under `-P 10` most are refused and the sandbox ends
/// normally.
#[test]
fn processes_fork_bomb() {
    let attack = r#"
import time
r, w = os.pipe()
def bomb(depth):
    kids = []
    for _ in range(2):
        if depth == 0:
            break
        try:
            pid = os.fork()
        except OSError as e:
            os.write(w, b"-")
            continue
        if pid == 0:
            os.write(w, b"+")
            bomb(depth - 1)
            os._exit(0)
        kids.append(pid)
    time.sleep(0.5)
    for k in kids:
        os.waitpid(k, 0)
bomb(6)
os.close(w)
data = b""
while True:
    chunk = os.read(r, 4096)
    if not chunk:
        break
    data += chunk
print("forks ok: %d, refused: %s" % (data.count(b"+"), "none" if data.count(b"-") == 0 else "some"))
"#;
    expect(&bare(attack), 0, &["forks ok: 126, refused: none"]);
    let out = sandboxed(&["-P", "10"], attack);
    let got = stdout(&out);
    assert!(got.ends_with(", refused: some\n"), "{}", text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    summary("fork bomb under -P 10", got.trim());
    assert_healthy();
}

/// Four CPU hogs in their own sessions (`setsid`), each measuring its own CPU time over 2 s
/// of wall time. Bare they use well over 40 % of a CPU together; under `--cpu 10` the whole
/// tree stays under it (a generous bound: four times the limit).
#[test]
fn cpu_setsid_descendants_are_throttled() {
    let attack = r#"
import time
r, w = os.pipe()
N = 4
for i in range(N):
    if os.fork() == 0:
        os.setsid()
        t0 = time.monotonic(); c0 = time.process_time()
        while time.monotonic() - t0 < 2.0:
            pass
        os.write(w, b"%f %f\n" % (time.process_time() - c0, time.monotonic() - t0))
        os._exit(0)
os.close(w)
for i in range(N):
    os.wait()
data = b""
while True:
    chunk = os.read(r, 4096)
    if not chunk:
        break
    data += chunk
rows = [tuple(map(float, l.split())) for l in data.decode().splitlines()]
cpu = sum(c for c, _ in rows)
wall = max(w for _, w in rows)
print("share %.3f" % (cpu / wall))
"#;
    let share = |out: &Output| -> f64 {
        stdout(out)
            .trim()
            .strip_prefix("share ")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no share: {}", text(out)))
    };
    let out = bare(attack);
    let bare_share = share(&out);
    assert!(bare_share > 0.4, "bare: {}", text(&out));
    let out = sandboxed(&["--cpu", "10"], attack);
    let sandboxed_share = share(&out);
    assert!(sandboxed_share < 0.4, "sandboxed: {}", text(&out));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    summary(
        "CPU in 4 setsid hogs under --cpu 10",
        &format!("{bare_share:.2} CPU bare, {sandboxed_share:.2} sandboxed"),
    );
    assert_healthy();
}

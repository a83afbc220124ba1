//! Attack battery, syscall ABI group: side doors into the kernel that the seccomp filter must
//! close (foreign ABIs, namespaces, tracing, kernel attack surface).
//!
//! Each test runs the same python3 program bare and under `sandlock run`: bare, the call does
//! what the attacker wants (or, where the current user cannot do it anyway, reaches the kernel
//! and gets the kernel's own answer to a malformed call); sandboxed, it gets the filter's errno.
//! Then the next sandbox must still work.

use sandlock::KernelFeatures;
use sandlock_tests::{is_root, skip_unless, text};

mod common;
use common::{
    DEFAULT_PROFILE, assert_healthy, bare, expect, sandboxed, sandboxed_with_proc, stdout, sysctl,
};

/// Python definitions of the syscall numbers the programs use, from libc's table for the
/// build target, so the programs need no numbers of their own.
fn nr() -> String {
    let table: &[(&str, libc::c_long)] = &[
        ("getpid", libc::SYS_getpid),
        ("unshare", libc::SYS_unshare),
        ("clone", libc::SYS_clone),
        ("clone3", libc::SYS_clone3),
        ("setns", libc::SYS_setns),
        ("personality", libc::SYS_personality),
        ("io_uring_setup", libc::SYS_io_uring_setup),
        ("userfaultfd", libc::SYS_userfaultfd),
        ("bpf", libc::SYS_bpf),
        ("perf_event_open", libc::SYS_perf_event_open),
        ("keyctl", libc::SYS_keyctl),
        ("ptrace", libc::SYS_ptrace),
        ("process_vm_writev", libc::SYS_process_vm_writev),
        ("name_to_handle_at", libc::SYS_name_to_handle_at),
        ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ];
    let mut s: String = table
        .iter()
        .map(|(name, nr)| format!("SYS_{name} = {nr}\n"))
        .collect();
    for (name, value) in [
        ("CLONE_NEWUSER", libc::CLONE_NEWUSER),
        ("CLONE_NEWNET", libc::CLONE_NEWNET),
        ("CLONE_NEWUTS", libc::CLONE_NEWUTS),
        ("SIGCHLD", libc::SIGCHLD),
        ("AT_FDCWD", libc::AT_FDCWD),
    ] {
        s.push_str(&format!("{name} = {value}\n"));
    }
    s
}

/// Whether the running kernel is at least `major.minor` (from `uname -r`, read through /proc).
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

/// `nr()` and `body`, as one program.
fn with_nr(body: &str) -> String {
    format!("{}\n{body}", nr())
}

/// Runs `body` bare and sandboxed (the default profile, or the [`common::proc_policy`] when
/// `with_proc`), expecting `bare_lines` and
/// `sandboxed_lines`, both with exit code 0; then checks the next sandbox works.
fn bare_then_sandboxed(with_proc: bool, body: &str, bare_lines: &[&str], sandboxed_lines: &[&str]) {
    let body = with_nr(body);
    expect(&bare(&body), 0, bare_lines);
    let out = if with_proc {
        sandboxed_with_proc(&[], &body)
    } else {
        sandboxed(DEFAULT_PROFILE, &body)
    };
    expect(&out, 0, sandboxed_lines);
    assert_healthy();
}

/// The x32 ABI (the x86_64 entry with bit 30 set in the number) has its own table: a filter
/// that only checks the number against x86_64 names lets it through. sandlock's filter answers
/// every x32 number with ENOSYS. On this machine the kernel lacks x32 too, so the bare half
/// also sees ENOSYS and cannot prove which of the two answered; the i386 test below proves
/// the filter checks the ABI at all.
#[cfg(target_arch = "x86_64")]
#[test]
fn syscall_abi_x32_numbers() {
    const X32: &str = "X32_SYSCALL_BIT = 0x40000000\n";
    let body = format!(
        "{X32}say('x32 getpid', sc(X32_SYSCALL_BIT | SYS_getpid)[1])\n\
         in_child(lambda: say('x32 unshare(CLONE_NEWUSER)', \
         sc(X32_SYSCALL_BIT | SYS_unshare, CLONE_NEWUSER)[1]))\n"
    );
    let kernel = if KernelFeatures::get().x32.is_available() {
        "ok"
    } else {
        "ENOSYS"
    };
    bare_then_sandboxed(
        false,
        &body,
        &[
            &format!("x32 getpid: {kernel}"),
            &format!("x32 unshare(CLONE_NEWUSER): {kernel}"),
        ],
        &["x32 getpid: ENOSYS", "x32 unshare(CLONE_NEWUSER): ENOSYS"],
    );
}

/// `int 0x80` from a 64-bit process enters the kernel through the i386 table (different
/// numbers, audit arch I386). The filter kills the process: exit 128 + SIGSYS.
#[cfg(target_arch = "x86_64")]
#[test]
fn syscall_abi_i386_int_0x80() {
    if skip_unless(
        KernelFeatures::get().ia32.is_available(),
        "ia32 emulation (int 0x80)",
    ) {
        return;
    }
    // mov eax, 20 (i386 getpid); int 0x80; ret. int 0x80 clobbers only r8-r11, which the C
    // calling convention lets a callee clobber anyway.
    let body = "import mmap\n\
        code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])\n\
        m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n\
        m.write(code)\n\
        fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))\n\
        print('calling int 0x80'); sys.stdout.flush()\n\
        print('i386 getpid: ' + ('ok' if fn() == os.getpid() else 'wrong pid'))\n";
    expect(&bare(body), 0, &["calling int 0x80", "i386 getpid: ok"]);
    let out = sandboxed(DEFAULT_PROFILE, body);
    expect(&out, 128 + libc::SIGSYS, &["calling int 0x80"]);
    assert_healthy();
}

/// clone3 takes its flags behind a pointer, where the filter cannot look: it answers ENOSYS,
/// and libc falls back to clone, whose flags it can check. Bare, clone3 creates a child in a
/// new user (and network) namespace, which an unprivileged user may do on this kernel.
#[test]
fn syscall_abi_clone3_namespaces() {
    let body = "def clone3(label, flags):\n    \
        args = (ctypes.c_char * 64).from_buffer(bytearray(struct.pack('<8Q', flags, 0, 0, 0, SIGCHLD, 0, 0, 0)))\n    \
        sys.stdout.flush()\n    \
        r, e = sc(SYS_clone3, addr(args), 64)\n    \
        if r == 0:\n        os._exit(0)\n    \
        if r > 0:\n        os.waitpid(r, 0)\n    \
        say(label, e)\n\
        clone3('clone3(CLONE_NEWUSER)', CLONE_NEWUSER)\n\
        clone3('clone3(CLONE_NEWUSER|CLONE_NEWNET)', CLONE_NEWUSER | CLONE_NEWNET)\n";
    bare_then_sandboxed(
        false,
        body,
        &[
            "clone3(CLONE_NEWUSER): ok",
            "clone3(CLONE_NEWUSER|CLONE_NEWNET): ok",
        ],
        &[
            "clone3(CLONE_NEWUSER): ENOSYS",
            "clone3(CLONE_NEWUSER|CLONE_NEWNET): ENOSYS",
        ],
    );
}

/// The fork-like raw clone(flags | SIGCHLD): the child exits at once.
const CLONE: &str = "def clone(label, flags):\n    \
    sys.stdout.flush()\n    \
    r, e = sc(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0)\n    \
    if r == 0:\n        os._exit(0)\n    \
    if r > 0:\n        os.waitpid(r, 0)\n    \
    say(label, e)\n";

/// A user namespace gives its creator every capability inside it: the door to most kernel
/// exploits that need CAP_SYS_ADMIN or CAP_NET_ADMIN.
#[test]
fn syscall_abi_clone_newuser() {
    let body = format!("{CLONE}clone('clone(CLONE_NEWUSER)', CLONE_NEWUSER)\n");
    bare_then_sandboxed(
        false,
        &body,
        &["clone(CLONE_NEWUSER): ok"],
        &["clone(CLONE_NEWUSER): EPERM"],
    );
}

/// A network namespace. Unprivileged, it needs a user namespace too (the kernel answers a bare
/// CLONE_NEWNET with its own EPERM); root can create one directly.
#[test]
fn syscall_abi_clone_newnet() {
    let body = format!(
        "{CLONE}clone('clone(CLONE_NEWUSER|CLONE_NEWNET)', CLONE_NEWUSER | CLONE_NEWNET)\n\
         clone('clone(CLONE_NEWNET)', CLONE_NEWNET)\n"
    );
    let newnet_alone = if is_root() {
        "clone(CLONE_NEWNET): ok"
    } else {
        "clone(CLONE_NEWNET): EPERM"
    };
    bare_then_sandboxed(
        false,
        &body,
        &["clone(CLONE_NEWUSER|CLONE_NEWNET): ok", newnet_alone],
        &[
            "clone(CLONE_NEWUSER|CLONE_NEWNET): EPERM",
            "clone(CLONE_NEWNET): EPERM",
        ],
    );
}

#[test]
fn syscall_abi_unshare_newuser() {
    let body = "in_child(lambda: say('unshare(CLONE_NEWUSER)', sc(SYS_unshare, CLONE_NEWUSER)[1]))\n\
        in_child(lambda: say('unshare(CLONE_NEWUSER|CLONE_NEWNET)', \
        sc(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNET)[1]))\n";
    bare_then_sandboxed(
        false,
        body,
        &[
            "unshare(CLONE_NEWUSER): ok",
            "unshare(CLONE_NEWUSER|CLONE_NEWNET): ok",
        ],
        &[
            "unshare(CLONE_NEWUSER): EPERM",
            "unshare(CLONE_NEWUSER|CLONE_NEWNET): EPERM",
        ],
    );
}

/// setns joins an existing namespace. A bad fd shows who answers: the kernel says EBADF, the
/// filter EPERM before the kernel looks. Joining one's own UTS namespace needs CAP_SYS_ADMIN,
/// so that half works bare only for root (the kernel's EPERM otherwise).
#[test]
fn syscall_abi_setns() {
    let body = "say('setns(-1)', sc(SYS_setns, -1, 0)[1])\n\
        fd = os.open('/proc/self/ns/uts', os.O_RDONLY)\n\
        in_child(lambda: say('setns(own uts)', sc(SYS_setns, fd, CLONE_NEWUTS)[1]))\n";
    let own = if is_root() {
        "setns(own uts): ok"
    } else {
        "setns(own uts): EPERM"
    };
    // /proc is granted so that the namespace file can be opened inside.
    bare_then_sandboxed(
        true,
        body,
        &["setns(-1): EBADF", own],
        &["setns(-1): EPERM", "setns(own uts): EPERM"],
    );
}

/// READ_IMPLIES_EXEC makes every readable mapping executable after the next exec; the kernel
/// never answers personality() with EPERM, so EPERM is the filter's.
#[test]
fn syscall_abi_personality_read_implies_exec() {
    let body = format!(
        "in_child(lambda: say('personality(READ_IMPLIES_EXEC)', sc(SYS_personality, {})[1]))\n",
        0x0040_0000 // READ_IMPLIES_EXEC, <linux/personality.h>
    );
    bare_then_sandboxed(
        false,
        &body,
        &["personality(READ_IMPLIES_EXEC): ok"],
        &["personality(READ_IMPLIES_EXEC): EPERM"],
    );
}

/// ADDR_NO_RANDOMIZE turns ASLR off for the next exec (`setarch -R`).
#[test]
fn syscall_abi_personality_addr_no_randomize() {
    let body = format!(
        "in_child(lambda: say('personality(ADDR_NO_RANDOMIZE)', sc(SYS_personality, {})[1]))\n",
        0x0004_0000 // ADDR_NO_RANDOMIZE, <linux/personality.h>
    );
    bare_then_sandboxed(
        false,
        &body,
        &["personality(ADDR_NO_RANDOMIZE): ok"],
        &["personality(ADDR_NO_RANDOMIZE): EPERM"],
    );
    // The same through the usual tool: setarch -R cannot turn ASLR off inside.
    let out = common::run_sandboxed(&["--", "setarch", "-R", "true"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
    assert_healthy();
}

/// io_uring runs its operations without seccomp seeing them. The filter answers ENOSYS (so
/// callers fall back); bare, the ring is created.
#[test]
fn syscall_abi_io_uring_setup() {
    let body = "params = (ctypes.c_char * 120)()\n\
        say('io_uring_setup', sc(SYS_io_uring_setup, 1, addr(params))[1])\n";
    bare_then_sandboxed(
        false,
        body,
        &[match sysctl("kernel.io_uring_disabled") {
            // 1: only root (or a configured group); 2: nobody.
            Some(2) => "io_uring_setup: EPERM",
            Some(1) if !is_root() => "io_uring_setup: EPERM",
            _ => "io_uring_setup: ok",
        }],
        &["io_uring_setup: ENOSYS"],
    );
}

/// userfaultfd stalls page faults at chosen points, a classic exploit aid. UFFD_USER_MODE_ONLY
/// (Linux 5.11) is allowed to unprivileged users even with vm.unprivileged_userfaultfd = 0, so
/// it works bare for everyone there. Older kernels reject the flag (EINVAL), after refusing
/// unprivileged users with EPERM when that sysctl is 0.
#[test]
fn syscall_abi_userfaultfd() {
    let body = format!(
        "say('userfaultfd(UFFD_USER_MODE_ONLY)', sc(SYS_userfaultfd, 1 | {})[1])\n",
        libc::O_CLOEXEC
    );
    bare_then_sandboxed(
        false,
        &body,
        &[if kernel_at_least(5, 11) {
            "userfaultfd(UFFD_USER_MODE_ONLY): ok"
        } else if !is_root() && sysctl("vm.unprivileged_userfaultfd") == Some(0) {
            "userfaultfd(UFFD_USER_MODE_ONLY): EPERM"
        } else {
            "userfaultfd(UFFD_USER_MODE_ONLY): EINVAL"
        }],
        &["userfaultfd(UFFD_USER_MODE_ONLY): EPERM"],
    );
}

/// bpf: a malformed call reaches the kernel bare (EINVAL) and the filter in the sandbox (EPERM).
/// Creating a real map works bare for root; with kernel.unprivileged_bpf_disabled others get
/// the kernel's EPERM (before Linux 6.5 even for the malformed call, checked first).
#[test]
fn syscall_abi_bpf() {
    // BPF_MAP_CREATE of a one-entry array map: map_type 2, key and value 4 bytes.
    let body = "say('bpf(malformed)', sc(SYS_bpf, 0, 0, 0)[1])\n\
        attr = (ctypes.c_char * 16).from_buffer(bytearray(struct.pack('<4I', 2, 4, 4, 1)))\n\
        say('bpf(BPF_MAP_CREATE)', sc(SYS_bpf, 0, addr(attr), 16)[1])\n";
    let unprivileged_refused = !is_root() && sysctl("kernel.unprivileged_bpf_disabled") != Some(0);
    let map = if unprivileged_refused {
        "bpf(BPF_MAP_CREATE): EPERM"
    } else {
        "bpf(BPF_MAP_CREATE): ok"
    };
    let malformed = if unprivileged_refused && !kernel_at_least(6, 5) {
        "bpf(malformed): EPERM"
    } else {
        "bpf(malformed): EINVAL"
    };
    bare_then_sandboxed(
        false,
        body,
        &[malformed, map],
        &["bpf(malformed): EPERM", "bpf(BPF_MAP_CREATE): EPERM"],
    );
}

/// perf_event_open: a user-space-only software counter on oneself, which
/// kernel.perf_event_paranoid up to 2 allows every user (Debian's 3 allows only root).
#[test]
fn syscall_abi_perf_event_open() {
    // struct perf_event_attr, PERF_ATTR_SIZE_VER0 (64 bytes): type PERF_TYPE_SOFTWARE (1),
    // config PERF_COUNT_SW_CPU_CLOCK (0), flags exclude_kernel | exclude_hv (bits 5 and 6).
    let body = "a = struct.pack('<IIQQQQQIIQ', 1, 64, 0, 0, 0, 0, (1 << 5) | (1 << 6), 0, 0, 0)\n\
        attr = (ctypes.c_char * 64).from_buffer(bytearray(a))\n\
        say('perf_event_open', sc(SYS_perf_event_open, addr(attr), 0, -1, -1, 0)[1])\n";
    bare_then_sandboxed(
        false,
        body,
        &[
            if !is_root() && sysctl("kernel.perf_event_paranoid").is_some_and(|p| p > 2) {
                "perf_event_open: EACCES"
            } else {
                "perf_event_open: ok"
            },
        ],
        &["perf_event_open: EPERM"],
    );
}

/// Kernel keyrings are not namespaced: KEYCTL_GET_KEYRING_ID (0) of the session keyring (-3).
#[test]
fn syscall_abi_keyctl() {
    let body = "say('keyctl(GET_KEYRING_ID)', sc(SYS_keyctl, 0, -3, 0)[1])\n";
    bare_then_sandboxed(
        false,
        body,
        &["keyctl(GET_KEYRING_ID): ok"],
        &["keyctl(GET_KEYRING_ID): EPERM"],
    );
}

/// ptrace of a sibling (PTRACE_ATTACH from one child to another) and PTRACE_TRACEME. Without
/// Yama (this machine) both work bare for the same user; Yama's scopes are honoured bare.
#[test]
fn syscall_abi_ptrace_sibling() {
    // PTRACE_TRACEME 0, PTRACE_ATTACH 16, PTRACE_DETACH 17.
    let body = "def traceme():\n    say('ptrace(PTRACE_TRACEME)', sc(SYS_ptrace, 0, 0, 0, 0)[1])\n\
        in_child(traceme)\n\
        r, w = os.pipe()\n\
        victim = os.fork()\n\
        if victim == 0:\n    os.read(r, 1)\n    os._exit(0)\n\
        def attach():\n    \
            res, e = sc(SYS_ptrace, 16, victim, 0, 0)\n    \
            if e == 0:\n        os.waitpid(victim, 0)\n        sc(SYS_ptrace, 17, victim, 0, 0)\n    \
            say('ptrace(PTRACE_ATTACH, sibling)', e)\n\
        in_child(attach)\n\
        os.write(w, b'x')\n\
        os.waitpid(victim, 0)\n";
    bare_then_sandboxed(
        false,
        body,
        &[
            if common::may_traceme() {
                "ptrace(PTRACE_TRACEME): ok"
            } else {
                "ptrace(PTRACE_TRACEME): EPERM"
            },
            if common::may_trace_sibling() {
                "ptrace(PTRACE_ATTACH, sibling): ok"
            } else {
                "ptrace(PTRACE_ATTACH, sibling): EPERM"
            },
        ],
        &[
            "ptrace(PTRACE_TRACEME): EPERM",
            "ptrace(PTRACE_ATTACH, sibling): EPERM",
        ],
    );
}

/// process_vm_writev: bare, a process writes a byte into its own child (same credentials: the
/// ptrace check passes) and the child sees it. Sandboxed, the same write is EPERM, and so is a
/// write into the supervisor (the parent of the sandbox's init, found through /proc).
#[test]
fn syscall_abi_process_vm_writev_into_the_supervisor() {
    let common = "def pvw(pid, remote):\n    \
            src = ctypes.create_string_buffer(b'W', 1)\n    \
            local = struct.pack('<QQ', addr(src), 1)\n    \
            rem = struct.pack('<QQ', remote, 1)\n    \
            liov = ctypes.create_string_buffer(local, 16)\n    \
            riov = ctypes.create_string_buffer(rem, 16)\n    \
            return sc(SYS_process_vm_writev, pid, addr(liov), 1, addr(riov), 1, 0)[1]\n\
        target = ctypes.create_string_buffer(b'.', 1)\n\
        r, w = os.pipe()\n\
        r2, w2 = os.pipe()\n\
        child = os.fork()\n\
        if child == 0:\n    \
            os.read(r, 1)\n    \
            os.write(w2, target.raw)\n    \
            os._exit(0)\n\
        e = pvw(child, addr(target))\n\
        os.write(w, b'x')\n\
        seen = os.read(r2, 1)\n\
        os.waitpid(child, 0)\n\
        say('process_vm_writev(child)', e)\n\
        print('child saw ' + seen.decode())\n";
    let body = with_nr(common);
    expect(
        &bare(&body),
        0,
        &if common::may_trace_child() {
            ["process_vm_writev(child): ok", "child saw W"]
        } else {
            ["process_vm_writev(child): EPERM", "child saw ."]
        },
    );
    let supervisor = "sup = ppid_of(os.getppid())\n\
        print('target: ' + comm(sup))\n\
        say('process_vm_writev(supervisor)', pvw(sup, 0x10000))\n";
    let body = with_nr(&format!("{common}{supervisor}"));
    let out = sandboxed_with_proc(&[], &body);
    expect(
        &out,
        0,
        &[
            "process_vm_writev(child): EPERM",
            "child saw .",
            "target: hidden",
            "process_vm_writev(supervisor): EPERM",
        ],
    );
    assert_healthy();
}

/// The bare answer to an open_by_handle_at of a NULL handle: EFAULT, or (unprivileged, before
/// 6.14) EPERM from the capability check.
const NULL_PROBE: [&str; 2] = [
    "open_by_handle_at(NULL): EFAULT\n",
    "open_by_handle_at(NULL): EPERM\n",
];

/// open_by_handle_at opens a file by its handle, bypassing every path check (Landlock's
/// included). A handle of a secret file, taken outside the sandbox, is replayed inside. Bare,
/// root opens it (CAP_DAC_READ_SEARCH); others get the kernel's EPERM. A NULL handle shows who
/// answers: the kernel says EFAULT, the filter EPERM. name_to_handle_at is closed too.
#[test]
fn syscall_abi_open_by_handle_at() {
    let dir = sandlock_tests::Scratch::new("handle");
    let secret = dir.join("secret");
    std::fs::write(&secret, "top secret\n").unwrap();
    let get_handle = format!(
        "h = ctypes.create_string_buffer(8 + 128)\n\
         struct.pack_into('<I', h, 0, 128)\n\
         mnt = ctypes.c_int(0)\n\
         e = sc(SYS_name_to_handle_at, AT_FDCWD, ctypes.c_char_p(b'{}'), addr(h), ctypes.addressof(mnt), 0)[1]\n\
         say('name_to_handle_at', e)\n\
         print('handle ' + h.raw.hex())\n",
        secret.display()
    );
    let out = bare(&with_nr(&get_handle));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let s = stdout(&out);
    let handle = s
        .lines()
        .find_map(|l| l.strip_prefix("handle "))
        .expect("a handle")
        .to_owned();
    let open = format!(
        "say('open_by_handle_at(NULL)', sc(SYS_open_by_handle_at, AT_FDCWD, 0, 0)[1])\n\
         h = ctypes.create_string_buffer(bytes.fromhex('{handle}'), 8 + 128)\n\
         mount_fd = os.open(MOUNT, os.O_RDONLY)\n\
         r, e = sc(SYS_open_by_handle_at, mount_fd, addr(h), os.O_RDONLY)\n\
         say('open_by_handle_at(secret)', e)\n\
         if e == 0:\n    print(os.read(r, 100).decode().strip())\n"
    );
    // The mount fd only names the filesystem. Bare it is the secret's dir; inside, where that
    // cannot be opened, /usr (the filter answers before the kernel looks at it).
    let bare_open = with_nr(&format!("MOUNT = '{}'\n{open}", dir.path()));
    let sandboxed_open = with_nr(&format!("MOUNT = '/usr'\n{get_handle}{open}"));
    if !s.starts_with("name_to_handle_at: ok\n") {
        // A filesystem without file handles (ramfs, as in an initramfs): the bare replay is
        // meaningless, the sandboxed answers are not.
        println!("no file handles for {}: {s}", dir.path());
        let out = bare(&bare_open);
        assert!(
            stdout(&out).starts_with(NULL_PROBE[0])
                || (!is_root() && stdout(&out).starts_with(NULL_PROBE[1])),
            "{}",
            text(&out)
        );
    }
    let bare_lines: &[&str] = if is_root() {
        &[
            "open_by_handle_at(NULL): EFAULT",
            "open_by_handle_at(secret): ok",
            "top secret",
        ]
    } else {
        &["open_by_handle_at(secret): EPERM"]
    };
    if s.starts_with("name_to_handle_at: ok\n") {
        let out = bare(&bare_open);
        if is_root() {
            expect(&out, 0, bare_lines);
        } else {
            // Without CAP_DAC_READ_SEARCH, kernels before 6.14 refuse even the NULL handle
            // with EPERM (the capability is checked first); newer ones fault on it first.
            let first = stdout(&out).lines().next().unwrap_or_default().to_owned() + "\n";
            assert!(NULL_PROBE.contains(&first.as_str()), "{}", text(&out));
            assert!(
                stdout(&out).ends_with("open_by_handle_at(secret): EPERM\n"),
                "{}",
                text(&out)
            );
        }
    }
    let out = sandboxed(DEFAULT_PROFILE, &sandboxed_open);
    let s = stdout(&out);
    assert!(
        s.starts_with("name_to_handle_at: EPERM\n"),
        "{}",
        text(&out)
    );
    assert!(
        s.ends_with("open_by_handle_at(NULL): EPERM\nopen_by_handle_at(secret): EPERM\n"),
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_healthy();
}

//! Attack battery, filesystem group: getting at files outside the policy, or changing files
//! the policy only lets the sandbox read.
//!
//! Every test builds the same layout twice (once for the bare run, once for the sandboxed one,
//! since a bare attack changes it): `w/` is writable in the sandbox, `r/f` read-only, and
//! `s/secret` not granted at all. Bare, each attack works; sandboxed, it gets the errno
//! Landlock or the filter answers; then the next sandbox must still work.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sandlock_tests::{Scratch, is_root, sandlock_bin, skip_unless, system_read_args, text};

mod common;
use common::{
    PY, assert_healthy, assert_status_reports_missing, bare, expect, landlock_abi, program,
    refused_without_landlock, sandboxed, sandboxed_command,
};

const SECRET: &str = "top secret";
const READ_ONLY: &str = "read only";

/// The directories one run attacks.
struct Layout {
    dir: Scratch,
}

impl Layout {
    fn new(name: &str) -> Layout {
        let dir = Scratch::new(name);
        for sub in ["w", "r", "s"] {
            std::fs::create_dir(dir.join(sub)).unwrap();
        }
        std::fs::write(dir.join("s/secret"), format!("{SECRET}\n")).unwrap();
        std::fs::write(dir.join("r/f"), format!("{READ_ONLY}\n")).unwrap();
        Layout { dir }
    }

    fn path(&self, sub: &str) -> String {
        self.dir.join(sub).to_str().unwrap().to_owned()
    }

    /// Python definitions of the paths: W, R, S, SECRET, RO_FILE.
    fn py(&self) -> String {
        format!(
            "W = '{w}'\nR = '{r}'\nS = '{s}'\nSECRET = S + '/secret'\nRO_FILE = R + '/f'\n",
            w = self.path("w"),
            r = self.path("r"),
            s = self.path("s"),
        )
    }

    /// The system paths, `r/` read-only and `w/` writable; `s/` is not granted.
    fn policy(&self) -> Vec<String> {
        let mut args = system_read_args();
        args.extend(["-r".into(), self.path("r"), "-w".into(), self.path("w")]);
        args
    }

    /// [`Layout::policy`] and /proc.
    fn policy_with_proc(&self) -> Vec<String> {
        let mut args = self.policy();
        args.extend(["-r".into(), "/proc".into()]);
        args
    }

    fn read(&self, sub: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(sub)).ok()
    }

    fn exists(&self, sub: &str) -> bool {
        self.dir.join(sub).symlink_metadata().is_ok()
    }
}

/// Runs `body` bare on one layout and sandboxed (under [`Layout::policy`]) on another,
/// expecting `bare_lines` and `sandboxed_lines` and exit code 0 from both; checks the next
/// sandbox works. Returns the two layouts for checks of what the attack left behind.
fn bare_then_sandboxed(
    name: &str,
    body: &str,
    bare_lines: &[&str],
    sandboxed_lines: &[&str],
) -> (Layout, Layout) {
    let bare_layout = Layout::new(&format!("{name}-bare"));
    expect(&bare(&format!("{}{body}", bare_layout.py())), 0, bare_lines);
    let sandboxed_layout = Layout::new(&format!("{name}-sandboxed"));
    let out = sandboxed(
        &sandboxed_layout.policy(),
        &format!("{}{body}", sandboxed_layout.py()),
    );
    expect(&out, 0, sandboxed_lines);
    assert_healthy();
    (bare_layout, sandboxed_layout)
}

#[test]
fn filesystem_read_outside_the_granted_paths() {
    if refused_without_landlock() {
        return;
    }
    // Three spellings: a plain open, a directory listing, and an O_PATH handle on the
    // directory (which Landlock does not check) used as the base of an openat.
    let body = "attempt('open(secret)', lambda: open(SECRET).read())\n\
        attempt('listdir(s)', lambda: os.listdir(S))\n\
        def via_o_path():\n    \
            d = os.open(S, os.O_PATH)\n    \
            return os.read(os.open('secret', os.O_RDONLY, dir_fd=d), 100)\n\
        attempt('openat(O_PATH dir, secret)', via_o_path)\n";
    bare_then_sandboxed(
        "read",
        body,
        &[
            "open(secret): ok",
            "listdir(s): ok",
            "openat(O_PATH dir, secret): ok",
        ],
        &[
            "open(secret): EACCES",
            "listdir(s): EACCES",
            "openat(O_PATH dir, secret): EACCES",
        ],
    );
}

#[test]
fn filesystem_write_under_a_read_only_path() {
    if refused_without_landlock() {
        return;
    }
    let body = "attempt('create', lambda: open(R + '/new', 'w'))\n\
        attempt('append', lambda: open(RO_FILE, 'a'))\n\
        attempt('mkdir', lambda: os.mkdir(R + '/d'))\n\
        attempt('unlink', lambda: os.unlink(RO_FILE))\n";
    let (_, sandboxed) = bare_then_sandboxed(
        "ro",
        body,
        &["create: ok", "append: ok", "mkdir: ok", "unlink: ok"],
        &[
            "create: EACCES",
            "append: EACCES",
            "mkdir: EACCES",
            "unlink: EACCES",
        ],
    );
    assert_eq!(
        sandboxed.read("r/f").as_deref(),
        Some(&*format!("{READ_ONLY}\n"))
    );
    assert!(!sandboxed.exists("r/new") && !sandboxed.exists("r/d"));
}

/// truncate(2) by path needs no open for writing: Landlock handles it from ABI 3 on. Before
/// that the truncation goes through, and sandlock reports it as not enforced.
#[test]
fn filesystem_truncate_a_read_only_file() {
    if refused_without_landlock() {
        return;
    }
    let enforced = landlock_abi() >= 3;
    if !enforced {
        assert_status_reports_missing("truncate (ABI 3)");
    }
    let body = "attempt('truncate', lambda: os.truncate(RO_FILE, 0))\n";
    let sandboxed_line = if enforced {
        "truncate: EACCES"
    } else {
        "truncate: ok"
    };
    let (bare, sandboxed) =
        bare_then_sandboxed("truncate", body, &["truncate: ok"], &[sandboxed_line]);
    assert_eq!(bare.read("r/f").as_deref(), Some(""));
    let left = if enforced {
        format!("{READ_ONLY}\n")
    } else {
        String::new()
    };
    assert_eq!(sandboxed.read("r/f").as_deref(), Some(&*left));
}

/// A symlink in the writable dir pointing at the secret: creating it is allowed (it is just a
/// name in w/), reading through it is not (Landlock checks the resolved file).
#[test]
fn filesystem_symlink_out_of_a_writable_dir() {
    if refused_without_landlock() {
        return;
    }
    let body = "attempt('symlink', lambda: os.symlink(SECRET, W + '/link'))\n\
        attempt('read through it', lambda: open(W + '/link').read())\n";
    bare_then_sandboxed(
        "symlink",
        body,
        &["symlink: ok", "read through it: ok"],
        &["symlink: ok", "read through it: EACCES"],
    );
}

/// A hard link would give the secret (or a read-only file) a second name inside the writable
/// dir, where the policy would allow reading (or writing) it. Landlock refuses to reparent
/// across its rules with EXDEV.
#[test]
fn filesystem_hardlink_out_of_a_writable_dir() {
    if refused_without_landlock() {
        return;
    }
    let body = "attempt('link(secret)', lambda: os.link(SECRET, W + '/secret'))\n\
        attempt('link(read-only file)', lambda: os.link(RO_FILE, W + '/f'))\n";
    let (bare, sandboxed) = bare_then_sandboxed(
        "hardlink",
        body,
        &["link(secret): ok", "link(read-only file): ok"],
        &["link(secret): EXDEV", "link(read-only file): EXDEV"],
    );
    assert!(bare.exists("w/secret"));
    assert!(!sandboxed.exists("w/secret") && !sandboxed.exists("w/f"));
}

/// Moving a file out of a read-only (or ungranted) dir into the writable one would make it
/// writable there; it needs the right to remove it from its dir, which the sandbox lacks.
#[test]
fn filesystem_rename_from_a_read_only_dir_into_a_writable_one() {
    if refused_without_landlock() {
        return;
    }
    // ABI 1 answers every rename across directories with EXDEV on its own kernels, but with
    // EACCES on newer kernels restricted to ABI 1's rights: one errno cannot be told apart.
    if skip_unless(
        landlock_abi() >= 2,
        "Landlock ABI 2 (rename across directories)",
    ) {
        return;
    }
    let body = "attempt('rename(read-only file)', lambda: os.rename(RO_FILE, W + '/f'))\n\
        attempt('rename(secret)', lambda: os.rename(SECRET, W + '/secret'))\n";
    let (_, sandboxed) = bare_then_sandboxed(
        "rename",
        body,
        &["rename(read-only file): ok", "rename(secret): ok"],
        &["rename(read-only file): EACCES", "rename(secret): EACCES"],
    );
    assert!(sandboxed.exists("r/f") && sandboxed.exists("s/secret"));
    assert!(!sandboxed.exists("w/f") && !sandboxed.exists("w/secret"));
}

/// `..` out of the writable dir: by path, from the cwd, and relative to a dir fd.
#[test]
fn filesystem_dotdot_traversal() {
    if refused_without_landlock() {
        return;
    }
    let body = "attempt('open(w/../s/secret)', lambda: open(W + '/../s/secret').read())\n\
        os.chdir(W)\n\
        attempt('open(../s/secret) from w', lambda: open('../s/secret').read())\n\
        d = os.open(W, os.O_RDONLY | os.O_DIRECTORY)\n\
        attempt('openat(w, ../s/secret)', lambda: os.open('../s/secret', os.O_RDONLY, dir_fd=d))\n";
    bare_then_sandboxed(
        "dotdot",
        body,
        &[
            "open(w/../s/secret): ok",
            "open(../s/secret) from w: ok",
            "openat(w, ../s/secret): ok",
        ],
        &[
            "open(w/../s/secret): EACCES",
            "open(../s/secret) from w: EACCES",
            "openat(w, ../s/secret): EACCES",
        ],
    );
}

/// The /proc magic links jump to another root or cwd without a path walk from `/`. sandlock is
/// started with s/ (not granted) as its working directory, which the init and the command
/// inherit; /proc is granted read-only. The same program bare runs under a `sh` started in
/// s/, so that its parent's cwd is s/ too.
#[test]
fn filesystem_proc_self_root_and_pid_cwd() {
    if refused_without_landlock() {
        return;
    }
    let body = "P = os.getppid()\n\
        attempt('/proc/self/root/...secret', lambda: open('/proc/self/root' + SECRET).read())\n\
        attempt('/proc/self/cwd/secret', lambda: open('/proc/self/cwd/secret').read())\n\
        attempt('/proc/PPID/cwd/secret', lambda: open('/proc/%d/cwd/secret' % P).read())\n\
        attempt('/proc/PPID/root/...secret', lambda: open('/proc/%d/root%s' % (P, SECRET)).read())\n\
        attempt('listdir(cwd)', lambda: os.listdir('.'))\n";
    let bare_layout = Layout::new("procroot-bare");
    let prog = format!("{}{body}", bare_layout.py());
    // `sh` runs python3 as a child (not exec: a command follows it), so the parent's cwd is s/.
    let out = Command::new("sh")
        .args(["-c", "\"$0\" -c \"$1\"; exit $?", PY, &program(&prog)])
        .current_dir(bare_layout.path("s"))
        .output()
        .unwrap();
    let opened = [
        "/proc/self/root/...secret: ok",
        "/proc/self/cwd/secret: ok",
        "/proc/PPID/cwd/secret: ok",
        "/proc/PPID/root/...secret: ok",
        "listdir(cwd): ok",
    ];
    expect(&out, 0, &opened);
    let layout = Layout::new("procroot-sandboxed");
    let out = sandboxed_command(
        &layout.policy_with_proc(),
        &format!("{}{body}", layout.py()),
    )
    .current_dir(layout.path("s"))
    .output()
    .unwrap();
    expect(
        &out,
        0,
        &[
            "/proc/self/root/...secret: EACCES",
            "/proc/self/cwd/secret: EACCES",
            // The init (the parent) shares the supervisor's memory: /proc hides it.
            "/proc/PPID/cwd/secret: ENOENT",
            "/proc/PPID/root/...secret: ENOENT",
            "listdir(cwd): EACCES",
        ],
    );
    assert_healthy();
}

/// A caller that leaks fds into the sandbox (a shell's `exec 9<dir`, without close-on-exec)
/// would hand it a directory outside the policy, usable with openat, and a writable file.
/// sandlock closes every fd but 0-2: both are EBADF inside.
#[test]
fn filesystem_inherited_fd_to_an_outside_dir() {
    if refused_without_landlock() {
        return;
    }
    let body = "attempt('openat(fd 9, secret)', lambda: os.read(os.open('secret', os.O_RDONLY, dir_fd=9), 100))\n\
        attempt('write(fd 8)', lambda: os.write(8, b'x'))\n";
    let shell = |layout: &Layout, exec: &str| {
        format!(
            "exec 9<'{s}' 8>>'{s}/secret'; exec {exec}",
            s = layout.path("s")
        )
    };
    let bare_layout = Layout::new("fd-bare");
    let prog = format!("{}{body}", bare_layout.py());
    let out = Command::new("sh")
        .args([
            "-c",
            &shell(&bare_layout, "\"$0\" -c \"$1\""),
            PY,
            &program(&prog),
        ])
        .output()
        .unwrap();
    expect(&out, 0, &["openat(fd 9, secret): ok", "write(fd 8): ok"]);
    let layout = Layout::new("fd-sandboxed");
    let prog = format!("{}{body}", layout.py());
    let mut inner: Vec<String> = vec![sandlock_bin().to_str().unwrap().to_owned(), "run".into()];
    inner.extend(layout.policy());
    inner.extend(["--".into(), PY.into(), "-c".into(), program(&prog)]);
    // "$@" keeps each argument whole.
    let out = Command::new("sh")
        .args(["-c", &shell(&layout, "\"$@\""), "sh"])
        .args(&inner)
        .output()
        .unwrap();
    expect(
        &out,
        0,
        &["openat(fd 9, secret): EBADF", "write(fd 8): EBADF"],
    );
    assert_eq!(
        layout.read("s/secret").as_deref(),
        Some(&*format!("{SECRET}\n"))
    );
    assert_healthy();
}

/// /proc/PID/mem writes any memory of a process the writer may ptrace. Bare, a process opens
/// its own and its child's for writing. Sandboxed (with /proc granted read-only) its own is
/// refused for writing, and the init's and the supervisor's even for reading: the init shares
/// the supervisor's memory (CLONE_VM), and both are outside the Landlock domain.
#[test]
fn filesystem_proc_pid_mem() {
    if refused_without_landlock() {
        return;
    }
    let common = "r, w = os.pipe()\n\
        child = os.fork()\n\
        if child == 0:\n    os.read(r, 1)\n    os._exit(0)\n\
        attempt('/proc/self/mem rw', lambda: open('/proc/self/mem', 'r+b', buffering=0))\n\
        attempt('/proc/CHILD/mem rw', lambda: open('/proc/%d/mem' % child, 'r+b', buffering=0))\n";
    let end = "os.write(w, b'x')\nos.waitpid(child, 0)\n";
    expect(
        &bare(&format!("{common}{end}")),
        0,
        &[
            "/proc/self/mem rw: ok",
            if common::may_trace_child() {
                "/proc/CHILD/mem rw: ok"
            } else {
                "/proc/CHILD/mem rw: EACCES"
            },
        ],
    );
    let supervisor = "init = os.getppid()\n\
        sup = ppid_of(init)\n\
        print('supervisor: ' + comm(sup))\n\
        attempt('/proc/INIT/mem r', lambda: open('/proc/%d/mem' % init, 'rb', buffering=0))\n\
        attempt('/proc/SUPERVISOR/mem r', lambda: open('/proc/%d/mem' % sup, 'rb', buffering=0))\n";
    let layout = Layout::new("mem");
    let out = sandboxed(
        &layout.policy_with_proc(),
        &format!("{common}{supervisor}{end}"),
    );
    expect(
        &out,
        0,
        &[
            "/proc/self/mem rw: EACCES",
            "/proc/CHILD/mem rw: EACCES",
            "supervisor: hidden",
            "/proc/INIT/mem r: ENOENT",
            "/proc/SUPERVISOR/mem r: ENOENT",
        ],
    );
    assert_healthy();
}

/// A device node in the writable dir would reach hardware or kernel memory past the policy
/// (/dev/mem, a disk). Root can make one bare; others get the kernel's EPERM. A FIFO, which the
/// filter allows, shows that the sandbox's EPERM is for devices only.
#[test]
fn filesystem_mknod_device() {
    if refused_without_landlock() {
        return;
    }
    let body = "attempt('mkfifo', lambda: os.mkfifo(W + '/fifo'))\n\
        attempt('mknod(char 1:3)', lambda: os.mknod(W + '/null', 0o20666, os.makedev(1, 3)))\n\
        attempt('mknod(block 7:0)', lambda: os.mknod(W + '/loop', 0o60666, os.makedev(7, 0)))\n";
    let (chr, blk) = if is_root() {
        ("mknod(char 1:3): ok", "mknod(block 7:0): ok")
    } else {
        ("mknod(char 1:3): EPERM", "mknod(block 7:0): EPERM")
    };
    let (_, sandboxed) = bare_then_sandboxed(
        "mknod",
        body,
        &["mkfifo: ok", chr, blk],
        &[
            "mkfifo: ok",
            "mknod(char 1:3): EPERM",
            "mknod(block 7:0): EPERM",
        ],
    );
    assert!(!sandboxed.exists("w/null") && !sandboxed.exists("w/loop"));
}

/// The mode bits of a regular file in the writable dir, as octal.
fn mode(layout: &Layout, sub: &str) -> String {
    let m = std::fs::metadata(Path::new(&layout.path(sub)))
        .unwrap()
        .permissions()
        .mode();
    format!("{:o}", m & 0o7777)
}

/// A setuid or setgid file left in a writable dir outlives the sandbox: if root runs it, a
/// root-owned setuid binary with the sandbox's content. chmod, fchmod and fchmodat with
/// S_ISUID or S_ISGID are EPERM; a plain chmod still works.
#[test]
fn filesystem_chmod_setuid() {
    if refused_without_landlock() {
        return;
    }
    let body = "open(W + '/f', 'w').close()\n\
        attempt('chmod(04755)', lambda: os.chmod(W + '/f', 0o4755))\n\
        attempt('chmod(02755)', lambda: os.chmod(W + '/f', 0o2755))\n\
        fd = os.open(W + '/f', os.O_RDONLY)\n\
        attempt('fchmod(06755)', lambda: os.fchmod(fd, 0o6755))\n\
        attempt('chmod(0700)', lambda: os.chmod(W + '/f', 0o700))\n";
    let (bare, sandboxed) = bare_then_sandboxed(
        "chmod",
        body,
        &[
            "chmod(04755): ok",
            "chmod(02755): ok",
            "fchmod(06755): ok",
            "chmod(0700): ok",
        ],
        &[
            "chmod(04755): EPERM",
            "chmod(02755): EPERM",
            "fchmod(06755): EPERM",
            "chmod(0700): ok",
        ],
    );
    assert_eq!(mode(&bare, "w/f"), "700");
    assert_eq!(mode(&sandboxed, "w/f"), "700");
}

/// The same setuid file without chmod: the mode given when the file is created, by open with
/// O_CREAT, by openat2 (whose mode sits behind a pointer) or by mknod of a regular file, keeps
/// S_ISUID (only S_ISGID is ever stripped, in a setgid dir). As root, with CAP_FSETID, writes
/// do not clear the bit either: a root sandbox could leave a setuid-root binary of its choice
/// behind. (Found by this test; closed in the filter by commit 77393f0: the creating calls are
/// guarded like chmod, and openat2 is ENOSYS.)
#[test]
fn filesystem_create_setuid_file() {
    if refused_without_landlock() {
        return;
    }
    let body = "os.umask(0)\n\
        attempt('open(O_CREAT, 04755)', lambda: os.close(os.open(W + '/suid', os.O_CREAT | os.O_WRONLY, 0o4755)))\n\
        attempt('mknod(S_IFREG | 04755)', lambda: os.mknod(W + '/suid2', 0o104755))\n\
        how = ctypes.create_string_buffer(struct.pack('<QQQ', os.O_CREAT | os.O_WRONLY, 0o4755, 0), 24)\n\
        path = ctypes.c_char_p((W + '/suid3').encode())\n\
        say('openat2(O_CREAT, 04755)', sc(SYS_openat2, -100, path, addr(how), 24)[1])\n";
    let body = format!("SYS_openat2 = {}\n{body}", libc::SYS_openat2);
    let body = body.as_str();
    let bare_layout = Layout::new("create-suid-bare");
    expect(
        &bare(&format!("{}{body}", bare_layout.py())),
        0,
        &[
            "open(O_CREAT, 04755): ok",
            "mknod(S_IFREG | 04755): ok",
            "openat2(O_CREAT, 04755): ok",
        ],
    );
    assert_eq!(mode(&bare_layout, "w/suid3"), "4755");
    assert_eq!(mode(&bare_layout, "w/suid"), "4755");
    let layout = Layout::new("create-suid-sandboxed");
    let out = sandboxed(&layout.policy(), &format!("{}{body}", layout.py()));
    let modes: Vec<String> = ["w/suid", "w/suid2", "w/suid3"]
        .iter()
        .filter(|p| layout.exists(p))
        .map(|p| format!("{p} {}", mode(&layout, p)))
        .collect();
    assert_healthy();
    expect(
        &out,
        0,
        &[
            "open(O_CREAT, 04755): EPERM",
            "mknod(S_IFREG | 04755): EPERM",
            "openat2(O_CREAT, 04755): ENOSYS",
        ],
    );
    assert!(modes.is_empty(), "left behind: {modes:?}\n{}", text(&out));
}

//! `cargo xtask kernel-matrix`: the test suite under several kernels.
//!
//! Sandboxes break on kernels their authors do not run, so this boots each kernel of a small
//! matrix (Debian's `cloud-amd64` builds, see [`debian`]) in qemu and runs the end-to-end and
//! kernel tests there, as root and as `nobody`:
//!
//! 1. The workspace's own test binaries and `sandlock` are built on the host (`cargo test
//!    --no-run --message-format=json` names them).
//! 2. An initramfs is written directly as a `newc` cpio ([`cpio`]): busybox, an `/init` script,
//!    the binaries at their host absolute paths with the shared libraries `ldd` names, host
//!    `setpriv` (busybox's cannot change uid), and python3 with most of its standard library
//!    (some tests drive sockets and pseudo-terminals with it).
//! 3. Each kernel boots under qemu. `/dev/kvm` on the machines this was written on is a
//!    paravirtual KVM (`kvm_pvm`) that cannot run stock kernels, so KVM is used only when it is
//!    not PVM and a short self-test boot works; otherwise TCG. The kernel log goes to the first
//!    serial port, the tests' output to the second (`/dev/ttyS1`), framed by `KM_*` lines.
//! 4. Each configuration *declares* what its kernel lacks, in the syntax of
//!    `SANDLOCK_FAKE_FEATURES` (`landlock=2,no-sync-wake-up`). The run fails when `sandlock
//!    check` in the guest disagrees with the declaration, and when a test skips for a reason the
//!    declaration does not cover. The declaration is also passed to the tests as
//!    `SANDLOCK_TEST_REQUIRE` (`all` where nothing is missing).
//!
//! `--fake-features` runs the host suite once per `SANDLOCK_FAKE_FEATURES` override instead
//! (as root and, when run as root, as `nobody`), which walks the fallback paths without a VM.
//! Each override is also the run's `SANDLOCK_TEST_REQUIRE`, so a skip it does not explain fails.
//!
//! Every run's whole output stays in `target/kernel-matrix/`: `CONFIG.out` (the guest's second
//! serial port) and `CONFIG.log` (its kernel log) for a VM, `host[-OVERRIDE]-USER.out` for a
//! host run.

mod cpio;
mod debian;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TaskResult, cargo_command, workspace_root};
use cpio::{Entry, Tree};

/// One row of the matrix: a kernel, its command line, and what it is declared to lack.
struct Config {
    name: &'static str,
    /// The key in `xtask/kernels.lock`; `None` runs on the host, without a VM.
    kernel: Option<&'static str>,
    /// Extra kernel command-line words.
    cmdline: &'static str,
    /// What this kernel lacks, as `SANDLOCK_FAKE_FEATURES` tokens: `landlock=N` and
    /// `no-<feature>`. Empty means nothing the tests probe is missing.
    lacks: &'static str,
    /// Part of `--quick` (the CI matrix).
    quick: bool,
}

/// The default matrix. The declarations are facts about the kernels: WAIT_KILLABLE_RECV came
/// in 5.19, ADDFD_FLAG_SEND in 5.14, FD_SYNC_WAKE_UP in 6.6; Debian disables x32 by default;
/// 7.x refuses forced writes to the vDSO through /proc/PID/mem.
const CONFIGS: &[Config] = &[
    Config {
        name: "5.10",
        kernel: Some("5.10"),
        cmdline: "",
        lacks: "landlock=0,no-wait-killable,no-addfd-send,no-sync-wake-up,no-x32",
        quick: false,
    },
    Config {
        name: "6.1",
        kernel: Some("6.1"),
        cmdline: "",
        lacks: "landlock=2,no-sync-wake-up,no-x32",
        quick: true,
    },
    Config {
        name: "6.1-nolandlock",
        kernel: Some("6.1"),
        cmdline: "lsm=lockdown,yama,apparmor,bpf",
        lacks: "landlock=0,no-sync-wake-up,no-x32",
        quick: true,
    },
    Config {
        name: "6.12",
        kernel: Some("6.12"),
        cmdline: "",
        lacks: "landlock=6,no-x32",
        quick: false,
    },
    Config {
        name: "newest",
        kernel: Some("newest"),
        cmdline: "",
        lacks: "no-x32,no-vdso-write",
        quick: false,
    },
    Config {
        name: "host",
        kernel: None,
        cmdline: "",
        lacks: "",
        quick: false,
    },
];

/// Integration-test targets not run in the VMs: `tidy` reads the sources, and the property
/// tests (`*_prop`, and `parse_*` for the parsers of the child's bytes) exercise pure code with
/// thousands of cases, which takes minutes under TCG and involves no kernel.
fn kernel_independent(name: &str) -> bool {
    name == "tidy" || name.ends_with("_prop") || name.starts_with("parse_")
}

/// Integration-test targets run in the VMs only with `--all-tests`, with the reason.
const SLOW_IN_VM: &[(&str, &str)] = &[(
    "million",
    "a throughput test: about 330 s per user under TCG, against 11 s on the host",
)];

/// Host commands the tests run, copied in so that they behave as on the host (dash, not
/// busybox's ash: exit statuses and `sh -c` exec differ; procps for `pkill`, which busybox
/// lacks; redis for a network test); busybox provides the rest.
const HOST_PACKAGES: &[&str] = &[
    "dash",
    "coreutils",
    "grep",
    "sed",
    "procps",
    "redis-server",
    "redis-tools",
];
const HOST_COMMANDS: &[&str] = &["sh", "setarch", "setsid", "unshare"];

/// Overrides `--fake-features` runs the host suite under (plus `landlock=0..host ABI`).
const FAKES: &[&str] = &[
    "no-wait-killable",
    "no-addfd-send",
    "no-pidfd-getfd",
    "no-vdso-write",
];

const NOBODY: &str = "65534";

const USAGE: &str = "\
usage: cargo xtask kernel-matrix [--kernels LIST] [--quick] [--fake-features]
                                 [--update-lock] [--timeout SECS] [--root-only]
                                 [--all-tests] [--exec SCRIPT]

Boots each kernel in qemu and runs the end-to-end and kernel tests in it, as root and as
uid 65534; prints a table. Kernels are Debian packages pinned in xtask/kernels.lock and
cached under target/kernel-matrix.

options:
  --kernels LIST   comma-separated configs (default: all):
                   5.10, 6.1, 6.1-nolandlock, 6.12, newest, host
  --quick          only 6.1 and 6.1-nolandlock (what cargo xtask ci runs)
  --fake-features  instead: the host suite under each SANDLOCK_FAKE_FEATURES override
                   (no-wait-killable, no-addfd-send, no-pidfd-getfd, no-vdso-write,
                   landlock=0..host ABI)
  --update-lock    resolve every kernel to the archive's current version first
  --timeout SECS   per VM (default 1800)
  --root-only      skip the unprivileged run
  --all-tests      also run the slow tests in the VMs (million: about 330 s per user)
  --exec SCRIPT    instead of the tests, run the shell script SCRIPT in each VM as each
                   user (cwd /tmp, $SANDLOCK is the sandlock binary) and print its output
";

struct Options {
    configs: Vec<&'static Config>,
    fake_features: bool,
    update_lock: bool,
    timeout: Duration,
    users: Vec<&'static str>,
    all_tests: bool,
    /// A shell script run in each guest, as each user, instead of the tests.
    exec: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut opts = Options {
        configs: CONFIGS.iter().collect(),
        fake_features: false,
        update_lock: false,
        timeout: Duration::from_secs(1800),
        users: vec!["root", "nobody"],
        all_tests: false,
        exec: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--quick" => opts.configs = CONFIGS.iter().filter(|c| c.quick).collect(),
            "--fake-features" => opts.fake_features = true,
            "--update-lock" => opts.update_lock = true,
            "--root-only" => opts.users = vec!["root"],
            "--all-tests" => opts.all_tests = true,
            "--exec" => {
                let v = it.next().ok_or("--exec needs a script")?;
                opts.exec = Some(PathBuf::from(v));
            }
            "--kernels" | "--timeout" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                if a == "--timeout" {
                    let secs = v
                        .parse()
                        .map_err(|_| format!("--timeout {v}: not a number"))?;
                    opts.timeout = Duration::from_secs(secs);
                } else {
                    opts.configs = v
                        .split(',')
                        .map(|name| {
                            CONFIGS
                                .iter()
                                .find(|c| c.name == name)
                                .ok_or_else(|| format!("--kernels: unknown config {name}"))
                        })
                        .collect::<Result<_, _>>()?;
                }
            }
            other => return Err(format!("kernel-matrix: unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(Some(opts))
}

/// Runs `cargo xtask kernel-matrix ARGS…`.
pub(crate) fn run(args: &[String]) -> TaskResult {
    let Some(opts) = parse(args)? else {
        return Ok(());
    };
    let started = Instant::now();
    let build = build()?;
    let mut rows = Vec::new();
    if opts.fake_features {
        let host_abi = host_landlock_abi(&build.sandlock)?;
        let mut fakes: Vec<String> = FAKES.iter().map(|s| (*s).to_owned()).collect();
        fakes.extend((0..=host_abi).map(|n| format!("landlock={n}")));
        for fake in &fakes {
            rows.push(run_host(&build, &opts.users, Some(fake))?);
        }
    } else {
        if opts.update_lock {
            debian::update_lock()?;
        }
        let vm_configs: Vec<&Config> = opts
            .configs
            .iter()
            .copied()
            .filter(|c| c.kernel.is_some())
            .collect();
        if !vm_configs.is_empty() {
            let kernels = kernels(&vm_configs)?;
            let initrd = write_initramfs(&build, opts.all_tests, opts.exec.as_deref())?;
            let accel = accel(&kernels[0].1, &initrd)?;
            for (config, (_, vmlinuz)) in vm_configs.iter().zip(&kernels) {
                rows.push(run_vm(config, vmlinuz, &initrd, accel, &opts)?);
            }
        }
        if opts.configs.iter().any(|c| c.kernel.is_none()) {
            rows.push(run_host(&build, &opts.users, None)?);
        }
    }
    let ok = print_table(&rows);
    eprintln!(
        "kernel-matrix: total {:.0} s",
        started.elapsed().as_secs_f64()
    );
    if ok {
        Ok(())
    } else {
        Err("kernel-matrix: some configurations failed".to_owned())
    }
}

/// The cargo target directory (where the test binaries and the kernel cache live).
pub(crate) fn target_dir() -> PathBuf {
    let out = cargo_command()
        .args(["metadata", "--format-version=1", "--no-deps"])
        .current_dir(workspace_root())
        .stderr(Stdio::inherit())
        .output();
    out.ok()
        .and_then(|o| json_string(&String::from_utf8_lossy(&o.stdout), "target_directory"))
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// What the matrix runs, built on the host.
struct Build {
    tests: Vec<TestBinary>,
    sandlock: PathBuf,
}

struct TestBinary {
    name: String,
    executable: PathBuf,
    package_dir: PathBuf,
}

fn build() -> Result<Build, String> {
    let root = workspace_root();
    let messages = |args: &[&str]| -> Result<String, String> {
        eprintln!("$ cargo {}", args.join(" "));
        let out = cargo_command()
            .args(args)
            .current_dir(&root)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!("`cargo {}` failed", args.join(" ")));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let tests = messages(&["test", "--workspace", "--no-run", "--message-format=json"])?;
    let bins = messages(&[
        "build",
        "-p",
        "sandlock",
        "--bin",
        "sandlock",
        "--message-format=json",
    ])?;
    let mut build = Build {
        tests: Vec::new(),
        sandlock: PathBuf::new(),
    };
    for line in tests
        .lines()
        .chain(bins.lines())
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\""))
    {
        let (Some(exe), Some(manifest), Some(name)) = (
            json_string(line, "executable"),
            json_string(line, "manifest_path"),
            json_string(line, "name"),
        ) else {
            continue;
        };
        if line.contains("\"kind\":[\"test\"]") {
            build.tests.push(TestBinary {
                name,
                executable: exe.into(),
                package_dir: Path::new(&manifest).parent().unwrap_or(&root).to_owned(),
            });
        } else if line.contains("\"kind\":[\"bin\"]") && name == "sandlock" {
            build.sandlock = exe.into();
        }
    }
    if build.sandlock.as_os_str().is_empty() || build.tests.is_empty() {
        return Err("cargo named no sandlock binary or no test binaries".to_owned());
    }
    build.tests.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(build)
}

/// The string value of `"key":"…"` in cargo's JSON (the paths here hold no escapes).
fn json_string(text: &str, key: &str) -> Option<String> {
    let start = text.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned())
}

/// The vmlinuz of every kernel the configs need, by config name.
fn kernels(configs: &[&Config]) -> Result<Vec<(&'static str, PathBuf)>, String> {
    let mut locked = debian::read_lock()?;
    let missing = configs
        .iter()
        .any(|c| !locked.iter().any(|l| Some(l.key.as_str()) == c.kernel));
    if missing {
        eprintln!(
            "kernel-matrix: {} lacks a kernel; resolving",
            debian::lock_path().display()
        );
        locked = debian::update_lock()?;
    }
    let mut out = Vec::new();
    for c in configs {
        let l = locked
            .iter()
            .find(|l| Some(l.key.as_str()) == c.kernel)
            .ok_or_else(|| format!("no kernel {:?} in the lock", c.kernel))?;
        out.push((c.name, debian::vmlinuz(l)?));
    }
    Ok(out)
}

/// The guest's `/init`. Per-config settings come from the kernel command line (`km.*`).
const INIT: &str = r#"#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# As on a host (systemd mounts it): the Landlock probe reads the active LSMs there.
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx
# /tmp stays on the root tmpfs, as on a host whose /tmp is on /: some tests pass file handles
# between it and other directories.
chmod 1777 /tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ip link set lo up
hostname sandlock-km
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec </dev/null >/dev/ttyS1 2>&1
require= users=root selftest=
for w in $(cat /proc/cmdline); do
    case "$w" in
    km.require=*) require=${w#km.require=} ;;
    km.users=*) users=${w#km.users=} ;;
    km.selftest) selftest=1 ;;
    esac
done
echo KM_BEGIN
if [ -n "$selftest" ]; then
    echo KM_SELFTEST_OK
    poweroff -f
fi
echo "KM_UNAME $(uname -r)"
@SANDLOCK@ check 2>&1 | sed 's/^/KM_CHECK /'
# Runs a command as $user ("root" or "nobody"), with a HOME of its own.
as_user() {
    if [ "$user" = root ]; then
        env HOME=/root "$@"
    else
        @SETPRIV@ --reuid=65534 --regid=65534 --clear-groups -- env HOME=/tmp "$@"
    fi
}
for user in $(echo "$users" | tr , ' '); do
    if [ -f /km/exec ]; then
        echo "KM_EXEC $user"
        cd /tmp
        as_user SANDLOCK=@SANDLOCK@ sh /km/exec </dev/null
        echo "KM_RC $?"
        continue
    fi
    while read -r name dir exe; do
        echo "KM_BIN $user $name"
        cd "$dir"
        as_user SANDLOCK_TEST_REQUIRE="$require" \
            timeout -k 10 900 "$exe" --show-output </dev/null
        rc=$?
        [ $rc = 124 ] && echo KM_TIMEOUT
        echo "KM_RC $rc"
    done </km/tests
done
echo KM_END
poweroff -f
"#;

/// Writes the initramfs every VM boots, and returns its path.
fn write_initramfs(build: &Build, all_tests: bool, exec: Option<&Path>) -> Result<PathBuf, String> {
    let mut tree = Tree::default();
    // Mirror the host's top-level symlinks (merged /usr), so that every path a binary or a
    // test names resolves the same way inside.
    for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
        if let Ok(target) = std::fs::read_link(top) {
            tree.insert(Path::new(top), Entry::Symlink(target));
        }
    }
    for dir in [
        "/proc", "/sys", "/dev", "/tmp", "/root", "/etc", "/run", "/var/tmp",
    ] {
        tree.insert(Path::new(dir), Entry::Dir);
    }
    let busybox = which("busybox")?;
    let busybox_in = add_host_path(&mut tree, &busybox)?;
    let applets = run_output(Command::new(&busybox).arg("--list-full"))?;
    for applet in applets.lines().filter(|l| !l.is_empty()) {
        let at = real_parent(&Path::new("/").join(applet));
        if !tree.contains(&at) {
            tree.insert(&at, Entry::Symlink(busybox_in.clone()));
        }
    }
    let setpriv = which("setpriv")?;
    let mut elves = vec![busybox.clone(), setpriv.clone()];
    for command in HOST_COMMANDS {
        if let Ok(path) = which(command) {
            elves.push(path);
        }
    }
    for package in HOST_PACKAGES {
        // Without dpkg (not Debian) busybox stands in.
        let Ok(files) = run_output(Command::new("dpkg").args(["-L", package])) else {
            continue;
        };
        elves.extend(
            files
                .lines()
                .filter(|f| f.contains("/bin/"))
                .map(PathBuf::from)
                .filter(|p| p.is_file()),
        );
    }
    // The workspace's binaries go in at their own paths, without debug info: it is most of
    // their size, and the initramfs is unpacked into the guest's memory.
    let mut ours = vec![build.sandlock.clone()];
    let mut list = String::new();
    let skipped = |name: &str| {
        kernel_independent(name) || (!all_tests && SLOW_IN_VM.iter().any(|(n, _)| *n == name))
    };
    for t in build.tests.iter().filter(|t| !skipped(&t.name)) {
        let _ = writeln!(
            list,
            "{} {} {}",
            t.name,
            t.package_dir.display(),
            t.executable.display()
        );
        tree.insert(&t.package_dir, Entry::Dir);
        ours.push(t.executable.clone());
    }
    for exe in &ours {
        tree.insert(
            exe,
            Entry::HostFile {
                source: stripped(exe)?,
                mode: 0o755,
            },
        );
        for lib in shared_libraries(exe)? {
            add_host_path(&mut tree, &lib)?;
        }
    }
    add_python(&mut tree, &mut elves)?;
    for elf in &elves {
        add_host_path(&mut tree, elf)?;
        for lib in shared_libraries(elf)? {
            add_host_path(&mut tree, &lib)?;
        }
    }
    let data = |s: &str, mode| Entry::Data {
        bytes: s.as_bytes().to_vec(),
        mode,
    };
    let init = INIT
        .replace("@SANDLOCK@", &build.sandlock.display().to_string())
        .replace("@SETPRIV@", &setpriv.display().to_string());
    tree.insert(Path::new("/init"), data(&init, 0o755));
    tree.insert(Path::new("/km/tests"), data(&list, 0o644));
    if let Some(script) = exec {
        let text = std::fs::read_to_string(script)
            .map_err(|e| format!("--exec {}: {e}", script.display()))?;
        tree.insert(Path::new("/km/exec"), data(&text, 0o755));
    }
    tree.insert(
        Path::new("/etc/passwd"),
        data(
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
            0o644,
        ),
    );
    tree.insert(
        Path::new("/etc/group"),
        data("root:x:0:\nnogroup:x:65534:\n", 0o644),
    );
    tree.insert(Path::new("/etc/hostname"), data("sandlock-km\n", 0o644));
    tree.insert(
        Path::new("/etc/hosts"),
        data("127.0.0.1 localhost sandlock-km\n::1 localhost\n", 0o644),
    );
    let out = debian::cache_dir().join("initramfs.cpio");
    std::fs::create_dir_all(debian::cache_dir()).map_err(|e| e.to_string())?;
    tree.write(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "kernel-matrix: initramfs {} ({} MB of files)",
        out.display(),
        tree.payload_bytes() / 1_000_000
    );
    Ok(out)
}

/// A copy of `exe` without debug info, cached under `target/kernel-matrix/stripped` (`exe`
/// itself when objcopy is missing).
fn stripped(exe: &Path) -> Result<PathBuf, String> {
    let dir = debian::cache_dir().join("stripped");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(exe.file_name().unwrap_or_default());
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if out.exists() && modified(&out) >= modified(exe) {
        return Ok(out);
    }
    match Command::new("objcopy")
        .arg("--strip-debug")
        .arg(exe)
        .arg(&out)
        .status()
    {
        Ok(s) if s.success() => Ok(out),
        _ => Ok(exe.to_owned()),
    }
}

/// python3 and its standard library without the parts no test imports (tests, GUI, build
/// configuration); some tests use it for sockets and pseudo-terminals.
fn add_python(tree: &mut Tree, elves: &mut Vec<PathBuf>) -> TaskResult {
    let python = Path::new("/usr/bin/python3");
    let Ok(real) = std::fs::canonicalize(python) else {
        eprintln!("kernel-matrix: no /usr/bin/python3 on the host; tests that need it will fail");
        return Ok(());
    };
    add_host_path(tree, python)?;
    elves.push(real.clone());
    let name = real
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let stdlib = std::fs::canonicalize(Path::new("/usr/lib").join(&name))
        .map_err(|e| format!("/usr/lib/{name}: {e}"))?;
    const SKIP: &[&str] = &[
        "test",
        "idlelib",
        "tkinter",
        "lib2to3",
        "ensurepip",
        "pydoc_data",
        "distutils",
        "site-packages",
        "dist-packages",
    ];
    let mut stack = vec![stdlib];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let path = e.path();
            let fname = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if !SKIP.contains(&fname.as_str()) && !fname.starts_with("config-") {
                    stack.push(path);
                }
            } else if ft.is_symlink() {
                if let Ok(t) = std::fs::read_link(&path) {
                    tree.insert(&path, Entry::Symlink(t));
                }
            } else {
                if fname.ends_with(".so") {
                    elves.push(path.clone());
                }
                tree.insert(
                    &path,
                    Entry::HostFile {
                        source: path.clone(),
                        mode: 0o644,
                    },
                );
            }
        }
    }
    Ok(())
}

/// `path` with its directory's symlinks resolved as on the host.
fn real_parent(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .unwrap_or_else(|_| parent.to_owned())
            .join(name),
        _ => path.to_owned(),
    }
}

/// Adds a host file at the same path, following a symlink in its last component (the link
/// is added too). Returns where the file's contents ended up.
fn add_host_path(tree: &mut Tree, path: &Path) -> Result<PathBuf, String> {
    let mut at = real_parent(path);
    for _ in 0..8 {
        let meta = std::fs::symlink_metadata(&at).map_err(|e| format!("{}: {e}", at.display()))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&at).map_err(|e| e.to_string())?;
            tree.insert(&at, Entry::Symlink(target.clone()));
            let next = at.parent().unwrap_or(Path::new("/")).join(target);
            at = real_parent(&next);
            continue;
        }
        use std::os::unix::fs::PermissionsExt;
        // Readable by everyone: the suite also runs as nobody.
        let mode = (meta.permissions().mode() & 0o7777) | 0o444;
        tree.insert(
            &at,
            Entry::HostFile {
                source: at.clone(),
                mode,
            },
        );
        return Ok(at);
    }
    Err(format!("{}: too many symlinks", path.display()))
}

/// The shared libraries and the loader `ldd` lists for an ELF file (none when static).
fn shared_libraries(elf: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd")
        .arg(elf)
        .output()
        .map_err(|e| format!("cannot run ldd: {e}"))?;
    // A static executable makes ldd fail with "not a dynamic executable".
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = l.split_once("=> ").map_or(l, |(_, p)| p);
            path.split_whitespace().next()
        })
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .collect())
}

/// Fails early, naming the packages, when the host lacks what booting a kernel needs.
pub(crate) fn check_host_tools() -> Result<(), String> {
    for tool in ["qemu-system-x86_64", "busybox", "objcopy", "setpriv"] {
        which(tool).map_err(|_| {
            format!(
                "the kernel matrix needs {tool}: apt-get install qemu-system-x86 busybox-static \
                 binutils util-linux (or `cargo xtask ci --no-kernel-matrix`)"
            )
        })?;
    }
    Ok(())
}

fn which(tool: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!("{tool} is not installed (apt-get install busybox-static util-linux)")
        })
}

fn run_output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `kvm` when KVM really runs a stock kernel here, else `tcg`.
fn accel(vmlinuz: &Path, initrd: &Path) -> Result<&'static str, String> {
    if Path::new("/sys/module/kvm_pvm").exists() {
        eprintln!("kernel-matrix: /dev/kvm is kvm_pvm (cannot run stock kernels): using TCG");
        return Ok("tcg");
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        eprintln!("kernel-matrix: no usable /dev/kvm: using TCG");
        return Ok("tcg");
    }
    let dir = debian::cache_dir();
    let (log, out) = (dir.join("selftest.log"), dir.join("selftest.out"));
    let done = qemu(
        vmlinuz,
        initrd,
        "kvm",
        "km.selftest",
        &log,
        &out,
        Duration::from_secs(60),
    )?;
    let ok = done.is_some() && read_lossy(&out).contains("KM_SELFTEST_OK");
    eprintln!(
        "kernel-matrix: KVM self-test {}: using {}",
        if ok { "passed" } else { "failed" },
        if ok { "KVM" } else { "TCG" }
    );
    Ok(if ok { "kvm" } else { "tcg" })
}

/// Boots one VM and waits for it; `None` when it timed out (and was killed).
fn qemu(
    vmlinuz: &Path,
    initrd: &Path,
    accel: &str,
    cmdline: &str,
    log: &Path,
    out: &Path,
    timeout: Duration,
) -> Result<Option<Duration>, String> {
    let _ = std::fs::remove_file(out);
    let started = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", accel, "-m", "2G", "-smp", "2"])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .arg("-serial")
        .arg(format!("file:{}", out.display()))
        .arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(format!("console=ttyS0 panic=-1 quiet {cmdline}"))
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!("cannot run qemu-system-x86_64 (apt-get install qemu-system-x86): {e}")
        })?;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Ok(Some(started.elapsed()));
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).replace('\r', ""))
        .unwrap_or_default()
}

/// The outcome of one configuration.
struct Row {
    config: String,
    kernel: String,
    landlock: String,
    secs: f64,
    users: Vec<UserResult>,
    /// Problems outside any one test: a timeout, a crash, a declaration the probe contradicts.
    problems: Vec<String>,
}

#[derive(Default)]
struct UserResult {
    user: String,
    passed: usize,
    failed: usize,
    skipped: usize,
    /// Why tests skipped (all covered by the declaration), each reason once.
    skip_reasons: BTreeSet<String>,
    failures: Vec<String>,
}

fn run_vm(
    config: &Config,
    vmlinuz: &Path,
    initrd: &Path,
    accel: &str,
    opts: &Options,
) -> Result<Row, String> {
    let dir = debian::cache_dir();
    let (log, out) = (
        dir.join(format!("{}.log", config.name)),
        dir.join(format!("{}.out", config.name)),
    );
    let require = if config.lacks.is_empty() {
        "all"
    } else {
        config.lacks
    };
    let cmdline = format!(
        "{} km.require={require} km.users={}",
        config.cmdline,
        opts.users.join(",")
    );
    eprintln!("kernel-matrix: booting {} ({accel})", config.name);
    let done = qemu(vmlinuz, initrd, accel, &cmdline, &log, &out, opts.timeout)?;
    let text = read_lossy(&out);
    if opts.exec.is_some() {
        // The script's output is the result; there is no test summary to count.
        println!("== {} ==\n{text}", config.name);
    }
    let mut row = parse_guest(config.name, &text, config.lacks);
    row.secs = done.unwrap_or(opts.timeout).as_secs_f64();
    if done.is_none() {
        row.problems
            .push(format!("timed out after {} s", opts.timeout.as_secs()));
    } else if !text.contains("KM_END") {
        row.problems.push(format!(
            "the guest stopped before the end (kernel log: {})",
            log.display()
        ));
    }
    eprintln!(
        "kernel-matrix: {} done in {:.0} s (output: {})",
        config.name,
        row.secs,
        out.display()
    );
    Ok(row)
}

/// Splits the guest's output into `sandlock check`, then each test binary's output per user.
fn parse_guest(config: &str, text: &str, lacks: &str) -> Row {
    let mut row = Row {
        config: config.to_owned(),
        kernel: String::new(),
        landlock: String::new(),
        secs: 0.0,
        users: Vec::new(),
        problems: Vec::new(),
    };
    let mut check = String::new();
    let mut current: Option<(String, String)> = None;
    let mut block = String::new();
    for line in text.lines() {
        if let Some(k) = line.strip_prefix("KM_UNAME ") {
            row.kernel = k.to_owned();
        } else if let Some(c) = line.strip_prefix("KM_CHECK ") {
            check.push_str(c);
            check.push('\n');
        } else if let Some(b) = line.strip_prefix("KM_BIN ") {
            let (user, bin) = b.split_once(' ').unwrap_or((b, ""));
            current = Some((user.to_owned(), bin.to_owned()));
            block.clear();
        } else if let Some(rc) = line.strip_prefix("KM_RC ") {
            if let Some((user, bin)) = current.take() {
                let r = user_result(&mut row.users, &user);
                add_binary(r, &bin, &block, rc.trim() == "0", &lacks_for(&user, lacks));
            }
        } else if current.is_some() {
            block.push_str(line);
            block.push('\n');
        }
    }
    if let Some((user, bin)) = current {
        let r = user_result(&mut row.users, &user);
        add_binary(r, &bin, &block, false, &lacks_for(&user, lacks));
    }
    check_declaration(&mut row, &check, lacks);
    row
}

fn user_result<'a>(users: &'a mut Vec<UserResult>, user: &str) -> &'a mut UserResult {
    if let Some(i) = users.iter().position(|u| u.user == user) {
        return &mut users[i];
    }
    users.push(UserResult {
        user: user.to_owned(),
        ..UserResult::default()
    });
    users.last_mut().unwrap()
}

/// Compares `sandlock check`'s view of the kernel with what the config declares it lacks.
fn check_declaration(row: &mut Row, check: &str, lacks: &str) {
    let abi = landlock_abi(check);
    row.landlock = match abi {
        Some(0) | None => check
            .lines()
            .find_map(|l| l.strip_prefix("Landlock: "))
            .unwrap_or("?")
            .split(" (ABI")
            .next()
            .unwrap_or("?")
            .to_owned(),
        Some(n) => format!("ABI {n}"),
    };
    let declared_abi = lacks
        .split(',')
        .find_map(|t| t.strip_prefix("landlock="))
        .and_then(|n| n.parse::<u32>().ok());
    if let (Some(want), Some(got)) = (declared_abi, abi)
        && want != got
    {
        row.problems
            .push(format!("declared Landlock ABI {want}, probed {got}"));
    }
    let declared: BTreeSet<&str> = lacks
        .split(',')
        .filter_map(|t| t.strip_prefix("no-"))
        .collect();
    // Feature lines look like `  wait-killable: no (…)`.
    let probed: BTreeSet<&str> = check
        .lines()
        .skip_while(|l| !l.starts_with("seccomp and the supervisor"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().split_once(": "))
        .filter(|(name, v)| !name.contains(' ') && !name.starts_with("ABI") && v.starts_with("no"))
        .map(|(name, _)| name)
        .filter(|n| *n != "landlock" && *n != "Landlock")
        .collect();
    if check.is_empty() {
        row.problems.push("no `sandlock check` output".to_owned());
    } else if declared != probed {
        row.problems.push(format!(
            "declared missing {declared:?}, but `sandlock check` says {probed:?}"
        ));
    }
}

fn landlock_abi(check: &str) -> Option<u32> {
    let line = check.lines().find(|l| l.starts_with("Landlock: "))?;
    let n = line.rsplit("(ABI ").next()?.trim_end_matches(')');
    n.parse().ok()
}

/// Adds one test binary's libtest output to `r`. A skip counts as a failure unless `lacks`
/// covers its reason.
fn add_binary(r: &mut UserResult, bin: &str, out: &str, exited_ok: bool, lacks: &str) {
    let summary = out.lines().rev().find_map(|l| {
        let rest = l.strip_prefix("test result: ")?;
        let num = |what: &str| -> Option<usize> {
            let i = rest.find(&format!(" {what}"))?;
            rest[..i].rsplit(' ').next()?.parse().ok()
        };
        Some((num("passed")?, num("failed")?))
    });
    let Some((passed, failed)) = summary else {
        r.failed += 1;
        r.failures.push(if out.trim_end().ends_with("KM_TIMEOUT") {
            format!("{bin}: timed out after 900 s")
        } else {
            format!("{bin}: no test summary (crashed?)")
        });
        return;
    };
    let skips = skips(out);
    let mut unexpected = 0;
    for (test, reason) in &skips {
        if skip_expected(reason, lacks) {
            r.skip_reasons.insert(reason.clone());
        } else {
            unexpected += 1;
            r.failures
                .push(format!("{bin}::{test}: unexpected skip: needs {reason}"));
        }
    }
    r.passed += passed.saturating_sub(skips.len());
    r.skipped += skips.len() - unexpected;
    r.failed += failed + unexpected;
    if failed > 0 {
        // The last `failures:` heading is the parent harness's list of names.
        let names = out
            .rsplit_once("\nfailures:\n")
            .map(|(_, tail)| tail)
            .unwrap_or_default();
        for name in names
            .lines()
            .skip_while(|l| l.is_empty())
            .take_while(|l| l.starts_with("    "))
        {
            r.failures.push(format!("{bin}::{}", name.trim()));
        }
    } else if !exited_ok {
        r.failures.push(format!("{bin}: non-zero exit"));
        r.failed += 1;
    }
}

/// The tests that printed `skipped: needs X`, from libtest's `--show-output` sections.
fn skips(out: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut test: Option<&str> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("---- ") {
            test = rest.strip_suffix(" stdout ----");
        } else if line == "successes:" || line == "failures:" {
            test = None;
        } else if let (Some(t), Some(i)) = (test, line.find("skipped: needs ")) {
            let reason = line[i + "skipped: needs ".len()..].to_owned();
            if !found.iter().any(|(n, _): &(String, String)| n == t) {
                found.push((t.to_owned(), reason));
            }
        }
    }
    found
}

/// What `user` lacks besides the kernel's `lacks`: `nobody` is not root (a test that needs
/// root, `skipped: needs root …`, is expected to skip there).
fn lacks_for(user: &str, lacks: &str) -> String {
    if user == "root" {
        lacks.to_owned()
    } else if lacks.is_empty() {
        "non-root".to_owned()
    } else {
        format!("{lacks},non-root")
    }
}

/// Whether a skip for `reason` is covered by what the config declares missing (and
/// `non-root`, which [`lacks_for`] adds for the unprivileged user).
fn skip_expected(reason: &str, lacks: &str) -> bool {
    lacks.split(',').any(|token| {
        if token == "non-root" {
            return reason.starts_with("root");
        }
        if let Some(abi) = token.strip_prefix("landlock=") {
            let Ok(abi) = abi.parse::<u32>() else {
                return false;
            };
            // `Landlock ABI 4 (…)` needs more than the declared ABI; plain `Landlock` any.
            match reason.strip_prefix("Landlock ABI ") {
                Some(rest) => rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|need| need > abi),
                None => abi == 0 && reason.to_ascii_lowercase().contains("landlock"),
            }
        } else if let Some(feature) = token.strip_prefix("no-") {
            // Reasons name features either as `sandlock check` does (`addfd-send`) or by the
            // kernel's constant (`SECCOMP_ADDFD_FLAG_SEND`, `WAIT_KILLABLE_RECV`).
            let reason = reason.to_ascii_lowercase().replace('_', "-");
            let alias = match feature {
                "addfd-send" => "addfd-flag-send",
                other => other,
            };
            !feature.is_empty() && (reason.contains(feature) || reason.contains(alias))
        } else {
            false
        }
    })
}

/// Runs the suite on the host, optionally under a `SANDLOCK_FAKE_FEATURES` override.
fn run_host(build: &Build, users: &[&str], fake: Option<&str>) -> Result<Row, String> {
    let started = Instant::now();
    let name = fake.map_or("host".to_owned(), |f| format!("host {f}"));
    eprintln!("kernel-matrix: running {name}");
    let lacks = fake.unwrap_or("");
    let mut row = Row {
        config: name,
        kernel: run_output(Command::new("uname").arg("-r"))?
            .trim()
            .to_owned(),
        landlock: String::new(),
        secs: 0.0,
        users: Vec::new(),
        problems: Vec::new(),
    };
    let mut check = Command::new(&build.sandlock);
    check.arg("check");
    if let Some(f) = fake {
        check.env("SANDLOCK_FAKE_FEATURES", f);
    }
    let check =
        String::from_utf8_lossy(&check.output().map_err(|e| e.to_string())?.stdout).into_owned();
    row.landlock = landlock_abi(&check).map_or("?".to_owned(), |n| format!("ABI {n}"));
    let root = is_root();
    // The whole output of each user's run is kept, as the guests' serial output is: a
    // failure that does not come back on a rerun can still be read.
    let log_dir = debian::cache_dir();
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    for user in users {
        if *user != "root" && !root {
            continue;
        }
        let log_path = log_dir.join(format!("{}-{user}.out", row.config.replace(' ', "-")));
        let mut log = String::new();
        let r = user_result(&mut row.users, user);
        // An override changes what the kernel seems to offer, nothing the pure tests see.
        let tests = build.tests.iter().filter(|t| {
            fake.is_none()
                || !(kernel_independent(&t.name) || SLOW_IN_VM.iter().any(|(n, _)| *n == t.name))
        });
        for t in tests {
            let mut cmd = if *user == "root" {
                Command::new(&t.executable)
            } else {
                let mut c = Command::new("setpriv");
                c.args([
                    &format!("--reuid={NOBODY}"),
                    &format!("--regid={NOBODY}"),
                    "--clear-groups",
                    "--",
                ])
                .arg(&t.executable)
                .env("HOME", "/tmp");
                c
            };
            cmd.arg("--show-output")
                .current_dir(&t.package_dir)
                .stdin(Stdio::null())
                .env(
                    "SANDLOCK_TEST_REQUIRE",
                    if lacks.is_empty() { "all" } else { lacks },
                );
            match fake {
                Some(f) => cmd.env("SANDLOCK_FAKE_FEATURES", f),
                None => cmd.env_remove("SANDLOCK_FAKE_FEATURES"),
            };
            let out = cmd
                .output()
                .map_err(|e| format!("cannot run {}: {e}", t.executable.display()))?;
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            add_binary(
                r,
                &t.name,
                &text,
                out.status.success(),
                &lacks_for(user, lacks),
            );
            let _ = writeln!(log, "==== {} ====\n{text}", t.name);
        }
        std::fs::write(&log_path, log).map_err(|e| format!("{}: {e}", log_path.display()))?;
        if r.failed > 0 {
            eprintln!(
                "kernel-matrix: {} ({user}) failed; its output: {}",
                row.config,
                log_path.display()
            );
        }
    }
    row.secs = started.elapsed().as_secs_f64();
    Ok(row)
}

/// Whether xtask runs as root (then the host suite also runs as `nobody`).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

fn host_landlock_abi(sandlock: &Path) -> Result<u32, String> {
    let out = Command::new(sandlock)
        .arg("check")
        .env_remove("SANDLOCK_FAKE_FEATURES")
        .output()
        .map_err(|e| e.to_string())?;
    Ok(landlock_abi(&String::from_utf8_lossy(&out.stdout)).unwrap_or(0))
}

/// Prints the table and the failures; returns whether everything passed.
fn print_table(rows: &[Row]) -> bool {
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).len())
            .fold(title.len(), usize::max)
    };
    let (wc, wk, wl) = (
        width(|r| &r.config, "config"),
        width(|r| &r.kernel, "kernel"),
        width(|r| &r.landlock, "landlock"),
    );
    println!(
        "\n{:<wc$} {:<wk$} {:<wl$} {:<7} {:>6} {:>6} {:>7} {:>6}",
        "config", "kernel", "landlock", "user", "passed", "failed", "skipped", "secs"
    );
    let mut ok = true;
    for row in rows {
        if row.users.is_empty() {
            println!(
                "{:<wc$} {:<wk$} {:<wl$} {:<7} {:>6} {:>6} {:>7} {:>6.0}",
                row.config, row.kernel, row.landlock, "-", "-", "-", "-", row.secs
            );
        }
        for (i, u) in row.users.iter().enumerate() {
            let secs = if i == 0 {
                format!("{:.0}", row.secs)
            } else {
                String::new()
            };
            println!(
                "{:<wc$} {:<wk$} {:<wl$} {:<7} {:>6} {:>6} {:>7} {:>6}",
                row.config, row.kernel, row.landlock, u.user, u.passed, u.failed, u.skipped, secs
            );
        }
    }
    for row in rows {
        for u in row.users.iter().filter(|u| !u.skip_reasons.is_empty()) {
            let reasons: Vec<&str> = u.skip_reasons.iter().map(String::as_str).collect();
            println!(
                "skipped as declared, {} ({}): needs {}",
                row.config,
                u.user,
                reasons.join("; ")
            );
        }
    }
    for row in rows {
        for p in &row.problems {
            ok = false;
            println!("FAIL {}: {p}", row.config);
        }
        for u in &row.users {
            for f in &u.failures {
                ok = false;
                println!("FAIL {} ({}): {f}", row.config, u.user);
            }
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_expected_only_when_the_declaration_covers_them() {
        let lacks = "landlock=2,no-sync-wake-up,no-addfd-send";
        for (reason, expected) in [
            ("Landlock ABI 4 (TCP port rules)", true),
            ("Landlock ABI 3 (truncate)", true),
            ("Landlock ABI 2 (refer)", false),
            ("Landlock", false),
            ("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP", true),
            ("SECCOMP_ADDFD_FLAG_SEND", true),
            ("wait-killable", false),
            ("python3", false),
        ] {
            assert_eq!(skip_expected(reason, lacks), expected, "{reason}");
        }
        assert!(skip_expected("Landlock", "landlock=0"));
        assert!(skip_expected(
            "root (bare, /proc/kmsg is 0400 root)",
            "non-root"
        ));
        assert!(!skip_expected("root (bare, /proc/kmsg is 0400 root)", ""));
        assert!(!skip_expected("Landlock ABI 1 (filesystem)", ""));
    }

    /// A harness whose child re-exec printed its own summary before the parent's.
    const OUTPUT: &str = "\
running 3 tests
running 1 test
test a ... ok
test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out; finished in 0.01s
test a ... ok
test b ... ok
test c ... FAILED

successes:

---- b stdout ----
skipped: needs Landlock ABI 4 (TCP port rules)

successes:
    a
    b

failures:

---- c stdout ----
thread 'c' panicked at x.rs:1:1:
boom

failures:
    c

test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.1s
";

    #[test]
    fn libtest_output_gives_counts_skips_and_failed_names() {
        let mut r = UserResult::default();
        add_binary(&mut r, "bin", OUTPUT, false, "landlock=2");
        assert_eq!((r.passed, r.failed, r.skipped), (1, 1, 1));
        assert_eq!(r.failures, ["bin::c"]);

        let mut r = UserResult::default();
        add_binary(&mut r, "bin", OUTPUT, false, "");
        assert_eq!((r.passed, r.failed, r.skipped), (1, 2, 0));
        assert_eq!(
            r.failures,
            [
                "bin::b: unexpected skip: needs Landlock ABI 4 (TCP port rules)",
                "bin::c"
            ]
        );

        let mut r = UserResult::default();
        add_binary(&mut r, "bin", "running 3 tests\n", false, "");
        assert_eq!(r.failures, ["bin: no test summary (crashed?)"]);
    }

    #[test]
    fn a_declaration_that_contradicts_the_probe_is_a_problem() {
        let check = "Landlock: yes (ABI 2)\n\nseccomp and the supervisor:\n  \
                     wait-killable: yes\n  sync-wake-up: no (not in this kernel)\n  \
                     x32: no (not in this kernel)\n\nwhat\n  landlock: partial\n";
        let row = parse_guest(
            "t",
            &format!("KM_CHECK {}", check.replace('\n', "\nKM_CHECK ")),
            "landlock=2,no-sync-wake-up,no-x32",
        );
        assert!(row.problems.is_empty(), "{:?}", row.problems);
        assert_eq!(row.landlock, "ABI 2");
        let row = parse_guest(
            "t",
            &format!("KM_CHECK {}", check.replace('\n', "\nKM_CHECK ")),
            "landlock=3,no-x32",
        );
        assert_eq!(row.problems.len(), 2, "{:?}", row.problems);
    }

    #[test]
    fn cpio_entries_are_aligned_newc() {
        let dir = std::env::temp_dir().join(format!("km-cpio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("t.cpio");
        let mut tree = Tree::default();
        tree.insert(
            Path::new("/a/b"),
            Entry::Data {
                bytes: b"hello".to_vec(),
                mode: 0o644,
            },
        );
        tree.insert(Path::new("/a/l"), Entry::Symlink("b".into()));
        tree.write(&out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let text = String::from_utf8_lossy(&bytes);
        // ".", "a" (added as the parent), "a/b", "a/l", trailer.
        assert_eq!(text.matches("070701").count(), 5);
        assert!(text.contains("a/b\0"));
        assert!(text.contains("hello"));
        assert!(text.ends_with('\0') || text.contains("TRAILER!!!"));
    }
}

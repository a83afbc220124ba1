//! The sandbox's default seccomp policy, as data.
//!
//! Seccomp is the second line behind Landlock: it removes kernel attack surface and the calls
//! that could undo or escape the sandbox (namespaces, mounts, tracing, kernel modules), while
//! leaving everything an ordinary program needs. The default action is `ALLOW`.

use sandlock_sys::Arch;
use sandlock_sys::flags::CloneFlags;

use crate::{Action, ArgWidth, CmpOp, Cond, Error, Filter, Rule};

const EPERM: u16 = libc::EPERM as u16;
const ENOSYS: u16 = libc::ENOSYS as u16;
const EAFNOSUPPORT: u16 = libc::EAFNOSUPPORT as u16;

/// `personality(0xffffffff)` only queries the current persona.
const PER_QUERY: u32 = 0xffff_ffff;
/// The default persona.
const PER_LINUX: u32 = 0;
/// `SOCK_TYPE_MASK` (`<linux/net.h>`): the socket type without `SOCK_NONBLOCK`/`SOCK_CLOEXEC`.
const SOCK_TYPE_MASK: u32 = 0xf;
/// `SOCK_PACKET`: the obsolete way to get a packet socket, still accepted with `AF_INET`
/// (libc deprecates the constant, so it is spelled out here).
const SOCK_PACKET: u32 = 10;

/// One syscall that the default policy denies outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deny {
    /// The syscall name.
    pub name: &'static str,
    /// The errno returned.
    pub errno: u16,
    /// `Some(arch)`: only that architecture has this syscall; the others are skipped on
    /// purpose (a name missing from an arch's table is otherwise an error).
    pub only: Option<Arch>,
    /// Why it is denied.
    pub why: &'static str,
}

const fn deny(name: &'static str, errno: u16, why: &'static str) -> Deny {
    Deny {
        name,
        errno,
        only: None,
        why,
    }
}

const fn x86_only(name: &'static str, errno: u16, why: &'static str) -> Deny {
    Deny {
        name,
        errno,
        only: Some(Arch::X86_64),
        why,
    }
}

/// The syscalls the default policy denies unconditionally. `ENOSYS` where a caller should fall
/// back to an older interface (and does, for "not implemented"), `EPERM` elsewhere.
pub const DEFAULT_DENY: &[Deny] = &[
    deny(
        "mount",
        EPERM,
        "mounts could hide or replace the files Landlock allows",
    ),
    deny("umount2", EPERM, "unmounting could uncover or remove paths"),
    deny(
        "pivot_root",
        EPERM,
        "changes the root of the mount namespace",
    ),
    deny(
        "fsopen",
        EPERM,
        "new mount API: creates a filesystem context",
    ),
    deny(
        "fsconfig",
        EPERM,
        "new mount API: configures a filesystem context",
    ),
    deny("fsmount", EPERM, "new mount API: creates a mount"),
    deny(
        "fspick",
        EPERM,
        "new mount API: reconfigures an existing mount",
    ),
    deny("move_mount", EPERM, "new mount API: attaches a mount"),
    deny("open_tree", EPERM, "new mount API: clones a mount tree"),
    deny(
        "open_tree_attr",
        EPERM,
        "new mount API: clones a mount tree with new attributes",
    ),
    deny(
        "mount_setattr",
        EPERM,
        "changes mount attributes such as read-only or idmapping",
    ),
    deny("swapon", EPERM, "host-wide swap configuration"),
    deny("swapoff", EPERM, "host-wide swap configuration"),
    deny(
        "reboot",
        EPERM,
        "reboots or halts the host (or a pid namespace)",
    ),
    deny("kexec_load", EPERM, "loads a new kernel"),
    deny("kexec_file_load", EPERM, "loads a new kernel"),
    deny("init_module", EPERM, "loads kernel code"),
    deny("finit_module", EPERM, "loads kernel code"),
    deny("delete_module", EPERM, "unloads kernel code"),
    deny(
        "unshare",
        EPERM,
        "new namespaces (a user namespace grants capabilities inside it)",
    ),
    deny("setns", EPERM, "joins another namespace"),
    deny(
        "perf_event_open",
        EPERM,
        "large kernel attack surface and side channels",
    ),
    deny(
        "bpf",
        EPERM,
        "loads eBPF programs: large kernel attack surface",
    ),
    deny(
        "userfaultfd",
        EPERM,
        "stalls kernel threads at chosen points, a classic exploit aid",
    ),
    deny("keyctl", EPERM, "kernel keyrings are not namespaced"),
    deny("add_key", EPERM, "kernel keyrings are not namespaced"),
    deny("request_key", EPERM, "kernel keyrings are not namespaced"),
    deny(
        "ptrace",
        EPERM,
        "controls other processes, and could answer seccomp for them",
    ),
    deny("process_vm_readv", EPERM, "reads another process's memory"),
    deny(
        "process_vm_writev",
        EPERM,
        "writes another process's memory",
    ),
    deny(
        "kcmp",
        EPERM,
        "compares kernel objects of other processes, leaks kernel layout",
    ),
    deny(
        "open_by_handle_at",
        EPERM,
        "opens files by handle, bypassing path checks",
    ),
    deny(
        "name_to_handle_at",
        EPERM,
        "produces handles for open_by_handle_at",
    ),
    deny("quotactl", EPERM, "host-wide quota administration"),
    deny("quotactl_fd", EPERM, "host-wide quota administration"),
    deny("acct", EPERM, "host-wide process accounting"),
    deny("lookup_dcookie", EPERM, "obsolete profiling interface"),
    deny(
        "syslog",
        EPERM,
        "reads or clears the kernel log, which leaks addresses",
    ),
    deny("sethostname", EPERM, "host-wide setting"),
    deny("setdomainname", EPERM, "host-wide setting"),
    deny("settimeofday", EPERM, "sets the host's clock"),
    deny(
        "clock_settime",
        EPERM,
        "sets the host's clock (adjtimex and clock_adjtime only read without CAP_SYS_TIME, which is dropped)",
    ),
    deny(
        "pidfd_getfd",
        EPERM,
        "copies another process's fds; without Landlock nothing else keeps it off the supervisor",
    ),
    deny(
        "openat2",
        ENOSYS,
        "its mode is behind a pointer no filter can read (setuid files); callers fall back to openat",
    ),
    deny(
        "io_uring_setup",
        ENOSYS,
        "bypasses seccomp for the calls it runs; callers fall back",
    ),
    deny(
        "io_uring_enter",
        ENOSYS,
        "bypasses seccomp for the calls it runs",
    ),
    deny(
        "io_uring_register",
        ENOSYS,
        "bypasses seccomp for the calls it runs",
    ),
    deny(
        "clone3",
        ENOSYS,
        "its flags are behind a pointer; libc falls back to clone",
    ),
    x86_only("ioperm", EPERM, "raw I/O port access"),
    x86_only("iopl", EPERM, "raw I/O port access"),
    x86_only(
        "modify_ldt",
        EPERM,
        "rarely used and a history of kernel bugs",
    ),
    x86_only("uselib", EPERM, "obsolete a.out loader"),
];

/// The default sandbox filter for `arch`: default action `ALLOW`, the [`DEFAULT_DENY`] list,
/// and these argument-guarded rules (32-bit comparisons where the kernel takes an `int`):
///
/// | syscall | denied when | errno |
/// |---|---|---|
/// | `personality` | persona is neither the query `0xffffffff` nor `PER_LINUX` | `EPERM` |
/// | `clone` | flags contain a `CLONE_NEW*` namespace flag | `EPERM` |
/// | `ioctl` | request is `TIOCSTI` (fakes terminal input) or `TIOCLINUX` | `EPERM` |
/// | `prctl` | option is `PR_SET_MM` (rewrites the memory map descriptors) | `EPERM` |
/// | `socket` | `AF_NETLINK` with a protocol other than `NETLINK_ROUTE` | `EAFNOSUPPORT` |
/// | `socket` | `AF_INET`/`AF_INET6` with type `SOCK_RAW` or `SOCK_PACKET` | `EPERM` |
/// | `socket` | family other than `AF_UNIX`, `AF_INET`, `AF_INET6`, `AF_NETLINK` | `EAFNOSUPPORT` |
/// | `socketpair` | family other than `AF_UNIX` | `EAFNOSUPPORT` |
/// | `chmod`, `fchmod`, `fchmodat`, `fchmodat2` | mode has `S_ISUID` or `S_ISGID` | `EPERM` |
/// | `mknod`, `mknodat` | a character or block device | `EPERM` |
/// | `mknod`, `mknodat` | mode has `S_ISUID` or `S_ISGID` (a setuid regular file) | `EPERM` |
/// | `open`, `openat` | `O_CREAT` or `O_TMPFILE` with a mode that has `S_ISUID` or `S_ISGID` | `EPERM` |
/// | `creat` | mode has `S_ISUID` or `S_ISGID` | `EPERM` |
///
/// `openat2` is denied outright (`ENOSYS`): its mode sits behind a pointer that a filter cannot
/// read, and callers fall back to `openat`.
///
/// The result is an ordinary [`Filter`], so callers extend it: [`Filter::deny`] and
/// [`Filter::notify`] replace a syscall's rules; to keep the guards above and notify the calls
/// they let through, append with `add_rule(name, Rule::always(Action::UserNotif)?)`.
///
/// # Errors
/// None for the supported architectures (a test builds every one); an [`Error`] would mean the
/// table names a syscall the architecture lacks.
pub fn default_policy(arch: Arch) -> Result<Filter, Error> {
    let mut f = Filter::new(arch, Action::Allow)?;
    for d in DEFAULT_DENY {
        if d.only.is_none_or(|only| only == arch) {
            f.deny(d.name, d.errno)?;
        }
    }
    let eperm = Action::Errno(EPERM);
    let eafnosupport = Action::Errno(EAFNOSUPPORT);
    let rule = |action, conds: Vec<Cond>| Rule::new(action, conds);

    f.add_rule(
        "personality",
        rule(
            eperm,
            vec![Cond::ne32(0, PER_QUERY)?, Cond::ne32(0, PER_LINUX)?],
        )?,
    )?;

    // clone(flags, …): the flags are the first argument on x86_64 and aarch64, and only
    // their low 32 bits count. CLONE_NEWTIME shares its bit with the exit signal (CSIGNAL)
    // here and is ignored by clone(); it is reachable only through clone3 and unshare.
    let namespaces = CloneFlags::NAMESPACES
        .difference(CloneFlags::NEWTIME)
        .bits();
    f.add_rule(
        "clone",
        rule(eperm, vec![Cond::any_bits32(0, namespaces as u32)?])?,
    )?;

    for request in [libc::TIOCSTI, libc::TIOCLINUX] {
        f.add_rule("ioctl", rule(eperm, vec![Cond::eq32(1, request as u32)?])?)?;
    }
    f.add_rule(
        "prctl",
        rule(eperm, vec![Cond::eq32(0, libc::PR_SET_MM as u32)?])?,
    )?;

    let (unix, inet, inet6, netlink) = (
        libc::AF_UNIX as u32,
        libc::AF_INET as u32,
        libc::AF_INET6 as u32,
        libc::AF_NETLINK as u32,
    );
    f.add_rule(
        "socket",
        rule(
            eafnosupport,
            vec![
                Cond::eq32(0, netlink)?,
                Cond::ne32(2, libc::NETLINK_ROUTE as u32)?,
            ],
        )?,
    )?;
    for family in [inet, inet6] {
        for ty in [libc::SOCK_RAW as u32, SOCK_PACKET] {
            f.add_rule(
                "socket",
                rule(
                    eperm,
                    vec![
                        Cond::eq32(0, family)?,
                        Cond::masked_eq32(1, SOCK_TYPE_MASK, ty)?,
                    ],
                )?,
            )?;
        }
    }
    let other_family = |families: &[u32]| -> Result<Vec<Cond>, Error> {
        families.iter().map(|&fam| Cond::ne32(0, fam)).collect()
    };
    f.add_rule(
        "socket",
        rule(eafnosupport, other_family(&[unix, inet, inet6, netlink])?)?,
    )?;
    f.add_rule("socketpair", rule(eafnosupport, other_family(&[unix])?)?)?;

    let set_id = libc::S_ISUID | libc::S_ISGID;
    let chmods: &[(&str, u8, Option<Arch>)] = &[
        ("chmod", 1, Some(Arch::X86_64)),
        ("fchmod", 1, None),
        ("fchmodat", 2, None),
        ("fchmodat2", 2, None),
    ];
    for &(name, mode, only) in chmods {
        if only.is_none_or(|only| only == arch) {
            f.add_rule(name, rule(eperm, vec![Cond::any_bits32(mode, set_id)?])?)?;
        }
    }
    // A file created with the set-id bits keeps them (only S_ISGID is ever stripped, in a
    // setgid directory): guard the creating calls as well as chmod, or a root sandbox can
    // leave a setuid-root binary of its choice behind.
    let creates: &[(&str, Option<u8>, u8, Option<Arch>)] = &[
        ("open", Some(1), 2, Some(Arch::X86_64)),
        ("openat", Some(2), 3, None),
        ("creat", None, 1, Some(Arch::X86_64)),
    ];
    // O_TMPFILE includes O_DIRECTORY; its own bit is the one that creates.
    let creating = [
        libc::O_CREAT as u32,
        (libc::O_TMPFILE & !libc::O_DIRECTORY) as u32,
    ];
    for &(name, flags, mode, only) in creates {
        if only.is_none_or(|only| only == arch) {
            let set_id_mode = Cond::any_bits32(mode, set_id)?;
            match flags {
                Some(flags) => {
                    for bit in creating {
                        let conds = vec![Cond::any_bits32(flags, bit)?, set_id_mode];
                        f.add_rule(name, rule(eperm, conds)?)?;
                    }
                }
                None => {
                    f.add_rule(name, rule(eperm, vec![set_id_mode])?)?;
                }
            }
        }
    }
    let mknods: &[(&str, u8, Option<Arch>)] =
        &[("mknod", 1, Some(Arch::X86_64)), ("mknodat", 2, None)];
    for &(name, mode, only) in mknods {
        if only.is_none_or(|only| only == arch) {
            for kind in [libc::S_IFCHR, libc::S_IFBLK] {
                let cond = Cond::new(
                    mode,
                    ArgWidth::Dword,
                    CmpOp::MaskedEq(libc::S_IFMT.into()),
                    kind.into(),
                )?;
                f.add_rule(name, rule(eperm, vec![cond])?)?;
            }
            f.add_rule(name, rule(eperm, vec![Cond::any_bits32(mode, set_id)?])?)?;
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Layout, SeccompData, eval, eval_with_steps};

    fn call(arch: Arch, name: &str, args: [u64; 6]) -> SeccompData {
        let nr = arch.syscall_nr(name).unwrap() as i32;
        SeccompData {
            nr,
            arch: arch.audit_arch(),
            instruction_pointer: 0,
            args,
        }
    }

    #[test]
    fn every_arch_builds_and_compiles() {
        for arch in Arch::ALL {
            let f = default_policy(arch).unwrap();
            let prog = f.compile().unwrap();
            assert!(prog.len() < 1024, "{arch}: {} instructions", prog.len());
        }
    }

    #[test]
    fn arch_exceptions_are_accurate() {
        for d in DEFAULT_DENY {
            for arch in Arch::ALL {
                let listed = d.only.is_none_or(|only| only == arch);
                assert_eq!(
                    arch.syscall_nr(d.name).is_ok(),
                    listed,
                    "{} on {arch}",
                    d.name
                );
            }
        }
    }

    #[test]
    fn decisions() {
        let tiocsti = u64::from(libc::TIOCSTI as u32);
        let af = |a: i32| a as u64;
        let ns = CloneFlags::NEWUSER.bits();
        let cases: &[(&str, [u64; 6], Action)] = &[
            ("read", [0; 6], Action::Allow),
            ("mount", [0; 6], Action::Errno(EPERM)),
            ("clone3", [0; 6], Action::Errno(ENOSYS)),
            ("personality", [0xffff_ffff, 0, 0, 0, 0, 0], Action::Allow),
            ("personality", [0, 0, 0, 0, 0, 0], Action::Allow),
            (
                "personality",
                [0x0040_0000, 0, 0, 0, 0, 0],
                Action::Errno(EPERM),
            ),
            ("clone", [0x11, 0, 0, 0, 0, 0], Action::Allow),
            ("clone", [ns | 0x11, 0, 0, 0, 0, 0], Action::Errno(EPERM)),
            (
                "clone",
                [CloneFlags::NEWNET.bits(), 0, 0, 0, 0, 0],
                Action::Errno(EPERM),
            ),
            ("ioctl", [1, tiocsti, 0, 0, 0, 0], Action::Errno(EPERM)),
            // The kernel truncates the request to 32 bits, so high bits do not help.
            (
                "ioctl",
                [1, tiocsti | 1 << 32, 0, 0, 0, 0],
                Action::Errno(EPERM),
            ),
            ("ioctl", [1, 0x5401, 0, 0, 0, 0], Action::Allow),
            (
                "prctl",
                [libc::PR_SET_MM as u64, 0, 0, 0, 0, 0],
                Action::Errno(EPERM),
            ),
            (
                "prctl",
                [libc::PR_SET_NAME as u64, 0, 0, 0, 0, 0],
                Action::Allow,
            ),
            ("socket", [af(libc::AF_INET), 1, 0, 0, 0, 0], Action::Allow),
            (
                "socket",
                [af(libc::AF_INET6), 2 | 0o4000, 0, 0, 0, 0],
                Action::Allow,
            ),
            ("socket", [af(libc::AF_UNIX), 5, 0, 0, 0, 0], Action::Allow),
            (
                "socket",
                [af(libc::AF_NETLINK), 3, 0, 0, 0, 0],
                Action::Allow,
            ),
            (
                "socket",
                [af(libc::AF_NETLINK), 3, 9, 0, 0, 0],
                Action::Errno(EAFNOSUPPORT),
            ),
            (
                "socket",
                [af(libc::AF_INET), 3 | 0o2000000, 1, 0, 0, 0],
                Action::Errno(EPERM),
            ),
            (
                "socket",
                [af(libc::AF_INET6), 10, 0, 0, 0, 0],
                Action::Errno(EPERM),
            ),
            (
                "socket",
                [af(libc::AF_PACKET), 3, 0, 0, 0, 0],
                Action::Errno(EAFNOSUPPORT),
            ),
            (
                "socketpair",
                [af(libc::AF_UNIX), 1, 0, 0, 0, 0],
                Action::Allow,
            ),
            (
                "socketpair",
                [af(libc::AF_INET), 1, 0, 0, 0, 0],
                Action::Errno(EAFNOSUPPORT),
            ),
            ("chmod", [0, 0o755, 0, 0, 0, 0], Action::Allow),
            ("chmod", [0, 0o4755, 0, 0, 0, 0], Action::Errno(EPERM)),
            ("fchmodat", [0, 0, 0o2755, 0, 0, 0], Action::Errno(EPERM)),
            ("fchmodat2", [0, 0, 0o644, 0, 0, 0], Action::Allow),
            ("mknod", [0, 0o100644, 0, 0, 0, 0], Action::Allow),
            ("mknod", [0, 0o020644, 0, 0, 0, 0], Action::Errno(EPERM)),
            ("mknodat", [0, 0, 0o060600, 0, 0, 0], Action::Errno(EPERM)),
            ("mknodat", [0, 0, 0o010600, 0, 0, 0], Action::Allow),
            ("mknod", [0, 0o104755, 0, 0, 0, 0], Action::Errno(EPERM)),
            ("mknodat", [0, 0, 0o102755, 0, 0, 0], Action::Errno(EPERM)),
            ("open", [0, 0o101, 0o4755, 0, 0, 0], Action::Errno(EPERM)),
            ("open", [0, 0o101, 0o755, 0, 0, 0], Action::Allow),
            ("open", [0, 0o1, 0o4755, 0, 0, 0], Action::Allow),
            ("openat", [0, 0, 0o100, 0o2700, 0, 0], Action::Errno(EPERM)),
            (
                "openat",
                [0, 0, 0o20200002, 0o4700, 0, 0],
                Action::Errno(EPERM),
            ),
            ("openat", [0, 0, 0o100, 0o644, 0, 0], Action::Allow),
            ("creat", [0, 0o6755, 0, 0, 0, 0], Action::Errno(EPERM)),
            ("creat", [0, 0o755, 0, 0, 0, 0], Action::Allow),
            ("openat2", [0; 6], Action::Errno(ENOSYS)),
        ];
        let f = default_policy(Arch::X86_64).unwrap();
        for layout in [Layout::BinarySearch, Layout::Linear] {
            let prog = f.compile_with(layout).unwrap();
            for &(name, args, want) in cases {
                let d = call(Arch::X86_64, name, args);
                assert_eq!(f.decide(&d), want, "{name} {args:x?}");
                assert_eq!(
                    eval(&prog, &d),
                    Ok(want.to_ret()),
                    "{layout:?} {name} {args:x?}"
                );
            }
        }
    }

    #[test]
    fn extend_the_default() {
        let mut f = default_policy(Arch::X86_64).unwrap();
        f.notify("openat").unwrap().deny("uname", EPERM).unwrap();
        f.add_rule("socket", Rule::always(Action::UserNotif).unwrap())
            .unwrap();
        let prog = f.compile().unwrap();
        let check = |name, args, want: Action| {
            let d = call(Arch::X86_64, name, args);
            assert_eq!(eval(&prog, &d), Ok(want.to_ret()), "{name}");
        };
        check("openat", [0; 6], Action::UserNotif);
        check("uname", [0; 6], Action::Errno(EPERM));
        check("socket", [2, 1, 0, 0, 0, 0], Action::UserNotif);
        check("socket", [17, 3, 0, 0, 0, 0], Action::Errno(EAFNOSUPPORT));
    }

    /// Size and path length of the default filter, binary search against a linear chain.
    /// Run with `--nocapture` to see the numbers.
    #[test]
    fn default_filter_numbers() {
        let f = default_policy(Arch::X86_64).unwrap();
        for layout in [Layout::BinarySearch, Layout::Linear] {
            let prog = f.compile_with(layout).unwrap();
            let mut probes: Vec<SeccompData> = Vec::new();
            let native = Arch::X86_64.audit_arch();
            for nr in 0..=470 {
                // Zero, all-ones and each condition value, so every rule chain runs far.
                let mut arg_sets = vec![[0u64; 6], [u64::MAX; 6]];
                for rule in f.rules(nr).unwrap_or_default() {
                    for c in rule.conds() {
                        let mut args = [0u64; 6];
                        args[usize::from(c.arg())] = c.value();
                        arg_sets.push(args);
                    }
                }
                for args in arg_sets {
                    probes.push(SeccompData {
                        nr: nr as i32,
                        arch: native,
                        instruction_pointer: 0,
                        args,
                    });
                }
            }
            probes.push(SeccompData {
                nr: 20,
                arch: Arch::X86_64.compat_audit_arch(),
                instruction_pointer: 0,
                args: [0; 6],
            });
            probes.push(SeccompData {
                nr: 0x4000_0027,
                arch: native,
                instruction_pointer: 0,
                args: [0; 6],
            });
            let mut longest = 0;
            let mut longest_plain = 0;
            for d in &probes {
                let out = eval_with_steps(&prog, d).unwrap();
                assert_eq!(out.ret, f.evaluate(d));
                longest = longest.max(out.steps);
                if f.rules(d.nr as u32).is_none() {
                    longest_plain = longest_plain.max(out.steps);
                }
            }
            let bound = crate::longest_path(&prog).unwrap();
            assert!(longest <= bound);
            println!(
                "default filter x86_64 {layout:?}: {} instructions, longest path measured {} \
                 (syscalls without rules: {}), static bound {}",
                prog.len(),
                longest,
                longest_plain,
                bound
            );
        }
    }
}

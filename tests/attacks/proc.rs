//! Attack battery, /proc group: with /proc granted (`-r /proc`), the supervisor's views still
//! keep the kernel's secrets (kcore or kallsyms, keys, the kernel log, /sys/firmware) closed
//! however the path is spelled, and keep processes outside the sandbox out of sight.
//!
//! Each attack first works bare. Expected lines are compared whole, so a spelling that got
//! further (or failed differently) shows up with both outputs.

use std::process::Command;

use sandlock_tests::{Scratch, is_root, text};

mod common;
use common::{assert_healthy, bare, expect, sandboxed, skip_without_landlock};

/// `-r` of the system paths and /proc and /sys, plus `extra`.
fn proc_args(extra: &[&str]) -> Vec<String> {
    let mut args = common::proc_policy();
    args.extend(["-r".to_owned(), "/sys".to_owned()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// The kernel's memory (/proc/kcore) or, on a kernel without it (this machine's), its symbol
/// table (/proc/kallsyms: kernel addresses for root, readable by all), opened through every
/// spelling: absolute with extra slashes, dots and dot-dots, through /proc/self and its root
/// link, relative to a working directory in /proc or above, relative to a /proc directory fd
/// (also /proc/self's), through symbolic links to the file and to /proc, with open, openat,
/// O_PATH and openat2.
#[test]
fn proc_denied_files_however_spelled() {
    if skip_without_landlock() {
        return;
    }
    let target = if std::path::Path::new("/proc/kcore").exists() {
        "kcore"
    } else {
        println!("no /proc/kcore on this kernel: the same spellings of /proc/kallsyms instead");
        "kallsyms"
    };
    let bare_answer = if target == "kcore" && !is_root() {
        "EACCES"
    } else {
        "ok"
    };
    let links = Scratch::new("proc-links");
    std::os::unix::fs::symlink(format!("/proc/{target}"), links.join("file")).unwrap();
    std::os::unix::fs::symlink("/proc", links.join("dir")).unwrap();
    std::os::unix::fs::symlink("../../../../../proc/./", links.join("rel")).unwrap();
    let t = target;
    let l = links.path();
    let absolute = [
        format!("/proc/{t}"),
        format!("//proc/{t}"),
        format!("/proc/./{t}"),
        format!("/proc/../proc/{t}"),
        format!("/proc/self/../{t}"),
        format!("/proc/self/root/proc/{t}"),
        format!("/proc/thread-self/root/proc/{t}"),
        format!("{l}/file"),
        format!("{l}/dir/{t}"),
        format!("{l}/rel/{t}"),
    ];
    let mut body = String::new();
    for p in &absolute {
        body.push_str(&format!(
            "attempt('openat {p}', lambda: os.close(os.open('{p}', os.O_RDONLY)))\n"
        ));
    }
    body.push_str(&format!(
        "say('open /proc/{t}', sc({open}, b'/proc/{t}', os.O_RDONLY)[1])\n\
         attempt('O_PATH /proc/{t}', lambda: os.close(os.open('/proc/{t}', os.O_PATH)))\n\
         how = struct.pack('QQQ', os.O_RDONLY, 0, 0)\n\
         say('openat2 /proc/{t}', sc({openat2}, -100, b'/proc/{t}', how, len(how))[1])\n\
         d = os.open('/proc', os.O_RDONLY | os.O_DIRECTORY)\n\
         attempt('dirfd /proc + {t}', lambda: os.close(os.open('{t}', os.O_RDONLY, dir_fd=d)))\n\
         attempt('dirfd /proc + ./{t}', lambda: os.close(os.open('./{t}', os.O_RDONLY, dir_fd=d)))\n\
         s = os.open('/proc/self', os.O_RDONLY | os.O_DIRECTORY)\n\
         attempt('dirfd /proc/self + ../{t}', lambda: os.close(os.open('../{t}', os.O_RDONLY, dir_fd=s)))\n\
         os.chdir('/proc')\n\
         attempt('cwd /proc + {t}', lambda: os.close(os.open('{t}', os.O_RDONLY)))\n\
         os.chdir('/usr')\n\
         attempt('cwd /usr + ../proc/{t}', lambda: os.close(os.open('../proc/{t}', os.O_RDONLY)))\n\
         for entry in ['keys', 'key-users']:\n\
         \x20   attempt('openat /proc/' + entry, lambda: os.close(os.open('/proc/' + entry, os.O_RDONLY)))\n\
         attempt('listdir /sys/firmware', lambda: os.listdir('/sys/firmware'))\n",
        open = libc::SYS_open,
        openat2 = libc::SYS_openat2,
    ));
    let labels: Vec<String> = absolute
        .iter()
        .map(|p| format!("openat {p}"))
        .chain([
            format!("open /proc/{t}"),
            format!("O_PATH /proc/{t}"),
            format!("openat2 /proc/{t}"),
            format!("dirfd /proc + {t}"),
            format!("dirfd /proc + ./{t}"),
            format!("dirfd /proc/self + ../{t}"),
            format!("cwd /proc + {t}"),
            format!("cwd /usr + ../proc/{t}"),
            "openat /proc/keys".to_owned(),
            "openat /proc/key-users".to_owned(),
            "listdir /sys/firmware".to_owned(),
        ])
        .collect();
    let with = |f: &dyn Fn(&str) -> &'static str| -> Vec<String> {
        labels.iter().map(|l| format!("{l}: {}", f(l))).collect()
    };
    let bare_lines = with(&|l| {
        // keys, key-users and /sys/firmware are world-readable; O_PATH checks no permission.
        if l.contains("keys")
            || l.contains("key-users")
            || l.contains("firmware")
            || l.starts_with("O_PATH")
        {
            "ok"
        } else {
            bare_answer
        }
    });
    let bare_lines: Vec<&str> = bare_lines.iter().map(String::as_str).collect();
    expect(&bare(&body), 0, &bare_lines);
    let denied = with(&|l| {
        if l.starts_with("openat2") {
            // The default filter: libc falls back to openat.
            "ENOSYS"
        } else {
            "EACCES"
        }
    });
    let denied: Vec<&str> = denied.iter().map(String::as_str).collect();
    let out = sandboxed(&proc_args(&["-r", links.path()]), &body);
    expect(&out, 0, &denied);
    println!(
        "proc: {} spellings of /proc/{t}, keys, key-users and /sys/firmware: all denied",
        labels.len()
    );
    assert_healthy();
}

/// The kernel log as a file (/proc/kmsg): root only bare.
#[test]
fn proc_kmsg_as_root() {
    if skip_without_landlock() || !is_root() {
        println!("skipped: needs root (bare, /proc/kmsg is 0400 root)");
        return;
    }
    let body = "attempt('kmsg', lambda: os.close(os.open('/proc/kmsg', os.O_RDONLY | os.O_NONBLOCK)))\n\
                attempt('//proc/./kmsg', lambda: os.close(os.open('//proc/./kmsg', os.O_RDONLY | os.O_NONBLOCK)))\n";
    expect(&bare(body), 0, &["kmsg: ok", "//proc/./kmsg: ok"]);
    expect(
        &sandboxed(&proc_args(&[]), body),
        0,
        &["kmsg: EACCES", "//proc/./kmsg: EACCES"],
    );
    assert_healthy();
}

/// A process outside the sandbox (same user, with a secret in its environment), the sandbox's
/// own init (which shares the supervisor's memory) and the supervisor: bare, listed in /proc
/// and readable; sandboxed, neither listed nor readable by any spelling, while the sandbox's
/// own processes still are.
#[test]
fn proc_foreign_pid_hidden_and_unreadable() {
    if skip_without_landlock() {
        return;
    }
    let mut bystander = common::bystander();
    let body = format!(
        "P = {pid}\n\
         print('listed: %s' % (str(P) in os.listdir('/proc')))\n\
         attempt('cmdline', lambda: open('/proc/%d/cmdline' % P, 'rb').read())\n\
         e = attempt('environ', lambda: open('/proc/%d/environ' % P, 'rb').read())\n\
         attempt('status', lambda: open('/proc/%d/status' % P).read())\n\
         attempt('fd', lambda: os.listdir('/proc/%d/fd' % P))\n\
         attempt('task status', lambda: open('/proc/%d/task/%d/status' % (P, P)).read())\n\
         d = os.open('/proc', os.O_RDONLY | os.O_DIRECTORY)\n\
         attempt('dirfd status', lambda: os.close(os.open('%d/status' % P, os.O_RDONLY, dir_fd=d)))\n\
         attempt('parent environ', lambda: open('/proc/%d/environ' % os.getppid(), 'rb').read())\n\
         attempt('own status', lambda: open('/proc/self/status').read())\n\
         attempt('own environ', lambda: open('/proc/%d/environ' % os.getpid(), 'rb').read())\n\
         print('self listed: %s' % (str(os.getpid()) in os.listdir('/proc')))\n\
         if e is not None:\n    print('environ has the secret: %s' % (b'hunter2' in e))\n",
        pid = bystander.id()
    );
    let bare_out = bare(&body);
    let sandboxed_out = sandboxed(&proc_args(&[]), &body);
    let ls = sandlock_tests::run_system(&["-r", "/proc"], &["ls", "/proc"]);
    bystander.kill().unwrap();
    bystander.wait().unwrap();
    expect(
        &bare_out,
        0,
        &[
            "listed: True",
            "cmdline: ok",
            "environ: ok",
            "status: ok",
            "fd: ok",
            "task status: ok",
            "dirfd status: ok",
            "parent environ: ok",
            "own status: ok",
            "own environ: ok",
            "self listed: True",
            "environ has the secret: True",
        ],
    );
    expect(
        &sandboxed_out,
        0,
        &[
            "listed: False",
            "cmdline: ENOENT",
            "environ: ENOENT",
            "status: ENOENT",
            "fd: ENOENT",
            "task status: ENOENT",
            "dirfd status: ENOENT",
            "parent environ: ENOENT",
            "own status: ok",
            "own environ: ok",
            "self listed: True",
        ],
    );
    let listed = String::from_utf8_lossy(&ls.stdout).into_owned();
    assert_eq!(ls.status.code(), Some(0), "{}", text(&ls));
    assert!(
        !listed.lines().any(|l| l == bystander.id().to_string()),
        "ls /proc shows the bystander: {listed}"
    );
    assert!(listed.lines().any(|l| l == "self"), "{listed}");
    let pids = listed.lines().filter(|l| l.parse::<u32>().is_ok()).count();
    assert!(
        (1..=3).contains(&pids),
        "only the sandbox's own processes: {listed}"
    );
    println!("proc: a foreign process, the init and the supervisor: hidden and unreadable");
    assert_healthy();
}

/// With opens made on its behalf (here: `-r /`, which covers /proc), a process that confines
/// itself further (a nested sandlock, or any program using Landlock) must stay confined: the
/// supervisor's workers enforce the sandbox's rules, so they also take on the rulesets the
/// process enforced on itself. Bare, the file is readable; in the inner sandbox, which does
/// not grant /etc, it is not, though the outer one does.
#[test]
fn proc_nested_landlock_holds_in_opens_on_behalf() {
    if skip_without_landlock() {
        return;
    }
    let bin = sandlock_tests::sandlock_bin();
    let bin = bin.to_str().unwrap();
    let bare_out = Command::new("cat").arg("/etc/hostname").output().unwrap();
    assert_eq!(bare_out.status.code(), Some(0), "{}", text(&bare_out));
    let mut inner = vec!["run", "-r", "/", "-w", "/tmp", "--", bin, "run"];
    for p in ["/usr", "/lib", "/lib64", "/bin"] {
        if std::path::Path::new(p).exists() {
            inner.extend(["-r", p]);
        }
    }
    inner.extend(["--", "sh", "-c", "cat /etc/hostname; echo rc=$?"]);
    let out = sandlock_tests::run(&inner);
    let secret = String::from_utf8_lossy(&bare_out.stdout).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        secret.trim().is_empty() || !stdout.contains(secret.trim()),
        "{}",
        text(&out)
    );
    if is_root() {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(stdout.contains("rc=1"), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
            "{}",
            text(&out)
        );
    } else {
        // The inner sandlock makes itself non-dumpable, and a supervisor without
        // CAP_SYS_PTRACE cannot read a non-dumpable process's memory (the path of its
        // opens): every open of it fails with EACCES, so it does not start.
        println!(
            "as non-root the inner sandlock cannot start: {}",
            text(&out)
        );
    }
    println!("proc: a nested Landlock domain holds in the opens made on its behalf");
    assert_healthy();
}

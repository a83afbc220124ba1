//! Attack battery, information group: reading what the host knows about itself and about
//! other processes: kernel memory, the kernel log, another process's command line and
//! environment.
//!
//! These run with the default profile, which does not grant /proc at all, so Landlock answers
//! every /proc path with EACCES however it is spelled. With /proc granted, the supervisor's /proc
//! views deny the same things: that is the proc group (`proc.rs`).

use sandlock_tests::{is_root, run, text};

mod common;
use common::{DEFAULT_PROFILE, assert_healthy, bare, expect, refused_without_landlock, sandboxed};

/// /proc/kcore is the kernel's memory as an ELF core. Root can open it bare; others get the
/// kernel's EACCES (mode 0400), which is also Landlock's answer, so for them the test shows
/// only that no spelling gets further. Kernels built without CONFIG_PROC_KCORE (this machine's)
/// have no /proc/kcore, and a missing file is ENOENT in or out of a sandbox; the test then
/// attacks /proc/kallsyms (kernel symbol addresses, mode 0444: readable bare by everyone).
#[test]
fn information_proc_kcore_and_its_spellings() {
    if refused_without_landlock() {
        return;
    }
    let (target, bare_answer) = if std::path::Path::new("/proc/kcore").exists() {
        ("kcore", if is_root() { "ok" } else { "EACCES" })
    } else {
        println!("no /proc/kcore on this kernel: the same spellings of /proc/kallsyms instead");
        ("kallsyms", "ok")
    };
    let spellings = [
        format!("/proc/{target}"),
        format!("//proc/{target}"),
        format!("/proc/./{target}"),
        format!("/proc/../proc/{target}"),
        format!("/proc/self/../{target}"),
        format!("/proc/self/root/proc/{target}"),
    ];
    let relative = format!("../proc/{target}");
    let mut body: String = spellings
        .iter()
        .map(|p| format!("attempt('open({p})', lambda: os.close(os.open('{p}', os.O_RDONLY)))\n"))
        .collect();
    body.push_str(&format!(
        "os.chdir('/usr')\n\
         attempt('open({relative}) from /usr', lambda: os.close(os.open('{relative}', os.O_RDONLY)))\n"
    ));
    let lines = |answer: &str| -> Vec<String> {
        spellings
            .iter()
            .map(|p| format!("open({p}): {answer}"))
            .chain(std::iter::once(format!(
                "open({relative}) from /usr: {answer}"
            )))
            .collect()
    };
    let opened = lines(bare_answer);
    let opened: Vec<&str> = opened.iter().map(String::as_str).collect();
    expect(&bare(&body), 0, &opened);
    let denied = lines("EACCES");
    let denied: Vec<&str> = denied.iter().map(String::as_str).collect();
    expect(&sandboxed(DEFAULT_PROFILE, &body), 0, &denied);
    assert_healthy();
}

/// Another process's command line and environment (secrets are often passed in either). The
/// bystander belongs to the same user, so bare both are readable.
#[test]
fn information_foreign_pid_cmdline_and_environ() {
    if refused_without_landlock() {
        return;
    }
    let mut bystander = common::bystander();
    let body = format!(
        "P = {}\n\
         c = attempt('cmdline', lambda: open('/proc/%d/cmdline' % P, 'rb').read())\n\
         e = attempt('environ', lambda: open('/proc/%d/environ' % P, 'rb').read())\n\
         attempt('status', lambda: open('/proc/%d/status' % P).read())\n\
         if c is not None:\n    print('cmdline says sleep: %s' % (c == b'sleep\\x0060\\x00'))\n\
         if e is not None:\n    print('environ has the secret: %s' % (b'hunter2' in e))\n",
        bystander.id()
    );
    let bare_out = bare(&body);
    let sandboxed_out = sandboxed(DEFAULT_PROFILE, &body);
    bystander.kill().unwrap();
    bystander.wait().unwrap();
    expect(
        &bare_out,
        0,
        &[
            "cmdline: ok",
            "environ: ok",
            "status: ok",
            "cmdline says sleep: True",
            "environ has the secret: True",
        ],
    );
    expect(
        &sandboxed_out,
        0,
        &["cmdline: EACCES", "environ: EACCES", "status: EACCES"],
    );
    assert_healthy();
}

/// The kernel log leaks kernel addresses and other tenants' messages. syslog(2) is denied by
/// the filter. Bare, root reads the log's size (SYSLOG_ACTION_SIZE_BUFFER); others get the
/// kernel's EPERM (with kernel.dmesg_restrict=1, as here), the same errno as the filter's, so for them
/// the test shows only that the sandbox gets no further. /dev/kmsg is not granted either.
#[test]
fn information_dmesg_and_syslog() {
    if refused_without_landlock() {
        return;
    }
    let body = format!(
        "say('syslog(SIZE_BUFFER)', sc({}, 10, 0, 0)[1])\n\
         attempt('open(/dev/kmsg)', lambda: os.close(os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)))\n",
        libc::SYS_syslog
    );
    let restricted = common::sysctl("kernel.dmesg_restrict") != Some(0);
    let bare_lines: &[&str] = if is_root() || !restricted {
        &["syslog(SIZE_BUFFER): ok", "open(/dev/kmsg): ok"]
    } else {
        // /dev/kmsg is world-readable, but reading it is what dmesg_restrict guards: the open
        // itself fails with EPERM.
        &["syslog(SIZE_BUFFER): EPERM", "open(/dev/kmsg): EPERM"]
    };
    expect(&bare(&body), 0, bare_lines);
    expect(
        &sandboxed(DEFAULT_PROFILE, &body),
        0,
        &["syslog(SIZE_BUFFER): EPERM", "open(/dev/kmsg): EACCES"],
    );
    // The usual tool.
    let out = run(&["run", "--", "dmesg"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
    assert_healthy();
}

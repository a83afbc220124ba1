//! Reading and writing the caller's memory, through process_vm_* and through /proc/PID/mem.
#![forbid(unsafe_code)]

mod util;

use std::fs::File;

use sandlock_notif::{HandlerTable, MemAccess, ReactorConfig, Verdict};
use sandlock_sys::Errno;
use util::nr;

const FAKE_CWD: &[u8] = b"/sandlock/fake-cwd\0";

fn read_and_write(test: &str, access: MemAccess) {
    if util::in_child(test) {
        util::child_install_filter(&[nr("openat"), nr("getcwd")]);
        let e = File::open("/etc/hostname").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            cwd.as_os_str().as_encoded_bytes(),
            &FAKE_CWD[..FAKE_CWD.len() - 1]
        );
        return;
    }
    if !util::user_notif_available() {
        return;
    }
    let handlers = HandlerTable::new()
        .on(nr("openat"), |ctx| {
            let path = ctx.read_cstr(ctx.args()[1], 4096)?;
            assert_eq!(path, b"/etc/hostname");
            Ok(Verdict::Errno(Errno::EACCES))
        })
        .on(nr("getcwd"), |ctx| {
            let [buf, size, ..] = ctx.args();
            if (size as usize) < FAKE_CWD.len() {
                return Ok(Verdict::Errno(Errno::ERANGE));
            }
            ctx.write_mem(buf, FAKE_CWD)?;
            // getcwd(2) returns the length including the NUL.
            Ok(Verdict::Return(FAKE_CWD.len() as i64))
        });
    let config = ReactorConfig::default().with_mem_access(access);
    let (stats, _) = util::serve_child(test, &[], config, handlers);
    assert_eq!(
        (stats.received, stats.answered, stats.handler_errors),
        (2, 2, 0),
        "{stats:?}"
    );
}

#[test]
fn memory_through_process_vm() {
    read_and_write("memory_through_process_vm", MemAccess::Auto);
}

#[test]
fn memory_through_proc_pid_mem() {
    read_and_write("memory_through_proc_pid_mem", MemAccess::ProcMem);
}

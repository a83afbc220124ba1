//! Kernel tests of `process::process_vm_read` on another process.

mod util;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use sandlock_sys::Errno;
use sandlock_sys::process::{process_vm_read, process_vm_write};

const TARGET: &str = "process-vm-target";
const MARKER: &[u8] = b"sandlock process_vm marker";

/// The parent reads (and writes) the memory of a child that waits on its stdin.
#[test]
fn read_and_write_a_child() {
    if util::is_child(TARGET) {
        let marker = MARKER.to_vec();
        // On a line of its own: the harness prints "test … ... " without a newline first.
        println!("\naddr={:#x}", marker.as_ptr() as u64);
        std::io::stdout().flush().expect("flush");
        // Wait for the parent: one line means "check the buffer", then end of file.
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).expect("read stdin");
        let marker = std::hint::black_box(marker);
        assert_eq!(&marker[..8], b"SANDLOCK", "the parent's write is visible");
        return;
    }
    let mut child = util::child_command("read_and_write_a_child", TARGET)
        .stdin(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn target");
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let addr = loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).expect("read"),
            0,
            "target said nothing"
        );
        if let Some(hex) = line.trim().split("addr=0x").nth(1) {
            break u64::from_str_radix(hex, 16).expect("hex address");
        }
    };

    let mut buf = vec![0u8; MARKER.len()];
    assert_eq!(process_vm_read(pid, addr, &mut buf), Ok(MARKER.len()));
    assert_eq!(buf, MARKER);
    assert_eq!(process_vm_read(pid, 0, &mut buf), Err(Errno::EFAULT));
    assert_eq!(process_vm_write(pid, addr, b"SANDLOCK"), Ok(8));

    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"check\n").expect("write");
    drop(stdin);
    let rest: Vec<String> = stdout.lines().map(|l| l.expect("line")).collect();
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "target failed: {status}\n{}",
        rest.join("\n")
    );
    // Reaped: the pid names no process any more (barring an immediate reuse).
    assert_eq!(process_vm_read(pid, addr, &mut buf), Err(Errno::ESRCH));
}

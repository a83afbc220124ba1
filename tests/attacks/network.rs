//! Attack battery, network group: reaching a destination the rules do not allow, or binding
//! where the sandbox may not.
//!
//! Every connect targets a LISTENING port owned by the test (a refused connect proves
//! nothing), and every datagram goes to a socket the test reads: bare, each attack reaches it;
//! sandboxed, it gets `EACCES` and nothing arrives; then the next sandbox still works.

use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use sandlock_tests::{Scratch, text};

mod common;
use common::{assert_healthy, bare, expect, landlock_abi, sandboxed, stdout};

/// Python helpers for the attacks: raw connect and sendmmsg through ctypes.
const NET: &str = r#"
import socket, threading
libc.connect.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint]
def sin(port, ip="127.0.0.1"):
    return struct.pack("=H", 2) + struct.pack(">H", port) + socket.inet_aton(ip) + b"\0" * 8
def connect_to(port):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        return 0
    except OSError as e:
        return e.errno
    finally:
        s.close()
class Iov(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint), ("iov", ctypes.c_void_p),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p),
                ("controllen", ctypes.c_size_t), ("flags", ctypes.c_int)]
class Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", Msghdr), ("len", ctypes.c_uint)]
def sendmmsg_to(port, n=2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    name = ctypes.create_string_buffer(sin(port), 16)
    data = ctypes.create_string_buffer(b"mmsg", 4)
    iov = Iov(ctypes.addressof(data), 4)
    vec = (Mmsghdr * n)()
    for m in vec:
        m.hdr.name = ctypes.addressof(name); m.hdr.namelen = 16
        m.hdr.iov = ctypes.addressof(iov); m.hdr.iovlen = 1
    r, e = sc(307, s.fileno(), vec, n, 0)
    if e == 0 and (r != n or any(m.len != 4 for m in vec)):
        return -1
    return e
"#;

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Counts the connections a listener accepts, on a thread, until `stop`.
fn count_accepts(
    l: TcpListener,
    stop: Arc<AtomicBool>,
) -> (Arc<AtomicU32>, std::thread::JoinHandle<()>) {
    let n = Arc::new(AtomicU32::new(0));
    let count = Arc::clone(&n);
    l.set_nonblocking(true).unwrap();
    let h = std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok(_) => {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    });
    (n, h)
}

fn udp_receiver() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let port = s.local_addr().unwrap().port();
    (s, port)
}

fn received(s: &UdpSocket) -> usize {
    let mut buf = [0u8; 64];
    let mut n = 0;
    while s.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

#[test]
fn connect_to_a_listening_port_that_is_not_allowed() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let (_allowed_l, allowed) = listener();
    let (_denied_l, denied) = listener();
    let body = format!(
        "{NET}\nsay('allowed', connect_to({allowed}))\nsay('denied', connect_to({denied}))\n\
         s6 = socket.socket(socket.AF_INET6)\n\
         say('v4-mapped', s6.connect_ex(('::ffff:127.0.0.1', {denied})))\n\
         say('unspecified', socket.socket().connect_ex(('0.0.0.0', {denied})))\n"
    );
    expect(
        &bare(&body),
        0,
        &[
            "allowed: ok",
            "denied: ok",
            "v4-mapped: ok",
            "unspecified: ok",
        ],
    );
    let allow = format!("127.0.0.1:{allowed}");
    let out = sandboxed(&["--net-allow", &allow], &body);
    expect(
        &out,
        0,
        &[
            "allowed: ok",
            "denied: EACCES",
            "v4-mapped: EACCES",
            "unspecified: EACCES",
        ],
    );
    assert_healthy();
    println!(
        "network: connect to a listening, not allowed port (plain, v4-mapped, 0.0.0.0): stopped"
    );
}

#[test]
fn udp_to_a_destination_that_is_not_allowed() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let (allowed_s, allowed) = udp_receiver();
    let (denied_s, denied) = udp_receiver();
    let body = format!(
        "{NET}\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         attempt('sendto allowed', lambda: u.sendto(b'a', ('127.0.0.1', {allowed})))\n\
         attempt('sendto', lambda: u.sendto(b'x', ('127.0.0.1', {denied})))\n\
         attempt('sendmsg', lambda: u.sendmsg([b'x'], [], 0, ('127.0.0.1', {denied})))\n\
         say('sendmmsg', sendmmsg_to({denied}))\n\
         attempt('connect', lambda: u.connect(('127.0.0.1', {denied})))\n"
    );
    expect(
        &bare(&body),
        0,
        &[
            "sendto allowed: ok",
            "sendto: ok",
            "sendmsg: ok",
            "sendmmsg: ok",
            "connect: ok",
        ],
    );
    assert_eq!(received(&allowed_s), 1);
    assert_eq!(
        received(&denied_s),
        4,
        "bare: sendto, sendmsg and two sendmmsg messages"
    );
    let allow = format!("udp://127.0.0.1:{allowed}");
    let out = sandboxed(&["--net-allow", &allow], &body);
    expect(
        &out,
        0,
        &[
            "sendto allowed: ok",
            "sendto: EACCES",
            "sendmsg: EACCES",
            "sendmmsg: EACCES",
            "connect: EACCES",
        ],
    );
    assert_eq!(received(&allowed_s), 1);
    assert_eq!(
        received(&denied_s),
        0,
        "nothing reached the denied receiver"
    );
    // The default: no UDP socket at all (Landlock ABI 4 and up, where the filter keeps the
    // default), or below that every send refused by the supervisor.
    let out = sandboxed::<&str>(&[], &body);
    let code = if landlock_abi() >= 4 { 1 } else { 0 };
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    assert!(
        stdout(&out).is_empty() || !stdout(&out).contains(": ok"),
        "{}",
        text(&out)
    );
    assert_eq!(received(&denied_s), 0);
    assert_healthy();
    println!(
        "network: UDP to a not allowed destination (sendto, sendmsg, sendmmsg, connect): stopped"
    );
}

#[test]
fn a_grandchilds_connect_is_enforced() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let (_l, port) = listener();
    let inner = format!(
        "import socket\ns = socket.socket()\ns.settimeout(5)\nprint('grandchild:', s.connect_ex(('127.0.0.1', {port})))"
    );
    let body = format!(
        "import subprocess\nsubprocess.run(['/bin/sh', '-c', '{py} -c \"$0\"', {inner:?}])\n",
        py = common::PY
    );
    let bare_out = bare(&body);
    assert_eq!(stdout(&bare_out), "grandchild: 0\n", "{}", text(&bare_out));
    let out = sandboxed(&["--net-allow", "127.0.0.1:1"], &body);
    assert_eq!(
        stdout(&out),
        format!("grandchild: {}\n", libc::EACCES),
        "{}",
        text(&out)
    );
    assert_healthy();
    println!("network: a grandchild's connect: stopped");
}

#[test]
fn racing_thread_flips_the_address_after_the_check() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    const ITERATIONS: u32 = 3000;
    let (allowed_l, allowed) = listener();
    let (denied_l, denied) = listener();
    let stop = Arc::new(AtomicBool::new(false));
    let (allowed_n, h1) = count_accepts(allowed_l, Arc::clone(&stop));
    let (denied_n, h2) = count_accepts(denied_l, Arc::clone(&stop));
    let body = format!(
        "{NET}\n\
         buf = ctypes.create_string_buffer(sin({allowed}), 16)\n\
         a, d = sin({allowed}), sin({denied})\n\
         done = False\n\
         def flip():\n    while not done:\n        ctypes.memmove(buf, d, 16)\n        ctypes.memmove(buf, a, 16)\n\
         t = threading.Thread(target=flip); t.start()\n\
         ok = 0\n\
         for i in range({ITERATIONS}):\n    s = socket.socket()\n    if libc.connect(s.fileno(), ctypes.addressof(buf), 16) == 0: ok += 1\n    s.close()\n\
         done = True; t.join()\n\
         print('connected', ok > 0)\n"
    );
    // Bare, the race reaches the denied listener.
    let out = bare(&body);
    assert_eq!(stdout(&out), "connected True\n", "{}", text(&out));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        denied_n.load(Ordering::Relaxed) > 0,
        "bare: the flip reached the denied port"
    );
    let bare_denied = denied_n.swap(0, Ordering::Relaxed);
    allowed_n.store(0, Ordering::Relaxed);
    let allow = format!("127.0.0.1:{allowed}");
    let out = sandboxed(&["--net-allow", &allow], &body);
    assert_eq!(stdout(&out), "connected True\n", "{}", text(&out));
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    h1.join().unwrap();
    h2.join().unwrap();
    let (a, d) = (
        allowed_n.load(Ordering::Relaxed),
        denied_n.load(Ordering::Relaxed),
    );
    assert_eq!(
        d, 0,
        "{d} connections reached the denied listener ({a} the allowed one)"
    );
    assert!(a > 0);
    assert_healthy();
    println!(
        "network: address flipped by a racing thread, {ITERATIONS} connects: bare {bare_denied} reached the denied port, sandboxed 0 ({a} allowed)"
    );
}

#[test]
fn on_behalf_bind_outside_net_allow_bind() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let free = || {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (allowed, other) = (free(), free());
    let body = format!(
        "import socket\n\
         for p in ({allowed}, {other}):\n    s = socket.socket()\n    attempt('bind %s' % ('allowed' if p == {allowed} else 'other'), lambda: s.bind(('127.0.0.1', p)))\n"
    );
    let body = common::program(&body);
    let out = std::process::Command::new(common::PY)
        .args(["-c", &body])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "bind allowed: ok\nbind other: ok\n",
        "{}",
        text(&out)
    );
    let spec = allowed.to_string();
    // --port-remap makes every bind an on-behalf bind by the supervisor's worker.
    let out = sandlock_tests::run(&[
        "run",
        "--port-remap",
        "--net-allow-bind",
        &spec,
        "--",
        common::PY,
        "-c",
        &body,
    ]);
    assert_eq!(
        stdout(&out),
        "bind allowed: ok\nbind other: EACCES\n",
        "{}",
        text(&out)
    );
    assert_healthy();
    println!("network: on-behalf bind of a port outside --net-allow-bind: stopped");
}

#[test]
fn on_behalf_unix_bind_into_a_read_only_directory() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    if sandlock_tests::skip_unless(
        landlock_abi() > 0,
        "Landlock (the worker's filesystem rules)",
    ) {
        return;
    }
    let dir = Scratch::new("unix-bind");
    std::fs::create_dir(dir.join("ro")).unwrap();
    let ro = dir.join("ro");
    let ro = ro.to_str().unwrap();
    let body = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\n\
         attempt('bind', lambda: s.bind('{ro}/sock'))\n\
         import os\nos.chdir('{ro}')\ns2 = socket.socket(socket.AF_UNIX)\n\
         attempt('relative bind', lambda: s2.bind('rel.sock'))\n"
    );
    let out = bare(&body);
    assert_eq!(
        stdout(&out),
        "bind: ok\nrelative bind: ok\n",
        "{}",
        text(&out)
    );
    std::fs::remove_file(dir.join("ro/sock")).unwrap();
    std::fs::remove_file(dir.join("ro/rel.sock")).unwrap();
    let mut args = sandlock_tests::system_read_args();
    args.extend(["--port-remap".to_owned(), "-r".to_owned(), ro.to_owned()]);
    let out = sandboxed(&args, &body);
    assert_eq!(
        stdout(&out),
        "bind: EACCES\nrelative bind: EACCES\n",
        "{}",
        text(&out)
    );
    let mut names = std::fs::read_dir(dir.join("ro")).unwrap().count();
    names += usize::from(dir.join("ro/sock").exists());
    assert_eq!(names, 0, "no socket file was created");
    assert_healthy();
    println!("network: on-behalf AF_UNIX bind into a read-only directory: stopped");
}

#[test]
fn ping_sockets_need_an_icmp_rule() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let body = "import socket\nattempt('ping socket', lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP))\n";
    let bare_out = bare(body);
    let out = sandboxed(&["--net-allow", "*"], body);
    expect(&out, 0, &["ping socket: EACCES"]);
    if stdout(&bare_out) == "ping socket: ok\n" {
        let out = sandboxed(&["--net-allow", "icmp://127.0.0.1"], body);
        expect(&out, 0, &["ping socket: ok"]);
    } else {
        // net.ipv4.ping_group_range excludes us: the kernel itself refuses.
        println!("ping sockets are not allowed for this group bare: only the denial is checked");
    }
    assert_healthy();
    println!("network: ping socket without an icmp:// rule: stopped");
}

#[test]
fn abstract_unix_socket_of_the_host_under_network_rules() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    if sandlock_tests::skip_unless(landlock_abi() >= 6, "Landlock ABI 6 (IPC scoping)") {
        return;
    }
    let name = format!("sandlock-test-abstract-{}", std::process::id());
    // A host listener on an abstract name (std has no abstract bind: python does it).
    let mut host = std::process::Command::new(common::PY)
        .args([
            "-c",
            &format!(
                "import socket, sys, time\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0{name}')\ns.listen()\nprint('up', flush=True)\ntime.sleep(30)"
            ),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = [0u8; 3];
    std::io::Read::read_exact(host.stdout.as_mut().unwrap(), &mut up).unwrap();
    let body = format!(
        "import socket\nd = socket.socket(socket.AF_UNIX)\nsay('host', d.connect_ex('\\0{name}'))\n\
         s = socket.socket(socket.AF_UNIX)\ns.bind('\\0{name}-own')\ns.listen()\n\
         c = socket.socket(socket.AF_UNIX)\nsay('own', c.connect_ex('\\0{name}-own'))\n"
    );
    expect(&bare(&body), 0, &["host: ok", "own: ok"]);
    // Network rules make connects supervised; scoping still holds, and the sandbox's own
    // abstract sockets still work.
    let out = sandboxed(&["--net-allow", "*"], &body);
    let _ = host.kill();
    let _ = host.wait();
    expect(&out, 0, &["host: EPERM", "own: ok"]);
    assert_healthy();
    println!("network: abstract unix connect to the host under network rules: stopped");
}

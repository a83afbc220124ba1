//! End-to-end tests of the network options: the default, `--net-allow`, `--net-deny`,
//! hostnames, and port virtualisation (`--port-remap`, `sandlock ports`, `--status-fd`).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use sandlock_tests::{run, sandlock, text};

const PY: &str = "/usr/bin/python3";

fn connect_script(port: u16) -> String {
    format!(
        "import socket\ns = socket.socket()\ns.settimeout(5)\nprint(s.connect_ex(('127.0.0.1', {port})))"
    )
}

fn out_of(args: &[&str]) -> String {
    let out = run(args);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn default_denies_loopback_and_star_allows_everything() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let script = connect_script(port);
    let eacces = format!("{}\n", libc::EACCES);
    assert_eq!(out_of(&["run", "--", PY, "-c", &script]), eacces);
    if sandlock_tests::network_rules_refused() {
        return;
    }
    assert_eq!(
        out_of(&["run", "--net-allow", "*", "--", PY, "-c", &script]),
        "0\n"
    );
    let spec = format!(":{port}");
    assert_eq!(
        out_of(&["run", "--net-allow", &spec, "--", PY, "-c", &script]),
        "0\n"
    );
    assert_eq!(
        out_of(&["run", "--net-deny", &spec, "--", PY, "-c", &script]),
        eacces
    );
    assert_eq!(
        out_of(&["run", "--net-deny", "10.0.0.0/8", "--", PY, "-c", &script]),
        "0\n"
    );
    let localhost = format!("localhost:{port}");
    assert_eq!(
        out_of(&["run", "--net-allow", &localhost, "--", PY, "-c", &script]),
        "0\n"
    );
}

#[test]
fn bad_rules_and_unknown_hosts_are_errors_naming_them() {
    let out = run(&[
        "run",
        "--net-allow",
        "no-such-host.invalid:443",
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-host.invalid"),
        "{}",
        text(&out)
    );
    let out = run(&["run", "--net-allow", "10.0.0.1:0", "--", "true"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&["run", "--net-allow", "*", "--net-deny", "*", "--", "true"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn help_explains_the_rules_and_how_bind_combines() {
    let out = sandlock().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--net-allow",
        "--net-deny",
        "--port-remap",
        "--net-allow-bind",
        "loopback",
    ] {
        assert!(help.contains(needle), "{needle} not in --help:\n{help}");
    }
}

/// A `python3 -m http.server 8000` in a sandbox with `--port-remap`.
struct Server {
    child: Child,
}

impl Server {
    fn start(dir: &str) -> Server {
        let child = sandlock_tests::sandlock_run()
            .args(sandlock_tests::system_read_args())
            .args([
                "--port-remap",
                "--net-allow-bind",
                "8000",
                "-r",
                dir,
                "--cwd",
                dir,
                "-t",
                "60",
                "--",
                PY,
                "-m",
                "http.server",
                "8000",
                "--bind",
                "127.0.0.1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Server { child }
    }

    /// The real port of virtual port 8000, from `sandlock ports PID`.
    fn real_port(&self) -> Option<u16> {
        for _ in 0..200 {
            let out = sandlock()
                .args(["ports", &self.child.id().to_string()])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if let Some(line) = text.lines().find(|l| l.contains(" tcp 8000 ")) {
                return line.split_whitespace().nth(3)?.parse().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(port: u16) -> String {
    // The mapping is reported at bind; listen comes right after, but on a loaded machine a
    // connect can arrive in between and be refused: wait for the listener.
    let mut s = None;
    for _ in 0..200 {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(c) => {
                s = Some(c);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("connect to {port}: {e}"),
        }
    }
    let mut s = s.unwrap_or_else(|| panic!("nothing listens on {port} after 10 s"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /marker.txt HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

#[test]
fn two_port_remapped_servers_on_one_port() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    // Port 8000 is taken on the host, so both sandboxes get real ports of their own.
    let Ok(host) = TcpListener::bind("127.0.0.1:8000") else {
        println!("skipped: port 8000 is in use on this host");
        return;
    };
    let dir = sandlock_tests::Scratch::new("http");
    std::fs::write(dir.join("marker.txt"), "served by sandlock\n").unwrap();
    let a = Server::start(dir.path());
    let b = Server::start(dir.path());
    let (pa, pb) = (a.real_port(), b.real_port());
    let (Some(pa), Some(pb)) = (pa, pb) else {
        drop(a);
        drop(b);
        panic!("no mapping reported by sandlock ports");
    };
    assert_ne!(pa, 8000);
    assert_ne!(pb, 8000);
    assert_ne!(pa, pb);
    for port in [pa, pb] {
        let mut body = String::new();
        for _ in 0..100 {
            body = http_get(port);
            if body.contains("served by sandlock") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(body.contains("served by sandlock"), "port {port}: {body}");
    }
    drop(host);
}

#[test]
fn getsockname_and_proc_net_show_the_virtual_port_under_a_conflict() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let host = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = host.local_addr().unwrap().port();
    let script = format!(
        "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\ns.listen()\n\
         print('local', s.getsockname()[1])\n\
         c = socket.create_connection(('127.0.0.1', {port}), timeout=5)\n\
         print('peer', c.getpeername()[1])\n\
         a, _ = s.accept()\nprint('accepted local', a.getsockname()[1])\n\
         rows = [l.split() for l in open('/proc/net/tcp').read().splitlines()[1:]]\n\
         print('proc rows', len(rows))\n\
         print('proc listen port', [int(r[1].split(':')[1], 16) for r in rows if r[3] == '0A'])\n"
    );
    let spec = port.to_string();
    let allow = format!("127.0.0.1:{port}");
    let mut child = sandlock_tests::sandlock_run()
        .args([
            "--port-remap",
            "--net-allow-bind",
            &spec,
            "--net-allow",
            &allow,
            "--status-fd",
            "1",
            "--",
            PY,
            "-c",
            &script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        lines.push(line.unwrap());
    }
    let status = child.wait().unwrap();
    let all = lines.join("\n");
    assert!(status.success(), "{all}");
    assert_eq!(lines[0], format!("local {port}"), "{all}");
    assert_eq!(lines[1], format!("peer {port}"), "{all}");
    assert_eq!(lines[2], format!("accepted local {port}"), "{all}");
    // /proc/net/tcp is served by the views feature's open hooks: the sandbox's own three
    // sockets, listening on the virtual port.
    assert_eq!(lines[3], "proc rows 3", "{all}");
    assert_eq!(lines[4], format!("proc listen port [{port}]"), "{all}");
    let json = &lines[5];
    assert!(
        json.contains(&format!(
            "\"ports\":[{{\"protocol\":\"tcp\",\"virtual\":{port},\"real\":"
        )),
        "{json}"
    );
    drop(host);
}

#[test]
fn hostnames_are_pinned_and_served_in_a_synthetic_etc_hosts() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let spec = format!("localhost:{port}");
    let script = format!(
        "import socket\nprint(open('/etc/hosts').read(), end='')\n\
         s = socket.create_connection(('localhost', {port}), timeout=5)\nprint('connected')"
    );
    let out = run(&["run", "--net-allow", &spec, "--", PY, "-c", &script]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.ends_with("connected\n"), "{}", text(&out));
    // localhost resolved on the host (to 127.0.0.1, maybe ::1 too); the sandbox's /etc/hosts
    // is the synthetic one: the fixed localhost lines, then the pinned addresses.
    assert!(
        stdout.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn redis_server_with_its_port_allowed() {
    if sandlock_tests::network_rules_refused() {
        return;
    }
    if sandlock_tests::skip_unless(
        std::path::Path::new("/usr/bin/redis-server").exists()
            && std::path::Path::new("/usr/bin/redis-cli").exists(),
        "redis-server and redis-cli (Debian package redis-server)",
    ) {
        return;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let allow = format!("127.0.0.1:{port}");
    // The flags the bench uses: bind allowed; the connect rule is for clients inside.
    let mut server = sandlock_tests::sandlock_run()
        .args([
            "--net-allow-bind",
            &port,
            "--net-allow",
            &allow,
            "-t",
            "60",
            "--",
            "/usr/bin/redis-server",
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pong = String::new();
    for _ in 0..100 {
        let out = std::process::Command::new("/usr/bin/redis-cli")
            .args(["-p", &port, "PING"])
            .output()
            .unwrap();
        pong = String::from_utf8_lossy(&out.stdout).into_owned();
        if pong == "PONG\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A client inside a sandbox with the connect rule reaches it too.
    let inside = run(&[
        "run",
        "--net-allow",
        &allow,
        "--",
        "/usr/bin/redis-cli",
        "-p",
        &port,
        "PING",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(pong, "PONG\n");
    assert_eq!(
        String::from_utf8_lossy(&inside.stdout),
        "PONG\n",
        "{}",
        text(&inside)
    );
}

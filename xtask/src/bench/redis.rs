//! redis SET/GET: `redis-benchmark` on loopback, outside any sandbox, against a `redis-server`
//! running bare and one running in `sandlock run` with its port allowed. Both servers run for
//! the whole workload and the benchmark alternates between them, round by round.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Report, Row, Summary, Target, TaskResult, Unit, dist, find_in_path};

pub(super) const ROUNDS: usize = 11;
/// Requests of each kind per redis-benchmark run.
const REQUESTS: usize = 50_000;
/// Parallel connections of redis-benchmark.
const CLIENTS: usize = 50;
/// Target: requests per second in sandlock, as a ratio to bare.
const REDIS_TARGET: f64 = 0.98;

/// A redis-server that is shut down when dropped.
struct Server {
    name: &'static str,
    port: u16,
    child: Child,
    cli: PathBuf,
}

impl Server {
    fn start(
        name: &'static str,
        port: u16,
        mut cmd: Command,
        cli: &Path,
    ) -> Result<Server, String> {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server ({name}): {e}"))?;
        let mut server = Server {
            name,
            port,
            child,
            cli: cli.to_owned(),
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Waits until the server answers PING.
    fn wait_ready(&mut self) -> TaskResult {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("redis-server ({}) exited: {status}", self.name));
            }
            if ping(self.port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "redis-server ({}) does not answer on port {} after 10 s",
                    self.name, self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(&self.cli)
            .args(["-p", &self.port.to_string(), "shutdown", "nosave"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SIGKILL; for sandlock, its init then kills the sandbox (parent-death signal).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a redis server answers PING on 127.0.0.1:`port`.
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A TCP port on loopback that nothing listens on right now.
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// The arguments of a redis-server on `port`: loopback only, no persistence.
fn server_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--loglevel",
        "warning",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// One redis-benchmark run against `port`: requests per second of SET and of GET.
fn benchmark(tool: &Path, port: u16) -> Result<(f64, f64), String> {
    let out = Command::new(tool)
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "set,get"])
        .args([
            "-n",
            &REQUESTS.to_string(),
            "-c",
            &CLIENTS.to_string(),
            "--csv",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", tool.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("redis-benchmark failed: {}\n{text}", out.status));
    }
    // "SET","81300.81","0.331",…
    let rps = |test: &str| {
        text.lines()
            .find_map(|l| {
                let mut fields = l.split(',').map(|f| f.trim_matches('"'));
                (fields.next() == Some(test))
                    .then(|| fields.next()?.parse::<f64>().ok())
                    .flatten()
            })
            .ok_or_else(|| format!("redis-benchmark printed no {test} result:\n{text}"))
    };
    Ok((rps("SET")?, rps("GET")?))
}

pub(super) fn redis(rounds: usize, report: &mut Report) -> TaskResult {
    let (Some(server), Some(tool), Some(cli)) = (
        find_in_path("redis-server"),
        find_in_path("redis-benchmark"),
        find_in_path("redis-cli"),
    ) else {
        report.note(
            "skipped: redis-server, redis-benchmark or redis-cli not installed \
             (apt-get install redis-server redis-tools)",
        );
        return Ok(());
    };
    let sandlock = dist::build()?;
    let help = Command::new(&sandlock)
        .args(["run", "--help"])
        .output()
        .map_err(|e| format!("{}: {e}", sandlock.display()))?;
    // The outbound flag is newer than --net-allow-bind: use it only where this sandlock has it
    // (a line of the help that starts with `--net-allow <`).
    let has_net_allow = String::from_utf8_lossy(&help.stdout)
        .lines()
        .any(|l| l.trim_start().starts_with("--net-allow <"));

    let bare_port = free_port()?;
    let bare = Server::start(
        "bare",
        bare_port,
        {
            let mut cmd = Command::new(&server);
            cmd.args(server_args(bare_port));
            cmd
        },
        &cli,
    )?;
    let boxed_port = free_port()?;
    let mut cmd = Command::new(&sandlock);
    cmd.args(["run", "--net-allow-bind", &boxed_port.to_string()]);
    // The server only accepts; an outbound rule matters only if the network policy also
    // governs what is sent on accepted connections.
    if has_net_allow {
        cmd.args(["--net-allow", &format!("127.0.0.1:{boxed_port}")]);
    }
    cmd.arg("--").arg(&server).args(server_args(boxed_port));
    // The port is random; the names say PORT so that runs compare.
    let flags = if has_net_allow {
        "--net-allow-bind PORT --net-allow 127.0.0.1:PORT"
    } else {
        "--net-allow-bind PORT"
    };
    let boxed = Server::start("sandlock", boxed_port, cmd, &cli)?;

    let servers = [&bare, &boxed];
    println!(
        "{rounds} rounds, interleaved, after 1 warm-up run of each; redis-benchmark -n \
         {REQUESTS} -c {CLIENTS} -t set,get on loopback, outside the sandbox\n"
    );
    for s in servers {
        benchmark(&tool, s.port)?;
    }
    let mut set = [Vec::new(), Vec::new()];
    let mut get = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for k in 0..servers.len() {
            let i = (round + k) % servers.len();
            let (s, g) = benchmark(&tool, servers[i].port)?;
            set[i].push(s);
            get[i].push(g);
        }
    }
    drop(boxed);
    drop(bare);
    let names = ["bare".to_owned(), format!("in sandlock run {flags}")];
    for (kind, samples) in [("SET", set), ("GET", get)] {
        let rows = names
            .iter()
            .zip(&samples)
            .map(|(name, s)| Row {
                name: format!("redis-server {name}, {kind}"),
                summary: Summary::of(s),
            })
            .collect();
        report.table(
            &format!("{kind} requests per second"),
            Unit::PerSecond,
            rows,
            &[("×bare", 0)],
            &[Target {
                variant: 1,
                reference: 0,
                limit: REDIS_TARGET,
            }],
        );
    }
    Ok(())
}

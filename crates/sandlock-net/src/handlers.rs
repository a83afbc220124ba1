//! The network handlers: `connect`, `sendto`, `sendmsg`, `sendmmsg`, `bind`, `getsockname`,
//! `getpeername` and `socket`, decided on the supervisor's own copy of the arguments and then
//! performed on behalf of the caller.
//!
//! # How a call is served
//!
//! 1. The address (and, for sends, the payload and control messages) is copied out of the
//!    caller once, with the kernel's bounds ([`crate::sockaddr`], [`crate::msg`],
//!    [`crate::cmsg`]).
//! 2. The caller's socket is duplicated from the **calling thread's** fd table
//!    (`pidfd_getfd` through [`NotifCtx::caller_fd`]), and its domain, type and protocol are
//!    read from the duplicate.
//! 3. The destination is decided by [`NetPolicy::decide`] on that copy. A thread of the
//!    sandbox rewriting the address afterwards changes nothing: the supervisor never reads it
//!    again and never answers "continue" after reading memory.
//! 4. The call is made by the supervisor on the duplicate, with the copied bytes, and its
//!    result is the answer. A `connect`, a `bind` and anything naming a unix socket path run in
//!    a worker thread confined by the sandbox's own Landlock ruleset ([`Spawner`]), so the
//!    kernel applies the sandbox's TCP port rules and its filesystem rules (an `AF_UNIX` bind
//!    cannot create a socket file where the sandbox could not). A send that would block, and
//!    every connect, is answered later ([`Verdict::Deferred`]) so the reactor never waits.
//!
//! # Decisions
//!
//! - A denied destination is `EACCES`, as Landlock answers a denied TCP connect.
//! - `sendto` with a null address, or an address length of 0, is answered "continue" before
//!   any memory is read: the kernel sends to the connected peer, which was checked when the
//!   socket was connected (or is the peer of an accepted connection).
//! - `sendmsg` always reads the `msghdr`, so it is always performed on behalf. With no address
//!   it goes to the connected peer as the kernel would (`EDESTADDRREQ`/`ENOTCONN`/`EPIPE` from
//!   the kernel itself otherwise). On a connected TCP socket the kernel ignores an address
//!   unless `MSG_FASTOPEN` is set; so does sandlock. `MSG_FASTOPEN` with an address is decided
//!   like a connect and runs in a worker.
//! - Control messages: `SCM_RIGHTS` on unix sockets is supported: each fd number is fetched
//!   from the caller with `pidfd_getfd` (`EBADF` if it is not open) and the supervisor's
//!   duplicates are sent. Other `SOL_SOCKET` messages (`SCM_CREDENTIALS`, `SO_MARK`,
//!   `SCM_TXTIME`, …) are refused with `EPERM`: the supervisor cannot vouch for credentials,
//!   and may hold privileges the sandbox lacks. Protocol-level messages (`IP_PKTINFO`,
//!   `UDP_SEGMENT`, …) pass through; they cannot change the destination.
//! - Every send adds `MSG_NOSIGNAL`, so a broken pipe is `EPIPE` without a `SIGPIPE` to the
//!   supervisor. When the caller did not ask for `MSG_NOSIGNAL`, the supervisor signals the
//!   caller's process itself for a send it made at once; a send that had to wait in a worker
//!   gets `EPIPE` only (a worker is scoped out of signalling the sandbox).
//! - Payloads are copied up to [`MAX_PAYLOAD`] bytes: a longer datagram is `EMSGSIZE` (the
//!   kernel's own limit is lower), a longer stream send is a partial send, as the kernel may
//!   do.
//! - Abstract unix addresses: Landlock's IPC scoping (ABI 6) decides them by the domain of
//!   the calling thread, and a worker is in a domain of its own, so a worker could not reach
//!   the sandbox's own abstract sockets while the unconfined supervisor could reach the host's.
//!   With scoping in force ([`AbstractUnix::Deny`]) an abstract `connect` or `sendto` is
//!   refused with `EPERM` (scoping's own errno) unless the check given to
//!   [`NetHandlers::with_abstract_check`] says the name is bound by a socket of the sandbox
//!   itself (the facade looks the name up in `/proc/net/unix` and the inode among the
//!   sandbox's fds); then, and without scoping ([`AbstractUnix::Direct`]), the supervisor makes
//!   the call on an unconfined thread, as the sandbox could have made it itself. A host process
//!   that binds the same name between that check and the connect wins the race; that needs a
//!   cooperating host process.
//! - `sendmmsg` on a blocking socket whose first message would block: the `msg_len` of every
//!   message is written before the sends, as the full length (what a blocking send transfers),
//!   and the sends then run in a worker; the count of sent messages is the answer.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use sandlock_notif::{HandlerError, HandlerResult, MemError, NotifCtx, Verdict};
use sandlock_sys::Errno;
use sandlock_sys::net as sys;
use sandlock_sys::structs::Msghdr;

use crate::cmsg::{self, Cmsg, CmsgError, MAX_CONTROL_LEN};
use crate::msg::{self, MAX_RW_COUNT, MemFault, MsgError};
use crate::portmap::{PortMap, Transport};
use crate::rules::{Decision, NetPolicy, PortRange, Proto};
use crate::sockaddr::{self, ParseError, SockAddr, UnixAddr};

/// The most payload bytes copied for one send.
pub const MAX_PAYLOAD: usize = 4 << 20;

/// A job for a confined worker thread.
pub type Job = Box<dyn FnOnce(&mut dyn Worker) + Send>;

/// A worker thread confined by the sandbox's Landlock ruleset, as a job sees it.
pub trait Worker {
    /// Whether the thread took on the sandbox's rules; a job fails closed when it did not.
    fn confined(&self) -> Result<(), Errno>;
    /// Changes the worker's own working directory (for a relative unix socket path).
    fn chdir(&mut self, dir: BorrowedFd<'_>) -> Result<(), Errno>;
}

/// Runs jobs on the sandbox's confined workers (the facade's agent).
pub trait Spawner {
    /// Runs `job` on a worker; returns at once.
    fn spawn(&self, job: Job);
}

/// How abstract unix socket addresses are served; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbstractUnix {
    /// Landlock IPC scoping is in force: an abstract connect or send is refused (`EPERM`).
    Deny,
    /// No scoping: the supervisor connects or sends itself.
    Direct,
}

/// What the handlers enforce.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NetOptions {
    /// The destination rules.
    pub policy: NetPolicy,
    /// Port virtualisation (`--port-remap`).
    pub port_remap: bool,
    /// Under port virtualisation, the TCP ports the sandbox may bind (virtual ports; Landlock
    /// cannot check them since the real port is not known in advance). `None`: any.
    pub bind_ports: Option<Vec<PortRange>>,
    /// Refuse IP sockets other than TCP streams at `socket()` (the default profile, where
    /// Landlock denies every TCP connect and no other call is notified).
    pub tcp_only: bool,
    /// Abstract unix addresses.
    pub abstract_unix: AbstractUnix,
}

impl NetOptions {
    /// Options with `policy` and everything else off.
    pub fn new(policy: NetPolicy) -> NetOptions {
        NetOptions {
            policy,
            port_remap: false,
            bind_ports: None,
            tcp_only: false,
            abstract_unix: AbstractUnix::Deny,
        }
    }
}

/// Says whether an abstract unix name is bound by a socket of the sandbox itself.
pub type AbstractCheck = Rc<dyn Fn(&[u8]) -> bool>;

/// Called with the port map after every change (from any thread).
pub type PortsChanged = Arc<dyn Fn(&PortMap) + Send + Sync>;

/// The handlers of one sandbox. Wrap it in an `Rc` and register one closure per call.
pub struct NetHandlers {
    opts: NetOptions,
    abstract_check: Option<AbstractCheck>,
    ports: Arc<Mutex<PortMap>>,
    spawner: Rc<dyn Spawner>,
    on_ports: PortsChanged,
}

impl std::fmt::Debug for NetHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHandlers")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// Why a call ends before it is made: an errno for the caller, or a handler failure.
enum Fail {
    Errno(Errno),
    Fatal(HandlerError),
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Self {
        Fail::Errno(e)
    }
}

impl From<MemError> for Fail {
    fn from(e: MemError) -> Self {
        match e {
            // The caller is gone: answer nothing.
            MemError::Gone { .. } => Fail::Fatal(e.into()),
            _ => Fail::Errno(Errno::EFAULT),
        }
    }
}

impl From<HandlerError> for Fail {
    fn from(e: HandlerError) -> Self {
        match e {
            HandlerError::Sys(e) => Fail::Errno(e),
            HandlerError::Mem(m) => m.into(),
            other => Fail::Fatal(other),
        }
    }
}

impl From<ParseError> for Fail {
    fn from(e: ParseError) -> Self {
        Fail::Errno(e.errno())
    }
}

impl From<MsgError> for Fail {
    fn from(e: MsgError) -> Self {
        Fail::Errno(e.errno())
    }
}

impl From<CmsgError> for Fail {
    fn from(e: CmsgError) -> Self {
        Fail::Errno(e.errno())
    }
}

fn finish(r: Result<Verdict, Fail>) -> HandlerResult {
    match r {
        Ok(v) => Ok(v),
        Err(Fail::Errno(e)) => Ok(Verdict::Errno(e)),
        Err(Fail::Fatal(e)) => Err(e),
    }
}

fn verdict_of(r: Result<i64, Errno>) -> Verdict {
    match r {
        Ok(v) => Verdict::Return(v),
        Err(e) => Verdict::Errno(e),
    }
}

/// What the supervisor knows of the caller's socket, from its duplicate.
#[derive(Debug, Clone, Copy)]
struct SockInfo {
    domain: i32,
    ty: i32,
    protocol: i32,
    nonblocking: bool,
}

impl SockInfo {
    fn of(sock: &OwnedFd) -> Result<SockInfo, Errno> {
        let opt = |name| sys::getsockopt_int(sock, libc::SOL_SOCKET, name);
        let ty = match opt(libc::SO_TYPE) {
            Ok(t) => t,
            Err(_) => return Err(Errno::from_raw(libc::ENOTSOCK)),
        };
        Ok(SockInfo {
            domain: opt(libc::SO_DOMAIN)?,
            ty,
            protocol: opt(libc::SO_PROTOCOL)?,
            nonblocking: sys::status_flags(sock)? & libc::O_NONBLOCK != 0,
        })
    }

    fn is_inet(&self) -> bool {
        matches!(self.domain, libc::AF_INET | libc::AF_INET6)
    }

    fn is_icmp(&self) -> bool {
        self.ty == libc::SOCK_DGRAM
            && matches!(self.protocol, libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6)
    }

    /// The protocol the rules are matched against. Stream and sequenced-packet IP sockets
    /// (TCP, MPTCP, SCTP) count as TCP.
    fn proto(&self) -> Proto {
        if self.is_icmp() {
            Proto::Icmp
        } else if self.ty == libc::SOCK_DGRAM {
            Proto::Udp
        } else {
            Proto::Tcp
        }
    }

    fn transport(&self) -> Option<Transport> {
        match self.ty {
            libc::SOCK_STREAM => Some(Transport::Tcp),
            libc::SOCK_DGRAM if !self.is_icmp() => Some(Transport::Udp),
            _ => None,
        }
    }

    fn is_stream(&self) -> bool {
        self.ty == libc::SOCK_STREAM
    }
}

/// A message ready to be sent by the supervisor.
struct Prepared {
    name: Option<Vec<u8>>,
    payload: Vec<u8>,
    control: Vec<u8>,
    /// The caller's fds being passed (`SCM_RIGHTS`), kept open until the send.
    _fds: Vec<OwnedFd>,
    /// A working directory for a relative unix path, or whether a worker is needed at all.
    route: Route,
}

enum Route {
    /// Sent by the supervisor thread (no path lookup, no port rule involved).
    Direct,
    /// Sent by a confined worker, in the caller's working directory if given.
    Worker(Option<OwnedFd>),
    /// Sent by the supervisor thread, or an unconfined thread of its own if it would block
    /// (an abstract unix address).
    Thread,
}

/// The socket and address of a `connect(fd, addr, addrlen)` or `bind(fd, addr, addrlen)`:
/// the supervisor's copy of the caller's socket and its own copy of the address, raw and
/// parsed.
fn addressed_socket(
    ctx: &mut NotifCtx<'_>,
) -> Result<(OwnedFd, SockInfo, Vec<u8>, SockAddr), Fail> {
    let [fd, addr_ptr, len_arg, ..] = ctx.args();
    let len = sockaddr::sockaddr_len(len_arg)?;
    let bytes = read_bytes(ctx, addr_ptr, len)?;
    let addr = sockaddr::parse_sockaddr(&bytes)?;
    let sock = ctx.caller_fd(fd)?;
    let info = SockInfo::of(&sock)?;
    Ok((sock, info, bytes, addr))
}

/// Reads `len` bytes at `addr` in the caller.
fn read_bytes(ctx: &mut NotifCtx<'_>, addr: u64, len: usize) -> Result<Vec<u8>, Fail> {
    let mut buf = vec![0; len];
    if len > 0 {
        ctx.read_mem(addr, &mut buf)?;
    }
    Ok(buf)
}

/// Opens the caller's working directory (`O_PATH`), for a worker to resolve a relative path
/// in. Done on the supervisor thread: a worker may not look into a sandbox process.
fn caller_cwd(ctx: &mut NotifCtx<'_>) -> Result<OwnedFd, Fail> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(format!("/proc/{}/cwd", ctx.pid()))
        .map_err(|_| Fail::Errno(Errno::ESRCH))?;
    ctx.check_valid()?;
    Ok(file.into())
}

fn is_relative(path: &[u8]) -> bool {
    path.first() != Some(&b'/')
}

impl NetHandlers {
    /// Handlers enforcing `opts`, running on-behalf work through `spawner`, reporting port
    /// map changes to `on_ports`.
    pub fn new(opts: NetOptions, spawner: Rc<dyn Spawner>, on_ports: PortsChanged) -> Self {
        NetHandlers {
            opts,
            abstract_check: None,
            ports: Arc::new(Mutex::new(PortMap::new())),
            spawner,
            on_ports,
        }
    }

    /// Under IPC scoping, lets an abstract `connect` or `sendto` through when `check(name)`
    /// says a socket of the sandbox itself is bound to that name (see the module docs).
    pub fn with_abstract_check(mut self, check: AbstractCheck) -> Self {
        self.abstract_check = Some(check);
        self
    }

    fn abstract_allowed(&self, name: &[u8]) -> bool {
        match self.opts.abstract_unix {
            AbstractUnix::Direct => true,
            AbstractUnix::Deny => self.abstract_check.as_ref().is_some_and(|f| f(name)),
        }
    }

    /// Runs `f` on a new thread of the supervisor, unconfined (for an abstract unix socket,
    /// which a worker's own Landlock domain would scope out), and answers its result later.
    fn in_thread(
        &self,
        ctx: &mut NotifCtx<'_>,
        f: impl FnOnce() -> Result<i64, Errno> + Send + 'static,
    ) -> Result<Verdict, Fail> {
        ctx.check_valid()?;
        let responder = ctx.responder();
        std::thread::Builder::new()
            .name("sandlock-net".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || {
                let _ = responder.answer(verdict_of(f()));
            })
            .map_err(|_| Errno::EAGAIN)?;
        Ok(Verdict::Deferred)
    }

    /// The sandbox's port map (shared with the workers).
    pub fn ports(&self) -> Arc<Mutex<PortMap>> {
        Arc::clone(&self.ports)
    }

    fn map(&self) -> PortMap {
        self.ports.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs `f` in a confined worker (in `cwd` if given) and answers its result later.
    fn in_worker(
        &self,
        ctx: &mut NotifCtx<'_>,
        cwd: Option<OwnedFd>,
        f: impl FnOnce() -> Result<i64, Errno> + Send + 'static,
    ) -> Result<Verdict, Fail> {
        ctx.check_valid()?;
        let responder = ctx.responder();
        self.spawner.spawn(Box::new(move |w: &mut dyn Worker| {
            let r = w
                .confined()
                .and_then(|()| match &cwd {
                    Some(dir) => w.chdir(dir.as_fd()),
                    None => Ok(()),
                })
                .and_then(|()| f());
            // ENOENT: the caller left the call (killed, or interrupted by a signal).
            let _ = responder.answer(verdict_of(r));
        }));
        Ok(Verdict::Deferred)
    }

    /// Decides an IP destination and applies port virtualisation: the bytes to use, or the
    /// errno. `Ok(None)` means "no address" (the caller's address is to be dropped).
    fn check_ip(
        &self,
        info: &SockInfo,
        proto: Proto,
        addr: &SockAddr,
        bytes: Vec<u8>,
        is_connect: bool,
    ) -> Result<Option<Vec<u8>>, Fail> {
        let mut addr = addr.clone();
        let dest = match &addr {
            SockAddr::V4(_) | SockAddr::V4Mapped { .. } | SockAddr::V6(_) => addr.destination(),
            // connect(AF_UNSPEC) disconnects.
            SockAddr::Unspec { .. } if is_connect => return Ok(Some(bytes)),
            // An IPv4 socket sends to the sockaddr_in view; an IPv6 one takes it as no
            // address (the connected peer).
            SockAddr::Unspec { as_v4: Some(a) } if info.domain == libc::AF_INET => {
                Some(std::net::SocketAddr::V4(*a))
            }
            SockAddr::Unspec { .. } if info.domain == libc::AF_INET6 => return Ok(None),
            _ => return Err(Errno::EAFNOSUPPORT.into()),
        };
        let Some(dest) = dest else {
            return Err(Errno::EINVAL.into());
        };
        if self.opts.policy.decide(proto, dest) == Decision::Deny {
            return Err(Errno::EACCES.into());
        }
        if self.opts.port_remap
            && dest.ip().is_loopback()
            && let Some(t) = info.transport()
            && let Some(real) = self.map().real(t, dest.port())
        {
            addr.set_port(real);
            return Ok(Some(sockaddr::encode(&addr)));
        }
        Ok(Some(bytes))
    }

    /// `connect(fd, addr, addrlen)`.
    pub fn connect(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        finish(self.do_connect(ctx))
    }

    fn do_connect(&self, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
        let (sock, info, bytes, addr) = addressed_socket(ctx)?;
        if info.domain == libc::AF_UNIX {
            return self.unix_connect(ctx, sock, &addr, bytes);
        }
        if !info.is_inet() {
            // Netlink and the like: nothing the rules cover, nothing Landlock checks.
            ctx.check_valid()?;
            return Ok(verdict_of(sys::connect(&sock, &bytes).map(|()| 0)));
        }
        let Some(bytes) = self.check_ip(&info, info.proto(), &addr, bytes, true)? else {
            return Err(Errno::EAFNOSUPPORT.into());
        };
        // In a worker: the sandbox's Landlock TCP port rules apply, and a blocking connect
        // holds a worker, not the reactor.
        self.in_worker(ctx, None, move || sys::connect(&sock, &bytes).map(|()| 0))
    }

    fn unix_connect(
        &self,
        ctx: &mut NotifCtx<'_>,
        sock: OwnedFd,
        addr: &SockAddr,
        bytes: Vec<u8>,
    ) -> Result<Verdict, Fail> {
        match addr {
            SockAddr::Unix(UnixAddr::Pathname(path)) => {
                let cwd = if is_relative(path) {
                    Some(caller_cwd(ctx)?)
                } else {
                    None
                };
                self.in_worker(ctx, cwd, move || sys::connect(&sock, &bytes).map(|()| 0))
            }
            SockAddr::Unix(UnixAddr::Abstract(name)) => {
                if !self.abstract_allowed(name) {
                    return Err(Errno::EPERM.into());
                }
                if sock_would_block(&sock) {
                    self.in_thread(ctx, move || sys::connect(&sock, &bytes).map(|()| 0))
                } else {
                    ctx.check_valid()?;
                    Ok(verdict_of(sys::connect(&sock, &bytes).map(|()| 0)))
                }
            }
            _ => {
                ctx.check_valid()?;
                // Unnamed (EINVAL from the kernel), AF_UNSPEC (disconnect) or another family
                // (EINVAL): nothing to resolve.
                if sock_would_block(&sock) {
                    self.in_worker(ctx, None, move || sys::connect(&sock, &bytes).map(|()| 0))
                } else {
                    Ok(verdict_of(sys::connect(&sock, &bytes).map(|()| 0)))
                }
            }
        }
    }

    /// `sendto(fd, buf, len, flags, addr, addrlen)`.
    pub fn sendto(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [fd, buf, len, flags, addr_ptr, addr_len] = ctx.args();
        // No address: the kernel sends to the connected peer, checked at connect. Nothing was
        // read, so letting the kernel run the call is sound.
        if addr_ptr == 0 || addr_len as u32 == 0 {
            return Ok(Verdict::Continue);
        }
        finish(self.do_sendto(ctx, fd, buf, len, flags as i32, addr_ptr, addr_len))
    }

    #[allow(clippy::too_many_arguments)]
    fn do_sendto(
        &self,
        ctx: &mut NotifCtx<'_>,
        fd: u64,
        buf: u64,
        len: u64,
        flags: i32,
        addr_ptr: u64,
        addr_len: u64,
    ) -> Result<Verdict, Fail> {
        let alen = sockaddr::sockaddr_len(addr_len)?;
        let bytes = read_bytes(ctx, addr_ptr, alen)?;
        let sock = ctx.caller_fd(fd)?;
        let info = SockInfo::of(&sock)?;
        let want = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_RW_COUNT);
        let payload = read_payload_len(&info, want)?;
        let payload = read_bytes(ctx, buf, payload)?;
        let mut prepared = Prepared {
            name: Some(bytes),
            payload,
            control: Vec::new(),
            _fds: Vec::new(),
            route: Route::Direct,
        };
        self.route_name(ctx, &info, flags, &mut prepared)?;
        self.send(ctx, sock, info, prepared, flags)
    }

    /// Decides the destination of a message and how to send it.
    fn route_name(
        &self,
        ctx: &mut NotifCtx<'_>,
        info: &SockInfo,
        flags: i32,
        prepared: &mut Prepared,
    ) -> Result<(), Fail> {
        let Some(bytes) = prepared.name.take() else {
            return Ok(());
        };
        let addr = sockaddr::parse_sockaddr(&bytes)?;
        if info.domain == libc::AF_UNIX {
            match &addr {
                SockAddr::Unix(UnixAddr::Pathname(path)) => {
                    let cwd = if is_relative(path) {
                        Some(caller_cwd(ctx)?)
                    } else {
                        None
                    };
                    prepared.route = Route::Worker(cwd);
                }
                SockAddr::Unix(UnixAddr::Abstract(name)) => {
                    if !self.abstract_allowed(name) {
                        return Err(Errno::EPERM.into());
                    }
                    prepared.route = Route::Thread;
                }
                _ => {}
            }
            prepared.name = Some(bytes);
            return Ok(());
        }
        if !info.is_inet() {
            prepared.name = Some(bytes);
            return Ok(());
        }
        if info.is_stream() {
            if flags & libc::MSG_FASTOPEN == 0 {
                // The kernel ignores the address of a TCP send without Fast Open.
                return Ok(());
            }
            // A Fast Open send is a connect: decided as one, made under the port rules.
            prepared.name = self.check_ip(info, Proto::Tcp, &addr, bytes, false)?;
            prepared.route = Route::Worker(None);
            return Ok(());
        }
        prepared.name = self.check_ip(info, info.proto(), &addr, bytes, false)?;
        Ok(())
    }

    /// Sends a prepared message: at once when it cannot block, else in a worker.
    fn send(
        &self,
        ctx: &mut NotifCtx<'_>,
        sock: OwnedFd,
        info: SockInfo,
        prepared: Prepared,
        flags: i32,
    ) -> Result<Verdict, Fail> {
        let wants_sigpipe = flags & libc::MSG_NOSIGNAL == 0;
        let flags = flags | libc::MSG_NOSIGNAL;
        let Prepared {
            name,
            payload,
            control,
            _fds: fds,
            route,
        } = prepared;
        let blocking = !info.nonblocking && flags & libc::MSG_DONTWAIT == 0;
        let (cwd, unconfined) = match route {
            Route::Worker(cwd) => (Some(cwd), false),
            Route::Direct => (None, false),
            Route::Thread => (None, true),
        };
        let first = if cwd.is_some() {
            None
        } else {
            ctx.check_valid()?;
            Some(sys::sendmsg(
                &sock,
                name.as_deref(),
                &[&payload],
                &control,
                flags | libc::MSG_DONTWAIT,
            ))
        };
        let blocking_send = move || {
            let _keep = fds;
            sys::sendmsg(&sock, name.as_deref(), &[&payload], &control, flags).map(|n| n as i64)
        };
        match (first, cwd) {
            (None, Some(cwd)) => self.in_worker(ctx, cwd, blocking_send),
            (Some(Err(Errno::EAGAIN)), _) if blocking && unconfined => {
                self.in_thread(ctx, blocking_send)
            }
            (Some(Err(Errno::EAGAIN)), _) if blocking => self.in_worker(ctx, None, blocking_send),
            (Some(Err(Errno::EPIPE)), _) if wants_sigpipe => {
                // The kernel would have sent the caller SIGPIPE; the supervisor sent with
                // MSG_NOSIGNAL, so it sends the signal itself (to the caller's process).
                if let Ok(pidfd) = ctx.caller_pidfd() {
                    let _ = pidfd.send_signal(libc::SIGPIPE);
                }
                Err(Errno::EPIPE.into())
            }
            (Some(r), _) => Ok(verdict_of(r.map(|n| n as i64))),
            (None, None) => Err(Errno::EINVAL.into()),
        }
    }

    /// Copies one `msghdr`'s payload, control messages and address, with the caller's fds.
    fn prepare_msg(
        &self,
        ctx: &mut NotifCtx<'_>,
        info: &SockInfo,
        hdr: &Msghdr,
        flags: i32,
    ) -> Result<Prepared, Fail> {
        let (name, total) = {
            let mut mem = |addr: u64, buf: &mut [u8]| {
                ctx.read_mem(addr, buf)
                    .map_err(|_| MemFault::new(addr, buf.len()))
            };
            (
                msg::msg_name(&mut mem, hdr)?,
                msg::iov_total(&mut mem, hdr)?,
            )
        };
        let take = read_payload_len(info, total)?;
        let payload = {
            let mut mem = |addr: u64, buf: &mut [u8]| {
                ctx.read_mem(addr, buf)
                    .map_err(|_| MemFault::new(addr, buf.len()))
            };
            msg::read_iov_bytes(&mut mem, hdr, take)?
        };
        let (control, fds) = self.prepare_control(ctx, info, hdr)?;
        let mut prepared = Prepared {
            name,
            payload,
            control,
            _fds: fds,
            route: Route::Direct,
        };
        self.route_name(ctx, info, flags, &mut prepared)?;
        Ok(prepared)
    }

    fn prepare_control(
        &self,
        ctx: &mut NotifCtx<'_>,
        info: &SockInfo,
        hdr: &Msghdr,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), Fail> {
        if hdr.msg_control == 0 || hdr.msg_controllen == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let len = usize::try_from(hdr.msg_controllen)
            .ok()
            .filter(|&l| l <= MAX_CONTROL_LEN)
            .ok_or(CmsgError::TooLong {
                len: hdr.msg_controllen,
            })?;
        let bytes = read_bytes(ctx, hdr.msg_control, len)?;
        let mut cmsgs = cmsg::parse_cmsgs(&bytes)?;
        let mut fds = Vec::new();
        for c in &mut cmsgs {
            if c.level != libc::SOL_SOCKET {
                continue;
            }
            if c.kind != libc::SCM_RIGHTS || info.domain != libc::AF_UNIX {
                return Err(Errno::EPERM.into());
            }
            let mut mine = Vec::new();
            for fd in cmsg::rights_fds(&c.data) {
                let dup = ctx.caller_fd(u64::from(fd as u32))?;
                mine.push(dup.as_raw_fd());
                fds.push(dup);
            }
            *c = Cmsg {
                level: c.level,
                kind: c.kind,
                data: cmsg::rights_data(&mine),
            };
        }
        Ok((cmsg::encode_cmsgs(&cmsgs), fds))
    }

    /// `sendmsg(fd, msg, flags)`.
    pub fn sendmsg(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        finish(self.do_sendmsg(ctx))
    }

    fn do_sendmsg(&self, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
        let [fd, msg_ptr, flags, ..] = ctx.args();
        let flags = flags as i32;
        let hdr = {
            let mut mem = |addr: u64, buf: &mut [u8]| {
                ctx.read_mem(addr, buf)
                    .map_err(|_| MemFault::new(addr, buf.len()))
            };
            msg::read_msghdr(&mut mem, msg_ptr)?
        };
        let sock = ctx.caller_fd(fd)?;
        let info = SockInfo::of(&sock)?;
        let prepared = self.prepare_msg(ctx, &info, &hdr, flags)?;
        self.send(ctx, sock, info, prepared, flags)
    }

    /// `sendmmsg(fd, msgvec, vlen, flags)`.
    pub fn sendmmsg(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        finish(self.do_sendmmsg(ctx))
    }

    fn do_sendmmsg(&self, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
        /// Offset of `msg_len` in `struct mmsghdr`.
        const MSG_LEN_OFFSET: u64 = 56;
        const MMSGHDR_LEN: u64 = 64;
        let [fd, vec, vlen, flags, ..] = ctx.args();
        let flags = flags as i32;
        let hdrs = {
            let mut mem = |addr: u64, buf: &mut [u8]| {
                ctx.read_mem(addr, buf)
                    .map_err(|_| MemFault::new(addr, buf.len()))
            };
            msg::read_mmsghdrs(&mut mem, vec, vlen)?
        };
        let sock = ctx.caller_fd(fd)?;
        let info = SockInfo::of(&sock)?;
        if hdrs.is_empty() {
            return Ok(Verdict::Return(0));
        }
        let mut prepared = Vec::with_capacity(hdrs.len());
        for hdr in &hdrs {
            match self.prepare_msg(ctx, &info, &hdr.msg_hdr, flags) {
                Ok(p) => prepared.push(p),
                // Like the kernel: an error after some messages ends the batch there.
                Err(e) if prepared.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        let msg_len_at = |i: usize| vec + i as u64 * MMSGHDR_LEN + MSG_LEN_OFFSET;
        let flags = flags | libc::MSG_NOSIGNAL;
        let blocking = !info.nonblocking && flags & libc::MSG_DONTWAIT == 0;
        let needs_worker = prepared.iter().any(|p| matches!(p.route, Route::Worker(_)));
        ctx.check_valid()?;
        let mut sent = 0usize;
        if !needs_worker {
            for p in &prepared {
                let r = sys::sendmsg(
                    &sock,
                    p.name.as_deref(),
                    &[&p.payload],
                    &p.control,
                    flags | libc::MSG_DONTWAIT,
                );
                match r {
                    Ok(n) => {
                        ctx.write_mem(msg_len_at(sent), &(n as u32).to_ne_bytes())?;
                        sent += 1;
                    }
                    Err(Errno::EAGAIN) if blocking => break,
                    Err(e) if sent == 0 => return Err(e.into()),
                    Err(_) => return Ok(Verdict::Return(sent as i64)),
                }
            }
            if sent == prepared.len() {
                return Ok(Verdict::Return(sent as i64));
            }
        }
        // The rest may block (or names unix paths): write the lengths a complete send gives,
        // then send in a worker, which cannot write the caller's memory.
        let rest: Vec<Prepared> = prepared.into_iter().skip(sent).collect();
        for (i, p) in rest.iter().enumerate() {
            ctx.write_mem(
                msg_len_at(sent + i),
                &(p.payload.len() as u32).to_ne_bytes(),
            )?;
        }
        let cwd = rest.iter().find_map(|p| match &p.route {
            Route::Worker(Some(dir)) => dir.try_clone().ok(),
            _ => None,
        });
        let unconfined = !needs_worker && rest.iter().any(|p| matches!(p.route, Route::Thread));
        let send_rest = move || {
            let mut count = sent;
            for p in &rest {
                match sys::sendmsg(&sock, p.name.as_deref(), &[&p.payload], &p.control, flags) {
                    Ok(_) => count += 1,
                    Err(e) if count == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(count as i64)
        };
        if unconfined {
            self.in_thread(ctx, send_rest)
        } else {
            self.in_worker(ctx, cwd, send_rest)
        }
    }

    /// `bind(fd, addr, addrlen)` (notified under port virtualisation).
    pub fn bind(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        finish(self.do_bind(ctx))
    }

    fn do_bind(&self, ctx: &mut NotifCtx<'_>) -> Result<Verdict, Fail> {
        let (sock, info, bytes, addr) = addressed_socket(ctx)?;
        if info.domain == libc::AF_UNIX {
            let cwd = match &addr {
                SockAddr::Unix(UnixAddr::Pathname(p)) if is_relative(p) => Some(caller_cwd(ctx)?),
                _ => None,
            };
            // A worker: Landlock's MAKE_SOCK right of the sandbox decides where the socket
            // file may be created.
            return self.in_worker(ctx, cwd, move || sys::bind(&sock, &bytes).map(|()| 0));
        }
        let transport = info.transport().filter(|_| info.is_inet());
        let (Some(transport), Some(virt)) = (transport, addr.port()) else {
            return self.in_worker(ctx, None, move || sys::bind(&sock, &bytes).map(|()| 0));
        };
        if virt == 0 || !self.opts.port_remap {
            return self.in_worker(ctx, None, move || sys::bind(&sock, &bytes).map(|()| 0));
        }
        if transport == Transport::Tcp
            && let Some(allowed) = &self.opts.bind_ports
            && !allowed.iter().any(|r| r.contains(virt))
        {
            return Err(Errno::EACCES.into());
        }
        let known = self.map().real(transport, virt);
        let ports = Arc::clone(&self.ports);
        let on_ports = Arc::clone(&self.on_ports);
        self.in_worker(ctx, None, move || {
            let bind_to = |port: u16| {
                let mut a = addr.clone();
                a.set_port(port);
                sys::bind(&sock, &sockaddr::encode(&a))
            };
            let real = match sys::bind(&sock, &bytes) {
                Ok(()) => virt,
                Err(Errno::EADDRINUSE) => match known {
                    // The sandbox gave this virtual port out before: the conflict is its own
                    // unless that socket is gone.
                    Some(real) => {
                        bind_to(real)?;
                        real
                    }
                    // Taken outside the sandbox: let the kernel pick a free port, atomically.
                    None => {
                        bind_to(0)?;
                        let local = sys::getsockname(&sock)?;
                        sockaddr::parse_sockaddr(&local)
                            .ok()
                            .and_then(|a| a.port())
                            .ok_or(Errno::EADDRINUSE)?
                    }
                },
                Err(e) => return Err(e),
            };
            let mut map = ports.lock().unwrap_or_else(|p| p.into_inner());
            map.insert(transport, virt, real);
            on_ports(&map);
            Ok(0)
        })
    }

    /// `getsockname(fd, addr, addrlen)` (notified under port virtualisation).
    pub fn getsockname(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        finish(self.get_name(ctx, false))
    }

    /// `getpeername(fd, addr, addrlen)` (notified under port virtualisation).
    pub fn getpeername(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        finish(self.get_name(ctx, true))
    }

    fn get_name(&self, ctx: &mut NotifCtx<'_>, peer: bool) -> Result<Verdict, Fail> {
        let [fd, addr_ptr, len_ptr, ..] = ctx.args();
        let sock = ctx.caller_fd(fd)?;
        let bytes = if peer {
            sys::getpeername(&sock)?
        } else {
            sys::getsockname(&sock)?
        };
        let bytes = match SockInfo::of(&sock) {
            Ok(info) if info.is_inet() => virtualise(&self.map(), &info, bytes, peer),
            _ => bytes,
        };
        let user_len: i32 = ctx.read_value(len_ptr)?;
        let room = usize::try_from(user_len).map_err(|_| Errno::EINVAL)?;
        let n = room.min(bytes.len());
        if n > 0 {
            ctx.write_mem(addr_ptr, &bytes[..n])?;
        }
        ctx.write_mem(len_ptr, &(bytes.len() as u32).to_ne_bytes())?;
        Ok(Verdict::Return(0))
    }

    /// `socket(domain, type, protocol)`: decided on registers only, so allowed calls continue.
    pub fn socket(&self, ctx: &mut NotifCtx<'_>) -> HandlerResult {
        let [domain, ty, protocol, ..] = ctx.args();
        Ok(
            match socket_decision(&self.opts, domain as i32, ty as i32, protocol as i32) {
                Ok(()) => Verdict::Continue,
                Err(e) => Verdict::Errno(e),
            },
        )
    }
}

/// The decision on `socket(domain, ty, protocol)`.
pub fn socket_decision(
    opts: &NetOptions,
    domain: i32,
    ty: i32,
    protocol: i32,
) -> Result<(), Errno> {
    /// The type bits of the `type` argument (the rest are `SOCK_NONBLOCK`/`SOCK_CLOEXEC`).
    const SOCK_TYPE_MASK: i32 = 0xf;
    if !matches!(domain, libc::AF_INET | libc::AF_INET6) {
        return Ok(());
    }
    let base = ty & SOCK_TYPE_MASK;
    let icmp =
        base == libc::SOCK_DGRAM && matches!(protocol, libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6);
    if icmp && !opts.policy.may_allow_icmp() {
        return Err(Errno::EACCES);
    }
    if opts.tcp_only && !(base == libc::SOCK_STREAM && matches!(protocol, 0 | libc::IPPROTO_TCP)) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

/// Rewrites the port of an address the kernel returned from real to virtual: the local port
/// always, a peer's only when the peer is on this host (another socket of the sandbox).
fn virtualise(map: &PortMap, info: &SockInfo, bytes: Vec<u8>, peer: bool) -> Vec<u8> {
    let (Some(t), Ok(mut addr)) = (info.transport(), sockaddr::parse_sockaddr(&bytes)) else {
        return bytes;
    };
    let Some(inet) = addr.inet() else {
        return bytes;
    };
    if peer && !inet.ip().is_loopback() {
        return bytes;
    }
    let virt = map.virtual_of(t, inet.port());
    if virt == inet.port() {
        return bytes;
    }
    addr.set_port(virt);
    let mut out = sockaddr::encode(&addr);
    out.resize(bytes.len().max(out.len()), 0);
    out
}

/// How many payload bytes to copy for a send of `want` bytes.
fn read_payload_len(info: &SockInfo, want: usize) -> Result<usize, Fail> {
    if want <= MAX_PAYLOAD {
        Ok(want)
    } else if info.is_stream() {
        Ok(MAX_PAYLOAD)
    } else {
        Err(Errno::EMSGSIZE.into())
    }
}

/// Whether a call on `sock` may block (a blocking socket).
fn sock_would_block(sock: &OwnedFd) -> bool {
    sys::status_flags(sock).is_ok_and(|f| f & libc::O_NONBLOCK == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rule;

    fn opts(rules: &[&str]) -> NetOptions {
        let rules = rules
            .iter()
            .map(|r| Rule::parse(r).unwrap().resolve(|_| Ok(vec![])).unwrap())
            .collect();
        NetOptions::new(NetPolicy::allow_list(rules))
    }

    #[test]
    fn socket_rules() {
        let mut o = opts(&[]);
        let inet = libc::AF_INET;
        assert_eq!(
            socket_decision(&o, inet, libc::SOCK_DGRAM, libc::IPPROTO_ICMP),
            Err(Errno::EACCES)
        );
        assert_eq!(socket_decision(&o, inet, libc::SOCK_DGRAM, 0), Ok(()));
        assert_eq!(
            socket_decision(&o, libc::AF_UNIX, libc::SOCK_DGRAM, 0),
            Ok(())
        );
        o.tcp_only = true;
        assert_eq!(
            socket_decision(&o, inet, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0),
            Err(Errno::EACCES)
        );
        assert_eq!(
            socket_decision(&o, inet, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0),
            Ok(())
        );
        assert_eq!(
            socket_decision(&o, libc::AF_INET6, libc::SOCK_STREAM, libc::IPPROTO_TCP),
            Ok(())
        );
        assert_eq!(
            socket_decision(&o, inet, libc::SOCK_STREAM, libc::IPPROTO_SCTP),
            Err(Errno::EACCES)
        );
        let o = opts(&["icmp://127.0.0.1"]);
        assert_eq!(
            socket_decision(&o, libc::AF_INET6, libc::SOCK_DGRAM, libc::IPPROTO_ICMPV6),
            Ok(())
        );
    }

    #[test]
    fn virtual_ports_in_returned_addresses() {
        let mut map = PortMap::new();
        map.insert(Transport::Tcp, 8000, 40001);
        let info = SockInfo {
            domain: libc::AF_INET,
            ty: libc::SOCK_STREAM,
            protocol: 0,
            nonblocking: false,
        };
        let local = sockaddr::encode(&SockAddr::V4("127.0.0.1:40001".parse().unwrap()));
        let out = virtualise(&map, &info, local.clone(), false);
        assert_eq!(sockaddr::parse_sockaddr(&out).unwrap().port(), Some(8000));
        // A remote peer's port is its own.
        let remote = sockaddr::encode(&SockAddr::V4("10.0.0.1:40001".parse().unwrap()));
        assert_eq!(virtualise(&map, &info, remote.clone(), true), remote);
        assert_eq!(
            sockaddr::parse_sockaddr(&virtualise(&map, &info, local, true))
                .unwrap()
                .port(),
            Some(8000)
        );
    }
}

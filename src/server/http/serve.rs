//! The HTTP server loop: hyper (HTTP/1.1 and HTTP/2) around the axum app, with what
//! `axum::serve` lacks:
//! - a deadline for a connection's first request, whatever the protocol: hyper's HTTP/1 header
//!   timer only starts once HTTP/1 is chosen, and the auto builder's protocol sniffing waits
//!   forever for a client that sends nothing or half of the HTTP/2 preface;
//! - an idle limit once requests were made (HTTP/1's keep-alive is bounded by the header timer;
//!   HTTP/2 has none of its own), ending a connection gracefully (in-flight streams finish);
//! - a cap on open connections below the process's descriptor limit: at the cap the oldest
//!   connection that has not sent a request yet is closed to make room, and when none can be, the
//!   newcomer gets a plain `503` — the server never reaches "too many open files";
//! - a shutdown that waits for open connections only as long as the grace period allows.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct HttpOptions {
    /// A client must send its first request's headers (and, on HTTP/1, every later request's)
    /// within this time, or the connection is closed.
    pub header_read_timeout: Duration,
    /// A connection with no new request for this long is ended gracefully.
    pub idle_timeout: Duration,
    /// Open connections at most (0: derived from the descriptor limit, see [`connection_cap`]).
    pub max_connections: usize,
    /// After the shutdown signal, how long open connections (streams included) may take to end.
    pub grace: Duration,
}

/// Raise this process's soft limit on open files to its hard limit (the soft default is often
/// 1,024, far below what a server holding streams needs) and return the limit now in force.
pub fn raise_descriptor_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return 1024;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
        }
        lim.rlim_cur as u64
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// Listen on `addr` with a deep accept queue: tokio's default backlog (1,024) overflows when
/// thousands of connections arrive at once, and an overflowing queue leaves clients waiting on
/// retransmitted handshakes (a reader's request among them) — the kernel caps it at
/// `net.core.somaxconn`.
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(8_192)
}

/// The connection cap for a descriptor limit: what is left after a reserve for everything else
/// the process opens (database connections, the model and static files, log files) — a tenth of
/// the limit, at least 128 descriptors.
pub fn connection_cap(descriptor_limit: u64) -> usize {
    let reserve = (descriptor_limit / 10).max(128);
    descriptor_limit.saturating_sub(reserve).max(16) as usize
}

/// The plain refusal a client gets when every connection slot is taken by a busy connection.
const BUSY_RESPONSE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\r\nServer busy, retry.\n";

/// One open connection, as the loop sees it.
struct Conn {
    /// Requests it has made.
    requests: AtomicU64,
    /// When it last started a request (ms since the server started).
    last_request_ms: AtomicU64,
    /// Cancelled to close it at once (the cap needs its slot).
    evict: CancellationToken,
    evicted: AtomicBool,
}

/// Open connections, and those that have not made a request yet in the order they came.
struct Registry {
    open: AtomicUsize,
    waiting: Mutex<VecDeque<Arc<Conn>>>,
    started: Instant,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Close the oldest connection that has not sent a request yet; false when there is none.
    fn evict_one(&self) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(c) = waiting.pop_front() {
            // (A count of one: only this queue holds it, the connection is gone.)
            let open = Arc::strong_count(&c) > 1;
            if open && c.requests.load(Ordering::Acquire) == 0 && !c.evicted.swap(true, Ordering::AcqRel) {
                c.evict.cancel();
                return true;
            }
        }
        false
    }

    /// Forget connections that made a request or closed (the queue stays short).
    fn prune(&self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.retain(|c| c.requests.load(Ordering::Acquire) == 0 && !c.evicted.load(Ordering::Acquire) && Arc::strong_count(c) > 1);
    }
}

/// Decrements the open count when a connection's task ends, however it ends.
struct OpenSlot(Arc<Registry>, #[allow(dead_code)] crate::server::metrics::GaugeGuard);

impl Drop for OpenSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then drain connections for at most
/// `opts.grace`. Every request carries `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, app: Router, opts: HttpOptions, shutdown: impl Future<Output = ()>) {
    let limit = raise_descriptor_limit();
    let cap = if opts.max_connections == 0 { connection_cap(limit) } else { opts.max_connections };
    tracing::debug!(descriptor_limit = limit, max_connections = cap, "serving");
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .keep_alive(true);
    // Pings find peers that vanished; the idle limit below ends live ones that stay silent.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    let registry = Arc::new(Registry { open: AtomicUsize::new(0), waiting: Mutex::new(VecDeque::new()), started: Instant::now() });
    let stopping = CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    let mut accepted_since_prune = 0u32;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        accepted_since_prune += 1;
        if accepted_since_prune >= 1024 {
            registry.prune();
            accepted_since_prune = 0;
        }
        if registry.open.load(Ordering::Acquire) >= cap && !registry.evict_one() {
            // Every slot is a connection at work: refuse this one plainly (best effort: the
            // socket is new, its send buffer empty) rather than run out of descriptors.
            let _ = stream.try_write(BUSY_RESPONSE);
            continue;
        }
        registry.open.fetch_add(1, Ordering::AcqRel);
        let slot = OpenSlot(registry.clone(), crate::server::metrics::GaugeGuard::new(crate::server::metrics::OPEN_CONNECTIONS));
        let _ = stream.set_nodelay(true);
        let conn_state = Arc::new(Conn {
            requests: AtomicU64::new(0),
            last_request_ms: AtomicU64::new(registry.now_ms()),
            evict: CancellationToken::new(),
            evicted: AtomicBool::new(false),
        });
        registry.waiting.lock().unwrap_or_else(|p| p.into_inner()).push_back(conn_state.clone());
        let app = app.clone();
        let seen = conn_state.clone();
        let clock = registry.clone();
        let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
            seen.last_request_ms.store(clock.now_ms(), Ordering::Release);
            seen.requests.fetch_add(1, Ordering::AcqRel);
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_util::service::TowerToHyperService::new(service)).into_owned();
        let stopping = stopping.clone();
        let registry = registry.clone();
        tasks.spawn(async move {
            let _slot = slot;
            drive(conn, &conn_state, &registry, opts, stopping, |c| c.graceful_shutdown()).await;
        });
    }
    drop(listener);
    stopping.cancel();
    tasks.close();
    if tokio::time::timeout(opts.grace, tasks.wait()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
}

/// Run one connection to its end, closing it when its first request is late or the cap evicts
/// it, and ending it gracefully when it idles or the server stops.
/// (`graceful` asks hyper's connection to finish what it is doing and close.)
async fn drive<C, G>(conn: C, state: &Conn, registry: &Registry, opts: HttpOptions, stopping: CancellationToken, graceful: G)
where
    C: Future<Output = Result<(), Box<dyn std::error::Error + Send + Sync>>>,
    G: Fn(std::pin::Pin<&mut C>),
{
    tokio::pin!(conn);
    let first_deadline = tokio::time::Instant::now() + opts.header_read_timeout;
    let mut winding_down = false;
    loop {
        let requests = state.requests.load(Ordering::Acquire);
        // Before the first request: its deadline (looking again within the idle limit, which
        // may be shorter). After: the idle limit from the last request.
        let wake = if requests == 0 {
            first_deadline.min(tokio::time::Instant::now() + opts.idle_timeout)
        } else {
            let last = state.last_request_ms.load(Ordering::Acquire);
            let idle_for = Duration::from_millis(registry.now_ms().saturating_sub(last));
            tokio::time::Instant::now() + opts.idle_timeout.saturating_sub(idle_for)
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = state.evict.cancelled() => return,
            _ = stopping.cancelled(), if !winding_down => {
                winding_down = true;
                graceful(conn.as_mut());
            }
            _ = tokio::time::sleep_until(wake), if !winding_down => {
                let requests = state.requests.load(Ordering::Acquire);
                if requests == 0 {
                    if tokio::time::Instant::now() >= first_deadline {
                        // Silent, or stuck before its first request's headers: close it now.
                        return;
                    }
                    continue;
                }
                let last = state.last_request_ms.load(Ordering::Acquire);
                if registry.now_ms().saturating_sub(last) >= opts.idle_timeout.as_millis() as u64 {
                    // No new request for the idle limit: ask it to end (a response or stream in
                    // progress finishes first).
                    winding_down = true;
                    graceful(conn.as_mut());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_everything_else() {
        assert_eq!(connection_cap(1024), 896);
        assert_eq!(connection_cap(20_000), 18_000);
        assert!(connection_cap(100) >= 16);
    }
}

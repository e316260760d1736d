//! The HTTP edge: middleware (per-client limits, error statuses), client addresses behind
//! proxies, health probes, and — in submodules — the server loop, security headers, rate
//! limiters, the demo host site and the admin page. The router itself is assembled in
//! `crate::routes`, next to the UI shell it serves.

pub mod admin;
pub mod agents;
pub mod health;
pub mod host;
pub mod limits;
pub mod request_id;
pub mod security;
pub mod serve;
pub mod share;

use crate::error::AppError;
use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Largest request body accepted (a question is at most 4,000 characters).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What runs beside the HTTP app: the listener that lets another instance stop an answer this
/// one generates.
pub fn start_background(state: &AppState) {
    state.hub.listen_for_stops(state.direct_pool.clone());
}

/// Server functions answer every error with 500; give each [`AppError`] its real status
/// (and `Retry-After` when rate limited) so clients and proxies can tell them apart.
pub async fn server_fn_error_status(res: Response) -> Response {
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !res.headers().contains_key(server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(secs) = err.retry_after() {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                parts.headers.insert(axum::http::header::RETRY_AFTER, v);
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The client's address: the socket peer, or — behind `hops` trusted proxies, each appending the
/// address it received the request from to `X-Forwarded-For` — the entry `hops` places from the
/// right. Entries further left were written by the client and prove nothing.
pub fn forwarded_client(headers: &axum::http::HeaderMap, peer: Option<std::net::IpAddr>, hops: usize) -> Option<std::net::IpAddr> {
    if hops == 0 {
        return peer;
    }
    // Several X-Forwarded-For headers form one list, in order.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let Some(entry) = entries.len().checked_sub(hops).map(|i| entries[i]) else {
        // Fewer entries than proxies: the nearest proxy saw the client directly.
        return entries.first().and_then(|e| parse_forwarded(e)).or(peer);
    };
    parse_forwarded(entry).or(peer)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_forwarded(entry: &str) -> Option<std::net::IpAddr> {
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.trim_start_matches('[').split(']').next().and_then(|a| a.parse().ok()))
}

pub fn client_ip(state: &AppState, headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> Option<std::net::IpAddr> {
    forwarded_client(headers, peer.map(|p| p.ip()), state.config.limits.proxy_hops())
}

/// A `429` with `Retry-After` for a refused call.
fn refused(e: AppError) -> Response {
    let mut res = (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::TOO_MANY_REQUESTS), axum::Json(&e)).into_response();
    if let Some(secs) = e.retry_after() {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    res.headers_mut().insert(server_fn::error::SERVER_FN_ERROR_HEADER, HeaderValue::from_static("rate-limit"));
    res
}

/// Is this a request whose cost the per-client allowance covers: the API and the pages (not
/// static files, which a page pulls several of at once)?
fn counted(path: &str) -> bool {
    // Shared pages too: each one reads the database, and guessing ids must be slow; the widget
    // and history pages are rendered on the server; the readiness probe queries the database.
    path.starts_with("/api/")
        || path == "/"
        || path.starts_with("/docs")
        || path == "/history"
        || path.starts_with("/admin")
        || path.starts_with("/share/")
        || path == "/widget"
        || path == "/conversations"
        || path.starts_with("/conversations/")
        || path == "/readyz"
        // The book for agents: each search reads the index and logs; the files are large.
        || path == "/mcp"
        || path.starts_with("/mcp/")
        || path == "/llms.txt"
        || path == "/llms-full.txt"
}

/// Every API call and page counts against its client's allowance.
pub async fn api_rate_limit(State(state): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if counted(req.uri().path()) {
        let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        if let Some(ip) = client_ip(&state, req.headers(), peer) {
            if let Err(e) = state.limits.check_ip(ip) {
                return refused(e);
            }
        }
    }
    next.run(req).await
}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: not draining, the database answers and every migration this build knows is
/// applied. The database check is trusted for `BOOKCHAT_READY_CACHE_SECS` (see `Readiness`).
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    use std::sync::atomic::Ordering;
    if state.readiness.draining.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining".to_owned());
    }
    let ttl = std::time::Duration::from_secs(state.config.ready_cache_secs);
    let cached = state.readiness.last_check.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let result = match cached {
        Some((at, r)) if at.elapsed() < ttl => r,
        _ => {
            let latest = crate::server::db::latest_migration();
            let r = match crate::server::db::reports::applied_migration(&state.pool).await {
                Ok(Some(v)) if v >= latest => Ok(()),
                Ok(_) => Err("migrations pending".to_owned()),
                Err(e) => {
                    tracing::warn!(error = %e, "readiness check failed");
                    Err("database unavailable".to_owned())
                }
            };
            *state.readiness.last_check.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), r.clone()));
            r
        }
    };
    match result {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

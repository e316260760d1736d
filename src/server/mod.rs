//! Everything that only runs on the server: configuration, database, answering, routes.

pub mod admin;
pub mod answer;
pub mod auth;
pub mod book;
pub mod chat;
pub mod cli;
pub mod config;
pub mod db;
pub mod eval;
pub mod host;
pub mod identity;
pub mod limits;
pub mod privacy;
pub mod render;
pub mod security;
pub mod serve;
pub mod state;

use crate::app::{shell, App};
use crate::error::AppError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use state::AppState;
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::limit::RequestBodyLimitLayer;

/// Largest request body accepted (a question is at most 4,000 characters).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole HTTP application around a prepared state (used by `serve` and by the tests).
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let provide_state = move || provide_context(context_state.clone());
    let options = state.leptos_options.clone();
    let demo = host::router(host::HostSite { app: state.clone(), bookchat_origin: String::new() });
    let headers_state = state.clone();
    let request_timeout = std::time::Duration::from_secs(state.config.request_timeout_secs.max(1));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/admin", get(admin::page))
        .route("/admin/queries.csv", get(admin::csv))
        .leptos_routes_with_context(&state, routes, provide_state.clone(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_state, shell))
        .with_state(state)
        .merge(demo)
        .layer(axum::middleware::from_fn_with_state(headers_state.clone(), security::headers))
        .layer(axum::middleware::from_fn_with_state(headers_state, api_rate_limit))
        .layer(axum::middleware::map_response(server_fn_error_status))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Until the response starts: an answer stream's body goes on (it has its own idle limit).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        // Compress static files, pages and JSON; never the answer streams (compressors buffer).
        .layer(
            CompressionLayer::new().br(true).gzip(true).compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("application/octet-stream"))
                    .and(NotForContentType::const_new("text/plain")),
            ),
        )
}

/// What runs beside the HTTP app: the listener that lets another instance stop an answer this
/// one generates.
pub fn start_background(state: &AppState) {
    state.hub.listen_for_stops(state.pool.clone());
}

/// Server functions answer every error with 500; give each [`AppError`] its real status
/// (and `Retry-After` when rate limited) so clients and proxies can tell them apart.
async fn server_fn_error_status(res: Response) -> Response {
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
    path.starts_with("/api/") || path == "/" || path.starts_with("/docs") || path == "/history" || path.starts_with("/admin")
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
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and every migration this build knows is applied.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let latest = db::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(&state.pool).await;
    match applied {
        Ok(Some(v)) if v >= latest => (StatusCode::OK, "ready".to_owned()),
        Ok(_) => (StatusCode::SERVICE_UNAVAILABLE, "migrations pending".to_owned()),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable".to_owned())
        }
    }
}

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
        // Compress static files, pages and JSON; never the answer streams (compressors buffer).
        .layer(
            CompressionLayer::new().br(true).gzip(true).compress_when(
                DefaultPredicate::new()
                    .and(NotForContentType::const_new("application/octet-stream"))
                    .and(NotForContentType::const_new("text/plain")),
            ),
        )
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
        if let AppError::RateLimited { retry_after_secs } = err {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                parts.headers.insert(axum::http::header::RETRY_AFTER, v);
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when configured to
/// trust a proxy in front.
pub fn client_ip(state: &AppState, headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> Option<std::net::IpAddr> {
    if state.config.limits.trust_proxy_headers {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip())
}

/// Every API call counts against its IP's allowance.
async fn api_rate_limit(State(state): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        if let Some(ip) = client_ip(&state, req.headers(), peer) {
            if let Err(e) = state.limits.check_ip(ip) {
                let mut res = (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::TOO_MANY_REQUESTS), axum::Json(&e)).into_response();
                if let AppError::RateLimited { retry_after_secs } = e {
                    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                        res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                    }
                }
                res.headers_mut().insert(server_fn::error::SERVER_FN_ERROR_HEADER, HeaderValue::from_static("rate-limit"));
                return res;
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

//! Who is calling: the session secret travels in the `X-BookChat-Session` header (set by the
//! widget from its own storage), because third-party iframes cannot rely on cookies.

use crate::server::error::{Expected, ServerError, ServerResult};
use crate::server::db::held::on_held;
use crate::server::db::{sessions, Caller};
use crate::server::state::AppState;
use crate::error::AppError;
use http::HeaderMap;

pub const SESSION_HEADER: &str = "x-bookchat-session";

pub fn token_from(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|t| !t.is_empty())
}

/// The state and the authenticated caller of the current server function call.
pub async fn caller() -> ServerResult<(AppState, Caller)> {
    let state = app_state()?;
    let token = token().await?;
    let session = on_held!(state.held, |db| sessions::authenticate(db, &token))?.ok_or(AppError::Unauthorized)?;
    Ok((state, session.caller()))
}

/// The client address of the current server function call (see `server::client_ip`).
pub async fn client_ip(state: &AppState) -> Option<std::net::IpAddr> {
    let headers: HeaderMap = leptos_axum::extract().await.ok()?;
    let peer = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>().await.ok().map(|c| c.0);
    crate::server::http::client_ip(state, &headers, peer)
}

/// The session secret the current server function call carries (401 without one).
pub async fn token() -> ServerResult<String> {
    // Read in place: `headers()` would copy the request's head (headers and extensions) twice.
    let token = leptos::prelude::with_context::<http::request::Parts, _>(|parts| token_from(&parts.headers).map(str::to_owned))
        .or_internal("the request in the server function's context")?;
    Ok(token.ok_or(AppError::Unauthorized)?)
}

/// The current server function call's request headers.
pub async fn headers() -> ServerResult<HeaderMap> {
    leptos_axum::extract().await.map_err(|e| ServerError::internal("reading the request headers", e.to_string()))
}

pub fn app_state() -> ServerResult<AppState> {
    leptos::prelude::use_context::<AppState>().or_internal("the application state in the server function's context")
}

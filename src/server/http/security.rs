//! Security headers. The widget pages may be framed only by the configured host origins
//! (`frame-ancestors`); everything else only by this server, and nothing sniffs content types.

use crate::server::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Carries a page's script nonce from rendering to [`headers`] (never sent to the browser).
pub const NONCE_HEADER: &str = "x-bookchat-csp-nonce";

/// The pages a host site embeds in an iframe.
fn is_embeddable(path: &str) -> bool {
    path == "/widget" || path == "/conversations" || path.starts_with("/conversations/")
}

/// `frame-ancestors` for the embeddable pages: this server plus the allowlist.
pub fn frame_ancestors(state: &AppState) -> String {
    let mut v = String::from("'self'");
    for o in &state.config.allowed_origins {
        v.push(' ');
        v.push_str(o);
    }
    v
}

pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    if path == "/embed.js" || path == "/embed-panel.js" {
        // Hosts may measure what the loader costs them; a short cache keeps page views free
        // (and lets a new release reach every host within minutes).
        h.insert("timing-allow-origin", HeaderValue::from_static("*"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    }
    let nonce = h.remove(NONCE_HEADER).and_then(|v| v.to_str().ok().map(str::to_owned)).filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let is_html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if !is_html {
        return res;
    }
    let csp = if path.starts_with("/admin") {
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'".to_owned()
    } else {
        // Scripts come from this server, or inline with this response's nonce (Leptos's
        // hydration script); the wasm needs compiling. Answers' HTML is sanitised server-side,
        // and nothing loads from other origins.
        let ancestors = if is_embeddable(&path) { frame_ancestors(&state) } else { "'self'".to_owned() };
        let inline = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
        format!(
            "default-src 'self'; script-src 'self'{inline} 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'self'; \
             form-action 'self'; frame-ancestors {ancestors}"
        )
    };
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if !is_embeddable(&path) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    }
    res
}

//! A request id on every request: the caller's `x-request-id` when it is a sane token (a load
//! balancer's or a proxy's), else a new one. Everything logged while the request is handled
//! carries it (a tracing span), the response echoes it, a 5xx body names it — a reader's "it
//! failed" and the operator's log line meet on one id — and one access line per request is
//! logged with its status and time.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// The request id, in the request's extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestId(pub String);

/// A request id worth keeping: 1–64 characters of letters, digits, `-`, `_`, `.`.
fn acceptable(v: &str) -> bool {
    !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut res = async move {
        let res = next.run(req).await;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(status = res.status().as_u16(), ms = seconds * 1000.0, "request");
        crate::server::metrics::request(&path, res.status().as_u16(), seconds);
        res
    }
    .instrument(span)
    .await;
    if res.status().is_server_error() {
        res = name_in_body(res, &id).await;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

/// A 5xx body names the request: a JSON error gets `request_id`, a text one a last line.
async fn name_in_body(res: Response, id: &str) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let named: Vec<u8> = if content_type.contains("json") {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(mut m)) => {
                m.insert("request_id".into(), serde_json::Value::String(id.to_owned()));
                serde_json::to_vec(&m).unwrap_or_else(|_| bytes.to_vec())
            }
            _ => bytes.to_vec(),
        }
    } else if content_type.starts_with("text/plain") || content_type.is_empty() {
        let mut b = bytes.to_vec();
        b.extend_from_slice(format!("\n(request id: {id})").as_bytes());
        b
    } else {
        bytes.to_vec()
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(named))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_taken_from_the_caller() {
        assert!(acceptable("a1b2-c3.d_4"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"x".repeat(65)));
        assert!(!acceptable("id with spaces") && !acceptable("id\nforged-log-line") && !acceptable("<script>"));
    }
}

//! `/admin`: what readers ask and how well the book answers — for the book's authors. Behind
//! HTTP Basic auth with the configured admin secret; without one configured, it does not exist.

use crate::server::db::reports;
use crate::server::error::{ServerError, ServerResult};
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Compare without leaking where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `None` when the request may proceed, otherwise the response to send. A client that failed
/// too often recently is refused before its password is even looked at.
pub(super) fn check(state: &AppState, headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> Option<Response> {
    let Some(secret) = &state.config.admin_secret else {
        return Some(StatusCode::NOT_FOUND.into_response());
    };
    let ip = super::client_ip(state, headers, peer);
    if let Some(ip) = ip {
        if let Err(e) = state.limits.check_admin_attempt(ip) {
            let secs = e.retry_after().unwrap_or(60).to_string();
            return Some((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, secs)], "Too many failed logins; try again later.").into_response());
        }
    }
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_owned()))
        .is_some_and(|pass| constant_time_eq(pass.as_bytes(), secret.expose().as_bytes()));
    if ok {
        None
    } else {
        if let Some(ip) = ip {
            state.limits.admin_failed(ip);
        }
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"BookChat admin\", charset=\"UTF-8\"")],
                "Authentication required.",
            )
                .into_response(),
        )
    }
}

/// The admin page's failure: logged with its cause (by `into_app_error`), told as a status.
fn unavailable(e: ServerError) -> Response {
    let e = e.context("the admin page").into_app_error();
    (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.to_string()).into_response()
}

pub async fn page(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>, headers: HeaderMap) -> Response {
    if let Some(denied) = check(&state, &headers, Some(peer)) {
        return denied;
    }
    match render(&state).await {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => unavailable(e),
    }
}

async fn render(state: &AppState) -> ServerResult<String> {
    let reports::Overview { days, latency: lat, unanswered: refused, rated_down: worst, cited } = reports::overview(&state.read_pool).await?;
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.0} ms")).unwrap_or_else(|| "—".into());
    let mut h = String::from(
        r##"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>BookChat admin</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1000px;padding:0 1rem;color:#1c1e21}
table{border-collapse:collapse;width:100%;margin:.5rem 0 2rem}td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:10px;padding:.75rem 1rem;min-width:140px}
.card b{display:block;font-size:1.4rem}</style></head><body><h1>BookChat — questions and answers</h1>
<p><a href="/admin/queries.csv" data-testid="csv-link">Download the query log (CSV)</a> · <a href="#health">Book health</a> · <a href="#pins">Pinned answers</a></p>"##,
    );
    h.push_str(&format!(
        r#"<div class="cards"><div class="card" data-testid="stat-count"><b>{}</b>questions, last 7 days</div>
<div class="card" data-testid="stat-p50"><b>{}</b>p50 answer time</div><div class="card" data-testid="stat-p95"><b>{}</b>p95 answer time</div>
<div class="card"><b>{}</b>p50 time to first token</div><div class="card"><b>{}</b>mean relevance</div></div>"#,
        lat.n,
        ms(lat.p50),
        ms(lat.p95),
        ms(lat.ttft50),
        lat.relevance.map(|r| format!("{r:.2}")).unwrap_or_else(|| "—".into()),
    ));
    h.push_str("<h2>Questions per day</h2><table data-testid=\"per-day\"><tr><th>Day</th><th>Questions</th><th>Not answered</th></tr>");
    for d in &days {
        h.push_str(&format!("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", d.day, d.n, d.refused));
    }
    h.push_str("</table><h2>Questions the book did not answer</h2><table data-testid=\"refused\"><tr><th>When</th><th>Question</th></tr>");
    for r in &refused {
        h.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", r.created_at.format("%Y-%m-%d %H:%M"), esc(&r.question)));
    }
    h.push_str("</table><h2>Answers rated not helpful</h2><table data-testid=\"worst\"><tr><th>Question</th><th>Answer</th><th>Comment</th></tr>");
    for w in &worst {
        let answer: String = w.answer.chars().take(300).collect();
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.question),
            esc(&answer),
            esc(w.comment.as_deref().unwrap_or(""))
        ));
    }
    h.push_str("</table><h2>Most-cited sections</h2><table data-testid=\"cited\"><tr><th>Section</th><th>Citations</th></tr>");
    for c in &cited {
        let label = match (c.title.as_deref(), c.section.as_deref()) {
            (Some(t), Some(s)) if !s.is_empty() => format!("{t} — {s}"),
            (Some(t), _) => t.to_owned(),
            _ => String::new(),
        };
        h.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td></tr>",
            esc(c.url.as_deref().unwrap_or("#")),
            esc(&label),
            c.n
        ));
    }
    h.push_str("</table>");
    h.push_str(&super::health::render(state).await?);
    h.push_str("</body></html>");
    Ok(h)
}

/// A CSV cell, quoted, with spreadsheet formula prefixes neutralised.
pub(super) fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub async fn csv(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>, headers: HeaderMap) -> Response {
    if let Some(denied) = check(&state, &headers, Some(peer)) {
        return denied;
    }
    let rows = match reports::query_log(&state.read_pool).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let mut out = String::from(
        "created_at,question,answer,provider,model,status,refused,response_time_ms,first_token_ms,relevance_score,rating,comment\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{:.3},{},{}\n",
            r.created_at.to_rfc3339(),
            cell(&r.question),
            cell(&r.answer),
            cell(&r.provider),
            cell(r.model.as_deref().unwrap_or("")),
            r.status,
            r.refused,
            r.response_time_ms,
            r.first_token_ms.map(|v| v.to_string()).unwrap_or_default(),
            r.relevance_score,
            r.rating.map(|v| v.to_string()).unwrap_or_default(),
            cell(r.comment.as_deref().unwrap_or("")),
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"bookchat-queries.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formula_safe() {
        assert_eq!(cell("a \"b\", c"), "\"a \"\"b\"\", c\"");
        assert_eq!(cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }

    #[test]
    fn constant_time_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}

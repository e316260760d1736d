//! `/llms.txt` and `/llms-full.txt` (llmstxt.org): the book for AI agents, generated from the
//! ingested book (`book::llms`). The MCP server beside them is `server::mcp`.

use crate::server::book::llms;
use crate::server::error::ServerResult;
use crate::server::mcp::absolute;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Agents fetch these now and then; a changed book shows within minutes.
const CACHE: &str = "public, max-age=300";

pub async fn llms_txt(State(state): State<AppState>) -> Response {
    respond(render(&state, false).await)
}

pub async fn llms_full_txt(State(state): State<AppState>) -> Response {
    respond(render(&state, true).await)
}

async fn render(state: &AppState, full: bool) -> ServerResult<String> {
    let index = state.library.index(&state.pool).await?;
    let config = &state.config;
    let title = Some(config.book_title.as_str());
    let url_for = |route: &str| absolute(config, &config.citation_url(route, ""));
    Ok(if full { llms::llms_full_txt(&index, title, url_for) } else { llms::llms_txt(&index, title, url_for) })
}

fn respond(body: ServerResult<String>) -> Response {
    match body {
        // Markdown, as the format is; (text/plain would also skip the compression layer).
        Ok(md) => ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8"), (header::CACHE_CONTROL, CACHE)], md).into_response(),
        Err(e) => {
            let e = e.context("the book for agents").into_app_error();
            (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.to_string()).into_response()
        }
    }
}

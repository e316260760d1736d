//! `/share/{id}`: a shared conversation, rendered on the server as plain HTML (no WebAssembly:
//! it opens at once on a phone), marked `noindex`, showing the questions, the answers and their
//! citations — never who shared it. From there a reader continues it as their own, on this
//! server's history pages or in the widget on the book's site.

use crate::model::{MessageStatus, Role};
use crate::server::chat::share;
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Search engines must not index a shared conversation, and nothing may keep a copy of one that
/// was revoked.
const HEADERS: [(header::HeaderName, &str); 2] =
    [(header::CACHE_CONTROL, "no-store"), (header::HeaderName::from_static("x-robots-tag"), "noindex, nofollow")];

pub async fn page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match share::read(&state, &id).await {
        Ok(shared) => {
            // The book's pages, from the in-memory index (empty if it cannot be read: then no
            // page is offered to continue on, and the rest of the page still shows).
            let routes: std::collections::HashSet<String> = match state.library.index(&state.read_pool).await {
                Ok(index) => index.sections.iter().map(|s| s.route.clone()).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "the book's pages for a shared page");
                    Default::default()
                }
            };
            (HEADERS, Html(render(&state, &id, &shared, &routes))).into_response()
        }
        Err(e) => {
            // Logged once, with its cause, when it is a 500.
            let e = e.context("the shared page").into_app_error();
            let status = StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let text = if status == StatusCode::NOT_FOUND {
                "This shared conversation does not exist, or its owner stopped sharing it."
            } else {
                "The shared conversation can't be shown right now. Try again in a moment."
            };
            let body = format!("<main class=\"bc-shared\"><h1>Not available</h1><p data-testid=\"shared-missing\">{text}</p></main>");
            (status, HEADERS, Html(document("Shared conversation · BookChat", &body))).into_response()
        }
    }
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/pkg/bookchat.css\"></head><body>{body}</body></html>",
        esc(title)
    )
}

/// Where the widget on the book's site can continue the conversation: the book page the first
/// question was asked on, when that page is on a site allowed to embed BookChat and is a page
/// of the book (a sharer cannot point the button at any path of an allowed origin).
fn book_page(state: &AppState, shared: &crate::server::db::shares::SharedConversation, routes: &std::collections::HashSet<String>) -> Option<String> {
    let url = shared.messages.iter().find_map(|m| (m.role == Role::User).then(|| m.metadata().page_url).flatten())?;
    let page = crate::server::chat::page_address(&url);
    let page = page.as_str();
    let route = crate::server::answer::job::route_of(page, &state.config.site_base_url)?;
    if !routes.contains(&route) {
        return None;
    }
    let (scheme, rest) = page.split_once("://")?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let origin = format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase());
    let safe = (scheme == "https" || scheme == "http") && !host.is_empty() && !page.chars().any(|c| c.is_whitespace() || c == '"');
    (safe && state.config.allowed_origins.iter().any(|o| *o == origin)).then(|| page.to_owned())
}

fn render(state: &AppState, id: &str, shared: &crate::server::db::shares::SharedConversation, routes: &std::collections::HashSet<String>) -> String {
    let mut h = format!(
        "<main class=\"bc-shared\" data-testid=\"shared\"><header class=\"bc-shared-head\">\
         <p class=\"bc-shared-note\">Shared from BookChat · read-only · as of <time datetime=\"{}\">{}</time></p>\
         <h1 data-testid=\"shared-title\">{}</h1></header><div class=\"bc-messages bc-shared-list\">",
        shared.shared_at.to_rfc3339(),
        shared.shared_at.format("%-d %b %Y"),
        esc(&shared.title)
    );
    for m in &shared.messages {
        let meta = m.metadata();
        match m.role {
            Role::User => {
                h.push_str("<article class=\"bc-msg bc-user\" data-testid=\"shared-question\">");
                if let Some(q) = &meta.quote {
                    h.push_str(&format!("<blockquote class=\"bc-quote\">{}</blockquote>", esc(q)));
                }
                h.push_str(&format!("<div class=\"bc-text\">{}</div></article>", esc(&m.content)));
            }
            Role::Assistant => {
                h.push_str("<article class=\"bc-msg bc-assistant\" data-testid=\"shared-answer\">");
                // Stored answers carry the HTML sanitised when they were written.
                let html = m.html.clone().unwrap_or_else(|| crate::server::answer::render::markdown_to_safe_html(&m.content));
                h.push_str(&format!("<div class=\"bc-md\">{html}</div>"));
                match m.status {
                    MessageStatus::Stopped => h.push_str("<p class=\"bc-status\">Stopped</p>"),
                    MessageStatus::Failed => h.push_str("<p class=\"bc-status bc-failed\">The answer could not be completed.</p>"),
                    _ => {}
                }
                if !meta.citations.is_empty() {
                    h.push_str("<ol class=\"bc-sources\" aria-label=\"Sources\">");
                    for (i, c) in meta.citations.iter().enumerate() {
                        let label = if c.section.is_empty() { c.title.clone() } else { format!("{} — {}", c.title, c.section) };
                        h.push_str(&format!(
                            "<li><a href=\"{}\" rel=\"noopener\" data-testid=\"citation\"><span class=\"bc-cite-n\">[{}]</span> {}</a></li>",
                            esc(&c.url),
                            i + 1,
                            esc(&label)
                        ));
                    }
                    h.push_str("</ol>");
                }
                h.push_str("</article>");
            }
        }
    }
    h.push_str("</div><footer class=\"bc-shared-foot\"><p>Continuing makes your own copy; the person who shared this sees nothing you add.</p><p>");
    h.push_str(&format!(
        "<a class=\"bc-button\" href=\"/conversations?continue={id}\" data-testid=\"continue-shared\">Continue this conversation</a>",
        id = esc(id)
    ));
    if let Some(page) = book_page(state, shared, routes) {
        h.push_str(&format!(
            " <a class=\"bc-button bc-secondary\" href=\"{}#bookchat-share={}\" data-testid=\"continue-on-book\">Continue on the book's page</a>",
            esc(&page),
            esc(id)
        ));
    }
    h.push_str("</p></footer></main>");
    document(&format!("{} · Shared from BookChat", shared.title), &h)
}

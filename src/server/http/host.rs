//! The demo host site: the ingested book rendered like a Docusaurus page (navbar, sidebar,
//! article, light/dark toggle on `html[data-theme]`), embedding BookChat with its one script
//! tag exactly as a real host would. Citation links point here when no site base URL is set.

use crate::server::db::documents;
use crate::server::answer::render;
use crate::server::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The demo site and where it loads BookChat from ("" = the same origin).
#[derive(Clone)]
pub struct HostSite {
    pub app: AppState,
    pub bookchat_origin: String,
}

/// The demo site as its own app (served on extra addresses, so the embed can be tried and
/// tested cross-origin, the way real host sites use it).
pub fn router(site: HostSite) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/docs", get(index))
        .route("/docs/{*path}", get(doc_page))
        .route("/history", get(history_page))
        .with_state(site)
}

/// A host page that shows the reader's BookChat history inline (`data-bookchat="history"`).
/// With `?identify=always` it is a site with accounts: its script says who is reading on every
/// page view (`data-identify="always"` on the loader).
pub async fn history_page(State(site): State<HostSite>, Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let docs = documents::list(&site.app.pool).await.unwrap_or_default();
    let article = "<h1>Your questions about this book</h1>\
        <p>Everything you asked BookChat, on any page of the book.</p>\
        <div data-bookchat=\"history\" data-height=\"520px\" data-testid=\"history-mount\"></div>";
    let identify = q.get("identify").is_some_and(|v| v == "always");
    page_with(&site, "Your questions", article, &docs, "/history", identify).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

pub async fn index(State(site): State<HostSite>) -> Response {
    match documents::list(&site.app.pool).await {
        Ok(docs) => match docs.first() {
            Some(first) => render_route(&site, &first.route.clone()).await,
            None => page(
                &site,
                "BookChat",
                "<h1>No book yet</h1><p>Run <code>bookchat ingest book/</code> to load the sample book.</p>",
                &[],
                "",
            )
            .into_response(),
        },
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "The book is temporarily unavailable.").into_response(),
    }
}

pub async fn doc_page(State(site): State<HostSite>, Path(path): Path<String>) -> Response {
    render_route(&site, &format!("/docs/{}", path.trim_end_matches('/'))).await
}

async fn render_route(site: &HostSite, route: &str) -> Response {
    let (doc, docs) = match tokio::try_join!(documents::page_by_route(&site.app.pool, route), documents::list(&site.app.pool)) {
        Ok(v) => v,
        Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "The book is temporarily unavailable.").into_response(),
    };
    let Some((title, sections)) = doc else {
        return (StatusCode::NOT_FOUND, Html(page(site, "Not found", "<h1>Page not found</h1>", &docs, route).0))
            .into_response();
    };
    let html = render::book_page_html(&sections);
    page(site, &title, &html, &docs, route).into_response()
}

fn page(site: &HostSite, title: &str, article: &str, docs: &[documents::DocListing], current: &str) -> Html<String> {
    page_with(site, title, article, docs, current, false)
}

fn page_with(site: &HostSite, title: &str, article: &str, docs: &[documents::DocListing], current: &str, identify: bool) -> Html<String> {
    let embed_attrs = if identify { " data-identify=\"always\"" } else { "" };
    let origin = esc(&site.bookchat_origin);
    let nav: String = docs
        .iter()
        .map(|d| {
            let active = if d.route == current { " class=\"active\" aria-current=\"page\"" } else { "" };
            format!("<li><a href=\"{}\"{active}>{}</a></li>", esc(&d.route), esc(&d.title))
        })
        .collect();
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en" data-theme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | Physical AI &amp; Humanoid Robotics</title>
<link rel="stylesheet" href="{origin}/demo-host.css">
<script src="{origin}/demo-host.js"></script>
</head>
<body>
<nav class="navbar" data-testid="host-navbar">
  <a class="brand" href="/">Physical AI &amp; Humanoid Robotics</a>
  <span class="spacer"></span>
  <button type="button" id="theme-toggle" data-testid="theme-toggle" aria-label="Switch between dark and light mode">◐</button>
</nav>
<div class="layout">
  <aside class="sidebar"><ul>{nav}<li><a href="/history">Your questions</a></li></ul></aside>
  <main><article class="markdown" data-testid="host-article">{article}</article></main>
</div>
<script src="{origin}/embed.js" async{embed_attrs}></script>
</body>
</html>"#,
        title = esc(title),
    ))
}

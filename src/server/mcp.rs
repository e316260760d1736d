//! The book for AI agents over the Model Context Protocol: `/mcp`, Streamable HTTP through the
//! official Rust SDK (`rmcp`). Two tools, both read-only:
//! - `search_book` (query, optional chapter): the best sections with titles, snippets and
//!   citation links whose text fragment lands on the matching sentence — the retrieval the
//!   answers use, logged in the query log under the provider name `mcp`;
//! - `read_section` (a link from `search_book`, or any link to a page or section of the book):
//!   that section's Markdown, or the whole page's.
//!
//! Stateless (no MCP session kept between requests): any instance behind a load balancer can
//! serve any call. The HTTP edge's per-address allowance counts every call (`http::counted`).

use crate::server::answer::compose;
use crate::server::answer::index::BookIndex;
use crate::server::answer::retrieve::{self, Query};
use crate::server::book::llms;
use crate::server::db::reports;
use crate::server::state::AppState;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler};
use serde::Deserialize;
use std::sync::Arc;

/// Provider name of agents' searches in the query log.
pub const PROVIDER: &str = "mcp";
/// Sections `search_book` returns by default and at most.
const DEFAULT_RESULTS: usize = 5;
const MAX_RESULTS: usize = 10;
/// A query longer than this is refused (a question, not a document).
const MAX_QUERY_CHARS: usize = 1000;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// What to look for, in words (a question or a few keywords).
    pub query: String,
    /// Only this chapter: a book folder (as in a page's link, e.g. "ros2") or a chapter's title.
    #[serde(default)]
    pub chapter: Option<String>,
    /// How many sections to return (1–10, default 5).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReadArgs {
    /// A link returned by search_book (text fragments are ignored), or any link to a page or a
    /// section of the book; a path such as "/docs/intro#goals" works too.
    pub link: String,
}

#[derive(Clone)]
pub struct BookTools {
    state: AppState,
    tool_router: ToolRouter<BookTools>,
}

/// The `/mcp` endpoint, mounted by `routes::router`.
pub fn service(state: AppState) -> StreamableHttpService<BookTools, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        // The SDK's Host check guards servers on a developer's machine against DNS rebinding;
        // this one is public, reads a public book and holds no ambient credentials.
        .disable_allowed_hosts();
    StreamableHttpService::new(move || Ok(BookTools::new(state.clone())), Arc::new(NeverSessionManager::default()), config)
}

/// The caller's fault: a tool result the agent reads (MCP's "tool execution error").
fn refused(why: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(why.into())])
}

/// Ours: logged with its cause, opaque to the caller.
fn internal(what: &str, e: impl std::fmt::Display) -> ErrorData {
    tracing::error!(error = %e, "mcp: {what}");
    ErrorData::internal_error("internal error", None)
}

#[tool_router]
impl BookTools {
    pub fn new(state: AppState) -> Self {
        BookTools { state, tool_router: Self::tool_router() }
    }

    #[tool(
        description = "Search the book. Returns its best-matching sections, best first, each with its page and section title, a snippet and a link that opens the page at the matching sentence. Pass a link to read_section for the full text.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search_book(&self, Parameters(args): Parameters<SearchArgs>) -> Result<CallToolResult, ErrorData> {
        let started = std::time::Instant::now();
        let query = args.query.split_whitespace().collect::<Vec<_>>().join(" ");
        if query.is_empty() {
            return Ok(refused("query is empty: say what to look for"));
        }
        if query.chars().count() > MAX_QUERY_CHARS {
            return Ok(refused(format!("query is longer than {MAX_QUERY_CHARS} characters")));
        }
        let limit = match args.limit {
            None => DEFAULT_RESULTS,
            Some(n) if (1..=MAX_RESULTS as u32).contains(&n) => n as usize,
            Some(n) => return Ok(refused(format!("limit must be between 1 and {MAX_RESULTS} (got {n})"))),
        };
        let index = self.state.library.index(&self.state.pool).await.map_err(|e| internal("reading the book", e))?;
        let folder = match args.chapter.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match chapter_folder(&index, c) {
                Some(f) => Some(f),
                None => return Ok(refused(format!("no chapter \"{c}\" in this book; chapters: {}", chapters(&index).join(", ")))),
            },
        };
        let mut q = Query::new(&query);
        q.folder = folder.as_deref();
        let r = retrieve::search(&self.state.library, index, q).await.map_err(|e| internal("searching the book", e))?;
        let config = &self.state.config;
        let found = compose::passages(&r, limit, |route, anchor| absolute(config, &config.citation_url(route, anchor)));
        let answerable = compose::answerable(&r);
        let sections: Vec<serde_json::Value> = found
            .iter()
            .map(|c| serde_json::json!({"page": c.title, "section": c.section, "link": c.url, "snippet": c.snippet, "score": c.score}))
            .collect();
        let log = reports::LoggedSearch {
            query: &query,
            retrieved: serde_json::Value::Array(
                found.iter().map(|c| serde_json::json!({"title": c.title, "section": c.section, "url": c.url, "score": c.score})).collect(),
            ),
            answer: &found.iter().map(|c| format!("- {}", label(&c.title, &c.section))).collect::<Vec<_>>().join("\n"),
            provider: PROVIDER,
            refused: !answerable,
            response_time_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
            relevance_score: r.relevance() as f64,
        };
        // The search is answered even if its log line is lost (as answers are).
        if let Err(e) = reports::log_search(&self.state.pool, &log).await {
            tracing::warn!(error = %e, "mcp: logging a search failed");
        }
        Ok(CallToolResult::structured(serde_json::json!({
            // Whether the best section is close enough for BookChat itself to answer from.
            "covered": answerable,
            "sections": sections,
        })))
    }

    #[tool(
        description = "Read a section of the book as Markdown: pass a link from search_book (or any link to a page or section of the book). A link to a page without a section returns the whole page.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn read_section(&self, Parameters(args): Parameters<ReadArgs>) -> Result<CallToolResult, ErrorData> {
        let Some((route, anchor)) = route_and_anchor(&args.link, &self.state.config.site_base_url) else {
            return Ok(refused(format!("\"{}\" is not a link to a page of this book", args.link.trim())));
        };
        let index = self.state.library.index(&self.state.pool).await.map_err(|e| internal("reading the book", e))?;
        let pages = llms::pages(&index);
        let Some(page) = pages.iter().find(|p| p.route == route) else {
            return Ok(refused(format!("no page at {route} in this book")));
        };
        let config = &self.state.config;
        let md = if anchor.is_empty() {
            llms::page_markdown(page, &absolute(config, &config.citation_url(page.route, "")))
        } else {
            match page.sections.iter().find(|s| s.anchor == anchor) {
                Some(s) => format!(
                    "{}\n\nFrom: {} — {}\n",
                    llms::section_markdown(s),
                    page.title,
                    absolute(config, &config.citation_url(&s.route, &s.anchor))
                ),
                None => return Ok(refused(format!("no section #{anchor} on {route}"))),
            }
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(md)]))
    }
}

#[tool_handler(
    router = self.tool_router,
    name = "bookchat",
    instructions = "Search this book and read its sections. Cite the links search_book returns: they open the book at the passage."
)]
impl ServerHandler for BookTools {}

fn label(title: &str, section: &str) -> String {
    if section.is_empty() {
        title.to_owned()
    } else {
        format!("{title} › {section}")
    }
}

/// A link as agents need it: absolute. Citation links are relative only when the book is this
/// server's own demo site; then they are made absolute with its public address.
pub fn absolute(config: &crate::server::config::AppConfig, url: &str) -> String {
    if url.starts_with('/') && !config.public_url.is_empty() {
        format!("{}{url}", config.public_url.trim_end_matches('/'))
    } else {
        url.to_owned()
    }
}

/// The book's chapters: the folders its pages are in.
fn chapters(index: &BookIndex) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in &index.sections {
        let f = s.folder();
        if !f.is_empty() && !out.iter().any(|o| o == f) {
            out.push(f.to_owned());
        }
    }
    out
}

/// The folder a chapter names: a folder itself (or its last part), or the title of a page that
/// opens it, compared without case.
fn chapter_folder(index: &BookIndex, chapter: &str) -> Option<String> {
    let want = chapter.trim().trim_matches('/').to_lowercase();
    let folders = chapters(index);
    if let Some(f) = folders.iter().find(|f| f.to_lowercase() == want || f.rsplit('/').next().is_some_and(|l| l.to_lowercase() == want)) {
        return Some(f.clone());
    }
    // As in the page's link ("/docs/ros2/nodes" is in "ros2"), or a chapter page's title.
    let in_link = |route: &str| route.rsplit_once('/').and_then(|(d, _)| d.rsplit('/').next()).is_some_and(|d| d.to_lowercase() == want);
    index
        .sections
        .iter()
        .find(|s| !s.folder().is_empty() && (in_link(&s.route) || s.doc_title.to_lowercase() == want))
        .map(|s| s.folder().to_owned())
}

/// The route and the anchor a link points at: the book site's own links (the configured base
/// URL), or a bare path; a text fragment (`:~:`) and a query are dropped.
pub fn route_and_anchor(link: &str, site_base_url: &str) -> Option<(String, String)> {
    let link = link.trim();
    let base = site_base_url.trim_end_matches('/');
    let path = if !base.is_empty() && link.starts_with(base) {
        &link[base.len()..]
    } else if link.starts_with('/') {
        link
    } else if let Some(rest) = link.split_once("://").map(|(_, r)| r) {
        // Another origin: this server's own demo site, or the book under another address.
        &rest[rest.find('/')?..]
    } else {
        return None;
    };
    let (path, fragment) = path.split_once('#').unwrap_or((path, ""));
    let path = path.split_once('?').map(|(p, _)| p).unwrap_or(path);
    let anchor = fragment.split_once(":~:").map(|(a, _)| a).unwrap_or(fragment);
    let route = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    if !route.starts_with('/') {
        return None;
    }
    Some((route.to_owned(), anchor.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::route_and_anchor;

    #[test]
    fn links_name_a_route_and_an_anchor() {
        let base = "https://book.example";
        let r = |l: &str| route_and_anchor(l, base);
        assert_eq!(r("https://book.example/docs/ros2/nodes#topics:~:text=A%20topic"), Some(("/docs/ros2/nodes".into(), "topics".into())));
        assert_eq!(r("https://book.example/docs/ros2/nodes/"), Some(("/docs/ros2/nodes".into(), String::new())));
        assert_eq!(r("/docs/intro#:~:text=hello"), Some(("/docs/intro".into(), String::new())));
        assert_eq!(r("/docs/intro?x=1#goals"), Some(("/docs/intro".into(), "goals".into())));
        assert_eq!(r("http://127.0.0.1:3000/docs/a#b"), Some(("/docs/a".into(), "b".into())));
        assert_eq!(r("nodes"), None);
        assert_eq!(r("https://book.example"), None);
    }
}

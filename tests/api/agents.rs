//! The book for AI agents: `/llms.txt`, `/llms-full.txt` and the MCP server's tools as raw
//! JSON-RPC (the query log, refusals, the rate limit). A real MCP client (the official
//! TypeScript SDK) drives `/mcp` in end2end/tests/mcp.spec.ts.

use crate::helpers::TestApp;
use bookchat::server::answer::index::Framing;
use bookchat::server::db::documents;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn llms_txt_lists_every_page_with_a_link_and_llms_full_holds_every_section(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let pages = documents::list(&pool).await.unwrap();
    assert!(pages.len() > 3, "the sample book is ingested");

    let res = app.get("/llms.txt", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let txt = res.text().await.unwrap();
    let mut lines = txt.lines();
    assert!(lines.next().unwrap().starts_with("# "), "an H1 title first: {txt}");
    assert!(txt.lines().any(|l| l.starts_with("> ")), "a summary blockquote: {txt}");
    assert!(txt.lines().any(|l| l.starts_with("## ")), "pages grouped by chapter: {txt}");
    let links: Vec<&str> = txt.lines().filter(|l| l.starts_with("- [")).collect();
    assert_eq!(links.len(), pages.len(), "one link per page: {txt}");
    for p in &pages {
        let line = format!("- [{}](https://book.example{})", p.title, p.route);
        let found = links.iter().find(|l| l.starts_with(&line)).unwrap_or_else(|| panic!("{line} in {txt}"));
        // With what the page is about.
        assert!(found.len() > line.len() + 20, "a description: {found}");
    }

    let full = app.get("/llms-full.txt", None).await.text().await.unwrap();
    let index = app.state.library.index(&pool).await.unwrap();
    for s in &index.sections {
        if s.level > 1 && !s.heading.is_empty() {
            assert!(full.contains(&format!("{} {}", "#".repeat(s.level as usize), s.heading)), "{} in llms-full.txt", s.heading);
        }
    }
    for p in &pages {
        assert!(full.contains(&format!("Source: https://book.example{}", p.route)), "{} in llms-full.txt", p.route);
    }
}

/// One JSON-RPC call to `/mcp` (stateless: no session to open first).
async fn rpc(app: &TestApp, method: &str, params: Value) -> (StatusCode, Value) {
    let res = app
        .http
        .post(format!("{}/mcp", app.base))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .expect("request");
    let status = res.status();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn tool(app: &TestApp, name: &str, args: Value) -> Value {
    let (status, body) = rpc(app, "tools/call", json!({"name": name, "arguments": args})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn agents_search_and_read_the_book_and_their_searches_are_logged(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let index = app.state.library.index(&pool).await.unwrap();
    // A section deep in a page, asked about in its own heading's words.
    let unique = |h: &str| index.sections.iter().filter(|s| s.heading == h).count() == 1;
    let candidates: Vec<_> =
        index.sections.iter().filter(|s| s.level == 2 && !s.overview && s.framing == Framing::None && unique(&s.heading)).collect();
    let target = candidates[candidates.len() / 2].clone();
    let query = format!("what is {}", target.heading.to_lowercase());

    let found = tool(&app, "search_book", json!({"query": query})).await;
    assert_eq!(found["isError"], false, "{found}");
    let sections = found["structuredContent"]["sections"].as_array().unwrap();
    assert!(!sections.is_empty() && sections.len() <= 5, "{found}");
    let first = &sections[0];
    assert_eq!(first["section"], target.heading.as_str(), "{found}");
    let link = first["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("https://book.example{}#{}", target.route, target.anchor)), "{link}");
    assert!(link.contains(":~:text="), "lands on the sentence: {link}");

    // Reading it back: that section's Markdown, under its heading.
    let read = tool(&app, "read_section", json!({"link": link})).await;
    assert_eq!(read["isError"], false, "{read}");
    let md = read["content"][0]["text"].as_str().unwrap();
    assert!(md.starts_with(&format!("## {}\n", target.heading)), "{md}");
    assert!(md.contains(target.markdown().lines().next().unwrap()), "{md}");
    // A page link: the whole page.
    let page = tool(&app, "read_section", json!({"link": format!("https://book.example{}", target.route)})).await;
    let page_md = page["content"][0]["text"].as_str().unwrap();
    assert!(page_md.starts_with(&format!("# {}\n", target.doc_title)) && page_md.contains(&format!("## {}", target.heading)), "{page_md}");

    // A chapter narrows the search to its pages.
    let other = index.sections.iter().find(|s| s.folder() != target.folder()).unwrap();
    let chapter = other.folder().to_owned();
    let scoped = tool(&app, "search_book", json!({"query": query, "chapter": chapter, "limit": 10})).await;
    for s in scoped["structuredContent"]["sections"].as_array().unwrap() {
        let route = s["link"].as_str().unwrap().trim_start_matches("https://book.example").split('#').next().unwrap().to_owned();
        let doc = index.sections.iter().find(|x| x.route == route).unwrap();
        assert_eq!(doc.folder(), chapter, "{scoped}");
    }

    // Bad input is the agent's to fix: a tool error saying what is wrong, nothing logged.
    let bad = tool(&app, "search_book", json!({"query": "robots", "limit": 50})).await;
    assert_eq!(bad["isError"], true);
    assert!(bad["content"][0]["text"].as_str().unwrap().contains("between 1 and 10"), "{bad}");
    let nowhere = tool(&app, "search_book", json!({"query": "robots", "chapter": "no-such-chapter"})).await;
    assert_eq!(nowhere["isError"], true);
    assert!(nowhere["content"][0]["text"].as_str().unwrap().contains(target.folder()), "lists the chapters: {nowhere}");
    let elsewhere = tool(&app, "read_section", json!({"link": "https://book.example/docs/no/such/page"})).await;
    assert_eq!(elsewhere["isError"], true);

    // The query log has the two searches under the provider name "mcp".
    let logged: Vec<(String, String)> = sqlx::query_as("SELECT question, provider FROM rag_queries ORDER BY created_at").fetch_all(&pool).await.unwrap();
    assert_eq!(logged, vec![(query.clone(), "mcp".to_owned()), (query, "mcp".to_owned())]);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn agents_count_against_the_address_allowance(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| c.limits.per_ip = 9).await; // burst 3
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(rpc(&app, "tools/call", json!({"name": "search_book", "arguments": {"query": "sensors"}})).await.0);
    }
    assert!(statuses.iter().take(3).all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert_eq!(app.get("/llms.txt", None).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

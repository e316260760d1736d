//! The first paint is accessible before any script runs: the server-rendered widget, history and
//! shared pages declare their language, and every control has a name a screen reader can say.
//! (The full audit, axe-core in Chromium after hydration, is end2end/tests/a11y.spec.ts.)

use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

/// The opening tags of `tag` elements in `html`, each with the text up to its closing tag.
fn elements<'a>(html: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i..];
        let Some(end) = rest.find('>') else { break };
        let (attrs, after) = (&rest[..end], &rest[end + 1..]);
        let body = after.find(&close).map(|j| &after[..j]).unwrap_or("");
        out.push((attrs, body));
        rest = after;
    }
    out
}

fn text_of(body: &str) -> String {
    let mut t = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => t.push(c),
            _ => {}
        }
    }
    t.trim().to_owned()
}

fn named(attrs: &str) -> bool {
    ["aria-label=\"", "aria-labelledby=\"", "title=\""].iter().any(|a| attrs.split(a).nth(1).is_some_and(|v| !v.starts_with('"')))
}

fn check(path: &str, html: &str) {
    assert!(html.contains("<html lang=\""), "{path}: the document declares its language");
    for (attrs, body) in elements(html, "button") {
        let hidden_text = body.contains("aria-hidden=\"true\"") && text_of(body).chars().all(|c| !c.is_alphanumeric());
        assert!(named(attrs) || (!text_of(body).is_empty() && !hidden_text), "{path}: a button without a name: {attrs}>{body}");
    }
    for tag in ["input", "textarea", "select"] {
        for (attrs, _) in elements(html, tag) {
            if attrs.contains("type=\"hidden\"") {
                continue;
            }
            // Named itself, or inside a <label>.
            let before = &html[..attrs.as_ptr() as usize - html.as_ptr() as usize];
            let in_label = before.rfind("<label").is_some_and(|open| before.rfind("</label>").is_none_or(|close| close < open));
            assert!(named(attrs) || in_label, "{path}: a {tag} without a label: {attrs}");
        }
    }
    for (attrs, _) in elements(html, "img") {
        assert!(attrs.contains(" alt=\""), "{path}: an image without alt text: {attrs}");
    }
}

#[test]
fn the_check_catches_unnamed_controls() {
    let ok = r#"<html lang="en"><button aria-label="Close"><span aria-hidden="true">✕</span></button><label><input type="checkbox"/> Only</label><textarea aria-label="Ask"></textarea>"#;
    check("ok", ok);
    for bad in [
        r#"<html lang="en"><button><span aria-hidden="true">✕</span></button>"#,
        r#"<html lang="en"><textarea placeholder="Ask"></textarea>"#,
        r#"<html lang="en"><label>Only</label><input type="checkbox"/>"#,
        r#"<html lang="en"><img src="x.png">"#,
        r#"<html><p>no language</p>"#,
    ] {
        assert!(std::panic::catch_unwind(|| check("bad", bad)).is_err(), "{bad}");
    }
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn server_rendered_pages_name_every_control(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let conv = g.ask(None, "What is ROS 2?").await["conversation"]["id"].as_str().unwrap().to_owned();
    let (s, link) = g.call("conversations/share", json!({"conversation_id": conv})).await;
    assert_eq!(s, StatusCode::OK);
    let shared = link["path"].as_str().unwrap().to_owned();
    for path in ["/widget", "/widget?embed=1", "/widget?embed=1&lang=ur", "/conversations", "/conversations?lang=ur", &format!("/conversations/{conv}"), &shared] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        check(path, &html);
    }
}

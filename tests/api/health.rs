//! "Book health" on /admin: the questions the book answered badly, grouped (near-duplicates
//! together, under the section that came closest), its CSV, and pinned answers written from it
//! that answer later questions first, marked as the author's.

use crate::helpers::TestApp;
use bookchat::server::config::Secret;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

const SECRET: &str = "correct-horse-battery-staple";

/// The report's rows: (first wording, count) of each gap group, in page order.
fn groups(html: &str) -> Vec<(String, u32)> {
    html.split("data-testid=\"gap-group\"")
        .skip(1)
        .map(|row| {
            let q = row.split("data-testid=\"gap-question\">").nth(1).and_then(|r| r.split("</b>").next()).unwrap_or("").to_owned();
            let n = row.split("data-testid=\"gap-count\">").nth(1).and_then(|r| r.split("</td>").next()).and_then(|n| n.parse().ok()).unwrap_or(0);
            (q, n)
        })
        .collect()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> (StatusCode, String) {
    let mut req = app
        .http
        .post(format!("{}{path}", app.base))
        .basic_auth("admin", Some(SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&"));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn answer(v: &Value) -> &Value {
    &v["answer"]
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn gaps_are_grouped_and_a_pinned_answer_answers_later_questions_as_the_authors(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), true, |c| c.admin_secret = Some(Secret::new(SECRET))).await;
    // A redirect is the answer to a pin's form; the test reads it rather than following it.
    let app = TestApp { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), ..app };
    let g = app.guest().await;
    let asked = ["How do I bake sourdough bread?", "how do I bake sourdough bread", "Who won the football World Cup in 1998?"];
    for q in asked {
        assert_eq!(answer(&g.ask(None, q).await)["refused"], true, "{q} is not in the book");
    }
    let good = g.ask(None, "What is the zero moment point?").await;
    assert_eq!(answer(&good)["refused"], false);

    let html = app.get("/admin", Some(("admin", SECRET))).await.text().await.unwrap();
    let found = groups(&html);
    // The two wordings of one question are one gap; the other question is another; the
    // answered question is none.
    assert_eq!(found.len(), 2, "{found:?}");
    // Shown in the newest of its spellings.
    assert_eq!(found[0], (asked[1].to_owned(), 2));
    assert_eq!(found[1], (asked[2].to_owned(), 1));
    assert!(!html.contains("zero moment point"), "an answered question is not a gap");

    let res = app.get("/admin/health.csv", Some(("admin", SECRET))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("section,section_url,question,count,refused,"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains(&format!("\"{}\",2,2,0,0,", asked[1])), "{csv}");

    // Pin an answer, citing a section of the book.
    let index = app.state.library.index(&pool).await.unwrap();
    let cited = index.sections.iter().find(|s| s.level == 2).unwrap();
    let link = app.state.config.citation_url(&cited.route, &cited.anchor);
    let host = app.base.trim_start_matches("http://").to_owned();
    let mine = "Baking is not in this book; the **kitchen robots** chapter of the companion course covers it.";
    let form = [("answer", mine), ("questions", "How do I bake sourdough bread?\nhow do I bake sourdough bread"), ("citation", link.as_str())];

    // From another site (the admin's browser would send its credentials along): refused.
    let (status, _) = post_form(&app, "/admin/pins", &form, Some("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad input: a clear 422, nothing stored.
    let (status, body) = post_form(&app, "/admin/pins", &[("answer", " "), ("questions", "x")], None).await;
    assert_eq!((status, body.contains("The answer is empty")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{body}");
    let (status, body) = post_form(&app, "/admin/pins", &[("answer", "a"), ("questions", "x"), ("citation", "https://elsewhere.example/docs/x")], None).await;
    assert_eq!((status, body.contains("is not a section of this book")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{body}");
    let pins: i64 = sqlx::query_scalar("SELECT count(*) FROM pinned_answers").fetch_one(&pool).await.unwrap();
    assert_eq!(pins, 0);

    let (status, _) = post_form(&app, "/admin/pins", &form, Some(&format!("http://{host}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // A later reader, another wording: the author's answer, marked as theirs, with its citation.
    let other = app.guest().await;
    let a = other.ask(None, "How can I bake sourdough bread at home?").await;
    let a = answer(&a);
    assert_eq!(a["pinned"], true, "{a}");
    assert_eq!(a["content"], mine);
    assert!(a["html"].as_str().unwrap().contains("<strong>kitchen robots</strong>"), "rendered like any answer: {a}");
    assert_eq!(a["citations"][0]["url"], link.as_str());
    assert_eq!(a["refused"], false);
    // Another question is answered from the book as before.
    let b = other.ask(None, "What is a digital twin?").await;
    assert_ne!(answer(&b)["pinned"], true, "{b}");

    // The pin's answer is the author's, not a gap; the page lists the pin.
    let html = app.get("/admin", Some(("admin", SECRET))).await.text().await.unwrap();
    assert_eq!(groups(&html).iter().map(|g| g.1).sum::<u32>(), 3, "{html}");
    assert!(html.contains("data-testid=\"pin\""));

    // Removed: the book answers (refuses) again.
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM pinned_answers").fetch_one(&pool).await.unwrap();
    let (status, _) = post_form(&app, &format!("/admin/pins/{id}/delete"), &[], Some(&format!("http://{host}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let c = other.ask(None, "How can I bake sourdough bread at home?").await;
    assert_eq!((answer(&c)["pinned"].as_bool().unwrap_or(false), answer(&c)["refused"].as_bool()), (false, Some(true)), "{c}");
}

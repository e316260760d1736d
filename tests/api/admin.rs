use crate::helpers::TestApp;
use bookchat::server::config::Secret;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

const SECRET: &str = "correct-horse-battery-staple";

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn without_a_configured_secret_there_is_no_admin_page(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool).await;
    assert_eq!(app.get("/admin", None).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/admin", Some(("admin", ""))).await.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_admin_page_needs_the_secret_and_shows_the_log(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| c.admin_secret = Some(Secret::new(SECRET))).await;
    let g = app.guest().await;
    let good = g.ask(None, "What is the zero moment point?").await;
    g.ask(None, "=cmd| ' /C calc'!A0 who won the world cup?").await;
    let id = good["answer"]["id"].as_i64().unwrap();
    g.call("chat/feedback", json!({"message_id": id, "rating": -1, "comment": "needs <b>more</b> detail"})).await;

    for path in ["/admin", "/admin/queries.csv"] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        assert_eq!(app.get(path, Some(("admin", "wrong-password-123"))).await.status(), StatusCode::UNAUTHORIZED);
    }

    let res = app.get("/admin", Some(("admin", SECRET))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("<b>2</b>questions, last 7 days"), "{html}");
    assert!(html.contains("who won the world cup"), "refused questions are listed");
    assert!(html.contains("needs &lt;b&gt;more&lt;/b&gt; detail"), "comments are escaped");
    assert!(html.contains("The Zero-Moment Point</a></td><td>1</td>"), "most-cited sections: {html}");
    assert!(html.contains("p50 answer time"));

    let res = app.get("/admin/queries.csv", Some(("admin", SECRET))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("created_at,question,answer,provider"));
    assert!(csv.contains("\"'=cmd| ' /C calc'!A0 who won the world cup?\""), "formulas neutralised: {csv}");
    assert!(csv.contains(",-1,\"needs <b>more</b> detail\""));
}

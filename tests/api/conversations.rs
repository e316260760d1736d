use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn rename_validates_and_persists(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let conv = id_of(&g.ask(None, "What is LiDAR?").await["conversation"]);

    let (s, b) = g.call("conversations/rename", json!({"conversation_id": conv, "title": "  Lasers  "})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["title"], "Lasers");
    // Each with the rule it broke, which the widget says in the reader's language.
    for (bad, rule) in [("", "title_empty"), ("   ", "title_empty"), ("two\nlines", "title_multiline"), (&"t".repeat(201), "title_too_long")] {
        let (s, b) = g.call("conversations/rename", json!({"conversation_id": conv, "title": bad})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(b["field"], "title");
        assert_eq!(b["rule"], rule, "{b}");
    }
    let (s, _) = g.call("conversations/rename", json!({"conversation_id": Uuid::new_v4(), "title": "x"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let list = g.list(None, 10, false).await;
    assert_eq!(list["items"][0]["title"], "Lasers");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn archive_moves_between_lists_and_a_new_message_reopens(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let conv = id_of(&g.ask(None, "What is an IMU?").await["conversation"]);
    let (s, b) = g.call("conversations/status", json!({"conversation_id": conv, "status": "archived"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "archived");
    assert_eq!(g.list(None, 10, false).await["items"], json!([]));
    assert_eq!(id_of(&g.list(None, 10, true).await["items"][0]), conv);

    let (s, _) = g.call("conversations/status", json!({"conversation_id": conv, "status": "bogus"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let r = g.ask(Some(&conv), "Why does a gyroscope drift?").await;
    assert_eq!(r["conversation"]["status"], "open");
    assert_eq!(id_of(&g.list(None, 10, false).await["items"][0]), conv);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn delete_removes_the_conversation_and_its_messages(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let keep = id_of(&g.ask(None, "What is a URDF file?").await["conversation"]);
    let gone = id_of(&g.ask(None, "What is a capture point?").await["conversation"]);

    let (s, b) = g.call("conversations/delete", json!({"conversation_id": gone})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = g.call("conversations/delete", json!({"conversation_id": gone})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = g.call("conversations/messages", json!({"conversation_id": gone})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 2, "only the kept conversation's messages remain");
    assert_eq!(id_of(&g.list(None, 10, false).await["items"][0]), keep);

    let (s, b) = g.call("conversations/delete-all", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!(1));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn search_matches_titles_and_messages_by_prefix(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let dds = id_of(&g.ask(None, "How does DDS discovery work?").await["conversation"]);
    g.ask(None, "What is a digital twin?").await;
    g.call("conversations/rename", json!({"conversation_id": dds, "title": "Middleware notes"})).await;

    let (s, hits) = g.call("conversations/search", json!({"query": "middlew"})).await;
    assert_eq!(s, StatusCode::OK, "{hits}");
    assert_eq!(hits[0]["conversation_id"], dds);
    assert!(hits[0]["message_id"].is_null(), "a title hit");

    let (_, hits) = g.call("conversations/search", json!({"query": "multicast"})).await;
    let hit = hits.as_array().unwrap().iter().find(|h| h["conversation_id"] == dds).expect("message hit");
    assert!(hit["message_id"].is_i64());
    assert!(hit["snippet"].as_str().unwrap().to_lowercase().contains("[[multicast]]"), "{hit}");

    let (_, hits) = g.call("conversations/search", json!({"query": "quaternion"})).await;
    assert_eq!(hits, json!([]));
    let (s, b) = g.call("conversations/search", json!({"query": "  "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["field"], "query");
    // Query syntax cannot be injected.
    let (s, _) = g.call("conversations/search", json!({"query": "a & | ! ( :* '"})).await;
    assert_eq!(s, StatusCode::OK);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn export_as_markdown_and_json(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let conv = id_of(&g.ask(None, "What is a Kalman filter used for?").await["conversation"]);
    g.ask(Some(&conv), "What is visual-inertial odometry?").await;

    let (s, md) = g.call("conversations/export", json!({"conversation_id": conv, "format": "markdown"})).await;
    assert_eq!(s, StatusCode::OK, "{md}");
    assert_eq!(md["mime"], "text/markdown");
    assert_eq!(md["filename"], "what-is-a-kalman-filter-used-for.md");
    let body = md["body"].as_str().unwrap();
    assert!(body.starts_with("# What is a Kalman filter used for?"));
    assert_eq!(body.matches("## You").count(), 2);
    assert_eq!(body.matches("## BookChat").count(), 2);
    assert!(body.contains("Sources:\n1. [Chapter 5: Sensors for Humanoid Robots"), "{body}");

    let (_, js) = g.call("conversations/export", json!({"conversation_id": conv, "format": "json"})).await;
    let data: serde_json::Value = serde_json::from_str(js["body"].as_str().unwrap()).unwrap();
    assert_eq!(data["messages"].as_array().unwrap().len(), 4);
    assert_eq!(data["conversation"]["id"], conv);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn an_export_past_its_bound_is_refused_plainly_never_built(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let conv = id_of(&g.ask(None, "What is a Kalman filter used for?").await["conversation"]);
    // 300 more answers at the longest an answer may be, with their HTML: more text than one
    // export file holds.
    let big = "x".repeat(30_000);
    sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content, status, html)
         SELECT gen_random_uuid(), $1::uuid, 'assistant', $2, 'complete', $2 FROM generate_series(1, 300)",
    )
    .bind(&conv)
    .bind(&big)
    .execute(&pool)
    .await
    .unwrap();
    for format in ["markdown", "json"] {
        let (s, e) = g.call("conversations/export", json!({"conversation_id": conv, "format": format})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{format}");
        assert!(e["message"].as_str().unwrap().contains("too long to export"), "{e}");
    }
    // Too many messages is refused before anything is read.
    sqlx::query("UPDATE conversations SET message_count = 5001 WHERE id = $1::uuid").bind(&conv).execute(&pool).await.unwrap();
    let (s, _) = g.call("conversations/export", json!({"conversation_id": conv, "format": "json"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

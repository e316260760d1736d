use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

async fn snapshot(pool: &PgPool) -> Value {
    let v: Option<Value> = sqlx::query_scalar(
        "SELECT jsonb_agg(to_jsonb(c) - 'tsv' ORDER BY id) FROM (SELECT id, title, status, message_count, last_message_at FROM conversations) c",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let m: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(pool).await.unwrap();
    json!({ "conversations": v, "messages": m })
}

/// Another reader trying every endpoint with the first reader's ids gets "not found" and
/// changes nothing.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn nobody_can_touch_another_readers_conversation(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let alice = app.guest().await;
    let r = alice.ask(None, "What is ROS 2?").await;
    let conv = id_of(&r["conversation"]);
    let question_client_id = r["question"]["client_id"].clone();
    let before = snapshot(&pool).await;

    let mallory = app.guest().await;
    let attempts = [
        ("conversations/messages", json!({"conversation_id": conv})),
        ("conversations/rename", json!({"conversation_id": conv, "title": "pwned"})),
        ("conversations/status", json!({"conversation_id": conv, "status": "archived"})),
        ("conversations/delete", json!({"conversation_id": conv})),
        ("conversations/export", json!({"conversation_id": conv, "format": "json"})),
        ("chat/send", json!({"conversation_id": conv, "client_id": Uuid::new_v4(), "content": "hi"})),
        // Replaying someone else's message id must not reveal their answer.
        ("chat/send", json!({"client_id": question_client_id, "content": "What is ROS 2?"})),
    ];
    for (endpoint, body) in attempts {
        let (s, b) = mallory.call(endpoint, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{endpoint}: {b}");
        assert_eq!(b["kind"], "not_found");
    }
    assert_eq!(mallory.list(None, 50, false).await["items"], json!([]));
    assert_eq!(mallory.list(None, 50, true).await["items"], json!([]));
    let (_, hits) = mallory.call("conversations/search", json!({"query": "ROS"})).await;
    assert_eq!(hits, json!([]));
    let (_, deleted) = mallory.call("conversations/delete-all", json!({})).await;
    assert_eq!(deleted, json!(0));

    assert_eq!(snapshot(&pool).await, before, "nothing changed");
    assert_eq!(id_of(&alice.list(None, 50, false).await["items"][0]), conv);
}

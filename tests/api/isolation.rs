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

    let answer_id = r["answer"]["id"].clone();
    let question_id = r["question"]["id"].clone();
    let mallory = app.guest().await;
    // A verified user is no more entitled than a guest.
    let user_id: uuid::Uuid = sqlx::query_scalar("INSERT INTO users (external_id) VALUES ('mallory') RETURNING id").fetch_one(&pool).await.unwrap();
    let mallory_user = app.guest().await;
    sqlx::query("UPDATE chat_sessions SET user_id = $1 WHERE id = $2").bind(user_id).bind(mallory_user.session_id).execute(&pool).await.unwrap();
    let before = snapshot(&pool).await;
    let attempts = [
        ("chat/stream", json!({"message_id": answer_id})),
        ("chat/stop", json!({"message_id": answer_id})),
        ("chat/regenerate", json!({"message_id": answer_id})),
        ("chat/feedback", json!({"message_id": answer_id, "rating": -1})),
        ("chat/feedback", json!({"message_id": question_id, "rating": 1})),
        ("conversations/messages", json!({"conversation_id": conv})),
        ("conversations/rename", json!({"conversation_id": conv, "title": "pwned"})),
        ("conversations/status", json!({"conversation_id": conv, "status": "archived"})),
        ("conversations/delete", json!({"conversation_id": conv})),
        ("conversations/export", json!({"conversation_id": conv, "format": "json"})),
        ("chat/send", json!({"conversation_id": conv, "client_id": Uuid::new_v4(), "content": "hi"})),
        // Replaying someone else's message id must not reveal their answer.
        ("chat/send", json!({"client_id": question_client_id, "content": "What is ROS 2?"})),
    ];
    for reader in [&mallory, &mallory_user] {
        for (endpoint, body) in attempts.iter() {
            let (s, b) = reader.call(endpoint, body.clone()).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{endpoint}: {b}");
            assert_eq!(b["kind"], "not_found");
        }
        assert_eq!(reader.list(None, 50, false).await["items"], json!([]));
        assert_eq!(reader.list(None, 50, true).await["items"], json!([]));
        let (_, hits) = reader.call("conversations/search", json!({"query": "ROS"})).await;
        assert_eq!(hits, json!([]));
        let (_, deleted) = reader.call("conversations/delete-all", json!({})).await;
        assert_eq!(deleted, json!(0));
        let (s, _) = reader.call("me/delete", json!({})).await;
        assert_eq!(s, StatusCode::OK, "deleting one's own data never touches another's");
    }

    assert_eq!(snapshot(&pool).await, before, "nothing changed");
    assert_eq!(id_of(&alice.list(None, 50, false).await["items"][0]), conv);
}

use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn first_question_creates_a_titled_conversation_with_a_cited_answer(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let guest = app.guest().await;
    let r = guest.ask(None, "What is the Zero-Moment Point in walking robots?").await;

    assert_eq!(r["conversation"]["title"], "What is the Zero-Moment Point in walking robots?");
    assert_eq!(r["conversation"]["message_count"], 2);
    assert_eq!(r["conversation"]["status"], "open");
    assert_eq!(r["question"]["role"], "user");
    assert_eq!(r["answer"]["role"], "assistant");
    assert_eq!(r["answer"]["status"], "complete");
    assert!(r["answer"]["content"].as_str().unwrap().contains("horizontal moments"), "{}", r["answer"]["content"]);
    let cite = &r["answer"]["citations"][0];
    assert_eq!(cite["section"], "The Zero-Moment Point");
    let url = cite["url"].as_str().unwrap_or("");
    assert!(url.starts_with("https://book.example/docs/locomotion/bipedal-walking#the-zero-moment-point:~:text="), "{url}");
    assert!(r["answer"]["html"].as_str().unwrap().contains("<p>"));

    // Citations are stored in the message metadata, and the counters are true.
    let meta: Value = sqlx::query_scalar("SELECT metadata FROM messages WHERE role = 'assistant'").fetch_one(&pool).await.unwrap();
    assert_eq!(meta["citations"][0]["section"], "The Zero-Moment Point");
    assert_eq!(meta["provider"], "extractive");
    let (count, last, newest): (i32, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT c.message_count, c.last_message_at, (SELECT max(created_at) FROM messages) FROM conversations c",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(count, 2);
    assert_eq!(last, newest);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_follow_up_goes_into_the_same_conversation(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let guest = app.guest().await;
    let first = guest.ask(None, "How does DDS discovery work?").await;
    let conv = id_of(&first["conversation"]);
    let second = guest.ask(Some(&conv), "What are QoS policies?").await;
    assert_eq!(id_of(&second["conversation"]), conv);
    assert_eq!(second["conversation"]["message_count"], 4);
    assert_eq!(second["conversation"]["title"], "How does DDS discovery work?");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 1);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn questions_the_book_does_not_cover_are_refused_plainly(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let guest = app.guest().await;
    let r = guest.ask(None, "Which team won the football world cup in 1998?").await;
    let content = r["answer"]["content"].as_str().unwrap();
    assert!(content.contains("couldn't find"), "{content}");
    assert_eq!(r["answer"]["citations"], json!([]));
}

async fn assert_send_rejected(app: &TestApp, token: &str, body: Value, status: StatusCode, kind: &str) -> Value {
    let (s, b) = app.call(Some(token), "chat/send", body.clone()).await;
    assert_eq!(s, status, "{body} → {b}");
    assert_eq!(b["kind"], kind, "{b}");
    b
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn invalid_sends_get_precise_errors_and_store_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let guest = app.guest().await;
    let t = guest.token.as_str();
    let id = || Uuid::new_v4().to_string();

    for content in ["", "   ", "\n\t "] {
        let b = assert_send_rejected(&app, t, json!({"client_id": id(), "content": content}), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(b["field"], "content");
        assert_eq!(b["rule"], "question_empty");
    }
    let b = assert_send_rejected(&app, t, json!({"client_id": id(), "content": "x".repeat(4001)}), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(b["message"].as_str().unwrap().contains("4000"));
    assert_eq!(b["rule"], "question_too_long");
    let b = assert_send_rejected(&app, t, json!({"client_id": id(), "content": "null\u{0}byte"}), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(b["rule"], "question_control");
    // A program's mistake, not a reader's: no rule, only the English sentence.
    let b = assert_send_rejected(&app, t, json!({"client_id": Uuid::nil(), "content": "hello there"}), StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(b.get("rule").is_none(), "{b}");
    assert_send_rejected(&app, t, json!({"client_id": "not-a-uuid", "content": "hello"}), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_send_rejected(&app, t, json!({"content": "hello"}), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_send_rejected(&app, t, json!({"client_id": id(), "content": 42}), StatusCode::BAD_REQUEST, "bad_request").await;
    assert_send_rejected(
        &app,
        t,
        json!({"conversation_id": "123", "client_id": id(), "content": "hello"}),
        StatusCode::BAD_REQUEST,
        "bad_request",
    )
    .await;
    assert_send_rejected(
        &app,
        t,
        json!({"conversation_id": Uuid::new_v4(), "client_id": id(), "content": "hello"}),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let (s, _) = app.raw(Some(t), "chat/send", "application/json", b"{not json".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app.raw(Some(t), "chat/send", "application/json", vec![0xff, 0xfe, b'{', b'}']).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let huge = format!(r#"{{"client_id":"{}","content":"{}"}}"#, id(), "a".repeat(200_000));
    let (s, _) = app.raw(Some(t), "chat/send", "application/json", huge.into_bytes()).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);

    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0, "no rejected send stored anything");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn error_bodies_carry_no_internals(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let guest = app.guest().await;
    let (_, b) = guest.call("chat/send", json!({"client_id": "zzz", "content": "x"})).await;
    let text = b.to_string().to_lowercase();
    for leak in ["sqlx", "postgres", "select ", "insert ", "panicked", "src/"] {
        assert!(!text.contains(leak), "{text}");
    }
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_retried_send_is_stored_once_and_returns_the_same_result(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let guest = app.guest().await;
    let body = json!({"client_id": Uuid::new_v4(), "content": "What is sensor fusion?"});
    let (s1, r1) = guest.call("chat/send", body.clone()).await;
    let (s2, r2) = guest.call("chat/send", body.clone()).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(r1["question"]["id"], r2["question"]["id"]);
    assert_eq!(r1["answer"]["id"], r2["answer"]["id"]);
    assert_eq!(r2["conversation"]["message_count"], 2);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 2);

    // Reusing the id for different text is an error, not a silent overwrite.
    let (s, b) = guest.call("chat/send", json!({"client_id": body["client_id"], "content": "Something else"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "client_id");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn concurrent_duplicates_of_one_send_store_one_question_and_one_answer(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let guest = app.guest().await;
    let first = guest.ask(None, "What is a digital twin?").await;
    let conv = id_of(&first["conversation"]);
    let body = json!({"conversation_id": conv, "client_id": Uuid::new_v4(), "content": "What is the sim-to-real gap?"});
    let calls = (0..6).map(|_| guest.call("chat/send", body.clone()));
    let results = futures::future::join_all(calls).await;
    let answer_ids: std::collections::HashSet<String> = results
        .iter()
        .map(|(s, r)| {
            assert_eq!(*s, StatusCode::OK, "{r}");
            r["answer"]["id"].to_string()
        })
        .collect();
    assert_eq!(answer_ids.len(), 1, "every duplicate sees the same answer");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 4);
    let count: i32 = sqlx::query_scalar("SELECT message_count FROM conversations").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 4);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_selected_passage_and_page_travel_with_the_question(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let guest = app.guest().await;
    let (s, r) = guest
        .call(
            "chat/send",
            json!({
                "client_id": Uuid::new_v4(),
                "content": "What does this mean?",
                "context": { "url": "https://book.example/docs/ros2/ros2-architecture", "title": "ROS 2", "selection": "  best effort  " }
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["question"]["quote"], "best effort");
    let (s, b) = guest
        .call(
            "chat/send",
            json!({ "client_id": Uuid::new_v4(), "content": "Why?", "context": { "selection": "x".repeat(2001) } }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(b["field"], "selection");
}

use crate::helpers::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_new_guest_gets_a_token_once_and_resumes_with_it(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool.clone()).await;
    let guest = app.guest().await;
    assert_eq!(guest.token.len(), 43);

    let (status, body) = app.call(Some(&guest.token), "session/start", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["session_id"], guest.session_id.to_string());
    assert!(body["token"].is_null(), "a resumed session never re-sends its secret");

    // Only the hash is stored: the secret itself appears nowhere in the row.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM chat_sessions WHERE id = $1")
        .bind(guest.session_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, guest.token.as_bytes());
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn guest_sessions_expire_24_hours_after_last_activity(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool.clone()).await;
    let guest = app.guest().await;
    let hours: f64 = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM expires_at - last_activity_at)::float8 / 3600 FROM chat_sessions WHERE id = $1",
    )
    .bind(guest.session_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!((hours - 24.0).abs() < 0.01, "{hours}");

    // Once expired, the token no longer works and a fresh session is issued instead.
    sqlx::query("UPDATE chat_sessions SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(guest.session_id)
        .execute(&pool)
        .await
        .unwrap();
    let (status, body) = app.call(Some(&guest.token), "conversations/list", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (_, body) = app.call(Some(&guest.token), "session/start", json!({})).await;
    assert!(body["token"].is_string());
    assert_ne!(body["session_id"], guest.session_id.to_string());
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn calls_without_a_valid_session_are_unauthorized(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool).await;
    for token in [None, Some("nonsense"), Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
        let (status, body) = app.call(token, "conversations/list", json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body, json!({ "kind": "unauthorized" }));
    }
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn health_and_readiness(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool).await;
    let h = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(h.status(), StatusCode::OK);
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "ready");
}

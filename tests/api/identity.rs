use crate::helpers::{id_of, TestApp};
use bookchat::server::config::Secret;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;
use sqlx::PgPool;

const SECRET: &str = "host-identity-secret-for-tests";

fn hash(user: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn app(pool: PgPool) -> TestApp {
    TestApp::spawn_with(pool, true, |c| c.identity_secret = Some(Secret::new(SECRET))).await
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn identify_moves_the_guests_history_to_the_user_on_every_device(pool: PgPool) {
    let app = app(pool.clone()).await;
    let laptop = app.guest().await;
    laptop.ask(None, "What is the zero moment point?").await;
    laptop.ask(None, "What is an IMU?").await;

    let (s, info) = laptop
        .call("session/identify", json!({"user_id": "reader-7", "user_hash": hash("reader-7"), "email": "ada@example.org", "name": "Ada"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert!(info["token"].is_null(), "the guest session becomes the user's");
    assert_eq!(info["user"], json!({"external_id": "reader-7", "email": "ada@example.org", "name": "Ada"}));
    assert_eq!(laptop.list(None, 10, false).await["items"].as_array().unwrap().len(), 2);
    let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations WHERE user_id IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(owned, 2);

    // Identifying again is a no-op; a second device sees the same history.
    let (s, _) = laptop.call("session/identify", json!({"user_id": "reader-7", "user_hash": hash("reader-7")})).await;
    assert_eq!(s, StatusCode::OK);
    let phone = app.guest().await;
    phone.ask(None, "What is LiDAR?").await;
    let (s, _) = phone.call("session/identify", json!({"user_id": "reader-7", "user_hash": hash("reader-7")})).await;
    assert_eq!(s, StatusCode::OK);
    let items = phone.list(None, 10, false).await["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "nothing lost, nothing duplicated");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 3);
    // The laptop sees the phone's conversation too, and the session reports the user.
    assert_eq!(laptop.list(None, 10, false).await["items"].as_array().unwrap().len(), 3);
    let (_, me) = laptop.call("session/start", json!({})).await;
    assert_eq!(me["user"]["external_id"], "reader-7");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(users, 1);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn forged_hashes_are_rejected_and_change_nothing(pool: PgPool) {
    let app = app(pool.clone()).await;
    let g = app.guest().await;
    g.ask(None, "What is an IMU?").await;
    for forged in [hash("someone-else"), "00".repeat(32), "not-hex".into(), String::new()] {
        let (s, b) = g.call("session/identify", json!({"user_id": "reader-7", "user_hash": forged})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert_eq!(b["kind"], "forbidden");
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&pool).await.unwrap();
    assert_eq!(users, 0);
    let (_, me) = g.call("session/start", json!({})).await;
    assert!(me["user"].is_null());
    let (s, _) = g.call("session/identify", json!({"user_id": "", "user_hash": hash("")})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn identify_is_refused_when_not_configured(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let (s, b) = g.call("session/identify", json!({"user_id": "u", "user_hash": hash("u")})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn switching_users_on_one_browser_gives_a_fresh_session(pool: PgPool) {
    let app = app(pool).await;
    let g = app.guest().await;
    g.call("session/identify", json!({"user_id": "alice", "user_hash": hash("alice")})).await;
    let conv = id_of(&g.ask(None, "What is a digital twin?").await["conversation"]);
    let (s, info) = g.call("session/identify", json!({"user_id": "bob", "user_hash": hash("bob")})).await;
    assert_eq!(s, StatusCode::OK);
    let bob_token = info["token"].as_str().expect("a new session for the new user").to_owned();
    let (s, _) = g.call("conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the previous user's session has ended");
    let (s, list) = app.call(Some(&bob_token), "conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"], json!([]), "bob does not see alice's history");
    let (s, _) = app.call(Some(&bob_token), "conversations/messages", json!({"conversation_id": conv})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn ending_a_session_revokes_its_token(pool: PgPool) {
    let app = app(pool).await;
    let g = app.guest().await;
    let (s, _) = g.call("session/end", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = g.call("conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, fresh) = g.call("session/start", json!({})).await;
    assert!(fresh["token"].is_string(), "a fresh guest session starts");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn only_allowed_origins_may_frame_the_widget(pool: PgPool) {
    let app = app(pool).await;
    for path in ["/widget", "/conversations"] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'self' https://book.example"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers().get("x-frame-options").is_none());
    }
    let host = app.get("/docs/ros2/ros2-architecture", None).await;
    let csp = host.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    assert_eq!(host.headers()["x-frame-options"], "SAMEORIGIN");
}

use crate::helpers::{id_of, TestApp};
use bookchat::server::config::Secret;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Sha256;
use sqlx::PgPool;

const SECRET: &str = "host-identity-secret-for-tests-0123456789";

/// The legacy user hash, as a host that turned the scheme on computes it: with the key
/// BookChat derives from the secret.
fn hash(user: &str) -> String {
    let key = bookchat::server::chat::identity::legacy_hash_key(SECRET);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The app with identity on, the legacy user hash accepted (most tests here use it).
async fn app(pool: PgPool) -> TestApp {
    TestApp::spawn_with(pool, true, |c| {
        c.identity_secret = Some(Secret::new(SECRET));
        c.identity_legacy_hash = true;
    })
    .await
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn identify_moves_the_guests_history_to_the_user_on_every_device(pool: PgPool) {
    let app = app(pool.clone()).await;
    let mut laptop = app.guest().await;
    laptop.ask(None, "What is the zero moment point?").await;
    laptop.ask(None, "What is an IMU?").await;

    let (s, info) = laptop
        .identify(json!({"user_id": "reader-7", "user_hash": hash("reader-7"), "email": "ada@example.org", "name": "Ada"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert!(info["token"].is_string(), "the user's session has its own token");
    assert_eq!(info["user"], json!({"external_id": "reader-7", "email": "ada@example.org", "name": "Ada"}));
    assert_eq!(laptop.list(None, 10, false).await["items"].as_array().unwrap().len(), 2);
    let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations WHERE user_id IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(owned, 2);

    // Identifying again is a no-op; a second device sees the same history.
    let (s, again) = laptop.identify(json!({"user_id": "reader-7", "user_hash": hash("reader-7")})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(again["token"].is_null(), "the same user again: the session is kept");
    let mut phone = app.guest().await;
    phone.ask(None, "What is LiDAR?").await;
    let (s, _) = phone.identify(json!({"user_id": "reader-7", "user_hash": hash("reader-7")})).await;
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
    let mut g = app.guest().await;
    g.identify(json!({"user_id": "alice", "user_hash": hash("alice")})).await;
    let conv = id_of(&g.ask(None, "What is a digital twin?").await["conversation"]);
    let (s, info) = g.call("session/identify", json!({"user_id": "bob", "user_hash": hash("bob")})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["switched"], true);
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
        assert!(csp.contains("script-src 'self' 'nonce-"), "{csp}");
        let script_src = csp.split(';').find(|d| d.trim_start().starts_with("script-src")).unwrap().to_owned();
        assert!(!script_src.contains("unsafe-inline"), "{csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert!(res.headers().get("x-frame-options").is_none());
        assert!(res.headers().get("x-bookchat-csp-nonce").is_none(), "the nonce travels only in the policy");
        // Every inline script of the page carries this response's nonce.
        let nonce = script_src.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_owned();
        let html = res.text().await.unwrap();
        let inline: Vec<&str> = html.split("<script").skip(1).filter(|s| !s.split('>').next().unwrap_or("").contains("src=")).collect();
        assert!(!inline.is_empty());
        for tag in inline {
            assert!(tag.split('>').next().unwrap().contains(&format!("nonce=\"{nonce}\"")), "{}", &tag[..tag.len().min(120)]);
        }
    }
    let host = app.get("/docs/ros2/ros2-architecture", None).await;
    let csp = host.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline'; style") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    assert_eq!(host.headers()["x-frame-options"], "SAMEORIGIN");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_guest_token_recorded_before_identify_stops_working_after_it(pool: PgPool) {
    let app = app(pool).await;
    let mut laptop = app.guest().await;
    let recorded = laptop.token.clone();
    laptop.ask(None, "What is an IMU?").await;
    let (s, info) = laptop.identify(json!({"user_id": "reader-9", "user_hash": hash("reader-9")})).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_ne!(laptop.token, recorded, "the secret rotates when the session becomes a user's");
    // The user's history grows on another device...
    let mut phone = app.guest().await;
    phone.identify(json!({"user_id": "reader-9", "user_hash": hash("reader-9")})).await;
    phone.ask(None, "What is LiDAR?").await;
    // ...and the recorded guest token sees none of it.
    for (endpoint, body) in [("conversations/list", json!({})), ("chat/send", json!({"client_id": uuid::Uuid::new_v4(), "content": "hi"}))] {
        let (s, b) = app.call(Some(&recorded), endpoint, body).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{endpoint}: {b}");
    }
    assert_eq!(laptop.list(None, 10, false).await["items"].as_array().unwrap().len(), 2);
}

fn jwt(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_signed_token_identifies_until_it_expires(pool: PgPool) {
    let app = app(pool).await;
    let mut g = app.guest().await;
    let expired = jwt(json!({"sub": "reader-5", "exp": now() - 3600}), SECRET);
    let (s, b) = g.identify(json!({"user_token": expired})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let forged = jwt(json!({"sub": "reader-5", "exp": now() + 600}), "another-secret-of-the-same-length-00000000");
    let (s, _) = g.identify(json!({"user_token": forged})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let good = jwt(json!({"sub": "reader-5", "exp": now() + 600, "name": "Grace"}), SECRET);
    let (s, info) = g.identify(json!({"user_token": good})).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["user"]["external_id"], "reader-5");
    assert_eq!(info["user"]["name"], "Grace");
    let (s, b) = g.identify(json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a credential is required: {b}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_legacy_hash_is_off_unless_turned_on_and_never_keyed_by_the_secret(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| c.identity_secret = Some(Secret::new(SECRET))).await;
    let mut g = app.guest().await;
    let (s, b) = g.identify(json!({"user_id": "reader-1", "user_hash": hash("reader-1")})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "off by default: {b}");
    assert!(b["message"].as_str().unwrap().contains("userToken"), "{b}");
    // A token still works.
    let (s, _) = g.identify(json!({"user_token": jwt(json!({"sub": "reader-1", "exp": now() + 600}), SECRET)})).await;
    assert_eq!(s, StatusCode::OK);
    // Turned on, a hash keyed by the secret itself (what a token's signature is) is refused.
    let on = TestApp::spawn_with(app.state.pool.clone(), false, |c| {
        c.identity_secret = Some(Secret::new(SECRET));
        c.identity_legacy_hash = true;
    })
    .await;
    let mut g = on.guest().await;
    let mut raw = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    raw.update(b"reader-2");
    let (s, _) = g.identify(json!({"user_id": "reader-2", "user_hash": hex::encode(raw.finalize().into_bytes())})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = g.identify(json!({"user_id": "reader-2", "user_hash": hash("reader-2")})).await;
    assert_eq!(s, StatusCode::OK);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn tokens_are_checked_for_lifetime_audience_and_their_signed_claims_win(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| {
        c.identity_secret = Some(Secret::new(SECRET));
        c.identity_audience = Some("bookchat".into());
        c.identity_max_token_secs = 3_600;
    })
    .await;
    let mut g = app.guest().await;
    let forever = jwt(json!({"sub": "r", "aud": "bookchat", "exp": 4_102_444_800u64}), SECRET);
    assert_eq!(g.identify(json!({"user_token": forever})).await.0, StatusCode::FORBIDDEN, "a token until 2100");
    let no_aud = jwt(json!({"sub": "r", "exp": now() + 600}), SECRET);
    assert_eq!(g.identify(json!({"user_token": no_aud})).await.0, StatusCode::FORBIDDEN, "no audience");
    let padded = jwt(json!({"sub": "r ", "aud": "bookchat", "exp": now() + 600}), SECRET);
    assert_eq!(g.identify(json!({"user_token": padded})).await.0, StatusCode::FORBIDDEN, "a sub that is not canonical");
    let good = jwt(json!({"sub": "r", "aud": "bookchat", "exp": now() + 600, "email": "signed@example.org", "name": "Signed"}), SECRET);
    let (s, info) = g.identify(json!({"user_token": good, "email": "forged@example.org", "name": "Forged"})).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["user"]["email"], "signed@example.org", "the signed claim wins: {info}");
    assert_eq!(info["user"]["name"], "Signed");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn questions_racing_identify_end_up_with_the_user(pool: PgPool) {
    let app = app(pool.clone()).await;
    for round in 0..5 {
        let g = app.guest().await;
        let token = g.token.clone();
        let sends = (0..6).map(|i| {
            let (app, token) = (&app, token.clone());
            async move {
                let body = json!({"client_id": uuid::Uuid::new_v4(), "content": format!("What is an IMU? {round}-{i}"), "wait": false});
                app.call(Some(&token), "chat/send", body).await.0
            }
        });
        let user = format!("racer-{round}");
        let identify = app.call(Some(&token), "session/identify", json!({"user_id": user, "user_hash": hash(&user)}));
        let (statuses, (s, _)) = tokio::join!(futures::future::join_all(sends), identify);
        assert_eq!(s, StatusCode::OK);
        assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
        // Every question that was stored is in a conversation of the user (a send refused as
        // unauthorized may still have been stored just before the hand-over: the client's
        // retry with the new token finds it by client id); none is stranded in the guest
        // session that identify ended.
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE role = 'user' AND content LIKE $1")
            .bind(format!("What is an IMU? {round}-%"))
            .fetch_one(&pool)
            .await
            .unwrap();
        let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count() as i64;
        assert!(stored >= accepted, "every accepted question is stored");
        let of_user: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.external_id = $1",
        )
        .bind(&user)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(of_user, stored, "round {round}: {statuses:?}");
    }
    let stranded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM conversations c JOIN chat_sessions s ON s.id = c.session_id WHERE c.user_id IS NULL AND s.status <> 'active'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stranded, 0);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn an_email_hint_cannot_squat_another_readers_address(pool: PgPool) {
    let app = app(pool.clone()).await;
    let mut mallory = app.guest().await;
    let (s, _) = mallory.identify(json!({"user_id": "mallory", "user_hash": hash("mallory"), "email": "ada@example.org"})).await;
    assert_eq!(s, StatusCode::OK);
    let mut ada = app.guest().await;
    let (s, info) = ada.identify(json!({"user_id": "ada", "user_hash": hash("ada"), "email": "ada@example.org"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["user"]["email"], "ada@example.org", "the real owner keeps her address: {info}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn erasing_my_data_ends_the_token_that_asked(pool: PgPool) {
    let app = app(pool).await;
    let mut g = app.guest().await;
    g.identify(json!({"user_id": "leaver", "user_hash": hash("leaver")})).await;
    g.ask(None, "What is an IMU?").await;
    let (s, _) = g.call("me/delete", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = g.call("conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, fresh) = g.call("session/start", json!({})).await;
    assert!(fresh["token"].is_string() && fresh["user"].is_null(), "a fresh guest, nothing of the user's");
}

use crate::fake_llm::FakeLlm;
use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn questions_are_rate_limited_per_session_with_retry_after(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| c.limits.questions_per_session = 3).await;
    let g = app.guest().await;
    let first = json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"});
    assert_eq!(g.call("chat/send", first.clone()).await.0, StatusCode::OK);
    // burst is a third of the minute's allowance: 1
    let res = app
        .http
        .post(format!("{}/api/chat/send", app.base))
        .header("X-BookChat-Session", &g.token)
        .json(&json!({"client_id": Uuid::new_v4(), "content": "What is LiDAR?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "rate_limited");
    // Re-sending an already stored question is free (idempotent retries are never throttled).
    assert_eq!(g.call("chat/send", first).await.0, StatusCode::OK);
    // Another reader is unaffected.
    assert_eq!(app.guest().await.call("chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is LiDAR?"})).await.0, StatusCode::OK);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn api_calls_are_rate_limited_per_ip(pool: PgPool) {
    let app = TestApp::spawn_with(pool, false, |c| c.limits.per_ip = 9).await; // burst 3
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.call(None, "session/start", json!({})).await.0);
    }
    assert_eq!(&statuses[..3], &[StatusCode::OK; 3]);
    assert!(statuses[3..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    // Pages and health checks are not API calls.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn retention_deletes_expired_guests_old_conversations_and_anonymises_the_log(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let expired = app.guest().await;
    expired.ask(None, "What is an IMU?").await;
    let active = app.guest().await;
    let keep = id_of(&active.ask(None, "What is LiDAR?").await["conversation"]);
    sqlx::query("UPDATE chat_sessions SET expires_at = now() - interval '1 minute', created_at = now() - interval '2 days', last_activity_at = now() - interval '25 hours' WHERE id = $1")
        .bind(expired.session_id)
        .execute(&pool)
        .await
        .unwrap();
    // An old query-log row of the active reader.
    sqlx::query("UPDATE rag_queries SET created_at = now() - interval '100 days' WHERE conversation_id = $1::uuid")
        .bind(&keep)
        .execute(&pool)
        .await
        .unwrap();

    let cfg = bookchat::server::config::RetentionConfig { conversation_days: 30, log_anonymize_days: 90, interval_secs: 0 };
    let r = bookchat::server::db::privacy::run(&pool, &pool, &cfg).await.unwrap();
    assert_eq!((r.expired_guest_sessions, r.deleted_guest_conversations, r.anonymised_log_rows), (1, 1, 1));
    assert_eq!(count(&pool, &format!("SELECT count(*) FROM chat_sessions WHERE id = '{}'", expired.session_id)).await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM conversations").await, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 2);
    assert_eq!(count(&pool, "SELECT count(*) FROM rag_queries").await, 1);
    let q: (String, Option<Uuid>) = sqlx::query_as("SELECT question, session_id FROM rag_queries").fetch_one(&pool).await.unwrap();
    assert_eq!(q, ("(anonymised)".to_owned(), None));
    assert_eq!(expired.call("conversations/list", json!({})).await.0, StatusCode::UNAUTHORIZED);
    // A second pass finds nothing more to do.
    let again = bookchat::server::db::privacy::run(&pool, &pool, &cfg).await.unwrap();
    assert_eq!(again, bookchat::server::db::privacy::RetentionReport::default());
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn users_conversations_expire_after_the_retention_period(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let old = id_of(&g.ask(None, "What is an IMU?").await["conversation"]);
    g.ask(None, "What is LiDAR?").await;
    let user: Uuid = sqlx::query_scalar("INSERT INTO users (external_id) VALUES ('u1') RETURNING id").fetch_one(&pool).await.unwrap();
    sqlx::query("UPDATE conversations SET user_id = $1").bind(user).execute(&pool).await.unwrap();
    sqlx::query("UPDATE conversations SET created_at = now() - interval '40 days', last_message_at = now() - interval '31 days' WHERE id = $1::uuid")
        .bind(&old)
        .execute(&pool)
        .await
        .unwrap();
    let cfg = bookchat::server::config::RetentionConfig { conversation_days: 30, log_anonymize_days: 0, interval_secs: 0 };
    let r = bookchat::server::db::privacy::run(&pool, &pool, &cfg).await.unwrap();
    assert_eq!(r.deleted_user_conversations, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM conversations").await, 1);
}

async fn nothing_left(pool: &PgPool, sessions: &[Uuid], user: Option<&str>) {
    for s in sessions {
        for sql in [
            "SELECT count(*) FROM chat_sessions WHERE id = $1",
            "SELECT count(*) FROM conversations WHERE session_id = $1",
            "SELECT count(*) FROM rag_queries WHERE session_id = $1",
        ] {
            let n: i64 = sqlx::query_scalar(sql).bind(s).fetch_one(pool).await.unwrap();
            assert_eq!(n, 0, "{sql}");
        }
    }
    if let Some(u) = user {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE external_id = $1").bind(u).fetch_one(pool).await.unwrap();
        assert_eq!(n, 0);
    }
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_reader_deletes_all_their_data_in_one_call(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let other = app.guest().await;
    other.ask(None, "What is a digital twin?").await;
    let g = app.guest().await;
    let r = g.ask(None, "What is an IMU?").await;
    g.call("chat/feedback", json!({"message_id": r["answer"]["id"], "rating": 1})).await;
    g.ask(None, "What is LiDAR?").await;

    let (s, n) = g.call("me/delete", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{n}");
    assert_eq!(n, json!(2));
    nothing_left(&pool, &[g.session_id], None).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM message_feedback").await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM conversations").await, 1, "other readers keep theirs");
    assert_eq!(count(&pool, "SELECT count(*) FROM rag_queries").await, 1);
    assert_eq!(g.call("conversations/list", json!({})).await.0, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_user_and_all_their_devices_can_be_erased(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let user: Uuid = sqlx::query_scalar("INSERT INTO users (external_id, email) VALUES ('gdpr-1', 'x@example.org') RETURNING id")
        .fetch_one(&pool)
        .await
        .unwrap();
    let laptop = app.guest().await;
    let phone = app.guest().await;
    for g in [&laptop, &phone] {
        g.ask(None, "What is an IMU?").await;
        sqlx::query("UPDATE chat_sessions SET user_id = $1 WHERE id = $2").bind(user).bind(g.session_id).execute(&pool).await.unwrap();
        sqlx::query("UPDATE conversations SET user_id = $1 WHERE session_id = $2").bind(user).bind(g.session_id).execute(&pool).await.unwrap();
    }
    let bystander = app.guest().await;
    bystander.ask(None, "What is LiDAR?").await;

    let e = bookchat::server::db::privacy::erase_external_user(&pool, "gdpr-1").await.unwrap().unwrap();
    assert_eq!((e.conversations, e.sessions, e.log_rows, e.user), (2, 2, 2, true));
    nothing_left(&pool, &[laptop.session_id, phone.session_id], Some("gdpr-1")).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM messages").await, 2, "only the bystander's messages remain");
    assert!(bookchat::server::db::privacy::erase_external_user(&pool, "gdpr-1").await.unwrap().is_none());
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn shutdown_persists_answers_in_flight(pool: PgPool) {
    let (_fake, url) = FakeLlm::start().await;
    let app = TestApp::spawn_with(pool.clone(), true, |c| {
        c.llm.base_url = Some(url);
        c.llm.timeout_secs = 5;
    })
    .await;
    let g = app.guest().await;
    let r = g.ask_streaming(None, "What is the zero moment point? [slow]").await;
    let id = r["answer"]["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    app.state.hub.shutdown(Duration::from_millis(200)).await;
    let (status, content, meta): (String, String, Value) =
        sqlx::query_as("SELECT status, content, metadata FROM messages WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(status, "failed");
    assert!(!content.is_empty(), "the partial answer was kept");
    assert!(meta["error"].as_str().unwrap().contains("restarted"), "{meta}");
    // New questions are refused while shutting down, with a clear message.
    let (s, b) = g.call("chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"})).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_database_outage_fails_fast_with_a_clear_error(pool: PgPool) {
    // A pool pointing at a port where no database listens: every call must fail quickly with
    // "temporarily unavailable", never hang or panic.
    let good = TestApp::spawn(pool.clone()).await;
    let token = good.guest().await.token;
    let dead = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://postgres@127.0.0.1:1/nothing")
        .unwrap();
    let mut state = good.state.clone();
    state.pool = dead.clone();
    state.held = bookchat::server::db::held::HeldConnections::half_of(&dead);
    state.held_reads = state.held.clone();
    state.read_pool = dead;
    let app = TestApp::serve(state).await;
    let started = Instant::now();
    for (endpoint, body) in [
        ("session/start", json!({})),
        ("conversations/list", json!({})),
        ("chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"})),
    ] {
        let (s, b) = app.call(Some(&token), endpoint, body).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{endpoint}: {b}");
        assert_eq!(b["kind"], "unavailable");
        assert!(b["message"].as_str().unwrap().contains("temporarily unavailable"));
    }
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

/// A small deterministic generator of hostile JSON.
struct Garbage(u64);

impl Garbage {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
    fn string(&mut self) -> String {
        let pieces = ["", " ", "\u{0}", "\u{7}", "\u{202e}", "é", "😀", "<script>alert(1)</script>", "' OR 1=1 --", "%00", "\\", "\"", "\n", "a"];
        let n = (self.next() % 12) as usize;
        let mut s: String = (0..n).map(|_| *self.pick(&pieces)).collect();
        if self.next() % 10 == 0 {
            s.push_str(&"x".repeat((self.next() % 20_000) as usize));
        }
        s
    }
    fn value(&mut self, depth: u32) -> Value {
        match self.next() % if depth > 2 { 6 } else { 8 } {
            0 => Value::Null,
            1 => json!(self.next() % 3 == 0),
            2 => json!((self.next() as i64).wrapping_sub(i64::MAX / 2)),
            3 => json!(f64::from_bits(self.next() % (1u64 << 62))),
            4 => json!(Uuid::from_u128(self.next() as u128)),
            5 => json!(self.string()),
            6 => Value::Array((0..self.next() % 4).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let keys = ["client_id", "content", "conversation_id", "message_id", "title", "status", "format", "query",
                    "cursor", "limit", "before", "rating", "comment", "context", "selection", "url", "wait", "user_id", "user_hash", "x"];
                let mut m = serde_json::Map::new();
                for _ in 0..self.next() % 6 {
                    m.insert((*self.pick(&keys)).to_owned(), self.value(depth + 1));
                }
                Value::Object(m)
            }
        }
    }
}

/// Thousands of generated malformed bodies against every endpoint: always a 2xx/4xx, never a
/// 5xx or a dead server.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn generated_garbage_never_causes_a_server_error(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let real = g.ask(None, "What is an IMU?").await;
    let endpoints = [
        "session/start", "session/identify", "session/end", "chat/send", "chat/stream", "chat/stop", "chat/regenerate",
        "chat/feedback", "chat/suggestions", "conversations/list", "conversations/messages", "conversations/rename",
        "conversations/status", "conversations/delete", "conversations/search", "conversations/export", "me/delete",
    ];
    let mut gen = Garbage(0x9E37_79B9_7F4A_7C15);
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..1_500 {
        let endpoint = *gen.pick(&endpoints);
        if endpoint == "session/end" || endpoint == "me/delete" {
            continue; // would end the session the loop uses
        }
        let mut body = gen.value(0);
        // Half the time, aim at the real ids so validation past decoding is exercised too.
        if i % 2 == 0 {
            if let Value::Object(m) = &mut body {
                m.insert("conversation_id".into(), real["conversation"]["id"].clone());
                m.insert("message_id".into(), real["answer"]["id"].clone());
            }
        }
        let (s, b) = if i % 7 == 0 {
            let raw: Vec<u8> = (0..gen.next() % 300).map(|_| gen.next() as u8).collect();
            let (s, t) = app.raw(Some(&g.token), endpoint, "application/json", raw).await;
            (s, Value::String(t))
        } else {
            g.call(endpoint, body.clone()).await
        };
        assert!(s.as_u16() < 500, "{endpoint} {body} → {s} {b}");
        *seen.entry(s.as_u16()).or_insert(0) += 1;
    }
    assert!(seen.keys().any(|s| *s == 400) && seen.keys().any(|s| *s == 422), "{seen:?}");
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    let (s, _) = g.call("conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::OK, "the session still works");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn regenerated_answers_and_feedback_comments_are_anonymised_too(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, "What is an IMU?").await;
    let answer = r["answer"]["id"].as_i64().unwrap();
    let (s, _) = g.call("chat/feedback", json!({"message_id": answer, "rating": -1, "comment": "my name is Ada and this is wrong"})).await;
    assert_eq!(s, StatusCode::OK);
    let cfg = bookchat::server::config::RetentionConfig { conversation_days: 0, log_anonymize_days: 90, interval_secs: 0 };
    let age = |pool: &PgPool| {
        let pool = pool.clone();
        async move {
            sqlx::query("UPDATE rag_queries SET created_at = now() - interval '100 days'").execute(&pool).await.unwrap();
            sqlx::query("UPDATE message_feedback SET updated_at = now() - interval '100 days'").execute(&pool).await.unwrap();
        }
    };
    age(&pool).await;
    let first = bookchat::server::db::privacy::run(&pool, &pool, &cfg).await.unwrap();
    assert_eq!((first.anonymised_log_rows, first.cleared_feedback_comments), (1, 1));
    let comment: Option<String> = sqlx::query_scalar("SELECT comment FROM message_feedback").fetch_optional(&pool).await.unwrap().flatten();
    assert_eq!(comment, None, "the reader's own words go");

    // The answer is regenerated: its log row holds the question in clear again, and must be
    // anonymised again in its turn.
    let (s, _) = g.call("chat/regenerate", json!({"message_id": answer})).await;
    assert_eq!(s, StatusCode::OK);
    for _ in 0..50 {
        if count(&pool, "SELECT count(*) FROM rag_queries WHERE question <> '(anonymised)'").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM rag_queries WHERE anonymized_at IS NULL").await, 1, "a new record, a new clock");
    age(&pool).await;
    let second = bookchat::server::db::privacy::run(&pool, &pool, &cfg).await.unwrap();
    assert_eq!(second.anonymised_log_rows, 1);
    assert_eq!(count(&pool, "SELECT count(*) FROM rag_queries WHERE question <> '(anonymised)'").await, 0);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn retention_runs_on_one_instance_at_a_time_and_deletes_in_batches(pool: PgPool) {
    // More expired guests than one batch.
    let n = bookchat::server::db::privacy::BATCH * 2 + 7;
    sqlx::query(
        "INSERT INTO chat_sessions (secret_hash, expires_at, created_at, last_activity_at)
         SELECT sha256(g::text::bytea), now() - interval '1 hour', now() - interval '2 days', now() - interval '2 days'
           FROM generate_series(1, $1) g",
    )
    .bind(n)
    .execute(&pool)
    .await
    .unwrap();
    let cfg = bookchat::server::config::RetentionConfig { conversation_days: 0, log_anonymize_days: 90, interval_secs: 0 };
    // Another instance holds the job's lock: this one skips.
    let mut other = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(x'626f6f6b63686174'::bigint)").execute(&mut *other).await.unwrap();
    let skipped = bookchat::server::db::privacy::run(&pool, &pool, &cfg).await.unwrap();
    assert!(skipped.skipped);
    assert_eq!(count(&pool, "SELECT count(*) FROM chat_sessions").await, n);
    sqlx::query("SELECT pg_advisory_unlock(x'626f6f6b63686174'::bigint)").execute(&mut *other).await.unwrap();
    drop(other);
    // Two instances at once: one does the work, the other skips; nothing is left.
    let (a, b) = tokio::join!(bookchat::server::db::privacy::run(&pool, &pool, &cfg), bookchat::server::db::privacy::run(&pool, &pool, &cfg));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.expired_guest_sessions + b.expired_guest_sessions, n as u64);
    assert_eq!(count(&pool, "SELECT count(*) FROM chat_sessions").await, 0);
}

/// Reads that authenticate in the same statement (the history list, a messages page) go to the
/// read pool; a replica that has not yet seen a new session must not turn the reader away: the
/// session is checked again on the primary and the reader gets their data.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_replica_behind_a_new_session_still_serves_its_reads(pool: PgPool) {
    // The "replica": a database with the schema and none of the primary's rows.
    let name = format!("bookchat_replica_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
    let opts = pool.connect_options().as_ref().clone().database(&name);
    let replica = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(opts).await.unwrap();
    bookchat::server::db::MIGRATOR.run(&replica).await.unwrap();

    let primary = TestApp::spawn(pool.clone()).await;
    let mut state = primary.state.clone();
    state.held_reads = bookchat::server::db::held::HeldConnections::half_of(&replica);
    state.read_pool = replica.clone();
    let app = TestApp::serve(state).await;
    let reader = app.guest().await;
    let (s, sent) = reader.call("chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"})).await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    let conversation = sent["conversation"]["id"].as_str().unwrap().to_owned();

    let (s, list) = reader.call("conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["id"], conversation.as_str());
    let (s, page) = reader.call("conversations/messages", json!({"conversation_id": conversation})).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(page["messages"].as_array().unwrap().len(), 2, "{page}");
    // A secret nobody holds is still refused.
    let (s, _) = app.call(Some("not-a-real-session-secret-0123456789abcdefghij"), "conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // FORCE: the app's held connections to it are never given back to a pool to close.
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await.unwrap();
}

/// What a browser gets when it accepts compressed responses: the API's larger answers
/// compressed (and decompressing to exactly the plain answer), small ones — under one TCP
/// segment, where compressing saves no packet — sent as they are.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn large_answers_are_compressed_for_browsers_and_small_ones_are_not(pool: PgPool) {
    use std::io::Read;
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let sent = g.ask(None, "What is an IMU and how does it help a humanoid balance?").await;
    let body = json!({"conversation_id": sent["conversation"]["id"], "limit": 30});
    let post = |endpoint: &str, body: &Value, encoding: Option<&str>| {
        let mut req = app.http.post(format!("{}/api/{endpoint}", app.base)).header("X-BookChat-Session", &g.token).json(body);
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        req.send()
    };

    let plain = post("conversations/messages", &body, None).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain: Vec<u8> = plain.bytes().await.unwrap().to_vec();
    assert!(plain.len() > usize::from(bookchat::routes::COMPRESS_ABOVE_BYTES), "the page is {} bytes", plain.len());

    let zipped = post("conversations/messages", &body, Some("gzip")).await.unwrap();
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(zipped.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.len() < plain.len(), "{} compressed vs {} plain", zipped.len(), plain.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).unwrap();
    let as_json = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap();
    assert_eq!(as_json(&unzipped), as_json(&plain));

    // A history list of one conversation is small.
    let small = post("conversations/list", &json!({"limit": 20}), Some("gzip, br")).await.unwrap();
    assert_eq!(small.status(), StatusCode::OK);
    assert!(small.headers().get("content-encoding").is_none(), "{:?}", small.headers());
    let small = small.bytes().await.unwrap();
    assert!(small.len() < usize::from(bookchat::routes::COMPRESS_ABOVE_BYTES), "{} bytes", small.len());
    assert_eq!(as_json(&small)["items"].as_array().map(Vec::len), Some(1));
}

/// Copy rows from the primary into the test's "replica" as replication would have.
async fn replicate(primary: &PgPool, replica: &PgPool, table: &str) {
    let rows: Vec<Value> = sqlx::query_scalar(&format!("SELECT row_to_json(t)::jsonb FROM {table} t")).fetch_all(primary).await.unwrap();
    // Generated columns are computed again on the replica.
    let columns: String = sqlx::query_scalar(
        "SELECT string_agg(column_name, ', ') FROM information_schema.columns WHERE table_name = $1 AND is_generated = 'NEVER'",
    )
    .bind(table)
    .fetch_one(primary)
    .await
    .unwrap();
    for row in rows {
        sqlx::query(&format!(
            "INSERT INTO {table} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM jsonb_populate_record(NULL::{table}, $1) ON CONFLICT DO NOTHING"
        ))
            .bind(row)
            .execute(replica)
            .await
            .unwrap();
    }
}

/// A token ended on the primary (logout) stops reading at once, though the replica that serves
/// history reads has not caught up and still holds the session as active.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn an_ended_token_reads_nothing_from_a_lagging_replica(pool: PgPool) {
    let name = format!("bookchat_replica_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
    let opts = pool.connect_options().as_ref().clone().database(&name);
    let replica = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(opts).await.unwrap();
    bookchat::server::db::MIGRATOR.run(&replica).await.unwrap();

    let primary = TestApp::spawn(pool.clone()).await;
    let mut state = primary.state.clone();
    state.held_reads = bookchat::server::db::held::HeldConnections::half_of(&replica);
    state.read_pool = replica.clone();
    let app = TestApp::serve(state).await;
    let reader = app.guest().await;
    let (_, sent) = reader.call("chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"})).await;
    let conversation = sent["conversation"]["id"].as_str().unwrap().to_owned();
    // The replica catches up with everything so far...
    for table in ["chat_sessions", "conversations", "messages"] {
        replicate(&pool, &replica, table).await;
    }
    assert_eq!(reader.call("conversations/list", json!({})).await.0, StatusCode::OK);
    // ...then the reader logs out on the primary; the replica has not seen it yet.
    let (s, _) = reader.call("session/end", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, list) = reader.call("conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the ended token still listed from the replica: {list}");
    let (s, page) = reader.call("conversations/messages", json!({"conversation_id": conversation})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the ended token still read a page from the replica: {page}");

    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&pool).await.unwrap();
}

/// The demo host site republishes the whole book on the chat server's origin: only when asked.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_demo_site_is_served_only_when_asked(pool: PgPool) {
    let off = TestApp::spawn_with(pool.clone(), true, |c| c.demo_site = false).await;
    assert_eq!(off.get("/docs/ros2/ros2-architecture", None).await.status(), StatusCode::NOT_FOUND);
    let home = off.get("/", None).await.text().await.unwrap();
    assert!(!home.contains("ROS 2") && home.contains("embed.js"), "{home}");
    let on = TestApp::spawn_with(pool, false, |c| c.demo_site = true).await;
    let page = on.get("/docs/ros2/ros2-architecture", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("embed.js"));
}

/// Every response carries a request id (the caller's when sane, else a new one), and a 5xx
/// body names it, so a reader's report and the operator's log line meet.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn every_response_carries_a_request_id_and_a_5xx_body_names_it(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let res = app.http.get(format!("{}/healthz", app.base)).header("x-request-id", "lb-4711.a_b").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "lb-4711.a_b", "the load balancer's id is kept");
    let res = app.http.get(format!("{}/healthz", app.base)).header("x-request-id", "forged\\nline").send().await.unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(made.len() == 32 && made.chars().all(|c| c.is_ascii_hexdigit()), "a new id for an unusable one: {made}");
    // A 500: the table a list reads is gone.
    sqlx::query("ALTER TABLE conversations RENAME TO conversations_gone").execute(&pool).await.unwrap();
    let res = app
        .http
        .post(format!("{}/api/conversations/search", app.base))
        .header("X-BookChat-Session", &g.token)
        .header("x-request-id", "req-500-check")
        .json(&json!({"query": "imu"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["request_id"], "req-500-check", "{body}");
    assert_eq!(body["kind"], "internal");
    assert!(!body.to_string().contains("conversations"), "opaque: {body}");
    sqlx::query("ALTER TABLE conversations_gone RENAME TO conversations").execute(&pool).await.unwrap();
}

/// `/metrics` on the metrics listener, read with a Prometheus text-format parser: requests by
/// route and status with their latency, answers by outcome, answers in progress, pools.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn metrics_parse_as_prometheus_reads_them(pool: PgPool) {
    let handle = bookchat::server::metrics::install().expect("the recorder installs");
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    g.ask(None, "What is an IMU?").await;
    g.ask(None, "How do I bake sourdough bread?").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = bookchat::server::metrics::router(app.state.clone(), handle);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let text = reqwest::get(format!("http://{addr}/metrics")).await.unwrap().text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("the exposition format parses");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert!(value("bookchat_http_requests_total", &[("route", "/api/chat/send"), ("status", "200")]) >= 2.0, "{text}");
    assert!(value("bookchat_answers_total", &[("outcome", "complete")]) >= 1.0, "{text}");
    assert!(value("bookchat_answers_total", &[("outcome", "refused")]) >= 1.0, "{text}");
    assert!(scrape.samples.iter().any(|s| s.metric == "bookchat_http_request_duration_seconds"), "a latency histogram");
    assert!(scrape.samples.iter().any(|s| s.metric == "bookchat_retrieval_duration_seconds"));
    assert!(scrape.samples.iter().any(|s| s.metric == "bookchat_db_pool_connections" && s.labels.get("state") == Some("size")));
    // (The recorder is the process's: other tests running beside this one count too.)
    assert!(scrape.samples.iter().any(|s| s.metric == "bookchat_answers_in_progress"));
}

/// `/readyz` trusts its last database check for `BOOKCHAT_READY_CACHE_SECS`: probes every few
/// seconds do not keep a scale-to-zero database awake.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn readiness_is_cached_so_probes_do_not_keep_the_database_awake(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), false, |c| c.ready_cache_secs = 60).await;
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
    // The migrations table is what the check reads: renamed away, a fresh check would fail.
    sqlx::query("ALTER TABLE _sqlx_migrations RENAME TO _sqlx_migrations_away").execute(&pool).await.unwrap();
    for _ in 0..5 {
        assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK, "answered from the last check");
    }
    let uncached = TestApp::spawn_with(pool.clone(), false, |c| c.ready_cache_secs = 0).await;
    assert_eq!(uncached.get("/readyz", None).await.status(), StatusCode::SERVICE_UNAVAILABLE, "a fresh check sees it");
    sqlx::query("ALTER TABLE _sqlx_migrations_away RENAME TO _sqlx_migrations").execute(&pool).await.unwrap();
}

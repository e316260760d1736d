//! The real binary, stopped with SIGTERM while an answer is being written: it stops accepting,
//! stores the partial answer with the reason, closes the pool and exits cleanly.

use crate::fake_llm::FakeLlm;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn sigterm_persists_the_answer_in_flight_and_exits_cleanly(pool: PgPool) {
    let (_fake, llm_url) = FakeLlm::start().await;
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/book/docs");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("serve")
        .env("DATABASE_URL", format!("{prefix}/{db}"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "bookchat")
        .env("BOOKCHAT_BOOK_DIR", book)
        .env("LLM_BASE_URL", llm_url)
        .env("LLM_TIMEOUT_SECS", "5")
        .env("BOOKCHAT_SHUTDOWN_GRACE_SECS", "1")
        .env("BOOKCHAT_SHUTDOWN_READY_DELAY_SECS", "0")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let base_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base_url}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let post = |endpoint: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{base_url}/api/{endpoint}")).json(&body);
        if let Some(t) = token {
            req = req.header("X-BookChat-Session", t);
        }
        req.send()
    };
    let session: Value = post("session/start", None, json!({})).await.unwrap().json().await.unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let sent: Value = post(
        "chat/send",
        Some(&token),
        json!({"client_id": Uuid::new_v4(), "content": "What is the zero moment point? [slow]", "wait": false}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let answer_id = sent["answer"]["id"].as_i64().unwrap();
    // History reads keep their connections between requests: closing the pool must not wait
    // for those forever.
    for (endpoint, body) in [("conversations/list", json!({})), ("conversations/messages", json!({"conversation_id": sent["conversation"]["id"]}))] {
        let read = post(endpoint, Some(&token), body).await.unwrap();
        assert_eq!(read.status(), 200, "{endpoint}");
    }
    // A reader follows the answer (a stream that stays open), and a client has sent half a
    // request and gone quiet.
    let stream = post("chat/stream", Some(&token), json!({"message_id": answer_id})).await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut half = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut half, b"POST /api/session/start HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let t0 = Instant::now();
    let killed = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        // The grace period is 1 s: open streams and half-sent requests do not hold it up.
        assert!(t0.elapsed() < Duration::from_secs(8), "the server did not exit within the grace period after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "clean exit: {status:?}");
    let mut log = String::new();
    use std::io::Read;
    child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("shut down cleanly"), "{log}");

    let (state, content, meta): (String, String, Value) =
        sqlx::query_as("SELECT status, content, metadata FROM messages WHERE id = $1").bind(answer_id).fetch_one(&pool).await.unwrap();
    assert_eq!(state, "failed");
    assert!(!content.is_empty(), "the text written so far is kept");
    assert!(meta["error"].as_str().unwrap().contains("restarted"), "{meta}");
    let logged: String = sqlx::query_scalar("SELECT status FROM rag_queries WHERE message_id = $1").bind(answer_id).fetch_one(&pool).await.unwrap();
    assert_eq!(logged, "failed");
    // Nothing is accepting any more.
    assert!(http.get(format!("{base_url}/healthz")).send().await.is_err());
    drop((stream, half));
}

/// Started from any folder, with no `BOOKCHAT_EMBED_MODEL_DIR`, the binary finds the model (here
/// in the checkout it was built in) — and a configured model it cannot load stops it, never a
/// silent fall back to BM25.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn started_elsewhere_the_binary_finds_its_model_or_refuses_to_start(pool: PgPool) {
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/book/docs");
    let elsewhere = std::env::temp_dir();
    let run = |model: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bookchat"));
        cmd.args(["ingest", book]).current_dir(&elsewhere).env("DATABASE_URL", format!("{prefix}/{db}")).env("RUST_LOG", "warn");
        match model {
            Some(m) => cmd.env("BOOKCHAT_EMBED_MODEL_DIR", m),
            None => cmd.env_remove("BOOKCHAT_EMBED_MODEL_DIR"),
        };
        cmd.output().expect("run the binary")
    };
    let found = run(None);
    let said = String::from_utf8_lossy(&found.stdout).to_string() + &String::from_utf8_lossy(&found.stderr);
    assert!(found.status.success(), "{said}");
    assert!(said.contains("all-MiniLM-L6-v2@"), "the model was used: {said}");
    let missing = run(Some("/nonexistent/model-folder"));
    assert!(!missing.status.success(), "a model that cannot be loaded stops the command");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/model-folder"));
    let bm25 = run(Some("none"));
    assert!(bm25.status.success(), "BM25 alone when asked for");
}

/// `BOOKCHAT_LOG_FORMAT=json`: one JSON object per log line, the request's id on each line
/// logged while it is handled.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn json_logs_carry_the_request_id(pool: PgPool) {
    use std::io::BufRead;
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("serve")
        .env("DATABASE_URL", format!("{prefix}/{db}"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "bookchat")
        .env("BOOKCHAT_BOOK_DIR", "")
        .env("BOOKCHAT_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let base_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base_url}/healthz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = http.post(format!("{base_url}/api/session/start")).header("x-request-id", "json-log-check-1").json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let out = child.stdout.take().unwrap();
    let lines: Vec<Value> = std::io::BufReader::new(out).lines().map_while(Result::ok).map(|l| serde_json::from_str(&l).expect("every line is JSON")).collect();
    let _ = child.wait();
    let ours: Vec<&Value> = lines.iter().filter(|l| l["span"]["request_id"] == "json-log-check-1").collect();
    assert!(!ours.is_empty(), "no line carried the request id: {lines:?}");
    assert!(ours.iter().any(|l| l["fields"]["message"] == "request" && l["fields"]["status"] == 200), "{ours:?}");
}

/// On SIGTERM the server first says it is not ready — still serving — for the load balancer to
/// notice, then drains and exits.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn sigterm_turns_readiness_off_first_while_still_serving(pool: PgPool) {
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("serve")
        .env("DATABASE_URL", format!("{prefix}/{db}"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "bookchat")
        .env("BOOKCHAT_BOOK_DIR", "")
        .env("BOOKCHAT_SHUTDOWN_READY_DELAY_SECS", "3")
        .env("BOOKCHAT_SHUTDOWN_GRACE_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let base_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base_url}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready = http.get(format!("{base_url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().starts_with("draining"));
    assert_eq!(http.get(format!("{base_url}/healthz")).send().await.unwrap().status(), 200, "alive");
    let s = http.post(format!("{base_url}/api/session/start")).json(&json!({})).send().await.unwrap();
    assert_eq!(s.status(), 200, "still serving while the load balancer takes it out");
    let stopped = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(stopped.elapsed() < Duration::from_secs(15), "the server did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success());
}

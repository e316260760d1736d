//! Bounding the work one client can cause: who the client is behind proxies, new sessions, failed
//! admin logins, demo pages, answers generated at once and the connections they may use.

use crate::fake_llm::FakeLlm;
use crate::helpers::TestApp;
use bookchat::server::config::Secret;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use uuid::Uuid;

#[test]
fn the_client_is_read_from_the_right_of_x_forwarded_for() {
    use bookchat::server::http::forwarded_client;
    let peer: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let headers = |v: &[&str]| {
        let mut h = axum::http::HeaderMap::new();
        for x in v {
            h.append("x-forwarded-for", x.parse().unwrap());
        }
        h
    };
    // The client wrote "6.6.6.6" itself; the load balancer appended the real address.
    let h = headers(&["6.6.6.6, 203.0.113.7"]);
    assert_eq!(forwarded_client(&h, Some(peer), 1), Some("203.0.113.7".parse().unwrap()));
    assert_eq!(forwarded_client(&h, Some(peer), 0), Some(peer), "no trusted proxy: the header is ignored");
    // Two proxies: CDN then load balancer; header split over two lines.
    let h = headers(&["6.6.6.6, 198.51.100.9", "192.0.2.1"]);
    assert_eq!(forwarded_client(&h, Some(peer), 2), Some("198.51.100.9".parse().unwrap()));
    assert_eq!(forwarded_client(&headers(&["[2001:db8::7]:443"]), Some(peer), 1), Some("2001:db8::7".parse().unwrap()));
    assert_eq!(forwarded_client(&headers(&["garbage"]), Some(peer), 1), Some(peer));
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_spoofed_forwarded_for_does_not_escape_the_rate_limit(pool: PgPool) {
    let app = TestApp::spawn_with(pool, false, |c| {
        c.limits.per_ip = 9; // burst 3
        c.limits.trusted_proxies = 1;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        // A different made-up address on the left each time; the proxy's entry is the same.
        let res = app
            .http
            .post(format!("{}/api/session/start", app.base))
            .header("x-forwarded-for", format!("10.9.8.{i}, 203.0.113.50"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        statuses.push(res.status());
    }
    assert!(statuses[3..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn new_sessions_are_limited_per_client_and_ipv6_by_its_64(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), false, |c| {
        c.limits.sessions_per_ip = 6; // burst 2
        c.limits.trusted_proxies = 1;
    })
    .await;
    let start = |xff: &'static str| {
        let app = &app;
        async move {
            let res = app.http.post(format!("{}/api/session/start", app.base)).header("x-forwarded-for", xff).json(&json!({})).send().await.unwrap();
            (res.status(), res.headers().get("retry-after").is_some())
        }
    };
    // Every address of one /64 is one client.
    assert_eq!(start("2001:db8:5:6::1").await.0, StatusCode::OK);
    assert_eq!(start("2001:db8:5:6::2").await.0, StatusCode::OK);
    let (s, retry) = start("2001:db8:5:6:ffff::3").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry);
    assert_eq!(start("2001:db8:5:7::1").await.0, StatusCode::OK, "another /64 is another client");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_sessions").fetch_one(&pool).await.unwrap();
    assert_eq!(sessions, 3);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn failed_admin_logins_are_throttled_and_demo_pages_limited(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| {
        c.admin_secret = Some(Secret::new("admin-secret-for-tests-0123456789"));
        c.limits.admin_failures_per_ip = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/admin", Some(("admin", "wrong-password"))).await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.get("/admin", Some(("admin", "admin-secret-for-tests-0123456789"))).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits once a client has failed too often");
    assert!(res.headers().get("retry-after").is_some());

    let app = TestApp::spawn_with(app.state.pool.clone(), false, |c| c.limits.per_ip = 6).await; // burst 2
    let statuses: Vec<StatusCode> =
        futures::future::join_all((0..5).map(|_| app.get("/docs/ros2/ros2-architecture", None))).await.iter().map(|r| r.status()).collect();
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn answers_beyond_the_cap_are_refused_and_never_starve_history_reads(pool: PgPool) {
    let (fake, url) = FakeLlm::start().await;
    let app = TestApp::spawn_with(pool.clone(), true, |c| {
        c.llm.base_url = Some(url);
        c.llm.timeout_secs = 5;
        c.limits.max_concurrent_answers = 3;
        c.limits.answer_db_connections = 2;
    })
    .await;
    let g = app.guest().await;
    // Three slow answers take every slot.
    for i in 0..3 {
        g.ask_streaming(None, &format!("What is the zero moment point? [slow] {i}")).await;
    }
    let client_id = Uuid::new_v4();
    let res = app
        .http
        .post(format!("{}/api/chat/send", app.base))
        .header("X-BookChat-Session", &g.token)
        .json(&json!({"client_id": client_id, "content": "What is an IMU?", "wait": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "busy");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE client_id = $1").bind(client_id).fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 0, "nothing stored: the widget keeps the question for a retry");

    // The three answers are being written...
    for _ in 0..100 {
        if fake.count() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(fake.count(), 3);
    // ...and meanwhile history reads go on at full speed: the answers have a pool of their
    // own, and never more than its two connections.
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(g.call("conversations/list", json!({})).await.0, StatusCode::OK);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(app.state.answer_pool.size() <= 2, "answers used {} connections", app.state.answer_pool.size());
    // Once the slow answers are done, questions are taken again.
    for _ in 0..150 {
        let streaming: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE status = 'streaming'").fetch_one(&pool).await.unwrap();
        if streaming == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(g.call("chat/send", json!({"client_id": client_id, "content": "What is an IMU?", "wait": false})).await.0, StatusCode::OK);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn half_sent_requests_are_cut_off_and_never_starve_others(pool: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(pool, false, |c| c.header_read_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // A slowloris: many connections, each sending a little of a request's headers, then nothing.
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        slow.push(s);
    }
    // Everyone else is served at once.
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    }
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // And the half-sent requests are closed once their headers are late.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut closed = 0;
    for s in slow.iter_mut().take(20) {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(n)) if String::from_utf8_lossy(&buf[..n]).contains("408") => closed += 1,
            _ => {}
        }
    }
    assert_eq!(closed, 20, "every half-sent request was cut off");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn an_answer_stream_with_nothing_new_ends_after_its_idle_limit(pool: PgPool) {
    let (_fake, url) = FakeLlm::start().await;
    let app = TestApp::spawn_with(pool, true, |c| {
        c.llm.base_url = Some(url);
        c.llm.timeout_secs = 20;
        c.stream_idle_secs = 1;
    })
    .await;
    let g = app.guest().await;
    // The model accepts the request and then says nothing for a long time.
    let r = g.ask_streaming(None, "What is the zero moment point? [hang]").await;
    let id = r["answer"]["id"].as_i64().unwrap();
    let started = Instant::now();
    let events = tokio::time::timeout(Duration::from_secs(10), g.stream(id)).await.expect("the stream ends");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let last = events.last().unwrap();
    assert_eq!(last["t"], "done");
    assert_eq!(last["message"]["status"], "streaming", "the answer goes on; the reader resumes it");
}

/// Is the server's end of this connection closed (read gives end of file, an error or a 408)?
async fn closed_by_server(s: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).contains("408"),
        Err(_) => false,
    }
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn silent_and_half_preface_connections_are_closed_at_the_first_request_deadline(pool: PgPool) {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(pool, false, |c| c.header_read_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Connections that send nothing, and connections that send part of the HTTP/2 preface: both
    // wait in the protocol sniffing, before HTTP/1's header timer exists.
    let mut idle = Vec::new();
    for i in 0..600 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
        }
        idle.push(s);
    }
    let opened = Instant::now();
    // A reader is served throughout.
    for _ in 0..5 {
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    }
    // Within the deadline (1 s) and one more second, every one of them is closed.
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(opened.elapsed())).await;
    let mut open = 0;
    for s in idle.iter_mut() {
        if !closed_by_server(s).await {
            open += 1;
        }
    }
    assert_eq!(open, 0, "connections still open 2 s after they were made, with a 1 s deadline");
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn an_idle_http2_connection_is_ended_after_the_idle_limit(pool: PgPool) {
    let app = TestApp::spawn_with(pool, false, |c| c.connection_idle_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let driver = tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let req = http::Request::get(format!("{}/healthz", app.base)).body(()).unwrap();
    let (response, _) = client.send_request(req, true).unwrap();
    assert_eq!(response.await.unwrap().status(), StatusCode::OK);
    // The client keeps the connection (and answers the server's pings) but asks nothing more.
    let ended = tokio::time::timeout(Duration::from_secs(5), driver).await;
    assert!(ended.is_ok(), "the idle HTTP/2 connection was still open after 5 s with a 1 s idle limit");
    drop(client);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn at_the_connection_cap_silent_connections_make_room_and_busy_ones_get_503(pool: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(pool, false, |c| c.max_connections = 20).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Twenty silent connections fill the cap; a reader still gets in, by closing the oldest.
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = reqwest::Client::new();
    let res = fresh.get(format!("{}/healthz", app.base)).send().await.expect("a reader is served at the cap");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(closed_by_server(&mut silent[0]).await, "the oldest silent connection made room");
    drop(silent);
    drop(fresh);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Twenty connections at work (each made a request and keeps its connection): a newcomer
    // is refused plainly instead of the process running out of descriptors.
    let mut busy = Vec::new();
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        busy.push(s);
    }
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut reply = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut reply)).await;
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply:?}");
    drop(busy);
}

/// POST an API call as a client at `xff` (the app trusts one proxy hop in these tests).
async fn call_from(app: &TestApp, xff: &str, token: Option<&str>, endpoint: &str, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    let mut req = app.http.post(format!("{}/api/{endpoint}", app.base)).header("x-forwarded-for", xff).json(&body);
    if let Some(t) = token {
        req = req.header("X-BookChat-Session", t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_classroom_behind_one_address_all_get_sessions_and_a_flood_is_bounded(pool: PgPool) {
    // The shipped defaults for sessions per address.
    let app = TestApp::spawn_with(pool.clone(), false, |c| {
        c.limits.sessions_per_ip = 120;
        c.limits.sessions_burst_per_ip = 60;
        c.limits.trusted_proxies = 1;
    })
    .await;
    // Sixty readers behind the school's address open the widget at the same moment.
    let class = futures::future::join_all((0..60).map(|_| call_from(&app, "198.51.100.7", None, "session/start", json!({})))).await;
    let refused: Vec<_> = class.iter().filter(|(s, _)| *s != StatusCode::OK).collect();
    assert!(refused.is_empty(), "a reader of the class was refused a session: {refused:?}");
    // A flood from the same address gets little more.
    let mut more = 0;
    for _ in 0..400 {
        if call_from(&app, "198.51.100.7", None, "session/start", json!({})).await.0 == StatusCode::OK {
            more += 1;
        }
    }
    assert!(more <= 20, "{more} more sessions in the flood");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_sessions").fetch_one(&pool).await.unwrap();
    assert!(sessions <= 80, "{sessions}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn new_sessions_do_not_multiply_one_addresss_questions(pool: PgPool) {
    let app = TestApp::spawn_with(pool, true, |c| {
        c.limits.questions_per_session = 60;
        c.limits.questions_per_ip = 9; // burst 3
        c.limits.trusted_proxies = 1;
    })
    .await;
    let mut answered = 0;
    for _ in 0..6 {
        let (_, s) = call_from(&app, "203.0.113.50", None, "session/start", json!({})).await;
        let token = s["token"].as_str().unwrap().to_owned();
        let (status, body) = call_from(&app, "203.0.113.50", Some(&token), "chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"})).await;
        match status {
            StatusCode::OK => answered += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(body["kind"], "rate_limited"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(answered, 3, "six fresh sessions, one address: its allowance");
    let (_, s) = call_from(&app, "203.0.113.51", None, "session/start", json!({})).await;
    let (status, _) =
        call_from(&app, "203.0.113.51", s["token"].as_str(), "chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU?"})).await;
    assert_eq!(status, StatusCode::OK, "another address is not affected");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn one_address_cannot_take_every_answer_slot(pool: PgPool) {
    let (_fake, url) = FakeLlm::start().await;
    let app = TestApp::spawn_with(pool, true, |c| {
        c.llm.base_url = Some(url);
        c.llm.timeout_secs = 5;
        c.limits.max_concurrent_answers = 4;
        c.limits.max_answers_per_ip = 2;
        c.limits.trusted_proxies = 1;
    })
    .await;
    let (_, s) = call_from(&app, "192.0.2.10", None, "session/start", json!({})).await;
    let token = s["token"].as_str().unwrap().to_owned();
    let send = |content: String| {
        let (app, token) = (&app, token.clone());
        async move {
            call_from(app, "192.0.2.10", Some(&token), "chat/send", json!({"client_id": Uuid::new_v4(), "content": content, "wait": false})).await
        }
    };
    assert_eq!(send("What is the zero moment point? [slow] 1".into()).await.0, StatusCode::OK);
    assert_eq!(send("What is the zero moment point? [slow] 2".into()).await.0, StatusCode::OK);
    let (status, body) = send("What is the zero moment point? [slow] 3".into()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["kind"], "busy");
    // Another reader elsewhere still gets an answer slot.
    let (_, s2) = call_from(&app, "192.0.2.99", None, "session/start", json!({})).await;
    let (status, body) =
        call_from(&app, "192.0.2.99", s2["token"].as_str(), "chat/send", json!({"client_id": Uuid::new_v4(), "content": "What is an IMU? [slow]", "wait": false})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_probe_and_the_server_rendered_pages_count_against_the_clients_allowance(pool: PgPool) {
    for path in ["/readyz", "/widget", "/conversations"] {
        let app = TestApp::spawn_with(pool.clone(), false, |c| c.limits.per_ip = 6).await; // burst 2
        let statuses: Vec<StatusCode> = futures::future::join_all((0..5).map(|_| app.get(path, None))).await.iter().map(|r| r.status()).collect();
        assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{path}: {statuses:?}");
    }
    // The liveness probe stays free: it touches nothing.
    let app = TestApp::spawn_with(pool, false, |c| c.limits.per_ip = 6).await;
    for _ in 0..5 {
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    }
}

//! BookChat load generator and benchmarks (see bench/README.md).
//!
//! `bookchat-load chat`    — chatters driving the public API like real readers, then a check in
//!                           the database that every acknowledged message exists exactly once, in order.
//! `bookchat-load scaling` — newest-page and list latency for small vs huge histories.
//! `bookchat-load reads`   — throughput of the two history reads at a given concurrency (to
//!                           compare with pgbench running the same SQL).

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Chat {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 16)]
        chatters: usize,
        #[arg(long, default_value_t = 20)]
        messages: usize,
        /// Database to verify against (the server's).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Server process id, to report its memory.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Write the run's figures as JSON here.
        #[arg(long)]
        out: Option<String>,
        /// Pause between a chatter's messages (reading the answer), in milliseconds.
        #[arg(long, default_value_t = 0)]
        think_ms: u64,
    },
    Scaling {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 300)]
        iterations: usize,
    },
    Reads {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Server process id, to report its CPU time per request.
        #[arg(long)]
        server_pid: Option<u32>,
    },
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| s.lines().find(|l| l.starts_with(k)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, endpoint: &str, body: &Value) -> Result<(u16, Value), String> {
    let mut req = http.post(format!("{url}/api/{endpoint}")).json(body);
    if let Some(t) = token {
        req = req.header("X-BookChat-Session", t);
    }
    let res = req.send().await.map_err(|e| if e.is_timeout() { "timeout".to_owned() } else { "connect".to_owned() })?;
    let status = res.status().as_u16();
    let v = res.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, v))
}

const QUESTIONS: [&str; 8] = [
    "What is the zero moment point?",
    "How do ROS 2 nodes discover each other?",
    "Why does a gyroscope drift?",
    "What is domain randomisation?",
    "How does a stereo camera measure depth?",
    "What is a capture point?",
    "Should sensor data use best effort QoS?",
    "What does URDF describe?",
];

#[derive(Default)]
struct ChatStats {
    latencies_ms: Mutex<Vec<f64>>,
    acked: AtomicU64,
    errors: Mutex<HashMap<String, u64>>,
    /// When errors were seen and when the next success came, for recovery time.
    first_error: Mutex<Option<Instant>>,
    last_error: Mutex<Option<Instant>>,
    recovered_at: Mutex<Option<Instant>>,
}

/// One chatter: a session, one conversation, `messages` questions; every send is retried with
/// the same client id until acknowledged (that is the contract under test).
async fn chatter(http: reqwest::Client, url: String, messages: usize, think: Duration, stats: Arc<ChatStats>) -> (Uuid, Vec<Uuid>) {
    let token = loop {
        match post(&http, &url, None, "session/start", &json!({})).await {
            Ok((200, v)) => break v["token"].as_str().unwrap_or_default().to_owned(),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let mut conversation: Option<String> = None;
    let mut acked = Vec::new();
    let mut session_id = Uuid::nil();
    for i in 0..messages {
        if i > 0 && !think.is_zero() {
            tokio::time::sleep(think).await;
        }
        let client_id = Uuid::new_v4();
        let body = json!({"conversation_id": conversation, "client_id": client_id, "content": QUESTIONS[i % QUESTIONS.len()]});
        let started = Instant::now();
        loop {
            let r = post(&http, &url, Some(&token), "chat/send", &body).await;
            match r {
                Ok((200, v)) => {
                    stats.latencies_ms.lock().unwrap().push(started.elapsed().as_secs_f64() * 1000.0);
                    stats.acked.fetch_add(1, Ordering::Relaxed);
                    conversation = v["conversation"]["id"].as_str().map(str::to_owned);
                    acked.push(client_id);
                    if stats.last_error.lock().unwrap().is_some() {
                        let mut rec = stats.recovered_at.lock().unwrap();
                        let last = stats.last_error.lock().unwrap().unwrap();
                        if rec.is_none_or(|t| t < last) {
                            *rec = Some(Instant::now());
                        }
                    }
                    break;
                }
                other => {
                    let kind = match &other {
                        Ok((s, v)) => format!("{s} {}", v["kind"].as_str().unwrap_or("")),
                        Err(e) => e.clone(),
                    };
                    *stats.errors.lock().unwrap().entry(kind).or_insert(0) += 1;
                    let now = Instant::now();
                    stats.first_error.lock().unwrap().get_or_insert(now);
                    *stats.last_error.lock().unwrap() = Some(now);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        if session_id.is_nil() {
            if let Ok((200, v)) = post(&http, &url, Some(&token), "session/start", &json!({})).await {
                session_id = v["session_id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
            }
        }
    }
    (session_id, acked)
}

async fn chat(url: String, chatters: usize, messages: usize, db: String, pid: Option<u32>, out: Option<String>, think_ms: u64) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(chatters).build()?;
    let stats = Arc::new(ChatStats::default());
    let started = Instant::now();
    let mut peak_rss = 0;
    let sampler = pid.map(|pid| {
        tokio::spawn(async move {
            let mut peak = 0;
            loop {
                if let Some((rss, _)) = rss_kib(pid) {
                    peak = peak.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                if peak > 0 && rss_kib(pid).is_none() {
                    break peak;
                }
            }
        })
    });
    let tasks: Vec<_> = (0..chatters)
        .map(|_| tokio::spawn(chatter(http.clone(), url.clone(), messages, Duration::from_millis(think_ms), stats.clone())))
        .collect();
    let mut runs = Vec::new();
    for t in tasks {
        runs.push(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(s) = sampler {
        s.abort();
    }
    if let Some(pid) = pid {
        if let Some((rss, hwm)) = rss_kib(pid) {
            peak_rss = hwm.max(rss);
        }
    }
    let mut lat = stats.latencies_ms.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let acked = stats.acked.load(Ordering::Relaxed);

    // Verify in the database: each acknowledged message exactly once, in the order sent, each
    // with exactly one answer.
    let pool = PgPool::connect(&db).await?;
    let (mut lost, mut duplicated, mut out_of_order, mut unanswered) = (0u64, 0u64, 0u64, 0u64);
    for (_, acked_ids) in &runs {
        let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
            "SELECT m.client_id, m.id, (SELECT count(*) FROM messages a WHERE a.reply_to = m.id)
               FROM messages m WHERE m.client_id = ANY($1) ORDER BY m.id",
        )
        .bind(acked_ids)
        .fetch_all(&pool)
        .await?;
        let stored: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
        for id in acked_ids {
            match stored.iter().filter(|s| *s == id).count() {
                0 => lost += 1,
                1 => {}
                _ => duplicated += 1,
            }
        }
        if stored != *acked_ids {
            out_of_order += 1;
        }
        unanswered += rows.iter().filter(|r| r.2 != 1).count() as u64;
    }
    // Duplicates by content within a conversation would show as extra user rows.
    let extra: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) AS n FROM messages WHERE role = 'user' GROUP BY client_id) x",
    )
    .fetch_one(&pool)
    .await?;
    duplicated += extra as u64;

    let errors = stats.errors.lock().unwrap().clone();
    let recovery = match (*stats.first_error.lock().unwrap(), *stats.recovered_at.lock().unwrap()) {
        (Some(f), Some(r)) if r > f => Some(r.duration_since(f).as_secs_f64()),
        _ => None,
    };
    let report = json!({
        "chatters": chatters, "messages_per_chatter": messages, "think_ms": think_ms, "acknowledged": acked,
        "seconds": elapsed, "throughput_msgs_per_s": acked as f64 / elapsed,
        "latency_ms": { "p50": pct(&lat, 0.5), "p95": pct(&lat, 0.95), "p99": pct(&lat, 0.99), "max": pct(&lat, 1.0) },
        "server_peak_rss_mib": peak_rss as f64 / 1024.0,
        "errors": errors, "error_window_to_recovery_s": recovery,
        "verify": { "lost": lost, "duplicated": duplicated, "conversations_out_of_order": out_of_order, "answers_not_exactly_one": unanswered },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = out {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    if lost + duplicated + out_of_order > 0 {
        anyhow::bail!("acknowledged messages were lost, duplicated or reordered");
    }
    Ok(())
}

/// A guest session created directly in the database (the token is returned).
async fn seed_session(pool: &PgPool) -> anyhow::Result<(Uuid, String)> {
    let token: String = {
        use rand_like::token;
        token()
    };
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO chat_sessions (secret_hash, expires_at) VALUES (sha256(convert_to($1, 'UTF8')), now() + interval '1 day') RETURNING id",
    )
    .bind(&token)
    .fetch_one(pool)
    .await?;
    Ok((id, token))
}

mod rand_like {
    /// A token of the shape the server issues (43 URL-safe characters).
    pub fn token() -> String {
        let a = uuid::Uuid::new_v4().simple().to_string();
        let b = uuid::Uuid::new_v4().simple().to_string();
        format!("{a}{b}")[..43].to_owned()
    }
}

/// Seed a session with `conversations` conversations; the first has `messages` messages.
async fn seed(pool: &PgPool, conversations: i64, messages: i64) -> anyhow::Result<(String, Uuid)> {
    let (session, token) = seed_session(pool).await?;
    let first: Uuid = sqlx::query_scalar(
        "INSERT INTO conversations (session_id, title, created_at, last_message_at)
         SELECT $1, 'c' || i, now() - interval '30 days', now() - i * interval '1 second' FROM generate_series(1, $2) i
         RETURNING id",
    )
    .bind(session)
    .bind(conversations)
    .fetch_all(pool)
    .await?
    .into_iter()
    .next()
    .ok_or_else(|| anyhow::anyhow!("no conversation"))?;
    // Bulk-load the messages with the counter trigger off, then set the counter once.
    let mut tx = pool.begin().await?;
    sqlx::query("ALTER TABLE messages DISABLE TRIGGER messages_counters").execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content, html, created_at)
         SELECT gen_random_uuid(), $1, CASE WHEN i % 2 = 0 THEN 'assistant' ELSE 'user' END,
                'message number ' || i || ' about sensors, walking and middleware',
                CASE WHEN i % 2 = 0 THEN '<p>message number ' || i || ' about sensors, walking and middleware</p>' END,
                now() - interval '20 days' + i * interval '1 millisecond'
           FROM generate_series(1, $2) i",
    )
    .bind(first)
    .bind(messages)
    .execute(&mut *tx)
    .await?;
    sqlx::query("ALTER TABLE messages ENABLE TRIGGER messages_counters").execute(&mut *tx).await?;
    sqlx::query("UPDATE conversations SET message_count = $2 WHERE id = $1").bind(first).bind(messages as i32).execute(&mut *tx).await?;
    tx.commit().await?;
    sqlx::query("ANALYZE messages").execute(pool).await?;
    sqlx::query("ANALYZE conversations").execute(pool).await?;
    Ok((token, first))
}

async fn time_calls(http: &reqwest::Client, url: &str, token: &str, endpoint: &str, body: Value, n: usize) -> anyhow::Result<(f64, f64)> {
    for _ in 0..20 {
        post(http, url, Some(token), endpoint, &body).await.map_err(anyhow::Error::msg)?;
    }
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        let (status, _) = post(http, url, Some(token), endpoint, &body).await.map_err(anyhow::Error::msg)?;
        anyhow::ensure!(status == 200, "{endpoint} answered {status}");
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    t.sort_by(f64::total_cmp);
    Ok((pct(&t, 0.5), pct(&t, 0.95)))
}

async fn scaling(url: String, db: String, n: usize) -> anyhow::Result<()> {
    let pool = PgPool::connect(&db).await?;
    let http = reqwest::Client::new();
    let (small_tok, small_conv) = seed(&pool, 10, 100).await?;
    let (big_tok, big_conv) = seed(&pool, 10_000, 100_000).await?;
    let mut rows = Vec::new();
    for (label, endpoint, small, big) in [
        (
            "newest page of messages (30)",
            "conversations/messages",
            (small_tok.clone(), json!({"conversation_id": small_conv, "limit": 30})),
            (big_tok.clone(), json!({"conversation_id": big_conv, "limit": 30})),
        ),
        (
            "first page of the conversation list (20)",
            "conversations/list",
            (small_tok.clone(), json!({"limit": 20})),
            (big_tok.clone(), json!({"limit": 20})),
        ),
    ] {
        let (s50, s95) = time_calls(&http, &url, &small.0, endpoint, small.1, n).await?;
        let (b50, b95) = time_calls(&http, &url, &big.0, endpoint, big.1, n).await?;
        rows.push(json!({
            "read": label, "small_p50_ms": s50, "small_p95_ms": s95, "large_p50_ms": b50, "large_p95_ms": b95,
            "ratio_p50": b50 / s50,
        }));
    }
    println!("{}", serde_json::to_string_pretty(&json!({ "small": "100 messages / 10 conversations", "large": "100,000 messages / 10,000 conversations", "rows": rows }))?);
    Ok(())
}

async fn reads(url: String, db: String, concurrency: usize, seconds: u64, pid: Option<u32>) -> anyhow::Result<()> {
    let pool = PgPool::connect(&db).await?;
    let (token, conv) = seed(&pool, 200, 2_000).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    for (label, endpoint, body) in [
        ("messages", "conversations/messages", json!({"conversation_id": conv, "limit": 30})),
        ("list", "conversations/list", json!({"limit": 20})),
    ] {
        let done = Arc::new(AtomicU64::new(0));
        let cpu_before = pid.and_then(cpu_seconds);
        let until = Instant::now() + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let (http, url, token, body, done) = (http.clone(), url.clone(), token.clone(), body.clone(), done.clone());
                tokio::spawn(async move {
                    while Instant::now() < until {
                        if let Ok((200, _)) = post(&http, &url, Some(&token), endpoint, &body).await {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await?;
        }
        let n = done.load(Ordering::Relaxed) as f64;
        let cpu = match (cpu_before, pid.and_then(cpu_seconds)) {
            (Some(a), Some(b)) => format!("\tserver CPU {:.0} µs/request", (b - a) / n * 1e6),
            _ => String::new(),
        };
        println!("{label}\t{:.0} req/s\t(concurrency {concurrency}){cpu}", n / seconds as f64);
    }
    println!("conversation_id\t{conv}");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Chat { url, chatters, messages, database_url, server_pid, out, think_ms } => {
            chat(url, chatters, messages, database_url, server_pid, out, think_ms).await
        }
        Cmd::Scaling { url, database_url, iterations } => scaling(url, database_url, iterations).await,
        Cmd::Reads { url, database_url, concurrency, seconds, server_pid } => {
            reads(url, database_url, concurrency, seconds, server_pid).await
        }
    }
}

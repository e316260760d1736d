//! BookChat load generator and benchmarks (figures: docs/BENCHMARKS.md).
//!
//! `bookchat-load chat`    — chatters driving the public API like real readers, then a check in
//!                           the database that every acknowledged message exists exactly once, in order.
//! `bookchat-load scaling` — newest-page and list latency for small vs huge histories.
//! `bookchat-load reads`   — throughput of the two history reads at a given concurrency (to
//!                           compare with pgbench running the same SQL).
//! `bookchat-load floor`   — the same reads served by a bare axum handler: the stack's floor.
//! `bookchat-load trips`   — database round trips per operation, counted by a wire-protocol
//!                           proxy the server connects through.
//! `bookchat-load classroom` — 60 readers behind one address opening the widget within 10 s,
//!                           then a flood of session starts from that address.
//! `bookchat-load idle`    — connections that send nothing or half the HTTP/2 preface, held
//!                           until the server closes them (when, and how many), while a reader
//!                           asks questions and times the answers.

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
        /// A `floor` server to run the same reads against (and its process id).
        #[arg(long)]
        floor_url: Option<String>,
        #[arg(long)]
        floor_pid: Option<u32>,
    },
    /// Serve the two history reads at `listen` the thinnest way the stack allows (see `floor`).
    Floor {
        #[arg(long, default_value = "127.0.0.1:3501")]
        listen: String,
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Connections kept open (the app holds half its pool for these reads: 8 of 16).
        #[arg(long, default_value_t = 8)]
        connections: usize,
    },
    /// `readers` open the widget (a session, then its suggestions) at random moments within
    /// `within_secs`, from this one address; then `flood` session starts from it, spread over a
    /// minute. Prints how many readers were ready and how many flood sessions got through.
    Classroom {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 60)]
        readers: usize,
        #[arg(long, default_value_t = 10)]
        within_secs: u64,
        #[arg(long, default_value_t = 10_000)]
        flood: usize,
    },
    /// Open `silent` connections that send nothing and `preface` that send part of the HTTP/2
    /// preface, as fast as the server accepts them; report when the server closed each, and —
    /// with `--reader` — time a reader's questions (session, send, answer) during the attack.
    Idle {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long, default_value_t = 5000)]
        silent: usize,
        #[arg(long, default_value_t = 5000)]
        preface: usize,
        /// The server's deadline for a first request (BOOKCHAT_HEADER_READ_TIMEOUT_SECS).
        #[arg(long, default_value_t = 10)]
        deadline_secs: u64,
        /// Also ask questions as a reader every 250 ms while the connections are open.
        #[arg(long)]
        reader: bool,
    },
    /// Listen on `proxy` and forward to Postgres at `upstream`, counting round trips (a Sync or
    /// a simple Query from the client ends one); once the server (started against the proxy)
    /// is ready at `url`, time-slice its operations and print round trips per operation.
    Trips {
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        #[arg(long)]
        proxy: String,
        #[arg(long)]
        upstream: String,
        #[arg(long, default_value_t = 50)]
        iterations: usize,
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

/// The reads the ceiling measures.
#[derive(Clone, Copy)]
enum Read {
    /// The newest page of a conversation.
    Messages(Uuid),
    /// The first page of the caller's conversation list.
    List,
}

async fn reads(url: String, db: String, concurrency: usize, seconds: u64, pid: Option<u32>, floor: Option<(String, Option<u32>)>) -> anyhow::Result<()> {
    let pool = PgPool::connect(&db).await?;
    let (token, conv) = seed(&pool, 200, 2_000).await?;
    let http = reqwest::Client::new();
    // The seeded messages are one line each; a page of what the answerer really writes
    // (Markdown, its HTML, citations with snippets) is four times the bytes to decode and encode.
    let answered = answered_conversation(&http, &url, &token, 20).await?;
    let app = Target::new("", &url, pid)?;
    let floor = floor.map(|(url, pid)| Target::new(" through the stack's floor", &url, pid)).transpose()?;
    for (label, read) in [("messages", Read::Messages(conv)), ("messages of real answers", Read::Messages(answered)), ("list", Read::List)] {
        let (endpoint, body) = match read {
            Read::Messages(id) => ("conversations/messages", json!({"conversation_id": id, "limit": 30})),
            Read::List => ("conversations/list", json!({"limit": 20})),
        };
        // Check once, fully decoded, that the read returns what was seeded — the timed loop then
        // only checks the status and that every body has this length.
        let (status, value) = post(&http, &url, Some(&token), endpoint, &body).await.map_err(|e| anyhow::anyhow!(e))?;
        let rows = value.get("messages").or_else(|| value.get("items")).and_then(Value::as_array).map_or(0, Vec::len);
        anyhow::ensure!(status == 200 && rows >= 20, "{label}: status {status}, {rows} rows");
        let path = format!("/api/{endpoint}");
        let body = body.to_string();
        let app_len = app.throughput(label, &path, &token, &body, concurrency, seconds, None).await?;
        if let Some(floor) = &floor {
            // The same bytes, or it would not be the same work.
            floor.throughput(label, &path, &token, &body, concurrency, seconds, Some(app_len)).await?;
        }
        data_layer(&db, label, read, &token, concurrency, seconds).await?;
    }
    println!("conversation_id\t{conv}");
    println!("answered_conversation_id\t{answered}");
    Ok(())
}

/// A server the reads are timed against.
struct Target {
    /// How its lines are labelled after the read's name.
    name: &'static str,
    addr: String,
    pid: Option<u32>,
}

impl Target {
    fn new(name: &'static str, url: &str, pid: Option<u32>) -> anyhow::Result<Target> {
        let addr = url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("reads needs an http:// URL"))?.trim_end_matches('/');
        Ok(Target { name, addr: addr.to_owned(), pid })
    }

    /// Sends the read from `concurrency` keep-alive connections for `seconds` and prints the
    /// rate and the CPU per request of the server and of this generator; every response must
    /// be a 200 of the first one's length (or of `expected_len`). Returns that length.
    #[allow(clippy::too_many_arguments)]
    async fn throughput(&self, label: &str, path: &str, token: &str, body: &str, concurrency: usize, seconds: u64, expected_len: Option<usize>) -> anyhow::Result<usize> {
        let name = self.name;
        let request = raw::request(&self.addr, path, token, body);
        let (status, len) = raw::Conn::connect(&self.addr).await?.send(&request).await?;
        anyhow::ensure!(status == 200, "{label}{name}: status {status}");
        if let Some(expected) = expected_len {
            anyhow::ensure!(len == expected, "{label}{name}: {len} B responses, the app's are {expected} B");
        }
        let cpu_before = self.pid.and_then(cpu_seconds);
        let own_before = cpu_seconds(std::process::id());
        let n = for_seconds(concurrency, seconds, |until, done| {
            let (addr, request) = (self.addr.clone(), request.clone());
            async move {
                let mut conn = raw::Conn::connect(&addr).await?;
                while Instant::now() < until {
                    let (status, got) = conn.send(&request).await?;
                    anyhow::ensure!(status == 200 && got == len, "status {status}, {got} bytes (expected {len})");
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
        })
        .await
        .map_err(|e| e.context(format!("{label}{name}")))?;
        let per_request = |before: Option<f64>, now: Option<f64>| before.zip(now).map(|(a, b)| (b - a) / n * 1e6);
        let cpu = per_request(cpu_before, self.pid.and_then(cpu_seconds)).map_or(String::new(), |us| format!("\tserver CPU {us:.0} µs/request"));
        let own = per_request(own_before, cpu_seconds(std::process::id())).map_or(String::new(), |us| format!("\tload generator CPU {us:.0} µs/request"));
        println!("{label}{name}\t{:.0} req/s\t(concurrency {concurrency}, {len} B responses){cpu}{own}", n / seconds as f64);
        Ok(len)
    }
}

/// A conversation of `questions` questions asked through the API and answered by the server's
/// own answerer (each send waits for its answer); returns its id.
async fn answered_conversation(http: &reqwest::Client, url: &str, token: &str, questions: usize) -> anyhow::Result<Uuid> {
    let mut conversation: Option<Uuid> = None;
    for question in QUESTIONS.iter().cycle().take(questions) {
        let body = json!({"conversation_id": conversation, "client_id": Uuid::new_v4(), "content": question});
        let (status, v) = post(http, url, Some(token), "chat/send", &body).await.map_err(|e| anyhow::anyhow!(e))?;
        let answer = &v["answer"];
        anyhow::ensure!(status == 200 && answer["status"] == "complete", "asking {question:?}: status {status}, answer {answer}");
        conversation = Some(v["conversation"]["id"].as_str().unwrap_or_default().parse()?);
    }
    conversation.ok_or_else(|| anyhow::anyhow!("no questions asked"))
}

/// Runs `concurrency` copies of `worker` (given the deadline and the shared count of what was
/// done) and waits for them all; returns the count.
async fn for_seconds<F, Fut>(concurrency: usize, seconds: u64, worker: F) -> anyhow::Result<f64>
where
    F: Fn(Instant, Arc<AtomicU64>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..concurrency).map(|_| tokio::spawn(worker(until, done.clone()))).collect();
    for t in tasks {
        t.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64)
}

/// The same read through the app's own data-layer function (sqlx, one connection per worker),
/// without HTTP: what the driver alone reaches beside pgbench, so the gap between the app and
/// pgbench splits into the driver's part and the HTTP path's part.
async fn data_layer(db: &str, label: &str, read: Read, token: &str, concurrency: usize, seconds: u64) -> anyhow::Result<()> {
    use bookchat::server::db::{conversations, messages, sessions};
    use sqlx::Connection;
    let hash = sessions::hash_secret(token);
    let own_before = cpu_seconds(std::process::id());
    let n = for_seconds(concurrency, seconds, |until, done| {
        let (db, hash, label) = (db.to_owned(), hash.clone(), label.to_owned());
        async move {
            let mut conn = sqlx::PgConnection::connect(&db).await?;
            while Instant::now() < until {
                // Both reads check what they found, as the endpoints do.
                let found = match read {
                    Read::Messages(conv) => {
                        matches!(messages::window_by_token(&mut conn, &hash, conv, None, 30).await?, messages::ByToken::Found(w) if !w.messages.is_empty())
                    }
                    Read::List => {
                        matches!(conversations::list_by_token(&mut conn, &hash, None, 20, false).await?, messages::ByToken::Found(p) if !p.items.is_empty())
                    }
                };
                anyhow::ensure!(found, "{label}: the data layer found nothing");
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    let own = cpu_seconds(std::process::id()).zip(own_before).map_or(String::new(), |(b, a)| format!("\tdriver CPU {:.0} µs/read", (b - a) / n * 1e6));
    println!("{label}\t{:.0} reads/s through the data layer, no HTTP\t(concurrency {concurrency}){own}", n / seconds as f64);
    Ok(())
}

mod floor {
    //! The stack's floor: the two history reads served the thinnest way the fixed stack allows —
    //! an axum router with one handler per read (no middleware, no Leptos server-function
    //! dispatch, no error mapping or logging), connections kept open on a plain stack — running
    //! the data layer's own statements, decoding and JSON. The app adds its edge (limits,
    //! headers, sessions, the server-function layer) on top of this; what this reaches beside
    //! pgbench bounds what any server on axum + sqlx + tokio reaches on the same machine, so the
    //! app's gap to pgbench splits into the stack's part and the app's own.
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::{Json, Router};
    use bookchat::server::db::messages::ByToken;
    use bookchat::server::db::{conversations, messages, sessions};
    use sqlx::{Connection, PgConnection};
    use std::sync::{Arc, Mutex, PoisonError};
    use uuid::Uuid;

    type Stack = Arc<Mutex<Vec<PgConnection>>>;

    /// Both reads' parameters, as the endpoints take them.
    #[derive(serde::Deserialize)]
    struct Params {
        conversation_id: Option<Uuid>,
        before: Option<i64>,
        cursor: Option<String>,
        limit: Option<u32>,
        archived: Option<bool>,
    }

    pub async fn serve(listen: String, db: String, connections: usize) -> anyhow::Result<()> {
        let mut stack = Vec::with_capacity(connections);
        for _ in 0..connections {
            stack.push(PgConnection::connect(&db).await?);
        }
        let app = Router::new()
            .route("/api/conversations/list", post(list))
            .route("/api/conversations/messages", post(window))
            .with_state(Arc::new(Mutex::new(stack)));
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        axum::serve(listener, app).await?;
        Ok(())
    }

    async fn list(State(stack): State<Stack>, headers: HeaderMap, Json(p): Json<Params>) -> Response {
        let Some(hash) = secret_hash(&headers) else { return StatusCode::UNAUTHORIZED.into_response() };
        let Some(mut conn) = take(&stack) else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
        let read = conversations::list_by_token(&mut conn, &hash, p.cursor.as_deref(), p.limit.unwrap_or(20), p.archived.unwrap_or(false)).await;
        respond(&stack, conn, read.map(|found| found_map(found, |page| page)))
    }

    async fn window(State(stack): State<Stack>, headers: HeaderMap, Json(p): Json<Params>) -> Response {
        let Some(hash) = secret_hash(&headers) else { return StatusCode::UNAUTHORIZED.into_response() };
        let Some(id) = p.conversation_id else { return StatusCode::BAD_REQUEST.into_response() };
        let Some(mut conn) = take(&stack) else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
        let read = messages::window_by_token(&mut conn, &hash, id, p.before, p.limit.unwrap_or(20)).await;
        respond(&stack, conn, read.map(|found| found_map(found, |w| w.into_page())))
    }

    fn found_map<T, U>(found: ByToken<T>, f: impl FnOnce(T) -> U) -> Option<U> {
        match found {
            ByToken::Found(t) => Some(f(t)),
            ByToken::NotFound | ByToken::NoSession => None,
        }
    }

    fn secret_hash(headers: &HeaderMap) -> Option<Vec<u8>> {
        let token = headers.get("x-bookchat-session")?.to_str().ok()?;
        Some(sessions::hash_secret(token))
    }

    fn take(stack: &Stack) -> Option<PgConnection> {
        stack.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// The connection goes back on the stack after a read that completed; a failed one is dropped.
    fn respond<T: serde::Serialize, E>(stack: &Stack, conn: PgConnection, read: Result<Option<T>, E>) -> Response {
        match read {
            Ok(found) => {
                stack.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
                match found {
                    Some(page) => Json(page).into_response(),
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

mod raw {
    //! A minimal keep-alive HTTP/1.1 client for the throughput runs: it sends a prepared request
    //! and reads the status and the body by its length, without decoding it. pgbench, the figure
    //! the reads are compared with, is a lean C client; the generator shares the two cores with
    //! the server and Postgres, so a heavier one (reqwest + a JSON decode per response cost
    //! about as much CPU as the server's own request) would count its own work against the app.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub fn request(host: &str, path: &str, token: &str, body: &str) -> Vec<u8> {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json\r\n\
             X-BookChat-Session: {token}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    pub struct Conn {
        stream: TcpStream,
        buf: Vec<u8>,
    }

    impl Conn {
        pub async fn connect(addr: &str) -> anyhow::Result<Conn> {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(Conn { stream, buf: Vec::with_capacity(64 * 1024) })
        }

        /// Sends one request; returns the response's status and body length.
        pub async fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, usize)> {
            self.stream.write_all(request).await?;
            self.buf.clear();
            let head_end = loop {
                if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                self.fill().await?;
            };
            let head = std::str::from_utf8(&self.buf[..head_end])?;
            let status: u16 = head.get(9..12).ok_or_else(|| anyhow::anyhow!("no status line"))?.parse()?;
            let header = |name: &str| {
                head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
            };
            anyhow::ensure!(header("transfer-encoding").is_none(), "chunked responses are not read here");
            let len: usize = header("content-length").ok_or_else(|| anyhow::anyhow!("no content-length"))?.parse()?;
            while self.buf.len() < head_end + len {
                self.fill().await?;
            }
            anyhow::ensure!(self.buf.len() == head_end + len, "more bytes than the response");
            Ok((status, len))
        }

        async fn fill(&mut self) -> anyhow::Result<()> {
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).await?;
            anyhow::ensure!(n > 0, "the server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

mod trips {
    //! Round trips counted on the wire: every client message that makes the server answer with
    //! ReadyForQuery — a `Sync` (extended protocol, what sqlx uses; also its ping) or a simple
    //! `Query` (BEGIN/COMMIT) — is one round trip.
    use super::post;
    use serde_json::json;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use uuid::Uuid;

    /// Counts the frontend messages that end a round trip, fed the client's byte stream in any
    /// chunking.
    #[derive(Default)]
    pub struct Counter {
        pending: Vec<u8>,
        typed: bool,
        /// A message other than Sync was sent since the last Sync: the next Sync ends a statement.
        busy: bool,
    }

    // sqlx pings every connection it returns to the pool, after the response has gone out, with
    // a bare `Sync` (no Bind/Execute before it): counted apart from the statements.

    #[derive(Default, Clone, Copy, Debug, PartialEq)]
    pub struct Trips {
        pub statements: u64,
        pub pings: u64,
    }

    impl Counter {
        pub fn feed(&mut self, bytes: &[u8]) -> Trips {
            self.pending.extend_from_slice(bytes);
            let mut trips = Trips::default();
            loop {
                if !self.typed {
                    // Untyped startup-phase messages: length, then a code.
                    if self.pending.len() < 8 {
                        break;
                    }
                    let len = u32::from_be_bytes([self.pending[0], self.pending[1], self.pending[2], self.pending[3]]) as usize;
                    if self.pending.len() < len {
                        break;
                    }
                    let code = u32::from_be_bytes([self.pending[4], self.pending[5], self.pending[6], self.pending[7]]);
                    // SSL and GSS encryption requests come before the startup message.
                    self.typed = !matches!(code, 80877103 | 80877104);
                    self.pending.drain(..len.max(8));
                } else {
                    if self.pending.len() < 5 {
                        break;
                    }
                    let len = u32::from_be_bytes([self.pending[1], self.pending[2], self.pending[3], self.pending[4]]) as usize;
                    if self.pending.len() < 1 + len {
                        break;
                    }
                    match self.pending[0] {
                        b'S' if !self.busy => trips.pings += 1,
                        b'S' | b'Q' => {
                            trips.statements += 1;
                            self.busy = false;
                        }
                        _ => self.busy = true,
                    }
                    self.pending.drain(..1 + len);
                }
            }
            trips
        }
    }

    async fn proxy(listen: String, upstream: String, trips: Arc<(AtomicU64, AtomicU64)>) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        loop {
            let (client, _) = listener.accept().await?;
            let upstream = upstream.clone();
            let trips = trips.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let down = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut cw).await });
                let mut counter = Counter::default();
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    let t = counter.feed(&buf[..n]);
                    trips.0.fetch_add(t.statements, Ordering::Relaxed);
                    trips.1.fetch_add(t.pings, Ordering::Relaxed);
                }
                let _ = sw.shutdown().await;
                down.abort();
            });
        }
    }

    async fn measure<F, Fut>(trips: &(AtomicU64, AtomicU64), n: usize, mut op: F) -> anyhow::Result<(f64, f64)>
    where
        F: FnMut(usize) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        // Let anything in flight (an answer's last write) settle before counting.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let before = (trips.0.load(Ordering::Relaxed), trips.1.load(Ordering::Relaxed));
        for i in 0..n {
            op(i).await?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let per_op = |now: u64, then: u64| (now - then) as f64 / n as f64;
        Ok((per_op(trips.0.load(Ordering::Relaxed), before.0), per_op(trips.1.load(Ordering::Relaxed), before.1)))
    }

    pub async fn run(url: String, listen: String, upstream: String, n: usize) -> anyhow::Result<()> {
        let trips = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        tokio::spawn(proxy(listen, upstream, trips.clone()));
        let http = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..600 {
            if http.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                ready = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        anyhow::ensure!(ready, "the server at {url} never became ready");
        let call = |endpoint: &'static str, token: String, body: serde_json::Value| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let (status, v) = post(&http, &url, Some(&token), endpoint, &body).await.map_err(anyhow::Error::msg)?;
                anyhow::ensure!(status == 200, "{endpoint} answered {status}: {v}");
                Ok(v)
            }
        };
        let (_, session) = post(&http, &url, None, "session/start", &json!({})).await.map_err(anyhow::Error::msg)?;
        let token = session["token"].as_str().ok_or_else(|| anyhow::anyhow!("no token"))?.to_owned();
        let ask = |conversation: Option<Uuid>, i: usize| {
            json!({"conversation_id": conversation, "client_id": Uuid::new_v4(), "content": format!("How do sensors measure joint angles? ({i})"), "wait": true})
        };
        // Warm up: every statement prepared once on the pool's connections.
        let first = call("chat/send", token.clone(), ask(None, 0)).await?;
        let conversation: Uuid = serde_json::from_value(first["conversation"]["id"].clone())?;
        for i in 0..10 {
            call("chat/send", token.clone(), ask(Some(conversation), i)).await?;
            call("conversations/messages", token.clone(), json!({"conversation_id": conversation, "limit": 30})).await?;
            call("conversations/list", token.clone(), json!({"limit": 20})).await?;
        }
        let mut rows = Vec::new();
        let new_send = measure(&trips, n, |i| {
            let c = call("chat/send", token.clone(), ask(None, i));
            async move { c.await.map(|_| ()) }
        })
        .await?;
        rows.push(("waited send, new conversation (offline answer)", new_send));
        let send = measure(&trips, n, |i| {
            let c = call("chat/send", token.clone(), ask(Some(conversation), i));
            async move { c.await.map(|_| ()) }
        })
        .await?;
        rows.push(("waited send, existing conversation", send));
        let page = measure(&trips, n, |_| {
            let c = call("conversations/messages", token.clone(), json!({"conversation_id": conversation, "limit": 30}));
            async move { c.await.map(|_| ()) }
        })
        .await?;
        rows.push(("newest page of messages", page));
        let list = measure(&trips, n, |_| {
            let c = call("conversations/list", token.clone(), json!({"limit": 20}));
            async move { c.await.map(|_| ()) }
        })
        .await?;
        rows.push(("first page of the conversation list", list));
        println!("operation\tround trips (statements)\tpool pings on release");
        for (label, (statements, pings)) in rows {
            println!("{label}\t{statements:.2}\t{pings:.2}");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::Counter;

        #[test]
        fn counts_syncs_and_queries_after_startup_in_any_chunking() {
            let mut wire = Vec::new();
            wire.extend_from_slice(&8u32.to_be_bytes());
            wire.extend_from_slice(&80877103u32.to_be_bytes()); // SSLRequest
            wire.extend_from_slice(&9u32.to_be_bytes());
            wire.extend_from_slice(&196608u32.to_be_bytes()); // StartupMessage
            wire.push(0);
            // A statement (Parse, Bind, Execute, Sync), a simple query, then a bare Sync (a ping).
            for (t, body) in [
                (b'P', &b"SELECT 1\0\0\0"[..]),
                (b'B', &b"\0\0\0\0\0\0\0\0"[..]),
                (b'E', &b"\0\0\0\0\0"[..]),
                (b'S', &b""[..]),
                (b'Q', &b"BEGIN\0"[..]),
                (b'S', &b""[..]),
            ] {
                wire.push(t);
                wire.extend_from_slice(&(4 + body.len() as u32).to_be_bytes());
                wire.extend_from_slice(body);
            }
            for chunk in [1, 3, 7, wire.len()] {
                let mut c = Counter::default();
                let (mut statements, mut pings) = (0, 0);
                for b in wire.chunks(chunk) {
                    let t = c.feed(b);
                    statements += t.statements;
                    pings += t.pings;
                }
                assert_eq!((statements, pings), (2, 1), "chunks of {chunk}");
            }
        }
    }
}

/// A class behind one school address opens the widget; then a flood from that address.
async fn classroom(url: String, readers: usize, within_secs: u64, flood: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let opened = Instant::now();
    let tasks: Vec<_> = (0..readers)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            // Spread over the window, deterministically (no two the same moment).
            let at = Duration::from_millis(within_secs * 1000 * i as u64 / readers.max(1) as u64);
            tokio::spawn(async move {
                tokio::time::sleep(at).await;
                let t = Instant::now();
                let (s, v) = post(&http, &url, None, "session/start", &json!({})).await.unwrap_or((0, Value::Null));
                if s != 200 {
                    return Err(s);
                }
                let token = v["token"].as_str().unwrap_or_default().to_owned();
                let (s, _) = post(&http, &url, Some(&token), "chat/suggestions", &json!({})).await.unwrap_or((0, Value::Null));
                if s == 200 {
                    Ok(t.elapsed().as_secs_f64() * 1000.0)
                } else {
                    Err(s)
                }
            })
        })
        .collect();
    let mut ready = Vec::new();
    let mut refused: HashMap<u16, usize> = HashMap::new();
    for t in tasks {
        match t.await? {
            Ok(ms) => ready.push(ms),
            Err(s) => *refused.entry(s).or_default() += 1,
        }
    }
    ready.sort_by(f64::total_cmp);
    println!(
        "classroom: {} of {readers} readers ready within {:.1} s (window {within_secs} s); time to ready p50 {:.0} ms, max {:.0} ms; refused {:?}",
        ready.len(),
        opened.elapsed().as_secs_f64(),
        pct(&ready, 0.5),
        ready.last().copied().unwrap_or(0.0),
        refused
    );
    // The flood: session starts from the same address, evenly over a minute.
    let started = Instant::now();
    let gap = Duration::from_secs(60).as_secs_f64() / flood.max(1) as f64;
    let mut tasks = Vec::with_capacity(flood);
    for i in 0..flood {
        let (http, url) = (http.clone(), url.clone());
        let at = Duration::from_secs_f64(gap * i as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(at).await;
            post(&http, &url, None, "session/start", &json!({})).await.map(|(s, _)| s).unwrap_or(0)
        }));
    }
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for t in tasks {
        *statuses.entry(t.await?).or_default() += 1;
    }
    println!(
        "flood: {flood} session starts from one address over {:.0} s -> {} sessions, {} refused (429), other {:?}",
        started.elapsed().as_secs_f64(),
        statuses.get(&200).copied().unwrap_or(0),
        statuses.get(&429).copied().unwrap_or(0),
        statuses.iter().filter(|(s, _)| **s != 200 && **s != 429).collect::<Vec<_>>()
    );
    Ok(())
}

/// Idle-connection attack: silent and half-preface connections against the server's
/// first-request deadline and connection cap, with a reader asking questions meanwhile.
mod idle {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What became of one attacking connection.
    enum Fate {
        /// Closed by the server this long after it was opened.
        Closed(Duration),
        /// Refused: the server answered 503 at once, or the connect failed.
        Refused,
        /// Still open when we stopped looking.
        Open,
    }

    /// Open one connection, send nothing or half the HTTP/2 preface, and wait for the server to
    /// close it; its lifetime counts from when the handshake completed.
    async fn hold(addr: String, preface: bool, give_up: Duration) -> Fate {
        let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&addr)).await else {
            return Fate::Refused;
        };
        let opened = Instant::now();
        if preface && s.write_all(b"PRI * HTTP/2.0\r\n").await.is_err() {
            return Fate::Closed(opened.elapsed());
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout(give_up, s.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 && String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 503") => Fate::Refused,
            Ok(_) => Fate::Closed(opened.elapsed()),
            Err(_) => Fate::Open,
        }
    }

    pub async fn run(url: String, silent: usize, preface: usize, deadline_secs: u64, reader: bool) -> anyhow::Result<()> {
        let limit = bookchat::server::http::serve::raise_descriptor_limit();
        let addr = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let give_up = Duration::from_secs(deadline_secs + 15);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader_task = reader.then(|| {
            let (url, stop) = (url.clone(), stop.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(0).build().expect("client");
                let (mut times, mut failures) = (Vec::new(), 0u32);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let ok = match post(&http, &url, None, "session/start", &json!({})).await {
                        Ok((200, v)) => {
                            let token = v["token"].as_str().unwrap_or_default().to_owned();
                            let body = json!({"client_id": Uuid::new_v4(), "content": QUESTIONS[i % QUESTIONS.len()], "wait": true});
                            matches!(post(&http, &url, Some(&token), "chat/send", &body).await, Ok((200, _)))
                        }
                        _ => false,
                    };
                    if ok {
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        failures += 1;
                    }
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                (times, failures)
            })
        });
        // Let the reader get going before the attack.
        tokio::time::sleep(Duration::from_millis(500)).await;
        // As fast as the server's accept queue takes them: 500 at a time, 50 ms apart (10,000 in
        // a second); faster, the kernel's queue overflows and connections wait on retransmitted
        // handshakes — or, silent behind SYN cookies, exist on the client only.
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(silent + preface);
        for i in 0..silent + preface {
            tasks.push(tokio::spawn(hold(addr.clone(), i >= silent, give_up)));
            if i % 500 == 499 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let opened_in = started.elapsed();
        let (mut closed, mut refused, mut open, mut late) = (Vec::new(), 0usize, 0usize, 0usize);
        for t in tasks {
            match t.await? {
                Fate::Closed(d) => {
                    if d > Duration::from_secs(deadline_secs + 1) {
                        late += 1;
                    }
                    closed.push(d.as_secs_f64());
                }
                Fate::Refused => refused += 1,
                Fate::Open => open += 1,
            }
        }
        stop.store(true, Ordering::Relaxed);
        closed.sort_by(f64::total_cmp);
        println!("descriptor limit (this process)\t{limit}");
        println!("connections attempted\t{} ({} silent, {} half HTTP/2 preface), started over {:.1} s", silent + preface, silent, preface, opened_in.as_secs_f64());
        println!("closed by the server\t{} (median after {:.1} s, slowest {:.1} s)", closed.len(), pct(&closed, 0.5), closed.last().copied().unwrap_or(0.0));
        println!("closed later than the deadline + 1 s\t{late}");
        println!("refused at once (503 or connect failed)\t{refused}");
        println!("still open after {} s\t{open}", give_up.as_secs());
        if let Some(task) = reader_task {
            let (mut times, failures) = task.await?;
            times.sort_by(f64::total_cmp);
            println!(
                "reader during the attack\t{} questions answered, {} failed; answer time p50 {:.0} ms, max {:.0} ms",
                times.len(),
                failures,
                pct(&times, 0.5),
                times.last().copied().unwrap_or(0.0)
            );
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Chat { url, chatters, messages, database_url, server_pid, out, think_ms } => {
            chat(url, chatters, messages, database_url, server_pid, out, think_ms).await
        }
        Cmd::Scaling { url, database_url, iterations } => scaling(url, database_url, iterations).await,
        Cmd::Reads { url, database_url, concurrency, seconds, server_pid, floor_url, floor_pid } => {
            reads(url, database_url, concurrency, seconds, server_pid, floor_url.map(|u| (u, floor_pid))).await
        }
        Cmd::Floor { listen, database_url, connections } => floor::serve(listen, database_url, connections).await,
        Cmd::Trips { url, proxy, upstream, iterations } => trips::run(url, proxy, upstream, iterations).await,
        Cmd::Idle { url, silent, preface, deadline_secs, reader } => idle::run(url, silent, preface, deadline_secs, reader).await,
        Cmd::Classroom { url, readers, within_secs, flood } => classroom(url, readers, within_secs, flood).await,
    }
}

use bookchat::server::book::embed::Embedder;
use bookchat::server::config::{AppConfig, DbConfig, EmbedConfig, LimitsConfig, LlmConfig, RetentionConfig};
use bookchat::server::state::AppState;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// The sentence-embedding model, when `BOOKCHAT_EMBED_MODEL_DIR` names one (as `scripts/test`
/// does): loaded once per test process and shared.
pub fn embedder() -> Option<Arc<Embedder>> {
    static MODEL: OnceLock<Option<Arc<Embedder>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = std::env::var("BOOKCHAT_EMBED_MODEL_DIR").ok().filter(|d| !d.is_empty())?;
            Some(Arc::new(Embedder::load(std::path::Path::new(&dir)).expect("the configured embedding model loads")))
        })
        .clone()
}

/// Ingest a book folder as the server does (with the model when there is one).
pub async fn ingest(pool: &PgPool, dir: &std::path::Path, prune: bool) -> bookchat::server::book::ingest::IngestReport {
    bookchat::server::book::ingest::ingest_dir(pool, pool, dir, prune, false, embedder().as_ref()).await.expect("ingest")
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
}

impl TestApp {
    /// The app around this test's database, with the sample book ingested.
    pub async fn spawn(pool: PgPool) -> TestApp {
        Self::spawn_with(pool, true, |_| {}).await
    }

    pub async fn spawn_without_book(pool: PgPool) -> TestApp {
        Self::spawn_with(pool, false, |_| {}).await
    }

    /// The app with a configuration tweak (e.g. a language model provider).
    pub async fn spawn_with(pool: PgPool, with_book: bool, tweak: impl FnOnce(&mut AppConfig)) -> TestApp {
        if with_book {
            let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/docs");
            ingest(&pool, &book, false).await;
        }
        let mut config = AppConfig {
            db: DbConfig {
                database_url: String::new(),
                database_read_url: None,
                database_max_connections: 5,
                database_acquire_timeout_secs: 5,
                database_disable_statement_cache: false,
                database_direct_url: None,
            },
            site_base_url: "https://book.example".into(),
            book_dir: String::new(),
            book_title: String::new(),
            llm: LlmConfig { base_url: None, api_key: None, model: "test-model".into(), timeout_secs: 5, max_tokens: 512 },
            embed: EmbedConfig::default(),
            admin_secret: None,
            identity_secret: None,
            identity_legacy_hash: false,
            identity_audience: None,
            identity_issuer: None,
            identity_max_token_secs: 86_400,
            allowed_origins: vec!["https://book.example".into()],
            demo_site: true,
            metrics_addr: None,
            demo_hosts: vec![],
            public_url: String::new(),
            limits: LimitsConfig {
                per_ip: 0,
                sessions_per_ip: 0,
                sessions_burst_per_ip: 0,
                questions_per_ip: 0,
                max_answers_per_ip: 32,
                questions_per_session: 0,
                questions_per_user: 0,
                admin_failures_per_ip: 0,
                trusted_proxies: 0,
                trust_proxy_headers: false,
                max_concurrent_answers: 32,
                answer_db_connections: 3,
            },
            shutdown_grace_secs: 1,
            ready_cache_secs: 0,
            migrate_on_start: true,
            shutdown_ready_delay_secs: 0,
            header_read_timeout_secs: 10,
            connection_idle_secs: 60,
            max_connections: 0,
            request_timeout_secs: 150,
            stream_idle_secs: 60,
            retention: RetentionConfig { conversation_days: 0, log_anonymize_days: 90, interval_secs: 0 },
        };
        tweak(&mut config);
        let leptos_options = leptos::config::LeptosOptions::builder().output_name("bookchat").site_root("target/site").build();
        let state = AppState::new(leptos_options, pool.clone(), pool.clone(), config).with_embedder(embedder());
        Self::serve(state).await
    }

    /// Serve a prepared state on a loopback port.
    pub async fn serve(state: AppState) -> TestApp {
        bookchat::server::http::start_background(&state);
        let app = bookchat::routes::router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let options = state.config.http_options();
        tokio::spawn(bookchat::server::http::serve::serve(listener, app, options, std::future::pending()));
        // The server closes a keep-alive connection that sends nothing for its header-read timeout
        // (10 s here); a client reusing one idle that long races that close (a test waiting on
        // slow answers saw `IncompleteMessage`). Clients should drop idle connections sooner.
        let http = reqwest::Client::builder().pool_idle_timeout(std::time::Duration::from_secs(5)).build().expect("http client");
        TestApp { base: format!("http://{addr}"), http, state }
    }

    /// POST JSON to an endpoint with an optional session token; returns status and JSON body.
    pub async fn call(&self, token: Option<&str>, endpoint: &str, body: Value) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}/api/{endpoint}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.header("X-BookChat-Session", t);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn raw(&self, token: Option<&str>, endpoint: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, String) {
        let mut req = self.http.post(format!("{}/api/{endpoint}", self.base)).header("content-type", content_type).body(body);
        if let Some(t) = token {
            req = req.header("X-BookChat-Session", t);
        }
        let res = req.send().await.expect("request");
        (res.status(), res.text().await.expect("body"))
    }

    pub async fn get(&self, path: &str, auth: Option<(&str, &str)>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        req.send().await.expect("request")
    }

    pub async fn guest(&self) -> Reader<'_> {
        let (status, body) = self.call(None, "session/start", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["token"].as_str().expect("new session has a token").to_owned();
        Reader { app: self, token, session_id: body["session_id"].as_str().expect("id").parse().expect("uuid") }
    }
}

/// A browser session talking to the app.
pub struct Reader<'a> {
    pub app: &'a TestApp,
    pub token: String,
    pub session_id: Uuid,
}

impl Reader<'_> {
    /// Identify; on success the reader carries the session's new token from then on.
    pub async fn identify(&mut self, body: Value) -> (StatusCode, Value) {
        let (s, info) = self.call("session/identify", body).await;
        if let Some(t) = info["token"].as_str() {
            self.token = t.to_owned();
        }
        (s, info)
    }

    pub async fn call(&self, endpoint: &str, body: Value) -> (StatusCode, Value) {
        self.app.call(Some(&self.token), endpoint, body).await
    }

    /// Send a question and insist it succeeds.
    pub async fn ask(&self, conversation: Option<&str>, text: &str) -> Value {
        let (status, body) = self
            .call("chat/send", json!({ "conversation_id": conversation, "client_id": Uuid::new_v4(), "content": text }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Send without waiting for the answer (it comes back `streaming`).
    pub async fn ask_streaming(&self, conversation: Option<&str>, text: &str) -> Value {
        let (status, body) = self
            .call(
                "chat/send",
                json!({ "conversation_id": conversation, "client_id": Uuid::new_v4(), "content": text, "wait": false }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Read a whole `chat/stream` response: its events, parsed.
    pub async fn stream(&self, message_id: i64) -> Vec<Value> {
        let res = self
            .app
            .http
            .post(format!("{}/api/chat/stream", self.app.base))
            .header("X-BookChat-Session", &self.token)
            .json(&json!({ "message_id": message_id }))
            .send()
            .await
            .expect("stream request");
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.expect("stream body");
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("event json")).collect()
    }

    pub async fn list(&self, cursor: Option<&str>, limit: u32, archived: bool) -> Value {
        let (status, body) =
            self.call("conversations/list", json!({ "cursor": cursor, "limit": limit, "archived": archived })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// The plan (`EXPLAIN ANALYZE`, JSON) of the statement the data layer prepared on `conn` whose
/// text contains `marker`, executed again with `args` (SQL literals): the plan that connection
/// really runs, as sqlx prepares each statement once per connection.
pub async fn explain_prepared(conn: &mut sqlx::PgConnection, marker: &str, args: &str) -> Value {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pg_prepared_statements
          WHERE strpos(statement, $1) > 0 AND strpos(statement, 'pg_prepared_statements') = 0",
    )
    .bind(marker)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let [name] = names.as_slice() else { panic!("{} statements on this connection contain {marker:?}", names.len()) };
    sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}({args})")).fetch_one(&mut *conn).await.unwrap()
}

/// Rows a plan read from `table`: what its scans returned plus what their filters threw away,
/// over all loops.
pub fn rows_read(plan: &Value, table: &str) -> i64 {
    fn walk(node: &Value, table: &str) -> i64 {
        let loops = node["Actual Loops"].as_i64().unwrap_or(1);
        let own = if node["Relation Name"] == table {
            (node["Actual Rows"].as_i64().unwrap_or(0) + node["Rows Removed by Filter"].as_i64().unwrap_or(0)) * loops
        } else {
            0
        };
        own + node["Plans"].as_array().map_or(0, |ps| ps.iter().map(|p| walk(p, table)).sum())
    }
    walk(&plan[0]["Plan"], table)
}


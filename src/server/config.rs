//! Typed configuration, read from flags or the environment (and `.env` in development).
//! Secrets have no defaults: a feature that needs one stays off until it is configured.

use clap::Args;
use std::fmt;

/// A secret value that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.trim().to_owned()))
    }
}

/// A password: long enough not to be guessed online.
fn strong_secret(s: &str) -> Result<Secret, String> {
    if s.trim().len() < 16 {
        return Err("must be at least 16 characters".into());
    }
    Ok(Secret(s.trim().to_owned()))
}

/// A signing key: any reader holds a value signed with it (their id and hash, or a token) and
/// can try keys offline, so it must be long enough that brute force is hopeless.
pub fn signing_secret(s: &str) -> Result<Secret, String> {
    if s.trim().len() < 32 {
        return Err("must be at least 32 bytes (e.g. `openssl rand -hex 32`)".into());
    }
    Ok(Secret(s.trim().to_owned()))
}

/// An OpenAI-compatible chat-completions provider (OpenAI, Ollama, vLLM, llama.cpp server…).
/// Unset `LLM_BASE_URL` keeps the offline extractive answerer.
#[derive(Debug, Clone, Args)]
pub struct LlmConfig {
    /// Base URL including the API version, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1`.
    #[arg(long = "llm-base-url", env = "LLM_BASE_URL")]
    pub base_url: Option<String>,

    /// Bearer key for the provider (optional for local servers).
    #[arg(long = "llm-api-key", env = "LLM_API_KEY", hide_env_values = true)]
    pub api_key: Option<Secret>,

    /// Model name as the provider knows it.
    #[arg(long = "llm-model", env = "LLM_MODEL", default_value = "gpt-4o-mini")]
    pub model: String,

    /// Seconds to wait for the first token, and between tokens, before giving up.
    #[arg(long = "llm-timeout-secs", env = "LLM_TIMEOUT_SECS", default_value_t = 30)]
    pub timeout_secs: u64,

    /// Most tokens a model may write for one answer (sent as `max_tokens`; an answer is also
    /// cut, with a note, at 30,000 characters whatever the provider does).
    #[arg(long = "llm-max-tokens", env = "LLM_MAX_TOKENS", default_value_t = 1024)]
    pub max_tokens: u32,
}

/// The sentence-embedding model for dense retrieval.
#[derive(Debug, Clone, Default, Args)]
pub struct EmbedConfig {
    /// A sentence-transformers BERT folder (`config.json`, `tokenizer.json`,
    /// `model.safetensors`, optionally `SHA256SUMS`). Default: `.data/models/all-MiniLM-L6-v2`
    /// when present (the setup scripts put it there). `none`: BM25 only.
    #[arg(long = "embed-model-dir", env = "BOOKCHAT_EMBED_MODEL_DIR")]
    pub model_dir: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct DbConfig {
    /// Postgres connection string (`postgres://user:pass@host/db?sslmode=require` for Neon).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// Optional read replica for history and list reads.
    #[arg(long, env = "DATABASE_READ_URL")]
    pub database_read_url: Option<String>,

    /// Maximum connections per instance (Neon's pooler multiplexes many clients; keep this
    /// modest and scale instances instead).
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Seconds to wait for a connection before failing a request with "temporarily unavailable".
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_SECS", default_value_t = 3)]
    pub database_acquire_timeout_secs: u64,

    /// Disable the prepared-statement cache.
    #[arg(long, env = "DATABASE_DISABLE_STATEMENT_CACHE", default_value_t = false)]
    pub database_disable_statement_cache: bool,

    /// A direct (session) connection to the same database, when `DATABASE_URL` goes through a
    /// transaction-mode pooler (Neon's `-pooler` host): migrations, LISTEN and advisory locks
    /// need a session and use it.
    #[arg(long, env = "DATABASE_DIRECT_URL")]
    pub database_direct_url: Option<String>,
}

impl DbConfig {
    /// The direct URL, when it is set and differs from `DATABASE_URL`.
    pub fn direct_url(&self) -> Option<&str> {
        self.database_direct_url.as_deref().map(str::trim).filter(|u| !u.is_empty() && *u != self.database_url.trim())
    }
}

#[derive(Debug, Clone, Args)]
pub struct AppConfig {
    #[command(flatten)]
    pub db: DbConfig,

    /// Base URL of the book site that citations link to (no trailing slash). Empty means this
    /// server's own demo book pages (`/docs/...`).
    #[arg(long, env = "BOOKCHAT_SITE_BASE_URL", default_value = "")]
    pub site_base_url: String,

    /// Folder of Markdown/MDX pages to ingest at start-up (skipped when empty).
    #[arg(long, env = "BOOKCHAT_BOOK_DIR", default_value = "")]
    pub book_dir: String,

    /// The book's name for AI agents (`/llms.txt`'s title, the MCP server's instructions);
    /// the first page's title when empty.
    #[arg(long, env = "BOOKCHAT_BOOK_TITLE", default_value = "")]
    pub book_title: String,

    #[command(flatten)]
    pub llm: LlmConfig,

    #[command(flatten)]
    pub embed: EmbedConfig,

    /// Shared secret for verifying host users: the host's backend signs a short-lived HS256 JWT
    /// (`sub` = user id, `exp`) — or, legacy, `userHash = hex(HMAC-SHA256(secret, userId))` —
    /// for `BookChat.identify`. At least 32 bytes. Unset: everyone is a guest.
    #[arg(long, env = "BOOKCHAT_IDENTITY_SECRET", value_parser = signing_secret, hide_env_values = true)]
    pub identity_secret: Option<Secret>,

    /// Also accept the legacy `userHash` (it never expires): off unless set. Its key is derived
    /// from the identity secret (`bookchat identity-key` prints it for the host), never the
    /// secret itself, so a hash can never pass for a token's signature.
    #[arg(long, env = "BOOKCHAT_IDENTITY_LEGACY_HASH", default_value_t = false)]
    pub identity_legacy_hash: bool,

    /// When set, identity tokens must carry this `aud`.
    #[arg(long, env = "BOOKCHAT_IDENTITY_AUDIENCE")]
    pub identity_audience: Option<String>,

    /// When set, identity tokens must carry this `iss`.
    #[arg(long, env = "BOOKCHAT_IDENTITY_ISSUER")]
    pub identity_issuer: Option<String>,

    /// Longest lifetime an identity token may have (`exp` this far from now, or from its `iat`).
    #[arg(long, env = "BOOKCHAT_IDENTITY_MAX_TOKEN_SECS", default_value_t = 86_400)]
    pub identity_max_token_secs: u64,

    /// Host-site origins allowed to embed the widget (comma-separated, e.g.
    /// `https://book.example.org,https://preview.example.org`). Drives the
    /// `Content-Security-Policy: frame-ancestors` of the widget pages. This server's own origin
    /// is always allowed.
    #[arg(long, env = "BOOKCHAT_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// Serve Prometheus metrics at `GET /metrics` on this address (e.g. `127.0.0.1:9464`, or a
    /// private interface): never on the public port. Unset: no metrics listener.
    #[arg(long, env = "BOOKCHAT_METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// Serve the demo host site — the ingested book as pages that embed the widget — at `/`
    /// and `/docs/…` (and on `BOOKCHAT_DEMO_HOSTS`). Off unless asked: in production it would
    /// republish the whole book on the chat server's origin. `scripts/run` turns it on.
    #[arg(long, env = "BOOKCHAT_DEMO_SITE", default_value_t = false)]
    pub demo_site: bool,

    /// Extra addresses serving the demo host site (for trying or testing a cross-origin embed),
    /// comma-separated `ip:port`s. Their pages load embed.js from `BOOKCHAT_PUBLIC_URL`.
    #[arg(long, env = "BOOKCHAT_DEMO_HOSTS", value_delimiter = ',')]
    pub demo_hosts: Vec<std::net::SocketAddr>,

    /// This server's public origin (e.g. `https://chat.example.org`), used by the demo host
    /// listeners to load embed.js. Defaults to `http://<LEPTOS_SITE_ADDR>`.
    #[arg(long, env = "BOOKCHAT_PUBLIC_URL", default_value = "")]
    pub public_url: String,

    #[command(flatten)]
    pub limits: LimitsConfig,

    #[command(flatten)]
    pub retention: RetentionConfig,

    /// A client must send a request's headers within this many seconds (slow clients cannot
    /// hold connections open).
    #[arg(long, env = "BOOKCHAT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// A connection that has made requests but sends no new one for this many seconds is
    /// ended gracefully (what it is sending finishes first).
    #[arg(long, env = "BOOKCHAT_CONNECTION_IDLE_SECS", default_value_t = 60)]
    pub connection_idle_secs: u64,

    /// Open connections at most on this instance; at the cap the oldest connection that has
    /// not sent a request is closed to make room, else the newcomer gets `503`. 0: nine tenths of
    /// the open-file limit (raised to its hard limit at start).
    #[arg(long, env = "BOOKCHAT_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,

    /// A request (other than an answer stream) must be answered within this many seconds
    /// (a waited `chat/send` takes up to two minutes).
    #[arg(long, env = "BOOKCHAT_REQUEST_TIMEOUT_SECS", default_value_t = 150)]
    pub request_timeout_secs: u64,

    /// An answer stream that has sent nothing for this many seconds ends (the widget resumes it).
    #[arg(long, env = "BOOKCHAT_STREAM_IDLE_SECS", default_value_t = 60)]
    pub stream_idle_secs: u64,

    /// Apply pending migrations at start-up. Set false when migrations are their own deploy
    /// step (`bookchat migrate`, run once before the new release's instances start): a server
    /// then refuses a database behind it and serves one a newer release migrated.
    #[arg(long, env = "BOOKCHAT_MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,

    /// How long `/readyz` trusts its last database check (seconds). A probe every few seconds
    /// that queried the database each time would keep a scale-to-zero database (Neon) awake: set
    /// this above its suspend timeout (Neon's default: 300) to let it sleep.
    #[arg(long, env = "BOOKCHAT_READY_CACHE_SECS", default_value_t = 30)]
    pub ready_cache_secs: u64,

    /// On SIGTERM, how long `/readyz` says "draining" (503) while the server still serves, so a
    /// load balancer stops sending new requests before connections are drained.
    #[arg(long, env = "BOOKCHAT_SHUTDOWN_READY_DELAY_SECS", default_value_t = 5)]
    pub shutdown_ready_delay_secs: u64,

    /// On SIGTERM, how long answers being written and open connections (streams included) may
    /// take to finish before answers are stored as interrupted and connections closed.
    #[arg(long, env = "BOOKCHAT_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Password of the /admin page (HTTP Basic, any user name), at least 16 characters.
    /// Unset: the admin page does not exist.
    #[arg(long, env = "BOOKCHAT_ADMIN_SECRET", value_parser = strong_secret, hide_env_values = true)]
    pub admin_secret: Option<Secret>,
}

/// Rate limits (per minute; 0 disables one) and the bounds on work.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// API calls (and demo pages) per minute from one client (IPv6: one /64).
    #[arg(long = "rate-per-ip", env = "BOOKCHAT_RATE_PER_IP", default_value_t = 600)]
    pub per_ip: u32,
    /// New sessions per minute from one client. A school's readers share one address: with
    /// the burst below, a class of 60 opening the widget within seconds all get a session, and a
    /// flood gets at most 60 + 120 a minute.
    #[arg(long = "rate-sessions-per-ip", env = "BOOKCHAT_RATE_SESSIONS_PER_IP", default_value_t = 120)]
    pub sessions_per_ip: u32,
    /// New sessions one client may start at once.
    #[arg(long = "rate-sessions-burst-per-ip", env = "BOOKCHAT_RATE_SESSIONS_BURST_PER_IP", default_value_t = 60)]
    pub sessions_burst_per_ip: u32,
    /// Questions per minute from all sessions of one client together (bursts of a third): a
    /// class of 60 asking four a minute each. New sessions cannot multiply it.
    #[arg(long = "rate-questions-per-ip", env = "BOOKCHAT_RATE_QUESTIONS_PER_IP", default_value_t = 240)]
    pub questions_per_ip: u32,
    /// Answers being generated at once for one client (0: half of
    /// `BOOKCHAT_MAX_CONCURRENT_ANSWERS`), so one address cannot take every answer slot.
    #[arg(long = "max-answers-per-ip", env = "BOOKCHAT_MAX_ANSWERS_PER_IP", default_value_t = 0)]
    pub max_answers_per_ip: u32,
    /// Questions per minute from one session.
    #[arg(long = "rate-questions-per-session", env = "BOOKCHAT_RATE_QUESTIONS_PER_SESSION", default_value_t = 20)]
    pub questions_per_session: u32,
    /// Questions per minute from one user (all their devices).
    #[arg(long = "rate-questions-per-user", env = "BOOKCHAT_RATE_QUESTIONS_PER_USER", default_value_t = 40)]
    pub questions_per_user: u32,
    /// Failed /admin logins per minute from one client before it is refused.
    #[arg(long = "admin-failures-per-ip", env = "BOOKCHAT_ADMIN_FAILURES_PER_IP", default_value_t = 10)]
    pub admin_failures_per_ip: u32,
    /// Proxies in front of BookChat that append the client's address to `X-Forwarded-For`
    /// (0: use the connection's address). The client is that many entries from the right; what
    /// is further left was written by the client and is ignored.
    #[arg(long = "trusted-proxies", env = "BOOKCHAT_TRUSTED_PROXIES", default_value_t = 0)]
    pub trusted_proxies: u8,
    /// Legacy switch for one trusted proxy (same as `BOOKCHAT_TRUSTED_PROXIES=1`).
    #[arg(long = "trust-proxy-headers", env = "BOOKCHAT_TRUST_PROXY_HEADERS", default_value_t = false)]
    pub trust_proxy_headers: bool,
    /// Answers being generated at once on this instance; a question beyond that is refused with
    /// `503` and `Retry-After` (nothing stored; the widget keeps it for a retry).
    #[arg(long = "max-concurrent-answers", env = "BOOKCHAT_MAX_CONCURRENT_ANSWERS", default_value_t = 32)]
    pub max_concurrent_answers: u32,
    /// Database connections answers may use (a pool of their own, so they never take the
    /// connections history reads need).
    #[arg(long = "answer-db-connections", env = "BOOKCHAT_ANSWER_DB_CONNECTIONS", default_value_t = 3)]
    pub answer_db_connections: u32,
}

impl LimitsConfig {
    /// Proxy hops whose `X-Forwarded-For` entries are trusted.
    pub fn proxy_hops(&self) -> usize {
        match (self.trusted_proxies, self.trust_proxy_headers) {
            (0, true) => 1,
            (n, _) => usize::from(n),
        }
    }
}

/// What is kept, and for how long.
#[derive(Debug, Clone, Args)]
pub struct RetentionConfig {
    /// Delete users' conversations with no activity for this many days (0 = keep forever).
    /// Guests' data is always deleted once their session expires (24 h after last activity).
    #[arg(long = "retention-days", env = "BOOKCHAT_RETENTION_DAYS", default_value_t = 0)]
    pub conversation_days: u32,
    /// Anonymise query-log rows (question, answer and session removed) after this many days.
    #[arg(long = "log-anonymize-days", env = "BOOKCHAT_LOG_ANONYMIZE_DAYS", default_value_t = 90)]
    pub log_anonymize_days: u32,
    /// Seconds between runs of the in-process retention job (0 = only `bookchat retention`).
    #[arg(long = "retention-interval-secs", env = "BOOKCHAT_RETENTION_INTERVAL_SECS", default_value_t = 600)]
    pub interval_secs: u64,
}

/// `scheme://host[:port]`, nothing else (no path, no trailing slash).
fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim().trim_end_matches('/');
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).ok_or("origins start with http:// or https://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ', '*', ';', '\'', '"']) {
        return Err(format!("{s:?} is not an origin like https://book.example.org"));
    }
    Ok(s.to_owned())
}

impl AppConfig {
    pub fn http_options(&self) -> super::http::serve::HttpOptions {
        super::http::serve::HttpOptions {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: std::time::Duration::from_secs(self.connection_idle_secs.max(1)),
            max_connections: self.max_connections,
            grace: std::time::Duration::from_secs(self.shutdown_grace_secs),
        }
    }

    /// Link to a section of the book.
    pub fn citation_url(&self, route: &str, anchor: &str) -> String {
        let base = self.site_base_url.trim_end_matches('/');
        if anchor.is_empty() {
            format!("{base}{route}")
        } else {
            format!("{base}{route}#{anchor}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_secrets_are_long_and_passwords_long_enough() {
        assert!(signing_secret("sixteen-chars-xx").is_err(), "16 bytes can be brute-forced from a reader's own hash");
        assert!(signing_secret(&"k".repeat(31)).is_err());
        assert_eq!(signing_secret(&format!(" {} ", "k".repeat(32))).unwrap().expose(), "k".repeat(32));
        assert!(strong_secret("short").is_err());
        assert!(strong_secret("sixteen-chars-xx").is_ok());
    }
}

//! Command line: `bookchat [serve]`, `bookchat migrate`, `bookchat ingest <dir>`.

pub mod eval;

use crate::server::book::embed::{self, Embedder};
use crate::server::book::ingest;
use crate::server::config::{AppConfig, DbConfig, EmbedConfig};
use crate::server::db;
use crate::server::state::AppState;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "bookchat", version, about = "Grounded 'ask the book' chat for textbook sites")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the widget, the API and the demo book (the default).
    Serve(AppConfig),
    /// Apply pending database migrations and exit (`--revert`: undo the newest one with its
    /// down file; `--revert-to VERSION`: undo every migration after VERSION).
    Migrate {
        #[command(flatten)]
        db: DbConfig,
        #[arg(long, conflicts_with = "revert_to")]
        revert: bool,
        #[arg(long)]
        revert_to: Option<i64>,
    },
    /// Load a folder of Markdown/MDX pages into the database.
    Ingest {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        embed: EmbedConfig,
        /// The book's docs folder.
        dir: PathBuf,
        /// Delete pages whose source file no longer exists.
        #[arg(long)]
        prune: bool,
    },
    /// Print the link of every section of a book folder (`route#anchor`, one JSON object per
    /// line), as citations will use them; needs no database.
    Sections {
        /// The book's docs folder.
        dir: PathBuf,
    },
    /// Run the retention job once (expire guests, delete old data, anonymise the log).
    Retention {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        retention: crate::server::config::RetentionConfig,
    },
    /// Print the key of the legacy `userHash` scheme (hex), derived from the identity secret,
    /// for a host that turns the scheme on (`BOOKCHAT_IDENTITY_LEGACY_HASH=true`).
    IdentityKey {
        #[arg(long, env = "BOOKCHAT_IDENTITY_SECRET", value_parser = crate::server::config::signing_secret, hide_env_values = true)]
        identity_secret: crate::server::config::Secret,
    },
    /// Delete everything stored about a host user (GDPR erasure request).
    DeleteUser {
        #[command(flatten)]
        db: DbConfig,
        /// The host site's user id (as passed to identify).
        external_id: String,
    },
    /// Measure BookChat on one or more books: retrieval, citations, key phrases, refusals,
    /// answer and ingest time, by question kind, with a macro average over the books (on a
    /// fresh database: it ingests each book itself, one after the other).
    Eval {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        embed: EmbedConfig,
        /// A question set: a folder with `docs/` (the book), `questions.json` and
        /// `offtopic.json` (the development books' layout). Repeat for several books.
        #[arg(long = "set")]
        sets: Vec<PathBuf>,
        /// Or one book's docs folder, with `--questions` and `--offtopic`.
        #[arg(long, requires = "questions")]
        book: Option<PathBuf>,
        /// On-topic questions (JSON, the development books' format: question, source,
        /// heading, answer_contains, also, in_code, kind).
        #[arg(long, requires = "book")]
        questions: Option<PathBuf>,
        /// Questions the book does not cover (JSON list of {id, question}).
        #[arg(long, requires = "book")]
        offtopic: Option<PathBuf>,
        /// Rounds over the questions for the answer-time figures (0 = skip).
        #[arg(long, default_value_t = 3)]
        latency_rounds: usize,
        /// Also time answers on the last book loaded this many times under different routes.
        #[arg(long, default_value_t = 1)]
        scale: usize,
        /// Also compare ranking configurations (BM25, dense, fusions) on each book.
        #[arg(long)]
        compare: bool,
        /// Write per-question details (ranks, answers) as `eval-<set>.md` into this folder.
        #[arg(long)]
        details: Option<PathBuf>,
    },
    /// Ask this machine's server whether it is ready (`/readyz`): exit 0 if so. The image's
    /// HEALTHCHECK, which has no curl to do it with.
    Probe {
        /// The URL to ask; by default `/readyz` on loopback at `LEPTOS_SITE_ADDR`'s port.
        #[arg(long)]
        url: Option<String>,
    },
    /// Calibrate the similarity at which a pinned answer answers a question, on development
    /// books' questions: every pair of questions with different answers must stay below it.
    CalibratePins {
        #[command(flatten)]
        embed: EmbedConfig,
        /// A development book's folder (`questions.json`, `offtopic.json`). Repeat for several.
        #[arg(long = "set", required = true)]
        sets: Vec<PathBuf>,
    },
}

/// `app` builds the HTTP application around the prepared state (`crate::routes::router`): it is
/// passed in so that nothing under `server/` depends on the UI shell the router renders.
pub async fn main(app: fn(AppState) -> axum::Router) -> ExitCode {
    let _ = dotenvy::dotenv();
    init_tracing();
    let mut args: Vec<String> = std::env::args().collect();
    if args.len() == 1 {
        args.push("serve".into());
    }
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Serve(cfg) => serve(cfg, app).await,
        Command::Migrate { db, revert, revert_to } => migrate(&db, revert, revert_to).await,
        Command::Ingest { db, embed, dir, prune } => ingest(&db, &embed, &dir, prune).await,
        Command::Sections { dir } => print_sections(&dir),
        Command::IdentityKey { identity_secret } => {
            println!("{}", hex::encode(crate::server::chat::identity::legacy_hash_key(identity_secret.expose())));
            Ok(())
        }
        Command::Retention { db, retention } => {
            match connect_both(&db).await {
                Ok((pool, direct)) => crate::server::db::privacy::run(&direct, &pool, &retention)
                    .await
                    .map(|r| println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default()))
                    .map_err(|e| anyhow::anyhow!("{e}")),
                Err(e) => Err(e),
            }
        }
        Command::DeleteUser { db, external_id } => match connect_with_retry(&db, &db.database_url).await {
            Ok(pool) => match crate::server::db::privacy::erase_external_user(&pool, &external_id).await {
                Ok(Some(e)) => {
                    println!("deleted user {external_id}: {}", serde_json::to_string(&e).unwrap_or_default());
                    Ok(())
                }
                Ok(None) => Err(anyhow::anyhow!("no user with host id {external_id:?}")),
                Err(e) => Err(anyhow::anyhow!("{e}")),
            },
            Err(e) => Err(e),
        },
        Command::Eval { db, embed, sets, book, questions, offtopic, latency_rounds, scale, compare, details } => {
            let mut sets: Vec<eval::EvalSet> = sets.iter().map(|d| eval::EvalSet::folder(d)).collect();
            if let (Some(book), Some(questions)) = (book, questions) {
                sets.push(eval::EvalSet { book, questions, offtopic });
            }
            let args = eval::EvalArgs { sets, latency_rounds, scale, compare, details };
            evaluate(&db, &embed, &args).await
        }
        Command::Probe { url } => probe(url).await,
        Command::CalibratePins { embed, sets } => (|| {
            let embedder = load_embedder(&embed)?.ok_or_else(|| anyhow::anyhow!("calibrating needs the embedding model"))?;
            let sets: Vec<eval::EvalSet> = sets.iter().map(|d| eval::EvalSet::folder(d)).collect();
            print!("{}", eval::pin_calibration(&sets, &embedder)?);
            Ok(())
        })(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bookchat: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs: text by default; `BOOKCHAT_LOG_FORMAT=json` for one JSON object per line (a log
/// pipeline's input), each carrying the request's id and the fields of its span.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let json = std::env::var("BOOKCHAT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = if json {
        tracing_subscriber::fmt().json().with_current_span(true).with_span_list(false).with_env_filter(filter).with_target(false).try_init()
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init()
    };
}

/// Connect, retrying for a while: a scaled-to-zero serverless database can take seconds to wake.
pub async fn connect_with_retry(cfg: &DbConfig, url: &str) -> anyhow::Result<sqlx::PgPool> {
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        match db::connect(cfg, url).await {
            Ok(pool) => return Ok(pool),
            Err(e) if attempt < 8 => {
                tracing::warn!(attempt, error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(e) => return Err(e).context("connecting to the database"),
        }
    }
}

/// `DATABASE_URL`'s pool and the direct one (the same pool when there is no `DATABASE_DIRECT_URL`).
pub async fn connect_both(cfg: &DbConfig) -> anyhow::Result<(sqlx::PgPool, sqlx::PgPool)> {
    let pool = connect_with_retry(cfg, &cfg.database_url).await?;
    let direct = db::connect_direct(cfg, &pool).await.context("connecting to DATABASE_DIRECT_URL")?;
    Ok((pool, direct))
}

/// Migrations take a session's advisory lock and may hold DDL that a transaction cannot
/// (`CREATE INDEX CONCURRENTLY`): they run on the direct connection.
async fn probe(url: Option<String>) -> anyhow::Result<()> {
    let url = match url {
        Some(u) => u,
        None => {
            let addr = std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
            let port = addr.parse::<SocketAddr>().with_context(|| format!("LEPTOS_SITE_ADDR {addr:?} is not an address"))?.port();
            format!("http://127.0.0.1:{port}/readyz")
        }
    };
    let res = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?.get(&url).send().await.with_context(|| format!("asking {url}"))?;
    anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
    Ok(())
}

async fn migrate(cfg: &DbConfig, revert: bool, revert_to: Option<i64>) -> anyhow::Result<()> {
    let pool = connect_with_retry(cfg, cfg.direct_url().unwrap_or(&cfg.database_url)).await?;
    let target = match (revert, revert_to) {
        (_, Some(v)) => Some(v),
        (true, None) => {
            // The newest applied migration is undone: the target is the one before it.
            let applied = db::reports::applied_migrations(&pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            match applied.as_slice() {
                [] => anyhow::bail!("no migration is applied: nothing to revert"),
                [_] => Some(0),
                [_, previous, ..] => Some(*previous),
            }
        }
        (false, None) => None,
    };
    match target {
        Some(version) => {
            db::migrator().undo(&pool, version).await.with_context(|| format!("reverting migrations after {version}"))?;
            println!("migrations after {version} reverted");
        }
        None => {
            db::migrator().run(&pool).await.context("running migrations")?;
            println!("migrations applied (newest {})", db::latest_migration());
        }
    }
    Ok(())
}

/// The configured sentence-embedding model, if any. A model that fails its checksum or does not
/// load stops the command, and so does finding none: answering without it silently would hide
/// the problem (BM25 alone only with `BOOKCHAT_EMBED_MODEL_DIR=none`).
pub fn load_embedder(cfg: &EmbedConfig) -> anyhow::Result<Option<Arc<Embedder>>> {
    match embed::model_dir(cfg.model_dir.as_deref(), &embed::default_model_dirs()) {
        Ok(Some(dir)) => {
            let e = Embedder::load(&dir).with_context(|| format!("loading the embedding model from {}", dir.display()))?;
            tracing::info!(model = e.id(), dir = %dir.display(), "sentence-embedding model loaded");
            Ok(Some(Arc::new(e)))
        }
        Ok(None) => {
            tracing::warn!("BOOKCHAT_EMBED_MODEL_DIR=none: ranking with BM25 alone (markedly worse answers)");
            Ok(None)
        }
        Err(why) => Err(anyhow::anyhow!(why)),
    }
}

async fn ingest(cfg: &DbConfig, embed: &EmbedConfig, dir: &std::path::Path, prune: bool) -> anyhow::Result<()> {
    let embedder = load_embedder(embed)?;
    let (pool, direct) = connect_both(cfg).await?;
    db::migrator().run(&direct).await.context("running migrations")?;
    let started = std::time::Instant::now();
    let r = ingest::ingest_dir(&direct, &pool, dir, prune, true, embedder.as_ref()).await?;
    let sections = db::documents::section_count(&pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "ingested {} files in {:.1} s: {} new, {} updated, {} unchanged, {} pruned; {} sections in the book; {} texts embedded, {} from the cache ({})",
        r.files,
        started.elapsed().as_secs_f64(),
        r.inserted,
        r.updated,
        r.unchanged,
        r.pruned,
        sections,
        r.embedded,
        r.cached,
        r.model.as_deref().unwrap_or("no model: BM25 only"),
    );
    Ok(())
}

fn print_sections(dir: &std::path::Path) -> anyhow::Result<()> {
    for (rel, path) in ingest::book_files(dir)? {
        let raw = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let page = crate::server::book::parse::parse_page(&rel, &raw);
        for s in &page.sections {
            println!("{}", serde_json::json!({ "source": rel, "route": page.route, "anchor": s.anchor, "heading": s.heading }));
        }
    }
    Ok(())
}

async fn evaluate(cfg: &DbConfig, embed: &EmbedConfig, args: &crate::server::cli::eval::EvalArgs) -> anyhow::Result<()> {
    let embedder = load_embedder(embed)?;
    let (pool, direct) = connect_both(cfg).await?;
    db::migrator().run(&direct).await.context("running migrations")?;
    crate::server::cli::eval::run(&pool, embedder, args).await
}

async fn serve(cfg: AppConfig, app: fn(AppState) -> axum::Router) -> anyhow::Result<()> {
    // cargo-leptos bakes LEPTOS_OUTPUT_NAME into the binary it builds; a binary built by plain
    // cargo (e.g. for integration tests) has none, so fall back to the crate's bundle name.
    if std::env::var_os("LEPTOS_OUTPUT_NAME").is_none() && option_env!("LEPTOS_OUTPUT_NAME").is_none() {
        std::env::set_var("LEPTOS_OUTPUT_NAME", "bookchat");
    }
    let conf = leptos::config::get_configuration(None).context("reading Leptos options")?;
    let leptos_options = conf.leptos_options;
    let addr: SocketAddr = leptos_options.site_addr;
    let (pool, direct) = connect_both(&cfg.db).await?;
    if cfg.migrate_on_start {
        db::migrator().run(&direct).await.context("running migrations")?;
    } else {
        // Migrations are their own step (`bookchat migrate`): a database behind this build is
        // refused loudly; one ahead of it (a newer release migrated it) serves.
        let applied = db::reports::applied_migration(&pool).await.map_err(|e| anyhow::anyhow!("{e}"))?.unwrap_or(0);
        if applied < db::latest_migration() {
            anyhow::bail!(
                "the database is at migration {applied}, this build needs {}: run `bookchat migrate` first (BOOKCHAT_MIGRATE_ON_START=false)",
                db::latest_migration()
            );
        }
    }
    let read_pool = match &cfg.db.database_read_url {
        Some(url) => connect_with_retry(&cfg.db, url).await?,
        None => pool.clone(),
    };
    let embedder = load_embedder(&cfg.embed)?;
    if !cfg.book_dir.is_empty() {
        let r = ingest::ingest_dir(&direct, &pool, std::path::Path::new(&cfg.book_dir), false, false, embedder.as_ref()).await?;
        tracing::info!(files = r.files, new = r.inserted, updated = r.updated, embedded = r.embedded, "book ingested");
    }
    // Answers left 'streaming' by a previous process that died are marked failed.
    let swept = crate::server::db::messages::fail_stale(&pool, crate::server::answer::job::STALE_AFTER_SECS).await?;
    if swept > 0 {
        tracing::warn!(swept, "marked interrupted answers as failed");
    }
    let public_url = if cfg.public_url.is_empty() { format!("http://{addr}") } else { cfg.public_url.trim_end_matches('/').to_owned() };
    let cfg_metrics_addr = cfg.metrics_addr;
    let demo_hosts = if cfg.demo_site { cfg.demo_hosts.clone() } else { Vec::new() };
    if !cfg.demo_site && !cfg.demo_hosts.is_empty() {
        tracing::warn!("BOOKCHAT_DEMO_HOSTS is set but the demo site is off (BOOKCHAT_DEMO_SITE=true turns it on): not serving them");
    }
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let http_options = cfg.http_options();
    let state = AppState::new(leptos_options, pool.clone(), read_pool, cfg).with_embedder(embedder).with_direct_pool(direct);
    let hub = state.hub.clone();
    let held = [state.held.clone(), state.held_reads.clone(), state.answer_held.clone()];
    crate::server::http::start_background(&state);
    spawn_maintenance(state.clone());
    for host_addr in demo_hosts {
        let site = crate::server::http::host::router(crate::server::http::host::HostSite { app: state.clone(), bookchat_origin: public_url.clone() })
            .layer(axum::middleware::from_fn_with_state(state.clone(), crate::server::http::api_rate_limit));
        let listener = crate::server::http::serve::bind(host_addr).with_context(|| format!("binding {host_addr}"))?;
        tracing::info!("demo host site on http://{host_addr} (embedding {public_url})");
        tokio::spawn(crate::server::http::serve::serve(listener, site, http_options, std::future::pending()));
    }
    if let Some(metrics_addr) = cfg_metrics_addr {
        match crate::server::metrics::install() {
            Some(handle) => {
                let listener = crate::server::http::serve::bind(metrics_addr).with_context(|| format!("binding the metrics address {metrics_addr}"))?;
                tracing::info!("metrics on http://{metrics_addr}/metrics");
                tokio::spawn(crate::server::http::serve::serve(listener, crate::server::metrics::router(state.clone(), handle), http_options, std::future::pending()));
            }
            None => tracing::warn!("another metrics recorder is installed: not serving metrics"),
        }
    }
    let readiness = state.readiness.clone();
    let ready_delay = Duration::from_secs(state.config.shutdown_ready_delay_secs);
    let app = app(state);
    let listener = crate::server::http::serve::bind(addr).with_context(|| format!("binding {addr}"))?;
    tracing::info!("BookChat listening on http://{addr}");
    // On SIGTERM, connections (answer streams included) and answers being written drain side by
    // side, each for at most the grace period; then answers still running are stored as
    // interrupted and the remaining connections are closed.
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let jobs_hub = hub.clone();
    let jobs = tokio::spawn(async move {
        if on_signal.await.is_ok() {
            jobs_hub.shutdown(grace).await;
        }
    });
    let signal_hub = hub.clone();
    crate::server::http::serve::serve(listener, app, http_options, async move {
        shutdown_signal().await;
        // Not ready first, still serving: the load balancer stops sending new requests.
        readiness.draining.store(true, std::sync::atomic::Ordering::Release);
        if ready_delay > Duration::ZERO {
            tracing::info!(secs = ready_delay.as_secs(), "not ready; serving on until the load balancer notices");
            tokio::time::sleep(ready_delay).await;
        }
        signal_hub.begin_draining();
        let _ = signalled.send(());
    })
    .await;
    let _ = jobs.await;
    for h in held {
        h.give_back_all();
    }
    pool.close().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Background upkeep: the retention job on its interval, and forgetting idle rate-limit keys.
fn spawn_maintenance(state: AppState) {
    let every = state.config.retention.interval_secs;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut since_retention = u64::MAX / 2;
        loop {
            tick.tick().await;
            state.limits.shrink();
            for held in [&state.held, &state.held_reads, &state.answer_held] {
                held.give_back_idle(crate::server::db::held::GIVE_BACK_AFTER_IDLE);
            }
            since_retention += 60;
            if every > 0 && since_retention >= every {
                since_retention = 0;
                match crate::server::db::privacy::run(&state.direct_pool, &state.pool, &state.config.retention).await {
                    Ok(r) => tracing::info!(?r, "retention pass"),
                    Err(e) => tracing::warn!(error = %e, "retention pass failed; will retry"),
                }
            }
        }
    });
}

/// Resolve on SIGTERM or Ctrl-C: axum then stops accepting and drains in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}

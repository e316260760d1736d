//! Database access. Every query is a compile-time checked `sqlx::query!` (offline data lives in
//! `.sqlx/`), every read and write of reader data is scoped by the caller's ownership.

pub mod conversations;
pub mod documents;
pub mod messages;
pub mod sessions;

use crate::error::AppError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

use super::config::DbConfig;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The identity a request acts as: a session, and the verified user behind it when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub session_id: Uuid,
    pub user_id: Option<Uuid>,
}

/// Database failures become opaque or "temporarily unavailable" errors for the client; the detail
/// is logged here, once, and never leaves the server.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::unavailable("The chat service is temporarily unavailable. Please try again shortly.")
            }
            sqlx::Error::Database(db) if is_connection_loss(db.code().as_deref()) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::unavailable("The chat service is temporarily unavailable. Please try again shortly.")
            }
            _ => {
                tracing::error!(error = %e, "database error");
                AppError::Internal
            }
        }
    }
}

/// SQLSTATE classes that mean "the server went away / is starting / shutting down".
fn is_connection_loss(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300")
}

/// The name of the constraint a database error violated, if any.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// Open the pool with the timeouts a cold (scaled-to-zero) serverless Postgres needs.
pub async fn connect(cfg: &DbConfig, url: &str) -> Result<PgPool, sqlx::Error> {
    let mut opts = PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Debug);
    if cfg.database_disable_statement_cache {
        opts = opts.statement_cache_capacity(0);
    }
    PgPoolOptions::new()
        .max_connections(cfg.database_max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(cfg.database_acquire_timeout_secs))
        // Drop idle connections so a restarted or scaled-down database does not leave dead
        // sockets behind; test each checked-out connection so one outage does not fail two calls.
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(true)
        .connect_with(opts)
        .await
}

//! Database access. Every query is a compile-time checked `sqlx::query!` (offline data lives in
//! `.sqlx/`), every read and write of reader data is scoped by the caller's ownership.

pub mod conversations;
pub mod documents;
pub mod held;
pub mod messages;
pub mod pins;
pub mod privacy;
pub mod reports;
pub mod sessions;
pub mod shares;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

use super::config::DbConfig;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The migrations as the server runs them: a database that a newer release has migrated further
/// (migrations this build does not know) is accepted, not refused — migrations follow the
/// expand/contract rule (`migrations/README.md`), so the schema still serves the previous release
/// and a rolling upgrade can be rolled back.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// The newest migration this build knows.
pub fn latest_migration() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The identity a request acts as: a session, and the verified user behind it when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub session_id: Uuid,
    pub user_id: Option<Uuid>,
}

/// The model's enums are stored as their `as_str()` names in `TEXT` columns (with `CHECK`
/// constraints): rows decode straight into the enum, and a value outside it is a decode error
/// (a 500 with its cause), not a silently defaulted string.
macro_rules! text_enum {
    ($($t:ty),*) => {$(
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <String as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                <$t>::parse(s).ok_or_else(|| format!("{s:?} is not a {}", stringify!($t)).into())
            }
        }
        impl sqlx::Encode<'_, sqlx::Postgres> for $t {
            fn encode_by_ref(&self, buf: &mut sqlx::postgres::PgArgumentBuffer) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }
    )*};
}
text_enum!(crate::model::Role, crate::model::MessageStatus, crate::model::ConversationStatus);

/// The name of the constraint a database error violated, if any.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// A pooled connection idle for this long is checked before use (a database restart takes longer).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

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
        // sockets behind. A connection that sat idle for a while is pinged before use, so one
        // outage does not fail two calls; one used a moment ago is not — a ping is a round trip,
        // and pinging every checkout doubled the round trips of every request.
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_AFTER_IDLE {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
        .connect_with(opts)
        .await
}

/// The connections for what needs a session of its own — migrations and their lock, LISTEN,
/// the retention job's advisory lock: `DATABASE_DIRECT_URL`'s, a small pool (a listener holds
/// one connection; the rest is short work). Without it, `main` (`DATABASE_URL` is direct).
pub async fn connect_direct(cfg: &DbConfig, main: &PgPool) -> Result<PgPool, sqlx::Error> {
    let Some(url) = cfg.direct_url() else { return Ok(main.clone()) };
    let opts = PgConnectOptions::from_str(url)?.log_statements(tracing::log::LevelFilter::Debug).application_name("bookchat-direct");
    PgPoolOptions::new()
        .max_connections(3)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(cfg.database_acquire_timeout_secs.max(10)))
        .idle_timeout(Duration::from_secs(300))
        .connect_with(opts)
        .await
}

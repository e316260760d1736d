//! Chat sessions: the bearer secret a browser holds maps to one row by its SHA-256 hash.

use crate::server::error::ServerResult;
use super::Caller;
use crate::error::AppError;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// A session as loaded for a request.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

impl SessionRow {
    pub fn caller(&self) -> Caller {
        Caller { session_id: self.id, user_id: self.user_id }
    }
}

/// 32 random bytes, URL-safe base64: what the browser stores and sends back.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A well-formed token is exactly what `new_secret` produces; anything else is rejected before
/// it reaches the database.
pub fn is_well_formed(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Create a guest session; returns it with the secret to hand to the browser (once).
pub async fn create_guest(pool: &PgPool) -> ServerResult<(SessionRow, String)> {
    let secret = new_secret();
    let row = sqlx::query_as!(
        SessionRow,
        r#"INSERT INTO chat_sessions (secret_hash, expires_at)
           VALUES ($1, now() + interval '24 hours')
           RETURNING id, user_id, expires_at"#,
        hash_secret(&secret),
    )
    .fetch_one(pool)
    .await?;
    Ok((row, secret))
}

/// The active, unexpired session for a token, if any.
pub async fn authenticate(db: impl sqlx::PgExecutor<'_>, token: &str) -> ServerResult<Option<SessionRow>> {
    if !is_well_formed(token) {
        return Ok(None);
    }
    let row = sqlx::query_as!(
        SessionRow,
        r#"SELECT id, user_id, expires_at FROM chat_sessions
           WHERE secret_hash = $1 AND status = 'active' AND expires_at > now()"#,
        hash_secret(token),
    )
    .fetch_optional(db)
    .await?;
    Ok(row)
}

/// Whether a session is still active (not ended or expired).
pub async fn is_active(pool: &PgPool, session_id: Uuid) -> ServerResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM chat_sessions WHERE id = $1 AND status = 'active' AND expires_at > now()) AS "active!""#,
        session_id
    )
    .fetch_one(pool)
    .await?)
}

/// Record activity and slide the expiry window (24 h for guests, 30 days for users).
pub async fn touch(pool: &PgPool, session_id: Uuid) -> ServerResult<SessionRow> {
    let row = sqlx::query_as!(
        SessionRow,
        r#"UPDATE chat_sessions
              SET last_activity_at = GREATEST(last_activity_at, now()),
                  expires_at = GREATEST(expires_at, now() +
                      CASE WHEN user_id IS NULL THEN interval '24 hours' ELSE interval '30 days' END)
            WHERE id = $1
        RETURNING id, user_id, expires_at"#,
        session_id,
    )
    .fetch_one(pool)
    .await?;
    Ok(row)
}

/// End a session (logout / reset): its token stops working.
pub async fn end(pool: &PgPool, session_id: Uuid) -> ServerResult<()> {
    sqlx::query!("UPDATE chat_sessions SET status = 'terminated' WHERE id = $1", session_id).execute(pool).await?;
    Ok(())
}

/// Create a session already belonging to a user; returns it with its secret.
pub async fn create_for_user(pool: &PgPool, user_id: Uuid) -> ServerResult<(SessionRow, String)> {
    let secret = new_secret();
    let row = sqlx::query_as!(
        SessionRow,
        r#"INSERT INTO chat_sessions (secret_hash, user_id, expires_at)
           VALUES ($1, $2, now() + interval '30 days')
           RETURNING id, user_id, expires_at"#,
        hash_secret(&secret),
        user_id,
    )
    .fetch_one(pool)
    .await?;
    Ok((row, secret))
}

/// Guest → user, as one transaction: the guest session is locked, its conversations move to
/// the user, it is ended (its token stops working), and a new session with a new secret is
/// created for the user. A question sent with the guest token either commits first (it holds
/// the session row, see `messages::store_question`) and its conversation moves too, or finds the session
/// ended and is refused — it never lands in a session that was just thrown away.
pub async fn promote_guest(pool: &PgPool, guest_session: Uuid, user_id: Uuid) -> ServerResult<(SessionRow, String, u64)> {
    let mut tx = pool.begin().await?;
    sqlx::query_scalar!(
        "SELECT id FROM chat_sessions WHERE id = $1 AND user_id IS NULL AND status = 'active' FOR UPDATE",
        guest_session
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::Unauthorized)?;
    let moved = sqlx::query!(
        "UPDATE conversations SET user_id = $2 WHERE user_id IS NULL AND session_id = $1",
        guest_session,
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!("UPDATE chat_sessions SET status = 'terminated' WHERE id = $1", guest_session).execute(&mut *tx).await?;
    let secret = new_secret();
    let row = sqlx::query_as!(
        SessionRow,
        r#"INSERT INTO chat_sessions (secret_hash, user_id, expires_at)
           VALUES ($1, $2, now() + interval '30 days')
           RETURNING id, user_id, expires_at"#,
        hash_secret(&secret),
        user_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((row, secret, moved))
}

pub struct UserRow {
    pub id: Uuid,
    pub external_id: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
}

pub async fn user(pool: &PgPool, id: Uuid) -> ServerResult<Option<UserRow>> {
    Ok(sqlx::query_as!(UserRow, "SELECT id, external_id, email, display_name FROM users WHERE id = $1", id)
        .fetch_optional(pool)
        .await?)
}

/// Create or update the user with this host id. The e-mail and name are hints from the host
/// page (only the id is verified), kept for display; nothing is unique about them, so no one can
/// claim another reader's address first.
pub async fn upsert_user(pool: &PgPool, external_id: &str, email: Option<&str>, name: Option<&str>) -> ServerResult<UserRow> {
    Ok(sqlx::query_as!(
        UserRow,
        r#"INSERT INTO users (external_id, email, display_name) VALUES ($1, $2, $3)
           ON CONFLICT (external_id) DO UPDATE
              SET email = coalesce(EXCLUDED.email, users.email),
                  display_name = coalesce(EXCLUDED.display_name, users.display_name)
           RETURNING id, external_id, email, display_name"#,
        external_id,
        email,
        name,
    )
    .fetch_one(pool)
    .await?)
}

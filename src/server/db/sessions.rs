//! Chat sessions: the bearer secret a browser holds maps to one row by its SHA-256 hash.

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
pub async fn create_guest(pool: &PgPool) -> Result<(SessionRow, String), AppError> {
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
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<SessionRow>, AppError> {
    if !is_well_formed(token) {
        return Ok(None);
    }
    let row = sqlx::query_as!(
        SessionRow,
        r#"SELECT id, user_id, expires_at FROM chat_sessions
           WHERE secret_hash = $1 AND status = 'active' AND expires_at > now()"#,
        hash_secret(token),
    )
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

/// Record activity and slide the expiry window (24 h for guests, 30 days for users).
pub async fn touch(pool: &PgPool, session_id: Uuid) -> Result<SessionRow, AppError> {
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

//! Retention and erasure: guests' data goes when their session expires, users' conversations after
//! a configurable period, query-log rows are anonymised after a while, and anyone can delete
//! everything of theirs at once (an admin can do it for a user on request).

use crate::server::error::ServerResult;
use crate::server::config::RetentionConfig;
use crate::server::db::Caller;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Another instance was running the job: this one did nothing.
    pub skipped: bool,
    pub expired_guest_sessions: u64,
    pub deleted_guest_conversations: u64,
    pub expired_user_sessions: u64,
    pub deleted_user_conversations: u64,
    pub anonymised_log_rows: u64,
    pub cleared_feedback_comments: u64,
    pub failed_stale_answers: u64,
}

/// Rows per statement: large deletions go in batches, so no single transaction holds locks on a
/// whole table's worth of rows or blocks readers for long.
pub const BATCH: i64 = 500;
/// The advisory lock that lets one instance at a time run the retention job.
pub const RETENTION_LOCK: i64 = 0x626f_6f6b_6368_6174; // "bookchat"

/// One pass of the retention job, on one instance at a time (a Postgres advisory lock; the
/// others skip). Each batch is its own statement or transaction, so a crash midway leaves
/// nothing half-deleted, and the next pass finishes the work. The lock is a session's, so it is
/// taken on `direct` (not through a transaction-mode pooler); the work goes through `pool`.
pub async fn run(direct: &PgPool, pool: &PgPool, cfg: &RetentionConfig) -> ServerResult<RetentionReport> {
    let mut conn = direct.acquire().await?;
    let locked: bool = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, RETENTION_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(RetentionReport { skipped: true, ..Default::default() });
    }
    let result = run_locked(pool, cfg).await;
    // Unlock on the connection that locked, whatever happened.
    if let Err(e) = sqlx::query_scalar!(r#"SELECT pg_advisory_unlock($1) AS "unlocked!""#, RETENTION_LOCK).fetch_one(&mut *conn).await {
        tracing::warn!(error = %e, "could not release the retention lock; closing its connection");
        conn.detach();
    }
    result
}

async fn run_locked(pool: &PgPool, cfg: &RetentionConfig) -> ServerResult<RetentionReport> {
    let mut r = RetentionReport::default();
    // Guests: 24 h after last activity their sessions expire and everything of theirs is
    // deleted (conversations cascade to messages, ratings and their query-log rows).
    loop {
        let mut tx = pool.begin().await?;
        let expired: Vec<Uuid> = sqlx::query_scalar!(
            r#"SELECT id FROM chat_sessions WHERE user_id IS NULL AND expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED"#,
            BATCH
        )
        .fetch_all(&mut *tx)
        .await?;
        if expired.is_empty() {
            break;
        }
        r.deleted_guest_conversations += sqlx::query!(
            "DELETE FROM conversations WHERE user_id IS NULL AND session_id = ANY($1)",
            &expired
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query!("DELETE FROM rag_queries WHERE session_id = ANY($1)", &expired).execute(&mut *tx).await?;
        r.expired_guest_sessions +=
            sqlx::query!("DELETE FROM chat_sessions WHERE id = ANY($1)", &expired).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
    }

    // Users: an expired session just stops working; their history stays.
    r.expired_user_sessions = sqlx::query!(
        "UPDATE chat_sessions SET status = 'expired' WHERE user_id IS NOT NULL AND status = 'active' AND expires_at <= now()"
    )
    .execute(pool)
    .await?
    .rows_affected();
    if cfg.conversation_days > 0 {
        loop {
            let n = sqlx::query!(
                r#"DELETE FROM conversations WHERE id IN (
                       SELECT id FROM conversations
                        WHERE user_id IS NOT NULL AND last_message_at < now() - make_interval(days => $1)
                        LIMIT $2)"#,
                cfg.conversation_days as i32,
                BATCH
            )
            .execute(pool)
            .await?
            .rows_affected();
            r.deleted_user_conversations += n;
            if n < BATCH as u64 {
                break;
            }
        }
    }
    if cfg.log_anonymize_days > 0 {
        loop {
            // Every logged answer, regenerated ones included (their clock restarts), and the
            // readers' own words in their ratings.
            let n = sqlx::query!(
                r#"UPDATE rag_queries
                      SET question = '(anonymised)', answer = '', session_id = NULL, anonymized_at = now()
                    WHERE id IN (SELECT id FROM rag_queries
                                  WHERE anonymized_at IS NULL AND created_at < now() - make_interval(days => $1)
                                  LIMIT $2)"#,
                cfg.log_anonymize_days as i32,
                BATCH
            )
            .execute(pool)
            .await?
            .rows_affected();
            r.anonymised_log_rows += n;
            if n < BATCH as u64 {
                break;
            }
        }
        r.cleared_feedback_comments = sqlx::query!(
            r#"UPDATE message_feedback SET comment = NULL
                WHERE comment IS NOT NULL AND updated_at < now() - make_interval(days => $1)"#,
            cfg.log_anonymize_days as i32
        )
        .execute(pool)
        .await?
        .rows_affected();
    }
    r.failed_stale_answers = crate::server::db::messages::fail_stale(pool, crate::server::answer::job::STALE_AFTER_SECS).await?;
    Ok(r)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub conversations: u64,
    pub sessions: u64,
    pub log_rows: u64,
    pub user: bool,
}

/// Delete everything of a user: conversations (with messages and ratings), query-log rows,
/// sessions, and the user itself — in one transaction.
pub async fn erase_user(pool: &PgPool, user_id: Uuid) -> ServerResult<Erasure> {
    let mut tx = pool.begin().await?;
    let sessions: Vec<Uuid> =
        sqlx::query_scalar!("SELECT id FROM chat_sessions WHERE user_id = $1", user_id).fetch_all(&mut *tx).await?;
    let log_rows = sqlx::query!(
        r#"DELETE FROM rag_queries WHERE session_id = ANY($1)
              OR conversation_id IN (SELECT id FROM conversations WHERE user_id = $2)"#,
        &sessions,
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let conversations = sqlx::query!(
        "DELETE FROM conversations WHERE user_id = $1 OR (user_id IS NULL AND session_id = ANY($2))",
        user_id,
        &sessions
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let sessions_n = sqlx::query!("DELETE FROM chat_sessions WHERE user_id = $1", user_id).execute(&mut *tx).await?.rows_affected();
    let user = sqlx::query!("DELETE FROM users WHERE id = $1", user_id).execute(&mut *tx).await?.rows_affected() == 1;
    tx.commit().await?;
    Ok(Erasure { conversations, sessions: sessions_n, log_rows, user })
}

/// Delete everything of the caller: a user's whole account data, or a guest's session data.
pub async fn erase_caller(pool: &PgPool, caller: &Caller) -> ServerResult<Erasure> {
    if let Some(user_id) = caller.user_id {
        return erase_user(pool, user_id).await;
    }
    let mut tx = pool.begin().await?;
    let log_rows = sqlx::query!(
        r#"DELETE FROM rag_queries WHERE session_id = $1
              OR conversation_id IN (SELECT id FROM conversations WHERE user_id IS NULL AND session_id = $1)"#,
        caller.session_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let conversations = sqlx::query!("DELETE FROM conversations WHERE user_id IS NULL AND session_id = $1", caller.session_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let sessions = sqlx::query!("DELETE FROM chat_sessions WHERE id = $1", caller.session_id).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(Erasure { conversations, sessions, log_rows, user: false })
}

/// `bookchat delete-user <host user id>`: erase a user on request (GDPR).
pub async fn erase_external_user(pool: &PgPool, external_id: &str) -> ServerResult<Option<Erasure>> {
    let id = sqlx::query_scalar!("SELECT id FROM users WHERE external_id = $1", external_id).fetch_optional(pool).await?;
    match id {
        Some(id) => Ok(Some(erase_user(pool, id).await?)),
        None => Ok(None),
    }
}

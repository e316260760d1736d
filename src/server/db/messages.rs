//! Messages. Reads go through the conversation's owner check first (callers pass a conversation
//! already authorised by `conversations::get`/`lock`), writes are idempotent by `client_id`.

use crate::error::AppError;
use crate::model::{Citation, Feedback, Message, MessageStatus, Role};
use crate::server::answer::render;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

pub struct MessageRow {
    pub id: i64,
    pub client_id: Uuid,
    pub conversation_id: Uuid,
    pub role: String,
    pub content: String,
    pub status: String,
    pub reply_to: Option<i64>,
    pub metadata: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    /// Sanitised HTML of a finished answer (rendered when it was stored).
    pub html: Option<String>,
    pub rating: Option<i16>,
    pub feedback_comment: Option<String>,
}

/// What `messages.metadata` holds. Unknown fields are kept out of the model on purpose.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// The host-page passage a question quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_title: Option<String>,
    /// Answerer that produced an answer ("extractive", or the LLM model name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Why an answer failed, in words fit for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The model that produced an answer, when a language model did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// True when the answerer found nothing relevant in the book.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refused: bool,
}

impl Metadata {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl MessageRow {
    pub fn metadata(&self) -> Metadata {
        self.metadata
            .as_ref()
            .and_then(|m| serde_json::from_value(m.clone()).ok())
            .unwrap_or_default()
    }

    pub fn into_model(self) -> Message {
        let meta = self.metadata();
        let role = Role::parse(&self.role).unwrap_or(Role::User);
        let html = match role {
            Role::Assistant => Some(self.html.clone().unwrap_or_else(|| render::markdown_to_safe_html(&self.content))),
            Role::User => None,
        };
        Message {
            id: self.id,
            client_id: self.client_id,
            conversation_id: self.conversation_id,
            role,
            html,
            content: self.content,
            status: MessageStatus::parse(&self.status).unwrap_or(MessageStatus::Complete),
            citations: meta.citations,
            quote: meta.quote,
            error: meta.error,
            refused: meta.refused,
            feedback: self.rating.map(|rating| Feedback { rating, comment: self.feedback_comment.clone() }),
            created_at: self.created_at,
        }
    }
}

/// A message by its client id, together with whether the caller may see it.
pub async fn by_client_id(db: impl PgExecutor<'_>, client_id: Uuid) -> Result<Option<MessageRow>, AppError> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role, m.content, m.status, m.reply_to, m.metadata,
                  m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?"
             FROM messages m LEFT JOIN message_feedback f ON f.message_id = m.id
            WHERE m.client_id = $1"#,
        client_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Insert a question. Returns `None` when a message with this client id already exists (a
/// concurrent retry won the race); the caller then loads the stored one.
pub async fn insert_question(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    client_id: Uuid,
    content: &str,
    meta: &Metadata,
) -> Result<Option<MessageRow>, AppError> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"INSERT INTO messages (client_id, conversation_id, role, content, metadata)
           VALUES ($1, $2, 'user', $3, $4)
           ON CONFLICT (client_id) DO NOTHING
           RETURNING id, client_id, conversation_id, role, content, status, reply_to, metadata, created_at, html,
                     NULL::smallint AS "rating?", NULL::text AS "feedback_comment?""#,
        client_id,
        conversation_id,
        content,
        meta.to_json(),
    )
    .fetch_optional(db)
    .await?)
}

/// Insert the answer to a question. Returns `None` if the question already has one (one answer
/// per question is a unique index).
pub async fn insert_answer(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    question_id: i64,
    content: &str,
    status: MessageStatus,
    meta: &Metadata,
) -> Result<Option<MessageRow>, AppError> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"INSERT INTO messages (client_id, conversation_id, role, content, status, reply_to, metadata)
           VALUES ($1, $2, 'assistant', $3, $4, $5, $6)
           ON CONFLICT (reply_to) WHERE reply_to IS NOT NULL DO NOTHING
           RETURNING id, client_id, conversation_id, role, content, status, reply_to, metadata, created_at, html,
                     NULL::smallint AS "rating?", NULL::text AS "feedback_comment?""#,
        Uuid::new_v4(),
        conversation_id,
        content,
        status.as_str(),
        question_id,
        meta.to_json(),
    )
    .fetch_optional(db)
    .await?)
}

/// The answer stored for a question, if any.
pub async fn answer_to(db: impl PgExecutor<'_>, question_id: i64) -> Result<Option<MessageRow>, AppError> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role, m.content, m.status, m.reply_to, m.metadata,
                  m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?"
             FROM messages m LEFT JOIN message_feedback f ON f.message_id = m.id
            WHERE m.reply_to = $1"#,
        question_id,
    )
    .fetch_optional(db)
    .await?)
}

/// Up to `limit` messages before `before` (or the newest), returned oldest first, plus whether
/// older ones exist. Walks the (conversation_id, id) index backwards: cost is independent of
/// the conversation's length.
pub async fn window(
    pool: &PgPool,
    conversation_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> Result<(Vec<MessageRow>, bool), AppError> {
    let fetch = i64::from(limit) + 1;
    let mut rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role, m.content, m.status, m.reply_to, m.metadata,
                  m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?"
             FROM messages m LEFT JOIN message_feedback f ON f.message_id = m.id
            WHERE m.conversation_id = $1 AND ($2::bigint IS NULL OR m.id < $2)
            ORDER BY m.id DESC
            LIMIT $3"#,
        conversation_id,
        before,
        fetch,
    )
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 == fetch;
    if more {
        rows.pop();
    }
    rows.reverse();
    Ok((rows, more))
}

/// The latest turns of a conversation, oldest first (context for a language model).
pub async fn recent_turns(pool: &PgPool, conversation_id: Uuid, before: i64, limit: i64) -> Result<Vec<MessageRow>, AppError> {
    let mut rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, client_id, conversation_id, role, content, status, reply_to, metadata, created_at, html,
                  NULL::smallint AS "rating?", NULL::text AS "feedback_comment?"
             FROM messages
            WHERE conversation_id = $1 AND id < $2 AND status = 'complete'
            ORDER BY id DESC
            LIMIT $3"#,
        conversation_id,
        before,
        limit,
    )
    .fetch_all(pool)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// A message by id, if it is in a conversation the caller owns.
pub async fn owned(db: impl PgExecutor<'_>, caller: &super::Caller, id: i64) -> Result<MessageRow, AppError> {
    sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role, m.content, m.status, m.reply_to, m.metadata,
                  m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?"
             FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             LEFT JOIN message_feedback f ON f.message_id = m.id
            WHERE m.id = $1 AND (c.user_id = $2 OR (c.user_id IS NULL AND c.session_id = $3))"#,
        id,
        caller.user_id,
        caller.session_id,
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| AppError::not_found("message"))
}

/// A message by id (no ownership check: for the generator and followers that already hold it).
pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> Result<Option<MessageRow>, AppError> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role, m.content, m.status, m.reply_to, m.metadata,
                  m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?"
             FROM messages m LEFT JOIN message_feedback f ON f.message_id = m.id
            WHERE m.id = $1"#,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Persist the text generated so far. Returns false when the answer is no longer streaming
/// (stopped from another instance, or swept as stale): the generator then stops.
pub async fn flush_partial(db: impl PgExecutor<'_>, id: i64, generation: i32, content: &str) -> Result<bool, AppError> {
    let done = sqlx::query!(
        "UPDATE messages SET content = $2, updated_at = now() WHERE id = $1 AND generation = $3 AND status = 'streaming'",
        id,
        content,
        generation,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Store an answer's final text, status and metadata — only if the row is still this
/// generation's (a regenerate since has a newer one). A status already set by someone else (a
/// stop from another instance) is kept. Returns whether it was written.
pub async fn finish_answer(
    db: impl PgExecutor<'_>,
    id: i64,
    generation: i32,
    content: &str,
    status: MessageStatus,
    meta: &Metadata,
) -> Result<bool, AppError> {
    let done = sqlx::query!(
        r#"UPDATE messages
              SET content = $2, metadata = $4, updated_at = now(), html = $5,
                  status = CASE WHEN status = 'streaming' THEN $3 ELSE status END
            WHERE id = $1 AND generation = $6"#,
        id,
        content,
        status.as_str(),
        meta.to_json(),
        render::markdown_to_safe_html(content),
        generation,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark a streaming answer stopped and tell the instance generating it (`LISTEN bookchat_stop`),
/// in one statement.
pub async fn mark_stopped_and_notify(db: impl PgExecutor<'_>, id: i64) -> Result<(), AppError> {
    sqlx::query!(
        r#"WITH stopped AS (
               UPDATE messages SET status = 'stopped', updated_at = now() WHERE id = $1 AND status = 'streaming' RETURNING id
           )
           SELECT pg_notify('bookchat_stop', $1::bigint::text) FROM stopped"#,
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(())
}

/// Reset a finished answer so it can be generated again, as a new generation; its old rating
/// goes with it. Returns the row and its new generation number.
pub async fn reset_for_regenerate(db: &PgPool, id: i64) -> Result<Option<(MessageRow, i32)>, AppError> {
    let mut tx = db.begin().await?;
    let generation = sqlx::query_scalar!(
        r#"UPDATE messages SET content = '', status = 'streaming', metadata = NULL, html = NULL, updated_at = now(),
                  generation = generation + 1
            WHERE id = $1 AND role = 'assistant' AND status <> 'streaming'
        RETURNING generation"#,
        id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(generation) = generation else {
        tx.rollback().await?;
        return Ok(None);
    };
    sqlx::query!("DELETE FROM message_feedback WHERE message_id = $1", id).execute(&mut *tx).await?;
    let row = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, client_id, conversation_id, role, content, status, reply_to, metadata, created_at, html,
                  NULL::smallint AS "rating?", NULL::text AS "feedback_comment?"
             FROM messages WHERE id = $1"#,
        id,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((row, generation)))
}

/// Answers whose generator stopped sending heartbeats are marked failed. Returns how many.
pub async fn fail_stale(db: impl PgExecutor<'_>, older_than_secs: f64) -> Result<u64, AppError> {
    let done = sqlx::query!(
        r#"UPDATE messages
              SET status = 'failed', updated_at = now(),
                  metadata = coalesce(metadata, '{}'::jsonb) || '{"error": "The answer was interrupted. Try regenerating it."}'::jsonb
            WHERE status = 'streaming' AND updated_at < now() - make_interval(secs => $1)"#,
        older_than_secs,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Record (or change, or with `rating` None remove) the reader's rating of an answer.
pub async fn set_feedback(db: impl PgExecutor<'_>, id: i64, rating: Option<i16>, comment: Option<&str>) -> Result<(), AppError> {
    match rating {
        Some(r) => {
            sqlx::query!(
                r#"INSERT INTO message_feedback (message_id, rating, comment) VALUES ($1, $2, $3)
                   ON CONFLICT (message_id) DO UPDATE SET rating = $2, comment = $3, updated_at = now()"#,
                id,
                r,
                comment,
            )
            .execute(db)
            .await?;
        }
        None => {
            sqlx::query!("DELETE FROM message_feedback WHERE message_id = $1", id).execute(db).await?;
        }
    }
    Ok(())
}

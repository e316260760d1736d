//! Shared links: a read-only view of one conversation, as it was when its owner shared it, for
//! anyone holding the link's id. Creating and revoking are scoped to the owner; reading by id
//! is public and returns the conversation's title and messages only (never who owns it).

use super::messages::MessageRow;
use super::Caller;
use crate::error::AppError;
use crate::model::{MessageStatus, Role};
use crate::server::error::ServerResult;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sqlx::PgPool;
use uuid::Uuid;

/// Most messages a shared link shows (and a continued copy takes).
pub const MAX_SHARED_MESSAGES: i64 = 1_000;

pub struct ShareRow {
    pub id: String,
    pub upto_message_id: i64,
    pub created_at: DateTime<Utc>,
    /// Messages the link shows.
    pub message_count: i64,
}

/// 16 random bytes, URL-safe base64: 22 characters nobody can guess or derive from the
/// conversation.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Exactly what [`new_id`] produces; anything else is rejected before it reaches the database.
pub fn is_well_formed(id: &str) -> bool {
    id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What sharing found.
pub enum Shared {
    /// The caller owns no such conversation.
    NotFound,
    /// The conversation has no finished message yet.
    Empty,
    Link(ShareRow),
}

/// Share the caller's conversation up to its newest finished message, or move an existing
/// link's snapshot forward (the link stays the same). One statement.
pub async fn share(pool: &PgPool, caller: &Caller, conversation_id: Uuid) -> ServerResult<Shared> {
    let row = sqlx::query!(
        r#"WITH c AS (
               SELECT id FROM conversations
                WHERE id = $1 AND (user_id = $2 OR (user_id IS NULL AND session_id = $3))
           ), upto AS (
               SELECT max(m.id) AS id FROM messages m JOIN c ON m.conversation_id = c.id
                WHERE m.status <> 'streaming'
           ), s AS (
               INSERT INTO conversation_shares (id, conversation_id, upto_message_id)
               SELECT $4, c.id, upto.id FROM c, upto WHERE upto.id IS NOT NULL
               ON CONFLICT (conversation_id) DO UPDATE
                  SET upto_message_id = EXCLUDED.upto_message_id, updated_at = now()
               RETURNING id, upto_message_id, created_at
           )
           SELECT EXISTS (SELECT 1 FROM c) AS "owned!", s.id AS "id?", s.upto_message_id AS "upto?", s.created_at AS "created_at?",
                  (SELECT count(*) FROM messages m, c WHERE m.conversation_id = c.id AND m.id <= s.upto_message_id) AS "count?"
             FROM (SELECT 1) AS one LEFT JOIN s ON true"#,
        conversation_id,
        caller.user_id,
        caller.session_id,
        new_id(),
    )
    .fetch_one(pool)
    .await?;
    if !row.owned {
        return Ok(Shared::NotFound);
    }
    Ok(match (row.id, row.upto, row.created_at) {
        (Some(id), Some(upto_message_id), Some(created_at)) => Shared::Link(ShareRow {
            id,
            upto_message_id,
            created_at,
            message_count: row.count.unwrap_or(0).min(MAX_SHARED_MESSAGES),
        }),
        _ => Shared::Empty,
    })
}

/// Revoke the caller's link to a conversation (nothing to do when there is none). `NotFound`
/// when the caller owns no such conversation.
pub async fn revoke(pool: &PgPool, caller: &Caller, conversation_id: Uuid) -> ServerResult<()> {
    let owned = sqlx::query_scalar!(
        r#"WITH c AS (
               SELECT id FROM conversations
                WHERE id = $1 AND (user_id = $2 OR (user_id IS NULL AND session_id = $3))
           ), d AS (
               DELETE FROM conversation_shares s USING c WHERE s.conversation_id = c.id RETURNING s.id
           )
           SELECT EXISTS (SELECT 1 FROM c) AS "owned!""#,
        conversation_id,
        caller.user_id,
        caller.session_id,
    )
    .fetch_one(pool)
    .await?;
    if owned {
        Ok(())
    } else {
        Err(AppError::not_found("conversation").into())
    }
}

/// A shared conversation as the link shows it: its title and its messages up to the snapshot,
/// oldest first. `None` for an unknown or revoked link (or one whose messages are gone).
pub struct SharedConversation {
    pub title: String,
    pub shared_at: DateTime<Utc>,
    pub messages: Vec<MessageRow>,
}

/// Read a link: which conversation as of when, then its messages up to the snapshot (answers
/// still being written when it was shared are left out). A rarely opened page: two statements.
pub async fn read(pool: &PgPool, share_id: &str) -> ServerResult<Option<SharedConversation>> {
    if !is_well_formed(share_id) {
        return Ok(None);
    }
    let Some(share) = sqlx::query!(
        r#"SELECT c.title, s.updated_at AS shared_at, s.conversation_id, s.upto_message_id
             FROM conversation_shares s JOIN conversations c ON c.id = s.conversation_id
            WHERE s.id = $1"#,
        share_id,
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let messages = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, client_id, conversation_id, role AS "role: Role", content, status AS "status: MessageStatus", reply_to, metadata AS "metadata: super::messages::Metadata",
                  created_at, html, NULL::smallint AS "rating?", NULL::text AS "feedback_comment?"
             FROM messages
            WHERE conversation_id = $1 AND id <= $2 AND status <> 'streaming'
            ORDER BY id
            LIMIT $3"#,
        share.conversation_id,
        share.upto_message_id,
        MAX_SHARED_MESSAGES,
    )
    .fetch_all(pool)
    .await?;
    if messages.is_empty() {
        return Ok(None);
    }
    Ok(Some(SharedConversation { title: share.title, shared_at: share.shared_at, messages }))
}

/// What continuing a shared conversation found.
pub enum Continued {
    /// The session was ended (or handed over) since the request authenticated.
    SessionEnded,
    /// Longer than a reader may copy (`MAX_COPIED_MESSAGES`).
    TooLong,
    Copied(super::conversations::ConversationRow),
}

/// Most messages a reader may copy into their own history from a shared conversation.
pub const MAX_COPIED_MESSAGES: usize = 200;

/// Copy a shared conversation into the caller's own history, in one transaction: a new
/// conversation with the same title and copies of the messages (new ids in the same order, each
/// answer still replying to its question's copy; the source's ratings stay with the source).
pub async fn copy_to(pool: &PgPool, caller: &Caller, share_id: &str, shared: &SharedConversation) -> ServerResult<Continued> {
    let messages = &shared.messages;
    if messages.len() > MAX_COPIED_MESSAGES {
        return Ok(Continued::TooLong);
    }
    let mut tx = pool.begin().await?;
    // Hold the caller's session, as a send does: an `identify` handing it over waits for this.
    let active = sqlx::query_scalar!(
        "SELECT id FROM chat_sessions WHERE id = $1 AND status = 'active' FOR NO KEY UPDATE",
        caller.session_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if active.is_none() {
        return Ok(Continued::SessionEnded);
    }
    // The reader's copy of this link, if they made one already: opened again, not copied again.
    let existing = sqlx::query_as!(
        super::conversations::ConversationRow,
        r#"SELECT id, title, status AS "status: crate::model::ConversationStatus", message_count, created_at, last_message_at
             FROM conversations
            WHERE copied_from = $1 AND (session_id = $2 OR (user_id IS NOT NULL AND user_id = $3))
            ORDER BY created_at DESC LIMIT 1"#,
        share_id,
        caller.session_id,
        caller.user_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(c) = existing {
        tx.commit().await?;
        return Ok(Continued::Copied(c));
    }
    // Ids drawn up front, ascending, so the copy keeps the source's order and its answers can
    // name their questions within one insert.
    let mut ids: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS "id!" FROM generate_series(1, $1::int)"#,
        messages.len() as i32
    )
    .fetch_all(&mut *tx)
    .await?;
    ids.sort_unstable();
    let conversation = sqlx::query_as!(
        super::conversations::ConversationRow,
        r#"INSERT INTO conversations (session_id, user_id, title, copied_from) VALUES ($1, $2, $3, $4)
           RETURNING id, title, status AS "status: crate::model::ConversationStatus", message_count, created_at, last_message_at"#,
        caller.session_id,
        caller.user_id,
        shared.title,
        share_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    let new_id: std::collections::HashMap<i64, i64> = messages.iter().map(|m| m.id).zip(ids.iter().copied()).collect();
    let client_ids: Vec<Uuid> = messages.iter().map(|_| Uuid::new_v4()).collect();
    let roles: Vec<String> = messages.iter().map(|m| m.role.as_str().to_owned()).collect();
    let contents: Vec<String> = messages.iter().map(|m| m.content.clone()).collect();
    let statuses: Vec<String> = messages.iter().map(|m| m.status.as_str().to_owned()).collect();
    // An answer whose question is not in the copy (cut by the size limit) stands alone.
    let reply_to: Vec<Option<i64>> = messages.iter().map(|m| m.reply_to.and_then(|q| new_id.get(&q).copied())).collect();
    // The copy keeps nothing of where the sharer was reading, and each turn is marked copied:
    // they are not the reader's words (see `Metadata::copied`).
    let metadata: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let meta = m.metadata.clone().unwrap_or_default();
            super::messages::Metadata { page_url: None, page_title: None, copied: true, ..meta }.to_json()
        })
        .collect();
    let html: Vec<Option<String>> = messages.iter().map(|m| m.html.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO messages (id, client_id, conversation_id, role, content, status, reply_to, metadata, html)
           SELECT t.id, t.client_id, $2, t.role, t.content, t.status, t.reply_to, NULLIF(t.metadata, 'null'::jsonb), t.html
             FROM unnest($1::bigint[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::jsonb[], $9::text[])
                  AS t(id, client_id, role, content, status, reply_to, metadata, html)"#,
        &ids[..messages.len()],
        conversation.id,
        &client_ids,
        &roles,
        &contents,
        &statuses,
        &reply_to as &[Option<i64>],
        &metadata,
        &html as &[Option<String>],
    )
    .execute(&mut *tx)
    .await?;
    // The counters the insert trigger kept.
    let conversation = sqlx::query_as!(
        super::conversations::ConversationRow,
        r#"SELECT id, title, status AS "status: crate::model::ConversationStatus", message_count, created_at, last_message_at
             FROM conversations WHERE id = $1"#,
        conversation.id,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Continued::Copied(conversation))
}

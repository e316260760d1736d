//! Messages. Reads go through the conversation's owner check first (callers pass a conversation
//! already authorised by `conversations::get`/`lock`), writes are idempotent by `client_id`.

use crate::server::error::ServerResult;
use crate::error::AppError;
use crate::model::{Citation, MessageStatus, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool, Row};
use uuid::Uuid;

#[derive(Debug, PartialEq)]
pub struct MessageRow {
    pub id: i64,
    pub client_id: Uuid,
    pub conversation_id: Uuid,
    pub role: Role,
    pub content: String,
    pub status: MessageStatus,
    pub reply_to: Option<i64>,
    pub metadata: Option<Metadata>,
    pub created_at: DateTime<Utc>,
    /// Sanitised HTML of a finished answer (rendered when it was stored).
    pub html: Option<String>,
    pub rating: Option<i16>,
    pub feedback_comment: Option<String>,
}

/// What `messages.metadata` holds. Unknown fields are kept out of the model on purpose.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    /// The book folder (chapter) a question was restricted to, when the reader chose "this
    /// chapter only".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
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
    /// A turn copied from someone's shared conversation: never given to a language model as
    /// the reader's own words.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub copied: bool,
    /// The book's author's own answer (a pinned answer), not one composed from the book.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

/// `messages.metadata` reads straight into [`Metadata`], in one parse. Read as a
/// `serde_json::Value` first, an answer's citations were parsed into a tree, read out of it and
/// the tree dropped: an eighth of the server's CPU for a page of real answers. What does not
/// read as metadata reads as none, as it did through the tree.
impl sqlx::Type<sqlx::Postgres> for Metadata {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <sqlx::types::Json<Metadata> as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <sqlx::types::Json<Metadata> as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Metadata {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(<sqlx::types::Json<Metadata> as sqlx::Decode<sqlx::Postgres>>::decode(value).map(|m| m.0).unwrap_or_default())
    }
}

impl Metadata {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl MessageRow {
    pub fn metadata(&self) -> Metadata {
        self.metadata.clone().unwrap_or_default()
    }
}

/// A message by its client id, together with whether the caller may see it.
pub async fn by_client_id(db: impl PgExecutor<'_>, client_id: Uuid) -> ServerResult<Option<MessageRow>> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role AS "role: Role", m.content, m.status AS "status: MessageStatus", m.reply_to, m.metadata AS "metadata: Metadata",
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
) -> ServerResult<Option<MessageRow>> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"INSERT INTO messages (client_id, conversation_id, role, content, metadata)
           VALUES ($1, $2, 'user', $3, $4)
           ON CONFLICT (client_id) DO NOTHING
           RETURNING id, client_id, conversation_id, role AS "role: Role", content, status AS "status: MessageStatus", reply_to, metadata AS "metadata: Metadata", created_at, html,
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
) -> ServerResult<Option<MessageRow>> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"INSERT INTO messages (client_id, conversation_id, role, content, status, reply_to, metadata)
           VALUES ($1, $2, 'assistant', $3, $4, $5, $6)
           ON CONFLICT (reply_to) WHERE reply_to IS NOT NULL DO NOTHING
           RETURNING id, client_id, conversation_id, role AS "role: Role", content, status AS "status: MessageStatus", reply_to, metadata AS "metadata: Metadata", created_at, html,
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

/// What storing a question found.
pub enum Stored {
    /// The session was ended (or handed over) since the request authenticated.
    SessionEnded,
    /// The caller owns no such conversation.
    ConversationNotFound,
    /// The conversation is closed to new messages.
    Closed,
    /// A message with this client id exists (a concurrent retry won); nothing was written.
    Duplicate,
    /// The question and its empty `streaming` answer.
    Question { question: MessageRow, answer_id: i64 },
}

struct StoredRow {
    session: bool,
    conversation_status: Option<crate::model::ConversationStatus>,
    created_conversation: Option<Uuid>,
    id: Option<i64>,
    conversation_id: Option<Uuid>,
    content: Option<String>,
    metadata: Option<Metadata>,
    created_at: Option<DateTime<Utc>>,
    answer_id: Option<i64>,
}

/// Store a question and its empty `streaming` answer in one statement (one round trip, atomic):
/// hold the caller's session row (an `identify` handing it over waits, or this finds it
/// ended), create the conversation (`conversation_id` absent, titled `title`) or lock the
/// caller's one (a closed one refuses, an archived or paused one reopens), insert both rows.
pub async fn store_question(
    db: &mut sqlx::PgConnection,
    caller: &super::Caller,
    conversation_id: Option<Uuid>,
    title: &str,
    client_id: Uuid,
    content: &str,
    meta: &Metadata,
) -> ServerResult<Stored> {
    let row = sqlx::query_as!(
        StoredRow,
        r#"WITH s AS (
               SELECT id FROM chat_sessions WHERE id = $1 AND status = 'active' FOR NO KEY UPDATE
           ), existing AS (
               SELECT c.id, c.status FROM conversations c
                WHERE $2::uuid IS NOT NULL AND c.id = $2
                  AND (c.user_id = $3::uuid OR (c.user_id IS NULL AND c.session_id = $1))
                  AND EXISTS (SELECT 1 FROM s)
                  FOR UPDATE
           ), created AS (
               INSERT INTO conversations (session_id, user_id, title)
               SELECT $1, $3::uuid, $4 FROM s
                WHERE $2::uuid IS NULL AND NOT EXISTS (SELECT 1 FROM messages WHERE client_id = $5)
               RETURNING id, status
           ), target AS (
               SELECT id, status FROM existing UNION ALL SELECT id, status FROM created
           ), reopened AS (
               UPDATE conversations c SET status = 'open' FROM target t
                WHERE c.id = t.id AND t.status IN ('archived', 'paused')
               RETURNING c.id
           ), q AS (
               INSERT INTO messages (client_id, conversation_id, role, content, metadata)
               SELECT $5, t.id, 'user', $6, $7 FROM target t WHERE t.status <> 'closed'
               ON CONFLICT (client_id) DO NOTHING
               RETURNING id, conversation_id, content, metadata, created_at
           ), a AS (
               INSERT INTO messages (client_id, conversation_id, role, content, status, reply_to, metadata)
               SELECT $8, q.conversation_id, 'assistant', '', 'streaming', q.id, '{}'::jsonb FROM q
               RETURNING id
           )
           SELECT EXISTS (SELECT 1 FROM s) AS "session!",
                  (SELECT status FROM target) AS "conversation_status?: crate::model::ConversationStatus",
                  (SELECT id FROM created) AS "created_conversation?",
                  q.id AS "id?", q.conversation_id AS "conversation_id?", q.content AS "content?", q.metadata AS "metadata: Metadata",
                  q.created_at AS "created_at?", (SELECT id FROM a) AS "answer_id?"
             FROM (SELECT 1) AS one LEFT JOIN q ON true"#,
        caller.session_id,
        conversation_id,
        caller.user_id,
        title,
        client_id,
        content,
        meta.to_json(),
        Uuid::new_v4(),
    )
    .fetch_one(&mut *db)
    .await?;
    if !row.session {
        return Ok(Stored::SessionEnded);
    }
    let Some(status) = row.conversation_status else {
        // No conversation: an unknown id, or (new conversation) the client id is taken.
        return Ok(if conversation_id.is_some() { Stored::ConversationNotFound } else { Stored::Duplicate });
    };
    if status == crate::model::ConversationStatus::Closed {
        return Ok(Stored::Closed);
    }
    match (row.id, row.conversation_id, row.content, row.created_at, row.answer_id) {
        (Some(id), Some(conversation_id), Some(content), Some(created_at), Some(answer_id)) => Ok(Stored::Question {
            question: MessageRow {
                id,
                client_id,
                conversation_id,
                role: Role::User,
                content,
                status: MessageStatus::Complete,
                reply_to: None,
                metadata: row.metadata,
                created_at,
                html: None,
                rating: None,
                feedback_comment: None,
            },
            answer_id,
        }),
        _ => {
            // A concurrent retry of this send took the client id between our check and our
            // insert: remove the conversation this statement created for it, if any.
            if let Some(created) = row.created_conversation {
                sqlx::query!("DELETE FROM conversations WHERE id = $1 AND message_count = 0", created).execute(&mut *db).await?;
            }
            Ok(Stored::Duplicate)
        }
    }
}

struct AnswerAndConversation {
    id: i64,
    client_id: Uuid,
    conversation_id: Uuid,
    role: Role,
    content: String,
    status: MessageStatus,
    reply_to: Option<i64>,
    metadata: Option<Metadata>,
    created_at: DateTime<Utc>,
    html: Option<String>,
    rating: Option<i16>,
    feedback_comment: Option<String>,
    c_title: Option<String>,
    c_status: Option<crate::model::ConversationStatus>,
    c_message_count: Option<i32>,
    c_created_at: Option<DateTime<Utc>>,
    c_last_message_at: Option<DateTime<Utc>>,
}

/// A message and its conversation as the caller sees it, in one round trip: `None` for an
/// unknown message, the conversation `None` when the caller does not own it (any more).
pub async fn with_conversation(
    db: impl PgExecutor<'_>,
    caller: &super::Caller,
    id: i64,
) -> ServerResult<Option<(MessageRow, Option<super::conversations::ConversationRow>)>> {
    let row = sqlx::query_as!(
        AnswerAndConversation,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role AS "role: Role", m.content, m.status AS "status: MessageStatus",
                  m.reply_to, m.metadata AS "metadata: Metadata", m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?",
                  c.title AS "c_title?", c.status AS "c_status?: crate::model::ConversationStatus", c.message_count AS "c_message_count?",
                  c.created_at AS "c_created_at?", c.last_message_at AS "c_last_message_at?"
             FROM messages m
             LEFT JOIN message_feedback f ON f.message_id = m.id
             LEFT JOIN conversations c ON c.id = m.conversation_id
                   AND (c.user_id = $2 OR (c.user_id IS NULL AND c.session_id = $3))
            WHERE m.id = $1"#,
        id,
        caller.user_id,
        caller.session_id,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let conversation = match (r.c_title, r.c_status, r.c_message_count, r.c_created_at, r.c_last_message_at) {
            (Some(title), Some(status), Some(message_count), Some(created_at), Some(last_message_at)) => {
                Some(super::conversations::ConversationRow { id: r.conversation_id, title, status, message_count, created_at, last_message_at })
            }
            _ => None,
        };
        let message = MessageRow {
            id: r.id,
            client_id: r.client_id,
            conversation_id: r.conversation_id,
            role: r.role,
            content: r.content,
            status: r.status,
            reply_to: r.reply_to,
            metadata: r.metadata,
            created_at: r.created_at,
            html: r.html,
            rating: r.rating,
            feedback_comment: r.feedback_comment,
        };
        (message, conversation)
    }))
}

/// The answer stored for a question, if any.
pub async fn answer_to(db: impl PgExecutor<'_>, question_id: i64) -> ServerResult<Option<MessageRow>> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role AS "role: Role", m.content, m.status AS "status: MessageStatus", m.reply_to, m.metadata AS "metadata: Metadata",
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
/// the conversation's length. The page is cut before it meets the feedback: with the limit
/// outside the join, a planner expecting a short conversation joins all of a long one's
/// messages to their feedback and sorts them to keep 30 (3,000 rows read for a page).
pub async fn window(
    pool: &PgPool,
    conversation_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> ServerResult<(Vec<MessageRow>, bool)> {
    let fetch = i64::from(limit) + 1;
    let mut rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role AS "role: Role", m.content, m.status AS "status: MessageStatus", m.reply_to, m.metadata AS "metadata: Metadata",
                  m.created_at, m.html, f.rating AS "rating?", f.comment AS "feedback_comment?"
             FROM (SELECT id, client_id, conversation_id, role, content, status, reply_to, metadata, created_at, html
                     FROM messages
                    WHERE conversation_id = $1 AND ($2::bigint IS NULL OR id < $2)
                    ORDER BY id DESC
                    LIMIT $3) m
             LEFT JOIN message_feedback f ON f.message_id = m.id
            ORDER BY m.id DESC"#,
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

/// A window of a conversation as its owner sees it: the conversation and its messages.
#[derive(Debug, PartialEq)]
pub struct Window {
    pub conversation: super::conversations::ConversationRow,
    /// Oldest first.
    pub messages: Vec<MessageRow>,
    /// Whether older messages exist.
    pub more: bool,
}

/// What a read by session secret found.
#[derive(Debug, PartialEq)]
pub enum ByToken<T> {
    /// No active session has this secret (here: maybe a replica behind a just-rotated secret).
    NoSession,
    /// The session is fine but owns no such conversation.
    NotFound,
    Found(T),
}

/// A messages page in one round trip (`sql/window_by_token.sql`): authenticate the session
/// secret, check that its owner owns the conversation, and read up to `limit` messages before
/// `before` (or the newest), cut to the page before the feedback join (see [`window`]). The first
/// row carries the session check and the conversation, each of the others one message:
/// repeating the conversation on every message row made Postgres send, and the server decode,
/// its title and instants 31 times a page.
///
/// The rows are decoded here by column, each kind of row reading only its own columns, straight
/// into the page: through `query_as!` every row decoded all 18 columns into a row of options
/// first, the 31 message rows' 7 empty conversation columns included (a sixth of a page's
/// server CPU). [`window_by_token_checked`] is the same statement through the macro: it checks
/// the statement against the schema at build time, and the tests check that both read the same
/// pages.
pub async fn window_by_token(
    db: impl sqlx::PgExecutor<'_>,
    secret_hash: &[u8],
    conversation_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> ServerResult<ByToken<Window>> {
    use futures::TryStreamExt;
    let fetch = i64::from(limit) + 1;
    let statement = sqlx::query(include_str!("sql/window_by_token.sql"));
    let mut rows = statement.bind(secret_hash).bind(conversation_id).bind(before).bind(fetch).fetch(db);
    let Some(first) = rows.try_next().await? else { return Ok(ByToken::NoSession) };
    if !first.try_get_unchecked::<bool, _>(0)? {
        return Ok(ByToken::NoSession);
    }
    let Some(conversation) = super::conversations::ConversationRow::from_columns(&first, 1)? else { return Ok(ByToken::NotFound) };
    let id = conversation.id;
    let mut messages = Vec::with_capacity(fetch as usize);
    while let Some(r) = rows.try_next().await? {
        messages.push(MessageRow {
            id: r.try_get_unchecked(7)?,
            client_id: r.try_get_unchecked(8)?,
            conversation_id: id,
            role: r.try_get_unchecked(9)?,
            content: r.try_get_unchecked(10)?,
            status: r.try_get_unchecked(11)?,
            reply_to: r.try_get_unchecked(12)?,
            metadata: r.try_get_unchecked(13)?,
            created_at: r.try_get_unchecked(14)?,
            html: r.try_get_unchecked(15)?,
            rating: r.try_get_unchecked(16)?,
            feedback_comment: r.try_get_unchecked(17)?,
        });
    }
    Ok(ByToken::Found(Window::of(conversation, messages, fetch)))
}

impl Window {
    /// A page from message rows fetched newest first, one past the page: the extra row says
    /// older messages exist.
    fn of(conversation: super::conversations::ConversationRow, mut messages: Vec<MessageRow>, fetch: i64) -> Self {
        let more = messages.len() as i64 == fetch;
        if more {
            messages.pop();
        }
        messages.reverse();
        Window { conversation, messages, more }
    }
}

/// One row of `sql/window_by_token.sql` as `query_as!` decodes it.
struct WindowRow {
    authed: bool,
    c_id: Option<Uuid>,
    c_title: Option<String>,
    c_status: Option<crate::model::ConversationStatus>,
    c_message_count: Option<i32>,
    c_created_at: Option<DateTime<Utc>>,
    c_last_message_at: Option<DateTime<Utc>>,
    id: Option<i64>,
    client_id: Option<Uuid>,
    role: Option<Role>,
    content: Option<String>,
    status: Option<MessageStatus>,
    reply_to: Option<i64>,
    metadata: Option<Metadata>,
    created_at: Option<DateTime<Utc>>,
    html: Option<String>,
    rating: Option<i16>,
    feedback_comment: Option<String>,
}

/// [`window_by_token`]'s statement decoded by sqlx's macro: the build checks the statement
/// against the schema, the tests compare the pages both read. Not on a request path.
#[doc(hidden)]
pub async fn window_by_token_checked(db: impl sqlx::PgExecutor<'_>, secret_hash: &[u8], conversation_id: Uuid, before: Option<i64>, limit: u32) -> ServerResult<ByToken<Window>> {
    let fetch = i64::from(limit) + 1;
    let rows = sqlx::query_file_as!(WindowRow, "src/server/db/sql/window_by_token.sql", secret_hash, conversation_id, before, fetch)
        .fetch_all(db)
        .await?;
    let Some(first) = rows.first() else { return Ok(ByToken::NoSession) };
    if !first.authed {
        return Ok(ByToken::NoSession);
    }
    let (Some(id), Some(title), Some(status), Some(message_count), Some(created_at), Some(last_message_at)) =
        (first.c_id, first.c_title.clone(), first.c_status, first.c_message_count, first.c_created_at, first.c_last_message_at)
    else {
        return Ok(ByToken::NotFound);
    };
    let conversation = super::conversations::ConversationRow { id, title, status, message_count, created_at, last_message_at };
    let messages = rows
        .into_iter()
        .filter_map(|r| {
            Some(MessageRow {
                id: r.id?,
                client_id: r.client_id?,
                conversation_id: id,
                role: r.role?,
                content: r.content?,
                status: r.status?,
                reply_to: r.reply_to,
                metadata: r.metadata,
                created_at: r.created_at?,
                html: r.html,
                rating: r.rating,
                feedback_comment: r.feedback_comment,
            })
        })
        .collect();
    Ok(ByToken::Found(Window::of(conversation, messages, fetch)))
}

/// The latest turns of a conversation, oldest first (context for a language model).
pub async fn recent_turns(pool: &PgPool, conversation_id: Uuid, before: i64, limit: i64) -> ServerResult<Vec<MessageRow>> {
    let mut rows = sqlx::query_as!(
        MessageRow,
        r#"SELECT id, client_id, conversation_id, role AS "role: Role", content, status AS "status: MessageStatus", reply_to, metadata AS "metadata: Metadata", created_at, html,
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
pub async fn owned(db: impl PgExecutor<'_>, caller: &super::Caller, id: i64) -> ServerResult<MessageRow> {
    sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role AS "role: Role", m.content, m.status AS "status: MessageStatus", m.reply_to, m.metadata AS "metadata: Metadata",
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
    .ok_or_else(|| AppError::not_found("message").into())
}

/// A message by id (no ownership check: for the generator and followers that already hold it).
pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> ServerResult<Option<MessageRow>> {
    Ok(sqlx::query_as!(
        MessageRow,
        r#"SELECT m.id, m.client_id, m.conversation_id, m.role AS "role: Role", m.content, m.status AS "status: MessageStatus", m.reply_to, m.metadata AS "metadata: Metadata",
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
pub async fn flush_partial(db: impl PgExecutor<'_>, id: i64, generation: i32, content: &str) -> ServerResult<bool> {
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
    html: &str,
    status: MessageStatus,
    meta: &Metadata,
) -> ServerResult<bool> {
    let done = sqlx::query!(
        r#"UPDATE messages
              SET content = $2, metadata = $4, updated_at = now(), html = $5,
                  status = CASE WHEN status = 'streaming' THEN $3 ELSE status END
            WHERE id = $1 AND generation = $6"#,
        id,
        content,
        status.as_str(),
        meta.to_json(),
        html,
        generation,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the query log (`rag_queries`, for the book's authors) records about one answer.
pub struct LoggedQuery<'a> {
    pub session_id: Option<Uuid>,
    pub conversation_id: Uuid,
    pub message_id: i64,
    pub question: &'a str,
    /// The passages retrieved, with their scores (a JSON array).
    pub retrieved: serde_json::Value,
    /// The passages the answer cites (a JSON array).
    pub cited: serde_json::Value,
    pub answer: &'a str,
    pub provider: &'a str,
    pub model: Option<&'a str>,
    /// `complete`, `stopped` or `failed`.
    pub status: &'a str,
    pub refused: bool,
    pub response_time_ms: i32,
    pub first_token_ms: Option<i32>,
    pub relevance_score: f64,
}

/// Finish an answer and log it (`rag_queries`) in one statement — only for the row's current
/// generation; `false` (and nothing written) when a newer generation owns it. The answer's text
/// is the log's `answer`.
pub async fn finish_answer_logged(
    db: impl PgExecutor<'_>,
    id: i64,
    generation: i32,
    html: &str,
    status: MessageStatus,
    meta: &Metadata,
    log: &LoggedQuery<'_>,
) -> ServerResult<bool> {
    let finished = sqlx::query_scalar!(
        r#"WITH done AS (
               UPDATE messages
                  SET content = $2, metadata = $4, updated_at = now(), html = $5,
                      status = CASE WHEN status = 'streaming' THEN $3 ELSE status END
                WHERE id = $1 AND generation = $6
            RETURNING id
           ), logged AS (
               INSERT INTO rag_queries (session_id, conversation_id, message_id, question, retrieved, cited, answer,
                                        provider, model, status, refused, response_time_ms, first_token_ms, relevance_score)
               SELECT $7::uuid, $8::uuid, done.id, $9::text, $10::jsonb, $11::jsonb, $2::text,
                      $12::text, $13::text, $14::text, $15::boolean, $16::int4, $17::int4, $18::float8
                 FROM done
               ON CONFLICT (message_id) WHERE message_id IS NOT NULL DO UPDATE
                  SET question = EXCLUDED.question, session_id = EXCLUDED.session_id,
                      retrieved = EXCLUDED.retrieved, cited = EXCLUDED.cited, answer = EXCLUDED.answer,
                      provider = EXCLUDED.provider, model = EXCLUDED.model, status = EXCLUDED.status,
                      refused = EXCLUDED.refused, response_time_ms = EXCLUDED.response_time_ms,
                      first_token_ms = EXCLUDED.first_token_ms, relevance_score = EXCLUDED.relevance_score,
                      -- A regenerated answer is a new record: its anonymisation clock starts again.
                      created_at = now(), anonymized_at = NULL
               RETURNING 1
           )
           SELECT count(*) AS "finished!" FROM done"#,
        id,
        log.answer,
        status.as_str(),
        meta.to_json(),
        html,
        generation,
        log.session_id,
        log.conversation_id,
        log.question,
        log.retrieved,
        log.cited,
        log.provider,
        log.model,
        log.status,
        log.refused,
        log.response_time_ms,
        log.first_token_ms,
        log.relevance_score,
    )
    .fetch_one(db)
    .await?;
    Ok(finished == 1)
}

/// Mark a streaming answer stopped and tell the instance generating it (`LISTEN bookchat_stop`),
/// in one statement.
pub async fn mark_stopped_and_notify(db: impl PgExecutor<'_>, id: i64) -> ServerResult<()> {
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
pub async fn reset_for_regenerate(db: &PgPool, id: i64) -> ServerResult<Option<(MessageRow, i32)>> {
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
        r#"SELECT id, client_id, conversation_id, role AS "role: Role", content, status AS "status: MessageStatus", reply_to, metadata AS "metadata: Metadata", created_at, html,
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
pub async fn fail_stale(db: impl PgExecutor<'_>, older_than_secs: f64) -> ServerResult<u64> {
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
pub async fn set_feedback(db: impl PgExecutor<'_>, id: i64, rating: Option<i16>, comment: Option<&str>) -> ServerResult<()> {
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

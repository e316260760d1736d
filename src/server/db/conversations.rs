//! Conversations, always scoped to their owner: the caller's user when identified, otherwise the
//! caller's guest session. An id that exists but belongs to someone else is "not found".

use crate::server::error::ServerResult;
use super::Caller;
use crate::error::AppError;
use crate::model::{ConversationPage, ConversationStatus, ConversationSummary, SearchHit, Role, SearchQuery, Title};
use base64::Engine;
use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

#[derive(Debug, PartialEq)]
pub struct ConversationRow {
    pub id: Uuid,
    pub title: String,
    pub status: ConversationStatus,
    pub message_count: i32,
    pub created_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
}

impl ConversationRow {
    /// A conversation decoded from the six columns of `row` from `at` on (id, title, status,
    /// message count, created, last message), by hand (see [`list_by_token`]); `None` when the
    /// id is NULL (an outer join found no conversation).
    pub(super) fn from_columns(row: &sqlx::postgres::PgRow, at: usize) -> sqlx::Result<Option<Self>> {
        use sqlx::Row;
        let Some(id) = row.try_get_unchecked::<Option<Uuid>, _>(at)? else { return Ok(None) };
        Ok(Some(ConversationRow {
            id,
            title: row.try_get_unchecked(at + 1)?,
            status: row.try_get_unchecked(at + 2)?,
            message_count: row.try_get_unchecked(at + 3)?,
            created_at: row.try_get_unchecked(at + 4)?,
            last_message_at: row.try_get_unchecked(at + 5)?,
        }))
    }
}

impl From<ConversationRow> for ConversationSummary {
    fn from(r: ConversationRow) -> Self {
        ConversationSummary {
            id: r.id,
            title: r.title,
            status: r.status,
            message_count: r.message_count,
            created_at: r.created_at,
            last_message_at: r.last_message_at,
        }
    }
}

/// The caller's conversation, or `NotFound`. `for_update` locks it for the enclosing transaction.
pub async fn get(db: impl PgExecutor<'_>, caller: &Caller, id: Uuid) -> ServerResult<ConversationSummary> {
    sqlx::query_as!(
        ConversationRow,
        r#"SELECT id, title, status AS "status: ConversationStatus", message_count, created_at, last_message_at FROM conversations
           WHERE id = $1 AND (user_id = $2 OR (user_id IS NULL AND session_id = $3))"#,
        id,
        caller.user_id,
        caller.session_id,
    )
    .fetch_optional(db)
    .await?
    .map(Into::into)
    .ok_or_else(|| AppError::not_found("conversation").into())
}

/// Opaque keyset cursor over (last_message_at, id).
fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    let raw = format!("{}|{}", at.timestamp_micros(), id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(cursor: &str) -> ServerResult<(DateTime<Utc>, Uuid)> {
    let bad = || AppError::validation("cursor", "The page cursor is not valid.");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (micros, id) = raw.split_once('|').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id))
}

/// One page of the caller's conversations, newest activity first. `archived` selects the archive
/// instead of the active list. Each variant walks its own owner index, so the cost of a page does
/// not grow with the number of conversations.
pub async fn list(
    db: impl sqlx::PgExecutor<'_>,
    caller: &Caller,
    cursor: Option<&str>,
    limit: u32,
    archived: bool,
) -> ServerResult<ConversationPage> {
    let (after_at, after_id) = after(cursor)?;
    let fetch = i64::from(limit) + 1;
    let rows = match caller.user_id {
        Some(user_id) => {
            sqlx::query_as!(
                ConversationRow,
                r#"SELECT id, title, status AS "status: ConversationStatus", message_count, created_at, last_message_at FROM conversations
                   WHERE user_id = $1
                     AND (status = 'archived') = $2
                     AND ($3::timestamptz IS NULL OR (last_message_at, id) < ($3, $4::uuid))
                   ORDER BY last_message_at DESC, id DESC
                   LIMIT $5"#,
                user_id,
                archived,
                after_at,
                after_id,
                fetch,
            )
            .fetch_all(db)
            .await?
        }
        None => {
            sqlx::query_as!(
                ConversationRow,
                r#"SELECT id, title, status AS "status: ConversationStatus", message_count, created_at, last_message_at FROM conversations
                   WHERE user_id IS NULL AND session_id = $1
                     AND (status = 'archived') = $2
                     AND ($3::timestamptz IS NULL OR (last_message_at, id) < ($3, $4::uuid))
                   ORDER BY last_message_at DESC, id DESC
                   LIMIT $5"#,
                caller.session_id,
                archived,
                after_at,
                after_id,
                fetch,
            )
            .fetch_all(db)
            .await?
        }
    };
    Ok(page_of(rows, fetch))
}

/// Where a page starts: after the conversation the cursor names (none: at the newest).
fn after(cursor: Option<&str>) -> ServerResult<(Option<DateTime<Utc>>, Option<Uuid>)> {
    match cursor {
        Some(c) => decode_cursor(c).map(|(at, id)| (Some(at), Some(id))),
        None => Ok((None, None)),
    }
}

/// A page from rows fetched one past the page, the extra row saying another page follows.
fn page_of(mut rows: Vec<ConversationRow>, fetch: i64) -> ConversationPage {
    let next_cursor = if rows.len() as i64 == fetch {
        rows.pop();
        rows.last().map(|r| encode_cursor(r.last_message_at, r.id))
    } else {
        None
    };
    ConversationPage { items: rows.into_iter().map(Into::into).collect(), next_cursor }
}

/// The history list for the holder of a session secret, in one round trip: the session is
/// found by its secret and its (or its user's) conversations read in the same statement
/// (`sql/list_by_token.sql`). Each owner's branch runs only for its kind of session (a one-time
/// filter), on its own index. No row at all: no active session has this secret.
///
/// The rows are decoded here by column, straight into the page, rather than by `query_as!`
/// through a row of options; [`list_by_token_checked`] is the same statement through the
/// macro — it checks the statement against the schema at build time, and the tests check that
/// both read the same pages.
pub async fn list_by_token(
    db: impl sqlx::PgExecutor<'_>,
    secret_hash: &[u8],
    cursor: Option<&str>,
    limit: u32,
    archived: bool,
) -> ServerResult<super::messages::ByToken<ConversationPage>> {
    use futures::TryStreamExt;
    let (after_at, after_id) = after(cursor)?;
    let fetch = i64::from(limit) + 1;
    let statement = sqlx::query(include_str!("sql/list_by_token.sql"));
    let mut stream = statement.bind(secret_hash).bind(archived).bind(after_at).bind(after_id).bind(fetch).fetch(db);
    let mut rows = Vec::with_capacity(fetch as usize);
    let mut session = false;
    while let Some(r) = stream.try_next().await? {
        session = true;
        // A session without conversations is one row of NULLs.
        rows.extend(ConversationRow::from_columns(&r, 0)?);
    }
    if !session {
        return Ok(super::messages::ByToken::NoSession);
    }
    Ok(super::messages::ByToken::Found(page_of(rows, fetch)))
}

/// One row of `sql/list_by_token.sql` as `query_as!` decodes it.
struct ListRow {
    id: Option<Uuid>,
    title: Option<String>,
    status: Option<ConversationStatus>,
    message_count: Option<i32>,
    created_at: Option<DateTime<Utc>>,
    last_message_at: Option<DateTime<Utc>>,
}

/// [`list_by_token`]'s statement decoded by sqlx's macro: the build checks the statement
/// against the schema, the tests compare the pages both read. Not on a request path.
#[doc(hidden)]
pub async fn list_by_token_checked(db: impl sqlx::PgExecutor<'_>, secret_hash: &[u8], cursor: Option<&str>, limit: u32, archived: bool) -> ServerResult<super::messages::ByToken<ConversationPage>> {
    let (after_at, after_id) = after(cursor)?;
    let fetch = i64::from(limit) + 1;
    let rows = sqlx::query_file_as!(ListRow, "src/server/db/sql/list_by_token.sql", secret_hash, archived, after_at, after_id, fetch)
        .fetch_all(db)
        .await?;
    if rows.is_empty() {
        return Ok(super::messages::ByToken::NoSession);
    }
    let rows = rows
        .into_iter()
        .filter_map(|r| {
            Some(ConversationRow {
                id: r.id?,
                title: r.title?,
                status: r.status?,
                message_count: r.message_count?,
                created_at: r.created_at?,
                last_message_at: r.last_message_at?,
            })
        })
        .collect();
    Ok(super::messages::ByToken::Found(page_of(rows, fetch)))
}

pub async fn rename(pool: &PgPool, caller: &Caller, id: Uuid, title: &Title) -> ServerResult<ConversationSummary> {
    sqlx::query_as!(
        ConversationRow,
        r#"UPDATE conversations SET title = $4
           WHERE id = $1 AND (user_id = $2 OR (user_id IS NULL AND session_id = $3))
           RETURNING id, title, status AS "status: ConversationStatus", message_count, created_at, last_message_at"#,
        id,
        caller.user_id,
        caller.session_id,
        title.as_str(),
    )
    .fetch_optional(pool)
    .await?
    .map(Into::into)
    .ok_or_else(|| AppError::not_found("conversation").into())
}

pub async fn set_status(
    pool: &PgPool,
    caller: &Caller,
    id: Uuid,
    status: ConversationStatus,
) -> ServerResult<ConversationSummary> {
    sqlx::query_as!(
        ConversationRow,
        r#"UPDATE conversations SET status = $4
           WHERE id = $1 AND (user_id = $2 OR (user_id IS NULL AND session_id = $3))
           RETURNING id, title, status AS "status: ConversationStatus", message_count, created_at, last_message_at"#,
        id,
        caller.user_id,
        caller.session_id,
        status.as_str(),
    )
    .fetch_optional(pool)
    .await?
    .map(Into::into)
    .ok_or_else(|| AppError::not_found("conversation").into())
}

pub async fn delete(pool: &PgPool, caller: &Caller, id: Uuid) -> ServerResult<()> {
    let done = sqlx::query!(
        r#"DELETE FROM conversations
           WHERE id = $1 AND (user_id = $2 OR (user_id IS NULL AND session_id = $3))"#,
        id,
        caller.user_id,
        caller.session_id,
    )
    .execute(pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::not_found("conversation").into());
    }
    Ok(())
}

/// Delete every conversation the caller owns; returns how many.
pub async fn delete_all(pool: &PgPool, caller: &Caller) -> ServerResult<u64> {
    let done = match caller.user_id {
        Some(user_id) => sqlx::query!("DELETE FROM conversations WHERE user_id = $1", user_id).execute(pool).await?,
        None => {
            sqlx::query!(
                "DELETE FROM conversations WHERE user_id IS NULL AND session_id = $1",
                caller.session_id
            )
            .execute(pool)
            .await?
        }
    };
    Ok(done.rows_affected())
}

/// Turn free text into a prefix-matching AND query ("lida ros" finds "LiDAR in ROS 2").
/// Only letters and digits reach `to_tsquery`, so its syntax cannot be injected.
pub fn prefix_tsquery(q: &SearchQuery) -> Option<String> {
    let words: Vec<String> = q
        .as_str()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(12)
        .map(|w| format!("{}:*", w.to_lowercase()))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" & "))
    }
}

/// Full-text search over the caller's own titles and messages, best matches first.
pub async fn search(pool: &PgPool, caller: &Caller, q: &SearchQuery, limit: u32) -> ServerResult<Vec<SearchHit>> {
    let Some(tsq) = prefix_tsquery(q) else {
        return Ok(Vec::new());
    };
    let limit = i64::from(limit);
    let titles = sqlx::query!(
        r#"SELECT c.id, c.title, c.last_message_at
             FROM conversations c, to_tsquery('english', $3) q
            WHERE (c.user_id = $1 OR (c.user_id IS NULL AND c.session_id = $2))
              AND to_tsvector('english', c.title) @@ q
            ORDER BY c.last_message_at DESC
            LIMIT $4"#,
        caller.user_id,
        caller.session_id,
        tsq,
        limit,
    )
    .fetch_all(pool)
    .await?;
    let messages = sqlx::query!(
        r#"SELECT c.id AS conversation_id, c.title, m.id AS message_id, m.role, m.created_at,
                  ts_headline('english', m.content, q,
                      'StartSel=[[, StopSel=]], MaxWords=24, MinWords=8, MaxFragments=1') AS "snippet!"
             FROM messages m
             JOIN conversations c ON c.id = m.conversation_id,
                  to_tsquery('english', $3) q
            WHERE (c.user_id = $1 OR (c.user_id IS NULL AND c.session_id = $2))
              AND m.tsv @@ q
            ORDER BY ts_rank(m.tsv, q) DESC, m.id DESC
            LIMIT $4"#,
        caller.user_id,
        caller.session_id,
        tsq,
        limit,
    )
    .fetch_all(pool)
    .await?;

    let mut hits: Vec<SearchHit> = titles
        .into_iter()
        .map(|t| SearchHit {
            conversation_id: t.id,
            snippet: t.title.clone(),
            conversation_title: t.title,
            message_id: None,
            role: None,
            at: t.last_message_at,
        })
        .collect();
    hits.extend(messages.into_iter().map(|m| SearchHit {
        conversation_id: m.conversation_id,
        conversation_title: m.title,
        message_id: Some(m.message_id),
        role: Role::parse(&m.role),
        snippet: m.snippet,
        at: m.created_at,
    }));
    hits.truncate(limit as usize);
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let at = DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::nil();
        assert_eq!(decode_cursor(&encode_cursor(at, id)).unwrap(), (at, id));
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor("").is_err());
    }

    #[test]
    fn prefix_query_keeps_only_words() {
        let q = SearchQuery::parse("LiDAR & 'ros':* | !x").unwrap();
        assert_eq!(prefix_tsquery(&q).unwrap(), "lidar:* & ros:* & x:*");
        assert_eq!(prefix_tsquery(&SearchQuery::parse("&|!").unwrap()), None);
    }
}

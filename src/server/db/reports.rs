//! What `/admin` shows the book's authors: questions per day, answer times, unanswered
//! questions, answers rated down, the most-cited sections, and the query log as rows for CSV.
//! Read from the read pool (a replica when one is configured).

use crate::server::error::ServerResult;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

pub struct Day {
    pub day: NaiveDate,
    pub n: i64,
    pub refused: i64,
}

pub struct Latency {
    pub n: i64,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub ttft50: Option<f64>,
    pub relevance: Option<f64>,
}

pub struct Unanswered {
    pub question: String,
    pub created_at: DateTime<Utc>,
}

pub struct RatedDown {
    pub question: String,
    pub answer: String,
    pub comment: Option<String>,
}

pub struct Cited {
    pub title: Option<String>,
    pub section: Option<String>,
    pub url: Option<String>,
    pub n: i64,
}

pub struct Overview {
    pub days: Vec<Day>,
    pub latency: Latency,
    pub unanswered: Vec<Unanswered>,
    pub rated_down: Vec<RatedDown>,
    pub cited: Vec<Cited>,
}

pub async fn overview(pool: &PgPool) -> ServerResult<Overview> {
    let days = sqlx::query_as!(
        Day,
        r#"SELECT created_at::date AS "day!", count(*) AS "n!", count(*) FILTER (WHERE refused) AS "refused!"
             FROM rag_queries WHERE created_at > now() - interval '30 days'
            GROUP BY 1 ORDER BY 1 DESC"#
    )
    .fetch_all(pool)
    .await?;
    let latency = sqlx::query_as!(
        Latency,
        r#"SELECT count(*) AS "n!",
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY first_token_ms) AS ttft50,
                  avg(relevance_score) AS relevance
             FROM rag_queries WHERE created_at > now() - interval '7 days'"#
    )
    .fetch_one(pool)
    .await?;
    let unanswered = sqlx::query_as!(
        Unanswered,
        "SELECT question, created_at FROM rag_queries WHERE refused ORDER BY created_at DESC LIMIT 20"
    )
    .fetch_all(pool)
    .await?;
    let rated_down = sqlx::query_as!(
        RatedDown,
        r#"SELECT q.question, q.answer, f.comment
             FROM message_feedback f JOIN rag_queries q ON q.message_id = f.message_id
            WHERE f.rating = -1 ORDER BY f.updated_at DESC LIMIT 20"#
    )
    .fetch_all(pool)
    .await?;
    let cited = sqlx::query_as!(
        Cited,
        r#"SELECT c->>'title' AS title, c->>'section' AS section, c->>'url' AS url, count(*) AS "n!"
             FROM rag_queries, jsonb_array_elements(cited) AS c
            GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT 10"#
    )
    .fetch_all(pool)
    .await?;
    Ok(Overview { days, latency, unanswered, rated_down, cited })
}

/// One row of the query log with its rating, for the CSV export.
pub struct LogRow {
    pub created_at: DateTime<Utc>,
    pub question: String,
    pub answer: String,
    pub provider: String,
    pub model: Option<String>,
    pub status: String,
    pub refused: bool,
    pub response_time_ms: i32,
    pub first_token_ms: Option<i32>,
    pub relevance_score: f64,
    pub rating: Option<i16>,
    pub comment: Option<String>,
}

/// The newest 100,000 rows of the query log.
pub async fn query_log(pool: &PgPool) -> ServerResult<Vec<LogRow>> {
    Ok(sqlx::query_as!(
        LogRow,
        r#"SELECT q.created_at, q.question, q.answer, q.provider, q.model, q.status, q.refused,
                  q.response_time_ms, q.first_token_ms, q.relevance_score, f.rating AS "rating?", f.comment AS "comment?"
             FROM rag_queries q LEFT JOIN message_feedback f ON f.message_id = q.message_id
            ORDER BY q.created_at DESC LIMIT 100000"#
    )
    .fetch_all(pool)
    .await?)
}

/// The newest migration recorded as applied, for the readiness probe.
pub async fn applied_migration(pool: &PgPool) -> ServerResult<Option<i64>> {
    // Not a checked macro: `_sqlx_migrations` is sqlx's own table, absent from the schema the
    // queries are checked against.
    Ok(sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?)
}

/// The migrations applied to the database, newest first.
pub async fn applied_migrations(pool: &PgPool) -> ServerResult<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version DESC").fetch_all(pool).await?)
}

/// One search by an agent (the MCP server's `search_book`), for the query log: no session,
/// conversation or message; the "answer" is the list of sections it returned.
pub struct LoggedSearch<'a> {
    pub query: &'a str,
    /// The sections returned, with their scores (a JSON array, the shape answers log).
    pub retrieved: serde_json::Value,
    pub answer: &'a str,
    pub provider: &'a str,
    /// No section close enough to answer from (what a reader would have been told).
    pub refused: bool,
    pub response_time_ms: i32,
    pub relevance_score: f64,
}

pub async fn log_search(pool: &PgPool, log: &LoggedSearch<'_>) -> ServerResult<()> {
    sqlx::query!(
        r#"INSERT INTO rag_queries (question, retrieved, cited, answer, provider, status, refused,
                                    response_time_ms, relevance_score)
           VALUES ($1, $2, '[]', $3, $4, 'complete', $5, $6, $7)"#,
        log.query,
        log.retrieved,
        log.answer,
        log.provider,
        log.refused,
        log.response_time_ms.max(1),
        log.relevance_score.clamp(0.0, 1.0),
    )
    .execute(pool)
    .await?;
    Ok(())
}

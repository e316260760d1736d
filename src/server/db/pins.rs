//! Pinned answers (`answer::pins`) and the coverage-gaps report's rows (`answer::gaps`).

use crate::model::Citation;
use crate::server::error::ServerResult;
use sqlx::PgPool;
use uuid::Uuid;

/// A stored pin with its questions; `vectors[i]` is `questions[i]`'s embedding when it was
/// computed with `model`.
pub struct StoredPin {
    pub id: Uuid,
    pub answer: String,
    pub citations: Vec<Citation>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub questions: Vec<(String, Option<String>, Option<Vec<u8>>)>,
}

/// Every pin, newest first.
pub async fn list(pool: &PgPool) -> ServerResult<Vec<StoredPin>> {
    let rows = sqlx::query!(
        r#"SELECT p.id, p.answer, p.citations, p.created_at, q.question, q.model, q.vector
             FROM pinned_answers p JOIN pinned_questions q ON q.pin_id = p.id
            ORDER BY p.created_at DESC, p.id, q.question"#
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<StoredPin> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|p| p.id != r.id) {
            out.push(StoredPin {
                id: r.id,
                answer: r.answer,
                citations: serde_json::from_value(r.citations).unwrap_or_default(),
                created_at: r.created_at,
                questions: Vec::new(),
            });
        }
        if let Some(p) = out.last_mut() {
            p.questions.push((r.question, r.model, r.vector));
        }
    }
    Ok(out)
}

/// A new pin answering `questions` (each with its embedding under `model`, when there is one).
pub async fn create(pool: &PgPool, answer: &str, citations: &[Citation], questions: &[(String, Option<Vec<u8>>)], model: Option<&str>) -> ServerResult<Uuid> {
    let mut tx = pool.begin().await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO pinned_answers (answer, citations) VALUES ($1, $2) RETURNING id",
        answer,
        serde_json::to_value(citations).unwrap_or_else(|_| serde_json::json!([]))
    )
    .fetch_one(&mut *tx)
    .await?;
    for (q, v) in questions {
        sqlx::query!(
            "INSERT INTO pinned_questions (pin_id, question, model, vector) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            id,
            q,
            v.as_ref().and(model),
            v.as_deref()
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Store embeddings computed later (the model changed since the pin was written).
pub async fn store_vectors(pool: &PgPool, id: Uuid, model: &str, vectors: &[(String, Vec<u8>)]) -> ServerResult<()> {
    for (q, v) in vectors {
        sqlx::query!("UPDATE pinned_questions SET model = $3, vector = $4 WHERE pin_id = $1 AND question = $2", id, q, model, v)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Remove a pin; false when there was none.
pub async fn delete(pool: &PgPool, id: Uuid) -> ServerResult<bool> {
    Ok(sqlx::query!("DELETE FROM pinned_answers WHERE id = $1", id).execute(pool).await?.rows_affected() == 1)
}

/// A logged question that the book answered badly, for the coverage-gaps report.
pub struct GapRow {
    pub question: String,
    pub week: chrono::NaiveDate,
    pub refused: bool,
    pub rated_down: bool,
    pub section_title: Option<String>,
    pub section_heading: Option<String>,
    pub section_url: Option<String>,
}

/// The last `days` days' questions that were refused, rated not helpful or answered from a
/// section covering less than `low_relevance` of their words (newest first, at most `limit`).
/// Answers by a pin are the author's and are not gaps.
pub async fn gaps(pool: &PgPool, days: i32, low_relevance: f64, limit: i64) -> ServerResult<Vec<GapRow>> {
    Ok(sqlx::query_as!(
        GapRow,
        r#"SELECT q.question,
                  date_trunc('week', q.created_at AT TIME ZONE 'UTC')::date AS "week!",
                  q.refused,
                  coalesce(f.rating = -1, false) AS "rated_down!",
                  q.retrieved->0->>'title' AS section_title,
                  q.retrieved->0->>'section' AS section_heading,
                  q.retrieved->0->>'url' AS section_url
             FROM rag_queries q LEFT JOIN message_feedback f ON f.message_id = q.message_id
            WHERE q.created_at > now() - make_interval(days => $1)
              AND q.provider <> 'author'
              AND (q.refused OR f.rating = -1 OR q.relevance_score < $2)
            ORDER BY q.created_at DESC
            LIMIT $3"#,
        days,
        low_relevance,
        limit
    )
    .fetch_all(pool)
    .await?)
}

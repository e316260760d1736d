//! Finding the passages of the book that answer a question, with Postgres full-text search.

use crate::error::AppError;
use sqlx::PgPool;

/// A chunk of the book with its retrieval score.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    pub chunk_id: i64,
    pub doc_title: String,
    pub route: String,
    pub heading: String,
    pub anchor: String,
    pub body: String,
    pub score: f32,
    /// The chunk's distinct lexemes (Postgres `english` stems), for coverage and sentence picking.
    pub lexemes: Vec<String>,
}

/// The question's lexemes and the best passages, best first.
#[derive(Debug, Clone, Default)]
pub struct Retrieval {
    pub query_lexemes: Vec<String>,
    pub passages: Vec<Passage>,
}

impl Passage {
    /// Share of the question's lexemes that occur in this passage, in [0, 1].
    pub fn coverage(&self, query_lexemes: &[String]) -> f32 {
        if query_lexemes.is_empty() {
            return 0.0;
        }
        let hit = query_lexemes.iter().filter(|q| self.lexemes.binary_search(q).is_ok()).count();
        hit as f32 / query_lexemes.len() as f32
    }
}

/// Search the book. The question becomes an OR of its lexemes (natural questions almost never
/// match with AND), ranked by cover density with the heading weighted above the body.
pub async fn retrieve(pool: &PgPool, question: &str, limit: i64) -> Result<Retrieval, AppError> {
    let mut query_lexemes: Vec<String> = sqlx::query_scalar!(
        r#"SELECT lex AS "lex!" FROM unnest(tsvector_to_array(to_tsvector('english', $1))) AS lex"#,
        question
    )
    .fetch_all(pool)
    .await?;
    query_lexemes.sort();
    query_lexemes.dedup();
    if query_lexemes.is_empty() {
        return Ok(Retrieval::default());
    }
    let rows = sqlx::query!(
        r#"WITH q AS (
               SELECT tsquery_or_agg(plainto_tsquery('simple', lex)) AS query
                 FROM unnest($1::text[]) AS lex
           )
           SELECT c.id, c.doc_title, d.route, c.heading, c.anchor, c.body,
                  ts_rank_cd(c.tsv, q.query, 1)::real AS "score!",
                  tsvector_to_array(c.tsv) AS "lexemes!"
             FROM chunks c
             JOIN documents d ON d.id = c.document_id,
                  q
            WHERE c.tsv @@ q.query
            ORDER BY 7 DESC, c.id
            LIMIT $2"#,
        &query_lexemes,
        limit,
    )
    .fetch_all(pool)
    .await?;
    let passages = rows
        .into_iter()
        .map(|r| {
            let mut lexemes = r.lexemes;
            lexemes.sort();
            Passage {
                chunk_id: r.id,
                doc_title: r.doc_title,
                route: r.route,
                heading: r.heading,
                anchor: r.anchor,
                body: r.body,
                score: r.score,
                lexemes,
            }
        })
        .collect();
    Ok(Retrieval { query_lexemes, passages })
}

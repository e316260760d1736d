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

/// The question's terms and the best passages, best first.
#[derive(Debug, Clone, Default)]
pub struct Retrieval {
    /// One group per content term of the question: the term's lexeme, plus the lexemes of its
    /// acronym or expansion when the book defines one ("imu" ↔ "inerti", "measur", "unit").
    pub terms: Vec<Vec<String>>,
    pub passages: Vec<Passage>,
}

impl Retrieval {
    /// Every lexeme searched for, deduplicated.
    pub fn lexemes(&self) -> Vec<String> {
        let mut all: Vec<String> = self.terms.iter().flatten().cloned().collect();
        all.sort();
        all.dedup();
        all
    }

    /// Relevance of the answer's evidence: the best passage's coverage, in [0, 1].
    pub fn relevance(&self) -> f32 {
        self.passages.first().map(|p| p.coverage(&self.terms)).unwrap_or(0.0)
    }
}

impl Passage {
    /// Share of the question's terms that occur in this passage, in [0, 1] (a term counts when
    /// any of its forms occurs).
    pub fn coverage(&self, terms: &[Vec<String>]) -> f32 {
        if terms.is_empty() {
            return 0.0;
        }
        let hit = terms.iter().filter(|g| g.iter().any(|q| self.lexemes.binary_search(q).is_ok())).count();
        hit as f32 / terms.len() as f32
    }
}

/// How passages are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    /// Okapi BM25 (k1 1.2, b 0.75) from Postgres term statistics, heading terms weighted double.
    Bm25,
    /// Postgres `ts_rank_cd` cover density (kept as the baseline the evaluation compares to).
    TsRankCd,
}

/// The question's distinct lexemes, stemmed and stop-worded by Postgres's `english` config.
async fn query_lexemes(pool: &PgPool, question: &str) -> Result<Vec<String>, AppError> {
    let mut lexemes: Vec<String> = sqlx::query_scalar!(
        r#"SELECT lex AS "lex!" FROM unnest(tsvector_to_array(to_tsvector('english', $1))) AS lex"#,
        question
    )
    .fetch_all(pool)
    .await?;
    lexemes.sort();
    lexemes.dedup();
    Ok(lexemes)
}

/// What to search for.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub text: &'a str,
    pub limit: i64,
    pub ranking: Ranking,
    /// Expand acronyms the book defines.
    pub expand: bool,
    /// Route of the page the reader is on: its passages get a boost.
    pub prefer_route: Option<&'a str>,
}

impl<'a> Query<'a> {
    pub fn new(text: &'a str) -> Self {
        Query { text, limit: super::CANDIDATES, ranking: Ranking::Bm25, expand: true, prefer_route: None }
    }
}

/// Boost for passages of the page the reader is on.
const CURRENT_PAGE_BOOST: f64 = 1.3;

/// Term groups for the question: each lexeme, with the acronym forms the book defines.
async fn query_terms(pool: &PgPool, question: &str, expand: bool) -> Result<Vec<Vec<String>>, AppError> {
    let lexemes = query_lexemes(pool, question).await?;
    let mut terms: Vec<Vec<String>> = lexemes.iter().map(|l| vec![l.clone()]).collect();
    if expand && !lexemes.is_empty() {
        let pairs = sqlx::query!("SELECT acronym, expansion FROM book_acronyms").fetch_all(pool).await?;
        for p in pairs {
            let expansion: Vec<String> = p.expansion.split(' ').map(str::to_owned).collect();
            if let Some(g) = terms.iter_mut().find(|g| g[0] == p.acronym) {
                // "IMU" in the question also finds "inertial measurement unit".
                g.extend(expansion);
            } else if expansion.iter().all(|e| lexemes.contains(e)) {
                // "zero moment point" in the question also finds "ZMP".
                if let Some(g) = terms.iter_mut().find(|g| g[0] == expansion[0]) {
                    g.push(p.acronym.clone());
                }
            }
        }
    }
    Ok(terms)
}

/// Search the book. The question becomes an OR of its lexemes (natural questions almost never
/// match with AND); candidates come from the GIN index, then `ranking` orders them.
pub async fn retrieve(pool: &PgPool, q: Query<'_>) -> Result<Retrieval, AppError> {
    let Query { text: question, limit, ranking, expand, prefer_route } = q;
    let terms = query_terms(pool, question, expand).await?;
    let mut query_lexemes: Vec<String> = terms.iter().flatten().cloned().collect();
    query_lexemes.sort();
    query_lexemes.dedup();
    if query_lexemes.is_empty() {
        return Ok(Retrieval::default());
    }
    let ranked: Vec<(i64, f32)> = match ranking {
        Ranking::Bm25 => sqlx::query!(
            r#"WITH q AS (SELECT unnest($1::text[]) AS lex),
                    stats AS (SELECT count(*)::float8 AS n, coalesce(avg(doc_len), 1)::float8 AS avgdl FROM chunks),
                    df AS (
                        SELECT q.lex,
                               (SELECT count(*) FROM chunks c WHERE c.tsv @@ plainto_tsquery('simple', q.lex))::float8 AS df
                          FROM q
                    ),
                    cand AS (
                        SELECT c.id, c.tsv, c.doc_len, d.route FROM chunks c JOIN documents d ON d.id = c.document_id
                         WHERE c.tsv @@ (SELECT tsquery_or_agg(plainto_tsquery('simple', lex)) FROM q)
                    ),
                    tf AS (
                        SELECT cand.id, u.lexeme, cand.doc_len, cand.route,
                               (SELECT sum(bm25_weight(w)) FROM unnest(u.weights) AS w) AS tf
                          FROM cand, unnest(cand.tsv) AS u
                         WHERE u.lexeme = ANY($1)
                    )
               SELECT tf.id AS "id!",
                      (sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
                          * tf.tf * 2.2 / (tf.tf + 1.2 * (0.25 + 0.75 * tf.doc_len / stats.avgdl)))
                       * CASE WHEN tf.route = $3 THEN $4::float8 ELSE 1.0::float8 END)::real AS "score!"
                 FROM tf JOIN df ON df.lex = tf.lexeme, stats
                GROUP BY tf.id, tf.route
                ORDER BY 2 DESC, 1
                LIMIT $2"#,
            &query_lexemes,
            limit,
            prefer_route,
            CURRENT_PAGE_BOOST,
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.id, r.score))
        .collect(),
        Ranking::TsRankCd => sqlx::query!(
            r#"SELECT c.id, ts_rank_cd(c.tsv, q.query, 1)::real AS "score!"
                 FROM chunks c,
                      (SELECT tsquery_or_agg(plainto_tsquery('simple', lex)) AS query FROM unnest($1::text[]) AS lex) q
                WHERE c.tsv @@ q.query
                ORDER BY 2 DESC, 1
                LIMIT $2"#,
            &query_lexemes,
            limit,
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.id, r.score))
        .collect(),
    };
    let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
    let rows = sqlx::query!(
        r#"SELECT c.id, c.doc_title, d.route, c.heading, c.anchor, c.body,
                  tsvector_to_array(c.tsv) AS "lexemes!"
             FROM chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.id = ANY($1)"#,
        &ids,
    )
    .fetch_all(pool)
    .await?;
    let mut passages: Vec<Passage> = rows
        .into_iter()
        .filter_map(|r| {
            let score = ranked.iter().find(|(id, _)| *id == r.id)?.1;
            let mut lexemes = r.lexemes;
            lexemes.sort();
            Some(Passage {
                chunk_id: r.id,
                doc_title: r.doc_title,
                route: r.route,
                heading: r.heading,
                anchor: r.anchor,
                body: r.body,
                score,
                lexemes,
            })
        })
        .collect();
    passages.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk_id.cmp(&b.chunk_id)));
    Ok(Retrieval { terms, passages })
}

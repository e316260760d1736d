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
    /// Correct question words the book does not contain to a close word it does ("sensr").
    pub correct: bool,
}

impl<'a> Query<'a> {
    pub fn new(text: &'a str) -> Self {
        Query { text, limit: super::CANDIDATES, ranking: Ranking::Bm25, expand: true, prefer_route: None, correct: true }
    }
}

/// Boost for passages of the page the reader is on.
const CURRENT_PAGE_BOOST: f64 = 1.3;

/// Shortest question word that is corrected: shorter ones are too often a different real word
/// one letter away ("pari" is not "part").
const MIN_CORRECTED_LEN: usize = 5;

/// Edits allowed when correcting a word of `len` characters: one for short words, two from 8.
fn max_edits(len: usize) -> usize {
    if len >= 8 { 2 } else { 1 }
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions: "snesor"), with
/// a substitution costing `substitution`.
pub fn edit_distance_with(a: &str, b: &str, substitution: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { substitution };
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    edit_distance_with(a, b, 1)
}

/// How many typing slips turn `word` into `candidate`, if it is a plausible misspelling of it.
/// Misspellings rarely get the first letter wrong ("tower" is not "power"), and in a short word
/// a changed letter is as likely a different real word ("bread", "break") as a slip, so short
/// words are corrected only for a dropped, doubled or swapped letter ("sensr", "depht").
pub fn typo_distance(word: &str, candidate: &str) -> Option<usize> {
    if word.chars().next() != candidate.chars().next() {
        return None;
    }
    let len = word.chars().count();
    let substitution = if len <= MIN_CORRECTED_LEN { 2 } else { 1 };
    let d = edit_distance_with(word, candidate, substitution);
    (d <= max_edits(len)).then_some(d)
}

/// The question's words (lower-cased runs of letters and digits), as the `simple` parser sees them.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// For each question word the book never uses, the closest word it does use within the allowed
/// edits (by edit distance, then trigram similarity, then how common it is), if any.
pub async fn corrections(pool: &PgPool, question: &str) -> Result<Vec<(String, String)>, AppError> {
    let mut unknown: Vec<String> = words(question)
        .filter(|w| w.chars().count() >= MIN_CORRECTED_LEN && w.chars().all(char::is_alphabetic))
        .map(str::to_lowercase)
        .collect();
    unknown.sort();
    unknown.dedup();
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query!(
        r#"SELECT q.w AS "word!", c.word AS "candidate!", c.ndoc AS "ndoc!", similarity(c.word, q.w) AS "sim!"
             FROM unnest($1::text[]) AS q(w)
             CROSS JOIN LATERAL (
                 -- Candidates share the first letter (see typo_distance) and are at most two
                 -- letters longer or shorter; the most similar go to the exact check.
                 SELECT b.word, b.ndoc FROM book_words b
                  WHERE left(b.word, 1) = left(q.w, 1)
                    AND length(b.word) BETWEEN length(q.w) - 2 AND length(q.w) + 2
                  ORDER BY similarity(b.word, q.w) DESC, b.ndoc DESC
                  LIMIT 20
             ) c
            WHERE NOT EXISTS (SELECT 1 FROM book_words k WHERE k.word = q.w)
              -- Another form of a word the book uses ("crashes" for "crashed") is no misspelling.
              AND NOT EXISTS (SELECT 1 FROM chunks ch WHERE ch.tsv @@ plainto_tsquery('english', q.w))"#,
        &unknown,
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::new();
    for word in &unknown {
        let best = rows
            .iter()
            .filter(|r| &r.word == word)
            .filter_map(|r| typo_distance(word, &r.candidate).map(|d| (d, r)))
            // Fewest slips, then the word the book uses most ("sensr" is "sensor", not "sense").
            .min_by(|(da, a), (db, b)| da.cmp(db).then(b.ndoc.cmp(&a.ndoc)).then(b.sim.total_cmp(&a.sim)));
        if let Some((_, r)) = best {
            out.push((word.clone(), r.candidate.clone()));
        }
    }
    Ok(out)
}

/// The question with corrected words put in place of the misspelled ones.
pub fn apply_corrections(question: &str, fixes: &[(String, String)]) -> String {
    let mut out = String::with_capacity(question.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let lower = word.to_lowercase();
        match fixes.iter().find(|(w, _)| *w == lower) {
            Some((_, fixed)) => out.push_str(fixed),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in question.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

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
    let Query { text: question, limit, ranking, expand, prefer_route, correct } = q;
    let corrected;
    let question = if correct {
        let fixes = corrections(pool, question).await?;
        corrected = apply_corrections(question, &fixes);
        corrected.as_str()
    } else {
        question
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_replace_whole_words_keeping_the_rest() {
        let fixes = vec![("sensr".to_owned(), "sensor".to_owned()), ("fusoin".to_owned(), "fusion".to_owned())];
        assert_eq!(apply_corrections("What is Sensr fusoin? (sensrs)", &fixes), "What is sensor fusion? (sensrs)");
        assert_eq!(apply_corrections("nothing to fix", &fixes), "nothing to fix");
        assert_eq!(apply_corrections("", &fixes), "");
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions_and_swaps() {
        assert_eq!(edit_distance("sensor", "sensor"), 0);
        assert_eq!(edit_distance("sensr", "sensor"), 1);
        assert_eq!(edit_distance("lokomot", "locomot"), 1);
        assert_eq!(edit_distance("snesor", "sensor"), 1);
        assert_eq!(edit_distance("franc", "frame"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("gyroscop", "gyroscopé"), 1);
    }

    #[test]
    fn plausible_misspellings_only() {
        assert_eq!(typo_distance("sensr", "sensor"), Some(1));
        assert_eq!(typo_distance("depht", "depth"), Some(1));
        assert_eq!(typo_distance("sterio", "stereo"), Some(1));
        assert_eq!(typo_distance("reinforcment", "reinforcement"), Some(1));
        assert_eq!(typo_distance("measurmnets", "measurements"), Some(2));
        // A different first letter, or a changed letter in a short word: another real word.
        assert_eq!(typo_distance("tower", "power"), None);
        assert_eq!(typo_distance("bread", "break"), None);
        assert_eq!(typo_distance("taxes", "takes"), None);
        assert_eq!(typo_distance("kinematics", "dynamics"), None);
    }

    #[test]
    fn short_words_allow_one_edit_long_words_two() {
        assert_eq!(max_edits(5), 1);
        assert_eq!(max_edits(7), 1);
        assert_eq!(max_edits(8), 2);
    }
}

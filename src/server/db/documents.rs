//! The ingested book: documents and their searchable chunks.

use crate::error::AppError;
use crate::server::book::Page;
use sqlx::PgPool;
use uuid::Uuid;

/// What ingesting one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Same content already stored at this path: nothing written.
    Unchanged,
    Inserted,
    Updated,
    /// The same content is stored under another path (a copy); skipped, hashes are unique.
    DuplicateContent,
}

/// Store a page and replace its chunks in one transaction; a no-op when the content hash and
/// path are unchanged.
pub async fn upsert_page(pool: &PgPool, page: &Page, raw: &str, content_hash: &str) -> Result<IngestOutcome, AppError> {
    let mut tx = pool.begin().await?;
    let by_hash = sqlx::query!("SELECT id, source_path FROM documents WHERE content_hash = $1", content_hash)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(existing) = by_hash {
        return Ok(if existing.source_path == page.source_path {
            IngestOutcome::Unchanged
        } else {
            IngestOutcome::DuplicateContent
        });
    }
    let existing = sqlx::query_scalar!("SELECT id FROM documents WHERE source_path = $1 FOR UPDATE", page.source_path)
        .fetch_optional(&mut *tx)
        .await?;
    let (doc_id, outcome): (Uuid, IngestOutcome) = match existing {
        Some(id) => {
            sqlx::query!(
                r#"UPDATE documents SET route = $2, title = $3, content_hash = $4, content = $5, uploaded_at = now()
                   WHERE id = $1"#,
                id,
                page.route,
                page.title,
                content_hash,
                raw,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("DELETE FROM chunks WHERE document_id = $1", id).execute(&mut *tx).await?;
            (id, IngestOutcome::Updated)
        }
        None => {
            let id = sqlx::query_scalar!(
                r#"INSERT INTO documents (source_path, route, title, content_hash, content)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id"#,
                page.source_path,
                page.route,
                page.title,
                content_hash,
                raw,
            )
            .fetch_one(&mut *tx)
            .await?;
            (id, IngestOutcome::Inserted)
        }
    };
    for (ordinal, section) in page.sections.iter().enumerate() {
        sqlx::query!(
            r#"INSERT INTO chunks (document_id, ordinal, doc_title, heading, anchor, body)
               VALUES ($1, $2, $3, $4, $5, $6)"#,
            doc_id,
            ordinal as i32,
            page.title,
            section.heading,
            section.anchor,
            section.body,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// Remove documents whose source file is gone from the book folder; returns how many.
pub async fn prune(pool: &PgPool, keep_paths: &[String]) -> Result<u64, AppError> {
    let done = sqlx::query!("DELETE FROM documents WHERE NOT (source_path = ANY($1))", keep_paths)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub struct DocListing {
    pub route: String,
    pub title: String,
    pub source_path: String,
}

/// All pages, in source order (the demo site's sidebar).
pub async fn list(pool: &PgPool) -> Result<Vec<DocListing>, AppError> {
    Ok(sqlx::query_as!(DocListing, "SELECT route, title, source_path FROM documents ORDER BY source_path")
        .fetch_all(pool)
        .await?)
}

pub struct DocPage {
    pub route: String,
    pub title: String,
    pub content: String,
}

pub async fn by_route(pool: &PgPool, route: &str) -> Result<Option<DocPage>, AppError> {
    Ok(sqlx::query_as!(DocPage, "SELECT route, title, content FROM documents WHERE route = $1", route)
        .fetch_optional(pool)
        .await?)
}

/// Section headings of a page (suggested questions for an empty conversation).
pub async fn headings(pool: &PgPool, route: &str) -> Result<Vec<String>, AppError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT c.heading FROM chunks c JOIN documents d ON d.id = c.document_id
           WHERE d.route = $1 AND c.heading <> '' ORDER BY c.ordinal"#,
        route
    )
    .fetch_all(pool)
    .await?)
}

/// Replace the acronym table with pairs found in the whole book, stored as lexemes.
pub async fn rebuild_acronyms(pool: &PgPool, pairs: &[(String, String)]) -> Result<usize, AppError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("DELETE FROM book_acronyms").execute(&mut *tx).await?;
    let mut n = 0;
    for (acronym, long_form) in pairs {
        let done = sqlx::query!(
            r#"INSERT INTO book_acronyms (acronym, expansion)
               SELECT a, e FROM (
                   SELECT (SELECT string_agg(lexeme, ' ' ORDER BY positions[1]) FROM unnest(to_tsvector('english', $1))) AS a,
                          (SELECT string_agg(lexeme, ' ' ORDER BY positions[1]) FROM unnest(to_tsvector('english', $2))) AS e
               ) x
               WHERE a IS NOT NULL AND e IS NOT NULL AND strpos(a, ' ') = 0
               ON CONFLICT DO NOTHING"#,
            acronym,
            long_form,
        )
        .execute(&mut *tx)
        .await?;
        n += done.rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(n)
}

/// Replace the book's vocabulary (what misspelled question words are corrected to) with the
/// words of its chunks now. Returns the number of distinct words.
pub async fn rebuild_words(pool: &PgPool) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar!(r#"SELECT rebuild_book_words() AS "n!""#).fetch_one(pool).await?)
}

/// Every chunk's text (acronym discovery runs over the whole book).
pub async fn all_bodies(pool: &PgPool) -> Result<Vec<String>, AppError> {
    Ok(sqlx::query_scalar!("SELECT body FROM chunks ORDER BY id").fetch_all(pool).await?)
}

/// Section headings from the first pages of the book (suggestions when the page is unknown).
pub async fn first_headings(pool: &PgPool, limit: i64) -> Result<Vec<String>, AppError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT c.heading FROM chunks c JOIN documents d ON d.id = c.document_id
           WHERE c.heading <> '' AND c.heading <> d.title
           ORDER BY d.source_path, c.ordinal LIMIT $1"#,
        limit
    )
    .fetch_all(pool)
    .await?)
}

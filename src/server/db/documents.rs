//! The ingested book: pages, their sections (as Markdown blocks), the embedding cache and the
//! book's revision.

use crate::server::error::ServerResult;
use crate::server::answer::index::SectionRow;
use crate::server::book::{Block, Page};
use sqlx::{PgExecutor, PgPool};
use std::collections::HashMap;
use uuid::Uuid;

/// What ingesting one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Same content, parsed by this parser version, already stored at this path.
    Unchanged,
    Inserted,
    Updated,
}

/// Content hash and parser version of every stored page, by source path (one query for the
/// whole book, so an unchanged book is checked in one round trip).
pub async fn stored_pages(pool: &PgPool) -> ServerResult<HashMap<String, (String, i32)>> {
    Ok(sqlx::query!("SELECT source_path, content_hash, parser_version FROM documents")
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.source_path, (r.content_hash, r.parser_version)))
        .collect())
}

/// Pages with a section this model has not embedded (stored without a model, or by another).
pub async fn pages_missing_vectors(db: impl sqlx::PgExecutor<'_>, model: &str) -> ServerResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT DISTINCT d.source_path FROM documents d JOIN chunks c ON c.document_id = d.id
            WHERE EXISTS (SELECT 1 FROM unnest(c.vector_hashes) AS h
                           WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model = $1 AND e.text_hash = h))"#,
        model,
    )
    .fetch_all(db)
    .await?)
}

/// Which of these text hashes have no embedding by this model yet.
pub async fn missing_embeddings(pool: &PgPool, model: &str, hashes: &[String]) -> ServerResult<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT h AS "h!" FROM unnest($2::text[]) AS h
            WHERE NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model = $1 AND e.text_hash = h)"#,
        model,
        hashes,
    )
    .fetch_all(pool)
    .await?)
}

/// Cache embeddings (text hash → little-endian f32 bytes); existing ones are kept.
pub async fn store_embeddings(pool: &PgPool, model: &str, items: &[(String, Vec<u8>)]) -> ServerResult<()> {
    let hashes: Vec<String> = items.iter().map(|(h, _)| h.clone()).collect();
    let vectors: Vec<Vec<u8>> = items.iter().map(|(_, v)| v.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO embeddings (model, text_hash, vector)
           SELECT $1, h, v FROM unnest($2::text[], $3::bytea[]) AS x(h, v)
           ON CONFLICT DO NOTHING"#,
        model,
        &hashes,
        &vectors,
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Store a page and replace its sections in one transaction. `vector_hashes[i]` are the text
/// hashes section `i` was embedded as.
pub async fn upsert_page(
    pool: &PgPool,
    page: &Page,
    raw: &str,
    content_hash: &str,
    parser_version: i32,
    vector_hashes: &[Vec<String>],
) -> ServerResult<IngestOutcome> {
    let mut tx = pool.begin().await?;
    let existing = sqlx::query!(
        "SELECT id, content_hash, parser_version FROM documents WHERE source_path = $1 FOR UPDATE",
        page.source_path
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (doc_id, outcome): (Uuid, IngestOutcome) = match existing {
        Some(e) if e.content_hash == content_hash && e.parser_version == parser_version => return Ok(IngestOutcome::Unchanged),
        Some(e) => {
            sqlx::query!(
                r#"UPDATE documents SET route = $2, title = $3, content_hash = $4, content = $5, parser_version = $6,
                          uploaded_at = now()
                   WHERE id = $1"#,
                e.id,
                page.route,
                page.title,
                content_hash,
                raw,
                parser_version,
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query!("DELETE FROM chunks WHERE document_id = $1", e.id).execute(&mut *tx).await?;
            (e.id, IngestOutcome::Updated)
        }
        None => {
            let id = sqlx::query_scalar!(
                r#"INSERT INTO documents (source_path, route, title, content_hash, content, parser_version)
                   VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"#,
                page.source_path,
                page.route,
                page.title,
                content_hash,
                raw,
                parser_version,
            )
            .fetch_one(&mut *tx)
            .await?;
            (id, IngestOutcome::Inserted)
        }
    };
    // One statement for all sections of the page.
    let n = page.sections.len();
    let ordinals: Vec<i32> = (0..n as i32).collect();
    let headings: Vec<String> = page.sections.iter().map(|s| s.heading.clone()).collect();
    let anchors: Vec<String> = page.sections.iter().map(|s| s.anchor.clone()).collect();
    let levels: Vec<i16> = page.sections.iter().map(|s| i16::from(s.level)).collect();
    let bodies: Vec<String> = page.sections.iter().map(|s| s.markdown()).collect();
    // Arrays of arrays must be rectangular in Postgres: paths and hashes travel as JSON.
    let paths: Vec<serde_json::Value> = page.sections.iter().map(|s| serde_json::json!(s.path)).collect();
    let blocks: Vec<serde_json::Value> = page.sections.iter().map(|s| serde_json::json!(s.blocks)).collect();
    let hashes: Vec<serde_json::Value> = (0..n).map(|i| serde_json::json!(vector_hashes.get(i).cloned().unwrap_or_default())).collect();
    sqlx::query!(
        r#"INSERT INTO chunks (document_id, ordinal, doc_title, heading, anchor, body, level, heading_path, blocks, vector_hashes)
           SELECT $1, o, $2, h, a, b, l,
                  ARRAY(SELECT jsonb_array_elements_text(p)), bl, ARRAY(SELECT jsonb_array_elements_text(vh))
             FROM unnest($3::int4[], $4::text[], $5::text[], $6::text[], $7::int2[], $8::jsonb[], $9::jsonb[], $10::jsonb[])
                  AS x(o, h, a, b, l, p, bl, vh)"#,
        doc_id,
        page.title,
        &ordinals,
        &headings,
        &anchors,
        &bodies,
        &levels,
        &paths,
        &blocks,
        &hashes,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Remove documents whose source file is gone from the book folder; returns how many.
pub async fn prune(pool: &PgPool, keep_paths: &[String]) -> ServerResult<u64> {
    let done = sqlx::query!("DELETE FROM documents WHERE NOT (source_path = ANY($1))", keep_paths)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// The book's revision: it changes with every change to its pages or sections.
pub async fn revision(db: impl PgExecutor<'_>) -> ServerResult<i64> {
    Ok(sqlx::query_scalar!("SELECT revision FROM book_state").fetch_one(db).await?)
}

/// Everything the search index is built from, with the vectors of `model` (none when no model
/// is loaded), read in one repeatable-read snapshot so sections and revision agree.
pub async fn index_rows(pool: &PgPool, model: Option<&str>) -> ServerResult<(i64, Vec<SectionRow>)> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
    let revision = sqlx::query_scalar!("SELECT revision FROM book_state").fetch_one(&mut *tx).await?;
    let rows = sqlx::query!(
        r#"SELECT c.id, d.route, d.source_path, c.doc_title, c.heading, c.anchor, c.level, c.heading_path, c.blocks,
                  c.vector_hashes
             FROM chunks c JOIN documents d ON d.id = c.document_id
            ORDER BY d.source_path, c.ordinal"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let vectors: HashMap<String, Vec<u8>> = match model {
        Some(m) => sqlx::query!(
            r#"SELECT e.text_hash AS "text_hash!", e.vector AS "vector!" FROM embeddings e
                WHERE e.model = $1 AND e.text_hash IN (SELECT unnest(vector_hashes) FROM chunks)"#,
            m
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| (r.text_hash, r.vector))
        .collect(),
        None => HashMap::new(),
    };
    tx.commit().await?;
    let sections = rows
        .into_iter()
        .map(|r| {
            let blocks: Vec<Block> = serde_json::from_value(r.blocks).unwrap_or_else(|e| {
                tracing::warn!(chunk = r.id, error = %e, "unreadable blocks; re-ingest the book");
                Vec::new()
            });
            SectionRow {
                chunk_id: r.id,
                route: r.route,
                source_path: r.source_path,
                doc_title: r.doc_title,
                heading: r.heading,
                anchor: r.anchor,
                level: r.level,
                path: r.heading_path,
                blocks,
                vectors: r
                    .vector_hashes
                    .iter()
                    .filter_map(|h| vectors.get(h))
                    .map(|b| crate::server::book::embed::from_bytes(b))
                    .collect(),
            }
        })
        .collect();
    Ok((revision, sections))
}

pub struct DocListing {
    pub route: String,
    pub title: String,
    pub source_path: String,
}

/// All pages, in source order (the demo site's sidebar).
pub async fn list(pool: &PgPool) -> ServerResult<Vec<DocListing>> {
    Ok(sqlx::query_as!(DocListing, "SELECT route, title, source_path FROM documents ORDER BY source_path")
        .fetch_all(pool)
        .await?)
}

/// One section of a page, for rendering the page.
pub struct PageSection {
    pub heading: String,
    pub level: i16,
    pub anchor: String,
    pub blocks: Vec<Block>,
}

/// A page's title and its sections in order, by route (the demo site renders pages from the
/// same sections citations point at).
pub async fn page_by_route(pool: &PgPool, route: &str) -> ServerResult<Option<(String, Vec<PageSection>)>> {
    let rows = sqlx::query!(
        r#"SELECT d.title, c.heading, c.level, c.anchor, c.blocks
             FROM documents d JOIN chunks c ON c.document_id = d.id
            WHERE d.route = $1
            ORDER BY d.source_path, c.ordinal"#,
        route
    )
    .fetch_all(pool)
    .await?;
    let Some(title) = rows.first().map(|r| r.title.clone()) else { return Ok(None) };
    let sections = rows
        .into_iter()
        .map(|r| PageSection {
            heading: r.heading,
            level: r.level,
            anchor: r.anchor,
            blocks: serde_json::from_value(r.blocks).unwrap_or_default(),
        })
        .collect();
    Ok(Some((title, sections)))
}

/// How many sections the book has.
pub async fn section_count(pool: &PgPool) -> ServerResult<i64> {
    Ok(sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM chunks"#).fetch_one(pool).await?)
}

/// The advisory lock that lets one ingest at a time write the book ("ingest").
const INGEST_LOCK: i64 = 0x0062_6f6f_6b69_6e67;

/// Wait for the ingest lock, on a connection of its own (a session's lock: held until
/// [`unlock_ingest`] or the connection ends).
pub async fn lock_ingest(conn: &mut sqlx::PgConnection) -> ServerResult<()> {
    sqlx::query_scalar!(r#"SELECT pg_advisory_lock($1)::text AS "locked""#, INGEST_LOCK).fetch_one(&mut *conn).await?;
    Ok(())
}

pub async fn unlock_ingest(conn: &mut sqlx::PgConnection) -> ServerResult<()> {
    sqlx::query_scalar!(r#"SELECT pg_advisory_unlock($1) AS "unlocked!""#, INGEST_LOCK).fetch_one(&mut *conn).await?;
    Ok(())
}

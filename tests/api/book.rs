//! The book end to end: real MDX in a folder → ingest (parse, embed, store) → the in-memory index
//! every instance rebuilds from Postgres → answers made of the book's own blocks.

use crate::helpers::{embedder, explain_prepared, ingest, rows_read, TestApp};
use bookchat::server::answer::retrieve::{self, Library, Query, Ranking};
use serde_json::Value;
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// A small real-world-shaped book: front matter, imports, JSX with props, tabs, admonitions,
/// tables, lists with bold lead-ins, a summary section on every page.
fn write_book() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bookchat-book-{}", Uuid::new_v4()));
    let page = |rel: &str, body: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    page(
        "01-setup/01-hardware.mdx",
        r#"---
title: Setting Up Your Workstation
sidebar_position: 1
---
import HardwareTable from '@site/src/components/HardwareTable';
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';

# Setting Up Your Workstation

{/* TODO: hero image */}

This chapter prepares the computer you will simulate robots on.

## Graphics Processing Unit

<HardwareTable
  title="GPU tiers"
  requirements={[
    { id: 'min', tier: 'minimum', specification: 'NVIDIA GTX 1070 (8GB VRAM)', notes: 'Basic scenes only' },
    { id: 'rec', tier: 'recommended', specification: 'NVIDIA RTX 4070 Ti (12GB VRAM)', notes: 'Humanoid training' },
  ]}
/>

:::warning Driver Compatibility
Simulation needs **RTX-capable** GPUs. Older GTX 900-series cards may fail.
:::

## Installing the Simulator

Install it for your system:

<Tabs>
<TabItem value="ubuntu" label="Ubuntu">

1. Download the launcher
2. Make it executable with `chmod +x`
3. Run the installer

</TabItem>
</Tabs>

## Summary

GPUs, drivers, installing, simulators, workstations: this page covered the graphics card, the driver and the simulator.
"#,
    );
    page(
        "02-balance/01-falling.md",
        r#"# Staying Upright

## Reaction Time

A humanoid must correct its balance quickly:

- **Sensing**: the IMU reports tilt within 2 ms
- **Decision**: the balance controller reacts within 10 ms
- **Action**: a balance correction must execute within 50 ms, or the robot falls

## Summary

Balance, falling, reaction time, sensing and controllers: this page covered how robots stay upright.
"#,
    );
    page(
        "03-misc/01-notes.md",
        "# Notes\n\n## Summary\n\nMiscellaneous notes on the book, balance, GPUs and simulators.\n\n## Glossary\n\nA **link** is a rigid body; a **joint** connects links.\n",
    );
    dir
}

/// The headings of the ranked sections, best first.
async fn ranked(library: &Library, pool: &PgPool, q: Query<'_>) -> Vec<String> {
    let r = retrieve::retrieve(library, pool, q).await.unwrap();
    r.hits.iter().map(|h| r.section(h).heading.clone()).collect()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn mdx_is_stored_as_blocks_with_docusaurus_links(pool: PgPool) {
    let dir = write_book();
    let report = ingest(&pool, &dir, true).await;
    assert_eq!((report.files, report.inserted), (3, 3));
    let rows: Vec<(String, String, String, i16, Value)> = sqlx::query_as(
        "SELECT d.route, c.heading, c.anchor, c.level, c.blocks FROM chunks c JOIN documents d ON d.id = c.document_id
          ORDER BY d.source_path, c.ordinal",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let find = |h: &str| rows.iter().find(|r| r.1 == h).unwrap_or_else(|| panic!("no section {h}: {rows:?}"));
    let top = find("Setting Up Your Workstation");
    assert_eq!((top.0.as_str(), top.2.as_str(), top.3), ("/docs/setup/hardware", "", 1), "the page top has no fragment");
    let gpu = find("Graphics Processing Unit");
    assert_eq!(gpu.2, "graphics-processing-unit");
    let kinds: Vec<&str> = gpu.4.as_array().unwrap().iter().map(|b| b["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["paragraph", "table", "admonition"], "{}", gpu.4);
    assert!(gpu.4[1]["md"].as_str().unwrap().contains("| recommended | NVIDIA RTX 4070 Ti (12GB VRAM) | Humanoid training |"));
    assert!(gpu.4[2]["md"].as_str().unwrap().starts_with("> **Warning: Driver Compatibility**"));
    let install = find("Installing the Simulator");
    let md: Vec<&str> = install.4.as_array().unwrap().iter().map(|b| b["md"].as_str().unwrap()).collect();
    assert_eq!(md, vec!["Install it for your system:", "**Ubuntu**", "1. Download the launcher\n2. Make it executable with `chmod +x`\n3. Run the installer"]);
    // Repeated headings get Docusaurus's numbering per page, not across pages.
    let summaries: Vec<&str> = rows.iter().filter(|r| r.1 == "Summary").map(|r| r.2.as_str()).collect();
    assert_eq!(summaries, vec!["summary", "summary", "summary"]);
    let bodies: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks WHERE body LIKE '%import %' OR body LIKE '%TODO%' OR body LIKE '%<Tab%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(bodies, 0, "imports, comments and JSX tags are not content");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn reingest_is_cheap_and_embeddings_are_cached_by_content(pool: PgPool) {
    let model = embedder().expect("BOOKCHAT_EMBED_MODEL_DIR must name the embedding model (scripts/test sets it)");
    let dir = write_book();
    let first = ingest(&pool, &dir, true).await;
    assert!(first.embedded > 0 && first.cached == 0, "{first:?}");
    assert_eq!(first.model.as_deref(), Some(model.id()));
    let again = ingest(&pool, &dir, true).await;
    assert_eq!((again.unchanged, again.embedded, again.inserted), (3, 0, 0), "an unchanged book is a no-op: {again:?}");

    // A copy of a page under another path (another route) reuses every vector.
    std::fs::create_dir_all(dir.join("04-copy")).unwrap();
    std::fs::copy(dir.join("02-balance/01-falling.md"), dir.join("04-copy/falling.md")).unwrap();
    let copy = ingest(&pool, &dir, true).await;
    assert_eq!((copy.inserted, copy.embedded), (1, 0), "{copy:?}");
    assert!(copy.cached > 0);

    // One edited page: only its changed sections are embedded.
    let p = dir.join("03-misc/01-notes.md");
    let text = std::fs::read_to_string(&p).unwrap().replace("a **joint** connects links", "a **joint** connects two links");
    std::fs::write(&p, text).unwrap();
    let edit = ingest(&pool, &dir, true).await;
    assert_eq!((edit.updated, edit.embedded), (1, 1), "{edit:?}");
    let vectors: i64 = sqlx::query_scalar("SELECT count(*) FROM embeddings").fetch_one(&pool).await.unwrap();
    let distinct: i64 = sqlx::query_scalar("SELECT count(DISTINCT h) FROM chunks, unnest(vector_hashes) h").fetch_one(&pool).await.unwrap();
    assert_eq!(vectors, distinct + 1, "one vector per distinct text (plus the edited section's old one)");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every start of the server asks which pages lack a vector. That question looks each of a
/// section's hashes up in the embedding cache by its key; it used to compare the key column
/// (`char(64)`) with `text`, which ruled the key out and read the whole cache once per section
/// — 157 ms for the development book, growing with the square of the book.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn finding_pages_without_vectors_looks_each_hash_up_by_key(pool: PgPool) {
    let model = embedder().expect("BOOKCHAT_EMBED_MODEL_DIR must name the embedding model (scripts/test sets it)");
    // A cache that already holds another book's vectors, as a long-lived database does.
    sqlx::query(
        "INSERT INTO embeddings (model, text_hash, vector)
         SELECT $1, encode(sha256(('other ' || i)::bytea), 'hex'), '\\x0000803f'::bytea FROM generate_series(1, 5000) AS i",
    )
    .bind(model.id())
    .execute(&pool)
    .await
    .unwrap();
    let dir = write_book();
    ingest(&pool, &dir, true).await;
    sqlx::query("ANALYZE embeddings").execute(&pool).await.unwrap();
    sqlx::query("ANALYZE chunks").execute(&pool).await.unwrap();

    let mut conn = pool.acquire().await.unwrap();
    let missing = bookchat::server::db::documents::pages_missing_vectors(&mut *conn, model.id()).await.unwrap();
    assert!(missing.is_empty(), "every page was embedded: {missing:?}");
    let plan = explain_prepared(&mut conn, "SELECT DISTINCT d.source_path FROM documents d", &format!("'{}'", model.id())).await;
    let hashes: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks, unnest(vector_hashes)").fetch_one(&pool).await.unwrap();
    let read = rows_read(&plan, "embeddings");
    assert!(read <= hashes, "{hashes} hashes looked up by reading {read} cached vectors: {plan:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn every_instance_sees_a_reingest(pool: PgPool) {
    let dir = write_book();
    ingest(&pool, &dir, true).await;
    // Two instances, each with its own index.
    let (a, b) = (Library::new(embedder()), Library::new(embedder()));
    let q = Query::new("what does a joint connect");
    assert_eq!(ranked(&a, &pool, q).await[0], "Glossary");
    assert_eq!(ranked(&b, &pool, q).await[0], "Glossary");
    std::fs::remove_file(dir.join("03-misc/01-notes.md")).unwrap();
    ingest(&pool, &dir, true).await;
    assert!(!ranked(&a, &pool, q).await.contains(&"Glossary".to_owned()), "instance A rebuilt its index");
    assert!(!ranked(&b, &pool, q).await.contains(&"Glossary".to_owned()), "instance B rebuilt its index");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn meaning_finds_what_words_miss(pool: PgPool) {
    embedder().expect("BOOKCHAT_EMBED_MODEL_DIR must name the embedding model (scripts/test sets it)");
    let dir = write_book();
    ingest(&pool, &dir, true).await;
    let library = Library::new(embedder());
    // A student's everyday words for the book's terms: no content word in common with the
    // answering section's text.
    let q = "how fast must a walking machine react so it does not topple over";
    assert_eq!(ranked(&library, &pool, Query { ranking: Ranking::Dense, ..Query::new(q) }).await[0], "Reaction Time");
    assert_eq!(
        ranked(&library, &pool, Query { ranking: Ranking::Hybrid, ..Query::new(q) }).await[0],
        "Reaction Time",
        "fusion keeps what meaning found"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn summary_sections_rank_below_the_explaining_section(pool: PgPool) {
    let dir = write_book();
    ingest(&pool, &dir, true).await;
    let library = Library::new(None);
    let lexical = |q, demote| Query { ranking: Ranking::Lexical, demote_overviews: demote, ..Query::new(q) };
    // "Summary" recurs on every page: a template heading, so it yields to the section that
    // explains — unless the question asks for the summary.
    let q = "which graphics card and driver do simulators need";
    assert_eq!(ranked(&library, &pool, lexical(q, false)).await[0], "Summary", "the summary mentions everything");
    assert_eq!(ranked(&library, &pool, lexical(q, true)).await[0], "Graphics Processing Unit");
    assert_eq!(ranked(&library, &pool, lexical("summary of the balance page", true)).await[0], "Summary");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn answers_quote_whole_blocks_from_the_section_they_name(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool.clone()).await;
    let dir = write_book();
    ingest(&pool, &dir, true).await;
    let g = app.guest().await;
    let r = g.ask(None, "how quickly does a balance correction have to execute before the robot falls?").await;
    let a = &r["answer"];
    assert_eq!(a["refused"], false, "{r}");
    let md = a["content"].as_str().unwrap();
    assert!(md.starts_with("From *Staying Upright* › **Reaction Time** [1]:"), "{md}");
    // The list, whole, with the line that introduces it.
    assert!(
        md.contains("A humanoid must correct its balance quickly:\n\n- **Sensing**: the IMU reports tilt within 2 ms\n- **Decision**: the balance controller reacts within 10 ms\n- **Action**: a balance correction must execute within 50 ms, or the robot falls"),
        "{md}"
    );
    // The section's anchor, then a text fragment naming the item that answers.
    let url = a["citations"][0]["url"].as_str().unwrap_or("");
    assert_eq!(url.split(":~:").next(), Some("https://book.example/docs/balance/falling#reaction-time"), "{url}");
    assert!(url.contains(":~:text=Action%3A%20a%20balance%20correction"), "{url}");
    let html = a["html"].as_str().unwrap_or("");
    assert!(html.contains("<li><strong>Action</strong>: a balance correction"), "{html}");

    // Table rows come with their header; the page top links to the page.
    let r = g.ask(None, "which nvidia card is recommended for humanoid training?").await;
    let md = r["answer"]["content"].as_str().unwrap();
    assert!(md.contains("| Tier | Specification | Notes |\n| --- | --- | --- |"), "{md}");
    assert!(md.contains("| recommended | NVIDIA RTX 4070 Ti (12GB VRAM) | Humanoid training |"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_model_that_fails_its_checksum_is_refused(pool: PgPool) {
    let _ = pool;
    let Some(src) = std::env::var("BOOKCHAT_EMBED_MODEL_DIR").ok().filter(|d| !d.is_empty()) else {
        panic!("BOOKCHAT_EMBED_MODEL_DIR must name the embedding model (scripts/test sets it)");
    };
    let dir = std::env::temp_dir().join(format!("bookchat-model-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json", "SHA256SUMS"] {
        std::fs::copy(Path::new(&src).join(f), dir.join(f)).unwrap();
    }
    // Weights that are not the published ones.
    let mut weights = std::fs::read(Path::new(&src).join("model.safetensors")).unwrap();
    let last = weights.len() - 1;
    weights[last] ^= 0x01;
    std::fs::write(dir.join("model.safetensors"), weights).unwrap();
    let cfg = bookchat::server::config::EmbedConfig { model_dir: Some(dir.to_string_lossy().into_owned()) };
    let err = bookchat::server::cli::load_embedder(&cfg).unwrap_err();
    assert!(format!("{err:#}").contains("does not match its SHA-256"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_readers_page_is_preferred_between_equal_answers(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool.clone()).await;
    let dir = std::env::temp_dir().join(format!("bookchat-pages-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("arms.md"), "# Arms\n\n## Calibration\n\nIMU calibration: keep the robot still and record the gyroscope bias.\n").unwrap();
    std::fs::write(dir.join("legs.md"), "# Legs\n\n## Calibration\n\nIMU calibration: keep the robot still and record the gyroscope bias before walking.\n").unwrap();
    ingest(&pool, &dir, true).await;
    let g = app.guest().await;
    let q = "how do I calibrate the IMU gyroscope bias?";
    // The cited section (its link without the text fragment).
    let first = |r: &Value| r["answer"]["citations"][0]["url"].as_str().unwrap_or("").split(":~:").next().unwrap_or("").to_owned();
    let plain = g.ask(None, q).await;
    assert_eq!(first(&plain), "https://book.example/docs/arms#calibration", "{plain}");
    let (status, on_page) = g
        .call("chat/send", serde_json::json!({"client_id": Uuid::new_v4(), "content": q, "context": {"url": "https://book.example/docs/legs"}}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(first(&on_page), "https://book.example/docs/legs#calibration", "{on_page}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Instances starting together and the book's CI ingest one at a time: a second ingest waits for
/// the one holding the lock, then runs (and finds nothing left to do).
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_second_ingest_waits_for_the_first(pool: PgPool) {
    use bookchat::server::db::documents;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/docs");
    let mut holder = pool.acquire().await.unwrap();
    documents::lock_ingest(&mut holder).await.unwrap();
    let waiting = {
        let (pool, dir) = (pool.clone(), dir.clone());
        tokio::spawn(async move { bookchat::server::book::ingest::ingest_dir(&pool, &pool, &dir, true, false, None).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!waiting.is_finished(), "the second ingest waits for the lock");
    assert_eq!(documents::section_count(&pool).await.unwrap(), 0, "and has written nothing");
    documents::unlock_ingest(&mut holder).await.unwrap();
    let report = tokio::time::timeout(std::time::Duration::from_secs(60), waiting).await.expect("it runs once the lock is free").unwrap().unwrap();
    assert!(report.inserted > 0);
    let sections = documents::section_count(&pool).await.unwrap();
    // Two at once: both succeed, one after the other, and the book is stored once.
    let (a, b) = tokio::join!(
        bookchat::server::book::ingest::ingest_dir(&pool, &pool, &dir, true, false, None),
        bookchat::server::book::ingest::ingest_dir(&pool, &pool, &dir, true, false, None)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.inserted + a.updated, b.inserted + b.updated), (0, 0));
    assert_eq!(documents::section_count(&pool).await.unwrap(), sections);
}

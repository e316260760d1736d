//! `bookchat ingest <dir>`: load a Docusaurus docs folder into Postgres, page by page, each page
//! in its own transaction (an interrupted run leaves every page either old or new, never half).

use super::book;
use super::db::documents::{self, IngestOutcome};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestReport {
    pub files: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub duplicates: usize,
    pub pruned: u64,
    pub acronyms: usize,
    /// Distinct words of the book, for correcting misspelled questions.
    pub words: i64,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name.starts_with('_') || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("md" | "mdx")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Ingest every `.md`/`.mdx` under `dir`. With `prune`, pages whose file is gone are deleted.
pub async fn ingest_dir(pool: &PgPool, dir: &Path, prune: bool, progress: bool) -> anyhow::Result<IngestReport> {
    let mut files = Vec::new();
    collect(dir, &mut files).with_context(|| format!("reading book folder {}", dir.display()))?;
    files.sort();
    let bar = if progress { ProgressBar::new(files.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} ingesting [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut report = IngestReport { files: files.len(), ..Default::default() };
    let mut kept = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        bar.set_message(rel.clone());
        let raw = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let hash = hex::encode(Sha256::digest(raw.as_bytes()));
        let page = book::parse_page(&rel, &raw);
        let outcome = documents::upsert_page(pool, &page, &raw, &hash)
            .await
            .map_err(|e| anyhow::anyhow!("storing {rel}: {e}"))?;
        match outcome {
            IngestOutcome::Inserted => report.inserted += 1,
            IngestOutcome::Updated => report.updated += 1,
            IngestOutcome::Unchanged => report.unchanged += 1,
            IngestOutcome::DuplicateContent => {
                report.duplicates += 1;
                bar.println(format!("skipped {rel}: same content as another page"));
            }
        }
        kept.push(rel);
        bar.inc(1);
    }
    if prune {
        report.pruned = documents::prune(pool, &kept).await.map_err(|e| anyhow::anyhow!("pruning: {e}"))?;
    }
    let bodies = documents::all_bodies(pool).await.map_err(|e| anyhow::anyhow!("reading chunks: {e}"))?;
    let pairs: Vec<(String, String)> = bodies.iter().flat_map(|b| book::find_acronyms(b)).collect();
    report.acronyms = documents::rebuild_acronyms(pool, &pairs).await.map_err(|e| anyhow::anyhow!("acronyms: {e}"))?;
    report.words = documents::rebuild_words(pool).await.map_err(|e| anyhow::anyhow!("vocabulary: {e}"))?;
    bar.finish_and_clear();
    Ok(report)
}

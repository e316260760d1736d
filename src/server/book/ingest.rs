//! `bookchat ingest <dir>`: load a Docusaurus docs folder into Postgres. Unchanged pages (same
//! file, same parser) are skipped after one query; changed pages are parsed, their sections
//! embedded (texts already embedded by this model come from the cache, whatever page they were
//! on), then each page is written in its own transaction, so an interrupted run leaves every page
//! either old or new, never half.

use super::embed::{self, Embedder};
use super::parse::{self, PARSER_VERSION};
use super::{BlockKind, Page, Section};
use crate::server::db::documents::{self, IngestOutcome};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    pub files: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub pruned: u64,
    /// Sections of the pages written.
    pub sections: usize,
    /// Texts the model embedded now, and those found in the cache.
    pub embedded: usize,
    pub cached: usize,
    /// The model that embedded the book (None: BM25 only).
    pub model: Option<String>,
}

/// The book's pages, sorted, as (path relative to `dir`, file).
pub fn book_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    collect(dir, &mut files).with_context(|| format!("reading book folder {}", dir.display()))?;
    files.sort();
    Ok(files
        .into_iter()
        .map(|p| (p.strip_prefix(dir).unwrap_or(&p).to_string_lossy().replace('\\', "/"), p))
        .collect())
}

/// Docusaurus skips files and folders starting with `_` (partials) or `.`.
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

/// A section's heading under its parent heading, without the page title.
pub fn heading_text(section: &Section) -> String {
    let mut parts: Vec<String> = section.path.iter().skip(1).cloned().collect();
    parts.push(section.heading.clone());
    parts.join(" › ")
}

/// Words of prose per embedded window: a long section is embedded as several windows (each
/// with its heading path), so a fact deep in it is found by meaning too, and no window runs
/// past what the model reads (256 tokens).
const WINDOW_WORDS: usize = 110;

/// The texts a section is embedded as: its heading (under its parent; the page title is
/// shared by all its sections and blurs them together) and what it says in prose, in windows of
/// about [`WINDOW_WORDS`] words that never split a paragraph, list item or table row. A heading
/// inside the section (`####` and below) starts a window of its own under "heading › subheading":
/// a subsection is one topic, and a window that runs across two reads as neither (a fact under
/// "3. Real-Time Performance" was blurred with the list of the subsection before it). Code
/// counts by what it says in words — its comments and docstrings ("Coefficient of friction (0 =
/// ice, 1 = rubber)") — its identifiers are left to the lexical side: a section that is all code
/// was embedded as its bare heading and found by meaning by no question.
pub fn embedding_windows(section: &Section) -> Vec<String> {
    let head = heading_text(section);
    let mut windows = Vec::new();
    let mut window = Window::new(head.clone());
    for b in &section.blocks {
        if b.kind == BlockKind::Code {
            let words = code_words(&b.text);
            if !words.is_empty() {
                window.add(&words, &mut windows);
            }
            continue;
        }
        if b.kind == BlockKind::Heading {
            window.flush(&mut windows);
            window = Window::new(format!("{head} › {}", b.text.trim()));
            continue;
        }
        if b.parts.is_empty() {
            window.add(&b.text, &mut windows);
        } else {
            for p in &b.parts {
                window.add(&p.text, &mut windows);
            }
        }
    }
    window.flush(&mut windows);
    if windows.is_empty() {
        windows.push(head);
    }
    windows
}

/// The prose inside code: comment and docstring text, one line each, markers dropped
/// (`# Check every 10ms`, `// Define a tool`, `<!-- Max torque (Nm) -->`, `"""Record audio."""`).
pub fn code_words(code: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut in_docstring = false;
    for line in code.lines() {
        let t = line.trim();
        let quote = ["\"\"\"", "'''"].iter().find(|q| t.contains(**q));
        if in_docstring || quote.is_some() {
            let text = t.replace("\"\"\"", "").replace("'''", "");
            if quote.is_some_and(|q| t.matches(q).count() == 1) {
                in_docstring = !in_docstring;
            }
            push_prose(&mut out, &text);
            continue;
        }
        let comment = ["<!--", "//", "# ", "/*", " -- ", "* "]
            .iter()
            .filter_map(|m| line.find(m).map(|i| (i, *m)))
            .min_by_key(|(i, _)| *i)
            .filter(|(i, m)| *m != "* " || line[..*i].trim().is_empty())
            .map(|(i, m)| &line[i + m.len()..]);
        if let Some(c) = comment {
            push_prose(&mut out, c.trim_end_matches("-->").trim_end_matches("*/"));
        }
    }
    out.join("\n")
}

/// A line of comment text, when it says something in words (not `# ---` or `// TODO`).
fn push_prose(out: &mut Vec<String>, text: &str) {
    let t = text.trim();
    let words = t.split_whitespace().filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2).count();
    if words >= 2 {
        out.push(t.to_owned());
    }
}

/// The embedding window being filled: a heading and whole units of prose.
struct Window {
    head: String,
    text: String,
    words: usize,
}

impl Window {
    fn new(head: String) -> Window {
        Window { head, text: String::new(), words: 0 }
    }

    fn add(&mut self, unit: &str, out: &mut Vec<String>) {
        let n = unit.split_whitespace().count();
        if self.words > 0 && self.words + n > WINDOW_WORDS {
            self.flush(out);
        }
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(unit);
        self.words += n;
    }

    /// Emit the window if it holds prose (a heading alone says too little to embed).
    fn flush(&mut self, out: &mut Vec<String>) {
        if self.words > 0 {
            out.push(format!("{}\n{}", self.head, self.text));
        }
        self.text.clear();
        self.words = 0;
    }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn bar(progress: bool, len: usize, what: &str) -> ProgressBar {
    let bar = if progress { ProgressBar::new(len as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{wide_msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Ingest every `.md`/`.mdx` under `dir`. With `prune`, pages whose file is gone are deleted.
pub async fn ingest_dir(
    lock: &PgPool,
    pool: &PgPool,
    dir: &Path,
    prune: bool,
    progress: bool,
    embedder: Option<&Arc<Embedder>>,
) -> anyhow::Result<IngestReport> {
    // One ingest at a time per database (instances starting together, the book's CI): a second
    // waits for the first, then finds its pages unchanged. The lock is a session's, so it is
    // held on `lock` — the direct connection when `pool` goes through a pooler.
    let mut held = lock.acquire().await.context("a connection for the ingest lock")?;
    documents::lock_ingest(&mut held).await.map_err(|e| anyhow::anyhow!("taking the ingest lock: {e}"))?;
    let result = ingest_locked(pool, dir, prune, progress, embedder).await;
    if let Err(e) = documents::unlock_ingest(&mut held).await {
        tracing::warn!(error = %e, "could not release the ingest lock; closing its connection");
        held.detach();
    }
    result
}

async fn ingest_locked(pool: &PgPool, dir: &Path, prune: bool, progress: bool, embedder: Option<&Arc<Embedder>>) -> anyhow::Result<IngestReport> {
    let files = book_files(dir)?;
    let stored = documents::stored_pages(pool).await.map_err(|e| anyhow::anyhow!("reading stored pages: {e}"))?;
    // Pages stored before this model embedded them (another model, or none) count as changed.
    let unembedded: HashSet<String> = match embedder {
        Some(m) => documents::pages_missing_vectors(pool, m.id())
            .await
            .map_err(|e| anyhow::anyhow!("reading the embedding cache: {e}"))?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    let mut report = IngestReport { files: files.len(), model: embedder.map(|e| e.id().to_owned()), ..Default::default() };
    let mut kept = Vec::new();
    let mut changed: Vec<(Page, String, String)> = Vec::new();
    for (rel, path) in &files {
        let raw = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let hash = sha256_hex(&raw);
        kept.push(rel.clone());
        if stored.get(rel).is_some_and(|(h, v)| *h == hash && *v == PARSER_VERSION) && !unembedded.contains(rel) {
            report.unchanged += 1;
            continue;
        }
        changed.push((parse::parse_page(rel, &raw), raw, hash));
    }

    // Embed what the cache lacks, in batches off the async runtime.
    // Per page, per section: its windows as (hash, text).
    let windows: Vec<Vec<Vec<(String, String)>>> = changed
        .iter()
        .map(|(page, _, _)| {
            page.sections
                .iter()
                .map(|s| embedding_windows(s).into_iter().map(|t| (sha256_hex(&t), t)).collect())
                .collect()
        })
        .collect();
    if let Some(model) = embedder {
        let mut all: Vec<(String, String)> = windows.iter().flatten().flatten().cloned().collect();
        let mut seen = HashSet::new();
        all.retain(|(h, _)| seen.insert(h.clone()));
        let hashes: Vec<String> = all.iter().map(|(h, _)| h.clone()).collect();
        let missing: HashSet<String> = documents::missing_embeddings(pool, model.id(), &hashes)
            .await
            .map_err(|e| anyhow::anyhow!("reading the embedding cache: {e}"))?
            .into_iter()
            .collect();
        let todo: Vec<(String, String)> = all.into_iter().filter(|(h, _)| missing.contains(h)).collect();
        report.cached = seen.len() - todo.len();
        let progress_bar = bar(progress, todo.len(), "embedding");
        for batch in todo.chunks(64) {
            let worker = model.clone();
            let texts: Vec<String> = batch.iter().map(|(_, t)| t.clone()).collect();
            let vectors = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                worker.embed(&refs)
            })
            .await
            .context("embedding task")?
            .context("embedding the book")?;
            let items: Vec<(String, Vec<u8>)> = batch.iter().zip(&vectors).map(|((h, _), v)| (h.clone(), embed::to_bytes(v))).collect();
            documents::store_embeddings(pool, model.id(), &items).await.map_err(|e| anyhow::anyhow!("storing embeddings: {e}"))?;
            report.embedded += batch.len();
            progress_bar.inc(batch.len() as u64);
        }
        progress_bar.finish_and_clear();
    }

    let progress_bar = bar(progress, changed.len(), "storing");
    for ((page, raw, hash), windows) in changed.iter().zip(&windows) {
        progress_bar.set_message(page.source_path.clone());
        // The hashes are stored with or without a model: a model added later embeds exactly these.
        let hashes: Vec<Vec<String>> = windows.iter().map(|w| w.iter().map(|(h, _)| h.clone()).collect()).collect();
        let outcome = documents::upsert_page(pool, page, raw, hash, PARSER_VERSION, &hashes)
            .await
            .map_err(|e| anyhow::anyhow!("storing {}: {e}", page.source_path))?;
        match outcome {
            IngestOutcome::Inserted => report.inserted += 1,
            IngestOutcome::Updated => report.updated += 1,
            IngestOutcome::Unchanged => report.unchanged += 1,
        }
        report.sections += page.sections.len();
        progress_bar.inc(1);
    }
    progress_bar.finish_and_clear();
    if prune {
        report.pruned = documents::prune(pool, &kept).await.map_err(|e| anyhow::anyhow!("pruning: {e}"))?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::book::parse::parse_page;

    #[test]
    fn a_subsection_is_embedded_under_its_own_heading() {
        let page = parse_page(
            "guide/problems.md",
            "# Guide\n\n## The Core Problems\n\nFive challenges follow.\n\n#### 1. Fragmentation\n\n- every sensor speaks its own protocol\n- every driver has its own format\n\n#### 2. Real-Time\n\n- a balance correction must execute within 10 ms or the robot falls\n\n```python\nprint('code is left to the lexical side')\n```\n",
        );
        let section = page.sections.iter().find(|s| s.heading == "The Core Problems").expect("section");
        let windows = embedding_windows(section);
        assert_eq!(windows.len(), 3, "{windows:#?}");
        assert!(windows[0].starts_with("The Core Problems\n") && windows[0].contains("Five challenges"));
        let real_time = windows.iter().find(|w| w.contains("balance correction")).expect("window");
        assert!(real_time.starts_with("The Core Problems › 2. Real-Time\n"), "{real_time}");
        assert!(!real_time.contains("protocol"), "a window stays inside its subsection: {real_time}");
        assert!(windows.iter().all(|w| !w.contains("print(")), "code itself is not embedded");
    }

    #[test]
    fn code_is_embedded_by_what_its_comments_and_docstrings_say() {
        let src = "# A\n\n## 4.6.2 Friction\n\n```xml\n<surface>\n  <mu>0.8</mu>  <!-- Coefficient of friction (0 = ice, 1 = rubber) -->\n</surface>\n```\n\n```python\ndef step():\n    \"\"\"Advance the world without rendering.\"\"\"\n    world.step(render=False)  # Render=False for speed\n    # ---\n```\n";
        let page = parse_page("a.md", src);
        let section = page.sections.iter().find(|s| s.heading == "4.6.2 Friction").expect("section");
        let windows = embedding_windows(section);
        assert_eq!(windows.len(), 1, "{windows:#?}");
        let w = &windows[0];
        assert!(w.starts_with("4.6.2 Friction\n"), "{w}");
        assert!(w.contains("Coefficient of friction (0 = ice, 1 = rubber)") && w.contains("Advance the world without rendering.") && w.contains("Render=False for speed"), "{w}");
        assert!(!w.contains("<mu>") && !w.contains("world.step") && !w.contains("---"), "{w}");
    }

    #[test]
    fn a_section_without_prose_is_embedded_as_its_heading() {
        let page = parse_page("a.md", "# A\n\n## Setup\n\n```bash\nmake\n```\n");
        let section = page.sections.iter().find(|s| s.heading == "Setup").expect("section");
        assert_eq!(embedding_windows(section), vec!["Setup".to_owned()]);
    }
}

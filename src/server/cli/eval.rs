//! `bookchat eval --book DIR --questions F --offtopic F`: how BookChat does on a real book.
//! Questions come in the development book's format (`question`, the `source` page and `heading`
//! of the answering section, `answer_contains` phrases); off-topic questions should be refused.
//! Prints Markdown tables: retrieval by section (and page), the answer's own citations, key
//! phrases in the answer, refusals, answer time, ingest time cold and warm; with `--scale N`,
//! answer time on the book loaded N times under different routes. Per-question details go to
//! `--details FILE`.

use crate::server::answer::compose;
use crate::server::answer::index::BookIndex;
use crate::server::answer::retrieve::{self, Fusion, Library, Query, Ranking, Retrieval};
use crate::server::book::embed::Embedder;
use crate::server::book::ingest;
use anyhow::{bail, Context};
use serde::Deserialize;
use sqlx::PgPool;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Deserialize)]
struct OnTopic {
    #[serde(default)]
    id: String,
    question: String,
    /// The answering page, relative to the questions file's folder.
    source: String,
    /// The exact text of the answering section's heading.
    heading: String,
    #[serde(default)]
    answer_contains: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct OffTopic {
    #[serde(default)]
    id: String,
    question: String,
}

pub struct EvalArgs {
    pub book: PathBuf,
    pub questions: PathBuf,
    pub offtopic: Option<PathBuf>,
    pub latency_rounds: usize,
    pub scale: usize,
    pub details: Option<PathBuf>,
}

/// One ranking configuration compared in the retrieval table.
struct Config {
    name: String,
    ranking: Ranking,
    demote: bool,
    fusion: Fusion,
}

fn configs() -> Vec<Config> {
    let c = |name: &str, ranking, demote, fusion| Config { name: name.to_owned(), ranking, demote, fusion };
    let mut v = vec![
        c("BM25 (heading, path, body)", Ranking::Lexical, false, retrieve::FUSION),
        c("BM25 + summary-like sections demoted", Ranking::Lexical, true, retrieve::FUSION),
        c("dense only (all-MiniLM-L6-v2)", Ranking::Dense, true, retrieve::FUSION),
    ];
    for w in [0.5, 1.0, 1.5] {
        v.push(c(&format!("hybrid, reciprocal-rank fusion, dense weight {w}"), Ranking::Hybrid, true, Fusion::Rrf { dense_weight: w }));
    }
    for (w, cov) in [(0.5, 0.0), (0.3, 0.0), (0.3, 0.2), (0.3, 0.4), (0.4, 0.4), (0.3, 0.6)] {
        v.push(c(
            &format!("hybrid, normalised scores, BM25 weight {w}, coverage {cov}"),
            Ranking::Hybrid,
            true,
            Fusion::Linear { lexical_weight: w, coverage_weight: cov },
        ));
    }
    v
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Whitespace- and case-insensitive containment, as the question files specify.
fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// What a reader sees of an answer: its Markdown rendered, as text.
fn rendered_text(md: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    let mut out = String::new();
    for e in Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES) {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out
}

fn contains_phrase(answer_md: &str, phrase: &str) -> bool {
    let p = normalise(phrase);
    normalise(answer_md).contains(&p) || normalise(&rendered_text(answer_md)).contains(&p)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run(pool: &PgPool, embedder: Option<Arc<Embedder>>, args: &EvalArgs) -> anyhow::Result<()> {
    let questions: Vec<OnTopic> = read_json(&args.questions)?;
    let offtopic: Vec<OffTopic> = match &args.offtopic {
        Some(p) => read_json(p)?,
        None => Vec::new(),
    };
    if questions.is_empty() {
        bail!("{} has no questions", args.questions.display());
    }
    let book = args.book.canonicalize().with_context(|| format!("book folder {}", args.book.display()))?;
    let qdir = args.questions.parent().unwrap_or(Path::new(".")).to_owned();

    // Ingest twice: the first from this (fresh) database is cold, the second is the unchanged
    // book again.
    let t0 = Instant::now();
    let cold = ingest::ingest_dir(pool, &book, true, false, embedder.as_ref()).await?;
    let cold_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let warm = ingest::ingest_dir(pool, &book, true, false, embedder.as_ref()).await?;
    let warm_secs = t1.elapsed().as_secs_f64();
    let library = Library::new(embedder.clone());
    let index = library.index(pool).await?;

    // Each question's answering section in the index.
    let mut gold = Vec::new();
    for q in &questions {
        let path = qdir.join(&q.source);
        let path = path.canonicalize().with_context(|| format!("question {}: source {}", q.id, q.source))?;
        let rel = path
            .strip_prefix(&book)
            .map_err(|_| anyhow::anyhow!("question {}: {} is not inside the book folder {}", q.id, q.source, book.display()))?
            .to_string_lossy()
            .replace('\\', "/");
        let found = index.sections.iter().position(|s| s.source_path == rel && s.heading.trim() == q.heading.trim());
        match found {
            Some(i) => gold.push(span(&index, i)),
            None => bail!("question {}: no section {:?} on page {rel}", q.id, q.heading),
        }
    }

    println!(
        "# Evaluation: {} ({} pages, {} sections; {} questions, {} off-topic; model: {})\n",
        args.book.display(),
        cold.files,
        index.sections.len(),
        questions.len(),
        offtopic.len(),
        embedder.as_ref().map(|e| e.id()).unwrap_or("none — BM25 only")
    );
    println!("## Retrieval (rank of the answering section)\n");
    println!("| ranking | hit@1 | hit@3 | MRR | page hit@3 |");
    println!("|---|---|---|---|---|");
    let n = questions.len() as f64;
    for c in configs().iter().filter(|c| embedder.is_some() || c.ranking == Ranking::Lexical) {
        let (mut h1, mut h3, mut mrr, mut page3) = (0.0, 0.0, 0.0, 0.0);
        for (q, g) in questions.iter().zip(&gold) {
            let r = retrieve::rank(
                &index,
                embedder.as_deref(),
                &Query { ranking: c.ranking, demote_overviews: c.demote, fusion: c.fusion, ..Query::new(&q.question) },
            );
            let rank = r.hits.iter().position(|h| g.contains(&h.section)).map(|p| p + 1);
            h1 += f64::from(rank == Some(1));
            h3 += f64::from(rank.is_some_and(|k| k <= 3));
            mrr += rank.map(|k| 1.0 / k as f64).unwrap_or(0.0);
            let gold_route = &index.sections[g[0]].route;
            page3 += f64::from(r.hits.iter().take(3).any(|h| &index.sections[h.section].route == gold_route));
        }
        let used = if c.ranking == Ranking::Hybrid && c.fusion == retrieve::FUSION { " (used)" } else { "" };
        println!("| {}{used} | {:.2} | {:.2} | {:.2} | {:.2} |", c.name, h1 / n, h3 / n, mrr / n, page3 / n);
    }

    // Answers, as the offline answerer gives them.
    let mut details = String::new();
    let (mut cited3, mut phrases_all, mut phrases_each, mut phrase_total, mut on_refused) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let url = |route: &str, anchor: &str| if anchor.is_empty() { route.to_owned() } else { format!("{route}#{anchor}") };
    for (q, g) in questions.iter().zip(&gold) {
        let r = retrieve::rank(&index, embedder.as_deref(), &Query::new(&q.question));
        let a = compose::compose(&r, url);
        let g_urls: Vec<String> = g.iter().map(|&i| url(&index.sections[i].route, &index.sections[i].anchor)).collect();
        // The section's link, without the text fragment naming a sentence in it.
        let section_url = |u: &str| u.split(":~:").next().unwrap_or(u).trim_end_matches('#').to_owned();
        let cited = a.citations.iter().take(3).any(|c| g_urls.contains(&section_url(&c.url)));
        cited3 += f64::from(cited);
        on_refused += f64::from(a.refused);
        let found: Vec<bool> = q.answer_contains.iter().map(|p| contains_phrase(&a.markdown, p)).collect();
        phrases_all += f64::from(!found.is_empty() && found.iter().all(|f| *f));
        phrases_each += found.iter().filter(|f| **f).count() as f64;
        phrase_total += found.len() as f64;
        let rank = r.hits.iter().position(|h| g.contains(&h.section)).map(|p| p + 1);
        // Where the answering section really ranks, and why.
        let all = retrieve::rank(&index, embedder.as_deref(), &Query { limit: usize::MAX, ..Query::new(&q.question) });
        let gold_hit = all.hits.iter().enumerate().find(|(_, h)| g.contains(&h.section));
        let gold_why = gold_hit
            .map(|(p, h)| format!("full rank {} (s {:.4}, bm25 {:.1}, cos {:.2}, cov {:.2})", p + 1, h.score, h.lexical, h.dense, h.coverage))
            .unwrap_or_else(|| "not ranked".into());
        let _ = writeln!(
            details,
            "### {} {}\n\ngold: {} (rank {:?}; {gold_why}) · cited: {} · phrases: {:?} · refused: {} · foreign: {:?} · corrections: {:?}\n\ntop: {}\n\n{}\n",
            q.id,
            q.question,
            index.sections[g[0]].label(),
            rank,
            cited,
            found,
            a.refused,
            foreign(&r, embedder.as_deref()),
            r.terms.corrections,
            hits_summary(&r),
            a.markdown
        );
    }
    let mut off_refused = 0.0;
    for q in &offtopic {
        let r = retrieve::rank(&index, embedder.as_deref(), &Query::new(&q.question));
        let a = compose::compose(&r, url);
        off_refused += f64::from(a.refused);
        let _ = writeln!(
            details,
            "### {} (off-topic) {}\n\nrefused: {} · foreign: {:?} · corrections: {:?}\n\ntop: {}\n",
            q.id,
            q.question,
            a.refused,
            foreign(&r, embedder.as_deref()),
            r.terms.corrections,
            hits_summary(&r)
        );
    }
    let with_phrases = questions.iter().filter(|q| !q.answer_contains.is_empty()).count().max(1) as f64;
    println!("\n## Answers (offline answerer: whole blocks of the best sections)\n");
    println!("| cited hit@3 | key phrases in the answer (all / each) | off-topic refused | on-topic refused |");
    println!("|---|---|---|---|");
    println!(
        "| {:.2} | {:.2} / {:.2} | {} | {:.2} |",
        cited3 / n,
        phrases_all / with_phrases,
        if phrase_total > 0.0 { phrases_each / phrase_total } else { 0.0 },
        if offtopic.is_empty() { "—".to_owned() } else { format!("{:.2}", off_refused / offtopic.len() as f64) },
        on_refused / n
    );

    println!("\n## Time (this machine, {} build)\n", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("| what | value |");
    println!("|---|---|");
    println!(
        "| ingest, cold (fresh database: parse, embed {} texts, store) | {:.1} s |",
        cold.embedded, cold_secs
    );
    println!("| ingest, warm (unchanged book: {} of {} pages skipped) | {:.2} s |", warm.unchanged, warm.files, warm_secs);
    let all_questions: Vec<&str> = questions.iter().map(|q| q.question.as_str()).chain(offtopic.iter().map(|q| q.question.as_str())).collect();
    if args.latency_rounds > 0 {
        let (p50, p95) = latency(&index, embedder.as_deref(), &all_questions, args.latency_rounds);
        println!(
            "| answer time (retrieve + compose, question embedding included), {} sections | p50 {:.1} ms · p95 {:.1} ms |",
            index.sections.len(),
            p50,
            p95
        );
    }
    if args.scale > 1 && args.latency_rounds > 0 {
        let copies = scaled_copy(&book, args.scale)?;
        let t = Instant::now();
        ingest::ingest_dir(pool, &copies, true, false, embedder.as_ref()).await?;
        let secs = t.elapsed().as_secs_f64();
        let big = library.index(pool).await?;
        let (p50, p95) = latency(&big, embedder.as_deref(), &all_questions, args.latency_rounds);
        println!(
            "| answer time on the book loaded {}× under different routes, {} sections (ingested in {:.1} s from the cache) | p50 {:.1} ms · p95 {:.1} ms |",
            args.scale,
            big.sections.len(),
            secs,
            p50,
            p95
        );
        let _ = std::fs::remove_dir_all(&copies);
    }
    if let Some(path) = &args.details {
        std::fs::write(path, details).with_context(|| format!("writing {}", path.display()))?;
        println!("\nPer-question details: {}", path.display());
    }
    Ok(())
}

fn foreign(r: &Retrieval, e: Option<&Embedder>) -> Vec<String> {
    r.foreign_terms
        .iter()
        .map(|w| format!("{w}/{}", e.map(|e| e.word_pieces(&w.to_lowercase())).unwrap_or(0)))
        .chain(r.unknown_names.iter().map(|n| format!("name: {n}")))
        .collect()
}

/// The answering section as the question set defines it: from its heading to the next heading
/// of the same or a higher level, so a `##` section includes its `###` subsections.
fn span(index: &BookIndex, gold: usize) -> Vec<usize> {
    let g = &index.sections[gold];
    let mut out = vec![gold];
    for (i, s) in index.sections.iter().enumerate().skip(gold + 1) {
        if s.source_path != g.source_path || s.level <= g.level {
            break;
        }
        out.push(i);
    }
    out
}

fn hits_summary(r: &Retrieval) -> String {
    r.hits
        .iter()
        .take(4)
        .map(|h| {
            let s = r.section(h);
            format!("{} (s {:.4}, bm25 {:.1}, cos {:.2}, cov {:.2}{})", s.label(), h.score, h.lexical, h.dense, h.coverage, if s.overview { ", overview" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// p50 and p95 of retrieve + compose over every question, `rounds` times, with the question
/// embedding computed each time (the question cache is emptied before each round).
fn latency(index: &Arc<BookIndex>, embedder: Option<&Embedder>, questions: &[&str], rounds: usize) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..rounds {
        if let Some(e) = embedder {
            e.clear_cache();
        }
        for q in questions {
            let t = Instant::now();
            let r = retrieve::rank(index, embedder, &Query::new(q));
            let _ = compose::compose(&r, |route, anchor| format!("{route}#{anchor}"));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

/// The book copied `n` times into one folder (`copy-01/…`): n times the sections, each copy
/// under its own routes.
fn scaled_copy(book: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let dest = std::env::temp_dir().join(format!("bookchat-eval-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dest);
    for i in 1..=n {
        copy_dir(book, &dest.join(format!("copy-{i:02}")))?;
    }
    Ok(dest)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

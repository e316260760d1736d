//! `bookchat eval --set DIR …`: how BookChat does on real books. Questions come in the
//! development books' format (`question`, the `source` page and `heading` of the answering
//! section, `also` sections that answer equally well, `answer_contains` phrases — in the code
//! when `in_code` —, the question's `kind`: recap, code or explained); off-topic questions
//! should be refused. Prints, per book, the retrieval and answer figures by kind, and a summary
//! table with the macro average over the books; answer time, ingest time cold and warm; with
//! `--scale N`, answer time on the largest book loaded N times under different routes.
//! Per-question details go to `--details DIR`.

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
    /// Other sections that answer the question equally well (a hit on any counts).
    #[serde(default)]
    also: Vec<Also>,
    /// The key phrases are in the section's code (comments, docstrings), not its prose.
    #[serde(default)]
    in_code: bool,
    /// recap, code or explained (absent: explained).
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Also {
    source: String,
    heading: String,
}

#[derive(Debug, Deserialize)]
struct OffTopic {
    #[serde(default)]
    id: String,
    question: String,
}

/// One book and its questions.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub book: PathBuf,
    pub questions: PathBuf,
    pub offtopic: Option<PathBuf>,
}

impl EvalSet {
    /// A development book's folder: `docs/`, `questions.json`, `offtopic.json`.
    pub fn folder(dir: &Path) -> EvalSet {
        let offtopic = dir.join("offtopic.json");
        EvalSet { book: dir.join("docs"), questions: dir.join("questions.json"), offtopic: offtopic.exists().then_some(offtopic) }
    }

    /// The set's name: its questions file's folder.
    fn name(&self) -> String {
        let dir = self.questions.canonicalize().ok().and_then(|p| p.parent().map(Path::to_path_buf));
        dir.and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_else(|| "book".into())
    }
}

pub struct EvalArgs {
    pub sets: Vec<EvalSet>,
    pub latency_rounds: usize,
    pub scale: usize,
    pub compare: bool,
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

/// What a reader sees of an answer: its Markdown rendered, as text; code blocks only when
/// `with_code`.
fn rendered_text(md: &str, with_code: bool) -> String {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let mut out = String::new();
    let mut in_code = false;
    for e in Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES) {
        match e {
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                out.push(' ');
            }
            Event::Text(_) if in_code && !with_code => {}
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out
}

/// The answer says the phrase: in its prose, or — for a phrase the book has in code — in the
/// code it quotes.
fn contains_phrase(answer_md: &str, phrase: &str, in_code: bool) -> bool {
    let p = normalise(phrase);
    normalise(&rendered_text(answer_md, in_code)).contains(&p)
}

/// A heading as text, for matching the question files' raw Markdown headings
/// ("**Tier 2** ($3,500)") against the parsed ones ("Tier 2 ($3,500)").
fn plain_heading(h: &str) -> String {
    let h = h.split(" {#").next().unwrap_or(h);
    normalise(&h.replace(['*', '`'], "").replace("\\", ""))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Sums over a group of questions.
#[derive(Debug, Default, Clone)]
struct Tally {
    n: f64,
    hit1: f64,
    hit3: f64,
    mrr: f64,
    page3: f64,
    cited3: f64,
    phrases: f64,
    refused: f64,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        self.n += 1.0;
        self.hit1 += f64::from(o.rank == Some(1));
        self.hit3 += f64::from(o.rank.is_some_and(|k| k <= 3));
        self.mrr += o.rank.map(|k| 1.0 / k as f64).unwrap_or(0.0);
        self.page3 += f64::from(o.page3);
        self.cited3 += f64::from(o.cited3);
        self.phrases += f64::from(o.phrases);
        self.refused += f64::from(o.refused);
    }
    fn rate(&self, v: f64) -> f64 {
        if self.n == 0.0 {
            f64::NAN
        } else {
            v / self.n
        }
    }
}

/// How one on-topic question went.
struct Outcome {
    rank: Option<usize>,
    page3: bool,
    cited3: bool,
    phrases: bool,
    refused: bool,
}

/// One book's figures.
struct BookResult {
    name: String,
    all: Tally,
    recap: Tally,
    code: Tally,
    off_n: f64,
    off_refused: f64,
    latency: Option<(f64, f64)>,
    sections: usize,
}

pub async fn run(pool: &PgPool, embedder: Option<Arc<Embedder>>, args: &EvalArgs) -> anyhow::Result<()> {
    if args.sets.is_empty() {
        bail!("nothing to evaluate: give --set DIR (repeatable) or --book DIR --questions F");
    }
    let library = Library::new(embedder.clone());
    let mut results = Vec::new();
    let mut largest: Option<(usize, PathBuf, Vec<String>)> = None;
    for set in &args.sets {
        let (result, questions) = run_set(pool, &library, embedder.as_ref(), set, args).await?;
        if largest.as_ref().is_none_or(|(n, _, _)| result.sections > *n) {
            largest = Some((result.sections, set.book.clone(), questions));
        }
        results.push(result);
    }
    print_summary(&results);
    if let (true, true, Some((_, book, questions))) = (args.scale > 1, args.latency_rounds > 0, largest) {
        let book = book.canonicalize()?;
        let copies = scaled_copy(&book, args.scale)?;
        let t = Instant::now();
        ingest::ingest_dir(pool, pool, &copies, true, false, embedder.as_ref()).await?;
        let secs = t.elapsed().as_secs_f64();
        let big = library.index(pool).await?;
        let qs: Vec<&str> = questions.iter().map(String::as_str).collect();
        let (p50, p95) = latency(&big, embedder.as_deref(), &qs, args.latency_rounds);
        println!(
            "\nAnswer time on {} loaded {}× under different routes, {} sections (ingested in {:.1} s from the cache): p50 {:.1} ms · p95 {:.1} ms",
            book.display(),
            args.scale,
            big.sections.len(),
            secs,
            p50,
            p95
        );
        let _ = std::fs::remove_dir_all(&copies);
    }
    Ok(())
}

fn print_summary(results: &[BookResult]) {
    println!("\n# Summary ({} build; recap and code: the questions of that kind)\n", if cfg!(debug_assertions) { "debug" } else { "release" });
    println!("| book | hit@3 | MRR | cited hit@3 | key phrase | off-topic refused | on-topic refused | recap hit@3 | recap refused | code hit@3 | code refused | code key phrase | answer p50 / p95 |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let f = |v: f64| if v.is_nan() { "—".to_owned() } else { format!("{v:.2}") };
    let row = |name: &str, cells: [f64; 11], time: String| {
        println!("| {name} | {} | {time} |", cells.iter().map(|v| f(*v)).collect::<Vec<_>>().join(" | "));
    };
    let cells = |r: &BookResult| -> [f64; 11] {
        let a = &r.all;
        [
            a.rate(a.hit3),
            a.rate(a.mrr),
            a.rate(a.cited3),
            a.rate(a.phrases),
            if r.off_n > 0.0 { r.off_refused / r.off_n } else { f64::NAN },
            a.rate(a.refused),
            r.recap.rate(r.recap.hit3),
            r.recap.rate(r.recap.refused),
            r.code.rate(r.code.hit3),
            r.code.rate(r.code.refused),
            r.code.rate(r.code.phrases),
        ]
    };
    let mut sums = [0.0f64; 11];
    let mut counts = [0usize; 11];
    for r in results {
        let c = cells(r);
        for (i, v) in c.iter().enumerate() {
            if !v.is_nan() {
                sums[i] += v;
                counts[i] += 1;
            }
        }
        let time = r.latency.map(|(p50, p95)| format!("{p50:.1} / {p95:.1} ms")).unwrap_or_else(|| "—".into());
        row(&r.name, c, time);
    }
    if results.len() > 1 {
        let mut avg = [f64::NAN; 11];
        for i in 0..11 {
            if counts[i] > 0 {
                avg[i] = sums[i] / counts[i] as f64;
            }
        }
        row("**macro average**", avg, String::new());
    }
}

/// Evaluate one book: ingest it (pruning the previous one), rank and answer its questions.
/// Returns its figures and its questions (for the scaled timing).
async fn run_set(
    pool: &PgPool,
    library: &Library,
    embedder: Option<&Arc<Embedder>>,
    set: &EvalSet,
    args: &EvalArgs,
) -> anyhow::Result<(BookResult, Vec<String>)> {
    let questions: Vec<OnTopic> = read_json(&set.questions)?;
    let offtopic: Vec<OffTopic> = match &set.offtopic {
        Some(p) => read_json(p)?,
        None => Vec::new(),
    };
    if questions.is_empty() {
        bail!("{} has no questions", set.questions.display());
    }
    let name = set.name();
    let book = set.book.canonicalize().with_context(|| format!("book folder {}", set.book.display()))?;
    let qdir = set.questions.canonicalize()?.parent().unwrap_or(Path::new(".")).to_owned();

    // Ingest twice: the first replaces whatever book the database held (cold, unless another
    // book shared its texts), the second is the unchanged book again.
    let t0 = Instant::now();
    let cold = ingest::ingest_dir(pool, pool, &book, true, false, embedder).await?;
    let cold_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let warm = ingest::ingest_dir(pool, pool, &book, true, false, embedder).await?;
    let warm_secs = t1.elapsed().as_secs_f64();
    let index = library.index(pool).await?;
    let embedder = embedder.map(|e| e.as_ref());

    // Each question's answering sections in the index: its own and the `also` ones.
    let find = |id: &str, source: &str, heading: &str| -> anyhow::Result<Vec<usize>> {
        let path = qdir.join(source).canonicalize().with_context(|| format!("question {id}: source {source}"))?;
        let rel = path
            .strip_prefix(&book)
            .map_err(|_| anyhow::anyhow!("question {id}: {source} is not inside the book folder {}", book.display()))?
            .to_string_lossy()
            .replace('\\', "/");
        let found: Vec<usize> = index
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.source_path == rel && plain_heading(&s.heading) == plain_heading(heading))
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() {
            bail!("question {id}: no section {heading:?} on page {rel}");
        }
        Ok(found.into_iter().flat_map(|i| span(&index, i)).collect())
    };
    let mut gold = Vec::new();
    for q in &questions {
        let main = find(&q.id, &q.source, &q.heading)?;
        let mut all = main.clone();
        for a in &q.also {
            all.extend(find(&q.id, &a.source, &a.heading)?);
        }
        gold.push((main, all));
    }

    println!(
        "\n# {name}: {} ({} pages, {} sections; {} questions, {} off-topic; model: {})\n",
        set.book.display(),
        cold.files,
        index.sections.len(),
        questions.len(),
        offtopic.len(),
        embedder.map(|e| e.id()).unwrap_or("none — BM25 only")
    );
    if args.compare {
        println!("## Retrieval (rank of an answering section)\n");
        println!("| ranking | hit@1 | hit@3 | MRR | page hit@3 |");
        println!("|---|---|---|---|---|");
        for c in configs().iter().filter(|c| embedder.is_some() || c.ranking == Ranking::Lexical) {
            let mut t = Tally::default();
            for (q, (main, g)) in questions.iter().zip(&gold) {
                let r = retrieve::rank(
                    &index,
                    embedder,
                    &Query { ranking: c.ranking, demote_overviews: c.demote, fusion: c.fusion, ..Query::new(&q.question) },
                );
                let rank = r.hits.iter().position(|h| g.contains(&h.section)).map(|p| p + 1);
                let page3 = r.hits.iter().take(3).any(|h| index.sections[h.section].route == index.sections[main[0]].route);
                t.add(&Outcome { rank, page3, cited3: false, phrases: false, refused: false });
            }
            let used = if c.ranking == Ranking::Hybrid && c.fusion == retrieve::FUSION { " (used)" } else { "" };
            println!("| {}{used} | {:.2} | {:.2} | {:.2} | {:.2} |", c.name, t.rate(t.hit1), t.rate(t.hit3), t.rate(t.mrr), t.rate(t.page3));
        }
        println!();
    }

    // Answers, as the offline answerer gives them.
    let mut details = String::new();
    // One JSON line per question with the evidence the refusal decision sees (for calibrating
    // it over several books).
    let mut evidence = String::new();
    let (mut all, mut recap, mut code) = (Tally::default(), Tally::default(), Tally::default());
    let url = |route: &str, anchor: &str| if anchor.is_empty() { route.to_owned() } else { format!("{route}#{anchor}") };
    for (q, (main, g)) in questions.iter().zip(&gold) {
        let r = retrieve::rank(&index, embedder, &Query::new(&q.question));
        let a = compose::compose(&r, url);
        let g_urls: Vec<String> = g.iter().map(|&i| url(&index.sections[i].route, &index.sections[i].anchor)).collect();
        // The section's link, without the text fragment naming a sentence in it.
        let section_url = |u: &str| u.split(":~:").next().unwrap_or(u).trim_end_matches('#').to_owned();
        let cited = a.citations.iter().take(3).any(|c| g_urls.contains(&section_url(&c.url)));
        let found: Vec<bool> = q.answer_contains.iter().map(|p| contains_phrase(&a.markdown, p, q.in_code)).collect();
        let rank = r.hits.iter().position(|h| g.contains(&h.section)).map(|p| p + 1);
        let page3 = r.hits.iter().take(3).any(|h| index.sections[h.section].route == index.sections[main[0]].route);
        let outcome = Outcome { rank, page3, cited3: cited, phrases: !found.is_empty() && found.iter().all(|f| *f), refused: a.refused };
        all.add(&outcome);
        match q.kind.as_deref() {
            Some("recap") => recap.add(&outcome),
            Some("code") => code.add(&outcome),
            _ => {}
        }
        evidence.push_str(&evidence_line(&q.id, q.kind.as_deref().unwrap_or("explained"), &r, embedder, a.refused, rank));
        // Where the answering section really ranks, and why.
        let every = retrieve::rank(&index, embedder, &Query { limit: usize::MAX, ..Query::new(&q.question) });
        let gold_hit = every.hits.iter().enumerate().find(|(_, h)| g.contains(&h.section));
        let gold_why = gold_hit
            .map(|(p, h)| format!("full rank {} (s {:.4}, bm25 {:.1}, cos {:.2}, cov {:.2})", p + 1, h.score, h.lexical, h.dense, h.coverage))
            .unwrap_or_else(|| "not ranked".into());
        let _ = writeln!(
            details,
            "### {} [{}] {}\n\ngold: {} (rank {:?}; {gold_why}) · cited: {} · phrases: {:?} · refused: {} · foreign: {:?} · corrections: {:?}\n\ntop: {}\n\n{}\n",
            q.id,
            q.kind.as_deref().unwrap_or("explained"),
            q.question,
            index.sections[main[0]].label(),
            rank,
            cited,
            found,
            a.refused,
            foreign(&r, embedder),
            r.terms.corrections,
            hits_summary(&r),
            a.markdown
        );
    }
    let mut off_refused = 0.0;
    for q in &offtopic {
        let r = retrieve::rank(&index, embedder, &Query::new(&q.question));
        let a = compose::compose(&r, url);
        off_refused += f64::from(a.refused);
        evidence.push_str(&evidence_line(&q.id, "offtopic", &r, embedder, a.refused, None));
        let _ = writeln!(
            details,
            "### {} (off-topic) {}\n\nrefused: {} · foreign: {:?} · corrections: {:?}\n\ntop: {}\n",
            q.id,
            q.question,
            a.refused,
            foreign(&r, embedder),
            r.terms.corrections,
            hits_summary(&r)
        );
    }
    println!("| questions | n | hit@1 | hit@3 | MRR | page hit@3 | cited hit@3 | key phrase | refused |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (label, t) in [("all", &all), ("recap", &recap), ("code", &code)] {
        if t.n > 0.0 {
            println!(
                "| {label} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
                t.n,
                t.rate(t.hit1),
                t.rate(t.hit3),
                t.rate(t.mrr),
                t.rate(t.page3),
                t.rate(t.cited3),
                t.rate(t.phrases),
                t.rate(t.refused)
            );
        }
    }
    if !offtopic.is_empty() {
        println!("\nOff-topic refused: {:.2} of {}", off_refused / offtopic.len() as f64, offtopic.len());
    }
    // Every page's suggested questions, asked of the book: none may be refused.
    let mut routes: Vec<&str> = index.sections.iter().map(|s| s.route.as_str()).collect();
    routes.dedup();
    let (mut asked, mut refused_suggestions) = (0, Vec::new());
    for route in &routes {
        let suggested = crate::server::chat::suggested_questions(library, &index, Some(route), 4);
        let _ = writeln!(details, "### suggestions for {route}\n\n{suggested:?}\n");
        for q in suggested {
            asked += 1;
            let r = retrieve::rank(&index, embedder, &Query::new(&q));
            if compose::compose(&r, url).refused {
                refused_suggestions.push(q);
            }
        }
    }
    println!("Suggested questions on {} pages: {asked} asked, {} refused {:?}", routes.len(), refused_suggestions.len(), refused_suggestions);
    println!(
        "\nIngest: cold {:.1} s (parse, embed {} texts, store) · warm {:.2} s ({} of {} pages unchanged)",
        cold_secs, cold.embedded, warm_secs, warm.unchanged, warm.files
    );
    let mut all_questions: Vec<String> = questions.iter().map(|q| q.question.clone()).collect();
    all_questions.extend(offtopic.iter().map(|q| q.question.clone()));
    let latency_figures = (args.latency_rounds > 0).then(|| {
        let qs: Vec<&str> = all_questions.iter().map(String::as_str).collect();
        latency(&index, embedder, &qs, args.latency_rounds)
    });
    if let Some((p50, p95)) = latency_figures {
        println!(
            "Answer time (retrieve + compose, question embedding included), {} sections: p50 {:.1} ms · p95 {:.1} ms",
            index.sections.len(),
            p50,
            p95
        );
    }
    if let Some(dir) = &args.details {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("eval-{name}.md"));
        std::fs::write(&path, details).with_context(|| format!("writing {}", path.display()))?;
        let evidence_path = dir.join(format!("eval-{name}.jsonl"));
        std::fs::write(&evidence_path, evidence).with_context(|| format!("writing {}", evidence_path.display()))?;
        println!("Per-question details: {} (evidence: {})", path.display(), evidence_path.display());
    }
    let result = BookResult {
        name,
        all,
        recap,
        code,
        off_n: offtopic.len() as f64,
        off_refused,
        latency: latency_figures,
        sections: index.sections.len(),
    };
    Ok((result, all_questions))
}

/// The evidence behind one answer, as a JSON line.
fn evidence_line(id: &str, kind: &str, r: &Retrieval, e: Option<&Embedder>, refused: bool, rank: Option<usize>) -> String {
    let hits: Vec<serde_json::Value> = r
        .hits
        .iter()
        .take(5)
        .map(|h| serde_json::json!({"lexical": h.lexical, "dense": h.dense, "coverage": h.coverage, "score": h.score, "overview": r.section(h).overview}))
        .collect();
    let foreign: Vec<serde_json::Value> = r
        .foreign_terms
        .iter()
        .map(|w| serde_json::json!({"word": w, "pieces": e.map(|e| e.word_pieces(&w.to_lowercase())).unwrap_or(0)}))
        .collect();
    let line = serde_json::json!({
        "id": id, "kind": kind, "refused": refused, "rank": rank, "intent": format!("{:?}", r.shape.intent),
        "terms": r.terms.groups.len(), "corrections": r.terms.corrections.len(),
        "foreign": foreign, "unknown_names": r.unknown_names, "hits": hits, "definitions": r.definitions.len(),
    });
    format!("{line}\n")
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

/// The questions of one set with what answers them: its `(source, heading)` sections (the
/// answering one and `also`); an off-topic question is answered by nothing and shares no answer.
fn answer_keys(set: &EvalSet) -> anyhow::Result<Vec<(String, Vec<(String, String)>)>> {
    let on: Vec<OnTopic> = read_json(&set.questions)?;
    let mut out: Vec<(String, Vec<(String, String)>)> = on
        .into_iter()
        .map(|q| {
            let mut keys = vec![(q.source.clone(), q.heading.clone())];
            keys.extend(q.also.into_iter().map(|a| (a.source, a.heading)));
            (q.question, keys)
        })
        .collect();
    if let Some(path) = &set.offtopic {
        let off: Vec<OffTopic> = read_json(path)?;
        out.extend(off.into_iter().map(|q| (q.question, Vec::new())));
    }
    Ok(out)
}

/// `bookchat calibrate-pins --set DIR…`: the similarity above which a pinned answer answers a
/// question (`answer::pins::PIN_SIMILARITY`). Every pair of one book's questions whose answers
/// differ (different sections; an off-topic question differs from every other) must stay below
/// it: the threshold is the closest such pair's cosine, rounded up past it. Prints the
/// distribution, the pairs closest to it, and how many same-answer pairs it joins.
pub fn pin_calibration(sets: &[EvalSet], embedder: &Embedder) -> anyhow::Result<String> {
    const PIN_MARGIN: f32 = 0.1;
    let mut questions: Vec<(usize, String, Vec<(String, String)>)> = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        questions.extend(answer_keys(set)?.into_iter().map(|(q, k)| (i, q, k)));
    }
    if questions.len() < 2 {
        bail!("calibrating needs questions: pass --set with a development book's folder");
    }
    let texts: Vec<&str> = questions.iter().map(|(_, q, _)| q.as_str()).collect();
    let vectors = embedder.embed(&texts).context("embedding the questions")?;
    let mut different: Vec<(f32, usize, usize)> = Vec::new();
    let mut same: Vec<f32> = Vec::new();
    let mut across: Vec<(f32, usize, usize)> = Vec::new();
    for i in 0..questions.len() {
        for j in i + 1..questions.len() {
            let s = crate::server::book::embed::cosine(&vectors[i], &vectors[j]);
            let (a, b) = (&questions[i], &questions[j]);
            // Pins belong to one book's deployment: questions of different books never meet
            // (and several books share a question, or an off-topic one, word for word).
            if a.0 != b.0 {
                across.push((s, i, j));
                continue;
            }
            if a.2.iter().any(|k| b.2.contains(k)) {
                same.push(s);
            } else {
                different.push((s, i, j));
            }
        }
    }
    different.sort_by(|x, y| y.0.total_cmp(&x.0));
    let closest = different[0].0;
    // A margin over the closest pair: an unseen book has more questions than a development
    // set's sixty, and the closest pair of a larger set is closer.
    let threshold = ((closest + PIN_MARGIN) * 100.0).ceil() / 100.0;
    let pct = |q: f64| different[((different.len() - 1) as f64 * (1.0 - q)).round() as usize].0;
    let mut out = String::new();
    let _ = writeln!(out, "questions: {} from {} books ({} pairs within a book with different answers, {} with the same)", questions.len(), sets.len(), different.len(), same.len());
    let _ = writeln!(out, "different answers, cosine: max {closest:.3}, 99.9th percentile {:.3}, 99th {:.3}, median {:.3}", pct(0.999), pct(0.99), pct(0.5));
    let _ = writeln!(out, "closest pairs with different answers:");
    for (s, i, j) in different.iter().take(5) {
        let _ = writeln!(out, "  {s:.3}  {:?}  /  {:?}", questions[*i].1, questions[*j].1);
    }
    // Recall, as far as these sets tell: the books share questions that their authors worded
    // independently (the closest pairs across books).
    across.sort_by(|x, y| y.0.total_cmp(&x.0));
    let _ = writeln!(out, "closest pairs across books (the same question worded by different authors, where close):");
    for (s, i, j) in across.iter().take(6) {
        let _ = writeln!(out, "  {s:.3} {}  {:?}  /  {:?}", if *s >= threshold { "joins " } else { "apart " }, questions[*i].1, questions[*j].1);
    }
    let joined = same.iter().filter(|s| **s >= threshold).count();
    let _ = writeln!(out, "threshold: {threshold:.2} (the closest pair with different answers + {PIN_MARGIN}); same-answer pairs it joins (different questions answered by one section): {joined} of {}", same.len());
    let current = crate::server::answer::pins::PIN_SIMILARITY;
    let false_matches = different.iter().filter(|(s, _, _)| *s >= current).count();
    let _ = writeln!(out, "in use: PIN_SIMILARITY = {current:.2}: {false_matches} false matches");
    Ok(out)
}

//! `bookchat eval`: how well retrieval finds the section that answers a question, how well the
//! refusal threshold separates covered from uncovered questions, and how fast the offline
//! answerer is. Prints Markdown tables.

use super::answer::compose;
use super::answer::retrieve::{self, Query, Ranking, Retrieval};
use anyhow::Context;
use serde::Deserialize;
use sqlx::PgPool;
use std::path::Path;
use std::time::Instant;

#[derive(Deserialize)]
struct EvalSet {
    questions: Vec<EvalQuestion>,
    off_topic: Vec<String>,
    /// On-topic questions with misspellings.
    #[serde(default)]
    typos: Vec<EvalQuestion>,
}

#[derive(Deserialize)]
struct EvalQuestion {
    q: String,
    /// `route#anchor` of the answering section.
    expect: String,
}

struct Config {
    name: &'static str,
    ranking: Ranking,
    expand: bool,
    correct: bool,
}

const CONFIGS: [Config; 4] = [
    Config { name: "ts_rank_cd, OR of lexemes", ranking: Ranking::TsRankCd, expand: false, correct: false },
    Config { name: "BM25 (Postgres term statistics)", ranking: Ranking::Bm25, expand: false, correct: false },
    Config { name: "BM25 + book acronyms", ranking: Ranking::Bm25, expand: true, correct: false },
    Config { name: "BM25 + acronyms + misspelling correction", ranking: Ranking::Bm25, expand: true, correct: true },
];

fn rank_of(r: &Retrieval, expect: &str) -> Option<usize> {
    r.passages.iter().position(|p| format!("{}#{}", p.route, p.anchor) == expect).map(|i| i + 1)
}

pub async fn run(pool: &PgPool, questions: &Path, latency_rounds: usize) -> anyhow::Result<()> {
    let set: EvalSet = serde_json::from_str(&std::fs::read_to_string(questions).with_context(|| format!("reading {}", questions.display()))?)
        .context("parsing the evaluation set")?;
    let n = set.questions.len() as f64;
    println!(
        "## Retrieval ({} questions with a known answering section, {} off-topic, {} misspelled)\n",
        set.questions.len(),
        set.off_topic.len(),
        set.typos.len()
    );
    println!("| ranking | hit@1 | hit@3 | MRR | off-topic refused | on-topic refused | misspelled: hit@3 | misspelled: refused |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut last: Vec<(Retrieval, Option<usize>)> = Vec::new();
    let mut last_off: Vec<Retrieval> = Vec::new();
    for c in &CONFIGS {
        let mut hit1 = 0.0;
        let mut hit3 = 0.0;
        let mut mrr = 0.0;
        let mut on = Vec::new();
        for q in &set.questions {
            let r = retrieve::retrieve(pool, Query { ranking: c.ranking, expand: c.expand, correct: c.correct, ..Query::new(&q.q) }).await?;
            let rank = rank_of(&r, &q.expect);
            if rank == Some(1) {
                hit1 += 1.0;
            }
            if rank.is_some_and(|k| k <= 3) {
                hit3 += 1.0;
            }
            mrr += rank.map(|k| 1.0 / k as f64).unwrap_or(0.0);
            on.push((r, rank));
        }
        let mut off = Vec::new();
        for q in &set.off_topic {
            off.push(retrieve::retrieve(pool, Query { ranking: c.ranking, expand: c.expand, correct: c.correct, ..Query::new(q) }).await?);
        }
        let refused = |r: &Retrieval| compose::select_passages(r, compose::MIN_COVERAGE).is_empty();
        let (mut typo_hit3, mut typo_refused) = (0.0, 0.0);
        for q in &set.typos {
            let r = retrieve::retrieve(pool, Query { ranking: c.ranking, expand: c.expand, correct: c.correct, ..Query::new(&q.q) }).await?;
            if rank_of(&r, &q.expect).is_some_and(|k| k <= 3) {
                typo_hit3 += 1.0;
            }
            if refused(&r) {
                typo_refused += 1.0;
            }
        }
        let nt = set.typos.len().max(1) as f64;
        let off_refused = off.iter().filter(|r| refused(r)).count() as f64 / off.len().max(1) as f64;
        let on_refused = on.iter().filter(|(r, _)| refused(r)).count() as f64 / n;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            c.name,
            hit1 / n,
            hit3 / n,
            mrr / n,
            off_refused,
            on_refused,
            typo_hit3 / nt,
            typo_refused / nt
        );
        last = on;
        last_off = off;
    }

    // Every correction made, so a wrong one (a real word the book lacks, turned into a book
    // word) is visible.
    println!("\n## Misspelling corrections made (all sets)\n");
    let all = set.questions.iter().chain(&set.typos).map(|q| q.q.as_str()).chain(set.off_topic.iter().map(String::as_str));
    for q in all {
        let fixes = retrieve::corrections(pool, q).await?;
        if !fixes.is_empty() {
            let list: Vec<String> = fixes.iter().map(|(w, f)| format!("{w} → {f}")).collect();
            println!("- {q}: {}", list.join(", "));
        }
    }

    println!("\n## Refusal threshold (minimum share of the question's terms in the best passage; last ranking)\n");
    println!("| min coverage | answered with the right section in top 3 | on-topic refused | off-topic refused | correct decisions |");
    println!("|---|---|---|---|---|");
    let mut best = (0.0, 0.0);
    for step in 4..=16 {
        let t = step as f32 * 0.05;
        let answered_right = last
            .iter()
            .filter(|(r, rank)| !compose::select_passages(r, t).is_empty() && rank.is_some_and(|k| k <= 3))
            .count();
        let on_refused = last.iter().filter(|(r, _)| compose::select_passages(r, t).is_empty()).count();
        let off_refused = last_off.iter().filter(|r| compose::select_passages(r, t).is_empty()).count();
        let correct = (answered_right + off_refused) as f64 / (last.len() + last_off.len()) as f64;
        if correct > best.1 {
            best = (t as f64, correct);
        }
        println!(
            "| {:.2}{} | {:.2} | {:.2} | {:.2} | {:.2} |",
            t,
            if (t - compose::MIN_COVERAGE).abs() < 1e-3 { " (used)" } else { "" },
            answered_right as f64 / n,
            on_refused as f64 / n,
            off_refused as f64 / last_off.len().max(1) as f64,
            correct
        );
    }
    println!("\nBest threshold on this set: {:.2} ({:.2} correct decisions).", best.0, best.1);

    if latency_rounds > 0 {
        let mut times = Vec::new();
        for _ in 0..latency_rounds {
            for q in set.questions.iter().map(|q| q.q.as_str()).chain(set.off_topic.iter().map(String::as_str)) {
                let t0 = Instant::now();
                let r = retrieve::retrieve(pool, Query::new(q)).await?;
                let _ = compose::compose(&r, |route, anchor| format!("{route}#{anchor}"));
                times.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "\n## Offline answerer latency (retrieve + compose, {} answers)\n\np50 {:.1} ms · p95 {:.1} ms · max {:.1} ms",
            times.len(),
            pct(0.5),
            pct(0.95),
            pct(1.0)
        );
    }
    Ok(())
}

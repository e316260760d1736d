//! The offline answerer: an extractive answer built from the book's own sentences, so it can
//! never say something the book does not. Refuses plainly when the evidence is weak.

use super::retrieve::{Passage, Retrieval};
use crate::model::Citation;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashSet;

/// Below this share of the question's terms found in the best passage, the book is taken not to
/// cover the question.
pub const MIN_COVERAGE: f32 = 0.5;
const MAX_PASSAGES: usize = 3;

/// A composed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Composed {
    pub markdown: String,
    pub citations: Vec<Citation>,
    /// True when the book does not cover the question.
    pub refused: bool,
    /// Coverage of the question by the best passage, in [0, 1].
    pub relevance: f32,
}

/// The passages worth citing: the best one if it covers enough of the question, plus others
/// from different sections that score at least half as well.
pub fn select_passages<'a>(r: &'a Retrieval, min_coverage: f32) -> Vec<&'a Passage> {
    let Some(best) = r.passages.first() else { return Vec::new() };
    if best.coverage(&r.terms) < min_coverage {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    r.passages
        .iter()
        .filter(|p| p.score >= best.score * 0.5 && p.coverage(&r.terms) >= min_coverage * 0.8)
        .filter(|p| seen.insert((p.route.as_str(), p.anchor.as_str())))
        .take(MAX_PASSAGES)
        .collect()
}

/// The section name worth showing: none for a page's top (its heading is the page title).
fn section_label(p: &Passage) -> &str {
    if p.heading == p.doc_title {
        ""
    } else {
        &p.heading
    }
}

pub fn citation(p: &Passage, url: String) -> Citation {
    Citation {
        title: p.doc_title.clone(),
        section: section_label(p).to_owned(),
        url,
        snippet: truncate_chars(&plain_text(&p.body), 220),
        score: p.score,
    }
}

/// Compose an answer from the retrieved passages. `url_for(route, anchor)` builds citation links.
pub fn compose(r: &Retrieval, url_for: impl Fn(&str, &str) -> String) -> Composed {
    let relevance = r.relevance();
    let chosen = select_passages(r, MIN_COVERAGE);
    if chosen.is_empty() {
        return refusal(r, relevance, &url_for);
    }
    let stemmer = Stemmer::create(Algorithm::English);
    let lexemes = r.lexemes();
    let query: HashSet<&str> = lexemes.iter().map(String::as_str).collect();
    let mut paragraphs = Vec::new();
    let mut citations = Vec::new();
    for (i, p) in chosen.iter().enumerate() {
        let take = if i == 0 { 3 } else { 2 };
        let sentences = best_sentences(&p.body, &query, &stemmer, take);
        if sentences.is_empty() {
            continue;
        }
        citations.push(citation(p, url_for(&p.route, &p.anchor)));
        let n = citations.len();
        paragraphs.push(format!("{} [{n}]", sentences.join(" ")));
    }
    if paragraphs.is_empty() {
        return refusal(r, relevance, &url_for);
    }
    let lead = match section_label(chosen[0]) {
        "" => format!("From *{}*:", chosen[0].doc_title),
        h => format!("From *{}*, section “{}”:", chosen[0].doc_title, h),
    };
    Composed {
        markdown: format!("{lead}\n\n{}", paragraphs.join("\n\n")),
        citations,
        refused: false,
        relevance,
    }
}

fn refusal(r: &Retrieval, relevance: f32, url_for: &impl Fn(&str, &str) -> String) -> Composed {
    let mut seen = HashSet::new();
    let related: Vec<&Passage> = r
        .passages
        .iter()
        .filter(|p| seen.insert((p.route.as_str(), p.anchor.as_str())))
        .take(3)
        .collect();
    let mut md = String::from("I couldn't find an answer to that in the book, so I won't guess.");
    if related.is_empty() {
        md.push_str(" Try rephrasing your question with the terms the book uses.");
    } else {
        md.push_str(" These sections look closest to what you asked:\n");
        for p in &related {
            let label = match section_label(p) {
                "" => p.doc_title.clone(),
                s => format!("{} — {}", p.doc_title, s),
            };
            md.push_str(&format!("\n- [{}]({})", escape_link_text(&label), url_for(&p.route, &p.anchor)));
        }
    }
    Composed { markdown: md, citations: Vec::new(), refused: true, relevance }
}

fn escape_link_text(s: &str) -> String {
    s.replace('[', "\\[").replace(']', "\\]")
}

/// Prose of a Markdown section as sentences: code fences, tables, images and headings skipped,
/// links reduced to their text.
pub fn sentences(md: &str) -> Vec<String> {
    let mut prose = String::new();
    let mut in_fence = false;
    for line in md.lines() {
        let t = line.trim();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            prose.push('\n');
            continue;
        }
        if in_fence || t.starts_with('|') || t.starts_with("![") || t.starts_with('#') {
            continue;
        }
        if t.is_empty() {
            prose.push('\n');
            continue;
        }
        let t = t.trim_start_matches(['-', '*', '>', '+']).trim_start();
        let t = t.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches(['.', ')']).trim_start();
        prose.push_str(&strip_links(t));
        prose.push(' ');
    }
    let mut out = Vec::new();
    for para in prose.split('\n') {
        let mut cur = String::new();
        let chars: Vec<char> = para.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            cur.push(c);
            let end = matches!(c, '.' | '?' | '!') && chars.get(i + 1).is_none_or(|n| n.is_whitespace());
            if end {
                push_sentence(&mut out, &cur);
                cur.clear();
            }
        }
        push_sentence(&mut out, &cur);
    }
    out
}

fn push_sentence(out: &mut Vec<String>, s: &str) {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().filter(|c| c.is_alphabetic()).count() >= 12 {
        out.push(s);
    }
}

/// `[text](url)` → `text`.
fn strip_links(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](") else { break };
        let Some(end) = rest[open + close..].find(')') else { break };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..open + close]);
        rest = &rest[open + close + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The `take` sentences sharing the most question terms, in their original order.
fn best_sentences(body: &str, query: &HashSet<&str>, stemmer: &Stemmer, take: usize) -> Vec<String> {
    let all = sentences(body);
    let mut scored: Vec<(usize, f32)> = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let stems: HashSet<String> = s
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| stemmer.stem(&w.to_lowercase()).into_owned())
                .collect();
            let hits = query.iter().filter(|q| stems.contains(**q)).count() as f32;
            // Earlier sentences usually define; prefer them on ties.
            (i, hits - i as f32 * 0.01)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut keep: Vec<usize> = scored.iter().filter(|(_, s)| *s > 0.0).take(take).map(|(i, _)| *i).collect();
    if keep.is_empty() {
        keep = (0..all.len().min(take.min(2))).collect();
    }
    keep.sort_unstable();
    keep.into_iter().map(|i| all[i].clone()).collect()
}

pub fn plain_text(md: &str) -> String {
    sentences(md).join(" ")
}

fn truncate_chars(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let cut: String = s.chars().take(n).collect();
    match cut.rfind(' ') {
        Some(i) => format!("{}…", &cut[..i]),
        None => format!("{cut}…"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(heading: &str, body: &str, score: f32, lexemes: &[&str]) -> Passage {
        let mut lexemes: Vec<String> = lexemes.iter().map(|s| s.to_string()).collect();
        lexemes.sort();
        Passage {
            chunk_id: 1,
            doc_title: "ROS 2".into(),
            route: "/docs/ros2".into(),
            heading: heading.into(),
            anchor: heading.to_lowercase().replace(' ', "-"),
            body: body.into(),
            score,
            lexemes,
        }
    }

    fn url(route: &str, anchor: &str) -> String {
        format!("https://book.example{route}#{anchor}")
    }

    #[test]
    fn answers_with_the_sentences_that_match_and_cites_them() {
        let r = Retrieval {
            terms: vec![vec!["dds".into()], vec!["discoveri".into()]],
            passages: vec![passage(
                "Discovery",
                "ROS 2 nodes find each other without a master. DDS discovery announces participants on the network by multicast. The weather is nice today for a walk.",
                0.9,
                &["dds", "discoveri", "node", "master"],
            )],
        };
        let a = compose(&r, url);
        assert!(!a.refused);
        assert!(a.markdown.contains("DDS discovery announces participants"), "{}", a.markdown);
        assert!(a.markdown.contains("[1]"));
        assert_eq!(a.citations.len(), 1);
        assert_eq!(a.citations[0].url, "https://book.example/docs/ros2#discovery");
        assert_eq!(a.relevance, 1.0);
    }

    #[test]
    fn refuses_when_coverage_is_weak_and_suggests_sections() {
        let r = Retrieval {
            terms: vec![vec!["bake".into()], vec!["bread".into()], vec!["sourdough".into()]],
            passages: vec![passage("Bread Boards", "Prototype circuits on a breadboard before soldering them.", 0.1, &["bread"])],
        };
        let a = compose(&r, url);
        assert!(a.refused);
        assert!(a.citations.is_empty());
        assert!(a.markdown.contains("couldn't find"));
        assert!(a.markdown.contains("(https://book.example/docs/ros2#bread-boards)"), "{}", a.markdown);
    }

    #[test]
    fn refuses_with_no_passages() {
        let a = compose(&Retrieval { terms: vec![vec!["x".into()]], passages: vec![] }, url);
        assert!(a.refused);
        assert!(a.markdown.contains("rephrasing"));
    }

    #[test]
    fn sentences_skip_code_and_strip_links() {
        let s = sentences("Intro with a [link](http://x) here and more words.\n\n```\ncode. line.\n```\n\n- A bullet point sentence that is long enough.\n");
        assert_eq!(s, vec!["Intro with a link here and more words.", "A bullet point sentence that is long enough."]);
    }
}

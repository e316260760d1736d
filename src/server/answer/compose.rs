//! The offline answerer: the book's own blocks, quoted whole — a list stays a list, a table a
//! table (the rows that matter, with their header), a lead-in line keeps what it introduces —
//! under a header naming the section they come from, with citations and a link to read the rest.
//! It can never say something the book does not. Refuses plainly when the evidence is weak.

use super::fragment;
use super::index::{BookIndex, SectionDoc};
use super::retrieve::{Hit, Retrieval};
use super::text;
use crate::model::Citation;
use crate::server::book::{Block, BlockKind};
use std::collections::HashSet;

/// About this many words of quoted book text (whole blocks, so a little more or less).
pub const WORD_BUDGET: usize = 120;
/// A further section is quoted while the ones before left room and it ranks this close to the
/// first (retrieval's top sections are often several readings of one question, and a short
/// first section — an analogy's one-line opening, a two-line command — rarely answers alone),
/// in at least this many words.
const SECOND_SECTION_SCORE: f32 = 0.75;
const SECOND_SECTION_WORDS: usize = 70;
/// Sections quoted at most.
const MAX_QUOTED: usize = 3;
/// Sections cited at most.
const MAX_CITATIONS: usize = 3;
/// Lists and tables longer than this are quoted by their matching items or rows.
const WHOLE_PARTS: usize = 6;

/// Evidence for answering, chosen on the development book (`bookchat eval`): the best
/// section's cosine similarity to the question; without a model, the best section's share of
/// the question's informative words.
pub const MIN_DENSE: f32 = 0.28;
pub const MIN_COVERAGE_LEXICAL: f32 = 0.5;
/// A question naming something the book never names is answered only from a section this
/// close in meaning.
pub const MIN_DENSE_UNKNOWN_NAME: f32 = 0.75;

/// A composed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Composed {
    pub markdown: String,
    pub citations: Vec<Citation>,
    /// True when the book does not cover the question.
    pub refused: bool,
    /// Coverage of the question by the best section, in [0, 1].
    pub relevance: f32,
}

/// Does the book answer this? A section close in meaning to the question (or, without a
/// model, one that shares most of its informative words), and no name in the question that
/// the book never uses.
pub fn answerable(r: &Retrieval) -> bool {
    let Some(top) = r.top() else { return false };
    if r.grounded {
        return true;
    }
    if r.terms.groups.is_empty() {
        return false;
    }
    if !r.dense {
        return r.unknown_names.is_empty() && top.coverage >= MIN_COVERAGE_LEXICAL;
    }
    let best_dense = r.hits.iter().map(|h| h.dense).fold(f32::MIN, f32::max);
    if !r.unknown_names.is_empty() {
        return best_dense >= MIN_DENSE_UNKNOWN_NAME;
    }
    best_dense >= MIN_DENSE
}

/// The sections worth citing, best first: distinct sections, at most three, each either the
/// best or close to it.
pub fn cited_hits(r: &Retrieval) -> Vec<&Hit> {
    let Some(top) = r.top() else { return Vec::new() };
    let mut seen = HashSet::new();
    r.hits
        .iter()
        .filter(|h| h.score >= top.score * 0.5)
        .filter(|h| {
            let s = r.section(h);
            seen.insert((s.route.as_str(), s.anchor.as_str()))
        })
        .take(MAX_CITATIONS)
        .collect()
}

/// The citations of an answer (`cited_hits`): each links to its section's anchor and, with a
/// text fragment, to the sentence there that best matches the question.
pub fn citations(r: &Retrieval, url_for: impl Fn(&str, &str) -> String) -> Vec<Citation> {
    let weights = term_weights(&r.index, r);
    cited_hits(r)
        .into_iter()
        .map(|h| {
            let s = r.section(h);
            let sentence = fragment::best_sentence(&s.blocks, |t| text_score(t, &weights));
            citation(s, h.score, fragment::link(&url_for(&s.route, &s.anchor), sentence.as_deref()))
        })
        .collect()
}

fn citation(s: &SectionDoc, score: f32, url: String) -> Citation {
    Citation {
        title: s.doc_title.clone(),
        section: if s.level <= 1 { String::new() } else { s.heading.clone() },
        url,
        snippet: truncate_chars(&plain(s), 220),
        score,
    }
}

fn plain(s: &SectionDoc) -> String {
    s.blocks.iter().filter(|b| b.kind != BlockKind::Code).map(|b| b.text.replace('\n', " ")).collect::<Vec<_>>().join(" ")
}

/// Compose an answer. `url_for(route, anchor)` builds citation links.
pub fn compose(r: &Retrieval, url_for: impl Fn(&str, &str) -> String) -> Composed {
    let relevance = r.relevance();
    if !answerable(r) {
        return refusal(r, relevance, &url_for);
    }
    let cited = cited_hits(r);
    let citations = citations(r, &url_for);
    let weights = term_weights(&r.index, r);
    let mut md = String::new();
    let mut words = 0;
    let mut read_more = Vec::new();
    let mut quoted = 0;
    let mut primary_score = 0.0;
    for h in &cited {
        // The best section with something to quote; more while those left room and they are
        // close (chosen on the development book).
        if quoted > 0 && (quoted >= MAX_QUOTED || words >= WORD_BUDGET || h.score < primary_score * SECOND_SECTION_SCORE) {
            break;
        }
        let s = r.section(h);
        let quote = quote_blocks(s, &weights, WORD_BUDGET.saturating_sub(words).max(SECOND_SECTION_WORDS));
        if quote.is_empty() {
            continue;
        }
        let n = cited.iter().position(|c| c.section == h.section).unwrap_or(0) + 1;
        if quoted == 0 {
            primary_score = h.score;
        }
        quoted += 1;
        if !md.is_empty() {
            md.push_str("\n\n");
        }
        md.push_str(&header(s, n));
        md.push_str("\n\n");
        md.push_str(&quote);
        words += word_count(&quote);
        read_more.push(format!("[{}]({})", escape_link_text(&s.label()), url_for(&s.route, &s.anchor)));
    }
    if md.is_empty() {
        return refusal(r, relevance, &url_for);
    }
    md.push_str(&format!("\n\nRead more: {}", read_more.join(" · ")));
    Composed { markdown: md, citations, refused: false, relevance }
}

/// "From *Page* › **Section** [1]:" — the section the quote below is from.
fn header(s: &SectionDoc, n: usize) -> String {
    if s.level <= 1 {
        format!("From *{}* [{n}]:", escape_inline(&s.doc_title))
    } else {
        format!("From *{}* › **{}** [{n}]:", escape_inline(&s.doc_title), escape_inline(&s.heading))
    }
}

fn escape_inline(s: &str) -> String {
    s.replace('\\', "\\\\").replace('*', "\\*").replace('_', "\\_").replace('[', "\\[").replace('`', "\\`")
}

fn refusal(r: &Retrieval, relevance: f32, url_for: &impl Fn(&str, &str) -> String) -> Composed {
    let mut seen = HashSet::new();
    let related: Vec<&SectionDoc> = r
        .hits
        .iter()
        .map(|h| r.section(h))
        .filter(|s| seen.insert((s.route.as_str(), s.anchor.as_str())))
        .take(3)
        .collect();
    let mut md = String::from("I couldn't find an answer to that in the book, so I won't guess.");
    if related.is_empty() {
        md.push_str(" Try rephrasing your question with the terms the book uses.");
    } else {
        md.push_str(" These sections look closest to what you asked:\n");
        for s in &related {
            md.push_str(&format!("\n- [{}]({})", escape_link_text(&s.label()), url_for(&s.route, &s.anchor)));
        }
    }
    Composed { markdown: md, citations: Vec::new(), refused: true, relevance }
}

fn escape_link_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('[', "\\[").replace(']', "\\]")
}

/// How much each question stem says (its idf in this book), for scoring blocks.
fn term_weights(idx: &BookIndex, r: &Retrieval) -> Vec<(Vec<String>, f32)> {
    r.terms
        .groups
        .iter()
        .map(|g| (g.clone(), g.iter().map(|f| idx.stem_idf(f)).fold(0.0, f32::max)))
        .filter(|(_, w)| *w > 0.0)
        .collect()
}

fn text_score(text: &str, weights: &[(Vec<String>, f32)]) -> f32 {
    let stems: HashSet<String> = text::terms(text).into_iter().collect();
    weights.iter().filter(|(g, _)| g.iter().any(|f| stems.contains(f))).map(|(_, w)| w).sum()
}

pub fn word_count(md: &str) -> usize {
    md.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).count()
}

/// A candidate piece of a section: a whole block, or some items or rows of a long one.
#[derive(Debug)]
struct Unit {
    block: usize,
    /// Part indices for a partial list or table (empty: the whole block).
    parts: Vec<usize>,
    score: f32,
    words: usize,
}

/// Code longer than this many lines is not quoted (it is not an answer one reads in a chat).
const MAX_CODE_LINES: usize = 15;

fn is_lead_in(b: &Block) -> bool {
    b.kind == BlockKind::Paragraph && b.text.trim_end().ends_with(':')
}

fn quotable_code(b: &Block) -> bool {
    b.kind == BlockKind::Code && b.md.lines().count() <= MAX_CODE_LINES + 2
}

/// The section's best-matching blocks within about `budget` words, as Markdown, in the
/// section's order. A short section is quoted whole. Long lists and tables contribute their
/// matching items or rows (with the table's header); a line that introduces a list, table or
/// code ("…the following:") comes with what it introduces, or not at all; a block is never cut.
pub fn quote_blocks(s: &SectionDoc, weights: &[(Vec<String>, f32)], budget: usize) -> String {
    let blocks = &s.blocks;
    let prose_words: usize = blocks.iter().filter(|b| b.kind != BlockKind::Code).map(|b| word_count(&b.md)).sum();
    let mut units: Vec<Unit> = Vec::new();
    if prose_words <= budget + budget / 4 {
        // Short enough to quote whole (long code aside).
        for (i, b) in blocks.iter().enumerate() {
            if b.kind != BlockKind::Code || quotable_code(b) {
                units.push(Unit { block: i, parts: Vec::new(), score: 1.0, words: word_count(&b.md) });
            }
        }
        return render(blocks, &units, &(0..units.len()).collect::<Vec<_>>());
    }
    for (i, b) in blocks.iter().enumerate() {
        let position = 1.0 / (1.0 + i as f32 * 0.1);
        let long = matches!(b.kind, BlockKind::List | BlockKind::OrderedList | BlockKind::Table) && b.parts.len() > WHOLE_PARTS;
        if long {
            units.push(long_unit(i, b, weights, position));
        } else {
            let score = match b.kind {
                // Code answers "how do I write it" questions, but it is long and not prose.
                BlockKind::Code if quotable_code(b) => text_score(&b.text, weights) * 0.5,
                BlockKind::Code | BlockKind::Heading => 0.0,
                _ => text_score(&b.text, weights),
            } * position;
            units.push(Unit { block: i, parts: Vec::new(), score, words: word_count(&b.md) });
        }
    }
    // A lead-in and what it introduces are read as one: "The difference:" scores with its list.
    for u in 0..units.len() {
        let b = units[u].block;
        if !is_lead_in(&blocks[b]) {
            continue;
        }
        let Some(next) = units.iter().position(|x| x.block == b + 1) else { continue };
        let position = 1.0 / (1.0 + b as f32 * 0.1);
        let together = if units[next].parts.is_empty() {
            text_score(&format!("{}\n{}", blocks[b].text, blocks[b + 1].text), weights) * position
        } else {
            units[next].score.max(units[u].score)
        };
        if blocks[b + 1].kind != BlockKind::Code || quotable_code(&blocks[b + 1]) {
            units[u].score = units[u].score.max(together);
            units[next].score = units[next].score.max(together);
        }
    }
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| units[b].score.total_cmp(&units[a].score).then(a.cmp(&b)));
    let nothing_matches = units.iter().all(|u| u.score <= 0.0);
    if nothing_matches {
        // Matched by meaning, not words: the section's opening, in order.
        order = (0..units.len()).filter(|&u| blocks[units[u].block].kind != BlockKind::Code).collect();
    }
    let mut chosen: Vec<usize> = Vec::new();
    let mut words = 0;
    for &u in &order {
        let unit = &units[u];
        if !nothing_matches && unit.score <= 0.0 {
            break;
        }
        if blocks[unit.block].kind == BlockKind::Code && !chosen.is_empty() {
            continue;
        }
        // The unit with what must come with it: its lead-in, or what it introduces.
        let mut group = vec![u];
        let b = unit.block;
        if b > 0 && is_lead_in(&blocks[b - 1]) && !is_lead_in(&blocks[b]) {
            group.push(b - 1);
        }
        if is_lead_in(&blocks[b]) {
            match units.iter().position(|x| x.block == b + 1) {
                Some(next) if blocks[b + 1].kind != BlockKind::Code || quotable_code(&blocks[b + 1]) => group.push(next),
                // It introduces nothing quotable: leave it out.
                _ => continue,
            }
        }
        let extra: usize = group.iter().filter(|g| !chosen.contains(g)).map(|&g| units[g].words).sum();
        if !chosen.is_empty() && words + extra > budget + budget / 4 {
            continue;
        }
        for g in group {
            if !chosen.contains(&g) {
                chosen.push(g);
                words += units[g].words;
            }
        }
        if words >= budget {
            break;
        }
    }
    // Each quoted block comes under the `####` heading it sits below in the section, so
    // passages from different subsections say what each is about.
    let headings: Vec<usize> = chosen
        .iter()
        .filter_map(|&u| (0..units[u].block).rev().find(|&i| blocks[i].kind == BlockKind::Heading))
        .filter_map(|h| units.iter().position(|x| x.block == h))
        .collect();
    chosen.extend(headings);
    render(blocks, &units, &chosen)
}

/// A long list or table as a unit of its best-matching items or rows.
fn long_unit(i: usize, b: &Block, weights: &[(Vec<String>, f32)], position: f32) -> Unit {
    let mut scored: Vec<(usize, f32)> =
        b.parts.iter().enumerate().map(|(j, p)| (j, text_score(&p.text, weights))).filter(|(_, sc)| *sc > 0.0).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut parts: Vec<usize> = scored.iter().take(WHOLE_PARTS).map(|(j, _)| *j).collect();
    if parts.is_empty() {
        parts = (0..WHOLE_PARTS.min(b.parts.len())).collect();
    }
    parts.sort_unstable();
    if b.kind == BlockKind::OrderedList {
        // Numbered steps are quoted as a run, so their numbers stay true.
        let (lo, hi) = (parts[0], *parts.last().unwrap_or(&parts[0]));
        parts = (lo..=hi.min(lo + WHOLE_PARTS * 2 - 1)).collect();
    }
    let score = scored.iter().take(2).map(|(_, sc)| sc).sum::<f32>() * position;
    let words = parts.iter().map(|&j| word_count(&b.parts[j].md)).sum::<usize>() + word_count(&b.head);
    Unit { block: i, parts, score, words }
}

/// The chosen units in the section's order, as Markdown; a lead-in left last (its block was
/// not chosen) is dropped rather than left dangling.
fn render(blocks: &[Block], units: &[Unit], chosen: &[usize]) -> String {
    let mut picked: Vec<&Unit> = chosen.iter().map(|&u| &units[u]).collect();
    picked.sort_by_key(|u| u.block);
    picked.dedup_by_key(|u| u.block);
    while picked.last().is_some_and(|u| is_lead_in(&blocks[u.block]) || blocks[u.block].kind == BlockKind::Heading) {
        picked.pop();
    }
    picked
        .iter()
        .filter(|u| {
            // A lead-in is kept only when the next picked block is the one it introduces.
            !is_lead_in(&blocks[u.block]) || picked.iter().any(|v| v.block == u.block + 1)
        })
        .map(|u| if u.parts.is_empty() { blocks[u.block].md.clone() } else { partial(&blocks[u.block], &u.parts) })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A section as a language model is given it: where it is, and its best blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptPassage {
    pub label: String,
    pub markdown: String,
}

/// Words of each section given to a language model (more than a quote: the model condenses).
const PROMPT_WORDS: usize = 400;

/// The cited sections' best blocks, in the order they are cited (so `[n]` in the model's answer
/// is the n-th citation).
pub fn prompt_passages(r: &Retrieval) -> Vec<PromptPassage> {
    let weights = term_weights(&r.index, r);
    cited_hits(r)
        .into_iter()
        .map(|h| {
            let s = r.section(h);
            PromptPassage { label: s.label(), markdown: quote_blocks(s, &weights, PROMPT_WORDS) }
        })
        .collect()
}

/// Some items of a list or rows of a table, as a list or a table.
fn partial(b: &Block, parts: &[usize]) -> String {
    let items: Vec<&str> = parts.iter().filter_map(|&j| b.parts.get(j)).map(|p| p.md.as_str()).collect();
    match b.kind {
        BlockKind::Table => format!("{}\n{}", b.head, items.join("\n")),
        _ => items.join("\n"),
    }
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
mod tests;

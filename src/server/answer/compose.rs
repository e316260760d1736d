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

/// About this many words of quoted book text in all (whole blocks, so a little more or less),
/// the best section taking up to `FIRST_SECTION_WORDS` of them. Chosen on the three development
/// books together (`bookchat eval`): one section of 120 words missed the key sentence whenever
/// an equally good section ranked first (the book repeats itself in quizzes, glossaries and
/// recaps); 120 + a further 80 lifted key phrases from 0.76 to 0.82 (macro average).
pub const WORD_BUDGET: usize = 200;
const FIRST_SECTION_WORDS: usize = 120;
/// A further section is quoted while the ones before left room and it ranks this close to the
/// first (retrieval's top sections are often several readings of one question, and a short
/// first section — an analogy's one-line opening, a two-line command — rarely answers alone),
/// in at least this many words.
const SECOND_SECTION_SCORE: f32 = 0.6;
const SECOND_SECTION_WORDS: usize = 60;
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
/// A question with a word the book never uses (and that is no ordinary word) is answered from
/// a section this close in meaning, or that has this share of its informative words.
pub const MIN_DENSE_FOREIGN: f32 = 0.6;
pub const MIN_COVERAGE_FOREIGN: f32 = 0.45;

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
    if !r.foreign_terms.is_empty() {
        // A word the book never uses and no dictionary knows (a product, a library): the book
        // must match the rest of the question closely, in meaning or in words.
        return best_dense >= MIN_DENSE_FOREIGN || top.coverage >= MIN_COVERAGE_FOREIGN;
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

/// The best `limit` distinct sections of a search, each with its snippet and a link to the
/// sentence there that best matches the query (what agents get from the book: `server::mcp`).
pub fn passages(r: &Retrieval, limit: usize, url_for: impl Fn(&str, &str) -> String) -> Vec<Citation> {
    let weights = term_weights(&r.index, r);
    let mut seen = HashSet::new();
    r.hits
        .iter()
        .filter(|h| {
            let s = r.section(h);
            seen.insert((s.route.as_str(), s.anchor.as_str()))
        })
        .take(limit)
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
        let budget = if quoted == 0 { FIRST_SECTION_WORDS } else { WORD_BUDGET.saturating_sub(words).max(SECOND_SECTION_WORDS) };
        let Some((shown, quote)) = quote_section(r, h.section, &weights, budget) else { continue };
        let s = r.section(h);
        let n = cited.iter().position(|c| c.section == h.section).unwrap_or(0) + 1;
        if quoted == 0 {
            primary_score = h.score;
        }
        quoted += 1;
        if !md.is_empty() {
            md.push_str("\n\n");
        }
        md.push_str(&header(&r.index.sections[shown], n, quote.only_code));
        md.push_str("\n\n");
        md.push_str(&quote.markdown);
        words += quote.words;
        read_more.push(format!("[{}]({})", escape_link_text(&s.label()), url_for(&s.route, &s.anchor)));
    }
    if md.is_empty() {
        // Retrieval is confident but no section has a block to show (headings alone): point
        // to them rather than claim the book is silent.
        md.push_str("The book covers this in these sections:\n");
        for h in &cited {
            let s = r.section(h);
            md.push_str(&format!("\n- [{}]({})", escape_link_text(&s.label()), url_for(&s.route, &s.anchor)));
        }
        return Composed { markdown: md, citations, refused: false, relevance };
    }
    md.push_str(&format!("\n\nRead more: {}", read_more.join(" · ")));
    Composed { markdown: md, citations, refused: false, relevance }
}

/// "From *Page* › **Section** [1]:" — the section the quote below is from (", its code" when
/// the quote is code only).
fn header(s: &SectionDoc, n: usize, only_code: bool) -> String {
    let code = if only_code { ", its code" } else { "" };
    if s.level <= 1 {
        format!("From *{}* [{n}]{code}:", escape_inline(&s.doc_title))
    } else {
        format!("From *{}* › **{}** [{n}]{code}:", escape_inline(&s.doc_title), escape_inline(&s.heading))
    }
}

/// What is quoted of a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub markdown: String,
    /// Prose words (code counts a little: it is skimmed, not read).
    pub words: usize,
    pub only_code: bool,
}

/// Quote a cited section: its best blocks, the book's definition of the term asked about
/// first; a section with nothing of its own to show (a heading over subsections) is quoted
/// from its best subsection, which the header then names. Returns the section shown.
fn quote_section(r: &Retrieval, section: usize, weights: &[(Vec<String>, f32)], budget: usize) -> Option<(usize, Quote)> {
    let s = &r.index.sections[section];
    let pinned: Vec<(usize, Option<usize>)> = r.definitions.iter().filter(|d| d.0 == section).take(1).map(|d| (d.1, d.2)).collect();
    if let Some(q) = quote_blocks_with(s, weights, budget, &pinned) {
        return Some((section, q));
    }
    let subsections = r.index.sections.iter().enumerate().skip(section + 1).take_while(|(_, x)| x.route == s.route && x.level > s.level);
    let best = subsections.map(|(i, x)| (i, text_score(&plain_with_code(x), weights))).max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))?;
    quote_blocks_with(&r.index.sections[best.0], weights, budget, &[]).map(|q| (best.0, q))
}

fn plain_with_code(s: &SectionDoc) -> String {
    std::iter::once(s.heading.as_str()).chain(s.blocks.iter().map(|b| b.text.as_str())).collect::<Vec<_>>().join("\n")
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

/// A candidate piece of a section: a whole block, some items or rows of a long one, or some
/// lines of long code.
#[derive(Debug)]
struct Unit {
    block: usize,
    /// Part indices for a partial list or table (empty: the whole block).
    parts: Vec<usize>,
    /// Lines of a code block quoted as an excerpt (first, one past last).
    lines: Option<(usize, usize)>,
    score: f32,
    words: usize,
}

/// Code up to this many lines is quoted whole; longer code by an excerpt of this many lines
/// around what the question asks about.
const MAX_CODE_LINES: usize = 24;
const EXCERPT_LINES: usize = 20;
/// What a code unit counts against the word budget, at most.
const CODE_WORDS: usize = 30;

fn is_lead_in(b: &Block) -> bool {
    b.kind == BlockKind::Paragraph && b.text.trim_end().ends_with(':')
}

fn is_code(b: &Block) -> bool {
    b.kind == BlockKind::Code
}

/// The section's best-matching blocks within about `budget` words, as Markdown, in the
/// section's order. A short section is quoted whole. Long lists and tables contribute their
/// matching items or rows (with the table's header); long code its best lines; a line that
/// introduces a list, table or code ("…the following:") comes with what it introduces, or not
/// at all; a block is never cut otherwise.
pub fn quote_blocks(s: &SectionDoc, weights: &[(Vec<String>, f32)], budget: usize) -> String {
    quote_blocks_with(s, weights, budget, &[]).map(|q| q.markdown).unwrap_or_default()
}

/// [`quote_blocks`], with `pinned` pieces (block, list item or table row) quoted first — the
/// book's definition of what is asked. `None` when the section has nothing to show.
pub fn quote_blocks_with(s: &SectionDoc, weights: &[(Vec<String>, f32)], budget: usize, pinned: &[(usize, Option<usize>)]) -> Option<Quote> {
    let blocks = &s.blocks;
    let prose_words: usize = blocks.iter().filter(|b| !is_code(b)).map(|b| word_count(&b.md)).sum();
    let mut units: Vec<Unit> = Vec::new();
    let is_pinned = |i: usize| pinned.iter().any(|(b, _)| *b == i);
    if prose_words <= budget + budget / 4 && pinned.is_empty() {
        // Short enough to quote whole (long code by its best lines, when they match or the
        // section is little else).
        for (i, b) in blocks.iter().enumerate() {
            if !is_code(b) {
                units.push(Unit { block: i, parts: Vec::new(), lines: None, score: 1.0, words: word_count(&b.md) });
                continue;
            }
            let unit = code_unit(i, b, weights, 1.0);
            if unit.lines.is_none() || unit.score > 0.0 || prose_words < SECOND_SECTION_WORDS / 2 {
                units.push(unit);
            }
        }
        let all: Vec<usize> = (0..units.len()).collect();
        return render(blocks, &units, &all);
    }
    for (i, b) in blocks.iter().enumerate() {
        let position = 1.0 / (1.0 + i as f32 * 0.1);
        let long = matches!(b.kind, BlockKind::List | BlockKind::OrderedList | BlockKind::Table) && b.parts.len() > WHOLE_PARTS;
        let mut unit = if long {
            let pin = pinned.iter().find(|(pb, _)| *pb == i).and_then(|(_, p)| *p);
            long_unit(i, b, weights, position, pin)
        } else if is_code(b) {
            // Code answers "how do I write it" questions, but it is long and not prose.
            code_unit(i, b, weights, position * 0.5)
        } else {
            let score = if b.kind == BlockKind::Heading { 0.0 } else { text_score(&b.text, weights) } * position;
            Unit { block: i, parts: Vec::new(), lines: None, score, words: word_count(&b.md) }
        };
        if is_pinned(i) {
            unit.score = f32::MAX / 4.0;
        }
        units.push(unit);
    }
    // A lead-in and what it introduces are read as one: "The difference:" scores with its list.
    for u in 0..units.len() {
        let b = units[u].block;
        if !is_lead_in(&blocks[b]) {
            continue;
        }
        let Some(next) = units.iter().position(|x| x.block == b + 1) else { continue };
        let position = 1.0 / (1.0 + b as f32 * 0.1);
        let together = if units[next].parts.is_empty() && units[next].lines.is_none() {
            text_score(&format!("{}\n{}", blocks[b].text, blocks[b + 1].text), weights) * position
        } else {
            units[next].score.max(units[u].score)
        };
        units[u].score = units[u].score.max(together);
        units[next].score = units[next].score.max(together);
    }
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| units[b].score.total_cmp(&units[a].score).then(a.cmp(&b)));
    let nothing_matches = units.iter().all(|u| u.score <= 0.0);
    if nothing_matches {
        // Matched by meaning, not words: the section's opening, in order — its prose, or its
        // code when it has no prose.
        order = (0..units.len()).filter(|&u| !is_code(&blocks[units[u].block])).collect();
        if order.iter().all(|&u| blocks[units[u].block].kind == BlockKind::Heading) {
            order = (0..units.len()).filter(|&u| is_code(&blocks[units[u].block])).take(1).collect();
        }
    }
    let best = order.first().map(|&u| units[u].score).unwrap_or(0.0);
    let mut chosen: Vec<usize> = Vec::new();
    let mut words = 0;
    let mut code_chosen = false;
    for &u in &order {
        let unit = &units[u];
        if !nothing_matches && unit.score <= 0.0 {
            break;
        }
        if is_code(&blocks[unit.block]) {
            // One piece of code at most, when it is the best match or close to it.
            if code_chosen || (!chosen.is_empty() && unit.score < best * 0.5) {
                continue;
            }
            code_chosen = true;
        }
        // The unit with what must come with it: its lead-in, or what it introduces.
        let mut group = vec![u];
        let b = unit.block;
        if b > 0 && is_lead_in(&blocks[b - 1]) && !is_lead_in(&blocks[b]) {
            if let Some(lead) = units.iter().position(|x| x.block == b - 1) {
                group.push(lead);
            }
        }
        if is_lead_in(&blocks[b]) {
            match units.iter().position(|x| x.block == b + 1) {
                Some(next) if !is_code(&blocks[b + 1]) || !code_chosen => {
                    if is_code(&blocks[b + 1]) {
                        code_chosen = true;
                    }
                    group.push(next)
                }
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

/// A code block as a unit: whole when short, else its best `EXCERPT_LINES` lines — the window
/// with the most of the question's terms, comments and docstrings included (camelCase and
/// snake_case names read as words).
fn code_unit(i: usize, b: &Block, weights: &[(Vec<String>, f32)], factor: f32) -> Unit {
    let lines: Vec<&str> = b.text.lines().collect();
    // Each line's terms, its comment's apart: a comment says in words what the code does.
    let line_terms: Vec<(Vec<String>, Vec<String>)> = lines
        .iter()
        .map(|l| {
            let (code, comment) = split_comment(l);
            (text::terms(&split_identifiers(code)), text::terms(comment))
        })
        .collect();
    let has = |t: &[String], g: &[String]| g.iter().any(|f| t.contains(f));
    let line_score: Vec<f32> = line_terms
        .iter()
        .map(|(code, comment)| weights.iter().map(|(g, w)| if has(comment, g) { 1.5 * w } else if has(code, g) { *w } else { 0.0 }).sum())
        .collect();
    // The question's terms the window has (each once), and its best line: one line that says
    // several of them ("RATE = 16000  # Whisper expects 16kHz") is what the reader looks for.
    let window_score = |a: usize, z: usize| -> f32 {
        let present = |g: &Vec<String>| line_terms[a..z].iter().any(|(c, m)| has(c, g) || has(m, g));
        let distinct: f32 = weights.iter().filter(|(g, _)| present(g)).map(|(_, w)| w).sum();
        distinct + 2.0 * line_score[a..z].iter().copied().fold(0.0, f32::max)
    };
    if lines.len() <= MAX_CODE_LINES {
        let score = window_score(0, lines.len()) * factor;
        return Unit { block: i, parts: Vec::new(), lines: None, score, words: word_count(&b.md).min(CODE_WORDS) };
    }
    let (mut best, mut at) = (f32::MIN, 0);
    for a in 0..=lines.len() - EXCERPT_LINES {
        let sc = window_score(a, a + EXCERPT_LINES);
        if sc > best + 1e-6 {
            best = sc;
            at = a;
        }
    }
    let words = lines[at..at + EXCERPT_LINES].iter().map(|l| word_count(l)).sum::<usize>().min(CODE_WORDS);
    Unit { block: i, parts: Vec::new(), lines: Some((at, at + EXCERPT_LINES)), score: best.max(0.0) * factor, words }
}

/// A line of code and its comment (`#`, `//`, `--`, `<!--`, `/*`, a docstring's text), roughly:
/// a marker inside a string is taken for a comment too, which only adds words.
fn split_comment(line: &str) -> (&str, &str) {
    let t = line.trim_start();
    if t.starts_with("\"\"\"") || t.starts_with("'''") || t.starts_with('*') {
        return ("", t);
    }
    let at = ["#", "//", " -- ", "<!--", "/*"].iter().filter_map(|m| line.find(m)).min();
    match at {
        Some(i) if !line[..i].trim_end().ends_with(['"', '\'']) => (&line[..i], &line[i..]),
        _ => (line, ""),
    }
}

/// `NotFoundError` → `Not Found Error`, `tool_handler` → `tool handler`: code names as words.
fn split_identifiers(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut prev: Option<char> = None;
    for c in line.chars() {
        if c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            out.push(' ');
        }
        out.push(if c == '_' { ' ' } else { c });
        prev = Some(c);
    }
    out
}

/// Some lines of a code block, fenced as it was: a first comment line (the code's caption) is
/// kept above an excerpt that starts later, and "…" marks what is left out.
fn code_excerpt(b: &Block, (a, z): (usize, usize)) -> String {
    let lines: Vec<&str> = b.text.lines().collect();
    let fence_line = b.md.lines().next().unwrap_or("```");
    let fence: String = fence_line.chars().take_while(|c| *c == '`' || *c == '~').collect();
    let mut out = vec![fence_line.to_owned()];
    let caption = lines.first().is_some_and(|l| {
        let t = l.trim_start();
        ["#", "//", "--", "/*", "<!--", "%", ";"].iter().any(|c| t.starts_with(c)) && !t.starts_with("#include") && !t.starts_with("#!")
    });
    if a > 0 {
        if caption {
            out.push(lines[0].to_owned());
        }
        if a > usize::from(caption) {
            out.push("…".into());
        }
    }
    out.extend(lines[a..z.min(lines.len())].iter().map(|l| (*l).to_owned()));
    if z < lines.len() {
        out.push("…".into());
    }
    out.push(fence);
    out.join("\n")
}

/// A long list or table as a unit of its best-matching items or rows.
fn long_unit(i: usize, b: &Block, weights: &[(Vec<String>, f32)], position: f32, pinned: Option<usize>) -> Unit {
    let mut scored: Vec<(usize, f32)> = b
        .parts
        .iter()
        .enumerate()
        .map(|(j, p)| (j, if Some(j) == pinned { f32::MAX / 8.0 } else { text_score(&p.text, weights) }))
        .filter(|(_, sc)| *sc > 0.0)
        .collect();
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
    Unit { block: i, parts, lines: None, score, words }
}

/// The chosen units in the section's order, as Markdown; a lead-in left last (its block was
/// not chosen) is dropped rather than left dangling. `None` when nothing is left.
fn render(blocks: &[Block], units: &[Unit], chosen: &[usize]) -> Option<Quote> {
    let mut picked: Vec<&Unit> = chosen.iter().map(|&u| &units[u]).collect();
    picked.sort_by_key(|u| u.block);
    picked.dedup_by_key(|u| u.block);
    while picked.last().is_some_and(|u| is_lead_in(&blocks[u.block]) || blocks[u.block].kind == BlockKind::Heading) {
        picked.pop();
    }
    // A lead-in is kept only when the next picked block is the one it introduces.
    let shown: Vec<&Unit> = picked.iter().copied().filter(|u| !is_lead_in(&blocks[u.block]) || picked.iter().any(|v| v.block == u.block + 1)).collect();
    if shown.is_empty() {
        return None;
    }
    let markdown = shown
        .iter()
        .map(|u| match (u.lines, u.parts.is_empty()) {
            (Some(lines), _) => code_excerpt(&blocks[u.block], lines),
            (None, true) => blocks[u.block].md.clone(),
            (None, false) => partial(&blocks[u.block], &u.parts),
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let only_code = shown.iter().all(|u| is_code(&blocks[u.block]) || blocks[u.block].kind == BlockKind::Heading);
    Some(Quote { markdown, words: shown.iter().map(|u| u.words).sum(), only_code })
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

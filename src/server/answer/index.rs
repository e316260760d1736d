//! The book's search index, in memory: BM25 over the sections' terms (heading, heading path,
//! body) and the sections' sentence embeddings, built from Postgres — the source of truth — and
//! rebuilt whenever the book's revision there changes, so every instance sees a re-ingest at its
//! next question. A book of a few thousand sections is a few megabytes; ranking it takes
//! milliseconds and no database work.

use super::glossary::{self, Definition};
use super::text::{self, Vocabulary};
use crate::server::book::{Block, BlockKind};
use std::collections::{HashMap, HashSet};

/// BM25 parameters (Robertson's usual values).
const K1: f32 = 1.2;
const B: f32 = 0.75;
/// How much one occurrence counts, by where it is: the section's own heading says most about
/// it; the headings above it (page title, parent section) are shared with its siblings; code is
/// identifiers more than explanation.
const HEADING_WEIGHT: f32 = 2.0;
const PATH_WEIGHT: f32 = 0.5;
const BODY_WEIGHT: f32 = 1.0;
const CODE_WEIGHT: f32 = 0.5;

/// How a section frames its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// It explains something (or is navigation).
    None,
    /// It opens the page: the text under the page title, or a template section (a heading the
    /// book repeats across pages) in the page's first quarter — an introduction, objectives.
    Intro,
    /// A template section after that: a summary, conclusion, key takeaways.
    Recap,
}

/// A section as stored, ready to be indexed.
#[derive(Debug, Clone)]
pub struct SectionRow {
    pub chunk_id: i64,
    pub route: String,
    pub source_path: String,
    pub doc_title: String,
    pub heading: String,
    pub anchor: String,
    pub level: i16,
    pub path: Vec<String>,
    pub blocks: Vec<Block>,
    /// Embeddings of the section (one per window), when a model has embedded it.
    pub vectors: Vec<Vec<f32>>,
}

/// One indexed section.
#[derive(Debug, Clone)]
pub struct SectionDoc {
    pub chunk_id: i64,
    pub route: String,
    pub source_path: String,
    pub doc_title: String,
    pub heading: String,
    pub anchor: String,
    pub level: i16,
    pub path: Vec<String>,
    pub blocks: Vec<Block>,
    /// Weighted length (sum of the weighted term frequencies).
    len: f32,
    /// Stems of the section's own heading.
    pub heading_terms: HashSet<String>,
    /// Stems anywhere in the section (heading path included).
    pub stems: HashSet<String>,

    /// The section summarises, drills or lists its page rather than explaining one topic: its
    /// heading recurs across the book (a template heading such as a summary, objectives, next
    /// steps or exercises — found by counting, not by name, in at least a tenth of the pages and
    /// at least three of them), or it is mostly links (a table of contents, further reading:
    /// they name every topic and explain none).
    pub overview: bool,
    /// The section frames its page: an introduction or a recap (see [`BookIndex::framing`]).
    pub framing: Framing,
    /// First and one-past-last row of this section's vectors in the index.
    vectors: (usize, usize),
}

impl SectionDoc {
    /// The section's Markdown as stored (all blocks).
    pub fn markdown(&self) -> String {
        self.blocks.iter().map(|b| b.md.as_str()).collect::<Vec<_>>().join("\n\n")
    }

    /// "Page › Section": the section's place in the book.
    pub fn label(&self) -> String {
        if self.level <= 1 || self.heading.is_empty() {
            self.doc_title.clone()
        } else {
            format!("{} › {}", self.doc_title, self.heading)
        }
    }

    /// The section's folder in the book ("chapter scope").
    pub fn folder(&self) -> &str {
        self.source_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
    }
}

#[derive(Debug, Default)]
pub struct BookIndex {
    /// The book revision this index was built from (see `book_state`).
    pub revision: i64,
    pub sections: Vec<SectionDoc>,
    term_ids: HashMap<String, u32>,
    /// Per term: the sections containing it and its tf there.
    postings: Vec<Vec<(u32, f32)>>,
    avg_len: f32,
    pub vocabulary: Vocabulary,
    /// Acronym stem → the stems of its long form, and the reverse (first stem of the long form
    /// → acronym), from "Long Form (LF)" definitions in the book.
    acronyms: HashMap<String, Vec<String>>,
    long_forms: Vec<(Vec<String>, String)>,
    vectors: Vec<f32>,
    vector_section: Vec<u32>,
    /// The terms the book defines, and where (see `glossary`).
    pub definitions: Vec<Definition>,
    pub dim: usize,
    /// Every section's words, lower-cased and space-separated (" a b c "), for phrase checks,
    /// and where each section's words start in it.
    phrases: String,
    phrase_starts: Vec<usize>,
}

/// How a question's words are searched for.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerms {
    /// One group per content word of the question: its stem, plus the stems of its acronym or
    /// long form when the book defines one ("imu" ↔ "inerti", "measur", "unit").
    pub groups: Vec<Vec<String>>,
    /// The question's word behind each group, as typed.
    pub words: Vec<String>,
    /// Misspelled words and the book words they were read as.
    pub corrections: Vec<(String, String)>,
}

impl QueryTerms {
    pub fn stems(&self) -> Vec<String> {
        let mut all: Vec<String> = self.groups.iter().flatten().cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

impl BookIndex {
    pub fn build(revision: i64, rows: Vec<SectionRow>) -> BookIndex {
        let mut idx = BookIndex { revision, ..Default::default() };
        let mut words_per_section: Vec<HashSet<String>> = Vec::with_capacity(rows.len());
        let mut acronym_pairs = Vec::new();
        for row in rows {
            let id = idx.sections.len() as u32;
            let mut tf: HashMap<u32, f32> = HashMap::new();
            let mut stems = HashSet::new();
            let mut words = HashSet::new();
            let mut add = |idx: &mut BookIndex, text: &str, weight: f32, words: &mut HashSet<String>| {
                for w in text::words(text) {
                    if w.chars().all(char::is_alphabetic) {
                        words.insert(w.clone());
                    }
                    if text::is_stop_word(&w) {
                        continue;
                    }
                    let s = text::stem(&w);
                    let next = idx.term_ids.len() as u32;
                    let t = *idx.term_ids.entry(s.clone()).or_insert(next);
                    *tf.entry(t).or_default() += weight;
                    stems.insert(s);
                }
            };
            if !idx.phrases.ends_with(' ') {
                idx.phrases.push(' ');
            }
            // A match starting at this section's leading space belongs to it.
            idx.phrase_starts.push(idx.phrases.len() - 1);
            for text in std::iter::once(row.heading.as_str()).chain(row.blocks.iter().map(|b| b.text.as_str())) {
                for w in text::words(text) {
                    idx.phrases.push_str(&w);
                    idx.phrases.push(' ');
                }
            }
            add(&mut idx, &row.heading, HEADING_WEIGHT, &mut words);
            for p in &row.path {
                add(&mut idx, p, PATH_WEIGHT, &mut words);
            }
            for b in &row.blocks {
                let w = if b.kind == BlockKind::Code { CODE_WEIGHT } else { BODY_WEIGHT };
                add(&mut idx, &b.text, w, &mut words);
                if b.kind != BlockKind::Code {
                    acronym_pairs.extend(text::find_acronyms(&b.text));
                }
            }
            let len = tf.values().sum::<f32>();
            for (&t, &f) in &tf {
                if idx.postings.len() <= t as usize {
                    idx.postings.resize(t as usize + 1, Vec::new());
                }
                idx.postings[t as usize].push((id, f));
            }
            let start = idx.vector_section.len();
            for v in &row.vectors {
                if idx.dim == 0 {
                    idx.dim = v.len();
                }
                if v.len() == idx.dim {
                    idx.vectors.extend_from_slice(v);
                    idx.vector_section.push(id);
                }
            }
            words_per_section.push(words);
            idx.definitions.extend(glossary::in_section(id as usize, &row.heading, &row.blocks));
            idx.sections.push(SectionDoc {
                chunk_id: row.chunk_id,
                route: row.route,
                source_path: row.source_path,
                doc_title: row.doc_title,
                heading_terms: text::terms(&row.heading).into_iter().collect(),
                heading: row.heading,
                anchor: row.anchor,
                level: row.level,
                path: row.path,
                blocks: row.blocks,
                len,
                stems,
                overview: false,
                framing: Framing::None,
                vectors: (start, idx.vector_section.len()),
            });
        }
        idx.avg_len = if idx.sections.is_empty() {
            1.0
        } else {
            (idx.sections.iter().map(|s| s.len).sum::<f32>() / idx.sections.len() as f32).max(1.0)
        };
        idx.vocabulary = Vocabulary::new(words_per_section.iter());
        for (acronym, long) in acronym_pairs {
            let a = text::stem(&acronym.to_lowercase());
            let expansion = text::terms(&long);
            if expansion.is_empty() || a.is_empty() {
                continue;
            }
            idx.acronyms.entry(a.clone()).or_insert_with(|| expansion.clone());
            if !idx.long_forms.iter().any(|(e, x)| *e == expansion && *x == a) {
                idx.long_forms.push((expansion, a));
            }
        }
        let template = idx.recurring_heading_sections();
        for &i in &template {
            idx.sections[i].overview = true;
        }
        for i in idx.link_list_sections().into_iter().chain(idx.outline_sections()) {
            idx.sections[i].overview = true;
        }
        for (i, f) in idx.framing(&template) {
            idx.sections[i].framing = f;
        }
        // A page's opening text frames it; for a question about a detail the sections under
        // it explain (a short opening with the page's title matches every question about it).
        let mut sections_per_page: HashMap<&str, usize> = HashMap::new();
        for s in &idx.sections {
            *sections_per_page.entry(s.route.as_str()).or_default() += 1;
        }
        let tops: Vec<usize> = idx
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.level <= 1 && sections_per_page[s.route.as_str()] > 1)
            .map(|(i, _)| i)
            .collect();
        for i in tops {
            idx.sections[i].overview = true;
        }
        idx
    }

    /// Sections that outline other pages: at least three of their lines (a paragraph, a list
    /// item, a bold line) are headings of another page, word for word — a chapter outline or a
    /// table of contents without links. They name every topic of the page and explain none.
    fn outline_sections(&self) -> Vec<usize> {
        let norm = |t: &str| text::words(t).collect::<Vec<_>>().join(" ");
        let mut headings: HashMap<String, HashSet<&str>> = HashMap::new();
        for s in self.sections.iter().filter(|s| s.level > 1) {
            let h = norm(&s.heading);
            if h.split(' ').count() >= 2 {
                headings.entry(h).or_default().insert(s.route.as_str());
            }
        }
        let is_other_heading = |t: &str, route: &str| headings.get(&norm(t)).is_some_and(|routes| routes.iter().any(|r| *r != route));
        self.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                let lines = s.blocks.iter().flat_map(|b| {
                    let whole = std::iter::once(b.text.as_str());
                    whole.chain(b.parts.iter().map(|p| p.text.as_str()))
                });
                lines.filter(|t| is_other_heading(t, &s.route)).take(3).count() >= 3
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn link_list_sections(&self) -> Vec<usize> {
        self.sections.iter().enumerate().filter(|(_, s)| is_link_list(s)).map(|(i, _)| i).collect()
    }

    /// Template sections: their heading — whole, or its lead before a colon or dash
    /// ("3.1 Introduction: Why Simulate?" → "Introduction"), numbers dropped — recurs across
    /// the book.
    fn recurring_heading_sections(&self) -> Vec<usize> {
        let key = |h: &str| -> String {
            text::words(h).filter(|w| !w.chars().all(|c| c.is_ascii_digit())).map(|w| text::stem(&w)).collect::<Vec<_>>().join(" ")
        };
        let lead = |h: &str| -> Option<String> {
            let cut = h.find([':', '—', '–', '(']).or_else(|| h.find(" - "))?;
            let k = key(&h[..cut]);
            (!k.is_empty()).then_some(k)
        };
        let mut pages_by_heading: HashMap<String, HashSet<&str>> = HashMap::new();
        for s in self.sections.iter().filter(|s| s.level > 1) {
            pages_by_heading.entry(key(&s.heading)).or_default().insert(s.route.as_str());
            if let Some(l) = lead(&s.heading) {
                pages_by_heading.entry(format!("{l} :")).or_default().insert(s.route.as_str());
            }
        }
        let pages: HashSet<&str> = self.sections.iter().map(|s| s.route.as_str()).collect();
        let threshold = (pages.len() / 10).max(3);
        let recurs = |k: &str| !k.is_empty() && pages_by_heading.get(k).is_some_and(|p| p.len() >= threshold);
        self.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.level > 1)
            .filter(|(_, s)| recurs(&key(&s.heading)) || lead(&s.heading).is_some_and(|l| recurs(&format!("{l} :"))))
            .map(|(i, _)| i)
            .collect()
    }

    /// Which sections frame their page: the page top when it has prose, and the template
    /// sections with prose — an introduction in the page's first quarter, a recap after it.
    /// Navigation (mostly links) and code-only sections frame nothing.
    fn framing(&self, template: &[usize]) -> Vec<(usize, Framing)> {
        let mut by_page: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in self.sections.iter().enumerate() {
            by_page.entry(s.route.as_str()).or_default().push(i);
        }
        let prose = |s: &SectionDoc| {
            s.blocks.iter().filter(|b| b.kind != BlockKind::Code).map(|b| b.text.split_whitespace().count()).sum::<usize>() >= 12
                && !is_link_list(s)
        };
        let mut out = Vec::new();
        for (i, s) in self.sections.iter().enumerate() {
            if !prose(s) {
                continue;
            }
            if s.level <= 1 {
                out.push((i, Framing::Intro));
                continue;
            }
            if !template.contains(&i) {
                continue;
            }
            let page = &by_page[s.route.as_str()];
            let at = page.iter().position(|&j| j == i).unwrap_or(0);
            out.push((i, if at * 4 < page.len() { Framing::Intro } else { Framing::Recap }));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }


    /// Does the book use these words, in this order, somewhere (one heading or block)?
    pub fn has_phrase(&self, words: &[String]) -> bool {
        words.is_empty() || self.phrases.contains(&Self::needle(words))
    }

    fn needle(words: &[String]) -> String {
        format!(" {} ", words.iter().map(|w| w.to_lowercase()).collect::<Vec<_>>().join(" "))
    }

    /// The sections that contain these words in this order (a passage quoted from the book).
    pub fn sections_with_phrase(&self, words: &[String]) -> Vec<usize> {
        if words.is_empty() {
            return Vec::new();
        }
        let needle = Self::needle(words);
        let mut out: Vec<usize> = self
            .phrases
            .match_indices(&needle)
            .map(|(at, _)| self.phrase_starts.partition_point(|&start| start <= at).saturating_sub(1))
            .collect();
        out.dedup();
        out
    }

    pub fn has_vectors(&self) -> bool {
        !self.vector_section.is_empty()
    }

    fn idf(&self, term: u32) -> f32 {
        let n = self.sections.len() as f32;
        let df = self.postings.get(term as usize).map(|p| p.len()).unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Inverse document frequency of a stem (0 for a stem the book does not use).
    pub fn stem_idf(&self, stem: &str) -> f32 {
        self.term_ids.get(stem).map(|&t| self.idf(t)).unwrap_or(0.0)
    }

    /// The most informative a term can be in this book (a stem used by one section).
    pub fn max_idf(&self) -> f32 {
        let n = self.sections.len() as f32;
        (1.0 + (n - 0.5) / 1.5).ln()
    }

    pub fn knows_stem(&self, stem: &str) -> bool {
        self.term_ids.contains_key(stem)
    }

    /// The question's search terms: misspellings corrected to book words (only words the
    /// book does not use in any form, and — when `is_common_word` says so — not ordinary words
    /// that merely are absent from the book), acronyms expanded both ways.
    pub fn query_terms(&self, question: &str, correct: bool, expand: bool, is_common_word: &dyn Fn(&str) -> bool) -> QueryTerms {
        let mut corrections = Vec::new();
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut typed: Vec<String> = Vec::new();
        // Each distinct word once: a long question or selection repeats its words, and
        // correcting one is a search of the vocabulary.
        let mut seen: HashSet<String> = HashSet::new();
        for original in question.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let w = original.to_lowercase();
            if !seen.insert(w.clone()) {
                continue;
            }
            if text::is_stop_word(&w) || (!self.vocabulary.contains(&w) && text::is_stop_word_typo(&w)) {
                continue;
            }
            let mut word = w.clone();
            if correct && !is_common_word(&w) {
                if let Some(fixed) = self.vocabulary.correct(&w) {
                    corrections.push((w.clone(), fixed.clone()));
                    word = fixed;
                }
            }
            if text::is_stop_word(&word) {
                // "wich" read as "which": a function word after all.
                continue;
            }
            let s = text::stem(&word);
            if groups.iter().any(|g| g[0] == s) {
                continue;
            }
            groups.push(vec![s]);
            typed.push(original.to_owned());
        }
        if expand {
            let firsts: Vec<String> = groups.iter().map(|g| g[0].clone()).collect();
            for g in groups.iter_mut() {
                if let Some(long) = self.acronyms.get(&g[0]) {
                    // "IMU" also finds "inertial measurement unit".
                    for l in long {
                        if !g.contains(l) {
                            g.push(l.clone());
                        }
                    }
                }
            }
            for (long, acronym) in &self.long_forms {
                // "zero moment point" also finds "ZMP".
                if long.iter().all(|l| firsts.contains(l)) {
                    if let Some(g) = groups.iter_mut().find(|g| g[0] == long[0]) {
                        if !g.contains(acronym) {
                            g.push(acronym.clone());
                        }
                    }
                }
            }
        }
        QueryTerms { groups, words: typed, corrections }
    }

    /// BM25 of every section containing a query term (section index, score), unordered. A
    /// group's forms count as one term: its best-scoring form in each section.
    pub fn bm25(&self, q: &QueryTerms) -> HashMap<usize, f32> {
        let mut scores: HashMap<usize, f32> = HashMap::new();
        for group in &q.groups {
            let mut best: HashMap<usize, f32> = HashMap::new();
            for form in group {
                let Some(&t) = self.term_ids.get(form) else { continue };
                let idf = self.idf(t);
                for &(sec, tf) in &self.postings[t as usize] {
                    let dl = self.sections[sec as usize].len;
                    let s = idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / self.avg_len));
                    let e = best.entry(sec as usize).or_default();
                    *e = e.max(s);
                }
            }
            for (sec, s) in best {
                *scores.entry(sec).or_default() += s;
            }
        }
        scores
    }

    /// Cosine similarity of every section to a question vector (its best window).
    pub fn dense(&self, q: &[f32]) -> Vec<f32> {
        let mut out = vec![f32::MIN; self.sections.len()];
        if q.len() != self.dim || self.dim == 0 {
            return out;
        }
        for (i, v) in self.vectors.chunks_exact(self.dim).enumerate() {
            let s: f32 = v.iter().zip(q).map(|(a, b)| a * b).sum();
            let sec = self.vector_section[i] as usize;
            if s > out[sec] {
                out[sec] = s;
            }
        }
        out
    }

    /// Share of the question's term groups found in a section, each weighted by how
    /// informative it is in this book (a word the book never uses weighs the most).
    pub fn coverage(&self, section: usize, q: &QueryTerms) -> f32 {
        let s = &self.sections[section];
        let (mut hit, mut total) = (0.0, 0.0);
        for g in &q.groups {
            let w = g.iter().map(|f| self.stem_idf(f)).fold(0.0, f32::max);
            let w = if w == 0.0 { self.max_idf() } else { w };
            total += w;
            if g.iter().any(|f| s.stems.contains(f)) {
                hit += w;
            }
        }
        if total == 0.0 {
            0.0
        } else {
            hit / total
        }
    }

    pub fn section_vectors(&self, section: usize) -> impl Iterator<Item = &[f32]> {
        let (a, b) = self.sections[section].vectors;
        (a..b).map(move |i| &self.vectors[i * self.dim..(i + 1) * self.dim])
    }
}

/// A section whose prose is at least two thirds link text (and has a few links' worth of it).
fn is_link_list(s: &SectionDoc) -> bool {
    let (mut words, mut link_words) = (0usize, 0usize);
    for b in s.blocks.iter().filter(|b| b.kind != BlockKind::Code) {
        words += b.text.split_whitespace().count();
        link_words += b.link_words as usize;
    }
    link_words >= 6 && link_words * 3 >= words * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(route: &str, heading: &str, level: i16, body: &str) -> SectionRow {
        SectionRow {
            chunk_id: 0,
            route: route.into(),
            source_path: format!("{}.md", route.trim_start_matches("/docs/")),
            doc_title: route.into(),
            heading: heading.into(),
            anchor: String::new(),
            level,
            path: vec![],
            blocks: vec![Block { kind: BlockKind::Paragraph, md: body.into(), text: body.into(), head: String::new(), parts: vec![], link_words: 0 }],
            vectors: vec![],
        }
    }

    #[test]
    fn bm25_prefers_the_rare_term_and_the_heading() {
        let idx = BookIndex::build(
            1,
            vec![
                row("/docs/a", "Robots", 2, "A robot has sensors and motors. Robots are robots."),
                row("/docs/b", "Gyroscopes", 2, "A gyroscope on a robot measures rotation."),
                row("/docs/c", "Power", 2, "Batteries power the robot."),
            ],
        );
        let q = idx.query_terms("how does a robot measure rotation", true, true, &|_| false);
        let mut ranked: Vec<(usize, f32)> = idx.bm25(&q).into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(ranked[0].0, 1, "{ranked:?}");
        assert!((idx.coverage(1, &q) - 1.0).abs() < 1e-6);
        assert!(idx.coverage(2, &q) < 0.5);
    }

    #[test]
    fn recurring_headings_are_overviews() {
        let mut rows = Vec::new();
        for p in ["a", "b", "c", "d"] {
            let r = format!("/docs/{p}");
            rows.push(row(&r, "Topic", 1, "intro"));
            rows.push(row(&r, &format!("Unique {p} topic"), 2, "text"));
            rows.push(row(&r, "Key Takeaways", 2, "recap of everything"));
        }
        let idx = BookIndex::build(1, rows);
        let flagged: Vec<&str> = idx.sections.iter().filter(|s| s.overview).map(|s| s.heading.as_str()).collect();
        // The recap by its recurring heading; the page's opening too (its pages have sections).
        assert_eq!(flagged, ["Topic", "Key Takeaways"].repeat(4));
        let framing: Vec<Framing> = idx.sections.iter().take(3).map(|s| s.framing).collect();
        assert_eq!(framing, [Framing::None, Framing::None, Framing::None], "too little prose to frame a page");
    }

    #[test]
    fn introductions_and_recaps_frame_their_page_by_place_and_recurrence() {
        let prose = "A paragraph long enough to say something about the chapter and its topics in a few words.";
        let mut rows = Vec::new();
        for (n, p) in ["a", "b", "c", "d"].iter().enumerate() {
            let (n, r) = (n + 1, format!("/docs/{p}"));
            rows.push(row(&r, "Chapter", 1, prose));
            rows.push(row(&r, &format!("{n}.1 Introduction: Why {p} matters"), 2, prose));
            for k in 2..8 {
                rows.push(row(&r, &format!("{n}.{k} Topic {k}{p}"), 2, prose));
            }
            rows.push(row(&r, &format!("{n}.9 Summary"), 2, prose));
        }
        let idx = BookIndex::build(1, rows);
        let of = |h: &str| idx.sections.iter().find(|s| s.heading == h).map(|s| (s.framing, s.overview));
        assert_eq!(of("1.1 Introduction: Why a matters"), Some((Framing::Intro, true)), "the lead before the colon recurs");
        assert_eq!(of("1.9 Summary"), Some((Framing::Recap, true)));
        assert_eq!(of("1.3 Topic 3a"), Some((Framing::None, false)));
        assert_eq!(idx.sections[0].framing, Framing::Intro, "the page's opening text");
    }

    #[test]
    fn an_outline_of_other_pages_is_an_overview() {
        let mut outline = row("/docs/outlines", "Chapter 2 outline", 2, "x");
        outline.blocks = ["Zero Moment Point", "Preview Control Basics", "Reward Shaping Tricks", "Something else entirely"]
            .iter()
            .map(|t| Block { kind: BlockKind::Paragraph, md: format!("**{t}**"), text: (*t).into(), head: String::new(), parts: vec![], link_words: 0 })
            .collect();
        let rows = vec![
            outline,
            row("/docs/walk", "Zero Moment Point", 2, "The ZMP is where the net moment vanishes."),
            row("/docs/walk", "Preview Control Basics", 2, "Plan the centre of mass ahead."),
            row("/docs/walk", "Reward Shaping Tricks", 2, "Reward upright walking."),
        ];
        let idx = BookIndex::build(1, rows);
        let flagged: Vec<&str> = idx.sections.iter().filter(|s| s.overview).map(|s| s.heading.as_str()).collect();
        assert_eq!(flagged, ["Chapter 2 outline"]);
    }

    #[test]
    fn sections_made_of_links_are_overviews() {
        let mut toc = row("/docs/faq", "Table of Contents", 2, "General When should I use Redux? Can Redux only be used with React? Reducers How do I share state?");
        toc.blocks[0].link_words = 16;
        let mut answer = row("/docs/faq/general", "When should I use Redux?", 2, "When much of the state is shared by many parts of the app and updated over time. See the Redux docs and the FAQ.");
        answer.blocks[0].link_words = 4;
        let idx = BookIndex::build(1, vec![toc, answer]);
        let flagged: Vec<&str> = idx.sections.iter().filter(|s| s.overview).map(|s| s.heading.as_str()).collect();
        assert_eq!(flagged, ["Table of Contents"]);
    }

    #[test]
    fn acronyms_expand_both_ways_and_typos_are_read_as_book_words() {
        let idx = BookIndex::build(
            1,
            vec![row("/docs/a", "Sensing", 2, "An inertial measurement unit (IMU) drifts. Sensor fusion helps.")],
        );
        let q = idx.query_terms("why does my imu drift", true, true, &|_| false);
        assert!(q.groups.iter().any(|g| g[0] == "imu" && g.contains(&"inerti".to_owned())), "{q:?}");
        let q = idx.query_terms("inertial measurement unit", true, true, &|_| false);
        assert!(q.groups[0].contains(&"imu".to_owned()), "{q:?}");
        let q = idx.query_terms("sensr fusoin", true, true, &|_| false);
        assert_eq!(q.corrections, vec![("sensr".into(), "sensor".into()), ("fusoin".into(), "fusion".into())]);
        // A word the language knows is not a typo, even one edit from a book word.
        let q = idx.query_terms("fusing", true, true, &|w| w == "fusing");
        assert!(q.corrections.is_empty());
    }

    #[test]
    fn a_repeated_word_is_read_and_corrected_once() {
        let idx = BookIndex::build(1, vec![row("/docs/a", "Sensing", 2, "Sensor fusion combines sensors.")]);
        let long = "sensr fusoin ".repeat(1_000);
        let q = idx.query_terms(&long, true, true, &|_| false);
        assert_eq!(q.corrections, vec![("sensr".into(), "sensor".into()), ("fusoin".into(), "fusion".into())]);
        assert_eq!(q.groups.len(), 2);
    }

    #[test]
    fn phrases_are_found_in_their_section() {
        let idx = BookIndex::build(
            1,
            vec![row("/docs/a", "Alpha", 2, "Best effort, which drops them."), row("/docs/b", "Beta", 2, "Reliable delivery retransmits.")],
        );
        let w = |s: &str| text::words(s).collect::<Vec<_>>();
        assert_eq!(idx.sections_with_phrase(&w("best effort which drops")), vec![0]);
        assert_eq!(idx.sections_with_phrase(&w("Reliable delivery")), vec![1]);
        assert_eq!(idx.sections_with_phrase(&w("beta reliable")), vec![1], "the heading starts the section");
        assert!(idx.sections_with_phrase(&w("drops reliable")).len() <= 1);
        assert!(idx.sections_with_phrase(&w("never written")).is_empty());
        assert!(idx.has_phrase(&w("retransmits")) && !idx.has_phrase(&w("effort best")));
    }

    #[test]
    fn dense_scores_take_the_best_window() {
        let mut a = row("/docs/a", "A", 2, "x");
        a.vectors = vec![vec![1.0, 0.0], vec![0.6, 0.8]];
        let mut b = row("/docs/b", "B", 2, "y");
        b.vectors = vec![vec![0.0, 1.0]];
        let idx = BookIndex::build(1, vec![a, b]);
        let s = idx.dense(&[0.0, 1.0]);
        assert!((s[0] - 0.8).abs() < 1e-6 && (s[1] - 1.0).abs() < 1e-6, "{s:?}");
    }
}

//! Finding the sections that answer a question: BM25 over the in-memory index and the cosine
//! of sentence embeddings, fused by reciprocal rank, one hit per section. The index follows the
//! book's revision in Postgres ([`Library::index`]).

use crate::server::error::{Context, ServerResult};
use super::glossary;
use super::index::{BookIndex, Framing, QueryTerms, SectionDoc};
use super::intent::{self, Intent, Shape};
use crate::server::book::embed::Embedder;
use crate::server::db::documents;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The book as this instance searches it, and the model that embeds questions.
pub struct Library {
    embedder: Option<Arc<Embedder>>,
    index: RwLock<Arc<BookIndex>>,
    /// One rebuild at a time; others wait for it rather than rebuilding too.
    rebuild: tokio::sync::Mutex<()>,
    /// The authors' pinned answers (`pins`).
    pins: super::pins::PinCache,
}

impl Library {
    pub fn new(embedder: Option<Arc<Embedder>>) -> Library {
        Library { embedder, index: RwLock::new(Arc::new(BookIndex::default())), rebuild: tokio::sync::Mutex::new(()), pins: Default::default() }
    }

    pub fn embedder(&self) -> Option<&Arc<Embedder>> {
        self.embedder.as_ref()
    }

    pub fn pins(&self) -> &super::pins::PinCache {
        &self.pins
    }

    fn cached(&self) -> Arc<BookIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The index of the book as it is now: one small query for the revision, and a rebuild when
    /// the book changed since (another instance may have re-ingested it).
    pub async fn index(&self, pool: &PgPool) -> ServerResult<Arc<BookIndex>> {
        let revision = documents::revision(pool).await?;
        self.index_at(pool, revision).await
    }

    /// The index of the book at `revision` (which the caller read, e.g. on a connection it
    /// holds): the cached one, or rebuilt from `pool` when the book changed.
    pub async fn index_at(&self, pool: &PgPool, revision: i64) -> ServerResult<Arc<BookIndex>> {
        let current = self.cached();
        if current.revision == revision {
            return Ok(current);
        }
        let _guard = self.rebuild.lock().await;
        let current = self.cached();
        if current.revision >= revision {
            return Ok(current);
        }
        let model = self.embedder.as_ref().map(|e| e.id().to_owned());
        let (revision, rows) = documents::index_rows(pool, model.as_deref()).await?;
        let started = std::time::Instant::now();
        let built = tokio::task::spawn_blocking(move || BookIndex::build(revision, rows)).await.context("building the search index")?;
        let built = Arc::new(built);
        tracing::info!(
            revision,
            sections = built.sections.len(),
            vectors = built.has_vectors(),
            ms = started.elapsed().as_millis() as u64,
            "search index built"
        );
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = built.clone();
        Ok(built)
    }
}

/// How the lexical and the dense rankings are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal-rank fusion, the dense ranking weighted by `dense_weight`.
    Rrf { dense_weight: f32 },
    /// A weighted sum of the two scores, each scaled to [0, 1] over the candidates (the dense
    /// one weighted `1 - lexical_weight`), plus `coverage_weight` × the share of the question's
    /// informative words the section contains.
    Linear { lexical_weight: f32, coverage_weight: f32 },
}

/// How sections are ranked (the evaluation compares them; answers use `Hybrid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranking {
    Lexical,
    Dense,
    Hybrid,
}

/// What to search for.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub text: &'a str,
    pub limit: usize,
    pub ranking: Ranking,
    /// Route of the page the reader is on: its sections get a boost.
    pub prefer_route: Option<&'a str>,
    /// Only sections under this folder of the book (chapter scope).
    pub folder: Option<&'a str>,
    /// A passage of the book the reader selected and asks about.
    pub selection: Option<&'a str>,
    /// Rank sections that summarise a whole page below the one that explains the topic.
    pub demote_overviews: bool,
    /// Read misspelled words as the book words they were meant to be.
    pub correct: bool,
    /// Search acronyms the book defines in both forms.
    pub expand: bool,
    pub fusion: Fusion,
}

impl<'a> Query<'a> {
    pub fn new(text: &'a str) -> Self {
        Query {
            text,
            limit: super::CANDIDATES,
            ranking: Ranking::Hybrid,
            prefer_route: None,
            folder: None,
            selection: None,
            demote_overviews: true,
            correct: true,
            expand: true,
            fusion: FUSION,
        }
    }
}

/// Reciprocal-rank fusion constant (Cormack et al.'s 60).
pub const RRF_K: f32 = 60.0;
/// The fusion answers use, chosen on the development book (`bookchat eval` compares them).
pub const FUSION: Fusion = Fusion::Linear { lexical_weight: 0.3, coverage_weight: 0.4 };
/// Boost for sections of the page the reader is on.
const CURRENT_PAGE_BOOST: f32 = 1.3;
/// A section holding the passage the reader selected outranks every other.
const SELECTION_BOOST: f32 = 2.0;
/// What a summary-like section keeps of its score when the question does not ask for it.
const OVERVIEW_FACTOR: f32 = 0.5;

/// One ranked section.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into `BookIndex::sections`.
    pub section: usize,
    /// The fused score the ranking used.
    pub score: f32,
    /// BM25 (0 when no term matched) and cosine similarity (0 without a model).
    pub lexical: f32,
    pub dense: f32,
    /// Share of the question's (idf-weighted) terms the section contains.
    pub coverage: f32,
}

/// The question's terms and the best sections, best first.
#[derive(Debug, Clone)]
pub struct Retrieval {
    pub index: Arc<BookIndex>,
    pub terms: QueryTerms,
    pub hits: Vec<Hit>,
    /// Whether the question was embedded (dense evidence exists).
    pub dense: bool,
    /// The question's embedding, when it was embedded (pinned answers match on it too).
    pub question_vector: Option<Arc<[f32]>>,
    /// The question's content words that the book does not use in any form, and that the
    /// model's vocabulary does not know as ordinary words.
    pub foreign_terms: Vec<String>,
    /// Names the question uses that the book never does: a foreign word written as a name
    /// (capitalised inside the question, or with digits) or spelled out by the model in three or
    /// more word pieces, and capitalised multi-word names ("Soft Actor-Critic") the book never
    /// writes as such. A question about something the book does not name is not answered from a
    /// section that merely shares its topic.
    pub unknown_names: Vec<String>,
    /// The reader asked about a passage the book contains (selected on the page): the
    /// sections holding it rank first, and the book certainly covers the question.
    pub grounded: bool,
    /// What kind of answer the question asks for.
    pub shape: Shape,
    /// The book's definitions of what a "what is X?" question asks about, best first: where
    /// each is (section, block, list item or table row). The first one's section leads.
    pub definitions: Vec<(usize, usize, Option<usize>)>,
}

impl Retrieval {
    pub fn section(&self, hit: &Hit) -> &SectionDoc {
        &self.index.sections[hit.section]
    }

    pub fn top(&self) -> Option<&Hit> {
        self.hits.first()
    }

    /// Relevance of the answer's evidence: the best section's coverage, in [0, 1].
    pub fn relevance(&self) -> f32 {
        self.hits.first().map(|h| h.coverage).unwrap_or(0.0)
    }

    pub fn empty(index: Arc<BookIndex>) -> Retrieval {
        Retrieval {
            index,
            terms: QueryTerms { groups: vec![], words: vec![], corrections: vec![] },
            hits: vec![],
            dense: false,
            question_vector: None,
            foreign_terms: vec![],
            unknown_names: vec![],
            grounded: false,
            shape: Shape { intent: Intent::Detail, subject: vec![] },
            definitions: vec![],
        }
    }
}

/// Search the book (the index as of now; the question is embedded off the async runtime).
pub async fn retrieve(library: &Library, pool: &PgPool, q: Query<'_>) -> ServerResult<Retrieval> {
    let index = library.index(pool).await?;
    search(library, index, q).await
}

/// Search `index` (the question is embedded off the async runtime).
pub async fn search(library: &Library, index: Arc<BookIndex>, q: Query<'_>) -> ServerResult<Retrieval> {
    let embedder = library.embedder().cloned();
    let text = q.text.to_owned();
    let prefer = q.prefer_route.map(str::to_owned);
    let folder = q.folder.map(str::to_owned);
    let selection = q.selection.map(str::to_owned);
    let q = OwnedQuery { limit: q.limit, ranking: q.ranking, demote: q.demote_overviews, correct: q.correct, expand: q.expand, fusion: q.fusion };
    tokio::task::spawn_blocking(move || {
        let query = Query {
            text: &text,
            prefer_route: prefer.as_deref(),
            folder: folder.as_deref(),
            selection: selection.as_deref(),
            limit: q.limit,
            ranking: q.ranking,
            demote_overviews: q.demote,
            correct: q.correct,
            expand: q.expand,
            fusion: q.fusion,
        };
        rank(&index, embedder.as_deref(), &query)
    })
    .await
    .context("ranking the book's sections")
}

struct OwnedQuery {
    fusion: Fusion,
    limit: usize,
    ranking: Ranking,
    demote: bool,
    correct: bool,
    expand: bool,
}

/// Rank the book's sections for a question (synchronous: CPU only).
pub fn rank(index: &Arc<BookIndex>, embedder: Option<&Embedder>, q: &Query<'_>) -> Retrieval {
    let common = |w: &str| embedder.is_some_and(|e| e.word_pieces(w) == 1);
    let terms = index.query_terms(q.text, q.correct, q.expand, &common);
    // An ordinary word: one the model knows whole, an inflection or prefixed form of one, or a
    // clipped form of a word the book uses.
    let ordinary = |w: &str| common(w) || super::text::bases(w).iter().any(|b| common(b)) || index.vocabulary.extends(w);
    let foreign_terms: Vec<String> = terms
        .groups
        .iter()
        .zip(&terms.words)
        .filter(|(g, w)| g.iter().all(|f| !index.knows_stem(f)) && w.chars().any(char::is_alphabetic) && !ordinary(&w.to_lowercase()))
        .filter(|(_, w)| !intent::is_cue_word(&w.to_lowercase()))
        .map(|(_, w)| w.clone())
        .collect();
    let unknown_names = unknown_names(index, q.text, &foreign_terms, embedder);
    let selected: Vec<usize> = q
        .selection
        .map(|sel| index.sections_with_phrase(&crate::server::answer::text::words(sel).collect::<Vec<_>>()))
        .unwrap_or_default();
    let mut out = Retrieval {
        index: index.clone(),
        terms,
        hits: Vec::new(),
        dense: false,
        question_vector: None,
        foreign_terms,
        unknown_names,
        grounded: !selected.is_empty(),
        shape: intent::shape(q.text),
        definitions: Vec::new(),
    };
    if index.is_empty() {
        return out;
    }
    let in_scope = |s: &SectionDoc| q.folder.is_none_or(|f| s.folder() == f || s.folder().starts_with(&format!("{f}/")));
    // Does the question ask for a summary-like section itself ("summary of chapter 3")?
    let asks_for = |s: &SectionDoc| q.terms_hit_heading(&out.terms, s);
    // Recap and introduction sections are noise for a detail they only list, and evidence for
    // a definition, a purpose or an overview the question asks for.
    let framing_welcome = out.shape.wants_framing();
    let adjust = |i: usize, score: f32| -> f32 {
        let s = &index.sections[i];
        let mut v = score;
        let welcome = framing_welcome && s.framing != Framing::None;
        if q.demote_overviews && s.overview && !asks_for(s) && !welcome {
            v *= OVERVIEW_FACTOR;
        }
        if q.prefer_route.is_some_and(|r| r == s.route) {
            v *= CURRENT_PAGE_BOOST;
        }
        if selected.contains(&i) {
            v = v.abs() * SELECTION_BOOST + 1.0;
        }
        v
    };

    let lexical: HashMap<usize, f32> = if q.ranking == Ranking::Dense { HashMap::new() } else { index.bm25(&out.terms) };
    let mut lex_ranked: Vec<(usize, f32)> = lexical.iter().filter(|(i, _)| in_scope(&index.sections[**i])).map(|(&i, &s)| (i, s)).collect();
    lex_ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    let question_vector = match (q.ranking, embedder) {
        (Ranking::Lexical, _) | (_, None) => None,
        (_, Some(e)) if index.has_vectors() => match e.embed_one(q.text) {
            Ok(v) => Some(v),
            Err(err) => {
                tracing::warn!(error = %err, "embedding the question failed; lexical ranking only");
                None
            }
        },
        _ => None,
    };
    let dense: Vec<f32> = question_vector.as_deref().map(|v| index.dense(v)).unwrap_or_default();
    out.dense = !dense.is_empty();
    out.question_vector = question_vector;
    let mut dense_ranked: Vec<(usize, f32)> =
        dense.iter().enumerate().filter(|(i, s)| **s > f32::MIN && in_scope(&index.sections[*i])).map(|(i, &s)| (i, s)).collect();
    dense_ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    let mut fused: Vec<(usize, f32)> = match (q.ranking, out.dense) {
        (Ranking::Lexical, _) | (Ranking::Hybrid, false) => lex_ranked,
        (Ranking::Dense, _) => dense_ranked,
        (Ranking::Hybrid, true) => match q.fusion {
            Fusion::Rrf { dense_weight } => fuse(&lex_ranked, &dense_ranked, dense_weight),
            Fusion::Linear { lexical_weight, coverage_weight } => {
                let mut f = fuse_scores(&lex_ranked, &dense_ranked, lexical_weight);
                for (i, s) in f.iter_mut() {
                    *s += coverage_weight * index.coverage(*i, &out.terms);
                }
                f
            }
        },
    };
    // The passage the reader selected is evidence even when its words are not the question's.
    for &i in &selected {
        if !fused.iter().any(|(j, _)| *j == i) && in_scope(&index.sections[i]) {
            fused.push((i, 0.0));
        }
    }
    // Where the section is, after how well it matches: the reader's page first, summaries last.
    for (i, s) in fused.iter_mut() {
        *s = adjust(*i, *s);
    }
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if selected.is_empty() {
        match out.shape.intent {
            Intent::Definition => out.definitions = lead_with_definition(index, &out.terms, &out.shape, &mut fused, &in_scope),
            Intent::Overview => lead_with_framing(index, &out.shape, q.prefer_route, &mut fused),
            Intent::Purpose | Intent::Detail => {}
        }
    }
    out.hits = fused
        .into_iter()
        .take(q.limit)
        .map(|(i, score)| Hit {
            section: i,
            score,
            lexical: lexical.get(&i).copied().unwrap_or(0.0),
            dense: dense.get(i).copied().filter(|d| *d > f32::MIN).unwrap_or(0.0),
            coverage: index.coverage(i, &out.terms),
        })
        .collect();
    out
}

/// A "what is X?" question: the book's definitions of X, best first (by how well their
/// section matches the question), and the best one's section moved to the top of `fused`.
fn lead_with_definition(
    index: &BookIndex,
    terms: &QueryTerms,
    shape: &Shape,
    fused: &mut Vec<(usize, f32)>,
    in_scope: &dyn Fn(&SectionDoc) -> bool,
) -> Vec<(usize, usize, Option<usize>)> {
    // The subject as the book spells it: misspellings read as the book's words.
    let subject: Vec<String> = {
        let mut v: Vec<String> = shape
            .subject
            .iter()
            .map(|w| terms.corrections.iter().find(|(typed, _)| typed == w).map(|(_, fixed)| fixed.clone()).unwrap_or_else(|| w.clone()))
            .filter(|w| !super::text::is_stop_word(w))
            .map(|w| super::text::stem(&w))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let score_of = |i: usize| fused.iter().find(|(j, _)| *j == i).map(|(_, s)| *s).unwrap_or(f32::MIN);
    // The same words before one more or less; then how well the section matches.
    let mut found: Vec<(&glossary::Definition, u8, f32)> = index
        .definitions
        .iter()
        .filter(|d| in_scope(&index.sections[d.section]))
        .filter_map(|d| glossary::names(&d.stems, &subject).map(|c| (d, c, score_of(d.section))))
        .filter(|(_, _, s)| *s > f32::MIN)
        .collect();
    found.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.section.cmp(&b.0.section)));
    let found: Vec<(&glossary::Definition, f32)> = found.into_iter().map(|(d, _, s)| (d, s)).collect();
    if let (Some((best, _)), Some(&(_, top))) = (found.first(), fused.first()) {
        let at = fused.iter().position(|(j, _)| *j == best.section).unwrap_or(0);
        let entry = fused.remove(at);
        fused.insert(0, (entry.0, top.max(entry.1) + DEFINITION_LEAD));
    }
    found.into_iter().map(|(d, _)| (d.section, d.block, d.part)).collect()
}

/// An overview question ("what is this chapter about?", "tl;dr of X"): the page it is about
/// (the reader's page when the question only points at it, else the page of the best section),
/// its framing sections (introduction, recap) first, the best-matching first.
fn lead_with_framing(index: &BookIndex, shape: &Shape, prefer_route: Option<&str>, fused: &mut Vec<(usize, f32)>) {
    let Some(&(_, top)) = fused.first() else { return };
    let deictic = shape.subject.iter().all(|w| POINTING_WORDS.contains(&w.as_str()));
    // The page: the best of the best sections' pages, its title naming the subject counting
    // as much as half a top score ("tl;dr of the AI infrastructure module").
    let subject: Vec<String> = shape.subject.iter().filter(|w| !POINTING_WORDS.contains(&w.as_str())).map(|w| super::text::stem(w)).collect();
    let title_share = |s: &SectionDoc| {
        let title: Vec<String> = super::text::terms(&s.doc_title);
        if subject.is_empty() {
            0.0
        } else {
            subject.iter().filter(|w| title.contains(w)).count() as f32 / subject.len() as f32
        }
    };
    let route = match prefer_route {
        Some(r) if deictic => r.to_owned(),
        _ => {
            let mut best: Option<(&str, f32)> = None;
            for &(i, score) in fused.iter().take(10) {
                let s = &index.sections[i];
                let page_score = score + 0.5 * top * title_share(s);
                if best.is_none_or(|(_, b)| page_score > b) {
                    best = Some((s.route.as_str(), page_score));
                }
            }
            match best {
                Some((r, _)) => r.to_owned(),
                None => return,
            }
        }
    };
    let mut framing: Vec<(usize, f32)> = index
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.route == route && s.framing != Framing::None)
        .map(|(i, _)| (i, fused.iter().find(|(j, _)| *j == i).map(|(_, s)| *s).unwrap_or(0.0)))
        .collect();
    framing.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for (rank, (i, _)) in framing.iter().take(2).enumerate().rev() {
        fused.retain(|(j, _)| j != i);
        fused.insert(0, (*i, top + FRAMING_LEAD * (2 - rank) as f32));
    }
}

/// Words that point at the reader's page rather than name a topic ("what is this chapter about").
const POINTING_WORDS: &[&str] = &["chapter", "module", "page", "section", "lesson", "unit", "part", "article", "doc", "tutorial"];
/// How far a leading definition or framing section is put above the best score.
const DEFINITION_LEAD: f32 = 0.01;
const FRAMING_LEAD: f32 = 0.01;

/// See [`Retrieval::unknown_names`].
fn unknown_names(index: &BookIndex, question: &str, foreign: &[String], embedder: Option<&Embedder>) -> Vec<String> {
    let words: Vec<&str> = question.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let capitalised = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let mut out: Vec<String> = foreign
        .iter()
        .filter(|w| {
            let named = words.iter().skip(1).any(|q| q == w) && w.chars().any(char::is_uppercase);
            let coded = w.chars().any(|c| c.is_ascii_digit());
            let spelled_out = embedder.is_some_and(|e| e.word_pieces(&w.to_lowercase()) >= 3);
            named || coded || spelled_out
        })
        .cloned()
        .collect();
    // Runs of two or more capitalised words after the first word of the question.
    let mut run: Vec<String> = Vec::new();
    for w in words.iter().skip(1).map(|w| Some(*w)).chain(std::iter::once(None)) {
        match w {
            Some(w) if capitalised(w) && !crate::server::answer::text::is_stop_word(&w.to_lowercase()) => run.push(w.to_owned()),
            _ => {
                let new = run.iter().any(|w| !out.contains(w));
                if run.len() >= 2 && new && !index.has_phrase(&run) {
                    out.push(run.join(" "));
                }
                run.clear();
            }
        }
    }
    out
}

/// Reciprocal-rank fusion of two rankings (best first): each section scores
/// `1 / (k + rank)` in each list it appears in, the dense list weighted by `dense_weight`.
/// Ranks, not raw scores, are fused: BM25 and cosine live on different scales.
pub fn fuse(lexical: &[(usize, f32)], dense: &[(usize, f32)], dense_weight: f32) -> Vec<(usize, f32)> {
    let mut f: HashMap<usize, f32> = HashMap::new();
    for (rank, (i, _)) in lexical.iter().enumerate() {
        *f.entry(*i).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
    }
    for (rank, (i, _)) in dense.iter().enumerate() {
        *f.entry(*i).or_default() += dense_weight / (RRF_K + rank as f32 + 1.0);
    }
    let mut v: Vec<(usize, f32)> = f.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// A weighted sum of the two scores, each scaled to [0, 1]: BM25 by the best BM25, the cosine
/// between the lowest and highest cosine among the candidates (a cosine's absolute level says
/// little across questions; its spread does).
pub fn fuse_scores(lexical: &[(usize, f32)], dense: &[(usize, f32)], lexical_weight: f32) -> Vec<(usize, f32)> {
    const CANDIDATES: usize = 100;
    let max_lex = lexical.first().map(|x| x.1).unwrap_or(0.0).max(1e-6);
    let top_dense = &dense[..dense.len().min(CANDIDATES)];
    let (lo, hi) = top_dense.iter().fold((f32::MAX, f32::MIN), |(lo, hi), (_, s)| (lo.min(*s), hi.max(*s)));
    let span = (hi - lo).max(1e-6);
    let mut f: HashMap<usize, f32> = HashMap::new();
    for (i, s) in lexical.iter().take(CANDIDATES) {
        *f.entry(*i).or_default() += lexical_weight * s / max_lex;
    }
    for (i, s) in top_dense {
        *f.entry(*i).or_default() += (1.0 - lexical_weight) * (s - lo) / span;
    }
    let mut v: Vec<(usize, f32)> = f.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl Query<'_> {
    /// Whether the question names what a section's heading names (so a summary-like section
    /// is what it asks for).
    fn terms_hit_heading(&self, terms: &QueryTerms, s: &SectionDoc) -> bool {
        !s.heading_terms.is_empty() && terms.groups.iter().any(|g| g.iter().any(|f| s.heading_terms.contains(f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Arc<BookIndex> {
        use crate::server::answer::index::SectionRow;
        use crate::server::book::{Block, BlockKind};
        let row = |heading: &str, body: &str| SectionRow {
            chunk_id: 0,
            route: "/docs/a".into(),
            source_path: "a.md".into(),
            doc_title: "A".into(),
            heading: heading.into(),
            anchor: String::new(),
            level: 2,
            path: vec![],
            blocks: vec![Block { kind: BlockKind::Paragraph, md: body.into(), text: body.into(), head: String::new(), parts: vec![], link_words: 0 }],
            vectors: vec![],
        };
        Arc::new(BookIndex::build(
            1,
            vec![row("Calibration", "Calibrate the camera and the IMU with a checkerboard."), row("Learning", "Isaac Sim trains policies with PPO. Critic and actor networks use soft updates.")],
        ))
    }

    #[test]
    fn names_the_book_never_uses_are_noticed() {
        let idx = book();
        let names = |q: &str| rank(&idx, None, &Query::new(q)).unknown_names;
        assert_eq!(names("how do I calibrate my camera with Kalibr?"), vec!["Kalibr"]);
        // Without a model every word the book lacks is foreign; capitals and digits make it a name.
        assert_eq!(names("Is ORB-SLAM3 good for a drone camera?"), vec!["ORB", "SLAM3"]);
        assert_eq!(names("can I train with Soft Actor-Critic in Isaac Sim?"), vec!["Soft Actor Critic"]);
        assert!(names("how do I calibrate the IMU in Isaac Sim?").is_empty(), "names the book uses are fine");
        assert!(names("Calibrate a camera how?").is_empty(), "a capitalised first word is not a name");
    }

    #[test]
    fn a_selected_passage_finds_its_section_and_grounds_the_answer() {
        let idx = book();
        let r = rank(&idx, None, &Query { selection: Some("trains policies"), ..Query::new("What does this mean?") });
        assert!(r.grounded);
        assert_eq!(r.hits[0].section, 1);
        let r = rank(&idx, None, &Query { selection: Some("words the book never wrote"), ..Query::new("What does this mean?") });
        assert!(!r.grounded);
    }

    #[test]
    fn fusion_rewards_agreement_and_keeps_either_sides_finds() {
        // Section 7 is 2nd for both rankings; 1 is 1st lexically only; 9 is 1st by meaning only.
        let lexical = [(1, 12.0), (7, 9.0), (3, 2.0)];
        let dense = [(9, 0.71), (7, 0.70), (1, 0.20), (4, 0.10)];
        let fused = fuse(&lexical, &dense, 1.0);
        let order: Vec<usize> = fused.iter().map(|(i, _)| *i).collect();
        assert_eq!(order[0], 1, "first lexically and third by meaning beats second in both? {fused:?}");
        assert_eq!(&order[..3], &[1, 7, 9], "{fused:?}");
        assert_eq!(order.len(), 5, "a section found by one side only is kept");
        // Weighting the dense side more puts the section both sides rank well first.
        let fused = fuse(&lexical, &dense, 2.0);
        let order: Vec<usize> = fused.iter().map(|(i, _)| *i).collect();
        assert_eq!(&order[..3], &[7, 1, 9], "{fused:?}");
        assert!(fuse(&[], &[], 1.0).is_empty());
    }
}

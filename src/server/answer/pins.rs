//! Pinned answers: an author's own answer to a group of questions (written on `/admin` from the
//! coverage-gaps report, `gaps`). A later question close enough in meaning to one of the pin's
//! questions gets the pin first — marked as the author's, with its citations — instead of an
//! answer composed from the book.
//!
//! "Close enough" is one threshold, calibrated on the development books' 180 questions and 60
//! off-topic ones (`bookchat calibrate-pins`, figures in docs/ANSWERS.md): above the closest pair
//! of one book's questions that have different answers, so a pin never answers another question
//! of those books.

use super::retrieve::Library;
use crate::model::Citation;
use crate::server::book::embed::{cosine, from_bytes, to_bytes};
use crate::server::db;
use crate::server::error::ServerResult;
use sqlx::PgPool;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The calibrated similarity (cosine of the question embeddings) for a pin to answer a
/// question, and for two gap questions to group together. On the development books the
/// closest two questions of one book with different answers are 0.675 apart; 0.1 above that
/// for books with more questions. Questions the books share, worded by different authors
/// ("what's xacro and why would I bother with it…" / "…why would I use it…", the same off-topic
/// question in two sets) are 0.855–0.983: all above it.
pub const PIN_SIMILARITY: f32 = 0.78;

/// How long an instance trusts its copy of the pins: one written on another instance answers
/// here within this time.
const REFRESH: Duration = Duration::from_secs(30);

/// One pinned answer as matched.
#[derive(Debug, Clone)]
pub struct Pin {
    pub id: Uuid,
    pub answer: String,
    pub citations: Vec<Citation>,
    /// The embeddings of the questions it answers (for the current model).
    pub vectors: Vec<Vec<f32>>,
    /// Its questions as compared (`gaps::normalize`): an identical wording always matches.
    pub wordings: Vec<String>,
}

/// The pin answering a question (`question`: its embedding), with its similarity.
pub fn best<'a>(pins: &'a [Pin], question: &[f32]) -> Option<(&'a Pin, f32)> {
    pins.iter()
        .filter_map(|p| p.vectors.iter().map(|v| cosine(v, question)).fold(None, |m: Option<f32>, s| Some(m.map_or(s, |m| m.max(s)))).map(|s| (p, s)))
        .filter(|(_, s)| *s >= PIN_SIMILARITY)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// This instance's copy of the pins, reloaded after `REFRESH` or when this instance changed them.
#[derive(Default)]
pub struct PinCache {
    loaded: RwLock<Option<(Instant, Arc<Vec<Pin>>)>>,
}

impl PinCache {
    /// The cached pins if still fresh.
    pub fn fresh(&self) -> Option<Arc<Vec<Pin>>> {
        let guard = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().filter(|(at, _)| at.elapsed() < REFRESH).map(|(_, p)| p.clone())
    }

    pub fn store(&self, pins: Vec<Pin>) -> Arc<Vec<Pin>> {
        let pins = Arc::new(pins);
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), pins.clone()));
        pins
    }

    /// Forget the copy (a pin was written or removed here).
    pub fn invalidate(&self) {
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The pins as this instance sees them: its copy, reloaded after `REFRESH`, every question
/// embedded with this instance's model (computed and stored when the model changed since the
/// pin was written).
pub async fn current(library: &Library, pool: &PgPool) -> ServerResult<Arc<Vec<Pin>>> {
    if let Some(p) = library.pins().fresh() {
        return Ok(p);
    }
    let embedder = library.embedder().cloned();
    let model = embedder.as_ref().map(|e| e.id().to_owned());
    let mut pins = Vec::new();
    for stored in db::pins::list(pool).await? {
        let mut vectors = Vec::new();
        let mut missing = Vec::new();
        for (q, m, v) in &stored.questions {
            match (v, m, &model) {
                (Some(v), Some(m), Some(cur)) if m == cur => vectors.push(from_bytes(v)),
                _ => missing.push(q.clone()),
            }
        }
        if let (Some(e), Some(model), false) = (&embedder, &model, missing.is_empty()) {
            let (e, texts) = (e.clone(), missing.clone());
            let embedded = tokio::task::spawn_blocking(move || e.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>())).await;
            match embedded.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
                Ok(computed) => {
                    let rows: Vec<(String, Vec<u8>)> = missing.into_iter().zip(computed.iter().map(|v| to_bytes(v))).collect();
                    if let Err(e) = db::pins::store_vectors(pool, stored.id, model, &rows).await {
                        tracing::warn!(error = %e, "storing a pin's embeddings failed (computed again next time)");
                    }
                    vectors.extend(computed);
                }
                Err(e) => tracing::warn!(error = %e, pin = %stored.id, "embedding a pin's questions failed: it matches identical wordings only"),
            }
        }
        let wordings = stored.questions.iter().map(|(q, _, _)| super::gaps::normalize(q)).collect();
        pins.push(Pin { id: stored.id, answer: stored.answer, citations: stored.citations, vectors, wordings });
    }
    Ok(library.pins().store(pins))
}

/// The pin answering `question`, if one does; `vector` is its embedding when retrieval made one
/// (embedded here otherwise). Never fails the answer: without the pins (the database hiccuped)
/// or an embedding, the book answers as usual.
pub async fn answer_for(library: &Library, pool: &PgPool, question: &str, vector: Option<&[f32]>) -> Option<Pin> {
    let pins = match current(library, pool).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "reading the pinned answers failed: answering from the book");
            return None;
        }
    };
    if pins.is_empty() {
        return None;
    }
    let wording = super::gaps::normalize(question);
    if let Some(p) = pins.iter().find(|p| p.wordings.contains(&wording)) {
        return Some(p.clone());
    }
    if let Some(v) = vector {
        return best(&pins, v).map(|(p, _)| p.clone());
    }
    let embedder = library.embedder()?.clone();
    let q = question.to_owned();
    let vector = tokio::task::spawn_blocking(move || embedder.embed_one(&q)).await.ok()?.ok()?;
    best(&pins, &vector).map(|(p, _)| p.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn the_closest_pin_above_the_threshold_answers() {
        let pin = |a: &str, vs: Vec<Vec<f32>>| Pin { id: Uuid::new_v4(), answer: a.into(), citations: vec![], vectors: vs, wordings: vec![] };
        let pins = vec![pin("far", vec![unit(&[0.0, 1.0])]), pin("near", vec![unit(&[1.0, 0.2]), unit(&[0.0, 1.0])])];
        let (p, s) = best(&pins, &unit(&[1.0, 0.1])).expect("a match");
        assert_eq!(p.answer, "near");
        assert!(s > 0.99);
        // Halfway between: below the threshold, no pin.
        assert!(best(&pins[..1], &unit(&[1.0, 1.0])).is_none());
        assert!(best(&[], &unit(&[1.0, 0.0])).is_none());
    }
}

//! Answering questions from the book: retrieve passages, then compose a grounded answer.

pub mod compose;
pub mod retrieve;

use crate::error::AppError;
use crate::model::Citation;
use crate::server::config::AppConfig;
use sqlx::PgPool;

/// How many passages retrieval considers before composition picks the ones to cite.
pub const CANDIDATES: i64 = 8;

/// A finished answer, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub markdown: String,
    pub citations: Vec<Citation>,
    pub refused: bool,
    pub relevance: f32,
    pub provider: String,
}

/// The offline default: retrieve with Postgres full-text search, compose extractively.
pub async fn answer_offline(pool: &PgPool, config: &AppConfig, question: &str) -> Result<Answer, AppError> {
    let retrieval = retrieve::retrieve(pool, question, CANDIDATES, retrieve::Ranking::Bm25).await?;
    let c = compose::compose(&retrieval, |route, anchor| config.citation_url(route, anchor));
    Ok(Answer {
        markdown: c.markdown,
        citations: c.citations,
        refused: c.refused,
        relevance: c.relevance,
        provider: "extractive".to_owned(),
    })
}

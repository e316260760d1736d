//! Answering questions from the book: retrieve passages (`retrieve`), then either compose an
//! extractive answer offline (`compose`) or ask an OpenAI-compatible model (`llm`), as a
//! background job that streams, can be stopped, survives reloads and is logged (`job`).

pub mod compose;
pub mod job;
pub mod llm;
pub mod retrieve;

/// How many passages retrieval considers before composition picks the ones to cite.
pub const CANDIDATES: i64 = 8;

//! Answering questions from the book: find the sections that answer (`retrieve`, over the
//! in-memory `index`, with the word analysis of `text`, the question's `intent` and the book's
//! own definitions in `glossary`), then either quote them offline
//! (`compose`) or ask an OpenAI-compatible model (`llm`), as a
//! background job that streams, can be stopped, survives reloads and is logged (`job`).

pub mod compose;
pub mod fragment;
pub mod glossary;
pub mod gaps;
pub mod index;
pub mod intent;
pub mod pins;
pub mod job;
pub mod llm;
pub mod render;
pub mod retrieve;
pub mod text;

/// How many passages retrieval considers before composition picks the ones to cite.
pub const CANDIDATES: usize = 8;

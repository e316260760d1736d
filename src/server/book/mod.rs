//! The book: reading a Docusaurus docs folder (`parse`, with the routes and anchors Docusaurus
//! gives it in `slug` and the component data in `jsx`), the sentence-embedding model (`embed`),
//! and loading it all into Postgres (`ingest`).

pub mod embed;
pub mod ingest;
pub mod jsx;
pub mod llms;
pub mod parse;
pub mod slug;

use serde::{Deserialize, Serialize};

/// One parsed page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub source_path: String,
    pub route: String,
    pub title: String,
    /// The page top first (H1 and the text before the first `##`), then each `##`/`###`.
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: String,
    /// 1 for the page top, 2 or 3 for `##`/`###`.
    pub level: u8,
    /// The heading's id on the built page; empty for the page top (its link has no fragment).
    pub anchor: String,
    /// Headings above this one: the page title, and the `##` above a `###`.
    pub path: Vec<String>,
    pub blocks: Vec<Block>,
}

impl Section {
    /// The section's Markdown, blocks separated by blank lines.
    pub fn markdown(&self) -> String {
        self.blocks.iter().map(|b| b.md.as_str()).collect::<Vec<_>>().join("\n\n")
    }

    /// "Page › Section › Subsection": what the section is about, for search and display.
    pub fn heading_path(&self) -> String {
        let mut parts = self.path.clone();
        parts.push(self.heading.clone());
        parts.dedup();
        parts.join(" › ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Paragraph,
    List,
    OrderedList,
    Table,
    Code,
    Admonition,
    Quote,
    /// A `####` (or nested) heading inside a section, kept as a bold line.
    Heading,
}

/// One block of a section, as Markdown and as plain text. Lists and tables also keep their
/// items and rows (`parts`), so an answer can quote the ones that matter and stay a list or a
/// table; a table's header and delimiter rows are in `head`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub md: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// How many words of `text` are the text of links: a block of links is navigation (a table
    /// of contents, further reading), not an explanation.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub link_words: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub md: String,
    pub text: String,
}

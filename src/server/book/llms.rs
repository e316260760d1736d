//! The book for AI agents, in the llmstxt.org format: `/llms.txt` (the book's title, a summary
//! and one link per page with what the page is about, grouped by chapter) and `/llms-full.txt`
//! (every page's Markdown, in the book's order), generated from the ingested book — the same
//! sections the answers cite. Also the Markdown of one section or page, for the MCP server's
//! `read_section` (`server::mcp`).

use super::BlockKind;
use crate::server::answer::index::{BookIndex, SectionDoc};

/// A page's description stops at this many characters (a sentence or two: what an agent needs
/// to decide whether to read it).
const DESCRIPTION_CHARS: usize = 200;

/// One page of the book: its sections in order.
pub struct Page<'a> {
    pub route: &'a str,
    pub title: &'a str,
    /// The book folder the page is in ("chapter").
    pub folder: &'a str,
    pub sections: Vec<&'a SectionDoc>,
}

/// The book's pages in source order (the index holds sections in that order).
pub fn pages(index: &BookIndex) -> Vec<Page<'_>> {
    let mut out: Vec<Page> = Vec::new();
    for s in &index.sections {
        match out.last_mut() {
            Some(p) if p.route == s.route => p.sections.push(s),
            _ => out.push(Page { route: &s.route, title: &s.doc_title, folder: s.folder(), sections: vec![s] }),
        }
    }
    out
}

/// What a page is about: its first paragraph of prose (as Docusaurus describes a page without a
/// `description`), cut at a sentence end near `DESCRIPTION_CHARS`.
pub fn description(page: &Page) -> String {
    let first = page
        .sections
        .iter()
        .flat_map(|s| s.blocks.iter())
        .find(|b| b.kind == BlockKind::Paragraph && b.link_words == 0 && b.text.split_whitespace().count() >= 6)
        .map(|b| b.text.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    if first.chars().count() <= DESCRIPTION_CHARS {
        return first;
    }
    let cut: String = first.chars().take(DESCRIPTION_CHARS).collect();
    match cut.rfind(". ") {
        Some(i) if i > DESCRIPTION_CHARS / 3 => cut[..=i].to_owned(),
        _ => format!("{}…", cut.trim_end()),
    }
}

/// "03-ros2-basics" → "ROS2 basics"-like label for a folder: number prefixes dropped, dashes and
/// underscores as spaces, the first letter capitalised.
fn folder_label(folder: &str) -> String {
    let last = folder.rsplit('/').next().unwrap_or(folder);
    let trimmed = last.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '.');
    let words = if trimmed.is_empty() { last } else { trimmed }.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Markdown link text: brackets would end it early.
fn link_text(s: &str) -> String {
    s.replace('[', "(").replace(']', ")")
}

/// The book's title for agents: the configured one, else the first page's title.
fn book_title<'a>(configured: Option<&'a str>, pages: &'a [Page]) -> &'a str {
    configured.filter(|t| !t.trim().is_empty()).or_else(|| pages.first().map(|p| p.title)).unwrap_or("The book")
}

/// Both files' opening: `# Title`, then `> summary` (the first page's description) if any.
fn header(pages: &[Page<'_>], title: Option<&str>) -> String {
    let mut out = format!("# {}\n", book_title(title, pages));
    if let Some(first) = pages.first() {
        let summary = description(first);
        if !summary.is_empty() {
            out.push_str(&format!("\n> {summary}\n"));
        }
    }
    out
}

/// `/llms.txt`: `# Title`, `> summary`, then a `## Chapter` list per book folder, one
/// `- [Page](url): description` line per page. `url_for(route)` links to the page on the book's
/// own site.
pub fn llms_txt(index: &BookIndex, title: Option<&str>, url_for: impl Fn(&str) -> String) -> String {
    let pages = pages(index);
    let mut out = header(&pages, title);
    // Relative: the file is served beside this one, by BookChat and on the book's own site.
    out.push_str(&format!("\nThe whole book as Markdown: [llms-full.txt](llms-full.txt) ({} pages).\n", pages.len()));
    let mut folder: Option<&str> = None;
    for p in &pages {
        if folder != Some(p.folder) {
            folder = Some(p.folder);
            let label = if p.folder.is_empty() { "Book".to_owned() } else { folder_label(p.folder) };
            out.push_str(&format!("\n## {label}\n\n"));
        }
        let d = description(p);
        if d.is_empty() {
            out.push_str(&format!("- [{}]({})\n", link_text(p.title), url_for(p.route)));
        } else {
            out.push_str(&format!("- [{}]({}): {d}\n", link_text(p.title), url_for(p.route)));
        }
    }
    out
}

/// A section's Markdown with its heading (`#` × its level; the page top as the page's title).
pub fn section_markdown(s: &SectionDoc) -> String {
    let heading = if s.level <= 1 || s.heading.is_empty() {
        format!("# {}", s.doc_title)
    } else {
        format!("{} {}", "#".repeat(s.level.clamp(2, 6) as usize), s.heading)
    };
    let body = s.markdown();
    if body.trim().is_empty() {
        heading
    } else {
        format!("{heading}\n\n{body}")
    }
}

/// A whole page's Markdown, with its link.
pub fn page_markdown(p: &Page, url: &str) -> String {
    let mut out = String::new();
    let mut titled = false;
    for s in &p.sections {
        let md = section_markdown(s);
        titled |= s.level <= 1 || s.heading.is_empty();
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&md);
    }
    if !titled {
        out = format!("# {}\n\n{out}", p.title);
    }
    // The source link right under the title.
    match out.split_once('\n') {
        Some((first, rest)) => format!("{first}\n\nSource: {url}\n{rest}\n"),
        None => format!("{out}\n\nSource: {url}\n"),
    }
}

/// `/llms-full.txt`: the llms.txt header, then every page's Markdown in the book's order.
pub fn llms_full_txt(index: &BookIndex, title: Option<&str>, url_for: impl Fn(&str) -> String) -> String {
    let pages = pages(index);
    let mut out = header(&pages, title);
    for p in &pages {
        out.push_str("\n---\n\n");
        out.push_str(&page_markdown(p, &url_for(p.route)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_read_as_chapter_names() {
        assert_eq!(folder_label("03-ros2-basics"), "Ros2 basics");
        assert_eq!(folder_label("part-1/chapter_02_sensors"), "Chapter 02 sensors");
        assert_eq!(folder_label("intro"), "Intro");
        assert_eq!(folder_label("2024"), "2024");
    }

    #[test]
    fn link_text_cannot_close_the_link() {
        assert_eq!(link_text("Arrays [1-D]"), "Arrays (1-D)");
    }
}

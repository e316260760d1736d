//! The book's own definitions, found at index time by the ways books define terms: a bold term
//! leading a list item or paragraph ("**Embodiment**: sensors and actuators…", "**RAG** — …"),
//! a sentence that opens with the term and a copula ("URDF (Unified Robot Description Format) is
//! an XML-based standard…"), a table row whose first cell is a short term. A "what is X?"
//! question is answered from the definition of X first: in real textbooks the only prose
//! definition of a term is often a recap bullet or a chapter's opening lines, while the section
//! named after the term is code.

use super::text;
use crate::server::book::{Block, BlockKind};

/// A definition in the book.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// The defined term as written ("Physics-aware reasoning").
    pub term: String,
    /// Its stems, sorted and distinct.
    pub stems: Vec<String>,
    /// Where it is: section (index order), block, and list item or table row.
    pub section: usize,
    pub block: usize,
    pub part: Option<usize>,
}

/// Longest term a definition may name (longer is a sentence, not a term).
const MAX_TERM_WORDS: usize = 6;

/// Words a defining sentence can open with that are not the term ("This is…", "It is…").
const NOT_A_TERM: &[&str] = &[
    "this", "that", "these", "those", "it", "its", "there", "here", "they", "we", "you", "he", "she", "each", "every",
    "our", "your", "their", "what", "which", "who", "why", "how", "when", "where", "one", "another", "both", "all",
    "some", "most", "many", "such", "if", "so", "but", "and", "or",
];

/// Verbs that make "<term> <verb> …" a definition.
const COPULAS: &[&str] = &["is", "are", "refers to", "means", "stands for"];

fn stems_of(term: &str) -> Vec<String> {
    let mut s = text::terms(term);
    s.sort();
    s.dedup();
    s
}

fn term_ok(term: &str) -> bool {
    let words: Vec<String> = text::words(term).collect();
    !words.is_empty()
        && words.len() <= MAX_TERM_WORDS
        && !NOT_A_TERM.contains(&words[0].as_str())
        && !stems_of(term).is_empty()
        && words.iter().any(|w| w.chars().any(char::is_alphabetic))
}

/// A bold lead-in: `**Term**: text`, `**Term:** text`, `**Term** — text`. Returns the term.
fn bold_lead(md: &str) -> Option<String> {
    let md = strip_marker(md.trim_start());
    let rest = md.strip_prefix("**").or_else(|| md.strip_prefix("__"))?;
    let close = rest.find("**").or_else(|| rest.find("__"))?;
    let inner = rest[..close].trim();
    let after = rest[close + 2..].trim_start();
    let (term, separated) = match inner.strip_suffix(':') {
        Some(t) => (t.trim(), true),
        None => (inner, after.starts_with([':', '—', '–']) || after.starts_with("- ") || after.starts_with("-- ")),
    };
    let definition = after.trim_start_matches([':', '—', '–', '-', ' ']);
    (separated && text::words(definition).count() >= 3 && term_ok(term)).then(|| term.to_owned())
}

/// A list item's or quote's marker ("- ", "1. ", "> ").
fn strip_marker(md: &str) -> &str {
    let t = md.trim_start_matches(['>', ' ']);
    let t = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")).or_else(|| t.strip_prefix("+ ")).unwrap_or(t);
    match t.find(". ") {
        Some(i) if i <= 3 && t[..i].chars().all(|c| c.is_ascii_digit()) => &t[i + 2..],
        _ => t,
    }
}

/// "Term (ABBR) is a…", "A term is…": the term (and its parenthesis, as a second term).
fn copula_lead(text_: &str) -> Vec<String> {
    let first = text_.split(['.', '\n']).next().unwrap_or("").trim();
    for cop in COPULAS {
        let needle = format!(" {cop} ");
        let Some(at) = first.find(&needle) else { continue };
        let mut subject = first[..at].trim();
        for article in ["A ", "An ", "The ", "a ", "an ", "the "] {
            if let Some(s) = subject.strip_prefix(article) {
                subject = s;
                break;
            }
        }
        let mut out = Vec::new();
        let (main, paren) = match (subject.find('('), subject.rfind(')')) {
            (Some(o), Some(c)) if c > o => (subject[..o].trim(), Some(subject[o + 1..c].trim())),
            _ => (subject, None),
        };
        if main.contains([',', ':', ';']) || !term_ok(main) {
            return Vec::new();
        }
        out.push(main.to_owned());
        if let Some(p) = paren.filter(|p| term_ok(p)) {
            out.push(p.to_owned());
        }
        return out;
    }
    Vec::new()
}

/// "What is X?", "What are X", "What Is X" as a heading: X.
fn asked_in_heading(heading: &str) -> Option<String> {
    let h = heading.trim().trim_end_matches(['?', ':', ' ']);
    let lower = h.to_lowercase();
    ["what is ", "what are ", "what's "]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| h[p.len()..].trim().trim_start_matches("a ").trim_start_matches("an ").trim_start_matches("the ").to_owned())
        .filter(|t| term_ok(t))
}

/// The definitions in one section: its heading when it asks "What is X?" (the section's
/// opening defines X), and its blocks.
pub fn in_section(section: usize, heading: &str, blocks: &[Block]) -> Vec<Definition> {
    let mut out = Vec::new();
    if let Some(term) = asked_in_heading(heading) {
        if let Some(b) = blocks.iter().position(|b| !matches!(b.kind, BlockKind::Heading | BlockKind::Code)) {
            out.push(Definition { stems: stems_of(&term), term, section, block: b, part: None });
        }
    }
    let mut push = |term: String, block: usize, part: Option<usize>| {
        let stems = stems_of(&term);
        if !out.iter().any(|d: &Definition| d.stems == stems && d.block == block && d.part == part) {
            out.push(Definition { term, stems, section, block, part });
        }
    };
    for (b, block) in blocks.iter().enumerate() {
        match block.kind {
            BlockKind::Paragraph | BlockKind::Admonition | BlockKind::Quote => {
                if let Some(t) = bold_lead(&block.md) {
                    push(t, b, None);
                }
                for t in copula_lead(&block.text) {
                    push(t, b, None);
                }
            }
            BlockKind::List | BlockKind::OrderedList => {
                for (p, part) in block.parts.iter().enumerate() {
                    if let Some(t) = bold_lead(&part.md) {
                        push(t, b, Some(p));
                    }
                    for t in copula_lead(&part.text) {
                        push(t, b, Some(p));
                    }
                }
            }
            BlockKind::Table => {
                for (p, part) in block.parts.iter().enumerate() {
                    let first = part.md.trim().trim_start_matches('|').split('|').next().unwrap_or("").trim();
                    let first = first.trim_matches(['*', '_', '`', ' ']);
                    if text::words(first).count() <= 4 && term_ok(first) {
                        push(first.to_owned(), b, Some(p));
                    }
                }
            }
            BlockKind::Code | BlockKind::Heading => {}
        }
    }
    out
}

/// Does a definition's term name what the question asks about? Both as stems; one word more
/// or less on either side still matches ("a VLA model" ~ "VLA"), never a single shared word of
/// a longer term. `Some(2)` for the same words, `Some(1)` for one more or less.
pub fn names(definition: &[String], subject: &[String]) -> Option<u8> {
    if definition.is_empty() || subject.is_empty() {
        return None;
    }
    let shared = definition.iter().filter(|d| subject.contains(d)).count();
    let (d, s) = (definition.len(), subject.len());
    if shared == d && shared == s {
        Some(2)
    } else if shared >= 1 && shared + 1 >= d.max(s) && (shared == d || shared == s) {
        Some(1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::book::Part;

    fn para(md: &str) -> Block {
        Block { kind: BlockKind::Paragraph, md: md.into(), text: md.replace("**", ""), head: String::new(), parts: vec![], link_words: 0 }
    }

    #[test]
    fn bold_leads_copulas_and_table_rows_define_terms() {
        let list = Block {
            kind: BlockKind::OrderedList,
            md: String::new(),
            text: String::new(),
            head: String::new(),
            parts: vec![
                Part { md: "1. **Embodiment**: Sensors (cameras, LIDAR, IMU) + actuators".into(), text: "Embodiment: Sensors (cameras, LIDAR, IMU) + actuators".into() },
                Part { md: "2. **Physics-aware reasoning**: Gravity, friction, collisions constrain actions".into(), text: String::new() },
                Part { md: "3. Plain item with no term at all here".into(), text: "Plain item with no term at all here".into() },
            ],
            link_words: 0,
        };
        let blocks = vec![
            para("URDF (Unified Robot Description Format) is an XML-based standard for describing robots."),
            list,
            para("This is not a definition of anything."),
            para("**Key insight:** quantization is the architect's best friend."),
        ];
        let defs = in_section(7, "3.1 Introduction", &blocks);
        let terms: Vec<&str> = defs.iter().map(|d| d.term.as_str()).collect();
        assert_eq!(terms, ["URDF", "Unified Robot Description Format", "Embodiment", "Physics-aware reasoning", "Key insight"]);
        assert_eq!((defs[2].section, defs[2].block, defs[2].part), (7, 1, Some(0)));
    }

    #[test]
    fn a_what_is_heading_defines_its_term_by_its_opening() {
        let defs = in_section(3, "What is FrootAI?", &[para("An open course for cloud architects who build with AI.")]);
        assert_eq!(defs[0].term, "FrootAI");
        assert_eq!((defs[0].block, defs[0].part), (0, None));
    }

    #[test]
    fn a_term_matches_its_subject_give_or_take_a_word() {
        let s = |t: &str| stems_of(t);
        assert_eq!(names(&s("URDF"), &s("urdf")), Some(2));
        assert_eq!(names(&s("VLA"), &s("vla model")), Some(1));
        assert_eq!(names(&s("Physics-aware reasoning"), &s("physics aware reasoning")), Some(2));
        assert_eq!(names(&s("Robot Operating System"), &s("robot")), None, "one shared word of a longer term is not the term");
        assert_eq!(names(&s("sensor fusion"), &s("camera calibration")), None);
    }
}

//! Citations that land on the passage: a text fragment (`#anchor:~:text=start,end`, the
//! Scroll-to-Text-Fragment syntax browsers implement) names the sentence of the cited section
//! that best matches the question, so following the citation scrolls to and highlights it, not
//! just to the section's heading. A browser that finds no match (or knows no text fragments)
//! still goes to the anchor.
//!
//! The sentence comes from a paragraph or a list item (one element in the rendered page, where
//! a fragment matches reliably), as the plain text the page shows. A long sentence is named by
//! its first and last words (`start,end`), which is short and still unique enough.

use crate::server::book::{Block, BlockKind};

/// A sentence this short is named whole.
const WHOLE_WORDS: usize = 8;
/// Otherwise by this many words at its start and at its end.
const START_WORDS: usize = 5;
const END_WORDS: usize = 4;
/// Sentences shorter than this say too little to find (a lone "Yes.") and are passed over.
const MIN_WORDS: usize = 4;

/// `url` with a text fragment for `sentence` (kept as it is when there is none).
pub fn link(url: &str, sentence: Option<&str>) -> String {
    match sentence.and_then(directive) {
        Some(d) if url.contains('#') => format!("{url}:~:{d}"),
        Some(d) => format!("{url}#:~:{d}"),
        None => url.to_owned(),
    }
}

/// The `text=` directive naming `sentence`.
pub fn directive(sentence: &str) -> Option<String> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if words.len() < MIN_WORDS {
        return None;
    }
    if words.len() <= WHOLE_WORDS {
        return Some(format!("text={}", encode(&words.join(" "))));
    }
    let start = words[..START_WORDS].join(" ");
    let end = words[words.len() - END_WORDS..].join(" ");
    Some(format!("text={},{}", encode(&start), encode(&end)))
}

/// The section's sentence that best matches the question (`score` of its text), earliest on a
/// tie; from paragraphs and list items only.
pub fn best_sentence(blocks: &[Block], score: impl Fn(&str) -> f32) -> Option<String> {
    let mut best: Option<(f32, String)> = None;
    for text in blocks.iter().flat_map(candidate_texts) {
        for s in sentences(text) {
            if s.split_whitespace().count() < MIN_WORDS {
                continue;
            }
            let sc = score(s);
            if best.as_ref().is_none_or(|(b, _)| sc > *b) {
                best = Some((sc, s.to_owned()));
            }
        }
    }
    best.map(|(_, s)| s)
}

fn candidate_texts(b: &Block) -> Vec<&str> {
    match b.kind {
        BlockKind::Paragraph => vec![b.text.as_str()],
        // An item's first line: its nested lists are elements of their own.
        BlockKind::List | BlockKind::OrderedList => b.parts.iter().filter_map(|p| p.text.lines().next()).collect(),
        _ => Vec::new(),
    }
}

/// Sentences of a paragraph: split after `.`, `!` or `?` followed by a space and a capital or
/// a digit (so "e.g. this" and "v1.2" stay whole). A line break also ends one.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for i in 0..chars.len() {
            let (at, c) = chars[i];
            if !matches!(c, '.' | '!' | '?') {
                continue;
            }
            let next_is_space = chars.get(i + 1).is_some_and(|(_, n)| n.is_whitespace());
            let then_capital = chars.get(i + 2).is_some_and(|(_, n)| n.is_uppercase() || n.is_ascii_digit());
            if next_is_space && then_capital {
                out.push(line[start..at + c.len_utf8()].trim());
                start = at + c.len_utf8();
            }
        }
        out.push(line[start..].trim());
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Percent-encode for a text directive: everything but unreserved characters, and `-` too
/// (it marks a prefix or suffix in the directive's syntax).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::book::Part;

    fn block(kind: BlockKind, text: &str, parts: &[&str]) -> Block {
        Block {
            kind,
            md: text.to_owned(),
            text: text.to_owned(),
            head: String::new(),
            parts: parts.iter().map(|p| Part { md: p.to_string(), text: p.to_string() }).collect(),
            link_words: 0,
        }
    }

    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_long_sentence_is_named_by_its_first_and_last_words() {
        let d = directive("The zero-moment point is where the net moment of the ground reaction vanishes.").unwrap();
        let (start, end) = d.strip_prefix("text=").unwrap().split_once(',').unwrap();
        assert_eq!(decode(start), "The zero-moment point is where");
        assert_eq!(decode(end), "the ground reaction vanishes.");
        // The syntax characters of a directive never appear unencoded inside its parts.
        assert!(!start.contains('-') && !start.contains('&') && !end.contains(','));
    }

    #[test]
    fn a_short_sentence_is_named_whole_and_a_tiny_one_not_at_all() {
        assert_eq!(directive("Robots need sensors, really.").as_deref(), Some("text=Robots%20need%20sensors%2C%20really."));
        assert_eq!(directive("Yes, indeed."), None);
    }

    #[test]
    fn links_keep_their_anchor_and_the_page_top_gets_an_empty_one() {
        let s = "Balance comes from the feet and the hips.";
        assert!(link("https://b.org/docs/a#balance", Some(s)).starts_with("https://b.org/docs/a#balance:~:text="));
        assert!(link("https://b.org/docs/a", Some(s)).starts_with("https://b.org/docs/a#:~:text="));
        assert_eq!(link("https://b.org/docs/a", None), "https://b.org/docs/a");
        assert_eq!(link("https://b.org/docs/a", Some("Too short.")), "https://b.org/docs/a");
    }

    #[test]
    fn sentences_split_at_full_stops_but_not_inside_abbreviations_or_numbers() {
        assert_eq!(
            sentences("Use ROS 2, e.g. the Humble release. Version 2.1 is older! Why? 3 reasons.\nA new line"),
            vec!["Use ROS 2, e.g. the Humble release.", "Version 2.1 is older!", "Why?", "3 reasons.", "A new line"]
        );
    }

    #[test]
    fn the_best_matching_sentence_of_paragraphs_and_list_items_is_chosen() {
        let blocks = vec![
            block(BlockKind::Paragraph, "Robots walk on two legs. Balance is kept by the ankle strategy here.", &[]),
            block(BlockKind::Code, "balance = ankle_strategy()", &[]),
            block(BlockKind::List, "", &["The hip strategy also helps with balance and posture.\nnested item"]),
        ];
        let score = |s: &str| s.matches("balance").count() as f32 + s.matches("posture").count() as f32;
        assert_eq!(best_sentence(&blocks, score).as_deref(), Some("The hip strategy also helps with balance and posture."));
        // Nothing matches: the earliest sentence long enough to find.
        assert_eq!(best_sentence(&blocks, |_| 0.0).as_deref(), Some("Robots walk on two legs."));
        assert_eq!(best_sentence(&blocks[1..2], score), None);
    }
}

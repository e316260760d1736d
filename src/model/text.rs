//! Validated text inputs. Each `parse` is the only way to build the type.

use crate::error::{AppError, Rule};
use serde::{Deserialize, Serialize};

/// Longest question a reader may send, in characters (the database allows more for answers).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Longest conversation title, in characters (the column is VARCHAR(500)).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest selected passage a question may quote.
pub const MAX_PASSAGE_CHARS: usize = 2_000;
/// Longest history search, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Longest comment on a rated answer, in characters.
pub const MAX_COMMENT_CHARS: usize = 1_000;

/// Control characters other than tab and newlines are never meaningful in chat text and can
/// hide content or break exports and terminals.
fn has_forbidden_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
}

/// A non-blank question of at most [`MAX_MESSAGE_CHARS`] characters, trimmed, with normalised
/// line endings and no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let text = raw.replace("\r\n", "\n").replace('\r', "\n");
        let text = text.trim();
        if text.is_empty() {
            return Err(AppError::invalid(Rule::QuestionEmpty, "Type a question first."));
        }
        if has_forbidden_control(text) {
            return Err(AppError::invalid(Rule::QuestionControl, "The message contains control characters."));
        }
        let n = text.chars().count();
        if n > MAX_MESSAGE_CHARS {
            return Err(AppError::invalid(
                Rule::QuestionTooLong,
                format!("The message is {n} characters long; the limit is {MAX_MESSAGE_CHARS}."),
            ));
        }
        Ok(MessageText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A one-line conversation title of 1..=[`MAX_TITLE_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(AppError::invalid(Rule::TitleEmpty, "The title cannot be empty."));
        }
        if t.contains(['\n', '\r']) || has_forbidden_control(t) {
            return Err(AppError::invalid(Rule::TitleMultiline, "The title must be a single line of text."));
        }
        if t.chars().count() > MAX_TITLE_CHARS {
            return Err(AppError::invalid(
                Rule::TitleTooLong,
                format!("The title is limited to {MAX_TITLE_CHARS} characters."),
            ));
        }
        Ok(Title(t.to_owned()))
    }

    /// A title made from a conversation's first question: its first line, whitespace collapsed,
    /// cut at a word boundary near 60 characters with an ellipsis.
    pub fn from_question(question: &MessageText) -> Title {
        const TARGET: usize = 60;
        let first_line = question.as_str().lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let collapsed = first_line.split_whitespace().collect::<Vec<_>>().join(" ");
        let chars: Vec<char> = collapsed.chars().collect();
        let title = if chars.len() <= TARGET {
            collapsed
        } else {
            let cut: String = chars[..TARGET].iter().collect();
            let at_word = match cut.rfind(' ') {
                Some(i) if i > TARGET / 2 => cut[..i].to_owned(),
                _ => cut,
            };
            format!("{}…", at_word.trim_end_matches([',', '.', ';', ':', ' ']))
        };
        if title.is_empty() {
            Title("New conversation".to_owned())
        } else {
            Title(title)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A history search query: 1..=200 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery(String);

impl SearchQuery {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let q = raw.trim();
        if q.is_empty() {
            return Err(AppError::invalid(Rule::SearchEmpty, "Type something to search for."));
        }
        if has_forbidden_control(q) {
            return Err(AppError::invalid(Rule::SearchControl, "The search contains control characters."));
        }
        if q.chars().count() > MAX_SEARCH_CHARS {
            return Err(AppError::invalid(Rule::SearchTooLong, format!("The search is limited to {MAX_SEARCH_CHARS} characters.")));
        }
        Ok(SearchQuery(q.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_rejects_blank_and_whitespace() {
        for raw in ["", "   ", "\n\t\r\n"] {
            assert!(matches!(MessageText::parse(raw), Err(AppError::Validation { .. })), "{raw:?}");
        }
    }

    #[test]
    fn message_text_trims_and_normalises_newlines() {
        let m = MessageText::parse("  what is DDS?\r\nand QoS?  ").unwrap();
        assert_eq!(m.as_str(), "what is DDS?\nand QoS?");
    }

    #[test]
    fn message_text_limit_counts_characters_not_bytes() {
        let ok = "é".repeat(MAX_MESSAGE_CHARS);
        assert!(MessageText::parse(&ok).is_ok());
        let long = "é".repeat(MAX_MESSAGE_CHARS + 1);
        match MessageText::parse(&long) {
            Err(AppError::Validation { field, message, .. }) => {
                assert_eq!(field, "content");
                assert!(message.contains("4001"), "{message}");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn message_text_rejects_control_characters() {
        assert!(MessageText::parse("hi\u{0}there").is_err());
        assert!(MessageText::parse("bell\u{7}").is_err());
        assert!(MessageText::parse("tab\tand\nnewline").is_ok());
    }

    #[test]
    fn title_rules() {
        assert!(Title::parse(" ").is_err());
        assert!(Title::parse("two\nlines").is_err());
        assert!(Title::parse(&"x".repeat(MAX_TITLE_CHARS + 1)).is_err());
        assert_eq!(Title::parse("  ROS 2 notes ").unwrap().as_str(), "ROS 2 notes");
    }

    #[test]
    fn title_from_question_is_short_and_cut_at_a_word() {
        let q = MessageText::parse(
            "Why did ROS move away from a single master node, and what does DDS discovery replace it with?",
        )
        .unwrap();
        let t = Title::from_question(&q);
        assert!(t.as_str().chars().count() <= 61, "{}", t.as_str());
        assert!(t.as_str().ends_with('…'));
        assert!(t.as_str().starts_with("Why did ROS move away from a single master"));
        let short = MessageText::parse("What is   a digital twin?\nMore detail here").unwrap();
        assert_eq!(Title::from_question(&short).as_str(), "What is a digital twin?");
    }

    #[test]
    fn search_query_bounds() {
        assert!(SearchQuery::parse("  ").is_err());
        assert!(SearchQuery::parse(&"a".repeat(201)).is_err());
        assert_eq!(SearchQuery::parse(" lidar ").unwrap().as_str(), "lidar");
    }
}

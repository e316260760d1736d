//! What kind of answer a question asks for, read from its wording alone (English question
//! forms, nothing of any book): a detail, a definition ("what is X?"), a purpose ("why do we need
//! X?") or an overview ("what is this chapter about?", "tl;dr of X"). Retrieval uses it to decide
//! whether a chapter's recap and introduction are noise or the answer: noise for a detail they
//! only list, evidence for a definition or a purpose they state, the answer to an overview.

use super::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A specific point ("which QoS drops messages?", "how do I launch two nodes?").
    Detail,
    /// "what is X?", "what's X", "what does X mean?", "define X".
    Definition,
    /// "why do we need X?", "why use X?", "why is X so hard?", "what's the point of X?".
    Purpose,
    /// "what is X about?", "tl;dr of X", "X in a nutshell", "the main rules in short".
    Overview,
}

/// A question's intent and the words it asks about (lower-cased content words; for a
/// definition, the term defined).
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub intent: Intent,
    pub subject: Vec<String>,
}

impl Shape {
    /// Recap and introduction sections are evidence for this question, not noise.
    pub fn wants_framing(&self) -> bool {
        self.intent != Intent::Detail
    }
}

/// Phrases that ask for the gist of something.
const OVERVIEW_CUES: &[&[&str]] = &[
    &["tldr"],
    &["tl", "dr"],
    &["nutshell"],
    &["in", "short"],
    &["short", "version"],
    &["summary"],
    &["summarize"],
    &["summarise"],
    &["overview"],
    &["gist"],
    &["big", "picture"],
    &["recap"],
    &["takeaways"],
    &["main", "idea"],
    &["main", "ideas"],
    &["main", "point"],
    &["main", "points"],
    &["main", "message"],
    &["main", "advice"],
    &["main", "rules"],
    &["main", "lesson"],
    &["main", "lessons"],
    &["key", "points"],
    &["key", "ideas"],
    &["key", "lessons"],
];

/// Words that open a "what is X" question, apostrophes dropped ("what's" → "whats").
const WHAT_IS: &[&[&str]] = &[
    &["what", "is"],
    &["what", "are"],
    &["whats"],
    &["what", "s"],
    &["what", "exactly", "is"],
    &["what", "even", "is"],
    &["what", "is", "meant", "by"],
    &["who", "is"],
    &["define"],
    &["meaning", "of"],
];

/// Openings of a question about why something exists or matters.
const WHY: &[&[&str]] = &[
    &["why", "do", "we", "need"],
    &["why", "do", "i", "need"],
    &["why", "does", "anyone", "need"],
    &["why", "use"],
    &["why", "would", "i", "use"],
    &["why", "would", "you", "use"],
    &["why", "should", "i", "use"],
    &["why", "should", "i", "care"],
    &["why", "should"],
    &["why", "is"],
    &["why", "are"],
    &["why", "does"],
    &["why", "do"],
    &["whats", "the", "point", "of"],
    &["what", "is", "the", "point", "of"],
];

/// Words that leave a definition question when they follow the term ("what is X used for",
/// "what is the difference between", "what is X made of" ask for more than a definition).
const NOT_A_DEFINITION: &[&str] = &["difference", "between", "vs", "versus", "compared", "used", "made", "best", "recommended", "default", "usual", "typical"];

/// A word that only says what kind of answer is wanted ("tldr", "nutshell"): never a topic,
/// so never a name the book lacks.
pub fn is_cue_word(w: &str) -> bool {
    OVERVIEW_CUES.iter().any(|c| c.len() == 1 && c[0] == w) || matches!(w, "tl" | "dr")
}

fn starts_with(words: &[String], cue: &[&str]) -> bool {
    words.len() >= cue.len() && words.iter().zip(cue).all(|(w, c)| w == c)
}

fn contains(words: &[String], cue: &[&str]) -> bool {
    words.windows(cue.len()).any(|w| w.iter().zip(cue).all(|(a, b)| a == b))
}

/// The question's words, lower-cased, apostrophes joined ("what's" → "whats", "isn't" → "isnt").
fn question_words(q: &str) -> Vec<String> {
    let joined: String = q.chars().filter(|c| *c != '\'' && *c != '’').collect();
    text::words(&joined).collect()
}

fn content(words: &[String]) -> Vec<String> {
    words.iter().filter(|w| !text::is_stop_word(w)).cloned().collect()
}

/// Read a question's shape. Only the first clause counts ("what is X? i keep seeing it"): a
/// definition's subject is what follows the opening, up to the end of that clause.
pub fn shape(question: &str) -> Shape {
    let first_clause = question.split(['?', '.', ';', '!']).find(|c| !c.trim().is_empty()).unwrap_or(question);
    let words = question_words(first_clause);
    let all_words = question_words(question);
    let ends_with_about = words.last().is_some_and(|w| w == "about");
    if ends_with_about || OVERVIEW_CUES.iter().any(|c| contains(&all_words, c)) {
        let subject: Vec<String> = content(&words).into_iter().filter(|w| !OVERVIEW_CUES.iter().any(|c| c.contains(&w.as_str()))).collect();
        return Shape { intent: Intent::Overview, subject };
    }
    for cue in WHAT_IS {
        if starts_with(&words, cue) {
            let rest = &words[cue.len()..];
            let subject = content(rest);
            let plain = !rest.iter().any(|w| NOT_A_DEFINITION.contains(&w.as_str()));
            if plain && !subject.is_empty() && subject.len() <= 8 {
                return Shape { intent: Intent::Definition, subject };
            }
            break;
        }
    }
    for cue in WHY {
        if starts_with(&words, cue) {
            return Shape { intent: Intent::Purpose, subject: content(&words[cue.len()..]) };
        }
    }
    Shape { intent: Intent::Detail, subject: content(&words) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(q: &str) -> Intent {
        shape(q).intent
    }

    #[test]
    fn definitions_name_their_term() {
        assert_eq!(shape("what is urdf?"), Shape { intent: Intent::Definition, subject: vec!["urdf".into()] });
        assert_eq!(shape("What's a VLA model").subject, vec!["vla", "model"]);
        assert_eq!(shape("whats nitros? i keep seing it in the isaac ros stuff").subject, vec!["nitros"]);
        assert_eq!(intent("define sensor fusion"), Intent::Definition);
        // More than a definition: a comparison, a use, a recommendation.
        assert_eq!(intent("what is the difference between gzserver and gzclient?"), Intent::Detail);
        assert_eq!(intent("what is replicator used for in isaac sim?"), Intent::Detail);
        assert_eq!(intent("what queue size should I pass to create_publisher for sensor readings vs logging?"), Intent::Detail);
    }

    #[test]
    fn purposes_and_overviews() {
        assert_eq!(intent("why do we need to simulate robots at all?"), Intent::Purpose);
        assert_eq!(intent("why use unity if we already have gazebo"), Intent::Purpose);
        assert_eq!(intent("what's the llm landscape chapter about?"), Intent::Overview);
        assert_eq!(intent("tldr of the ai infrastructure module - what's the real bottleneck?"), Intent::Overview);
        assert_eq!(intent("whats the ai agents deep dive about in a nutshell?"), Intent::Overview);
        assert_eq!(shape("production ai architecture - what are the main rules in short?").subject, vec!["production", "ai", "architecture"]);
        assert_eq!(intent("how do I launch two nodes at once?"), Intent::Detail);
        assert_eq!(intent("any research I should read about grounding language models?"), Intent::Detail);
    }
}

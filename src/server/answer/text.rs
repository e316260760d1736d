//! How text becomes search terms: words (runs of letters and digits, lower-cased), English stop
//! words dropped, Snowball (Porter 2) stems — the same analysis for the book and the question —
//! plus what a reader's wording needs on top: acronyms the book defines and misspelled words.

use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// English function words (the Snowball stop list, with contractions' parts).
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "aren", "as", "at",
    "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "could",
    "couldn", "did", "didn", "do", "does", "doesn", "doing", "don", "down", "during", "each", "few", "for", "from",
    "further", "had", "hadn", "has", "hasn", "have", "haven", "having", "he", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "i", "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "ll", "m", "me",
    "more", "most", "mustn", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or",
    "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "re", "s", "same", "shan", "she", "should",
    "shouldn", "so", "some", "such", "t", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was",
    "wasn", "we", "were", "weren", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "won", "would", "wouldn", "you", "your", "yours", "yourself", "yourselves", "d", "y",
];

static STOP: LazyLock<HashSet<&'static str>> = LazyLock::new(|| STOP_WORDS.iter().copied().collect());

/// A function word, also when typed without its apostrophe ("whats", "dont", "doesnt", "im").
pub fn is_stop_word(w: &str) -> bool {
    if STOP.contains(w) {
        return true;
    }
    if matches!(w, "im" | "ive" | "id") {
        return w != "id"; // "id" is an identifier far more often than "I'd"
    }
    ["s", "t", "nt", "re", "ve", "ll", "d"]
        .iter()
        .any(|suffix| w.strip_suffix(suffix).is_some_and(|stem| stem.len() >= 3 && STOP.contains(stem)))
}

/// A function word mistyped by one letter ("wich", "shoud", "becuase"): never a search term,
/// and never a word the book lacks. Only words of four letters or more are read so.
pub fn is_stop_word_typo(w: &str) -> bool {
    let n = w.chars().count();
    n >= 4 && !is_stop_word(w) && STOP_WORDS.iter().any(|s| s.chars().count() + 1 >= n && s.chars().count() >= 4 && edit_distance_with(w, s, 1) == 1)
}

thread_local! {
    static STEMMER: Stemmer = Stemmer::create(Algorithm::English);
}

pub fn stem(word: &str) -> String {
    STEMMER.with(|s| s.stem(word).into_owned())
}

/// Lower-cased words: runs of letters and digits (`real_time_factor` is three words, as
/// "real-time factor" is in prose).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// Search terms of a text: stems of its non-stop words, in order, repeats kept.
pub fn terms(text: &str) -> Vec<String> {
    words(text).filter(|w| !is_stop_word(w)).map(|w| stem(&w)).collect()
}

/// Acronyms a text defines as "Long Form (LF)": (acronym, long form) pairs. The long form is
/// the words before the parenthesis whose initials spell the acronym ("Zero-Moment Point (ZMP)",
/// "Quality of Service (QoS)").
pub fn find_acronyms(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut consumed = 0;
    while let Some(open) = text[consumed..].find('(') {
        let start = consumed + open;
        let after = &text[start + 1..];
        let Some(close) = after.find(')') else { break };
        let acr = &after[..close];
        let upper = acr.chars().filter(char::is_ascii_uppercase).count();
        let valid = (2..=6).contains(&acr.len()) && upper >= 2 && acr.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            let before: Vec<&str> = text[..start]
                .split(|c: char| c.is_whitespace() || c == '-')
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| !w.is_empty())
                .collect();
            let letters: Vec<char> = acr.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_lowercase()).collect();
            let n = letters.len();
            if before.len() >= n {
                let tail = &before[before.len() - n..];
                let initials: Vec<char> = tail.iter().filter_map(|w| w.chars().next()).map(|c| c.to_ascii_lowercase()).collect();
                if initials == letters {
                    out.push((acr.to_owned(), tail.join(" ")));
                }
            }
        }
        consumed = start + 1;
    }
    out.sort();
    out.dedup();
    out
}

/// The everyday words a word is built from, by English inflection and prefixes: "topples" →
/// "topple", "quickest" → "quick", "rewriting" → "rewrite", "redo" → "do". A word whose base is
/// an ordinary word is ordinary too, whatever a tokenizer makes of it.
pub fn bases(word: &str) -> Vec<String> {
    let mut out = Vec::new();
    for suffix in ["ies", "es", "s", "ed", "ing", "est", "er", "ly"] {
        if let Some(b) = word.strip_suffix(suffix) {
            if b.chars().count() >= 3 {
                out.push(b.to_owned());
                out.push(format!("{b}e"));
                if suffix == "ies" {
                    out.push(format!("{b}y"));
                }
                // "stopped" → "stop"
                let mut chars: Vec<char> = b.chars().collect();
                if chars.len() >= 4 && chars[chars.len() - 1] == chars[chars.len() - 2] {
                    chars.pop();
                    out.push(chars.into_iter().collect());
                }
            }
        }
    }
    for prefix in ["re", "un", "pre", "over", "under", "out", "mis", "non", "co", "down", "up"] {
        if let Some(b) = word.strip_prefix(prefix) {
            if b.chars().count() >= 2 {
                out.push(b.to_owned());
            }
        }
    }
    out
}

/// Shortest question word that is corrected: shorter ones are too often a different real word
/// one letter away ("pari" is not "part").
pub const MIN_CORRECTED_LEN: usize = 5;

/// Edits allowed when correcting a word of `len` characters: one for short words, two from 8.
fn max_edits(len: usize) -> usize {
    if len >= 8 {
        2
    } else {
        1
    }
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions: "snesor"), with
/// a substitution costing `substitution`.
pub fn edit_distance_with(a: &str, b: &str, substitution: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { substitution };
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

pub fn edit_distance(a: &str, b: &str) -> usize {
    edit_distance_with(a, b, 1)
}

/// How many typing slips turn `word` into `candidate`, if it is a plausible misspelling of it.
/// Misspellings rarely get the first letter wrong ("tower" is not "power"), and in a short word
/// a changed letter is as likely a different real word ("bread", "break") as a slip, so short
/// words are corrected only for a dropped, doubled or swapped letter ("sensr", "depht").
pub fn typo_distance(word: &str, candidate: &str) -> Option<usize> {
    if word.chars().next() != candidate.chars().next() {
        return None;
    }
    let len = word.chars().count();
    let substitution = if len <= MIN_CORRECTED_LEN { 2 } else { 1 };
    let d = edit_distance_with(word, candidate, substitution);
    (d <= max_edits(len)).then_some(d)
}

/// The book's words as written (lower-cased, unstemmed: typos happen in words, not stems),
/// with how many sections use each, bucketed by first letter for the correction search.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    counts: HashMap<String, u32>,
    stems: HashSet<String>,
    by_first: HashMap<char, Vec<String>>,
}

impl Vocabulary {
    /// Build from each section's distinct words.
    pub fn new<'a>(sections: impl Iterator<Item = &'a HashSet<String>>) -> Vocabulary {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for words in sections {
            for w in words {
                *counts.entry(w.clone()).or_default() += 1;
            }
        }
        let stems = counts.keys().map(|w| stem(w)).collect();
        let mut by_first: HashMap<char, Vec<String>> = HashMap::new();
        for w in counts.keys() {
            if let Some(c) = w.chars().next() {
                by_first.entry(c).or_default().push(w.clone());
            }
        }
        Vocabulary { counts, stems, by_first }
    }

    pub fn contains(&self, word: &str) -> bool {
        self.counts.contains_key(word)
    }

    /// Does the book use a longer word that starts with this one ("biped" → "bipedal",
    /// "quant" → "quantization")? A clipped form of a book word is not a foreign word.
    pub fn extends(&self, prefix: &str) -> bool {
        let Some(first) = prefix.chars().next() else { return false };
        prefix.chars().count() >= 4 && self.by_first.get(&first).is_some_and(|ws| ws.iter().any(|w| w.len() > prefix.len() && w.starts_with(prefix)))
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The book's word a misspelled `word` most plausibly stands for: fewest slips, then the
    /// word the book uses most ("sensr" is "sensor", not "sense"). None for a word the book
    /// uses in some form ("crashes" for "crashed") or that has no close book word.
    pub fn correct(&self, word: &str) -> Option<String> {
        let len = word.chars().count();
        if len < MIN_CORRECTED_LEN || !word.chars().all(char::is_alphabetic) || self.contains(word) || self.stems.contains(&stem(word)) {
            return None;
        }
        let first = word.chars().next()?;
        self.by_first
            .get(&first)?
            .iter()
            .filter(|c| c.chars().count().abs_diff(len) <= 2)
            .filter_map(|c| typo_distance(word, c).map(|d| (d, c)))
            // Fewest slips; then the likelier slip — a dropped letter ("folow" is "follow",
            // not "flow"), then a swapped or wrong one, then an extra one; then the commoner
            // book word.
            .min_by(|(da, a), (db, b)| {
                da.cmp(db).then(slip_rank(len, a).cmp(&slip_rank(len, b))).then(self.counts[*b].cmp(&self.counts[*a])).then(a.cmp(b))
            })
            .map(|(_, c)| c.clone())
    }
}

/// How likely the slip is that turns a candidate of this length into a word of `len` letters
/// (lower is likelier): typists drop letters more often than they add them.
fn slip_rank(len: usize, candidate: &str) -> u8 {
    let c = candidate.chars().count();
    if c > len {
        0
    } else if c == len {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contractions_without_apostrophes_are_function_words() {
        for w in ["whats", "dont", "doesnt", "wheres", "cant", "isnt", "youre", "thats", "im", "ive"] {
            assert!(is_stop_word(w), "{w}");
        }
        for w in ["id", "robots", "nodes", "ill", "ads"] {
            assert!(!is_stop_word(w), "{w}");
        }
    }

    #[test]
    fn terms_are_stemmed_content_words() {
        assert_eq!(terms("How do the robots' sensors work?"), vec!["robot", "sensor", "work"]);
        assert_eq!(terms("real_time_factor = 0"), vec!["real", "time", "factor", "0"]);
    }

    #[test]
    fn acronyms_are_found_with_their_long_form() {
        let found = find_acronyms(
            "The Zero-Moment Point (ZMP) is key. An inertial measurement unit (IMU) drifts. \
             Quality of Service (QoS) matters. A LiDAR (light detection and ranging) sensor. (x) (ABC)",
        );
        assert_eq!(
            found,
            vec![
                ("IMU".to_owned(), "inertial measurement unit".to_owned()),
                ("QoS".to_owned(), "Quality of Service".to_owned()),
                ("ZMP".to_owned(), "Zero Moment Point".to_owned()),
            ]
        );
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions_and_swaps() {
        assert_eq!(edit_distance("sensor", "sensor"), 0);
        assert_eq!(edit_distance("sensr", "sensor"), 1);
        assert_eq!(edit_distance("snesor", "sensor"), 1);
        assert_eq!(edit_distance("franc", "frame"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("gyroscop", "gyroscopé"), 1);
    }

    #[test]
    fn plausible_misspellings_only() {
        assert_eq!(typo_distance("sensr", "sensor"), Some(1));
        assert_eq!(typo_distance("depht", "depth"), Some(1));
        assert_eq!(typo_distance("reinforcment", "reinforcement"), Some(1));
        assert_eq!(typo_distance("measurmnets", "measurements"), Some(2));
        assert_eq!(typo_distance("tower", "power"), None);
        assert_eq!(typo_distance("bread", "break"), None);
        assert_eq!(typo_distance("kinematics", "dynamics"), None);
    }

    #[test]
    fn ordinary_words_are_read_through_inflections_prefixes_and_clippings() {
        assert!(bases("topples").contains(&"topple".to_owned()));
        assert!(bases("quickest").contains(&"quick".to_owned()));
        assert!(bases("stopped").contains(&"stop".to_owned()));
        assert!(bases("redo").contains(&"do".to_owned()));
        assert!(bases("dspy").is_empty() && bases("crewai").is_empty(), "a name has no everyday base");
        let sections: Vec<HashSet<String>> = vec![["bipedal", "quantization"].iter().map(|s| s.to_string()).collect()];
        let v = Vocabulary::new(sections.iter());
        assert!(v.extends("biped") && v.extends("quant"));
        assert!(!v.extends("bipedal") && !v.extends("bip"), "the word itself, or too short a clip");
    }

    #[test]
    fn mistyped_function_words_are_function_words() {
        assert!(is_stop_word_typo("wich") && is_stop_word_typo("shoud") && is_stop_word_typo("becuase"));
        assert!(!is_stop_word_typo("which") && !is_stop_word_typo("robot") && !is_stop_word_typo("thy"));
    }

    #[test]
    fn the_vocabulary_corrects_to_the_commonest_close_word() {
        let sections: Vec<HashSet<String>> = vec![
            ["sensor", "sensors", "fusion"].iter().map(|s| s.to_string()).collect(),
            ["sensor", "sense", "crashed", "flow", "flow2"].iter().map(|s| s.to_string()).collect(),
            ["flow", "follow", "falling", "facing", "facing"].iter().map(|s| s.to_string()).collect(),
        ];
        let v = Vocabulary::new(sections.iter());
        assert_eq!(v.correct("sensr"), Some("sensor".into()));
        assert_eq!(v.correct("fusoin"), Some("fusion".into()));
        assert_eq!(v.correct("crashes"), None, "another form of a book word");
        assert_eq!(v.correct("sensor"), None);
        assert_eq!(v.correct("bake"), None, "too short to correct");
        assert_eq!(v.correct("sourdough"), None);
        // A dropped letter is the likelier slip, even to a rarer word.
        assert_eq!(v.correct("folow"), Some("follow".into()));
        assert_eq!(v.correct("faling"), Some("falling".into()));
    }
}

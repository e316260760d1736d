//! Coverage gaps, for the book's author: the questions the book could not answer well (refused,
//! rated not helpful, or answered from a section sharing little of the question), grouped so
//! that fifty wordings of one missing topic read as one line — by the section that came closest
//! (what to extend), and within it by meaning (near-duplicate questions by their embeddings).
//! Pinned answers (`pins`) match new questions with the same similarity threshold, so a pin
//! written for a group answers the questions that would have joined it.

use std::collections::HashMap;

/// Why a logged question is a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reasons {
    pub refused: u32,
    pub rated_down: u32,
    pub low_confidence: u32,
}

/// One logged question that is a gap.
#[derive(Debug, Clone)]
pub struct GapQuestion {
    pub question: String,
    /// Monday of the question's (UTC) week, as `YYYY-MM-DD`.
    pub week: String,
    pub refused: bool,
    pub rated_down: bool,
    /// The section that came closest (empty when retrieval found nothing).
    pub section_title: String,
    pub section_url: String,
}

/// Near-duplicate questions, under the section that came closest.
#[derive(Debug, Clone)]
pub struct Group {
    /// The most frequent wording (the first asked among equals).
    pub representative: String,
    /// Distinct wordings, most frequent first, with their counts.
    pub wordings: Vec<(String, u32)>,
    pub count: u32,
    pub reasons: Reasons,
    /// Questions per week (`YYYY-MM-DD` Monday), newest first.
    pub weeks: Vec<(String, u32)>,
}

/// A section and the gap groups whose questions came closest to it.
#[derive(Debug, Clone)]
pub struct SectionGaps {
    pub title: String,
    pub url: String,
    pub count: u32,
    pub groups: Vec<Group>,
}

/// A question as compared: lowercase, words only, single spaces.
pub fn normalize(q: &str) -> String {
    q.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Group gap questions: near-duplicates by meaning first — a wording joins the first group (most
/// asked first) with any wording at least `similarity` close to it, `vector(normalized)` giving a
/// wording's embedding (`None`: no model, identical wordings only) — then the groups under the
/// section that came closest to most of their questions (two wordings of one question may have
/// retrieved different sections; they are still one gap).
pub fn group<'a>(questions: &[GapQuestion], similarity: f32, vector: impl Fn(&str) -> Option<&'a [f32]>) -> Vec<SectionGaps> {
    // Normalized wording → its questions, in the order first seen (newest first).
    let mut wordings: Vec<(String, Vec<&GapQuestion>)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for q in questions {
        let key = normalize(&q.question);
        if key.is_empty() {
            continue;
        }
        match at.get(&key) {
            Some(&i) => wordings[i].1.push(q),
            None => {
                at.insert(key.clone(), wordings.len());
                wordings.push((key, vec![q]));
            }
        }
    }
    // Most asked first (stable: among equals, the newest first).
    wordings.sort_by_key(|(_, qs)| std::cmp::Reverse(qs.len()));
    let mut clusters: Vec<Vec<(String, Vec<&GapQuestion>)>> = Vec::new();
    for w in wordings {
        let home = vector(&w.0).and_then(|v| {
            clusters.iter().position(|c| c.iter().any(|(k, _)| vector(k).is_some_and(|u| crate::server::book::embed::cosine(u, v) >= similarity)))
        });
        match home {
            Some(i) => clusters[i].push(w),
            None => clusters.push(vec![w]),
        }
    }
    let mut sections: Vec<SectionGaps> = Vec::new();
    for cluster in clusters {
        let (title, url) = closest_section(&cluster);
        let g = summarize(cluster);
        match sections.iter_mut().find(|s| s.url == url) {
            Some(s) => {
                s.count += g.count;
                s.groups.push(g);
            }
            None => sections.push(SectionGaps { title, url, count: g.count, groups: vec![g] }),
        }
    }
    for s in &mut sections {
        s.groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    }
    sections.sort_by_key(|s| std::cmp::Reverse(s.count));
    sections
}

/// The section that came closest to most of a group's questions.
fn closest_section(cluster: &[(String, Vec<&GapQuestion>)]) -> (String, String) {
    let mut votes: Vec<((&str, &str), usize)> = Vec::new();
    for q in cluster.iter().flat_map(|(_, qs)| qs) {
        let key = (q.section_title.as_str(), q.section_url.as_str());
        match votes.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => votes.push((key, 1)),
        }
    }
    // The first among equals: the most asked wording's.
    let best = votes.iter().fold(None::<&((&str, &str), usize)>, |b, v| if b.is_none_or(|b| v.1 > b.1) { Some(v) } else { b });
    best.map(|((t, u), _)| (t.to_string(), u.to_string())).unwrap_or_default()
}

fn summarize(cluster: Vec<(String, Vec<&GapQuestion>)>) -> Group {
    let mut reasons = Reasons::default();
    let mut weeks: HashMap<String, u32> = HashMap::new();
    let mut wordings = Vec::new();
    for (_, qs) in &cluster {
        for q in qs {
            if q.refused {
                reasons.refused += 1;
            } else if q.rated_down {
                reasons.rated_down += 1;
            } else {
                reasons.low_confidence += 1;
            }
            *weeks.entry(q.week.clone()).or_default() += 1;
        }
        // Shown as first asked (the reader's own casing and punctuation).
        wordings.push((qs[0].question.trim().to_owned(), qs.len() as u32));
    }
    let count = wordings.iter().map(|(_, n)| n).sum();
    let mut weeks: Vec<(String, u32)> = weeks.into_iter().collect();
    weeks.sort_by(|a, b| b.0.cmp(&a.0));
    Group { representative: wordings[0].0.clone(), wordings, count, reasons, weeks }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str, week: &str, section: &str, refused: bool) -> GapQuestion {
        GapQuestion {
            question: text.into(),
            week: week.into(),
            refused,
            rated_down: !refused,
            section_title: section.into(),
            section_url: format!("/docs/{section}"),
        }
    }

    #[test]
    fn wordings_group_by_meaning_under_their_closest_section_counted_by_week() {
        let qs = vec![
            q("What is a quaternion?", "2026-11-30", "rotations", true),
            q("what is a quaternion", "2026-11-23", "rotations", true),
            q("Explain quaternions", "2026-11-30", "rotations", false),
            q("How do I install Gazebo on a Mac?", "2026-11-30", "rotations", true),
            q("What is a quaternion?", "2026-11-30", "sensors", true),
            q("How do I calibrate an IMU?", "2026-11-30", "sensors", true),
        ];
        // A fake embedding: every quaternion wording is one vector, everything else another.
        let near = [1.0f32, 0.0];
        let far = [0.0f32, 1.0];
        let vector = |k: &str| -> Option<&[f32]> { Some(if k.contains("quaternion") { &near[..] } else { &far[..] }) };
        let out = group(&qs, 0.9, vector);
        // The quaternion wordings are one gap, under the section most of them came closest to
        // (one retrieved "sensors"); the Gazebo question is another there; the IMU one, "far"
        // from quaternions too, joins the Gazebo group (same fake vector) under "rotations".
        assert_eq!(out.len(), 1, "{out:?}");
        let rot = &out[0];
        assert_eq!((rot.title.as_str(), rot.count), ("rotations", 6));
        assert_eq!(rot.groups.len(), 2);
        let g = &rot.groups[0];
        assert_eq!(g.count, 4);
        assert_eq!(g.representative, "What is a quaternion?");
        assert_eq!(g.wordings, vec![("What is a quaternion?".to_owned(), 3), ("Explain quaternions".to_owned(), 1)]);
        assert_eq!(g.reasons, Reasons { refused: 3, rated_down: 1, low_confidence: 0 });
        assert_eq!(g.weeks, vec![("2026-11-30".to_owned(), 3), ("2026-11-23".to_owned(), 1)]);
        // Without a model only identical wordings group, each under its own closest section.
        let plain = group(&qs, 0.9, |_| None);
        assert_eq!(plain.iter().map(|s| s.groups.len()).sum::<usize>(), 4, "{plain:?}");
        assert_eq!(plain.iter().find(|s| s.title == "sensors").map(|s| s.count), Some(1));
    }

    #[test]
    fn normalizing_drops_case_and_punctuation_only() {
        assert_eq!(normalize("  What's   a ZMP?! "), "what's a zmp");
        assert_eq!(normalize("???"), "");
    }
}

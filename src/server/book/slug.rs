//! Where Docusaurus puts a section: the route of its page and the anchor of its heading, made
//! exactly as Docusaurus makes them, so a citation link lands on the section it cites.

use std::collections::HashMap;
use std::path::Path;
use unicode_general_category::{get_general_category, GeneralCategory as G};

/// Would GitHub's slugger (which Docusaurus uses for heading ids) drop this character? It keeps
/// letters, marks, decimal and letter numbers, connector punctuation (`_`), `-` and the plain
/// space, plus anything alphabetic in another category; everything else goes: other punctuation,
/// symbols (emoji included), other numbers (`²`), controls, formats and other separators.
fn slug_drops(c: char) -> bool {
    if c == ' ' || c == '-' || c.is_alphabetic() {
        return false;
    }
    matches!(
        get_general_category(c),
        G::OtherNumber
            | G::ClosePunctuation
            | G::FinalPunctuation
            | G::InitialPunctuation
            | G::OpenPunctuation
            | G::OtherPunctuation
            | G::DashPunctuation
            | G::MathSymbol
            | G::CurrencySymbol
            | G::ModifierSymbol
            | G::OtherSymbol
            | G::Control
            | G::PrivateUse
            | G::Format
            | G::Unassigned
            | G::Surrogate
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
    )
}

/// One heading's slug, without de-duplication: lower-cased, dropped characters removed, each
/// space a hyphen (so "A - B" is `a---b` and a leading emoji leaves a leading hyphen).
pub fn slug(text: &str) -> String {
    text.to_lowercase().chars().filter(|&c| !slug_drops(c)).map(|c| if c == ' ' { '-' } else { c }).collect()
}

/// Heading slugs of one page, in document order: a repeated slug gets `-1`, `-2`… and a
/// generated `x-1` is itself taken, so a later literal "x 1" heading becomes `x-1-1`.
#[derive(Default)]
pub struct Slugger {
    seen: HashMap<String, usize>,
}

impl Slugger {
    pub fn slug(&mut self, text: &str) -> String {
        let base = slug(text);
        let mut result = base.clone();
        while self.seen.contains_key(&result) {
            let n = self.seen.entry(base.clone()).or_insert(0);
            *n += 1;
            result = format!("{base}-{n}");
        }
        self.seen.insert(result.clone(), 0);
        result
    }

    /// Record an explicit `{#id}` so generated slugs cannot take it.
    pub fn reserve(&mut self, id: &str) {
        self.seen.entry(id.to_owned()).or_insert(0);
    }
}

/// `## Text {#custom-id}` → ("Text", Some("custom-id")), as Docusaurus reads explicit ids.
pub fn split_custom_id(heading: &str) -> (&str, Option<&str>) {
    let t = heading.trim_end();
    if let (Some(open), true) = (t.rfind("{#"), t.ends_with('}')) {
        let id = t[open + 2..t.len() - 1].trim();
        if !id.is_empty() && !id.contains(['{', '}']) {
            return (t[..open].trim_end(), Some(id));
        }
    }
    (t, None)
}

/// Docusaurus drops `01-`, `1_`, `02.` style ordering prefixes from file and folder names (not
/// from names that only look numbered, like `2024-plan` or `1.2.3-notes`).
pub fn drop_number_prefix(name: &str) -> &str {
    let digits = name.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return name;
    }
    let rest = name[digits..].trim_start();
    let sep = rest.chars().take_while(|c| matches!(c, '-' | '_' | '.')).count();
    if sep == 0 {
        return name;
    }
    let suffix = rest[sep..].trim_start();
    // A version or date ("1.2.3", "2024-01-05") is a name, not an ordering prefix.
    let looks_versioned = suffix.chars().next().is_some_and(|c| c.is_ascii_digit());
    if suffix.is_empty() || looks_versioned {
        name
    } else {
        suffix
    }
}

/// The route Docusaurus serves a doc at: `/docs/` + its folders (number prefixes dropped) + its
/// file name without extension; `index`/`README` (or a file named like its folder) is the
/// folder's page, whatever its `id` (Docusaurus decides that by the file name, before the id);
/// front-matter `id` replaces the file name and `slug` the whole route.
pub fn docusaurus_route(rel_path: &str, fm: &HashMap<String, String>) -> String {
    let path = Path::new(rel_path);
    let raw_dirs: Vec<&str> = path
        .parent()
        .map(|p| p.components().filter_map(|c| c.as_os_str().to_str()).collect())
        .unwrap_or_default();
    let dirs: Vec<&str> = raw_dirs.iter().map(|d| drop_number_prefix(d)).collect();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let folder = if dirs.is_empty() { String::new() } else { format!("/{}", dirs.join("/")) };
    if let Some(slug) = fm.get("slug") {
        return if slug.starts_with('/') {
            let s = format!("/docs{}", slug.trim_end_matches('/'));
            s.trim_end_matches('/').to_owned()
        } else {
            format!("/docs{folder}/{}", slug.trim_end_matches('/'))
        };
    }
    let lower = stem.to_lowercase();
    let is_index = lower == "index"
        || lower == "readme"
        || raw_dirs.last().is_some_and(|d| d.to_lowercase() == lower);
    if is_index {
        return if folder.is_empty() { "/docs".into() } else { format!("/docs{folder}") };
    }
    if let Some(id) = fm.get("id") {
        return format!("/docs{folder}/{id}");
    }
    format!("/docs{folder}/{}", drop_number_prefix(stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github_slugger() {
        assert_eq!(slug("The DDS Foundation"), "the-dds-foundation");
        assert_eq!(slug("What's new in ROS 2?"), "whats-new-in-ros-2");
        assert_eq!(slug("A - B"), "a---b");
        assert_eq!(slug("Zero-Moment Point (ZMP)"), "zero-moment-point-zmp");
        // Emoji are symbols: dropped, their space stays.
        assert_eq!(slug("💡 What You'll Build"), "-what-youll-build");
        assert_eq!(slug("ROS 2 as the \"Nervous System\" of a Robot"), "ros-2-as-the-nervous-system-of-a-robot");
        assert_eq!(slug("1. Nodes: The Workers of Your Robot"), "1-nodes-the-workers-of-your-robot");
        assert_eq!(slug("snake_case & C++"), "snake_case--c");
        // Non-ASCII letters and marks stay, lower-cased.
        assert_eq!(slug("Über Café Ñandú"), "über-café-ñandú");
        assert_eq!(slug("روبوٹ کا تعارف"), "روبوٹ-کا-تعارف");
        assert_eq!(slug("x² → y"), "x--y");
    }

    #[test]
    fn repeated_headings_get_numbered_suffixes() {
        let mut s = Slugger::default();
        assert_eq!(s.slug("Summary"), "summary");
        assert_eq!(s.slug("Summary"), "summary-1");
        assert_eq!(s.slug("Summary"), "summary-2");
        assert_eq!(s.slug("Summary 1"), "summary-1-1");
        let mut s = Slugger::default();
        s.reserve("setup");
        assert_eq!(s.slug("Setup"), "setup-1");
    }

    #[test]
    fn custom_ids_are_split_off() {
        assert_eq!(split_custom_id("QoS {#qos-policies}"), ("QoS", Some("qos-policies")));
        assert_eq!(split_custom_id("Plain"), ("Plain", None));
        assert_eq!(split_custom_id("Set {a}"), ("Set {a}", None));
    }

    #[test]
    fn routes_follow_docusaurus_rules() {
        let none = HashMap::new();
        assert_eq!(
            docusaurus_route("part-2-nervous-system/chapter-6-ros2-architecture.mdx", &none),
            "/docs/part-2-nervous-system/chapter-6-ros2-architecture"
        );
        assert_eq!(docusaurus_route("01-intro/02-setup.md", &none), "/docs/intro/setup");
        assert_eq!(docusaurus_route("guide/index.mdx", &none), "/docs/guide");
        assert_eq!(docusaurus_route("guide/README.md", &none), "/docs/guide");
        assert_eq!(docusaurus_route("guide/guide.md", &none), "/docs/guide");
        assert_eq!(docusaurus_route("intro.md", &none), "/docs/intro");
        assert_eq!(docusaurus_route("notes/2024-01-05-plan.md", &none), "/docs/notes/2024-01-05-plan");
        let mut fm = HashMap::new();
        fm.insert("id".to_owned(), "custom".to_owned());
        assert_eq!(docusaurus_route("guide/03-x.md", &fm), "/docs/guide/custom");
        fm.insert("slug".to_owned(), "/abs/path".to_owned());
        assert_eq!(docusaurus_route("guide/03-x.md", &fm), "/docs/abs/path");
        fm.insert("slug".to_owned(), "rel".to_owned());
        assert_eq!(docusaurus_route("guide/03-x.md", &fm), "/docs/guide/rel");
    }

    #[test]
    fn a_folders_index_page_keeps_the_folders_route_whatever_its_id() {
        // As the Redux style guide: `style-guide/style-guide.md` with `id: style-guide`.
        let id = |v: &str| HashMap::from([("id".to_owned(), v.to_owned())]);
        assert_eq!(docusaurus_route("style-guide/style-guide.md", &id("style-guide")), "/docs/style-guide");
        assert_eq!(docusaurus_route("guide/index.mdx", &id("overview")), "/docs/guide");
        assert_eq!(docusaurus_route("README.md", &id("home")), "/docs");
        // A slug still decides.
        let fm = HashMap::from([("id".to_owned(), "x".to_owned()), ("slug".to_owned(), "start".to_owned())]);
        assert_eq!(docusaurus_route("guide/index.md", &fm), "/docs/guide/start");
    }

    #[test]
    fn number_prefixes_are_only_ordering_prefixes() {
        assert_eq!(drop_number_prefix("01-intro"), "intro");
        assert_eq!(drop_number_prefix("1_setup"), "setup");
        assert_eq!(drop_number_prefix("02. Sensors"), "Sensors");
        assert_eq!(drop_number_prefix("page-01"), "page-01");
        assert_eq!(drop_number_prefix("2024-01-05"), "2024-01-05");
        assert_eq!(drop_number_prefix("42"), "42");
    }
}

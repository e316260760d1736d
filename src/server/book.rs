//! Reading a Docusaurus book: front matter, MDX stripped to Markdown, sections split at
//! `#`/`##`/`###` headings (code fences stay inside their section), and the route and anchor
//! Docusaurus gives each section so citations open the right place.

use super::render::Slugger;
use std::collections::HashMap;
use std::path::Path;

/// One parsed page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub source_path: String,
    pub route: String,
    pub title: String,
    /// The page as Markdown with MDX-only syntax removed.
    pub markdown: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Heading text ('' for the text before the first heading).
    pub heading: String,
    /// Heading level 1..=3 (0 for the preamble).
    pub level: u8,
    pub anchor: String,
    pub body: String,
}

/// Scalar `key: value` pairs of a YAML front-matter block, and the text after it.
pub fn split_front_matter(src: &str) -> (HashMap<String, String>, &str) {
    let mut fm = HashMap::new();
    let Some(rest) = src.strip_prefix("---\n").or_else(|| src.strip_prefix("---\r\n")) else {
        return (fm, src);
    };
    let Some(end) = rest.find("\n---") else {
        return (fm, src);
    };
    for line in rest[..end].lines() {
        if line.starts_with([' ', '\t', '-']) {
            continue; // nested values and lists are not needed here
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
            if !v.is_empty() {
                fm.insert(k.trim().to_owned(), v);
            }
        }
    }
    let after = &rest[end + 4..];
    let after = after.split_once('\n').map(|(_, b)| b).unwrap_or("");
    (fm, after)
}

fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// Remove what only MDX understands — imports/exports, JSX tags, `{/* comments */}`,
/// HTML comments and admonition fences — keeping the text inside components and all code.
pub fn strip_mdx(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut in_fence = false;
    let mut in_comment = false;
    for line in md.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if in_fence {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut l = line.to_owned();
        if in_comment {
            match l.find("-->") {
                Some(i) => {
                    l = l[i + 3..].to_owned();
                    in_comment = false;
                }
                None => continue,
            }
        }
        while let Some(start) = l.find("<!--") {
            match l[start..].find("-->") {
                Some(end) => l.replace_range(start..start + end + 3, ""),
                None => {
                    l.truncate(start);
                    in_comment = true;
                }
            }
        }
        let t = l.trim_start();
        if t.starts_with("import ") || t.starts_with("export ") {
            continue;
        }
        if let Some(rest) = t.strip_prefix(":::") {
            // `:::tip Title` keeps its title as text; the closing `:::` disappears.
            let title = rest.split_once(' ').map(|(_, t)| t.trim()).unwrap_or("");
            if !title.is_empty() {
                out.push_str(&format!("**{title}**\n"));
            }
            continue;
        }
        let cleaned = strip_jsx(&l);
        if cleaned.trim().is_empty() && !l.trim().is_empty() {
            continue; // the line was only markup
        }
        out.push_str(&cleaned);
        out.push('\n');
    }
    out
}

/// Drop `<Tag ...>`, `</Tag>`, `<br/>` and `{/* ... */}` / `{expr}` spans outside inline code.
fn strip_jsx(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut in_code = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '`' {
            in_code = !in_code;
            out.push(c);
            i += 1;
            continue;
        }
        if !in_code && c == '<' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == '/') {
            if let Some(len) = chars[i..].iter().position(|&x| x == '>') {
                i += len + 1;
                continue;
            }
        }
        if !in_code && c == '{' {
            // `{#custom-id}` after a heading is kept for the anchor; comments and JSX
            // expressions are dropped; other braces are ordinary text.
            if let Some(len) = chars[i..].iter().position(|&x| x == '}') {
                let inner: String = chars[i + 1..i + len].iter().collect();
                let inner = inner.trim_start();
                if inner.starts_with("/*") || looks_like_jsx_expr(inner) {
                    i += len + 1;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn looks_like_jsx_expr(inner: &str) -> bool {
    let t = inner.trim();
    t.starts_with("props.") || t.starts_with('"') || t.starts_with('\'') || t.contains("=>")
}

/// Split Markdown into sections at `#`, `##` and `###` headings outside code fences.
pub fn split_sections(md: &str) -> Vec<Section> {
    let mut slugger = Slugger::default();
    let mut sections = vec![Section { heading: String::new(), level: 0, anchor: String::new(), body: String::new() }];
    let mut in_fence = false;
    for line in md.lines() {
        if is_fence(line) {
            in_fence = !in_fence;
        }
        let heading = if in_fence { None } else { parse_heading(line) };
        match heading {
            Some((level, text, custom)) => {
                let plain = plain_inline(&text);
                let anchor = custom.unwrap_or_else(|| slugger.slug(&plain));
                sections.push(Section { heading: plain, level, anchor, body: String::new() });
            }
            None => {
                if let Some(s) = sections.last_mut() {
                    s.body.push_str(line);
                    s.body.push('\n');
                }
            }
        }
    }
    for s in &mut sections {
        s.body = s.body.trim().to_owned();
    }
    sections.retain(|s| !(s.level == 0 && s.body.is_empty()));
    sections
}

/// `## Text {#id}` → (2, "Text", Some("id")) for levels 1..=3.
fn parse_heading(line: &str) -> Option<(u8, String, Option<String>)> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if !(1..=3).contains(&hashes) || !line[hashes..].starts_with(' ') {
        return None;
    }
    let mut text = line[hashes..].trim().trim_end_matches('#').trim().to_owned();
    let mut custom = None;
    if let (Some(open), true) = (text.rfind("{#"), text.ends_with('}')) {
        custom = Some(text[open + 2..text.len() - 1].trim().to_owned());
        text = text[..open].trim().to_owned();
    }
    Some((hashes as u8, text, custom))
}

/// Heading text as rendered: inline code ticks, emphasis markers and link targets removed.
fn plain_inline(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '*' => {}
            '[' => {}
            ']' if chars.peek() == Some(&'(') => {
                for c in chars.by_ref() {
                    if c == ')' {
                        break;
                    }
                }
            }
            ']' => {}
            _ => out.push(c),
        }
    }
    out.trim().to_owned()
}

/// Docusaurus drops `01-`, `1_`, `02.` style ordering prefixes from file and folder names.
fn drop_number_prefix(name: &str) -> &str {
    let digits = name.chars().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 {
        let rest = &name[digits..];
        if let Some(r) = rest.strip_prefix(['-', '_', '.']) {
            let r = r.trim_start();
            if !r.is_empty() {
                return r;
            }
        }
    }
    name
}

/// The route Docusaurus serves a doc at: `/docs/` + path without extension, `index` → folder,
/// number prefixes dropped, front-matter `id` replacing the file name and `slug` the route.
pub fn docusaurus_route(rel_path: &str, fm: &HashMap<String, String>) -> String {
    let path = Path::new(rel_path);
    let dirs: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| c.as_os_str().to_str())
                .map(|s| drop_number_prefix(s).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let folder = if dirs.is_empty() { String::new() } else { format!("/{}", dirs.join("/")) };
    if let Some(slug) = fm.get("slug") {
        return if slug.starts_with('/') {
            format!("/docs{}", slug.trim_end_matches('/')).trim_end_matches('/').to_owned()
        } else {
            format!("/docs{folder}/{slug}")
        };
    }
    let name = match fm.get("id") {
        Some(id) => id.clone(),
        None if stem.eq_ignore_ascii_case("index") || stem.eq_ignore_ascii_case("readme") => {
            return if folder.is_empty() { "/docs".into() } else { format!("/docs{folder}") };
        }
        None => drop_number_prefix(stem).to_owned(),
    };
    format!("/docs{folder}/{name}")
}

/// Parse one page given its path relative to the book root.
pub fn parse_page(rel_path: &str, src: &str) -> Page {
    let (fm, body) = split_front_matter(src);
    let markdown = strip_mdx(body);
    let sections = split_sections(&markdown);
    let title = fm
        .get("title")
        .cloned()
        .or_else(|| sections.iter().find(|s| s.level == 1).map(|s| s.heading.clone()))
        .unwrap_or_else(|| {
            let stem = Path::new(rel_path).file_stem().and_then(|s| s.to_str()).unwrap_or("Untitled");
            drop_number_prefix(stem).replace(['-', '_'], " ")
        });
    Page {
        source_path: rel_path.to_owned(),
        route: docusaurus_route(rel_path, &fm),
        title,
        markdown,
        sections,
    }
}

/// Acronyms a text defines as "Long Form (LF)": (acronym, long form) pairs. The long form is
/// the words before the parenthesis whose initials spell the acronym ("Zero-Moment Point (ZMP)",
/// "Quality of Service (QoS)").
pub fn find_acronyms(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut consumed = 0;
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else { break };
        let acr = &after[..close];
        let upper = acr.chars().filter(char::is_ascii_uppercase).count();
        let valid = (2..=6).contains(&acr.len()) && upper >= 2 && acr.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            let before = &text[..consumed + open];
            let words: Vec<&str> = before
                .split(|c: char| c.is_whitespace() || c == '-')
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
                .filter(|w| !w.is_empty())
                .collect();
            let letters: Vec<char> = acr.chars().filter(|c| c.is_ascii_alphabetic()).map(|c| c.to_ascii_lowercase()).collect();
            let n = letters.len();
            if words.len() >= n {
                let tail = &words[words.len() - n..];
                let initials: Vec<char> = tail.iter().filter_map(|w| w.chars().next()).map(|c| c.to_ascii_lowercase()).collect();
                if initials == letters {
                    out.push((acr.to_owned(), tail.join(" ")));
                }
            }
        }
        consumed += open + 1;
        rest = &text[consumed..];
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
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

    use super::*;

    #[test]
    fn routes_follow_docusaurus_rules() {
        let none = HashMap::new();
        assert_eq!(
            docusaurus_route("part-2-nervous-system/chapter-6-ros2-architecture.mdx", &none),
            "/docs/part-2-nervous-system/chapter-6-ros2-architecture"
        );
        assert_eq!(docusaurus_route("01-intro/02-setup.md", &none), "/docs/intro/setup");
        assert_eq!(docusaurus_route("guide/index.mdx", &none), "/docs/guide");
        let mut fm = HashMap::new();
        fm.insert("id".to_owned(), "custom".to_owned());
        assert_eq!(docusaurus_route("guide/03-x.md", &fm), "/docs/guide/custom");
        fm.insert("slug".to_owned(), "/abs/path".to_owned());
        assert_eq!(docusaurus_route("guide/03-x.md", &fm), "/docs/abs/path");
    }

    #[test]
    fn front_matter_is_read_and_removed() {
        let (fm, rest) = split_front_matter("---\ntitle: \"Sensors\"\nsidebar_position: 3\ntags:\n  - a\n---\n# Body\n");
        assert_eq!(fm.get("title").map(String::as_str), Some("Sensors"));
        assert_eq!(fm.get("sidebar_position").map(String::as_str), Some("3"));
        assert_eq!(rest, "# Body\n");
    }

    #[test]
    fn mdx_syntax_is_stripped_but_code_is_kept() {
        let src = "import Tabs from '@theme/Tabs';\n\n<Tabs>\n<TabItem value=\"py\">\nSome text <b>bold</b>.\n</TabItem>\n</Tabs>\n{/* hidden */}\n<!-- note -->\n```jsx\n<Tabs>keep</Tabs>\nimport x from 'y';\n```\n:::tip Remember\nBody\n:::\n";
        let out = strip_mdx(src);
        assert!(!out.contains("import Tabs"), "{out}");
        assert!(!out.contains("<TabItem"), "{out}");
        assert!(out.contains("Some text bold."), "{out}");
        assert!(!out.contains("hidden"), "{out}");
        assert!(!out.contains("note"), "{out}");
        assert!(out.contains("<Tabs>keep</Tabs>"), "{out}");
        assert!(out.contains("import x from 'y';"), "{out}");
        assert!(out.contains("**Remember**"), "{out}");
        assert!(out.contains("Body"), "{out}");
    }

    #[test]
    fn sections_split_at_headings_outside_fences() {
        let md = "Intro text.\n\n# Page\n\nLead.\n\n## The DDS Foundation\n\nDDS text.\n\n```bash\n# not a heading\n```\n\n### QoS {#qos-policies}\n\nQoS text.\n\n#### Deep\n\nstays in QoS\n";
        let s = split_sections(md);
        let heads: Vec<_> = s.iter().map(|s| (s.level, s.heading.as_str(), s.anchor.as_str())).collect();
        assert_eq!(
            heads,
            vec![(0, "", ""), (1, "Page", "page"), (2, "The DDS Foundation", "the-dds-foundation"), (3, "QoS", "qos-policies")]
        );
        assert!(s[2].body.contains("# not a heading"));
        assert!(s[3].body.contains("stays in QoS"));
    }

    #[test]
    fn page_title_falls_back_to_h1() {
        let p = parse_page("a/01-ros.md", "# ROS 2 Basics\n\ntext\n");
        assert_eq!(p.title, "ROS 2 Basics");
        assert_eq!(p.route, "/docs/a/ros");
    }
}

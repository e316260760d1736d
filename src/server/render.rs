//! Markdown to HTML, always through a real sanitiser (ammonia) before it reaches a browser.

use pulldown_cmark::{html, CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::collections::HashMap;

/// Built once: the policy is fixed, and building it per call costs more than cleaning a message.
static SANITISER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.add_generic_attributes(["id"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .url_schemes(["http", "https", "mailto"].into_iter().collect());
    b
});

fn sanitiser() -> &'static ammonia::Builder<'static> {
    &SANITISER
}

fn cmark_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Render an answer (or any untrusted Markdown) to inert HTML: scripts, event handlers,
/// `javascript:` URLs and raw HTML tricks are removed; links open in a new tab.
pub fn markdown_to_safe_html(md: &str) -> String {
    let mut out = String::with_capacity(md.len() * 2);
    html::push_html(&mut out, Parser::new_ext(md, cmark_options()));
    sanitiser().clean(&out).to_string()
}

/// GitHub/Docusaurus heading slugs: lower-case, punctuation dropped, each space a hyphen;
/// repeated slugs get `-1`, `-2`… suffixes.
#[derive(Default)]
pub struct Slugger {
    seen: HashMap<String, usize>,
}

impl Slugger {
    pub fn slug(&mut self, text: &str) -> String {
        let base: String = text
            .trim()
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    Some(c.to_lowercase().collect::<String>())
                } else if c == ' ' {
                    Some("-".to_owned())
                } else {
                    None
                }
            })
            .collect();
        let mut slug = base.clone();
        let n = self.seen.entry(base.clone()).or_insert(0);
        if *n > 0 {
            slug = format!("{base}-{n}");
        }
        *n += 1;
        // A generated "x-1" must not collide with a later literal heading "x-1".
        if slug != base {
            *self.seen.entry(slug.clone()).or_insert(0) += 1;
        }
        slug
    }
}

/// Render a book page with Docusaurus-compatible heading anchors, so citation links land on the
/// section they cite. `{#custom-id}` after a heading wins over the generated slug.
pub fn book_page_html(md: &str) -> String {
    let mut slugger = Slugger::default();
    let mut events: Vec<Event> = Vec::new();
    let mut heading: Option<(HeadingLevel, Option<CowStr>, Vec<Event>)> = None;
    for ev in Parser::new_ext(md, cmark_options()) {
        match ev {
            Event::Start(Tag::Heading { level, id, .. }) => heading = Some((level, id, Vec::new())),
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, id, inner)) = heading.take() {
                    let text: String = inner
                        .iter()
                        .filter_map(|e| match e {
                            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    let anchor = match id {
                        Some(id) => id.to_string(),
                        None => slugger.slug(&text),
                    };
                    events.push(Event::Html(format!("<{level} id=\"{anchor}\">").into()));
                    events.extend(inner);
                    events.push(Event::Html(format!("</{level}>").into()));
                }
            }
            other => match heading.as_mut() {
                Some((_, _, inner)) => inner.push(other),
                None => events.push(other),
            },
        }
    }
    let mut out = String::with_capacity(md.len() * 2);
    html::push_html(&mut out, events.into_iter());
    sanitiser().clean(&out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sanitised() {
        let html = markdown_to_safe_html(
            "hi <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) **ok**",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("<strong>ok</strong>"), "{html}");
    }

    #[test]
    fn links_open_in_a_new_tab() {
        let html = markdown_to_safe_html("[docs](https://example.com/docs)");
        assert!(html.contains("target=\"_blank\""), "{html}");
        assert!(html.contains("noopener"), "{html}");
    }

    #[test]
    fn slugs_match_github_slugger() {
        let mut s = Slugger::default();
        assert_eq!(s.slug("The DDS Foundation"), "the-dds-foundation");
        assert_eq!(s.slug("What's new in ROS 2?"), "whats-new-in-ros-2");
        assert_eq!(s.slug("The DDS Foundation"), "the-dds-foundation-1");
        assert_eq!(s.slug("A - B"), "a---b");
        assert_eq!(s.slug("Zero-Moment Point (ZMP)"), "zero-moment-point-zmp");
    }

    #[test]
    fn book_pages_get_heading_anchors() {
        let html = book_page_html("# Title\n\n## Sensors and `IMU`s\n\ntext\n\n## Custom {#my-id}\n");
        assert!(html.contains("<h2 id=\"sensors-and-imus\">"), "{html}");
        assert!(html.contains("<h2 id=\"my-id\">"), "{html}");
    }
}

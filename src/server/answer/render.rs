//! Markdown to HTML, always through a real sanitiser (ammonia) before it reaches a browser.

use pulldown_cmark::{html, Options, Parser};

/// Built once: the policy is fixed, and building it per call costs more than cleaning a message.
static SANITISER: std::sync::LazyLock<ammonia::Builder<'static>> = std::sync::LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    // Images only from this server (a path, not another host): an image elsewhere is a way to
    // track who reads an answer.
    b.attribute_filter(|element, attribute, value| {
        if element == "img" && attribute == "src" && !is_local_path(value) {
            return None;
        }
        Some(value.into())
    });
    b.link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .url_schemes(["http", "https", "mailto"].into_iter().collect());
    b
});

/// Is this URL a path on this server, read as a browser reads it? Browsers drop tabs and line
/// breaks anywhere in a URL and leading spaces and controls, and take `\` for `/`:
/// `/\tracker.example/p` is `//tracker.example/p`, another host.
fn is_local_path(url: &str) -> bool {
    let read: String = url
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    read.starts_with('/') && !read.starts_with("//")
}

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

/// A book page for the demo site, from the same sections citations point at: each heading
/// carries the anchor its citations use (the page top is the `h1`), each body is sanitised.
pub fn book_page_html(sections: &[crate::server::db::documents::PageSection]) -> String {
    let mut out = String::new();
    for s in sections {
        let level = s.level.clamp(1, 3);
        let heading = html_escape(&s.heading);
        if level <= 1 || s.anchor.is_empty() {
            out.push_str(&format!("<h{level}>{heading}</h{level}>\n"));
        } else {
            out.push_str(&format!("<h{level} id=\"{}\">{heading}</h{level}>\n", html_escape(&s.anchor)));
        }
        let md = s.blocks.iter().map(|b| b.md.as_str()).collect::<Vec<_>>().join("\n\n");
        out.push_str(&markdown_to_safe_html(&md));
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_come_only_from_this_server_as_a_browser_reads_the_url() {
        for src in ["/\\tracker.example/p", "/\t/tracker.example/p", " //tracker.example/p", "\\\\tracker.example/p", "https://tracker.example/p", "//tracker.example/p"] {
            let html = markdown_to_safe_html(&format!("<img src=\"{src}\" alt=\"x\">"));
            assert!(!html.contains("tracker"), "{src:?} kept: {html}");
        }
        let html = markdown_to_safe_html("<img src=\"/img/robot.png\" alt=\"x\">");
        assert!(html.contains("src=\"/img/robot.png\""), "{html}");
    }

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
    fn book_pages_get_heading_anchors_and_answers_get_no_ids() {
        use crate::server::book::{Block, BlockKind};
        use crate::server::db::documents::PageSection;
        let para = |t: &str| Block { kind: BlockKind::Paragraph, md: t.into(), text: t.into(), head: String::new(), parts: vec![], link_words: 0 };
        let html = book_page_html(&[
            PageSection { heading: "Title".into(), level: 1, anchor: String::new(), blocks: vec![para("Intro")] },
            PageSection { heading: "Sensors & <IMU>s".into(), level: 2, anchor: "sensors--imus".into(), blocks: vec![para("text <script>x</script>")] },
        ]);
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<h2 id=\"sensors--imus\">Sensors &amp; &lt;IMU&gt;s</h2>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        // DOM clobbering: an answer cannot name elements.
        let answer = markdown_to_safe_html("<a id=\"bookchat\" name=\"x\">a</a> <div id=\"y\">b</div>");
        assert!(!answer.contains("id="), "{answer}");
        // Images from elsewhere (tracking pixels) lose their source; this server's stay.
        let answer = markdown_to_safe_html("![t](https://tracker.example/p.png) ![u](//cdn.example/q.png) ![ours](/img/robot.png)");
        assert!(!answer.contains("tracker.example") && !answer.contains("cdn.example"), "{answer}");
        assert!(answer.contains("src=\"/img/robot.png\""), "{answer}");
    }
}

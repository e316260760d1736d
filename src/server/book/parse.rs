//! A Docusaurus page read with a real MDX parser (markdown-rs): front matter, ESM, JSX
//! components (their text children and the data in their props), expressions, admonitions, GFM
//! tables. Each section keeps its content as blocks of normalised Markdown — a list stays a list,
//! a table a table — plus their plain text for search.

use super::jsx::{self, JsValue};
use super::slug::{self, Slugger};
use super::{Block, BlockKind, Page, Part, Section};
use markdown::mdast::{AlignKind, AttributeContent, AttributeValue, MdxJsxFlowElement, Node};
use markdown::{Constructs, ParseOptions};
use std::collections::HashMap;
use std::path::Path;

/// Bumped whenever parsing changes what is stored, so an unchanged book is parsed again once.
pub const PARSER_VERSION: i32 = 6;

/// What the walk over the tree produces, in document order.
enum Item {
    Heading { depth: u8, text: String, anchor: String, top_level: bool },
    Block(Block),
}

/// Parse one page given its path relative to the book root.
pub fn parse_page(rel_path: &str, src: &str) -> Page {
    let prepared = separate_admonition_fences(src);
    let tree = parse_tree(&prepared);
    let mut front_matter = HashMap::new();
    let mut walker = Walker { slugger: Slugger::default(), items: Vec::new() };
    if let Node::Root(root) = &tree {
        if let Some(Node::Yaml(y)) = root.children.first() {
            front_matter = read_front_matter(&y.value);
        }
        walker.flow(&root.children, true);
    }
    let items = walker.items;
    let title = front_matter
        .get("title")
        .cloned()
        .or_else(|| {
            items.iter().find_map(|i| match i {
                Item::Heading { depth: 1, text, .. } => Some(text.clone()),
                _ => None,
            })
        })
        .unwrap_or_else(|| {
            let stem = Path::new(rel_path).file_stem().and_then(|s| s.to_str()).unwrap_or("Untitled");
            slug::drop_number_prefix(stem).replace(['-', '_'], " ")
        });
    Page {
        source_path: rel_path.to_owned(),
        route: slug::docusaurus_route(rel_path, &front_matter),
        title: title.clone(),
        sections: sections(items, &title),
    }
}

/// MDX first (Docusaurus 3 reads `.md` as MDX too); a page that is not valid MDX is read as
/// GitHub-flavoured Markdown with raw HTML, as Docusaurus does with `format: 'detect'`.
fn parse_tree(src: &str) -> Node {
    let gfm_extras = |c: Constructs| Constructs {
        frontmatter: true,
        gfm_table: true,
        gfm_strikethrough: true,
        gfm_autolink_literal: true,
        gfm_task_list_item: true,
        gfm_footnote_definition: true,
        gfm_label_start_footnote: true,
        ..c
    };
    // ESM (`import`/`export`) is JavaScript: accept it as written, it is not content.
    let mdx = ParseOptions {
        constructs: gfm_extras(Constructs::mdx()),
        mdx_esm_parse: Some(Box::new(|_: &str| markdown::MdxSignal::Ok)),
        ..ParseOptions::mdx()
    };
    match markdown::to_mdast(src, &mdx) {
        Ok(tree) => tree,
        Err(e) => {
            tracing::debug!(error = %e, "not valid MDX; reading as Markdown");
            let gfm = ParseOptions { constructs: gfm_extras(Constructs::gfm()), ..ParseOptions::gfm() };
            markdown::to_mdast(src, &gfm).unwrap_or_else(|_| Node::Root(markdown::mdast::Root { children: vec![], position: None }))
        }
    }
}

/// Scalar `key: value` pairs of a YAML front-matter block (nested values and lists are not
/// needed: title, id and slug are scalars).
fn read_front_matter(yaml: &str) -> HashMap<String, String> {
    let mut fm = HashMap::new();
    for line in yaml.lines() {
        if line.starts_with([' ', '\t', '-', '#']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))).unwrap_or(v);
            if !v.is_empty() {
                fm.insert(k.trim().to_owned(), v.to_owned());
            }
        }
    }
    fm
}

/// Docusaurus admonitions (`:::tip Title` … `:::`) are directives, which Markdown parsers do
/// not know: a closing `:::` right after a list item would be read as part of that item. Put
/// blank lines around each fence line (outside code) so the parser sees it as its own paragraph;
/// the walk then pairs the fences up.
fn separate_admonition_fences(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 64);
    let mut fence: Option<(char, usize)> = None;
    for line in src.split_inclusive('\n') {
        let t = line.trim_start();
        let run = |ch: char| t.chars().take_while(|&c| c == ch).count();
        if let Some((ch, n)) = fence {
            if run(ch) >= n && t.trim_start_matches(ch).trim().is_empty() {
                fence = None;
            }
            out.push_str(line);
            continue;
        }
        let (ticks, tildes) = (run('`'), run('~'));
        if ticks >= 3 || tildes >= 3 {
            fence = Some(if ticks >= 3 { ('`', ticks) } else { ('~', tildes) });
            out.push_str(line);
            continue;
        }
        if admonition_fence(t.trim_end()).is_some() {
            out.push('\n');
            out.push_str(line.trim_start());
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

/// An admonition fence line: `:::` closes (None kind); `:::tip`, `:::tip Title` and
/// `:::tip[Title]` open.
fn admonition_fence(line: &str) -> Option<Option<(String, String)>> {
    let colons = line.chars().take_while(|&c| c == ':').count();
    if colons < 3 {
        return None;
    }
    let rest = line[colons..].trim();
    if rest.is_empty() {
        return Some(None);
    }
    let kind: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    if kind.is_empty() {
        return None;
    }
    let after = rest[kind.len()..].trim();
    let title = after
        .strip_prefix('[')
        .and_then(|t| t.rfind(']').map(|i| &t[..i]))
        .unwrap_or(after)
        .trim()
        .trim_start_matches('{')
        .to_owned();
    let title = if title.starts_with('#') || title.starts_with('.') { String::new() } else { title };
    Some(Some((kind.to_lowercase(), title)))
}

struct Walker {
    slugger: Slugger,
    items: Vec<Item>,
}

impl Walker {
    /// Walk flow (block) content. `top_level` is true for the page's own children: only their
    /// headings start sections; headings nested in components still take their slug (Docusaurus
    /// numbers duplicates across the whole page).
    fn flow(&mut self, nodes: &[Node], top_level: bool) {
        let mut i = 0;
        while i < nodes.len() {
            let node = &nodes[i];
            if let Some(Some((kind, title))) = paragraph_fence(node) {
                // Pair the fence with its closer (admonitions nest with longer fences, and an
                // unclosed one runs to the end of its container).
                let mut depth = 0;
                let mut end = nodes.len();
                for (j, n) in nodes.iter().enumerate().skip(i + 1) {
                    match paragraph_fence(n) {
                        Some(Some(_)) => depth += 1,
                        Some(None) if depth == 0 => {
                            end = j;
                            break;
                        }
                        Some(None) => depth -= 1,
                        None => {}
                    }
                }
                self.admonition(&kind, &title, &nodes[i + 1..end]);
                i = end + 1;
                continue;
            }
            self.node(node, top_level);
            i += 1;
        }
    }

    fn node(&mut self, node: &Node, top_level: bool) {
        match node {
            Node::Heading(h) => {
                let (text, custom) = heading_text(&h.children);
                let anchor = match custom {
                    Some(id) => {
                        self.slugger.reserve(&id);
                        id
                    }
                    None => self.slugger.slug(&text),
                };
                self.items.push(Item::Heading { depth: h.depth, text, anchor, top_level });
            }
            Node::Paragraph(p) => {
                // `<summary>Title</summary>` on its own line is an inline element in a paragraph.
                if let [Node::MdxJsxTextElement(el)] = p.children.as_slice() {
                    if el.name.as_deref() == Some("summary") {
                        let text = inline_text(&el.children);
                        if has_words(&text) {
                            self.push(Block::single(BlockKind::Paragraph, format!("**{}**", escape_text(text.trim())), text));
                        }
                        return;
                    }
                }
                let md = paragraph_md(&p.children);
                let text = inline_text(&p.children);
                if has_words(&text) {
                    self.push(with_link_words(Block::single(BlockKind::Paragraph, md, text), node));
                }
            }
            Node::List(_) => {
                if let Some(b) = list_block(node) {
                    self.push(with_link_words(b, node));
                }
            }
            Node::Table(t) => {
                if let Some(b) = table_block(&t.children, &t.align) {
                    self.push(with_link_words(b, node));
                }
            }
            Node::Code(c) => {
                if !c.value.trim().is_empty() {
                    self.push(Block::single(BlockKind::Code, code_md(&c.value, c.lang.as_deref(), c.meta.as_deref()), c.value.clone()));
                }
            }
            Node::Blockquote(q) => {
                let md = quote_md(&blocks_md(&q.children));
                let text = flow_text(&q.children);
                if has_words(&text) {
                    self.push(Block::single(BlockKind::Quote, md, text));
                }
            }
            Node::Html(h) => {
                let text = strip_tags(&h.value);
                if has_words(&text) {
                    self.push(Block::single(BlockKind::Paragraph, escape_text(&text), text));
                }
            }
            Node::MdxJsxFlowElement(el) => self.component(el, top_level),
            Node::MdxFlowExpression(e) => {
                // `{"text"}` or `{`text`}` is literal text; comments and code are not.
                if let Some(JsValue::Str(s)) = jsx::parse(&e.value) {
                    self.markdown_string(&s);
                }
            }
            Node::FootnoteDefinition(f) => self.flow(&f.children, false),
            // Front matter, imports/exports, thematic breaks, definitions, math: not prose.
            _ => {}
        }
        let _ = top_level;
    }

    fn push(&mut self, b: Block) {
        self.items.push(Item::Block(b));
    }

    fn admonition(&mut self, kind: &str, title: &str, body: &[Node]) {
        let label = {
            let mut k = kind.to_owned();
            if let Some(f) = k.get_mut(0..1) {
                f.make_ascii_uppercase();
            }
            if title.is_empty() {
                k
            } else {
                format!("{k}: {title}")
            }
        };
        // The admonition's own blocks, collected by a nested walk (headings inside keep their
        // slugs in this page's sequence).
        let mut inner = Walker { slugger: std::mem::take(&mut self.slugger), items: Vec::new() };
        inner.flow(body, false);
        self.slugger = inner.slugger;
        let blocks: Vec<&Block> = inner.items.iter().filter_map(|i| if let Item::Block(b) = i { Some(b) } else { None }).collect();
        let content_md = blocks.iter().map(|b| b.md.as_str()).collect::<Vec<_>>().join("\n\n");
        let content_text = blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n");
        let md = if content_md.is_empty() {
            format!("> **{}**", escape_text(&label))
        } else {
            quote_md(&format!("**{}**\n\n{content_md}", escape_text(&label)))
        };
        self.push(Block::single(BlockKind::Admonition, md, format!("{label}.\n{content_text}")));
    }

    /// A JSX element: HTML-like tags are transparent; components show their data props (as
    /// text, lists and tables) and then their children.
    fn component(&mut self, el: &MdxJsxFlowElement, top_level: bool) {
        let name = el.name.as_deref().unwrap_or("");
        match name {
            // Layout wrappers (`<div class="style-guide">` around a whole page): their headings
            // are the page's own — Docusaurus gives them ids like any other — so they start
            // sections as if the wrapper were not there. Otherwise a wrapped page is one section
            // that matches every question about it.
            "div" | "section" | "article" | "main" | "header" | "footer" | "aside" | "center" => {
                self.flow(&el.children, top_level);
                return;
            }
            "summary" => {
                let text = flow_text(&el.children);
                if has_words(&text) {
                    self.push(Block::single(BlockKind::Paragraph, format!("**{}**", escape_text(text.trim())), text));
                }
                return;
            }
            "br" | "hr" | "img" | "iframe" | "video" | "audio" | "source" | "script" | "style" | "svg" => return,
            _ => {}
        }
        let is_component = name.chars().next().is_some_and(char::is_uppercase);
        if is_component {
            let code_like = name.to_lowercase().contains("code");
            let language = string_attr(el, "language").or_else(|| string_attr(el, "lang"));
            for attr in &el.attributes {
                let AttributeContent::Property(p) = attr else { continue };
                let value = match &p.value {
                    Some(AttributeValue::Literal(s)) => JsValue::Str(s.clone()),
                    Some(AttributeValue::Expression(e)) => jsx::parse(&e.value).unwrap_or(JsValue::Other),
                    None => continue,
                };
                self.prop(&p.name, &value);
            }
            // `<CodeBlock language="python">{`…`}</CodeBlock>`: the child string is code.
            if code_like {
                if let [Node::MdxFlowExpression(e)] = el.children.as_slice() {
                    if let Some(JsValue::Str(code)) = jsx::parse(&e.value) {
                        if !code.trim().is_empty() {
                            let md = code_md(code.trim_end(), language.as_deref(), None);
                            self.push(Block::single(BlockKind::Code, md, code));
                        }
                        return;
                    }
                }
            }
        }
        self.flow(&el.children, false);
    }

    /// One prop of a component, as the reader would see it rendered.
    fn prop(&mut self, key: &str, value: &JsValue) {
        if skipped_key(key) {
            return;
        }
        match value {
            JsValue::Str(s) if is_title_key(key) => {
                if has_words(s) {
                    let t = s.trim();
                    self.push(Block::single(BlockKind::Paragraph, format!("**{}**", escape_text(t)), t.to_owned()));
                }
            }
            // Short identifiers ("python", "gpu", "ubuntu") are configuration, not text.
            JsValue::Str(s) if s.split_whitespace().count() >= 3 || s.contains('\n') => self.markdown_string(s),
            JsValue::Arr(items) => {
                if let Some(b) = js_table(items) {
                    self.push(b);
                } else if let Some(b) = js_list(items) {
                    self.push(b);
                }
            }
            JsValue::Obj(fields) => {
                if let Some(b) = js_list(&[JsValue::Obj(fields.clone())]) {
                    self.push(b);
                }
            }
            _ => {}
        }
    }

    /// A string that holds Markdown (a prop or an expression): its own blocks.
    fn markdown_string(&mut self, s: &str) {
        let tree = markdown::to_mdast(s, &ParseOptions::gfm()).ok();
        if let Some(Node::Root(r)) = tree {
            self.flow(&r.children, false);
        }
    }
}

fn string_attr(el: &MdxJsxFlowElement, name: &str) -> Option<String> {
    el.attributes.iter().find_map(|a| match a {
        AttributeContent::Property(p) if p.name == name => match &p.value {
            Some(AttributeValue::Literal(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    })
}

/// Props and fields that identify or style rather than say something.
fn skipped_key(key: &str) -> bool {
    matches!(key, "id" | "key" | "className" | "class" | "style" | "src" | "href" | "to" | "icon" | "color" | "width" | "height" | "language" | "lang")
}

fn is_title_key(key: &str) -> bool {
    matches!(key, "title" | "label" | "summary" | "heading" | "name")
}

/// A paragraph that is only an admonition fence: `Some(None)` closes, `Some(Some(..))` opens.
fn paragraph_fence(node: &Node) -> Option<Option<(String, String)>> {
    let Node::Paragraph(p) = node else { return None };
    let text: String = p.children.iter().map(|c| c.to_string()).collect();
    let t = text.trim();
    if t.contains('\n') {
        return None;
    }
    admonition_fence(t)
}

/// The block with the number of its words that are link text, counted in its source node.
fn with_link_words(mut b: Block, node: &Node) -> Block {
    fn count(node: &Node) -> u32 {
        match node {
            Node::Link(l) => inline_text(&l.children).split_whitespace().count() as u32,
            Node::LinkReference(l) => inline_text(&l.children).split_whitespace().count() as u32,
            other => other.children().map_or(0, |c| c.iter().map(count).sum()),
        }
    }
    b.link_words = count(node);
    b
}

/// Build sections from the item stream: the page top (everything before the first `##`, H1
/// included) links to the page itself; each top-level `##`/`###` starts a section; deeper
/// headings stay inside theirs as bold lines.
fn sections(items: Vec<Item>, title: &str) -> Vec<Section> {
    let mut out = vec![Section { heading: title.to_owned(), level: 1, anchor: String::new(), path: Vec::new(), blocks: Vec::new() }];
    let mut h2 = String::new();
    let mut seen_h1 = false;
    for item in items {
        match item {
            Item::Heading { depth: 1, text, top_level: true, .. } if !seen_h1 && out.len() == 1 => {
                seen_h1 = true;
                out[0].heading = text;
            }
            Item::Heading { depth, text, anchor, top_level: true } if depth <= 3 => {
                let level = depth.max(2);
                if level == 2 {
                    h2 = text.clone();
                }
                let mut path = vec![title.to_owned()];
                if level == 3 && !h2.is_empty() {
                    path.push(h2.clone());
                }
                out.push(Section { heading: text, level, anchor, path, blocks: Vec::new() });
            }
            Item::Heading { text, .. } => {
                if has_words(&text) {
                    let b = Block::single(BlockKind::Heading, format!("**{}**", escape_text(&text)), text);
                    if let Some(s) = out.last_mut() {
                        s.blocks.push(b);
                    }
                }
            }
            Item::Block(b) => {
                if let Some(s) = out.last_mut() {
                    s.blocks.push(b);
                }
            }
        }
    }
    // The page top stays even when empty (its title is searchable); other empty sections
    // (a heading straight followed by a subheading) stay too, as their heading is a signpost.
    out
}

/// A heading's rendered text and its explicit `{#id}`, if any.
fn heading_text(children: &[Node]) -> (String, Option<String>) {
    let mut custom = None;
    let mut text = String::new();
    for c in children {
        match c {
            Node::MdxTextExpression(e) if e.value.trim_start().starts_with('#') => {
                custom = Some(e.value.trim().trim_start_matches('#').trim().to_owned());
            }
            other => text.push_str(&inline_text(std::slice::from_ref(other))),
        }
    }
    let text = text.trim().to_owned();
    // Without MDX, `{#id}` is plain text at the end of the heading.
    if custom.is_none() {
        if let (t, Some(id)) = slug::split_custom_id(&text) {
            return (t.to_owned(), Some(id.to_owned()));
        }
    }
    (text, custom.filter(|c| !c.is_empty()))
}

fn has_words(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

// ---------------------------------------------------------------------------------------------
// Markdown out: a normalised rendering of the tree, with MDX-only syntax gone.

/// Inline content as plain text (what a reader sees; also what search indexes).
pub(super) fn inline_text(nodes: &[Node]) -> String {
    let mut out = String::new();
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(&t.value),
            Node::InlineCode(c) => out.push_str(&c.value),
            Node::InlineMath(m) => out.push_str(&m.value),
            Node::Break(_) => out.push('\n'),
            Node::Image(i) => out.push_str(&i.alt),
            Node::Html(h) => out.push_str(&strip_tags(&h.value)),
            Node::MdxTextExpression(e) => {
                if let Some(JsValue::Str(s)) = jsx::parse(&e.value) {
                    out.push_str(&s);
                }
            }
            other => {
                if let Some(children) = other.children() {
                    out.push_str(&inline_text(children));
                }
            }
        }
    }
    out
}

/// Inline content as Markdown.
fn inline_md(nodes: &[Node], out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(&escape_text(&t.value)),
            Node::InlineCode(c) => out.push_str(&code_span(&c.value)),
            Node::InlineMath(m) => out.push_str(&code_span(&m.value)),
            Node::Emphasis(e) => wrap(out, "*", &e.children),
            Node::Strong(s) => wrap(out, "**", &s.children),
            Node::Delete(d) => wrap(out, "~~", &d.children),
            Node::Break(_) => out.push_str("\\\n"),
            Node::Link(l) => {
                let mut inner = String::new();
                inline_md(&l.children, &mut inner);
                // Only absolute links survive: a relative link means nothing outside its page.
                if (l.url.starts_with("https://") || l.url.starts_with("http://")) && !inner.trim().is_empty() {
                    out.push_str(&format!("[{}](<{}>)", inner, l.url.replace(['<', '>', '\n'], "")));
                } else {
                    out.push_str(&inner);
                }
            }
            Node::LinkReference(l) => inline_md(&l.children, out),
            Node::Image(_) | Node::ImageReference(_) | Node::FootnoteReference(_) => {}
            Node::Html(h) => out.push_str(&escape_text(&strip_tags(&h.value))),
            Node::MdxJsxTextElement(el) => inline_md(&el.children, out),
            Node::MdxTextExpression(e) => {
                if let Some(JsValue::Str(s)) = jsx::parse(&e.value) {
                    out.push_str(&escape_text(&s));
                }
            }
            other => {
                if let Some(children) = other.children() {
                    inline_md(children, out);
                }
            }
        }
    }
}

fn wrap(out: &mut String, marker: &str, children: &[Node]) {
    let mut inner = String::new();
    inline_md(children, &mut inner);
    let trimmed = inner.trim();
    if trimmed.is_empty() {
        return;
    }
    // Emphasis must hug its text: keep surrounding spaces outside the markers.
    let lead = &inner[..inner.len() - inner.trim_start().len()];
    let trail = &inner[inner.trim_end().len()..];
    out.push_str(lead);
    out.push_str(marker);
    out.push_str(trimmed);
    out.push_str(marker);
    out.push_str(trail);
}

fn code_span(code: &str) -> String {
    let longest = longest_run(code, '`');
    let ticks = "`".repeat(longest + 1);
    let pad = if code.starts_with('`') || code.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{}{pad}{ticks}", code.replace('\n', " "))
}

fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// Escape what would otherwise turn plain text into Markdown or HTML; leave everything else as
/// written (so a phrase copied from the book matches the answer's Markdown too).
pub(super) fn escape_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        match c {
            '\\' | '`' | '*' | '[' => {
                out.push('\\');
                out.push(c);
            }
            '_' => {
                let intraword = prev.is_some_and(char::is_alphanumeric) && next.is_some_and(char::is_alphanumeric);
                if !intraword {
                    out.push('\\');
                }
                out.push('_');
            }
            '<' if next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) => out.push_str("\\<"),
            '&' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// A paragraph's Markdown, with line starts that would begin another block escaped.
fn paragraph_md(children: &[Node]) -> String {
    let mut md = String::new();
    inline_md(children, &mut md);
    md.trim().lines().map(|l| escape_line_start(l.trim_start())).collect::<Vec<_>>().join("\n")
}

fn escape_line_start(line: &str) -> String {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && digits < 10 {
        let rest = &line[digits..];
        if (rest.starts_with(". ") || rest.starts_with(") ")) || rest == "." || rest == ")" {
            return format!("{}\\{}", &line[..digits], rest);
        }
    }
    let first = line.chars().next();
    let second = line.chars().nth(1);
    let block_start = match first {
        Some('#' | '>' | '|' | '=') => true,
        Some('-' | '+') => second.is_none_or(char::is_whitespace) || line.chars().all(|c| c == '-' || c == ' '),
        _ => false,
    };
    if block_start {
        format!("\\{line}")
    } else {
        line.to_owned()
    }
}

fn code_md(code: &str, lang: Option<&str>, meta: Option<&str>) -> String {
    let fence = "`".repeat(longest_run(code, '`').max(2) + 1);
    let info = [lang.unwrap_or(""), meta.unwrap_or("")].join(" ").trim().to_owned();
    format!("{fence}{info}\n{}\n{fence}", code.trim_end_matches('\n'))
}

fn quote_md(md: &str) -> String {
    md.lines().map(|l| if l.is_empty() { ">".to_owned() } else { format!("> {l}") }).collect::<Vec<_>>().join("\n")
}

/// Flow content (inside a list item, quote or admonition) as Markdown, blocks separated by a
/// blank line (or by a line break inside a tight list item).
fn blocks_md(nodes: &[Node]) -> String {
    blocks_md_sep(nodes, "\n\n")
}

fn blocks_md_sep(nodes: &[Node], sep: &str) -> String {
    let mut w = Walker { slugger: Slugger::default(), items: Vec::new() };
    w.flow(nodes, false);
    w.items
        .iter()
        .filter_map(|i| match i {
            Item::Block(b) => Some(b.md.clone()),
            Item::Heading { text, .. } => has_words(text).then(|| format!("**{}**", escape_text(text))),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// Flow content as plain text.
fn flow_text(nodes: &[Node]) -> String {
    let mut w = Walker { slugger: Slugger::default(), items: Vec::new() };
    w.flow(nodes, false);
    w.items
        .iter()
        .map(|i| match i {
            Item::Block(b) => b.text.clone(),
            Item::Heading { text, .. } => text.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn indent(md: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    let mut out = String::new();
    for (i, l) in md.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            if !l.is_empty() {
                out.push_str(&pad);
            }
        }
        out.push_str(l);
    }
    out
}

/// A list as a block whose parts are its items, each with its true marker (ordered lists keep
/// their numbers, so a run of items quoted alone still reads "3.", "4.").
fn list_block(node: &Node) -> Option<Block> {
    let Node::List(list) = node else { return None };
    let start = list.start.unwrap_or(1) as usize;
    let mut parts = Vec::new();
    for (i, item) in list.children.iter().enumerate() {
        let Node::ListItem(li) = item else { continue };
        let marker = if list.ordered { format!("{}.", start + i) } else { "-".to_owned() };
        let check = match li.checked {
            Some(true) => "[x] ",
            Some(false) => "[ ] ",
            None => "",
        };
        let body = blocks_md_sep(&li.children, if li.spread { "\n\n" } else { "\n" });
        let text = flow_text(&li.children);
        if !has_words(&text) && body.is_empty() {
            continue;
        }
        let md = format!("{marker} {check}{}", indent(&body, marker.len() + 1));
        parts.push(Part { md, text });
    }
    if parts.is_empty() {
        return None;
    }
    let sep = if list.spread { "\n\n" } else { "\n" };
    let md = parts.iter().map(|p| p.md.as_str()).collect::<Vec<_>>().join(sep);
    let text = parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n");
    Some(Block { kind: if list.ordered { BlockKind::OrderedList } else { BlockKind::List }, md, text, head: String::new(), parts, link_words: 0 })
}

fn table_block(rows: &[Node], align: &[AlignKind]) -> Option<Block> {
    let cells = |row: &Node| -> Vec<(String, String)> {
        let Node::TableRow(r) = row else { return Vec::new() };
        r.children
            .iter()
            .map(|c| {
                let children = c.children().map(Vec::as_slice).unwrap_or(&[]);
                let mut md = String::new();
                inline_md(children, &mut md);
                (md.replace('\n', " ").replace('|', "\\|").trim().to_owned(), inline_text(children).replace('\n', " ").trim().to_owned())
            })
            .collect()
    };
    let (head, body) = rows.split_first()?;
    let header = cells(head);
    let delim: Vec<&str> = (0..header.len())
        .map(|i| match align.get(i) {
            Some(AlignKind::Left) => ":--",
            Some(AlignKind::Right) => "--:",
            Some(AlignKind::Center) => ":-:",
            _ => "---",
        })
        .collect();
    let head_md = format!("| {} |\n| {} |", header.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(" | "), delim.join(" | "));
    let head_text = header.iter().map(|c| c.1.as_str()).collect::<Vec<_>>().join(" | ");
    table_from_cells(head_md, head_text, body.iter().map(cells).collect())
}

fn table_from_cells(head_md: String, head_text: String, rows: Vec<Vec<(String, String)>>) -> Option<Block> {
    let parts: Vec<Part> = rows
        .into_iter()
        .filter(|r| r.iter().any(|c| has_words(&c.1)))
        .map(|r| Part {
            md: format!("| {} |", r.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(" | ")),
            text: r.iter().map(|c| c.1.as_str()).collect::<Vec<_>>().join(" | "),
        })
        .collect();
    if parts.is_empty() && !has_words(&head_text) {
        return None;
    }
    let md = std::iter::once(head_md.as_str()).chain(parts.iter().map(|p| p.md.as_str())).collect::<Vec<_>>().join("\n");
    let text = std::iter::once(head_text.as_str()).chain(parts.iter().map(|p| p.text.as_str())).collect::<Vec<_>>().join("\n");
    Some(Block { kind: BlockKind::Table, md, text, head: head_md, parts, link_words: 0 })
}

/// An array of records with the same scalar fields, as a table (columns in first-seen order;
/// fields holding lists make it a list instead).
fn js_table(items: &[JsValue]) -> Option<Block> {
    if items.len() < 2 {
        return None;
    }
    let mut columns: Vec<String> = Vec::new();
    for it in items {
        let JsValue::Obj(fields) = it else { return None };
        for (k, v) in fields {
            if matches!(v, JsValue::Arr(_)) {
                return None;
            }
            let shown = v.scalar_text().is_some_and(|t| has_words(&t));
            if shown && !skipped_key(k) && !columns.contains(k) {
                columns.push(k.clone());
            }
        }
    }
    if columns.len() < 2 {
        return None;
    }
    let head_md = format!(
        "| {} |\n| {} |",
        columns.iter().map(|c| escape_text(&jsx::humanize_key(c))).collect::<Vec<_>>().join(" | "),
        vec!["---"; columns.len()].join(" | ")
    );
    let head_text = columns.iter().map(|c| jsx::humanize_key(c)).collect::<Vec<_>>().join(" | ");
    let rows = items
        .iter()
        .map(|it| {
            let JsValue::Obj(fields) = it else { return Vec::new() };
            columns
                .iter()
                .map(|c| {
                    let t = fields.iter().find(|(k, _)| k == c).and_then(|(_, v)| v.scalar_text()).unwrap_or_default();
                    let t = t.replace('\n', " ");
                    (cell_md(&t), t)
                })
                .collect()
        })
        .collect();
    table_from_cells(head_md, head_text, rows)
}

/// A prop string in a table cell: its inline Markdown (backticks stay code), pipes escaped.
fn cell_md(s: &str) -> String {
    let mut md = String::new();
    if let Ok(Node::Root(r)) = markdown::to_mdast(s, &ParseOptions::gfm()) {
        if let Some(Node::Paragraph(p)) = r.children.first() {
            inline_md(&p.children, &mut md);
        }
    }
    if md.is_empty() {
        md = escape_text(s);
    }
    md.replace('|', "\\|")
}

/// Records or strings as a bullet list: a record's scalar fields as `**Field:** value` lines,
/// its nested lists as sub-lists.
fn js_list(items: &[JsValue]) -> Option<Block> {
    let parts: Vec<Part> = items.iter().filter_map(js_item).collect();
    if parts.is_empty() {
        return None;
    }
    let md = parts.iter().map(|p| p.md.as_str()).collect::<Vec<_>>().join("\n");
    let text = parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n");
    Some(Block { kind: BlockKind::List, md, text, head: String::new(), parts, link_words: 0 })
}

fn js_item(v: &JsValue) -> Option<Part> {
    let (md, text) = js_md(v)?;
    Some(Part { md: format!("- {}", indent(&md, 2)), text })
}

/// Markdown and text of one value in a list.
fn js_md(v: &JsValue) -> Option<(String, String)> {
    match v {
        JsValue::Str(_) | JsValue::Num(_) | JsValue::Bool(_) => {
            let t = v.scalar_text()?;
            has_words(&t).then(|| (cell_md(&t).replace("\\|", "|"), t))
        }
        JsValue::Arr(items) => {
            let parts: Vec<Part> = items.iter().filter_map(js_item).collect();
            (!parts.is_empty()).then(|| {
                (
                    parts.iter().map(|p| p.md.as_str()).collect::<Vec<_>>().join("\n"),
                    parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n"),
                )
            })
        }
        JsValue::Obj(fields) => {
            // Scalar fields form one paragraph (one field per line); a nested list gets its
            // own paragraph, so what follows it is not swallowed by its last item.
            let mut chunks: Vec<String> = Vec::new();
            let mut scalars: Vec<String> = Vec::new();
            let mut texts = Vec::new();
            for (k, v) in fields {
                if skipped_key(k) {
                    continue;
                }
                let Some((md, text)) = js_md(v) else { continue };
                let label = jsx::humanize_key(k);
                if matches!(v, JsValue::Arr(_) | JsValue::Obj(_)) {
                    scalars.push(format!("**{}:**", escape_text(&label)));
                    chunks.push(scalars.join("\\\n"));
                    scalars.clear();
                    chunks.push(md);
                } else {
                    scalars.push(format!("**{}:** {}", escape_text(&label), md));
                }
                texts.push(format!("{label}: {text}"));
            }
            if !scalars.is_empty() {
                chunks.push(scalars.join("\\\n"));
            }
            (!chunks.is_empty()).then(|| (chunks.join("\n\n"), texts.join("\n")))
        }
        _ => None,
    }
}

/// Tags removed from raw HTML, entities for `<`, `>` and `&` decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").replace("&amp;", "&").trim().to_owned()
}

impl Block {
    fn single(kind: BlockKind, md: String, text: String) -> Block {
        Block { kind, md, text: text.trim().to_owned(), head: String::new(), parts: Vec::new(), link_words: 0 }
    }
}

#[cfg(test)]
mod tests;

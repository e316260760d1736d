use super::*;

fn page(src: &str) -> Page {
    parse_page("part-1/01-chapter.mdx", src)
}

fn section<'a>(p: &'a Page, heading: &str) -> &'a Section {
    p.sections.iter().find(|s| s.heading == heading).unwrap_or_else(|| panic!("no section {heading:?} in {:#?}", p.sections))
}

#[test]
fn front_matter_imports_and_comments_are_not_content() {
    let p = page(
        "---\ntitle: \"Sensors: an overview\"\nsidebar_position: 3\ntags: [a, b]\n---\n\nimport Tabs from '@theme/Tabs';\nexport const x = 1;\n\n# Sensors\n\n{/* TODO: add a picture */}\n\nIntro text.\n",
    );
    assert_eq!(p.title, "Sensors: an overview");
    assert_eq!(p.route, "/docs/part-1/chapter");
    let top = &p.sections[0];
    assert_eq!((top.level, top.anchor.as_str()), (1, ""), "the page top links to the page");
    assert_eq!(top.markdown(), "Intro text.");
}

#[test]
fn jsx_components_keep_their_text() {
    let p = page(
        "## Install\n\n<Tabs>\n<TabItem value=\"ubuntu\" label=\"Ubuntu 22.04\">\n\nRun **apt** first.\n\n</TabItem>\n<TabItem value=\"win\" label=\"Windows\">\n\nUse the *installer*.\n\n</TabItem>\n</Tabs>\n\n<details>\n<summary>Why?</summary>\n\nBecause drivers matter.\n\n</details>\n",
    );
    let md = section(&p, "Install").markdown();
    assert_eq!(md, "**Ubuntu 22.04**\n\nRun **apt** first.\n\n**Windows**\n\nUse the *installer*.\n\n**Why?**\n\nBecause drivers matter.");
}

#[test]
fn admonitions_keep_their_title_and_contain_their_list() {
    let p = page(
        "# T\n\n:::info Learning Objectives\nBy the end you will:\n- Install the simulator\n- Run a test\n:::\n\nAfter.\n\n:::tip[Remember]\nKeep calm.\n:::\n",
    );
    let blocks = &p.sections[0].blocks;
    assert_eq!(blocks.len(), 3, "{blocks:#?}");
    assert_eq!(blocks[0].kind, BlockKind::Admonition);
    assert_eq!(
        blocks[0].md,
        "> **Info: Learning Objectives**\n>\n> By the end you will:\n>\n> - Install the simulator\n> - Run a test"
    );
    assert!(blocks[0].text.starts_with("Info: Learning Objectives."));
    assert_eq!(blocks[1].md, "After.");
    assert_eq!(blocks[2].md, "> **Tip: Remember**\n>\n> Keep calm.");
}

#[test]
fn lists_tables_and_code_stay_what_they_are() {
    let p = page(
        "## Steps\n\nDo this:\n\n1. **Driver 525** or higher\n   - check with `nvidia-smi`\n2. CUDA 12\n\n| Engine | Best for |\n|:--|--:|\n| DART | Humanoids, legged robots |\n| ODE | General use \\| fast |\n\n```python title=\"x.py\"\nprint('hi')\n```\n",
    );
    let s = section(&p, "Steps");
    let kinds: Vec<_> = s.blocks.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, vec![BlockKind::Paragraph, BlockKind::OrderedList, BlockKind::Table, BlockKind::Code]);
    assert_eq!(s.blocks[1].md, "1. **Driver 525** or higher\n   - check with `nvidia-smi`\n2. CUDA 12");
    assert_eq!(s.blocks[1].parts.len(), 2);
    assert_eq!(s.blocks[1].parts[1].md, "2. CUDA 12");
    let t = &s.blocks[2];
    assert_eq!(t.head, "| Engine | Best for |\n| :-- | --: |");
    assert_eq!(t.parts[0].md, "| DART | Humanoids, legged robots |");
    assert_eq!(t.parts[1].md, "| ODE | General use \\| fast |");
    assert!(t.text.contains("Humanoids, legged robots"));
    assert_eq!(s.blocks[3].md, "```python title=\"x.py\"\nprint('hi')\n```");
}

#[test]
fn a_closing_fence_after_a_list_item_is_not_swallowed() {
    let p = page("## A\n\n:::note\n- one\n- two\n:::\n## B\n\nText of B.\n");
    assert_eq!(section(&p, "A").blocks.len(), 1);
    assert_eq!(section(&p, "A").blocks[0].md, "> **Note**\n>\n> - one\n> - two");
    assert_eq!(section(&p, "B").markdown(), "Text of B.");
}

#[test]
fn anchors_match_docusaurus() {
    let p = page(
        "# Page\n\n## 💡 What You'll Build\n\n## Summary\n\n#### Example\n\n## Summary\n\n### Example\n\n## Set up {#custom-setup}\n\n## `rclpy` & *Spin*\n",
    );
    let anchors: Vec<(&str, &str)> = p.sections.iter().map(|s| (s.heading.as_str(), s.anchor.as_str())).collect();
    assert_eq!(
        anchors,
        vec![
            ("Page", ""),
            ("💡 What You'll Build", "-what-youll-build"),
            ("Summary", "summary"),
            ("Summary", "summary-1"),
            // The #### above took "example" (every heading counts, whatever its level).
            ("Example", "example-1"),
            ("Set up", "custom-setup"),
            ("rclpy & Spin", "rclpy--spin"),
        ]
    );
    assert_eq!(p.sections[4].path, vec!["Page".to_owned(), "Summary".to_owned()]);
    assert_eq!(p.sections[2].blocks[0].md, "**Example**", "deeper headings stay in their section");
}

#[test]
fn component_props_become_tables_and_lists() {
    let p = page(
        "## Hardware Requirements\n\n<HardwareTable\n  title=\"Isaac Sim Requirements\"\n  requirements={[\n    { id: 'gpu-min', tier: 'minimum', specification: 'NVIDIA GTX 1070 (8GB VRAM)', value: { vram: 8 }, notes: 'Basic use' },\n    { id: 'gpu-rec', tier: 'recommended', specification: 'NVIDIA RTX 4070 Ti (12GB VRAM)' },\n  ]}\n/>\n\n## Troubleshooting\n\n<TroubleshootingAccordion entries={[\n  { id: 'x', problem: 'ImportError: No module named omni', cause: 'Not using the bundled Python interpreter', symptoms: ['Import fails', 'Script raises'], severity: 'blocker' },\n]} />\n",
    );
    let hw = section(&p, "Hardware Requirements");
    assert_eq!(hw.blocks[0].md, "**Isaac Sim Requirements**");
    assert_eq!(
        hw.blocks[1].md,
        "| Tier | Specification | Notes |\n| --- | --- | --- |\n| minimum | NVIDIA GTX 1070 (8GB VRAM) | Basic use |\n| recommended | NVIDIA RTX 4070 Ti (12GB VRAM) |  |"
    );
    let ts = section(&p, "Troubleshooting");
    assert_eq!(ts.blocks[0].kind, BlockKind::List);
    assert_eq!(
        ts.blocks[0].md,
        "- **Problem:** ImportError: No module named omni\\\n  **Cause:** Not using the bundled Python interpreter\\\n  **Symptoms:**\n\n  - Import fails\n  - Script raises\n\n  **Severity:** blocker"
    );
    assert!(ts.blocks[0].text.contains("bundled Python interpreter"));
}

#[test]
fn code_components_and_string_expressions() {
    let p = page("## Script\n\n<CodeBlock language=\"python\" title=\"test.py\">\n{`import sys\nprint(\"ok\")\n`}\n</CodeBlock>\n\n{\"A literal sentence of text.\"}\n");
    let s = section(&p, "Script");
    assert_eq!(s.blocks[0].md, "**test.py**");
    assert_eq!(s.blocks[1].md, "```python\nimport sys\nprint(\"ok\")\n```");
    assert_eq!(s.blocks[2].md, "A literal sentence of text.");
}

#[test]
fn text_that_looks_like_markup_is_escaped_and_links_kept_only_when_absolute() {
    let p = page("## X\n\nLatency \\< 100ms with a\\_b and snake_case, 2 \\* 3, [docs](https://x.org/a) and [next](./next).\n\n\\&lt;tag\\&gt; stays literal.\n");
    let md = section(&p, "X").markdown();
    assert_eq!(md, "Latency < 100ms with a_b and snake_case, 2 \\* 3, [docs](<https://x.org/a>) and next.\n\n&amp;lt;tag&amp;gt; stays literal.");
}

#[test]
fn invalid_mdx_is_read_as_markdown() {
    // `<` followed by a digit is not valid JSX: Docusaurus would read this page as Markdown.
    let p = parse_page("a.md", "# A\n\n## Speed\n\nKeep it <5 ms always.\n\n<div>\nraw html\n</div>\n");
    let md = section(&p, "Speed").markdown();
    assert!(md.contains("Keep it <5 ms always."), "{md}");
    assert!(md.contains("raw html"), "{md}");
}

#[test]
fn headings_inside_code_fences_are_code() {
    let p = page("## Real\n\n```bash\n# not a heading\n:::tip not an admonition\n```\n");
    assert_eq!(p.sections.len(), 2);
    assert!(section(&p, "Real").markdown().contains("# not a heading\n:::tip not an admonition"));
}

#[test]
fn headings_inside_layout_wrappers_start_sections() {
    let p = page(
        "import X from '../x';\n\n<div class=\"style-guide\">\n\n# Style Guide\n\nIntro.\n\n## Do Not Mutate State\n\nCopy it.\n\n<div class=\"rules\">\n\n### Use Immer\n\nIt copies for you.\n\n</div>\n\n## Name Actions\n\nAs events.\n\n</div>\n",
    );
    let headings: Vec<(&str, u8, &str)> = p.sections.iter().map(|s| (s.heading.as_str(), s.level, s.anchor.as_str())).collect();
    assert_eq!(
        headings,
        [("Style Guide", 1, ""), ("Do Not Mutate State", 2, "do-not-mutate-state"), ("Use Immer", 3, "use-immer"), ("Name Actions", 2, "name-actions")]
    );
    assert_eq!(section(&p, "Use Immer").path, ["Style Guide", "Do Not Mutate State"]);
    assert_eq!(section(&p, "Name Actions").markdown(), "As events.");
    // A component's headings stay inside the section it sits in.
    let tabs = page("## Install\n\n<Tabs>\n<TabItem value=\"a\" label=\"A\">\n\n### Step\n\nRun it.\n\n</TabItem>\n</Tabs>\n");
    assert_eq!(tabs.sections.len(), 2, "{:#?}", tabs.sections);
}

#[test]
fn link_text_is_counted_per_block() {
    let p = page("## Further reading\n\n- [ROS 2 design](https://design.ros2.org) articles\n- [Nav2 docs](nav2.md)\n\n## Text\n\nPlain words and one [link here](https://x.org).\n");
    let list = &section(&p, "Further reading").blocks[0];
    assert_eq!((list.text.split_whitespace().count(), list.link_words), (6, 5), "relative links count too: {list:?}");
    assert_eq!(section(&p, "Text").blocks[0].link_words, 2);
}

#!/usr/bin/env bash
# Do BookChat's citation links exist on the real site? Builds a real Docusaurus 3 site (from the
# npm registry) with a book folder as its docs, then checks every section's `route#anchor`, as
# `bookchat sections` prints them, against the built HTML: the page must exist and, unless the
# link is to the page top, carry an element with that id.
#   bash bench/anchors.sh [BOOK_DIR]        (default: the sample book; needs a few minutes)
#   MARKDOWN_FORMAT=detect bash bench/anchors.sh DIR   for a book whose site reads `.md` files as
#   CommonMark (Docusaurus's `markdown.format: 'detect'`; the default reads every page as MDX)
# MDX components the book imports from its own site (`@site/src/components/…`) are stubbed with
# one that renders its children, so the book builds without its site's source.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
BOOK=$(realpath "${1:-book/docs}")
ensure_docusaurus_site
SITE="$DOCUSAURUS_SITE"
SQLX_OFFLINE=true LEPTOS_OUTPUT_NAME=bookchat cargo build --release --features ssr --bin bookchat -q

WORK=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
(cd "$SITE" && tar --exclude=./node_modules --exclude=./docs --exclude=./blog --exclude=./build --exclude=./.docusaurus -cf - .) |
  (cd "$WORK" && tar -xf -)
ln -s "$SITE/node_modules" "$WORK/node_modules"
cp -r "$BOOK" "$WORK/docs"
# A plain site: docs at /docs, no blog, warnings (not failures) for the book's own broken links
# and images.
node - "$WORK/docusaurus.config.js" "${MARKDOWN_FORMAT:-mdx}" <<'JS'
const fs = require('fs');
const file = process.argv[2];
const format = process.argv[3];
let c = fs.readFileSync(file, 'utf8');
c = c.replace(/blog:\s*\{[\s\S]*?\n\s{8}\},/, 'blog: false,');
c = c.replace(/onBrokenLinks:\s*'throw'/, "onBrokenLinks: 'warn'");
// A book copied without its site's static files: its images and doc links warn, not fail.
c = c.replace(/onBrokenLinks:\s*'warn',/, `onBrokenLinks: 'warn',\n  markdown: {format: '${format}', hooks: {onBrokenMarkdownImages: 'warn', onBrokenMarkdownLinks: 'warn'}},`);
c = c.replace(/\{to: '\/blog'[^}]*\},?/, '');
fs.writeFileSync(file, c);
JS
# Stubs for the book's own components.
{ grep -rhoE "from ['\"]@site/src/components/[^'\"]+['\"]" "$WORK/docs" || true; } |
  sed -E "s/.*@site\/src\/components\/([^'\"]+).*/\1/" | sort -u |
  while read -r comp; do
    mkdir -p "$WORK/src/components/$(dirname "$comp")"
    printf "import React from 'react';\nexport default function Stub(props) { return <div>{props.children}</div>; }\n" \
      >"$WORK/src/components/$comp.js"
  done
log "building the site with $(find "$BOOK" -name '*.md*' | wc -l) pages from $BOOK"
(cd "$WORK" && npx docusaurus build >"$WORK/build.log" 2>&1) || { tail -n 40 "$WORK/build.log"; die "the Docusaurus build failed"; }
"$ROOT/target/release/bookchat" sections "$BOOK" >"$WORK/sections.jsonl"
node - "$WORK/build" "$WORK/sections.jsonl" <<'JS'
const fs = require('fs');
const [build, list] = process.argv.slice(2);
const sections = fs.readFileSync(list, 'utf8').trim().split('\n').filter(Boolean).map(JSON.parse);
let broken = 0;
for (const s of sections) {
  const file = `${build}${s.route}/index.html`;
  const alt = `${build}${s.route}.html`;
  const path = fs.existsSync(file) ? file : fs.existsSync(alt) ? alt : null;
  let ok = path !== null;
  if (ok && s.anchor) {
    // Every id on the page (the build minifies: quoted or not), entities decoded.
    const html = fs.readFileSync(path, 'utf8');
    const ids = new Set();
    for (const m of html.matchAll(/\sid=(?:"([^"]*)"|'([^']*)'|([^\s>"']+))/g)) {
      const raw = m[1] ?? m[2] ?? m[3];
      ids.add(raw.replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    }
    ok = ids.has(s.anchor);
  }
  if (!ok) {
    broken++;
    console.log(`BROKEN ${s.route}#${s.anchor}  (${s.source}: ${s.heading})${path ? '' : '  [no such page]'}`);
  }
}
console.log(`${sections.length} citation links checked against the built site: ${broken} broken`);
process.exitCode = broken ? 1 : 0;
JS

#!/usr/bin/env bash
# How BookChat answers real books (release build, fresh database, with the embedding model):
#   bash bench/eval.sh                     # the sample book and the three development books
#   bash bench/eval.sh SET_DIR... [flags]  # any question sets (a folder with docs/,
#                                          # questions.json and offtopic.json)
#   flags: --scale 10 (answer time on the largest book loaded ten times), --compare (ranking
#   configurations side by side), --latency-rounds N; see `bookchat eval --help`.
# The development books live beside the checkout (DEVBOOKS, default ../shared): devbook/ and
# devbooks/*/. Prints each book's figures by question kind and the macro average over the books;
# per-question details go to target/bench/eval-<set>.md.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ensure_db
ensure_model
DEVBOOKS=${DEVBOOKS:-$ROOT/../shared}
SETS=() FLAGS=()
for a in "$@"; do
  if [ -d "$a" ]; then SETS+=(--set "$a"); else FLAGS+=("$a"); fi
done
if [ ${#SETS[@]} -eq 0 ]; then
  SETS=(--set bench/eval/sample-book)
  for d in "$DEVBOOKS/devbook" "$DEVBOOKS"/devbooks/*/; do
    if [ -f "$d/questions.json" ]; then SETS+=(--set "${d%/}"); fi
  done
  [ ${#SETS[@]} -gt 2 ] || log "warning: no development books under $DEVBOOKS (set DEVBOOKS): the sample book only"
fi
recreate_db bookchat_eval
SQLX_OFFLINE=true LEPTOS_OUTPUT_NAME=bookchat cargo build --release --features ssr --bin bookchat -q
mkdir -p target/bench
DATABASE_URL=$(db_url_for "$DATABASE_URL" bookchat_eval) RUST_LOG=warn \
  "$ROOT/target/release/bookchat" eval "${SETS[@]}" --details target/bench "${FLAGS[@]}" | tee target/bench/eval.txt

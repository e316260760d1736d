#!/usr/bin/env bash
# How BookChat does on a book (release build, fresh database, with the embedding model):
#   bash bench/eval.sh                                   # the sample book in book/docs
#   bash bench/eval.sh BOOK_DIR QUESTIONS.json OFFTOPIC.json [--scale 10] [other eval flags]
# e.g. bash bench/eval.sh ../shared/devbook/docs ../shared/devbook/questions.json ../shared/devbook/offtopic.json --scale 10
# The question files use the development book's format (see `bookchat eval --help`).
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ensure_db
ensure_model
BOOK=${1:-book/docs}
QUESTIONS=${2:-bench/eval/sample-book/questions.json}
OFFTOPIC=${3:-bench/eval/sample-book/offtopic.json}
shift $(( $# < 3 ? $# : 3 ))
recreate_db bookchat_eval
SQLX_OFFLINE=true LEPTOS_OUTPUT_NAME=bookchat cargo build --release --features ssr --bin bookchat -q
mkdir -p target/bench
name=$(basename "$(dirname "$(realpath "$QUESTIONS")")")
DATABASE_URL=$(db_url_for "$DATABASE_URL" bookchat_eval) RUST_LOG=warn \
  "$ROOT/target/release/bookchat" eval --book "$BOOK" --questions "$QUESTIONS" --offtopic "$OFFTOPIC" \
  --details "target/bench/eval-$name.md" "$@" | tee "target/bench/eval-$name.txt"

#!/usr/bin/env bash
# Retrieval evaluation on the sample book: bash bench/eval.sh [question-set.json]
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ensure_db
recreate_db bookchat_eval
SQLX_OFFLINE=true LEPTOS_OUTPUT_NAME=bookchat RUSTFLAGS="--cfg erase_components" cargo build --features ssr --bin bookchat -q
DATABASE_URL=$(db_url_for "$DATABASE_URL" bookchat_eval) RUST_LOG=warn \
  "$ROOT/target/debug/bookchat" eval --ingest book/docs --questions "${1:-bench/eval/sample-book.json}"

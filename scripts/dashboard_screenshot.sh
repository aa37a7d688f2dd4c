#!/usr/bin/env bash
# Regenerate docs/dashboard.png: a synthetic posyandu of 8 children (issue 18's acceptance scenario:
# September to November 2025, 6 of 8 weighed in November, one child gizi buruk by LiLA), its dashboard
# written by `timbang dashboard`, photographed by headless Chromium at a phone's 360-pixel width.
# Needs the Rust toolchain and Debian's `chromium`. Usage: scripts/dashboard_screenshot.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/dashboard.png}
cargo build --quiet --bin timbang
T=$PWD/target/debug/timbang
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
export TIMBANG_TODAY=2025-11-20
DB=$DIR/posyandu.db
"$T" --db "$DB" init --posyandu Melati --village Sukamaju --device hp-1 >/dev/null
# name, KK, RT, then per month (Sep Oct Nov) weight:height[:LiLA], "-" for not weighed.
while read -r name kk rt sep oct nov; do
    id=$("$T" --db "$DB" child add --name "${name//_/ }" --sex L --dob 2024-06-01 --kk "$kk" \
        --mother "Ibu Sintetis" --rt "$rt" --rw 005 --yes | tail -1)
    for pair in "2025-09-10 $sep" "2025-10-10 $oct" "2025-11-10 $nov"; do
        read -r date v <<<"$pair"
        [ "$v" = - ] && continue
        IFS=: read -r kg cm lila <<<"$v"
        args=(visit add "$id" --date "$date" --weight "$kg" --height "$cm" --position lying --yes)
        [ -n "${lila:-}" ] && args+=(--muac "$lila")
        "$T" --db "$DB" "${args[@]}" >/dev/null
    done
done <<'KIDS'
Rizki_Pratama 3273012010150001 002 10.2:79:14.0 10.5:80:13.8 10.8:81:11.0
Ayu_Lestari 3273012010150002 001 10.2:79 10.5:80 10.8:81
Bagus_Wibowo 3273012010150003 001 10.2:79 10.5:80 10.8:81
Citra_Dewi 3273012010150004 002 10.2:79 10.5:80 10.8:81
Dimas_Saputra 3273012010150005 003 10.2:79 10.5:80 10.8:81
Eka_Putri 3273012010150006 003 10.2:79 10.5:80 10.8:81
Fajar_Nugroho 3273012010150007 001 10.2:79 10.5:80 -
Gita_Maharani 3273012010150008 002 10.2:79 10.5:80 -
KIDS
"$T" --db "$DB" dashboard --out "$DIR/dasbor.html" --months 6
# --no-sandbox: Chromium's sandbox refuses to start as root.
chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --host-resolver-rules='MAP * ~NOTFOUND' --user-data-dir="$DIR/profile" \
    --window-size=360,1980 --screenshot="$PWD/$OUT" "file://$DIR/dasbor.html" 2>/dev/null
echo "written $OUT"

#!/usr/bin/env bash
# Does recording each call's entry/exit stamps (the slow-rank analysis) cost anything?
# Interleaved runs on 2 ranks, with and without recording (XCCL_NO_STAMPS=1), at the
# sizes where any cost would show (8 B .. 1 KiB: calls of a few µs). Prints the mean
# out-of-place time of each size over the runs of each kind and the ratio. One run on the
# CI machine is recorded in docs/DIAGNOSIS.md. Usage: benches/stamps_overhead.sh [PAIRS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${XCCL_BENCH:-$ROOT/target/release/xccl-bench}
PAIRS=${1:-8}
OUT=$(mktemp -d)
run() { # run KIND I
    local env=()
    [[ $1 == off ]] && env=(-x XCCL_NO_STAMPS=1)
    mpirun --oversubscribe --allow-run-as-root --mca btl self,vader -np 2 "${env[@]}" \
        "$B" all_reduce -b 8 -e 1K -f 4 -n 200 -w 20 -c 0 --progress never \
        --json "$OUT/$1-$2.json" >/dev/null
}
# Alternate which kind goes first, so that drift in the machine's load does not favour one.
for i in $(seq "$PAIRS"); do
    if ((i % 2)); then run on "$i"; run off "$i"; else run off "$i"; run on "$i"; fi
done
for k in on off; do
    jq -s '[.[] | .rows[] | select(.placement == "out-of-place") | {s: .size_bytes, t: .time_us.avg}]
        | group_by(.s) | map({size: .[0].s, mean_us: (map(.t) | add / length)})' \
        "$OUT"/$k-*.json >"$OUT/$k.sum"
done
jq -rn --slurpfile on "$OUT/on.sum" --slurpfile off "$OUT/off.sum" '
    "size_B  with_us  without_us  with/without",
    ($on[0] | to_entries[] | . as $e | $off[0][$e.key] as $o |
     "\($e.value.size)  \($e.value.mean_us * 100 | round / 100)  \($o.mean_us * 100 | round / 100)  \($e.value.mean_us / $o.mean_us * 1000 | round / 1000)")'
rm -rf "$OUT"

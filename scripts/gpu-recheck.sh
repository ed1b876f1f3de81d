#!/usr/bin/env bash
# Second, short device run after the fix for the H2D race (see docs/BACKENDS.md): every
# type and op of the reducing collectives, in and out of place, with the data check.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN="${XCCL_BIN:-.gpu/xccl-bench}"
prefix=$(python3 -c 'import sys; print(sys.prefix)' 2>/dev/null)
export XCCL_NCCL_LIB="${XCCL_NCCL_LIB:-$(find "${prefix:-/nonexistent}" -name 'libnccl.so.2*' 2>/dev/null | head -n 1)}"
for c in all_reduce reduce_scatter reduce; do
    echo "+ $BIN $c --backend nccl -b 1K -e 64M -f 8 -w 2 -n 5 -c 1 -d all -o all"
    timeout 120 "$BIN" $c --backend nccl -b 1K -e 64M -f 8 -w 2 -n 5 -c 1 -d all -o all --json "$OUT/recheck_$c.json" > "$OUT/recheck_$c.txt" 2>&1
    echo "$c rc=$? $(grep -h 'Out of bounds' "$OUT/recheck_$c.txt")"
done

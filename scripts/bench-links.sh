#!/usr/bin/env bash
# Wall time of `xccl-bench links` on the emulated cluster, circle schedule against
# `--serial` (one node pair at a time), on 4 and 6 nodes. Needs root (namespaces, tc) and
# OpenMPI. Prints one line per run; figures of one run are in docs/DIAGNOSIS.md.
# Usage: scripts/bench-links.sh [REPS]  (XCCL_BENCH: the binary; default target/release)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
B=${XCCL_BENCH:-$ROOT/target/release/xccl-bench}
REPS=${1:-2}
EMU=scripts/emu-cluster.sh
export XCCL_EMU_STATE=${XCCL_EMU_STATE:-/tmp/xccl-bench-links.$$}
exec 9>/tmp/xccl-emu-test.lock
flock -w 900 9
trap '"$EMU" down >/dev/null 2>&1 || true' EXIT
for topo in topologies/emu-4node-2sw.toml topologies/emu-6node-3sw.toml; do
    "$EMU" up "$topo" >/dev/null 2>&1
    for mode in circle serial; do
        for _ in $(seq "$REPS"); do
            flag=()
            [[ $mode == serial ]] && flag=(--serial)
            "$EMU" run -- "$B" links --topology "$topo" --size 2M -n 4 "${flag[@]}" \
                --json "$XCCL_EMU_STATE.json" >/dev/null 2>&1 || true
            jq -r --arg t "$(basename "$topo" .toml)" --arg m "$mode" \
                '"\($t) \($m): \(.rounds) rounds, \(.wall_s * 100 | round / 100) s, findings \([.findings[].kind])"' \
                "$XCCL_EMU_STATE.json"
        done
    done
    "$EMU" down >/dev/null
done

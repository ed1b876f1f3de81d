#!/usr/bin/env bash
# Accuracy of `predict` against `train-sim` on the emulated cluster (issue 9).
#
# topologies/emu-2x2.toml: 2 network-namespace nodes × 2 ranks, one 200 Mbit/s NIC each.
#  1. Sweep the collectives the layouts use, on the communicators they use (all_reduce on
#     4 ranks/2 nodes, 2 ranks/1 node, 2 ranks/2 nodes; sendrecv across nodes) to JSON.
#  2. For each layout (DP only; DP+PP; DP+TP with TP inside a node): `predict --measured`
#     those files, then `train-sim` the same job on the same cluster; the predicted step
#     time must be within 10% of the measured one.
# The model (tests/train-sim/tiny.toml) is sized so a step takes ~1 s and its messages
# lie inside the swept sizes. Compute is a calibrated wait (--device-step-time).
# Needs root, iproute2, unshare, OpenMPI, jq. Exit: 0 pass, 1 fail (a cluster that does
# not come up included), 77 skipped (this machine cannot run it). ~3 min.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/emu-lib.sh"
TOPO=topologies/emu-2x2.toml
MODEL=tests/train-sim/tiny.toml
TOL=${XCCL_TRAIN_TOL:-0.10}

# One emu-2x2 cluster at a time (shared with tests/split-emu-test.sh).
emu_setup train /tmp/xccl-emu-train-test.lock emu-2x2 "${XCCL_TRAIN_TEST_OUT:-}"
export XCCL_EMU_STATE=$OUT/state XCCL_EMU_PREFIX=${XCCL_EMU_PREFIX:-xt}
# Ring all_reduce for the blocking sweeps (as tests/emu-cluster-test.sh) and for the
# non-blocking DP buckets of train-sim (libnbc), so both run the algorithm that was swept.
export XCCL_EMU_MPIRUN_ARGS="--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 4 --mca coll_libnbc_iallreduce_algorithm 1"
emu_up "$TOPO"

sweep() { # NAME HOSTS NP COLL SIZES...
    local name=$1 hosts=$2 np=$3 coll=$4
    shift 4
    timeout 300 "$EMU" run --hosts "$hosts" -- -np "$np" "$XCCL_BENCH" "$coll" "$@" -n 10 -w 2 \
        --json "$OUT/$name.json" >"$OUT/$name.log" 2>&1 || { cat "$OUT/$name.log"; echo "FAIL: sweep $name" >&2; exit 1; }
    echo "swept $name"
}
sweep ar-4r2n emu-t1:2,emu-t2:2 4 all_reduce -b 64K -e 8M -f 2
sweep ar-2r1n emu-t1:2 2 all_reduce -b 64K -e 8M -f 2
sweep ar-2r2n emu-t1:1,emu-t2:1 2 all_reduce -b 64K -e 8M -f 2
sweep sr-2r2n emu-t1:1,emu-t2:1 2 sendrecv -b 16K -e 2M -f 2
MEASURED=("$OUT"/ar-4r2n.json "$OUT"/ar-2r1n.json "$OUT"/ar-2r2n.json "$OUT"/sr-2r2n.json)

COMMON=(--model "$MODEL" --device a100 --seq 256 --global-batch 8 --device-step-time 0.4
    --bucket-size 2M --devices-per-node 2 --nics-per-node 1 --measured "${MEASURED[@]}")
printf '%-22s %12s %12s %8s\n' layout predicted measured error | tee "$OUT/summary.txt"
for layout in dp=4 dp=2,pp=2 dp=2,tp=2 dp=2,pp=2,vp=2; do
    tag=${layout//[=,]/_}
    "$XCCL_BENCH" predict --layout "$layout" "${COMMON[@]}" --json "$OUT/predict-$tag.json" >"$OUT/predict-$tag.txt"
    timeout 300 "$EMU" run -- -np 4 "$XCCL_BENCH" train-sim --layout "$layout" "${COMMON[@]}" \
        --steps 5 --json "$OUT/sim-$tag.json" >"$OUT/sim-$tag.txt" 2>&1 || { cat "$OUT/sim-$tag.txt"; echo "FAIL: train-sim $layout" >&2; FAILED=1; continue; }
    pred=$(jq '.step_time_s' "$OUT/predict-$tag.json")
    meas=$(jq '.scales[-1].measured_step_s' "$OUT/sim-$tag.json")
    err=$(jq -n "($pred - $meas) / $meas")
    printf '%-22s %12.4f %12.4f %7.1f%%\n' "$layout" "$pred" "$meas" "$(jq -n "$err * 100")" | tee -a "$OUT/summary.txt"
    if jq -e -n "($err | fabs) > $TOL" >/dev/null; then
        echo "FAIL: $layout: predicted $pred s vs measured $meas s (error beyond $TOL)" >&2
        cat "$OUT/predict-$tag.txt" "$OUT/sim-$tag.txt"
        FAILED=1
    fi
done
"$EMU" down >/dev/null 2>&1 || true
emu_finish train-sim-emu-test "${XCCL_TRAIN_TEST_OUT:-}"

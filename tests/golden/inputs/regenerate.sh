#!/usr/bin/env bash
# How the inputs of tests/golden.rs were made: small real runs of the pre-refactor binary
# (c7a7e9e) on one 2-core host ("vm"), under mpirun. They are measurements, so rerunning
# this gives other numbers, and then every expected output of tests/golden/ changes with
# them: regenerate only with a reason, then re-bless (see tests/golden.rs) with the same
# binary in the same commit.
#
#   bash tests/golden/inputs/regenerate.sh /path/to/xccl-bench     (source scripts/setup.sh first)
#
# Written by hand, not by this script: local-vm.toml and slow-vm.toml (one-node topologies
# naming that host), bad-fabric.toml and foreign.json (bad inputs).
#
# Run from anywhere; writes into this folder. The binary is called as `xccl-bench` (a
# symlink on PATH) and every path is relative, so the files record no machine path.
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
ln -s "$bin" "$shim/xccl-bench"
export PATH="$shim:$PATH"
cd "$here"
ln -sfn "$repo/topologies" topologies
ln -sfn "$repo/tests/train-sim" train-sim
trap 'rm -rf "$shim" "$here/topologies" "$here/train-sim"' EXIT
mpi=(mpirun --oversubscribe --mca btl self,vader,tcp --mca mpi_yield_when_idle 1)
sweep=(-b 8 -e 32K -f 8 -n 20 -w 3 --topology topologies/dgx-h100.toml)

# Two collectives with a topology (verdicts in the rows).
"${mpi[@]}" -np 2 xccl-bench all_reduce "${sweep[@]}" --json all_reduce.json >/dev/null
"${mpi[@]}" -np 2 xccl-bench all_gather "${sweep[@]}" --json all_gather.json >/dev/null

# all_reduce.json with its tightest row 2x slower (every time and per-rank time scaled,
# bandwidths halved): the planted regression `compare` must find (as tests/report.rs does).
python3 - <<'PY'
import json
v = json.load(open("all_reduce.json"))
rows = v["rows"]
i = min(range(len(rows)), key=lambda k: rows[k].get("precision") or float("inf"))
r = rows[i]
for k in ["avg", "min", "max", "p50", "p99"]:
    r["time_us"][k] *= 2.0
for k in ["mean_us", "p50_us", "p99_us"]:
    r["per_rank"][k] = [x * 2.0 for x in r["per_rank"][k]]
for k in ["algbw_gbs", "busbw_gbs"]:
    r[k] /= 2.0
json.dump(v, open("all_reduce-slow.json", "w"), indent=2)
print(f"all_reduce-slow.json: row {i} ({r['size_bytes']} B {r['placement']}) 2x slower")

# What an interrupted run leaves: the first 2 rows, complete = false (as tests/report.rs).
v = json.load(open("all_gather.json"))
v["rows"] = v["rows"][:2]
v["summary"]["complete"] = False
json.dump(v, open("all_gather-partial.json", "w"), indent=2)
PY

# The link matrix of 3 ranks on this host, judged against a one-node topology naming it.
"${mpi[@]}" -np 3 xccl-bench links --size 64K --topology local-vm.toml --json links.json >/dev/null || [ $? = 4 ]

# A prediction and a train-sim of the tiny model, timed from all_reduce.json.
job=(--model train-sim/tiny.toml --device a100 --layout dp=2 --global-batch 4 --seq 64
  --device-step-time 0.02 --measured all_reduce.json)
xccl-bench predict "${job[@]}" --json prediction.json >/dev/null
"${mpi[@]}" -np 2 xccl-bench train-sim "${job[@]}" --scale-dp 1 --steps 2 --json train-sim.json >/dev/null
ls -l "$here"

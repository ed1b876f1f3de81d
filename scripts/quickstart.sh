#!/usr/bin/env bash
# Quick start, part 1: set up, build, and run the main job on this machine's CPUs:
# an all_reduce and an alltoall sweep over MPI with 4 ranks (oversubscribed if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
mkdir -p results
NP=${NP:-4}
for coll in all_reduce alltoall; do
  mpirun --oversubscribe -np "$NP" target/release/xccl-bench "$coll" -b 8 -e 16M -f 4 \
    --json "results/$coll.json" --csv "results/$coll.csv"
done
echo "JSON and CSV results are in results/"

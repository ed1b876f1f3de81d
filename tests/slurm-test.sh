#!/usr/bin/env bash
# The binary launched by Slurm's srun (PMIx), as users of Slurm clusters do:
# every collective with several types, every op and every root, 2 and 3 ranks, -c 1,
# must report 0 wrong, and the header must show the ranks srun started.
# Needs root and Slurm (slurmd, slurmctld, munge, srun); starts a one-node Slurm when none
# answers (tests/slurm/start-local-slurm.sh) and stops it at exit. Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v srun >/dev/null && command -v slurmd >/dev/null || { echo "SKIP: Slurm not installed" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to start Slurm" >&2; exit 77; }
if ! sinfo -h -o %T 2>/dev/null | grep -E "idle|mixed|alloc" >/dev/null; then
    # Stop what we start, on failure and on ^C too; a Slurm that answered already is left
    # alone (this branch is not taken for it, and stop touches only what start recorded).
    trap 'bash tests/slurm/stop-local-slurm.sh' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    bash tests/slurm/start-local-slurm.sh >/dev/null 2>&1 || true
    if ! sinfo -h -o %T 2>/dev/null | grep -E "idle|mixed|alloc" >/dev/null; then
        echo "SKIP: could not start a local Slurm here:" >&2
        tail -n 5 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 2>/dev/null || true
        exit 77
    fi
fi
BIN=${XCCL_BENCH:-target/debug/xccl-bench}
[ -x "$BIN" ] || cargo build -q --bin xccl-bench
fail=0
for n in 2 3; do
    failed_before=$fail; fail=0
    for coll in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv gather scatter; do
        out=$(timeout 120 srun --mpi=pmix -n "$n" "$BIN" "$coll" -b 8 -e 1000 -f 125 -d int8,bfloat16,float -o all -r all -n 2 -w 1 -c 1 2>&1) \
            || { echo "FAIL: srun -n $n $coll exited non-zero"; echo "$out" | tail -5; fail=1; continue; }
        grep -q "# Out of bounds values : 0 OK" <<<"$out" || { echo "FAIL: srun -n $n $coll: wrong elements"; fail=1; continue; }
        grep -q "# Ranks: $n on " <<<"$out" || { echo "FAIL: srun -n $n $coll: not $n ranks"; echo "$out" | grep Ranks; fail=1; continue; }
    done
    ((fail)) || echo "ok: srun --mpi=pmix -n $n: every collective, 0 wrong"
    ((fail |= failed_before)) || true
done
exit $fail

#!/usr/bin/env bash
# The binary under MPICH (Hydra's mpiexec), besides OpenMPI which the Rust tests use:
#  1. built against MPICH (MPICC=mpicc.mpich), every collective with several types and
#     every op runs under mpiexec.mpich with 2 ranks and reports 0 wrong;
#  2. the OpenMPI build launched by MPICH's mpiexec (the wrong MPI) stops with the
#     one-line launcher-mismatch error instead of running N lone ranks.
# Exit 0 pass, 1 fail, 77 skipped (MPICH not installed).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mpicc.mpich >/dev/null && command -v mpiexec.mpich >/dev/null || { echo "SKIP: MPICH not installed" >&2; exit 77; }
TARGET=${XCCL_MPICH_TARGET:-target/mpich}
MPICC=mpicc.mpich CARGO_TARGET_DIR="$TARGET" cargo build -q --bin xccl-bench
BIN="$TARGET/debug/xccl-bench"
# ldd's output is held first: `ldd | grep -q` under pipefail fails when grep exits at the
# first match and ldd's `| cat` then dies of SIGPIPE (seen once in CI). On failure, show it.
libs=$(ldd "$BIN" 2>&1) || true
grep -q libmpich <<<"$libs" || { echo "FAIL: $BIN is not linked against MPICH; ldd says:" >&2; echo "$libs" >&2; exit 1; }
fail=0
for coll in all_reduce all_gather reduce_scatter broadcast reduce alltoall sendrecv gather scatter; do
    out=$(timeout 120 mpiexec.mpich -n 2 "$BIN" "$coll" -b 8 -e 1000 -f 125 -d int8,int32,half,bfloat16,float,double -o all -r all -n 2 -w 1 -c 1 2>&1) || { echo "FAIL: $coll under MPICH exited non-zero"; echo "$out" | tail -5; fail=1; continue; }
    grep -q "# Out of bounds values : 0 OK" <<<"$out" || { echo "FAIL: $coll under MPICH: wrong elements"; fail=1; continue; }
    grep -q "# Backend: mpi (MPICH " <<<"$out" || { echo "FAIL: $coll: header does not name MPICH"; fail=1; continue; }
    echo "ok: $coll under MPICH, 0 wrong"
done
# The OpenMPI build under MPICH's launcher: every rank sees a world of one.
OMPI_BIN=${XCCL_BENCH:-target/debug/xccl-bench}
[ -x "$OMPI_BIN" ] || cargo build -q --bin xccl-bench
rc=0
out=$(timeout 60 mpiexec.mpich -n 2 "$OMPI_BIN" all_reduce -e 64 2>&1) || rc=$?
if [ "$rc" -ne 0 ] && grep -q "launcher started 2 ranks (PMI_SIZE=2) but this process sees a world of 1" <<<"$out"; then
    echo "ok: OpenMPI build under mpiexec.mpich refused with the launcher-mismatch error (exit $rc)"
else
    echo "FAIL: OpenMPI build under MPICH's launcher (exit $rc):"; echo "$out" | head -5; fail=1
fi
exit $fail

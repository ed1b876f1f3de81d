#!/usr/bin/env bash
# Quick start, part 2: set up and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "[test] setup detection"; bash tests/setup-detect-test.sh

# A test that needs what this machine may lack exits 77 after saying why: SKIPPED, not failed.
optional() { # SCRIPT WHAT-IT-NEEDS
  local rc=0
  bash "$1" || rc=$?
  if [ "$rc" = 77 ]; then
    echo "[test] $1 SKIPPED (needs $2): see its message above"
  elif [ "$rc" != 0 ]; then
    exit "$rc"
  fi
}
# What a test below needs from apt, installed only when COMMAND is missing, and then only the
# packages not installed yet; a failed install is tried again after `apt-get update` (once a
# run: a stale package index is the usual cause). Fails when the packages cannot be had.
apt_updated=0
install_for() { # COMMAND PACKAGE...
  local cmd=$1 p
  local missing=()
  shift
  command -v "$cmd" >/dev/null && return 0
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *" installed" ]] || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  until DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; do
    [ "$apt_updated" = 0 ] || return 1
    apt_updated=1
    apt-get update -qq || return 1
  done
}
# Vendor wheels for the bindings check and the real-libnccl loader test (cached).
if [ -x scripts/fetch-vendor-wheels.sh ] || [ -f scripts/fetch-vendor-wheels.sh ]; then
  bash scripts/fetch-vendor-wheels.sh || echo "[test] vendor wheels unavailable: tests that need them will say they skipped"
fi
echo "[test] rustfmt";  cargo fmt --all -- --check
echo "[test] clippy";   cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "[test] no-MPI build"; cargo build --no-default-features --quiet
echo "[test] the offline analysis needs no MPI and no vendor library"
for crate in $(ls analysis); do
  if cargo tree -q -p "$crate" -e normal,build | grep -E '^.*\b(mpi|mpi-sys|cudarc|nccl-sys|hccl-sys|libloading)\b'; then
    echo "[test] FAIL: analysis/$crate depends on MPI or a vendor library (above)"; exit 1
  fi
done
echo "[test] cargo test"
# mpirun jobs oversubscribe the cores: run at most two test binaries' tests at once.
cargo test --workspace --quiet --no-fail-fast -- --test-threads="${TEST_THREADS:-2}"
echo "[test] HTML report in headless Chromium (DOM, console, screenshot in target/test-artifacts/)"
install_for chromium chromium || echo "[test] chromium could not be installed"
optional tests/report-browser-test.sh "Chromium"
echo "[test] MPICH (a second MPI implementation, built and launched by its own mpiexec)"
install_for mpicc.mpich mpich libmpich-dev
bash tests/mpich-test.sh
echo "[test] Slurm (srun --mpi=pmix on a one-node Slurm started here)"
install_for slurmd slurmd slurmctld slurm-client munge
optional tests/slurm-test.sh "slurmd, slurmctld, munge"
echo "[test] emulated cluster (3 nodes in network namespaces, 2 switches, tc-shaped links)"
optional tests/emu-cluster-test.sh "root, ip, tc, unshare, jq"
echo "[test] diagnosis on the emulated cluster (4 nodes, 2 switches, 2:1 uplink): links"
optional tests/diag-emu-test.sh "root, network namespaces, tc, jq"
echo "[test] --split with 2 ranks per node on an emulated 2x2 cluster (SDMA and RDMA parts)"
optional tests/split-emu-test.sh "root, network namespaces, tc, jq"
echo "[test] predict vs train-sim on an emulated 2x2 cluster (step time within 10%)"
optional tests/train-sim-emu-test.sh "root, ip, tc, unshare, jq"
echo "[test] all passed"

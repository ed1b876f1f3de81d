#!/usr/bin/env bash
# Quick start, part 2: set up and run the whole test suite (what CI runs).
# Each step runs through `step` (must pass) or `optional` (may skip where this machine
# cannot run it: the test exits 77 after a `SKIP: reason` line); a failed step does not stop
# the run. At the end: the skipped steps with their reasons (and the parts of Rust tests
# that skipped, from $XCCL_SKIP_LOG), then one line `N passed, N failed, N skipped`; the
# exit status is 1 when any step failed. Under CI=true (.ci/run) a skip whose prerequisite
# this machine can provide (root with apt-get, root with network namespaces; the vendor
# wheels, downloadable in CI) counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
CI=${CI:-false}
LOGS=$(mktemp -d /tmp/xccl-test-steps.XXXXXX)
export XCCL_SKIP_LOG=$LOGS/rust-skips.txt
npass=0 nfail=0 nskip=0 nstep=0 nunselected=0
# XCCL_TEST_ONLY=REGEX runs only the steps whose name matches (to rerun a few; .ci/run
# unsets it).
ONLY=${XCCL_TEST_ONLY:-}
skips=() fails=()

passed() { npass=$((npass + 1)); echo "[test] passed: $1"; }
failed() { nfail=$((nfail + 1)); fails+=("$1: $2"); echo "[test] FAILED: $1: $2"; }
# skipped NAME WHY PROBE: a skip, or under CI=true a failure when PROBE (a function that
# sets `has` to what it found) says this machine has what NAME needs.
skipped() {
  local has=""
  if [ "$CI" = true ] && "$3"; then
    failed "$1" "skipped ($2) although this machine has $has (CI=true)"
  else
    nskip=$((nskip + 1)); skips+=("$1: $2"); echo "[test] SKIPPED: $1: $2"
  fi
}
# Probes: what a skipped step needed, and whether this machine has it.
root_with_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && has="root with apt-get (the packages are installable)"; }
root_with_netns() { [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null && has="root with network namespaces"; }
in_ci() { [ "$CI" = true ] && has="CI=true, where the vendor wheels are downloadable"; }

# selected NAME: whether XCCL_TEST_ONLY lets NAME run.
selected() {
  [ -z "$ONLY" ] || grep -qE -- "$ONLY" <<<"$1" && return 0
  nunselected=$((nunselected + 1)); return 1
}
# run_logged CMD...: runs CMD, its output shown and kept in $log; its exit status.
run_logged() {
  nstep=$((nstep + 1)); log=$LOGS/$nstep.log
  local rc=0
  "$@" 2>&1 | tee "$log" || rc=$?
  return "$rc"
}
# step NAME CMD...: NAME passes when CMD exits 0, else fails (exit 77 included).
step() {
  local name=$1 rc=0
  shift
  selected "$name" || return 0
  echo "[test] $name"
  run_logged "$@" || rc=$?
  if [ "$rc" = 0 ]; then passed "$name"; else failed "$name" "exit $rc (output above)"; fi
}
# optional NAME PROBE CMD...: as step, but exit 77 is a skip (its reason: the test's last
# `SKIP: ` line), a failure under CI=true when PROBE finds what the test needs.
optional() {
  local name=$1 probe=$2 rc=0 why
  shift 2
  selected "$name" || return 0
  echo "[test] $name"
  run_logged "$@" || rc=$?
  if [ "$rc" = 0 ]; then
    passed "$name"
  elif [ "$rc" = 77 ]; then
    why=$(grep -a '^SKIP: ' "$log" | tail -n 1 | cut -c7-)
    skipped "$name" "${why:-exit 77 without a SKIP: line}" "$probe"
  else
    failed "$name" "exit $rc (output above)"
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
# need COMMAND PACKAGE...: install_for, saying when the packages could not be had (the
# test that needs them then skips, and says what is missing).
need() { install_for "$@" || echo "[test] apt-get could not install $* (for $1)"; }

step "setup detection" bash tests/setup-detect-test.sh
# Vendor wheels for the bindings checks, the stand-ins' header check and the real-libnccl
# tests (cached). Once fetched, the Rust tests that need them fail instead of skipping.
echo "[test] vendor wheels (scripts/fetch-vendor-wheels.sh)"
roots=$(bash scripts/fetch-vendor-wheels.sh) || true
if grep -q '^NCCL_ROOT=' <<<"$roots" && grep -q '^TORCH_NPU_ROOT=' <<<"$roots"; then
  export XCCL_REQUIRE_VENDOR=1
  passed "vendor wheels"
else
  skipped "vendor wheels" "scripts/fetch-vendor-wheels.sh could not fetch or unpack them (see above); the Rust tests that need them skip" in_ci
fi
# analysis_alone: no crate of analysis/ depends on MPI or a vendor library.
analysis_alone() {
  local crate ok=0
  for crate in $(ls analysis); do
    if cargo tree -q -p "$crate" -e normal,build | grep -E '^.*\b(mpi|mpi-sys|cudarc|nccl-sys|hccl-sys|libloading)\b'; then
      echo "[test] analysis/$crate depends on MPI or a vendor library (above)"; ok=1
    fi
  done
  return "$ok"
}
step "rustfmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
step "no-MPI build" cargo build --no-default-features --quiet
step "the offline analysis needs no MPI and no vendor library" analysis_alone
# mpirun jobs oversubscribe the cores: run at most two test binaries' tests at once.
: >"$XCCL_SKIP_LOG"
step "cargo test" cargo test --workspace --quiet --no-fail-fast -- --test-threads="${TEST_THREADS:-2}"
# Parts of Rust tests that skipped (tests/common, sys/common/skip.rs): listed, never failed
# here (a missing vendor wheel fails the test itself under XCCL_REQUIRE_VENDOR=1).
while IFS= read -r line; do
  nskip=$((nskip + 1)); skips+=("cargo test: ${line#SKIPPED }")
done <"$XCCL_SKIP_LOG"
# The tests that need packages install them first (need), in their step.
browser_test() { need chromium chromium; bash tests/report-browser-test.sh; }
mpich_test() { need mpicc.mpich mpich libmpich-dev; bash tests/mpich-test.sh; }
slurm_test() { need slurmd slurmd slurmctld slurm-client munge; bash tests/slurm-test.sh; }
emu_test() { need jq jq; need tc iproute2; bash "$1"; }
diag_test() { need promtool prometheus; emu_test tests/diag-emu-test.sh; }
# Debian's `prometheus` package ships promtool (`promtool check metrics`).
health_test() { need promtool prometheus; emu_test tests/health-emu-test.sh; }
metrics_test() { need promtool prometheus; need jq jq; bash tests/metrics-test.sh; }
optional "HTML report in headless Chromium (DOM, console, screenshot in target/test-artifacts/)" \
  root_with_apt browser_test
optional "MPICH (a second MPI implementation, built and launched by its own mpiexec)" \
  root_with_apt mpich_test
optional "Slurm (srun --mpi=pmix on a one-node Slurm started here)" root_with_apt slurm_test
optional "--metrics files of every command pass promtool check metrics and match their JSON" \
  root_with_apt metrics_test
optional "emulated cluster (3 nodes in network namespaces, 2 switches, tc-shaped links)" \
  root_with_netns emu_test tests/emu-cluster-test.sh
optional "diagnosis on the emulated cluster (4 nodes, 2 switches, 2:1 uplink): links" \
  root_with_netns diag_test
optional "--split with 2 ranks per node on an emulated 2x2 cluster (SDMA and RDMA parts)" \
  root_with_netns emu_test tests/split-emu-test.sh
# The held-out predict-vs-train-sim gate (issue 17): its goal, 10 %, where its 4 ranks and
# their launcher can each have a core (8 or more). On fewer it fails only beyond 20 %,
# prints how many figures were within 10 %, and a failed run is run once more from new
# sweeps and calibration: there a layout's compute share moves its step by up to 19 %
# between quiet runs, and a model off by more than the hold misses both times.
# docs/PREDICT.md, "The held-out check", has the runs on 2 cores and why they spread.
train_sim_test() {
  local hold="" rc=0
  [ "$(nproc)" -ge 8 ] || hold=0.20
  local -x XCCL_TRAIN_HOLD=${XCCL_TRAIN_HOLD:-$hold}
  emu_test tests/train-sim-emu-test.sh || rc=$?
  if [ "$rc" = 1 ] && [ -n "$hold" ]; then
    echo "[test] the train-sim gate failed once (above); running it again from new sweeps"
    rc=0
    emu_test tests/train-sim-emu-test.sh || rc=$?
  fi
  return "$rc"
}
optional "predict against train-sim on an emulated 2x2 cluster, held out (step and exposed communication within the gate; NICs at half rate must miss)" \
  root_with_netns train_sim_test
optional "health on the emulated cluster (healthy: exit 0; one node's NIC at a quarter: exit 4 naming it)" \
  root_with_netns health_test
optional "rail diagnosis on an emulated rail cluster (4 nodes x 2 NICs, rank per NIC): links and links --screen, mpi, nccl and hccl (stand-ins)" \
  root_with_netns emu_test tests/rails-emu-test.sh

if [ ${#skips[@]} -gt 0 ]; then
  echo "[test] skipped:"
  printf '[test]   %s\n' "${skips[@]}"
fi
if [ ${#fails[@]} -gt 0 ]; then
  echo "[test] failed:"
  printf '[test]   %s\n' "${fails[@]}"
fi
[ "$nunselected" = 0 ] || echo "[test] XCCL_TEST_ONLY=$ONLY: $nunselected step(s) not run"
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" = 0 ]

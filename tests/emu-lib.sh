# Sourced by the tests on the emulated cluster (scripts/emu-cluster.sh): diag-emu-test.sh,
# split-emu-test.sh and train-sim-emu-test.sh. Moves to the repository root; defines skip,
# fail (the test then fails at emu_finish), emu_setup, emu_up, bench and emu_finish.
# Exit 77 (skipped) means only "this machine cannot run it" (not root, a tool missing, no
# network namespaces), decided by emu_setup before anything is set up; a cluster that then
# fails to come up (scripts/emu-cluster.sh up, `xccl-bench topo emu-plan`) fails the test.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
EMU=scripts/emu-cluster.sh
FAILED=0

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; FAILED=1; }

# emu_setup NAME LOCK WHO KEEP: skips (exit 77) unless root with mpirun, ip, tc, unshare and
# jq can create network namespaces; waits for LOCK (one such cluster at a time on this
# machine; WHO names the tests that share it); sets OUT (KEEP, or a new folder) and
# XCCL_BENCH (built when not given); takes the cluster down on exit.
emu_setup() {
    local name=$1 lock=$2 who=$3 c
    [[ $(id -u) -eq 0 ]] || skip "needs root"
    for c in mpirun ip tc unshare jq; do command -v "$c" >/dev/null || skip "missing $c"; done
    # Network namespaces may be forbidden (unprivileged container): try one.
    ip netns add "xccl-$name-probe" 2>/dev/null || skip "cannot create network namespaces here"
    ip netns del "xccl-$name-probe"
    exec 9>"$lock"
    flock -w 900 9 || { echo "FAIL: another $who test holds $lock" >&2; exit 1; }
    OUT=${4:-$(mktemp -d "/tmp/xccl-$name-test.XXXXXX")}
    mkdir -p "$OUT"
    if [[ -z ${XCCL_BENCH:-} ]]; then
        cargo build -q --release --bin xccl-bench
        XCCL_BENCH=$ROOT/target/release/xccl-bench
    fi
    export XCCL_BENCH
    trap '"$EMU" down >/dev/null 2>&1 || true' EXIT
}

# emu_up ARGS...: scripts/emu-cluster.sh up ARGS, printing its last line. When it fails,
# its whole output and FAIL go to stderr and the test exits 1: emu_setup has already
# found that this machine can run the cluster, so a failed set-up is a bug, not a skip.
emu_up() {
    local log rc=0
    log=$("$EMU" up "$@" 2>&1) || rc=$?
    if ((rc)); then
        echo "$log" >&2
        echo "FAIL: scripts/emu-cluster.sh up $* failed (exit $rc): the emulated cluster did not come up" >&2
        exit 1
    fi
    echo "$log" | tail -1
}

# bench NAME [--hosts HOSTS -np NP] ARGS...: xccl-bench ARGS on the cluster that is up (NP
# ranks on HOSTS, or as scripts/emu-cluster.sh places them); JSON in $OUT/NAME.json, the
# output in $OUT/NAME.log (printed but the per-rank lines), the exit status in $OUT/NAME.rc.
bench() {
    local name=$1 rc=0 hosts=() np=()
    shift
    if [[ ${1:-} == --hosts ]]; then
        hosts=(--hosts "$2") np=(-np "$4")
        shift 4
    fi
    timeout 300 "$EMU" run "${hosts[@]}" -- "${np[@]}" "$XCCL_BENCH" "$@" --json "$OUT/$name.json" \
        >"$OUT/$name.log" 2>&1 || rc=$?
    echo "== $name: $* (exit $rc)"
    grep -v '^#  Rank' "$OUT/$name.log" || true
    echo "$rc" >"$OUT/$name.rc"
}

# emu_finish NAME KEEP: exit 1 if anything failed; else passed, and OUT removed unless KEEP.
emu_finish() {
    if ((FAILED)); then
        echo "$1: FAILED (reports in $OUT)" >&2
        exit 1
    fi
    echo "$1: passed"
    [[ -n $2 ]] || rm -rf "$OUT"
}

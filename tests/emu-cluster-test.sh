#!/usr/bin/env bash
# End-to-end test of the topology verdict on a cluster emulated on this machine (issue 4).
# Needs root (network namespaces, tc), OpenMPI and jq; CI runs it as root. Takes ~2 min.
#
#  1. Healthy links (topologies/emu-3node.toml: 3 nodes on 2 switches, 200 Mbit/s NICs):
#     large all_reduce and sendrecv rows are "bandwidth-bound" and
#     `--min-efficiency 0.8` exits 0.
#  2. emu-n3's NIC shaped to half its declared rate (--slow-node emu-n3:0.5), the topology
#     unchanged: the same rows are "low efficiency" with RDMA as the bottleneck and
#     `--min-efficiency 0.8` exits non-zero.
#
# OpenMPI's default all_reduce for 3 ranks is not bandwidth-optimal (it measured ~0.3 of
# the ring bound here), so the test selects its ring algorithm, the one the model's ceiling
# assumes (docs/TOPOLOGY.md, "Limits").
#
# Environment: XCCL_BENCH (path of a built xccl-bench; default: cargo build --release),
# XCCL_EMU_TEST_OUT (where JSON and logs go; default: a temporary directory, kept on
# failure), XCCL_EMU_TEST_SIZES (default "-b 1M -e 8M -f 2"), XCCL_EMU_TEST_OFFLINE=1
# (run the bench without --topology and judge its saved JSON with `xccl-bench judge`: the
# same model and verdict, for a harness without the integration).
# Exit status: 0 pass, 1 fail, 77 skipped (not root / missing tools).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TOPO=topologies/emu-3node.toml
EMU=scripts/emu-cluster.sh
SLOW_NODE=emu-n3:0.5
SIZES=${XCCL_EMU_TEST_SIZES:--b 1M -e 8M -f 2}
COLLS=(all_reduce sendrecv)

skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; FAILED=1; }
[[ $(id -u) -eq 0 ]] || skip "needs root"
for c in mpirun ip tc unshare jq; do command -v "$c" >/dev/null || skip "missing $c"; done

# One emulated cluster at a time on this machine: wait for another run of this test.
exec 9>/tmp/xccl-emu-test.lock
flock -w 600 9 || { echo "FAIL: another emu-cluster-test holds /tmp/xccl-emu-test.lock" >&2; exit 1; }

OUT=${XCCL_EMU_TEST_OUT:-$(mktemp -d /tmp/xccl-emu-test.XXXXXX)}
mkdir -p "$OUT"
export XCCL_EMU_STATE=${XCCL_EMU_STATE:-$OUT/state}
FAILED=0

if [[ -z ${XCCL_BENCH:-} ]]; then
    cargo build -q --release --bin xccl-bench
    XCCL_BENCH=$ROOT/target/release/xccl-bench
fi
export XCCL_BENCH
OFFLINE=${XCCL_EMU_TEST_OFFLINE:-0}
if ((OFFLINE)); then
    echo "offline mode: verdicts from 'xccl-bench judge' on the saved reports, not from the harness"
elif ! "$XCCL_BENCH" all_reduce --help 2>&1 | grep -- --topology >/dev/null; then
    echo "FAIL: $XCCL_BENCH has no --topology flag (harness integration missing;" \
        "XCCL_EMU_TEST_OFFLINE=1 judges saved reports instead)" >&2
    exit 1
fi

# The ring all_reduce the model assumes; ranks yield their core when idle (set by the script).
export XCCL_EMU_MPIRUN_ARGS="--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 4"

trap '"$EMU" down >/dev/null 2>&1 || true' EXIT

# bench NAME COLL: runs one sweep; its exit status goes to $OUT/NAME-COLL.rc.
bench() {
    local name=$1 coll=$2 rc=0
    if ((OFFLINE)); then
        # shellcheck disable=SC2086
        timeout 150 "$EMU" run -- "$XCCL_BENCH" "$coll" $SIZES -n 8 -w 2 \
            --json "$OUT/$name-$coll.raw.json" >"$OUT/$name-$coll.log" 2>&1 || rc=$?
        if ((rc == 0)); then
            "$XCCL_BENCH" judge "$OUT/$name-$coll.raw.json" --topology "$TOPO" --min-efficiency 0.8 \
                --write "$OUT/$name-$coll.json" >>"$OUT/$name-$coll.log" 2>&1 || rc=$?
        fi
    else
        # shellcheck disable=SC2086
        timeout 150 "$EMU" run -- "$XCCL_BENCH" "$coll" $SIZES -n 8 -w 2 \
            --topology "$TOPO" --min-efficiency 0.8 --json "$OUT/$name-$coll.json" \
            >"$OUT/$name-$coll.log" 2>&1 || rc=$?
    fi
    echo "$rc" >"$OUT/$name-$coll.rc"
    echo "== $name $coll (exit $rc)"
    cat "$OUT/$name-$coll.log"
}

# Rows with a verdict, wherever the report keeps them.
ROWS='[.. | objects | select(has("verdict") and (.verdict | type) == "object")]'

# check NAME COLL CLASS: every large row has CLASS (and RDMA when low), and there is one.
check() {
    local name=$1 coll=$2 class=$3 f="$OUT/$1-$2.json"
    [[ -s $f ]] || { fail "$name $coll: no JSON report"; return; }
    jq -r "$ROWS | .[] | [(.size_bytes // .size // .bytes), (.placement // \"\"), .busbw_gbs,
        .verdict.class, .verdict.efficiency, .verdict.bottleneck, .verdict.large] | @tsv" "$f" \
        | sed 's/^/   /'
    local large bad
    large=$(jq "$ROWS | map(select(.verdict.large)) | length" "$f")
    ((large >= 1)) || { fail "$name $coll: no large-message row"; return; }
    bad=$(jq --arg c "$class" "$ROWS | map(select(.verdict.large and
        (.verdict.class != \$c or (\$c == \"low efficiency\" and .verdict.bottleneck != \"RDMA\"))))
        | length" "$f")
    ((bad == 0)) || fail "$name $coll: $bad of $large large rows are not '$class'"
    ((bad == 0)) && echo "ok: $name $coll: $large large rows '$class'"
}

echo "# healthy links"
"$EMU" up "$TOPO"
"$EMU" selftest
for c in "${COLLS[@]}"; do bench healthy "$c"; done
"$EMU" down
for c in "${COLLS[@]}"; do
    check healthy "$c" "bandwidth-bound"
    [[ $(cat "$OUT/healthy-$c.rc") == 0 ]] || fail "healthy $c: --min-efficiency 0.8 exited $(cat "$OUT/healthy-$c.rc")"
done

echo "# $SLOW_NODE"
"$EMU" up "$TOPO" --slow-node "$SLOW_NODE"
for c in "${COLLS[@]}"; do bench slow "$c"; done
"$EMU" down
for c in "${COLLS[@]}"; do
    check slow "$c" "low efficiency"
    [[ $(cat "$OUT/slow-$c.rc") != 0 ]] || fail "slow $c: --min-efficiency 0.8 exited 0"
done

if ((FAILED)); then
    echo "emu-cluster-test: FAILED (reports in $OUT)" >&2
    exit 1
fi
echo "emu-cluster-test: passed"
[[ -n ${XCCL_EMU_TEST_OUT:-} ]] || rm -rf "$OUT"

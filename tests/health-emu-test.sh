#!/usr/bin/env bash
# `xccl-bench health` on the emulated cluster: 4 nodes on 2 switches joined by a 2:1
# oversubscribed uplink (topologies/emu-4node-2sw.toml), one rank per node.
#  1. healthy: exit 0, both checks PASS, no finding; the expected duration is printed
#     before the first check starts; JSON and Markdown written;
#  2. emu-n3's NIC at a quarter rate: exit 4, the all_reduce check FAIL, the links check
#     FAIL, and every finding names emu-n3 (slow_node emu-n3 among them);
#  3. bad input: --json into a folder that does not exist: one line naming it, exit 2,
#     before anything is measured.
# The all_reduce runs with Open MPI's ring algorithm forced (its default algorithm at
# 16 MiB gives 0.50 of the model on this cluster: an `algorithm` finding, see
# tests/diag-emu-test.sh), so "healthy" means the links are.
# Metrics (--metrics) pass `promtool check metrics` and say healthy or not.
# Needs root (network namespaces, tc), OpenMPI, jq and promtool. Exit 0 pass, 1 fail, 77 skipped.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/emu-lib.sh"
TOPO=topologies/emu-4node-2sw.toml
# The all_reduce floor is lowered to 0.6: on this 2-core machine, shared with the build, a
# healthy emulated cluster gives 0.78-0.9 of the model at 16 MiB, a NIC at a quarter 0.24;
# the links floor stays at 0.8 (its suspects are measured again alone).
HEALTH_ARGS=(-b 16M -e 16M -n 3 --sweep-floor 0.6 --links-size 2M --links-iters 4)
export XCCL_EMU_MPIRUN_ARGS="--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 4"

command -v promtool >/dev/null || skip "missing promtool (Debian package prometheus)"
emu_setup health /tmp/xccl-emu-test.lock emulated-cluster "${XCCL_HEALTH_TEST_OUT:-}"
export XCCL_EMU_STATE=${XCCL_EMU_STATE:-$OUT/state}

# health NAME ARGS...: health on the cluster that is up; JSON, Markdown and the checks'
# own files under $OUT.
health() {
    local name=$1 rc=0
    shift
    mkdir -p "$OUT/$name.d"
    timeout 600 "$EMU" run -- "$XCCL_BENCH" health --topology "$TOPO" "${HEALTH_ARGS[@]}" \
        --out "$OUT/$name.d" --json "$OUT/$name.json" --markdown "$OUT/$name.md" \
        --metrics "$OUT/$name.prom" "$@" \
        >"$OUT/$name.log" 2>&1 || rc=$?
    echo "== health $name (exit $rc)"
    grep -v '^#  Rank' "$OUT/$name.log" || true
    echo "$rc" >"$OUT/$name.rc"
}

# check NAME RC SWEEP LINKS: exit status and the two checks' statuses.
check() {
    local name=$1 rc got
    rc=$(cat "$OUT/$name.rc")
    [[ $rc == "$2" ]] || fail "$name: exit $rc, want $2"
    [[ -s $OUT/$name.json ]] || { fail "$name: no JSON"; return; }
    got=$(jq -r '[.checks[].status] | join(" ")' "$OUT/$name.json")
    [[ $got == "$3 $4" ]] || fail "$name: checks [$got], want [$3 $4]"
    jq -e --argjson rc "$2" '.exit_code == $rc and .kind == "health"' "$OUT/$name.json" >/dev/null \
        || fail "$name: the JSON's exit_code is not $2"
    grep -q "^# Health: " "$OUT/$name.md" || fail "$name: no Markdown page"
    local out
    out=$(promtool check metrics <"$OUT/$name.prom" 2>&1) || fail "$name: promtool check metrics: $out"
    grep -qx "xccl_bench_health_healthy $([[ $2 == 0 ]] && echo 1 || echo 0)" "$OUT/$name.prom" \
        || fail "$name: xccl_bench_health_healthy does not say exit $2"
}

echo "# healthy"
emu_up "$TOPO"
health healthy
"$EMU" down
check healthy 0 pass pass
[[ $(jq '.findings | length' "$OUT/healthy.json") == 0 ]] || fail "healthy: findings in a healthy cluster"
# The expected duration comes first, before any check's output.
head -1 "$OUT/healthy.log" | grep -q '^# health: 2 checks, 4 ranks on 4 host(s), .* expected [0-9.]* s' \
    || fail "healthy: the first line is not the plan with its expected duration"

echo "# emu-n3's NIC at a quarter"
emu_up "$TOPO" --slow-node emu-n3:0.25
health slow-node
"$EMU" down
check slow-node 4 fail fail
jq -e '[.findings[] | select(.kind == "slow_node" and .subject.host == "emu-n3")] | length == 1' \
    "$OUT/slow-node.json" >/dev/null || fail "slow-node: no slow_node naming emu-n3"
others=$(jq -r '.findings[] | select((.subject.host // "") != "emu-n3") | "\(.kind) \(.subject)"' \
    "$OUT/slow-node.json")
[[ -z $others ]] || fail "slow-node: findings that do not name emu-n3: $others"
grep -q '^xccl_bench_finding_info{.*kind="slow_node".*host="emu-n3"' "$OUT/slow-node.prom" \
    || fail "slow-node: the metrics have no slow_node finding naming emu-n3"

echo "# bad input"
emu_up "$TOPO"
rc=0
"$EMU" run -- "$XCCL_BENCH" health --topology "$TOPO" --json /nonexistent-dir/h.json \
    >"$OUT/bad.log" 2>&1 || rc=$?
"$EMU" down
[[ $rc == 2 ]] || fail "bad --json folder: exit $rc, want 2"
[[ $(grep -c 'folder /nonexistent-dir does not exist' "$OUT/bad.log") == 1 ]] \
    || fail "bad --json folder: not one line naming the folder: $(cat "$OUT/bad.log")"
grep -q '^# health \[1/2\]' "$OUT/bad.log" && fail "bad --json folder: a check ran anyway"

emu_finish health-emu-test "${XCCL_HEALTH_TEST_OUT:-}"

#!/usr/bin/env bash
# Diagnosis scenarios on the emulated cluster (issue 8): 4 nodes on 2 switches joined by
# a 2:1 oversubscribed uplink (topologies/emu-4node-2sw.toml). Each scenario asserts the
# exact findings and nothing else:
#  1. healthy: `xccl-bench links` gives no finding (exit 0; a pair that a loaded host
#     slows in its round is measured again alone and, fine then, is no finding);
#  2. emu-n3's NIC at a quarter rate: one slow_node naming emu-n3 (exit 4), confirmed
#     alone (the evidence says `confirmed alone: X of expected`); `topo validate` with the
#     right file: the same slow_node, no misplaced_node;
#  3. the uplink emu-sw1 <-> emu-sw2 at a quarter rate: one slow_uplink naming it, no node,
#     from `links` and from `topo validate` with the right file (no misplaced_node);
#  4. healthy, `all_reduce --delay 2:20000`: one slow_rank naming rank 2 on emu-n3 (exit 4);
#  5. healthy, `all_reduce --split` with OpenMPI's default all_reduce algorithm: one
#     `algorithm` finding (measured: whole 0.50 of expected at 16 MiB, the sendrecv probe
#     of the same ranks 0.94), no link finding (exit 4);
#  6. the same with the ring algorithm forced: no finding (measured 0.86, exit 0);
#  7. healthy, `topo validate` with the right file: no finding (exit 0; its uplink load
#     tests included); with a copy that declares emu-n2 under emu-sw2: one misplaced_node
#     naming emu-n2 (exit 4), and its --slurm-out topology.conf has emu-n2 back on emu-sw1
#     (with the right file: the file's own grouping, as `topo export --slurm` writes it);
#  8. `links --screen` (O(log N) screen): healthy → no finding (exit 0); emu-n3 slow →
#     slow_node emu-n3 only (exit 4), and the rounds used are printed;
#  9. the traffic between emu-n1 and emu-n2 only at a quarter (`--slow-link`): `links` gives
#     one slow_link naming that pair (exit 4);
# 10. a non-blocking fabric (the uplink at 1:1, so declared and shaped): `topo validate`
#     cannot tell the leaves apart by contention, says so, and gives no finding (exit 0);
# 11. 8 nodes on 2 leaves of 4 (topologies/emu-8node-2sw.toml, 4:1 uplink), `topo validate`
#     with a copy that declares emu-n3 under emu-sw2: the plan chosen with the declared
#     leaves (fewer than the 420 tests of every two disjoint flows), the two measured
#     groups, and one misplaced_node naming emu-n3 (exit 4).
# 12. 6 nodes, 4 + 2 on two leaves (2:1), emu-n2 and emu-n5 at a quarter (a slow node in
#     each half of the screen): `links` and `links --screen` both name exactly both.
# Needs root (network namespaces, tc), OpenMPI, jq and promtool (Debian's prometheus). Exit 0 pass, 1 fail, 77 skipped.
# Environment: XCCL_BENCH (a built binary; default cargo build --release), XCCL_DIAG_TEST_OUT
# (keep reports there).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/emu-lib.sh"
command -v promtool >/dev/null || skip "missing promtool (Debian package prometheus)"
TOPO=topologies/emu-4node-2sw.toml
LINKS_ARGS=${XCCL_DIAG_LINKS_ARGS:---size 2M -n 4}

# One emulated cluster at a time on this machine (shared with tests/emu-cluster-test.sh).
emu_setup diag /tmp/xccl-emu-test.lock emulated-cluster "${XCCL_DIAG_TEST_OUT:-}"
export XCCL_EMU_STATE=${XCCL_EMU_STATE:-$OUT/state}

# links NAME: the pairwise test on the cluster that is up; JSON in $OUT/NAME.json.
links() {
    local name=$1 rc=0
    # shellcheck disable=SC2086
    timeout 300 "$EMU" run -- "$XCCL_BENCH" links --topology "$TOPO" $LINKS_ARGS \
        --json "$OUT/$name.json" --metrics "$OUT/$name.prom" >"$OUT/$name.log" 2>&1 || rc=$?
    echo "== links $name (exit $rc)"
    cat "$OUT/$name.log"
    echo "$rc" >"$OUT/$name.rc"
}

# expect NAME RC 'KIND SUBJECT'...: exactly these findings (kind and subject as printed).
expect() {
    local name=$1 want_rc=$2 f="$OUT/$1.json"
    shift 2
    [[ -s $f ]] || { fail "$name: no JSON report"; return; }
    local got want
    got=$(jq -r '.findings[] | "\(.kind) \(.subject | if .type == "host" then .host
        elif .type == "switches" then (.switches | join("<->"))
        elif .type == "link" then "\(.a)<->\(.b)"
        elif .type == "rank" then "rank\(.rank)@\(.host)"
        elif .type == "placement" then .host
        elif .type == "operation" then .collective else tostring end)"' "$f" | sort)
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    if [[ $got == "$want" ]]; then
        echo "ok: $name: findings [${want//$'\n'/; }]"
    else
        fail "$name: findings [${got//$'\n'/; }], want [${want//$'\n'/; }]"
    fi
    local rc
    rc=$(cat "$OUT/$name.rc")
    [[ $rc == "$want_rc" ]] || fail "$name: exit $rc, want $want_rc"
}

echo "# healthy"
"$EMU" up "$TOPO"
links healthy
# Rank 2 (emu-n3) 20 ms late at every call; small sizes keep each call under it.
bench delay all_reduce -b 1K -e 16K -f 4 -n 8 -w 2 --delay 2:20000
# --split at 16 MiB: large enough that the model judges it on bandwidth (α share < 0.1).
bench split-default all_reduce -b 16M -e 16M -n 3 -w 1 --split --topology "$TOPO"
XCCL_EMU_MPIRUN_ARGS="--mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 4" \
    bench split-ring all_reduce -b 16M -e 16M -n 3 -w 1 --split --topology "$TOPO"
sed -e 's/^hosts = \["emu-n1", "emu-n2"\]/hosts = ["emu-n1"]/' \
    -e 's/^hosts = \["emu-n3", "emu-n4"\]/hosts = ["emu-n2", "emu-n3", "emu-n4"]/' \
    "$TOPO" >"$OUT/misplaced.toml"
grep -q '"emu-n2", "emu-n3"' "$OUT/misplaced.toml" || fail "could not write the misplaced topology"
bench validate topo validate "$TOPO" --slurm-out "$OUT/validate.conf"
bench validate-misplaced topo validate "$OUT/misplaced.toml" --slurm-out "$OUT/corrected.conf"
# shellcheck disable=SC2086
bench screen-healthy links --screen --topology "$TOPO" $LINKS_ARGS
"$EMU" down
expect healthy 0
expect delay 4 "slow_rank rank2@emu-n3"
expect split-default 4 "algorithm all_reduce"
expect split-ring 0
expect validate 0
expect validate-misplaced 4 "misplaced_node emu-n2"
# --slurm-out: topology.conf of the grouping measured (comment lines aside).
conf_of() { grep -v '^#' "$1" 2>/dev/null || true; }
want_conf=$'SwitchName=emu-sw1 Nodes=emu-n[1-2]\nSwitchName=emu-sw2-nodes Nodes=emu-n[3-4]\nSwitchName=emu-sw2 Switches=emu-sw1,emu-sw2-nodes'
if [[ $(conf_of "$OUT/corrected.conf") == "$want_conf" ]]; then
    echo "ok: validate --slurm-out: emu-n2 back on emu-sw1 in topology.conf"
else
    fail "validate --slurm-out wrote [$(conf_of "$OUT/corrected.conf")], want [$want_conf]"
fi
if [[ $(conf_of "$OUT/validate.conf") == "$("$XCCL_BENCH" topo export "$TOPO" --slurm - | grep -v '^#')" ]]; then
    echo "ok: validate --slurm-out with the right file: its own grouping"
else
    fail "validate --slurm-out with the right file wrote [$(conf_of "$OUT/validate.conf")]"
fi
# The report shows the grouping inferred against declared, the misplaced host marked.
if "$XCCL_BENCH" report "$OUT/validate-misplaced.json" -o "$OUT/validate.html" >/dev/null 2>&1 \
    && grep -q '<section id="validate-0">' "$OUT/validate.html" \
    && [[ $(grep -c 'misplaced</td>' "$OUT/validate.html") == 1 ]] \
    && grep -q '<td class="l">emu-n2</td><td class="l">emu-sw2</td>.*misplaced</td>' "$OUT/validate.html"; then
    echo "ok: report of topo validate: emu-n2 marked misplaced, and only it"
else
    fail "report of topo validate: no grouping section or emu-n2 not (only) marked"
fi
expect screen-healthy 0

echo "# emu-n3's NIC at a quarter"
"$EMU" up "$TOPO" --slow-node emu-n3:0.25
links slow-node
# shellcheck disable=SC2086
bench screen-slow-node links --screen --topology "$TOPO" $LINKS_ARGS
bench validate-slow-node topo validate "$TOPO"
"$EMU" down
expect slow-node 4 "slow_node emu-n3"
# Its Prometheus metrics (--metrics): promtool accepts them, they name the same finding,
# and the low links are those of the JSON.
promtool check metrics <"$OUT/slow-node.prom" || fail "slow-node: promtool check metrics"
grep -qxF 'xccl_bench_finding_info{kind="slow_node",subject="host",host="emu-n3"} 1' "$OUT/slow-node.prom" \
    || fail "slow-node: no finding_info series naming emu-n3"
[[ $(grep -cE '^xccl_bench_link_low\{.*\} 1$' "$OUT/slow-node.prom") == \
    $(jq '[.matrix.links[] | select(.low)] | length' "$OUT/slow-node.json") ]] \
    || fail "slow-node: the low links of the metrics are not those of the JSON"
# A slow NIC cannot load an uplink, so its flows say nothing about placement: a slow
# node, never a misplaced one.
expect validate-slow-node 4 "slow_node emu-n3"
# Confirmed by measuring its links again alone: the evidence says so and the lines are printed.
jq -e '.findings[0].evidence | test("confirmed alone: [0-9.]+ of expected")' "$OUT/slow-node.json" >/dev/null \
    || fail "slow-node: the finding does not say it was confirmed alone"
grep -q '^# confirm emu-n.* alone: .* LOW$' "$OUT/slow-node.log" || fail "slow-node: no confirmation line"
expect screen-slow-node 4 "slow_node emu-n3"
grep -q '^# screen: 1 round(s)' "$OUT/screen-slow-node.log" || fail "screen-slow-node: rounds not printed"

echo "# uplink emu-sw1 <-> emu-sw2 at a quarter"
"$EMU" up "$TOPO" --slow-uplink emu-sw1:0.25
links slow-uplink
bench validate-slow-uplink topo validate "$TOPO" --metrics "$OUT/validate-slow-uplink.prom"
"$EMU" down
expect slow-uplink 4 "slow_uplink emu-sw1<->emu-sw2"
jq -e '.findings[0].evidence | test("confirmed alone: [0-9.]+ of expected")' "$OUT/slow-uplink.json" >/dev/null \
    || fail "slow-uplink: the finding does not say it was confirmed alone"
expect validate-slow-uplink 4 "slow_uplink emu-sw1<->emu-sw2"
# topo validate's metrics: promtool accepts them; the finding names the uplink's switches,
# and each uplink load test's efficiency is the JSON's.
V=$OUT/validate-slow-uplink
promtool check metrics <"$V.prom" || fail "validate-slow-uplink: promtool check metrics"
sw=$(jq -r '.findings[0].subject.switches | join(",")' "$V.json")
grep -qxF "xccl_bench_finding_info{kind=\"slow_uplink\",subject=\"switches\",switches=\"$sw\"} 1" "$V.prom" \
    || fail "validate-slow-uplink: no finding_info series naming $sw"
while read -r s p d e; do
    got=$(grep -F "xccl_bench_uplink_efficiency_ratio{switch=\"$s\",parent=\"$p\",direction=\"$d\"} " "$V.prom" | awk '{print $NF}')
    awk -v a="$got" -v b="$e" 'BEGIN { exit !(a != "" && (a - b) ^ 2 <= (1e-9 * b) ^ 2) }' \
        || fail "validate-slow-uplink: uplink $s $d efficiency ${got:-missing} in the metrics, $e in the JSON"
done < <(jq -r '.uplinks[] | "\(.uplink[0]) \(.uplink[1]) \(.dir) \(.efficiency)"' "$V.json")

echo "# the pair emu-n1 <-> emu-n2 at a quarter"
"$EMU" up "$TOPO" --slow-link emu-n1:emu-n2:0.25
links slow-link
"$EMU" down
expect slow-link 4 "slow_link emu-n1<->emu-n2"
jq -e '.findings[0].evidence | test("confirmed alone: [0-9.]+ of expected")' "$OUT/slow-link.json" >/dev/null \
    || fail "slow-link: the finding does not say it was confirmed alone"

echo "# a non-blocking fabric: the uplink carries both NICs (1:1)"
# Two crossing flows never slow each other down here: contention cannot tell the two
# leaves apart, which is no misplaced_node (before, one measured group was compared with
# the file and two nodes were called misplaced).
sed -e 's/^uplink_gbps = 0.4 .*/uplink_gbps = 0.8/' "$TOPO" >"$OUT/nonblocking.toml"
grep -q '^uplink_gbps = 0.8$' "$OUT/nonblocking.toml" || fail "could not write the non-blocking topology"
"$EMU" up "$OUT/nonblocking.toml"
bench validate-nonblocking topo validate "$OUT/nonblocking.toml"
"$EMU" down
expect validate-nonblocking 0
jq -e '.indistinguishable == [["emu-sw1", "emu-sw2"]]' "$OUT/validate-nonblocking.json" >/dev/null \
    || fail "validate-nonblocking: the JSON does not say emu-sw1 and emu-sw2 cannot be told apart"

echo "# 6 nodes (4 + 2 on two leaves), one NIC at a quarter on each leaf: a fault on every half"
# Issue 16: the screen judged each group only against the best group of its round, and
# with a slow node in both halves it found nothing. Both must name both nodes.
sed -e 's/^name = "emu-4node-2sw"/name = "emu-6node-2sw"/' \
    -e 's/^hosts = \["emu-n1", "emu-n2", "emu-n3", "emu-n4"\]/hosts = ["emu-n1", "emu-n2", "emu-n3", "emu-n4", "emu-n5", "emu-n6"]/' \
    -e 's/^hosts = \["emu-n1", "emu-n2"\]/hosts = ["emu-n1", "emu-n2", "emu-n3", "emu-n4"]/' \
    -e 's/^hosts = \["emu-n3", "emu-n4"\]/hosts = ["emu-n5", "emu-n6"]/' \
    -e 's/^uplink_gbps = 0.4 .*/uplink_gbps = 0.8/' "$TOPO" >"$OUT/six.toml"
grep -q '^hosts = \["emu-n5", "emu-n6"\]' "$OUT/six.toml" || fail "could not write the 6-node topology"
"$EMU" up "$OUT/six.toml" --slow-node emu-n2:0.25 --slow-node emu-n5:0.25
# shellcheck disable=SC2086
bench six-pairwise links --topology "$OUT/six.toml" $LINKS_ARGS
# shellcheck disable=SC2086
bench six-screen links --screen --topology "$OUT/six.toml" $LINKS_ARGS
"$EMU" down
expect six-pairwise 4 "slow_node emu-n2" "slow_node emu-n5"
expect six-screen 4 "slow_node emu-n2" "slow_node emu-n5"
grep -q '^# screen: 1 round(s)' "$OUT/six-screen.log" || fail "six-screen: rounds not printed"

echo "# 8 nodes on 2 leaves: the plan that grows as N x leaves^2"
TOPO8=topologies/emu-8node-2sw.toml
sed -e 's/^hosts = \["emu-n1", "emu-n2", "emu-n3", "emu-n4"\]/hosts = ["emu-n1", "emu-n2", "emu-n4"]/' \
    -e 's/^hosts = \["emu-n5", "emu-n6", "emu-n7", "emu-n8"\]/hosts = ["emu-n3", "emu-n5", "emu-n6", "emu-n7", "emu-n8"]/' \
    "$TOPO8" >"$OUT/misplaced8.toml"
grep -q '"emu-n3", "emu-n5"' "$OUT/misplaced8.toml" || fail "could not write the 8-node misplaced topology"
"$EMU" up "$TOPO8"
bench validate8-misplaced topo validate "$OUT/misplaced8.toml"
"$EMU" down
expect validate8-misplaced 4 "misplaced_node emu-n3"
tests8=$(sed -n 's/^xccl-bench: topo validate: \([0-9]*\) contention tests.*/\1/p' "$OUT/validate8-misplaced.log")
[[ -n $tests8 && $tests8 -lt 420 ]] || fail "validate8-misplaced: ${tests8:-no} contention tests, want fewer than 420"
jq -e '.groups == [["emu-n1", "emu-n2", "emu-n3", "emu-n4"], ["emu-n5", "emu-n6", "emu-n7", "emu-n8"]]' \
    "$OUT/validate8-misplaced.json" >/dev/null \
    || fail "validate8-misplaced: the measured groups are not the two leaves of four"

emu_finish diag-emu-test "${XCCL_DIAG_TEST_OUT:-}"

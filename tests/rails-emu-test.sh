#!/usr/bin/env bash
# Rail diagnosis on the emulated rail cluster (issue 16, item 5): tests/rails-emu.toml,
# 4 network-namespace nodes x 2 ranks, each rank bound to its own NIC (eth0 / eth1), NIC i
# of every node on rail leaf i, the two rail leaves joined through a spine bridge by
# 50 Mbit/s uplinks (8:1). First `scripts/emu-cluster.sh selftest`: every rank's stream
# leaves through its own NIC (tc counters) at the rate its path allows. Then each scenario
# runs `xccl-bench links --topology tests/rails-emu.toml` pairwise with `--backend mpi`,
# `--backend nccl` and `--backend hccl` (the NCCL and HCCL stand-ins, their send/recv on
# MPI, so on the same per-rank NIC) and with `--screen` (all three), and asserts the exact
# findings and nothing else, the screen's the same as the pairwise test's, and that the
# screen itself (its suspects or fabric sample, not only its references) held the host of
# every finding:
#  1. healthy → none (exit 0);
#  2. rail-n2's eth1 at a quarter (`--slow-nic`) → one slow_nic naming rail-n2 eth1 (exit 4);
#  3. every NIC of rail-n3 at a quarter (`--slow-node`) → one slow_node naming rail-n3;
#  4. rail-leaf1's uplink at a quarter (`--slow-uplink`) → one slow_uplink naming the path
#     rail-leaf0 <-> rail-spine <-> rail-leaf1: with two leaves every cross-rail link climbs
#     one leaf's uplink and descends the other's, so no measurement can tell the two apart
#     (three rails would; 12 ranks on these 2 cores would not fit the test's time);
#  5. rail-n4's eth1 plugged into rail 0's bridge while the file declares rail 1
#     (`--miswire`) → one miswired_nic naming rail-n4 eth1, behaving as on rail 0;
#  6. a slow NIC in each half of the nodes (rail-n1 eth0 and rail-n4 eth1 at a quarter):
#     two slow_nic, from the screen as from the pairwise test (the screen once judged
#     each group against the best group, and a fault in every group disappeared).
# Needs root (network namespaces, tc), OpenMPI, mpicc, cc and jq. Exit 0 pass, 1 fail, 77
# skipped (this machine cannot run it).
# Environment: XCCL_BENCH (a built binary; default cargo build --release),
# XCCL_RAILS_TEST_OUT (keep reports there), XCCL_RAILS_LINKS_ARGS (links' size and
# iterations, default `--size 1M -n 3`: at 100 Mbit/s a 1 MiB message takes 84 ms, and the
# ~5 ms per message that rendezvous and loaded cores add stay under 10 %), XCCL_RAILS_SCENARIOS
# and XCCL_RAILS_BACKENDS (names to run, default all; a subset is for development: CI runs all),
# XCCL_RAILS_SCREEN_BACKENDS (backends that also run --screen, default mpi nccl hccl: each
# scenario's six runs take ~3 minutes on 2 shared cores).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/emu-lib.sh"
TOPO=tests/rails-emu.toml
LINKS_ARGS=${XCCL_RAILS_LINKS_ARGS:---size 1M -n 3}
SCENARIOS=${XCCL_RAILS_SCENARIOS:-healthy slow-nic slow-node slow-uplink miswire slow-nic-halves}
BACKENDS=${XCCL_RAILS_BACKENDS:-mpi nccl hccl}
SCREEN_BACKENDS=${XCCL_RAILS_SCREEN_BACKENDS:-mpi nccl hccl}
T0=$SECONDS

for c in mpicc cc; do command -v "$c" >/dev/null || skip "missing $c"; done
# Namespaces rail-n*, bridges xrbr*: its own names, but one emulated cluster at a time on
# this machine's two cores (timings).
emu_setup rails /tmp/xccl-emu-test.lock emulated-cluster "${XCCL_RAILS_TEST_OUT:-}"
export XCCL_EMU_STATE=$OUT/state XCCL_EMU_PREFIX=${XCCL_EMU_PREFIX:-xr}

# The NCCL stand-in (tests/standin: libcuda.so and libnccl.so.2 over MPI), as
# tests/common/standin.rs builds it.
SI=$OUT/standin
mkdir -p "$SI"
CFLAGS=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -shared -fPIC -O1)
cc "${CFLAGS[@]}" -o "$SI/libcuda.so" tests/standin/cuda_standin.c
mpicc "${CFLAGS[@]}" -o "$SI/libnccl.so.2" tests/standin/nccl_standin.c -L"$SI" \
    -DSTANDIN_NCCL_VERSION=22803 -lcuda -lm -Wl,-rpath,'$ORIGIN'
# The HCCL stand-in (libascendcl.so and libhccl.so over MPI), as tests/common/standin.rs.
cc "${CFLAGS[@]}" -o "$SI/libascendcl.so" tests/standin/acl_standin.c
mpicc "${CFLAGS[@]}" -o "$SI/libhccl.so" tests/standin/hccl_standin.c -L"$SI" \
    -lascendcl -lm -Wl,-rpath,'$ORIGIN'

# links NAME BACKEND [--screen]: the test on the cluster that is up, 2 ranks per node;
# JSON in $OUT/NAME.json, output in $OUT/NAME.log, exit status in $OUT/NAME.rc.
links() {
    local name=$1 backend=$2 rc=0
    shift 2
    local -a env=()
    case $backend in
        nccl) env=(-x "LD_LIBRARY_PATH=$SI" -x "XCCL_NCCL_LIB=$SI/libnccl.so.2" -x XCCL_STANDIN_GPUS=2) ;;
        hccl) env=(-x "XCCL_ACL_LIB=$SI/libascendcl.so" -x "XCCL_HCCL_LIB=$SI/libhccl.so" -x XCCL_STANDIN_NPUS=2) ;;
    esac
    # shellcheck disable=SC2086
    timeout 300 "$EMU" run -- "${env[@]}" "$XCCL_BENCH" links --backend "$backend" \
        --topology "$TOPO" $LINKS_ARGS "$@" --json "$OUT/$name.json" >"$OUT/$name.log" 2>&1 || rc=$?
    echo "== links $name: --backend $backend $* (exit $rc, $((SECONDS - T0)) s in)"
    grep -v '^#  Rank' "$OUT/$name.log" | tail -n 40 || true
    echo "$rc" >"$OUT/$name.rc"
}

# expect NAME RC 'KIND SUBJECT'...: exactly these findings. Subjects: a host; a NIC as
# HOST:NIC (a miswired one HOST:NIC@rRAIL, the rail it behaves as on); switches joined by
# <-> in sorted order.
expect() {
    local name=$1 want_rc=$2 f="$OUT/$1.json"
    shift 2
    [[ -s $f ]] || { fail "$name: no JSON report"; return; }
    local got want rc
    got=$(jq -r '.findings[] | "\(.kind) \(.subject | if .type == "host" then .host
        elif .type == "nic" then "\(.host):\(.nic)\(if .behaves_as_rail != null then "@r\(.behaves_as_rail)" else "" end)"
        elif .type == "switches" then (.switches | sort | join("<->"))
        elif .type == "link" then "\(.a)<->\(.b)"
        else tostring end)"' "$f" | sort)
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
    if [[ $got == "$want" ]]; then
        echo "ok: $name: findings [${want//$'\n'/; }]"
    else
        fail "$name: findings [${got//$'\n'/; }], want [${want//$'\n'/; }]"
    fi
    rc=$(cat "$OUT/$name.rc")
    [[ $rc == "$want_rc" ]] || fail "$name: exit $rc, want $want_rc"
}

# expect_screen NAME 'FINDING'...: the screen itself (its suspects or its fabric sample,
# not only the references it adds) held the host of every finding naming one, and held
# something when a finding names none (an uplink); its rounds beside the full plan's.
expect_screen() {
    local name=$1 f="$OUT/$1.json" w host held bad=0
    shift
    [[ -s $f ]] || return 0
    held=$(jq -r '(.suspects + .sample)[]' "$f")
    for w in "$@"; do
        [[ -n $w ]] || continue
        host=${w#* }
        if [[ $host == *"<->"* ]]; then
            [[ -n $held ]] || { fail "$name: the screen held nothing, yet '$w' is a finding"; bad=1; }
            continue
        fi
        host=${host%%:*}
        grep -qx "$host" <<<"$held" || {
            fail "$name: the screen did not hold $host ('$w'); it held [${held//$'\n'/ }]"
            bad=1
        }
    done
    ((bad)) || echo "ok: $name: screen held [${held//$'\n'/ }] in $(jq -r '"\(.rounds) round(s) (full per-device plan: \(.full_plan_rounds)), then \(.confirmation_rounds) round(s) on [\(.confirmed_on | join(" "))]"' "$f")"
}

# scenario NAME RC 'FINDING'... -- UP_ARGS...: the cluster up with UP_ARGS, links pairwise
# and screened through each backend, each asserted.
scenario() {
    local name=$1 rc=$2
    shift 2
    local -a want=() up=()
    while [[ $# -gt 0 && $1 != -- ]]; do want+=("$1"); shift; done
    shift
    up=("$@")
    [[ " $SCENARIOS " == *" $name "* ]] || return 0
    echo "# $name: ${up[*]:-healthy}"
    emu_up "$TOPO" "${up[@]}"
    local b
    for b in $BACKENDS; do
        links "$name-$b" "$b"
    done
    for b in $SCREEN_BACKENDS; do
        links "$name-$b-screen" "$b" --screen
    done
    "$EMU" down >/dev/null 2>&1 || true
    for b in $BACKENDS; do
        expect "$name-$b" "$rc" "${want[@]}"
    done
    for b in $SCREEN_BACKENDS; do
        expect "$name-$b-screen" "$rc" "${want[@]}"
        expect_screen "$name-$b-screen" "${want[@]}"
    done
}

# The emulation itself: rates and per-rank NICs (tc counters).
if [[ " $SCENARIOS " == *" healthy "* ]]; then
    emu_up "$TOPO"
    if "$EMU" selftest >"$OUT/selftest.log" 2>&1; then
        echo "ok: selftest: every rank's stream on its own NIC at the rate its path allows"
        grep -E '^(ok|off)' "$OUT/selftest.log" || true
    else
        cat "$OUT/selftest.log"
        fail "selftest: a rate is off or a rank's traffic left through another NIC"
    fi
    "$EMU" down >/dev/null 2>&1 || true
fi

scenario healthy 0 --
scenario slow-nic 4 "slow_nic rail-n2:eth1" -- --slow-nic rail-n2:eth1:0.25
scenario slow-node 4 "slow_node rail-n3" -- --slow-node rail-n3:0.25
scenario slow-uplink 4 "slow_uplink rail-leaf0<->rail-leaf1<->rail-spine" -- --slow-uplink rail-leaf1:0.25
scenario miswire 4 "miswired_nic rail-n4:eth1@r0" -- --miswire rail-n4:eth1:rail-leaf0
scenario slow-nic-halves 4 "slow_nic rail-n1:eth0" "slow_nic rail-n4:eth1" -- \
    --slow-nic rail-n1:eth0:0.25 --slow-nic rail-n4:eth1:0.25

echo "rails-emu-test: $((SECONDS - T0)) s"
emu_finish rails-emu-test "${XCCL_RAILS_TEST_OUT:-}"

#!/usr/bin/env bash
# A cluster emulated on one machine (ip-netns(8), tc-tbf(8), unshare(1) and Open MPI's
# launch agent: docs/SOURCES.md [linux-netns], [openmpi-41]): nodes are network
# namespaces with their own hostnames, NICs are veth pairs shaped with `tc tbf`, switches
# are Linux bridges, switch uplinks are shaped veth pairs between bridges, and mpirun
# reaches the nodes through scripts/emu-agent.sh. Link rates come from the topology file through
# `xccl-bench topo emu-plan`, so they are the rates the verdict compares against.
#
#   emu-cluster.sh up TOPOLOGY.toml [--slow-node HOST:FRACTION]... [--slow-uplink SWITCH:FRACTION]...
#                                   [--slow-link HOST_A:HOST_B:FRACTION]...
#   emu-cluster.sh run [--hosts H1,H2] [--] MPIRUN_ARGS...    # mpirun with -H and MCA set
#   emu-cluster.sh exec HOST COMMAND...                       # one command on one node
#   emu-cluster.sh with TOPOLOGY.toml [--slow-node H:F]... -- MPIRUN_ARGS...   # up, run, down
#   emu-cluster.sh selftest                                   # hostnames + tc rates via MPI
#   emu-cluster.sh hosts | status | down
#
# --slow-node (or XCCL_EMU_SLOW="HOST:FRACTION[,...]") shapes that node's NIC to a fraction
# of its declared rate in both directions; the topology still declares the healthy rate.
# --slow-uplink shapes a switch's uplink the same way; --slow-link shapes the traffic
# between two nodes only (both directions: an htb class with a u32 filter on the peer's
# address on each node's NIC, the node's other traffic keeping the NIC rate).
# Needs root, iproute2 (ip, tc), util-linux (unshare) and OpenMPI (tested with 4.1).
# Environment: XCCL_EMU_STATE (state dir, default /tmp/xccl-emu), XCCL_EMU_PREFIX
# (interface name prefix, default xe), XCCL_BENCH (a built xccl-bench binary; default
# `cargo run --bin xccl-bench`), XCCL_EMU_MPIRUN_ARGS (extra mpirun args for `run`),
# XCCL_EMU_QUEUE_MS (tbf queue length, default 10 ms), XCCL_EMU_SUBNET (A.B.C: use
# A.B.C.0/24 instead of the topology's [emulation] subnet, so that two clusters of the
# same file, or two files with the same subnet, can be up at once under different
# XCCL_EMU_PREFIX; `up` refuses a subnet whose address is already on an interface).
# `run` adds mpi_yield_when_idle: the nodes share the machine's few cores, and spinning
# ranks would steal them from the ranks that have data to move.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STATE=${XCCL_EMU_STATE:-/tmp/xccl-emu}
PFX=${XCCL_EMU_PREFIX:-xe}
AGENT=$HERE/emu-agent.sh

die() { echo "emu-cluster: $*" >&2; exit 1; }
log() { echo "emu-cluster: $*" >&2; }

usage() {
    sed -n '8,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

topo_bin() {
    if [[ -n ${XCCL_BENCH:-} ]]; then
        "$XCCL_BENCH" topo "$@"
    else
        (cd "$ROOT" && cargo run -q --bin xccl-bench -- topo "$@")
    fi
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, tc)"
    local c
    for c in ip tc unshare; do
        command -v "$c" >/dev/null || die "missing command: $c"
    done
}

# Record how to undo a step; `down` replays the log backwards.
undo() { printf '%s\n' "$*" >>"$STATE/undo"; }

tbf() { # DEV KBIT [netns]
    local dev=$1 kbit=$2 ns=${3:-}
    # Burst: 2 ms at rate, at least 64 KiB (a GSO packet); queue: XCCL_EMU_QUEUE_MS (10 ms).
    local burst=$((kbit / 4))
    ((burst < 65536)) && burst=65536
    if [[ -n $ns ]]; then
        ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "${kbit}kbit" burst "$burst" latency "${XCCL_EMU_QUEUE_MS:-10}ms"
    else
        tc qdisc replace dev "$dev" root tbf rate "${kbit}kbit" burst "$burst" latency "${XCCL_EMU_QUEUE_MS:-10}ms"
    fi
}

# Traffic from node A to node B only at FRACTION of A's NIC rate: an htb root on A's
# eth0 (the NIC rate for everything, as the tbf it replaces) with a slower class that a
# u32 filter on B's address selects.
slow_link() { # A B FRACTION PLAN
    local a=$1 b=$2 f=$3 plan=$4 kbit baddr slow
    kbit=$(awk -v h="$a" '$1 == "node" && $3 == h {print $6}' <<<"$plan")
    baddr=$(awk -v h="$b" '$1 == "node" && $3 == h {print $4}' <<<"$plan")
    slow=$(awk -v k="$kbit" -v f="$f" 'BEGIN {printf "%d", k * f}')
    local -a tcn=(ip netns exec "$a" tc)
    "${tcn[@]}" qdisc replace dev eth0 root handle 1: htb default 10
    "${tcn[@]}" class add dev eth0 parent 1: classid 1:1 htb rate "${kbit}kbit" ceil "${kbit}kbit"
    "${tcn[@]}" class add dev eth0 parent 1:1 classid 1:10 htb rate "${kbit}kbit" ceil "${kbit}kbit"
    "${tcn[@]}" class add dev eth0 parent 1:1 classid 1:20 htb rate "${slow}kbit" ceil "${slow}kbit"
    "${tcn[@]}" filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst "$baddr/32" flowid 1:20
    log "link $a -> $b at ${slow} kbit/s (fraction $f of ${kbit})"
}

cmd_down() {
    [[ -d $STATE ]] || { log "nothing to tear down ($STATE absent)"; return 0; }
    if [[ -f $STATE/nodes ]]; then
        local h pid
        while read -r h _; do
            # End the processes still running in our namespaces (by id).
            for pid in $(ip netns pids "$h" 2>/dev/null); do
                kill "$pid" 2>/dev/null || true
            done
        done <"$STATE/nodes"
        sleep 0.2
        while read -r h _; do
            for pid in $(ip netns pids "$h" 2>/dev/null); do
                kill -9 "$pid" 2>/dev/null || true
            done
        done <"$STATE/nodes"
    fi
    if [[ -f $STATE/undo ]]; then
        local line
        tac "$STATE/undo" | while IFS= read -r line; do
            eval "$line" 2>/dev/null || true
        done
    fi
    rm -rf "$STATE"
    log "down"
}

cmd_up() {
    local topo=${1:-}
    [[ -n $topo ]] || usage
    shift
    [[ -f $topo ]] || die "no topology file $topo"
    need_root
    [[ ! -e $STATE ]] || die "an emulated cluster is already up ($STATE); run '$0 down' first"
    if ip -br link show 2>/dev/null | grep "^${PFX}br" >/dev/null; then
        die "bridges ${PFX}br* exist: another emulated cluster is up (other XCCL_EMU_STATE?);" \
            "take it down or set XCCL_EMU_PREFIX"
    fi
    # --slow-link is shaped here (after the nodes); the rest goes to emu-plan.
    local -a planargs=() slowlinks=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --slow-link) [[ $# -ge 2 ]] || die "--slow-link needs HOST_A:HOST_B:FRACTION"; slowlinks+=("$2"); shift 2 ;;
            --slow-link=*) slowlinks+=("${1#--slow-link=}"); shift ;;
            *) planargs+=("$1"); shift ;;
        esac
    done
    local plan
    plan=$(topo_bin emu-plan "$topo" "${planargs[@]}") || die "cannot plan the emulation of $topo"
    if [[ -n ${XCCL_EMU_SUBNET:-} ]]; then
        local new=${XCCL_EMU_SUBNET%.0/24} old
        [[ $new =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "XCCL_EMU_SUBNET=$XCCL_EMU_SUBNET: want A.B.C or A.B.C.0/24"
        old=$(awk '$1 == "subnet" {sub(/\.0\/24$/, "", $2); print $2}' <<<"$plan")
        plan=$(sed "s/\b${old//./\\.}\./$new./g" <<<"$plan")
    fi
    local sl
    for sl in "${slowlinks[@]}"; do
        local sa sb sf
        IFS=: read -r sa sb sf <<<"$sl"
        [[ -n $sa && -n $sb && $sa != "$sb" && $sf =~ ^(0?\.[0-9]*[1-9][0-9]*|1(\.0*)?)$ ]] \
            || die "--slow-link $sl: want HOST_A:HOST_B:FRACTION, two different hosts, fraction in (0, 1]"
        for h in "$sa" "$sb"; do
            awk -v h="$h" '$1 == "node" && $3 == h {f = 1} END {exit !f}' <<<"$plan" \
                || die "--slow-link $sl: no host $h in $topo"
        done
    done
    local maddr0
    maddr0=$(awk '$1 == "mpirun_addr" {print $2}' <<<"$plan")
    if ip -o addr show 2>/dev/null | grep " inet $maddr0/" >/dev/null; then
        die "address $maddr0 (subnet of $topo) is already on an interface: another emulated" \
            "cluster uses it; set XCCL_EMU_SUBNET=A.B.C"
    fi
    mkdir -p "$STATE"
    printf '%s\n' "$plan" >"$STATE/plan"
    : >"$STATE/undo"
    : >"$STATE/nodes"
    # Tear down whatever was built if any step fails.
    trap 'rc=$?; if [[ ! -f $STATE/ready ]]; then log "up failed (exit $rc), tearing down"; cmd_down; fi' EXIT

    local kind subnet="" maddr="" root_sw=""
    local -a sw_parent sw_up
    # Switches first (bridges), then uplinks, then nodes.
    while read -r kind a b c d e f; do
        case $kind in
            subnet) subnet=$a ;;
            mpirun_addr) maddr=$a ;;
            switch)
                local br="${PFX}br$a"
                ip link add name "$br" type bridge
                undo "ip link del $br"
                ip link set "$br" type bridge stp_state 0 forward_delay 0 2>/dev/null || true
                # Bridged frames must not go through the host's iptables (docker's FORWARD DROP).
                ip link set "$br" type bridge nf_call_iptables 0 2>/dev/null || true
                ip link set "$br" up
                sw_parent[$a]=$c
                sw_up[$a]=$d
                [[ $c == - ]] && root_sw=$a
                ;;
        esac
    done <<<"$plan"
    [[ -n $subnet && -n $maddr && -n $root_sw ]] || die "bad plan"
    local i
    for i in "${!sw_parent[@]}"; do
        local p=${sw_parent[$i]}
        [[ $p == - ]] && continue
        local ua="${PFX}u${i}a" ub="${PFX}u${i}b"
        ip link add "$ua" type veth peer name "$ub"
        undo "ip link del $ua"
        ip link set "$ua" master "${PFX}br$i" up
        ip link set "$ub" master "${PFX}br$p" up
        if ((sw_up[$i] > 0)); then
            tbf "$ua" "${sw_up[$i]}" # child -> parent
            tbf "$ub" "${sw_up[$i]}" # parent -> child
        fi
    done
    ip addr add "$maddr/24" dev "${PFX}br$root_sw"
    while read -r kind idx host addr leaf kbit slots; do
        [[ $kind == node ]] || continue
        [[ ! -e /var/run/netns/$host ]] || die "network namespace $host exists already (another emulated cluster?)"
        ip netns add "$host"
        undo "ip netns del $host"
        echo "$host $slots $addr" >>"$STATE/nodes"
        local hv="${PFX}n$idx" nv="${PFX}p$idx"
        ip link add "$hv" type veth peer name "$nv"
        undo "ip link del $hv"
        ip link set "$nv" netns "$host"
        ip netns exec "$host" ip link set "$nv" name eth0
        ip netns exec "$host" ip addr add "$addr/24" dev eth0
        ip netns exec "$host" ip link set eth0 up
        ip netns exec "$host" ip link set lo up
        ip link set "$hv" master "${PFX}br$leaf" up
        tbf eth0 "$kbit" "$host" # node -> switch
        tbf "$hv" "$kbit"        # switch -> node
        log "node $host $addr on switch $leaf, NIC ${kbit} kbit/s"
    done <<<"$plan"
    for sl in "${slowlinks[@]}"; do
        local sa sb sf
        IFS=: read -r sa sb sf <<<"$sl"
        slow_link "$sa" "$sb" "$sf" "$plan"
        slow_link "$sb" "$sa" "$sf" "$plan"
    done
    echo "$subnet" >"$STATE/subnet"
    # Wait until every bridge port forwards and every node's eth0 is up.
    local port tries=0
    until
        ok=1
        for port in /sys/class/net/"$PFX"*/brport/state; do
            [[ -e $port && $(cat "$port") == 3 ]] || ok=0
        done
        ((ok))
    do
        tries=$((tries + 1))
        ((tries < 50)) || die "bridge ports do not reach the forwarding state"
        sleep 0.1
    done
    touch "$STATE/ready"
    trap - EXIT
    log "up: $(awk '{printf "%s ", $1}' "$STATE/nodes")(subnet $subnet, mpirun side $maddr)"
}

need_up() { [[ -f $STATE/ready ]] || die "no emulated cluster is up (run '$0 up TOPOLOGY.toml')"; }

host_list() { awk '{printf "%s%s:%s", (NR>1?",":""), $1, $2}' "$STATE/nodes"; }

cmd_run() {
    need_up
    local hosts
    hosts=$(host_list)
    while [[ $# -gt 0 ]]; do
        case $1 in
            --hosts) hosts=$2; shift 2 ;;
            --) shift; break ;;
            *) break ;;
        esac
    done
    local subnet
    subnet=$(cat "$STATE/subnet")
    # shellcheck disable=SC2086
    exec mpirun --allow-run-as-root --oversubscribe -H "$hosts" \
        --mca plm_rsh_agent "$AGENT" --mca plm_rsh_no_tree_spawn 1 \
        --mca pml ob1 --mca btl tcp,self,vader --mca mpi_yield_when_idle 1 \
        --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet" \
        ${XCCL_EMU_MPIRUN_ARGS:-} "$@"
}

cmd_exec() {
    need_up
    local host=${1:-}
    [[ -n $host ]] || usage
    shift
    exec ip netns exec "$host" unshare --uts -- sh -c 'hostname "$0" && exec "$@"' "$host" "$@"
}

cmd_selftest() {
    need_up
    command -v mpicc >/dev/null || die "selftest needs mpicc"
    local got want
    got=$("$0" run -- hostname | sort | tr '\n' ' ')
    want=$(awk '{for (i = 0; i < $2; i++) print $1}' "$STATE/nodes" | sort | tr '\n' ' ')
    [[ $got == "$want" ]] || die "hostnames: got '$got', want '$want'"
    log "hostnames ok: $got"
    mpicc -O2 -o "$STATE/emu-bw" "$HERE/emu-bw.c"
    # Stream between every pair of consecutive nodes (and last -> first): the rate is the
    # slower NIC of the pair (or the uplink between their switches).
    local -a H R
    local h s a kbit
    while read -r h s a; do H+=("$h"); done <"$STATE/nodes"
    while read -r kind _ host _ _ kbit _; do
        [[ $kind == node ]] && R+=("$kbit")
    done <"$STATE/plan"
    local n=${#H[@]} i j fail=0
    for ((i = 0; i < n; i++)); do
        j=$(((i + 1) % n))
        ((n > 1)) || break
        local rate=$((R[i] < R[j] ? R[i] : R[j]))
        local out
        out=$("$0" run --hosts "${H[i]}:1,${H[j]}:1" -- -np 2 "$STATE/emu-bw" "$rate")
        echo "$out"
        grep -q '^ok' <<<"$out" || fail=1
    done
    ((fail == 0)) || die "link rates off (a path may also cross a slower uplink)"
    log "selftest ok"
}

cmd_with() {
    local topo=${1:-}
    [[ -n $topo ]] || usage
    shift
    local -a upargs=()
    while [[ $# -gt 0 && $1 != -- ]]; do upargs+=("$1"); shift; done
    [[ ${1:-} == -- ]] && shift
    cmd_up "$topo" "${upargs[@]}"
    trap 'cmd_down' EXIT
    local rc=0
    "$0" run -- "$@" || rc=$?
    exit "$rc"
}

case ${1:-} in
    up) shift; cmd_up "$@" ;;
    down) cmd_down ;;
    run) shift; cmd_run "$@" ;;
    exec) shift; cmd_exec "$@" ;;
    with) shift; cmd_with "$@" ;;
    selftest) cmd_selftest ;;
    hosts) need_up; host_list; echo ;;
    status)
        if [[ -f $STATE/ready ]]; then cat "$STATE/plan"; else echo "down"; fi ;;
    *) usage ;;
esac

#!/usr/bin/env bash
# A cluster emulated on one machine (ip-netns(8), tc-tbf(8), unshare(1) and Open MPI's
# launch agent: docs/SOURCES.md [linux-netns], [openmpi-41]): nodes are network
# namespaces with their own hostnames, NICs are veth pairs shaped with `tc tbf`, switches
# are Linux bridges, switch uplinks are shaped veth pairs between bridges, and mpirun
# reaches the nodes through scripts/emu-agent.sh. Link rates come from the topology file through
# `xccl-bench topo emu-plan`, so they are the rates the verdict compares against.
#
#   emu-cluster.sh up TOPOLOGY.toml [--slow-node HOST:FRACTION]... [--slow-uplink SWITCH:FRACTION]...
#                   [--slow-link HOST_A:HOST_B:FRACTION]... [--slow-nic HOST:NIC:FRACTION]...
#                   [--miswire HOST:NIC:SWITCH]...
#   emu-cluster.sh run [--hosts H1,H2] [--] MPIRUN_ARGS...    # mpirun with -H and MCA set
#   emu-cluster.sh exec HOST COMMAND...                       # one command on one node
#   emu-cluster.sh with TOPOLOGY.toml [--slow-node H:F]... -- MPIRUN_ARGS...   # up, run, down
#   emu-cluster.sh selftest                                   # hostnames + tc rates via MPI
#   emu-cluster.sh hosts | status | down
#
# --slow-node (or XCCL_EMU_SLOW="HOST:FRACTION[,...]") shapes that node's NIC(s) to a
# fraction of the declared rate in both directions; the topology still declares the healthy
# rate. --slow-uplink shapes a switch's uplink the same way; --slow-link shapes the traffic
# between two nodes only (both directions: an htb class with a u32 filter on the peer's
# address on each node's NIC, the node's other traffic keeping the NIC rate).
# Rail topologies (files that attach NICs one by one: rails, [[nic]]) get one veth per NIC,
# named as the file names the NIC, NIC k of every node in its own /24 (third octet + k) on
# its leaf's bridge; each rank is bound to the NIC of its device (device_nic) through
# scripts/emu-rank.sh (Open MPI's orte_fork_agent), which sets btl_tcp_if_include for it.
# --slow-nic shapes one NIC; --miswire plugs one NIC into SWITCH's bridge while the file
# keeps declaring its leaf.
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
# One record per prefix of who brought the cluster up and how to undo it, outside the
# state dir: a run killed mid-test (its state dir deleted with its checkout) leaves
# bridges and namespaces behind, and the next `up` of that prefix reclaims them.
REG=${XCCL_EMU_REGISTRY:-/run/xccl-emu}/$PFX

die() { echo "emu-cluster: $*" >&2; exit 1; }
log() { echo "emu-cluster: $*" >&2; }

usage() {
    sed -n '9,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
undo() { printf '%s\n' "$*" | tee -a "$REG/undo" >>"$STATE/undo"; }

# "PID STARTTIME" of a live process (STARTTIME guards against a reused PID), or nothing.
proc_id() {
    [[ -r /proc/$1/stat ]] || return 0
    printf '%s %s\n' "$1" "$(sed 's/.*) //' "/proc/$1/stat" | awk '{print $20}')"
}

# Take down the cluster of this prefix if the process that brought it up is gone.
reclaim_stale() {
    [[ -f $REG/owner ]] || return 0
    local owner pid
    owner=$(cat "$REG/owner")
    pid=${owner%% *}
    [[ $(proc_id "$pid") != "$owner" ]] || return 0
    local old
    old=$(cat "$REG/state" 2>/dev/null || true)
    log "reclaiming the emulated cluster of prefix $PFX left by process $pid (gone; state was $old)"
    (STATE=$REG cmd_down)
    [[ -z $old || ! -d $old ]] || rm -rf "$old"
}

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

# One veth per NIC (rail topologies): NIC k of a node in its own /24, on its leaf's bridge
# (or the one --miswire names). All bridges form one L2 domain through the spine, so a NIC
# reaches every other NIC; source-address policy routing sends what a NIC's address sends
# out of that NIC (table 100+k: every NIC subnet on-link through it), and arp_ignore /
# arp_announce keep each address answered by its own interface (ip-rule(8), ip-sysctl.rst).
add_nics() { # PLAN
    local plan=$1 kind node host k ifn addr leaf kbit
    local -a subnets=()
    while read -r kind node host k ifn addr leaf kbit; do
        [[ $kind == nic ]] && subnets[k]="${addr%.*}.0/24"
    done <<<"$plan"
    while read -r kind node host k ifn addr leaf kbit; do
        [[ $kind == nic ]] || continue
        local hv="${PFX}n${node}i$k" nv="${PFX}p${node}i$k" t=$((100 + k)) sn
        local -a nsx=(ip netns exec "$host")
        if ((k == 0)); then
            "${nsx[@]}" sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
                net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
        fi
        ip link add "$hv" type veth peer name "$nv"
        undo "ip link del $hv"
        ip link set "$nv" netns "$host"
        "${nsx[@]}" ip link set "$nv" name "$ifn"
        "${nsx[@]}" sysctl -q -w "net.ipv4.conf.$ifn.rp_filter=0" >/dev/null
        "${nsx[@]}" ip addr add "$addr/24" dev "$ifn"
        "${nsx[@]}" ip link set "$ifn" up
        "${nsx[@]}" ip rule add from "$addr" table "$t" priority "$t"
        for sn in "${subnets[@]}"; do
            "${nsx[@]}" ip route add "$sn" dev "$ifn" src "$addr" table "$t"
        done
        ip link set "$hv" master "${PFX}br$leaf" up
        tbf "$ifn" "$kbit" "$host" # NIC -> leaf
        tbf "$hv" "$kbit"          # leaf -> NIC
        log "node $host NIC $ifn $addr on switch $leaf, ${kbit} kbit/s"
    done <<<"$plan"
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
    local mine
    mine=$(realpath -m "$STATE")
    rm -rf "$STATE"
    if [[ $STATE != "$REG" && -f $REG/state && $(cat "$REG/state") == "$mine" ]]; then
        rm -rf "$REG"
    fi
    log "down"
}

cmd_up() {
    local topo=${1:-}
    [[ -n $topo ]] || usage
    shift
    [[ -f $topo ]] || die "no topology file $topo"
    need_root
    reclaim_stale
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
    # (XCCL_EMU_SUBNET is applied by emu-plan, to every NIC's subnet.)
    if ((${#slowlinks[@]})) && grep -q '^nic ' <<<"$plan"; then
        die "--slow-link shapes a node's one NIC; $topo attaches NICs one by one: use --slow-nic"
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
    mkdir -p "$STATE" "$REG"
    printf '%s\n' "$plan" >"$STATE/plan"
    : >"$STATE/undo"
    : >"$STATE/nodes"
    : >"$REG/undo"
    : >"$REG/nodes"
    realpath "$STATE" >"$REG/state"
    # The owner is whoever keeps using the cluster after `up` returns: the calling script
    # (XCCL_EMU_OWNER names another PID), or this script for `with`.
    proc_id "${XCCL_EMU_OWNER:-$PPID}" >"$REG/owner"
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
        echo "$host $slots $addr" | tee -a "$REG/nodes" >>"$STATE/nodes"
        ip netns exec "$host" ip link set lo up
        [[ $leaf == - ]] && continue # its NICs come one by one (nic lines)
        local hv="${PFX}n$idx" nv="${PFX}p$idx"
        ip link add "$hv" type veth peer name "$nv"
        undo "ip link del $hv"
        ip link set "$nv" netns "$host"
        ip netns exec "$host" ip link set "$nv" name eth0
        ip netns exec "$host" ip addr add "$addr/24" dev eth0
        ip netns exec "$host" ip link set eth0 up
        ip link set "$hv" master "${PFX}br$leaf" up
        tbf eth0 "$kbit" "$host" # node -> switch
        tbf "$hv" "$kbit"        # switch -> node
        log "node $host $addr on switch $leaf, NIC ${kbit} kbit/s"
    done <<<"$plan"
    add_nics "$plan"
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
    # Rail topologies: each rank on its device's NIC (scripts/emu-rank.sh reads
    # XCCL_EMU_RANK_NICS and its local rank, and sets btl_tcp_if_include for itself).
    local -a bind=()
    local nics
    nics=$(awk '$1 == "rank_nics" {$1 = ""; sub(/^ /, ""); print}' "$STATE/plan")
    if [[ -n $nics ]]; then
        bind=(--mca orte_fork_agent "$HERE/emu-rank.sh" -x "XCCL_EMU_RANK_NICS=$nics")
    fi
    # shellcheck disable=SC2086
    exec mpirun --allow-run-as-root --oversubscribe -H "$hosts" "${bind[@]}" \
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

# tc's count of bytes sent by qdisc root of DEV (in namespace NS, or the host's).
tc_sent() { # DEV [NS]
    local -a pre=()
    [[ -n ${2:-} ]] && pre=(ip netns exec "$2")
    "${pre[@]}" tc -s qdisc show dev "$1" | awk '/^ *Sent / {print $2; exit}'
}

# Rate a flow from NIC KA of node A to NIC KB of node B can reach: the slower NIC, and every
# uplink it climbs or descends below the two NICs' leaves' lowest common switch.
path_kbit() { # A KA B KB
    awk -v a="$1" -v ka="$2" -v b="$3" -v kb="$4" '
        $1 == "switch" { par[$2] = $4; up[$2] = $5 }
        $1 == "nic" && $2 == a && $4 == ka { la = $7; ra = $8 }
        $1 == "nic" && $2 == b && $4 == kb { lb = $7; rb = $8 }
        END {
            r = (ra < rb) ? ra : rb
            for (s = la; s != "-"; s = par[s]) anc[s] = 1
            for (s = lb; s != "-" && !(s in anc); s = par[s]) if (up[s] > 0 && up[s] < r) r = up[s]
            lca = s
            for (s = la; s != lca && s != "-"; s = par[s]) if (up[s] > 0 && up[s] < r) r = up[s]
            print r
        }' "$STATE/plan"
}

# Rail topologies: for consecutive nodes A, B (2 x devices ranks on them), streams from a
# device of A to a device of B: for every NIC k that a device uses, A's first device on k
# to the same device of B (same rail), and A's first device to B's last when their NICs
# differ (cross rail, over the spine). The rate must be what the path allows (path_kbit,
# with the faults shaped), and tc's counters must show the bytes on the two ranks' NICs:
# sent by A's NIC and by the bridge port of B's NIC (the bridge's egress is B's ingress),
# at least 90 % of the streamed bytes each, every other NIC of A and B under 5 %.
selftest_rails() {
    local -a H IFN RN
    local h s a d
    while read -r h s a; do H+=("$h"); done <"$STATE/nodes"
    local dev
    dev=$(awk '$1 == "node" {print $7; exit}' "$STATE/plan")
    read -r -a RN <<<"$(awk '$1 == "rank_nics" {$1 = ""; print}' "$STATE/plan")"
    while read -r kind _ _ k ifn _; do
        [[ $kind == nic ]] && IFN[k]=$ifn
    done <"$STATE/plan"
    nic_index() { local m; for m in "${!IFN[@]}"; do [[ ${IFN[m]} == "$1" ]] && echo "$m"; done; return 0; }
    local n=${#H[@]} i j k fail=0
    ((n > 1)) || return 0
    for ((i = 0; i < n; i++)); do
        j=$(((i + 1) % n))
        ((n == 2 && i == 1)) && break
        local -a flows=()
        for k in "${!IFN[@]}"; do
            local first=-1
            for ((d = 0; d < dev; d++)); do
                [[ ${RN[d]} == "${IFN[k]}" ]] && { first=$d; break; }
            done
            if ((first < 0)); then
                log "NIC ${IFN[k]}: no device uses it (device_nic), not streamed"
                continue
            fi
            flows+=("$first:$first")
        done
        [[ ${RN[0]} != "${RN[dev - 1]}" ]] && flows+=("0:$((dev - 1))")
        local fl
        for fl in "${flows[@]}"; do
            local ds=${fl%:*} dd=${fl#*:} ks kd
            ks=$(nic_index "${RN[ds]}")
            kd=$(nic_index "${RN[dd]}")
            local rate out m try
            rate=$(path_kbit "$i" "$ks" "$j" "$kd")
            for try in 1 2; do
                local before=() after=()
                for m in "${!IFN[@]}"; do
                    before+=("$(tc_sent "${IFN[m]}" "${H[i]}")" "$(tc_sent "${PFX}n${j}i$m")")
                done
                out=$("$0" run --hosts "${H[i]}:$dev,${H[j]}:$dev" -- -np $((2 * dev)) \
                    "$STATE/emu-bw" "$rate" "$ds" $((dev + dd)))
                for m in "${!IFN[@]}"; do
                    after+=("$(tc_sent "${IFN[m]}" "${H[i]}")" "$(tc_sent "${PFX}n${j}i$m")")
                done
                local mib bytes verdict=ok counts=""
                mib=$(sed -n 's/.* over \([0-9]*\) MiB.*/\1/p' <<<"$out")
                bytes=$((${mib:-0} * 1048576))
                ((bytes > 0)) || verdict=off
                for m in "${!IFN[@]}"; do
                    local tx=$((after[2 * m] - before[2 * m])) rx=$((after[2 * m + 1] - before[2 * m + 1]))
                    counts+=" ${IFN[m]}: ${H[i]} sent $tx, ${H[j]} got $rx;"
                    if ((m == ks)); then
                        ((tx * 10 >= bytes * 9)) || verdict=off
                    else
                        ((tx * 20 < bytes)) || verdict=off
                    fi
                    if ((m == kd)); then
                        ((rx * 10 >= bytes * 9)) || verdict=off
                    else
                        ((rx * 20 < bytes)) || verdict=off
                    fi
                done
                echo "$out"
                echo "$verdict: rank $ds (${H[i]} ${IFN[ks]}) -> rank $((dev + dd)) (${H[j]} ${IFN[kd]}): $bytes B streamed;$counts"
                # A NIC carrying what another should is never retried; a rate off (the
                # machine's cores are shared) is measured once more.
                [[ $verdict == ok ]] || { fail=1; break; }
                grep -q '^ok' <<<"$out" && break
                if ((try == 2)); then
                    fail=1
                else
                    log "rate off, measured again"
                fi
            done
        done
    done
    ((fail == 0)) || die "rail selftest failed: a rate is off or a rank's traffic left through another NIC"
    log "selftest ok (every rank on its own NIC)"
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
    if grep -q '^nic ' "$STATE/plan"; then
        selftest_rails
        return
    fi
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

#!/usr/bin/env bash
# `--metrics FILE` (Prometheus textfile, issue 18 item 3) on every command that produces
# results: a sweep under mpirun (4 ranks, one 20 ms late: a slow_rank finding),
# `links` (3 ranks of this host), `topo validate --wired` on the fixture whose node03
# mlx5_1 is miswired (a finding with host and NIC labels), `judge`, `predict`,
# `train-sim` (2 ranks), `report` and `compare` (a planted regression). Each file must
# pass `promtool check metrics` (Debian's `prometheus` package) and carry exactly the
# values of the JSON the same run wrote (jq); a metrics path in a missing directory is one
# line and exit 2. Installs nothing: exit 77 (skipped) without promtool or jq.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
for c in promtool jq mpirun; do
  command -v "$c" >/dev/null || { echo "SKIP: $c not installed" >&2; exit 77; }
done
BIN=${XCCL_BIN:-${CARGO_TARGET_DIR:-target}/debug/xccl-bench}
[ -x "$BIN" ] || cargo build --quiet
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
nfail=0
fail() { echo "[metrics] FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "[metrics] ok: $*"; }
MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl self,vader,tcp"

# lint NAME: promtool accepts $W/NAME.prom (format and naming conventions).
lint() {
  local out
  if out=$(promtool check metrics <"$W/$1.prom" 2>&1); then ok "$1: promtool check metrics"
  else fail "$1: promtool check metrics: $out"; fi
}
# value NAME SERIES: the value of the one sample of $W/NAME.prom whose line starts with
# SERIES (the metric name and its labels, exactly as written).
value() {
  local n
  n=$(grep -cF -- "$2 " "$W/$1.prom" || true)
  [ "$n" = 1 ] || { echo "no-unique-sample($n)"; return; }
  grep -F -- "$2 " "$W/$1.prom" | awk '{print $NF}'
}
# same NAME WHAT GOT WANT: GOT and WANT are the same number (to 1e-9 relative).
same() {
  if awk -v a="$3" -v b="$4" 'BEGIN { d = a - b; if (d < 0) d = -d; m = (b < 0 ? -b : b);
      exit !(a == a + 0 && b == b + 0 && d <= 1e-9 * m + 1e-300) }'; then
    ok "$1: $2 = $4"
  else fail "$1: $2 is $3, the JSON says $4"; fi
}

# 1. The sweep: rank 2 of 4 20 ms late at every call (slow_rank), judged against a topology.
rc=0
$MPIRUN -np 4 "$BIN" all_reduce -b 1K -e 16K -f 4 -n 8 -w 2 --delay 2:20000 \
  --topology topologies/dgx-h100.toml --json "$W/sweep.json" --metrics "$W/sweep.prom" \
  >"$W/sweep.log" 2>&1 || rc=$?
[ "$rc" = 4 ] || { cat "$W/sweep.log"; fail "sweep: exit $rc, want 4 (slow_rank)"; }
lint sweep
L='collective="all_reduce",size_bytes="4096",dtype="float",op="sum",root="-1",placement="out-of-place",nranks="4"'
same sweep "busbw 4096 B out-of-place" \
  "$(value sweep "xccl_bench_busbw_bytes_per_second{$L}")" \
  "$(jq '[.rows[] | select(.size_bytes == 4096 and .placement == "out-of-place")][0].busbw_gbs * 1e9' "$W/sweep.json")"
same sweep "mean time 4096 B out-of-place" \
  "$(value sweep "xccl_bench_time_seconds{$L,statistic=\"mean\"}")" \
  "$(jq '[.rows[] | select(.size_bytes == 4096 and .placement == "out-of-place")][0].time_us.avg / 1e6' "$W/sweep.json")"
v=$(jq -r '[.rows[] | select(.size_bytes == 4096 and .placement == "out-of-place")][0].verdict | "\(.class | gsub("[ -]"; "_")),\(.bottleneck),\(.efficiency)"' "$W/sweep.json")
same sweep "efficiency 4096 B out-of-place" \
  "$(value sweep "xccl_bench_busbw_efficiency_ratio{$L,verdict=\"${v%%,*}\",bottleneck=\"$(cut -d, -f2 <<<"$v")\"}")" "${v##*,}"
same sweep "slow_rank findings" "$(value sweep 'xccl_bench_findings{kind="slow_rank"}')" \
  "$(jq '[.findings[] | select(.kind == "slow_rank")] | length' "$W/sweep.json")"
host=$(jq -r '.findings[0].subject.host' "$W/sweep.json")
same sweep "slow_rank finding naming rank 2" \
  "$(value sweep "xccl_bench_finding_info{kind=\"slow_rank\",subject=\"rank\",rank=\"2\",host=\"$host\",device=\"host\"}")" 1
lib=$(jq -r '.meta.backend | "backend=\"\(.name)\",library=\"\(.library)\",library_version=\"\(.version)\""' "$W/sweep.json")
same sweep "run info" "$(value sweep "xccl_bench_info{command=\"all_reduce\",version=\"$(jq -r .meta.tool_version "$W/sweep.json")\",$lib}")" 1

# 2. links on 3 ranks of this host.
sed "s/@HOST@/$(hostname)/g" tests/local-topology.toml >"$W/local.toml"
rc=0; $MPIRUN -np 3 "$BIN" links --size 256K -n 2 --topology "$W/local.toml" \
  --json "$W/links.json" --metrics "$W/links.prom" >"$W/links.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 4 ] || { cat "$W/links.log"; fail "links: exit $rc"; }
lint links
read -r a b uni eff < <(jq -r '.matrix as $m | $m.links[0] | "\($m.names[.a]) \($m.names[.b]) \(.uni_gbs * 1e9) \(.efficiency)"' "$W/links.json")
LL="a=\"$a\",b=\"$b\",a_host=\"${a%%/*}\",b_host=\"${b%%/*}\",class=\"SDMA\",a_device=\"${a##*/}\",b_device=\"${b##*/}\""
same links "one-way bandwidth $a -> $b" \
  "$(value links "xccl_bench_link_bandwidth_bytes_per_second{$LL,direction=\"one_way\"}")" "$uni"
same links "efficiency $a -> $b" \
  "$(value links "xccl_bench_link_efficiency_ratio{$LL,direction=\"one_way\"}")" "$eff"
same links "low links" "$(grep -c '^xccl_bench_link_low{.*} 1$' "$W/links.prom" || true)" \
  "$(jq '[.matrix.links[] | select(.low)] | length' "$W/links.json")"

# 3. topo validate --wired: the fixture's node03 mlx5_1 cabled to the other rail's leaf.
FX=analysis/xccl-topo/tests/fixtures
rc=0; "$BIN" topo validate "$FX/ib-2leaf.toml" --wired "$FX/ibnetdiscover-2leaf.txt" \
  --metrics "$W/wired.prom" >"$W/wired.log" 2>&1 || rc=$?
[ "$rc" = 4 ] || { cat "$W/wired.log"; fail "topo validate --wired: exit $rc, want 4"; }
lint wired
same wired "miswired_nic findings" "$(value wired 'xccl_bench_findings{kind="miswired_nic"}')" \
  "$(grep -c '^finding: miswired_nic' "$W/wired.log")"
same wired "node03 mlx5_1 named" "$(value wired 'xccl_bench_finding_info{kind="miswired_nic",subject="nic",host="node03",nic="mlx5_1",declared="leaf-2",wired="leaf-1"}')" 1

# 4. judge: the sweep against the same topology, offline.
"$BIN" judge "$W/sweep.json" --topology topologies/dgx-h100.toml --write "$W/judged.json" \
  --metrics "$W/judge.prom" >/dev/null
lint judge
v=$(jq -r '[.rows[] | select(.size_bytes == 16384 and .placement == "in-place")][0].verdict | "\(.class | gsub("[ -]"; "_")),\(.bottleneck),\(.efficiency)"' "$W/judged.json")
L16=${L//4096/16384}; L16=${L16//out-of-place/in-place}
same judge "efficiency 16384 B in-place" \
  "$(value judge "xccl_bench_busbw_efficiency_ratio{$L16,verdict=\"${v%%,*}\",bottleneck=\"$(cut -d, -f2 <<<"$v")\"}")" "${v##*,}"

# 5. predict and train-sim from the sweep.
JOB=(--model tests/train-sim/tiny.toml --device a100 --layout dp=2 --global-batch 4 --seq 64
     --device-step-time 0.02 --measured "$W/sweep.json")
"$BIN" predict "${JOB[@]}" --step-time 0.05 --json "$W/predict.json" --metrics "$W/predict.prom" >/dev/null
lint predict
P=$(jq -r '"model=\"\(.model)\",device=\"\(.device)\",layout=\"\(.layout)\",devices=\"\(.devices)\""' "$W/predict.json")
same predict "predicted step" "$(value predict "xccl_bench_train_step_seconds{$P,source=\"predicted\"}")" \
  "$(jq .step_time_s "$W/predict.json")"
same predict "measured MFU" "$(value predict "xccl_bench_mfu_ratio{$P,source=\"measured\"}")" \
  "$(jq .measured_step.mfu "$W/predict.json")"
$MPIRUN -np 2 "$BIN" train-sim "${JOB[@]}" --steps 2 --json "$W/train-sim.json" \
  --metrics "$W/train-sim.prom" >/dev/null
lint train-sim
T=$(jq -r '"model=\"\(.model)\",layout=\"\(.scales[0].layout)\",devices=\"\(.scales[0].devices)\""' "$W/train-sim.json")
same train-sim "measured step" "$(value train-sim "xccl_bench_train_step_seconds{$T,source=\"measured\"}")" \
  "$(jq '.scales[0].measured_step_s' "$W/train-sim.json")"

# 6. report of everything above; compare against a copy of the sweep planted 2x slower.
"$BIN" report "$W/sweep.json" "$W/links.json" "$W/predict.json" "$W/train-sim.json" \
  -o "$W/report.html" --metrics "$W/report.prom" 2>/dev/null
lint report
same report "busbw of sweep.json 4096 B" \
  "$(value report "xccl_bench_busbw_bytes_per_second{file=\"sweep.json\",$L}")" \
  "$(jq '[.rows[] | select(.size_bytes == 4096 and .placement == "out-of-place")][0].busbw_gbs * 1e9' "$W/sweep.json")"
jq '.rows |= map(.time_us |= map_values(. * 2) | .busbw_gbs /= 2 | .algbw_gbs /= 2
     | .per_rank.mean_us |= map(. * 2))' "$W/sweep.json" >"$W/slow.json"
rc=0; "$BIN" compare "$W/sweep.json" "$W/slow.json" --json "$W/compare.json" \
  --metrics "$W/compare.prom" >/dev/null || rc=$?
[ "$rc" = 5 ] || fail "compare: exit $rc, want 5 (regression)"
lint compare
same compare "regressions" "$(value compare 'xccl_bench_compare_regressions{base="sweep.json",new="slow.json"}')" \
  "$(jq .regressions "$W/compare.json")"

# 7. A metrics path in a missing directory: one line, exit 2, nothing run.
for cmd in "judge $W/sweep.json --topology topologies/dgx-h100.toml" \
           "predict ${JOB[*]}" "compare $W/sweep.json $W/slow.json"; do
  rc=0; # shellcheck disable=SC2086
  "$BIN" $cmd --metrics "$W/missing/x.prom" >"$W/out" 2>"$W/err" || rc=$?
  if [ "$rc" = 2 ] && [ "$(wc -l <"$W/err")" = 1 ] && grep -q "does not exist" "$W/err"; then
    ok "${cmd%% *}: missing metrics directory is one line, exit 2"
  else fail "${cmd%% *}: missing metrics directory: exit $rc, stderr: $(cat "$W/err")"; fi
done
rc=0; $MPIRUN -np 2 "$BIN" all_reduce -b 8 -e 8 --json "$W/never.json" \
  --metrics "$W/missing/x.prom" >"$W/out" 2>"$W/err" || rc=$?
if [ "$rc" = 2 ] && [ "$(grep -c 'does not exist' "$W/err")" = 1 ] && [ ! -e "$W/never.json" ]; then
  ok "sweep: missing metrics directory is one line, exit 2, before any row"
else fail "sweep: missing metrics directory: exit $rc, stderr: $(cat "$W/err")"; fi
ls "$W"/.*.tmp >/dev/null 2>&1 && fail "temporary metrics files left behind: $(ls "$W"/.*.tmp)"

[ "$nfail" = 0 ] || { echo "[metrics] $nfail failure(s)"; exit 1; }
echo "[metrics] all passed"

#!/usr/bin/env bash
# The HTML report in a real browser: three collectives measured under mpirun with a
# topology, a link matrix (`links` on 3 ranks of this host, judged against a topology
# naming it), a prediction and a train-sim run (2 ranks) timed from the all_reduce run,
# a layout search and a step's utilisation (`predict --search`, `--step-time` alone),
# all in one `xccl-bench report`, then headless Chromium (Debian's `chromium`): the DOM
# has each expected plot as an <svg>, the page logs no console error, and a screenshot is kept
# under target/test-artifacts/. Installs nothing: exit 77 (skipped) without chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
  echo "SKIP: chromium not installed" >&2; exit 77
fi
BIN=${XCCL_BIN:-${CARGO_TARGET_DIR:-target}/debug/xccl-bench}
[ -x "$BIN" ] || cargo build --quiet
ART=${CARGO_TARGET_DIR:-target}/test-artifacts
mkdir -p "$ART"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "[report-browser] FAIL: $*"; exit 1; }

MPIRUN="mpirun --oversubscribe --allow-run-as-root --mca btl self,vader,tcp"
colls="all_reduce all_gather broadcast"
for c in $colls; do
  $MPIRUN -np 2 "$BIN" "$c" -b 1K -e 1M -f 4 -n 20 -w 3 --topology topologies/dgx-h100.toml \
    --json "$W/$c.json" >/dev/null
done
sed "s/@HOST@/$(hostname)/g" tests/local-topology.toml >"$W/local.toml"
rc=0; $MPIRUN -np 3 "$BIN" links --size 256K --topology "$W/local.toml" --json "$W/links.json" >/dev/null || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 4 ] || fail "links exited $rc"
JOB=(--model tests/train-sim/tiny.toml --device a100 --layout dp=2 --global-batch 4 --seq 64
     --device-step-time 0.02 --measured "$W/all_reduce.json")
"$BIN" predict "${JOB[@]}" --json "$W/predict.json" >/dev/null
$MPIRUN -np 2 "$BIN" train-sim "${JOB[@]}" --scale-dp 1 --steps 3 --json "$W/train-sim.json" >/dev/null
"$BIN" predict --model llama2-13b --device h100 --global-batch 256 --seq 4096 --search \
  --devices 64 --top 5 --topology topologies/dgx-h100.toml --json "$W/search.json" >/dev/null
"$BIN" predict --model palm-540b --device a100 --layout dp=512,tp=12 --global-batch 2048 \
  --seq 2048 --recompute full --zero 3 --step-time 17.6 --json "$W/util.json" >/dev/null
"$BIN" report "$W"/all_reduce.json "$W"/all_gather.json "$W"/broadcast.json "$W/links.json" \
  "$W/predict.json" "$W/train-sim.json" "$W/search.json" "$W/util.json" -o "$W/report.html"
cp "$W/report.html" "$ART/report.html"

chrome() { timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --no-first-run --user-data-dir="$W/profile" "$@"; }

# The console check must be able to see an error: a page that logs one is caught.
printf '<!DOCTYPE html><html><body><script>console.error("planted-error")</script></body></html>' > "$W/bad.html"
chrome --enable-logging=stderr --v=0 --dump-dom "file://$W/bad.html" >/dev/null 2>"$W/bad.log" || true
grep -q 'CONSOLE.*planted-error' "$W/bad.log" || fail "the console check does not see a planted console.error"

chrome --enable-logging=stderr --v=0 --dump-dom "file://$W/report.html" >"$W/dom.html" 2>"$W/console.log" \
  || fail "chromium could not load the report"
if grep -E 'CONSOLE|Uncaught' "$W/console.log"; then fail "console messages above"; fi
for c in $colls; do
  for p in busbw latency ranks wait; do
    n=$(grep -o "<figure id=\"$p-$c\" class=\"plot\"><svg" "$W/dom.html" | wc -l)
    [ "$n" = 1 ] || fail "plot $p-$c: $n <svg> in the DOM, expected 1"
  done
done
for p in links-matrix-0 step-time linearity; do
  n=$(grep -o "<figure id=\"$p\" class=\"plot\"><svg" "$W/dom.html" | wc -l)
  [ "$n" = 1 ] || fail "plot $p: $n <svg> in the DOM, expected 1"
done
for p in search-bars-0 utilisation-memory-0; do
  n=$(grep -o "<figure class=\"plot\"><svg id=\"$p\"" "$W/dom.html" | wc -l)
  [ "$n" = 1 ] || fail "plot $p: $n <svg> in the DOM, expected 1"
done
grep -q '<ul class="findings" id="links-findings-0">' "$W/dom.html" || fail "no link findings list"
grep -q '<div id="switch-grouping-0">' "$W/dom.html" || fail "no switch grouping"
grep -q '<td class="l">leaf-local</td>' "$W/dom.html" || fail "declared leaf switch not shown"
grep -q '<section id="runs">' "$W/dom.html" || fail "no run header"
if grep -Eo '(src|href)="?[a-z]+://|url\(|@import|https?://' "$W/report.html"; then
  fail "the report references something outside itself (above)"
fi
chrome --screenshot="$ART/report.png" --window-size=1280,2400 "file://$W/report.html" 2>/dev/null >/dev/null \
  || fail "no screenshot"
[ -s "$ART/report.png" ] || fail "empty screenshot"
# The sections of the other files alone (collective sections hidden): the README picture.
sed 's/<section id="coll-\([a-z_]*\)">/<section id="coll-\1" style="display:none">/' "$W/report.html" >"$W/extra.html"
chrome --screenshot="$ART/report-diagnosis.png" --window-size=1280,2300 "file://$W/extra.html" 2>/dev/null >/dev/null \
  || fail "no screenshot of the diagnosis and prediction sections"
echo "[report-browser] ok: 17 plots in the DOM, no console error, screenshots $ART/report.png, $ART/report-diagnosis.png"

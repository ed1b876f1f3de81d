#!/usr/bin/env bash
# The HTML report in a real browser: three collectives measured under mpirun with a
# topology, `xccl-bench report`, then headless Chromium (Debian's `chromium`): the DOM has
# each expected plot as an <svg>, the page logs no console error, and a screenshot is kept
# under target/test-artifacts/. Installs nothing: exit 77 (skipped) without chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh >/dev/null
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
  echo "[report-browser] chromium not installed: skipped"; exit 77
fi
BIN=${XCCL_BIN:-${CARGO_TARGET_DIR:-target}/debug/xccl-bench}
[ -x "$BIN" ] || cargo build --quiet
ART=${CARGO_TARGET_DIR:-target}/test-artifacts
mkdir -p "$ART"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail() { echo "[report-browser] FAIL: $*"; exit 1; }

colls="all_reduce all_gather broadcast"
for c in $colls; do
  mpirun --oversubscribe --allow-run-as-root --mca btl self,vader,tcp -np 2 "$BIN" "$c" \
    -b 1K -e 1M -f 4 -n 20 -w 3 --topology topologies/dgx-h100.toml --json "$W/$c.json" >/dev/null
done
"$BIN" report "$W"/all_reduce.json "$W"/all_gather.json "$W"/broadcast.json -o "$W/report.html"
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
  for p in busbw latency ranks; do
    n=$(grep -o "<figure id=\"$p-$c\" class=\"plot\"><svg" "$W/dom.html" | wc -l)
    [ "$n" = 1 ] || fail "plot $p-$c: $n <svg> in the DOM, expected 1"
  done
done
grep -q '<section id="runs">' "$W/dom.html" || fail "no run header"
if grep -Eo '(src|href)="?[a-z]+://|url\(|@import|https?://' "$W/report.html"; then
  fail "the report references something outside itself (above)"
fi
chrome --screenshot="$ART/report.png" --window-size=1280,2000 "file://$W/report.html" 2>/dev/null >/dev/null \
  || fail "no screenshot"
[ -s "$ART/report.png" ] || fail "empty screenshot"
echo "[report-browser] ok: 9 plots in the DOM, no console error, screenshot $ART/report.png"

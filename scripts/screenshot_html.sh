#!/usr/bin/env bash
# Render a leaderboard.html to a PNG with headless Chromium (Debian: apt-get install -y chromium).
#   scripts/screenshot_html.sh [HTML] [PNG] [WIDTHxHEIGHT]
#   defaults: reports/leaderboard.html, reports/leaderboard.png, 1400x2600
# Exits 1 if the page's inline script did not finish (it sets data-js="ok" on <html>) or reported an error.
set -euo pipefail

html="${1:-reports/leaderboard.html}"
png="${2:-${html%.html}.png}"
size="${3:-1400x2600}"

browser="${CHROMIUM:-}"
if [[ -z "$browser" ]]; then
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
  done
fi
if [[ -z "$browser" ]]; then
  echo "error: no chromium found (Debian: apt-get install -y chromium; or set CHROMIUM=/path/to/chrome)" >&2
  exit 2
fi
if [[ ! -f "$html" ]]; then
  echo "error: $html: no such file (run \`embbench report\` first)" >&2
  exit 2
fi

url="file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run
       --user-data-dir="$profile" --window-size="${size/x/,}" --virtual-time-budget=3000)

# 1. the DOM after scripts ran: the page marks success on <html data-js="ok">, errors on data-js-error
dom="$(timeout 60 "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "$url" 2>"$profile/console.log")"
if grep -q "Uncaught" "$profile/console.log"; then
  echo "error: JavaScript error in $html:" >&2
  grep "Uncaught" "$profile/console.log" >&2
  exit 1
fi
if ! grep -q 'data-js="ok"' <<<"$dom" || grep -q 'data-js-error="' <<<"$dom"; then
  echo "error: the page's script did not finish in $html" >&2
  exit 1
fi

# 2. the screenshot
rm -f "$png"
timeout 60 "$browser" "${flags[@]}" --screenshot="$(realpath -m "$png")" "$url" >/dev/null 2>&1
if [[ ! -s "$png" ]]; then
  echo "error: no screenshot written to $png" >&2
  exit 1
fi
echo "$png"

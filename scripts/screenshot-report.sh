#!/usr/bin/env bash
# Renders the sample reports of internal/report (every format, and a large
# one of 1,000+ changes) and takes a screenshot of each HTML one with
# headless Chromium, for a person to look at.
#
#   scripts/screenshot-report.sh [OUT_DIR]      (default: a new temporary directory)
#
# Needs: go, chromium (Debian: apt-get install -y chromium).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
	echo "screenshot-report: chromium not found (apt-get install -y chromium)" >&2
	exit 1
fi

(cd "$root" && SYNCD_REPORT_SAMPLES="$out" go test -count=1 -run '^(TestWriteSamples|TestLargeHTMLReportInChromium)$' ./internal/report >/dev/null)

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for html in "$out"/*.html; do
	png=${html%.html}.png
	"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" --hide-scrollbars --window-size="${WINDOW_SIZE:-1280,1600}" \
		--screenshot="$png" "file://$html" >/dev/null 2>&1
	echo "$png"
done

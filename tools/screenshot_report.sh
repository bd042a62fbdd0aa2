#!/usr/bin/env bash
# Look at an evaluation report the way a reader will: render it in headless Chromium, save a PNG, then
# open the PNG and check it by eye (tables readable, entity marks whole and coloured, gold | predicted
# columns side by side, verdicts visible).
#
# Usage:
#   tools/screenshot_report.sh REPORT.html [OUT.png] [HEIGHT]
#       screenshot an existing report (from `python -m spacy_bert_ner report`)
#   tools/screenshot_report.sh --demo [OUT.png] [HEIGHT]
#       first build a demo report with `python -m tools.report_demo` (two tiny bert_ner pipelines over the
#       first 3 articles of CoNLL-2003 valid.txt, $CONLL2003_DIR, default ../shared/data/conll2003)
#
# OUT.png defaults to /tmp/report.png, HEIGHT (the window height in pixels, width 1280) to 2000; a page
# taller than the window is cut at HEIGHT. Needs chromium (Debian, as root: apt-get update &&
# apt-get install -y chromium). CI has no chromium, so this is a manual check; the demo's Python is tested
# (tests/test_benchmarks.py).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: $0 REPORT.html|--demo [OUT.png] [HEIGHT]}"
png="${2:-/tmp/report.png}"
height="${3:-2000}"

browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
    echo "✘ chromium not found; install it (Debian, as root): apt-get update && apt-get install -y chromium" >&2
    exit 2
fi

if [[ "$target" == "--demo" ]]; then
    work="$(mktemp -d)"
    (cd "$repo" && python -m tools.report_demo "$work" >/dev/null)
    target="$work/report.html"
fi

[[ -f "$target" ]] || { echo "✘ $target: no such report" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --screenshot="$png" --window-size="1280,$height" \
    "file://$(realpath "$target")" 2>/dev/null
echo "✔ $target -> $png (1280x$height): now open the PNG and look at it"

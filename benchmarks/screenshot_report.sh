#!/usr/bin/env bash
# Look at an evaluation report the way a reader will: render it in headless Chromium, save a PNG, then
# open the PNG and check it by eye (tables readable, entity marks whole and coloured, gold | predicted
# columns side by side, verdicts visible).
#
# Usage:
#   benchmarks/screenshot_report.sh REPORT.html [OUT.png] [HEIGHT]
#       screenshot an existing report (from `python -m spacy_bert_ner report`)
#   benchmarks/screenshot_report.sh --demo [OUT.png] [HEIGHT]
#       first build a demo report: two tiny bert_ner pipelines (a rigged and a random 2-layer BERT, built in
#       seconds, no network) over the first 3 articles of CoNLL-2003 valid.txt ($CONLL2003_DIR, default
#       ../shared/data/conll2003), their `parity` JSONs, then `report`
#
# OUT.png defaults to /tmp/report.png, HEIGHT (the window height in pixels, width 1280) to 2000; a page
# taller than the window is cut at HEIGHT. Needs chromium (Debian, as root: apt-get update &&
# apt-get install -y chromium). CI has no chromium, so this is a manual check, not a test.
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
    conll="${CONLL2003_DIR:-$repo/../shared/data/conll2003}"
    export HF_HUB_OFFLINE=1
    PYTHONPATH="$repo/tests${PYTHONPATH:+:$PYTHONPATH}" python - "$work" "$conll/valid.txt" <<'EOF'
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from tiny_models import conll_sentences, save_random_classifier, save_rigged_classifier, train_tokenizer

from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.data.docs import sentences_to_doc

work, valid = Path(sys.argv[1]), Path(sys.argv[2])
articles, _ = read_conll(valid)
vocab = Vocab()
DocBin(docs=[sentences_to_doc(vocab, a.sentences, a.docstart) for a in articles[:3]]).to_disk(work / "dev.spacy")
rigged = {"LEICESTERSHIRE": "B-ORG", "CRICKET": "I-MISC", "Somerset": "I-ORG", "Essex": "B-ORG",
          "Leicestershire": "B-LOC", "England": "B-LOC", "Grace": "B-PER", ".": "I-ORG", "The": "I-ORG"}
models = {
    "rigged": save_rigged_classifier(work / "rigged-model", rigged),
    "random": save_random_classifier(
        work / "random-model", train_tokenizer(conll_sentences(valid), work / "vocab")
    ),
}
for name, model in models.items():
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(model)})
    nlp.to_disk(work / name)
EOF
    for name in rigged random; do
        python -m spacy_bert_ner parity "$work/$name" "$work/dev.spacy" --output "$work/$name.json" >/dev/null
    done
    python -m spacy_bert_ner report "$work/report.html" \
        --metrics "rigged=$work/rigged.json" --metrics "random=$work/random.json" \
        --pipeline "rigged=$work/rigged" --pipeline "random=$work/random" \
        --data "$work/dev.spacy" --n-examples 8
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

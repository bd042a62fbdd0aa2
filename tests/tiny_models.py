"""Tiny BERT token classifiers for tests, built in seconds with no network.

Two kinds:
- :func:`save_random_classifier`: BertConfig with 2 layers and hidden size 32, random weights, and a
  WordPiece vocab built from a few hundred CoNLL sentences (or a built-in word list when the corpus is
  absent) by a fixed rule (:func:`train_tokenizer`). Its predictions are arbitrary but deterministic (the
  same in every process) and context-dependent.
- :func:`save_rigged_classifier`: the same architecture with its attention and feed-forward outputs
  zeroed, so each wordpiece's label depends only on the wordpiece itself; a table says which. Tests can
  then state the expected labels of every word by hand.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import spacy
import torch
from spacy.tokens import Doc
from tokenizers.pre_tokenizers import BertPreTokenizer
from transformers import BertConfig, BertForTokenClassification, BertModel, BertTokenizerFast

CONLL_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
HIDDEN = 32
# A rigged classifier's table for the first articles of CoNLL-2003 valid.txt, some labels right, some wrong;
# ". The" makes an I-ORG I-ORG entity across sentences (the parity tests and tools/report_demo.py use it).
VALID_RIGGED = {
    "LEICESTERSHIRE": "B-ORG",
    "CRICKET": "I-MISC",
    "Somerset": "I-ORG",
    "Essex": "B-ORG",
    "Leicestershire": "B-LOC",
    "England": "B-LOC",
    "Australia": "I-LOC",
    "Grace": "B-PER",
    "Road": "I-LOC",
    ".": "I-ORG",
    "The": "I-ORG",
}

BUILTIN_SENTENCES = [
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn",
    "BRUSSELS 1996-08-22",
    "The European Commission said on Thursday it disagreed with German advice to consumers .",
    "Germany 's representative to the European Union 's veterinary committee Werner Zwingmann said",
    "Fischler proposed EU-wide measures after reports from Britain and France .",
    "Rare Hendrix song draft sells for almost $ 17,000 .",
    "Jimi Hendrix wrote the lyrics in a London hotel in New York .",
    "China says Taiwan spoils atmosphere for talks with Beijing .",
    "Japan began the defence of their Asian Cup title with a lucky 2-1 win against Syria .",
]


def conll_sentences(path: Path | None, limit: int = 300) -> list[list[str]]:
    """The first ``limit`` sentences of a CoNLL file as word lists; the built-in ones if ``path`` is None."""
    if path is None:
        return [s.split() for s in BUILTIN_SENTENCES]
    from spacy_bert_ner.data.conll import read_conll

    articles, _ = read_conll(path)
    sentences = [s.words for a in articles for s in a.sentences]
    return sentences[:limit]


def train_tokenizer(
    sentences: Iterable[Sequence[str]], folder: Path, vocab_size: int = 1000
) -> BertTokenizerFast:
    """A cased WordPiece tokenizer for ``sentences``, as a fast BERT tokenizer; the same vocab in every
    process.

    ``tokenizers``' WordPiece trainer breaks ties between equally frequent merges in hash-map order, which
    changes from one process to the next (so would a random model's predictions). This vocab is built by a
    fixed rule instead: the special tokens, every character (alone and as a ``##`` continuation), then the
    words (after BERT's pre-tokenizer) seen at least twice, most frequent first, ties by spelling. Words seen
    once are split into characters, so tests still meet multi-wordpiece words.
    """
    split = BertPreTokenizer().pre_tokenize_str
    counts = Counter(piece for words in sentences for piece, _ in split(" ".join(words)))
    chars = sorted({char for word in counts for char in word})
    vocab = SPECIAL_TOKENS + chars + [f"##{char}" for char in chars]
    frequent = sorted(
        (word for word, n in counts.items() if n >= 2 and len(word) > 1), key=lambda w: (-counts[w], w)
    )
    vocab += frequent[: max(0, vocab_size - len(vocab))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("".join(token + "\n" for token in vocab), encoding="utf-8")
    # from_pretrained on a folder holding vocab.txt works on transformers 4.53 and 5.x alike; the
    # constructor's vocab_file= argument was renamed in 5.0.
    return BertTokenizerFast.from_pretrained(folder, do_lower_case=False)


def tiny_settings(labels: Sequence[str]) -> dict:
    """The tiny architecture (2 layers, hidden 32) and label maps, for any ``*Config`` of the BERT family."""
    return {
        "hidden_size": HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }


def _config(vocab_size: int, labels: Sequence[str], **overrides) -> BertConfig:
    return BertConfig(
        **{"vocab_size": vocab_size, "max_position_embeddings": 512, **tiny_settings(labels), **overrides}
    )


def save_backbone(folder: Path, sentences: Iterable[Sequence[str]], seed: int = 0) -> Path:
    """A random 2-layer BertModel (no head) with a WordPiece vocab from ``sentences``: a tiny backbone
    for spacy-transformers and train-hf, saved to ``folder``."""
    tokenizer = train_tokenizer(sentences, folder)
    torch.manual_seed(seed)
    architecture = {k: v for k, v in tiny_settings([]).items() if k not in ("id2label", "label2id")}
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, **architecture)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_random_classifier(
    folder: Path, tokenizer: BertTokenizerFast, labels: Sequence[str] = CONLL_LABELS, seed: int = 0, **config
) -> Path:
    """A randomly initialised 2-layer BertForTokenClassification and its tokenizer, saved to ``folder``."""
    torch.manual_seed(seed)
    model = BertForTokenClassification(_config(len(tokenizer), labels, **config)).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_rigged_classifier(
    folder: Path,
    pieces: Mapping[str, str | Mapping[str, float]],
    labels: Sequence[str] = CONLL_LABELS,
    **config,
) -> Path:
    """A classifier whose prediction for each wordpiece is fixed by ``pieces``.

    ``pieces`` maps each vocabulary entry (``"Paris"``, ``"##ville"``) to a label, or to ``{label: weight}``
    for a less certain vote. Any other wordpiece, ``[UNK]`` included, leans to ``"O"`` (or the first label).
    """
    vocab = SPECIAL_TOKENS + [p for p in pieces if p not in SPECIAL_TOKENS]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("".join(p + "\n" for p in vocab), encoding="utf-8")
    tokenizer = BertTokenizerFast.from_pretrained(folder, do_lower_case=False)
    model = BertForTokenClassification(_config(len(vocab), labels, **config)).eval()
    bert = model.bert
    with torch.no_grad():
        for layer in bert.encoder.layer:  # each layer becomes LayerNorm(x): no mixing between positions
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
        bert.embeddings.position_embeddings.weight.zero_()
        bert.embeddings.token_type_embeddings.weight.zero_()
        embeddings = bert.embeddings.word_embeddings.weight
        embeddings.zero_()
        default = "O" if "O" in labels else labels[0]
        for i, piece in enumerate(vocab):
            votes = pieces.get(piece, default) if piece not in ("[CLS]", "[SEP]", "[PAD]") else {}
            if isinstance(votes, str):
                votes = {votes: 1.0}
            for label, weight in votes.items():
                embeddings[i, labels.index(label)] = weight
        model.classifier.weight.copy_(torch.eye(len(labels), HIDDEN))
        model.classifier.bias.zero_()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# -- rigged pipelines for the bert_ner tests ----------------------------------------------------------------


def tag_word(tag: str) -> str:
    """The word the rigged models label ``tag``: ``B-WORK-OF-ART`` -> ``tbworkofart``."""
    return "t" + re.sub("[^a-z]", "", tag.lower())


def rigged(folder: Path, labels: Sequence[str]) -> Path:
    """A rigged model over ``labels``: each tag word gets its tag; ``##ville`` is O; names for the demos."""
    pieces: dict = {tag_word(tag): tag for tag in labels}
    if "O" in labels:
        pieces.update({"##ville": "O", ".": "O", "visited": "O"})
    if set(CONLL_LABELS) <= set(labels):
        pieces.update({"John": "B-PER", "Smith": "I-PER", "Paris": "B-LOC"})
    return save_rigged_classifier(folder, pieces, labels)


def bert_ner(model: Path | str, **config) -> spacy.Language:
    """A blank English pipeline with one bert_ner over ``model``."""
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(model), **config})
    return nlp


def ents_of(doc: Doc) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.label_) for e in doc.ents]


def with_int8_graph(source: Path, folder: Path, recipe: str = "dynamic-per-channel-7bit") -> Path:
    """A copy of the model folder ``source`` in ``folder`` with an int8 ONNX graph made by ``recipe`` (what
    ``optimize`` saves; a reading never makes one)."""
    from spacy_bert_ner.hf.inference.classifier import load_token_classifier

    classifier = load_token_classifier(str(source))
    classifier.graphs.make("int8", recipe)
    classifier.variant(dtype="int8").save_pretrained(folder)
    return folder

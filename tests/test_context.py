"""Document context: each sentence read with up to N wordpieces of its doc either side, in training
(hf/finetune/encoding.encode) and at prediction (TokenClassifier, bert_ner), checked against plain reference
loops."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.tokens import Doc
from tiny_models import CONLL_LABELS
from transformers import AutoModelForTokenClassification, AutoTokenizer

from spacy_bert_ner.bio import tags_to_spans
from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.errors import ConfigError, ModelError
from spacy_bert_ner.hf.finetune.align import IGNORE, align_labels
from spacy_bert_ner.hf.finetune.encoding import encode
from spacy_bert_ner.hf.finetune.metrics import word_level_tags
from spacy_bert_ner.hf.inference.classifier import load_token_classifier
from spacy_bert_ner.hf.inference.context import CONFIG_KEY, tokenize_words, with_context

LABEL2ID = {label: i for i, label in enumerate(CONLL_LABELS)}


@pytest.fixture(scope="module")
def dev_articles(conll_dir: Path) -> list[list[tuple[list[str], list[str]]]]:
    """The first 6 CoNLL-2003 dev articles, as (words, tags) per sentence."""
    articles, _ = read_conll(conll_dir / "valid.txt")
    return [[(s.words, s.ner_tags) for s in article.sentences] for article in articles[:6]]


# -- the shared rule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "length", "budget", "context", "expected"),
    [
        ((10, 20), 100, 50, 5, (5, 25)),  # room for all of it
        ((2, 20), 100, 50, 5, (0, 25)),  # the doc's start leaves 2 on the left
        ((90, 98), 100, 50, 5, (85, 100)),  # and its end 2 on the right
        ((10, 20), 100, 16, 5, (7, 23)),  # short budget: both sides shrink evenly
        ((10, 20), 100, 15, 5, (8, 23)),  # odd spare: the extra one goes right
        ((1, 20), 100, 25, 5, (0, 25)),  # a side with less to give leaves the rest to the other
        ((80, 99), 100, 25, 5, (75, 100)),
        ((10, 20), 100, 10, 5, (10, 20)),  # no spare: the sentence alone
        ((10, 20), 100, 50, 0, (10, 20)),  # context 0: the sentence alone
    ],
)
def test_context_shrinks_before_the_sentence(segment, length, budget, context, expected) -> None:
    assert with_context(*segment, length, budget, context) == expected


# -- training ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_length", [512, 12])
def test_encode_without_context_is_the_tokenizers_output(
    tiny_tokenizer, dev_articles, max_length: int
) -> None:
    """Context 0 gives what the course's tokenizer call gives (12: sentences cut as truncation cuts them)."""
    sentences = [sentence for article in dev_articles for sentence in article]
    encoded = encode(tiny_tokenizer, dev_articles, LABEL2ID, "all_subwords", max_length, context=0)
    batch = tiny_tokenizer(
        [w for w, _ in sentences], is_split_into_words=True, truncation=True, max_length=max_length
    )
    assert encoded.dataset["input_ids"] == batch["input_ids"]
    assert encoded.dataset["token_type_ids"] == batch["token_type_ids"]
    assert encoded.dataset["attention_mask"] == batch["attention_mask"]
    assert encoded.word_ids == [batch.word_ids(i) for i in range(len(sentences))]
    expected_labels = [align_labels(batch.word_ids(i), t, LABEL2ID) for i, (_, t) in enumerate(sentences)]
    assert encoded.dataset["labels"] == expected_labels
    assert (encoded.n_truncated > 0) == (max_length == 12)


def test_encode_with_context_labels_only_the_sentence(tiny_tokenizer, dev_articles) -> None:
    """Each input is [CLS] left sentence right [SEP]: the context is the doc's own neighbouring wordpieces,
    labelled -100, and never comes from another doc."""
    context = 8
    plain = encode(tiny_tokenizer, dev_articles, LABEL2ID, "all_subwords", 512, context=0)
    wide = encode(tiny_tokenizer, dev_articles, LABEL2ID, "all_subwords", 512, context=context)
    assert wide.tags == plain.tags and wide.n_words == plain.n_words
    i = 0
    for article in dev_articles:
        pieces = [plain.dataset["input_ids"][i + k][1:-1] for k in range(len(article))]
        for k in range(len(article)):
            before = [p for sent in pieces[:k] for p in sent][-context:] if k else []
            after = [p for sent in pieces[k + 1 :] for p in sent][:context]
            ids, labels = wide.dataset["input_ids"][i + k], wide.dataset["labels"][i + k]
            assert ids == [ids[0], *before, *pieces[k], *after, ids[-1]]
            sentence_labels = plain.dataset["labels"][i + k][1:-1]
            assert labels == [IGNORE] * (1 + len(before)) + sentence_labels + [IGNORE] * (len(after) + 1)
            assert wide.word_ids[i + k] == [None] * (1 + len(before)) + plain.word_ids[i + k][1:-1] + [
                None
            ] * (len(after) + 1)
        i += len(article)
    assert any(len(wide.dataset["input_ids"][j]) > len(plain.dataset["input_ids"][j]) for j in range(i))


def _as_predictions(labels: list[list[int]]) -> numpy.ndarray:
    """Gold subword labels as a padded [inputs, length] prediction (-100 read as label 0)."""
    width = max(len(row) for row in labels)
    return numpy.array([[max(x, 0) for x in row] + [0] * (width - len(row)) for row in labels])


def test_encode_packed_shares_inputs_and_keeps_each_sentence_whole(tiny_tokenizer, dev_articles) -> None:
    """pack: consecutive sentences of a doc share one input (the rule bert_ner's pack_sentences reads by);
    each sentence keeps its wordpieces, labels and at least the context it had alone, and word-level
    evaluation maps every sentence back to its own words."""
    context, max_length = 8, 64
    alone = encode(tiny_tokenizer, dev_articles, LABEL2ID, "all_subwords", max_length, context)
    packed = encode(
        tiny_tokenizer, dev_articles, LABEL2ID, "all_subwords", max_length, context, pack_sentences=True
    )
    assert packed.tags == alone.tags and packed.n_words == alone.n_words
    assert len(packed.placements) == len(alone.tags) == len(alone.word_ids)
    assert len(packed.word_ids) < 0.7 * len(alone.word_ids)
    assert max(len(ids) for ids in packed.dataset["input_ids"]) <= max_length
    for k, (i, first) in enumerate(packed.placements):
        words = range(first, first + len(alone.tags[k]))
        own = [p for p, w in enumerate(packed.word_ids[i]) if w in words]
        own_alone = [p for p, w in enumerate(alone.word_ids[k]) if w is not None]
        assert [packed.dataset["labels"][i][p] for p in own] == [
            alone.dataset["labels"][k][p] for p in own_alone
        ]
        assert [packed.dataset["input_ids"][i][p] for p in own] == [
            alone.dataset["input_ids"][k][p] for p in own_alone
        ]
        assert own == list(range(own[0], own[-1] + 1))
        assert own[0] >= own_alone[0]  # context on the left: at least as much as alone
        assert len(packed.word_ids[i]) - own[-1] >= len(alone.word_ids[k]) - own_alone[-1]
    id2label = {i: label for label, i in LABEL2ID.items()}
    from_packed = word_level_tags(_as_predictions(packed.dataset["labels"]), packed, id2label)
    assert from_packed == word_level_tags(_as_predictions(alone.dataset["labels"]), alone, id2label)
    assert packed.n_truncated == alone.n_truncated
    assert from_packed == alone.tags or alone.n_truncated


# -- prediction ----------------------------------------------------------------------------------------------


def reference_tags(model_dir: Path, article: list[list[str]], context: int) -> list[list[str]]:
    """A plain loop: per sentence, [CLS] + up to ``context`` wordpieces of the article before it + the
    sentence + up to ``context`` after + [SEP] -> model -> argmax at each word's first wordpiece."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
    encoded = [tokenizer(words, is_split_into_words=True, add_special_tokens=False) for words in article]
    pieces = [e["input_ids"] for e in encoded]
    tags = []
    for k, words in enumerate(article):
        before = [p for sent in pieces[:k] for p in sent][-context:] if k and context else []
        after = [p for sent in pieces[k + 1 :] for p in sent][:context]
        ids = [tokenizer.cls_token_id, *before, *pieces[k], *after, tokenizer.sep_token_id]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
        offset = 1 + len(before)
        word_ids = encoded[k].word_ids()
        first = {w: i for i, w in reversed(list(enumerate(word_ids)))}
        tags.append(
            [model.config.id2label[int(logits[offset + first[w]].argmax())] for w in range(len(words))]
        )
    return tags


def ents_by_sentence(doc: Doc) -> list[list[tuple[int, int, str]]]:
    return [[(e.start - s.start, e.end - s.start, e.label_) for e in s.ents] for s in doc.sents]


@pytest.mark.parametrize("context", [0, 16])
def test_bert_ner_equals_a_plain_reference_loop(tiny_model_dir: Path, dev_articles, context: int) -> None:
    """On real dev articles with their gold sentences, bert_ner's entities are the reference loop's tags
    decoded per sentence by the same BIO rule."""
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(tiny_model_dir), "context": context})
    found_any = False
    for article in dev_articles:
        words = [w for sentence, _ in article for w in sentence]
        starts = [i == 0 for sentence, _ in article for i in range(len(sentence))]
        doc = nlp(Doc(nlp.vocab, words=words, sent_starts=starts))
        expected = [
            tags_to_spans(tags) for tags in reference_tags(tiny_model_dir, [w for w, _ in article], context)
        ]
        assert ents_by_sentence(doc) == [[(s, e, label) for s, e, label in spans] for spans in expected]
        found_any |= bool(doc.ents)
    assert found_any, "the tiny model should find some entities"


def test_context_changes_predictions_and_never_crosses_a_doc(tiny_model_dir: Path, dev_articles) -> None:
    """Docs labelled together get what each gets alone; context changes what the random model says."""
    classifier = load_token_classifier(str(tiny_model_dir), context=16)
    docs, segments = [], []
    for article in dev_articles:
        docs.append([w for sentence, _ in article for w in sentence])
        bounds = numpy.cumsum([0] + [len(sentence) for sentence, _ in article])
        segments.append(list(zip(bounds[:-1].tolist(), bounds[1:].tolist())))
    together = classifier.predict(docs, segments)
    for words, doc_segments, got in zip(docs, segments, together):
        (alone,) = classifier.predict([words], [doc_segments])
        numpy.testing.assert_array_equal(got.label_ids, alone.label_ids)
        numpy.testing.assert_allclose(got.scores, alone.scores, atol=1e-5)
    no_context = load_token_classifier(str(tiny_model_dir), context=0).predict(docs, segments)
    assert any((a.label_ids != b.label_ids).any() for a, b in zip(together, no_context))


def test_sentence_longer_than_the_window(tiny_model_dir: Path, dev_articles) -> None:
    """A sentence longer than one input is read in overlapping windows; each word's window gives it the full
    context on both sides (or all there is; a word of k wordpieces may lose k - 1 of it, as windows advance
    by the window less twice the context), and every word is labelled."""
    context, window = 4, 40
    classifier = load_token_classifier(str(tiny_model_dir), context=context, window=window)
    article = [w for sentence, _ in dev_articles[0] for w in sentence]
    long_sentence = [w for sentence, _ in dev_articles[1] for w in sentence]
    words = article[:30] + long_sentence + article[30:60]
    segments = [(0, 30), (30, 30 + len(long_sentence)), (30 + len(long_sentence), len(words))]
    pieces = classifier._encoder.encode(words, is_pretokenized=True, add_special_tokens=False)
    start, end = numpy.searchsorted(pieces.word_ids, [30, 30 + len(long_sentence)])
    assert end - start > 3 * classifier.content

    plan = classifier._plan(tokenize_words(classifier._encoder, [words])[0], segments)
    n, word_ids = len(pieces.ids), numpy.asarray(pieces.word_ids)
    for word in range(30, 30 + len(long_sentence)):
        first, last = numpy.flatnonzero(word_ids == word)[[0, -1]]
        owners = set(plan.owners[first : last + 1].tolist())
        if len(owners) > 1:  # a word too long for the windows' overlap: labelled by wordpiece
            continue
        lo, hi = plan.windows[owners.pop()]
        assert hi - lo <= classifier.content
        slack = last - first
        assert (
            first - lo >= min(context, first) - slack and hi - 1 - last >= min(context, n - 1 - last) - slack
        )
    assert (plan.owners >= 0).all()
    (prediction,) = classifier.predict([words], [segments])
    assert (prediction.label_ids >= 0).all()


def test_bad_context(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"context must be a number of wordpieces from 0 to 9 .* got 10"):
        load_token_classifier(str(tiny_model_dir), window=22, context=10)
    with pytest.raises(ConfigError, match="context = -1: must be a number of wordpieces from 0 up"):
        load_token_classifier(str(tiny_model_dir), context=-1)
    with pytest.raises(ConfigError, match=r"stride must be in 1\.\.12 .*less twice context 4"):
        load_token_classifier(str(tiny_model_dir), window=22, context=4, stride=13)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    config = json.loads((broken / "config.json").read_text())
    for record, named in (
        ({"context": "wide"}, "context is 'wide'"),
        ({"context": 4, "pack_sentences": "yes"}, "pack_sentences is 'yes'"),
        ({"context": 4, "window": 0}, "window is 0"),
        ({"contxt": 4}, "is {'contxt': 4}"),
    ):
        (broken / "config.json").write_text(json.dumps({**config, CONFIG_KEY: record}))
        with pytest.raises(ModelError, match=rf"config.json 'spacy_bert_ner' {re.escape(named)}; .*N >= 0"):
            load_token_classifier(str(broken))


def test_context_recorded_by_the_model_is_the_default_and_survives_saving(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model folder that records context 7, packing and window 40 gives bert_ner those; a setting
    overrides them; a saved pipeline keeps both offline, with the model folder gone."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    config = json.loads((model / "config.json").read_text())
    record = {"context": 7, "pack_sentences": True, "window": 40}
    (model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: record}))
    plain = load_token_classifier(str(tiny_model_dir))  # a model that does not say
    assert (plain.context, plain.pack_sentences, plain.window) == (0, False, 512)
    recorded = load_token_classifier(str(model))
    assert (recorded.context, recorded.pack_sentences, recorded.window) == (7, True, 40)
    assert (
        load_token_classifier(str(model), context=3, pack_sentences=False, window=64).pack_sentences is False
    )
    (model / "config.json").write_text(json.dumps({**config, CONFIG_KEY: {"context": 7}}))  # an older record
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", name="recorded", config={"model": str(model)})
    nlp.add_pipe("bert_ner", name="set", config={"model": str(model), "context": 3, "annotate": "spans"})
    assert nlp.get_pipe("recorded").classifier.context == 7
    assert nlp.get_pipe("set").classifier.context == 3
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("recorded").classifier.context == 7
    assert loaded.get_pipe("set").classifier.context == 3


def test_packed_sentences_share_inputs_and_keep_their_context(tiny_model_dir: Path, dev_articles) -> None:
    """pack: consecutive sentences share one input while they fit with their context; every sentence in an
    input still has the full context on both sides (or the doc's edge), and every word is labelled."""
    context, window = 8, 64
    plain = load_token_classifier(str(tiny_model_dir), context=context, window=window)
    packed = load_token_classifier(str(tiny_model_dir), context=context, window=window, pack_sentences=True)
    n_inputs = n_sentences = 0
    for article in dev_articles:
        words = [w for sentence, _ in article for w in sentence]
        bounds = numpy.cumsum([0] + [len(sentence) for sentence, _ in article]).tolist()
        segments = list(zip(bounds[:-1], bounds[1:]))
        pieces = tokenize_words(packed._encoder, [words])[0]
        plan = packed._plan(pieces, segments)
        n_inputs += len(plan.windows)
        n_sentences += len(plain._plan(pieces, segments).windows)
        n = len(pieces.ids)
        for first, end in segments:
            start, stop = pieces.piece_range(first, end)
            if stop - start + 2 * context > packed.content:  # a sentence too long to pack
                continue
            (owner,) = set(plan.owners[start:stop].tolist())
            lo, hi = plan.windows[owner]
            assert start - lo >= min(context, start) and hi - stop >= min(context, n - stop)
            assert hi - lo <= packed.content
        (prediction,) = packed.predict([words], [segments])
        assert (prediction.label_ids >= 0).all()
    assert n_inputs < 0.7 * n_sentences

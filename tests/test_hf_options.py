"""hf/inference/options.py: the reading options are declared once; the factory's config, its validation at
add_pipe and TokenClassifier.variant follow from the declaration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import spacy
from thinc.api import ConfigValidationError

from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.hf.inference.classifier import load_token_classifier
from spacy_bert_ner.hf.inference.options import NAMES, ReadingOptions, reading_options

pytestmark = pytest.mark.core


def test_the_factory_config_holds_every_reading_option_with_its_declared_default() -> None:
    defaults = spacy.blank("en").get_factory_meta("bert_ner").default_config
    assert {name: defaults[name] for name in NAMES} == ReadingOptions().as_config()


def test_a_config_value_reaches_the_classifier_as_one_options_object(tiny_model_dir: Path) -> None:
    nlp = spacy.blank("en")
    config = {
        "model": str(tiny_model_dir),
        "aggregation": "max",
        "context": 3,
        "batch_size": 64,
        "temperature": 2.0,
    }
    ner = nlp.add_pipe("bert_ner", config=config)
    expected = ReadingOptions(aggregation="max", context=3, batch_size=64, temperature=2.0)
    assert ner.options == expected and ner.classifier.options == expected
    assert (ner.classifier.aggregation, ner.classifier.context, ner.classifier.temperature) == ("max", 3, 2.0)


@pytest.mark.parametrize(
    ("name", "value"), [("aggregation", "mean"), ("context", "wide"), ("pack_sentences", "yes")]
)
def test_spacy_validates_reading_options_at_add_pipe_by_their_declared_types(
    tiny_model_dir: Path, name: str, value: object
) -> None:
    with pytest.raises(ConfigValidationError, match=name):
        spacy.blank("en").add_pipe("bert_ner", config={"model": str(tiny_model_dir), name: value})


def test_options_are_frozen_and_replace_validates() -> None:
    options = ReadingOptions()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.context = 4  # type: ignore[misc]
    assert options.replace(context=4).context == 4 and options.context is None
    with pytest.raises(ConfigError, match="context = -4: must be a number of wordpieces from 0 up"):
        options.replace(context=-4)
    with pytest.raises(ConfigError, match="temperature = True: Input should be a valid number"):
        reading_options(temperature=True)
    with pytest.raises(ConfigError, match="pack = True: not an option; known: aggregation"):
        options.replace(pack=True)


def test_a_new_window_or_context_resets_the_stride_to_its_default() -> None:
    options = ReadingOptions(window=64, stride=10)
    assert options.replace(context=8).stride is None
    assert options.replace(window=32).stride is None
    assert options.replace(temperature=2.0).stride == 10
    assert options.replace(context=8, stride=12).stride == 12


def test_variant_is_the_same_model_read_another_way(tiny_model_dir: Path) -> None:
    classifier = load_token_classifier(str(tiny_model_dir), window=64, stride=10)
    other = classifier.variant(context=8, pack_sentences=True)
    assert other.model is classifier.model and other.tokenizer is classifier.tokenizer
    assert (other.context, other.pack_sentences, other.window) == (8, True, 64)
    assert other.stride == min((64 - 2) * 3 // 4, 64 - 2 - 2 * 8)  # the default for the new context
    assert classifier.options == ReadingOptions(window=64, stride=10)  # unchanged

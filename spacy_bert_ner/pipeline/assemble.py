"""A fine-tuned HF token classifier folder -> a saved spaCy pipeline whose NER is ``bert_ner``."""

from __future__ import annotations

from pathlib import Path

import spacy

from ..errors import ConfigError, ModelError


def assemble_pipeline(
    model_dir: str | Path,
    output_dir: str | Path,
    lang: str = "en",
    name: str = "bert_ner",
    sentencizer: bool = True,
) -> Path:
    """Save to ``output_dir`` a blank ``lang`` pipeline whose ``bert_ner`` component wraps ``model_dir``.

    The component keeps the model and tokenizer inside the pipeline folder, so it loads with no reference
    to ``model_dir`` and is ready for ``spacy evaluate`` and ``spacy package``. With ``sentencizer``,
    sentences are split first, so that bert_ner labels raw text sentence by sentence (with the model's
    context around each), as train-hf fine-tunes: ``line_sentences`` starts one at every line break
    (headlines, datelines, table rows), then spaCy's rule-based ``sentencizer`` splits the rest after
    punctuation.
    """
    model_dir, output_dir = Path(model_dir), Path(output_dir)
    if not model_dir.is_dir():
        raise ModelError(
            f"{model_dir}: no such model folder; pass the model/ folder that `train-hf` wrote "
            "(or any folder saved with save_pretrained)"
        )
    try:
        nlp = spacy.blank(lang)
    except ImportError as err:
        raise ConfigError(f"--lang {lang!r}: not a language spaCy knows ({err})") from None
    if sentencizer:
        nlp.add_pipe("line_sentences")
        nlp.add_pipe("sentencizer")
    nlp.add_pipe("bert_ner", name=name, config={"model": str(model_dir.resolve())})
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output_dir)
    return output_dir

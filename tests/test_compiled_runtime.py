"""The torch.compile runtime (``runtime = "compile"``): the third runtime, added as one module and its line in
RUNTIMES; it reads what torch reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.hf.inference.classifier import load_token_classifier
from spacy_bert_ner.hf.inference.runtimes import compiled
from spacy_bert_ner.hf.inference.runtimes.compiled import CompiledRuntime

pytestmark = pytest.mark.core


@pytest.mark.slow
def test_the_compiled_model_labels_as_the_torch_model_does(
    tiny_model_dir: Path, tiny_sentences: list[list[str]]
) -> None:
    """TorchInductor's code for any batch and length: batches of several lengths and a batch of one
    sequence (which compiles once more) give torch's labels and scores."""
    sentences = tiny_sentences[:40]
    torch_reader = load_token_classifier(str(tiny_model_dir), runtime="torch", batch_size=256)
    compiled_reader = load_token_classifier(str(tiny_model_dir), runtime="compile", batch_size=256)
    assert isinstance(compiled_reader.runtime, CompiledRuntime)
    for batch in (sentences, sentences[:1]):
        for a, b in zip(compiled_reader.predict(batch), torch_reader.predict(batch), strict=True):
            assert a.label_ids.tolist() == b.label_ids.tolist()
            assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_a_compiled_reading_saves_what_a_torch_reading_saves(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing compiled is saved (each process compiles again), so the folder reads with any runtime."""
    monkeypatch.setattr(CompiledRuntime, "backend", "eager")  # only traced: saving needs no kernels
    load_token_classifier(str(tiny_model_dir), runtime="compile").save_pretrained(tmp_path / "compile")
    load_token_classifier(str(tiny_model_dir), runtime="torch").save_pretrained(tmp_path / "torch")
    compile_files, torch_files = (
        sorted(p.relative_to(root) for p in root.rglob("*"))
        for root in (tmp_path / "compile", tmp_path / "torch")
    )
    assert compile_files == torch_files


def test_no_compiler_is_one_line(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "compiler_found", lambda: False)
    with pytest.raises(ConfigError, match=r'found no compiler .*install one .* or set runtime "torch"'):
        load_token_classifier(str(tiny_model_dir), runtime="compile")

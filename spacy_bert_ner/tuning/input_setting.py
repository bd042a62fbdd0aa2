"""What changes the model's input, so needs a forward pass of its own (:class:`InputSetting`), and the
reference reading every time ratio is relative to (:data:`REFERENCE`). No spaCy, no torch: the CLI's
start-up reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import ConfigError
from ..hf.inference.options import FORWARD_OPTIONS, reading_options


@dataclass(frozen=True)
class InputSetting:
    """What changes the model's input, so needs a forward pass of its own: whether the component reads
    sentence by sentence, and values of the reading options of kind ``forward``
    (:data:`~spacy_bert_ner.hf.inference.options.FORWARD_OPTIONS`: context, packing, window, stride, dtype,
    and any declared later); an option it leaves out keeps the pipeline's value. Build it with :meth:`of`,
    which checks the names and values against :class:`~spacy_bert_ner.hf.inference.options.ReadingOptions`."""

    sentences: bool
    options: tuple[tuple[str, Any], ...] = ()  # (name, value), in ReadingOptions' field order

    @classmethod
    def of(cls, sentences: bool, **options: Any) -> "InputSetting":
        """A setting reading by sentence or not, with ``options`` (None: the pipeline's value)."""
        given = {name: value for name, value in options.items() if value is not None}
        unknown = sorted(set(given) - set(FORWARD_OPTIONS))
        if unknown:
            raise ConfigError(
                f"tune: {', '.join(unknown)} cannot be tried as an input setting; the reading options that "
                f"change the model's input are {', '.join(FORWARD_OPTIONS)} (hf/inference/options.py, "
                "kind 'forward')"
            )
        reading_options(**given)  # each value checked where the option is declared
        return cls(sentences, tuple((name, given[name]) for name in FORWARD_OPTIONS if name in given))

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> "InputSetting":
        """The input setting of component config ``values`` (``sentences`` and the forward options in it)."""
        return cls.of(bool(values["sentences"]), **{k: values[k] for k in FORWARD_OPTIONS if k in values})

    def get(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def describe(self) -> str:
        """``sentences, packed, context 64``, ``whole docs, context 0, window 256``, ``..., int8``."""
        values = dict(self.options)
        parts = ["sentences" + (", packed" if values.pop("pack_sentences", False) else "")]
        if not self.sentences:
            parts = ["whole docs"]
        if "context" in values:
            parts.append(f"context {values.pop('context')}")
        for name, value in values.items():
            parts.append(str(value) if name == "dtype" else f"{name} {value}")
        return ", ".join(parts)

    def as_config(self) -> dict[str, Any]:
        """The setting as ``bert_ner`` config values."""
        return {"sentences": self.sentences, **dict(self.options)}


# Context 0, one sentence per input: the cheapest way to label sentences, and what the bare batched forward
# pass of the model does.
REFERENCE = InputSetting.of(True, context=0, pack_sentences=False)

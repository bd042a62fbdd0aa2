"""How a token classifier reads its input: one frozen, validated :class:`ReadingOptions`.

Each option is declared once here, with its default and its schema. The ``bert_ner`` factory's settings of the
same names are generated from it (:mod:`spacy_bert_ner.pipeline.bert_ner`), the component passes the object
down whole, and :meth:`TokenClassifier.variant
<spacy_bert_ner.hf.inference.classifier.TokenClassifier.variant>` is a ``replace``. Checks that need the model
(a window longer than it reads, a context too long for the window) happen once, when a classifier resolves the
options against its model (:func:`resolve`). No spaCy, no torch.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal, NamedTuple, Optional, get_args

from pydantic import ConfigDict, ValidationError, field_validator
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from ...errors import ConfigError
from ...validation import one_line
from .context import Recorded, largest_context

Aggregation = Literal["first", "average", "max"]
DType = Literal["float32", "bfloat16", "float16", "int8"]
# "auto" or a name of spacy_bert_ner.hf.inference.runtimes.RUNTIMES, checked where a runtime is opened: this
# module imports no torch, and a new runtime is one module and its line in RUNTIMES.
Runtime = str
AGGREGATIONS: tuple[str, ...] = get_args(Aggregation)
DTYPE_NAMES: tuple[str, ...] = get_args(DType)
INVALID_OPTION = "invalid_option"  # the pydantic error type of this module's own checks


@dataclass(frozen=True, config=ConfigDict(extra="forbid", strict=True))
class ReadingOptions:
    """How the model reads words: defaults, types and ranges declared once.

    aggregation: how a word's wordpieces vote: the first one, the average of their probabilities, or the one
        most sure of its label.
    window / stride: model input length in wordpieces, special tokens included (None: the length the model
        was fine-tuned with, if train-hf recorded it, else the model's maximum), and how far windows over a
        longer input advance (None: 3/4 of a window, at most a window less twice the context).
    context: wordpieces of the input each segment (sentence) sees on either side, never labelled (None: what
        train-hf recorded, else 0).
    pack_sentences: consecutive segments share one model input while they fit with ``context`` around them
        (None: what train-hf recorded, else False).
    batch_size: wordpieces (sequences x longest sequence) per forward pass; 1024 was fastest on CPU
        (benchmarks/inference.py).
    temperature: divides the logits before the softmax (``tune`` fits it); 1 keeps the model's own scores.
    dtype: the precision the model reads in: "float32", "bfloat16", "float16" (torch weights in that dtype),
        or "int8": the int8 ONNX graph ``optimize`` saved in the model folder (a recipe of
        :mod:`~spacy_bert_ner.hf.export.quantize` chosen on dev), read by ONNX Runtime on the CPU; a folder
        without one is an error naming the command.
    runtime: what runs the forward pass, a name of :data:`~spacy_bert_ner.hf.inference.runtimes.RUNTIMES`:
        "torch"; "onnx" (ONNX Runtime, CPU, dtype float32 or int8; the ``onnx`` extra); or "auto": ONNX
        Runtime when the model folder holds a graph in ``dtype`` (``onnx/<dtype>.onnx``) or the dtype is
        int8, and the device is the CPU, else torch.
    batch_invariant: a text's entities do not depend on the texts read beside it. Only an int8 graph
        quantized dynamically needs it: it computes its activation scales from the whole tensor it multiplies
        (every sequence of the batch, padding included), so there each sequence is read alone (no padding);
        ``False`` batches them as ``batch_size`` says, and the labels can move with the batch. Float readings
        and statically quantized graphs are batch-invariant either way.

    Each field's ``kind`` (:data:`KINDS`) says what changing it costs, which is how ``tune`` treats it:
    ``forward`` changes the model's inputs or weights (a forward pass of its own), ``decode`` is applied to
    the label probabilities (tried on the same forward pass), ``runtime`` changes neither (speed only).
    """

    aggregation: Aggregation = dataclasses.field(default="first", metadata={"kind": "decode"})
    window: Optional[int] = dataclasses.field(default=None, metadata={"kind": "forward"})
    stride: Optional[int] = dataclasses.field(default=None, metadata={"kind": "forward"})
    context: Optional[int] = dataclasses.field(default=None, metadata={"kind": "forward"})
    pack_sentences: Optional[bool] = dataclasses.field(default=None, metadata={"kind": "forward"})
    batch_size: int = dataclasses.field(default=1024, metadata={"kind": "runtime"})
    temperature: float = dataclasses.field(default=1.0, metadata={"kind": "decode"})
    dtype: DType = dataclasses.field(default="float32", metadata={"kind": "forward"})
    runtime: Runtime = dataclasses.field(default="auto", metadata={"kind": "runtime"})
    batch_invariant: bool = dataclasses.field(default=True, metadata={"kind": "runtime"})

    @field_validator("window", "stride", "batch_size")
    @classmethod
    def _positive(cls, value: Optional[int]) -> Optional[int]:
        if value is not None and value < 1:
            raise PydanticCustomError(INVALID_OPTION, "must be a positive number of wordpieces")
        return value

    @field_validator("context")
    @classmethod
    def _not_negative(cls, value: Optional[int]) -> Optional[int]:
        if value is not None and value < 0:
            raise PydanticCustomError(INVALID_OPTION, "must be a number of wordpieces from 0 up")
        return value

    @field_validator("temperature")
    @classmethod
    def _above_zero(cls, value: float) -> float:
        if not (math.isfinite(value) and value > 0):
            raise PydanticCustomError(INVALID_OPTION, "must be a number above 0 (1: the model's own scores)")
        return float(value)

    def as_config(self) -> dict[str, Any]:
        """The options as ``bert_ner`` config values."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "ReadingOptions":
        """These options with ``changes``, validated. A new window or context without a stride resets the
        stride to its default for them."""
        if {"window", "context"} & changes.keys() and "stride" not in changes:
            changes["stride"] = None
        return reading_options(**{**self.as_config(), **changes})


NAMES: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(ReadingOptions))
KINDS: dict[str, str] = {
    "forward": "changes the model's inputs or weights: tune reads each value with a forward pass of its own",
    "decode": "applied to the label probabilities: tune tries each value on the same forward pass",
    "runtime": "changes neither the inputs nor the labels, only speed or memory: tune leaves it alone",
}
KIND_OF: dict[str, str] = {
    field.name: field.metadata.get("kind", "") for field in dataclasses.fields(ReadingOptions)
}
FORWARD_OPTIONS: tuple[str, ...] = tuple(name for name, kind in KIND_OF.items() if kind == "forward")


def reading_options(**values: Any) -> ReadingOptions:
    """:class:`ReadingOptions` from ``values``; a bad one raises :class:`ConfigError` naming the option, the
    value and what it must be."""
    try:
        return ReadingOptions(**values)
    except ValidationError as err:
        raise ConfigError(one_line("bert_ner reading options", err, NAMES)) from None


class ResolvedReading(NamedTuple):
    """Options resolved against one model: every value concrete and checked."""

    window: int  # wordpieces per model input, special tokens included
    content: int  # wordpieces of text per window
    context: int
    pack_sentences: bool
    stride: int


def resolve(options: ReadingOptions, limit: int, n_special: int, recorded: Recorded) -> ResolvedReading:
    """``options`` against a model that reads at most ``limit`` wordpieces with ``n_special`` special tokens
    around its text, and what train-hf ``recorded`` of how it was trained (window, context, packing): the
    defaults filled in, and every value checked against the model."""
    window = (recorded.window or limit) if options.window is None else options.window
    if not n_special < window <= limit:
        raise ConfigError(
            f"window must be more than the {n_special} special tokens and at most the model's "
            f"maximum length {limit}, got {window}"
        )
    content = window - n_special
    context = (recorded.context or 0) if options.context is None else options.context
    most = largest_context(content)
    if not context <= most:
        raise ConfigError(
            f"context must be a number of wordpieces from 0 to {most} (less than half of "
            f"window {window} less special tokens), got {context}"
        )
    pack_sentences = (
        bool(recorded.pack_sentences) if options.pack_sentences is None else options.pack_sentences
    )
    longest = content - 2 * context  # a stride that leaves every word its context
    stride = max(1, min(content * 3 // 4, longest)) if options.stride is None else options.stride
    if not stride <= longest:
        raise ConfigError(
            f"stride must be in 1..{longest} (window {window} less special tokens"
            + (f", less twice context {context}" if context else "")
            + f"), got {stride}"
        )
    return ResolvedReading(window, content, context, pack_sentences, stride)

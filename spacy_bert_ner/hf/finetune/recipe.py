"""The Hugging Face course's token-classification recipe, run from checked settings.

transformers / datasets / torch only, no spaCy: sentences come in as ``(words, IOB2 tags)`` pairs grouped
by document (:mod:`spacy_bert_ner.training.train_hf` reads them from DocBins), settings from
:mod:`.settings`. The steps:

1. :func:`check_sentences`: no empty split; a listed ``[model] labels`` covers every tag of the data and
   names only types the data has. Left out (null), the labels come from the data (:func:`data_labels`);
2. :func:`prepare`: ``TrainingArguments``, backbone and fast tokenizer
   (:mod:`~spacy_bert_ner.hf.inference.loading`; a backbone that is already a token classifier keeps its head
   only for the same labels, :func:`load_backbone`), one input per sentence (with ``[model] pack_sentences``,
   per run of consecutive sentences that fit) with up to ``[model] context`` subwords of its document either
   side (:mod:`~spacy_bert_ner.hf.inference.context`; the context is labelled -100, so loss and metrics see
   the sentence only), subword labels (:mod:`.align`), ``datasets.Dataset``,
   ``DataCollatorForTokenClassification``, ``Trainer`` with the course's ``compute_metrics``
   (:mod:`spacy_bert_ner.scores`) run every evaluation; the model's config records how inputs were built
   (:func:`~spacy_bert_ner.hf.inference.context.record_reading`), so ``bert_ner`` reads the same way. Words
   tagged :data:`.align.MISSING` (no annotation) get -100 and count as ``O`` in word-level scores;
3. :func:`fit`: ``Trainer.train``, ``save_model`` (a standard HF folder with ``id2label`` / ``label2id``),
   then a final evaluation of dev (and test) reported twice: the course's subword-level seqeval and
   word-level seqeval over each word's first-subword prediction (the ``bert_ner`` component's rule).

Every problem found in steps 1-2 raises a :class:`~spacy_bert_ner.errors.BertNerError` with one line naming
the config field and the fix. The Trainer runs on Accelerate, so ``accelerate launch -m spacy_bert_ner
train-hf ...`` trains on several GPUs or machines; only the main process writes the model and metrics.
"""

from __future__ import annotations

import json
import math
import os
import resource
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy
import torch
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    DataCollatorForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Trainer,
    set_seed,
)

from ...bio import TaggedSentence, tags_to_spans
from ...errors import (
    ConfigError,
    ConfigWarning,
    DataError,
    DataWarning,
    ModelError,
    TrainingError,
    TrainingWarning,
)
from ...scores import seqeval_scores
from ..inference.context import (
    largest_context,
    pack_segments,
    plain_encoder,
    record_reading,
    special_tokens,
    tokenize_words,
    with_context,
)
from ..inference.loading import (
    classifier_labels,
    load_word_tokenizer,
    max_input_length,
    require_fast,
    resolve_model,
)
from .align import MISSING, Alignment, align_labels, word_tags
from .compat import evaluation_in_order
from .course_metric import course_compute_metrics, course_scores
from .schedule import Schedule, plan_training
from .settings import CONVERT_HINT, HFTrainSettings, make_training_args, one_line
from .verdict import not_learned, still_rising

# -- data ---------------------------------------------------------------------------------------------------


Documents = Sequence[Sequence[TaggedSentence]]  # one split: the sentences of each document


def known_tags(tags: Sequence[str]) -> list[str]:
    """``tags`` with :data:`.align.MISSING` (a word with no annotation) read as ``O``, as scores read it."""
    return ["O" if tag == MISSING else tag for tag in tags]


def entity_types(documents: Documents) -> Counter:
    """How many entities of each type one split holds."""
    return sentence_entity_types(tags for document in documents for _, tags in document)


def sentence_entity_types(sentences_tags: Iterable[Sequence[str]]) -> Counter:
    """How many entities of each type sentences' gold tags hold."""
    return Counter(type_ for tags in sentences_tags for _, _, type_ in tags_to_spans(known_tags(tags)))


def check_sentences(settings: HFTrainSettings, splits: Mapping[str, Documents]) -> None:
    """No empty train/dev split; a listed ``[model] labels`` covers every tag in the data and names only
    entity types that train, dev or test have."""
    listed = settings.model.labels
    for split, documents in splits.items():
        sentences = [sentence for document in documents for sentence in document]
        path = settings.split_paths()[split]
        where = settings.field("paths", split, str(path))
        if not sentences and split in ("train", "dev"):
            raise DataError(
                f"{where}: no sentences with words in it, nothing to "
                f"{'train on' if split == 'train' else 'evaluate'}; point it at a converted corpus "
                f"(`{CONVERT_HINT}`)"
            )
        if listed is None:
            continue
        known = {*listed, MISSING}
        unknown = Counter(tag for _, tags in sentences for tag in tags if tag not in known)
        if unknown:
            tags = ", ".join(f"{tag} ({n} words)" for tag, n in sorted(unknown.items()))
            raise DataError(
                f"{where}: the data has labels that [model] labels does not list: {tags}; add them to "
                f"[model] labels in {settings.source} (or --model.labels '[...]'), or leave [model] labels "
                "out to take them from the data"
            )
    if listed is not None:
        check_listed_types(settings, listed, splits)


def check_listed_types(
    settings: HFTrainSettings, listed: Sequence[str], splits: Mapping[str, Documents]
) -> None:
    """Every type that ``[model] labels`` names occurs in train, dev or test: an absent one is an output
    class that nothing trains or scores."""
    found = set().union(*(entity_types(documents) for documents in splits.values()))
    absent = [label for label in listed if label != "O" and label[2:] not in found]
    if absent:
        raise DataError(
            f"{settings.source} [model] labels: {', '.join(absent)} name entity types that occur in none of "
            f"[paths] {', '.join(splits)}; remove them from [model] labels, or leave [model] labels out "
            "(null) to take the labels from the data"
        )


def data_labels(types: Mapping[str, Counter]) -> list[str]:
    """The tag set of the data (``types``: :func:`entity_types` per split): ``O``, then ``B-X``, ``I-X`` for
    each type of train in sorted order, then for each type that only dev or test has, sorted."""
    trained = sorted(types["train"])
    others = sorted(set().union(*types.values()) - set(trained))
    return ["O", *(f"{prefix}-{type_}" for type_ in [*trained, *others] for prefix in "BI")]


def resolve_labels(settings: HFTrainSettings, splits: Mapping[str, Documents]) -> list[str]:
    """``[model] labels``, or when it is null the labels of the data (:func:`data_labels`); warns about
    entity types that dev or test have and train lacks (the model cannot learn them: each is a miss)."""
    types = {split: entity_types(documents) for split, documents in splits.items()}
    untrained = sorted({type_ for counts in types.values() for type_ in counts} - set(types["train"]))
    if untrained:
        counts = "; ".join(
            f"{type_} ({', '.join(f'{split} {n[type_]}' for split, n in types.items() if n[type_])})"
            for type_ in untrained
        )
        warnings.warn(
            f"{settings.field('paths', 'train', settings.paths.train)}: no entities of types that other "
            f"splits have: {counts}; the model cannot learn them, so each counts as a miss in those splits' "
            "scores; add examples of them to the training data",
            DataWarning,
        )
    if settings.model.labels is not None:
        return list(settings.model.labels)
    labels = data_labels(types)
    if len(labels) == 1:
        raise DataError(
            f"{settings.source} [model] labels = null: no entities in [paths] {', '.join(splits)} to take "
            f"the labels from; check that the DocBins carry doc.ents (`{CONVERT_HINT}` writes them)"
        )
    return labels


@dataclass
class Encoded:
    """One split as the Trainer sees it, plus what word-level evaluation needs."""

    dataset: Any  # datasets.Dataset: input_ids, attention_mask (token_type_ids), labels
    word_ids: list[list[Optional[int]]]  # per input: each subword's word, counted from the input's first word
    tags: list[list[str]]  # per sentence: the gold IOB2 tags of its words
    placements: list[tuple[int, int]]  # per sentence: its input, and its first word's number in that input
    n_words: int
    n_subwords: int
    n_truncated: int


@dataclass
class TrainingInput:
    """One model input of a split: its subword ids (special tokens included), each subword's word counted
    from the input's first word (None: a special token or context), and the sentences it labels."""

    ids: list[int]
    word_ids: list[Optional[int]]
    sentences: list[tuple[int, list[str]]]  # per sentence: its first word's number here, its gold tags
    truncated: bool  # a sentence too long for the input lost its last words

    @property
    def tags(self) -> list[str]:
        """The gold tags of the input's words, in order."""
        return [tag for _, tags in self.sentences for tag in tags]


def training_inputs(
    encoder: Any,
    documents: Documents,
    max_length: int,
    context: int = 0,
    pack_sentences: bool = False,
) -> list[TrainingInput]:
    """The documents as model inputs: one per sentence, or with ``pack_sentences`` consecutive sentences of a
    document sharing one while they fit with their context
    (:func:`~spacy_bert_ner.hf.inference.context.pack_segments`, the rule ``bert_ner``'s ``pack_sentences``
    reads by), each with up to ``context`` subwords of the same document on either side. Within ``max_length``
    the context shrinks first; a sentence longer than that is cut (as the tokenizer's ``truncation=True``
    cuts), with no context."""
    prefix, suffix = special_tokens(encoder)
    budget = max_length - len(prefix) - len(suffix)
    inputs = []
    all_words = [[word for words, _ in document for word in words] for document in documents]
    for document, pieces in zip(documents, tokenize_words(encoder, all_words), strict=True):
        bounds = numpy.cumsum([0] + [len(words) for words, _ in document]).tolist()
        ranges = [pieces.piece_range(bounds[k], bounds[k + 1]) for k in range(len(document))]
        groups = (
            pack_segments(ranges, len(pieces.ids), budget, context)
            if pack_sentences
            else [(k, k + 1) for k in range(len(document))]
        )
        for first, end in groups:
            first_word, end_word = bounds[first], bounds[end]
            start, stop = ranges[first][0], ranges[end - 1][1]
            truncated = False
            if stop - start > budget:  # one sentence (packing never builds a group that long)
                stop = start + budget  # cut, as truncation cuts; no context
                lo, hi = start, stop
                truncated = bool(pieces.word_ids[stop - 1] < end_word - 1)
            else:
                lo, hi = with_context(start, stop, len(pieces.ids), budget, context)
            word_ids: list[Optional[int]] = [
                *[None] * (len(prefix) + start - lo),
                *(pieces.word_ids[start:stop] - first_word).tolist(),
                *[None] * (hi - stop + len(suffix)),
            ]
            sentences = [(bounds[k] - first_word, list(document[k][1])) for k in range(first, end)]
            inputs.append(
                TrainingInput([*prefix, *pieces.ids[lo:hi].tolist(), *suffix], word_ids, sentences, truncated)
            )
    return inputs


def encode(
    tokenizer: PreTrainedTokenizerFast,
    documents: Documents,
    label2id: Mapping[str, int],
    alignment: Alignment,
    max_length: int,
    context: int = 0,
    pack_sentences: bool = False,
) -> Encoded:
    """A split as the Trainer's dataset (input ids, attention mask and token types as the model takes them,
    one label id per subword, -100 for special tokens and context) and what word-level evaluation needs,
    both derived from one :class:`TrainingInput` per model input (:func:`training_inputs`). Context 0
    without packing gives exactly what ``tokenizer(words, is_split_into_words=True, truncation=True,
    max_length=max_length)`` gives."""
    import datasets

    encoder = plain_encoder(tokenizer.backend_tokenizer)
    inputs = training_inputs(encoder, documents, max_length, context, pack_sentences)
    column_of: dict[str, Callable[[TrainingInput], list[int]]] = {
        "input_ids": lambda i: i.ids,
        "token_type_ids": lambda i: [0] * len(i.ids),
        "attention_mask": lambda i: [1] * len(i.ids),
    }
    unknown = [name for name in tokenizer.model_input_names if name not in column_of]
    if unknown:
        raise ModelError(
            f"the tokenizer's model inputs include {', '.join(unknown)}, which train-hf does not build "
            f"(it builds {', '.join(column_of)}); choose a BERT-style backbone"
        )
    columns = {name: [column_of[name](i) for i in inputs] for name in tokenizer.model_input_names}
    columns["labels"] = [align_labels(i.word_ids, i.tags, label2id, alignment) for i in inputs]
    placements = [(n, first) for n, i in enumerate(inputs) for first, _ in i.sentences]
    return Encoded(
        dataset=datasets.Dataset.from_dict(columns),
        word_ids=[i.word_ids for i in inputs],
        tags=[tags for i in inputs for _, tags in i.sentences],
        placements=placements,
        n_words=sum(len(i.tags) for i in inputs),
        n_subwords=sum(len(i.ids) for i in inputs),
        n_truncated=sum(i.truncated for i in inputs),
    )


# -- model --------------------------------------------------------------------------------------------------


def load_backbone(
    settings: HFTrainSettings, labels: Sequence[str]
) -> tuple[PreTrainedTokenizerFast, PreTrainedModel, Optional[list[str]]]:
    """The backbone (``[model] start_from`` when set, else ``[model] backbone``) as an
    ``AutoModelForTokenClassification`` for ``labels``, its fast tokenizer, and the labels it was fine-tuned
    for (None for a plain encoder).

    A backbone that is already a token classifier keeps its encoder; its classifier head is kept only for
    the same labels in the same order, and made anew (as for a plain encoder) otherwise, even for as many
    labels.
    """
    model = settings.model
    key, name = model.start
    where = settings.field("model", key, name)
    fix = (
        f"set [model] {key} (or --model.{key}) to a local model folder or a hub id; a hub id needs "
        "the hub or the HF cache (HF_HUB_OFFLINE=1)"
    )
    source = resolve_model(
        name,
        where=f"{where}: ",
        fix=f"set [model] {key} (or --model.{key}) to a folder saved with save_pretrained "
        "or to a hub id such as bert-base-cased",
    )
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    try:
        backbone_labels = classifier_labels(AutoConfig.from_pretrained(source, revision=model.revision))
        config = AutoConfig.from_pretrained(
            source, revision=model.revision, num_labels=len(id2label), id2label=id2label, label2id=label2id
        )
    except (OSError, ValueError) as err:
        raise ModelError(f"{where}: cannot load it ({one_line(err, 200)}); {fix}") from None
    try:
        tokenizer = load_word_tokenizer(source, model.revision)
    except (OSError, ValueError, TypeError) as err:
        raise ModelError(f"{where}: cannot load its tokenizer ({one_line(err, 200)}); {fix}") from None
    require_fast(tokenizer, where, "choose a backbone that ships tokenizer.json")
    # A head of another size is left out by from_pretrained (and initialised); one of the same size is
    # loaded, so it is initialised here unless the labels are the same.
    mismatched = {"ignore_mismatched_sizes": True} if backbone_labels is not None else {}
    try:
        classifier = AutoModelForTokenClassification.from_pretrained(
            source, config=config, revision=model.revision, **mismatched
        )
    except (OSError, ValueError, RuntimeError) as err:
        raise ModelError(
            f"{where}: cannot load it as a token classifier ({one_line(err, 200)}); {fix}"
        ) from None
    if backbone_labels is not None and backbone_labels != list(labels):
        new_head(classifier)
    return tokenizer, classifier, backbone_labels


def new_head(model: PreTrainedModel) -> None:
    """Initialise every module outside the encoder (``base_model``: the classifier head) afresh, as
    ``from_pretrained`` initialises a head that the checkpoint lacks: linear weights from N(0, the config's
    ``initializer_range``), biases zero. Done here with torch's own init, not ``model._init_weights``:
    transformers 5 skips tensors it has loaded from the checkpoint, so a same-size head would be kept."""
    std = getattr(model.config, "initializer_range", 0.02)
    with torch.no_grad():
        for child in model.children():
            if child is model.base_model:
                continue
            for module in child.modules():
                if isinstance(module, torch.nn.Linear):
                    torch.nn.init.normal_(module.weight, mean=0.0, std=std)
                    if module.bias is not None:
                        torch.nn.init.zeros_(module.bias)


def head_note(
    backbone: str, backbone_labels: Optional[Sequence[str]], labels: Sequence[str]
) -> Optional[str]:
    """What became of a fine-tuned backbone's classifier head; None for a plain encoder."""
    if backbone_labels is None:
        return None
    if list(backbone_labels) == list(labels):
        return (
            f"backbone {backbone} was fine-tuned for {json.dumps(list(labels))}; its classifier head is kept "
            "(the same labels in the same order)"
        )
    return (
        f"backbone {backbone} was fine-tuned for {json.dumps(list(backbone_labels))}; its classifier head is "
        f"replaced by a new one for {json.dumps(list(labels))}"
    )


# -- metrics ------------------------------------------------------------------------------------------------


def _argmax(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``preprocess_logits_for_metrics``: keep each subword's best label id instead of all its logits."""
    return logits.argmax(-1)


def word_level_tags(
    predicted: numpy.ndarray, encoded: Encoded, id2label: Mapping[int, str]
) -> list[list[str]]:
    """Per sentence and word, the label predicted at the word's first subword (``O`` if it has none)."""
    input_words = [0] * len(encoded.word_ids)
    for (i, first), sentence_tags in zip(encoded.placements, encoded.tags):
        input_words[i] = max(input_words[i], first + len(sentence_tags))
    per_input = [
        word_tags(predicted[i], word_ids, input_words[i], id2label)
        for i, word_ids in enumerate(encoded.word_ids)
    ]
    return [
        per_input[i][first : first + len(sentence_tags)]
        for (i, first), sentence_tags in zip(encoded.placements, encoded.tags)
    ]


# -- training -----------------------------------------------------------------------------------------------


class InOrderTrainer(Trainer):
    """The Trainer, with each evaluation reading its dataset in order (with length grouping on, both
    transformers lines' Trainer also batches evaluation inputs by length), so that the word-level metric
    pairs each prediction with its own sentence's words."""

    def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        with evaluation_in_order(self.args):
            return super().evaluate(*args, **kwargs)


def training_metrics(labels: Sequence[str], dev: Encoded) -> Callable[[Any], dict[str, float]]:
    """The Trainer's ``compute_metrics`` for dev: the course's subword-level scores and the word-level entity
    scores (``word_p``, ``word_r``, ``word_f``: what ``bert_ner`` gets, the metric the best checkpoint and
    early stopping follow); an undefined figure is logged as 0."""
    course = course_compute_metrics(labels)
    id2label = dict(enumerate(labels))

    def compute_metrics(eval_prediction: Any) -> dict[str, float]:
        scores = word_scores(dev.tags, word_level_tags(eval_prediction.predictions, dev, id2label))
        words = {f"word_{key}": scores[key] or 0.0 for key in ("p", "r", "f")}
        return {**course(eval_prediction), **words}

    return compute_metrics


@dataclass
class Prepared:
    """Everything :func:`fit` needs; built by :func:`prepare` before any training step."""

    settings: HFTrainSettings
    trainer: Trainer
    splits: dict[str, Encoded]
    labels: list[str]
    schedule: Schedule
    backbone_labels: Optional[list[str]] = None  # what a fine-tuned backbone's head was for
    data: dict[str, dict[str, int]] = field(default_factory=dict)  # per split: how it was read
    notes: list[str] = field(default_factory=list)  # lines for the terminal (the CLI prints them)


def check_context(settings: HFTrainSettings, tokenizer: PreTrainedTokenizerFast, max_length: int) -> None:
    """``[model] context`` must leave room for a sentence: less than half an input of ``max_length``
    (bert_ner, which will use the recorded context, requires the same)."""
    context = settings.model.context
    most = largest_context(max_length - tokenizer.num_special_tokens_to_add())
    if context > most:
        raise ConfigError(
            f"{settings.field('model', 'context', context)}: more than half of an input of {max_length} "
            f"subwords; set it to at most {most} (64 is FLERT's choice), or raise [model] max_length"
        )


def prepare(
    settings: HFTrainSettings,
    splits: Mapping[str, Documents],
    data: Optional[Mapping[str, Mapping[str, int]]] = None,
) -> Prepared:
    """Check the sentences, take the labels, load the backbone, encode every split and build the Trainer.
    ``data`` (per split, how it was read: :class:`spacy_bert_ner.data.tagged.ReadReport`) goes into the
    metrics."""
    check_sentences(settings, splits)
    labels = resolve_labels(settings, splits)
    args = make_training_args(settings)
    set_seed(args.seed)  # the classifier head is initialised in load_backbone
    tokenizer, model, backbone_labels = load_backbone(settings, labels)
    note = head_note(settings.model.start[1], backbone_labels, labels)
    label2id = {label: i for i, label in enumerate(labels)}
    max_length = max_input_length(tokenizer, model.config, settings.model.max_length)
    check_context(settings, tokenizer, max_length)
    if settings.model.context and all(len(document) <= 1 for document in splits["train"]):
        warnings.warn(
            f"{settings.field('model', 'context', settings.model.context)}: "
            "every Doc of [paths] train holds one sentence, so no sentence has context to read; "
            "convert CoNLL files with their -DOCSTART- lines "
            "(one Doc per article) for document context, or set [model] context 0",
            ConfigWarning,
        )
    # saved into config.json: bert_ner reads text the way the model was trained, by default
    record_reading(model.config, settings.model.context, settings.model.pack_sentences, max_length)
    encoded = {
        split: encode(
            tokenizer,
            documents,
            label2id,
            settings.model.alignment,
            max_length,
            settings.model.context,
            settings.model.pack_sentences,
        )
        for split, documents in splits.items()
    }
    for split, enc in encoded.items():
        if enc.n_truncated:
            warnings.warn(
                f"{settings.split_paths()[split]}: {enc.n_truncated} sentence(s) longer than {max_length} "
                "subwords were cut; their last words are not trained on and count as O in word-level scores",
                DataWarning,
            )
    plan = plan_training(settings.budget, args, len(encoded["train"].word_ids))
    schedule = Schedule.of(plan, settings.budget, settings.limits.max_seconds)
    trainer = InOrderTrainer(
        model=model,
        args=make_training_args(settings, plan.arguments()),
        data_collator=DataCollatorForTokenClassification(tokenizer),
        train_dataset=encoded["train"].dataset,
        eval_dataset=encoded["dev"].dataset,
        processing_class=tokenizer,
        compute_metrics=training_metrics(labels, encoded["dev"]),
        preprocess_logits_for_metrics=_argmax,
        callbacks=schedule.callbacks,
    )
    read = {split: dict(counts) for split, counts in (data or {}).items()}
    notes = [line for line in (note, plan.describe()) if line]
    return Prepared(settings, trainer, encoded, labels, schedule, backbone_labels, read, notes)


def word_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Word-level seqeval with tag accuracy; a gold word with no annotation (:data:`.align.MISSING`) is read
    as ``O``, so an entity predicted there is a false positive and ``O`` is right."""
    return seqeval_scores([known_tags(tags) for tags in gold], predicted, accuracy=True)


def predict_in_order(trainer: Trainer, dataset: Any, prefix: str) -> Any:
    """``trainer.predict`` with the predictions in the dataset's order (with ``group_by_length`` the Trainer
    also groups evaluation inputs by length, which would pair each prediction with another input's words),
    and without the Trainer's ``compute_metrics`` (the caller scores the predictions; the training metric
    knows dev's words only)."""
    compute_metrics, trainer.compute_metrics = trainer.compute_metrics, None
    try:
        with evaluation_in_order(trainer.args):
            return trainer.predict(dataset, metric_key_prefix=prefix)
    finally:
        trainer.compute_metrics = compute_metrics


def evaluate_split(prepared: Prepared, split: str) -> dict[str, Any]:
    """Both scores of one split: ``subword_seqeval`` (the course's metric) and ``word_seqeval``."""
    encoded = prepared.splits[split]
    output = predict_in_order(prepared.trainer, encoded.dataset, split)
    id2label = dict(enumerate(prepared.labels))
    predicted_tags = word_level_tags(output.predictions, encoded, id2label)
    return {
        "sentences": len(encoded.tags),
        "words": encoded.n_words,
        "gold_entities": sum(len(tags_to_spans(known_tags(tags))) for tags in encoded.tags),
        "predicted_entities": sum(len(tags_to_spans(tags)) for tags in predicted_tags),
        "subword_seqeval": course_scores(output.predictions, output.label_ids, prepared.labels),
        "word_seqeval": word_scores(encoded.tags, predicted_tags),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fit(prepared: Prepared) -> dict[str, Any]:
    """Train (the best checkpoint restored when dev was scored along the way), evaluate dev (and test), judge
    whether the model learned, save the model folder; write and return the metrics.

    The metrics JSON (``[paths] output``/metrics.json) holds, per evaluated split, ``subword_seqeval`` (the
    course's ``compute_metrics`` over labelled subwords) and ``word_seqeval`` (first-subword prediction per
    word, decoded by seqeval's default mode = :func:`spacy_bert_ner.bio.tags_to_spans`), plus the labels
    (``labels``; ``backbone_labels``: those of a fine-tuned backbone, else null), how each split was read
    (``data``), the evaluations during training, the budget (:meth:`.schedule.Schedule.record`: steps
    planned and taken, best step, dev F1 curve, why training stopped), throughput and peak memory.

    A model that did not learn (:func:`.verdict.not_learned`) is not saved: metrics.json is written and a
    :class:`~spacy_bert_ner.errors.TrainingError` raised, unless ``[budget] keep_unlearned``; a run stopped
    while dev F1 was rising warns (:class:`~spacy_bert_ner.errors.TrainingWarning`).
    """
    settings, trainer = prepared.settings, prepared.trainer
    result = trainer.train()
    train = prepared.splits["train"]
    args = trainer.args
    # Inputs actually trained on (the Trainer's own *_per_second figures assume every planned step ran,
    # which a [limits] max_seconds stop breaks), times the mean words per input.
    samples = result.global_step * args.train_batch_size * args.gradient_accumulation_steps * args.world_size
    runtime = result.metrics.get("train_runtime") or float("nan")
    words_per_second = samples * train.n_words / max(len(train.word_ids), 1) / runtime
    metrics: dict[str, Any] = {
        "config": settings.source,
        "backbone": settings.model.backbone,
        "start_from": settings.model.start_from,  # a fine-tuned classifier trained on instead, or null
        "alignment": settings.model.alignment,
        "context": settings.model.context,
        "pack_sentences": settings.model.pack_sentences,
        "labels": prepared.labels,
        "backbone_labels": prepared.backbone_labels,
        "data": prepared.data,
        "model_dir": str(settings.model_dir),
        "train": {
            "sentences": len(train.tags),
            "inputs": len(train.word_ids),
            "words": train.n_words,
            "subwords": train.n_subwords,
            "global_step": result.global_step,
            "world_size": args.world_size,  # processes that trained together (torchrun / accelerate launch)
            "epoch": trainer.state.epoch,
            **{key: _jsonable(value) for key, value in result.metrics.items()},
            "words_per_second": _jsonable(words_per_second),
        },
        "epochs": [
            {key: _jsonable(value) for key, value in entry.items()}
            for entry in trainer.state.log_history
            if "eval_subword_f" in entry
        ],
    }
    metrics["budget"] = prepared.schedule.record(result.global_step)
    for split in ("dev", "test"):
        if split in prepared.splits:
            metrics[split] = evaluate_split(prepared, split)
    metrics["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    types = {split: sentence_entity_types(prepared.splits[split].tags) for split in ("train", "dev")}
    problem = not_learned(
        settings, metrics["dev"], metrics["budget"], types["train"], types["dev"], args.learning_rate
    )
    rising = still_rising(settings, metrics["budget"])
    metrics["learned"] = problem is None
    if rising:
        warnings.warn(rising, TrainingWarning)
    keep = problem is None or settings.budget.keep_unlearned
    if problem is not None and keep:
        warnings.warn(f"{problem.found}; kept, as [budget] keep_unlearned asks", TrainingWarning)
    if keep:
        trainer.save_model(str(settings.model_dir))
    if trainer.is_world_process_zero():
        settings.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        settings.metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if problem is not None and not keep:
        raise TrainingError(problem.message)
    return metrics


def _figure(value: Optional[float]) -> str:
    return "undefined (no entities)" if value is None else f"{value:.4f}"


def summary(metrics: Mapping[str, Any]) -> Iterable[str]:
    """Short lines for the terminal: F1 of each evaluated split, both ways."""
    for split in ("dev", "test"):
        if split in metrics:
            s = metrics[split]
            yield (
                f"{split}: word-level seqeval F1 {_figure(s['word_seqeval']['f'])}, "
                f"subword-level (course) F1 {_figure(s['subword_seqeval']['f'])}"
            )


def is_main_process() -> bool:
    """True outside distributed runs and on rank 0 inside them (before or after the Trainer set them up)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank() == 0
    return os.environ.get("RANK", "0") == "0"

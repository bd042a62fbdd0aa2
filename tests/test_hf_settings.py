"""train-hf's settings: the shipped config is the course recipe, and bad input (config, corpus, labels) stops
before training with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_models import CONLL_LABELS
from train_hf_inputs import CONFIG, DEV_ARTICLES, cli_args
from typer.testing import CliRunner

from spacy_bert_ner.bio import spans_to_iob2, tags_to_spans
from spacy_bert_ner.cli import app
from spacy_bert_ner.data.conll import read_conll
from spacy_bert_ner.data.tagged import read_sentences
from spacy_bert_ner.errors import ConfigError
from spacy_bert_ner.hf.finetune.compat import evaluation_in_order, groups_by_length
from spacy_bert_ner.hf.finetune.settings import load_settings, make_training_args
from spacy_bert_ner.scores import seqeval_scores

pytestmark = [
    pytest.mark.core,
    # Trainer._sorted_checkpoints (save_total_limit) when checkpoints of a seconds-long run share an mtime.
    pytest.mark.filterwarnings("ignore:mtime may not be reliable on this filesystem:UserWarning"),
]


# -- the shipped config --------------------------------------------------------------------------------------


def test_shipped_config_is_the_course_recipe(hf_corpus: Path) -> None:
    overrides = {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
    settings = load_settings(CONFIG, overrides)
    assert settings.model.backbone == "bert-base-cased"
    assert settings.model.labels is None  # from the training data
    assert settings.model.alignment == "all_subwords"
    assert settings.output == Path("training/hf_bert_ner") and settings.paths.test is None
    args = make_training_args(settings)
    assert (args.learning_rate, args.num_train_epochs, args.weight_decay, args.seed) == (2e-5, 3, 0.01, 42)
    assert (args.per_device_train_batch_size, args.per_device_eval_batch_size) == (8, 8)
    assert (args.eval_strategy, args.save_strategy) == ("no", "steps")  # [budget] sets them from the corpus
    budget = settings.budget
    assert (budget.min_steps, budget.evaluations, budget.patience, budget.warmup) == (600, 6, 3, None)
    assert args.output_dir == "training/hf_bert_ner/checkpoints"
    assert args.report_to == []


def test_cpu_config_is_the_recipe_reading_packed_articles(hf_corpus: Path) -> None:
    """configs/hf_bert_ner_cpu.cfg (the CPU profile's) differs from the course recipe only where the CPU
    profile's measurements chose: packed 512-subword inputs with 64 of context, one per step, lr 5e-5,
    5 epochs."""
    overrides = {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
    settings = load_settings(CONFIG.with_name("hf_bert_ner_cpu.cfg"), overrides)
    course = load_settings(CONFIG, overrides)
    assert (settings.model.context, settings.model.pack_sentences, settings.model.max_length) == (
        64,
        True,
        512,
    )
    assert settings.model.labels is course.model.labels is None
    assert settings.model.alignment == course.model.alignment
    args, course_args = make_training_args(settings), make_training_args(course)
    assert (args.learning_rate, args.num_train_epochs, args.per_device_train_batch_size) == (5e-5, 5, 1)
    assert (args.weight_decay, args.seed) == (course_args.weight_decay, course_args.seed)
    assert (settings.budget.min_steps, settings.budget.evaluations, settings.budget.patience) == (600, 5, 2)


def test_output_override_moves_checkpoints(hf_corpus: Path, tmp_path: Path) -> None:
    overrides = {
        "paths.train": str(hf_corpus / "train.spacy"),
        "paths.dev": str(hf_corpus / "dev.spacy"),
        "paths.output": str(tmp_path / "run"),
    }
    settings = load_settings(CONFIG, overrides)
    assert settings.model_dir == tmp_path / "run" / "model"
    assert make_training_args(settings).output_dir == str(tmp_path / "run" / "checkpoints")


# -- bad input: one clear line, exit 1, nothing trained ------------------------------------------------------

# (case, extra CLI arguments, {placeholder: file in hf_corpus}, fragments the one error line must contain)
BAD_INPUTS = [
    (
        "missing train file",
        ["--paths.train", "{corpus}/nope.spacy"],
        ["[paths] train", "nope.spacy", "file not found", "spacy_bert_ner convert", "--paths.train"],
    ),
    ("train path unset", ["--paths.train", "null"], ["[paths] train = null", "--paths.train"]),
    ("missing dev file", ["--paths.dev", "{corpus}/nope.spacy"], ["[paths] dev", "file not found"]),
    ("missing test file", ["--paths.test", "{corpus}/nope.spacy"], ["[paths] test", "file not found"]),
    (
        "unknown backbone folder",
        ["--model.backbone", "{corpus}/no-such-model"],
        ["[model] backbone", "no model folder at", "no-such-model", "--model.backbone", "bert-base-cased"],
    ),
    (
        "unknown hub backbone",
        ["--model.backbone", "no-such-org/no-such-model"],
        ["[model] backbone", "no-such-org/no-such-model", "cannot load it", "HF_HUB_OFFLINE"],
    ),
    (
        "data labels the config does not list",
        ["--model.labels", '["O","B-PER","I-PER","B-LOC","I-LOC"]'],
        [
            "[paths] train",
            "B-ORG (",
            "B-MISC (",
            "I-ORG (",
            "add them to [model] labels",
            "leave [model] labels out",
        ],
    ),
    (
        "listed labels of a type the data lacks",
        ["--model.labels", json.dumps([*CONLL_LABELS, "B-EVENT", "I-EVENT"])],
        [
            "hf_bert_ner.cfg [model] labels: B-EVENT, I-EVENT name entity types that occur in none of "
            "[paths] train, dev;",
            "remove them from [model] labels, or leave [model] labels out (null)",
        ],
    ),
    (
        "empty training set",
        ["--paths.train", "{corpus}/empty.spacy"],
        ["[paths] train", "empty.spacy", "no sentences", "nothing to train on", "convert"],
    ),
    ("empty dev set", ["--paths.dev", "{corpus}/empty.spacy"], ["[paths] dev", "nothing to evaluate"]),
    ("not a DocBin", ["--paths.dev", "{corpus}/garbage.spacy"], ["[paths] dev", "not a spaCy DocBin"]),
    (
        "label set without I-MISC",
        ["--model.labels", '["O","B-PER","I-PER","B-MISC"]'],
        ["[model] labels", "I-MISC", "B-TYPE and I-TYPE"],
    ),
    ("labels not a list", ["--model.labels", '"PER"'], ["[model] labels", "list of IOB2 labels"]),
    (
        "unknown alignment",
        ["--model.alignment", "average"],
        ["[model] alignment", "all_subwords, first_subword"],
    ),
    ("bad max_length", ["--model.max_length", "1"], ["[model] max_length", ">= 3"]),
    ("negative context", ["--model.context", "-1"], ["[model] context", ">= 0"]),
    (
        "context leaves no room for a sentence",
        ["--model.max_length", "64", "--model.context", "31"],
        ["[model] context = 31", "half of an input of 64", "at most 30", "[model] max_length"],
    ),
    ("bad max_seconds", ["--limits.max_seconds", "0"], ["[limits] max_seconds", "positive"]),
    (
        "misspelt TrainingArguments field",
        ["--training_args.learning_rat", "1e-4"],
        ["[training_args] learning_rat", "did you mean 'learning_rate'"],
    ),
    (
        "bad TrainingArguments value",
        ["--training_args.lr_scheduler_type", "sometimes"],
        ["[training_args]", "sometimes"],
    ),
    (
        "a TrainingArguments field the budget sets",
        ["--training_args.eval_steps", "10"],
        ["[training_args] eval_steps", "set by [budget] evaluations = 6", "remove it", "evaluations = null"],
    ),
    (
        "warmup set twice",
        ["--budget.warmup", "0.1", "--training_args.warmup_steps", "10"],
        ["[training_args] warmup_steps", "set by [budget] warmup = 0.1", "[budget] warmup = null"],
    ),
    (
        "patience without evaluations",
        ["--budget.evaluations", "null"],
        ["[budget] patience = 3", "set [budget] evaluations", "patience = null"],
    ),
    ("floor out of range", ["--budget.min_dev_f1", "101"], ["[budget] min_dev_f1 = 101", "0 to 100"]),
    ("misspelt model setting", ["--model.backbon", "x"], ["[model]", "'backbon'", "did you mean 'backbone'"]),
    ("override of an unknown section", ["--trainer.x", "1"], ["trainer -> x", "can be overridden"]),
    (
        "output is an existing file",
        ["--paths.output", "{corpus}/train.spacy"],
        ["[paths] output", "train.spacy", "exists and is a file", "--paths.output"],
    ),
]


@pytest.mark.parametrize("extra, fragments", [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_stops_before_training(
    hf_corpus: Path, backbone: Path, tmp_path: Path, extra: list[str], fragments: list[str]
) -> None:
    output = tmp_path / "run"
    args = cli_args(hf_corpus, backbone, output, *(a.format(corpus=hf_corpus) for a in extra))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("✘")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert errors[0].startswith(f"✘ {CONFIG}")  # every message names the config first
    assert "Traceback" not in result.output
    assert not output.exists()  # nothing trained, nothing written


def test_missing_config_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train-hf", str(tmp_path / "nope.cfg")])
    assert result.exit_code == 1
    assert "nope.cfg: config file not found; start from configs/hf_bert_ner.cfg" in result.output


def test_unknown_section_in_the_file(hf_corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "typo.cfg"
    config.write_text(CONFIG.read_text() + "\n[trainer]\nseed = 1\n")
    with pytest.raises(ConfigError, match=r"typo.cfg: unknown section \[trainer\]; the sections are paths"):
        load_settings(
            config, {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
        )


def test_sentences_from_a_docbin(hf_corpus: Path, conll_dir: Path) -> None:
    """One example per sentence with IOB2 tags, whatever the source's tag scheme (CoNLL-2003 is IOB1)."""
    sentences = read_sentences(hf_corpus / "dev.spacy")
    articles, _ = read_conll(conll_dir / "valid.txt")
    expected = [s for a in articles[:DEV_ARTICLES] for s in a.sentences]
    assert [words for words, _ in sentences] == [s.words for s in expected]
    assert [tags for _, tags in sentences] == [spans_to_iob2(s.ents, len(s.words)) for s in expected]


def test_seqeval_scores_match_our_decoding_rule() -> None:
    """Word-level seqeval (default mode) counts the same entities as bio.tags_to_spans."""
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["I-ORG", "I-ORG", "B-ORG"]]
    pred = [["B-PER", "I-LOC", "O", "B-LOC"], ["O", "I-ORG", "B-ORG"]]
    gold = {(i, *s) for i, t in enumerate(true) for s in tags_to_spans(t)}
    found = {(i, *s) for i, t in enumerate(pred) for s in tags_to_spans(t)}
    # gold: PER 0-2, LOC 3-4, ORG 0-2 (I- opens), ORG 2-3; found: PER 0-1, LOC 1-2, LOC 3-4, ORG 1-2, ORG 2-3
    assert len(gold) == 4 and len(found) == 5 and len(gold & found) == 2
    scores = seqeval_scores(true, pred)
    assert (scores["p"], scores["r"]) == (pytest.approx(2 / 5), pytest.approx(2 / 4))
    assert scores["f"] == pytest.approx(2 * 0.4 * 0.5 / 0.9)
    assert scores["per_type"]["LOC"] == {
        "p": 0.5,
        "r": 1.0,
        "f": pytest.approx(2 / 3),
        "support": 1,
    }
    # no entities anywhere: undefined (None, as spaCy's scorer says), no warning
    assert seqeval_scores([["O"]], [["O"]])["f"] is None


def test_error_messages_name_the_config(hf_corpus: Path) -> None:
    with pytest.raises(ConfigError, match=r"hf_bert_ner.cfg \[paths\] train"):
        load_settings(CONFIG, {"paths.train": str(hf_corpus / "nope.spacy")})


def test_texts_config_reads_each_short_text_alone(hf_corpus: Path) -> None:
    """configs/hf_bert_ner_texts_cpu.cfg (docs/own-data.md's, for one-sentence Docs such as tweets) differs
    from the course recipe in reading (context 0, no packing) and a CPU budget (batch 16 grouped by length,
    lr 1e-4, 5 epochs but at least 600 steps, dev scored 12 times and the best weights kept)."""
    overrides = {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
    settings = load_settings(CONFIG.with_name("hf_bert_ner_texts_cpu.cfg"), overrides)
    course = load_settings(CONFIG, overrides)
    assert (settings.model.context, settings.model.pack_sentences, settings.model.max_length) == (
        0,
        False,
        None,
    )
    assert settings.model.labels is None and settings.model.alignment == course.model.alignment
    args, course_args = make_training_args(settings), make_training_args(course)
    assert (args.learning_rate, args.num_train_epochs, args.per_device_train_batch_size) == (1e-4, 5, 16)
    assert groups_by_length(args) and args.save_only_model and args.save_total_limit == 1
    budget = settings.budget
    assert (budget.min_steps, budget.evaluations, budget.patience, budget.warmup) == (600, 12, 4, 0.1)
    assert (budget.min_dev_f1, budget.keep_unlearned, budget.min_delta) == (5.0, False, 0.5)
    assert (args.weight_decay, args.seed) == (course_args.weight_decay, course_args.seed)


@pytest.mark.parametrize(
    "given, grouped",
    [
        ({"group_by_length": True}, True),
        ({"group_by_length": False}, False),
        ({"train_sampling_strategy": "group_by_length"}, True),
        ({"train_sampling_strategy": "random"}, False),
        ({"group_by_length": True, "train_sampling_strategy": "group_by_length"}, True),
        ({}, False),
    ],
)
def test_length_grouping_in_either_lines_spelling(hf_corpus: Path, given: dict, grouped: bool) -> None:
    """[training_args] may spell length grouping as transformers 4 (group_by_length) or 5
    (train_sampling_strategy) does, on either line; evaluation can be put back in the dataset's order."""
    overrides = {"paths.train": str(hf_corpus / "train.spacy"), "paths.dev": str(hf_corpus / "dev.spacy")}
    overrides.update({f"training_args.{key}": value for key, value in given.items()})
    args = make_training_args(load_settings(CONFIG, overrides))
    assert groups_by_length(args) is grouped
    with evaluation_in_order(args):
        assert not groups_by_length(args)
    assert groups_by_length(args) is grouped


def test_length_grouping_spellings_that_disagree_are_refused(hf_corpus: Path) -> None:
    overrides = {
        "paths.train": str(hf_corpus / "train.spacy"),
        "paths.dev": str(hf_corpus / "dev.spacy"),
        "training_args.group_by_length": True,
        "training_args.train_sampling_strategy": "random",
    }
    with pytest.raises(
        ConfigError,
        match=r"\[training_args\]: group_by_length = True and "
        r"train_sampling_strategy = 'random' disagree; set one of them",
    ):
        make_training_args(load_settings(CONFIG, overrides))

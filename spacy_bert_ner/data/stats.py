"""What ``convert`` counts per split: records and spans read, written, repaired or skipped (with why and where
first), and what the written Docs hold."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from spacy.tokens import Doc


@dataclass
class Tally:
    """Counts by reason, with where each reason was first met (``file:line``)."""

    counts: Counter = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, where: str, n: int = 1) -> None:
        if n:
            self.counts[reason] += n
            self.first.setdefault(reason, where)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self, what: str) -> list[str]:
        """One line per reason: ``N what: reason (first at WHERE)``."""
        return [
            f"{n:,} {what}: {reason} (first at {self.first[reason]})"
            for reason, n in self.counts.most_common()
        ]


@dataclass
class SplitStats:
    """Counts of one converted split, as the stats table prints them."""

    name: str
    origin: str = ""  # the file (or dataset split) it was read from
    format: str = ""  # columns, spacy, doccano, labelstudio, docbin, hf
    records: int = 0  # units read: sentences of a column file, JSON records, Docs of a DocBin
    spans_read: int = 0
    articles: int = 0
    sentences: int = 0
    tokens: int = 0
    docs: int = 0
    entities: Counter = field(default_factory=Counter)  # written, per label
    repaired: Tally = field(default_factory=Tally)  # spans written after a repair
    skipped: Tally = field(default_factory=Tally)  # spans (and records) not written
    notes: list[str] = field(default_factory=list)  # anything else done to the input, naming where

    @property
    def n_entities(self) -> int:
        return sum(self.entities.values())

    def count_docs(self, docs: Iterable[Doc]) -> None:
        """Set docs, sentences, tokens and entities from the Docs to write."""
        self.docs = self.sentences = self.tokens = 0
        self.entities = Counter()
        for doc in docs:
            self.docs += 1
            self.tokens += len(doc)
            self.sentences += sum(1 for _ in doc.sents) if doc.has_annotation("SENT_START") else 0
            self.entities.update(ent.label_ for ent in doc.ents)

    def messages(self) -> list[str]:
        """What was repaired, skipped or otherwise done, one line each, prefixed with the split."""
        lines = self.repaired.lines("span(s) repaired") + self.skipped.lines("skipped") + self.notes
        return [f"{self.name} ({self.origin}): {line}" for line in lines]

"""The ``line_sentences`` pipe: a line break starts a sentence, as headlines, datelines and table rows do.

spaCy's ``sentencizer`` splits after punctuation only, so a headline, a dateline (``LONDON 1996-08-30``) or
the rows of a results table run on into one long sentence with the text after them. Put this component
before the sentencizer: it marks the first token after each run of line breaks as a sentence start, and the
whitespace token holding the breaks as not one (no sentence is only whitespace); the sentencizer
(``overwrite = false``, its default) then decides only the tokens left open. Docs with a dependency parse
keep the parse's sentences.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import ConfigError


@Language.factory(
    "line_sentences",
    default_config={"min_breaks": 1},
    assigns=["token.is_sent_start"],
)
def make_line_sentences(nlp: Language, name: str, min_breaks: int) -> "LineSentences":
    """Create the ``line_sentences`` component.

    min_breaks: line breaks in one whitespace token that start a sentence: 1 (default) for text with one
        sentence, headline or row per line; 2 for hard-wrapped text (e-mail, plain-text files wrapped at a
        fixed width), where only a blank line ends a paragraph.
    """
    return LineSentences(name, min_breaks)


class LineSentences:
    """Sentence starts at line breaks; other tokens are left for a later sentencizer or senter."""

    def __init__(self, name: str = "line_sentences", min_breaks: int = 1) -> None:
        if isinstance(min_breaks, bool) or not isinstance(min_breaks, int) or min_breaks < 1:
            raise ConfigError(
                f"[components.{name}] min_breaks = {min_breaks!r}: use a whole number >= 1 "
                "(1: every line break starts a sentence; 2: only blank lines do)"
            )
        self.name = name
        self.min_breaks = min_breaks

    def __call__(self, doc: Doc) -> Doc:
        if doc.has_annotation("DEP"):
            return doc
        if len(doc) > 1 and doc[0].is_space:
            doc[1].is_sent_start = False  # leading whitespace belongs to the first sentence
        for token in doc[1:]:
            if token.is_space and token.text.count("\n") >= self.min_breaks:
                token.is_sent_start = False  # the breaks end the sentence before them
                if token.i + 1 < len(doc):
                    doc[token.i + 1].is_sent_start = True
        return doc

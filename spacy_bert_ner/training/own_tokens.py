"""``spacy-bert-ner.own_tokens.v1``: train spaCy's ``ner`` on the tokens users' text will have, not CoNLL's.

The DocBins mark their spaces unknown (as ``spacy convert`` does), so ``spacy.Corpus.v1`` trains on CoNLL's
own tokens, while at use spaCy's tokenizer splits some of them (``1996-08-30`` -> ``1996 - 08 - 30``,
``1.`` -> ``1 .``). This augmenter, set as ``[corpora.train] augmenter``, re-tokenizes each training Doc's
text with the pipeline's own tokenizer and pairs it with the gold Doc; :class:`spacy.training.Example`
aligns the gold entities to the new tokens, as the Corpus reader does by itself for a DocBin whose spaces
are known. The DocBins stay as they are, and dev is still scored on CoNLL's tokens, as ``spacy evaluate``
scores it.
"""

from __future__ import annotations

from typing import Callable, Iterator

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry


@registry.augmenters("spacy-bert-ner.own_tokens.v1")
def create_own_tokens_augmenter() -> Callable[[Language, Example], Iterator[Example]]:
    """The augmenter: every training example on the pipeline's own tokens."""
    return own_tokens


def own_tokens(nlp: Language, example: Example) -> Iterator[Example]:
    """One example: the gold Doc's text as ``nlp``'s tokenizer splits it, against the gold Doc."""
    reference = example.reference
    yield Example(nlp.make_doc(reference.text), reference)

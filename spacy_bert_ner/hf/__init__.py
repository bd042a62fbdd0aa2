"""torch / transformers only, no spaCy: load a token classifier, label words, align labels, the train-hf
recipe."""

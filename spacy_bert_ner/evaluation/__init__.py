"""Scores you can trust: one seqeval wrapper and score shape, spaCy-vs-seqeval parity, the HTML report."""

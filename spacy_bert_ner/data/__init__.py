"""CoNLL columns <-> sentences <-> spaCy Docs <-> DocBin files, and where corpora come from. No model code."""

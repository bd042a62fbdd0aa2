"""spaCy components and pipelines: the `bert_ner` pipe (glue over `hf/`), `line_sentences`, `assemble`."""

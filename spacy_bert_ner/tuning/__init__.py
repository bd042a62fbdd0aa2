"""``tune``: choose bert_ner's inference settings, temperature and per-label thresholds on dev data."""

"""``annotate``: any spaCy pipeline over a whole corpus, into resumable, lossless DocBin + JSONL shards.

:mod:`.corpus` is the entry point (plan, then the engine chosen); :mod:`.inputs` reads and plans records,
:mod:`.outputs` writes shards and the manifest, :mod:`.engine` plans a run and drives ``nlp.pipe``;
:mod:`.ray_engine` runs the same shards on a Ray cluster.
"""

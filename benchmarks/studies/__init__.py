"""One-off studies: a question about the package's own behaviour measured once (document context, window
edges), not a comparison with a competitor; run as ``python -m benchmarks.studies.NAME``."""

"""Benchmarks of the package beside its competitors, each run from the repository root as a module
(``python -m benchmarks.inference --help``); what they share is in :mod:`benchmarks.common`."""

"""Workflow tooling, not measurements: recording the published results and rendering them into the pages
(:mod:`tools.main_job`); run from the repository root as ``python -m tools.NAME``."""

"""Workflow tooling, not measurements: recording the published results and rendering them into the pages
(:mod:`tools.main_job`), and the report's visual check (``tools/screenshot_report.sh``, whose demo report
:mod:`tools.report_demo` builds); run from the repository root as ``python -m tools.NAME``."""

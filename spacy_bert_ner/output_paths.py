"""Whether an output path can be written, checked before any work starts and without creating anything.

A command that reads, converts or trains for minutes and then fails to write (the path is an existing
file, or lies under a file or a folder without write permission) loses the work; these checks turn that
into one line naming the path up front.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Optional

from .errors import ConfigError

OutputKind = Literal["file", "folder"]


def output_problem(path: Path, kind: OutputKind) -> Optional[str]:
    """Why ``path`` cannot be written as a ``kind`` (file or folder), or None if it can. Creates nothing."""
    if path.exists():
        if kind == "folder" and not path.is_dir():
            return f"{path} exists and is a file, not a folder"
        if kind == "file" and path.is_dir():
            return f"{path} exists and is a folder, not a file"
        writable_here = path if path.is_dir() else path.parent
        if not os.access(path, os.W_OK) or not os.access(writable_here, os.W_OK | os.X_OK):
            return f"{path} is not writable"
        return None
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is a file, so {path} cannot be created under it"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{ancestor} is not writable, so {path} cannot be created"
    return None


def check_output(path: Path, kind: OutputKind, what: str) -> None:
    """Raise :class:`ConfigError` (``{what} {path}: problem; fix``) unless ``path`` can be written."""
    problem = output_problem(Path(path), kind)
    if problem:
        raise ConfigError(f"{what} {path}: {problem}; choose a {kind} path you can write to")

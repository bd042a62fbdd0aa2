"""Whether the installed model stack fits together, and the one command that mends it where it does not.

README's installs are made in steps (the core, then the spaCy route's extra; or the other way round; the
``cpu``, ``onnx`` and ``ray`` extras later), and pip only checks what each step installs. The core's
transformers 5.x brings ``kernels`` 0.19 (huggingface-hub >= 1); the spaCy route then moves transformers
back to 4.53 and hub to 0.36 and leaves ``kernels`` as it was, and transformers 4.53 imports ``kernels``
whenever it is installed: every model load fails with an ImportError about ``IncompleteSnapshotError``.
:func:`install_problem` finds such a conflict among the packages the routes use (what ``pip check`` would
say of them) and names the command that mends it: the version range a package's own extra asks for
(transformers 4.53's ``hub-kernels`` extra: ``kernels>=0.6.1,<0.7``, what the spaCy route's extra pins), or
the requirement itself.

Pure Python (importlib.metadata and packaging): it runs before anything that might fail to import.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Iterable, Optional

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import InstallError, InstallWarning

# The packages either route imports, whose requirements on each other are checked.
STACK = (
    "transformers",
    "huggingface-hub",
    "kernels",
    "tokenizers",
    "safetensors",
    "accelerate",
    "datasets",
    "torch",
    "numpy",
    "spacy",
    "thinc",
    "spacy-transformers",
    "spacy-curated-transformers",
    "curated-transformers",
    "curated-tokenizers",
    "onnxruntime",
    "onnx",
    "onnxscript",
    "ray",
)


@dataclass(frozen=True)
class Conflict:
    """An installed package whose requirement the installed version of another does not meet."""

    package: str
    version: str
    requirement: Requirement
    found: str  # the installed version of requirement.name

    def line(self) -> str:
        return f"{self.package} {self.version} requires {self.requirement}, but {self.found} is installed"


def installed_version(name: str) -> Optional[str]:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def requirements(name: str) -> list[Requirement]:
    """The requirements an installed package declares, extras' included (each with its marker)."""
    parsed = []
    for text in metadata.requires(name) or []:
        try:
            parsed.append(Requirement(text))
        except InvalidRequirement:
            continue  # a malformed line in someone else's metadata is not ours to judge
    return parsed


def applies(requirement: Requirement) -> bool:
    """Whether a requirement holds without any extra (its marker evaluated on this Python)."""
    return requirement.marker is None or requirement.marker.evaluate({"extra": ""})


def satisfied(requirement: Requirement, version: str) -> bool:
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True  # a local build with an odd version string: pip check would not judge it either


def conflicts(names: Iterable[str] = STACK) -> list[Conflict]:
    """The unmet requirements among the installed packages of ``names`` (on any installed package)."""
    found = []
    for name in names:
        version = installed_version(name)
        if version is None:
            continue
        for requirement in requirements(name):
            if not applies(requirement):
                continue
            installed = installed_version(requirement.name)
            if installed is not None and not satisfied(requirement, installed):
                found.append(Conflict(name, version, requirement, installed))
    return found


def extra_range(package: str) -> Optional[tuple[str, str]]:
    """The version range an installed package's own extra asks of ``package`` (e.g. transformers 4.53's
    ``hub-kernels`` extra: ``kernels>=0.6.1,<0.7``), and the package that asks it; None where no extra of an
    installed stack package names it."""
    key = canonicalize_name(package)
    for name in STACK:
        if installed_version(name) is None:
            continue
        for requirement in requirements(name):
            if (
                canonicalize_name(requirement.name) == key
                and not applies(requirement)
                and requirement.specifier
            ):
                return str(requirement.specifier), name
    return None


def fix(conflict: Conflict) -> str:
    """The command that mends one conflict: move the requiring package into the range an installed
    package's extra asks of it (it fits what is installed), else install what it requires."""
    asked = extra_range(conflict.package)
    if asked is not None and not satisfied(Requirement(f"{conflict.package}{asked[0]}"), conflict.version):
        spec, owner = asked
        return (
            f'pip install "{conflict.package}{spec}" (the range {owner} {installed_version(owner)} asks for)'
        )
    return f'pip install "{conflict.requirement.name}{conflict.requirement.specifier}"'


def install_problem() -> Optional[str]:
    """One line naming the first conflict among the routes' packages and the command that mends it (and how
    many more there are), or None when the stack fits together."""
    found = conflicts()
    if not found:
        return None
    first = found[0]
    more = f" ({len(found) - 1} more: pip check lists them)" if len(found) > 1 else ""
    return f"The installed packages do not fit together: {first.line()}{more}. Fix: {fix(first)}."


def guard_model_stack() -> None:
    """Before the package imports transformers: with a conflict among the routes' packages, import
    transformers' model code (which imports ``kernels`` when it is installed); raise :class:`InstallError`
    with the conflict and its fix if that fails, else warn with them (:class:`InstallWarning`). Without a
    conflict, nothing is imported here."""
    problem = install_problem()
    if problem is None:
        return
    try:
        import transformers.modeling_utils  # noqa: F401
    except ImportError as error:
        # from None: the chained traceback would bury the line under kernels' and hub's frames
        raise InstallError(f"{problem} (transformers cannot import: {error})") from None
    warnings.warn(problem, InstallWarning, stacklevel=2)


@functools.cache
def guard_model_stack_once() -> None:
    """:func:`guard_model_stack`, once per process (the CLI checks before a command runs, and importing
    :mod:`spacy_bert_ner.hf` checks again): a check that passed, or warned, is not repeated; one that raised
    raises again."""
    guard_model_stack()

"""When ``bert_ner`` loads its model: the one place that decides.

spaCy builds every component from config.cfg *before* ``from_disk`` restores it. A new component should load
its model at once, so a bad model fails at ``add_pipe``; a component that ``spacy.load`` is restoring must
not, since its weights come from its own folder and fetching ``model`` again could need the network. The
factory cannot tell the two apart from its arguments, so a pipeline notes in ``nlp.meta`` which of its
components hold their model in their folder (:func:`claim`: when a component is built or initialized, so
every meta.json saved since lists it). :func:`restoring` reads that note; a restored component's
:class:`ModelSlot` waits for ``from_disk`` and, if it never comes (a component built from a config alone),
loads ``model`` on first use. Nothing else reads or writes the note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Generic, Optional, TypeVar

from spacy.language import Language

# nlp.meta[META_KEY]["components"]: the bert_ner components whose saved folder holds the model
META_KEY = "spacy_bert_ner"
Model = TypeVar("Model")


def restoring(nlp: Language, name: str) -> bool:
    """Whether ``nlp`` is a saved pipeline being restored whose folder for component ``name`` holds the
    model (its meta lists the component), so the model comes from ``from_disk``, not from ``model``."""
    return name in nlp.meta.get(META_KEY, {}).get("components", [])


def claim(nlp: Language, name: str, format_version: int) -> None:
    """Note in ``nlp.meta`` that pipelines saved from ``nlp`` hold component ``name``'s model in its folder,
    in saved-pipeline format ``format_version``."""
    entry = nlp.meta.setdefault(META_KEY, {})
    entry["format_version"] = format_version
    components = entry.setdefault("components", [])
    if name not in components:
        components.append(name)


class ModelSlot(Generic[Model]):
    """A component's model, loaded at most once: at construction (``now``), from a saved folder
    (:meth:`restore`), or from ``model`` on first use (:meth:`get`). ``adopt`` checks a loaded model and
    sets what the component derives from it before the slot holds it."""

    def __init__(
        self,
        load: Callable[[str, Optional[str]], Model],
        adopt: Callable[[Model], None],
        model: str,
        revision: Optional[str],
        now: bool,
    ) -> None:
        self._load, self._adopt = load, adopt
        self.model, self.revision = model, revision
        self.value: Optional[Model] = None
        if now:
            self._fill(load(model, revision))

    @property
    def loaded(self) -> bool:
        return self.value is not None

    def get(self) -> Model:
        """The model; loaded from ``model`` (and ``revision``) if nothing filled the slot yet."""
        return self.value if self.value is not None else self._fill(self._load(self.model, self.revision))

    def restore(self, folder: Path) -> Model:
        """The model saved in ``folder`` (by the component's ``to_disk``), held from now on."""
        return self._fill(self._load(str(folder), None))

    def _fill(self, value: Model) -> Model:
        self._adopt(value)
        self.value = value
        return value

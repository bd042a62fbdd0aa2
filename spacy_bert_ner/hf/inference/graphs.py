"""The ONNX graphs a token classifier reads with ONNX Runtime: kept per dtype, saved beside its weights.

onnx and onnxruntime only (the ``onnx`` extra; no spaCy). A model folder may hold ``onnx/float32.onnx`` and
``onnx/int8.onnx`` (:data:`ONNX_DIR`) with ``onnx/graphs.json`` naming how each was made. Reading never
quantizes: an int8 graph is one the folder holds (``optimize`` saves one chosen on dev) or one made on purpose
(:meth:`OnnxGraphs.make`, as ``tune --dtypes int8`` does); a float32 graph the folder lacks is exported from
the torch model when a reading asks for it (lossless). Sessions are opened lazily in each process, since
ONNX Runtime's thread pool does not survive a fork (``nlp.pipe(n_process=...)``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any, Callable

import numpy
import srsly
import torch

from ...errors import ConfigError
from ..export.int8_recipes import DEFAULT_RECIPE, INT8_RECIPES, recipe_named
from ..export.onnx_export import INPUT_NAMES, export_onnx, require_onnx
from ..export.quantize import quantize_graph

ONNX_DIR = "onnx"  # inside a model folder: <dtype>.onnx and GRAPHS_FILE
GRAPHS_FILE = "graphs.json"  # {dtype: {"recipe": ..., ...}}: how each graph was made
ONNX_DTYPES = ("float32", "int8")
# What a pipeline that reads a saved graph needs installed: `optimize` adds it to the pipeline's
# meta["requirements"], so `spacy package` puts it in the package's requirements. Same pin as setup.cfg's
# onnx extra (tests/test_onnx.py checks).
ONNX_RUNTIME_REQUIREMENT = "onnxruntime>=1.20,<2"
NO_INT8_GRAPH = (
    'dtype "int8" reads the int8 ONNX graph that optimize saves beside the weights (onnx/int8.onnx), and '
    "{where} has none: python -m spacy_bert_ner optimize PIPELINE OUTPUT --dev corpus/dev.spacy makes one "
    '(its recipe chosen on dev), or read dtype "float32"'
)


# Sessions a forked child inherited from its parent, kept referenced for the child's whole life: destroying
# one joins the parent's thread-pool threads, which do not exist in the child, and the child hangs (or
# crashes in pthread_join; microsoft/onnxruntime#31961). spaCy's and annotate's workers end with os._exit,
# so nothing here is ever destroyed in them.
_INHERITED_SESSIONS: list[Any] = []


def _remove_in_owner(folder: Path, owner: int) -> None:
    """Remove ``folder``, unless this is a forked child of the process that made it (which still reads it)."""
    if os.getpid() == owner:
        shutil.rmtree(folder, ignore_errors=True)


class OnnxSession:
    """One graph read by ONNX Runtime on the CPU with as many threads as torch uses
    (``torch.set_num_threads``); the session is opened on first use in each process, and again when torch's
    thread count changes."""

    def __init__(self, path: Path) -> None:
        require_onnx("reading an ONNX graph", ("onnxruntime",))
        self.path = path
        self._session: Any = None
        self._opened_for = (-1, -1)  # (process id, threads) the session was opened for

    def _open(self, threads: int) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT logs every initializer it prunes as a warning
        return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def logits(self, input_ids: numpy.ndarray, attention_mask: numpy.ndarray) -> numpy.ndarray:
        """float32 [batch, length, n_labels] for int64 inputs [batch, length]."""
        wanted = (os.getpid(), torch.get_num_threads())
        if self._opened_for != wanted:
            if self._session is not None and self._opened_for[0] != wanted[0]:
                _INHERITED_SESSIONS.append(self._session)  # opened before a fork: never destroyed here
            self._session, self._opened_for = self._open(wanted[1]), wanted
        feed = dict(zip(INPUT_NAMES, (input_ids, attention_mask), strict=True))
        return self._session.run(None, feed)[0]


class OnnxGraphs:
    """A classifier's ONNX graphs per dtype: those saved in ``folder`` (if any), and those made on demand
    from ``model`` (the float torch model), all kept in a temporary folder that lives as long as this
    object."""

    def __init__(self, model: torch.nn.Module, folder: Path | None = None) -> None:
        self.model = model
        self.where = str(folder) if folder is not None else "this model"
        self.paths: dict[str, Path] = {}
        self.made: dict[str, dict[str, Any]] = {}  # dtype -> how its graph was made (graphs.json)
        self.sessions: dict[str, OnnxSession] = {}
        self.found: frozenset[str] = frozenset()  # the dtypes whose graphs came from ``folder``
        self.kept: set[str] = set()  # the dtypes whose graphs are saved with the model: found or put
        self._scratch: Path | None = None
        saved = folder / ONNX_DIR if folder is not None else None
        if saved is not None and saved.is_dir():
            recorded = srsly.read_json(saved / GRAPHS_FILE) if (saved / GRAPHS_FILE).exists() else {}
            for dtype in ONNX_DTYPES:
                if (saved / f"{dtype}.onnx").exists():
                    # copied: a folder spaCy restores from bytes is deleted once the component has loaded
                    self.paths[dtype] = self._scratch_dir() / f"{dtype}.onnx"
                    shutil.copyfile(saved / f"{dtype}.onnx", self.paths[dtype])
                    self.made[dtype] = dict(recorded.get(dtype, {}))
        self.found = frozenset(self.paths)
        self.kept = set(self.found)

    def saved(self, dtype: str) -> bool:
        """Whether the model folder came with a graph in ``dtype``."""
        return dtype in self.found

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="bert_ner_onnx_"))
            weakref.finalize(self, _remove_in_owner, self._scratch, os.getpid())
        return self._scratch

    def path(self, dtype: str) -> Path:
        """The graph in ``dtype`` ("float32" or "int8"): float32 exported now if there is none; a missing
        int8 graph raises :class:`ConfigError` naming the command that makes one."""
        if dtype not in ONNX_DTYPES:
            raise ConfigError(f"ONNX Runtime reads dtype float32 or int8, not {dtype!r}")
        if dtype not in self.paths:
            if dtype == "int8":
                raise ConfigError(NO_INT8_GRAPH.format(where=self.where))
            self.make(dtype)
        return self.paths[dtype]

    def make(self, dtype: str, recipe: str = DEFAULT_RECIPE) -> Path:
        """The graph in ``dtype``, made now from the float model if there is none: float32 exported, int8
        quantized from that by ``recipe``. Not kept: saved only if a classifier reads it (its runtime's
        ``save``)."""
        if dtype not in ONNX_DTYPES:
            raise ConfigError(f"ONNX Runtime reads dtype float32 or int8, not {dtype!r}")
        if dtype not in self.paths:
            require_onnx(f"making a {dtype} ONNX graph to read with ONNX Runtime")
            if dtype == "float32":
                self.paths[dtype] = export_onnx(self.model, self._scratch_dir() / "float32.onnx")
                self.made[dtype] = {"exporter": "torch.onnx.export(dynamo=True)"}
            else:
                out = self._scratch_dir() / f"int8-{recipe}.onnx"
                self.paths[dtype] = quantize_graph(self.path("float32"), out, recipe_named(recipe))
                self.made[dtype] = {"recipe": recipe}
        return self.paths[dtype]

    def put(self, dtype: str, path: Path, made: dict[str, Any]) -> None:
        """Read ``dtype`` from the graph at ``path`` from now on (made as ``made`` says); it is saved with the
        model."""
        self.paths[dtype] = path
        self.kept.add(dtype)
        self.made[dtype] = dict(made)
        self.sessions.pop(dtype, None)

    def batch_dependent(self, dtype: str) -> bool:
        """Whether the graph in ``dtype`` scales its activations by the batch it reads: an int8 graph
        quantized dynamically (or by a recipe this version does not know), not a float or a static one."""
        if dtype != "int8":
            return False
        recipe = self.made.get(dtype, {}).get("recipe")
        return recipe not in INT8_RECIPES or not INT8_RECIPES[recipe].static

    def session(self, dtype: str) -> OnnxSession:
        if dtype not in self.sessions:
            self.sessions[dtype] = OnnxSession(self.path(dtype))
        return self.sessions[dtype]

    def save(self, folder: Path, dtypes: Callable[[str], bool] = lambda dtype: True) -> None:
        """Copy the graphs this classifier has (those ``dtypes`` accepts) into ``folder/onnx``."""
        kept = [dtype for dtype in self.paths if dtypes(dtype)]
        if not kept:
            return
        target = folder / ONNX_DIR
        target.mkdir(parents=True, exist_ok=True)
        for dtype in kept:
            if self.paths[dtype].resolve() != (target / f"{dtype}.onnx").resolve():
                shutil.copyfile(self.paths[dtype], target / f"{dtype}.onnx")
        srsly.write_json(target / GRAPHS_FILE, {dtype: self.made.get(dtype, {}) for dtype in kept})

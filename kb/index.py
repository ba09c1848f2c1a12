"""The search index: a folder of FAISS files (one per dense model), BM25 and meta.json.

Layout under the index root:

    CURRENT                   name of the live version folder (replaced atomically)
    LOCK                      held by the writer of the moment (flock), in any process
    v0003-20261128T1201/      one version folder
        meta.json             models, dims, counts, content hash, file names
        rows-g2.json          vector id -> entry id and normalised phrasing; the
                              entries' content hashes the index was built from
        lexical-g2.npz        BM25 weights
        dense-use-m3-g2.faiss IndexIDMap2 over inner product of unit vectors

A full rebuild writes a new version folder and swaps CURRENT with os.replace, so a
crash at any point leaves the previous index serving. An incremental edit writes new
generation files inside the live folder and commits them by replacing meta.json.
Writers (in any process) take turns through the LOCK file; readers never wait.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import IndexMismatch, KefuError
from .lexical import BM25

FORMAT = 1


class IndexDamaged(KefuError):
    """An index folder cannot be read: a file is missing, cut short or garbled. It is only
    derived data, so the knowledge base rebuilds it from the store."""


@dataclass
class Sources:
    """What an entry index was built from, so that a later look at the store can tell
    exactly which entries changed since, whoever changed them (KnowledgeBase._catch_up)."""
    entries: dict[str, str]  # published entry id -> its content hash
    learned: dict[str, str] = field(default_factory=dict)  # entry id -> hash of its trusted learned phrasings
    terms: str = ""  # hash of the shop terms the tokens were segmented with
    learned_state: str = ""  # the store's hash of all trusted learned phrasings


@dataclass
class Row:
    vid: int
    entry_id: str
    text: str  # normalised phrasing
    tokens: list[str]


@dataclass
class Document:
    """What the index needs of an entry (or a passage): its texts, tokens and vectors."""
    key: str  # entry id, or passage id
    texts: list[str]
    tokens: list[list[str]]
    vectors: dict[str, np.ndarray]  # model id -> (len(texts), dim)
    window: tuple[str | None, str | None] = (None, None)  # valid_from, valid_to


PROTOTYPE = ""  # the text of a prototype row (a real phrasing is never empty)


def with_prototype(doc: Document) -> Document:
    """`doc` plus a prototype row: per model, the unit mean of its phrasings' vectors.

    Made for entries with trusted learned phrasings, so the row sits among the ways
    customers really ask. On shop-dev, after replaying its feedback, it raised recall@1
    by ~.02 beside the learned phrasings alone, with no-match precision higher; a mean
    of an entry's own phrasings alone lowered it (a dense-only probe), so entries
    without learning get none.
    It counts for the entry's dense scores only: no BM25 tokens, never the "matched"
    phrasing shown.
    """
    vectors = {}
    for model, v in doc.vectors.items():
        mean = v.mean(axis=0)
        vectors[model] = np.vstack([v, mean / (np.linalg.norm(mean) or 1.0)]).astype(np.float32)
    return Document(doc.key, doc.texts + [PROTOTYPE], doc.tokens + [[]], vectors, doc.window)


def _slug(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", model_id).strip("-")[:60] or "model"


def _new_flat(dim: int):
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _new_scan(flat) -> object:
    """An 8-bit copy of `flat` (one range for all dimensions, from a sample) to find
    candidates in. An exact scan streams every float32 vector for each query, which is
    memory-bound: a quarter of the bytes makes it ~3x faster (40k rows of 512-d: 6.1 ->
    1.8 ms); the top 30 of the exact scan were all in this one's top 120 in a probe.
    Candidates are then rescored exactly from `flat`."""
    import faiss

    ids = faiss.vector_to_array(flat.id_map)
    sq = faiss.IndexScalarQuantizer(flat.d, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT)
    sample = ids[np.random.default_rng(0).permutation(len(ids))[:_SCAN_CHUNK]]
    sq.train(flat.reconstruct_batch(sample))
    scan = faiss.IndexIDMap(sq)
    for lo in range(0, len(ids), _SCAN_CHUNK):  # in chunks: no second float32 copy of it all
        chunk = ids[lo:lo + _SCAN_CHUNK]
        scan.add_with_ids(flat.reconstruct_batch(chunk), chunk)
    return scan


_SCAN_CHUNK = 50_000


class Index:
    # Rows from which candidates are found in an 8-bit copy of the vectors; below it the
    # exact scan takes well under a millisecond.
    scan_min_rows = 10_000

    def __init__(self, models: dict[str, int]):
        self.models = dict(models)  # model id -> dim
        self.dense = {m: _new_flat(d) for m, d in self.models.items()}  # exact: rescoring, files
        self.scans: dict[str, object] = {}  # model id -> 8-bit copy, made on first use, kept in step
        self.rows: dict[int, Row] = {}
        self.by_entry: dict[str, list[int]] = {}  # an entry's rows in order; a prototype is last
        self.prototypes: set[str] = set()  # entries whose last row is a prototype
        self.windows: dict[str, tuple[str | None, str | None]] = {}
        self.lexical = BM25()
        self.lexical_vids = np.zeros(0, dtype=np.int64)
        self.next_vid = 0
        self.content_hash = ""
        self.generation = 0
        self.sources: Sources | None = None  # None for an index of passages (or an older folder)
        self.folder: Path | None = None  # the version folder it was loaded from or saved to

    # -- changes -----------------------------------------------------------
    def add(self, doc: Document) -> None:
        if doc.key in self.by_entry:
            self.remove(doc.key)
        vids = np.arange(self.next_vid, self.next_vid + len(doc.texts), dtype=np.int64)
        self.next_vid += len(doc.texts)
        for model, index in self.dense.items():
            vectors = np.ascontiguousarray(doc.vectors[model], dtype=np.float32)
            index.add_with_ids(vectors, vids)
            if model in self.scans:
                self.scans[model].add_with_ids(vectors, vids)
        for vid, text, tokens in zip(vids.tolist(), doc.texts, doc.tokens):
            self.rows[vid] = Row(vid, doc.key, text, tokens)
        self.by_entry[doc.key] = vids.tolist()
        self.windows[doc.key] = doc.window
        if doc.texts and doc.texts[-1] == PROTOTYPE:
            self.prototypes.add(doc.key)

    def remove(self, entry_id: str) -> None:
        vids = self.by_entry.pop(entry_id, [])
        self.windows.pop(entry_id, None)
        self.prototypes.discard(entry_id)
        if vids:
            ids = np.asarray(vids, dtype=np.int64)
            for index in [*self.dense.values(), *self.scans.values()]:
                index.remove_ids(ids)
            for vid in vids:
                del self.rows[vid]

    def refresh_lexical(self) -> None:
        """Rebuild BM25 from the stored tokens (after a batch of add/remove)."""
        vids = sorted(self.rows)
        self.lexical = BM25().build([self.rows[v].tokens for v in vids])
        self.lexical_vids = np.asarray(vids, dtype=np.int64)

    # -- search primitives -------------------------------------------------------
    def searcher(self, model: str):
        """The FAISS index a model's candidates are found in: the exact one, or from
        `scan_min_rows` rows on its 8-bit copy (scores approximate, ids as in `dense`)."""
        flat = self.dense[model]
        if flat.ntotal < self.scan_min_rows:
            return flat
        if model not in self.scans:
            self.scans[model] = _new_scan(flat)
        return self.scans[model]

    def dense_search(self, model: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, vector ids) of the `k` nearest rows; scores are approximate once the
        8-bit copy is searched, so callers rescore from `dense`."""
        index = self.searcher(model)
        k = min(k, index.ntotal)
        if k == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def lexical_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every row, aligned with `lexical_vids` (sorted vector ids)."""
        return self.lexical.scores(tokens)

    def lexical_search(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(scores, vector ids) of the rows that share a token with the query."""
        scores = self.lexical_scores(tokens)
        hit = np.flatnonzero(scores)
        return scores[hit], self.lexical_vids[hit]

    @property
    def n_entries(self) -> int:
        return len(self.by_entry)

    # -- files ---------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write generation files, then commit them by replacing meta.json."""
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        old = _read_meta(folder)
        self.generation = (old or {}).get("generation", 0) + 1
        g = self.generation
        files = {"rows": f"rows-g{g}.json", "lexical": f"lexical-g{g}.npz",
                 "dense": {m: f"dense-{_slug(m)}-g{g}.faiss" for m in self.models}}
        rows = [[r.vid, r.entry_id, r.text, " ".join(r.tokens)] for r in self.rows.values()]
        data = {"rows": rows, "windows": self.windows}
        if self.sources is not None:
            data["sources"] = vars(self.sources)
        _write_json(folder / files["rows"], data)
        self.lexical.save(folder / files["lexical"])
        for model, name in files["dense"].items():
            faiss.write_index(self.dense[model], str(folder / name))
            _fsync(folder / name)
        meta = {
            "format": FORMAT, "generation": g, "content_hash": self.content_hash,
            "models": [{"id": m, "dim": d} for m, d in self.models.items()],
            "entries": self.n_entries, "rows": len(self.rows), "next_vid": self.next_vid,
            "files": files, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        _write_json(folder / "meta.json", meta)
        self.folder = folder
        if old:
            for name in _file_names(old):
                if name not in _file_names(meta):
                    (folder / name).unlink(missing_ok=True)

    @staticmethod
    def generation_of(folder: Path) -> int:
        """The generation a version folder is at now (it moves on with each in-place update)."""
        meta = _read_meta(folder)
        if meta is None:
            raise IndexDamaged(f"{folder / 'meta.json'} is missing")
        with _reading(folder / "meta.json"):
            return int(meta["generation"])

    @classmethod
    def load(cls, folder: Path, models: dict[str, int] | None = None) -> "Index":
        """Load a version folder; IndexMismatch if it was built with other models,
        IndexDamaged (naming the file) if a file is missing or cannot be read."""
        meta = _read_meta(folder)
        if meta is None:
            raise IndexDamaged(f"{folder / 'meta.json'} is missing")
        with _reading(folder / "meta.json"):
            built = {m["id"]: m["dim"] for m in meta["models"]}
            files = meta["files"]
            names = [files["rows"], files["lexical"], *files["dense"].values()]
        if models is not None and built != models:
            raise IndexMismatch(
                f"the index in {folder} was built with models {sorted(built)} "
                f"but {sorted(models)} are configured; run `kefu reindex`")
        for name in names:
            if not (folder / name).is_file():
                raise IndexDamaged(f"{folder / name} is missing")
        index = cls(built)
        with _reading(folder / files["rows"]):
            data = json.loads((folder / files["rows"]).read_text(encoding="utf-8"))
            for vid, entry_id, text, tokens in data["rows"]:
                index.rows[vid] = Row(vid, entry_id, text, tokens.split(" ") if tokens else [])
                index.by_entry.setdefault(entry_id, []).append(vid)
            index.windows = {k: tuple(v) for k, v in data["windows"].items()}
            if "sources" in data:
                index.sources = Sources(**data["sources"])
        index.prototypes = {e for e, vids in index.by_entry.items() if index.rows[vids[-1]].text == PROTOTYPE}
        with _reading(folder / files["lexical"]):
            index.lexical = BM25.load(folder / files["lexical"])
        index.lexical_vids = np.asarray(sorted(index.rows), dtype=np.int64)
        for model, name in files["dense"].items():
            index.dense[model] = _read_faiss(folder / name, built[model], len(index.rows))
        with _reading(folder / "meta.json"):
            index.next_vid = meta["next_vid"]
            index.content_hash = meta["content_hash"]
            index.generation = meta["generation"]
        index.folder = folder
        return index


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn any failure to read or make sense of `path` into IndexDamaged naming it."""
    try:
        yield
    except IndexDamaged:
        raise
    except FileNotFoundError:
        raise IndexDamaged(f"{path} is missing") from None
    except Exception as exc:  # json, numpy, zip: each fails its own way on a garbled file
        raise IndexDamaged(f"{path} cannot be read ({_reason(exc)})") from None


def _read_faiss(path: Path, dim: int, rows: int):
    import faiss

    with _reading(path):
        index = faiss.read_index(str(path))
    if index.d != dim or index.ntotal != rows:
        raise IndexDamaged(f"{path} holds {index.ntotal} vectors of dimension {index.d}, "
                           f"not the {rows} of dimension {dim} that meta.json records")
    return index


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}".rstrip(": ")


def _file_names(meta: dict) -> set[str]:
    files = meta.get("files", {})
    return {files.get("rows"), files.get("lexical"), *files.get("dense", {}).values()} - {None}


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_meta(folder: Path) -> dict | None:
    """The folder's meta.json; None if there is none, IndexDamaged if it is garbled."""
    path = folder / "meta.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    with _reading(path):
        meta = json.loads(data.decode("utf-8"))
    if not isinstance(meta, dict):
        raise IndexDamaged(f"{path} cannot be read (not a JSON object)")
    return meta


class _ProcessLock:
    """An exclusive flock on a file, re-entrant within a thread.

    flock excludes other processes; the thread lock excludes other threads of this one
    (they would share the flock). Re-entrant, so a write that triggers another one in
    the same thread (an editor's save while a rebuild embeds, in tests) cannot deadlock.
    """

    def __init__(self, path: Path):
        self.path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fh = None

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(self.path, "a+b")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX)
                except BaseException:
                    fh.close()
                    raise
                self._fh = fh
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._fh.close()  # closing releases the flock
                    self._fh = None


_LOCKS: dict[str, _ProcessLock] = {}
_LOCKS_GUARD = threading.Lock()


def _process_lock(path: Path) -> _ProcessLock:
    """One lock object per lock file in this process, however many IndexDirs point at it."""
    key = os.path.abspath(path)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, _ProcessLock(Path(key)))


class IndexDir:
    """The index root: which version folder is live, and atomic switching between them."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current(self) -> Path | None:
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        folder = self.root / name
        return folder if name and (folder / "meta.json").exists() else None

    def lock(self):
        """Hold the index's lock: writers of this index in every process take turns
        (build, in-place update, publish); searches read without it."""
        return _process_lock(self.root / "LOCK").hold()

    def meta(self) -> dict | None:
        folder = self.current()
        return _read_meta(folder) if folder else None

    def new_version(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        numbers = [int(m.group(1)) for p in self.root.iterdir()
                   if (m := re.match(r"v(\d+)-", p.name))]
        folder = self.root / f"v{max(numbers, default=0) + 1:04d}-{time.strftime('%Y%m%dT%H%M%S')}"
        folder.mkdir()
        return folder

    def publish(self, folder: Path) -> None:
        """Make `folder` the live version (atomic); keep only it and the one it replaced."""
        previous = self.current()
        tmp = self.pointer.with_name("CURRENT.tmp")
        tmp.write_text(folder.name, encoding="utf-8")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.pointer)
        for old in self.root.iterdir():
            if re.match(r"v\d+-", old.name) and old not in (folder, previous):
                shutil.rmtree(old, ignore_errors=True)

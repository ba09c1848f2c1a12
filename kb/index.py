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

import errno
import fcntl
import json
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from itertools import chain
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
    exactly which entries changed since, whoever changed them (KnowledgeBase._catch_up).
    A passage index records only `terms` and `segmentation`: its rebuild says why as well."""
    entries: dict[str, str]  # published entry id -> its content hash
    learned: dict[str, str] = field(default_factory=dict)  # entry id -> hash of its trusted learned phrasings
    terms: str = ""  # hash of the shop terms the tokens were segmented with (and of `segmentation`)
    learned_state: str = ""  # the store's hash of all trusted learned phrasings
    # How the texts were cut into words (text.SEGMENTATION) on its own, so that a rebuild
    # can say an upgrade caused it; None in an index made by a kefu that did not record it.
    segmentation: str | None = None


_SOURCES_FIELDS = {f.name for f in fields(Sources)}


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


class CompactCopy:
    """A compact copy of one model's vectors to find candidates in: every dimension
    quantized to 16 levels (product quantization with 4-bit codes, one per dimension,
    scanned with SIMD: faiss "fast scan"). An exact scan streams every float32 vector for
    each query, which is memory-bound; this copy is an eighth of the bytes. On the real
    encoders' vectors of 40k synthetic shop phrasings (bench/latency.py's entries), per
    query and model: exact 4.8 ms, an 8-bit copy 1.0-1.6 ms, this one with its shortlist
    rescored 0.5-0.7 ms, and the rescored top 120 held all of the exact top 30 for 399
    (USE) and 400 (e5) of 400 queries. `Index.dense_search` rescores its shortlist exactly.

    Made in ~0.25 s per model at 40k rows, 2.2-2.5 s at 400k (an 8-bit copy: 0.15 s,
    0.8 s): faiss's own add encodes one dimension at a time (~2 s per 40k rows), so the
    codes are computed with numpy (the same bytes: a test compares them) and kept here.
    faiss's fast-scan index stores a row added after a removal wrongly, so a removal drops
    the rows' codes here and the index is packed again from them before the next search
    (0.01 s per model at 40k rows, 0.2 s at 400k); rows added meanwhile wait for it too.
    """

    def __init__(self, flat):
        import faiss

        self.ids = faiss.vector_to_array(flat.id_map)
        # Each dimension's 16 levels: the middles of its 16 equally filled ranges in a
        # sample, ascending; on the probe above as good as faiss's k-means, at a fifteenth
        # of the time.
        sample = flat.reconstruct_batch(self.ids[np.random.default_rng(0).permutation(len(self.ids))[:_LEVEL_SAMPLE]])
        self.levels = np.quantile(sample, (np.arange(16) + 0.5) / 16, axis=0).T.astype(np.float32)
        self.codes = np.empty((len(self.ids), (flat.d + 1) // 2), dtype=np.uint8)
        for lo in range(0, len(self.ids), _SCAN_CHUNK):  # in chunks: no second float32 copy of it all
            self.codes[lo:lo + _SCAN_CHUNK] = self._encode(flat.reconstruct_batch(self.ids[lo:lo + _SCAN_CHUNK]))
        self._index = self._pack()

    @property
    def ntotal(self) -> int:
        return len(self.ids)

    def add(self, vectors: np.ndarray, vids: np.ndarray) -> None:
        self.codes = np.vstack([self.codes, self._encode(vectors)])
        self.ids = np.concatenate([self.ids, vids])
        if self._index is not None:
            self._index.add_with_ids(vectors, vids)

    def remove(self, vids: np.ndarray) -> None:
        keep = ~np.isin(self.ids, vids)
        if not keep.all():
            self.codes, self.ids = self.codes[keep], self.ids[keep]
            self._index = None  # packed again before the next search

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._index is None:
            self._index = self._pack()
        return self._index.search(query, k)

    def _encode(self, x: np.ndarray) -> np.ndarray:
        return _pq4_codes(x, (self.levels[:, 1:] + self.levels[:, :-1]) / 2)

    def _pack(self):
        """The fast-scan index of the codes, in an IndexIDMap for the vector ids."""
        import faiss

        d = self.levels.shape[0]
        pq = faiss.IndexPQ(d, d, 4, faiss.METRIC_INNER_PRODUCT)
        faiss.copy_array_to_vector(self.levels.ravel(), pq.pq.centroids)
        pq.pq.sync_transposed_centroids()
        pq.is_trained = True
        faiss.copy_array_to_vector(self.codes.ravel(), pq.codes)
        pq.ntotal = len(self.ids)
        packed = faiss.IndexPQFastScan(pq)
        # An IndexIDMap must be made around an empty index: the filled one is put in after.
        scan = faiss.IndexIDMap(faiss.IndexPQFastScan(d, d, 4, faiss.METRIC_INNER_PRODUCT))
        scan.index, scan.own_fields, scan.referenced_objects = packed, False, [packed]
        faiss.copy_array_to_vector(self.ids, scan.id_map)
        scan.ntotal = packed.ntotal
        return scan


def _pq4_codes(x: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """faiss's PQ codes of `x` with one 4-bit code per dimension, the levels of each in
    ascending order (`bounds`: the 15 midpoints between them): the nearest level's number,
    two codes to a byte, the first in the low half."""
    code = np.zeros(x.shape, dtype=np.uint8)
    for k in range(bounds.shape[1]):  # 15 comparisons of the whole block beat a search per value
        code += x > bounds[:, k]
    if code.shape[1] % 2:
        code = np.hstack([code, np.zeros((len(code), 1), np.uint8)])
    return code[:, 0::2] | (code[:, 1::2] << 4)


_SCAN_CHUNK = 50_000
_LEVEL_SAMPLE = 4096  # rows the levels of the compact copy are read from
SHORTLIST = 3  # rows the compact copy returns per row asked for, to rescore exactly


def _vectors_view(flat) -> np.ndarray:
    """The float32 vectors inside an IndexIDMap2 over a flat index, without a copy:
    valid only until the next add or remove."""
    import faiss

    inner = faiss.downcast_index(flat.index)
    if inner.ntotal == 0:
        return np.zeros((0, inner.d), dtype=np.float32)
    return faiss.rev_swig_ptr(inner.get_xb(), inner.ntotal * inner.d).reshape(inner.ntotal, inner.d)


@dataclass(frozen=True)
class Layout:
    """The entries and their rows as arrays (Index.layout), so that a search gathers and
    scores a few hundred candidate entries without a Python step per row."""
    keys: list[str]  # entry ids; a position in this list is the entry's ordinal
    entry_of: np.ndarray  # vector id -> ordinal of its entry (-1: no row)
    first: np.ndarray  # ordinal -> where its rows start in `vids`
    count: np.ndarray  # ordinal -> its number of rows
    vids: np.ndarray  # every row's vector id, grouped by entry, each entry's in order
    prototype: np.ndarray  # ordinal -> its last row is a prototype
    windowed: np.ndarray  # ordinal -> it has a validity window to check
    lexical_pos: np.ndarray  # vector id -> its position in Index.lexical_vids (-1: none)
    key_array: np.ndarray  # `keys` as an object array, for keys_of

    def keys_of(self, ords: np.ndarray) -> list[str]:
        """The entry ids of ordinals `ords`, in that order (one gather, not a Python step each)."""
        return self.key_array[ords].tolist()

    def rows_of(self, ords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The vector ids of the entries `ords`, one after the other, and where each
        entry's begin in them."""
        counts = self.count[ords]
        starts = np.zeros(len(ords), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        at = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(self.first[ords] - starts, counts)
        return self.vids[at], starts


class Index:
    # Rows from which candidates are found in a compact copy of the vectors; below it the
    # exact scan takes well under a millisecond.
    scan_min_rows = 10_000

    def __init__(self, models: dict[str, int]):
        self.models = dict(models)  # model id -> dim
        self.dense = {m: _new_flat(d) for m, d in self.models.items()}  # exact: rescoring, files
        self.scans: dict[str, CompactCopy] = {}  # model id -> compact copy, made on first use, kept in step
        self._views: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # model id -> (vectors, vid -> row)
        self.rows: dict[int, Row] = {}
        self.by_entry: dict[str, list[int]] = {}  # an entry's rows in order; a prototype is last
        self.prototypes: set[str] = set()  # entries whose last row is a prototype
        self.windows: dict[str, tuple[str | None, str | None]] = {}
        self.lexical = BM25()
        self.lexical_vids = np.zeros(0, dtype=np.int64)
        self.next_vid = 0
        self.content_hash = ""
        self.generation = 0
        self.sources: Sources | None = None  # None in an older folder
        self.folder: Path | None = None  # the version folder it was loaded from or saved to
        self._layout: Layout | None = None  # made on first use after a change

    # -- changes -----------------------------------------------------------
    def add(self, doc: Document) -> None:
        if doc.key in self.by_entry:
            self.remove(doc.key)
        self._views.clear()
        self._layout = None
        vids = np.arange(self.next_vid, self.next_vid + len(doc.texts), dtype=np.int64)
        self.next_vid += len(doc.texts)
        for model, index in self.dense.items():
            vectors = np.ascontiguousarray(doc.vectors[model], dtype=np.float32)
            index.add_with_ids(vectors, vids)
            if model in self.scans:
                self.scans[model].add(vectors, vids)
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
        self._layout = None
        if vids:
            self._views.clear()
            ids = np.asarray(vids, dtype=np.int64)
            for index in self.dense.values():
                index.remove_ids(ids)
            for copy in self.scans.values():
                copy.remove(ids)
            for vid in vids:
                del self.rows[vid]

    def refresh_lexical(self) -> None:
        """Rebuild BM25 from the stored tokens (after a batch of add/remove)."""
        vids = sorted(self.rows)
        self.lexical = BM25().build([self.rows[v].tokens for v in vids])
        self.lexical_vids = np.asarray(vids, dtype=np.int64)
        self._layout = None

    # -- search primitives -------------------------------------------------------
    def layout(self) -> Layout:
        """The entries' rows as arrays; made again on first use after a change (~0.05 s
        at 100k entries)."""
        if self._layout is None:
            keys = list(self.by_entry)
            count = np.fromiter(map(len, self.by_entry.values()), dtype=np.int64, count=len(keys))
            vids = np.fromiter(chain.from_iterable(self.by_entry.values()), dtype=np.int64, count=int(count.sum()))
            first = np.zeros(len(keys), dtype=np.int64)
            np.cumsum(count[:-1], out=first[1:])
            entry_of = np.full(self.next_vid, -1, dtype=np.int64)
            entry_of[vids] = np.repeat(np.arange(len(keys)), count)
            prototype = np.fromiter((k in self.prototypes for k in keys), dtype=bool, count=len(keys))
            windowed = np.fromiter((tuple(self.windows.get(k, ("?", None))) != (None, None) for k in keys),
                                   dtype=bool, count=len(keys))
            lexical_pos = np.full(self.next_vid, -1, dtype=np.int64)
            lexical_pos[self.lexical_vids] = np.arange(len(self.lexical_vids))
            key_array = np.empty(len(keys), dtype=object)
            key_array[:] = keys
            self._layout = Layout(keys, entry_of, first, count, vids, prototype, windowed, lexical_pos, key_array)
        return self._layout

    def searcher(self, model: str):
        """What a model's candidates are found in: the exact FAISS index, or from
        `scan_min_rows` rows its CompactCopy (scores approximate, ids as in `dense`)."""
        flat = self.dense[model]
        if flat.ntotal < max(self.scan_min_rows, 1):
            self.scans.pop(model, None)
            return flat
        if model not in self.scans:
            self.scans[model] = CompactCopy(flat)
        return self.scans[model]

    def dense_search(self, model: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(cosines, vector ids) of the `k` nearest rows, best first. From the compact
        copy, a shortlist of SHORTLIST * k rows is rescored exactly."""
        index = self.searcher(model)
        exact = index is self.dense[model]
        depth = min(k if exact else k * SHORTLIST, index.ntotal)
        if depth == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = index.search(q, depth)
        if not exact and (ids < 0).any():
            # fast scan can return fewer rows than asked (seen for a row it scored exactly
            # 0 in a tiny index): ask the exact index
            index, exact = self.dense[model], True
            scores, ids = index.search(q, min(k, index.ntotal))
        keep = ids[0] >= 0
        scores, ids = scores[0][keep], ids[0][keep]
        if exact:
            return scores, ids
        scores = self.similarities(model, ids, q[0])
        best = np.argsort(-scores, kind="stable")[:k]
        return scores[best], ids[best]

    def vectors(self, model: str, vids) -> np.ndarray:
        """The exact vectors of rows `vids` (a copy, in that order). Faster than FAISS's
        reconstruct_batch, which looks each id up on its own."""
        view, rows = self._rows(model, vids)
        return np.take(view, rows, axis=0)  # about twice as fast as view[rows]

    def similarities(self, model: str, vids, query: np.ndarray) -> np.ndarray:
        """Inner products of `query` with the exact vectors of rows `vids`, in that order.
        faiss reads the rows where they are: gathering a copy first (`vectors`) costs
        2-3 times as much, and a search does this for ~1,500 rows per model at 10k entries."""
        import faiss

        view, rows = self._rows(model, vids)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != view.shape[1]:
            raise ValueError(f"query of dimension {q.shape[0]}, index of {view.shape[1]}")
        out = np.zeros(len(rows), dtype=np.float32)
        if len(rows):
            faiss.fvec_inner_products_by_idx(faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(view),
                                             faiss.swig_ptr(rows), view.shape[1], 1, len(rows))
        return out

    def _rows(self, model: str, vids) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of `model` in place, and the rows in them of vector ids `vids`
        (contiguous int64); KeyError naming ids that have no vector."""
        view, where = self._view(model)
        rows = where[np.asarray(vids, dtype=np.int64)]
        if (rows < 0).any():
            raise KeyError(f"no vector for rows {np.asarray(vids)[rows < 0][:5].tolist()}")
        return view, np.ascontiguousarray(rows)

    def _view(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of `model` in place, and each vector id's row in them (-1: none)."""
        if model not in self._views:
            import faiss

            flat = self.dense[model]
            where = np.full(self.next_vid, -1, dtype=np.int64)
            where[faiss.vector_to_array(flat.id_map)] = np.arange(flat.ntotal)
            self._views[model] = (_vectors_view(flat), where)
        return self._views[model]

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
        """Write generation files, then commit them by replacing meta.json. A failure (a
        full disk, a read-only folder) leaves the folder at its previous generation, with
        the files this save made removed; the index in memory is then on disk nowhere
        (generation 0), so it is never taken for the folder's."""
        folder.mkdir(parents=True, exist_ok=True)
        old = _read_meta(folder)
        g = (old or {}).get("generation", 0) + 1
        files = {"rows": f"rows-g{g}.json", "lexical": f"lexical-g{g}.npz",
                 "dense": {m: f"dense-{_slug(m)}-g{g}.faiss" for m in self.models}}
        rows = [[r.vid, r.entry_id, r.text, " ".join(r.tokens)] for r in self.rows.values()]
        data = {"rows": rows, "windows": self.windows}
        if self.sources is not None:
            data["sources"] = vars(self.sources)
        meta = {
            "format": FORMAT, "generation": g, "content_hash": self.content_hash,
            "models": [{"id": m, "dim": d} for m, d in self.models.items()],
            "entries": self.n_entries, "rows": len(self.rows), "next_vid": self.next_vid,
            "files": files, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        # What this save makes: its generation's files and the temporary ones it replaces
        # into place. Not what was there before (a leftover is overwritten all the same).
        made = [folder / n for n in [*chain.from_iterable((f, f + ".tmp") for f in _file_names(meta)), "meta.json.tmp"]
                if not os.path.lexists(folder / n)]
        try:
            with _writing(folder / files["rows"]):
                _write_json(folder / files["rows"], data)
            with _writing(folder / files["lexical"]):
                self.lexical.save(folder / files["lexical"])
                _fsync(folder / files["lexical"])
            for model, name in files["dense"].items():
                with _writing(folder / name):
                    _write_faiss(self.dense[model], folder / name)
            with _writing(folder / "meta.json"):
                _write_json(folder / "meta.json", meta)
        except BaseException:
            if _read_meta_quietly(folder).get("generation") != g:  # not committed
                for path in made:
                    path.unlink(missing_ok=True)
            self.generation = 0
            raise
        self.generation = g
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
        if models is not None:
            _same_models(folder, built, models)
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
            if "sources" in data:  # what this kefu knows of it: a later kefu may record more
                index.sources = Sources(**{k: v for k, v in data["sources"].items() if k in _SOURCES_FIELDS})
        index.prototypes = {e for e, vids in index.by_entry.items() if index.rows[vids[-1]].text == PROTOTYPE}
        with _reading(folder / files["lexical"]):
            index.lexical = BM25.load(folder / files["lexical"])
        index.lexical_vids = np.asarray(sorted(index.rows), dtype=np.int64)
        for model, name in files["dense"].items():
            index.dense[model] = _read_faiss(folder / name, built[model], index.lexical_vids)
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


def _read_faiss(path: Path, dim: int, vids: np.ndarray):
    """The FAISS file at `path`, checked against the rows file (`vids`, sorted): its size
    alone does not show damage inside it, which then failed searches ("operands could not
    be broadcast") instead of being rebuilt. Its ids must be exactly the rows' and every
    vector a unit vector (kefu's embedders normalise; an empty text's is 0): garbled bytes
    in either part fail that. ~60 ms for 300k rows of 384 dimensions; a checksum of the
    file would read it all a second time (~170 ms)."""
    import faiss

    with _reading(path):
        try:
            str(path).encode("utf-8")
            index = faiss.read_index(str(path))
        except UnicodeEncodeError:
            # A folder name that is not UTF-8 (a GBK one): FAISS's wrapper cannot pass it
            # to C++, and the index was taken for damaged and rebuilt by every command.
            # Read through Python's file object, a little slower than FAISS's own reader.
            with open(path, "rb") as fh:
                reader = faiss.PyCallbackIOReader(fh.read, 1 << 20)
                index = faiss.read_index(reader)
                del reader
        if index.d != dim or index.ntotal != len(vids):
            raise IndexDamaged(f"{path} holds {index.ntotal} vectors of dimension {index.d}, "
                               f"not the {len(vids)} of dimension {dim} that meta.json records")
        ids = faiss.vector_to_array(faiss.downcast_index(index).id_map)
        if not np.array_equal(np.sort(ids), vids):
            raise IndexDamaged(f"{path} cannot be read (its vector ids are not the rows' ids)")
        vectors = _vectors_view(index)
        norms = np.einsum("ij,ij->i", vectors, vectors)
        if not np.all((np.abs(norms - 1) < 1e-2) | (norms == 0)):  # NaN fails both
            raise IndexDamaged(f"{path} cannot be read (a vector is not of unit length)")
    return index


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Any failure to write `path` (a full disk, a read-only folder) as an OSError naming
    it: Python's write and flush errors name no file, FAISS raises a RuntimeError."""
    try:
        yield
    except OSError as exc:
        if exc.filename:
            raise
        raise OSError(exc.errno, f"cannot write the index file ({exc.strerror or exc})", str(path)) from None
    except RuntimeError as exc:
        text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise OSError(errno.EIO, f"cannot write the index file ({text})", str(path)) from None


def _write_faiss(index, path: Path) -> None:
    """Write a FAISS index through Python's file object: FAISS's own writer only prints a
    failure of its last, buffered write (a full disk) and leaves the file cut short."""
    import faiss

    with open(path, "wb") as fh:
        writer = faiss.PyCallbackIOWriter(fh.write, 1 << 20)
        try:
            faiss.write_index(index, writer)
        finally:
            del writer  # flushes FAISS's buffer into fh
        fh.flush()
        os.fsync(fh.fileno())


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


def check_models(folder: Path, models: dict[str, int]) -> None:
    """IndexMismatch if the version folder was built with other models than `models`;
    nothing to say about a folder whose meta.json is missing or unreadable."""
    try:
        meta = _read_meta(folder)
        built = {m["id"]: m["dim"] for m in meta["models"]} if meta else None
    except (IndexDamaged, KeyError, TypeError):
        return
    if built is not None:
        _same_models(folder, built, models)


def _same_models(folder: Path, built: dict[str, int], models: dict[str, int]) -> None:
    if built != models:
        def said(ms: dict[str, int]) -> str:  # id and dimension: a model may change only its dim
            return ", ".join(f"{m} ({d} dims)" for m, d in sorted(ms.items())) or "none"
        raise IndexMismatch(
            f"the index in {folder} was built with models {said(built)} "
            f"but {said(models)} are configured")


def _read_meta_quietly(folder: Path) -> dict:
    """The folder's meta.json, or {} when there is none or it cannot be read."""
    try:
        return _read_meta(folder) or {}
    except (IndexDamaged, OSError):
        return {}


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
    def hold(self, wait: bool = True) -> Iterator[bool]:
        """Hold the lock; with `wait=False` yield False at once (holding nothing) when
        another thread or process has it."""
        if not self._thread_lock.acquire(blocking=wait):
            yield False
            return
        try:
            if self._depth == 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(self.path, "a+b")
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # LOCK_NB only: another process has it
                    fh.close()
                    fh = None
                except BaseException:
                    fh.close()
                    raise
                if fh is None:
                    yield False
                    return
                self._fh = fh
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._fh.close()  # closing releases the flock
                    self._fh = None
        finally:
            self._thread_lock.release()


_LOCKS: dict[str, _ProcessLock] = {}
_LOCKS_GUARD = threading.Lock()


def process_lock(path: Path) -> _ProcessLock:
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

    def lock(self, wait: bool = True):
        """Hold the index's lock: writers of this index in every process take turns
        (build, in-place update, publish); searches read without it. A context manager
        yielding whether it is held: with `wait=False`, False at once if another has it."""
        return process_lock(self.root / "LOCK").hold(wait)

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

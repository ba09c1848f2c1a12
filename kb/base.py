"""KnowledgeBase: one data folder = the SQLite store + the index kept in step with it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .embed import Embedder
from .entry import Entry
from .index import Document, Index, IndexDir
from .store import ImportReport, Store, text_hash
from .text import Segmenter, normalize

# progress(stage, done, total): long work reports through this.
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    pass


class KnowledgeBase:
    """Entries live in `home/kefu.db`; the index under `home/index` is derived from them.

    Every write goes to SQLite first and then to the index incrementally; if the index
    is missing or stale when asked for, it is rebuilt from SQLite (vectors come from
    the embedding cache, so only new text is embedded).
    """

    def __init__(self, home: str | Path, embedders: list[Embedder], progress: Progress | None = None,
                 search_threads: int | None = 1):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.store = Store.open(self.home / "kefu.db")
        self.embedders = list(embedders)
        self.index_dir = IndexDir(self.home / "index")
        self.progress = progress or _quiet
        self._index: Index | None = None
        self._segmenter: Segmenter | None = None
        self._segmenter_fp: tuple[int, int] | None = None
        if search_threads:
            # FAISS, numpy's BLAS and the encoders each start threads; on a small
            # machine they compete for the cores and one query gets slower, not
            # faster. Scoring a few hundred candidate vectors needs no BLAS threads.
            import faiss
            from threadpoolctl import threadpool_limits

            faiss.omp_set_num_threads(search_threads)
            threadpool_limits(limits=search_threads, user_api="blas")

    def close(self) -> None:
        self.store.close()

    @property
    def models(self) -> dict[str, int]:
        return {e.id: e.dim for e in self.embedders}

    @property
    def segmenter(self) -> Segmenter:
        """jieba with the shop terms; rebuilt only when the store has changed and the terms differ."""
        fp = self.store.fingerprint()
        if self._segmenter is None or self._segmenter_fp != fp:
            terms = sorted(set(self.store.terms()))
            if self._segmenter is None or self._segmenter.terms != terms:
                self._segmenter = Segmenter(self.home / "cache", terms)
            self._segmenter_fp = fp
        return self._segmenter

    # -- embedding -------------------------------------------------------------
    def embed_documents(self, embedder: Embedder, texts: list[str], batch: int = 256) -> np.ndarray:
        """Vectors for `texts`, taking unchanged text from the cache and encoding only the rest."""
        hashes = [text_hash(t) for t in texts]
        cached = self.store.cached_vectors(embedder.id, sorted(set(hashes)))
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in cached))
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = embedder.encode_documents(chunk)
            new = {text_hash(t): v for t, v in zip(chunk, vectors)}
            self.store.save_vectors(embedder.id, new)
            cached.update(new)
            self.progress(f"embedding ({embedder.id})", min(start + batch, len(missing)), len(missing))
        if not texts:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([cached[h] for h in hashes]).astype(np.float32)

    def documents(self, entries: list[Entry]) -> list[Document]:
        seg = self.segmenter
        texts = [[normalize(p).text for p in e.phrasings] for e in entries]
        flat = [t for ts in texts for t in ts]
        vectors = {m.id: self.embed_documents(m, flat) for m in self.embedders}
        docs, pos = [], 0
        for entry, ts in zip(entries, texts):
            docs.append(Document(entry, ts, [seg.tokens(t) for t in ts],
                                 {m: v[pos:pos + len(ts)] for m, v in vectors.items()}))
            pos += len(ts)
        return docs

    # -- the index ---------------------------------------------------------------
    def index(self) -> Index:
        """The live index, loaded once; rebuilt when missing or stale, IndexMismatch on other models."""
        want = self.store.published_hash()
        if self._index is not None and self._index.content_hash == want:
            return self._index
        folder = self.index_dir.current()
        if folder is not None:
            index = Index.load(folder, self.models)
            if index.content_hash == want:
                self._index = index
                return index
        return self.rebuild()

    def rebuild(self) -> Index:
        """Build a new version folder from SQLite and switch to it atomically."""
        entries = list(self.store.iter_published())
        index = Index(self.models)
        docs = self.documents(entries)
        for i, doc in enumerate(docs, 1):
            index.add(doc)
            if i % 1000 == 0 or i == len(docs):
                self.progress("indexing", i, len(docs))
        index.refresh_lexical()
        index.content_hash = self.store.published_hash()
        folder = self.index_dir.new_version()
        index.save(folder)
        self.index_dir.publish(folder)
        self._index = index
        return index

    def _sync(self, before_hash: str, entry_ids: Iterable[str]) -> None:
        """Apply a few changed entries to the live index without a full rebuild."""
        ids = list(dict.fromkeys(entry_ids))
        folder = self.index_dir.current()
        if folder is None:
            return  # built on first use
        index = self._index if self._index is not None else Index.load(folder, self.models)
        if index.content_hash != before_hash:
            self._index = None  # stale already: index() will rebuild
            return
        current = self.store.get_many(ids)
        published = [current[i] for i in ids if i in current and current[i].status == "published"]
        for entry_id in ids:
            index.remove(entry_id)
        for doc in self.documents(published):
            index.add(doc)
        index.refresh_lexical()
        index.content_hash = self.store.published_hash()
        index.save(folder)
        self._index = index

    # -- writes (store first, then the index) -------------------------------------
    def _synced(self, write: Callable[[], Entry]) -> Entry:
        before = self.store.published_hash()
        entry = write()
        self._sync(before, [entry.id])
        return entry

    def add(self, data: dict, author: str | None = None) -> Entry:
        return self._synced(lambda: self.store.add(data, author))

    def update(self, entry_id: str, changes: dict, author: str | None = None) -> Entry:
        return self._synced(lambda: self.store.update(entry_id, changes, author))

    def archive(self, entry_id: str, author: str | None = None) -> Entry:
        return self._synced(lambda: self.store.archive(entry_id, author))

    def revert(self, entry_id: str, version: int, author: str | None = None) -> Entry:
        return self._synced(lambda: self.store.revert(entry_id, version, author))

    def import_entries(self, items: list[dict], on_conflict: str = "error",
                       author: str | None = None, where: str = "") -> ImportReport:
        before = self.store.published_hash()
        report = self.store.import_entries(items, on_conflict, author, where)
        changed = report.added + report.updated
        if len(changed) > 200:
            self._index = None  # a big batch: a fresh build is cheaper than many edits
        elif changed:
            self._sync(before, changed)
        return report

    def add_terms(self, words: Iterable[str], author: str | None = None) -> list[str]:
        # New terms change segmentation, so the next index() call rebuilds (no re-embedding).
        return self.store.add_terms(words, author)

"""KnowledgeBase: one data folder = the SQLite store + the index kept in step with it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .embed import Embedder
from .entry import Entry
from .index import Document, Index, IndexDir, with_prototype
from .learned import LearnStore
from .store import ImportReport, Store, text_hash
from .text import Segmenter, normalize

# progress(stage, done, total): long work reports through this.
Progress = Callable[[str, int, int], None]


_SLICE = 2_000  # entries whose documents a rebuild holds at once


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
        self.passage_dir = IndexDir(self.home / "passages")
        self.progress = progress or _quiet
        self._index: Index | None = None
        self._passages: Index | None = None
        self._segmenter: Segmenter | None = None
        self._segmenter_fp: int | None = None
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
        """jieba with the shop terms; rebuilt only when the terms changed."""
        fp = self.store.changes()["terms"]
        if self._segmenter is None or self._segmenter_fp != fp:
            terms = sorted(set(self.store.terms()))
            if self._segmenter is None or self._segmenter.terms != terms:
                self._segmenter = Segmenter(self.home / "cache", terms)
            self._segmenter_fp = fp
        return self._segmenter

    # -- embedding -------------------------------------------------------------
    def embed_documents(self, embedder: Embedder, texts: list[str], batch: int = 256,
                        collect: bool = True) -> np.ndarray | None:
        """Vectors for `texts`, taking unchanged text from the cache and encoding only the rest.

        With `collect=False` each new batch is only saved to the cache and nothing is
        kept or returned, so filling the cache for a big import needs no more memory
        than one batch.
        """
        hashes = [text_hash(t) for t in texts]
        unique = sorted(set(hashes))
        cached = self.store.cached_vectors(embedder.id, unique) if collect else \
            dict.fromkeys(self.store.cached_hashes(embedder.id, unique))
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in cached))
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = embedder.encode_documents(chunk)
            new = {text_hash(t): v for t, v in zip(chunk, vectors)}
            self.store.save_vectors(embedder.id, new)
            if collect:
                cached.update(new)
            self.progress(f"embedding ({embedder.id})", min(start + batch, len(missing)), len(missing))
        if not collect:
            return None
        if not texts:
            return np.zeros((0, embedder.dim), np.float32)
        return np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)

    def documents(self, entries: list[Entry]) -> list[Document]:
        """Index documents of entries: their phrasings, then their trusted learned phrasings
        and, when there are any, a prototype row (see index.with_prototype)."""
        return self._entry_documents(self._items(entries))

    def _items(self, entries: list[Entry]) -> list[tuple[str, list[str], tuple, bool]]:
        """(id, phrasings then trusted learned phrasings, window, whether any was learned)."""
        learned = LearnStore(self.store).trusted([e.id for e in entries])
        return [(e.id, e.phrasings + learned.get(e.id, []), (e.valid_from, e.valid_to), bool(learned.get(e.id)))
                for e in entries]

    def _entry_documents(self, items: list[tuple[str, list[str], tuple, bool]]) -> list[Document]:
        docs = self._documents([item[:3] for item in items])
        return [with_prototype(d) if item[3] else d for d, item in zip(docs, items)]

    def _documents(self, items: list[tuple[str, list[str], tuple]]) -> list[Document]:
        """(key, texts, window) -> index documents; texts are normalised, then embedded once."""
        seg = self.segmenter
        texts = [[normalize(t).text for t in raw] for _, raw, _ in items]
        flat = [t for ts in texts for t in ts]
        vectors = {m.id: self.embed_documents(m, flat) for m in self.embedders}
        docs, pos = [], 0
        for (key, _, window), ts in zip(items, texts):
            docs.append(Document(key, ts, [seg.tokens(t) for t in ts],
                                 {m: v[pos:pos + len(ts)] for m, v in vectors.items()}, window))
            pos += len(ts)
        return docs

    def embed_texts(self, texts: list[str]) -> None:
        """Fill the embedding cache for `texts` (normalised as the index will), with no store write
        transaction open for long: an import calls this before it writes its entries."""
        norm = list(dict.fromkeys(normalize(t).text for t in texts))
        for m in self.embedders:
            self.embed_documents(m, norm, collect=False)

    # -- the indexes -------------------------------------------------------------
    def index(self) -> Index:
        """The live entry index, loaded once; rebuilt when missing or stale, IndexMismatch on other models."""
        index = self._current(self.index_dir, self._index, self.store.published_hash())
        if index is None:
            return self.rebuild()
        self._index = index
        return index

    def passage_index(self) -> Index:
        """The index of document passages: separate from the entries', so reference text
        never competes with curated answers or shifts their BM25 statistics."""
        index = self._current(self.passage_dir, self._passages, self.store.passages_hash())
        if index is None:
            passages = self.store.passages()
            index = self._build(self.passage_dir, self.store.passages_hash(),
                                self._documents([(p["id"], [p["text"]], (None, None)) for p in passages]),
                                len(passages))
        self._passages = index
        return index

    def _current(self, index_dir: IndexDir, loaded: Index | None, want: str) -> Index | None:
        if loaded is not None and loaded.content_hash == want:
            return loaded
        folder = index_dir.current()
        if folder is not None:
            index = Index.load(folder, self.models)
            if index.content_hash == want:
                return index
        return None

    def rebuild(self) -> Index:
        """Build a new version folder of the entry index from SQLite and switch to it atomically."""
        items = self._items(list(self.store.iter_published()))
        self.embed_texts([t for _, texts, _, _ in items for t in texts])  # new text only; nothing kept
        # The old index is not needed while building (a failed build leaves its folder
        # live on disk, and index() loads it again), so it is not held beside the new one.
        self._index = None
        # Documents a slice at a time, their vectors read back from the cache: all of them
        # at once would be a second full copy of the index (1.4 GB at 100k entries).
        docs = (d for lo in range(0, len(items), _SLICE) for d in self._entry_documents(items[lo:lo + _SLICE]))
        self._index = self._build(self.index_dir, self.store.published_hash(), docs, len(items))
        return self._index

    def _build(self, index_dir: IndexDir, content_hash: str, docs: Iterable[Document], total: int) -> Index:
        index = Index(self.models)
        for i, doc in enumerate(docs, 1):
            index.add(doc)
            if i % 1000 == 0 or i == total:
                self.progress("indexing", i, total)
        index.refresh_lexical()
        index.content_hash = content_hash
        folder = index_dir.new_version()
        index.save(folder)
        index_dir.publish(folder)
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
                       author: str | None = None, where: str = "", source: str | None = None,
                       prune: bool = False, passages: list | None = None,
                       dry_run: bool = False, sync: bool = True,
                       places: list[str] | None = None) -> ImportReport:
        """Import one file's rows (and passages) in one store transaction; see Store.import_entries.

        A dry run comes first: a conflict fails the file before anything is embedded. New
        text is then embedded into the embedding cache, so the write transaction that
        follows is short and a crash during embedding leaves the entries as they were.
        With `sync=False` the caller updates the indexes once after many files (`refresh`).
        """
        args = (items, on_conflict, author, where, source, prune, passages)
        plan = self.store.import_entries(*args, dry_run=True, places=places)
        if dry_run:
            return plan
        if plan.added or plan.updated or (plan.passages or {}).get("added") or (plan.passages or {}).get("updated"):
            self.embed_texts(self._new_texts(items, on_conflict) + [p.text for p in passages or []])
        before = self.store.published_hash()
        report = self.store.import_entries(*args, places=places)
        if sync:
            self.refresh(before, report.changed_entries)
        return report

    def _new_texts(self, items: list[dict], on_conflict: str) -> list[str]:
        """Phrasings of the published rows that the import will add or change."""
        texts = []
        for item in items:
            if item.get("status", "published") != "published":
                continue
            existing = self.store.find_existing(item)
            if existing is not None and on_conflict != "update":
                continue
            if existing is None or existing.content_hash() != Entry(existing.id, **{
                    **existing.content(), **{k: v for k, v in item.items() if k != "id"}}).content_hash():
                texts += [item["question"], *item.get("similar", [])]
        return texts

    def refresh(self, before_hash: str, changed: list[str]) -> None:
        """Bring the entry index up to date after writes: in place for a few entries, a
        fresh build (with progress) for many; the passage index rebuilds if stale."""
        if len(changed) > 200:
            self.rebuild()
        elif changed:
            self._sync(before_hash, changed)
        if self.passage_dir.current() is not None or self.store.passage_count():
            self.passage_index()

    def add_terms(self, words: Iterable[str], author: str | None = None) -> list[str]:
        # New terms change segmentation, so the next index() call rebuilds (no re-embedding).
        return self.store.add_terms(words, author)

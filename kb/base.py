"""KnowledgeBase: one data folder = the SQLite store + the index kept in step with it."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .embed import Embedder, cache_key, read_as_query
from .entry import Entry
from .errors import IndexNotUpdated
from .index import Document, Index, IndexDamaged, IndexDir, Sources, check_models, with_prototype
from .learned import LearnStore
from .store import AddedTerms, ImportReport, PublishedState, Store, text_hash
from .text import Segmenter, cantonese_read, mandarin, normalize, normalize_terms

log = logging.getLogger("kefu.index")

# progress(stage, done, total): long work reports through this.
Progress = Callable[[str, int, int], None]


_SLICE = 2_000  # entries whose documents a rebuild holds at once
# Changed entries applied to the live index in place; beyond this a fresh build is about
# as quick, and compacts the FAISS id maps.
_SYNC_MAX = 200

# Seconds after which an index that could not be saved, and is searched from memory, is
# saved again (by the next search after them).
_SAVE_AGAIN_S = 60.0

# Query vectors kept per process (see KnowledgeBase.encode_query): ~0.4 MB per model.
QUERY_MEMORY = 256

# (entry id, phrasings then trusted learned phrasings, validity window, learned phrasings)
Item = tuple[str, list[str], tuple, list[str]]


def _quiet(stage: str, done: int, total: int) -> None:
    pass


class KnowledgeBase:
    """Entries live in `home/kefu.db`; the index under `home/index` is derived from them.

    Every write goes to SQLite first and then to the index incrementally. When the index
    is asked for and is stale (a write by another process, or one that crashed before
    its index update), the entries that changed are applied to it in place; when it is
    missing or damaged, or much changed, it is rebuilt from SQLite (vectors come from
    the embedding cache, so only new text is embedded). Writers of the index in every
    process take turns through a lock file; searches never wait for it: while another
    process holds it, they search the index they have until the new one is on disk. When
    the index cannot be written (a full disk, a read-only folder), searches go on from the
    index brought up to date in memory, with a warning, and the save is tried again.
    """

    def __init__(self, home: str | Path, embedders: list[Embedder], progress: Progress | None = None,
                 search_threads: int | None = 1, remember_queries: int = QUERY_MEMORY):
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
        # Why the index could not follow the writes (saved in the store all the same),
        # None once it did: see _after_write.
        self.index_error: IndexNotUpdated | None = None
        # The searched entry index when it could not be saved, and when to try again.
        self._unsaved: tuple[Index, float] | None = None
        # (models in use, their query vectors by (model, text)), see encode_query.
        self._remembered: tuple[list[int], OrderedDict] = ([], OrderedDict())
        self._remember_max = remember_queries
        self._remember_lock = threading.Lock()
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

    def encode_query(self, model: Embedder, text: str) -> np.ndarray:
        """`model`'s query vector of `text` (a model of `embedders`), encoded once for the
        last `remember_queries` texts: the panel asks again for the same message at each
        keystroke in a variable's box, and one suggestion may search a question twice
        (read in a region for a second answer, then for the region's own entry). Forgotten
        when the models in use change."""
        if not self._remember_max:
            return model.encode_queries([text])[0]
        key = (id(model), text)
        with self._remember_lock:
            models, kept = self._remembered
            if models != [id(m) for m in self.embedders]:
                self._remembered = models, kept = [id(m) for m in self.embedders], OrderedDict()
            if (vector := kept.get(key)) is not None:
                kept.move_to_end(key)
                return vector.copy()
        vector = model.encode_queries([text])[0]
        with self._remember_lock:
            kept[key] = vector.copy()
            while len(kept) > self._remember_max:
                kept.popitem(last=False)
        return vector

    def forget_queries(self) -> None:
        """Drop the remembered query vectors (a benchmark timing each search cold)."""
        with self._remember_lock:
            self._remembered = ([], OrderedDict())

    @property
    def models(self) -> dict[str, int]:
        return {e.id: e.dim for e in self.embedders}

    @property
    def segmenter(self) -> Segmenter:
        """jieba with the shop terms; rebuilt only when the terms changed."""
        fp = self.store.changes()["terms"]
        if self._segmenter is None or self._segmenter_fp != fp:
            terms = normalize_terms(self.store.terms())
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
        than one batch. A store this user cannot write keeps nothing: the vectors are
        encoded in memory only (reading commands work there), and with `collect=False`
        nothing is encoded.
        """
        if not collect and self.store.read_only:
            return None
        hashes = [text_hash(t) for t in texts]
        unique = sorted(set(hashes))
        key = cache_key(embedder)
        cached = self.store.cached_vectors(key, unique) if collect else \
            dict.fromkeys(self.store.cached_hashes(key, unique))
        missing = list(dict.fromkeys(t for t, h in zip(texts, hashes) if h not in cached))
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = embedder.encode_documents(chunk)
            new = {text_hash(t): v for t, v in zip(chunk, vectors)}
            if not self.store.read_only:
                self.store.save_vectors(key, new)
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

    def _items(self, entries: list[Entry]) -> list[Item]:
        """What the index holds of each entry (see Item), its learned phrasings read now."""
        learned = LearnStore(self.store).trusted([e.id for e in entries])
        return [(e.id, e.phrasings + learned.get(e.id, []), (e.valid_from, e.valid_to), learned.get(e.id, []))
                for e in entries]

    def _entry_documents(self, items: list[Item]) -> list[Document]:
        docs = self._documents([item[:3] for item in items], [len(item[3]) for item in items])
        return [with_prototype(d) if item[3] else d for d, item in zip(docs, items)]

    def _documents(self, items: list[tuple[str, list[str], tuple]],
                   messages: list[int] | None = None) -> list[Document]:
        """(key, texts, window) -> index documents; texts are normalised, then embedded once.

        The last `messages[i]` texts of item i are customer messages (learned phrasings):
        each model encodes them as a search reads a message (a long one's window, see
        kb.embed.read_as_query) and read as a search reads one (`mandarin`: kd as 快递),
        so the same message asked again meets its own row exactly. Their BM25 tokens are the
        whole message as read; their shown text is the message as typed. The other texts (the
        entry's questions) are read with their Cantonese in Mandarin (`cantonese_read`)."""
        seg = self.segmenter
        texts = [[normalize(t).text for t in raw] for _, raw, _ in items]
        flat = [t for ts in texts for t in ts]
        asked = [j >= len(ts) - n for ts, n in zip(texts, messages or [0] * len(items)) for j in range(len(ts))]
        # a message as suggest.retrieve reads it; an entry's own phrasing with its Cantonese in
        # Mandarin as that reading makes it (運費點計 as 运费怎么算), and nothing more: a shop
        # writes no chat spellings
        read = [mandarin(t) if a else cantonese_read(t) for t, a in zip(flat, asked)]
        vectors = {m.id: self.embed_documents(m, [read_as_query(m, [r])[0] if a else r for r, a in zip(read, asked)])
                   for m in self.embedders}
        docs, pos = [], 0
        for (key, _, window), ts in zip(items, texts):
            docs.append(Document(key, ts, [seg.tokens(r) for r in read[pos:pos + len(ts)]],
                                 {m: v[pos:pos + len(ts)] for m, v in vectors.items()}, window))
            pos += len(ts)
        return docs

    def embed_texts(self, texts: list[str]) -> None:
        """Fill the embedding cache for `texts` (normalised and read as the index will), with no
        store write transaction open for long: an import calls this before it writes its entries."""
        norm = list(dict.fromkeys(cantonese_read(normalize(t).text) for t in texts))
        for m in self.embedders:
            self.embed_documents(m, norm, collect=False)

    # -- the indexes -------------------------------------------------------------
    def index(self) -> Index:
        """The live entry index, loaded once; brought up to date when stale, rebuilt when
        missing or damaged (with a warning naming what was broken); IndexMismatch on other models.

        A search never waits for another process writing the index (a bulk import, a
        rebuild): it gets the index it had, stale, until the new one is on disk. An index
        that cannot be written (the disk full) is returned as brought up to date in
        memory, with a warning; see _search_on."""
        want = self.store.published_hash()
        if self._index is None or self._index.content_hash != want:
            # Another process may have brought it up to date: looked at without the lock
            # (the copy in memory is kept if it is still the one on disk, or while the
            # disk has none that can be read: a writer between two generations).
            on_disk = self._live(self.index_dir, self._index, warn=False)
            if on_disk is not None:
                self._index = on_disk
        if self._index is not None and self._index.content_hash == want:
            if self._unsaved is not None and self._unsaved[0] is self._index and self._unsaved[1] <= time.monotonic():
                self._save_again()
            return self._index
        return self._search_on(self._index, want)

    def _search_on(self, stale: Index | None, want: str) -> Index:
        """The index for a search when the one in memory (`stale`, or None) is not the
        store's: brought up to date under the lock; `stale` itself while another process
        holds the lock. If it cannot be written, the index as brought up to date in memory
        (or, failing that, `stale`) with a warning; saved again after _SAVE_AGAIN_S."""
        locked = False
        try:
            with self.index_dir.lock(wait=stale is None) as held:
                if not held:
                    log.debug("the index is being written by another process; searching the previous one")
                    return stale
                locked, stale = True, None  # not held beside a rebuilt index (see _rebuild)
                return self._catch_up(warn=True) or self._rebuild()
        except OSError as exc:
            if not locked:  # the lock file cannot be opened (a read-only folder): in memory only
                try:
                    self._catch_up(warn=True, save=False) or self._rebuild(save=False)
                except OSError:
                    pass
            index = self._index if self._index is not None and self._index.content_hash == want else None
            self._index = index or stale or self._live(self.index_dir, None, warn=False)
            if self._index is None:
                raise
            self._unsaved = (self._index, time.monotonic() + _SAVE_AGAIN_S)
            log.warning("the index could not be saved (%s); searching %s, saving again in %d s",
                        _why(exc), "the index brought up to date in memory" if index else
                        "the index as last saved, without the latest changes", _SAVE_AGAIN_S)
            return self._index

    def _save_again(self) -> None:
        """Save the searched index that could not be saved before (see _search_on)."""
        index = self._index
        self._unsaved = None
        try:
            with self.index_dir.lock(wait=False) as held:
                if not held:  # another process writes the index now: it saves the store's state
                    return
                current = self.index_dir.current()
                if current is not None and self.index_dir.meta().get("content_hash") == index.content_hash:
                    return  # another process has saved the same since
                if current is not None and current == index.folder:
                    index.save(current)
                else:  # rebuilt in memory, or no version is live
                    self._write_version(self.index_dir, index)
        except (OSError, IndexDamaged) as exc:
            self._unsaved = (index, time.monotonic() + _SAVE_AGAIN_S)
            log.warning("the index could still not be saved (%s); saving again in %d s", _why(exc), _SAVE_AGAIN_S)

    def passage_index(self) -> Index:
        """The index of document passages: separate from the entries', so reference text
        never competes with curated answers or shifts their BM25 statistics."""
        want = self.store.passages_hash()
        if self._passages is None or self._passages.content_hash != want:
            on_disk = self._live(self.passage_dir, self._passages, warn=False)
            if on_disk is not None:
                self._passages = on_disk
        if self._passages is not None and self._passages.content_hash == want:
            return self._passages
        # As index(): never waiting for another process's rebuild; when it cannot be
        # written, the passages as last saved.
        stale = self._passages
        try:
            with self.passage_dir.lock(wait=stale is None) as held:
                if held:
                    self._passages = self._rebuild_passages()
        except OSError as exc:
            if stale is None:
                raise
            self._passages = stale
            log.warning("the passage index could not be saved (%s); searching it as last saved", _why(exc))
        return self._passages

    def _rebuild_passages(self, anew: bool = False, publish: bool = True) -> Index:
        """With the lock held: the passage index, rebuilt unless another process just did
        (`anew`: rebuilt anyway, as after a change of models); with `publish=False` its
        folder is left for the caller to publish."""
        # Hash and passages read at one moment: an import committed meanwhile leaves it stale.
        with self.store.snapshot():
            want = self.store.passages_hash()
            live = None if anew else self._live(self.passage_dir, self._passages, warn=True)
            if live is not None and live.content_hash == want:
                return live
            terms, cut = self.store.cut_state()
            passages = self.store.passages()
        # Passages an import or a removal changed are what a rebuild is for; another cut is
        # not (the same terms' hash as the entry index's says which it is)
        if live is not None and (live.sources is None or live.sources.terms != terms):
            _tell_why_rebuilt(live.sources, cut, index="the passage index")
        live = self._passages = None  # not held beside the new one
        docs = self._documents([(p["id"], [p["text"]], (None, None)) for p in passages])
        return self._build(self.passage_dir, want, docs, len(passages), Sources({}, terms=terms, segmentation=cut),
                           publish=publish)

    def _live(self, index_dir: IndexDir, loaded: Index | None, warn: bool) -> Index | None:
        """The live version on disk (`loaded` if that is the one), or None when there is
        none or it is damaged. Writers call it with the lock held and `warn` (what is
        damaged is then rebuilt); without the lock a writer may be between two
        generations, so a failed read is only a reason to look again with it."""
        folder = index_dir.current()
        try:
            if folder is None:
                if index_dir.pointer.exists():  # CURRENT names no loadable folder
                    raise IndexDamaged(f"{index_dir.pointer} names no version folder with a meta.json")
                return None
            if loaded is not None and loaded.folder == folder and Index.generation_of(folder) == loaded.generation:
                return loaded
            return Index.load(folder, self.models)
        except IndexDamaged as exc:
            if warn:
                log.warning("the index is damaged: %s; rebuilding it from the store", exc)
            return None

    def _catch_up(self, warn: bool = False, save: bool = True, terms_changed: bool = False) -> Index | None:
        """With the index lock held: make the live entry index hold exactly the store, in
        place; None (and nothing loaded) when it must be rebuilt instead. With
        `save=False` (no lock: it cannot be taken) only in memory.

        What changed is found by comparing the store with what the index was built from
        (its Sources), not from what the caller wrote: a write by another process, or one
        whose process died before updating the index, is applied too. The store is read
        in one snapshot, and the index labelled with that snapshot's hash, so a write
        committed meanwhile leaves it stale rather than seemingly up to date. It must be
        rebuilt when there is none, it is damaged, the shop terms changed (every row is
        segmented anew) or many entries changed. With `warn`, a rebuild the caller did not
        ask for says why (`terms_changed`: the caller just changed the shop terms).
        """
        live = self._live(self.index_dir, self._index, warn)
        self._index = None  # a rebuild must not hold the old index beside the new one
        if live is None:
            return None
        with self.store.snapshot():
            state = self.store.published_state()
            if live.content_hash == state.hash:
                self._index = live
                return live
            changed = self._changed(live, state)
            if changed is None and warn:
                _tell_why_rebuilt(live.sources, state.segmentation, terms_changed)
            if changed is None or len(changed) > _SYNC_MAX:
                return None
            entries = self.store.get_many(changed)
            items = self._items([entries[i] for i in changed if i in entries and i in state.entries])
        return self._apply(live, state, changed, items, save)

    def _changed(self, live: Index, state: PublishedState) -> list[str] | None:
        """Entries whose indexed form differs from the store's; None if the whole index must
        be rebuilt (built before kefu recorded its sources, or the shop terms changed)."""
        src = live.sources
        if src is None or src.terms != state.terms:
            return None
        ids = {i for i, _ in src.entries.items() ^ state.entries.items()}  # added, removed or edited
        if src.learned_state != state.learned:
            learned = {e: _learned_hash(texts) for e, texts in LearnStore(self.store).trusted().items()
                       if e in state.entries}
            ids |= {i for i, _ in src.learned.items() ^ learned.items()}
        return sorted(ids)

    def _apply(self, live: Index, state: PublishedState, changed: list[str], items: list[Item],
               save: bool = True) -> Index:
        """Replace the `changed` entries of the live index (`items`: those still published).
        Until it is complete it is not `self._index`: a failure half-way leaves none in use;
        once complete it is, before it is saved: a search goes on with it if it cannot be."""
        docs = self._entry_documents(items)  # embeds new text before anything is touched
        for entry_id in changed:
            live.remove(entry_id)
            live.sources.learned.pop(entry_id, None)
        for doc, item in zip(docs, items):
            live.add(doc)
            if item[3]:
                live.sources.learned[item[0]] = _learned_hash(item[3])
        live.refresh_lexical()
        live.sources.entries = dict(state.entries)
        live.sources.learned_state = state.learned
        live.sources.segmentation = state.segmentation  # the terms' hash holds it: unchanged
        live.content_hash = state.hash
        self._index = live
        if save:
            live.save(live.folder)
        return live

    def rebuild(self, before_publish: Callable[[], None] | None = None) -> Index:
        """Build new version folders of the entry index (and of the passage index, when
        there are passages) from SQLite and switch to them atomically; `before_publish`
        runs once both folders are complete, just before the switch (a change of models
        writes its config there: until then every process keeps the current ones)."""
        # Both locks until both are live: another process publishing passages between our
        # build and our switch would delete our folder, or put back old models' passages.
        with self.index_dir.lock(), self.passage_dir.lock():
            passages = None
            if self.store.passage_count() or self.passage_dir.current() is not None:
                passages = self._rebuild_passages(anew=True, publish=False)

            def go_live():
                if before_publish:
                    before_publish()
                if passages is not None:
                    self.passage_dir.publish(passages.folder)
                    self._passages = passages
            return self._rebuild(go_live)

    def _rebuild(self, before_publish: Callable[[], None] | None = None, save: bool = True) -> Index:
        """With the lock held: the entry index built anew from the store and published;
        with `save=False` (no lock: it cannot be taken) only in memory."""
        # The hash and the entries are read at one moment: an edit committed while this
        # build runs is not in it and leaves it stale, and the next index() applies it.
        with self.store.snapshot():
            state = self.store.published_state()
            items = self._items(list(self.store.iter_published()))
        # new text only, nothing kept; learned phrasings are embedded as a search reads
        # them (a window of a long message) when their documents are made
        self.embed_texts([t for _, texts, _, learned in items for t in texts[:len(texts) - len(learned)]])
        # The old index is not needed while building (a failed build leaves its folder
        # live on disk, and index() loads it again), so it is not held beside the new one.
        self._index = None
        # Documents a slice at a time, their vectors read back from the cache: all of them
        # at once would be a second full copy of the index (1.4 GB at 100k entries).
        docs = (d for lo in range(0, len(items), _SLICE) for d in self._entry_documents(items[lo:lo + _SLICE]))
        sources = Sources(dict(state.entries), {i[0]: _learned_hash(i[3]) for i in items if i[3]},
                          state.terms, state.learned, state.segmentation)
        # Up to date in memory before it is written: a search goes on with it if it cannot be.
        self._index = self._assemble(state.hash, docs, len(items), sources)
        if save:
            self._write_version(self.index_dir, self._index, before_publish)
        return self._index

    def _build(self, index_dir: IndexDir, content_hash: str, docs: Iterable[Document], total: int,
               sources: Sources | None = None, before_publish: Callable[[], None] | None = None,
               publish: bool = True) -> Index:
        index = self._assemble(content_hash, docs, total, sources)
        self._write_version(index_dir, index, before_publish, publish)
        return index

    def _assemble(self, content_hash: str, docs: Iterable[Document], total: int,
                  sources: Sources | None = None) -> Index:
        index = Index(self.models)
        for i, doc in enumerate(docs, 1):
            index.add(doc)
            if i % 1000 == 0 or i == total:
                self.progress("indexing", i, total)
        index.refresh_lexical()
        index.content_hash = content_hash
        index.sources = sources
        return index

    @staticmethod
    def _write_version(index_dir: IndexDir, index: Index, before_publish: Callable[[], None] | None = None,
                       publish: bool = True) -> None:
        """Write `index` to a new version folder and switch to it; a folder that could not
        be written completely is removed (the previous version stays live)."""
        folder = index_dir.new_version()
        try:
            index.save(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            index.folder = None
            raise
        if before_publish:
            before_publish()
        if publish:
            index_dir.publish(folder)

    def _sync(self) -> None:
        """After a write: apply what changed (this write's, and any other's) to the live
        index in place, if there is one and it can be (else the next index() rebuilds)."""
        if not self.index_dir.pointer.exists():
            return  # built on first use
        with self.index_dir.lock():
            self._catch_up()

    # -- writes (store first, then the index) -------------------------------------
    def check_index_models(self) -> None:
        """IndexMismatch when the live index was built with other models: it cannot take
        a change, and saying so after storing it would report as failed an edit that
        happened."""
        for index_dir in (self.index_dir, self.passage_dir):
            if (folder := index_dir.current()) is not None:
                check_models(folder, self.models)

    def _synced(self, write: Callable[[], Entry]) -> Entry:
        self.check_index_models()
        entry = write()
        self._after_write(self._sync)
        return entry

    def _after_write(self, update: Callable[[], object]) -> None:
        """Bring the index up to date after a write SQLite has committed. A failure (the
        index folder read-only, the disk full) must not report the write as failed: it
        happened, and a retry would find it done (`add`: the id exists). It is kept in
        `index_error` for the caller to tell, and logged. The index on disk is then stale,
        not wrong: it is labelled with the content it was built from, so the next index()
        applies the change or rebuilds from the store."""
        try:
            update()
            self.index_error = None  # it holds every write now, earlier failed ones too
        except (OSError, RuntimeError, MemoryError, sqlite3.Error, IndexDamaged) as exc:
            self.index_error = IndexNotUpdated(_why(exc))
            self._index = None  # what is in memory may be half-updated: read the disk again
            log.warning("%s", self.index_error, extra={"index_not_updated": True})

    def build_index(self) -> None:
        """After writes: build or catch up the index now rather than at the first search;
        a failure is kept in `index_error` as a write's is (see _after_write)."""
        self._after_write(self._update)

    def _update(self, terms_changed: bool = False) -> Index:
        """For a writer: the entry index brought up to date and saved now, waiting for the
        lock; a failure is raised (a search's index() goes on without saving instead)."""
        with self.index_dir.lock():
            return self._catch_up(warn=True, terms_changed=terms_changed) or self._rebuild()

    def add(self, data: dict, author: str | None = None) -> Entry:
        return self._synced(lambda: self.store.add(data, author))

    def update(self, entry_id: str, changes: dict, author: str | None = None,
               expected_version: int | None = None, expected_hash: str | None = None) -> Entry:
        return self._synced(lambda: self.store.update(entry_id, changes, author, expected_version=expected_version,
                                                      expected_hash=expected_hash))

    def archive(self, entry_id: str, author: str | None = None, expected_version: int | None = None,
                expected_hash: str | None = None) -> Entry:
        return self._synced(lambda: self.store.archive(entry_id, author, expected_version, expected_hash))

    def revert(self, entry_id: str, version: int, author: str | None = None,
               expected_version: int | None = None, expected_hash: str | None = None) -> Entry:
        return self._synced(lambda: self.store.revert(entry_id, version, author, expected_version, expected_hash))

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
        self.check_index_models()  # with sync=False too: the caller's refresh would fail after
        if plan.added or plan.updated or (plan.passages or {}).get("added") or (plan.passages or {}).get("updated"):
            self.embed_texts(self._new_texts(items, on_conflict) + [p.text for p in passages or []])
        report = self.store.import_entries(*args, places=places)
        if sync:
            self.refresh(report.changed_entries)
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

    def refresh(self, changed: list[str]) -> None:
        """Bring the entry index up to date after writes that changed the entries
        `changed`: in place for a few, a fresh build (with progress) for many; the passage
        index rebuilds if stale. A failure is kept in `index_error` (see _after_write)."""
        self._after_write(lambda: self._refresh(changed))

    def _refresh(self, changed: list[str]) -> None:
        if len(changed) > _SYNC_MAX:
            with self.index_dir.lock():  # the entries only: the passages are brought up to date below
                self._rebuild()
        elif changed:
            self._sync()
        if self.passage_dir.current() is not None or self.store.passage_count():
            self.passage_index()

    def remove_passages(self, sources: Iterable[str], author: str | None = None) -> dict[str, int]:
        """Delete the documents' passages (see Store.remove_passages), then rebuild the
        passage index, so no search returns them as references again."""
        self.check_index_models()
        removed = self.store.remove_passages(sources, author)
        if self.passage_dir.current() is not None:
            self._after_write(self.passage_index)
        return removed

    def add_terms(self, words: Iterable[str], author: str | None = None) -> AddedTerms:
        """Store shop terms, then rebuild the index: they change segmentation, so every row
        is segmented anew (no re-embedding). Rebuilt here, by the writer, so that a server
        searches its previous index meanwhile rather than rebuilding inside a request."""
        self.check_index_models()
        added = self.store.add_terms(words, author)
        if added.added:
            self._after_terms()
        return added

    def remove_terms(self, words: Iterable[str]) -> int:
        """Remove shop terms (see Store.remove_terms), then rebuild the index as add_terms does."""
        self.check_index_models()
        removed = self.store.remove_terms(words)
        if removed:
            self._after_terms()
        return removed

    def _after_terms(self) -> None:
        if self.index_dir.pointer.exists():  # else built on first use
            self._after_write(lambda: self._update(terms_changed=True))


def _tell_why_rebuilt(sources: Sources | None, segmentation: str, terms_changed: bool = False,
                      index: str = "the index") -> None:
    """Say why `index` (the entry index, or the passage index) is rebuilt whole when nothing
    the user did asked for it (the first command after an upgrade is slow): kefu now cuts
    texts into words another way than `sources` recorded (`segmentation` is the cut now),
    or the index was made by a kefu that did not record how (which may be the same). A
    change of the shop terms is the writer's own doing, and a warning would be wrong."""
    cut = sources.segmentation if sources is not None else None
    if cut is not None and cut != segmentation:
        log.warning("rebuilding %s: kefu's word segmentation changed (upgrade)", index)
    elif cut is None and not terms_changed:
        log.warning("rebuilding %s: the index was made by an older kefu", index)
    elif cut is not None:
        log.info("rebuilding %s: the shop terms changed", index)


def _why(exc: Exception) -> str:
    """An index write's failure in a few words, naming the file when it is known."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


def _learned_hash(texts: list[str]) -> str:
    """An entry's learned phrasings as indexed: their text, and their reading where it differs
    (a phrasing read as typed hashes as before, so an index is not rebuilt for it)."""
    norm = [normalize(t).text for t in texts]
    return text_hash("\n".join(t if (read := mandarin(n)) == n else f"{t}\t{read}" for t, n in zip(texts, norm)))

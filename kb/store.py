"""SQLite-backed store of entries, their history, cached embeddings and shop terms.

SQLite is the source of truth; the index folder is a cache rebuilt from here.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np
import sqlite_utils

from . import migrations
from .entry import (EDITABLE, Entry, category_key, check_window, content_hash, distinct_similar, legacy_when,
                    question_key, split_tags, validate, window_state)
from .errors import (DuplicateEntry, DuplicateQuestion, DuplicateSimilar, EntryNotFound, ImportConflicts, InvalidEntry,
                     InvalidTerm, KefuError, SourceNotFound, StoreTooNew, VersionConflict, VersionNotFound,
                     VersionNotRestorable)
from .text import HALF_WIDTH, SEGMENTATION, normalize, normalize_term, script_evidence, to_simplified

SQLITE_MAX_INTEGER = 2**63 - 1  # a bigger Python int bound to a query raises OverflowError
MAX_TEXT_WORDS = 20  # words of a list filter's text each searched on its own (Store._filters)

ON_CONFLICT = ("error", "update", "skip")
SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite keeps beside a database file, by suffix
# Mined results kept (Store.keep_mined): a few periods (`since`) of gaps and drift each.
MINED_KEPT = 16
# Closed days' statistics kept (Store.keep_day_counts): the longest retention period's,
# and a few periods beginning at another time of day.
DAY_COUNTS_KEPT = 4000
BACKUP_STEP_PAGES = 4096  # pages a backup copies between two reports of its progress (16 MB of 4 KB pages)
T = TypeVar("T")


@dataclass
class Change:
    entry_id: str
    version: int
    action: str
    author: str | None
    at: str
    before: dict | None
    after: dict | None


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do) to the store."""
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # archived: gone from their source
    passages: dict[str, int] = field(default_factory=dict)  # added/updated/unchanged/removed
    diff: list[dict] = field(default_factory=list)  # {"id", "action", "changes": {field: [before, after]}}
    notes: list[str] = field(default_factory=list)  # e.g. entries of another file that were not pruned

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("added", "updated", "unchanged", "skipped", "pruned")}

    @property
    def changed_entries(self) -> list[str]:
        return self.added + self.updated + self.pruned


def _split_tag_notes(before: list[str], after: list[str], entry_id: str, where: str) -> list[str]:
    """What an update that turns one stored tag into its parts (满减、包邮 into 满减 and 包邮)
    should say: a file an older kefu exported wrote such a tag bare, and its tags cell is
    split like any other (a cell with a line break is not). The import goes ahead."""
    notes = []
    for tag in before:
        parts = split_tags(tag)
        if len(parts) > 1 and tag not in after and all(p in after for p in parts):
            notes.append(f"{where}: tag {tag!r} of entry {entry_id!r} becomes {len(parts)} tags, "
                         + ", ".join(repr(p) for p in parts[:-1]) + f" and {parts[-1]!r} (a tags cell without a line"
                         " break is split at | ; , ， 、: a file an older kefu exported wrote such a tag so); if it is"
                         " one tag, end the cell with a line break")
    return notes


@dataclass
class AddedTerms:
    """What `add_terms` did: the terms it added (as stored), and those already there."""
    added: list[str] = field(default_factory=list)
    existing: dict[str, str] = field(default_factory=dict)  # as typed -> the stored term it is


@dataclass
class PassageSource:
    """An imported document, as its passages are stored."""
    source: str  # the key it was imported as: its absolute path, or an upload's file name
    type: str  # its extension (docx, pdf, md, …), "" when it has none
    passages: int
    imported_at: str  # when its passages last changed (an unchanged re-import keeps it)


@dataclass
class PublishedState:
    """What the entry index is built from, read at one moment (inside `Store.snapshot`)."""
    hash: str  # published_hash()
    entries: dict[str, str]  # published entry id -> content hash
    terms: str  # hash of the shop terms, and of how texts are cut into words
    learned: str  # hash of the trusted learned phrasings
    segmentation: str  # how texts are cut into words (text.SEGMENTATION)


class _DryRun(Exception):
    """Raised inside a dry run's transaction to roll every write back."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _terms_hash(terms: list[str]) -> str:
    return text_hash("\n".join([SEGMENTATION, *terms]))


def passage_id(source: str, position: int) -> str:
    return "p" + hashlib.sha256(f"{source}\0{position}".encode()).hexdigest()[:15]



@contextmanager
def writing(db) -> Iterator[None]:
    """A write transaction on `db` that takes SQLite's write lock before its first read.

    A plain (deferred) BEGIN reads first; if another process commits in between, the
    write that follows fails at once with "database is locked" instead of waiting its
    turn. Inside an open transaction this is a savepoint, as `db.atomic()`.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("begin immediate")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    db.conn.commit()

class Store:
    """Entries with full history; every write is one transaction."""

    def __init__(self, db: sqlite_utils.Database, read_only: bool = False):
        self.db = db
        self.read_only = read_only
        self._hash_cache: dict[str, tuple] = {}  # name -> (key it was computed for, value)
        self._learned_state: tuple[int, str] | None = None
        self._trial = False  # inside trial(): a dry run's writes wait for its end to be rolled back
        # During an import: id -> the place of the row without an id that made that entry
        # ("" with no place per row). Its id is made as it is written, another in a dry run's
        # preview than in the real run: a later row's conflict names its question instead.
        self._unnamed: dict[str, str] = {}
        # The list filters compare in simplified script, as search does (SQL calls these per row).
        db.conn.create_function("kefu_simplified", 1, _simplified, deterministic=True)
        db.conn.create_function("kefu_category", 1, _category_key, deterministic=True)
        migrations.apply(db, read_only=read_only)

    @classmethod
    def open(cls, path: str | Path) -> "Store":
        """The store at `path`; read-only (`read_only`) when this user cannot write it or its
        folder (a read-only snapshot, a folder owned by the server's user), so that reading
        commands and backups still work there and writes fail saying so."""
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        # WAL lets readers (the panel, a backup) go on while an import writes. Switching a
        # new store to it needs the store to itself: processes creating one take turns.
        try:
            # Before the switch to WAL, which rewrites the file's header. The constructor's
            # migrations.apply checks again, once the store is open: a newer kefu may have
            # migrated it meanwhile, and Store(db) on a connection of its own needs it too.
            migrations.refuse_newer(db)
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                with migrations.setting_up(str(path)):
                    db.execute("PRAGMA journal_mode=WAL")
            # A file this user cannot write that SQLite could read all the same (a read-only
            # snapshot of a store in use, with its -wal and -shm): SQLite opened it read-only
            # without a word, and writes would fail as "attempt to write a readonly database".
            return cls(db, read_only=not os.access(path, os.W_OK))
        except (sqlite3.OperationalError, PermissionError) as exc:
            conn.close()
            if (uri := read_only_uri(path)) is None or not _cannot_write(exc):
                raise
        except BaseException:
            conn.close()
            raise
        conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
        try:
            return cls(sqlite_utils.Database(conn), read_only=True)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read inside sees the store as of the first one (one read transaction),
        whatever other connections commit meanwhile. Nothing may be written inside."""
        if self.db.conn.in_transaction:
            yield
            return
        self.db.execute("begin")
        try:
            yield
        finally:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()  # only read: nothing to keep

    def _writing(self):
        return writing(self.db)

    @contextmanager
    def trial(self) -> Iterator[None]:
        """Dry runs inside keep their writes until the end, then all are rolled back
        together: a dry run over many files, where each file meets what the files before
        it would have written, as it does in the real run."""
        self._trial = True
        try:
            with self._writing():
                yield
                raise _DryRun
        except _DryRun:
            pass
        finally:
            self._trial = False

    # -- reading -----------------------------------------------------------
    def get(self, entry_id: str) -> Entry:
        row = self.db.execute("select * from entries where id = ?", [entry_id]).fetchone()
        if row is None and isinstance(entry_id, str):
            # typed as it is stored? (" k001", "ｋ００１": ids are stored trimmed and half-width)
            stored = entry_id.strip().translate(HALF_WIDTH)
            if stored != entry_id:
                row = self.db.execute("select * from entries where id = ?", [stored]).fetchone()
        if row is None:
            raise EntryNotFound(entry_id)
        return self._entry(row)

    def get_many(self, ids: Iterable[str]) -> dict[str, Entry]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"select * from entries where id in ({marks})", ids).fetchall()
        return {e.id: e for e in map(self._entry, rows)}

    def entries(self, status: str | None = None, category: str | None = None,
                tag: str | None = None, text: str | None = None,
                limit: int | None = None, offset: int = 0, newest_first: bool = False) -> list[Entry]:
        """Entries matching the filters, by id, or with `newest_first` the last updated
        first (an entry just added is found on the first page, not at its random id)."""
        where, args = self._filters(status, category, tag, text)
        sql = "select * from entries" + where + (" order by updated_at desc, id" if newest_first else " order by id")
        if limit is not None:
            sql += " limit ? offset ?"; args += [limit, offset]
        return [self._entry(r) for r in self.db.execute(sql, args).fetchall()]

    @staticmethod
    def _filters(status: str | None, category: str | None, tag: str | None,
                 text: str | None) -> tuple[str, list]:
        where, args = [], []
        if status:
            where.append("status = ?"); args.append(status)
        if category:
            # 售後 finds 售后 and the other way round, also in entries stored before
            # categories were normalised.
            where.append("kefu_category(category) = ?"); args.append(category_key(category.strip()))
        if tag:
            # As categories: 运费 finds the 運費 a Taiwan entry is tagged with; and, as the
            # text filter's LIKE, ezway finds EZWay (NOCASE folds ASCII letters only).
            where.append("exists (select 1 from json_each(tags) where kefu_simplified(value) = ? collate nocase)")
            args.append(_simplified(tag.strip()))
        # Each word typed (云朵枕 现货) in any of the three, as a search box is used: the
        # words with the space between them are in no entry. A pasted paragraph of more words
        # than a search has is matched as it is: a thousand conditions are a query SQLite
        # refuses. In simplified script on both sides: 專票 finds 专票. % and _ in the search
        # text are literal characters, not wildcards.
        words = list(dict.fromkeys((_simplified(text) or "").split()))
        for word in words if len(words) <= MAX_TEXT_WORDS else [_simplified(text).strip()]:
            where.append("(" + " or ".join(f"kefu_simplified({column}) like ? escape '\\'"
                                           for column in ("question", "similar", "answer")) + ")")
            pattern = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            args += [f"%{pattern}%"] * 3
        return (" where " + " and ".join(where) if where else ""), args

    def iter_published(self) -> Iterator[Entry]:
        for row in self.db.execute("select * from entries where status = 'published' order by id"):
            yield self._entry(row)

    def count(self, status: str | None = None, category: str | None = None,
              tag: str | None = None, text: str | None = None) -> int:
        """Entries matching the filters of `entries()` (all entries without any)."""
        where, args = self._filters(status, category, tag, text)
        return self.db.execute("select count(*) from entries" + where, args).fetchone()[0]

    def history(self, entry_id: str) -> list[Change]:
        entry_id = self.get(entry_id).id  # as stored (ｋ001 is k001)
        rows = self.db.execute(
            "select entry_id, version, action, author, at, before, after from history"
            " where entry_id = ? order by version", [entry_id]).fetchall()
        return [Change(r[0], r[1], r[2], r[3], r[4], _loads(r[5]), _loads(r[6])) for r in rows]

    def changes(self) -> dict[str, int]:
        """Markers that change whenever the entries, terms or passages change, or learning
        writes (`learn.version`), whoever wrote: one small query, for readers that cache."""
        return {name: int(value) for name, value in self.db.execute(
            "select name, marker from changes"
            " union all select key, value from settings where key = 'learn.version'")}

    def published_hash(self) -> str:
        """Changes whenever anything that the index holds changes (entries, shop terms or
        trusted learned phrasings). Cached against `changes()`, so asking on every search
        costs one query, not a scan of every entry."""
        return self._cached("entries", self._published_hash, self._published_key())

    def published_state(self) -> PublishedState:
        """The published hash with what it is made of, all read at one moment."""
        with self.snapshot():
            key, rows = self._published_key(), self._published_rows()
            terms, learned = self.terms(), self._learned_hash()
            digest = self._cached("entries", lambda: _published_digest(rows, terms, learned), key)
            return PublishedState(digest, dict(rows), _terms_hash(terms), learned, SEGMENTATION)

    def cut_state(self) -> tuple[str, str]:
        """How texts are cut into words now, as an index records it (`Sources`): the hash of
        the shop terms and of the cut (`PublishedState.terms`), and the cut on its own."""
        return _terms_hash(self.terms()), SEGMENTATION

    def published_script(self) -> tuple[int, int]:
        """(traditional-only, simplified-only) characters of the published entries' standard
        questions (`script_evidence`): the script the shop writes in. Counted again only when
        entries change (OpenCC over every question: ~50 ms at 10k entries)."""
        return self._cached("script", lambda: script_evidence("\n".join(r[0] for r in self.db.execute(
            "select question from entries where status = 'published' order by id"))), self.changes()["entries"])

    def passages_hash(self) -> str:
        """Changes whenever the passages or the shop terms (their segmentation) change."""
        c = self.changes()
        return self._cached("passages", self._passages_hash, (c["passages"], c["terms"]))

    def passage_count(self) -> int:
        return self._cached("passage_count",
                            lambda: self.db.execute("select count(*) from passages").fetchone()[0],
                            self.changes()["passages"])

    def _cached(self, name: str, compute, key):
        held = self._hash_cache.get(name)
        if held is None or held[0] != key:
            held = self._hash_cache[name] = (key, compute())
        return held[1]

    def _published_key(self) -> tuple:
        """What the published hash is cached against: the markers of what it is made of."""
        c = self.changes()
        return c["entries"], c["terms"], c.get("learn.version", 0)

    def _published_rows(self) -> list:
        return self.db.execute(
            "select id, content_hash from entries where status = 'published' order by id").fetchall()

    def _published_hash(self) -> str:
        return _published_digest(self._published_rows(), self.terms(), self._learned_hash())

    def _learned_hash(self) -> str:
        """The trusted learned phrasings (indexed with their entries), re-read only when a
        learning write changed its version (not on an entry edit): the learned table can be long."""
        from .learned import LearnStore

        learned = LearnStore(self)
        version = learned.version()
        if self._learned_state is None or self._learned_state[0] != version:
            self._learned_state = (version, learned.state_hash())
        return self._learned_state[1]

    # -- writing -----------------------------------------------------------
    def add(self, data: dict, author: str | None = None) -> Entry:
        with self._writing():
            return self._add(validate(data), author, "create")

    def update(self, entry_id: str, changes: dict, author: str | None = None,
               action: str = "edit", expected_version: int | None = None,
               expected_hash: str | None = None) -> Entry:
        """Change the given fields. With `expected_version` (the version the edit was made
        on), VersionConflict unless the entry still is that version: compared inside the
        write transaction, so of two processes saving from one version only the first wins.
        `expected_hash`, that version's content hash, also tells that version from the one
        of that number made after a restore of an older backup took the entry back."""
        changes = validate({k: v for k, v in changes.items() if k != "id"})
        with self._writing():
            entry = self.get(entry_id)
            if expected_version is not None and (entry.version != expected_version or (
                    expected_hash is not None and entry.content_hash() != expected_hash)):
                raise VersionConflict(entry.id, expected_version, entry)
            return self._update(entry, changes, author, action)

    def archive(self, entry_id: str, author: str | None = None, expected_version: int | None = None,
                expected_hash: str | None = None) -> Entry:
        """`expected_version` (and `expected_hash`) as for `update`: an archive click on a
        page of an older version must not archive the entry someone changed since."""
        return self.update(entry_id, {"status": "archived"}, author, action="archive",
                           expected_version=expected_version, expected_hash=expected_hash)

    def revert(self, entry_id: str, version: int, author: str | None = None,
               expected_version: int | None = None, expected_hash: str | None = None) -> Entry:
        """Make the entry's content what it was right after `version` (a new version is
        recorded); `expected_version` and `expected_hash` as for `update`."""
        entry_id = self.get(entry_id).id  # as stored (ｋ001 is k001)
        if not 0 < version <= SQLITE_MAX_INTEGER:  # no such version; SQLite cannot even compare it
            raise VersionNotFound(entry_id, version)
        row = self.db.execute("select after from history where entry_id = ? and version = ?",
                              [entry_id, version]).fetchone()
        if row is None:
            raise VersionNotFound(entry_id, version)
        content = json.loads(row[0])
        for name in ("valid_from", "valid_to"):  # maybe in a form an older kefu accepted
            if name in content:
                content[name] = legacy_when(content[name])
        try:  # content an older kefu stored may be one kefu no longer accepts: say which version
            validate(content)
        except InvalidEntry as exc:
            raise VersionNotRestorable(entry_id, version, exc.field, exc.reason) from None
        return self.update(entry_id, content, author, action=f"revert to v{version}",
                           expected_version=expected_version, expected_hash=expected_hash)

    def import_entries(self, items: Iterable[dict], on_conflict: str = "error",
                       author: str | None = None, where: str = "", source: str | None = None,
                       prune: bool = False, passages: list | None = None,
                       dry_run: bool = False, places: list[str] | None = None) -> ImportReport:
        """Add or update many entries in ONE transaction: all of them or none.

        `items` are already validated dicts; an entry with no id is keyed by its
        standard question, so re-importing the same file changes nothing. With a
        `source` (the file's key) the store remembers where each entry came from;
        `prune` then archives that source's entries missing from `items`. `passages`
        (a document's, all of them) replace the source's earlier ones. A dry run does
        the same work and rolls it back (inside `trial()`, at the trial's end), so its
        report is exactly what would happen.
        `places` (one per item, e.g. "faq.xlsx, sheet 售后, row 5") name a conflicting row.
        Every conflicting row is told, not only the first: one row's error as it is,
        several in one ImportConflicts. A row giving an entry a phrasing another entry
        has (DuplicateSimilar) is imported, the overlap listed in the report's notes with
        the row's place (a file is taken as the shop wrote it: a row is not lost for one
        shared phrasing, a file that moves a phrasing from one row to another imports in
        any order, an export of a store holding overlaps imports again). The editors' own
        writes (add, edit) refuse it.
        """
        if on_conflict not in ON_CONFLICT:
            raise ValueError(f"on_conflict must be one of {ON_CONFLICT}")
        report = ImportReport()
        taken_from: set[str] = set()  # the other sources this file's rows took their entries from
        conflicts: list[KefuError] = []
        written: dict[str, str] = {}  # entry id -> the place of the row of this file that wrote it
        self._unnamed = {}
        try:
            with self._writing():
                # Kept up to date row by row: each write moves the marker the cached copy is kept by.
                keys = {k: list(v) for k, v in self._question_keys().items()}
                sims = {k: list(v) for k, v in self._similar_keys().items()}
                items = list(items)
                if source is not None and prune:
                    self._count_pruned_as_archived(items, source, keys, sims)
                for i, data in enumerate(items):
                    shared: list[str] = []  # this row's phrasings another entry has, noted
                    place = places[i] if places else where
                    # A failing row has written nothing (every check comes before the row's
                    # writes): the rows after it are still checked, and the file then fails
                    # as a whole, with all of them.
                    done = len(report.added), len(report.updated)
                    try:
                        previous = self._import_one(dict(data), on_conflict, author, place, source,
                                                    report, prune, keys, written, sims, shared)
                    except (DuplicateEntry, InvalidEntry) as exc:
                        exc.place = place  # for a caller that knows more of the row than its name
                        conflicts.append(exc)
                        continue
                    # "line 5" rather than "faq.csv, line 5": the row's own error names the file
                    short = place[len(where) + 2:] if where and place.startswith(f"{where}, ") else place
                    for entry_id in report.added[done[0]:] + report.updated[done[1]:]:
                        written.setdefault(entry_id, short)
                        if not data.get("id") and entry_id in report.added[done[0]:]:
                            self._unnamed[entry_id] = short if short != where else ""
                    if previous is not None:
                        taken_from.add(previous)
                    report.notes += [f"{place}: {note}" if place else note for note in shared]
                if conflicts:
                    raise conflicts[0] if len(conflicts) == 1 else ImportConflicts(conflicts)
                if source is not None and prune:
                    self._prune(source, report, author, taken_from)
                if source is not None and passages is not None:
                    report.passages = self._replace_passages(source, passages)
                elif source is not None and self.db.execute(
                        "select 1 from passages where source = ? limit 1", [source]).fetchone():
                    # A document edited into an FAQ (question headings): its passages would
                    # stay as reference text its new answers no longer say.
                    report.passages = self._replace_passages(source, [])
                if dry_run and not self._trial:
                    raise _DryRun
        except _DryRun:
            pass
        finally:
            self._unnamed = {}
        return report

    def _import_one(self, data: dict, on_conflict: str, author: str | None, where: str,
                    source: str | None, report: ImportReport, prune: bool = False,
                    keys: dict | None = None, written: dict[str, str] | None = None,
                    sims: dict | None = None, shared: list[str] | None = None) -> str | None:
        """Import one row; the other source its entry was taken over from, if any.
        `written`: entry id -> the row of this file that added or changed it earlier;
        `sims` and `shared` as `_check_phrasings` takes them: with `shared` a list (as
        import_entries passes it) a phrasing another entry has is noted, never raised."""
        existing = self.find_existing(data, keys, where)
        if existing is None:
            given = data.get("id")
            try:
                entry = self._add(data, author, "import", keys, sims, shared)
            except DuplicateQuestion as exc:  # a new id, with another entry's question
                if on_conflict == "skip":
                    report.skipped.append(given)
                    return None
                row = (written or {}).get(exc.entry_id)
                hint = ("two rows of one file cannot be two entries with one question: give them one id, "
                        "or change a question" if row else
                        f"give the row id {exc.entry_id!r} to update that entry, change its question, "
                        "or leave it with --on-conflict skip")
                raise DuplicateQuestion(exc.entry_id, data["question"], where, hint, row,
                                        new=exc.entry_id in self._unnamed) from None
            report.added.append(entry.id)
            # A new entry without an id in the file gets one only when really written.
            report.diff.append({"id": given, "action": "add", "changes": {
                k: [None, v] for k, v in entry.content().items() if v not in (None, [], "")}})
        else:
            keyed_by_id = bool(data.pop("id", None))
            entry = existing
            # Archived because its row had left the file; the row is back with a status
            # other than archived (an entry imported without one is published): the archive
            # was kefu's own doing, so the row's status is no conflict to settle when that
            # is all that changes. kefu's export and template always carry a status column.
            # Back in that file only (or one --prune declares the whole list): an export made
            # before the prune, or another file, is no word that the entry is wanted again,
            # and brought back what the shop had deleted from its sheet, no conflict said.
            # Such a row still asks for the entry published (its status, or published for a
            # row without one, as any imported row): that differs from the archive, so it is
            # a conflict, even with the same answer, and --on-conflict update brings it back.
            pruned = existing.status == "archived" and data.get("status", "published") != "archived" \
                and self._last_action(existing.id) == "prune"
            if pruned:
                data.setdefault("status", "published")
            back = pruned and (prune or source is not None and self._source_of(existing.id) == source)
            merged = {**existing.content(), **data}
            same = Entry(existing.id, **{**merged, "status": existing.status}).content_hash() \
                == existing.content_hash() if back else \
                Entry(existing.id, **merged).content_hash() == existing.content_hash()
            if same and back:
                entry = self._update(existing, {"status": data["status"]}, author, "import", keys, sims, shared)
                report.updated.append(existing.id)
                report.diff.append({"id": entry.id, "action": "update",
                                    "changes": {"status": ["archived", data["status"]]}})
            elif same:
                report.unchanged.append(existing.id)
            elif on_conflict == "error":
                hint = "use --on-conflict update or skip"
                if existing.status == "archived" and self._last_action(existing.id) == "prune":
                    hint = (f"it was archived when its row left {self._source_of(existing.id) or 'its file'}: "
                            "--on-conflict update brings it back, skip leaves it")
                raise DuplicateEntry(existing.id, where, hint, None if keyed_by_id else data["question"],
                                     existing.question)
            elif on_conflict == "skip":
                report.skipped.append(existing.id)
            else:
                before = existing.content()
                try:
                    entry = self._update(existing, data, author, "import", keys, sims, shared)
                except InvalidEntry as exc:  # the merge with stored fields (dates) can clash
                    raise InvalidEntry(exc.field, f"{exc.reason} ({where}, updating {existing.id!r})") from None
                report.updated.append(existing.id)
                report.diff.append({"id": entry.id, "action": "update", "changes": {
                    k: [before[k], v] for k, v in entry.content().items() if before[k] != v}})
                report.notes += _split_tag_notes(before["tags"], entry.tags, entry.id, where)
        if source is None:
            return None
        row = self.db.execute("select source from entry_sources where entry_id = ?", [entry.id]).fetchone()
        if row is None:
            self.db.execute("insert into entry_sources (entry_id, source) values (?, ?)", [entry.id, source])
            return None
        # Without --prune an unchanged row does not take the entry over: importing an
        # export (or a copy) must not stop `--prune` of the file the entry really comes
        # from. With --prune the file is declared the whole list of its entries, so its
        # rows become its own (a re-downloaded `faq (1).csv` is pruned from then on).
        if row[0] == source or (entry is existing and not prune):
            return None
        self.db.execute("update entry_sources set source = ? where entry_id = ?", [source, entry.id])
        return row[0]

    def _count_pruned_as_archived(self, items: list[dict], source: str, keys: dict, sims: dict) -> None:
        """Mark in the import's `keys` and `sims` the entries this run will prune (the
        source's live entries no row finds) as archived already: a file renaming a question
        and keeping its similar question would otherwise be refused, the phrasing held by
        the very entry the run archives at its end."""
        found = set()
        for data in items:
            try:
                entry = self.find_existing(data, keys)
            except DuplicateQuestion:
                continue  # the row fails on it again in its turn
            if entry is not None:
                found.add(entry.id)
        doomed = set(self._live_entries_of(source)) - found
        if not doomed:
            return
        for table in (keys, sims):
            for key, held in table.items():
                table[key] = [(f[0], f[1], "archived", *f[3:]) if f[0] in doomed else f for f in held]

    def _source_of(self, entry_id: str) -> str | None:
        """The file the entry's rows come from (`entry_sources`), None if none."""
        row = self.db.execute("select source from entry_sources where entry_id = ?", [entry_id]).fetchone()
        return row[0] if row else None

    def _last_action(self, entry_id: str) -> str | None:
        row = self.db.execute("select action from history where entry_id = ? order by version desc limit 1",
                              [entry_id]).fetchone()
        return row[0] if row else None

    def _prune(self, source: str, report: ImportReport, author: str | None,
               taken_from: set[str] = frozenset()) -> None:
        seen = set(report.added + report.updated + report.unchanged + report.skipped)
        for entry_id in self._live_entries_of(source):
            if entry_id not in seen:
                entry = self.get(entry_id)
                self._update(entry, {"status": "archived"}, author, "prune")
                report.pruned.append(entry_id)
                report.diff.append({"id": entry_id, "action": "prune", "changes": {"status": [entry.status, "archived"]}})
        # This file's rows came from another file (an earlier name or copy of it): what
        # that file still holds and this one lacks may be gone too, but only this file's
        # own entries are pruned. Say so rather than archive nothing silently.
        for other in sorted(taken_from):
            left = self._live_entries_of(other)
            if left:
                shown = ", ".join(left[:5]) + (", …" if len(left) > 5 else "")
                report.notes.append(
                    f"not pruned: {len(left)} entr{'y' if len(left) == 1 else 'ies'} of {other} "
                    f"({shown}) not in this file; rows of this file came from that file and are "
                    "this file's from now on (archive the others with `kefu archive` if they are gone)")

    def _live_entries_of(self, source: str) -> list[str]:
        """Ids of the source's entries that are not archived."""
        return [r[0] for r in self.db.execute(
            "select e.id from entry_sources s join entries e on e.id = s.entry_id"
            " where s.source = ? and e.status != 'archived' order by e.id", [source])]

    # -- document passages ---------------------------------------------------
    def _replace_passages(self, source: str, passages: list) -> dict[str, int]:
        """Make the source's stored passages exactly `passages`; unchanged ones are not rewritten."""
        old = {pos: h for pos, h in self.db.execute(
            "select position, content_hash from passages where source = ?", [source])}
        counts = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
        now = _now()
        for p in passages:
            h = text_hash(f"{p.section}\0{p.page}\0{p.text}")
            if old.get(p.position) == h:
                counts["unchanged"] += 1
                continue
            counts["updated" if p.position in old else "added"] += 1
            self.db.execute(
                "insert or replace into passages (id, source, position, section, page, text,"
                " content_hash, imported_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [passage_id(source, p.position), source, p.position, p.section, p.page, p.text, h, now])
        keep = {p.position for p in passages}
        for pos in sorted(set(old) - keep):
            self.db.execute("delete from passages where source = ? and position = ?", [source, pos])
            counts["removed"] += 1
        return counts

    def passages(self, ids: Iterable[str] | None = None) -> list[dict]:
        """Stored passages (all, or those with the given ids) in source order."""
        sql = "select id, source, position, section, page, text from passages"
        args: list = []
        if ids is not None:
            ids = list(ids)
            if not ids:
                return []
            sql += f" where id in ({','.join('?' * len(ids))})"
            args = ids
        cols = ("id", "source", "position", "section", "page", "text")
        return [dict(zip(cols, r)) for r in self.db.execute(sql + " order by source, position", args)]

    def passage_sources(self) -> list[PassageSource]:
        """Every document that has passages, by source."""
        rows = self.db.execute("select source, count(*), max(imported_at) from passages"
                               " group by source order by source")
        return [PassageSource(src, _suffix(src), n, at) for src, n, at in rows]

    def remove_passages(self, sources: Iterable[str], author: str | None = None) -> dict[str, int]:
        """Delete every passage of the `sources` (source -> how many), and record who did it.
        All of them or, when one has no passages (SourceNotFound naming every such one), none."""
        sources = list(dict.fromkeys(sources))
        removed: dict[str, int] = {}
        with self._writing():
            for source in sources:
                removed[source] = self.db.execute("delete from passages where source = ?", [source]).rowcount
            if unknown := [s for s, n in removed.items() if not n]:
                raise SourceNotFound(unknown)  # rolls back the deletes before it
            now = _now()
            self.db.conn.executemany(
                "insert into passage_removals (source, passages, author, at) values (?, ?, ?, ?)",
                [(s, n, author, now) for s, n in removed.items()])
        return removed

    def _passages_hash(self) -> str:
        h = hashlib.sha256(f"s\0{SEGMENTATION}\n".encode())
        for row in self.db.execute("select id, content_hash from passages order by id"):
            h.update(f"{row[0]}\0{row[1]}\n".encode())
        for (word,) in self.db.execute("select word from terms order by word"):
            h.update(f"t\0{word}\n".encode())
        return h.hexdigest()[:16]

    def find_existing(self, data: dict, keys: dict | None = None, where: str = "") -> Entry | None:
        """The stored entry a row would update: same id, or (with no id) same standard
        question, compared normalised (`question_key`): a live (published or draft) entry
        first; DuplicateQuestion if two live entries have it. `keys`: `_question_keys()`."""
        if data.get("id"):
            try:
                return self.get(data["id"])
            except EntryNotFound:
                return None
        found = (self._question_keys() if keys is None else keys).get(question_key(data["question"]), [])
        live = [f for f in found if f[2] != "archived"]
        if len(live) > 1:  # made before kefu refused them: say which, rather than pick one
            raise DuplicateQuestion(live[1][0], data["question"], where,
                                    f"and of entry {live[0][0]!r}: give the row the id of the one it is for")
        exact = [f for f in found if f[1] == data["question"]]
        pick = (live or exact or found or [None])[0]
        return None if pick is None else self.get(pick[0])

    def _question_keys(self) -> dict[str, list[tuple[str, str, str]]]:
        """question_key -> [(id, question, status)] of every entry, oldest first; cached
        against the entries' change marker (do not change the lists: copy them)."""
        def build() -> dict:
            keys: dict[str, list] = {}
            for id_, question, status in self.db.execute("select id, question, status from entries order by rowid"):
                keys.setdefault(question_key(question), []).append((id_, question, status))
            return keys
        return self._cached("question_keys", build, self.changes()["entries"])

    def _similar_keys(self) -> dict[str, list[tuple[str, str, str, str]]]:
        """question_key -> [(id, similar question, status, standard question)] of every
        entry's similar questions, oldest entry first; cached as `_question_keys()` is."""
        def build() -> dict:
            keys: dict[str, list] = {}
            for id_, question, similar, status in self.db.execute(
                    "select id, question, similar, status from entries order by rowid"):
                for text in json.loads(similar or "[]"):
                    keys.setdefault(question_key(text), []).append((id_, text, status, question))
            return keys
        return self._cached("similar_keys", build, self.changes()["entries"])

    def _check_phrasings(self, entry: Entry, before: Entry | None, keys: dict | None, sims: dict | None,
                         shared: list[str] | None = None, label: str = "") -> None:
        """DuplicateSimilar if a phrasing the entry newly has is another live entry's: a
        similar question that is its standard or a similar question, or a standard question
        that is its similar question (DuplicateQuestion tells two standard questions apart).
        Only what `before` (the entry as stored, when live) did not have is checked: an
        overlap stored before kefu refused them does not block editing the answer. With
        `shared` (a list), each overlap is noted there and kept instead (the shipped sample),
        naming the entry by `label` when given (a new entry whose id is made as it is written)."""
        if entry.status == "archived":
            return
        held = set() if before is None or before.status == "archived" else \
            {question_key(p) for p in before.phrasings}
        new = [(text, key) for text in entry.similar if (key := question_key(text)) not in held]
        asked = question_key(entry.question) not in held
        if not new and not asked:  # an answer edit, an archive: no map is read (or rebuilt)
            return
        keys = self._question_keys() if keys is None else keys
        sims = self._similar_keys() if sims is None else sims
        found = []
        for text, key in new:
            found += [DuplicateSimilar("similar", text, id_, question, "question")
                      for id_, question, status in keys.get(key, []) if id_ != entry.id and status != "archived"]
            found += [DuplicateSimilar("similar", text, id_, question, "similar")
                      for id_, _, status, question in sims.get(key, []) if id_ != entry.id and status != "archived"]
        if asked:
            found += [DuplicateSimilar("question", entry.question, id_, question, "similar")
                      for id_, _, status, question in sims.get(question_key(entry.question), [])
                      if id_ != entry.id and status != "archived"]
        # The state of an entry holding the phrasing when it is not suggested, as for a
        # question; one an earlier row without an id made in this import by that row.
        found = [DuplicateSimilar(e.field, e.text, e.entry_id, e.other_question, e.taken_as,
                                  row=self._unnamed.get(e.entry_id) or None, new=e.entry_id in self._unnamed,
                                  **_unsuggested(self.get(e.entry_id))) for e in found]
        if found and shared is None:
            raise found[0]
        if shared is not None:
            shared += [f"{label or f'entry {entry.id!r}'}: {exc.reason}" for exc in found]

    def _check_question(self, entry: Entry, keys: dict | None) -> None:
        """DuplicateQuestion if a live entry other than `entry` has its standard question."""
        if entry.status == "archived":
            return
        for id_, _, status in (self._question_keys() if keys is None else keys).get(question_key(entry.question), []):
            if id_ != entry.id and status != "archived":
                raise DuplicateQuestion(id_, entry.question, **_unsuggested(self.get(id_)))

    @staticmethod
    def _rekey(keys: dict | None, before: Entry | None, after: Entry, sims: dict | None = None) -> None:
        """Bring an import's copies of `_question_keys()` and `_similar_keys()` up to date after a write."""
        if keys is not None:
            if before is not None:
                old = keys.get(question_key(before.question), [])
                old[:] = [f for f in old if f[0] != before.id]
            keys.setdefault(question_key(after.question), []).append((after.id, after.question, after.status))
        if sims is not None:
            for text in before.similar if before is not None else []:
                old = sims.get(question_key(text), [])
                old[:] = [f for f in old if f[0] != before.id]
            for text in after.similar:
                sims.setdefault(question_key(text), []).append((after.id, text, after.status, after.question))

    def _add(self, data: dict, author: str | None, action: str, keys: dict | None = None,
             sims: dict | None = None, shared: list[str] | None = None) -> Entry:
        for name in ("question", "answer"):
            if not data.get(name):
                raise InvalidEntry(name, "is required")
        given = data.pop("id", None)
        entry_id = given or "k" + uuid.uuid4().hex[:8]
        if taken := self.db.execute("select question from entries where id = ?", [entry_id]).fetchone():
            raise DuplicateEntry(entry_id, stored_question=taken[0])
        now = _now()
        entry = Entry(id=entry_id, created_at=now, updated_at=now, author=author, version=1, **data)
        self._check_question(entry, keys)
        # A row without an id is named by its question: the id made here is not the one a
        # dry run's preview, or the real run after it, makes.
        self._check_phrasings(entry, None, keys, sims, shared, "" if given else f"new entry {entry.question!r}")
        self._write(entry, insert=True)
        self._record(entry, None, action, author, now)
        self._rekey(keys, None, entry, sims)
        return entry

    def _update(self, entry: Entry, changes: dict, author: str | None, action: str,
                keys: dict | None = None, sims: dict | None = None, shared: list[str] | None = None) -> Entry:
        before = entry.content()
        after = {**before, **{k: v for k, v in changes.items() if k in EDITABLE}}
        if "question" in changes or "similar" in changes:  # a new question may be a similar one
            after["similar"] = distinct_similar(after["question"], after["similar"])
        # The merge with stored bounds: those may be in an older kefu's form, which is read, not re-validated.
        check_window(after["valid_from"], after["valid_to"])
        if after == before:
            return entry
        now = _now()
        new = Entry(id=entry.id, created_at=entry.created_at, updated_at=now, author=author,
                    version=entry.version + 1, **after)
        # As for a new entry: an entry coming back to life (archived before) may not take a
        # live entry's question either, unchanged as its own question is.
        if question_key(new.question) != question_key(entry.question) or entry.status == "archived":
            self._check_question(new, keys)
        self._check_phrasings(new, entry, keys, sims, shared)
        self._write(new, insert=False)
        self._record(new, before, action, author, now)
        self._rekey(keys, entry, new, sims)
        return new

    def _write(self, e: Entry, insert: bool) -> None:
        values = {
            "id": e.id, "question": e.question, "similar": _dumps(e.similar), "answer": e.answer,
            "category": e.category, "tags": _dumps(e.tags), "status": e.status,
            "valid_from": e.valid_from, "valid_to": e.valid_to, "created_at": e.created_at,
            "updated_at": e.updated_at, "author": e.author, "version": e.version,
            "content_hash": e.content_hash(),
        }
        cols = ", ".join(values)
        if insert:
            marks = ", ".join("?" * len(values))
            self.db.execute(f"insert into entries ({cols}) values ({marks})", list(values.values()))
        else:
            sets = ", ".join(f"{k} = ?" for k in values if k != "id")
            args = [v for k, v in values.items() if k != "id"] + [e.id]
            self.db.execute(f"update entries set {sets} where id = ?", args)

    def _record(self, e: Entry, before: dict | None, action: str, author: str | None, at: str) -> None:
        self.db.execute(
            "insert into history (entry_id, version, action, author, at, before, after)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            [e.id, e.version, action, author, at,
             _dumps(before) if before is not None else None, _dumps(e.content())])

    # -- shop terms (jieba user dictionary) -------------------------------
    def terms(self) -> list[str]:
        return [r[0] for r in self.db.execute("select word from terms order by word")]

    def term_rows(self) -> list[dict]:
        """The terms with who added them and when, as the console lists them."""
        return [{"word": w, "added_at": at, "author": by}
                for w, at, by in self.db.execute("select word, added_at, author from terms order by word")]

    def add_terms(self, words: Iterable[str], author: str | None = None) -> AddedTerms:
        """Store the terms normalised (`normalize_term`): all of them, or on the first bad
        one (InvalidTerm naming it) none. A term already there is reported, not added."""
        checked = []
        for word in words:
            try:
                checked.append((word, normalize_term(word)))
            except ValueError as exc:
                raise InvalidTerm(word, str(exc)) from None
        result = AddedTerms()
        with self._writing():
            for typed, word in checked:
                cur = self.db.execute("insert or ignore into terms (word, added_at, author)"
                                      " values (?, ?, ?)", [word, _now(), author])
                if cur.rowcount:
                    result.added.append(word)
                else:
                    result.existing[typed.strip()] = word
        return result

    def unknown_terms(self, words: Iterable[str]) -> list[str]:
        """The words (as typed) that are no stored term however spelled."""
        stored = set(self.terms())
        return [w for w in words if normalize(w).text not in stored]

    def remove_terms(self, words: Iterable[str]) -> int:
        """Remove terms however they are spelled (運費險 removes 运费险); how many were there.
        InvalidTerm for an empty one, as when adding: none is removed."""
        words = list(words)
        if blank := next((w for w in words if not w.strip()), None):
            raise InvalidTerm(blank, "is empty")
        keys = {normalize(w).text for w in words}
        with self._writing():
            return sum(self.db.execute("delete from terms where word = ?", [w]).rowcount for w in sorted(keys))

    # -- embedding cache ----------------------------------------------------
    def cached_vectors(self, model: str, hashes: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for h, blob in self.db.execute(
                    f"select hash, vector from embeddings where model = ? and hash in ({marks})",
                    [model, *chunk]):
                out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def cached_hashes(self, model: str, hashes: list[str]) -> set[str]:
        """Which of `hashes` have a cached vector (without reading the vectors)."""
        out: set[str] = set()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(h for (h,) in self.db.execute(
                f"select hash from embeddings where model = ? and hash in ({marks})", [model, *chunk]))
        return out

    def save_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._writing():
            self.db.conn.executemany(
                "insert or replace into embeddings (model, hash, vector) values (?, ?, ?)",
                [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()])

    def mark_message_vectors(self, model: str, last_at: dict[str, str]) -> None:
        """Record that the vectors of these hashes are customer messages', each with when the
        newest message of its text was logged: retention deletes them with the messages
        (`FeedbackLog.purge`)."""
        with self._writing():
            self.db.conn.executemany(
                "insert into message_vectors (model, hash, last_at) values (?, ?, ?) on conflict (model, hash)"
                " do update set last_at = max(last_at, excluded.last_at)",
                [(model, h, at) for h, at in last_at.items()])

    # -- mined gaps ---------------------------------------------------------
    def mined(self, key: str) -> object | None:
        """What `keep_mined` kept under `key` (JSON-able), or None."""
        row = self.db.execute("select value from mined where key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def keep_mined(self, key: str, value: object, keep: int = MINED_KEPT, generation: str | None = None) -> None:
        """Keep a result derived from the log under `key` (which names all it was derived
        from, `log_generation` included), with the newest `keep` others; nothing on a store
        this user cannot write. The feedback log's purge deletes them all with the messages
        they quote. `generation`: the `log_generation` read before the work; nothing is kept
        when a purge (or restore) has moved it since: the value may quote what it deleted."""
        if self.read_only:
            return
        with self._writing():
            if generation is not None and log_generation(self.db) != generation:
                return
            self.db.execute("insert or replace into mined (key, value, at) values (?, ?, ?)",
                            [key, json.dumps(value, ensure_ascii=False), _now()])
            self.db.execute("delete from mined where key not in"
                            " (select key from mined order by at desc, rowid desc limit ?)", [keep])

    def day_counts(self, keys: list[str]) -> dict[str, tuple[list[int], object]]:
        """What `keep_day_counts` kept under `keys`: key -> (the log's highest ids when it
        was counted: suggestions' rowid, feedback's and learning events' id; the value)."""
        out = {}
        for i in range(0, len(keys), 500):  # SQLite's limit on parameters
            chunk = keys[i:i + 500]
            for key, *marks, value in self.db.execute(
                    "select key, mark_suggestions, mark_feedback, mark_events, value from day_counts"
                    f" where key in ({', '.join('?' * len(chunk))})", chunk):
                out[key] = (marks, json.loads(value))
        return out

    def keep_day_counts(self, rows: list[tuple], shape: str, generation: str) -> None:
        """Keep the statistics' counts of closed days (suggest/stats.py): rows of (key, low,
        high, [the log's highest ids], the value, the oldest suggestion time its no-match
        reports looked up or None, the ids kept with the day when it was read or None when
        none was; a value of None: the day kept is found unchanged with these ids, which are
        kept with it), all counted as `shape` (those of another are dropped), unless a purge
        or restore moved `generation` (`log_generation`, read before counting) since: they
        may count what it deleted. Retention's purge deletes the days it changes
        (`FeedbackLog._delete_expired`).
        A day is written only where it is still kept as it was read (with the ids read, or
        not at all): another load may have kept it since, counted with a row this one missed
        (a day counted by a slow load replaced a newer count, and a load that had found that
        newer one unchanged then marked the older one with ids past the row it lacked)."""
        if self.read_only:
            return
        with self._writing():
            if log_generation(self.db) != generation:
                return
            self.db.execute("delete from day_counts where shape != ?", [shape])
            now_kept = {key: marks for key, (marks, _) in self.day_counts([row[0] for row in rows]).items()}
            rows = [row for row in rows if now_kept.get(row[0]) == row[6]]
            now = _now()
            self.db.conn.executemany(
                "insert or replace into day_counts (key, low, high, mark_suggestions, mark_feedback, mark_events,"
                " reported_from, shape, value, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(key, low, high, *marks, reported_from, shape, json.dumps(value, ensure_ascii=False), now)
                 for key, low, high, marks, value, reported_from, _ in rows if value is not None])
            self.db.conn.executemany(
                "update day_counts set mark_suggestions = ?, mark_feedback = ?, mark_events = ?, at = ? where key = ?",
                [(*marks, now, key) for key, _, _, marks, value, _, _ in rows if value is None])
            self.db.execute("delete from day_counts where key not in"
                            " (select key from day_counts order by at desc, rowid desc limit ?)", [DAY_COUNTS_KEPT])

    # -- rows ----------------------------------------------------------------
    @staticmethod
    def _entry(row) -> Entry:
        (id_, question, similar, answer, category, tags, status, valid_from, valid_to,
         created_at, updated_at, author, version, _hash) = row
        return Entry(id=id_, question=question, answer=answer, similar=json.loads(similar or "[]"),
                     category=category, tags=json.loads(tags or "[]"), status=status,
                     valid_from=valid_from, valid_to=valid_to, created_at=created_at,
                     updated_at=updated_at, author=author, version=version)


def _published_digest(rows: list[tuple[str, str]], terms: list[str], learned: str) -> str:
    """The published hash of (id, content hash) rows in id order, the shop terms and the
    learned phrasings' hash (and how texts are cut into words: text.SEGMENTATION)."""
    h = hashlib.sha256(f"s\0{SEGMENTATION}\n".encode())
    for entry_id, digest in rows:
        h.update(f"{entry_id}\0{digest}\n".encode())
    for word in terms:
        h.update(f"t\0{word}\n".encode())
    h.update(learned.encode())
    return h.hexdigest()[:16]


def _unsuggested(entry: Entry) -> dict:
    """DuplicateQuestion's (and DuplicateSimilar's) `state` and `bound` for an entry that holds a question but is
    not suggested (expired, not valid yet, dates unreadable, a draft); {} for one that is."""
    state = window_state(entry.valid_from, entry.valid_to)
    bound = {"expired": entry.valid_to, "not_yet": entry.valid_from,
             "unreadable": f"{entry.valid_from or '…'} ~ {entry.valid_to or '…'}"}.get(state or "")
    if bound:
        return {"state": state, "bound": bound}
    return {"state": "draft"} if entry.status == "draft" else {}


def _suffix(source: str) -> str:
    """A source's file type: the extension of its name, lower case, without the dot."""
    return Path(source).suffix.lstrip(".").lower()


def _simplified(value: str | None) -> str | None:
    """Text as the list filters compare it, as search does: simplified script and half-width
    (ＶＩＰ, ７－１１ typed with a Chinese input method find VIP, 7-11; LIKE ignores ASCII case)."""
    return None if value is None else to_simplified(value.translate(HALF_WIDTH))


def _category_key(value: str | None) -> str | None:
    return None if value is None else category_key(value)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loads(value):
    return json.loads(value) if value else None


def read_only_uri(path: str | Path) -> str | None:
    """A URI that opens the store at `path` read-only, when this user cannot write the file
    or its folder; None when it can. SQLite cannot read a store in WAL mode read-only when
    it would have to create the shared-memory file beside it ("attempt to write a readonly
    database"): with a write-ahead log there (a process has the store open) its files are
    read as they are; without one, nothing holds unsaved transactions, and the file is
    read as immutable. A log without its shared-memory file (a copy of a store in use
    that left the -shm out, a removed -shm) holds committed transactions that an immutable
    read leaves out, silently: an older content shown, and backed up, as the store's.
    KefuError then, naming the log."""
    path = Path(path).resolve()
    if not path.exists() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    log, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if log.exists() and not shm.exists() and log.stat().st_size > 0:
        raise KefuError(f"{log} holds changes not yet in {path.name}, and reading them needs {shm.name} made "
                        f"beside it, which this user cannot do: run kefu as a user who can write {path.parent}, "
                        "or copy the folder where you can")
    return path.as_uri() + ("?mode=ro" if log.exists() and shm.exists() else "?immutable=1")


def _cannot_write(exc: Exception) -> bool:
    return isinstance(exc, PermissionError) or any(
        w in str(exc) for w in ("readonly", "read-only", "unable to open"))


def full_disk_note(folder: str | Path) -> str:
    """"; the disk holding FOLDER is full (N bytes free)" when less than 1 MiB is free there,
    else "": on a full disk SQLite cannot make the store's -shm file and says only `disk
    I/O error`, which reads as a failing disk."""
    import shutil

    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f"; the disk holding {folder} is full ({free} bytes free)" if free < 1 << 20 else ""


def backup(db_path: str | Path, dest: str | Path, started: Callable[[], None] | None = None,
           progress: Callable[[int, int], None] | None = None) -> None:
    """Copy a live store with SQLite's online backup API (safe while others use it);
    KefuError naming the side that failed: the store when it cannot be read, `dest` when
    it cannot be written there.

    The copy is written beside `dest` under a temporary name and renamed to it once
    complete: a backup killed half-way is never a file at `dest` that looks like one (and
    restores badly), and `dest` may be any file that is to be overwritten, SQLite or not.
    `started` is called once both sides are found usable, before the copy; `progress`
    with the bytes copied and the bytes to copy after each step of it."""
    db_path, dest = Path(db_path), Path(dest)
    check_backup_target(db_path, dest)
    # A folder this user cannot write is backed up all the same (an admin backing up the
    # server user's folder, a read-only snapshot).
    uri = read_only_uri(db_path)
    src = sqlite3.connect(uri, uri=True) if uri else sqlite3.connect(str(db_path))
    try:
        try:
            src.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise KefuError(f"cannot read the store {db_path}: {exc}{full_disk_note(db_path.parent)}") from None
        folder = dest.parent
        if not folder.is_dir():
            raise KefuError(f"cannot write the backup {dest}: folder {folder} does not exist")
        partial = dest.with_name(f".{dest.name}.partial")
        with _partial_of_one_backup(partial, dest):
            try:
                if started:  # within: a backup stopped as it announces itself leaves no partial file
                    started()
                dst = sqlite3.connect(str(partial))
                try:
                    # In steps, within one read transaction: a step that began its own would see
                    # each write the panel made meanwhile and start the copy over, which a busy
                    # shop's panel never lets finish. The transaction's snapshot is what is copied.
                    src.execute("begin")
                    src.execute("select count(*) from sqlite_master").fetchone()
                    page = src.execute("pragma page_size").fetchone()[0]
                    # Python calls it after failed steps too (with SQLite's counts still 0, or as
                    # they were): only a step that copied is reported.
                    src.backup(dst, pages=BACKUP_STEP_PAGES, progress=None if progress is None else
                               lambda status, left, total: status in (sqlite3.SQLITE_OK, sqlite3.SQLITE_DONE)
                               and total and progress((total - left) * page, total * page))
                finally:
                    dst.close()
                os.replace(partial, dest)
            except sqlite3.Error as exc:
                raise KefuError(f"cannot write the backup {dest}: {exc}") from None
            finally:
                _remove_with_log(partial)
    finally:
        src.close()


@contextmanager
def _partial_of_one_backup(partial: Path, dest: Path) -> Iterator[None]:
    """The block holds `partial`, the copy a backup to `dest` is made in, under an flock: a
    second backup to `dest` meanwhile is refused rather than deleting the copy and writing
    its own there, which the first then moved to `dest` half made. What a killed backup left
    there is emptied, not deleted: a new file at the name would be one no lock is held on."""
    import fcntl

    try:
        fd = os.open(partial, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise KefuError(f"cannot write the backup {dest}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KefuError(f"another backup to {dest} is being made now: let it finish, or back up "
                            "to another file") from None
        os.ftruncate(fd, 0)
        for suffix in SIDE_FILES:  # a killed backup's journal would be played back into the new copy
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)


def check_backup_target(db_path: str | Path, dest: str | Path) -> None:
    """KefuError when `dest` is the store at `db_path` or one of the files SQLite keeps
    beside it (-wal, -shm, -journal: there now or not), which a backup must not replace:
    SQLite deletes or rewrites them under the store's connections, and with them the
    store's last transactions (a running `kefu serve` reads them)."""
    given, db_path, dest = dest, Path(db_path).resolve(), Path(dest).resolve()
    if dest == db_path or (dest.exists() and db_path.exists() and os.path.samefile(dest, db_path)):
        raise KefuError(f"{given} is the store itself: give the backup another name")
    if dest in {db_path.with_name(db_path.name + suffix) for suffix in SIDE_FILES}:
        raise KefuError(f"{given} is a file SQLite keeps beside the store ({db_path.name}): give the "
                        "backup another name")


def restore(backup_path: str | Path, db_path: str | Path, critical: Callable[[], object] = lambda: None) -> Path | None:
    """Replace the store's content with a backup, through the same online backup API;
    when the store's file itself was replaced instead (see below), where the damaged file
    was moved to (`kefu.db.damaged-TIME`: what may be saved of it is not lost).
    The backup is first copied beside the store and brought to the current schema there;
    a file that is not a kefu store fails that step, and the live store is not touched.
    StoreTooNew, and nothing touched, when a newer kefu wrote the store (this kefu cannot
    say which of its edits the backup would take back) or the backup.

    The backup's file is copied as it is, with its write-ahead log when one lies beside
    it (a copy of a store in use): SQLite opening the backup itself, even read-only,
    leaves FILE-wal and FILE-shm beside the user's file, and opening it as immutable
    would ignore that log's transactions.
    `critical` is called once the backup was checked, just before the store is touched:
    what it starts (the CLI ignoring Ctrl-C) lasts until its caller ends it, as what comes
    after the swap (the purge, the report) must not be cut short either."""
    # A newer kefu's store, as every command refuses it: this kefu cannot read it to say
    # which edits the backup takes back, and what that kefu stored would be gone unseen.
    if too_new := read_state(db_path, lambda con: migrations.unknown(sqlite_utils.Database(con))):
        raise StoreTooNew(str(db_path), too_new, f", or to go back to this backup with this kefu, move {db_path} "
                                                 "and its -wal and -shm files aside first; the store was not changed")
    check = Path(db_path).with_name(".restore-check.db")
    _remove_with_log(check)
    try:
        _copy_for_check(backup_path, check)
        if os.path.isfile(f"{backup_path}-wal"):
            _copy_for_check(f"{backup_path}-wal", Path(f"{check}-wal"))
        copy = sqlite3.connect(str(check))
        try:
            try:
                # Only a kefu store has these before migrating: the migrations would create
                # them in any SQLite file (or an empty one), which would then restore as an
                # empty store over the real one.
                have = {r[0] for r in copy.execute("select name from sqlite_master where type = 'table'")}
                if missing := {"_migrations", "entries", "history"} - have:
                    raise KefuError(f"{backup_path} is not a kefu backup (no {', '.join(sorted(missing))} "
                                    "table); the store was not changed")
                # A newer kefu's backup has columns this one would misread: refused.
                if too_new := migrations.unknown(sqlite_utils.Database(copy)):
                    raise StoreTooNew(str(backup_path), too_new, "; the store was not changed")
                # A backup made by an older kefu gets the newer tables (running processes
                # read them on every request).
                migrations.apply(sqlite_utils.Database(copy))
                # A load counting the store replaced keeps its result afterwards: under the
                # replaced store's generation, so never read back (the log's marker may match).
                new_log_generation(copy)
                copy.commit()
                copy.execute("select id, question, similar, answer, category, status from entries limit 1").fetchall()
                copy.execute("select entry_id, version from history limit 1").fetchall()
                # A damaged backup copies page by page without complaint: check every page.
                problems = [r[0] for r in copy.execute("pragma integrity_check(5)")]
                if problems != ["ok"]:
                    raise KefuError(f"{backup_path} is damaged ({'; '.join(problems)}); the store was not changed")
            except sqlite3.Error as exc:
                raise KefuError(f"{backup_path} is not a kefu backup ({exc}); the store was not changed") from None
            if _damaged(db_path):
                # The store itself is unreadable (what sent the user here): SQLite cannot copy
                # into it, so the checked copy replaces the file. A process that has the
                # store open (kefu serve) keeps reading the old, damaged file until it is
                # restarted: writing the new content into the file it has open, under its
                # connections and their shared memory, is what SQLite says corrupts a store.
                copy.close()
                critical()
                aside = _set_aside(Path(db_path))
                os.replace(check, db_path)
                return aside
            dst = sqlite3.connect(str(db_path), timeout=30)
            try:
                # SQLite cannot copy into a store in WAL mode from a file of another page
                # size ("attempt to write a readonly database"): the scratch copy takes the
                # store's first.
                size = dst.execute("pragma page_size").fetchone()[0]
                if copy.execute("pragma page_size").fetchone()[0] != size:
                    copy.execute("pragma journal_mode=delete")
                    copy.execute(f"pragma page_size={int(size)}")
                    copy.execute("vacuum")
                critical()
                copy.backup(dst)
            finally:
                dst.close()
            return None
        finally:
            copy.close()
    finally:
        _remove_with_log(check)
        Path(f"{check}-migrate.lock").unlink(missing_ok=True)  # left by migrating an older backup


def log_generation(db) -> str:
    """Moves with every purge that deletes log rows (`FeedbackLog._delete_expired`) and every
    restore, in their own transaction: a part of every key results derived from the log are
    kept under (`Store.keep_mined`), read before the work. Purging the oldest rows mostly
    leaves the log's marker (its highest ids) as it was, so a result counted or mined while
    a purge committed would otherwise be stored after it under a key that still matches."""
    row = db.execute("select value from settings where key = 'log.generation'").fetchone()
    return row[0] if row else ""


def new_log_generation(db) -> None:
    """Move `log_generation` (inside the caller's transaction)."""
    db.execute("insert into settings (key, value) values ('log.generation', lower(hex(randomblob(8))))"
               " on conflict(key) do update set value = excluded.value")


@dataclass
class RestoredEntries:
    """What a restore did to the entries, against the store it replaced: their content and
    history are the backup's, so versions saved since are gone from both."""
    reverted: list[str]  # changed since the backup: back to the backup's (lower) version
    # At a version the backup's history holds with the same content (the store replaced was
    # itself restored from an older backup): forward to the backup's later version.
    advanced: list[str]
    # At a version number the backup's history holds with other content, or not at all
    # (edited after a restore of an older backup): the backup's content, those edits gone.
    other_content: list[str]
    removed: list[str]  # added since the backup: gone
    restored: list[str]  # not in the store replaced (itself restored from another backup): back

    def any(self) -> bool:
        return bool(self.reverted or self.advanced or self.other_content or self.removed or self.restored)


def read_state(db_path: str | Path, read: Callable[[sqlite3.Connection], T]) -> T | None:
    """What `read` gets from the store file at `db_path`, opened read-only; None when it
    cannot be read (missing, damaged): a restore's before and after, compared to say what
    it changed. Without a write-ahead log beside it, nothing holds unsaved transactions and
    the file is read as immutable (as `read_only_uri` does): a read-only connection to a WAL
    store would leave a -wal and a -shm beside it, which it cannot remove when it closes."""
    path = Path(db_path)
    if not path.exists():
        return None
    side = any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    con = sqlite3.connect(path.resolve().as_uri() + ("?mode=ro" if side else "?immutable=1"), uri=True, timeout=30)
    try:
        return read(con)
    except sqlite3.Error:
        return None
    finally:
        con.close()


def entry_state(db_path: str | Path) -> dict[str, tuple[int, str]] | None:
    """Each entry's version and content hash in the store file at `db_path` (`read_state`)."""
    return read_state(db_path, lambda con: {r[0]: (r[1], r[2]) for r in
                                            con.execute("select id, version, content_hash from entries")})


def history_state(db_path: str | Path, versions: dict[str, tuple[int, str]]) -> dict[str, str] | None:
    """The content hash the history of the store file at `db_path` holds for each entry's
    version in `versions` (an `entry_state`), by entry id; an entry whose history lacks that
    version is left out (`read_state`)."""
    def read(con: sqlite3.Connection) -> dict[str, str]:
        found = {}
        for entry_id, (version, _) in versions.items():
            row = con.execute("select after from history where entry_id = ? and version = ?",
                              [entry_id, version]).fetchone()
            if row is not None and row[0] is not None:
                found[entry_id] = content_hash(json.loads(row[0]))
        return found
    return read_state(db_path, read)


def restored_entries(before: dict, after: dict, after_history: dict[str, str]) -> RestoredEntries:
    """What changed from `before` to `after` (two `entry_state`s): an entry changed went
    back by its version number, or forward when the history `after` holds its version with
    its content (`history_state` of `before`); otherwise it was edited since with other
    content. After a restore of an older backup a version number comes again, lower than
    the newer backup's, with content the newer backup never had: that is no step forward."""
    changed = [i for i in before.keys() & after.keys() if before[i] != after[i]]
    back = {i for i in changed if after[i][0] < before[i][0]}
    forward = {i for i in changed if after[i][0] > before[i][0] and after_history.get(i) == before[i][1]}
    return RestoredEntries(reverted=sorted(back),
                           advanced=sorted(forward),
                           other_content=sorted(set(changed) - back - forward),
                           removed=sorted(before.keys() - after.keys()),
                           restored=sorted(after.keys() - before.keys()))


def _copy_for_check(src: str | Path, dst: Path) -> None:
    """Copy a backup file to the scratch file `dst` beside the store; KefuError naming the
    side that failed. The system's own error names the backup either way (a full disk in
    the data folder read "No space left on device: BACKUP"), so a failed write is told as
    the data folder's."""
    reading = True
    try:
        with open(src, "rb") as fin:
            reading = False
            with open(dst, "wb") as fout:
                while True:
                    reading = True
                    chunk = fin.read(1 << 20)
                    if not chunk:
                        break
                    reading = False
                    fout.write(chunk)
                reading = False  # closing flushes the last bytes
    except OSError as exc:
        why = exc.strerror or str(exc)
        if reading:
            raise KefuError(f"cannot read the backup {src}: {why}; the store was not changed") from None
        raise KefuError(f"cannot write to the data folder {dst.parent}: {why} (a restore copies the backup "
                        f"there as {dst.name} to check it first); the store was not changed") from None


def _set_aside(db_path: Path) -> Path:
    """Move a damaged store out of the way, with the write-ahead log or journal that
    holds its last transactions, to a free `NAME.damaged-TIME`; its -shm (an index of
    the log, rebuilt from it) is removed. Where it went."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    aside, n = db_path.with_name(f"{db_path.name}.damaged-{stamp}"), 1
    while any(Path(f"{aside}{suffix}").exists() for suffix in ("", *SIDE_FILES)):
        n += 1
        aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}-{n}")
    os.replace(db_path, aside)
    for suffix in ("-wal", "-journal"):
        if Path(f"{db_path}{suffix}").exists():
            os.replace(f"{db_path}{suffix}", f"{aside}{suffix}")
    Path(f"{db_path}-shm").unlink(missing_ok=True)
    return aside


def _remove_with_log(db_path: Path) -> None:
    """A scratch database file and the -wal, -shm or -journal files SQLite keeps beside it."""
    for suffix in ("", *SIDE_FILES):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def _damaged(db_path: str | Path) -> bool:
    """Whether the file at `db_path` exists and SQLite cannot read it as a database."""
    if not Path(db_path).exists():
        return False
    con = sqlite3.connect(Path(db_path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)
    try:
        con.execute("select count(*) from sqlite_master").fetchone()
        return False
    except sqlite3.DatabaseError as exc:
        return not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc)
    finally:
        con.close()

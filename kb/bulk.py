"""Bulk import: many files or folders into one knowledge base, each file all-or-nothing.

For each file: read it (nothing written), embed its new text into the embedding cache,
then write its rows or passages in one store transaction. A failed file is reported
and the next one goes on; the indexes are brought up to date once, at the end. A kill
at any point leaves every file either fully imported or untouched, and the embedding
cache keeps what was already encoded, so running the same command again finishes the
job quickly.
"""

from __future__ import annotations

import csv
import fnmatch
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .base import KnowledgeBase, Progress
from .errors import AmbiguousSource, KefuError, RowsRejected, error_detail
from .importers import SAVE_AS, SUFFIXES, load, path_text, unsupported
from .importers.records import Loaded, Place, Problem
from .importers.rows import cell_text, csv_safe, join_cell
from .io import CSV_COLUMNS
from .text import counted

REJECTED_SUFFIX = ".rejected.csv"


@dataclass
class FileResult:
    file: str
    kind: str | None = None  # "faq" or "document"
    status: str = "imported"  # imported | failed | dry-run
    rows: int = 0  # valid FAQ rows read
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    pruned: int = 0
    passages: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # one message per rejected row
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    # `error` and `rejected` as kefu's JSON errors give them: message, code, type, and the
    # file, sheet, line (item), field and id they name; the rows' too for a file they failed.
    error_detail: dict | None = None
    rejected_detail: list[dict] = field(default_factory=list)
    diff: list[dict] = field(default_factory=list)  # dry runs only
    seconds: float = 0.0


@dataclass
class ImportOptions:
    on_conflict: str = "error"
    encoding: str | None = None
    prune: bool = False
    dry_run: bool = False
    skip_bad_rows: bool = False  # import a file's good rows even when some are rejected
    author: str | None = None


def walk(paths: Iterable[Path], patterns: Iterable[str] = (), skipped: list[str] | None = None,
         own: Iterable[Path] = ()) -> Iterator[Path]:
    """The files to import: files as given, folders walked (sorted, hidden and
    rejected-row files skipped), filtered by glob patterns on the file name or its path in
    the folder, compared case-blind as extensions are (`*.csv` finds FAQ.CSV). A folder's
    file in an old Office format (.xls, .doc) is skipped with a note in `skipped`, and so
    is a folder's file that is (or is in) one of `own`, kefu's own data, a subfolder that
    cannot be read and a link to a file that does not exist. A file met twice
    (a folder and a file in it, both given) is imported once, where first met."""
    seen: set[str] = set()
    for path in _files(paths, list(patterns), skipped, [p.resolve() for p in own]):
        if (key := source_key(path)) not in seen:
            seen.add(key)
            yield path


def _files(paths: Iterable[Path], patterns: list[str], skipped: list[str] | None,
           own: list[Path] = ()) -> Iterator[Path]:
    """`walk`'s files, a file met twice each time."""
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            yield path
            continue
        said: set[Path] = set()
        for found in _folder_files(path, skipped):
            rel = found.relative_to(path)
            if any(part.startswith(".") for part in rel.parts) or found.name.endswith(REJECTED_SUFFIX):
                continue
            if patterns and not any(fnmatch.fnmatchcase(found.name.lower(), p.lower())
                                    or fnmatch.fnmatchcase(str(rel).lower(), p.lower()) for p in patterns):
                continue
            if not found.is_file():  # a link to nothing (anything else not a file was passed by)
                if found.suffix.lower() in SUFFIXES and skipped is not None:
                    skipped.append(f"{path_text(found)}: a link to {_link_target(found)}, which does not exist; "
                                   "not imported")
                continue
            if found.suffix.lower() in SUFFIXES and \
                    (mine := next((o for o in own if found.resolve().is_relative_to(o)), None)):
                if skipped is not None and mine.parent not in said:
                    said.add(mine.parent)
                    home = path / mine.parent.relative_to(path.resolve()) \
                        if mine.parent.is_relative_to(path.resolve()) else mine.parent  # as the folder was named
                    skipped.append(f"{home}: kefu's own files in its data folder (indexes, 话术, word lists), "
                                   "not imported")
                continue
            if found.suffix.lower() in SUFFIXES:
                yield found
            elif found.suffix.lower() in SAVE_AS and skipped is not None:
                skipped.append(f"{found}: {unsupported(found.suffix)}")


# How a note starts when it names a place in its file, not the file (tables.py's _where)
_PLACE_FIRST = re.compile(r"(?:sheet|line|lines|row|rows|column|item|page) \S")


def note_of_file(note: str, file: str, places_only: bool = False) -> str:
    """A file's note naming the file as its rejected rows do: `a.csv, line 1: …`, `faq.xlsx,
    sheet 售后, row 2: …` (the CSV and XLSX readers name only the place), `a.csv: …` for a note
    of the whole file (as it is with `places_only`: a page about the one file names it).
    Printed under several files, `line 1: unknown column` told no file; and one list showed
    some notes with their file and some without."""
    if note.startswith((f"{file}, ", f"{file}: ")):
        return note
    if _PLACE_FIRST.match(note):
        return f"{file}, {note}"
    return note if places_only else f"{file}: {note}"


def _folder_files(folder: Path, skipped: list[str] | None) -> list[Path]:
    """The files under `folder`, sorted, with links to nothing among them, as rglob("*")
    finds them (a linked folder is not entered; hidden folders are not entered at all). A
    folder that cannot be read is said in `skipped`: rglob passed over it, and a folder of
    FAQ sheets was imported short without a word."""
    def unreadable(exc: OSError) -> None:
        if skipped is not None:
            skipped.append(f"{path_text(exc.filename)}: cannot read the folder ({exc.strerror or exc}), so its files "
                           "were not imported")

    found = []
    for top, folders, files in os.walk(folder, onerror=unreadable):
        folders[:] = [f for f in folders if not f.startswith(".")]
        found += [Path(top) / name for name in files if not name.startswith(".")]  # a dangling link too
    return sorted(found)


def _link_target(path: Path) -> str:
    try:
        return path_text(os.readlink(path))
    except OSError:
        return "nothing"


def rejected_path(wanted: Path, imported: Iterable[Path]) -> Path:
    """Where to write the rejected rows: `wanted`, unless that is one of the files being
    imported (a rejected-rows file imported again to fix it): writing over it would lose
    the rows it holds that were not imported (a file with a bad row imports nothing). Then
    the first free `NAME-2.rejected.csv`, `NAME-3...` beside it."""
    inputs = {source_key(p) for p in imported}
    if source_key(wanted) not in inputs:
        return wanted
    stem = wanted.name[:-len(REJECTED_SUFFIX)] if wanted.name.endswith(REJECTED_SUFFIX) else wanted.stem
    n = 2
    while (other := wanted.with_name(f"{stem}-{n}{REJECTED_SUFFIX}")).exists() or source_key(other) in inputs:
        n += 1
    return other


def source_key(path: Path) -> str:
    """The stable key an import source is remembered by (for --prune and passages)."""
    return path_text(Path(path).resolve().as_posix())


def source_named(name: str, known: Iterable[str]) -> str:
    """The import source a name given by a user stands for: the name itself when it is
    one (as `kefu passages list` shows it, or an upload's file name), else the key of
    that path, read from the working folder (`source_key`). A name that is both a source
    and the path of another (an upload named like a file here) is refused as ambiguous."""
    known = set(known)
    if name not in known:
        return source_key(Path(name))
    path_key = source_key(Path(name))
    if path_key != name and path_key in known:
        raise AmbiguousSource(name, [name, path_key])
    return name


def read_file(path: Path, options: ImportOptions, data: bytes | None = None, name: str | None = None,
              progress: Progress | None = None) -> tuple[FileResult, Loaded | None]:
    """Parse and check one file (or uploaded bytes called `name`) without the knowledge base:
    the file's result so far and what was read, None if it could not be read. A file failed
    for its rejected rows (result.status "failed", result.error says why) keeps them in
    `loaded.problems`, for the rejected-rows file. Touching no store or index, this is the
    slow part a caller that serialises use of the knowledge base (the web's lock) does
    outside it; `BulkImporter.write` then imports the rows."""
    result = FileResult(name or path_text(path), status="dry-run" if options.dry_run else "imported")
    start = time.perf_counter()
    loaded = None
    try:
        loaded = load(result.file if data is not None else path, options.encoding, data)
        result.kind, result.notes = loaded.kind, loaded.notes
        result.rows = len(loaded.rows)
        result.rejected = [str(p) for p in loaded.problems]
        result.rejected_detail = [error_detail(p.error) for p in loaded.problems]
        if progress is not None:
            read = len(loaded.rows) + len(loaded.passages)  # a file gives rows or passages, not both
            progress("passages" if loaded.passages else "rows", read, read)
        if loaded.problems and not options.skip_bad_rows:
            raise RowsRejected(result.file, [p.error for p in loaded.problems])
    except KefuError as exc:
        result.status, result.error = "failed", str(exc)
        result.error_detail = error_detail(exc)
        result.error_detail.setdefault("file", result.file)
    result.seconds = round(time.perf_counter() - start, 3)
    return result, loaded


# starting(i, n, name): the i-th of n files, named as its result will name it, is being read.
Starting = Callable[[int, int, str], None]


class BulkImporter:
    """Imports files into `kb` with one set of options; `problems` collects every rejected
    row, `done` the result of each file `run` has finished (imported, or failed), as it
    finishes: what an interrupted run had already written. `starting`, if given, is told
    each file as `run` begins it: the progress (`kb.progress`) counts files, rows and
    passages, but names none, and a slow PDF among 40 files was read with no word of which."""

    def __init__(self, kb: KnowledgeBase, options: ImportOptions | None = None, starting: Starting | None = None):
        self.kb = kb
        self.options = options or ImportOptions()
        self.problems: list[Problem] = []
        self.done: list[FileResult] = []
        self.starting = starting or (lambda _i, _n, _name: None)

    def run(self, files: list[Path]) -> list[FileResult]:
        if self.options.dry_run:
            return self._dry_run(files)
        results, changed = [], []
        for i, path in enumerate(files, 1):
            self.starting(i, len(files), path_text(path))
            result = self.import_file(path, changed=changed)
            results.append(result)
            self.done.append(result)
            self.kb.progress("files", i, len(files))
        self.kb.refresh(changed)
        return results

    def _dry_run(self, files: list[Path]) -> list[FileResult]:
        """Every file read first, then all planned in one transaction rolled back at the end:
        each file meets what the files before it would have written (a question two files
        add fails the second, as in the real run), and the store's write lock waits only
        for the planning, not for the parsing."""
        read = []
        for i, path in enumerate(files, 1):
            self.starting(i, len(files), path_text(path))
            read.append(self._read(path))
            self.kb.progress("files", i, len(files))
        with self.kb.store.trial():
            for path, (result, loaded) in zip(files, read):
                if loaded is not None:
                    self.write(result, loaded, source_key(path))
        return [result for result, _ in read]

    def import_file(self, path: Path, data: bytes | None = None, name: str | None = None,
                    changed: list[str] | None = None) -> FileResult:
        """Import one file (or uploaded bytes called `name`); never raises for bad input."""
        result, loaded = self._read(path, data, name)
        if loaded is not None:
            self.write(result, loaded, name or source_key(path), changed)
        return result

    def _read(self, path: Path, data: bytes | None = None, name: str | None = None) -> tuple[FileResult, Loaded | None]:
        """The file's result so far and its rows; no rows if it failed (result.error says why)."""
        result, loaded = read_file(path, self.options, data, name, self.kb.progress)
        if loaded is not None:
            self.problems += loaded.problems
        return result, None if result.status == "failed" else loaded

    def _hints(self, loaded: Loaded) -> list[str]:
        """The rows' hints (Row.hints) about similar questions their entries do not hold yet."""
        notes = []
        for row in loaded.rows:
            if not row.hints:
                continue
            try:
                entry = self.kb.store.find_existing(row.data)
            except KefuError:  # told when the row is imported
                entry = None
            held = set(entry.similar) if entry is not None else set()
            notes += [note for item, note in row.hints.items() if item not in held]
        return notes

    def write(self, result: FileResult, loaded: Loaded, source: str | None, changed: list[str] | None = None) -> None:
        """Import what `read_file` found into the store (one transaction) and count it in `result`."""
        opts = self.options
        start = time.perf_counter()
        # A rejected row's entry is still in the file: pruning now would archive it.
        prune = opts.prune and not loaded.problems
        if source.endswith(REJECTED_SUFFIX):
            # Fixed rows imported from kefu's rejected-rows file belong to the file they are
            # put back into (which then prunes them), not to this scratch file.
            source = None
            if prune:
                prune = False
                result.notes = [*result.notes, "not pruned: a rejected-rows file is no source of entries;"
                                " its rows belong to the file they are put back into"]
        if opts.prune and loaded.problems:
            result.notes = [*result.notes, f"not pruned: {counted(len(loaded.problems), 'row')} rejected, and"
                            " their entries would have been archived; fix them and import again to prune"]
        result.notes = [*result.notes, *self._hints(loaded)]
        try:
            report = self.kb.import_entries(
                [r.data for r in loaded.rows], opts.on_conflict, opts.author, result.file,
                source=source, prune=prune,
                passages=loaded.passages if loaded.kind == "document" else None,
                dry_run=opts.dry_run, sync=False, places=[str(r.place) for r in loaded.rows])
        except KefuError as exc:
            result.status, result.error = "failed", str(exc)
            result.error_detail = _detail(exc, {str(r.place): r.place for r in loaded.rows})
            result.error_detail.setdefault("file", result.file)
        else:
            for k, v in report.counts().items():
                setattr(result, k, v)
            result.passages = report.passages
            result.notes = [*result.notes, *report.notes]
            if opts.dry_run:
                result.diff = report.diff
            if changed is not None:
                changed += report.changed_entries
        result.seconds = round(result.seconds + time.perf_counter() - start, 3)


def _detail(error: Exception, places: dict[str, Place]) -> dict:
    """`error_detail`, with the file, sheet and line (or item) of a row that the store
    named only by its place (`error.place`, set by Store.import_entries)."""
    body = error_detail(error)
    if isinstance(getattr(error, "errors", None), list):
        body["errors"] = [_detail(e, places) for e in error.errors]
    place = places.get(getattr(error, "place", None))
    if place is not None and "file" not in body:
        body["file"] = place.path
        if place.sheet:
            body["sheet"] = place.sheet
        if place.line is not None:
            body["item" if place.unit == "item" else "line"] = place.line
    return body


def write_rejected(problems: list[Problem], path: Path) -> None:
    """Rejected rows with their error, in columns `kefu import` reads back once fixed."""
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["where", "error", *CSV_COLUMNS, "original"])
        for p in problems:
            raw = {k: "" if v is None else v for k, v in p.raw.items()}
            cells = [str(p).split(": ", 1)[0], p.error.reason,
                     *(join_cell(v, c) if isinstance(v := raw.get(c, ""), list) else cell_text(v)
                       for c in CSV_COLUMNS), raw.get("original", "")]
            writer.writerow([csv_safe(cell) for cell in cells])  # it is opened in Excel to be fixed

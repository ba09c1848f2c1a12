"""Entry files in kefu's own columns: strict reading (for the sample corpus, benchmarks and
tests) and writing in every format `kefu import` reads back unchanged (jsonl, csv, xlsx)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Iterable

from .entry import Entry
from .errors import ExportError, ImportFileError
from .importers.rows import csv_safe, join_cell

FORMATS = ("jsonl", "csv", "xlsx")
CSV_COLUMNS = ["id", "question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to"]
XLSX_CELL_MAX = 32_767  # characters in one cell: Excel's limit, which openpyxl cuts silently


def read_text(path: Path, encoding: str | None = None, option: str | None = "--encoding") -> str:
    """A text file's content, its encoding detected unless given; CRLF becomes LF. An
    error suggests `option` to name the encoding (None: the command has none)."""
    from .importers.encoding import decode

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImportFileError(path, None, None, f"cannot read: {exc.strerror}") from None
    return decode(data, str(path), encoding, option=option)[0]


def read_entries(path: str | Path, encoding: str | None = None) -> list[dict]:
    """Validated entry dicts from a FAQ file; ImportFileError on the first bad row."""
    from .importers import load

    loaded = load(path, encoding)
    if loaded.kind != "faq":
        raise ImportFileError(path, None, None, "not an FAQ file (question and answer per entry)")
    if loaded.problems:
        raise loaded.problems[0].error
    return [row.data for row in loaded.rows]


def iter_jsonl(path: Path, text: str) -> Iterable[tuple[int, dict]]:
    """(line number, object) for each non-blank line; ImportFileError names a bad line."""
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFileError(path, n, None, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise ImportFileError(path, n, None, "expected a JSON object")
        yield n, data


def _cells(e: Entry) -> list[str]:
    return [e.id, e.question, join_cell(e.similar), e.answer, e.category,
            join_cell(e.tags, "tags"), e.status, e.valid_from or "", e.valid_to or ""]


def check_fits(entries: Iterable[Entry], fmt: str) -> None:
    """ExportError naming the first entry and field that `fmt` cannot hold whole: an export
    must read back unchanged, never cut. Only XLSX has a limit (a cell's characters)."""
    if fmt != "xlsx":
        return
    for e in entries:
        for name, cell in zip(CSV_COLUMNS, _cells(e)):
            if len(cell) > XLSX_CELL_MAX:
                raise ExportError(e.id, name, f"{len(cell):,} characters, more than an XLSX cell holds "
                                              f"({XLSX_CELL_MAX:,}): export with --format csv or jsonl")


try:  # what openpyxl's writer raises when a temporary file cannot be written, with lxml
    from lxml.etree import SerialisationError as _SerialisationError
except ImportError:  # without lxml openpyxl writes with the standard library: OSError
    _SerialisationError = OSError


def write_entries(entries: Iterable[Entry], fmt: str, out) -> int:
    """Write entries to `out`: a text stream for jsonl/csv, a binary one for xlsx.
    ExportError (before anything is written) when an entry does not fit the format."""
    if fmt == "xlsx":
        entries = list(entries)
        check_fits(entries, fmt)
    n = 0
    if fmt == "jsonl":
        for e in entries:
            out.write(json.dumps({"id": e.id, **e.content()}, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in entries:
            writer.writerow([csv_safe(cell) for cell in _cells(e)])
            n += 1
    elif fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Alignment

        wrap = Alignment(wrap_text=True, vertical="top")
        book = Workbook()
        sheet = book.active
        sheet.title = "entries"
        sheet.append(CSV_COLUMNS)
        for row, e in enumerate(entries, 2):
            # Cells are text: a value such as 2030-01-01 must not become a date cell. Each
            # addressed by its row: the sheet's size (sheet[sheet.max_row]) is a scan of every
            # cell so far, which made the export take time by the square of the entries.
            cells = _cells(e)
            sheet.append(cells)
            for column in range(1, len(CSV_COLUMNS) + 1):
                cell = sheet.cell(row, column)
                cell.data_type = "s"
                if "\n" in cells[column - 1]:  # Excel shows line breaks only in a cell that wraps
                    cell.alignment = wrap
            n += 1
        # Put together in memory, then written at once: a write that fails (a full disk)
        # must not leave openpyxl's zip half open, to complain when it is collected.
        buffer = io.BytesIO()
        try:
            book.save(buffer)
        except _SerialisationError as exc:  # lxml's, not an OSError: openpyxl's temporary files
            error = OSError(f"openpyxl could not write its temporary files in {tempfile.gettempdir()} "
                            f"({exc}: a full disk?)")
        else:
            error = None
        if error is not None:
            # openpyxl's half-written parts fail again as they are collected: the caller
            # collects them quietly (kb/ leaves the process's hooks alone)
            del book, sheet
            raise error
        out.write(buffer.getvalue())
    else:
        raise ValueError(f"format must be one of {FORMATS}")
    return n

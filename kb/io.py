"""Read and write entry files (JSONL, CSV). Every error names the file, line and field."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Iterable

from .entry import EDITABLE, Entry, validate
from .errors import ImportFileError, InvalidEntry

FORMATS = ("jsonl", "csv")
# Lists inside one CSV cell: one item per line; a cell with no line break may use | or a
# full-width ； instead. A multi-line cell splits on lines only, so its items may
# contain | or ；.
_SEPARATORS = ("\n", "|", "；")


def split_cell(cell: str) -> list[str]:
    parts = cell.split("\n") if "\n" in cell else re.split(r"[|；]", cell)
    return [s.strip() for s in parts if s.strip()]


def join_cell(items: list[str]) -> str:
    """The inverse of split_cell: a trailing line break keeps one item that holds | or ；."""
    text = "\n".join(items)
    if len(items) == 1 and any(sep in text for sep in _SEPARATORS[1:]):
        text += "\n"
    return text
CSV_COLUMNS = ["id", "question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to"]


def read_text(path: Path, encoding: str | None = None) -> str:
    raw = Path(path).read_bytes()
    enc = encoding or "utf-8-sig"
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(path, line, None,
                              f"not valid {enc} (byte {raw[exc.start]:#04x}); "
                              "pass --encoding gb18030 or big5 for such files") from None
    except LookupError:
        raise ImportFileError(path, None, None, f"unknown encoding {enc!r}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_entries(path: str | Path, encoding: str | None = None) -> list[dict]:
    """Validated entry dicts from a .jsonl/.json or .csv/.tsv file; ImportFileError on the first bad row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return list(_read_jsonl(path, read_text(path, encoding)))
    if suffix in (".csv", ".tsv"):
        return list(_read_csv(path, read_text(path, encoding), "\t" if suffix == ".tsv" else ","))
    raise ImportFileError(path, None, None, f"unsupported file type {suffix or '(none)'}: use .jsonl or .csv")


def _check(path: Path, line: int, data: dict) -> dict:
    for name in ("question", "answer"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise ImportFileError(path, line, name, "missing or empty")
    try:
        return validate(data)
    except InvalidEntry as exc:
        raise ImportFileError(path, line, exc.field, exc.reason) from None


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


def _read_jsonl(path: Path, text: str) -> Iterable[dict]:
    seen: dict[str, int] = {}
    for n, data in iter_jsonl(path, text):
        data = {k: v for k, v in data.items() if k in EDITABLE or k == "id"}
        yield _dedup(path, n, _check(path, n, data), seen)


def _read_csv(path: Path, text: str, delimiter: str) -> Iterable[dict]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFileError(path, 1, None, "empty file") from None
    except csv.Error as exc:
        raise ImportFileError(path, 1, None, f"malformed CSV: {exc}") from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(path, 1, unknown[0], f"unknown column (expected some of {', '.join(CSV_COLUMNS)})")
    seen: dict[str, int] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(path, line, None, f"malformed CSV: {exc}") from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ImportFileError(path, line, None, f"expected {len(header)} columns, found {len(row)}")
        data: dict = {}
        for name, cell in zip(header, row):
            if name in ("similar", "tags"):
                data[name] = split_cell(cell)
            elif cell.strip():
                data[name] = cell.strip()
        yield _dedup(path, line, _check(path, line, data), seen)


def _dedup(path: Path, line: int, data: dict, seen: dict[str, int]) -> dict:
    key = data.get("id") or data["question"]
    if key in seen:
        raise ImportFileError(path, line, "id" if data.get("id") else "question",
                              f"duplicate of line {seen[key]} ({key!r})")
    seen[key] = line
    return data


def write_entries(entries: Iterable[Entry], fmt: str, out) -> int:
    """Write entries as JSONL or CSV to a text stream; read_entries reads the result back unchanged."""
    n = 0
    if fmt == "jsonl":
        for e in entries:
            data = {"id": e.id, **e.content()}
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in entries:
            writer.writerow([e.id, e.question, join_cell(e.similar), e.answer, e.category,
                             join_cell(e.tags), e.status, e.valid_from or "", e.valid_to or ""])
            n += 1
    else:
        raise ValueError(f"format must be one of {FORMATS}")
    return n

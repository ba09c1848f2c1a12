"""What an importer reads out of a file, before anything touches the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ImportFileError


@dataclass
class Place:
    """Where a row sits in its file: how errors and reports name it."""
    path: str
    line: int | None = None
    sheet: str | None = None
    unit: str = "line"  # "line", "row" (spreadsheets), "item" (JSON arrays)

    def __str__(self) -> str:
        parts = [self.path] + ([f"sheet {self.sheet}"] if self.sheet else [])
        return ", ".join(parts + ([f"{self.unit} {self.line}"] if self.line is not None else []))

    def error(self, field: str | None, reason: str, column: str | None = None) -> ImportFileError:
        return ImportFileError(self.path, self.line, field, reason, self.sheet, self.unit, column)


@dataclass
class Row:
    """One FAQ row, validated: canonical field names (question, similar, answer, ...) to values."""
    place: Place
    data: dict
    # similar question -> a note for it, told only if the entry does not hold it already
    # (an export imported back keeps such phrasings as they were: nothing to say)
    hints: dict[str, str] = field(default_factory=dict)


@dataclass
class Problem:
    """A row that cannot be imported: the error (file, row, field, reason) and its raw cells."""
    error: ImportFileError
    raw: dict = field(default_factory=dict)  # canonical field -> the text as found

    def __str__(self) -> str:
        return str(self.error)


@dataclass
class Block:
    """A piece of a document in reading order: a heading or a paragraph/table row."""
    text: str
    heading: int = 0  # 0 for body text, 1.. for a heading of that level
    page: int | None = None  # 1-based, for paged formats (PDF)
    header: str = ""  # a table row's: its table's first row, atop each passage the table goes on in


@dataclass
class Passage:
    """A bounded chunk of a document, keyed by its source and position."""
    source: str
    position: int  # 0-based order within the source
    text: str
    section: str = ""  # the heading path it sits under, "一级 > 二级"
    page: int | None = None


@dataclass
class Loaded:
    """Everything read from one file."""
    source: str
    kind: str  # "faq" or "document"
    rows: list[Row] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. unknown columns, ignored sheets
    ignored: set[str] = field(default_factory=set)  # unknown field names already noted

    def add(self, result: Row | Problem) -> None:
        (self.rows if isinstance(result, Row) else self.problems).append(result)

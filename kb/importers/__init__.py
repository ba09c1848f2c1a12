"""Read any supported file into FAQ rows or document passages (nothing is written here).

    load("faq.xlsx")    -> Loaded(kind="faq", rows=[...], problems=[...], notes=[...])
    load("manual.pdf")  -> Loaded(kind="document", passages=[...])

FAQ-shaped files: .csv .tsv .xlsx .xlsm .json .jsonl .ndjson, and Markdown (.md
.markdown) made of Q:/A: pairs or question headings. Documents: .docx .pdf .html .htm
.txt and prose Markdown, cut into
passages along headings and paragraphs. Text files may be UTF-8, UTF-16 or UTF-32 with a BOM,
GB18030/GBK or Big5.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import ImportFileError
from .records import Loaded, Passage, Place, Problem, Row

FAQ_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson")
DOCUMENT_SUFFIXES = (".docx", ".pdf", ".html", ".htm", ".txt")
SUFFIXES = FAQ_SUFFIXES + DOCUMENT_SUFFIXES + (".md", ".markdown")
# Old binary Office formats (and WPS Office's own, common in China) that kefu cannot read,
# and the format to save them as: a shop's FAQ sheet is often still an .xls.
SAVE_AS = {".xls": (".xlsx", "Excel or WPS"), ".et": (".xlsx", "WPS"), ".doc": (".docx", "Word or WPS"),
           ".wps": (".docx", "WPS")}
# Bytes an .xlsx or .docx (a zip of XML parts) may unpack to. A file of a few hundred KB can
# unpack to gigabytes of XML (a zip bomb); the readers would hold it in memory for minutes,
# under the lock every agent's suggestion waits for. An FAQ sheet or manual never comes near.
MAX_UNZIPPED = 100 * 1024 * 1024

__all__ = ["load", "Loaded", "Passage", "Place", "Problem", "Row", "SUFFIXES", "SAVE_AS", "path_text", "unsupported"]


def path_text(path: str | Path) -> str:
    """A file's path as text that can be stored and printed. A name the file system holds
    in another encoding than UTF-8 (GBK, from a zip made on Chinese Windows) comes from
    Python with lone surrogates, which SQLite, the rejected-rows file and the terminal
    refuse: its other bytes are shown as \\xNN escapes, the same ones each time, so the
    file keeps one source key. Such a path's backslash that an escape could be taken for
    (before xNN) is escaped too (\\x5c), and so is that of a UTF-8 path holding an
    escape-like \\xNN itself: a name with the four characters \\xd6 was the same text as
    one with the byte 0xd6, so the two files were one source. Any other backslash stays, as
    the byte 0x5c ending 淺 in GBK: escaping it gave a stored name a new key. Any other path
    is its own text."""
    raw = os.fsencode(path)
    try:
        text = raw.decode("utf-8")
        # Windows names hold no backslash: there it is the separator (C:\x64\faq.csv stays)
        if os.sep == "\\" or not _ESCAPE_LIKE.search(text):
            return text
    except UnicodeDecodeError:
        pass
    return _AMBIGUOUS.sub(rb"\\x5c", raw).decode("utf-8", "backslashreplace")


_ESCAPE_LIKE = re.compile(r"\\x[0-9a-f]{2}")  # as backslashreplace writes a byte
_AMBIGUOUS = re.compile(rb"\\(?=x[0-9a-f]{2})")  # a path's backslash read as such an escape


def unsupported(suffix: str) -> str:
    """Why a file with this suffix is not read, and what to do about it."""
    suffix = suffix.lower()
    if suffix in SAVE_AS:
        new, apps = SAVE_AS[suffix]
        return f"unsupported file type {suffix}: open it in {apps}, save it as {new} and import that"
    return f"unsupported file type {suffix or '(none)'}; kefu reads {' '.join(SUFFIXES)}"


def load(path: str | Path, encoding: str | None = None, data: bytes | None = None,
         max_chars: int = 400, overlap: int = 60) -> Loaded:
    """Read one file; `data` gives its bytes when they do not come from disk (an upload).

    File-level faults (unreadable, wrong encoding, no header, no entries) raise ImportFileError;
    row-level faults are returned in `Loaded.problems` beside the good rows.
    """
    from . import documents, faq, tables
    from .encoding import decode

    name = path_text(path)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError(name, None, None, unsupported(suffix))
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ImportFileError(name, None, None, f"cannot read: {exc.strerror}") from None
    if suffix in (".xlsx", ".xlsm", ".docx"):
        _check_unzipped_size(data, name, suffix)
    if suffix in (".xlsx", ".xlsm"):
        return _some_entries(tables.read_xlsx(data, name), "a header and no rows")
    if suffix in (".docx", ".pdf"):
        reader = documents.docx_blocks if suffix == ".docx" else documents.pdf_blocks
        return _document(name, reader(data, name), max_chars, overlap)
    if (really := _office_file(data)) is not None:  # else it fails as text in no known encoding
        raise ImportFileError(name, None, None, f"this is {really[0]}, not a {suffix} text file: {really[1]}")
    text, _ = decode(data, name, encoding, tables.delimiter_of if suffix == ".csv" else None)
    if suffix in FAQ_SUFFIXES and not text.strip():
        raise ImportFileError(name, None, None, "no entries found (the file is empty)")
    if suffix in (".csv", ".tsv"):
        return _some_entries(tables.read_csv(text, name, "\t" if suffix == ".tsv" else tables.delimiter_of(text)),
                             "a header and no rows")
    if suffix in (".jsonl", ".ndjson"):
        return faq.read_jsonl(text, name)  # text that is not blank: a row or a rejected row
    if suffix == ".json":
        return _some_entries(faq.read_json(text, name), "an empty list")
    if suffix in (".md", ".markdown"):
        found = faq.markdown_faq(text, name)
        return found if found is not None else _document(name, documents.markdown_blocks(text, name),
                                                         max_chars, overlap)
    reader = documents.html_blocks if suffix in (".html", ".htm") else documents.text_blocks
    return _document(name, reader(text, name), max_chars, overlap)


def _check_unzipped_size(data: bytes, name: str, suffix: str) -> None:
    """ImportFileError when the Office file would unpack to more than MAX_UNZIPPED bytes.
    The sizes are the ones the archive states: Python's zipfile (which openpyxl and
    python-docx read with) stops a part at its stated size, so a file cannot understate them."""
    import io
    import zipfile

    try:
        total = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # not a zip: the reader says why it cannot open it
    if total > MAX_UNZIPPED:
        advice = "save it as .csv, which has no such limit, or split it" if suffix != ".docx" else \
            "split it into smaller documents"
        raise ImportFileError(name, None, None, f"it unpacks to {total / 2**20:,.0f} MB, more than kefu reads "
                                                f"from one {suffix} file ({MAX_UNZIPPED // 2**20} MB; a zip bomb?): {advice}")


def _office_file(data: bytes) -> tuple[str, str] | None:
    """(what it is, what to do) for an Office file or zip given a text extension (an
    .xlsx renamed .csv), else None."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Office file (.xls or .doc)", "open it in Excel or Word and save it as .xlsx or .docx"
    if not data.startswith(b"PK\x03\x04"):
        return None
    import io
    import zipfile

    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        names = []
    if "xl/workbook.xml" in names:
        return "an Excel workbook (.xlsx)", "rename it to .xlsx"
    if "word/document.xml" in names:
        return "a Word document (.docx)", "rename it to .docx"
    return "a zip archive", "unzip it and import the files inside"


def _some_entries(loaded: Loaded, what: str) -> Loaded:
    """A FAQ file with neither a row nor a rejected row is a failed file, as a document
    with no text is: most likely the wrong file or a truncated export, and imported as
    "0 entries" it would let --prune archive everything that came from it."""
    if not loaded.rows and not loaded.problems:
        # A file of `q,a` on every line has rows, all skipped as the header again: "a header
        # and no rows" would send the editor looking for rows that are there.
        from ..text import counted
        from .tables import REPEATS_HEADER

        repeats = [n.removesuffix(REPEATS_HEADER) for n in loaded.notes if n.endswith(REPEATS_HEADER)]
        what = f"every row below the header repeats it: {counted(len(repeats), 'row')}, the first on " \
            f"{repeats[0]}" if repeats else f"the file holds {what}"
        raise ImportFileError(loaded.source, None, None, f"no entries found ({what})")
    return loaded


def _document(name: str, blocks: list, max_chars: int, overlap: int) -> Loaded:
    from .documents import chunk

    return Loaded(name, "document", passages=chunk(blocks, name, max_chars, overlap))

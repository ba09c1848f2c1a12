"""FAQ tables: CSV/TSV text and XLSX workbooks (every sheet), one row per entry.

The header is the first row, among the first few non-empty ones, that names a question
column: exports often put a title line above it. Columns kefu does not know are
reported in the file's notes, never dropped silently.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Iterator

from ..errors import ImportFileError
from ..text import counted, scrub
from .records import Loaded, Place, Problem, Row
from .rows import RowChecker, canonical, cell_text, csv_unescaped, list_items, map_header, split_cell

HEADER_SEARCH = 10  # rows looked at for the header
REPEATS_HEADER = ": repeats the header row, skipped"  # the note of such a row, after its place


def delimiter_of(text: str) -> str:
    """"," unless the first line holds none and a semicolon or tab instead (European
    Excel saves "CSV" with semicolons; some tools write tab-separated .csv)."""
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    first = lines[0] if lines else ""
    if first.startswith("sep=") and len(first) > 4:  # Excel's own hint line
        return first[4]
    if "," in first:
        return ","
    return next((d for d in (";", "\t") if d in first), ",")


def read_csv(text: str, path: str, delimiter: str = ",") -> Loaded:
    loaded = Loaded(path, "faq")
    _read_table(loaded, _csv_rows(text, path, delimiter), Place(path), "line", delimiter=delimiter)
    return loaded


def _csv_rows(text: str, path: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) per record; a record may span lines inside quotes."""
    # The csv module refuses a field over 131,072 characters by default, so a long answer
    # that `kefu export --format csv` wrote could not be read back. No field can be longer
    # than the text, which is in memory already: that is the limit that is safe.
    if len(text) >= csv.field_size_limit():
        csv.field_size_limit(len(text) + 1)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    header: list[str] = []  # the header's cells, once read: errors name a column by them
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(path, line, None, "malformed CSV: " + _quote_problem(
                text, line, delimiter, header, str(exc))) from None
        if not header and reader.line_num <= HEADER_SEARCH * 2 and "question" in map_header(cells)[0].values():
            header = cells
        # Scrubbed first, as every stored field is: an apostrophe guarding a formula
        # behind a zero-width space ('\u200b=x) is still the guard, and a cell of only
        # such characters is empty, so a record of them is a blank line, not a bad row.
        yield line, [csv_unescaped(scrub(c)) for c in cells]


def _quote_problem(text: str, line: int, delimiter: str, header: list[str], error: str) -> str:
    """What a strict csv reader's error at the record starting on `line` means for whoever
    edits the file: the line and column of the quote at fault, and how to fix it. Python's
    own words ("',' expected after '\"'") are kept for any other error."""
    lines = io.StringIO(text).readlines()  # split as the reader splits them
    record = "".join(lines[line - 1:])
    column, quoted, opened, start, i = 1, False, (line, 1), 0, 0
    while i < len(record):
        ch = record[i]
        if quoted:
            if ch == '"' and record[i + 1:i + 2] == '"':
                i += 1
            elif ch == '"':
                quoted, after = False, record[i + 1:i + 2]
                if after not in ("", delimiter, "\n", "\r"):
                    at = line + record.count("\n", 0, i)
                    shown = record[record.rfind("\n", 0, i) + 1:i + 12].split("\n")[0]
                    where = _column_words(column, header)
                    if at != opened[0]:
                        return (f"a quote \" opened on line {opened[0]} in {where} runs to line {at}, where text "
                                f"follows the quote that closes it ({shown!r}): most likely a quote left open on "
                                f"line {opened[0]}; close it, or double a quote inside a quoted cell (\"\")")
                    shown = record[start:i + 12].split("\n")[0]
                    fixed = '"' + shown.replace('"', '""') + '…"'
                    return (f"{where}: a quote \" closes the quoted cell but text follows it ({shown!r}); to keep "
                            "quotes inside a cell, quote the whole cell and double each quote in it "
                            f"({fixed}), or take them out")
        elif ch == delimiter:
            column += 1
        elif ch == "\n":
            break
        elif ch == '"' and (i == 0 or record[i - 1] in (delimiter, "\n")):
            quoted, opened, start = True, (line + record.count("\n", 0, i), column), i
        i += 1
    if quoted:
        last = line + record.count("\n") - (1 if record.endswith("\n") else 0)
        span = f"line {last}" if last == opened[0] else f"lines {opened[0]}-{last}"
        return (f"a quote \" opened on line {opened[0]} in {_column_words(opened[1], header)} is never closed: "
                f"it takes the rest of the file ({span}) into one cell; close it, or double a quote inside a "
                "quoted cell (\"\")")
    return error


def _column_words(number: int, header: list[str]) -> str:
    """column 2 ('答案'), or column 2 where the header is not read yet or has no name there."""
    name = header[number - 1].strip() if number <= len(header) else ""
    return f"column {number} ({name!r})" if name else f"column {number}"


def read_xlsx(data: bytes, path: str) -> Loaded:
    """Every sheet with a question column is read; merged cells give each row their value."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError, IndexError) as exc:
        raise ImportFileError(path, None, None, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # openpyxl raises bare exceptions on some broken parts
        raise ImportFileError(path, None, None, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    loaded = Loaded(path, "faq")
    found = False
    seen: dict = {}  # a question repeated on another sheet is a duplicate too
    formulas = _unsaved_formulas(data, book)
    for sheet in book.worksheets:
        merged = _merged(sheet)
        rows = _sheet_rows(sheet, merged, formulas.get(sheet.title, {}))
        before = len(loaded.rows)
        if _read_table(loaded, rows, Place(path, sheet=sheet.title, unit="row"), "row",
                       optional=True, seen=seen, merged=merged):
            found = True
            _note_hidden(loaded, sheet, [r.place.line for r in loaded.rows[before:]])
        else:
            loaded.notes.append(f"sheet {sheet.title}: no header row with a question column, skipped")
    if not found:
        raise ImportFileError(path, None, "question", "no sheet has a header row with a question column "
                              "(e.g. 标准问题 or question)")
    return loaded


HIDDEN_SHOWN = 5  # hidden rows a note names


def _note_hidden(loaded: Loaded, sheet, numbers: list[int]) -> None:
    """Note a hidden sheet and the hidden rows (by hand or by a filter) read from it. They
    are imported as any other (dropping them would lose data without a word), but an editor
    who filtered out old rows, or hid a sheet of drafts, may not expect them published."""
    if sheet.sheet_state != "visible":
        loaded.notes.append(f"sheet {sheet.title}: the sheet is hidden in the workbook; its rows were imported "
                            "like any other, check they are meant to be")
    dims = sheet.row_dimensions
    hidden = [n for n in numbers if n in dims and dims[n].hidden]
    if hidden:
        shown = ", ".join(map(str, hidden[:HIDDEN_SHOWN])) + (", …" if len(hidden) > HIDDEN_SHOWN else "")
        loaded.notes.append(f"sheet {sheet.title}: {counted(len(hidden), 'hidden row')} (hidden by hand or by a "
                            f"filter) imported like any other, check they are meant to be (row numbers {shown})")


def _merged(sheet) -> list[tuple[int, int, int, int, object]]:
    """(first row, last row, first column, last column, value) of each merged range, its
    columns cut at the sheet's last one (a row merged whole would reach column XFD)."""
    last = sheet.max_column
    return [(m.min_row, m.max_row, m.min_col, min(m.max_col, last), _cell_value(sheet.cell(m.min_row, m.min_col)))
            for m in sheet.merged_cells.ranges]


class CellProblem(str):
    """A cell whose value cannot be imported (an Excel error, a formula never computed):
    the text Excel shows, and why, naming the cell. Its row is rejected if the cell is in
    a column kefu reads."""

    def __new__(cls, shown: str, cell: str, reason: str):
        value = super().__new__(cls, shown)
        value.cell, value.reason = cell, reason
        return value


def _unsaved_formulas(data: bytes, book) -> dict[str, dict[tuple[int, int], str]]:
    """sheet -> {(row, column): formula} for formula cells with no saved value (a file
    written by a program, never opened in Excel): read without data_only they show their
    formula, with it nothing. The workbook is read a second time only when a sheet holds
    a formula at all."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if not any(b"<f" in archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/")):
                return {}
        raw = load_workbook(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - the data-only read worked: its values stand
        return {}
    found: dict[str, dict[tuple[int, int], str]] = {}
    for sheet in raw.worksheets:
        if sheet.title not in book.sheetnames:
            continue
        values = book[sheet.title]._cells  # noqa: SLF001 - as in _sheet_rows
        for key, cell in sheet._cells.items():  # noqa: SLF001
            if cell.data_type == "f" and getattr(values.get(key), "value", None) is None:
                found.setdefault(sheet.title, {})[key] = str(getattr(cell.value, "text", cell.value))
    return found


def _cell_value(cell) -> object:
    """The cell's value as Excel shows it where that differs from the stored value: an
    error cell (#N/A) is a CellProblem, TRUE/FALSE, a number formatted as a percentage."""
    value = cell.value
    if cell.data_type == "e":
        return CellProblem(str(value), cell.coordinate, f"holds the Excel error {value}")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) and "%" in (fmt := str(cell.number_format).split(";")[0]):
        decimals = len(fmt.split(".", 1)[1].split("%")[0].strip('"')) if "." in fmt else 0
        return f"{value * 100:.{decimals}f}%"
    if isinstance(value, (int, float)) and (shown := _shown_number(value, str(cell.number_format))) is not None:
        return shown
    if isinstance(value, float) and str(cell.number_format) == "General" and (shown := _general(value)):
        return shown
    if isinstance(value, datetime) and value.time() == time.min and _shows_time(str(cell.number_format)):
        # 2026-12-12 00:00 is that moment, not the day: read as a date, a valid_to would
        # run to the end of 2026-12-12, a day longer than the sheet says.
        return value.isoformat()
    return value


# A number format of digit placeholders (000000, 0.00, #,##0.00), with literal text around
# it ("¥"0.00, 0.00"元", [$¥-804]#,##0.00, [Red]0.00): its integer and decimal parts.
_DIGITS = re.compile(r"([#0?]*(?:,[#0?]+)*[#0?])?(?:\.([#0?]*))?")
_LITERAL = re.compile(r'"([^"]*)"|\\(.)|\[\$([^\]-]*)[^\]]*\]|\[[^\]]*\]|_.|\*.|([$¥￥€£+\-/():!^&\'~{}<>= ]|[^\x00-\x7f])')


def _shown_number(value: int | float, number_format: str) -> str | None:
    """A number as a format of digit placeholders shows it: 001234 for 1234 under 000000,
    9.90 for 9.9 under 0.00, 1,234.50 under #,##0.00, literal text kept (¥9.90). An id column
    formatted 000000 showed 001234 and was read 1234, another id. None for General and any
    other format (a percentage, a date, a fraction, scientific), and for a number the
    format shows as nothing (0 under #): read as before."""
    if ";" in number_format and value < 0:
        return None  # a negative section of its own (brackets, red): too rare to mimic
    fmt, parts, core, pos = number_format.split(";")[0], [], None, 0
    while pos < len(fmt):
        if core is None and (m := _DIGITS.match(fmt, pos)) and m.end() > pos:
            core = m
            parts.append(None)
        elif m := _LITERAL.match(fmt, pos):
            parts.append(next((g for g in m.groups() if g is not None), ""))
        else:
            return None  # General, @, %, E+, date and fraction codes
        pos = m.end()
    if core is None:
        return None
    whole, decimals = core[1] or "", core[2] or ""
    # Rounded half up from the decimal the cell shows (2.675 is 2.68, as in Excel), not from
    # the binary float just under it
    shown = Decimal(repr(abs(value))).quantize(Decimal(1).scaleb(-len(decimals)), ROUND_HALF_UP)
    head, _, tail = f"{shown:f}".partition(".")
    tail = tail.rstrip("0").ljust(len(decimals.rstrip("#?")), "0")  # # and ? places are optional
    head = head.lstrip("0").rjust(whole.count("0"), "0")
    if "," in whole and head:
        head = f"{int(head):,}"
    number = ("-" if value < 0 and (head + tail).strip("0") else "") + head + ("." + tail if tail else "")
    if not any(c.isdigit() for c in number):
        return None
    return "".join(number if p is None else p for p in parts)


GENERAL_DIGITS = 11  # significant digits Excel's General format shows at most


def _general(value: float) -> str | None:
    """A fraction as Excel's General format shows it: 0.3 for the formula result
    0.30000000000000004, which was stored with its binary noise. Rounded to 11 significant
    digits, never fewer than the whole part has. None for a whole number (cell_text writes
    12, not 12.0), one too large for 11 digits (Excel shows 1.23457E+11, losing digits) and
    inf/nan: read as before."""
    if value.is_integer() or not abs(value) < 10**GENERAL_DIGITS:
        return None
    exact = Decimal(repr(value))
    shown = exact.quantize(Decimal(1).scaleb(exact.adjusted() + 1 - GENERAL_DIGITS), ROUND_HALF_UP)
    text = f"{shown:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _shows_time(number_format: str) -> bool:
    """Whether an Excel number format shows a time of day (yyyy-mm-dd hh:mm, h:mm AM/PM):
    an hour or second code outside quoted text and [brackets] ([$-409], [Red])."""
    codes = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format.lower())
    return "h" in codes or "s" in codes


def _sheet_rows(sheet, merged: list, formulas: dict | None = None) -> Iterator[tuple[int, list]]:
    """(row number, values from column A) for each row that has cells, merged ranges filled
    with their top-left value. Built from the cells the file holds: openpyxl's iter_rows
    walks the whole grid up to the farthest cell, so one stray cell at XFD1048576 would
    mean billions of empty cells. `formulas` (from _unsaved_formulas) become CellProblems."""
    from openpyxl.utils import get_column_letter

    cells: dict[int, dict[int, object]] = {}
    for (r, c), cell in sheet._cells.items():  # noqa: SLF001 - the sparse map is the point
        if cell.value is not None:
            cells.setdefault(r, {})[c] = _cell_value(cell)
    for (r, c), formula in (formulas or {}).items():
        cells.setdefault(r, {})[c] = CellProblem(
            "", f"{get_column_letter(c)}{r}", f"holds a formula with no saved value ({formula}); open the file "
            "in Excel or LibreOffice and save it, so the values are computed")
    numbers = set(cells)
    for lo, hi, _, _, value in merged:
        if value is not None:
            numbers.update(r for r in cells if lo <= r <= hi)  # only rows that exist anyway
            numbers.add(lo)
    for r in sorted(numbers):
        row = dict(cells.get(r, {}))
        for lo, hi, c_lo, c_hi, value in merged:
            if value is not None and lo <= r <= hi:
                width = max(row, default=c_lo)
                for c in range(c_lo, min(c_hi, max(width, c_lo)) + 1):
                    row.setdefault(c, value)
        yield r, [row.get(c) for c in range(1, max(row, default=0) + 1)]


def _read_table(loaded: Loaded, rows: Iterable[tuple[int, list]], base: Place, unit: str,
                optional: bool = False, seen: dict | None = None, merged: list = (), delimiter: str = ",") -> bool:
    """Add the table's rows and problems to `loaded`; False if no header was found.
    `merged` are a sheet's merged ranges (see _merged); `delimiter` a text file's separator."""
    rows = iter(rows)
    columns = None
    for looked, (number, cells) in enumerate(rows):
        if not any(_filled(c) for c in cells):
            continue
        cells = _spread(cells, number, merged)
        columns, unknown, twice = map_header(cells)
        if "question" in columns.values():
            below = next(((n, c) for n, c in rows if any(_filled(x) for x in c)), None)
            if below is not None and (under := _header_below(columns, *below, merged)) is not None:
                number, cells, (columns, unknown, twice) = below[0], under[0], under[1]
            elif below is not None:
                rows = itertools.chain([below], rows)  # a data row: read it as one below
            header = {name: str(cells[pos]).strip() for pos, name in columns.items()}
            # Empty cells after the last named column are no columns (a header row saved
            # with trailing separators, "问题,答案,,,"): a row may lack them.
            width = max(i for i, c in enumerate(cells) if _filled(c)) + 1
            # Yet a row's cell there is in a column the header has, one without a name (Excel
            # writes 问题,答案, over a column of notes): a note, as for one between named columns.
            header_cells = len(cells)
            break
        columns = None
        if looked >= HEADER_SEARCH:
            break
    if columns is None:
        if optional:
            return False
        raise ImportFileError(base.path, 1, "question", "no header row with a question column "
                              "(e.g. 标准问题 or question)", base.sheet, unit)
    where, header_line = _where(base, number), number
    for text in unknown:
        loaded.notes.append(f"{where}: unknown column {text!r} was not imported")
    for text in twice:
        loaded.notes.append(f"{where}: column {text!r} repeats a field already read, ignored")
    named = {pos for pos, c in enumerate(cells) if _filled(c)}
    unheaded: dict[int, list[int]] = {}  # column position -> the rows with a cell there
    checker = RowChecker(header, seen)
    section = None  # the title of the last section row, the category of rows without one
    continued: dict[int, list[int]] = {}  # row -> the rows below it read as more of its entry
    for number, cells in rows:
        if not any(_filled(c) for c in cells):
            continue
        if _repeats_header(cells, number, columns, merged):
            loaded.notes.append(_where(base, number) + REPEATS_HEADER)
            continue
        if (title := _section_title(cells, number, columns, merged)) is not None:
            section = _SECTION_NUMBER.sub("", title) or title
            loaded.notes.append(f"{_where(base, number)}: section title {title!r} (merged across the table) "
                                f"is the category of the rows below without one")
            continue
        if "answer" not in columns.values():  # named at the first row, which lacks it as every row would
            raise ImportFileError(base.path, number, "answer", f"no answer column in the header ({unit} "
                                  f"{header_line}; e.g. 答案 or answer)" + (
                                      f"; columns kefu does not know: {', '.join(map(repr, unknown))}"
                                      if unknown else ""), base.sheet, unit)
        place = Place(base.path, number, base.sheet, unit)
        # In CSV a cell count that differs from the header's is the classic sign of an
        # unquoted comma: reading on would shift every later cell into the wrong field.
        if unit == "line" and (len(cells) < width or any(_filled(c) for c in cells[max(width, header_cells):])):
            separator = _SEPARATORS.get(delimiter, repr(delimiter))
            loaded.problems.append(Problem(place.error(
                None, f"expected {width} cells like the header, found {len(cells)} (a {separator} inside a cell"
                " must be quoted; a row missing its empty last cells must have them too)"),
                {"original": delimiter.join(map(str, cells))}))
            continue
        for pos, cell in enumerate(cells):
            if pos not in named and _filled(cell):
                unheaded.setdefault(pos, []).append(number)
        bad = next(((pos, name) for pos, name in columns.items()
                    if pos < len(cells) and isinstance(cells[pos], CellProblem)), None)
        if bad is not None:
            cell = cells[bad[0]]
            loaded.problems.append(Problem(place.error(bad[1], f"cell {cell.cell} {cell.reason}", header[bad[1]]),
                                           {k: cell_text(v) for k, v in _fields(cells, columns).items()}))
            continue
        fields = _fields(cells, columns)
        if (head := _merged_question_head(loaded, base, number, cells, columns, merged)) is not None:
            # A 标准问题 cell merged down over rows that add only a 相似问题 each: one entry
            # written over several rows, not rows that repeat its question.
            if (problem := checker.more_similar(head, place, fields.get("similar"))) is not None:
                loaded.problems.append(problem)
            else:
                head.hints.update(_joined_similar(fields.get("similar"), _where(base, number), header.get("similar")))
                continued.setdefault(head.place.line, []).append(number)
            continue
        if unit == "line" and "\n" in scrub(cell_text(fields.get("question"))).strip():  # as stored
            last = number + sum(str(c).count("\n") for c in cells)
            loaded.problems.append(Problem(place.error(
                "question", f"holds a line break (the record runs over lines {number}-{last}): a standard "
                "question is one line; a quote \" left open takes the lines below into one cell", header["question"]),
                {k: cell_text(v) for k, v in fields.items()}))
            continue
        if unit == "line" and (spanned := _swallowed_records(cells, columns, width, delimiter)) is not None:
            last = number + sum(str(c).count("\n") for c in cells)
            loaded.problems.append(Problem(place.error(
                spanned, f"holds lines that read as whole rows (the record runs over lines {number}-{last}): "
                "a quote \" left open takes the lines below into one cell; close it, or double a quote "
                "inside a quoted cell (\"\")", header[spanned]),
                {k: cell_text(v) for k, v in fields.items()}))
            continue
        if section and not cell_text(fields.get("category")).strip():
            fields["category"] = section
        result = checker.check(place, fields)
        if isinstance(result, Row):
            result.hints = _joined_similar(fields.get("similar"), _where(base, number), header.get("similar"))
        loaded.add(result)
    sheet = f"sheet {base.sheet}, " if base.sheet else ""
    for line, numbers in continued.items():
        span = f"row {numbers[0]}" if len(numbers) == 1 else f"rows {numbers[0]}-{numbers[-1]}"
        loaded.notes.append(f"{sheet}{span}: the {header['question']!r} cell is merged with row {line}'s, so "
                            f"{'its' if len(numbers) == 1 else 'their'} {header.get('similar', 'similar')!r} "
                            f"cells were read as more similar questions of row {line}'s entry")
    for pos, numbers in sorted(unheaded.items()):
        more = f" and {len(numbers) - 1} more" if len(numbers) > 1 else ""
        loaded.notes.append(f"{sheet}column {_column_name(pos, unit)}: no header above it, so its cells "
                            f"were not imported ({unit} {numbers[0]}{more})")
    return True


_SEPARATORS = {",": "comma", "\t": "tab", ";": "semicolon"}


def _header_below(columns: dict[int, str], number: int, cells: list, merged: list) -> tuple[list, tuple] | None:
    """The real header when the row found is a group title row above it: 问题 merged over
    标准问题 and 相似问题, 答案 over 答案内容 (or, saved as CSV, each title in the first cell of
    its group). The row below then names a question column and more fields than the titles
    do; read as a header, the titles had made it an entry 标准问题 and lost every column
    they do not name (ids, categories). (cells spread, map_header's result) of that row, or
    None when it is a data row."""
    cells = _spread(cells, number, merged)
    found = map_header(cells)
    if "question" in found[0].values() and len(set(found[0].values())) > len(set(columns.values())):
        return cells, found
    return None


def _merged_question_head(loaded: Loaded, base: Place, number: int, cells: list, columns: dict[int, str],
                          merged: list) -> Row | None:
    """The entry read from the row above whose 标准问题 cell is merged down over row `number`,
    if this row adds nothing to it but similar questions: each other cell it reads is empty
    or merged from a row above (an answer merged alongside). None otherwise."""
    def from_above(pos: int) -> int | None:
        return next((lo for lo, hi, c_lo, c_hi, value in merged
                     if value is not None and lo < number <= hi and c_lo <= pos + 1 <= c_hi), None)

    question = next(pos for pos, name in columns.items() if name == "question")
    if (lo := from_above(question)) is None:
        return None
    for pos, name in columns.items():
        if name != "similar" and pos < len(cells) and _filled(cells[pos]) and from_above(pos) is None:
            return None
    return next((r for r in reversed(loaded.rows) if r.place.sheet == base.sheet and r.place.line == lo), None)


def _swallowed_records(cells: list, columns: dict[int, str], width: int, delimiter: str) -> str | None:
    """The field of a cell that swallowed rows below it, or None. A quote left open in
    column k runs to the next quote: the cell then holds the rest of its own row (its
    first line splits into the width - k cells after it), whole rows (as many cells as
    the header) and the start of the row where the quote closes (k + 1 cells). The cell
    count of the record still matches the header, so nothing else would tell. An answer
    written over lines rarely has that shape: every line must fit it, and each row below
    must have its first cell."""
    for pos, name in columns.items():
        text = cell_text(cells[pos]) if pos < len(cells) else ""
        lines = text.replace("\r\n", "\n").split("\n")
        if len(lines) < 2:
            continue
        split = [next(csv.reader([line], delimiter=delimiter), []) for line in lines]
        counts = [len(c) for c in split]
        if (counts[0] == width - pos and counts[-1] == pos + 1 and all(n == width for n in counts[1:-1])
                and all(c and c[0].strip() for c in split[1:])):  # each row below has its first cell
            return name
    return None


def _joined_similar(value: object, where: str, column: str | None) -> dict[str, str]:
    """Item -> a note for the items of a 相似问题 cell with line breaks that still hold | or ；: such
    a cell is split at its line breaks only (an export writes an item holding a separator
    so), so 能退吗；洗了能退吗 on one of its lines stays one similar question. (A lone item
    ending in a line break is how an export keeps one whole: no note.)"""
    if isinstance(value, list):
        return {}
    text = cell_text(value)
    items = split_cell(text)
    if "\n" not in text.strip() or len(items) < 2:
        return {}
    return {item: f"{where}, column {column!r}: similar question {item!r} holds | or ；, but a cell with line"
            " breaks is split at them only, so it was kept as one; put each phrasing on its own line if it is"
            " several" for item in items if any(c in item for c in "|；")}


def _where(base: Place, number: int) -> str:
    """How a note names a row: "sheet 售后, row 3", or "line 3" in a text file."""
    return f"sheet {base.sheet}, {base.unit} {number}" if base.sheet else f"{base.unit} {number}"


def _repeats_header(cells: list, number: int, columns: dict[int, str], merged: list) -> bool:
    """Whether the row names the header's fields in the header's columns: files concatenated
    from several exports repeat it. (Its question cell is looked at first: that is cheap.)"""
    question = next(pos for pos, name in columns.items() if name == "question")
    if question >= len(cells) or canonical(cells[question], short=True) != "question":
        return False
    return map_header(_spread(cells, number, merged))[0] == columns


# 一、 / 二. / (三) / （二）、 / 1) / 1. / 1 before a section title: its number, not its name. Only
# a list number: one or two digits (or numerals) with its mark or a space after it; a number
# running into the name is part of it (618大促, 3C数码, 十一黄金周), and so are a decimal (1.5米
# 床品) and a longer number (618：大促, 2026 新品).
_NUMERAL = r"(?:[一二三四五六七八九十百]+|[0-9]{1,2})"
_SECTION_NUMBER = re.compile(r"^\s*(?:[（(]?" + _NUMERAL + r"[)）]\s*[、.．:：]?|"
                             + _NUMERAL + r"\s*[、.．:：](?![0-9０-９])|[0-9]{1,2}\s+(?=[^\s0-9]))\s*")


def _section_title(cells: list, number: int, columns: dict[int, str], merged: list) -> str | None:
    """The title of a section row: one value in a range merged across every column of the
    table (`一、售前问题` over A:D between data rows), nothing else in the row."""
    first, last = min(columns) + 1, max(columns) + 1
    for lo, _, c_lo, c_hi, value in merged:
        if lo == number and value is not None and c_lo <= first and c_hi >= last:
            title = cell_text(value).strip()
            if title and all(not _filled(c) or cell_text(c).strip() == title for c in cells):
                return title
    return None


def _spread(cells: list, number: int, merged: list) -> list:
    """The row with each merged range that starts in it filling every column it covers: a
    header such as 相似问题 merged over C1:E1 names all three columns. (Only for the header:
    in a data row, a title merged across would become every field of an entry.)"""
    cells = list(cells)
    for lo, _, c_lo, c_hi, value in merged:
        if lo == number and value is not None:
            cells += [None] * (c_hi - len(cells))
            cells[c_lo - 1:c_hi] = [value] * (c_hi - c_lo + 1)
    return cells


def _fields(cells: list, columns: dict[int, str]) -> dict:
    """Field -> cell value; a list field in several columns (a merged 相似问题 header, or the
    header repeated) gets the items of all of them."""
    raw: dict = {}
    for pos, name in columns.items():
        value = cells[pos] if pos < len(cells) else None
        if name in raw:  # map_header repeats list fields only
            value = list_items(raw[name], name) + list_items(value, name)
        raw[name] = value
    return raw


def _column_name(pos: int, unit: str) -> str:
    """A column as the file's reader sees it: C in a spreadsheet, 3 in a text file."""
    if unit != "row":
        return str(pos + 1)
    from openpyxl.utils import get_column_letter

    return get_column_letter(pos + 1)


def _filled(cell: object) -> bool:
    return isinstance(cell, CellProblem) or (cell is not None and scrub(str(cell)).strip() != "")

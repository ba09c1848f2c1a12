"""FAQ rows from any file shape: column names in Chinese or English, cell values, checks.

Help desks export FAQ sheets with their own headers (标准问题, 问题, question, 相似问法 ...);
every reader maps them to kefu's field names here, so the rules are the same for CSV,
XLSX, JSON and Markdown.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

from ..entry import TAG_SEPARATORS, question_key, validate
from ..text import to_simplified
from ..errors import InvalidEntry
from .records import Place, Problem, Row

LIST_FIELDS = ("similar", "tags")
# Header spellings seen in shop exports; compared after lower-casing and dropping spaces,
# '*' (required-column markers) and bracketed notes such as （必填）.
ALIASES = {
    # 知识编号 / 问题编号: the id column of help-desk knowledge exports (its number, not a row count)
    "id": ["id", "编号", "知识id", "条目id", "entryid", "知识编号", "问题编号", "知识点编号"],
    "question": ["question", "standardquestion", "标准问题", "标准问", "问题", "问法", "标准问法", "faq"],
    "similar": ["similar", "similarquestion", "similarquestions", "相似问题", "相似问", "相似问法", "扩展问题",
                "扩展问", "扩展问法", "其他问法"],
    "answer": ["answer", "standardanswer", "答案", "回复", "回答", "标准答案", "答复", "回复内容", "答案内容"],
    "category": ["category", "分类", "类别", "类目", "问题分类"],
    "tags": ["tags", "tag", "标签", "关键词"],
    "status": ["status", "状态"],
    "valid_from": ["valid_from", "validfrom", "生效时间", "生效日期", "开始时间", "有效期开始"],
    "valid_to": ["valid_to", "validto", "失效时间", "失效日期", "结束时间", "截止日期", "有效期至",
                 "有效期结束"],
}
# One-letter headers (Q/A, 问/答): read only in a header that also names the other of the
# pair, and only for a field no full name in it gives, since a lone "A" or "问" may be
# anything (a column letter, a title).
SHORT = {"question": ["q", "问"], "answer": ["a", "答"]}
# A list field may be spread over numbered columns: 相似问题1, 相似问题2, similar question 3.
_NUMBERED = re.compile(r"[0-9一二三四五六七八九十]+$")
# Columns kefu writes itself (the rejected-rows file) and reads back without complaint.
IGNORED = {"error", "错误", "where", "位置", "original", "原文"}
_LOOKUP = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_SHORT = {alias: name for name, aliases in SHORT.items() for alias in aliases}
STATUS_WORDS = {"已发布": "published", "发布": "published", "上架": "published", "启用": "published",
                "草稿": "draft", "待审核": "draft", "已归档": "archived", "归档": "archived",
                "下架": "archived", "停用": "archived"}


def _key(header: str) -> str:
    """Header text reduced for lookup: simplified script (a Taiwan export says 問題), no
    spaces, markers, quotes (a header cell quoted after a space, ` "问题"`, keeps its
    quotes in CSV) or bracketed notes, lower case."""
    text = re.sub(r"[（(【\[].*?[)）】\]]", "", to_simplified(str(header)))
    return re.sub(r"[\s*＊:：_\-\"'“”‘’]", "", text).lower()


@functools.cache
def _alias_keys() -> dict[str, str]:
    """Every alias reduced as `_key` reduces a header -> its field (the first field listing
    it). Made once: reducing all of them for each unknown header took 5 s for a header row
    of 20,000 cells, and every row of a file may be looked at as a header."""
    keys: dict[str, str] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            keys.setdefault(_key(alias), name)
    return keys


def canonical(header: object, short: bool = False) -> str | None:
    """kefu's field name for a column header, or None if unknown. A list field's name
    may carry a number (相似问题2); with `short`, one-letter names (Q, 答) count too:
    see `field_names` for when they may."""
    if header is None:
        return None
    key = _key(str(header))
    if key in _LOOKUP:
        return _LOOKUP[key]
    if name := _alias_keys().get(key):
        return name
    if (bare := _NUMBERED.sub("", key)) != key and _LOOKUP.get(bare) in LIST_FIELDS:
        return _LOOKUP[bare]
    return _SHORT.get(key) if short else None


def field_names(headers: list[str]) -> list[str | None]:
    """kefu's field name (or None) for each header of one header row or JSON object.
    One-letter names count only where the row names both question and answer with them
    or full names, and never beside a full name of the same field (Q beside 问题 is no
    second question)."""
    names = [canonical(h) for h in headers]
    shorts = {i: name for i, h in enumerate(headers)
              if names[i] is None and (name := canonical(h, short=True)) and name not in names}
    if not shorts or {"question", "answer"} - set(names) - set(shorts.values()):
        return names
    taken: set[str] = set()
    for i, name in shorts.items():
        if name not in taken:  # Q and 问 both: the first is the question, the other unknown
            names[i] = name
            taken.add(name)
    return names


def map_header(cells: list[object]) -> tuple[dict[int, str], list[str], list[str]]:
    """(column position -> field, unknown headers, fields given twice) for a header row."""
    columns: dict[int, str] = {}
    unknown, twice = [], []
    texts = ["" if cell is None else str(cell).strip() for cell in cells]
    for pos, (text, name) in enumerate(zip(texts, field_names(texts))):
        if not text:
            continue
        if name is None:
            if _key(text) not in IGNORED:
                unknown.append(text)
        elif name in columns.values() and name not in LIST_FIELDS:  # list fields take every column
            twice.append(text)
        else:
            columns[pos] = name
    return columns, unknown, twice


def cell_text(value: object) -> str:
    """A spreadsheet or JSON value as the text an editor would see."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _status(text: str) -> str:
    """A status cell as kefu spells it: 已发布 or Published is published, and 已下架 下架
    (a platform's status column says 已 before each word: 已上架, 已停用)."""
    word = to_simplified(text)
    return STATUS_WORDS.get(word) or STATUS_WORDS.get(word.removeprefix("已"), text.lower() if text.isascii() else text)


# A CSV cell starting with one of these is a formula to Excel and LibreOffice (=HYPERLINK(...),
# +cmd|...): kefu writes it behind an apostrophe, the usual mark of text, and reads the
# apostrophe back off. (\n: a CR that decoding made a line break.)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_safe(cell: str) -> str:
    """A cell as kefu writes it into a CSV file: '=SUM(A1) for =SUM(A1) (CSV injection).
    Apostrophes already before such a character ('-_-' 好的) get one more, or reading the
    cell back would take one of the text's own off."""
    return "'" + cell if cell.lstrip("'").startswith(FORMULA_START) else cell


def csv_unescaped(cell: str) -> str:
    """The inverse of csv_safe, for any CSV cell read: '=SUM(A1) is the text =SUM(A1)."""
    return cell[1:] if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START) else cell


# What parts a list cell with no line break: | or ；, and for tags the commas and 、 the
# console's tag field takes too (孕妇，辣条); a similar question may hold a comma (亲，能退吗).
_SEPARATORS = {"similar": "|；", "tags": TAG_SEPARATORS}


def _separators(field: str) -> str:
    return _SEPARATORS.get(field, _SEPARATORS["similar"])


def split_cell(cell: str, field: str = "similar") -> list[str]:
    """Items of a list cell: one per line; a cell with no line break may use | or ；
    (a tags cell also , ， 、 ;)."""
    if "\n" in cell:
        parts = cell.split("\n")
    else:  # a tags cell as split_tags reads one: _SEPARATORS["tags"] is TAG_SEPARATORS
        parts = re.split(f"[{re.escape(_separators(field))}]", cell)
    return [s.strip() for s in parts if s.strip()]


def list_items(value: object, field: str) -> list[str]:
    """A list field's items from a value as read: a list as it is, a cell split (split_cell)."""
    return value if isinstance(value, list) else split_cell(cell_text(value), field)


def join_cell(items: list[str], field: str = "similar") -> str:
    """The inverse of split_cell: a trailing line break keeps one item that holds a separator."""
    text = "\n".join(items)
    if len(items) == 1 and any(c in text for c in _separators(field)):
        text += "\n"
    return text


class RowChecker:
    """Turns raw field values into validated rows, one file at a time (it tracks duplicates)."""

    def __init__(self, columns: dict[str, str] | None = None, seen: dict | None = None):
        self.columns = columns or {}  # field -> header as the file spells it, for messages
        # (kind, id or question) -> where it was first seen; shared by the sheets of one workbook
        self.seen: dict[tuple[str, str], Place] = {} if seen is None else seen

    def check(self, place: Place, raw: dict) -> Row | Problem:
        """`raw` maps field names to cell values (text, lists, numbers, dates)."""
        data: dict = {}
        for name, value in raw.items():
            if name in LIST_FIELDS:
                items = value if isinstance(value, list) else split_cell(cell_text(value), name)
                data[name] = [cell_text(v).strip() for v in items if cell_text(v).strip()]
            else:
                text = cell_text(value).strip()
                if text:
                    data[name] = _status(text) if name == "status" else text
        shown = {k: (join_cell([cell_text(i) for i in v], k) if isinstance(v, list) else cell_text(v))
                 for k, v in raw.items()}
        for name in ("question", "answer"):
            if not data.get(name):
                return self._problem(place, name, "missing or empty", shown)
        # Dates as spreadsheets write them (2026/3/1 9:05, 2026年3月1日), and the advice for one
        # without its year, are validate's: the CLI and the API read them alike.
        try:
            data = validate(data)
        except InvalidEntry as exc:
            reason = exc.reason
            if exc.field == "status":  # the column reads Chinese words too: say which
                words = {s: " ".join(w for w, v in STATUS_WORDS.items() if v == s) for s in STATUS_WORDS.values()}
                reason += "; the column also takes " + "; ".join(f"{w} for {s}" for s, w in words.items()) + \
                    " (已 before a word too: 已上架)"
            return self._problem(place, exc.field, reason, shown)
        question = question_key(data["question"])  # 能開發票嗎？ is 能开发票吗, as in the store
        for key_field, key in self._keys(data, question):
            if key in self.seen:
                return self._problem(place, key_field, f"duplicate of {self._short(self.seen[key])} "
                                                       f"({data[key_field]!r})", shown)
        self.seen[("id", data["id"]) if data.get("id") else ("keyless", question)] = place
        self.seen.setdefault(("question", question), place)  # rows with other ids may share it
        return Row(place, data)

    def more_similar(self, row: Row, place: Place, value: object) -> Problem | None:
        """Add the similar questions in `value` (a cell as read) to the entry of `row`, an
        earlier row of the same question; a Problem at `place` if they make it invalid."""
        items = [cell_text(v).strip() for v in list_items(value, "similar") if cell_text(v).strip()]
        if not items:
            return None
        try:
            row.data = validate({**row.data, "similar": row.data.get("similar", []) + items})
        except InvalidEntry as exc:
            return self._problem(place, exc.field, exc.reason, {"question": row.data["question"],
                                                               "similar": join_cell(items)})
        return None

    @staticmethod
    def _keys(data: dict, question: str) -> list[tuple[str, tuple[str, str]]]:
        """(field, key) that would make this row an earlier row's entry. The store finds a
        row's entry by its id, or without one by its question (`question`, its key): so two
        rows share an entry if they share an id, or if one has no id and they share the question."""
        if data.get("id"):
            return [("id", ("id", data["id"])), ("question", ("keyless", question))]
        return [("question", ("question", question))]

    def _problem(self, place: Place, name: str, reason: str, raw: dict) -> Problem:
        return Problem(place.error(name, reason, self.columns.get(name)), raw)

    @staticmethod
    def _short(place: Place) -> str:
        sheet = f"sheet {place.sheet}, " if place.sheet else ""
        return f"{sheet}{place.unit} {place.line}" if place.line is not None else str(place)

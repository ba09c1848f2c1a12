"""The knowledge-base entry: one FAQ or policy item, and its validation."""

from __future__ import annotations

import functools
import hashlib
import json
import calendar
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time

from .errors import InvalidEntry
from .template import broken_variable
from .text import HALF_WIDTH, MAX_MESSAGE, normalize, scrub, to_simplified

STATUSES = ("draft", "published", "archived")
CATEGORIES = ("售前", "售中", "售后", "投诉", "账户")  # editors may use others too
DEFAULT_CATEGORY = "其他"
EDITABLE = ("question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to")
# A standard question longer than this is saved, with a warning: the longest shipped one has
# 22 characters and most answers have more than 80, so it is most likely an answer typed
# into the question's box.
LONG_QUESTION = 80


def content_hash(content: dict) -> str:
    """The hash of an entry's content (`Entry.content()`, a history row's before or after)."""
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def is_content_hash(value) -> bool:
    """Whether `value` has a content hash's form (16 hex digits, as `content_hash` gives
    them): a change's `--if-hash` or `content_hash` is checked against it first, so a
    mistyped or empty one is told as such, not as an entry changed since."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{16}", value) is not None


@dataclass
class Entry:
    id: str
    question: str
    answer: str
    similar: list[str] = field(default_factory=list)
    category: str = DEFAULT_CATEGORY
    tags: list[str] = field(default_factory=list)
    status: str = "published"
    valid_from: str | None = None
    valid_to: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    author: str | None = None
    version: int = 0

    @property
    def phrasings(self) -> list[str]:
        """The standard question first, then the similar questions (deduplicated)."""
        seen: dict[str, None] = {self.question: None}
        for s in self.similar:
            seen.setdefault(s, None)
        return list(seen)

    def content(self) -> dict:
        return {k: getattr(self, k) for k in EDITABLE}

    def content_hash(self) -> str:
        return content_hash(self.content())

    def is_active(self, now: datetime | None = None) -> bool:
        """Published and inside its validity window (valid_to is inclusive)."""
        return self.status == "published" and in_window(self.valid_from, self.valid_to, now)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_output(self, now: datetime | None = None) -> dict:
        """The entry as `kefu show --json`, `kefu list --json` and the API give it: its
        fields; its content hash, which a change gives back with the version it was made
        on (`--if-hash`, the API's `content_hash`) since after a restore of an older backup
        a version number comes again with other content; and `window`, where `now` stands
        to its validity window (`window_state`: an entry outside it is not suggested,
        whatever its status says). (`to_dict` keeps to the fields: it makes an Entry.)"""
        return {**asdict(self), "content_hash": self.content_hash(),
                "window": window_state(self.valid_from, self.valid_to, now)}


def in_window(valid_from: str | None, valid_to: str | None, now: datetime | None = None) -> bool:
    """True when `now` (local time) is inside [valid_from, valid_to]; a date-only end is
    inclusive. False when a stored bound is no date at all (window_state's "unreadable"):
    kefu cannot tell whether the entry still holds, and one such entry must not make
    every search that finds it fail."""
    now = now or datetime.now()
    try:
        if valid_from and now < _parse_when(valid_from, end=False):
            return False
        if valid_to and now > _parse_when(valid_to, end=True):
            return False
    except ValueError:
        return False
    return True


def window_state(valid_from: str | None, valid_to: str | None, now: datetime | None = None) -> str | None:
    """Where `now` (local time) stands to the validity window: "not_yet" before it starts,
    "expired" after it ends, None inside it. Either way the entry is not suggested,
    whatever its status says. "unreadable" when a stored bound is no date at all
    (2020-13-45, written into the store by hand or another tool): shown for an editor to
    fix, where raising would hide the very entry that needs it."""
    now = now or datetime.now()
    try:
        if valid_to and now > ends_at(valid_to):
            return "expired"
        if valid_from and now < starts_at(valid_from):
            return "not_yet"
    except ValueError:
        return "unreadable"
    return None


def nearest_inside(valid_from: str | None, valid_to: str | None, now: datetime | None = None) -> datetime | None:
    """When `now` is outside the window, its moment nearest `now` (the first of one not
    valid yet, the last of one past); None when `now` is inside."""
    state = window_state(valid_from, valid_to, now)
    if state == "expired":
        return ends_at(valid_to)
    return starts_at(valid_from) if state == "not_yet" else None


def starts_at(valid_from: str) -> datetime:
    """The first local moment a stored start bound covers (a date: its midnight)."""
    return _parse_when(valid_from, end=False)


def ends_at(valid_to: str) -> datetime:
    """The last local moment a stored end bound covers (a date: its 23:59:59.999999)."""
    return _parse_when(valid_to, end=True)


def whole_day(value: str) -> bool:
    """Whether a stored bound is a date alone (2026-12-01, or 20261201 as an older kefu
    stored it), covering the whole day, rather than a moment."""
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _parse_when(value: str, end: bool) -> datetime:
    """A stored bound as a local naive datetime. Lenient on purpose: an older kefu stored
    any `fromisoformat` string (20261129, or an offset it then ignored), and those must
    keep reading the way their writer meant them."""
    try:
        d = date.fromisoformat(value)  # any date-only form is a whole day
    except ValueError:
        return _local(datetime.fromisoformat(value))
    return datetime.combine(d, time.max if end else time.min)


def _local(moment: datetime) -> datetime:
    """Local naive time of the process reading, which `in_window` compares with; an offset
    is converted, not dropped (10:00+08:00 is 03:00 in Berlin, never 10:00). A moment
    at the very edge of the calendar that has no local time is the edge itself."""
    if not moment.tzinfo:
        return moment
    try:
        return moment.astimezone().replace(tzinfo=None)
    except OverflowError:
        return datetime.min if moment.year == 1 else datetime.max


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
# The full-width space too: a spreadsheet's date cell may hold one (２０２６/１２/１２　20：00).
_HALF_WIDTH_WHEN = {**HALF_WIDTH, 0x3000: 0x20}
WHEN_FORMS = ("YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] in local time, or with an offset such as +08:00; "
              "or year first as a spreadsheet writes it: 2026/11/11 20:00, 2026.11.11, 2026年11月11日")

# A date as a spreadsheet writes it in a Chinese locale: Excel saves the 2026-03-01 it
# read from a CSV as 2026/3/1 (a date-time as 2026/3/1 9:05), editors type 2026.3.1 or
# 2026年3月1日 (or 3月1号, as said), in a cell, at `kefu add` or in the API alike. Year
# first only, so the day and month are never in doubt.
_SHEET_DATE = re.compile(r"(\d{4})\s*(?:([-/.])\s*(\d{1,2})\s*\2|年\s*(\d{1,2})\s*月)\s*(\d{1,2})\s*(?(4)[日号]|)"
                         r"(?:(?(4)\s*|\s+)(\d{1,2}):(\d{2})(?::(\d{2}))?)?")  # 日 ends the date: 12日20:00

# A month and day without the year (11月11日, 11.11, 12/12 20:00): which year is meant
# cannot be known (a campaign set up in December for January), so the bound asks for it.
_NO_YEAR = re.compile(r"(\d{1,2})\s*(?:月\s*(\d{1,2})\s*[日号]?|[-/.]\s*(\d{1,2}))(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")


def _with_year(no_year: re.Match) -> str:
    """The advice for a date without its year: its own month and day, in this year, in
    the forms kefu reads (11.11 is 2026-11-11, 2026/11/11 or 2026年11月11日)."""
    month, day = int(no_year[1]), int(no_year[2] or no_year[3])
    year = date.today().year
    try:
        date(year, month, day)
    except ValueError:  # 13.45: no month and day to repeat
        month = day = 11
    return f"{year}-{month:02}-{day:02}, {year}/{month}/{day} or {year}年{month}月{day}日"


def no_year(value: str) -> str | None:
    """The reason a bound such as 11月11日 or 11.11 is refused (it has no year), with the
    forms to write it in; None for any other value."""
    if not (m := _NO_YEAR.fullmatch(value.strip().translate(_HALF_WIDTH_WHEN))):
        return None
    return f"has no year: {value.strip()!r} (write it as {_with_year(m)})"


def _sheet_when(text: str) -> str:
    """A spreadsheet's date in ISO form (2026/3/1 9:05 is 2026-03-01T09:05:00); any other
    text as it is, for the ISO check to accept or refuse (2026/2/30, 25:00 too)."""
    if not (m := _SHEET_DATE.fullmatch(text)):
        return text
    year, _, month, month_zh, day, hour, minute, second = m.groups()
    try:
        day_ = date(int(year), int(month or month_zh), int(day))
        if hour is None:
            return day_.isoformat()
        return datetime.combine(day_, time(int(hour), int(minute), int(second or 0))).isoformat()
    except ValueError:
        return text


def normalize_when(value: str) -> str:
    """A validity bound in the one form kefu stores: YYYY-MM-DD (a whole day), or
    YYYY-MM-DDTHH:MM:SS in local time, or with its offset (+08:00; Z is +00:00) when it
    was given one: that instant, in whatever time zone a process reads it (converted to
    the writer's local time, the CLI in one zone and the server in another disagreed).
    A date written year first as spreadsheets write it (2026/11/11 20:00, 2026.11.11,
    2026年11月11日) is the same day or moment, so a cell, a CLI option and an API field read alike.
    ValueError for anything else: `fromisoformat` alone would also take 20261129 or
    2026-W48, which then compare differently from the dates editors mean; OverflowError
    for a moment with no local time here (before year 1 or after 9999 once converted)."""
    text = _sheet_when(value.strip().translate(_HALF_WIDTH_WHEN).upper())  # ２０２６－１１－１１　20：00, typed in full width
    if not (_DAY.fullmatch(text) or _MOMENT.fullmatch(text)):
        raise ValueError(value)
    return _stored(text)


def _no_such_day(value: str) -> str | None:
    """Why a date in a form kefu reads is still refused: 2026-02-30 is no day (called "not
    an ISO date", it read as a mistake of form); None for any other text."""
    text = value.strip().translate(_HALF_WIDTH_WHEN).upper()
    if m := _SHEET_DATE.fullmatch(text):
        year, month, day = int(m[1]), int(m[3] or m[4]), int(m[5])
    elif _DAY.fullmatch(text) or _MOMENT.fullmatch(text):
        year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    else:
        return None
    if not 1 <= month <= 12:
        return f"no such day: {value!r} (there is no month {month})"
    days = calendar.monthrange(max(year, 1), month)[1]
    if not 1 <= day <= days:
        return f"no such day: {value!r} ({max(year, 1)}-{month:02} has {days} days)"
    return None


def legacy_when(value: str | None) -> str | None:
    """A bound as an older kefu may have stored it, in today's form where it can be read
    (reverting to an old version must not fail on a form kefu no longer accepts)."""
    if not value:
        return None
    try:
        return normalize_when(value)
    except ValueError:
        return _stored(value)


def _stored(value: str) -> str:
    """Any `fromisoformat` bound in the stored form: a date stays a day, a moment is kept
    to the second, with its offset if it has one (ValueError when it does not parse)."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo:
            moment.astimezone()  # OverflowError: no local time has it
        return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def check_window(valid_from: str | None, valid_to: str | None) -> None:
    """InvalidEntry when the window ends before it starts (stored forms, old ones too)."""
    if valid_from and valid_to and _parse_when(valid_from, False) > _parse_when(valid_to, True):
        raise InvalidEntry("valid_to", "is before valid_from")


# The mainland name of a standard category that t2s alone does not give: Taiwan's 帳戶
# becomes 帐户 (a simplified character too), not 账户.
_CATEGORY_SPELLINGS = {"帐户": "账户"}


def category_key(category: str) -> str:
    """A category as categories are compared: simplified script (as search compares text),
    a standard category by its standard name, so 售後 and 帳戶 meet 售后 and 账户."""
    simple = to_simplified(category)
    return _CATEGORY_SPELLINGS.get(simple, simple)


def category_names(categories: Iterable[str | None] | Mapping[str | None, int]) -> dict[str, str]:
    """Each spelling of `categories` (one per entry, or each with its number of entries,
    as `select category, count(*) … group by category` gives them) -> the name its
    category is shown by.

    Spellings with one `category_key` are one category, as every filter compares them
    (過敏 typed once beside 过敏): shown by the spelling most entries use, the first in
    sort order on a tie, so a Taiwan shop's own 過敏 is not renamed 过敏.
    """
    counts = Counter({c: n for c, n in categories.items() if c} if isinstance(categories, Mapping)
                     else (c for c in categories if c))
    best: dict[str, str] = {}
    for name in sorted(counts, key=lambda c: (-counts[c], c)):
        best.setdefault(category_key(name), name)
    return {name: best[category_key(name)] for name in counts}


@functools.lru_cache(maxsize=65536)  # the store's keys are rebuilt whenever an entry changes
def question_key(question: str) -> str:
    """A standard question as questions are compared (finding a row's entry, refusing a
    second entry with the same question): normalised as search normalises text
    (simplified script, half-width, lower case), without punctuation and spaces, so
    能開發票嗎？ and 能开发票吗 are one question."""
    text = normalize(question, max_chars=len(question) + 1).text
    return re.sub(r"[\W_]+", "", text) or text


# What parts tags written on one line: a file's tags cell (without a line break) and the
# console's tag field alike (孕妇，辣条, 巧克力、糖; 成分).
TAG_SEPARATORS = "|；;,，、"
_TAG_SEPARATOR = re.compile(f"[{re.escape(TAG_SEPARATORS)}]")


def split_tags(text: str) -> list[str]:
    """The tags in one line of text (see TAG_SEPARATORS), stripped, none empty."""
    return [t.strip() for t in _TAG_SEPARATOR.split(text) if t.strip()]


def distinct_similar(question: str | None, similar: list[str]) -> list[str]:
    """`similar` with each question once and without the standard question, compared
    as questions are (`question_key`: 能開發票嗎？ is 能开发票吗): a copy of the question
    adds nothing to search and only lengthens the list an editor reads."""
    seen = {question_key(question)} if question else set()
    out = []
    for item in similar:
        if (key := question_key(item)) not in seen:
            seen.add(key)
            out.append(item)
    return out


def same_as_question(question: str | None, similar: Iterable[str]) -> list[str]:
    """The similar questions that are the standard question itself, compared as questions
    are: `distinct_similar` leaves them out, and the editor who typed them is told so."""
    key = question_key(question) if question else None
    return [s for s in similar if s.strip() and question_key(s) == key]


def has_words(text: str) -> bool:
    """Whether `text` holds a letter, digit or character of a script (not only
    punctuation, symbols or emoji: ？？？ asks nothing a message could match)."""
    return re.search(r"[^\W_]", text) is not None


def normalize_category(category: str) -> str:
    """A category as stored: a standard one in traditional script gets its standard
    (simplified) name, so a Big5 file's 分類=售後 files its rows under 售后; a shop's own
    categories stay as written."""
    key = category_key(category)
    return key if key in CATEGORIES else category


# Lone surrogates never belong in FAQ text (SQLite and spreadsheets cannot hold them).
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _clean(text: str) -> str:
    # Control characters (other than line breaks and tabs) and escape sequences, whole,
    # go in strip_controls, which also writes line breaks as \n: browsers post a
    # textarea's as \r\n, and a file's are read as \n, so an answer typed in the console
    # came back from its own CSV export as "changed".
    # Characters of no width too (scrub): pasted from web pages, 退款\u200b时间 was stored so
    # and a search for 退款时间 missed it; an emoji's joiner stays.
    return scrub(_SURROGATE.sub("", text)).strip()


def _bounded(name: str, text: str) -> str:
    """`text` if it is at most MAX_MESSAGE characters, the API's limit on any field: a
    longer one, saved by the console, the CLI or an import, was served to agents whole and
    could not be sent back through the API."""
    if len(text) > MAX_MESSAGE:
        raise InvalidEntry(name, f"has {len(text)} characters; the limit is {MAX_MESSAGE}")
    return text


def _text_list(name: str, value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise InvalidEntry(name, f"expected a list of strings, got {type(value).__name__}")
    out = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidEntry(name, f"expected strings, got {type(item).__name__}")
        item = _bounded(name, " ".join(_clean(item).split()))  # one line: list cells split on line breaks
        if item and item not in out:
            out.append(item)
    return out


def json_type_problem(name: str, value: object) -> str | None:
    """Why a value read from a JSON or JSONL file cannot be field `name`, or None if it can.

    Spreadsheet cells are typed (a number, a date) and become text; a JSON value of the
    wrong shape is a mistake in the file, and turned into text it would be stored as
    nonsense ("question": ["问题"] as the question "['问题']"). Empty values are left to
    `validate`. An id may be a whole number, as other systems often write them.
    """
    if value is None:
        return None
    if name in ("similar", "tags"):
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return None
        inner = next((v for v in value if not isinstance(v, str)), None) if isinstance(value, list) else None
        got = f"a list holding {_json_kind(inner)}" if isinstance(value, list) else _json_kind(value)
        return f"expected a string or a list of strings, got {got}"
    if name == "id" and isinstance(value, int) and not isinstance(value, bool):
        return None
    if not isinstance(value, str):
        return f"expected a string, got {_json_kind(value)}"
    return None


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return {list: "a list", dict: "an object"}.get(type(value), "null" if value is None else type(value).__name__)


_ACTIONS = ("archive", "history", "revert")  # the console's /console/entries/<id>/<action>


def normalize_id(value: object) -> str:
    """An entry id as stored: trimmed, full-width ASCII made half-width. InvalidEntry
    naming `id` for a space or control character inside (ids are written one per line
    and tab-separated by `kefu list` and CSV, and typed back on the command line), and
    for what would make a web address of it ambiguous."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidEntry("id", "must be a non-empty string of at most 64 characters")
    text = value.strip().translate(HALF_WIDTH)  # ＡＢ１ is the id AB1
    bad = next((ch for ch in text if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs")), None)
    if bad is not None:
        raise InvalidEntry("id", f"must not contain spaces or control characters, got {bad!r} in {value!r}")
    if len(text) > 64:
        raise InvalidEntry("id", "must be a non-empty string of at most 64 characters")
    # An id is part of the console's and API's addresses (/console/entries/faq/1/history):
    # "k003/archive" was k003's archive action, ".." the console's front page, and
    # browsers read a backslash as a slash.
    segments = text.split("/")
    if "\\" in text or text == "new" or any(seg in ("", ".", "..") for seg in segments) or len(segments) > 1 and \
            segments[-1] in _ACTIONS:
        raise InvalidEntry("id", f"must not be 'new', contain a backslash, an empty, . or .. part between slashes, or "
                                 f"end in /archive, /history or /revert (ids are parts of web addresses), got {value!r}")
    return text


def validate(data: dict) -> dict:
    """Check and clean the editable fields of `data`; raise InvalidEntry naming the field."""
    unknown = set(data) - set(EDITABLE) - {"id"} - {f.name for f in fields(Entry)}
    if unknown:
        raise InvalidEntry(sorted(unknown)[0], "unknown field")
    out = dict(data)
    for name in ("question", "answer"):
        if name in out:
            value = out[name]
            if not isinstance(value, str) or not _clean(value):
                raise InvalidEntry(name, "must be a non-empty string")
            out[name] = _bounded(name, _clean(value))
    if "question" in out and not has_words(out["question"]):
        raise InvalidEntry("question", "has no words (only punctuation, symbols or emoji)")
    if "\n" in out.get("question", ""):
        # A standard question is one line, as the console's field and a similar question
        # are; in an imported file a line break in it is most often a quote left open
        # that took the rows below into one cell.
        raise InvalidEntry("question", "must be one line (it holds a line break)")
    if "answer" in out and (problem := broken_variable(out["answer"])):
        raise InvalidEntry("answer", f"broken variable: {problem}")
    for name in ("similar", "tags"):
        if name in out:
            out[name] = _text_list(name, out[name])
    if "similar" in out:
        out["similar"] = distinct_similar(out.get("question"), out["similar"])
    if "category" in out:
        cat = out["category"]
        if cat is None or (isinstance(cat, str) and not _clean(cat)):
            out["category"] = DEFAULT_CATEGORY
        elif not isinstance(cat, str):
            raise InvalidEntry("category", "must be a string")
        else:
            out["category"] = normalize_category(_bounded("category", _clean(cat)))
    if "status" in out:
        status = out["status"] or "published"
        if status not in STATUSES:
            raise InvalidEntry("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")
        out["status"] = status
    for name in ("valid_from", "valid_to"):
        if name not in out:
            continue
        if out[name] in ("", None):
            out[name] = None
            continue
        if isinstance(out[name], (date, datetime)):  # a typed value from a caller, not text
            out[name] = out[name].isoformat()
        if not isinstance(out[name], str):
            raise InvalidEntry(name, f"not an ISO date ({WHEN_FORMS}): {out[name]!r}")
        try:
            out[name] = normalize_when(out[name])
        except ValueError:
            raise InvalidEntry(name, no_year(out[name]) or _no_such_day(out[name])
                               or f"not an ISO date ({WHEN_FORMS}): {out[name]!r}") from None
        except OverflowError:  # 0001-01-01T00:00+08:00 falls before year 1 in local time
            raise InvalidEntry(name, f"{out[name]!r} is out of range once converted to local time") from None
    check_window(out.get("valid_from"), out.get("valid_to"))
    if "id" in out and out["id"] is not None:
        out["id"] = normalize_id(out["id"])
    return {k: v for k, v in out.items() if k in EDITABLE or k == "id"}

"""The knowledge-base entry: one FAQ or policy item, and its validation."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime

from .errors import InvalidEntry
from .template import broken_variable

STATUSES = ("draft", "published", "archived")
CATEGORIES = ("售前", "售中", "售后", "投诉", "账户")  # editors may use others too
DEFAULT_CATEGORY = "其他"
EDITABLE = ("question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to")


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
        blob = json.dumps(self.content(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def is_active(self, now: datetime | None = None) -> bool:
        """Published and inside its validity window (valid_to is inclusive)."""
        return self.status == "published" and in_window(self.valid_from, self.valid_to, now)

    def to_dict(self) -> dict:
        return asdict(self)


def in_window(valid_from: str | None, valid_to: str | None, now: datetime | None = None) -> bool:
    """True when `now` (local time) is inside [valid_from, valid_to]; a date-only end is inclusive."""
    now = now or datetime.now()
    if valid_from and now < _parse_when(valid_from, end=False):
        return False
    if valid_to and now > _parse_when(valid_to, end=True):
        return False
    return True


def _parse_when(value: str, end: bool) -> datetime:
    if len(value) == 10:
        d = date.fromisoformat(value)
        return datetime(d.year, d.month, d.day, 23, 59, 59, 999999) if end else datetime(d.year, d.month, d.day)
    return datetime.fromisoformat(value).replace(tzinfo=None)


# Control characters (other than line breaks and tabs) never belong in FAQ text, and
# spreadsheets cannot even hold them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # and lone surrogates


def _clean(text: str) -> str:
    return _CONTROL.sub("", text).strip()


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
        item = " ".join(_clean(item).split())  # one line: list cells split on line breaks
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
            out[name] = _clean(value)
    if "answer" in out and (problem := broken_variable(out["answer"])):
        raise InvalidEntry("answer", f"broken variable: {problem}")
    for name in ("similar", "tags"):
        if name in out:
            out[name] = _text_list(name, out[name])
    if "category" in out:
        cat = out["category"]
        if cat is None or (isinstance(cat, str) and not _clean(cat)):
            out["category"] = DEFAULT_CATEGORY
        elif not isinstance(cat, str):
            raise InvalidEntry("category", "must be a string")
        else:
            out["category"] = _clean(cat)
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
        try:
            _parse_when(str(out[name]), end=False)
        except ValueError:
            raise InvalidEntry(name, f"not an ISO date: {out[name]!r}") from None
        out[name] = str(out[name])
    if out.get("valid_from") and out.get("valid_to"):
        if _parse_when(out["valid_from"], False) > _parse_when(out["valid_to"], True):
            raise InvalidEntry("valid_to", "is before valid_from")
    if "id" in out and out["id"] is not None:
        if not isinstance(out["id"], str) or not out["id"].strip() or len(out["id"]) > 64:
            raise InvalidEntry("id", "must be a non-empty string of at most 64 characters")
        out["id"] = out["id"].strip()
    return {k: v for k, v in out.items() if k in EDITABLE or k == "id"}

"""FAQ entries written as JSON Lines, a JSON array, or FAQ-shaped Markdown."""

from __future__ import annotations

import json
import re
from ..entry import json_type_problem
from ..errors import ImportFileError
from .records import Loaded, Place, Problem
from .rows import RowChecker, canonical


def read_jsonl(text: str, path: str) -> Loaded:
    """One object per line; a line that is not valid JSON is a rejected row, not a failed file."""
    loaded = Loaded(path, "faq")
    checker = RowChecker()
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        place = Place(path, n)
        try:
            data = json.loads(line)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge numbers, deep nesting
            loaded.problems.append(Problem(place.error(None, _json_problem(exc)),
                                           {"original": line}))
            continue
        _add_object(loaded, checker, place, data)
    return loaded


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "invalid JSON (nested too deeply)"
    return f"invalid JSON ({exc})"


def read_json(text: str, path: str) -> Loaded:
    """A JSON array of entry objects, or an object holding one under "entries"."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ImportFileError(path, getattr(exc, "lineno", None), None, _json_problem(exc)) from None
    if isinstance(data, dict) and isinstance(data.get("entries"), list):
        data = data["entries"]
    if not isinstance(data, list):
        raise ImportFileError(path, None, None, 'expected a JSON array of entries or {"entries": [...]}')
    loaded = Loaded(path, "faq")
    checker = RowChecker()
    for n, item in enumerate(data, 1):
        _add_object(loaded, checker, Place(path, n, unit="item"), item)
    return loaded


def _add_object(loaded: Loaded, checker: RowChecker, place: Place, data: object) -> None:
    if not isinstance(data, dict):
        loaded.problems.append(Problem(place.error(None, "expected a JSON object")))
        return
    raw: dict = {}
    for key, value in data.items():
        name = canonical(key)
        if name is not None and name not in raw:
            problem = json_type_problem(name, value)
            if problem is not None:  # ["问题"] or 5 would be stored as the text "['问题']" or "5"
                # The whole row goes to the rejected-rows file, to be fixed and imported.
                whole = {n: v for k, v in data.items() if (n := canonical(k)) is not None}
                loaded.problems.append(Problem(place.error(name, problem, str(key)), {**whole, name: str(value)}))
                return
            raw[name] = value
        elif name is None and not str(key).startswith("_") and key not in loaded.ignored:
            loaded.ignored.add(key)
            loaded.notes.append(f"{place}: unknown field {key!r} was not imported (nor in later rows)")
    loaded.add(checker.check(place, raw))


# -- Markdown ------------------------------------------------------------------------------

_QA = re.compile(r"^\s*(?:[-*]\s*)?(?:\*\*)?(Q|A|问|答)(?:\*\*)?\s*[:：]\s*(.*)$", re.IGNORECASE)
_HEADING = re.compile(r"#{1,6}\s+(.+)")
_ASKS = re.compile(r"[?？]$|吗|怎么|如何|能否|可以|多久|多少|什么|哪|为什么|是否")


def heading_title(line: str) -> str | None:
    """The title of a Markdown heading line (`## 怎么退货？ ##` -> 怎么退货？), else None.

    The closing #s and spaces are cut off in Python: a pattern that leaves them to a lazy
    `.+?` backtracks cubically in a run of spaces (3,000 of them took minutes)."""
    match = _HEADING.fullmatch(line)
    if match is None:
        return None
    title = match.group(1)
    return title.rstrip().rstrip("#").rstrip() or title[0]  # a title of only #s keeps one


def markdown_faq(text: str, path: str) -> Loaded | None:
    """Entries from Q:/A: pairs or from question headings; None if the file is prose."""
    lines = text.split("\n")
    if sum(1 for ln in lines if (m := _QA.match(ln)) and m.group(1).upper() in ("Q", "问")) >= 1:
        return _qa_pairs(lines, path)
    headings = [title for ln in lines if (title := heading_title(ln)) is not None]
    questions = [h for h in headings if _ASKS.search(h)]
    if len(questions) >= 2 and len(questions) * 3 >= len(headings) * 2 - 1:
        return _question_headings(lines, path)
    return None


def _add_pair(loaded: Loaded, checker: RowChecker, current: tuple | None, category: str | None) -> None:
    """Check one (line, question, answer lines) pair found in Markdown."""
    if current is None:
        return
    n, question, answer = current
    raw = {"question": question, "answer": "\n".join(answer).strip()}
    if category:
        raw["category"] = category
    loaded.add(checker.check(Place(loaded.source, n), raw))


def _qa_pairs(lines: list[str], path: str) -> Loaded:
    loaded = Loaded(path, "faq")
    checker = RowChecker()
    category = None
    current: tuple[int, str, list[str]] | None = None  # (line, question, answer lines)

    in_answer = False
    for n, line in enumerate(lines, 1):
        qa, heading = _QA.match(line), heading_title(line)
        if heading is not None and not qa:
            _add_pair(loaded, checker, current, category)
            current, in_answer = None, False
            category = heading
        elif qa and qa.group(1).upper() in ("Q", "问"):
            _add_pair(loaded, checker, current, category)
            current, in_answer = (n, qa.group(2).strip(), []), False
        elif qa and current is not None:
            current[2].append(qa.group(2))
            in_answer = True
        elif current is not None and in_answer:
            current[2].append(line)
        elif current is not None and line.strip():
            current = (current[0], f"{current[1]} {line.strip()}", current[2])
    _add_pair(loaded, checker, current, category)
    return loaded


def _question_headings(lines: list[str], path: str) -> Loaded:
    """`## 怎么退货？` followed by its answer; a non-question heading above names the category."""
    loaded = Loaded(path, "faq")
    checker = RowChecker()
    category = None
    current: tuple[int, str, list[str]] | None = None

    for n, line in enumerate(lines, 1):
        title = heading_title(line)
        if title is not None:
            _add_pair(loaded, checker, current, category)
            if _ASKS.search(title):
                current = (n, title, [])
            else:
                current, category = None, title
        elif current is not None:
            current[2].append(line)
    _add_pair(loaded, checker, current, category)
    return loaded

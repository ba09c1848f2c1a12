"""FAQ entries written as JSON Lines, a JSON array, or FAQ-shaped Markdown."""

from __future__ import annotations

import json
import re
from ..entry import json_type_problem
from ..errors import ImportFileError
from .records import Loaded, Place, Problem
from .rows import LIST_FIELDS, RowChecker, field_names, list_items


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
        # Some messages end in "at" already ("Invalid control character at").
        return f"invalid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"
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
    names = field_names([str(key) for key in data])
    for (key, value), name in zip(data.items(), names):
        if name is None:
            if not str(key).startswith("_") and key not in loaded.ignored:
                loaded.ignored.add(key)
                loaded.notes.append(f"{place}: unknown field {key!r} was not imported (nor in later rows)")
            continue
        if name in raw and name not in LIST_FIELDS:
            if key not in loaded.ignored:
                loaded.ignored.add(key)
                loaded.notes.append(f"{place}: field {key!r} repeats a field already read, ignored (nor in later rows)")
            continue
        problem = json_type_problem(name, value)
        if problem is not None:  # ["问题"] or 5 would be stored as the text "['问题']" or "5"
            # The whole row goes to the rejected-rows file, to be fixed and imported.
            whole = {n: v for (k, v), n in zip(data.items(), names) if n is not None}
            loaded.problems.append(Problem(place.error(name, problem, str(key)), {**whole, name: str(value)}))
            return
        # A list field in several keys (相似问题1, 相似问题2) gets the items of all of them.
        raw[name] = list_items(raw[name], name) + list_items(value, name) if name in raw else value
    loaded.add(checker.check(place, raw))


# -- Markdown ------------------------------------------------------------------------------

# Q:/A: (问：/答：) markers, numbered too as FAQs number their pairs (Q1：… A1：…, 问2：…).
# See `_marker` for when a numbered one counts. Not Q1、… : 、 lists things as often (an
# answer's "Q1、Q2持平", a report's "A1、A2两款卖得最好").
_QA = re.compile(r"^\s*(?:[-*]\s*)?(?P<open>\*\*)?(?P<mark>Q|A|问|答)(?:[ \t]*(?P<num>[0-9０-９]{1,3}))?"
                 r"(?P<close>\*\*)?\s*[:：]\s*(?P<text>.*)$", re.IGNORECASE)
_HEADING = re.compile(r"#{1,6}\s+(.+)")
_ASKS = re.compile(r"[?？]$|吗|怎么|如何|能否|可以|多久|多少|什么|哪|为什么|是否")


def _marker(line: str, numbered: bool) -> re.Match | None:
    """The line's Q:/A: marker, if it is one. A numbered one (Q3：) counts only in a file
    whose numbered markers pair questions with answers (`numbered`): a prose report's
    `Q3：本季度GMV同比增长20%。` is a quarter, not a question."""
    qa = _QA.match(line)
    return None if qa is None or qa["num"] and not numbered else qa


def _is_question(qa: re.Match | None) -> bool:
    return qa is not None and qa["mark"].upper() in ("Q", "问")


def _numbered_pairs(lines: list[str]) -> bool:
    """Whether a numbered question marker (Q1：, 问1：) is followed by an answer marker (A1：,
    or a plain A：) before the next question: the file numbers its Q&A pairs."""
    marks = [(_is_question(qa), bool(qa["num"])) for ln in lines if (qa := _marker(ln, True))]
    return any(q and num and not a for (q, num), (a, _) in zip(marks, marks[1:]))


def _marked_text(qa: re.Match) -> str:
    """The text after a Q:/A: marker. A bold opened before the marker closes after it, on
    the line's end (**问：有大码吗？**) or after the colon (**问：**有大码吗？): that ** went to
    customers and into the question, as bold markup is dropped only where it opens and closes."""
    text = qa["text"]
    if qa["open"] and not qa["close"]:
        if text.startswith("**"):
            return text[2:]
        if text.rstrip().endswith("**") and text.count("**") % 2 == 1:
            return text.rstrip()[:-2]
    return text


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
    """Entries from Q:/A: pairs and from question headings (both may be in one file);
    None if the file is prose.

    Category headings (no question, nothing beneath them but question headings) do not
    count against the question headings: `# 售前` over `## 有现货吗？` is an FAQ layout."""
    lines = text.split("\n")
    numbered = _numbered_pairs(lines)
    if any(_is_question(_marker(ln, numbered)) for ln in lines):
        return _read_faq(lines, path, numbered)
    headings = [(level, title) for ln in lines if (level := _level(ln))
                and (title := heading_title(ln)) is not None]
    questions = sum(1 for _, title in headings if _ASKS.search(title))
    others = len(headings) - questions - _category_count(headings, lines)
    if questions >= 2 and questions * 3 >= (questions + others) * 2 - 1:
        return _read_faq(lines, path, numbered)
    return None


def _level(line: str) -> int:
    return len(line) - len(line.lstrip("#")) if heading_title(line) is not None else 0


def _category_count(headings: list[tuple[int, str]], lines: list[str]) -> int:
    """Non-question headings with no text of their own whose section holds question
    headings only."""
    body_before_next = _text_under_headings(lines)
    count = 0
    for i, (level, title) in enumerate(headings):
        if _ASKS.search(title) or body_before_next[i]:
            continue
        inside = []
        for sub_level, sub_title in headings[i + 1:]:
            if sub_level <= level:
                break
            inside.append(sub_title)
        if inside and all(_ASKS.search(t) for t in inside):
            count += 1
    return count


def _text_under_headings(lines: list[str]) -> list[bool]:
    """For each heading in order: whether any text sits between it and the next heading."""
    found: list[bool] = []
    for line in lines:
        if heading_title(line) is not None:
            found.append(False)
        elif found and line.strip():
            found[-1] = True
    return found


# A thematic break (---, ***, ___, * * *), which FAQ files put between entries, and an
# editor's HTML comment (<!-- 待补充 -->, on one line or several): no text for a customer.
_RULE = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_COMMENT = re.compile(r"[ \t]*<!--.*?-->", re.S)


def _without_comments(lines: list[str]) -> list[str | None]:
    """`lines` without HTML comments; None for a line that held nothing else (left out, not
    a blank line in an answer). Line numbers stay those of the file."""
    out: list[str | None] = []
    opened = False  # inside a comment begun on an earlier line
    for line in lines:
        text = line
        if opened:
            end = text.find("-->")
            if end < 0:
                out.append(None)
                continue
            text, opened = text[end + 3:], False
        text = _COMMENT.sub("", text)
        if (start := text.find("<!--")) >= 0:
            text, opened = text[:start].rstrip(), True
        out.append(None if text != line and not text.strip() else text)
    return out


# Markdown markup, which a chat does not render: an answer is read as the customer is to see
# it. Bold and code marks go, a quote's >, and a link becomes its text with its address after
# it (请在订单页（https://…）申请). A single * or _ stays (满2件*9折 is a price), and so do
# marks between Latin letters or digits around a number (型号 AB__12__CD, 5**2 和 3**4),
# __ around an identifier (__init__), and a > before a number (>99元包邮, >=2件): text, not
# markup. Bold beside a Latin word around Chinese still goes (满99**包邮**, VIP**专享**价).
# Each pattern takes time linear in the text (see documents.EMPHASIS).
_LATIN = re.compile(r"[A-Za-z0-9]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _unbolded(m: re.Match) -> str:
    """The text a bold match stands for, or the match as it is where it is text (see above)."""
    before, after = m.string[m.start() - 1:m.start()], m.string[m.end():m.end() + 1]
    if m[2][0].isdigit() and _LATIN.fullmatch(before) and _LATIN.fullmatch(after):
        return m[0]
    return m[0] if m[1] == "__" and _IDENTIFIER.fullmatch(m[2]) else m[2]


_MD_MARKUP = [
    (re.compile(r"!?\[([^\[\]]*)\]\(\s*([^()\s]*)\s*\)"),
     lambda m: m[2] if not m[1].strip() or m[1].strip() == m[2] else f"{m[1]}（{m[2]}）" if m[2] else m[1]),
    (re.compile(r"<((?:https?://|mailto:)[^<>\s]+)>"), lambda m: m[1]),
    (re.compile(r"(?<!`)`+([^`]+?)`+"), lambda m: m[1]),
    (re.compile(r"(?<!\*)(\*\*)(?=\S)(.{1,300}?)(?<=\S)\*\*(?!\*)"), _unbolded),
    # underscores bold only at a word's edge (CommonMark): AB__12__CD is a model number
    (re.compile(r"(?<![A-Za-z0-9_])(__)(?=\S)(.{1,300}?)(?<=\S)__(?![A-Za-z0-9_])"), _unbolded),
    (re.compile(r"^ {0,3}>(?![\d=＝])[ \t]?"), lambda m: ""),
]


def _chat_text(line: str) -> str:
    """A Markdown line of an FAQ as plain chat text (see _MD_MARKUP)."""
    for pattern, replace in _MD_MARKUP:
        line = pattern.sub(replace, line)
    return line


def _add_pair(loaded: Loaded, checker: RowChecker, current: tuple | None, category: str | None) -> None:
    """Check one (line, question, answer lines) pair found in Markdown."""
    if current is None:
        return
    n, question, answer = current
    raw = {"question": _chat_text(question).strip(), "answer": "\n".join(map(_chat_text, answer)).strip()}
    if category:
        raw["category"] = category
    loaded.add(checker.check(Place(loaded.source, n), raw))


def _read_faq(lines: list[str], path: str, numbered: bool = False) -> Loaded:
    """Question headings (`## 怎么退货？` followed by its answer) and Q:/A: pairs, in any
    mix; a non-question heading names the category of the pairs that follow it and of the
    question headings nested under it (deeper level): a sibling `## 怎么联系客服？` after
    `## 售前` takes the category of an enclosing heading, if any. A question heading with
    nothing under it but Q:/A: pairs names their category, as it did before both forms
    were read together. Text that belongs to no question is reported in a note.
    `numbered`: the file numbers its pairs (Q1：… A1：…), so numbered markers are markers."""
    loaded = Loaded(path, "faq")
    checker = RowChecker()
    category = None
    current: tuple[int, str, list[str]] | None = None  # (line, question, answer lines)
    asking = False  # inside a Q: question, before its A:
    from_heading = False  # `current` is a question heading
    stray: tuple[int, str | None] | None = None  # (first line, heading) of text no question owns
    sections: list[tuple[int, str]] = []  # (level, title) of the category headings still open

    def flush() -> None:
        nonlocal stray
        _add_pair(loaded, checker, current, category)
        if stray is not None:
            under = f" under heading {stray[1]!r}" if stray[1] else ""
            loaded.notes.append(f"{path}, line {stray[0]}: text{under} belongs to no question, not imported")
            stray = None

    for n, line in enumerate(_without_comments(lines), 1):
        if line is None or _RULE.fullmatch(line):
            continue
        qa, title = _marker(line, numbered), heading_title(line)
        if title is not None and not qa:
            flush()
            level = _level(line)
            while sections and sections[-1][0] >= level:
                sections.pop()
            if _ASKS.search(title):
                current, asking, from_heading = (n, title, []), False, True
                category = sections[-1][1] if sections else None
            else:
                sections.append((level, title))
                current, category = None, title
        elif _is_question(qa):
            if current is not None and from_heading and not "".join(current[2]).strip():
                category = current[1]
                current = None
            flush()
            current, asking, from_heading = (n, _marked_text(qa).strip(), []), True, False
        elif qa and current is not None and (asking or from_heading and not "".join(current[2]).strip()):
            # the A: that opens an answer; one further down is the answer's own text, an
            # option of a list ("A：基础款 ¥99" above "B：升级款 ¥129"), kept as written
            current[2].append(_marked_text(qa))
            asking = False
        elif current is not None and not asking:
            current[2].append(line)
        elif current is not None and line.strip():
            current = (current[0], f"{current[1]} {line.strip()}", current[2])
        elif line.strip() and stray is None:
            stray = (n, category)
    flush()
    return loaded

"""Variables in answers and 话术: `{订单号}`, `{客户称呼||亲}` (text after || is the fallback)."""

from __future__ import annotations

import re

VARIABLE = re.compile(r"\{([^{}|]+?)(?:\|\|([^{}]*))?\}")


def broken_variable(text: str) -> str | None:
    """A description of the first malformed variable in `text`, or None when all are well formed."""
    rest = VARIABLE.sub("", text)
    for ch in "{}":
        pos = rest.find(ch)
        if pos >= 0:
            start = max(0, pos - 6)
            return f"unbalanced {ch!r} near {rest[start:pos + 6]!r}"
    for m in VARIABLE.finditer(text):
        if not m.group(1).strip():
            return f"empty variable name in {m.group(0)!r}"
        if "\n" in m.group(0):
            # a { left open in an answer of several lines reaches a } further down: the
            # lines between would become a variable's name, a placeholder in every draft
            return f"a line break inside {m.group(0)!r} (a }} missing?)"
    return None


def variables(text: str) -> list[str]:
    return [m.group(1).strip() for m in VARIABLE.finditer(text)]

"""The 话术 library: greeting, empathy, apology, closing … lines tagged by stage and tone."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kefu.kb.errors import ImportFileError
from kefu.kb.io import iter_jsonl, read_text
from kefu.kb.template import broken_variable
from kefu.kb.text import HALF_WIDTH, scrub, strip_controls, to_simplified

KINDS = ("greeting_first", "greeting_later", "thanks_wait", "empathy", "apology", "restate",
         "escalation", "closing", "rating", "clarify", "no_match", "received")
TONES = ("any", "calm", "anxious", "angry")  # "any", or the customer sentiment a line suits
SCRIPTS = ("simplified", "traditional")
# Kinds a library must keep a line of: a no_match line is the whole reply when no entry
# answers (the drafts fall back to a built-in line, but the shop's own voice is gone).
# The other kinds are added around an answer, or have a built-in whole reply.
REQUIRED_KINDS = ("no_match",)
# What the drafts (suggest/draft.py, Composer) ask some kinds for. A tone not listed is
# never picked: an angry customer hears an apology, not empathy; apologies and escalations
# are for upset customers, an upset one chasing a reply gets the anxious thanks_wait line,
# and none is invited to rate. A stage not listed is picked only while the kind has no line
# of an asked one at all (pick filters by stage before tone). Kinds not named here are asked for every tone, and whatever their stage is
# picked somewhere (a greeting_first line of another stage than 接待 opens an answer, but is
# a greeting on its own only while no 接待 line suits).
TONES_ASKED = {"empathy": ("calm", "anxious"), "apology": ("angry",), "thanks_wait": ("calm", "anxious"),
               "escalation": ("angry",), "rating": ("calm", "anxious")}
STAGES_ASKED = {"greeting_later": ("了解需求", "接待", "后续跟踪"),
                "closing": ("提供解决方案", "后续跟踪", "告别", "了解需求"), "rating": ("告别",)}
# The id load() gives a line written without one: line5 for the file's fifth. A line named
# so by hand could share it with another in drafts' explanations: the console refuses it,
# `kefu lint` warns of one in a file (the loader reads it, as it reads an id given twice).
# Only f"line{n}", n from 1 in ASCII digits: line05, line0 or line٥ is no id it gives.
GIVEN_ID = re.compile(r"line([1-9][0-9]*)")


def phrase_id(value: object) -> str:
    """A line's id as the console saves it and as ids are told apart: trimmed, without
    characters of no width, full-width ASCII half-width (ｈ００１ is h001, as an entry's
    ＡＢ１ is AB1). Saved as typed, 'h001' + a zero-width space looked like another line's
    h001 in the list, whose links by id then matched neither or both."""
    return scrub(str(value)).strip().translate(HALF_WIDTH)


def repeated_ids(ids: list[tuple[int, object]]) -> dict[str, list[int]]:
    """The ids (as `phrase_id` tells them apart) that more than one of the numbered `ids`
    holds, each with its numbers; a line without an id (None, "") holds none."""
    numbers: dict[str, list[int]] = {}
    for n, value in ids:
        if value is not None and (key := phrase_id(value)):
            numbers.setdefault(key, []).append(n)
    return {key: ns for key, ns in numbers.items() if len(ns) > 1}


# An opener ("好的亲，") ends like this: it leads into an answer and is never a reply alone.
OPENER_ENDS = ("，", ",", "、", "：", ":")


@dataclass(frozen=True)
class Phrase:
    id: str
    kind: str
    stage: str
    tone: str
    script: str
    text: str


class PhraseLibrary:
    def __init__(self, phrases: list[Phrase]):
        self.phrases = phrases

    @classmethod
    def load(cls, path: str | Path) -> "PhraseLibrary":
        """Read a JSONL library; a bad line (unknown kind, broken variable) names file, line, field."""
        path = Path(path)
        phrases = []
        # No command that reads the library has an --encoding option to suggest.
        for n, d in iter_jsonl(path, read_text(path, option=None)):
            if d.get("kind") not in KINDS:
                raise ImportFileError(path, n, "kind", f"must be one of {', '.join(KINDS)}")
            text = d.get("text")
            if isinstance(text, str):  # as an entry's answer: no \r or control character reaches a draft
                text = strip_controls(text)
            if not isinstance(text, str) or not text.strip():
                raise ImportFileError(path, n, "text", "missing or empty")
            if problem := broken_variable(text):
                raise ImportFileError(path, n, "text", f"broken variable: {problem}")
            # pick() only ever chooses these: a line with another could never be offered.
            for name, allowed in (("tone", TONES), ("script", SCRIPTS)):
                if d.get(name, allowed[0]) not in allowed:
                    raise ImportFileError(path, n, name, f"must be one of {', '.join(allowed)}, got {d[name]!r}")
            # pick() is asked for the simplified names: 告別 or 後續跟蹤, written beside a line for
            # Taiwan customers, is that stage, not one no draft asks for.
            stage = to_simplified(str(d.get("stage") or "").strip())
            phrases.append(Phrase(str(d.get("id") or f"line{n}"), d["kind"], stage,
                                  d.get("tone", TONES[0]), d.get("script", SCRIPTS[0]), text.strip()))
        return cls(phrases)

    @staticmethod
    def unasked(kind: str, stage: str, tone: str) -> dict[str, tuple[str, ...]]:
        """The fields of a line the drafts never ask its kind for ("tone", "stage"), each
        with the values they do ask for (TONES_ASKED, STAGES_ASKED); {} for a line they use."""
        out = {}
        if tone != "any" and kind in TONES_ASKED and tone not in TONES_ASKED[kind]:
            out["tone"] = TONES_ASKED[kind]
        if kind in STAGES_ASKED and to_simplified((stage or "").strip()) not in STAGES_ASKED[kind]:
            out["stage"] = STAGES_ASKED[kind]
        return out

    def missing_kinds(self) -> list[str]:
        """The REQUIRED_KINDS the library has no line of."""
        have = {p.kind for p in self.phrases}
        return [k for k in REQUIRED_KINDS if k not in have]

    def pick(self, kind: str, key: str, tone: str | None = None, asks: bool = True,
             question: bool = False, stage: str | None = None, whole: bool = False,
             script: str | None = None, without: re.Pattern | None = None) -> Phrase | None:
        """One line of `kind` that suits the customer's `tone` and the `stage`, chosen stably from `key`.

        `tone` is the customer's sentiment: lines tagged with it come first, then lines
        for any tone; a "calm" line ("这个问题就处理好啦") is never offered to an anxious
        or angry customer. `stage` prefers lines tagged with that stage (an opener before
        an answer is tagged 了解需求, a reply to a mid-conversation "在吗" 接待).
        `whole=True` keeps only lines that are a reply on their own, not an opener that
        ends in a comma. `asks=False` prefers lines that do not end in a question
        ("请问有什么可以帮您？" makes no sense right before an answer); `question=True`
        prefers lines that ask one (a closing after an answer offers more help rather
        than ending the chat). `script` (the customer's) prefers lines written for it: a
        line an editor wrote for Taiwan customers (超商取貨) is not offered on the mainland
        while a simplified one is there, and the other way round; every line is still
        converted to the customer's script. `without` leaves out lines it matches, when
        others are left ("不客气" answers thanks, not a bare "好的").

        The same message always gets the same wording, so drafts are reproducible,
        while different messages see the library's variety.
        """
        options = [p for p in self.phrases if p.kind == kind]
        if whole:
            options = [p for p in options if not p.text.endswith(OPENER_ENDS)]
        if stage:
            options = [p for p in options if p.stage == stage] or options
        if not asks:
            options = [p for p in options if not p.text.endswith(("？", "?"))] or options
        if question:
            options = [p for p in options if "？" in p.text or "?" in p.text] or options
        if tone in (None, "calm"):
            options = [p for p in options if p.tone in ("any", "calm")] or options
        else:
            options = [p for p in options if p.tone == tone] or [p for p in options if p.tone == "any"]
        if without is not None:
            options = [p for p in options if not without.search(p.text)] or options
        if script:  # after the tone: a line for the right tone in the other script beats none
            options = [p for p in options if p.script == script] or options
        if not options:
            return None
        h = int.from_bytes(hashlib.md5(f"{kind}\0{key}".encode()).digest()[:4], "little")
        return options[h % len(options)]

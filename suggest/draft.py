"""Reply drafts: 话术 around an entry's answer, variables filled, in the customer's script.

Styles (README has the same list):
- warm: greeting on a first message, empathy (anxious) or apology (angry, complaint),
  the answer, an escalation line for complaints, a closing that offers more help;
- concise: a short opener and the answer;
- alternative: the second-best entry's answer, when it is a real alternative;
- clarify: asks which of the competing topics the customer means (ambiguous or no
  good match) — never an invented answer;
- both: two questions in one message, answered one after the other;
- no_match: a polite holding line, for when the base has no answer;
- greeting / closing: for a message that only greets, or only thanks or says goodbye.
The entry's answer is never reworded: facts and numbers stay word for word; only
the script changes (OpenCC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kefu.kb.template import VARIABLE
from kefu.kb.text import TRADITIONAL, to_simplified, to_traditional

from .phrases import PhraseLibrary
from .retrieve import Hit
from .safety import Flag, Safety
from .understand import Understanding

STAGE_TAGS = {"接待", "了解需求", "提供解决方案", "确认订单", "告别", "后续跟踪"}
# A salutation the entry's answer opens with, dropped when kefu's own opener comes first.
SALUTATION = re.compile(r"^(?:亲亲?|親親?|您好|你好|哈喽)[，,！!～~。\s]*")
# An answer that already opens by apologising or empathising (complaint entries often do).
_APOLOGISES = re.compile(r"^.{0,6}(?:抱歉|对不起|對不起|不好意思|理解您|理解你|给您添麻烦|給您添麻煩)")
ORDER_NO = re.compile(r"(?<![\dA-Za-z])\d{12,20}(?!\d)")
TRACKING_NO = re.compile(r"(?<![A-Za-z0-9])(?:SF|YT|ZT|YD|JT|JD|STO|ZTO|YTO|EMS)\d{9,15}(?!\d)", re.I)


def values_from_message(text: str) -> dict[str, str]:
    """Variable values a message gives away: order and tracking numbers."""
    values = {}
    if m := TRACKING_NO.search(text):
        values["快递单号"] = values["运单号"] = m.group(0).upper()
    if m := ORDER_NO.search(text):
        values["订单号"] = m.group(0)
    return values


def fill(text: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Replace variables by their value, else their fallback, else a visible 【请填写…】."""
    missing: list[str] = []

    def sub(m: re.Match) -> str:
        name, fallback = m.group(1).strip(), m.group(2)
        if values.get(name):
            return values[name]
        if fallback is not None:
            return fallback
        if name not in missing:
            missing.append(name)
        return f"【请填写{name}】"
    return VARIABLE.sub(sub, text), missing


@dataclass
class Draft:
    text: str
    entry_ids: list[str]
    style: str
    missing_variables: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)


def topic(hit: Hit) -> str:
    """A short name for what an entry is about, for clarifying questions."""
    for tag in hit.tags:
        if tag not in STAGE_TAGS:
            return tag
    return re.sub(r"[？?。！!，,\s]+$", "", hit.question)[:14]


class Composer:
    def __init__(self, phrases: PhraseLibrary, safety: Safety, traditional: str = "s2twp"):
        self.phrases = phrases
        self.safety = safety
        self.traditional = traditional  # OpenCC config for traditional customers: s2twp or s2hk

    # -- building blocks -------------------------------------------------------------
    def _line(self, kind: str, key: str, tone: str | None, why: str, parts: list, notes: list,
              asks: bool = True, question: bool = False) -> None:
        phrase = self.phrases.pick(kind, key, tone, asks, question)
        if phrase:
            parts.append((phrase.text, "kefu"))
            notes.append(f"话术 {phrase.id} ({kind}): {why}")

    def _finish(self, parts: list[tuple[str, str]], u: Understanding, values: dict[str, str],
                entry_ids: list[str], style: str, notes: list[str]) -> Draft:
        texts, missing, entry_spans, pos = [], [], [], 0
        for raw, source in parts:
            text, miss = fill(raw, values)
            text = to_traditional(text, self.traditional) if u.script == TRADITIONAL else to_simplified(text)
            if source == "entry":
                entry_spans.append((pos, pos + len(text)))
            missing += [m for m in miss if m not in missing]
            texts.append(text)
            pos += len(text)
        full = "".join(texts)
        # The word lists are simplified; OpenCC keeps character positions.
        flags = self.safety.check(to_simplified(full), entry_spans)
        return Draft(full, entry_ids, style, missing, flags, notes)

    @staticmethod
    def _answer(hit: Hit, parts: list) -> tuple[str, str]:
        """The entry's answer, without its own salutation when kefu already opened."""
        text = SALUTATION.sub("", hit.answer) if parts else hit.answer
        return (text or hit.answer), "entry"

    def _opening(self, u: Understanding, key: str, parts: list, notes: list, greet: bool = True,
                 answer: str = "") -> None:
        upset = u.sentiment == "angry" or u.intent == "complaint"
        if greet and u.first_message and not upset:
            self._line("greeting_first", key, None, "first message of the conversation", parts, notes,
                       asks=False)
        if (upset or u.sentiment == "anxious") and _APOLOGISES.match(SALUTATION.sub("", answer)):
            notes.append("the answer opens with its own apology: no second one")
        elif upset:
            self._line("apology", key, "angry", f"{u.sentiment}/{u.intent} → apology first", parts, notes)
        elif u.sentiment == "anxious":
            self._line("empathy", key, "anxious", "anxious → empathy first", parts, notes)

    # -- drafts ------------------------------------------------------------------------
    def warm(self, u: Understanding, hit: Hit, values: dict, key: str) -> Draft:
        parts, notes = [], []
        self._opening(u, key, parts, notes, answer=hit.answer)
        parts.append(self._answer(hit, parts))
        if u.intent == "complaint" and "主管" in to_simplified(hit.answer):
            notes.append("the answer already escalates to a supervisor: no escalation line")
        elif u.intent == "complaint":
            self._line("escalation", key, None, "complaint → supervisor callback", parts, notes)
        self._line("closing", key, None, "offer more help", parts, notes, question=True)
        return self._finish(parts, u, values, [hit.entry_id], "warm", notes)

    def concise(self, u: Understanding, hit: Hit, values: dict, key: str, style: str = "concise",
                opener: bool = True) -> Draft:
        parts, notes = [], []
        if opener:
            self._line("greeting_later", key, None, "short opener", parts, notes)
        parts.append(self._answer(hit, parts))
        return self._finish(parts, u, values, [hit.entry_id], style, notes)

    def both(self, u: Understanding, first: Hit, second: Hit, values: dict, key: str) -> Draft:
        parts, notes = [], ["the message asks two things: both answers"]
        self._opening(u, key, parts, notes, answer=first.answer)
        parts.append(self._answer(first, parts))
        parts += [("另外，", "kefu"), self._answer(second, parts)]
        self._line("closing", key, None, "offer more help", parts, notes, question=True)
        return self._finish(parts, u, values, [first.entry_id, second.entry_id], "both", notes)

    def clarify(self, u: Understanding, hits: list[Hit], values: dict, key: str) -> Draft | None:
        names = list(dict.fromkeys(topic(h) for h in hits))[:3]
        if len(names) < 2:
            return None
        options = "、".join(f"「{n}」" for n in names[:-1]) + f"还是「{names[-1]}」"
        parts, notes = [], [f"competing entries: {', '.join(h.entry_id for h in hits)}"]
        phrase = self.phrases.pick("clarify", key)
        template = phrase.text if phrase else "请问您是想咨询{选项}呢？"
        parts.append((template.replace("{选项}", options), "kefu"))
        return self._finish(parts, u, values, [h.entry_id for h in hits], "clarify", notes)

    def holding(self, u: Understanding, values: dict, key: str) -> Draft:
        parts, notes = [], ["no entry answers this message"]
        self._opening(u, key, parts, notes, greet=False)
        self._line("no_match", key, None, "no good match: no invented answer", parts, notes)
        return self._finish(parts, u, values, [], "no_match", notes)

    def only(self, kind: str, style: str, u: Understanding, values: dict, key: str) -> Draft:
        parts, notes = [], []
        self._line(kind, key, None, f"{u.intent} only", parts, notes)
        if kind == "closing":
            self._line("rating", key, None, "invite a rating", parts, notes)
        return self._finish(parts, u, values, [], style, notes)

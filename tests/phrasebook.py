"""A tiny hand-written 话术 library and safety list for the drafting tests.

Kept in code (not corpus/huashu.jsonl) so the tests do not move when the shipped
library is edited. Every line's text is distinct and free of the listed words.
"""

from __future__ import annotations

from kefu.suggest.draft import Composer
from kefu.suggest.phrases import Phrase, PhraseLibrary
from kefu.suggest.retrieve import Hit
from kefu.suggest.safety import Safety

GREETING_FIRST = "您好，欢迎光临小店～"
GREETING_LATER = "好的亲，"  # an opener before an answer (stage 了解需求)
GREETING_AGAIN = "在的亲，还有什么可以帮您？"  # a whole reply to a mid-conversation "在吗" (stage 接待)
THANKS_WAIT = "感谢耐心等待，"
EMPATHY = "理解您着急的心情，"
APOLOGY = "非常抱歉给您添麻烦了，"
RESTATE = "您是想问这个对吧，"
ESCALATION = "我已将问题转交主管，稍后联系您。"
CLOSING = "还有其他问题随时找我哦。"
RATING = "麻烦给个评价哦。"
CLARIFY = "请问您想咨询{选项}呢？"
NO_MATCH = "这个问题我帮您核实一下，请稍等。"
RECEIVED = "收到了亲，我这边帮您看一下。"

LINES = [
    ("g1", "greeting_first", "接待", "any", GREETING_FIRST),
    ("g2", "greeting_later", "了解需求", "any", GREETING_LATER),
    ("g3", "greeting_later", "接待", "any", GREETING_AGAIN),
    ("t1", "thanks_wait", "接待", "any", THANKS_WAIT),
    ("e1", "empathy", "提供解决方案", "anxious", EMPATHY),
    ("a1", "apology", "提供解决方案", "angry", APOLOGY),
    ("r1", "restate", "了解需求", "any", RESTATE),
    ("x1", "escalation", "提供解决方案", "any", ESCALATION),
    ("c1", "closing", "告别", "any", CLOSING),
    ("rt", "rating", "告别", "any", RATING),
    ("q1", "clarify", "了解需求", "any", CLARIFY),
    ("n1", "no_match", "了解需求", "any", NO_MATCH),
    ("v1", "received", "了解需求", "any", RECEIVED),
]

WORDS = {"最": "极限词", "最低价": "极限词", "第一": "极限词", "顶级": "极限词", "保证": "承诺",
         "百分百": "承诺"}
SAFE = ["第一时间", "最晚"]


def library(*extra: tuple[str, str, str, str, str], **replace: str) -> PhraseLibrary:
    """The library, with the text of some kinds replaced (library(closing="…")) and `extra`
    lines (id, kind, stage, tone, text) added."""
    return PhraseLibrary([Phrase(pid, kind, stage, tone, "simplified", replace.get(kind, text))
                          for pid, kind, stage, tone, text in LINES]
                         + [Phrase(pid, kind, stage, tone, "simplified", text)
                            for pid, kind, stage, tone, text in extra])


def safety() -> Safety:
    return Safety(words=dict(WORDS), safe=list(SAFE))


def composer(*extra: tuple[str, str, str, str, str], **replace: str) -> Composer:
    return Composer(library(*extra, **replace), safety())


def hit(entry_id: str, answer: str, tags=(), question: str = "怎么退货", category: str = "售后",
        score: float = 2.5, confidence: float = 0.9) -> Hit:
    return Hit(entry_id, question, answer, category, list(tags), question, score, confidence,
               {"fake": 0.9}, 1.0)

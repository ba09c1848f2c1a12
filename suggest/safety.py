"""Safety check of drafts: advertising-law absolute terms (极限词), promises the policy
does not make, and sensitive words, with harmless uses (第一时间, 最晚) left alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kefu.kb.text import HALF_WIDTH, to_simplified


@dataclass
class Flag:
    word: str
    start: int
    end: int
    reason: str
    source: str  # "kefu" (text kefu added) or "entry" (the entry's answer)


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _comparable(text: str) -> str:
    """Text as words are matched in: simplified, half-width, lower-case, one character for one."""
    return to_simplified(text.translate(HALF_WIDTH).lower())


class Safety:
    def __init__(self, words: dict[str, str], safe: list[str]):
        self.words = {_comparable(w): reason for w, reason in words.items()}  # word -> reason
        self.safe = sorted({_comparable(p) for p in safe}, key=len, reverse=True)

    @classmethod
    def load(cls, words_file: Path, safe_file: Path) -> "Safety":
        words = {}
        for line in _lines(words_file):
            word, _, reason = line.partition("\t")
            if word.strip():  # a line with only a reason would flag every position
                words[word.strip()] = reason.strip() or "敏感"
        return cls(words, _lines(safe_file))

    def check(self, text: str, entry_spans: list[tuple[int, int]] = ()) -> list[Flag]:
        """Every listed word in `text` not inside a safe phrase; `entry_spans` mark the entry's
        answer. Words match in either script, full- or half-width, any case (保證, １００％, QQ);
        each flag names the word as `text` writes it."""
        written, text = text, _comparable(text)
        if len(text) != len(written):  # OpenCC keeps positions; never misplace a flag if not
            text = written
        covered = [False] * len(text)
        for phrase in self.safe:
            start = text.find(phrase)
            while start >= 0:
                for i in range(start, start + len(phrase)):
                    covered[i] = True
                start = text.find(phrase, start + 1)
        flags = []
        taken = [False] * len(text)
        for word in sorted(self.words, key=len, reverse=True):  # longest first: 最低价 before 最
            start = text.find(word)
            while start >= 0:
                end = start + len(word)
                if not any(covered[start:end]) and not any(taken[start:end]):
                    source = "entry" if any(a <= start < b for a, b in entry_spans) else "kefu"
                    flags.append(Flag(written[start:end], start, end, self.words[word], source))
                    for i in range(start, end):
                        taken[i] = True
                start = text.find(word, start + 1)
        return sorted(flags, key=lambda f: f.start)

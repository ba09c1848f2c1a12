"""Safety check of drafts: advertising-law absolute terms (极限词), promises the policy
does not make, and sensitive words, with harmless uses (第一时间, 最晚) left alone, and
platform rules on an agent's conduct, with the shop's own warnings (请勿添加微信) left alone."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from kefu.kb.io import read_text
from kefu.kb.text import HALF_WIDTH, to_simplified


@dataclass
class Flag:
    word: str
    start: int
    end: int
    reason: str
    source: str  # "kefu" (text kefu added) or "entry" (the entry's answer)


# Why a listed word is flagged; a line without one: 敏感. The platforms (淘宝/天猫, 京东, 拼多多,
# 抖音) penalise a shop whose agent leads a customer off the platform (站外交易), pays for
# good reviews (诱导好评), asks for data it has no use for (索要隐私), offers what their rules
# forbid (违规操作), or claims a medical effect for goods that are no medicine (功效宣称).
REASONS = ("极限词", "承诺", "敏感", "站外交易", "诱导好评", "索要隐私", "违规操作", "功效宣称")
DEFAULT_REASON = "敏感"
# The reasons whose words name something an agent must not do or claim: said as a warning
# (不支持私下交易, 请勿添加微信, 我们不会索要验证码, 本品不能治疗疾病) they are the shop
# keeping the rule, not breaking it. A negated 极限词 is still one (不是最好 …), 承诺 has its
# denials in the safe phrases (不保证), and a negation makes no insult polite.
WARNABLE = frozenset({"站外交易", "诱导好评", "索要隐私", "违规操作", "功效宣称"})
# Words that deny or warn against the word they govern (see `_gap`). A cue of 不 is
# no denial in a question's 能不能 / 要不要 / 有没有 (see `_warned`).
_DENIALS = ("不会", "不能", "不可", "不要", "不得", "不许", "不准", "不用于", "不支持", "不接受", "不提供",
            "不允许", "不需要", "不存在", "不参与", "不做", "不搞", "不是", "并非", "并不", "无需", "无须",
            "不必", "没有", "并未", "从未", "从不", "从来不", "绝不", "决不", "勿", "千万别", "请别",
            "禁止", "严禁", "谨防", "警惕", "提防", "当心", "小心", "拒绝", "杜绝", "防止", "防范",
            "冒充", "假冒")
_NEAR_DENIALS = ("不", "别", "没", "未", "禁")  # only right before the word: 不刷单, 别加微信
# A WeChat ID given after 微信： (有问题联系微信：kefu_2026), which no listed word catches: a Latin
# letter and five more, as WeChat's IDs are; never 微信：1-3个工作日 (a refund's timing) or 微信：零钱.
_WECHAT_ID = re.compile(r"微信[:：]\s*[a-z][-_a-z0-9]{5,}", re.I)
_WECHAT_REASON = "站外交易"
_CLAUSE_ENDS = frozenset("，,。.！!？?；;：:\n～~…")
_CONTRASTS = ("但是", "但", "不过", "可是", "然而")


def read_list(path: Path) -> str:
    """A word list's text as an editor's tool may have saved it: with a UTF-8 BOM (Windows
    Notepad), or in GB18030 or Big5; a file none of them reads is an ImportFileError
    naming it. Read as strict UTF-8, a BOM stuck to the first word, which then never
    matched, and any other encoding was a traceback."""
    return read_text(Path(path), option=None)


def _numbered(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped line) of the file's lines that are neither blank nor a # comment."""
    return [(n, line.strip()) for n, line in enumerate(read_list(path).splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def _lines(path: Path) -> list[str]:
    return [line for _, line in _numbered(path)]


def word_line(line: str) -> tuple[str, str, str | None]:
    """A sensitive-word line's word and reason, and the last part of a line that reads
    like a mistyped reason (else None).

    `词<TAB>原因` is the file's form. `词 原因` (a space, as a browser textarea types it)
    counts too when the last part is one of REASONS. A last part that looks like a reason
    but is none ("九折 承诺类", "满减 极限", "保证 夸大类") would otherwise be taken into the word, which
    is matched without spaces ("九折承诺类"), and never flag anything: it is returned, for
    the caller to refuse or warn about. Any other space belongs to the word (加 微信).
    """
    line = line.strip()
    if "\t" in line:
        word, _, reason = line.partition("\t")
        return word.strip(), reason.strip() or DEFAULT_REASON, None
    parts = line.rsplit(None, 1)
    if len(parts) < 2:
        return line, DEFAULT_REASON, None
    head, last = parts
    reason = to_simplified(last)
    if reason in REASONS:
        return head, reason, None
    if len(reason) >= 2 and (reason.endswith(_REASON_ENDS) or any(_mistyped(reason, r) for r in REASONS)):
        return line, DEFAULT_REASON, last
    return line, DEFAULT_REASON, None


# How the name of a group of words ends (夸大类, 违禁词, the header's 极限词): a last part
# ending so is a reason of the editor's own ("保证 夸大类"), none of REASONS, not part of a word.
_REASON_ENDS = ("类", "词")


def _mistyped(last: str, reason: str) -> bool:
    """Whether a line's last part reads like `reason` mistyped: holding it (承诺类), begun
    (极限), or one character off a reason of three or more (功效宣传, 站外交意). Two-character
    reasons allow no such slip: 质感 is not 敏感; nor does sharing the first two characters
    alone: 保证 功效显著 is a word with a space."""
    return (reason in last or reason.startswith(last)
            or len(last) == len(reason) >= 3 and sum(a != b for a, b in zip(last, reason)) == 1)


def word_list_problems(path: Path) -> list[tuple[int, str, str]]:
    """(line number, line, mistyped reason) of each line `word_line` finds a mistyped reason in."""
    return [(n, line, bad) for n, line in _numbered(path) if (bad := word_line(line)[2])]


def _comparable(text: str) -> str:
    """Text as words are matched in: simplified, half-width, lower-case, one character for one."""
    return to_simplified(text.translate(HALF_WIDTH).lower())


def _squeezed(text: str) -> str:
    """A listed word or phrase as matched: comparable, without spaces."""
    return "".join(_comparable(text).split())


def _ascii_word(c: str) -> bool:
    return c.isascii() and c.isalnum()


class Safety:
    def __init__(self, words: dict[str, str], safe: list[str]):
        self.words = {_squeezed(w): reason for w, reason in words.items() if _squeezed(w)}  # word -> reason
        self.safe = sorted({_squeezed(p) for p in safe} - {""}, key=len, reverse=True)
        # What every check (each draft) reads: the words longest first (最低价 before 最)
        self._longest_first = tuple(sorted(self.words, key=len, reverse=True))

    @classmethod
    def load(cls, words_file: Path, safe_file: Path) -> "Safety":
        words = {}
        for line in _lines(words_file):
            word, reason, _ = word_line(line)
            if word:  # a line with only a reason would flag every position
                words[word] = reason
        return cls(words, _lines(safe_file))

    def check(self, text: str, entry_spans: list[tuple[int, int]] = ()) -> list[Flag]:
        """Every listed word in `text` not inside a safe phrase (第一代表 reaches past the safe
        第一代, so it is flagged), nor, for a word of a reason in WARNABLE, denied in its
        clause (不支持私下交易, 请勿添加微信: see `_warned`); `entry_spans` mark the entry's
        answer. Words match in either script, full- or half-width, any case (保證, １００％, QQ),
        across spaces (加 微信, TOP 1); a listed word of Latin letters and digits only stands
        on its own (no1 is not in NO12345), and one starting with them does not start inside
        a Latin word (v信 is not in TV信号). Each flag names the word as `text` writes it."""
        written, text = text, _comparable(text)
        if len(text) != len(written):  # OpenCC keeps positions; never misplace a flag if not
            text = written
        at = [i for i, c in enumerate(text) if not c.isspace()]  # squeezed position -> position
        squeezed = "".join(text[i] for i in at)
        safe = []  # (start, end) of each safe phrase in `squeezed`
        for phrase in [p for p in self.safe if p in squeezed]:
            start = squeezed.find(phrase)
            while start >= 0:
                safe.append((start, start + len(phrase)))
                start = squeezed.find(phrase, start + 1)
        flags = []
        taken = [False] * len(squeezed)
        for word in [w for w in self._longest_first if w in squeezed]:  # longest first: 最低价 before 最
            start = squeezed.find(word)
            while start >= 0:
                end = start + len(word)
                first, last = at[start], at[end - 1] + 1  # in `text`
                # a word starting with a Latin letter or digit never starts inside a Latin word
                # (v信 is not in TV信号); only an all-Latin word ends on its own too (加qq12345 flags)
                alone = not (first > 0 and _ascii_word(word[0]) and _ascii_word(text[first - 1])
                             or word.isascii() and last < len(text) and _ascii_word(word[-1])
                             and _ascii_word(text[last]))
                # A safe phrase spares the words inside it, not one reaching past it: 第一代 is
                # a product's generation, 第一代表 a claim; 最高可达9 spares 最, not 100%.
                spared = any(a <= start and end <= b for a, b in safe)
                if alone and not spared and self.words[word] in WARNABLE and _warned(text, first, last, self.words):
                    spared = True  # the shop's warning: no shorter word inside it flags either
                    for i in range(start, end):
                        taken[i] = True
                if alone and not spared and not any(taken[start:end]):
                    source = "entry" if any(a <= first < b for a, b in entry_spans) else "kefu"
                    flags.append(Flag(written[first:last], first, last, self.words[word], source))
                    for i in range(start, end):
                        taken[i] = True
                start = squeezed.find(word, start + 1)
        # (mapped back to the squeezed text's places only for a WeChat ID: rare, and every draft is checked)
        squeezed_at = {i: k for k, i in enumerate(at)} if "微信" in text else {}
        for m in _WECHAT_ID.finditer(text):
            first, last = m.start(), m.end()
            spots = range(squeezed_at[first], squeezed_at[last - 1] + 1)
            if not any(taken[i] for i in spots) and not _warned(text, first, first + 2, self.words):
                source = "entry" if any(a <= first < b for a, b in entry_spans) else "kefu"
                flags.append(Flag(written[first:last], first, last, _WECHAT_REASON, source))
        return sorted(flags, key=lambda f: f.start)


def _warned(text: str, first: int, last: int, words=()) -> bool:
    """Whether the word at text[first:last] is denied or warned against in its clause: a
    denial governing it (请勿添加微信, 本店不会以任何理由要求您加微信, 不刷单) or a warning
    after it (让您转账的都是骗子). `text` is comparable (see `_comparable`); a clause ends at
    punctuation, whitespace, 、, a line break or a 但/不过, so 不支持私下交易，加我微信 still
    flags. A denial governs the word when only a short allowed gap (`_GAP`: 以任何理由要求您,
    向任何人透露, another of `words` and 和/或) stands between them: 不会用的话加我微信 flags."""
    start = first
    while start > 0 and text[start - 1] not in _CLAUSE_ENDS and not text[start - 1].isspace():
        start -= 1
    before = text[start:first]
    for word in _CONTRASTS:
        before = before.rpartition(word)[2]
    gap = _gap(tuple(sorted(words, key=len, reverse=True)))
    for cue in _DENIALS:
        at = before.rfind(cue)
        while at >= 0:
            # 能不能 / 要不要 / 有没有 ask; they deny nothing
            asks = cue[0] in "不没" and len(cue) > 1 and at > 0 and before[at - 1] == cue[1]
            between = before[at + len(cue):]
            # 冒充 warns only of someone posing as the shop (冒充客服索要验证码), not in 谨防冒充加我微信
            posing = cue in ("冒充", "假冒") and not between.startswith(_POSED)
            if not asks and not posing and gap.fullmatch(between):
                return True
            at = before.rfind(cue, 0, at)
    if before.endswith(_NEAR_DENIALS) and not (before[-1] in "不没" and before[-2:-1] == text[first]) \
            and not (before[-1] == "不" and before[-2:-1] in ("要", "何", "若")):
        return True  # 加不加微信 asks; 要不加我微信 / 何不 suggests
    end = last
    while end < len(text) and text[end] not in _CLAUSE_ENDS and not text[end].isspace():
        end += 1
    # 让您……的都是骗子 warns, and 身份证号我们不需要 / 我的微信号不能给您 deny the word itself;
    # 不违规 / 防诈骗 / 说这里有违规词 / 不需要排队 after it do not
    return bool(_WARNED_AFTER.match(text[last:end]) or _DENIED_AFTER.match(text[last:end])) \
        or _quoted_warning(text, first, last)


def _quoted_warning(text: str, first: int, last: int) -> bool:
    """Whether the word at text[first:last] stands in quotes that the rest of the sentence
    warns of: the shop quoting a fake card (包裹里如有“好评后联系客服领红包”的卡片，请勿相信)."""
    opened = max(text.rfind(q, 0, first) for q in "“「")
    if opened < 0 or any(q in text[opened + 1:first] for q in "”」"):
        return False
    closed = min((at for at in (text.find(q, last) for q in "”」") if at >= 0), default=-1)
    end = closed
    while 0 <= end < len(text) and text[end] not in "。！？!?\n":
        end += 1
    return closed >= 0 and bool(_QUOTED_WARNING.search(text[closed + 1:end]))


_POSED = ("客服", "本店", "商家", "店家", "平台", "卖家", "官方", "工作人员", "快递")
_WARNED_AFTER = re.compile(r"[^不没无非]{0,12}?的(?:人)?(?:都|全|全都|一律|均|就)?(?:是|属于|为)?"
                           r"(?:骗子|诈骗|骗局|假冒|冒充|假的|违规|违法)")

# What a shop says of a card or message it quotes: do not believe it, it is a fraud.
_QUOTED_WARNING = re.compile(r"(?:请勿|请不要|不要|切勿|千万别|别|不可)(?:轻易)?(?:相信|轻信|理会)|骗子|诈骗|骗局|假冒|冒充")

_DENIED_AFTER = re.compile(r"[号码]?(?:我们|我|这边|本店|客服|都|是)*(?:(?:不需要|无需|不必|不用|不要)"
                           r"(?:您?(?:提供|告诉|给|发|填写?)|$)|不能给|不会给|不能提供|不会索要|不会要)")


@functools.lru_cache(maxsize=8)
def _gap(words: tuple[str, ...]) -> re.Pattern:
    """What may stand between a denial and the word it governs: 以任何理由要求您, 向任何人透露,
    有人冒充客服让您, 相信任何 (不要相信任何VX:开头的陌生人), and a listed word joined by 和/或/、 (透露银行卡密码和验证码, 不参与好评返现、
    追评返现)."""
    listed = "".join(f"|{re.escape(w)}(?:和|或|或者|及|以及|与|、)" for w in words)
    return re.compile(r"(?:以任何理由|以任何方式|任何理由|任何形式的?|任何人|任何|私自|擅自|随意|随便|主动|"
                      r"要求|让|叫|向|对|跟|与|和|给|再|去|帮|替|您|你|顾客|客户|买家|他人|别人|陌生人|"
                      r"有人|自称客服的|(?:冒充|假冒)?(?:客服|本店|商家|店家|平台|官方|卖家|工作人员|快递员?)|添加|添|加|索要|索取|提供|透露|告诉|泄露|"
                      r"进行|参与|把|将|在|私下|轻易|相信|轻信|代替药物|替代药物" + listed + r")*")

"""Text normalisation and segmentation: the one place that decides how text is matched.

Messages and entries go through `normalize` before both embedding and BM25, so a
traditional-script customer meets simplified entries (and vice versa) on equal terms.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from kefu.kb.files import temp_beside

SIMPLIFIED = "simplified"
TRADITIONAL = "traditional"
# The wordings a traditional-script draft may take (config.json's `traditional`): OpenCC
# configs for Taiwan and Hong Kong.
TRADITIONAL_WORDING = ("s2twp", "s2hk")

# Longer messages are cut before matching; the question is usually at the end of a
# long message (context first, question last), so the tail is what is kept.
MAX_CHARS = 500
# The longest text kefu takes in at all (a 50 KB paste fits): the API refuses a longer
# field, an entry a longer field from any writer, `kefu learn replay` a longer line's
# query or text.
MAX_MESSAGE = 100_000

_SPACE = re.compile(r"\s+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CJK = re.compile(r"[\u3400-\u9fff]")
# How texts are cut into words: part of what an index was built from (kb.store hashes it
# with the shop terms), so an index made by an older cut is rebuilt, not searched with
# tokens the queries no longer make. Change it whenever Segmenter cuts differently, or an
# entry's texts are read differently before the cut (`cantonese_read`).
SEGMENTATION = "3: a number's unit is its own word; an entry's Cantonese read in Mandarin"
# A number and its unit (7天, 48小时, 59元), the unit as its own word.
_NUMBER_UNIT = re.compile(r"(?<![A-Za-z])\d+(?:\.\d+)?(个?小时|分钟|个?工作日|个?月|天|周|年|元|块|件|次|公斤|斤|折)")
# Tokens that carry no topic: greetings, politeness and sentence particles. Kept out
# of the lexical index so that "亲" or "请问" never decides a match.
STOPWORDS = frozenset(
    """亲 亲亲 您好 你好 在吗 在不在 请问 麻烦 谢谢 一下 我 你 您 的 了 吗 呢 吧 啊 呀 哦 嗯 哈
    是 有 和 就 都 也 还 这 那 个 要 想 能 会 可以 怎么 怎么办 如何 什么 为什么 么 下 吧
    客服 老板 掌柜 小姐姐 请 问 帮 帮忙 嘛 啦 哈哈""".split()
)


# A clause: text up to its closing punctuation or space (in normalised text: … is ...,
# ： is :), then that punctuation. A point before a digit (1.5米) closes nothing.
_CLOSE = r"[。！？!?；;，,、\s~～…:]|\.(?!\d)"
_CLAUSE = re.compile(rf"(?:(?!{_CLOSE}).)+(?P<close>(?:{_CLOSE})*)")
# What makes a clause a question: a question mark, particle or question word, an A不A
# choice (扎不扎人) or a closing 不/没 (能机洗不, but not 还没有); not topic words (退货
# alone asks nothing) nor 前几天 (a few days ago), nor an insult (什么破店, 搞什么).
_QUESTION = re.compile(r"[?？]|吗|嘛|呢|(?<![没不])怎|如何|能不能|可不可以|有没有|多少|能否|是否|多久|"
                       r"(?<![前这过近])几天|几号|几个|几点|(?<!搞)什么(?!破|玩意|垃圾|鬼|烂)|哪|为什么|咋|啥|(.)[不没]\1|"
                       rf"(?<![还也都])[不没]有?(?:{_CLOSE})*$")


# An order, tracking or phone number, with its label if any: what a customer sends when
# asked for it, or to say who they are ("我的手机号13812345678，订单…"; 訂單編號 in Taiwan). It names no topic:
# the label goes with the number (手机号 alone, as in 换绑手机号, is what is asked about).
GIVEN_NUMBER = re.compile(r"(?:订单编号|订单号码|订单号|订单|编号|单号|快递单号|运单号|物流单号|手机号码|手机号|手机|联系电话|电话号码|电话|"
                          r"联系方式|号码)?\s*(?:是|为|:|：)?\s*\+?(?:[a-z]{0,4}\d{6,}|\d[\d -]{5,}\d)", re.I)


# A number read out digit by digit, as a phone's speech-to-text writes it (幺三五七二四六八…,
# 一三五七…, 零 or 〇 for 0): ten digits or more, which words never are (一百二十九 has 百,
# 三三两两 两). Read as the digits it is (`spoken_digits`): an order number said aloud is
# matched and filled in as one typed, and a phone number said aloud is masked. Never beside
# typed digits: 13912345678一直 is a phone number and the 一 of 一直, not 139123456781.
SPOKEN_NUMBER = re.compile(r"(?<!\d)[零〇幺一二三四五六七八九]{10,}(?!\d)")
_SPOKEN_DIGIT = str.maketrans("零〇幺一二三四五六七八九", "001123456789")
# A last digit that begins the word after the number (…七八一直打不通, …一二三天了): the
# number ends before it, when ten digits are left.
_WORD_AFTER_NUMBER = re.compile(r"一[直下共起样会点个件次些天]|[二三四五六七八九]天")


def _spoken(m: re.Match) -> str:
    said = m.group()
    if len(set(said)) == 1:  # 一一一一… is no number
        return said
    if len(said) > 10 and _WORD_AFTER_NUMBER.match(m.string, m.end() - 1):
        return said[:-1].translate(_SPOKEN_DIGIT) + said[-1]
    return said.translate(_SPOKEN_DIGIT)


def spoken_digits(text: str) -> str:
    """`text` with a number said digit by digit (`SPOKEN_NUMBER`) in digits."""
    return SPOKEN_NUMBER.sub(_spoken, text)


def question_window(text: str, width: int, real: bool = False) -> str:
    """The `width` characters of a message that an encoder reading no more should see: the
    last ones, or when a question comes earlier, those up to the end of the last clause
    that asks something (fewer, if it ends sooner). Customers often add after the
    question who they are, that they are in a hurry, thanks: e5 reading the tail alone
    answered that chatter. shop-dev's queries with ~40 characters of such chatter after
    them: R@1 .36-.38 with the tail, .70-.78 with this window; shop-dev as it is
    (messages of at most 45 characters): unchanged, .871. Long numbers (an order number)
    are left out first. `real` counts only a real question (not 亲在吗 alone, `_CALLS_ONLY`)."""
    if len(text) <= width:
        return text
    # An order or tracking number tells an encoder nothing, and takes a third of its window.
    text = GIVEN_NUMBER.sub("", text)
    if len(text) <= width:
        return text
    end = _question_end(text, real)
    return text[:end][-width:] if end else text[-width:]


def _question_end(text: str, real: bool = False) -> int | None:
    """Where the last clause of `text` (normalised) that asks something ends, with one mark
    of its closing punctuation; None when none asks. `real`: as `_last_question`, on the
    text's simplified script (親在嗎 is 亲在吗)."""
    if real:
        plain = to_simplified(text).lower()
        text = plain if len(plain) == len(text) else text
    span = _last_question(text, real)
    return span[1] if span else None


# A clause that only calls for the agent (亲在吗, 老板在不在呀, 有人吗) and a statement's 什么都 /
# 没什么 (现在什么都来不及了) ask nothing a long message could be kept to.
_CALLS_ONLY = re.compile(r"(?:亲爱的|亲亲|亲|老板|掌柜的?|店家|客服|小姐姐|小哥哥|美女|您好|你好|哈喽|hello|hi|嗨|请问|\s)*"
                         r"(?:还在吗|在吗|在嘛|在么|在麽|在不在|在没|在的吗|在线吗|有人吗|有人在吗|有没有人)"
                         r"(?:亲爱的|亲亲|亲|老板|呀|啊|哈|呢|\s)*")
_ASKS_NOTHING = re.compile(r"(?<!为)什么都|没什么")


def _last_question(text: str, real: bool = False) -> tuple[int, int] | None:
    """Where the last clause of `text` (normalised) that asks something starts and ends, with
    one mark of its closing punctuation; None when none asks. `real` passes over a clause
    that only calls for the agent and a statement's 什么都 (`_CALLS_ONLY`)."""
    span = None
    for clause in _CLAUSE.finditer(text):
        said = text[clause.start():clause.start("close")]
        if real and _CALLS_ONLY.fullmatch(said):
            continue
        if _QUESTION.search(_ASKS_NOTHING.sub(" ", said) if real else clause.group()):
            span = clause.start(), clause.start("close") + min(len(clause.group("close")), 1)  # with one mark
    return span


def whole_number(text: str) -> int | None:
    """`text` as a whole number when it is ASCII digits only, else None: "²".isdigit() is
    true too, yet int("²") fails, and so does int() of over 4,300 digits (ValueError)."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def typed_number(text: str | None, max_digits: int | None = None) -> int | None:
    """A whole number as typed into a form or URL, the spaces around it stripped: full-width
    digits (３０, typed with a Chinese input method) read as the digits they show; at
    most `max_digits` digits when given (a page number a query can still take). Else None."""
    text = (text or "").strip().translate(HALF_WIDTH)
    if max_digits is not None and len(text) > max_digits:
        return None
    return whole_number(text)


@lru_cache(maxsize=None)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


# Full-width ASCII (ＡＢ１, １００％, typed with a Chinese input method) as half-width, one
# character for one: for `str.translate` where positions must stay (NFKC may change them).
HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


# Drafting converts and segments the same texts again and again (an entry's answer, its
# question, the message, each clause), per suggestion and across suggestions; these
# pure functions keep their latest results for texts up to CACHED_CHARS long (the
# sample corpus's longest answer has 150). Memory stays bounded however long a server
# runs: filled with 200-character texts, the caches held ~20 MB (measured beside the
# same work uncached), and a draft's conversions (`to_traditional`, under the text and
# its wording, and `to_mainland`) ~5 MB more; a longer text is processed each time,
# never kept.
CACHED_CHARS = 200


def _remembered(fn):
    """`fn(text, ...)` with its results for short texts kept (LRU): `fn` must be pure, its
    other arguments (an OpenCC config) part of what a result is kept under."""
    kept = lru_cache(maxsize=2048)(fn)

    def call(text: str, *more, **named):
        return kept(text, *more, **named) if len(text) <= CACHED_CHARS else fn(text, *more, **named)

    call.__doc__, call.__name__, call.cache_info = fn.__doc__, fn.__name__, kept.cache_info
    return call


@_remembered
def to_simplified(text: str) -> str:
    if text.isascii():  # nothing to convert; spares OpenCC (the store's filters call this per row)
        return text
    return _converter("t2s").convert(text)


# A link (with a scheme, www., or a domain and a path) and an e-mail address: drafts keep them
# as written, since a link whose Chinese OpenCC respelt (…/后台/发票?type=发货 → …/後臺/發票?
# type=出貨) leads to no page. A bare domain ends in a top-level domain shops use (.com, .cn,
# .tw…), so a size or a model (尺码M.XL/大码, HW.MATE/旗舰版, manual.pdf/说明) is none, nor is
# a list of sizes (xs.xl/xxl, m.xl/l). Chinese right after / ? & # = belongs to the link
# (…/发票, …/#/发票): where a sentence is glued on (…/退货说明请查看后申请) it stays as
# written too, as a broken link costs the customer more.
_LINK_WORD = r"[^\x00-\x7f\s，。！？、；：「」『』（）《》“”‘’【】…～]++"
_TLD = (r"(?:com|cn|net|org|info|biz|top|shop|store|vip|xyz|cc|co|io|me|tv|hk|tw|mo|sg|jp|kr|us|uk|edu|gov|site|online|app|ltd"
        r"|ly|im|gl|club|link|live|wang|fun|ink|red)")  # the last: short links (bit.ly, suo.im)
_LINK_HEAD = rf"(?i:https?://|www\.|(?<![A-Za-z0-9_.@-])[a-z0-9-]+(?:\.[a-z0-9-]+)*\.{_TLD}/)"
_LINK = re.compile(rf"{_LINK_HEAD}(?:[!-~]|(?<=[/?&#=]){_LINK_WORD})*"
                   r"|(?i:(?<![a-z0-9._%+-])[a-z0-9._%+-]++@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})")
# Place-holders for what a conversion must not touch, from the private-use planes OpenCC
# and the word fixes leave alone: links in plane 15, app paths in plane 16, each 65534
# wide, so a text's links never run into its paths.
_LINK_MARKS = range(0xF0000, 0xFFFFE)
_PATH_MARKS = range(0x100000, 0x10FFFE)


def _kept_apart(text: str, pattern: re.Pattern, marks: range, convert: Callable[[str], str],
                piece: Callable[[str], str], needs: str) -> str:
    """`convert(text)` with each match of `pattern` in `text` put back as `piece(match)`:
    out of `convert`'s sight meanwhile, each as one character of `marks`. As `convert(text)`
    when there are more matches than marks or `text` holds one of them already, and at once
    when `text` holds none of the characters every match has (`needs`): drafting converts
    every line it writes, and most hold no link or path."""
    if not any(c in text for c in needs):
        return convert(text)
    found = [m.group() for m in pattern.finditer(text)]
    if not found or len(found) > len(marks) or re.search(f"[{chr(marks[0])}-{chr(marks[-1])}]", text):
        return convert(text)
    numbers = iter(marks)
    out = convert(pattern.sub(lambda m: chr(next(numbers)), text))
    return re.sub(f"[{chr(marks[0])}-{chr(marks[len(found) - 1])}]",
                  lambda m: piece(found[ord(m.group()) - marks[0]]), out)


def _around_links(convert: Callable[[str], str], text: str) -> str:
    """`convert(text)` with every link and e-mail address in `text` kept as written."""
    return _kept_apart(text, _LINK, _LINK_MARKS, convert, lambda link: link, "./@")


@_remembered
def to_mainland(text: str) -> str:
    """Simplified script with mainland wording: how a draft reads to a simplified-script
    customer. Text written in traditional script also gets mainland words (軟體 ->
    软件, 網路 -> 网络); text already simplified keeps its words, since OpenCC's
    Taiwan-to-mainland table would rewrite some of them (程序 -> 进程, 停用 -> 禁用).
    Matching keeps `to_simplified`, character by character, so scores do not depend on
    OpenCC's phrase lists. Links and e-mail addresses stay as written."""
    return _around_links(_to_mainland, text)


def _to_mainland(text: str) -> str:
    trad, simp = script_evidence(text)
    if trad <= simp:
        return _converter("t2s").convert(text)

    def worded(text: str) -> str:
        out = _converter("tw2sp").convert(text)
        for word, mainland in _MAINLAND_WORDING:
            out = word.sub(mainland, out)
        return out
    return _paths_apart(text, worded, _converter("t2s").convert)


# Taiwan (and Cantonese) shop words OpenCC's tw2sp leaves as they are, in mainland words:
# a simplified-script customer asking about returns read 出货, 宅配 and 喔 from an entry
# a Taiwan shop wrote. The reverse of _TAIWAN_SPELLING, plus everyday words.
_MAINLAND_WORDING = [(re.compile(p), w) for p, w in (
    (r"出货", "发货"), (r"(?<![产商物作精优食样药])品质(?!量)", "质量"), (r"保固", "保修"), (r"贩售", "销售"), (r"宅配到府", "送货上门"),
    (r"宅配", "快递"), (r"果汁机", "榨汁机"), (r"(?<!空)气炸锅", "空气炸锅"), (r"结帐", "结账"), (r"入帐", "到账"),
    (r"电子信箱", "电子邮箱"), (r"工作天", "工作日"), (r"开立", "开具"), (r"喺", "在"), (r"免运(?!费)", "包邮"),
    (r"喔(?=$|[！!。，,～~？?\s])", "哦"))]


# Words OpenCC's Taiwan phrase table gives another meaning in a shop chat (注销 "close
# an account" -> 登出 "log out", 参数 -> 引數 "a program's argument", 支持 -> 支援,
# 在线 -> 線上, 对话框 -> 對話方塊, 审核 -> 稽核), and words that OpenCC wrongly joins
# with a neighbour into another phrase (并联系 -> 並聯系, 并发起 -> 併發起, 别着急 ->
# 彆著急), 运行 (a machine running: 空锅运行10分钟 -> 執行 "execute") and 项目 (an item of a
# spec table or a fee list -> 專案 "a project"). They are converted on
# their own, without the phrase table.
_OWN_WORDS = re.compile("注销|参数|支持|在线|对话框|审核|联系|发起|着急|运行|项目")
_WITHOUT_PHRASES = {"s2twp": "s2tw"}
# Taiwan words OpenCC's s2twp leaves in their mainland form: 帳 (not 賬), 品質 (質量 is
# physical mass there), 保固 (warranty), 入帳 (money credited), 出貨 (shipped), the
# everyday spelling 台灣 / 平台 (s2twp writes the official 臺), and 喔 for the friendly
# particle that ends a sentence (记得查收哦 → 記得查收喔; the mainland wording turns it
# back); 哦 opening a sentence ("哦，原来如此") is an interjection and stays; 免運 for
# free shipping (包邮, 包郵 is mainland shop talk); and 回饋 for a customer's feedback
# (期待您的反饋 reads as mainland; an amplifier's 負反饋 stays; not back: the mainland's
# 回馈 is a reward, 回馈老客户).
# Each as a whole word only: 到賬戶 is 到 + 帳戶, 批發貨源 and 補發貨品 hold no 發貨, 擔保修理
# no 保修, and 淨質量500克 is a mass.
_TAIWAN_SPELLING = [(re.compile(r"到賬(?![戶户號])"), "入帳"), (re.compile("賬"), "帳"),
                    (re.compile(r"(?<![淨净])質量(?!\s*(?:[|:：]\s*)?[\d.]+\s*(?:克|公斤|千克|g|kg))"), "品質"),
                    (re.compile(r"(?<![擔担])保修"), "保固"), (re.compile(r"(?<![批補补])發貨(?!源|品(?!質))"), "出貨"),
                    (re.compile("臺(?=灣)|(?<=平)臺|(?<=港澳)臺"), "台"), (re.compile("包郵"), "免運"),
                    (re.compile("(?<![負负正])反饋"), "回饋"),
                    (re.compile(r"(?<=\w)(?<![哦噢喔])哦(?=$|[！!。，,～~？?\s）)」』]|\[)"), "喔")]


# Characters OpenCC picks wrongly in shop answers, s2twp and s2hk alike: 发卡银行 is the
# card issuer (發卡, not 髮卡 "hairpin"), 抬头发给 is 抬頭 + 發給 (not 頭髮 "hair"), 只
# before a verb is "only" (订单只退一件), 隻 only as a classifier (一隻, 這隻), and a
# size chart is a 表 (尺码表, 鞋码表, 码表格: OpenCC reads 码表 as 碼錶, a stopwatch or a
# bike computer, which 自行车码表 still is; 手表, 表带 stay 手錶, 錶帶), and 开封后 is 開封
# + 後 "after opening" (OpenCC keeps 封后, "crowned queen": 開封后建議…用完).
_MISREAD = [(re.compile(r"髮卡(?=銀行|行|機構|單位|方)"), "發卡"), (re.compile(r"(?<=抬)頭髮(?=給|送|到|過來|至)"), "頭發"),
            (re.compile(r"(?<![一二兩三四五六七八九十幾每這那哪半好])隻(?=[退能要有需是收發剩買賣用換])"), "只"),
            (re.compile(r"(?<=[尺鞋裝装])碼錶|碼錶(?=格)"), "碼表"), (re.compile(r"(?<=[開啟啓密塑拆])封后"), "封後")]


# Taiwan and Hong Kong quote with 「」 (『』 inside): mainland “” and ‘’ pairs, as a converted
# text has them, beside entries written 「申請售後」 (a lone ’, as in don’t, stays).
_QUOTES = [(re.compile(r"“([^“”]*)”"), r"「\1」"), (re.compile(r"‘([^‘’]*)’"), r"『\1』")]


@_remembered
def to_traditional(text: str, config: str = "s2twp") -> str:
    """Traditional script with Taiwan (s2twp) or Hong Kong (s2hk) wording. Text already
    written in traditional script stays as written: OpenCC would respell an editor's
    台灣 as 臺灣 and rewrite Taiwan words it takes for mainland ones. Links and e-mail
    addresses stay as written."""
    return _around_links(lambda t: _to_traditional(t, config), text)


# An app's menu path (我的 > 设置 > 账号与安全, 我的订单>待发货): its labels are what the
# customer looks for on screen, so they are converted character by character, never given
# Taiwan words (設定, 帳號, 待出貨) the app does not show. Not a flow written with arrows
# (拍下→付款→发货, 拍下->付款), nor "more than" (金额>99元, 金额 > 99 元, >=2件), which are
# prose: a > before = or a number; a label may be a network's 5G (设置 > 5G网络, not > 8GB).
_PATH_STOP = r"\s，。、；：！？,;!?「」“”『』（）()【】<>＞›"
_MORE_THAN = r"[ \t]*(?:[=＝]|[\d０-９](?![\d０-９]*[GgＧ](?![A-Za-z0-9])))"
_PATH_SEPARATOR = rf"(?<![-－—=＝])[>＞›](?!{_MORE_THAN})"
# (From a run's start only, taken whole: linear in the text, not by the square of a long run.)
_APP_PATH = re.compile(rf"(?<![^{_PATH_STOP}])[^{_PATH_STOP}]++(?:[ \t]*{_PATH_SEPARATOR}[ \t]*[^{_PATH_STOP}]++)+")


def _to_traditional(text: str, config: str) -> str:
    trad, simp = script_evidence(text)
    if trad > simp:  # not `simp == 0`: an editor's traditional text may hold a simplified slip
        return text
    convert = _converter(config).convert
    plain = _converter(_WITHOUT_PHRASES.get(config, config)).convert

    def worded(text: str) -> str:
        out, pos = [], 0
        for m in _OWN_WORDS.finditer(text):
            out += [convert(text[pos:m.start()]), plain(m.group())]
            pos = m.end()
        out = "".join(out) + convert(text[pos:])
        for word, right in _MISREAD + _QUOTES:
            out = word.sub(right, out)
        if config == "s2twp":
            for word, taiwan in _TAIWAN_SPELLING:
                out = word.sub(taiwan, out)
        return out

    def labels(path: str) -> str:  # character by character, with the same character fixes
        out = plain(path)
        for word, right in _MISREAD:
            out = word.sub(right, out)
        return out
    return _paths_apart(text, worded, labels)


def _paths_apart(text: str, worded: Callable[[str], str], plain: Callable[[str], str]) -> str:
    """`worded(text)`, but each app path in `text` (see _APP_PATH) converted by `plain`,
    character by character."""
    return _kept_apart(text, _APP_PATH, _PATH_MARKS, worded, plain, ">＞›")


@_remembered
def script_evidence(text: str) -> tuple[int, int]:
    """(traditional-only, simplified-only) character counts; (0, 0) for script-neutral text.
    A character OpenCC's s2t respells but Taiwan's or Hong Kong's standard writes as it is
    (`_traditional_too`: 台, 吃, 床, 群, 温) is no evidence: 寄台灣多久 is traditional; nor
    is a traditional one mainland chat types too (`_SIMPLIFIED_TOO`: 麼) unless nothing else
    counts (怎麼退 is traditional, the greeting 在麼 neutral). A chat
    app's placeholders and stickers (`STICKER`) count only when nothing else does: a
    mainland app writes [视频] and [流泪] in simplified script whatever the customer types."""
    if "[" in text and (said := STICKER.sub("", text)) != text and (evidence := script_evidence(said)) != (0, 0):
        return evidence
    trad = sum(1 for a, b in zip(text, to_simplified(text)) if a != b and a not in _SIMPLIFIED_TOO)
    simp = sum(1 for a, b in zip(text, _converter("s2t").convert(text)) if a != b and not _traditional_too(a))
    if (trad, simp) == (0, 0):  # 什麼, 怎麼退: Taiwan's, when nothing else tells; the greeting 在麼 stays neutral
        trad = sum(1 for i, c in enumerate(text) if c in _SIMPLIFIED_TOO and text[i - 1:i] != "在")
    return trad, simp


# Traditional characters that mainland chat types too, so they count only when nothing
# else does: 麼 comes up in simplified-script input (在麼, 在麼？怎麼退货 is simplified on 货)
# yet is Taiwan's own 什麼 / 怎麼 (怎麼退 is traditional). 在麼 alone got a traditional
# draft, so the greeting's 麼 never counts; 請問這個在麼 is still traditional on 請, 問, 這, 個.
_SIMPLIFIED_TOO = frozenset("麼")


@lru_cache(maxsize=None)
def _traditional_too(char: str) -> bool:
    """Whether `char`, which s2t respells (台 -> 臺, 吃 -> 喫, 温 -> 溫), is standard
    traditional script all the same: s2tw (Taiwan) or s2hk (Hong Kong) keeps it. 台 is how
    Taiwan and Hong Kong write 台灣 and 台中; 着, which s2t keeps and s2tw makes 著, is not
    counted either way."""
    return _converter("s2tw").convert(char) == char or _converter("s2hk").convert(char) == char


def detect_script(text: str) -> str:
    """Return TRADITIONAL when more characters are traditional-only than simplified-only."""
    trad, simp = script_evidence(text)
    return TRADITIONAL if trad > simp else SIMPLIFIED


@dataclass(frozen=True)
class Normalized:
    text: str  # simplified, half-width, lower-case, single spaces
    script: str
    truncated: bool = False
    asked_window: bool = False  # truncated to the part from its last question on, not to its end


# A terminal's escape sequences, whole (a lone ESC taken out would leave "[2J" in the
# text): CSI (ESC [ or U+009B, parameters, a final byte), a string one (OSC ESC ], DCS ESC
# P, …, up to BEL or ST), and ESC + one character; then every other C0 and C1 control
# but line break and tab. Pasted or typed in a message, they set an editor's terminal title
# or cleared the screen when a learned phrasing was listed.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                      r"|(?:\x1b[\]P^_X]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
                      r"|\x1b[ -~]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """`text` without escape sequences and control characters; line breaks as \\n, tabs kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


# Characters of no width: zero-width space, non-joiner and joiner, word joiner, and
# U+FEFF (a byte-order mark, or the old zero-width no-break space). They come with text
# copied from web pages and chat apps, or a file's BOM read as text: a message of nothing
# else looked empty but was answered and stored, and one inside a word split it
# (退 U+200B 货). A joiner between two symbols is part of an emoji (man, ZWJ, woman: one
# family emoji) and stays.
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")


def _symbol(ch: str) -> bool:
    return unicodedata.category(ch) in ("So", "Sk") or ch == "\ufe0f"  # an emoji, a skin tone, emoji style


def _zero_width(m: re.Match) -> str:
    s, i = m.string, m.start()
    joins_emoji = m.group() == "\u200d" and 0 < i < len(s) - 1 and _symbol(s[i - 1]) and _symbol(s[i + 1])
    return m.group() if joins_emoji else ""


def scrub(text: str) -> str:
    """`text` as kefu takes it in: without escape sequences and control characters
    (`strip_controls`), without characters of no width (but an emoji's joiner), and with
    lone surrogates made U+FFFD: what Python gives for bytes that were not UTF-8 (a GBK
    terminal, argv decoded with surrogateescape) or a JSON "\\ud800"; they cannot be
    converted, stored in SQLite or printed."""
    return _SURROGATE.sub("\ufffd", _ZERO_WIDTH.sub(_zero_width, strip_controls(text)))


# Lines a chat app writes into a conversation copied out of it (千牛, 京东咚咚, 抖店飞鸽,
# 拼多多, WeChat) that nobody typed: each message's header, the sender's nickname (one word,
# no label's colon before a number) and the time with a year or seconds ("tb12345678
# 2026-12-01 10:02:11", "jd_5f3a2b1c 12-01 10:02:11"), or a 千牛 sub-account's (shop:agent)
# with a date ("青禾优选:小禾 12-01 10:02"), and notices (以下为新消息, 客户已离开,
# 对方撤回了一条消息), and the platform's system lines (系统消息：客户已进入店铺, 以下为机器人回复),
# each a whole line. A time the customer gives is no header: 明天 10:30,
# 下单时间：2026-11-28 10:02:11, a word and a date ("明天 12-02 10:00", "改到 12月6日 14:00"),
# nor is a "name" made only of time words or an order or tracking number (改到 2026-12-06
# 14:00:00, "3901234567890123 2026-11-28 10:02:11": the number fills {订单号}); a nickname
# holding them is one (时间煮雨, 用户7392847562934, t_1484192734425_0123).
_CHAT_HEADER = re.compile(r"(?P<name>(?!\S*[:：]\d)\S{0,39}[^\s:：])[ \t]+(?:(?P<year>\d{4}[-/.年])?\d{1,2}[-/.月]\d{1,2}日?"
                          r"[ \t]+\d{1,2}:\d{2}(?P<seconds>:\d{2})?|\d{1,2}:\d{2}(?P<time_seconds>:\d{2}))")
_NO_NICKNAME = re.compile(r"(?:订单编?号?|单号)?(?:\d{12,}|(?:SF|YT|ZT|YD|JT|JD[A-Z]{0,2}|STO|ZTO|YTO|EMS)\d{9,})|"
                          r"(?:[今明后昨前]天|改[到成为在]|预约|约[的好在]?|时间|日期|原来|之前|[上下]午|中午|晚上|早上|的)+")
_NOTICE = (r"以[上下][为是](?:新|历史)消息|(?:客户|顾客|买家|对方|用户)已(?:离开|下线)|"
           r"(?:客户|顾客|买家|对方|用户)(?:已进入了?(?:店铺|会话|咨询|聊天)?|进入了?(?:店铺|会话|咨询|聊天))|"
           r"以[上下][为是](?:机器人|智能客服|智能助手|自动)(?:自动)?回复|会话已(?:结束|关闭)|\S{0,20}撤回了一条消息")
_CHAT_NOTICE = re.compile(rf"[-—=─·.\s]*(?:[\[【]?系统(?:消息|提示|通知)[\]】]?[:：\s]*(?:{_NOTICE})?|{_NOTICE})[-—=─·.\s]*")


def chat_header(line: str) -> str | None:
    """The sender's nickname when `line` is a chat app's message header (`_CHAT_HEADER`)."""
    m = _CHAT_HEADER.fullmatch(line.strip())
    if not m or _NO_NICKNAME.fullmatch(to_simplified(m["name"])):
        return None
    return m["name"] if m["year"] or m["seconds"] or m["time_seconds"] or re.search("[:：]", m["name"]) else None


def is_chat_notice(line: str) -> bool:
    """Whether `line` is a chat app's notice (`_CHAT_NOTICE`: 以下为新消息, 客户已离开)."""
    return bool(_CHAT_NOTICE.fullmatch(to_simplified(line)))


# A notice that the shop's robot's replies follow (以下为机器人回复, 以下为智能客服回复).
_BOT_BELOW = re.compile(r"以下[为是](?:机器人|智能客服|智能助手|自动)(?:自动)?回复")


def bot_reply_below(line: str) -> bool:
    """Whether `line` is a notice that the shop's robot's replies follow (以下为机器人回复)."""
    return is_chat_notice(line) and bool(_BOT_BELOW.search(to_simplified(line)))


def without_chat_frame(text: str) -> str:
    """`text` without the lines a chat app adds to a copied conversation (`chat_header`,
    `is_chat_notice`): read as the customer's words, 客户已离开 was a question waiting for
    a reply and a nickname's letters and digits were matched against the entries."""
    return "\n".join(line for line in text.split("\n") if not (chat_header(line) or is_chat_notice(line)))


# A line of an order or product card the chat app pastes (订单编号：3901234567890123, 下单时间：
# 2026-11-28 10:02:11, 实付：¥129.00, 商品ID：…; one field a line, or all on one): a card's
# labels, each with a colon and a value of digits, letters and marks. Its label words name
# no topic (订单编号 matched 物流单号在哪里看 over 下单后多久发货); its numbers are still read
# for variables, only matching leaves it out. A value is taken whole (possessive): spaces
# between fields could belong to a value or the next label, and a line that ended in a
# Chinese word was tried in every such split (ten fields four spaces apart: 16 s).
_CARD_LABEL = re.compile(r"(?:子?订单(?:编号|号码?)?|(?:下单|付款|支付|成交|创建|发货|签收)时间|实付(?:款|金额)?|"
                         r"(?:支付|订单|退款)金额|商品总价|合计|数量|商品\s*(?:id|编号)|宝贝\s*id|sku|(?:支付宝)?交易号|"
                         r"流水号|(?:运|快递|物流|售后)单号|退款编号)[ \t]*[:：]", re.I)
_CARD_LINE = re.compile(rf"(?:[ \t]*{_CARD_LABEL.pattern}[^\u3400-\u9fff\n]*+)+", re.I)
# What says a card was pasted, not a field typed: the chat app's placeholder for it.
_CARD_MARK = re.compile(r"[\[【](?:订单|商品|宝贝)[\]】]")
# A card's fields in words (商品：青禾 纯棉T恤, 规格：白色 XL, 状态：待发货, 价格：¥79.00, its receiver's
# 收货人, 手机 and 收货地址), a whole line, each label with the values a card gives it (a status of
# the platform's, a price, a name, a number): they make no card of their own (规格：白色 XL 有货吗
# is typed), but go with one. 状态：一直没发货 怎么回事 and 收货人：张三 电话打不通 are the customer's.
_STATUS = (r"(?:待|已|买家已|卖家已)?(?:付款|发货|收货|签收|评价|取消|完成|关闭|退款)|运输中|派送中|配送中|"
           r"交易(?:成功|关闭|完成)|退款(?:中|成功|关闭)|售后中|部分发货")
_WORDED_FIELD = re.compile(r"[ \t]*(?:(?:商品(?:名称)?|宝贝(?:名称)?|标题|规格|颜色分类|收货地址|收件地址)[ \t]*[:：][^\n]{1,60}|"
                           rf"(?:订单|交易|物流)?状态[ \t]*[:：][ \t]*(?:{_STATUS})|"
                           r"(?:价格|单价|售价)[ \t]*[:：][ \t]*[¥￥]?[ \t]*\d+(?:\.\d{1,2})?[ \t]*元?|"
                           r"(?:收货人|收件人)[ \t]*[:：][ \t]*[\u4e00-\u9fffA-Za-z·*]{1,12}|"
                           r"(?:收货人|收件人)?(?:手机号?码?|电话|联系电话)[ \t]*[:：][ \t]*\+?[\d*][\d* -]{5,18}\d)[ \t]*")
# What a customer's own line holds and a card's never does: a question (`_QUESTION`), a problem
# or a demand (衣服破了 我要退货, M码 没货了, 电话打不通, 一直没发货).
# Not a title's style (破洞款, 防漏).
_REPORTS = re.compile(r"没|坏|破(?:了|损|的|掉)|烂|错|漏(?:了|水|液|发)|脏|投诉|差评|退|换货|我|要求|太|急|催|一直|到底|问题|"
                      r"不(?:了|到|对|行|能|亮|通|见)")
# The placeholder of a product card, whose title the line after it is.
_PRODUCT_MARK = re.compile(r"[\[【](?:商品|宝贝)[\]】]")


def _says_something(line: str) -> bool:
    """Whether a line (or a field's value) asks or reports something: the customer's own."""
    return bool(_QUESTION.search(line) or _REPORTS.search(line))


def _worded_field(line: str) -> bool:
    """Whether `line` (simplified) is a card's field in words (`_WORDED_FIELD`): a status of the
    platform's (退款中), or a value that asks and reports nothing."""
    if not _WORDED_FIELD.fullmatch(line):
        return False
    value = re.split("[:：]", line, maxsplit=1)[-1].strip()
    return bool(re.fullmatch(_STATUS, value)) or not _says_something(value)


# Understanding asks whether a message is a card alone, then what of it to match, for each of
# its lexicons: a few messages' answers are kept (32 at 100k characters each hold ~13 MB).
@lru_cache(maxsize=32)
def _without_pasted_lines(text: str) -> str:
    """`text` without a chat app's own lines and a pasted card's. A card is two fields or
    more, or fields under the app's placeholder ([订单]) or a message header; one field
    alone is the customer's own (运单号：YT7512345678901 查不到: its label is the topic)."""
    lines, card = _card_lines(text)
    return "\n".join(line for i, line in enumerate(lines) if i not in card)


# The fields of a card that name its product (商品：青禾 纯棉T恤, 商品名称：…, 宝贝：…).
_NAME_FIELD = re.compile(r"[ \t]*(?:商品(?:名称)?|宝贝(?:名称)?|标题)[ \t]*[:：][ \t]*")


# A title that holds an order number or a phone (whole or masked), or asks something, names no
# product: "青禾 纯棉T恤 订单3901234567890123 13800138000目前有现货" put them in a draft.
_NO_TITLE = re.compile(r"\d{7,}|\d{3}\*{4}\d{4}|[?？]|吗[\s!！。~]*$")


def product_name(text: str) -> str | None:
    """The product a pasted message shows, as written: a shared product's title (`SHARED`), or
    a card's (its 商品： field, or its title under the placeholder [商品]); None for none, or for
    a title holding an order number or a phone, or a question (`_NO_TITLE`)."""
    name = _product_name(text)
    return None if name is None or _NO_TITLE.search(name) else name


def _product_name(text: str) -> str | None:
    if titles := shared_titles(text):
        return titles[-1]
    lines, card = _card_lines(text)
    for i in sorted(card):
        if m := _NAME_FIELD.match(to_simplified(lines[i])):
            return lines[i][m.end():].strip() or None
        if i > 0 and _PRODUCT_MARK.fullmatch(to_simplified(lines[i - 1]).strip()) and not re.search("[:：]", lines[i]):
            return lines[i].strip() or None  # the title under [商品], never a field
    return None


def _card_lines(text: str) -> tuple[list[str], set[int]]:
    """The lines of `text` without a chat app's own, and which of them are a pasted card's."""
    lines = without_chat_frame(text).split("\n")
    simple = [to_simplified(line) for line in lines]
    card = {i for i, line in enumerate(simple) if _CARD_LINE.fullmatch(line) and any(ch.isdigit() for ch in line)}
    fields = sum(len(_CARD_LABEL.findall(simple[i])) for i in card)
    # Worded fields count for no card: with one the customer typed they made a typed order
    # number a card, and the customer's line its field. They go with a real card or under the
    # placeholder, each with a value a card gives its label and asking or reporting nothing.
    placed = _CARD_MARK.search(to_simplified(text))
    if not (card and (fields >= 2 or placed or any(chat_header(line) for line in text.split("\n")))):
        card = set()
    if card or placed:
        card |= {i for i, line in enumerate(simple) if i not in card and _worded_field(line)}
    # the product's title, on the line between the placeholder ([商品]) and the card's fields:
    # no field itself, and asking or reporting nothing ([商品] 收到的衣服破了 我要退货 is the customer's)
    card |= {i for i in range(1, len(lines) - 1) if i - 1 not in card and i not in card and i + 1 in card
             and _PRODUCT_MARK.fullmatch(simple[i - 1].strip()) and not re.search("[:：]", simple[i])
             and not _says_something(simple[i])}
    # the order placeholder itself ([订单] alone on its line) when nothing but the card is under
    # it: the card alone (its order number), which was read as the word "[订单]", a greeting.
    # Not [商品]: a product card alone is no order number given (its 商品ID would read as one).
    marks = {i for i, line in enumerate(simple)
             if _CARD_MARK.fullmatch(line.strip()) and not _PRODUCT_MARK.fullmatch(line.strip())}
    if card and all(i in card or i in marks or not line.strip() for i, line in enumerate(simple)):
        card |= marks
    return lines, card


def pasted_alone(text: str) -> bool:
    """Whether `text` holds nothing but a chat app's own lines and a pasted card (`for_matching`)."""
    return not _without_pasted_lines(text).strip()


def for_matching(text: str) -> str:
    """What of a pasted message is matched: without a chat app's own lines
    (`without_chat_frame`) and an order or product card's (`_CARD_LINE`); the message as
    it is when nothing else is left."""
    said = _without_pasted_lines(text)
    if said.strip():
        return said
    framed = without_chat_frame(text)
    return framed if framed.strip() else text


# The shop's automatic reply as a chat app marks it, opening a line ([自动回复], 【自動回覆】):
# the shop's words pasted with the customer's, not the customer's; not the customer speaking
# of it (【自动回复】说的48小时发货 现在都没发, [自动回复]里不是写着包邮吗).
_AUTO_REPLY = re.compile(r"\s*[\[【](?:自动回复|自动回覆|机器人回复|auto[ -]?reply)[\]】]"
                         r"(?![ \t]*(?:说|讲|写|里|中|上|提到|告诉|不是|明明|却|可是|但))", re.I)
# A reply that quotes an earlier message of the talk: WeChat's 「…」 over a line of dashes,
# or 引用 … 的消息：.
_QUOTE = re.compile(r"「[^「」]*」[ \t]*\n[ \t]*(?:[-—─][ \t]*){4,}(?:\n|$)|^[ \t]*引用.{0,40}?的消息[ \t]*[:：]", re.M)


def is_auto_reply(line: str) -> bool:
    """Whether `line` opens with a chat app's mark of the shop's automatic reply."""
    return bool(_AUTO_REPLY.match(to_simplified(line[:20])))


def apart_auto_replies(text: str) -> tuple[str, str]:
    """(the other lines, the shop's automatic replies) of a pasted message (`is_auto_reply`)."""
    lines = text.split("\n")
    return ("\n".join(line for line in lines if not is_auto_reply(line)),
            "\n".join(line for line in lines if is_auto_reply(line)))


def quotes_earlier(text: str) -> bool:
    """Whether `text` quotes an earlier message (`_QUOTE`): the talk began before it."""
    return bool(_QUOTE.search(text))


def is_blank(text: str) -> bool:
    """Whether `text` holds nothing but spaces (U+3000, U+00A0 and line separators too),
    control characters and characters of no width: an empty message."""
    return not scrub(text).strip()


def normalize(text: str, max_chars: int = MAX_CHARS, asked: bool = False) -> Normalized:
    """Half-width, lower-case, collapse spaces, convert to simplified; keep the tail of long
    text. A customer's message (`asked`) keeps instead the `max_chars` from the start of its
    last clause that asks something (not 亲在吗 alone), when one does before the last
    `max_chars`: a long complaint after 请问怎么退货？ kept only the complaint."""
    text = unicodedata.normalize("NFKC", scrub(text))
    text = _SPACE.sub(" ", text).strip()
    truncated = len(text) > max_chars
    start = None
    if truncated:
        if asked:  # 吗, 什么: the question words are read in simplified script
            plain = to_simplified(text).lower()
            span = _last_question(plain if len(plain) == len(text) else text, real=True)
            # the question and what follows it (why, what is wanted); a question within the
            # last max_chars keeps the tail
            if span and span[0] < len(text) - max_chars:
                start = max(span[0], span[1] - max_chars)
            if start is not None and start + max_chars >= len(text):
                start = None  # a run-on question ending the message: its tail, as said
        text = text[start:start + max_chars] if start is not None else text[-max_chars:]
    script = detect_script(text)
    simplified = to_simplified(text) if script == TRADITIONAL or _CJK.search(text) else text
    return Normalized(simplified.lower(), script, truncated, start is not None)


# Cantonese as a Hong Kong customer writes it, read in the Mandarin the entries are
# written in (冇货点算 is 没有货怎么办, 几耐到 多久到), and Taiwan's 出货 as the mainland's
# 发货 (请问出货了吗), on `normalize`d text: for matching only, the message itself stays as
# written. Words of Cantonese alone: 唔该 (thanks) stays,
# as do 俾斯麦 and a mainland "um" (唔，好吧); 系 is what t2s makes of 係, so 系咪 is 是不是.
_CANTONESE = [(re.compile(p), w) for p, w in (
    (r"使唔使", "要不要"), (r"系唔系|系咪", "是不是"), (r"得唔得", "行不行"), (r"有冇", "有没有"), (r"冇", "没有"),
    (r"点算", "怎么办"), (r"点样", "怎样"), (r"点解", "为什么"), (r"点计", "怎么算"), (r"几耐", "多久"),
    (r"几时", "什么时候"), (r"几多", "多少"), (r"边度", "哪里"), (r"边个", "哪个"), (r"啱啱", "刚刚"),
    (r"啱", "合适"), (r"嘅", "的"), (r"咗", "了"), (r"(?<!唔)唔(?!该|唔)(?=[\u3400-\u9fff])", "不"), (r"哋", "们"), (r"佢", "他"),
    (r"喺", "在"), (r"俾(?!斯)|畀", "给"), (r"攞", "拿"), (r"睇", "看"), (r"揾", "找"), (r"嘢", "东西"),
    (r"咩", "什么"), (r"仲(?=[未有没可要是])", "还"), (r"出货", "发货"))]


# Mainland chat spellings read as the words meant: internet slang (肿么 怎么, 木有 没有, 神马
# 什么), 俩/仨 for 两个/三个, the typos of a pinyin keyboard (退宽 退款, 发或 发货, 快地 快递,
# 推货 退货, 发漂 发票, 以经 已经, 再吗 在吗) and pinyin initials (tk 退款, th 退货, zfb 支付宝,
# jd 京东, wx 微信, sf 顺丰, kd 快递, dd 订单, qs 签收). "我想tk 衣服买大了 肿么弄" matched the
# size exchange entry, "再吗" the restocking one (啥时候再上). Initials only as a word of their
# own (not jdk, with thanks, 5th, ddr4), kd/dd/qs only beside a parcel's word (`_BESIDE_PARCEL`),
# 发或 only where it ends the verb (not 补发或退款), 快地 not as an adverb (很快地, 快快地, 愉快地),
# 推货 only where a return is meant (我想推货, 推货吗: not 推货车, 直播推货, 主推货品), 发漂 only
# where an invoice is meant (开发漂, 发漂抬头: not 染发漂色, 长发漂流, 头发漂亮), 以经 only before
# a verb (以经付款了: not 以经验, 以经销商, 以经常穿的),
# 再吗 only opening the message, 亲 at most before it (not 能再便宜点吗, nor 好的 再嘛: see you).
# A phone's speech-to-text mishears some (语音输入, no punctuation, as many older customers
# type): 推款 退款 only where a refund is meant (我想推款, 推款到账了吗: not 主推款, 推款式),
# 发飘 发票 only after a verb or a number word (开个发飘, 要发飘: not 车子发飘, 头发飘逸), 快滴
# 快递 only beside a parcel's word (我的快滴, 快滴到哪了: not chat's 快滴发货, hurry), 亲收 签收
# only once done (显示亲收了: not 亲收到了吗), 无流 物流 only before a parcel's news (无流一直不
# 更新: not 无流苏, 无流量), 尺马 尺码 (no word of its own), 包油 包邮 (the same syllables) only
# where free postage is asked (能包油吗, 满多少包油, 包不包油: not 面包油, 包油条).
# kd, dd and qs are models, brands and names as well (KD鞋, kd500, DD礼服裙, QS认证, 我叫dd):
# read only beside a word of parcels or orders (kd到哪了, 查kd, 我的dd呢, dd号, qs了), or
# kd as the whole message (kd?, 亲 kd: `_ALONE`); dd alone is 滴滴, a ping: 在吗.
_BESIDE_PARCEL = (r"(?<![a-z\d-])(?:(?<=[的查下发走用寄么个了]){0}(?![a-z\d-])"
                  r"|{0}(?=[到呢单号吗了还怎几没啥寄送发显停是在已]))")
# A message of kd or dd alone (亲 before it at most, punctuation after): a shop's chat asks
# after the parcel with kd? (no word of the message), and pings with dd (滴滴, 在吗).
_ALONE = r"(?:^|(?<=^亲)|(?<=^亲 )|(?<=^亲,)){0}(?=[\s?!.。~]*$)"
_CHAT = [(re.compile(p), w) for p, w in (
    (r"肿么", "怎么"), (r"木有", "没有"), (r"神马", "什么"), (r"俩个?", "两个"), (r"仨个?", "三个"),
    (r"退宽", "退款"), (r"发或(?=[吗嘛么了没呢不?!,.\s]|$)", "发货"), (r"(?<![很飞尽更较挺好太赶越最极真快愉痛爽凉欢轻])快地", "快递"),
    (r"(?<![a-z\d])tk(?![a-z])", "退款"), (r"(?<![a-z\d])th(?![a-z])", "退货"), (r"(?<![a-z\d])zfb(?![a-z])", "支付宝"),
    (r"(?<![a-z\d])jd(?![a-z])", "京东"), (r"(?<![a-z\d])[wv]x(?![a-z])", "微信"), (r"(?<![a-z\d])sf(?![a-z])", "顺丰"),
    (_BESIDE_PARCEL.format("kd"), "快递"), (_BESIDE_PARCEL.format("dd"), "订单"), (_BESIDE_PARCEL.format("qs"), "签收"),
    (_ALONE.format("kd"), "快递"), (_ALONE.format("dd"), "在吗"),
    (r"(?:(?<=[想要能以么请我了])推货|(?<![主在品播])推货(?=[吗了呢吧运地,.!?~\s]|$))(?![车架])", "退货"), (r"(?<![染长假理头])(?:(?<=[开要用子通税的])发漂|发漂(?=[吗呢不,.!?~\s]|抬头|怎么|$))(?![色染流洗亮白移])", "发票"), (r"以经(?=[付发收下申买退拍签提寄等到是有没很好]|过了)", "已经"),
    (r"^(亲[\s,]?)?再(?=[吗嘛么](?![\u4e00-\u9fff]))", r"\1在"),
    (r"(?<![主新爆热力品款首周间里店播重])(?:(?<=[想要能以么请我了申])推款|"
     r"推款(?=[吗了呢吧没去,.!?~\s]|$|还(?!有)|到(?!货)|怎么|什么(?!时候上)|多久|进度|成功))(?!式)", "退款"),
    (r"(?:(?<=[开要用通税张])|(?<=电子)|(?<=[开要]个))发飘|(?:(?<=^有)|(?<=[会能亲问没]有))发飘(?=[吗不没])|发飘(?=抬头)", "发票"),
    (r"(?<![好很真超太])(?<!真的)(?<!好的)(?:(?<=[的查下走用寄个了])快滴|快滴(?=[到呢单号了还怎几没啥显停是在已员公柜站]))", "快递"),
    (r"(?<=[已示被谁人经])亲收(?![到下好货藏款件])", "签收"), (r"(?<![英公市])尺马(?!上)", "尺码"),
    (r"(?<![并毫])无流(?=信息|一直|显示|更新|单号|到哪|怎么|还没|没有|不动|停|状态|[呢吗]|是不是)", "物流"),
    (r"(?<![面书钱背腰荷一两这那料调个])(?:(?<=[能可满就才不给])包油|包油(?=[吗嘛么呢吧,.!?~\s]|$|费|的话|门槛|"
     r"[不没](?=包|吗|[,.!?~\s]|$)))(?![条饼炸烟渣纸])", "包邮"))]
_CHAT_WORD = re.compile(r"肿么|木有|神马|[俩仨]|退宽|发或|快地|推货|发漂|以经|再[吗嘛么]|推款|发飘|快滴|亲收|尺马|无流|包油|"
                        r"(?<![a-z\d])(?:tk|th|zfb|jd|wx|vx|sf|kd|dd|qs)(?![a-z])")


# A shop's words typed in pinyin by a customer whose keyboard is set to letters ("tuihuo",
# "fahuo le ma", "shenme shihou dao"), with or without spaces between syllables, and the
# small words (le, ma, dao…) read only in a run of letters made of such words alone with at
# least one shop word: "hi, can i return this?", "mama", "le creuset" and "size m" stay.
_PINYIN_WORDS = {
    "tui huo": "退货", "tui kuan": "退款", "huan huo": "换货", "fa huo": "发货", "kuai di": "快递", "wu liu": "物流",
    "fa piao": "发票", "ding dan": "订单", "dan hao": "单号", "shou hou": "售后", "bao you": "包邮", "yun fei": "运费",
    "chi ma": "尺码", "bu huo": "补货", "dao zhang": "到账", "qu xiao": "取消", "qian shou": "签收", "shou huo": "收货",
    "you hui quan": "优惠券", "you hui": "优惠", "xian huo": "现货", "you huo": "有货", "dao huo": "到货",
    "shen me shi hou": "什么时候", "duo jiu": "多久", "zen me ban": "怎么办", "wei shen me": "为什么",
    "duo shao": "多少", "ji tian": "几天", "zai ma": "在吗", "zai bu zai": "在不在", "ke yi": "可以", "na li": "哪里", "tui": "退", "huan": "换"}
_PINYIN_SMALL = {
    "shen me": "什么", "zen me": "怎么", "mei you": "没有", "le": "了", "ma": "吗", "ne": "呢", "a": "啊", "ba": "吧",
    "dao": "到", "kai": "开", "fa": "发", "neng": "能", "hai": "还", "mei": "没",
    "bu": "不", "shi": "是", "wo": "我", "de": "的", "hao": "好", "yao": "要", "xiang": "想"}


def _syllables(words: Iterable[str]) -> str:
    return "|".join(w.replace(" ", " ?") for w in sorted(words, key=len, reverse=True))


_PINYIN_PIECE = re.compile(rf"{_syllables(_PINYIN_WORDS)}|{_syllables(_PINYIN_SMALL)}")
# A run stands apart from an e-mail address, a domain or a path too (tuihuo@163.com, mail.fahuo.cn).
_PINYIN_RUN = re.compile(rf"(?<![a-z\d@_/-])(?<![a-z\d]\.)(?:{_PINYIN_PIECE.pattern})(?: ?(?:{_PINYIN_PIECE.pattern}))*"
                         r"(?![a-z\d@_/-]|\.[a-z\d])")
_PINYIN_READ = {k.replace(" ", ""): w for k, w in (_PINYIN_SMALL | _PINYIN_WORDS).items()}
_SHOP_PINYIN = frozenset(k.replace(" ", "") for k in _PINYIN_WORDS)
# Shop words of one syllable, names as often (Tui Na, wang huan): read only with another piece.
_ONE_SYLLABLE = frozenset({"tui", "huan"})
_LETTERS = re.compile("[a-z]")


def _pinyin(run: re.Match) -> str:
    pieces = [p.replace(" ", "") for p in _PINYIN_PIECE.findall(run.group())]
    if not any(p in _SHOP_PINYIN for p in pieces) or (len(pieces) == 1 and pieces[0] in _ONE_SYLLABLE):
        return run.group()
    return "".join(_PINYIN_READ[p] for p in pieces)


# A shop's words in English, as a customer writes them alone or amid Chinese ("能return吗",
# "Hi, can I return this?"): the entries are in Chinese. Whole words only (returned and
# shipper stay), a noun's plural too. Not size, which Hong Kong and mainland customers alike
# use as a Chinese word (想换嘅size冇货, 有没有女装size表), as entries' phrasings do.
_ENGLISH_WORDS = {"shipping fee": "运费", "shipping cost": "运费", "delivery fee": "运费", "postage": "运费",
                  "return": "退货", "refund": "退款", "exchange": "换货", "shipping": "发货",
                  "ship": "发货", "invoice": "发票", "coupon": "优惠券", "cancel": "取消"}
_ENGLISH = re.compile(r"(?<![a-z])(" + "|".join(sorted(_ENGLISH_WORDS, key=len, reverse=True)) + r")s?(?![a-z])")
# English out of a question to the shop stays (Ship of Theseus, exchange rate, Return to
# sender): its words are read in a question (能return吗, can I get a refund), a message mostly
# in Chinese, beside a Chinese word (exchange一下尺码) or alone (refund).
_ASKING = re.compile(r"[?吗呢么嘛]|^(?:(?:hi|hello|hey)\b\W*)?(?:can|could|how|when|where|what|why|do|does|did"
                     r"|is|are|will|would|may|i want|i'd like|i need|please|pls)\b")


# A shop's name that an English shop word begins or stands in (Refund Shop旗舰店, Return旗舰店,
# Happy Return Store): the word then is a name, not a question. Not 店里 / 店内 (return到店里),
# nor the shop's people after the word (我要refund店家不理我, return店员说不行).
_SHOP_NAME = re.compile(r" ?(?:shop|store)(?![a-z])| ?(?:[a-z]+ ?)?(?:官方)?(?:旗舰|专卖|专营|官方)?店(?![里内中面铺家员长主小老])")


def _english(text: str) -> str:
    asked = (bool(_ASKING.search(text)) or len(_CJK.findall(text)) >= len(_LETTERS.findall(text))
             or bool(_ENGLISH.fullmatch(text.strip(" ,.!~"))))

    def read(word: re.Match) -> str:
        if _SHOP_NAME.match(text, word.end()):
            return word.group()
        beside = text[max(word.start() - 1, 0):word.start()] + text[word.end():word.end() + 1]
        return _ENGLISH_WORDS[word.group(1)] if asked or _CJK.search(beside) else word.group()

    return _ENGLISH.sub(read, text)


# A chat app's sticker as it arrives in text: its name in brackets ([微笑], [捂脸], [叹气],
# [OK], on normalised text [ok]). Not a size, alone or in a list (要[m]码的, 尺码[s/m/l]).
STICKER = re.compile(r"\[(?:[\u4e00-\u9fff]{1,4}|ok|yeah)\]")

# An @mention (WeChat's and 飞鸽's group chats: "@青禾优选 在吗"), ended by a space (WeChat's
# U+2005 is one after NFKC): it names the shop or the agent, not the question. Not an e-mail,
# nor an e-mail's domain (邮箱后缀是 @163.com 的收不到).
MENTION = re.compile(r"(?<![\w.])@(?![a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:\s|$))[^\s@]{1,20}(?=\s|$)", re.I)

# A link the customer pasted (a product page: item.htm?id=623456789012345, a short link:
# m.tb.cn/h.5abc), with or without its scheme, up to a space or a Chinese character. It
# names the goods, not the question, and its letters are no chat spellings (item.jd.com is
# no 京东, ?tk= no 退款); its digits are ids, never an order number. The head is a draft's
# (`_LINK`), in any case; all of the link's ASCII after it.
LINK = re.compile(rf"{_LINK_HEAD}[!-~]*", re.I)


# A product shared from a shop app, as it arrives: the app's mark (【淘宝】, 【京东】), the link, a
# code (CZ0001), the title in 「」 and 点击链接直接打开 (或者 淘宝搜索直接打开). Its title names the
# goods, not the question ("…「青禾 纯棉T恤 男款」点击链接直接打开 这个有货吗" matched the size
# chart and the cotton entry); alone, it stays, as a link does (its title asks nothing). A 「」 the customer writes
# (「申请售后」在哪), with no mark, link or 点击链接 beside it, stays; so does one after a link or an
# app's name alone (https://… 「七天无理由」是真的吗, 【淘宝】「运费险」怎么用): a share ends in the app's
# 点击链接…打开, or has its mark and its link both. The app's name and 点击链接…打开 are the share's
# only at a line's start or beside a link (我在【京东】买的, 点击链接打开不了 are the customer's).
# (In either script: a title is read from the message as written, 【淘寶】… 點擊鏈接直接打開.)
_SHOP_APP = r"【(?:淘[宝寶]|天[猫貓]|京[东東]|拼多多|抖音商城|抖音|快手|[闲閒][鱼魚]|唯品[会會]|[苏蘇][宁寧]易[购購])】"
_OPEN_IT = (r"(?:[点點][击擊]|[复複][制製])(?:[链鏈]接|[连連]結)[^\s「」]{0,6}打[开開]"
            r"(?:[ \t]*或者[ \t]*\S{1,8}?搜[索尋]直接打[开開])?")
# The link is taken from where its run of ASCII begins, in one go (atomic): tried from every
# place a link could begin in a run of them, each try to the run's end, 16k characters of
# links cost 3 s.
_LINK_RUN = rf"(?>(?<![!-~])[!-~]*?{_LINK_HEAD}[!-~]*+)"
SHARED = re.compile(rf"(?P<app>{_SHOP_APP}[ \t]*)?(?P<link>{_LINK_RUN}[ \t]*)?(?:[a-z]{{2}}\d{{4}}[ \t]*)?"
                    rf"「(?P<title>[^「」\n]{{1,100}})」(?P<open>[ \t\n]*{_OPEN_IT})?|"
                    rf"(?<![^\n])[ \t]*{_SHOP_APP}|{_SHOP_APP}(?=[ \t]*{_LINK_RUN})|{_LINK_RUN}[ \t]*{_OPEN_IT}", re.I)


def _shared(m: re.Match) -> str:
    return m.group() if m["title"] and not (m["open"] or m["app"] and m["link"]) else " "


def shared_titles(text: str) -> list[str]:
    """The titles of the products shared in `text` (see SHARED), as written."""
    return [m["title"].strip() for m in SHARED.finditer(text) if m["title"] and _shared(m) == " "]


_STICKER_AS_TYPED = re.compile(STICKER.pattern, re.I)  # [OK] as it arrives, before lower-casing
# What a chat app pastes within a line, left out alike of what is matched and of what is learned.
_PASTED = (_STICKER_AS_TYPED, MENTION, SHARED, LINK)


def _without(pasted: re.Pattern, text: str) -> str:
    return _SPACE.sub(" ", pasted.sub(_shared if pasted is SHARED else " ", text)).strip()


def own_words(text: str) -> str:
    """The customer's own words of a pasted message, as a phrasing to learn: without a chat
    app's own lines and an order card's (`for_matching`), stickers and placeholders, @mentions,
    shared products and links, spaces collapsed; '' when nothing else is left (a message of a header or a
    card alone is still matched, there being nothing else to match, but it offers no words
    to learn)."""
    said = _without_pasted_lines(text)
    for pasted in _PASTED:
        said = _without(pasted, said)
    return said


def mandarin(text: str) -> str:
    """`normalize`d text with its Cantonese words in Mandarin (点算 -> 怎么办), Taiwan's
    出货 as 发货, mainland chat spellings as the words meant (肿么 -> 怎么, tk -> 退款) and a
    shop's words typed in pinyin in characters (fahuo le ma -> 发货了吗, `_PINYIN_WORDS`),
    without chat stickers ([捂脸] made 捂 and 脸 words of the message), @mentions
    (`MENTION`), shared products (`SHARED`) and pasted links (`LINK`), for matching: as `own_words` leaves them out,
    but one alone stays, there being nothing else to match."""
    for pasted in _PASTED:
        if pasted.search(text):
            if bare := _without(pasted, text):
                text = bare
            elif pasted in (SHARED, LINK):
                return text  # a link or a shared product alone stays as it is, its letters no chat words
    return as_meant(cantonese_read(text))


def cantonese_read(text: str) -> str:
    """`normalize`d text with its Cantonese words in Mandarin (点计 -> 怎么算) and Taiwan's 出货
    as 发货: how an entry's own phrasings are matched, as a message's are (`mandarin`), so
    a Hong Kong shop's 運費點計 meets a mainland customer's 运费怎么算 as a Mandarin entry would."""
    if _CANTONESE_CHAR.search(text):
        for word, mandarin_word in _CANTONESE:
            text = word.sub(mandarin_word, text)
    return text


def as_meant(text: str) -> str:
    """`normalize`d text with mainland chat spellings (肿么, 再吗, tk) and a shop's words typed in
    pinyin (tuihuo) or written in English (return, refund; not size) as the words meant, and
    a number said digit by digit (幺三五七…) in digits (`spoken_digits`): what matching reads
    (`mandarin`) and understanding too. Links and e-mail addresses stay as
    written: their letters are no chat spellings (return-policy is no 退货)."""
    return _around_links(_as_meant, text)


def _as_meant(text: str) -> str:
    text = spoken_digits(text)
    if _CHAT_WORD.search(text):
        for word, meant in _CHAT:
            text = word.sub(meant, text)
    if _LETTERS.search(text):
        text = _PINYIN_RUN.sub(_pinyin, text)
        text = _english(text)
    return text


_CANTONESE_CHAR = re.compile("[唔冇嘅咗哋佢喺俾畀攞睇揾嘢咩啱仲]|系咪|点[算样解计]|几[耐时多]|边[度个]|出货")


# Characters of a shop term: a product, brand or slang word is a few; a longer "term" is a
# pasted sentence, which would be one token matching nothing but itself.
MAX_TERM = 32


def normalize_term(term: str) -> str:
    """A shop term as it is stored and matched: `normalize`d, so `運費險`, `ＡＢＣ` and
    `运费险`, `abc` are one term. ValueError (saying why) for an empty term, one with a
    space inside (segmentation splits text at spaces, so such a term never matches) or
    one over MAX_TERM characters."""
    text = term.strip()
    if not text:
        raise ValueError("is empty")
    if any(ch.isspace() for ch in text):
        raise ValueError("has a space in it: a term is one word (write it without the space, "
                         "or add each word as its own term)")
    if len(text) > MAX_TERM:
        raise ValueError(f"has {len(text)} characters; the limit is {MAX_TERM}")
    text = normalize(text).text
    if bad := next((ch for ch in text if not _TERM_CHAR.match(ch)), None):
        raise ValueError(f"has {bad!r} in it: segmentation splits text there, so the term would never match "
                         f"(write it without {bad!r}, or add each part as its own term)")
    return text


# What jieba keeps inside one word (its re_han_default); it splits text at anything else
# (· （ ） ／), so 小米·手环 or 运费险（新） could never be found as one term.
_TERM_CHAR = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]")


def normalize_terms(terms: Iterable[str]) -> list[str]:
    """Shop terms as `normalize` makes the text they are matched in (lower-case, half-width,
    simplified), sorted and without duplicates: a term typed `ABC牌` or `運費險` must meet
    the message text `abc牌` or `运费险`."""
    out = {normalize(t).text for t in terms}
    return sorted(t for t in out if t)


# jieba's default dictionary (its prefix dict and total), read once per process: each new
# Segmenter (a new shop term means a new one) copies it in ~35 ms instead of reading it
# again in ~2 s (5 s on a busy machine), which stalled the next search of a server.
_DICT: tuple[dict, int] | None = None
_DICT_LOCK = threading.Lock()
_JIEBA_CACHE = "jieba.cache"  # jieba's own name for the default dictionary's cache file


def _jieba(cache_dir: Path | None):
    """A jieba tokenizer holding the default dictionary and nothing else yet."""
    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)  # after the import, which sets DEBUG
    global _DICT
    tk = jieba.Tokenizer()
    cache = Path(cache_dir) / _JIEBA_CACHE if cache_dir is not None and _cache_usable(cache_dir) else None
    with _DICT_LOCK:
        if _DICT is None:
            # Read and written here, not by jieba's initialize: jieba writes its cache
            # readable by its writer alone (mkstemp's 0600), so a server user could not read
            # the one an admin's `kefu init` left, and jieba logged a traceback each start.
            read = _read_cache(cache) if cache is not None else None
            _DICT = read or tk.gen_pfdict(tk.get_dict_file())
            # One that could not be read, also a readable one cut short: else every process
            # builds the dictionary again (~2 s) for good.
            stale = read is None
        else:
            stale = cache is not None and not os.access(cache, os.R_OK)
    tk.FREQ, tk.total = dict(_DICT[0]), _DICT[1]
    tk.initialized = True
    if cache is not None and stale and os.access(cache.parent, os.W_OK | os.X_OK):
        _write_cache(cache)  # so the next process reads it from here
    return tk


def _cache_usable(cache_dir: Path) -> bool:
    """Whether jieba's cache can be written to `cache_dir` (made if missing) or read from
    it. A data folder this user cannot write (a read-only snapshot, the server user's
    folder) is searched all the same, without a cache: making the folder failed the
    search, and jieba's failed write of its cache printed a traceback."""
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(cache_dir, os.W_OK | os.X_OK) or os.access(Path(cache_dir) / _JIEBA_CACHE, os.R_OK)


def _read_cache(path: Path) -> tuple[dict, int] | None:
    """The default dictionary from a cache file `_write_cache` (or jieba) wrote; None when
    it cannot be read (another user's, cut short): the dictionary is then built anew."""
    try:
        with open(path, "rb") as f:
            freq, total = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return (freq, total) if isinstance(freq, dict) and isinstance(total, int) else None


def _write_cache(path: Path) -> None:
    """The default dictionary in jieba's cache format, written whole or not at all, with
    the mode the umask gives (readable by the server's user where other files are)."""
    try:
        tmp, fd = temp_beside(path)
    except OSError:  # a cache is an optimisation: a folder that cannot be written must not stop segmenting
        return
    try:
        with os.fdopen(fd, "wb") as f:
            marshal.dump(_DICT, f)
        os.replace(tmp, path)
    except OSError:  # a cache is an optimisation: a full disk must not stop segmenting
        tmp.unlink(missing_ok=True)


class Segmenter:
    """jieba words plus single CJK characters, with a shop-term user dictionary.

    Single characters make typos and homophones still share most tokens with the
    intended phrase; whole words keep precision. jieba's prefix-dictionary cache is
    written to `cache_dir` (inside the data dir), not to /tmp. Terms are normalised
    like the text they are found in (the store keeps them so, `normalize_term`).
    """

    def __init__(self, cache_dir: Path | None = None, terms: Iterable[str] = ()):
        self._tk = _jieba(cache_dir)
        self.terms = normalize_terms(terms)
        # How many content words a term counts for (`count`): as many as it makes without the
        # user dictionary, read here before the terms join it.
        self._term_words = {t: max(1, len(self._content(self._tk.lcut(t, HMM=True)))) for t in self.terms}
        for term in self.terms:
            self._tk.add_word(term, freq=50_000)
        # Safe to keep: a segmenter's dictionary never changes (new terms, new segmenter).
        self._kept = lru_cache(maxsize=1024)(self._segment)

    def split(self, text: str) -> tuple[list[str], list[str]]:
        """Content words and the single characters of CJK words, of already normalised text."""
        words, chars = self._kept(text) if len(text) <= CACHED_CHARS else self._segment(text)
        return list(words), list(chars)  # the caller's own lists: the kept ones never change

    def count(self, words: list[str]) -> int:
        """How many content words `words` (from `split`) are, each term counted as the words it
        makes without the user dictionary: adding a product name (雪绒冰丝: 雪绒 + 冰丝) as a
        term must not make a message naming it look shorter to the confidence curve."""
        return sum(self._term_words.get(w, 1) for w in words)

    @staticmethod
    def _content(pieces: list[str]) -> list[str]:
        """jieba's pieces that are content words: not blank, not punctuation, not stopwords."""
        words = []
        for word in pieces:
            word = word.strip()
            if word and any(ch.isalnum() for ch in word) and word not in STOPWORDS:
                words.append(word)
        return words

    def _cut(self, text: str) -> list[str]:
        """jieba's words, a number's unit kept apart from what follows it: jieba's guess
        for unknown words joins them (7天无理由 made 7 / 天无 / 理由, 30天价保 7 / 天价 / 保)."""
        pieces, start = [], 0
        for m in _NUMBER_UNIT.finditer(text):
            pieces += self._tk.lcut(text[start:m.start(1)], HMM=True)
            pieces.append(m[1])
            start = m.end()
        return pieces + self._tk.lcut(text[start:], HMM=True)

    def _segment(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        words: list[str] = []
        chars: list[str] = []
        for word in self._content(self._cut(text)):
            words.append(word)
            if len(word) > 1 and _CJK.match(word):
                chars.extend(ch for ch in word if ch not in STOPWORDS)
        return tuple(words), tuple(chars)

    def tokens(self, text: str) -> list[str]:
        """BM25 tokens: words, then single characters."""
        words, chars = self.split(text)
        return words + chars


def terminal_columns(text: str) -> int:
    """Columns `text` takes in a terminal or a fixed-width layout: a wide (CJK) character two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def counted(n: int, noun: str, plural: str = "") -> str:
    """`1 entry`, `3 entries`: a count with its noun in the right number (default plural: noun + s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

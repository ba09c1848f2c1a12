"""The assistant beside the chat: message (+ recent turns) → hits and reply drafts.

`Suggestion` is the shape the CLI prints with --json and the web API returns; a
test freezes it.
"""

from __future__ import annotations

import json
import re
from copy import copy
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable

from kefu.kb.entry import Entry, ends_at
from kefu.kb.errors import EmptyQuery, ImportFileError, TextTooLong
from kefu.kb.feedback import FeedbackLog
from kefu.kb.io import iter_jsonl, read_text
from kefu.kb.template import variables
from kefu.kb.text import (GIVEN_NUMBER, MAX_CHARS, MAX_MESSAGE, SIMPLIFIED, SPOKEN_NUMBER, TRADITIONAL,
                          apart_auto_replies, bot_reply_below, chat_header, for_matching, is_auto_reply, is_chat_notice,
                          normalize, pasted_alone, product_name, question_window, quotes_earlier, script_evidence, scrub,
                          to_mainland, to_simplified, to_traditional, without_chat_frame)

from .draft import KNOWN_VARIABLES, Composer, Draft, awaits, literal_values, same_answer, topic, values_from_message
from .retrieve import Hit, Reference, Retriever, SearchResult
from .understand import (CHIT_CHAT, SENTIMENTS, STAGE, asks_for_address, attachment_only, calm_question, chasing,
                         delivered, disclaims, gives_address, never_again, offer_unanswered, plans, reports_problem,
                         says_nothing_yet, small_talk, sorry_for_tone, understand)

# Where one question ends and another starts (not at "！": an outburst is one question).
# 还有 / 另外 start a new question, except where they mean "still have" or "extra": "还有
#别的颜色吗", "还有货吗", a size or a colour ("还有s码吗", "还有38码吗", "还有小码吗", "还有白色的吗"),
# "让我另外付运费" are one question.
_NEXT = (r"还有(?!货|现货|库存|别的|其他|其它|没有|吗|么|的|码|号|[a-z\d]+(?:码|号|的|吗|么)|[大小中均]码|[大小]号|"
         r"\w{0,2}色(?:的|吗|么|嘛|不|没))|另外(?![付收加交给算要])|顺便问|顺便")
# A number long enough to be what an agent asked for (an IMEI, an order number), or a serial
# of capitals and digits (F2LX3ABC1Q): 稍等2分钟 and 是iPhone 15的吗 hold digits but answer nothing.
_LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){7,}|(?<![A-Za-z\d])(?=[A-Z\d]*\d)[A-Z\d]{8,}(?![A-Za-z\d])")
_CLAUSES = re.compile(rf"[？?；;\n]+|{_NEXT}")
# Finer pieces, to find the questions in a message ("能开发票吗 多久发货"): a piece asks
# something when it has one of these cues; context pieces of a story usually do not.
_PIECES = re.compile(rf"[？?；;\n，,。.!！~～\s]+|{_NEXT}")
# A message that continues a talk kefu was not shown ("那能退吗？", "那运费谁出"): it opens
# with 那 (then, so) and names at most one topic.
_FOLLOW_UP = re.compile(r"^(?:亲[，,\s]*)?那(?!里|边|儿|什么)(?!(?:个|個|啥)[，,、\s])")  # 那个，… is a filler
# A follow-up asking only how to go on with what was said before ("怎么操作", "然后呢", "具体怎么弄",
# "那要怎么申请"): it names no topic, whatever entries hold its words (操作, 具体).
_HOW_ON = re.compile(r"(?:(?:好的?|嗯+|哦+|ok)[，,\s]*)?(?:那|那么|所以)?[，,\s]*(?:具体|到底|我)?(?:要|该|应该|需要|得)?"
                     r"(?:(?:怎么|怎样|如何|咋)(?:去|来)?(?:操作|弄|做|搞|整|申请|办理|进行)?|"
                     r"(?:然后|接下来|下一步|之后)(?:呢|怎么(?:做|弄|操作))?|具体(?:点|一点|说说|讲讲)?|(?:步骤|流程)(?:是什么|是啥)?)"
                     r"[呢啊呀哦吖嘞~～?？。.!！\s]*")
# A message pointing back at what was said ("这算质量问题吗", "这种情况能退吗"; not 这边, here)
# is about it, whatever else it names. Not 这个 or 这款: they point at a product or at the
# thing named next (这款衣服会起球吗 after 发票怎么开 asks about pilling); 这个能退吗 names at
# most one topic and is vague anyway.
_POINTS_BACK = re.compile(r"^(?:亲[，,\s]*)?那?这(?:样|种|也|算|么)")
# Words that name no topic: question words, conditions, times ("那如果已经发货了呢" names
# one, 发货; "多少钱" after "能发顺丰吗" names none, so it is read with that question).
# Nor do pronouns (你们 is in half the base), nor 处理, 解决, 看看: they ask for help with
# whatever was said before ("不知道还能不能处理"), nor words pointing back at it (这算,
# 这种情况, 这样: "这算质量问题吗" after "衣服线头很多" asks about the threads).
# Nor do 支持 / 提供 (支持降噪吗 asks about
# 降噪, as 支持花呗吗 about 花呗), 一直, or an amount of something (用了一次, 大一码, 两天):
# "用了一次不喜欢" shares 一次 with 充一次电能用多久 and asks nothing about charging.
_NO_TOPIC = re.compile(r"多少钱?|多久|多长时间|几天|怎么样?|怎么办|什么|为什么|如果|要是|已经|那要|那么|那样|还能|可以|"
                       r"能不能|不能|是不是|现在|来得及|时候|的话|昨天|今天|明天|前天|后天|一下|"
                       r"[你我他她它咱]们|[这那](?:个|些|里|边|样|种|算|么)|情况|自己|不?知道|处理|解决|看看|支持|提供|一直|"
                       r"[一二两三四五六七八九十百几半\d]+(?:次|个|件|天|周|年|月|码|号|双|条|张|份|单|块|元|瓶|盒|套)")
# Single characters that say nothing of their own about what is asked (谁出, 能用, 要给),
# negations and degrees (再不给我退款: 不; 小了想换大一码: 大 of 多大码), and 买, which says
# when or that it was bought (空气炸锅买了快两年了坏了还能修吗: not 买空气炸锅能分期不).
_WEAK = set("出用要能会有给到来去做说看是在时不没很太再就还也都又大小多少买")
# A question in Cantonese too, as the normalised text spells it: 有冇, 系咪 (係咪), 点样, 几时,
# 咩, 边度, and the A-not-A forms 得唔得, 使唔使, 好不好; not 有冇搞错 / 有没有搞错, "are you kidding".
# A choice asked without a question mark too, when its two sides match and the second ends the
# piece: 是发顺丰还是中通, 电子的还是纸质的, M还是L, 偏大还是偏小, 退货还是换货, 黑色还是白色好看. Not 还是
# as "still" (还是不行, 我还是想要, 还是有点小), nor after a story (收到的还是坏的, 我是按说明书装的还是
# 装不上, 升级到18.2还是闪退: the two sides differ, or the second is a fault), nor 你还是给我换吧.
_SAME_PIECE = r"[^，,。.！!？?；;\s]"
_STILL = (r"(?![不没未无想很挺太要会在]|一直|一样|照样|老样子|这样|那样|算了|有点|给我)"
          rf"(?!{_SAME_PIECE}{{0,4}}(?:坏|破|错|漏|闪退|卡|黑屏|花屏|死机|异味|掉色|褪色|起球))")
# A choice ends the piece, or a closing particle, an address to the customer-service agent (亲) or
# what is compared does: 现货还是预售啊亲, 港版还是国行好.
_CHOICE_ENDS = r"(?:[呢啊呀]?亲|呢|啊|呀|好|合适|好看|划算)?(?=$|[，,。.！!？?；;\s~～…])"
# What a shop's customer chooses between, named alone (现货还是预售, 顺丰还是中通, 纯棉还是涤纶):
# words that are never a state or a fault, as 还是's second side is in a report (快递还是丢失,
# 门店还是关门, 电脑还是蓝屏, 问题还是存在); a choice between other words needs its sides alike.
_OPTION = ("现货|预售|定金|全款|包邮|到付|自提|送货上门|送货|快递|顺丰|中通|圆通|韵达|申通|极兔|邮政|京东|天猫|淘宝|拼多多|"
           "抖音|线上|线下|门店|网店|实体店|官网|直播间|国行|港版|美版|日版|行货|水货|单件|套装|整箱|散装|礼盒装?|简装|"
           "纯棉|涤纶|真皮|羊毛|棉麻|亚麻|雪纺|微信|支付宝|花呗|信用卡|分期|一次性付清|(?<![这那哪一每某几两])个人|公司|电子版?|纸质版?|普票|专票|"
           "自用|送人")
_CHOICE = (rf"的还是{_STILL}[^的，,。.！!？?；;\s]{{1,5}}的{_CHOICE_ENDS}|"  # 电子的还是纸质的
           rf"是{_SAME_PIECE}{{0,7}}[^的了吧你我他她，,。.！!？?；;\s]还是{_STILL}"  # 是发顺丰还是中通
           rf"{_SAME_PIECE}{{0,5}}[^的了吧，,。.！!？?；;\s]{_CHOICE_ENDS}|"
           rf"[a-zA-Z\d]还是{_STILL}[a-zA-Z\d]|"  # M还是L
           # two words sharing one character: 偏大还是偏小, 退货还是换货, 今天还是明天
           r"([\u4e00-\u9fff])([^了过着不没的\W\d_])还是(?:\2(?!\3)|(?!\2)[\u4e00-\u9fff](?=\3))"
           r"[^了过着不没的\W\d_]|"
           rf"(?:{_OPTION})还是(?:{_OPTION})的?{_CHOICE_ENDS}")  # 现货还是预售, 纯棉还是涤纶的
_ASKS = re.compile(r"[?？]|吗|怎么|多久|多少|几天|几号|什么|哪|能不能|可不可以|有(?:没有|冇)(?!搞错)|是不是|咋|啥|谁|"
                   r"系咪|点样|点算|点解|点计|几时|几耐|几多|咩|边度|边个|((?![不唔])[\u4e00-\u9fff])[不唔]\1|"
                   + _CHOICE)
# A voice message's questions run on without a mark between them, joined by 然后 ("这个什么时候
# 发货然后能不能开发票", as a phone's speech-to-text writes them): where both sides ask, 然后
# starts the next question; in a story it only says what came next (收到然后发现坏了怎么办).
# Nor where one question goes on over it: 然后再 / 才 / 就 (not 就是) is the same step (能不能先
# 换货然后再补差价吗), and an A-not-A before it with 吗 at the end asks once (是不是要先退货然后
# 退款吗); 什么的 (衣服什么的, "and so on") asks nothing.
_THEN = "然后"
_GOES_ON = re.compile(r"再|才|就(?!是)")
_A_NOT_A = re.compile(r"是不是|能不能|可不可以|((?![不唔])[\u4e00-\u9fff])[不唔]\1")
_ENDS_ASKING = re.compile(r"吗[?？!！~～。.\s]*$")


def _asks_on_its_own(said: str, then: str) -> bool:
    """Whether `said`, before a 然后, is a question of its own when `then` follows it."""
    asks = [m.group() for m in _ASKS.finditer(said.replace("什么的", ""))]
    if not asks or _GOES_ON.match(then):
        return False
    return not (all(_A_NOT_A.fullmatch(a) for a in asks) and _ENDS_ASKING.search(then))


def _apart(marks: re.Pattern, text: str) -> list[str]:
    """`text` split at `marks` (`_CLAUSES`, `_PIECES`), and at a 然后 between two questions."""
    pieces = []
    for piece in marks.split(text):
        parts = piece.split(_THEN)
        said = parts[0]
        for part in parts[1:]:
            if _asks_on_its_own(said, part) and _ASKS.search(part):
                pieces.append(said)
                said = part
            else:
                said += _THEN + part
        pieces.append(said)
    return pieces


# What the customer bought (我昨天买的羽绒服, 买了一件羽绒服): the word after it names the
# order the question is about, not what is asked ("…怎么还没发货" asks nothing of down filling).
_BOUGHT = re.compile(r"(?:买|购买|拍|订|收到)的[这那]?[一两几\d]*[个件双条款台瓶盒套支只]?|"
                     r"(?:买|购买|拍|订)了[这那]?[一两几\d]*[个件双条款台瓶盒套支只]")


@dataclass
class SuggestionHit:
    id: str
    kind: str  # "entry" (document passages come with bulk import)
    question: str
    matched: str
    answer: str
    category: str
    confidence: float
    scores: dict


@dataclass
class Suggestion:
    suggestion_id: str | None
    script: str
    intent: str
    stage: str
    sentiment: str
    urgency: str
    first_message: bool
    no_match: bool
    hits: list[SuggestionHit]
    drafts: list[Draft]
    notes: list[str] = field(default_factory=list)
    # Passages of imported documents the agent may quote, with their source; shown
    # apart from the hits and never turned into a draft's answer.
    references: list[Reference] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


ROLES = ("customer", "agent")
# How close the end of a quoted entry's validity window must be for the agent to be told:
# a campaign answer (presale deposit rules, a coupon, a holiday shipping cut-off) quoted
# in its last days may no longer hold when the customer acts on it.
ENDING_SOON = timedelta(days=3)
# Drafts whose entries are offered or asked about, not answered with: the agent sends the
# other drafts (a confirming question, 您是想问「X」，对吗？, only asks as a clarifying one does).
_OFFERED_ONLY = ("alternative", "clarify", "confirm")


def _local_end(valid_to: str) -> str:
    """A stored end bound as the agent reads it: a date as it is (the whole day), a moment
    in local time (2026-12-02T16:00:00+00:00 is 2026-12-03T00:00 in Beijing), as the
    window is checked in."""
    try:
        return date.fromisoformat(valid_to).isoformat()  # an older kefu's 20261129 too
    except ValueError:
        pass
    end = ends_at(valid_to).replace(microsecond=0)
    return end.isoformat(timespec="seconds" if end.second else "minutes")


def turn_problem(turn: object) -> tuple[str | None, str] | None:
    """(field, what is wrong) with one conversation turn, or None when it is well formed:
    an object with "text" (a string) and "role" (customer or agent; customer if absent)."""
    if not isinstance(turn, dict):
        return None, 'expected an object like {"role": "customer", "text": "…"}'
    if "text" not in turn:  # {"role": …, "content": …} would be dropped unseen
        return "text", "missing"
    if not isinstance(turn["text"], str):
        return "text", "must be a string"
    if turn.get("role", "customer") not in ROLES:
        return "role", f"must be customer or agent, got {turn.get('role')!r}"
    return None


# The panel's 最近对话 (web/static/panel.js parseContext, which reads lines the same way):
# a line's role prefix, and a chat app's nickname that names the shop's side (a 千牛
# sub-account 店铺:客服, 客服小禾, 官方旗舰店).
_ROLE_PREFIX = re.compile(r"\s*(客户|客戶|顾客|顧客|买家|買家|customer|客服|我|商家|卖家|賣家|agent)\s*[:：]\s*", re.I)
_AGENT_PREFIX = re.compile(r"客服|我|商家|卖家|賣家|agent", re.I)
_SHOP_NICKNAME = re.compile(r"[:：]|客服|官方|旗舰|旗艦|专营|專營|专卖|專賣|店铺|店鋪|小二")
# A file of JSON turns opens with an object or an array of them; "[图片]" opens a line of text.
_JSON_START = re.compile(r"\s*(?:\{|\[\s*[{\]])")


def conversation_turns(text: str) -> list[tuple[int, dict]]:
    """(line number, turn) of a conversation typed or pasted as lines: 客户：… / 客服：…,
    a line without a prefix the customer's; in one copied out of a chat app, the lines
    under a nickname-and-time header are that sender's. The sides are told only when a
    nickname says it is the shop's (`_SHOP_NICKNAME`; the shop before a sub-account's
    colon, 青禾优选 of 青禾优选:小禾, is the shop's too): the first other nickname is the
    customer's, any other again the shop's (a shop chat has two sides). Without one, every
    line is the customer's: a shop's plain name speaking first swapped the sides. Headers
    and notices (客户已离开) are no turns."""
    lines = text.split("\n")
    names = [chat_header(line) for line in lines]
    shop = {name for name in names if name is not None and _SHOP_NICKNAME.search(name)}
    shop |= {re.split("[:：]", name, maxsplit=1)[0] for name in shop}
    customer = next((name for name in names if name is not None and name not in shop), None)
    turns, speaker, bot = [], None, False
    for n, (line, name) in enumerate(zip(lines, names), 1):
        if name is not None:
            speaker, bot = "customer" if not shop or name == customer else "agent", False
            continue
        if is_chat_notice(line):
            # 以下为机器人回复: the robot's lines under it, up to the next header or notice
            # (以下为新消息), are nobody's words either (without headers nothing tells where
            # they end: they are kept)
            bot = any(names) and bot_reply_below(line)
            continue
        if bot:
            continue
        m = _ROLE_PREFIX.match(line)
        role = ("agent" if _AGENT_PREFIX.fullmatch(m[1]) else "customer") if m else speaker or "customer"
        if turn := (line[m.end():] if m else line).strip():
            turns.append((n, {"role": role, "text": turn}))
    return turns


def read_context(path: Path) -> list[dict]:
    """Conversation turns from a file: JSON Lines, or one JSON array; ImportFileError
    names the line (or item) and field of a bad turn. A file not named .json or .jsonl
    whose text opens with neither is read as lines (`conversation_turns`)."""
    text = read_text(path, option=None)  # suggest has no --encoding to suggest
    if path.suffix.lower() not in (".json", ".jsonl") and not _JSON_START.match(text):
        numbered, unit = conversation_turns(text), "line"
    elif text.lstrip().startswith("["):
        try:
            turns = json.loads(text)
        except ValueError as exc:
            raise ImportFileError(path, getattr(exc, "lineno", None), None, f"invalid JSON ({exc})") from None
        numbered, unit = list(enumerate(turns, 1)), "item"
    else:
        numbered, unit = list(iter_jsonl(path, text)), "line"
    total = 0
    for n, turn in numbered:
        if problem := turn_problem(turn):
            raise ImportFileError(path, n, problem[0], problem[1], unit=unit)
        # The API's limit (`check_length`), told with the line that passes it.
        total += (size := len(turn.get("text") or ""))
        if total > MAX_MESSAGE:
            what = f"{size} characters long" if size > MAX_MESSAGE else f"the turns up to here hold {total} characters"
            raise ImportFileError(path, n, "text", f"{what}; the limit for the context is {MAX_MESSAGE}", unit=unit)
    return [turn for _, turn in numbered]


def check_length(message: str, context: list[dict], values: dict[str, str]) -> None:
    """TextTooLong when the message, a variable's value or the context's text (all turns
    together) is over MAX_MESSAGE characters, as the API refuses them: only the message's
    last 500 characters are matched, but the log would keep the whole of it."""
    if len(message) > MAX_MESSAGE:
        raise TextTooLong("message", f"the message is {len(message)} characters long; the limit is {MAX_MESSAGE}")
    for name, value in values.items():
        if len(value) > MAX_MESSAGE:
            raise TextTooLong("values", f"the value of {name} is {len(value)} characters long; the limit is {MAX_MESSAGE}")
    if (total := sum(len(t.get("text") or "") for t in context)) > MAX_MESSAGE:
        raise TextTooLong("context", f"the context holds {total} characters of text; the limit is {MAX_MESSAGE}")


_OPTION = re.compile(r"「([^「」]{1,40})」")
_ORDINAL = re.compile(r"^(?:是|选|要|就)?\s*(?:第\s*([一二三四1-4])\s*(?:个|種|种|项|項|条|條)?|(前者|前面那个|前面那個|前一个|前一個)"
                      r"|(后者|後者|后面那个|後面那個|后一个|後一個|最后一个|最後一個))")
_ORDINAL_INDEX = {"一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2, "四": 3, "4": 3}


# A yes to the agent's "您是想问「鞋码」，对吗？" (not 嗯 or 好的: they also acknowledge),
# perhaps with a short how-question of its own ("对啊，怎么弄").
_YES = re.compile(r"(?:是|对|對|对的|對的|是的|是啊|对啊|對啊|对呀|對呀|对对|對對|没错|沒錯|嗯对|嗯對|嗯是的|就是|就是这个|就是這個)"
                  r"[啊呀哦的滴~～!！。.，,\s]*(?P<more>(?:那|那要)?(?:怎么弄|怎么办|怎么操作|怎么申请|怎么做|怎麼弄|怎麼辦|要多久|多久|"
                  r"在哪里?|在哪裡|多少钱|多少錢)?)[呢啊呀～~？?。.\s]*")
# The question that asks it: the 「option」 then only "，对吗？" or the like (not "您的订单「已签收」了吗？").
_CONFIRMS = re.compile(r"」[，,\s]*(?:对吗|對嗎|是吗|是嗎|对吧|對吧|是这样吗|是這樣嗎|是这个意思吗|是這個意思嗎|对不对|對不對)[？?]$")


def picked_option(message: str, context: list[dict]) -> str | None:
    """The option a short reply picks by position ("第二个", "后者") from the clarifying
    question («「A」还是「B」») the agent asked last, or confirms ("对的") when that question
    named one («您是想问「A」，对吗？»); None otherwise."""
    if not context or context[-1].get("role") != "agent" or len(message.strip()) > 12:
        return None
    asked = (context[-1].get("text") or "").strip()
    options = _OPTION.findall(asked)
    if len(options) == 1 and _CONFIRMS.search(asked) and (yes := _YES.fullmatch(message.strip())):
        return f"{options[0]} {yes.group('more')}".strip()
    m = _ORDINAL.match(message.strip())
    if len(options) < 2 or not m:
        return None
    index = _ORDINAL_INDEX[m.group(1)] if m.group(1) else 0 if m.group(2) else len(options) - 1
    return options[index] if index < len(options) else None


# An agent turn that asks the customer for something: a question, a detail to send
# (请把订单号发给我们) or a thing to try (您刷新一下看看).
_AGENT_ASKS = re.compile(r"[?？]|吗|嗎|呢|请(?:把|将|您|提供|告诉|发|拍)|請(?:把|將|您|提供|告訴|發|拍)|"
                         r"麻烦您?(?:把|提供|告诉|发)|看看|试试|試試")


# An agent's closing question (还有其他问题吗, 还有什么可以帮您的吗) asks for nothing to look up.
_AGENT_CLOSES = re.compile(r"还有(?:其他|别的|什么|其它)?.{0,6}(?:问题|需要|帮|疑问)|還有(?:其他|別的|什麼)?.{0,6}(?:問題|需要|幫)")


def replies(message: str, context: list[dict]) -> bool:
    """Whether `message` answers what the agent's last turn asked ("还没有" to 订单发货了吗,
    "支付宝" to how one paid, "刷新了还是不行" to 您刷新一下看看): it is short and asks
    nothing of its own, so its subject is the customer's question before it. Not after a
    closing question (还有其他问题吗): what follows that is thanks or a new question."""
    asked = context[-1].get("text") or "" if context else ""
    if not context or context[-1].get("role") != "agent" or not _AGENT_ASKS.search(asked) \
            or _AGENT_CLOSES.search(asked):
        return False
    text = GIVEN_NUMBER.sub("", normalize(message).text).strip()
    return len(text) <= 12 and not _ASKS.search(text)


# The customer turns since the agent's last one that a nudge is read with: a question
# and the nudges after it fit many times over. Each is understood, and a context of
# thousands of short turns (100,000 characters) took seconds doing so for every one.
_SINCE = 20


def _since_agent(context: list[dict]) -> tuple[int, list[str]]:
    """The position of the agent's last turn (-1: none) and the customer turns after it,
    the last _SINCE of them."""
    at = next((i for i in range(len(context) - 1, -1, -1) if context[i].get("role", "customer") == "agent"), -1)
    return at, [t["text"] for t in context[at + 1:][-_SINCE:]]


_QUOTED = 60  # characters of a customer's question a note quotes


def waiting_question(message: str, context: list[dict]) -> str | None:
    """What the customer asked since the agent's last turn (its last two customer turns),
    when `message` only chases a reply (人呢, 在吗, ？？); None otherwise. Turns that
    replied to the agent ("支付宝" to how one paid) are read with the question before it."""
    if not context or understand(message).intent != "greeting":
        return None
    at, turns = _since_agent(context)
    since = [t for t in turns if understand(t).intent != "greeting"]  # an earlier 在吗 chased it too
    if since and at >= 0 and len(turns) < _SINCE and replies(since[0], context[:at + 1]):
        before = next(([t["text"]] for t in context[at - 1::-1] if t.get("role", "customer") == "customer"
                       and understand(t["text"]).intent != "greeting"), []) if at else []
        since = before + since[-2:]
    else:
        since = since[-2:]
    asked = " ".join(since)
    return asked if asked and understand(asked).intent not in ("greeting", "thanks") else None


def nudges(message: str, context: list[dict]) -> list[str]:
    """The nudges chasing the customer's waiting question (see waiting_question): the
    greetings among its turns since the agent's last one that follow its first
    question ("你好" before it is no nudge), then `message`."""
    since = _since_agent(context)[1]
    greets = [understand(t).intent == "greeting" for t in since]
    asked = greets.index(False) if False in greets else len(since)
    return [t for t, g in zip(since[asked:], greets[asked:]) if g] + [message]


def _words(seg, text: str) -> list[str]:
    """The words of normalised `text` longer than a character, but for an order or
    tracking number and its label ("订单号是2026…"), which name no topic."""
    return [w for w in seg.split(GIVEN_NUMBER.sub(" ", text))[0] if len(w) > 1]


def _topics(seg, text: str) -> list[str]:
    """The words of normalised `text` that name a topic: not a question word, a time or a
    plea for help (多久, 昨天, 处理)."""
    return [w for w in _words(seg, text) if not _NO_TOPIC.fullmatch(w)]


def _before(turns: list[str], message: str) -> list[str]:
    """The earlier `turns` to search together with `message`: all of them, or when the
    search would keep only part of the whole (over MAX_CHARS), their text cut to its last
    question (`question_window`) in the room the message leaves. 还没收到货 after 请问怎么申请
    退货？ and a long complaint was searched on the 500 characters from that question on,
    without itself. Only a real question counts: 怎么办 after 亲在吗？ and a long story of
    cups that came broken was searched as "亲在吗？ 怎么办"; with none the last characters stay."""
    if len(" ".join(turns + [message])) <= MAX_CHARS:
        return turns
    room = MAX_CHARS - len(message) - 1
    return [question_window(" ".join(turns), room, real=True)] if room > 0 else []


def _sent(hit: Hit, agent_turns: list[str]) -> bool:
    """Whether an agent's turn of the talk gave `hit`'s answer already."""
    return any(same_answer(hit.answer, turn) for turn in agent_turns)


def _said(hit: Hit) -> str:
    """What an entry says, as messages are compared: its question, matched phrasing and answer."""
    return _said_text(f"{hit.question} {hit.matched} {hit.answer}")


@lru_cache(maxsize=4096)
def _said_text(text: str) -> str:
    # in the mainland's and Taiwan's words too: an entry written in Taiwan's (品質問題) speaks
    # of the 质量问题 a simplified-script message asks about, and one in the mainland's of
    # the 品質 a traditional-script message does
    forms = [normalize(t, max_chars=10**6).text for t in (text, to_mainland(text), to_traditional(text, "s2twp"))]
    return " ".join(dict.fromkeys(forms))


# What a question word asks for, and how an answer gives it: an amount (多少钱: 加12元, 免费),
# a length of time (多久, 几天: 2-4天, 48小时内, 当天) or a moment (什么时候, 几号: also 每月1号, 16:00).
_AMOUNT = re.compile(r"\d\s*(?:元|块|件|个|次|张|%|折)|[¥￥$]\s*\d|免费|包邮")
_DURATION = r"\d\s*(?:[-~～至到]\s*\d+\s*)?个?\s*(?:工作日|小时|天|周|星期|礼拜|月)|当天|当日|次日|隔天|马上|立即"
_ASKED_FOR = ((re.compile(r"多少钱?|几块钱?|几元"), _AMOUNT), (re.compile(r"多久|多长时间|几天"), re.compile(_DURATION)),
              (re.compile(r"时候|几号|几点"), re.compile(rf"{_DURATION}|\d\s*[号日点]|\d{{1,2}}:\d{{2}}")))


# "什么时候到", "多久能到": when the parcel arrives, which a bare 到 says (one character
# names no word). An answer about when it ships (当天发出, 48小时内发货) is silent on it.
ARRIVAL = "送达"
_ASKS_ARRIVAL = re.compile(r"(?:多久|多长时间|几天|什么时候|啥时候|哪天|几号)(?:才|能|会|可以|就|大概|大约)*到(?![账帐款期底])")
_ARRIVES = re.compile(r"送达|送到|寄到|到货|收到|签收|抵达|到达|天(?:左右)?(?:才|能|就|可以)?到")


def _asked_for(word: str) -> re.Pattern | None:
    """How an answer gives what question word `word` asks for (see _ASKED_FOR); None for
    other words."""
    if word == ARRIVAL:
        return _ARRIVES
    return next((gives for asks, gives in _ASKED_FOR if asks.fullmatch(word)), None)


def _speaks_of(hit: Hit, word: str) -> bool:
    """Whether `hit` says `word`, or its answer gives what question word `word` asks for."""
    gives = _asked_for(word)
    return word in _said(hit) or bool(gives and gives.search(normalize(hit.answer, max_chars=10**6).text))


def _small_talk(hit: Hit) -> bool:
    """An entry whose question only greets or thanks (在吗？有客服吗)."""
    return _greets_or_thanks(hit.question)


@lru_cache(maxsize=4096)
def _greets_or_thanks(question: str) -> bool:
    return understand(question).intent in ("greeting", "thanks")


# Where an entry applies, from its question and tags (an answer may mention another
# region in passing: "大陆暂不支持货到付款，台湾订单可以超商取货付款"): a place it names
# (港澳台 names all three), or what only a Taiwan shop says (統編, 超商取貨, EZWay) or only a
# Hong Kong one writes (點計, 幾耐). A message names a place, or a city there.
_PLACES = {"tw": re.compile(r"台湾|台灣|臺灣|港澳台|(?<![平舞柜櫃])[台臺][北中南]|"
                            r"高雄|新竹|桃园|桃園|基隆|嘉义|嘉義|花莲|花蓮|屏东|屏東|宜兰|宜蘭"),
           "hk": re.compile(r"香港|港澳|九龙|九龍|新界|旺角|尖沙咀|铜锣湾|銅鑼灣"),
           "mo": re.compile(r"澳门|澳門|港澳"),
           # Abroad: the countries customers most often ask about, and words for abroad. No
           # entry for Hong Kong, Macau or Taiwan answers for them (see _elsewhere).
           "abroad": re.compile(r"海外|国外|國外|境外|新加坡|马来西亚|馬來西亞|日本|韩国|韓國|美国|美國|加拿大|"
                                r"英国|英國|澳大利亚|澳大利亞|澳洲|新西兰|新西蘭|纽西兰|紐西蘭|德国|德國|法国|法國|"
                                r"意大利|義大利|西班牙|俄罗斯|俄羅斯|泰国|泰國|越南|菲律宾|菲律賓|印尼|印度|"
                                r"(?<![a-z])(?:overseas|abroad|international(?:ly)?|singapore|malaysia|japan|korea|usa|"
                                r"america|united states|uk(?!\s*(?:\d|码|碼|size))|united kingdom|britain|england|canada|australia|"
                                r"new zealand|germany|france|italy|spain|russia|thailand|vietnam|philippines|"
                                r"indonesia|india)(?![a-z])", re.I)}
# Picking up at a convenience store (7-11, 小七, 全家, 萊爾富; not 全家人) is Taiwan's delivery, as 超商 is.
_LOCAL_WORDS = {"tw": re.compile(r"統編|统编|統一編號|统一编号|超商|EZWay|萊爾富|莱尔富|店到店|"
                                 r"(?:(?<!\d)7-?11(?!\d)|小七|全家)(?:取|門市|门市)", re.I),
                "hk": re.compile(r"點計|幾耐")}
# How a sub-question is told where the customer is ("運費怎麼算" after "寄到台灣要幾天").
_PLACE_NAMES = {"tw": "台湾", "hk": "香港", "mo": "澳门", "abroad": "海外"}


def _regions(text: str) -> set[str]:
    return _named(text) | {region for region, words in _LOCAL_WORDS.items() if words.search(text)}


def _named(text: str) -> set[str]:
    """The regions whose name (or a city's) `text` says."""
    return {region for region, words in _PLACES.items() if words.search(text)}


# A message in Cantonese comes from Hong Kong (an entry may quote a word of it in passing).
# 唔 only before a word it negates (唔該, 唔啱, 可唔可以): alone or doubled it is a
# mainland "um" (唔，好吧; 唔唔). Common words Mandarin hardly writes: 咩 (what; not a
# sheep's 咩咩), 乜嘢 / 做乜 (what, why), 點樣 (how; not 有點樣子, a bit like), 佢 (he, she),
# 嘢 (thing), 啲 (some), 俾 (give; not 俾斯麦 nor the literary 俾使 / 俾便), 咁 (so).
_CANTONESE = re.compile(r"喺|嘅|咗|(?<!唔)唔(?=[\u3400-\u9fff])(?!唔)|㗎|哋|冇|點計|幾耐|"
                        r"(?<!咩)咩(?!咩)|乜(?=嘢|野|事)|[做為为]乜|(?<![一有差])[點点][樣样](?![子品本式])|"
                        r"佢|嘢|啲|(?<!睥)俾(?![斯使便倪])|咁")


# Cantonese that chooses the Hong Kong wording of a traditional-script reply and nothing
# else: not where the message is asked from (which entry answers: '运费怎么算喇？' got the
# Hong Kong freight entry, '仲有货吗' the 港澳台 shipping one) nor its script (收到喇 stays
# simplified), as mainland chat writes 喇 and 仲 too. A Taiwan customer rarely writes
# these; where one does by chance the reply reads Hong Kong's words, no other answer.
# 係 (is; not 關係, 沒関係, 聯係, 係數 or 係指, nor the 係 of formal writing after 本人, 本商品,
# 此, 該: 本人係訂購人, nor 係列 or 係統 mistyped for 系列, 系統; 係咪 always), 嚟 (come), 啱 (right, just), 嗰
# (that), 喇 (not 喇叭, 喇嘛 nor Taiwan's 喇賽, 喇舌, 大喇喇), 窿 (a hole; not Mandarin's 窟窿),
# 點算 (what now; not 點算庫存, to count, nor 一點算啦 / 晚一點算, a bit counts), 搵, 睇, 攞, 畀
# (find, look, take, give), 幾多 / 幾錢 (how much), 仲未 / 仲有 (still; not 仲介): "件衫收到有個窿，
# 點算？" got Taiwan wording. Weak signs all: any of the strong ones (_CANTONESE, _TAIWANESE)
# in the conversation outweighs them (see wording).
_HONG_KONG_WORDING = re.compile(r"係咪|(?<![關关関聯联維维干幹])(?<!(?:本|此|該|该)[\u3400-\u9fff])"
                                r"(?<!(?:本|此|該|该)[\u3400-\u9fff]{2})係(?![數数指因由屬属列統统])|"
                                r"嚟|啱|嗰|(?<![哈喇])喇(?![叭嘛賽赛舌喇])|"
                                r"(?<![窟穹])窿|(?<![一快早晚多少慢有])[點点]算(?=[\s?？!！。，,~～呀啊啦好]|$)|"
                                r"搵|睇|攞|畀|幾多|幾錢|仲(?=[未有係要冇唔])")

# What only a Taiwan customer writes: the shop's Taiwan wording suits them.
_TAIWANESE = _LOCAL_WORDS["tw"]
# Taiwan's words that choose its wording alone, as _HONG_KONG_WORDING does Hong Kong's: 載具
# (an e-invoice carrier) and 宅配 (home delivery): "發票可以存載具嗎" got Hong Kong wording
# (説, 哦) in a shop set to it. No region: an entry speaking of them is no Taiwan entry.
_TAIWAN_WORDING = re.compile(r"載具|载具|宅配")


def wording(texts: list[str]) -> str | None:
    """The traditional wording the customer's own words call for, newest turn first:
    Hong Kong's (s2hk) for one who writes Cantonese, Taiwan's (s2twp) for one who writes
    統編, 超商, 載具 or 宅配; None when nothing says (naming a place is no sign: 可以寄到香港嗎 may
    come from Taipei). The strong signs (_CANTONESE, _TAIWANESE) decide first; the weak
    ones (_HONG_KONG_WORDING, _TAIWAN_WORDING) only where no strong sign is written in the
    conversation: Taiwan customers type 好喇 too, and "超商取貨，仲有運費嗎" or "好喇，謝謝" after
    "超商取貨可以嗎" is Taiwan's."""
    for signs in ((_CANTONESE, _TAIWANESE), (_HONG_KONG_WORDING, _TAIWAN_WORDING)):
        said = [(bool(signs[0].search(text)), bool(signs[1].search(text))) for text in texts]
        for hk, tw in said:
            if hk != tw:
                return "s2hk" if hk else "s2twp"
        if any(hk or tw for hk, tw in said):
            return None  # strong signs both ways: the weak ones do not break the tie
    return None


def _asked_from(message: str) -> set[str]:
    """Where a message is asked from: the place it names ("我喺台灣，運費點計？" is asked
    from Taiwan, in Cantonese), else where its words are written (點計, 統編)."""
    return _named(message) or _regions(message) | ({"hk"} if _CANTONESE.search(message) else set())


def _read_in(question: str, where: set[str]) -> str:
    """A question of a message as searched on its own: with the regions the talk is asked
    from (`where`) when it names none itself."""
    if _named(question) or not where:
        return question
    return " ".join([_PLACE_NAMES[r] for r in sorted(where)] + [question])


def _regional(hit: Hit) -> bool:
    """Whether `hit` is written for customers of a region (see _regions)."""
    return bool(_regions(f"{hit.question} {' '.join(hit.tags)}"))


def _elsewhere(hit: Hit, asked: set[str], script: str) -> bool:
    """Whether `hit` is written for customers in another region than the message's: one
    that names its region is asked from there; a simplified-script one that names none
    is not asked from Taiwan or Hong Kong alone (they write traditional), though it may
    come from abroad, which 港澳台 entries often cover too."""
    where = _regions(f"{hit.question} {' '.join(hit.tags)}")
    if "abroad" in asked and "abroad" in where | _named(hit.matched):
        return False  # it speaks of abroad, or the phrasing matched does (海外会员也有积分吗)
    # A mainland shop's 海外 often takes in Hong Kong, Macau and Taiwan too (海外订单的关税):
    # an entry naming it is no other region's for a customer there.
    where -= {"abroad"}
    if asked:
        return bool(where and not where & asked)
    return script == SIMPLIFIED and where in ({"tw"}, {"hk"})


# Whether the order has left the warehouse, as a message (the customer's order, or the
# case asked about) and an entry's question (or a tag) are about it: "已经发货了还能取消吗" and "没发货的订单怎么取消" are
# answers for opposite orders. Normalised (simplified, lower-case) text. Not 发货前/发货后:
# "发货后多久能到" answers a customer still waiting for the parcel to leave too. Not
# 已签收 / 没收到 either: the one entry about that (物流显示已签收，但我没收到) says both.
_SHIPPED = re.compile(r"已经?(?:发货|发出|寄出|出货|ship(?:ped)?)|已经?(?:发|寄)了|"
                      r"(?<![没未不有])(?:发货|发出|寄出|出货)了|"
                      r"(?<!not\s)(?<!n't\s)(?<!never\s)(?:already|has|have|been|was)\s+shipped")
# 有没有发货 and 发没发货 ask; 没发票, 没发现, 没发错, 没寄回 (a return) are about something else.
_NOT_SHIPPED = re.compile(r"(?<![有发寄])(?:没有?|未)(?:给我?|帮我)?(?:发货|发出|寄出|出货|发|寄|ship(?:ped)?)(?![票现错回])|"
                          r"(?:not|n't|never)\s+(?:been\s+|yet\s+)*ship(?:ped)?")
# The customer's complaint that the shop still does not send: 一直不发货, 都五天了还不发,
# 怎么还不给我发货？ (a why, not a whether, so it names the state even as a question). A bare
# 不发货 does not: "新疆不发货吗" asks where the shop sends.
_STILL_NOT_SHIPPED = re.compile(r"(?:还|一直|迟迟|老是|总是|怎么|为什么|为啥|咋)不(?:给我?|帮我)?(?:发货|发出|寄出|出货|发|寄)(?![票现错回])")
# Asking whether the order is in a state names none: 是不是已经发货了, 发货了吗, 有没有发货.
# A state the customer supposes or sets as a condition does: 如果已经发货了呢 and 还没发货
# 就能取消吗 ask about that case, so the entry for the other one answers neither.
_WHETHER = re.compile(r"是不是|是否|有没有|会不会")
_ASKED_AFTER = re.compile(r"[了的]?(?:吗|么|嘛|与否|[?？]|没有?(?![^?？，,。.!！\s呢啊呀吗]))")  # not 发货了没动静
_CLAUSE_END = re.compile(r"[，,。.!！?？;；\s]")


def _states(text: str) -> set[str]:
    """The order states ("shipped", "not shipped") normalised `text` is about, stated,
    supposed or set as a condition; not one it asks whether the order is in."""
    found = {"not shipped"} if _STILL_NOT_SHIPPED.search(text) else set()
    for state, words in (("shipped", _SHIPPED), ("not shipped", _NOT_SHIPPED)):
        for m in words.finditer(text):
            start = max((e.end() for e in _CLAUSE_END.finditer(text, 0, m.start())), default=0)
            if not (_WHETHER.search(text, start, m.start()) or _ASKED_AFTER.match(text, m.end())):
                found.add(state)
    return found


def order_state(message: str) -> str | None:
    """The order state the message is about, "shipped" or "not shipped" (the customer's
    order, or the case asked about: 如果已经发货了呢); None when it names none, or both
    (one parcel sent, another not)."""
    states = _states(normalize(message).text)
    return states.pop() if len(states) == 1 else None


def _contradicts(hit: Hit, state: str | None) -> bool:
    """Whether `hit` is written for an order in the other state than `state` (its standard
    question or a tag names only that one)."""
    if state is None:
        return False
    about = _entry_states(f"{hit.question} {' '.join(hit.tags)}")
    return len(about) == 1 and state not in about


@lru_cache(maxsize=4096)
def _entry_states(question_and_tags: str) -> frozenset[str]:
    return frozenset(_states(normalize(question_and_tags).text))


def _may_offer(hit: Hit, u) -> bool:
    """Whether `hit` may be a second answer or an option: a complaint entry ("客服态度太差，
    我要投诉") only to a customer who complains."""
    return hit.category != "投诉" or u.intent == "complaint"


class _At:
    """A retriever whose searches read validity windows at one moment, unless told another:
    a suggestion's searches (the message, the earlier turns, each question in it) and its
    notes agree on which entries are live."""

    def __init__(self, retriever: Retriever, now: datetime):
        self._retriever, self._now = retriever, now

    def __getattr__(self, name: str):
        return getattr(self._retriever, name)

    def search(self, message: str, top_k: int | None = None, now: datetime | None = None) -> SearchResult:
        return self._retriever.search(message, top_k, now=now or self._now)


class Assistant:
    def __init__(self, retriever: Retriever, composer: Composer, log: FeedbackLog | None = None,
                 ambiguity: float = 0.03, plausible: float = 0.5, also: float = 0.7, lead: float = 0.15,
                 tie: float = 0.05):
        self.retriever = retriever
        self.composer = composer
        self.log = log
        self.ambiguity = ambiguity  # fused-score gap under which two topics compete
        self.plausible = plausible  # confidence a second hit needs to be offered
        self.also = also  # confidence at which it is offered with the top answer, not alone
        self.lead = lead  # confidence by which a question's own match beats the whole message's
        self.tie = tie  # confidence within which an entry matched on another question's words stays

    def suggest(self, message: str, context: list[dict] = (), values: dict[str, str] | None = None,
                replaces: str | None = None, now: datetime | None = None) -> Suggestion:
        """Drafts for the customer's latest `message`; `context` holds earlier turns
        ({"role": "customer"|"agent", "text": …}), oldest first. `replaces`: the id of
        the suggestion shown for this message as it was a moment ago (see the log).
        `now` (local time, default: now): the one moment every search of this suggestion
        and its ending-soon notes read validity windows at."""
        now = now or datetime.now()
        at = copy(self)  # a copy for this call: one Assistant serves concurrent requests
        at.retriever = _At(self.retriever, now)
        return at._suggest(message, context, values, replaces, now)

    def _suggest(self, message: str, context: list[dict], values: dict[str, str] | None,
                 replaces: str | None, now: datetime) -> Suggestion:
        check_length(message, context, values or {})
        message = scrub(message)
        if not message.strip():  # before a nudge or a pick is looked for in it
            raise EmptyQuery()
        # A stretch of the chat pasted as the message, both sides under their headers: the
        # customer's last turns are the message, the turns before them the talk before. The
        # shop's turns after them were sent already: they are neither (the customer was
        # greeted, though).
        replied = False
        if any(chat_header(line) for line in message.split("\n")):
            turns = [turn for _, turn in conversation_turns(message)]
            last = max((i for i, t in enumerate(turns) if t["role"] == "customer"), default=-1)
            shops = max((i for i, t in enumerate(turns[:last]) if t["role"] == "agent"), default=-1)
            if last >= 0:
                message = "\n".join(t["text"] for t in turns[shops + 1:last + 1])
                context = [*context, *turns[:shops + 1]]
                replied = last < len(turns) - 1
        # A chat app's nickname-and-time lines and notices (客户已离开) are nobody's words; a
        # message of nothing else stays, as there is nothing else to read.
        message = said if (said := without_chat_frame(message)).strip() else message
        # Only role and text: an integration's other fields (a sender's phone or e-mail,
        # attachments) are neither read nor stored in the log, where only text is masked.
        # The shop's automatic reply ([自动回复]…) is the shop's turn, whoever pasted it.
        context = [{"role": "agent" if is_auto_reply(text) else t.get("role", "customer"), "text": text}
                   for t in context if (text := without_chat_frame(scrub(t.get("text") or ""))).strip()]
        said, auto = apart_auto_replies(message)
        if auto and said.strip():  # pasted with the question: a turn of the shop's before it
            message, context = said, [*context, {"role": "agent", "text": auto}]
        earlier = [t["text"] for t in context if t.get("role", "customer") == "customer"]
        notes: list[str] = []
        waiting = None
        read_with: list[str] = []  # the earlier turns a vague message was matched together with
        bare = False  # a vague message naming no topic of its own ("可以退吗"): about the earlier turns
        noted = False  # the message only tells or accepts something after its answer was sent
        if (choice := picked_option(message, context)) is not None:
            # "第二个" after kefu's clarifying question: what it chose is the question.
            result = self.retriever.search(choice)
            notes.append(f"the customer chose 「{choice}」 from the agent's question")
        elif waiting := waiting_question(message, context):
            # "人呢" or "在吗" after a question nobody answered: the question is what to answer.
            result = self.retriever.search(waiting)
            # quoted short: a pasted turn of 100,000 characters made a note as long
            quoted = waiting if len(waiting) <= _QUOTED else f"{waiting[:_QUOTED]}…"
            notes.append(f"a nudge: answering the customer's question still waiting for a reply 「{quoted}」")
        else:
            result = self.retriever.search(message)
        alone = result  # the message's own reading, before any earlier turn is read with it
        seg = self.retriever.kb.segmenter
        # An order or tracking number and its label ("订单号是2026…") name no topic: a
        # reply to the agent's request, read with what came before.
        words = _words(seg, result.normalized)
        topic_words = _topics(seg, result.normalized)
        # A reply to what the agent asked ("还没有" to 订单发货了吗) is about the question before it.
        reply = choice is None and not waiting and replies(message, context)
        # Small talk the lexicons miss ("比心", "hey") whose one confident match is a
        # thanks or greeting entry: a thanks or greeting, not a holding line, nor the
        # earlier question's answer again. Not a reply: "一个礼拜" to 签收多久了 is no chat.
        chat = None if choice is not None or waiting or reply else self._chat(message, result)
        sent = [t["text"] for t in context if t.get("role") == "agent"]
        if choice is None and not waiting and earlier and _HOW_ON.fullmatch(result.normalized) \
                and (before := self._earlier_answer(earlier, sent, notes)) is not None:
            # "怎么操作" after "我要申请平台介入": how to do what the customer asked before
            result, read_with, bare = replace(before, normalized=result.normalized), [earlier[-1]], True
        # "好的": nothing to look up; "行吧，那我再等等" is looked up only to see whether its
        # answer was sent already (then it is taken note of), else it is thanks.
        elif choice is None and earlier and chat is None \
                and (result.no_match or len(topic_words) <= 1 or reply or _POINTS_BACK.match(result.normalized)) \
                and (understand(message).intent not in ("greeting", "thanks") or plans(message)):
            # A vague follow-up ("那能退吗？") is read together with what the customer said before,
            # unless the message names a topic (a word its own hits contain) that the joined
            # reading's answer does not: "发票呢" after a talk about returns asks about invoices.
            # The pasted lines are left out before the turns are joined by spaces: an order card
            # sent as a turn of its own ran into the turns beside it, and its labels were matched.
            # Each turn's first: over 500 characters _before joins the turns by spaces itself.
            turns = [for_matching(t) for t in earlier[-2:] if not pasted_alone(t)]
            joined = self.retriever.search(for_matching("\n".join(_before(turns, message) + [message]))
                                           .replace("\n", " "))
            # Words naming a topic count here, and question words asking for a time or an
            # amount (see _ASKED_FOR): "多久到" after "这个有优惠吗" is about delivery times,
            # which its own hits speak of and the joined reading's (生日券) neither names nor
            # gives; "多少钱" after "能发顺丰吗" is answered by 顺丰加12元 without the word 多少.
            named = [w for w in words if (not _NO_TOPIC.fullmatch(w) or _asked_for(w))
                     and any(w in _said(h) for h in result.hits[:3])]
            # "好的那什么时候到" after the agent said when it ships asks when it arrives:
            # the earlier question's answer (当天发出) gives a time, but not that one.
            if _ASKS_ARRIVAL.search(result.normalized) and any(_speaks_of(h, ARRIVAL) for h in result.hits[:3]):
                named.append(ARRIVAL)
            bare = not named
            # Only when that reading is the more confident: "多久到" is a question of its own
            # after "这个有优惠吗" (taking any confident joined reading answered it with 生日券).
            if joined.confidence > result.confidence and joined.hits and (
                    reply and not joined.no_match or all(_speaks_of(joined.hits[0], w) for w in named)):
                # its hits; the text drafting reads for questions is still the message alone
                # (the earlier question was answered already: it is no second question)
                own, result = result, replace(joined, normalized=result.normalized)
                read_with = turns
                notes.append("vague message: matched together with the customer's earlier turns")
                if _sent(result.hits[0], sent):
                    result, noted = self._not_again(own, result, sent, words, message, notes)
                    if result is own:  # read alone after all: explained and weighed alone
                        read_with = []
            elif joined.confidence > result.confidence and named and context[-1].get("role") == "agent":
                # not an entry for another region than the talk's (its answer read with a Taiwan
                # freight answer, "那多久會到" found the Hong Kong one, then left out of the drafts)
                where = next((a for t in [message, *earlier[::-1]] if (a := _asked_from(t))), set())
                if (told := self._with_answer(result, earlier, context[-1]["text"], message, named, notes,
                                              lambda h: not (where and _elsewhere(h, where, "")))) is not result:
                    result, read_with = told, turns
        if choice is None and not waiting and never_again(message) and not reports_problem(message) \
                and not _ASKS.search(GIVEN_NUMBER.sub(" ", normalize(message).text)):
            # "[再见]再也不来了" asks nothing: no entry answers it (the earlier turn's photo
            # request again, or 缺货 matched on its 来) nor is offered (您是想了解「护肤品保质期」吗),
            # an apology keeping the case open does
            result = replace(result, no_match=True, hits=[])
            notes.append("leaving in anger, asking nothing: no entry answers it")
        if choice is None and not waiting and offer_unanswered(message, result.hits[0] if result.hits else None):
            # "我想应聘你们的客服" is no customer's question: the complaint entry it matched on 客服
            # (an apology and a supervisor's callback) answers it no more than the service hours
            # answer 你们招不招兼职客服. A holding line, and the agent passes it on; unless the
            # shop wrote an entry for it (你们招人吗, 商务合作怎么联系): that one answers.
            result = replace(result, no_match=True, hits=[])
            notes.append("a job application or a business offer, no customer's question: no entry answers it")
        hits = [h for h in result.hits]
        top = hits[0] if hits else None
        # Without the earlier turns, a follow-up's subject is unknown: ask which topic
        # rather than guess, and do not greet (the talk began before it).
        unseen = choice is None and not earlier and bool(_FOLLOW_UP.match(result.normalized)) \
            and len([w for w in topic_words if not w.startswith("那")]) <= 1
        # Only an agent's reply means the customer has been greeted already, or a message
        # quoting an earlier one of the talk.
        greeted = unseen or replied or any(t.get("role", "customer") == "agent" for t in context) \
            or quotes_earlier(message)
        u = understand(waiting or message, None if result.no_match or top is None else top.category,
                       first_message=not greeted, earlier=earlier)
        if waiting:
            u.waited = True
            # "人呢！！！", or a second 在吗, after a calm question: impatient, no cheerful
            # welcome ("欢迎光临…很高兴为您服务") nor a happy goodbye.
            sentiment, urgency = chasing(nudges(message, context))
            if SENTIMENTS.index(sentiment) > SENTIMENTS.index(u.sentiment):
                u.sentiment, u.urgency = sentiment, urgency
                notes.append(f"chased an unanswered question: read as {sentiment}")
        # "可以退吗" after "收到的杯子碎了", no agent turn yet: the first reply answers a problem
        # reported, with no cheerful welcome. Only a follow-up to it (matched with those turns,
        # or naming no topic of its own): "这款有现货吗" after "收到的衣服线头很多" is a new
        # question, welcomed as any. Nor "保修多久？坏了可以送修吗" after "我上周买的吹风机今天不出风了":
        # its break is one had, no warranty asked before buying (see reports_problem).
        u.reported = u.first_message and ((bool(read_with) or bare) and any(reports_problem(t) for t in earlier[-2:])
                                          or reports_problem(waiting or message, earlier))
        # What the shop writes, for a customer who shows no script: its agents' turns, newest
        # first, then its entries, all of them ("你好" to a Hong Kong shop; the few entries
        # a mainland shop writes for Taiwan must not decide when they are the ones matched).
        agent_turns = [t["text"] for t in context[::-1] if t.get("role") == "agent"]
        u.script = self._script(message, earlier, agent_turns, self.retriever.kb.store.published_script)
        u.wording = wording([message] + earlier[::-1]) if u.script == TRADITIONAL else None
        u.said = tuple(t["text"] for t in context if t.get("role") == "agent")
        if u.wording:
            notes.append(f"the customer's own words call for {u.wording} wording")
        if u.first_message and not earlier and says_nothing_yet(message):
            # "嗯" or an order number opening a chat: greet and ask, no goodbye, no "we'll check"
            u.intent, u.stage = "greeting", STAGE["greeting"]
            notes.append("first message says nothing yet: greeted")
        if chat is not None and u.intent not in ("greeting", "thanks"):
            u.intent, u.stage = chat, STAGE[chat]
            notes.append(f"small talk whose only confident match is the {chat} entry {top.entry_id}: "
                         f"replied as to {chat}")
        if u.sentiment != "angry" and not sorry_for_tone(message) \
                and any(understand(t).sentiment == "angry" for t in earlier[-2:]):
            # "好吧", a plain question or a worried one ("那你们到底怎么处理") after an angry
            # complaint: still upset, no happy goodbye ("祝您生活愉快～"), no cheerful opener
            # and no milder "理解您着急的心情" than a calm follow-up gets. Not once the customer
            # says sorry for the outburst (不好意思刚才有点激动): calmed down.
            u.sentiment, u.urgency = "angry", "high"
            notes.append("after an angry turn: read as still upset")
        # asked: the agent's turn that the customer's next turn with a long number answers (the
        # IMEI asked for; 稍等2分钟 or 是iPhone 15的吗 in between answer nothing); a number sent
        # after that one answers nothing the agent asked.
        vals, asked = {}, ""
        # a product shared or on a card: the message's, or the customer's turn before at most (one
        # shown turns ago, never reset, named whatever the customer went on to ask about)
        said = [t.get("text") or "" for t in context if t.get("role", "customer") == "customer"][-1:]
        if name := next(filter(None, map(product_name, [message, *said])), None):
            vals.update(literal_values({"商品名": name}))
        for turn in [*context, {"role": "customer", "text": message}]:
            if turn.get("role", "customer") != "customer":
                asked = normalize(turn.get("text") or "", max_chars=10**6).text
            # order and tracking numbers hold digits (full-width too, or said: 幺三五七…)
            elif any(ch.isdigit() for ch in turn["text"]) or SPOKEN_NUMBER.search(turn["text"]):
                text = normalize(turn["text"], max_chars=10**6).text
                vals.update(values_from_message(text, asked))
                # (a serial's capitals as typed: the normalized text is lower-case)
                asked = "" if _LONG_NUMBER.search(text) or _LONG_NUMBER.search(turn["text"]) else asked
        # A blank value gives nothing: an integration's empty 订单号 field hides no number the customer typed.
        vals.update(literal_values({k: v for k, v in (values or {}).items() if v.strip()}))
        agent = next((t["text"] for t in context[::-1] if t.get("role") == "agent"), "")
        if not noted and choice is None and not waiting and awaits(agent) == "customer" \
                and (delivered(message) or gives_address(message) and asks_for_address(agent)
                     and (alone.no_match or not alone.hits or alone.hits[0].confidence < self.plausible
                          or "地址" in _said(alone.hits[0]))):
            # "照片发了 你看下" after the agent asked for photos in words of its own, or the new
            # address after 请把新地址发给我: nothing to look up (the search finds nothing, or an
            # entry about missing items; an address matched nothing and got a holding line).
            # An address the search answers with a confident hit of its own asks something too,
            # unless that hit only speaks of the address (收货地址改成…: how to change one).
            noted = True
            notes.append("the customer sent what the agent asked for: taken note")
        if noted:
            drafts = [self.composer.acknowledge(u, vals, message)]
        elif greeted and choice is None and not waiting and attachment_only(message):
            # "[图片]" mid-chat, unasked for: no greeting (在的，还有什么可以帮您), nor the earlier
            # turn's answer again (which asked for that photo): it was received
            u.intent, u.stage = "greeting", STAGE["greeting"]
            drafts = [self.composer.received(u, vals, message)]
            notes.append("a photo or file sent: received")
        else:
            # what the agent asked for, sent since (照片发你了): "好的，谢谢" then waits on us
            met = any(delivered(t) for t in _since_agent(context)[1])
            drafts = self._drafts(u, result, hits, vals, waiting or message, notes, unseen, earlier, agent, met,
                                  read_with)
        if unused := self._unused_values(values or {}, drafts, hits):
            notes.append(f"variables no draft uses: {', '.join(unused)}")
        # The entries the drafts quote, read once for both the explanations and the notes.
        quoted = self.retriever.kb.store.get_many({e for d in drafts for e in d.entry_ids})
        self._why(drafts, hits, result, seg, quoted, read_with)
        self._ending(drafts, notes, now, quoted)
        s_hits = [SuggestionHit(h.entry_id, "entry", h.question, h.matched, h.answer, h.category,
                                h.confidence, {"score": h.score, "dense": h.dense, "lexical": h.lexical})
                  for h in hits]
        references = [replace(r, text=to_traditional(r.text, u.wording or self.composer.traditional))
                      if u.script == TRADITIONAL else r for r in result.references]
        # No good match when retrieval says so, or when drafting found no answer among the
        # hits it may use (only a greeting entry was confident): the flag and drafts agree.
        # So does a reply that only greets or says goodbye: no entry answers "你好" or
        # "好的谢谢", whether a greeting entry happened to match (在吗, 3Q) or not (你好, ok).
        # Statistics and gap mining leave greetings and thanks out all the same.
        no_match = result.no_match or bool(drafts) and (
            drafts[0].style == "no_match" or u.intent in CHIT_CHAT and not any(d.entry_ids for d in drafts))
        suggestion = Suggestion(None, u.script, u.intent, u.stage, u.sentiment, u.urgency, u.first_message,
                                no_match, s_hits, drafts, notes + result.warnings, references)
        if self.log is not None:
            d = suggestion.to_dict()
            suggestion.suggestion_id = self.log.record_suggestion(
                message, list(context), u.script, u.intent, no_match, d["hits"], d["drafts"], replaces)
        return suggestion

    @staticmethod
    def _ending(drafts: list[Draft], notes: list[str], now: datetime, entries: dict[str, Entry]) -> None:
        """Note each entry whose validity ends within ENDING_SOON: in the explanation of
        each draft quoting it, and in the notes (the panel's warning above all drafts) when
        a draft answers with it; an alternative answer, or the entry a clarifying or
        confirming question asks about, is not what the agent is sending."""
        ids = list(dict.fromkeys(e for d in drafts for e in d.entry_ids))
        # An end already passed is no "ends soon": the search at `now` would not have found it.
        lines = {e: f"{e} is valid until {_local_end(entries[e].valid_to)}: it ends soon" for e in ids
                 if e in entries and entries[e].valid_to
                 and timedelta(0) <= ends_at(entries[e].valid_to) - now < ENDING_SOON}
        for d in drafts:
            d.explanation += [lines[e] for e in d.entry_ids if e in lines]
        notes += [line for e, line in lines.items()
                  if any(e in d.entry_ids for d in drafts if d.style not in _OFFERED_ONLY)]

    def _unused_values(self, values: dict[str, str], drafts: list[Draft], hits: list[Hit]) -> list[str]:
        """The given variables that no draft's entry or 话术 uses and kefu does not read
        itself (a typo such as 订单 for 订单号): a note names them, as nothing else tells."""
        if not values:
            return []
        quoted = {e for d in drafts for e in d.entry_ids}
        used = set(KNOWN_VARIABLES) | {to_simplified(name) for h in hits if h.entry_id in quoted
                                       for name in variables(h.answer)}
        used |= {to_simplified(name) for p in self.composer.phrases.phrases for name in variables(p.text)}
        unused = [name for name in dict.fromkeys(k.strip() for k in values) if to_simplified(name) not in used]
        return unused

    def _with_answer(self, result: SearchResult, earlier: list[str], answer: str, message: str,
                     named: list[str], notes: list[str], may_answer=lambda h: True) -> SearchResult:
        """A follow-up read with the customer's earlier turns and the agent's `answer` to
        them, when the earlier turns alone matched an entry that does not speak of the
        words it names (`named`): "那运费谁出？" after "衣服洗了之后缩水了" matched the
        shrinking entry, silent on 运费, and alone 包邮 rules; the agent's 质量问题退换 says
        whose freight it asks. Its best hit that speaks of them answers it, if plausible (the
        agent's words dilute the reading); otherwise `result` stands. One more search, only
        for such follow-ups. Never the entry whose answer the agent sent (it is read with it),
        nor one `may_answer` refuses."""
        told = self.retriever.search(" ".join(_before(earlier[-2:] + [answer], message) + [message]))
        # not the entry whose answer was read with it: "那多久會到" after the Taiwan freight answer
        # matched that entry again
        fit = next((h for h in told.hits if all(_speaks_of(h, w) for w in named) and not _sent(h, [answer])
                    and may_answer(h)), None)
        if told.no_match or fit is None or fit.confidence < self.plausible:
            return result
        notes.append("vague message: matched together with the earlier turns and the agent's answer to them")
        return replace(told, hits=[fit] + [h for h in told.hits if h is not fit], normalized=result.normalized)

    def _earlier_answer(self, earlier: list[str], sent: list[str], notes: list[str]) -> SearchResult | None:
        """The reading of the customer's turn before a how-to follow-up ("怎么操作", "然后呢",
        "具体怎么弄": see _HOW_ON) when its best entry is confident (>= also) and no agent's turn
        sent that answer yet: the follow-up asks how to do what that turn asked. Read with
        it, the follow-up's own words (操作, 具体) pulled the reading to any entry holding
        them (我想开个发票 + 具体怎么弄: the holding line); alone they match nothing well. None
        otherwise. One more search, only for such follow-ups."""
        turn = earlier[-1]
        if pasted_alone(turn):
            return None
        before = self.retriever.search(for_matching(turn))
        if before.no_match or not before.hits or before.hits[0].confidence < self.also \
                or _sent(before.hits[0], sent):
            return None
        notes.append(f"a how-to follow-up: answered with the best entry of the customer's turn before it "
                     f"({before.hits[0].entry_id}, {before.hits[0].confidence:.2f})")
        return before

    def _not_again(self, own: SearchResult, joined: SearchResult, sent: list[str], words: list[str],
                   message: str, notes: list[str]) -> tuple[SearchResult, bool]:
        """A vague message read with the earlier turns (`joined`) whose top entry the agent
        sent already ("订单号是2026…" after the answer to the complaint, "支付宝付的" after
        how long a refund takes, "天气怎么样" after how to wash wool): that answer is not
        drafted again. The best entry not sent yet that says a word of the message answers
        it, if plausible (支付宝: the Alipay refund times); else a message that asks nothing,
        reports no problem and complains of nothing (我要给差评 does) is taken note of (`True`: an acknowledgement keeping the
        case open); else the message is read alone (`own`)."""
        fresh = [h for h in joined.hits if not _sent(h, sent)]
        # The order's state the customer reports (对 还没发货) after the answer for an order in
        # that state names no new topic: 发货 found the late parcel's compensation, or a
        # return's address after how to change an address before shipping.
        reported = "".join(m.group() for words_ in (_SHIPPED, _NOT_SHIPPED, _STILL_NOT_SHIPPED)
                           for m in words_.finditer(normalize(message).text))
        topics = [w for w in words if not _NO_TOPIC.fullmatch(w)
                  and not (w in reported and w in _said(joined.hits[0]))]
        # A question word asking for a time or an amount must be answered too: "那什么时候发货"
        # after the Taiwan shipping answer got the Taiwan cash-on-delivery entry, which says 出货.
        asked_for = [w for w in words if _asked_for(w)]
        fit = next((h for h in fresh if h.confidence >= self.plausible and any(w in _said(h) for w in topics)
                    and all(_speaks_of(h, w) for w in asked_for)), None)
        if not joined.no_match and fit is not None:
            notes.append(f"the agent sent the answer of {joined.hits[0].entry_id} already: "
                         f"answered with the next one that speaks of the message")
            return replace(joined, hits=[fit] + [h for h in joined.hits if h is not fit and h in fresh]
                           + [h for h in joined.hits if h not in fresh]), False
        said = GIVEN_NUMBER.sub(" ", normalize(message).text)
        # a complaint or a threat (我要给差评, 投诉你们) is a new matter, never only taken note of
        if not _ASKS.search(said) and not reports_problem(message) and understand(message).intent != "complaint":
            notes.append(f"the agent sent the answer of {joined.hits[0].entry_id} already: taken note")
            return joined, True
        notes.append(f"the agent sent the answer of {joined.hits[0].entry_id} already: the message read alone")
        return own, False

    def _chat(self, message: str, result: SearchResult) -> str | None:
        """"greeting" or "thanks" when `message` is small talk and its only confident match
        (confidence >= plausible) is an entry that greets or thanks; None otherwise."""
        confident = [h for h in result.hits if h.confidence >= self.plausible]
        if result.no_match or not confident or not all(_small_talk(h) for h in confident) \
                or not small_talk(message):
            return None
        return understand(confident[0].question).intent

    @staticmethod
    def _answers(result: SearchResult, hit: Hit) -> bool:
        """Whether `hit`, ranked first, is matched well enough to be answered with."""
        return not result.no_match and hit.confidence >= 0.5

    @staticmethod
    def _script(message: str, earlier: list[str], agent_turns: list[str] = (),
                entries: Callable[[], tuple[int, int]] | None = None) -> str:
        """The message's script; a script-neutral message takes the earlier turns' script,
        else traditional when it is Cantonese (件衫唔啱size, 唔該晒: Hong Kong customers
        write traditional; a tie of 該 and 晒 counts as neutral), else the shop's: that of
        the first of `agent_turns` (newest first) that shows one, else of its entries
        (`entries()`: Store.published_script, asked only then). A Hong Kong or Taiwan shop's
        "你好" got "亲，您好，欢迎光临本店". Else simplified."""
        for text in [message] + earlier[::-1]:
            trad, simp = script_evidence(text)
            if trad != simp:
                return TRADITIONAL if trad > simp else SIMPLIFIED
        if any(_CANTONESE.search(t) for t in [message] + earlier):
            return TRADITIONAL
        def shop():
            yield from (script_evidence(t) for t in agent_turns)
            if entries:
                yield entries()
        for trad, simp in shop():
            if trad != simp:
                return TRADITIONAL if trad > simp else SIMPLIFIED
        return SIMPLIFIED

    def _drafts(self, u, result: SearchResult, hits: list[Hit], vals: dict, key: str,
                notes: list[str], unseen: bool = False, earlier: list[str] = (), agent: str = "",
                met: bool = False, read_with: list[str] = ()) -> list[Draft]:
        c = self.composer
        if u.intent in ("greeting", "thanks"):
            kind, style = ("greeting_later" if not u.first_message else "greeting_first", "greeting") \
                if u.intent == "greeting" else ("closing", "closing")
            # "？" after the welcome, before any question: no "还有什么可以帮您"
            asked = any(understand(t).intent != "greeting" for t in earlier)
            out = [c.only(kind, style, u, vals, key, agent, asked, met)]  # thanks while the agent waits: the case stays open
            # An answer beside it only when the message also asks something: "東西收到了，
            # 謝謝你們" matched the broken-goods entry, "好的" a return address.
            # The message's own words: after "好的" the search may have read the earlier
            # turns too, whose question is answered already.
            own = normalize(key).text
            asks = self.retriever.kb.segmenter.split(own)[0] and _ASKS.search(own.replace("在吗", ""))
            # Not the shop's own greeting entry (欢迎光临… to "人呢？？" mid-conversation): it
            # says again what the first draft says.
            if not result.no_match and asks and not _small_talk(hits[0]):
                out.append(c.concise(u, hits[0], vals, key, opener=False))
            return out
        # A message that greets and asks ("亲，在吗？这个有货吗") is answered on what it asks:
        # an entry that only greets or thanks is neither its answer nor a second one.
        cands = [h for h in hits if not _small_talk(h)]
        if cands and _small_talk(hits[0]) and self._answers(result, hits[0]):
            # said only when it changed the answer (a bare order number or a plain
            # statement asks nothing, and a greeting entry ranked low, or matched too
            # weakly to answer anything ("比心", 0.06), changed nothing)
            notes.append("greeting entries left out: the message is more than a greeting")
        # Where the customer is, and whether the order has shipped, hold for the whole talk:
        # "那運費多少" after "我在台灣" is asked from Taiwan. The latest turn that says wins.
        talk = [key] + list(earlier[::-1])
        asked = next((a for t in talk if (a := _asked_from(t))), set())
        if (away := [h for h in cands if _elsewhere(h, asked, u.script)]) and \
                (len(away) < len(cands) or "abroad" in asked):
            # Another region's entry (a Hong Kong freight answer for a Taiwan customer,
            # 統編 for a mainland one) is no answer, option or second answer while another
            # entry may answer. For a place abroad (能寄到新加坡吗) never: what the shop
            # promises Hong Kong, Macau and Taiwan it does not promise there.
            cands = [h for h in cands if h not in away]
            notes.append(f"written for customers elsewhere, left out: {', '.join(h.entry_id for h in away)}")
            # Listed after the entries that may answer: "发票能开公司抬头吗" tied the Taiwan
            # 統一編號 entry (可以開公司抬頭嗎) with the mainland one its draft quotes, and
            # the agent saw the Taiwan one ranked first above a draft that left it out.
            hits[:] = [h for h in hits if h not in away] + [h for h in hits if h in away]
        named = _topics(self.retriever.kb.segmenter, normalize(key).text)
        # ... unless it is still the answer: every topic the message names is in its question,
        # phrasing matched or tags ("运费多少" after the Hong Kong freight answer got the
        # mainland's 满59包邮 in its place).
        covers = lambda h: bool(named) and all(  # noqa: E731
            w in _said_text(f"{h.question} {h.matched} {' '.join(h.tags)}") for w in named)
        if (again := [h for h in cands if _regional(h) and _sent(h, u.said) and not covers(h)]) \
                and len(again) < len(cands):
            # Where the customer is holds for the whole talk, and so the entry for that region
            # the agent sent already ("可以寄到台湾吗" → 港澳台 5-10天) came first again for the
            # next question ("好的 有什么优惠吗"): it is no answer while another may be.
            cands = [h for h in cands if h not in again]
            notes.append(f"written for a region, its answer sent already, left out: {', '.join(h.entry_id for h in again)}")
        # An entry for the customer's region answers first only when its question (or the
        # phrasing matched, or a tag) names a word the message names, if the message names any:
        # "好的 那可以退货吗" after "可以寄到香港吗" got the Hong Kong freight entry, matched on the
        # earlier turn's words, and "那什么时候发货" Taiwan's cash on delivery (whose answer says 出貨).
        ours_may = lambda h: not _elsewhere(h, asked, u.script) and (  # noqa: E731
            not _regional(h) or (not _sent(h, u.said) or covers(h)) and (not named or any(
                w in _said_text(f"{h.question} {h.matched} {' '.join(h.tags)}") for w in named)))
        if (home := asked - {"abroad"}) and cands and not _regional(cands[0]):
            # A Taiwan customer's "運費怎麼算" is answered with the Taiwan freight entry, not the
            # mainland's 满59元包邮 ranked just above it: an entry for the customer's region,
            # matched confidently and nearly as well, answers before one that names none.
            ours = next((h for h in cands[1:3] if h.confidence >= self.also
                         and cands[0].confidence - h.confidence <= self.lead
                         and _regions(f"{h.question} {' '.join(h.tags)}") & home and ours_may(h)), None)
            # Ranked lower still ("運費點計" from Hong Kong: its freight entry 6th), the
            # question read in the region finds it, if it names none itself.
            if ours is None and (ours := self._for_region(result.normalized, cands[0], home, ours_may)):
                hits += [ours] if ours.entry_id not in {h.entry_id for h in hits} else []
            if ours is not None:
                cands = [ours] + [h for h in cands if h.entry_id != ours.entry_id]
                notes.append(f"written for the customer's region, answers first: {ours.entry_id}")
        state = next((st for t in talk if (st := order_state(t))), None)
        if (wrong := [h for h in cands if _contradicts(h, state)]) and len(wrong) < len(cands):
            # "已经发货了，我想取消订单" is not answered with how to cancel an order not yet
            # shipped: the same as another region's entry, while another entry may answer.
            cands = [h for h in cands if h not in wrong]
            notes.append(f"the message is about an order {state}; written for the other case, left out: "
                         f"{', '.join(h.entry_id for h in wrong)}")
        # A vague message matched with the earlier turns is asked as calmly as they were told:
        # "能补偿吗" after "你们发货也太慢了吧！" asks for the late parcel's compensation.
        if (disclaims(key) or u.intent != "complaint" and u.sentiment == "calm"
                and calm_question(" ".join(_before(list(read_with), key) + [key]))) \
                and (kept := [h for h in cands if _may_offer(h, u)]) and len(kept) < len(cands):
            # "不是要投诉，就是想问问退款多久到" matched a complaint entry on its word 投诉, "你们
            # 发货快吗" the one about a late parcel: a calm question is answered as one (a
            # request, 转给你们主管 or 我要真人客服, may still get a complaint entry)
            cands = kept
            notes.append("the customer complains of nothing: complaint entries left out")
        if not cands or not self._answers(result, cands[0]):
            # An option is about the message: it shares a word naming a topic with it, or
            # scores clearly ("你们收购二手手机吗" was offered 你们店主要卖什么 and 降价退差价,
            # sharing only 你们).
            near = [h for h in cands[:3] if h.confidence >= 0.3 and _may_offer(h, u)
                    and (h.confidence >= self.plausible or self._on_topic(result.normalized, h))]
            # Two or more plausible entries: which one? One: is it this one?
            ask = c.clarify(u, near, vals, key) if len(near) >= 2 else c.confirm(u, near[0], vals, key) \
                if near else None
            return [d for d in (c.holding(u, vals, key), ask) if d]
        top = cands[0]
        # An entry that repeats the top one's answer (a duplicate in the base) is neither a
        # second answer nor an option: "另外，" would say the same thing twice.
        cands = [top] + [h for h in cands[1:] if not same_answer(h.answer, top.answer)]
        second = next((h for h in cands[1:] if topic(h) != topic(top) and h.confidence >= self.plausible
                       and _may_offer(h, u)), None)
        if home and second is not None and not _regions(f"{second.question} {' '.join(second.tags)}"):
            # "我想用7-11取貨，運費多少？": 運費多少 is asked from Taiwan, whose freight entry
            # answers it, not the mainland's 满59元免運 matched for it (see `_for_region`).
            asks = self._last_questions(result.normalized)
            ours = next((h for p in asks if (h := self._for_region(p, second, home,
                                                                   lambda h: not _elsewhere(h, asked, u.script)))
                         and h.entry_id != top.entry_id and topic(h) != topic(top)), None)
            if ours is not None:
                notes.append(f"written for the customer's region, answers in {second.entry_id}'s place: "
                             f"{ours.entry_id}")
                hits += [ours] if ours.entry_id not in {h.entry_id for h in hits} else []
                # in its place: as close to the top entry as the hit it stands for (its own
                # search's scores, of the question read in the region, compare with nothing here)
                second = replace(ours, score=second.score, confidence=second.confidence)
        near = [h for h in cands[1:3] if h.confidence >= self.plausible and _may_offer(h, u)]
        near = [h for i, h in enumerate(near) if all(topic(h) != topic(o) for o in near[:i])]
        if unseen and near:
            notes.append("follow-up without the earlier turns: asks which topic first")
            drafts = [c.clarify(u, [top] + near, vals, key), c.warm(u, top, vals, key),
                      c.concise(u, near[0], vals, key, style="alternative")]
            return [d for d in drafts if d]
        may_answer = lambda h: not _elsewhere(h, asked, u.script) and not _contradicts(h, state)  # noqa: E731
        if second is not None and (order := self._two_questions(result.normalized, top, second, asked, may_answer)):
            notes.append("two questions: answered both")
            if top in order:
                return [c.both(u, *order, vals, key), c.warm(u, top, vals, key), c.concise(u, top, vals, key)]
            # a question's own answer took the top entry's place (see _own_answer): the top
            # entry answers neither question alone; the suggestion lists every entry quoted
            hits += [h for h in order if h.entry_id not in {o.entry_id for o in hits}]
            return [c.both(u, *order, vals, key), c.warm(u, order[0], vals, key), c.warm(u, order[1], vals, key)]
        pair = self._answer_each_question(result.normalized, top, hits, may_answer, asked)
        if pair is not None:
            notes.append("two questions: each matched on its own, answered both")
            return [c.both(u, *pair, vals, key), c.warm(u, pair[0], vals, key), c.warm(u, pair[1], vals, key)]
        if second is not None and top.score - second.score < self.ambiguity:
            notes.append("ambiguous: top entries close in score and about different things")
            # The likelier answer stays first (it is a real entry, not a guess); the
            # clarifying question is right beside it for the agent to choose.
            drafts = [c.warm(u, top, vals, key), c.clarify(u, [top, second], vals, key),
                      c.concise(u, second, vals, key, style="alternative")]
            return [d for d in drafts if d]
        drafts = [c.warm(u, top, vals, key), c.concise(u, top, vals, key)]
        if second is not None and second.confidence >= self.also and self._adds(result.normalized, top, second):
            # "精华拆开抹了三天脸就过敏了 还能退吗" is one sentence touching two entries
            # (allergy, opened cosmetics): the third draft answers both, the first stays
            # the top entry alone.
            drafts.append(c.both(u, top, second, vals, key, why=f"{second.entry_id} matches confidently "
                                 f"too ({second.confidence:.2f}): both answers"))
        elif second is not None:
            drafts.append(c.concise(u, second, vals, key, style="alternative"))
        return drafts

    def _on_topic(self, text: str, hit: Hit) -> bool:
        """Whether normalised `text` and `hit`'s question or matched phrasing share a word
        naming a topic (one holding the other: 手机 in 二手手机)."""
        seg = self.retriever.kb.segmenter
        asked = normalize(f"{hit.question} {hit.matched}").text
        return any(w in asked for w in _topics(seg, text)) or any(w in text for w in _topics(seg, asked))

    def _adds(self, text: str, top: Hit, second: Hit) -> bool:
        """True when `second` speaks to a word of the message's questions that `top` does
        not: "面霜拆了…过敏了 还能退吗" touches two entries (退 is no allergy's), "开胶了 是给
        我退还是给我修" asks for a return (one entry) or a repair (another). Whole words
        naming a topic, of the pieces that ask (颜色不喜欢 only says why "能退吗" is asked,
        and a 颜色不喜欢能换吗 phrasing answers no question of it): in `second`'s question
        or matched phrasing with none of their characters in `top`'s (使用 is what 用不了
        speaks of; "包邮吗" has one subject, which a 换货包邮吗 phrasing shares), else in
        `second`'s answer and nowhere in `top`'s entry. A message that asks nothing ("付款一直
        失败，提示银行卡限额") tells one problem: its words count only the second way (the
        failed-payment answer speaks of 银行卡, which a 用银行卡付款 phrasing holds too).
        And `top` must speak to a word of the message that `second` does not: else `second`
        covers all `top` does ("空气炸锅过保了还能修吗": the return entry names 空气炸锅 among
        its products and says 保修 too) and is no other question's answer. Single
        characters of words and characters such as 时 say nothing: 下单时 was a coupon
        entry's 时. Nor does an order or tracking number with its label (订单号2026…, as in
        `_words`): its 订单 and 单号 asked for the entries about orders and tracking numbers.
        Nor what the customer bought (see `_BOUGHT`): "我昨天买的羽绒服怎么还没发货" asks
        when it ships, not what fills a down jacket."""
        seg = self.retriever.kb.segmenter
        text = GIVEN_NUMBER.sub(" ", normalize(text).text)

        def topics(t: str) -> list[str]:
            # A verb with a result 成 is the verb ("想换成黑色" asks to 换, which an
            # exchange entry says, not the 换成正确的颜色 of the wrong-colour one).
            words = (w[0] if len(w) == 2 and w[1] == "成" else w for w in seg.split(t)[0])
            return [w for w in words if w not in _WEAK and not _NO_TOPIC.fullmatch(w)]
        questions = [p for p in _apart(_PIECES, text) if _ASKS.search(p)]
        bought = {next(iter(topics(text[m.end():m.end() + 8])), None) for m in _BOUGHT.finditer(text)}
        words = [w for w in topics(" ".join(questions) or text) if w not in bought]
        said = [_said(top), _said(second)]
        if not any(w in said[0] and w not in said[1] for w in topics(text)):
            return False
        phrasing = [normalize(f"{h.question} {h.matched}").text for h in (top, second)]
        if questions and any(w in phrasing[1] and not any(ch in phrasing[0] for ch in w) for w in words):
            return True
        return any(w in said[1] and w not in said[0] for w in words)

    def _two_questions(self, text: str, first: Hit, second: Hit, where: set[str] = frozenset(),
                       may_answer=lambda h: True) -> tuple[Hit, Hit] | None:
        """The two hits in the order the customer asked, when the message has two clauses
        and each hit matches a different one best; None otherwise. Nor when the talk is
        asked from a region (`where`) the second's clause does not name, and that clause,
        read in the region, is answered by `first` ("請問寄到香港要幾天？運費多少？": the
        Hong Kong entry answers 運費多少 there, not the mainland's 满59元包邮). A hit that
        matched on the other question's words may give way to its clause's own answer
        (see `_own_answer`; `may_answer` as in `_answer_each_question`)."""
        seg = self.retriever.kb.segmenter
        texts = [c for c in _apart(_CLAUSES, text) if len(seg.split(c)[0]) >= 2]
        clauses = [set(seg.split(c)[0]) for c in texts]
        if len(clauses) < 2:
            return None

        def overlaps(hit: Hit) -> list[float]:
            matched = set(seg.tokens(normalize(hit.matched).text))
            return [len(cl & matched) / (len(cl) or 1) for cl in clauses]

        def best_clause(hit: Hit) -> int:
            return max(range(len(clauses)), key=overlaps(hit).__getitem__)
        if min(overlaps(first)) > 0.5:
            return None  # the top entry is asked both ways itself ("寄香港運費點計？幾耐到？")
        at = best_clause(first), best_clause(second)
        if at[0] == at[1]:
            return None
        if where and not _named(texts[at[1]]) and \
                self._near_top(self.retriever.search(_read_in(texts[at[1]], where)), first) > 0:
            return None
        own = [self._own_answer(texts[at[k]], clauses[at[k]] - clauses[at[1 - k]], clauses[at[1 - k]], hit,
                                may_answer, where) for k, hit in enumerate((first, second))]
        if own[0].entry_id != own[1].entry_id and topic(own[0]) != topic(own[1]) \
                and not same_answer(own[0].answer, own[1].answer):
            first, second = own
        return (first, second) if at[0] < at[1] else (second, first)

    def _own_answer(self, clause: str, words: set[str], others: set[str], hit: Hit, may_answer,
                    where: set[str]) -> Hit:
        """`hit`, the whole message's answer to `clause` (whose own words are `words`), or
        the clause's own best entry when `hit` matched on a word only the other question
        has (`others`) and the clause alone finds another entry confidently, about its own
        words, with `hit` not near it: "怎么开发票？另外多久发货？" matched 发票什么时候能开
        出来 (phrased 多久给发票) on 多久 of the other question, where 怎么开发票 alone asks
        how to apply. Only a question word counts so: a subject the two questions share is
        this one's too ("运费怎么算？退货地址在哪里？" asks the return's freight), unless the
        hit shares no subject with this question at all, only its question word ("怎么申请
        发票 多久发货": the invoice timing entry, phrased 多久给发票, has 多久 and the other
        question's 发票, not 发货). The words are those of all the entry's phrasings, as the
        lexical score reads them all: 发票怎么开？另外多久发货 matched 发票啥时候开, whose
        sibling phrasing 多久给发票 holds the 多久. The hit stays only when it is the
        clause's own best entry or within `tie` of it there (0.08 behind was kept at a lead
        of 0.15: the whole message had been matched on the other question's word). One more
        search, only for such a hit."""
        seg = self.retriever.kb.segmenter
        entry = self.retriever.kb.store.get_many([hit.entry_id]).get(hit.entry_id)
        phrasings = [hit.question, hit.matched, *(entry.phrasings if entry else ())]
        matched = {w for p in dict.fromkeys(phrasings) for w in seg.split(normalize(p).text)[0]}
        borrowed, mine = (matched & others) - words, matched & words

        def subject(w: str) -> bool:
            return len(w) > 1 and not _ASKS.search(w) and not _NO_TOPIC.fullmatch(w)
        on_other = any(_ASKS.search(w) for w in borrowed) and not any(subject(w) for w in borrowed)
        if not borrowed or not mine or not _topics(seg, clause) or not on_other and any(subject(w) for w in mine):
            return hit
        result = self._search_among(_read_in(clause, where), may_answer)
        if result.no_match:
            return hit
        best = result.hits[0]
        own = next((h.confidence for h in result.hits if h.entry_id == hit.entry_id), 0.0)
        if best.entry_id == hit.entry_id or best.confidence < self.also or best.confidence - own <= self.tie \
                or _small_talk(best) or not self._on_topic(normalize(clause).text, best):
            return hit
        return best

    def _answer_each_question(self, text: str, top: Hit, hits: list[Hit],
                              may_answer=lambda h: True, where: set[str] = frozenset()) -> tuple[Hit, Hit] | None:
        """When the message asks two (or more) things and the whole-message hits hold no
        answer to one of them, that question is searched on its own: of the last two
        questions, the one sharing fewer words with the top hit (one more search, only for
        such messages), or the other one when the top entry answers that one nearly as
        well as its best entry (a second search). Its answer must match confidently and be
        about another topic than the top hit; it is appended to `hits`, so the suggestion
        lists every entry a draft quotes. Returns the two hits in the order the customer
        asked. `may_answer` leaves out entries drafting may not use (another region's).
        A question is searched with the region the talk is asked from (`where`), unless it
        names one itself: "運費怎麼算" after "寄到台灣要幾天" asks the Taiwan freight, not
        the mainland's 满59元包邮. The top entry gives way to its question's own answer when
        it matched that question on the other one's question word (see `_own_answer`)."""
        seg = self.retriever.kb.segmenter
        search = lambda q: self._search_among(_read_in(q, where), may_answer)  # noqa: E731
        asks = self._last_questions(text)
        if len(asks) < 2:
            return None
        answered = set(seg.tokens(normalize(top.matched).text)) | set(seg.tokens(normalize(top.question).text))
        shared = [len(answered & set(seg.tokens(p))) for p in asks]
        other = 0 if shared[0] < shared[1] else 1
        result = search(asks[other])
        if result.no_match:
            return None
        if self._near_top(result, top) > 0:
            # The top entry answers this one best, or nearly as well as its best entry does:
            # the other question may be the one left unanswered ("怎么开发票？多久能开出来？"
            # matched the timing entry). A second search, for such messages only.
            alt = search(asks[1 - other])
            # When the top entry is this one's best, the other is left unanswered even
            # where the top entry comes near it, if its own best matches it confidently
            # ("寄到台湾要几天？运费怎么算": 寄台湾运费 has a phrasing 寄到台湾要付多少运费).
            if not alt.no_match and alt.hits[0].entry_id != top.entry_id and \
                    (self._near_top(alt, top) == 0 or result.hits[0].entry_id == top.entry_id
                     and alt.hits[0].confidence >= self.also):
                other, result = 1 - other, alt
        if result.hits[0].entry_id == top.entry_id:
            return None  # what the top entry answers already
        # A question alone often lacks its subject ("怎么开发票？多久能开出来？"): an
        # entry the whole message matched, found again for the question, is its answer
        # even on the same topic; another entry only when it is about something else.
        # Not when the question alone clearly means another entry ("发票可以开公司抬头吗？另外
        # 多久发货": 多久发货 alone finds the shipping entry at 0.96, the invoice timing 5th),
        # unless the top entry comes near it too: then the question is too bare to tell.
        # Nor when the whole message's entry is about the question's own words ("衣服缩水
        # 了能退吗？运费谁出？": 退货运费 is the answer, though 运费谁出 alone prefers 换货运费).
        whole = {h.entry_id for h in hits if h.entry_id != top.entry_id and may_answer(h)}
        found = next((h for h in result.hits if h.entry_id in whole), None)
        best = result.hits[0]
        words = [w for w in seg.split(asks[other])[0] if len(w) > 1]
        if found is not None and best.confidence >= self.also and \
                best.confidence - max(found.confidence, self._near_top(result, top)) > self.lead and \
                not any(w in normalize(f"{found.question} {found.matched}").text for w in words):
            found = None
        if found is None:
            found = result.hits[0]
            if found.entry_id == top.entry_id or topic(found) == topic(top):
                return None
            # An entry only this question found must match it confidently, and the
            # question must name a topic of its own: "不知道还能不能处理" alone found
            # 丢件 咋处理 (0.68), on 处理 only, and glued a lost-parcel answer on.
            if found.confidence < self.also or not _topics(seg, asks[other]):
                return None
        if _small_talk(found) or same_answer(found.answer, top.answer):
            return None
        # The top entry may have matched its own question on the other one's question word
        # ("怎么开发票 多久发货" matched 多久给发票): that question's own answer takes its place,
        # as in `_two_questions` (see `_own_answer`).
        mine, theirs = set(seg.split(asks[1 - other])[0]), set(seg.split(asks[other])[0])
        own = self._own_answer(asks[1 - other], mine - theirs, theirs, top, may_answer, where)
        if own.entry_id != found.entry_id and topic(own) != topic(found) and not same_answer(own.answer, found.answer):
            top = own
        listed = {h.entry_id for h in hits}
        hits += [h for h in (top, found) if h.entry_id not in listed]
        return (found, top) if other == 0 else (top, found)

    def _last_questions(self, text: str) -> list[str]:
        """The last two pieces of `text` that ask something and hold a content word."""
        seg = self.retriever.kb.segmenter
        return [p for p in _apart(_PIECES, text) if _ASKS.search(p) and seg.split(p)[0]][-2:]

    def _for_region(self, question: str, hit: Hit, home: set[str], may_answer) -> Hit | None:
        """The entry for the customer's region (`home`) that answers `question` where `hit`,
        naming no region, answers it for the mainland: the best entry of `question` read in
        the region (see `_read_in`), when it names the region, matches confidently and has
        `hit` among its hits (the same question, asked there). None when `question` names a
        place itself (it was searched there already). One more search, only then."""
        if _named(question):
            return None
        result = self._search_among(_read_in(question, home), may_answer)
        if result.no_match:
            return None
        best = result.hits[0]
        if best.entry_id == hit.entry_id or best.confidence < self.also \
                or not _regions(f"{best.question} {' '.join(best.tags)}") & home \
                or all(h.entry_id != hit.entry_id for h in result.hits):
            return None
        return best

    def _search_among(self, question: str, may_answer) -> SearchResult:
        """`question` searched, keeping the hits drafting may use (no match when none is left)."""
        result = self.retriever.search(question)
        kept = [h for h in result.hits if may_answer(h)]
        return replace(result, hits=kept, no_match=result.no_match or not kept)

    def _near_top(self, result: SearchResult, top: Hit) -> float:
        """The confidence of `top` among `result`'s hits when within `lead` of the best, else 0."""
        own = next((h.confidence for h in result.hits if h.entry_id == top.entry_id), 0.0)
        return own if result.hits[0].confidence - own <= self.lead else 0.0

    @staticmethod
    def _why(drafts: list[Draft], hits: list[Hit], result: SearchResult, seg, entries: dict[str, Entry],
             read_with: list[str] = ()) -> None:
        """Put in front of each draft's explanation why each of its entries matched
        (each hit explained once, however many drafts quote it). Shared terms are those of
        any of the entry's phrasings, as the lexical score reads them all (the matched one
        is the closest in meaning, which may share no word: "shared terms: -" beside
        "lexical 1.00"); without a shared word, the shared characters. A vague message
        matched together with the earlier turns (`read_with`) shares theirs too: "那能退吗"
        after "口红拆封了" shared only 退 with the entry it matched on 口红 and 拆封."""
        asked, asked_chars = seg.split(normalize(" ".join([*read_with, result.normalized])).text if read_with
                                       else result.normalized)
        quoted = [h for h in hits if any(h.entry_id in d.entry_ids for d in drafts)]
        lines = {}
        for h in quoted:
            if h.entry_id not in lines:
                phrasings = [*(entries[h.entry_id].phrasings if h.entry_id in entries else ()), h.matched]
                words, chars = set(), set()
                for p in phrasings:
                    w, c = seg.split(normalize(p).text)
                    words.update(w)
                    chars.update(c)
                shared = sorted(set(asked) & words) or sorted(set(asked_chars) & chars)
                dense = ", ".join(f"{m} {v:.3f}" for m, v in h.dense.items())
                lines[h.entry_id] = (f"{h.entry_id} matched 「{h.matched}」; shared terms: {'、'.join(shared) or '-'}; "
                                     f"dense {dense}; lexical {h.lexical:.2f}; confidence {h.confidence:.2f}")
        for d in drafts:
            d.explanation = [line for e, line in lines.items() if e in d.entry_ids] + d.explanation

"""Reply drafts: 话术 around an entry's answer, variables filled, in the customer's script.

Styles (README has the same list):
- warm: greeting on a first message, empathy (anxious) or apology (angry, complaint),
  the answer, an escalation line for complaints, a closing that offers more help
  (none when the answer ends with its own: 还有其他问题吗？, 祝您购物愉快);
- concise: a short opener and the answer;
- alternative: the second-best entry's answer, when it is a real alternative;
- clarify: asks which of the competing entries the customer means (ambiguous or no
  good match), naming each by a short form of its question — never an invented answer;
- both: two questions in one message, answered one after the other;
- no_match: a polite holding line, for when the base has no answer;
- greeting / closing: for a message that only greets, or only thanks or says goodbye.
Openers and closings suit the customer's mood and the stage: an angry customer or a
complaint gets a sober opener, and a closing that follows up rather than calls the
problem solved; so does an answer that promises to look into the customer's case.
The entry's answer is never reworded: facts and numbers stay word for word; only
the script changes (OpenCC), and a full stop goes after it when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kefu.kb.errors import KefuError
from kefu.kb.feedback import mask
from kefu.kb.template import VARIABLE
from kefu.kb.text import (LINK, TRADITIONAL, TRADITIONAL_WORDING, spoken_digits, to_mainland, to_simplified,
                          to_traditional)

from .phrases import OPENER_ENDS, PhraseLibrary
from .retrieve import Hit
from .safety import Flag, Safety
from .understand import Understanding, awaits_us, plans, reports_problem, resigned, settled, thanks

# Each TRADITIONAL_WORDING config's characters without its words (s2hk changes characters only).
_CHARACTERS = {"s2twp": "s2tw"}
STAGE_TAGS = {"接待", "了解需求", "提供解决方案", "确认订单", "告别", "后续跟踪"}
# A salutation the entry's answer opens with ({客户称呼||亲} too), dropped when kefu's own
# opener comes first.
# (all of it: "{客户称呼||亲}，您好，" is one salutation, the shop's standard opening)
# A word of address counts only when a mark, a space, the end or another salutation
# follows it: 亲子装, 亲自, 你好像 are words, never cut into.
_ADDRESS = r"\{\s*客[户戶][称稱]呼\s*(?:\|\|[^{}]*)?\}"  # in either script, as fill() reads it
_ADDRESS_WORD = (r"(?:亲爱的|親愛的)(?:顾客|顧客|客户|客戶|买家|買家|朋友|小伙伴|小夥伴|宝宝|寶寶|家人|亲|親)?"
                 r"(?:们|們)?|亲亲|親親|亲们|親們|亲|親")
# A greeting may end on a particle (您好呀, 你好哦): it greets all the same.
_HELLO = r"(?:您好|你好|哈喽|哈囉)[呀啊哦喔吖]?"
_SALUTATION_WORD = _ADDRESS_WORD + "|" + _HELLO
_SALUTATION_END = r"[，,！!～~。：:\s]"  # 亲爱的顾客： over a letter-style answer
_GREETING_WORD = rf"{_HELLO}(?={_SALUTATION_END}|$|{_SALUTATION_WORD}|{_ADDRESS})"
SALUTATION = re.compile(rf"^(?:(?:{_ADDRESS}|(?:{_SALUTATION_WORD})(?={_SALUTATION_END}|$|{_SALUTATION_WORD}|{_ADDRESS}))"
                        rf"{_SALUTATION_END}*)+")
# After kefu's opener: a 亲 early in the answer addresses the customer a second time
# ("好嘞亲，" + "可以的亲，…", or 王女士 then 亲).
_EARLY_SALUTATION = re.compile(r"^([^，,。！!？?～~]{1,6}?)(?:亲亲|親親|亲们|親們|亲|親)(?=[，,！!～~。])")
_ADDRESSES = re.compile(rf"\{{\s*客[户戶][称稱]呼|(?:{_ADDRESS_WORD})(?={_SALUTATION_END}|$|您好|你好)|您好")
# The customer's name anywhere in a line ("…谢谢{客户称呼||亲}～"), dropped from a second line.
_NAME = re.compile(_ADDRESS)
# The greeting an answer opens with, after its salutation if any: mid-conversation it greets again.
_GREETS = re.compile(rf"^((?:{_ADDRESS}|{_ADDRESS_WORD})[，,！!～~\s]*)?{_GREETING_WORD}{_SALUTATION_END}*")


def _kept_address(m: re.Match) -> str:
    """The address before a greeting dropped mid-conversation, with a comma when it had
    none ("亲您好，可以的" → "亲，可以的")."""
    address = m.group(1) or ""
    return address if not address or re.search(_SALUTATION_END + "$", address) else address + "，"


# Where a part ends its sentence itself: a mark, an emoji or emoticon ("^_^", "[微笑]"),
# looked at through closing quotes and brackets ("点“申请售后”" still needs one).
_CLOSERS = "”’\"'」』）)》〉】]"
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,4}\]$")
_ASKS_AT_END = re.compile(r"(?:吗|嗎|么|麼)$")


def sentence_end(before: str, after: str) -> str:
    """The mark to put between two parts of a draft: none when `after` does not start a
    new sentence (it opens with a mark: "」，") or `before` ends its own; else "？" after
    a question ("…吗"), "。" otherwise (the same in either script)."""
    before = before.rstrip()
    if not before or not after or not after[0].isalnum() or _EMOTICON.search(before):
        return ""
    words = before.rstrip(_CLOSERS)
    if not words or not (words[-1].isalnum() or words[-1] in "%％"):  # a mark (。！？～…，) or an emoji
        return ""
    return "？" if _ASKS_AT_END.search(words) else "。"


# A line that opens a list item: 1. 1、 (1) ① · - • ▪ and 第一步.
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}\s*[.、．)）](?!\d)|[（(]\d{1,2}[)）]|[\u2460-\u2473\u2776-\u277f]|[·•●▪■◆\-*]|"
                        r"第[一二三四五六七八九十\d]{1,3}步)")


def _line_gap(texts: list[str], text: str, source: str, entry_spans: list[tuple[int, int]], pos: int) -> str | None:
    """What goes between a draft's parts around an answer of several lines (None: nothing
    of this kind): after it, the break the answer puts between its paragraphs ("\n\n"
    when it leaves blank lines, else "\n"), so a closing is never glued to its last list
    item; before it, "\n" when it opens with a list item ("好的亲，" over "1. 点开订单")."""
    before = "".join(texts)
    if not before or before.endswith("\n") or not text:
        return None
    if source != "entry" and entry_spans and entry_spans[-1][1] == pos:
        answer = before[entry_spans[-1][0]:pos]
        if "\n" in answer:
            return "\n\n" if "\n\n" in answer else "\n"
    if source == "entry" and "\n" in text and _LIST_ITEM.match(text):
        return "\n"
    return None


# A closing that wishes the customer well (祝您生活愉快): not after a problem or an apology.
_WISHES = re.compile(r"祝|愉快|开心|顺利")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")
# An answer that already opens by apologising or empathising (complaint entries often do),
# within its first words or its first clause (造成您的不便真的很抱歉。, 给您带来不便了，非常抱歉).
_APOLOGISES = re.compile(r"^(?:.{0,6}|[^。！!？?；;]{0,12}?)(?:抱歉|对不起|對不起|不好意思|理解您|理解你|给您添麻烦|給您添麻煩|别着急|別著急|别担心|別擔心)")
# Digits only, or Pinduoduo's date-dash-number (231128-123456789012345), taken whole; not
# digits that go on a word, a path or a query (wxid_1234…, /p/1234…, ?id=1234…).
ORDER_NO = re.compile(r"(?<![\dA-Za-z_=/.#&?-])(?:\d{6}-)?\d{12,20}(?![\d-])")
# What a long number right after these labels is (下单时间20261128103015, 微信号 1234…, QQ,
# 手机, 身份证, 卡号, 账号; a phone's IMEI or serial number, given for its warranty: IMEI1,
# MEID, 序列号, 串号, SN码): not the order number. The label nearest the number decides, so
# 下单时间 is a time; between them only 是/为, a colon, spaces or letters (wxid_). A product
# or order card pasted from the chat app names its other numbers so: the goods' (商品ID, SKU,
# 货号), the payment's (交易号, 流水号) and an after-sale case's (售后单号, 退款编号).
# (序号 of a phone, not of an order or a return: 订单序号, 退货单序号 name an order.)
_DEVICE_NUMBER = r"imei[12]?|meid|序列号|(?<!单)序号|串号|识别码|(?<![a-z])s/?n码?"
_NOT_ORDER_LABEL = re.compile(r"(?:时间|日期|微信号?|vx|wx|qq号?|手机号?码?|电话(?:号码)?|座机|身份证号?码?|证件号?码?|"
                              rf"卡号|银行卡|账号|帐号|支付宝|会员号?|工号|邮编|金额|{_DEVICE_NUMBER}|"
                              r"商品\s*(?:id|编号|编码)|宝贝\s*id|sku(?:\s*id)?|货号|款号|交易号|流水号|支付单号|"
                              r"售后单号|服务单号|工单号|退款(?:编号|单号))"
                              r"\s*(?:是|为|:|：)?\s*[A-Za-z_]*$", re.I)
# An agent's turn asking for a phone's IMEI or serial number (请提供一下手机的 IMEI 号), and
# not for the order number: the bare number the customer then sends is that.
_ASKS_DEVICE_NUMBER = re.compile(_DEVICE_NUMBER, re.I)
_ORDER_NAMED = re.compile(r"订单|單號|单号|訂單")
# An answer that promises to look into the customer's case: its closing must not call the
# matter settled. A word of an open case (核实, 跟进, 联系您 …) counts only where kefu's side
# commits to it: said by us (我们会核实, 主管会回电, 已登记), done for the customer
# (帮您查询, 为您核实), or opening its clause after what the customer sends (…发给我们，核实后…).
# Not an instruction to the customer (请联系客服帮您查询, 您可以稍后刷新再试, 发给客服登记),
# a purpose (方便我们及时跟进), how the service works (人工上线后会第一时间跟进), nor the
# procedure once the customer contacts customer service (联系在线客服…，我们核实后…): the
# customer has no case with us yet.
# (Not 回复您: "人工上班会尽快回复您" tells the service hours, it promises nothing about a case.)
_PENDING = re.compile(r"核实|核查|调查|追查|帮您查|为您查|查一下|稍后|跟进|反馈给|登记|上报|联系您|回电|答复")
_COMMITS = re.compile(r"我们|我(?![的们])|小禾|主管|专人|专员|帮您|为您|给您|已|马上|立即|立刻|这就|现在就")
_INSTRUCTS = re.compile(r"请|您可以|你可以|也可以|可以(?:联系|直接|找)|建议|麻烦|方便|以便|便于|"
                        r"联系[^，,。；;！!？?]{0,6}客服|(?:发|交)给客服|找客服")
_VIA_SERVICE = re.compile(r"联系[^，,。；;！!？?]{0,4}客服")
_CLAUSE_MARK = re.compile(r"[，,：:、]")
_SENTENCE_MARK = re.compile(r"[。；;！!？?\n]")


def promises_follow_up(answer: str) -> bool:
    """True when `answer` promises to look into the customer's case (see _PENDING)."""
    text = to_simplified(answer)
    for m in _PENDING.finditer(text):
        sentence = _SENTENCE_MARK.split(text[:m.start()])[-1]
        clause = _CLAUSE_MARK.split(sentence)[-1]
        if _INSTRUCTS.search(clause) or _VIA_SERVICE.search(sentence):
            continue
        if _COMMITS.search(clause) or not clause.strip() or m.group() in ("帮您查", "为您查", "联系您"):
            return True
    return False


# An answer that ends by offering more help or taking leave itself ("…，还有其他问题吗？",
# "欢迎随时咨询", "祝您购物愉快"): a closing line after it would say it twice. Its last clause.
_CLOSES = re.compile(r"还有(?:其他|其它|别的|什么)[^。！？!?]{0,12}(?:吗|嘛|么|呢)|(?:有|还有)什么(?:可以|能|需要)"
                     r"[^。！？!?]{0,4}(?:帮|效劳)|(?:帮|为)您做的|祝您|祝你|再见|拜拜|"
                     r"随时(?:联系|找|来找|咨询|告诉|留言|来问|问)")


def closes_itself(text: str) -> bool:
    """True when `text` ends offering more help, wishing well or saying goodbye (see _CLOSES)."""
    clauses = [c for c in re.split(r"[，,。！!？?～~；;\s]+", to_simplified(text)) if c]
    return bool(clauses) and bool(_CLOSES.search(clauses[-1]))


# An agent's request for something the customer is to send or tell (请把订单号发给我们,
# 麻烦拍张照片, 方便提供一下手机号吗, 您把截图发过来): not an instruction to do something
# elsewhere (请在订单页上传凭证, 请耐心等待, 请留意短信), nor an offer (也可以随时把订单号发给客服,
# 有问题请随时告诉我: _OFFERS).
_REQUESTS = re.compile(r"(?:请|麻烦|劳烦|辛苦|方便)[^。！!？?；;]{0,12}?(?:发(?:给|过来|一下|送|我)|提供|告诉|"
                       r"拍(?:照|张|个|一下|下|段|几张|视频)|截(?:个|张)?图|补充)|"
                       r"(?:您|你)(?:把|将)[^。！!？?；;]{1,12}?(?:发给|发过来|发我|告诉)")
_OFFERS = re.compile(r"随时|如有|如果有|有任何|有问题|有需要|还有")
# ... or a question for a fact or a choice (您的订单号是多少？, 请问是哪款呢？, 需要个人发票还是
# 公司发票呢？) as its last sentence.
_ASKS_FACT = re.compile(r"(?:多少|哪|什么|几|谁|怎么称呼|还是)[^。！!？?]*[？?]\s*$")


# An agent at work on the case right now (这边帮您修改, 马上为您处理, 正在帮您加急，请稍等), not
# done yet: 已经帮您修改好了, 改好了, 帮您改了 (了 after the verb) and 已经帮您备注 (已/已经 before
# 帮/为/给) close it, and an offer (有问题随时为您处理) opens nothing.
# News promised counts too (有结果马上告诉您, 有进展会第一时间通知您; not 补货后会通知您, what
# a system does).
_DOING = re.compile(r"(?<!已)(?<!已经)(?:帮|为|给)您[^。！!？?，,；;]{0,4}?"
                    r"(?:修改|改|处理|办理|安排|加急|催|操作|备注)(?![好完了过])"
                    r"(?![^。！!？?]*(?:好了|完了|成功))|(?<![不无])稍等|"
                    r"有(?:新)?(?:结果|进展|消息)[^。！!？?，,；;]{0,6}?(?:告诉|通知|回复|答复)您")


def awaits(agent: str) -> str | None:
    """What the agent's turn `agent` leaves open: "customer" when it waits for something from
    the customer (see _REQUESTS, _ASKS_FACT), "us" when it promises a later step of ours
    (see promises_follow_up: 核实后3个工作日内给您补发) or is at it now (see _DOING: 这边帮您
    修改), None when the case may close."""
    text = to_simplified(agent or "").strip()
    last = [t for t in re.split(r"(?<=[。！!；;\n])", text) if t.strip()][-1:]
    asked = [m for m in _REQUESTS.finditer(text)  # the request with its clause: 如有需要，请提供… offers
             if not _OFFERS.search(_CLAUSE_MARK.split(_SENTENCE_MARK.split(text[:m.start()])[-1])[-1] + m.group())]
    if asked or last and _ASKS_FACT.search(last[0]) and not closes_itself(text):
        return "customer"
    doing = [m for m in _DOING.finditer(text)  # not offered: 如有问题，随时为您处理
             if not _OFFERS.search(_CLAUSE_MARK.split(_SENTENCE_MARK.split(text[:m.start()])[-1])[-1])]
    return "us" if text and (promises_follow_up(text) or doing) else None


# Words around a standard question that do not say what it is about.
_ASK_HEAD = re.compile(r"^(?:请问|亲亲?|你好|您好|我想问一?下|想问一?下|问一?下|怎么样才能|怎么|如何|怎样|"
                       r"能不能|可不可以|可以|能否|能)")
_ASK_TAIL = re.compile(r"(?:怎么办|怎么算|怎么弄|怎么样|怎么选|怎么用|怎么看|要等多久|要多久|多久|是多少|多少钱|多少|几天|"
                       r"是什么|有哪些|吗|嗎|呢|吧|呀|啊)$")
_HANGS = re.compile(r"(?:(?<![功性智技可])能|可以|需要|要)[\u4e00-\u9fff]?$")
_QUESTION = re.compile(r"吗|嗎|呢|怎么|什么|多久|多少|几|哪|为什么|能不能|可不可以|是否")
# A whole reply for a message that only greets or only thanks, when the library has none.
_YOU_ARE_WELCOME = re.compile(r"不客气|不用客气|不用謝|不客氣|應該的|应该的")
# "还有什么可以帮您" takes for granted that something was asked already.
_STILL = re.compile(r"还有|還有")
# A follow-up line promising news (后续进展我们会继续跟进并及时告诉您, 处理结果会第一时间告诉您): nothing
# is pending for a customer who gave up ("那好吧 算了" after 已经是最低价了).
_NEWS_PROMISED = re.compile(r"进展|進展|处理结果|處理結果|处理情况|處理情況|主动联系您|主動聯繫您|有结果|有結果")
# A holding line for a library without a no_match line that suits (none left, or none for
# the customer's tone): the draft is then the whole reply, never empty.
_DEFAULT_LINE = {"greeting_first": "您好，请问有什么可以帮您？", "greeting_later": "在的，请问还有什么可以帮您？",
                 "closing": "不客气，祝您生活愉快！", "no_match": "这个问题我需要再核实一下，稍后给您准确答复。"}
# Thanks while the case is still open (see awaits): the closing's stage, and a built-in line
# for a library without one of that stage.
_OPEN_STAGE = {"customer": "了解需求", "us": "后续跟踪"}
_OPEN_LINE = {"customer": "好的，您方便的时候发过来就好，收到后马上为您处理～",
              "us": "好的，有进展会及时告诉您，请留意消息～"}
# A nudge while the agent is at the case (see Composer.only), for a library without a line.
_WORKING_LINE = "在的，正在为您处理，请稍等～"
# A photo or file sent mid-chat (see Composer.received), for a library without a line.
_RECEIVED_LINE = "收到了，我这边帮您核实一下，请稍等～"
# A greeting that announces another question (还有一个问题, 再问一下, 问个事): no nudge.
_ANNOUNCES = re.compile(r"问|请教|咨询|事")
# A carrier's waybill: its letters, then digits (京东's JDVA + 11 digits as well as JD + digits).
TRACKING_NO = re.compile(r"(?<![A-Za-z0-9])(?:SF|YT|ZT|YD|JT|JD[A-Z]{0,2}|STO|ZTO|YTO|EMS)\d{9,15}(?!\d)", re.I)


# A tracking number of digits only (中通, 韵达, 圆通), told apart from an order number by its
# label or by the carrier named right before it (中通75312345678901); 售后单号, 退款单号,
# 服务单号 and 工单号 name an after-sale case, 付款单号 (货款, 业务, 财务…) a payment, not a
# parcel (退货单号 and 寄回后单号 are the return's waybill).
_LABELLED_TRACKING = re.compile(r"(?:快递单号|运单号|物流单号|快递号|(?<!订)(?<!售后)(?<!款)(?<!务)(?<!工)单号|"
                                r"(?:中通|圆通|韵达|申通|极兔|顺丰|邮政|京东|德邦|百世)(?:快递)?(?:单号)?)"
                                r"\s*(?:是|为|:|：)?\s*(\d{10,20})(?!\d)")


# An order number typed in groups, as read off a screen: "订单号：2026 1128 1234 5678", "订单号是
# 1234 5678 9012" (the label joined by 是 or 为 too, as said aloud or typed in a sentence).
_GROUPED_DIGITS = re.compile(r"(订单编号|订单号码|订单号?|单号)?\s*(?:是|为)?\s*[:：]?\s*(?<!\d)(\d{2,8}(?:[ -]\d{2,8}){1,5})(?![\d])")


def _joined_order_number(m: re.Match) -> str:
    """The groups joined when they make an order number: 12-20 digits after an order label,
    16-20 without one (a landline with its area code has 11-12, a mobile 11)."""
    digits = re.sub(r"[ -]", "", m.group(2))
    low = 12 if m.group(1) else 16
    return m.group(0).replace(m.group(2), digits) if low <= len(digits) <= 20 else m.group(0)


def values_from_message(text: str, asked: str = "") -> dict[str, str]:
    """Variable values a message gives away: order and tracking numbers (not the digits of
    a link, nor a number labelled as something else: see _NOT_ORDER_LABEL). `asked` is the
    agent's turn the message answers: after a request for the IMEI or serial number alone,
    a number the customer does not call an order number is that."""
    asked = to_simplified(asked)  # 請提供手機的序號 asks as 请提供手机的序号 does
    device = bool(_ASKS_DEVICE_NUMBER.search(asked)) and not _ORDER_NAMED.search(asked + text)
    values = {}
    text = spoken_digits(LINK.sub(" ", text))  # an order number said aloud: 幺三五七…
    if m := TRACKING_NO.search(text) or _LABELLED_TRACKING.search(text):
        values["快递单号"] = values["运单号"] = m.group(m.lastindex or 0).upper()
    text = _GROUPED_DIGITS.sub(_joined_order_number, text)
    rest = _LABELLED_TRACKING.sub(" ", mask(text))  # nor is a phone, card or ID number
    for m in ORDER_NO.finditer("" if device else rest):
        if not _NOT_ORDER_LABEL.search(to_simplified(rest[max(0, m.start() - 16):m.start()])):
            values["订单号"] = m.group(0)
            break
    return values


# The variables kefu reads itself, whether or not an entry uses them: an order number
# given takes the answer's request for it out; 客户称呼 is the 话术's.
KNOWN_VARIABLES = ("订单号", "快递单号", "运单号", "客户称呼")


def literal_values(values: dict[str, str]) -> dict[str, str]:
    """`values` as text to insert as it is: a value's braces ({订单号} typed as a name) are
    written full-width, so that no draft holds what reads as an unfilled variable."""
    return {k: v.replace("{", "｛").replace("}", "｝") if isinstance(v, str) else v for k, v in values.items()}


# Where a variable stands while the text around it is converted (see fill): a character of
# Unicode's supplementary private use area, which OpenCC leaves as it is.
_HELD = "\U000F0000"


def fill(text: str, values: dict[str, str], placeholder=None, convert=None,
         slots: list[Slot] | None = None) -> tuple[str, list[str]]:
    """Replace variables by their value, else their fallback, else a visible 【请填写…】
    (`placeholder(name)` makes it, when given). Names match in either script ({訂單號}
    takes the value of 订单号); missing ones are listed in simplified script.

    `convert` (to the customer's script and wording) converts the text around the
    variables and their fallbacks, never their names: OpenCC's Taiwan wording read
    {发货时间} as {出貨時間} and {保修期} as {保固期}, names no value was given for. A value
    goes in as it was given.

    `slots`, when given, gets a Slot for each variable at its place in the returned text:
    its value, else its fallback or its blank (the fallback is what the client shows while
    the variable has no value)."""
    missing: list[str] = []
    given = {to_simplified(k.strip()): v for k, v in values.items() if v and v.strip()}  # blank: not given

    def shown_fallback(m: re.Match) -> str | None:
        fallback = m.group(2)
        return convert(fallback) if convert and fallback else fallback

    def sub(m: re.Match) -> str:
        name = to_simplified(m.group(1).strip())
        if name in given:
            return given[name]
        if m.group(2) is not None:
            return shown_fallback(m)
        if name not in missing:
            missing.append(name)
        return placeholder(name) if placeholder else f"【请填写{name}】"

    def around(source: str) -> tuple[list[re.Match], list[str]]:
        found = list(VARIABLE.finditer(source))
        ends = [0] + [m.end() for m in found]
        starts = [m.start() for m in found] + [len(source)]
        return found, [source[a:b] for a, b in zip(ends, starts)]
    if convert is None:
        found, pieces = around(text)
    else:
        found = list(VARIABLE.finditer(text))
        pieces = convert(VARIABLE.sub(_HELD, text)).split(_HELD)
        if _HELD in text or len(pieces) != len(found) + 1:  # never put a value in the wrong place
            found, pieces = around(convert(text))
    out = [pieces[0]]
    pos = len(pieces[0])
    for m, piece in zip(found, pieces[1:]):
        value = sub(m)
        name = to_simplified(m.group(1).strip())
        # A value follows the box it came from (emptied, the fallback or the blank is back);
        # a fallback shown stands where a value goes once one is given, as in a draft not
        # edited: 这款很保暖 beside 青禾T恤现货 read as two products.
        if slots is not None:
            blank = placeholder(name) if placeholder else f"【请填写{name}】"
            slots.append(Slot(name, pos, pos + len(value), blank, shown_fallback(m)))
        out += [value, piece]
        pos += len(value) + len(piece)
    return "".join(out), missing


def blank(name: str, wording: str | None = None) -> str:
    """The 【请填写…】 a draft shows for variable `name` while it has no value: in simplified
    script, or with `wording` (an OpenCC config of TRADITIONAL_WORDING) in traditional
    script. It names the variable as the entry does, in that script only (【請填寫發貨時間】,
    not the Taiwan wording's 出貨時間: the agent looks for 发货时间)."""
    if wording is None:
        return to_mainland("【请填写") + to_simplified(name) + "】"
    return to_traditional("【请填写", wording) + to_traditional(name, _CHARACTERS.get(wording, wording)) + "】"


def blank_forms(name: str) -> list[str]:
    """Every way a draft writes the blank of variable `name`, in either script and each
    wording: 【请填写订单号】, 【請填寫訂單號】. An agent may type, or paste from another
    conversation, the one of the other script."""
    forms = [blank(name)] + [blank(name, w) for w in TRADITIONAL_WORDING]
    return list(dict.fromkeys(forms))


@dataclass
class Slot:
    """Where a variable stands in a draft's text (start and end count code points, as a
    Flag's do): its value, or `blank`, the 【请填写…】 shown while it has none. A client
    that lets the agent edit a draft and fill in values keeps the values in their places
    through the edit (the panel: web/static/panel.js). `fallback`: for a variable written
    with one ({商品名||这款}), the text shown in its place without a value (converted to
    the customer's script, as the draft is); None for one without."""
    variable: str
    start: int
    end: int
    blank: str
    fallback: str | None = None


@dataclass
class Draft:
    text: str
    entry_ids: list[str]
    style: str
    missing_variables: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)


def _bigrams(text: str) -> set[str]:
    text = re.sub(r"\W", "", to_simplified(text))
    return {text[i:i + 2] for i in range(len(text) - 1)}


def same_answer(a: str, b: str) -> bool:
    """Two answers that mostly say the same thing: half or more of the shorter one's
    character pairs are in the other (duplicate entries; 0.5 is past the 99.9th
    percentile of the shipped corpus's pairs of different entries), and at least 12 of
    them: two short answers share half their pairs by chance ("可以的" / "可以退")."""
    x, y = _bigrams(a), _bigrams(b)
    shared = len(x & y)
    return shared >= 12 and shared >= 0.5 * min(len(x), len(y))


def topic(hit: Hit) -> str:
    """A short name for what an entry is about, to tell whether two entries differ: its
    question's short form, as a clarifying question names it. Not its first tag: entries
    sharing one (发票: how to apply, a company invoice, when it comes) answer different
    questions, and one was never offered beside the other."""
    return option(hit)


def option(hit: Hit, mainland: bool = False) -> str:
    """A clarifying question's option: the entry's standard question up to its first
    question clause, without polite or question words ("小家电保修多久" → 小家电保修), in
    simplified script. `mainland=True` (a draft for a simplified-script customer) gives
    it mainland words too, as the entry's answer gets them: a question a Taiwan shop
    wrote (衣服有線頭算品質問題嗎) names 质量问题, not 品质问题, and 保修, not 保固;
    converted from the whole question, since the option may hold no character that tells
    its script (家電保固多久 → 家电保修).

    Tags do not serve: an entry's first tag is often a product or a place (小家电, 台湾),
    and "小家电还是保修" offers no real choice.
    """
    question = to_mainland(hit.question) if mainland else to_simplified(hit.question)
    pieces = _OPTION_BREAK.split(question.strip())
    clauses = [c for c in pieces[::2] if c]
    marks = pieces[1::2] + [""]
    taken = []
    for clause, mark in zip(clauses, marks):
        taken.append(clause)
        if "?" in mark or "？" in mark or _QUESTION.search(clause):
            break
    rest = _ASK_TAIL.sub("", taken[-1]).rstrip()
    # "充一次电能用多久" without 多久 leaves 能用 hanging: after a modal the question word stays
    if not _HANGS.search(rest) or re.fullmatch(r"\s*[吗嗎呢吧呀啊]", taken[-1][len(rest):]):
        taken[-1] = rest or taken[-1]
    while len(taken) > 1 and _width("，".join(taken)) > 18:
        taken.pop(0)  # the question itself matters more than what leads up to it
    short = "，".join(taken)
    for _ in range(2):  # "请问怎么退货" loses both 请问 and 怎么
        short = _ASK_HEAD.sub("", short)
    return _cut(short if len(short) >= 2 else taken[-1], 18)  # "怎么办" alone says nothing shorter


# Where an option's question parts into clauses: a mark, or a space between Chinese words
# (手机 怎么退货); a space beside a Latin word or a number is part of a product's name
# (小米14 Ultra 电池多大, 充电器是 PD 快充吗).
_OPTION_BREAK = re.compile(r"(\s*[？?。！!，,；;][？?。！!，,；;\s]*|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff]))")


def _width(text: str) -> float:
    """How wide `text` reads, a Chinese character 1 and a Latin letter, digit or space ½
    (iPhone 15 Pro Max is as long as five characters, not 17)."""
    return sum(0.5 if c.isascii() else 1 for c in text)


# A run of one script that a cut should not go through: Chinese characters, or a Latin
# word or number.
_WORD_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z0-9]+")
_FEW = 3  # characters of a Chinese run after a Latin word: this many or fewer kept is a word cut


def _cut(text: str, width: float) -> str:
    """`text` up to `width` (see _width), without a space left at its end. Not through a
    Latin word, nor through the first few characters of Chinese after a Latin word or a
    space (…Ultra 2 有什么区别 → …Ultra 2, not …Ultra 2 有什): the cut goes back to where it
    starts. Where most of that Chinese fits, the cut stays (小米14 Ultra 电池充满电大概需要多长
    says what is asked; 小米14 Ultra would not), as it does in Chinese after Chinese, which
    has no such place to go back to, and where going back would leave less than half the
    width (买 iPhone15ProMaxUltra… is cut through the name, not to 买)."""
    end, used = 0, 0.0
    for end, c in enumerate(text, 1):
        used += 0.5 if c.isascii() else 1
        if used > width:
            end -= 1
            break
    else:
        return text.rstrip()
    run = next((m for m in _WORD_RUN.finditer(text) if m.start() < end < m.end()), None)
    if run and _width(text[:run.start()].strip()) >= width / 2 and (
            run.group().isascii() or text[run.start() - 1].isascii() and end - run.start() <= _FEW):
        end = run.start()
    return text[:end].rstrip()


# An answer's request for the order number, left out once the customer gave it (a
# customer who typed it reads "请把订单号发给我们" as not being read). Only requests
# (请…把订单号发给我们, 请提供订单号) and the number as one item of a list of things to
# send (把订单号和新地址发给客服): "随时把订单号发给客服查询进度" and "最近一笔订单号" stay.
# Taiwan shops write 訂單編號.
_ORDER_WORD = r"(?:订单编?号码?|訂單編?號碼?)"
# The variable an editor may have put after it goes too ("请您提供订单号{订单号}，…" would
# leave the bare number hanging).
_ORDER_VARIABLE = r"(?:\s*[:：]?\s*\{\s*(?:订单号|訂單號)\s*(?:\|\|[^{}]*)?\})?"
_ASKS_ORDER = re.compile(r"(?:请|請)您?先?(?:(?:把|将|將)" + _ORDER_WORD + _ORDER_VARIABLE
                         + r"(?:发给|發給|告诉|告訴|发送给|發送給)(?:我们|我們|客服)(?:看一下|看看)?|提供" + _ORDER_WORD
                         # a request that goes on ("请提供订单号跟客服核实", "…同时上传照片") stays whole
                         + _ORDER_VARIABLE + r"(?=[，,。！？!?；;\s]|$))")
_CLAUSE_START = re.compile(r"(^|[，,。！？!?；;\s])$")
# "and" between the things to send: Hong Kong writes 同 or 同埋 (not 同时, 同样), Taiwan 跟 (not
# 跟进, 跟踪); but 同 and 跟 before whom it is sent to are "to" ("請將訂單號同我哋講",
# "請把訂單編號跟客服說一下"). The number's variable goes with it: "请提供订单号{订单号}和新地址"
# left "和新地址".
_TO_WHOM = r"我|你|您|客服|店|商家|他|她"
_AND = rf"(?:和|、|以及|及|與|与|同埋|同(?![时時步样樣意等]|{_TO_WHOM})|跟(?![进進踪蹤]|{_TO_WHOM}))"
# So does the number sent along with the photos: 连同订单号一起发给我们, 連同訂單號一齊發俾我哋.
_ORDER_IN_LIST = re.compile(r"(?<=[把将將供楚、和并])" + _ORDER_WORD + _ORDER_VARIABLE + _AND
                            + r"|" + _AND + _ORDER_WORD + _ORDER_VARIABLE + r"(?=[发發告给給])"
                            + r"|(?:连同|連同)" + _ORDER_WORD + _ORDER_VARIABLE + r"(?=一[起齐齊]|[发發寄])")


def without_asking_order(answer: str) -> str:
    """`answer` without its request for the order number (see _ASKS_ORDER); unchanged
    when nothing else would be left."""
    text = _ORDER_IN_LIST.sub("", answer)
    out, pos = [], 0
    for m in _ASKS_ORDER.finditer(text):
        out.append(text[pos:m.start()])
        end = m.end()
        # a whole clause goes with its comma or full stop ("如果都没有，请把订单号发给客服，我们会…"
        # → "如果都没有，我们会…"); inside one, only the request ("超时未发的话，我们…")
        if _CLAUSE_START.search("".join(out)) and end < len(text) and text[end] in "，,。；;":
            end += 1
        pos = end
    out.append(text[pos:])
    result = _without_emptied_items(answer, "".join(out))
    return result if SALUTATION.sub("", result).strip("，,。！!～~ ") else answer


# A numbered list item: 1. 1、 1) (1) （1）; not "11.11活动" nor "3.8节". And ① … ⑳, ❶ … ❿.
_NUMBERED = re.compile(r"^(\s*[（(]?)(\d{1,2})(\s*[.、．)）])(?!\d)")
_CIRCLED = re.compile(r"^(\s*)([\u2460-\u2473\u2776-\u277f])")


def _item_number(line: str) -> tuple[int, tuple, Callable[[int], str]] | None:
    """The number of the list item `line` opens, its style (items of one list share it)
    and `line` written with another number; None when it is not a numbered item."""
    if m := _NUMBERED.match(line):
        return int(m[2]), (m[1], m[3].strip()), lambda n: f"{m[1]}{n}{m[3]}{line[m.end():]}"
    if m := _CIRCLED.match(line):
        first = 0x2460 if m[2] <= "\u2473" else 0x2776
        return (ord(m[2]) - first + 1, (m[1], first),
                lambda n: f"{m[1]}{chr(first + n - 1)}{line[m.end():]}")
    return None


def _without_emptied_items(answer: str, result: str) -> str:
    """`result` without the lines of `answer` the request took all the words of (a list item
    "1. 请把订单号发给我们" left as "1. "), the items that follow one taken out moved up:
    only its own run (the next number, then the next; blank lines and lines indented past the
    number may come between, no other line), so a second list further down, or a line that
    opens with "11.11活动", keeps its numbers. No blank line is left where an item stood."""
    before, after = answer.split("\n"), result.split("\n")
    if len(before) != len(after):  # a request across lines: nothing to match line by line
        return result
    # shift: items taken out of the run; run: (next number, style); indent: the run's margin
    kept, shift, run, indent, dropped = [], 0, None, 0, False
    for old, new in zip(before, after):
        if new != old and not _LIST_ITEM.sub("", new).strip("，,。；; "):
            if item := _item_number(old):
                number, style, _ = item
                shift = shift + 1 if run == (number, style) else 1
                run, indent = (number + 1, style), len(old) - len(old.lstrip())
            dropped = True
            continue
        margin = len(new) - len(new.lstrip())
        item = _item_number(new)
        if shift and item and run == item[:2]:
            new = item[2](item[0] - shift)
            run = (item[0] + 1, item[1])
        elif shift and not item and (not new.strip() or margin > indent):
            pass  # a blank line between items, or an item going on: still the same list
        else:
            shift, run = 0, None
        if not new.strip():
            # the blank line that set the dropped item apart goes with it
            if dropped and (not kept or not kept[-1].strip()):
                continue
        else:
            dropped = False
        kept.append(new)
    return "\n".join(kept)


# Where a clarify or restate line names the entries: {选项} or {问题}, written as variables
# are, in either script and with spaces ({選項} in a line for traditional-script customers).
# Only the exact simplified spelling was found: such a line was passed over for the
# built-in wording, and so was any line picked when another had no slot.
SLOTS = {simplified: re.compile(r"\{\s*(?:%s|%s)\s*\}" % (simplified, traditional))
         for simplified, traditional in (("选项", "選項"), ("问题", "問題"))}


# A 话术 line's own words, clause by clause, to find it in an agent's turn once sent (its
# salutation and the customer's name filled in, in either script): a clause of 6 or more.
_LINE_CLAUSE = re.compile(r"[^，,。！!？?～~；;\s]{6,}")


def _said(line: str, said: tuple[str, ...]) -> bool:
    """True when an agent's turn in `said` holds `line` (one of its longer clauses)."""
    if not said:
        return False
    clauses = _LINE_CLAUSE.findall(to_simplified(_NAME.sub("", SALUTATION.sub("", line))))
    return any(c in to_simplified(turn) for c in clauses for turn in said)


class Composer:
    def __init__(self, phrases: PhraseLibrary, safety: Safety, traditional: str = "s2twp"):
        self.phrases = phrases
        self.safety = safety
        if traditional not in TRADITIONAL_WORDING:
            raise KefuError(f"config 'traditional' must be one of {', '.join(TRADITIONAL_WORDING)},"
                            f" got {traditional!r}")
        self.traditional = traditional  # OpenCC config for traditional customers
        self._closing_runs: list[tuple[str, set[str]]] | None = None  # see _echoing_closings

    # -- building blocks -------------------------------------------------------------
    def _line(self, kind: str, key: str, tone: str | None, why: str, parts: list, notes: list,
              asks: bool = True, question: bool = False, stage: str | None = None,
              whole: bool = False, script: str | None = None, without: re.Pattern | None = None,
              exact: bool = False, said: tuple[str, ...] = ()) -> bool:
        """Add a line of `kind` (see PhraseLibrary.pick); `exact`: only one of `stage`. A
        line an agent's turn of the talk (`said`) holds gives way to another, if any: the
        same apology or follow-up closing turn after turn reads as a canned reply."""
        phrase = self.phrases.pick(kind, key, tone, asks, question, stage, whole, script, without)
        sent = [p.text for p in self.phrases.phrases if p.kind == kind and _said(p.text, said)]
        if phrase and phrase.text in sent:
            avoid = "|".join(re.escape(t) for t in sent) + (f"|{without.pattern}" if without is not None else "")
            phrase = self.phrases.pick(kind, key, tone, asks, question, stage, whole, script, re.compile(avoid))
        if phrase and exact and phrase.stage != stage:
            phrase = None
        if phrase:
            text = phrase.text
            if any(_ADDRESSES.search(t) for t, _ in parts):  # "亲，您好～…。亲，非常理解…": once is enough
                # and wherever it stands: "不客气亲，…谢谢亲～" read 不客气王女士…谢谢王女士～
                text = _NAME.sub("", SALUTATION.sub("", text)) or text
            parts.append((text, "kefu"))
            notes.append(f"话术 {phrase.id} ({kind}): {why}")
        return phrase is not None

    def _line_or(self, kind: str, key: str, tone: str | None, why: str, default: str, parts: list, notes: list,
                 **pick: object) -> None:
        """A line of `kind` (see _line, which takes `pick`), else the built-in `default`, noted
        "<why> (a built-in line)" so the agent sees the shop's library lacks one."""
        if not self._line(kind, key, tone, why, parts, notes, **pick):
            parts.append((default, "kefu"))
            notes.append(f"{why} (a built-in line)")

    @staticmethod
    def _tone(u: Understanding) -> str:
        """The tone the 话术 must suit: a complaint is handled soberly even when calmly put."""
        return "angry" if u.intent == "complaint" else u.sentiment

    def _closing(self, u: Understanding, key: str, answers: list[str], parts: list, notes: list) -> None:
        """Offer more help; after a complaint, an upset customer or an answer that still has to
        be checked, a follow-up line (stage 后续跟踪) that does not call the matter settled.
        A customer who reports a problem or was apologised to is wished no happy day."""
        if answers and closes_itself(answers[-1]):  # an escalation line between changes nothing
            notes.append("the answer ends with its own closing: no second one")
            return
        pending = any(promises_follow_up(a) for a in answers)
        upset = u.sentiment == "angry" or u.intent == "complaint"
        stage = "后续跟踪" if upset or pending else "提供解决方案"
        why = "follow up: not settled yet" if stage == "后续跟踪" else "offer more help"
        sorry = reports_problem(key) or any(_APOLOGISES.match(SALUTATION.sub("", a)) for a in answers[:1])
        # Nor a closing that says again what the answer just said: "…我会继续跟进到底。您的
        # 问题我们会负责跟进到底，…" (when another line is left).
        avoid = [re.escape(t) for t in self._echoing_closings(answers)] + ([_WISHES.pattern] if sorry else [])
        self._line("closing", key, self._tone(u), why, parts, notes, question=True, stage=stage, script=u.script, said=u.said,
                   without=re.compile("|".join(avoid)) if avoid else None)

    def _echoing_closings(self, answers: list[str]) -> list[str]:
        """The closing lines sharing a run of four Chinese characters with `answers`."""
        said = "\n".join(to_simplified(a) for a in answers)
        if self._closing_runs is None:
            self._closing_runs = [(p.text, {r[i:i + 4] for r in _CJK_RUN.findall(to_simplified(p.text))
                                            for i in range(len(r) - 3)})
                                  for p in self.phrases.phrases if p.kind == "closing"]
        # a run is in `said` when it is one of its four-character pieces
        pieces = {said[i:i + 4] for i in range(len(said) - 3)}
        return [text for text, runs in self._closing_runs if not runs.isdisjoint(pieces)]

    def _finish(self, parts: list[tuple[str, str]], u: Understanding, values: dict[str, str],
                entry_ids: list[str], style: str, notes: list[str]) -> Draft:
        texts, missing, entry_spans, slots, pos = [], [], [], [], 0
        wording = u.wording or self.traditional
        convert = (lambda t: to_traditional(t, wording)) if u.script == TRADITIONAL else to_mainland
        blank_wording = wording if u.script == TRADITIONAL else None
        has_order = any(v and v.strip() and to_simplified(k.strip()) == "订单号" for k, v in values.items())
        for raw, source in parts:
            if source == "entry" and has_order and (shorter := without_asking_order(raw)) != raw:
                raw, note = shorter, "the customer gave the order number: the answer's request for it left out"
                notes += [note] if note not in notes else []
            # Converted around the values and the variables' names: a product name or a
            # customer's name is sent as the agent typed it (OpenCC would turn U盘 into 隨身碟).
            found: list[Slot] = []
            text, miss = fill(raw, values, lambda name: blank(name, blank_wording), convert, found)
            if (gap := _line_gap(texts, text, source, entry_spans, pos)) is not None:
                # An answer of several lines (steps, a list): kefu's words before or after it
                # go on their own line, and the line break ends its last line, no mark added.
                texts.append(gap)
                pos += len(gap)
            elif entry_spans and entry_spans[-1][1] == pos and (end := sentence_end("".join(texts), text)):
                # "…支持3期和6期免息" + "还有别的问题…": an answer without its own full stop
                # (after the entry's words only: kefu's own "「换货」呢？" is one sentence)
                texts.append(end)
                pos += len(end)
            if source == "entry":
                entry_spans.append((pos, pos + len(text)))
            missing += [m for m in miss if m not in missing]
            slots += [replace(f, start=pos + f.start, end=pos + f.end) for f in found]
            texts.append(text)
            pos += len(text)
        full = "".join(texts)
        if parts and parts[-1][1] == "kefu" and full.endswith(OPENER_ENDS):
            full = full.rstrip("".join(OPENER_ENDS))
            slots = [f for f in slots if f.end <= len(full)]  # a value cut short is no value
            full += "。"  # never leave an opener dangling
        return Draft(full, entry_ids, style, missing, self.safety.check(full, entry_spans), notes, slots)

    @staticmethod
    def _option(hit: Hit, u: Understanding) -> str:
        """`hit`'s option (see `option`), in mainland words for a simplified-script customer."""
        return option(hit, mainland=u.script != TRADITIONAL)

    @staticmethod
    def _answer(hit: Hit, parts: list, u: Understanding) -> tuple[str, str]:
        """The entry's answer, without its own salutation when kefu already opened, and
        without its 您好 when the customer was greeted already (亲 may stay)."""
        text = _EARLY_SALUTATION.sub(r"\1", SALUTATION.sub("", hit.answer)) if parts else \
            hit.answer if u.first_message else _GREETS.sub(_kept_address, hit.answer)
        return (text or hit.answer), "entry"

    def _opening(self, u: Understanding, key: str, parts: list, notes: list, greet: bool = True,
                 answer: str = "") -> None:
        upset = u.sentiment == "angry" or u.intent == "complaint"
        # A worried or upset customer, or one whose first message reports a problem (快递丢了,
        # 拉链坏了), hears empathy or an apology first, not "很高兴为您服务"; so does one whose
        # answer opens with an apology, which then comes first ("欢迎光临～…非常抱歉！").
        troubled = greet and u.first_message and (reports_problem(key) or u.reported)
        worried = upset or u.sentiment == "anxious" or troubled
        apologises = bool(_APOLOGISES.match(SALUTATION.sub("", answer)))
        if greet and u.first_message and not worried and not apologises:
            self._line("greeting_first", key, None, "first message of the conversation", parts, notes,
                       asks=False, script=u.script, said=u.said)
        if worried and apologises:
            notes.append("the answer opens with its own apology: no second one")
        elif u.waited and u.intent != "complaint":
            # sorry for the wait, not for a problem the customer did not report
            self._line("thanks_wait", key, "anxious" if upset else u.sentiment,
                       "the customer chased a reply → thanks for waiting", parts, notes, script=u.script, said=u.said)
        elif upset:
            self._line("apology", key, "angry", f"{u.sentiment}/{u.intent} → apology first", parts, notes,
                       script=u.script, said=u.said)
        elif u.sentiment == "anxious":
            self._line("empathy", key, "anxious", "anxious → empathy first", parts, notes, script=u.script, said=u.said)
        elif troubled:
            self._line("empathy", key, u.sentiment, "a problem reported → empathy first", parts, notes,
                       script=u.script, said=u.said)
        elif greet and u.first_message and apologises:
            notes.append("the answer opens with an apology: no cheerful welcome before it")

    # -- drafts ------------------------------------------------------------------------
    def warm(self, u: Understanding, hit: Hit, values: dict, key: str) -> Draft:
        parts, notes = [], []
        self._opening(u, key, parts, notes, answer=hit.answer)
        parts.append(self._answer(hit, parts, u))
        if u.intent == "complaint" and "主管" in to_simplified(hit.answer):
            notes.append("the answer already escalates to a supervisor: no escalation line")
        elif u.intent == "complaint":
            self._line("escalation", key, self._tone(u), "complaint → supervisor callback", parts, notes,
                       script=u.script, said=u.said)
        self._closing(u, key, [hit.answer], parts, notes)
        return self._finish(parts, u, values, [hit.entry_id], "warm", notes)

    def concise(self, u: Understanding, hit: Hit, values: dict, key: str, style: str = "concise",
                opener: bool = True) -> Draft:
        parts, notes = [], []
        if opener:
            self._line("greeting_later", key, self._tone(u), "short opener", parts, notes, stage="了解需求",
                       script=u.script, said=u.said)
        parts.append(self._answer(hit, parts, u))
        return self._finish(parts, u, values, [hit.entry_id], style, notes)

    def both(self, u: Understanding, first: Hit, second: Hit, values: dict, key: str,
             why: str = "the message asks two things: both answers") -> Draft:
        parts, notes = [], [why]
        self._opening(u, key, parts, notes, answer=first.answer)
        parts.append(self._answer(first, parts, u))
        # The second answer says which question it answers: "另外，可以的，…" left the
        # customer to guess what was allowed.
        parts += [("另外，关于「", "kefu"), (self._option(second, u), "entry"), ("」，", "kefu"),
                  self._answer(second, parts, u)]
        self._closing(u, key, [first.answer, second.answer], parts, notes)
        return self._finish(parts, u, values, [first.entry_id, second.entry_id], "both", notes)

    def clarify(self, u: Understanding, hits: list[Hit], values: dict, key: str) -> Draft | None:
        names = list(dict.fromkeys(self._option(h, u) for h in hits))[:3]
        if len(names) < 2:
            return None
        notes = [f"competing entries: {', '.join(h.entry_id for h in hits)}"]
        return self._asking("clarify", "选项", "请问您是想咨询{选项}呢？", self._tone(u), names, u, hits, values, key,
                            notes)

    def confirm(self, u: Understanding, hit: Hit, values: dict, key: str) -> Draft:
        """Asks whether the customer means `hit`'s topic ("您是想问「鞋码」，对吗？"): kefu is
        not sure enough to answer; a yes from the customer then gets that entry's answer."""
        notes = [f"not sure enough to answer: asks whether the customer means {hit.entry_id}"]
        return self._asking("restate", "问题", "您是想问{问题}，对吗？", self._tone(u), [self._option(hit, u)], u,
                            [hit], values, key, notes, style="confirm")

    def _asking(self, kind: str, slot: str, default: str, tone: str | None, names: list[str],
                u: Understanding, hits: list[Hit], values: dict, key: str, notes: list[str],
                style: str = "clarify") -> Draft:
        """A question back to the customer naming `names` in the `slot` of a `kind` line
        (see SLOTS), preferring lines that have it: one without cannot name them."""
        pattern = SLOTS[slot]
        lacking = re.compile(rf"^(?![\s\S]*{pattern.pattern})")
        phrase = self.phrases.pick(kind, key, tone, script=u.script, without=lacking)
        found = pattern.search(phrase.text) if phrase else None
        template = phrase.text if found else default
        if found:
            notes.append(f"话术 {phrase.id} ({kind})")
        found = found or pattern.search(default)
        before, after = template[:found.start()], template[found.end():]
        parts = [(before, "kefu")]
        for i, name in enumerate(names):
            joint = "" if i == 0 else "还是" if i == len(names) - 1 else "、"
            # The options are the entries' own words: a flag in them is the entry's.
            parts += [(joint + "「", "kefu"), (name, "entry"), ("」", "kefu")]
        parts.append((after, "kefu"))
        return self._finish(parts, u, values, [h.entry_id for h in hits], style, notes)

    def holding(self, u: Understanding, values: dict, key: str) -> Draft:
        parts, notes = [], ["no entry answers this message"]
        self._opening(u, key, parts, notes, greet=False)
        if not self._line("no_match", key, self._tone(u), "no good match: no invented answer", parts, notes,
                          script=u.script, said=u.said):
            parts.append((_DEFAULT_LINE["no_match"], "kefu"))
            notes.append("no suitable no_match line in the 话术 library: a built-in one")
        return self._finish(parts, u, values, [], "no_match", notes)

    def acknowledge(self, u: Understanding, values: dict, key: str) -> Draft:
        """A reply to what the customer tells or accepts once its question was answered (an
        order number, 照片发你了, 那我再等等): it takes note and keeps the case open, a
        closing line of stage 后续跟踪 (a built-in one for a library without one; an upset
        customer's may ask on: 您看还有其他要求吗？); the answer already sent is not sent again."""
        parts, notes = [], []
        unthanked = None if thanks(key) else _YOU_ARE_WELCOME
        self._line_or("closing", key, self._tone(u), "taken note, the answer was sent already: the case stays open",
                      _OPEN_LINE["us"], parts, notes, asks=self._tone(u) == "angry", stage=_OPEN_STAGE["us"],
                      whole=True, script=u.script, said=u.said, without=unthanked, exact=True)
        return self._finish(parts, u, values, [], "closing", notes)

    def received(self, u: Understanding, values: dict, key: str) -> Draft:
        """A reply to a photo, voice message or file sent mid-chat with nothing asked beside it
        ([图片]): it was received and is looked at (a `received` 话术 line, else a built-in one)."""
        parts, notes = [], []
        self._line_or("received", key, self._tone(u), "a photo or file sent: received", _RECEIVED_LINE, parts, notes,
                      whole=True, script=u.script, said=u.said)
        return self._finish(parts, u, values, [], "greeting", notes)

    def only(self, kind: str, style: str, u: Understanding, values: dict, key: str, agent: str = "",
             asked: bool = True, met: bool = False) -> Draft:
        """A whole reply to a message that only greets (greeting_first, or greeting_later
        mid-conversation: "在的，…") or only thanks (closing: you're welcome, goodbye).
        `agent`: the agent's latest turn, if any; thanks while it still waits for something
        from the customer (请把订单号发给我们) or promised a later step (核实后3个工作日内给您补发)
        gets a short reply that keeps the case open, no goodbye and no rating, unless it
        reports that what was pending is done (退款到账了，谢谢). `asked`: whether the customer
        has asked anything yet; "？" just after the welcome is not met with "还有什么问题…".
        `met`: the customer sent since what the agent asked for (照片发你了): the case waits
        on us, not on them."""
        parts, notes = [], []
        stage = "告别" if kind == "closing" else "接待"
        # "好吧" after an angry complaint, or a resigned "算了，谢谢", is no happy goodbye: a
        # follow-up line (one that asks on: "有进展会告诉您" suits no one who gave up), no rating.
        sober = kind == "closing" and (u.sentiment == "angry" or resigned(key))
        followed_up = sober and self._line(
            kind, key, u.sentiment,
            "thanks while upset → follow up" if u.sentiment == "angry" else "the customer gives up → follow up",
            parts, notes, question=True, stage="后续跟踪", whole=True, script=u.script, said=u.said,
            without=_NEWS_PROMISED if resigned(key) else None)
        # Lines left out while others are left: "好的" or "那我先拍照" thanks for nothing, no
        # "不客气" to it; nothing asked yet, no "还有什么…".
        skip = _YOU_ARE_WELCOME if kind == "closing" and not thanks(key) else \
            _STILL if kind == "greeting_later" and not asked else None
        # "到账了，谢谢" after the agent promised to check: what was pending is done.
        waiting = awaits(agent) if kind == "closing" and not sober and not settled(key) else None
        if waiting == "customer" and met or kind == "closing" and not sober and awaits_us(key):
            waiting = "us"  # the customer sent what was asked, or waits for our call: "好，我等电话"
        # "人呢" while the agent is at the case ("这边帮您查一下，请稍等"): it is being done, the
        # customer is not asked for more (not "再问一下": another question is announced).
        working = kind == "greeting_later" and not _ANNOUNCES.search(key) and awaits(agent) == "us"
        if working:
            self._line_or(kind, key, self._tone(u), "a nudge while the agent is at the case", _WORKING_LINE, parts,
                          notes, stage=_OPEN_STAGE["us"], whole=True, script=u.script, said=u.said, exact=True)
        elif waiting:
            why = "the agent still waits for the customer" if waiting == "customer" else "a step of ours is pending"
            self._line_or(kind, key, self._tone(u), f"{why}: the case stays open", _OPEN_LINE[waiting], parts, notes,
                          asks=False, stage=_OPEN_STAGE[waiting], whole=True, script=u.script, said=u.said,
                          without=skip, exact=True)
        elif not followed_up and not self._line(kind, key, self._tone(u), f"{u.intent} only", parts, notes,
                                                stage=stage, whole=True, script=u.script, said=u.said, without=skip):
            line = _DEFAULT_LINE.get(kind, _DEFAULT_LINE["greeting_later"])
            parts.append((line.replace("还有", "") if skip is _STILL else line, "kefu"))
            notes.append(f"no whole {kind} line in the 话术 library: a built-in one")
        if kind == "closing" and not sober and not waiting and not plans(key):
            self._line("rating", key, u.sentiment, "invite a rating", parts, notes, stage="告别", script=u.script,
                       said=u.said)
        return self._finish(parts, u, values, [], style, notes)

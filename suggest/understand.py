"""What a customer message is about: intent, conversation stage, sentiment, urgency, script.

Deliberately simple and measurable: small lexicons, then the retrieved entry's
category when the words say nothing. `bench/intents.py` prints its confusion matrix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kefu.kb.text import normalize

INTENTS = ("greeting", "presale", "order", "logistics", "aftersale", "complaint", "thanks")
STAGE = {"greeting": "接待", "presale": "了解需求", "order": "确认订单", "logistics": "后续跟踪",
         "aftersale": "提供解决方案", "complaint": "提供解决方案", "thanks": "告别"}
CATEGORY_INTENT = {"售前": "presale", "账户": "presale", "售中": "order", "售后": "aftersale",
                   "投诉": "complaint"}

# Lexicons work on normalised (simplified, lower-case) text.
_GREETING = re.compile(r"^(?:在吗|在不在|在么|有人吗|有人在吗|你好|您好|hi|hello|哈喽|嗨|亲|亲亲|客服|老板|"
                       r"小姐姐|请问|早上好|晚上好|下午好|[\s,.!?~，。！？、…]|[^\w\s])+$")
_THANKS = re.compile(r"^(?:好的|好|嗯嗯?|ok|okay|谢谢|多谢|谢啦|thx|thanks|收到|明白了?|知道了|了解了?|"
                     r"没有了|没事了|没问题了|拜拜|再见|辛苦了?|麻烦了|那就这样|就这些|亲|哈|啦|呀|吧|"
                     r"[\s,.!?~，。！？、…]|[^\w\s])+$")
_COMPLAINT = re.compile(r"投诉|差评|12315|举报|主管|经理|领导|骗子|骗人|垃圾|什么破|态度|太差|坑人|"
                        r"黑店|维权|曝光|赔偿|给个说法|受不了|恶心|气死|无语")
_LOGISTICS = re.compile(r"快递|物流|发货|到货|包裹|签收|运单|单号|派送|配送|驿站|快递柜|顺丰|中通|韵达|"
                        r"寄到|几天到|没收到|没到|丢件|送到|集运|超商取货|宅配")
_AFTERSALE = re.compile(r"退货|换货|退款|退钱|退回|退换|维修|保修|坏了|破损|质量|瑕疵|线头|色差|缩水|"
                        r"褪色|掉色|起球|售后|仅退款|寄回|不合适|退差价")
_ORDER = re.compile(r"付款|支付|付不了|扣款|扣了|花呗|分期|发票|开票|抬头|税号|统编|改地址|修改地址|"
                    r"地址写错|改订单|取消订单|不想要了|下单|拍下|合并|拆单|订单")
_ANGRY = re.compile(r"投诉|差评|12315|骗子|骗人|垃圾|什么破|太差|坑人|黑店|气死|恶心|无语|滚|"
                    r"搞什么|什么玩意|有病|[!！]{2,}|怎么回事[!！?？]")
_ANXIOUS = re.compile(r"急|着急|赶紧|快点|尽快|马上|赶时间|等不了|还没|怎么还|催|担心|害怕|怕|"
                      r"到底|今天能|明天能|[?？]{2,}")
_URGENT = re.compile(r"急|马上|立刻|赶紧|尽快|今天必须|等不了|赶时间|明天就要|来不及")


@dataclass
class Understanding:
    intent: str
    stage: str
    sentiment: str  # calm / anxious / angry
    urgency: str  # normal / high
    script: str
    first_message: bool


def understand(message: str, category: str | None = None, first_message: bool = True) -> Understanding:
    """Classify a customer message; `category` is the top retrieved entry's, if any."""
    norm = normalize(message)
    text = norm.text
    sentiment = "angry" if _ANGRY.search(text) else "anxious" if _ANXIOUS.search(text) else "calm"
    if _GREETING.match(text):
        intent = "greeting"
    elif _THANKS.match(text):
        intent = "thanks"
    elif _COMPLAINT.search(text):
        intent = "complaint"
    elif _AFTERSALE.search(text):
        intent = "aftersale"
    elif _LOGISTICS.search(text):
        intent = "logistics"
    elif _ORDER.search(text):
        intent = "order"
    else:
        intent = CATEGORY_INTENT.get(category or "", "presale")
    urgency = "high" if sentiment == "angry" or _URGENT.search(text) else "normal"
    return Understanding(intent, STAGE[intent], sentiment, urgency, norm.script, first_message)

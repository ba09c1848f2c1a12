"""What a customer message is about: intent, conversation stage, sentiment, urgency, script.

Deliberately simple and measurable: small lexicons, then the retrieved entry's
category when the words say nothing. `bench/intents.py` prints its confusion matrix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from kefu.kb.text import GIVEN_NUMBER, MENTION, STICKER, Normalized, as_meant, for_matching, normalize, pasted_alone

INTENTS = ("greeting", "presale", "order", "logistics", "aftersale", "complaint", "thanks")
SENTIMENTS = ("calm", "anxious", "angry")  # in rising order
STAGE = {"greeting": "接待", "presale": "了解需求", "order": "确认订单", "logistics": "后续跟踪",
         "aftersale": "提供解决方案", "complaint": "提供解决方案", "thanks": "告别"}
# A greeting or a thank-you has no answer to find: no entry answers it (the assistant flags
# it no match), it is no gap, and no-match figures leave it out.
CHIT_CHAT = ("greeting", "thanks")
CATEGORY_INTENT = {"售前": "presale", "账户": "presale", "售中": "order", "售后": "aftersale",
                   "投诉": "complaint"}
# A shop's own category says an intent only when its name does (退换货, 物流配送, 订单支付, 投诉建议);
# 过敏, 保质期 or 食品安全 hold pre-sale questions as well as problems: the words must say which.
# So do 发货须知, 支付方式, 付款方式 and 发票 (能用信用卡吗, 能开专票吗 are asked before buying).
_CATEGORY_WORDS = (("complaint", re.compile(r"投诉")),
                   ("aftersale", re.compile(r"售后|退换|退货|换货|退款|维修|保修|质量问题|破损")),
                   ("logistics", re.compile(r"物流|快递|配送")),
                   ("order", re.compile(r"订单")))


@lru_cache(maxsize=32)  # every lexicon helper reads the message; read once (Normalized is frozen)
def _read(message: str) -> Normalized:
    """`message` as the lexicons read it: `normalize`d, without the lines a chat app pasted with
    it (`for_matching`: an order card's 状态：退款中 or a title's 破洞款 is no customer's word). A
    card alone says no more than its order number (what the agent asked for)."""
    if pasted_alone(message):
        return normalize(" ".join(m.group() for m in GIVEN_NUMBER.finditer(normalize(message).text)))
    return normalize(for_matching(message))


def category_intent(category: str | None) -> str:
    """The intent an entry's category says: a standard category's, or one its name says (a
    shop's own 退换货 is after-sale), else pre-sale."""
    name = normalize(category or "").text
    if name in CATEGORY_INTENT:
        return CATEGORY_INTENT[name]
    return next((intent for intent, words in _CATEGORY_WORDS if words.search(name)), "presale")


# Lexicons work on normalised (simplified, lower-case) text.
# 在不 is chat typing for 在不在 (客服在不), not the 在不 of 现在不发货, 实在不行.
_GREETING = re.compile(r"还在不在|在吗|在嘛|在没|在不在|(?<![现正实存自好所])在不(?![\u3400-\u9fff])|在么|在线吗|在线|还在|有人吗|有没有人|有冇人|有人在吗|有人|"
                       r"有客服吗|客服|你好|您好|hi|hello|哈喽|哈啰|嗨|亲亲|亲|请问|小姐姐|早上好|晚上好|下午好")
# Openers that greet only when nothing else is said (老板在吗, 喂, 早, 您好，麻烦问一下, 人呢,
# 快点的 (a nudge), 想问点事, 打扰一下, 喂，听得到吗: a voice caller's opener, after 喂 only):
# "老板，有吗？", "早到吗", "喂猫", "问一下退", 听得到吗 (耳机听得到吗) say something.
_OPENER = re.compile(r"喂+[\W_]*(?:你好|您好)?[\W_]*(?:能|可以)?听得?[到见]了?(?:吗|么|不|没)|"
                     r"(?:老板娘?|掌柜的?|店家)好?|喂+|早安|早|人(?:呢|去哪了?|哪去了)|(?:快点|赶紧)(?:的|儿)?|"
                     r"我?(?:还|另外|再|想)?(?:有|问|请教|咨询)(?:一个|一件|一|个|件|几个|一点|点|些)?(?:问题|事情|事儿?)"
                     r"(?:想|要)?(?:问|请教|咨询)?(?:一?下)?(?:你|您)?|"
                     r"再问(?:一?下|一句)|(?:麻烦|请|想|我想)?(?:问|请教|咨询)一?下|打扰(?:一下|了|啦)")
# A voice message's fillers (语音输入: 嗯, 呃, 那个, 就是说), which say nothing before a greeting:
# 嗯嗯你好啊, 那个在吗 and 呃那个你好请问一下 greet, and drew a holding line as a question.
# Not 那个 or 就是 asking (亲那个呢, 就是这个吗 ask about a thing).
_VOICE_FILLER = re.compile(r"嗯+|恩+|呃+|额+|唉+|哎+|emm+|(?:那个|就是说?|然后)(?![呢吗么嘛])")
# ... and a chat app's stickers ([微笑], [捂脸]: see STICKER), which say no more than an emoji,
# and @mentions (@青禾优选 在吗: see MENTION), which name who is asked.
_FILLER = re.compile(rf"{STICKER.pattern}|{MENTION.pattern}|[啊呀吧呢嘛哦哈么吗~\s\W_]")
# ... but for those that say goodbye, thank or acknowledge ([再见], [玫瑰], [抱拳], [OK], a thumbs-up
# [强] or [赞]): read as the words they stand for, "[再见]" alone is no greeting to answer.
_STICKER_SAYS = {"再见": "再见", "拜拜": "再见", "挥手": "再见", "玫瑰": "谢谢", "抱拳": "谢谢", "谢谢": "谢谢",
                 "感谢": "谢谢", "ok": "ok", "好的": "好的", "强": "好的", "赞": "好的"}
_SAYING_STICKER = re.compile(rf"\[({'|'.join(_STICKER_SAYS)})\]")


def _stickers_said(text: str) -> str:
    """`normalize`d text with the stickers that say goodbye, thanks or OK as those words, when
    the message says nothing else but an acknowledgement (好的[再见], 收到[强]): beside a request
    [抱拳] asks politely ([抱拳]麻烦快点发货), and [再见]再也不来了 is no goodbye with thanks."""
    if "[" not in text or not _SAYING_STICKER.search(text):
        return text
    if (rest := _FILLER.sub("", text)) and not _ACK.fullmatch(rest):
        return text
    return _SAYING_STICKER.sub(lambda m: _STICKER_SAYS[m[1]], text)
# 唔该 beside a greeting is Cantonese "excuse me", opening the talk (你好 唔该, 唔该，有人吗);
# alone, after 好/ok, or as 唔该晒 / 唔该你, it thanks.
_EXCUSE_ME = re.compile(r"唔该(?![晒哂嗮你您亲])")
# Thanks as typed in chat: 3Q, 蟹蟹 (xiè xiè), 感恩 (not 感恩节, a sale), thx, tks, ty.
_THANK_SLANG = r"(?<![a-z0-9])(?:3q|thx|tks|ty)(?![a-z0-9])|感恩(?!节)|(?<!蟹)蟹蟹(?!蟹)"
# Giving up on the talk (算了 不想说了, 不想问了): a goodbye of a kind, read by _THANKS and _RESIGNED.
_GIVE_UP_TALK = r"不想?(?:说|问|聊)了"
# Thanks and goodbyes anywhere in a short message that asks and reports nothing; 88 only
# at the end ("走了 88", not "88元那款").
_THANKS = re.compile(rf"谢|感谢|多谢|唔该|thank|{_THANK_SLANG}|拜拜|再见|掰掰|(?<![a-z])bye|(?<![\d.])88(?=[\W_]*$)|"
                     r"没有其他问题|没其他问题|没问题了|没事了|解决了|祝你|辛苦了|麻烦(?:你|您|亲)?(?:了|啦)|那就这样|就这些|"
                     rf"{_GIVE_UP_TALK}")
# A bare acknowledgement (好的, 收到) is thanks only when nothing else is said: "收到的杯子是碎的"
# and "嗯，衣服起球了" report a problem.
_ACK = re.compile(r"好的|好滴|好嘞|好|行|嗯+|收到了?|知道了|明白了|了解了|懂了|原来如此|原来是这样子?|ok|okay|不用了|没有了|亲|了|啦")
# What the customer learned from the agent's answer, said back beside 知道了 or 明白了: "哦 原来要满199
# 知道了" is an acknowledgement (it was answered with the full-reduction rules again), not a question.
_LEARNED = re.compile(r"原来[^，,。.!！?？~～\s]*")
_UNDERSTOOD = re.compile(r"知道了|明白了|了解了|懂了|晓得了")
# Asked without a question mark too, in Cantonese as well (唔該 想問下寄香港要幾耐, 唔該 有冇M碼: 唔該 is
# "excuse me" there, no thanks): 想问, 几时/几点/几号/几耐/几多, 有冇, 点计/点样, 边个, 可唔可以, 系唔系.
# Not inside other words: 不想问了 gives up, 几点都在家 says any time, 有点样子, 早点解决, 这边处理.
_ASKING = re.compile(r"[?？]|吗|怎么|啥|咋|能不能|可不可以|有没有|多少|能否|是否|多久|几天|什么|哪|为什么|还没|帮我|要求|退|换|"
                     r"(?<![不别])想问|几[时点号耐多](?![都也])|有冇|(?<![一有早快晚多少好差])点(?:计|样|算|解(?!决)|办)|"
                     r"(?<![这那])边(?:个|度|间)|可唔可以|系唔系|系咪|"
                     r"没收到|没有收到|[未冇]收到|收唔到|坏|破|不对|漏|碎|洞|少了|缺|发错|错发|弄错|搞错|寄错|起球|脏|但是|可是|不过")
# Denied, a word says the opposite: 不是要投诉, 没让我失望.
_NO = r"(?<![不没别])(?<!不是)(?<!不想)(?<!不会)(?<!不是要)(?<!不是想)(?<!没让我)(?<!不让我)(?<!没有让我)"
# 主管, 经理, 负责人, 态度, 赔偿 alone are not complaints ("采购经理", "你们的负责人是谁，想谈合作",
# "客服态度真好", "运费险怎么赔偿"); asking for one is (找你们负责人, 叫你们经理来, 转主管).
_ASK_BOSS = r"(?:找|叫|让|要|换|转)(?:你们的?)?(?:主管|经理|领导|负责人|店长)|你们(?:主管|经理|领导|负责人|店长)"
# Being ripped off (坑 as "cheat"): 太坑了, 被坑了, 坑我, 坑老客户. Not 踩坑 (a pitfall one asks how
# to avoid), 坑位 or 坑洼.
_RIPOFF = r"(?:太|好|真|巨|很|超|这么|那么|也太|被|又被)坑(?!位|洼)|坑(?:人|爹|钱|我|了我|老?(?:顾客|客户|买家|消费者|用户))"
# Leaving never to come back (再也不来了, 再也不会买了, 以后不会再来了): a farewell in anger, not
# thanks, whatever goodbye goes with it ([再见]再也不来了). Not 下次不会再买错了, nor loyalty or thanks
# (以后再也不买别家的了, 以后不会再来麻烦你们了), nor someone else's words (快递说他以后不会再来了): the
# match starts at its 以后 / 永远, so what stands before that tells who speaks.
_NEVER_AGAIN = (r"(?<![说讲])(?<![说讲][他她它])(?<![说讲][他她]们)(?<!告诉我)"
                r"(?:(?:(?:以后|永远)(?:都|也)?|(?<!以后)(?<!永远))再也不(?:会|想|要)?|"
                r"(?:以后|永远)(?:都|也)?不(?:会|想|要)?再|我(?:也|都)?不会再)"
                r"(?:来|买|光顾|回购)(?!错|别家|别的|其他|其它|麻烦)")
_COMPLAINT = re.compile(rf"{_NO}投诉|差评|12315|举报|{_ASK_BOSS}|{_RIPOFF}|{_NEVER_AGAIN}|骗子|骗人|骗钱|垃圾|什么破|"
                        r"态度(?:差|太差|很差|好差|恶劣|不好|真差)|(?:什么|咩|乜)态度|黑店|维权|曝光|"
                        r"(?:要求|必须|给我|要你们|你们得)赔偿|给个说法|消协|黑猫|客诉|负评|虚假宣传|赔三|假一赔|升级处理|"
                        r"这样对待|这么对待|对待顾客|对待客户|"
                        # the service complained of: 一直敷衍, 踢皮球, 已读不回, 能不能走点心, 好欺负,
                        # 全是套路, 反映了好几次; asking for an explanation owed: 给我个交代, 合理的解释
                        r"敷衍|踢皮球|推卸责任|推来推去|爱答不理|爱理不理|已读不回|走点心|用点心|好欺负|"
                        r"欺负(?:人|消费者|顾客|老实人)|(?:全|都)是套路|被套路|套路太深|"
                        r"反映(?:了|过)?(?:好|几|多|很多|[二三四五六七八九十两\d])+次|"
                        r"给(?:我|个|我个|我一个)(?:说法|交代)|合理的?解释")
# Complaint words that complain of nothing: a complaint denied (不是要投诉, 没有要投诉的意思,
# 不会给差评; not when a 但是 follows, nor in a threat asked: 要不要投诉你们才肯退), a guarantee
# asked about (假一赔十吗, 是不是退一赔三), a bad review the customer wants to take back
# (差评能删吗: then 之前给了差评 is settled too).
_DENIED = re.compile(r"(?<![是要])(?:不|没|没有|并不|并没有|不是|并不是|无意)(?:是|要|想|打算|准备|会|来|去|给|用)*"
                     r"(?:投诉|客诉|举报|差评|负评)(?![^。！!？?]*(?:但|可是|不过))")
_GUARANTEE = re.compile(r"(?:是不是|是否|有没有)?(?:假|退)一赔[一二三四五六七八九十几\d]+(?:[吗嘛么呢?？]|不|没有?)|"
                        r"(?:是不是|是否|有没有)(?:假|退)一赔")
_REVIEWS = re.compile(r"差评|负评|中评")
_REVIEW_UNDO = re.compile(r"(?:删|改|撤|撤回|撤销|取消|修改)(?:掉|除|回|成)?(?:了|个|下|一下)?(?:之前的|我的|那个|这个)?"
                          r"(?:差评|负评|中评)|(?:差评|负评|中评)(?:能|可以|可不可以|能不能|怎么|如何|还能)?"
                          r"(?:删|改|撤|取消|修改)")
# A business inquiry (谈合作, 批发, 加盟): asking for the person in charge is no complaint then.
_BUSINESS = re.compile(r"谈合作|想合作|商务合作|寻求合作|洽谈合作|合作洽谈|代理|加盟|批发|招商|供货|入驻")
_BOSS_ASKED = re.compile(_ASK_BOSS)
# The callback a complaint was promised, asked after (主管什么时候联系我, 经理多久给我回电): a
# complaint entry answers it.
_CALLBACK = re.compile(r"(?:主管|经理|领导|负责人|店长)[^，,。！!？?]{0,8}?(?:联系|回电|来电|打电话|电话|回复|答复)")
# A customer saying sorry for their own tone (刚才态度不好不好意思, 抱歉我刚才语气冲了, 刚才有点激动): the
# 态度不好 is theirs, no complaint of the shop's (你们客服态度不好，不好意思我直说了 is one), nor
# the shop's tone and a sorry it did not say (你们客服刚才态度很差，连句对不起都没有).
_SORRY = r"(?:不好意思|抱歉|对不起|见谅|别介意|sorry)(?![^，,。！!？?]{0,2}?[都也]?(?:不会|没|不说|不肯))"
_OWN_TONE = (r"(?<!你们)(?<!客服)(?<![你您他她])(?:我|刚才|刚刚|方才)(?:刚才|刚刚)?(?:的?(?:态度|语气|口气|说话)[^，,。！!？?你们客服]{0,4}(?:不好|差|冲|重|急)|"
             r"(?:有点|有些|太|比较)?(?:激动|冲动|急了|上头))")
_OWN_TONE_SORRY = re.compile(rf"{_OWN_TONE}(?=[^。！!？?]{{0,8}}(?:{_SORRY}))|(?:{_SORRY})[^。！!？?]{{0,6}}?{_OWN_TONE}")


def _meant(text: str) -> str:
    """`text` without the complaint words that complain of nothing (see _DENIED, and a
    manager asked for in a business inquiry): what the complaint and anger lexicons read."""
    if _REVIEW_UNDO.search(text):
        text = _REVIEWS.sub("评价", text)
    if _BUSINESS.search(text):
        text = _BOSS_ASKED.sub(" ", text)  # 想找你们经理谈批发
    text = _OWN_TONE_SORRY.sub(" ", text)
    return _GUARANTEE.sub(" ", _DENIED.sub(" ", text))


def disclaims(message: str) -> bool:
    """True when the message says it is no complaint although a complaint entry may match
    it: it denies complaining (不是要投诉，就是想问问…), asks about a guarantee (假一赔十吗)
    or is a business inquiry (负责人是谁，想谈合作)."""
    text = _read(message).text
    return not _COMPLAINT.search(_meant(text)) and not _angry(_meant(text)) and bool(
        _DENIED.search(text) or _GUARANTEE.search(text) or _BUSINESS.search(text))


# A message that is no customer's at all: a job application (我想应聘你们的客服, 你们招不招兼职客服,
# 你們還在徵人嗎) or a business offer (你们还招代理吗 想了解一下, 我们是工厂可以给你们供货, 想和你们合作
# 推广, 需要刷好评吗). It matched entries on the words it shares with them (the complaint entry's
# apology and a supervisor's callback on 客服, the service hours on 兼职客服). Read clause by
# clause, each clause whole: a shop question merely holding one of the words (你们和顺丰合作吗,
# 跟你们合作的快递是哪家, 联名款还有货吗, 能用招商分期吗, 我在做兼职，快递能放驿站吗) is a customer's,
# and so is a message that asks one beside an offer (你们招兼职吗？另外我的订单什么时候发货).
_YOU = r"(?:你们|你|您|贵店|贵司|贵公司|贵方|贵品牌|店里|店铺|你们店里?|你们家|你家|你们公司|你们这边?|咱们?家?)"
_JOB = (r"(?:兼职|全职|长期|临时)?(?:客服|主播|店员|美工|运营|打字员|学徒|员工|人手|人员|人|模特|助理|文员|仓管|"
        r"打包员|小时工|临时工|兼职|设计师?|摄影师?)(?:人员|岗位|职位|工作)?")
_PITCH_TO = rf"(?:{_YOU}(?:的|家的?)?)"
_OFFERS = (
    # applying: 我想应聘你们的客服, 想应征客服人员, 我想求职
    rf"我?(?:想|要|来|想来|打算)?(?:应聘|应征|求职)(?:一下)?{_PITCH_TO}?(?:{_JOB})?",
    # asking for work: 你们招不招兼职客服, 还招人吗, 你们有在征人吗, 有缺人吗, 招主播吗
    rf"{_YOU}?(?:现在|最近)?(?:还|有没有|有)?(?:在)?(?:招|招不招|招聘|征|缺|缺不缺)(?:{_JOB})",
    # the post first: 客服岗位还招人吗 (客服 read as a greeting's, as in 客服在吗), 你们兼职还招吗, 主播缺不缺人
    rf"(?:{_PITCH_TO})?(?:{_JOB}|岗位|职位)(?:现在|最近)?(?:还|有没有|有)?(?:在)?(?:招|招不招|招聘|征|缺|缺不缺)(?:{_JOB})?",
    rf"我?(?:想|可以|能)?(?:来|去|到){_YOU}(?:这里?|那里?|店里)?(?:上班|工作|打工|做兼职)",
    r"我?(?:想|要)(?:找|做|干|接)(?:个|份|点)?兼职(?:工作)?",
    r"(?:我|可以|能|怎么|要)?(?:把|投|发|递|寄)?(?:个|一份|份|一下|下)?(?:我的)?简历(?:要|可以|能)?(?:发|投|寄|给|交)"
    r"(?:到|给)?(?:哪|哪个|哪里|哪儿|什么|谁)?(?:邮箱|地址|地方|人)?(?:比较好|合适)?",
    # cooperation offered: 想和你们合作推广, 想跟贵店谈合作, 商务合作请联系我
    rf"(?:我们|我司|我)?(?:想|希望|可以|能|要|想要)?(?:跟|和|与|同){_YOU}(?:谈谈?|聊聊?|洽谈|进行|达成|开展|建立)?"
    r"(?:一下|下|个|些|一些)?(?:长期)?(?:商务|带货|直播|推广|供货)?合作(?:一下|推广|供货|带货|直播)?",
    r"(?:想|希望|寻求|洽谈|商务|谈|有意)?合作(?:请|可|可以|欢迎|要|怎么|如何)?(?:联系|找|加|私聊)(?:我|我们|谁|微信|v|vx)?",
    r"(?:想|希望|寻求)?(?:谈|洽谈|商务|寻求)合作|合作洽谈|(?:带货|直播|达人|主播|推广|寄样)合作",
    # becoming an agent or franchisee: 招代理吗, 想做你们家的代理, 想加盟你们, 加盟费多少
    r"(?:你们)?(?:还)?(?:招|招不招|收)(?:代理|代理商|经销商|分销商?|加盟商?)",
    rf"我?(?:想|要|怎么|如何|可以|能)?(?:做|当|成为|申请|加入)(?:{_PITCH_TO})?(?:代理|代理商|经销商|分销商|加盟商)",
    rf"我?(?:想|要|怎么|如何|可以|能|申请)加盟{_YOU}?(?:的?品牌)?|加盟(?:费|条件|政策|流程)(?:多少|是多少|怎么收|是什么|有哪些)?",
    # supplying: 我们是工厂可以给你们供货, 我们工厂可以给你们供货
    rf"(?:我们|我司|本公司|我们公司|我们工厂|我们厂|我们这边|本厂|厂家|工厂)(?:是)?(?:工厂|厂家|源头厂家|源头工厂)?"
    rf"(?:可以|能|能够|想|专业|直接|长期)?(?:给|为|帮)?{_YOU}?(?:长期)?(?:供货|供应|提供货源|代工|贴牌|oem)",
    # promotion and fake reviews offered: 帮你们店铺做推广, 需要刷好评吗
    rf"(?:帮|给|为){_YOU}(?:店铺)?(?:做|免费做)?(?:推广|引流|代运营|运营|刷单|刷销量|刷好评)",
    rf"{_YOU}?(?:需要|要不要|需不需要|提供|承接|专业)(?:刷单|刷好评|刷销量|刷评价|代运营|推广服务|店铺推广|引流|"
    r"广告投放|投放广告|投广告)(?:服务)?",
    r"(?:日赚|日入|月入|躺赚|轻松赚)[\d一二三四五六七八九十百千万几]+(?:元|块)?",
)
# What comes with an application or an offer, and says nothing else: who writes (我们是工厂, 我们是
# 做直播带货的), experience, terms asked, prices offered, a contact asked for (麻烦回覆, 加个微信),
# the post or kind of work wanted (做客服, 在家打字那种), haste (急, 在线等).
# Never a clause of its own: 有什么条件 alone may ask of free shipping, 急 of a parcel.
_PITCH = (r"(?:我们|我司|我们这边|我这边|我)(?:是|这边是)(?:一家)?(?:专业)?(?:做)?[^,]{0,8}?"
          r"(?:工厂|厂家|公司|机构|团队|工作室|mcn|供应商|服务商|的)",
          r"(?:我|本人)?有[\d一二两三四五六七八九十几多]*年?(?:的)?(?:相关)?(?:工作)?经验",
          r"(?:有|需要|要)什么(?:条件|要求)|(?:条件|要求)是什么|(?:待遇|工资|薪资|薪水|底薪|提成)(?:怎么样|如何|多少|是多少|怎么算)?",
          r"(?:价格|价钱)(?:好商量|可谈|可以谈|优惠|从优|美丽|实惠|便宜|低)|量大从优|(?:支持|可以?)(?:一件)?代发|(?:怎么|如何)合作",
          r"欢迎(?:咨询|联系|合作|洽谈)|期待(?:您的|你的)?(?:回复|合作)|(?:麻烦|请|盼)(?:尽快)?(?:回复|联系我?)",
          r"有意(?:向)?(?:的话)?(?:请)?(?:联系|回复|私聊|加微信)(?:我)?|(?:加|留)(?:个|一下)?(?:微信|vx|v|联系方式|电话)",
          r"(?:要|想)?了解一下|感兴趣(?:的话)?|[\d一二三四五六七八九十几两半]+(?:毛|块|元)钱?一(?:条|单|个)|"
          r"在家(?:就能|就可以|也能|可以)?(?:做|赚钱|操作)|时间自由|(?:提升|提高|增加)(?:店铺)?(?:销量|流量|排名)|"
          r"谢谢|感谢|麻烦了",
          rf"(?:做|当|干)(?:{_JOB})|(?:在家|线上|网上|手机上)(?:打字|录入|做|干|操作)?的?那种(?:工作|兼职)?"
          r"(?:可以|行|也行|也可以)?",
          r"(?:很|挺|非常|特别|比较)?急+|在线等|急用钱")
_OFFER = re.compile("|".join(f"(?:{p})" for p in _OFFERS))
_PITCH_DETAIL = re.compile("|".join(f"(?:{p})" for p in _PITCH))
_PITCH_CLAUSE = re.compile(r"[^,.!?;:~\s。]+")
_PITCH_HELLO = re.compile(r"^(?:(?:你好|您好|hi|hello|哈啰|哈喽|嗨|亲亲|亲|请问|老板娘?|掌柜的?|店家|客服|在吗|在不在|"
                          r"打扰(?:一下|了)|冒昧问一下|麻烦问一下|想问一下|问一下)(?:呀|啊|哈)?)+")
_PITCH_END = re.compile(r"(?:要不要|需不需要|[吗么嘛呢啊呀吧哦哈])+$")


def not_for_us(message: str) -> bool:
    """True for a message that is no customer's question but a job application or a
    business offer (我想应聘你们的客服, 你们招不招兼职客服, 我们是工厂可以给你们供货): every clause
    is one whole (see _OFFERS), a greeting, or what comes with one (我有三年经验, 价格好商量).
    No entry answers it; a shop question sharing its words (你们和顺丰合作吗) is a customer's."""
    offered = False
    for clause in _PITCH_CLAUSE.findall(_read(message).text):
        clause = _PITCH_END.sub("", _PITCH_HELLO.sub("", clause))
        if not clause:
            continue  # a greeting (你好, 老板你好, 请问)
        if _OFFER.fullmatch(clause):
            offered = True
        elif not _PITCH_DETAIL.fullmatch(clause):
            return False
    return offered


def offer_unanswered(message: str, hit) -> bool:
    """Whether `hit` (a search hit, or None) leaves `message` unanswered: a job application or
    a business offer is answered only by an entry written for one (你们招人吗, 商务合作怎么联系),
    never by one sharing its words (the service hours' 客服). The assistant and gap mining both
    decide it so."""
    return not_for_us(message) and not (hit and (not_for_us(hit.matched) or not_for_us(hit.question)))


_ORDER = re.compile(r"付款|支付|付不了|扣款|扣了|花呗|分期|发票|开票|抬头|税号|统编|改地址|修改|地址填错|"
                    r"地址写错|改成|换成|改一下|取消|拍重复|重新拍|下错|拍错|合并|拆单")
# 在哪 asks where a parcel is only of the goods (我的货在哪, 在哪里了), not where to find
# something (新人券在哪领, 发票在哪下载).
_LOGISTICS = re.compile(r"快递|物流|发货|到货|包裹|签收|运单|单号|派送|配送|驿站|快递柜|顺丰|中通|韵达|寄到|"
                        r"几天到|几天能到|要几天|发到|发出|发了没|运输中|到哪|(?:货|东西|单子?|件)(?:现在|目前|到底)?在哪|"
                        r"在哪(?:里|儿)?了|出货|寄出|没收到|[未冇]收到|收唔到|没到|丢件|送到|集运|超商取货|宅配|"
                        # delivery promises and the parcel's way: 次日达, 还在打包, 明天能到北京吗,
                        # 几天会到, 快点发 (not 没发票, 没发现, 发给我)
                        r"次日达|当日达|隔日达|时效|打包|揽收|揽件|几天(?:能|会|可以|才能|就能)?到|"
                        r"(?:今天|明天|后天|当天|周[一二三四五六日末]|几号)(?:能|可以|会|就|才)?(?:送)?到(?![账帐期])|"
                        r"(?:快点|快|早点|赶紧|尽快|马上|今天|明天|几时|什么时候|啥时候|还不|还没|没有?|根本没)"
                        r"发(?![票错给现言表布])")
# A device's faults, one list read by after-sale (_AFTERSALE), "!!" (_GRIEF), problems reported
# (_GONE_WRONG) and the same asked before buying (_ASKED_BEFORE): 耳机左耳没声音了, 手机黑屏了, 一直
# 重启 (not 重启一下), 充不上电, 卡顿, 耗电特别快 (not 耗电快不快, asked). Not denied: 不卡顿, 没有杂音.
_DEVICE_FAULT = (r"(?<![不没无])(?<!没有)(?:没有?声音|没了声音|黑屏|花屏|蓝屏|白屏|死机|"
                 r"(?:一直|自动|反复|无限|老是|总是|经常|频繁|不停|动不动就)重启|重启了?[好几两三]+[次回遍]|"
                 r"自动关机|开不了机|无法开机|闪退|卡顿|卡死|充不进电|充不上电|充不了电|无法充电|连不上|连接不上|断连|"
                 r"没有?信号|无信号|坏点|漏光|鼓包|杂音|电流声|进水(?![口管阀])|不灵了|发烫了|烫手|"
                 r"(?:耗电|掉电)(?:很|特别|太|好|非常)?快(?!不快)|"
                 # the shop's small appliances: a hair dryer 不出热风, a toothbrush 不震了, a juicer
                 # 转不动; 不转了 and 不热了 only of a machine named before them (榨汁机不转了, 空气炸锅
                 # 用了一个月不热了), not the weather (最近不热了) nor a transfer (钱先不转了)
                 r"不出(?:热|冷)?风|只出冷风|转不动|不(?:震|振)(?:动)?了|加热不了|启动不了|"
                 r"(?:机|锅|壶|扇|刷|器|煲|炉|箱|毯)[^，,。！!？?]{0,10}?不(?:转|发?热)了)")
# The faults of other trades' goods (a shop's own categories map to no intent, so the words
# must say it): food and fresh goods (发酸, 哈喇味, 不新鲜, 化冻了, 漏液, 螃蟹死了一半), cosmetics
# (分层, 结块), furniture (桌子腿晃, 少了两颗螺丝, 关不上, 歪的, 塌了), network devices (掉线), pet
# goods (一碰就散, 是散的), books (印反了, 缺页, 折了一个角, 封面折角, 有折角; not 打八折了, 折角设计).
# Not a word holding one (稳不稳, 不稳定 unless it keeps cutting out: 老是断, 过期时间, 我漏了填地址,
# 怎么化冻 but 已经化冻). 过期 is the goods' only
# where _goods leaves it (优惠券过期了 and 活动过期了吗 are no product's).
_TRADE_FAULT = (r"(?<![不没无])(?:过期(?!时间|日期)|临期|发酸|酸了|酸味|馊|哈喇|不新鲜|发臭|臭了|烂了|烂掉|腐烂|"
                r"(?:化冻|解冻)了|(?:已经|都|全)(?:化冻|解冻)|融化|化成水|(?:都|全)化了|漏液|漏油|漏气|(?<![我你他她们])漏了(?![发填拍写])|分层|结块|"
                r"死了(?:一半|好几|几|[\d一二两三四五六七八九十]+[只个条])|(?<![人服们])(?:全|都)死了|"
                r"(?<!会)(?<!容易)摇?晃(?!眼)(?:得|了|动|悠)|(?<!稳)不稳(?!定)了?|(?:老是|经常|总是|一直|老)断(?:开|网|线)?|少了?[\d一二两三四五六七八九十几]+[颗根片条本只张页袋]|"
                r"(?:少|缺)螺丝|螺丝[^，,。！!？?]{0,3}(?:少|缺|不够)|(?:关|合|拉|推|锁)不上|(?<![不没])是?歪的|歪了|塌了|"
                r"掉漆|松动|松了|掉线|断网|没有?声了|是散的|散架|一碰就散|(?<![打几一二三四五六七八九\d])折了|(?<=[书面页有])折角(?!设计)|压折|"
                r"印反|印错|缺页|少页|掉页|空白页|是空白的|重影|字迹模糊|是二手)")
# Harm to health or safety reported (用了面霜过敏了, 起了一堆疹子, 吃了拉肚子, 猫一直吐, 吃到头发了,
# 饼干里有塑料丝, 甲醛味熏得眼睛疼): a complaint, and urgent whatever the tone. Not a condition
# or a worry asked before buying (孩子花生过敏，能吃吗, 敏感肌会过敏吗, 有没有虫子: see _harmed), nor
# a product's use (止痒, 头皮痒的人能用吗).
_HARM = (r"(?<![不没无])(?<!没有)(?:过敏了|(?:用|涂|擦|抹|吃|喝|戴|敷|穿)了[^，,。！!？?吗么嘛]{0,8}?过敏|"
         r"起了?(?:一堆|一片|好多|很多|一些|些)?(?:小|红)?(?:疹|痘|包|红点)|红疹|疹子|红肿|又红又痒|"
         r"(?:好|很|特别|超|非常|有点|又)痒|发痒|刺痛|烂脸|拉肚子|腹泻|呕吐|(?:一直|老是|总是|还)吐|(?<![快想要看])吐了|"
         r"(?:食物)?中毒了|食物中毒|肚子(?:疼|痛)|胃(?:疼|痛)|眼睛(?:疼|痛)|头晕|"
         r"吃(?:到|出)了?[^，,。！!？?]{0,4}?(?:头发|毛发|虫|异物|石子|沙子|玻璃|铁丝|钢丝|塑料|指甲|苍蝇|蟑螂)|"
         r"(?:有|发现)[^，,。！!？?]{0,4}?(?:头发|虫子|活虫|死虫|蛆|异物|塑料丝|塑料片|玻璃渣|铁丝|钢丝|石子|苍蝇|蟑螂)|"
         r"异物|甲醛(?:味|超标))")
_HARM_FOUND = re.compile(_HARM)
# Harm with the goods sent back asked for (脸就红肿！我要退货退款, 猫吃了吐 我要退): an after-sale
# request, still urgent.
_RETURN_ASKED = re.compile(r"退货|退款|退钱|(?:我|想|要|能|可以|可不可以|能不能)退|换货")
# What makes a problem's words a worry (会掉色吗, 如果坏了怎么办, 怕拉肚子), and what asks right
# after them (起球吗, 缩水不): read by _harmed and reports_problem.
_IF_EVER = re.compile(r"会(?!员)|容易|如果|万一|要是|假如|的话|怕|担心|是否")
_ASKED_AFTER = re.compile(r"[吗嘛么不没呢]")
# Before harm's words, what makes them a condition or a worry too: 防止过敏, 有没有虫子.
_HARM_IF = re.compile(rf"{_IF_EVER.pattern}|防止|预防|避免|以防|有没有|能不能|适合")
# A message that asks anything (可以喝这个奶粉吗, 有适合的推荐吗, 用哪款好, 吃什么好, 怎么办) tells a
# symptom as its background (宝宝拉肚子, 敏感肌, 之前用别家的过敏了), no harm done by the goods,
# unless it names the shop's goods used before the symptom (用了你们的面霜过敏了，怎么办, 这个
# 洗发水用了头皮痒, 收到的零食吃了拉肚子) or asks to send them back (吃了拉肚子，可以退吗).
_ASKS_ANY = re.compile(r"[?？]|吗|嘛|呢|能不能|可不可以|可以|推荐|适合|哪款|哪种|哪个|有用|什么好|怎么办")
_GOODS_USED = re.compile(r"(?:你们|你家|你哋|贵店|这个|这款|这瓶|这支|这盒|这件|这次|收到|买的|买了)"
                         r"[^，,。！!？?]{0,10}?(?:用|吃|喝|涂|擦|抹|戴|敷|穿|闻)(?:了|着|完|后)|"
                         r"(?:用|吃|喝|涂|擦|抹|戴|敷|穿)了?(?:你们|你家|你哋|贵店|这个|这款)")
_OTHER_SHOPS = re.compile(r"别家|别人家|其他家|其它家|别的店|别的牌子")
# An itch, dizziness, sore eyes, a foreign-body feel or a formaldehyde smell said alone is the
# customer's condition or a worry (最近头皮很痒，想买个洗发水, 隐形眼镜有异物感): harm only once
# something was used, worn, eaten or breathed before it (穿着有点痒, 熏得眼睛疼, 用了…头皮好痒).
_BARE_SYMPTOM = re.compile(r"(?:好|很|特别|超|非常|有点|又)痒|发痒|眼睛(?:疼|痛)|头晕|异物|甲醛味")
# A thing found in the food (吃出了头发, 发现了虫子) is never background; nor a symptom after a use
# done (喝了奶粉拉肚子了，怎么回事？, 擦了之后皮肤红肿，怎么处理), unless another shop's goods were used.
_FOUND_IN = re.compile(r"吃(?:到|出)|发现")
_USE = r"(?:用|涂|擦|抹|吃|喝|戴|敷|穿|闻|熏|睡|坐|洗)"
_DONE = re.compile(rf"{_USE}(?:了|完|后|得|过)")
_CAUSED = re.compile(rf"{_USE}(?:了|着|完|后|得|过)|收到")
# 我都吐了 is a figure of speech (我都吐了，等了三天还没发货), unless something was eaten before it.
_FED_UP = re.compile(r"我都吐了")


def _harmed(text: str) -> bool:
    """Whether `text` reports harm to health or safety (see _HARM), not asks whether it may
    happen (这款面霜会过敏吗, 吃了会拉肚子吗, 里面有没有异物) nor tells a symptom behind a
    question before buying (宝宝拉肚子，可以喝这个奶粉吗: see _ASKS_ANY)."""
    asks = bool(_ASKS_ANY.search(text)) and not _RETURN_ASKED.search(text)  # 吃了拉肚子，可以退吗: the goods
    return any(not _HARM_IF.search(text, max(0, m.start() - 6), m.end())
               and not _ASKED_AFTER.match(text, m.end())
               and not (_BARE_SYMPTOM.fullmatch(m.group()) and not _CAUSED.search(text, 0, m.start()))
               and not (_FED_UP.match(text, m.start() - 2) and not _DONE.search(text, 0, m.start()))
               and not (asks and not _FOUND_IN.search(m.group())
                        and not any(not _OTHER_SHOPS.search(used.group())
                                    for used in _GOODS_USED.finditer(text, 0, m.end()))
                        and not ((_DONE.search(text, 0, m.start()) or _DONE.match(m.group()) and text.startswith("了", m.end()))
                                 and not _OTHER_SHOPS.search(text, 0, m.end())))
               for m in _HARM_FOUND.finditer(text))


# 质素 is Hong Kong's 质量 (件衫質素好差); not the 质素 of 音质素质 (sound quality and calibre).
_AFTERSALE = re.compile(r"退货|换货|退款|退钱|退回|退换|维修|保修|坏了|破损|质量|质素(?!质)|瑕疵|线头|色差|缩水|褪色|掉色|"
                        r"起球|售后|仅退款|寄回|不合适|破了|退差价|少发|漏发|发错|错发|缺件|想换|换大|换小|换一|换个|想退|"
                        r"开胶|漏水|碎了|是碎的|不对|不一样大|一大一小|补发|无理由|能退|退吗|可以退|退掉|有个洞|有洞|破洞|"
                        r"少了一[件个双瓶盒包]|少一[件个双瓶盒包]|脏了|污渍|划痕|"
                        # what broke in use: 不亮了, 开不了机, 不通电, 一股怪味; 才用两天就…, 穿一次就…
                        r"不亮|不能用了|用不了|打不开|没反应|失灵|故障|不通电|不制冷|不加热|"
                        r"断了|裂了|发霉|变质|怪味|异味|"
                        rf"{_DEVICE_FAULT}|"  # 耳机左耳没声音了, 手机黑屏了, 一直重启, 屏幕有坏点
                        rf"{_TRADE_FAULT}|"  # 零食过期了, 桌子腿晃得厉害, 书缺页了
                        r"(?:用|穿|戴|洗|吃|睡|坐)了?[一二三四五六七八九十两几半\d]+(?:天|次|回|周|星期|个?月|下)就|"
                        # whether the goods had may still be exchanged: 还能换吗, 已经十天了还可以换吗,
                        # 收到了还能换不 (not 还能换地址吗, 还能换个颜色吗: 换 with what is changed; nor
                        # with what is changed before it: 地址还能换吗, 快递还能换吗, 拍错了还能换吗)
                        r"(?:^(?:亲|那|请问|你好|您好)?|(?:天|日|周|星期|礼拜|月|年|收到|到货|签收)了?)[，,。\s]*"
                        r"还(?:能不能|可不可以|能|可以)换(?=[吗么嘛不?？]|$)")
# A quality or a warranty asked about before buying (会起球吗, 会不会掉色, 会黑屏吗, 音箱有杂音吗, 有保修吗,
# 保修几年, 甲醛味大吗): no after-sale matter, whatever entry matched; "用了一个月不通电了，能保修吗" is one.
# A device's 不 asks only at the end (黑屏不？, not 黑屏不亮了).
# A device's fault after a bare 会 asks only with a question after it: 就会自动关机 and 戴一会就会
#没声音 report one; after 怎么 or 为什么 it is the customer's own (耳机怎么没声音嘛).
_ASKED_BEFORE = re.compile(r"(?:会不会|会|容易|是否)(?:有)?(?:起球|掉色|褪色|缩水|变形|开胶|漏水|坏|异味|生锈|发烫|发热|"
                           r"晃|掉漆|分层|结块|化|漏|掉线|过期|过敏|拉肚子)|"
                           # a shelf life or a used book asked: 快过期了吗, 多久过期, 是临期的吗, 是二手的吗
                           r"(?:快|要)?过期了?(?:吗|么|嘛|没)|(?:多久|什么时候|啥时候|几时|何时|哪天)(?:会|就)?过期|"
                           r"(?:临期|二手)的?(?:吗|么|嘛)|有(?:没有)?临期|"
                           # a smell asked: 甲醛味大吗, 有异味吗, 味道重不重
                           r"(?:甲醛|异味|气味|味道|味儿?)(?:大|重|浓|刺鼻|超标)?(?:吗|么|嘛)|"
                           r"(?:甲醛|异味|气味|味道|味儿?)(?:大不大|重不重|浓不浓|超不超标)|"
                           # another trade's fault asked, with or without 会 (充气床漏气吗, 会融化吗, 会缺页吗)
                           rf"(?:{_TRADE_FAULT})的?(?:吗|么|嘛|不(?![\u3400-\u9fff]))|"
                           rf"(?<![就总都也还])(?:会不会|会|容易|是否)[^，,。！!？?]{{0,2}}?(?:{_TRADE_FAULT})|"
                           rf"(?:会不会|容易|是否)(?:有)?{_DEVICE_FAULT}|"
                           rf"(?<![就总都也还])会(?:有)?{_DEVICE_FAULT}(?=的?(?:吗|么|嘛)|不(?![\u3400-\u9fff])|[?？])|"
                           r"(?:起球|掉色|褪色|缩水|变形|开胶)(?:吗|么|嘛|不)|"
                           rf"(?<!怎么)(?<!什么)(?<![咋啥])(?<!为啥){_DEVICE_FAULT}(?:吗|么|嘛[?？]|不(?![\u3400-\u9fff]))|"
                           r"(?:有没有|是否有|有)保修(?:吗|么|嘛|期)?|保修(?:几年|多久|多长|期多|期是多)|保几年")
# What a break would get, asked right after how long the warranty is: 保修多久？坏了可以送修吗,
# 保固多久？壞掉可以送修嗎, 保養幾耐？壞咗可唔可以拎去維修 (not 坏了好几天了能修吗, nor 我的坏了: a
# fault had). A warranty asked before buying only where nothing says the goods were had
# (see _break_asked): the whole clause, so its 送修 or 维修 asks no after-sale either.
_BREAK_ASKED = re.compile(r"保[修固养](?:期|时间)?(?:是|有)?(?:几年|多久|多长|多少|几耐)[^，,。！!？?]{0,6}[，,。！!？?~\s]+"
                          r"坏(?:了|掉|咗)(?![好几一两三四五六七八九十\d半很])[^，,。！!？?]{0,8}?(?:吗|么|嘛|[?？]|$)")
# What says the goods were bought, used or received already (上个月买的, 用了半年了, 我买的电饭煲,
# 收到): a break asked about then is one had (not 想买的, 要买了).
_OWNED = re.compile(r"(?<![想要打算备])买(?:的|了)|(?<![想要])用了|用过|收到|到手|入手")
# The shop's own service down (客服电话连不上, 你们网站连不上, 直播间怎么没声音了, 直播间一直掉线): the words of a
# device's fault, but nothing wrong with the goods. Only with the service named right before
# ("客服说耳机没声音", "手机打电话没声音" and "手机打开网页卡顿" are faults).
_SERVICE_DOWN = re.compile(r"(?:客服|热线|网站|官网|(?<![开刷看用])网页|直播间|小程序|公众号)(?:电话|系统)?"
                           rf"(?:怎么|为什么|为啥|咋|一直|老是|总是|又|都|也|还是|根本|完全)*(?:{_DEVICE_FAULT}|掉线|断网)")


# What expires besides the goods: 优惠券过期了, 活动过期了吗, 会员过期了怎么续, 链接过期了; a code
# or a card only when it ends the noun right before 过期 (优惠码过期了, 购物卡已经过期): the goods'
# 生产时间 or 批号码 read as expired is the goods' own.
# A coupon, as customers often mistype it too: 优惠卷, 满200减30的卷 (卷 alone is a curl or a roll).
# Not 卷纸, 卷饼, 卷尺, 卷发 (我买的卷纸过期了 is expired goods).
_COUPON = r"券|(?:优惠|代金|消费|购物|满减|折扣|生日|会员|的|张)卷(?![纸饼尺发心帘筒烟])"
_NOT_GOODS_EXPIRY = re.compile(rf"(?:{_COUPON}|活动|会员|链接|积分|红包|优惠|资格|权益|福利|额度|套餐|订阅|vip|报名|"
                               r"时效|申请|售后期|退货期|价保)[^，,。！!？?的买]{0,8}?过期|"
                               r"(?:码|卡)(?:已经?|都|也|快|要|早就?)?过期")


# A coupon that does not apply (优惠券领了用不了, 领的券为什么用不了, 红包不能用): a question at
# checkout, asked before paying, not a fault of the goods (see understand). Only words that name
# nothing stand between: in 用券买的吹风机不能用了 it is the hair dryer that does not work.
_COUPON_UNUSABLE = re.compile(rf"(?:{_COUPON}|红包|优惠码|折扣码|礼品卡|购物金|津贴)"
                              r"(?:领了|领的|领|了|这个|这张|怎么|为什么|为啥|咋|都|也|还|就|是|现在|突然|"
                              r"(?:在)?(?:下单|结算|结账|付款|支付)(?:时|的时候)?)*"
                              r"(?:用不了|不能用|用不上|不可用|无法使用|使用不了|没法用)")


def _goods(text: str, break_asked: bool = True) -> str:
    """`text` without what has a fault's words but reports none of the goods: a quality asked
    about before buying (会不会黑屏, 音箱有杂音吗), the shop's service down (网站连不上) or
    something other than the goods expired (优惠券过期了); a break asked about after the
    warranty (_BREAK_ASKED) too when `break_asked` (see _break_asked)."""
    text = _SERVICE_DOWN.sub(" ", _NOT_GOODS_EXPIRY.sub(" ", text))
    return _ASKED_BEFORE.sub(" ", _BREAK_ASKED.sub(" ", text) if break_asked else text)


def _break_asked(text: str, earlier: Sequence[str] = ()) -> bool:
    """Whether `text` asks what a break would get right after the warranty (_BREAK_ASKED)
    before buying: calmly, and with nothing in it or the customer's `earlier` turns saying
    the goods were had (上个月买的，保修多久？坏了能换新吗; 保修多久，坏了怎么办，急死了; 保修多久？
    坏了可以送修吗 after 我上周买的吹风机今天不出风了: after-sale, a fault had, not a welcome)."""
    return bool(_BREAK_ASKED.search(text)) and not _OWNED.search(text) \
        and not (_anxious(text) or _angry(_meant(text))) \
        and not any(_OWNED.search(_read(t).text) or reports_problem(t) for t in earlier)


# Words asked only before buying: what comes with it (赠品, 满减), stock, delivery terms, a
# quality asked (会不会有味道), buying again (用完了想回购): an entry of another category matched
# on a shared word says nothing then.
_PRESALE = re.compile(r"会不会|赠品|满减|满额|包邮|现货|有货|库存|正品|优惠|便宜点|能便宜|推荐|回购|复购")  # warranty asked: _ASKED_BEFORE
# Cantonese outbursts: 搞咩呀, 搞乜鬼 (not 搞咩活动, 搞咩嘢活动: what sale is on), 有冇搞错,
# 你哋点做嘢 (how do you work), 咩态度, 顶唔顺 (受不了), 激死 / 嬲 (angry; not 唔好嬲).
_CANTONESE_ANGRY = (r"搞(?:咩|乜)(?:鬼|飞机|嘢)?(?:[啊呀㗎啦嘛吖]|(?![\u3400-\u9fff]))|有冇搞错(?:[啊呀㗎啦]|(?![\u3400-\u9fff]))|"
                    r"点样?做嘢|(?:咩|乜)态度|顶唔顺|激死|激气|(?<![唔咪别])(?<!唔好)嬲")
# Swearing and insults, on normalised text (traditional writing arrives simplified: 他媽的 is
# 他妈的): mainland, Taiwan (干你娘, 靠北, 白目) and Cantonese (仆街, 戆鸠, 屌) forms, and the
# pinyin initials typed for them (tmd, sb, nmd, cnm, mlgb). Not the harmless words around
# them: 我妈的生日, 送给他妈的礼物, 我操作了, 我草莓味, 去死皮, 废物利用, 靠北边, 牛逼 (praise),
# usb, 宝贝好傻 (nothing here alone: 傻, 逼, 妈, 操, 死).
_SWEAR = (r"(?<![给送帮替和跟为])他妈的|[我你真太好]他妈(?!妈)|(?<![\u3400-\u9fff])妈的|(?<![给送帮替和跟为])你妈的|特么|他喵的|"
          r"尼玛|泥马|你妈逼|妈了个?逼|妈逼|妈卖批|你麻痹|(?:操|草|艹|肏)(?:你|尼|泥|他|她)(?:妈|大爷|们)|肏|"
          r"卧槽|卧艹|握草|我艹|我操(?![作心办控持劳练])|我草(?![莓原地坪本稿药帽])|去你(?:妈|大爷)的?|"
          r"傻逼|傻b|傻比|傻x|傻叉|煞笔|沙比|二逼|脑残|智障|白痴|弱智|神经病|蠢货|蠢猪|猪脑子?|"
          r"废物(?!利用|回收|处理|箱)|人渣|王八蛋|混蛋|混账|贱人|贱货|畜生|畜牲|狗东西|狗日|日了狗|狗屁|放屁|吃屎|"
          r"(?:客服|你们)(?:都|是|全)?死|人(?:都|是|全)死|(?<![\u3400-\u9fff])死了吗|死哪|找死|去死(?!皮)|坑爹|骗钱|"
          r"干你娘|干您娘|靠北(?![边方面侧])|靠腰|鸡掰|机掰|白目|北七|"
          r"仆街|扑街|戆鸠|戆居|屌|𨳒|撚|痴线|顶你个肺|冚家铲|食屎|on9|"
          r"(?<![a-z])(?:tmd|tm的|nmd|nmb|cnm|mlgb|nmsl|sb|fuck\w*|shit|wtf|stfu)(?![a-z])")
# Stressed punctuation (!!, ?!, !?): anger in _ANGRY, which _EXCLAIM tells apart when it is
# all the anger a message shows.
_STRESS = r"[!！]{2,}|[?？]+[!！]+[?？!！]*|[!！]+[?？]+[?？!！]*"
# Anger said outright. A complaint (投诉, 差评, 12315, 什么态度) is anger too, unless the customer
# pleads or worries (see _riled).
_ANGRY = re.compile(rf"骗子|骗人|垃圾|{_SWEAR}|什么破|太差|{_RIPOFF}|黑店|气死|烦死|恶心|无语|滚蛋|滚开|给我滚|快滚|"
                    rf"{_NO}失望|差劲|离谱|太过分|受不了|(?<![不别没])(?<!不要)(?<!不用)生气|气人|火大|恼火|{_NEVER_AGAIN}|"
                    rf"搞什么|什么玩意|有病|{_STRESS}|怎么回事[!！?？]|"
                    r"这样对待|这么对待|"
                    rf"{_CANTONESE_ANGRY}|"
                    r"[\U0001F620\U0001F621\U0001F92C\U0001F4A2\U0001F47F\U0001F624]|"  # 😠😡🤬💢👿😤
                    r"\[(?:发怒|怒|抓狂)\]")  # and the chat stickers [发怒], [抓狂]
# Anger put as a question, sarcasm or a demand: 你们系统怎么搞的, 这是什么操作, 是不是不想做生意了,
# 有没有在做事, 这就是你们的服务？, 这也叫正品？, 说好的次日达呢, 钱呢, 走路都比这快, 真行啊,
# 问了三次, 到底还发不发, 取消个订单要这么难吗, 凭什么, 给我查清楚！, 呵呵 (not 请给我退款: asked
# politely). Anger too, unless the customer pleads or worries (see _riled).
_RILED = re.compile(r"什么操作|啥操作|怎么搞的|莫名其妙|这(?:是)?(?:个|些)?什么(?:鬼|破?东西)(?=[!！?？。，,\s]|$)|凭什么|"
                    r"还想不想(?:做|干)|不想(?:做生意|卖了|干了)|"
                    r"有没有(?:人)?在(?:做事|干活|上班|管)|有没有人管|"
                    r"这就是你们的|这也(?:叫|配叫|好意思叫)|还好意思|"
                    r"说好的[^，,。？?！!\s]{0,8}呢|(?<![\u3400-\u9fff])(?:我的)?(?:钱|东西|货|退款)呢|"
                    r"(?:走路|爬|蜗牛|乌龟|步行)[^，,。？?！!\s]{0,6}都比[^，,。？?！!\s]{0,4}快|"
                    r"真行(?:啊|呀|哈)|你们(?:可)?真行|可真行|真有你们的|服了你们|我(?:真|也是)?服了|"
                    r"(?<!请)(?:问|说|催|联系)(?:了|过)?第?(?:好|几|多|[二三四五六七八九十两\d])+(?:次|遍)|"
                    r"到底还?((?!是)[\u3400-\u9fff])[不没]\1|(?:要|就)?这么难(?:吗|嘛|么)|"
                    r"太夸张了吧|也太夸张|糟心|烦不烦|"
                    # a threat of escalation (再不处理我就找平台, 再不退款就打12315, 再不发货我就给差评)
                    r"再不[^，,。？?！!]{1,8}?[，,\s]?(?:的话)?[，,\s]?我?(?:就|只能|只好|要|会)(?:去|要)?"
                    r"(?:投诉|找平台|找淘宝|找京东|找小二|申请平台介入|平台介入|举报|打?12315|找消协|给?差评|曝光|报警|起诉)|"
                    # a sneer (呵呵; not laughing along: 哈哈呵呵, 呵呵 好的谢谢); praise put as
                    # sarcasm is _SARCASM's
                    r"(?:到底|究竟)在?(?:干|搞)(?:嘛|啥|什么)|"  # 你们到底在干嘛 (not 这个到底是做什么用的)
                    r"(?<![哈嘿])呵呵(?![^。！!？?]*(?:谢|哈|嘿|好的|好滴))|"
                    r"(?<!请)(?<!麻烦)给我(?:查|退|换|处理|解决|补|赔)[^，,。？?！!]{0,6}[!！]")
# Praise put as sarcasm (真是好服务啊, 可真是周到的客服呀; not 服务真好), unless said with thanks
# or a problem solved (谢谢，真是贴心的客服呀！, 真是专业的客服啊，一下就解决了): then it is meant.
_SARCASM = re.compile(r"(?:真是|可真是|真|可真)(?:好|周到|贴心|专业|优质|棒)的?(?:服务|客服|售后)(?:啊|呀|哈|呢|[!！])")
_SINCERE = re.compile(r"(?<![没未不])(?:解决了|搞定了|处理好了)|满意|好评|下次还")
# Pleading or worry: a complaint or a sarcasm said with it is anxious (再不处理只能投诉了，拜托快点).
_PLEA = re.compile(r"(?<!不)(?<!不着)(?<!别着)急|着急|赶时间|拜托|求求|求你|求您|担心|害怕|等不了")
# Nothing held against the shop: "我想投诉一下快递员，不怪你们" is no angry customer.
_BLAMELESS = re.compile(r"不怪你们|不是你们的(?:问题|错)|跟你们没关系|和你们没关系|不关你们的?事")
# Nobody answers: 冇人理, 没人回 (not 没人理解, 没人回家, 没人回收, 没有人应该).
_NOBODY = r"(?:冇|没有?)人(?:理(?!解)|睬|回(?![家来去收])|覆|应(?![该当]))"
# Not yet: 还没发, 仲未到 / 都未收到 (Cantonese), 还未发, 還沒出貨 (Taiwan's 发货), 还不发;
# not 还不到100块 (a price).
_NOT_YET_WORDS = (r"(?:还没(?:有)?|(?:还|仲|都)未|仲冇|还不)"
                  r"(?:到(?![\d一二三四五六七八九十两百千几半])|发|收到|退|回|处理|动|郁|寄|出货)")
# Never yet (一直不发货, 一直没回): a wait in itself, never the condition of a change.
_NEVER_YET = r"一直(?:不|没有?|未)(?:到|发|收到|退|回|处理|动|寄|出货)"
# "还没" and "怕" alone are no worry: "我还没付款，能改地址吗", "怕冷的人穿够吗".
# ... but a question that denies it asserts it: 能不急吗, 怎么能不着急, 不急才怪.
_HURRIED = r"(?:怎么能|怎能|哪能|(?<![可功才])能)不着?急(?=[吗嗎呢啊嘛?？!！]|$)|不着?急(?:才怪|是假的)"
_ANXIOUS = re.compile(rf"{_HURRIED}|(?<!不)(?<!不着)(?<!别着)急|(?<!不)着急|赶紧|快点|尽快|马上|赶时间|等不了|怎么还|点解(?:仲|都未|还)|{_NOT_YET_WORDS}|{_NEVER_YET}|"
                      rf"快啲|(?<![a-z])快d(?![a-z])|等唔(?:到|切|及)|{_NOBODY}|"
                      r"催|担心|害怕|就怕|生怕|太慢|好慢|慢死|"
                      # 千万别发, 吓死我了, 怕寄丢了, 那我的东西怎么办啊, 是不是根本没发
                      r"千万(?:先|可)?(?:别|不要|要)|吓死|吓坏|怕(?:寄|弄|被|搞)?(?:丢|坏|错|碎|来不及|赶不上)|"
                      r"怎么办(?:啊|呀|哇|才好)|是不是(?:根本)?(?:没发|没寄|丢了|寄丢|弄丢|送错|寄错)|"
                      r"到底|[?？]{2,}|"
                      r"[\U0001F62D\U0001F622\U0001F630\U0001F631\U0001F97A\U0001F625]|"  # 😭😢😰😱🥺😥
                      r"\[(?:流泪|大哭|哭|快哭了|可怜|委屈|难过)\]")  # and the chat stickers [流泪], [大哭]
# "还没发货" as the condition of a change ("订单还没发货，可以改地址吗") is no worry; after
# a wait ("都五天了还没发货，我要取消") it is.
_NOT_YET = re.compile(_NOT_YET_WORDS)
_WHILE_NOT_YET = re.compile(r"(?:可以|能|能不能|可不可以|想|要|帮我|怎么|怎样|如何|咋).{0,3}(?:改|取消|换|加|合并|备注|退|撤)")
# A wait the customer counts: 都五天了, 一个星期了, 三天还没…, 等了三天; in Cantonese 等咗成个礼拜,
# 三日都未到, 好耐都未; not 下个月了 (a date to come), 好耐冇见 (long time no see).
_STILL_NOT = r"还没|都没|(?:还|仲|都)?未|仲冇|都冇"
_WAITED = re.compile(r"(?<![下上这那])(?:[都已]经?\s*)?第?(?:\d+|[一二三四五六七八九十两几半]+|成)\s*个?\s*多?\s*个?\s*"
                     rf"(?:天|日|周|星期|礼拜|月|小时|钟头?)(?:了|喇|啦|\s*(?={_STILL_NOT}))|"
                     r"等(?:咗|了)\s*(?:足足|差不多|差唔多|成|\d+|[一二三四五六七八九十两几半]+)\s*个?\s*多?\s*个?\s*"
                     r"(?:天|日|周|星期|礼拜|月|小时|钟头?)|等(?:咗|了)?好耐|好耐(?:都|仲)未|"
                     rf"好几天|好久|多久了|这么久|这么多天(?:了|(?=还没|都没))|{_NEVER_YET}")
# A counted wait is a worry when it is stressed (都五天了, 已经一个星期了), or with a wait said
# (等了, 等咗) or a "when" asked: 等了一个星期了，什么时候发货, 等咗成个礼拜，几时寄出; not
# 签收多久了还能退, 好久不见, 宝宝三个月了能穿吗.
_WAIT_SAID = re.compile(r"等(?:咗|了|左)|什么时候|什么时间|啥时候|几时|何时|哪天|要多久|还要等")


# A time counted before asking whether something is still allowed (已经第九天了还能退吗, 都五天了
# 还可以换吗): the return window asked about, no wait (等了五天了还能退吗 says one).
_STILL_ALLOWED = re.compile(r"[，,\s]*(?:我|这个?|那)?还(?:能不能|可不可以|能|可以|来得及|行不行|支持)"
                            r"(?:申请)?(?:七天|7天)?(?:无理由)?(?:退|换|售后|保修|维修|寄回)")


# ... unless a delay is reported too (下单都三天了还能退款吗 还不发货) or the question pressed (都三天了还能退吗？？？).
_STILL_WAITING = re.compile(rf"{_NOT_YET_WORDS}|[?？]{{3,}}")


def _waits(text: str) -> list[str]:
    """The waits `text` counts (see _WAITED), but a time before a question whether something
    is still allowed (see _STILL_ALLOWED), with no delay reported or question pressed."""
    allowed = not _STILL_WAITING.search(text)
    return [m.group() for m in _WAITED.finditer(text) if not (allowed and _STILL_ALLOWED.match(text, m.end()))]


def _waited(text: str) -> bool:
    waits = _waits(text)
    return bool(waits) and (bool(_WAIT_SAID.search(text)) or any(w.startswith(("都", "已")) for w in waits))


_URGENT = re.compile(rf"{_HURRIED}|(?<!不)(?<!不着)(?<!别着)急|马上|立刻|赶紧|尽快|今天必须|等不了|等唔(?:到|切|及)|"
                     r"赶时间|明天就要|来不及")


# Delight or laughter: "!!" and 离谱 then stress joy or a joke (太好了！！, 便宜得离谱哈哈).
_GLAD = re.compile(r"太好了|好看|好喜欢|喜欢|满意|谢谢|感谢|棒|赞|好评|开心|惊喜|爱了|不错|划算|便宜(?:得|到)|哈哈|hh|"
                   r"[\U0001F602\U0001F923\U0001F60A\U0001F604\U0001F601\U0001F44D\u2764]")  # 😂🤣😊😄😁👍❤
_MILD = re.compile(r"[!！]{2,}|离谱|无语")


# A problem besides: "谢谢！！但是东西坏了" is no delight.
_PROBLEM = re.compile(r"但是|可是|不过|坏|破|发错|错了|弄错|不对|漏|少了|没收到|[未冇]收到|收唔到|没到|投诉")  # not 换, 退: requests


_EXCLAIM = re.compile(_STRESS)
# What "!!" makes angry: a fault or a complaint ("发错了！！", "杯子碎了！！", "手机黑屏了！！"; not 碎花), not a
# request ("但是想换小一码").
_GRIEF = re.compile(rf"坏|破|洞|碎了|碎掉|是碎的|[摔压]碎|裂了|裂开|开裂|断了|断掉|发错|错了|弄错|不对|漏|少了|没收到|[未冇]收到|收唔到|没到|过期|变质|发霉|脏|烂|假货|投诉|"
                    r"丢件|丢了|弄丢|却|竟然|居然|"
                    rf"{_DEVICE_FAULT}|{_HARM}|"  # 手机黑屏了！！！, 耳机没声音了！！ (not 重启一下就好了！！), 吃出虫子！！
                    rf"怎么回事|{_NOBODY}|什么意思|凭什么|为什么|点解|退钱|不退|不给|行了行了|够了|算了|别说了|烦")


def _grieves(text: str) -> bool:
    """Whether `text` holds a fault or a complaint (see _GRIEF) of the goods (see _goods):
    "会不会黑屏！！好想买" stresses a question, "黑屏了！！" is anger."""
    return bool(_GRIEF.search(_goods(text)))


def _angry(text: str) -> bool:
    found = [m.group() for m in _ANGRY.finditer(text)]
    if found and all(_MILD.fullmatch(f) for f in found) and _GLAD.search(text) and not _PROBLEM.search(text):
        found = []
    if found and all(_EXCLAIM.fullmatch(f) for f in found) and not (_grieves(text) or _NOT_YET.search(text)
                                                                     or _waits(text)):
        found = []  # "!!" alone stresses what is said: 是鹅绒吗！！好想买, 急！！今天能发吗
    return bool(found) or _riled(text)


def _riled(text: str) -> bool:
    """A complaint (投诉, 什么态度, 虚假宣传; not a request: 升级处理, 那我找你们主管) or anger put
    as a question or sarcasm (see _RILED), unless pleaded or worried (拜托, 着急: anxious) or
    blaming nobody here (不怪你们)."""
    complains = any(m.group() != "升级处理" and not _BOSS_ASKED.fullmatch(m.group())
                    for m in _COMPLAINT.finditer(text))
    sarcastic = bool(_SARCASM.search(text)) and not (_GRATITUDE.search(text) or _SINCERE.search(text))
    return (complains or sarcastic or bool(_RILED.search(text))) and not _PLEA.search(text) \
        and not _BLAMELESS.search(text)


_DOUBLED = re.compile(r"[?？]{2,}")


# Relief with thanks: "急死我了，终于到了，谢谢" worried before, not now.
_RELIEF = re.compile(r"终于|原来|还好|幸好|总算|虚惊")


# The same words three times running, asking or naming a topic (发货了吗发货了吗发货了吗,
# 退款退款退款！！！, 在吗在吗在吗): a customer pressing for an answer; not a voice message's
# fillers (那个那个那个, 就是就是就是), laughter, thanks or agreement said over (哈哈哈哈哈哈,
# 谢谢谢谢谢谢, 好的好的好的, 来了来了来了), nor digits (an order number 123123123).
_SAID_THRICE = re.compile(r"(\w{2,8}?)(?:[\s!！?？,，~～。.]*\1){2,}")


# A finished statement said over (发货了发货了发货了, 到货啦, 快递到了): happy news, not pressing.
_NEWS = re.compile(r"(?:了|啦|咯|喽|啰)$")
# A question said over (在吗, 发货了吗, 到哪了？): pressing even with thanks. Not 么么哒.
_ASKED_OVER = re.compile(r"[?？]|吗|呢|嘛|怎么|什么|啥|多久|几时|哪|有没有|能不能|可不可以")


def _pressed(text: str) -> bool:
    """The same words three times running that ask (发货了吗, 在吗) or name a topic bare (退款):
    not happy news said over (退款到了退款到了退款到了 谢谢亲; a fault, 坏了坏了坏了, is no news),
    nor a topic said over with relief, thanks or praise (到货了到货了到货了 好开心)."""
    glad = any(p.search(text) for p in (_RELIEF, _GRATITUDE, _PRAISE)) or "开心" in text
    for m in _SAID_THRICE.finditer(text):
        unit = m[1]
        if _ASKED_OVER.search(unit):
            return True
        if not glad and not (_NEWS.search(unit) and not _GRIEF.search(unit)) \
                and any(p.search(unit) for p in (_ASKING, _AFTERSALE, _ORDER, _LOGISTICS)):
            return True
    return False


def _anxious(text: str) -> bool:
    found = [m.group() for m in _ANXIOUS.finditer(text)]
    if found and _RELIEF.search(text) and _GRATITUDE.search(text) and not _PROBLEM.search(text):
        return False
    if found and all(_NOT_YET.fullmatch(f) for f in found) and _WHILE_NOT_YET.search(text) \
            and not _waits(text):
        return False  # "还没发货" only as the condition of a change the customer asks for
    if found and all(_DOUBLED.fullmatch(f) for f in found) and _says_more(text) \
            and not (_grieves(text) or _waits(text)):
        return False  # "??" alone stresses a question (优惠券怎么用？？); a nudge (？？？, 人呢？？) is impatient
    return bool(found) or _waited(text) or _pressed(text)


# Faults a customer reports besides _GRIEF's (碎了, 开胶, 质量差, 发货慢; not 慢慢, 慢吗, 慢点).
_FAULT = re.compile(r"碎|开胶|漏水|瑕疵|色差|缩水|褪色|掉色|起球|线头|划痕|污渍|破洞|少发|漏发|错发|缺件|假的|是假|山寨|"
                    r"盗版|仿冒|过敏|一大一小|不一样大|变形|裂|异味|臭|质量差|做工差|很差|真差|好差|慢(?![慢吗么嘛点]|不慢)")


# A question asked: 吗, ？, 多久, 有没有, 几时; 係唔係 / 係咪 as the normalised text has them.
_QUESTION = re.compile(r"[?？]|吗|嘛|么|呢|什么|啥|多久|多少|多大|多长|几|哪|怎么|怎样|如何|能不能|可不可以|是否|有没有|"
                       r"会不会|是不是|要不要|有冇|系唔系|系咪|可唔可以|点样")


def calm_question(message: str) -> bool:
    """True for a question that complains of nothing: it asks (吗, 多久, ？) and carries no
    complaint word, anger, worry or fault (坏了, 发错, 没收到, 碎了, 发货慢). A complaint entry
    sharing its words ("你们发货快吗" and the entry about a late parcel, "你們有賣行動電源嗎" and
    the one about fakes) is no answer to it, and its category says nothing of its intent. A
    request (转给你们主管, 我要真人客服, 快递员不送上门) is no such question, nor is one after the
    supervisor's callback (主管什么时候联系我): a complaint entry may answer it."""
    text = _read(message).text
    meant = _meant(text)
    return bool(_QUESTION.search(text)) and not (
        _COMPLAINT.search(meant) or _CALLBACK.search(meant) or _angry(meant) or _anxious(text) or _grieves(meant)
        or _PROBLEM.search(meant) or _FAULT.search(meant) or _harmed(text))


def _says_more(text: str) -> bool:
    """Whether `text` says more than a greeting or an opener (在吗, 人呢, 亲): it asks something."""
    return bool(_FILLER.sub("", _OPENER.sub("", _GREETING.sub("", text))))


@dataclass
class Understanding:
    intent: str
    stage: str
    sentiment: str  # calm / anxious / angry
    urgency: str  # normal / high
    script: str
    first_message: bool
    waited: bool = False  # the message chases a question no agent turn answered yet (人呢, 在吗)
    reported: bool = False  # a customer turn before it, no agent turn yet, reports a problem (杯子碎了)
    # or tells that the message's own break is one had (我上周买的…, then 保修多久？坏了可以送修吗)
    wording: str | None = None  # OpenCC config the conversation asks for (s2hk for Cantonese); None: the KB's
    said: tuple[str, ...] = ()  # the agent's turns of the talk: a 话术 line they hold is not drafted again


_GRATITUDE = re.compile(rf"谢|感谢|多谢|唔该|thank|{_THANK_SLANG}|辛苦")
# Satisfaction reported: with thanks, a longer message is still only thanks.
_PRAISE = re.compile(r"好用|好看|好吃|好穿|喜欢|满意|不错|很好|挺好|蛮好|太好了|棒|赞|好评|惊喜|爱了|舒服|合身")
# Praise as typed in chat: yyds (永远的神), nb (牛逼), 666, 绝绝子, 给力; a word of its own
# (not 666号色).
_CHAT_PRAISE = re.compile(r"(?<![a-z0-9])(?:yyds|nb|6{3,})(?![a-z0-9号])|绝绝子|给力|牛")
# Giving up (算了, 罢了, 唉, 不想说了): a goodbye that is no happy one. Not 算了一下 (worked it out).
_RESIGNED = re.compile(rf"算了(?!一?下)|罢了|唉|无所谓了|随便吧|{_GIVE_UP_TALK}")
# An acknowledgement and what the customer will do or did: "好的，那我先拍照", "行，我已经申请了".
# Or that they will think it over or ask someone first: "好的，我考虑一下", "好的 我跟领导商量一下".
# Agreed grudgingly too: "行吧 那我拍照", "好的吧 那我再等等"; or waiting for the call promised:
# "好，我等电话".
# Waiting for the call or news the shop promised: 我等电话, 等你们消息 (the case is ours).
_AWAIT_US = r"等(?:你们|您|你|主管|经理|客服)?的?(?:电话|来电|回电|消息|回复|答复|通知|结果)"
_PLAN = re.compile(r"^(?:(?:(?:好的?|好吧|行|嗯+|ok|收到|知道了|明白了|谢谢|多谢|感谢)[吧呀啊嘛嘞滴哒]?[，,。.!！~～\s]*)+那?我"
                   # with only 那 before it, the acknowledgement unsaid, a step taken now: "那我先拍一个试试"
                   # after the agent's answer (not 那我再等等, which is read with the answer it waits on;
                   # nor 那我拍了个照片你看: a photo sent, no purchase)
                   r"|那我(?=先|就|去|马上|这就|现在|下单|买(?![的过])|拍(?![^，,。.!！?？\s]{0,3}?(?:照|视频|图))))"
                   # or buy now: 好的那我就拍了, 行 那我下单了, 好嘞 我现在就去下单 (not 我买的…: a purchase had)
                   r"(?:就|现在|下单|买(?![的过])|付款|付钱|"
                   r"先|去|马上|这就|回头|晚点|稍后|等下|等会|再|已经|拍|考虑|想想|想一想|商量|问问|问一下|"
                   r"(?:跟|和|同|与)[^，,。.!！?？\s]{1,6}?(?:商量|讨论|说一下|说下|问问|问一下|问下)|"
                   # or wait for the call or news promised: 好，我等电话, 好的 我等你们消息
                   rf"{_AWAIT_US})")
# What, after a plan's words, says something went wrong: 没/不 (一直没发货, 不出热风了), 失败, 错, 只收到;
# or asks something of us: 那我拍下了 记得发顺丰, 那我马上退货 你们给我退运费, 那我去申请退款了 麻烦尽快处理
# (not 麻烦你了: thanks).
_NOT_DONE = re.compile(r"没|沒|不|未|失败|失敗|错|錯|只|一直|(?:你们|你|您)?给我|麻烦(?![你您]?了)|记得|尽快|赶紧|快点")
# A return or an exchange a plan names is what the customer will do, no request of us: "行 那我去申请
# 换货" is a plan, whose 换 read as asking (see _ASKING) drafted the exchange policy again; so is one
# done (好嘞 那我先退了). A question beside it still asks (那我先退货 运费谁出), and a return or an
# exchange named bare still asks for one (那我就退货吧, 好 那我就换个大一码的). So is one said back as
# learned (see _LEARNED), with no word of the plan's.
_PLANNED = re.compile(r"(?<=申请)[退换]|[退换](?=了)")
_LEARNED_PLAN = re.compile(r"退|换")
_PLAN_ASKS = re.compile(rf"{_QUESTION.pattern}|谁")


# What the customer says was sent: the thing an agent asks for (照片, 截图, 视频, 凭证…) sent
# or uploaded (照片发了, 截图发给你了, 视频已经传了), or 发你了 / 发给你了, or a photo itself
# ([图片], as a chat app shows it in text). Not with a question (照片发了吗, 截图发你了 多久能处理好:
# see _QUESTION), denied (还没发照片) nor of the parcel (你们发了没, 快递发给你了吗; 退货单号 and 退货的
# 照片 are things sent).
_DELIVERED = re.compile(r"(?:照片|图片|截图|截屏|视频|凭证|图|订单号|单号|地址|资料)[^，,。？?]{0,4}?"
                        r"(?:(?:已经?|都)?(?:发|传|上传|提交)(?:给|过去|过来|到)?(?:你|您)?了|"
                        r"(?:已经?|都)(?:发|传|上传|提交))|发(?:给)?[你您]了|"
                        # a photo taken to show (我拍了照片给你看, 那我拍了个照片你看, 拍了个视频 你看下):
                        # the chat app sends it beside these words
                        r"拍了[^，,。？?\s]{0,3}?(?:照片|视频|图)[\s，,]*(?:给|发给)?[你您](?:看|瞧)|"
                        r"^\[(?:图片|视频|文件)\]$")  # what a chat app shows for a photo sent
_DENIED_OR_PARCEL = re.compile(r"没|不|未|快递|包裹|(?<!退)货")
# ... where a count (几张照片都发给你了) or a soft "have a look" (你看下呢) asks nothing.
_ASKS_NOTHING = re.compile(r"几(?=[张个段条份])|(?:看|瞧)(?:一?下|看)呢")


def delivered(message: str) -> bool:
    """True when the message says the customer sent what an agent asks for (照片发了 你看下,
    截图发给你了): nothing to look up, it is taken note of."""
    text = _read(message).text
    return bool(_DELIVERED.search(text)) and not _QUESTION.search(_ASKS_NOTHING.sub(" ", text)) \
        and not _DENIED_OR_PARCEL.search(text)


# A postal address: a city, district or county, then a road, building or house number
# (浙江省杭州市西湖区文三路100号, 上海市浦东新区张江路88弄3号楼502室).
# Not 道 of 知道 (市区外面不知道门牌号 gives none).
_ADDRESS = re.compile(r"(?:省|市|区|县|镇|乡)[^，,。？?]{0,20}?(?:路|街|(?<!知)道|巷|弄|村|号|栋|幢|楼|室|小区|大厦)")
# The address as written (浙江省… to …502室), and what may come with it: labels, a phone
# number, courtesies; a name is what is left, three characters at most (张三).
_ADDRESS_RUN = re.compile(rf"[^，,。；;、\s]*{_ADDRESS.pattern}[^，,。；;、\s]*")
_WITH_ADDRESS = re.compile(r"(?:新的?|收货|收件|详细|邮寄)?(?:地址|收件人|收货人|联系人|姓名|电话|手机号?)[:：是为]?|"
                           r"\+?\d[\d-]{6,}|亲|谢谢|麻烦[你您]?了?|好的|[嗯哦啊呢吧的]|[\W_]")
# Denied or wrong (杭州市西湖区文三路100号不对; 不改了，还是原来的…): no new address given.
# Not 未来路 or 别墅, names in an address.
_NOT_GIVEN = re.compile(r"不|没|未(?!来)|别(?!墅)")


def gives_address(message: str) -> bool:
    """True when the message gives a postal address, with a name or a phone number at most,
    and asks nothing (杭州市西湖区能送到吗 asks; …100号，顺便帮我改成发顺丰 asks for more):
    what an agent's 请把新地址发给我 asked for."""
    text = _read(message).text
    return bool(_ADDRESS.search(text)) and not _QUESTION.search(text) and not _NOT_GIVEN.search(text) \
        and len(_WITH_ADDRESS.sub("", _ADDRESS_RUN.sub(" ", text))) <= 3


# An agent's turn asking for an address (请把新地址发给我, 请提供发票抬头和税号，以及邮寄地址,
# 麻烦告诉我您的收货地址); not one giving an address (退货地址是…，寄回后请把单号发给我) nor
# where the goods ship from (发货地址).
_ASKS_ADDRESS = re.compile(r"(?:发(?!货|出)|提供|告诉|留|填)[^，,。？?！!]{0,8}?(?:[，,](?:以及|还有|和|及)[^，,。？?！!]{0,6}?)?地址|"
                           r"地址[^，,。？?！!]{0,4}?(?:发|告诉|提供|给)")


def asks_for_address(turn: str) -> bool:
    """True when an agent's turn asks the customer for an address (请把新地址发给我), so
    that the address sent next is what it asked for."""
    return bool(_ASKS_ADDRESS.search(normalize(turn, max_chars=10**6).text))


# What a chat app shows for a photo, voice message, video or file sent ([图片], [语音]), with
# nothing beside it but 亲, 你看 or 看一下: something to look at, no question ([图片] 这个能退吗
# asks one).
_ATTACHMENT = re.compile(r"\[(?:图片|照片|截图|语音|视频|小视频|文件)\]")
_LOOK_HERE = re.compile(r"[你您]?(?:看|瞧)(?:一?下|看|瞧)?|亲")


def attachment_only(message: str) -> bool:
    """True when the message is only a photo, voice message, video or file as a chat app shows
    it ([图片], 亲 你看一下[图片]): it is received and looked at."""
    text = _read(message).text
    return bool(_ATTACHMENT.search(text)) and not _FILLER.sub("", _LOOK_HERE.sub("", _ATTACHMENT.sub(" ", text)))


def _plan(text: str) -> bool:
    """An acknowledgement and what the customer will do or did, with nothing gone wrong after
    it: "好的 我付款了 一直没发货" and "嗯 我买了个吹风机 不出热风了" report a problem, not a plan."""
    found = _PLAN.match(text)
    return bool(found) and not _NOT_DONE.search(text, found.end())


def plans(message: str) -> bool:
    """True for an acknowledgement and what the customer will do ("好的，那我先拍照"): the
    talk goes on, no rating is asked for yet."""
    return _plan(_read(message).text)


def sorry_for_tone(message: str) -> bool:
    """True when the customer says sorry for their own tone or outburst (刚才态度不好不好意思,
    不好意思刚才有点激动): calming down, no longer read as angry for an earlier turn."""
    return bool(_OWN_TONE_SORRY.search(_read(message).text))


def awaits_us(message: str) -> bool:
    """True for a plan to wait for the call or news the shop promised ("好，我等电话"): the
    case stays open on our side, no goodbye."""
    text = _read(message).text
    return _plan(text) and bool(re.search(_AWAIT_US, text))


def never_again(message: str) -> bool:
    """True when the customer says they will never come back or buy again (再也不来了,
    以后不会再买了: see _NEVER_AGAIN), leaving the shop in anger."""
    return bool(re.search(_NEVER_AGAIN, _read(message).text))


def resigned(message: str) -> bool:
    """True when the customer gives up ("算了，谢谢", "唉，那就这样吧"): the goodbye gets a
    sober closing, no rating asked for."""
    return bool(_RESIGNED.search(_read(message).text))


def thanks(message: str) -> bool:
    """True when the message says thank you (谢谢, 辛苦了), not only 好的 or goodbye."""
    return bool(_GRATITUDE.search(_stickers_said(_read(message).text)))


# Something gone wrong with the goods, the parcel or a payment: 拉链坏了, 口红断了, 手机黑屏了, 快递丢了,
# 发错货, 少发了一件, 和图片不一样, 付款一直失败, 质量不太好. Not a product's style (破洞裤, 碎花裙), a
# question in the A-not-A form (能不能用, 对不对, 一样不一样; a word ending in 能 or 对 is none:
# 功能不能用, 绝对不对), 多少了, 用不了多久 (soon, unless a fault follows: 用不了几天就没电了) nor a
# quality asked about before buying (会掉色吗, 容易坏吗, 如果坏了怎么办: _IF_EVER; 起球吗,
# 缩水不: _ASKED_AFTER).
_GONE_WRONG = re.compile(r"坏了|坏掉|坏的|损坏|弄坏|摔坏|压坏|破了|破损|破掉|磨破|划破|撕破|有个?洞|破洞(?!裤|牛仔)|"
                    r"断了|断掉|折断|裂了|裂开|开裂|裂缝|裂纹|碎了|碎掉|是碎的|摔碎|压碎|丢了|丢件|弄丢|丢失|不见了|"
                    r"漏水|漏液|漏气|漏油|漏电|漏发|少发|(?:(?<!多)|(?<=不多))少了|缺件|缺了|发错|错发|寄错|弄错|(?:(?<!对)|(?<=[绝核相比校]对))不对|(?<!一样)不一样|一大一小|"
                    r"脏了|有污渍|污渍|划痕|掉色|褪色|缩水|开线|开胶|起球|线头|色差|瑕疵|变质|发霉|过期(?!时间|日期)|异味|掉毛|"
                    r"(?:质量|质素)(?:不太好|不怎么样|不好|太差|很差|真差|好差|差|不行|有问题)|"
                    # a problem announced: 想反映一下, 反馈个问题, 我要反映一个问题
                    r"(?:想|要)(?:反映|反馈)(?:一下|下)?|(?:反映|反馈)(?:一下|下|一?个|一些|几个)问题|"
                    r"(?:(?<!能)|(?<=[功可智性技效机本全万节电体]能))不能用|"
                    r"用不了(?!(?:多久|几天|多长|多少)(?!就(?:坏|没电|没声|断|破|裂|烂|掉|不|开|停|失|漏|黑|卡|死|变)))|"
                    r"打不开|不亮|没反应|失灵|故障|失败|扣了两次|重复扣|多扣|"
                    rf"{_DEVICE_FAULT}|"  # 耳机左耳没声音了, 手机黑屏了, 充不进电, 屏幕有坏点
                    rf"{_TRADE_FAULT}|"  # 零食过期了, 桌子腿晃得厉害 (harm reported: _harmed)
                    r"没收到|没有收到|[未冇]收到|收唔到")


def reports_problem(message: str, earlier: Sequence[str] = ()) -> bool:
    """True when the message reports something gone wrong (see _GONE_WRONG), not a worry about
    what might: the customer needs help, not "很高兴为您服务" or "祝您生活愉快". The customer's
    `earlier` turns tell whether a break asked about after the warranty is one had (see
    _break_asked)."""
    text = _read(message).text
    goods = _goods(text, _break_asked(text, earlier))
    return (any(not _ASKED_AFTER.match(goods, m.end()) for m in _GONE_WRONG.finditer(goods))
            or _harmed(goods)) and not _IF_EVER.search(text)


# A clause reporting that something came or was settled (退款到账了, 已经收到了, 问题解决了):
# beside thanks, the customer asks nothing. Not asked (到账了吗), denied (还没收到) or
# qualified (但是, 可是, 不过).
_SETTLED = re.compile(r"(?:已经?|都|也)?(?:到账|到帐|入账|收到|到货|(?<![想看听遇找])到|退回来|退回|解决|处理好|弄好|搞定|换好|修好)了")
_SETTLED_CLAUSE = re.compile(r"[^，,。.!！?？;；~～\s]+")
_UNSETTLED = re.compile(r"[?？]|吗|么|嘛|呢|没|未|不|冇|唔|怎|为什么|什么|哪|多少|几|但|可是|却")


def _without_settled(text: str) -> str:
    """`text` without the clauses that only report something settled (see _SETTLED)."""
    return _SETTLED_CLAUSE.sub(lambda m: " " if _SETTLED.search(m.group()) and m.group().endswith("了")
                               and not _UNSETTLED.search(m.group()) else m.group(), text)


def settled(message: str) -> bool:
    """True when the message reports that something came or was settled (退款到账了,
    已经收到了, 问题解决了; not 到账了吗 nor 还没收到): what was pending is done."""
    text = _read(message).text
    return _without_settled(text) != text


# A bad thing learned, besides a fault or a complaint: 原来质量这么差, 原来你们就是这样做生意的, 原来被退回了.
_LEARNED_WRONG = re.compile(r"(?:这么|那么|好|很|真|太)(?:差|烂)|(?:这样|这么)做(?:生意|事)|被(?:退回|拒收|拦截)")


def _reports_wrong(clause: str) -> bool:
    """Whether a 原来 clause (see _LEARNED) reports something gone wrong or complains (原来少发了一件,
    原来是假货): no rule learned from the agent's answer, which an acknowledgement beside it
    does not settle."""
    return bool(_GONE_WRONG.search(clause) or _grieves(clause) or _harmed(clause) or _LEARNED_WRONG.search(clause)
                or _COMPLAINT.search(_meant(clause)) or _ANGRY.search(clause) or _RILED.search(clause))


def _is_thanks(text: str) -> bool:
    """Thanks, a goodbye or a bare acknowledgement, with no question, problem or complaint;
    a longer message only when it thanks and praises ("…已经收到了，很好用，谢谢你们").
    With thanks, a report that something was settled asks nothing ("退款到账了，谢谢")."""
    if _GRATITUDE.search(text):
        text = _without_settled(text)
    said = text
    if _plan(text) and not _PLAN_ASKS.search(text):  # 行 那我去申请换货
        said = _PLANNED.sub(" ", said)
    if _UNDERSTOOD.search(text):  # 原来只能免费换一次 明白了
        said = _LEARNED.sub(lambda m: m.group() if _reports_wrong(m.group()) else _LEARNED_PLAN.sub(" ", m.group()),
                            said)
    if _ASKING.search(said) or _COMPLAINT.search(_meant(text)):
        return False
    if len(text) > 30:
        return len(text) <= 80 and bool(_GRATITUDE.search(text) and _PRAISE.search(text)) \
            and not _PROBLEM.search(text)
    # An acknowledgement must be there: laughter alone (哈哈哈哈) thanks for nothing.
    # "那好吧", "那行": an acknowledgement that follows on from the agent's reply; chat
    # praise beside it (ok 知道了 yyds, 好的 nb) says no more.
    ack = _CHAT_PRAISE.sub(" ", text.removeprefix("那"))
    # "那好吧 算了", "行吧 那算了": agreed and given up, a goodbye (the 了 of 算了 is no
    # acknowledgement: 那算了 alone may still be about what came before)
    if _RESIGNED.search(ack):
        ack = _RESIGNED.sub(" ", ack).replace("那", " ")
    if _UNDERSTOOD.search(ack):
        ack = _LEARNED.sub(lambda m: m.group() if _reports_wrong(m.group()) else " ", ack)
    return bool(_THANKS.search(text)) or (bool(_ACK.search(ack)) and not _FILLER.sub("", _ACK.sub("", ack))) \
        or _plan(text)


# What a customer types to open a chat without saying anything yet.
_NOTHING_YET = re.compile(r"(?:嗯+|恩+|哦+|噢+|ok|okay|好|好的|在)")


def says_nothing_yet(message: str) -> bool:
    """A bare 嗯, ok, 好的 or only an order number: as the first message of a chat it opens
    the talk, it neither thanks nor asks (没有了, 不用了, 收到 do end one)."""
    text = _stickers_said(_read(message).text)
    said = _FILLER.sub("", text)
    if not said:
        return False
    return not _FILLER.sub("", GIVEN_NUMBER.sub("", text)) or bool(_NOTHING_YET.fullmatch(said))


def chasing(nudges: list[str]) -> tuple[str, str]:
    """(sentiment, urgency) of a customer chasing a question nobody answered yet with
    `nudges` (在吗, 人呢, 有没有人啊！！！; the latest last). While they wait, "!!" is no
    longer emphasis but impatience (angry), and a second nudge is impatience too (at
    least anxious); otherwise what the nudges say themselves."""
    said = [understand(n) for n in nudges]
    sentiment = max((u.sentiment for u in said), key=SENTIMENTS.index, default="calm")
    if any(_EXCLAIM.search(normalize(n).text) for n in nudges):
        sentiment = "angry"
    elif len(nudges) >= 2 and sentiment == "calm":
        sentiment = "anxious"
    pressing = sentiment == "angry" or len(nudges) >= 2 or any(u.urgency == "high" for u in said)
    return sentiment, "high" if pressing else "normal"


def small_talk(message: str) -> bool:
    """A short message that asks, reports, requests and complains of nothing the lexicons
    know (比心, hey): what a greeting or thanks entry of the base may answer."""
    text = _read(message).text
    said = _FILLER.sub("", text)
    return 0 < len(said) <= 12 and not any(p.search(text) for p in (
        _ASKING, _AFTERSALE, _ORDER, _LOGISTICS, GIVEN_NUMBER, _ANXIOUS)) \
        and not _COMPLAINT.search(_meant(text)) and not _ANGRY.search(_meant(text))


def understand(message: str, category: str | None = None, first_message: bool = True,
               earlier: Sequence[str] = ()) -> Understanding:
    """Classify a customer message; `category` is the top retrieved entry's, if any; `earlier`
    the customer's turns before it, oldest first (they tell whether a break asked about
    after the warranty is one had: see _break_asked)."""
    norm = _read(message)
    text = _stickers_said(as_meant(norm.text))  # 再吗 is 在吗, tuihuo 退货: as matching reads them; [再见] 再见
    meant = _meant(text)
    harmed = _harmed(text)
    sentiment = "angry" if _angry(meant) else "anxious" if _anxious(text) or harmed else "calm"
    bare = _VOICE_FILLER.sub("", text)
    break_asked = _break_asked(text, earlier)  # 保修多久？坏了可以送修吗: no fault had
    if _GREETING.search(text) and len(_FILLER.sub("", _GREETING.sub("", _EXCUSE_ME.sub("", text)))) <= 1:
        intent = "greeting"
    elif _OPENER.search(text) and not all(_FILLER.sub("", _EXCUSE_ME.sub("", rest)) for rest in (
            _OPENER.sub("", _GREETING.sub("", text)), _GREETING.sub("", _OPENER.sub("", text)))):
        intent = "greeting"  # either way round: 你好，请问一下 (请问 is a greeting, 请问一下 an opener)
    elif bare != text and (_GREETING.search(bare) or _OPENER.search(bare)) and not all(
            _FILLER.sub("", rest) for rest in (_OPENER.sub("", _GREETING.sub("", _EXCUSE_ME.sub("", bare))),
                                               _GREETING.sub("", _OPENER.sub("", _EXCUSE_ME.sub("", bare))))):
        intent = "greeting"  # nothing but a voice message's fillers besides: 嗯嗯你好啊, 那个在吗
    elif not _FILLER.sub("", text):
        intent = "greeting"  # only emoji, laughter or question marks: ask what they need
    elif not _FILLER.sub("", GIVEN_NUMBER.sub("", text)):
        intent = "order"  # only the order number the agent asked for: no complaint of its own
    elif not_for_us(message):
        # 我想应聘你们的客服: an application, no complaint whatever entry it matched on 客服, and
        # no thanks with 谢谢 after it
        intent = "presale"
    elif sentiment != "angry" and not harmed and _is_thanks(text):
        intent = "thanks"
    elif _COMPLAINT.search(meant) or harmed and not _RETURN_ASKED.search(text):
        intent = "complaint"  # 投诉, 给个说法; or harm to health (用了面霜过敏了, 吃到头发了)
    elif _AFTERSALE.search(_goods(_COUPON_UNUSABLE.sub(" ", text), break_asked)):
        intent = "aftersale"
    elif _ORDER.search(text):
        intent = "order"
    elif _LOGISTICS.search(text):
        intent = "logistics"
    elif _GUARANTEE.search(text) or _BUSINESS.search(text) or _ASKED_BEFORE.search(text) or _PRESALE.search(text) \
            or _COUPON_UNUSABLE.search(text) or break_asked:
        intent = "presale"  # 假一赔十吗, 想谈合作, 会起球吗, 有赠品吗: asked before buying, whatever entry matched
    else:
        intent = category_intent(category)
        if intent == "complaint" and (_DENIED.search(text) or _OWN_TONE_SORRY.search(text)
                                      or calm_question(message)):
            # 不是要投诉，就是想问问…, 你們有賣行動電源嗎: a complaint entry matched on a word
            # the message shares with it (刚才我语气冲了，抱歉: 语气), but nothing is complained of
            intent = "presale"
    urgency = "high" if sentiment == "angry" or harmed or _URGENT.search(text) else "normal"
    return Understanding(intent, STAGE[intent], sentiment, urgency, norm.script, first_message)

"""The safety check: 极限词, promises and sensitive words, with harmless uses left alone."""

from __future__ import annotations

import pytest
from phrasebook import safety

from kefu import corpus
from kefu.suggest.safety import Flag, Safety, word_line, word_list_problems


def _words(flags):
    return [f.word for f in flags]


def test_flags_listed_words_with_positions_and_reasons():
    text = "我们全网第一，顶级品质，保证满意，最好用"
    flags = safety().check(text)
    assert [(f.word, f.start, f.end, f.reason) for f in flags] == [
        ("第一", 4, 6, "极限词"), ("顶级", 7, 9, "极限词"), ("保证", 12, 14, "承诺"), ("最", 17, 18, "极限词")]
    for f in flags:
        assert text[f.start:f.end] == f.word
        assert f.source == "kefu"


def test_every_occurrence_is_flagged():
    flags = safety().check("保证质量，保证发货")
    assert [(f.word, f.start) for f in flags] == [("保证", 0), ("保证", 5)]


def test_safe_phrases_are_not_flagged():
    assert safety().check("我们会第一时间为您处理，最晚明天发货。") == []


def test_safe_phrase_does_not_hide_other_uses():
    flags = safety().check("第一时间处理，全网第一")
    assert [(f.word, f.start) for f in flags] == [("第一", 9)]


def test_longest_word_wins():
    flags = safety().check("全网最低价")
    assert [(f.word, f.start, f.end) for f in flags] == [("最低价", 2, 5)]


def test_longest_word_wins_whatever_order_the_list_gives():
    """The words are put longest first once, when the list is read: each Safety with its own."""
    short_first = Safety(words={"最": "极限词", "最低价": "极限词"}, safe=[])
    assert [(f.word, f.start) for f in short_first.check("全网最低价，最划算")] == [("最低价", 2), ("最", 6)]
    other = Safety(words={"划算": "承诺"}, safe=[])
    assert [(f.word, f.start) for f in other.check("全网最低价，最划算")] == [("划算", 7)]


def test_longest_word_and_a_separate_shorter_one():
    flags = safety().check("最低价，最划算")
    assert [(f.word, f.start) for f in flags] == [("最低价", 0), ("最", 4)]


def test_source_entry_inside_entry_spans_kefu_outside():
    text = "保证满意。最好的服务"
    flags = safety().check(text, entry_spans=[(0, 5)])
    assert [(f.word, f.source) for f in flags] == [("保证", "entry"), ("最", "kefu")]


def test_no_words_no_flags():
    assert Safety(words={}, safe=[]).check("全网最低价") == []
    assert safety().check("") == []


def test_load_reads_tab_separated_words_and_comments(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# 极限词\n最\t极限词\n保证\t承诺\n包治\n\n", encoding="utf-8")
    safe = tmp_path / "safe.txt"
    safe.write_text("# harmless\n第一时间\n最晚\n", encoding="utf-8")
    s = Safety.load(words, safe)
    assert s.words == {"最": "极限词", "保证": "承诺", "包治": "敏感"}
    assert s.check("最晚保证包治") == [Flag("保证", 2, 4, "承诺", "kefu"), Flag("包治", 4, 6, "敏感", "kefu")]


def test_lists_saved_with_a_bom_or_in_gbk_load_and_an_unreadable_one_is_named(tmp_path):
    """Notepad's BOM stuck to the first word (\ufeff保证, never in a draft: 保证 went
    unflagged) and a GBK file was a UnicodeDecodeError traceback in suggest and lint."""
    from kefu.kb.errors import ImportFileError

    words, safe = tmp_path / "words.txt", tmp_path / "safe.txt"
    words.write_bytes("保证\t承诺\r\n最\t极限词\r\n".encode("utf-8-sig"))
    safe.write_bytes("第一时间\n".encode("gbk"))
    s = Safety.load(words, safe)
    assert s.words == {"保证": "承诺", "最": "极限词"} and s.safe == ["第一时间"]
    assert _words(s.check("保证第一时间最")) == ["保证", "最"]
    words.write_bytes(b"\xff\xfe\x00\xd8\x00")
    with pytest.raises(ImportFileError, match="words.txt, line 1"):
        Safety.load(words, safe)


def test_a_word_line_with_a_space_before_its_reason(tmp_path):
    """A space before a known reason reads as the console's form does; a mistyped reason is
    reported (it would make the word 九折承诺类, never in a draft); other spaces are the word's."""
    words = tmp_path / "words.txt"
    words.write_text("满减 极限词\n九折 承诺类\n加 微信\nTOP 1\n保底 承諾\n# 注释 承诺类\n", encoding="utf-8")
    safe = tmp_path / "safe.txt"
    safe.write_text("", encoding="utf-8")
    s = Safety.load(words, safe)
    assert s.words == {"满减": "极限词", "九折承诺类": "敏感", "加微信": "敏感", "top1": "敏感", "保底": "承诺"}
    assert word_list_problems(words) == [(2, "九折 承诺类", "承诺类")]
    assert word_line("满减 极限") == ("满减 极限", "敏感", "极限")
    assert word_line("敏感词\t极限词") == ("敏感词", "极限词", None)


def test_shipped_lists_if_present():
    """The shipped lists (being written): they load, and their safe phrases are never flagged."""
    files = (corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    if not all(f.exists() for f in files):
        pytest.skip("corpus/sensitive_words.txt or corpus/safe_phrases.txt not there yet")
    s = Safety.load(*files)
    assert s.words and s.safe
    for phrase in s.safe:
        assert s.check(phrase) == [], phrase
    for word in s.words:
        if not any(p in word for p in s.safe):
            assert word in _words(s.check(word)), word
    if corpus.HUASHU.exists():
        from kefu.suggest.phrases import PhraseLibrary

        lib = PhraseLibrary.load(corpus.HUASHU)
        used = {"greeting_first", "greeting_later", "thanks_wait", "empathy", "apology", "restate", "escalation",
                "closing", "rating", "clarify", "no_match"}  # the kinds the Composer picks
        assert used <= {p.kind for p in lib.phrases}
        for p in lib.phrases:  # the shipped 话术 must not trip the shipped safety check
            assert s.check(p.text) == [], (p.id, p.text)
        from kefu.suggest.draft import fill

        for p in lib.phrases:
            if p.kind == "clarify":
                assert "{选项}" in p.text, p.id
            if p.kind == "restate":
                assert "{问题}" in p.text, p.id
            if p.kind in used:  # no line the Composer uses leaves a 【请填写…】 in every draft
                text = p.text.replace("{选项}", "「退货」还是「换货」").replace("{问题}", "「退货」")
                assert fill(text, {})[1] == [], (p.id, p.text)


@pytest.mark.parametrize("text", [
    "第一代 AirPods 已停产不再销售", "這是第一代產品", "电池健康里的最大容量在 80% 以上都属正常",
    "最高支持 90W 有线快充", "存储卡最大支持 1TB", "全新机电池健康为 100%", "电池健康度 100%", "充电功率最高可达 90W",
    # a first generation's parts, not 第一代表 (standing for) or 第一代工 (OEM)
    "这是第一代表带，适配吗", "第一代表盘有划痕", "Apple Watch 第一代 表带兼容吗", "第一代工具箱",
])
def test_shipped_lists_leave_product_language_alone(text):
    """An electronics shop's answers name a product's generation and its specification's
    limits: 第一代 is no claim to be first, nor is iOS's 最大容量 or 最高支持 90W a claim
    to be best."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text, word", [
    ("销量全网第一", "第一"), ("最好用的手机", "最好"), ("行业最高品质", "最"),
    # 第一代 and the limits of a specification are safe, not the words that share their letters
    ("全国销量第一代表品质", "第一代表"), ("我们是全网第一代理商", "第一代理"), ("行业第一代工厂", "第一代工"),
    ("本店最大支持力度", "最"), ("最高支持力度", "最"), ("效果最高可达100%", "100%"),
    # the safe 第一代表带 / 第一代工具 inside a claim again
    ("全网第一代表带货王", "第一代表带货"), ("销量第一代表带来好品质", "第一代表带来"), ("全国第一代表盘点", "第一代表盘点"),
    ("行业第一代工具厂商", "第一代工具厂"), ("国内第一代工具生产商", "第一代工具生产"),
])
def test_shipped_lists_still_flag_claims_beside_product_language(text, word):
    assert word in _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text))


@pytest.mark.parametrize("text", [
    "完整成分表在商品详情页最下方", "生产日期印在瓶底，页面最上方有领券入口", "说明书在盒子最底部",
    "开封后请在最佳食用期内吃完", "最佳赏味期为三个月", "包装背面印有最佳食用日期",
])
def test_shipped_lists_leave_food_and_cosmetics_language_alone(text):
    """A cosmetics and snack shop's answers say where a label is (详情页最下方) and a food's
    最佳食用期, the label's own word: every draft of such an entry flagged 最 or 最佳 as 极限词."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text, word", [
    ("这是最佳选择", "最佳"), ("最下单率高的零食", "最"), ("全网最佳食品", "最佳"),
])
def test_shipped_lists_still_flag_claims_beside_food_and_cosmetics_language(text, word):
    assert word in _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text))


def test_a_listed_word_holding_a_whole_safe_phrase_is_still_flagged():
    """A safe phrase is harmless where it stands alone, not inside a longer listed claim:
    第一代 (a product's generation) is safe, 第一代表 (first, standing for …) is not."""
    s = Safety(words={"第一": "极限词", "第一代表": "极限词"}, safe=["第一代"])
    assert _words(s.check("第一代产品")) == []
    assert _words(s.check("销量第一代表品质")) == ["第一代表"]


def test_words_match_in_either_script_width_and_case_and_flags_name_them_as_written():
    s = Safety(words={"保证": "承诺", "100%": "极限词", "加QQ": "敏感", "第一": "极限词"}, safe=["第一时间"])
    text = "保證7天內可以退，第一時間幫您處理；１００％純棉，加qq詳聊"
    assert [(f.word, f.start) for f in s.check(text)] == [
        ("保證", 0), ("１００％", text.index("１００％")), ("加qq", text.index("加qq"))]


@pytest.mark.parametrize("text, flagged", [
    ("建议您最好在签收后检查", []), ("签收后第一天", []), ("第一件半价", []), ("最大可承重20公斤", []),
    ("最高可退50元", []), ("全网通手机", []), ("下单后的第一个工作日发货", []), ("收货第一天就坏了", []),
    ("最好先联系客服", []), ("建议最好在签收后检查", []), ("最高可以退50元", []), ("全网通的手机", []),
    ("全网最低价", ["全网最低"]), ("我们是第一品牌", ["第一品牌"]), ("最好的面料", ["最好"]),
    # the harmless phrases carry their context: the bare words still flag real claims
    ("销量第一天天爆卖", ["第一"]), ("行业第一个零添加", ["第一"]), ("效果最好在同类产品中", ["最好"]),
    ("销量第一天就破万", ["第一"]), ("建议最好的选择就是我们", ["最好"]), ("面料最好先到先得", ["最好"]),
])
def test_advice_and_limits_are_no_superlatives_but_claims_are(text, flagged):
    s = Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    assert _words(s.check(text)) == flagged


@pytest.mark.parametrize("text, flagged", [
    # saying what the shop cannot promise is what the policy wants
    ("已发货的订单可以拦截，但不保证一定成功", []), ("这个没法保证", []), ("不敢保证哦", []),
    ("我们保证一定送到", ["保证", "一定"]),
    # a fibre content is a fact, not a superlative
    ("面料是100%纯棉", []), ("100%羊毛", []), ("100%有效", ["100%"]),
    ("质量问题支持无条件退货，小家电终身质保", ["无条件退货", "终身质保"]), ("假一罚十", ["假一罚十"]),
    ("该商品不支持无条件退货，请谅解", []), ("定制商品不支持无条件退换哦", []),
    ("加我vx详聊", ["加我vx"]), ("五星好评送5元红包", ["五星好评送"]), ("晒图返现3元", ["晒图返现"]),
])
def test_promises_denied_and_fibre_contents_pass_and_new_listed_words_flag(text, flagged):
    s = Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    assert _words(s.check(text)) == flagged


@pytest.mark.parametrize("text, flagged", [
    # advertising-law absolutes beside the ones listed before
    ("品質一流，放心選購", ["一流"]), ("销量NO.1的爆款", ["NO.1"]), ("全店No.1", ["No.1"]), ("销量no1", ["no1"]),
    ("TOP1单品", ["TOP1"]), ("人气Top 1", ["Top 1"]), ("百分之百正品", ["百分之百"]), ("续航遥遥领先", ["遥遥领先"]),
    # leaving the platform, however it is spelt or spaced
    ("加我V信详聊", ["加我V信"]), ("加 微信发图", ["加 微信"]), ("加 我 微 信", ["加 我 微 信"]), ("加我QQ", ["加我QQ"]),
    ("加QQ123456", ["加QQ"]),
    # harmless: a Latin word only stands on its own, 一流 inside 统一流程
    ("订单NO12345已发出", []), ("TOP10榜单", []), ("按统一流程处理", []), ("第 一时间处理", []),
])
def test_more_absolutes_and_spaced_words_flag_and_harmless_uses_do_not(text, flagged):
    s = Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    assert _words(s.check(text)) == flagged


def test_a_flag_across_spaces_names_the_words_as_written_and_where():
    s = Safety(words={"加微信": "敏感", "top1": "极限词"}, safe=[])
    text = "可以加 微信吗，TOP 1"
    assert [(f.word, f.start, f.end) for f in s.check(text)] == [("加 微信", 2, 6), ("TOP 1", 8, 13)]


_CONDUCT = Safety(words={"加微信": "站外交易", "私下交易": "站外交易", "转账": "站外交易", "好评返现": "诱导好评",
                         "验证码": "索要隐私", "刷单": "违规操作", "治疗": "功效宣称", "神经病": "敏感",
                         "最好": "极限词"}, safe=[])


@pytest.mark.parametrize("text", [
    "本店不支持私下交易", "请勿添加微信", "我们不会索要验证码", "客服不会以任何理由要求您加微信或转账",
    "我们不做好评返现，请放心评价", "本店从不刷单", "不刷单", "本品不能治疗疾病", "切勿把验证码告诉他人",
    "凡是让您加微信退款的都是骗子", "谨防有人冒充客服让您转账", "請勿添加微信",
    "千万别私下交易", "有人冒充客服索要验证码请直接挂断",
])
def test_the_shops_own_warnings_are_not_flagged(text):
    """不支持私下交易 / 请勿添加微信 / 不会索要验证码 are the shop warning the customer, not
    the agent leading them off the platform: every such answer was flagged 敏感 in lint and
    in each draft, which taught agents to ignore the flags."""
    assert _words(_CONDUCT.check(text)) == []


@pytest.mark.parametrize("text, flagged", [
    ("亲，加微信发您优惠", ["加微信"]), ("能不能加微信", ["加微信"]), ("要不要加微信聊", ["加微信"]),
    ("加不加微信都行", ["加微信"]), ("有没有刷单", ["刷单"]),
    # a warning reaches the end of its clause, no further
    ("本店不支持私下交易，加微信更方便", ["加微信"]), ("请勿私下交易\n好评返现5元", ["好评返现"]),
    ("不用担心，可以私下交易", ["私下交易"]), ("平台不让，但是可以转账给我", ["转账"]),
    ("请您先确认收货，直接转账给我就行", ["转账"]),
    # reassuring the customer after it is no warning either
    ("刷单不违规的", ["刷单"]), ("直接转账给我不会被骗", ["转账"]), ("加微信不是骗子", ["加微信"]),
    # a negation does not make an absolute claim or an insult acceptable
    ("不是最好的也能用", ["最好"]), ("别神经病了", ["神经病"]),
])
def test_conduct_words_flag_where_no_warning_covers_them(text, flagged):
    assert _words(_CONDUCT.check(text)) == flagged


@pytest.mark.parametrize("text, flagged", [
    # leading the customer off the platform, to talk or to pay
    ("亲，加个微信吧，我发您优惠", [("加个微信", "站外交易")]), ("您留个手机号，我私聊您", [("私聊您", "站外交易")]),
    ("您直接支付宝转给我就行", [("支付宝转", "站外交易")]), ("可以线下交易，便宜点", [("线下交易", "站外交易")]),
    ("私下转账给我，我马上发货", [("私下转账", "站外交易")]), ("不用走平台，省手续费", [("不用走平台", "站外交易")]),
    # as a Taiwan or Hong Kong shop writes it: LINE and WhatsApp are its 微信, 匯款 its 转账
    ("加我LINE：shop_tw88 私下匯款比較便宜", [("加我LINE", "站外交易"), ("私下匯款", "站外交易")]),
    ("匯款給我", [("匯款給我", "站外交易")]), ("加我WhatsApp傾", [("加我WhatsApp", "站外交易")]),
    # rewards for a good review, or for changing or deleting a bad one
    ("晒图返红包", [("晒图返", "诱导好评")]), ("好评返现5元", [("好评返现", "诱导好评")]),
    ("追评改成好评给你补偿", [("追评改", "诱导好评"), ("好评给你补", "诱导好评")]),
    ("把差评删了我给您退10元", [("差评删", "诱导好评")]),
    ("好评截图发给客服领红包", [("好评截图", "诱导好评")]), ("亲可以加我个人微信哦", [("个人微信", "站外交易")]),
    # data no order needs
    ("麻烦提供一下身份证号", [("身份证号", "索要隐私")]), ("请告诉我您的银行卡密码", [("银行卡密码", "索要隐私")]),
    ("请把收到的验证码发给我", [("验证码发给", "索要隐私")]),
    # what the platforms forbid
    ("我们可以帮您刷单", [("刷单", "违规操作")]), ("可以先虚假发货", [("虚假发货", "违规操作")]),
    # medical claims for cosmetics and food
    ("这款面霜可以治疗痘痘", [("治疗", "功效宣称")]), ("祛斑效果明显", [("祛斑", "功效宣称")]),
    ("喝了可以减肥", [("减肥", "功效宣称")]), ("能降血压", [("降血压", "功效宣称")]),
    ("纯天然无添加，无副作用", [("纯天然无添加", "功效宣称"), ("无副作用", "功效宣称")]),
])
def test_shipped_lists_flag_what_the_platforms_penalise_with_its_reason(text, flagged):
    """加个微信, 晒图返红包, 身份证号, 验证码发给我, 虚假发货 and 治疗/祛斑/减肥 passed every
    draft unflagged: the shipped list knew a few spellings of 加微信 and nothing else."""
    s = Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    assert [(f.word, f.reason) for f in s.check(text)] == flagged


@pytest.mark.parametrize("text", [
    "本店不支持私下交易，请在平台内下单付款", "请勿添加任何自称客服的微信", "我们不会索要验证码、密码，也不会要求您转账",
    "本店不做好评返现，欢迎如实评价", "客服不会以任何理由要求您加微信或QQ", "请勿向任何人透露银行卡密码和验证码",
    "本店从不刷单", "本品为普通化妆品，不能治疗皮肤疾病", "凡是让您私下转账的都是骗子",
    # a refund paid into the customer's bank account, and the platform's own chat (蝦皮, 粉絲專頁)
    "退款會直接匯款至您的銀行帳戶", "有問題歡迎私訊我們的粉絲專頁",
    # what the sample shop's answers say about payment and accounts
    "退到支付宝或微信一般24小时内到账", "用手机号接收验证码就能免费注册", "在登录页点击“忘记密码”，输入注册手机号并填写验证码",
])
def test_shipped_lists_leave_the_shops_warnings_and_ordinary_answers_alone(text):
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", [
    "不会用的话加我微信教您", "不能退的话加我微信", "不要急加我微信", "没有收到货加我微信", "拒绝退款的话加我微信处理",
    "不支持七天无理由可以加微信", "不支持七天无理由 可以加微信", "不支持七天无理由、可以加微信",
    "谨防冒充加我微信核实", "为了防止有人冒充请加我微信核实", "不好意思这边不能改价您加我微信私下交易",
    "没有优惠券可以好评返现", "千万别给差评好评返现20", "不会有人知道的刷单", "不要声张我们这个刷单",
    "要不加我微信", "何不加我微信", "加我微信说这里有违规词", "直接转账给我防诈骗", "不需要下单直接转账给我",
    "不会让您吃亏 直接转账给我", "无需节食轻松减肥", "无需吃药就能降血压", "绝不反弹的减肥茶",
    "不会过敏也没有副作用", "不会过敏还能祛斑",
])
def test_a_denial_spares_only_the_word_it_governs(text):
    """A denial cue anywhere in the 16 characters before a word spared it: 不会用的话加我微信教您,
    无需节食轻松减肥 and 直接转账给我防诈骗 passed unflagged. The denial must govern the word
    (right before it, or across 要求您 / 向任何人 …), and 冒充 / 诈骗 after it warn only as
    让您……的都是骗子."""
    s = Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    assert s.check(text), text


@pytest.mark.parametrize("text", [
    "不支持私下交易", "请勿添加微信", "本店不会以任何理由要求您加微信", "我们不做好评返现", "不刷单",
    "本店从不刷单", "谨防有人冒充客服让您转账", "请勿向任何人透露银行卡密码和验证码",
    "如果有人冒充本店让您私下转账，请不要付款", "本品不能代替药物治疗疾病",
])
def test_the_shops_warnings_still_pass_with_the_shipped_lists(text):
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", [
    "这款减肥餐具套装已经发货了", "减肥期间也可以吃哦", "正在治疗期间能用吗？建议先咨询医生", "术后治疗跟进由医院负责",
    "这款是药用级甘油", "我们这款是医用级硅胶奶嘴", "收货时请把收货验证码告诉快递员", "快递员会让您提供验证码签收",
    "对公账户可以直接转账，到账后开票", "晒图返积分20分", "确认收货后好评有礼是平台的活动哦", "追评改天再写也可以",
])
def test_ordinary_shop_text_is_not_flagged(text):
    """A diet tableware set, a pet's after-surgery care, pharmaceutical-grade glycerin, the
    courier's delivery code, a company transfer and the sample shop's own 晒图返积分 were
    flagged as platform violations."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", [
    "加我微信不需要排队", "加我微信不用走平台", "刷单不用怕", "好评返现不会被发现", "喝了就能减肥", "医用级面膜",
    "把验证码告诉我", "请提供验证码",
])
def test_real_violations_still_flag_beside_the_safe_phrases(text):
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text", [
    "身份证号我们不需要", "银行卡号不用告诉我们", "我的微信号不能给您，请在这里留言", "验证码不要告诉任何人",
])
def test_a_denial_right_after_the_word_spares_it(text):
    """身份证号我们不需要 / 银行卡号不用告诉我们 / 我的微信号不能给您 say no to the very
    thing the word names; they were flagged as asking for it."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["加我微信不需要排队", "加我微信不用走平台", "刷单不用怕", "直接转账给我不会被骗"])
def test_a_denial_after_the_word_of_something_else_still_flags(text):
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text", [
    "好评后联系客服领红包", "五星好评晒图找客服领红包哦", "评价返现5元", "加威信", "我的薇信是abc123",
    "微信号：abc123", "VX: abc123", "有问题直接wx：abc123", "加V信", "v信联系", "vx号abc123",
])
def test_the_common_dodges_of_the_platform_rules_flag(text):
    """好评后联系客服领红包 (the card in the parcel that pays for a good review), 加威信 /
    薇信 / V信 (misspelt 微信 that pass a platform's own filter) and an ID after 微信号： or
    VX: were not flagged in an answer."""
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text", ["这款电视盒子TV信号很稳定", "好评有礼是平台的活动", "请勿添加任何微信号：都是骗子"])
def test_the_dodge_words_leave_ordinary_text_alone(text):
    """v信 starts with a Latin letter, so it stands on its own there as no1 does: TV信号 is
    a television's signal."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["放心不会有问题的直接转账给我", "不会让你失望的加我微信", "不要担心加我微信"])
def test_a_denial_of_something_else_earlier_in_a_long_clause_spares_nothing(text):
    """不会 denies 有问题, not the 转账 after it: a denial spares a word only when what stands
    between them is the short allowed gap."""
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


def test_a_reason_with_a_typo_is_reported_not_read_into_the_word():
    """治疗 功效宣传 (宣传 for 宣称) read as the one word 治疗功效宣传, never in a draft, and
    no warning said so: a last part that shares a reason's first two characters, or a
    reason of three or more characters but for one, is a mistyped reason."""
    assert word_line("治疗 功效宣传") == ("治疗 功效宣传", "敏感", "功效宣传")
    assert word_line("加微信 站外交意") == ("加微信 站外交意", "敏感", "站外交意")
    assert word_line("刷单 工效宣称")[2] == "工效宣称"
    for line in ("加 微信", "五星 好评", "没有 质感", "TOP 1"):  # a space inside a word, as before
        assert word_line(line)[2] is None, line


@pytest.mark.parametrize("text", [
    "支付宝：即时到账；微信：1-3个工作日；信用卡：3-7个工作日", "不同支付方式到账时间不同。微信：原路退回零钱",
    "退款将原路退回您的微信：请注意查收",
])
def test_a_refund_timing_answer_naming_wechat_pay_is_not_flagged(text):
    """The list's 微信: flagged every answer that lists how long each way of paying takes
    (微信：1-3个工作日) as 站外交易; an ID after the colon is caught by 微信号: / vx: / wx:."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", [
    "如有破损请拍照晒图联系客服，我们给您补发", "收到货有问题请晒图后联系客服处理", "晒图找客服登记",
])
def test_after_sale_photos_sent_to_the_agent_are_not_paid_reviews(text):
    """晒图 is also the photo of a broken item sent to the agent: 晒图联系客服，我们给您补发
    was flagged as 诱导好评. The parcel card's 晒图后联系客服领红包 still flags."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["晒图后联系客服领红包", "五星好评晒图后联系客服", "晒图联系客服返现5元", "好评晒图找客服"])
def test_a_photo_for_a_reward_still_flags(text):
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text", ["好评后联系客服可以修改地址吗", "亲，好评后联系客服可以修改地址的",
                                  "确认收货好评后找客服开发票就行"])
def test_contacting_the_agent_after_a_review_for_an_errand_is_no_paid_review(text):
    """好评后联系 flagged every sentence with a good review and then a contact, a customer's
    question about changing the address as well: the dodge is a reward for the review."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["好评后联系客服领红包", "好评返现", "晒图联系客服返现", "好评联系客服返现5元",
                                  "好评后找客服领取奖励", "五星好评后联系我们领红包"])
def test_contacting_the_agent_for_a_reward_for_a_review_still_flags(text):
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text", [
    "五星好评后联系客服，领取2元红包", "好评后联系客服，返现3元", "好评后联系客服有惊喜", "好评后联系客服送小礼品",
    "好评后联系客服拿红包", "好评后联系客服获得5元红包", "五星好评后联系客服即可领取红包", "好评后联系客服，有红包哦",
    "好评后联系在线客服领红包", "好评后联系客服小姐姐领红包", "好评后联系客服有礼", "全五星好评后联系客服享红包",
    "好评后联系客服兑换红包", "好评后联系客服补贴2元", "五星好评晒图后联系客服", "好评后找客服拿奖励",
])
def test_a_reward_for_a_review_flags_however_the_card_words_it(text):
    """The reward on a parcel card is worded a hundred ways (有惊喜, 送小礼品, 兑换红包, a comma
    before 领取): 好评后联系 flags as such, and only an errand (修改地址, 开发票) spares it."""
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text", ["好评后联系客服开发票", "好评后找客服退运费险", "好评后联系客服改地址"])
def test_more_errands_after_a_review_are_no_paid_review(text):
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["请确认微信号是否已实名认证", "您的微信号是否与下单手机一致", "这样能增加威信吗"])
def test_asking_whether_a_wechat_id_is_verified_is_no_offsite_deal(text):
    """微信号是否 asks about the customer's own account (微信号是 flagged it), and 增加威信
    (to gain prestige) held 加威信. 微信号是abc123 and 加威信 alone still flag."""
    safety = Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES)
    assert _words(safety.check(text)) == []
    assert safety.check("微信号是abc123") and safety.check("加威信")


@pytest.mark.parametrize("text", ["本店不参与好评返现、追评返现", "我们不会索要身份证号、银行卡密码或验证码"])
def test_a_denial_governs_every_word_of_a_listed_run(text):
    """本店不参与好评返现、追评返现 denies both, yet 追评返现 after the 、 was flagged."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["不要相信任何VX:开头的陌生人", "请勿相信加微信退款的说法"])
def test_a_warning_not_to_believe_spares_the_word(text):
    """不要相信 / 请勿相信 warn against what follows: 不要相信任何VX:开头的陌生人 was flagged."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("line", ["保证 夸大类", "保证 xx类", "最 违禁词", "全网 廣告詞"])
def test_a_reason_of_the_editors_own_is_reported_not_read_into_the_word(line):
    """保证 夸大类 (a reason none of REASONS, nor like one) was read as the one word 保证夸大类,
    which no draft holds, and neither the console nor kefu lint said so: a last part that
    ends as a group of words is named (类, 词) is a reason."""
    word, reason, bad = word_line(line)
    assert (word, reason, bad) == (line, "敏感", line.split()[-1])


@pytest.mark.parametrize("line", ["保证 功效显著", "效果 极限挑战"])
def test_a_word_whose_last_part_only_begins_like_a_reason_is_no_mistyped_reason(line):
    """保证 功效显著 is a word with a space: sharing 功效 with 功效宣称 made it a mistyped reason,
    which the console refused and kefu lint warned of. 功效宣传 (one character off) still is."""
    assert word_line(line)[2] is None
    assert word_line("治疗 功效宣传")[2] == "功效宣传"


@pytest.mark.parametrize("text", [
    "包裹里如有“好评后联系客服领红包”的卡片，请勿相信", "收到写着「好评返现」的小卡片请不要相信，那是骗子",
])
def test_a_quoted_card_the_shop_warns_of_is_not_flagged(text):
    """The shop quoting a fake card (“好评后联系客服领红包”的卡片，请勿相信) warns of it; the
    warning after the quote, in the same sentence, spares the quoted word."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == []


@pytest.mark.parametrize("text", ["“好评返现”活动进行中，不要错过", "写“好评返现”就行。请勿相信别人"])
def test_a_quoted_word_without_a_warning_of_it_still_flags(text):
    assert Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text), text


@pytest.mark.parametrize("text, flagged", [
    ("有问题联系微信：kefu_2026", ["微信：kefu_2026"]), ("微信：abc12345", ["微信：abc12345"]),
    ("加急的话微信: Kefu-2026 找我", ["微信: Kefu-2026"]), ("微信号：abc123", ["微信号："]),
    # a payment's timing, a refund to the balance, and the shop's warning are no ID
    ("支付宝：即时到账；微信：1-3个工作日", []), ("退回您的微信：零钱", []), ("请勿添加微信：kefu_2026，谨防诈骗", []),
])
def test_a_wechat_id_after_its_colon_is_flagged(text, flagged):
    """有问题联系微信：kefu_2026 gave the customer a WeChat ID unflagged: the list has no 微信：
    (微信：1-3个工作日 is a refund's timing). An ID, a Latin letter and five more, flags."""
    assert _words(Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES).check(text)) == flagged

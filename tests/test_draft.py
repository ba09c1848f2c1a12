"""Reply drafts from a tiny hand-written 话术 library around hand-built hits."""

from __future__ import annotations

import re

import pytest
from phrasebook import (APOLOGY, CLOSING, EMPATHY, ESCALATION, GREETING_FIRST, GREETING_LATER, NO_MATCH, RATING,
                        composer, hit)

from kefu.kb.text import SIMPLIFIED, TRADITIONAL, script_evidence, to_simplified
from kefu.suggest.understand import Understanding, understand

RETURN = "签收后7天内可申请退货，48小时内审核，退款3-7个工作日到账。"
RETURN_HIT = hit("ret", RETURN, tags=["退货"])
EXCHANGE_HIT = hit("exch", "换货请在订单页申请，我们48小时内处理。", tags=["换货"], question="怎么换货")
ALL_LINES = [GREETING_FIRST, GREETING_LATER, EMPATHY, APOLOGY, ESCALATION, CLOSING, RATING, NO_MATCH]


def u_(intent="aftersale", sentiment="calm", first=True, script=SIMPLIFIED, urgency="normal"):
    return Understanding(intent, "提供解决方案", sentiment, urgency, script, first)


def all_drafts(c, u, key="key"):
    """Every kind of draft the Composer makes, for one understanding."""
    drafts = [c.warm(u, RETURN_HIT, {}, key), c.concise(u, RETURN_HIT, {}, key),
              c.concise(u, EXCHANGE_HIT, {}, key, style="alternative"),
              c.both(u, RETURN_HIT, EXCHANGE_HIT, {}, key), c.clarify(u, [RETURN_HIT, EXCHANGE_HIT], {}, key),
              c.holding(u, {}, key), c.only("closing", "closing", u, {}, key)]
    assert all(drafts)
    return drafts


# -- warm -------------------------------------------------------------------------------

def test_warm_first_calm_message():
    u = understand("请问怎么退货", "售后")
    assert (u.sentiment, u.intent, u.first_message) == ("calm", "aftersale", True)
    d = composer().warm(u, RETURN_HIT, {}, "请问怎么退货")
    assert d.text.startswith(GREETING_FIRST)
    assert RETURN in d.text
    assert d.text.endswith(CLOSING)
    assert d.text == GREETING_FIRST + RETURN + CLOSING
    assert d.style == "warm" and d.entry_ids == ["ret"]
    assert d.flags == [] and d.missing_variables == []
    assert any("g1" in line for line in d.explanation) and any("c1" in line for line in d.explanation)


def test_complaint_starts_with_apology_and_escalates():
    u = understand("你们太差了，我要投诉，怎么退货", "售后")
    assert (u.intent, u.sentiment) == ("complaint", "angry")
    d = composer().warm(u, RETURN_HIT, {}, "k")
    assert d.text.startswith(APOLOGY)
    assert ESCALATION in d.text
    assert d.text.index(RETURN) < d.text.index(ESCALATION)
    assert GREETING_FIRST not in d.text and GREETING_LATER not in d.text
    assert EMPATHY not in d.text
    assert RETURN in d.text


@pytest.mark.parametrize("answer", ["亲，非常抱歉让您久等了，我们已加急处理。", "很抱歉让您失望了，已为您登记。",
                                    "非常理解您的心情，我们马上处理。"])
def test_answer_that_apologises_itself_gets_no_second_apology(answer):
    u = understand("你们太差了，我要投诉", "投诉")
    d = composer().warm(u, hit("cmp", answer, tags=["投诉"]), {}, "k")
    assert APOLOGY not in d.text and EMPATHY not in d.text
    assert SALUTATION_FREE(answer) in d.text and ESCALATION in d.text
    assert any("own apology" in line for line in d.explanation)
    calm = composer().warm(u, RETURN_HIT, {}, "k")  # an answer without one still gets it
    assert calm.text.startswith(APOLOGY)


def test_answer_that_escalates_itself_gets_no_escalation_line():
    u = understand("你们太差了，我要投诉", "投诉")
    answer = "很抱歉，已记录，客服主管会在24小时内给您回电。"
    d = composer().warm(u, hit("cmp", answer, tags=["投诉"]), {}, "k")
    assert ESCALATION not in d.text and answer in d.text
    assert any("already escalates" in line for line in d.explanation)


def SALUTATION_FREE(text: str) -> str:
    return text.removeprefix("亲，")


def test_angry_without_complaint_words_starts_with_apology_no_greeting():
    u = u_(intent="logistics", sentiment="angry", urgency="high")
    d = composer().warm(u, RETURN_HIT, {}, "k")
    assert d.text.startswith(APOLOGY)
    assert GREETING_FIRST not in d.text


def test_complaint_intent_while_calm_still_apologises():
    d = composer().warm(u_(intent="complaint", sentiment="calm"), RETURN_HIT, {}, "k")
    assert d.text.startswith(APOLOGY) and ESCALATION in d.text and GREETING_FIRST not in d.text


def test_anxious_gets_empathy_before_answer():
    u = understand("急，怎么退货啊", "售后")
    assert u.sentiment == "anxious"
    d = composer().warm(u, RETURN_HIT, {}, "k")
    assert EMPATHY in d.text and APOLOGY not in d.text
    assert d.text.index(EMPATHY) < d.text.index(RETURN)
    assert d.text.startswith(GREETING_FIRST + EMPATHY)


def test_anxious_mid_conversation_starts_with_empathy():
    d = composer().warm(u_(sentiment="anxious", first=False), RETURN_HIT, {}, "k")
    assert d.text.startswith(EMPATHY)


@pytest.mark.parametrize("sentiment, intent", [("calm", "aftersale"), ("anxious", "logistics"),
                                               ("angry", "complaint")])
def test_mid_conversation_never_greets_first(sentiment, intent):
    u = u_(intent=intent, sentiment=sentiment, first=False)
    for d in all_drafts(composer(), u):
        assert GREETING_FIRST not in d.text, (d.style, d.text)


def test_warm_mid_conversation_is_answer_and_closing():
    d = composer().warm(u_(first=False), RETURN_HIT, {}, "k")
    assert d.text == RETURN + CLOSING


# -- other styles -------------------------------------------------------------------------

def test_concise_is_short_opener_and_answer():
    d = composer().concise(u_(), RETURN_HIT, {}, "k")
    assert d.text == GREETING_LATER + RETURN and d.style == "concise" and d.entry_ids == ["ret"]
    alt = composer().concise(u_(), EXCHANGE_HIT, {}, "k", style="alternative")
    assert alt.style == "alternative" and alt.entry_ids == ["exch"]


def test_both_answers_in_order():
    d = composer().both(u_(), RETURN_HIT, EXCHANGE_HIT, {}, "k")
    assert d.style == "both" and d.entry_ids == ["ret", "exch"]
    assert d.text.index(RETURN) < d.text.index("另外") < d.text.index(EXCHANGE_HIT.answer)


def test_clarify_names_topics_from_tags():
    d = composer().clarify(u_(), [RETURN_HIT, EXCHANGE_HIT], {}, "k")
    assert "「退货」还是「换货」" in d.text
    assert d.text == "请问您想咨询「退货」还是「换货」呢？"
    assert d.style == "clarify" and d.entry_ids == ["ret", "exch"]
    assert RETURN not in d.text and EXCHANGE_HIT.answer not in d.text


def test_clarify_skips_stage_tags_and_falls_back_to_question():
    a = hit("a", "答A", tags=["提供解决方案", "退货"])
    b = hit("b", "答B", tags=["接待"], question="怎么换货？")
    d = composer().clarify(u_(), [a, b], {}, "k")
    assert "「退货」还是「怎么换货」" in d.text


def test_clarify_three_topics():
    c = hit("c", "答C", tags=["退款"])
    d = composer().clarify(u_(), [RETURN_HIT, EXCHANGE_HIT, c], {}, "k")
    assert "「退货」、「换货」还是「退款」" in d.text


def test_clarify_needs_two_topics():
    same = hit("ret2", "另一个退货答案", tags=["退货"])
    assert composer().clarify(u_(), [RETURN_HIT, same], {}, "k") is None


def test_holding_has_no_answer():
    for u in (u_(), u_(first=False), u_(sentiment="anxious")):
        d = composer().holding(u, {}, "k")
        assert d.style == "no_match" and d.entry_ids == []
        assert d.text.endswith(NO_MATCH)
        assert RETURN not in d.text and EXCHANGE_HIT.answer not in d.text
    assert composer().holding(u_(intent="complaint", sentiment="angry"), {}, "k").text == APOLOGY + NO_MATCH


def test_closing_only_invites_rating():
    d = composer().only("closing", "closing", u_(intent="thanks"), {}, "k")
    assert d.text == CLOSING + RATING and d.style == "closing" and d.entry_ids == []


def test_same_key_same_wording():
    c = composer()
    u = u_()
    assert c.warm(u, RETURN_HIT, {}, "同一条消息").text == c.warm(u, RETURN_HIT, {}, "同一条消息").text


def test_answer_salutation_dropped_after_kefu_opener():
    h = hit("s", "亲，" + RETURN)
    c = composer()
    assert c.warm(u_(), h, {}, "k").text == GREETING_FIRST + RETURN + CLOSING
    assert c.concise(u_(), h, {}, "k").text == GREETING_LATER + RETURN
    # nothing before the answer: the entry's own salutation stays
    assert c.warm(u_(first=False), h, {}, "k").text == "亲，" + RETURN + CLOSING


# -- script ----------------------------------------------------------------------------------

def test_traditional_customer_gets_traditional_draft():
    u = understand("我要退貨，請問怎麼申請", "售後")
    assert u.script == TRADITIONAL
    d = composer().warm(u, RETURN_HIT, {}, "k")
    trad, simp = script_evidence(d.text)
    assert trad > simp
    assert to_simplified(d.text).startswith(to_simplified(GREETING_FIRST))


def test_traditional_answer_is_simplified_for_simplified_customer():
    trad_hit = hit("tw", "簽收後7天內可申請退貨，退款會在3-7個工作日到帳。", tags=["退货"])
    d = composer().warm(u_(), trad_hit, {}, "k")
    trad, simp = script_evidence(d.text)
    assert trad == 0 and simp > 0
    assert "签收后7天内可申请退货" in d.text


@pytest.mark.parametrize("script", [SIMPLIFIED, TRADITIONAL])
def test_numbers_preserved_in_both_scripts(script):
    h = hit("n", "付款后48小时内发货，退款3-7个工作日到账，满99元包邮，客服电话400-123-4567。")
    for d in (composer().warm(u_(script=script), h, {}, "k"), composer().concise(u_(script=script), h, {}, "k")):
        for number in ("48", "3-7", "99", "400-123-4567"):
            assert number in d.text, (script, d.text)
        assert re.findall(r"[\d-]+", d.text) == ["48", "3-7", "99", "400-123-4567"]


# -- variables --------------------------------------------------------------------------------

def test_values_fill_answer_variables():
    h = hit("v", "{客户称呼||亲}，您的订单{订单号}已发货。")
    d = composer().concise(u_(), h, {"订单号": "2026112812345678"}, "k")
    assert "亲，您的订单2026112812345678已发货。" in d.text
    assert d.missing_variables == []


def test_missing_variable_is_visible_and_listed_once():
    h = hit("v", "订单{订单号}已发货，请核对订单{订单号}。")
    d = composer().concise(u_(), h, {}, "k")
    assert d.text.count("【请填写订单号】") == 2
    assert d.missing_variables == ["订单号"]


def test_missing_variable_in_phrase_and_answer_listed_once():
    c = composer(closing="订单{订单号}有问题随时找我。")
    d = c.warm(u_(), hit("v", "订单{订单号}已发货。"), {}, "k")
    assert d.missing_variables == ["订单号"]


# -- safety flags --------------------------------------------------------------------------------

def test_clean_library_and_answer_have_no_flags():
    for d in all_drafts(composer(), u_()):
        assert d.flags == [], (d.style, d.flags)


def test_banned_word_in_phrase_is_flagged_as_kefu():
    c = composer(closing="我们保证让您满意。")
    d = c.warm(u_(), RETURN_HIT, {}, "k")
    assert [(f.word, f.source) for f in d.flags] == [("保证", "kefu")]
    f = d.flags[0]
    assert d.text[f.start:f.end] == "保证"
    assert f.reason == "承诺"


def test_banned_word_in_answer_is_flagged_as_entry():
    h = hit("b", "本店全网最低价，第一时间发货。")
    d = composer().warm(u_(), h, {}, "k")
    assert [(f.word, f.source) for f in d.flags] == [("最低价", "entry")]
    f = d.flags[0]
    assert d.text[f.start:f.end] == "最低价"


def test_flags_from_both_sources_point_into_the_draft():
    c = composer(greeting_first="您好，顶级客服为您服务～")
    d = c.warm(u_(), hit("b", "保证7天内发货。"), {}, "k")
    assert [(f.word, f.source) for f in d.flags] == [("顶级", "kefu"), ("保证", "entry")]
    for f in d.flags:
        assert d.text[f.start:f.end] == f.word


def test_banned_word_flagged_in_traditional_draft():
    d = composer().warm(u_(script=TRADITIONAL), hit("b", "我们保证7天内发货。"), {}, "k")
    assert [(f.word, f.source) for f in d.flags] == [("保证", "entry")]
    f = d.flags[0]
    assert d.text[f.start:f.end] == "保證"

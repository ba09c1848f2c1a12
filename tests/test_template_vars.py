"""Variables in answers and 话术: well-formedness, validation, filling, values from messages."""

from __future__ import annotations

import json

import pytest

from kefu.kb.entry import validate
from kefu.kb.errors import ImportFileError, InvalidEntry
from kefu.kb.text import normalize
from kefu.kb.template import broken_variable, variables
from kefu.suggest.draft import fill, values_from_message
from kefu.suggest.phrases import PhraseLibrary


@pytest.mark.parametrize("text", ["单号{订单号", "单号订单号}", "单号{}", "{ }", "{订单号}}", "{{订单号}"])
def test_broken_variables_are_described(text):
    assert broken_variable(text)


@pytest.mark.parametrize("text", ["{客户称呼||亲}，您的订单{订单号}已发货", "{客户称呼||}", "没有变量的答案", ""])
def test_well_formed_variables_pass(text):
    assert broken_variable(text) is None


def test_variables_lists_names_without_fallbacks():
    assert variables("{客户称呼||亲}，单号{ 订单号 }") == ["客户称呼", "订单号"]


def test_validate_rejects_broken_variable_in_answer():
    with pytest.raises(InvalidEntry) as err:
        validate({"question": "发货了吗", "answer": "您的订单{订单号已发货"})
    assert err.value.field == "answer"
    assert "broken variable" in str(err.value)


def test_validate_accepts_well_formed_variables():
    out = validate({"question": "发货了吗", "answer": " {客户称呼||亲}，订单{订单号}已发货 "})
    assert out["answer"] == "{客户称呼||亲}，订单{订单号}已发货"


def test_store_refuses_entry_with_broken_variable(store):
    with pytest.raises(InvalidEntry) as err:
        store.add({"question": "发货了吗", "answer": "订单号}已发货"})
    assert err.value.field == "answer"
    assert store.count() == 0


def test_fill_uses_value_then_fallback():
    text, missing = fill("{客户称呼||亲}，订单{订单号}已发货", {"订单号": "2026112812345678"})
    assert text == "亲，订单2026112812345678已发货"
    assert missing == []
    text, missing = fill("{客户称呼||亲}好", {"客户称呼": "王女士"})
    assert text == "王女士好" and missing == []


def test_fill_empty_value_falls_back():
    assert fill("{客户称呼||亲}好", {"客户称呼": ""}) == ("亲好", [])


def test_fill_marks_missing_variable_visibly():
    text, missing = fill("订单{订单号}已发货", {})
    assert text == "订单【请填写订单号】已发货"
    assert missing == ["订单号"]


def test_fill_lists_a_repeated_missing_variable_once():
    text, missing = fill("订单{订单号}已发货，请核对{订单号}", {})
    assert text == "订单【请填写订单号】已发货，请核对【请填写订单号】"
    assert missing == ["订单号"]


@pytest.mark.parametrize("text, order", [
    ("我的包裹在哪？订单号：2026 1128 1234 5678", "2026112812345678"),  # read off a screen in groups
    ("订单号2026-1128-1234-5678", "2026112812345678"),
    ("2026 1128 1234 5678 到哪了", "2026112812345678"),
    # the label joined to the number by 是 or 为, as said aloud or typed in a sentence
    ("订单号是 1234 5678 9012 什么时候发货", "123456789012"), ("我的订单号是1234-5678-9012", "123456789012"),
    ("订单编号为 1234 5678 9012", "123456789012"), ("电话是138 1234 5678", None),
    ("电话138 1234 5678", None), ("座机0755 1234 5678", None),  # a phone, grouped as phones are
    ("退款退到我的银行卡6222 0212 3456 7890 123", None), ("身份证 110101 19900307 1234", None),
])
def test_an_order_number_typed_in_groups_is_found_whole(text, order):
    assert values_from_message(text).get("订单号") == order


@pytest.mark.parametrize("text, order", [
    ("订单号是幺三五七二四六八九零一二三四五六七帮我查一下", "13572468901234567"),
    ("我的订单号是一三五七二四六八九零一二三四五六七你帮我看看", "13572468901234567"),
    ("订单二零二六一一二八一二三四五六七八到哪了", "2026112812345678"),
    ("电话幺三八一二三四五六七八九", None), ("我买了两件一百二十九块的", None), ("三三两两", None)])
def test_an_order_number_said_in_chinese_digits_is_found(text, order):
    """A phone's speech-to-text writes a number read out digit by digit in characters
    (幺三五七…): the draft asked for the order number the customer had just said."""
    assert values_from_message(text).get("订单号") == order


@pytest.mark.parametrize("text, asked, values", [
    ("13912345678一直打不通", "请提供订单号", {}),
    ("订单2026120112345三天了还没发货", "", {"订单号": "2026120112345"}),
    ("订单２０２６１２０１１２３４５三天了还没发货", "", {"订单号": "2026120112345"}),
    ("单号SF1234567890一直不更新", "", {"快递单号": "SF1234567890", "运单号": "SF1234567890"}),
    ("订单号123456789012七天无理由能退吗", "", {"订单号": "123456789012"}),
    ("订单幺三五七二四六八零九一二三天了", "", {"订单号": "135724680912"})])
def test_a_typed_number_does_not_take_the_number_word_after_it(text, asked, values):
    """SPOKEN_NUMBER took typed digits and the 一 of 一直 (the 三 of 三天) after them as one
    number said aloud: a phone number became order number 139123456781, SF1234567890 the
    tracking number SF12345678901."""
    assert values_from_message(normalize(text).text, asked) == values


def test_values_from_message_finds_order_number():
    assert values_from_message("我的订单号是2026112812345678，什么时候发货")["订单号"] == "2026112812345678"


def test_a_pinduoduo_order_number_is_taken_whole_and_a_carriers_number_is_no_order_number():
    assert values_from_message("订单号：231128-123456789012345 到哪了")["订单号"] == "231128-123456789012345"
    values = values_from_message("我的中通75312345678901到哪了")
    assert values["快递单号"] == "75312345678901" and "订单号" not in values


def test_variable_names_match_in_either_script():
    text = "訂單{訂單號}的{商品名}已出貨，{客户称呼||親}"
    assert fill(text, {"订单号": "2026112812345678", "商品名": "保溫杯"}) == (
        "訂單2026112812345678的保溫杯已出貨，親", [])
    assert fill(text, {"訂單號": "123456789012"}) == ("訂單123456789012的【请填写商品名】已出貨，親", ["商品名"])


@pytest.mark.parametrize("text", [
    "退款进度怎么查，退到我的银行卡6222021234567890123", "我手机号+8613812345678，订单退款进度怎么查",
    "清关要身份证号吗，我的是110101199003071234",
    "退款怎么还没到 6228480402564890018", "退款打到6222 0212 3456 7890 128了吗",  # a UnionPay card, unnamed
])
def test_a_phone_card_or_id_number_is_not_taken_for_the_order_number(text):
    assert "订单号" not in values_from_message(text)


@pytest.mark.parametrize("text", [
    "付款两天了还没发货 这个 https://item.taobao.com/item.htm?id=623456789012345",  # a product id in a link
    "还没发货 shop.example.com/p/1234567890123这个",  # a link without its scheme
    "这个什么时候发货 下单时间20261128103015",  # an order time
    "下單時間：20261128103015 还没发货",
    "加我微信号 wxid_123456789012345", "微信 123456789012 联系我", "QQ号１２３４５６７８９０１２",
])
def test_digits_of_a_link_or_after_another_label_are_not_the_order_number(text):
    assert "订单号" not in values_from_message(text)


@pytest.mark.parametrize("text, order", [
    # a product card pasted from the chat app: its ids are the goods', not an order's
    ("[商品] 商品ID：678901234567 这款有货吗", None), ("商品编号 678901234567890 还有吗", None),
    ("SKU：5123456789012 有货吗", None), ("宝贝id:623456789012345", None), ("货号 202611280001", None),
    # a payment's or an after-sale case's number beside the order's
    ("交易号：2026112822001412 订单编号：3901234567890123", "3901234567890123"),
    ("流水号 2026112822001412 怎么还没退款", None), ("售后单号：201234567890123456 进度呢", None),
    ("退款编号：201234567890123456", None)])
def test_a_card_number_labelled_as_something_else_is_not_the_order_number(text, order):
    """Product and order cards copied out of 千牛 or 咚咚 carry other long numbers: a
    商品ID filled {订单号}, and a 交易号 before the order number took its place."""
    assert values_from_message(text.lower()).get("订单号") == order


@pytest.mark.parametrize("text, tracking", [
    ("售后单号：201234567890123456 进度呢", None), ("退款单号 201234567890123", None), ("服务单号：123456789012", None),
    ("京东快递 JDVA12345678901 到哪了", "JDVA12345678901"), ("运单号：JDVC09876543210", "JDVC09876543210"),
    ("退货单号：773123456789012", "773123456789012"), ("工单号 123456789012", None),
    # 后 and 务 exclude only 售后 and 服务: the parcel sent back is still one
    ("寄回后单号：773123456789012", "773123456789012"), ("退货后单号 773123456789012 麻烦查下", "773123456789012"),
    # a payment's number is no parcel's either (付款, 货款, 财务)
    ("付款单号：20261201123456789", None), ("货款单号 20261201123456789", None), ("财务单号：20261201123456789", None)])
def test_an_after_sale_number_is_no_tracking_number_and_jds_is(text, tracking):
    """售后单号 and 退款单号 name an after-sale case, not a parcel: they filled {快递单号}; a
    JD waybill (JDVA + 11 digits) did not."""
    assert values_from_message(text.lower()).get("快递单号") == tracking


@pytest.mark.parametrize("text", [
    "我的IMEI是356789012345678 帮我查下保修", "IMEI1:861234567890123 IMEI2:861234567890131",
    "MEID 99001234567890 还在保修吗", "序列号 356789012345678", "手機序號：356789012345678", "串号356789012345678",
    "SN码：2026112812345678 还在保吗", "S/N 356789012345678",
])
def test_a_phones_imei_or_serial_number_is_not_the_order_number(text):
    """An electronics shop's customers give the IMEI or serial number for a warranty
    question: it filled {订单号} and took the answer's request for the order number out."""
    assert "订单号" not in values_from_message(text)


@pytest.mark.parametrize("asked, order", [
    ("请提供一下手机的 IMEI 号", None), ("麻烦发一下序列号", None), ("SN码发我看看", None),
    ("请提供订单号和 IMEI", "356789012345678"), ("请提供订单号", "356789012345678"), ("", "356789012345678")])
def test_a_bare_number_given_for_the_imei_asked_is_no_order_number(asked, order):
    assert values_from_message("356789012345678", asked=asked).get("订单号") == order
    assert values_from_message("订单号 2026112812345678", asked=asked)["订单号"] == "2026112812345678"


@pytest.mark.parametrize("text", ["订单序号：2026112812345678", "退货单序号 2026112812345678 退款到了吗"])
def test_an_order_numbered_by_a_serial_word_keeps_its_number(text):
    """序号 alone is no device's: 订单序号 and 退货单序号 name an order (序列号, 手机序号 a phone)."""
    assert values_from_message(text)["订单号"] == "2026112812345678"


def test_a_traditional_request_for_the_serial_number_is_recognised():
    """請提供手機的序號 asks for the device's number as 请提供手机的序号 does."""
    assert "订单号" not in values_from_message("356789012345678", asked="請提供手機的序號")


def test_the_order_number_is_found_beside_an_imei():
    assert values_from_message("IMEI 356789012345678 订单 2026112812345678")["订单号"] == "2026112812345678"


def test_the_order_number_is_found_beside_a_link_or_another_labelled_number():
    text = "https://item.taobao.com/item.htm?id=623456789012345 下单时间20261128103015 订单号2026112812345678"
    assert values_from_message(text)["订单号"] == "2026112812345678"


def test_values_from_message_finds_sf_tracking_number():
    values = values_from_message("快递单号sf1234567890123怎么还没到")
    assert values["快递单号"] == "SF1234567890123"
    assert values["运单号"] == "SF1234567890123"
    assert "订单号" not in values  # the digits of a tracking number are not an order number


def test_values_from_message_finds_both():
    values = values_from_message("订单2026112812345678，运单SF1234567890123")
    assert values["订单号"] == "2026112812345678"
    assert values["快递单号"] == "SF1234567890123"


def test_values_from_message_ignores_short_numbers_and_phone_numbers():
    assert values_from_message("我买了3件，48小时内发货吗，电话13812345678") == {}


def _write(tmp_path, rows):
    path = tmp_path / "huashu.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_phrase_library_loads_and_picks_stably(tmp_path):
    path = _write(tmp_path, [{"id": "c1", "kind": "closing", "text": "还有问题随时找我哦"},
                             {"id": "c2", "kind": "closing", "text": "祝您生活愉快"},
                             {"kind": "apology", "tone": "angry", "text": "非常抱歉"}])
    lib = PhraseLibrary.load(path)
    assert [p.id for p in lib.phrases] == ["c1", "c2", "line3"]
    assert lib.pick("closing", "同一条消息") == lib.pick("closing", "同一条消息")
    assert lib.pick("apology", "x", "angry").text == "非常抱歉"
    assert lib.pick("escalation", "x") is None


def test_phrase_library_rejects_broken_variable_naming_line_and_field(tmp_path):
    path = _write(tmp_path, [{"kind": "closing", "text": "好的"},
                             {"kind": "closing", "text": "{客户称呼，再见"}])
    with pytest.raises(ImportFileError) as err:
        PhraseLibrary.load(path)
    assert err.value.line == 2 and err.value.field == "text"


def test_an_unreadable_phrase_library_suggests_no_option_the_commands_lack(tmp_path):
    """The error said "(try --encoding utf-8)": suggest, serve and the console have no such option."""
    path = tmp_path / "huashu.jsonl"
    path.write_bytes(b"\xff\xfe\x00\xd8\x00")
    with pytest.raises(ImportFileError) as info:
        PhraseLibrary.load(path)
    assert "huashu.jsonl, line 1" in str(info.value) and "--encoding" not in str(info.value)
    assert "save it as UTF-8" in str(info.value)


def test_phrase_library_rejects_unknown_kind(tmp_path):
    path = _write(tmp_path, [{"kind": "farewell", "text": "再见"}])
    with pytest.raises(ImportFileError) as err:
        PhraseLibrary.load(path)
    assert err.value.line == 1 and err.value.field == "kind"


@pytest.mark.parametrize("field, value", [("tone", "furious"), ("script", "cantonese")])
def test_phrase_library_rejects_a_tone_or_script_no_draft_could_use(tmp_path, field, value):
    path = _write(tmp_path, [{"kind": "closing", "text": "好的"}, {"kind": "closing", "text": "再见", field: value}])
    with pytest.raises(ImportFileError) as err:
        PhraseLibrary.load(path)
    assert err.value.line == 2 and err.value.field == field and value in str(err.value)


def test_closing_after_an_answer_offers_more_help(tmp_path):
    """question=True keeps closings that ask whether anything else is needed."""
    path = _write(tmp_path, [{"id": "ask", "kind": "closing", "text": "请问还有其他可以帮您的吗？"},
                             {"id": "bye", "kind": "closing", "text": "那小禾就不打扰啦，祝您购物愉快！"}])
    lib = PhraseLibrary.load(path)
    keys = [f"消息{i}" for i in range(40)]
    assert {lib.pick("closing", k).id for k in keys} == {"ask", "bye"}  # both in use otherwise
    assert {lib.pick("closing", k, question=True).id for k in keys} == {"ask"}


def test_a_labelled_numeric_tracking_number_is_not_the_order_number():
    values = values_from_message("我退货寄回去了，中通快递单号75312345678901，订单2026112812345678")
    assert values["快递单号"] == "75312345678901" and values["订单号"] == "2026112812345678"
    assert "订单号" not in values_from_message("中通快递单号75312345678901")


@pytest.mark.parametrize("text", ["1. 订单号：{订单号\n2. 填写原因后提交}", "{客户称呼||\n亲}您好", "1. {订单\n号}"])
def test_a_variable_across_lines_is_broken(text):
    """A { left open in a list answer took the lines up to a later } into one variable: the
    draft showed 【请填写订单号\\n2. 填写原因后提交】 and the step was gone. A variable (its
    name and its fallback) is on one line."""
    problem = broken_variable(text)
    assert problem and "line break" in problem, problem
    with pytest.raises(InvalidEntry, match="broken variable"):
        validate({"question": "q", "answer": text})
    assert broken_variable("1. {订单号}\n2. {客户称呼||亲}～") is None
    from kefu.web.messages import reason_zh

    assert reason_zh(f"broken variable: {problem}").startswith("变量写法有误：「{")  # the console says it in Chinese
    assert "line break" not in reason_zh(f"broken variable: {problem}")

"""kb.importers.encoding: detecting UTF-8 / GB18030 / Big5 on short and long files, cleanup, errors."""

from __future__ import annotations

import random

import pytest

from kefu.kb.errors import ImportFileError
from kefu.kb.importers.encoding import decode

# Shop FAQ questions as customers and sellers write them: mainland (simplified) ...
SIMPLIFIED = [
    "请问什么时候发货",
    "七天无理由退货怎么申请",
    "退货需要付运费吗",
    "可以开发票吗？要增值税专用发票",
    "订单号202405170031怎么查物流",
    "iPhone 15的手机壳有现货吗",
    "包邮吗？偏远地区加多少钱",
    "快递到了但是包装破损了怎么办",
    "我想换一个颜色可以吗",
    "尺码偏大还是偏小，165cm穿M码合适吗",
    "优惠券怎么用不了",
    "下单后多久能收到",
    "支持货到付款吗",
    "可以修改收货地址吗",
    "商品有质量问题怎么处理",
    "退款多久到账",
    "会员积分怎么兑换",
    "这款羽绒服会不会跑绒",
    "发什么快递？顺丰可以吗",
    "预售商品什么时候发",
    "能便宜一点吗，买两件有折扣吗",
    "赠品什么时候发出",
    "为什么显示已签收但我没收到",
    "客服工作时间是几点到几点",
    "可以帮我催一下快递吗",
    "这个充电器支持快充吗",
    "保修期是多久",
    "收到的商品和图片不一样",
    "申请售后需要提供什么",
    "亲，您的订单已经发货了",
    "我们会在48小时内发货",
    "退货地址：上海市浦东新区",
    "蓝牙耳机连接不上手机",
    "护肤品过敏了可以退吗",
    "食品拆封后能退吗",
    "这个价格含税吗",
    "拍下后不付款会自动取消吗",
    "运费险怎么理赔",
    "发票抬头写错了能改吗",
    "已经下单了能取消吗",
    "为什么我的订单被关闭了",
    "怎么联系人工客服",
]

# ... and Taiwan / Hong Kong (traditional) ones.
TRADITIONAL = [
    "請問什麼時候出貨",
    "退貨需要付運費嗎",
    "七天鑑賞期怎麼申請退貨",
    "可以開統一編號的發票嗎",
    "訂單編號TW20240517031怎麼查詢物流",
    "iPhone 15的手機殼還有現貨嗎",
    "超商取貨付款可以嗎",
    "包裹收到時外箱破損了怎麼辦",
    "我想換另一個顏色可以嗎",
    "尺寸偏大還是偏小",
    "折價券為什麼不能使用",
    "下單後大概幾天會到",
    "可以貨到付款嗎",
    "收件地址可以修改嗎",
    "商品有瑕疵要怎麼處理",
    "退款多久會入帳",
    "會員點數怎麼兌換",
    "這件外套會不會起毛球",
    "寄什麼物流？可以寄黑貓嗎",
    "預購商品什麼時候寄出",
    "可以算便宜一點嗎",
    "贈品什麼時候會寄出",
    "為什麼顯示已簽收但我沒有收到",
    "客服的服務時間是幾點到幾點",
    "可以幫我催一下出貨嗎",
    "這個充電器有支援快充嗎",
    "保固期是多久",
    "收到的商品和照片不一樣",
    "申請售後服務需要提供什麼",
    "您好，您的訂單已經出貨了",
    "我們會在48小時內出貨",
    "退貨地址：台北市信義區",
    "藍牙耳機連不上手機",
    "保養品過敏可以退貨嗎",
    "食品拆封後還能退嗎",
    "這個價格有含稅嗎",
    "下單後沒有付款會自動取消嗎",
    "香港可以寄送嗎？運費怎麼算",
    "發票抬頭寫錯了可以改嗎",
    "已經下單了還能取消嗎",
    "為什麼我的訂單被取消了",
    "要怎麼聯絡真人客服",
]

ANSWERS_SIMPLIFIED = [
    "亲，付款后48小时内发货哦",
    "可以的，请在订单页面点击申请退款",
    "默认发中通快递，需要顺丰请补差价",
    "收到货七天内未使用都可以退换",
    "麻烦提供一下订单号，我帮您查询",
]
ANSWERS_TRADITIONAL = [
    "您好，付款後兩個工作天內出貨喔",
    "可以的，請到訂單頁面點選申請退貨",
    "預設使用黑貓宅急便寄送",
    "收到商品七天內未使用都可以退換",
    "麻煩提供訂單編號，我幫您查詢",
]

HEADERS = ["question,answer", "标准问题,答案", "標準問題,答案"]


def short_csvs():
    """Every question as a two-row CSV under each header, with an answer of its script."""
    for questions, answers in ((SIMPLIFIED, ANSWERS_SIMPLIFIED), (TRADITIONAL, ANSWERS_TRADITIONAL)):
        for i, q in enumerate(questions):
            for header in HEADERS:
                yield f"{header}\n{q},{answers[i % len(answers)]}\n"


# The codec a file is written with, and the name decode must report for it.
ENCODINGS = [
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("gbk", "gb18030"),
    ("gb18030", "gb18030"),
    ("big5", "big5"),
    ("cp950", "big5"),
]


def test_phrase_lists_are_big_enough():
    assert len(SIMPLIFIED) >= 40 and len(TRADITIONAL) >= 40


@pytest.mark.parametrize("codec,expected", ENCODINGS)
def test_short_csv_detected_for_every_phrase(codec, expected):
    tried, wrong = 0, []
    for text in short_csvs():
        try:
            data = text.encode(codec)
        except UnicodeEncodeError:  # e.g. simplified-only characters in Big5
            continue
        tried += 1
        got_text, got = decode(data, "faq.csv")
        if (got_text, got) != (text, expected):
            wrong.append((got, text))
    # Big5 cannot hold most simplified text (nor the simplified header), but every
    # traditional phrase must have been tried under the other two headers.
    assert tried >= len(TRADITIONAL) * 2
    assert not wrong, f"{len(wrong)} of {tried} misdetected, e.g. {wrong[:5]}"


@pytest.mark.parametrize("codec,expected", ENCODINGS)
@pytest.mark.parametrize("script", ["simplified", "traditional"])
def test_long_text_round_trips(codec, expected, script):
    questions = SIMPLIFIED if script == "simplified" else TRADITIONAL
    answers = ANSWERS_SIMPLIFIED if script == "simplified" else ANSWERS_TRADITIONAL
    rows = [f"{q},{answers[i % len(answers)]}" for i, q in enumerate(questions)]
    text = "question,answer\n" + "\n".join(rows * 20) + "\n"
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        pytest.skip(f"{codec} cannot hold this {script} text")
    assert decode(data, "faq.csv") == (text, expected)


def test_traditional_text_saved_as_gb18030_is_gb18030():
    text = "標準問題,答案\n請問什麼時候出貨,付款後兩天內出貨\n"
    assert decode(text.encode("gb18030"), "faq.csv") == (text, "gb18030")


def test_cp950_only_characters_are_reported_as_big5():
    # 裏 and € are in Microsoft's Big5 (cp950) but not in Python's strict big5.
    text = "question,answer\n衣服裏面有標籤嗎,有的，售價€20\n"
    assert decode(text.encode("cp950"), "faq.csv") == (text, "big5")


@pytest.mark.parametrize("header", ["id,question,answer", "編號,標準問題,答案"])
def test_hong_kong_big5_hkscs_is_read_as_such(header):
    """Cantonese characters (㗎, 嘅) are not in Big5 or cp950: GB18030 alone read the file, garbled."""
    text = f"{header}\nhk1,幾時寄出㗎？,落單後兩日內寄出嘅\nhk2,可唔可以退貨,收貨七日內可以退\n"
    assert decode(text.encode("big5hkscs"), "faq.csv") == (text, "big5hkscs")


def test_emoji_and_english_in_utf8():
    text = "question,answer\n收到了吗😊,收到了👍 thanks，iPhone已经发出\n"
    assert decode(text.encode("utf-8"), "faq.csv") == (text, "utf-8")
    # GB18030 holds emoji too (as four-byte sequences).
    assert decode(text.encode("gb18030"), "faq.csv") == (text, "gb18030")


def test_ascii_only_is_utf8():
    assert decode(b"question,answer\nhi,hello\n", "faq.csv") == ("question,answer\nhi,hello\n", "utf-8")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom(codec):
    text = "问题,答案\r\n请问什么时候发货,48小时内\r\n"
    data = "\ufeff".encode(codec) + text.encode(codec)
    assert decode(data, "faq.csv") == (text.replace("\r\n", "\n"), "utf-16")


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
def test_utf32_with_bom(codec):
    """The UTF-32-LE BOM (ff fe 00 00) opens with UTF-16-LE's: read as UTF-16, each line
    break came with a zero character (U+0000, then removed) and 😀 turned into U+F600."""
    text = "问题,答案\r\n请问什么时候发货😀,48小时内\r\n"
    data = "\ufeff".encode(codec) + text.encode(codec)
    assert decode(data, "faq.csv") == (text.replace("\r\n", "\n"), "utf-32")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["问题,答案\n请问什么时候发货,48小时内\n", "question,answer\nhi,hello\n"])
def test_utf16_without_bom_is_refused_naming_its_byte_order(codec, text):
    with pytest.raises(ImportFileError) as err:
        decode(text.encode(codec), "faq.csv")
    assert f"looks like UTF-16 ({codec[-2:].upper()}) without a byte-order mark" in err.value.reason
    assert f"name it with --encoding {codec}" in err.value.reason
    with pytest.raises(ImportFileError) as err:  # a command without --encoding
        decode(text.encode(codec), "chat.txt", option=None)
    assert "--encoding" not in err.value.reason and "save it as UTF-8" in err.value.reason
    assert decode(text.encode(codec), "faq.csv", codec) == (text, codec)


@pytest.mark.parametrize("codec", ["utf-8", "gb18030", "big5"])
def test_stray_zero_bytes_are_no_utf16(codec):
    """Zero bytes pasted into a UTF-8 or legacy file are removed, as before: no UTF-16."""
    raw = "問題,答案\n\x00運費多少,\x00滿\x00千免運\n\x00\n"
    assert decode(raw.encode(codec), "faq.csv")[0] == raw.replace("\x00", "")


def test_empty_input():
    assert decode(b"", "faq.csv") == ("", "utf-8")


# --- cleanup ------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-8", "gb18030", "big5"])
def test_line_endings_normalised(codec):
    raw = "標準問題,答案\r\n請問運費多少\t,滿千免運\r舊版換行\n"
    text, _ = decode(raw.encode(codec), "faq.csv")
    assert text == "標準問題,答案\n請問運費多少\t,滿千免運\n舊版換行\n"


def test_control_characters_removed_tabs_and_text_kept():
    raw = "问题\t答案\n\x00发\x07货\x1b时间\x7f,\x85两天\u3000内\u00a0发\x0c出\x0b\n"
    text, name = decode(raw.encode("utf-8"), "faq.tsv")
    assert name == "utf-8"
    # Full-width and no-break spaces are ordinary text, not controls.
    assert text == "问题\t答案\n发货时间,两天\u3000内\u00a0发出\n"


def test_terminal_control_sequences_removed_whole():
    raw = ("问题,答案\n运费,\x1b[2J满99包邮\x1b[1;31m!\x1b[0m\n"
           "尺码,看[2J]表\x9b0m\n颜色,\"红\x1b\",\x1b\t蓝\x1b5\n")
    text, _ = decode(raw.encode("utf-8"), "faq.csv")
    # A person's [2J] stays; a stray ESC goes alone, never with the quote or delimiter after it.
    assert text == "问题,答案\n运费,满99包邮!\n尺码,看[2J]表\n颜色,\"红\",\t蓝5\n"


def test_a_control_sequence_never_takes_the_csv_delimiter():
    """In a ";" CSV, ESC [1 cut short before ";VIP" was removed with the ";" and "V", the
    answer and category run together ("日志颜色码IP;售后")."""
    from kefu.kb.importers.tables import delimiter_of

    semicolons = "question;answer;category;tags\n测试分号问题;日志颜色码\x1b[1;VIP;售后\n".encode()
    text, _ = decode(semicolons, "faq.csv", None, delimiter_of)
    assert text == "question;answer;category;tags\n测试分号问题;日志颜色码[1;VIP;售后\n"
    # A comma file: the sequence with ";" in it still goes whole; other sequences too.
    commas = "question,answer\n运费,\x1b[1;31m满99包邮\x1b[0m\x1b[2J\n".encode()
    assert decode(commas, "faq.csv", None, delimiter_of)[0] == "question,answer\n运费,满99包邮\n"
    semicolon_plain = "question;answer\n运费;\x1b[2J满99包邮\x1b[0m\n".encode()
    assert decode(semicolon_plain, "faq.csv", None, delimiter_of)[0] == "question;answer\n运费;满99包邮\n"


def test_leading_bom_stripped_even_with_explicit_encoding():
    data = "\ufeffquestion,answer\n运费,十元\n".encode("utf-8")
    assert decode(data, "faq.csv") == ("question,answer\n运费,十元\n", "utf-8-sig")
    assert decode(data, "faq.csv", encoding="utf-8") == ("question,answer\n运费,十元\n", "utf-8")


# --- explicit encoding and errors ----------------------------------------------


@pytest.mark.parametrize(
    "given,codec,name",
    [("GBK", "gbk", "gbk"), ("gb18030", "gb18030", "gb18030"), ("big5", "big5", "big5"),
     ("cp950", "cp950", "cp950"), ("utf8", "utf-8", "utf-8"), ("UTF-8-SIG", "utf-8-sig", "utf-8-sig")],
)
def test_explicit_encoding_aliases(given, codec, name):
    text = "標準問題,答案\n請問何時出貨,兩天內\n"
    assert decode(text.encode(codec), "faq.csv", encoding=given) == (text, name)


def test_explicit_encoding_overrides_detection():
    # Valid in both: the caller's choice wins even where detection would say otherwise.
    data = "请问什么时候发货".encode("gbk")
    text, name = decode(data, "faq.csv", encoding="big5")
    assert name == "big5" and text == data.decode("big5")


def test_wrong_explicit_encoding_names_line_and_byte():
    data = "question,answer\nhi,hello\n請問什麼時候出貨,兩天內\n".encode("big5")
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv", encoding="utf-8")
    assert err.value.line == 3 and err.value.path == "faq.csv"
    assert "0x" in err.value.reason and "gb18030" in err.value.reason and "big5" in err.value.reason


def test_error_line_counts_crlf_lines():
    data = b"question,answer\r\nok,ok\r\nok,ok\r\n" + "價格€".encode("cp950")  # € = 0xa3 0xe1
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv", encoding="utf-8")
    assert err.value.line == 4


def test_unknown_encoding_name():
    with pytest.raises(ImportFileError) as err:
        decode(b"abc", "faq.csv", encoding="xyz")
    assert err.value.line is None
    assert "unknown encoding 'xyz'" in str(err.value)


def test_undecodable_file_names_first_bad_line():
    data = "问题,答案\n运费,十元\n".encode("gbk") + b"\xff\xfe\xfd\n"
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv")
    assert err.value.line == 3
    assert "--encoding" in err.value.reason and "Big5" in err.value.reason


def test_broken_utf8_after_bom_names_line():
    data = b"\xef\xbb\xbfquestion,answer\nok,\xff\n"
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv")
    assert err.value.line == 2 and "0xff" in err.value.reason


def test_random_bytes_never_crash():
    rng = random.Random(20240517)
    outcomes = set()
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        try:
            text, name = decode(data, "junk.bin")
        except ImportFileError as err:
            assert err.path == "junk.bin"
            outcomes.add("error")
        else:
            assert isinstance(text, str) and name in {"utf-8", "utf-8-sig", "utf-16", "gb18030", "big5", "big5hkscs"}
            outcomes.add(name)
    assert "error" in outcomes


@pytest.mark.parametrize("name", ["base64", "hex", "rot13", "zlib", "uu"])
def test_a_codec_that_is_not_a_text_encoding_is_refused(name):
    """Python knows these codecs, but not as bytes -> text: decoding raised a bare LookupError."""
    with pytest.raises(ImportFileError) as err:
        decode("问题,答案\n".encode(), "faq.csv", encoding=name)
    assert f"{name!r} is not a text encoding" in str(err.value)


def test_a_codec_that_refuses_every_byte_is_a_file_error():
    with pytest.raises(ImportFileError, match="cannot be read as undefined"):
        decode(b"abc", "faq.csv", encoding="undefined")


def test_utf8_file_cut_mid_character_is_refused_naming_the_line():
    """Read as GB18030 the cut file decoded without error, as mojibake (客服 as 瀹㈡湇),
    and `--on-conflict update` wrote that over the stored entries."""
    data = "id,question,answer\nk5,客服回复要等多久,一般几分钟\nk7,今天下单能发货吗,下午四点前下单当天发".encode()[:-2]
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv")
    assert err.value.line == 3
    assert "not valid UTF-8" in err.value.reason and "line 2" in err.value.reason


@pytest.mark.parametrize("legacy", ["gbk", "big5"])
def test_utf8_file_with_a_legacy_row_pasted_in_is_refused(legacy):
    rows = ["问题,答案", "第一行正常的问题,答案", "第二行貼上的舊編碼問題,答案", "第三行也正常,答案"]
    data = b"\n".join(r.encode(legacy if i == 2 else "utf-8") for i, r in enumerate(rows)) + b"\n"
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv")
    assert err.value.line == 3 and "not valid UTF-8" in err.value.reason


def test_legacy_file_with_a_utf8_row_pasted_in_is_refused():
    rows = ["问题,答案", "运费多少,十元", "退货要多久,三天", "能开发票吗,可以开的"]
    data = b"\n".join(r.encode("utf-8" if i == 3 else "gbk") for i, r in enumerate(rows)) + b"\n"
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv")
    assert err.value.line == 1 and "line 4" in err.value.reason and "(and 2 more lines)" in err.value.reason


def test_utf8_file_whose_only_chinese_line_is_cut_is_refused():
    data = "question,answer\n运费多少钱,满九十九元包邮".encode()[:-1]
    with pytest.raises(ImportFileError) as err:
        decode(data, "faq.csv")
    assert err.value.line == 2 and "the text before it is UTF-8" in err.value.reason

"""Normalisation and segmentation: the shared view of text for embedding and BM25."""

from __future__ import annotations


import logging
import os
from pathlib import Path

import pytest

from kefu.kb.text import (CACHED_CHARS, MAX_CHARS, SIMPLIFIED, TRADITIONAL, Segmenter, detect_script, is_blank,
                          normalize, question_window, script_evidence, scrub, to_mainland, to_simplified,
                          to_traditional)


def test_full_width_to_half_width_and_lower_case():
    n = normalize("ＡＢＣ１２３？　Ｏｋ！")
    assert n.text == "abc123? ok!"
    assert n.script == SIMPLIFIED
    assert not n.truncated


def test_spaces_are_collapsed_and_trimmed():
    assert normalize("  运费\t\n 怎么   算  ").text == "运费 怎么 算"


def test_traditional_is_converted_to_simplified():
    n = normalize("請問運費怎麼算")
    assert n.text == "请问运费怎么算"
    assert n.script == TRADITIONAL


def test_simplified_stays_simplified():
    n = normalize("请问运费怎么算")
    assert n.text == "请问运费怎么算"
    assert n.script == SIMPLIFIED


def test_detect_script():
    assert detect_script("這個商品還有貨嗎") == TRADITIONAL
    assert detect_script("这个商品还有货吗") == SIMPLIFIED
    assert detect_script("hello 123") == SIMPLIFIED


@pytest.mark.parametrize("text, script", [
    ("寄台灣多久", TRADITIONAL), ("台中可以貨到付款", TRADITIONAL), ("床墊好吃嗎", TRADITIONAL),
    ("台湾多久到", SIMPLIFIED), ("这里好吃吗", SIMPLIFIED), ("台风天发货吗", SIMPLIFIED)])
def test_a_character_both_scripts_write_is_no_evidence(text, script):
    """s2t respells 台 (臺), 吃 (喫), 床 (牀), yet Taiwan and Hong Kong write them so: 寄台灣多久
    tied one to one and was answered in simplified script."""
    assert detect_script(text) == script
    assert script_evidence("台吃床群温") == (0, 0)
    assert to_simplified("發貨時間") == "发货时间"


@pytest.mark.parametrize("text, script", [
    ("在麼", SIMPLIFIED), ("在麼？怎麼退货", SIMPLIFIED), ("亲在麼", SIMPLIFIED),
    ("請問這個在麼", TRADITIONAL), ("這麼久還沒到", TRADITIONAL)])
def test_a_traditional_character_simplified_writers_use_too_is_no_evidence(text, script):
    """麼 is typed in mainland chat too (在麼, 怎麼): 在麼 alone counted as traditional and a
    mainland customer got a traditional draft. It decides nothing; 請問這個 still does."""
    assert detect_script(text) == script
    assert script_evidence("在麼") == (0, 0)


@pytest.mark.parametrize("text", ["什麼", "怎麼了", "怎麼退", "要怎麼用", "怎麼付款", "那麼大", "可以退麼"])
def test_me_alone_still_tells_taiwan_script(text):
    """Taiwan writes 什麼 / 怎麼 with 麼 and often nothing else traditional in a short message:
    those got simplified drafts once 麼 counted for neither script. It counts when nothing
    else does, but for the greeting 在麼."""
    assert detect_script(text) == TRADITIONAL
    assert script_evidence(text) == (1, 0)


def test_long_text_keeps_the_tail():
    head = "前面是很长的背景说明。" * 100
    n = normalize(head + "最后的问题是运费怎么算")
    assert n.truncated
    assert len(n.text) == MAX_CHARS
    assert n.text.endswith("最后的问题是运费怎么算")


@pytest.mark.parametrize("question", ["请问这个怎么退货？", "請問這個怎麼退貨？", "这个能退吗"])
def test_a_long_message_asked_first_keeps_its_question(question):
    """A long complaint with the question at its start kept only its last 500 characters,
    the complaint: a customer's message (`asked`) keeps those from its last question on."""
    story = "衣服穿了一次就起球了，颜色也和图片差很多，我非常失望，" * 30
    n = normalize(question + story, asked=True)
    assert n.truncated and n.asked_window
    assert n.text.startswith(to_simplified(question).lower().rstrip("？?")) and len(n.text) <= MAX_CHARS
    tail = normalize(question + story)  # any other text: its tail, as before
    assert not tail.asked_window and tail.text == normalize(story[-MAX_CHARS:]).text
    last = normalize(story + question, asked=True)  # the question last: the tail, as before
    assert not last.asked_window and last.text == normalize(story + question).text


_STORY = "这是我第一次在你们店买东西，朋友推荐说你们家的杯子质量特别好，我就下单了两个，一个送给同事当生日礼物。" * 10


@pytest.mark.parametrize("message", [
    "亲在吗？" + _STORY + "结果今天收到快递，两个杯子都碎了，麻烦给我补发或者退款。",
    "老板，在不在呀？" + _STORY + "结果今天收到快递，两个杯子都碎了，麻烦给我补发或者退款。",
    _STORY + "现在什么都来不及了，同事的生日就是明天。收到的两个杯子都碎了，要求退款。",
])
def test_a_greeting_or_a_statement_is_no_question_to_keep_a_long_message_to(message):
    """亲在吗？ then 500 characters of complaint was matched on 亲在吗 alone, and 现在什么都来不及了
    cut off the request after it: a message asking nothing but a greeting keeps its tail."""
    n = normalize(message, asked=True)
    assert n.truncated and not n.asked_window
    assert n.text == normalize(message).text


def test_a_long_message_keeps_its_question_and_what_follows_it():
    """The window starts at the last question and runs on: 请问怎么退货？ in the middle kept
    the 500 characters before it, not the complaint after it that says why."""
    message = _STORY[:102] + "请问怎么退货？" + _STORY[:500]
    n = normalize(message, asked=True)
    assert n.asked_window and len(n.text) == MAX_CHARS
    assert n.text.startswith("请问怎么退货?") and n.text == normalize(message[102:102 + MAX_CHARS]).text


def test_max_chars_parameter():
    n = normalize("abcdefghij", max_chars=4)
    assert (n.text, n.truncated) == ("ghij", True)
    assert normalize("abcd", max_chars=4).truncated is False


def test_long_traditional_text_is_detected_from_its_tail():
    n = normalize("x" * 1000 + "請問運費怎麼算")
    assert n.truncated
    assert n.script == TRADITIONAL
    assert n.text.endswith("请问运费怎么算")


def test_segmenter_writes_its_jieba_cache_into_the_cache_dir(tmp_path):
    cache = tmp_path / "cache" / "jieba"
    seg = Segmenter(cache)
    seg.tokens("运费怎么算")
    assert cache.is_dir()
    assert any(p.is_file() for p in cache.iterdir())


def test_segmenter_tokens_are_words_then_characters_without_stopwords(tmp_path):
    seg = Segmenter(tmp_path / "cache")
    words, chars = seg.split("亲，请问运费怎么算？")
    assert "运费" in words
    assert "亲" not in words and "请问" not in words and "怎么" not in words
    assert "，" not in words and "？" not in words
    assert {"运", "费"} <= set(chars)
    assert seg.tokens("亲，请问运费怎么算？") == words + chars


@pytest.mark.parametrize("text, cut", [
    ("7天无理由可以退吗", ["7", "天", "无", "理由"]),  # jieba alone: 7 / 天无 / 理由
    ("30天价保", ["30", "天", "价保"]),  # 7 / 天价 / 保
    ("快递3天没动", ["快递", "3", "天"]),  # 3 / 天没动
    ("付款后48小时内发货", ["付款", "后", "48", "小时", "内", "发货"]),
    ("5G手机", ["5G", "手机"]), ("A4纸", ["A4", "纸"]),  # a digit inside a word stays there
])
def test_a_numbers_unit_is_a_word_of_its_own(tmp_path, text, cut):
    words, _ = Segmenter(tmp_path / "cache").split(text)
    assert words[:len(cut)] == cut, words


def test_segmenter_keeps_results_but_each_caller_gets_its_own_lists(tmp_path):
    seg = Segmenter(tmp_path / "cache")
    words, chars = seg.split("运费怎么算")
    words.append("乱加的"), chars.clear()  # a caller changing its lists
    assert seg.split("运费怎么算") == (["运费", "算"], ["运", "费"])
    long = "运费怎么算" * (CACHED_CHARS // 5 + 1)
    kept = seg._kept.cache_info().currsize
    assert seg.split(long)[0].count("运费") == CACHED_CHARS // 5 + 1
    assert seg._kept.cache_info().currsize == kept  # a long paste is segmented, never kept


def test_script_functions_keep_short_texts_only():
    short = "這件衣服會縮水嗎"
    assert script_evidence(short) == script_evidence(short) and to_simplified(short) == "这件衣服会缩水吗"
    before = to_simplified.cache_info().currsize, script_evidence.cache_info().currsize
    long = "這件衣服會縮水嗎" * (CACHED_CHARS // 8 + 1)
    assert to_simplified(long) == "这件衣服会缩水吗" * (CACHED_CHARS // 8 + 1)
    assert script_evidence(long)[0] > 0
    assert (to_simplified.cache_info().currsize, script_evidence.cache_info().currsize) == before


def test_drafting_conversions_keep_short_texts_each_under_its_wording():
    """Drafting converts the same lines again and again: a short text's conversion is kept
    under the text and its wording, so the other wording's is never handed out; a long one
    is converted each time, never kept."""
    text = "软件发货了"
    for _ in range(2):  # converted, then kept
        assert to_traditional(text, "s2twp") == to_traditional(text) == "軟體出貨了"
        assert to_traditional(text, "s2hk") == "軟件發貨了"
        assert to_mainland("軟體出貨了") == text
    kept = to_traditional.cache_info().currsize, to_mainland.cache_info().currsize
    n = CACHED_CHARS // len(text) + 1
    assert to_traditional(text * n, "s2hk") == "軟件發貨了" * n
    assert to_traditional(text * n) == "軟體出貨了" * n
    assert to_mainland("軟體出貨了" * n) == text * n
    assert (to_traditional.cache_info().currsize, to_mainland.cache_info().currsize) == kept


def test_user_terms_are_kept_as_one_token(tmp_path):
    plain = Segmenter(tmp_path / "cache")
    assert "闪电退款" not in plain.split("闪电退款怎么申请")[0]
    seg = Segmenter(tmp_path / "cache", ["闪电退款", "闪电退款", "顺丰包邮"])
    assert seg.terms == ["闪电退款", "顺丰包邮"]
    words, chars = seg.split("闪电退款怎么申请")
    assert "闪电退款" in words
    assert "闪电" not in words and "退款" not in words
    assert {"闪", "电", "退", "款"} <= set(chars)
    assert "顺丰包邮" in seg.split("能顺丰包邮吗")[0]


def test_a_new_segmenter_does_not_read_jiebas_dictionary_again(tmp_path, monkeypatch):
    """A new shop term makes a new Segmenter; reading jieba's dictionary again took ~2 s
    (5 s on a busy machine), stalling a server's next search. Once per process it is read."""
    import jieba

    Segmenter(tmp_path / "cache").split("预热")

    def read_again(*args, **kwargs):
        raise AssertionError("jieba's dictionary read again")

    monkeypatch.setattr(jieba.Tokenizer, "initialize", read_again)
    seg = Segmenter(tmp_path / "cache", ["闪电退款"])
    assert seg.split("闪电退款怎么申请")[0] == ["闪电退款", "申请"]
    other = Segmenter(tmp_path / "cache")  # and the term did not leak into the shared copy
    assert "闪电退款" not in other.split("闪电退款怎么申请")[0]
    assert "退款" in other.split("闪电退款怎么申请")[0]


def test_a_segmenter_leaves_jiebas_cache_in_a_new_cache_dir_too(tmp_path):
    """The dictionary read once per process still leaves its cache in each data dir, where
    the next process reads it."""
    Segmenter(tmp_path / "a").split("预热")
    Segmenter(tmp_path / "b").split("预热")
    assert (tmp_path / "b" / "jieba.cache").is_file()
    assert (tmp_path / "b" / "jieba.cache").stat().st_size > 1_000_000


def test_a_cache_folder_that_cannot_be_made_or_written_does_not_stop_segmenting(tmp_path, monkeypatch):
    """A data folder this user cannot write is searched all the same (README): making its
    missing cache folder failed every search ("Read-only file system: DATA/cache"), and
    writing jieba's cache into a read-only one failed the first search after a new term."""
    (tmp_path / "file").write_text("")
    assert Segmenter(tmp_path / "file" / "cache").split("运费怎么算")[0] == ["运费", "算"]
    real_open = os.open

    # The cache is written through os.open (kb/files.temp_beside), no more tempfile.mkstemp:
    # patching that one stopped nothing.
    def no_file_there(path, *args, **kwargs):
        if Path(path).parent == tmp_path / "read-only":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", no_file_there)
    assert Segmenter(tmp_path / "read-only", ["闪电退款"]).split("闪电退款怎么申请")[0] == ["闪电退款", "申请"]
    assert not (tmp_path / "read-only" / "jieba.cache").exists()


@pytest.mark.parametrize("first_in_process", [True, False])
def test_jiebas_cache_is_readable_by_whom_the_umask_lets_read_the_data_folder(tmp_path, monkeypatch, caplog,
                                                                          first_in_process):
    """jieba wrote DATA/cache/jieba.cache readable by its writer alone (0600, whatever the
    umask), so `kefu serve` as another user than the admin who ran `kefu init` could not
    read it, and jieba logged a traceback (`Dump cache file failed.`) at every start. A
    cache that cannot be read is no error: the dictionary is built from jieba's own."""
    import stat

    import kefu.kb.text as text

    if first_in_process:
        monkeypatch.setattr(text, "_DICT", None)
    old = os.umask(0o022)
    try:
        assert Segmenter(tmp_path / "cache").split("运费怎么算")[0] == ["运费", "算"]
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "cache" / "jieba.cache").stat().st_mode) == 0o644
    (tmp_path / "cut" / "jieba.cache").parent.mkdir()
    (tmp_path / "cut" / "jieba.cache").write_bytes(b"\x00cut short")
    monkeypatch.setattr(text, "_DICT", None)
    with caplog.at_level(logging.WARNING):
        assert Segmenter(tmp_path / "cut").split("运费怎么算")[0] == ["运费", "算"]
    assert not caplog.records
    # Written anew: a damaged cache that can be read was kept, and every process built the
    # dictionary again (~2 s) for good.
    assert text._read_cache(tmp_path / "cut" / "jieba.cache") is not None


def test_a_term_counts_as_the_words_it_makes_without_the_dictionary(tmp_path):
    """Confidence grows with a message's content words: adding the product name 雪绒冰丝 as a
    term made the bare query 雪绒冰丝 one word instead of two, and a no-match."""
    plain = Segmenter(tmp_path / "cache")
    seg = Segmenter(tmp_path / "cache", ["雪绒冰丝", "顺丰"])
    for message in ("雪绒冰丝", "雪绒冰丝可以机洗吗", "顺丰几天到", "怎么退货"):
        words = seg.split(message)[0]
        assert seg.count(words) == plain.count(plain.split(message)[0]), message
    assert seg.split("雪绒冰丝")[0] == ["雪绒冰丝"] and seg.count(["雪绒冰丝"]) == 2


def test_emoji_order_numbers_and_english_are_tolerated(tmp_path):
    n = normalize("亲😭 订单号 ２０２４１１２８００１２３ 的ＳＩＺＥ M能换L吗？")
    assert "😭" in n.text and "2024112800123" in n.text and "size m" in n.text
    assert n.script == "simplified"
    tokens = Segmenter(tmp_path / "cache").tokens(n.text)
    assert "2024112800123" in tokens and "size" in tokens and "l" in tokens
    assert "😭" not in tokens


def test_user_terms_are_normalised_like_the_messages_they_are_found_in(tmp_path):
    seg = Segmenter(tmp_path / "cache", ["ABC牌", "運費險", "超能裤Ｘ1", "abc牌"])
    assert seg.terms == ["abc牌", "超能裤x1", "运费险"]
    for typed, term in [("ABC牌的质量怎么样", "abc牌"), ("請問運費險怎麼理賠", "运费险"),
                        ("超能裤Ｘ1有大码吗", "超能裤x1")]:
        assert term in seg.split(normalize(typed).text)[0], typed


# -- the window an encoder that reads few characters sees ---------------------------

def test_a_short_message_is_read_whole():
    assert question_window("运费怎么算？", 28) == "运费怎么算？"


def test_a_question_followed_by_chatter_is_read_up_to_its_end():
    text = "这件毛衣能机洗吗？我上周买的，还没怎么穿，家里人说要手洗，我想问问清楚，麻烦尽快回复，谢谢"
    assert question_window(text, 28) == "这件毛衣能机洗吗？"


def test_the_last_question_decides_and_the_window_keeps_what_comes_before_it():
    text = "我上周在你们店里买了一条裙子，一直穿得还可以，想再买一件，这款连衣裙有没有黑色的，我想送给朋友，她比较喜欢深色"
    window = question_window(text, 28)
    assert window.endswith("这款连衣裙有没有黑色的，") and len(window) == 28


def test_choices_and_a_closing_bu_ask_too_but_a_plain_statement_does_not():
    assert question_window("这件卫衣扎不扎人 之前也在你们家买过好几次了 这次有点着急 麻烦看到尽快回复一下", 12) == "这件卫衣扎不扎人 "
    assert question_window("真丝裙子能扔洗衣机里洗不。我上周买的，一直没怎么穿，包装和吊牌都还在", 16) == "真丝裙子能扔洗衣机里洗不。"
    # 没怎么 is "hardly", not a question: with no question the window is the tail
    text = "衣服起球了，我上周买的，一直没怎么穿，包装和吊牌都还在，麻烦处理一下"
    assert question_window(text, 12) == text[-12:]


def test_an_insult_is_no_question():
    """"你们什么破店！" was the window of an angry complaint, which then matched the entry
    about what the shop sells at 0.80."""
    text = "你们什么破店！！！快递一个星期了还没到，订单号2026112812345678，再不处理我就投诉了"
    window = question_window(text, 28)  # no question: the tail, without the order number
    assert window.endswith("再不处理我就投诉了") and "还没到" in window and "2026" not in window
    assert question_window("你们搞什么，我的快递一个星期了还没到，已经等了很久了，订单号2026112812345678", 28) \
        .endswith("已经等了很久了，")  # the order number is left out: it tells an encoder nothing
    assert question_window("这是什么面料？我平时穿M码，155/45kg，比较怕冷，冬天想穿", 12) == "这是什么面料？"


def test_a_phone_number_and_its_label_are_left_out_of_the_window_as_an_order_number_is():
    """"我的手机号13812345678，…" matched the entry about changing the bound phone number."""
    window = question_window(normalize("我的手机号13812345678，订单号是2026112812345678，帮我查下到哪了").text, 28)
    assert "手机" not in window and "订单" not in window and "到哪了" in window
    # A long message loses the number and its label; a phone number asked about keeps its word.
    assert question_window("我的手机号换了，新的手机号是13900001111，账号上的怎么改", 28) == "我的手机号换了，新的，账号上的怎么改"


def test_the_window_reads_normalised_text_and_keeps_one_closing_mark():
    # NFKC turns … into ... and ： into :; a point before a digit closes nothing
    text = normalize("这件可以退货吗…我是你们家老会员了买过好多次了现在急着处理谢谢亲").text
    assert question_window(text, 28) == "这件可以退货吗."
    assert question_window("能退货吗" + "，" * 40, 28) == "能退货吗，"
    assert question_window(normalize("这条裤子1.5米高能穿吗？我上周买的，一直没怎么穿，包装和吊牌都还在").text, 28) == \
        "这条裤子1.5米高能穿吗?"


def test_a_few_days_ago_and_still_not_are_not_questions():
    text = "请问什么时候发货，我前几天就付款了，等了好久快递还没有，我是会员，麻烦尽快给我处理一下谢谢你们"
    assert question_window(text, 28) == "请问什么时候发货，"


@pytest.mark.parametrize("raw, clean", [
    ("想换尺码\x1b]0;pwned\x07可以吗", "想换尺码可以吗"),  # OSC up to BEL: sets a terminal's title
    ("想换尺码\x1b]0;pwned\x1b\\可以吗", "想换尺码可以吗"),  # OSC up to ST
    ("衣服尺码不合适\x1b[2J\x07可以换吗", "衣服尺码不合适可以换吗"),  # CSI: clears the screen
    ("\x1b[1;31m红色\x1b[0m有货吗", "红色有货吗"),
    ("\x9b2J退货\x85\x00\x7f", "退货"),  # C1 CSI, NEL, NUL, DEL
    ("第一行\r\n第二行\t完", "第一行\n第二行\t完"),  # line breaks and tabs are text
    ("\x1b]0;没有结尾的标题", "0;没有结尾的标题"),  # no terminator: only the ESC goes
])
def test_escape_sequences_and_control_characters_are_removed_whole(raw, clean):
    assert scrub(raw) == clean
    assert normalize(raw).text == normalize(clean).text


def test_characters_of_no_width_are_removed_but_an_emoji_joiner():
    """A message of zero-width spaces or a BOM looked empty but was answered; inside a word
    they split it."""
    assert scrub("退\u200b货\ufeff") == "退货" and scrub("\u2060好的\u200c") == "好的"
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert scrub(family) == family and scrub("好\u200d的") == "好的"
    for text in ["\u200b", "\ufeff\n", "\u2028\u00a0\u3000\u200d", "\u200b \u200c"]:
        assert is_blank(text) and normalize(text).text == ""


def test_a_control_only_message_is_blank():
    assert is_blank("\x07\x08") and is_blank(" \x1b[2J ") and normalize("\x07\x08").text == ""
    assert not is_blank("\x07退货")


@pytest.mark.parametrize("cantonese, mandarin_text", [
    ("想換嘅size冇貨點算", "想换的size没有货怎么办"), ("幾耐到？", "多久到?"), ("係咪你哋", "是不是你们"),
    ("件衫唔啱size", "件衫不合适size"), ("換貨使唔使俾錢", "换货要不要给钱"),
    # Taiwan's 出貨 is the mainland's 发货
    ("請問出貨了嗎", "请问发货了吗"), ("出貨時間", "发货时间"),
    # no Cantonese, or Cantonese kept: thanks, a mainland "um", a name
    ("唔該晒", "唔该晒"), ("唔，好吧", "唔,好吧"), ("俾斯麦", "俾斯麦"), ("运费怎么算", "运费怎么算")])
def test_cantonese_is_matched_in_mandarin(cantonese, mandarin_text):
    from kefu.kb.text import mandarin

    assert mandarin(normalize(cantonese).text) == mandarin_text


@pytest.mark.parametrize("typed, read", [
    # chat spellings and typos as mainland customers type them
    ("我想tk 衣服买大了 肿么弄", "我想退款 衣服买大了 怎么弄"), ("能th吗", "能退货吗"), ("zfb付的", "支付宝付的"),
    ("能指定jd快递吗", "能指定京东快递吗"), ("木有收到", "没有收到"), ("买了俩礼拜", "买了两个礼拜"),
    ("仨券能一起用不", "三个券能一起用不"), ("我的退宽呢", "我的退款呢"), ("今天能发或吗", "今天能发货吗"),
    ("快地几天能到", "快递几天能到"), ("神马时候发", "什么时候发"),
    # the same letters and characters inside other words stay
    ("补发或退款", "补发或退款"), ("很快地回复了", "很快地回复了"), ("with thanks", "with thanks"),
    ("麻烦快快地发货", "麻烦快快地发货"), ("购物很愉快地", "购物很愉快地"),
    ("jdk", "jdk"), ("俩人穿", "两个人穿"), ("11月5th到货", "11月5th到货"),
    # homophones a pinyin keyboard offers first, and more initials
    ("我想推货", "我想退货"), ("能开发漂吗", "能开发票吗"), ("以经付款了", "已经付款了"), ("再吗", "在吗"),
    ("亲再吗？", "亲在吗?"), ("再吗 能便宜点吗", "在吗 能便宜点吗"), ("kd到哪了", "快递到哪了"), ("我的dd呢", "我的订单呢"),
    ("qs了但是没收到", "签收了但是没收到"),
    ("主推货品", "主推货品"), ("头发漂亮", "头发漂亮"), ("以经验来看", "以经验来看"), ("能再便宜点吗", "能再便宜点吗"),
    ("还有再吗", "还有再吗"), ("ddr4内存", "ddr4内存"), ("qsl", "qsl")])
def test_chat_spellings_are_matched_as_the_words_meant(typed, read):
    """"我想tk 衣服买大了 肿么弄" (tk: 退款) matched the size exchange entry, "能指定jd快递吗"
    the default couriers instead of 能指定发京东吗."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("我想推货", "我想退货"), ("怎么推货", "怎么退货"), ("能推货吗", "能退货吗"), ("推货运费谁出", "退货运费谁出"),
    ("推货车多少钱", "推货车多少钱"), ("直播推货", "直播推货"), ("推货架", "推货架"), ("新品推货", "新品推货"),
    ("我们主播在推货", "我们主播在推货")])
def test_tui_huo_is_read_as_a_return_only_where_one_is_meant(typed, read):
    """推货 is also a word of its own (a cart, a live stream's selling): 推货车多少钱 was read as
    退货车 and searched for the return-shipping insurance."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("能开发漂吗", "能开发票吗"), ("要电子发漂", "要电子发票"), ("发漂抬头怎么写", "发票抬头怎么写"), ("有发漂吗", "有发票吗"),
    ("染发漂色后能用吗", "染发漂色后能用吗"), ("长发漂流", "长发漂流"), ("发漂流瓶", "发漂流瓶"), ("假发漂白", "假发漂白")])
def test_fa_piao_is_read_as_an_invoice_only_where_one_is_meant(typed, read):
    """发漂 is also hair bleached or drifting: 染发漂色后能用吗 was read as 发票色 and searched
    for the electronic invoice."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("那个我想推款怎么操作", "那个我想退款怎么操作"), ("推款到账了吗", "退款到账了吗"), ("申请推款", "申请退款"),
    ("我想开个发飘公司抬头的", "我想开个发票公司抬头的"), ("要电子发飘", "要电子发票"), ("发飘抬头怎么写", "发票抬头怎么写"),
    ("我的快滴怎么还没到啊", "我的快递怎么还没到啊"), ("快滴到哪了", "快递到哪了"),
    ("显示亲收了但是我没拿到", "显示签收了但是我没拿到"), ("这个尺马偏大还是偏小", "这个尺码偏大还是偏小"),
    ("无流一直不更新是怎么回事", "物流一直不更新是怎么回事"),
    ("能包油吗", "能包邮吗"), ("满多少包油", "满多少包邮"), ("包不包油", "包不包邮"), ("包油吗", "包邮吗"),
    # the same characters as words of their own stay
    ("面包油", "面包油"), ("包油条", "包油条"), ("钱包油了", "钱包油了"),
    ("主推款", "主推款"), ("新品推款", "新品推款"), ("推款式", "推款式"), ("车子发飘", "车子发飘"),
    ("方向盘有点发飘", "方向盘有点发飘"), ("头发飘逸", "头发飘逸"), ("快滴发货吧", "快滴发货吧"), ("能快滴吗", "能快滴吗"),
    ("亲收到了吗", "亲收到了吗"), ("无流苏吗", "无流苏吗"), ("无流量", "无流量")])
def test_speech_to_text_mishearings_are_read_as_the_words_meant(typed, read):
    """A customer who speaks to the phone's keyboard (语音输入) gets homophones no pinyin
    keyboard offers: 我想推款 matched 怎么申请退货 at 0.66, 我的快滴怎么还没到啊 nothing."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed", [
    "方向盘有发飘吗", "这个发飘怎么解决",  # a car that floats
    "这包油不新鲜了", "调料包油不够", "火锅底料的包油没了", "能包油纸吗", "给包油纸吗",  # a bag of oil, oil paper
    "我已经亲收藏了",  # 亲 + 收藏
    "发货真的快滴呢", "好的快滴发货哦", "你们发货好快滴了"])  # 快滴 for 快的
def test_words_that_sound_like_shop_words_stay_as_said(typed):
    """The speech-to-text readings took real words: 方向盘有发飘吗 became 发票 (an order question),
    这包油不新鲜了 包邮, 我已经亲收藏了 签收藏, 你们发货好快滴了 好快递了."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == normalize(typed).text


@pytest.mark.parametrize("typed, read", [
    ("有发飘吗", "有发票吗"), ("能开个发飘吗", "能开个发票吗"), ("包油不", "包邮不"), ("能包油吗", "能包邮吗"),
    ("我的快滴呢", "我的快递呢"), ("已经亲收了", "已经签收了")])
def test_the_shop_words_misheard_are_still_read(typed, read):
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed", ["今天的推款还有吗", "店里推款到货了吗", "直播间推款还有货吗", "这是今年的首推款吗",
                                   "你们这周推款什么时候上新"])
def test_a_promoted_item_is_no_refund(typed):
    """推款 is also a shop's promoted item: 今天的推款还有吗 was read as 退款 and drafted the
    refund timeline for a customer about to buy."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == normalize(typed).text


@pytest.mark.parametrize("typed, read", [
    ("我的推款还没到", "我的退款还没到"), ("推款到了吗", "退款到了吗"), ("推款什么时候到账", "退款什么时候到账")])
def test_a_refund_misheard_is_still_read_beside_those_words(typed, read):
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed", ["这把尺马上能发吗", "卷尺马上发货吗", "钢尺马上到了吗"])
def test_a_ruler_sent_at_once_is_no_size(typed):
    """尺 + 马上 was read as 尺码: 这把尺马上能发吗 asked about the size chart, and in no hurry."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == normalize(typed).text


@pytest.mark.parametrize("typed, read", [
    ("订单号是幺三五七二四六八九零一二三四五六七帮我查一下", "订单号是13572468901234567帮我查一下"),
    ("单号二零二六一一二八一二三四五六七八", "单号2026112812345678"),
    ("我买了两件一百二十九块的", "我买了两件一百二十九块的"), ("七天无理由", "七天无理由"), ("三三两两", "三三两两")])
def test_a_number_said_digit_by_digit_is_matched_as_one_typed(typed, read):
    """Speech-to-text writes an order number read out as characters: 订单号是幺三五七… matched
    下单后多久发货 at 0.89, typed in digits at 0.95 (the number is no words of the question)."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed", ["订单号1234567890一直没发货怎么回事", "123456五六七八", "一一一一一一一一一一"])
def test_digits_typed_beside_number_words_stay_as_typed(typed):
    """Typed digits and a number word after them (一直, 三天) are no number said aloud, nor
    digits half typed and half said, nor one character said over and over."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == normalize(typed).text


@pytest.mark.parametrize("typed, read", [
    ("kd到哪了", "快递到哪了"), ("查kd", "查快递"), ("我的dd呢", "我的订单呢"), ("dd号多少", "订单号多少"),
    ("qs了但是没收到", "签收了但是没收到"), ("显示qs了", "显示签收了"),
    ("KD鞋", "kd鞋"), ("kd500", "kd500"), ("型号KD-2", "型号kd-2"), ("kd系列", "kd系列"), ("DD礼服裙", "dd礼服裙"),
    ("DD-123", "dd-123"), ("我叫dd", "我叫dd"), ("QS认证", "qs认证"), ("QS奶粉", "qs奶粉")])
def test_kd_dd_qs_are_read_only_beside_a_parcels_or_orders_word(typed, read):
    """kd, dd and qs are also models, brands and names (KD鞋, DD礼服裙, QS认证, 我叫dd): they
    were read as 快递, 订单 and 签收 wherever they stood alone."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("kd", "快递"), ("KD?", "快递?"), ("kd？", "快递?"), ("dd呢", "订单呢"), ("亲 kd", "亲 快递"),
    ("kd。", "快递。"), ("KD鞋", "kd鞋"), ("kd 500", "kd 500"), ("kd dd", "kd dd")])
def test_a_message_of_kd_alone_is_read_as_parcel(typed, read):
    """In a shop's chat a lone kd asks after the parcel (dd呢 after the order; a lone dd is a
    ping, below): "kd?" was read as the two letters, no word of the shop's (kd到哪了 was
    read, kd? not)."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("Refund Shop旗舰店怎么样", "refund shop旗舰店怎么样"), ("Return旗舰店的衣服好吗", "return旗舰店的衣服好吗"),
    ("Happy Return Store有货吗", "happy return store有货吗"), ("能return到店里吗", "能退货到店里吗"),
    ("can i return this to the store?", "can i 退货 this to the store?"), ("我想refund", "我想退款")])
def test_an_english_shop_word_in_a_shops_name_is_not_read(typed, read):
    """Refund Shop旗舰店怎么样 asks about a shop of that name: it was read as a refund question."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [("dd", "在吗"), ("DD?", "在吗?"), ("亲 dd", "亲 在吗"), ("dd～", "在吗~")])
def test_a_message_of_dd_alone_is_a_ping(typed, read):
    """A lone dd is 滴滴 in mainland chat, a ping (are you there?): it was read as 订单 and
    answered with 订单不见了."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("我要refund店家不理我", "我要退款店家不理我"), ("return店员说不行", "退货店员说不行"),
    ("想return 店家同意吗", "想退货 店家同意吗"), ("申请refund 店主说等", "申请退款 店主说等"),
    ("我想exchange 店长说可以吗", "我想换货 店长说可以吗"), ("refund店小二不回", "退款店小二不回")])
def test_an_english_shop_word_before_the_shops_people_is_read(typed, read):
    """店家 / 店员 / 店长 / 店主 / 店小二 are the shop's people, not the end of a shop's name:
    我要refund店家不理我 was left unread."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("以经付款了", "已经付款了"), ("以经发货了吗", "已经发货了吗"), ("我以经等了三天", "我已经等了三天"), ("以经过了七天", "已经过了七天"),
    ("以经销商价格出售", "以经销商价格出售"), ("以经常穿的尺码为准", "以经常穿的尺码为准"), ("以经理的名义", "以经理的名义"),
    ("以经期为准", "以经期为准"), ("以经度计算", "以经度计算")])
def test_yi_jing_is_read_as_already_only_before_a_verb(typed, read):
    """以 then a word of 经 (以经销商价格, 以经常穿的尺码为准) was read as 已经."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("再吗", "在吗"), ("亲再吗？", "亲在吗?"), ("亲 再嘛", "亲 在嘛"), ("再吗 能便宜点吗", "在吗 能便宜点吗"),
    ("好的 再嘛", "好的 再嘛"), ("下次 再嘛", "下次 再嘛"), ("那就先这样,再吗", "那就先这样,再吗")])
def test_zai_ma_is_a_greeting_only_opening_the_message(typed, read):
    """再吗 after a clause is 再 as meant (好的 再嘛, 下次 再嘛): it was read as 在嘛, a greeting."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("tuihuo", "退货"), ("fahuo le ma", "发货了吗"), ("shenme shihou dao", "什么时候到"), ("tui kuan duojiu dao", "退款多久到"),
    ("我的kuaidi到哪了", "我的快递到哪了"), ("Fapiao zenme kai", "发票怎么开"), ("zaima", "在吗"), ("neng tui ma", "能退吗"),
    # English words and pinyin-like letters that are no shop word stay
    ("hi, can you help me?", "hi, can you help me?"), ("mama说好看", "mama说好看"), ("m码 还有吗", "m码 还有吗"),
    ("le creuset的锅", "le creuset的锅"), ("ma", "ma")])
def test_pinyin_words_are_matched_as_the_words_meant(typed, read):
    """A customer whose keyboard is set to letters types the shop's words in pinyin:
    "tuihuo" and "fahuo le ma" shared no token with any entry and found nothing. Particles
    (le, ma, dao) are read only beside a shop word read so."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("neng tui ma", "能退吗"), ("huan le ma", "换了吗"), ("tuihuo", "退货"), ("tuihuo.", "退货."),
    ("Tui Na按摩器", "tui na按摩器"), ("wang huan", "wang huan"), ("收件人: Tui", "收件人: tui"),
    ("tuihuo@163.com", "tuihuo@163.com"), ("mail.fahuo.cn", "mail.fahuo.cn"), ("a_tuihuo", "a_tuihuo"),
    ("tuihuo-2", "tuihuo-2"), ("ab/tuihuo", "ab/tuihuo")])
def test_pinyin_is_read_only_in_a_run_of_its_own(typed, read):
    """tui and huan alone are names as often (Tui Na, wang huan): they read 退 and 换 only with
    another piece; and a run inside an e-mail address or a path (tuihuo@163.com) is no pinyin."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("能return吗", "能退货吗"), ("Hi, can I return this?", "hi, can i 退货 this?"), ("refund 什么时候到账", "退款 什么时候到账"),
    ("exchange一下尺码", "换货一下尺码"), ("shipping fee多少", "运费多少"),
    ("ship to HK吗", "发货 to hk吗"), ("invoice怎么开", "发票怎么开"), ("coupon用不了", "优惠券用不了"),
    # the same letters inside other words stay
    ("coupons能叠加吗", "优惠券能叠加吗"), ("returned", "returned"), ("shipper", "shipper"),
    ("size m 还有吗", "size m 还有吗")])
def test_shop_words_in_english_are_matched_as_the_words_meant(typed, read):
    """A customer who writes English, or mixes it in: the entries are written in Chinese, and
    "能return吗" and "Hi, can I return this?" were no-matches."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("能return吗", "能退货吗"), ("Hi, can I return this?", "hi, can i 退货 this?"), ("refund", "退款"),
    ("can i get a refund", "can i get a 退款"), ("exchange一下尺码", "换货一下尺码"),
    # English that is no question to the shop stays
    ("Ship of Theseus", "ship of theseus"), ("exchange rate", "exchange rate"), ("Cancel culture", "cancel culture"),
    ("Return to sender", "return to sender"), ("Refund Shop旗舰店", "refund shop旗舰店")])
def test_english_shop_words_are_read_only_in_a_question_to_the_shop(typed, read):
    """English shop words were read in any text: Ship of Theseus, exchange rate, Cancel culture
    and Return to sender became 发货, 换货, 取消 and 退货. They are read where the customer asks
    the shop: a question, a message mostly in Chinese, the word beside a Chinese one, or alone."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("【淘宝】https://m.tb.cn/h.abc123?tk=XYZ 「青禾 纯棉T恤 男款」点击链接直接打开 这个有货吗", "这个有货吗"),
    ("【淘宝】https://m.tb.cn/h.gAbC?tk=Q1w2 CZ0001 「青禾 纯棉T恤 男款」\n点击链接直接打开 或者 淘宝搜索直接打开\n能便宜点吗",
     "能便宜点吗"),
    ("这款能便宜点吗 【京东】https://3.cn/1a-BcDe 「青禾 纯棉T恤」", "这款能便宜点吗"),
    # a share alone stays as it is, as a link does, its letters no chat words (tk: 退款)
    ("【淘宝】https://m.tb.cn/h.abc123?tk=XYZ 「青禾 纯棉T恤 男款」点击链接直接打开",
     "【淘宝】https://m.tb.cn/h.abc123?tk=xyz 「青禾 纯棉t恤 男款」点击链接直接打开"),
    # a quote the customer writes stays: no app's mark, link or 点击链接 beside it
    ("「申请售后」在哪", "「申请售后」在哪")])
def test_a_shared_products_wrapping_is_not_matched(typed, read):
    """A product shared from the app (【淘宝】, its link, 「title」, 点击链接直接打开) names the
    goods: "…「青禾 纯棉T恤 男款」点击链接直接打开 这个有货吗" matched the men's size chart and
    the cotton entry above 这款有现货, with no answer sure enough to draft."""
    from kefu.kb.text import mandarin, own_words

    assert mandarin(normalize(typed).text) == read
    assert own_words(typed) == ("" if read.startswith("【") else typed if read == typed else read)


@pytest.mark.parametrize("typed, read", [("[捂脸]今天能到不", "今天能到不"), ("吊牌剪了还能退不[捂脸]", "吊牌剪了还能退不"),
                                         ("好的[ok]", "好的"), ("[图片]", "[图片]"), ("尺码[s/m/l]", "尺码[s/m/l]"),
                                         ("尺码选[xl]还是[l]", "尺码选[xl]还是[l]"), ("要[m]码的", "要[m]码的")])
def test_chat_stickers_are_not_matched(typed, read):
    """Stickers arrive as their names in brackets: [捂脸] made 捂 and 脸 words of the message.
    A message of a sticker alone keeps it (there is nothing else to match)."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("typed, read", [
    ("https://item.taobao.com/item.htm?id=678901234567 这个有货吗", "这个有货吗"),
    ("这个能退吗 https://m.tb.cn/h.5abcxyz?tk=abc", "这个能退吗"),
    ("item.jd.com/100012345678.html\n能指定快递吗", "能指定快递吗"),
    # a link alone stays, its letters not read as chat spellings (jd: 京东, tk: 退款)
    ("https://item.jd.com/100012345678.html", "https://item.jd.com/100012345678.html"),
    ("[商品] https://m.tb.cn/h.5abc?tk=x", "https://m.tb.cn/h.5abc?tk=x"),
    # no link: a price, a size, a bare shop name
    ("1.5米/件", "1.5米/件"), ("在jd买的", "在京东买的")])
def test_pasted_links_are_not_matched(typed, read):
    """A product link the customer pastes names the goods, not the question: item.jd.com/….html
    alone matched 能指定发京东吗 (its jd read as 京东), ?tk= in a short link read as 退款."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("pasted, said", [
    ("tb12345678 2026-12-01 10:02:11\n衣服买大了能换吗", "衣服买大了能换吗"),
    ("青禾优选:小禾 2026-12-01 10:02:30\n亲，可以的", "亲，可以的"),
    ("jd_5f3a2b1c 12-01 10:02:11\n在吗\n以下为新消息\n能换吗", "在吗\n能换吗"),
    ("——以下为新消息——", ""), ("客户已离开", ""), ("客戶已離開", ""), ("对方撤回了一条消息", ""),
    # the platform's system lines: the customer entered the shop, the bot's replies follow
    ("客户已进入店铺\n在吗", "在吗"), ("系统消息：客户已进入店铺", ""), ("[系统消息] 买家已进入会话", ""),
    ("系统消息", ""), ("以下为机器人回复\n转人工", "转人工"), ("——以下为智能客服回复——", ""),
    ("系统消息：客户已离开", ""), ("客户已进入店铺了吗", "客户已进入店铺了吗"),
    ("系统消息怎么关掉", "系统消息怎么关掉"),
    # a time the customer gives is said: no nickname line, no seconds, or words after it
    ("明天 10:30", "明天 10:30"), ("下单时间 2026-11-28 10:02:11 怎么还没发", "下单时间 2026-11-28 10:02:11 怎么还没发"),
    ("客户已离开了吗", "客户已离开了吗"), ("下单时间：2026-11-28 10:02:11", "下单时间：2026-11-28 10:02:11"),
    ("订单编号 3901234567890123 2026-11-28 10:02:11", "订单编号 3901234567890123 2026-11-28 10:02:11")])
def test_a_chat_apps_own_lines_are_no_ones_words(pasted, said):
    """A conversation copied out of a chat app holds lines nobody typed: each message's
    nickname and time, and notices such as 以下为新消息 or 客户已离开."""
    from kefu.kb.text import without_chat_frame

    assert without_chat_frame(pasted) == said


@pytest.mark.parametrize("text, script", [
    ("[视频]壞了", TRADITIONAL), ("收到壞的[流泪][流泪]", TRADITIONAL), ("[图片]可以退嗎", TRADITIONAL),
    ("退货[流淚]", SIMPLIFIED), ("[流淚]", TRADITIONAL), ("[流泪]", SIMPLIFIED),
    ("請問 https://item.taobao.com/item.htm?id=678901234567 有貨嗎", TRADITIONAL), ("OK 請問有貨嗎 thanks", TRADITIONAL)])
def test_a_chat_apps_codes_do_not_decide_the_script(text, script):
    """A mainland app writes its placeholders and stickers in simplified script ([视频],
    [流泪]) whatever the customer types: 收到壞的[流泪][流泪] was answered in simplified.
    They count only when nothing else says which script."""
    from kefu.kb.text import detect_script

    assert detect_script(text) == script


@pytest.mark.parametrize("typed, read", [
    ("@青禾优选 在吗", "在吗"), ("@小禾\u2005衣服买大了可以换吗", "衣服买大了可以换吗"), ("能换吗 @小禾", "能换吗"),
    ("@小禾", "@小禾"), ("zhang@qq.com 收不到邮件", "zhang@qq.com 收不到邮件")])
def test_an_at_mention_is_not_matched(typed, read):
    """A group chat's @mention names the shop or the agent, not the question: "@青禾优选 在吗"
    matched 你们店主要卖什么 and was answered with the shop's introduction."""
    from kefu.kb.text import mandarin

    assert mandarin(normalize(typed).text) == read


@pytest.mark.parametrize("pasted, matched", [
    ("订单编号：3901234567890123\n下单时间：2026-11-28 10:02:11\n实付：¥129.00\n这个单子什么时候发", "这个单子什么时候发"),
    ("[订单]\n订单号: 3901234567890123\n能改地址吗", "[订单]\n能改地址吗"),
    ("tb12345678 2026-12-01 10:02:11\n商品ID：678901234567\n有货吗", "有货吗"),
    ("订单编号：3901234567890123 下单时间：2026-11-28 10:02:11 实付：¥129.00\n能换吗", "能换吗"),
    # a card alone is the message; a label with words after it is the customer's
    ("订单编号：3901234567890123", "订单编号：3901234567890123"), ("订单号：3901234567890123 怎么还没发", "订单号：3901234567890123 怎么还没发"),
    ("地址：写错了能改吗", "地址：写错了能改吗"), ("型号：XR-200\n有货吗", "型号：XR-200\n有货吗")])
def test_what_is_matched_of_a_pasted_message(pasted, matched):
    """An order card's lines pasted above the question (订单编号：…, 下单时间：…, 实付：…) made
    its labels words of the match: 这个单子什么时候发 found 物流单号在哪里看, not 下单后多久发货."""
    from kefu.kb.text import for_matching

    assert for_matching(pasted) == matched


@pytest.mark.parametrize("wording", ["s2twp", "s2hk"])
@pytest.mark.parametrize("text, path", [("打开 商品详情 > 尺码表 查看", "商品詳情 > 尺碼表"),
                                        ("进入 我的 > 售后 > 开封后退货", "我的 > 售後 > 開封後退貨")])
def test_an_app_paths_labels_get_kefus_character_fixes(wording, text, path):
    """An app path's labels were converted with OpenCC alone: 尺码表 read 尺碼錶 (a stopwatch)
    and 开封后 read 開封后 (a queen crowned), which kefu fixes everywhere else."""
    from kefu.kb.text import to_traditional

    assert path in to_traditional(text, wording)


@pytest.mark.parametrize("text, converted", [("订单金额>99元包邮，当天发货", "訂單金額>99元免運，當天出貨"),
                                             ("订单金额 > 99元包邮", "訂單金額 > 99元免運"),
                                             ("满>=2件包邮", "滿>=2件免運"),
                                             ("拍下->付款->发货，一般48小时内", "拍下->付款->出貨，一般48小時內"),
                                             ("拍下=>付款=>发货", "拍下=>付款=>出貨"),
                                             ("在 我的订单>待发货 里查看", "我的訂單>待發貨"),
                                             ("订单金额 > 99 元包邮", "訂單金額 > 99 元免運"),
                                             ("路径：设置 > 5G网络 > 账号设置", "設置 > 5G網絡 > 賬號設置"),
                                             # any number after > is "more than", its unit whatever
                                             ("运行内存 > 8GB的手机都支持", "運行記憶體 > 8GB"),
                                             ("视频 > 10分钟的默认不能上传", "影片 > 10分鐘的預設"),
                                             ("订单金额 > 99包邮", "訂單金額 > 99免運"), ("保修 > 3年", "保固 > 3年")])
def test_a_more_than_sign_or_an_arrow_is_no_app_path(text, converted):
    """Every > counted as an app path's separator: 订单金额>99元包邮 kept 包郵 and 拍下->付款->发货
    kept 發貨 (no Taiwan wording), as if they were menu labels. And a label that begins with
    digits (设置 > 5G网络) is one: read as "more than", the path fell apart (設定 > 5G網絡)."""
    from kefu.kb.text import to_traditional

    assert converted in to_traditional(text)


@pytest.mark.parametrize("text, converted", [
    ("尺码M.XL/大码", "尺碼M.XL/大碼"), ("颜色 Black.White/黑白", "顏色 Black.White/黑白"), ("Vol.II/上册", "Vol.II/上冊"),
    ("型号 HW.MATE/旗舰版", "型號 HW.MATE/旗艦版"), ("说明书manual.pdf/说明", "說明書manual.pdf/說明"),
    # Chinese right after a link's / is its path, a sentence glued on there too (a link left
    # as written costs less than a broken one): …/发票 was converted to …/發票, a page not there
    ("详见https://shop.example.com/退货说明请查看后申请", "詳見https://shop.example.com/退货说明请查看后申请"),
    ("或www.shop.com/帮助中心查看", "或www.shop.com/帮助中心查看"), ("见 https://shop.com/发票", "見 https://shop.com/发票"),
    ("见 https://shop.com/#/发票。", "見 https://shop.com/#/发票。"), ("见 m.tb.cn/发票", "見 m.tb.cn/发票"),
    ("见 WWW.SHOP.COM/发票", "見 WWW.SHOP.COM/发票"), ("见 Shop.com/售后/发票", "見 Shop.com/售后/发票"),
    ("见 suo.im/5abc/退货说明", "見 suo.im/5abc/退货说明"), ("见 bit.ly/3xYz/发票", "見 bit.ly/3xYz/发票"),
    ("1.5kg/袋", "1.5kg/袋"), ("SKU-A12.cn/3号色", "SKU-A12.cn/3號色"),
    ("详见 https://shop.example.com/help/后台/发票?id=A12&type=发货 ，", "詳見 https://shop.example.com/help/后台/发票?id=A12&type=发货 ，"),
    ("或 www.example.com/售后/质量\n", "或 www.example.com/售后/质量\n"), ("邮箱 Service@Qinghe.com，", "郵箱 Service@Qinghe.com，")])
def test_only_a_links_own_chinese_is_kept_as_written(text, converted):
    """Any word.word/ read as a link and took the Chinese after it: 尺码M.XL/大码 kept 大码, and
    a sentence glued to a link's path (…/退货说明请查看后申请) stayed simplified. A bare domain
    ends in a top-level domain shops use; Chinese right after / ? & # = belongs to the link."""
    from kefu.kb.text import to_traditional

    assert to_traditional(text) == converted


def test_many_links_leave_an_app_path_its_own_words():
    """A link's place-holder ran into an app path's after 4096 links: with 5000 links,
    设置 > 账号 came back in Taiwan words (設定 > 帳號), and the links in the wrong places."""
    from kefu.kb.text import to_traditional

    links = [f"a{i}.example.com/x" for i in range(5000)]
    converted = to_traditional(" ".join(links) + " 设置 > 账号 发货")
    assert converted == " ".join(links) + " 設置 > 賬號 出貨"


def test_reading_a_card_like_line_takes_linear_time():
    """A line of card fields ending in a Chinese word was tried in every way its spaces and
    labels could be split between fields: a card pasted on one line, its fields four spaces
    apart, then the question, took 16 s for ten fields, and "SKU:" * 23 + "好" 9 s, a
    server's worker hung on one message. Run in a child process, which a regex cannot hold
    past its timeout: without the fix these never end."""
    import json
    import subprocess
    import sys

    fields = ["订单编号：3901234567890123", "下单时间：2026-11-28 10:02:11", "实付款：¥129.00", "数量：1",
              "商品ID：678901234567", "SKU：5123456789012", "交易号：2026112822001412", "运单号：YT7512345678901"]
    lines = ["    ".join(fields * 4) + "    怎么还没发货", "SKU:" * 2000 + "好", "sku： " * 2000 + "好"]
    child = ("import sys, json; from kefu.kb.text import for_matching, own_words; "
             "[(for_matching(t), own_words(t)) for t in json.loads(sys.stdin.read())]")
    proc = subprocess.run([sys.executable, "-c", child], input=json.dumps(lines), text=True,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("said", [
    # an order or tracking number and a time: the customer's, never a nickname
    "3901234567890123 11-28 10:02\n怎么还没发货", "怎么还没发货\n3901234567890123 2026-11-28 10:02:11",
    "订单3901234567890123 11-28 10:02\n怎么还没发货", "SF1234567890123 12-01 10:02\n快递到哪了",
    "快递到哪了\n75312345678901 12-01 10:02:11",
    # a word, a date and a time the customer typed
    "明天 12-02 10:00\n能送到吗", "能改送货时间吗\n改到 12月6日 14:00", "发货时间 12-01 10:02", "退款 12-03 09:00",
    "原来约的 12-05 14:00\n改成 12-06 10:00\n可以吗", "明天 2026-12-02 10:00:00 能到吗", "改到 2026-12-06 14:00"])
def test_a_time_the_customer_gives_with_a_date_is_no_header(said):
    """A line of a word, a date and a time was taken for a chat app's nickname-and-time
    line and dropped: "明天 12-02 10:00" was not matched, learned or logged, and an order
    number before a time ("3901234567890123 11-28 10:02") no longer filled {订单号}."""
    from kefu.kb.text import without_chat_frame

    assert without_chat_frame(said) == said


@pytest.mark.parametrize("pasted, said", [
    ("青禾优选:小禾 12-01 10:02\n亲，可以的", "亲，可以的"), ("jd_5f3a2b1c 12-01 10:02:11\n在吗", "在吗"),
    ("tb12345678 2026-12-01 10:02\n能换吗", "能换吗"), ("小禾 2026年12月1日 10:02\n好的", "好的"),
    # a nickname holding a time word or a long number is one (only a name of nothing else is not)
    ("时间煮雨 2026-12-01 10:02:11\n在吗", "在吗"), ("晚上好呀 2026-12-01 10:02:11\n在吗", "在吗"),
    ("後天見 2026-12-01 10:02:11\n在吗", "在吗"), ("約好了 2026-12-01 10:02:11\n在吗", "在吗"),
    ("用户7392847562934 2026-12-01 10:02:11\n在吗", "在吗"), ("t_1484192734425_0123 2026-12-01 10:02:11\n在吗", "在吗"),
    ("jd_188123456789 2026-12-01 10:02:11\n在吗", "在吗")])
def test_a_header_with_seconds_a_year_or_a_sub_account_is_still_one(pasted, said):
    from kefu.kb.text import without_chat_frame

    assert without_chat_frame(pasted) == said


@pytest.mark.parametrize("typed", ["运单号：YT7512345678901\n查不到", "实付金额：129.00\n多扣了",
                                   "退款编号：201234567890123456\n怎么还没到账", "运单号：YT7512345678901 查不到物流"])
def test_one_field_the_customer_typed_is_matched(typed):
    """One card field alone is the customer's words, its label often the topic: "运单号：
    YT7512345678901\\n查不到" lost 运单号 and matched 订单号查不到 over 快递单号查不到物流."""
    from kefu.kb.text import for_matching

    assert for_matching(typed) == typed


@pytest.mark.parametrize("pasted, matched", [
    ("运单号：YT7512345678901\n发货时间：2026-11-29 09:00:00\n查不到", "查不到"),
    ("[商品]\n商品ID：678901234567\n有货吗", "[商品]\n有货吗"), ("实付：¥129.00 数量：1\n多扣了", "多扣了")])
def test_a_card_of_two_fields_or_under_a_placeholder_is_not_matched(pasted, matched):
    from kefu.kb.text import for_matching

    assert for_matching(pasted) == matched


@pytest.mark.parametrize("pasted, matched", [
    ("[商品]\n青禾 纯棉T恤 男款\n价格：¥79.00\n规格：白色 XL\n这个有货吗", "[商品]\n这个有货吗"),
    ("订单号：3901234567890123\n商品：青禾 纯棉T恤\n实付：¥129.00\n状态：待发货\n什么时候发", "什么时候发"),
    # worded fields make no card of their own, nor does one beside them
    ("规格：白色 XL\n有货吗", "规格：白色 XL\n有货吗"), ("商品：纯棉T恤\n状态：待发货", "商品：纯棉T恤\n状态：待发货"),
    ("青禾 纯棉T恤 男款\n价格：¥79.00\n这个有货吗", "青禾 纯棉T恤 男款\n价格：¥79.00\n这个有货吗"),
    # an order card's receiver: 收货地址 matched 还没发货，收货地址能改吗 for 什么时候发
    ("[订单]\n订单号：3901234567890123\n收货人：张三\n手机：13812345678\n收货地址：北京市朝阳区建国路88号\n什么时候发",
     "[订单]\n什么时候发"), ("收货地址：北京市朝阳区建国路88号\n能改吗", "收货地址：北京市朝阳区建国路88号\n能改吗")])
def test_a_cards_worded_fields_and_title_are_not_matched(pasted, matched):
    """A product or order card holds fields in words too (商品：青禾 纯棉T恤, 规格：白色 XL, 状态：待发货)
    and, under its placeholder, the product's title: "[商品] 青禾 纯棉T恤 男款 … 这个有货吗" matched
    the men's size chart above 这款有现货, and nothing was drafted with confidence."""
    from kefu.kb.text import for_matching

    assert for_matching(pasted) == matched


@pytest.mark.parametrize("typed, read", [
    ("邮箱后缀是 @163.com 的收不到验证码", "邮箱后缀是 @163.com 的收不到验证码"),
    ("xs.xl/xxl 有吗", "xs.xl/xxl 有吗"), ("尺码 m.xl/l 有吗", "尺码 m.xl/l 有吗")])
def test_an_e_mail_domain_and_a_size_list_are_matched(typed, read):
    """@163.com is an e-mail's domain, no @mention, and xs.xl/xxl a list of sizes, no link:
    both were left out of what is matched ("尺码 m.xl/l 有吗" was "尺码 有吗")."""
    from kefu.kb.text import mandarin, own_words

    assert mandarin(normalize(typed).text) == read
    assert own_words(typed) == typed


@pytest.mark.parametrize("line, auto", [
    ("【自动回复】说的48小时发货 现在都没发", False), ("[自动回复]里不是写着包邮吗", False),
    ("【自动回复】您好，欢迎光临", True), ("[自動回覆]親，在的", True)])
def test_a_customer_quoting_the_automatic_reply_is_no_automatic_reply(line, auto):
    """"【自动回复】说的48小时发货 现在都没发" is the customer's complaint about the shop's
    automatic reply, not the reply: taken for the shop's turn, the message matched nothing."""
    from kefu.kb.text import is_auto_reply

    assert is_auto_reply(line) == auto


@pytest.mark.parametrize("pasted", ["tb12345678 2026-12-01 10:02:11", "客户已离开",
                                    "订单编号：3901234567890123\n下单时间：2026-11-28 10:02:11"])
def test_a_message_of_what_the_app_pasted_alone_is_matched_but_not_learned(pasted):
    """Nothing else to match, so it is matched as it is; but it holds no customer's words, and
    learned it would have made "tb 2026-12-01 10:02:11" or 客户已离开 a similar question."""
    from kefu.kb.learned import without_details
    from kefu.kb.text import for_matching

    assert for_matching(pasted) == pasted and without_details(pasted) == ""


def test_a_long_run_of_links_is_read_in_linear_time():
    """A shared product's link was tried from every place a link could begin in a run of
    them, each try running to the run's end: 16k characters of links cost 3 s, and five
    reads of a 32k message 30 s, a server's worker held as long."""
    import time

    from kefu.kb.text import for_matching, mandarin, own_words, product_name

    run = ("https://m.tb.cn/" * 2000)[:32000]
    start = time.process_time()
    for text in (run, run + "「青禾」", "【淘宝】" + run + " 「青禾」点击链接直接打开", run + " 点击链接直接打开"):
        mandarin(normalize(text, max_chars=10**6).text), own_words(text), product_name(text), for_matching(text)
    assert time.process_time() - start < 2


@pytest.mark.parametrize("typed, matched", [
    ("订单号：3901234567890123\n状态：一直没发货 怎么回事", "订单号：3901234567890123\n状态：一直没发货 怎么回事"),
    ("运单号：YT7512345678901\n状态：三天没更新了", "运单号：YT7512345678901\n状态：三天没更新了"),
    ("订单号：3901234567890123\n收货人：张三 电话打不通", "订单号：3901234567890123\n收货人：张三 电话打不通"),
    ("[订单]\n状态：退款中 我要投诉", "[订单]\n状态：退款中 我要投诉"),
    ("[商品]\n收到的衣服破了 我要退货\n订单号：3901234567890123\n实付：¥79.00", "[商品]\n收到的衣服破了 我要退货"),
    ("tb12345678 2026-12-01 10:02:11\n手机：坏了 屏幕不亮", "手机：坏了 屏幕不亮"),
    ("tb12345678 2026-12-01 10:02:11\n订单号：3901234567890123", "订单号：3901234567890123"),
    # a card's own fields still go with it
    ("[订单]\n订单号：3901234567890123\n状态：待发货\n收货人：张三\n什么时候发", "[订单]\n什么时候发"),
    ("订单号：3901234567890123\n实付：¥79.00\n价格：¥79.00\n状态：已签收\n能退吗", "能退吗")])
def test_the_customers_own_lines_are_no_card_fields(typed, matched):
    """A typed order number and one line of the customer's own (状态：一直没发货 怎么回事,
    收货人：张三 电话打不通) counted as a card of two fields, and a chat header or [订单] as
    one's mark: understanding read only the order number (logistics, anxious, became order,
    calm). Worded fields go only with a real card, and only with a card field's value."""
    from kefu.kb.text import for_matching, pasted_alone

    assert for_matching(typed) == matched
    assert pasted_alone(typed) == (matched == "订单号：3901234567890123")


@pytest.mark.parametrize("pasted, name", [
    ("[商品]\n收到的衣服破了 我要退货\n订单号：3901234567890123\n实付：¥79.00", None),
    ("[商品]\n这个有M码吗\n规格：白色 XL", None), ("[商品]\n规格：M码 没货了\n这款有现货吗", None),
    ("[订单]\n订单编号：3901234567890123\n状态：已签收\n这款有现货吗", None), ("[商品]\n商品ID：123456789012", None),
    ("[订单]\n状态：退款中 我要投诉", None),
    ("[商品]\n青禾 纯棉T恤 男款\n价格：¥79.00\n规格：白色 XL\n这个有货吗", "青禾 纯棉T恤 男款"),
    ("[商品]\n青禾 纯棉T恤 男款\n商品ID：123456789012", "青禾 纯棉T恤 男款"),
    ("订单号：3901234567890123\n商品：青禾 纯棉T恤\n实付：¥129.00\n什么时候发", "青禾 纯棉T恤")])
def test_only_a_cards_title_names_its_product(pasted, name):
    """After [商品] or [订单], the customer's own line or a card's field was taken for the
    product's title: drafts read "订单编号：3901234567890123目前有现货" and "规格：M码 没货了目前有现货"."""
    from kefu.kb.text import product_name

    assert product_name(pasted) == name


@pytest.mark.parametrize("typed, read, title", [
    ("https://m.tb.cn/h.5abc 「七天无理由」是真的吗", "「七天无理由」是真的吗", None),
    ("【淘宝】「运费险」怎么用", "【淘宝】「运费险」怎么用", None),
    ("这个链接 https://item.taobao.com/item.htm?id=123 「官方正品」是假的吧", "这个链接 「官方正品」是假的吧", None),
    ("点击链接打开不了", "点击链接打开不了", None), ("复制链接到浏览器打开 还是不行", "复制链接到浏览器打开 还是不行", None),
    ("我在【京东】买的 怎么退", "我在【京东】买的 怎么退", None), ("在【拼多多】上看到更便宜", "在【拼多多】上看到更便宜", None),
    # a share still is one: the app's ending, or its mark and a link
    ("【淘宝】https://m.tb.cn/h.abc 「青禾 纯棉T恤」点击链接直接打开 有货吗", "有货吗", "青禾 纯棉T恤"),
    ("https://m.tb.cn/h.abc 「青禾 纯棉T恤」点击链接直接打开 有货吗", "有货吗", "青禾 纯棉T恤"),
    ("【京东】https://3.cn/1a-BcDe 「青禾 纯棉T恤」 有货吗", "有货吗", "青禾 纯棉T恤"),
    ("https://m.tb.cn/h.abc 点击链接直接打开 有货吗", "有货吗", None), ("【淘宝】https://m.tb.cn/h.abc 有货吗", "有货吗", None)])
def test_the_customers_own_quotes_and_app_names_stay(typed, read, title):
    """A 「quote」 after a link or an app's name was taken for a shared product's title (「七天无理由」
    是真的吗 read 是真的吗, its {商品名} 七天无理由), and 【京东】 or 点击链接打开 in the customer's own
    sentence was cut (我在 买的 怎么退, 不了: matched 没有其他问题了)."""
    from kefu.kb.text import mandarin, own_words, product_name

    assert mandarin(normalize(typed).text) == normalize(read).text
    assert own_words(typed) == read
    assert product_name(typed) == title


@pytest.mark.parametrize("pasted", [
    "【淘宝】https://m.tb.cn/h.abc 「青禾 纯棉T恤 订单3901234567890123 13800138000」点击链接直接打开 有货吗",
    "订单号：3901234567890123\n商品：青禾 纯棉T恤 138****8000\n实付：¥129.00\n有货吗",
    "https://m.tb.cn/h.abc 「这件衣服能退吗？」点击链接直接打开"])
def test_a_title_holding_a_number_or_a_question_names_no_product(pasted):
    """A title holding an order number or a phone went into the draft as it was (青禾 纯棉T恤
    订单3901234567890123 13800138000目前有现货), a question too: no product's name."""
    from kefu.kb.text import product_name

    assert product_name(pasted) is None


def test_a_share_in_traditional_script_is_one():
    """A share's app name and ending were read in simplified script only: once a title needed
    them, 【淘寶】… 「青禾 純棉T恤 男款」點擊鏈接直接打開 named no product."""
    from kefu.kb.text import own_words, product_name

    shared = "【淘寶】https://m.tb.cn/h.5abc 「青禾 純棉T恤 男款」點擊鏈接直接打開 這款有現貨嗎"
    assert product_name(shared) == "青禾 純棉T恤 男款"
    assert own_words(shared) == "這款有現貨嗎"
    assert product_name("https://m.tb.cn/h.5abc 「青禾 純棉T恤」複製鏈接 打開 有嗎") is None


def test_a_typed_number_takes_full_width_digits_and_nothing_else():
    """One reading of a small whole number typed into the console (settings, learning
    pages): ３０ typed with a Chinese input method is 30; signs, decimals, ²
    and over `max_digits` digits are no number."""
    from kefu.kb.text import typed_number

    assert typed_number(" ３０　") == typed_number("30") == 30
    assert typed_number("０") == 0 and typed_number("1２") == 12
    for bad in (None, "", "  ", "-3", "+3", "3.0", "３０天", "²", "٣", "1e3"):
        assert typed_number(bad) is None, bad
    assert typed_number("123456", max_digits=6) == 123456 and typed_number("1234567", max_digits=6) is None
    assert typed_number("1" * 5000) is None  # int() refuses it: no error, no number

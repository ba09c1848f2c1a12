"""Hybrid retrieval over a small shop knowledge base, with the deterministic FakeEmbedder."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from fakes import FakeEmbedder
from helpers import SHOP, entry_dict, patch_jieba

from kefu.kb.base import KnowledgeBase
from kefu.kb.errors import EmptyQuery
from kefu.kb.text import question_window
from kefu.suggest import calibrate
from kefu.suggest.retrieve import Fusion, Retriever


@pytest.fixture(scope="module")
def shop_kb(tmp_path_factory):
    """Read-only for the tests below: five live entries, one expired, one draft, one future."""
    mp = pytest.MonkeyPatch()
    patch_jieba(mp)
    kb = KnowledgeBase(tmp_path_factory.mktemp("retrieve") / "home", [FakeEmbedder()])
    kb.import_entries(SHOP + [
        entry_dict("promo-2020", "双十一优惠券怎么领", "领券中心领取。", valid_to="2020-11-12"),
        entry_dict("promo-draft", "年货节什么时候开始", "一月十日开始。", status="draft"),
        entry_dict("promo-2099", "周年庆有什么活动", "全场八折。", valid_from="2099-01-01"),
    ])
    kb.index()
    yield kb
    kb.close()
    mp.undo()


@pytest.fixture(scope="module")
def retriever(shop_kb):
    return Retriever(shop_kb)


def test_stored_phrasing_returns_its_entry_first(retriever):
    result = retriever.search("邮费多少钱")
    top = result.hits[0]
    assert top.entry_id == "ship"
    assert top.question == "运费怎么算"
    assert top.answer == "满99元包邮，不满收10元运费。"
    assert top.category == "售前"
    assert top.tags == ["物流"]
    assert top.matched == "邮费多少钱"  # the similar question that matched, not the standard one
    assert set(top.dense) == {"fake"}
    assert top.dense["fake"] == pytest.approx(1.0, abs=1e-3)
    assert top.lexical == pytest.approx(1.0)
    assert 0.0 <= top.confidence <= 1.0
    assert result.hits == sorted(result.hits, key=lambda h: -h.score)
    assert result.query == "邮费多少钱"
    assert result.normalized == "邮费多少钱"
    assert result.script == "simplified"
    assert result.warnings == []


@pytest.mark.parametrize("message, entry_id", [
    ("运费怎么算", "ship"),
    ("我要退货", "return"),
    ("发票怎么开", "invoice"),
    ("发货时间", "delivery"),
    ("忘记密码怎么办", "password"),
])
def test_every_stored_phrasing_finds_its_entry(retriever, message, entry_id):
    top = retriever.search(message).hits[0]
    assert top.entry_id == entry_id
    assert top.matched == message


def test_hits_are_distinct_entries_and_respect_top_k(retriever):
    result = retriever.search("怎么退货退款", top_k=3)
    ids = [h.entry_id for h in result.hits]
    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert ids[0] == "return"


@pytest.mark.parametrize("message", ["", "   ", "\n\t", "\u3000"])
def test_empty_message_raises_empty_query(retriever, message):
    with pytest.raises(EmptyQuery):
        retriever.search(message)


def test_very_long_message_keeps_its_tail_and_warns(retriever):
    message = "我上周买的衣服一直没收到，物流也不更新，" * 2600 + "运费怎么算"
    assert len(message.encode()) > 50_000
    result = retriever.search(message)
    assert result.warnings
    assert len(result.normalized) <= 500
    assert result.normalized.endswith("运费怎么算")
    assert result.hits


def test_a_long_complaint_after_its_question_is_matched_on_the_question(retriever, monkeypatch):
    """请问怎么申请退货？ then 600 characters of complaint: only the complaint was matched. The
    shipped encoders read a long message's question (`question_window`); so does the fake here,
    since it keeps the complaint after the question too."""
    fake = retriever.kb.embedders[0]
    monkeypatch.setattr(fake, "encode_queries",
                        lambda texts: FakeEmbedder.encode_queries(fake, [question_window(t, 40) for t in texts]))
    message = "请问怎么申请退货？" + "衣服穿了一次就起球了，颜色也和图片差很多，我非常失望，" * 30
    result = retriever.search(message)
    assert result.normalized.startswith("请问怎么申请退货")
    assert result.hits[0].entry_id == "return"
    assert result.warnings == ["message longer than 500 characters: only the part from its last question on was matched"]


def test_a_long_complaint_that_opens_with_a_greeting_is_matched_on_its_end(retriever):
    """亲在吗？ then 600 characters of complaint was matched on 亲在吗 alone."""
    message = "亲在吗？" + "衣服穿了一次就起球了，颜色也和图片差很多，我非常失望，" * 30 + "我要申请退货"
    result = retriever.search(message)
    assert result.normalized.endswith("我要申请退货")
    assert result.warnings == ["message longer than 500 characters: only its end was matched"]


def test_traditional_message_matches_simplified_entry(retriever):
    result = retriever.search("請問運費怎麼算")
    assert result.script == "traditional"
    assert result.normalized == "请问运费怎么算"
    assert result.hits[0].entry_id == "ship"


@pytest.mark.parametrize("message, entry_id", [("唔記得咗密碼點算", "password"), ("幾時發貨？", "delivery"),
                                               ("運費點計", "ship"), ("發票點樣開", "invoice")])
def test_cantonese_message_matches_its_mandarin_entry(retriever, message, entry_id):
    """A Hong Kong customer's 點算 (怎么办), 幾時 (什么时候), 點計 (怎么算) were read as they are
    written: 想換嘅size冇貨點算 got the shoe-size chart, not the entry about a size out of stock."""
    result = retriever.search(message)
    assert result.hits[0].entry_id == entry_id and not result.no_match
    assert result.query == message  # the message as written; only matching reads the Mandarin


@pytest.mark.parametrize("message", ["出貨時間", "請問出貨了嗎"])
def test_taiwan_shipping_word_matches_the_mainland_entry(retriever, message):
    """Taiwan's 出貨 is the mainland's 发货: 你們到底有沒有要出貨啊 got the entry on return
    freight, and 請問出貨了嗎 no match, while 發貨 found the shipping entries."""
    result = retriever.search(message)
    assert result.hits[0].entry_id == "delivery"


def test_an_entry_written_in_cantonese_is_matched_in_mandarin(tmp_path, monkeypatch):
    """A Hong Kong shop's entry 運費點計 was indexed as written while a message is read in
    Mandarin: a mainland customer's 运费怎么算 met 运费 and nothing else of it, as a Hong
    Kong customer's 運費點計 did (read as 运费怎么算). The entry's phrasing shows as typed."""
    patch_jieba(monkeypatch)
    kb = KnowledgeBase(tmp_path / "home", [FakeEmbedder()])
    try:
        kb.import_entries([entry_dict("hk_ship", "運費點計？", "滿HK$300免運費。", similar=["幾耐收到貨"])]
                          + [e for e in SHOP if e["id"] not in ("ship", "delivery")])
        # embedded once, as read: the import's cache fill reads the entry as the index does
        assert not any("点计" in t or "几耐" in t for t in kb.embedders[0].encoded), kb.embedders[0].encoded
        retriever = Retriever(kb)
        for message, matched in (("运费怎么算？", "運費點計？"), ("運費點計？", "運費點計？"), ("多久收到货", "幾耐收到貨")):
            top = retriever.search(message).hits[0]
            assert (top.entry_id, top.matched) == ("hk_ship", matched), message
            assert top.dense["fake"] == pytest.approx(1.0, abs=1e-3) and top.lexical == pytest.approx(1.0), \
                (message, top.dense, top.lexical)
    finally:
        kb.close()


def test_full_width_message_matches(retriever):
    result = retriever.search("  忘记密码怎么办？？ ")
    assert result.hits[0].entry_id == "password"


def test_expired_entry_is_not_returned(retriever):
    result = retriever.search("双十一优惠券怎么领")
    assert "promo-2020" not in [h.entry_id for h in result.hits]


def test_expired_entry_is_returned_inside_its_window(retriever):
    result = retriever.search("双十一优惠券怎么领", now=datetime(2020, 11, 11, 20, 0))
    assert result.hits[0].entry_id == "promo-2020"


def test_not_yet_valid_entry_is_not_returned(retriever):
    assert "promo-2099" not in [h.entry_id for h in retriever.search("周年庆有什么活动").hits]
    later = retriever.search("周年庆有什么活动", now=datetime(2099, 6, 1))
    assert later.hits[0].entry_id == "promo-2099"


def test_draft_entry_is_not_returned(retriever):
    result = retriever.search("年货节什么时候开始")
    assert "promo-draft" not in [h.entry_id for h in result.hits]


def test_result_to_dict(retriever):
    d = retriever.search("包邮吗").to_dict()
    assert d["hits"][0]["entry_id"] == "ship"
    assert d["confidence"] == d["hits"][0]["confidence"]
    assert isinstance(d["no_match"], bool)


@pytest.mark.parametrize("bad", [0, -1])
def test_retriever_top_k_must_be_positive(shop_kb, bad):
    with pytest.raises(ValueError):
        Retriever(shop_kb, top_k=bad)


@pytest.mark.parametrize("bad", [0, -1])
def test_search_top_k_must_be_positive(retriever, bad):
    with pytest.raises(ValueError):
        retriever.search("运费怎么算", top_k=bad)


def test_candidates_below_top_k_is_rejected(shop_kb):
    with pytest.raises(ValueError):
        Retriever(shop_kb, top_k=5, candidates=3)


def test_more_hits_than_default_candidates(shop_kb):
    # `kefu search -k 31` and /api/search?k=50 (the range both declare) once raised here
    retriever = Retriever(shop_kb, top_k=50)
    assert retriever.candidates == 50
    assert len(retriever.search("运费怎么算").hits) == 5  # every live entry
    assert Retriever(shop_kb).candidates == 30


@pytest.mark.parametrize("message", ["\x07\x08", "\x1b[2J", " \x00 "])
def test_a_control_only_message_is_empty(retriever, message):
    with pytest.raises(EmptyQuery):
        retriever.search(message)


def test_search_on_empty_knowledge_base(kb):
    result = Retriever(kb).search("运费怎么算")
    assert result.hits == []
    assert result.no_match
    assert result.confidence == 0.0


# -- confidence for model sets other than the one the curve was tuned for -------------------

# Eight entries whose phrasings share their key characters, so the FakeEmbedder tells
# them apart about as well as a real model tells a shop's entries apart (d′ ≈ 2.4).
DISTINCT = [entry_dict(i, q, "答：" + q, similar=s) for i, q, s in [
    ("ship", "运费怎么算", ["运费多少钱", "运费怎么收"]),
    ("return", "怎么申请退货", ["申请退货怎么弄", "退货怎么申请"]),
    ("invoice", "能开发票吗", ["发票怎么开", "可以开发票吗"]),
    ("delivery", "多久能发货", ["什么时候发货", "发货要多久"]),
    ("password", "忘记密码怎么办", ["密码忘记了怎么办", "密码忘了"]),
    ("size", "尺码怎么选", ["选哪个尺码", "尺码偏大吗"]),
    ("coupon", "优惠券怎么用", ["优惠券在哪里用", "怎么使用优惠券"]),
    ("refund", "退款多久到账", ["退款什么时候到", "多久能退款"])]]
CHIT_CHAT = ["今天天气真好", "给我讲个笑话", "你好", "哈哈哈", "在吗"]


@pytest.fixture
def own_model_kb(tmp_path, fast_jieba):
    """One model the default Fusion has no weight for, as a sentence-transformers model would be."""
    k = KnowledgeBase(tmp_path / "home", [FakeEmbedder("st:my-model", 256)])
    k.import_entries(DISTINCT)
    yield k
    k.close()


@pytest.mark.parametrize("message, entry_id", [("运费怎么算", "ship"), ("忘记密码怎么办", "password"),
                                                ("尺码偏大吗", "size"), ("怎么使用优惠券", "coupon")])
def test_another_model_set_is_confident_on_a_stored_question(own_model_kb, message, entry_id):
    result = Retriever(own_model_kb).search(message)
    assert result.hits[0].entry_id == entry_id
    assert not result.no_match and result.confidence >= 0.9


@pytest.mark.parametrize("message", CHIT_CHAT)
def test_another_model_set_flags_chit_chat(own_model_kb, message):
    result = Retriever(own_model_kb).search(message)
    assert result.no_match and result.confidence < 0.2


def test_a_close_paraphrase_is_a_match_with_another_model_set(own_model_kb):
    result = Retriever(own_model_kb).search("请问多久能发货")
    assert result.hits[0].entry_id == "delivery"


def test_the_calibration_changes_confidence_only_never_the_ranking(own_model_kb, monkeypatch):
    retriever = Retriever(own_model_kb)
    calibrated = retriever.search("退款什么时候到账")
    monkeypatch.setattr(retriever, "confidence_scale", lambda index: None)  # the curve on raw fused scores
    raw = retriever.search("退款什么时候到账")
    assert [(h.entry_id, h.score, h.dense, h.lexical) for h in calibrated.hits] == \
        [(h.entry_id, h.score, h.dense, h.lexical) for h in raw.hits]
    assert raw.no_match and raw.confidence < 0.01  # the defect: the default curve never fits
    assert not calibrated.no_match


def test_the_reference_set_keeps_its_tuned_curve(tmp_path, fast_jieba):
    """Fake models carrying the default models' ids: the curve reads the fused score as tuned."""
    kb = KnowledgeBase(tmp_path / "home", [FakeEmbedder("use-m3"), FakeEmbedder("e5-small-q4")])
    kb.import_entries(SHOP)
    retriever = Retriever(kb, prior=None)
    assert retriever.confidence_scale(kb.index()) is None
    for message in ("运费怎么算", "请问多久能发货", "今天天气真好"):
        result = retriever.search(message)
        words = len(kb.segmenter.split(result.normalized)[0])
        for hit in result.hits:
            parts = 0.5 * hit.dense["use-m3"] + 2.0 * hit.dense["e5-small-q4"] + 0.1 * hit.lexical
            assert hit.score == pytest.approx(parts, abs=1e-3)
            assert hit.confidence == pytest.approx(Fusion().confidence(hit.score, words), abs=3e-4)  # score rounded
    kb.close()


def test_which_sets_the_curve_was_tuned_for():
    fusion = Fusion()
    use, e5 = SimpleNamespace(id="use-m3"), SimpleNamespace(id="e5-small-q4")
    tuned_e5 = SimpleNamespace(id="st:/data/models/ft-1", like="e5-small-q4", calibration=[1.1, -0.1])
    assert fusion.tuned_for([use, e5]) and fusion.tuned_for([e5, use])
    assert fusion.adopting([use, tuned_e5]).tuned_for([use, tuned_e5])  # fine-tuned e5 stands for e5
    assert not fusion.tuned_for([use]) and not fusion.tuned_for([e5]) and not fusion.tuned_for([tuned_e5])
    assert not fusion.tuned_for([use, e5, SimpleNamespace(id="st:other")])
    assert Fusion(weights={"fake": 1.0, "bm25": 0.1}).tuned_for([SimpleNamespace(id="fake")])


def test_a_model_that_cannot_tell_entries_apart_never_claims_a_match(tmp_path, fast_jieba):
    """A one-dimensional model puts every text on the same point: all cosines are 1, even
    between unrelated entries, so a cosine of 1 is no evidence of a match."""
    kb = KnowledgeBase(tmp_path / "home", [FakeEmbedder("st:flat", 1)])
    kb.import_entries(DISTINCT)
    retriever = Retriever(kb)
    for message in ("运费怎么算", "今天天气真好"):
        result = retriever.search(message)
        assert result.hits[0].dense["st:flat"] == pytest.approx(1.0)
        assert result.no_match
    kb.close()


def test_calibration_is_kept_per_index_content_and_independent_of_build_order(own_model_kb, tmp_path):
    retriever = Retriever(own_model_kb)
    first = retriever.confidence_scale(own_model_kb.index())
    assert retriever.confidence_scale(own_model_kb.index()) is first  # cached
    own_model_kb.add(entry_dict("gift", "可以送礼品卡吗", "可以。", similar=["礼品卡能送吗", "送礼品卡"]))
    again = retriever.confidence_scale(own_model_kb.index())
    assert again is not first and again != first  # recomputed for the new content
    reversed_kb = KnowledgeBase(tmp_path / "reversed", [FakeEmbedder("st:my-model", 256)])
    reversed_kb.import_entries(DISTINCT[::-1])
    reversed_kb.add(entry_dict("gift", "可以送礼品卡吗", "可以。", similar=["礼品卡能送吗", "送礼品卡"]))
    assert Retriever(reversed_kb).confidence_scale(reversed_kb.index()) == again
    reversed_kb.close()


def test_too_few_phrasing_pairs_fall_back_to_shipped_anchors_or_raw_cosines(tmp_path, fast_jieba):
    entries = [entry_dict(f"e{i}", q, "答") for i, q in enumerate(["运费怎么算", "怎么退货", "能开发票吗"])]
    kb = KnowledgeBase(tmp_path / "a", [FakeEmbedder("use-m3")])  # the built-in id: its shipped anchors
    kb.import_entries(entries)
    scale = Retriever(kb).confidence_scale(kb.index())
    a, b = calibrate.BUILTIN["use-m3"].onto(calibrate.REFERENCE)
    assert scale.weights["use-m3"] == pytest.approx(2.5 * a) and scale.offset == pytest.approx(2.5 * b)
    kb.close()
    kb = KnowledgeBase(tmp_path / "b", [FakeEmbedder("st:unknown")])  # nothing known: cosines as they are
    kb.import_entries(entries)
    assert Retriever(kb).confidence_scale(kb.index()) == calibrate.Scale({"st:unknown": 2.5}, 0.0)
    result = Retriever(kb).search("运费怎么算")
    assert result.hits[0].entry_id == "e0" and not result.no_match
    kb.close()


def test_anchors_map_a_rescaled_model_back_onto_the_reference():
    """A model whose cosines are an affine transform of the reference's maps back exactly."""
    ref = calibrate.REFERENCE
    a, b = calibrate.Anchors(2 * ref.same - 1, 2 * ref.other - 1, 2 * ref.spread).onto(ref)
    assert (a, b) == (pytest.approx(0.5), pytest.approx(0.5))
    assert calibrate.Anchors(0.5, 0.5, 0.1).onto(ref)[0] == 0.0  # no separation: a flat map


class CountingQueries(FakeEmbedder):
    """Counts the query texts it encodes (FakeEmbedder counts documents only)."""

    def __init__(self, id: str = "fake"):
        super().__init__(id)
        self.queries: list[str] = []

    def encode_queries(self, texts):
        self.queries.extend(texts)
        return super().encode_queries(texts)


def _counting_kb(tmp_path, mp, **kw):
    patch_jieba(mp)
    model = CountingQueries()
    kb = KnowledgeBase(tmp_path / "home", [model], **kw)
    kb.import_entries(SHOP)
    kb.index()
    return kb, model


def test_a_message_searched_again_is_not_encoded_again(tmp_path, monkeypatch):
    # The panel asks again for the same message at each keystroke in a variable's box.
    kb, model = _counting_kb(tmp_path, monkeypatch)
    try:
        retriever = Retriever(kb)
        first = retriever.search("运费怎么算呀")
        again = Retriever(kb).search("运费怎么算呀")  # a new request's retriever, same process
        assert model.queries == ["运费怎么算呀"]
        assert [(h.entry_id, h.score, h.dense) for h in again.hits] == \
            [(h.entry_id, h.score, h.dense) for h in first.hits]
        retriever.search("能开发票吗")
        assert model.queries == ["运费怎么算呀", "能开发票吗"]
        kb.forget_queries()
        retriever.search("运费怎么算呀")
        assert model.queries == ["运费怎么算呀", "能开发票吗", "运费怎么算呀"]
    finally:
        kb.close()


def test_remembered_query_vectors_are_bounded_and_cannot_be_changed_by_a_caller(tmp_path, monkeypatch):
    kb, model = _counting_kb(tmp_path, monkeypatch, remember_queries=2)
    try:
        vector = kb.encode_query(model, "运费")
        vector[:] = 0  # a caller writing into its copy
        assert kb.encode_query(model, "运费").any()
        kb.encode_query(model, "发票")
        kb.encode_query(model, "退货")  # the third text: the oldest, 运费, is forgotten
        kb.encode_query(model, "退货")
        kb.encode_query(model, "运费")
        assert model.queries == ["运费", "发票", "退货", "运费"]
    finally:
        kb.close()


def test_query_vectors_are_forgotten_when_the_models_change_and_never_kept_when_off(tmp_path, monkeypatch):
    kb, model = _counting_kb(tmp_path, monkeypatch)
    try:
        kb.encode_query(model, "运费")
        other = CountingQueries()  # a model switched in under the same id (fine-tuned)
        kb.embedders = [other]
        kb.encode_query(other, "运费")
        assert other.queries == ["运费"]
    finally:
        kb.close()
    off, model = _counting_kb(tmp_path / "off", monkeypatch, remember_queries=0)
    try:
        off.encode_query(model, "运费")
        off.encode_query(model, "运费")
        assert model.queries == ["运费", "运费"]
    finally:
        off.close()


class _TailBlind(FakeEmbedder):
    """FakeEmbedder that reads a text without its trailing 呀 or 啊: two phrasings that differ
    only there have the very same vector, a tie for the entry's best phrasing."""

    def _vec(self, text):
        return super()._vec(text.rstrip("呀啊"))


def test_the_matched_phrasing_is_the_first_of_tied_best_ones_in_each_entry(tmp_path, monkeypatch):
    """Of an entry's phrasings with the same best cosine, the first is the one shown as
    matched, in every entry among the hits (candidates are scored side by side as arrays)."""
    patch_jieba(monkeypatch)
    kb = KnowledgeBase(tmp_path / "home", [_TailBlind()])
    try:
        kb.import_entries([entry_dict("ship", "运费怎么算", "满99元包邮。", similar=["邮费多少呀", "邮费多少啊"]),
                           entry_dict("refund", "退款多久到账", "三天内原路退回。", similar=["退费多少啊", "退费多少呀"]),
                           entry_dict("size", "尺码怎么选", "看尺码表。", similar=["尺码偏大吗"])])
        retriever = Retriever(kb, candidates=5)
        matched = {h.entry_id: h.matched for h in retriever.search("费多少").hits}
        assert matched["ship"] == "邮费多少呀" and matched["refund"] == "退费多少啊", matched
        assert retriever.search("邮费多少啊").hits[0].matched == "邮费多少呀"
    finally:
        kb.close()

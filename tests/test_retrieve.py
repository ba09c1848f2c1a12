"""Hybrid retrieval over a small shop knowledge base, with the deterministic FakeEmbedder."""

from __future__ import annotations

from datetime import datetime

import pytest
from fakes import FakeEmbedder
from helpers import SHOP, entry_dict, patch_jieba

from kefu.kb.base import KnowledgeBase
from kefu.kb.errors import EmptyQuery
from kefu.suggest.retrieve import Retriever


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


def test_traditional_message_matches_simplified_entry(retriever):
    result = retriever.search("請問運費怎麼算")
    assert result.script == "traditional"
    assert result.normalized == "请问运费怎么算"
    assert result.hits[0].entry_id == "ship"


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


def test_search_on_empty_knowledge_base(kb):
    result = Retriever(kb).search("运费怎么算")
    assert result.hits == []
    assert result.no_match
    assert result.confidence == 0.0

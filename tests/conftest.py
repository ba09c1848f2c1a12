"""Shared fixtures: an in-memory Store, a KnowledgeBase over a FakeEmbedder, entry dicts."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import sqlite_utils

# pytest runs with --import-mode=importlib, so tests/ is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder  # noqa: E402

from kefu.kb.base import KnowledgeBase  # noqa: E402
from kefu.kb.store import Store  # noqa: E402


def entry_dict(id: str | None = None, question: str = "运费怎么算", answer: str = "满99元包邮，不满收10元运费。",
               **fields) -> dict:
    """An entry dict as callers pass it to Store.add / import_entries."""
    data = {"question": question, "answer": answer, **fields}
    if id is not None:
        data["id"] = id
    return data


@pytest.fixture
def make_entry():
    """Factory for entry dicts: make_entry("e1", question=..., answer=..., similar=[...])."""
    return entry_dict


@pytest.fixture
def store():
    s = Store(sqlite_utils.Database(memory=True))
    yield s
    s.close()


@pytest.fixture
def embedder():
    return FakeEmbedder()


@pytest.fixture
def kb(tmp_path, embedder):
    k = KnowledgeBase(tmp_path / "home", [embedder])
    yield k
    k.close()


# Five entries of a small shop, used by the index and retrieval tests.
SHOP = [
    entry_dict("ship", "运费怎么算", "满99元包邮，不满收10元运费。", similar=["邮费多少钱", "包邮吗"],
               category="售前", tags=["物流"]),
    entry_dict("return", "怎么申请退货", "订单页点申请售后，选择退货退款。", similar=["我要退货", "可以退吗"],
               category="售后"),
    entry_dict("invoice", "能开发票吗", "可以开电子发票，下单时填写抬头。", similar=["发票怎么开"], category="售中"),
    entry_dict("delivery", "多久能发货", "付款后48小时内发货。", similar=["什么时候发货", "发货时间"]),
    entry_dict("password", "忘记密码怎么办", "在登录页点忘记密码，用手机验证码重置。", category="账户"),
]


@pytest.fixture
def shop_entries():
    return copy.deepcopy(SHOP)

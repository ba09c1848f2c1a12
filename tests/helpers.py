"""Helpers shared by conftest and module-scoped fixtures: entry dicts of a small shop, faster jieba."""

from __future__ import annotations

import pytest


def entry_dict(id: str | None = None, question: str = "运费怎么算", answer: str = "满99元包邮，不满收10元运费。",
               **fields) -> dict:
    """An entry dict as callers pass it to Store.add / import_entries."""
    data = {"question": question, "answer": answer, **fields}
    if id is not None:
        data["id"] = id
    return data


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


# Loading jieba's 350k-word dictionary takes about a second per Tokenizer, and every
# KnowledgeBase makes its own. Tests that only need a KnowledgeBase reuse one loaded
# copy of the dictionary (same words, same segmentation); test_text.py exercises the
# real loading, cache file included.
_JIEBA_FREQ: dict = {}


def _fast_initialize(original):
    import jieba

    def initialize(self, dictionary=None):
        if dictionary is not None or self.initialized or self.dictionary != jieba.DEFAULT_DICT:
            return original(self, dictionary)
        if "freq" not in _JIEBA_FREQ:
            original(self)
            _JIEBA_FREQ["freq"] = (dict(self.FREQ), self.total)
            return
        freq, total = _JIEBA_FREQ["freq"]
        self.FREQ, self.total = dict(freq), total
        self.initialized = True

    return initialize


def patch_jieba(mp: pytest.MonkeyPatch) -> None:
    import jieba

    mp.setattr(jieba.Tokenizer, "initialize", _fast_initialize(jieba.Tokenizer.initialize))


# The built-in models (USE, e5) load in a fraction of a second, but each new instance
# spends ~3 s warming up on its first encode; every CLI command builds its own
# Workspace, hence its own instances. They hold no state besides their weights, so
# in-process command tests may share one instance per model (and e5 thread count).
# Any other spec (a sentence-transformers folder, a name kefu refuses) goes to the
# real loader, and a test that patches load_embedders itself still wins.
_REAL_MODELS: dict = {}


def share_real_models(mp: pytest.MonkeyPatch) -> None:
    import kefu.kb.embed as embed

    real = embed.load_embedders

    def load(spec=embed.DEFAULT_MODELS, threads=None):
        names = embed._model_names(spec)  # the same refusal of a model named twice
        if not names or any(n not in embed.BUILTIN for n in names):
            return real(spec, threads)
        out = []
        for name in names:
            key = (name, threads if name == "e5" else None)
            if key not in _REAL_MODELS:
                _REAL_MODELS[key] = real([name], threads)[0]
            out.append(_REAL_MODELS[key])
        return out

    mp.setattr(embed, "load_embedders", load)

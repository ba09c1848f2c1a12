"""Learning from feedback: trust rule, deduplication, demotion, the prior's bound, replay, review."""

from __future__ import annotations

import json

import pytest
from fakes import FakeEmbedder

from kefu.kb.base import KnowledgeBase
from kefu.kb.errors import ImportFileError, KefuError
from kefu.kb.learned import Event, LearnStore, TrustRule, phrase_key
from kefu.kb.text import normalize
from kefu.suggest.learn import Learner, Learning, PriorRule
from kefu.suggest.retrieve import Retriever

MISSED = "包裹啥日子从仓库出"  # shares no word with the delivery entry's phrasings


@pytest.fixture
def shop(kb, shop_entries):
    kb.import_entries(shop_entries, author="test")
    kb.index()
    return kb


def accept(message, entry_id, agent, key=None):
    return Event(message, "accept", entry_id, agent, key)


def reject(message, entry_id, agent):
    return Event(message, "reject", entry_id, agent)


def trusting(kb, min_agents):
    learner = Learner(kb)
    learner.set_trust(TrustRule(min_agents))
    return learner


def top(kb, message, **kw):
    return Retriever(kb, **kw).search(message).hits[0].entry_id


# -- keys and deduplication ---------------------------------------------------------------------

def test_phrase_key_ignores_script_width_punctuation_particles_and_numbers():
    assert phrase_key("訂單 2026112812345678 還沒到嗎？😡") == phrase_key("订单还没到") == "订单还没到"
    assert phrase_key("Ｍ码有吗") == "m码有"
    assert phrase_key("你们家客服在不在呀") == phrase_key("你们家客服在不在啊!")


def test_identical_and_near_duplicate_messages_become_one_phrasing(shop):
    store = LearnStore(shop.store)
    recorded = store.record([accept("包裹啥日子从仓库出呀", "delivery", "a"), accept("包裹啥日子從倉庫出？", "delivery", "b"),
                             accept("包裹啥日子从仓库出来", "delivery", "c")])
    rows = store.rows(entry_id="delivery")
    assert len(rows) == 1 and recorded.learned == [rows[0].id] and recorded.new == 3
    assert rows[0].accepts == 3 and rows[0].agents == ["a", "b", "c"]
    assert rows[0].text == "包裹啥日子从仓库出呀"  # the first wording is kept


def test_different_messages_stay_apart(shop):
    store = LearnStore(shop.store)
    store.record([accept(MISSED, "delivery", "a"), accept("周末也发货吗", "delivery", "a")])
    assert len(store.rows(entry_id="delivery")) == 2


def test_a_message_the_entry_already_has_is_known_not_queued(shop):
    store = LearnStore(shop.store)
    store.record([accept("包邮吗？", "ship", "a")])
    (row,) = store.rows(entry_id="ship")
    assert row.status == "known" and store.queue() == []


def test_phone_numbers_and_order_numbers_are_not_learned(shop):
    store = LearnStore(shop.store)
    store.record([accept("订单2026112812345678几天能发，电话13812345678", "delivery", "a")])
    (row,) = store.rows()
    assert "13812345678" not in row.text and "2026112812345678" not in row.text
    events = shop.store.db.execute("select message from learn_events").fetchall()
    assert "13812345678" not in events[0][0]


@pytest.mark.parametrize("message, text", [
    ("我手机13812345678 订单 退货运费谁出呀", "我手机 订单 退货运费谁出呀"),
    ("寄到北京市朝阳区建国路88号运费多少", "寄到运费多少"),
    ("邮箱 abc@example.com 能收发票吗", "邮箱 能收发票吗"),
    ("加我微信wxid_abc123456 退货运费谁出呀", "加我微信 退货运费谁出呀"),
    ("收货人：张三 退货运费谁出呀", "收货人： 退货运费谁出呀"),
])
def test_a_learned_phrasing_holds_no_mask_placeholder(shop, message, text):
    # approved, "我手机【手机号】 订单 …" became a similar question with 【手机号】 in it
    store = LearnStore(shop.store)
    store.record([accept(message, "delivery", "a")])
    assert [r.text for r in store.rows()] == [text]


def test_a_message_of_details_alone_is_no_phrasing(shop):
    store = LearnStore(shop.store)
    recorded = store.record([accept("13812345678", "delivery", "a")])
    assert recorded.new == 1 and store.rows() == []


@pytest.mark.parametrize("message, text", [
    ("https://item.taobao.com/item.htm?id=678901234567 这个有货吗[微笑]", "这个有货吗"),
    ("订单编号：3901234567890123\n下单时间：2026-11-28 10:02:11\n实付：¥129.00\n几天能发货", "几天能发货"),
    ("@小禾 几天能发货[OK]", "几天能发货")])
def test_a_learned_phrasing_is_stored_without_what_the_chat_app_pasted(shop, message, text):
    """A message pasted with a product link, a sticker, an order card or an @mention was
    learned with them: 订单编号：\n下单时间：2026-11-28 10:02:11… became a similar question."""
    store = LearnStore(shop.store)
    store.record([accept(message, "delivery", "a")])
    assert [r.text for r in store.rows()] == [text]


def test_a_message_of_a_placeholder_alone_is_no_phrasing(shop):
    store = LearnStore(shop.store)
    store.record([accept("[图片]", "delivery", "a")])
    assert store.rows() == []


@pytest.mark.parametrize("message, text", [
    ("亲 衣服洗了缩水还能退吗", "衣服洗了缩水还能退吗"),
    ("您好，请问几天能发货", "几天能发货"),
    ("在吗？？亲亲 能开发票吗", "能开发票吗"),
    ("亲", "亲"),  # nothing else to keep
    ("亲子装有大码吗", "亲子装有大码吗"),  # 亲子 is no greeting
])
def test_a_learned_phrasing_is_stored_without_the_greeting_before_it(shop, message, text):
    store = LearnStore(shop.store)
    store.record([accept(message, "delivery", "a")])
    assert [r.text for r in store.rows()] == [text]


@pytest.mark.parametrize("message, text", [
    ("亲 衣服洗了缩水还能退吗", "衣服洗了缩水还能退吗"),
    ("我手机13812345678 订单 退货运费谁出呀", "我手机 订单 退货运费谁出呀"),
])
def test_a_phrasing_stored_without_greeting_or_details_is_approved_and_reset_as_stored(shop, message, text):
    """Its entry is compared with the phrasing as stored, not the message: approved, it
    was at once marked removed (已不在条目中), and a reset left it in the entry."""
    learner = Learner(shop)
    learner.record([accept(message, "return", "a")])
    (row,) = learner.store.rows()
    learner.approve(row.id, "editor1")
    assert shop.store.get("return").similar[-1] == text
    assert not learner.store.get(row.id).removed
    learner.reset(row.id, "editor1")
    assert text not in shop.store.get("return").similar
    assert shop.store.history("return")[-1].action == "unlearn"


def test_a_message_with_a_greeting_is_the_phrasing_without_it(shop):
    """"请问 包邮吗" offers 包邮吗, which the entry has; and "亲 运费谁出" and "运费谁出" are
    one phrasing: two agents accepting it trust it."""
    learner = trusting(shop, 2)
    learner.record([accept("请问 包邮吗", "ship", "a")])
    assert [r.status for r in learner.store.rows()] == ["known"]
    learner.record([accept("亲，退货寄回来的运费谁出", "return", "a"), accept("退货寄回来的运费谁出", "return", "b")])
    (row,) = learner.store.rows(entry_id="return")
    assert row.accepts == 2 and row.trusted


def test_a_learned_phrasing_keeps_no_escape_sequence(shop):
    # listed by `kefu learn queue`, "\x1b]0;…\x07" set the editor's terminal title, and
    # an approved "\x1b[2J" left "[2J" in the similar question
    store = LearnStore(shop.store)
    store.record([accept("想换尺码\x1b]0;pwned\x07可以吗", "delivery", "a"),
                  accept("衣服尺码不合适\x1b[2J\x07可以换吗", "return", "a")])
    assert sorted(r.text for r in store.rows()) == ["想换尺码可以吗", "衣服尺码不合适可以换吗"]
    (row,) = store.rows(entry_id="return")
    store.approve(row.id, "editor")
    assert shop.store.get("return").similar[-1] == "衣服尺码不合适可以换吗"
    events = [m for (m,) in shop.store.db.execute("select message from learn_events")]
    assert not any("\x1b" in m or "\x07" in m for m in events)


# -- the trust rule -----------------------------------------------------------------------------

def test_one_agent_is_not_enough_two_are(shop):
    learner = Learner(shop)
    before = top(shop, MISSED)
    assert before != "delivery"
    learner.record([accept(MISSED, "delivery", "xiaomei")])
    assert not learner.store.rows()[0].trusted
    assert top(shop, MISSED) == before
    learner.record([accept(MISSED + "吗", "delivery", "ali")])
    assert learner.store.rows()[0].trusted
    assert top(shop, MISSED) == "delivery"
    assert top(shop, "包裹啥日子从仓库出来？") == "delivery"


def test_the_same_agent_twice_is_still_one_agent(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "delivery", "xiaomei"), accept(MISSED, "delivery", "xiaomei")])
    row = learner.store.rows()[0]
    assert row.accepts == 2 and not row.trusted


def test_agents_are_counted_on_both_sides_not_clicks():
    rule = TrustRule(min_agents=2)
    row = type("Row", (), {})()
    row.status, row.agents, row.rejecters, row.accepts, row.rejects = "candidate", ["a", "b"], ["c", "d"], 2, 2
    assert not rule.trusts(row) and not rule.demotes(row)
    row.rejecters, row.rejects = ["c"], 5  # one careless agent clicking reject five times
    assert rule.trusts(row) and not rule.demotes(row)
    row.agents, row.accepts, row.rejecters, row.rejects = ["a"], 3, ["b", "c"], 2  # one agent accepting thrice
    assert not rule.trusts(row) and rule.demotes(row)
    row.status = "rejected"
    assert not rule.trusts(row)
    with pytest.raises(KefuError):
        TrustRule(min_agents=0)


def test_a_reject_never_merges_into_a_near_duplicate(shop):
    """"退货…" and "换货…" differ by one character: a reject of the one must neither untrust
    the other nor vanish into it."""
    learner = Learner(shop)
    learner.record([accept("换货的运费谁来出呢", "delivery", "a"), accept("换货的运费谁来出呢", "delivery", "b")])
    learner.record([reject("退货的运费谁来出呢", "delivery", "c"), reject("退货的运费谁来出呢", "delivery", "d")])
    good, bad = sorted(learner.store.rows(entry_id="delivery"), key=lambda r: r.id)
    assert good.text.startswith("换货") and good.trusted and good.rejects == 0
    assert bad.text.startswith("退货") and bad.demoted and bad.accepts == 0
    learner.record([accept("退货的运费谁来出", "delivery", "e")])  # an accept meets its own row first
    assert {r.id for r in learner.store.rows(entry_id="delivery")} == {good.id, bad.id}


def test_a_changed_character_is_another_question_on_either_side(shop):
    """Rejects of 退货… then 换货…, accepts of 换货…: the 换货 rejects must stay with it."""
    learner = Learner(shop)
    learner.record([reject("退货的运费谁来出呢", "delivery", "e")])
    learner.record([reject("换货的运费谁来出呢", "delivery", "c"), reject("换货的运费谁来出呢", "delivery", "d")])
    learner.record([accept("换货的运费谁来出", "delivery", "a"), accept("换货的运费谁来出", "delivery", "b")])
    rows = {r.text[:2]: r for r in learner.store.rows(entry_id="delivery")}
    assert rows["退货"].rejecters == ["e"]
    assert rows["换货"].agents == ["a", "b"] and rows["换货"].rejecters == ["c", "d"] and not rows["换货"].trusted


def test_rejects_of_near_identical_wording_add_up(shop):
    learner = Learner(shop)
    learner.record([reject("退货的运费谁来出呢", "delivery", "c"), reject("退货运费谁来出呢", "delivery", "d")])
    (row,) = learner.store.rows(entry_id="delivery")
    assert row.rejecters == ["c", "d"] and row.demoted


def test_min_agents_is_a_stored_setting(shop):
    Learner(shop).store.set_setting("learn.min_agents", "1")
    learner = Learner(shop)
    learner.record([accept(MISSED, "delivery", "xiaomei")])
    assert learner.store.rows()[0].trusted
    assert top(shop, MISSED) == "delivery"


def test_an_editor_decides_regardless_of_counts(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "delivery", "xiaomei")])
    row_id = learner.store.rows()[0].id
    learner.approve(row_id, "editor1")
    entry = shop.store.get("delivery")
    assert MISSED in entry.similar
    assert shop.store.history("delivery")[-1].action == "learn"
    assert shop.store.history("delivery")[-1].author == "editor1"
    assert top(shop, MISSED) == "delivery"
    learner.reset(row_id, "editor1")  # reversible: the similar question goes again
    assert MISSED not in shop.store.get("delivery").similar
    assert learner.store.get(row_id).status == "candidate"
    assert top(shop, MISSED) != "delivery"


def test_reset_of_an_approve_keeps_the_similar_question_an_editor_wrote_in(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "delivery", "xiaomei")])
    row_id = learner.store.rows()[0].id
    entry = shop.store.get("delivery")
    shop.update("delivery", {"similar": entry.similar + [MISSED]}, author="editor2")  # by hand
    learner.approve(row_id, "editor1")  # nothing to add
    learner.reset(row_id, "editor1")
    assert MISSED in shop.store.get("delivery").similar
    assert shop.store.history("delivery")[-1].author == "editor2"


def test_fine_tuning_examples_follow_the_editors_decisions(shop):
    from kefu.suggest.finetune import feedback_pairs

    learner = Learner(shop)
    learner.record([accept("衣服什么时候寄出", "delivery", "a"), accept("快递费多少", "delivery", "a"),
                    accept("能开专票吗", "ship", "b")])
    rows = {r.text: r.id for r in learner.store.rows()}
    learner.reject(rows["快递费多少"], "editor1")  # not a delivery-time question
    learner.move(rows["能开专票吗"], "invoice", "editor1")  # the invoice entry answers it
    assert sorted(feedback_pairs(shop)) == [("能开专票吗", "invoice"), ("衣服什么时候寄出", "delivery")]


def test_a_rejected_pairing_trains_with_none_of_the_messages_it_merged(shop):
    """A near-duplicate, or the phrasing with a greeting before it, counts in the row it
    joined: rejecting that row left them out of the fine-tuning examples too."""
    from kefu.suggest.finetune import feedback_pairs

    learner = Learner(shop)
    learner.record([accept("快递费多少", "delivery", "a"), accept("快递费是多少", "delivery", "b"),
                    accept("亲，快递费多少", "delivery", "c"), accept("衣服什么时候寄出", "delivery", "a")])
    rows = {r.text: r.id for r in learner.store.rows()}
    assert len(rows) == 2
    learner.reject(rows["快递费多少"], "editor1")
    assert feedback_pairs(shop) == [("衣服什么时候寄出", "delivery")]


def test_a_known_phrasing_an_editor_took_out_is_a_candidate_again(shop):
    learner = trusting(shop, 2)
    entry = shop.store.get("delivery")
    phrasing = entry.similar[0]
    learner.record([accept(phrasing, "delivery", "a")])
    (row,) = learner.store.rows()
    assert row.status == "known"  # nothing new: it is the entry's own question
    shop.update("delivery", {"similar": entry.similar[1:]}, author="editor1")
    learner.record([accept(phrasing, "delivery", "b")])
    row = learner.store.get(row.id)
    assert row.status == "candidate" and row.trusted  # two agents: used again for retrieval


def test_every_editor_decision_is_kept_in_order(shop):
    learner = trusting(shop, 1)
    learner.record([accept(MISSED, "ship", "a"), reject(MISSED, "ship", "b")])
    row = next(r for r in learner.store.rows() if r.agents)
    learner.reject(row.id, "editor1")
    learner.reset(row.id, "editor2")
    learner.move(row.id, "delivery", "editor1")
    actions = [(d["editor"], d["action"], d["status"]) for d in learner.store.decisions(row.id)]
    to = learner.store.get(row.id).moved_to
    assert actions == [("editor1", "reject", "rejected"), ("editor2", "reset", "candidate"),
                       ("editor1", f"move to delivery (#{to})", "rejected")]
    assert [d["action"] for d in learner.store.decisions(to)] == [f"moved in from ship (#{row.id})"]


def test_an_accept_naming_its_entry_full_width_is_learned_and_indexed(shop):
    learner = trusting(shop, 1)
    rec = learner.record([accept(MISSED, "ｄｅｌｉｖｅｒｙ", "a")])
    assert rec.entries == ["delivery"] and learner.store.rows()[0].entry_id == "delivery"
    assert top(shop, MISSED) == "delivery"


def test_rejected_by_an_editor_is_never_used(shop):
    learner = trusting(shop, 1)
    learner.record([accept(MISSED, "delivery", "xiaomei")])
    row_id = learner.store.rows()[0].id
    assert top(shop, MISSED) == "delivery"
    learner.reject(row_id, "editor1")
    assert top(shop, MISSED) != "delivery"
    with pytest.raises(KefuError, match="rejected"):
        learner.approve(row_id, "editor1")


def test_move_gives_the_phrasing_to_another_entry_and_merges(shop):
    learner = trusting(shop, 1)
    learner.record([accept(MISSED, "ship", "a"), accept(MISSED, "delivery", "b")])
    wrong = next(r for r in learner.store.rows() if r.entry_id == "ship")
    learner.move(wrong.id, "delivery", "editor1")
    row = learner.store.rows(entry_id="delivery")[0]
    assert row.accepts == 2 and row.agents == ["a", "b"] and row.trusted
    old = learner.store.get(wrong.id)  # the wrong pairing stays on record, rejected by the editor
    assert old.status == "rejected" and old.decided_by == "editor1" and not old.trusted
    with pytest.raises(KefuError, match="no entry"):
        learner.move(row.id, "nope", "editor1")
    with pytest.raises(KefuError, match="already belongs"):
        learner.move(row.id, "ｄｅｌｉｖｅｒｙ", "editor1")  # the same entry, typed full-width
    with pytest.raises(KefuError, match="already belongs"):
        learner.move(row.id, "delivery", "editor1")


def test_a_moved_pairing_takes_no_rejects_keeps_the_old_demotion_and_waits_in_the_queue(shop):
    learner = Learner(shop)
    message = "包邮吗 我要退货"
    wrong = top(shop, message)
    right = next(e for e in ("ship", "delivery", "invoice") if e != wrong)
    learner.record([reject(message, wrong, "a"), reject(message, wrong, "b")])
    (row,) = learner.store.rejected_pairings()
    assert row.demoted and learner.store.queue() == []  # not offered for approval
    learner.move(row.id, right, "editor1")
    moved = learner.store.get(learner.store.get(row.id).moved_to)
    assert moved.rejects == 0 and moved.rejecters == [] and not moved.demoted
    assert (wrong, message) in {(r.entry_id, r.text) for r in learner.store.demoted()}
    assert top(shop, message) != wrong
    assert (moved.accepts, moved.trusted) == (0, False)  # no agent accepted it: not used yet
    # An editor chose its entry: it waits for approval rather than being listed nowhere.
    assert learner.store.queue() == [moved] and learner.store.rejected_pairings() == []
    learner.approve(moved.id, "editor2")
    assert message in shop.store.get(right).similar
    # Decided, it says how to decide again, not only that it cannot.
    with pytest.raises(KefuError, match=rf"cannot move learned phrasing {moved.id}: it is approved: reset {moved.id} first"):
        learner.move(moved.id, wrong, "editor2")


def test_lift_clears_a_demotion_stays_listed_and_reset_gives_it_back(shop):
    learner = Learner(shop)
    message = "包邮吗 我要退货"
    first = top(shop, message)
    learner.record([reject(message, first, "a"), reject(message, first, "b")])
    assert top(shop, message) != first
    (row,) = learner.store.rejected_pairings()
    learner.lift(row.id, "editor1")
    row = learner.store.get(row.id)
    assert not row.demoted and row.rejects == 0 and row.decided_by == "editor1"
    assert row.lifted == {"rejects": 2, "rejecters": ["a", "b"]}
    assert top(shop, message) == first
    assert [r.id for r in learner.store.rejected_pairings()] == [row.id]  # still listed, to be undone
    with pytest.raises(KefuError, match="nothing to lift"):
        learner.lift(row.id, "editor1")
    learner.reset(row.id, "editor2")  # the rejects count again, and so does their demotion
    row = learner.store.get(row.id)
    assert (row.rejects, row.rejecters, row.lifted, row.demoted) == (2, ["a", "b"], None, True)
    assert top(shop, message) != first
    with pytest.raises(KefuError, match="nothing to reset"):
        learner.reset(row.id, "editor2")


def test_a_rejected_row_lifted_is_listed_as_rejected_not_lifted(shop):
    """`kefu learn queue --status rejected` showed an editor-rejected row that was then lifted
    as `lifted`, as if it were back in use; its status is still rejected."""
    import importlib

    importlib.import_module("kefu.cli")  # which loads cli_learn: imported first, the import is circular
    from kefu.cli_learn import _row_text

    learner = Learner(shop)
    message = "包邮吗 我要退货"
    first = top(shop, message)
    learner.record([reject(message, first, "a"), reject(message, first, "b")])
    (row,) = learner.store.rejected_pairings()
    learner.lift(row.id, "editor1")

    def listed():  # as `kefu learn queue` lists it
        return _row_text({**learner.store.get(row.id).to_dict(), "entry_status": "published"})
    assert " lifted " in listed()  # undecided: the lift shows
    learner.reject(row.id, "editor1")
    assert " rejected " in listed() and "lifted" not in listed()


def test_a_lift_gives_the_entry_its_place_in_the_use_prior_back(shop):
    # the lifted rejects still counted against the entry (-0.017) after the demotion was lifted
    learner = Learner(shop)
    message = "包邮吗 我要退货"
    wrong = top(shop, message)
    learner.record([reject(message, wrong, "a"), reject(message, wrong, "b")])
    assert Learning.load(shop, PriorRule()).prior[wrong] < 0
    (row,) = learner.store.rejected_pairings()
    learner.lift(row.id, "editor1")
    assert wrong not in learner.store.entry_counts() and Learning.load(shop, PriorRule()).prior.get(wrong, 0) == 0
    learner.record([reject(message, wrong, "c")])  # a reject after the lift counts afresh
    assert learner.store.entry_counts()[wrong] == (0, 1, 1)
    learner.reset(row.id, "editor1")  # and reset gives the lifted ones back
    assert learner.store.entry_counts()[wrong] == (0, 3, 3)


def test_a_pairing_agents_only_rejected_cannot_be_approved(shop):
    # listed apart without an approve button on the console, but approve took it
    learner = Learner(shop)
    message = "包邮吗 我要退货"
    wrong = top(shop, message)
    learner.record([reject(message, wrong, "a"), reject(message, wrong, "b")])
    (row,) = learner.store.rejected_pairings()
    for approve in (lambda: learner.approve(row.id, "editor1"), lambda: learner.decide("approve", [row.id], "editor1")):
        with pytest.raises(KefuError, match="pairing agents rejected"):
            approve()
    learner.lift(row.id, "editor1")  # no longer demoted, but still no agent accepted it
    with pytest.raises(KefuError, match="pairing agents rejected"):
        learner.approve(row.id, "editor1")
    assert message not in shop.store.get(wrong).similar and learner.store.get(row.id).status == "candidate"
    learner.reject(row.id, "editor1")  # what an editor may do with it


DECIDED = {"approve": "approved", "reject": "rejected"}


@pytest.mark.parametrize("other_verb, verb", [("approve", "reject"), ("reject", "approve"),
                                               ("approve", "approve"), ("reject", "move")])
def test_two_workers_deciding_one_phrasing_at_once_do_not_both_decide(shop, monkeypatch, other_verb, verb):
    """Two editors (two gunicorn workers: two connections, or the console and `kefu learn`)
    decided one queued phrasing at once: each read it undecided before its write
    transaction, so both went through: an approve and a reject left the phrasing among the
    entry's similar questions while the queue called it rejected. The row is read inside
    the transaction."""
    from kefu.kb import learned as learned_module
    from kefu.kb.store import Store

    first = LearnStore(shop.store)
    first.record([accept(MISSED, "delivery", "a")])
    row_id = first.rows()[0].id
    other = Store.open(shop.home / "kefu.db")
    try:
        second = LearnStore(other)
        real = learned_module.writing

        def meanwhile(db):  # the first editor's click lands after the second's read, before its write
            monkeypatch.setattr(learned_module, "writing", real)
            getattr(first, other_verb)(row_id, "editor1")
            return real(db)
        monkeypatch.setattr(learned_module, "writing", meanwhile)
        decide = {"move": lambda: second.move(row_id, "ship", "editor2")}.get(verb, lambda: getattr(second, verb)(row_id, "editor2"))
        with pytest.raises(KefuError, match=f"it is {DECIDED[other_verb]}"):
            decide()
    finally:
        other.close()
    row = first.get(row_id)
    assert row.status == DECIDED[other_verb] and row.decided_by == "editor1"
    assert [d["action"] for d in first.decisions(row_id)] == [other_verb]
    assert (MISSED in shop.store.get("delivery").similar) == (other_verb == "approve")
    assert not first.rows(entry_id="ship")  # the move did not happen either


def test_reset_of_a_move_takes_back_exactly_what_it_gave(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "ship", "a"), accept(MISSED, "ship", "b")])
    (old,) = learner.store.rows()
    learner.move(old.id, "delivery", "editor1")
    moved_to = learner.store.get(old.id).moved_to
    there = learner.store.get(moved_to)
    assert (there.entry_id, there.accepts, there.trusted) == ("delivery", 2, True)
    # Reset on the row the move made, which lists as trusted, names the row to reset instead.
    with pytest.raises(KefuError, match=rf"nothing to reset \(moved here from #{old.id}: reset {old.id} to undo"):
        learner.reset(moved_to, "editor1")
    learner.reset(old.id, "editor1")  # the row the move created goes away
    assert [(r.id, r.status, r.moved_to) for r in learner.store.rows()] == [(old.id, "candidate", None)]
    assert learner.store.trusted() == {"ship": [MISSED]}
    learner.move(old.id, "delivery", "editor1")  # again: still only two accepts
    assert learner.store.get(learner.store.get(old.id).moved_to).accepts == 2
    learner.reset(old.id, "editor1")

    # Merged into a row the entry had: its own accepts and agents stay; an agent the move
    # added stays too once they accepted it themselves.
    learner.record([accept(MISSED, "delivery", "c")])
    target = learner.store.rows(entry_id="delivery")[0]
    learner.move(old.id, "delivery", "editor1")
    assert learner.store.get(old.id).moved_to == target.id
    learner.record([accept(MISSED, "delivery", "b")])
    assert (learner.store.get(target.id).accepts, learner.store.get(target.id).agents) == (4, ["a", "b", "c"])
    learner.reset(old.id, "editor1")
    target = learner.store.get(target.id)
    assert (target.accepts, target.agents, target.status) == (2, ["b", "c"], "candidate")
    assert learner.store.trusted() == {"delivery": [MISSED], "ship": [MISSED]}


def test_a_learned_row_id_is_never_given_to_another_phrasing(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "ship", "a")])
    (old,) = learner.store.rows()
    learner.move(old.id, "delivery", "editor1")
    gone = learner.store.get(old.id).moved_to
    learner.reset(old.id, "editor1")  # the row the move created goes away, the newest id
    new = learner.record([accept("周末也发货吗", "delivery", "b")]).learned[0]
    assert new > gone and learner.store.decisions(new) == []  # not "moved in from ship"
    with pytest.raises(KefuError, match=f"no learned phrasing with id {gone}"):
        learner.store.get(gone)
    # The gone row's own decisions are still its history (`kefu learn history` of a removed row).
    assert [d["action"] for d in learner.store.decisions(gone)] == [f"moved in from ship (#{old.id})"]


def test_the_history_of_an_id_sqlite_cannot_hold_is_not_found(shop):
    # `kefu learn history 99999999999999999999` ended in an OverflowError traceback
    from kefu.kb.errors import LearnedNotFound

    with pytest.raises(LearnedNotFound, match="no learned phrasing with id 99999999999999999999"):
        LearnStore(shop.store).decisions(99999999999999999999)


def _store_before(monkeypatch, migration: str):
    """An in-memory store with every migration applied up to `migration`, not it (a store an
    older kefu wrote)."""
    import sqlite_utils

    from kefu.kb import migrations

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    upto = names.index(migration) if migration in names else len(names)
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
        migrations.apply(db)
    return db


def test_the_migration_to_ids_never_reused_keeps_the_rows_and_skips_every_used_id(monkeypatch):
    from kefu.kb import migrations

    db = _store_before(monkeypatch, "m017_learned_ids_never_reused")
    row = {"entry_id": "ship", "key": "运费", "text": "运费？", "status": "approved", "accepts": 2, "rejects": 1,
           "agents": '["a", "b"]', "rejecters": '["c"]', "first_at": "2026-11-01T00:00:00+00:00",
           "last_at": "2026-11-02T00:00:00+00:00", "decided_by": "ed", "decided_at": "2026-11-03T00:00:00+00:00",
           "lifted": None, "moved": '{"to": 5, "accepts": 2, "agents": ["a", "b"]}'}
    db["learned"].insert({"id": 3, **row})
    db["learn_decisions"].insert({"row_id": 9, "at": "2026-11-03", "editor": "ed", "action": "reject",
                                  "status": "rejected"})  # the decision of a row deleted since
    before = db.execute("select * from learned").fetchall()
    migrations.apply(db)
    assert db.execute("select * from learned").fetchall() == before
    db.execute("insert into learned (entry_id, key) values ('ship', '包邮')")
    assert db.execute("select id from learned where key = '包邮'").fetchone()[0] == 10
    with pytest.raises(Exception, match="UNIQUE"):  # the index on (entry, key) is still there
        db.execute("insert into learned (entry_id, key) values ('ship', '运费')")


def test_decisions_an_older_kefu_kept_only_in_the_row_are_listed_after_the_upgrade(monkeypatch):
    """A kefu before m014 kept only each phrasing's latest decision, in its row (decided_by,
    decided_at): after the upgrade `kefu learn history` said "no editor decision yet" of a
    phrasing an editor had approved or rejected, and a reset then listed only the reset."""
    import sqlite_utils

    from kefu.kb import migrations
    from kefu.kb.store import Store

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:names.index("m014_learn_decisions")])
        migrations.apply(db)  # a store as a kefu before the decision log left it
    row = {"entry_id": "ship", "text": "运费？", "accepts": 1, "rejects": 0, "agents": '["a"]', "rejecters": "[]",
           "first_at": "2026-11-01T00:00:00+00:00", "last_at": "2026-11-01T00:00:00+00:00"}
    db["learned"].insert_all([
        {**row, "id": 1, "key": "运费", "status": "approved", "decided_by": "ed", "decided_at": "2026-11-02T00:00:00+00:00"},
        {**row, "id": 2, "key": "邮费", "status": "rejected", "decided_by": "ed2", "decided_at": "2026-11-03T00:00:00+00:00"},
        {**row, "id": 3, "key": "快递费", "status": "candidate", "decided_by": "ed", "decided_at": "2026-11-04T00:00:00+00:00"},
        {**row, "id": 4, "key": "包邮", "status": "candidate", "decided_by": None, "decided_at": None},
        # Moved to return, where the move made row 6: a move left its row rejected.
        {**row, "id": 5, "key": "退货运费", "status": "rejected", "decided_by": "ed_move",
         "decided_at": "2026-11-05T00:00:00+00:00", "moved": '{"to": 6, "accepts": 1, "agents": ["a"]}'},
        {**row, "id": 6, "entry_id": "return", "key": "退货运费", "status": "candidate", "decided_by": "ed_move",
         "decided_at": "2026-11-05T00:00:00+00:00"},
        # Rejected by ed_reject, then lifted by ed_lift: a lift kept the status and stamped the row.
        {**row, "id": 7, "key": "包邮门槛", "status": "rejected", "decided_by": "ed_lift",
         "decided_at": "2026-11-07T00:00:00+00:00", "lifted": '{"rejects": 2, "rejecters": ["b", "c"]}'},
        # Only lifted, while waiting.
        {**row, "id": 8, "key": "运费险", "status": "candidate", "decided_by": "ed_lift",
         "decided_at": "2026-11-08T00:00:00+00:00", "lifted": '{"rejects": 1, "rejecters": ["b"]}'},
    ])
    migrations.apply(db)
    store = LearnStore(Store(db))
    assert store.decisions(1) == [{"at": "2026-11-02T00:00:00+00:00", "editor": "ed", "action": "approve",
                                   "status": "approved"}]
    assert store.decisions(2) == [{"at": "2026-11-03T00:00:00+00:00", "editor": "ed2", "action": "reject",
                                   "status": "rejected"}]
    (earlier,) = store.decisions(3)  # a reset (of a move, approve, reject or lift) or a lift: the row does not say
    assert (earlier["at"], earlier["editor"], earlier["status"]) == ("2026-11-04T00:00:00+00:00", "ed", "candidate")
    assert earlier["action"] not in ("approve", "reject", "lift")  # a lift would change which rejects count
    assert store.decisions(4) == []
    # A move is named as kefu logs one today, never as the reject it left in the row.
    assert store.decisions(5) == [{"at": "2026-11-05T00:00:00+00:00", "editor": "ed_move",
                                   "action": "move to return (#6)", "status": "rejected"}]
    unknown = "decided (an older kefu did not record how)"
    # The row a move made, and lifted rows: the latest decision may be the lift, whose editor
    # and time are not the reject's, or something after it.
    assert [d["action"] for d in store.decisions(6)] == [unknown]
    assert store.decisions(7) == [{"at": "2026-11-07T00:00:00+00:00", "editor": "ed_lift", "action": unknown,
                                   "status": "rejected"}]
    assert [d["action"] for d in store.decisions(8)] == [unknown]
    assert db.execute("select count(*) from learned").fetchone()[0] == 8


def test_the_decisions_a_store_already_logs_are_not_repeated_by_the_upgrade(monkeypatch):
    """Only a phrasing whose decisions were never logged gets its row's: one decided since
    the log began keeps exactly its logged decisions."""
    import sqlite_utils

    from kefu.kb import migrations
    from kefu.kb.store import Store

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:names.index("m021_decisions_kept_in_the_row")])
        migrations.apply(db)
    db["learned"].insert({"id": 1, "entry_id": "ship", "key": "运费", "text": "运费？", "status": "approved",
                          "accepts": 1, "rejects": 0, "agents": '["a"]', "rejecters": "[]",
                          "first_at": "2026-11-01T00:00:00+00:00", "last_at": "2026-11-01T00:00:00+00:00",
                          "decided_by": "ed", "decided_at": "2026-11-05T00:00:00+00:00"})
    logged = [{"row_id": 1, "at": "2026-11-04T00:00:00+00:00", "editor": "ed", "action": "reject", "status": "rejected"},
              {"row_id": 1, "at": "2026-11-04T12:00:00+00:00", "editor": "ed", "action": "reset", "status": "candidate"},
              {"row_id": 1, "at": "2026-11-05T00:00:00+00:00", "editor": "ed", "action": "approve", "status": "approved"}]
    db["learn_decisions"].insert_all(logged)
    migrations.apply(db)
    assert [d["action"] for d in LearnStore(Store(db)).decisions(1)] == ["reject", "reset", "approve"]


def test_a_move_never_revives_a_row_that_was_itself_moved(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "ship", "a"), accept(MISSED, "delivery", "b")])
    ship, delivery = (learner.store.rows(entry_id=e)[0] for e in ("ship", "delivery"))
    learner.move(delivery.id, "invoice", "editor1")
    with pytest.raises(KefuError, match=f"was moved to #{learner.store.get(delivery.id).moved_to}"):
        learner.move(ship.id, "delivery", "editor1")  # its accept already lives on in invoice's row
    invoice = learner.store.rows(entry_id="invoice")[0]
    learner.move(invoice.id, "ship", "editor1")  # into ship's row: +1, from b
    assert learner.store.get(ship.id).accepts == 2
    with pytest.raises(KefuError, match="moved on"):
        learner.reset(delivery.id, "editor1")  # invoice's row must give its accept back first
    learner.reset(invoice.id, "editor1")
    learner.reset(delivery.id, "editor1")
    assert [(r.entry_id, r.status, r.accepts) for r in learner.store.rows()] == [
        ("ship", "candidate", 1), ("delivery", "candidate", 1)]


def test_a_decision_on_several_rows_is_all_or_nothing(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "delivery", "a"), accept("发票开公司抬头", "invoice", "a")])
    first, second = (r.id for r in learner.store.rows())
    before = list(shop.store.db.conn.iterdump())
    with pytest.raises(KefuError, match="999"):
        learner.decide("approve", [first, 999], "editor1")
    assert list(shop.store.db.conn.iterdump()) == before
    learner.approve(second, "editor1")
    before = list(shop.store.db.conn.iterdump())
    with pytest.raises(KefuError, match="approved"):
        learner.decide("approve", [first, second], "editor1")  # the second is decided already
    assert list(shop.store.db.conn.iterdump()) == before
    assert MISSED not in shop.store.get("delivery").similar
    assert learner.decide("reject", [first, first], "editor1") == ["delivery"]
    assert learner.store.get(first).status == "rejected"


def test_an_approved_phrasing_a_revert_took_out_shows_as_removed(shop):
    learner = Learner(shop)
    learner.record([accept(MISSED, "delivery", "a")])
    row_id = learner.store.rows()[0].id
    learner.approve(row_id, "editor1")
    assert not learner.store.get(row_id).removed
    shop.revert("delivery", 1, author="editor2")  # back to before the approval
    row = learner.store.get(row_id)
    assert row.status == "approved" and row.removed and not row.trusted
    assert top(shop, MISSED) != "delivery"
    learner.reset(row_id, "editor2")  # back to the queue, as before the approval
    row = learner.store.get(row_id)
    assert (row.status, row.removed) == ("candidate", False) and learner.store.queue() == [row]
    assert shop.store.history("delivery")[-1].action == "revert to v1"  # reset had nothing to take out


# -- demotion and the prior -------------------------------------------------------------------------

def test_rejects_by_two_agents_demote_that_pairing_only(shop):
    learner = Learner(shop)
    message = "包邮吗 我要退货"
    first = top(shop, message)
    unrelated = {m: top(shop, m) for m in ("忘记密码了", "能开发票吗", "发货时间")}
    learner.record([reject(message, first, "a")])
    assert top(shop, message) == first  # one click changes nothing
    learner.record([reject(message, first, "b")])
    assert top(shop, message) != first
    assert {m: top(shop, m) for m in unrelated} == unrelated


def test_a_retriever_kept_between_searches_reads_each_learning_write(shop):
    """A panel or server keeps one Retriever: its demotions and prior are re-read after
    every learning write, however the retriever tells that one happened."""
    learner = Learner(shop)
    retriever = Retriever(shop)
    message = "包邮吗 我要退货"
    first = retriever.search(message).hits[0].entry_id
    learner.record([reject(message, first, "a")])
    assert retriever.search(message).hits[0].entry_id == first
    learner.record([reject(message, first, "b")])
    assert retriever.search(message).hits[0].entry_id != first


class WindowFake(FakeEmbedder):
    """Reads only the last 8 characters of a query, as kefu's models read a window of a long one."""

    def query_text(self, text: str) -> str:
        return text[-8:]

    def encode_queries(self, texts):
        return super().encode_queries([self.query_text(t) for t in texts])


def test_a_long_message_rejected_twice_is_demoted_when_it_comes_again(tmp_path, shop_entries, fast_jieba):
    # The rejected message is compared with the message searched, so both must be read
    # alike: by a model reading a window of a long query, the window of each.
    kb = KnowledgeBase(tmp_path / "home", [WindowFake()])
    kb.import_entries(shop_entries, author="test")
    kb.index()
    message = "我上周在你们家买了一件外套，到现在还没收到，请问包邮吗 我要退货"
    first = top(kb, message)
    Learner(kb).record([reject(message, first, "a"), reject(message, first, "b")])
    assert top(kb, message) != first
    kb.close()


@pytest.mark.parametrize("message", ["kd到哪了", "能return吗", "fahuo le ma"])
def test_a_message_in_chat_spelling_rejected_twice_is_demoted_when_it_comes_again(tmp_path, shop_entries, fast_jieba,
                                                                                  message):
    # A search reads kd as 快递 (kb.text.mandarin): the rejected message must be read alike.
    kb = KnowledgeBase(tmp_path / "home", [WindowFake()])
    kb.import_entries(shop_entries, author="test")
    kb.index()
    first = top(kb, message)
    Learner(kb).record([reject(message, first, "a"), reject(message, first, "b")])
    assert top(kb, message) != first
    kb.close()


def test_a_message_with_numbers_rejected_twice_is_demoted_when_it_comes_again(shop):
    # The stored text has its phone and order numbers taken out (privacy), which moves its
    # vectors away from the message as asked; the same message is still recognised.
    learner = Learner(shop)
    message = "订单号887301245 包邮吗 我要退货 电话13812345678"
    first = top(shop, message)
    learner.record([reject(message, first, "a"), reject(message, first, "b")])
    assert "13812345678" not in learner.store.rows()[0].text
    assert top(shop, message) != first
    assert top(shop, message.replace("887301245", "556677889")) != first  # another order, same question


def test_a_masked_message_matches_what_it_masked_and_nothing_else():
    from kefu.kb.learned import _masked_form_of

    assert _masked_form_of("【地址】都有货吗", "超市生鲜区都有货吗")
    assert _masked_form_of("电话【手机号】，地址【地址】能改吗", "电话13912345678，地址文三路88号能改吗")
    assert not _masked_form_of("电话【手机号】能改吗", "电话能改吗")  # a masked part is something
    # too little left unmasked to tell one message from another
    assert not _masked_form_of("【地址】", "能开发票吗") and not _masked_form_of("【地址】吗", "能开发票吗")
    # pieces found in order, not by a regex of lazy gaps (six masks on 200 characters took minutes)
    assert not _masked_form_of("【地址】a" * 6 + "b", "a" * 200)


def test_full_width_digits_are_no_detail_in_themselves():
    from kefu.kb.learned import has_details

    assert not has_details("买２件") and has_details("电话１３９１２３４５６７８")


def test_a_question_is_not_demoted_for_sharing_its_key_with_a_rejected_pasted_detail(shop):
    # A pasted address is stored as 【地址】, key "地址": the same key as someone asking
    # "地址呢？", which must not take the demotion.
    asked = "地址呢？"
    first = top(shop, asked)
    Learner(shop).record([reject("浙江省杭州市西湖区文三路88号", first, a) for a in ("a", "b")])
    assert [r.key for r in LearnStore(shop.store).rows()] == ["地址"]
    assert top(shop, asked) == first


def test_a_long_learned_message_asked_again_meets_its_own_row(tmp_path, shop_entries, fast_jieba):
    # A learned phrasing is a customer message: encoded as a search reads one (a window of
    # a long message), so the same message asked again matches it exactly.
    embedder = WindowFake()
    kb = KnowledgeBase(tmp_path / "home", [embedder])
    kb.import_entries(shop_entries, author="test")
    message = "我上周在你们家买了一件外套，想问下能不能开发票"
    Learner(kb).record([accept(message, "ship", "a"), accept(message, "ship", "b")])
    for _ in range(2):  # as the index takes it in, and after a full rebuild
        hit = next(h for h in Retriever(kb).search(message).hits if h.entry_id == "ship")
        assert hit.dense["fake"] == pytest.approx(1.0, abs=1e-6)
        assert hit.matched == normalize(message).text  # shown whole
        kb.rebuild()
    assert normalize(message).text not in embedder.encoded  # never encoded whole, for nothing
    kb.close()


@pytest.mark.parametrize("message", ["kd到哪了", "能return吗", "fahuo le ma"])
def test_a_learned_phrasing_typed_in_chat_spelling_meets_its_own_row(tmp_path, shop_entries, fast_jieba, message):
    # A search reads kd as 快递 (kb.text.mandarin); the learned row must be read alike, or the
    # same message asked again meets a row stored as typed and misses it.
    embedder = WindowFake()
    kb = KnowledgeBase(tmp_path / "home", [embedder])
    kb.import_entries(shop_entries, author="test")
    Learner(kb).record([accept(message, "ship", "a"), accept(message, "ship", "b")])
    for _ in range(2):  # as the index takes it in, and after a full rebuild
        hit = next(h for h in Retriever(kb).search(message).hits if h.entry_id == "ship")
        assert hit.dense["fake"] == pytest.approx(1.0, abs=1e-6)
        assert hit.matched == normalize(message).text  # shown as the customer typed it
        kb.rebuild()
    kb.close()


def test_a_learned_phrasing_read_as_typed_is_embedded_once(tmp_path, shop_entries, fast_jieba):
    embedder = WindowFake()
    kb = KnowledgeBase(tmp_path / "home", [embedder])
    kb.import_entries(shop_entries, author="test")
    Learner(kb).record([accept("包裹啥日子从仓库出", "ship", a) for a in ("a", "b")])
    kb.index()
    embedder.encoded.clear()
    kb.rebuild()
    assert embedder.encoded == []  # the cache keeps its vector: its reading is its text
    kb.close()


def test_one_agent_cannot_change_an_unrelated_top_result(shop):
    messages = ["忘记密码了", "能开发票吗", "发货时间", "邮费多少钱", "我要退货"]
    before = {m: Retriever(shop).search(m).hits[0].entry_id for m in messages}
    learner = Learner(shop)
    for _ in range(20):  # even many clicks: one agent, one distinct voice
        learner.record([accept("随便问问", "password", "careless"), reject("发票", "invoice", "careless")])
    assert {m: Retriever(shop).search(m).hits[0].entry_id for m in messages} == before


def test_one_agent_moves_no_ranking_score_at_all(shop):
    # The top result of an unrelated message must not move however close its race is:
    # one agent's events, however many, add nothing to any entry's ranking score.
    learner = Learner(shop)
    for _ in range(20):
        learner.record([accept("随便问问", "password", "careless"), reject("发票", "invoice", "careless")])
    assert Learning.load(shop, PriorRule()).prior == {}
    assert all(h.prior == 0 for m in ("忘记密码了", "能开发票吗") for h in Retriever(shop).search(m).hits)
    learner.record([accept("随便问问", "password", "second")])  # a second agent: now use counts
    prior = Learning.load(shop, PriorRule()).prior
    assert prior["password"] > 0 and "invoice" not in prior  # only "careless" acted on invoice


def test_prior_is_bounded_by_its_cap():
    rule = PriorRule(cap=0.04, smooth=4)
    assert rule.prior(0, 0) == 0
    assert 0 < rule.prior(1, 0) < rule.prior(100, 0) < 0.04
    assert -0.04 < rule.prior(0, 1000) < 0
    assert rule.prior(3, 3) == 0


def test_use_statistics_count_agents_not_clicks(shop):
    learner = Learner(shop)
    learner.record([reject(f"密码问题{i}", "password", "mallory") for i in range(30)]
                   + [accept("忘记密码了", "password", "alice"), accept("密码找回", "password", "bob")])
    accepts, rejects, agents = learner.store.entry_counts()["password"]
    assert (accepts, rejects, agents) == (2, 2, 3)
    assert PriorRule().prior(accepts, rejects) >= 0  # one busy agent never outweighs two colleagues
    learner.record([accept(f"密码又忘了{i}", "password", name) for i in range(50) for name in ("alice", "bob")])
    accepts, rejects, _ = learner.store.entry_counts()["password"]
    assert (accepts, rejects) == (4, 2) and PriorRule().prior(accepts, rejects) > 0  # heavy use shows


@pytest.mark.parametrize("names, trusted", [
    (["Alice", "alice "], False), (["ａｌｉｃｅ", "alice"], False),  # one person, written two ways
    ([None, "alice"], False),  # an unnamed line may be alice's own: one agent
    ([None, None], False),  # unnamed: somebody, once
    (["alice", "bob"], True),
])
def test_the_trust_rule_counts_people_not_spellings(shop, names, trusted):
    learner = trusting(shop, 2)
    learner.record([accept(MISSED, "delivery", name) for name in names])
    (row,) = learner.store.rows()
    assert (learner.store.rule.trusts(row)) == trusted, row.agents


def test_prior_never_beats_a_clear_semantic_match(shop):
    learner = trusting(shop, 10 ** 6)  # the prior alone, no phrasings
    learner.record([accept(f"问题{i}", "password", f"agent{i}") for i in range(500)])
    retriever = Retriever(shop)
    result = retriever.search("运费怎么算")
    assert result.hits[0].entry_id == "ship"
    password = next(h for h in result.hits if h.entry_id == "password") if any(
        h.entry_id == "password" for h in result.hits) else None
    if password is not None:
        assert 0 < password.prior < 0.04
    plain = Retriever(shop, prior=None).search("运费怎么算")
    assert plain.confidence == result.confidence  # ranking only: confidence stays semantic


# -- bad input and replay ---------------------------------------------------------------------------

def write_lines(path, lines):
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    return path


def test_replay_twice_counts_once(shop, tmp_path):
    learner = Learner(shop)
    f = write_lines(tmp_path / "learn.jsonl", [{"query": MISSED, "accepted": "delivery"},
                                               {"query": "发票开公司抬头", "accepted": "invoice"}])
    first = learner.replay(f)
    second = learner.replay(f)
    assert (first.new, first.duplicate) == (2, 0)
    assert (second.new, second.duplicate) == (0, 2)
    assert sum(r.accepts for r in learner.store.rows()) == 2
    assert shop.store.db.execute("select count(*) from learn_events").fetchone()[0] == 2


def test_a_line_recorded_before_its_entry_was_archived_replays_as_seen_before(shop, tmp_path):
    # A help desk's exports are cumulative: once an entry was archived, every later export
    # failed on the line recorded while it was published, however often it was replayed.
    learner = Learner(shop)
    f = write_lines(tmp_path / "learn.jsonl", [{"query": MISSED, "accepted": "delivery", "agent": "a"},
                                               {"query": "发票开公司抬头", "accepted": "invoice", "id": "7"}])
    assert learner.replay(f).new == 2
    shop.archive("delivery")
    shop.archive("invoice")
    again = learner.replay(f)
    assert (again.new, again.duplicate) == (0, 2)
    # a new line for an archived entry still fails the file, naming it
    more = write_lines(tmp_path / "more.jsonl", [{"query": MISSED, "accepted": "delivery", "agent": "b"}])
    with pytest.raises(KefuError, match="more.jsonl, line 1, field 'accepted': .*archived"):
        learner.replay(more)


def test_an_event_id_counts_once_for_its_event_and_is_no_key_for_another(shop, tmp_path):
    learner = Learner(shop)
    first = write_lines(tmp_path / "a.jsonl", [{"id": "1", "query": MISSED, "accepted": "delivery", "agent": "a"}])
    again = write_lines(tmp_path / "b.jsonl", [{"id": "1", "agent": "a", "accepted": "delivery", "query": MISSED,
                                                "at": "2026-11-28T10:00:00+08:00"}])  # re-exported
    other = write_lines(tmp_path / "c.jsonl", [{"id": "1", "query": "发票开公司抬头", "accepted": "invoice"}])
    assert learner.replay(first).new == 1
    assert (learner.replay(again).new, learner.replay(again).duplicate) == (0, 1)
    assert learner.replay(other).new == 1  # another source's event 1: not dropped
    assert shop.store.db.execute("select count(*) from learn_events").fetchone()[0] == 2
    # keyed by the id alone by an earlier kefu: still the same event, and no other one
    shop.store.db.execute("update learn_events set key = 'replay:1' where entry_id = 'delivery'")
    assert learner.replay(again).duplicate == 1
    another = write_lines(tmp_path / "d.jsonl", [{"id": "1", "query": "能开发票吗公司抬头", "accepted": "delivery"}])
    assert learner.replay(another).new == 1
    # stored by the mask of then, which hid more than today's does
    shop.store.db.execute("update learn_events set key = 'replay:2', message = '【地址】都有货吗' where key = 'replay:1'")
    masked_then = write_lines(tmp_path / "e.jsonl", [{"id": "2", "query": "超市生鲜区都有货吗", "accepted": "delivery"}])
    assert learner.replay(masked_then).duplicate == 1


def test_a_replayed_line_may_name_its_entry_by_a_whole_number(kb, shop_entries, tmp_path):
    # An id written as a number in the imported file (kb.jsonl, a help desk's export) is
    # stored as its digits; the feedback of the same system writes it the same way.
    kb.import_entries([{**shop_entries[0], "id": 12}], author="test")
    kb.index()
    f = write_lines(tmp_path / "learn.jsonl", [{"query": MISSED, "accepted": 12}])
    assert Learner(kb).replay(f).new == 1
    assert [r.entry_id for r in Learner(kb).store.rows()] == ["12"]


@pytest.mark.parametrize("line, field", [
    ({"query": "x", "accepted": "nope"}, "field 'accepted': no entry with id 'nope'"),
    ({"query": "x", "rejected": "return"}, "field 'rejected': .*archived"),
    ({"query": "x", "accepted": "ship", "at": "last week"}, "field 'at'"),
    ({"query": "x", "no_match": True, "at": "2026-13-01"}, "field 'at'"),
    ({"query": "", "accepted": "ship"}, "field 'query'"),
    ({"query": "x"}, "field 'accepted'"),
    ({"query": "x", "accepted": 3}, "field 'accepted'"),
    # a string is no flag: "false" was read as a report of no match
    ({"query": "x", "no_match": "false"}, "field 'no_match': must be true or false, got \"false\""),
    ({"query": "x", "accepted": "ship", "no_match": 0}, "field 'no_match'"),
    ({"query": "x", "edited": "ship"}, "field 'text'"),
    # a time to come would top the gap ranking and add its day to the statistics
    ({"query": "x", "no_match": True, "at": "2099-01-01"}, "field 'at': '2099-01-01' is in the future"),
    # the API's limit: a longer message is refused there, so it is here
    ({"query": "包" * 100_001, "no_match": True}, "field 'query': has 100001 characters; the limit is 100000"),
    ({"query": "x", "edited": "ship", "text": "包" * 100_001}, "field 'text'"),
])
def test_bad_feedback_names_the_line_and_stores_nothing(shop, tmp_path, line, field):
    shop.archive("return")
    learner = Learner(shop)
    f = write_lines(tmp_path / "learn.jsonl", [{"query": MISSED, "accepted": "delivery"}, line])
    dump = list(shop.store.db.conn.iterdump())
    with pytest.raises((KefuError, ImportFileError), match=field) as err:
        learner.replay(f)
    assert "learn.jsonl" in str(err.value) and "line 2" in str(err.value)
    assert list(shop.store.db.conn.iterdump()) == dump


def test_a_replayed_time_may_be_a_day_ahead_of_the_clock_not_more(tmp_path):
    from datetime import datetime, timezone

    from kefu.suggest.learn import read_feedback

    now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
    f = write_lines(tmp_path / "learn.jsonl", [{"query": "x", "no_match": True, "at": "2026-11-30T12:00:00Z"}])
    assert [e.at for e in read_feedback(f, now=now)] == ["2026-11-30T12:00:00+00:00"]
    later = write_lines(tmp_path / "later.jsonl", [{"query": "x", "no_match": True, "at": "2026-11-30T12:00:01Z"}])
    with pytest.raises(ImportFileError, match="line 1, field 'at'"):
        read_feedback(later, now=now)


def test_a_blank_agent_in_a_replayed_line_is_credited_as_the_files_agent(tmp_path):
    """An export with "agent": "" names nobody; it overrode --agent and counted as no agent."""
    from kefu.suggest.learn import read_feedback

    f = write_lines(tmp_path / "learn.jsonl", [{"query": "x", "no_match": True, "agent": ""},
                                               {"query": "y", "no_match": True, "agent": "  "},
                                               {"query": "z", "no_match": True, "agent": "li"}])
    assert [e.agent for e in read_feedback(f, agent="wang")] == ["wang", "wang", "li"]


def test_replayed_times_are_stored_in_utc(shop, tmp_path):
    # Stored times are compared as text (--since, by day): an offset must not survive.
    f = write_lines(tmp_path / "learn.jsonl", [
        {"query": "在吗", "no_match": True, "at": "2026-11-29T10:00:00+08:00"},
        {"query": MISSED, "accepted": "delivery", "at": "2026-11-29T01:30:00Z"}])
    Learner(shop).replay(f)
    stored = [r[0] for r in shop.store.db.execute("select at from learn_events order by at")]
    assert stored == ["2026-11-29T01:30:00+00:00", "2026-11-29T02:00:00+00:00"]


def test_panel_feedback_learns_and_fails_whole_for_an_archived_entry(shop):
    from kefu.kb.feedback import FeedbackLog

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "concise"}]
    sid = log.record_suggestion(MISSED, [], "simplified", "logistics", False,
                                [{"entry_id": "ship"}], drafts)
    learner.record_feedback(log, sid, "accept", 1, agent="xiaomei")
    (row,) = learner.store.rows()
    assert (row.entry_id, row.accepts, row.agents) == ("delivery", 1, ["xiaomei"])
    shop.archive("delivery")
    with pytest.raises(KefuError, match="archived"):
        learner.record_feedback(log, sid, "accept", 1, agent="ali")
    assert len(log.suggestion(sid)["feedback"]) == 1  # the failed one stored nothing
    assert learner.store.rows()[0].accepts == 1


def test_not_helpful_on_a_no_match_suggestion_rejects_no_entry_it_never_offered(shop):
    from kefu.kb.feedback import FeedbackLog

    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    nothing = [{"text": "亲，这个问题我帮您确认一下。", "entry_ids": [], "style": "no_match"}]
    for agent in ("a", "b"):  # two agents' clicks: enough to demote an entry they had rejected
        sid = log.record_suggestion(MISSED, [], "simplified", "logistics", True, [{"id": "ship"}], nothing)
        learner.record_feedback(log, sid, "reject", agent=agent)
        assert log.suggestion(sid)["feedback"][0]["action"] == "reject"  # the click is logged
    assert shop.store.db.execute("select count(*) from learn_events where entry_id is not null").fetchone()[0] == 0
    assert learner.store.rows() == [] and learner.store.demoted() == []
    # A draft that did offer the top hit as its answer: the click turns it down.
    offered = [{"text": "满99包邮。", "entry_ids": ["ship"], "style": "concise"}]
    sid = log.record_suggestion(MISSED, [], "simplified", "logistics", True, [{"id": "ship"}], offered)
    learner.record_feedback(log, sid, "reject", agent="a")
    assert [(r.entry_id, r.rejects) for r in learner.store.rows()] == [("ship", 1)]


def test_feedback_after_the_log_was_purged_is_still_learned_from(shop):
    """SQLite gives a new feedback row the id of a purged one: it is new feedback all the same."""
    from kefu.kb.feedback import FeedbackLog

    learner = Learner(shop)
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "concise"}]
    log = FeedbackLog(shop.store.db)
    old = log.record_suggestion("衣服什么时候寄出", [], "simplified", "logistics", False, [{"id": "delivery"}], drafts)
    first = learner.record_feedback(log, old, "accept", 1, agent="alice")
    shop.store.db.execute("update suggestions set at = '2020-01-01T00:00:00+00:00'")
    shop.store.db.conn.commit()
    log = FeedbackLog(shop.store.db)  # sweeps on its first write
    new = log.record_suggestion(MISSED, [], "simplified", "logistics", False, [{"id": "delivery"}], drafts)
    assert shop.store.db.execute("select count(*) from feedback").fetchone()[0] == 0
    assert learner.record_feedback(log, new, "accept", 1, agent="bob") == first  # the id comes back
    learned = {r.text: (r.entry_id, r.agents) for r in learner.store.rows()}
    assert learned[normalize(MISSED).text] == ("delivery", ["bob"])


OLD = "2026-01-01T00:00:00+00:00"


def test_retention_reaches_the_learning_events_and_the_phrasings_only_they_made(shop):
    """The purge deleted the suggestions and feedback past retention, but learn_events kept
    the customer's message, the agent's edited reply and the date, read by gaps and stats."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.gaps import gap_messages
    from kefu.suggest.stats import usage

    learner, db = Learner(shop), shop.store.db
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "concise"}]
    log = FeedbackLog(db, retention_days=30)
    sid = log.record_suggestion(MISSED, [], "simplified", "logistics", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, sid, "edit", 1, text="付款后24小时内发货，周末照常", agent="alice")
    sid = log.record_suggestion("能寄到国外吗", [], "simplified", "logistics", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, sid, "reject", agent="bob")  # a gap
    learner.record([accept("周末也发货吗", "delivery", "alice"), accept("包裹啥时候能发出去", "delivery", "alice")])
    approved = next(r.id for r in learner.store.rows() if r.text == "周末也发货吗")
    learner.approve(approved, "editor")
    for table, column in (("suggestions", "at"), ("feedback", "at"), ("learn_events", "at"),
                          ("learned", "first_at"), ("learned", "last_at")):
        db.execute(f"update {table} set {column} = ?", [OLD])
    db.conn.commit()
    learner.record([accept("包裹啥时候能发出去", "delivery", "bob")])  # asked again, within the period

    FeedbackLog(db, retention_days=30).record_suggestion("你好", [], "simplified", "greeting", True, [], [])
    assert db.execute("select count(*) from suggestions where at < '2026-02-01'").fetchone()[0] == 0
    kept = db.execute("select message, edited, agent from learn_events").fetchall()
    assert kept == [("包裹啥时候能发出去", None, "bob")]
    # What only expired events made goes; an approved phrasing is entry content and stays,
    # and a phrasing asked again keeps its counts until its last event expires too.
    rows = {r.text: (r.status, r.accepts) for r in learner.store.rows()}
    assert rows == {"周末也发货吗": ("approved", 1), "包裹啥时候能发出去": ("candidate", 2)}
    assert gap_messages(db) == []
    assert usage(db).actions == {"accept": 1}


def test_a_move_whose_row_expired_can_still_be_reset(shop):
    """The row a move created holds the old row's dates; when it expired while the old row
    had newer events, `learn reset` of the old row failed with "no learned phrasing with id
    N" (the gone row), and the old row stayed marked as moved for good."""
    from kefu.kb.feedback import FeedbackLog

    learner, db = Learner(shop), shop.store.db
    learner.record([accept(MISSED, "ship", "a"), accept(MISSED, "ship", "b")])
    (old,) = learner.store.rows()
    learner.move(old.id, "delivery", "editor1")
    gone = learner.store.get(old.id).moved_to
    for table, column in (("learn_events", "at"), ("learned", "first_at"), ("learned", "last_at")):
        db.execute(f"update {table} set {column} = ?", [OLD])
    db.conn.commit()
    learner.record([reject(MISSED, "ship", "c")])  # the old pairing, again, within the period
    assert FeedbackLog(db, retention_days=30).purge().learned == 1
    with pytest.raises(KefuError, match=f"no learned phrasing with id {gone}"):
        learner.store.get(gone)
    assert learner.reset(old.id, "editor1") == ["ship"]
    row = learner.store.get(old.id)
    assert (row.status, row.moved_to, row.accepts, row.rejects) == ("candidate", None, 2, 1)
    assert [d["action"] for d in learner.store.decisions(old.id)][-1] == "reset"
    learner.move(old.id, "delivery", "editor1")  # it can be moved again, as after any reset
    assert learner.store.get(learner.store.get(old.id).moved_to).accepts == 2


def test_a_replayed_line_older_than_the_retention_period_is_not_stored(shop, tmp_path):
    feedback = tmp_path / "learn.jsonl"
    feedback.write_text(json.dumps({"query": MISSED, "accepted": "delivery", "at": "2026-01-01"}, ensure_ascii=False)
                        + "\n" + json.dumps({"query": "周末也发货吗", "accepted": "delivery"}, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    recorded = Learner(shop, retention_days=30).replay(feedback)
    assert (recorded.new, recorded.expired) == (1, 1)
    assert [m for (m,) in shop.store.db.execute("select message from learn_events")] == ["周末也发货吗"]
    assert [r.text for r in Learner(shop).store.rows()] == ["周末也发货吗"]
    assert Learner(shop).replay(feedback).new == 1  # no retention given: every line is kept


def test_using_two_drafts_of_one_entry_for_one_message_is_one_accept(shop):
    from kefu.kb.feedback import FeedbackLog

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    drafts = [{"text": "亲，付款后48小时内发货哦。", "entry_ids": ["delivery"], "style": "warm"},
              {"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "concise"}]
    sid = log.record_suggestion(MISSED, [], "simplified", "logistics", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, sid, "accept", 1, agent="alice")
    learner.record_feedback(log, sid, "edit", 2, text="付款后24小时内发货。", agent="alice")
    (row,) = learner.store.rows()
    assert (row.entry_id, row.accepts) == ("delivery", 1)
    assert learner.store.entry_counts()["delivery"][0] == 1
    assert len(log.suggestion(sid)["feedback"]) == 2  # the log keeps both actions


def test_a_clarifying_draft_teaches_no_entry_whether_accepted_or_rejected(shop):
    from kefu.kb.feedback import FeedbackLog

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    drafts = [{"text": "请问您是想咨询「开发票」还是「发货时间」呢？", "entry_ids": ["invoice", "delivery"],
               "style": "clarify"}]
    for agent in ("a", "b"):
        # one suggestion each way: a reject of the draft used would contradict it (refused)
        used, rejected = (log.record_suggestion("发票和发货", [], "simplified", "order", False, [{"id": "invoice"}],
                                                drafts) for _ in range(2))
        learner.record_feedback(log, used, "accept", 1, agent=agent)
        learner.record_feedback(log, rejected, "reject", 1, agent=agent)
    assert learner.store.rows() == []
    assert shop.store.db.execute("select count(*) from learn_events").fetchone()[0] == 0


def test_not_helpful_on_the_whole_list_rejects_the_top_hit(shop):
    from kefu.kb.feedback import FeedbackLog

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    sid = log.record_suggestion("发票", [], "simplified", "order", False, [{"id": "invoice"}],
                                [{"text": "可以开电子发票", "entry_ids": ["invoice"], "style": "concise"}])
    learner.record_feedback(log, sid, "reject", agent="a")
    (row,) = learner.store.rows()
    assert (row.entry_id, row.rejects) == ("invoice", 1)


def test_not_helpful_on_the_whole_list_rejects_the_entry_the_drafts_answer(shop):
    """The top hit may be one the assistant left out (written for Taiwan customers, say):
    no draft answers it and the panel shows the next as the match, so a reject of the
    whole list counts against that one; a greeting answers with no entry: against none."""
    from kefu.kb.feedback import FeedbackLog

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    hits = [{"id": "delivery"}, {"id": "invoice"}]
    sid = log.record_suggestion("会开电子发票吗", [], "simplified", "order", False, hits,
                                [{"text": "可以开电子发票", "entry_ids": ["invoice"], "style": "warm"}])
    learner.record_feedback(log, sid, "reject", agent="a")
    (row,) = learner.store.rows()
    assert (row.entry_id, row.rejects) == ("invoice", 1)
    hello = log.record_suggestion("你好呀", [], "simplified", "greeting", False, hits,
                                  [{"text": "您好", "entry_ids": [], "style": "greeting"}])
    learner.record_feedback(log, hello, "reject", agent="a")
    assert [(r.entry_id, r.rejects) for r in learner.store.rows()] == [("invoice", 1)]


# -- the prototype row of an entry with learned phrasings -------------------------------------

def test_an_entry_with_learned_phrasings_gets_a_prototype_that_scores_but_is_never_shown(shop):
    import numpy as np

    from kefu.kb.index import PROTOTYPE
    from kefu.kb.text import normalize

    learner = trusting(shop, 1)
    assert not shop.index().prototypes  # nothing learned: no prototype rows
    learner.record([accept(MISSED, "delivery", "xiaomei")])
    index = shop.index()
    assert index.prototypes == {"delivery"}
    rows = [index.rows[v] for v in index.by_entry["delivery"]]
    assert rows[-1].text == PROTOTYPE and rows[-1].tokens == [] and PROTOTYPE not in [r.text for r in rows[:-1]]
    embedder = shop.embedders[0]
    vectors = index.dense[embedder.id].reconstruct_batch(np.asarray(index.by_entry["delivery"]))
    mean = vectors[:-1].mean(axis=0)
    assert np.allclose(vectors[-1], mean / np.linalg.norm(mean), atol=1e-5)  # the unit mean of its phrasings
    for message in ("包裹什么时候从仓库发出", MISSED, "多久发货"):
        hit = next(h for h in Retriever(shop, prior=None).search(message).hits if h.entry_id == "delivery")
        q = embedder.encode_queries([normalize(message).text])[0]
        assert hit.dense[embedder.id] == pytest.approx(float(np.max(vectors @ q)), abs=1e-4)  # it counts...
        assert hit.matched in [r.text for r in rows[:-1]] or hit.matched in shop.store.get("delivery").phrasings
        assert hit.matched != PROTOTYPE  # ...but a real phrasing is shown
    # A message right on the prototype: it gives the entry its dense score, not its phrasing.
    scored = Retriever(shop, prior=None)._score(
        index, np.array([index.layout().keys.index("delivery")]), {embedder.id: vectors[-1]},
        np.zeros(len(index.lexical_vids)))
    assert scored.keys == ["delivery"]
    assert scored.dense[embedder.id][0] == pytest.approx(1.0, abs=1e-4) and scored.best_pos[0] < len(rows) - 1
    learner.reject(learner.store.rows()[0].id, "editor")  # nothing learned any more: no prototype
    assert not shop.index().prototypes and len(shop.index().by_entry["delivery"]) == len(rows) - 2


def test_since_is_local_midnight_or_an_explicit_moment_in_utc(local_zone):
    from kefu.suggest.stats import local_day, since_utc

    local_zone("Asia/Shanghai")
    assert since_utc("2026-11-29") == "2026-11-28T16:00:00+00:00"
    assert since_utc("2026-11-29T12:00+08:00") == "2026-11-29T04:00:00+00:00"
    assert since_utc("2026-11-29T12:00") == "2026-11-29T04:00:00+00:00"  # naive = local
    assert local_day("2026-11-28T17:30:00+00:00") == "2026-11-29"  # 01:30 in Shanghai
    for bad in ("yesterday", "29/11/2026", "", "20261130", "2026-W48", "2026-11-29T12"):
        with pytest.raises(KefuError, match=r"since must be a date \(YYYY-MM-DD"):
            since_utc(bad)  # the forms of a validity bound; fromisoformat took 20261130 and 2026-W48
    with pytest.raises(KefuError, match="'0001-01-01' is out of range"):
        since_utc("0001-01-01")  # it said "since year 0 is out of range"


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "Asia/Kathmandu", "America/St_Johns", "America/New_York", "UTC"])
def test_the_statistics_local_day_in_sql_is_python_s(tz, local_zone):
    """The statistics read the local day of hundreds of thousands of timestamps in SQL
    (`_LOCAL_DAY`); each must be the day `local_day` gives, a fraction of a second just
    before local midnight too (SQLite rounds it to the millisecond: the next day)."""
    import sqlite3

    from kefu.suggest.stats import _LOCAL_DAY, local_day

    local_zone(tz)
    values = [f"2026-11-{d:02d}T{h:02d}:{m:02d}:{s}{frac}+00:00" for d in (28, 29) for h in range(24)
              for m in (14, 15, 29, 30, 44, 45, 59) for s in ("00", "59")
              for frac in ("", ".5", ".999", ".9995", ".999999", ".9999999", ".")]
    values += ["2026-11-28T15:59:59.99x+00:00", "2026-11-28T15:59:59,9996+00:00", "2026-11-28T23:30:00",
               "2026-11-28T23:30:00+0800", "20261128T233000", "0001-01-01T00:00:00+00:00",
               "9999-12-31T23:59:59.999999+00:00", "not a time", ""]
    # SQLite's localtime knows a zone's history only from 1970 to 2037: New York's
    # 2038-03-31T04:47:38 was the day before, its year 1 five hours off local mean time.
    values += ["2038-03-31T04:47:38.5+00:00", "2038-03-31T04:47:38+00:00", "0001-01-02T04:59:59+00:00",
               "1969-12-31T23:59:59+00:00", "1970-01-01T00:00:00+00:00", "1965-06-30T23:30:00.25+00:00"]
    db = sqlite3.connect(":memory:")
    db.create_function("kefu_local_day", 1, local_day, deterministic=True)
    db.execute("create table t (at text)")
    db.executemany("insert into t values (?)", [(v,) for v in values])
    assert [(at, day) for at, day in db.execute(f"select at, {_LOCAL_DAY.format('at')} from t")] == \
        [(v, local_day(v)) for v in values]


def test_the_gaps_text_gives_the_local_day_of_the_last_message(local_zone):
    """It printed the UTC date: 07:30 in Shanghai on the 28th read "last 2026-11-27",
    where `kefu stats` and the console put that message on the 28th."""
    import importlib
    importlib.import_module("kefu.cli")  # first: cli_learn is a part of it (a circular import alone)
    from kefu.cli_learn import _gaps_text

    gap = {"question": "能用数字人民币付款吗", "examples": [], "count": 2, "kinds": {"no_match": 2, "reject": 0},
           "last_at": "2026-11-27T23:30:00+00:00"}
    local_zone("Asia/Shanghai")
    assert "last 2026-11-28)" in _gaps_text({"since": None, "gaps": [gap], "drift": []})


def test_the_text_reports_say_since_when_in_local_time(local_zone):
    """A shop in Beijing asking `kefu stats --since 2026-11-25` read "since
    2026-11-24T16:00:00+00:00", the stored UTC moment, as if it had got the day before."""
    import importlib
    importlib.import_module("kefu.cli")  # first: cli_learn is a part of it (a circular import alone)
    from kefu.cli_learn import _gaps_text
    from kefu.suggest.stats import Stats, since_utc, text

    local_zone("Asia/Shanghai")
    since = since_utc("2026-11-25")
    assert text(Stats(since).to_dict()).startswith("since 2026-11-25 00:00 (UTC+08:00): 0 suggestions shown")
    assert _gaps_text({"since": since, "gaps": [], "drift": []}) == \
        "0 suggested new entries since 2026-11-25 00:00 (UTC+08:00)"
    # past the calendar's end in local time: the stored moment as it is
    assert text(Stats("9999-12-31T20:00:00+00:00").to_dict()).startswith("since 9999-12-31T20:00:00+00:00:")


def test_the_gaps_text_says_when_more_gaps_were_found_than_listed():
    # "20 suggested new entries" read as every gap there was when --limit cut the list.
    import importlib
    importlib.import_module("kefu.cli")  # first: cli_learn is a part of it (a circular import alone)
    from kefu.cli_learn import _gaps_text

    gap = {"question": "能用数字人民币付款吗", "examples": [], "count": 2, "kinds": {"no_match": 2, "reject": 0},
           "last_at": "2026-11-27T23:30:00+00:00"}
    cut = _gaps_text({"since": None, "gaps": [gap, gap], "more": True, "drift": []}).splitlines()[0]
    assert cut == "top 2 suggested new entries (more were found: --limit 4 lists more)"
    assert _gaps_text({"since": None, "gaps": [gap, gap], "more": False, "drift": []}).startswith(
        "2 suggested new entries\n")


def test_the_gaps_text_says_what_repeated_edits_added_or_took_out():
    """Agents adding 云闪付 to an answer read "changed '' to '云闪付'"."""
    import importlib

    importlib.import_module("kefu.cli")  # first: cli_learn is a part of it (a circular import alone)
    from kefu.cli_learn import _gaps_text

    drift = [{"entry_id": "k080", "count": 3, "removed": "", "added": "云闪付", "examples": []},
             {"entry_id": "k154", "count": 2, "removed": "12", "added": "15", "examples": []},
             {"entry_id": "k046", "count": 2, "removed": "满99包邮", "added": "", "examples": []}]
    lines = _gaps_text({"since": None, "gaps": [], "drift": drift}).splitlines()[-3:]
    assert lines == ["  k080: 3 edits added '云闪付'", "  k154: 2 edits changed '12' to '15'",
                     "  k046: 2 edits took out '满99包邮'"]


def test_the_gaps_text_words_its_kinds_of_message():
    """It printed the raw keys ("no_match 1, reject 2"), where `kefu stats` words its counts."""
    import importlib

    importlib.import_module("kefu.cli")  # first: cli_learn is a part of it (a circular import alone)
    from kefu.cli_learn import _gaps_text

    gap = {"question": "能用数字人民币付款吗", "examples": [], "count": 3, "kinds": {"no_match": 1, "reject": 2},
           "last_at": "2026-11-27T03:30:00+00:00"}
    line = _gaps_text({"since": None, "gaps": [gap], "drift": []}).splitlines()[1]
    assert "(3 messages: no match 1, rejected 2; last 2026-11-27)" in line


def test_the_gaps_text_names_the_entries_rejected():
    """"rejected 3" named no entry, where --json and the console's 被拒的条目 say k075 ×3."""
    import importlib

    importlib.import_module("kefu.cli")  # first: cli_learn is a part of it (a circular import alone)
    from kefu.cli_learn import _gaps_text

    gap = {"question": "花呗能分几期", "examples": [], "count": 4, "kinds": {"no_match": 1, "reject": 3},
           "rejected_entries": {"k075": 2, "k076": 1}, "last_at": "2026-11-27T03:30:00+00:00"}
    line = _gaps_text({"since": None, "gaps": [gap], "drift": []}).splitlines()[1]
    assert "(4 messages: no match 1, rejected 3 (k075 ×2, k076 ×1); last 2026-11-27)" in line


@pytest.mark.parametrize("tz, since, utc", [
    ("UTC", "0001-01-01", "0001-01-01T00:00:00+00:00"),
    ("UTC", "9999-12-31", "9999-12-31T00:00:00+00:00"),
    ("Asia/Shanghai", "9999-12-31T23:59", "9999-12-31T15:59:00+00:00"),
    ("Etc/GMT+5", "0001-01-01", "0001-01-01T05:00:00+00:00")])
def test_since_at_either_end_of_the_calendar_converts_where_it_has_a_utc_time(tz, since, utc, local_zone):
    """`kefu stats --since 0001-01-01` was out of range in UTC too: Python's conversion of a
    naive time looks at the day before, year 0. Only a moment with no UTC time is refused."""
    from kefu.suggest.stats import since_utc

    local_zone(tz)
    assert since_utc(since) == utc


def test_a_day_counts_kefus_no_match_flags_apart_from_the_agents_reports(shop):
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log = FeedbackLog(shop.store.db)
    first = log.record_suggestion("今天天气怎么样", [], "simplified", "presale", True, [], [])
    log.record_suggestion("推荐一部电视剧", [], "simplified", "presale", True, [], [])
    Learner(shop).record_feedback(log, first, "no_match")
    (day,) = usage(shop.store.db).by_day
    assert (day["shown"], day["no_match_flagged"], day["no_match"]) == (2, 2, 1)


def test_no_match_figures_leave_greetings_and_thanks_out(shop):
    """A greeting or thanks has no answer to find: "你好" flagged and "在吗" not (a greeting
    entry matched) made the no-match rate depend on retrieval luck."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log = FeedbackLog(shop.store.db)
    log.record_suggestion("你好", [], "simplified", "greeting", True, [], [])
    log.record_suggestion("好的谢谢", [], "simplified", "thanks", True, [], [])
    log.record_suggestion("在吗", [], "simplified", "greeting", False, [], [])
    log.record_suggestion("今天天气怎么样", [], "simplified", "presale", True, [], [])
    log.record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], [])
    stats = usage(shop.store.db)
    (day,) = stats.by_day
    assert stats.shown == 5 and stats.no_match_rate == 0.5
    assert (day["shown"], day["no_match_flagged"]) == (5, 1)


def test_feedback_on_a_clarifying_or_two_answer_draft_counts_in_every_figure(shop):
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    drafts = [{"text": "请问您是想咨询「开发票」还是「发货时间」呢？", "entry_ids": ["invoice", "delivery"], "style": "clarify"},
              {"text": "可以开电子发票。另外，48小时内发货。", "entry_ids": ["invoice", "delivery"], "style": "both"}]
    sid = log.record_suggestion("发票和发货", [], "simplified", "order", False, [{"id": "invoice"}], drafts)
    learner.record_feedback(log, sid, "accept", 2, agent="a")
    other = log.record_suggestion("发票和发货呢", [], "simplified", "order", False, [{"id": "invoice"}], drafts)
    learner.record_feedback(log, other, "reject", 1, agent="a")
    stats = usage(shop.store.db)
    assert stats.acted_on == 2 and stats.acceptance["any_draft"] == 0.5
    assert stats.actions == {"accept": 1, "reject": 1}
    (day,) = stats.by_day
    assert (day["accept"], day["reject"]) == (1, 1)



def test_not_helpful_on_a_suggestion_answering_no_entry_counts_in_every_stats_section(shop):
    # "Not helpful" on a greeting's reply or a no-match holding line rejects no entry, so
    # learning keeps no event for it: acted on and by stage counted the reject, while the
    # events and by day said nothing happened.
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    hello = log.record_suggestion("你好", [], "simplified", "greeting", True, [],
                                  [{"text": "亲，您好，请问有什么可以帮您？", "entry_ids": [], "style": "greeting"}])
    learner.record_feedback(log, hello, "reject", agent="a")
    learner.record_feedback(log, hello, "reject", agent="b")  # one say per message and side, as learning counts
    stats = usage(shop.store.db)
    (day,) = stats.by_day
    (stage,) = stats.by_stage.values()
    assert stats.acted_on == 1 and stage["reject"] == 1
    assert stats.actions == {"reject": 1} and day["reject"] == 1


def test_a_reject_of_the_whole_list_and_of_its_top_draft_is_one_say_in_every_stats_section(shop):
    # by stage counted reject 2, keyed (suggestion, side, entry) with the whole list's entry None
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "concise"}]
    sid = log.record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, sid, "reject", agent="a")
    learner.record_feedback(log, sid, "reject", 1, agent="a")
    assert shop.store.db.execute("select count(*) from learn_events").fetchone()[0] == 1
    stats = usage(shop.store.db)
    (day,) = stats.by_day
    (stage,) = stats.by_stage.values()
    assert stats.actions == {"reject": 1} and day["reject"] == 1 and stage["reject"] == 1
    assert stats.top_entries[0]["rejects"] == 1


def test_stats_by_category_keeps_an_archived_entrys_suggestions_and_actions(shop):
    # Archiving an entry took its shown suggestions and its agents' actions out of "by
    # category" (the top entries and the totals kept them): the figures no longer added up.
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    drafts = [{"text": "可以开电子发票。", "entry_ids": ["invoice"], "style": "concise"}]
    sid = log.record_suggestion("能开票吗", [], "simplified", "order", False, [{"id": "invoice"}], drafts)
    learner.record_feedback(log, sid, "accept", 1, agent="a")
    before = usage(shop.store.db).by_category
    assert before == {"售中": {"shown": 1, "accept": 1}}
    shop.archive("invoice")
    assert usage(shop.store.db).by_category == before


def test_stats_by_category_counts_a_no_match_report_where_its_suggestion_is_shown(shop):
    # A no-match report names no entry, so by category never counted one: the console's
    # 客服报告无答案 column read 0 in every category, however often agents said a category's
    # confident answer was not the one. It counts where its suggestion counts as shown.
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    drafts = [{"text": "可以开电子发票。", "entry_ids": ["invoice"], "style": "concise"}]
    sid = log.record_suggestion("能开纸质发票吗", [], "simplified", "order", False, [{"id": "invoice"}], drafts)
    learner.record_feedback(log, sid, "no_match", agent="a")
    flagged = log.record_suggestion("能用数字人民币吗", [], "simplified", "order", True, [{"id": "invoice"}], [])
    learner.record_feedback(log, flagged, "no_match", agent="a")  # shown for no category: counted for none
    Learner(shop).record([Event("能开专票吗", "no_match", None, "b")])  # replayed: no suggestion, no category
    stats = usage(shop.store.db)
    assert stats.by_category == {"售中": {"shown": 1, "no_match": 1}}
    assert stats.actions == {"no_match": 3}


def test_stats_figures_of_a_mixed_log_over_two_local_days(shop, utc_plus_8):
    """Every figure of `usage` on a small log with one of each case (superseded, greeting,
    flagged, reported, used twice, "not helpful", replayed), in UTC+8 over two local days
    that are not the UTC days: pinned, so that a faster way of counting them keeps them."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import since_utc, usage

    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    invoice = [{"text": "可以开电子发票。", "entry_ids": ["invoice"], "style": "concise"}]
    ship = [{"text": "满99元包邮。", "entry_ids": ["ship"], "style": "concise"},
            {"text": "亲，满99元就包邮哦。", "entry_ids": ["ship"], "style": "warm"}]
    first_day = [log.record_suggestion("能开票吗", [], "simplified", "order", False, [{"id": "invoice"}], invoice),
                 log.record_suggestion("运费多少", [], "simplified", "presale", False,
                                       [{"id": "ship"}, {"id": "invoice"}], ship)]
    learner.record_feedback(log, first_day[0], "accept", 1, agent="a")
    learner.record_feedback(log, first_day[1], "edit", 2, "满99包邮", agent="a")
    learner.record_feedback(log, first_day[1], "accept", 1, agent="a")  # the same say: one use of the entry
    returns = log.record_suggestion("退货怎么退", [], "simplified", "aftersale", False, [{"id": "return"}],
                                    [{"text": "订单页点申请售后。", "entry_ids": ["return"], "style": "concise"}])
    learner.record_feedback(log, returns, "reject", agent="b")  # "not helpful"
    typed = log.record_suggestion("发货", [], "simplified", "presale", False, [{"id": "delivery"}], [])
    asked = log.record_suggestion("发货要多久", [], "simplified", "presale", False, [{"id": "delivery"}], [],
                                  replaces=typed)
    learner.record_feedback(log, asked, "no_match", agent="b")
    log.record_suggestion("你好", [], "simplified", "greeting", True, [], [])
    flagged = log.record_suggestion("能用花呗吗", [], "simplified", "presale", True, [], [])
    learner.record_feedback(log, flagged, "no_match", agent="b")
    Learner(shop).record([Event("能开专票吗", "no_match", None, "c"), Event("开发票", "accept", "invoice", "c")])
    db = shop.store.db
    for table, key in (("suggestions", "id"), ("feedback", "suggestion_id"), ("learn_events", "suggestion_id")):
        # 01:30 on the 30th and 00:30 on 1 December, local time: the day before in UTC
        db.execute(f"update {table} set at = case when {key} in (?, ?) then '2026-11-29T17:30:00+00:00'"
                   " else '2026-11-30T16:30:00+00:00' end", first_day)
    db.conn.commit()
    assert usage(db).to_dict() == {
        "since": None, "kept_from": None, "kept_days": None, "shown": 6, "acted_on": 5, "asked": 5,
        "acceptance": {"first_draft": 0.2, "any_draft": 0.2, "edited": 0.2}, "no_match_rate": 0.2,
        "actions": {"accept": 2, "edit": 1, "reject": 1, "no_match": 3},
        "top_entries": [{"entry_id": "invoice", "question": "能开发票吗", "accepts": 2, "rejects": 0},
                        {"entry_id": "ship", "question": "运费怎么算", "accepts": 1, "rejects": 0},
                        {"entry_id": "return", "question": "怎么申请退货", "accepts": 0, "rejects": 1}],
        "never_used": [{"entry_id": "delivery", "question": "多久能发货", "category": "其他"},
                       {"entry_id": "password", "question": "忘记密码怎么办", "category": "账户"},
                       {"entry_id": "return", "question": "怎么申请退货", "category": "售后"}],
        "by_category": {"其他": {"shown": 1, "no_match": 1}, "售中": {"shown": 1, "accept": 2},
                        "售前": {"shown": 1, "edit": 1}, "售后": {"shown": 1, "reject": 1}},
        "by_stage": {"了解需求": {"shown": 3, "edit": 1, "no_match": 2}, "接待": {"shown": 1},
                     "提供解决方案": {"shown": 1, "reject": 1}, "确认订单": {"shown": 1, "accept": 1}},
        "by_day": [{"day": "2026-11-30", "shown": 2, "no_match_flagged": 0, "accept": 1, "edit": 1},
                   {"day": "2026-12-01", "shown": 4, "no_match_flagged": 1, "reject": 1, "no_match": 3, "accept": 1}],
        "gaps": []}
    since = usage(db, since_utc("2026-12-01")).to_dict()
    assert (since["shown"], since["acted_on"], since["asked"], since["no_match_rate"]) == (4, 3, 3, 0.3333)
    assert since["acceptance"] == {"first_draft": 0.0, "any_draft": 0.0, "edited": 0.0}
    assert since["actions"] == {"reject": 1, "no_match": 3, "accept": 1}
    assert since["by_category"] == {"其他": {"shown": 1, "no_match": 1}, "售中": {"accept": 1},
                                    "售后": {"shown": 1, "reject": 1}}
    assert since["by_stage"] == {"了解需求": {"shown": 2, "no_match": 2}, "接待": {"shown": 1},
                                 "提供解决方案": {"shown": 1, "reject": 1}}
    assert since["by_day"] == [{"day": "2026-12-01", "shown": 4, "no_match_flagged": 1, "reject": 1, "no_match": 3,
                                "accept": 1}]
    assert [e["entry_id"] for e in since["never_used"]] == ["delivery", "password", "return", "ship"]


def test_stats_by_category_counts_a_category_once_in_either_script(shop):
    """A shop's own category typed once in traditional script (過敏 beside 过敏) is one
    category to the entry list's filter, `kefu list --category` and the API, but 统计 split
    its figures over two rows. They count in one, under the spelling most entries use."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    for i, category in enumerate(["过敏", "过敏", "過敏"]):
        shop.add({"id": f"a{i}", "question": f"过敏问题{i}", "answer": "请停用。", "category": category})
    log, learner = FeedbackLog(shop.store.db), Learner(shop)
    for i in range(3):
        drafts = [{"text": "请停用。", "entry_ids": [f"a{i}"], "style": "concise"}]
        sid = log.record_suggestion(f"过敏问题{i}", [], "simplified", "aftersale", False, [{"id": f"a{i}"}], drafts)
        learner.record_feedback(log, sid, "accept", 1, agent="a")
    assert usage(shop.store.db).by_category == {"过敏": {"shown": 3, "accept": 3}}


def test_every_stats_section_counts_an_agents_says_alike(shop):
    # Drafts 1 and 2 both answer one entry: accept 1, accept 2 and edit 1 are one say (the
    # first), as learning counts them; by stage counted three and acceptance said "edited".
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import text, usage

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "warm"},
              {"text": "48小时内发货。", "entry_ids": ["delivery"], "style": "concise"}]
    sid = log.record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, sid, "accept", 1, agent="a")
    learner.record_feedback(log, sid, "accept", 2, agent="a")
    learner.record_feedback(log, sid, "edit", 1, "亲，48小时内发货哦", agent="a")
    stats = usage(shop.store.db)
    assert stats.actions == {"accept": 1}
    (day,) = stats.by_day
    (stage,) = stats.by_stage.values()
    for counts in (day, stage):
        assert {k: v for k, v in counts.items() if k in ("accept", "edit", "reject", "no_match")} == stats.actions
    assert stats.acceptance == {"first_draft": 1.0, "any_draft": 1.0, "edited": 0.0}
    shop.archive("delivery")
    (top,) = usage(shop.store.db).top_entries
    assert (top["entry_id"], top["question"], top.get("archived")) == ("delivery", "多久能发货", True)
    assert "delivery" in text(usage(shop.store.db).to_dict()) and "多久能发货 (已归档)" in text(usage(shop.store.db).to_dict())


@pytest.mark.parametrize("order", ["used, then reported", "reported, then used"])
def test_stats_count_a_suggestion_used_and_reported_no_match_by_the_later_say_only(shop, order):
    """A draft answering an entry sent, then "no good match" reported (the draft was the
    wrong entry's; or the other way round, a report taken back by using a draft): every
    section counted the suggestion both accepted and no match. The later say counts."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import kept_usage, text, usage

    log = FeedbackLog(shop.store.db)
    learner = Learner(shop)
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "warm"}]
    sid = log.record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    says = [("accept", 1), ("no_match", None)]
    for action, draft in says if order == "used, then reported" else says[::-1]:
        learner.record_feedback(log, sid, action, draft, agent="a")
    other = log.record_suggestion("发货慢吗", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, other, "edit", 1, "亲，48小时内发货哦", agent="a")  # a use alone, still counted
    stats = usage(shop.store.db)
    used = order == "reported, then used"
    said = {"accept": 1, "edit": 1} if used else {"edit": 1, "no_match": 1}
    assert stats.actions == said and stats.acted_on == 2
    assert stats.acceptance == ({"first_draft": 0.5, "any_draft": 0.5, "edited": 0.5} if used
                                else {"first_draft": 0.0, "any_draft": 0.0, "edited": 0.5})
    (day,) = stats.by_day
    (stage,) = stats.by_stage.values()
    (category,) = stats.by_category.values()
    for counts in (day, stage, category):
        assert {k: v for k, v in counts.items() if k in ("accept", "edit", "reject", "no_match")} == said
    (top,) = stats.top_entries
    assert top["accepts"] == (2 if used else 1)
    assert kept_usage(shop.store).to_dict() == stats.to_dict()  # what 统计 and `kefu stats` read
    assert ("reported no match 1" in text(stats.to_dict())) is not used


def test_stats_text_of_an_empty_log_says_none_and_gives_no_rate_of_nothing(shop):
    # With nothing logged, `kefu stats` printed "top entries:" with nothing under it, and
    # "first draft 0% ... no-match rate 0%": as if agents had turned every draft down.
    from kefu.suggest.stats import text, usage

    lines = text(usage(shop.store.db, None).to_dict()).splitlines()
    assert "top entries: none" in lines
    rates = next(line for line in lines if line.startswith("acceptance"))
    assert "0%" not in rates and rates.count("n/a") == 4


def test_stats_text_gives_rates_to_the_tenth_of_a_percent_as_the_console_does():
    # 2 of 79 flagged: the console said 2.5%, `kefu stats` 3%; 0.4% accepted read as 0%.
    from kefu.suggest.stats import Stats, text

    report = Stats(None, shown=79, acted_on=250, asked=79, no_match_rate=round(2 / 79, 4),
                   acceptance={"first_draft": 0.004, "any_draft": 0.276, "edited": 1.0})
    rates = text(report.to_dict()).splitlines()[1]
    assert rates == "acceptance: first draft 0.4%, any draft 27.6%, edited 100.0%; no-match rate 2.5%"


def test_stats_mark_a_top_entry_taken_back_to_draft(shop):
    # An archived top entry was marked 已归档; one an editor took back to draft was listed
    # like a published one, though kefu no longer suggests it (never_used leaves it out).
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import text, usage

    log = FeedbackLog(shop.store.db)
    drafts = [{"text": "付款后48小时内发货。", "entry_ids": ["delivery"], "style": "warm"}]
    sid = log.record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    Learner(shop).record_feedback(log, sid, "accept", 1, agent="a")
    shop.update("delivery", {"status": "draft"}, author="editor")
    (top,) = usage(shop.store.db).top_entries
    assert top.get("draft") is True and "archived" not in top
    assert "多久能发货 (草稿)" in text(usage(shop.store.db).to_dict())


def test_stats_text_names_the_agents_no_match_reports_alike_in_every_line(shop):
    # The events line said "no_match 1", the lines by stage and day "reported no match 1".
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import text, usage

    log = FeedbackLog(shop.store.db)
    sid = log.record_suggestion("能用花呗吗", [], "simplified", "presale", True, [], [])
    Learner(shop).record_feedback(log, sid, "no_match", agent="a")
    lines = text(usage(shop.store.db).to_dict()).splitlines()
    assert "events: reported no match 1" in lines
    assert not any("no_match" in line for line in lines)


def test_stats_text_counts_one_in_the_singular(shop):
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import text, usage

    FeedbackLog(shop.store.db).record_suggestion("能用花呗吗", [], "simplified", "presale", True, [], [])
    for entry_id in ("delivery", "invoice", "password", "return"):
        shop.archive(entry_id)
    lines = text(usage(shop.store.db).to_dict()).splitlines()
    assert lines[0] == "since the beginning: 1 suggestion shown, 0 acted on"  # "1 suggestions shown"
    assert "never accepted: 1 published entry (ship)" in lines


def test_stats_say_when_the_period_asked_for_reaches_past_what_retention_kept(shop):
    """`kefu stats --since` a date before the retention period printed "since <that date>",
    as if every day since were counted: what is older was purged."""
    from kefu.kb.feedback import retention_cutoff
    from kefu.suggest.stats import text, usage

    old = usage(shop.store.db, "2020-01-01T00:00:00+00:00", kept_days=90)
    assert old.kept_from is not None and abs(len(old.kept_from) - len(retention_cutoff(90))) <= 1
    assert "kept for 90 days: nothing before" in text(old.to_dict())
    assert usage(shop.store.db, None, kept_days=90).kept_from is not None  # all time is the last 90 days
    recent = usage(shop.store.db, retention_cutoff(10), kept_days=90)
    assert recent.kept_from is None and "kept for" not in text(recent.to_dict())
    assert usage(shop.store.db, None).kept_from is None  # not told the period: nothing to say


def test_stats_text_by_day_leaves_out_a_day_with_no_flag_saying_so(shop):
    # Every day read "flagged no match 0", the one counter printed when it counts nothing.
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import text, usage

    FeedbackLog(shop.store.db).record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], [])
    day = text(usage(shop.store.db).to_dict()).splitlines()[-1]
    assert day.endswith(": shown 1")


def test_stats_text_lists_the_counters_of_every_line_in_one_order():
    # Each line listed them as first met: "shown 29, reject 4, edit 9, accept 10" under
    # "shown 26, accept 10, reject 7, edit 1", hard to read down a column.
    from kefu.suggest.stats import Stats, text

    report = Stats(None, by_category={"售中": {"shown": 2, "reject": 1, "no_match": 1, "accept": 1},
                                      "售后": {"edit": 1, "shown": 1}},
                   by_day=[{"day": "2026-11-30", "reject": 1, "no_match_flagged": 1, "shown": 2, "edit": 1}])
    lines = text(report.to_dict()).splitlines()
    assert "  售中: shown 2, accept 1, reject 1, reported no match 1" in lines
    assert "  售后: shown 1, edit 1" in lines
    assert "  2026-11-30: shown 2, flagged no match 1, edit 1, reject 1" in lines


def test_stats_text_says_none_under_a_heading_with_nothing_to_count(shop):
    # After a replayed file (events with no suggestion shown, so no stage), `kefu stats`
    # printed "by stage:" with nothing under it, as if the lines had been cut off.
    from kefu.suggest.stats import text, usage

    Learner(shop).record([accept("周末也发货吗", "delivery", "alice")])
    lines = text(usage(shop.store.db, None).to_dict()).splitlines()
    assert "by stage: none" in lines and "events: accept 1" in lines
    assert any(line.startswith("by category:") and line != "by category: none" for line in lines)


def test_never_used_leaves_out_entries_whose_window_is_outside_the_period(shop):
    """A campaign entry not valid yet (年货节 next month), or one that ended before the
    period asked for, was listed among the published entries never accepted, though kefu
    could not have suggested it then: editors pruning unused entries saw campaigns ready
    for later among them. An entry whose window meets the period stays listed."""
    from datetime import date, timedelta

    from kefu.suggest.stats import since_utc, usage

    today = date.today()
    shop.update("delivery", {"valid_from": str(today + timedelta(days=10))}, author="editor")
    shop.update("return", {"valid_to": str(today - timedelta(days=10))}, author="editor")
    listed = {e["entry_id"] for e in usage(shop.store.db).never_used}
    assert "delivery" not in listed and "return" in listed  # all time: return could have been
    since = since_utc(str(today - timedelta(days=5)))
    listed_since = {e["entry_id"] for e in usage(shop.store.db, since).never_used}
    assert "delivery" not in listed_since and "return" not in listed_since
    assert listed_since == listed - {"return"}


def test_stats_count_a_long_log_without_reading_each_suggestions_hits(shop, monkeypatch, local_zone):
    """A year's log holds hundreds of thousands of suggestions: `kefu stats` parsed every
    one's hits (and its drafts, for each feedback row) and converted every timestamp to a
    local day in Python, minutes and a gigabyte on such a log. The top hit's id and the
    local day come from SQL; only a "not helpful" on the whole list reads its suggestion."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest import stats

    log = FeedbackLog(shop.store.db)
    drafts = [{"text": "一般48小时内发货", "entry_ids": ["delivery"], "style": "warm"}]
    used = log.record_suggestion("几天发货", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    late = log.record_suggestion("多久发货呀", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    learner = Learner(shop)
    learner.record_feedback(log, used, "accept", 1, agent="a")
    unhelpful = log.record_suggestion("发货慢吗", [], "simplified", "order", False, [{"id": "delivery"}], drafts)
    learner.record_feedback(log, unhelpful, "reject", agent="b")
    # 17:30 UTC is 01:30 the next day in Shanghai
    shop.store.db.execute("update suggestions set at = '2026-11-28T17:30:00+00:00' where id = ?", [late])
    shop.store.db.conn.commit()
    read = []
    real_loads = json.loads
    monkeypatch.setattr(stats.json, "loads", lambda text, *a, **k: read.append(text) or real_loads(text, *a, **k))
    monkeypatch.setattr(stats, "local_day", lambda at: pytest.fail("a local day converted row by row"))
    local_zone("Asia/Shanghai")
    report = stats.usage(shop.store.db)
    assert len(read) == 2  # the rejected suggestion's hits and drafts, and nothing else
    assert report.by_category[next(iter(report.by_category))]["shown"] == 3
    assert report.acceptance["first_draft"] == 0.5 and report.actions == {"accept": 1, "reject": 1}
    assert report.by_day[0]["day"] == "2026-11-29" and report.by_day[0]["shown"] == 1


def test_stats_put_events_replayed_before_times_were_stored_in_utc_on_their_local_day(shop, local_zone):
    """`kefu learn replay` stored "at" as written until it converted it to UTC: local times
    without an offset, bare dates, "+0800", the basic form 20261120T233000. SQLite's
    date(..., 'localtime') read a naive time as UTC (23:30 in Beijing went to the next
    day) and the basic form as no date (a day "20261120T2"); they count on their local day."""
    from kefu.suggest.stats import usage

    old = ["2026-11-20T23:30:00", "2026-11-20", "2026-11-20T23:30:00+0800", "20261120T233000",
           "2026-11-20T15:30:00+00:00"]  # the last as kefu stores it: 23:30 in Beijing
    for n, at in enumerate(old):
        shop.store.db.execute("insert into learn_events (key, at, source, message, action)"
                              " values (?, ?, 'replay', '有赠品吗', 'no_match')", [f"old{n}", at])
    shop.store.db.conn.commit()
    local_zone("Asia/Shanghai")
    assert usage(shop.store.db).by_day == [{"day": "2026-11-20", "no_match": len(old)}]
    # one past the calendar's end in local time keeps its date as stored, as a text report does
    shop.store.db.execute("insert into learn_events (key, at, source, message, action)"
                          " values ('end', '9999-12-31T23:00:00-05:00', 'replay', '有赠品吗', 'no_match')")
    assert usage(shop.store.db).by_day[-1] == {"day": "9999-12-31", "no_match": 1}


def _every_tab_filled(shop, *more) -> tuple[Learner, dict[str, int]]:
    """A learner whose rows fill every tab of the review queue: candidates, rows enough
    agents rejected, approved, rejected, moved and lifted ones; and its rows' ids by text."""
    learner = Learner(shop)
    learner.record([accept("衣服什么时候寄出", "delivery", "a"), accept("衣服什么时候寄出", "delivery", "b"),
                    accept("快递费多少", "delivery", "a"), accept("能开专票吗", "ship", "b"),
                    reject("退货地址在哪", "delivery", "a"), reject("退货地址在哪", "delivery", "b"),
                    reject("可以改地址吗", "ship", "c"), accept("几点发货", "ship", "a"),
                    reject("几点发货", "ship", "b"), reject("几点发货", "ship", "c"),
                    reject("包邮吗", "delivery", "a"), reject("包邮吗", "delivery", "c"),
                    accept("多久能到", "ship", "c"), *more])
    rows = {r.text: r.id for r in learner.store.rows()}
    learner.approve(rows["多久能到"], "editor1")
    learner.reject(rows["快递费多少"], "editor1")
    learner.move(rows["能开专票吗"], "invoice", "editor1")
    learner.lift(rows["包邮吗"], "editor1")
    return learner, rows


def test_the_console_tabs_list_as_the_queue_does_reading_only_rows_that_may_be_demoted(shop, monkeypatch):
    """After a year the learned table holds tens of thousands of phrasings, and the
    console's review page built every one as a row (JSON lists, agent counts) to show
    fifty: 15 s a page on such a store. `listing` gives the same tabs, in the same order,
    from a few columns, reading whole only the candidates enough agents rejected."""
    learner, rows = _every_tab_filled(shop)
    store = learner.store
    every = store.rows()
    expected = {"candidate": [r.id for r in store.queue(every)],
                "agent-rejected": [r.id for r in store.rejected_pairings(every)],
                **{s: [r.id for r in sorted((r for r in every if r.status == s),
                                            key=lambda r: r.decided_at or "", reverse=True)]
                   for s in ("approved", "rejected")}}
    assert all(expected.values()) and expected["agent-rejected"]
    built = []
    real_row = LearnStore._row
    monkeypatch.setattr(LearnStore, "_row", lambda self, r: built.append(r[0]) or real_row(self, r))
    assert store.listing() == expected
    assert sorted(built) == sorted([rows["退货地址在哪"], rows["几点发货"]])  # two agents rejected each


def test_the_queue_and_the_agent_rejected_list_read_whole_only_the_rows_they_list(shop, monkeypatch):
    """`kefu learn queue` (and --status agent-rejected) built every learned row of the store,
    or of the entry asked for, to list the few waiting, with its own copy of the filters
    and orders `listing` gives the console. Both lists now take their ids from the listing
    and build only those rows (and the candidates enough agents rejected, as it does)."""
    learner, rows = _every_tab_filled(shop, accept("周末发货吗", "ship", "a"))
    store = learner.store
    every = store.rows()
    queued, rejected = store.queue(every), store.rejected_pairings(every)
    assert queued and rejected
    built = []
    real_row = LearnStore._row
    monkeypatch.setattr(LearnStore, "_row", lambda self, r: built.append(r[0]) or real_row(self, r))
    for entry_id in (None, "delivery", "ship", "invoice"):
        built.clear()
        by_entry = {} if entry_id is None else {"entry_id": entry_id}
        listed = [r for r in queued if entry_id in (None, r.entry_id)]
        assert store.queue(**by_entry) == listed
        assert set(built) <= {r.id for r in listed} | {rows["退货地址在哪"], rows["几点发货"]}
        built.clear()
        listed = [r for r in rejected if entry_id in (None, r.entry_id)]
        assert store.rejected_pairings(**by_entry) == listed
        assert set(built) <= {r.id for r in listed} | {rows["退货地址在哪"], rows["几点发货"]}


def test_retrieval_reads_whole_only_the_learned_rows_enough_agents_named(shop, monkeypatch):
    """Retrieval re-reads the trusted and demoted phrasings after every click (the
    learning version moves). Each time it built every learned row, and a year's table
    holds tens of thousands that one agent accepted once: 15 s of a suggestion on such a
    store. Only rows listing `min_agents` agents (or rejecters) can be trusted (demoted)."""
    learner = Learner(shop)
    learner.record([accept("衣服什么时候寄出", "delivery", "a"), accept("衣服什么时候寄出", "delivery", "b"),
                    accept("快递费多少", "delivery", "a"), accept("几点发货", "ship", "c"),
                    reject("退货地址在哪", "delivery", "a"), reject("退货地址在哪", "delivery", "b"),
                    reject("能寄到新疆吗", "ship", "a"), reject("能寄到新疆吗", "ship", "c"), accept("能寄到新疆吗", "ship", "b"),
                    reject("可以改地址吗", "ship", "c"), accept("多久能到", "ship", "a"), accept("多久能到", "ship", "b")])
    store = learner.store
    rows = {r.text: r.id for r in store.rows()}
    learner.reject(rows["能寄到新疆吗"], "editor1")  # rejected by an editor, demoted all the same
    learner.approve(rows["多久能到"], "editor1")
    every = store.rows()
    expected = ([r.id for r in every if r.demoted],
                {(r.entry_id, r.key) for r in every if r.status == "candidate" and r.trusted})
    assert expected == ([rows["退货地址在哪"], rows["能寄到新疆吗"]], {("delivery", phrase_key("衣服什么时候寄出"))})
    built = []
    real_row = LearnStore._row
    monkeypatch.setattr(LearnStore, "_row", lambda self, r: built.append(r[0]) or real_row(self, r))
    assert [r.id for r in store.demoted()] == expected[0]
    assert store._trusted_keys() == expected[1] and store.trusted() == {"delivery": ["衣服什么时候寄出"]}
    assert set(built) == {rows["退货地址在哪"], rows["能寄到新疆吗"], rows["衣服什么时候寄出"]}


def test_an_entrys_rejects_are_found_by_index_not_by_reading_the_whole_log(shop):
    """The use prior reads the rejects of each lifted pairing's entry after every click;
    without an index each scanned every learning event (a year's log: 12 s with 40 lifts)."""
    plan = " ".join(str(row) for row in shop.store.db.execute(
        "explain query plan select message, agent from learn_events where entry_id = ? and action = 'reject'",
        ["delivery"]).fetchall())
    assert "USING INDEX" in plan and "SCAN" not in plan


def test_the_migration_to_a_top_entry_column_fills_it_from_each_suggestions_hits(monkeypatch):
    """Statistics read each shown suggestion's top entry from a column (m025), not from its
    hits' JSON: a store an older kefu wrote has the column filled from the hits, a row with
    no hit, hits that are no list of hits or no JSON at all, or a number for an id (none kefu
    writes) with none, as statistics took none from them, and every row kept."""
    from kefu.kb import migrations

    db = _store_before(monkeypatch, "m025_suggestion_top_entry")
    hits = {"two": '[{"id": "ship", "kind": "entry"}, {"id": "invoice"}]', "none": "[]", "null": None,
            "broken": '[{"id": "ship"', "text": "运费", "object": '{"id": "ship"}', "number": '[{"id": 7}]',
            "no-id": '[{"question": "运费"}]'}
    for sid, text in hits.items():
        db.execute("insert into suggestions (id, at, message, context, script, intent, no_match, hits, drafts)"
                   " values (?, '2026-11-30T08:00:00+00:00', '运费', '[]', 'simplified', 'presale', 0, ?, '[]')",
                   [sid, text])
    before = db.execute("select * from suggestions order by id").fetchall()
    migrations.apply(db)
    assert dict(db.execute("select id, top_entry from suggestions").fetchall()) == {
        "two": "ship", "none": None, "null": None, "broken": None, "text": None, "object": None, "number": None,
        "no-id": None}
    assert [row[:-1] for row in db.execute("select * from suggestions order by id").fetchall()] == before


def test_a_suggestion_an_older_process_logs_gets_its_top_entry_all_the_same():
    """A kefu process that opened the store before m025 (a `kefu serve` worker still running
    through an upgrade) logs suggestions with its own column list, leaving the top entry
    out: the store fills it from the hits as m025 does, or statistics never counted them. A
    row that gives its top entry keeps it; one with no hit, or hits no kefu writes, gets none."""
    import sqlite_utils

    from kefu.kb import migrations

    db = sqlite_utils.Database(memory=True)
    migrations.apply(db)
    old = ("insert into suggestions (id, at, message, context, script, intent, no_match, hits, drafts)"
           " values (?, '2026-11-30T08:00:00+00:00', '运费', '[]', 'simplified', 'presale', 0, ?, '[]')")
    for sid, text in {"two": '[{"id": "ship"}, {"id": "invoice"}]', "none": "[]", "null": None,
                      "broken": '[{"id": "ship"', "number": '[{"id": 7}]'}.items():
        db.execute(old, [sid, text])
    db.execute("insert into suggestions (id, at, message, context, script, intent, no_match, hits, drafts,"
               " top_entry) values ('given', '2026-11-30T08:00:00+00:00', '运费', '[]', 'simplified',"
               " 'presale', 0, '[{\"id\": \"ship\"}]', '[]', 'invoice')")
    assert dict(db.execute("select id, top_entry from suggestions").fetchall()) == {
        "two": "ship", "none": None, "null": None, "broken": None, "number": None, "given": "invoice"}


def test_a_suggestion_logged_keeps_its_top_entry_for_statistics(shop):
    """The column statistics read (m025) is written with the suggestion: the first hit's id,
    none without a hit."""
    from kefu.kb.feedback import FeedbackLog

    log = FeedbackLog(shop.store.db)
    hit = log.record_suggestion("运费多少", [], "simplified", "presale", False,
                                [{"id": "ship"}, {"id": "invoice"}], [])
    none = log.record_suggestion("以旧换新可以吗", [], "simplified", "presale", True, [], [])
    rows = dict(shop.store.db.execute("select id, top_entry from suggestions").fetchall())
    assert rows == {hit: "ship", none: None}


def test_stats_read_no_shown_suggestions_hits(shop):
    """A shown suggestion counts in its top entry's category from the column kept for it:
    statistics read no suggestion's hits but for a "not helpful" on the whole list (they
    stopped at hits that were no JSON: "malformed JSON")."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.suggest.stats import usage

    log = FeedbackLog(shop.store.db)
    sid = log.record_suggestion("运费多少", [], "simplified", "presale", False, [{"id": "ship"}], [])
    shop.store.db.execute("update suggestions set hits = '[{' where id = ?", [sid])
    shop.store.db.conn.commit()
    report = usage(shop.store.db)
    assert (report.shown, report.by_category) == (1, {"售前": {"shown": 1}})


def test_approving_a_phrasing_another_entry_has_is_refused_saying_to_move_or_reject_it(shop):
    """An approve gives the entry a similar question: one another entry already has would
    send the message to whichever ranked first. Refused, the row left for the editor."""
    from kefu.kb.errors import DuplicateSimilar

    learner = Learner(shop)
    learner.record([accept("郵費多少錢？", "delivery", "xiaomei")])
    row_id = learner.store.rows()[0].id
    before = shop.store.get("delivery").version
    with pytest.raises(DuplicateSimilar) as info:
        learner.decide("approve", [row_id], "editor1")
    assert str(info.value) == (f"cannot approve learned phrasing {row_id}: similar question '郵費多少錢？' is already a "
                               "similar question of entry 'ship' ('运费怎么算'): move it to entry 'ship' if that entry "
                               "answers it, or reject it")
    assert (info.value.entry_id, shop.store.get("delivery").version) == ("ship", before)
    assert learner.store.get(row_id).status == "candidate"
    learner.move(row_id, "ship", "editor1")  # where the editor says it belongs: ship has it already
    assert [r.status for r in learner.store.rows() if r.entry_id == "ship"] == ["known"]

"""Store: entries with history, imports in one transaction, validity windows, backup."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from datetime import datetime

import pytest
import sqlite_utils

from kefu.kb.entry import Entry, validate
from kefu.kb.errors import (DuplicateEntry, DuplicateQuestion, EntryNotFound, InvalidEntry, InvalidTerm, KefuError,
                            VersionConflict, VersionNotFound, VersionNotRestorable, error_detail)
from kefu.kb.store import Store, backup, restore


# -- add / get / update / archive ---------------------------------------------------

def test_add_then_get_returns_the_stored_entry(store, make_entry):
    added = store.add(make_entry("e1", similar=["邮费多少", "包邮吗"], tags=["物流"], category="售前"),
                      author="alice")
    got = store.get("e1")
    assert got == added
    assert got.question == "运费怎么算"
    assert got.similar == ["邮费多少", "包邮吗"]
    assert got.tags == ["物流"]
    assert got.category == "售前"
    assert got.version == 1
    assert got.author == "alice"
    assert got.created_at and got.updated_at == got.created_at


def test_add_without_status_is_published(store, make_entry):
    e = store.add(make_entry("e1"))
    assert e.status == "published"
    assert store.get("e1").status == "published"
    assert [x.id for x in store.iter_published()] == ["e1"]


def test_add_without_id_generates_one(store, make_entry):
    e = store.add(make_entry())
    assert e.id and e.id.startswith("k")
    assert store.get(e.id).question == "运费怎么算"


def test_add_strips_text_and_drops_blank_similar(store, make_entry):
    e = store.add(make_entry("e1", question="  运费怎么算 ", similar=["邮费", " ", "邮费", " 包邮吗 "]))
    assert e.question == "运费怎么算"
    assert e.similar == ["邮费", "包邮吗"]


def test_a_similar_question_that_is_the_standard_question_is_dropped_by_every_writer(store, make_entry):
    """A copy of the question was kept while a duplicate similar question was dropped;
    both are dropped now, compared as questions are (script, width, punctuation)."""
    from kefu.kb.entry import validate

    e = store.add(make_entry("e1", question="同义重复", similar=["同义重复", "a", "a"]))
    assert e.similar == ["a"]
    e = store.add(make_entry("e2", question="能開發票嗎？", similar=["能开发票吗", "发票怎么开", "發票怎麼開？", "Ｃ"]))
    assert e.similar == ["发票怎么开", "Ｃ"]
    # an update of the similar questions alone, or of the question to one of them
    assert store.update("e1", {"similar": ["同义重复！", "b"]}).similar == ["b"]
    assert store.update("e1", {"question": "b"}).similar == []
    # import rows (the importers validate each), new or updating their entry
    store.import_entries([validate(make_entry("e3", question="退货地址", similar=["退货地址", "寄回地址"])),
                          validate(make_entry("e2", question="能開發票嗎？", similar=["能開發票嗎", "开发票"]))],
                         on_conflict="update")
    assert (store.get("e3").similar, store.get("e2").similar) == (["寄回地址"], ["开发票"])


def test_add_removes_escape_sequences_whole_and_keeps_answer_lines(store, make_entry):
    # taking out the ESC alone stored "测试[2J问题"
    e = store.add(make_entry("e1", question="测试\x1b[2J问题", similar=["\x1b]0;t\x07邮费"],
                             answer="第一行\r\n\x1b[1m第二行\x1b[0m"))
    assert (e.question, e.similar, e.answer) == ("测试问题", ["邮费"], "第一行\n第二行")


def test_add_with_existing_id_raises_duplicate(store, make_entry):
    store.add(make_entry("e1"))
    with pytest.raises(DuplicateEntry) as info:
        store.add(make_entry("e1", question="另一个问题"))
    assert info.value.entry_id == "e1"
    # which entry holds the id, and that the id is the field at fault
    assert (str(info.value), info.value.field) == ("entry id 'e1' already exists, with question '运费怎么算'", "id")
    assert error_detail(info.value)["field"] == "id"
    assert store.count() == 1
    assert store.get("e1").question == "运费怎么算"


@pytest.mark.parametrize("window, state, said", [
    ({"valid_to": "2020-01-01"}, "expired", "which has expired (valid_to 2020-01-01): renew it with a later valid_to"),
    ({"valid_from": "2999-01-01"}, "not_yet", "which is not valid yet (valid_from 2999-01-01): change its valid_from"),
    ({"status": "draft"}, "draft", "which is a draft, never suggested: publish it"),
])
def test_a_question_an_unsuggested_entry_holds_is_refused_saying_so(store, make_entry, window, state, said):
    """Adding again the question of an expired campaign entry was refused as a duplicate of
    entry 'e1' and nothing more: the editor, who took it for gone, learnt neither that it
    is expired nor that renewing it, not adding another, is what to do."""
    store.add(make_entry("e1", **window))
    with pytest.raises(DuplicateQuestion) as info:
        store.add(make_entry("e2"))
    assert info.value.entry_id == "e1" and info.value.state == state
    assert f"already the standard question of entry 'e1', {said}" in str(info.value)
    store.add(make_entry("e3", question="别的问题"))
    with pytest.raises(DuplicateQuestion, match=said.split(":")[0].replace("(", r"\(").replace(")", r"\)")):
        store.update("e3", {"question": "运费怎么算"})
    store.add(make_entry("e4", question="另一个问题"))
    with pytest.raises(DuplicateQuestion) as info:
        store.add(make_entry("e5", question="另一个问题"))
    assert info.value.state is None and str(info.value).endswith("of entry 'e4'")  # a live entry: as before


def test_update_changes_content_and_bumps_version(store, make_entry):
    store.add(make_entry("e1"), author="alice")
    new = store.update("e1", {"answer": "全场包邮。", "tags": ["物流", "包邮"]}, author="bob")
    assert new.version == 2
    assert new.answer == "全场包邮。"
    assert new.author == "bob"
    got = store.get("e1")
    assert got.answer == "全场包邮。"
    assert got.tags == ["物流", "包邮"]
    assert got.question == "运费怎么算"  # untouched fields are kept
    assert got.created_at == new.created_at


def test_update_ignores_id_in_changes(store, make_entry):
    store.add(make_entry("e1"))
    store.update("e1", {"id": "other", "answer": "新答案"})
    assert store.get("e1").answer == "新答案"
    with pytest.raises(EntryNotFound):
        store.get("other")


def test_update_without_change_records_no_version(store, make_entry):
    store.add(make_entry("e1"))
    e = store.update("e1", {"answer": "满99元包邮，不满收10元运费。"})
    assert e.version == 1
    assert len(store.history("e1")) == 1


def test_archive_sets_status_and_hides_from_published(store, make_entry):
    store.add(make_entry("e1"))
    store.add(make_entry("e2", question="怎么退货"))
    e = store.archive("e1", author="carol")
    assert e.status == "archived"
    assert store.get("e1").status == "archived"
    assert [x.id for x in store.iter_published()] == ["e2"]
    assert store.history("e1")[-1].action == "archive"
    assert store.history("e1")[-1].author == "carol"


def test_get_unknown_raises_entry_not_found(store):
    with pytest.raises(EntryNotFound) as info:
        store.get("nope")
    assert info.value.entry_id == "nope"


@pytest.mark.parametrize("call", [
    lambda s: s.update("nope", {"answer": "x"}),
    lambda s: s.archive("nope"),
    lambda s: s.history("nope"),
    lambda s: s.revert("nope", 1),
])
def test_operations_on_unknown_entry_raise_entry_not_found(store, call):
    with pytest.raises(EntryNotFound):
        call(store)


# -- history and revert -------------------------------------------------------------

def test_history_records_before_and_after_of_every_version(store, make_entry):
    store.add(make_entry("e1"), author="alice")
    store.update("e1", {"answer": "全场包邮。"}, author="bob")
    store.archive("e1", author="carol")
    h = store.history("e1")
    assert [c.version for c in h] == [1, 2, 3]
    assert [c.author for c in h] == ["alice", "bob", "carol"]
    assert [c.action for c in h] == ["create", "edit", "archive"]
    assert h[0].before is None
    assert h[0].after["answer"] == "满99元包邮，不满收10元运费。"
    assert h[1].before == h[0].after
    assert h[1].after["answer"] == "全场包邮。"
    assert h[1].after["status"] == "published"
    assert h[2].before == h[1].after
    assert h[2].after["status"] == "archived"
    assert all(c.entry_id == "e1" and c.at for c in h)


@pytest.mark.parametrize("typed", ["ｋ001", " k001", "k001\n"])
def test_an_id_is_found_as_typed_with_full_width_letters_or_spaces(store, make_entry, typed):
    store.add(make_entry("k001"))
    assert store.get(typed).id == "k001"
    store.update("k001", {"answer": "新答案。"})
    assert [h.version for h in store.history(typed)] == [1, 2]
    assert store.revert(typed, 1).answer != "新答案。"


def test_revert_restores_content_and_records_a_new_version(store, make_entry):
    store.add(make_entry("e1", similar=["邮费多少"]), author="alice")
    v1 = store.get("e1").content()
    store.update("e1", {"answer": "全场包邮。", "similar": []}, author="bob")
    store.archive("e1", author="bob")
    e = store.revert("e1", 1, author="dave")
    assert e.version == 4
    assert e.content() == v1
    assert store.get("e1").content() == v1
    assert store.get("e1").status == "published"
    last = store.history("e1")[-1]
    assert last.version == 4
    assert last.author == "dave"
    assert "1" in last.action
    assert last.before["status"] == "archived"
    assert last.after == v1


def test_revert_to_missing_version_raises(store, make_entry):
    store.add(make_entry("e1"))
    with pytest.raises(VersionNotFound):
        store.revert("e1", 7)
    assert store.get("e1").version == 1


@pytest.mark.parametrize("field, stored, reason", [
    ("question", "在吗？\n有客服吗", "must be one line"),
    ("answer", "   ", "must be a non-empty string"),
])
def test_a_version_kefu_no_longer_accepts_is_refused_naming_the_version(store, make_entry, field, stored, reason):
    """An old version whose content an older kefu stored (a question with a line break)
    was refused as `field 'question': must be one line`, which did not say the problem was
    the version's content, not the editor's input."""
    store.add(make_entry("e1"))
    store.update("e1", {"answer": "全场包邮。"})
    store.db.execute("update history set after = json_set(after, ?, ?) where version = 1", [f"$.{field}", stored])
    store.db.conn.commit()
    with pytest.raises(VersionNotRestorable, match=rf"cannot restore version 1 of entry 'e1': its field '{field}' {reason}") as exc:
        store.revert("e1", 1)
    assert (exc.value.field, exc.value.version, exc.value.entry_id) == (field, 1, "e1")
    assert isinstance(exc.value, InvalidEntry)
    assert store.get("e1").version == 2 and store.get("e1").answer == "全场包邮。"


def test_an_edit_made_on_an_older_version_is_refused_by_another_connection(tmp_path, make_entry):
    """Two editors (two gunicorn workers: two connections) saved from one version; the
    console compared versions before the write, so both passed and one edit was lost.
    The version is compared inside the write transaction."""
    first, second = Store.open(tmp_path / "kefu.db"), Store.open(tmp_path / "kefu.db")
    try:
        first.add(make_entry("e1"))
        loaded = second.get("e1").version  # both editors loaded version 1
        first.update("e1", {"answer": "甲改的答案。"}, author="ed1", expected_version=loaded)
        with pytest.raises(VersionConflict) as info:
            second.update("e1", {"answer": "乙改的答案。"}, author="ed2", expected_version=loaded)
        assert info.value.code == "conflict" and info.value.current.version == 2
        with pytest.raises(VersionConflict):
            second.revert("e1", 1, author="ed2", expected_version=loaded)
        assert second.get("e1").answer == "甲改的答案。" and len(second.history("e1")) == 2
        # Made on the current version, or without one (the CLI): saved.
        assert second.revert("e1", 1, author="ed2", expected_version=2).version == 3
        assert first.update("e1", {"answer": "丙改的答案。"}).version == 4
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("bring_back", [
    lambda store: store.update("d3", {"status": "published"}),
    lambda store: store.update("d3", {"status": "draft", "answer": "改过"}),
    lambda store: store.revert("d3", 1),
])
def test_an_archived_entry_brought_back_may_not_share_a_live_entrys_question(store, make_entry, bring_back):
    """Un-archiving (edit, the console's status select, API PUT, revert) skipped the
    check `add` makes, leaving two live entries with one standard question."""
    store.add(make_entry("d3", question="独特问题丙", answer="x"))
    store.archive("d3")
    store.add(make_entry("d4", question="独特问题丙？", answer="y"))  # allowed: d3 is archived
    with pytest.raises(DuplicateQuestion) as info:
        bring_back(store)
    assert info.value.entry_id == "d4" and info.value.field == "question"
    assert store.get("d3").status == "archived" and store.get("d3").version == 2
    store.archive("d4")
    assert bring_back(store).status != "archived"  # fine once the other is archived too


# -- validation -----------------------------------------------------------------------

@pytest.mark.parametrize("bad, field", [
    ({"status": "live"}, "status"),
    ({"question": "   "}, "question"),
    ({"question": ""}, "question"),
    ({"answer": "  "}, "answer"),
    ({"valid_from": "2024-06-01", "valid_to": "2024-05-31"}, "valid_to"),
    ({"valid_from": "tomorrow"}, "valid_from"),
    ({"valid_from": "0001-01-01T00:00+14:00"}, "valid_from"),  # before year 1 in local time: no traceback
    ({"valid_to": "9999-12-31T23:00-12:00"}, "valid_to"),
    ({"similar": 3}, "similar"),
    ({"colour": "red"}, "colour"),
])
def test_add_invalid_entry_names_the_field(store, make_entry, bad, field):
    with pytest.raises(InvalidEntry) as info:
        store.add({**make_entry("e1"), **bad})
    assert info.value.field == field
    assert repr(field) in str(info.value)
    assert store.count() == 0


@pytest.mark.parametrize("field, value", [("answer", "啊" * 100_001), ("question", "啊" * 100_001),
                                          ("similar", ["短", "啊" * 100_001]), ("tags", ["啊" * 100_001]),
                                          ("category", "啊" * 100_001)])
def test_a_field_over_the_api_limit_is_refused_by_every_writer_naming_it(store, make_entry, field, value):
    """The API refused a field over 100,000 characters but the console, the CLI and imports
    saved one, which agents were then served and the API could not take back."""
    with pytest.raises(InvalidEntry) as info:
        store.add({**make_entry("e1"), field: value})
    assert info.value.field == field and "limit is 100000" in str(info.value)
    at_limit = ["啊" * 100_000] if isinstance(value, list) else "啊" * 100_000
    assert store.add({**make_entry("e1"), field: at_limit}).version == 1
    with pytest.raises(InvalidEntry):
        store.update("e1", {field: value})


def test_add_without_question_names_the_field(store):
    with pytest.raises(InvalidEntry) as info:
        store.add({"answer": "x"})
    assert info.value.field == "question"
    assert store.count() == 0


@pytest.mark.parametrize("bad", ["tab\tid", "new\nline", "two words", "wide\u3000space", "bell\x07",
                                 "zero\u200bwidth", "del\x7f", "ｔａｂ\tｉｄ"])
def test_an_id_with_a_space_or_control_character_names_the_field(store, make_entry, bad):
    with pytest.raises(InvalidEntry) as info:
        store.add(make_entry(bad))
    assert info.value.field == "id" and repr(bad) in str(info.value)
    with pytest.raises(InvalidEntry):
        store.import_entries([validate(make_entry(bad))])
    assert store.count() == 0


def test_a_full_width_id_is_stored_half_width(store, make_entry):
    assert store.add(make_entry(" ＡＢ１－ｘ ")).id == "AB1-x"
    assert store.get("AB1-x").question == "运费怎么算"
    assert validate({"id": "ｋ００１"})["id"] == "k001"


def test_update_with_invalid_status_names_the_field(store, make_entry):
    store.add(make_entry("e1"))
    with pytest.raises(InvalidEntry) as info:
        store.update("e1", {"status": "deleted"})
    assert info.value.field == "status"
    assert store.get("e1").status == "published"


def test_update_valid_to_before_existing_valid_from_is_rejected(store, make_entry):
    """The window check must also hold when only one end of it is edited."""
    store.add(make_entry("e1", valid_from="2024-06-01"))
    with pytest.raises(InvalidEntry) as info:
        store.update("e1", {"valid_to": "2024-05-01"})
    assert info.value.field == "valid_to"
    assert store.get("e1").valid_to is None


def test_valid_to_equal_to_valid_from_date_is_accepted():
    out = validate({"question": "q", "answer": "a", "valid_from": "2024-06-01", "valid_to": "2024-06-01"})
    assert out["valid_to"] == "2024-06-01"


# -- validity window ----------------------------------------------------------------------

def _e(**kw) -> Entry:
    return Entry(id="e", question="q", answer="a", **kw)


def test_is_active_without_window():
    assert _e().is_active(datetime(2024, 5, 1, 12))


def test_is_active_requires_published():
    now = datetime(2024, 5, 1, 12)
    assert not _e(status="draft").is_active(now)
    assert not _e(status="archived").is_active(now)


def test_is_active_valid_from():
    e = _e(valid_from="2024-05-01")
    assert not e.is_active(datetime(2024, 4, 30, 23, 59, 59))
    assert e.is_active(datetime(2024, 5, 1, 0, 0, 0))
    assert e.is_active(datetime(2024, 5, 2))


def test_is_active_date_only_valid_to_is_inclusive():
    e = _e(valid_to="2024-05-01")
    assert e.is_active(datetime(2024, 5, 1, 0, 0))
    assert e.is_active(datetime(2024, 5, 1, 12, 0))
    assert e.is_active(datetime(2024, 5, 1, 23, 59, 59))
    assert not e.is_active(datetime(2024, 5, 2, 0, 0, 0))


def test_is_active_date_only_valid_to_includes_the_last_second_fraction():
    # 23:59:59.5 is still on 2024-05-01, so an inclusive date-only end must accept it.
    e = _e(valid_to="2024-05-01")
    assert e.is_active(datetime(2024, 5, 1, 23, 59, 59, 500_000))


def test_is_active_datetime_valid_to_is_exact():
    e = _e(valid_from="2024-05-01T09:00:00", valid_to="2024-05-01T18:00:00")
    assert not e.is_active(datetime(2024, 5, 1, 8, 59))
    assert e.is_active(datetime(2024, 5, 1, 9, 0))
    assert e.is_active(datetime(2024, 5, 1, 18, 0))
    assert not e.is_active(datetime(2024, 5, 1, 18, 0, 1))


@pytest.fixture
def berlin():
    """Local time is Europe/Berlin (UTC+1 in November), so offsets visibly convert."""
    import os
    import time

    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize("given, stored", [
    ("2026-11-29", "2026-11-29"),
    ("  2026-11-29 ", "2026-11-29"),
    ("2026-11-29T10:00", "2026-11-29T10:00:00"),
    ("2026-11-29 10:00:30", "2026-11-29T10:00:30"),
    ("2026-11-29T10:00:00.250", "2026-11-29T10:00:00.250000"),
    # With an offset: kept, not converted to the writer's local time (Berlin here), which
    # a reader in another time zone would take for its own.
    ("2026-11-29T10:00:00+08:00", "2026-11-29T10:00:00+08:00"),
    ("2026-11-29t10:00z", "2026-11-29T10:00:00+00:00"),
    ("2026-11-30 01:00-05:30", "2026-11-30T01:00:00-05:30"),
])
def test_validity_bounds_are_stored_in_one_form(berlin, store, make_entry, given, stored):
    out = validate({"valid_from": given, "valid_to": given})
    assert out["valid_from"] == out["valid_to"] == stored
    assert store.add(make_entry("e1", valid_to=given)).valid_to == stored
    assert store.get("e1").valid_to == stored


@pytest.mark.parametrize("given, stored", [
    ("２０２６－１１－２９", "2026-11-29"),
    ("2026-11-29 20：00", "2026-11-29T20:00:00"),
    ("２０２６－１１－２９Ｔ２０：００＋０８：００", "2026-11-29T20:00:00+08:00"),
    ("２０２６－１１－２９\u3000２０：００", "2026-11-29T20:00:00"),  # the full-width space: an import took it
])
def test_full_width_validity_bounds_are_stored_half_width(store, make_entry, given, stored):
    """A Chinese input method in full-width mode types ２０２６－１１－２９ and 20：00; they
    were refused as not a date, though an id typed so is stored half-width."""
    assert validate({"valid_to": given})["valid_to"] == stored
    assert store.add(make_entry("e1", valid_from=given)).valid_from == stored


@pytest.mark.parametrize("given, stored", [
    ("2026/11/29", "2026-11-29"), ("2026/3/1 9:05", "2026-03-01T09:05:00"), ("2026.11.29", "2026-11-29"),
    ("2026年11月29日", "2026-11-29"), ("2026年11月29号 20:00", "2026-11-29T20:00:00"),
    ("２０２６/１１/２９ 20：00", "2026-11-29T20:00:00"),
])
def test_validity_bounds_as_a_spreadsheet_writes_them_are_stored_in_one_form(store, make_entry, given, stored):
    """An import read 2026/11/29, 2026.11.29 and 2026年11月29日 (as Excel and editors write
    dates), but `kefu add`, the API and the console refused what the same editor typed
    there: every way in reads the same forms, and stores them as an import does."""
    assert validate({"valid_to": given})["valid_to"] == stored
    assert store.add(make_entry("e1", valid_from=given)).valid_from == stored


@pytest.mark.parametrize("bad", ["11月11日", "11.11", "12/12 20:00"])
def test_a_validity_bound_without_its_year_asks_for_it_whoever_gives_it(bad):
    with pytest.raises(InvalidEntry) as info:
        validate({"valid_to": bad})
    year = datetime.now().year
    assert info.value.field == "valid_to" and info.value.reason.startswith(f"has no year: {bad!r} (write it as {year}-")


@pytest.mark.parametrize("bad, reason", [
    ("2026-02-30", "no such day: '2026-02-30' (2026-02 has 28 days)"),
    ("2026/11/31", "no such day: '2026/11/31' (2026-11 has 30 days)"),
    ("2026年2月29日", "no such day: '2026年2月29日' (2026-02 has 28 days)"),
    ("2026-02-30T10:00", "no such day: '2026-02-30T10:00' (2026-02 has 28 days)"),
    ("2026/13/29", "no such day: '2026/13/29' (there is no month 13)"),
    ("2026-13-01", "no such day: '2026-13-01' (there is no month 13)"),
])
def test_a_bound_in_a_form_kefu_reads_on_no_such_day_says_so(store, make_entry, bad, reason):
    """2026-02-30 was refused as "not an ISO date", though it is in ISO form: it is no day."""
    with pytest.raises(InvalidEntry) as info:
        store.add(make_entry("e1", valid_to=bad))
    assert (info.value.field, info.value.reason) == ("valid_to", reason)
    store.add(make_entry("e1", valid_to="2028-02-29"))  # a leap day is one


@pytest.mark.parametrize("bad", ["20261129", "2026-W48-7", "2026-333", "2026-11-29T10", "2026-11-29T1000",
                                 "29.11.2026", "2026-11-29T25:00", "tomorrow", "2026-11-29T10:00+8"])
@pytest.mark.parametrize("field", ["valid_from", "valid_to"])
def test_validity_bounds_other_than_a_date_or_iso_date_time_name_the_field(store, make_entry, bad, field):
    with pytest.raises(InvalidEntry) as info:
        store.add(make_entry("e1", **{field: bad}))
    assert info.value.field == field and repr(bad) in str(info.value) and "YYYY-MM-DD" in str(info.value)
    assert store.count() == 0


def _in_zone(zone: str) -> None:
    import os
    import time

    os.environ["TZ"] = zone
    time.tzset()


def test_a_bound_with_an_offset_is_one_instant_whoever_writes_and_reads_it(berlin, store, make_entry):
    """The CLI in one time zone and `kefu serve` in another: a bound written with +08:00
    was stored as the writer's local time without a zone, which the server then read in
    its own zone, 8 hours off."""
    _in_zone("Asia/Shanghai")
    store.add(make_entry("e1", valid_to="2026-11-30T18:00+08:00"))
    _in_zone("UTC")
    store.add(make_entry("e2", question="另一个问题", valid_to="2026-11-30T18:00+08:00"))
    e1, e2 = store.get("e1"), store.get("e2")
    assert e1.valid_to == e2.valid_to == "2026-11-30T18:00:00+08:00"
    # Read by a server in UTC: 18:00 in Beijing is 10:00 UTC.
    assert e1.is_active(datetime(2026, 11, 30, 9, 59)) and not e1.is_active(datetime(2026, 11, 30, 10, 1))
    _in_zone("Asia/Shanghai")  # and by one in Beijing: 18:00 local
    assert e1.is_active(datetime(2026, 11, 30, 17, 59)) and not e1.is_active(datetime(2026, 11, 30, 18, 1))
    # A bound without an offset stays local time: the shop's, in whichever process reads it.
    store.update("e2", {"valid_to": "2026-11-30T18:00"})
    assert store.get("e2").valid_to == "2026-11-30T18:00:00"
    assert store.get("e2").is_active(datetime(2026, 11, 30, 17, 59))


def test_a_valid_to_with_an_offset_ends_at_that_moment(berlin):
    # 10:00 in Beijing is 03:00 in Berlin: at 05:00 Berlin time the entry has expired.
    e = Entry(id="e", question="q", answer="a", **validate({"valid_to": "2026-11-29T10:00:00+08:00"}))
    assert e.is_active(datetime(2026, 11, 29, 2, 59))
    assert not e.is_active(datetime(2026, 11, 29, 5, 0))


def test_bounds_an_older_kefu_stored_still_read_and_revert(berlin, store, make_entry):
    """Stored before validation was strict: compact dates and offsets, read as their writer meant."""
    assert _e(valid_to="20261129").is_active(datetime(2026, 11, 29, 23, 0))  # a whole day, inclusive
    assert not _e(valid_to="2026-11-29T10:00:00+08:00").is_active(datetime(2026, 11, 29, 5, 0))
    store.add(make_entry("e1"))
    store.db.execute("update entries set valid_from = '20261101', valid_to = '20261129'")
    store.db.execute("""update history set after = json_set(after, '$.valid_from', '20261101',
                                                                    '$.valid_to', '20261129')""")
    store.db.conn.commit()
    edited = store.update("e1", {"answer": "改过的答案"})  # an edit of another field keeps them
    assert (edited.valid_from, edited.valid_to) == ("20261101", "20261129")
    reverted = store.revert("e1", 1)
    assert (reverted.answer, reverted.valid_from, reverted.valid_to) == (
        "满99元包邮，不满收10元运费。", "2026-11-01", "2026-11-29")


# -- import ----------------------------------------------------------------------------------

def test_import_adds_new_entries(store, shop_entries):
    report = store.import_entries(shop_entries, author="importer")
    assert sorted(report.added) == sorted(e["id"] for e in shop_entries)
    assert report.counts() == {"added": 5, "updated": 0, "unchanged": 0, "skipped": 0, "pruned": 0}
    assert store.count() == 5
    h = store.history("ship")
    assert [(c.version, c.action, c.author) for c in h] == [(1, "import", "importer")]


def test_import_on_conflict_error_is_all_or_nothing(store, make_entry):
    store.add(make_entry("e1"))
    batch = [
        make_entry("new1", question="怎么退货", answer="七天无理由"),
        make_entry("e1", answer="改过的答案"),  # conflicts with the stored e1
        make_entry("new2", question="能开发票吗", answer="可以"),
    ]
    with pytest.raises(DuplicateEntry) as info:
        store.import_entries(batch, on_conflict="error", where="faq.jsonl")
    assert info.value.entry_id == "e1"
    assert "faq.jsonl" in str(info.value)
    # Nothing from the batch was stored, not even the entry before the conflict.
    assert store.count() == 1
    assert [e.id for e in store.entries()] == ["e1"]
    assert store.get("e1").answer == "满99元包邮，不满收10元运费。"
    assert store.get("e1").version == 1
    assert store.db.execute("select count(*) from history").fetchone()[0] == 1


def test_import_invalid_item_stores_nothing(store, make_entry):
    batch = [make_entry("new1", question="怎么退货"), {"id": "bad", "question": "没有答案"}]
    with pytest.raises(InvalidEntry):
        store.import_entries(batch)
    assert store.count() == 0


def test_store_still_writable_after_failed_import(store, make_entry):
    store.add(make_entry("e1"))
    with pytest.raises(DuplicateEntry):
        store.import_entries([make_entry("e1", answer="不同")])
    store.add(make_entry("e2", question="怎么退货"))
    assert store.count() == 2


def test_import_on_conflict_update(store, make_entry):
    store.add(make_entry("e1"), author="alice")
    report = store.import_entries(
        [make_entry("e1", answer="全场包邮。"), make_entry("e2", question="怎么退货")],
        on_conflict="update", author="importer")
    assert report.updated == ["e1"]
    assert report.added == ["e2"]
    e1 = store.get("e1")
    assert e1.answer == "全场包邮。"
    assert e1.version == 2
    last = store.history("e1")[-1]
    assert (last.action, last.author) == ("import", "importer")
    assert last.before["answer"] == "满99元包邮，不满收10元运费。"


def test_import_on_conflict_skip(store, make_entry):
    store.add(make_entry("e1"))
    report = store.import_entries(
        [make_entry("e1", answer="全场包邮。"), make_entry("e2", question="怎么退货")], on_conflict="skip")
    assert report.skipped == ["e1"]
    assert report.added == ["e2"]
    assert store.get("e1").answer == "满99元包邮，不满收10元运费。"
    assert store.get("e1").version == 1


def test_import_rejects_unknown_on_conflict(store, make_entry):
    with pytest.raises(ValueError):
        store.import_entries([make_entry("e1")], on_conflict="overwrite")
    assert store.count() == 0


def test_reimporting_identical_data_reports_unchanged(store, shop_entries):
    store.import_entries(shop_entries)
    hash_before = store.published_hash()
    report = store.import_entries(shop_entries, on_conflict="error")
    assert sorted(report.unchanged) == sorted(e["id"] for e in shop_entries)
    assert report.counts() == {"added": 0, "updated": 0, "unchanged": 5, "skipped": 0, "pruned": 0}
    assert all(store.get(e["id"]).version == 1 for e in shop_entries)
    assert store.published_hash() == hash_before


def test_entries_without_id_are_matched_by_question(store, make_entry):
    first = store.import_entries([make_entry(question="运费怎么算", answer="满99包邮")])
    assert len(first.added) == 1
    eid = first.added[0]
    again = store.import_entries([make_entry(question="运费怎么算", answer="满99包邮")])
    assert again.unchanged == [eid]
    changed = store.import_entries([make_entry(question="运费怎么算", answer="全场包邮")],
                                   on_conflict="update")
    assert changed.updated == [eid]
    assert store.count() == 1
    assert store.get(eid).answer == "全场包邮"


def test_import_without_id_conflict_error_raises(store, make_entry):
    store.import_entries([make_entry(question="运费怎么算", answer="满99包邮")])
    with pytest.raises(DuplicateEntry):
        store.import_entries([make_entry(question="运费怎么算", answer="全场包邮")])
    assert store.entries()[0].answer == "满99包邮"


def test_a_second_live_entry_with_the_same_standard_question_is_refused(store, make_entry):
    """`kefu add` and an import row with a new id made a second 能开增值税专用发票吗？ beside k088."""
    store.add(make_entry("k088", question="能开增值税专用发票吗？", answer="可以开。"))
    for question in ("能开增值税专用发票吗？", "能開增值稅專用發票嗎", "能开 增值税专用发票吗?"):
        with pytest.raises(DuplicateQuestion) as info:
            store.add(make_entry(question=question, answer="另一个答案"))
        assert info.value.entry_id == "k088" and info.value.field == "question"
    with pytest.raises(DuplicateQuestion, match="f.csv, line 2, field 'question': .*entry 'k088'"):
        store.import_entries([make_entry("new1", question="能开增值税专用发票吗？", answer="另一个答案")],
                             places=["f.csv, line 2"])
    skipped = store.import_entries([make_entry("new1", question="能开增值税专用发票吗？", answer="另一个答案")],
                                   on_conflict="skip")
    assert skipped.skipped == ["new1"] and store.count() == 1
    store.add(make_entry("e2", question="怎么退货", answer="订单页申请。"))
    with pytest.raises(DuplicateQuestion):
        store.update("e2", {"question": "能開增值稅專用發票嗎？"})
    store.add(make_entry("old", question="能开增值税专用发票吗", answer="旧的。", status="archived"))  # archived: no conflict


def test_a_row_without_id_finds_its_entry_by_the_normalised_question(store, make_entry):
    """A traditional-script row added a second entry beside k088 (matching was exact)."""
    store.add(make_entry("k088", question="能开增值税专用发票吗？", answer="可以开。"))
    with pytest.raises(DuplicateEntry, match="matches entry 'k088'"):  # the spelling would change
        store.import_entries([make_entry(question="能開增值稅專用發票嗎？", answer="可以开。")])
    report = store.import_entries([make_entry(question="能开增值税专用发票吗", answer="可以开专票。")],
                                  on_conflict="update")
    assert report.updated == ["k088"] and store.get("k088").answer == "可以开专票。" and store.count() == 1


def test_a_row_without_id_matching_two_live_entries_names_both(store, make_entry):
    """Made before kefu refused them: the keyless update hit the lowest rowid only."""
    store.add(make_entry("a1", question="能开发票吗", answer="可以。"))
    store.add(make_entry("a2", question="怎么退货", answer="订单页。"))
    store.db.execute("update entries set question = '能开发票吗？' where id = 'a2'")  # as an older kefu allowed
    with pytest.raises(DuplicateQuestion, match="entry 'a2' .*entry 'a1'"):
        store.import_entries([make_entry(question="能开发票吗", answer="不可以。")], on_conflict="update")


# -- listing ------------------------------------------------------------------------------

def test_entries_filters(store, shop_entries):
    store.import_entries(shop_entries)
    store.update("invoice", {"status": "draft"})
    assert [e.id for e in store.entries(status="draft")] == ["invoice"]
    assert [e.id for e in store.entries(category="售后")] == ["return"]
    assert [e.id for e in store.entries(tag="物流")] == ["ship"]
    assert [e.id for e in store.entries(text="发票")] == ["invoice"]
    assert len(store.entries(limit=2)) == 2
    assert store.entries(limit=2, offset=1)[0].id == sorted(e["id"] for e in shop_entries)[1]


@pytest.mark.parametrize("typed, stored", [("售後", "售后"), ("投訴", "投诉"), ("帳戶", "账户"), ("賬戶", "账户"),
                                           ("帐户", "账户"), ("售前", "售前"), ("會員服務", "會員服務")])
def test_standard_categories_in_traditional_script_are_stored_by_their_standard_name(store, make_entry,
                                                                                     typed, stored):
    assert store.add(make_entry("e1", category=typed)).category == stored  # a shop's own stays as written
    assert store.update("e1", {"category": typed}).category == stored


def test_list_filters_compare_category_and_text_in_simplified_script(store, make_entry):
    store.add(make_entry("k088", question="可以开专票吗", answer="可以，请提供税号。", category="售中"))
    store.add(make_entry("tw", question="可以退貨嗎", answer="簽收七天內可以退。", similar=["能不能退換"],
                         category="售后"))
    # stored before categories were normalised
    store.db.execute("update entries set category = '售後' where id = 'tw'")
    store.db.conn.commit()
    for category in ("售后", "售後"):
        assert [e.id for e in store.entries(category=category)] == ["tw"]
        assert store.count(category=category) == 1
    assert [e.id for e in store.entries(text="專票")] == ["k088"]
    assert [e.id for e in store.entries(text="专票")] == ["k088"]
    assert [e.id for e in store.entries(text="退货")] == ["tw"]  # question, traditional in the store
    assert [e.id for e in store.entries(text="退换")] == ["tw"]  # a similar question
    assert [e.id for e in store.entries(text="签收")] == ["tw"]  # the answer
    assert store.count(text="專票") == 1


def test_list_filters_compare_full_width_letters_and_digits_as_half_width(store, make_entry):
    """`kefu list --text ７－１１` (typed with a Chinese input method) found nothing, nor --tag
    ＶＩＰ: the filters compared in simplified script but not half-width, as search does."""
    store.add(make_entry("tw", question="能在7-11取貨嗎", answer="可以。", tags=["VIP"]))
    store.add(make_entry("fw", question="ＶＩＰ会员包邮吗", answer="包邮。", tags=["ＶＩＰ"]))
    for text in ("７－１１", "7-11"):
        assert [e.id for e in store.entries(text=text)] == ["tw"] and store.count(text=text) == 1
    for text in ("vip", "ＶＩＰ", "ｖｉｐ"):
        assert [e.id for e in store.entries(text=text)] == ["fw"]
    for tag in ("VIP", "ＶＩＰ"):
        assert [e.id for e in store.entries(tag=tag)] == ["fw", "tw"] and store.count(tag=tag) == 2
    assert store.entries(text="％") == []  # a full-width % is a literal %, no wildcard


def test_the_text_filter_finds_entries_holding_every_word_typed(store, make_entry):
    """`kefu list --text "云朵枕 现货"` (and the console's search box) found nothing: the
    words were searched as one text, space included, which no entry holds. Each word must be
    in the question, a similar question or the answer, in any of them and in any order."""
    store.add(make_entry("p1", question="云朵枕有现货吗", answer="有现货，48小时内发货。"))
    store.add(make_entry("p2", question="云朵枕怎么洗", answer="冷水手洗。", similar=["云朵枕现在有货吗"]))
    store.add(make_entry("p3", question="羽绒被有现货吗", answer="有现货。"))
    store.add(make_entry("p4", question="云朵枕会变形吗", answer="不会。", similar=["现货发什么快递"]))
    for text in ("云朵枕 现货", "现货  云朵枕", "云朵枕　現貨"):  # two spaces, a full-width one, traditional
        assert [e.id for e in store.entries(text=text)] == ["p1", "p4"] and store.count(text=text) == 2
    assert [e.id for e in store.entries(text="云朵枕 冷水")] == ["p2"]  # one word in the question, one in the answer
    assert store.entries(text="云朵枕 羽绒被") == []


def test_the_text_filter_takes_a_pasted_paragraph_of_many_words(store, make_entry):
    """Each word a condition of its own made a pasted paragraph of a thousand words a
    query SQLite refuses (Expression tree is too large): the console's list answered 500.
    A word typed twice counts once, and a text of more words than anyone types as a
    search is searched as it is, as it always was."""
    store.add(make_entry("p1", question="云朵枕有现货吗", answer="Sorry we are out of stock for now."))
    store.add(make_entry("p2", question="羽绒被有现货吗", answer="有现货。"))
    assert [e.id for e in store.entries(text=" ".join(["云朵枕"] * 300))] == ["p1"]
    pasted = " ".join(f"w{i}" for i in range(1200))
    assert store.entries(text=pasted) == [] and store.count(text=pasted) == 0
    # more words than a search has: as it is, so the words of p1's answer among others find nothing
    assert store.entries(text="Sorry we are out of stock " + " ".join(f"w{i}" for i in range(20))) == []
    assert [e.id for e in store.entries(text="stock Sorry")] == ["p1"]
    store.add(make_entry("p3", question="能寄到国外吗", answer=" ".join(f"w{i}" for i in range(30))))
    assert [e.id for e in store.entries(text=" ".join(f"w{i}" for i in range(5, 25)))] == ["p3"]


def test_the_tag_filter_compares_in_simplified_script(store, make_entry):
    """`kefu list --tag 运费` left out the entries tagged 運費 (the sample's Taiwan and Hong
    Kong entries), while --category and --text compare in simplified script."""
    store.add(make_entry("cn", question="运费多少", tags=["运费"]))
    store.add(make_entry("tw", question="運費怎麼算", tags=["台灣", "運費"]))
    store.add(make_entry("other", question="多久发货", tags=["发货"]))
    for tag in ("运费", "運費", " 运费 "):
        assert [e.id for e in store.entries(tag=tag)] == ["cn", "tw"]
        assert store.count(tag=tag) == 2



def test_the_tag_filter_ignores_the_case_of_latin_letters(store, make_entry):
    """`--tag ezway` (and the console's tag box) found nothing tagged EZWay, the sample's
    Taiwan customs app, while the text filter ignores the case of Latin letters (LIKE):
    an editor typing a tag in lower case was told no entry has it."""
    store.add(make_entry("tw", question="要申報EZWay嗎", tags=["EZWay", "台灣"]))
    store.add(make_entry("vip", question="会员价", tags=["ＶＩＰ"]))
    store.add(make_entry("other", question="多久发货", tags=["发货"]))
    for tag in ("ezway", "EZWAY", "ＥＺＷＡＹ"):
        assert [e.id for e in store.entries(tag=tag)] == ["tw"] and store.count(tag=tag) == 1
    assert [e.id for e in store.entries(tag="vip")] == ["vip"]
    assert store.entries(tag="ezwa") == []  # a whole tag, as before: not a part of one

# -- terms ----------------------------------------------------------------------------------

def test_terms_add_and_remove(store):
    assert store.terms() == []
    added = store.add_terms(["闪电退款", " 顺丰包邮 ", "闪电退款"], author="alice")
    assert added.added == ["闪电退款", "顺丰包邮"] and added.existing == {"闪电退款": "闪电退款"}
    assert store.terms() == sorted(["闪电退款", "顺丰包邮"])
    assert store.add_terms(["闪电退款"]).added == []
    assert store.remove_terms(["闪电退款", "不存在"]) == 1
    assert store.terms() == ["顺丰包邮"]


@pytest.mark.parametrize("bad", ["", "   ", "运费 险", "运费\t险", "运费\u3000险", "小米·手环", "运费险（新）", "a/b"])
def test_an_empty_term_or_one_with_a_space_is_an_error_naming_it_and_adds_nothing(store, bad):
    with pytest.raises(InvalidTerm) as info:
        store.add_terms(["闪电退款", bad])
    assert info.value.term == bad and repr(bad) in str(info.value)
    assert store.terms() == []


def test_a_term_longer_than_a_word_is_an_error_naming_its_length(store):
    """A pasted sentence without punctuation was stored as one "term": one token that
    matches nothing but the sentence itself."""
    from kefu.kb.text import MAX_TERM

    store.add_terms(["雪" * MAX_TERM])
    sentence = ("我想问一下这件衣服洗了以后会不会缩水如果缩水了能不能退换" * 2)[:MAX_TERM + 1]
    with pytest.raises(InvalidTerm, match=f"has {MAX_TERM + 1} characters; the limit is {MAX_TERM}"):
        store.add_terms(["运费险", sentence])
    assert store.terms() == ["雪" * MAX_TERM]


def test_a_term_with_a_character_segmentation_splits_at_could_never_match(tmp_path):
    """小米·手环 was accepted, and jieba still cut 小米·手环怎么充电 into 小米 / 手环."""
    from kefu.kb.text import Segmenter

    seg = Segmenter(tmp_path / "cache", terms=["小米·手环"])
    assert "小米·手环" not in seg.split("小米·手环怎么充电")[0]  # why such a term is refused


def test_terms_are_stored_normalised_and_one_spelling_removes_the_term(store):
    first = store.add_terms(["运费险", "abc牌"])
    again = store.add_terms(["運費險", "ＡＢＣ牌", "ABC牌", "七天無理由"])
    assert first.added == ["运费险", "abc牌"]
    assert again.added == ["七天无理由"]
    assert again.existing == {"運費險": "运费险", "ＡＢＣ牌": "abc牌", "ABC牌": "abc牌"}
    assert store.terms() == ["abc牌", "七天无理由", "运费险"]
    assert store.remove_terms(["運費險", "ＡＢＣ牌"]) == 2
    assert store.terms() == ["七天无理由"]


def test_removing_an_empty_term_is_refused_as_adding_one_is(store):
    """`kefu terms remove ' '` said "note:   is not a term" and exited 0."""
    store.add_terms(["运费险"])
    with pytest.raises(InvalidTerm, match="is empty"):
        store.remove_terms(["运费险", " "])
    assert store.terms() == ["运费险"]  # nothing removed


def test_terms_stored_as_typed_by_an_older_kefu_are_normalised_on_open(tmp_path):
    s = Store.open(tmp_path / "kefu.db")
    for word in ("運費險", "运费险", "ＡＢＣ牌", "顺丰"):
        s.db.execute("insert into terms (word, added_at, author) values (?, '2026-01-01', 'old')", [word])
    s.db.execute("delete from _migrations where name = 'm011_normalise_terms'")
    s.db.conn.commit()
    s.close()
    s = Store.open(tmp_path / "kefu.db")
    try:
        assert s.terms() == ["abc牌", "运费险", "顺丰"]
        assert s.remove_terms(["運費險"]) == 1 and s.terms() == ["abc牌", "顺丰"]
    finally:
        s.close()


def test_an_upgrade_that_fails_half_way_leaves_the_store_as_it_was_and_can_run_again(tmp_path, make_entry,
                                                                                       monkeypatch):
    """A migration is all or nothing: m017 rebuilds the learned table in several statements,
    and one that failed half-way (a full disk, a killed process) left its new table
    committed, so the next open failed ("table learned_new already exists") and the store
    could not be opened at all."""
    from kefu.kb import migrations

    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    upto = names.index("m017_learned_ids_never_reused")
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
        s = Store.open(tmp_path / "kefu.db")  # a store of a kefu before m017
        s.add(make_entry("e1"))
        s.close()
    # m017 fails as it drops the old table (the disk full, say), after it made and filled the new one.
    conn = sqlite3.connect(tmp_path / "kefu.db")
    conn.set_authorizer(lambda action, arg1, *rest: sqlite3.SQLITE_DENY
                        if action == sqlite3.SQLITE_DROP_TABLE and arg1 == "learned" else sqlite3.SQLITE_OK)
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        Store(sqlite_utils.Database(conn))
    conn.close()
    db = sqlite3.connect(tmp_path / "kefu.db")
    assert "learned_new" not in {r[0] for r in db.execute("select name from sqlite_master")}
    db.close()
    s = Store.open(tmp_path / "kefu.db")  # the upgrade runs again, whole
    try:
        assert s.get("e1").question == "运费怎么算"
        assert "m017_learned_ids_never_reused" in {r["name"] for r in s.db["_migrations"].rows}
    finally:
        s.close()


def test_terms_change_published_hash(store, make_entry):
    store.add(make_entry("e1"))
    h0 = store.published_hash()
    store.add_terms(["闪电退款"])
    h1 = store.published_hash()
    assert h1 != h0
    store.remove_terms(["闪电退款"])
    assert store.published_hash() == h0


def test_published_hash_is_not_recomputed_for_writes_the_index_does_not_hold(store, make_entry, monkeypatch):
    # Serving logs every suggestion; re-hashing every entry after each log write cost
    # ~13 ms a request at 10k entries.
    from kefu.kb.feedback import FeedbackLog

    store.add(make_entry("e1"))
    h0 = store.published_hash()
    computed = []
    real = Store._published_hash
    monkeypatch.setattr(Store, "_published_hash", lambda self: computed.append(1) or real(self))
    log = FeedbackLog(store.db)
    for _ in range(3):
        log.record_suggestion("在吗", [], "simplified", "greeting", True, [], [])
        assert store.published_hash() == h0
    assert computed == []
    store.update("e1", {"answer": "全场包邮。"})
    assert store.published_hash() != h0
    assert computed == [1]


def test_writes_through_another_connection_are_seen(tmp_path, make_entry):
    # Several server processes share one store: the markers are set by triggers, so an
    # edit made through one connection invalidates what the others cached.
    from kefu.kb.importers.records import Passage

    first, second = Store.open(tmp_path / "kefu.db"), Store.open(tmp_path / "kefu.db")
    try:
        first.add(make_entry("e1"))
        h0, p0, c0 = first.published_hash(), first.passages_hash(), first.passage_count()
        second.update("e1", {"answer": "全场包邮。"})
        h1 = first.published_hash()
        assert h1 == second.published_hash() != h0
        second.add_terms(["闪电退款"])
        assert first.published_hash() == second.published_hash() != h1
        second.import_entries([], source="退货政策.pdf",
                              passages=[Passage("退货政策.pdf", 0, "七天无理由退货。", "售后", 1)])
        assert (first.passage_count(), c0) == (1, 0)
        assert first.passages_hash() == second.passages_hash() != p0
    finally:
        first.close()
        second.close()


def test_two_connections_writing_at_once_take_turns(tmp_path, make_entry):
    # Two server processes save at the same moment. A write transaction that read before
    # taking the write lock could not wait for the other: "database is locked" at once.
    import threading

    first, second = Store.open(tmp_path / "kefu.db"), Store.open(tmp_path / "kefu.db")
    try:
        first.add(make_entry("e1"))
        first.add(make_entry("e2", "怎么退货"))
        done, errors = threading.Event(), []

        def other_saves():
            try:
                second.update("e2", {"answer": "七天无理由。"})
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            done.set()
        other = threading.Thread(target=other_saves)
        read = first.get

        def get_then_let_the_other_save(entry_id):
            entry = read(entry_id)
            other.start()
            done.wait(0.5)  # the other commits now, unless it has to wait for this one
            return entry
        first.get = get_then_let_the_other_save
        try:
            first.update("e1", {"answer": "全场包邮。"})
        finally:
            first.get = read
            other.join(40)
        assert errors == []
        assert (second.get("e1").answer, first.get("e2").answer) == ("全场包邮。", "七天无理由。")
    finally:
        first.close()
        second.close()


def test_published_state_is_what_the_published_hash_is_made_of(store, make_entry):
    store.add(make_entry("e1"))
    store.add(make_entry("e2", "怎么退货", status="draft"))
    store.add_terms(["运费险"])
    state = store.published_state()
    assert state.hash == store.published_hash() == Store._published_hash(store)
    assert state.entries == {"e1": store.get("e1").content_hash()}
    store.add_terms(["闪电退款"])
    assert store.published_state().terms != state.terms


def test_a_snapshot_sees_the_store_as_of_its_first_read(tmp_path, make_entry):
    first, second = Store.open(tmp_path / "kefu.db"), Store.open(tmp_path / "kefu.db")
    try:
        first.add(make_entry("e1"))
        with first.snapshot():
            before = first.published_hash()
            second.update("e1", {"answer": "全场包邮。"})
            assert first.get("e1").answer != "全场包邮。"
            assert first.published_hash() == before
        assert first.get("e1").answer == "全场包邮。" and first.published_hash() != before
    finally:
        first.close()
        second.close()


def test_backup_to_a_missing_folder_names_it(tmp_path, make_entry):
    from kefu.kb.errors import KefuError

    live = Store.open(tmp_path / "kefu.db")
    live.add(make_entry("e1"))
    live.close()
    with pytest.raises(KefuError, match="nope"):
        backup(tmp_path / "kefu.db", tmp_path / "nope" / "b.db")


def test_published_hash_ignores_drafts(store, make_entry):
    store.add(make_entry("e1"))
    h0 = store.published_hash()
    store.add(make_entry("d1", question="草稿", status="draft"))
    assert store.published_hash() == h0
    store.update("e1", {"answer": "新答案"})
    assert store.published_hash() != h0


# -- backup / restore -------------------------------------------------------------------------

def test_backup_and_restore_round_trip(tmp_path, make_entry):
    db = tmp_path / "kefu.db"
    bak = tmp_path / "kefu.bak"
    s = Store.open(db)
    s.add(make_entry("e1"), author="alice")
    s.update("e1", {"answer": "全场包邮。"}, author="bob")
    s.add_terms(["闪电退款"])
    snapshot = ([e.to_dict() for e in s.entries()], s.history("e1"), s.terms(), s.published_hash())
    backup(db, bak)  # while the store is open
    # Changes after the backup...
    s.add(make_entry("e2", question="怎么退货"))
    s.update("e1", {"answer": "不包邮。"})
    s.remove_terms(["闪电退款"])
    s.close()
    # ...are undone by restoring it.
    restore(bak, db)
    s = Store.open(db)
    try:
        restored = ([e.to_dict() for e in s.entries()], s.history("e1"), s.terms(), s.published_hash())
        assert restored == snapshot
        s.add(make_entry("e3", question="能开发票吗"))  # still a working store
        assert s.count() == 2
    finally:
        s.close()


def test_a_store_kept_open_during_a_restore_sees_the_restored_content(tmp_path, make_entry):
    db, bak = tmp_path / "kefu.db", tmp_path / "kefu.bak"
    live = Store.open(db)  # a running server
    try:
        live.add(make_entry("e1"))
        at_backup = live.published_hash()
        backup(db, bak)
        live.update("e1", {"answer": "不包邮。"})
        assert live.published_hash() != at_backup
        restore(bak, db)
        assert live.published_hash() == at_backup
        assert live.get("e1").answer == make_entry("e1")["answer"]
    finally:
        live.close()


def test_restoring_leaves_nothing_beside_the_backup_and_reads_a_copy_made_in_use(tmp_path, make_entry):
    """Restoring opened the backup (WAL mode, as its store) with SQLite, read-only, which
    left FILE-wal and FILE-shm beside the user's file. A backup made while the store is in
    use, by `backup` or by copying the store and its -wal, is still read whole."""
    import shutil

    db, saved, copied = tmp_path / "kefu.db", tmp_path / "saved", tmp_path / "copied"
    saved.mkdir(), copied.mkdir()
    live = Store.open(db)  # a running server
    try:
        live.add(make_entry("e1"))
        backup(db, saved / "kefu.bak")
        live.update("e1", {"answer": "不包邮。"})
        assert db.with_name("kefu.db-wal").stat().st_size > 0  # the last change is in the log alone
        shutil.copyfile(db, copied / "kefu.db")
        shutil.copyfile(db.with_name("kefu.db-wal"), copied / "kefu.db-wal")
        live.add(make_entry("e2", question="怎么退货"))
        for folder, answer in ((saved, make_entry("e1")["answer"]), (copied, "不包邮。")):
            files = {p.name: p.read_bytes() for p in folder.iterdir()}
            restore(folder / sorted(files)[0], db)
            assert {p.name: p.read_bytes() for p in folder.iterdir()} == files, folder
            assert [(e.id, e.answer) for e in live.iter_published()] == [("e1", answer)]
    finally:
        live.close()


def test_restoring_a_backup_of_an_older_schema_migrates_it(tmp_path, make_entry):
    import sqlite3

    db, bak = tmp_path / "kefu.db", tmp_path / "old.bak"
    s = Store.open(bak)
    s.add(make_entry("e1"))
    s.close()
    old = sqlite3.connect(bak)  # as kefu wrote it before the change markers existed
    for (name,) in old.execute("select name from sqlite_master where type = 'trigger'").fetchall():
        old.execute(f"drop trigger {name}")
    old.execute("drop table changes")
    old.execute("delete from _migrations where name = 'm009_create_change_markers'")
    old.commit()
    old.close()
    live = Store.open(db)
    try:
        live.add(make_entry("e2", question="怎么退货"))
        restore(bak, db)
        assert [e.id for e in live.iter_published()] == ["e1"]
        h = live.published_hash()
        live.update("e1", {"answer": "全场包邮。"})  # the restored store has its triggers again
        assert live.published_hash() != h
    finally:
        live.close()


def test_backup_counts_its_steps_and_finishes_while_the_store_is_written(tmp_path, make_entry, monkeypatch):
    """A backup said the store's size, then nothing until done (17 s for 1.4 GB). It now
    copies in steps with a running count, in one read transaction: a step of its own sees
    each write meanwhile and starts the copy over, which a busy panel never lets finish."""
    import kefu.kb.store as store_module

    db, bak = tmp_path / "kefu.db", tmp_path / "kefu.bak"
    s = Store.open(db)
    s.add(make_entry("e1"), author="alice")
    s.add_terms([f"词{i:04d}" + "长" * 25 for i in range(1500)])  # pages enough for several steps
    monkeypatch.setattr(store_module, "BACKUP_STEP_PAGES", 8)
    seen = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        assert len(seen) < 1000, "the copy keeps starting over"
        s.add(make_entry(f"w{len(seen)}", question=f"问题{len(seen)}"), author="panel")  # the panel writes meanwhile

    backup(db, bak, progress=progress)
    size = os.path.getsize(bak)
    assert len(seen) > 2 and [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (size, size)
    assert [e.id for e in Store.open(bak).entries()] == ["e1"]  # the store as it was when the backup began
    s.close()


def test_backup_file_is_a_working_store(tmp_path, make_entry):
    db = tmp_path / "kefu.db"
    s = Store.open(db)
    s.add(make_entry("e1"))
    backup(db, tmp_path / "copy.db")
    s.close()
    copy = Store.open(tmp_path / "copy.db")
    try:
        assert copy.get("e1").question == "运费怎么算"
    finally:
        copy.close()


def _sqlite_with_a_table(table):
    def make(path):
        import sqlite3

        c = sqlite3.connect(path)
        c.execute(f"create table {table} (x)")
        c.commit()
        c.close()
        return path
    return make


@pytest.mark.parametrize("junk", [lambda p: p.write_bytes(b"this is not sqlite" * 100) and p,
                                  lambda p: p.write_bytes(b"") or p,  # `touch empty.db`
                                  _sqlite_with_a_table("entries"),  # not kefu's entries
                                  _sqlite_with_a_table("foo")])  # another program's database
def test_restore_rejects_a_file_that_is_not_a_backup(tmp_path, make_entry, junk):
    db = tmp_path / "kefu.db"
    s = Store.open(db)
    s.add(make_entry("e1"))
    s.close()
    bad = tmp_path / "junk.bak"
    junk(bad)
    with pytest.raises(KefuError, match="not a kefu backup"):
        restore(bad, db)
    assert not (tmp_path / ".restore-check.db").exists()
    s = Store.open(db)
    try:
        assert s.get("e1").question == "运费怎么算"
    finally:
        s.close()


def _store_with_pages(db, make_entry, n=150):
    s = Store.open(db)
    for i in range(n):
        s.add(make_entry(f"e{i}", question=f"第{i}个问题怎么处理", answer="很长的答案。" * 40))
    return s


def test_restore_refuses_a_damaged_backup_and_keeps_the_store(tmp_path, make_entry):
    db, bak = tmp_path / "kefu.db", tmp_path / "kefu.bak"
    s = _store_with_pages(db, make_entry)
    backup(db, bak)
    s.add(make_entry("after", question="备份之后加的"))
    s.close()
    raw = bytearray(bak.read_bytes())
    middle = len(raw) // 2 // 4096 * 4096
    raw[middle:middle + 4096] = bytes(range(256)) * 16  # one page of garbage
    bak.write_bytes(bytes(raw))
    with pytest.raises(KefuError, match="damaged|not a kefu backup"):
        restore(bak, db)
    s = Store.open(db)
    try:
        assert s.get("after").question == "备份之后加的" and s.count() == 151
    finally:
        s.close()


def test_restoring_an_older_backup_leaves_no_lock_file_behind(tmp_path, make_entry):
    db, bak = tmp_path / "kefu.db", tmp_path / "kefu.bak"
    s = _store_with_pages(db, make_entry, 2)
    backup(db, bak)
    s.close()
    old = sqlite3.connect(bak)
    old.execute("delete from _migrations where name = 'm014_learn_decisions'")
    old.execute("drop table learn_decisions")
    old.commit()
    old.close()
    restore(bak, db)
    assert [p.name for p in tmp_path.iterdir() if "restore" in p.name] == []  # kefu.db's own lock stays


def test_a_restore_that_cannot_write_the_data_folder_says_so_and_keeps_the_store(tmp_path, make_entry):
    """The backup is copied into the data folder to be checked: a full disk there was
    reported as "No space left on device: BACKUP", as if the backup could not be read."""
    import resource
    import signal

    (tmp_path / "data").mkdir()
    db, bak = tmp_path / "data" / "kefu.db", tmp_path / "kefu.bak"
    s = _store_with_pages(db, make_entry, 40)
    backup(db, bak)
    s.add(make_entry("after", question="备份之后加的"))
    s.close()
    # Writing past this size fails (EFBIG) as a full disk does (ENOSPC), in any folder.
    limit = bak.stat().st_size // 2
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        with pytest.raises(KefuError) as caught:
            restore(bak, db)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    message = str(caught.value)
    assert f"data folder {tmp_path / 'data'}" in message and "the store was not changed" in message
    assert "cannot read the backup" not in message
    assert [p.name for p in (tmp_path / "data").iterdir() if "restore" in p.name] == []
    s = Store.open(db)
    try:
        assert s.get("after").question == "备份之后加的"
    finally:
        s.close()


def _damaged_after_backup(tmp_path, make_entry) -> tuple[Path, Path, bytes]:
    """A store of 3 entries backed up to kefu.bak, then its first bytes zeroed (SQLite
    cannot read it): the store, the backup and the damaged bytes."""
    db, bak = tmp_path / "kefu.db", tmp_path / "kefu.bak"
    s = _store_with_pages(db, make_entry, 3)
    backup(db, bak)
    s.close()
    raw = bytearray(db.read_bytes())
    raw[:16] = bytes(16)
    db.write_bytes(bytes(raw))
    return db, bak, bytes(raw)


def test_restore_replaces_a_store_sqlite_cannot_read(tmp_path, make_entry):
    """The store's first bytes are gone: every command says to restore a backup, so that must work."""
    db, bak, _ = _damaged_after_backup(tmp_path, make_entry)
    restore(bak, db)
    s = Store.open(db)
    try:
        assert s.count() == 3 and s.get("e2").question == "第2个问题怎么处理"
    finally:
        s.close()


def test_restore_over_a_store_sqlite_cannot_read_keeps_the_damaged_file_aside(tmp_path, make_entry):
    """The damaged store and its -wal were deleted: what could still be saved of them
    (its last transactions are in the -wal) was gone for good."""
    db, bak, raw = _damaged_after_backup(tmp_path, make_entry)
    (tmp_path / "kefu.db-wal").write_bytes(b"the damaged store's log")
    (tmp_path / "kefu.db-shm").write_bytes(b"its index")
    aside = restore(bak, db)
    assert aside is not None and aside.parent == tmp_path and aside.name.startswith("kefu.db.damaged-")
    assert aside.read_bytes() == raw and Path(f"{aside}-wal").read_bytes() == b"the damaged store's log"
    assert not (tmp_path / "kefu.db-shm").exists() or (tmp_path / "kefu.db-shm").read_bytes() != b"its index"
    s = Store.open(db)
    try:
        assert s.count() == 3
    finally:
        s.close()
    # once more (in the same second): the first copy is not overwritten
    db.write_bytes(bytes(raw))
    again = restore(bak, db)
    assert again != aside and again.read_bytes() == bytes(raw) and aside.exists()
    assert restore(bak, db) is None  # a readable store: copied into, nothing set aside


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_backup_refuses_the_files_sqlite_keeps_beside_the_store(tmp_path, make_entry, suffix):
    """`kefu backup kefu.db-wal --force` said "backed up", and SQLite deleted the file on
    close: with a server running, its last transactions could go with it."""
    db = tmp_path / "kefu.db"
    s = Store.open(db)
    s.add(make_entry("e1"))
    side = tmp_path / f"kefu.db{suffix}"
    existed = side.exists() and side.read_bytes()
    try:
        with pytest.raises(KefuError, match="is a file SQLite keeps beside the store"):
            backup(db, tmp_path / "." / side.name)
        assert (side.exists() and side.read_bytes()) == existed
        assert s.get("e1").question == "运费怎么算"
    finally:
        s.close()


@pytest.mark.parametrize("name", ["kefu #1.bak", "kefu?v2.bak", "kefu%20v3.bak"])
def test_restore_from_a_path_with_uri_special_characters(tmp_path, make_entry, name):
    """'#', '?' and '%' are legal in file names; restore must not read them as URI syntax."""
    db = tmp_path / "kefu.db"
    bak = tmp_path / name
    s = Store.open(db)
    s.add(make_entry("e1"))
    backup(db, bak)
    s.add(make_entry("e2", question="怎么退货"))
    s.close()
    restore(bak, db)
    s = Store.open(db)
    try:
        assert [e.id for e in s.entries()] == ["e1"]
    finally:
        s.close()


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path):
    """A server and CLI commands after an upgrade: each migration is applied once, under a lock."""
    import subprocess
    import sys
    import time

    code = ("import sys, time\nfrom kefu.kb.store import Store\nstart = float(sys.argv[2])\n"
            "while time.time() < start: pass\ns = Store.open(sys.argv[1]); print(s.count()); s.close()")
    start = time.time() + 3  # past every child's imports: they open together
    children = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "kefu.db"), str(start)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(5)]
    outcomes = [(c.wait(timeout=120), c.stdout.read().strip(), c.stderr.read()[-300:]) for c in children]
    assert all(code == 0 and out == "0" for code, out, _ in outcomes), outcomes



def _newer_kefu_store(path, make_entry):
    """A store a newer kefu wrote: a migration this one lacks added a column to entries."""
    s = Store.open(path)
    s.add(make_entry("n1", question="新版本的问题"))
    s.close()
    c = sqlite3.connect(path)
    c.execute("alter table entries add column owner text")
    c.execute("insert into _migrations (name, applied_at) values ('m999_entries_owner', '2030-01-01')")
    c.commit()
    c.close()
    return path


def test_restore_refuses_a_backup_made_by_a_newer_kefu_and_keeps_the_store(tmp_path, make_entry):
    """It restored, exit 0, and every command then failed reading `select *` from entries."""
    db = tmp_path / "kefu.db"
    s = Store.open(db)
    s.add(make_entry("e1"))
    s.close()
    bak = _newer_kefu_store(tmp_path / "newer.bak", make_entry)
    with pytest.raises(KefuError, match=r"newer\.bak was made by a newer kefu \(migration m999_entries_owner\); "
                                        r"upgrade kefu"):
        restore(bak, db)
    assert [p.name for p in tmp_path.iterdir() if "restore" in p.name] == []
    s = Store.open(db)
    try:
        assert [e.id for e in s.entries()] == ["e1"]
    finally:
        s.close()


def test_restore_over_a_store_of_a_newer_kefu_is_refused_and_keeps_it(tmp_path, make_entry):
    """`kefu restore` read nothing of the live store before replacing it: an older kefu put
    its backup over a newer kefu's store without a word (it cannot read that store to warn
    of the edits it loses), though every other command refuses that store."""
    from kefu.kb.errors import StoreTooNew

    bak = tmp_path / "kefu.bak"
    s = Store.open(bak)
    s.add(make_entry("e1"))
    s.close()
    db = _newer_kefu_store(tmp_path / "kefu.db", make_entry)
    before = db.read_bytes()
    with pytest.raises(StoreTooNew, match=r"kefu\.db was made by a newer kefu \(migration m999_entries_owner\); "
                                          r"upgrade kefu, or .*move .*kefu\.db.* aside.*the store was not changed"):
        restore(bak, db)
    assert db.read_bytes() == before
    # Nothing left beside it either: reading a WAL store read-only made a -wal and a -shm
    # that a read-only connection cannot remove when it closes.
    assert [p.name for p in tmp_path.iterdir() if "restore" in p.name] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kefu.bak", "kefu.bak-migrate.lock", "kefu.db",
                                                          "kefu.db-migrate.lock"]


def test_opening_a_store_of_a_newer_kefu_is_refused(tmp_path, make_entry):
    from kefu.kb.errors import StoreTooNew

    db = _newer_kefu_store(tmp_path / "kefu.db", make_entry)
    with pytest.raises(StoreTooNew, match=r"kefu\.db was made by a newer kefu \(migration m999_entries_owner\)"):
        Store.open(db)


def test_a_store_of_a_newer_kefu_in_another_journal_mode_is_refused_untouched(tmp_path, make_entry):
    """Store.open switched the file to WAL (its header rewritten) and left a lock file beside
    it before it refused the store: a newer kefu's store, or its backup copied in as
    kefu.db, was changed by the kefu that refused it."""
    from kefu.kb.errors import StoreTooNew

    db = _newer_kefu_store(tmp_path / "kefu.db", make_entry)
    c = sqlite3.connect(db)
    c.execute("pragma journal_mode=delete")
    c.close()
    (tmp_path / "kefu.db-migrate.lock").unlink()  # the newer kefu's, as a copied-in backup has none
    before = db.read_bytes()
    with pytest.raises(StoreTooNew, match=r"kefu\.db was made by a newer kefu \(migration m999_entries_owner\)"):
        Store.open(db)
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kefu.db"]


def test_restoring_a_backup_of_another_page_size(tmp_path, make_entry):
    """SQLite's backup API refused a WAL store as destination of a file with another page
    size: restore failed with "attempt to write a readonly database"."""
    db, bak = tmp_path / "kefu.db", tmp_path / "big-pages.bak"
    s = Store.open(bak)
    s.add(make_entry("e1"))
    s.close()
    c = sqlite3.connect(bak)
    c.execute("pragma journal_mode=delete")
    c.execute("pragma page_size=16384")
    c.execute("vacuum")
    c.close()
    live = Store.open(db)
    try:
        live.add(make_entry("e2", question="怎么退货"))
        restore(bak, db)
        assert [e.id for e in live.entries()] == ["e1"]
        assert live.db.execute("pragma journal_mode").fetchone()[0] == "wal"
        live.add(make_entry("e3", question="能开发票吗"))
    finally:
        live.close()
    assert bak.stat().st_size and sqlite3.connect(bak).execute("pragma page_size").fetchone()[0] == 16384


def test_backup_names_the_store_when_it_cannot_be_read(tmp_path):
    """A garbled store blamed the destination: "cannot write the backup DEST"."""
    db = tmp_path / "kefu.db"
    db.write_bytes(b"this is not sqlite" * 300)
    with pytest.raises(KefuError, match=r"cannot read the store .*kefu\.db: file is not a database"):
        backup(db, tmp_path / "b.db")
    assert list(tmp_path.iterdir()) == [db]


def test_a_read_only_folder_whose_log_has_no_shared_memory_file_is_refused_not_read_without_it(
        tmp_path, make_entry, monkeypatch):
    """A folder this user cannot write is read as immutable when it has no -shm beside a
    -wal: the log's committed transactions were left out without a word, and a backup made
    from there lacked them (here the entry e2 and the edit of e1)."""
    import shutil

    (tmp_path / "live").mkdir()
    s = Store.open(tmp_path / "live" / "kefu.db")
    s.add(make_entry("e1"))
    s.db.execute("pragma wal_checkpoint(truncate)")
    s.db.execute("pragma wal_autocheckpoint=0")
    s.add(make_entry("e2", question="多久发货"))
    s.update("e1", {"answer": "新的答案"})
    copy = tmp_path / "copy"  # a copy made while the store is in use, without its -shm
    copy.mkdir()
    shutil.copy(tmp_path / "live" / "kefu.db", copy / "kefu.db")
    shutil.copy(tmp_path / "live" / "kefu.db-wal", copy / "kefu.db-wal")
    s.close()
    monkeypatch.setattr("kefu.kb.store.os.access", lambda path, mode: not mode & os.W_OK)  # read-only
    with pytest.raises(KefuError, match=r"copy/kefu\.db-wal holds changes not yet in kefu\.db, and reading them "
                                        r"needs kefu\.db-shm"):
        backup(copy / "kefu.db", tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists()


def test_backup_overwrites_any_file_and_refuses_the_store_itself(tmp_path, make_entry):
    """--force over a file that is not SQLite failed ("file is not a database"); a backup
    onto the store itself said "backed up" and did nothing."""
    db = tmp_path / "kefu.db"
    s = Store.open(db)
    s.add(make_entry("e1"))
    s.close()
    dest = tmp_path / "exist.txt"
    dest.write_text("notes\n", encoding="utf-8")
    backup(db, dest)
    assert Store.open(dest).get("e1").question == "运费怎么算"
    with pytest.raises(KefuError, match="is the store itself"):
        backup(db, tmp_path / "." / "kefu.db")


def test_a_backup_killed_half_way_leaves_no_file_at_its_name(tmp_path, make_entry, monkeypatch):
    """kill -9 during a backup left a full-size file (and its journal) at DEST that later
    looked like a backup and restored badly. The copy is made under a temporary name."""
    db, dest = tmp_path / "kefu.db", tmp_path / "b.db"
    _store_with_pages(db, make_entry, 20).close()
    seen = []
    connect = sqlite3.connect

    class Dying:
        """A connection whose backup dies (as on kill -9) once every page is copied."""

        def __init__(self, *args, **kwargs):
            self.conn = connect(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.conn, name)

        def backup(self, target, **kwargs):
            self.conn.backup(getattr(target, "conn", target), **kwargs)
            seen.append(sorted(p.name for p in tmp_path.iterdir()))
            raise KeyboardInterrupt
    monkeypatch.setattr(sqlite3, "connect", Dying)
    with pytest.raises(KeyboardInterrupt):
        backup(db, dest)
    assert "b.db" not in seen[0] and ".b.db.partial" in seen[0]
    assert not dest.exists()


def test_two_backups_to_one_file_at_once_never_write_into_each_others_copy(tmp_path, make_entry):
    """Two backups to one FILE at once (a nightly cron job and an admin's, or a slow run
    still going when the next starts) shared `.FILE.partial`: the second deleted the first's
    half-made copy and wrote its own there, the first moved that half-made copy to FILE, and
    one or both ended in SQLite's misleading `disk I/O error`. The second is refused at once."""
    db, dest = tmp_path / "kefu.db", tmp_path / "b.db"
    _store_with_pages(db, make_entry, 20).close()
    refused = []

    def second_backup() -> None:
        with pytest.raises(KefuError, match="another backup") as caught:
            backup(db, dest)
        refused.append(str(caught.value))
    backup(db, dest, started=second_backup)
    assert refused and str(dest) in refused[0]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("b.db", ".b.db"))) == ["b.db"]
    copy = Store.open(dest)
    assert copy.get("e19").question == "第19个问题怎么处理"
    copy.close()
    backup(db, dest)  # the next one is not refused


def test_one_function_says_where_now_stands_to_a_validity_window():
    """The CLI's list, the console's list and its hit test each checked the window their
    own way (the CLI and the console in opposite orders); kb.entry decides it once."""
    from datetime import datetime

    from kefu.kb.entry import nearest_inside, window_state

    now = datetime(2026, 11, 29, 12, 0)
    assert window_state(None, None, now) is None and nearest_inside(None, None, now) is None
    assert window_state("2026-11-29", "2026-11-29", now) is None  # a date is the whole day
    assert window_state(None, "2026-11-29T11:59:59", now) == "expired"
    assert nearest_inside(None, "2026-11-29T11:59:59", now) == datetime(2026, 11, 29, 11, 59, 59)
    assert window_state("2026-11-30", "2026-12-01", now) == "not_yet"
    assert nearest_inside("2026-11-30", "2026-12-01", now) == datetime(2026, 11, 30)
    assert nearest_inside(None, "2026-11-28", now) == datetime.combine(datetime(2026, 11, 28).date(),
                                                                       datetime.max.time())


def test_bounds_an_older_kefu_stored_are_migrated_to_the_one_stored_form(monkeypatch):
    """An older kefu stored any fromisoformat bound (20261129, 2026-11-29 18:00); the
    store returned them as they were, breaking the API's documented pattern for an
    entry's valid_from and valid_to. A migration rewrites them in today's form (the same
    moments), with their content hashes; a bound it cannot read is left as it is."""
    import re

    from kefu.kb import migrations
    from kefu.kb.entry import in_window
    from kefu.web.openapi import SPEC

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:names.index("m020_stored_validity_bounds")])
        migrations.apply(db)  # a store as it was before
    old = {"20261129": "2026-11-29", "2026-11-29 18:00": "2026-11-29T18:00:00",
           "2026-11-29T18:00+08:00": "2026-11-29T18:00:00+08:00", "2026-11-29T18:00Z": "2026-11-29T18:00:00+00:00"}
    for n, bound in enumerate([*old, "not a date"]):
        db["entries"].insert({"id": f"e{n}", "question": f"问{n}", "answer": "答", "similar": "[]", "tags": "[]",
                              "category": "其他", "status": "published", "valid_from": None, "valid_to": bound,
                              "version": 1, "content_hash": "x"})
    windows = {r[0]: in_window(None, r[1]) for r in db.execute("select id, valid_to from entries where id != 'e4'")}
    store = Store(db)
    pattern = SPEC["components"]["schemas"]["Entry"]["properties"]["valid_to"]["pattern"]
    for n, want in enumerate(old.values()):
        entry = store.get(f"e{n}")
        assert entry.valid_to == want and re.search(pattern, want)
        assert in_window(None, entry.valid_to) == windows[entry.id]
        assert db.execute("select content_hash from entries where id = ?", [entry.id]).fetchone()[0] \
            == entry.content_hash()
    assert store.get("e4").valid_to == "not a date"
    for name in ("valid_from", "valid_to"):  # a request's forms: all that normalize_when reads
        said = SPEC["components"]["schemas"]["Entry"]["properties"][name]["description"]
        assert "a space instead of T" in said and "fractions of a second" in said and "full width" in said


def test_migrating_old_bounds_rewrites_history_too_and_reads_only_its_columns(monkeypatch):
    """m020 rewrote an entry's bounds and content hash but not its history: the current
    version's `after` then hashed differently from the entry, and the console's conflict
    page lost its "changed since" diff for every migrated entry. It also read rows through
    Store._entry, so a column a later kefu adds would have made it crash on old stores."""
    from kefu.kb import migrations
    from kefu.kb.entry import content_hash

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:names.index("m020_stored_validity_bounds")])
        old = Store(db)
        old.add({"id": "k1", "question": "双十一定金怎么退", "answer": "定金不退哦", "valid_from": "2026-11-01"})
        old.update("k1", {"valid_to": "2026-11-29T18:00"})
    # what an older kefu stored: the bounds as typed, in the entry and in its history rows
    db.execute("update entries set valid_from = '20261101', valid_to = '2026-11-29 18:00'")
    for rowid, before, after in db.execute("select rowid, before, after from history").fetchall():
        typed = {}
        for name, text in (("before", before), ("after", after)):
            content = json.loads(text) if text else None
            if content:
                content.update(valid_from="20261101", valid_to=content["valid_to"] and "2026-11-29 18:00")
            typed[name] = json.dumps(content, ensure_ascii=False) if content else text
        db.execute("update history set before = ?, after = ? where rowid = ?", [typed["before"], typed["after"], rowid])
    db.execute("alter table entries add column later text")  # a column m020 does not know
    migrations.apply(db)
    db.execute("alter table entries drop column later")  # this kefu's Store does not know it either
    store = Store(db)
    entry = store.get("k1")
    assert (entry.valid_from, entry.valid_to) == ("2026-11-01", "2026-11-29T18:00:00")
    changes = store.history("k1")
    assert content_hash(changes[-1].after) == entry.content_hash() \
        == db.execute("select content_hash from entries").fetchone()[0]
    assert changes[-1].before["valid_to"] is None and changes[-1].before["valid_from"] == "2026-11-01"
    assert changes[0].after["valid_from"] == "2026-11-01"


def test_a_result_derived_from_the_log_before_a_restore_is_not_kept_after_it(tmp_path, make_entry):
    """A statistics or gaps load counting the store a restore replaced kept its result
    afterwards; the restored log's marker (its highest ids) may be the same. The restore
    moves the log's generation, which those keys hold and `keep_mined` checks."""
    from kefu.kb.store import log_generation

    db, bak = tmp_path / "kefu.db", tmp_path / "kefu.bak"
    s = Store.open(db)
    try:
        s.add(make_entry("e1"), author="alice")
        backup(db, bak)
        backed_up = log_generation(s.db)
        s.keep_mined("kept", [1], generation=backed_up)
        assert s.mined("kept") == [1]
        restore(bak, db)  # while a load reads the store, from this connection
        assert log_generation(s.db) not in (backed_up, "")
        s.keep_mined("counted before", [2], generation=backed_up)
        assert s.mined("counted before") is None and s.mined("kept") is None
    finally:
        s.close()


# -- one phrasing, one entry ---------------------------------------------------------------

def test_a_similar_question_that_is_another_entrys_phrasing_is_refused_naming_it(store, make_entry):
    """怎么申请开发票？ added to a returns entry as a similar question was saved without a word,
    and that message then went to returns ahead of the invoice entry."""
    from kefu.kb.errors import DuplicateSimilar, error_detail

    store.add(make_entry("invoice", question="怎么申请开发票？", similar=["发票怎么开"]))
    store.add(make_entry("return", question="怎么退货", similar=["我要退货"]))
    with pytest.raises(DuplicateSimilar) as info:  # another script, no mark: one question still
        store.update("return", {"similar": ["我要退货", "怎麼申請開發票"]})
    assert (info.value.field, info.value.entry_id, info.value.taken_as) == ("similar", "invoice", "question")
    assert str(info.value) == ("field 'similar': similar question '怎麼申請開發票' is already the standard question "
                               "of entry 'invoice' ('怎么申请开发票？'): one phrasing can lead to one entry only; "
                               "remove it from one of them")
    assert error_detail(info.value)["code"] == "conflict" and error_detail(info.value)["id"] == "invoice"
    with pytest.raises(DuplicateSimilar, match="is already a similar question of entry 'invoice'"):
        store.add(make_entry("r2", question="退货地址", similar=["發票怎麼開？"]))
    with pytest.raises(DuplicateSimilar) as info:  # the other way round: a question that is a similar one
        store.add(make_entry("r3", question="发票怎么开", answer="另一个答案"))
    assert (info.value.field, info.value.taken_as) == ("question", "similar")
    assert store.get("return").similar == ["我要退货"] and store.count() == 2


@pytest.mark.parametrize("window, state, said", [
    ({"valid_to": "2020-01-01"}, "expired", "which has expired (valid_to 2020-01-01): renew it with a later valid_to"),
    ({"valid_from": "2999-01-01"}, "not_yet", "which is not valid yet (valid_from 2999-01-01): change its valid_from"),
    ({"status": "draft"}, "draft", "which is a draft, never suggested: publish it (status published)"),
])
def test_a_phrasing_an_unsuggested_entry_holds_is_refused_saying_so(store, make_entry, window, state, said):
    """A similar question held by an expired campaign entry was refused naming the entry and
    nothing more, as a standard question was before DuplicateQuestion said the state: the
    editor, who took it for gone, learnt neither why nor that renewing it is the way."""
    from kefu.kb.errors import DuplicateSimilar

    store.add(make_entry("sale", question="双十一满减怎么算", similar=["满减规则"], **window))
    store.add(make_entry("fresh", question="满减活动"))
    with pytest.raises(DuplicateSimilar) as info:
        store.update("fresh", {"similar": ["满减规则"]})
    assert (info.value.entry_id, info.value.state) == ("sale", state)
    assert str(info.value) == ("field 'similar': similar question '满减规则' is already a similar question of entry "
                               f"'sale' ('双十一满减怎么算'), {said} {DuplicateSimilar.INSTEAD}")
    with pytest.raises(DuplicateSimilar, match=r"which .* rather than giving the phrasing") as info:
        store.add(make_entry("q2", question="满减规则"))  # as a standard question too
    assert info.value.state == state
    from kefu.web.messages import reason_zh  # the console's translation of the same (an import's problem)
    zh = reason_zh(info.value.reason)
    assert "条目 sale" in zh and {"expired": "已过期", "not_yet": "还未生效", "draft": "草稿"}[state] in zh, zh


def test_only_live_entries_hold_a_phrasing_and_one_brought_back_is_checked(store, make_entry):
    """As for a standard question: an archived entry's phrasing is free; an archived entry
    brought back may not take a phrasing a live entry has meanwhile."""
    from kefu.kb.errors import DuplicateSimilar

    store.add(make_entry("old", question="旧的运费规则", similar=["运费多少"]))
    store.archive("old")
    store.add(make_entry("now", question="运费怎么算", similar=["运费多少"]))
    with pytest.raises(DuplicateSimilar, match="entry 'now'"):
        store.update("old", {"status": "published"})
    store.update("now", {"status": "draft"})  # a draft holds it too
    with pytest.raises(DuplicateSimilar, match="entry 'now'"):
        store.update("old", {"status": "published"})


def test_an_overlap_stored_before_does_not_block_editing_the_entry(store, make_entry):
    from kefu.kb.entry import validate

    rows = [validate(make_entry("a", question="运费怎么算", similar=["运费多少"])),
            validate(make_entry("b", question="偏远地区运费", similar=["运费多少"]))]
    report = store.import_entries(rows)
    assert report.added == ["a", "b"] and store.get("b").similar == ["运费多少"]
    assert report.notes == ["entry 'b': similar question '运费多少' is already a similar question of entry 'a' "
                            "('运费怎么算'): one phrasing can lead to one entry only; remove it from one of them"]
    assert store.update("b", {"answer": "新疆西藏另收运费。", "similar": ["运费多少", "新疆运费"]}).version == 2


def test_an_import_row_with_another_entrys_phrasing_is_kept_and_named_in_the_notes(store, make_entry):
    """An editor's own add or edit is refused a phrasing another entry has; a file is taken
    as written: the row is not lost for it (skipping it dropped its answer too), and the
    notes name the row and the other entry so the editor can fix one of them."""
    from kefu.kb.entry import validate

    store.add(make_entry("invoice", question="能开发票吗", similar=["发票怎么开"]))
    rows = [validate(make_entry(None, question="怎么退货", similar=["能開發票嗎？"])),
            validate(make_entry(None, question="退货运费", similar=["退货邮费"])),
            validate(make_entry(None, question="退货要多久", similar=["退货邮费"]))]
    places = ["faq.csv, line 2", "faq.csv, line 3", "faq.csv, line 4"]
    report = store.import_entries(rows, where="faq.csv", places=places)
    assert len(report.added) == 3 and store.count() == 4
    first, second = [n for n in report.notes if "one phrasing can lead to one entry only" in n]
    assert first.startswith("faq.csv, line 2: ") and \
        "similar question '能開發票嗎？' is already the standard question of entry 'invoice' ('能开发票吗')" in first
    assert second.startswith("faq.csv, line 4: new entry '退货要多久': ") \
        and "is already a similar question of new entry '退货运费' (from line 3 of this file)" in second


def test_an_import_names_an_earlier_row_without_an_id_by_its_question_not_a_made_id(store, make_entry):
    """A row sharing a phrasing (or a question) with an earlier row without an id was told
    "entry 'k56c889c7'": an id made for that row, another in a dry run than in the real
    run, and nowhere in the file. The earlier row is named by its question and place."""
    from kefu.kb.entry import validate
    from kefu.kb.errors import DuplicateQuestion, error_detail
    from kefu.web.messages import import_note_zh, problem_zh

    rows = [validate(make_entry(None, question="退货运费", similar=["退货邮费"])),
            validate(make_entry(None, question="退货要多久", similar=["退货邮费"]))]
    places = ["faq.csv, line 2", "faq.csv, line 3"]
    said = ("similar question '退货邮费' is already a similar question of new entry '退货运费' (from line 2 of this "
            "file): one phrasing can lead to one entry only; remove it from one of them")
    preview = store.import_entries(rows, where="faq.csv", places=places, dry_run=True).notes
    assert preview == store.import_entries(rows, where="faq.csv", places=places).notes \
        == [f"faq.csv, line 3: new entry '退货要多久': {said}"]
    assert "新条目'退货运费'（本文件第 2 行）的相似问法" in import_note_zh(preview[0])
    with pytest.raises(DuplicateQuestion) as info:  # a new id with the question of a row without one
        store.import_entries([validate(make_entry(None, question="换货地址")),
                              validate(make_entry("x1", question="換貨地址"))], where="faq.csv", places=places)
    assert str(info.value).startswith("faq.csv, line 3, field 'question': '換貨地址' is also the standard question "
                                      "of line 2, a new entry (two rows") and "id" not in error_detail(info.value)
    assert "也是本文件第 2 行（新条目）的标准问题" in problem_zh(str(info.value))


def test_a_question_without_words_is_refused():
    from kefu.kb.entry import has_words

    for question in ("？？？", "😅😅", "…… !!", "__"):
        with pytest.raises(InvalidEntry, match="has no words") as info:
            validate({"question": question, "answer": "答"})
        assert info.value.field == "question"
    assert all(has_words(q) for q in ("7天无理由吗？", "VIP?", "12"))


def test_the_similar_questions_left_out_as_the_question_itself_are_named():
    from kefu.kb.entry import same_as_question

    assert same_as_question("能開發票嗎？", ["能开发票吗", "发票怎么开", "能 開 發 票 嗎", ""]) == ["能开发票吗", "能 開 發 票 嗎"]
    assert same_as_question(None, ["能开发票吗"]) == []


def test_the_shipped_corpus_gives_each_phrasing_to_one_entry(store):
    """Four phrasings stood on two sample entries each (超取可以嗎 on the pick-up and the
    pay-at-pick-up entries): the sample imported as a shop's own file failed with four
    conflicts, and a message asking just that matched either."""
    from kefu import corpus
    from kefu.kb.io import read_entries

    report = store.import_entries(read_entries(corpus.ENTRIES))
    assert len(report.added) == len(read_entries(corpus.ENTRIES)) and not report.notes

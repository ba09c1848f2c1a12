"""The statistics counted in parts (`counts`, the closed days kept and only the last two
counted again) give what `usage` counted in one pass over the whole log before they were
(`old_usage` below, as it was), on a randomized log."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kefu.kb.entry import category_names, in_window
from kefu.kb.feedback import answered_hit, retention_cutoff
from kefu.suggest.stats import _LOCAL_DAY, CHIT_CHAT, STAGE, Stats, _period_start, _rate, as_utc, counts, \
    kept_usage, local_day, usage, usage_of

INTENTS = ["presale", "order", "logistics", "aftersale", "greeting", "thanks", None]


def _log(db, entries: list[str], seed: int, now: datetime, days: int = 10) -> None:
    """Suggestions, feedback and learning events over the `days` days before `now`, with
    superseded suggestions, feedback after midnight on a suggestion of the day before,
    "not helpful" rejects, greetings, no-match reports, entries that are gone and replayed
    events of no suggestion."""
    rnd = random.Random(seed)
    ids = []
    rows = []
    for n in range(400):
        at = now - timedelta(seconds=rnd.randrange(days * 86400))
        sid = f"s{seed}-{n}"
        top = rnd.choice(entries + ["gone", None])
        hits = [{"id": top}] if top else []
        drafts = [{"text": "答", "entries": [top]}] if top and rnd.random() < 0.5 else []
        rows.append([sid, at.isoformat(timespec="seconds"), "问", rnd.choice(INTENTS), int(rnd.random() < 0.2),
                     json.dumps(hits), json.dumps(drafts), top,
                     f"s{seed}-{n - 1}" if n and rnd.random() < 0.1 else None])
        ids.append((sid, at, top))
    db.conn.executemany("insert into suggestions (id, at, message, intent, no_match, hits, drafts, top_entry,"
                        " superseded_by) values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for _ in range(500):
        sid, at, top = rnd.choice(ids)
        later = (at + timedelta(seconds=rnd.randrange(1, 2 * 86400))).isoformat(timespec="seconds")
        action = rnd.choice(["accept", "edit", "reject", "no_match"])
        draft = None if action == "no_match" or rnd.random() < 0.2 else rnd.choice([1, 2])
        entry = None if action == "no_match" else rnd.choice([top, None, rnd.choice(entries)])
        db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, text, agent)"
                   " values (?, ?, ?, ?, ?, ?, ?)", [sid, later, action, draft, entry, None, rnd.choice("ab")])
        if entry or action == "no_match":
            db.execute("insert into learn_events (key, at, message, action, entry_id, agent, source, suggestion_id)"
                       " values (?, ?, ?, ?, ?, ?, ?, ?)",
                       [f"k{seed}-{rnd.random()}", later, "问", action, entry, "a", "panel",
                        sid if rnd.random() < 0.9 else None])
    db.conn.commit()


def old_usage(db, since: str | None = None, top: int = 10, kept_days: int | None = None) -> Stats:
    """Usage figures since `since` (a UTC timestamp from `since_utc`; None: all).
    `kept_days`: the retention period, to say when the period asked for starts before it."""
    since_arg = since or ""
    out = Stats(since)
    db.conn.create_function("kefu_local_day", 1, lambda at: local_day(at) if isinstance(at, str) else at,
                            deterministic=True)
    if kept_days is not None and (cutoff := retention_cutoff(kept_days)) > since_arg:
        out.kept_from, out.kept_days = cutoff, kept_days
    # A suggestion superseded by a later one for the same message, as it was typed, was never settled on.
    # Only the top hit's id (its column: m025) and the local day of each, all in one index:
    # a year's log is hundreds of thousands of suggestions, and reading every one's hits and
    # drafts into Python took minutes and gigabytes of memory (their rows, seconds).
    shown = db.execute(f"select id, {_LOCAL_DAY.format('at')}, intent, no_match, top_entry"
                       " from suggestions where at >= ? and superseded_by is null", [since_arg]).fetchall()
    out.shown = len(shown)
    asked = [r for r in shown if r[2] not in CHIT_CHAT]
    out.asked = len(asked)
    out.no_match_rate = _rate(sum(r[3] for r in asked), len(asked))
    acts: dict[str, list[tuple]] = defaultdict(list)
    # Says that teach no entry (a clarifying or two-answer draft used or rejected, "not
    # helpful" on drafts that answered none), so have no learning event: counted from the log.
    untaught: list[tuple[str, str]] = []  # (local day, action)
    said = set()
    for sid, local, action, draft, entry_id, hits, drafts, at, fid in db.execute(
            f"select f.suggestion_id, {_LOCAL_DAY.format('f.at')}, f.action, f.draft, f.entry_id,"
            " case when f.action = 'reject' and f.draft is null then s.hits end,"  # only "not helpful" needs them
            " case when f.action = 'reject' and f.draft is null then s.drafts end, f.at, f.id from feedback f"
            " join suggestions s on s.id = f.suggestion_id where s.at >= ? order by f.id", [since_arg]):
        # Counted as learning counts them: the first say per message, entry and side (a
        # use, accept or edit, of either draft of one entry is one; a reject of the whole
        # list is one of the entry the drafts answer, as Learner.record_feedback keys it),
        # each say on a draft of no one entry.
        if action == "reject" and draft is None:
            entry_id = answered_hit(json.loads(hits or "[]"), json.loads(drafts or "[]"))
        if entry_id is not None or draft is None:
            key = (sid, "use" if action in ("accept", "edit") else action, entry_id)
            if key in said:
                continue
            said.add(key)
        side = "no_match" if action == "no_match" else "use" if action in ("accept", "edit") and entry_id else None
        acts[sid].append((action, draft, side, (at, fid)))
        if entry_id is None and action != "no_match":
            untaught.append((local, action))
    # A suggestion answered with an entry's draft and reported as no match: the later of
    # the two sides (by time, then id) counts, the other not at all.
    for sid, a in acts.items():
        last = {}
        for say in sorted((say for say in a if say[2]), key=lambda say: say[3]):
            last[say[2]] = say[3]
        if len(last) == 2:
            a[:] = [say for say in a if say[2] != ("use" if last["no_match"] > last["use"] else "no_match")]
    out.acted_on = len(acts)
    first = sum(1 for a in acts.values() if any(say[:2] == ("accept", 1) for say in a))
    anyd = sum(1 for a in acts.values() if any(say[0] == "accept" for say in a))
    edited = sum(1 for a in acts.values() if any(say[0] == "edit" for say in a))
    out.acceptance = {"first_draft": _rate(first, len(acts)), "any_draft": _rate(anyd, len(acts)),
                      "edited": _rate(edited, len(acts))}

    last: dict[tuple[str, str], tuple] = {}  # (suggestion, side) -> its latest event's (time, id), whenever
    for event_id, at, action, entry_id, sid in db.execute("select id, at, action, entry_id, suggestion_id"
                                                          " from learn_events where suggestion_id is not null"):
        if action == "no_match" or action in ("accept", "edit") and entry_id:
            key = sid, "no_match" if action == "no_match" else "use"
            last[key] = max(last.get(key, ("", 0)), (at, event_id))

    def overruled(action: str, entry_id: str | None, sid: str | None) -> bool:
        side, other = ("no_match", "use") if action == "no_match" else ("use", "no_match")
        return bool(sid) and (action == "no_match" or action in ("accept", "edit") and bool(entry_id)) \
            and last.get((sid, other), ("", 0)) > last.get((sid, side), ("", 0))

    events = [e for e in db.execute(f"select {_LOCAL_DAY.format('at')}, entry_id, action, suggestion_id"
                                    " from learn_events where at >= ?", [since_arg]).fetchall()
              if not overruled(e[2], e[1], e[3])]
    out.actions = dict(Counter([e[2] for e in events] + [a for _, a in untaught]))
    rows = db.execute("select id, question, category, status, valid_from, valid_to from entries").fetchall()
    every = {r[0]: r[1:4] for r in rows}
    # Published and suggestible at some moment of the period: a window opening later, or
    # one closed before the period began, could not have been accepted in it.
    start = _period_start(since)
    entries = {e: (q, cat) for e, q, cat, status, valid_from, valid_to in rows
               if status == "published" and in_window(valid_from, None)
               and (start is None or in_window(None, valid_to, start))}
    per_entry: dict[str, Counter] = defaultdict(Counter)
    for _, entry_id, action, _ in events:
        if entry_id:
            per_entry[entry_id]["reject" if action == "reject" else "accept"] += 1
    ranked = sorted(per_entry.items(), key=lambda kv: (-kv[1]["accept"], kv[1]["reject"], kv[0]))
    # An entry kefu no longer suggests is marked so (`"archived": true`, `"draft": true`).
    out.top_entries = [{"entry_id": e, "question": every.get(e, ("",))[0], "accepts": c["accept"],
                        "rejects": c["reject"],
                        **({every[e][2]: True} if e in every and every[e][2] in ("archived", "draft") else {})}
                       for e, c in ranked[:top]]
    out.never_used = [{"entry_id": e, "question": q, "category": cat} for e, (q, cat) in sorted(entries.items())
                      if per_entry[e]["accept"] == 0]

    # By the entry's category whatever its status now: archiving an entry must not take
    # its suggestions and actions out of the period's figures (the top entries keep them).
    # A category in either script is one, as the filters compare it (過敏 beside 过敏).
    names = category_names(cat for _, cat, _ in every.values())
    category_of: dict[str, str] = {}  # suggestion -> the category it counts as shown in
    category: dict[str, Counter] = defaultdict(Counter)
    for r in shown:  # a suggestion counts for the category of its top entry, when it had one
        if not r[3] and r[4] in every:
            category_of[r[0]] = names.get(every[r[4]][1], every[r[4]][1])
            category[category_of[r[0]]]["shown"] += 1
    for _, entry_id, action, sid in events:
        if entry_id in every:
            category[names.get(every[entry_id][1], every[entry_id][1])][action] += 1
        elif action == "no_match" and sid in category_of:
            # A report names no entry: it counts where its suggestion counts as shown (an
            # answer of the category's was there, and an agent found it missing).
            category[category_of[sid]][action] += 1
    out.by_category = {k: dict(v) for k, v in sorted(category.items())}
    intent_of = {r[0]: r[2] for r in shown}
    stage: dict[str, Counter] = defaultdict(Counter)
    for r in shown:
        stage[STAGE.get(r[2], r[2] or "?")]["shown"] += 1
    for sid, a in acts.items():
        for action, *_ in a:
            stage[STAGE.get(intent_of.get(sid), "?")][action] += 1
    out.by_stage = {k: dict(v) for k, v in sorted(stage.items())}
    day: dict[str, Counter] = defaultdict(Counter)
    for r in shown:
        day[r[1]]["shown"] += 1
        # kefu's own flag, apart from the agents' "no_match" reports counted below: one
        # message flagged and reported counted twice under one key. Not a greeting's.
        day[r[1]]["no_match_flagged"] += r[3] if r[2] not in CHIT_CHAT else 0
    for local, action in [(e[0], e[2]) for e in events] + untaught:
        day[local][action] += 1
    out.by_day = [{"day": d, **dict(c)} for d, c in sorted(day.items())]
    return out



ZONES = ["UTC0", "CST-8", "EST5EDT", "<+0545>-5:45"]


@pytest.fixture
def logged(kb, shop_entries):
    kb.import_entries(shop_entries, author="test")
    return kb


@pytest.mark.parametrize("zone", ZONES)
def test_counts_of_parts_of_a_period_add_up_to_the_one_pass_count(logged, local_zone, zone):
    local_zone(zone)
    db = logged.store.db
    entries = [e["id"] for e in logged.store.db["entries"].rows]
    now = datetime.now(timezone.utc)
    _log(db, entries, 1, now)
    rnd = random.Random(2)
    for since in [None, as_utc((date.today() - timedelta(days=4)).isoformat()),
                  (now - timedelta(days=6, seconds=rnd.randrange(86400))).isoformat(timespec="seconds")]:
        whole = old_usage(db, since).to_dict()
        assert usage(db, since).to_dict() == whole
        for _ in range(4):
            until = (now - timedelta(seconds=rnd.randrange(10 * 86400))).isoformat(timespec="seconds")
            if until <= (since or ""):
                continue
            parts = [counts(db, since, until), counts(db, until, None)]
            assert usage_of(db, since, parts).to_dict() == whole, (since, until)


def _plans_of_counts(db) -> list[str]:
    """The query plan steps of what `counts` runs to count a day."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        counts(db, "2026-11-01T00:00:00+00:00", "2026-11-02T00:00:00+00:00")
    finally:
        db.conn.set_trace_callback(None)
    return [row[3] for sql in statements if sql.lstrip().lower().startswith("select")
            for row in db.execute("explain query plan " + sql, ["2026-11-01"] * sql.count("?"))]


def test_counting_a_day_reads_its_suggestions_from_an_index_not_their_rows(logged):
    """A day's feedback is found by the day's suggestions, taken by time: with only their
    time indexed, each one's id was read from its row (~5 KB of hits and drafts), half of
    the first statistics load on a year's log. Only a "not helpful" reject reads its
    suggestion's row (by id), for the drafts it answers."""
    _log(logged.store.db, [e["id"] for e in logged.store.db["entries"].rows], 4, datetime.now(timezone.utc))
    by_time = [step for step in _plans_of_counts(logged.store.db)
               if step.startswith(("SEARCH suggestions ", "SEARCH s ")) and "at>" in step]
    assert len(by_time) == 2 and all("COVERING INDEX" in step for step in by_time), by_time


def test_a_store_an_older_kefu_wrote_gets_the_index_statistics_read_the_days_by(monkeypatch):
    """m031: a store migrated from before it has the index on time and id in place of the
    one on time alone, its rows as they were, and a day is counted without its rows."""
    import sqlite_utils

    from kefu.kb import migrations

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in migrations.MIGRATIONS]
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:names.index("m031_index_suggestions_by_time_and_id")])
        migrations.apply(db)  # a store as it was before
    assert ["at"] in [i.columns for i in db["suggestions"].indexes]
    db.execute("insert into suggestions (id, at, message, intent, no_match, hits, drafts)"
               " values ('s1', '2026-11-01T08:00:00+00:00', '问', 'order', 0, '[]', '[]')")
    before = db.execute("select * from suggestions").fetchall()
    migrations.apply(db)
    indexes = [i.columns for i in db["suggestions"].indexes]
    assert ["at", "id"] in indexes and ["at"] not in indexes
    assert db.execute("select * from suggestions").fetchall() == before
    assert [step for step in _plans_of_counts(db) if step.startswith("SEARCH s ") and "COVERING INDEX" in step]


@pytest.mark.parametrize("zone", ["CST-8", "EST5EDT"])
def test_kept_statistics_follow_rows_logged_now_and_rows_dated_back(logged, local_zone, zone):
    """The closed days' counts are kept: a new suggestion is counted with the last two days
    only, and feedback arriving for an older suggestion, or an event replayed with an old
    date, counts the closed days again."""
    local_zone(zone)
    store, db = logged.store, logged.store.db
    entries = [e["id"] for e in db["entries"].rows]
    now = datetime.now(timezone.utc)
    _log(db, entries, 3, now)
    since = as_utc((date.today() - timedelta(days=7)).isoformat())

    def same() -> None:
        for s in (None, since):
            kept, whole = kept_usage(store, s, kept_days=30).to_dict(), old_usage(db, s, kept_days=30).to_dict()
            # the retention cutoff is read from the clock by each: a second may pass between them
            cutoffs = [d.pop("kept_from") for d in (kept, whole)]
            assert cutoffs == [None, None] or abs(datetime.fromisoformat(cutoffs[0]) - datetime.fromisoformat(
                cutoffs[1])) < timedelta(seconds=10)
            assert kept == whole

    same()
    old = db.execute("select id from suggestions where at < ? and superseded_by is null and no_match = 0"
                     " order by at limit 1", [as_utc((date.today() - timedelta(days=3)).isoformat())]).fetchone()[0]
    superseded = db.execute("select id from suggestions where superseded_by is not null limit 1").fetchone()[0]
    # a suggestion whose entry's draft was used on a closed day, reported no match now: that use no longer counts
    used = db.execute("select suggestion_id from learn_events where action in ('accept', 'edit') and entry_id is not null"
                      " and suggestion_id is not null and at < ? and suggestion_id not in (select suggestion_id from"
                      " learn_events where action = 'no_match' and suggestion_id is not null) order by at limit 1",
                      [as_utc((date.today() - timedelta(days=2)).isoformat())]).fetchone()[0]
    stamp = now.isoformat(timespec="seconds")
    for sql, args in [
            ("insert into learn_events (key, at, message, action, agent, source, suggestion_id)"
             " values ('overruling', ?, '问', 'no_match', 'a', 'panel', ?)", [stamp, used]),
            ("insert into suggestions (id, at, message, intent, no_match, hits, drafts, top_entry)"
             " values ('new', ?, '问', 'presale', 0, '[]', '[]', ?)", [stamp, entries[0]]),
            ("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
             " values (?, ?, 'accept', 1, ?, 'a')", [old, stamp, entries[1]]),
            # feedback brings a superseded suggestion back, in one transaction (FeedbackLog.record_feedback)
            ("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
             " values (?, ?, 'edit', 1, ?, 'a'); update suggestions set superseded_by = null where id = ?",
             [superseded, stamp, entries[2], superseded]),
            ("insert into learn_events (key, at, message, action, entry_id, agent, source)"
             " values ('replayed', ?, '问', 'reject', ?, 'a', 'file')",
             [(now - timedelta(days=5)).isoformat(timespec="seconds"), entries[0]]),
            ("insert into suggestions (id, at, message, intent, no_match, hits, drafts, top_entry)"
             " values ('dated-back', ?, '问', 'order', 1, '[]', '[]', null)",
             [(now - timedelta(days=4)).isoformat(timespec="seconds")])]:
        with db.conn:
            for one in sql.split("; "):
                db.execute(one, [args.pop(0) for _ in range(one.count("?"))])
        same()


def test_a_statistics_load_after_a_new_suggestion_counts_only_the_last_two_days(logged, monkeypatch):
    """What made 统计 take seconds after every suggestion logged: the whole year counted again."""
    import kefu.suggest.stats as stats

    db = logged.store.db
    _log(db, [e["id"] for e in db["entries"].rows], 4, datetime.now(timezone.utc))
    kept_usage(logged.store)
    counted = []
    real = stats.counts
    monkeypatch.setattr(stats, "counts", lambda db, since, until: counted.append((since, until)) or real(db, since, until))
    with db.conn:
        db.execute("insert into suggestions (id, at, message, intent, no_match, hits, drafts)"
                   " values ('new', ?, '问', 'presale', 0, '[]', '[]')",
                   [datetime.now(timezone.utc).isoformat(timespec="seconds")])
    assert kept_usage(logged.store).to_dict() == old_usage(db).to_dict()
    assert counted == [(as_utc((date.today() - timedelta(days=1)).isoformat()), None)]


def _db_path(db) -> str:
    return db.execute("pragma database_list").fetchone()[2]


def _purge_elsewhere(db, days: int = 30) -> None:
    """Retention's purge committed by another process (`kefu purge`, or the server's own),
    on a connection of its own."""
    from kefu.kb.feedback import FeedbackLog
    from kefu.kb.store import Store

    other = Store.open(_db_path(db))
    try:
        assert FeedbackLog(other.db, retention_days=days).purge().suggestions
    finally:
        other.close()


def test_statistics_counted_while_a_purge_commits_are_not_kept(logged, monkeypatch):
    """A purge of the oldest rows leaves the log's marker (its highest ids, the no-match
    count) as it was: the figures counted before it were kept after it under a key that
    still matched, and the next loads showed the purged suggestions for as long."""
    import kefu.suggest.stats as stats

    db = logged.store.db
    long_ago = (datetime.now(timezone.utc) - timedelta(days=100)).isoformat(timespec="seconds")
    entries = [e["id"] for e in db["entries"].rows]
    with db.conn:
        for n in range(3):  # answered, before the rows below: the highest ids stay theirs
            db.execute("insert into suggestions (id, at, message, intent, no_match, hits, drafts, top_entry)"
                       " values (?, ?, '问', 'presale', 0, '[]', '[]', ?)", [f"old{n}", long_ago, entries[0]])
            db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
                       " values (?, ?, 'accept', 1, ?, 'a')", [f"old{n}", long_ago, entries[0]])
    _log(db, entries, 5, datetime.now(timezone.utc))
    real = stats.usage_of

    def racing(*a, **kw):
        out = real(*a, **kw)
        _purge_elsewhere(db)
        return out

    monkeypatch.setattr(stats, "usage_of", racing)
    before = kept_usage(logged.store)  # counted before the purge: the purged rows in
    monkeypatch.setattr(stats, "usage_of", real)
    assert db.execute("select count(*) from mined").fetchone()[0] == 0  # nothing of the purged rows kept
    after = kept_usage(logged.store).to_dict()
    assert after == old_usage(db).to_dict() and after["shown"] == before.shown - 3


def test_kept_statistics_follow_the_code_and_the_log_generation(logged, monkeypatch):
    """kefu's version never moved: a kefu that counts otherwise read back what an older
    one kept. And a key that holds the log's generation, which a purge moves, is what
    keeps a result counted before a purge from being read after it."""
    import kefu.suggest.stats as stats
    from kefu.kb.store import new_log_generation

    db = logged.store.db
    _log(db, [e["id"] for e in db["entries"].rows], 6, datetime.now(timezone.utc))
    counted = []
    real = stats.counts
    monkeypatch.setattr(stats, "counts", lambda *a, **kw: counted.append(1) or real(*a, **kw))
    first = kept_usage(logged.store).to_dict()
    once = len(counted)  # each closed day, then the rest
    assert once >= 9 and kept_usage(logged.store).to_dict() == first and len(counted) == once
    monkeypatch.setattr(stats, "code_fingerprint", lambda: "another kefu")
    assert kept_usage(logged.store).to_dict() == first and len(counted) == 2 * once  # all of it counted again
    with db.conn:
        new_log_generation(db)  # as a purge does, here with nothing deleted (and the kept results left)
    # The sum of the closed days is added up again from each day's counts: only the rest is counted.
    assert kept_usage(logged.store).to_dict() == first and len(counted) == 2 * once + 1
    assert kept_usage(logged.store).to_dict() == first and len(counted) == 2 * once + 1


def _counted_days(monkeypatch) -> list[tuple]:
    """The parts of the log `kept_usage` counts from now on: (since, until) each."""
    import kefu.suggest.stats as stats

    counted: list[tuple] = []
    real = stats.counts
    monkeypatch.setattr(stats, "counts", lambda db, since, until, *more: counted.append((since, until))
                        or real(db, since, until, *more))
    return counted


@pytest.mark.parametrize("zone", ["CST-8", "EST5EDT"])
def test_a_purge_counts_again_only_the_days_it_changed_and_the_figures_stay_those_counted_from_scratch(
        logged, local_zone, monkeypatch, zone):
    """Retention's purge, run by a logged suggestion every ten minutes, deletes rows nearly
    every time on a shop older than its period: it moved the log's generation, which the
    kept counts of the closed days were keyed by, and the next load of 统计 counted the
    whole year again (5-8 s). Each day's counts are kept apart now: a purge drops the days
    it changed, and the figures, after purges and late feedback for old suggestions,
    stay what counting from scratch gives."""
    from kefu.kb.feedback import FeedbackLog

    local_zone(zone)
    store, db = logged.store, logged.store.db
    entries = [e["id"] for e in db["entries"].rows]
    now = datetime.now(timezone.utc)
    _log(db, entries, 7, now, days=40)
    rnd = random.Random(8)
    sinces = [None, as_utc((date.today() - timedelta(days=20)).isoformat()),
              (now - timedelta(days=25, seconds=rnd.randrange(86400))).isoformat(timespec="seconds")]

    def same() -> None:
        for s in sinces:
            assert kept_usage(store, s).to_dict() == old_usage(db, s).to_dict(), s

    same()
    counted = _counted_days(monkeypatch)
    for days in (38, 36, 33, 31):
        # A no-match report on a suggestion the purge deletes, counted in its category on a
        # day it keeps: the day it is on changes too.
        reported = db.execute("select id, at from suggestions where at < ? and superseded_by is null and no_match = 0"
                              " and top_entry in (select id from entries) order by at desc limit 1",
                              [retention_cutoff(days)]).fetchone()
        with db.conn:
            db.execute("insert into learn_events (key, at, message, action, agent, source, suggestion_id)"
                       " values (?, ?, '问', 'no_match', 'a', 'panel', ?)",
                       [f"late-{days}", retention_cutoff(days - 2), reported[0]])
        same()
        del counted[:]
        assert FeedbackLog(db, retention_days=days).purge().suggestions
        same()
        closed = [c for c in counted if c[1] is not None]
        # the days it deleted rows of (where the cutoff falls), the report's, for each period
        assert 0 < len(closed) <= 3 * len(sinces) and all(len(_days_in(db, *c)) <= 1 for c in closed), (days, closed)
        # Late feedback for an old suggestion (kept), which brings it back if superseded.
        old = db.execute("select id from suggestions where at < ? and at >= ? order by id limit 1 offset ?",
                         [retention_cutoff(days - 3), retention_cutoff(days - 1), rnd.randrange(5)]).fetchone()[0]
        with db.conn:
            db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
                       " values (?, ?, 'accept', 1, ?, 'b')", [old, now.isoformat(timespec="seconds"), entries[0]])
            db.execute("update suggestions set superseded_by = null where id = ?", [old])
        del counted[:]
        same()
        closed = [c for c in counted if c[1] is not None]
        assert 0 < len(closed) <= 2 * len(sinces) and all(len(_days_in(db, *c)) <= 1 for c in closed), (days, closed)


def _days_in(db, since: str | None, until: str) -> set[str]:
    """The local days of what is logged from `since` until before `until`."""
    return {local_day(at) for table in ("suggestions", "learn_events")
            for (at,) in db.execute(f"select at from {table} where at >= ? and at < ?", [since or "", until])}


def test_rows_taking_the_ids_of_purged_rows_are_counted(logged, monkeypatch):
    """SQLite gives a row the highest id plus one: once a purge deleted the rows with the
    highest ids (logged last, dated long ago: a replayed file), a row added after takes an
    id a day's counts saw already, and the day kept would not count it."""
    from kefu.kb.feedback import FeedbackLog

    store, db = logged.store, logged.store.db
    entries = [e["id"] for e in db["entries"].rows]
    now = datetime.now(timezone.utc)
    _log(db, entries, 9, now)
    long_ago = (now - timedelta(days=100)).isoformat(timespec="seconds")
    with db.conn:  # the highest ids, on rows the purge deletes
        db.execute("insert into suggestions (id, at, message, intent, no_match, hits, drafts, top_entry)"
                   " values ('replayed', ?, '问', 'presale', 0, '[]', '[]', ?)", [long_ago, entries[0]])
        db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
                   " values ('replayed', ?, 'accept', 1, ?, 'a')", [long_ago, entries[0]])
        db.execute("insert into learn_events (key, at, message, action, entry_id, agent, source)"
                   " values ('replayed', ?, '问', 'accept', ?, 'a', 'file')", [long_ago, entries[0]])
    assert kept_usage(store).to_dict() == old_usage(db).to_dict()
    assert FeedbackLog(db, retention_days=30).purge().suggestions == 1
    old = db.execute("select id from suggestions where at < ? and superseded_by is null order by at limit 1",
                     [as_utc((date.today() - timedelta(days=3)).isoformat())]).fetchone()[0]
    stamp = now.isoformat(timespec="seconds")
    with db.conn:  # the ids the purge freed
        db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
                   " values (?, ?, 'accept', 1, ?, 'b')", [old, stamp, entries[1]])
        db.execute("insert into learn_events (key, at, message, action, entry_id, agent, source)"
                   " values ('again', ?, '问', 'reject', ?, 'a', 'file')",
                   [(now - timedelta(days=5)).isoformat(timespec="seconds"), entries[1]])
    assert kept_usage(store).to_dict() == old_usage(db).to_dict()


def test_feedback_bringing_back_a_suggestion_counts_again_the_day_of_a_no_match_report_on_it(logged):
    """A no-match report counts in the category of its suggestion's top entry while that
    suggestion counts as shown: feedback bringing a superseded one back changes the figures
    of the report's day too, which may be another than the suggestion's."""
    store, db = logged.store, logged.store.db
    entries = [e["id"] for e in db["entries"].rows]
    now = datetime.now(timezone.utc)
    _log(db, entries, 10, now)
    day = timedelta(days=1)
    with db.conn:
        db.execute("insert into suggestions (id, at, message, intent, no_match, hits, drafts, top_entry, superseded_by)"
                   " values ('typed', ?, '问', 'presale', 0, '[]', '[]', ?, 'later')",
                   [(now - 6 * day).isoformat(timespec="seconds"), entries[0]])
        db.execute("insert into learn_events (key, at, message, action, agent, source, suggestion_id)"
                   " values ('report', ?, '问', 'no_match', 'a', 'file', 'typed')",
                   [(now - 4 * day).isoformat(timespec="seconds")])
    assert kept_usage(store).to_dict() == old_usage(db).to_dict()
    with db.conn:  # as FeedbackLog.record_feedback does
        db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
                   " values ('typed', ?, 'reject', 1, ?, 'b')", [now.isoformat(timespec="seconds"), entries[1]])
        db.execute("update suggestions set superseded_by = null where id = 'typed'")
    after = kept_usage(store).to_dict()
    assert after == old_usage(db).to_dict()


def _held_back(store) -> callable:
    """`store`'s writes of what a statistics load counted, held back: the returned function
    replays them, as a load that is slow to write would."""
    from kefu.kb.store import Store

    held = []
    store.keep_day_counts = lambda *a, **kw: held.append((Store.keep_day_counts, a, kw))
    store.keep_mined = lambda *a, **kw: held.append((Store.keep_mined, a, kw))
    return lambda: [write(store, *a, **kw) for write, a, kw in held]


def test_overlapping_statistics_loads_keep_no_day_count_that_misses_a_row(logged):
    """Three loads of 统计 at once: load 1 counts a closed day and is slow to write; late
    feedback comes for a suggestion of that day; load 3 counts the day with it and keeps it;
    load 2 finds the day kept unchanged (load 3's count). Load 1's count without the feedback
    then replaced load 3's, and load 2 marked it with ids past the feedback: the day was
    never counted again and missed the feedback for good (acted on 288 for 289)."""
    from kefu.kb.store import Store

    store, db = logged.store, logged.store.db
    entries = [e["id"] for e in db["entries"].rows]
    now = datetime.now(timezone.utc)
    _log(db, entries, 11, now)
    day = lambda n: as_utc((date.today() - timedelta(days=n)).isoformat())  # noqa: E731
    sid = db.execute("select id from suggestions where at >= ? and at < ? and superseded_by is null and id not in"
                     " (select suggestion_id from feedback) limit 1", [day(6), day(5)]).fetchone()[0]
    loads = [Store.open(_db_path(db)) for _ in range(2)]
    try:
        replay1 = _held_back(loads[0])
        kept_usage(loads[0])  # load 1: the day without the feedback
        with db.conn:
            db.execute("insert into feedback (suggestion_id, at, action, draft, entry_id, agent)"
                       " values (?, ?, 'accept', 1, null, 'x')", [sid, now.isoformat(timespec="seconds")])
        kept_usage(store)  # load 3: the day with it, kept
        with db.conn:  # a row on another closed day: the days are added up again
            db.execute("insert into learn_events (key, at, message, action, agent, source)"
                       " values ('d2', ?, '问', 'reject', 'a', 'file')", [day(4)])
        replay2 = _held_back(loads[1])
        kept_usage(loads[1])  # load 2: the day found unchanged
        replay1()
        replay2()
    finally:
        for other in loads:
            other.close()
    with db.conn:  # any later row on a closed day
        db.execute("insert into learn_events (key, at, message, action, agent, source)"
                   " values ('d3', ?, '问', 'reject', 'a', 'file')", [day(3)])
    assert kept_usage(store).to_dict() == old_usage(db).to_dict()


def test_the_code_digest_moves_with_an_upgrade_installed_without_sources(tmp_path):
    """A kefu installed as sourceless .pyc files (no kb/*.py) had a digest that never moved:
    only .py files were read, so an upgrade kept the statistics and gaps an older kefu had
    computed. Compiled files count where no source is; Python's own caches never do."""
    import py_compile

    from kefu.suggest.stats import code_digest

    def install(root: Path, body: str) -> None:
        for d in ("kb", "suggest"):
            (root / d).mkdir(parents=True, exist_ok=True)
            source = root / d / "mod.py"
            source.write_text(body, encoding="utf-8")
            py_compile.compile(str(source), cfile=str(root / d / "mod.pyc"), doraise=True)
            source.unlink()

    old, new = tmp_path / "old", tmp_path / "new"
    install(old, "COUNT = 1\n")
    install(new, "COUNT = 2\n")
    assert code_digest(old) != code_digest(new)
    before = code_digest(old)
    (old / "kb" / "__pycache__").mkdir()
    (old / "kb" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"a cache Python wrote")
    assert code_digest(old) == before
    with_source = tmp_path / "src"
    (with_source / "kb").mkdir(parents=True)
    (with_source / "suggest").mkdir()
    (with_source / "kb" / "mod.py").write_text("COUNT = 1\n", encoding="utf-8")
    first = code_digest(with_source)
    (with_source / "kb" / "mod.py").write_text("COUNT = 3\n", encoding="utf-8")
    assert code_digest(with_source) != first

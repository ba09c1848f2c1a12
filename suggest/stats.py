"""`kefu stats`: how the assistant is used, from the suggestion log and the learning events.

Counts, by definition:
- shown: suggestions the assistant returned, less those a later one for the same message
  superseded as the agent typed it (the panel says which; see FeedbackLog);
- a say: the agent's feedback as learning counts it, the first per message, entry and
  side (using either draft of one entry, sent as is or edited, is one say: the first;
  a reject; a no-match report), and each on a draft of no one entry;
- acted on: shown suggestions the agent accepted, edited, rejected or reported;
- a suggestion answered with a draft of an entry and reported "no good match" counts, in
  every section, only by the later of those says (`_OVERRULED`);
- acceptance: of the acted-on suggestions, the share whose says include the first draft
  sent unchanged (`first_draft`), any draft sent unchanged (`any_draft`), and a draft
  edited before sending (`edited`);
- no-match rate: shown suggestions flagged "no good match", of those shown, greetings and
  thanks left out of both (no entry answers one: it is flagged whatever retrieval found,
  and is no gap either); `asked`: the shown ones left;
- a rate of nothing (no suggestion acted on, or asked) is 0.0 here, and n/a (—) as shown;
- actions and by day: every learning event (replayed files too), and the says that teach
  no entry (on a clarifying or two-answer draft; "not helpful" on drafts that answered none);
- entries: accepts and rejects per entry over every learning event (replayed files too),
  archived entries and drafts among them (marked `"archived": true`, `"draft": true`);
- by stage: the says on shown suggestions, by the stage of the message;
- by category: shown = suggestions whose top entry is in the category (no-match ones
  count for none), then the agents' actions on its entries, and their no-match reports
  on the suggestions it counts as shown.
Times are stored in UTC; `since` dates and the days of `by_day` are in the server's local
time zone (a shop's "today" starts at its own midnight).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from kefu.kb.entry import WHEN_FORMS, category_names, in_window, normalize_when
from kefu.kb.errors import KefuError
from kefu.kb.feedback import answered_hit, retention_cutoff
from kefu.kb.text import counted
from kefu.suggest.understand import CHIT_CHAT, STAGE


def as_utc(value: str) -> str:
    """An ISO date or date-time as a UTC timestamp like the logs': a date (YYYY-MM-DD)
    means local midnight, a date-time without an offset local time. ValueError when it
    is neither."""
    value = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = datetime.combine(date.fromisoformat(value), time())
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be a date (YYYY-MM-DD) or an ISO date-time, got {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = _local(moment)  # naive = local time
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _local(naive: datetime) -> datetime:
    """Naive local time made aware. Python's conversion fails within a day of the
    calendar's ends even where the UTC time exists (0001-01-01 in UTC: it looks at the day
    before); there the offset of the day beside it is taken."""
    try:
        return naive.astimezone()
    except (ValueError, OverflowError):
        beside = naive + timedelta(days=1) if naive.year == 1 else naive - timedelta(days=1)
        return naive.replace(tzinfo=beside.astimezone().tzinfo)


def since_utc(value: str) -> str:
    """A `since` filter as the logs' UTC timestamps (see `as_utc`), in the forms a validity
    bound takes (`normalize_when`: fromisoformat alone took 20261130 and 2026-W48);
    KefuError when invalid or out of range."""
    try:
        when = normalize_when(value)
    except ValueError:
        raise KefuError(f"since must be a date ({WHEN_FORMS}), got {value.strip()[:40]!r}") from None
    except OverflowError:  # an offset that takes it past year 1 or 9999
        when = None
    if when is not None:
        try:
            return as_utc(when)
        except (ValueError, OverflowError):  # local midnight of year 1 has no UTC time
            pass
    raise KefuError(f"since {value.strip()[:40]!r} is out of range: too early or too late to convert to UTC")


def _period_start(since: str | None) -> datetime | None:
    """A `since_utc` timestamp as local naive time, which validity windows are read in;
    None for no start (or one local time cannot hold: the calendar's first day)."""
    if not since:
        return None
    try:
        return datetime.fromisoformat(since).astimezone().replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None


# `local_day` in SQL, for the statistics' hundreds of thousands of rows (SQLite's localtime
# reads the same time zone as Python's astimezone); a value that is no timestamp keeps its
# first ten characters. SQLite reads only the UTC form kefu stores ("+00:00", whole
# seconds) as local_day does, and that form with a fraction of a second (another tool's
# log; a Python function called for each of a year's rows took seconds), the fraction cut
# off as Python does (SQLite rounds it to the millisecond: 23:59:59.9996 is the next day).
# What `kefu learn replay` stored as written before it converted to UTC (a naive local
# time, "+0800", 20261120T233000) goes to local_day, and so does a time before 1970 or after
# 2037: SQLite's localtime knows a zone's history only between them (it gave year 0 west of
# UTC on the calendar's first day, and New York's 2038-03-31T04:47:38 the day before).
_SECOND = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
_LOCAL_DAY = (f"case when {{0}} >= '1970-01-02' and {{0}} < '2037-12-31' and ({{0}} glob '{_SECOND}+00:00' or {{0}} glob '{_SECOND}.[0-9]*+00:00'"
              " and substr({0}, 21, length({0}) - 26) not glob '*[^0-9]*')"
              " then coalesce(date(substr({0}, 1, 19) || '+00:00', 'localtime'), substr({0}, 1, 10))"
              " else kefu_local_day({0}) end")


def local_day(at: str) -> str:
    """The local date of a stored timestamp (its first ten characters if it is not one, or
    local time cannot hold it)."""
    try:
        return datetime.fromisoformat(at).astimezone().date().isoformat()
    except (ValueError, OverflowError):
        return at[:10]


def local_moment(at: str) -> str:
    """A stored UTC timestamp as the text reports print a `since`: local time, with its
    offset ("2026-11-25 00:00 (UTC+08:00)", the midnight typed, not the UTC moment that
    reads as the day before); as stored when local time cannot hold it."""
    try:
        moment = datetime.fromisoformat(at).astimezone()
    except (ValueError, OverflowError):
        return at
    offset = moment.strftime("%z")
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


@dataclass
class Stats:
    since: str | None
    # The retention cutoff when the period asked for reaches past it: what is older was purged.
    kept_from: str | None = None
    kept_days: int | None = None
    shown: int = 0
    acted_on: int = 0  # the acceptance rates' base
    asked: int = 0  # shown less greetings and thanks: the no-match rate's base
    acceptance: dict[str, float] = field(default_factory=dict)
    no_match_rate: float = 0.0
    actions: dict[str, int] = field(default_factory=dict)  # every event, replayed ones too
    top_entries: list[dict] = field(default_factory=list)
    # published, its validity window open at some moment of the period, never accepted in it
    never_used: list[dict] = field(default_factory=list)
    by_category: dict[str, dict[str, int]] = field(default_factory=dict)
    by_stage: dict[str, dict[str, int]] = field(default_factory=dict)
    by_day: list[dict] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _rate(n: int, d: int) -> float:
    return round(n / d, 4) if d else 0.0


def usage(db, since: str | None = None, top: int = 10, kept_days: int | None = None) -> Stats:
    """Usage figures since `since` (a UTC timestamp from `since_utc`; None: all).
    `kept_days`: the retention period, to say when the period asked for starts before it."""
    out = usage_of(db, since, [counts(db, since, None)], top)
    if kept_days is not None and (cutoff := retention_cutoff(kept_days)) > (since or ""):
        out.kept_from, out.kept_days = cutoff, kept_days
    return out


def _local_days(db) -> None:
    db.conn.create_function("kefu_local_day", 1, lambda at: local_day(at) if isinstance(at, str) else at,
                            deterministic=True)


def counts(db, since: str | None, until: str | None) -> dict:
    """The statistics' counters over the suggestions logged from `since` until before `until`
    (None: no end) with their feedback, and the learning events of that time: sums, which
    `usage_of` adds up over the parts of a period and reads with the entries as they are
    now. Each closed day's counters are kept (`kept_usage`): a year's log took seconds to
    count again after every new suggestion. Keyed by raw ids (a top entry, an intent),
    lists of [key..., count] (JSON keeps them)."""
    _local_days(db)
    low, high = since or "", until
    # Only the top hit's id (its column: m025) and the local day of each, all in one index:
    # a year's log is hundreds of thousands of suggestions, and reading every one's hits and
    # drafts into Python took minutes and gigabytes of memory (their rows, seconds).
    # A suggestion superseded by a later one for the same message, as it was typed, was never settled on.
    shown = db.execute(f"select id, {_LOCAL_DAY.format('at')}, intent, no_match, top_entry from suggestions"
                       " where at >= ? and superseded_by is null" + (" and at < ?" if high else ""),
                       [low, high] if high else [low]).fetchall()
    # One pass over the rows for all their figures: the first load counts a year's days.
    asked = asked_no_match = 0
    day: Counter = Counter()
    stage: Counter = Counter()
    for _, local, intent, no_match, _ in shown:
        day[local, "shown"] += 1
        # kefu's own flag, apart from the agents' "no_match" reports counted below: one
        # message flagged and reported counted twice under one key. Not a greeting's.
        if intent in CHIT_CHAT:
            day[local, "no_match_flagged"] += 0
        else:
            day[local, "no_match_flagged"] += no_match
            asked += 1
            asked_no_match += no_match
        stage[STAGE.get(intent, intent or "?"), "shown"] += 1
    acts: dict[str, list[tuple]] = defaultdict(list)  # (action, draft, `_side`, when said)
    # Says that teach no entry (a clarifying or two-answer draft used or rejected, "not
    # helpful" on drafts that answered none), so have no learning event: counted from the log.
    untaught: list[tuple[str, str]] = []  # (local day, action)
    said = set()
    # Only "not helpful" needs a suggestion's hits and drafts: its row (~5 KB) is read for
    # that alone, the others' ids come from the index on time and id (m031).
    not_helpful = ("case when f.action = 'reject' and f.draft is null"
                   " then (select h.{} from suggestions h where h.id = s.id) end")
    # The local day only of a say that may teach no entry (untaught, below): most name one.
    maybe_untaught = "(f.entry_id is null or f.action = 'reject' and f.draft is null) and f.action is not 'no_match'"
    for sid, local, action, draft, entry_id, hits, drafts, at, fid in db.execute(
            f"select f.suggestion_id, case when {maybe_untaught} then {_LOCAL_DAY.format('f.at')} end,"
            f" f.action, f.draft, f.entry_id, {not_helpful.format('hits')}, {not_helpful.format('drafts')}, f.at, f.id"
            # the suggestions first, by time: SQLite read every feedback row, in id order, for a day's (0.35 s)
            " from suggestions s cross join feedback f on f.suggestion_id = s.id where s.at >= ?" + (" and s.at < ?" if high else "")
            + " order by f.id", [low, high] if high else [low]):
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
        acts[sid].append((action, draft, _side(action, entry_id), (at, fid)))
        if entry_id is None and action != "no_match":
            untaught.append((local, action))
    intent_of = {r[0]: r[2] for r in shown}
    first_draft = any_draft = edited = 0
    for sid, a in acts.items():
        a = _last_side_wins(a)
        said_how = [say[0] for say in a]
        for action in said_how:
            stage[STAGE.get(intent_of.get(sid), "?"), action] += 1
        first_draft += ("accept", 1) in [say[:2] for say in a]
        any_draft += "accept" in said_how
        edited += "edit" in said_how
    events = db.execute(f"select {_LOCAL_DAY.format('e.at')}, e.entry_id, e.action from learn_events e"
                        f" where e.at >= ?{' and e.at < ?' if high else ''} and not {_OVERRULED}",
                        [low, high] if high else [low]).fetchall()
    for local, action in [(e[0], e[2]) for e in events] + untaught:
        day[local, action] += 1
    # A no-match report names no entry: it counts in the category of its suggestion's top
    # entry, when that suggestion counts as shown in the period (see `usage_of`, which
    # compares the suggestion's time, kept here, with the period's start: a day's counts
    # serve every period that holds the day).
    # (A join let SQLite walk the suggestions and look up each one's events by time: minutes.)
    shown_top = ("(select s.{} from suggestions s where s.id = e.suggestion_id and s.superseded_by is null"
                 " and not s.no_match and s.top_entry is not null)")
    reported = db.execute(f"select e.entry_id, {shown_top.format('top_entry')}, {shown_top.format('at')}"
                          " from learn_events e where e.action = 'no_match' and e.at >= ?"
                          + (" and e.at < ?" if high else "") + f" and not {_OVERRULED}",
                          [low, high] if high else [low]).fetchall()
    return {"shown": len(shown), "asked": asked, "asked_no_match": asked_no_match,
            "acted_on": len(acts), "first_draft": first_draft, "any_draft": any_draft, "edited": edited,
            "actions": _pairs(Counter([e[2] for e in events] + [a for _, a in untaught])),
            "top_shown": _pairs(Counter(r[4] for r in shown if not r[3] and r[4] is not None)),
            "events": _pairs(Counter((e[1], e[2]) for e in events)),
            "reported": _pairs(Counter(map(tuple, reported))),
            "stage": _pairs(stage), "day": _pairs(day)}


# One suggestion answered with a draft of an entry (an accept or edit that learning records
# for the entry) and reported as no match: the agent's later say of the two (by time, then
# id) overrules the earlier (a wrong entry's draft sent, then the missing answer reported;
# or a report taken back by using a draft after all), in every section alike. Both stay
# logged, and learned from. By time: a purge deletes the older, never the one that counts.
_SIDED = "(o.action = 'no_match' or o.action in ('accept', 'edit') and o.entry_id is not null)"
_LATEST = (f"(select o.action = 'no_match' from learn_events o where o.suggestion_id = e.suggestion_id and {_SIDED}"
           " order by o.at desc, o.id desc limit 1)")
# A learning event `e` the later say of the other side overrules.
_OVERRULED = f"(e.suggestion_id is not null and {_SIDED.replace('o.', 'e.')} and {_LATEST} != (e.action = 'no_match'))"


def _side(action: str, entry_id: str | None) -> str | None:
    """The side of a say that `_OVERRULED` weighs: "use" of an entry's draft, "no_match", else None."""
    if action == "no_match":
        return "no_match"
    return "use" if action in ("accept", "edit") and entry_id is not None else None


def _last_side_wins(says: list[tuple]) -> list[tuple]:
    """A suggestion's says ((action, draft, `_side`, (time, id)) less those the later say
    of the other side overrules, as `_OVERRULED` takes learning events."""
    sides = {say[2] for say in says if say[2]}
    if len(sides) < 2:
        return says
    latest = max((say for say in says if say[2]), key=lambda say: say[3])
    return [say for say in says if say[2] in (None, latest[2])]


def _pairs(counter: Counter) -> list[list]:
    """A counter as JSON keeps it: [key..., count] (keys may be None or tuples)."""
    return [[*k, n] if isinstance(k, tuple) else [k, n] for k, n in counter.items()]


def _summed(parts: list[dict], name: str) -> Counter:
    total: Counter = Counter()
    for part in parts:
        for row in part[name]:  # [key..., n]; a year's days are added up on the first load
            total[tuple(row[:-1]) if len(row) > 2 else row[0]] += row[-1]
    return total


def _order(counter: Counter) -> dict:
    """Counters in the order the report's columns go, then by name."""
    return dict(sorted(counter.items(), key=lambda kv: (_ORDER.index(kv[0]) if kv[0] in _ORDER else len(_ORDER),
                                                        kv[0])))


def usage_of(db, since: str | None, parts: list[dict], top: int = 10) -> Stats:
    """Stats from the `counts` of periods that together make the one since `since`, with
    the entries as they are now."""
    out = Stats(since)
    total = {name: sum(p[name] for p in parts) for name in
             ("shown", "asked", "asked_no_match", "acted_on", "first_draft", "any_draft", "edited")}
    out.shown, out.asked, out.acted_on = total["shown"], total["asked"], total["acted_on"]
    out.no_match_rate = _rate(total["asked_no_match"], out.asked)
    out.acceptance = {k: _rate(total[k], out.acted_on) for k in ("first_draft", "any_draft", "edited")}
    out.actions = _order(_summed(parts, "actions"))
    events = _summed(parts, "events")

    rows = db.execute("select id, question, category, status, valid_from, valid_to from entries").fetchall()
    every = {r[0]: r[1:4] for r in rows}
    # Published and suggestible at some moment of the period: a window opening later, or
    # one closed before the period began, could not have been accepted in it.
    start = _period_start(since)
    entries = {e: (q, cat) for e, q, cat, status, valid_from, valid_to in rows
               if status == "published" and in_window(valid_from, None)
               and (start is None or in_window(None, valid_to, start))}
    per_entry: dict[str, Counter] = defaultdict(Counter)
    for (entry_id, action), n in events.items():
        if entry_id:
            per_entry[entry_id]["reject" if action == "reject" else "accept"] += n
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

    def category_name(entry_id: str) -> str:
        return names.get(every[entry_id][1], every[entry_id][1])

    category: dict[str, Counter] = defaultdict(Counter)
    for entry_id, n in _summed(parts, "top_shown").items():  # a suggestion counts for its top entry's category
        if entry_id in every:
            category[category_name(entry_id)]["shown"] += n
    for (entry_id, action), n in events.items():
        if entry_id in every:
            category[category_name(entry_id)][action] += n
    for (entry_id, shown_top, shown_at), n in _summed(parts, "reported").items():
        if entry_id not in every and shown_top in every and shown_at >= (since or ""):
            # A report names no entry: it counts where its suggestion counts as shown (an
            # answer of the category's was there, and an agent found it missing).
            category[category_name(shown_top)]["no_match"] += n
    out.by_category = {k: _order(v) for k, v in sorted(category.items())}
    stage: dict[str, Counter] = defaultdict(Counter)
    for (name, key), n in _summed(parts, "stage").items():
        stage[name][key] += n
    out.by_stage = {k: _order(v) for k, v in sorted(stage.items())}
    day: dict[str, Counter] = defaultdict(Counter)
    for (local, key), n in _summed(parts, "day").items():
        day[local][key] += n
    out.by_day = [{"day": d, **_order(c)} for d, c in sorted(day.items())]
    return out


def window_states(db) -> list[list]:
    """Per published entry with a validity window: whether it has begun and whether it has
    not ended, now. What figures derived from the entries depend on besides their content
    (a window opens and closes with no write), to key what is kept: both, as a window may
    open and close between two loads."""
    return sorted([e, in_window(start, None), in_window(None, end)] for e, start, end in db.execute(
        "select id, valid_from, valid_to from entries where status = 'published'"
        " and (coalesce(valid_from, '') != '' or coalesce(valid_to, '') != '')"))


def kept_usage(store, since: str | None = None, top: int = 10, kept_days: int | None = None) -> Stats:
    """`usage` of `store`'s log, kept in the store (`Store.keep_mined`) until anything is
    logged or an entry changes: on a year's log it took seconds on every load of the
    statistics page. Keyed by the log's marker, the entries' (their questions, categories,
    status), the validity windows' states now, the period and the local time zone (the days).
    When something was logged, only the last two local days are counted again: the
    `counts` of what came before are kept too, and those of each day before (`_kept_counts`):
    after a purge, or past midnight, only the days it changed, or the new one, are counted."""
    from kefu.kb.feedback import log_marker
    from kefu.kb.store import log_generation

    with store.snapshot():
        generation = log_generation(store.db)
        key = _usage_key("usage", log_marker(store.db), generation, store.changes().get("entries"),
                         window_states(store.db), since, top)
        found = store.mined(key)
        if found is None:
            until = _closed_until(since)
            kept, days, before = _kept_counts(store, since, until, generation) if until else (None, [], None)
            tail = counts(store.db, until or since, None)
            out = usage_of(store.db, since, [before, tail] if before else [tail], top)
    if found is None:
        if days:
            store.keep_day_counts(days, _usage_key("usage-day"), generation)
        if kept is not None:
            # Again, so that the newest results kept beside it (one per load) do not push it out.
            store.keep_mined(*kept, generation=generation)
        store.keep_mined(key, out.to_dict(), generation=generation)
    else:
        out = Stats(**found)
    if kept_days is not None and (cutoff := retention_cutoff(kept_days)) > (since or ""):
        out.kept_from, out.kept_days = cutoff, kept_days
    return out


def _usage_key(*parts) -> str:
    """A key for `Store.keep_mined` of `parts` (`kept_key`) and the local time zone (the days)."""
    import os

    here = datetime.now().astimezone()
    return kept_key((Stats,), *parts, here.tzname(), here.utcoffset(), os.environ.get("TZ"))


def kept_key(read_as: tuple[type, ...], *parts) -> str:
    """A key for `Store.keep_mined` of `parts` and of what reads the kept value back: kefu's
    version and code (`code_fingerprint`) and the fields of the dataclasses `read_as` (a
    kept value of other fields would be misread)."""
    from dataclasses import fields

    from kefu import __version__

    shape = [__version__, code_fingerprint(), [[f.name for f in fields(c)] for c in read_as]]
    return hashlib.sha256(json.dumps([shape, *parts], ensure_ascii=False, default=str).encode()).hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """A digest of kefu's library code (kb/ and suggest/), read once per process: a part of
    the keys of what is kept derived from the log (statistics, gaps, drift), so that an
    upgrade that counts or mines otherwise computes them again. `kefu.__version__` alone
    never moved (0.1.0 since the first commit). Wider than the modules that count and mine
    (gap mining checks messages with the retriever, both read kb.text): a recomputation
    after an upgrade costs one slow load. A module installed without its source (a
    sourceless `x.pyc` in place of `x.py`, as some packagers ship) counts by its compiled
    file: with only the .py files read, such an install's digest never moved. The caches
    Python writes beside sources (__pycache__) are left out: they change with no upgrade."""
    return code_digest(Path(__file__).resolve().parent.parent)


def code_digest(root: Path) -> str:
    """`code_fingerprint` of the kefu package at `root`."""
    digest = hashlib.sha256()
    code = [p for d in ("kb", "suggest") for p in (root / d).rglob("*.py*")
            if p.suffix == ".py" or p.suffix == ".pyc" and p.parent.name != "__pycache__"]
    for path in sorted(code):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _closed_until(since: str | None) -> str | None:
    """Where the closed part of a period ends: the start of yesterday, local time (the
    logs' UTC form), when the period begins before it. A suggestion logged before it is
    only marked superseded within `REPLACEABLE_S` of being logged; what else changes it
    later (feedback arriving for it, a replayed event or suggestion dated back) adds rows,
    which `_kept_counts` looks for."""
    from kefu.kb.feedback import REPLACEABLE_S

    assert REPLACEABLE_S < 86400  # what is superseded is newer than the start of yesterday
    try:
        until = as_utc((date.today() - timedelta(days=1)).isoformat())
    except (ValueError, OverflowError):
        return None
    return until if until > (since or "") else None


def _kept_counts(store, since: str | None, until: str, generation: str) -> tuple[tuple[str, dict], list[tuple], dict]:
    """(the key and value to keep, again or anew; the days counted now, for
    `Store.keep_day_counts`; the `counts` of the log from `since` until before `until`).
    The sum is kept until a row is added before `until`: the highest ids when it was
    counted say which rows came since. Then, or once a purge or restore moved `generation`
    (`log_generation`, read before counting; the sum goes with the results it deletes), or
    past midnight, it is added up again from each day's counts (`_closed_parts`), and only
    the days not kept, or with a row added since they were counted, are counted again.
    Retention's purge, the only thing that deletes log rows, deletes the days it changes."""
    db = store.db
    key = _usage_key("usage-counts", since, until, generation)
    found = store.mined(key)
    if found is not None and not db.execute(
            # The rows after the highest ids (+at: not all the rows by time, which SQLite chose).
            "select exists(select 1 from suggestions where rowid > ? and +at < ? and +at >= ?)"
            " or exists(select 1 from feedback f join suggestions s on s.id = f.suggestion_id"
            "           where f.id > ? and +s.at < ? and +s.at >= ?)"
            " or exists(select 1 from learn_events where id > ? and +at < ? and +at >= ?)"
            # a say since that may overrule an earlier event of its suggestion (`_OVERRULED`)
            f" or exists(select 1 from learn_events n join learn_events o on o.suggestion_id = n.suggestion_id"
            f" and o.id != n.id where n.id > ? and {_SIDED.replace('o.', 'n.')} and {_SIDED} and +o.at < ? and +o.at >= ?)",
            [found["marks"][0], until, since or "", found["marks"][1], until, since or "",
             found["marks"][2], until, since or "", found["marks"][2], until, since or ""]).fetchone()[0]:
        return (key, found), [], found["counts"]
    marks = [db.execute(sql).fetchone()[0] or 0 for sql in (
        "select max(rowid) from suggestions", "select max(id) from feedback", "select max(id) from learn_events")]
    parts = _closed_parts(db, since, until)
    keys = [_usage_key("usage-day", low, high) for low, high in parts]
    kept = store.day_counts(keys)
    added = _added(db, parts, {i: kept[k][0] for i, k in enumerate(keys) if k in kept})
    days, values = [], []
    for i, ((low, high), day_key) in enumerate(zip(parts, keys)):
        if day_key in kept and i not in added:
            values.append(kept[day_key][1])
            # counted as it stands with the rows logged until now: looked for after these next time
            days.append((day_key, low, high, marks, None, None, kept[day_key][0]))
            continue
        value = counts(db, low, high)
        reported_from = min((at for *_, at, _ in value["reported"] if at is not None), default=None)
        days.append((day_key, low, high, marks, value, reported_from, kept[day_key][0] if day_key in kept else None))
        values.append(value)
    found = {"marks": marks, "counts": _added_up(values)}
    return (key, found), days, found["counts"]


# Days of a closed period counted apart at most (`_closed_parts`): the longest retention
# period's (kb.feedback.RETENTION_DAYS), and a few more.
MAX_DAYS = 3660


def _closed_parts(db, since: str | None, until: str) -> list[tuple[str, str]]:
    """The closed period from `since` until before `until` (local midnight) cut at each
    local midnight from the day of its first logged row on: (low, high) of the logs' times,
    which together take every row of the period once, whatever its time reads as. The
    first part begins at `since` (the log's start: everything before the first day), and
    holds everything before the last `MAX_DAYS` days (a row dated in year 1)."""
    low = since or ""
    first = min((at for (at,) in [db.execute(f"select min(at) from {table} where at >= ? and at < ?", [low, until])
                                 .fetchone() for table in ("suggestions", "learn_events")] if at is not None),
                default=None)
    try:
        day = date.fromisoformat(local_day(first)) + timedelta(days=1) if first is not None else None
        last = date.fromisoformat(local_day(until))
    except ValueError:  # a time that is no date: nothing to cut at
        day = None
    bounds = [low]
    if day is not None:
        for n in range(min((last - day).days, MAX_DAYS), 0, -1):  # the midnights from `day` to `last`'s eve
            try:
                bound = as_utc((last - timedelta(days=n)).isoformat())
            except (ValueError, OverflowError):
                continue
            if bounds[-1] < bound < until:
                bounds.append(bound)
    return list(zip(bounds, [*bounds[1:], until]))


def _added(db, parts: list[tuple[str, str]], marks: dict[int, list[int]]) -> set[int]:
    """Which of `parts` (consecutive, as `_closed_parts` cuts them) had a row added after the
    highest ids they were counted with (`marks`, by the part's position): a suggestion dated
    back, feedback on one of their suggestions (which may bring a superseded one back), a
    replayed event, or feedback or a suggestion where one of their agents' no-match reports
    looks up the suggestion's top entry. Read by id, from the lowest marks on: the days
    kept are marked with the highest ids each time they are found unchanged, so those are
    the rows logged since a load last added the days up (reading each day's rows took
    ~1 s on a year's log)."""
    if not marks:
        return set()
    low, high = parts[0][0], parts[-1][1]
    lowest = [min(m[n] for m in marks.values()) for n in range(3)]
    found: list[tuple[str, int, int]] = []  # (the time it counts at, which id, the id)
    found += [(at, 0, rowid) for rowid, at in db.execute(
        "select rowid, at from suggestions where rowid > ? and +at >= ? and +at < ?", [lowest[0], low, high])]
    found += [(at, 1, fid) for fid, at in db.execute(
        "select f.id, s.at from feedback f join suggestions s on s.id = f.suggestion_id"
        " where f.id > ? and +s.at >= ? and +s.at < ?", [lowest[1], low, high])]
    found += [(at, 2, eid) for eid, at in db.execute(
        "select id, at from learn_events where id > ? and +at >= ? and +at < ?", [lowest[2], low, high])]
    # The events of a suggestion another say of it, logged since, may overrule (`_OVERRULED`).
    found += [(at, 2, new) for new, at in db.execute(
        f"select n.id, o.at from learn_events n join learn_events o on o.suggestion_id = n.suggestion_id"
        f" and o.id != n.id where n.id > ? and {_SIDED.replace('o.', 'n.')} and {_SIDED} and +o.at >= ? and +o.at < ?",
        [lowest[2], low, high])]
    # The no-match reports on a suggestion logged, or given feedback, since (m029's index).
    found += [(at, n, new) for n, new, at in db.execute(
        "select 0, s.rowid, e.at from suggestions s join learn_events e on e.suggestion_id = s.id"
        " where s.rowid > ? and e.action = 'no_match' and +e.at >= ? and +e.at < ?"
        " union all select 1, f.id, e.at from feedback f join learn_events e on e.suggestion_id = f.suggestion_id"
        " where f.id > ? and e.action = 'no_match' and +e.at >= ? and +e.at < ?",
        [lowest[0], low, high, lowest[1], low, high])]
    bounds = [part[0] for part in parts]
    out = set()
    for at, n, row_id in found:
        i = bisect.bisect_right(bounds, at) - 1
        if i in marks and row_id > marks[i][n]:
            out.add(i)
    return out


def _added_up(parts: list[dict]) -> dict:
    """The `counts` of consecutive parts of the log as one `counts` of all of them."""
    out: dict = {}
    for name in ("shown", "asked", "asked_no_match", "acted_on", "first_draft", "any_draft", "edited"):
        out[name] = sum(p[name] for p in parts)
    for name in ("actions", "top_shown", "events", "reported", "stage", "day"):
        out[name] = _pairs(_summed(parts, name))
    return out


# The counters' keys as the text report names them: kefu's own no-match flag and the
# agents' no-match reports are two figures.
_COUNTED = {"no_match": "reported no match", "no_match_flagged": "flagged no match"}


# The counters' order on every line, as the console's columns go (they came as first met).
_ORDER = ("shown", "no_match_flagged", "accept", "edit", "reject", "no_match")


def _counts(counts: dict) -> str:
    """"shown 7, accept 7, edit 2": one line of counters (it printed a JSON object)."""
    ordered = sorted(counts.items(), key=lambda kv: (_ORDER.index(kv[0]) if kv[0] in _ORDER else len(_ORDER), kv[0]))
    return ", ".join(f"{_COUNTED.get(k, k)} {v}" for k, v in ordered) or "none"


def _share(rate: float, base: int) -> str:
    """A rate as the text report prints it: n/a with nothing to take it of (0% read as
    every draft turned down)."""
    return f"{rate:.1%}" if base else "n/a"  # to a tenth of a percent, as the console gives it


def text(d: dict) -> str:
    """Readable form of Stats.to_dict() for the CLI."""
    acc, acted = d["acceptance"], d["acted_on"]
    since = local_moment(d["since"]) if d["since"] else "the beginning"
    lines = [f"since {since}: {counted(d['shown'], 'suggestion')} shown, {acted} acted on",
             f"acceptance: first draft {_share(acc.get('first_draft', 0), acted)},"
             f" any draft {_share(acc.get('any_draft', 0), acted)}, edited {_share(acc.get('edited', 0), acted)};"
             f" no-match rate {_share(d['no_match_rate'], d.get('asked', d['shown']))}",
             "events: " + _counts(d["actions"]),
             "top entries:" + ("" if d["top_entries"] else " none")]
    if d.get("kept_from"):
        lines.insert(1, f"(suggestions and feedback are kept for {d['kept_days']} days: nothing before"
                        f" {local_moment(d['kept_from'])} is left to count)")
    lines += [f"  {e['entry_id']:10s} +{e['accepts']}/-{e['rejects']}  {e['question']}"
              + (" (已归档)" if e.get("archived") else " (草稿)" if e.get("draft") else "")
              for e in d["top_entries"]]
    lines.append(f"never accepted: {counted(len(d['never_used']), 'published entry', 'published entries')}"
                 + (" (" + ", ".join(e["entry_id"] for e in d["never_used"][:10])
                    + (" …" if len(d["never_used"]) > 10 else "") + ")" if d["never_used"] else ""))
    for name in ("by_category", "by_stage"):
        lines.append(name.replace("_", " ") + (":" if d[name] else ": none"))
        lines += [f"  {k}: " + _counts(v) for k, v in d[name].items()]
    if d["by_day"]:
        lines.append("by day (last 14 days with activity):")
        # kefu's flag is set on every day (0 too, for the console's column); printed when it counts
        lines += [f"  {r['day']}: " + _counts({k: v for k, v in r.items()
                                              if k != "day" and (v or k != "no_match_flagged")})
                  for r in d["by_day"][-14:]]
    if d["gaps"]:
        lines.append("top gaps:")
        lines += [f"  {g['count']:3d}× {g['question']}" for g in d["gaps"]]
    return "\n".join(lines)
